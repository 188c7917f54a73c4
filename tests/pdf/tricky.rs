use super::common::*;
use disclose::pdf::core::*;

#[test]
fn tricky_fixture_reads_every_variant() {
    let bytes = std::fs::read(fixture("tricky.pdf")).unwrap();
    assert_eq!(count_eof(&bytes), 2, "fixture has two revisions");
    let pdf = load(&bytes).unwrap();
    assert_eq!(page_count(&pdf), 2);
    let pages = read_text(&pdf).unwrap();
    assert_eq!(pages[0].status, PageStatus::Ok);
    let t = &pages[0].text;
    for line in [
        "Kerned: Gwen Aldous visited today",
        "Split: Gwen Aldous called back",
        "Per glyph: Gwen Aldous left early",
        "Spaced: Gwen Aldous attended",
        "Hidden Gwen Aldous layer",
        "Hex: Gwen Aldous noted",
        "Octal: Gwen Aldous signed",
        "The report about Gwen Aldous was filed",
        "Quoted: Gwen Aldous again",
        "Form: Gwen Aldous in a form",
        "CID: Gwen Aldous here",
        "Helvetica without widths: Gwen Aldous",
    ] {
        assert!(t.contains(line), "missing line {line:?} in {t}");
    }
    assert_eq!(pages[1].text.matches("Form: Gwen Aldous in a form").count(), 2);
    assert!(pages[1].text.contains("Type3: Gwen Aldous drawn"), "{}", pages[1].text);
    // the hidden line is invisible, the hyphen of "Al-" has an empty range at the join
    let hidden = t.find("Hidden").unwrap();
    let g = pages[0].glyphs.iter().find(|g| g.text_range.start == hidden).unwrap();
    assert!(!g.visible);
    let hy = pages[0].glyphs.iter().find(|g| g.unicode == "-" && g.text_range.is_empty()).expect("joined hyphen");
    let join = t.find("Aldous was filed").unwrap() + 2;
    assert_eq!(hy.text_range.start, join);
}

/// Where the fixture's annotations are drawn (they are dropped by the sanitizer).
const ANNOT_RECTS: [(usize, [f64; 4]); 3] =
    [(0, [400.0, 700.0, 420.0, 720.0]), (0, [400.0, 300.0, 550.0, 320.0]), (0, [400.0, 250.0, 550.0, 270.0])];

#[test]
fn tricky_fixture_redaction() {
    let r = redact_and_check(
        &fixture("tricky.pdf"),
        "Gwen Aldous",
        &["Gwen", "Aldous"],
        &["FreeText"],
        15,
        Some(&ANNOT_RECTS),
    );
    for k in ["annotations", "acroform", "info", "xmp", "outlines", "embedded-files", "earlier-revisions"] {
        assert!(r.sanitized.kinds.iter().any(|x| x == k), "sanitized kinds lack {k}: {:?}", r.sanitized.kinds);
    }
}

#[test]
fn untouched_bytes_are_copied_verbatim() {
    let bytes = std::fs::read(fixture("tricky.pdf")).unwrap();
    let pdf = load(&bytes).unwrap();
    let pages = read_text(&pdf).unwrap();
    let edits = marks_for(&pages, "Gwen Aldous");
    let r = redact(&pdf, &pages, &edits).unwrap();
    let page = r.doc.get_pages()[&1];
    let content = r.doc.get_page_content(page);
    let s = String::from_utf8_lossy(&content);
    assert!(s.contains("% a comment with 12345.6789 numbers kept verbatim"));
    assert!(s.contains("BT /F1 12 Tf 72 360 Td (Unrelated closing words stay here) Tj ET"));
    assert!(s.contains("/Span <<>> BDC"), "ActualText stripped");
    assert!(!s.contains("Gwen"));
}

