//! The searchable layer: kept OCR words written as invisible text (render mode 3) over the
//! words in the image, so that a reader can search and select them and pdftotext finds them.
//!
//! The font is Liberation Sans (SIL OFL 1.1, vendored in `src/pdf/fonts/` with its licence),
//! embedded as a subset: a bundle is PDF/A-2b, and PDF/A embeds every font, invisible ones too.
//! One font serves every read page of a document ([`LayerFont`]). It is a CID TrueType font
//! (Type0, Identity-H) whose codes are the layer's own: each distinct character shown gets one
//! (1, 2, ... in character order), a `/CIDToGIDMap` stream maps the code to its glyph and
//! `/ToUnicode` maps it back to the character, so text extraction gives back exactly what OCR
//! read. A character the font lacks is shown with the glyph of `?` (PDF/A forbids showing
//! `.notdef`, in any render mode) under its own code, so it still extracts as itself.
//!
//! Each word is fitted to its OCR box by horizontal scaling (`Tz`) computed from the advances in
//! the font's `/W`, so that a search hit or a selection highlights the word in the image.
//! The bytes depend only on the words: the subset tag is a hash of the characters.
//!
//! Only the words given are written: the caller passes the kept words, never the removed ones.

use super::Word;
use lopdf::{Dictionary, Document, Object, ObjectId, Stream, StringFormat};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// The height of a word's box (its ink) as a share of the type's size: Liberation Sans's capitals
/// and ascenders stand about 0.73 em above the baseline, its descenders 0.21 em below it.
const BOX_EM: f64 = 0.75;
/// The face's name in `/BaseFont` (after the subset tag).
const FACE: &str = "LiberationSans";

/// Why a layer could not be added. No word or character is named.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LayerError {
    #[error("the searchable layer's font cannot be subset")]
    Font,
    #[error("the searchable layer shows {0} distinct characters, more than one font can code")]
    TooManyCharacters(usize),
    #[error("the page cannot be given its searchable layer: {0}")]
    Page(String),
}

/// The layer's font in one document: a Type0 font object, and each character's code and advance.
#[derive(Debug, Clone)]
pub struct LayerFont {
    /// The Type0 font dictionary the pages' resources point to.
    pub id: ObjectId,
    /// Each character's code and advance (thousandths of an em, as written in `/W`).
    codes: BTreeMap<char, (u16, f64)>,
}

/// The font's parts, before they become objects of a document.
struct Parts {
    base_font: String,
    /// The TrueType subset (`/FontFile2`), uncompressed.
    program: Vec<u8>,
    /// Code to glyph of the subset, two bytes a code, from code 0.
    cid_to_gid: Vec<u8>,
    to_unicode: Vec<u8>,
    codes: BTreeMap<char, (u16, f64)>,
    bbox: [f64; 4],
    ascent: f64,
    descent: f64,
    cap_height: f64,
}

