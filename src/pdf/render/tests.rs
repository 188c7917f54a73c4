//! Tests. Those that need external tools (qpdf, pdffonts, pdftotext,
//! pdftoppm, mutool) fail with a clear message when a tool is missing.

use super::*;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

/// Fixture PDFs: the crate's copy of the Northbrook attachments.
fn attach_dir() -> PathBuf {
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/northbrook/attachments");
    assert!(local.join("att-ppn.pdf").exists(), "fixtures/northbrook/attachments is missing");
    local
}

/// Secrets used as `width_of`: must never reach the output.
const SECRETS: &[&str] = &[
    "Zebulon Quartermaine",
    "17 Wisteria Crescent, Lowbridge",
    "Persephone Ashcombe-Vane",
    "07700 900461",
    "Maximilian Thistlewood",
];

fn t(s: &str) -> Run {
    Run::Text(s.to_string())
}
fn b(s: &str) -> Run {
    Run::Bold(s.to_string())
}
fn mark(code: &str, label: Option<&str>, secret: &str) -> Run {
    Run::Mark { code: code.into(), label: label.map(|s| s.to_string()), width_of: secret.into(), id: None }
}

fn date() -> Date {
    Date { y: 2026, m: 11, d: 20, h: 9, mi: 30, s: 0 }
}

fn load(name: &str) -> Arc<lopdf::Document> {
    let p = attach_dir().join(name);
    Arc::new(lopdf::Document::load(&p).unwrap_or_else(|e| panic!("cannot load fixture {}: {e}", p.display())))
}

fn first_page(d: &Arc<lopdf::Document>) -> lopdf::ObjectId {
    *d.get_pages().get(&1).expect("fixture has a page")
}

const RECORD_TYPES: &[&str] =
    &["Case note", "Home visit", "Strategy discussion", "Email", "Supervision note", "Phone call", "Assessment"];

fn record_text(i: usize) -> Vec<Run> {
    let mut runs = vec![t(&format!(
        "Visited the family home at 10:15 following the agreed plan. Record {i} describes how the child presented as settled and talked about school, friends and the weekend. "
    ))];
    match i % 4 {
        0 => {
            runs.push(t("Mother said that "));
            runs.push(mark("TP", None, SECRETS[0]));
            runs.push(t(" had visited twice this week and that the neighbour at "));
            runs.push(mark("TP", None, SECRETS[1]));
            runs.push(t(" had raised concerns."));
        }
        1 => {
            runs.push(t("The child said "));
            runs.push(mark("TP", Some("[your brother]"), SECRETS[2]));
            runs.push(t("’s behaviour had improved; the worker discussed this with "));
            runs.push(b("the team manager"));
            runs.push(t(" and agreed next steps."));
        }
        2 => {
            runs.push(t("Contact number recorded as "));
            runs.push(mark("P", None, SECRETS[3]));
            runs.push(t(". The worker explained the plan, checked understanding and left a copy of the leaflet. "));
            runs.push(t("Follow-up visit booked for next week.\nActions: 1) update chronology; 2) share the school report with the conference chair."));
        }
        _ => {
            runs.push(t("Information shared by "));
            runs.push(mark("3P", Some("[a health professional]"), SECRETS[4]));
            runs.push(t(" was discussed in supervision. A very long reference without spaces follows: REF-0000-1111-2222-3333-4444-5555-6666-7777-8888-9999-AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-0000."));
        }
    }
    runs
}

