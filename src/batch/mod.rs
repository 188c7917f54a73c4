//! `disclose batch`: many requests at once. Each request is built in parallel (rayon, one store
//! connection per worker), then written and audited one by one in the order of the CSV, so the
//! outputs and the audit chain are the same whatever the number of threads. One failing request
//! is reported and does not stop the others. Each is put in place as `export` does: audited as
//! pending first, swapped in whole, marked done.

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
/// officer and output (name). Read as CSV proper (the `csv` crate): quoted cells may hold commas,
/// quotes and line breaks; CRLF line ends and the byte-order mark a spreadsheet writes are
/// accepted; blank lines and lines starting with `#` are skipped. Output names must stay inside
/// the output folder.
pub fn parse_csv(text: &str, source: &str) -> Result<Vec<Row>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let mut records = Vec::new();
    for r in rd.records() {
        let r = r.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            anyhow::anyhow!("{source}: line {line}: not a well-formed CSV row (an unclosed quote?); fix the file")
        })?;
        if r.iter().all(|c| c.is_empty()) {
            continue;
        }
        let line = r.position().map(|p| p.line() as usize).unwrap_or(0);
        records.push((line, r));
    }
    let mut it = records.into_iter();
    let Some((_, header)) = it.next() else {
        bail!("{source}: empty; the first line names the columns subject,policy,requester[,officer,output]")
    };
    let cols: Vec<String> = header.iter().map(|c| c.to_lowercase()).collect();
    let find = |n: &[&str]| cols.iter().position(|c| n.contains(&c.as_str()));
    let (Some(s), Some(p), Some(r)) = (find(&["subject"]), find(&["policy"]), find(&["requester"])) else {
        bail!("{source}: line 1 must name the columns subject, policy and requester (and optionally officer, output)");
    };
    let o = find(&["officer"]);
    let n = find(&["output", "output_name", "name"]);
    let ov = find(&["override_reason"]);
    let mut rows = Vec::new();
    for (line, c) in it {
        let get = |k: usize| c.get(k).map(str::to_string).filter(|x| !x.is_empty());
        let (Some(subject), Some(policy)) = (get(s), get(p)) else {
            bail!("{source}: line {line}: subject and policy are required");
        };
        let name = n.and_then(get);
        if let Some(name) = &name {
            let path = Path::new(name);
            let inside =
                !path.as_os_str().is_empty() && path.components().all(|c| matches!(c, std::path::Component::Normal(_)));
            if !inside {
                bail!(
                    "{source}: line {line}: output {name:?} leaves the output folder (an absolute path, `..` or `.`); give a folder name inside --out. Nothing was run"
                );
            }
        }
        rows.push(Row {
            line,
            subject,
            policy,
            requester: get(r),
            officer: o.and_then(get),
            name,
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

/// The outcome of one row.
pub struct RowResult {
    pub row: Row,
    pub out: PathBuf,
    pub result: Result<String>,
}

/// Run every row; `jobs` = 0 uses all cores. `progress` is called once per finished build.
/// `audit_key` is the store's audit key when not the default; `rel` how outputs are put in place.
#[allow(clippy::too_many_arguments)]
pub fn run(
    db: &Path,
    rows: &[Row],
    out_dir: &Path,
    sign: Option<export::SignWith>,
    jobs: usize,
    progress: &(dyn Fn(&Row) + Sync),
    audit_key: Option<PathBuf>,
    rel: export::Release,
    unreviewed: Option<export::Unreviewed>,
    council: Option<&Path>,
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
            request: None,
            release_unreviewed: unreviewed.clone(),
            reference: None,
            response_date: None,
            council: council.map(Path::to_path_buf),
        })
        .collect();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs).build().context("starting the worker threads")?;
    let built: Vec<Result<Outputs>> = pool.install(|| {
        reqs.par_iter()
            .zip(rows.par_iter())
            .map_init(
                || Store::open_existing(db),
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
    // Audit and put in place in the order of the file.
    let mut store = Store::open_existing(db)?;
    store.set_audit_key(audit_key);
    crate::audit::settle(&mut store)?;
    let mut results = Vec::new();
    for ((row, req), b) in rows.iter().zip(&reqs).zip(built) {
        let result = b.and_then(|mut o| {
            export::release(&mut store, req, &mut o, rel)?;
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
