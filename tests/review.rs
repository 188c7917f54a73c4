//! The middle of the pipeline as separate values (issue 13): findings, an immutable proposal whose
//! marks have stable ids, and decisions applied to it to give the disclosure.

use crate::util::*;
use disclose::detect::Detector;
use disclose::file::{CaseFile, Location, Part};
use disclose::model::*;
use disclose::policy::{self, Action, MarkId, Policy, Proposal, Reason};
use disclose::redact;
use disclose::review::{self, AddedSpan, Decision, Decisions, Status, Verdict};
use std::collections::HashMap;

fn propose(fam: &Family, subject: &str, requester: &str, pol: &str) -> Proposal {
    let file = CaseFile::build(fam, &PersonId(subject.into())).unwrap();
    let det = Detector::new(fam);
    let inputs = HashMap::new();
    let findings = disclose::detect::find(&file, &det, &inputs);
    let pol = Policy::load(pol).unwrap();
    let requester = policy::Party::Person(PersonId(requester.into()));
    let asked = policy::Asked { requester: &requester, date: "2024-04-19", fit: &policy::Fit::default() };
    policy::propose(&file, &findings, &pol, &asked, &inputs)
}

fn preview(fam: &Family, subject: &str, pol: &str, d: &review::Disclosure) -> String {
    let file = CaseFile::build(fam, &PersonId(subject.into())).unwrap();
    let rf = redact::redact(&file, d, &Policy::load(pol).unwrap(), &HashMap::new(), &[]);
    redact::preview(&rf, d)
}

fn has(text: &str, s: &str) -> bool {
    fold(text).contains(&fold(s))
}

fn decision(v: Verdict, who: &str) -> Decision {
    Decision { verdict: v, reviewer: who.into(), why: Some("checked".into()), at: "2024-04-20T10:00:00Z".into() }
}

#[test]
fn mark_ids_are_stable_across_runs_and_re_imports_and_unique() {
    let fam = family_of(&northbrook());
    let a = propose(&fam, "p-leah", "p-leah", "sar-self");
    let b = propose(&fam, "p-leah", "p-leah", "sar-self");
    let ids = |p: &Proposal| p.marks.iter().map(|m| m.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&a), ids(&b), "the same inputs give the same ids");
    let mut uniq = ids(&a);
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), a.marks.len(), "every mark has its own id");
    // A newer export of the family: one record's body gains a sentence at its start. Marks in the
    // other records keep their ids; so do the marks of that record whose text is unchanged.
    let changed = northbrook_with(|v| {
        let body = record_mut(v, "rec-001")["sections"][0]["body"].as_str().unwrap().to_string();
        record_mut(v, "rec-001")["sections"][0]["body"] = serde_json::json!(format!("A new first line. {body}"));
    });
    let c = propose(&changed, "p-leah", "p-leah", "sar-self");
    let in_c: std::collections::HashSet<&MarkId> = c.marks.iter().map(|m| &m.id).collect();
    let kept = a.marks.iter().filter(|m| in_c.contains(&m.id)).count();
    assert_eq!(kept, a.marks.len(), "a mark's id does not depend on its offset, only on what it marks");
    // Ids carry no words.
    assert!(a.marks.iter().all(|m| m.id.as_str().starts_with("m-") && m.id.as_str().len() == 18));
}

