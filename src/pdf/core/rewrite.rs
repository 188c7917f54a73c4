//! Glyph removal. Only the text-showing operators that lose glyphs are re-serialized (as `TJ`
//! with a displacement per removed glyph, so nothing else moves); every other byte of the
//! content stream is copied verbatim. Form XObjects that lose glyphs are copied per use
//! (copy-on-write) and the `Do` of their parent points to the copy. Boxes with the mark's code
//! (or label) are painted over the removed glyphs, one per mark per line.
//!
//! Every page's resources, and every drawn form's, are cut to what its content uses: a form or
//! an image that sits in `/Resources` but is never drawn is dropped (with `prune_objects` after),
//! so it is neither copied into the bundle nor readable in its objects.

use super::font::{as_dict, deref, helvetica_width, winansi_code};
use super::interp::{PageScan, RawGlyph, Source};
use super::lexer::{fmt_num, hex_token, Operand};
use super::{Mark, PdfError};
use lopdf::{Dictionary, Document, Object, ObjectId, Stream};
use std::collections::{HashMap, HashSet};
use std::ops::Range;

pub const LABEL_FONT: &[u8] = b"DcRedactLbl";

fn apply_edits(content: &[u8], edits: &mut [(Range<usize>, Vec<u8>)]) -> Vec<u8> {
    edits.sort_by_key(|e| e.0.start);
    let mut out = Vec::with_capacity(content.len() + 64);
    let mut pos = 0;
    for (r, rep) in edits.iter() {
        if r.start < pos || r.end > content.len() {
            continue;
        }
        out.extend_from_slice(&content[pos..r.start]);
        out.extend_from_slice(rep);
        pos = r.end;
    }
    out.extend_from_slice(&content[pos..]);
    out
}

/// Does an inline property list carry text (ActualText / Alt / E)?
fn dict_has_text(entries: &[(Vec<u8>, Operand)]) -> bool {
    entries.iter().any(|(k, _)| matches!(k.as_slice(), b"ActualText" | b"Alt" | b"E"))
}

/// Rebuild one text-showing op without the removed glyphs.
fn rebuild_op(
    content: &[u8],
    op: &super::lexer::Op,
    glyphs: &[&RawGlyph],
    removed: &HashSet<usize>,
    gidx: &[usize],
    page_no: usize,
) -> Result<Vec<u8>, PdfError> {
    let mut items: Vec<Vec<u8>> = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut pending: f64 = 0.0;
    let mut have_pending = false;
    let flush_str = |items: &mut Vec<Vec<u8>>, cur: &mut Vec<u8>| {
        if !cur.is_empty() {
            items.push(hex_token(cur));
            cur.clear();
        }
    };
    let show_elem = |k: usize,
                     s: &[u8],
                     items: &mut Vec<Vec<u8>>,
                     cur: &mut Vec<u8>,
                     pending: &mut f64,
                     have_pending: &mut bool|
     -> Result<(), PdfError> {
        for (g, gi) in glyphs.iter().zip(gidx.iter()).filter(|(g, _)| g.elem == k) {
            let bytes = s.get(g.byte_start..g.byte_start + g.byte_len).unwrap_or(&[]);
            if removed.contains(gi) {
                if !g.disp.is_finite() {
                    return Err(PdfError::Unsupported { page: page_no, what: "text with zero font size" });
                }
                if !g.exact {
                    return Err(PdfError::Unsupported { page: page_no, what: "glyph widths of a font are unknown" });
                }
                if !cur.is_empty() {
                    items.push(hex_token(cur));
                    cur.clear();
                }
                *pending += g.disp;
                *have_pending = true;
            } else {
                if *have_pending {
                    items.push(fmt_num(*pending).into_bytes());
                    *pending = 0.0;
                    *have_pending = false;
                }
                cur.extend_from_slice(bytes);
            }
        }
        Ok(())
    };
    let name = op.name.as_slice();
    match (name, op.operands.last()) {
        (b"TJ", Some((Operand::Array(arr), _))) => {
            for (k, (it, sp)) in arr.iter().enumerate() {
                match it {
                    Operand::Str(s) => show_elem(k, s, &mut items, &mut cur, &mut pending, &mut have_pending)?,
                    Operand::Num(_) => {
                        flush_str(&mut items, &mut cur);
                        if have_pending {
                            items.push(fmt_num(pending).into_bytes());
                            pending = 0.0;
                            have_pending = false;
                        }
                        items.push(content[sp.clone()].to_vec());
                    }
                    _ => {}
                }
            }
        }
        (_, Some((Operand::Str(s), _))) => show_elem(0, s, &mut items, &mut cur, &mut pending, &mut have_pending)?,
        _ => return Ok(content[op.span.clone()].to_vec()),
    }
    flush_str(&mut items, &mut cur);
    if have_pending {
        items.push(fmt_num(pending).into_bytes());
    }
    let mut out = Vec::new();
    match name {
        b"'" => out.extend_from_slice(b"T* "),
        b"\"" => {
            let a = &op.operands[0].1;
            let b = &op.operands[1].1;
            out.extend_from_slice(&content[a.clone()]);
            out.extend_from_slice(b" Tw ");
            out.extend_from_slice(&content[b.clone()]);
            out.extend_from_slice(b" Tc T* ");
        }
        _ => {}
    }
    out.push(b'[');
    out.extend_from_slice(&items.join(&b' '));
    out.extend_from_slice(b"] TJ");
    Ok(out)
}

