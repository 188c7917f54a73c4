//! Writing the PDF objects: pages, content streams, footer/header, links,
//! outline, page labels, document information, file ID.
//!
//! Object numbers are allocated in a fixed order, so identical input gives
//! identical bytes.

use std::collections::HashMap;

use pdf_writer::types::{AnnotationFlags, AnnotationType, LineCapStyle, PageMode, TabOrder, TextRenderingMode};
use pdf_writer::{Content, Filter, Finish, Name, Null, Pdf, Rect, Ref, Str, TextStr};
use sha2::{Digest, Sha256};

use super::font::{deflate, write_font, Font, Subset, Usage, FONT_RES};
use super::foreign::{page_data, Copier};
use super::layout::{layout_streamed, Elem, Item, Kid, Layout, OutlineEntry, Page, PageKind, MARGIN_X};
use super::{Doc, LabelStyle, RenderError, Rendered};

const XOBJ_RES: Name<'static> = Name(b"X1");

struct Labels {
    /// Page label (PageLabels / anchor label), e.g. "12" or "A3".
    label: Vec<String>,
    /// Footer text, e.g. "Page 12 of 40" or "A3".
    footer: Vec<String>,
    /// PageLabels ranges: (first page index, prefix, start number).
    ranges: Vec<(usize, Option<char>, usize)>,
}

fn labels(doc: &Doc, lay: &Layout) -> Labels {
    let total = lay.page_count;
    let mut counters: HashMap<char, usize> = HashMap::new();
    let mut out = Labels { label: Vec::new(), footer: Vec::new(), ranges: Vec::new() };
    let mut prev_part = usize::MAX;
    for (i, &part) in lay.page_parts.iter().enumerate() {
        let style = doc.parts[part].label;
        let (label, footer, prefix, n) = match style {
            LabelStyle::Arabic => ((i + 1).to_string(), format!("Page {} of {}", i + 1, total), None, i + 1),
            LabelStyle::Court { letter } => {
                let c = counters.entry(letter).or_insert(0);
                *c += 1;
                let l = format!("{letter}{c}");
                (l.clone(), l, Some(letter), *c)
            }
        };
        if part != prev_part {
            out.ranges.push((i, prefix, n));
            prev_part = part;
        }
        out.label.push(label);
        out.footer.push(footer);
    }
    out
}

fn text(x: f32, y: f32, size: f32, gray: f32, s: String) -> Item {
    Item::Text { x, y, size, gray, bold: false, text: s, hscale: 1.0 }
}

/// The running header of flow pages: the document title, cut with an ellipsis to the width.
fn header_title(font: &Font, title: &str, page_width: f32) -> Option<String> {
    if title.trim().is_empty() {
        return None;
    }
    let hs = 7.5;
    let mut t = title.to_string();
    let max = page_width - 2.0 * MARGIN_X;
    if font.width(&t, hs) > max {
        while !t.is_empty() && font.width(&t, hs) + font.width("…", hs) > max {
            t.pop();
        }
        t.push('…');
    }
    Some(t)
}

/// The stamp on every page of a draft.
pub(crate) const DRAFT_STAMP: &str = "DRAFT \u{2013} not for release";

/// The draft stamp at the top of a page, white-backed so that it reads over any page.
fn draft_stamp(page: &mut Page, font: &Font) {
    let size = 11.0;
    let w = font.width(DRAFT_STAMP, size);
    let (bw, bh) = (w + 16.0, size + 9.0);
    let x = (page.width - bw) / 2.0;
    let y = page.height - 26.0;
    page.items.push(Item::Rect { x, y, w: bw, h: bh, fill: Some(1.0), stroke: Some((0.35, 1.0)) });
    page.items.push(Item::Text {
        x: x + 8.0,
        y: y + 5.5,
        size,
        gray: 0.15,
        bold: true,
        text: DRAFT_STAMP.to_string(),
        hscale: 1.0,
    });
}

