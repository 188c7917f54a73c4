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
        assert_eq!(o.status.code(), Some(1), "one request fails: {}{}", stdout(&o), stderr(&o));
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
