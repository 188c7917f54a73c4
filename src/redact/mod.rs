//! Redaction of case text: the disclosure's marks applied to every piece of text on the file,
//! giving a `RedactedFile` of segments (kept text and marks) that the bundle renders and the
//! preview prints. It reads the `Disclosure` and never changes it. A mark carries its code, its
//! label and the length of what it replaced, never the text.

use crate::file::{field_text, AttachmentInputs, Location, Part};
use crate::file::{CaseFile, Entry, FileRecord, RefKind};
use crate::model::*;
use crate::policy::{Action, Mark, Policy, Reason, Shared};
use crate::review::{Disclosure, Index};
use std::fmt::Write;

/// A piece of disclosed text: kept words and marks.
#[derive(Clone, Debug, PartialEq)]
pub enum Seg {
    Text(String),
    /// A removed span: its code, a label that keeps the story, how many characters it replaced,
    /// and the plan decision it comes from (the schedule names the page where it is shown).
    Mark {
        code: Reason,
        label: Option<Shared>,
        chars: usize,
        decision: Option<u32>,
    },
}

/// Disclosed text.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RText(pub Vec<Seg>);

impl RText {
    pub fn plain(s: &str) -> RText {
        RText(vec![Seg::Text(s.to_string())])
    }
    /// The text with marks written `[CODE: label]`, as the preview shows it.
    pub fn preview(&self) -> String {
        let mut o = String::new();
        for s in &self.0 {
            match s {
                Seg::Text(t) => o.push_str(t),
                Seg::Mark { code, label: Some(l), .. } => {
                    let _ = write!(o, "[{code}: {l}]");
                }
                Seg::Mark { code, label: None, .. } => {
                    let _ = write!(o, "[{code}]");
                }
            }
        }
        o
    }
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|s| matches!(s, Seg::Text(t) if t.trim().is_empty()))
    }
}

/// A withheld element: what kind of thing, and why, in plain words.
#[derive(Clone, Debug)]
pub struct Placeholder {
    pub code: Reason,
    pub text: String,
    /// The plan decision that withheld it.
    pub decision: Option<u32>,
}

#[derive(Clone, Debug)]
pub struct RSection {
    pub heading: Option<RText>,
    pub body: RText,
    pub fields: Vec<(String, RText)>,
    pub withheld: Option<Placeholder>,
}

#[derive(Clone, Debug)]
pub struct RPage {
    pub text: Option<RText>,
    pub withheld: Option<Placeholder>,
}

#[derive(Clone, Debug)]
pub struct RAttachment {
    pub id: AttachmentId,
    pub title: RText,
    pub date: Option<String>,
    pub author: RText,
    pub withheld: Option<Placeholder>,
    pub pages: Vec<RPage>,
}

#[derive(Clone, Debug)]
pub struct RRecord {
    pub id: RecordId,
    pub date: String,
    pub iso_date: String,
    pub kind: String,
    pub record_type: String,
    pub title: RText,
    pub author: RText,
    pub concerns: RText,
    pub presence: Option<String>,
    pub participants: Vec<RText>,
    pub sections: Vec<RSection>,
    pub appendments: Vec<(String, String, RText)>,
    pub links: Vec<RText>,
    pub attachments: Vec<RAttachment>,
    pub withheld: Option<Placeholder>,
}

#[derive(Clone, Debug)]
pub enum REntry {
    Record(Box<RRecord>),
    Attachment(RAttachment),
}

/// The whole file as disclosed.
#[derive(Clone, Debug)]
pub struct RedactedFile {
    pub subject_name: String,
    pub council: String,
    pub entries: Vec<REntry>,
}

