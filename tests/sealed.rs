//! Sealed bundles from the command line: keygen, signed export checked by pdfsig and pyHanko,
//! verify and audit that fail on any changed byte, and keys refused before anything is written.

use crate::util::*;
use std::path::{Path, PathBuf};

struct Env {
    dir: tempfile::TempDir,
    db: PathBuf,
    keys: PathBuf,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.db");
    let keys = dir.path().join("keys");
    import_northbrook(&db);
    let o = run(&["keygen", "--out", keys.to_str().unwrap(), "--name", "Northbrook IG test"]);
    assert!(o.status.success(), "{}", stderr(&o));
    Env { dir, db, keys }
}

impl Env {
    fn export(&self, name: &str, extra: &[&str]) -> (std::process::Output, PathBuf) {
        self.export_under("sar-self", name, extra)
    }
    fn export_under(&self, policy: &str, name: &str, extra: &[&str]) -> (std::process::Output, PathBuf) {
        let out = self.dir.path().join(name);
        let mut args = vec![
            "export",
            "--db",
            self.db.to_str().unwrap(),
            "--subject",
            "p-leah",
            "--policy",
            policy,
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        (run(&args), out)
    }
    fn signed(&self, name: &str) -> PathBuf {
        let k = self.keys.join("signing-key.pem");
        let c = self.keys.join("signing-cert.pem");
        let (o, out) = self.export(
            name,
            &["--sign-key", k.to_str().unwrap(), "--sign-cert", c.to_str().unwrap(), "--officer", "test officer"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        out
    }
    fn verify(&self, out: &Path) -> std::process::Output {
        let c = self.keys.join("signing-cert.pem");
        run(&["verify", out.to_str().unwrap(), "--db", self.db.to_str().unwrap(), "--trust", c.to_str().unwrap()])
    }
}

#[test]
fn a_signed_bundle_is_valid_for_pdfsig_and_pyhanko_and_our_verify() {
    let e = env();
    let out = e.signed("leah");
    let pdf = out.join("bundle.pdf");
    let o = tool("pdfsig", &[pdf.to_str().unwrap()]);
    let s = stdout(&o);
    assert!(s.contains("Signature is Valid") && s.contains("Total document signed"), "{s}");
    assert!(s.contains("ETSI.CAdES.detached"));
    let ph = std::env::var("PYHANKO").unwrap_or_else(|_| "pyhanko".into());
    let o = tool(
        &ph,
        &[
            "sign",
            "validate",
            "--pretty-print",
            "--trust",
            e.keys.join("signing-cert.pem").to_str().unwrap(),
            pdf.to_str().unwrap(),
        ],
    );
    let s = stdout(&o) + &stderr(&o);
    assert!(s.contains("judged VALID") && s.contains("covers the entire file"), "{s}");
    let q = tool("qpdf", &["--check", pdf.to_str().unwrap()]);
    assert!(q.status.success(), "{}", stdout(&q));
    let v = e.verify(&out);
    assert!(v.status.success(), "{}", stdout(&v));
    assert!(stdout(&v).contains("none of the"), "{}", stdout(&v));
    // The cover page says who sealed it and how to check it.
    let t = tool("pdftotext", &["-l", "2", pdf.to_str().unwrap(), "-"]);
    assert!(fold(&stdout(&t)).contains("sealed by northbrook ig test"), "{}", stdout(&t));
    // The manifest lists the inputs and outputs.
    let m = read_json(&out.join("manifest.json"));
    let inputs = m["core"]["inputs"].as_object().unwrap();
    assert!(
        inputs.keys().any(|k| k.starts_with("export "))
            && inputs.keys().any(|k| k.starts_with("attachment "))
            && inputs.keys().any(|k| k.starts_with("policy "))
    );
    assert!(m["core"]["tool"].as_str().unwrap().starts_with("disclose "));
    for f in ["plan.json", "preview.txt", "schedule.csv"] {
        assert!(m["core"]["outputs"][f].is_string(), "{f}");
    }
}

#[test]
fn signed_output_is_byte_identical_for_the_same_inputs_and_key() {
    let e = env();
    let a = e.signed("a");
    let b = e.signed("b");
    for f in ["bundle.pdf", "manifest.json", "plan.json"] {
        assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), "{f}");
    }
}

fn flip(p: &Path, at: usize) {
    let mut b = std::fs::read(p).unwrap();
    let i = at.min(b.len() - 1);
    b[i] ^= 0x01;
    std::fs::write(p, b).unwrap();
}

#[test]
fn changing_any_byte_of_the_bundle_or_manifest_fails_verify() {
    let e = env();
    let out = e.signed("leah");
    let pdf = out.join("bundle.pdf");
    let len = std::fs::metadata(&pdf).unwrap().len() as usize;
    for at in [0, 10, len / 3, len / 2, len - 200, len - 1] {
        let copy = e.dir.path().join(format!("copy-{at}"));
        std::fs::create_dir_all(&copy).unwrap();
        for f in std::fs::read_dir(&out).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), copy.join(f.file_name())).unwrap();
        }
        flip(&copy.join("bundle.pdf"), at);
        let v = e.verify(&copy);
        assert!(!v.status.success(), "a flipped byte at {at} of {len} passed verify:\n{}", stdout(&v));
    }
    for (f, at) in [("manifest.json", 40), ("manifest.json", 400), ("plan.json", 100), ("schedule.csv", 10)] {
        let copy = e.dir.path().join(format!("m-{f}-{at}"));
        std::fs::create_dir_all(&copy).unwrap();
        for x in std::fs::read_dir(&out).unwrap() {
            let x = x.unwrap();
            std::fs::copy(x.path(), copy.join(x.file_name())).unwrap();
        }
        flip(&copy.join(f), at);
        let v = e.verify(&copy);
        assert!(!v.status.success(), "a flipped byte in {f} passed verify:\n{}", stdout(&v));
    }
}

