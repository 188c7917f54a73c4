//! Line breaking and pagination.
//!
//! Produces pages of absolutely positioned drawing items (PDF coordinates,
//! origin bottom-left). Page labels of index entries are not known here:
//! they are placed as [`Item::Label`] in a fixed-width column and resolved by
//! `write` after pagination, so layout never depends on label text.

use std::collections::HashMap;

use super::font::{clean_text, Font};
use super::{foreign, Block, Doc, ForeignPage, PartContent, RenderError, Run};

pub(crate) const PAGE_W: f32 = 595.28;
pub(crate) const PAGE_H: f32 = 841.89;
pub(crate) const MARGIN_X: f32 = 62.0;
/// Top of the body area (below the running header).
pub(crate) const BODY_TOP: f32 = PAGE_H - 76.0;
/// Lowest point the body may reach (above the footer).
pub(crate) const BODY_BOTTOM: f32 = 66.0;

pub(crate) const INK: f32 = 0.12;
pub(crate) const BODY_SIZE: f32 = 10.5;
pub(crate) const LEADING: f32 = 1.42;

/// Width of the page-label column of index entries.
const LABEL_COL: f32 = 40.0;
const DATE_COL: f32 = 74.0;

#[derive(Clone, Debug)]
pub(crate) enum Item {
    Text {
        x: f32,
        y: f32,
        size: f32,
        gray: f32,
        bold: bool,
        text: String,
        /// horizontal scaling (1: none)
        hscale: f32,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Option<f32>,
        stroke: Option<(f32, f32)>,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        gray: f32,
        width: f32,
        dotted: bool,
    },
    /// Page label of `anchor`, right-aligned at `x_right` (resolved later).
    Label {
        x_right: f32,
        y: f32,
        size: f32,
        gray: f32,
        anchor: String,
    },
}

/// An element of the structure tree (tagged PDF): its role (`H1`, `P`, `Table`, `Span`, ...),
/// its parent (element 0, the `Document`, is the root's child) and its children in reading order.
#[derive(Clone, Debug)]
pub(crate) struct Elem {
    pub role: &'static str,
    pub parent: u32,
    /// Alternative text (marks: "redacted: ..."; attachment pages).
    pub alt: Option<String>,
    pub kids: Vec<Kid>,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Kid {
    Elem(u32),
    /// A marked-content sequence of a page.
    Mc {
        page: usize,
        mcid: u32,
    },
}

/// What a run of a page's items is, from an item index on: content of a structure element (its
/// role and the sequence's MCID) or, when none, an artifact (rules, shading, running header and
/// footer).
pub(crate) type TagRun = (usize, Option<(&'static str, u32)>);

pub(crate) enum PageKind {
    Flow,
    Foreign { fp: ForeignPage, geo: foreign::Geometry },
}

pub(crate) struct Page {
    pub part: usize,
    pub kind: PageKind,
    pub width: f32,
    pub height: f32,
    pub items: Vec<Item>,
    /// Link rectangles [x1 y1 x2 y2] to anchors.
    pub links: Vec<([f32; 4], String)>,
    /// Runs of tagged items (see [`TagRun`]); items before the first run are artifacts.
    pub tags: Vec<TagRun>,
    /// Marked-content ids given out on this page.
    pub next_mcid: u32,
    /// A foreign page's MCID for the embedded page itself (a `Figure`).
    pub figure: Option<u32>,
}

impl Page {
    fn new(part: usize, kind: PageKind, width: f32, height: f32) -> Page {
        Page {
            part,
            kind,
            width,
            height,
            items: Vec::new(),
            links: Vec::new(),
            tags: Vec::new(),
            next_mcid: 0,
            figure: None,
        }
    }

    /// Items pushed from here on are artifacts.
    pub(crate) fn artifacts_from_here(&mut self) {
        if self.tags.last().is_some_and(|t| t.1.is_some()) {
            self.tags.push((self.items.len(), None));
        }
    }
}

pub(crate) struct OutlineEntry {
    /// 0 = part, 1..=3 = heading level; foreign pages use 2.
    pub level: u8,
    pub title: String,
    pub page: usize,
    pub top: f32,
    /// The first entry of a part: nesting never crosses parts.
    pub part_start: bool,
}

/// Where finished pages go: each page is handed over (with its index) as soon as the next one
/// starts, so a whole bundle never needs to be held laid out in memory.
pub(crate) type PageSink<'s> = &'s mut dyn FnMut(usize, Page) -> Result<(), RenderError>;

pub(crate) struct Layout<'s> {
    /// Without a sink, every page; with one, only the page being filled.
    pub pages: Vec<Page>,
    /// Pages started so far.
    pub page_count: usize,
    /// The part and the height of every page (small: kept for numbering and bookmarks).
    pub page_parts: Vec<usize>,
    pub page_heights: Vec<f32>,
    pub outline: Vec<OutlineEntry>,
    /// anchor -> (page index, y); plus document order.
    pub anchors: HashMap<String, (usize, f32)>,
    pub anchor_order: Vec<String>,
    /// (mark id, page index) for every mark drawn in the body, in drawing order.
    pub mark_pages: Vec<(u32, usize)>,
    pub link_targets: Vec<String>,
    /// The structure tree, element 0 the `Document`.
    pub tree: Vec<Elem>,
    sink: Option<PageSink<'s>>,
    /// The first error the sink returned; layout goes on, and the error is returned at the end.
    sink_error: Option<RenderError>,
}

impl Layout<'_> {
    /// Start a new page; with a sink, the page before it is finished and handed over.
    fn push_page(&mut self, page: Page) {
        self.emit_current();
        self.page_parts.push(page.part);
        self.page_heights.push(page.height);
        self.pages.push(page);
        self.page_count += 1;
    }

    fn emit_current(&mut self) {
        let Some(sink) = self.sink.as_mut() else { return };
        if let Some(prev) = self.pages.pop() {
            if self.sink_error.is_none() {
                if let Err(e) = sink(self.page_count - 1, prev) {
                    self.sink_error = Some(e);
                }
            }
        }
    }

    fn current(&mut self) -> &mut Page {
        self.pages.last_mut().expect("page exists")
    }

    /// A new structure element under `parent`, appended to the parent's children.
    pub(crate) fn elem(&mut self, role: &'static str, parent: u32, alt: Option<String>) -> u32 {
        let id = self.tree.len() as u32;
        self.tree.push(Elem { role, parent, alt, kids: Vec::new() });
        self.tree[parent as usize].kids.push(Kid::Elem(id));
        id
    }

    /// Push an item on the current page as content of `tag` (an element), or as an artifact.
    fn push_tagged(&mut self, item: Item, tag: Option<u32>) {
        let page_idx = self.page_count - 1;
        let role = tag.map(|e| self.tree[e as usize].role);
        let page = self.pages.last_mut().expect("page exists");
        let cur = page.tags.last().and_then(|t| t.1);
        let same = match (cur, tag) {
            (None, None) => true,
            (Some((r, m)), Some(e)) => {
                Some(r) == role
                    && self.tree[e as usize]
                        .kids
                        .last()
                        .is_some_and(|k| matches!(k, Kid::Mc { page, mcid } if *page == page_idx && *mcid == m))
            }
            _ => false,
        };
        if !same {
            match tag {
                None => page.tags.push((page.items.len(), None)),
                Some(e) => {
                    let m = page.next_mcid;
                    page.next_mcid += 1;
                    page.tags.push((page.items.len(), Some((role.unwrap_or("Span"), m))));
                    self.tree[e as usize].kids.push(Kid::Mc { page: page_idx, mcid: m });
                }
            }
        }
        page.items.push(item);
    }
}

// ---------------------------------------------------------------- inline model

#[derive(Clone, Debug)]
enum Seg {
    Text {
        s: String,
        bold: bool,
        w: f32,
    },
    /// `code` is the mark's reason code (for its alternative text); `text` what the box shows.
    Mark {
        text: String,
        code: String,
        w: f32,
        id: Option<u32>,
    },
}

#[derive(Clone, Debug, Default)]
struct Word {
    segs: Vec<Seg>,
    width: f32,
}

#[derive(Clone, Debug)]
enum Tok {
    Word(Word),
    Space(f32),
    Newline,
}

/// A laid-out line: segments with x offsets relative to the line start.
#[derive(Clone, Debug, Default)]
pub(crate) struct Line {
    segs: Vec<(f32, Seg)>,
    width: f32,
}

pub(crate) struct Style {
    pub size: f32,
    pub gray: f32,
    pub bold: bool,
}

struct Ctx<'a> {
    font: &'a Font,
    /// Plain words of each reason code, for the alternative text of marks.
    words: &'a HashMap<String, String>,
    missing: Vec<char>,
    warnings: Vec<String>,
}