/// Resource categories whose entries are named by content operators, and cut to those named.
const NAMED: [&[u8]; 7] = [b"Font", b"XObject", b"ExtGState", b"ColorSpace", b"Pattern", b"Shading", b"Properties"];

/// The resources each operator of a content stream names: (category, name).
fn used_names(ops: &[super::lexer::Op]) -> HashSet<(&'static [u8], Vec<u8>)> {
    let mut used = HashSet::new();
    for op in ops {
        let cat: &'static [u8] = match op.name.as_slice() {
            b"Tf" => b"Font",
            b"Do" => b"XObject",
            b"gs" => b"ExtGState",
            b"cs" | b"CS" => b"ColorSpace",
            b"scn" | b"SCN" => b"Pattern",
            b"sh" => b"Shading",
            b"BDC" | b"DP" => b"Properties",
            b"BI" => {
                if let Some((Operand::Dict(d), _)) = op.operands.first() {
                    for (k, v) in d {
                        if let (b"CS" | b"ColorSpace", Operand::Name(n)) = (k.as_slice(), v) {
                            used.insert((&b"ColorSpace"[..], n.clone()));
                        }
                    }
                }
                continue;
            }
            _ => continue,
        };
        if let Some(n) = op.name_operand() {
            used.insert((cat, n.to_vec()));
        }
    }
    used
}