/// The glyphs a laid-out page will draw, before its page labels are known (those are added from
/// the labels once every page is counted).
fn page_usage(usage: &mut Usage, font: &Font, page: &Page, title: &str) {
    usage.add_str(font, DRAFT_STAMP);
    for it in &page.items {
        if let Item::Text { text, .. } = it {
            usage.add_str(font, text);
        }
    }
    if let PageKind::Flow = &page.kind {
        if let Some(t) = header_title(font, title, page.width) {
            usage.add_str(font, &t);
        }
    }
}

/// Resolve a page's labels and add its running header and footer.
fn finish_page(
    i: usize,
    page: &mut Page,
    font: &Font,
    labels: &Labels,
    anchors: &HashMap<String, (usize, f32)>,
    title: &str,
    draft: bool,
) -> Result<(), RenderError> {
    for it in page.items.iter_mut() {
        if let Item::Label { x_right, y, size, gray, anchor } = it {
            let (target, _) =
                anchors.get(anchor.as_str()).copied().ok_or_else(|| RenderError::UnknownAnchor(anchor.clone()))?;
            let s = labels.label[target].clone();
            let w = font.width(&s, *size);
            *it = text(*x_right - w, *y, *size, *gray, s);
        }
    }
    // Running header, footer and stamps are artifacts.
    page.artifacts_from_here();
    let footer = labels.footer[i].clone();
    let fs = 8.0;
    let fw = font.width(&footer, fs);
    let cx = page.width / 2.0;
    match &page.kind {
        PageKind::Flow => {
            if let Some(t) = header_title(font, title, page.width) {
                page.items.push(text(MARGIN_X, page.height - 40.0, 7.5, 0.5, t));
                page.items.push(Item::Line {
                    x1: MARGIN_X,
                    y1: page.height - 47.0,
                    x2: page.width - MARGIN_X,
                    y2: page.height - 47.0,
                    gray: 0.85,
                    width: 0.4,
                    dotted: false,
                });
            }
            page.items.push(text(cx - fw / 2.0, 34.0, fs, 0.42, footer));
        }
        PageKind::Foreign { .. } => {
            // white-backed stamp on top of the embedded page
            let (bw, bh) = (fw + 14.0, fs + 8.0);
            let y0 = 12.0;
            page.items.push(Item::Rect {
                x: cx - bw / 2.0,
                y: y0,
                w: bw,
                h: bh,
                fill: Some(1.0),
                stroke: Some((0.6, 0.5)),
            });
            page.items.push(text(cx - fw / 2.0, y0 + 4.0 + 0.12 * fs, fs, 0.25, footer));
        }
    }
    if draft {
        draft_stamp(page, font);
    }
    Ok(())
}

/// The fixed objects of the file, and the next free object number.
struct Refs {
    catalog: Ref,
    tree: Ref,
    info: Ref,
    font: Ref,
    outline_root: Ref,
    pages: Vec<Ref>,
    /// Marked-content ids given out on each page (written so far).
    mcids: Vec<u32>,
    next: Ref,
}

