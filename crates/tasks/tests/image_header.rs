//! Declared image sizes read from real files of every accepted format, written by the `image`
//! crate's encoders (an independent implementation of each format), at sizes that are not
//! square and not round; and any bytes at all give a size or a reason, never a panic.
#![cfg(not(target_arch = "wasm32"))]

use std::io::Cursor;

use image::{ImageFormat, RgbImage};
use proptest::prelude::*;
use visionllm_tasks::image_header::declared_size;

fn encoded(format: ImageFormat, w: u32, h: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 7) as u8, (y * 13) as u8, ((x + y) * 3) as u8]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

#[test]
fn every_format_declares_its_size() {
    for format in [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::Gif, ImageFormat::WebP, ImageFormat::Bmp] {
        for (w, h) in [(1, 1), (37, 5), (300, 211), (5, 640)] {
            let bytes = encoded(format, w, h);
            assert_eq!(declared_size(&bytes), Ok((w, h)), "{format:?} {w}x{h}");
            // Only the header is needed.
            let cut = bytes.len().min(64);
            if format != ImageFormat::Jpeg {
                assert_eq!(declared_size(&bytes[..cut]), Ok((w, h)), "{format:?} {w}x{h} from {cut} bytes");
            }
        }
    }
}

#[test]
fn a_jpeg_with_a_large_exif_block_before_its_frame_header() {
    let jpeg = encoded(ImageFormat::Jpeg, 123, 45);
    // Insert a 60 KB APP1 segment (as cameras write EXIF with a thumbnail) after SOI.
    let mut with_exif = jpeg[..2].to_vec();
    with_exif.extend([0xFF, 0xE1]);
    with_exif.extend(60_002u16.to_be_bytes());
    with_exif.extend(std::iter::repeat_n(0xFFu8, 60_000));
    with_exif.extend(&jpeg[2..]);
    assert_eq!(declared_size(&with_exif), Ok((123, 45)));
    assert_eq!(image::load_from_memory(&with_exif).map(|i| (i.width(), i.height())).ok(), Some((123, 45)), "the decoder agrees");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = declared_size(&bytes);
    }

    /// Each format's magic followed by arbitrary bytes: the paths past the signature check.
    #[test]
    fn format_prefixes_with_arbitrary_tails(magic in prop::sample::select(vec![
        &b"\x89PNG\r\n\x1a\n"[..], &[0xFF, 0xD8][..], &b"GIF89a"[..], &b"RIFF\0\0\0\0WEBPVP8 "[..],
        &b"RIFF\0\0\0\0WEBPVP8L"[..], &b"RIFF\0\0\0\0WEBPVP8X"[..], &b"BM"[..],
    ]), tail in prop::collection::vec(any::<u8>(), 0..128)) {
        let bytes = [magic, &tail].concat();
        let _ = declared_size(&bytes);
    }
}
