//! Replacing an attachment's unembedded simple font (a standard 14 font such as Helvetica, or any
//! Type 1 or TrueType font that was never embedded) with an embedded, metric-compatible Liberation
//! font (SIL OFL 1.1, vendored in `src/pdf/fonts/` with its licence): a PDF/A bundle embeds every
//! font. Liberation Sans, Serif and Mono have the advances of Helvetica (Arial), Times and Courier,
//! and the font's own `/Widths` are kept where it has them, so no glyph moves.
//!
//! The replacement is a symbolic TrueType font subset to the codes its encoding maps (at most 256
//! glyphs) with one (1,0) `cmap` from byte code to glyph, so the content streams are not touched;
//! a `/ToUnicode` CMap keeps the text readable (copy, search, screen readers, the leak check).
//! Symbol and ZapfDingbats have no Liberation counterpart and are left as they are.
//! This module owns nothing of the redaction: it runs on pages already redacted and verified.

use lopdf::{Dictionary, Document, Object};
use sha2::{Digest, Sha256};

macro_rules! face {
    ($f:literal) => {
        include_bytes!(concat!("fonts/Liberation", $f, ".ttf"))
    };
}

/// [family][bold][italic]
static FACES: [[[&[u8]; 2]; 2]; 3] = [
    [[face!("Sans-Regular"), face!("Sans-Italic")], [face!("Sans-Bold"), face!("Sans-BoldItalic")]],
    [[face!("Serif-Regular"), face!("Serif-Italic")], [face!("Serif-Bold"), face!("Serif-BoldItalic")]],
    [[face!("Mono-Regular"), face!("Mono-Italic")], [face!("Mono-Bold"), face!("Mono-BoldItalic")]],
];
const FAMILY: [&str; 3] = ["LiberationSans", "LiberationSerif", "LiberationMono"];

/// Liberation Sans Regular, the font of the invisible text layer over read scans
/// (`crate::ocr::layer`), shared so that its bytes are compiled in once.
pub(crate) fn liberation_sans() -> &'static [u8] {
    FACES[0][0][0]
}

/// An embedded font to write in place of an unembedded one.
pub struct Replacement {
    /// `/BaseFont`, with a subset tag: `ABCDEF+LiberationSans-Bold`.
    pub base_font: String,
    pub first_char: u8,
    /// `/Widths` from `first_char` on (thousandths of an em).
    pub widths: Vec<f32>,
    pub flags: u32,
    pub bbox: [f32; 4],
    pub italic_angle: f32,
    pub ascent: f32,
    pub descent: f32,
    pub cap_height: f32,
    pub stem_v: f32,
    /// The TrueType program (`/FontFile2`), uncompressed.
    pub program: Vec<u8>,
    /// The `/ToUnicode` CMap.
    pub to_unicode: Vec<u8>,
}

fn deref<'a>(doc: &'a Document, o: &'a Object) -> &'a Object {
    match o {
        Object::Reference(r) => doc.get_object(*r).unwrap_or(o),
        _ => o,
    }
}

fn name_of<'a>(doc: &'a Document, d: &'a Dictionary, k: &[u8]) -> Option<&'a [u8]> {
    d.get(k).ok().map(|o| deref(doc, o)).and_then(|o| o.as_name().ok())
}

fn num(o: &Object) -> Option<f32> {
    match o {
        Object::Integer(i) => Some(*i as f32),
        Object::Real(r) => Some(*r),
        _ => None,
    }
}

/// Whether a font dictionary is a simple font with no embedded program.
fn unembedded(doc: &Document, font: &Dictionary) -> bool {
    if name_of(doc, font, b"Type") != Some(b"Font") {
        return false;
    }
    if !matches!(name_of(doc, font, b"Subtype"), Some(b"Type1" | b"TrueType" | b"MMType1")) {
        return false;
    }
    let Some(fd) = font.get(b"FontDescriptor").ok().map(|o| deref(doc, o)).and_then(|o| o.as_dict().ok()) else {
        return true;
    };
    !(fd.has(b"FontFile") || fd.has(b"FontFile2") || fd.has(b"FontFile3"))
}

