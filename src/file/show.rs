//! `disclose show`: the subject's file as text, for the officer to check what the engine sees.
//! This is an officer's view inside the council, so it shows names and titles as recorded, with
//! control and invisible characters escaped (`\u{1b}`): a recorded value must not drive the
//! officer's terminal, nor hide or reorder what it shows.

use super::*;
use crate::model::text::escape_for_terminal as esc;
use std::fmt::Write;

/// Render the file as a plain-text listing.
pub fn render(f: &CaseFile<'_>) -> String {
    let fam = f.family;
    let mut o = String::new();
    let subj = fam.person(&f.subject).map(|p| p.display_name()).unwrap_or_default();
    let subj = esc(&subj);
    let n_att = f.attachments().len();
    let _ = writeln!(o, "File of {subj} ({}) in export {}", esc(f.subject.as_str()), esc(fam.header.id.as_str()));
    let _ = writeln!(o, "{} records and {} attachments on file", f.records().count(), n_att);
    if !f.excluded.is_empty() {
        let list: Vec<String> =
            f.excluded.iter().map(|(r, why)| format!("{} ({})", esc(r.as_str()), esc(why))).collect();
        let _ = writeln!(o, "Member but not on file: {}", list.join(", "));
    }
    let _ = writeln!(o, "\nPeople around the child:");
    for c in &f.people {
        let name = fam.person(&c.person).map(|p| p.display_name()).unwrap_or_default();
        let what = match &c.role {
            Role::Family { code, words, .. } => format!("family: {words} ({})", esc(code)),
            Role::Related { code, words, .. } => format!("related, not family: {words} ({})", esc(code)),
            Role::Unrelated => {
                let roles = fam.person(&c.person).map(|p| p.roles.join(", ")).unwrap_or_default();
                let roles = esc(&roles);
                if roles.is_empty() {
                    "other".to_string()
                } else {
                    format!("other ({roles})")
                }
            }
            Role::Subject => "subject".into(),
        };
        let _ = writeln!(o, "  {:<14} {:<28} {}", esc(c.person.as_str()), esc(&name), what);
    }
    let _ = writeln!(o, "\nProfessionals:");
    for p in &f.professionals {
        if let Some(pro) = fam.professional(&p.professional) {
            let org = fam.organisation(&pro.organisation).map(|o| o.name.as_str()).unwrap_or("");
            let _ = writeln!(
                o,
                "  {:<14} {:<28} {}, {} ({})",
                esc(pro.id.as_str()),
                esc(&pro.display_name()),
                esc(pro.job_title.as_deref().unwrap_or("")),
                esc(org),
                esc(&p.roles.join(", "))
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
                let _ = writeln!(
                    o,
                    "\n{}  {}  {}  \"{}\"",
                    esc(&r.occurred.start.display()),
                    esc(r.id.as_str()),
                    esc(&kind),
                    esc(&r.title)
                );
                for s in &fr.sections {
                    let sec = &r.sections[s.index];
                    let mut tag = s.applies.tag().to_string();
                    if let Applies::OwnWithOthers(x) | Applies::OtherChildren(x) = &s.applies {
                        tag = format!("{tag} [{}]", esc(&x.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")));
                    }
                    if sec.professionals_only() {
                        tag.push_str(", professionals only");
                    }
                    let flags: Vec<&str> = sec.sensitivity.iter().map(|x| x.flag.as_str()).collect();
                    let flags =
                        if flags.is_empty() { String::new() } else { format!("  flags: {}", esc(&flags.join(", "))) };
                    let _ = writeln!(
                        o,
                        "    {} {:<28} {}{}",
                        esc(s.id.as_str()),
                        tag,
                        esc(sec.heading.as_deref().unwrap_or("")),
                        flags
                    );
                }
                for rf in &fr.refs {
                    let what = match &rf.kind {
                        RefKind::Link(t) => format!("link {}", esc(t)),
                        RefKind::Text { section, .. } => format!("text ref in {}", esc(section.as_str())),
                    };
                    let where_ = match (&rf.target, rf.on_file) {
                        (Some(t), true) => format!("-> {} (on this file)", esc(t.as_str())),
                        (Some(t), false) => format!("-> {} (elsewhere: {})", esc(t.as_str()), list(&rf.held_by)),
                        (None, _) => format!(
                            "-> unresolved{}",
                            rf.target_person
                                .as_ref()
                                .map(|p| format!(" (about {})", esc(p.as_str())))
                                .unwrap_or_default()
                        ),
                    };
                    let _ = writeln!(o, "    {what} {where_}");
                }
                for a in &fr.attachments {
                    let _ = writeln!(o, "    attachment {} (on file)", esc(a.as_str()));
                }
                for a in &fr.attachments_elsewhere {
                    let _ = writeln!(o, "    attachment {} (not on this file)", esc(a.as_str()));
                }
            }
            Entry::Attachment(a) => {
                if let Some(att) = fam.attachment(a) {
                    let _ = writeln!(
                        o,
                        "\n{}  {}  attachment without a record on file  \"{}\"",
                        esc(att.document_date.as_deref().unwrap_or("????-??-??")),
                        esc(a.as_str()),
                        esc(&att.title)
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
        esc(&v.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::text::is_invisible;
    use std::path::Path;

    #[test]
    fn control_and_invisible_characters_are_escaped() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/northbrook/export.json");
        let mut fam = crate::import::parse_and_validate(&p).expect("northbrook validates").family();
        // A neighbour whose recorded name clears the screen and turns the line right to left, and
        // a record title that rings the bell and hides a zero-width character.
        let gwen = fam.persons.iter_mut().find(|p| p.id.as_str() == "p-gwen").unwrap();
        gwen.names[0].given = vec!["Gwen\u{1b}[2J\u{202e}dolyn\u{9b}".into()];
        let rec = fam.records.iter_mut().find(|r| r.on_file_of(&PersonId("p-leah".into()))).unwrap();
        rec.title = format!("{}\u{7}\u{200b}\u{2066}", rec.title);
        let file = CaseFile::build(&fam, &PersonId("p-leah".into())).unwrap();
        let out = render(&file);
        let bad: Vec<char> =
            out.chars().filter(|&c| (c.is_control() && c != '\n') || is_invisible(c) || c == '\u{2028}').collect();
        assert!(bad.is_empty(), "raw characters reached the terminal: {bad:?}");
        assert!(out.contains("Gwen\\u{1b}[2J\\u{202e}dolyn\\u{9b}"), "{out}");
        assert!(out.contains("\\u{7}\\u{200b}\\u{2066}\""), "{out}");
        // Ordinary text is left alone.
        assert!(out.contains("Aldous") && out.contains("Leah"));
    }
}
