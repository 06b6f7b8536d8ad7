import numpy as np, zlib, struct, subprocess, os
import sys
out = sys.argv[1] if len(sys.argv) > 1 else 'corpus'
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)

def content(w, h, seed):
    r = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([
        128 + 100*np.sin(x/ max(w,1) * 6.3 + seed) * np.cos(y / max(h,1) * 3.1),
        (x * 255 // max(w-1,1)),
        (y * 255 // max(h-1,1)),
    ], -1)
    base += r.normal(0, 20, base.shape)
    cx, cy = w*0.3, h*0.6
    base[((x-cx)**2 + (y-cy)**2) < (min(w,h)*0.2)**2] = [250, 30, 60]
    return np.clip(base, 0, 255).astype(np.uint8)

def chunk(t, d):
    c = struct.pack('>I', len(d)) + t + d
    return c + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)

def pack_rows(samples, bits):
    # samples: h x n (ints); returns list of row bytes
    rows = []
    for row in samples:
        if bits == 16:
            rows.append(b''.join(struct.pack('>H', int(v)) for v in row))
        elif bits == 8:
            rows.append(bytes(int(v) for v in row))
        else:
            per = 8 // bits; b = bytearray()
            for i in range(0, len(row), per):
                byte = 0
                for j in range(per):
                    v = int(row[i+j]) if i+j < len(row) else 0
                    byte |= v << (8 - bits*(j+1))
                b.append(byte)
            rows.append(bytes(b))
    return rows

ADAM7 = [(0,0,8,8),(4,0,8,8),(0,4,4,8),(2,0,4,4),(0,2,2,4),(1,0,2,2),(0,1,1,2)]

def write_png(name, px, ctype, bits, plte=None, trns=None, interlace=False):
    # px: h x w x channels array of sample values
    h, w = px.shape[:2]
    ch = px.shape[2]
    raw = b''
    if not interlace:
        for r in pack_rows(px.reshape(h, w*ch), bits):
            raw += b'\x00' + r
    else:
        for (x0, y0, dx, dy) in ADAM7:
            sub = px[y0::dy, x0::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0: continue
            sh, sw = sub.shape[:2]
            for r in pack_rows(sub.reshape(sh, sw*ch), bits):
                raw += b'\x00' + r
    data = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, bits, ctype, 0, 0, 1 if interlace else 0))
    if plte is not None: data += chunk(b'PLTE', bytes(plte))
    if trns is not None: data += chunk(b'tRNS', bytes(trns))
    data += chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')
    open(os.path.join(out, name), 'wb').write(data)

sizes = [(100, 75), (64, 64), (37, 130), (1, 1), (200, 3)]
for si, (w, h) in enumerate(sizes):
    c = content(w, h, si).astype(np.int64)
    gray = (c[..., 0]*3 + c[..., 1]*5 + c[..., 2]*2) // 10
    tag = f'{w}x{h}'
    for il in (False, True):
        t = tag + ('_i' if il else '')
        for bits in (1, 2, 4, 8):
            g = gray >> (8 - bits)
            write_png(f'g{bits}_{t}.png', g[..., None], 0, bits, interlace=il)
            key = int(g[h//2, w//2])
            write_png(f'g{bits}trns_{t}.png', g[..., None], 0, bits, trns=struct.pack('>H', key), interlace=il)
        g16 = np.minimum(gray * 257 + (c[..., 1] % 7), 65535)
        write_png(f'g16_{t}.png', g16[..., None], 0, 16, interlace=il)
        write_png(f'g16trns_{t}.png', g16[..., None], 0, 16, trns=struct.pack('>H', int(g16[h//2, w//2])), interlace=il)
        alpha = (c[..., 1] + c[..., 2]) // 2
        write_png(f'ga8_{t}.png', np.stack([gray, alpha], -1), 4, 8, interlace=il)
        write_png(f'ga16_{t}.png', np.stack([g16, np.minimum(alpha*257 + 3, 65535)], -1), 4, 16, interlace=il)
        write_png(f'rgb8_{t}.png', c, 2, 8, interlace=il)
        k = c[h//2, w//2]
        write_png(f'rgb8trns_{t}.png', c, 2, 8, trns=struct.pack('>HHH', *map(int, k)), interlace=il)
        c16 = np.minimum(c * 257 + (c[..., ::-1] % 5), 65535)
        write_png(f'rgb16_{t}.png', c16, 2, 16, interlace=il)
        write_png(f'rgb16trns_{t}.png', c16, 2, 16, trns=struct.pack('>HHH', *map(int, c16[h//2, w//2])), interlace=il)
        rgba = np.concatenate([c, alpha[..., None]], -1)
        write_png(f'rgba8_{t}.png', rgba, 6, 8, interlace=il)
        write_png(f'rgba16_{t}.png', np.concatenate([c16, (alpha*257)[..., None]], -1), 6, 16, interlace=il)
        for bits in (1, 2, 4, 8):
            n = 1 << bits
            idx = (gray * n) // 256
            pal_n = max(1, n - (n // 4))  # short palette: some indices out of range
            plte = [int(v) for i in range(pal_n) for v in ((i*97) % 256, (i*31) % 256, (255 - i*13) % 256)]
            write_png(f'p{bits}_{t}.png', idx[..., None], 3, bits, plte=plte, interlace=il)
            trns = [(i * 53) % 256 for i in range(min(pal_n, 5))]
            write_png(f'p{bits}trns_{t}.png', idx[..., None], 3, bits, plte=plte, trns=trns, interlace=il)
    # JPEGs via cjpeg
    ppm = os.path.join(out, f'src_{tag}.ppm'); pgm = os.path.join(out, f'src_{tag}.pgm')
    open(ppm, 'wb').write(f'P6 {w} {h} 255\n'.encode() + c.astype(np.uint8).tobytes())
    open(pgm, 'wb').write(f'P5 {w} {h} 255\n'.encode() + gray.astype(np.uint8).tobytes())
    variants = {
        '444': ['-sample', '1x1'], '422': ['-sample', '2x1'], '420': ['-sample', '2x2'],
        '440': ['-sample', '1x2'], '411': ['-sample', '4x1'], '410': ['-sample', '4x2'],
        '420prog': ['-sample', '2x2', '-progressive'], '444prog': ['-sample', '1x1', '-progressive'],
        '420rst': ['-sample', '2x2', '-restart', '1B'], '422rst3': ['-sample', '2x1', '-restart', '3B'],
        'rgb': ['-rgb'], 'q30': ['-quality', '30'], 'q100': ['-quality', '100'],
        'opt': ['-optimize'], 'prog_rst': ['-progressive', '-restart', '2B'],
    }
    for name, args in variants.items():
        subprocess.run(['cjpeg', *args, '-outfile', os.path.join(out, f'jpg{name}_{tag}.jpg'), ppm], check=True)
    for name, args in {'gray': [], 'grayprog': ['-progressive'], 'grayrst': ['-restart', '1B']}.items():
        subprocess.run(['cjpeg', *args, '-outfile', os.path.join(out, f'jpg{name}_{tag}.jpg'), pgm], check=True)
    os.remove(ppm); os.remove(pgm)
print(len(os.listdir(out)))
