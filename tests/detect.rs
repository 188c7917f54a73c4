//! Detection classes of issues 11 and 12, end to end through the decisions and the redacted text:
//! confidential places standing alone, a surname shared by people the rules treat differently,
//! spellings of one name (HTML references, Unicode forms), words broken across lines, invisible
//! characters, and what `show` prints.

use crate::util::*;
use disclose::detect::Detector;
use disclose::file::CaseFile;
use disclose::file::{AttachmentInput, PageInput, Part};
use disclose::model::*;
use disclose::policy::{self, Action, Policy};
use disclose::redact;
use disclose::review::{self, Disclosure};
use serde_json::{json, Value};
use std::collections::HashMap;

fn has(pv: &str, s: &str) -> bool {
    fold(pv).contains(&fold(s))
}

/// A fixture family with a change applied, validated, as a family (its own attachments beside it).
fn family_with(name: &str, f: impl FnOnce(&mut Value)) -> Family {
    let src = family_path(name);
    let mut v = read_json(&src);
    f(&mut v);
    let dir = tempfile::tempdir().unwrap();
    let att = dir.path().join("attachments");
    std::fs::create_dir_all(&att).unwrap();
    for e in std::fs::read_dir(src.parent().unwrap().join("attachments")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), att.join(e.file_name())).unwrap();
    }
    let p = dir.path().join("export.json");
    std::fs::write(&p, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    family_of(&p)
}

/// A shared section added to record `rec`.
fn add_section(v: &mut Value, rec: &str, id: &str, heading: &str, body: &str) {
    record_mut(v, rec)["sections"].as_array_mut().unwrap().push(json!({
        "id": id, "scope": "shared", "heading": heading, "body": body
    }));
}

/// Decide and redact with the given attachment pages read, returning the plan and the preview.
fn disclose_with_pages(
    fam: &Family,
    subject: &str,
    requester: &str,
    policy_name: &str,
    pages: &[(&str, &[&str])],
) -> (Disclosure, String) {
    let file = CaseFile::build(fam, &PersonId(subject.into())).unwrap();
    let det = Detector::new(fam);
    let pol = Policy::load(policy_name).unwrap();
    let inputs: HashMap<AttachmentId, AttachmentInput> = pages
        .iter()
        .map(|(a, texts)| {
            let pages = texts.iter().map(|t| PageInput { text: t.to_string(), hold: None, ocr: false }).collect();
            (AttachmentId(a.to_string()), AttachmentInput::Pages(pages))
        })
        .collect();
    let findings = disclose::detect::find(&file, &det, &inputs);
    let requester = policy::Party::Person(PersonId(requester.into()));
    let asked = policy::Asked { requester: &requester, date: "2024-04-19", fit: &policy::Fit::default() };
    let proposal = policy::propose(&file, &findings, &pol, &asked, &inputs);
    let plan = review::apply(&proposal, &review::Decisions::default(), review::Status::Draft);
    let rf = redact::redact(&file, &plan, &pol, &inputs, &[]);
    let pv = redact::preview(&rf, &plan);
    (plan, pv)
}

/// The text an attachment page's redactions leave (removed spans cut out, in order).
fn page_left(plan: &Disclosure, att: &str, page: usize, text: &str) -> String {
    let mut spans: Vec<(usize, usize)> = plan
        .marks
        .iter()
        .filter(|d| {
            d.action == Action::Redact
                && d.location.attachment_id().is_some_and(|a| a.as_str() == att)
                && *d.location.part() == Part::AttachmentPage { page }
        })
        .filter_map(|d| d.span.map(|s| (s.start(), s.end())))
        .collect();
    spans.sort();
    let mut out = String::new();
    let mut at = 0;
    for (s, e) in spans {
        if s >= at {
            out.push_str(&text[at..s]);
            out.push_str("[X]");
            at = e;
        }
    }
    out.push_str(&text[at..]);
    out
}

// ---- Issue 11 class 1: confidential places named on their own ----