/// A finished page's content stream, compressed: the part of writing a page that needs nothing
/// but the page, so pages are drawn in parallel and written in order.
fn page_content(page: &Page, font: &Font, subset: &Subset) -> Vec<u8> {
    let mut content = Content::new();
    if let PageKind::Foreign { geo, .. } = &page.kind {
        // The embedded page is one figure: all of its content is inside this sequence.
        match page.figure {
            Some(m) => {
                content
                    .begin_marked_content_with_properties(Name(b"Figure"))
                    .properties()
                    .pair(Name(b"MCID"), m as i32);
            }
            None => {
                content.begin_marked_content(Name(b"Artifact"));
            }
        }
        content.save_state();
        content.transform(geo.matrix);
        content.x_object(XOBJ_RES);
        content.restore_state();
        content.end_marked_content();
    }
    // Every item inside marked content: a structure element's, or an artifact.
    let mut runs = page.tags.iter().peekable();
    let mut open = false;
    for (k, it) in page.items.iter().enumerate() {
        let mut start = None;
        while let Some(r) = runs.next_if(|r| r.0 <= k) {
            start = Some(r.1);
        }
        if let Some(tag) = start {
            if open {
                content.end_marked_content();
            }
            match tag {
                Some((role, m)) => {
                    content
                        .begin_marked_content_with_properties(Name(role.as_bytes()))
                        .properties()
                        .pair(Name(b"MCID"), m as i32);
                }
                None => {
                    content.begin_marked_content(Name(b"Artifact"));
                }
            }
            open = true;
        } else if !open {
            content.begin_marked_content(Name(b"Artifact"));
            open = true;
        }
        draw(&mut content, it, font, subset);
    }
    if open {
        content.end_marked_content();
    }
    deflate(&content.finish())
}

/// How many finished pages are drawn at once (in parallel) before they are written in order.
const PAGE_BATCH: usize = 64;

/// Draw a batch of finished pages in parallel, then write them in page order (object numbers are
/// given out in that order, so the bytes do not depend on the number of threads).
#[allow(clippy::too_many_arguments)]
fn write_batch(
    pdf: &mut Pdf,
    copier: &mut Copier,
    refs: &mut Refs,
    batch: &mut Vec<(usize, Page)>,
    anchors: &HashMap<String, (usize, f32)>,
    labels: &Labels,
    title: &str,
    font: &Font,
    subset: &Subset,
    draft: bool,
) -> Result<(), RenderError> {
    use rayon::prelude::*;
    // (index, page, its content stream, the content of the source page it shows)
    type Drawn = (usize, Page, Vec<u8>, Option<Result<Vec<u8>, String>>);
    let drawn: Vec<Result<Drawn, RenderError>> = std::mem::take(batch)
        .into_par_iter()
        .map(|(i, mut page)| {
            finish_page(i, &mut page, font, labels, anchors, title, draft)?;
            let data = page_content(&page, font, subset);
            let source = match &page.kind {
                PageKind::Foreign { fp, .. } => Some(page_data(&fp.doc, fp.page)),
                PageKind::Flow => None,
            };
            Ok((i, page, data, source))
        })
        .collect();
    for d in drawn {
        let (i, page, data, source) = d?;
        write_page(pdf, copier, refs, i, &page, &data, source, anchors)?;
    }
    Ok(())
}

/// Write one finished page: its embedded source page (if any), content stream, links and page
/// object.
#[allow(clippy::too_many_arguments)]
fn write_page(
    pdf: &mut Pdf,
    copier: &mut Copier,
    refs: &mut Refs,
    i: usize,
    page: &Page,
    data: &[u8],
    source: Option<Result<Vec<u8>, String>>,
    anchors: &HashMap<String, (usize, f32)>,
) -> Result<(), RenderError> {
    let mut xobj = None;
    if let (PageKind::Foreign { fp, geo }, Some(source)) = (&page.kind, source) {
        let x =
            copier.page_xobject(pdf, &fp.doc, fp.page, geo, &mut refs.next, source).map_err(RenderError::Foreign)?;
        xobj = Some(x);
    }
    let content_ref = refs.next.bump();
    pdf.stream(content_ref, data).filter(Filter::FlateDecode);

    let annot_refs: Vec<Ref> = page.links.iter().map(|_| refs.next.bump()).collect();
    for ((rect, anchor), r) in page.links.iter().zip(&annot_refs) {
        let (tp, ty) =
            anchors.get(anchor.as_str()).copied().ok_or_else(|| RenderError::UnknownAnchor(anchor.clone()))?;
        let mut a = pdf.annotation(*r);
        a.subtype(AnnotationType::Link);
        a.rect(Rect::new(rect[0], rect[1], rect[2], rect[3]));
        a.border(0.0, 0.0, 0.0, None);
        a.flags(AnnotationFlags::PRINT);
        let mut d = a.insert(Name(b"Dest")).array();
        d.item(refs.pages[tp]);
        d.item(Name(b"XYZ"));
        d.item(0.0f32);
        d.item(ty);
        d.item(Null);
        d.finish();
        a.finish();
    }

    if refs.mcids.len() <= i {
        refs.mcids.resize(i + 1, 0);
    }
    refs.mcids[i] = page.next_mcid;
    let mut p = pdf.page(refs.pages[i]);
    p.parent(refs.tree);
    p.media_box(Rect::new(0.0, 0.0, page.width, page.height));
    p.contents(content_ref);
    if page.next_mcid > 0 {
        p.struct_parents(i as i32);
    }
    // Annotations (links) in the order of the structure.
    p.tab_order(TabOrder::StructureOrder);
    {
        let mut res = p.resources();
        res.fonts().pair(FONT_RES, refs.font);
        if let Some(x) = xobj {
            res.x_objects().pair(XOBJ_RES, x);
        }
    }
    if !annot_refs.is_empty() {
        p.annotations(annot_refs.iter().copied());
    }
    p.finish();
    Ok(())
}

