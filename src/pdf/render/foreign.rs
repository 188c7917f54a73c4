//! Embedding pages of existing PDFs.
//!
//! A foreign page becomes a Form XObject: its content streams (decoded,
//! concatenated with a newline between parts, re-compressed) with
//! `/BBox` = the page's CropBox (or MediaBox) and the page's resolved
//! (inherited) `/Resources`. Every object reachable from the resources is
//! copied with a fresh reference; objects shared between pages of the same
//! source document are copied once (keyed by document pointer + id).
//! `/Metadata`, `/PieceInfo`, `/StructParent(s)`, `/AA`, `/Annots` and `/OC`
//! are dropped from every copied dictionary; references to page-tree nodes
//! become `null` (so the source page tree is never dragged in).
//!
//! `/Rotate` is applied: the bundle page is presented upright (its size is
//! the rotated CropBox, no `/Rotate` on the output page), so the footer
//! stamp is always at the visual bottom.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use lopdf::{Document, Object, ObjectId};
use pdf_writer::{Filter, Finish, Name, Null, Obj, Pdf, Ref, Str};

use super::font::{deflate, Font};
use super::layout::{Item, MARK_FILL, MIN_MARK_TEXT};

/// Upper bound on decoded content of one foreign page.
const MAX_CONTENT: usize = 256 * 1024 * 1024;

const DROP_KEYS: &[&[u8]] = &[b"Metadata", b"PieceInfo", b"StructParents", b"StructParent", b"AA", b"Annots", b"OC"];

#[derive(Clone, Debug)]
pub(crate) struct Geometry {
    /// Output page size (after rotation).
    pub width: f32,
    pub height: f32,
    /// Visible box in source user space [x0 y0 x1 y1].
    pub bbox: [f32; 4],
    /// Source user space -> output page space.
    pub matrix: [f32; 6],
}

/// Look up an inheritable page attribute (page, then its ancestors).
fn inherited<'a>(doc: &'a Document, page: ObjectId, key: &[u8]) -> Option<&'a Object> {
    let mut id = page;
    for _ in 0..64 {
        let dict = doc.get_dictionary(id).ok()?;
        if let Ok(v) = dict.get(key) {
            return Some(v);
        }
        id = dict.get(b"Parent").and_then(Object::as_reference).ok()?;
    }
    None
}

fn num(o: &Object) -> Option<f32> {
    match o {
        Object::Integer(i) => Some(*i as f32),
        Object::Real(r) => Some(*r),
        _ => None,
    }
}

fn rect(doc: &Document, o: &Object) -> Option<[f32; 4]> {
    let (_, o) = doc.dereference(o).ok()?;
    let a = o.as_array().ok()?;
    if a.len() != 4 {
        return None;
    }
    let mut v = [0f32; 4];
    for (i, x) in a.iter().enumerate() {
        let (_, x) = doc.dereference(x).ok()?;
        v[i] = num(x)?;
    }
    Some([v[0].min(v[2]), v[1].min(v[3]), v[0].max(v[2]), v[1].max(v[3])])
}

pub(crate) fn geometry(doc: &Document, page: ObjectId) -> Result<Geometry, String> {
    doc.get_dictionary(page).map_err(|e| format!("page {page:?}: {e}"))?;
    let media = inherited(doc, page, b"MediaBox").and_then(|o| rect(doc, o)).unwrap_or([0.0, 0.0, 612.0, 792.0]);
    let crop = inherited(doc, page, b"CropBox").and_then(|o| rect(doc, o));
    // visible area: CropBox clipped to MediaBox
    let b = match crop {
        Some(c) => {
            let r = [c[0].max(media[0]), c[1].max(media[1]), c[2].min(media[2]), c[3].min(media[3])];
            if r[2] - r[0] > 1.0 && r[3] - r[1] > 1.0 {
                r
            } else {
                media
            }
        }
        None => media,
    };
    let rot = inherited(doc, page, b"Rotate")
        .and_then(|o| doc.dereference(o).ok().and_then(|(_, o)| num(o)))
        .unwrap_or(0.0) as i64;
    let rot = ((rot % 360) + 360) % 360;
    let (w, h) = (b[2] - b[0], b[3] - b[1]);
    // translate the box to the origin, then rotate clockwise
    let (x0, y0) = (b[0], b[1]);
    let (width, height, matrix) = match rot {
        90 => (h, w, [0.0, -1.0, 1.0, 0.0, -y0, w + x0]),
        180 => (w, h, [-1.0, 0.0, 0.0, -1.0, w + x0, h + y0]),
        270 => (h, w, [0.0, 1.0, -1.0, 0.0, h + y0, -x0]),
        _ => (w, h, [1.0, 0.0, 0.0, 1.0, -x0, -y0]),
    };
    Ok(Geometry { width, height, bbox: b, matrix })
}

