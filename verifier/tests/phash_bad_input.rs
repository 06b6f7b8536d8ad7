//! Bad input gives a clear error, fast and with bounded memory, never a panic: truncated
//! and corrupted files, empty images, and headers claiming huge dimensions (decompression
//! bombs), checked before any pixel buffer is allocated.

use verifier::phash::{Limits, PHashError, phash_bytes, phash_bytes_with_limits};

/// CRC-32 (IEEE), for crafting PNG chunks.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut c = (data.len() as u32).to_be_bytes().to_vec();
    c.extend(kind);
    c.extend(data);
    let crc = crc32(&c[4..]);
    c.extend(crc.to_be_bytes());
    c
}

/// A PNG whose IHDR says `width` x `height` (8-bit, `color_type`), with `idat` as its data.
fn png(width: u32, height: u32, color_type: u8, idat: &[u8]) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, color_type, 0, 0, 0]);
    let mut file = b"\x89PNG\r\n\x1a\n".to_vec();
    file.extend(chunk(b"IHDR", &ihdr));
    file.extend(chunk(b"IDAT", idat));
    file.extend(chunk(b"IEND", &[]));
    file
}

/// A valid 2x2 gray PNG: stored (uncompressed) deflate blocks in a zlib stream.
fn tiny_png() -> Vec<u8> {
    let raw = [0u8, 10, 200, 0, 30, 90]; // two rows, filter byte 0 each
    let mut z = vec![0x78, 0x01, 0x01];
    z.extend((raw.len() as u16).to_le_bytes());
    z.extend((!(raw.len() as u16)).to_le_bytes());
    z.extend(raw);
    let adler = {
        let (mut a, mut b) = (1u32, 0u32);
        for &x in &raw {
            a = (a + u32::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        b << 16 | a
    };
    z.extend(adler.to_be_bytes());
    png(2, 2, 0, &z)
}

/// A JPEG start: SOI, then a baseline SOF0 for `width` x `height` with `components`.
fn jpeg_header(width: u16, height: u16, components: u8) -> Vec<u8> {
    let mut f = vec![0xff, 0xd8, 0xff, 0xc0];
    let len = 8 + 3 * u16::from(components);
    f.extend(len.to_be_bytes());
    f.push(8);
    f.extend(height.to_be_bytes());
    f.extend(width.to_be_bytes());
    f.push(components);
    for c in 0..components {
        f.extend([c + 1, 0x11, 0]);
    }
    f
}

fn vector(name: &str) -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/phash_go");
    std::fs::read(dir.join(name)).expect(name)
}

#[test]
fn crafted_png_is_valid_so_the_other_tests_test_something() {
    phash_bytes(&tiny_png()).expect("the crafted PNG decodes");
}

#[test]
fn png_bomb_header_is_refused_before_decoding() {
    // 100000 x 100000 RGB: 30 GB of pixels; the IDAT is never read.
    let bomb = png(100_000, 100_000, 2, &[0x78, 0x01]);
    let err = phash_bytes(&bomb).unwrap_err();
    assert!(
        matches!(
            err,
            PHashError::TooManyPixels {
                width: 100_000,
                height: 100_000,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("100000x100000"), "{err}");
}

/// The limits before they were lowered to the protocol's largest image, for the tests of
/// the memory estimate itself.
const WIDE: Limits = Limits {
    max_pixels: 8192 * 8192,
    max_bytes: 256 << 20,
};

#[test]
fn png_within_pixel_limit_but_over_memory_limit_is_refused() {
    // 8192 x 8192 RGBA 8-bit: within the pixel limit, over 256 MiB to decode.
    let err = phash_bytes_with_limits(&png(8192, 8192, 6, &[0x78, 0x01]), &WIDE).unwrap_err();
    assert!(matches!(err, PHashError::TooMuchMemory { .. }), "{err}");
    // 2048 x 2048 RGBA 8-bit: within the default pixel limit, about 32 MiB to decode.
    let tight = Limits {
        max_bytes: 16 << 20,
        ..Limits::default()
    };
    let err = phash_bytes_with_limits(&png(2048, 2048, 6, &[0x78, 0x01]), &tight).unwrap_err();
    assert!(matches!(err, PHashError::TooMuchMemory { .. }), "{err}");
}

#[test]
fn extreme_aspect_ratio_counts_resize_memory() {
    // 1 x 67 million pixels: few bytes of pixels per row, but nfnt's weights for 67 million
    // inputs would take gigabytes.
    let err = phash_bytes_with_limits(&png(1, 67_000_000, 0, &[0x78, 0x01]), &WIDE).unwrap_err();
    assert!(matches!(err, PHashError::TooMuchMemory { .. }), "{err}");
}

#[test]
fn default_limits_fit_the_largest_image_task_arguments_allow() {
    // 2048 x 2048 progressive and baseline 4:4:4 JPEGs (the costliest layouts) and an RGBA
    // PNG: each is refused for its (missing) data, not for its size.
    let mut progressive = jpeg_header(2048, 2048, 3);
    progressive[3] = 0xc2;
    for file in [
        progressive,
        jpeg_header(2048, 2048, 3),
        png(2048, 2048, 6, &[0x78, 0x01]),
    ] {
        let err = phash_bytes(&file).unwrap_err();
        assert!(
            matches!(err, PHashError::Png(_) | PHashError::Jpeg(_)),
            "{err}"
        );
    }
    // One row more is over the limit.
    let err = phash_bytes(&png(2048, 2049, 0, &[0x78, 0x01])).unwrap_err();
    assert!(matches!(err, PHashError::TooManyPixels { .. }), "{err}");
}

/// A complete baseline gray JPEG of `width` x `height` whose every 8x8 block is flat: one
/// Huffman table with a 1-bit code for DC difference 0 and for end-of-block, so each block
/// costs 2 bits and a small file claims a big image.
fn flat_jpeg(width: u16, height: u16) -> Vec<u8> {
    let mut f = jpeg_header(width, height, 1);
    // DQT: table 0, all ones.
    f.extend([0xff, 0xdb, 0, 67, 0]);
    f.extend([1; 64]);
    // DHT: DC table 0 and AC table 0, each a single 1-bit code for symbol 0 (DC category 0;
    // AC end of block).
    for class in [0x00, 0x10] {
        f.extend([0xff, 0xc4, 0, 20, class, 1]);
        f.extend([0; 15]);
        f.push(0);
    }
    // SOS: one component, tables 0/0, spectral selection 0..63.
    f.extend([0xff, 0xda, 0, 8, 1, 1, 0x00, 0, 63, 0]);
    let blocks = usize::from(width).div_ceil(8) * usize::from(height).div_ceil(8);
    f.extend(std::iter::repeat_n(0u8, (2 * blocks).div_ceil(8)));
    f.extend([0xff, 0xd9]);
    f
}

#[test]
fn small_jpeg_claiming_8192_squared_is_refused_before_decoding() {
    // The fuzzing issue's case: 256 KiB of entropy-coded data that really does decode to a
    // flat 8192 x 8192 image (a million 8x8 blocks), costing 200 MB and a million IDCTs
    // under the old 8192 x 8192 limit.
    let bomb = flat_jpeg(8192, 8192);
    assert!(bomb.len() < 300_000, "{}", bomb.len());
    let err = phash_bytes(&bomb).unwrap_err();
    assert!(
        matches!(
            err,
            PHashError::TooManyPixels {
                width: 8192,
                height: 8192,
                limit: 4_194_304
            }
        ),
        "{err}"
    );
    // The same construction at a size the protocol allows decodes, so the refusal above is
    // the limit's doing.
    phash_bytes(&flat_jpeg(64, 48)).expect("a small flat JPEG decodes");
}

#[test]
fn limits_are_configurable() {
    let image = vector("rgb8_100x75.png");
    let small = Limits {
        max_pixels: 100 * 74,
        ..Limits::default()
    };
    let err = phash_bytes_with_limits(&image, &small).unwrap_err();
    assert!(
        matches!(err, PHashError::TooManyPixels { limit: 7400, .. }),
        "{err}"
    );
    let tight = Limits {
        max_bytes: 10_000,
        ..Limits::default()
    };
    let err = phash_bytes_with_limits(&image, &tight).unwrap_err();
    assert!(
        matches!(err, PHashError::TooMuchMemory { limit: 10_000, .. }),
        "{err}"
    );
    phash_bytes_with_limits(&image, &Limits::default()).expect("fits the defaults");
}

#[test]
fn zero_sized_images_are_errors() {
    // PNG forbids zero dimensions in IHDR.
    let err = phash_bytes(&png(0, 10, 2, &[])).unwrap_err();
    assert!(
        matches!(err, PHashError::Png(_) | PHashError::Empty { .. }),
        "{err}"
    );
    // A JPEG frame of height 0 (a DNL-style header Go would leave empty).
    let err = phash_bytes(&jpeg_header(16, 0, 1)).unwrap_err();
    assert!(
        matches!(
            err,
            PHashError::Empty {
                width: 16,
                height: 0
            }
        ),
        "{err}"
    );
}

#[test]
fn jpeg_bomb_header_is_refused_before_decoding() {
    let err = phash_bytes(&jpeg_header(65_000, 65_000, 3)).unwrap_err();
    assert!(matches!(err, PHashError::TooManyPixels { .. }), "{err}");
}

/// A progressive gray JPEG of `width` x `height` with `scans` AC scans, each one end-of-band
/// run over every block (about 20 bytes a scan, whatever the image's size).
fn progressive_jpeg(width: u16, height: u16, scans: usize) -> Vec<u8> {
    let mut f = jpeg_header(width, height, 1);
    f[3] = 0xc2;
    f.extend([0xff, 0xdb, 0, 67, 0]);
    f.extend([1; 64]);
    // DC table 0: symbol 0; AC table 0: symbol 0xe0 (an end-of-band run of 2^14 plus 14
    // bits), each a 1-bit code.
    for (class, symbol) in [(0x00, 0x00), (0x10, 0xe0)] {
        f.extend([0xff, 0xc4, 0, 20, class, 1]);
        f.extend([0; 15]);
        f.push(symbol);
    }
    // Runs of 32767 blocks (code 0, then 14 one bits), padded with ones and byte-stuffed.
    let blocks = usize::from(width).div_ceil(8) * usize::from(height).div_ceil(8);
    let mut bits: Vec<bool> = (0..blocks.div_ceil(32767))
        .flat_map(|_| std::iter::once(false).chain([true; 14]))
        .collect();
    bits.resize(bits.len().div_ceil(8) * 8, true);
    let mut data = Vec::new();
    for byte in bits.chunks(8) {
        let b = byte.iter().fold(0u8, |acc, &bit| acc << 1 | u8::from(bit));
        data.push(b);
        if b == 0xff {
            data.push(0);
        }
    }
    for _ in 0..scans {
        // One component, tables 0/0, coefficients 1..=63, no successive approximation.
        f.extend([0xff, 0xda, 0, 8, 1, 1, 0x00, 1, 63, 0]);
        f.extend(&data);
    }
    f.extend([0xff, 0xd9]);
    f
}

#[test]
fn jpeg_with_more_scans_than_encoders_write_is_refused() {
    // 20 bytes a scan: 20 KB held a thousand passes over a 2048 x 2048 image's 65536 blocks
    // (half a minute to hash), 228 KB twelve thousand.
    let bomb = progressive_jpeg(2048, 2048, 1000);
    assert!(bomb.len() < 20_000, "{}", bomb.len());
    let err = phash_bytes(&bomb).unwrap_err();
    assert!(matches!(err, PHashError::UnsupportedJpeg(_)), "{err}");
    assert!(err.to_string().contains("more than 100 scans"), "{err}");
    // At the limit, the same construction decodes.
    phash_bytes(&progressive_jpeg(64, 48, 100)).expect("100 scans decode");
    let err = phash_bytes(&progressive_jpeg(64, 48, 101)).unwrap_err();
    assert!(matches!(err, PHashError::UnsupportedJpeg(_)), "{err}");
}

#[test]
fn truncated_files_are_errors() {
    for name in [
        "rgb8_100x75.png",
        "g16_37x130_i.png",
        "jpg420_100x75.jpg",
        "jpg420prog_100x75.jpg",
    ] {
        let bytes = vector(name);
        for cut in [
            8,
            30,
            bytes.len() / 3,
            bytes.len() / 2,
            bytes.len() - 20,
            bytes.len() - 2,
        ] {
            let err = phash_bytes(&bytes[..cut]).unwrap_err();
            let text = err.to_string();
            assert!(
                matches!(err, PHashError::Png(_) | PHashError::Jpeg(_)),
                "{name} cut at {cut}: {text}"
            );
        }
    }
}

#[test]
fn unknown_formats_are_named() {
    let err = phash_bytes(b"GIF89a....").unwrap_err();
    assert!(matches!(err, PHashError::UnknownFormat(_)), "{err}");
    assert!(err.to_string().contains("47, 49, 46"), "{err}");
    assert!(matches!(
        phash_bytes(&[]).unwrap_err(),
        PHashError::UnknownFormat(_)
    ));
}

#[test]
fn corrupted_bytes_never_panic() {
    // Every file kind, with single bytes overwritten all over it: each result is a hash or
    // an error, never a panic or a hang.
    let names = [
        "rgb8_100x75.png",
        "p4trns_37x130_i.png",
        "g16trns_100x75.png",
        "jpg420_100x75.jpg",
        "jpg411_37x130.jpg",
        "jpg420prog_100x75.jpg",
        "jpg420rst_100x75.jpg",
        "jpggrayprog_37x130.jpg",
        "jpgrgb_64x64.jpg",
    ];
    let mut outcomes = (0, 0);
    for name in names {
        let original = vector(name);
        let step = (original.len() / 150).max(1);
        for pos in (2..original.len()).step_by(step) {
            for value in [0x00, 0xff, original[pos] ^ 0x5a] {
                let mut bytes = original.clone();
                bytes[pos] = value;
                match phash_bytes(&bytes) {
                    Ok(_) => outcomes.0 += 1,
                    Err(_) => outcomes.1 += 1,
                }
            }
        }
    }
    // Both kinds of outcome occur: corruption inside entropy-coded data often still decodes.
    assert!(outcomes.0 > 0 && outcomes.1 > 0, "{outcomes:?}");
}