/// Apply a text's span marks (with their index in the disclosure). Inserts add a mark after a
/// span. Marks may overlap (a name inside a sentence that is taken out): the first to start, the
/// longest first, covers the others, and a mark that runs on past it extends it, so nothing
/// inside any removing mark is ever shown.
pub fn apply(text: &str, ms: &[(u32, &Mark)]) -> RText {
    let mut spans: Vec<(u32, &Mark)> = ms
        .iter()
        .copied()
        .filter(|(_, d)| d.span.is_some() && matches!(d.action, Action::Redact | Action::Insert))
        .collect();
    spans.sort_by_key(|(_, d)| {
        let s = d.span.expect("filtered");
        (s.start(), d.action == Action::Redact, std::cmp::Reverse(s.end()))
    });
    let mut out: Vec<Seg> = Vec::new();
    let mut at = 0;
    // Where the last removing mark ends (marks starting before it are inside it).
    let mut covered = 0;
    for (i, d) in spans {
        let s = d.span.expect("filtered");
        let redact = d.action == Action::Redact;
        if redact && s.start() < covered {
            // Inside an earlier redaction: extend it over anything it leaves out.
            if s.end() > at {
                if let Some(Seg::Mark { chars, .. }) = out.last_mut() {
                    *chars += text[at..s.end()].chars().count();
                }
                at = s.end();
                covered = at;
            }
            continue;
        }
        if !redact && s.start() < covered {
            continue; // a placeholder inside removed words has nothing to follow
        }
        if s.start() > at {
            out.push(Seg::Text(text[at..s.start()].to_string()));
        }
        out.push(Seg::Mark {
            code: d.reason.unwrap_or(Reason::REV),
            label: d.label.clone(),
            chars: if redact { text[s.start()..s.end()].chars().count() } else { 0 },
            decision: Some(i),
        });
        if redact {
            at = s.end();
            covered = at;
        } else {
            at = s.start();
        }
    }
    if at < text.len() {
        out.push(Seg::Text(text[at..].to_string()));
    }
    RText(out)
}

struct Ctx<'a, 'f> {
    file: &'a CaseFile<'f>,
    plan: Index<'a>,
    policy: &'a Policy,
    /// Attachment pages held after redaction (verification failed), with the id of their row.
    failed: &'a [HeldPage],
}

/// An attachment page held back after redaction (it failed verification, or could not be
/// placed), with the number its placeholder and schedule row carry.
#[derive(Clone, Debug)]
pub struct HeldPage {
    pub location: Location,
    pub why: String,
    pub id: u32,
}

impl Ctx<'_, '_> {
    fn text(&self, loc: &Location, text: &str) -> RText {
        let ds: Vec<(u32, &Mark)> = self.plan.at_indexed(loc).collect();
        apply(text, &ds)
    }

    fn placeholder(&self, what: &str, (i, d): (u32, &Mark)) -> Placeholder {
        let code = d.reason.unwrap_or(Reason::REV);
        let words = self.policy.words(code);
        let pending = if d.action == Action::Review { " (held until a worker has checked it)" } else { "" };
        let about = d.label.as_ref().map(|l| format!(" about {l}")).unwrap_or_default();
        Placeholder { code, text: format!("{what}{about} is not included: {words}{pending}."), decision: Some(i) }
    }

    fn person_name(&self, loc: &Location, p: &PersonId) -> RText {
        let name = self.file.family.person(p).map(|x| x.display_name()).unwrap_or_default();
        match self.plan.at_indexed(loc).find(|(_, d)| d.span.is_none() && d.action == Action::Redact) {
            Some((i, d)) => RText(vec![Seg::Mark {
                code: d.reason.unwrap_or(Reason::REV),
                label: d.label.clone(),
                chars: name.chars().count(),
                decision: Some(i),
            }]),
            None => RText::plain(&name),
        }
    }
}

/// Build the disclosed file from the disclosure. `failed` lists attachment pages the PDF stage
/// held back after redaction.
pub fn redact(
    file: &CaseFile<'_>,
    disclosure: &Disclosure,
    policy: &Policy,
    attachments: &AttachmentInputs,
    failed: &[HeldPage],
) -> RedactedFile {
    let c = Ctx { file, plan: Index::new(disclosure), policy, failed };
    let fam = file.family;
    let mut entries = Vec::new();
    for e in &file.entries {
        match e {
            Entry::Record(fr) => entries.push(REntry::Record(Box::new(record(&c, fr, attachments)))),
            Entry::Attachment(a) => {
                if let Some(ra) = attachment(&c, a, attachments) {
                    entries.push(REntry::Attachment(ra));
                }
            }
        }
    }
    RedactedFile {
        subject_name: fam.person(&file.subject).map(|p| p.display_name()).unwrap_or_default(),
        council: fam.header.local_authority.name.clone(),
        entries,
    }
}