/// Lay out and write the whole document in two passes over the layout: the first counts the
/// pages, places every anchor and collects the glyphs (pages are dropped as they are finished);
/// the second lays the pages out again and writes them as they are finished, drawing each batch
/// of pages in parallel. Only a batch of laid-out pages is held at a time.
pub(crate) fn render(doc: &Doc, font: &Font) -> Result<Rendered, RenderError> {
    let mut warnings = Vec::new();
    let mut missing = Vec::new();
    let title = super::font::clean_text(font, &doc.title, &mut missing);

    // ---- pass 1: count, place and collect glyphs (walk order is fixed)
    let mut usage = Usage::default();
    let lay = layout_streamed(doc, font, &mut warnings, &mut |_, page| {
        page_usage(&mut usage, font, &page, &title);
        Ok(())
    })?;
    if lay.page_count == 0 {
        return Err(RenderError::Empty);
    }
    let labels = labels(doc, &lay);
    for s in labels.label.iter().chain(&labels.footer) {
        usage.add_str(font, s);
    }

    let mut pdf = Pdf::new();
    let mut refs = Refs {
        catalog: Ref::new(1),
        tree: Ref::new(2),
        info: Ref::new(3),
        font: Ref::new(4),
        outline_root: Ref::new(5),
        pages: Vec::new(),
        mcids: Vec::new(),
        next: Ref::new(6),
    };
    refs.pages = (0..lay.page_count).map(|_| refs.next.bump()).collect();
    let subset = write_font(&mut pdf, font, &usage, refs.font, &mut refs.next).map_err(RenderError::Font)?;
    drop(usage);

    // ---- pass 2: lay out again and write each page as it is finished
    let mut copier = Copier::new();
    let mut batch: Vec<(usize, Page)> = Vec::with_capacity(PAGE_BATCH);
    let mut again = layout_streamed(doc, font, &mut Vec::new(), &mut |i, page| {
        batch.push((i, page));
        if batch.len() < PAGE_BATCH {
            return Ok(());
        }
        write_batch(
            &mut pdf,
            &mut copier,
            &mut refs,
            &mut batch,
            &lay.anchors,
            &labels,
            &title,
            font,
            &subset,
            doc.draft,
        )
    })?;
    write_batch(&mut pdf, &mut copier, &mut refs, &mut batch, &lay.anchors, &labels, &title, font, &subset, doc.draft)?;
    if again.page_count != lay.page_count {
        return Err(RenderError::Inconsistent(format!(
            "the second layout pass gave {} pages, the first {}",
            again.page_count, lay.page_count
        )));
    }
    let tree = std::mem::take(&mut again.tree);
    drop(again);
    drop(copier);
    let struct_root = write_structure(&mut pdf, &tree, &refs.pages, &refs.mcids, &mut refs.next);
    drop(tree);
    let archival = super::archival::write(&mut pdf, doc, &mut refs.next);
    pdf.pages(refs.tree).kids(refs.pages.iter().copied()).count(refs.pages.len() as i32);

    // ---- outline
    let has_outline = !lay.outline.is_empty();
    if has_outline {
        write_outline(&mut pdf, &lay.outline, refs.outline_root, &refs.pages, &mut refs.next);
    }

    // ---- catalog
    let mut cat = pdf.catalog(refs.catalog);
    cat.pages(refs.tree);
    if has_outline {
        cat.outlines(refs.outline_root);
        cat.page_mode(PageMode::UseOutlines);
    }
    if !doc.lang.is_empty() {
        cat.lang(TextStr(&doc.lang));
    }
    cat.viewer_preferences().display_doc_title(true);
    // Tagged (PDF/UA-style): the structure tree, marked content, and the language above.
    cat.pair(Name(b"StructTreeRoot"), struct_root);
    cat.mark_info().marked(true);
    // Archival (PDF/A-2b): XMP metadata and the sRGB output intent.
    cat.metadata(archival.metadata);
    archival.output_intent(&mut cat);
    {
        let mut pl = cat.insert(Name(b"PageLabels")).dict();
        let mut nums = pl.insert(Name(b"Nums")).array();
        for (start, prefix, n) in &labels.ranges {
            nums.item(*start as i32);
            let mut d = nums.push().dict();
            d.pair(Name(b"S"), Name(b"D"));
            if let Some(c) = prefix {
                let s = c.to_string();
                d.pair(Name(b"P"), TextStr(&s));
            }
            if *n != 1 {
                d.pair(Name(b"St"), *n as i32);
            }
        }
    }
    cat.finish();

    // ---- info
    let d = doc.date;
    let date = pdf_writer::Date::new(d.y)
        .month(d.m.clamp(1, 12))
        .day(d.d.clamp(1, 31))
        .hour(d.h.min(23))
        .minute(d.mi.min(59))
        .second(d.s.min(59))
        .utc_offset_hour(0)
        .utc_offset_minute(0);
    let producer = format!("disclose {}", env!("CARGO_PKG_VERSION"));
    pdf.document_info(refs.info)
        .title(TextStr(&doc.title))
        .author(TextStr(&doc.author))
        .subject(TextStr(&doc.subject))
        .creator(TextStr("disclose"))
        .producer(TextStr(&producer))
        .creation_date(date)
        .modified_date(date);

    let mut h = Sha256::new();
    h.update(b"disclose/pdf/id\0");
    h.update(doc.id_seed);
    let id = h.finalize()[..16].to_vec();
    pdf.set_file_id((id.clone(), id));

    if !missing.is_empty() {
        warnings
            .push("the document title contains characters not in the font (shown as '?' in the running header)".into());
    }
    let anchors_out =
        lay.anchor_order.iter().map(|a| (a.clone(), labels.label[lay.anchors[a.as_str()].0].clone())).collect();
    let pages = lay.page_count;
    let marks = mark_labels(&lay, &labels);
    Ok(Rendered { bytes: pdf.finish(), pages, anchors: anchors_out, marks, warnings })
}