#[test]
fn decisions_reject_release_withhold_add_and_by_person_give_the_disclosure() {
    let fam = family_of(&northbrook());
    let p = propose(&fam, "p-leah", "p-leah", "sar-self");
    let none = review::apply(&p, &Decisions::default(), Status::Draft);
    let before = preview(&fam, "p-leah", "sar-self", &none);
    // The referrer's mark in rec-001: rejecting it keeps the words.
    let referrer = p
        .marks
        .iter()
        .find(|m| {
            m.rule.as_ref() == "R5.referrer"
                && m.span.is_some()
                && m.location.record_id().is_some_and(|r| r.as_str() == "rec-001")
        })
        .expect("a referrer mark");
    // A held item: released, it is shown with the ordinary marks applied inside it.
    let held = p.held().next().expect("a held item");
    let mut d = Decisions::default();
    d.marks.insert(referrer.id.clone(), decision(Verdict::Reject, "officer a"));
    d.marks.insert(held.id.clone(), decision(Verdict::Release, "officer a"));
    let out = review::apply(&p, &d, Status::Draft);
    let m = out.marks.iter().find(|m| m.id == referrer.id).unwrap();
    assert_eq!(m.action, Action::Disclose);
    assert_eq!(m.decided_by.as_deref(), Some("officer a"));
    assert!(!out.review.iter().any(|r| r.mark == held.id), "a released item is no longer held");
    let after = preview(&fam, "p-leah", "sar-self", &out);
    assert!(!has(&before, "Gwen") && has(&after, "Gwen"), "rejected: the referrer's name stays in");
    // Withhold with a code: a kept span becomes a redaction with the reviewer's code.
    let kept = p.marks.iter().find(|m| m.action == Action::Disclose && m.span.is_some()).unwrap();
    let mut d = Decisions::default();
    d.marks.insert(kept.id.clone(), decision(Verdict::Withhold { code: Reason::TP }, "officer b"));
    let out = review::apply(&p, &d, Status::Draft);
    let m = out.marks.iter().find(|m| m.id == kept.id).unwrap();
    assert_eq!((m.action, m.reason), (Action::Redact, Some(Reason::TP)));
    // By person: keep every mention of the referrer.
    let mut d = Decisions::default();
    d.persons.insert(PersonId("p-gwen".into()), decision(Verdict::Reject, "officer c"));
    let out = review::apply(&p, &d, Status::Draft);
    let gwen: Vec<_> = out.marks.iter().filter(|m| m.person.as_ref().is_some_and(|x| x.as_str() == "p-gwen")).collect();
    assert!(gwen.len() >= 2 && gwen.iter().all(|m| m.action == Action::Disclose), "one decision covers them all");
    assert!(gwen.iter().all(|m| m.decided_by.as_deref() == Some("officer c")), "each stays listed with who decided");
    // An added mark: every occurrence in the record is taken out.
    let loc = Location::record(&RecordId("rec-014".into()), Part::Body { section: SectionId("s1".into()) });
    let body = fam.body(&RecordId("rec-014".into()), &SectionId("s1".into())).to_string();
    let word =
        body.split_whitespace().find(|w| w.len() > 5 && w.chars().all(|c| c.is_alphabetic())).unwrap().to_string();
    let at: Vec<_> = body
        .match_indices(&word)
        .map(|(i, _)| (loc.clone(), AddedSpan::Text { span: disclose::detect::Span::new(i, i + word.len()) }))
        .collect();
    let mut d = Decisions::default();
    d.added.push(review::Added {
        id: "a-1".into(),
        code: Reason::TP,
        reviewer: "officer d".into(),
        why: "missed".into(),
        at,
    });
    let out = review::apply(&p, &d, Status::Draft);
    let body_of = |d: &review::Disclosure| -> String {
        let file = CaseFile::build(&fam, &PersonId("p-leah".into())).unwrap();
        let rf = redact::redact(&file, d, &Policy::load("sar-self").unwrap(), &HashMap::new(), &[]);
        rf.entries
            .iter()
            .find_map(|e| match e {
                redact::REntry::Record(r) if r.id.as_str() == "rec-014" => Some(r.sections[0].body.preview()),
                _ => None,
            })
            .unwrap()
    };
    assert!(body_of(&none).contains(&word));
    let after = body_of(&out);
    assert!(!after.contains(&word), "the added word is taken out: {after}");
    assert_eq!(after.matches("[TP]").count(), body.matches(&word).count(), "every occurrence, each with its code");
    // Orphans: a decision on a mark the proposal no longer has.
    let mut d = Decisions::default();
    d.marks.insert(MarkId("m-0000000000000000".into()), decision(Verdict::Accept, "officer e"));
    assert_eq!(d.orphans(&p).len(), 1);
}

#[test]
fn the_narrative_share_follows_the_decisions() {
    let fam = family_of(&northbrook());
    let p = propose(&fam, "p-leah", "p-leah", "sar-self");
    let base = review::apply(&p, &Decisions::default(), Status::Draft);
    let mut d = Decisions::default();
    for m in p.marks.iter().filter(|m| m.action.removes() && m.narrative) {
        d.marks.insert(m.id.clone(), decision(Verdict::Reject, "officer"));
    }
    let kept = review::apply(&p, &d, Status::Draft);
    assert!(base.narrative_removed_percent > 0.0);
    assert_eq!(kept.narrative_removed_percent, 0.0, "nothing of the narrative is removed when every mark is rejected");
}