#[test]
fn editing_or_deleting_an_audit_entry_fails_audit_verify() {
    let e = env();
    e.signed("one");
    e.signed("two");
    e.signed("three");
    let ok = run(&["audit", "--db", e.db.to_str().unwrap(), "--verify"]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("3 entries"));
    let c = rusqlite::Connection::open(&e.db).unwrap();
    // Edit: one character of the second entry.
    let json: String = c.query_row("SELECT entry_json FROM audit WHERE seq = 2", [], |r| r.get(0)).unwrap();
    c.execute("UPDATE audit SET entry_json = ?1 WHERE seq = 2", [json.replacen("sar-self", "sar-selg", 1)]).unwrap();
    let bad = run(&["audit", "--db", e.db.to_str().unwrap(), "--verify"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("entry 2"), "{}", stderr(&bad));
    c.execute("UPDATE audit SET entry_json = ?1 WHERE seq = 2", [json]).unwrap();
    assert!(run(&["audit", "--db", e.db.to_str().unwrap(), "--verify"]).status.success());
    // Delete a middle entry, then the last one.
    let saved: (String, String, String) = c
        .query_row("SELECT entry_json, prev_hash, hash FROM audit WHERE seq = 3", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    c.execute("DELETE FROM audit WHERE seq = 3", []).unwrap();
    let bad = run(&["audit", "--db", e.db.to_str().unwrap(), "--verify"]);
    assert!(!bad.status.success(), "deleting the last entry went unnoticed");
    c.execute(
        "INSERT INTO audit (seq, entry_json, prev_hash, hash) VALUES (3, ?1, ?2, ?3)",
        [&saved.0, &saved.1, &saved.2],
    )
    .unwrap();
    c.execute("DELETE FROM audit WHERE seq = 2", []).unwrap();
    let bad = run(&["audit", "--db", e.db.to_str().unwrap(), "--verify"]);
    assert!(!bad.status.success(), "deleting a middle entry went unnoticed");
}

#[test]
fn a_bad_key_or_certificate_is_refused_before_any_output() {
    let e = env();
    let other = e.dir.path().join("other");
    assert!(run(&["keygen", "--out", other.to_str().unwrap()]).status.success());
    let expired = e.dir.path().join("expired");
    assert!(run(&["keygen", "--out", expired.to_str().unwrap(), "--from", "2015-01-01", "--to", "2018-12-31"])
        .status
        .success());
    let cases: [(&str, PathBuf, PathBuf, &str); 3] = [
        (
            "mismatch",
            e.keys.join("signing-key.pem"),
            other.join("signing-cert.pem"),
            "does not belong to the signing key",
        ),
        (
            "wrongkey",
            other.join("signing-key.pem"),
            e.keys.join("signing-cert.pem"),
            "does not belong to the signing key",
        ),
        ("expired", expired.join("signing-key.pem"), expired.join("signing-cert.pem"), "expired"),
    ];
    for (name, k, c, msg) in cases {
        let (o, out) =
            e.export(&format!("out-{name}"), &["--sign-key", k.to_str().unwrap(), "--sign-cert", c.to_str().unwrap()]);
        assert!(!o.status.success(), "{name} was accepted");
        assert!(stderr(&o).contains(msg), "{name}: {}", stderr(&o));
        assert!(!out.exists(), "{name}: output was written");
    }
    let audit = run(&["audit", "--db", e.db.to_str().unwrap()]);
    assert!(stdout(&audit).trim().is_empty(), "a refused export was audited: {}", stdout(&audit));
}

#[test]
fn a_council_pkcs12_key_signs_and_a_wrong_password_is_refused_before_output() {
    let e = env();
    let p12 = e.dir.path().join("council.p12");
    let k = e.keys.join("signing-key.pem");
    let c = e.keys.join("signing-cert.pem");
    let o = tool(
        "openssl",
        &[
            "pkcs12",
            "-export",
            "-inkey",
            k.to_str().unwrap(),
            "-in",
            c.to_str().unwrap(),
            "-out",
            p12.to_str().unwrap(),
            "-passout",
            "pass:s3cret",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = e.dir.path().join("p12-out");
    let args = [
        "export",
        "--db",
        e.db.to_str().unwrap(),
        "--subject",
        "p-leah",
        "--policy",
        "sar-self",
        "--out",
        out.to_str().unwrap(),
        "--sign-key",
        p12.to_str().unwrap(),
        "--sign-password-env",
        "TEST_P12_PASS",
    ];
    let ok = std::process::Command::new(bin()).args(args).env("TEST_P12_PASS", "s3cret").output().unwrap();
    assert!(ok.status.success(), "{}", stderr(&ok));
    let v = e.verify(&out);
    assert!(v.status.success(), "{}", stdout(&v));
    let bad_out = e.dir.path().join("p12-bad");
    let mut bad_args = args;
    bad_args[8] = bad_out.to_str().unwrap();
    let bad = std::process::Command::new(bin()).args(bad_args).env("TEST_P12_PASS", "wrong").output().unwrap();
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("check the password"), "{}", stderr(&bad));
    assert!(!bad_out.exists());
}

#[test]
fn verify_with_the_store_finds_removed_words_in_a_bundle_that_shows_them() {
    // The store keeps hashes of every run of words the self-access bundle took out. A bundle of the
    // same file made for the court shows some of them (names of the parents, for one); put in the
    // self-access folder, the leak check must find them, whatever else verify says.
    let e = env();
    let own = e.signed("own");
    let v = e.verify(&own);
    assert!(v.status.success() && stdout(&v).contains("none of the"), "{}", stdout(&v));
    let (o, court) = e.export_under("court", "court", &["--requester", "p-danielle"]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::copy(court.join("bundle.pdf"), own.join("bundle.pdf")).unwrap();
    let v = e.verify(&own);
    assert!(!v.status.success());
    let line = stdout(&v).lines().find(|l| l.contains("leak check")).unwrap_or_default().to_string();
    assert!(line.starts_with("FAIL") && line.contains("can be read in the bundle"), "{}", stdout(&v));
}

#[cfg(unix)]
#[test]
fn keygen_writes_the_private_key_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let e = env();
    let mode = |f: &str| std::fs::metadata(e.keys.join(f)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("signing-key.pem"), 0o600);
    assert_ne!(mode("signing-cert.pem") & 0o044, 0, "the certificate is public");
    let left: Vec<_> = std::fs::read_dir(&e.keys).unwrap().map(|d| d.unwrap().file_name()).collect();
    assert_eq!(left.len(), 2, "{left:?}");
}
