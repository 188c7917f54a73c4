//! The review workflow end to end through the command line (issue 13): a registered request,
//! decisions by two officers (release a held item, reject a mark, add a missed mark, decide by
//! person), refusals of a lone reviewer's sign-off and of signing a draft, approval by a second
//! reviewer, the final signed bundle, and the audit trail listing each decision.

use crate::util::*;
use std::path::{Path, PathBuf};

struct Env {
    dir: tempfile::TempDir,
    db: PathBuf,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.db");
    import_northbrook(&db);
    add_reviewer(&db, "alice");
    add_reviewer(&db, "bob");
    Env { dir, db }
}

impl Env {
    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut a = args.to_vec();
        a.extend(["--db", self.db.to_str().unwrap()]);
        run(&a)
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(o.status.success(), "{args:?}: {}{}", stdout(&o), stderr(&o));
        stdout(&o)
    }
    fn items(&self, request: &str) -> Vec<csv_row::Row> {
        csv_row::parse(&self.ok(&["review", "list", "--request", request, "--csv"]))
    }
    fn text(&self, out: &Path) -> String {
        fold(&stdout(&tool("pdftotext", &["-q", out.join("bundle.pdf").to_str().unwrap(), "-"])))
    }
}

/// A tiny CSV reader for the review list (quoted fields, as the csv crate writes them).
mod csv_row {
    pub struct Row {
        pub mark: String,
        pub kind: String,
        pub person: String,
        pub record: String,
        pub location: String,
        pub context: String,
    }
    fn cells(line: &str) -> Vec<String> {
        let (mut out, mut cur, mut q, mut chars) = (Vec::new(), String::new(), false, line.chars().peekable());
        while let Some(c) = chars.next() {
            match (c, q) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    cur.push('"');
                    chars.next();
                }
                ('"', _) => q = !q,
                (',', false) => out.push(std::mem::take(&mut cur)),
                _ => cur.push(c),
            }
        }
        out.push(cur);
        out
    }
    pub fn parse(text: &str) -> Vec<Row> {
        let mut lines = text.lines();
        let head = cells(lines.next().unwrap());
        for want in ["mark", "kind", "code", "rule", "person", "record", "context"] {
            assert!(head.iter().any(|h| h == want), "the CSV header names {want}: {head:?}");
        }
        let at = |n: &str| head.iter().position(|h| h == n).unwrap();
        lines
            .map(cells)
            .map(|c| Row {
                mark: c[at("mark")].clone(),
                kind: c[at("kind")].clone(),
                person: c[at("person")].clone(),
                record: c[at("record")].clone(),
                location: c[at("location")].clone(),
                context: c[at("context")].clone(),
            })
            .collect()
    }
}