/// `res` with its named categories cut to the `used` names (the default colour spaces, which
/// device colours use without naming them, stay).
fn prune(doc: &Document, res: &Dictionary, used: &HashSet<(&'static [u8], Vec<u8>)>) -> Dictionary {
    let mut out = res.clone();
    for cat in NAMED {
        let Some(d) = res.get(cat).ok().map(|o| deref(doc, o)).and_then(as_dict) else { continue };
        let mut kept = Dictionary::new();
        for (k, v) in d.iter() {
            let default =
                cat == b"ColorSpace" && matches!(k.as_slice(), b"DefaultGray" | b"DefaultRGB" | b"DefaultCMYK");
            if default || used.contains(&(cat, k.clone())) {
                kept.set(k.clone(), v.clone());
            }
        }
        if kept.is_empty() {
            out.remove(cat);
        } else {
            out.set(cat.to_vec(), Object::Dictionary(kept));
        }
    }
    out
}

fn unique_name(d: Option<&Dictionary>, prefix: &str, n: &mut usize) -> Vec<u8> {
    loop {
        *n += 1;
        let cand = format!("{prefix}{n}").into_bytes();
        if d.map(|d| !d.has(&cand)).unwrap_or(true) {
            return cand;
        }
    }
}

/// Resources dict (direct) with extra XObject entries and optionally the label font.
fn extend_resources(
    doc: &Document,
    base: &Dictionary,
    xobjs: &[(Vec<u8>, ObjectId)],
    unused: &[Vec<u8>],
    label_font: Option<ObjectId>,
) -> Dictionary {
    let mut res = base.clone();
    if !xobjs.is_empty() {
        let mut xd = res.get(b"XObject").ok().map(|o| deref(doc, o)).and_then(as_dict).cloned().unwrap_or_default();
        for n in unused {
            xd.remove(n);
        }
        for (n, id) in xobjs {
            xd.set(n.clone(), Object::Reference(*id));
        }
        res.set("XObject", Object::Dictionary(xd));
    }
    if let Some(fid) = label_font {
        let mut fd = res.get(b"Font").ok().map(|o| deref(doc, o)).and_then(as_dict).cloned().unwrap_or_default();
        fd.set(LABEL_FONT.to_vec(), Object::Reference(fid));
        res.set("Font", Object::Dictionary(fd));
    }
    res
}

/// XObject names whose every `Do` was redirected to a copy (so the original can be pruned).
fn unused_names(inst: &super::interp::Instance, replaced_ops: &[usize]) -> Vec<Vec<u8>> {
    let mut names: Vec<Vec<u8>> =
        replaced_ops.iter().filter_map(|i| inst.ops[*i].name_operand().map(|n| n.to_vec())).collect();
    names.sort();
    names.dedup();
    names.retain(|nm| {
        !inst
            .ops
            .iter()
            .enumerate()
            .any(|(i, op)| op.is("Do") && !replaced_ops.contains(&i) && op.name_operand() == Some(nm.as_slice()))
    });
    names
}

/// A box to paint over removed text, with its label.
#[derive(Debug, Clone, PartialEq)]
pub struct PageBox {
    pub rect: [f64; 4],
    pub label: String,
    /// for a horizontal line: the baseline's y and the font size of the removed text
    pub line: Option<[f64; 2]>,
}

/// Boxes for the marks: the union box of a mark's removed glyphs on each line it touches (`lines`
/// gives each glyph's line in reading order), in mark order, then line order.
pub fn mark_boxes(glyphs: &[RawGlyph], removed: &[Option<usize>], marks: &[Mark], lines: &[usize]) -> Vec<PageBox> {
    let mut out = Vec::new();
    for (mi, m) in marks.iter().enumerate() {
        let label = m.label.clone().unwrap_or_else(|| m.code.clone());
        if let Some(rect) = m.region {
            // a reviewer's region: one box over all of it, whatever was drawn there
            out.push(PageBox { rect, label, line: None });
            continue;
        }
        // per line: union box, and the first glyph's baseline and size while all are horizontal
        let mut per_line: std::collections::BTreeMap<usize, ([f64; 4], Option<[f64; 2]>)> =
            std::collections::BTreeMap::new();
        for (gi, (g, r)) in glyphs.iter().zip(removed).enumerate() {
            if *r != Some(mi) {
                continue;
            }
            let b = g.bbox;
            if !(b.iter().all(|v| v.is_finite())) || b[2] - b[0] > 5000.0 || b[3] - b[1] > 5000.0 {
                continue;
            }
            // letter-spaced text (Tc) reads apart in poppler once a label joins its line: there
            // the label stays centred in its box, apart from the line
            let horizontal = g.dir.0 > 0.999 && g.dir.1.abs() < 1e-3 && g.em > 0.0;
            let blank = g.unicode.as_deref().is_none_or(|u| u.trim().is_empty());
            let spaced = !blank && g.next.0 - g.bbox[2] > 0.05 * g.em && g.bbox[2] > g.bbox[0];
            let base = (horizontal && !spaced).then_some([g.origin.1, g.em]);
            let e = per_line.entry(lines.get(gi).copied().unwrap_or(0)).or_insert((b, base));
            let u = &mut e.0;
            *u = [u[0].min(b[0]), u[1].min(b[1]), u[2].max(b[2]), u[3].max(b[3])];
            if base.is_none() {
                e.1 = None;
            }
        }
        out.extend(per_line.into_values().map(|(rect, line)| PageBox { rect, label: label.clone(), line }));
    }
    out
}

/// Where a label goes over its box, in the box's space.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelPlace {
    /// the label's text (repeated when one is far narrower than its box)
    pub text: String,
    pub x: f64,
    pub y: f64,
    pub size: f64,
    /// horizontal scaling (Tz / 100)
    pub hscale: f64,
}

