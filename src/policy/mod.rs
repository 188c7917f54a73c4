//! Decisions: DISCLOSURE-RULES.md applied in its order to one child's file. The rules' settings
//! (actions, reason codes, words) come from a policy file (`config`); their order and meaning are
//! here. Input: the file, the detector's findings and the request; output: a `Plan` of decisions
//! with reasons. It never edits text (that is `redact`).
//!
//! Rule ids used in the plan: R1 not on file, R2 other children's sections, R3.<flag> or
//! R3.professionals_only or R3.scan, R4 confidential, R5 referrer, R6 third parties by role,
//! R7 professionals, R8 the subject's own data.

pub mod config;
pub mod plan;

pub use config::{Audience, Policy, PolicyError};
pub use plan::*;

use crate::detect::sentence::sentences;
use crate::detect::{Context, Detector, Finding, Kind, Span, Target};
use crate::file::{Applies, CaseFile, Entry, FileRecord, RefKind, Role};
use crate::model::relation::Kin;
use crate::model::*;
use config::{FlagAction, SectionAction, SpanAction};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The order in which rule 3 looks at flags: the first that withholds wins.
const FLAG_ORDER: &[&str] = &[
    "withheld_from_family",
    "legal_privilege",
    "serious_harm",
    "crime_prevention",
    "child_confidence",
    "adoption_record",
    "court_material",
    "restricted_record",
    "special_category_health",
    "criminal_offence",
    "immigration",
    "third_party_confidential",
    "third_party_source",
    "do_not_disclose",
    "confidential_address",
    "location_revealing",
    "referrer_identity",
];

/// Text of one attachment page as read from the PDF, and whether it can be trusted.
#[derive(Clone, Debug)]
pub struct PageInput {
    pub text: String,
    /// `None` when the text is trustworthy; else why the page must be held (scan, unmapped font).
    pub hold: Option<String>,
}

/// What the PDF reader made of an attachment.
#[derive(Clone, Debug)]
pub enum AttachmentInput {
    Pages(Vec<PageInput>),
    /// The file could not be read safely (encrypted, damaged): withheld for review.
    Unreadable(String),
}

/// A verdict for one element or span.
#[derive(Clone, Debug)]
struct Verdict {
    action: Action,
    reason: Option<String>,
    rule: String,
    label: Option<String>,
    why: String,
}

/// Context of one piece of text: which children it is about and what flags reach it.
#[derive(Clone, Debug, Default)]
struct UnitCtx {
    children: Vec<PersonId>,
    /// (person, reason, rule): redact every sentence that mentions the person.
    sentence_flags: Vec<(PersonId, String, String)>,
    /// Addresses, contact details and places in this text are confidential (rule 4), with the rule id.
    confidential: Option<String>,
    narrative: bool,
}

struct Decider<'a, 'f> {
    file: &'a CaseFile<'f>,
    fam: &'f Family,
    policy: &'a Policy,
    det: &'a Detector,
    requester: PersonId,
    referrers: HashSet<PersonId>,
    conf_addresses: HashSet<AddressId>,
    conf_orgs: HashSet<OrgId>,
    /// (person, canonical contact value) pairs that are confidential.
    conf_contacts: HashSet<(PersonId, String)>,
    /// Persons whose every contact detail is confidential (do_not_disclose).
    dnd: HashSet<PersonId>,
    residents: HashMap<AddressId, Vec<PersonId>>,
    org_addresses: HashSet<AddressId>,
    subject_homes: HashSet<AddressId>,
    requester_homes: HashSet<AddressId>,
    la_town: Option<String>,
    out: Vec<Decision>,
    review: Vec<ReviewItem>,
    consult: Vec<Consultation>,
    narrative: BTreeMap<RecordId, (usize, usize)>,
    /// Each distinct code, rule, label and explanation, held once for all the decisions.
    shared: HashSet<Shared>,
}

/// Apply the policy to a file. `attachments` holds what the PDF reader made of each attachment on
/// the file (an attachment missing from it is held for review).
pub fn decide(
    file: &CaseFile<'_>,
    det: &Detector,
    policy: &Policy,
    requester: &PersonId,
    date: &str,
    attachments: &HashMap<AttachmentId, AttachmentInput>,
) -> Plan {
    let mut d = Decider::new(file, det, policy, requester);
    for e in &file.entries {
        match e {
            Entry::Record(r) => d.record(r, attachments),
            Entry::Attachment(a) => d.attachment(a, None, attachments),
        }
    }
    let narrative: Vec<Narrative> = d
        .narrative
        .iter()
        .map(|(r, (c, rm))| Narrative { record: r.clone(), chars: *c, removed: *rm, percent: pct(*rm, *c) })
        .collect();
    let (tc, trm) = narrative.iter().fold((0, 0), |a, n| (a.0 + n.chars, a.1 + n.removed));
    Plan {
        request: Request {
            export: file.family.header.id.clone(),
            subject: file.subject.clone(),
            requester: requester.clone(),
            policy: policy.name.clone(),
            policy_sha256: policy.sha256.clone(),
            audience: policy.audience.as_str().into(),
            date: date.to_string(),
        },
        decisions: d.out,
        review: d.review,
        consult: d.consult,
        narrative,
        narrative_removed_percent: pct(trm, tc),
        sanitized: Vec::new(),
        verification_failures: 0,
    }
}