#[test]
fn form_used_twice_is_copied_per_use() {
    // mark only the first of the two uses of the form on page 2: the second keeps its text
    let bytes = std::fs::read(fixture("tricky.pdf")).unwrap();
    let pdf = load(&bytes).unwrap();
    let pages = read_text(&pdf).unwrap();
    let t = &pages[1].text;
    let first = t.find("Gwen Aldous").unwrap();
    let edits = vec![PageEdit {
        index: 1,
        marks: vec![Mark {
            range: first..first + 11,
            code: "TP".into(),
            label: Some("[a child – Łódź]".into()),
            region: None,
        }],
    }];
    let mut r = redact(&pdf, &pages, &edits).unwrap();
    assert!(r.verdicts.iter().all(|v| v.ok), "{:?}", r.verdicts);
    let out = save(&mut r.doc).unwrap();
    let again = read_text(&load(&out).unwrap()).unwrap();
    assert_eq!(again[1].text.matches("Gwen Aldous").count(), 2, "{}", again[1].text); // second form use + Type3 line
    assert!(again[1].text.contains("[a child – ?\u{f3}d?]"), "{}", again[1].text);
    // page 1 still shows the (unmarked) original form
    assert!(again[0].text.contains("Form: Gwen Aldous in a form"));
}

#[test]
fn save_is_deterministic() {
    let bytes = std::fs::read(fixture("tricky.pdf")).unwrap();
    let pdf = load(&bytes).unwrap();
    let pages = read_text(&pdf).unwrap();
    let edits = marks_for(&pages, "Gwen Aldous");
    let a = save(&mut redact(&pdf, &pages, &edits).unwrap().doc).unwrap();
    let b = save(&mut redact(&pdf, &pages, &edits).unwrap().doc).unwrap();
    assert_eq!(a, b);
}

#[test]
fn inline_image_bytes_survive_rewrite() {
    let path = fixture("corpus/008-reportlab-inline-image/inline-image.pdf");
    let bytes = std::fs::read(&path).unwrap();
    let pdf = load(&bytes).unwrap();
    let page = pdf.document().get_pages()[&1];
    let orig = pdf.document().get_page_content(page);
    let bi = orig.windows(3).position(|w| w == b"BI\n").expect("inline image");
    let ei = bi + orig[bi..].windows(3).position(|w| w == b"EI\n").unwrap() + 2;
    let pages = read_text(&pdf).unwrap();
    let t = &pages[0].text;
    let w = t.split_whitespace().find(|w| w.len() >= 4).unwrap();
    let s = t.find(w).unwrap();
    let edits = vec![PageEdit {
        index: 0,
        marks: vec![Mark { range: s..s + w.len(), code: "TP".into(), label: None, region: None }],
    }];
    let r = redact(&pdf, &pages, &edits).unwrap();
    assert!(r.verdicts.iter().all(|v| v.ok));
    let newc = r.doc.get_page_content(r.doc.get_pages()[&1]);
    assert!(newc.windows(ei - bi).any(|x| x == &orig[bi..ei]), "inline image copied byte for byte");
}

#[test]
fn refuses_bad_input_clearly() {
    assert!(matches!(load(b"not a pdf"), Err(PdfError::Parse { .. })));
    let enc = std::fs::read(fixture("corpus/005-libreoffice-writer-password/libreoffice-writer-password.pdf")).unwrap();
    assert!(matches!(load(&enc), Err(PdfError::Encrypted)));
    let dmg = std::fs::read(fixture("corpus/017-unreadable-meta-data/unreadablemetadata.pdf")).unwrap();
    assert!(matches!(load(&dmg), Err(PdfError::Damaged { .. })));
    // truncated file
    let b = std::fs::read(fixture("tricky.pdf")).unwrap();
    assert!(matches!(load(&b[..b.len() / 3]), Err(PdfError::Damaged { .. })));
}

