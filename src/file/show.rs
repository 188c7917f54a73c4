//! `disclose show`: the subject's file as text, for the officer to check what the engine sees.
//! This is an officer's view inside the council, so it shows names and titles as recorded.

use super::*;
use std::fmt::Write;

/// Render the file as a plain-text listing.
pub fn render(f: &CaseFile<'_>) -> String {
    let fam = f.family;
    let mut o = String::new();
    let subj = fam.person(&f.subject).map(|p| p.display_name()).unwrap_or_default();
    let n_att = f.attachments().len();
    let _ = writeln!(o, "File of {subj} ({}) in export {}", f.subject, fam.header.id);
    let _ = writeln!(o, "{} records and {} attachments on file", f.records().count(), n_att);
    if !f.excluded.is_empty() {
        let list: Vec<String> = f.excluded.iter().map(|(r, why)| format!("{r} ({why})")).collect();
        let _ = writeln!(o, "Member but not on file: {}", list.join(", "));
    }
    let _ = writeln!(o, "\nPeople around the child:");
    for c in &f.people {
        let name = fam.person(&c.person).map(|p| p.display_name()).unwrap_or_default();
        let what = match &c.role {
            Role::Family { code, words, .. } => format!("family: {words} ({code})"),
            Role::Related { code, words, .. } => format!("related, not family: {words} ({code})"),
            Role::Unrelated => {
                let roles = fam.person(&c.person).map(|p| p.roles.join(", ")).unwrap_or_default();
                if roles.is_empty() {
                    "other".to_string()
                } else {
                    format!("other ({roles})")
                }
            }
            Role::Subject => "subject".into(),
        };
        let _ = writeln!(o, "  {:<14} {:<28} {}", c.person.as_str(), name, what);
    }
    let _ = writeln!(o, "\nProfessionals:");
    for p in &f.professionals {
        if let Some(pro) = fam.professional(&p.professional) {
            let org = fam.organisation(&pro.organisation).map(|o| o.name.as_str()).unwrap_or("");
            let _ = writeln!(
                o,
                "  {:<14} {:<28} {}, {} ({})",
                pro.id.as_str(),
                pro.display_name(),
                pro.job_title.as_deref().unwrap_or(""),
                org,
                p.roles.join(", ")
            );
        }
    }
    let _ = writeln!(o, "\nRecords in order:");
    for e in &f.entries {
        match e {
            Entry::Record(fr) => {
                let Some(r) = fam.record(&fr.id) else { continue };
                let kind = match &r.subtype {
                    Some(s) => format!("{}/{}", r.kind, s),
                    None => r.kind.clone(),
                };
                let _ = writeln!(o, "\n{}  {}  {}  \"{}\"", r.occurred.start.display(), r.id, kind, r.title);
                for s in &fr.sections {
                    let sec = &r.sections[s.index];
                    let mut tag = s.applies.tag().to_string();
                    if let Applies::OwnWithOthers(x) | Applies::OtherChildren(x) = &s.applies {
                        tag = format!("{tag} [{}]", x.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", "));
                    }
                    if sec.professionals_only() {
                        tag.push_str(", professionals only");
                    }
                    let flags: Vec<&str> = sec.sensitivity.iter().map(|x| x.flag.as_str()).collect();
                    let flags = if flags.is_empty() { String::new() } else { format!("  flags: {}", flags.join(", ")) };
                    let _ = writeln!(o, "    {} {:<28} {}{}", s.id, tag, sec.heading.as_deref().unwrap_or(""), flags);
                }
                for rf in &fr.refs {
                    let what = match &rf.kind {
                        RefKind::Link(t) => format!("link {t}"),
                        RefKind::Text { section, .. } => format!("text ref in {section}"),
                    };
                    let where_ = match (&rf.target, rf.on_file) {
                        (Some(t), true) => format!("-> {t} (on this file)"),
                        (Some(t), false) => format!("-> {t} (elsewhere: {})", list(&rf.held_by)),
                        (None, _) => format!(
                            "-> unresolved{}",
                            rf.target_person.as_ref().map(|p| format!(" (about {p})")).unwrap_or_default()
                        ),
                    };
                    let _ = writeln!(o, "    {what} {where_}");
                }
                for a in &fr.attachments {
                    let _ = writeln!(o, "    attachment {a} (on file)");
                }
                for a in &fr.attachments_elsewhere {
                    let _ = writeln!(o, "    attachment {a} (not on this file)");
                }
            }
            Entry::Attachment(a) => {
                if let Some(att) = fam.attachment(a) {
                    let _ = writeln!(
                        o,
                        "\n{}  {}  attachment without a record on file  \"{}\"",
                        att.document_date.as_deref().unwrap_or("????-??-??"),
                        a,
                        att.title
                    );
                }
            }
        }
    }
    o
}

fn list(v: &[PersonId]) -> String {
    if v.is_empty() {
        "no other file".into()
    } else {
        v.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")
    }
}