fn pct(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        (a as f64 * 1000.0 / b as f64).round() / 10.0
    }
}

impl<'a, 'f> Decider<'a, 'f> {
    fn new(file: &'a CaseFile<'f>, det: &'a Detector, policy: &'a Policy, requester: &PersonId) -> Self {
        let fam = file.family;
        let subject = &file.subject;
        let mut referrers = HashSet::new();
        for p in &fam.persons {
            if p.sensitivity.iter().any(|s| s.flag == "referrer_identity") {
                referrers.insert(p.id.clone());
            }
        }
        for r in &fam.records {
            for s in r.sections.iter().flat_map(|s| s.sensitivity.iter()).chain(r.sensitivity.iter()) {
                if s.flag == "referrer_identity" {
                    if let Some(p) = &s.subject {
                        referrers.insert(p.clone());
                    }
                }
            }
            // A participant informant who is not family and not a professional (rule 5).
            for pa in &r.participants {
                if let (Some(p), "informant") = (&pa.person, pa.role.as_str()) {
                    if p != subject && p != requester && !file.role_of(p).is_family() {
                        referrers.insert(p.clone());
                    }
                }
            }
        }
        // The requester is never a referrer to themselves; the subject neither.
        referrers.remove(requester);
        referrers.remove(subject);
        let flagged =
            |v: &[Sensitivity]| v.iter().any(|s| s.flag == "confidential_address" || s.flag == "location_revealing");
        let mut conf_orgs: HashSet<OrgId> = fam
            .organisations
            .iter()
            .filter(|o| flagged(&o.sensitivity) || o.kind == "refuge")
            .map(|o| o.id.clone())
            .collect();
        let mut dnd = HashSet::new();
        let mut conf_contacts = HashSet::new();
        let mut conf_addresses: HashSet<AddressId> =
            fam.addresses.iter().filter(|a| flagged(&a.sensitivity)).map(|a| a.id.clone()).collect();
        let mut residents: HashMap<AddressId, Vec<PersonId>> = HashMap::new();
        for p in &fam.persons {
            if p.has_flag("do_not_disclose") {
                dnd.insert(p.id.clone());
            }
            for e in &p.education {
                if flagged(&e.sensitivity) {
                    conf_orgs.insert(e.organisation.clone());
                }
            }
            for r in &p.residences {
                residents.entry(r.address.clone()).or_default().push(p.id.clone());
                let dnd_here =
                    dnd.contains(&p.id) && r.res_use != "previous" && r.period.as_ref().is_none_or(|x| x.to.is_none());
                if r.confidential || r.res_use == "refuge" || dnd_here {
                    conf_addresses.insert(r.address.clone());
                }
            }
            for c in &p.contact_points {
                if c.confidential
                    || dnd.contains(&p.id)
                    || c.sensitivity.iter().any(|s| s.flag == "confidential_address")
                {
                    conf_contacts.insert((p.id.clone(), contact_key(&c.value)));
                }
            }
        }
        for o in &fam.organisations {
            if conf_orgs.contains(&o.id) {
                if let Some(a) = &o.address {
                    conf_addresses.insert(a.clone());
                }
            }
        }
        let org_addresses: HashSet<AddressId> = fam.organisations.iter().filter_map(|o| o.address.clone()).collect();
        let homes = |p: &PersonId| -> HashSet<AddressId> {
            fam.person(p).map(|x| x.residences.iter().map(|r| r.address.clone()).collect()).unwrap_or_default()
        };
        Decider {
            file,
            fam,
            policy,
            det,
            requester: requester.clone(),
            referrers,
            conf_addresses,
            conf_orgs,
            conf_contacts,
            dnd,
            residents,
            org_addresses,
            subject_homes: homes(subject),
            requester_homes: homes(requester),
            la_town: fam.la_town().map(|t| t.to_lowercase()),
            out: Vec::new(),
            review: Vec::new(),
            consult: Vec::new(),
            narrative: BTreeMap::new(),
            shared: HashSet::new(),
        }
    }

    /// The shared copy of a text.
    fn share(&mut self, s: String) -> Shared {
        if let Some(x) = self.shared.get(s.as_str()) {
            return x.clone();
        }
        let x: Shared = s.into();
        self.shared.insert(x.clone());
        x
    }

    fn subject(&self) -> &PersonId {
        &self.file.subject
    }

    fn owner(&self) -> &str {
        &self.policy.label_owner
    }

    fn push(&mut self, loc: Location, span: Option<Span>, v: Verdict, removed: usize) {
        if matches!(v.action, Action::Review) {
            self.review.push(ReviewItem {
                location: loc.clone(),
                reason: v.reason.clone().unwrap_or_default(),
                rule: v.rule.clone(),
                why: v.why.clone(),
            });
        }
        let reason = v.reason.map(|r| self.share(r));
        let rule = self.share(v.rule);
        let label = v.label.map(|l| self.share(l));
        let explanation = self.share(v.why);
        self.out.push(Decision {
            location: loc,
            span,
            action: v.action,
            reason,
            rule,
            label,
            explanation,
            removed_chars: removed,
        });
    }

