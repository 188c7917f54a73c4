//! Faults: a kill at every step of putting outputs in place, a store that cannot be written,
//! imports at once into one store, a store file that is not a store, single-byte corruptions of
//! blobs and rows, and output folders that hold another request's outputs or other files.

use crate::util::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn export_cmd(db: &Path, out: &Path, subject: &str, policy: &str, date: &str) -> Command {
    let mut c = Command::new(bin());
    c.args(["export", "--db", s(db), "--subject", subject, "--policy", policy, "--out", s(out), "--date", date]);
    c.args(["--officer", "test officer"]);
    c
}

/// Name -> bytes of every entry of a folder (sorted); folders are listed with no bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut m = BTreeMap::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            let bytes = if p.is_file() { std::fs::read(&p).unwrap() } else { Vec::new() };
            m.insert(e.file_name().to_string_lossy().into_owned(), bytes);
        }
    }
    m
}

fn names(dir: &Path) -> Vec<String> {
    files(dir).into_keys().collect()
}

const OUTPUTS: [&str; 5] = ["bundle.pdf", "manifest.json", "plan.json", "preview.txt", "schedule.csv"];

fn audit_text(db: &Path) -> String {
    let a = run(&["audit", "--db", s(db)]);
    assert!(a.status.success(), "{}", stderr(&a));
    stdout(&a)
}

/// Kill an export (abort, as a kill would) at each fault point of putting its outputs in place,
/// over a folder holding an earlier run's outputs. After each kill the folder holds exactly the
/// old outputs or exactly the new ones, complete and recorded in the audit trail; the next run
/// recovers (no staging folder left, the pending release settled) and the trail verifies.
fn kill_at_every_step(no_exchange: bool) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.db");
    import_northbrook(&db);
    let parent = dir.path().join("outs");
    let out = parent.join("leah");
    let (old, new) = ("2024-03-01", "2024-05-02");
    let mut steps = 0;
    for n in 1..=20 {
        let o = export_cmd(&db, &out, "p-leah", "sar-self", old).output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let mut c = export_cmd(&db, &out, "p-leah", "sar-self", new);
        c.env("DISCLOSE_FAULT_AT", n.to_string());
        if no_exchange {
            c.env("DISCLOSE_NO_EXCHANGE", "1");
        }
        let o = c.output().unwrap();
        if o.status.success() {
            break; // past the last fault point
        }
        steps += 1;
        assert!(o.status.code().is_none(), "step {n}: the run was not killed: {}", stderr(&o));
        // Whole: the five outputs, nothing else, and they verify against the store.
        assert_eq!(names(&out), OUTPUTS.to_vec(), "step {n}: the folder is incomplete");
        let m = read_json(&out.join("manifest.json"));
        let date = m["core"]["request"]["date"].as_str().unwrap().to_string();
        assert!(date == old || date == new, "step {n}: {date}");
        let v = run(&["verify", s(&out), "--db", s(&db)]);
        assert!(v.status.success(), "step {n} ({date} in place): {}", stdout(&v));
        // The next run recovers and succeeds.
        let mut c = export_cmd(&db, &out, "p-leah", "sar-self", new);
        if no_exchange {
            c.env("DISCLOSE_NO_EXCHANGE", "1");
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "step {n}: the run after the kill failed: {}", stderr(&o));
        assert_eq!(names(&parent), vec!["leah".to_string()], "step {n}: staging folders are left");
        assert_eq!(read_json(&out.join("manifest.json"))["core"]["request"]["date"], new);
        assert!(!audit_text(&db).contains("[pending]"), "step {n}: a pending release is left:\n{}", audit_text(&db));
        let a = run(&["audit", "--db", s(&db), "--verify"]);
        assert!(a.status.success(), "step {n}: {}{}", stdout(&a), stderr(&a));
    }
    assert!(steps >= 4, "only {steps} fault points were passed");
}

#[test]
fn a_kill_at_any_step_of_the_commit_leaves_the_old_or_the_new_outputs_whole() {
    kill_at_every_step(false);
}

#[test]
fn a_kill_between_the_two_renames_where_there_is_no_exchange_is_put_right() {
    kill_at_every_step(true);
}

