//! Text-state interpreter: runs a page's content (and the Form XObjects it draws, recursively,
//! with their /Matrix and the current CTM) and produces one glyph per shown character code,
//! with its page-space box and its source location for the rewriter.
//!
//! It also notes what a viewer draws that this reader does not read as text, so that the page is
//! held instead of passed: Form XObjects nested deeper than [`MAX_FORM_DEPTH`] or drawing
//! themselves, text (or forms, or images) inside tiling patterns and soft masks, text or forms
//! inside Type3 glyph procedures, the images drawn (with their size, for the picture-of-text
//! check in `layout`), and glyphs whose ToUnicode entry contradicts the font's own glyph.

use super::font::{as_dict, deref, dget, num, stream_bytes, Font};
use super::lexer::{parse_content, Op, Operand};
use super::PdfError;
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How deep Form XObjects are followed. Viewers draw deeper nesting, so a page that nests deeper
/// is held (see [`Holds`]), never read partly.
pub const MAX_FORM_DEPTH: usize = 25;

/// What a page draws that the reader could not read as text: each makes the page held.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Holds {
    /// Form XObjects nested deeper than [`MAX_FORM_DEPTH`].
    pub forms_too_deep: bool,
    /// A Form XObject that draws itself (directly or through others).
    pub form_cycle: bool,
    /// Text drawn where the reader does not look: "a tiling pattern", "a soft mask", "a Type3
    /// glyph procedure".
    pub hidden_text: Option<&'static str>,
    /// Glyphs whose ToUnicode entry contradicts the glyph the font draws for the code.
    pub tounicode_conflicts: usize,
}

/// One image drawn on the page.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageUse {
    /// page-space box
    pub bbox: [f64; 4],
    /// size in pixels (width, height), 0 when not given
    pub pixels: (f64, f64),
}

/// One path the page builds: painted, or used as a clip. A reviewer's region removes the paths
/// inside it and holds the page when a drawing crosses its edge (see `core::redact_with`).
#[derive(Debug, Clone, PartialEq)]
pub struct PathUse {
    /// the instance (page or form use) whose content holds it
    pub inst: usize,
    /// its construction ops, the clip op (`W`, `W*`) if any, and the op that ends it, in order
    pub ops: Vec<usize>,
    /// page-space box of the points that build it (control points included)
    pub bbox: [f64; 4],
    /// built by one `re` alone: its part inside any box is a plain rectangle, which draws no shape
    pub single_rect: bool,
    /// painted (false: ended with `n`)
    pub painted: bool,
    /// a clip path (`W` or `W*`)
    pub clip: bool,
}

/// A path being built.
struct PathAcc {
    ops: Vec<usize>,
    bbox: [f64; 4],
    rects: usize,
    others: usize,
    clip: bool,
}

/// Fonts loaded for a document, shared by its pages and by the threads that read them (a font
/// is parsed once per document, and decodes each code once). The check after redaction reads
/// the redacted copy with the fonts of the first read that the copy still holds unchanged
/// ([`FontCache::carried`]).
#[derive(Default)]
pub struct FontCache {
    fonts: Mutex<HashMap<ObjectId, Arc<Font>>>,
}

impl FontCache {
    fn get(&self, id: &ObjectId) -> Option<Arc<Font>> {
        self.fonts.lock().ok()?.get(id).cloned()
    }

    /// The font loaded first wins, so every page reads one font object with one `Font`.
    fn put(&self, id: ObjectId, f: Arc<Font>) -> Arc<Font> {
        match self.fonts.lock() {
            Ok(mut m) => m.entry(id).or_insert(f).clone(),
            Err(_) => f,
        }
    }

    /// The fonts of `self` (loaded from `from`) whose objects `to` holds unchanged: the font
    /// dictionary and every object it reaches (descriptor, programs, CMaps, encodings, widths)
    /// equal, under the same ids. Reading `to` with them reads it as loading them again would.
    pub fn carried(&self, from: &Document, to: &Document) -> FontCache {
        let Ok(fonts) = self.fonts.lock() else { return FontCache::default() };
        let kept = fonts.iter().filter(|(id, _)| same_tree(from, to, **id)).map(|(id, f)| (*id, f.clone())).collect();
        FontCache { fonts: Mutex::new(kept) }
    }
}