    /// Resolve a flag to an action for this file (about the subject, the requester, or a third party).
    fn flag_action(&self, s: &Sensitivity) -> Option<(FlagAction, String)> {
        let rule = self.policy.flags.get(&s.flag)?;
        let act = match &s.subject {
            None => rule.action,
            Some(p) if p == self.subject() || p == &self.requester => rule.about_subject.unwrap_or(rule.action),
            Some(_) => rule.third_party.unwrap_or(rule.action),
        };
        Some((act, rule.reason.clone().unwrap_or_default()))
    }

    /// Rule 3 over a set of flags: the first that withholds (or holds for review) wins; the others
    /// shape the text (sentence redaction, confidential, consultation).
    fn flags_verdict(&mut self, flags: &[&Sensitivity], loc: &Location, ctx: &mut UnitCtx) -> Option<Verdict> {
        for name in FLAG_ORDER {
            for s in flags.iter().filter(|s| s.flag == *name) {
                let Some((act, reason)) = self.flag_action(s) else { continue };
                let rule = format!("R3.{name}");
                let whose = s.subject.as_ref().map(|p| format!(" (subject {p})")).unwrap_or_default();
                match act {
                    FlagAction::Withhold | FlagAction::Review => {
                        return Some(Verdict {
                            action: if act == FlagAction::Review { Action::Review } else { Action::Withhold },
                            reason: Some(reason),
                            rule,
                            label: None,
                            why: format!("{name} flag{whose}"),
                        })
                    }
                    FlagAction::RedactSentences => {
                        if let Some(p) = &s.subject {
                            ctx.sentence_flags.push((p.clone(), reason, rule));
                        }
                    }
                    FlagAction::Consult => {
                        if !self.consult.iter().any(|c| &c.location == loc) {
                            self.consult.push(Consultation { location: loc.clone(), source: s.source.clone() });
                        }
                    }
                    FlagAction::Confidential => ctx.confidential = Some(rule),
                    FlagAction::Referrer => {
                        if let Some(p) = &s.subject {
                            if p != self.subject() && p != &self.requester {
                                self.referrers.insert(p.clone());
                            }
                        }
                    }
                    FlagAction::Disclose => {}
                }
            }
        }
        None
    }

    fn record(&mut self, fr: &FileRecord, attachments: &HashMap<AttachmentId, AttachmentInput>) {
        let Some(r) = self.fam.record(&fr.id) else { return };
        let rloc = Location::record(&r.id, Part::Record);
        let mut rctx = UnitCtx {
            children: r
                .membership
                .iter()
                .filter(|m| m.on_file && m.removed.is_none())
                .map(|m| m.person.clone())
                .collect(),
            ..Default::default()
        };
        let rflags: Vec<&Sensitivity> = r.sensitivity.iter().collect();
        let narrative_total: usize = fr
            .sections
            .iter()
            .filter(|s| !matches!(s.applies, Applies::OtherChildren(_)))
            .map(|s| self.fam.body(&r.id, &s.id).chars().count())
            .sum::<usize>()
            + r.appendments.iter().map(|a| a.body.chars().count()).sum::<usize>();
        self.narrative.insert(r.id.clone(), (narrative_total, 0));
        if let Some(v) = self.flags_verdict(&rflags, &rloc, &mut rctx) {
            self.push(rloc, None, v, narrative_total);
            self.narrative.insert(r.id.clone(), (narrative_total, narrative_total));
            return;
        }
        self.unit(Location::record(&r.id, Part::Title), &r.title, &rctx);
        self.members(r);
        for (i, p) in r.participants.iter().enumerate() {
            self.participant(r, i, p);
        }
        for fs in &fr.sections {
            let s = &r.sections[fs.index];
            let sloc = Location::record(&r.id, Part::Section { section: s.id.clone() });
            let body = self.fam.body(&r.id, &s.id).to_string();
            let narrative = !matches!(fs.applies, Applies::OtherChildren(_));
            let mut ctx = rctx.clone();
            ctx.narrative = narrative;
            if let Some(ch) = s.scope.children() {
                ctx.children = ch.to_vec();
            }
            let verdict = self.section_verdict(r, s, &fs.applies, &sloc, &mut ctx);
            if let Some(v) = verdict {
                let n = body.chars().count();
                if narrative {
                    self.add_removed(&r.id, n);
                }
                self.push(sloc, None, v, n);
                continue;
            }
            if let Some(h) = &s.heading {
                self.unit(Location::record(&r.id, Part::Heading { section: s.id.clone() }), h, &ctx);
            }
            self.unit(Location::record(&r.id, Part::Body { section: s.id.clone() }), &body, &ctx);
            for (k, v) in &s.fields {
                let text = field_text(v);
                self.unit(Location::record(&r.id, Part::Field { section: s.id.clone(), key: k.clone() }), &text, &ctx);
            }
            // Rule 1: a reference in this section to a record not on the file gets a placeholder.
            for rf in &fr.refs {
                if let RefKind::Text { section, at: Some(at), len } = &rf.kind {
                    if section == &s.id
                        && !rf.on_file
                        && !(rf.target.is_none() && rf.target_person.as_ref() == Some(self.subject()))
                    {
                        let label = self.elsewhere_label(&rf.held_by);
                        let v = Verdict {
                            action: Action::Insert,
                            reason: Some(self.policy.not_on_file.reason.clone()),
                            rule: "R1.not_on_file".into(),
                            label: Some(label),
                            why: format!(
                                "reference to {} which is not on this file",
                                rf.target
                                    .as_ref()
                                    .map(|t| t.to_string())
                                    .unwrap_or_else(|| "an unresolved record".into())
                            ),
                        };
                        self.push(
                            Location::record(&r.id, Part::Body { section: s.id.clone() }),
                            Some(Span::new(at + len, at + len)),
                            v,
                            0,
                        );
                    }
                }
            }
        }
        for a in &r.appendments {
            let mut ctx = rctx.clone();
            ctx.narrative = true;
            self.unit(Location::record(&r.id, Part::Appendment { id: a.id.clone() }), &a.body, &ctx);
        }
        for (i, rf) in fr.refs.iter().enumerate().filter(|(_, rf)| matches!(rf.kind, RefKind::Link(_))) {
            if !rf.on_file {
                let label = self.elsewhere_label(&rf.held_by);
                let v = Verdict {
                    action: Action::Withhold,
                    reason: Some(self.policy.not_on_file.reason.clone()),
                    rule: "R1.not_on_file".into(),
                    label: Some(label),
                    why: format!(
                        "link target {} is not on this file",
                        rf.target.as_ref().map(|t| t.as_str()).unwrap_or("")
                    ),
                };
                self.push(Location::record(&r.id, Part::Link { index: i }), None, v, 0);
            }
        }
        for a in &fr.attachments {
            self.attachment(a, Some(&rctx), attachments);
        }
    }