#[test]
fn each_variant_alone_is_removed_and_nothing_else_moves() {
    require_tool("pdftotext", &["-v"]);
    let path = fixture("tricky.pdf");
    let bytes = std::fs::read(&path).unwrap();
    let pdf = load(&bytes).unwrap();
    let pages = read_text(&pdf).unwrap();
    let all = marks_for(&pages, "Gwen Aldous");
    let dir = tempfile::tempdir().unwrap();
    // baseline: sanitized only (poppler also reads annotation appearances, which are dropped)
    let mut r0 = redact(&pdf, &pages, &[]).unwrap();
    let p0 = dir.path().join("v0.pdf");
    std::fs::write(&p0, save(&mut r0.doc).unwrap()).unwrap();
    let before = pdftotext(&p0).matches("Gwen").count();
    assert_eq!(before, 15);
    let mut n = 0;
    for e in &all {
        for m in &e.marks {
            n += 1;
            let edits = vec![PageEdit { index: e.index, marks: vec![m.clone()] }];
            let mut r = redact(&pdf, &pages, &edits).unwrap();
            assert!(r.verdicts.iter().all(|v| v.ok), "variant {n}: {:?}", r.verdicts);
            let out = save(&mut r.doc).unwrap();
            let p = dir.path().join(format!("v{n}.pdf"));
            std::fs::write(&p, &out).unwrap();
            let after = pdftotext(&p).matches("Gwen").count();
            assert_eq!(after + 1, before, "variant {n} (page {}) not removed exactly once", e.index + 1);
            let again = read_text(&load(&out).unwrap()).unwrap();
            assert_eq!(
                again[e.index].text.matches("Gwen Aldous").count() + 1,
                pages[e.index].text.matches("Gwen Aldous").count()
            );
            qpdf_check(&p).unwrap();
            assert_words_in_place(&p0, &p, &["Gwen", "Aldous"], &[]);
        }
    }
    assert_eq!(n, 15);
}

#[test]
fn mutated_inputs_never_panic_inside_the_engine() {
    let base = std::fs::read(fixture("tricky.pdf")).unwrap();
    let mut seed: u64 = 0x5eed;
    let mut rnd = move || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let mut internal = 0;
    for _ in 0..300 {
        let mut b = base.clone();
        for _ in 0..1 + rnd() % 8 {
            let i = rnd() % b.len();
            b[i] = match rnd() % 4 {
                0 => b"()[]<>/"[rnd() % 7],
                1 => b"0123456789.-"[rnd() % 12],
                2 => b' ',
                _ => (rnd() % 256) as u8,
            };
        }
        let res = (|| -> Result<(), PdfError> {
            let pdf = load(&b)?;
            let pages = read_text(&pdf)?;
            let edits = marks_for(&pages, "Gwen");
            let mut r = redact(&pdf, &pages, &edits)?;
            save(&mut r.doc)?;
            Ok(())
        })();
        if let Err(PdfError::Internal { .. }) = res {
            internal += 1;
        }
    }
    assert_eq!(internal, 0, "internal errors (caught panics) on mutated inputs");
}

#[test]
fn ocr_layer_over_a_scan_is_flagged() {
    use lopdf::{dictionary, Document, Object, Stream};
    let mut doc = Document::with_version("1.7");
    let font = doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica" });
    let img = doc.add_object(Stream::new(dictionary! { "Type" => "XObject", "Subtype" => "Image", "Width" => 2, "Height" => 2, "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8 }, vec![0, 255, 255, 0]));
    let mut content =
        b"q 612 0 0 792 0 0 cm /Im1 Do Q BT 3 Tr /F1 12 Tf 72 700 Td (Scanned letter about Gwen Aldous) Tj ET".to_vec();
    content
        .extend_from_slice(b"\nBT 3 Tr /F1 12 Tf 72 680 Td (and more words on the page to make it read as text) Tj ET");
    let cid = doc.add_object(Stream::new(dictionary! {}, content));
    let pages_id = doc.new_object_id();
    let page = doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages_id, "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()], "Contents" => cid,
        "Resources" => dictionary! { "Font" => dictionary! { "F1" => font }, "XObject" => dictionary! { "Im1" => img } } });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1 }),
    );
    let cat = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", cat);
    let bytes = save(&mut doc).unwrap();
    let pdf = load(&bytes).unwrap();
    let pages = read_text(&pdf).unwrap();
    assert_eq!(pages[0].status, PageStatus::Ok);
    let edits = marks_for(&pages, "Gwen Aldous");
    let r = redact(&pdf, &pages, &edits).unwrap();
    assert!(!r.verdicts[0].ok);
    assert!(
        r.verdicts[0].problems.iter().any(|p| p.contains("image pixels are not redacted")),
        "{:?}",
        r.verdicts[0].problems
    );
}