/// Whether the object `id` and every object it refers to (but a `/Parent`) are equal in `a` and
/// in `b`. Bounded: a tree of more than 10,000 objects counts as changed.
fn same_tree(a: &Document, b: &Document, id: ObjectId) -> bool {
    fn refs(o: &Object, out: &mut Vec<ObjectId>) {
        let dict = |d: &Dictionary, out: &mut Vec<ObjectId>| {
            d.iter().filter(|(k, _)| k.as_slice() != b"Parent").for_each(|(_, v)| refs(v, out))
        };
        match o {
            Object::Reference(r) => out.push(*r),
            Object::Array(v) => v.iter().for_each(|x| refs(x, out)),
            Object::Dictionary(d) => dict(d, out),
            Object::Stream(s) => dict(&s.dict, out),
            _ => {}
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut todo = vec![id];
    while let Some(id) = todo.pop() {
        if !seen.insert(id) {
            continue;
        }
        if seen.len() > 10_000 {
            return false;
        }
        match (a.get_object(id), b.get_object(id)) {
            (Ok(x), Ok(y)) if x == y => refs(x, &mut todo),
            _ => return false,
        }
    }
    true
}

pub type M = [f64; 6];
pub const IDENT: M = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// a then b (row-vector convention of PDF: p' = p x a x b)
pub fn mul(a: &M, b: &M) -> M {
    [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]
}
pub fn apply(m: &M, x: f64, y: f64) -> (f64, f64) {
    (x * m[0] + y * m[2] + m[4], x * m[1] + y * m[3] + m[5])
}
fn translate(x: f64, y: f64) -> M {
    [1.0, 0.0, 0.0, 1.0, x, y]
}

#[derive(Clone)]
pub struct TextState {
    pub tc: f64,
    pub tw: f64,
    pub th: f64,
    pub tl: f64,
    pub font: Option<Arc<Font>>,
    pub tfs: f64,
    pub tr: i64,
    pub ts: f64,
}

impl Default for TextState {
    fn default() -> Self {
        TextState { tc: 0.0, tw: 0.0, th: 1.0, tl: 0.0, font: None, tfs: 0.0, tr: 0, ts: 0.0 }
    }
}

#[derive(Clone)]
pub struct GState {
    pub ctm: M,
    pub text: TextState,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Page,
    Form(ObjectId),
}

pub struct Instance {
    pub source: Source,
    pub content: Vec<u8>,
    pub ops: Vec<Op>,
    /// (parent instance, index of the `Do` op in the parent)
    pub parent: Option<(usize, usize)>,
    /// resolved resources used for this instance (direct clone)
    pub resources: Dictionary,
    /// a form with resources of its own (false: it uses its parent's)
    pub own_resources: bool,
}

#[derive(Debug, Clone)]
pub struct RawGlyph {
    pub unicode: Option<String>,
    pub bbox: [f64; 4],
    pub visible: bool,
    pub inst: usize,
    pub op: usize,
    /// index of the array element for TJ, 0 otherwise
    pub elem: usize,
    pub byte_start: usize,
    pub byte_len: usize,
    /// TJ number that replaces this glyph without moving anything else
    pub disp: f64,
    pub origin: (f64, f64),
    pub next: (f64, f64),
    pub dir: (f64, f64),
    pub em: f64,
    /// the font's advance widths are known exactly
    pub exact: bool,
}

pub struct PageScan {
    pub page_id: ObjectId,
    pub instances: Vec<Instance>,
    pub glyphs: Vec<RawGlyph>,
    pub image_area: f64,
    /// page-space boxes of the images drawn
    pub image_boxes: Vec<[f64; 4]>,
    /// the images drawn, with their pixel sizes (at most 10,000)
    pub images: Vec<ImageUse>,
    /// what makes the page held
    pub holds: Holds,
    /// the paths built, in drawing order
    pub paths: Vec<PathUse>,
    /// shadings painted with `sh` (they fill the clip, whatever it is)
    pub shadings: usize,
    pub width: f64,
    pub height: f64,
    /// the visible box of the page (CropBox, else MediaBox)
    pub crop: [f64; 4],
    /// unbalanced q at the end of the page content
    pub end_q_depth: usize,
    pub end_in_text: bool,
}

pub(crate) fn inherited<'a>(doc: &'a Document, page: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    let mut d = page;
    for _ in 0..32 {
        if let Some(v) = dget(doc, d, key) {
            return Some(v);
        }
        d = dget(doc, d, b"Parent").and_then(as_dict)?;
    }
    None
}

pub(crate) fn rect(doc: &Document, o: Option<&Object>) -> Option<[f64; 4]> {
    if let Some(Object::Array(a)) = o {
        let v: Vec<f64> = a.iter().filter_map(|x| num(deref(doc, x))).collect();
        if v.len() == 4 {
            return Some([v[0].min(v[2]), v[1].min(v[3]), v[0].max(v[2]), v[1].max(v[3])]);
        }
    }
    None
}

pub(crate) fn page_content(doc: &Document, page_id: ObjectId, page_no: usize) -> Result<Vec<u8>, PdfError> {
    let page =
        doc.get_dictionary(page_id).map_err(|_| PdfError::Damaged { page: Some(page_no), reason: "page object" })?;
    let mut out = Vec::new();
    let items: Vec<&Object> = match page.get(b"Contents").ok() {
        None => vec![],
        Some(o) => match deref(doc, o) {
            Object::Array(a) => a.iter().collect(),
            _ => vec![o],
        },
    };
    for it in items {
        let b = match deref(doc, it) {
            Object::Stream(_) => stream_bytes(doc, it)
                .ok_or(PdfError::Damaged { page: Some(page_no), reason: "content stream cannot be decoded" })?,
            Object::Null => continue,
            _ => return Err(PdfError::Damaged { page: Some(page_no), reason: "content is not a stream" }),
        };
        // the same stream listed many times must not add up past the limit either
        if out.len() + b.len() > super::limits::MAX_STREAM {
            return Err(PdfError::Unsupported { page: page_no, what: "page content inflates past the limit" });
        }
        out.extend_from_slice(&b);
        out.push(b'\n');
    }
    Ok(out)
}

struct Runner<'a> {
    doc: &'a Document,
    page_no: usize,
    instances: Vec<Instance>,
    glyphs: Vec<RawGlyph>,
    image_area: f64,
    image_boxes: Vec<[f64; 4]>,
    images: Vec<ImageUse>,
    holds: Holds,
    fonts: &'a FontCache,
    /// streams already looked into (with or without images counting): whether they draw text
    hidden: HashMap<(ObjectId, bool), bool>,
    form_stack: Vec<ObjectId>,
    budget: usize,
    /// glyphs whose ToUnicode entry disagrees with the font: (glyph index, read, own), folded
    /// glyphs whose ToUnicode text differs from what the font says (own text) or on which the
    /// font says nothing (own `None`, see [`super::font::Decoded::silent`])
    suspects: Vec<(usize, String, Option<String>)>,
    /// bytes of form content decoded for this page (a form drawn many times counts each time)
    decoded: usize,
    paths: Vec<PathUse>,
    shadings: usize,
}