fn parts(chars: &BTreeSet<char>) -> Result<Parts, LayerError> {
    if chars.len() >= u16::MAX as usize {
        return Err(LayerError::TooManyCharacters(chars.len()));
    }
    let data = crate::pdf::fonts_embed::liberation_sans();
    let face = ttf_parser::Face::parse(data, 0).map_err(|_| LayerError::Font)?;
    let upem = face.units_per_em() as f64;
    let milli = |v: f64| (v * 1000.0 / upem).round();
    let fallback = face.glyph_index('?').ok_or(LayerError::Font)?.0;
    let glyph_of: Vec<(char, u16)> =
        chars.iter().map(|&c| (c, face.glyph_index(c).map(|g| g.0).filter(|&g| g != 0).unwrap_or(fallback))).collect();
    let mut gids: Vec<u16> = glyph_of.iter().map(|g| g.1).collect();
    gids.push(0);
    gids.sort_unstable();
    gids.dedup();
    let remapper = subsetter::GlyphRemapper::new_from_glyphs_sorted(&gids);
    let program = subsetter::subset(data, 0, &remapper).map_err(|_| LayerError::Font)?;
    let mut cid_to_gid = vec![0u8, 0];
    let mut codes = BTreeMap::new();
    let mut to_unicode = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for chunk in glyph_of.chunks(100) {
        to_unicode.push_str(&format!("{} beginbfchar\n", chunk.len()));
        for &(c, g) in chunk {
            let code = codes.len() as u16 + 1;
            let new = remapper.get(g).ok_or(LayerError::Font)?;
            cid_to_gid.extend_from_slice(&new.to_be_bytes());
            let advance = milli(face.glyph_hor_advance(ttf_parser::GlyphId(g)).unwrap_or(0) as f64);
            codes.insert(c, (code, advance));
            let mut u = [0u16; 2];
            let hex: String = c.encode_utf16(&mut u).iter().map(|x| format!("{x:04X}")).collect();
            to_unicode.push_str(&format!("<{code:04X}> <{hex}>\n"));
        }
        to_unicode.push_str("endbfchar\n");
    }
    to_unicode.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    let mut h = Sha256::new();
    h.update(FACE.as_bytes());
    for c in chars {
        h.update((*c as u32).to_be_bytes());
    }
    let tag: String = h.finalize()[..6].iter().map(|b| (b'A' + b % 26) as char).collect();
    let bb = face.global_bounding_box();
    Ok(Parts {
        base_font: format!("{tag}+{FACE}"),
        program,
        cid_to_gid,
        to_unicode: to_unicode.into_bytes(),
        codes,
        bbox: [bb.x_min, bb.y_min, bb.x_max, bb.y_max].map(|v| milli(v as f64)),
        ascent: milli(face.ascender() as f64),
        descent: milli(face.descender() as f64),
        cap_height: milli(face.capital_height().unwrap_or(face.ascender()) as f64),
    })
}

fn compressed(dict: Dictionary, data: &[u8]) -> Object {
    let mut s = Stream::new(dict, miniz_oxide::deflate::compress_to_vec_zlib(data, 6));
    s.dict.set("Filter", Object::Name(b"FlateDecode".to_vec()));
    Object::Stream(s)
}

fn name(n: &str) -> Object {
    Object::Name(n.as_bytes().to_vec())
}

fn real(v: f64) -> Object {
    if v.fract() == 0.0 && v.abs() < 1e9 {
        Object::Integer(v as i64)
    } else {
        Object::Real(v as f32)
    }
}

