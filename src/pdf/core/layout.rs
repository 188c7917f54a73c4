//! Reading-order text from the glyph list, in the order a reader sees it (the order a content
//! stream draws glyphs in is not it: a name can be drawn last letter first).
//!
//! 1. Lines come from glyph positions. A glyph continues the line of the glyph drawn before it
//!    when it sits on the same baseline (within half an em) and does not jump back more than an
//!    em before the line's start; otherwise it joins an earlier line on its baseline that it
//!    touches (within 0.3 em, less than a word space, so columns and table cells stay apart), or
//!    starts a new line. Within a line glyphs are ordered by their position along it (right to
//!    left when most of its letters are of a right-to-left script), and a glyph drawn again on top
//!    of the same glyph (fake bold, shadows) is read once.
//! 2. Lines are taken in the order the content first draws them, except that a run of lines
//!    drawn one after the other that stack as one column (they overlap across, and each is within
//!    2.5 em of the others) is read top to bottom. Producers lay out columns and table cells
//!    in their own order, which is kept.
//! 3. Text: a space for a gap over 0.2 em, '\n' between lines, "\n\n" where the baseline moves
//!    more than 1.9 em, and a line-end hyphen before a lower-case letter joined away (its glyph
//!    keeps an empty range at the join). A hyphen before an upper-case letter stays, with the
//!    line break, for detection's normalisation to judge ("SURNA-\nME").
//!
//! The glyph list itself stays in content order (the rewriter and the verifier index it); each
//! glyph's `text_range` and `line` say where it reads.

use super::interp::{PageScan, RawGlyph};
use super::{Glyph, Hold, PageStatus, PageText};
use std::collections::BTreeMap;

const GAP_EM: f64 = 0.2;
/// How far a glyph may sit from an earlier line (not the one drawn just before) to join it.
const TOUCH_EM: f64 = 0.3;
/// How far apart (across) lines drawn one after the other may be and still be one column.
const STACK_EM: f64 = 2.5;

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

fn dot(a: (f64, f64), b: (f64, f64)) -> f64 {
    a.0 * b.0 + a.1 * b.1
}

/// Position across the line: along the "up" vector of direction `d` (for left-to-right text, y).
fn across(p: (f64, f64), d: (f64, f64)) -> f64 {
    p.1 * d.0 - p.0 * d.1
}

fn is_rtl(c: char) -> bool {
    matches!(c as u32, 0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF)
}

struct Line {
    dir: (f64, f64),
    /// most of its letters are of a right-to-left script: read right to left
    rtl: bool,
    across: f64,
    /// extent along `dir`
    lo: f64,
    hi: f64,
    em: f64,
    members: Vec<usize>,
}

impl Line {
    fn same_dir(&self, g: &RawGlyph) -> bool {
        dot(self.dir, g.dir) > 0.9
    }
    fn on_baseline(&self, g: &RawGlyph) -> bool {
        let em = self.em.max(g.em).max(0.01);
        self.same_dir(g) && (across(g.origin, self.dir) - self.across).abs() <= 0.5 * em
    }
    fn add(&mut self, gi: usize, g: &RawGlyph) {
        let (a, b) = (dot(g.origin, self.dir), dot(g.next, self.dir));
        self.lo = self.lo.min(a.min(b));
        self.hi = self.hi.max(a.max(b));
        self.em = self.em.max(g.em);
        self.members.push(gi);
    }
}

fn key(v: f64) -> i64 {
    (v * 8.0).round().clamp(-1e15, 1e15) as i64
}

