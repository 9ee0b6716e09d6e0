//! `<OCR_WITH_REGION>`: text followed by eight locs (a quadrilateral), as the reference's
//! `re.findall(r"(.+?)<loc_(\d+)>...(8 times)", text)`; the text is stripped but kept as is.

use super::scan::{drop_sequence_tokens, loc_at, py_strip};
use super::OcrLine;
use crate::geometry::{ImageSize, Point};
use crate::quantize::dequantize;

/// Eight consecutive `<loc_k>` at `at`: their bins and the end.
fn eight_locs_at(s: &str, at: usize) -> Option<([u32; 8], usize)> {
    let mut bins = [0u32; 8];
    let mut end = at;
    for bin in &mut bins {
        let (value, next) = loc_at(s, end)?;
        *bin = value;
        end = next;
    }
    Some((bins, end))
}

pub fn parse_ocr_lines(text: &str, size: ImageSize) -> Vec<OcrLine> {
    let text = drop_sequence_tokens(text);
    let s = text.as_str();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        // `(.+?)` needs at least one character other than '\n' ...
        let Some(first) = s[i..].chars().next() else {
            break;
        };
        if first == '\n' {
            i += 1;
            continue;
        }
        // ... and then grows lazily until eight locs follow, but never across a '\n'. If it
        // fails from `i` it fails from every start up to that '\n' too, so resume after it.
        let mut k = i + first.len_utf8();
        let found = loop {
            if s.as_bytes().get(k) == Some(&b'<') {
                if let Some(hit) = eight_locs_at(s, k) {
                    break Some((k, hit));
                }
            }
            match s[k..].chars().next() {
                None => break None,
                Some('\n') => break None,
                Some(c) => k += c.len_utf8(),
            }
        };
        let Some((content_end, (bins, end))) = found else {
            i = k + 1; // past the '\n' (or past the end: the loop stops)
            continue;
        };
        let mut quad = [Point { x: 0.0, y: 0.0 }; 4];
        for (p, xy) in quad.iter_mut().zip(bins.chunks_exact(2)) {
            *p = Point { x: dequantize(xy[0], size.width), y: dequantize(xy[1], size.height) };
        }
        out.push(OcrLine { text: py_strip(&s[i..content_end]).to_string(), quad });
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_lazy_text() {
        let size = ImageSize::new(1000, 1000);
        let one = "<loc_1><loc_2><loc_3><loc_4><loc_5><loc_6><loc_7><loc_8>";
        let lines = parse_ocr_lines(&format!("</s> STOP {one}EXIT{one}"), size);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text, "STOP");
        assert_eq!(lines[1].text, "EXIT");
        assert_eq!(lines[0].quad[3], Point { x: 7.0, y: 8.0 });
        // Seven locs are not enough: the text grows over them to the next eight.
        let lines = parse_ocr_lines("a<loc_1><loc_2><loc_3><loc_4><loc_5><loc_6><loc_7> b<loc_1><loc_2><loc_3><loc_4><loc_5><loc_6><loc_7><loc_8>", size);
        assert_eq!(lines[0].text, "a<loc_1><loc_2><loc_3><loc_4><loc_5><loc_6><loc_7> b");
        // '.' does not cross a newline.
        let lines = parse_ocr_lines(&format!("line1\nline2{one}"), size);
        assert_eq!(lines[0].text, "line2");
    }
}
