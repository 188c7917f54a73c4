//! Attachments as another producer writes them (the bench family of issue 15, `disclose synth
//! --like-peer`): pages of typed lines in the standard 14 fonts without embedding, as ReportLab
//! writes a report (one `BT` per paragraph, `Tm` then `T*` between lines, no `/Widths`), in
//! WinAnsi (Helvetica, Helvetica-Bold, Courier) and MacRoman (Times-Roman) encodings, with some
//! paragraphs in an embedded Identity-H CID font (a subset of Liberation Sans with a ToUnicode
//! CMap). Every line names third parties of the family: names, numbers, addresses, dates of birth.
//! Deterministic: the same family and sizes give the same bytes.

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use std::collections::BTreeMap;

/// The CID font's program (SIL OFL 1.1, the copy vendored for `pdf::fonts_embed`).
static SANS: &[u8] = include_bytes!("../pdf/fonts/LiberationSans-Regular.ttf");

/// What the attachments say about one person of the family.
#[derive(Clone, Debug)]
pub struct Person {
    pub given: String,
    pub family: String,
    pub dob: String,
    pub phone: Option<String>,
    pub nhs: String,
    pub address: Option<(String, String)>,
}

/// The people of a family document (`super::family`), in order.
pub fn people(v: &serde_json::Value) -> Vec<Person> {
    let addresses: BTreeMap<&str, (String, String)> = v["addresses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            let line = a["lines"][0].as_str().unwrap_or_default().to_string();
            (a["id"].as_str().unwrap_or_default(), (line, a["postcode"].as_str().unwrap_or_default().to_string()))
        })
        .collect();
    v["persons"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| Person {
            given: p["names"][0]["given"][0].as_str().unwrap_or_default().to_string(),
            family: p["names"][0]["family"].as_str().unwrap_or_default().to_string(),
            dob: p["date_of_birth"]["date"].as_str().unwrap_or_default().to_string(),
            phone: p["contact_points"][0]["value"].as_str().map(str::to_string),
            nhs: p["identifiers"][0]["value"].as_str().unwrap_or_default().to_string(),
            address: p["residences"][0]["address"].as_str().and_then(|a| addresses.get(a)).cloned(),
        })
        .collect()
}

/// One typed line and the font it is set in.
#[derive(Clone, Copy, PartialEq)]
enum Face {
    /// F1 Helvetica, WinAnsiEncoding
    Sans,
    /// F2 Helvetica-Bold, WinAnsiEncoding
    Bold,
    /// F3 Times-Roman, MacRomanEncoding
    Serif,
    /// F4 Courier, WinAnsiEncoding
    Mono,
    /// F5 the embedded Identity-H CID font
    Cid,
}

impl Face {
    fn res(self) -> &'static str {
        match self {
            Face::Sans => "F1",
            Face::Bold => "F2",
            Face::Serif => "F3",
            Face::Mono => "F4",
            Face::Cid => "F5",
        }
    }
}

const PLACES: &[&str] = &["the police station", "the school gate", "the contact centre", "the GP surgery", "the park"];
const VERBS: &[&str] = &["told the officer", "confirmed", "said in interview", "reported", "wrote in a text message"];

/// The paragraphs of page `p` of attachment `i`: each a face and its lines.
fn page_text(i: usize, p: usize, people: &[Person]) -> Vec<(Face, Vec<String>)> {
    let third: Vec<&Person> = people.iter().skip(6).collect();
    let child = &people[0];
    let who = |k: usize| third[(i * 7 + p * 13 + k) % third.len()];
    let mut out = Vec::new();
    out.push((Face::Bold, vec![format!("Statement {}-{} \u{2013} page {}", i + 1, p + 1, p + 1)]));
    for k in 0..14 {
        let a = who(3 * k);
        let b = who(3 * k + 1);
        let c = who(3 * k + 2);
        let (line, post) = a.address.clone().unwrap_or_default();
        let para = match k % 5 {
            0 => (
                Face::Sans,
                vec![
                    format!(
                        "{} {} (born {}) of {}, {} {} that {} {} was with {} at {}.",
                        a.given,
                        a.family,
                        a.dob,
                        line,
                        post,
                        VERBS[(i + k) % VERBS.len()],
                        b.given,
                        b.family,
                        child.given,
                        PLACES[(p + k) % PLACES.len()]
                    ),
                    format!(
                        "{} gave her number as {}; {} {} can be reached on {}.",
                        a.given,
                        a.phone.as_deref().unwrap_or("the office line"),
                        c.given,
                        c.family,
                        c.phone.as_deref().unwrap_or("the office line")
                    ),
                ],
            ),
            1 => (
                Face::Serif,
                vec![
                    format!(
                        "\u{201c}I saw {} {} and {} {} outside the caf\u{e9} on the {}th,\u{201d} {} said.",
                        b.given,
                        b.family,
                        c.given,
                        c.family,
                        10 + (i + p + k) % 18,
                        a.given
                    ),
                    format!("{}\u{2019}s account was read back to {} {} at {}.", a.family, c.given, c.family, line),
                ],
            ),
            2 => (
                Face::Mono,
                [a, b, c]
                    .iter()
                    .map(|x| {
                        format!(
                            "{:<10} {:<11} {}  NHS {}  {}",
                            x.given,
                            x.family,
                            x.dob,
                            x.nhs,
                            x.phone.as_deref().unwrap_or("-")
                        )
                    })
                    .collect(),
            ),
            3 => (
                Face::Cid,
                vec![
                    format!(
                        "Checks on {} {}, {} {} and {} {} were made with the police national computer.",
                        a.given, a.family, b.given, b.family, c.given, c.family
                    ),
                    format!("{} {} lives at {}, {}, with {} {}.", a.given, a.family, line, post, b.given, b.family),
                ],
            ),
            _ => (
                Face::Sans,
                vec![
                    format!(
                        "{} {} and {} {} were present when {} was collected by {} {}.",
                        b.given, b.family, c.given, c.family, child.given, a.given, a.family
                    ),
                    format!("The officer spoke to {} {} again on {} about {}.", c.given, c.family, c.dob, line),
                ],
            ),
        };
        let width = match para.0 {
            Face::Mono => 76,
            Face::Serif => 92,
            _ => 84,
        };
        out.push((para.0, para.1.iter().flat_map(|l| wrap(l, width)).collect()));
    }
    out
}

