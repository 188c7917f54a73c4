//! Requests that do not fit their policy are refused before any work: nothing is written, the exit
//! code is non-zero, and the message names the rule and says what to do (issue 11, item 7). The
//! rules are data in the policy files (`[request]`), so a council's copy can tighten them.

use crate::util::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

struct Env {
    dir: tempfile::TempDir,
    db: PathBuf,
    /// Audit entries before the last export.
    before: std::cell::Cell<usize>,
}

/// A store holding Northbrook, changed by `f` first.
fn env_with(f: impl FnOnce(&mut Value)) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let mut v = read_json(&northbrook());
    f(&mut v);
    let src = dir.path().join("src");
    let p = write_export(&src, &v);
    let db = dir.path().join("case.db");
    let o = run(&["import", p.to_str().unwrap(), "--db", db.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    Env { dir, db, before: std::cell::Cell::new(0) }
}

fn env() -> Env {
    env_with(|_| {})
}

impl Env {
    fn export(
        &self,
        subject: &str,
        requester: Option<&str>,
        policy: &str,
        extra: &[&str],
    ) -> (std::process::Output, PathBuf) {
        self.before.set(self.audit_entries());
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let out = self.dir.path().join(format!("out-{n}"));
        let mut args = vec!["export", "--db", self.db.to_str().unwrap(), "--subject", subject, "--policy", policy];
        if let Some(r) = requester {
            args.extend(["--requester", r]);
        }
        args.extend(["--out", out.to_str().unwrap()]);
        args.extend_from_slice(extra);
        (run(&args), out)
    }

    fn audit_entries(&self) -> usize {
        let o = run(&["audit", "--db", self.db.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o).lines().filter(|l| l.contains(" -> ")).count()
    }
}

/// A refusal: non-zero exit, the rule named, advice given, no folder written, nothing audited.
fn assert_refused(e: &Env, o: &std::process::Output, out: &Path, rule: &str, advice: &str) {
    let err = stderr(o);
    assert!(!o.status.success(), "expected a refusal, got success: {}", stdout(o));
    assert!(err.contains("refused") && err.contains(rule), "the message names the rule {rule}: {err}");
    assert!(err.contains(advice), "the message says what to do ({advice}): {err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert!(!out.exists(), "a refused request wrote {}", out.display());
    assert_eq!(e.audit_entries(), e.before.get(), "a refused request is not a release");
}

#[test]
fn sar_self_is_refused_when_the_requester_is_not_the_subject() {
    let e = env();
    // The father asking for Leah's own file under the self-access policy.
    let (o, out) = e.export("p-leah", Some("p-ryan"), "sar-self", &[]);
    assert_refused(&e, &o, &out, "request.requester = \"subject\"", "sar-parent");
    // No personal data in the message: ids only.
    assert!(!stderr(&o).contains("Ryan") && !stderr(&o).contains("Leah"), "{}", stderr(&o));
    // The subject asking is fine, and the requester defaults to the subject under sar-self.
    let (o, out) = e.export("p-leah", None, "sar-self", &[]);
    assert!(o.status.success() && out.join("bundle.pdf").exists(), "{}", stderr(&o));
}

#[test]
fn sar_parent_is_refused_for_a_neighbour_and_a_sibling() {
    let e = env();
    // Gwen is the neighbour who referred; Leah is Maisie's sister. Neither holds parental
    // responsibility for Maisie by any relationship in the store.
    for who in ["p-gwen", "p-leah", "p-pauline"] {
        let (o, out) = e.export("p-maisie", Some(who), "sar-parent", &[]);
        assert_refused(
            &e,
            &o,
            &out,
            "request.requester = \"parental_responsibility\"",
            "parental_responsibility: true",
        );
    }
    // The mother holds parental responsibility and carries no refusing marker.
    let (o, out) = e.export("p-maisie", Some("p-danielle"), "sar-parent", &[]);
    assert!(o.status.success() && out.join("bundle.pdf").exists(), "{}", stderr(&o));
}

#[test]
fn sar_parent_is_refused_when_parental_responsibility_has_ended_or_is_not_recorded() {
    // The mother's relationship to Maisie without parental responsibility, and (second store)
    // with a period that ended before the request.
    for change in [
        Box::new(|r: &mut Value| r["parental_responsibility"] = json!(false)) as Box<dyn Fn(&mut Value)>,
        Box::new(|r: &mut Value| r["period"] = json!({"from": "2020-11-23", "to": "2023-01-31"})),
    ] {
        let e = env_with(|v| {
            for r in v["relationships"].as_array_mut().unwrap() {
                if r["person"] == "p-maisie" && r["related"] == "p-danielle" {
                    change(r);
                }
            }
        });
        let (o, out) = e.export("p-maisie", Some("p-danielle"), "sar-parent", &["--date", "2024-04-19"]);
        assert_refused(&e, &o, &out, "parental_responsibility", "import the export again");
    }
}

#[test]
fn sar_parent_is_refused_for_a_subject_of_18_or_over_on_the_request_date() {
    let e = env();
    // Leah was born 2011-03-02: 17 the day before her 18th birthday, 18 on it.
    let (o, out) = e.export("p-leah", Some("p-danielle"), "sar-parent", &["--date", "2029-03-01"]);
    assert!(o.status.success() && out.join("bundle.pdf").exists(), "17 is under 18: {}", stderr(&o));
    let (o, out) = e.export("p-leah", Some("p-danielle"), "sar-parent", &["--date", "2029-03-02"]);
    assert_refused(&e, &o, &out, "request.subject_under = 18", "sar-self");
}

#[test]
fn sar_parent_by_an_alleged_perpetrator_needs_an_override_reason_which_is_recorded() {
    let e = env();
    let (o, out) = e.export("p-maisie", Some("p-ryan"), "sar-parent", &[]);
    assert_refused(&e, &o, &out, "request.refuse_markers", "--override-reason");
    assert!(stderr(&o).contains("alleged_perpetrator"), "{}", stderr(&o));
    // A blank reason is no reason.
    let (o, out) = e.export("p-maisie", Some("p-ryan"), "sar-parent", &["--override-reason", "  "]);
    assert_refused(&e, &o, &out, "request.refuse_markers", "--override-reason");
    let why = "consulted the team manager; risk weighed";
    let (o, out) = e.export("p-maisie", Some("p-ryan"), "sar-parent", &["--override-reason", why]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plan = read_json(&out.join("plan.json"));
    assert_eq!(plan["request"]["fit"]["override_reason"], why, "{}", plan["request"]);
    assert_eq!(plan["request"]["fit"]["overridden_markers"], json!(["alleged_perpetrator"]));
    let a = run(&["audit", "--db", e.db.to_str().unwrap(), "--verify"]);
    let text = stdout(&a);
    assert!(a.status.success() && text.contains(&format!("overrode alleged_perpetrator: {why}")), "{text}");
}

#[test]
fn a_protection_order_refuses_the_parent_but_an_expired_one_does_not() {
    let flag = |to: Option<&str>| {
        let mut f = json!({"type": "protection_order", "period": {"from": "2023-01-01"}});
        if let Some(t) = to {
            f["period"]["to"] = json!(t);
        }
        f
    };
    for (to, refused) in [(None, true), (Some("2023-12-31"), false)] {
        let e = env_with(|v| {
            let p = v["persons"].as_array_mut().unwrap().iter_mut().find(|p| p["id"] == "p-danielle").unwrap();
            p["flags"].as_array_mut().unwrap().push(flag(to));
        });
        let (o, out) = e.export("p-maisie", Some("p-danielle"), "sar-parent", &["--date", "2024-04-19"]);
        if refused {
            assert_refused(&e, &o, &out, "request.refuse_markers", "--override-reason");
            assert!(stderr(&o).contains("protection_order"), "{}", stderr(&o));
        } else {
            assert!(o.status.success(), "an order that ended before the request does not refuse: {}", stderr(&o));
        }
    }
}

#[test]
fn court_bundles_need_a_named_party_and_may_be_served_on_an_organisation() {
    let e = env();
    let (o, out) = e.export("p-leah", None, "court", &[]);
    assert_refused(&e, &o, &out, "request.requester = \"party\"", "--requester");
    let (o, out) = e.export("p-leah", Some("p-leah"), "court", &[]);
    assert_refused(&e, &o, &out, "request.requester = \"party\"", "--requester");
    let (o, out) = e.export("p-leah", Some("p-nobody"), "court", &[]);
    assert_refused(&e, &o, &out, "request.requester = \"party\"", "--requester");
    // An organisation of the export (here the police force) is a party a bundle can be served on.
    let (o, out) = e.export("p-leah", Some("org-police"), "court", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t = tool("pdftotext", &["-q", "-l", "1", out.join("bundle.pdf").to_str().unwrap(), "-"]);
    let front = fold(&stdout(&t));
    assert!(front.contains("served on"), "{front}");
    // An organisation is not a parent.
    let (o, out) = e.export("p-maisie", Some("org-police"), "sar-parent", &[]);
    assert_refused(&e, &o, &out, "parental_responsibility", "--requester");
}

#[test]
fn a_council_may_tighten_the_rules_in_its_own_policy_file() {
    let e = env();
    // A council's copy of sar-self that is only for subjects aged 12 or over (a presumption of
    // competence), and a copy of sar-parent that refuses a requester with a risk-to-worker flag.
    let own = std::fs::read_to_string(root().join("policies/sar-self.toml"))
        .unwrap()
        .replace("requester = \"subject\"\n", "requester = \"subject\"\nsubject_at_least = 12\n");
    let own_path = e.dir.path().join("sar-self-12.toml");
    std::fs::write(&own_path, own).unwrap();
    let (o, out) = e.export("p-tyler", None, own_path.to_str().unwrap(), &["--date", "2024-04-19"]);
    assert_refused(&e, &o, &out, "request.subject_at_least = 12", "");
    let (o, out) = e.export("p-leah", None, own_path.to_str().unwrap(), &["--date", "2024-04-19"]);
    assert!(o.status.success() && out.join("bundle.pdf").exists(), "{}", stderr(&o));
    let parent = std::fs::read_to_string(root().join("policies/sar-parent.toml"))
        .unwrap()
        .replace("refuse_markers = [", "refuse_markers = [\"marac_case\", ");
    let parent_path = e.dir.path().join("sar-parent-marac.toml");
    std::fs::write(&parent_path, parent).unwrap();
    let (o, out) = e.export("p-maisie", Some("p-danielle"), parent_path.to_str().unwrap(), &[]);
    assert_refused(&e, &o, &out, "request.refuse_markers", "--override-reason");
    // A marker that is neither a flag type nor a role is an error in the policy file.
    let bad = e.dir.path().join("bad.toml");
    std::fs::write(&bad, std::fs::read_to_string(&parent_path).unwrap().replace("\"marac_case\"", "\"dangerous\""))
        .unwrap();
    let (o, out) = e.export("p-maisie", Some("p-danielle"), bad.to_str().unwrap(), &[]);
    assert!(!o.status.success() && stderr(&o).contains("request.refuse_markers[0]"), "{}", stderr(&o));
    assert!(!out.exists());
}

/// The held-out families written from the rules alone (fixtures/families/marshgate, quarrybank)
/// list requests that must be refused; every one is, with nothing written.
#[test]
fn every_refusal_of_the_held_out_families_is_refused() {
    for name in ["marshgate", "quarrybank"] {
        refusals_of(name);
    }
}

fn refusals_of(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.db");
    let fam = family_path(name);
    let o = run(&["import", fam.to_str().unwrap(), "--db", db.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let list = read_json(&fam.with_file_name("refusals.json"));
    let list = list.as_array().unwrap();
    assert!(list.len() >= 10, "the family lists its refusals");
    for r in list {
        let out = dir.path().join(r["id"].as_str().unwrap());
        let o = run(&[
            "export",
            "--db",
            db.to_str().unwrap(),
            "--subject",
            r["data_subject"].as_str().unwrap(),
            "--requester",
            r["requester"].as_str().unwrap(),
            "--policy",
            r["policy"].as_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(!o.status.success(), "{}: not refused", r["id"]);
        assert!(stderr(&o).contains("request refused by policy"), "{}: {}", r["id"], stderr(&o));
        assert!(!out.exists(), "{}: wrote output", r["id"]);
    }
}