/// Which Liberation face stands in for a font: by its name (Helvetica, Arial, Times, Courier, ...)
/// and descriptor flags; none for the symbol fonts.
fn pick(doc: &Document, font: &Dictionary) -> Option<(usize, bool, bool)> {
    let raw = name_of(doc, font, b"BaseFont").unwrap_or(b"Helvetica");
    let name = String::from_utf8_lossy(raw).to_string();
    let name = name.split_once('+').map(|(_, n)| n.to_string()).unwrap_or(name);
    let lower = name.to_ascii_lowercase();
    if lower.contains("symbol") || lower.contains("dingbat") || lower.contains("wingding") {
        return None;
    }
    let flags = font
        .get(b"FontDescriptor")
        .ok()
        .map(|o| deref(doc, o))
        .and_then(|o| o.as_dict().ok())
        .and_then(|fd| fd.get(b"Flags").ok())
        .and_then(num)
        .unwrap_or(0.0) as u32;
    let family = if lower.contains("courier") || lower.contains("mono") || flags & 1 != 0 {
        2
    } else if lower.contains("times") || lower.contains("serif") && !lower.contains("sans") || flags & 2 != 0 {
        1
    } else {
        0
    };
    let bold = ["bold", "black", "heavy", "semibold"].iter().any(|w| lower.contains(w)) || flags & (1 << 18) != 0;
    let italic = lower.contains("italic") || lower.contains("oblique") || flags & 64 != 0;
    Some((family, bold, italic))
}

/// The glyph name of each code: the base encoding (WinAnsi, MacRoman or Standard, StandardEncoding
/// when none is named) with the `/Differences`.
fn code_names(doc: &Document, font: &Dictionary) -> Vec<Option<String>> {
    let enc = font.get(b"Encoding").ok().map(|o| deref(doc, o));
    let (base, diffs) = match enc {
        Some(Object::Name(n)) => (n.as_slice(), None),
        Some(Object::Dictionary(d)) => (
            name_of(doc, d, b"BaseEncoding").unwrap_or(b"StandardEncoding"),
            d.get(b"Differences").ok().map(|o| deref(doc, o)).and_then(|o| o.as_array().ok()),
        ),
        _ => (&b"StandardEncoding"[..], None),
    };
    let table =
        super::core::font::encoding_table(base).or_else(|| super::core::font::encoding_table(b"StandardEncoding"));
    let mut names: Vec<Option<String>> = (0..256)
        .map(|c| table.map(|t| t[c]).filter(|n| !n.is_empty() && *n != ".notdef").map(str::to_string))
        .collect();
    if let Some(d) = diffs {
        let mut code = 0usize;
        for o in d {
            match deref(doc, o) {
                Object::Integer(i) => code = (*i).clamp(0, 255) as usize,
                Object::Name(n) => {
                    if code < 256 {
                        names[code] = Some(String::from_utf8_lossy(n).to_string());
                    }
                    code += 1;
                }
                _ => {}
            }
        }
    }
    names
}