#[test]
fn a_request_is_reviewed_approved_by_a_second_reviewer_and_released() {
    let e = env();
    let id = e.ok(&[
        "request",
        "new",
        "--subject",
        "p-leah",
        "--requester",
        "p-leah",
        "--policy",
        "sar-self",
        "--received",
        "2024-03-31",
        "--reference",
        "SAR-2024-017",
    ]);
    let id = id.trim().to_string();
    assert!(id.starts_with("req-") && !id.contains(char::is_whitespace), "the id alone: {id:?}");
    let list = e.ok(&["request", "list", "--today", "2024-04-10"]);
    assert!(
        list.contains(&id) && list.contains("2024-04-30") && list.contains("proposed"),
        "due one calendar month on, the last day of April: {list}"
    );
    assert!(list.lines().any(|l| l.contains(&id) && l.split_whitespace().any(|w| w == "20")), "20 days left: {list}");
    let items = e.items(&id);
    // A draft first: DRAFT on every page, and it cannot be signed.
    let draft = e.dir.path().join("draft");
    e.ok(&["export", "--request", &id, "--out", draft.to_str().unwrap()]);
    let before = e.text(&draft);
    let pages = stdout(&tool("pdftotext", &["-q", draft.join("bundle.pdf").to_str().unwrap(), "-"]));
    let pages: Vec<&str> = pages.split('\u{c}').filter(|p| !p.trim().is_empty()).collect();
    assert!(pages.len() > 5 && pages.iter().all(|p| p.contains("DRAFT")), "every page says DRAFT");
    assert!(before.contains("it is not for release"), "the cover says it is not for release");
    let keys = e.dir.path().join("keys");
    assert!(run(&["keygen", "--out", keys.to_str().unwrap()]).status.success());
    let (k, c) = (keys.join("signing-key.pem"), keys.join("signing-cert.pem"));
    let signed = e.dir.path().join("signed");
    let o = e.run(&[
        "export",
        "--request",
        &id,
        "--out",
        signed.to_str().unwrap(),
        "--sign-key",
        k.to_str().unwrap(),
        "--sign-cert",
        c.to_str().unwrap(),
    ]);
    assert!(!o.status.success() && stderr(&o).contains("cannot be signed") && !signed.exists(), "{}", stderr(&o));
    // Alice: release the held scan, reject one mark of the police officer's... a third party's
    // name, keep every mention of the referrer (by person), add a missed word.
    let held = items.iter().find(|i| i.kind == "held").expect("a held item");
    e.ok(&[
        "review",
        "decide",
        "--request",
        &id,
        "--mark",
        &held.mark,
        "--reviewer",
        "alice",
        "--release",
        "--why",
        "consulted the GP; nothing third-party on it",
    ]);
    let gwen: Vec<&csv_row::Row> = items.iter().filter(|i| i.person == "p-gwen").collect();
    assert!(gwen.len() >= 2, "the referrer has several marks");
    assert!(!before.contains("gwen aldous"), "the referrer is taken out in the draft");
    e.ok(&[
        "review",
        "decide",
        "--request",
        &id,
        "--person",
        "p-gwen",
        "--reviewer",
        "alice",
        "--reject",
        "--why",
        "Gwen agreed to be named",
    ]);
    // One mark rejected: a phone number of the referrer's in rec-001.
    let phone = items.iter().find(|i| i.context.contains("[01632 960733]")).expect("the referrer's phone");
    e.ok(&[
        "review",
        "decide",
        "--request",
        &id,
        "--mark",
        &phone.mark,
        "--reviewer",
        "alice",
        "--reject",
        "--why",
        "her work number, given for contact",
    ]);
    // A word the engine did not take out, in Leah's direct-work note.
    assert!(before.contains("worry-tree"));
    e.ok(&[
        "review",
        "add",
        "--request",
        &id,
        "--record",
        "rec-006",
        "--text",
        "Worry-tree",
        "--code",
        "TP",
        "--reviewer",
        "alice",
        "--why",
        "names a school programme that identifies the class",
    ]);
    // Alice cannot sign off her own decisions.
    let o = e.run(&["review", "approve", "--request", &id, "--reviewer", "alice"]);
    assert!(!o.status.success() && stderr(&o).contains("second reviewer"), "{}", stderr(&o));
    // An unregistered reviewer is refused.
    let o = e.run(&["review", "approve", "--request", &id, "--reviewer", "mallory"]);
    assert!(!o.status.success() && stderr(&o).contains("not registered"), "{}", stderr(&o));
    e.ok(&["review", "approve", "--request", &id, "--reviewer", "bob"]);
    assert!(e.ok(&["request", "list", "--today", "2024-04-10"]).contains("approved"));
    let out = e.dir.path().join("final");
    e.ok(&[
        "export",
        "--request",
        &id,
        "--out",
        out.to_str().unwrap(),
        "--sign-key",
        k.to_str().unwrap(),
        "--sign-cert",
        c.to_str().unwrap(),
        "--officer",
        "bob",
    ]);
    let after = e.text(&out);
    assert!(!after.contains("draft"), "the final bundle is not a draft");
    assert!(after.contains("gwen aldous") && after.contains("01632 960733"), "the rejected marks' words are in");
    assert!(!after.contains("worry-tree"), "the added mark takes the word out");
    // The released scan's page is in the bundle (its image), which the draft held back.
    let images = |d: &Path| {
        stdout(&tool("pdfimages", &["-list", d.join("bundle.pdf").to_str().unwrap()])).lines().skip(2).count()
    };
    assert!(images(&out) > images(&draft), "the released scan is shown");
    let scan_before = before.matches("is not included").count();
    assert!(after.matches("is not included").count() < scan_before, "the released item is in the bundle");
    // The added word is readable in no channel of the bundle.
    let terms = e.dir.path().join("forbid.txt");
    std::fs::write(&terms, "Worry-tree\n").unwrap();
    need("mutool");
    let o = std::process::Command::new("python3")
        .arg(root().join("fixtures/tools/leakscan.py"))
        .arg(out.join("bundle.pdf"))
        .arg("--forbid")
        .arg(&terms)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "leakscan: {}", stdout(&o));
    // The schedule names who decided.
    let sched = std::fs::read_to_string(out.join("schedule.csv")).unwrap();
    assert!(sched.contains(",alice"), "{sched:.400}");
    assert!(e.ok(&["request", "list", "--today", "2024-04-10"]).contains("released"));
    // The trail lists every decision, the approval and the release, and holds.
    let audit = e.ok(&["audit", "--verify"]);
    assert!(audit.contains("audit chain intact"), "{audit}");
    assert_eq!(audit.lines().filter(|l| l.contains("decision by alice")).count(), 3, "{audit}");
    assert!(
        audit.contains("added_mark by alice") && audit.contains("approval by bob") && audit.contains("approved by bob"),
        "{audit}"
    );
    // The verify command checks the released bundle.
    let v = run(&["verify", out.to_str().unwrap(), "--db", e.db.to_str().unwrap(), "--trust", c.to_str().unwrap()]);
    assert!(v.status.success(), "{}", stdout(&v));
}

