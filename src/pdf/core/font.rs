//! Font decoding (codes -> Unicode) and metrics (codes -> widths).
//! Order: ToUnicode (lenient CMap parser) first, then /Encoding (+ /Differences, glyph list),
//! then UCS2 CMaps of CID fonts. Widths: /Widths + /FirstChar + /MissingWidth, /W + /DW,
//! base-14 AFM tables, Type3 /Widths x /FontMatrix.
//!
//! ToUnicode is what a text extractor reads, the glyph is what a person sees; they can disagree
//! (a hostile file maps the glyphs of a name to other letters). [`Font::contradicts`] checks a
//! ToUnicode entry against what the font itself says the glyph is: the glyph name the encoding
//! gives (Type1, CFF, Type3, TrueType with an encoding) or, for embedded TrueType/OpenType
//! programs, the Unicode values and `post` name the program's own tables give the glyph.
//! Only letters and digits are compared, case- and accent-blind (NFKD), so ligatures, quotes
//! and spaces written either way agree.

use std::sync::{Arc, Mutex, OnceLock};
use unicode_normalization::UnicodeNormalization;

use super::font_tables as t;
use lopdf::{Dictionary, Document, Object};
use std::collections::HashMap;

pub(crate) fn deref<'a>(doc: &'a Document, o: &'a Object) -> &'a Object {
    let mut cur = o;
    for _ in 0..16 {
        match cur {
            Object::Reference(id) => match doc.get_object(*id) {
                Ok(x) => cur = x,
                Err(_) => return &Object::Null,
            },
            _ => return cur,
        }
    }
    &Object::Null
}

pub(crate) fn dget<'a>(doc: &'a Document, d: &'a Dictionary, k: &[u8]) -> Option<&'a Object> {
    d.get(k).ok().map(|o| deref(doc, o)).filter(|o| !matches!(o, Object::Null))
}

pub(crate) fn as_dict(o: &Object) -> Option<&Dictionary> {
    match o {
        Object::Dictionary(d) => Some(d),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    }
}

pub(crate) fn num(o: &Object) -> Option<f64> {
    match o {
        Object::Integer(i) => Some(*i as f64),
        Object::Real(r) => Some(*r as f64),
        _ => None,
    }
}

pub(crate) fn name(o: &Object) -> Option<&[u8]> {
    match o {
        Object::Name(n) => Some(n),
        _ => None,
    }
}

/// A stream's decoded bytes, bounded by [`super::limits::MAX_STREAM`] (a loaded document was
/// checked against it already; this keeps the bound for documents built in memory).
pub(crate) fn stream_bytes(doc: &Document, o: &Object) -> Option<Vec<u8>> {
    match deref(doc, o) {
        Object::Stream(s) => {
            if s.dict.get(b"Filter").is_ok() {
                s.decompressed_content_with_limit(super::limits::MAX_STREAM).ok()
            } else {
                Some(s.content.clone())
            }
        }
        _ => None,
    }
}

#[cfg(test)]
thread_local! {
    /// Glyph-name look-ups made by this thread (names to Unicode, names to AFM widths): the
    /// tests check that they are made per font, never per glyph shown.
    static NAME_LOOKUPS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
pub(crate) fn name_lookups() -> usize {
    NAME_LOOKUPS.with(|c| c.get())
}

fn count_lookup() {
    #[cfg(test)]
    NAME_LOOKUPS.with(|c| c.set(c.get() + 1));
}

/// Glyph name -> Unicode (Adobe Glyph List subset, uniXXXX, uXXXX[XX], ligature components).
pub fn glyph_to_unicode(n: &str) -> Option<String> {
    count_lookup();
    if n.is_empty() || n == ".notdef" {
        return None;
    }
    if let Ok(i) = t::GLYPH_LIST.binary_search_by(|(k, _)| k.cmp(&n)) {
        return Some(t::GLYPH_LIST[i].1.to_string());
    }
    let base = n.split('.').next().unwrap_or("");
    if base.is_empty() {
        return None;
    }
    if base != n {
        return glyph_to_unicode(base);
    }
    // TeX extension-font size variants: parenleftbig, summationdisplay, braceleftmid, ...
    for suf in ["bigg", "Bigg", "big", "Big", "display", "text", "tp", "bt", "mid", "ex"] {
        if let Some(stem) = base.strip_suffix(suf) {
            if stem.len() > 2 {
                if let Ok(i) = t::GLYPH_LIST.binary_search_by(|(k, _)| k.cmp(&stem)) {
                    return Some(t::GLYPH_LIST[i].1.to_string());
                }
            }
        }
    }
    if base.contains('_') {
        let mut s = String::new();
        for part in base.split('_') {
            s.push_str(&glyph_to_unicode(part)?);
        }
        return Some(s);
    }
    if let Some(h) = base.strip_prefix("uni") {
        if h.len() >= 4 && h.len() % 4 == 0 && h.bytes().all(|c| c.is_ascii_hexdigit()) {
            let units: Vec<u16> =
                (0..h.len() / 4).map(|i| u16::from_str_radix(&h[i * 4..i * 4 + 4], 16).unwrap()).collect();
            return String::from_utf16(&units).ok().filter(|s| !s.is_empty());
        }
    }
    if let Some(h) = base.strip_prefix('u') {
        if (4..=6).contains(&h.len()) && h.bytes().all(|c| c.is_ascii_hexdigit()) {
            return u32::from_str_radix(h, 16).ok().and_then(char::from_u32).map(|c| c.to_string());
        }
    }
    None
}

pub(crate) fn encoding_table(n: &[u8]) -> Option<&'static [&'static str; 256]> {
    Some(match n {
        b"WinAnsiEncoding" => &t::WINANSI_ENCODING,
        b"MacRomanEncoding" => &t::MACROMAN_ENCODING,
        b"StandardEncoding" => &t::STANDARD_ENCODING,
        b"PDFDocEncoding" => &t::PDFDOC_ENCODING,
        b"MacExpertEncoding" => &t::STANDARD_ENCODING,
        _ => return None,
    })
}

/// Base-14 font lookup, with common aliases (Arial, TimesNewRoman, CourierNew).
pub fn base14(base_font: &str) -> Option<usize> {
    let bf = base_font.split('+').next_back().unwrap_or(base_font);
    let lower = bf.to_ascii_lowercase().replace([' ', '-', ','], "");
    let bold = lower.contains("bold") || lower.contains("black") || lower.contains("heavy");
    let ital = lower.contains("italic") || lower.contains("oblique");
    let family = if lower.starts_with("courier") {
        0
    } else if lower.starts_with("helvetica") || lower.starts_with("arial") {
        4
    } else if lower.starts_with("times") {
        8
    } else if lower.starts_with("symbol") {
        return Some(12);
    } else if lower.starts_with("zapfdingbats") {
        return Some(13);
    } else {
        return None;
    };
    let style = match (bold, ital) {
        (false, false) => 0,
        (true, false) => 1,
        (false, true) => 2,
        (true, true) => 3,
    };
    Some(family + style)
}

