//! Hostile attachment PDFs, made here byte by byte (issue 12, A1-A5 and B; issue 11, 5 and 6):
//! each is read as a reader sees it, held, or refused, never passed as half read, and never
//! takes the process down.

use super::common::*;
use disclose::pdf::core::*;
use std::path::Path;

// ---------------------------------------------------------------------------------------------
// A raw PDF writer: objects as bytes, cross-reference table computed.

/// A PDF from numbered objects (1 is the catalog).
pub fn raw_pdf(objects: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let max = objects.iter().map(|o| o.0).max().unwrap_or(1);
    let mut offsets = vec![None; max as usize + 1];
    for (n, body) in objects {
        offsets[*n as usize] = Some(out.len());
        out.extend_from_slice(format!("{n} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", max + 1).as_bytes());
    for o in &offsets[1..] {
        match o {
            Some(off) => out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes()),
            None => out.extend_from_slice(b"0000000000 65535 f \n"),
        }
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", max + 1).as_bytes(),
    );
    out
}

/// A stream object.
pub fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut s = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    s.extend_from_slice(data);
    s.extend_from_slice(b"\nendstream");
    s
}

/// A Flate stream object.
pub fn zstream(dict: &str, data: &[u8]) -> Vec<u8> {
    stream(&format!("{dict} /Filter /FlateDecode"), &miniz_oxide::deflate::compress_to_vec_zlib(data, 6))
}

/// One US-letter page: `content`, Helvetica (WinAnsi) as /F1, `resources` added to its
/// resources, objects 6 and up from `extra`.
pub fn one_page(content: &[u8], resources: &str, extra: Vec<(u32, Vec<u8>)>) -> Vec<u8> {
    let mut objs = vec![
        (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
        (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec()),
        (
            3,
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> {resources} >> >>"
            )
            .into_bytes(),
        ),
        (4, stream("", content)),
        (5, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec()),
    ];
    objs.extend(extra);
    raw_pdf(&objs)
}

const BODY: &[u8] = b"BT /F1 12 Tf 72 720 Td (This is an ordinary page of text about the visit.) Tj ET\n";

/// Helvetica advance of a character at `size`.
fn adv(c: char, size: f64) -> f64 {
    let name = if c == ' ' { "space".to_string() } else { c.to_string() };
    font::afm_width(4, &name).unwrap() / 1000.0 * size
}

fn read(bytes: &[u8]) -> Vec<PageText> {
    read_text(&load(bytes).expect("loads")).expect("reads")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Run `f` on a thread with rayon's stack size (2 MiB), where an attachment is read in an export.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(2 << 20).spawn(f).unwrap().join().expect("no stack overflow, no panic")
}

// ---------------------------------------------------------------------------------------------
// A1: glyphs drawn out of reading order

/// "Gwen Aldous" at (72, 600), 12 pt: one glyph per Tj, last letter first; or one TJ stepping
/// back over each glyph.
fn reversed_name(one_tj: bool) -> Vec<u8> {
    let name = "Gwen Aldous";
    let mut x = 72.0;
    let pos: Vec<(char, f64)> = name
        .chars()
        .map(|c| {
            let p = (c, x);
            x += adv(c, 12.0);
            p
        })
        .collect();
    let mut c = BODY.to_vec();
    if one_tj {
        // start at the last glyph; after each, step back over it and the one before
        let (last, lx) = *pos.last().unwrap();
        let mut tj = format!("BT /F1 12 Tf 1 0 0 1 {lx} 600 Tm [({last})");
        for w in pos.windows(2).rev() {
            let (prev, cur) = (w[0], w[1]);
            let back = (adv(cur.0, 12.0) + adv(prev.0, 12.0)) * 1000.0 / 12.0;
            tj.push_str(&format!(" {back:.3} ({})", prev.0));
        }
        tj.push_str("] TJ ET\n");
        c.extend_from_slice(tj.as_bytes());
    } else {
        c.extend_from_slice(b"BT /F1 12 Tf ");
        for (ch, x) in pos.iter().rev() {
            c.extend_from_slice(format!("1 0 0 1 {x:.3} 600 Tm ({ch}) Tj ").as_bytes());
        }
        c.extend_from_slice(b"ET\n");
    }
    c.extend_from_slice(b"BT /F1 12 Tf 72 580 Td (The visit ended at noon.) Tj ET\n");
    one_page(&c, "", vec![])
}