    fn add_removed(&mut self, r: &RecordId, n: usize) {
        if let Some(e) = self.narrative.get_mut(r) {
            e.1 = (e.1 + n).min(e.0);
        }
    }

    /// Rules 2 and 3 for one section.
    fn section_verdict(
        &mut self,
        r: &Record,
        s: &Section,
        applies: &Applies,
        loc: &Location,
        ctx: &mut UnitCtx,
    ) -> Option<Verdict> {
        if let Applies::OtherChildren(kids) = applies {
            let rule = &self.policy.other_children;
            if rule.action != SectionAction::Disclose {
                let whose: Vec<String> = kids.iter().map(|k| k.to_string()).collect();
                return Some(Verdict {
                    action: if rule.action == SectionAction::Review { Action::Review } else { Action::Withhold },
                    reason: Some(rule.reason.clone()),
                    rule: "R2.other_children".into(),
                    label: Some(self.children_words(kids)),
                    why: format!("section scoped to {}", whose.join(", ")),
                });
            }
        }
        if s.professionals_only() {
            let rule = &self.policy.professionals_only;
            if rule.action != SectionAction::Disclose {
                return Some(Verdict {
                    action: if rule.action == SectionAction::Review { Action::Review } else { Action::Withhold },
                    reason: Some(rule.reason.clone()),
                    rule: "R3.professionals_only".into(),
                    label: None,
                    why: "audience professionals_only".into(),
                });
            }
        }
        let _ = r;
        let flags: Vec<&Sensitivity> = s.sensitivity.iter().collect();
        self.flags_verdict(&flags, loc, ctx)
    }

    /// "[information kept on your brother's file is not included]"
    fn elsewhere_label(&self, held_by: &[PersonId]) -> String {
        if held_by.is_empty() {
            return "information kept on another file is not included".into();
        }
        let words: BTreeSet<String> = held_by.iter().map(|p| self.person_words(p)).collect();
        let words: Vec<String> = words.into_iter().collect();
        let files = if held_by.len() > 1 { "files" } else { "file" };
        format!(
            "information kept on {} {files} is not included",
            join_and(&words.iter().map(|w| format!("{w}'s")).collect::<Vec<_>>())
        )
    }

    /// "your brother", "the child's mother", "another child", "a member of the public".
    fn person_words(&self, p: &PersonId) -> String {
        if p == self.subject() {
            return if self.owner() == "your" { "you".into() } else { "the child".into() };
        }
        if self.referrers.contains(p) {
            return self.policy.referrers.label.clone();
        }
        match self.file.role_of(p) {
            Role::Family { words, .. } => format!("{} {words}", self.owner()),
            Role::Related { kin: Kin::Neighbour, .. } => "a neighbour".into(),
            Role::Related { kin: Kin::Friend, .. } => "a friend".into(),
            Role::Related { words, .. } => format!("{} {words}", self.owner()),
            _ => {
                // The partner of one of the child's parents, if recorded.
                if let Some(words) = self.file.parents_partner(p) {
                    return format!("{} {words}'s partner", self.owner());
                }
                match self.fam.person(p).map(|x| x.kind.as_str()) {
                    Some("child") => "another child".into(),
                    _ => "another person".into(),
                }
            }
        }
    }

    fn children_words(&self, kids: &[PersonId]) -> String {
        let w: Vec<String> = kids.iter().map(|k| self.person_words(k)).collect();
        join_and(&w)
    }