/// The replacement for a font dictionary of an attachment, if it needs one.
pub fn replacement(doc: &Document, font: &Dictionary) -> Option<Replacement> {
    if !unembedded(doc, font) {
        return None;
    }
    let (family, bold, italic) = pick(doc, font)?;
    let data = FACES[family][bold as usize][italic as usize];
    let face = ttf_parser::Face::parse(data, 0).ok()?;
    let upem = face.units_per_em() as f32;
    let milli = |v: f32| (v * 1000.0 / upem).round();
    // Each code's character and glyph in the face.
    let names = code_names(doc, font);
    let mut map: Vec<(u8, char, u16)> = Vec::new();
    for (code, n) in names.iter().enumerate() {
        let Some(n) = n else { continue };
        let Some(u) = super::core::font::glyph_to_unicode(n) else { continue };
        let mut cs = u.chars();
        let (Some(c), None) = (cs.next(), cs.next()) else { continue };
        if let Some(g) = face.glyph_index(c) {
            map.push((code as u8, c, g.0));
        }
    }
    if map.is_empty() {
        return None;
    }
    let mut gids: Vec<u16> = map.iter().map(|m| m.2).collect();
    gids.push(0);
    gids.sort_unstable();
    gids.dedup();
    let remapper = subsetter::GlyphRemapper::new_from_glyphs_sorted(&gids);
    let subset = subsetter::subset(data, 0, &remapper).ok()?;
    let mut cmap = [0u8; 256];
    for (code, _, g) in &map {
        cmap[*code as usize] = remapper.get(*g).and_then(|n| u8::try_from(n).ok()).unwrap_or(0);
    }
    let program = with_cmap(&subset, &cmap)?;
    // Widths: the font's own where it has them (so nothing moves), else the face's advances.
    let first = map.iter().map(|m| m.0).min().unwrap_or(0);
    let last = map.iter().map(|m| m.0).max().unwrap_or(0);
    let own_first = font.get(b"FirstChar").ok().and_then(num).map(|f| f as i64);
    let own: Option<Vec<f32>> = font
        .get(b"Widths")
        .ok()
        .map(|o| deref(doc, o))
        .and_then(|o| o.as_array().ok())
        .map(|a| a.iter().map(|w| num(deref(doc, w)).unwrap_or(0.0)).collect());
    let widths: Vec<f32> = (first..=last)
        .map(|code| {
            if let (Some(f), Some(w)) = (own_first, &own) {
                let i = code as i64 - f;
                if i >= 0 {
                    if let Some(v) = w.get(i as usize) {
                        return *v;
                    }
                }
            }
            map.iter()
                .find(|m| m.0 == code)
                .and_then(|m| face.glyph_hor_advance(ttf_parser::GlyphId(m.2)))
                .map(|a| milli(a as f32))
                .unwrap_or(0.0)
        })
        .collect();
    let bb = face.global_bounding_box();
    let flags = 4 | if family == 2 { 1 } else { 0 } | if family == 1 { 2 } else { 0 } | if italic { 64 } else { 0 };
    let face_name = format!(
        "{}{}",
        FAMILY[family],
        match (bold, italic) {
            (false, false) => "",
            (true, false) => "-Bold",
            (false, true) => "-Italic",
            (true, true) => "-BoldItalic",
        }
    );
    let mut h = Sha256::new();
    h.update(face_name.as_bytes());
    for (code, c, _) in &map {
        h.update([*code]);
        h.update((*c as u32).to_be_bytes());
    }
    let tag: String = h.finalize()[..6].iter().map(|b| (b'A' + b % 26) as char).collect();
    let mut to_unicode = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<00> <FF>\nendcodespacerange\n",
    );
    for chunk in map.chunks(100) {
        to_unicode.push_str(&format!("{} beginbfchar\n", chunk.len()));
        for (code, c, _) in chunk {
            let mut u = [0u16; 2];
            let hex: String = c.encode_utf16(&mut u).iter().map(|x| format!("{x:04X}")).collect();
            to_unicode.push_str(&format!("<{code:02X}> <{hex}>\n"));
        }
        to_unicode.push_str("endbfchar\n");
    }
    to_unicode.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    Some(Replacement {
        base_font: format!("{tag}+{face_name}"),
        first_char: first,
        widths,
        flags,
        bbox: [milli(bb.x_min as f32), milli(bb.y_min as f32), milli(bb.x_max as f32), milli(bb.y_max as f32)],
        italic_angle: face.italic_angle(),
        ascent: milli(face.ascender() as f32),
        descent: milli(face.descender() as f32),
        cap_height: milli(face.capital_height().unwrap_or(face.ascender()) as f32),
        stem_v: if bold { 120.0 } else { 80.0 },
        program,
        to_unicode: to_unicode.into_bytes(),
    })
}