fn pro_line(fam: &Family, id: &ProfessionalId) -> String {
    fam.professional_line(id)
}

fn record(c: &Ctx<'_, '_>, fr: &FileRecord, inputs: &AttachmentInputs) -> RRecord {
    let fam = c.file.family;
    let r = fam.record(&fr.id).expect("record on file exists");
    let rloc = Location::record(&r.id, Part::Record);
    let kind = type_words(&r.kind, r.subtype.as_deref());
    let mut out = RRecord {
        id: r.id.clone(),
        date: r.occurred.start.display(),
        iso_date: r.occurred.start.0.get(0..10).unwrap_or("").to_string(),
        kind,
        record_type: r.kind.clone(),
        title: c.text(&Location::record(&r.id, Part::Title), &r.title),
        author: c.text(&Location::record(&r.id, Part::Author), &fam.professional_line(&r.recorded.by)),
        concerns: RText::default(),
        presence: None,
        participants: Vec::new(),
        sections: Vec::new(),
        appendments: Vec::new(),
        links: Vec::new(),
        attachments: Vec::new(),
        withheld: None,
    };
    if let Some(d) = c.plan.withheld_indexed(&rloc) {
        out.title = RText::plain(&format!("A record of {}", out.date));
        out.withheld = Some(c.placeholder("This record", d));
        return out;
    }
    // Concerns: the children on file, the subject first.
    let mut concerns = Vec::new();
    let members: Vec<&Member> = r.membership.iter().filter(|m| m.on_file && m.removed.is_none()).collect();
    for (i, m) in members.iter().enumerate() {
        if i > 0 {
            concerns.push(Seg::Text(if i + 1 == members.len() { " and ".into() } else { ", ".into() }));
        }
        let loc = Location::record(&r.id, Part::Member { person: m.person.clone() });
        concerns.extend(c.person_name(&loc, &m.person).0);
    }
    out.concerns = RText(concerns);
    if let Some(m) = r.membership.iter().find(|m| m.person == c.file.subject) {
        let mut bits = Vec::new();
        if let Some(a) = &m.attendance {
            bits.push(a.replace('_', " "));
        }
        if m.seen == Some(true) {
            bits.push("seen".into());
        }
        if m.seen_alone == Some(true) {
            bits.push("seen alone".into());
        }
        if m.bedroom_seen == Some(true) {
            bits.push("bedroom seen".into());
        }
        if !bits.is_empty() {
            let given = fam.person(&c.file.subject).map(|p| p.given_name()).unwrap_or_default();
            out.presence = Some(format!("{given}: {}", bits.join(", ")));
        }
    }
    for (i, p) in r.participants.iter().enumerate() {
        let loc = Location::record(&r.id, Part::Participant { index: i });
        let role = p.role.replace('_', " ");
        let mut t = if let Some(pid) = &p.person {
            c.person_name(&loc, pid)
        } else if let Some(pro) = &p.professional {
            // The line as decided (its words may name a confidential place), then a mark when the
            // professional's organisation itself is withheld (rule 4).
            let mut line = c.text(&loc, &pro_line(fam, pro));
            if let Some((i, d)) = c.plan.at_indexed(&loc).find(|(_, d)| d.action == Action::Redact && d.span.is_none())
            {
                line.0.push(Seg::Text(", ".into()));
                line.0.push(Seg::Mark {
                    code: d.reason.unwrap_or(Reason::REV),
                    label: d.label.clone(),
                    chars: 10,
                    decision: Some(i),
                });
            }
            line
        } else {
            RText::default()
        };
        t.0.push(Seg::Text(format!(" ({role})")));
        out.participants.push(t);
    }
    for fs in &fr.sections {
        let s = &r.sections[fs.index];
        let sloc = Location::record(&r.id, Part::Section { section: s.id.clone() });
        if let Some(d) = c.plan.withheld_indexed(&sloc) {
            let what = match &*d.1.rule {
                "R2.other_children" => "A part of this record",
                _ => "A part of this record",
            };
            out.sections.push(RSection {
                heading: None,
                body: RText::default(),
                fields: Vec::new(),
                withheld: Some(c.placeholder(what, d)),
            });
            continue;
        }
        let heading =
            s.heading.as_ref().map(|h| c.text(&Location::record(&r.id, Part::Heading { section: s.id.clone() }), h));
        let body = c.text(&Location::record(&r.id, Part::Body { section: s.id.clone() }), fam.body(&r.id, &s.id));
        let fields = s
            .fields
            .iter()
            .map(|(k, v)| {
                (
                    k.replace('_', " "),
                    c.text(
                        &Location::record(&r.id, Part::Field { section: s.id.clone(), key: k.clone() }),
                        &field_text(v),
                    ),
                )
            })
            .collect();
        out.sections.push(RSection { heading, body, fields, withheld: None });
    }
    for a in &r.appendments {
        let t = c.text(&Location::record(&r.id, Part::Appendment { id: a.id.clone() }), &a.body);
        out.appendments.push((a.at.display(), pro_line(fam, &a.by), t));
    }
    for (i, rf) in fr.refs.iter().enumerate() {
        let RefKind::Link(kind) = &rf.kind else { continue };
        let words = link_words(kind);
        let loc = Location::record(&r.id, Part::Link { index: i });
        let withheld = c.plan.at_indexed(&loc).find(|(_, d)| d.action == Action::Withhold);
        if let Some((i, d)) = withheld {
            out.links.push(RText(vec![
                Seg::Text(format!("{words}: a record kept on another file ")),
                Seg::Mark {
                    code: d.reason.unwrap_or(Reason::REV),
                    label: d.label.clone(),
                    chars: 0,
                    decision: Some(i),
                },
            ]));
        } else if let Some(t) = rf.target.as_ref().and_then(|t| fam.record(t)) {
            let mut title = c.text(&Location::record(&t.id, Part::Title), &t.title);
            if c.plan.withheld(&Location::record(&t.id, Part::Record)).is_some() {
                title = RText::plain("a record that is withheld");
            }
            let mut segs = vec![Seg::Text(format!("{words}: "))];
            segs.extend(title.0);
            segs.push(Seg::Text(format!(" ({})", t.occurred.start.display())));
            out.links.push(RText(segs));
        }
    }
    for a in &fr.attachments {
        if let Some(ra) = attachment(c, a, inputs) {
            out.attachments.push(ra);
        }
    }
    out
}