pub fn afm_width(font: usize, glyph: &str) -> Option<f64> {
    count_lookup();
    let w = t::BASE14[font].1;
    w.binary_search_by(|(k, _)| k.cmp(&glyph)).ok().map(|i| w[i].1 as f64)
}

/// Width of a text in Helvetica (1000 units per em), WinAnsi: by a table of the 256 codes' widths
/// built once.
pub fn helvetica_width(s: &str) -> f64 {
    static WIDTHS: OnceLock<Vec<f64>> = OnceLock::new();
    let widths = WIDTHS.get_or_init(|| t::WINANSI_ENCODING.iter().map(|n| afm_width(4, n).unwrap_or(556.0)).collect());
    s.chars().map(|c| widths[winansi_code(c) as usize]).sum()
}

/// Encode a char in WinAnsiEncoding ('?' when not representable). The table from characters to
/// codes is built once from the encoding's glyph names (the first code for a character wins, as
/// a scan of the encoding in code order would give).
pub fn winansi_code(c: char) -> u8 {
    static TABLE: OnceLock<HashMap<char, u8>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut m = HashMap::new();
        for (i, n) in t::WINANSI_ENCODING.iter().enumerate() {
            if n.is_empty() {
                continue;
            }
            if let Some(u) = glyph_to_unicode(n) {
                let mut cs = u.chars();
                if let (Some(ch), None) = (cs.next(), cs.next()) {
                    m.entry(ch).or_insert(i as u8);
                }
            }
        }
        m
    });
    table.get(&c).copied().unwrap_or(b'?')
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FontKind {
    Simple,
    Type0,
    Type3,
}

#[derive(Debug, Clone)]
pub struct Font {
    pub kind: FontKind,
    /// (byte length, low, high) for multibyte segmentation (Type0)
    pub codespace: Vec<(usize, Vec<u8>, Vec<u8>)>,
    pub to_unicode: HashMap<u32, String>,
    pub encoding: Vec<Option<String>>,
    pub widths: HashMap<u32, f64>,
    pub default_width: f64,
    /// code -> CID for Type0 with a non-identity embedded CMap
    pub cid_map: Option<HashMap<u32, u32>>,
    /// text-space units (glyph units * font matrix)
    pub scale: f64,
    pub ascent: f64,
    pub descent: f64,
    pub vertical: bool,
    /// codes are UCS-2 (Uni*-UCS2 CMaps)
    pub ucs2: bool,
    /// false when advances are guessed (simple non-standard font without /Widths, CID font
    /// with a predefined non-identity CMap): removing its glyphs could move other text
    pub widths_exact: bool,
    /// Type3: the glyph procedures (checked for text they draw)
    pub char_procs: Vec<lopdf::ObjectId>,
    /// what the font itself says each code draws, to check ToUnicode against
    pub own: OwnGlyphs,
    /// each code's decoding, worked out on its first use (see [`Font::decoded`]): 256 slots for
    /// a simple font, a map for a CID font; shared by the threads reading a document's pages
    memo: Memo,
}

/// What one code of a font gives: its text, its advance and a ToUnicode contradiction.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub unicode: Option<String>,
    /// as [`Font::width`]
    pub width: f64,
    /// as [`Font::contradicts`]
    pub contradiction: Option<(String, String)>,
    /// The ToUnicode text (folded) of a code the font itself has no opinion on, where it is
    /// nothing or letters of a shaping script: a glyph of a shaped cluster (see
    /// `interp::conflicts`).
    pub silent: Option<String>,
}

/// The decodings of a font's codes, made once each (by whichever thread meets the code first;
/// the decoding of a code does not depend on who makes it).
#[derive(Debug, Default)]
struct Memo {
    simple: Vec<OnceLock<Decoded>>,
    cid: Mutex<HashMap<u32, Decoded>>,
}

impl Clone for Memo {
    fn clone(&self) -> Memo {
        let cid = self.cid.lock().map(|m| m.clone()).unwrap_or_default();
        Memo { simple: self.simple.clone(), cid: Mutex::new(cid) }
    }
}

/// What a font's own data says its glyphs are (see [`Font::contradicts`]).
#[derive(Debug, Clone, Default)]
pub struct OwnGlyphs {
    /// simple fonts: the folded text of the glyph name each code selects (None: no opinion)
    names: Vec<Option<String>>,
    /// an embedded TrueType/OpenType program, read on first use
    program: Option<Arc<Program>>,
}

/// An embedded TrueType/OpenType program and how codes reach its glyphs.
#[derive(Debug)]
struct Program {
    data: Vec<u8>,
    /// CID font: CID -> glyph id (None: identity); simple font: codes go through the `cmap`
    cid_to_gid: Option<Option<Vec<u16>>>,
    tables: OnceLock<Option<ProgramTables>>,
}

#[derive(Debug)]
struct ProgramTables {
    /// simple fonts: code -> glyph id by the (3,0) or (1,0) subtable
    code_gid: Vec<Option<u16>>,
    /// glyph id -> folded text of every Unicode value and the `post` name that reach it
    gid_text: HashMap<u16, Vec<String>>,
}

/// Letters and digits only, compatibility-decomposed (ligatures split, accents apart), lower case.
pub fn fold_glyph_text(s: &str) -> String {
    s.nfkd().filter(|c| c.is_alphanumeric()).flat_map(|c| c.to_lowercase()).collect()
}

impl Program {
    fn tables(&self) -> Option<&ProgramTables> {
        self.tables
            .get_or_init(|| {
                let face = ttf_parser::Face::parse(&self.data, 0).ok()?;
                let cmap = face.tables().cmap?;
                let mut gid_text: HashMap<u16, Vec<String>> = HashMap::new();
                let mut add = |gid: u16, t: String| {
                    let v = gid_text.entry(gid).or_default();
                    if !v.contains(&t) {
                        v.push(t);
                    }
                };
                for st in cmap.subtables {
                    if !st.is_unicode() {
                        continue;
                    }
                    st.codepoints(|cp| {
                        if let (Some(g), Some(c)) = (st.glyph_index(cp), char::from_u32(cp)) {
                            add(g.0, fold_glyph_text(&c.to_string()));
                        }
                    });
                }
                for g in 0..face.number_of_glyphs() {
                    if let Some(u) = face.glyph_name(ttf_parser::GlyphId(g)).and_then(glyph_to_unicode) {
                        add(g, fold_glyph_text(&u));
                    }
                }
                let mut code_gid = vec![None; 256];
                for st in cmap.subtables {
                    let sym = st.platform_id == ttf_parser::PlatformId::Windows && st.encoding_id == 0;
                    let mac = st.platform_id == ttf_parser::PlatformId::Macintosh && st.encoding_id == 0;
                    if !(sym || mac) {
                        continue;
                    }
                    for (c, slot) in code_gid.iter_mut().enumerate() {
                        if slot.is_none() {
                            let g = if sym {
                                st.glyph_index(0xF000 + c as u32).or_else(|| st.glyph_index(c as u32))
                            } else {
                                st.glyph_index(c as u32)
                            };
                            *slot = g.map(|g| g.0).filter(|g| *g != 0);
                        }
                    }
                }
                Some(ProgramTables { code_gid, gid_text })
            })
            .as_ref()
    }