fn too_deep(page_no: usize) -> PdfError {
    PdfError::Unsupported { page: page_no, what: "content nests arrays or dictionaries too deeply" }
}

/// Parse one content stream; too deep a nesting fails the page (and so the document).
pub(crate) fn parse_ops(content: &[u8], page_no: usize) -> Result<Vec<Op>, PdfError> {
    parse_content(content).map_err(|_| too_deep(page_no))
}

pub fn scan_page(doc: &Document, page_id: ObjectId, page_no: usize) -> Result<PageScan, PdfError> {
    scan_page_with(doc, page_id, page_no, &FontCache::default())
}

/// As [`scan_page`], with the fonts of the document shared between its pages.
pub fn scan_page_with(
    doc: &Document,
    page_id: ObjectId,
    page_no: usize,
    fonts: &FontCache,
) -> Result<PageScan, PdfError> {
    let page =
        doc.get_dictionary(page_id).map_err(|_| PdfError::Damaged { page: Some(page_no), reason: "page object" })?;
    let media = rect(doc, inherited(doc, page, b"MediaBox")).unwrap_or([0.0, 0.0, 612.0, 792.0]);
    let crop = rect(doc, inherited(doc, page, b"CropBox")).unwrap_or(media);
    let resources = inherited(doc, page, b"Resources").and_then(as_dict).cloned().unwrap_or_default();
    let content = page_content(doc, page_id, page_no)?;
    let ops = parse_ops(&content, page_no)?;
    let mut r = Runner {
        doc,
        page_no,
        instances: vec![],
        glyphs: vec![],
        image_area: 0.0,
        image_boxes: vec![],
        images: vec![],
        holds: Holds::default(),
        fonts,
        hidden: HashMap::new(),
        form_stack: vec![],
        budget: 5_000_000,
        suspects: vec![],
        decoded: 0,
        paths: vec![],
        shadings: 0,
    };
    r.instances.push(Instance { source: Source::Page, content, ops, parent: None, resources, own_resources: true });
    let mut gs = GState { ctm: IDENT, text: TextState::default() };
    let (depth, in_text) = r.run(0, &mut gs)?;
    r.holds.tounicode_conflicts = conflicts(&r.suspects);
    Ok(PageScan {
        page_id,
        instances: r.instances,
        glyphs: r.glyphs,
        image_area: r.image_area,
        image_boxes: r.image_boxes,
        images: r.images,
        holds: r.holds,
        paths: r.paths,
        shadings: r.shadings,
        width: crop[2] - crop[0],
        height: crop[3] - crop[1],
        crop,
        end_q_depth: depth,
        end_in_text: in_text,
    })
}

impl<'a> Runner<'a> {
    fn font(&mut self, res: &Dictionary, name: &[u8]) -> Option<Arc<Font>> {
        let fonts = dget(self.doc, res, b"Font").and_then(as_dict)?;
        let o = fonts.get(name).ok()?;
        if let Object::Reference(id) = o {
            if let Some(f) = self.fonts.get(id) {
                return Some(f);
            }
            let fd = as_dict(deref(self.doc, o))?;
            Some(self.fonts.put(*id, Arc::new(Font::load(self.doc, fd))))
        } else {
            Some(Arc::new(Font::load(self.doc, as_dict(o)?)))
        }
    }