impl LayerFont {
    /// Add to `doc` the font for a layer showing `words` (every word of every page it will serve).
    pub fn add<'a>(doc: &mut Document, words: impl IntoIterator<Item = &'a Word>) -> Result<LayerFont, LayerError> {
        let chars: BTreeSet<char> = words.into_iter().flat_map(|w| w.text.chars()).collect();
        let p = parts(&chars)?;
        let mut file = Dictionary::new();
        file.set("Length1", Object::Integer(p.program.len() as i64));
        let file = doc.add_object(compressed(file, &p.program));
        let map = doc.add_object(compressed(Dictionary::new(), &p.cid_to_gid));
        let tu = doc.add_object(compressed(Dictionary::new(), &p.to_unicode));
        let mut fd = Dictionary::new();
        fd.set("Type", name("FontDescriptor"));
        fd.set("FontName", name(&p.base_font));
        fd.set("Flags", Object::Integer(4));
        fd.set("FontBBox", Object::Array(p.bbox.iter().map(|&v| real(v)).collect()));
        fd.set("ItalicAngle", Object::Integer(0));
        fd.set("Ascent", real(p.ascent));
        fd.set("Descent", real(p.descent));
        fd.set("CapHeight", real(p.cap_height));
        fd.set("StemV", Object::Integer(80));
        fd.set("FontFile2", Object::Reference(file));
        let fd = doc.add_object(Object::Dictionary(fd));
        let mut info = Dictionary::new();
        info.set("Registry", Object::String(b"Adobe".to_vec(), StringFormat::Literal));
        info.set("Ordering", Object::String(b"Identity".to_vec(), StringFormat::Literal));
        info.set("Supplement", Object::Integer(0));
        let mut widths: Vec<(u16, f64)> = p.codes.values().copied().collect();
        widths.sort_by_key(|w| w.0);
        let mut cid = Dictionary::new();
        cid.set("Type", name("Font"));
        cid.set("Subtype", name("CIDFontType2"));
        cid.set("BaseFont", name(&p.base_font));
        cid.set("CIDSystemInfo", Object::Dictionary(info));
        cid.set("FontDescriptor", Object::Reference(fd));
        cid.set("DW", Object::Integer(0));
        cid.set(
            "W",
            Object::Array(vec![Object::Integer(1), Object::Array(widths.iter().map(|w| real(w.1)).collect())]),
        );
        cid.set("CIDToGIDMap", Object::Reference(map));
        let cid = doc.add_object(Object::Dictionary(cid));
        let mut t0 = Dictionary::new();
        t0.set("Type", name("Font"));
        t0.set("Subtype", name("Type0"));
        t0.set("BaseFont", name(&p.base_font));
        t0.set("Encoding", name("Identity-H"));
        t0.set("DescendantFonts", Object::Array(vec![Object::Reference(cid)]));
        t0.set("ToUnicode", Object::Reference(tu));
        let id = doc.add_object(Object::Dictionary(t0));
        Ok(LayerFont { id, codes: p.codes })
    }

    /// A word as a hex string of its codes, and its advance (thousandths of an em); `None` for a
    /// word with a character the font was not made for.
    fn encode(&self, text: &str) -> Option<(String, f64)> {
        let mut hex = String::with_capacity(2 + 4 * text.len());
        let mut advance = 0.0;
        hex.push('<');
        for c in text.chars() {
            let (code, w) = self.codes.get(&c)?;
            hex.push_str(&format!("{code:04X}"));
            advance += w;
        }
        hex.push('>');
        Some((hex, advance))
    }
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

/// The content that draws `words` invisibly in `font`, named `res` in the page's resources (also
/// used by tests to check the operators).
///
/// The words of one OCR line share one font size and one baseline (the medians over its words
/// with a letter or digit), and are written upright along the direction of the line's first
/// word: a reader's text extraction (pdftotext) then keeps each line together, where words at
/// their own heights (a capital, a descender, a dash read as a sliver, a page scanned askew)
/// would be split into many lines. Each word is fitted to its own width.
pub fn layer_content(res: &str, font: &LayerFont, words: &[&Word]) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(b"q BT 3 Tr\n");
    let mut start = 0;
    while start < words.len() {
        let key = |w: &Word| (w.image, w.block, w.par, w.line);
        let k = key(words[start]);
        let end = start + words[start..].iter().take_while(|w| key(w) == k).count();
        line_content(&mut s, res, font, &words[start..end]);
        start = end;
    }
    s.extend_from_slice(b"ET Q\n");
    s
}