/// Where a mark's label goes over its box, or none when the box is too small to read it;
/// `unit` gives a text's width at size 1.
///
/// Over a horizontal line whose baseline and font size are known, the label is written on that
/// baseline at that size, stretched or squeezed (Tz) to span the box from edge to edge, so that
/// text extractors read it as a word of the line between the kept words on either side. Centred
/// at another size, labels left blank columns beside them, and over boxes stacked on consecutive
/// lines poppler took those for a column gap and read the kept words around them out of order.
/// A label is stretched at most 3 times (a shorter one is repeated to fill the box), and where it
/// would have to be squeezed below 60% only its code ("TP" of "TP: your brother") is written,
/// squeezed to 35% at most and then made smaller. Without a line, it is centred.
pub fn place_label(
    rect: &[f64; 4],
    line: Option<[f64; 2]>,
    label: &str,
    unit: &dyn Fn(&str) -> f64,
) -> Option<LabelPlace> {
    let (w, h) = (rect[2] - rect[0], rect[3] - rect[1]);
    if !(w > 1.0 && h > 1.0) || unit(label) <= 0.0 {
        return None;
    }
    match line {
        Some([base, size]) if size >= 2.0 && size.is_finite() && base.is_finite() => {
            // a space's width from the kept text either side (less in a narrow box), so that the
            // label reads as a word of its own
            let pad = (0.25 * size).min(0.1 * w);
            let avail = w - 2.0 * pad;
            let fit = |t: &str| avail / (unit(t) * size);
            let code = label.split(": ").next().unwrap_or(label);
            let mut text = if fit(label) < 0.6 && unit(code) > 0.0 { code.to_string() } else { label.to_string() };
            if fit(&text) > 3.0 {
                let one = unit(&format!("{text}  ")) * size;
                let k = (avail / (3.0 * one)).ceil().clamp(1.0, 200.0) as usize;
                text = vec![text.as_str(); k].join("  ");
            }
            let mut hscale = fit(&text);
            let mut size = size;
            if hscale < 0.35 {
                size = avail / (unit(&text) * 0.35);
                hscale = 0.35;
                if size < 2.0 {
                    return None; // too small to be legible: box only
                }
            }
            Some(LabelPlace { text, x: rect[0] + pad, y: base, size, hscale })
        }
        _ => {
            let size = (h * 0.72).min((w - 1.0).max(0.0) / unit(label));
            if size < 2.0 {
                return None;
            }
            let x = rect[0] + (w - unit(label) * size) / 2.0;
            Some(LabelPlace { text: label.to_string(), x, y: rect[1] + (h - 0.72 * size) / 2.0, size, hscale: 1.0 })
        }
    }
}

fn box_stream(boxes: &[PageBox], paint_labels: bool) -> Vec<u8> {
    let mut s = String::new();
    for pb in boxes {
        let b = &pb.rect;
        let (w, h) = (b[2] - b[0], b[3] - b[1]);
        if w <= 0.0 || h <= 0.0 {
            continue;
        }
        s.push_str(&format!("q 0.1 g {} {} {} {} re f Q\n", fmt_num(b[0]), fmt_num(b[1]), fmt_num(w), fmt_num(h)));
        if !paint_labels {
            continue; // the caller writes the labels in its own embedded font
        }
        let Some(at) = place_label(b, pb.line, &pb.label, &|t| helvetica_width(t) / 1000.0) else { continue };
        let bytes: Vec<u8> = at.text.chars().map(winansi_code).collect();
        s.push_str(&format!(
            "q BT 1 g 0 Tr 0 Tc 0 Tw {} Tz 0 Ts /{} {} Tf 1 0 0 1 {} {} Tm {} Tj ET Q\n",
            fmt_num(at.hscale * 100.0),
            String::from_utf8_lossy(LABEL_FONT),
            fmt_num(at.size),
            fmt_num(at.x),
            fmt_num(at.y),
            String::from_utf8_lossy(&hex_token(&bytes))
        ));
    }
    s.into_bytes()
}