    /// Run one instance; returns (q depth left, still inside BT).
    fn run(&mut self, inst: usize, gs: &mut GState) -> Result<(usize, bool), PdfError> {
        let ops = std::mem::take(&mut self.instances[inst].ops);
        let res = self.instances[inst].resources.clone();
        let mut stack: Vec<GState> = Vec::new();
        let mut tm = IDENT;
        let mut tlm = IDENT;
        let mut in_text = false;
        let mut path: Option<PathAcc> = None;
        let mut result = Ok(());
        for (i, op) in ops.iter().enumerate() {
            if self.budget == 0 {
                result = Err(PdfError::Unsupported { page: self.page_no, what: "content too large" });
                break;
            }
            self.budget -= 1;
            let n = op.name.as_slice();
            match n {
                b"q" if stack.len() < 10_000 => stack.push(gs.clone()),
                b"Q" => {
                    if let Some(g) = stack.pop() {
                        *gs = g;
                    }
                }
                b"cm" => {
                    let v = op.nums();
                    if v.len() == 6 {
                        gs.ctm = mul(&[v[0], v[1], v[2], v[3], v[4], v[5]], &gs.ctm);
                    }
                }
                b"BT" => {
                    tm = IDENT;
                    tlm = IDENT;
                    in_text = true;
                }
                b"ET" => in_text = false,
                b"Tc" => gs.text.tc = op.num(0),
                b"Tw" => gs.text.tw = op.num(0),
                b"Tz" => gs.text.th = op.num(0) / 100.0,
                b"TL" => gs.text.tl = op.num(0),
                b"Ts" => gs.text.ts = op.num(0),
                b"Tr" => gs.text.tr = op.num(0) as i64,
                b"Tf" => {
                    gs.text.tfs = op.operands.iter().rev().find_map(|(o, _)| o.num()).unwrap_or(0.0);
                    gs.text.font = op.name_operand().and_then(|nm| self.font(&res, nm));
                    if gs.text.font.is_none() {
                        gs.text.font = Some(Arc::new(Font::fallback()));
                    }
                }
                b"Td" | b"TD" => {
                    let (x, y) = (op.num(0), op.num(1));
                    if n == b"TD" {
                        gs.text.tl = -y;
                    }
                    tlm = mul(&translate(x, y), &tlm);
                    tm = tlm;
                }
                b"Tm" => {
                    let v = op.nums();
                    if v.len() == 6 {
                        tlm = [v[0], v[1], v[2], v[3], v[4], v[5]];
                        tm = tlm;
                    }
                }
                b"T*" => {
                    tlm = mul(&translate(0.0, -gs.text.tl), &tlm);
                    tm = tlm;
                }
                b"Tj" | b"'" | b"\"" => {
                    if n == b"\"" {
                        gs.text.tw = op.num(0);
                        gs.text.tc = op.num(1);
                    }
                    if n != b"Tj" {
                        tlm = mul(&translate(0.0, -gs.text.tl), &tlm);
                        tm = tlm;
                    }
                    if let Some((Operand::Str(s), _)) = op.operands.last() {
                        self.show(inst, i, 0, s, gs, &mut tm);
                    }
                }
                b"TJ" => {
                    if let Some((Operand::Array(items), _)) = op.operands.last() {
                        for (k, (it, _)) in items.iter().enumerate() {
                            match it {
                                Operand::Str(s) => self.show(inst, i, k, s, gs, &mut tm),
                                Operand::Num(v) => {
                                    let tx = -v / 1000.0 * gs.text.tfs * gs.text.th;
                                    tm = mul(&translate(tx, 0.0), &tm);
                                }
                                _ => {}
                            }
                        }
                    }
                }
                b"Do" => {
                    if let Some(nm) = op.name_operand() {
                        if let Err(e) = self.do_xobject(inst, i, &res, nm, gs) {
                            result = Err(e);
                            break;
                        }
                    }
                }
                b"BI" => {
                    let px = match op.operands.first() {
                        Some((Operand::Dict(d), _)) => {
                            let get = |names: &[&[u8]]| {
                                d.iter().find(|(k, _)| names.contains(&k.as_slice())).and_then(|(_, v)| v.num())
                            };
                            (get(&[b"W", b"Width"]).unwrap_or(0.0), get(&[b"H", b"Height"]).unwrap_or(0.0))
                        }
                        _ => (0.0, 0.0),
                    };
                    self.image(&gs.ctm, px)
                }
                b"scn" | b"SCN" => {
                    if let Some(nm) = op.name_operand() {
                        self.pattern(&res, nm);
                    }
                }
                b"gs" => {
                    if let Some(nm) = op.name_operand() {
                        self.soft_mask(&res, nm);
                    }
                }
                b"m" | b"l" | b"c" | b"v" | b"y" | b"h" | b"re" => {
                    let acc = path.get_or_insert_with(|| PathAcc {
                        ops: vec![],
                        bbox: [f64::MAX, f64::MAX, f64::MIN, f64::MIN],
                        rects: 0,
                        others: 0,
                        clip: false,
                    });
                    acc.ops.push(i);
                    let v = op.nums();
                    let pts: Vec<(f64, f64)> = if n == b"re" {
                        acc.rects += 1;
                        match v[..] {
                            [x, y, w, h] => vec![(x, y), (x + w, y), (x, y + h), (x + w, y + h)],
                            _ => vec![],
                        }
                    } else {
                        acc.others += usize::from(n != b"h");
                        v.chunks_exact(2).map(|p| (p[0], p[1])).collect()
                    };
                    for (x, y) in pts {
                        let (x, y) = apply(&gs.ctm, x, y);
                        let b = &mut acc.bbox;
                        *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
                    }
                }
                b"W" | b"W*" => {
                    if let Some(acc) = path.as_mut() {
                        acc.ops.push(i);
                        acc.clip = true;
                    }
                }
                b"S" | b"s" | b"f" | b"F" | b"f*" | b"B" | b"B*" | b"b" | b"b*" | b"n" => {
                    if let Some(mut acc) = path.take() {
                        acc.ops.push(i);
                        self.paths.push(PathUse {
                            inst,
                            ops: acc.ops,
                            bbox: acc.bbox,
                            single_rect: acc.rects == 1 && acc.others == 0,
                            painted: n != b"n",
                            clip: acc.clip,
                        });
                    }
                }
                b"sh" => self.shadings += 1,
                _ => {}
            }
        }
        self.instances[inst].ops = ops;
        result.map(|_| (stack.len(), in_text))
    }