/// A foreign page's content streams, joined and compressed: the content of its Form XObject.
pub(crate) fn page_data(doc: &Document, page: ObjectId) -> Result<Vec<u8>, String> {
    let content =
        doc.get_page_content_with_limit(page, MAX_CONTENT).map_err(|e| format!("page {page:?} content: {e}"))?;
    Ok(deflate(&content))
}

/// Copies objects from source documents into the output.
pub(crate) struct Copier {
    map: HashMap<(usize, ObjectId), Ref>,
    /// Form XObjects already written for (document, page).
    pages: HashMap<(usize, ObjectId), Ref>,
    queue: VecDeque<(Arc<Document>, ObjectId, Ref)>,
}

impl Copier {
    pub(crate) fn new() -> Self {
        Copier { map: HashMap::new(), pages: HashMap::new(), queue: VecDeque::new() }
    }

    /// Reference for a source object (allocated and queued on first use);
    /// `None` for objects that must not be copied (page-tree nodes, missing).
    fn reference(&mut self, doc: &Arc<Document>, id: ObjectId, next: &mut Ref) -> Option<Ref> {
        let key = (Arc::as_ptr(doc) as usize, id);
        if let Some(r) = self.map.get(&key) {
            return Some(*r);
        }
        let obj = doc.get_object(id).ok()?;
        if let Ok(d) = obj.as_dict() {
            if let Ok(t) = d.get(b"Type").and_then(Object::as_name) {
                if t == b"Page" || t == b"Pages" {
                    return None;
                }
            }
        }
        let r = next.bump();
        self.map.insert(key, r);
        self.queue.push_back((doc.clone(), id, r));
        Some(r)
    }

    /// Write the Form XObject for a foreign page; returns its reference. `data` is the page's
    /// content as [`page_data`] gives it (made beforehand, in parallel with other pages).
    pub(crate) fn page_xobject(
        &mut self,
        pdf: &mut Pdf,
        doc: &Arc<Document>,
        page: ObjectId,
        geo: &Geometry,
        next: &mut Ref,
        data: Result<Vec<u8>, String>,
    ) -> Result<Ref, String> {
        let key = (Arc::as_ptr(doc) as usize, page);
        if let Some(r) = self.pages.get(&key) {
            return Ok(*r);
        }
        let data = data?;
        let xref = next.bump();
        let resources = inherited(doc, page, b"Resources").cloned();
        let group = doc.get_dictionary(page).ok().and_then(|d| d.get(b"Group").ok()).cloned();
        let mut s = pdf.stream(xref, &data);
        s.pair(Name(b"Type"), Name(b"XObject"));
        s.pair(Name(b"Subtype"), Name(b"Form"));
        s.insert(Name(b"BBox")).array().items(geo.bbox);
        s.filter(Filter::FlateDecode);
        match &resources {
            Some(r) => self.write(s.insert(Name(b"Resources")), doc, r, next),
            None => {
                s.insert(Name(b"Resources")).dict();
            }
        }
        if let Some(g) = &group {
            self.write(s.insert(Name(b"Group")), doc, g, next);
        }
        s.finish();
        self.drain(pdf, next)?;
        self.pages.insert(key, xref);
        Ok(xref)
    }

    /// Copy every queued object (and what it references).
    fn drain(&mut self, pdf: &mut Pdf, next: &mut Ref) -> Result<(), String> {
        while let Some((doc, id, r)) = self.queue.pop_front() {
            let obj = doc.get_object(id).map_err(|e| format!("object {id:?}: {e}"))?;
            match obj {
                Object::Stream(st) => {
                    let mut s = pdf.stream(r, &st.content);
                    for (k, v) in st.dict.iter() {
                        if k.as_slice() == b"Length" || DROP_KEYS.contains(&k.as_slice()) {
                            continue;
                        }
                        self.write(s.insert(Name(k)), &doc, v, next);
                    }
                    s.finish();
                }
                Object::Dictionary(d) => match crate::pdf::fonts_embed::replacement(&doc, d) {
                    Some(rep) => write_replacement(pdf, r, &rep, next),
                    None => {
                        let o = pdf.indirect(r);
                        self.write(o, &doc, obj, next);
                    }
                },
                other => {
                    let o = pdf.indirect(r);
                    self.write(o, &doc, other, next);
                }
            }
        }
        Ok(())
    }