/// Rewrite one page of `doc` (a clone of the scanned document).
/// Returns the boxes painted (source user space) with their labels.
// one call per page from `redact_with`, whose page state these are
#[allow(clippy::too_many_arguments)]
pub fn rewrite_page(
    doc: &mut Document,
    scan: &PageScan,
    removed: &[Option<usize>],
    marks: &[Mark],
    lines: &[usize],
    drop_paths: &[&super::interp::PathUse],
    page_no: usize,
    paint_labels: bool,
) -> Result<Vec<PageBox>, PdfError> {
    let n = scan.instances.len();
    let removed_set: HashSet<usize> = removed.iter().enumerate().filter(|(_, r)| r.is_some()).map(|(i, _)| i).collect();
    // per instance: op -> glyph indices
    let mut by_op: Vec<HashMap<usize, Vec<usize>>> = vec![HashMap::new(); n];
    for (gi, g) in scan.glyphs.iter().enumerate() {
        by_op[g.inst].entry(g.op).or_default().push(gi);
    }
    let mut dirty = vec![false; n];
    let changed = removed_set.iter().map(|gi| scan.glyphs[*gi].inst).chain(drop_paths.iter().map(|p| p.inst));
    for start in changed {
        let mut i = start;
        loop {
            dirty[i] = true;
            match scan.instances[i].parent {
                Some((p, _)) => i = p,
                None => break,
            }
        }
    }
    // the names each resource dictionary's users draw (a form without resources of its own draws
    // from its parent's)
    let mut used: Vec<HashSet<(&'static [u8], Vec<u8>)>> = scan.instances.iter().map(|i| used_names(&i.ops)).collect();
    for i in (1..n).rev() {
        if !scan.instances[i].own_resources {
            let (p, _) = scan.instances[i].parent.expect("form has parent");
            let u = used[i].clone();
            used[p].extend(u);
        }
    }
    let mut edits: Vec<Vec<(Range<usize>, Vec<u8>)>> = vec![vec![]; n];
    // paths inside a reviewer's region go with their construction; a clip stays a clip (it draws
    // nothing), only its painting goes
    for p in drop_paths {
        let ops = &scan.instances[p.inst].ops;
        let Some((last, build)) = p.ops.split_last() else { continue };
        if p.clip {
            if p.painted {
                edits[p.inst].push((ops[*last].span.clone(), b"n".to_vec()));
            }
        } else {
            for oi in build.iter().chain([last]) {
                if !ops[*oi].is("W") && !ops[*oi].is("W*") {
                    edits[p.inst].push((ops[*oi].span.clone(), b" ".to_vec()));
                }
            }
        }
    }
    let mut extra_x: Vec<Vec<(Vec<u8>, ObjectId)>> = vec![vec![]; n];
    for (i, inst) in scan.instances.iter().enumerate() {
        for (oi, op) in inst.ops.iter().enumerate() {
            if op.is("BDC") {
                if let Some((Operand::Dict(d), sp)) = op.operands.last() {
                    if dict_has_text(d) {
                        edits[i].push((sp.clone(), b"<<>>".to_vec()));
                    }
                }
            }
            if dirty[i] && matches!(op.name.as_slice(), b"Tj" | b"TJ" | b"'" | b"\"") {
                if let Some(gl) = by_op[i].get(&oi) {
                    if gl.iter().any(|g| removed_set.contains(g)) {
                        let gs: Vec<&RawGlyph> = gl.iter().map(|g| &scan.glyphs[*g]).collect();
                        let rep = rebuild_op(&inst.content, op, &gs, &removed_set, gl, page_no)?;
                        edits[i].push((op.span.clone(), rep));
                    }
                }
            }
        }
    }
    let mut counter = 0usize;
    let mut replaced: Vec<Vec<usize>> = vec![vec![]; n];
    let mut stripped_in_place: HashSet<ObjectId> = HashSet::new();
    for i in (1..n).rev() {
        let inst = &scan.instances[i];
        let Source::Form(orig_id) = inst.source else { continue };
        if dirty[i] {
            let orig = match doc.get_object(orig_id) {
                Ok(Object::Stream(s)) => s.dict.clone(),
                _ => return Err(PdfError::Object { id: orig_id }),
            };
            let mut dict = orig;
            for k in [&b"Filter"[..], b"DecodeParms", b"Length", b"Metadata", b"PieceInfo", b"LastModified"] {
                dict.remove(k);
            }
            let content = apply_edits(&inst.content, &mut edits[i]);
            let unused = unused_names(inst, &replaced[i]);
            // the copy gets resources of its own: what it draws (its forms' copies included)
            let mut keep = used[i].clone();
            keep.extend(extra_x[i].iter().map(|(nm, _)| (&b"XObject"[..], nm.clone())));
            let res = extend_resources(doc, &inst.resources, &extra_x[i], &unused, None);
            dict.set("Resources", Object::Dictionary(prune(doc, &res, &keep)));
            let new_id = doc.add_object(Object::Stream(Stream::new(dict, content)));
            let (p, do_op) = inst.parent.expect("form has parent");
            let pres = &scan.instances[p].resources;
            let xd = pres.get(b"XObject").ok().map(|o| deref(doc, o)).and_then(as_dict).cloned();
            let mut taken: Dictionary = xd.unwrap_or_default();
            for (nm, _) in &extra_x[p] {
                taken.set(nm.clone(), Object::Null);
            }
            let name = unique_name(Some(&taken), "DcRedactFm", &mut counter);
            let mut rep = Vec::new();
            rep.push(b'/');
            rep.extend_from_slice(&name);
            rep.extend_from_slice(b" Do");
            edits[p].push((scan.instances[p].ops[do_op].span.clone(), rep));
            replaced[p].push(do_op);
            extra_x[p].push((name, new_id));
        } else if !stripped_in_place.contains(&orig_id) {
            // a shared form: property-list text stripped and resources cut in place (its content
            // is the same for every use)
            let pruned = inst.own_resources.then(|| prune(doc, &inst.resources, &used[i]));
            let content = (!edits[i].is_empty()).then(|| apply_edits(&inst.content, &mut edits[i]));
            if let Ok(Object::Stream(s)) = doc.get_object_mut(orig_id) {
                if let Some(c) = content {
                    s.dict.remove(b"Filter");
                    s.dict.remove(b"DecodeParms");
                    s.set_content(c);
                }
                if let Some(r) = pruned {
                    s.dict.set("Resources", Object::Dictionary(r));
                }
            }
            stripped_in_place.insert(orig_id);
        }
    }
    let boxes = mark_boxes(&scan.glyphs, removed, marks, lines);
    let page0 = &scan.instances[0];
    if edits[0].is_empty() && boxes.is_empty() && extra_x[0].is_empty() {
        // nothing drawn changes: only the resources are cut to what is drawn
        let res = prune(doc, &page0.resources, &used[0]);
        let page = doc.get_dictionary_mut(scan.page_id).map_err(|_| PdfError::Object { id: scan.page_id })?;
        page.set("Resources", Object::Dictionary(res));
        return Ok(boxes);
    }
    let body = apply_edits(&page0.content, &mut edits[0]);
    let mut content = Vec::with_capacity(body.len() + 256);
    content.extend_from_slice(b"q\n");
    content.extend_from_slice(&body);
    content.push(b'\n');
    if scan.end_in_text {
        content.extend_from_slice(b"ET\n");
    }
    for _ in 0..scan.end_q_depth + 1 {
        content.extend_from_slice(b"Q\n");
    }
    content.extend_from_slice(&box_stream(&boxes, paint_labels));
    let label_font = if boxes.is_empty() || !paint_labels {
        None
    } else {
        let mut d = Dictionary::new();
        d.set("Type", Object::Name(b"Font".to_vec()));
        d.set("Subtype", Object::Name(b"Type1".to_vec()));
        d.set("BaseFont", Object::Name(b"Helvetica".to_vec()));
        d.set("Encoding", Object::Name(b"WinAnsiEncoding".to_vec()));
        Some(doc.add_object(Object::Dictionary(d)))
    };
    let unused = unused_names(page0, &replaced[0]);
    let res = extend_resources(doc, &page0.resources, &extra_x[0], &unused, label_font);
    let mut keep = std::mem::take(&mut used[0]);
    keep.extend(extra_x[0].iter().map(|(nm, _)| (&b"XObject"[..], nm.clone())));
    keep.insert((&b"Font"[..], LABEL_FONT.to_vec()));
    let res = prune(doc, &res, &keep);
    let cid = doc.add_object(Object::Stream(Stream::new(Dictionary::new(), content)));
    let page = doc.get_dictionary_mut(scan.page_id).map_err(|_| PdfError::Object { id: scan.page_id })?;
    page.set("Contents", Object::Reference(cid));
    page.set("Resources", Object::Dictionary(res));
    Ok(boxes)
}