    fn do_xobject(
        &mut self,
        inst: usize,
        op_idx: usize,
        res: &Dictionary,
        nm: &[u8],
        gs: &GState,
    ) -> Result<(), PdfError> {
        let doc = self.doc;
        let Some(xo) = dget(doc, res, b"XObject").and_then(as_dict) else { return Ok(()) };
        let Ok(r) = xo.get(nm) else { return Ok(()) };
        let id = match r {
            Object::Reference(id) => *id,
            _ => return Ok(()),
        };
        let Object::Stream(s) = deref(doc, r) else { return Ok(()) };
        match s.dict.get(b"Subtype").ok().and_then(super::font::name) {
            Some(b"Image") => {
                let dim = |k: &[u8]| dget(doc, &s.dict, k).and_then(num).unwrap_or(0.0);
                self.image(&gs.ctm, (dim(b"Width"), dim(b"Height")));
                Ok(())
            }
            Some(b"Form") => {
                // A viewer goes on drawing where this reader stops: the page is held.
                if self.form_stack.contains(&id) {
                    self.holds.form_cycle = true;
                    return Ok(());
                }
                if self.form_stack.len() >= MAX_FORM_DEPTH {
                    self.holds.forms_too_deep = true;
                    return Ok(());
                }
                let content = stream_bytes(doc, r)
                    .ok_or(PdfError::Damaged { page: Some(self.page_no), reason: "form xobject cannot be decoded" })?;
                self.decoded += content.len();
                if self.decoded > super::limits::MAX_TOTAL {
                    return Err(PdfError::Unsupported {
                        page: self.page_no,
                        what: "forms drawn inflate past the limit",
                    });
                }
                let m = match dget(doc, &s.dict, b"Matrix") {
                    Some(Object::Array(a)) => {
                        let v: Vec<f64> = a.iter().filter_map(|x| num(deref(doc, x))).collect();
                        if v.len() == 6 {
                            [v[0], v[1], v[2], v[3], v[4], v[5]]
                        } else {
                            IDENT
                        }
                    }
                    _ => IDENT,
                };
                let own = dget(doc, &s.dict, b"Resources").and_then(as_dict);
                let own_resources = own.is_some();
                let resources = own.cloned().unwrap_or_else(|| res.clone());
                let ops = parse_ops(&content, self.page_no)?;
                let child = self.instances.len();
                if child > 100_000 {
                    return Err(PdfError::Unsupported { page: self.page_no, what: "too many form xobject uses" });
                }
                self.instances.push(Instance {
                    source: Source::Form(id),
                    content,
                    ops,
                    parent: Some((inst, op_idx)),
                    resources,
                    own_resources,
                });
                let mut g = gs.clone();
                g.ctm = mul(&m, &gs.ctm);
                self.form_stack.push(id);
                let r = self.run(child, &mut g);
                self.form_stack.pop();
                r.map(|_| ())
            }
            _ => Ok(()),
        }
    }

    fn image(&mut self, ctm: &M, pixels: (f64, f64)) {
        self.image_area += det(ctm);
        let pts = [apply(ctm, 0.0, 0.0), apply(ctm, 1.0, 0.0), apply(ctm, 0.0, 1.0), apply(ctm, 1.0, 1.0)];
        let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        for (x, y) in pts {
            b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        }
        if self.image_boxes.len() < 10_000 {
            self.image_boxes.push(b);
            self.images.push(ImageUse { bbox: b, pixels });
        }
    }

    /// `scn`/`SCN` with a pattern name: a tiling pattern's cell is content a viewer draws.
    fn pattern(&mut self, res: &Dictionary, nm: &[u8]) {
        let doc = self.doc;
        let Some(Object::Reference(id)) = dget(doc, res, b"Pattern").and_then(as_dict).and_then(|d| d.get(nm).ok())
        else {
            // a direct pattern dictionary cannot hold a stream: a tiling pattern is always a reference
            return;
        };
        let Ok(Object::Stream(s)) = doc.get_object(*id) else { return };
        if dget(doc, &s.dict, b"PatternType").and_then(num) != Some(1.0) {
            return; // shading patterns draw no text
        }
        if self.hides(*id, true) {
            self.holds.hidden_text.get_or_insert("a tiling pattern");
        }
    }

    /// `gs` with a soft mask: the mask's group is content too, its shapes show through.
    fn soft_mask(&mut self, res: &Dictionary, nm: &[u8]) {
        let doc = self.doc;
        let Some(gs) = dget(doc, res, b"ExtGState").and_then(as_dict).and_then(|d| dget(doc, d, nm)).and_then(as_dict)
        else {
            return;
        };
        let Some(mask) = dget(doc, gs, b"SMask").and_then(as_dict) else { return };
        if let Ok(Object::Reference(id)) = mask.get(b"G") {
            if self.hides(*id, true) {
                self.holds.hidden_text.get_or_insert("a soft mask");
            }
        }
    }

    /// Whether a content stream (a pattern cell, a mask group, a glyph procedure) draws text, a
    /// Form XObject that does, or (with `images`) any image: cached per object.
    fn hides(&mut self, id: ObjectId, images: bool) -> bool {
        draws_text(self.doc, id, images, &mut Vec::new(), &mut self.hidden)
    }

    fn show(&mut self, inst: usize, op: usize, elem: usize, s: &[u8], gs: &GState, tm: &mut M) {
        let font = gs.text.font.clone().unwrap_or_else(|| Arc::new(Font::fallback()));
        if font.kind == super::font::FontKind::Type3 && !s.is_empty() {
            // glyph procedures that draw text or forms (images are how bitmap fonts draw glyphs)
            let procs: Vec<ObjectId> = font.char_procs.clone();
            if procs.into_iter().any(|p| self.hides(p, false)) {
                self.holds.hidden_text.get_or_insert("a Type3 glyph procedure");
            }
        }
        let t = &gs.text;
        let fm = [t.tfs * t.th, 0.0, 0.0, t.tfs, 0.0, t.ts];
        let em_scale =
            if font.kind == super::font::FontKind::Type3 { (font.ascent - font.descent).clamp(0.1, 10.0) } else { 1.0 };
        for (code, off, len) in font.codes(s) {
            let dec = font.decoded(code);
            let w0 = dec.width;
            let sp = if len == 1 && code == 32 { t.tw } else { 0.0 };
            let trm = mul(&fm, &mul(tm, &gs.ctm));
            let corners = [
                apply(&trm, 0.0, font.descent),
                apply(&trm, w0, font.descent),
                apply(&trm, 0.0, font.ascent),
                apply(&trm, w0, font.ascent),
            ];
            let mut bb = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
            for (x, y) in corners {
                bb[0] = bb[0].min(x);
                bb[1] = bb[1].min(y);
                bb[2] = bb[2].max(x);
                bb[3] = bb[3].max(y);
            }
            let origin = apply(&trm, 0.0, 0.0);
            let lin = mul(tm, &gs.ctm);
            let dx = (lin[0], lin[1]);
            let l = (dx.0 * dx.0 + dx.1 * dx.1).sqrt();
            let dir = if l > 0.0 { (dx.0 / l, dx.1 / l) } else { (1.0, 0.0) };
            let em = t.tfs.abs() * (lin[2] * lin[2] + lin[3] * lin[3]).sqrt() * em_scale;
            let adv = (w0 * t.tfs + t.tc + sp) * t.th;
            *tm = mul(&translate(adv, 0.0), tm);
            let next = apply(&mul(&fm, &mul(tm, &gs.ctm)), 0.0, 0.0);
            let disp = if t.tfs != 0.0 { -(w0 * t.tfs + t.tc + sp) * 1000.0 / t.tfs } else { f64::NAN };
            if let Some((read, own)) = dec.contradiction {
                self.suspects.push((self.glyphs.len(), read, Some(own)));
            } else if let Some(read) = dec.silent {
                self.suspects.push((self.glyphs.len(), read, None));
            }
            self.glyphs.push(RawGlyph {
                unicode: dec.unicode,
                bbox: bb,
                visible: !matches!(t.tr, 3 | 7),
                inst,
                op,
                elem,
                byte_start: off,
                byte_len: len,
                disp,
                origin,
                next,
                dir,
                em: if em.is_finite() { em } else { 0.0 },
                exact: font.widths_exact,
            });
        }
    }
}

