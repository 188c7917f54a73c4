//! Sealed bundles from the command line: keygen, signed export checked by pdfsig and pyHanko,
//! verify and audit that fail on any changed byte, and keys refused before anything is written.

use crate::util::*;
use disclose::seal::manifest::Manifest;
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
    add_reviewer(&db, "test officer");
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
        // A signed one-shot export is a release: here one officer's, without review.
        if extra.contains(&"--sign-key") {
            args.extend(UNREVIEWED);
        }
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
    assert!(fold(&stdout(&t)).contains("was made by northbrook ig test"), "{}", stdout(&t));
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
    for f in ["bundle.pdf", "plan.json", "preview.txt", "schedule.csv"] {
        assert_eq!(std::fs::read(a.join(f)).unwrap(), std::fs::read(b.join(f)).unwrap(), "{f}");
    }
    // The manifests differ only in the audit head (the trail grew by the first release) and the
    // signature over it.
    let (ma, mb) = (read_json(&a.join("manifest.json")), read_json(&b.join("manifest.json")));
    for k in ["core", "core_sha256", "bundle_sha256"] {
        assert_eq!(ma[k], mb[k], "{k}");
    }
    // (entry 1 is the reviewer's registration)
    assert_eq!(ma["audit_head"]["seq"], 1);
    assert_eq!(mb["audit_head"]["seq"], 2);
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
    // The reviewer's registration, then the three releases.
    assert!(stdout(&ok).contains("4 entries"), "{}", stdout(&ok));
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
    assert!(!stdout(&audit).contains(" -> "), "a refused export was audited: {}", stdout(&audit));
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
        UNREVIEWED[0],
        UNREVIEWED[1],
        UNREVIEWED[2],
        UNREVIEWED[3],
        UNREVIEWED[4],
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