    /// The folded texts the program gives the glyph a code (a CID for CID fonts) draws; None
    /// when it has no opinion.
    fn texts(&self, code: u32) -> Option<&[String]> {
        let t = self.tables()?;
        let gid = match &self.cid_to_gid {
            Some(None) => u16::try_from(code).ok()?,
            Some(Some(map)) => *map.get(code as usize)?,
            None => (*t.code_gid.get(code as usize)?)?,
        };
        t.gid_text.get(&gid).map(|v| v.as_slice()).filter(|v| !v.is_empty())
    }
}

impl Font {
    pub fn fallback() -> Font {
        Font {
            kind: FontKind::Simple,
            codespace: vec![],
            to_unicode: HashMap::new(),
            encoding: vec![None; 256],
            widths: HashMap::new(),
            default_width: 500.0,
            cid_map: None,
            scale: 0.001,
            ascent: 0.8,
            descent: -0.2,
            vertical: false,
            ucs2: false,
            widths_exact: false,
            char_procs: vec![],
            own: OwnGlyphs::default(),
            memo: Memo::default(),
        }
    }

    /// The text, advance and ToUnicode contradiction of a code, looked up in a table made on the
    /// code's first use: glyph names, maps and embedded programs are consulted once per code, not
    /// once per glyph shown.
    pub fn decoded(&self, code: u32) -> Decoded {
        let make = || {
            let contradiction = self.contradicts(code);
            let silent = match contradiction {
                Some(_) => None,
                None => self.silent(code),
            };
            Decoded { unicode: self.unicode(code), width: self.width(code), contradiction, silent }
        };
        if self.kind != FontKind::Type0 && code < 256 {
            if self.memo.simple.len() == 256 {
                return self.memo.simple[code as usize].get_or_init(make).clone();
            }
            return make();
        }
        let Ok(mut memo) = self.memo.cid.lock() else { return make() };
        memo.entry(code).or_insert_with(make).clone()
    }

    /// Whether the ToUnicode entry for `code` contradicts what the font says the glyph is (its
    /// name, or the Unicode values its embedded program maps to it): `Some((read, own))`, both
    /// folded (see [`fold_glyph_text`]). No ToUnicode entry, or no opinion from the font: `None`.
    pub fn contradicts(&self, code: u32) -> Option<(String, String)> {
        let tu = self.to_unicode.get(&code)?;
        if tu.contains('\u{FFFD}') {
            return None; // not used: the encoding decides (see `unicode`)
        }
        let read = fold_glyph_text(tu);
        if let Some(Some(named)) = self.own.names.get(code as usize) {
            return (*named != read).then(|| (read, named.clone()));
        }
        let p = self.own.program.as_ref()?;
        let key = match (&self.cid_map, self.kind) {
            (Some(m), FontKind::Type0) => *m.get(&code).unwrap_or(&code),
            _ => code,
        };
        let texts = p.texts(key)?;
        (!texts.contains(&read)).then(|| (read, texts[0].clone()))
    }

    /// The folded ToUnicode text of a code the font has no opinion on (no glyph name, no entry
    /// in its program's cmap), when that text is empty or all of a shaping script.
    fn silent(&self, code: u32) -> Option<String> {
        let tu = self.to_unicode.get(&code)?;
        let read = fold_glyph_text(tu);
        if !read.chars().all(super::interp::shaped) {
            return None;
        }
        if let Some(Some(_)) = self.own.names.get(code as usize) {
            return None;
        }
        if let Some(p) = self.own.program.as_ref() {
            let key = match (&self.cid_map, self.kind) {
                (Some(m), FontKind::Type0) => *m.get(&code).unwrap_or(&code),
                _ => code,
            };
            if p.texts(key).is_some() {
                return None;
            }
        }
        Some(read)
    }

    pub fn load(doc: &Document, fd: &Dictionary) -> Font {
        let mut f = Font::load_tables(doc, fd);
        if f.kind != FontKind::Type0 {
            f.memo.simple = vec![OnceLock::new(); 256];
        }
        f
    }