/// Run the binary without the power to write files it has no permission for (root keeps it
/// otherwise: the capability that overrides permissions is dropped for the child).
fn run_unprivileged(mut c: Command) -> Output {
    #[cfg(target_os = "linux")]
    unsafe {
        use std::os::unix::process::CommandExt;
        c.pre_exec(|| {
            if libc::geteuid() == 0 {
                // CAP_DAC_OVERRIDE (1) and CAP_DAC_READ_SEARCH (2) out of the bounding set: the
                // program run next does not get them.
                for cap in [1, 2] {
                    if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
            }
            Ok(())
        });
    }
    c.output().unwrap()
}

#[cfg(unix)]
#[test]
fn with_the_store_read_only_an_export_fails_before_any_output_is_in_place() {
    use std::os::unix::fs::PermissionsExt;
    let chmod = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    for what in ["file", "folder"] {
        let dir = tempfile::tempdir().unwrap();
        let store_dir = dir.path().join("store");
        std::fs::create_dir(&store_dir).unwrap();
        let db = store_dir.join("case.db");
        import_northbrook(&db);
        let done = dir.path().join("done");
        let o = export_cmd(&db, &done, "p-leah", "sar-self", "2024-03-01").output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let before_done = files(&done);
        let before_audit = audit_text(&db);
        if what == "file" {
            chmod(&db, 0o444);
        } else {
            chmod(&store_dir, 0o555);
        }
        // A new folder, and a re-run over the earlier outputs.
        let fresh = dir.path().join("fresh");
        for (out, date) in [(&fresh, "2024-03-01"), (&done, "2024-06-06")] {
            let o = run_unprivileged(export_cmd(&db, out, "p-leah", "sar-self", date));
            assert!(!o.status.success(), "{what}: an export with a read-only store succeeded");
            assert!(stderr(&o).contains("nothing was put in place"), "{what}: {}", stderr(&o));
        }
        assert!(!fresh.exists(), "{what}: outputs were left");
        assert_eq!(files(&done), before_done, "{what}: the earlier outputs changed");
        assert_eq!(names(dir.path()), vec!["done".to_string(), "store".to_string()], "{what}: leftovers");
        chmod(&store_dir, 0o755);
        chmod(&db, 0o644);
        assert_eq!(audit_text(&db), before_audit, "{what}: the trail changed");
    }
}

#[test]
fn imports_at_once_into_one_store_all_land_or_are_refused_as_duplicates() {
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("case.db"); // not there yet: the store is made by the race
        let exports =
            [northbrook(), family_path("ashgrove"), family_path("fernhill"), northbrook(), family_path("ashgrove")];
        let kids: Vec<_> =
            exports.iter().map(|e| Command::new(bin()).args(["import", s(e), "--db", s(&db)]).output_spawn()).collect();
        let outs: Vec<Output> = kids.into_iter().map(|k| k.wait_with_output().unwrap()).collect();
        let ok = outs.iter().filter(|o| o.status.success()).count();
        assert_eq!(ok, 3, "round {round}: {:?}", outs.iter().map(stderr).collect::<Vec<_>>());
        for o in outs.iter().filter(|o| !o.status.success()) {
            let e = stderr(o);
            assert!(e.contains("is already in the case store; pass --replace"), "round {round}: {e}");
        }
        let st = disclose::store::Store::open_existing(&db).unwrap();
        let ids = st.exports().unwrap();
        assert_eq!(ids.len(), 3, "round {round}");
        for id in &ids {
            st.load_family(id).unwrap();
        }
    }
}

trait Spawn {
    fn output_spawn(&mut self) -> std::process::Child;
}

impl Spawn for Command {
    fn output_spawn(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap()
    }
}

#[test]
fn a_file_that_is_not_a_store_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let text = dir.path().join("requests.csv");
    std::fs::write(&text, b"subject,policy,requester\n").unwrap();
    for (p, why) in [(&empty, "the file is empty"), (&text, "not a SQLite database")] {
        let before = std::fs::read(p).unwrap();
        for args in [
            vec!["import", s(&northbrook()), "--db", s(p)],
            vec!["files", "--db", s(p)],
            vec!["export", "--db", s(p), "--subject", "p-leah", "--policy", "sar-self", "--out", "x"],
        ] {
            let o = run(&args);
            assert!(!o.status.success(), "{args:?} accepted {}", p.display());
            let e = stderr(&o);
            assert!(e.contains("is not a disclose case store") && e.contains(why), "{e}");
            assert!(e.contains("a path where no file exists"), "the message says what to do: {e}");
        }
        assert_eq!(std::fs::read(p).unwrap(), before);
    }
    assert_eq!(names(dir.path()), vec!["empty.db".to_string(), "requests.csv".to_string()]);
}