/// Group the glyphs into lines (see the module docs), in the order each line is first drawn.
fn lines(glyphs: &[RawGlyph]) -> Vec<Line> {
    let mut lines: Vec<Line> = Vec::new();
    // lines by their position across (in eighths of a point), to find a baseline's lines quickly
    let mut by_across: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    let mut cur: Option<usize> = None;
    for (gi, g) in glyphs.iter().enumerate() {
        let em = g.em.max(0.01);
        let continues = cur.filter(|&l| {
            let line = &lines[l];
            line.on_baseline(g) && dot(g.origin, line.dir) >= line.lo - line.em.max(em)
        });
        let target = continues.or_else(|| {
            let a = across(g.origin, g.dir);
            let reach = 0.5 * em;
            let mut best: Option<usize> = None;
            for (_, ls) in by_across.range(key(a - reach * 4.0)..=key(a + reach * 4.0)) {
                for &l in ls {
                    let line = &lines[l];
                    if !line.on_baseline(g) {
                        continue;
                    }
                    let t = TOUCH_EM * line.em.max(em);
                    let (x0, x1) = (dot(g.origin, line.dir), dot(g.next, line.dir));
                    if x0.min(x1) <= line.hi + t && x0.max(x1) >= line.lo - t && best.is_none_or(|b| l > b) {
                        best = Some(l);
                    }
                }
            }
            best
        });
        let l = match target {
            Some(l) => l,
            None => {
                let d = g.dir;
                let a = dot(g.origin, d);
                lines.push(Line {
                    dir: d,
                    rtl: false,
                    across: across(g.origin, d),
                    lo: a,
                    hi: a,
                    em: g.em,
                    members: vec![],
                });
                let l = lines.len() - 1;
                by_across.entry(key(lines[l].across)).or_default().push(l);
                l
            }
        };
        lines[l].add(gi, g);
        cur = Some(l);
    }
    lines
}

/// The reading order of the lines: blocks of lines drawn one after the other that stack as one
/// column are read top to bottom; otherwise the order they were first drawn in.
fn line_order(lines: &[Line]) -> Vec<usize> {
    let mut order = Vec::with_capacity(lines.len());
    let mut block: Vec<usize> = Vec::new();
    let (mut lo, mut hi, mut top, mut bottom) = (0.0, 0.0, 0.0, 0.0);
    let flush = |block: &mut Vec<usize>, order: &mut Vec<usize>| {
        // top to bottom, ties in drawing order
        block.sort_by(|a, b| lines[*b].across.total_cmp(&lines[*a].across).then(a.cmp(b)));
        order.append(block);
    };
    for (i, l) in lines.iter().enumerate() {
        let joins = block.first().is_some_and(|&f| {
            let first = &lines[f];
            let reach = STACK_EM * first.em.max(l.em).max(0.01);
            dot(first.dir, l.dir) > 0.99
                && l.lo < hi
                && lo < l.hi
                && l.across <= top + reach
                && l.across >= bottom - reach
        });
        if !joins {
            flush(&mut block, &mut order);
            (lo, hi, top, bottom) = (l.lo, l.hi, l.across, l.across);
        }
        block.push(i);
        (lo, hi) = (f64::min(lo, l.lo), f64::max(hi, l.hi));
        (top, bottom) = (f64::max(top, l.across), f64::min(bottom, l.across));
    }
    flush(&mut block, &mut order);
    order
}