#[test]
fn a_confidential_addresss_town_street_and_house_are_redacted_wherever_they_stand() {
    // Ashgrove: Chloe's foster placement (The Old Forge, 3 Millbeck Lane, Thornwick) is
    // confidential; the council sits in Ashgrove.
    let fam = family_with("ashgrove", |v| {
        add_section(
            v,
            "rec-009",
            "s-places",
            "Thornwick",
            "Chloe is placed separately in Thornwick. Millbeck Lane in Thornwick is quiet. \
             Old Forge has a garden. They walked near Thornwick on Sunday.\n\nThornwick\n\n\
             Chloe goes to the youth club in Ashgrove.",
        );
    });
    for (req, pol) in [("p-dean", "sar-parent"), ("p-kerry", "court"), ("p-chloe", "sar-self")] {
        let (plan, pv) = disclose_with_pages(&fam, "p-chloe", req, pol, &[]);
        for s in ["Thornwick", "Millbeck", "Old Forge"] {
            assert!(!has(&pv, s), "{pol} leaks {s}:\n{pv}");
        }
        assert!(has(&pv, "is placed separately in [CONF: a place withheld]"), "{pol}: {pv}");
        assert!(has(&pv, "youth club in Ashgrove"), "{pol}: the council's own town stays");
        let heading = plan.marks.iter().find(|d| {
            matches!(d.location.part(), Part::Heading { section } if section.as_str() == "s-places")
                && d.action == Action::Redact
        });
        assert!(heading.is_some_and(|d| &*d.rule == "R4.confidential"), "{pol}: the heading is redacted");
    }
}

#[test]
fn a_confidential_town_on_an_attachment_page_is_redacted() {
    let fam = family_of(&family_path("ashgrove"));
    let page = "PEP review. Chloe now attends clubs near Thornwick.\nTHORNWICK\nReviewed in school.";
    let (plan, _) = disclose_with_pages(&fam, "p-chloe", "p-dean", "sar-parent", &[("att-pep-chloe", &[page])]);
    let left = page_left(&plan, "att-pep-chloe", 0, page);
    assert!(!left.to_lowercase().contains("thornwick"), "{left}");
    assert!(left.contains("PEP review. Chloe now attends clubs near [X]"), "{left}");
}

#[test]
fn an_ordinary_town_alone_is_kept_and_a_refuges_name_goes_at_a_sentence_start() {
    // Northbrook: the refuge is in Northbrook, the council's own town; Nanna lives in Ashby Vale.
    let fam = northbrook_with(|v| {
        record_mut(v, "rec-012")["sections"][0]["body"] = json!(
            "Harbour House staff said the family are settled. Leah walked round Northbrook. \
             She would like to visit Nanna in Ashby Vale."
        );
    });
    let (_, pv) = disclose_with_pages(&fam, "p-leah", "p-leah", "sar-self", &[]);
    assert!(!has(&pv, "Harbour House"), "{pv}");
    assert!(has(&pv, "walked round Northbrook"), "the council's town stays: {pv}");
    assert!(has(&pv, "visit Nanna in Ashby Vale"), "an ordinary town alone stays: {pv}");
}

#[test]
fn a_town_shared_by_a_confidential_address_and_an_ordinary_one_is_redacted_alone_too() {
    // The refuge moved to Ashby Vale, where Nanna also lives: the town alone may be the refuge's.
    let fam = northbrook_with(|v| {
        let a = v["addresses"].as_array_mut().unwrap().iter_mut().find(|a| a["id"] == "addr-refuge").unwrap();
        a["town"] = json!("Ashby Vale");
        record_mut(v, "rec-012")["sections"][0]["body"] =
            json!("They stayed in Ashby Vale. Leah walked round Northbrook.");
    });
    let (_, pv) = disclose_with_pages(&fam, "p-leah", "p-leah", "sar-self", &[]);
    assert!(!has(&pv, "Ashby Vale"), "{pv}");
    assert!(has(&pv, "They stayed in [CONF: a place withheld]"), "{pv}");
    assert!(has(&pv, "walked round Northbrook"), "{pv}");
}