/// A TrueType program with its `cmap` replaced by one (1,0) format 0 table (byte code to glyph).
fn with_cmap(font: &[u8], codes: &[u8; 256]) -> Option<Vec<u8>> {
    let be16 = |o: usize| -> Option<u16> { Some(u16::from_be_bytes(font.get(o..o + 2)?.try_into().ok()?)) };
    let be32 = |o: usize| -> Option<u32> { Some(u32::from_be_bytes(font.get(o..o + 4)?.try_into().ok()?)) };
    let n = be16(4)? as usize;
    let mut tables: Vec<([u8; 4], Vec<u8>)> = Vec::new();
    for i in 0..n {
        let rec = 12 + 16 * i;
        let tag: [u8; 4] = font.get(rec..rec + 4)?.try_into().ok()?;
        let (off, len) = (be32(rec + 8)? as usize, be32(rec + 12)? as usize);
        if &tag != b"cmap" {
            tables.push((tag, font.get(off..off + len)?.to_vec()));
        }
    }
    let mut cmap = Vec::with_capacity(262 + 12);
    cmap.extend_from_slice(&[0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 12]);
    cmap.extend_from_slice(&[0, 0, 1, 6, 0, 0]);
    cmap.extend_from_slice(codes);
    tables.push((*b"cmap", cmap));
    tables.sort_by_key(|t| t.0);
    let n = tables.len() as u16;
    let mut p2 = 1u16;
    let mut log = 0u16;
    while p2 * 2 <= n {
        p2 *= 2;
        log += 1;
    }
    let mut out = Vec::new();
    out.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(&(p2 * 16).to_be_bytes());
    out.extend_from_slice(&log.to_be_bytes());
    out.extend_from_slice(&(n * 16 - p2 * 16).to_be_bytes());
    let checksum = |d: &[u8]| -> u32 {
        d.chunks(4).fold(0u32, |s, c| {
            let mut w = [0u8; 4];
            w[..c.len()].copy_from_slice(c);
            s.wrapping_add(u32::from_be_bytes(w))
        })
    };
    let mut offset = 12 + 16 * tables.len();
    let mut head_at = None;
    for (tag, data) in &tables {
        if tag == b"head" {
            head_at = Some(offset);
        }
        out.extend_from_slice(tag);
        // head's checksum is taken with checkSumAdjustment as zero.
        let mut d = data.clone();
        if tag == b"head" && d.len() >= 12 {
            d[8..12].copy_from_slice(&[0; 4]);
        }
        out.extend_from_slice(&checksum(&d).to_be_bytes());
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        offset += data.len().div_ceil(4) * 4;
    }
    for (tag, data) in &tables {
        let start = out.len();
        out.extend_from_slice(data);
        if tag == b"head" && data.len() >= 12 {
            out[start + 8..start + 12].copy_from_slice(&[0; 4]);
        }
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    if let Some(h) = head_at {
        let adj = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
        out[h + 8..h + 12].copy_from_slice(&adj.to_be_bytes());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helvetica_becomes_an_embedded_liberation_sans_with_its_own_widths_and_text() {
        let doc = Document::with_version("1.4");
        let mut font = Dictionary::new();
        font.set("Type", Object::Name(b"Font".to_vec()));
        font.set("Subtype", Object::Name(b"Type1".to_vec()));
        font.set("BaseFont", Object::Name(b"Helvetica-Bold".to_vec()));
        font.set("Encoding", Object::Name(b"WinAnsiEncoding".to_vec()));
        let r = replacement(&doc, &font).expect("a replacement");
        assert!(r.base_font.ends_with("+LiberationSans-Bold"), "{}", r.base_font);
        assert_eq!(r.base_font.len(), "ABCDEF+LiberationSans-Bold".len());
        // Metric-compatible: Helvetica-Bold's "A" is 722 thousandths.
        let a = r.widths[(b'A' - r.first_char) as usize];
        assert!((a - 722.0).abs() <= 1.0, "{a}");
        let face = ttf_parser::Face::parse(&r.program, 0).expect("the program parses");
        let sub = face.tables().cmap.unwrap().subtables.into_iter().next().unwrap();
        assert!(sub.glyph_index(u32::from(b'A')).is_some_and(|g| g.0 > 0));
        let cmap = String::from_utf8(r.to_unicode).unwrap();
        assert!(cmap.contains("<41> <0041>"));
        // An embedded font, and the symbol fonts, are left alone.
        font.set("BaseFont", Object::Name(b"Symbol".to_vec()));
        assert!(replacement(&doc, &font).is_none());
    }
}
