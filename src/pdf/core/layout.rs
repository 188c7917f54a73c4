//! Reading-order text from the glyph list: content order, synthetic spaces for gaps
//! (> 0.2 em), '\n' between lines, "\n\n" between paragraphs, de-hyphenation at line ends.

use super::interp::{PageScan, RawGlyph};
use super::{Glyph, PageStatus, PageText};

const GAP_EM: f64 = 0.2;

fn is_hyphen(s: &str) -> bool {
    matches!(s, "-" | "\u{ad}" | "\u{2010}")
}

fn expand(u: &str) -> String {
    let mut s = String::new();
    for c in u.chars() {
        match c {
            '\u{fb00}' => s.push_str("ff"),
            '\u{fb01}' => s.push_str("fi"),
            '\u{fb02}' => s.push_str("fl"),
            '\u{fb03}' => s.push_str("ffi"),
            '\u{fb04}' => s.push_str("ffl"),
            '\u{fb05}' | '\u{fb06}' => s.push_str("st"),
            c if c.is_control() || c.is_whitespace() || c == '\u{a0}' => s.push(' '),
            c => s.push(c),
        }
    }
    s
}

pub fn build(index: usize, scan: &PageScan) -> PageText {
    let mut text = String::new();
    let mut glyphs: Vec<Glyph> = Vec::with_capacity(scan.glyphs.len());
    let mut unmapped = 0usize;
    let mut prev: Option<&RawGlyph> = None;
    for g in &scan.glyphs {
        let u = match &g.unicode {
            Some(u) => expand(u),
            None => {
                unmapped += 1;
                "\u{FFFD}".to_string()
            }
        };
        // separator before this glyph
        if let Some(p) = prev {
            let em = p.em.max(g.em).max(0.01);
            let d = (g.origin.0 - p.next.0, g.origin.1 - p.next.1);
            let along = d.0 * p.dir.0 + d.1 * p.dir.1;
            let perp = (d.1 * p.dir.0 - d.0 * p.dir.1).abs();
            let same_dir = (p.dir.0 * g.dir.0 + p.dir.1 * g.dir.1) > 0.9;
            let newline = perp > 0.5 * em || !same_dir || along < -em;
            if newline {
                let first_lower = u.chars().next().map(|c| c.is_lowercase()).unwrap_or(false);
                if !try_join(&mut text, &mut glyphs, first_lower) {
                    while text.ends_with(' ') {
                        text.pop();
                    }
                    if !text.is_empty() {
                        text.push_str(if perp > 1.9 * em { "\n\n" } else { "\n" });
                    }
                }
            } else if along > GAP_EM * em && !text.is_empty() && !text.ends_with([' ', '\n']) && !u.starts_with(' ') {
                text.push(' ');
            }
        }
        let start = text.len();
        if u.is_empty() {
            // carries no text
        } else if u.trim().is_empty() {
            // whitespace glyph: one space at most
            if !text.is_empty() && !text.ends_with([' ', '\n']) {
                text.push(' ');
            }
        } else {
            text.push_str(&u);
        }
        glyphs.push(Glyph {
            unicode: g.unicode.clone().unwrap_or_default(),
            bbox: g.bbox,
            visible: g.visible,
            text_range: start..text.len(),
        });
        prev = Some(g);
    }
    let status = if unmapped > 0 {
        PageStatus::Unmapped { glyphs: unmapped }
    } else if scan.image_area > 0.6 * (scan.width * scan.height).abs()
        && glyphs.iter().filter(|g| !g.text_range.is_empty()).count() < 20
    {
        PageStatus::ImageOnly
    } else {
        PageStatus::Ok
    };
    PageText { index, text, glyphs, status, width: scan.width, height: scan.height }
}

/// At a line end: if the last visible text is "<letter>-" and the next line starts with a
/// lowercase letter, remove the hyphen from the text (its glyph keeps an empty range at the
/// join) and join the lines. Returns true when joined.
fn try_join(text: &mut String, glyphs: &mut [Glyph], next_lower: bool) -> bool {
    if !next_lower {
        return false;
    }
    // last glyph with non-empty text, skipping trailing spaces
    let mut k = glyphs.len();
    while k > 0 {
        let g = &glyphs[k - 1];
        let s = &text[g.text_range.clone()];
        if s.trim().is_empty() {
            k -= 1;
            continue;
        }
        break;
    }
    if k == 0 {
        return false;
    }
    let h = &glyphs[k - 1];
    if !is_hyphen(&text[h.text_range.clone()]) {
        return false;
    }
    let before = &text[..h.text_range.start];
    if !before.chars().next_back().map(|c| c.is_alphabetic()).unwrap_or(false) {
        return false;
    }
    let p = h.text_range.start;
    text.truncate(p);
    for g in glyphs[k - 1..].iter_mut() {
        g.text_range = p..p;
    }
    true
}
