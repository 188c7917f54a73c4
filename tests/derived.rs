//! Derived text: every string that reaches the bundle (record and attachment titles, the index,
//! bookmarks, placeholders, "written by" and "from" lines) goes through detection and the same
//! decisions as the records' text, also when the element itself is withheld (issue 11, class 2).

use crate::util::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn export_leah(v: &Value, dir: &Path) -> PathBuf {
    let p = write_export(&dir.join("src"), v);
    let db = dir.join("case.db");
    let o = run(&["import", p.to_str().unwrap(), "--db", db.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.join("out");
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
    assert!(o.status.code() == Some(0) || o.status.code() == Some(3), "{}", stderr(&o));
    out
}

fn leakscan(pdf: &Path, forbid: &[&str]) -> (bool, String) {
    let terms = pdf.with_file_name("forbid.txt");
    std::fs::write(&terms, forbid.join("\n") + "\n").unwrap();
    need("mutool");
    let o = std::process::Command::new("python3")
        .arg(root().join("fixtures/tools/leakscan.py"))
        .arg(pdf)
        .arg("--forbid")
        .arg(&terms)
        .output()
        .unwrap();
    assert!(matches!(o.status.code(), Some(0) | Some(1)), "leakscan failed: {}", stderr(&o));
    (o.status.code() == Some(0), stdout(&o))
}

fn attachment_mut<'a>(v: &'a mut Value, id: &str) -> &'a mut Value {
    v["attachments"].as_array_mut().unwrap().iter_mut().find(|a| a["id"] == id).unwrap()
}

/// A held scan and a withheld letter whose titles name a referrer and a confidential place, a
/// document from a refuge, and a record written by a refuge worker whose job title names it:
/// none of those words may be readable anywhere in the bundle (text, bookmarks, objects).
#[test]
fn titles_and_author_lines_of_kept_and_withheld_documents_are_redacted_everywhere() {
    let mut v = read_json(&northbrook());
    // The GP letter is a scan (held for review); its title names the referrer.
    attachment_mut(&mut v, "att-gp-letter")["title"] = json!("Letter from Gwendolyn Aldous about the children");
    // The letter to Ryan is withheld (legal privilege); its title names the refuge.
    let letter = attachment_mut(&mut v, "att-letter-ryan");
    letter["title"] = json!("Advice on the move to Harbour House");
    letter["sensitivity"] = json!([{"flag": "legal_privilege"}]);
    // The police notification is kept, but is said to come from the refuge.
    attachment_mut(&mut v, "att-ppn")["author"] = json!({"organisation": "org-refuge"});
    // A refuge worker writes a record on Leah's file; the job title names the refuge.
    for p in v["professionals"].as_array_mut().unwrap() {
        if p["id"] == "pro-refuge" {
            p["job_title"] = json!("Support Worker at Harbour House Refuge");
        }
    }
    record_mut(&mut v, "rec-014")["recorded"]["by"] = json!("pro-refuge");
    let dir = tempfile::tempdir().unwrap();
    let out = export_leah(&v, dir.path());
    let pdf = out.join("bundle.pdf");
    let (clean, report) = leakscan(&pdf, &["Gwendolyn", "Aldous", "Harbour House"]);
    assert!(clean, "derived text leaked: {report}");
    // The documents are still there, named by their date or with their kept words.
    let text = fold(&stdout(&tool("pdftotext", &["-q", pdf.to_str().unwrap(), "-"])));
    assert!(text.contains("this document is not included"), "the placeholders are shown");
    assert!(text.contains("support worker at"), "the rest of the job title is kept");
    assert!(text.contains("police public protection notification"), "a kept document keeps its title");
    // And the plan says why the author line lost words.
    let plan = std::fs::read_to_string(out.join("plan.json")).unwrap();
    assert!(plan.contains("\"kind\":\"attachment_author\"") && plan.contains("\"kind\":\"author\""), "{plan:.300}");
}
