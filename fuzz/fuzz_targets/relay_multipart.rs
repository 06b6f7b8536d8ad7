//! The relay's reader of result uploads (`relay::http::read_files`): a `multipart/form-data`
//! body split into files named `0.png`, `1.png`, … with the relay's default limits. The
//! first line of the input is the `Content-Type` header, the rest the body; the first byte
//! picks SD (`png`) or LLM (`json`) names and how many files are expected.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, header};
use relay::config::Limits;

fn main() {
    let limits = Limits::default();
    afl::fuzz!(|data: &[u8]| {
        let Some((&mode, rest)) = data.split_first() else {
            return;
        };
        let (content_type, body) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        };
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(content_type) {
            headers.insert(header::CONTENT_TYPE, value);
        }
        let extension = if mode & 1 == 0 { "png" } else { "json" };
        let expected = usize::from(mode >> 1) % 12;
        let body = Bytes::copy_from_slice(body);
        let read = relay::http::read_files(&limits, &headers, body, extension, expected);
        if let Ok(files) = pollster::block_on(read) {
            assert_eq!(files.len(), expected);
            for (i, (name, _)) in files.iter().enumerate() {
                assert_eq!(*name, format!("{i}.{extension}"));
            }
        }
    });
}