/// The page label of every anchor and mark, from one layout pass that keeps no page.
pub(crate) fn placements(doc: &Doc, font: &Font) -> Result<super::Placed, RenderError> {
    let lay = layout_streamed(doc, font, &mut Vec::new(), &mut |_, _| Ok(()))?;
    let labels = labels(doc, &lay);
    Ok(super::Placed {
        anchors: lay
            .anchor_order
            .iter()
            .map(|a| (a.clone(), labels.label[lay.anchors[a.as_str()].0].clone()))
            .collect(),
        marks: mark_labels(&lay, &labels),
    })
}

/// The page labels of each mark id, in page order without repeats.
fn mark_labels(lay: &Layout, labels: &Labels) -> std::collections::BTreeMap<u32, Vec<String>> {
    let mut out: std::collections::BTreeMap<u32, Vec<String>> = std::collections::BTreeMap::new();
    for (id, page) in &lay.mark_pages {
        let l = &labels.label[*page];
        let v = out.entry(*id).or_default();
        if v.last() != Some(l) {
            v.push(l.clone());
        }
    }
    out
}

fn draw(c: &mut Content, it: &Item, font: &Font, subset: &super::font::Subset) {
    match it {
        Item::Text { x, y, size, gray, bold, text, hscale } => {
            c.save_state();
            c.begin_text();
            c.set_font(FONT_RES, *size);
            if *hscale != 1.0 {
                c.set_horizontal_scaling(hscale * 100.0);
            }
            c.set_fill_gray(*gray);
            if *bold {
                c.set_text_rendering_mode(TextRenderingMode::FillStroke);
                c.set_stroke_gray(*gray);
                c.set_line_width(size * 0.035);
            }
            c.set_text_matrix([1.0, 0.0, 0.0, 1.0, *x, *y]);
            c.show(Str(&subset.encode(font, text)));
            c.end_text();
            c.restore_state();
        }
        Item::Rect { x, y, w, h, fill, stroke } => {
            c.save_state();
            if let Some(g) = fill {
                c.set_fill_gray(*g);
            }
            if let Some((g, lw)) = stroke {
                c.set_stroke_gray(*g);
                c.set_line_width(*lw);
            }
            c.rect(*x, *y, *w, *h);
            match (fill.is_some(), stroke.is_some()) {
                (true, true) => c.fill_nonzero_and_stroke(),
                (true, false) => c.fill_nonzero(),
                (false, true) => c.stroke(),
                (false, false) => c.end_path(),
            };
            c.restore_state();
        }
        Item::Line { x1, y1, x2, y2, gray, width, dotted } => {
            c.save_state();
            c.set_stroke_gray(*gray);
            c.set_line_width(*width);
            if *dotted {
                c.set_line_cap(LineCapStyle::RoundCap);
                c.set_dash_pattern([0.0, 3.0], 0.0);
            }
            c.move_to(*x1, *y1);
            c.line_to(*x2, *y2);
            c.stroke();
            c.restore_state();
        }
        Item::Label { .. } => {}
    }
}

