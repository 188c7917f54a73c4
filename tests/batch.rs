//! `disclose batch`: parallel output is byte-identical to sequential output; one failing request
//! is reported, does not stop the others, and the exit code counts the failures.

use crate::util::*;
use std::path::Path;

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.strip_prefix(dir).unwrap().display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn parallel_batch_output_is_identical_to_sequential_and_failures_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("requests.csv");
    std::fs::write(
        &csv,
        "subject,policy,requester,officer,output,override_reason\n\
         p-leah,sar-self,p-leah,ig officer,leah,\n\
         p-maisie,sar-parent,p-ryan,,maisie-father,the risk was weighed\n\
         p-nobody,sar-self,p-nobody,,missing\n\
         p-tyler,court,p-danielle,\"Smith, J\",tyler-court\n",
    )
    .unwrap();
    let mut outs = Vec::new();
    for jobs in ["1", "2"] {
        let db = dir.path().join(format!("case-{jobs}.db"));
        import_northbrook(&db);
        let out = dir.path().join(format!("out-{jobs}"));
        let o = run(&[
            "batch",
            csv.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--jobs",
            jobs,
        ]);
        assert_eq!(o.status.code(), Some(4), "one request fails: {}{}", stdout(&o), stderr(&o));
        let s = stdout(&o);
        assert!(s.contains("FAIL  line 4: p-nobody") && s.contains("4 requests, 1 failed"), "{s}");
        assert!(out.join("leah/bundle.pdf").exists() && out.join("tyler-court/bundle.pdf").exists());
        assert!(!out.join("missing").exists());
        let a = run(&["audit", "--db", db.to_str().unwrap(), "--verify"]);
        assert!(a.status.success() && stdout(&a).contains("3 entries"), "{}", stdout(&a));
        outs.push(tree(&out));
    }
    assert_eq!(outs[0].len(), outs[1].len());
    for (a, b) in outs[0].iter().zip(&outs[1]) {
        assert_eq!(a.0, b.0);
        assert!(a.1 == b.1, "{} differs between --jobs 1 and --jobs 2", a.0);
    }
}

/// Run `disclose batch` on a CSV against a fresh Northbrook store; gives its output and the
/// output folder (the temporary directory lives as long as the first value).
fn batch_on(csv_text: &str) -> (tempfile::TempDir, std::process::Output, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("r.csv");
    std::fs::write(&csv, csv_text).unwrap();
    let db = dir.path().join("case.db");
    import_northbrook(&db);
    let out = dir.path().join("o");
    let o = run(&["batch", csv.to_str().unwrap(), "--db", db.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    (dir, o, out)
}

#[test]
fn a_csv_without_the_required_columns_is_refused() {
    let (_dir, o, _) = batch_on("who,what\np-leah,sar-self\n");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("subject, policy and requester"), "{}", stderr(&o));
}

#[test]
fn two_requests_into_one_output_are_refused_before_anything_runs() {
    let (_dir, o, out) =
        batch_on("subject,policy,requester,output\np-leah,sar-self,p-leah,same\np-leah,court,p-leah,same\n");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("line 3") && stderr(&o).contains("already used by line 2"), "{}", stderr(&o));
    assert!(!out.exists(), "nothing was written");
}

#[test]
fn a_csv_saved_by_a_spreadsheet_is_read() {
    // Byte-order mark, every cell quoted, a comma inside a cell, CRLF line ends, a blank line.
    let (dir, o, out) = batch_on(
        "\u{feff}\"subject\",\"policy\",\"requester\",\"officer\",\"output\"\r\n\
         \"p-leah\",\"sar-self\",\"p-leah\",\"Smith, J\",\"leah\"\r\n\
         \r\n\
         \"p-maisie\",\"sar-parent\",\"p-danielle\",\"\",\"maisie\"\r\n",
    );
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(out.join("leah/bundle.pdf").exists() && out.join("maisie/bundle.pdf").exists());
    let a = run(&["audit", "--db", dir.path().join("case.db").to_str().unwrap()]);
    assert!(stdout(&a).contains("officer Smith, J"), "{}", stdout(&a));
}

#[test]
fn output_names_that_leave_the_output_folder_are_refused_before_anything_runs() {
    for name in ["../escape", "/tmp/disclose-abs", "a/../../b", "."] {
        let (dir, o, out) = batch_on(&format!("subject,policy,requester,output\np-leah,sar-self,p-leah,{name}\n"));
        assert!(!o.status.success(), "{name} was accepted");
        let e = stderr(&o);
        assert!(e.contains("line 2") && e.contains("leaves the output folder") && e.contains("inside --out"), "{e}");
        assert!(!out.exists(), "{name}: something was written");
        assert!(!dir.path().join("escape").exists() && !Path::new("/tmp/disclose-abs").exists());
    }
}

#[test]
fn a_row_whose_folder_holds_another_request_fails_and_the_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.db");
    import_northbrook(&db);
    let out = dir.path().join("o");
    let csv = dir.path().join("r.csv");
    let go = |text: &str, extra: &[&str]| {
        std::fs::write(&csv, text).unwrap();
        let mut a = vec!["batch", csv.to_str().unwrap(), "--db", db.to_str().unwrap(), "--out", out.to_str().unwrap()];
        a.extend_from_slice(extra);
        run(&a)
    };
    let o = go("subject,policy,requester,output\np-leah,sar-self,p-leah,one\n", &[]);
    assert!(o.status.success(), "{}", stdout(&o));
    let before = std::fs::read(out.join("one/bundle.pdf")).unwrap();
    let o = go("subject,policy,requester,output\np-tyler,sar-self,p-tyler,one\np-leah,sar-self,p-leah,two\n", &[]);
    assert_eq!(o.status.code(), Some(4), "{}", stdout(&o));
    assert!(stdout(&o).contains("FAIL  line 2") && stdout(&o).contains("--force"), "{}", stdout(&o));
    assert_eq!(std::fs::read(out.join("one/bundle.pdf")).unwrap(), before, "the other request's outputs were kept");
    assert!(out.join("two/bundle.pdf").exists());
    let o = go("subject,policy,requester,output\np-tyler,sar-self,p-tyler,one\n", &["--force"]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert_eq!(read_json(&out.join("one/manifest.json"))["core"]["request"]["subject"], "p-tyler");
}
