//! The one embedded font (vendored DejaVu Sans): loading, measuring,
//! subsetting and writing it as a CID TrueType font (Type0, Identity-H) with
//! a ToUnicode CMap, so that text extraction gives back the exact text.
//!
//! The font bytes are compiled in with `include_bytes!`; system fonts are
//! never read at run time (their bytes differ between machines).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Filter, Finish, Name, Pdf, Rect, Ref, Str};
use sha2::{Digest, Sha256};

/// Vendored font program (adjust the path when moving the module).
pub(crate) static FONT_DATA: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");

/// Font name used in every resource dictionary we write.
pub(crate) const FONT_RES: Name<'static> = Name(b"F1");

/// Parsed metrics of the embedded font.
pub(crate) struct Font {
    face: ttf_parser::Face<'static>,
    upem: f32,
    /// Glyph used for characters the font does not have.
    fallback: u16,
    /// Glyph id (0 = missing) and advance (1/1000 em) for U+0000..FAST_LEN.
    fast: Vec<(u16, f32)>,
}

const FAST_LEN: u32 = 0x2200;

static FONT: OnceLock<Result<Font, String>> = OnceLock::new();

impl Font {
    /// The shared, lazily parsed font.
    pub(crate) fn get() -> Result<&'static Font, String> {
        FONT.get_or_init(|| {
            let face =
                ttf_parser::Face::parse(FONT_DATA, 0).map_err(|e| format!("embedded font cannot be parsed: {e}"))?;
            let upem = face.units_per_em() as f32;
            let fallback = face.glyph_index('?').map(|g| g.0).unwrap_or(0);
            let mut font = Font { face, upem, fallback, fast: Vec::new() };
            font.fast = (0..FAST_LEN)
                .map(|u| {
                    let g = char::from_u32(u).and_then(|c| font.face.glyph_index(c)).map(|g| g.0).unwrap_or(0);
                    (g, font.advance_slow(g))
                })
                .collect();
            Ok(font)
        })
        .as_ref()
        .map_err(|e| e.clone())
    }

    /// Glyph for a character, `None` when the font lacks it.
    pub(crate) fn glyph(&self, c: char) -> Option<u16> {
        if let Some(&(g, _)) = self.fast.get(c as usize) {
            return Some(g).filter(|&g| g != 0);
        }
        self.face.glyph_index(c).map(|g| g.0).filter(|&g| g != 0)
    }

    /// Advance of a glyph in 1/1000 em (PDF glyph space).
    pub(crate) fn advance_milli(&self, gid: u16) -> f32 {
        self.advance_slow(gid)
    }

    fn advance_slow(&self, gid: u16) -> f32 {
        let adv = self.face.glyph_hor_advance(ttf_parser::GlyphId(gid)).unwrap_or(0) as f32;
        adv * 1000.0 / self.upem
    }

    /// Width of `c` at `size` points (missing characters measure as '?').
    pub(crate) fn char_width(&self, c: char, size: f32) -> f32 {
        if let Some(&(g, adv)) = self.fast.get(c as usize) {
            if g != 0 {
                return adv * size / 1000.0;
            }
        }
        let g = self.glyph(c).unwrap_or(self.fallback);
        self.advance_milli(g) * size / 1000.0
    }

    /// Width of `s` at `size` points. No kerning, no shaping.
    pub(crate) fn width(&self, s: &str, size: f32) -> f32 {
        s.chars().map(|c| self.char_width(c, size)).sum()
    }

    /// Ascender in em.
    pub(crate) fn ascender(&self) -> f32 {
        self.face.ascender() as f32 / self.upem
    }

    /// Descender in em (negative).
    pub(crate) fn descender(&self) -> f32 {
        self.face.descender() as f32 / self.upem
    }

    fn cap_height(&self) -> f32 {
        self.face.capital_height().map(|h| h as f32 / self.upem).unwrap_or(0.73)
    }
}

/// Normalise text before it is measured and drawn: characters the font
/// lacks become '?', control characters and no-break spaces become plain
/// spaces. Returns the cleaned text and the characters that were replaced.
pub(crate) fn clean_text(font: &Font, s: &str, missing: &mut Vec<char>) -> String {
    s.chars()
        .map(|c| match c {
            '\u{00A0}' | '\u{2007}' | '\u{202F}' | '\t' => ' ',
            c if c.is_control() => ' ',
            c if font.glyph(c).is_some() || c == ' ' => c,
            c => {
                if !missing.contains(&c) {
                    missing.push(c);
                }
                '?'
            }
        })
        .collect()
}

/// Glyphs used in the document, with the character each stands for (by glyph id: a lookup per
/// character drawn, so it is an array, not a map).
pub(crate) struct Usage {
    by_glyph: Vec<Option<char>>,
}