fn write_outline(pdf: &mut Pdf, entries: &[OutlineEntry], root: Ref, page_refs: &[Ref], next: &mut Ref) {
    let n = entries.len();
    let mut parent: Vec<Option<usize>> = vec![None; n];
    let mut stack: Vec<usize> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if e.part_start {
            stack.clear();
        }
        while let Some(&top) = stack.last() {
            if entries[top].level >= e.level {
                stack.pop();
            } else {
                break;
            }
        }
        parent[i] = stack.last().copied();
        stack.push(i);
    }
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut roots = Vec::new();
    for (i, p) in parent.iter().enumerate() {
        match p {
            Some(p) => children[*p].push(i),
            None => roots.push(i),
        }
    }
    let refs: Vec<Ref> = (0..n).map(|_| next.bump()).collect();
    // parts are open (their direct children visible), everything else closed
    let open = |i: usize| entries[i].level == 0;
    let count = |i: usize| -> i32 {
        let c = children[i].len() as i32;
        if open(i) {
            c
        } else {
            -c
        }
    };
    let visible: i32 = roots.iter().map(|&r| 1 + if open(r) { children[r].len() as i32 } else { 0 }).sum();
    pdf.outline(root).first(refs[roots[0]]).last(refs[*roots.last().unwrap()]).count(visible);

    let siblings = |i: usize| -> &Vec<usize> {
        match parent[i] {
            Some(p) => &children[p],
            None => &roots,
        }
    };
    for i in 0..n {
        let e = &entries[i];
        let mut item = pdf.outline_item(refs[i]);
        item.title(TextStr(&e.title));
        item.parent(parent[i].map(|p| refs[p]).unwrap_or(root));
        let sib = siblings(i);
        let pos = sib.iter().position(|&s| s == i).unwrap_or(0);
        if pos > 0 {
            item.prev(refs[sib[pos - 1]]);
        }
        if pos + 1 < sib.len() {
            item.next(refs[sib[pos + 1]]);
        }
        if let (Some(&f), Some(&l)) = (children[i].first(), children[i].last()) {
            item.first(refs[f]);
            item.last(refs[l]);
            item.count(count(i));
        }
        item.dest().page(page_refs[e.page]).xyz(0.0, e.top, None);
        item.finish();
    }
}

