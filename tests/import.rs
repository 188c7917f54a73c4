//! The importer: every validation rule with a broken export, each refused with an error that
//! names the place, and the store unchanged; a round trip; unknown fields; --replace.

use crate::util::*;
use disclose::model::*;
use disclose::store::Store;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

fn db_hash(p: &Path) -> String {
    let b = std::fs::read(p).unwrap();
    disclose::import::hex(&Sha256::digest(&b))
}

/// Import a broken variant over a store that already holds Northbrook: refused, exit non-zero,
/// every expected phrase in the error, no forbidden (personal) value in it, store bytes unchanged.
fn refused(change: impl FnOnce(&mut Value), expect: &[&str], never: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.db");
    let ok = run(&["import", northbrook().to_str().unwrap(), "--db", db.to_str().unwrap()]);
    assert!(ok.status.success(), "{}", stderr(&ok));
    let before = db_hash(&db);
    let mut v = read_json(&northbrook());
    change(&mut v);
    let bad_dir = dir.path().join("bad");
    let p = write_export(&bad_dir, &v);
    let o = run(&["import", p.to_str().unwrap(), "--db", db.to_str().unwrap(), "--replace"]);
    let err = stderr(&o);
    assert!(!o.status.success(), "a broken export was accepted; stdout: {}", stdout(&o));
    for e in expect {
        assert!(err.contains(e), "error should contain {e:?}:\n{err}");
    }
    for n in never {
        assert!(!err.contains(n), "error leaks {n:?}:\n{err}");
    }
    assert_eq!(before, db_hash(&db), "the store changed after a refused import");
}

#[test]
fn unresolved_reference_is_refused() {
    refused(
        |v| v["records"][0]["recorded"]["by"] = json!("pro-nobody"),
        &["records[0] (rec-001)", "recorded.by refers to professional pro-nobody"],
        &[],
    );
}

#[test]
fn section_scoped_to_non_member_is_refused() {
    refused(
        |v| record_mut(v, "rec-003")["sections"][2]["scope"] = json!({"children": ["p-gwen"]}),
        &["(rec-003)", "section s3 is scoped to p-gwen, who is not a member of the record"],
        &[],
    );
}

#[test]
fn removed_member_on_file_is_refused() {
    refused(
        |v| record_mut(v, "rec-011")["membership"][0]["on_file"] = json!(true),
        &["(rec-011)", "removed but on_file is true"],
        &[],
    );
}

#[test]
fn split_from_without_shared_member_is_refused() {
    refused(
        |v| record_mut(v, "rec-012")["links"][0]["target"] = json!("rec-013"),
        &["(rec-012)", "split_from target rec-013 shares no member"],
        &[],
    );
}

#[test]
fn duplicate_id_is_refused() {
    refused(
        |v| v["persons"][1]["id"] = json!("p-danielle"),
        &["persons[1]", "id p-danielle is already used at persons[0]"],
        &[],
    );
}

#[test]
fn bad_date_is_refused() {
    refused(
        |v| v["records"][0]["occurred"]["start"] = json!("2023-13-45T10:00:00Z"),
        &["records[0] (rec-001).occurred.start", "ISO 8601"],
        &[],
    );
}

#[test]
fn period_from_after_to_is_refused() {
    refused(
        |v| v["relationships"][0]["period"] = json!({"from": "2024-05-01", "to": "2024-01-01"}),
        &["relationships[0] (rel-1).period", "period.from is after period.to"],
        &[],
    );
}

#[test]
fn nhs_number_failing_modulus_11_is_refused() {
    refused(
        |v| v["persons"][0]["identifiers"][0]["value"] = json!("9990001015"),
        &["persons[0] (p-danielle).identifiers[0]", "modulus 11"],
        &["9990001015"],
    );
}

#[test]
fn upn_with_wrong_check_letter_is_refused() {
    refused(
        |v| v["persons"][2]["identifiers"][1]["value"] = json!("A999210115417"),
        &["persons[2] (p-leah).identifiers[1]", "check letter"],
        &["A999210115417"],
    );
}