    fn members(&mut self, r: &Record) {
        // The names of the children concerned, decided like any name mention.
        for m in r.membership.iter().filter(|m| m.on_file && m.removed.is_none()) {
            if &m.person == self.subject() {
                continue;
            }
            if let Some(v) = self.person_verdict(&m.person, &Kind::Name, None, &UnitCtx::default()) {
                let mut v = v;
                v.why = format!("member {}: {}", m.person, v.why);
                self.push(Location::record(&r.id, Part::Member { person: m.person.clone() }), None, v, 0);
            }
        }
    }

    fn participant(&mut self, r: &Record, i: usize, p: &Participant) {
        let loc = Location::record(&r.id, Part::Participant { index: i });
        if let Some(pid) = &p.person {
            if let Some(mut v) = self.person_verdict(pid, &Kind::Name, None, &UnitCtx::default()) {
                v.why = format!("participant {pid} ({}): {}", p.role, v.why);
                self.push(loc, None, v, 0);
            }
        } else if let Some(pro) = &p.professional {
            // Rule 7 keeps the professional; rule 4 may still take out their organisation.
            if let Some(x) = self.fam.professional(pro) {
                if self.conf_orgs.contains(&x.organisation) {
                    let v = Verdict {
                        action: Action::Redact,
                        reason: Some(self.policy.confidential.reason.clone()),
                        rule: "R4.confidential".into(),
                        label: Some("a place withheld".into()),
                        why: format!("organisation {} of {pro} is confidential or location revealing", x.organisation),
                    };
                    self.push(loc, None, v, 0);
                }
            }
        }
    }

    fn attachment(
        &mut self,
        a: &AttachmentId,
        rctx: Option<&UnitCtx>,
        inputs: &HashMap<AttachmentId, AttachmentInput>,
    ) {
        let Some(att) = self.fam.attachment(a) else { return };
        let aloc = Location { record: att.record.clone(), attachment: Some(a.clone()), part: Part::Attachment };
        let mut ctx = rctx.cloned().unwrap_or_default();
        if ctx.children.is_empty() {
            ctx.children = vec![self.subject().clone()];
        }
        let flags: Vec<&Sensitivity> = att.sensitivity.iter().collect();
        if let Some(v) = self.flags_verdict(&flags, &aloc, &mut ctx) {
            self.push(aloc, None, v, 0);
            return;
        }
        if !att.text_layer {
            let rule = &self.policy.scans;
            let v = Verdict {
                action: if rule.action == SectionAction::Withhold { Action::Withhold } else { Action::Review },
                reason: Some(rule.reason.clone()),
                rule: "R3.scan".into(),
                label: None,
                why: "scanned document (text_layer false): needs OCR and a person's check".into(),
            };
            self.push(aloc, None, v, 0);
            return;
        }
        let tloc = Location { part: Part::AttachmentTitle, ..aloc.clone() };
        self.unit(tloc, &att.title, &ctx);
        match inputs.get(a) {
            None => {
                let v = Verdict {
                    action: Action::Review,
                    reason: Some(self.policy.scans.reason.clone()),
                    rule: "R3.unreadable".into(),
                    label: None,
                    why: "the attachment's text was not read".into(),
                };
                self.push(aloc, None, v, 0);
            }
            Some(AttachmentInput::Unreadable(why)) => {
                let v = Verdict {
                    action: Action::Review,
                    reason: Some(self.policy.scans.reason.clone()),
                    rule: "R3.unreadable".into(),
                    label: None,
                    why: format!("the PDF cannot be read safely: {why}"),
                };
                self.push(aloc, None, v, 0);
            }
            Some(AttachmentInput::Pages(pages)) => {
                for (i, pg) in pages.iter().enumerate() {
                    let ploc = Location { part: Part::AttachmentPage { page: i }, ..aloc.clone() };
                    if let Some(h) = &pg.hold {
                        let v = Verdict {
                            action: Action::Review,
                            reason: Some(self.policy.scans.reason.clone()),
                            rule: "R3.scan".into(),
                            label: None,
                            why: h.clone(),
                        };
                        self.push(ploc, None, v, 0);
                        continue;
                    }
                    let text = pg.text.clone();
                    self.unit(ploc, &text, &ctx);
                }
            }
        }
    }