#[test]
fn a1_names_drawn_out_of_order_are_read_as_shown_and_removed() {
    for one_tj in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let input = write(dir.path(), "in.pdf", &reversed_name(one_tj));
        // what a reader sees (poppler sorts by position)
        assert!(pdftotext(&input).contains("Gwen Aldous"), "the fixture shows the name");
        let pages = read(&std::fs::read(&input).unwrap());
        assert!(pages[0].text.contains("Gwen Aldous\nThe visit ended"), "one_tj {one_tj}: {:?}", pages[0].text);
        let r = redact_and_check(&input, "Gwen Aldous", &["Gwen", "Aldous"], &[], 1, None);
        // verified the same way: the kept text reads as before, the name nowhere
        assert!(r.verdicts.iter().all(|v| v.ok));
    }
}

#[test]
fn a1_fake_bold_is_read_once() {
    // the same line drawn twice, 0.4 pt apart (how some producers make bold)
    let mut c = BODY.to_vec();
    c.extend_from_slice(
        b"BT /F1 12 Tf 72 600 Td (Gwen Aldous rang) Tj ET BT /F1 12 Tf 72.4 600 Td (Gwen Aldous rang) Tj ET\n",
    );
    let pages = read(&one_page(&c, "", vec![]));
    assert!(pages[0].text.ends_with("\nGwen Aldous rang"), "{:?}", pages[0].text);
    assert_eq!(pages[0].text.matches("Gwen").count(), 1, "{:?}", pages[0].text);
    // both copies go with the one word
    let edits = marks_for(&pages, "Gwen");
    assert_eq!(edits[0].marks.len(), 1);
    let removed = disclose_removed(&pages[0], &edits[0].marks);
    assert_eq!(removed, 8, "both copies of the four glyphs");
}

fn disclose_removed(p: &PageText, marks: &[Mark]) -> usize {
    p.glyphs
        .iter()
        .filter(|g| {
            marks.iter().any(|m| {
                let r = &g.text_range;
                !r.is_empty() && r.start < m.range.end && m.range.start < r.end
            })
        })
        .count()
}

// ---------------------------------------------------------------------------------------------
// A2: nesting the reader gives up on

/// Forms nested `depth` deep, the innermost drawing the name.
fn nested_forms(depth: u32) -> Vec<u8> {
    let mut extra = Vec::new();
    for k in 0..depth {
        let id = 6 + k;
        let (content, res) = if k + 1 == depth {
            (b"BT /F1 12 Tf 72 600 Td (Gwen Aldous) Tj ET".to_vec(), "/Font << /F1 5 0 R >>".to_string())
        } else {
            (b"/Fm Do".to_vec(), format!("/XObject << /Fm {} 0 R >>", id + 1))
        };
        extra.push((
            id,
            stream(&format!("/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << {res} >>"), &content),
        ));
    }
    let mut c = BODY.to_vec();
    c.extend_from_slice(b"q /Fm Do Q\n");
    one_page(&c, "/XObject << /Fm 6 0 R >>", extra)
}