#[test]
fn decisions_survive_a_re_import_and_orphans_block_approval() {
    let e = env();
    let id = e.ok(&[
        "request",
        "new",
        "--subject",
        "p-leah",
        "--requester",
        "p-leah",
        "--policy",
        "sar-self",
        "--received",
        "2024-04-19",
    ]);
    let id = id.trim().to_string();
    let items = e.items(&id);
    let held = items.iter().find(|i| i.kind == "held").unwrap();
    e.ok(&[
        "review",
        "decide",
        "--request",
        &id,
        "--mark",
        &held.mark,
        "--reviewer",
        "alice",
        "--withhold",
        "--code",
        "REV",
        "--why",
        "not yet checked with the GP",
    ]);
    // Two marks in different records: one whose text the newer export changes, one it keeps.
    let in_001 = items.iter().find(|i| i.record == "rec-001" && i.context.contains("[Gwen Aldous]")).unwrap();
    let in_014 = items.iter().find(|i| i.record != "rec-001" && i.kind == "mark" && i.context.contains('[')).unwrap();
    e.ok(&["review", "decide", "--request", &id, "--mark", &in_001.mark, "--reviewer", "alice", "--accept"]);
    e.ok(&[
        "review",
        "decide",
        "--request",
        &id,
        "--mark",
        &in_014.mark,
        "--reviewer",
        "alice",
        "--reject",
        "--why",
        "known to the requester",
    ]);
    // A newer export of the family: the referrer's name in rec-001 is now written differently.
    let mut v = read_json(&northbrook());
    let body =
        record_mut(&mut v, "rec-001")["sections"][0]["body"].as_str().unwrap().replace("Gwen Aldous", "Mrs G. Aldous");
    record_mut(&mut v, "rec-001")["sections"][0]["body"] = serde_json::json!(body);
    let newer = write_export(&e.dir.path().join("newer"), &v);
    e.ok(&["import", newer.to_str().unwrap(), "--replace"]);
    let after = e.items(&id);
    let rejected = after.iter().find(|i| i.mark == in_014.mark).expect("an unchanged mark keeps its id");
    assert!(rejected.context.contains('['));
    let list = e.ok(&["review", "list", "--request", &id]);
    assert!(
        list.lines().any(|l| l.starts_with(&in_014.mark) && l.contains("reject by alice")),
        "its decision is kept: {list}"
    );
    assert!(!after.iter().any(|i| i.mark == in_001.mark), "the changed mark is gone");
    let o = e.run(&["review", "approve", "--request", &id, "--reviewer", "bob"]);
    assert!(
        !o.status.success() && stderr(&o).contains("no longer in the proposal") && stderr(&o).contains(&in_001.mark),
        "{}",
        stderr(&o)
    );
    let _ = rejected.location.len();
}