    #[allow(clippy::needless_range_loop)]
    fn load_tables(doc: &Document, fd: &Dictionary) -> Font {
        let mut f = Font::fallback();
        let subtype = fd.get(b"Subtype").ok().and_then(name).unwrap_or(b"");
        let base_font = fd
            .get(b"BaseFont")
            .ok()
            .map(|o| deref(doc, o))
            .and_then(name)
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        f.kind = match subtype {
            b"Type0" => FontKind::Type0,
            b"Type3" => FontKind::Type3,
            _ => FontKind::Simple,
        };
        let b14 = base14(&base_font);
        f.widths_exact = true;
        // ToUnicode first
        if let Some(tu) = fd.get(b"ToUnicode").ok().and_then(|o| stream_bytes(doc, o)) {
            let cm = parse_cmap(&tu);
            f.to_unicode = cm.map;
            if f.kind == FontKind::Type0 && !cm.codespace.is_empty() {
                f.codespace = cm.codespace;
            }
        }
        let mut descriptor: Option<&Dictionary> = dget(doc, fd, b"FontDescriptor").and_then(as_dict);
        match f.kind {
            FontKind::Type0 => {
                let enc = dget(doc, fd, b"Encoding");
                match enc {
                    Some(Object::Name(n)) => {
                        let n = n.as_slice();
                        f.vertical = n.ends_with(b"-V");
                        if n.starts_with(b"Identity") {
                            f.codespace = vec![(2, vec![0, 0], vec![0xff, 0xff])];
                        } else {
                            f.ucs2 = n.windows(4).any(|w| w == b"UCS2") || n.windows(5).any(|w| w == b"UTF16");
                            f.widths_exact = false; // code -> CID table of a predefined CMap not shipped
                            if f.codespace.is_empty() {
                                f.codespace = vec![(2, vec![0, 0], vec![0xff, 0xff])];
                            }
                        }
                    }
                    Some(o @ Object::Stream(s)) => {
                        if let Some(b) = stream_bytes(doc, o) {
                            let cm = parse_cmap(&b);
                            if !cm.codespace.is_empty() {
                                f.codespace = cm.codespace;
                            }
                            f.cid_map = Some(cm.cids);
                        }
                        if let Ok(Object::Integer(1)) = s.dict.get(b"WMode") {
                            f.vertical = true;
                        }
                    }
                    _ => f.codespace = vec![(2, vec![0, 0], vec![0xff, 0xff])],
                }
                if let Some(desc) = dget(doc, fd, b"DescendantFonts").and_then(|o| match o {
                    Object::Array(a) => a.first().map(|x| deref(doc, x)).and_then(as_dict),
                    _ => None,
                }) {
                    f.default_width = dget(doc, desc, b"DW").and_then(num).unwrap_or(1000.0);
                    if let Some(Object::Array(w)) = dget(doc, desc, b"W") {
                        parse_w(doc, w, &mut f.widths);
                    }
                    descriptor = dget(doc, desc, b"FontDescriptor").and_then(as_dict);
                    if dget(doc, desc, b"Subtype").and_then(name) == Some(b"CIDFontType2") {
                        let map = match dget(doc, desc, b"CIDToGIDMap") {
                            Some(o @ Object::Stream(_)) => stream_bytes(doc, o)
                                .map(|b| Some(b.chunks_exact(2).map(|p| u16::from_be_bytes([p[0], p[1]])).collect())),
                            _ => Some(None),
                        };
                        if let Some(map) = map {
                            f.own.program = program(doc, descriptor, Some(map));
                        }
                    }
                    if !f.ucs2 {
                        if let Some(csi) = dget(doc, desc, b"CIDSystemInfo").and_then(as_dict) {
                            let _ = csi;
                        }
                    }
                } else {
                    f.default_width = 1000.0;
                }
            }
            FontKind::Simple | FontKind::Type3 => {
                let first = dget(doc, fd, b"FirstChar").and_then(num).unwrap_or(0.0) as i64;
                let has_widths = if let Some(Object::Array(w)) = dget(doc, fd, b"Widths") {
                    for (i, x) in w.iter().enumerate() {
                        if let Some(v) = num(deref(doc, x)) {
                            let c = first + i as i64;
                            if (0..256).contains(&c) {
                                f.widths.insert(c as u32, v);
                            }
                        }
                    }
                    true
                } else {
                    false
                };
                if let Some(mw) = descriptor.and_then(|d| dget(doc, d, b"MissingWidth")).and_then(num) {
                    f.default_width = mw;
                } else if has_widths {
                    f.default_width = 0.0;
                }
                // encoding
                let builtin: Option<&[&str; 256]> = match b14 {
                    Some(i) if i >= 12 => Some(t::BASE14[i].2),
                    _ => None,
                };
                let mut names: [&str; 256] = *builtin.unwrap_or(&t::STANDARD_ENCODING);
                if f.kind == FontKind::Type3 {
                    names = [""; 256];
                }
                // embedded Type 1 program: its built-in encoding is the base encoding
                let mut program_enc: Vec<(usize, String)> = descriptor
                    .and_then(|d| d.get(b"FontFile").ok())
                    .and_then(|o| stream_bytes(doc, o))
                    .map(|b| type1_builtin_encoding(&b))
                    .unwrap_or_default();
                if program_enc.is_empty() {
                    if let Some(ff3) = descriptor.and_then(|d| d.get(b"FontFile3").ok()) {
                        let is_1c = as_dict(deref(doc, ff3)).and_then(|d| d.get(b"Subtype").ok()).and_then(name)
                            == Some(b"Type1C");
                        if is_1c {
                            program_enc = stream_bytes(doc, ff3).map(|b| cff_builtin_encoding(&b)).unwrap_or_default();
                        }
                    }
                }
                let mut owned_names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
                if !program_enc.is_empty() {
                    owned_names = vec![String::new(); 256];
                    for (c, n) in &program_enc {
                        owned_names[*c] = n.clone();
                    }
                }
                let mut diffs: Vec<(usize, String)> = vec![];
                match dget(doc, fd, b"Encoding") {
                    Some(Object::Name(n)) => {
                        if let Some(tb) = encoding_table(n) {
                            names = *tb;
                        }
                    }
                    Some(o) => {
                        if let Some(ed) = as_dict(o) {
                            if let Some(tb) = dget(doc, ed, b"BaseEncoding").and_then(name).and_then(encoding_table) {
                                names = *tb;
                            }
                            if let Some(Object::Array(d)) = dget(doc, ed, b"Differences") {
                                let mut code = 0usize;
                                for x in d {
                                    match deref(doc, x) {
                                        Object::Integer(i) => code = (*i).clamp(0, 100000) as usize,
                                        Object::Name(n) => {
                                            if code < 256 {
                                                diffs.push((code, String::from_utf8_lossy(n).into_owned()));
                                            }
                                            code += 1;
                                        }
                                        _ => {}
                                    }
                                }
                            }
                        }
                    }
                    None => {}
                }
                let mut glyph_names: Vec<String> = if matches!(dget(doc, fd, b"Encoding"), Some(Object::Name(_)))
                    || dget(doc, fd, b"Encoding").and_then(as_dict).map(|d| d.has(b"BaseEncoding")).unwrap_or(false)
                {
                    names.iter().map(|s| s.to_string()).collect()
                } else {
                    owned_names
                };
                let explicit = !diffs.is_empty() || dget(doc, fd, b"Encoding").is_some() || !program_enc.is_empty();
                for (c, n) in diffs {
                    glyph_names[c] = n;
                }
                // The glyph a code selects: by name, except in a TrueType font without an encoding
                // (symbolic), where the program's own cmap picks it.
                let truetype = subtype == b"TrueType";
                if !truetype || explicit {
                    f.own.names =
                        glyph_names.iter().map(|n| glyph_to_unicode(n).map(|u| fold_glyph_text(&u))).collect();
                } else {
                    f.own.program = program(doc, descriptor, None);
                }
                if f.kind == FontKind::Type3 {
                    if let Some(procs) = dget(doc, fd, b"CharProcs").and_then(as_dict) {
                        f.char_procs = procs.iter().filter_map(|(_, v)| v.as_reference().ok()).collect();
                    }
                }
                for c in 0..256 {
                    f.encoding[c] = glyph_to_unicode(&glyph_names[c]);
                    if !has_widths {
                        if let Some(b) = b14 {
                            if let Some(w) = afm_width(b, &glyph_names[c]) {
                                f.widths.insert(c as u32, w);
                            }
                        }
                    }
                }
                if !has_widths && b14.is_none() {
                    f.widths_exact = false;
                }
                if !has_widths && b14.is_none() && f.kind == FontKind::Simple {
                    // non-embedded, non-standard font without widths: approximate with Helvetica
                    for c in 0..256 {
                        if let Some(w) = afm_width(4, &glyph_names[c]) {
                            f.widths.insert(c as u32, w);
                        }
                    }
                }
                if f.kind == FontKind::Type3 {
                    if let Some(Object::Array(m)) = dget(doc, fd, b"FontMatrix") {
                        let m: Vec<f64> = m.iter().filter_map(|x| num(deref(doc, x))).collect();
                        if m.len() == 6 && m[0].is_finite() && m[0] != 0.0 {
                            f.scale = m[0].abs();
                            let dscale = if m[3] != 0.0 { m[3].abs() } else { f.scale };
                            if let Some(Object::Array(bb)) = dget(doc, fd, b"FontBBox") {
                                let bb: Vec<f64> = bb.iter().filter_map(|x| num(deref(doc, x))).collect();
                                if bb.len() == 4 && bb[3] > bb[1] {
                                    f.ascent = (bb[3] * dscale).clamp(0.3, 2.0);
                                    f.descent = (bb[1] * dscale).clamp(-1.0, 0.0);
                                }
                            }
                        }
                    }
                }
            }
        }
        if f.kind != FontKind::Type3 {
            let (mut a, mut d) = (None, None);
            if let Some(desc) = descriptor {
                a = dget(doc, desc, b"Ascent").and_then(num);
                d = dget(doc, desc, b"Descent").and_then(num);
            }
            if a.is_none() {
                if let Some(b) = b14 {
                    a = Some(t::BASE14[b].3 as f64);
                    d = Some(t::BASE14[b].4 as f64);
                }
            }
            if let (Some(a), Some(d)) = (a, d) {
                if a > 100.0 && a < 2500.0 && d <= 0.0 && d > -1500.0 {
                    f.ascent = a / 1000.0;
                    f.descent = d / 1000.0;
                }
            }
        }
        f
    }

