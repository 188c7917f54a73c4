//! Detection classes of issues 11 and 12, end to end through the decisions and the redacted text:
//! confidential places standing alone, a surname shared by people the rules treat differently,
//! spellings of one name (HTML references, Unicode forms), words broken across lines, invisible
//! characters, and what `show` prints.

use crate::util::*;
use disclose::file::{AttachmentInput, PageInput, Part};
use disclose::model::*;
use disclose::policy::Action;
use disclose::review::Disclosure;
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
    let inputs: HashMap<AttachmentId, AttachmentInput> = pages
        .iter()
        .map(|(a, texts)| {
            let pages = texts.iter().map(|t| PageInput { text: t.to_string(), hold: None }).collect();
            (AttachmentId(a.to_string()), AttachmentInput::Pages(pages))
        })
        .collect();
    disclose_with(fam, subject, requester, policy_name, &inputs)
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
fn a_street_whose_house_number_lost_its_space_is_still_found() {
    // Text read from a PDF can join a house number to its street ("3Millbeck Lane"): a digit
    // next to a letter is a word boundary for names, streets and towns.
    let fam = family_of(&family_path("ashgrove"));
    let page = "Chloe's carers\nThe Old Forge\n3Millbeck Lane\nThornwick2 is not a place.";
    let (plan, _) = disclose_with_pages(&fam, "p-chloe", "p-dean", "sar-parent", &[("att-pep-chloe", &[page])]);
    let left = page_left(&plan, "att-pep-chloe", 0, page);
    assert!(!left.contains("Millbeck"), "{left}");
    assert!(!left.contains("3[X]"), "the house number goes with its street: {left}");
    assert!(!left.contains("Thornwick"), "{left}");
    assert!(left.contains("Chloe's carers"), "{left}");
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

// ---- Issue 11 class 3: a surname shared by people the rules treat differently ----

/// Northbrook with an adult third party who shares a family name with the children (no
/// relationship to anyone: a third party on every file), and a section mentioning the name.
fn northbrook_with_namesake(given: &str, family: &str, body: &str) -> Family {
    northbrook_with(|v| {
        v["persons"].as_array_mut().unwrap().push(json!({
            "id": "p-namesake", "kind": "adult", "sex": "M",
            "names": [{"use": "official", "given": [given], "family": family}]
        }));
        add_section(v, "rec-001", "s-namesake", "Visit", body);
    })
}

#[test]
fn a_title_narrows_a_shared_surname_and_the_ambiguous_mention_is_redacted_and_listed() {
    let fam = northbrook_with_namesake(
        "Keith",
        "Marwick",
        "Mr Marwick shouted in the street. Mrs Marwick was at work. Later Marwick came back.",
    );
    let (plan, pv) = disclose_with_pages(&fam, "p-leah", "p-leah", "sar-self", &[]);
    // "Mr" can only be the man, who is a third party: out.
    assert!(!has(&pv, "Mr Marwick"), "{pv}");
    // "Mrs" can only be Leah's mother, whose name Leah's own file keeps.
    assert!(has(&pv, "Mrs Marwick was at work"), "the title narrows to the mother: {pv}");
    // The bare surname could be Leah, her mother or the man: the most protected, and listed.
    assert!(!has(&pv, "Later Marwick came"), "{pv}");
    let ambiguous: Vec<_> = plan
        .marks
        .iter()
        .filter(|m| m.location.section().is_some_and(|s| s.as_str() == "s-namesake"))
        .filter(|m| m.attention.is_some())
        .collect();
    assert_eq!(ambiguous.len(), 1, "one mention is ambiguous between kept and protected people");
    assert!(ambiguous[0].attention.as_deref().unwrap().contains("p-namesake"));
}

#[test]
fn a_titled_name_starting_inside_another_match_is_still_found() {
    // "Mr Okafor" holds "r okafor" (Ryan's initial and family name), which starts inside "Mr":
    // that failed match must not hide the name after the title.
    let fam = northbrook_with_namesake("Samuel", "Okafor", "Mr Okafor called the school about Maisie.");
    let (_, pv) = disclose_with_pages(&fam, "p-maisie", "p-ryan", "sar-parent", &[]);
    assert!(!has(&pv, "Mr Okafor called"), "{pv}");
    assert!(has(&pv, "called the school about Maisie"), "{pv}");
}