#[test]
fn the_review_csv_round_trip_records_a_spreadsheets_decisions() {
    let e = env();
    let id = e.ok(&[
        "request",
        "new",
        "--subject",
        "p-leah",
        "--requester",
        "p-leah",
        "--policy",
        "sar-self",
        "--received",
        "2024-04-19",
    ]);
    let id = id.trim().to_string();
    let file = e.dir.path().join("review.csv");
    e.ok(&["review", "export", "--request", &id, "--out", file.to_str().unwrap()]);
    let text = std::fs::read_to_string(&file).unwrap();
    let rows = csv_row::parse(&text);
    let held = rows.iter().find(|r| r.kind == "held").unwrap().mark.clone();
    let gwen = rows.iter().find(|r| r.person == "p-gwen").unwrap().mark.clone();
    // As a spreadsheet saves it: a byte-order mark, CRLF, the decisions filled in.
    let mut out = String::from("\u{feff}");
    for (i, line) in text.lines().enumerate() {
        let mut l = line.to_string();
        if i > 0 && l.starts_with(&held) {
            l = l.trim_end_matches(",,,").to_string() + ",release,,released after a call\r";
        } else if i > 0 && l.starts_with(&gwen) {
            l = l.trim_end_matches(",,,").to_string() + ",withhold:REF,,";
        }
        out.push_str(&l);
        out.push_str("\r\n");
    }
    std::fs::write(&file, out).unwrap();
    let o = e.ok(&["review", "import", "--request", &id, "--reviewer", "alice", file.to_str().unwrap()]);
    assert!(o.contains("recorded 2 decisions"), "{o}");
    let list = e.ok(&["review", "list", "--request", &id]);
    assert!(list.lines().any(|l| l.starts_with(&held) && l.contains("release by alice")), "{list}");
    assert!(list.lines().any(|l| l.starts_with(&gwen) && l.contains("withhold:REF by alice")), "{list}");
    // A mark that is not in the proposal is refused, and nothing of the file is recorded.
    std::fs::write(&file, "mark,decision\nm-0000000000000000,accept\n").unwrap();
    let o = e.run(&["review", "import", "--request", &id, "--reviewer", "alice", file.to_str().unwrap()]);
    assert!(!o.status.success() && stderr(&o).contains("not in the proposal"), "{}", stderr(&o));
}

#[test]
fn one_shot_exports_are_drafts_and_release_unreviewed_is_recorded_or_refused_by_policy() {
    let e = env();
    let keys = e.dir.path().join("keys");
    assert!(run(&["keygen", "--out", keys.to_str().unwrap()]).status.success());
    let (k, c) = (keys.join("signing-key.pem"), keys.join("signing-cert.pem"));
    let sign = ["--sign-key", k.to_str().unwrap(), "--sign-cert", c.to_str().unwrap()];
    let out = e.dir.path().join("o1");
    let mut args = vec!["export", "--subject", "p-leah", "--policy", "sar-self", "--out", out.to_str().unwrap()];
    args.extend(sign);
    let o = e.run(&args);
    assert!(!o.status.success() && stderr(&o).contains("draft cannot be signed") && !out.exists(), "{}", stderr(&o));
    args.extend(["--release-unreviewed", "--reviewer", "alice", "--why", "urgent court deadline"]);
    e.ok(&args);
    let audit = e.ok(&["audit"]);
    assert!(audit.contains("released unreviewed by alice: urgent court deadline"), "{audit}");
    let sched = std::fs::read_to_string(out.join("schedule.csv")).unwrap();
    assert!(!e.text(&out).contains("draft"));
    let _ = sched;
    // A council's policy that requires review refuses it.
    let strict = e.dir.path().join("strict.toml");
    std::fs::write(
        &strict,
        std::fs::read_to_string(root().join("policies/sar-self.toml"))
            .unwrap()
            .replace("required = false", "required = true"),
    )
    .unwrap();
    let out2 = e.dir.path().join("o2");
    let o = e.run(&[
        "export",
        "--subject",
        "p-leah",
        "--policy",
        strict.to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
        "--release-unreviewed",
        "--reviewer",
        "alice",
        "--why",
        "urgent",
    ]);
    assert!(!o.status.success() && stderr(&o).contains("review.required") && !out2.exists(), "{}", stderr(&o));
}