    /// Split a shown string into (code, byte offset, byte length).
    pub fn codes(&self, bytes: &[u8]) -> Vec<(u32, usize, usize)> {
        let mut out = Vec::with_capacity(bytes.len());
        if self.kind != FontKind::Type0 {
            for (i, b) in bytes.iter().enumerate() {
                out.push((*b as u32, i, 1));
            }
            return out;
        }
        let mut i = 0;
        let minlen = self.codespace.iter().map(|c| c.0).min().unwrap_or(2).max(1);
        while i < bytes.len() {
            let mut len = 0;
            for (n, lo, hi) in &self.codespace {
                if i + n <= bytes.len() && (0..*n).all(|k| bytes[i + k] >= lo[k] && bytes[i + k] <= hi[k]) {
                    len = *n;
                    break;
                }
            }
            if len == 0 {
                len = minlen.min(bytes.len() - i);
            }
            let code = bytes[i..i + len].iter().fold(0u32, |a, b| (a << 8) | *b as u32);
            out.push((code, i, len));
            i += len;
        }
        out
    }

    pub fn unicode(&self, code: u32) -> Option<String> {
        if self.vertical {
            // vertical writing is not interpreted (advances would be wrong): fail closed
            return None;
        }
        if let Some(s) = self.to_unicode.get(&code) {
            // an explicit empty destination (`<>`) says: this glyph carries no text (e.g. a
            // part of a cluster whose text is mapped on another glyph)
            if !s.contains('\u{FFFD}') {
                return Some(s.clone());
            }
        }
        match self.kind {
            FontKind::Type0 => {
                if self.ucs2 {
                    char::from_u32(code).filter(|c| *c != '\u{FFFD}').map(|c| c.to_string())
                } else {
                    None
                }
            }
            _ => self.encoding.get(code as usize).cloned().flatten(),
        }
    }

    /// Horizontal advance w0 in text space units (before Tfs).
    pub fn width(&self, code: u32) -> f64 {
        let key = match (&self.cid_map, self.kind) {
            (Some(m), FontKind::Type0) => *m.get(&code).unwrap_or(&code),
            _ => code,
        };
        self.widths.get(&key).copied().unwrap_or(self.default_width) * self.scale
    }
}

/// The embedded TrueType (FontFile2) or OpenType (FontFile3 /OpenType) program of a descriptor.
fn program(
    doc: &Document,
    descriptor: Option<&Dictionary>,
    cid_to_gid: Option<Option<Vec<u16>>>,
) -> Option<Arc<Program>> {
    let d = descriptor?;
    let o = match d.get(b"FontFile2") {
        Ok(o) => o,
        Err(_) => {
            let o = d.get(b"FontFile3").ok()?;
            let sub = as_dict(deref(doc, o)).and_then(|s| s.get(b"Subtype").ok()).and_then(name);
            if sub != Some(b"OpenType") {
                return None;
            }
            o
        }
    };
    let data = stream_bytes(doc, o)?;
    Some(Arc::new(Program { data, cid_to_gid, tables: OnceLock::new() }))
}

/// Built-in encoding of a Type 1 font program (cleartext part): `dup <code> /<name> put`.
/// Empty when the program uses StandardEncoding.
pub fn type1_builtin_encoding(prog: &[u8]) -> Vec<(usize, String)> {
    let Some(start) = prog.windows(9).position(|w| w == b"/Encoding") else { return vec![] };
    let end = prog[start..]
        .windows(4)
        .position(|w| w == b"eexe")
        .map(|e| start + e)
        .unwrap_or(prog.len().min(start + 60_000));
    let part = &prog[start..end];
    let head = &part[..part.len().min(40)];
    if head.windows(16).any(|w| w == b"StandardEncoding") {
        return vec![];
    }
    let mut out = Vec::new();
    let toks: Vec<&[u8]> = part.split(|c| super::lexer::is_ws(*c)).filter(|t| !t.is_empty()).collect();
    for w in toks.windows(4) {
        if w[0] == b"dup" && w[3] == b"put" && w[2].starts_with(b"/") {
            if let Some(c) = super::lexer::parse_number(w[1]) {
                if (0.0..256.0).contains(&c) {
                    out.push((c as usize, String::from_utf8_lossy(&w[2][1..]).into_owned()));
                }
            }
        }
        if w[0] == b"readonly" || w[0] == b"def" && !out.is_empty() {
            break;
        }
    }
    out
}

