//! Entry point: parse flags, dispatch to a command, print errors once, map outcomes to exit codes.

use anyhow::{Context, Result};
use clap::Parser;
use disclose::cli::{Cli, Command};
use disclose::file::{self, CaseFile};
use disclose::import;
use disclose::model::{ExportId, PersonId};
use disclose::store::Store;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Import { export, db, replace } => {
            let mut store = Store::open(&db)?;
            let rep = import::import_file(&mut store, &export, replace)?;
            for w in &rep.warnings {
                eprintln!("warning: unknown field ignored: {w}");
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
                println!("no children in {}; run `disclose import EXPORT.json --db {}` first", db.display(), db.display());
            }
            println!("{:<24} {:<16} {:>8} {:>12}", "export", "person", "records", "attachments");
            for k in kids {
                println!("{:<24} {:<16} {:>8} {:>12}", k.export.as_str(), k.person.as_str(), k.records, k.attachments);
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
        Command::Export(_) | Command::Demo { .. } => anyhow::bail!("not built yet"),
    }
}

fn open_existing(db: &std::path::Path) -> Result<Store> {
    if !db.exists() {
        anyhow::bail!("case store {} does not exist; run `disclose import EXPORT.json --db {}` first", db.display(), db.display());
    }
    Store::open(db).with_context(|| format!("opening {}", db.display()))
}