    fn write(&mut self, obj: Obj<'_>, doc: &Arc<Document>, o: &Object, next: &mut Ref) {
        match o {
            Object::Null => obj.primitive(Null),
            Object::Boolean(b) => obj.primitive(*b),
            Object::Integer(i) => {
                if let Ok(v) = i32::try_from(*i) {
                    obj.primitive(v)
                } else {
                    obj.primitive(*i as f32)
                }
            }
            Object::Real(f) => obj.primitive(if f.is_finite() { *f } else { 0.0 }),
            Object::Name(n) => obj.primitive(Name(n)),
            Object::String(s, _) => obj.primitive(Str(s)),
            Object::Array(a) => {
                let mut arr = obj.array();
                for v in a {
                    self.write(arr.push(), doc, v, next);
                }
            }
            Object::Dictionary(d) => {
                let mut dict = obj.dict();
                for (k, v) in d.iter() {
                    if DROP_KEYS.contains(&k.as_slice()) {
                        continue;
                    }
                    self.write(dict.insert(Name(k)), doc, v, next);
                }
            }
            // a direct stream cannot occur in valid files; write its dictionary
            Object::Stream(st) => {
                let mut dict = obj.dict();
                for (k, v) in st.dict.iter() {
                    if DROP_KEYS.contains(&k.as_slice()) {
                        continue;
                    }
                    self.write(dict.insert(Name(k)), doc, v, next);
                }
            }
            Object::Reference(id) => match self.reference(doc, *id, next) {
                Some(r) => obj.primitive(r),
                None => obj.primitive(Null),
            },
        }
    }
}

/// An attachment's unembedded font, written as the embedded Liberation font that replaces it
/// (PDF/A: every font embedded); the content streams keep their codes.
fn write_replacement(pdf: &mut Pdf, r: Ref, rep: &crate::pdf::fonts_embed::Replacement, next: &mut Ref) {
    let (fd, file, tu) = (next.bump(), next.bump(), next.bump());
    let mut f = pdf.indirect(r).dict();
    f.pair(Name(b"Type"), Name(b"Font"));
    f.pair(Name(b"Subtype"), Name(b"TrueType"));
    f.pair(Name(b"BaseFont"), Name(rep.base_font.as_bytes()));
    f.pair(Name(b"FirstChar"), rep.first_char as i32);
    f.pair(Name(b"LastChar"), rep.first_char as i32 + rep.widths.len() as i32 - 1);
    f.insert(Name(b"Widths")).array().items(rep.widths.iter().copied());
    f.pair(Name(b"FontDescriptor"), fd);
    f.pair(Name(b"ToUnicode"), tu);
    f.finish();
    let mut d = pdf.indirect(fd).dict();
    d.pair(Name(b"Type"), Name(b"FontDescriptor"));
    d.pair(Name(b"FontName"), Name(rep.base_font.as_bytes()));
    d.pair(Name(b"Flags"), rep.flags as i32);
    d.insert(Name(b"FontBBox")).array().items(rep.bbox);
    d.pair(Name(b"ItalicAngle"), rep.italic_angle);
    d.pair(Name(b"Ascent"), rep.ascent);
    d.pair(Name(b"Descent"), rep.descent);
    d.pair(Name(b"CapHeight"), rep.cap_height);
    d.pair(Name(b"StemV"), rep.stem_v);
    d.pair(Name(b"FontFile2"), file);
    d.finish();
    let packed = deflate(&rep.program);
    let mut s = pdf.stream(file, &packed);
    s.filter(Filter::FlateDecode);
    s.pair(Name(b"Length1"), rep.program.len() as i32);
    s.finish();
    pdf.stream(tu, &deflate(&rep.to_unicode)).filter(Filter::FlateDecode);
}

/// What is written over (or beside) the boxes painted in a foreign page: each mark's code, and
/// notes for marks whose box is too small to carry it. `code` is none for the notes.
pub(crate) struct Overlay {
    pub code: Option<String>,
    pub items: Vec<Item>,
}