    /// Detect and decide every mention in one piece of text.
    fn unit(&mut self, loc: Location, text: &str, ctx: &UnitCtx) {
        if text.trim().is_empty() {
            return;
        }
        let findings = self.det.find(text, &Context { children: ctx.children.clone() });
        // Rule 3: sentences about a third party with a flagged detail.
        let mut gone: Vec<Span> = Vec::new();
        if !ctx.sentence_flags.is_empty() {
            for s in sentences(text) {
                for (p, reason, rule) in &ctx.sentence_flags {
                    let t = Target::Person(p.clone());
                    if findings.iter().any(|f| s.contains(&f.span) && f.is_about(&t)) {
                        let n = text[s.start()..s.end()].chars().count();
                        let label = format!("information about {}", self.person_words(p));
                        self.push(
                            loc.clone(),
                            Some(s),
                            Verdict {
                                action: Action::Redact,
                                reason: Some(reason.clone()),
                                rule: rule.clone(),
                                label: Some(label),
                                why: format!("sentence mentions {p}, whose flagged detail this is"),
                            },
                            n,
                        );
                        if ctx.narrative {
                            if let Some(r) = &loc.record {
                                self.add_removed(r, n);
                            }
                        }
                        gone.push(s);
                        break;
                    }
                }
            }
        }
        for f in &findings {
            if gone.iter().any(|g| g.overlaps(&f.span)) {
                continue;
            }
            let (v, ambiguous) = self.finding_verdict(f, text, ctx);
            if let Some(why) = ambiguous {
                // Listed for a person to check; it stays a redaction meanwhile (not withheld).
                self.review.push(ReviewItem {
                    location: loc.clone(),
                    reason: v.reason.clone().unwrap_or_default(),
                    rule: v.rule.clone(),
                    why,
                });
            }
            let mut span = f.span;
            if v.action == Action::Redact {
                span = self.trim_la_town(text, span);
                let n = text[span.start()..span.end()].chars().count();
                if ctx.narrative {
                    if let Some(r) = &loc.record {
                        self.add_removed(r, n);
                    }
                }
                self.push(loc.clone(), Some(span), v, n);
            } else {
                self.push(loc.clone(), Some(span), v, 0);
            }
        }
    }

    /// Rule 4 keeps the town of a confidential address when it is where the LA itself sits.
    fn trim_la_town(&self, text: &str, span: Span) -> Span {
        let (Some(town), true) = (&self.la_town, self.policy.confidential.keep_la_town) else { return span };
        let s = &text[span.start()..span.end()];
        let lower = s.to_lowercase();
        if lower.len() == s.len() && lower.ends_with(town.as_str()) && lower.len() > town.len() {
            let cut = s.len() - town.len();
            let head = s[..cut].trim_end_matches([',', ' ']);
            if !head.is_empty() {
                return Span::new(span.start(), span.start() + head.len());
            }
        }
        span
    }

    /// The verdict on one finding: the most protective of its candidates' verdicts. For a name
    /// that could be people the rules treat differently (one kept, another redacted), also a note
    /// for the review list (ids only).
    fn finding_verdict(&self, f: &Finding, text: &str, ctx: &UnitCtx) -> (Verdict, Option<String>) {
        let (v, kept, redacted) = self.candidates_verdict(f, text, ctx);
        let note = (f.kind == Kind::Name && v.action == Action::Redact && !kept.is_empty() && !redacted.is_empty())
            .then(|| {
                format!(
                    "a name that could be {} (kept) or {} (not kept), at bytes {}..{}: redacted as the most protected; check whom it means",
                    kept.join("|"),
                    redacted.join("|"),
                    f.span.start(),
                    f.span.end()
                )
            });
        (v, note)
    }

    /// The most protective verdict over a finding's candidates, with the people and professionals
    /// among them that would be kept and those that would be redacted.
    fn candidates_verdict(&self, f: &Finding, text: &str, ctx: &UnitCtx) -> (Verdict, Vec<String>, Vec<String>) {
        let mut best: Option<Verdict> = None;
        let mut keep: Option<Verdict> = None;
        let (mut kept, mut redacted) = (Vec::new(), Vec::new());
        let raw = &text[f.span.start()..f.span.end()];
        // A postcode or street shared with the subject's own home says nothing about anyone else
        // (a town alone is settled by address_verdict: rule 4 takes a confidential one out).
        if f.kind != Kind::Town && f.targets.len() > 1 && f.targets.iter().any(|t| matches!(t, Target::Address(a) if self.subject_homes.contains(a) && !self.conf_addresses.contains(a))) {
            let v = Verdict {
                action: Action::Disclose,
                reason: None,
                rule: "R8.subject".into(),
                label: None,
                why: format!("{} ({}): shared with the subject's own home", targets_str(&f.targets), f.form),
            };
            return (v, kept, redacted);
        }
        for t in &f.targets {
            let v = match t {
                Target::Person(p) => self.person_verdict(p, &f.kind, Some(raw), ctx),
                Target::Address(a) => self.address_verdict(a, &f.kind, ctx),
                Target::Organisation(o) => self.org_verdict(o, ctx),
                Target::Professional(p) => self.pro_verdict(p, &f.kind),
                Target::Unknown => self.unknown_verdict(&f.kind),
            };
            if matches!(t, Target::Person(_) | Target::Professional(_)) {
                let id = targets_str(std::slice::from_ref(t));
                match &v {
                    Some(v) if v.action == Action::Redact => redacted.push(id),
                    _ => kept.push(id),
                }
            }
            match v {
                Some(v) if v.action == Action::Redact => {
                    let better = best.as_ref().is_none_or(|b| rule_rank(&v.rule) < rule_rank(&b.rule));
                    if better {
                        best = Some(v);
                    }
                }
                Some(v) => keep = keep.or(Some(v)),
                None => {}
            }
        }
        let what = format!("{} ({}, {})", targets_str(&f.targets), f.form, f.recognizer);
        let v = match best.or(keep) {
            Some(mut v) => {
                v.why = format!("{what}: {}", v.why);
                v
            }
            None => Verdict { action: Action::Disclose, reason: None, rule: "R8.keep".into(), label: None, why: what },
        };
        (v, kept, redacted)
    }