#[test]
fn a2_forms_nested_past_the_limit_hold_the_page() {
    let p = read(&nested_forms(interp::MAX_FORM_DEPTH as u32));
    assert_eq!(p[0].status, PageStatus::Ok);
    assert!(p[0].text.contains("Gwen Aldous"), "read down to the limit");
    let dir = tempfile::tempdir().unwrap();
    let deep = nested_forms(interp::MAX_FORM_DEPTH as u32 + 5);
    // viewers draw it
    assert!(mutool_text(&write(dir.path(), "deep.pdf", &deep)).contains("Gwen Aldous"));
    let p = read(&deep);
    assert_eq!(p[0].status, PageStatus::Held(Hold::FormsTooDeep));
    // held pages become review items
    match disclose::pdf::attachment_input(&disclose::pdf::read_attachment(&deep)) {
        disclose::policy::AttachmentInput::Pages(p) => {
            assert!(p[0].hold.as_deref().is_some_and(|h| h.contains("25 deep")))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a2_a_form_that_draws_itself_holds_the_page() {
    let form = stream(
        "/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> /XObject << /Fm 6 0 R >> >>",
        b"BT /F1 12 Tf 72 600 Td (Gwen Aldous) Tj ET 0.5 0 0 0.5 0 0 cm /Fm Do",
    );
    let mut c = BODY.to_vec();
    c.extend_from_slice(b"q /Fm Do Q\n");
    let p = read(&one_page(&c, "/XObject << /Fm 6 0 R >>", vec![(6, form)]));
    assert_eq!(p[0].status, PageStatus::Held(Hold::FormCycle));
}

#[test]
fn a2_text_in_tiling_patterns_and_type3_glyphs_holds_the_page() {
    // a tiling pattern whose cell shows the name, filling a rectangle
    let pattern = stream(
        "/PatternType 1 /PaintType 1 /TilingType 1 /BBox [0 0 300 20] /XStep 300 /YStep 20 /Resources << /Font << /F1 5 0 R >> >>",
        b"BT /F1 12 Tf 0 5 Td (Gwen Aldous) Tj ET",
    );
    let mut c = BODY.to_vec();
    c.extend_from_slice(b"q /Pattern cs /P1 scn 72 590 300 20 re f Q\n");
    let p = read(&one_page(&c, "/Pattern << /P1 6 0 R >>", vec![(6, pattern)]));
    assert_eq!(p[0].status, PageStatus::Held(Hold::HiddenText("a tiling pattern")));
    // a Type3 glyph whose procedure shows text in another font; and one that only draws a shape
    for (proc_, held) in
        [(&b"1000 0 d0 BT /F1 12 Tf (Gwen Aldous) Tj ET"[..], true), (b"1000 0 d0 0 0 500 700 re f", false)]
    {
        let t3 = b"<< /Type /Font /Subtype /Type3 /FontBBox [0 0 1000 1000] /FontMatrix [0.001 0 0 0.001 0 0] /CharProcs << /a 7 0 R >> /Encoding << /Type /Encoding /Differences [97 /a] >> /FirstChar 97 /LastChar 97 /Widths [1000] /Resources << /Font << /F1 5 0 R >> >> >>".to_vec();
        let mut c = BODY.to_vec();
        c.extend_from_slice(b"BT /T3 12 Tf 72 600 Td (a) Tj ET\n");
        let p = read(&one_page(&c, "/Font << /F1 5 0 R /T3 6 0 R >>", vec![(6, t3), (7, stream("", proc_))]));
        let want = if held { PageStatus::Held(Hold::HiddenText("a Type3 glyph procedure")) } else { PageStatus::Ok };
        assert_eq!(p[0].status, want);
    }
}

// ---------------------------------------------------------------------------------------------
// A3: resources that are copied but never drawn

#[test]
fn a3_undrawn_forms_and_images_are_dropped_and_every_object_checked() {
    let form = stream(
        "/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >>",
        b"BT /F1 12 Tf 72 600 Td (Gwen Aldous was here) Tj ET",
    );
    let image = stream(
        "/Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray /BitsPerComponent 8",
        &[0, 255, 255, 0],
    );
    let bytes = one_page(BODY, "/XObject << /Fm9 6 0 R /Im9 7 0 R >>", vec![(6, form), (7, image)]);
    let pdf = load(&bytes).unwrap();
    let pages = read_text(&pdf).unwrap();
    assert!(!pages[0].text.contains("Gwen"), "never drawn, so not read");
    let mut r = redact(&pdf, &pages, &[]).unwrap();
    assert!(r.verdicts[0].ok);
    let out = save(&mut r.doc).unwrap();
    let kept = load(&out).unwrap();
    let streams: Vec<&lopdf::Stream> = kept.document().objects.values().filter_map(|o| o.as_stream().ok()).collect();
    assert_eq!(streams.len(), 1, "only the page content is left");
    let dir = tempfile::tempdir().unwrap();
    leakscan(&write(dir.path(), "out.pdf", &out), &["Gwen", "Aldous"], dir.path());

    // removed words left where no text is read: a comment, a property list, a resource's name
    let cases: [(&[u8], &str); 3] = [
        (b"% notes on Gwen Aldous\n", ""),
        (b"/OC /MC0 BDC EMC\n", "/Properties << /MC0 << /Title (Gwen Aldous) >> >>"),
        (b"q 10 0 0 10 500 700 cm /Im_gwen_aldous Do Q\n", "/XObject << /Im_gwen_aldous 6 0 R >>"),
    ];
    for (k, (extra, res)) in cases.into_iter().enumerate() {
        let mut c = extra.to_vec();
        c.extend_from_slice(b"BT /F1 12 Tf 72 600 Td (Gwen Aldous called the school.) Tj ET\n");
        let image = stream(
            "/Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray /BitsPerComponent 8",
            &[0, 255, 255, 0],
        );
        let pdf = load(&one_page(&c, res, vec![(6, image)])).unwrap();
        let pages = read_text(&pdf).unwrap();
        let edits = marks_for(&pages, "Gwen Aldous");
        assert_eq!(edits.len(), 1);
        let r = redact(&pdf, &pages, &edits).unwrap();
        assert!(!r.verdicts[0].ok, "case {k}: the removed words are still in the file");
        assert!(r.verdicts[0].problems.iter().any(|p| p.contains("objects the page draws from")), "{:?}", r.verdicts);
    }
}

// ---------------------------------------------------------------------------------------------
// A4: pictures of text on pages with a text layer

fn page_with_image(w_pt: f64, h_pt: f64, px: (u32, u32)) -> Vec<u8> {
    let data = vec![128u8; (px.0 * px.1) as usize];
    let image = zstream(
        &format!(
            "/Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace /DeviceGray /BitsPerComponent 8",
            px.0, px.1
        ),
        &data,
    );
    let mut c = BODY.to_vec();
    c.extend_from_slice(format!("q {w_pt} 0 0 {h_pt} 72 500 cm /Im1 Do Q\n").as_bytes());
    one_page(&c, "/XObject << /Im1 6 0 R >>", vec![(6, image)])
}

#[test]
fn a4_pictures_large_enough_to_hold_text_hold_the_page() {
    // a line of text as a picture, and a block of it
    for (w, h, px) in [(400.0, 24.0, (800, 48)), (200.0, 150.0, (400, 300))] {
        let p = read(&page_with_image(w, h, px));
        assert_eq!(p[0].status, PageStatus::Held(Hold::PictureOfText { images: 1 }), "{w} x {h}");
    }
    // a logo, a signature, a rule, a tiny picture stretched: left alone
    for (w, h, px) in [(90.0, 45.0, (180, 90)), (150.0, 50.0, (300, 100)), (468.0, 1.0, (1, 1)), (300.0, 80.0, (6, 2))]
    {
        let p = read(&page_with_image(w, h, px));
        assert_eq!(p[0].status, PageStatus::Ok, "{w} x {h}");
    }
}

// ---------------------------------------------------------------------------------------------
// A5: a ToUnicode map that contradicts the glyphs

fn to_unicode(pairs: &[(u8, char)]) -> Vec<u8> {
    let mut s = String::from(
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /X def\n1 begincodespacerange <00> <FF> endcodespacerange\n",
    );
    s.push_str(&format!("{} beginbfchar\n", pairs.len()));
    for (c, u) in pairs {
        s.push_str(&format!("<{:02X}> <{:04X}>\n", c, *u as u32));
    }
    s.push_str("endbfchar endcmap CMapName currentdict /CMap defineresource pop end end");
    s.into_bytes()
}

#[test]
fn a5_tounicode_contradicting_glyph_names_holds_the_page() {
    // Helvetica by name draws "Gwen"; its ToUnicode says "Xqzt"
    let lie: Vec<(u8, char)> = "Gwen".bytes().zip("Xqzt".chars()).collect();
    let truth: Vec<(u8, char)> = "Gwen".bytes().map(|b| (b, b as char)).collect();
    for (map, held) in [(lie, true), (truth, false)] {
        let font =
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /ToUnicode 7 0 R >>"
                .to_vec();
        let c = b"BT /F2 12 Tf 72 600 Td (Gwen) Tj ET\n".to_vec();
        let mut all = BODY.to_vec();
        all.extend_from_slice(&c);
        let p = read(&one_page(
            &all,
            "/Font << /F1 5 0 R /F2 6 0 R >>",
            vec![(6, font), (7, stream("", &to_unicode(&map)))],
        ));
        if held {
            assert_eq!(p[0].status, PageStatus::Held(Hold::ToUnicodeConflict { glyphs: 4 }));
        } else {
            assert_eq!(p[0].status, PageStatus::Ok);
            assert!(p[0].text.ends_with("Gwen"));
        }
    }
}

#[test]
fn a5_tounicode_contradicting_an_embedded_truetype_cmap_holds_the_page() {
    // tricky.pdf's embedded DejaVu Sans (CID, Identity): shift every letter its ToUnicode gives
    let bytes = std::fs::read(fixture("tricky.pdf")).unwrap();
    let mut doc = lopdf::Document::load_mem(&bytes).unwrap();
    let tu_id = doc
        .objects
        .iter()
        .find_map(|(_, o)| {
            let d = o.as_dict().ok()?;
            (d.get(b"Subtype").ok()?.as_name().ok()? == b"Type0")
                .then(|| d.get(b"ToUnicode").ok()?.as_reference().ok())?
        })
        .expect("a Type0 font with ToUnicode");
    let cm = doc
        .get_object(tu_id)
        .unwrap()
        .as_stream()
        .unwrap()
        .decompressed_content()
        .unwrap_or_else(|_| doc.get_object(tu_id).unwrap().as_stream().unwrap().content.clone());
    let text = String::from_utf8_lossy(&cm).into_owned();
    // every destination <00XX> of a letter becomes the next letter
    let shifted = regex_lite_shift(&text);
    assert_ne!(shifted, text);
    let s = doc.get_object_mut(tu_id).unwrap().as_stream_mut().unwrap();
    s.dict.remove(b"Filter");
    s.set_content(shifted.into_bytes());
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    let original = read(&bytes);
    assert_eq!(original[0].status, PageStatus::Ok);
    let p = read(&out);
    assert!(matches!(p[0].status, PageStatus::Held(Hold::ToUnicodeConflict { .. })), "{:?}", p[0].status);
}

/// In a CMap's text, each 4-digit hex destination of an ASCII letter moved to the next letter.
fn regex_lite_shift(cmap: &str) -> String {
    let mut out = String::new();
    let mut rest = cmap;
    let mut in_bfchar = false;
    while let Some(line_end) = rest.find('\n').map(|i| i + 1).or((!rest.is_empty()).then_some(rest.len())) {
        let line = &rest[..line_end];
        rest = &rest[line_end..];
        if line.contains("beginbfchar") {
            in_bfchar = true;
        }
        if line.contains("endbfchar") {
            in_bfchar = false;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        if in_bfchar && parts.len() == 2 && parts[1].len() == 6 {
            if let Ok(v) = u32::from_str_radix(&parts[1][1..5], 16) {
                if let Some(c) = char::from_u32(v).filter(|c| c.is_ascii_alphabetic()) {
                    let n = if c == 'z' || c == 'Z' { (c as u8 - 25) as char } else { (c as u8 + 1) as char };
                    out.push_str(&format!("{} <{:04X}>\n", parts[0], n as u32));
                    continue;
                }
            }
        }
        out.push_str(line);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// B: limits

#[test]
fn b_decompression_bombs_are_refused_before_they_inflate() {
    for (name, bytes) in [("content", bomb_pdf(false)), ("image", bomb_pdf(true))] {
        let r = on_small_stack(move || load(&bytes).err().map(|e| e.to_string()));
        let e = r.unwrap_or_else(|| panic!("{name}: loaded"));
        assert!(e.contains("inflates past the limit"), "{name}: {e}");
    }
}

/// A page whose content stream (or an image no content draws) inflates past the limit.
fn bomb_pdf(as_undrawn_image: bool) -> Vec<u8> {
    let zeros = vec![0u8; limits::MAX_STREAM + (1 << 20)];
    let bomb = miniz_oxide::deflate::compress_to_vec_zlib(&zeros, 1);
    drop(zeros);
    assert!(bomb.len() < 4 << 20, "a small file");
    let content = {
        let mut s = b"<< /Filter /FlateDecode".to_vec();
        s.extend_from_slice(format!(" /Length {} >>\nstream\n", bomb.len()).as_bytes());
        s.extend_from_slice(&bomb);
        s.extend_from_slice(b"\nendstream");
        s
    };
    let mut objs = vec![
        (1, b"<< /Type /Catalog /Pages 2 0 R >>".to_vec()),
        (2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec()),
        (3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>".to_vec()),
        (4, content),
    ];
    if !as_undrawn_image {
        return raw_pdf(&objs);
    }
    objs[2].1 = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 5 0 R /Resources << /Font << /F1 6 0 R >> /XObject << /Im 4 0 R >> >> >>".to_vec();
    objs[3].1.splice(
        2..2,
        b" /Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray /BitsPerComponent 8"
            .iter()
            .copied(),
    );
    objs.push((5, stream("", BODY)));
    objs.push((6, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec()));
    raw_pdf(&objs)
}

#[test]
fn b_deep_nesting_fails_the_attachment_not_the_process() {
    let mut c = BODY.to_vec();
    c.extend(std::iter::repeat_n(b'[', 10_000));
    c.extend(std::iter::repeat_n(b']', 10_000));
    c.extend_from_slice(b" TJ\n");
    let deep_content = one_page(&c, "", vec![]);
    // lopdf's own parser: an object nested 10,000 deep (it fails that object, within its limit)
    let deep_object = one_page(BODY, "/Foo 6 0 R", vec![(6, [b"[".repeat(10_000), b"]".repeat(10_000)].concat())]);
    let r = on_small_stack(move || {
        (
            disclose::pdf::read_attachment(&deep_content).err().map(|e| e.to_string()),
            disclose::pdf::read_attachment(&deep_object).map(|r| r.pages[0].text.clone()).map_err(|e| e.to_string()),
        )
    });
    assert!(r.0.expect("refused").contains("too deeply"));
    assert!(r.1.expect("read").contains("ordinary page"));
}

// ---------------------------------------------------------------------------------------------
// Issue 11, 5: hyphenation across lines

fn lines_pdf(lines: &[&str]) -> Vec<u8> {
    let mut c = b"BT /F1 11 Tf 14 TL 72 700 Td".to_vec();
    for l in lines {
        c.extend_from_slice(format!(" ({l}) '").as_bytes());
    }
    c.extend_from_slice(b" ET\n");
    one_page(&c, "", vec![])
}

#[test]
fn names_split_across_lines_keep_their_line_break_and_go_on_both_lines() {
    let bytes = lines_pdf(&[
        "The call came from Mrs Gwen Al-",
        "dous, who lives next door.",
        "Officers spoke to GWEN ALD-",
        "OUS at the door and left.",
        "Her sister, Mrs Okafor-",
        "Marwick, was not at home.",
    ]);
    let pdf = load(&bytes).unwrap();
    let pages = read_text(&pdf).unwrap();
    let t = &pages[0].text;
    // a lower-case continuation is joined; before a capital the hyphen and the break stay, for
    // detection's normalisation to judge
    assert!(t.contains("Mrs Gwen Aldous, who"), "{t:?}");
    assert!(t.contains("GWEN ALD-\nOUS at"), "{t:?}");
    assert!(t.contains("Mrs Okafor-\nMarwick, was"), "{t:?}");
    // a mark over the split name removes it on both lines, with a box on each
    let s = t.find("ALD-\nOUS").unwrap();
    let edits = vec![PageEdit {
        index: 0,
        marks: vec![Mark { range: s..s + 8, code: "REF".into(), label: None, region: None }],
    }];
    let mut r = redact(&pdf, &pages, &edits).unwrap();
    assert!(r.verdicts[0].ok, "{:?}", r.verdicts);
    assert_eq!(r.boxes.len(), 2, "one box per line");
    assert!((r.boxes[0].rect[1] - r.boxes[1].rect[1]).abs() > 10.0, "on two lines");
    let out = save(&mut r.doc).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "out.pdf", &out);
    for text in [pdftotext(&p), mutool_text(&p)] {
        assert!(text.contains("Officers spoke to GWEN") && text.contains("at the door and left."), "{text}");
        assert!(!text.contains("ALD") && !text.contains("OUS "), "{text}");
    }
}

// ---------------------------------------------------------------------------------------------
// Issue 11, 6: kept text stays readable around stacked boxes

/// Alphanumeric words, lower case.
fn words_of(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(|w| w.to_lowercase()).collect()
}

/// How many of `kept` (in order) are not found in order in `got` (extra words, the labels, may
/// come between).
pub fn out_of_order(kept: &[String], got: &[String]) -> usize {
    let mut missing = 0;
    let mut at = 0;
    for w in kept {
        match got[at..].iter().position(|g| g == w) {
            Some(k) => at += k + 1,
            None => missing += 1,
        }
    }
    missing
}

#[test]
fn kept_text_reads_in_order_around_stacked_boxes() {
    // marks in the middle of two consecutive lines, one above the other, with kept words after
    let bytes = lines_pdf(&[
        "Victim: Danielle Marie MARWICK, date of birth 14/08/1992, mobile 07700 and more.",
        "900417. Suspect: Ryan Chukwudi OKAFOR, date of birth 27/02/1989, mobile 07700",
        "Children present: Leah MARWICK (02/03/2011), Tyler OKAFOR-MARWICK (19/05/2016).",
    ]);
    let pdf = load(&bytes).unwrap();
    let pages = read_text(&pdf).unwrap();
    let t = &pages[0].text;
    let span = |s: &str| {
        let i = t.find(s).unwrap();
        i..i + s.len()
    };
    let marks = vec![
        Mark { range: span("14/08/1992"), code: "TP".into(), label: None, region: None },
        Mark { range: span("07700 and"), code: "CONF".into(), label: None, region: None },
        Mark { range: span("900417"), code: "CONF".into(), label: None, region: None },
        Mark {
            range: span("Ryan Chukwudi OKAFOR"),
            code: "TP".into(),
            label: Some("TP: your father".into()),
            region: None,
        },
        Mark { range: span("19/05/2016"), code: "SIB".into(), label: None, region: None },
    ];
    let mut kept_text = t.clone();
    for m in marks.iter().rev() {
        kept_text.replace_range(m.range.clone(), " ");
    }
    let kept = words_of(&kept_text);
    let edits = vec![PageEdit { index: 0, marks }];
    let mut r = redact(&pdf, &pages, &edits).unwrap();
    assert!(r.verdicts[0].ok, "{:?}", r.verdicts);
    // each label is written on the baseline of the line it replaces
    for b in &r.boxes {
        assert!(b.line.is_some(), "horizontal text: the box knows its line");
    }
    let out = save(&mut r.doc).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "out.pdf", &out);
    for (tool, text) in [("pdftotext", pdftotext(&p)), ("mutool", mutool_text(&p))] {
        let got = words_of(&text);
        assert_eq!(out_of_order(&kept, &got), 0, "{tool} reads the kept words out of order:\n{text}");
        for l in ["tp", "conf", "sib", "father"] {
            assert!(got.iter().any(|g| g == l), "{tool}: the label {l} is readable");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// B: one bad attachment, through the command line

#[test]
fn b_one_bad_attachment_is_withheld_and_the_rest_released() {
    use crate::util::*;
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let mut v = read_json(&northbrook());
    let mut deep = BODY.to_vec();
    deep.extend(std::iter::repeat_n(b'[', 10_000));
    let cycle = {
        let form = stream(
            "/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> /XObject << /Fm 6 0 R >> >>",
            b"BT /F1 12 Tf 72 600 Td (Gwen Aldous rang again.) Tj ET /Fm Do",
        );
        let mut c = BODY.to_vec();
        c.extend_from_slice(b"q /Fm Do Q\n");
        one_page(&c, "/XObject << /Fm 6 0 R >>", vec![(6, form)])
    };
    let comment = one_page(
        b"% a note on Gwen Aldous\nBT /F1 12 Tf 72 700 Td (Gwen Aldous called the school about the visit.) Tj ET\n",
        "",
        vec![],
    );
    let hostile: Vec<(&str, Vec<u8>, &str)> = vec![
        ("att-h-deep", one_page(&deep, "", vec![]), "R3.unreadable"),
        ("att-h-bomb", bomb_pdf(true), "R3.unreadable"),
        ("att-h-cycle", cycle, "R3.scan"),
        ("att-h-comment", comment, "R3.verification"),
    ];
    let export = write_export(dir.path(), &v);
    let mut ids = Vec::new();
    for (id, bytes, _) in &hostile {
        let name = format!("{id}.pdf");
        std::fs::write(dir.path().join("attachments").join(&name), bytes).unwrap();
        let sha = disclose::import::hex(&sha2::Sha256::digest(bytes));
        v["attachments"].as_array_mut().unwrap().push(serde_json::json!({
            "id": id, "file": format!("attachments/{name}"), "media_type": "application/pdf", "pages": 1,
            "text_layer": true, "title": "Note of a call", "record": "rec-014", "on_files": ["p-leah"], "sha256": sha}));
        ids.push(serde_json::json!(id));
    }
    record_mut(&mut v, "rec-014")["attachments"] = serde_json::json!(ids);
    std::fs::write(&export, serde_json::to_vec(&v).unwrap()).unwrap();
    let db = dir.path().join("case.db");
    let o = run(&["import", export.to_str().unwrap(), "--db", db.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.path().join("out");
    let o = run(&[
        "export",
        "--db",
        db.to_str().unwrap(),
        "--subject",
        "p-leah",
        "--policy",
        "sar-self",
        "--out",
        out.to_str().unwrap(),
    ]);
    // the documented code for a page withheld after failing verification
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("1 attachment page(s) failed verification"), "{}", stderr(&o));
    let plan = read_json(&out.join("plan.json"));
    // held before redaction (review items) or after it (pages that failed verification)
    let review: Vec<&serde_json::Value> =
        plan["review"].as_array().unwrap().iter().chain(plan["held_after_redaction"].as_array().unwrap()).collect();
    for (id, _, rule) in &hostile {
        let held: Vec<&&serde_json::Value> = review.iter().filter(|r| r["location"]["attachment"] == *id).collect();
        assert!(held.iter().any(|r| r["rule"] == *rule), "{id}: {held:?}");
    }
    let bundle = out.join("bundle.pdf");
    let q = tool("qpdf", &["--check", bundle.to_str().unwrap()]);
    assert!(q.status.success(), "{}", stdout(&q));
    let text = pdftotext(&bundle);
    // the police notification's page (the good attachment on this file) is in the bundle
    for phrase in ["Northshire Police - Public Protection Notification", "DASH risk assessment: HIGH"] {
        assert!(text.contains(phrase), "the good attachment is in the bundle: {phrase}");
    }
    assert!(!text.to_lowercase().contains("aldous"), "the held pages are not");
}