/// The sample bundle described in the brief.
pub(crate) fn sample_doc() -> Doc {
    let ppn = load("att-ppn.pdf");
    let school = load("att-school-report.pdf");

    let cover = vec![
        Block::Heading { level: 1, text: vec![t("Your subject access request")], anchor: Some("cover".into()), outline: None },
        Block::Meta { pairs: vec![("Our reference".into(), vec![t("SAR-2026-0147")]), ("Date".into(), vec![t("20 November 2026")])] },
        Block::Para { runs: vec![t("Dear Ms Example,")] },
        Block::Para { runs: vec![t("Thank you for your request for the records Northbrook Council holds about your son. This bundle contains copies of those records. We know that reading them may be difficult, and we have tried to make the bundle clear and easy to find your way around.")] },
        Block::Para { runs: vec![t("Some information has been removed because it is about other people, or because sharing it could cause harm. Where this has happened you will see a dark box with a short code, for example "), mark("TP", None, "Someone Else"), t(" for information about another person. The codes are explained in the glossary at the end of the bundle.")] },
        Block::Para { runs: vec![t("If you have any questions, or if you would like support in reading the records, please contact the Information Governance team.")] },
        Block::Spacer(12.0),
        Block::Para { runs: vec![t("Yours sincerely,\n\nInformation Governance Team\nNorthbrook Council")] },
    ];

    let mut index = vec![Block::Heading { level: 1, text: vec![t("Index of records")], anchor: None, outline: None }];
    for i in 1..=15usize {
        let title = if i == 3 {
            vec![t("Strategy discussion with police, health and the school about the incident reported on the Friday afternoon, including follow-up actions agreed")]
        } else if i == 5 {
            vec![t("Phone call from "), mark("TP", None, SECRETS[0]), t(" about contact")]
        } else {
            vec![t(&format!("{}: record {i}", RECORD_TYPES[i % RECORD_TYPES.len()]))]
        };
        index.push(Block::IndexEntry {
            runs: title,
            date: format!("{:02}/0{}/2025", i, 1 + i % 9),
            target: format!("rec-{i}"),
        });
    }
    index.push(Block::IndexEntry {
        runs: vec![t("Police protection notification (attachment)")],
        date: "14/03/2025".into(),
        target: "att-ppn".into(),
    });

    let mut records = Vec::new();
    for i in 1..=40usize {
        if i == 1 || i == 21 {
            let y = if i == 1 { "2024" } else { "2025" };
            records.push(Block::Heading {
                level: 1,
                text: vec![t(&format!("Records from {y}"))],
                anchor: None,
                outline: Some(format!("Records from {y}")),
            });
        }
        let kind = RECORD_TYPES[i % RECORD_TYPES.len()];
        let heading = format!("{kind}: record {i}");
        records.push(Block::Heading {
            level: 2,
            text: vec![t(&heading)],
            anchor: Some(format!("rec-{i}")),
            outline: Some(heading.clone()),
        });
        if i % 9 == 0 {
            records.push(Block::Placeholder {
                text: "This record has been withheld because it contains information about other people.".into(),
                code: "TP".into(),
                mark: None,
            });
            continue;
        }
        records.push(Block::Meta {
            pairs: vec![
                ("Date".into(), vec![t(&format!("{:02}/{:02}/2025 10:{:02}", 1 + i % 28, 1 + i % 12, i))]),
                ("Type".into(), vec![t(kind)]),
                ("Author".into(), vec![t("Social worker, Children's Services")]),
                ("Concerns".into(), vec![t(if i % 3 == 0 { "Neglect; emotional wellbeing" } else { "None recorded" })]),
            ],
        });
        records.push(Block::Para { runs: record_text(i) });
        if i % 5 == 0 {
            records.push(Block::Heading { level: 3, text: vec![t("Manager's comments")], anchor: None, outline: None });
            records.push(Block::Placeholder {
                text: "Section withheld: legal advice.".into(),
                code: "LPP".into(),
                mark: None,
            });
        }
        if i % 2 == 0 {
            records.push(Block::Para { runs: vec![t("Next steps were agreed with the family. The worker will visit again within ten working days and review the plan with the team manager.")] });
        }
    }

    let attachments = vec![
        ForeignPage {
            page: first_page(&ppn),
            doc: ppn.clone(),
            anchor: Some("att-ppn".into()),
            outline: Some("Police protection notification".into()),
            overlays: vec![],
            ink: Default::default(),
        },
        ForeignPage {
            page: first_page(&school),
            doc: school.clone(),
            anchor: Some("att-school".into()),
            outline: Some("School report".into()),
            overlays: vec![],
            ink: Default::default(),
        },
    ];

    let mut rows = Vec::new();
    for i in 1..=60usize {
        rows.push(vec![
            format!("A{}", 1 + i / 3),
            format!("rec-{}", 1 + i % 40),
            ["TP", "P", "3P", "LPP"][i % 4].to_string(),
            if i % 7 == 0 {
                "Information about a third party whose identity could be inferred from the surrounding context of the record, withheld under the third-party provisions".to_string()
            } else {
                "Third-party personal data".to_string()
            },
        ]);
    }
    let schedule = vec![
        Block::Heading {
            level: 1,
            text: vec![t("Schedule of redactions")],
            anchor: Some("schedule".into()),
            outline: None,
        },
        Block::Para { runs: vec![t("Every redaction in this bundle is listed below with the reason for it.")] },
        Block::Table {
            header: vec!["Page".into(), "Record".into(), "Code".into(), "Reason".into()],
            rows,
            widths: vec![0.1, 0.15, 0.1, 0.65],
        },
    ];

    let glossary = vec![
        Block::Heading { level: 1, text: vec![t("Glossary")], anchor: None, outline: None },
        Block::Heading {
            level: 3,
            text: vec![t("Codes used for removed information")],
            anchor: None,
            outline: Some("Codes".into()),
        },
        Block::Para { runs: vec![mark("TP", None, "xx"), t("  Information about another person (third party).")] },
        Block::Para { runs: vec![mark("3P", None, "xx"), t("  Information given by a professional in confidence.")] },
        Block::Para { runs: vec![mark("LPP", None, "xx"), t("  Legal advice (legal professional privilege).")] },
        Block::Rule,
        Block::Heading { level: 3, text: vec![t("Words used in the records")], anchor: None, outline: None },
        Block::Para {
            runs: vec![
                b("Strategy discussion"),
                t(" – a meeting between professionals to decide whether to make enquiries about a child's safety."),
            ],
        },
        Block::Para {
            runs: vec![
                b("Chronology"),
                t(" – a list of important events in date order. Ünïcødé check: café, naïve, “quotes”, €, Ł, Ω."),
            ],
        },
    ];

    Doc {
        title: "Subject access request SAR-2026-0147 – disclosure bundle".into(),
        author: "Northbrook Council".into(),
        subject: "Records about a child held by Children's Services".into(),
        date: date(),
        id_seed: [7u8; 32],
        lang: "en-GB".into(),
        parts: vec![
            Part { label: LabelStyle::Arabic, outline: Some("Cover letter".into()), content: PartContent::Flow(cover) },
            Part { label: LabelStyle::Arabic, outline: Some("Index".into()), content: PartContent::Flow(index) },
            Part {
                label: LabelStyle::Court { letter: 'A' },
                outline: Some("Case records".into()),
                content: PartContent::Flow(records),
            },
            Part {
                label: LabelStyle::Court { letter: 'B' },
                outline: Some("Attachments".into()),
                content: PartContent::Foreign(attachments),
            },
            Part {
                label: LabelStyle::Arabic,
                outline: Some("Schedule of redactions".into()),
                content: PartContent::Flow(schedule),
            },
            Part { label: LabelStyle::Arabic, outline: Some("Glossary".into()), content: PartContent::Flow(glossary) },
        ],
        draft: false,
        code_words: Vec::new(),
    }
}