fn line_content(s: &mut Vec<u8>, res: &str, font: &LayerFont, line: &[&Word]) {
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
        let Some((hex, advance)) = font.encode(&w.text) else { continue };
        let width = w.quad.width();
        if advance <= 0.0 || width <= 0.0 {
            continue;
        }
        let tz = 100.0 * width / (advance / 1000.0 * size);
        let along = w.quad.origin.0 * ux + w.quad.origin.1 * uy;
        let (ox, oy) = (ux * along + vx * base, uy * along + vy * base);
        s.extend_from_slice(
            format!(
                "/{res} {} Tf {} Tz {} {} {} {} {} {} Tm {hex} Tj\n",
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
    }
}

fn resolve<'a>(doc: &'a Document, o: &'a Object) -> Option<&'a Dictionary> {
    match o {
        Object::Reference(r) => doc.get_dictionary(*r).ok(),
        Object::Dictionary(d) => Some(d),
        _ => None,
    }
}

/// Add an invisible text layer of `words` in `font` to the page `page`: the font goes in the
/// page's resources (copied onto the page, so pages that shared them are untouched), and a
/// content stream is drawn after the page's own content, which is wrapped in `q`/`Q` so that its
/// graphics state cannot move the layer. A page with no word to show is left as it is.
pub fn add_text_layer(doc: &mut Document, page: ObjectId, font: &LayerFont, words: &[&Word]) -> Result<(), LayerError> {
    if words.is_empty() {
        return Ok(());
    }
    let bad = |e: lopdf::Error| LayerError::Page(e.to_string());
    // The resources in force (the page's own or inherited), copied.
    let mut res: Dictionary = {
        let (own, inherited) = doc.get_page_resources(page).map_err(bad)?;
        match own {
            Some(d) => d.clone(),
            None => inherited.first().and_then(|id| doc.get_dictionary(*id).ok()).cloned().unwrap_or_default(),
        }
    };
    let mut fonts: Dictionary = res.get(b"Font").ok().and_then(|f| resolve(doc, f)).cloned().unwrap_or_default();
    let mut res_name = String::from("OcrLayer");
    let mut k = 0;
    while fonts.has(res_name.as_bytes()) {
        k += 1;
        res_name = format!("OcrLayer{k}");
    }
    fonts.set(res_name.as_bytes(), Object::Reference(font.id));
    res.set("Font", Object::Dictionary(fonts));

    let before = doc.add_object(Object::Stream(Stream::new(Dictionary::new(), b"q\n".to_vec())));
    let mut body = b"Q\n".to_vec();
    body.extend(layer_content(&res_name, font, words));
    let after = doc.add_object(Object::Stream(Stream::new(Dictionary::new(), body)));
    let page_dict = doc.get_dictionary_mut(page).map_err(bad)?;
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
    let page_dict = doc.get_dictionary_mut(page).map_err(bad)?;
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

    fn font_for(words: &[&Word]) -> (Document, LayerFont) {
        let mut doc = Document::with_version("1.7");
        let f = LayerFont::add(&mut doc, words.iter().copied()).unwrap();
        (doc, f)
    }

    fn stream(doc: &Document, o: &Object) -> Vec<u8> {
        let Object::Reference(r) = o else { panic!("a reference") };
        let Ok(Object::Stream(s)) = doc.get_object(*r) else { panic!("a stream") };
        s.decompressed_content().unwrap()
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
        let mut b = word("next", 10.0, 20.0);
        b.line = 2;
        b.quad.origin.1 = 80.0;
        let (_, f) = font_for(&[&a, &dash, &date, &police, &b]);
        let c = String::from_utf8_lossy(&layer_content("F", &f, &[&a, &dash, &date, &police])).into_owned();
        let tms: Vec<&str> = c.lines().filter(|l| l.contains(" Tm ")).collect();
        assert_eq!(tms.len(), 4, "{c}");
        for l in &tms {
            assert!(l.starts_with("/F 13.333 Tf "), "{l}");
            assert!(l.contains(" 1 0 0 1 ") && l.contains(" 100 Tm"), "{l}");
        }
        // On another line, its own baseline.
        let c = String::from_utf8_lossy(&layer_content("F", &f, &[&a, &b])).into_owned();
        assert!(c.contains(" 10 80 Tm <"), "{c}");
    }

    #[test]
    fn words_are_invisible_and_fitted_to_their_boxes_by_the_fonts_advances() {
        let a = word("Dear", 10.0, 24.0);
        let (_, f) = font_for(&[&a]);
        let c = String::from_utf8_lossy(&layer_content("F", &f, &[&a])).into_owned();
        assert!(c.starts_with("q BT 3 Tr\n"), "{c}");
        // A 10 pt box is type of 13.333 pt (the box is 0.75 em). Liberation Sans has Arial's
        // advances: D 722, e 556, a 556, r 333 thousandths, 2.167 em in all, 28.893 pt at that
        // size; the box is 24: Tz = 100 * 24 / 28.893 = 83.064. The baseline is the box's bottom.
        // Codes are given in character order: D, a, e, r.
        assert!(c.contains("/F 13.333 Tf 83.064 Tz 1 0 0 1 10 100 Tm <0001000300020004> Tj"), "{c}");
    }

    #[test]
    fn the_font_is_an_embedded_subset_that_maps_every_code_back_to_its_character() {
        // A character Liberation Sans has outside WinAnsi (Ł), one it lacks (一), parentheses.
        let a = word("(\u{141}\u{f3}d\u{17a})", 10.0, 40.0);
        let b = word("\u{4e00}?", 60.0, 20.0);
        let (doc, f) = font_for(&[&a, &b]);
        let t0 = doc.get_dictionary(f.id).unwrap();
        assert_eq!(t0.get(b"Encoding").unwrap().as_name().unwrap(), b"Identity-H");
        let base = t0.get(b"BaseFont").unwrap().as_name().unwrap().to_vec();
        assert!(base.ends_with(b"+LiberationSans") && base.len() == 7 + FACE.len(), "{base:?}");
        let cmap = String::from_utf8(stream(&doc, t0.get(b"ToUnicode").unwrap())).unwrap();
        let Object::Array(d) = t0.get(b"DescendantFonts").unwrap() else { panic!() };
        let cid = doc.get_dictionary(d[0].as_reference().unwrap()).unwrap();
        let fd = doc.get_dictionary(cid.get(b"FontDescriptor").unwrap().as_reference().unwrap()).unwrap();
        let program = stream(&doc, fd.get(b"FontFile2").unwrap());
        let face = ttf_parser::Face::parse(&program, 0).expect("the subset parses");
        let map = stream(&doc, cid.get(b"CIDToGIDMap").unwrap());
        let Object::Array(w) = cid.get(b"W").unwrap() else { panic!() };
        let Object::Array(widths) = &w[1] else { panic!() };
        let chars: Vec<char> = "()?d\u{f3}\u{141}\u{17a}\u{4e00}".chars().collect();
        let gid = |code: usize| u16::from_be_bytes([map[2 * code], map[2 * code + 1]]);
        assert_eq!(map.len(), 2 * (chars.len() + 1));
        assert_eq!(widths.len(), chars.len());
        for (i, c) in chars.iter().enumerate() {
            let code = i + 1;
            let mut u = [0u16; 2];
            let hex: String = c.encode_utf16(&mut u).iter().map(|x| format!("{x:04X}")).collect();
            assert!(cmap.contains(&format!("<{code:04X}> <{hex}>")), "{c}: {cmap}");
            // Every code shows a real glyph (never .notdef) whose advance is its width in /W.
            let g = gid(code);
            assert!(g > 0 && g < face.number_of_glyphs(), "{c}: glyph {g}");
            let adv =
                face.glyph_hor_advance(ttf_parser::GlyphId(g)).unwrap() as f64 * 1000.0 / face.units_per_em() as f64;
            let wv = match &widths[i] {
                Object::Integer(v) => *v as f64,
                Object::Real(v) => *v as f64,
                o => panic!("{o:?}"),
            };
            assert!((adv - wv).abs() <= 0.5, "{c}: {adv} against {wv}");
        }
        // The character the font lacks is drawn with the glyph of '?', under its own code.
        assert_eq!(gid(8), gid(3));
        assert_ne!(gid(6), gid(3));
        // The subset holds only what is shown: .notdef, seven glyphs and the parts of accented
        // letters made of other glyphs.
        assert!((8..16).contains(&face.number_of_glyphs()), "{}", face.number_of_glyphs());
        let c = String::from_utf8_lossy(&layer_content("F", &f, &[&b])).into_owned();
        assert!(c.contains(" Tm <00080003> Tj"), "{c}");
    }

    #[test]
    fn the_same_words_give_the_same_bytes() {
        let a = word("Dear", 10.0, 24.0);
        let b = word("Ms\u{e9}", 40.0, 24.0);
        let save = |words: &[&Word]| {
            let (mut doc, f) = font_for(words);
            doc.add_object(Object::Stream(Stream::new(Dictionary::new(), layer_content("F", &f, words))));
            let mut out = Vec::new();
            doc.save_to(&mut out).unwrap();
            out
        };
        assert_eq!(save(&[&a, &b]), save(&[&a, &b]));
        assert_ne!(save(&[&a, &b]), save(&[&a]));
    }
}