#[test]
fn ni_number_off_pattern_is_refused() {
    refused(
        |v| v["persons"][0]["identifiers"][1]["value"] = json!("QQ12345A"),
        &["persons[0] (p-danielle).identifiers[1]", "NI number pattern"],
        &["QQ12345A"],
    );
}

#[test]
fn wrong_format_is_refused() {
    refused(|v| v["format"] = json!("something-else"), &["not \"csc-case-export\""], &[]);
}

#[test]
fn other_major_version_is_refused() {
    refused(|v| v["format_version"] = json!("1.0.0"), &["format_version 1.0.0 is not supported"], &[]);
}

#[test]
fn attachment_hash_mismatch_is_refused() {
    refused(
        |v| v["attachments"][0]["sha256"] = json!("00".repeat(32)),
        &["attachments[0] (att-ppn)", "sha256 does not match"],
        &[],
    );
}

#[test]
fn missing_attachment_file_is_refused() {
    refused(
        |v| v["attachments"][1]["file"] = json!("attachments/nope.pdf"),
        &["attachments[1] (att-icpc-minutes)", "cannot be read"],
        &[],
    );
}

#[test]
fn attachment_outside_the_folder_is_refused() {
    refused(
        |v| v["attachments"][1]["file"] = json!("../../etc/passwd"),
        &["attachments[1] (att-icpc-minutes)", "relative path inside"],
        &[],
    );
}

#[test]
fn wrong_type_is_refused_with_its_json_path_and_no_value() {
    refused(
        |v| v["persons"][0]["names"] = json!("Danielle Marwick"),
        &["persons[0] (p-danielle).names"],
        &["Danielle", "Marwick"],
    );
    refused(
        |v| v["records"][2]["membership"][0]["on_file"] = json!("Leah yes"),
        &["records[2] (rec-003).membership[0].on_file"],
        &["Leah yes"],
    );
}

#[test]
fn unknown_enum_value_is_refused() {
    refused(
        |v| v["records"][0]["status"] = json!("shredded"),
        &["records[0] (rec-001)", "status must be one of"],
        &["shredded"],
    );
}

#[test]
fn text_ref_to_missing_section_is_refused() {
    refused(
        |v| record_mut(v, "rec-014")["text_refs"][0]["section"] = json!("s9"),
        &["(rec-014).text_refs[0]", "section s9 is not a section"],
        &[],
    );
}

#[test]
fn all_problems_are_listed_not_only_the_first() {
    refused(
        |v| {
            v["records"][0]["recorded"]["by"] = json!("pro-nobody");
            v["persons"][0]["identifiers"][0]["value"] = json!("9990001015");
            record_mut(v, "rec-011")["membership"][0]["on_file"] = json!(true);
        },
        &["3 problems", "pro-nobody", "modulus 11", "removed but on_file"],
        &[],
    );
}

#[test]
fn truncated_json_is_refused_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(northbrook()).unwrap();
    let p = dir.path().join("export.json");
    std::fs::write(&p, &text[..text.len() / 2]).unwrap();
    let db = dir.path().join("case.db");
    let o = run(&["import", p.to_str().unwrap(), "--db", db.to_str().unwrap()]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("not valid JSON at line") && e.contains("column"), "{e}");
}

