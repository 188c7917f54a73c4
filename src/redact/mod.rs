//! Redaction of case text: the plan's decisions applied to every piece of text on the file,
//! giving a `RedactedFile` of segments (kept text and marks) that the bundle renders and the
//! preview prints. Spans are applied from the end backwards so earlier offsets stay valid.
//! A mark carries its code, its label and the length of what it replaced, never the text.

use crate::file::{CaseFile, Entry, FileRecord, RefKind};
use crate::model::*;
use crate::policy::{field_text, Action, AttachmentInput, Decision, Location, Part, Plan, PlanIndex, Policy, Shared};
use std::fmt::Write;

/// A piece of disclosed text: kept words and marks.
#[derive(Clone, Debug, PartialEq)]
pub enum Seg {
    Text(String),
    /// A removed span: its code, a label that keeps the story, how many characters it replaced,
    /// and the plan decision it comes from (the schedule names the page where it is shown).
    Mark {
        code: Shared,
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
    pub code: String,
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

/// Apply a text's span decisions. Decisions at `loc` with spans; inserts add a mark after a span.
pub fn apply(text: &str, ds: &[(u32, &Decision)]) -> RText {
    let mut spans: Vec<(u32, &Decision)> = ds
        .iter()
        .copied()
        .filter(|(_, d)| d.span.is_some() && matches!(d.action, Action::Redact | Action::Insert))
        .collect();
    spans.sort_by_key(|(_, d)| (d.span.map(|s| s.start()).unwrap_or(0), d.action == Action::Redact));
    let mut out = Vec::new();
    let mut at = 0;
    for (i, d) in spans {
        let s = d.span.expect("filtered");
        if s.start() < at {
            continue; // inside an earlier redaction
        }
        if s.start() > at {
            out.push(Seg::Text(text[at..s.start()].to_string()));
        }
        out.push(Seg::Mark {
            code: d.reason.clone().unwrap_or_default(),
            label: d.label.clone(),
            chars: if d.action == Action::Redact { text[s.start()..s.end()].chars().count() } else { 0 },
            decision: Some(i),
        });
        at = if d.action == Action::Redact { s.end() } else { s.start() };
    }
    if at < text.len() {
        out.push(Seg::Text(text[at..].to_string()));
    }
    RText(out)
}

struct Ctx<'a, 'f> {
    file: &'a CaseFile<'f>,
    plan: PlanIndex<'a>,
    policy: &'a Policy,
}

impl Ctx<'_, '_> {
    fn text(&self, loc: &Location, text: &str) -> RText {
        let ds: Vec<(u32, &Decision)> = self.plan.at_indexed(loc).collect();
        apply(text, &ds)
    }

    fn placeholder(&self, what: &str, (i, d): (u32, &Decision)) -> Placeholder {
        let code = d.reason.clone().unwrap_or_default();
        let words = self.policy.words(&code);
        let pending = if d.action == Action::Review { " (held until a worker has checked it)" } else { "" };
        let about = d.label.as_ref().map(|l| format!(" about {l}")).unwrap_or_default();
        Placeholder {
            code: code.to_string(),
            text: format!("{what}{about} is not included: {words}{pending}."),
            decision: Some(i),
        }
    }

    fn person_name(&self, loc: &Location, p: &PersonId) -> RText {
        let name = self.file.family.person(p).map(|x| x.display_name()).unwrap_or_default();
        match self.plan.at_indexed(loc).find(|(_, d)| d.span.is_none() && d.action == Action::Redact) {
            Some((i, d)) => RText(vec![Seg::Mark {
                code: d.reason.clone().unwrap_or_default(),
                label: d.label.clone(),
                chars: name.chars().count(),
                decision: Some(i),
            }]),
            None => RText::plain(&name),
        }
    }
}

/// Build the disclosed file from the plan.
pub fn redact(
    file: &CaseFile<'_>,
    plan: &Plan,
    policy: &Policy,
    attachments: &std::collections::HashMap<AttachmentId, AttachmentInput>,
) -> RedactedFile {
    let c = Ctx { file, plan: PlanIndex::new(plan), policy };
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

fn record(
    c: &Ctx<'_, '_>,
    fr: &FileRecord,
    inputs: &std::collections::HashMap<AttachmentId, AttachmentInput>,
) -> RRecord {
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
                    code: d.reason.clone().unwrap_or_default(),
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
                    code: d.reason.clone().unwrap_or_default(),
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

fn attachment(
    c: &Ctx<'_, '_>,
    a: &AttachmentId,
    inputs: &std::collections::HashMap<AttachmentId, AttachmentInput>,
) -> Option<RAttachment> {
    let fam = c.file.family;
    let att = fam.attachment(a)?;
    let aloc = Location { record: att.record.clone(), attachment: Some(a.clone()), part: Part::Attachment };
    let author = c.text(&Location { part: Part::AttachmentAuthor, ..aloc.clone() }, &fam.author_line(att));
    let mut ra = RAttachment {
        id: a.clone(),
        title: c.text(&Location { part: Part::AttachmentTitle, ..aloc.clone() }, &att.title),
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
    if let Some(AttachmentInput::Pages(pages)) = inputs.get(a) {
        for (i, p) in pages.iter().enumerate() {
            let ploc = Location { part: Part::AttachmentPage { page: i }, ..aloc.clone() };
            match c.plan.withheld_indexed(&ploc) {
                Some(d) => ra.pages.push(RPage {
                    text: None,
                    withheld: Some(c.placeholder(&format!("Page {} of this document", i + 1), d)),
                }),
                None => ra.pages.push(RPage { text: Some(c.text(&ploc, &p.text)), withheld: None }),
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
pub fn preview(rf: &RedactedFile, plan: &Plan) -> String {
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

/// The schedule of redactions as CSV: one row per removing decision; `pages` maps a location to
/// the bundle page label where it appears (empty before the bundle is built).
pub fn schedule_csv(
    plan: &Plan,
    policy: &Policy,
    pages: &dyn Fn(u32, &Location) -> String,
    o: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    o.write_all(b"item,page,record,location,code,plain_words,rule,action\n")?;
    let mut n = 0;
    for (i, d) in plan.decisions.iter().enumerate() {
        if !(d.action.removes() || d.action == Action::Insert) {
            continue;
        }
        n += 1;
        let code = d.reason.clone().unwrap_or_default();
        let rec = d.location.record.as_ref().map(|r| r.to_string()).unwrap_or_default();
        let row = [
            n.to_string(),
            pages(i as u32, &d.location),
            rec,
            d.location.describe(),
            code.to_string(),
            policy.words(&code).to_string(),
            d.rule.to_string(),
            format!("{:?}", d.action).to_lowercase(),
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

/// The text a plan location refers to (for hashing what was removed), if it is a text.
pub fn unit_text(
    fam: &Family,
    inputs: &std::collections::HashMap<AttachmentId, AttachmentInput>,
    loc: &Location,
) -> Option<String> {
    if let (Some(a), Part::AttachmentPage { page }) = (&loc.attachment, &loc.part) {
        return match inputs.get(a) {
            Some(AttachmentInput::Pages(p)) => p.get(*page).map(|p| p.text.clone()),
            _ => None,
        };
    }
    if let (Some(a), Part::AttachmentTitle) = (&loc.attachment, &loc.part) {
        return fam.attachment(a).map(|x| x.title.clone());
    }
    if let (Some(a), Part::AttachmentAuthor) = (&loc.attachment, &loc.part) {
        return fam.attachment(a).map(|x| fam.author_line(x));
    }
    let r = fam.record(loc.record.as_ref()?)?;
    match &loc.part {
        Part::Title => Some(r.title.clone()),
        Part::Author => Some(fam.professional_line(&r.recorded.by)),
        Part::Participant { index } => {
            r.participants.get(*index)?.professional.as_ref().map(|p| fam.professional_line(p))
        }
        Part::Heading { section } => r.sections.iter().find(|s| &s.id == section).and_then(|s| s.heading.clone()),
        Part::Body { section } => Some(fam.body(&r.id, section).to_string()),
        Part::Field { section, key } => {
            r.sections.iter().find(|s| &s.id == section).and_then(|s| s.fields.get(key)).map(field_text)
        }
        Part::Appendment { id } => r.appendments.iter().find(|a| &a.id == id).map(|a| a.body.clone()),
        _ => None,
    }
}