impl Ctx<'_> {
    fn clean(&mut self, s: &str) -> String {
        clean_text(self.font, s, &mut self.missing)
    }

    fn w(&self, s: &str, size: f32) -> f32 {
        self.font.width(s, size)
    }

    fn mark_seg(&mut self, code: &str, label: &Option<String>, width_of: &str, size: f32, id: Option<u32>) -> Seg {
        // width_of is measured only; it is never stored in an item.
        let natural = self.font.width(width_of, size);
        let text = match label {
            Some(l) => self.clean(l),
            None => self.clean(code),
        };
        let inner = self.w(&text, mark_text_size(size)) + size * 0.9;
        Seg::Mark { text, code: code.to_string(), w: natural.max(inner), id }
    }

    fn tokenize(&mut self, runs: &[Run], size: f32, bold_all: bool) -> Vec<Tok> {
        let mut toks = Vec::new();
        let mut cur = Word::default();
        let flush = |cur: &mut Word, toks: &mut Vec<Tok>| {
            if !cur.segs.is_empty() {
                toks.push(Tok::Word(std::mem::take(cur)));
            }
        };
        let space_w = self.w(" ", size);
        for run in runs {
            let (s, bold) = match run {
                Run::Text(s) => (s, bold_all),
                Run::Bold(s) => (s, true),
                Run::Mark { code, label, width_of, id } => {
                    let seg = self.mark_seg(code, label, width_of, size, *id);
                    if let Seg::Mark { w, .. } = &seg {
                        cur.width += *w;
                    }
                    cur.segs.push(seg);
                    continue;
                }
            };
            // '\n' is a line break; other whitespace separates words
            let s = s.replace("\r\n", "\n");
            for piece in s.split_inclusive('\n') {
                let (body, nl) = match piece.strip_suffix('\n') {
                    Some(b) => (b, true),
                    None => (piece, false),
                };
                let body = self.clean(body);
                for ch in body.chars() {
                    if ch == ' ' {
                        flush(&mut cur, &mut toks);
                        if !matches!(toks.last(), Some(Tok::Space(_)) | Some(Tok::Newline) | None) {
                            toks.push(Tok::Space(space_w));
                        }
                    } else {
                        let cw = self.font.char_width(ch, size);
                        cur.width += cw;
                        match cur.segs.last_mut() {
                            Some(Seg::Text { s, bold: b, w }) if *b == bold => {
                                s.push(ch);
                                *w += cw;
                            }
                            _ => cur.segs.push(Seg::Text { s: ch.to_string(), bold, w: cw }),
                        }
                    }
                }
                if nl {
                    flush(&mut cur, &mut toks);
                    if let Some(Tok::Space(_)) = toks.last() {
                        toks.pop();
                    }
                    toks.push(Tok::Newline);
                }
            }
        }
        flush(&mut cur, &mut toks);
        while let Some(Tok::Space(_)) = toks.last() {
            toks.pop();
        }
        toks
    }

    /// Greedy line breaking by measured advances.
    fn break_lines(&mut self, toks: &[Tok], max: f32, size: f32) -> Vec<Line> {
        let mut lines = Vec::new();
        let mut cur = Line::default();
        let mut pending: Option<f32> = None;
        for tok in toks {
            match tok {
                Tok::Newline => {
                    lines.push(std::mem::take(&mut cur));
                    pending = None;
                }
                Tok::Space(w) => {
                    if !cur.segs.is_empty() {
                        pending = Some(*w);
                    }
                }
                Tok::Word(word) => {
                    let sp = pending.unwrap_or(0.0);
                    if cur.segs.is_empty() || cur.width + sp + word.width <= max + 0.01 {
                        if cur.segs.is_empty() && word.width > max + 0.01 {
                            self.split_word(word, max, size, &mut cur, &mut lines);
                        } else {
                            let sp = if cur.segs.is_empty() { None } else { pending };
                            append_word(&mut cur, word, sp);
                        }
                    } else {
                        lines.push(std::mem::take(&mut cur));
                        if word.width > max + 0.01 {
                            self.split_word(word, max, size, &mut cur, &mut lines);
                        } else {
                            append_word(&mut cur, word, None);
                        }
                    }
                    pending = None;
                }
            }
        }
        if !cur.segs.is_empty() || lines.is_empty() {
            lines.push(cur);
        }
        lines
    }

    /// A word wider than the line, broken by characters (marks are kept
    /// whole, clamped to the line width).
    fn split_word(&mut self, word: &Word, max: f32, size: f32, cur: &mut Line, lines: &mut Vec<Line>) {
        for seg in &word.segs {
            match seg {
                Seg::Mark { text, code, w, id } => {
                    if *w > max + 0.01 {
                        self.warnings
                            .push(format!("a redaction mark ({text}) is wider than the line and was shortened to fit"));
                    }
                    let w = w.min(max);
                    if !cur.segs.is_empty() && cur.width + w > max + 0.01 {
                        lines.push(std::mem::take(cur));
                    }
                    cur.segs.push((cur.width, Seg::Mark { text: text.clone(), code: code.clone(), w, id: *id }));
                    cur.width += w;
                }
                Seg::Text { s, bold, .. } => {
                    for ch in s.chars() {
                        let cw = self.font.char_width(ch, size);
                        if !cur.segs.is_empty() && cur.width + cw > max + 0.01 {
                            lines.push(std::mem::take(cur));
                        }
                        push_text(cur, ch.to_string(), *bold, cw);
                    }
                }
            }
        }
    }
}