fn parse_w(doc: &Document, w: &[Object], out: &mut HashMap<u32, f64>) {
    let v: Vec<&Object> = w.iter().map(|x| deref(doc, x)).collect();
    let mut i = 0;
    while i < v.len() {
        let Some(first) = num(v[i]) else {
            i += 1;
            continue;
        };
        match v.get(i + 1) {
            Some(Object::Array(a)) => {
                for (k, x) in a.iter().enumerate() {
                    if let Some(wv) = num(deref(doc, x)) {
                        out.insert(first as u32 + k as u32, wv);
                    }
                }
                i += 2;
            }
            Some(o) => {
                let last = num(o).unwrap_or(first);
                let wv = v.get(i + 2).and_then(|x| num(x)).unwrap_or(0.0);
                if last >= first && last - first < 70000.0 {
                    for c in first as u32..=last as u32 {
                        out.insert(c, wv);
                    }
                }
                i += 3;
            }
            None => break,
        }
    }
}

/// Result of the lenient CMap parser.
#[derive(Debug, Default)]
pub struct CMap {
    pub codespace: Vec<(usize, Vec<u8>, Vec<u8>)>,
    pub map: HashMap<u32, String>,
    pub cids: HashMap<u32, u32>,
}

fn code_of(b: &[u8]) -> u32 {
    b.iter().take(4).fold(0u32, |a, x| (a << 8) | *x as u32)
}

/// Decode a ToUnicode destination. Even-length hex: UTF-16BE (surrogate pairs allowed); a
/// single byte or an odd number of hex digits (MuPDF writes `<1f0c1>`): a code point.
fn dest_string(hex_digits: &[u8]) -> Option<String> {
    let digits: Vec<u8> = hex_digits.iter().filter_map(|c| super::lexer::hexval(*c)).collect();
    if digits.is_empty() {
        return Some(String::new());
    }
    if digits.len() % 2 == 1 || digits.len() == 2 {
        let v = digits.iter().fold(0u32, |a, d| a.wrapping_mul(16).wrapping_add(*d as u32));
        return char::from_u32(v).map(|c| c.to_string());
    }
    let bytes: Vec<u8> = digits.chunks(2).map(|p| p[0] * 16 + p[1]).collect();
    if bytes.len() % 2 == 1 {
        return None;
    }
    let units: Vec<u16> = bytes.chunks(2).map(|p| u16::from_be_bytes([p[0], p[1]])).collect();
    match String::from_utf16(&units) {
        Ok(s) => Some(s),
        Err(_) => {
            // lenient: drop unpaired surrogates
            let s: String = char::decode_utf16(units.iter().copied()).filter_map(|r| r.ok()).collect();
            if s.is_empty() {
                None
            } else {
                Some(s)
            }
        }
    }
}

fn inc_last(s: &str, by: u32) -> Option<String> {
    let mut chars: Vec<char> = s.chars().collect();
    let last = chars.pop()?;
    let v = last as u32 + by;
    chars.push(char::from_u32(v)?);
    Some(chars.into_iter().collect())
}

#[derive(Debug, Clone)]
enum CTok {
    Hex(Vec<u8>, Vec<u8>), // bytes, raw digits
    Num(f64),
    Name(Vec<u8>),
    ArrOpen,
    ArrClose,
    Kw(Vec<u8>),
    Other,
}

fn cmap_tokens(data: &[u8]) -> Vec<CTok> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let c = data[i];
        if super::lexer::is_ws(c) {
            i += 1;
            continue;
        }
        match c {
            b'%' => {
                while i < data.len() && data[i] != b'\n' && data[i] != b'\r' {
                    i += 1;
                }
            }
            b'<' if data.get(i + 1) == Some(&b'<') => {
                i += 2;
                out.push(CTok::Other);
            }
            b'>' if data.get(i + 1) == Some(&b'>') => {
                i += 2;
                out.push(CTok::Other);
            }
            b'<' => {
                let s = i + 1;
                let mut j = s;
                while j < data.len() && data[j] != b'>' {
                    j += 1;
                }
                let raw: Vec<u8> = data[s..j].iter().copied().filter(|c| c.is_ascii_hexdigit()).collect();
                let mut d: Vec<u8> = raw.iter().filter_map(|c| super::lexer::hexval(*c)).collect();
                if d.len() % 2 == 1 {
                    d.insert(0, 0);
                }
                let bytes = d.chunks(2).map(|p| p[0] * 16 + p[1]).collect();
                out.push(CTok::Hex(bytes, raw));
                i = j + 1;
            }
            b'(' => {
                let mut lx = super::lexer::Lexer::new(data);
                lx.pos = i;
                if let Some((super::lexer::Tok::Str(s), sp)) = lx.next_tok() {
                    let raw: Vec<u8> = s.iter().flat_map(|b| format!("{:02x}", b).into_bytes()).collect();
                    out.push(CTok::Hex(s, raw));
                    i = sp.end;
                } else {
                    i += 1;
                }
            }
            b'[' => {
                out.push(CTok::ArrOpen);
                i += 1;
            }
            b']' => {
                out.push(CTok::ArrClose);
                i += 1;
            }
            _ => {
                let s = i;
                let isname = c == b'/';
                if isname {
                    i += 1;
                }
                while i < data.len() && !super::lexer::is_ws(data[i]) && !super::lexer::is_delim(data[i]) {
                    i += 1;
                }
                if i == s {
                    i += 1;
                    out.push(CTok::Other);
                    continue;
                }
                let w = &data[s..i];
                if isname {
                    out.push(CTok::Name(w[1..].to_vec()));
                } else if let Some(n) = super::lexer::parse_number(w) {
                    out.push(CTok::Num(n));
                } else {
                    out.push(CTok::Kw(w.to_vec()));
                }
            }
        }
    }
    out
}

/// Lenient CMap parser: codespace ranges, bfchar, bfrange (hex or array destinations),
/// cidchar, cidrange. Bad entries are skipped, never the whole map.
pub fn parse_cmap(data: &[u8]) -> CMap {
    let toks = cmap_tokens(data);
    let mut cm = CMap::default();
    let mut i = 0;
    let mut section: &[u8] = b"";
    let mut buf: Vec<CTok> = Vec::new();
    while i < toks.len() {
        match &toks[i] {
            CTok::Kw(k) if k.starts_with(b"begin") => {
                section = match k.as_slice() {
                    b"begincodespacerange" => b"cs",
                    b"beginbfchar" => b"bfchar",
                    b"beginbfrange" => b"bfrange",
                    b"begincidchar" => b"cidchar",
                    b"begincidrange" => b"cidrange",
                    _ => b"",
                };
                buf.clear();
            }
            CTok::Kw(k) if k.starts_with(b"end") => {
                apply_section(section, &buf, &mut cm);
                section = b"";
                buf.clear();
            }
            t => {
                if !section.is_empty() {
                    buf.push(t.clone());
                }
            }
        }
        i += 1;
    }
    cm
}

