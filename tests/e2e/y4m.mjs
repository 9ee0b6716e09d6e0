// A Y4M video (the format Chromium's fake camera reads with --use-file-for-fake-video-capture)
// from a PNG: one 4:2:0 frame, BT.601 full range, which the fake camera repeats. Decodes the
// 8-bit RGB/RGBA non-interlaced PNGs `visionllm scene` writes, with Node's zlib (no packages).
import zlib from 'node:zlib';

export function decodePng(bytes) {
  if (bytes.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let off = 8, width, height, channels;
  const idat = [];
  while (off < bytes.length) {
    const len = bytes.readUInt32BE(off), type = bytes.toString('latin1', off + 4, off + 8), data = bytes.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0); height = data.readUInt32BE(4);
      const [depth, colour, , , interlace] = data.subarray(8);
      if (depth !== 8 || interlace !== 0 || (colour !== 2 && colour !== 6)) throw new Error('only 8-bit RGB(A) non-interlaced PNGs');
      channels = colour === 2 ? 3 : 4;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels, out = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)], line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? out[y * stride + x - channels] : 0, b = y > 0 ? out[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels] : 0;
      const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter];
      if (pred === undefined) throw new Error(`PNG filter ${filter}`);
      out[y * stride + x] = (line[x] + pred) & 255;
    }
  }
  return { width, height, channels, pixels: out };
}

export function pngToY4m(bytes) {
  const { width, height, channels, pixels } = decodePng(bytes);
  if (width % 2 || height % 2) throw new Error('Y4M 4:2:0 wants even sides');
  const rgb = (x, y) => { const i = (y * width + x) * channels; return [pixels[i], pixels[i + 1], pixels[i + 2]]; };
  const clamp = (v) => Math.max(0, Math.min(255, Math.round(v)));
  const Y = Buffer.alloc(width * height), U = Buffer.alloc(width * height / 4), V = Buffer.alloc(width * height / 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const [r, g, b] = rgb(x, y);
    Y[y * width + x] = clamp(0.299 * r + 0.587 * g + 0.114 * b);
  }
  for (let y = 0; y < height; y += 2) for (let x = 0; x < width; x += 2) {
    let r = 0, g = 0, b = 0;
    for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) { const p = rgb(x + dx, y + dy); r += p[0] / 4; g += p[1] / 4; b += p[2] / 4; }
    const i = (y / 2) * (width / 2) + x / 2;
    U[i] = clamp(128 - 0.168736 * r - 0.331264 * g + 0.5 * b);
    V[i] = clamp(128 + 0.5 * r - 0.418688 * g - 0.081312 * b);
  }
  return Buffer.concat([Buffer.from(`YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1\nFRAME\n`), Y, U, V]);
}