/// The size a mark's tag beside its box is written in, and its notes.
const TAG_SIZE: f32 = 6.5;

/// Lay out the codes of the marks on a foreign page, in the output page's space. Every mark gets
/// its code (with its label where that fits) in white on the box, at 6 pt or more; where the box
/// is too small, a numbered tag beside it carries the code and a note at the foot of the page
/// says what the number stands for. Labels are `CODE` or `CODE: label`.
pub(crate) fn overlays(
    font: &Font,
    geo: &Geometry,
    page_w: f32,
    marks: &[super::Overlay],
    words: &HashMap<String, String>,
    ink: &crate::pdf::core::PageInk,
) -> Vec<Overlay> {
    let m = geo.matrix;
    let unit = |t: &str| font.width(t, 1.0) as f64;
    let upright = m[1] == 0.0 && m[2] == 0.0 && m[0] > 0.0 && m[3] > 0.0;
    // a source rectangle in the output page's space
    let to_out = |r: &[f64; 4]| {
        let pts = [(r[0], r[1]), (r[2], r[1]), (r[0], r[3]), (r[2], r[3])]
            .map(|(x, y)| (m[0] * x as f32 + m[2] * y as f32 + m[4], m[1] * x as f32 + m[3] * y as f32 + m[5]));
        let x0 = pts.iter().map(|p| p.0).fold(f32::MAX, f32::min);
        let x1 = pts.iter().map(|p| p.0).fold(f32::MIN, f32::max);
        let y0 = pts.iter().map(|p| p.1).fold(f32::MAX, f32::min);
        let y1 = pts.iter().map(|p| p.1).fold(f32::MIN, f32::max);
        [x0, y0, x1, y1]
    };
    // What a tag or note must not cover: the page's kept text and images, and every mark's box
    // (whose code is written in it). A tag is put in the first free place of: beside the box on
    // the right, on the left, above, below, in the right margin, in the left margin.
    // (An image over half the page or more is a background here: a page where it is not would
    // be a scan, read by OCR, whose ink is its words, or held as a large image on a text page.)
    let page_area = (geo.width * geo.height) as f64;
    let images = ink.images.iter().filter(|b| (b[2] - b[0]) * (b[3] - b[1]) < 0.5 * page_area);
    let mut taken: Vec<[f32; 4]> =
        ink.text.iter().chain(images).chain(marks.iter().map(|o| &o.0)).map(to_out).collect();
    let free = |taken: &[[f32; 4]], r: [f32; 4]| {
        r[0] >= 1.0
            && r[1] >= 1.0
            && r[2] <= geo.width - 1.0
            && r[3] <= geo.height - 1.0
            && !taken
                .iter()
                .any(|t| t[0] < r[2] - 0.25 && r[0] < t[2] - 0.25 && t[1] < r[3] - 0.25 && r[1] < t[3] - 0.25)
    };
    let mut out = Vec::new();
    let mut notes: Vec<(String, Vec<usize>)> = Vec::new();
    let mut n = 0;
    for (r, label, line) in marks {
        let [x0, y0, x1, y1] = to_out(r);
        if !(x0.is_finite() && x1.is_finite() && y0.is_finite() && y1.is_finite()) {
            continue;
        }
        let h = y1 - y0;
        let code = label.split(':').next().unwrap_or(label).trim().to_string();
        let rect = [x0 as f64, y0 as f64, x1 as f64, y1 as f64];
        // On an upright page with the line known, the label is written on the line it replaces
        // (so that text extractors read it in place); else centred. Either way at 6 pt or more:
        // the label, else its code alone.
        let place = |t: &str| {
            let p = if upright {
                let (d, f) = (m[3] as f64, m[5] as f64);
                let line = line.map(|[y, size]| [d * y + f, d * size]);
                crate::pdf::core::rewrite::place_label(&rect, line, t, &unit)
                    .map(|p| crate::pdf::core::rewrite::LabelPlace { hscale: p.hscale * m[0] as f64 / d, ..p })
            } else {
                crate::pdf::core::rewrite::place_label(&rect, None, t, &unit)
            };
            p.filter(|p| p.size >= MIN_MARK_TEXT as f64)
        };
        let inside = place(label).or_else(|| place(&code));
        let mut items = Vec::new();
        match inside {
            Some(p) => {
                items.push(Item::Text {
                    x: p.x as f32,
                    y: p.y as f32,
                    size: p.size as f32,
                    gray: 1.0,
                    bold: false,
                    text: p.text,
                    hscale: p.hscale as f32,
                });
            }
            None => {
                n += 1;
                let text = format!("[{n}] {code}");
                let tw = font.width(&text, TAG_SIZE) + 3.0;
                let th = TAG_SIZE * 1.25;
                let y = y0 + (h - th) / 2.0;
                let spots = [
                    (x1 + 1.0, y),
                    (x0 - 1.0 - tw, y),
                    (x0, y1 + 1.0),
                    (x0, y0 - 1.0 - th),
                    (page_w - 3.0 - tw, y),
                    (3.0, y),
                ];
                let spot = spots.into_iter().find(|&(x, y)| free(&taken, [x, y, x + tw, y + th]));
                let Some((x, y)) = spot else {
                    // Nowhere free: no tag (it would hide the page's words); the note at the foot
                    // counts the box, and the schedule lists it.
                    n -= 1;
                    match notes.iter_mut().find(|(c, _)| *c == code) {
                        Some((_, v)) => v.push(0),
                        None => notes.push((code.clone(), vec![0])),
                    }
                    out.push(Overlay { code: Some(code), items });
                    continue;
                };
                taken.push([x, y, x + tw, y + th]);
                items.push(Item::Rect { x, y, w: tw, h: th, fill: Some(MARK_FILL), stroke: None });
                items.push(Item::Text {
                    x: x + 1.5,
                    y: y + (th - 0.72 * TAG_SIZE) / 2.0,
                    size: TAG_SIZE,
                    gray: 1.0,
                    bold: false,
                    text,
                    hscale: 1.0,
                });
                match notes.iter_mut().find(|(c, _)| *c == code) {
                    Some((_, v)) => v.push(n),
                    None => notes.push((code.clone(), vec![n])),
                }
            }
        }
        out.push(Overlay { code: Some(code), items });
    }
    if !notes.is_empty() {
        // One line per code, at the foot of the page above the page number.
        let lines: Vec<String> = notes
            .iter()
            .map(|(code, ns)| {
                let nums: Vec<String> = ns.iter().filter(|&&k| k > 0).map(|k| format!("[{k}]")).collect();
                let untagged = ns.iter().filter(|&&k| k == 0).count();
                let what = words.get(code).map(|w| format!(": {w}")).unwrap_or_default();
                let why = match (nums.len(), untagged) {
                    (_, 0) => "(the box is too small to carry its code)".to_string(),
                    (0, 1) => "(a box on this page is too small to carry its code)".to_string(),
                    (0, k) => format!("({k} boxes on this page are too small to carry their code)"),
                    (_, k) => format!("(the boxes are too small to carry their code; {k} more without a tag)"),
                };
                let head = if nums.is_empty() { String::new() } else { format!("{} ", nums.join(" ")) };
                format!("{head}{code}{what} {why}")
            })
            .collect();
        let lh = TAG_SIZE * 1.3;
        let width = lines.iter().map(|l| font.width(l, TAG_SIZE)).fold(0.0f32, f32::max).min(page_w - 8.0);
        let bh = lh * lines.len() as f32 + 4.0;
        let bx = (page_w - width) / 2.0 - 4.0;
        // At the foot of the page above the page number, else at its top, else the first band
        // between where nothing is drawn; nowhere free, no note (the schedule has every mark).
        let bands = std::iter::once(32.0)
            .chain(std::iter::once(geo.height - 8.0 - bh))
            .chain((0..).map(|k| 32.0 + 4.0 * k as f32).take_while(|y| y + bh <= geo.height - 8.0));
        let Some(by) = bands.into_iter().find(|&y| free(&taken, [bx, y, bx + width + 8.0, y + bh])) else {
            return out;
        };
        let mut items =
            vec![Item::Rect { x: bx, y: by, w: width + 8.0, h: bh, fill: Some(1.0), stroke: Some((0.6, 0.5)) }];
        let top = by + 3.0 + lh * (lines.len() - 1) as f32;
        for (i, l) in lines.iter().enumerate() {
            items.push(Item::Text {
                x: bx + 4.0,
                y: top - lh * i as f32,
                size: TAG_SIZE,
                gray: 0.15,
                bold: false,
                text: l.clone(),
                hscale: 1.0,
            });
        }
        out.push(Overlay { code: None, items });
    }
    out
}