fn push_text(line: &mut Line, s: String, bold: bool, w: f32) {
    if let Some((_, Seg::Text { s: last, bold: b, w: lw })) = line.segs.last_mut() {
        if *b == bold {
            last.push_str(&s);
            *lw += w;
            line.width += w;
            return;
        }
    }
    line.segs.push((line.width, Seg::Text { s, bold, w }));
    line.width += w;
}

fn append_word(line: &mut Line, word: &Word, space: Option<f32>) {
    for (i, seg) in word.segs.iter().enumerate() {
        match seg {
            Seg::Text { s, bold, w } => {
                if i == 0 {
                    if let Some(sp) = space {
                        // merge "prev word" into one string so that text
                        // extraction sees a real space; the advance of ' '
                        // equals `sp`
                        if let Some((_, Seg::Text { s: last, bold: b, w: lw })) = line.segs.last_mut() {
                            if *b == *bold {
                                last.push(' ');
                                last.push_str(s);
                                *lw += sp + *w;
                                line.width += sp + *w;
                                continue;
                            }
                        }
                        line.width += sp;
                    }
                }
                line.segs.push((line.width, seg.clone()));
                line.width += *w;
            }
            Seg::Mark { w, .. } => {
                if i == 0 {
                    if let Some(sp) = space {
                        line.width += sp;
                    }
                }
                line.segs.push((line.width, seg.clone()));
                line.width += *w;
            }
        }
    }
}

/// The alternative text of a mark: what a screen reader says instead of its box.
pub(crate) fn mark_alt(words: &HashMap<String, String>, code: &str) -> String {
    match words.get(code) {
        Some(w) if !w.trim().is_empty() => format!("redacted: {w} ({code})"),
        _ => format!("redacted ({code})"),
    }
}

/// The grey of a mark's box (record pages; attachment pages are painted the same by `pdf::core`).
pub(crate) const MARK_FILL: f32 = 0.1;
/// The smallest type a mark's code is written in.
pub(crate) const MIN_MARK_TEXT: f32 = 6.0;

pub(crate) fn mark_text_size(size: f32) -> f32 {
    (size * 0.78).max(6.5)
}

// ---------------------------------------------------------------- paginator

struct Flow<'a, 'b, 's> {
    ctx: Ctx<'a>,
    out: &'b mut Layout<'s>,
    part: usize,
    y: f32,
    /// Nothing placed on the current page yet.
    fresh: bool,
    /// The structure element the text being drawn belongs to (none: an artifact).
    tag: Option<u32>,
    /// The index table being filled (consecutive index entries are rows of one table).
    index_table: Option<u32>,
}