/// Break a line at spaces into lines of at most `width` characters (a longer word stays whole).
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for w in s.split(' ') {
        if !cur.is_empty() && cur.chars().count() + 1 + w.chars().count() > width {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(w);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Characters to codes of a simple font's encoding (by its glyph names; the lowest code wins).
fn codes_of(encoding: &[u8]) -> BTreeMap<char, u8> {
    let table = crate::pdf::core::font::encoding_table(encoding).expect("a standard encoding");
    let mut map = BTreeMap::new();
    for (code, n) in table.iter().enumerate().rev() {
        if let Some(c) = crate::pdf::core::font::glyph_to_unicode(n).and_then(|u| u.chars().next()) {
            map.insert(c, code as u8);
        }
    }
    map
}

/// A text in a simple font's encoding, '?' for a character it has no code for.
fn encode(map: &BTreeMap<char, u8>, s: &str) -> Vec<u8> {
    s.chars().map(|c| map.get(&c).copied().unwrap_or(b'?')).collect()
}

fn literal(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![b'('];
    for &b in bytes {
        if matches!(b, b'(' | b')' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b')');
    out
}

/// The embedded CID font: glyph ids of the subset by character, with the subset's program.
struct CidFont {
    cid: BTreeMap<char, u16>,
    widths: Vec<f32>,
    program: Vec<u8>,
    ascent: f32,
    descent: f32,
    bbox: [f32; 4],
}

fn cid_font(chars: &std::collections::BTreeSet<char>) -> Option<CidFont> {
    let face = ttf_parser::Face::parse(SANS, 0).ok()?;
    let mut gids: Vec<u16> = vec![0];
    let mut by_char = Vec::new();
    for &c in chars {
        if let Some(g) = face.glyph_index(c) {
            gids.push(g.0);
            by_char.push((c, g.0));
        }
    }
    gids.sort_unstable();
    gids.dedup();
    let remapper = subsetter::GlyphRemapper::new_from_glyphs_sorted(&gids);
    let program = subsetter::subset(SANS, 0, &remapper).ok()?;
    let upem = face.units_per_em() as f32;
    let cid = by_char.iter().filter_map(|(c, g)| remapper.get(*g).map(|n| (*c, n))).collect();
    let widths = remapper
        .remapped_gids()
        .map(|g| (face.glyph_hor_advance(ttf_parser::GlyphId(g)).unwrap_or(0) as f32 * 1000.0 / upem).round())
        .collect();
    let b = face.global_bounding_box();
    let s = 1000.0 / upem;
    Some(CidFont {
        cid,
        widths,
        program,
        ascent: face.ascender() as f32 * s,
        descent: face.descender() as f32 * s,
        bbox: [b.x_min as f32 * s, b.y_min as f32 * s, b.x_max as f32 * s, b.y_max as f32 * s],
    })
}

/// Attachment `i` of `pages` pages about the family `people` (at least 7 people).
pub fn attachment_pdf(i: usize, pages: usize, people: &[Person]) -> Vec<u8> {
    let texts: Vec<Vec<(Face, Vec<String>)>> = (0..pages).map(|p| page_text(i, p, people)).collect();
    let cid_chars: std::collections::BTreeSet<char> = texts
        .iter()
        .flatten()
        .filter(|(f, _)| *f == Face::Cid)
        .flat_map(|(_, ls)| ls.iter().flat_map(|l| l.chars()))
        .collect();
    let cf = cid_font(&cid_chars);
    let winansi = codes_of(b"WinAnsiEncoding");
    let macroman = codes_of(b"MacRomanEncoding");

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let info = Ref::new(3);
    let fonts: Vec<Ref> = (4..9).map(Ref::new).collect();
    let mut next = Ref::new(9);
    pdf.catalog(catalog).pages(tree);
    pdf.document_info(info).producer(TextStr("disclose synth (ReportLab-like)")).title(TextStr("Police disclosure"));
    for (r, base, enc) in [
        (fonts[0], &b"Helvetica"[..], &b"WinAnsiEncoding"[..]),
        (fonts[1], b"Helvetica-Bold", b"WinAnsiEncoding"),
        (fonts[2], b"Times-Roman", b"MacRomanEncoding"),
        (fonts[3], b"Courier", b"WinAnsiEncoding"),
    ] {
        pdf.type1_font(r).base_font(Name(base)).encoding_predefined(Name(enc));
    }
    if let Some(cf) = &cf {
        let (cid_ref, desc_ref, cmap_ref, file_ref) = (next.bump(), next.bump(), next.bump(), next.bump());
        let system_info = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };
        let base = Name(b"AAAAAA+LiberationSans");
        pdf.type0_font(fonts[4])
            .base_font(base)
            .encoding_predefined(Name(b"Identity-H"))
            .descendant_font(cid_ref)
            .to_unicode(cmap_ref);
        let mut f = pdf.cid_font(cid_ref);
        f.subtype(CidFontType::Type2)
            .base_font(base)
            .system_info(system_info)
            .font_descriptor(desc_ref)
            .default_width(0.0);
        f.cid_to_gid_map_predefined(Name(b"Identity"));
        f.widths().consecutive(0, cf.widths.iter().copied());
        f.finish();
        pdf.font_descriptor(desc_ref)
            .name(base)
            .flags(FontFlags::SYMBOLIC)
            .bbox(Rect::new(cf.bbox[0], cf.bbox[1], cf.bbox[2], cf.bbox[3]))
            .italic_angle(0.0)
            .ascent(cf.ascent)
            .descent(cf.descent)
            .cap_height(cf.ascent * 0.8)
            .stem_v(80.0)
            .font_file2(file_ref);
        let mut cmap = UnicodeCmap::new(Name(b"Custom"), system_info);
        for (c, g) in &cf.cid {
            cmap.pair(*g, *c);
        }
        pdf.cmap(cmap_ref, &cmap.finish());
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(&cf.program, 6);
        let mut s = pdf.stream(file_ref, &packed);
        s.filter(Filter::FlateDecode);
        s.pair(Name(b"Length1"), cf.program.len() as i32);
        s.finish();
    }
    let mut kids = Vec::new();
    for text in &texts {
        let page_ref = next.bump();
        let content_ref = next.bump();
        kids.push(page_ref);
        let mut c: Vec<u8> = Vec::new();
        let mut y = 770.0f32;
        for (face, lines) in text {
            let face = if *face == Face::Cid && cf.is_none() { Face::Sans } else { *face };
            let size = if face == Face::Bold { 12.0 } else { 10.0 };
            c.extend_from_slice(
                format!("BT 1 0 0 1 62.69291 {y:.4} Tm {} TL /{} {size} Tf 0 0 0 rg ", size + 2.0, face.res())
                    .as_bytes(),
            );
            for (k, l) in lines.iter().enumerate() {
                if k > 0 {
                    c.extend_from_slice(b"T* ");
                }
                let bytes = match face {
                    Face::Serif => literal(&encode(&macroman, l)),
                    Face::Cid => {
                        let cf = cf.as_ref().expect("cid font");
                        let hex: String =
                            l.chars().map(|ch| format!("{:04X}", cf.cid.get(&ch).copied().unwrap_or(0))).collect();
                        format!("<{hex}>").into_bytes()
                    }
                    _ => literal(&encode(&winansi, l)),
                };
                c.extend_from_slice(&bytes);
                c.extend_from_slice(b" Tj ");
                y -= size + 2.0;
            }
            c.extend_from_slice(b"ET\n");
            y -= 8.0;
        }
        let packed = miniz_oxide::deflate::compress_to_vec_zlib(&c, 6);
        pdf.stream(content_ref, &packed).filter(Filter::FlateDecode);
        let mut page = pdf.page(page_ref);
        page.parent(tree).media_box(Rect::new(0.0, 0.0, 595.2756, 841.8898)).contents(content_ref);
        let mut res = page.resources();
        let mut fd = res.fonts();
        for (k, r) in fonts.iter().enumerate().take(if cf.is_some() { 5 } else { 4 }) {
            fd.pair(Name(format!("F{}", k + 1).as_bytes()), *r);
        }
        fd.finish();
        res.finish();
        page.finish();
    }
    pdf.pages(tree).kids(kids.iter().copied()).count(kids.len() as i32);
    pdf.finish()
}
