//! Test environment: temp folders, the built binary, fixture loading and external tools.

#![allow(dead_code)]

use disclose::detect::Detector;
use disclose::file::CaseFile;
use disclose::model::*;
use disclose::policy::{self, Policy};
use disclose::redact;
use disclose::review::{self, Disclosure};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn northbrook() -> PathBuf {
    root().join("fixtures/northbrook/export.json")
}

pub fn family_path(name: &str) -> PathBuf {
    root().join("fixtures/families").join(name).join("export.json")
}

/// Every fixture family with scenarios.
pub fn all_families() -> Vec<PathBuf> {
    vec![
        northbrook(),
        family_path("ashgrove"),
        family_path("fernhill"),
        family_path("marshgate"),
        family_path("quarrybank"),
    ]
}

/// Import the Northbrook example into a new case store at `db`.
pub fn import_northbrook(db: &Path) {
    let o = run(&["import", northbrook().to_str().unwrap(), "--db", db.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_disclose"))
}

/// Run the binary; returns the output.
pub fn run(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().expect("the disclose binary runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

pub fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// Write an export `v` into a fresh folder with Northbrook's attachments beside it.
pub fn write_export(dir: &Path, v: &Value) -> PathBuf {
    let att = dir.join("attachments");
    std::fs::create_dir_all(&att).unwrap();
    for e in std::fs::read_dir(root().join("fixtures/northbrook/attachments")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), att.join(e.file_name())).unwrap();
    }
    let p = dir.join("export.json");
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p
}

/// The family of an export file, validated, without a store.
pub fn family_of(path: &Path) -> Family {
    disclose::import::parse_and_validate(path).expect("fixture validates").family()
}

/// Northbrook with a change applied, validated, as a family.
pub fn northbrook_with(f: impl FnOnce(&mut Value)) -> Family {
    let mut v = read_json(&northbrook());
    f(&mut v);
    let dir = tempfile::tempdir().unwrap();
    let p = write_export(dir.path(), &v);
    family_of(&p)
}

/// Find the record with `id` in an export value.
pub fn record_mut<'a>(v: &'a mut Value, id: &str) -> &'a mut Value {
    v["records"].as_array_mut().unwrap().iter_mut().find(|r| r["id"] == id).expect("record exists")
}

/// Detect, propose, apply no decisions and redact (no attachment text), returning the
/// disclosure and the preview.
pub fn disclose(fam: &Family, subject: &str, requester: &str, policy: &str) -> (Disclosure, String) {
    disclose_with(fam, subject, requester, policy, &HashMap::new())
}

/// [`disclose`] with attachment text given.
pub fn disclose_with(
    fam: &Family,
    subject: &str,
    requester: &str,
    policy: &str,
    inputs: &disclose::file::AttachmentInputs,
) -> (Disclosure, String) {
    let file = CaseFile::build(fam, &PersonId(subject.into())).unwrap();
    let det = Detector::new(fam);
    let pol = Policy::load(policy).unwrap();
    let findings = disclose::detect::find(&file, &det, inputs);
    let requester = policy::Party::Person(PersonId(requester.into()));
    let asked = policy::Asked { requester: &requester, date: "2024-04-19", fit: &policy::Fit::default() };
    let proposal = policy::propose(&file, &findings, &pol, &asked, inputs);
    let d = review::apply(&proposal, &review::Decisions::default(), review::Status::Draft);
    let rf = redact::redact(&file, &d, &pol, inputs, &[]);
    let pv = redact::preview(&rf, &d);
    (d, pv)
}

/// The flags that release a one-shot export as one officer's decision (the officer registered by
/// [`add_reviewer`] as "test officer").
pub const UNREVIEWED: [&str; 5] =
    ["--release-unreviewed", "--reviewer", "test officer", "--why", "a signed bundle for the test"];

/// Register a reviewer (password from the environment) in a store.
pub fn add_reviewer(db: &Path, name: &str) {
    let o = Command::new(bin())
        .args(["reviewer", "add", "--db", db.to_str().unwrap(), "--name", name, "--password-env", "TEST_REVIEWER_PW"])
        .env("TEST_REVIEWER_PW", format!("{name} password"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Fail (never skip) when an external tool is missing.
pub fn need(tool: &str) {
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(ok, "the test needs `{tool}` on PATH; install it (see .ci/run)");
}

pub fn tool(cmd: &str, args: &[&str]) -> Output {
    need(cmd);
    Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("running {cmd}: {e}"))
}

/// Whitespace-folded, lower-case text for phrase checks.
pub fn fold(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}