/// Scripts whose shaping maps one cluster of glyphs to one run of text (Hebrew, Arabic, Syriac,
/// Thaana, N'Ko, the Indic scripts, Thai, Lao, Tibetan, Myanmar, Khmer, presentation forms).
pub(crate) fn shaped(c: char) -> bool {
    matches!(c as u32, 0x0590..=0x0DFF | 0x0E00..=0x109F | 0x1780..=0x17FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF)
}

/// Letters that fonts draw with one glyph, as one: Arabic and Farsi yeh and alef maksura, kaf and
/// keheh, heh and its Urdu forms (a font's cmap names the glyph by one of them, a producer's
/// ToUnicode by another).
fn same_letter(c: char) -> char {
    match c {
        '\u{06CC}' | '\u{0649}' | '\u{06D2}' => '\u{064A}',
        '\u{06A9}' => '\u{0643}',
        '\u{06C1}' | '\u{06BE}' | '\u{06D5}' => '\u{0647}',
        c => c,
    }
}

/// How many glyphs really contradict their ToUnicode entries. A producer that shapes text maps
/// the whole text of a cluster of glyphs on one of them and nothing on the others, and the
/// cluster's contextual forms are glyphs the font's cmap does not name. A run of glyphs drawn one
/// after the other, all of a shaping script, with text on fewer glyphs than it has, is accepted
/// when every letter its glyphs show is in the text it carries and the text has at most two
/// letters per glyph drawn (a ligature such as lam-alef is one glyph for two letters). Every
/// other disagreement counts (a Latin name's glyphs mapped to other letters, or to nothing;
/// a shaped word whose glyphs show a letter its text lacks).
fn conflicts(suspects: &[(usize, String, Option<String>)]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < suspects.len() {
        let mut j = i + 1;
        while j < suspects.len() && suspects[j].0 == suspects[j - 1].0 + 1 {
            j += 1;
        }
        let run = &suspects[i..j];
        let contradicting = run.iter().filter(|s| s.2.is_some()).count();
        if contradicting > 0 {
            let sorted = |it: &mut dyn Iterator<Item = char>| {
                let mut v: Vec<char> = it.map(same_letter).collect();
                v.sort_unstable();
                v
            };
            let read = sorted(&mut run.iter().flat_map(|s| s.1.chars()));
            let own = sorted(&mut run.iter().filter_map(|s| s.2.as_deref()).flat_map(|t| t.chars()));
            let carriers = run.iter().filter(|s| !s.1.is_empty()).count();
            let cluster = carriers < run.len()
                && !own.is_empty()
                && own.iter().chain(&read).all(|c| shaped(*c))
                && read.len() <= 2 * run.len();
            // One glyph carrying, beside its own letters, the text of a shaped cluster next to it
            // (a producer put an Arabic word's text on the Latin letter after it).
            let neighbour = run.len() == 1
                && run[0].2.as_deref().is_some_and(|own| {
                    let read = &run[0].1;
                    !own.is_empty()
                        && (read.starts_with(own) || read.ends_with(own))
                        && read.replacen(own, "", 1).chars().all(shaped)
                });
            // every letter shown is in the text (multiset inclusion of sorted letters)
            let mut k = 0;
            let within = own.iter().all(|c| {
                while k < read.len() && read[k] < *c {
                    k += 1;
                }
                let hit = k < read.len() && read[k] == *c;
                k += usize::from(hit);
                hit
            });
            if !((cluster || neighbour) && within) {
                n += contradicting;
            }
        }
        i = j;
    }
    n
}

/// Whether the content stream `id` draws text: a text-showing operator, a Form XObject (through
/// its resources) that draws text, a tiling pattern that does, or with `images` an image. Fails
/// closed: a stream that cannot be read, nests too deep or draws itself counts as drawing text.
/// `memo` keeps the answers per stream, so shared forms are looked into once.
fn draws_text(
    doc: &Document,
    id: ObjectId,
    images: bool,
    stack: &mut Vec<ObjectId>,
    memo: &mut HashMap<(ObjectId, bool), bool>,
) -> bool {
    if let Some(v) = memo.get(&(id, images)) {
        return *v;
    }
    if stack.len() >= MAX_FORM_DEPTH || stack.contains(&id) {
        return true;
    }
    stack.push(id);
    let v = draws_text_here(doc, id, images, stack, memo);
    stack.pop();
    memo.insert((id, images), v);
    v
}