fn apply_section(section: &[u8], buf: &[CTok], cm: &mut CMap) {
    let mut j = 0;
    match section {
        b"cs" => {
            while j + 1 < buf.len() {
                if let (CTok::Hex(lo, _), CTok::Hex(hi, _)) = (&buf[j], &buf[j + 1]) {
                    if lo.len() == hi.len() && !lo.is_empty() && lo.len() <= 4 {
                        cm.codespace.push((lo.len(), lo.clone(), hi.clone()));
                    }
                    j += 2;
                } else {
                    j += 1;
                }
            }
            cm.codespace.sort_by_key(|c| c.0);
        }
        b"bfchar" => {
            while j + 1 < buf.len() {
                match (&buf[j], &buf[j + 1]) {
                    (CTok::Hex(src, _), CTok::Hex(_, raw)) => {
                        if let Some(s) = dest_string(raw) {
                            cm.map.insert(code_of(src), s);
                        }
                        j += 2;
                    }
                    (CTok::Hex(src, _), CTok::Name(n)) => {
                        if let Some(s) = glyph_to_unicode(&String::from_utf8_lossy(n)) {
                            cm.map.insert(code_of(src), s);
                        }
                        j += 2;
                    }
                    _ => j += 1,
                }
            }
        }
        b"bfrange" => {
            while j + 2 < buf.len() {
                let (CTok::Hex(lo, _), CTok::Hex(hi, _)) = (&buf[j], &buf[j + 1]) else {
                    j += 1;
                    continue;
                };
                let (lo, hi) = (code_of(lo), code_of(hi));
                match &buf[j + 2] {
                    CTok::Hex(_, raw) => {
                        if hi >= lo && hi - lo <= 0xffff {
                            if let Some(base) = dest_string(raw) {
                                for c in lo..=hi {
                                    if let Some(s) = inc_last(&base, c - lo) {
                                        cm.map.insert(c, s);
                                    }
                                }
                            }
                        }
                        j += 3;
                    }
                    CTok::ArrOpen => {
                        let mut k = j + 3;
                        let mut c = lo;
                        while k < buf.len() {
                            match &buf[k] {
                                CTok::ArrClose => break,
                                CTok::Hex(_, raw) => {
                                    if c <= hi {
                                        if let Some(s) = dest_string(raw) {
                                            cm.map.insert(c, s);
                                        }
                                    }
                                    c = c.wrapping_add(1);
                                }
                                _ => {}
                            }
                            k += 1;
                        }
                        j = k + 1;
                    }
                    _ => j += 3,
                }
            }
        }
        b"cidchar" => {
            while j + 1 < buf.len() {
                if let (CTok::Hex(src, _), CTok::Num(n)) = (&buf[j], &buf[j + 1]) {
                    cm.cids.insert(code_of(src), *n as u32);
                    j += 2;
                } else {
                    j += 1;
                }
            }
        }
        b"cidrange" => {
            while j + 2 < buf.len() {
                if let (CTok::Hex(lo, _), CTok::Hex(hi, _), CTok::Num(n)) = (&buf[j], &buf[j + 1], &buf[j + 2]) {
                    let (lo, hi) = (code_of(lo), code_of(hi));
                    if hi >= lo && hi - lo <= 0xffff {
                        for c in lo..=hi {
                            cm.cids.insert(c, *n as u32 + (c - lo));
                        }
                    }
                    j += 3;
                } else {
                    j += 1;
                }
            }
        }
        _ => {}
    }
}

/// Built-in encoding of a bare CFF font program (FontFile3 /Type1C): code -> glyph name.
/// Empty when the font uses the predefined Standard encoding, or on any parse problem.
pub fn cff_builtin_encoding(data: &[u8]) -> Vec<(usize, String)> {
    cff_encoding(data).unwrap_or_default()
}

fn cff_index(data: &[u8], pos: usize) -> Option<(Vec<(usize, usize)>, usize)> {
    let count = u16::from_be_bytes([*data.get(pos)?, *data.get(pos + 1)?]) as usize;
    if count == 0 {
        return Some((vec![], pos + 2));
    }
    let off_size = *data.get(pos + 2)? as usize;
    if !(1..=4).contains(&off_size) {
        return None;
    }
    let read = |i: usize| -> Option<usize> {
        let s = pos + 3 + i * off_size;
        let b = data.get(s..s + off_size)?;
        Some(b.iter().fold(0usize, |a, x| (a << 8) | *x as usize))
    };
    let base = pos + 3 + (count + 1) * off_size - 1;
    let mut items = Vec::with_capacity(count);
    for i in 0..count {
        let (a, b) = (read(i)?, read(i + 1)?);
        if b < a || base + b > data.len() {
            return None;
        }
        items.push((base + a, base + b));
    }
    let end = base + read(count)?;
    Some((items, end))
}

/// Top DICT operators -> operands (integers only needed).
fn cff_dict(d: &[u8]) -> HashMap<u16, Vec<f64>> {
    let mut out = HashMap::new();
    let mut ops: Vec<f64> = Vec::new();
    let mut i = 0;
    while i < d.len() {
        let b0 = d[i];
        match b0 {
            0..=21 => {
                let key = if b0 == 12 {
                    i += 1;
                    1200 + *d.get(i).unwrap_or(&0) as u16
                } else {
                    b0 as u16
                };
                out.insert(key, std::mem::take(&mut ops));
                i += 1;
            }
            28 => {
                if i + 2 >= d.len() {
                    break;
                }
                ops.push(i16::from_be_bytes([d[i + 1], d[i + 2]]) as f64);
                i += 3;
            }
            29 => {
                if i + 4 >= d.len() {
                    break;
                }
                ops.push(i32::from_be_bytes([d[i + 1], d[i + 2], d[i + 3], d[i + 4]]) as f64);
                i += 5;
            }
            30 => {
                // real: skip nibbles until 0xf terminator
                i += 1;
                while i < d.len() {
                    let b = d[i];
                    i += 1;
                    if b & 0x0f == 0x0f || b >> 4 == 0x0f {
                        break;
                    }
                }
                ops.push(0.0);
            }
            32..=246 => {
                ops.push(b0 as f64 - 139.0);
                i += 1;
            }
            247..=250 => {
                let b1 = *d.get(i + 1).unwrap_or(&0) as f64;
                ops.push((b0 as f64 - 247.0) * 256.0 + b1 + 108.0);
                i += 2;
            }
            251..=254 => {
                let b1 = *d.get(i + 1).unwrap_or(&0) as f64;
                ops.push(-(b0 as f64 - 251.0) * 256.0 - b1 - 108.0);
                i += 2;
            }
            _ => i += 1,
        }
    }
    out
}

