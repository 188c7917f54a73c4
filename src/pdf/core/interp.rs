//! Text-state interpreter: runs a page's content (and the Form XObjects it draws, recursively,
//! with their /Matrix and the current CTM) and produces one glyph per shown character code,
//! with its page-space box and its source location for the rewriter.

use super::font::{as_dict, deref, dget, num, stream_bytes, Font};
use super::lexer::{parse_content, Op, Operand};
use super::PdfError;
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::collections::HashMap;
use std::rc::Rc;

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
    pub font: Option<Rc<Font>>,
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
    pub width: f64,
    pub height: f64,
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
    fonts: HashMap<ObjectId, Rc<Font>>,
    form_stack: Vec<ObjectId>,
    budget: usize,
}

pub fn scan_page(doc: &Document, page_id: ObjectId, page_no: usize) -> Result<PageScan, PdfError> {
    let page =
        doc.get_dictionary(page_id).map_err(|_| PdfError::Damaged { page: Some(page_no), reason: "page object" })?;
    let media = rect(doc, inherited(doc, page, b"MediaBox")).unwrap_or([0.0, 0.0, 612.0, 792.0]);
    let crop = rect(doc, inherited(doc, page, b"CropBox")).unwrap_or(media);
    let resources = inherited(doc, page, b"Resources").and_then(as_dict).cloned().unwrap_or_default();
    let content = page_content(doc, page_id, page_no)?;
    let ops = parse_content(&content);
    let mut r = Runner {
        doc,
        page_no,
        instances: vec![],
        glyphs: vec![],
        image_area: 0.0,
        image_boxes: vec![],
        fonts: HashMap::new(),
        form_stack: vec![],
        budget: 5_000_000,
    };
    r.instances.push(Instance { source: Source::Page, content, ops, parent: None, resources });
    let mut gs = GState { ctm: IDENT, text: TextState::default() };
    let (depth, in_text) = r.run(0, &mut gs)?;
    Ok(PageScan {
        page_id,
        instances: r.instances,
        glyphs: r.glyphs,
        image_area: r.image_area,
        image_boxes: r.image_boxes,
        width: crop[2] - crop[0],
        height: crop[3] - crop[1],
        end_q_depth: depth,
        end_in_text: in_text,
    })
}

impl<'a> Runner<'a> {
    fn font(&mut self, res: &Dictionary, name: &[u8]) -> Option<Rc<Font>> {
        let fonts = dget(self.doc, res, b"Font").and_then(as_dict)?;
        let o = fonts.get(name).ok()?;
        if let Object::Reference(id) = o {
            if let Some(f) = self.fonts.get(id) {
                return Some(f.clone());
            }
            let fd = as_dict(deref(self.doc, o))?;
            let f = Rc::new(Font::load(self.doc, fd));
            self.fonts.insert(*id, f.clone());
            Some(f)
        } else {
            Some(Rc::new(Font::load(self.doc, as_dict(o)?)))
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
                        gs.text.font = Some(Rc::new(Font::fallback()));
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
                b"BI" => self.image(&gs.ctm),
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
                self.image(&gs.ctm);
                Ok(())
            }
            Some(b"Form") => {
                if self.form_stack.contains(&id) || self.form_stack.len() > 24 {
                    return Ok(()); // cycle: draw nothing more
                }
                let content = stream_bytes(doc, r)
                    .ok_or(PdfError::Damaged { page: Some(self.page_no), reason: "form xobject cannot be decoded" })?;
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
                let resources =
                    dget(doc, &s.dict, b"Resources").and_then(as_dict).cloned().unwrap_or_else(|| res.clone());
                let ops = parse_content(&content);
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

    fn image(&mut self, ctm: &M) {
        self.image_area += det(ctm);
        let pts = [apply(ctm, 0.0, 0.0), apply(ctm, 1.0, 0.0), apply(ctm, 0.0, 1.0), apply(ctm, 1.0, 1.0)];
        let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        for (x, y) in pts {
            b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        }
        if self.image_boxes.len() < 10_000 {
            self.image_boxes.push(b);
        }
    }

    fn show(&mut self, inst: usize, op: usize, elem: usize, s: &[u8], gs: &GState, tm: &mut M) {
        let font = gs.text.font.clone().unwrap_or_else(|| Rc::new(Font::fallback()));
        let t = &gs.text;
        let fm = [t.tfs * t.th, 0.0, 0.0, t.tfs, 0.0, t.ts];
        let em_scale =
            if font.kind == super::font::FontKind::Type3 { (font.ascent - font.descent).clamp(0.1, 10.0) } else { 1.0 };
        for (code, off, len) in font.codes(s) {
            let w0 = font.width(code);
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
            self.glyphs.push(RawGlyph {
                unicode: font.unicode(code),
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
