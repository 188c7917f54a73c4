//! `disclose batch`: many requests at once. Each request is built in parallel (rayon, one store
//! connection per worker), then written and audited one by one in the order of the CSV, so the
//! outputs and the audit chain are the same whatever the number of threads. One failing request
//! is reported and does not stop the others.

use crate::export::{self, ExportRequest, Outputs};
use crate::model::PersonId;
use crate::store::Store;
use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// One row of the requests CSV.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub line: usize,
    pub subject: String,
    pub policy: String,
    /// Empty: the subject, where the policy allows it.
    pub requester: Option<String>,
    pub officer: Option<String>,
    pub name: Option<String>,
    /// An officer's reason to go on despite a marker the policy refuses (column override_reason).
    pub override_reason: Option<String>,
}

/// Parse the requests CSV: a header naming the columns subject, policy, requester and optionally
/// officer and output (name); quoted cells may hold commas.
pub fn parse_csv(text: &str, source: &str) -> Result<Vec<Row>> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let Some((_, header)) = lines.next() else {
        bail!("{source}: empty; the first line names the columns subject,policy,requester[,officer,output]")
    };
    let cols: Vec<String> = cells(header).into_iter().map(|c| c.trim().to_lowercase()).collect();
    let find = |n: &[&str]| cols.iter().position(|c| n.contains(&c.as_str()));
    let (Some(s), Some(p), Some(r)) = (find(&["subject"]), find(&["policy"]), find(&["requester"])) else {
        bail!("{source}: line 1 must name the columns subject, policy and requester (and optionally officer, output)");
    };
    let o = find(&["officer"]);
    let n = find(&["output", "output_name", "name"]);
    let ov = find(&["override_reason"]);
    let mut rows = Vec::new();
    for (i, l) in lines {
        let c = cells(l);
        let get = |k: usize| c.get(k).map(|x| x.trim().to_string()).filter(|x| !x.is_empty());
        let (Some(subject), Some(policy)) = (get(s), get(p)) else {
            bail!("{source}: line {}: subject and policy are required", i + 1);
        };
        rows.push(Row {
            line: i + 1,
            subject,
            policy,
            requester: get(r),
            officer: o.and_then(get),
            name: n.and_then(get),
            override_reason: ov.and_then(get),
        });
    }
    // Two requests into one folder would overwrite each other.
    let mut seen: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for r in &rows {
        if let Some(name) = &r.name {
            if let Some(first) = seen.insert(name.as_str(), r.line) {
                bail!(
                    "{source}: line {}: output {name:?} is already used by line {first}; give each request its own output",
                    r.line
                );
            }
        }
    }
    Ok(rows)
}

fn cells(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut q = false;
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '"' if q && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => q = !q,
            ',' if !q => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// The outcome of one row.
pub struct RowResult {
    pub row: Row,
    pub out: PathBuf,
    pub result: Result<String>,
}

/// Run every row; `jobs` = 0 uses all cores. `progress` is called once per finished build.
pub fn run(
    db: &Path,
    rows: &[Row],
    out_dir: &Path,
    sign: Option<export::SignWith>,
    jobs: usize,
    progress: &(dyn Fn(&Row) + Sync),
) -> Result<Vec<RowResult>> {
    let reqs: Vec<ExportRequest> = rows
        .iter()
        .map(|r| ExportRequest {
            subject: PersonId(r.subject.clone()),
            requester: r.requester.clone(),
            policy: r.policy.clone(),
            out: out_dir.join(r.name.clone().unwrap_or_else(|| format!("{:03}-{}-{}", r.line, r.subject, r.policy))),
            export: None,
            date: None,
            officer: r.officer.clone(),
            sign: sign.clone(),
            override_reason: r.override_reason.clone(),
        })
        .collect();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build().context("starting the worker threads")?;
    let built: Vec<Result<Outputs>> = pool.install(|| {
        reqs.par_iter()
            .zip(rows.par_iter())
            .map_init(
                || Store::open(db),
                |store, (req, row)| {
                    let r = match store {
                        Ok(s) => export::build(s, req),
                        Err(e) => Err(anyhow::anyhow!("opening the case store: {e}")),
                    };
                    progress(row);
                    r
                },
            )
            .collect()
    });
    // Write and audit in the order of the file.
    let mut store = Store::open(db)?;
    let mut results = Vec::new();
    for ((row, req), b) in rows.iter().zip(&reqs).zip(built) {
        let result = b.and_then(|mut o| {
            o.staged.commit()?;
            export::audit_outputs(&mut store, req, &o)?;
            Ok(format!(
                "{} marks, {} held for review{}",
                o.plan.disclosure.marks.len(),
                o.plan.review().len(),
                if o.plan.verification_failures() > 0 { ", verification failures" } else { "" }
            ))
        });
        results.push(RowResult { row: row.clone(), out: req.out.clone(), result });
    }
    Ok(results)
}