impl Flow<'_, '_, '_> {
    fn new_page(&mut self) {
        self.out.push_page(Page::new(self.part, PageKind::Flow, PAGE_W, PAGE_H));
        self.y = BODY_TOP;
        self.fresh = true;
    }

    fn page(&mut self) -> &mut Page {
        self.out.current()
    }

    fn idx(&self) -> usize {
        self.out.page_count - 1
    }

    fn fits(&self, h: f32) -> bool {
        self.y - h >= BODY_BOTTOM - 0.01
    }

    /// Make room for `h`; starts a new page if needed.
    fn ensure(&mut self, h: f32) {
        if !self.fits(h) && !self.fresh {
            self.new_page();
        }
    }

    /// Vertical gap (dropped at the top of a page).
    fn gap(&mut self, h: f32) {
        if !self.fresh {
            self.y -= h;
        }
    }

    /// Push an item: text is content of the current element, rules and shading are artifacts.
    fn push(&mut self, item: Item) {
        self.fresh = false;
        let tag = match item {
            Item::Text { .. } | Item::Label { .. } => self.tag,
            _ => None,
        };
        self.out.push_tagged(item, tag);
    }

    /// A new structure element under the current one (or the document).
    fn elem(&mut self, role: &'static str) -> u32 {
        let parent = self.tag.unwrap_or(0);
        self.out.elem(role, parent, None)
    }

    /// Push a line's items: each mark becomes a `Span` with alternative text, under the current
    /// element.
    fn push_line(&mut self, items: Vec<(Item, Option<(usize, String)>)>) {
        let mut span: Option<(usize, u32)> = None;
        for (it, m) in items {
            let Some((k, code)) = m else {
                self.push(it);
                continue;
            };
            let e = match span {
                Some((kk, e)) if kk == k => e,
                _ => {
                    let alt = mark_alt(self.ctx.words, &code);
                    let e = self.out.elem("Span", self.tag.unwrap_or(0), Some(alt));
                    span = Some((k, e));
                    e
                }
            };
            self.fresh = false;
            self.out.push_tagged(it, Some(e));
        }
    }

    fn content_width(&self) -> f32 {
        PAGE_W - 2.0 * MARGIN_X
    }

    /// Note the page of every mark on a line drawn in the body.
    fn note_marks(&mut self, line: &Line) {
        let idx = self.idx();
        for (_, s) in &line.segs {
            if let Seg::Mark { id: Some(id), .. } = s {
                self.out.mark_pages.push((*id, idx));
            }
        }
    }

    /// Draw one line whose top is the current y; advances y.
    fn draw_line(&mut self, line: &Line, x0: f32, style: &Style, lh: f32) {
        self.note_marks(line);
        let base = baseline(self.y, lh, style.size);
        let items = line_items(line, x0, base, style);
        self.push_line(items);
        self.fresh = false;
        self.y -= lh;
    }

    fn lines_for(&mut self, runs: &[Run], size: f32, bold: bool, max: f32) -> Vec<Line> {
        let toks = self.ctx.tokenize(runs, size, bold);
        self.ctx.break_lines(&toks, max, size)
    }

    fn anchor(&mut self, name: &str, top: f32) -> Result<(), RenderError> {
        if self.out.anchors.contains_key(name) {
            return Err(RenderError::DuplicateAnchor(name.to_string()));
        }
        let idx = self.idx();
        self.out.anchors.insert(name.to_string(), (idx, top));
        self.out.anchor_order.push(name.to_string());
        Ok(())
    }

    /// Height of the first line of a block (for keep-with-next).
    fn first_height(&self, b: Option<&Block>) -> f32 {
        let body = BODY_SIZE * LEADING;
        match b {
            None => 0.0,
            Some(Block::Heading { level, .. }) => heading_style(*level).1 * LEADING,
            // keep a heading with the whole meta block and the first body line
            Some(Block::Meta { pairs }) => pairs.len() as f32 * 9.0 * 1.4 + 7.0 + body,
            Some(Block::Placeholder { .. }) => 9.5 * 1.4 + 12.0,
            Some(Block::Table { .. }) => 2.0 * (9.0 * 1.35 + 8.0),
            Some(Block::Rule) | Some(Block::Spacer(_)) | Some(Block::PageBreak) => 0.0,
            _ => body,
        }
    }

    fn block(&mut self, b: &Block, next: Option<&Block>) -> Result<(), RenderError> {
        // Each block is one structure element (a table, its rows and cells); consecutive index
        // entries are the rows of one table.
        self.tag = None;
        if !matches!(b, Block::IndexEntry { .. }) {
            self.index_table = None;
        }
        let role = match b {
            Block::Heading { level, .. } => match (*level).clamp(1, 3) {
                1 => Some("H1"),
                2 => Some("H2"),
                _ => Some("H3"),
            },
            Block::Para { .. } | Block::Placeholder { .. } => Some("P"),
            _ => None,
        };
        if let Some(r) = role {
            let e = self.elem(r);
            self.tag = Some(e);
        }
        let r = self.block_inner(b, next);
        self.tag = None;
        r
    }

    fn block_inner(&mut self, b: &Block, next: Option<&Block>) -> Result<(), RenderError> {
        let cw = self.content_width();
        match b {
            Block::Heading { level, text, anchor, outline } => {
                let level = (*level).clamp(1, 3);
                let (before, size, after, gray) = heading_style(level);
                let style = Style { size, gray, bold: level >= 2 };
                let lh = size * 1.3;
                let lines = self.lines_for(text, size, level >= 2, cw);
                let total = lines.len() as f32 * lh + after + self.first_height(next);
                self.gap(before);
                if !self.fits(total) && !self.fresh {
                    self.new_page();
                }
                let top = self.y;
                if let Some(a) = anchor {
                    self.anchor(a, top + 4.0)?;
                }
                if let Some(t) = outline {
                    let page = self.idx();
                    self.out.outline.push(OutlineEntry {
                        level,
                        title: t.clone(),
                        page,
                        top: top + 4.0,
                        part_start: false,
                    });
                }
                for l in &lines {
                    self.draw_line(l, MARGIN_X, &style, lh);
                }
                if level == 1 {
                    // hairline under top-level headings
                    let y = self.y - 3.0;
                    self.push(Item::Line {
                        x1: MARGIN_X,
                        y1: y,
                        x2: PAGE_W - MARGIN_X,
                        y2: y,
                        gray: 0.78,
                        width: 0.6,
                        dotted: false,
                    });
                    self.y -= 4.0;
                }
                self.y -= after;
            }
            Block::Para { runs } => {
                let style = Style { size: BODY_SIZE, gray: INK, bold: false };
                let lh = BODY_SIZE * LEADING;
                let lines = self.lines_for(runs, BODY_SIZE, false, cw);
                self.gap(2.0);
                // no orphan: never leave a lone first line at the bottom
                if lines.len() >= 2 && !self.fits(2.0 * lh) {
                    self.ensure(2.0 * lh);
                }
                for l in &lines {
                    self.ensure(lh);
                    self.draw_line(l, MARGIN_X, &style, lh);
                }
                self.y -= BODY_SIZE * 0.55;
            }
            Block::Meta { pairs } => {
                let size = 9.0;
                let lh = size * 1.4;
                let key_w = pairs.iter().map(|(k, _)| self.ctx.w(k, size)).fold(0.0f32, f32::max).min(120.0) + 12.0;
                self.gap(1.0);
                for (k, v) in pairs {
                    self.tag = None;
                    let p = self.elem("P");
                    self.tag = Some(p);
                    let key = self.ctx.clean(k);
                    let vlines = self.lines_for(v, size, false, cw - key_w);
                    let kl = self.lines_for(&[Run::Text(key)], size, false, key_w - 6.0);
                    for (i, l) in vlines.iter().enumerate() {
                        self.ensure(lh);
                        let base = baseline(self.y, lh, size);
                        if i == 0 {
                            let st = Style { size, gray: 0.45, bold: false };
                            if let Some(k0) = kl.first() {
                                self.push_line(line_items(k0, MARGIN_X, base, &st));
                            }
                        }
                        let st = Style { size, gray: 0.25, bold: false };
                        self.note_marks(l);
                        self.push_line(line_items(l, MARGIN_X + key_w, base, &st));
                        self.y -= lh;
                    }
                }
                self.y -= 6.0;
            }
            Block::Placeholder { text, code, mark } => {
                let size = 9.5;
                let lh = size * 1.4;
                let pad = 6.0;
                let runs = vec![Run::Bold(format!("[{code}]")), Run::Text(format!(" {text}"))];
                let lines = self.lines_for(&runs, size, false, cw - 2.0 * pad - 4.0);
                let h = lines.len() as f32 * lh + 2.0 * pad;
                self.gap(4.0);
                self.ensure(h);
                let top = self.y;
                if let Some(id) = mark {
                    let idx = self.idx();
                    self.out.mark_pages.push((*id, idx));
                }
                self.push(Item::Rect {
                    x: MARGIN_X,
                    y: top - h,
                    w: cw,
                    h,
                    fill: Some(0.94),
                    stroke: Some((0.72, 0.6)),
                });
                // left accent bar
                self.push(Item::Rect { x: MARGIN_X, y: top - h, w: 3.0, h, fill: Some(0.55), stroke: None });
                self.y -= pad;
                let st = Style { size, gray: 0.3, bold: false };
                for l in &lines {
                    self.draw_line(l, MARGIN_X + pad + 4.0, &st, lh);
                }
                self.y = top - h - 8.0;
            }
            Block::IndexEntry { runs, date, target } => {
                let size = 10.0;
                let lh = size * 1.55;
                self.ensure(lh);
                let table = match self.index_table {
                    Some(t) => t,
                    None => {
                        let t = self.elem("Table");
                        self.index_table = Some(t);
                        t
                    }
                };
                let tr = self.out.elem("TR", table, None);
                let td_date = self.out.elem("TD", tr, None);
                let td_title = self.out.elem("TD", tr, None);
                let td_page = self.out.elem("TD", tr, None);
                let top = self.y;
                let base = baseline(top, lh, size);
                let date = self.ctx.clean(date);
                let st = Style { size, gray: 0.4, bold: false };
                let dl = Line { segs: vec![(0.0, Seg::Text { s: date, bold: false, w: 0.0 })], width: 0.0 };
                self.tag = Some(td_date);
                self.push_line(line_items(&dl, MARGIN_X, base, &st));
                let title_x = MARGIN_X + DATE_COL;
                let label_right = PAGE_W - MARGIN_X;
                let avail = label_right - LABEL_COL - 10.0 - title_x;
                let toks = self.ctx.tokenize(runs, size, false);
                let line = self.truncate(&toks, avail, size);
                let st = Style { size, gray: INK, bold: false };
                self.tag = Some(td_title);
                self.push_line(line_items(&line, title_x, base, &st));
                let lx1 = title_x + line.width + 5.0;
                let lx2 = label_right - LABEL_COL + 2.0;
                if lx2 > lx1 {
                    self.push(Item::Line {
                        x1: lx1,
                        y1: base + 0.5,
                        x2: lx2,
                        y2: base + 0.5,
                        gray: 0.6,
                        width: 0.9,
                        dotted: true,
                    });
                }
                self.tag = Some(td_page);
                self.push(Item::Label { x_right: label_right, y: base, size, gray: INK, anchor: target.clone() });
                let rect = [MARGIN_X - 2.0, top - lh, label_right + 2.0, top];
                self.page().links.push((rect, target.clone()));
                self.out.link_targets.push(target.clone());
                self.y -= lh;
            }
            Block::Table { header, rows, widths } => self.table(header, rows, widths),
            Block::Rule => {
                self.gap(8.0);
                self.ensure(1.0);
                let y = self.y;
                self.push(Item::Line {
                    x1: MARGIN_X,
                    y1: y,
                    x2: PAGE_W - MARGIN_X,
                    y2: y,
                    gray: 0.8,
                    width: 0.5,
                    dotted: false,
                });
                self.y -= 12.0;
            }
            Block::Spacer(h) => {
                let h = h.max(0.0);
                if self.fits(h) {
                    self.gap(h);
                } else if !self.fresh {
                    self.new_page();
                }
            }
            Block::PageBreak => {
                if !self.fresh {
                    self.new_page();
                }
            }
        }
        Ok(())
    }

    /// Fit tokens on one line of width `avail`, ending with "…" if cut.
    fn truncate(&mut self, toks: &[Tok], avail: f32, size: f32) -> Line {
        let mut line = Line::default();
        let ell = self.ctx.w("…", size);
        let mut cut = false;
        let mut pending = None;
        'outer: for tok in toks {
            match tok {
                Tok::Newline | Tok::Space(_) => {
                    if !line.segs.is_empty() {
                        pending = Some(self.ctx.w(" ", size));
                    }
                }
                Tok::Word(word) => {
                    let sp = pending.take().unwrap_or(0.0);
                    if line.width + sp + word.width <= avail {
                        let sp = if line.segs.is_empty() { None } else { Some(sp) };
                        append_word(&mut line, word, sp);
                        continue;
                    }
                    // partial word, then stop
                    if !line.segs.is_empty() {
                        push_text(&mut line, " ".into(), false, sp);
                    }
                    for seg in &word.segs {
                        match seg {
                            Seg::Text { s, bold, .. } => {
                                for ch in s.chars() {
                                    let cw = self.ctx.font.char_width(ch, size);
                                    if line.width + cw + ell > avail {
                                        cut = true;
                                        break 'outer;
                                    }
                                    push_text(&mut line, ch.to_string(), *bold, cw);
                                }
                            }
                            Seg::Mark { w, .. } => {
                                if line.width + w + ell > avail {
                                    cut = true;
                                    break 'outer;
                                }
                                line.segs.push((line.width, seg.clone()));
                                line.width += w;
                            }
                        }
                    }
                    cut = true;
                    break;
                }
            }
        }
        if cut {
            // drop a trailing space before the ellipsis
            let spw = self.ctx.w(" ", size);
            if let Some((_, Seg::Text { s, w, .. })) = line.segs.last_mut() {
                while s.ends_with(' ') {
                    s.pop();
                    *w -= spw;
                    line.width -= spw;
                }
            }
            push_text(&mut line, "…".into(), false, ell);
        }
        line
    }

    fn table(&mut self, header: &[String], rows: &[Vec<String>], widths: &[f32]) {
        let n = header.len().max(rows.iter().map(|r| r.len()).max().unwrap_or(0));
        if n == 0 {
            return;
        }
        let cw = self.content_width();
        let mut fr: Vec<f32> =
            (0..n).map(|i| widths.get(i).copied().filter(|w| w.is_finite() && *w > 0.0).unwrap_or(0.0)).collect();
        if fr.iter().any(|w| *w <= 0.0) {
            fr = vec![1.0; n];
        }
        let sum: f32 = fr.iter().sum();
        let cols: Vec<f32> = fr.iter().map(|f| f / sum * cw).collect();
        let size = 9.0;
        let lh = size * 1.35;
        let pad = 4.0;

        let cell_lines = |fl: &mut Self, cells: &[String], bold: bool| -> Vec<Vec<Line>> {
            (0..n)
                .map(|i| {
                    let t = cells.get(i).cloned().unwrap_or_default();
                    fl.lines_for(&[Run::Text(t)], size, bold, cols[i] - 2.0 * pad)
                })
                .collect()
        };
        let head = cell_lines(self, header, true);
        let head_h = head.iter().map(|l| l.len()).max().unwrap_or(1) as f32 * lh + 2.0 * pad;

        // `tags`: the structure element of each cell (none for a header repeated after a break).
        let draw_row =
            |fl: &mut Self, cells: &[Vec<Line>], h: f32, bold: bool, shade: Option<f32>, tags: &[Option<u32>]| {
                let top = fl.y;
                if let Some(g) = shade {
                    fl.push(Item::Rect { x: MARGIN_X, y: top - h, w: cw, h, fill: Some(g), stroke: None });
                }
                let mut x = MARGIN_X;
                let st = Style { size, gray: if bold { 0.15 } else { INK }, bold };
                for (i, lines) in cells.iter().enumerate() {
                    fl.tag = tags.get(i).copied().flatten();
                    let mut y = top - pad;
                    for l in lines {
                        let base = baseline(y, lh, size);
                        fl.push_line(line_items(l, x + pad, base, &st));
                        y -= lh;
                    }
                    x += cols[i];
                }
                fl.tag = None;
                fl.push(Item::Line {
                    x1: MARGIN_X,
                    y1: top - h,
                    x2: MARGIN_X + cw,
                    y2: top - h,
                    gray: if bold { 0.55 } else { 0.85 },
                    width: if bold { 0.8 } else { 0.4 },
                    dotted: false,
                });
                fl.y = top - h;
            };

        self.gap(4.0);
        let first_h = rows
            .first()
            .map(|r| cell_lines(self, r, false).iter().map(|l| l.len()).max().unwrap_or(1) as f32 * lh + 2.0 * pad)
            .unwrap_or(0.0);
        self.ensure(head_h + first_h);
        let table = self.elem("Table");
        let row_tags = |fl: &mut Self, cell: &'static str| -> Vec<Option<u32>> {
            let tr = fl.out.elem("TR", table, None);
            (0..n).map(|_| Some(fl.out.elem(cell, tr, None))).collect()
        };
        let head_tags = row_tags(self, "TH");
        draw_row(self, &head, head_h, true, Some(0.9), &head_tags);
        let repeated: Vec<Option<u32>> = vec![None; n];
        for (ri, r) in rows.iter().enumerate() {
            let cells = cell_lines(self, r, false);
            let h = cells.iter().map(|l| l.len()).max().unwrap_or(1) as f32 * lh + 2.0 * pad;
            if !self.fits(h) {
                self.new_page();
                draw_row(self, &head, head_h, true, Some(0.9), &repeated);
                if !self.fits(h) {
                    self.ctx
                        .warnings
                        .push(format!("table row {} is taller than a page and runs into the bottom margin", ri + 1));
                }
            }
            let shade = if ri % 2 == 1 { Some(0.965) } else { None };
            let tags = row_tags(self, "TD");
            draw_row(self, &cells, h, false, shade, &tags);
        }
        self.y -= 10.0;
    }
}

