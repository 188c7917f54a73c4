//! Entry point: parse flags, dispatch to a command, print errors once, map outcomes to exit codes.

use anyhow::{Context, Result};
use clap::Parser;
use disclose::cli::{exit, Cli, Command};
use disclose::export::{self, ExportRequest};
use disclose::file::{self, CaseFile};
use disclose::import;
use disclose::model::{ExportId, PersonId};
use disclose::store::Store;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Output piped into `head` and closed early ends the program quietly, as other Unix tools
    // do, instead of a panic on the next write.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to the default before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    if let Some(p) = &cli.tesseract {
        disclose::ocr::pages::set_program(p.clone());
    }
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(exit::REFUSED)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Import { export, db, replace, max_attachment_mb } => {
            let mut store = Store::open(&db)?;
            let opts =
                import::ImportOptions { replace, max_attachment_bytes: max_attachment_mb.saturating_mul(1 << 20) };
            let rep = import::import_file_with(&mut store, &export, &opts)?;
            for w in &rep.warnings {
                eprintln!("warning: ignored: {w}");
            }
            println!(
                "imported export {} into {}: {} persons, {} records, {} attachments ({} relationship inverses derived)",
                rep.export,
                db.display(),
                rep.persons,
                rep.records,
                rep.attachments,
                rep.derived_relationships
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Files { db } => {
            let store = open_existing(&db)?;
            let kids = store.children()?;
            if kids.is_empty() {
                println!(
                    "no children in {}; run `disclose import EXPORT.json --db {}` first",
                    db.display(),
                    db.display()
                );
            }
            // The children whose files the store holds, by name, with what is on each file.
            if !kids.is_empty() {
                println!("children with a file in {}:", db.display());
            }
            let mut families: std::collections::HashMap<String, disclose::model::Family> = Default::default();
            for k in kids {
                if !families.contains_key(k.export.as_str()) {
                    families.insert(k.export.as_str().to_string(), store.load_family(&k.export)?);
                }
                let name = families[k.export.as_str()].person(&k.person).map(|p| p.display_name()).unwrap_or_default();
                let n = |n: usize, w: &str| if n == 1 { format!("1 {w}") } else { format!("{n} {w}s") };
                println!(
                    "{name} ({}, export {}): {}, {}",
                    k.person.as_str(),
                    k.export.as_str(),
                    n(k.records, "record"),
                    n(k.attachments, "attachment")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { db, subject, export } => {
            let store = open_existing(&db)?;
            let subject = PersonId(subject);
            let e = store.export_of(&subject, export.map(ExportId).as_ref())?;
            let fam = store.load_family(&e)?;
            let f = CaseFile::build(&fam, &subject)?;
            print!("{}", file::show::render(&f));
            Ok(ExitCode::SUCCESS)
        }
        Command::Export(a) => {
            let a = *a;
            let mut store = open_existing(&a.db)?;
            store.set_audit_key(a.audit_key.clone());
            let sign = export::SignWith::from_flags(a.sign_key, a.sign_cert, &a.sign_password_env);
            let req = match &a.request {
                Some(id) => {
                    let row = disclose::review::workflow::request(&store, id)?;
                    let mut r = ExportRequest::of_request(&row, a.out.clone());
                    r.officer = a.officer.clone();
                    r.sign = sign;
                    r.council = a.council.clone();
                    if a.response_date.is_some() {
                        r.response_date = a.response_date.clone();
                    }
                    r
                }
                None => ExportRequest {
                    subject: PersonId(a.subject.clone().expect("clap requires --subject")),
                    requester: a.requester,
                    override_reason: a.override_reason,
                    policy: a.policy.clone().expect("clap requires --policy"),
                    out: a.out,
                    export: a.export.map(ExportId),
                    date: a.date,
                    officer: a.officer,
                    sign,
                    request: None,
                    release_unreviewed: unreviewed(&a.unreviewed),
                    reference: a.reference,
                    response_date: a.response_date,
                    council: a.council,
                },
            };
            let o = export::run_with(&mut store, &req, export::Release { force: a.force })?;
            for w in &o.warnings {
                eprintln!("warning: {w}");
            }
            println!("{}", export::summary(&o));
            for f in &o.files {
                println!("wrote {}", f.display());
            }
            if !o.plan.disclosure.status.is_final() {
                eprintln!(
                    "note: this bundle is a draft (DRAFT on every page): it is not for release and cannot be signed"
                );
            }
            if o.plan.verification_failures() > 0 {
                eprintln!(
                    "error: {} attachment page(s) failed verification after redaction and were withheld; see review in plan.json",
                    o.plan.verification_failures()
                );
                return Ok(ExitCode::from(exit::HELD));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo { out } => demo(&out),
        Command::Practice(a) => practice(&a),
        Command::Keygen { out, name, org, from, to } => {
            let (key, cert) = disclose::seal::keygen(&name, &org, &from, &to)?;
            // Never over a key that is there: a lost council key cannot be brought back.
            export::staged::write_new_files(
                &out,
                &[("signing-key.pem", key.as_bytes(), true), ("signing-cert.pem", cert.as_bytes(), false)],
            )?;
            println!(
                "wrote {} and {} (valid {from} to {to}); keep the key private",
                out.join("signing-key.pem").display(),
                out.join("signing-cert.pem").display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Batch { requests, db, out, jobs, sign_key, sign_cert, force, audit_key, unreviewed: u, council } => {
            batch(
                &requests,
                &db,
                &out,
                jobs,
                export::SignWith::from_flags(sign_key, sign_cert, "DISCLOSE_SIGN_PASSWORD"),
                audit_key,
                export::Release { force },
                unreviewed(&u),
                council.as_deref(),
            )
        }
        Command::Request(c) => disclose::cli::review::request(c),
        Command::Review(c) => disclose::cli::review::review(c),
        Command::Reviewer(c) => disclose::cli::review::reviewer(c),
        Command::Synth { out, records, attachments, pages, people, big_attachment_pages, like_peer } => {
            let style = if like_peer { disclose::synth::Style::Peer } else { disclose::synth::Style::Own };
            let big = big_attachment_pages.unwrap_or(if like_peer { 300 } else { 0 });
            let size = disclose::synth::Size {
                records,
                attachments,
                pages_per_attachment: pages,
                people,
                big_attachment_pages: big,
                style,
            };
            disclose::synth::write_family(&out, size)?;
            let big = if big > 0 { format!(" and one of {big} pages") } else { String::new() };
            println!(
                "wrote a synthetic family of {records} records and {attachments} attachments{big} to {}",
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { dir, db, trust, audit_key } => verify(&dir, db.as_deref(), trust, audit_key),
        Command::Audit { db, verify, audit_key, manifests } => {
            let mut store = open_existing(&db)?;
            store.set_audit_key(audit_key);
            if !verify {
                // Releases of runs that were killed are settled (their folder looked at) first.
                let _ = disclose::audit::settle(&mut store);
            }
            for s in disclose::audit::list(&store)? {
                match disclose::audit::Entry::parse(&s.entry_json) {
                    Some(disclose::audit::Entry::Release(e)) => {
                        println!(
                            "{:>4}  {}  {} -> {}  policy {}  officer {}  bundle {}{}{}{}",
                            s.seq,
                            e.run_at,
                            e.subject,
                            e.requester,
                            e.policy,
                            e.officer,
                            &e.bundle_sha256[..16.min(e.bundle_sha256.len())],
                            if e.signed { " (signed)" } else { "" },
                            if e.status.is_empty() { String::new() } else { format!(" {}", e.status) },
                            if s.state == "done" { String::new() } else { format!(" [{}]", s.state) }
                        );
                        if let Some(r) = &e.override_reason {
                            println!("      overrode {}: {r}", e.overridden_markers.join(", "));
                        }
                    }
                    Some(disclose::audit::Entry::Event(e)) => {
                        let detail: Vec<String> = e.detail.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        println!(
                            "{:>4}  {}  {} by {}{}{}{}",
                            s.seq,
                            e.at,
                            e.event,
                            e.by,
                            e.request.as_deref().map(|r| format!("  {r}")).unwrap_or_default(),
                            e.target.as_deref().map(|t| format!("  {t}")).unwrap_or_default(),
                            if detail.is_empty() { String::new() } else { format!("  {}", detail.join("; ")) }
                        );
                    }
                    None => println!("{:>4}  (unreadable entry)", s.seq),
                }
            }
            if verify {
                let mut broken = Vec::new();
                match disclose::audit::verify_chain(&store)? {
                    Ok(n) => println!("audit chain intact: {n} entries"),
                    Err(why) => broken.push(format!("audit chain broken: {why}")),
                }
                // Manifests given, and those still at the folders of recorded releases.
                let mut seen = std::collections::BTreeSet::new();
                let mut paths: Vec<(std::path::PathBuf, bool)> = manifests.into_iter().map(|p| (p, true)).collect();
                for s in disclose::audit::list(&store)? {
                    if let Some(o) = s.out_dir {
                        paths.push((std::path::PathBuf::from(o), false));
                    }
                }
                let mut checked = 0;
                for (p, given) in paths {
                    let file = if p.is_dir() { p.join("manifest.json") } else { p.clone() };
                    let m = std::fs::read(&file)
                        .ok()
                        .and_then(|b| serde_json::from_slice::<disclose::seal::manifest::Manifest>(&b).ok());
                    let Some(m) = m else {
                        if given {
                            broken.push(format!("{}: not a disclose manifest", file.display()));
                        }
                        continue;
                    };
                    if !seen.insert(m.core_sha256.clone()) {
                        continue;
                    }
                    checked += 1;
                    for why in disclose::audit::check_manifest(&store, &m)? {
                        broken.push(format!("{}: {why}", file.display()));
                    }
                }
                if broken.is_empty() {
                    println!("the audit heads of {checked} release manifest(s) agree with the trail");
                } else {
                    for b in &broken {
                        eprintln!("error: {b}");
                    }
                    return Ok(ExitCode::from(exit::CHECK_FAILED));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `disclose batch`: a progress bar on a terminal, plain lines otherwise; the exit code is the
/// number of failed requests (capped at 100), 0 when all succeeded.
#[allow(clippy::too_many_arguments)]
fn batch(
    requests: &std::path::Path,
    db: &std::path::Path,
    out: &std::path::Path,
    jobs: usize,
    sign: Option<export::SignWith>,
    audit_key: Option<std::path::PathBuf>,
    rel: export::Release,
    unreviewed: Option<export::Unreviewed>,
    council: Option<&std::path::Path>,
) -> Result<ExitCode> {
    use std::io::IsTerminal;
    let _ = open_existing(db)?;
    let text = std::fs::read_to_string(requests).with_context(|| format!("reading {}", requests.display()))?;
    let rows = disclose::batch::parse_csv(&text, &requests.display().to_string())?;
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(rows.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} requests built ({elapsed})")
                .expect("template"),
        );
        Some(b)
    } else {
        None
    };
    let progress = |r: &disclose::batch::Row| match &bar {
        Some(b) => b.inc(1),
        None => eprintln!("built line {} ({} for {})", r.line, r.policy, r.subject),
    };
    let results = disclose::batch::run(db, &rows, out, sign, jobs, &progress, audit_key, rel, unreviewed, council)?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let mut failed = 0;
    for r in &results {
        match &r.result {
            Ok(s) => println!("ok    line {}: {} -> {} ({s})", r.row.line, r.row.subject, r.out.display()),
            Err(e) => {
                failed += 1;
                println!("FAIL  line {}: {}: {e:#}", r.row.line, r.row.subject);
            }
        }
    }
    println!("{} requests, {} failed", results.len(), failed);
    Ok(if failed > 0 { ExitCode::from(exit::SOME_FAILED) } else { ExitCode::SUCCESS })
}

/// `disclose verify`: every check printed; exit 0 only when all hold.
fn verify(
    dir: &std::path::Path,
    db: Option<&std::path::Path>,
    trust: Option<std::path::PathBuf>,
    audit_key: Option<std::path::PathBuf>,
) -> Result<ExitCode> {
    use disclose::seal::manifest::{Check, Trust, TRUST_ENV};
    let trust = trust.or_else(|| std::env::var_os(TRUST_ENV).filter(|v| !v.is_empty()).map(Into::into));
    let trust = match trust {
        Some(p) => Some(Trust::load(&p)?),
        None => None,
    };
    let (m, mut checks) = disclose::seal::manifest::verify_dir(dir, trust.as_ref(), db.is_some())?;
    if let Some(db) = db {
        let mut store = open_existing(db)?;
        store.set_audit_key(audit_key);
        // The store's record of this release: there, for this bundle, signed as the manifest says.
        let rec = disclose::audit::release_of(&store, &m)?;
        let (ok, detail) = match &rec {
            None => (false, "this release is not in the audit trail of that case store".to_string()),
            Some((s, e)) if e.bundle_sha256 != m.bundle_sha256 => {
                (false, format!("audit entry {} records another bundle (its hash differs)", s.seq))
            }
            Some((s, e)) if e.signed != m.core.signed => (
                false,
                format!(
                    "audit entry {} records the bundle as {}, the manifest as {}",
                    s.seq,
                    if e.signed { "signed" } else { "unsigned" },
                    if m.core.signed { "signed" } else { "unsigned" }
                ),
            ),
            Some((s, e)) => (
                true,
                format!(
                    "recorded as audit entry {} ({}, {})",
                    s.seq,
                    if e.signed { "signed" } else { "unsigned" },
                    s.state
                ),
            ),
        };
        checks.push(Check { name: "release record".into(), ok, detail });
        let (ok, detail) = match disclose::audit::verify_chain(&store) {
            Err(e) => (false, e.to_string()),
            Ok(Err(why)) => (false, format!("the audit trail is broken: {why}")),
            Ok(Ok(_)) => match disclose::audit::check_manifest(&store, &m)?.as_slice() {
                [] => (true, "the trail is intact and holds the audit head this manifest carries".to_string()),
                problems => (false, problems.join("; ")),
            },
        };
        checks.push(Check { name: "audit trail".into(), ok, detail });
        let bundle = std::fs::read(dir.join("bundle.pdf"))?;
        let (found, of) = export::leak_check(&store, &bundle, &m.core_sha256)?;
        checks.push(Check {
            name: "leak check".into(),
            ok: found == 0 && rec.is_some(),
            detail: if rec.is_none() {
                "this export is not in the audit trail of that case store".into()
            } else if found == 0 {
                format!("none of the {of} distinct runs of removed words is in the bundle's text")
            } else {
                format!("{found} run(s) of removed words can be read in the bundle")
            },
        });
    }
    let mut ok = true;
    for c in &checks {
        println!("{} {:<22} {}", if c.ok { "ok  " } else { "FAIL" }, c.name, c.detail);
        ok &= c.ok;
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(exit::CHECK_FAILED) })
}

/// `disclose practice`: resolve the family, run the check, write both files (all or none), print
/// the summary (ids and counts only).
fn practice(a: &disclose::cli::PracticeArgs) -> Result<ExitCode> {
    use disclose::practice::{self, Practice};
    let store = open_existing(&a.db)?;
    let pr = Practice::load(a.practice_policy.as_deref())?;
    let family = a.family.clone().map(ExportId);
    let child = a.child.clone().map(PersonId);
    let export = match (&child, &family) {
        (Some(c), f) => store.export_of(c, f.as_ref())?,
        (None, Some(f)) => {
            if !store.exports()?.contains(f) {
                anyhow::bail!("export {f} is not in {}; `disclose files` lists the exports", a.db.display());
            }
            f.clone()
        }
        (None, None) => {
            let all = store.exports()?;
            match all.as_slice() {
                [one] => one.clone(),
                [] => anyhow::bail!("{} holds no export; run `disclose import EXPORT.json` first", a.db.display()),
                _ => anyhow::bail!(
                    "{} holds {} exports; choose one with --family EXPORT_ID (`disclose files` lists them)",
                    a.db.display(),
                    all.len()
                ),
            }
        }
    };
    let fam = store.load_family(&export)?;
    let det = disclose::detect::Detector::new(&fam);
    let report = practice::check(&fam, &det, &pr, child.as_ref());
    let mut files = export::Staged::new(&a.out);
    files.write("practice.csv", practice::report::csv(&report, &fam).as_bytes())?;
    files.write("practice.html", practice::report::html(&report, &fam, &pr).as_bytes())?;
    files.commit(true)?; // other files in the folder stay
    print!("{}", practice::report::summary(&report, &fam));
    for f in ["practice.csv", "practice.html"] {
        println!("wrote {}", a.out.join(f).display());
    }
    Ok(ExitCode::SUCCESS)
}

/// A one-shot release without review, from its flags.
fn unreviewed(u: &disclose::cli::UnreviewedArgs) -> Option<export::Unreviewed> {
    u.release_unreviewed.then(|| export::Unreviewed {
        reviewer: u.reviewer.clone().unwrap_or_default(),
        why: u.why.clone().unwrap_or_default(),
    })
}

fn open_existing(db: &std::path::Path) -> Result<Store> {
    Ok(Store::open_existing(db)?)
}

/// Import the bundled Northbrook example into a temporary store and disclose two requests.
/// The Northbrook example (fixtures/northbrook), compiled in for `demo`.
const NORTHBROOK: &[(&str, &[u8])] = &[
    ("export.json", include_bytes!("../fixtures/northbrook/export.json")),
    ("attachments/att-gp-letter.pdf", include_bytes!("../fixtures/northbrook/attachments/att-gp-letter.pdf")),
    ("attachments/att-icpc-minutes.pdf", include_bytes!("../fixtures/northbrook/attachments/att-icpc-minutes.pdf")),
    ("attachments/att-letter-ryan.pdf", include_bytes!("../fixtures/northbrook/attachments/att-letter-ryan.pdf")),
    ("attachments/att-ppn.pdf", include_bytes!("../fixtures/northbrook/attachments/att-ppn.pdf")),
    ("attachments/att-school-report.pdf", include_bytes!("../fixtures/northbrook/attachments/att-school-report.pdf")),
];

fn demo(out: &std::path::Path) -> Result<ExitCode> {
    // The example is compiled in, so that an installed binary runs the demo from any folder.
    let src = tempfile::tempdir()?;
    std::fs::create_dir_all(src.path().join("attachments"))?;
    for (name, bytes) in NORTHBROOK {
        std::fs::write(src.path().join(name), bytes)?;
    }
    let example = src.path().join("export.json");
    let tmp = tempfile::tempdir()?;
    let db = tmp.path().join("demo.db");
    let mut store = Store::open(&db)?;
    let rep = import::import_file(&mut store, &example, false)?;
    println!("imported the Northbrook example ({} records) into a temporary store", rep.records);
    let f_leah = store.load_family(&rep.export)?;
    let file = CaseFile::build(&f_leah, &PersonId("p-leah".into()))?;
    print!("{}", file::show::render(&file));
    for (name, subject, requester, policy) in
        [("leah-own", "p-leah", "p-leah", "sar-self"), ("maisie-by-father", "p-maisie", "p-ryan", "sar-parent")]
    {
        let req = ExportRequest {
            subject: PersonId(subject.into()),
            requester: Some(requester.into()),
            policy: policy.into(),
            out: out.join(name),
            export: None,
            date: None,
            officer: Some("demo".into()),
            sign: None,
            // Ryan is recorded as the alleged perpetrator, which sar-parent refuses unless an
            // officer who has weighed the risk says why they go on.
            override_reason: (requester == "p-ryan")
                .then(|| "demo: the officer weighed the recorded risk with the team manager".to_string()),
            request: None,
            release_unreviewed: None,
            reference: Some(format!("DEMO-{name}")),
            response_date: None,
            council: None,
        };
        let o = export::run(&mut store, &req)?;
        println!("\n{}", export::summary(&o));
        println!("outputs in {}", req.out.display());
    }
    Ok(ExitCode::SUCCESS)
}
