//! The searchable layer: kept OCR words written as invisible text (render mode 3) over the
//! words in the image, so that a reader can search and select them and pdftotext finds them.
//!
//! The font is Courier (a standard font, WinAnsiEncoding, nothing embedded): every glyph is
//! 0.6 em wide, so a word is fitted to its box exactly by horizontal scaling (`Tz`) without a
//! metrics table. Invisible text is never painted, so the font's look does not matter.
//!
//! Only the words given are written: the caller passes the kept words, never the removed ones.

use super::Word;
use lopdf::{Dictionary, Document, Object, ObjectId, Stream};

/// Courier's advance width, in em.
const ADVANCE: f64 = 0.6;
/// The height of a word's box (its ink) as a share of the type's size.
const BOX_EM: f64 = 0.75;

/// WinAnsiEncoding of a character; `None` for characters it cannot show.
fn win_ansi(c: char) -> Option<u8> {
    let u = c as u32;
    match u {
        0x20..=0x7E | 0xA0..=0xFF => Some(u as u8),
        _ => {
            const HIGH: [(u32, u8); 27] = [
                (0x20AC, 0x80),
                (0x201A, 0x82),
                (0x0192, 0x83),
                (0x201E, 0x84),
                (0x2026, 0x85),
                (0x2020, 0x86),
                (0x2021, 0x87),
                (0x02C6, 0x88),
                (0x2030, 0x89),
                (0x0160, 0x8A),
                (0x2039, 0x8B),
                (0x0152, 0x8C),
                (0x017D, 0x8E),
                (0x2018, 0x91),
                (0x2019, 0x92),
                (0x201C, 0x93),
                (0x201D, 0x94),
                (0x2022, 0x95),
                (0x2013, 0x96),
                (0x2014, 0x97),
                (0x02DC, 0x98),
                (0x2122, 0x99),
                (0x0161, 0x9A),
                (0x203A, 0x9B),
                (0x0153, 0x9C),
                (0x017E, 0x9E),
                (0x0178, 0x9F),
            ];
            HIGH.iter().find(|(k, _)| *k == u).map(|(_, v)| *v)
        }
    }
}

/// A word in WinAnsi bytes (characters it cannot show become `?`), escaped for a PDF string.
fn pdf_string(text: &str) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut n = 0;
    for c in text.chars() {
        let b = win_ansi(c).unwrap_or(b'?');
        if matches!(b, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
        n += 1;
    }
    (out, n)
}