fn attachment(c: &Ctx<'_, '_>, a: &AttachmentId, inputs: &AttachmentInputs) -> Option<RAttachment> {
    let fam = c.file.family;
    let att = fam.attachment(a)?;
    let aloc = Location::attachment(a, Part::Attachment);
    let author = c.text(&Location::attachment(a, Part::AttachmentAuthor), &fam.author_line(att));
    let mut ra = RAttachment {
        id: a.clone(),
        title: c.text(&Location::attachment(a, Part::AttachmentTitle), &att.title),
        date: att.document_date.clone(),
        author,
        withheld: None,
        pages: Vec::new(),
    };
    if let Some(d) = c.plan.withheld_indexed(&aloc) {
        // A withheld document is named by its date only, as a withheld record is: its title could
        // say what it is about, which is why it is held back.
        ra.title = RText::plain(&match att.document_date.as_deref().and_then(Date::parse) {
            Some(d) => format!("A document of {}", d.uk()),
            None => "A document".to_string(),
        });
        ra.withheld = Some(c.placeholder("This document", d));
        return Some(ra);
    }
    if let Some(crate::file::AttachmentInput::Pages(pages)) = inputs.get(a) {
        for (i, p) in pages.iter().enumerate() {
            let ploc = Location::attachment(a, Part::AttachmentPage { page: i });
            let what = format!("Page {} of this document", i + 1);
            if let Some(d) = c.plan.withheld_indexed(&ploc) {
                ra.pages.push(RPage { text: None, withheld: Some(c.placeholder(&what, d)) });
            } else if let Some(h) = c.failed.iter().find(|h| h.location == ploc) {
                let words = c.policy.words(Reason::REV);
                ra.pages.push(RPage {
                    text: None,
                    withheld: Some(Placeholder {
                        code: Reason::REV,
                        text: format!("{what} is not included: {words} (held until a worker has checked it)."),
                        decision: Some(h.id),
                    }),
                });
            } else {
                ra.pages.push(RPage { text: Some(c.text(&ploc, &p.text)), withheld: None });
            }
        }
    }
    Some(ra)
}