/// A reviewer's region on a born-digital attachment page (the letter to the father, page 1):
/// every glyph under the box is taken out of the page (not covered), the box shows the code, and
/// the words are in no text view of the bundle (pdftotext, mutool) nor in the preview; the words
/// beside the box stay.
#[test]
fn a_reviewers_region_on_an_attachment_page_takes_out_what_is_drawn_under_it() {
    need("mutool");
    let e = env();
    let id = e.ok(&[
        "request",
        "new",
        "--subject",
        "p-leah",
        "--requester",
        "p-leah",
        "--policy",
        "sar-self",
        "--received",
        "2024-03-31",
        "--reference",
        "SAR-2024-018",
    ]);
    let id = id.trim().to_string();
    let draft = e.dir.path().join("draft");
    e.ok(&["export", "--request", &id, "--out", draft.to_str().unwrap()]);
    let before = e.text(&draft);
    // The second line of the letter's second paragraph: "Family Centre on Saturdays from 10:00 to
    // 11:30. Leah has said she does not"; the box spans "Saturdays" to "11:30." (points, origin
    // bottom left, inside the line's height only).
    assert!(before.contains("family centre on saturdays from 10:00 to 11:30"), "the draft shows the line");
    e.ok(&[
        "review",
        "add",
        "--request",
        &id,
        "--attachment",
        "att-letter-ryan",
        "--page",
        "1",
        "--rect",
        "198,533,350,539",
        "--code",
        "TP",
        "--reviewer",
        "alice",
        "--why",
        "the contact arrangements identify the centre's sessions",
    ]);
    for held in e.items(&id).iter().filter(|i| i.kind == "held") {
        e.ok(&["review", "decide", "--request", &id, "--mark", &held.mark, "--reviewer", "alice", "--accept"]);
    }
    e.ok(&["review", "approve", "--request", &id, "--reviewer", "bob"]);
    let out = e.dir.path().join("final");
    e.ok(&["export", "--request", &id, "--out", out.to_str().unwrap(), "--officer", "bob"]);
    let bundle = out.join("bundle.pdf");
    let after = e.text(&out);
    let mutool = fold(&stdout(&tool("mutool", &["draw", "-q", "-F", "txt", "-o", "-", bundle.to_str().unwrap()])));
    for (name, text) in [("pdftotext", &after), ("mutool", &mutool)] {
        assert!(!text.contains("11:30") && !text.contains("10:00 to"), "{name}: the words under the box are gone");
        // (the record of the letter says "Family Centre on Saturdays. Please contact": the page's
        // own words around the box are looked for)
        let at: Vec<&str> =
            text.match_indices("family centre on").map(|(i, _)| &text[i..(i + 60).min(text.len())]).collect();
        assert!(text.contains("family centre on leah has said"), "{name}: the words beside the box stay: {at:?}");
    }
    let preview = std::fs::read_to_string(out.join("preview.txt")).unwrap();
    assert!(!preview.contains("11:30") && preview.contains("Family Centre on"), "the preview loses the words too");
    // The glyphs are out of the page's content, not under a box: no content stream of the bundle
    // shows them (leakscan reads every stream and every channel).
    let terms = e.dir.path().join("forbid.txt");
    std::fs::write(&terms, "11:30\n").unwrap();
    let o = std::process::Command::new("python3")
        .arg(root().join("fixtures/tools/leakscan.py"))
        .arg(&bundle)
        .arg("--forbid")
        .arg(&terms)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "leakscan: {}", stdout(&o));
    // The box carries its code on the letter's page.
    let raw = stdout(&tool("pdftotext", &["-q", bundle.to_str().unwrap(), "-"]));
    let page = raw.split('\u{c}').map(fold).find(|p| p.contains("leah has said she does not")).unwrap_or_default();
    assert!(page.split(' ').any(|w| w == "tp"), "the box shows its code: {page:.600}");
    // The schedule lists the added region mark, decided by alice.
    let sched = std::fs::read_to_string(out.join("schedule.csv")).unwrap();
    assert!(sched.lines().any(|l| l.contains("att-letter-ryan") && l.contains(",alice")), "{sched:.600}");
}
