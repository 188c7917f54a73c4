//! The bundle, checked with independent tools: qpdf, poppler (pdftotext, pdffonts), leakscan.

use crate::util::*;
use std::path::{Path, PathBuf};

struct Out {
    _dir: tempfile::TempDir,
    out: PathBuf,
}

fn export(family: &Path, subject: &str, requester: &str, policy: &str) -> Out {
    export_with(family, subject, requester, policy, None)
}

fn export_with(family: &Path, subject: &str, requester: &str, policy: &str, override_reason: Option<&str>) -> Out {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.db");
    let o = run(&["import", family.to_str().unwrap(), "--db", db.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.path().join("out");
    let mut args = vec![
        "export",
        "--db",
        db.to_str().unwrap(),
        "--subject",
        subject,
        "--requester",
        requester,
        "--policy",
        policy,
        "--out",
        out.to_str().unwrap(),
    ];
    if let Some(r) = override_reason {
        args.extend(["--override-reason", r]);
    }
    let o = run(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    Out { _dir: dir, out }
}

fn pdftotext(p: &Path) -> String {
    let o = tool("pdftotext", &["-q", p.to_str().unwrap(), "-"]);
    assert!(o.status.success());
    String::from_utf8_lossy(&o.stdout).to_string()
}

fn policy_for(cap: &str) -> &'static str {
    match cap {
        "self" => "sar-self",
        "parent_with_pr" => "sar-parent",
        _ => "court",
    }
}

/// Every scenario of every fixture family: the bundle passes qpdf, embeds its fonts, numbers
/// every page, and pdftotext plus leakscan find no forbidden words and every required one.
#[test]
fn scenario_bundles_pass_independent_checks() {
    for fam in all_families() {
        let v = read_json(&fam);
        for sc in v["test_scenarios"].as_array().unwrap() {
            let id = sc["id"].as_str().unwrap();
            let o = export_with(
                &fam,
                sc["data_subject"].as_str().unwrap(),
                sc["requester"].as_str().unwrap(),
                policy_for(sc["requester_capacity"].as_str().unwrap()),
                sc["override_reason"].as_str(),
            );
            let pdf = o.out.join("bundle.pdf");
            let q = tool("qpdf", &["--check", pdf.to_str().unwrap()]);
            assert!(q.status.success(), "{id}: qpdf --check failed: {}", stdout(&q));
            let f = tool("pdffonts", &[pdf.to_str().unwrap()]);
            let fonts = stdout(&f);
            for line in fonts.lines().skip(2) {
                let cols: Vec<&str> = line.split_whitespace().collect();
                let n = cols.len();
                // PDF/A-2b: our pages embed their font, attachments' standard fonts are replaced
                // by embedded Liberation fonts, and the searchable layer of read scans embeds its
                // own: every font is embedded.
                assert!(n >= 5 && cols[n - 5] == "yes", "{id}: font not embedded: {line}");
            }
            let text = pdftotext(&pdf);
            let pages: Vec<&str> = text.split('\u{c}').filter(|p| !p.trim().is_empty()).collect();
            let court = sc["requester_capacity"] == "court";
            for (i, p) in pages.iter().enumerate() {
                if !court {
                    assert!(
                        p.contains(&format!("Page {} of {}", i + 1, pages.len())),
                        "{id}: page {} has no number",
                        i + 1
                    );
                }
            }
            let t = fold(&text);
            for f in sc["forbid"].as_array().unwrap() {
                assert!(!t.contains(&fold(f.as_str().unwrap())), "{id}: leaked {f}");
            }
            for r in sc["require"].as_array().unwrap() {
                let r = r.as_str().unwrap();
                // Words that live only in attachments are checked when attachments are read.
                if t.contains(&fold(r)) {
                    continue;
                }
                let preview = std::fs::read_to_string(o.out.join("preview.txt")).unwrap();
                assert!(!fold(&preview).contains(&fold(r)), "{id}: {r} is in the preview but missing from the bundle");
            }
            leakscan(&pdf, &sc["forbid"], id);
        }
    }
}

/// The Northbrook bundles (our pages and five producers' attachments, the GP letter's scan read
/// by OCR and released to its subject): every font embedded, the attachments' standard fonts as
/// Liberation and the read scan's invisible searchable layer as a Liberation Sans subset.
#[test]
fn every_font_of_the_northbrook_bundles_is_embedded() {
    for (s, r, p) in [("p-leah", "p-leah", "sar-self"), ("p-maisie", "p-danielle", "sar-parent")] {
        let o = export(&northbrook(), s, r, p);
        let f = tool("pdffonts", &[o.out.join("bundle.pdf").to_str().unwrap()]);
        let fonts = stdout(&f);
        assert!(fonts.lines().count() > 2, "no fonts listed");
        for line in fonts.lines().skip(2) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            assert!(cols.len() >= 5 && cols[cols.len() - 5] == "yes", "{p}: not embedded: {line}");
        }
    }
}

fn leakscan(pdf: &Path, forbid: &serde_json::Value, id: &str) {
    let dir = pdf.parent().unwrap();
    let terms = dir.join("forbid.txt");
    let list: Vec<&str> = forbid.as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
    std::fs::write(&terms, list.join("\n") + "\n").unwrap();
    let script = root().join("fixtures/tools/leakscan.py");
    need("python3");
    need("mutool");
    let o = std::process::Command::new("python3").arg(&script).arg(pdf).arg("--forbid").arg(&terms).output().unwrap();
    assert!(o.status.code() == Some(0), "{id}: leakscan: {}{}", stdout(&o), stderr(&o));
}

#[test]
fn two_runs_give_identical_bytes() {
    let a = export(&northbrook(), "p-leah", "p-leah", "sar-self");
    let b = export(&northbrook(), "p-leah", "p-leah", "sar-self");
    for f in ["bundle.pdf", "plan.json", "preview.txt", "schedule.csv"] {
        assert_eq!(std::fs::read(a.out.join(f)).unwrap(), std::fs::read(b.out.join(f)).unwrap(), "{f} differs");
    }
}

#[test]
fn outline_and_index_links_cover_every_record() {
    let o = export(&northbrook(), "p-leah", "p-leah", "sar-self");
    let doc = lopdf::Document::load(o.out.join("bundle.pdf")).unwrap();
    let titles = outline_titles(&doc);
    let fam = family_of(&northbrook());
    let file = disclose::file::CaseFile::build(&fam, &disclose::model::PersonId("p-leah".into())).unwrap();
    for r in file.records() {
        let date = fam.record(&r.id).unwrap().occurred.start.0[..10].to_string();
        let d = disclose::model::Date::parse(&date).unwrap().uk();
        assert!(titles.iter().any(|t| t.starts_with(&d)), "no bookmark for {} ({d}) in {titles:?}", r.id);
    }
    // One link annotation per index entry, each to a page of the document.
    let mut links = 0;
    for (_, page) in doc.get_pages() {
        for a in doc.get_page_annotations(page).unwrap_or_default() {
            if a.get(b"Subtype").ok().and_then(|s| s.as_name().ok()) == Some(b"Link") {
                links += 1;
            }
        }
    }
    let entries = file.records().count() + file.attachments().len();
    assert_eq!(links, entries, "index links");
    // Nothing the body withholds appears in a bookmark.
    for t in &titles {
        for s in ["Aldous", "Larkspur", "Harbour"] {
            assert!(!t.contains(s));
        }
    }
}

fn outline_titles(doc: &lopdf::Document) -> Vec<String> {
    let mut out = Vec::new();
    let cat = doc.catalog().unwrap();
    let Ok(root) = cat.get(b"Outlines").and_then(|o| o.as_reference()) else { return out };
    let mut stack = vec![doc.get_dictionary(root).unwrap().get(b"First").and_then(|f| f.as_reference()).ok()];
    while let Some(next) = stack.pop() {
        let Some(id) = next else { continue };
        let d = doc.get_dictionary(id).unwrap();
        if let Ok(t) = d.get(b"Title") {
            out.push(lopdf::decode_text_string(t).unwrap_or_default());
        }
        // Depth first, in document order: children before the next sibling.
        stack.push(d.get(b"Next").and_then(|f| f.as_reference()).ok());
        stack.push(d.get(b"First").and_then(|f| f.as_reference()).ok());
    }
    out
}

/// The page-by-page text and the outline of the Northbrook bundle, against a checked-in dump.
/// Set UPDATE_GOLDEN=1 to rewrite it after an intended change.
#[test]
fn golden_text_dump_of_the_northbrook_bundle() {
    let o = export(&northbrook(), "p-leah", "p-leah", "sar-self");
    let pdf = o.out.join("bundle.pdf");
    let text = pdftotext(&pdf);
    let doc = lopdf::Document::load(&pdf).unwrap();
    let mut dump = String::new();
    for (i, p) in text.split('\u{c}').enumerate().filter(|(_, p)| !p.trim().is_empty()) {
        dump.push_str(&format!("=== page {} ===\n{}\n", i + 1, p.trim_end()));
    }
    dump.push_str("=== outline ===\n");
    for t in outline_titles(&doc) {
        dump.push_str(&t);
        dump.push('\n');
    }
    let golden = root().join("fixtures/golden/northbrook-leah-sar-self.txt");
    if std::env::var("UPDATE_GOLDEN").is_ok() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::write(&golden, &dump).unwrap();
    }
    let want = std::fs::read_to_string(&golden).expect("golden dump exists (run with UPDATE_GOLDEN=1 once)");
    if dump != want {
        let (i, (a, b)) =
            dump.lines().zip(want.lines()).enumerate().find(|(_, (a, b))| a != b).unwrap_or((0, ("", "")));
        panic!("the bundle's text or outline changed at line {}: got {a:?}, golden {b:?}; inspect and run with UPDATE_GOLDEN=1 if intended", i + 1);
    }
}