/// Plain words for a link between records.
fn link_words(kind: &str) -> String {
    match kind {
        "follows" => "follows".into(),
        "outcome_of" => "the outcome of".into(),
        "part_of_plan" => "part of the plan in".into(),
        "split_from" => "written up separately from a joint record".into(),
        "appends" => "adds to".into(),
        "amends" => "corrects".into(),
        "supersedes" => "replaces".into(),
        "copied_from" => "copied from".into(),
        "refers_to" => "refers to".into(),
        "minutes_of" => "the minutes of".into(),
        "chronology_source" => "taken from".into(),
        other => other.replace('_', " "),
    }
}

/// Plain words for a record type.
pub fn type_words(kind: &str, subtype: Option<&str>) -> String {
    let base = match kind {
        "contact" => "Contact",
        "referral" => "Referral",
        "early_help_assessment" => "Early help assessment",
        "early_help_review" => "Early help review",
        "single_assessment" => "Assessment",
        "strategy_discussion" => "Strategy discussion",
        "s47_enquiry" => "Section 47 enquiry",
        "icpc" => "Initial child protection conference",
        "rcpc" => "Review child protection conference",
        "core_group" => "Core group meeting",
        "cin_plan" => "Child in need plan",
        "cp_plan" => "Child protection plan",
        "cla_care_plan" => "Care plan",
        "pathway_plan" => "Pathway plan",
        "cin_review" => "Child in need review",
        "cla_review" => "Looked-after child review",
        "visit" => "Visit",
        "supervision" => "Supervision",
        "case_note" => "Case note",
        "chronology_entry" => "Chronology entry",
        "letter" => "Letter",
        "legal_planning_meeting" => "Legal planning meeting",
        "missing_episode" => "Missing episode",
        "return_home_interview" => "Return home interview",
        "health_assessment" => "Health assessment",
        "closure" => "Closure",
        other => return other.replace('_', " "),
    };
    match subtype {
        Some(s) if !s.is_empty() => {
            // Abbreviations in capitals, as the glossary explains them ("CIN visit", "IRO").
            let words: Vec<String> = s
                .split('_')
                .map(|w| match w {
                    "cin" | "cp" | "cla" | "iro" | "s47" | "taf" | "mash" | "plo" | "pep" | "sgo" => w.to_uppercase(),
                    _ => w.to_string(),
                })
                .collect();
            format!("{base} ({})", words.join(" "))
        }
        _ => base.to_string(),
    }
}

/// The preview: the disclosed text of the whole file in reading order.
pub fn preview(rf: &RedactedFile, plan: &Disclosure) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Disclosure preview: the file of {} ({})", rf.subject_name, plan.request.subject);
    let _ = writeln!(
        o,
        "Request: policy {}, requester {}, date {}, export {}",
        plan.request.policy, plan.request.requester, plan.request.date, plan.request.export
    );
    let _ =
        writeln!(o, "Marks: [CODE: words] replace removed words; the schedule (schedule.csv) explains each code.\n");
    for e in &rf.entries {
        match e {
            REntry::Record(r) => preview_record(&mut o, r),
            REntry::Attachment(a) => preview_attachment(&mut o, a),
        }
    }
    let _ = writeln!(o, "\nShare of the child's own narrative removed: {:.1}%", plan.narrative_removed_percent);
    o
}

