//! The review's commands: `request new|list|extend`, `review list|decide|add|approve|export|
//! import|serve` and `reviewer add`. Each parses its flags, calls `crate::review::workflow`, and
//! prints; no rule lives here.

use super::{RequestCmd, ReviewCmd, ReviewerCmd};
use crate::model::*;
use crate::policy::{MarkId, Reason};
use crate::review::workflow::{self, AddAt, Target};
use crate::review::Verdict;
use crate::store::Store;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn open(db: &Path, audit_key: Option<PathBuf>) -> Result<Store> {
    let mut s = Store::open_existing(db)?;
    s.set_audit_key(audit_key);
    Ok(s)
}

fn officer(o: Option<String>) -> String {
    o.unwrap_or_else(crate::export::os_user)
}

fn code(c: &str) -> Result<Reason> {
    Reason::parse(c).with_context(|| {
        let all: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        format!("--code {c:?} is not a reason code; use one of {}", all.join(", "))
    })
}

/// `disclose request ...`
pub fn request(c: RequestCmd) -> Result<ExitCode> {
    match c {
        RequestCmd::New {
            db,
            subject,
            requester,
            policy,
            received,
            reference,
            export,
            override_reason,
            officer: o,
            audit_key,
        } => {
            let mut store = open(&db, audit_key)?;
            let id = workflow::new_request(
                &mut store,
                &workflow::NewRequest {
                    subject,
                    requester,
                    policy,
                    received,
                    reference,
                    export,
                    override_reason,
                    officer: officer(o),
                },
            )?;
            // The id alone on standard output, so that scripts can capture it.
            println!("{id}");
            Ok(ExitCode::SUCCESS)
        }
        RequestCmd::List { db, today } => {
            let store = Store::open_existing(&db)?;
            let today = match today {
                Some(t) => Date::parse(&t).context("--today must be YYYY-MM-DD")?,
                None => Date::parse(&time::now_utc()[..10]).context("the clock")?,
            };
            let all = workflow::list(&store, today)?;
            if all.is_empty() {
                println!("no requests; register one with `disclose request new`");
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{:<9} {:<14} {:<14} {:<11} {:<10} {:<10} {:>9}  status",
                "request", "subject", "requester", "policy", "received", "due", "days left"
            );
            for s in all {
                let left = if s.stage == workflow::Stage::Released { "-".to_string() } else { s.days_left.to_string() };
                println!(
                    "{:<9} {:<14} {:<14} {:<11} {:<10} {:<10} {:>9}  {}{}",
                    s.row.id,
                    s.row.subject,
                    s.row.requester,
                    s.row.policy,
                    s.row.received,
                    s.due(),
                    left,
                    s.stage.as_str(),
                    if s.row.extended_to.is_some() { " (extended)" } else { "" }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        RequestCmd::Extend { db, request, reason, officer: o, audit_key } => {
            let mut store = open(&db, audit_key)?;
            let to = workflow::extend(&mut store, &request, &reason, &officer(o))?;
            println!("request {request} is now due {to}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `disclose review ...`
pub fn review(c: ReviewCmd) -> Result<ExitCode> {
    match c {
        ReviewCmd::List { db, request, code: only_code, person, csv } => {
            let store = Store::open_existing(&db)?;
            let row = workflow::request(&store, &request)?;
            let p = workflow::propose(&store, &row)?;
            let d = workflow::decisions(&store, &row, &p)?;
            let mut items = workflow::items(&p, &d)?;
            if let Some(c) = &only_code {
                let c = code(c)?;
                items.retain(|i| i.code == c.as_str());
            }
            if let Some(pp) = &person {
                items.retain(|i| &i.person == pp);
            }
            let stdout = std::io::stdout();
            if csv {
                workflow::to_csv(&items, &mut stdout.lock())?;
            } else {
                for i in &items {
                    println!(
                        "{}  {:<4} {:<5} {:<24} {:<12} {:<9} {}{}",
                        i.mark,
                        i.kind,
                        i.code,
                        i.rule,
                        if i.person.is_empty() { "-" } else { &i.person },
                        i.record,
                        escape(&i.context),
                        if i.decision.is_empty() {
                            String::new()
                        } else {
                            format!("  [{} by {}]", i.decision, i.reviewer)
                        }
                    );
                }
                let held = workflow::undecided(&p.proposal, &d).len();
                println!("{} marks and held items; {} held item(s) undecided", items.len(), held);
            }
            Ok(ExitCode::SUCCESS)
        }
        ReviewCmd::Decide {
            db,
            request,
            mark,
            person,
            reviewer,
            accept,
            reject,
            release,
            withhold,
            code: c,
            why,
            audit_key,
        } => {
            let mut store = open(&db, audit_key)?;
            let row = workflow::request(&store, &request)?;
            let p = workflow::propose(&store, &row)?;
            let verdict = match (accept, reject, release, withhold) {
                (true, ..) => Verdict::Accept,
                (_, true, ..) => Verdict::Reject,
                (_, _, true, _) => Verdict::Release,
                (.., true) => Verdict::Withhold { code: code(c.as_deref().unwrap_or(""))? },
                _ => bail!("say what is decided: --accept, --reject, --release or --withhold --code C"),
            };
            let target = match (mark, person) {
                (Some(m), _) => Target::Mark(MarkId(m)),
                (None, Some(pp)) => Target::Person(PersonId(pp)),
                _ => bail!("name the --mark or the --person decided"),
            };
            workflow::decide(&mut store, &row, &p, target, verdict, &reviewer, why.as_deref())?;
            println!("recorded");
            Ok(ExitCode::SUCCESS)
        }
        ReviewCmd::Add { db, request, record, text, attachment, page, rect, code: c, reviewer, why, audit_key } => {
            let mut store = open(&db, audit_key)?;
            let row = workflow::request(&store, &request)?;
            let p = workflow::propose(&store, &row)?;
            let at = match (record, text, attachment, page, rect) {
                (Some(r), Some(t), ..) => AddAt::Words { record: RecordId(r), words: t },
                (_, _, Some(a), Some(pg), Some(rc)) => {
                    let v: Vec<f64> = rc
                        .split(',')
                        .map(|x| x.trim().parse::<f64>())
                        .collect::<Result<_, _>>()
                        .context("--rect is x1,y1,x2,y2 in points")?;
                    let [x1, y1, x2, y2] = v[..] else { bail!("--rect is four numbers: x1,y1,x2,y2") };
                    if pg == 0 {
                        bail!("--page counts from 1");
                    }
                    AddAt::Region { attachment: AttachmentId(a), page: pg - 1, rect: [x1, y1, x2, y2] }
                }
                _ => bail!("give --record with --text, or --attachment with --page and --rect"),
            };
            let (id, n) = workflow::add(&mut store, &row, &p, at, code(&c)?, &reviewer, &why)?;
            println!("added {id} ({n} place{})", if n == 1 { "" } else { "s" });
            Ok(ExitCode::SUCCESS)
        }
        ReviewCmd::Approve { db, request, reviewer, audit_key } => {
            let mut store = open(&db, audit_key)?;
            let row = workflow::request(&store, &request)?;
            let p = workflow::propose(&store, &row)?;
            workflow::approve(&mut store, &row, &p, &reviewer)?;
            println!("request {request} approved by {reviewer}; export it with `disclose export --request {request} --out DIR` (and sign it)");
            Ok(ExitCode::SUCCESS)
        }
        ReviewCmd::Export { db, request, out } => {
            let store = Store::open_existing(&db)?;
            let row = workflow::request(&store, &request)?;
            let p = workflow::propose(&store, &row)?;
            let d = workflow::decisions(&store, &row, &p)?;
            let items = workflow::items(&p, &d)?;
            let mut buf = Vec::new();
            workflow::to_csv(&items, &mut buf)?;
            let dir = out.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
            let name = out.file_name().and_then(|n| n.to_str()).context("--out needs a file name")?;
            crate::export::staged::write_new_files(dir, &[(name, &buf, true)])?;
            println!("wrote {} ({} rows)", out.display(), items.len());
            Ok(ExitCode::SUCCESS)
        }
        ReviewCmd::Import { db, request, reviewer, file, audit_key } => {
            let mut store = open(&db, audit_key)?;
            let row = workflow::request(&store, &request)?;
            let p = workflow::propose(&store, &row)?;
            let data = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let n = workflow::from_csv(&mut store, &row, &p, &reviewer, &data)?;
            println!("recorded {n} decision{}", if n == 1 { "" } else { "s" });
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `disclose reviewer ...`
pub fn reviewer(c: ReviewerCmd) -> Result<ExitCode> {
    match c {
        ReviewerCmd::Add { db, name, password_env, audit_key } => {
            let mut store = open(&db, audit_key)?;
            let password = match &password_env {
                Some(v) => std::env::var(v).with_context(|| format!("the environment variable {v} is not set"))?,
                None => {
                    let a = rpassword::prompt_password(format!("password for {name}: "))
                        .context("reading the password from the terminal")?;
                    let b = rpassword::prompt_password("again: ").context("reading the password from the terminal")?;
                    if a != b {
                        bail!("the two passwords differ");
                    }
                    a
                }
            };
            workflow::add_reviewer(&mut store, &name, &password, &crate::export::os_user())?;
            println!("reviewer {name} registered");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Control characters (and bidi controls) written as escapes, never to the terminal as they are.
fn escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control()
                || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
            {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}