pub fn build(index: usize, scan: &PageScan) -> PageText {
    let raw = &scan.glyphs;
    let mut unmapped = 0usize;
    let texts: Vec<String> = raw
        .iter()
        .map(|g| match &g.unicode {
            Some(u) => expand(u),
            None => {
                unmapped += 1;
                "\u{FFFD}".to_string()
            }
        })
        .collect();
    let mut glyphs: Vec<Glyph> = raw
        .iter()
        .map(|g| Glyph {
            unicode: g.unicode.clone().unwrap_or_default(),
            bbox: g.bbox,
            visible: g.visible,
            text_range: 0..0,
            line: 0,
        })
        .collect();
    let mut lines = lines(raw);
    for line in lines.iter_mut() {
        let d = line.dir;
        // stable: glyphs at the same place stay in drawing order
        line.members.sort_by(|&a, &b| dot(raw[a].origin, d).total_cmp(&dot(raw[b].origin, d)));
        line.rtl = bidi_order(&mut line.members, &texts);
    }
    let mut text = String::new();
    let mut prev: Option<usize> = None;
    // the last glyph that wrote text other than a space (a line-end hyphen is looked for there)
    let mut last_text: Option<usize> = None;
    for (li, &l) in line_order(&lines).iter().enumerate() {
        let line = &lines[l];
        let mut rep: Option<usize> = None; // the last glyph read (a glyph drawn over it is its twin)
        for (k, &gi) in line.members.iter().enumerate() {
            let g = &raw[gi];
            let u = &texts[gi];
            glyphs[gi].line = li;
            if let Some(r) = rep.filter(|&r| is_twin(&raw[r], g, &texts[r], u, line.dir)) {
                glyphs[gi].text_range = glyphs[r].text_range.clone();
                continue;
            }
            if let Some(p) = prev {
                let pg = &raw[p];
                let em = pg.em.max(g.em).max(0.01);
                if k == 0 {
                    let dist = (across(g.origin, line.dir) - across(pg.origin, line.dir)).abs();
                    let first_lower = u.chars().next().map(|c| c.is_lowercase()).unwrap_or(false);
                    if !(first_lower && try_join(&mut text, &mut glyphs, last_text)) {
                        while text.ends_with(' ') {
                            text.pop();
                        }
                        if !text.is_empty() {
                            let para = dot(pg.dir, line.dir) > 0.9 && dist > 1.9 * em;
                            text.push_str(if para { "\n\n" } else { "\n" });
                        }
                    }
                } else {
                    // how far apart the two glyphs are, on whichever side (right-to-left runs)
                    let d = line.dir;
                    let gap = f64::max(dot(g.origin, d) - dot(pg.next, d), dot(pg.origin, d) - dot(g.next, d));
                    if gap > GAP_EM * em && !text.is_empty() && !text.ends_with([' ', '\n']) && !u.starts_with(' ') {
                        text.push(' ');
                    }
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
                text.push_str(u);
                last_text = Some(gi);
            }
            glyphs[gi].text_range = start..text.len();
            prev = Some(gi);
            rep = Some(gi);
        }
    }
    PageText { index, status: status(scan, &glyphs, unmapped), text, glyphs, width: scan.width, height: scan.height }
}

/// The direction of a glyph's text: right-to-left, left-to-right, or neither (spaces, marks of
/// punctuation), from its first letter or digit.
fn strong(t: &str) -> Option<bool> {
    t.chars().find(|c| c.is_alphanumeric()).map(is_rtl)
}

/// Put a line's glyphs, sorted left to right, in reading order: a line whose letters are mostly
/// of a right-to-left script reads right to left, with its runs of left-to-right letters and
/// digits (and what lies between them) kept left to right; a left-to-right line reads its
/// right-to-left runs right to left. Returns whether the line reads right to left.
fn bidi_order(members: &mut [usize], texts: &[String]) -> bool {
    let (mut r, mut n) = (0usize, 0usize);
    for c in members.iter().flat_map(|&g| texts[g].chars()).filter(|c| c.is_alphabetic()) {
        n += 1;
        r += usize::from(is_rtl(c));
    }
    if r == 0 {
        return false;
    }
    let base_rtl = r * 2 > n;
    if base_rtl {
        members.reverse();
    }
    // reverse each maximal run of glyphs of the other direction (neutrals inside a run join it)
    let other = !base_rtl;
    let mut i = 0;
    while i < members.len() {
        if strong(&texts[members[i]]) != Some(other) {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        let mut end = i + 1;
        while j < members.len() {
            match strong(&texts[members[j]]) {
                Some(d) if d == other => end = j + 1,
                Some(_) => break,
                None => {}
            }
            j += 1;
        }
        members[i..end].reverse();
        i = end;
    }
    base_rtl
}

/// A glyph drawn again over the glyph just read: the same text, less than a third of its advance
/// away along the line and a fifth of an em across (fake bold, shadows, overprinting).
fn is_twin(a: &RawGlyph, b: &RawGlyph, ta: &str, tb: &str, d: (f64, f64)) -> bool {
    if ta != tb || ta.trim().is_empty() {
        return false;
    }
    let adv = (dot(a.next, d) - dot(a.origin, d)).abs().max(0.05 * a.em);
    let along = (dot(b.origin, d) - dot(a.origin, d)).abs();
    let acr = (across(b.origin, d) - across(a.origin, d)).abs();
    along < adv / 3.0 && acr < 0.2 * a.em.max(b.em).max(0.01)
}

/// Why a page cannot be passed as read, if it cannot (see `Hold`): the structure a viewer draws
/// further than the reader first, then fonts, then pictures.
fn status(scan: &PageScan, glyphs: &[Glyph], unmapped: usize) -> PageStatus {
    let h = &scan.holds;
    if h.form_cycle {
        return PageStatus::Held(Hold::FormCycle);
    }
    if h.forms_too_deep {
        return PageStatus::Held(Hold::FormsTooDeep);
    }
    if let Some(kind) = h.hidden_text {
        return PageStatus::Held(Hold::HiddenText(kind));
    }
    if unmapped > 0 {
        return PageStatus::Unmapped { glyphs: unmapped };
    }
    if h.tounicode_conflicts > 0 {
        return PageStatus::Held(Hold::ToUnicodeConflict { glyphs: h.tounicode_conflicts });
    }
    let page_area = (scan.width * scan.height).abs();
    if scan.image_area > 0.6 * page_area && glyphs.iter().filter(|g| !g.text_range.is_empty()).count() < 20 {
        return PageStatus::ImageOnly;
    }
    let pictures = scan.images.iter().filter(|im| can_hold_text(im, scan)).count();
    if pictures > 0 {
        return PageStatus::Held(Hold::PictureOfText { images: pictures });
    }
    PageStatus::Ok
}

/// Whether an image drawn on a page is large enough to hold text a reader could read: it has at
/// least 16 x 8 pixels (when its size is given), and on the page it covers at least 2.5% of the
/// page, or is at least 40% of the page's width and 6 pt tall (a line of text, a banner). Smaller
/// pictures, such as logos, signatures and rules, are left alone; reading the pixels of the rest
/// is for OCR.
pub fn can_hold_text(im: &super::interp::ImageUse, scan: &PageScan) -> bool {
    let (pw, ph) = im.pixels;
    if pw > 0.0 && ph > 0.0 && (pw.max(ph) < 16.0 || pw.min(ph) < 8.0) {
        return false;
    }
    let c = scan.crop;
    let b = im.bbox;
    let (x0, y0, x1, y1) = (b[0].max(c[0]), b[1].max(c[1]), b[2].min(c[2]), b[3].min(c[3]));
    let (w, h) = (x1 - x0, y1 - y0);
    if !(w > 0.0 && h > 0.0) {
        return false; // off the page
    }
    let (page_w, page_h) = (c[2] - c[0], c[3] - c[1]);
    let wide = w.max(h) >= 0.4 * page_w.min(page_h) && w.min(h) >= 6.0;
    w * h >= 0.025 * page_w * page_h || wide
}

/// At a line end, before a line that starts with a lower-case letter: if the last text read is
/// "<letter>-", remove the hyphen from the text (its glyph, and any space after it, keep an empty
/// range at the join) and join the lines. Returns true when joined.
fn try_join(text: &mut String, glyphs: &mut [Glyph], last_text: Option<usize>) -> bool {
    let Some(h) = last_text else { return false };
    let r = glyphs[h].text_range.clone();
    if r.is_empty() || r.end != text.trim_end_matches(' ').len() || !is_hyphen(&text[r.clone()]) {
        return false;
    }
    if !text[..r.start].chars().next_back().is_some_and(|c| c.is_alphabetic()) {
        return false;
    }
    let p = r.start;
    text.truncate(p);
    for g in glyphs.iter_mut().filter(|g| g.text_range.start >= p) {
        g.text_range = p..p;
    }
    true
}