fn draws_text_here(
    doc: &Document,
    id: ObjectId,
    images: bool,
    stack: &mut Vec<ObjectId>,
    memo: &mut HashMap<(ObjectId, bool), bool>,
) -> bool {
    let Ok(obj @ Object::Stream(s)) = doc.get_object(id) else { return false };
    let Some(content) = stream_bytes(doc, obj) else { return true };
    let Ok(ops) = parse_content(&content) else { return true };
    let res = dget(doc, &s.dict, b"Resources").and_then(as_dict);
    let named = |kind: &[u8], nm: &[u8]| -> Option<ObjectId> {
        res.and_then(|r| dget(doc, r, kind)).and_then(as_dict).and_then(|d| d.get(nm).ok()).and_then(|o| match o {
            Object::Reference(r) => Some(*r),
            _ => None,
        })
    };
    for op in &ops {
        match op.name.as_slice() {
            b"Tj" | b"TJ" | b"'" | b"\"" => return true,
            b"BI" if images => return true,
            b"Do" => {
                let Some(x) = op.name_operand().and_then(|nm| named(b"XObject", nm)) else { continue };
                let sub = doc.get_dictionary(x).ok().and_then(|d| d.get(b"Subtype").ok()).and_then(super::font::name);
                match sub {
                    Some(b"Form") if draws_text(doc, x, images, stack, memo) => return true,
                    Some(b"Image") if images => return true,
                    _ => {}
                }
            }
            b"scn" | b"SCN" => {
                if let Some(p) = op.name_operand().and_then(|nm| named(b"Pattern", nm)) {
                    if draws_text(doc, p, true, stack, memo) {
                        return true;
                    }
                }
            }
            _ => {}
        }
    }
    false
}

fn det(m: &M) -> f64 {
    (m[0] * m[3] - m[1] * m[2]).abs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::{dictionary, Stream};

    pub(crate) fn one_page_doc(content: &[u8]) -> (Document, ObjectId) {
        let mut doc = Document::with_version("1.7");
        let font = doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica" });
        let cid = doc.add_object(Stream::new(dictionary! {}, content.to_vec()));
        let pages_id = doc.new_object_id();
        let page = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
            "Contents" => cid, "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
        });
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 }),
        );
        let cat = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
        doc.trailer.set("Root", cat);
        (doc, page)
    }

    /// A reviewer's region: the glyphs whose boxes touch it and the drawing inside it leave the
    /// content; a background rectangle crossing it stays; a curve crossing its edge holds the page.
    #[test]
    fn a_region_takes_out_glyphs_and_drawings_inside_it_and_holds_a_crossing_curve() {
        use crate::pdf::core::{read_text, redact, LoadedPdf, Mark, PageEdit};
        let run = |extra: &str| {
            let c = format!(
                "1 1 1 rg 0 0 612 792 re f 0 g BT /F1 12 Tf 72 700 Td (Kept words) Tj 0 -20 Td (Secret place) Tj ET \
                 150 670 m 160 690 l 170 670 l S {extra}"
            );
            let (doc, _) = one_page_doc(c.as_bytes());
            let pdf = LoadedPdf::from_document(doc).unwrap();
            let pages = read_text(&pdf).unwrap();
            let edits = vec![PageEdit { index: 0, marks: vec![Mark::region([70.0, 665.0, 200.0, 692.0], "TP", None)] }];
            let red = redact(&pdf, &pages, &edits).unwrap();
            let mut doc = red.doc.clone();
            let content =
                String::from_utf8_lossy(&doc.get_page_content(*doc.get_pages().values().next().unwrap())).to_string();
            let text = read_text(&LoadedPdf::from_document(std::mem::take(&mut doc)).unwrap()).unwrap()[0].text.clone();
            (red.verdicts[0].clone(), content, text)
        };
        let (v, content, text) = run("");
        assert!(v.ok, "{:?}", v.problems);
        assert!(text.contains("Kept words") && !text.contains("Secret") && !text.contains("place"), "{text}");
        assert!(!content.contains("160 690 l"), "the drawing inside the region is out of the content");
        assert!(content.contains("0 0 612 792 re"), "the background rectangle stays");
        assert!(content.contains("70 665 130 27 re f"), "one box covers the region: {content}");
        let (v, _, _) = run("100 600 m 150 700 200 700 300 600 c S");
        assert!(!v.ok && v.problems.iter().any(|p| p.contains("cross the edge")), "{:?}", v.problems);
    }

    /// Decoding and measuring look glyph names up once per font (a table of its 256 codes), not
    /// once per glyph shown: the look-ups of a page do not grow with its glyphs. The same for the
    /// WinAnsi encoding and Helvetica widths of labels.
    #[test]
    fn glyph_names_are_looked_up_per_font_not_per_glyph() {
        use crate::pdf::core::font::{helvetica_width, name_lookups, winansi_code};
        let lookups = |n: usize| {
            let line = "Amara Ashdown caf\\351 ".repeat(n);
            let c = format!("BT /F1 10 Tf 72 700 Td ({line}) Tj /F2 10 Tf 0 -12 Td ({line}) Tj ET");
            let (mut doc, page) = one_page_doc(c.as_bytes());
            let f1 = doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding" });
            let f2 = doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Times-Roman", "Encoding" => "MacRomanEncoding" });
            doc.get_dictionary_mut(page)
                .unwrap()
                .set("Resources", dictionary! { "Font" => dictionary! { "F1" => f1, "F2" => f2 } });
            let before = name_lookups();
            let s = scan_page(&doc, page, 1).unwrap();
            assert_eq!(s.glyphs.len(), 2 * 19 * n);
            // \351 is é in WinAnsi, È in MacRoman: both fonts were decoded by their own tables
            assert_eq!(s.glyphs[17].unicode.as_deref(), Some("\u{e9}"));
            assert_eq!(s.glyphs[19 * n + 17].unicode.as_deref(), Some("\u{c8}"));
            name_lookups() - before
        };
        let few = lookups(2);
        assert!(few > 0, "loading a font looks its names up");
        assert_eq!(lookups(400), few, "glyph names looked up per glyph");
        winansi_code('a');
        helvetica_width("a");
        let before = name_lookups();
        for _ in 0..1000 {
            winansi_code('\u{e9}');
            helvetica_width("Third party");
        }
        assert_eq!(name_lookups(), before, "labels look glyph names up per character");
    }

    #[test]
    fn text_state_persists_across_bt_et_and_q_restores() {
        let c = b"BT /F1 10 Tf 3 Tr 2 Tc 50 Tz 100 700 Td (A) Tj ET BT 100 650 Td (B) Tj ET q BT 0 Tr 0 Tc 100 Tz 100 600 Td (C) Tj ET Q BT 100 550 Td (D) Tj ET";
        let (doc, page) = one_page_doc(c);
        let s = scan_page(&doc, page, 1).unwrap();
        assert_eq!(s.glyphs.len(), 4);
        // B inherits Tr 3 from the first BT..ET
        assert!(!s.glyphs[0].visible && !s.glyphs[1].visible);
        assert!(s.glyphs[2].visible);
        // D: q/Q restored Tr 3 and the letter spacing
        assert!(!s.glyphs[3].visible);
        let w_a = 667.0 / 1000.0; // Helvetica A
        let adv_b = s.glyphs[1].next.0 - s.glyphs[1].origin.0;
        assert!((adv_b - (w_a * 10.0 + 2.0) * 0.5).abs() < 1e-6, "{adv_b}");
        let adv_c = s.glyphs[2].next.0 - s.glyphs[2].origin.0;
        assert!((adv_c - 7.22).abs() < 1e-6, "{adv_c}");
    }

    #[test]
    fn displacement_arithmetic() {
        // 12 pt, Tc 1.5, Tw 4, Tz 80: removing "a b" must leave the next glyph exactly in place
        let c = b"BT /F1 12 Tf 1.5 Tc 4 Tw 80 Tz 10 10 Td (a bX) Tj ET";
        let (doc, page) = one_page_doc(c);
        let s = scan_page(&doc, page, 1).unwrap();
        let g = &s.glyphs;
        // n = -(w0*Tfs + Tc + Tw*[space]) * 1000 / Tfs
        assert!((g[0].disp - (-(0.556 * 12.0 + 1.5) * 1000.0 / 12.0)).abs() < 1e-9);
        assert!((g[1].disp - (-(0.278 * 12.0 + 1.5 + 4.0) * 1000.0 / 12.0)).abs() < 1e-9);
        let sum: f64 = g[..3].iter().map(|x| x.disp).sum();
        let c2 = format!("BT /F1 12 Tf 1.5 Tc 4 Tw 80 Tz 10 10 Td [{} (X)] TJ ET", sum);
        let (doc2, page2) = one_page_doc(c2.as_bytes());
        let s2 = scan_page(&doc2, page2, 1).unwrap();
        assert!((s2.glyphs[0].origin.0 - g[3].origin.0).abs() < 1e-9);
    }
}