#[test]
fn court_bundles_use_pd27a_numbering() {
    let o = export(&northbrook(), "p-leah", "p-danielle", "court");
    let text = pdftotext(&o.out.join("bundle.pdf"));
    assert!(text.contains("A1"));
    assert!(text.contains("F1") || text.contains("C1") || text.contains("D1"));
    assert!(text.contains("Court bundle"));
    assert!(!text.contains("Page 1 of"));
}

#[test]
fn the_schedule_names_pages_and_never_the_removed_text() {
    let o = export(&northbrook(), "p-leah", "p-leah", "sar-self");
    let csv = std::fs::read_to_string(o.out.join("schedule.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    assert!(rows.len() > 10);
    assert!(rows.iter().all(|r| r.split(',').nth(1).is_some_and(|p| !p.is_empty())), "every row has a page");
    for s in ["Aldous", "Larkspur", "sertraline"] {
        assert!(!csv.contains(s));
    }
}

/// What a person sees: leakscan with --ocr reads the rendered pages (Tesseract), scanned and
/// redacted attachment pages included, and finds nothing forbidden; the kept text of the
/// attachments is still in the text layer.
#[test]
fn ocr_of_the_rendered_pages_finds_nothing_forbidden() {
    need("tesseract");
    need("pdftoppm");
    let fam = northbrook();
    let v = read_json(&fam);
    let sc = v["test_scenarios"].as_array().unwrap().iter().find(|s| s["id"] == "sar-leah-own").unwrap();
    let o = export(&fam, "p-leah", "p-leah", "sar-self");
    let pdf = o.out.join("bundle.pdf");
    let terms = o.out.join("forbid.txt");
    let list: Vec<&str> = sc["forbid"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
    std::fs::write(&terms, list.join("\n") + "\n").unwrap();
    let script = root().join("fixtures/tools/leakscan.py");
    let r = std::process::Command::new("python3")
        .arg(&script)
        .arg(&pdf)
        .arg("--forbid")
        .arg(&terms)
        .arg("--ocr")
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(0), "leakscan --ocr: {}{}", stdout(&r), stderr(&r));
    // Kept words of the redacted attachments (police notification, letter) are still there.
    let text = fold(&pdftotext(&pdf));
    for kept in
        ["the children were seen by officers", "supervised family time with tyler and maisie", "dc 4417 mark rowe"]
    {
        assert!(text.contains(kept), "lost attachment text: {kept}");
    }
}

/// FPR PD27A: a court bundle over 350 pages needs the court's permission; the export says so.
#[test]
fn a_court_bundle_over_350_pages_warns() {
    let dir = tempfile::tempdir().unwrap();
    let fam = dir.path().join("fam");
    let o = run(&["synth", "--out", fam.to_str().unwrap(), "--records", "700", "--attachments", "0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let db = dir.path().join("case.db");
    assert!(run(&["import", fam.join("export.json").to_str().unwrap(), "--db", db.to_str().unwrap()]).status.success());
    let out = dir.path().join("out");
    let o = run(&[
        "export",
        "--db",
        db.to_str().unwrap(),
        "--subject",
        "p-0",
        "--requester",
        "p-4",
        "--policy",
        "court",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("more than the 350"), "{}", stderr(&o));
    // A small court bundle does not warn.
    let db2 = dir.path().join("nb.db");
    import_northbrook(&db2);
    let out2 = dir.path().join("nb-out");
    let o = run(&[
        "export",
        "--db",
        db2.to_str().unwrap(),
        "--subject",
        "p-leah",
        "--requester",
        "p-danielle",
        "--policy",
        "court",
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert!(o.status.success() && !stderr(&o).contains("350"), "{}", stderr(&o));
}

/// The 31 sample PDFs of the corpus as attachments of one record: the whole pipeline reads,
/// redacts, verifies and places each, or holds it for review with a reason; none stops the export.
#[test]
fn every_corpus_pdf_goes_through_the_whole_export_or_is_held_with_a_reason() {
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let mut v = read_json(&northbrook());
    let mut files = Vec::new();
    let mut stack = vec![root().join("fixtures/pdf/corpus")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "pdf") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 30, "the corpus is in fixtures/pdf/corpus");
    std::fs::create_dir_all(dir.path().join("attachments")).unwrap();
    let mut atts = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let name = format!("att-c{i:02}.pdf");
        std::fs::copy(f, dir.path().join("attachments").join(&name)).unwrap();
        let sha = disclose::import::hex(&sha2::Sha256::digest(std::fs::read(f).unwrap()));
        atts.push(
            serde_json::json!({"id": format!("att-c{i:02}"), "file": format!("attachments/{name}"), "text_layer": true,
            "title": format!("Document {i}"), "record": "rec-014", "on_files": ["p-leah"], "sha256": sha}),
        );
    }
    for r in v["records"].as_array_mut().unwrap() {
        if r["id"] == "rec-014" {
            r["attachments"] = serde_json::json!(atts.iter().map(|a| a["id"].clone()).collect::<Vec<_>>());
        } else {
            r.as_object_mut().unwrap().remove("attachments");
        }
    }
    v["attachments"] = serde_json::json!(atts);
    let p = dir.path().join("export.json");
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    let db = dir.path().join("case.db");
    let o = run(&["import", p.to_str().unwrap(), "--db", db.to_str().unwrap()]);
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
    assert!(o.status.success(), "exit {:?}: {}", o.status.code(), stderr(&o));
    let q = tool("qpdf", &["--check", out.join("bundle.pdf").to_str().unwrap()]);
    assert!(q.status.success(), "{}", stdout(&q));
    let plan = read_json(&out.join("plan.json"));
    let review = plan["review"].as_array().unwrap();
    // The password-protected file is held as unreadable, the image-only files as scans.
    assert!(review.iter().any(|r| r["rule"] == "R3.unreadable"), "no unreadable file held");
    assert!(review.iter().filter(|r| r["rule"] == "R3.scan").count() >= 4, "scans not held");
    assert!(review.iter().all(|r| !r["why"].as_str().unwrap_or("").is_empty()), "a hold without a reason");
}

/// The schedule names the page where each mark is, not the record's first page: a long record
/// with the referrer named at its start and at its end has its two marks on different pages, and
/// each page the schedule names shows the mark (read back with pdftotext).
#[test]
fn the_schedule_names_the_page_of_each_mark() {
    let mut v = read_json(&northbrook());
    let filler = "Leah talked about school, her friends and the things she enjoys doing at weekends. ".repeat(120);
    let body = format!("Gwen Aldous phoned first. {filler}At the end of the week Gwen Aldous phoned again.");
    record_mut(&mut v, "rec-006")["sections"][0]["body"] = serde_json::json!(body);
    record_mut(&mut v, "rec-006")["sections"][0]["sensitivity"] = serde_json::json!([]);
    record_mut(&mut v, "rec-006")["text_refs"] = serde_json::json!([]);
    let dir = tempfile::tempdir().unwrap();
    let p = write_export(&dir.path().join("src"), &v);
    let o = export(&p, "p-leah", "p-leah", "sar-self");
    let csv = std::fs::read_to_string(o.out.join("schedule.csv")).unwrap();
    let rows: Vec<&str> =
        csv.lines().filter(|l| l.contains("rec-006 section s1") && l.contains("R5.referrer")).collect();
    assert_eq!(rows.len(), 2, "{csv}");
    let page = |row: &str| row.split(',').nth(2).unwrap().parse::<usize>().expect("a single page number");
    let (first, last) = (page(rows[0]), page(rows[1]));
    assert!(last > first, "the second mark is pages later: {first} {last}");
    let pdf = o.out.join("bundle.pdf");
    for p in [first, last] {
        let t = tool("pdftotext", &["-q", "-f", &p.to_string(), "-l", &p.to_string(), pdf.to_str().unwrap(), "-"]);
        assert!(fold(&stdout(&t)).contains("a member of the public"), "page {p} shows the mark");
    }
    // The printed schedule says the same.
    let all = stdout(&tool("pdftotext", &["-q", "-layout", pdf.to_str().unwrap(), "-"]));
    let sched = &all[all.rfind("Schedule of redactions").unwrap()..];
    // Its row (grouped by record, found by the record's title) gives both pages.
    let title = record_mut(&mut v, "rec-006")["title"].as_str().unwrap().to_string();
    let start: String = title.chars().take(20).collect();
    let row = sched.lines().find(|l| l.trim_start().starts_with(&start)).unwrap_or_else(|| panic!("{sched:.3000}"));
    // (columns are apart by two spaces or more: title, pages, codes, share)
    let cols: Vec<&str> = row.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
    let pages: Vec<&str> =
        cols.get(1).unwrap_or(&"").split(|c: char| !c.is_ascii_digit()).filter(|w| !w.is_empty()).collect();
    for p in [first, last] {
        assert!(pages.contains(&p.to_string().as_str()), "page {p} not in the row: {row}");
    }
}