impl Default for Usage {
    fn default() -> Self {
        Usage { by_glyph: vec![None; 1 << 16] }
    }
}

impl Usage {
    pub(crate) fn add_str(&mut self, font: &Font, s: &str) {
        for c in s.chars() {
            let g = font.glyph(c).unwrap_or(font.fallback);
            // first character wins: deterministic because the document is
            // walked in a fixed order
            let slot = &mut self.by_glyph[g as usize];
            if slot.is_none() {
                *slot = Some(c);
            }
        }
    }

    /// (glyph id, character) in glyph order.
    fn glyphs(&self) -> impl Iterator<Item = (u16, char)> + '_ {
        self.by_glyph.iter().enumerate().filter_map(|(g, c)| c.map(|c| (g as u16, c)))
    }
}

/// The subset actually written: old glyph id -> CID (= new glyph id).
pub(crate) struct Subset {
    map: BTreeMap<u16, u16>,
}

impl Subset {
    /// Encode text as 2-byte CIDs (Identity-H).
    pub(crate) fn encode(&self, font: &Font, s: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(s.len() * 2);
        for c in s.chars() {
            let g = font.glyph(c).unwrap_or(font.fallback);
            let cid = self.map.get(&g).copied().unwrap_or(0);
            out.extend_from_slice(&cid.to_be_bytes());
        }
        out
    }
}

pub(crate) fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

/// Write the Type0 font and its dependants. `type0` is the reference pages
/// use; the others are allocated from `next`.
pub(crate) fn write_font(
    pdf: &mut Pdf,
    font: &Font,
    usage: &Usage,
    type0: Ref,
    next: &mut Ref,
) -> Result<Subset, String> {
    let gids: Vec<u16> = usage.glyphs().map(|(g, _)| g).collect();
    let remapper = subsetter::GlyphRemapper::new_from_glyphs_sorted(&gids);
    let program = subsetter::subset(FONT_DATA, 0, &remapper).map_err(|e| format!("font subsetting failed: {e:?}"))?;
    let mut map = BTreeMap::new();
    for &g in &gids {
        if let Some(n) = remapper.get(g) {
            map.insert(g, n);
        }
    }

    // Subset tag: six capitals derived from the glyph set (deterministic).
    let mut h = Sha256::new();
    for g in &gids {
        h.update(g.to_be_bytes());
    }
    let digest = h.finalize();
    let tag: String = digest.iter().take(6).map(|b| (b'A' + b % 26) as char).collect();
    let base_font = format!("{tag}+DejaVuSans");

    let cid_ref = next.bump();
    let desc_ref = next.bump();
    let cmap_ref = next.bump();
    let file_ref = next.bump();

    let system_info = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };

    pdf.type0_font(type0)
        .base_font(Name(base_font.as_bytes()))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_ref)
        .to_unicode(cmap_ref);

    // Widths indexed by CID (new glyph id), in CID order.
    let mut cid_font = pdf.cid_font(cid_ref);
    cid_font
        .subtype(CidFontType::Type2)
        .base_font(Name(base_font.as_bytes()))
        .system_info(system_info)
        .font_descriptor(desc_ref)
        .default_width(0.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    let widths: Vec<f32> = remapper.remapped_gids().map(|old| font.advance_milli(old).round()).collect();
    cid_font.widths().consecutive(0, widths);
    cid_font.finish();

    let bbox = font.face.global_bounding_box();
    let s = 1000.0 / font.upem;
    pdf.font_descriptor(desc_ref)
        .name(Name(base_font.as_bytes()))
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(bbox.x_min as f32 * s, bbox.y_min as f32 * s, bbox.x_max as f32 * s, bbox.y_max as f32 * s))
        .italic_angle(0.0)
        .ascent((font.ascender() * 1000.0).round())
        .descent((font.descender() * 1000.0).round())
        .cap_height((font.cap_height() * 1000.0).round())
        .stem_v(80.0)
        .font_file2(file_ref);

    let mut cmap = UnicodeCmap::new(Name(b"Custom"), system_info);
    for (g, c) in usage.glyphs() {
        if let Some(&cid) = map.get(&g) {
            cmap.pair(cid, c);
        }
    }
    let cmap_data = deflate(&cmap.finish());
    pdf.cmap(cmap_ref, &cmap_data).filter(Filter::FlateDecode);

    let compressed = deflate(&program);
    let mut file = pdf.stream(file_ref, &compressed);
    file.filter(Filter::FlateDecode);
    file.pair(Name(b"Length1"), program.len() as i32);
    file.finish();

    Ok(Subset { map })
}
