//! The width and height an image file declares, read from its header before anything decodes it.
//!
//! A 40 KB PNG can declare 60000 x 60000 pixels: decoding it asks for 14 GB. The browser (before
//! `createImageBitmap`) and the CLI (before `image` decodes) read the declared size from the
//! file's first bytes with this and refuse what is too large, so such a file never reaches a
//! decoder. Formats: PNG, JPEG, GIF, WebP (lossy, lossless, extended) and BMP: the ones the app
//! accepts. Everything is bounds-checked: any bytes give a size or a one-line reason.

/// The largest side the app and the CLI decode: 8192 x 8192 RGBA is 256 MiB, about what a tab
/// can hold next to the model.
pub const MAX_SIDE: u32 = 8192;

/// How many leading bytes to hand to `declared_size`: a JPEG's size comes after its APPn
/// segments (EXIF thumbnails, ICC profiles), each at most 64 KiB; sixteen of them fit.
pub const PREFIX_BYTES: usize = 1 << 20;

/// (width, height) as the file's header states them.
pub fn declared_size(prefix: &[u8]) -> Result<(u32, u32), String> {
    if prefix.starts_with(b"\x89PNG\r\n\x1a\n") {
        png(prefix)
    } else if prefix.starts_with(&[0xFF, 0xD8]) {
        jpeg(prefix)
    } else if prefix.starts_with(b"GIF87a") || prefix.starts_with(b"GIF89a") {
        Ok((le16(prefix, 6)?, le16(prefix, 8)?))
    } else if prefix.starts_with(b"RIFF") && prefix.get(8..12) == Some(b"WEBP") {
        webp(prefix)
    } else if prefix.starts_with(b"BM") {
        bmp(prefix)
    } else {
        Err("not a PNG, JPEG, GIF, WebP or BMP file".into())
    }
}

fn bytes<const N: usize>(b: &[u8], at: usize) -> Result<[u8; N], String> {
    at.checked_add(N)
        .and_then(|end| b.get(at..end))
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| "the file ends inside its header".to_string())
}

fn le16(b: &[u8], at: usize) -> Result<u32, String> {
    Ok(u16::from_le_bytes(bytes(b, at)?) as u32)
}

fn be16(b: &[u8], at: usize) -> Result<u32, String> {
    Ok(u16::from_be_bytes(bytes(b, at)?) as u32)
}

fn le24(b: &[u8], at: usize) -> Result<u32, String> {
    let [x, y, z] = bytes::<3>(b, at)?;
    Ok(u32::from_le_bytes([x, y, z, 0]))
}

fn png(b: &[u8]) -> Result<(u32, u32), String> {
    // The first chunk must be IHDR: length 13, type, width and height (big-endian u32).
    if b.get(12..16) != Some(b"IHDR") {
        return Err("a PNG whose first chunk is not IHDR".into());
    }
    Ok((u32::from_be_bytes(bytes(b, 16)?), u32::from_be_bytes(bytes(b, 20)?)))
}

fn jpeg(b: &[u8]) -> Result<(u32, u32), String> {
    let mut at = 2;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        let [ff] = bytes::<1>(b, at).map_err(|_| "a JPEG without a frame header in its first MiB".to_string())?;
        if ff != 0xFF {
            return Err("a damaged JPEG (no marker where one must be)".into());
        }
        let [marker] = bytes::<1>(b, at + 1)?;
        at += 2;
        match marker {
            0xFF => at -= 1, // fill byte: the next one may be the marker
            0x01 | 0xD0..=0xD7 => {} // markers without a length
            0xD8 | 0xD9 | 0xDA => return Err("a JPEG whose frame header is missing".into()),
            // Start of frame (baseline, progressive, lossless, arithmetic): length, precision, height, width.
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return Ok((be16(b, at + 5)?, be16(b, at + 3)?)),
            _ => {
                let len = be16(b, at)? as usize;
                if len < 2 {
                    return Err("a damaged JPEG (a segment shorter than its length field)".into());
                }
                at += len;
            }
        }
    }
}