#[allow(clippy::needless_range_loop)]
fn cff_encoding(data: &[u8]) -> Option<Vec<(usize, String)>> {
    let hdr = *data.get(2)? as usize;
    let (_names, p) = cff_index(data, hdr)?;
    let (tops, p) = cff_index(data, p)?;
    let (strings, _) = cff_index(data, p)?;
    let top = tops.first()?;
    let dict = cff_dict(&data[top.0..top.1]);
    if dict.contains_key(&1230) {
        return None; // CID-keyed: no encoding
    }
    let enc_off = dict.get(&16).and_then(|v| v.first()).copied().unwrap_or(0.0) as usize;
    if enc_off <= 1 {
        return None; // predefined Standard (0) / Expert (1)
    }
    let cs_off = dict.get(&17).and_then(|v| v.first()).copied()? as usize;
    let (charstrings, _) = cff_index(data, cs_off)?;
    let n_glyphs = charstrings.len();
    let charset_off = dict.get(&15).and_then(|v| v.first()).copied().unwrap_or(0.0) as usize;
    let sid_name = |sid: usize| -> Option<String> {
        if sid < t::CFF_STANDARD_STRINGS.len() {
            Some(t::CFF_STANDARD_STRINGS[sid].to_string())
        } else {
            let (a, b) = *strings.get(sid - t::CFF_STANDARD_STRINGS.len())?;
            Some(String::from_utf8_lossy(&data[a..b]).into_owned())
        }
    };
    // charset: gid -> sid
    let mut sids = vec![0usize; n_glyphs];
    if charset_off > 2 {
        let fmt = *data.get(charset_off)?;
        let mut pos = charset_off + 1;
        let mut gid = 1;
        let rd16 =
            |p: usize| -> Option<usize> { Some(u16::from_be_bytes([*data.get(p)?, *data.get(p + 1)?]) as usize) };
        while gid < n_glyphs {
            match fmt {
                0 => {
                    sids[gid] = rd16(pos)?;
                    pos += 2;
                    gid += 1;
                }
                1 | 2 => {
                    let first = rd16(pos)?;
                    let left = if fmt == 1 { *data.get(pos + 2)? as usize } else { rd16(pos + 2)? };
                    pos += if fmt == 1 { 3 } else { 4 };
                    for k in 0..=left {
                        if gid >= n_glyphs {
                            break;
                        }
                        sids[gid] = first + k;
                        gid += 1;
                    }
                }
                _ => return None,
            }
        }
    } else {
        return None; // predefined charsets (ISOAdobe etc.) with custom encodings: rare
    }
    let fmt = *data.get(enc_off)?;
    let mut out = Vec::new();
    let mut pos = enc_off + 1;
    match fmt & 0x7f {
        0 => {
            let n = *data.get(pos)? as usize;
            pos += 1;
            for gid in 1..=n {
                let code = *data.get(pos)? as usize;
                pos += 1;
                if gid < n_glyphs {
                    if let Some(nm) = sid_name(sids[gid]) {
                        out.push((code, nm));
                    }
                }
            }
        }
        1 => {
            let nr = *data.get(pos)? as usize;
            pos += 1;
            let mut gid = 1;
            for _ in 0..nr {
                let first = *data.get(pos)? as usize;
                let left = *data.get(pos + 1)? as usize;
                pos += 2;
                for k in 0..=left {
                    if gid < n_glyphs && first + k < 256 {
                        if let Some(nm) = sid_name(sids[gid]) {
                            out.push((first + k, nm));
                        }
                    }
                    gid += 1;
                }
            }
        }
        _ => return None,
    }
    if fmt & 0x80 != 0 {
        let ns = *data.get(pos)? as usize;
        pos += 1;
        for _ in 0..ns {
            let code = *data.get(pos)? as usize;
            let sid = u16::from_be_bytes([*data.get(pos + 1)?, *data.get(pos + 2)?]) as usize;
            pos += 3;
            if let Some(nm) = sid_name(sid) {
                out.push((code, nm));
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmap_cases() {
        let data = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap
/CMapName /Adobe-Identity-UCS def
1 begincodespacerange <0000> <FFFF> endcodespacerange
4 beginbfchar
<0003> <0020>
<0011> <1f0c1>
<0012> <D83DDE00>
<0013> <00660069>
endbfchar
3 beginbfrange
<0020> <0022> <0041>
<0030> <0032> [<0061> <0062> <0063>]
<0040> <0040> <ZZ>
endbfrange
1 beginbfchar <0050> /Aacute endbfchar
endcmap CMapName currentdict /CMap defineresource pop end end";
        let cm = parse_cmap(data);
        assert_eq!(cm.codespace, vec![(2, vec![0, 0], vec![0xff, 0xff])]);
        assert_eq!(cm.map[&3], " ");
        assert_eq!(cm.map[&0x11], "\u{1f0c1}");
        assert_eq!(cm.map[&0x12], "\u{1F600}");
        assert_eq!(cm.map[&0x13], "fi");
        assert_eq!(cm.map[&0x20], "A");
        assert_eq!(cm.map[&0x22], "C");
        assert_eq!(cm.map[&0x31], "b");
        assert_eq!(cm.map[&0x50], "\u{c1}");
        // mixed-width codespace and segmentation
        let cm2 = parse_cmap(b"2 begincodespacerange <00> <80> <8140> <9ffc> endcodespacerange");
        let mut f = Font::fallback();
        f.kind = FontKind::Type0;
        f.codespace = cm2.codespace;
        let codes = f.codes(&[0x41, 0x81, 0x40, 0x42]);
        assert_eq!(codes, vec![(0x41, 0, 1), (0x8140, 1, 2), (0x42, 3, 1)]);
    }

    #[test]
    fn glyph_names() {
        assert_eq!(glyph_to_unicode("A").as_deref(), Some("A"));
        assert_eq!(glyph_to_unicode("eacute").as_deref(), Some("\u{e9}"));
        assert_eq!(glyph_to_unicode("uni0041").as_deref(), Some("A"));
        assert_eq!(glyph_to_unicode("uni00660069").as_deref(), Some("fi"));
        assert_eq!(glyph_to_unicode("u1F600").as_deref(), Some("\u{1F600}"));
        assert_eq!(glyph_to_unicode("f_f_i").as_deref(), Some("ffi"));
        assert_eq!(glyph_to_unicode("a.sc").as_deref(), Some("a"));
        assert_eq!(glyph_to_unicode("g123"), None);
        assert_eq!(base14("Helvetica"), Some(4));
        assert_eq!(base14("ABCDEF+Arial,Bold"), Some(5));
        assert_eq!(afm_width(4, "W"), Some(944.0));
        assert_eq!(helvetica_width("TP"), 611.0 + 667.0);
    }
}