/// Write the structure tree: the root, every element (children in reading order, marked content
/// by page and MCID) and the parent tree (for each page, the element of each MCID). Gives the
/// root's reference.
fn write_structure(pdf: &mut Pdf, tree: &[Elem], pages: &[Ref], mcids: &[u32], next: &mut Ref) -> Ref {
    let root = next.bump();
    let elems: Vec<Ref> = (0..tree.len()).map(|_| next.bump()).collect();
    // page -> (mcid -> element)
    let mut owner: Vec<Vec<Option<u32>>> = mcids.iter().map(|n| vec![None; *n as usize]).collect();
    for (i, e) in tree.iter().enumerate() {
        for k in &e.kids {
            if let Kid::Mc { page, mcid } = k {
                if let Some(slot) = owner.get_mut(*page).and_then(|v| v.get_mut(*mcid as usize)) {
                    *slot = Some(i as u32);
                }
            }
        }
    }
    for (i, e) in tree.iter().enumerate() {
        let mut se = pdf.struct_element(elems[i]);
        se.custom_kind(Name(e.role.as_bytes()));
        se.parent(if i == 0 { root } else { elems[e.parent as usize] });
        if let Some(a) = &e.alt {
            se.alt(TextStr(a));
        }
        // Marked content all on one page: the page once, plain MCIDs.
        let mut on: Option<usize> = None;
        let mut one_page = true;
        for k in &e.kids {
            if let Kid::Mc { page, .. } = k {
                match on {
                    None => on = Some(*page),
                    Some(p) if p != *page => one_page = false,
                    _ => {}
                }
            }
        }
        if let (Some(p), true) = (on, one_page) {
            se.page(pages[p]);
        }
        if !e.kids.is_empty() {
            let mut kids = se.children();
            for k in &e.kids {
                match k {
                    Kid::Elem(c) => {
                        kids.struct_element(elems[*c as usize]);
                    }
                    Kid::Mc { mcid, .. } if one_page => {
                        kids.marked_content_id(*mcid as i32);
                    }
                    Kid::Mc { page, mcid } => {
                        kids.marked_content_ref().page(pages[*page]).marked_content_id(*mcid as i32);
                    }
                }
            }
        }
    }
    let arrays: Vec<(usize, Ref)> =
        owner.iter().enumerate().filter(|(_, v)| !v.is_empty()).map(|(i, _)| (i, next.bump())).collect();
    for (i, r) in &arrays {
        let mut a = pdf.indirect(*r).array();
        for o in &owner[*i] {
            match o {
                Some(e) => a.item(elems[*e as usize]),
                None => a.item(Null),
            };
        }
    }
    let mut sr = pdf.indirect(root).start::<pdf_writer::writers::StructTreeRoot>();
    sr.child(elems[0]);
    {
        let mut pt = sr.parent_tree();
        let mut nums = pt.nums();
        for (i, r) in &arrays {
            nums.insert(*i as i32, *r);
        }
    }
    sr.parent_tree_next_key(pages.len() as i32);
    sr.finish();
    root
}