fn webp(b: &[u8]) -> Result<(u32, u32), String> {
    match b.get(12..16) {
        // Lossy: frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height.
        Some(b"VP8 ") => {
            if b.get(23..26) != Some(&[0x9d, 0x01, 0x2a]) {
                return Err("a damaged lossy WebP (no VP8 start code)".into());
            }
            Ok((le16(b, 26)? & 0x3FFF, le16(b, 28)? & 0x3FFF))
        }
        // Lossless: signature 0x2f, then width-1 and height-1 in 14 bits each.
        Some(b"VP8L") => {
            if b.get(20) != Some(&0x2f) {
                return Err("a damaged lossless WebP (no VP8L signature)".into());
            }
            let bits = u32::from_le_bytes(bytes(b, 21)?);
            Ok(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        // Extended: flags (4 bytes), then canvas width-1 and height-1 in 24 bits each.
        Some(b"VP8X") => Ok((le24(b, 24)? + 1, le24(b, 27)? + 1)),
        _ => Err("a WebP of an unknown kind".into()),
    }
}

fn bmp(b: &[u8]) -> Result<(u32, u32), String> {
    let dib = u32::from_le_bytes(bytes(b, 14)?);
    if dib == 12 {
        // OS/2 BITMAPCOREHEADER: 16-bit sizes.
        return Ok((le16(b, 18)?, le16(b, 20)?));
    }
    // BITMAPINFOHEADER and later: signed 32-bit; a negative height means top-down rows.
    let w = i32::from_le_bytes(bytes(b, 18)?);
    let h = i32::from_le_bytes(bytes(b, 22)?);
    if w < 0 {
        return Err("a BMP with a negative width".into());
    }
    Ok((w.unsigned_abs(), h.unsigned_abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_header(w: u32, h: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend(w.to_be_bytes());
        b.extend(h.to_be_bytes());
        b.extend([8, 6, 0, 0, 0]);
        b
    }

    #[test]
    fn hand_made_headers() {
        assert_eq!(declared_size(&png_header(60000, 60000)), Ok((60000, 60000)));
        let mut gif = b"GIF89a".to_vec();
        gif.extend([0x34, 0x12, 0x02, 0x00]);
        assert_eq!(declared_size(&gif), Ok((0x1234, 2)));
        // Lossy WebP: "VP8 " chunk, frame tag, start code, 14-bit sizes with scale bits set.
        let mut vp8 = b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0".to_vec();
        vp8.extend([0, 0, 0, 0x9d, 0x01, 0x2a]);
        vp8.extend((0xC000u16 | 300).to_le_bytes());
        vp8.extend((0x4000u16 | 200).to_le_bytes());
        assert_eq!(declared_size(&vp8), Ok((300, 200)));
        let mut vp8x = b"RIFF\0\0\0\0WEBPVP8X\0\0\0\0\0\0\0\0".to_vec();
        vp8x.extend([0x5F, 0xEA, 0x00, 0x0F, 0x27, 0x00]); // 59999 + 1, 9999 + 1
        assert_eq!(declared_size(&vp8x), Ok((60000, 10000)));
        let mut os2 = b"BM".to_vec();
        os2.extend([0; 12]);
        os2.extend(12u32.to_le_bytes());
        os2.extend([7, 0, 9, 0]);
        assert_eq!(declared_size(&os2), Ok((7, 9)));
        // JPEG with fill bytes and an APP segment before the frame header.
        let jpg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 1, 2, 0xFF, 0xFF, 0xC2, 0, 11, 8, 0x01, 0x02, 0x03, 0x04, 3];
        assert_eq!(declared_size(&jpg), Ok((0x0304, 0x0102)));
    }

    #[test]
    fn damaged_headers_are_reasons() {
        for (bytes, want) in [
            (&b""[..], "not a PNG"),
            (&b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0"[..], "ends inside"),
            (&b"\x89PNG\r\n\x1a\n\0\0\0\x0dIDAT"[..], "not IHDR"),
            (&[0xFF, 0xD8, 0xFF, 0xE0, 0, 1][..], "shorter than its length"),
            (&[0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 1, 2][..], "without a frame header"),
            (&[0xFF, 0xD8, 0x00][..], "no marker"),
            (&[0xFF, 0xD8, 0xFF, 0xDA][..], "frame header is missing"),
            (&b"RIFF\0\0\0\0WEBPABCD"[..], "unknown kind"),
            (&b"GIF89a\x01"[..], "ends inside"),
        ] {
            let got = declared_size(bytes).unwrap_err();
            assert!(got.contains(want), "{bytes:?}: {got}");
        }
    }
}