fn preview_record(o: &mut String, r: &RRecord) {
    let _ = writeln!(o, "==== {} | {} | {} ====", r.date, r.kind, r.title.preview());
    if let Some(p) = &r.withheld {
        let _ = writeln!(o, "[Withheld ({}): {}]\n", p.code, p.text);
        return;
    }
    let _ = writeln!(o, "Recorded by: {}", r.author.preview());
    let _ = writeln!(o, "Concerns: {}", r.concerns.preview());
    if let Some(p) = &r.presence {
        let _ = writeln!(o, "{p}");
    }
    if !r.participants.is_empty() {
        let list: Vec<String> = r.participants.iter().map(|p| p.preview()).collect();
        let _ = writeln!(o, "Participants: {}", list.join("; "));
    }
    for s in &r.sections {
        let _ = writeln!(o);
        if let Some(p) = &s.withheld {
            let _ = writeln!(o, "[Withheld ({}): {}]", p.code, p.text);
            continue;
        }
        if let Some(h) = &s.heading {
            let _ = writeln!(o, "-- {} --", h.preview());
        }
        for (k, v) in &s.fields {
            let _ = writeln!(o, "{k}: {}", v.preview());
        }
        if !s.body.is_empty() {
            let _ = writeln!(o, "{}", s.body.preview());
        }
    }
    for (at, by, t) in &r.appendments {
        let _ = writeln!(o, "\nAdded {at} by {by}: {}", t.preview());
    }
    if !r.links.is_empty() {
        let _ = writeln!(o, "\nRelated records:");
        for l in &r.links {
            let _ = writeln!(o, "  - {}", l.preview());
        }
    }
    for a in &r.attachments {
        preview_attachment(o, a);
    }
    let _ = writeln!(o);
}

fn preview_attachment(o: &mut String, a: &RAttachment) {
    let _ = writeln!(o, "\n---- Document: {} ({}) ----", a.title.preview(), a.date.as_deref().unwrap_or("undated"));
    if let Some(p) = &a.withheld {
        let _ = writeln!(o, "[Withheld ({}): {}]", p.code, p.text);
        return;
    }
    for (i, p) in a.pages.iter().enumerate() {
        let _ = writeln!(o, "[page {}]", i + 1);
        if let Some(w) = &p.withheld {
            let _ = writeln!(o, "[Withheld ({}): {}]", w.code, w.text);
        } else if let Some(t) = &p.text {
            let _ = writeln!(o, "{}", t.preview());
        }
    }
}

/// The schedule of redactions as CSV: one row per removing mark (and per page held after
/// redaction); `pages` maps a row's id and location to the bundle pages where it shows (empty
/// before the bundle is built). It names who decided each item.
pub fn schedule_csv(
    d: &Disclosure,
    failed: &[HeldPage],
    policy: &Policy,
    pages: &dyn Fn(u32, &Location) -> String,
    o: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    o.write_all(b"item,mark,page,record,location,code,plain_words,rule,action,decided_by\n")?;
    type Row<'a> = (u32, String, &'a Location, Reason, String, String, String);
    let marks = d.scheduled().map(|(i, m)| -> Row<'_> {
        let action = format!("{:?}", m.action).to_lowercase();
        let by = m.decided_by.as_deref().unwrap_or("").to_string();
        (i, m.id.to_string(), &m.location, m.reason.unwrap_or(Reason::REV), m.rule.to_string(), action, by)
    });
    let held = failed.iter().map(|h| -> Row<'_> {
        (h.id, String::new(), &h.location, Reason::REV, "R3.verification".into(), "review".into(), String::new())
    });
    for (n, (i, id, loc, code, rule, action, by)) in marks.chain(held).enumerate() {
        let rec = loc.record_id().map(|r| r.to_string()).unwrap_or_default();
        let row = [
            (n + 1).to_string(),
            id,
            pages(i, loc),
            rec,
            loc.describe(),
            code.to_string(),
            policy.words(code).to_string(),
            rule,
            action,
            by,
        ];
        let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
        o.write_all(cells.join(",").as_bytes())?;
        o.write_all(b"\n")?;
    }
    Ok(())
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