    fn redact(&self, reason: &str, rule: &str, label: String, why: String) -> Option<Verdict> {
        Some(Verdict {
            action: Action::Redact,
            reason: Some(reason.into()),
            rule: rule.into(),
            label: Some(label),
            why,
        })
    }

    fn keep(&self, rule: &str, why: impl Into<String>) -> Option<Verdict> {
        Some(Verdict { action: Action::Disclose, reason: None, rule: rule.into(), label: None, why: why.into() })
    }

    fn person_verdict(&self, p: &PersonId, kind: &Kind, raw: Option<&str>, ctx: &UnitCtx) -> Option<Verdict> {
        let detail = kind.is_detail();
        let pol = self.policy;
        // Rule 4: confidential contact details (and do_not_disclose whereabouts).
        if detail && matches!(kind, Kind::Phone | Kind::Email) {
            let key = raw.map(contact_key).unwrap_or_default();
            let conf =
                self.conf_contacts.contains(&(p.clone(), key)) || self.dnd.contains(p) || ctx.confidential.is_some();
            if conf && pol.confidential.action == SpanAction::Redact {
                let rule = ctx
                    .confidential
                    .clone()
                    .filter(|_| !self.conf_contacts.contains(&(p.clone(), raw.map(contact_key).unwrap_or_default())))
                    .unwrap_or_else(|| "R4.confidential".into());
                return self.redact(
                    &pol.confidential.reason,
                    &rule,
                    "contact details withheld".into(),
                    format!("confidential contact detail of {p}"),
                );
            }
        }
        // Rule 5: referrers, with all their details.
        if self.referrers.contains(p) && pol.referrers.action == SpanAction::Redact {
            let label =
                if detail { format!("details of {}", pol.referrers.label) } else { pol.referrers.label.clone() };
            return self.redact(
                &pol.referrers.reason,
                "R5.referrer",
                label,
                format!("{p} gave information (referrer)"),
            );
        }
        if p == self.subject() {
            return match pol.subject.own_details {
                SpanAction::Disclose => self.keep("R8.subject", "the subject's own data"),
                SpanAction::Redact => self.redact(
                    "TP",
                    "R8.subject",
                    "your details".into(),
                    "policy redacts the subject's own details".into(),
                ),
            };
        }
        if p == &self.requester && pol.requester.own_details == SpanAction::Disclose {
            return self.keep("R6.requester", "the requester's own details");
        }
        if *kind == Kind::Relationship {
            return self.keep("R6.family_names", "a relationship word");
        }
        let role = self.file.role_of(p);
        let words = self.person_words(p);
        if role.is_family() {
            let sibling = role.kin() == Some(Kin::Sibling);
            let reason = if sibling { &pol.family.sibling_reason } else { &pol.family.reason };
            if detail {
                if pol.family.details == SpanAction::Redact {
                    return self.redact(
                        reason,
                        "R6.family_details",
                        format!("{words}'s {}", detail_words(kind)),
                        format!("{p} is family ({words}); their details are theirs"),
                    );
                }
                return self.keep("R6.family_details", format!("{p} is family; policy keeps details"));
            }
            if pol.family.names == SpanAction::Redact {
                return self.redact(reason, "R6.family_names", words, format!("{p} is family; policy redacts names"));
            }
            return self.keep("R6.family_names", format!("{p} is family ({words})"));
        }
        let act = if detail { pol.non_family.details } else { pol.non_family.names };
        if act == SpanAction::Redact {
            let label = if detail { format!("{words}'s {}", detail_words(kind)) } else { words };
            return self.redact(
                &pol.non_family.reason,
                "R6.third_party",
                label,
                format!("{p} is not family, not a professional and not the requester"),
            );
        }
        self.keep("R6.third_party", format!("{p} is a third party; policy keeps"))
    }