#[test]
fn same_export_twice_needs_replace() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.db");
    let nb = northbrook();
    assert!(run(&["import", nb.to_str().unwrap(), "--db", db.to_str().unwrap()]).status.success());
    let o = run(&["import", nb.to_str().unwrap(), "--db", db.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--replace"), "{}", stderr(&o));
    let o = run(&["import", nb.to_str().unwrap(), "--db", db.to_str().unwrap(), "--replace"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = Store::open(&db).unwrap();
    assert_eq!(s.exports().unwrap().len(), 1);
}

#[test]
fn unknown_fields_are_ignored_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = read_json(&northbrook());
    v["records"][0]["colour"] = json!("blue");
    v["persons"][0]["favourite"] = json!({"x": 1});
    let p = write_export(dir.path(), &v);
    let db = dir.path().join("case.db");
    let o = run(&["import", p.to_str().unwrap(), "--db", db.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    // The object is named by path and id; the unknown key itself (data) is not.
    assert!(
        e.contains("records[0] (rec-001): an unknown field") && e.contains("persons[0] (p-danielle): an unknown field"),
        "{e}"
    );
    assert!(!e.contains("colour") && !e.contains("favourite"), "{e}");
}

/// Import `v` (an export value) from a fresh folder with Northbrook's attachments; returns the
/// output and the folder.
fn import_value(v: &Value, extra: &[&str], prepare: impl FnOnce(&Path)) -> (std::process::Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let p = write_export(dir.path(), v);
    prepare(dir.path());
    let db = dir.path().join("case.db");
    let mut args = vec!["import", p.to_str().unwrap(), "--db", db.to_str().unwrap()];
    args.extend_from_slice(extra);
    (run(&args), dir)
}

#[test]
fn messages_never_repeat_a_malformed_id_a_quoted_value_an_unknown_key_or_a_file_name() {
    let planted = ["Gwen", "Aldous", "9990001014"];
    let clean = |o: &std::process::Output| {
        let e = stderr(o) + &stdout(o);
        for p in planted {
            assert!(!e.contains(p), "{p:?} is printed:\n{e}");
        }
        e
    };
    // A malformed id (a name typed into it), with a second problem about the same person, and a
    // missing attachment file whose name is a name.
    let mut v = read_json(&northbrook());
    v["persons"][1]["id"] = json!("Gwen Aldous");
    v["persons"][1]["kind"] = json!("neighbour");
    v["persons"][1]["names"][0]["use"] = json!("street");
    v["attachments"][0]["file"] = json!("attachments/Letter to Gwen Aldous.pdf");
    let (o, _d) = import_value(&v, &[], |_| {});
    assert!(!o.status.success());
    let e = clean(&o);
    assert!(e.contains("persons[1]: id must match") && e.contains("persons[1]: kind must be one of"), "{e}");
    assert!(e.contains("attachments[0] (att-ppn): the file named in `file` cannot be read"), "{e}");
    // A value that serde quotes.
    let mut v = read_json(&northbrook());
    v["persons"][0]["names"][0]["given"] = json!(9990001014u64);
    let (o, _d) = import_value(&v, &[], |_| {});
    assert!(!o.status.success());
    let e = clean(&o);
    assert!(e.contains("persons[0] (p-danielle).names[0].given") && e.contains("integer (value)"), "{e}");
    // The key of an unknown field.
    let mut v = read_json(&northbrook());
    v["persons"][0]["Gwen Aldous"] = json!(1);
    v["records"][0]["sections"][0]["Aldous notes"] = json!({"9990001014": true});
    let (o, _d) = import_value(&v, &[], |_| {});
    assert!(o.status.success(), "{}", stderr(&o));
    let e = clean(&o);
    assert!(e.contains("persons[0] (p-danielle): an unknown field"), "{e}");
    assert!(e.contains("records[0] (rec-001).sections[0]: an unknown field"), "{e}");
}

#[cfg(unix)]
#[test]
fn attachment_files_must_be_regular_files_inside_the_export_folder_and_under_the_cap() {
    use std::os::unix::ffi::OsStrExt;
    let v = read_json(&northbrook());
    let target = |d: &Path| d.join("attachments/att-ppn.pdf");
    let outside = root().join("fixtures/northbrook/attachments/att-ppn.pdf");
    let expect_refused = |o: &std::process::Output, why: &str| {
        assert!(!o.status.success(), "accepted: {}", stdout(o));
        let e = stderr(o);
        assert!(e.contains("attachments[0] (att-ppn)") && e.contains(why), "{e}");
        assert!(!e.contains("att-ppn.pdf"), "the file name is printed: {e}");
    };
    // A link that leads out of the folder (to a real PDF with the right hash).
    let (o, _d) = import_value(&v, &[], |d| {
        std::fs::remove_file(target(d)).unwrap();
        std::os::unix::fs::symlink(&outside, target(d)).unwrap();
    });
    expect_refused(&o, "leads out of the export folder");
    // A link to /dev/zero.
    let (o, _d) = import_value(&v, &[], |d| {
        std::fs::remove_file(target(d)).unwrap();
        std::os::unix::fs::symlink("/dev/zero", target(d)).unwrap();
    });
    expect_refused(&o, "leads out of the export folder");
    // A link that stays inside is followed.
    let (o, _d) = import_value(&v, &[], |d| {
        std::fs::rename(target(d), d.join("attachments/real.pdf")).unwrap();
        std::os::unix::fs::symlink("real.pdf", target(d)).unwrap();
    });
    assert!(o.status.success(), "{}", stderr(&o));
    // A FIFO (reading one would wait for a writer forever) and a device node inside the folder.
    let mkfifo = |p: &Path| {
        let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo failed");
    };
    let mkzero = |p: &Path| {
        let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
        let dev = libc::makedev(1, 5); // the kernel's /dev/zero
        let r = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o644, dev) };
        assert_eq!(r, 0, "mknod failed (the test needs root, as CI has): {}", std::io::Error::last_os_error());
    };
    for (what, make) in [("fifo", &mkfifo as &dyn Fn(&Path)), ("device", &mkzero)] {
        let dir = tempfile::tempdir().unwrap();
        let p = write_export(dir.path(), &v);
        std::fs::remove_file(target(dir.path())).unwrap();
        make(&target(dir.path()));
        let db = dir.path().join("case.db");
        let mut child = std::process::Command::new(bin())
            .args(["import", p.to_str().unwrap(), "--db", db.to_str().unwrap()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // A guard against hanging (not a timing check): a reader stuck on the FIFO never returns.
        let mut waited = 0;
        while child.try_wait().unwrap().is_none() {
            if waited > 600 {
                child.kill().unwrap();
                panic!("{what}: the import hung on the attachment file");
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            waited += 1;
        }
        let o = child.wait_with_output().unwrap();
        expect_refused(&o, "is not a regular file");
    }
    // Over the size cap (a real PDF padded to 2 MiB).
    let mut big = v.clone();
    big["attachments"][0].as_object_mut().unwrap().remove("sha256");
    let (o, _d) = import_value(&big, &["--max-attachment-mb", "1"], |d| {
        let mut b = std::fs::read(target(d)).unwrap();
        b.resize(2 << 20, b' ');
        std::fs::write(target(d), b).unwrap();
    });
    expect_refused(&o, "more than the cap of 1 MiB; raise it with --max-attachment-mb");
    let (o, _d) = import_value(&big, &["--max-attachment-mb", "3"], |d| {
        let mut b = std::fs::read(target(d)).unwrap();
        b.resize(2 << 20, b' ');
        std::fs::write(target(d), b).unwrap();
    });
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn round_trip_reads_back_every_entity() {
    let v = disclose::import::parse_and_validate(&northbrook()).unwrap();
    let mut s = Store::open_in_memory().unwrap();
    let store_ok = |s: &mut Store| {
        s.import(
            &disclose::store::ImportBatch {
                export: &v.export,
                relationships: &v.relationships,
                section_text: &v.section_text,
                blobs: &v.blobs,
                source_sha256: v.source_sha256.clone(),
            },
            false,
        )
        .unwrap()
    };
    store_ok(&mut s);
    let f = s.load_family(&v.export.export.id).unwrap();
    let j = |x: &dyn erased::Ser| x.json();
    let e = &v.export;
    assert_eq!(j(&f.persons), j(&e.persons));
    assert_eq!(j(&f.professionals), j(&e.professionals));
    assert_eq!(j(&f.organisations), j(&e.organisations));
    assert_eq!(j(&f.addresses), j(&e.addresses));
    assert_eq!(j(&f.groups), j(&e.groups));
    assert_eq!(j(&f.involvements), j(&e.involvements));
    assert_eq!(j(&f.episodes), j(&e.episodes));
    assert_eq!(j(&f.records), j(&e.records));
    assert_eq!(j(&f.attachments), j(&e.attachments));
    assert_eq!(j(&f.header), j(&e.export));
    // Relationships: every exported one, plus derived inverses.
    assert_eq!(j(&f.relationships[..e.relationships.len()].to_vec()), j(&e.relationships));
    assert!(f.relationships.len() > e.relationships.len());
    // Attachments are in the store by content hash, byte for byte.
    for (att, hash, bytes) in &v.blobs {
        assert_eq!(f.attachment_blobs.get(att), Some(hash));
        assert_eq!(&s.blob(hash).unwrap(), bytes);
    }
    // Section text and offset maps.
    for (r, sec, t) in &v.section_text {
        assert_eq!(f.section_text.get(&(r.clone(), sec.clone())), Some(t));
    }
}

#[test]
fn html_bodies_become_text_with_an_offset_map() {
    let v = disclose::import::parse_and_validate(&family_path("fernhill")).unwrap();
    let html: Vec<_> = v
        .export
        .records
        .iter()
        .flat_map(|r| r.sections.iter().map(move |s| (r, s)))
        .filter(|(_, s)| s.body_format.as_deref() == Some("html"))
        .collect();
    assert!(!html.is_empty(), "fernhill has html sections");
    for (r, s) in html {
        let (_, _, pt) = v.section_text.iter().find(|(rr, ss, _)| rr == &r.id && ss == &s.id).unwrap();
        assert!(!pt.text.contains('<') || !pt.text.contains('>'), "tags left in {}:{}", r.id, s.id);
        assert!(!pt.text.contains("&amp;") && !pt.text.contains("&#39;"));
        assert!(!pt.is_identity());
        assert_eq!(pt.text.len(), pt.map.len());
        let body = s.body.as_deref().unwrap();
        // Every word of the text is found at its mapped place in the source.
        for (i, _) in pt.text.match_indices(char::is_alphabetic).take(50) {
            let src = pt.source_offset(i);
            assert!(body.is_char_boundary(src));
        }
    }
}

#[test]
fn a_family_of_another_kind_imports_unchanged() {
    // ashgrove and fernhill were written by another session from the spec alone.
    for name in ["ashgrove", "fernhill"] {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("case.db");
        let p = family_path(name);
        let o = run(&["import", p.to_str().unwrap(), "--db", db.to_str().unwrap()]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let o = run(&["files", "--db", db.to_str().unwrap()]);
        assert!(o.status.success());
        assert!(stdout(&o).lines().count() > 2, "{}", stdout(&o));
    }
}

/// Serialise anything for comparison.
mod erased {
    pub trait Ser {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap()
        }
    }
}

#[test]
fn ids_in_the_model_are_typed() {
    // A record id and a person id with the same text are different types; this compiles only
    // because we compare their strings.
    let r = RecordId("x".into());
    let p = PersonId("x".into());
    assert_eq!(r.as_str(), p.as_str());
}

#[test]
fn an_export_named_by_its_bare_file_name_imports_from_the_current_folder() {
    // `disclose import export.json` run inside the export's folder: the folder is ".".
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.db");
    let o = std::process::Command::new(bin())
        .current_dir(northbrook().parent().unwrap())
        .args(["import", "export.json", "--db", db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["files", "--db", db.to_str().unwrap()]);
    assert!(stdout(&o).contains("p-leah"), "{}", stdout(&o));
}