fn num(v: f64) -> String {
    let s = format!("{:.3}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// The content that draws `words` invisibly (also used by tests to check the operators).
///
/// The words of one OCR line share one font size and one baseline (the medians over its words
/// with a letter or digit), and are written upright along the direction of the line's first
/// word: a reader's text extraction (pdftotext) then keeps each line together, where words at
/// their own heights (a capital, a descender, a dash read as a sliver, a page scanned askew)
/// would be split into many lines. Each word is fitted to its own width.
pub fn layer_content(font: &str, words: &[&Word]) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(b"q BT 3 Tr\n");
    let mut start = 0;
    while start < words.len() {
        let key = |w: &Word| (w.image, w.block, w.par, w.line);
        let k = key(words[start]);
        let end = start + words[start..].iter().take_while(|w| key(w) == k).count();
        line_content(&mut s, font, &words[start..end]);
        start = end;
    }
    s.extend_from_slice(b"ET Q\n");
    s
}

fn line_content(s: &mut Vec<u8>, font: &str, line: &[&Word]) {
    let first = line[0];
    let (w0, h0) = (first.quad.width(), first.quad.height());
    if w0 <= 0.0 || h0 <= 0.0 {
        return;
    }
    let (ux, uy) = (first.quad.along.0 / w0, first.quad.along.1 / w0);
    let (vx, vy) = (first.quad.up.0 / h0, first.quad.up.1 / h0);
    let text: Vec<&&Word> = line.iter().filter(|w| w.text.chars().any(|c| c.is_alphanumeric())).collect();
    let basis: Vec<&&Word> = if text.is_empty() { line.iter().collect() } else { text };
    // A word's box is its ink: capitals and ascenders, descenders in some words, about three
    // quarters of the type's size (em). The baseline is where most words' ink ends.
    let size = median(basis.iter().map(|w| w.quad.height()).collect()) / BOX_EM;
    let base = median(basis.iter().map(|w| w.quad.origin.0 * vx + w.quad.origin.1 * vy).collect());
    if size <= 0.0 {
        return;
    }
    for w in line {
        let (bytes, n) = pdf_string(&w.text);
        let width = w.quad.width();
        if n == 0 || width <= 0.0 {
            continue;
        }
        let tz = 100.0 * width / (n as f64 * ADVANCE * size);
        let along = w.quad.origin.0 * ux + w.quad.origin.1 * uy;
        let (ox, oy) = (ux * along + vx * base, uy * along + vy * base);
        s.extend_from_slice(
            format!(
                "/{font} {} Tf {} Tz {} {} {} {} {} {} Tm (",
                num(size),
                num(tz),
                num(ux),
                num(uy),
                num(vx),
                num(vy),
                num(ox),
                num(oy)
            )
            .as_bytes(),
        );
        s.extend_from_slice(&bytes);
        s.extend_from_slice(b") Tj\n");
    }
}

fn resolve<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a Dictionary> {
    match o {
        Object::Reference(r) => doc.get_dictionary(*r).ok(),
        Object::Dictionary(d) => Some(d),
        _ => None,
    }
}

/// Add an invisible text layer of `words` to the page `page`: a Courier font resource of its own
/// (the page's resources are copied onto the page, so pages that shared them are untouched), and
/// a content stream drawn after the page's own content, which is wrapped in `q`/`Q` so that its
/// graphics state cannot move the layer.
pub fn add_text_layer(doc: &mut Document, page: ObjectId, words: &[&Word]) -> Result<(), lopdf::Error> {
    // The resources in force (the page's own or inherited), copied.
    let mut res: Dictionary = {
        let (own, inherited) = doc.get_page_resources(page)?;
        match own {
            Some(d) => d.clone(),
            None => inherited.first().and_then(|id| doc.get_dictionary(*id).ok()).cloned().unwrap_or_default(),
        }
    };
    let mut fonts: Dictionary = res.get(b"Font").ok().and_then(|f| resolve(doc, f)).cloned().unwrap_or_default();
    let mut name = String::from("OcrLayer");
    let mut k = 0;
    while fonts.has(name.as_bytes()) {
        k += 1;
        name = format!("OcrLayer{k}");
    }
    let mut font = Dictionary::new();
    font.set("Type", Object::Name(b"Font".to_vec()));
    font.set("Subtype", Object::Name(b"Type1".to_vec()));
    font.set("BaseFont", Object::Name(b"Courier".to_vec()));
    font.set("Encoding", Object::Name(b"WinAnsiEncoding".to_vec()));
    let font_id = doc.add_object(Object::Dictionary(font));
    fonts.set(name.as_bytes(), Object::Reference(font_id));
    res.set("Font", Object::Dictionary(fonts));

    let before = doc.add_object(Object::Stream(Stream::new(Dictionary::new(), b"q\n".to_vec())));
    let mut body = b"Q\n".to_vec();
    body.extend(layer_content(&name, words));
    let after = doc.add_object(Object::Stream(Stream::new(Dictionary::new(), body)));
    let page_dict = doc.get_dictionary_mut(page)?;
    let old: Vec<Object> = match page_dict.get(b"Contents") {
        Ok(Object::Array(a)) => a.clone(),
        Ok(o @ Object::Reference(_)) => vec![o.clone()],
        _ => vec![],
    };
    // Contents given as a reference to an array of streams.
    let old = if let [Object::Reference(r)] = old.as_slice() {
        match doc.get_object(*r) {
            Ok(Object::Array(a)) => a.clone(),
            _ => old,
        }
    } else {
        old
    };
    let mut contents = vec![Object::Reference(before)];
    contents.extend(old);
    contents.push(Object::Reference(after));
    let page_dict = doc.get_dictionary_mut(page)?;
    page_dict.set("Contents", Object::Array(contents));
    page_dict.set("Resources", Object::Dictionary(res));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocr::Quad;
    use crate::pdf::image::PixelRect;

    fn word(text: &str, x: f64, w: f64) -> Word {
        Word {
            text: text.into(),
            conf: 90.0,
            bbox: [x, 100.0, x + w, 110.0],
            quad: Quad { origin: (x, 100.0), along: (w, 0.0), up: (0.0, 10.0) },
            image: 0,
            pixels: PixelRect { x0: 0, y0: 0, x1: 1, y1: 1 },
            block: 1,
            par: 1,
            line: 1,
            range: 0..text.len(),
        }
    }

    #[test]
    fn words_of_one_line_share_a_baseline_and_size() {
        // A dash read as a sliver, a date taller than its neighbours: one line all the same.
        let mut a = word("HARROWFIELD", 10.0, 60.0);
        let mut dash = word("-.", 80.0, 5.0);
        dash.quad = Quad { origin: (80.0, 104.0), along: (5.0, 0.0), up: (0.0, 1.0) };
        let mut date = word("20/09/2025", 90.0, 50.0);
        date.quad = Quad { origin: (90.0, 98.0), along: (50.0, 0.0), up: (0.0, 14.0) };
        a.line = 1;
        let police = word("POLICE", 150.0, 30.0);
        let c = String::from_utf8_lossy(&layer_content("F", &[&a, &dash, &date, &police])).into_owned();
        let tms: Vec<&str> = c.lines().filter(|l| l.contains(" Tm ")).collect();
        assert_eq!(tms.len(), 4, "{c}");
        for l in &tms {
            assert!(l.starts_with("/F 13.333 Tf "), "{l}");
            assert!(l.contains(" 1 0 0 1 ") && l.contains(" 100 Tm"), "{l}");
        }
        // On another line, its own baseline.
        let mut b = word("next", 10.0, 20.0);
        b.line = 2;
        b.quad.origin.1 = 80.0;
        let c = String::from_utf8_lossy(&layer_content("F", &[&a, &b])).into_owned();
        assert!(c.contains(" 10 80 Tm (next)"), "{c}");
    }

    #[test]
    fn words_are_invisible_and_fitted_to_their_boxes() {
        let a = word("Dear", 10.0, 24.0);
        let b = word("(x)\u{00f6}\u{4e00}", 50.0, 30.0);
        let c = String::from_utf8_lossy(&layer_content("F", &[&a, &b])).into_owned();
        assert!(c.starts_with("q BT 3 Tr\n"), "{c}");
        // A 10 pt box is type of 13.333 pt (the box is 0.75 em); 4 glyphs of 0.6 em fill 32 pt,
        // the box is 24: Tz = 100 * 24 / 32 = 75. The baseline is the box's bottom.
        assert!(c.contains("/F 13.333 Tf 75 Tz 1 0 0 1 10 100 Tm (Dear) Tj"), "{c}");
        // Parentheses escaped, ö in WinAnsi, a character WinAnsi lacks as '?'.
        let raw = layer_content("F", &[&b]);
        assert!(raw.windows(8).any(|w| w == b"(\\(x\\)\xf6?"), "{}", String::from_utf8_lossy(&raw));
    }
}