/// (space before, size, space after, gray) per heading level.
fn heading_style(level: u8) -> (f32, f32, f32, f32) {
    match level {
        1 => (22.0, 17.0, 8.0, 0.08),
        2 => (16.0, 13.0, 5.0, 0.12),
        _ => (10.0, 11.0, 3.0, 0.15),
    }
}

/// Baseline for a line box whose top is `top`: capitals centred in the box.
pub(crate) fn baseline(top: f32, lh: f32, size: f32) -> f32 {
    top - lh / 2.0 - size * 0.36
}

/// The items of a line; a mark's box and text carry the mark's code (and its place on the line),
/// so that each mark becomes its own tagged span.
fn line_items(line: &Line, x0: f32, base: f32, st: &Style) -> Vec<(Item, Option<(usize, String)>)> {
    let mut out = Vec::new();
    for (k, (dx, seg)) in line.segs.iter().enumerate() {
        match seg {
            Seg::Text { s, bold, .. } => {
                if s.trim().is_empty() {
                    continue;
                }
                out.push((
                    Item::Text {
                        x: x0 + dx,
                        y: base,
                        size: st.size,
                        gray: st.gray,
                        bold: *bold || st.bold,
                        text: s.clone(),
                        hscale: 1.0,
                    },
                    None,
                ));
            }
            Seg::Mark { text, code, w, .. } => {
                let size = st.size;
                let h = size * 1.22;
                let ts = mark_text_size(size);
                // the label sits on the line's baseline (so text extraction
                // keeps it in reading order); the box is centred on it
                let mid = base + ts * 0.36 + 0.6;
                // One visual language for every mark, on record and attachment pages alike: a
                // dark box with its code (and label) in white.
                let tag = Some((k, code.clone()));
                out.push((
                    Item::Rect { x: x0 + dx, y: mid - h / 2.0, w: *w, h, fill: Some(MARK_FILL), stroke: None },
                    tag.clone(),
                ));
                if let Ok(font) = Font::get() {
                    let tw = font.width(text, ts);
                    let tx = x0 + dx + (w - tw) / 2.0;
                    out.push((
                        Item::Text {
                            x: tx,
                            y: base,
                            size: ts,
                            gray: 1.0,
                            bold: false,
                            text: text.clone(),
                            hscale: 1.0,
                        },
                        tag,
                    ));
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------- entry point

/// Lay out the whole document and keep every page (for tests and small documents).
#[cfg(test)]
pub(crate) fn layout(doc: &Doc, font: &Font, warnings: &mut Vec<String>) -> Result<Layout<'static>, RenderError> {
    layout_into(doc, font, warnings, None)
}

/// Lay out the whole document, handing each finished page to `sink` in order; the returned
/// layout keeps the anchors, bookmarks and page count but no page.
pub(crate) fn layout_streamed<'s>(
    doc: &Doc,
    font: &Font,
    warnings: &mut Vec<String>,
    sink: PageSink<'s>,
) -> Result<Layout<'static>, RenderError> {
    layout_into(doc, font, warnings, Some(sink))
}

fn layout_into<'s>(
    doc: &Doc,
    font: &Font,
    warnings: &mut Vec<String>,
    sink: Option<PageSink<'s>>,
) -> Result<Layout<'static>, RenderError> {
    let mut out = Layout {
        pages: Vec::new(),
        page_count: 0,
        page_parts: Vec::new(),
        page_heights: Vec::new(),
        outline: Vec::new(),
        anchors: HashMap::new(),
        anchor_order: Vec::new(),
        mark_pages: Vec::new(),
        link_targets: Vec::new(),
        tree: vec![Elem { role: "Document", parent: 0, alt: None, kids: Vec::new() }],
        sink,
        sink_error: None,
    };
    let words: HashMap<String, String> = doc.code_words.iter().cloned().collect();
    let mut missing = Vec::new();
    for (pi, part) in doc.parts.iter().enumerate() {
        let first_page = out.page_count;
        let part_idx = out.outline.len();
        if let Some(t) = &part.outline {
            out.outline.push(OutlineEntry {
                level: 0,
                title: t.clone(),
                page: first_page,
                top: PAGE_H,
                part_start: true,
            });
        }
        match &part.content {
            PartContent::Flow(_) | PartContent::Chunks(_) => {
                let mut fl = Flow {
                    ctx: Ctx { font, words: &words, missing: std::mem::take(&mut missing), warnings: Vec::new() },
                    out: &mut out,
                    part: pi,
                    y: BODY_TOP,
                    fresh: true,
                    tag: None,
                    index_table: None,
                };
                fl.new_page();
                if let PartContent::Flow(blocks) = &part.content {
                    for (i, b) in blocks.iter().enumerate() {
                        fl.block(b, blocks.get(i + 1))?;
                    }
                } else if let PartContent::Chunks(chunks) = &part.content {
                    // The chunk after the current one is made before the current one is laid
                    // out: a block's keep-with-next looks at the block that follows it.
                    let mut k = 0;
                    let next_chunk = |k: &mut usize| -> Option<Vec<Block>> {
                        while *k < chunks.count {
                            let c = (chunks.make)(*k);
                            *k += 1;
                            if !c.is_empty() {
                                return Some(c);
                            }
                        }
                        None
                    };
                    let mut cur = next_chunk(&mut k);
                    while let Some(blocks) = cur {
                        let after = next_chunk(&mut k);
                        for (i, b) in blocks.iter().enumerate() {
                            let next = blocks.get(i + 1).or_else(|| after.as_ref().and_then(|c| c.first()));
                            fl.block(b, next)?;
                        }
                        cur = after;
                    }
                }
                missing = fl.ctx.missing;
                warnings.extend(fl.ctx.warnings);
            }
            PartContent::Foreign(fps) => {
                for fp in fps {
                    let geo = foreign::geometry(&fp.doc, fp.page).map_err(RenderError::Foreign)?;
                    let idx = out.page_count;
                    if let Some(a) = &fp.anchor {
                        if out.anchors.contains_key(a) {
                            return Err(RenderError::DuplicateAnchor(a.clone()));
                        }
                        out.anchors.insert(a.clone(), (idx, geo.height));
                        out.anchor_order.push(a.clone());
                    }
                    if let Some(t) = &fp.outline {
                        out.outline.push(OutlineEntry {
                            level: 2,
                            title: t.clone(),
                            page: idx,
                            top: geo.height,
                            part_start: false,
                        });
                    }
                    let (w, h) = (geo.width, geo.height);
                    let overlays = foreign::overlays(font, &geo, w, &fp.overlays, &words, &fp.ink);
                    out.push_page(Page::new(pi, PageKind::Foreign { fp: fp.clone(), geo }, w, h));
                    // The embedded page is a figure (its own text is not tagged: it came from
                    // another producer), with the page's title as its alternative text; each mark
                    // on it is a span with its own.
                    let fig = out.elem(
                        "Figure",
                        0,
                        Some(match &fp.outline {
                            Some(t) => format!("A page of a document as it was received: {t}"),
                            None => "A page of a document as it was received".into(),
                        }),
                    );
                    out.tree[fig as usize].kids.push(Kid::Mc { page: idx, mcid: 0 });
                    let page = out.current();
                    page.figure = Some(0);
                    page.next_mcid = 1;
                    let mut notes: Option<u32> = None;
                    for o in overlays {
                        let e = match &o.code {
                            Some(code) => out.elem("Span", fig, Some(mark_alt(&words, code))),
                            None => *notes.get_or_insert_with(|| out.elem("P", fig, None)),
                        };
                        for it in o.items {
                            let tag = matches!(it, Item::Text { .. }).then_some(e);
                            out.push_tagged(it, tag);
                        }
                    }
                }
            }
        }
        // the part bookmark points at the part's first page; empty parts
        // get no bookmark
        if out.page_count == first_page {
            if part.outline.is_some() {
                out.outline.remove(part_idx);
            }
        } else if let Some(e) = out.outline.get_mut(part_idx) {
            if part.outline.is_some() {
                e.top = out.page_heights[first_page];
            }
        }
        // mark where nesting restarts; a part without a bookmark of its own (the records after an
        // attachment's pages) goes on nesting under the bookmark of the part before it
        if part.outline.is_some() {
            if let Some(e) = out.outline.get_mut(part_idx) {
                e.part_start = true;
            }
        }
    }
    if !missing.is_empty() {
        let list: String = missing.iter().map(|c| format!("U+{:04X} ", *c as u32)).collect();
        warnings.push(format!("characters not in the font were replaced by '?': {}", list.trim_end()));
    }
    // unknown anchors are an error (checked before writing)
    for t in &out.link_targets {
        if !out.anchors.contains_key(t) {
            return Err(RenderError::UnknownAnchor(t.clone()));
        }
    }
    out.emit_current();
    if let Some(e) = out.sink_error.take() {
        return Err(e);
    }
    // The layout outlives the sink it handed pages to.
    Ok(Layout {
        pages: out.pages,
        page_count: out.page_count,
        page_parts: out.page_parts,
        page_heights: out.page_heights,
        outline: out.outline,
        anchors: out.anchors,
        anchor_order: out.anchor_order,
        mark_pages: out.mark_pages,
        link_targets: out.link_targets,
        tree: out.tree,
        sink: None,
        sink_error: None,
    })
}