fn tool(name: &str, args: &[&str]) -> std::process::Output {
    let out = Command::new(name).args(args).output().unwrap_or_else(|e| {
        panic!(
            "required external tool `{name}` could not be run ({e}); install it (poppler-utils / qpdf / mupdf-tools)"
        )
    });
    out
}

fn tool_ok(name: &str, args: &[&str]) -> String {
    let out = tool(name, args);
    assert!(
        out.status.success(),
        "`{name} {}` failed: {}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// PNG previews go to `<crate>/preview/` if that directory exists, else
/// next to the other test output.
fn preview_dir() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("preview");
    if p.is_dir() {
        p
    } else {
        let d = out_dir().join("preview");
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}

fn out_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("test-out");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn utf16be(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect()
}

#[test]
fn deterministic_bytes() {
    let doc = sample_doc();
    let a = render(&doc).unwrap();
    let b = render(&doc).unwrap();
    assert_eq!(a.bytes, b.bytes, "two renders of the same Doc differ");
    // an equal Doc built separately (fresh Arcs) gives the same bytes too
    let c = render(&sample_doc()).unwrap();
    assert_eq!(a.bytes, c.bytes);
    // a different seed changes only the ID
    let mut doc2 = doc.clone();
    doc2.id_seed = [8u8; 32];
    let d = render(&doc2).unwrap();
    assert_ne!(a.bytes, d.bytes);
    assert_eq!(a.bytes.len(), d.bytes.len());
}

#[test]
fn chunked_parts_lay_out_exactly_as_flow_parts() {
    // Every flow part of the sample, cut into chunks of 1, 2 and 3 blocks (and with empty chunks
    // between), must give the same bytes: keep-with-next looks across chunk boundaries.
    let doc = sample_doc();
    let flat = render(&doc).unwrap();
    for size in [1usize, 2, 3] {
        let mut chunked = doc.clone();
        let mut n_chunked = 0;
        for part in chunked.parts.iter_mut() {
            if let PartContent::Flow(blocks) = &part.content {
                let mut pieces: Vec<Vec<Block>> = Vec::new();
                for c in blocks.chunks(size) {
                    pieces.push(c.to_vec());
                    pieces.push(Vec::new());
                }
                let pieces = Arc::new(pieces);
                part.content =
                    PartContent::Chunks(Chunks { count: pieces.len(), make: Arc::new(move |i| pieces[i].clone()) });
                n_chunked += 1;
            }
        }
        assert!(n_chunked >= 2, "the sample has flow parts to cut");
        let r = render(&chunked).unwrap();
        assert_eq!(r.pages, flat.pages, "chunks of {size}: page count");
        assert_eq!(r.anchors, flat.anchors, "chunks of {size}: anchors");
        assert!(r.bytes == flat.bytes, "chunks of {size}: bytes differ from the flow part's");
    }
}

#[test]
fn unknown_and_duplicate_anchors_are_errors() {
    let mut doc = sample_doc();
    doc.parts.truncate(2);
    doc.parts[1].content =
        PartContent::Flow(vec![Block::IndexEntry { runs: vec![t("x")], date: "d".into(), target: "nowhere".into() }]);
    assert_eq!(render(&doc).unwrap_err(), RenderError::UnknownAnchor("nowhere".into()));

    let h = |a: &str| Block::Heading { level: 2, text: vec![t("H")], anchor: Some(a.into()), outline: None };
    let doc = Doc {
        parts: vec![Part {
            label: LabelStyle::Arabic,
            outline: None,
            content: PartContent::Flow(vec![h("x"), h("x")]),
        }],
        ..sample_doc()
    };
    assert_eq!(render(&doc).unwrap_err(), RenderError::DuplicateAnchor("x".into()));

    let doc = Doc { parts: vec![], ..sample_doc() };
    assert_eq!(render(&doc).unwrap_err(), RenderError::Empty);
}

#[test]
fn line_breaking_rules() {
    let font = font::Font::get().unwrap();
    let mut warnings = Vec::new();
    // a mark is never split and text continues after it on the same line
    let long = "word ".repeat(200);
    let doc = Doc {
        parts: vec![Part {
            label: LabelStyle::Arabic,
            outline: None,
            content: PartContent::Flow(vec![
                Block::Para { runs: vec![t(&long), mark("TP", None, &"W".repeat(300)), t(" after")] },
                Block::Para { runs: vec![t(&"x".repeat(500))] },
                Block::Para { runs: vec![t("a\u{4E2D}b")] },
            ]),
        }],
        ..sample_doc()
    };
    let lay = layout::layout(&doc, font, &mut warnings).unwrap();
    let max = layout::PAGE_W - 2.0 * layout::MARGIN_X;
    for p in &lay.pages {
        for it in &p.items {
            match it {
                layout::Item::Text { x, text, size, .. } => {
                    let w = font.width(text, *size);
                    assert!(x + w <= layout::MARGIN_X + max + 0.5, "text overflows: {text:?}");
                }
                layout::Item::Rect { x, w, .. } => assert!(x + w <= layout::MARGIN_X + max + 0.5),
                _ => {}
            }
        }
    }
    assert!(warnings.iter().any(|w| w.contains("U+4E2D")), "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("wider than the line")), "{warnings:?}");

    // no drawn text ever contains a mark's width_of (checked before encoding,
    // where a leak would be invisible to byte greps of CID-encoded strings)
    let lay = layout::layout(&sample_doc(), font, &mut Vec::new()).unwrap();
    for p in &lay.pages {
        for it in &p.items {
            if let layout::Item::Text { text, .. } = it {
                for s in SECRETS {
                    assert!(!text.contains(s), "secret {s:?} drawn");
                }
            }
        }
    }
}

#[test]
fn sample_bundle_checks_with_real_tools() {
    let doc = sample_doc();
    let r = render(&doc).expect("render");
    let dir = out_dir();
    let pdf = dir.join("sample.pdf");
    std::fs::write(&pdf, &r.bytes).unwrap();
    let pdf_s = pdf.to_str().unwrap();
    let n = r.pages;
    assert!(n > 10, "expected a multi-page bundle, got {n}");
    println!("pages: {n}, bytes: {}, warnings: {:?}", r.bytes.len(), r.warnings);

    // qpdf --check
    let check = tool("qpdf", &["--check", pdf_s]);
    let check_out = String::from_utf8_lossy(&check.stdout).to_string() + &String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "qpdf --check failed:\n{check_out}");
    assert!(check_out.contains("No syntax or stream encoding errors found"), "{check_out}");
    assert!(!check_out.to_lowercase().contains("warning"), "qpdf warnings:\n{check_out}");

    // fonts: all embedded; ours is a CID TrueType subset with ToUnicode
    let fonts = tool_ok("pdffonts", &[pdf_s]);
    let font_lines: Vec<&str> = fonts.lines().skip(2).filter(|l| !l.trim().is_empty()).collect();
    assert!(font_lines.len() >= 3, "{fonts}");
    for l in &font_lines {
        let cols: Vec<&str> = l.split_whitespace().collect();
        // name type... emb sub uni objnum gen: emb is 5th from the end
        let emb = cols[cols.len() - 5];
        assert_eq!(emb, "yes", "font not embedded: {l}");
    }
    let ours: Vec<&&str> = font_lines.iter().filter(|l| l.contains("+DejaVuSans")).collect();
    assert_eq!(ours.len(), 1, "{fonts}");
    assert!(
        ours[0].contains("CID TrueType") && ours[0].contains("Identity-H") && ours[0].contains("yes yes yes"),
        "{fonts}"
    );
    assert!(fonts.contains("LiberationSerif"), "foreign fonts missing: {fonts}");

    // text
    let text = tool_ok("pdftotext", &["-enc", "UTF-8", pdf_s, "-"]);
    let pages: Vec<&str> = text.split('\u{c}').collect();
    assert!(pages.len() >= n, "pdftotext gave {} pages", pages.len());
    let labels: Vec<String> = page_labels(&r, &doc);
    for i in 0..n {
        let want = &labels[i];
        assert!(pages[i].contains(want.as_str()), "page {} lacks footer {want:?}:\n{}", i + 1, pages[i]);
    }
    assert!(pages[0].contains(&format!("Page 1 of {n}")));
    for i in 1..=40 {
        let kind = RECORD_TYPES[i % RECORD_TYPES.len()];
        let h = format!("{kind}: record {i}");
        assert!(text.contains(&h), "heading {h:?} missing");
    }
    for h in [
        "Your subject access request",
        "Index of records",
        "Records from 2024",
        "Records from 2025",
        "Schedule of redactions",
        "Glossary",
        "Manager's comments",
    ] {
        assert!(text.contains(h), "heading {h:?} missing");
    }
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for s in [
        "[your brother]",
        "[a health professional]",
        "TP",
        "LPP",
        "3P",
        "[TP] This record has been withheld",
        "Ünïcødé check: café, naïve, “quotes”, €, Ł, Ω.",
    ] {
        assert!(flat.contains(s), "{s:?} missing from text");
    }
    // the foreign pages' own text survives
    let raw_ppn = tool_ok("pdftotext", &[attach_dir().join("att-ppn.pdf").to_str().unwrap(), "-"]);
    let first_words: String = raw_ppn.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    assert!(flat.contains(&first_words), "foreign text {first_words:?} missing");

    // secrets: not in extracted text, not in decompressed bytes (any encoding we use)
    let qdf = dir.join("sample-qdf.pdf");
    tool_ok("qpdf", &["--qdf", "--object-streams=disable", pdf_s, qdf.to_str().unwrap()]);
    let raw = std::fs::read(&qdf).unwrap();
    for s in SECRETS.iter().chain(["Someone Else"].iter()) {
        assert!(!text.contains(s), "secret {s:?} in extracted text");
        assert!(!contains(&raw, s.as_bytes()), "secret {s:?} in raw bytes");
        assert!(!contains(&raw, &utf16be(s)), "secret {s:?} (UTF-16) in raw bytes");
        assert!(!contains(&r.bytes, s.as_bytes()));
    }

    // a second engine (MuPDF) sees the same text and no secrets
    let mu = tool_ok("mutool", &["draw", "-q", "-F", "txt", "-o", "-", pdf_s]);
    let mu_flat = mu.split_whitespace().collect::<Vec<_>>().join(" ");
    for s in ["Your subject access request", "Case note: record 7", "[your brother]", "Page 1 of"] {
        assert!(mu_flat.contains(s), "mutool text lacks {s:?}");
    }
    for s in SECRETS {
        assert!(!mu.contains(s), "secret {s:?} in mutool text");
    }

    // outline (mutool)
    let outline = tool_ok("mutool", &["show", pdf_s, "outline"]);
    println!("{outline}");
    for e in [
        "Cover letter",
        "Index",
        "Case records",
        "Records from 2024",
        "Attachments",
        "Police protection notification",
        "School report",
        "Schedule of redactions",
        "Glossary",
        "Codes",
    ] {
        assert!(outline.contains(e), "outline lacks {e:?}:\n{outline}");
    }
    let depth = |title: &str| -> usize {
        let line = outline.lines().find(|l| l.contains(title)).unwrap_or_else(|| panic!("{title} not in outline"));
        line.len() - line.trim_start_matches(['\t', ' ', '+', '-', '|']).len()
    };
    assert!(depth("Records from 2024") > depth("Case records"));
    assert!(depth("Case note: record 7") > depth("Records from 2024"));
    assert!(depth("Police protection notification") > depth("Attachments"));
    assert!(depth("Codes") > depth("Glossary"));

    // links: every IndexEntry has a Link whose /Dest is the anchor's page
    let out = lopdf::Document::load_mem(&r.bytes).expect("lopdf reads our output");
    let page_ids: Vec<lopdf::ObjectId> = out.get_pages().values().copied().collect();
    assert_eq!(page_ids.len(), n);
    let anchor_page: std::collections::HashMap<String, usize> =
        r.anchors.iter().map(|(a, l)| (a.clone(), label_index(&r, &doc, l))).collect();
    let mut links = Vec::new();
    for (pi, pid) in page_ids.iter().enumerate() {
        let page = out.get_dictionary(*pid).unwrap();
        if let Ok(annots) = page.get(b"Annots").and_then(|a| a.as_array()) {
            for a in annots {
                let ad = out.get_dictionary(a.as_reference().unwrap()).unwrap();
                assert_eq!(ad.get(b"Subtype").unwrap().as_name().unwrap(), b"Link");
                let dest = ad.get(b"Dest").unwrap().as_array().unwrap();
                let target = dest[0].as_reference().unwrap();
                links.push((pi, page_ids.iter().position(|p| *p == target).unwrap()));
            }
        }
    }
    assert_eq!(links.len(), 16, "16 index entries expected one link each");
    let mut expected: Vec<usize> = (1..=15).map(|i| anchor_page[&format!("rec-{i}")]).collect();
    expected.push(anchor_page["att-ppn"]);
    let got: Vec<usize> = links.iter().map(|l| l.1).collect();
    assert_eq!(got, expected);
    // index entries show the label of their target
    let index_text = &pages[links[0].0];
    for (a, l) in &r.anchors {
        if a.starts_with("rec-") && a[4..].parse::<usize>().unwrap() <= 15 {
            assert!(index_text.contains(l.as_str()), "index lacks label {l} for {a}");
        }
    }

    // document information
    let info = tool_ok("pdfinfo", &[pdf_s]);
    for s in [
        "Title:           Subject access request SAR-2026-0147",
        "Author:          Northbrook Council",
        "Creator:         disclose",
        "CreationDate:    Fri Nov 20 09:30:00 2026 UTC",
    ] {
        assert!(info.contains(s), "pdfinfo lacks {s:?}:\n{info}");
    }
    let cat = out.catalog().unwrap();
    assert_eq!(cat.get(b"PageMode").unwrap().as_name().unwrap(), b"UseOutlines");
    assert_eq!(cat.get(b"Lang").unwrap().as_str().unwrap(), b"en-GB");

    // previews
    let prev = preview_dir();
    let rec_page = anchor_page["rec-4"] + 1;
    let att_page = anchor_page["att-ppn"] + 1;
    for (p, name) in [
        (1, "page-01-cover"),
        (2, "page-02-index"),
        (rec_page, "page-record"),
        (att_page, "page-foreign"),
        (n, "page-last"),
    ] {
        let stem = prev.join(name);
        tool_ok(
            "pdftoppm",
            &[
                "-r",
                "60",
                "-png",
                "-singlefile",
                "-f",
                &p.to_string(),
                "-l",
                &p.to_string(),
                pdf_s,
                stem.to_str().unwrap(),
            ],
        );
    }
    let table_page = anchor_page["schedule"] + 2;
    let stem = prev.join("page-table-continued");
    tool_ok(
        "pdftoppm",
        &[
            "-r",
            "60",
            "-png",
            "-singlefile",
            "-f",
            &table_page.to_string(),
            "-l",
            &table_page.to_string(),
            pdf_s,
            stem.to_str().unwrap(),
        ],
    );
}

/// Footer text expected on every page (recomputed independently).
fn page_labels(r: &Rendered, doc: &Doc) -> Vec<String> {
    let out = lopdf::Document::load_mem(&r.bytes).unwrap();
    let _ = doc;
    // Read /PageLabels from the catalog and expand it.
    let cat = out.catalog().unwrap();
    let pl = cat.get(b"PageLabels").unwrap().as_dict().unwrap();
    let nums = pl.get(b"Nums").unwrap().as_array().unwrap();
    let mut ranges = Vec::new();
    for pair in nums.chunks(2) {
        let start = pair[0].as_i64().unwrap() as usize;
        let d = pair[1].as_dict().unwrap();
        let prefix = d.get(b"P").ok().map(|p| String::from_utf8_lossy(p.as_str().unwrap()).to_string());
        let st = d.get(b"St").ok().map(|s| s.as_i64().unwrap() as usize).unwrap_or(1);
        ranges.push((start, prefix, st));
    }
    let n = r.pages;
    (0..n)
        .map(|i| {
            let (start, prefix, st) = ranges.iter().rev().find(|(s, _, _)| *s <= i).unwrap().clone();
            let num = st + (i - start);
            match prefix {
                Some(p) => format!("{p}{num}"),
                None => format!("Page {num} of {n}"),
            }
        })
        .collect()
}

fn label_index(r: &Rendered, doc: &Doc, label: &str) -> usize {
    let labels = page_labels(r, doc);
    labels
        .iter()
        .position(|x| x == label || x.starts_with(&format!("Page {label} of")))
        .unwrap_or_else(|| panic!("label {label} not found"))
}

#[test]
fn foreign_rotation_dedup_and_court_numbering() {
    let school = load("att-school-report.pdf");
    let ppn = load("att-ppn.pdf");
    let mut rotated = (*school).clone();
    let pid = first_page(&school);
    rotated.get_dictionary_mut(pid).unwrap().set("Rotate", 90);
    let rotated = Arc::new(rotated);
    let fp = |d: &Arc<lopdf::Document>, a: Option<&str>| ForeignPage {
        page: first_page(d),
        doc: d.clone(),
        anchor: a.map(|s| s.to_string()),
        outline: a.map(|s| s.to_string()),
        overlays: vec![],
        ink: Default::default(),
    };
    let doc = Doc {
        parts: vec![
            Part {
                label: LabelStyle::Court { letter: 'C' },
                outline: Some("One".into()),
                content: PartContent::Flow(vec![Block::Para { runs: vec![t("first")] }]),
            },
            Part {
                label: LabelStyle::Court { letter: 'C' },
                outline: None,
                content: PartContent::Foreign(vec![fp(&rotated, Some("rot")), fp(&ppn, Some("p1")), fp(&ppn, None)]),
            },
        ],
        ..sample_doc()
    };
    let r = render(&doc).unwrap();
    assert_eq!(r.pages, 4);
    let labels: Vec<&str> = r.anchors.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(labels, ["C2", "C3"], "court numbering continues across parts with the same letter");
    let path = out_dir().join("foreign.pdf");
    std::fs::write(&path, &r.bytes).unwrap();
    let p = path.to_str().unwrap();
    let check = tool("qpdf", &["--check", p]);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    let out = lopdf::Document::load_mem(&r.bytes).unwrap();
    let pages: Vec<_> = out.get_pages().values().copied().collect();
    let mb = |i: usize| -> Vec<f32> {
        out.get_dictionary(pages[i])
            .unwrap()
            .get(b"MediaBox")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_float().unwrap())
            .collect()
    };
    assert_eq!(mb(1), vec![0.0, 0.0, 792.0, 612.0], "rotated page presented upright (landscape)");
    assert!(out.get_dictionary(pages[1]).unwrap().get(b"Rotate").is_err());
    // the same source page twice shares one Form XObject
    let forms = out
        .objects
        .values()
        .filter(|o| {
            o.as_stream()
                .map(|s| s.dict.get(b"Subtype").and_then(|n| n.as_name()).ok() == Some(b"Form".as_slice()))
                .unwrap_or(false)
        })
        .count();
    assert_eq!(forms, 2);
    let text = tool_ok("pdftotext", &["-enc", "UTF-8", p, "-"]);
    for l in ["C1", "C2", "C3", "C4"] {
        assert!(text.contains(l), "footer {l} missing");
    }
    let prev = preview_dir();
    tool_ok(
        "pdftoppm",
        &[
            "-r",
            "40",
            "-png",
            "-singlefile",
            "-f",
            "2",
            "-l",
            "2",
            p,
            prev.join("page-foreign-rotated").to_str().unwrap(),
        ],
    );
}

#[test]
fn large_flow_gives_the_same_bytes_on_any_number_of_threads() {
    // Pages are drawn in parallel batches and written in order: more pages than one batch, on one
    // thread and on four, must give the same bytes (speed is measured in benches/engine.rs).
    let mut blocks = Vec::new();
    for i in 0..1500 {
        blocks.push(Block::Heading {
            level: 2,
            text: vec![t(&format!("Record {i}"))],
            anchor: Some(format!("r{i}")),
            outline: Some(format!("Record {i}")),
        });
        blocks.push(Block::Para { runs: record_text(i) });
    }
    let doc = Doc {
        parts: vec![Part {
            label: LabelStyle::Arabic,
            outline: Some("All".into()),
            content: PartContent::Flow(blocks),
        }],
        ..sample_doc()
    };
    let on =
        |n: usize| rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap().install(|| render(&doc).unwrap());
    let (one, four) = (on(1), on(4));
    assert!(one.pages > 200, "{} pages", one.pages);
    assert_eq!(one.pages, four.pages);
    assert!(one.bytes == four.bytes, "the bytes depend on the number of threads");
}

/// A synthetic source: inherited resources on the page-tree node, two
/// content streams, a CropBox offset, annotations and metadata to drop.
#[test]
fn foreign_inheritance_multi_stream_and_stripping() {
    use lopdf::{dictionary, Object, Stream};
    let mut src = lopdf::Document::with_version("1.5");
    let pages_id = src.new_object_id();
    let meta = src.add_object(Stream::new(
        dictionary! { "Type" => "Metadata", "Subtype" => "XML" },
        b"<x>SECRET-XMP-AUTHOR</x>".to_vec(),
    ));
    let font = src.add_object(
        dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Metadata" => meta },
    );
    let c1 = src.add_object(Stream::new(dictionary! {}, b"BT /F1 12 Tf 72 700 Td".to_vec()));
    let c2 = src.add_object(Stream::new(dictionary! {}, b"(Inherited resources work) Tj ET".to_vec()));
    let annot = src.add_object(dictionary! { "Type" => "Annot", "Subtype" => "Text", "Contents" => Object::string_literal("SECRET-NOTE"), "Rect" => vec![0.into(), 0.into(), 10.into(), 10.into()] });
    let page = src.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id,
        "Contents" => vec![c1.into(), c2.into()],
        "CropBox" => vec![50.into(), 50.into(), 400.into(), 750.into()],
        "Annots" => vec![annot.into()],
        "Metadata" => meta,
    });
    src.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
            "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
        }),
    );
    let cat = src.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    src.trailer.set("Root", cat);
    let src = Arc::new(src);

    let doc = Doc {
        parts: vec![Part {
            label: LabelStyle::Arabic,
            outline: None,
            content: PartContent::Foreign(vec![ForeignPage {
                doc: src.clone(),
                page,
                anchor: None,
                outline: None,
                overlays: vec![],
                ink: Default::default(),
            }]),
        }],
        ..sample_doc()
    };
    let r = render(&doc).unwrap();
    let path = out_dir().join("synthetic.pdf");
    std::fs::write(&path, &r.bytes).unwrap();
    let p = path.to_str().unwrap();
    let check = tool("qpdf", &["--check", p]);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    let text = tool_ok("pdftotext", &[p, "-"]);
    assert!(text.contains("Inherited resources work"), "{text}");
    assert!(text.contains("Page 1 of 1"), "{text}");
    let out = lopdf::Document::load_mem(&r.bytes).unwrap();
    let pid = *out.get_pages().get(&1).unwrap();
    let mb: Vec<f32> = out
        .get_dictionary(pid)
        .unwrap()
        .get(b"MediaBox")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_float().unwrap())
        .collect();
    assert_eq!(mb, vec![0.0, 0.0, 350.0, 700.0]);
    let qdf = out_dir().join("synthetic-qdf.pdf");
    tool_ok("qpdf", &["--qdf", "--object-streams=disable", p, qdf.to_str().unwrap()]);
    let raw = std::fs::read(&qdf).unwrap();
    for s in ["SECRET-XMP-AUTHOR", "SECRET-NOTE", "/Annots"] {
        assert!(!contains(&raw, s.as_bytes()), "{s} copied into the output");
    }
    // The one /Metadata is the bundle's own XMP (PDF/A), in the catalog; the page's is dropped.
    // (references `/Metadata N 0 R`; the stream's own `/Type /Metadata` is not one)
    let n = regex::bytes::Regex::new(r"/Metadata\s+\d+\s+\d+\s+R").unwrap().find_iter(&raw).count();
    assert_eq!(n, 1, "/Metadata copied into the output");
    assert!(contains(&raw, b"<pdfaid:part>2</pdfaid:part>"));
}