impl Env {
    /// A PKCS#12 file of the test key and certificate written by openssl with `extra` options,
    /// password "s3cret".
    fn pkcs12(&self, name: &str, extra: &[&str]) -> PathBuf {
        let p12 = self.dir.path().join(format!("{name}.p12"));
        let k = self.keys.join("signing-key.pem");
        let c = self.keys.join("signing-cert.pem");
        let mut args = vec![
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
        ];
        args.extend_from_slice(extra);
        let o = tool("openssl", &args);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        p12
    }
    /// A signed export with a PKCS#12 file, its password from the environment.
    fn export_p12(&self, name: &str, p12: &Path, password: &str) -> (std::process::Output, PathBuf) {
        let out = self.dir.path().join(name);
        let mut args = vec![
            "export",
            "--db",
            self.db.to_str().unwrap(),
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
        args.extend(UNREVIEWED);
        let o = std::process::Command::new(bin()).args(&args).env("TEST_P12_PASS", password).output().unwrap();
        (o, out)
    }
}

/// What `openssl pkcs12 -info` says of a file's schemes (MAC, bag encryption), for the test's
/// own check that it made the file it meant to.
fn pkcs12_info(p12: &Path) -> String {
    let o = tool(
        "openssl",
        &["pkcs12", "-info", "-noout", "-legacy", "-in", p12.to_str().unwrap(), "-passin", "pass:s3cret"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    stderr(&o) + &stdout(&o)
}

#[test]
fn a_legacy_pkcs12_as_windows_and_older_tools_export_it_signs_and_verifies() {
    let e = env();
    let cases: [(&str, &[&str], &[&str]); 2] = [
        // What Windows' "TripleDES-SHA1" export and OpenSSL 1.x with 3DES certificates write.
        (
            "legacy-3des",
            &["-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1"],
            &[
                "MAC: sha1",
                "Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC",
                "Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC",
            ],
        ),
        // `openssl pkcs12 -legacy` (for old macOS and Windows): RC2-40 certificates, 3DES key.
        (
            "legacy-rc2",
            &["-legacy"],
            &[
                "MAC: sha1",
                "Encrypted data: pbeWithSHA1And40BitRC2-CBC",
                "Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC",
            ],
        ),
    ];
    for (name, extra, schemes) in cases {
        let p12 = e.pkcs12(name, extra);
        let info = pkcs12_info(&p12);
        for scheme in schemes {
            assert!(info.contains(scheme), "{name}: openssl wrote another scheme than {scheme:?}: {info}");
        }
        let (o, out) = e.export_p12(name, &p12, "s3cret");
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let v = e.verify(&out);
        assert!(v.status.success(), "{name}: {}", stdout(&v));
        let s = tool("pdfsig", &[out.join("bundle.pdf").to_str().unwrap()]);
        assert!(stdout(&s).contains("Signature is Valid"), "{name}: {}", stdout(&s));
    }
}

#[test]
fn a_pkcs12_with_a_scheme_we_do_not_read_is_refused_naming_it_before_output() {
    let e = env();
    let cases: [(&str, &[&str], &str); 3] = [
        // PBES2 with Camellia-256-CBC for the key: its OID, not a guess at the password.
        ("camellia", &["-keypbe", "camellia-256-cbc"], "1.2.392.200011.61.1.1.1.4"),
        // A MAC with MD5.
        ("md5-mac", &["-macalg", "md5"], "1.2.840.113549.2.5"),
        // No MAC at all: a wrong password or a changed byte could not be told.
        ("no-mac", &["-nomac"], "has no MAC"),
    ];
    for (name, extra, says) in cases {
        let p12 = e.pkcs12(name, extra);
        let (o, out) = e.export_p12(name, &p12, "s3cret");
        assert!(!o.status.success(), "{name} was accepted");
        let err = stderr(&o);
        assert!(err.contains(says), "{name}: {err}");
        assert!(name == "no-mac" || err.contains("not supported"), "{name}: {err}");
        assert!(!err.contains("check the password"), "{name}: blames the password: {err}");
        assert!(!err.contains(p12.file_name().unwrap().to_str().unwrap()), "{name}: names the file: {err}");
        assert!(!out.exists(), "{name}: output was written");
    }
}

#[test]
fn a_pkcs12_whose_mac_was_changed_is_refused_before_output() {
    let e = env();
    let p12 = e.pkcs12("council", &[]);
    let mut bytes = std::fs::read(&p12).unwrap();
    // OpenSSL 3's MacData ends the file: OCTET STRING (32-byte SHA-256 MAC), OCTET STRING (8-byte
    // salt), INTEGER 2048. Check the layout, then change the MAC's last byte.
    let n = bytes.len();
    assert_eq!(&bytes[n - 4..], &[0x02, 0x02, 0x08, 0x00], "iterations");
    assert_eq!(&bytes[n - 14..n - 12], &[0x04, 0x08], "salt");
    assert_eq!(&bytes[n - 48..n - 46], &[0x04, 0x20], "MAC");
    bytes[n - 15] ^= 0x01;
    std::fs::write(&p12, &bytes).unwrap();
    let (o, out) = e.export_p12("changed-mac", &p12, "s3cret");
    assert!(!o.status.success(), "a PKCS#12 file with a changed MAC was accepted");
    assert!(stderr(&o).contains("MAC does not match"), "{}", stderr(&o));
    assert!(!out.exists(), "output was written");
}

#[test]
fn a_pkcs12_signs_with_the_certificate_of_its_key_when_another_comes_first() {
    // A store exported with the chain first: python's cryptography writes the certificates in
    // the order given, another key's before ours (openssl always puts the key's own first).
    let e = env();
    let other = e.dir.path().join("other");
    assert!(run(&["keygen", "--out", other.to_str().unwrap(), "--name", "Another council"]).status.success());
    let p12 = e.dir.path().join("chain-first.p12");
    let script = r#"
import sys
from cryptography import x509
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, load_pem_private_key, pkcs12
key_pem, cert_pem, other_pem, out = sys.argv[1:]
key = load_pem_private_key(open(key_pem, "rb").read(), None)
certs = [x509.load_pem_x509_certificate(open(p, "rb").read()) for p in (other_pem, cert_pem)]
open(out, "wb").write(pkcs12.serialize_key_and_certificates(None, key, None, certs, BestAvailableEncryption(b"s3cret")))
"#;
    let o = tool(
        "python3",
        &[
            "-c",
            script,
            e.keys.join("signing-key.pem").to_str().unwrap(),
            e.keys.join("signing-cert.pem").to_str().unwrap(),
            other.join("signing-cert.pem").to_str().unwrap(),
            p12.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let info = tool("openssl", &["pkcs12", "-in", p12.to_str().unwrap(), "-nokeys", "-passin", "pass:s3cret"]);
    let subjects: Vec<_> = stdout(&info).lines().filter(|l| l.starts_with("subject=")).map(str::to_string).collect();
    assert!(subjects.len() == 2 && subjects[0].contains("Another council"), "{subjects:?}");
    let (o, out) = e.export_p12("chain-first", &p12, "s3cret");
    assert!(o.status.success(), "{}", stderr(&o));
    // Verified against our certificate: the bundle was signed with it, not the first one.
    let v = e.verify(&out);
    assert!(v.status.success(), "{}", stdout(&v));
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

/// A copy of an output folder.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in std::fs::read_dir(from).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
    }
}

fn manifest_of(dir: &Path) -> Manifest {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

fn write_manifest(dir: &Path, m: &Manifest) {
    std::fs::write(dir.join("manifest.json"), serde_json::to_string_pretty(m).unwrap()).unwrap();
}

fn fail_line(o: &std::process::Output, check: &str) -> String {
    stdout(o).lines().find(|l| l.starts_with("FAIL") && l.contains(check)).unwrap_or_default().to_string()
}

#[test]
fn a_changed_bundle_with_its_manifest_marked_unsigned_fails_verify() {
    // The attack: another bundle in place of the signed one, and the manifest changed to match
    // it (signed: false, the new hash, the core's hash recomputed).
    let e = env();
    let out = e.signed("leah");
    let (o, court) = e.export_under("court", "court", &["--requester", "p-danielle"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let forged = e.dir.path().join("forged");
    copy_dir(&out, &forged);
    std::fs::copy(court.join("bundle.pdf"), forged.join("bundle.pdf")).unwrap();
    let mut m = manifest_of(&forged);
    m.core.signed = false;
    m.core.signer = None;
    m.core.signer_cert_sha256 = None;
    m.bundle_sha256 = disclose::seal::manifest::sha256_hex(&std::fs::read(forged.join("bundle.pdf")).unwrap());
    m.core_sha256 = m.core.hash();
    m.signature = None;
    write_manifest(&forged, &m);
    let c = e.keys.join("signing-cert.pem");
    let full = e.verify(&forged);
    assert!(!full.status.success(), "verify --trust --db passed a forged bundle:\n{}", stdout(&full));
    assert!(fail_line(&full, "signature").contains("--trust"), "{}", stdout(&full));
    assert!(fail_line(&full, "release record").contains("not in the audit trail"), "{}", stdout(&full));
    // With the trusted certificate alone, and with the store alone.
    let t = run(&["verify", forged.to_str().unwrap(), "--trust", c.to_str().unwrap()]);
    assert!(!t.status.success(), "{}", stdout(&t));
    let d = run(&["verify", forged.to_str().unwrap(), "--db", e.db.to_str().unwrap()]);
    assert!(!d.status.success(), "{}", stdout(&d));
    assert!(fail_line(&d, "release record").contains("not in the audit trail"), "{}", stdout(&d));
    // Keeping the core's hash instead (so the store still knows it) breaks the manifest's hash.
    let mut m2 = manifest_of(&forged);
    m2.core_sha256 = manifest_of(&out).core_sha256;
    write_manifest(&forged, &m2);
    let v = e.verify(&forged);
    assert!(!v.status.success() && fail_line(&v, "manifest").contains("was changed"), "{}", stdout(&v));
}

#[test]
fn a_further_signature_by_a_look_alike_key_fails_verify_with_or_without_trust() {
    use disclose::seal::{load_signer, sign_detached, sign_pdf, SignOptions};
    let e = env();
    let out = e.signed("leah");
    // The attacker's self-signed key, named like the council's.
    let evil = e.dir.path().join("evil");
    assert!(run(&["keygen", "--out", evil.to_str().unwrap(), "--name", "Northbrook IG test"]).status.success());
    let k = std::fs::read(evil.join("signing-key.pem")).unwrap();
    let c = std::fs::read(evil.join("signing-cert.pem")).unwrap();
    let signer = load_signer(&k, &c, "2024-04-19").unwrap();
    let opts = SignOptions {
        signing_time: "2024-04-20T09:00:00Z".into(),
        reason: format!("manifest sha256 {}", manifest_of(&out).core_sha256),
        location: "Northbrook".into(),
        contact: String::new(),
        name: "Northbrook IG test".into(),
    };
    let resigned = sign_pdf(&std::fs::read(out.join("bundle.pdf")).unwrap(), &signer, &opts).unwrap();
    // (a) the bundle alone changed; (b) the manifest made to match, re-signed with the same key.
    for rewrite_manifest in [false, true] {
        let forged = e.dir.path().join(format!("forged-{rewrite_manifest}"));
        copy_dir(&out, &forged);
        std::fs::write(forged.join("bundle.pdf"), &resigned).unwrap();
        if rewrite_manifest {
            let mut m = manifest_of(&forged);
            m.bundle_sha256 = disclose::seal::manifest::sha256_hex(&resigned);
            m.core.signer_cert_sha256 = Some(signer.cert_sha256());
            m.core_sha256 = m.core.hash();
            m.signature =
                Some(sign_detached(&signer, &m.release_bytes()).unwrap().iter().map(|b| format!("{b:02x}")).collect());
            write_manifest(&forged, &m);
        }
        let f = forged.to_str().unwrap();
        let no_trust = run(&["verify", f]);
        assert!(!no_trust.status.success(), "{rewrite_manifest}: {}", stdout(&no_trust));
        assert!(fail_line(&no_trust, "signed range").contains("2 signatures"), "{}", stdout(&no_trust));
        if rewrite_manifest {
            assert!(fail_line(&no_trust, "signer").contains("unknown"), "{}", stdout(&no_trust));
        }
        let real = e.verify(&forged);
        assert!(!real.status.success(), "{rewrite_manifest}: {}", stdout(&real));
        assert!(!fail_line(&real, "signer").is_empty(), "{}", stdout(&real));
        // Even trusting the attacker's certificate, a change after the council's signature fails.
        let theirs = run(&["verify", f, "--trust", evil.join("signing-cert.pem").to_str().unwrap()]);
        assert!(!theirs.status.success(), "{rewrite_manifest}: {}", stdout(&theirs));
    }
    // The original still verifies, and a signed bundle without --trust fails: the signer is unknown.
    assert!(e.verify(&out).status.success());
    let v = run(&["verify", out.to_str().unwrap()]);
    assert!(!v.status.success() && fail_line(&v, "signer").contains("unknown"), "{}", stdout(&v));
    // A trust store named by the environment is used like --trust.
    let v = std::process::Command::new(bin())
        .args(["verify", out.to_str().unwrap()])
        .env("DISCLOSE_TRUST", e.keys.join("signing-cert.pem"))
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", stdout(&v));
}

#[test]
fn a_further_signature_added_by_pyhanko_fails_verify() {
    let e = env();
    let out = e.signed("leah");
    let evil = e.dir.path().join("evil");
    assert!(run(&["keygen", "--out", evil.to_str().unwrap(), "--name", "Northbrook IG test"]).status.success());
    let forged = e.dir.path().join("forged");
    copy_dir(&out, &forged);
    let ph = std::env::var("PYHANKO").unwrap_or_else(|_| "pyhanko".into());
    let o = tool(
        &ph,
        &[
            "sign",
            "addsig",
            "--field",
            "Sig2",
            "pemder",
            "--no-pass",
            "--key",
            evil.join("signing-key.pem").to_str().unwrap(),
            "--cert",
            evil.join("signing-cert.pem").to_str().unwrap(),
            out.join("bundle.pdf").to_str().unwrap(),
            forged.join("bundle.pdf").to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "pyhanko: {}{}", stdout(&o), stderr(&o));
    let mut m = manifest_of(&forged);
    m.bundle_sha256 = disclose::seal::manifest::sha256_hex(&std::fs::read(forged.join("bundle.pdf")).unwrap());
    write_manifest(&forged, &m);
    let v = e.verify(&forged);
    assert!(!v.status.success(), "{}", stdout(&v));
    assert!(fail_line(&v, "signed range").contains("2 signatures"), "{}", stdout(&v));
}

/// The keyed hash the trail uses, for an attacker who has the store but not the key (any key
/// they pick), and the unkeyed hash of the first build.
fn unkeyed(prev: &str, json: &str) -> String {
    disclose::seal::manifest::sha256_hex(format!("{prev}\n{json}").as_bytes())
}

fn keyed_with(key: &[u8], prev: &str, json: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut m = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
    m.update(prev.as_bytes());
    m.update(b"\n");
    m.update(json.as_bytes());
    m.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Rewrite entry `from` onwards with `edit` and recompute the chain and its head with `hash`.
fn rewrite_chain(db: &Path, from: i64, edit: &dyn Fn(&str) -> String, hash: &dyn Fn(&str, &str) -> String) {
    let c = rusqlite::Connection::open(db).unwrap();
    let rows: Vec<(i64, String, String)> = {
        let mut st = c.prepare("SELECT seq, entry_json, prev_hash FROM audit ORDER BY seq").unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
    };
    let mut prev = String::new();
    for (seq, json, p) in rows {
        if seq < from {
            prev = c.query_row("SELECT hash FROM audit WHERE seq = ?1", [seq], |r| r.get(0)).unwrap();
            continue;
        }
        let p = if seq == from { p } else { prev.clone() };
        let json = if seq == from { edit(&json) } else { json };
        let h = hash(&p, &json);
        c.execute(
            "UPDATE audit SET entry_json = ?1, prev_hash = ?2, hash = ?3 WHERE seq = ?4",
            rusqlite::params![json, p, h, seq],
        )
        .unwrap();
        c.execute("UPDATE audit_head SET seq = ?1, hash = ?2", rusqlite::params![seq, h]).unwrap();
        prev = h;
    }
}

#[test]
fn audit_rewrites_with_a_recomputed_chain_or_all_entries_deleted_are_detected() {
    let e = env();
    let one = e.signed("one");
    e.signed("two");
    let three = e.signed("three");
    let audit = |extra: &[&str]| {
        let mut a = vec!["audit", "--db", e.db.to_str().unwrap(), "--verify"];
        a.extend_from_slice(extra);
        run(&a)
    };
    assert!(audit(&[]).status.success(), "{}", stderr(&audit(&[])));
    let pristine = std::fs::read(&e.db).unwrap();
    let checkpoint = e.dir.path().join("case.db.audit-key.head");
    let saved_checkpoint = std::fs::read(&checkpoint).unwrap();
    let restore = || {
        std::fs::write(&e.db, &pristine).unwrap();
        std::fs::write(&checkpoint, &saved_checkpoint).unwrap();
    };
    let officer = |j: &str| j.replace("test officer", "someone else");
    // An entry rewritten, the chain after it recomputed: unkeyed, and keyed with another key.
    type ChainHash = Box<dyn Fn(&str, &str) -> String>;
    let attacks: [(&str, ChainHash); 2] =
        [("unkeyed", Box::new(unkeyed)), ("another key", Box::new(|p: &str, j: &str| keyed_with(&[7u8; 32], p, j)))];
    for (name, hash) in &attacks {
        rewrite_chain(&e.db, 2, &officer, hash.as_ref());
        let a = audit(&[]);
        assert!(!a.status.success(), "{name}: a recomputed chain passed");
        assert!(stderr(&a).contains("entry 2") && stderr(&a).contains("audit key"), "{name}: {}", stderr(&a));
        let v = e.verify(&three);
        assert!(!v.status.success() && !fail_line(&v, "audit trail").is_empty(), "{name}: {}", stdout(&v));
        // Even with the checkpoint made to agree (it sits beside the key, out of reach; this is
        // the chain's own keyed hash alone), the rewrite is seen.
        let c = rusqlite::Connection::open(&e.db).unwrap();
        let (seq, h): (i64, String) = c
            .query_row("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        std::fs::write(&checkpoint, format!("{seq} {h}\n")).unwrap();
        let a = audit(&[]);
        assert!(!a.status.success(), "{name}: a recomputed chain passed with its checkpoint");
        assert!(stderr(&a).contains("entry 2") && stderr(&a).contains("audit key"), "{name}: {}", stderr(&a));
        restore();
    }
    // Every entry deleted (and the spans): the checkpoint beside the key says there were three.
    {
        let c = rusqlite::Connection::open(&e.db).unwrap();
        c.execute_batch("DELETE FROM audit; DELETE FROM audit_head; DELETE FROM removed_span;").unwrap();
    }
    let a = audit(&[]);
    assert!(!a.status.success(), "deleting every entry went unseen");
    assert!(stderr(&a).contains("checkpoint"), "{}", stderr(&a));
    // Without the checkpoint too, the manifests of the bundles sent contradict the empty trail.
    std::fs::remove_file(&checkpoint).unwrap();
    let a = audit(&["--manifest", one.to_str().unwrap(), "--manifest", three.join("manifest.json").to_str().unwrap()]);
    assert!(!a.status.success(), "deleting every entry went unseen with the manifests given");
    assert!(stderr(&a).contains("not in the audit trail"), "{}", stderr(&a));
    let v = e.verify(&three);
    assert!(!v.status.success(), "{}", stdout(&v));
    restore();
    // The earlier entries rewritten and renumbered as if the first release never happened: the
    // later manifests carry heads the trail no longer holds (found through the folders it records).
    {
        let c = rusqlite::Connection::open(&e.db).unwrap();
        c.execute("DELETE FROM audit WHERE seq = 1", []).unwrap();
        c.execute("UPDATE audit SET seq = seq - 1", []).unwrap();
    }
    rewrite_chain(&e.db, 1, &|j: &str| j.to_string(), &unkeyed);
    let a = audit(&[]);
    assert!(!a.status.success(), "{}", stderr(&a));
    restore();
    assert!(audit(&[]).status.success());
}

#[test]
fn keygen_never_replaces_a_key() {
    let e = env();
    let before = std::fs::read(e.keys.join("signing-key.pem")).unwrap();
    let o = run(&["keygen", "--out", e.keys.to_str().unwrap()]);
    assert!(!o.status.success(), "a key was overwritten");
    let err = stderr(&o);
    assert!(err.contains("already exists") && err.contains("Move it away first, or choose another --out"), "{err}");
    assert_eq!(std::fs::read(e.keys.join("signing-key.pem")).unwrap(), before);
    let left: Vec<_> = std::fs::read_dir(&e.keys).unwrap().map(|d| d.unwrap().file_name()).collect();
    assert_eq!(left.len(), 2, "nothing was written: {left:?}");
}

/// A sealed bundle's letter says what the seal is and how to check it in a PDF reader, in plain
/// words, and sends no one to the command line; the signature still verifies (pdfsig).
#[test]
fn the_letter_explains_the_seal_in_plain_words() {
    let e = env();
    let out = e.signed("sealed");
    let o = tool("pdftotext", &["-q", "-layout", out.join("bundle.pdf").to_str().unwrap(), "-"]);
    let letter = fold(&stdout(&o));
    assert!(letter.contains("how to tell this bundle is genuine"), "{letter}");
    assert!(letter.contains("pdf reader that shows signatures"), "{letter}");
    assert!(letter.contains("made by northbrook ig test"), "{letter}");
    assert!(!letter.contains("disclose verify"), "{letter}");
    let s = tool("pdfsig", &[out.join("bundle.pdf").to_str().unwrap()]);
    assert!(stdout(&s).contains("Signature is Valid"), "{}", stdout(&s));
}

/// `verify` on an unsigned bundle says it is unsigned and exits non-zero; on a folder that is not
/// an export's output it says which folder to give, and exits non-zero.
#[test]
fn verify_refuses_an_unsigned_bundle_and_a_folder_that_is_no_output() {
    let e = env();
    let (o, out) = e.export("unsigned", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = run(&["verify", out.to_str().unwrap()]);
    assert_eq!(v.status.code(), Some(1), "{}{}", stdout(&v), stderr(&v));
    assert!(stdout(&v).contains("not signed"), "{}", stdout(&v));
    let none = e.dir.path().join("not-an-output");
    std::fs::create_dir(&none).unwrap();
    let v = run(&["verify", none.to_str().unwrap()]);
    assert!(!v.status.success());
    assert!(stderr(&v).contains("give the folder that `disclose export --out` wrote"), "{}", stderr(&v));
    assert!(!stderr(&v).contains("sign this pdf"), "{}", stderr(&v));
}