/// Change one byte of one value in the store (a text or blob column), by SQL.
fn corrupt(db: &Path, table: &str, column: &str, row: &str, at: usize) {
    let c = rusqlite::Connection::open(db).unwrap();
    let sql = format!("SELECT rowid, {column} FROM {table} WHERE {row} LIMIT 1");
    let (rowid, mut v): (i64, Vec<u8>) = c
        .query_row(&sql, [], |r| {
            let v = match r.get_ref(1)? {
                rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => t.to_vec(),
                _ => panic!("{table}.{column} is not text or blob"),
            };
            Ok((r.get(0)?, v))
        })
        .unwrap();
    let i = at.min(v.len() - 1);
    // A letter stays a letter, so the text stays valid UTF-8 and the JSON stays JSON.
    v[i] = if v[i].is_ascii_lowercase() {
        if v[i] == b'z' {
            b'y'
        } else {
            v[i] + 1
        }
    } else {
        v[i] ^ 1
    };
    let is_blob: bool = c
        .query_row(&format!("SELECT typeof({column}) = 'blob' FROM {table} WHERE rowid = ?1"), [rowid], |r| r.get(0))
        .unwrap();
    let upd = format!("UPDATE {table} SET {column} = ?1 WHERE rowid = ?2");
    if is_blob {
        c.execute(&upd, rusqlite::params![v, rowid]).unwrap();
    } else {
        c.execute(&upd, rusqlite::params![String::from_utf8(v).unwrap(), rowid]).unwrap();
    }
}

#[test]
fn single_byte_corruptions_of_blobs_and_rows_are_refused_before_an_export() {
    let cases: [(&str, &str, &str, usize, &str); 7] = [
        (
            "blob",
            "bytes",
            "sha256 = (SELECT sha256 FROM attachment_blob WHERE attachment_id = 'att-ppn')",
            2000,
            "attachment blob",
        ),
        ("entity", "json", "kind = 'person'", 40, "rows no longer match"),
        ("entity", "json", "kind = 'record'", 300, "rows no longer match"),
        ("entity", "json", "kind = 'relationship'", 20, "rows no longer match"),
        ("section_text", "text", "1", 30, "rows no longer match"),
        ("membership", "person_id", "1", 3, "rows no longer match"),
        ("attachment_blob", "attachment_id", "1", 5, "rows no longer match"),
    ];
    for (table, column, row, at, msg) in cases {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("case.db");
        import_northbrook(&db);
        corrupt(&db, table, column, row, at);
        let out = dir.path().join("out");
        let o = export_cmd(&db, &out, "p-leah", "sar-self", "2024-04-19").output().unwrap();
        assert!(!o.status.success(), "{table}.{column}: a corrupted store gave a bundle");
        let e = stderr(&o);
        assert!(e.contains(msg) && e.contains("import the export again with --replace"), "{table}.{column}: {e}");
        assert!(!out.exists(), "{table}.{column}: outputs were written");
    }
}

#[test]
fn an_output_folder_of_another_request_or_with_other_files_is_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.db");
    import_northbrook(&db);
    let out = dir.path().join("out");
    let o = export_cmd(&db, &out, "p-leah", "sar-self", "2024-04-19").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let leah = files(&out);
    let entries = audit_text(&db).lines().count();
    // Another request into the same folder.
    let o = export_cmd(&db, &out, "p-maisie", "sar-parent", "2024-04-19")
        .args(["--requester", "p-danielle"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("holds the outputs of another request") && e.contains("--force"), "{e}");
    assert_eq!(files(&out), leah, "nothing was written");
    assert_eq!(names(dir.path()), vec!["case.db", "case.db.audit-key", "case.db.audit-key.head", "out"]);
    assert_eq!(audit_text(&db).lines().count(), entries, "a refused export was audited");
    // Files that are not this tool's.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("Letter to Gwen Aldous.docx"), b"mine").unwrap();
    let o = export_cmd(&db, &other, "p-leah", "sar-self", "2024-04-19").output().unwrap();
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("did not write") && e.contains("--force") && !e.contains("Gwen"), "{e}");
    assert_eq!(names(&other), vec!["Letter to Gwen Aldous.docx"]);
    // With --force: replaced, and the other files kept.
    let o = export_cmd(&db, &other, "p-leah", "sar-self", "2024-04-19").arg("--force").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let mut want: Vec<&str> = OUTPUTS.to_vec();
    want.insert(0, "Letter to Gwen Aldous.docx");
    assert_eq!(names(&other), want);
    assert_eq!(std::fs::read(other.join("Letter to Gwen Aldous.docx")).unwrap(), b"mine");
    let o = export_cmd(&db, &out, "p-maisie", "sar-parent", "2024-04-19")
        .args(["--requester", "p-danielle", "--force"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read_json(&out.join("manifest.json"))["core"]["request"]["subject"], "p-maisie");
    // The same request again (another date) needs no --force.
    let o = export_cmd(&db, &out, "p-maisie", "sar-parent", "2024-05-01")
        .args(["--requester", "p-danielle"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Where the output folder is a file, nothing is forced over it.
#[test]
fn an_output_path_that_is_a_file_is_refused_even_with_force() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.db");
    import_northbrook(&db);
    let f: PathBuf = dir.path().join("out");
    std::fs::write(&f, b"x").unwrap();
    let o = export_cmd(&db, &f, "p-leah", "sar-self", "2024-04-19").arg("--force").output().unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("is a file, not a folder"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&f).unwrap(), b"x");
}