/// A mark's box too small for its code gets a numbered tag where the page draws nothing: not over
/// the words after the box (the child's story), nor over the line above or below, nor over
/// another box; with nowhere free there is no tag, and the note at the foot counts the box.
#[test]
fn tags_beside_small_boxes_hide_no_words() {
    use foreign::Geometry;
    use layout::Item;
    let font = font::Font::get().unwrap();
    let geo = Geometry {
        width: 595.0,
        height: 842.0,
        bbox: [0.0, 0.0, 595.0, 842.0],
        matrix: [1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
    };
    let words = std::collections::HashMap::from([("TP".to_string(), "this is about another person".to_string())]);
    let rects = |o: &[foreign::Overlay]| -> Vec<[f32; 4]> {
        o.iter()
            .flat_map(|o| &o.items)
            .filter_map(|it| match it {
                Item::Rect { x, y, w, h, .. } => Some([*x, *y, x + w, y + h]),
                _ => None,
            })
            .collect()
    };
    let hit = |a: &[f32; 4], b: &[f64; 4]| {
        (a[0] as f64) < b[2] && b[0] < a[2] as f64 && (a[1] as f64) < b[3] && b[1] < a[3] as f64
    };
    // A 4 pt high box inside a paragraph: kept words on its line both sides, lines above and below.
    let mark: [f64; 4] = [200.0, 500.0, 300.0, 504.0];
    let text = vec![
        [100.0, 498.0, 199.0, 508.0],
        [301.0, 498.0, 500.0, 508.0],
        [100.0, 509.0, 500.0, 519.0],
        [100.0, 487.0, 500.0, 497.0],
    ];
    let ink = crate::pdf::core::PageInk { text: text.clone(), images: vec![] };
    let o = foreign::overlays(font, &geo, 595.0, &[(mark, "TP".into(), None)], &words, &ink);
    let boxes = rects(&o);
    assert!(!boxes.is_empty(), "a tag and a note");
    for b in &boxes {
        assert!(!text.iter().any(|t| hit(b, t)), "{b:?} covers kept words");
    }
    // the tag is on the box's line, in the margin
    let tag = boxes[0];
    assert!(tag[0] > 500.0 && tag[1] < 504.0 && tag[3] > 500.0, "{tag:?}");
    // Words everywhere: no tag, and the note counts the box.
    let full = crate::pdf::core::PageInk {
        text: (0..84).map(|k| [0.0, k as f64 * 10.0, 595.0, k as f64 * 10.0 + 9.0]).collect(),
        images: vec![],
    };
    let o = foreign::overlays(font, &geo, 595.0, &[(mark, "TP".into(), None)], &words, &full);
    assert!(rects(&o).is_empty(), "nothing may be drawn over a full page: {:?}", rects(&o));
}