#[cfg(test)]
mod tounicode_tests {
    use super::conflicts;

    fn s(i: usize, read: &str, own: Option<&str>) -> (usize, String, Option<String>) {
        (i, read.to_string(), own.map(str::to_string))
    }

    /// A shaped Arabic word as a browser writes it (py-pdf sample 015-arabic): the word's text on
    /// one glyph, nothing on the others, a glyph the font names Farsi yeh where the text has
    /// Arabic yeh, and the word's text also on the Latin letter after it. Not a contradiction.
    #[test]
    fn a_shaped_cluster_whose_text_is_on_one_glyph_is_not_a_conflict() {
        let word = "\u{062D}\u{064E}\u{0628}\u{064A}\u{0628}\u{064A}";
        let run = [
            s(0, &format!("{word}h"), Some("h")),
            s(7, "", Some("\u{064A}")),
            s(8, "", Some("\u{0628}")),
            s(9, "", Some("\u{06CC}")),
            s(10, "", Some("\u{0628}")),
            s(11, "", Some("\u{064E}")),
            s(12, word, Some("\u{062D}")),
        ];
        assert_eq!(conflicts(&run), 0);
    }

    /// What a reader sees must be in the text read: a Latin name mapped to other letters, an
    /// Arabic cluster showing a letter its text lacks, a Latin letter carrying Latin text of
    /// another word: each counts.
    #[test]
    fn letters_shown_but_not_in_the_text_are_conflicts() {
        let latin: Vec<_> = "jones"
            .chars()
            .zip("smith".chars())
            .enumerate()
            .map(|(i, (own, read))| s(i, &read.to_string(), Some(&own.to_string())))
            .collect();
        assert_eq!(conflicts(&latin), 5);
        let arabic = [s(0, "", Some("\u{0644}")), s(1, "\u{062D}\u{0628}", Some("\u{0628}"))];
        assert_eq!(conflicts(&arabic), 2, "lam shown, not in the text");
        assert_eq!(conflicts(&[s(0, "smithh", Some("h"))]), 1, "Latin text hidden on a Latin letter");
        // a cluster's text may not run far past its glyphs
        let long = [s(0, "", Some("\u{0628}")), s(1, &"\u{0628}".repeat(9), Some("\u{0628}"))];
        assert_eq!(conflicts(&long), 2);
    }
}