    fn address_verdict(&self, a: &AddressId, kind: &Kind, ctx: &UnitCtx) -> Option<Verdict> {
        let pol = self.policy;
        let label = if *kind == Kind::Postcode { "postcode withheld" } else { "address withheld" };
        let is_org = self.org_addresses.contains(a);
        let conf = self.conf_addresses.contains(a) || (ctx.confidential.is_some() && !is_org);
        if *kind == Kind::Town {
            // A town on its own: rule 4 takes out a confidential address's town wherever it
            // stands, unless it is where the local authority itself sits; any other town alone
            // says nothing about where anyone lives.
            let town = self.fam.address(a).and_then(|x| x.town.as_deref()).map(|t| t.to_lowercase());
            let la = pol.confidential.keep_la_town && town.is_some() && town == self.la_town;
            if conf && !la && pol.confidential.action == SpanAction::Redact {
                let rule = if self.conf_addresses.contains(a) {
                    "R4.confidential".to_string()
                } else {
                    ctx.confidential.clone().unwrap_or_default()
                };
                return self.redact(
                    &pol.confidential.reason,
                    &rule,
                    "a place withheld".into(),
                    format!("the town of address {a}, which is confidential"),
                );
            }
            let why = if la { "the local authority's own town" } else { "a town on its own" };
            return self.keep("R4.town", format!("{why} (address {a})"));
        }
        if conf && pol.confidential.action == SpanAction::Redact {
            let rule = if self.conf_addresses.contains(a) {
                "R4.confidential".to_string()
            } else {
                ctx.confidential.clone().unwrap_or_default()
            };
            return self.redact(&pol.confidential.reason, &rule, label.into(), format!("address {a} is confidential"));
        }
        let residents = self.residents.get(a).cloned().unwrap_or_default();
        if !residents.is_empty()
            && residents.iter().all(|p| self.referrers.contains(p))
            && pol.referrers.action == SpanAction::Redact
        {
            return self.redact(
                &pol.referrers.reason,
                "R5.referrer",
                format!("details of {}", pol.referrers.label),
                format!("address {a} is a referrer's"),
            );
        }
        if self.subject_homes.contains(a) {
            return self.keep("R8.subject", format!("address {a} is the subject's own home"));
        }
        if self.requester_homes.contains(a) && pol.requester.own_details == SpanAction::Disclose {
            return self.keep("R6.requester", format!("address {a} is the requester's"));
        }
        if is_org || residents.is_empty() {
            return self.keep("R7.organisation", format!("address {a} is an organisation's"));
        }
        // Someone else's home: the most protective of its residents' rules.
        let mut verdict = None;
        for p in &residents {
            if let Some(v) = self.person_verdict(p, &Kind::AddressLine, None, &UnitCtx::default()) {
                if v.action == Action::Redact {
                    let words = self.person_words(p);
                    return Some(Verdict { label: Some(format!("{words}'s address")), ..v });
                }
                verdict = verdict.or(Some(v));
            }
        }
        verdict
    }

    fn org_verdict(&self, o: &OrgId, ctx: &UnitCtx) -> Option<Verdict> {
        let pol = self.policy;
        let conf = self.conf_orgs.contains(o)
            || (ctx.confidential.as_deref() == Some("R3.location_revealing")
                && self.fam.organisation(o).is_some_and(|x| x.kind != "local_authority"));
        if conf && pol.confidential.action == SpanAction::Redact {
            return self.redact(
                &pol.confidential.reason,
                "R4.confidential",
                "a place withheld".into(),
                format!("organisation {o} would reveal where someone is"),
            );
        }
        self.keep("R7.organisation", format!("organisation {o}"))
    }

    fn pro_verdict(&self, p: &ProfessionalId, kind: &Kind) -> Option<Verdict> {
        let pol = self.policy;
        let act = if kind.is_detail() { pol.professionals.details } else { pol.professionals.names };
        if act == SpanAction::Redact {
            return self.redact(
                "TP",
                "R7.professional",
                "a professional".into(),
                format!("{p}: policy redacts professionals"),
            );
        }
        self.keep("R7.professional", format!("{p} acting in role"))
    }

    fn unknown_verdict(&self, kind: &Kind) -> Option<Verdict> {
        let pol = self.policy;
        if pol.unknown_identifiers.action == SpanAction::Redact {
            return self.redact(
                &pol.unknown_identifiers.reason,
                "R6.unknown_identifier",
                format!("another person's {}", detail_words(kind)),
                "an identifier that is in nobody's record: a third party's".into(),
            );
        }
        self.keep("R6.unknown_identifier", "policy keeps unknown identifiers")
    }
}

/// Rule order for picking the most specific redaction among candidates.
fn rule_rank(rule: &str) -> u8 {
    rule.get(1..2).and_then(|c| c.parse().ok()).unwrap_or(9)
}

fn contact_key(v: &str) -> String {
    if v.contains('@') {
        v.trim().to_lowercase()
    } else {
        ident::phone_national(v).unwrap_or_else(|| ident::canonical(v))
    }
}

fn detail_words(k: &Kind) -> String {
    match k {
        Kind::Phone => "phone number".into(),
        Kind::Email => "email address".into(),
        Kind::Postcode => "postcode".into(),
        Kind::AddressLine | Kind::Town => "address".into(),
        Kind::DateOfBirth => "date of birth".into(),
        Kind::Identifier(s) => match s.as_str() {
            "nhs_number" => "NHS number".into(),
            "ni_number" => "National Insurance number".into(),
            "upn" | "former_upn" => "pupil number".into(),
            "police_ref" => "police reference".into(),
            "court_case_number" => "court case number".into(),
            "home_office_ref" => "Home Office reference".into(),
            other => other.replace('_', " "),
        },
        _ => "details".into(),
    }
}

fn targets_str(t: &[Target]) -> String {
    t.iter()
        .map(|t| match t {
            Target::Person(p) => p.to_string(),
            Target::Professional(p) => p.to_string(),
            Target::Organisation(o) => o.to_string(),
            Target::Address(a) => a.to_string(),
            Target::Unknown => "unknown".into(),
        })
        .collect::<Vec<_>>()
        .join("|")
}

fn join_and(v: &[String]) -> String {
    match v.len() {
        0 => String::new(),
        1 => v[0].clone(),
        _ => format!("{} and {}", v[..v.len() - 1].join(", "), v[v.len() - 1]),
    }
}

/// A field value as text (strings as they are; other JSON as compact text).
pub fn field_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a.iter().map(field_text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}
