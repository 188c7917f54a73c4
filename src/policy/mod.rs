//! The policy: DISCLOSURE-RULES.md applied in its order to one child's file. The rules' settings
//! (actions, reason codes, words) come from a policy file (`config`); their order and meaning are
//! here. Input: the file, the detector's `Findings` and the request; output: a `Proposal` of marks
//! with stable ids and reasons. It never edits text (that is `redact`), and it proposes only: the
//! review's decisions are applied to the proposal afterwards (`crate::review`).
//!
//! Every piece of text is decided, also inside an element that a rule withholds, so that a
//! reviewer who releases the element gets it with the ordinary marks applied inside it.
//!
//! Rule ids: R1 not on file, R2 other children's sections, R3.<flag> or R3.professionals_only or
//! R3.scan, R4 confidential, R5 referrer, R6 third parties by role, R7 professionals, R8 the
//! subject's own data; R0.reviewer for what a reviewer decided.

pub mod config;
pub mod council;
pub mod proposal;
pub mod request;

pub use crate::file::{field_text, AttachmentInput, AttachmentInputs, Location, PageInput, Part};
pub use config::{Audience, Flag, Policy, PolicyError, Reason};
pub use council::{Council, Councils};
pub use proposal::*;
pub use request::{Fit, Party, Refusal};

use crate::detect::sentence::sentences;
use crate::detect::{norm, Finding, Findings, Kind, Span, Target};
use crate::file::{Applies, CaseFile, Entry, FileRecord, RefKind, Role};
use crate::model::relation::Kin;
use crate::model::*;
use config::{FlagAction, SectionAction, SpanAction};
use std::collections::{BTreeSet, HashMap, HashSet};

/// The order in which rule 3 looks at flags: the first that withholds wins.
const FLAG_ORDER: [Flag; 17] = [
    Flag::WithheldFromFamily,
    Flag::LegalPrivilege,
    Flag::SeriousHarm,
    Flag::CrimePrevention,
    Flag::ChildConfidence,
    Flag::AdoptionRecord,
    Flag::CourtMaterial,
    Flag::RestrictedRecord,
    Flag::SpecialCategoryHealth,
    Flag::CriminalOffence,
    Flag::Immigration,
    Flag::ThirdPartyConfidential,
    Flag::ThirdPartySource,
    Flag::DoNotDisclose,
    Flag::ConfidentialAddress,
    Flag::LocationRevealing,
    Flag::ReferrerIdentity,
];

/// A verdict for one element or span.
#[derive(Clone, Debug)]
struct Verdict {
    action: Action,
    reason: Option<Reason>,
    rule: String,
    label: Option<String>,
    why: String,
    /// The person whose mention it is, when it is one person's.
    person: Option<PersonId>,
}

impl Verdict {
    fn new(action: Action, reason: Option<Reason>, rule: impl Into<String>, why: impl Into<String>) -> Verdict {
        Verdict { action, reason, rule: rule.into(), label: None, why: why.into(), person: None }
    }
}

/// Context of one piece of text: which children it is about and what flags reach it.
#[derive(Clone, Debug, Default)]
struct UnitCtx {
    children: Vec<PersonId>,
    /// (person, reason, rule): redact every sentence that mentions the person.
    sentence_flags: Vec<(PersonId, Reason, String)>,
    /// Addresses, contact details and places in this text are confidential (rule 4), with the rule id.
    confidential: Option<String>,
    narrative: bool,
}

/// What the request brings to the policy besides the file.
pub struct Asked<'r> {
    pub requester: &'r Party,
    /// The request's date (YYYY-MM-DD).
    pub date: &'r str,
    pub fit: &'r Fit,
}

struct Decider<'a, 'f> {
    file: &'a CaseFile<'f>,
    fam: &'f Family,
    policy: &'a Policy,
    findings: &'a Findings,
    /// The requester when they are a person of the family (a court party may be an organisation).
    requester: Option<PersonId>,
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
    out: Vec<Mark>,
    consult: Vec<Consultation>,
    narrative_chars: Vec<(RecordId, usize)>,
    /// How often each (location, normalised text) has been marked, for the marks' ids.
    occurrences: HashMap<(Location, String), usize>,
    /// Pieces of text decided so far (every piece the file holds must be).
    decided: HashSet<Location>,
    /// Each distinct rule, label and explanation, held once for all the marks.
    shared: HashSet<Shared>,
}

/// Propose the marks of one request. `attachments` holds what the PDF reader made of each
/// attachment on the file (an attachment missing from it is held for review).
pub fn propose(
    file: &CaseFile<'_>,
    findings: &Findings,
    policy: &Policy,
    asked: &Asked<'_>,
    attachments: &AttachmentInputs,
) -> Proposal {
    let mut d = Decider::new(file, findings, policy, asked.requester.person());
    for e in &file.entries {
        match e {
            Entry::Record(r) => d.record(r, attachments),
            Entry::Attachment(a) => d.attachment(a, None, attachments),
        }
    }
    // Every piece of text the file holds is decided: one the traversal above did not reach (a
    // new kind of text) is decided in its own context rather than shown unread.
    for u in file.units(attachments) {
        if !d.decided.contains(&u.loc) {
            let ctx = UnitCtx { children: u.children.clone(), ..Default::default() };
            d.unit(u.loc, &u.text, &ctx);
        }
    }
    Proposal {
        request: Request {
            export: file.family.header.id.clone(),
            subject: file.subject.clone(),
            requester: asked.requester.clone(),
            fit: asked.fit.clone(),
            policy: policy.name.clone(),
            policy_sha256: policy.sha256.clone(),
            audience: policy.audience.as_str().into(),
            date: asked.date.to_string(),
        },
        marks: d.out,
        consult: d.consult,
        narrative_chars: d.narrative_chars,
    }
}

impl<'a, 'f> Decider<'a, 'f> {
    fn new(file: &'a CaseFile<'f>, findings: &'a Findings, policy: &'a Policy, requester: Option<&PersonId>) -> Self {
        let fam = file.family;
        let subject = &file.subject;
        let is = |s: &Sensitivity, f: Flag| s.flag == f.as_str();
        let mut referrers = HashSet::new();
        for p in &fam.persons {
            if p.sensitivity.iter().any(|s| is(s, Flag::ReferrerIdentity)) {
                referrers.insert(p.id.clone());
            }
        }
        let referrer_flag = policy.flags.get(&Flag::ReferrerIdentity).map(|f| f.action == FlagAction::Referrer);
        for r in &fam.records {
            for s in r.sections.iter().flat_map(|s| s.sensitivity.iter()).chain(r.sensitivity.iter()) {
                if is(s, Flag::ReferrerIdentity) && referrer_flag != Some(false) {
                    if let Some(p) = &s.subject {
                        referrers.insert(p.clone());
                    }
                }
            }
            // A participant informant who is not family and not a professional (rule 5).
            for pa in &r.participants {
                if let (Some(p), "informant") = (&pa.person, pa.role.as_str()) {
                    if p != subject && Some(p) != requester && !file.role_of(p).is_family() {
                        referrers.insert(p.clone());
                    }
                }
            }
        }
        // The requester is never a referrer to themselves; the subject neither.
        if let Some(r) = requester {
            referrers.remove(r);
        }
        referrers.remove(subject);
        let flagged =
            |v: &[Sensitivity]| v.iter().any(|s| is(s, Flag::ConfidentialAddress) || is(s, Flag::LocationRevealing));
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
            if p.has_flag(Flag::DoNotDisclose.as_str()) {
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
                    || c.sensitivity.iter().any(|s| is(s, Flag::ConfidentialAddress))
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
            findings,
            requester: requester.cloned(),
            referrers,
            conf_addresses,
            conf_orgs,
            conf_contacts,
            dnd,
            residents,
            org_addresses,
            subject_homes: homes(subject),
            requester_homes: requester.map(homes).unwrap_or_default(),
            la_town: fam.la_town().map(|t| t.to_lowercase()),
            out: Vec::new(),
            consult: Vec::new(),
            narrative_chars: Vec::new(),
            occurrences: HashMap::new(),
            decided: HashSet::new(),
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

    /// The id of a mark on `span` of `text` at `loc` (the next occurrence of that text there).
    fn span_id(&mut self, loc: &Location, text: &str, span: Span) -> MarkId {
        let normalised = norm::pattern(text.get(span.start()..span.end()).unwrap_or(""));
        let n = self.occurrences.entry((loc.clone(), normalised.clone())).or_insert(0);
        let id = MarkId::of_span(loc, &normalised, *n);
        *n += 1;
        id
    }

    fn push(&mut self, id: MarkId, loc: Location, span: Option<Span>, v: Verdict, removed: usize, narrative: bool) {
        let rule = self.share(v.rule);
        let label = v.label.map(|l| self.share(l));
        let explanation = self.share(v.why);
        self.out.push(Mark {
            id,
            location: loc,
            span,
            action: v.action,
            reason: v.reason,
            rule,
            label,
            explanation,
            removed_chars: if v.action.removes() { removed } else { 0 },
            person: v.person,
            narrative: narrative && v.action.removes(),
            attention: None,
            decided_by: None,
            region: None,
        });
    }

    /// A mark on a whole element.
    fn push_element(&mut self, loc: Location, v: Verdict, removed: usize, narrative: bool) {
        let id = MarkId::of_element(&loc);
        self.push(id, loc, None, v, removed, narrative);
    }

    /// Resolve a flag to an action for this file (about the subject, the requester, or a third party).
    fn flag_action(&self, flag: Flag, s: &Sensitivity) -> Option<(FlagAction, Reason)> {
        let rule = self.policy.flags.get(&flag)?;
        let act = match &s.subject {
            None => rule.action,
            Some(p) if p == self.subject() || self.requester.as_ref() == Some(p) => {
                rule.about_subject.unwrap_or(rule.action)
            }
            Some(_) => rule.third_party.unwrap_or(rule.action),
        };
        Some((act, rule.reason.unwrap_or(Reason::REV)))
    }

    /// Rule 3 over a set of flags: the first that withholds (or holds for review) gives the
    /// verdict; every flag shapes the text inside (sentence redaction, confidential, consultation),
    /// which matters when a reviewer releases the element.
    fn flags_verdict(&mut self, flags: &[&Sensitivity], loc: &Location, ctx: &mut UnitCtx) -> Option<Verdict> {
        let mut verdict = None;
        for flag in FLAG_ORDER {
            for s in flags.iter().filter(|s| s.flag == flag.as_str()) {
                let Some((act, reason)) = self.flag_action(flag, s) else { continue };
                let name = flag.as_str();
                let rule = format!("R3.{name}");
                let whose = s.subject.as_ref().map(|p| format!(" (subject {p})")).unwrap_or_default();
                match act {
                    FlagAction::Withhold | FlagAction::Review => {
                        if verdict.is_none() {
                            let action = if act == FlagAction::Review { Action::Review } else { Action::Withhold };
                            verdict = Some(Verdict::new(action, Some(reason), rule, format!("{name} flag{whose}")));
                        }
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
                    FlagAction::Confidential => {
                        ctx.confidential.get_or_insert(rule);
                    }
                    FlagAction::Referrer => {
                        if let Some(p) = &s.subject {
                            if p != self.subject() && self.requester.as_ref() != Some(p) {
                                self.referrers.insert(p.clone());
                            }
                        }
                    }
                    FlagAction::Disclose => {}
                }
            }
        }
        verdict
    }

    fn record(&mut self, fr: &FileRecord, attachments: &AttachmentInputs) {
        let Some(r) = self.fam.record(&fr.id) else { return };
        let rloc = Location::record(&r.id, Part::Record);
        let mut rctx = UnitCtx { children: CaseFile::record_children(r), ..Default::default() };
        let rflags: Vec<&Sensitivity> = r.sensitivity.iter().collect();
        let narrative_total: usize = fr
            .sections
            .iter()
            .filter(|s| !matches!(s.applies, Applies::OtherChildren(_)))
            .map(|s| self.fam.body(&r.id, &s.id).chars().count())
            .sum::<usize>()
            + r.appendments.iter().map(|a| a.body.chars().count()).sum::<usize>();
        self.narrative_chars.push((r.id.clone(), narrative_total));
        if let Some(v) = self.flags_verdict(&rflags, &rloc, &mut rctx) {
            self.push_element(rloc, v, narrative_total, true);
        }
        self.unit(Location::record(&r.id, Part::Title), &r.title, &rctx);
        self.unit(Location::record(&r.id, Part::Author), &self.fam.professional_line(&r.recorded.by), &rctx);
        self.members(r);
        for (i, p) in r.participants.iter().enumerate() {
            self.participant(r, i, p, &rctx);
        }
        for fs in &fr.sections {
            let s = &r.sections[fs.index];
            let sloc = Location::record(&r.id, Part::Section { section: s.id.clone() });
            let body = self.fam.body(&r.id, &s.id);
            let narrative = !matches!(fs.applies, Applies::OtherChildren(_));
            let mut ctx = rctx.clone();
            ctx.narrative = narrative;
            if let Some(ch) = s.scope.children() {
                ctx.children = ch.to_vec();
            }
            if let Some(v) = self.section_verdict(s, &fs.applies, &sloc, &mut ctx) {
                let n = body.chars().count();
                self.push_element(sloc, v, n, narrative);
            }
            if let Some(h) = &s.heading {
                self.unit(Location::record(&r.id, Part::Heading { section: s.id.clone() }), h, &ctx);
            }
            let bloc = Location::record(&r.id, Part::Body { section: s.id.clone() });
            self.unit(bloc.clone(), body, &ctx);
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
                        let mut v = Verdict::new(
                            Action::Insert,
                            Some(self.policy.not_on_file.reason),
                            "R1.not_on_file",
                            format!(
                                "reference to {} which is not on this file",
                                rf.target
                                    .as_ref()
                                    .map(|t| t.to_string())
                                    .unwrap_or_else(|| "an unresolved record".into())
                            ),
                        );
                        v.label = Some(self.elsewhere_label(&rf.held_by));
                        let phrase = norm::pattern(body.get(*at..at + len).unwrap_or(""));
                        let n = self.occurrences.entry((bloc.clone(), format!("insert {phrase}"))).or_insert(0);
                        let id = MarkId::of_insert(&bloc, &phrase, *n);
                        *n += 1;
                        self.push(id, bloc.clone(), Some(Span::new(at + len, at + len)), v, 0, false);
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
                let mut v = Verdict::new(
                    Action::Withhold,
                    Some(self.policy.not_on_file.reason),
                    "R1.not_on_file",
                    format!("link target {} is not on this file", rf.target.as_ref().map(|t| t.as_str()).unwrap_or("")),
                );
                v.label = Some(self.elsewhere_label(&rf.held_by));
                self.push_element(Location::record(&r.id, Part::Link { index: i }), v, 0, false);
            }
        }
        for a in &fr.attachments {
            self.attachment(a, Some(&rctx), attachments);
        }
    }

    /// Rules 2 and 3 for one section.
    fn section_verdict(
        &mut self,
        s: &Section,
        applies: &Applies,
        loc: &Location,
        ctx: &mut UnitCtx,
    ) -> Option<Verdict> {
        let mut verdict = None;
        if let Applies::OtherChildren(kids) = applies {
            let rule = &self.policy.other_children;
            if rule.action != SectionAction::Disclose {
                let whose: Vec<String> = kids.iter().map(|k| k.to_string()).collect();
                let action = if rule.action == SectionAction::Review { Action::Review } else { Action::Withhold };
                let mut v = Verdict::new(
                    action,
                    Some(rule.reason),
                    "R2.other_children",
                    format!("section scoped to {}", whose.join(", ")),
                );
                v.label = Some(self.children_words(kids));
                verdict = Some(v);
            }
        }
        if verdict.is_none() && s.professionals_only() {
            let rule = &self.policy.professionals_only;
            if rule.action != SectionAction::Disclose {
                let action = if rule.action == SectionAction::Review { Action::Review } else { Action::Withhold };
                verdict = Some(Verdict::new(
                    action,
                    Some(rule.reason),
                    "R3.professionals_only",
                    "audience professionals_only",
                ));
            }
        }
        let flags: Vec<&Sensitivity> = s.sensitivity.iter().collect();
        let by_flag = self.flags_verdict(&flags, loc, ctx);
        verdict.or(by_flag)
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
            if let Some(mut v) = self.person_verdict(&m.person, &Kind::Name, None, &UnitCtx::default()) {
                v.why = format!("member {}: {}", m.person, v.why);
                self.push_element(Location::record(&r.id, Part::Member { person: m.person.clone() }), v, 0, false);
            }
        }
    }

    fn participant(&mut self, r: &Record, i: usize, p: &Participant, rctx: &UnitCtx) {
        let loc = Location::record(&r.id, Part::Participant { index: i });
        if let Some(pid) = &p.person {
            if let Some(mut v) = self.person_verdict(pid, &Kind::Name, None, &UnitCtx::default()) {
                v.why = format!("participant {pid} ({}): {}", p.role, v.why);
                self.push_element(loc, v, 0, false);
            }
        } else if let Some(pro) = &p.professional {
            // The line shown ("name, job title") is text like any other: a job title may name a
            // confidential place.
            let ctx = UnitCtx { children: rctx.children.clone(), ..Default::default() };
            self.unit(loc.clone(), &self.fam.professional_line(pro), &ctx);
            // Rule 7 keeps the professional; rule 4 may still take out their organisation.
            if let Some(x) = self.fam.professional(pro) {
                if self.conf_orgs.contains(&x.organisation) {
                    let mut v = Verdict::new(
                        Action::Redact,
                        Some(self.policy.confidential.reason),
                        "R4.confidential",
                        format!("organisation {} of {pro} is confidential or location revealing", x.organisation),
                    );
                    v.label = Some("a place withheld".into());
                    self.push_element(loc, v, 0, false);
                }
            }
        }
    }

    fn attachment(&mut self, a: &AttachmentId, rctx: Option<&UnitCtx>, inputs: &AttachmentInputs) {
        let Some(att) = self.fam.attachment(a) else { return };
        let aloc = Location::attachment(a, Part::Attachment);
        let mut ctx = rctx.cloned().unwrap_or_default();
        ctx.narrative = false;
        if ctx.children.is_empty() {
            ctx.children = vec![self.subject().clone()];
        }
        // The title and the author line reach the bundle's index and bookmarks whatever happens to
        // the document itself: they are decided like any text first.
        self.unit(Location::attachment(a, Part::AttachmentTitle), &att.title, &ctx);
        let author = self.fam.author_line(att);
        self.unit(Location::attachment(a, Part::AttachmentAuthor), &author, &ctx);
        let flags: Vec<&Sensitivity> = att.sensitivity.iter().collect();
        // One element mark at most: the first rule that holds the document back gives it.
        let mut held = true;
        // A scan whose pages were all read by OCR (or carry text of their own) is decided page by
        // page like any text: rule 3's scan rule holds it whole only while it has not been read.
        let read_by_ocr = match inputs.get(a) {
            Some(AttachmentInput::Pages(pages)) => {
                pages.iter().any(|p| p.ocr) && pages.iter().all(|p| p.hold.is_none() || p.ocr)
            }
            _ => false,
        };
        if let Some(v) = self.flags_verdict(&flags, &aloc, &mut ctx) {
            self.push_element(aloc.clone(), v, 0, false);
        } else if !att.text_layer && read_by_ocr && !ctx.sentence_flags.is_empty() {
            // Rule 3 takes out the sentences that name a third party whose flagged detail this
            // is; in text read by OCR a misread name would let such a sentence through unseen,
            // so a scan carrying such a flag stays held for a person.
            let rule = &self.policy.scans;
            let v = Verdict::new(
                Action::Review,
                Some(rule.reason),
                "R3.scan",
                "scanned document with a third party's flagged detail: its sentences are found by name, which OCR may misread; a person checks it",
            );
            self.push_element(aloc.clone(), v, 0, false);
        } else if !(att.text_layer || read_by_ocr && self.policy.scans.action != SectionAction::Withhold) {
            let rule = &self.policy.scans;
            let action = if rule.action == SectionAction::Withhold { Action::Withhold } else { Action::Review };
            let v = Verdict::new(
                action,
                Some(rule.reason),
                "R3.scan",
                "scanned document (text_layer false): needs OCR and a person's check",
            );
            self.push_element(aloc.clone(), v, 0, false);
        } else {
            held = false;
        }
        let scans = self.policy.scans.reason;
        match inputs.get(a) {
            None if att.text_layer && !held => {
                let v =
                    Verdict::new(Action::Review, Some(scans), "R3.unreadable", "the attachment's text was not read");
                self.push_element(aloc, v, 0, false);
            }
            None => {}
            Some(AttachmentInput::Unreadable(_)) if held => {}
            Some(AttachmentInput::Unreadable(why)) => {
                let v = Verdict::new(
                    Action::Review,
                    Some(scans),
                    "R3.unreadable",
                    format!("the PDF cannot be read safely: {why}"),
                );
                self.push_element(aloc, v, 0, false);
            }
            Some(AttachmentInput::Pages(pages)) => {
                for (i, pg) in pages.iter().enumerate() {
                    let ploc = Location::attachment(a, Part::AttachmentPage { page: i });
                    // A page that cannot be read reliably is held; in a scan (text_layer false)
                    // not read by OCR the whole document's hold covers its pages, so releasing it
                    // releases them.
                    if let (Some(h), true) = (&pg.hold, att.text_layer || read_by_ocr) {
                        let v = Verdict::new(Action::Review, Some(scans), "R3.scan", h.clone());
                        self.push_element(ploc.clone(), v, 0, false);
                    }
                    self.unit(ploc, &pg.text, &ctx);
                }
            }
        }
    }

    /// Decide every finding in one piece of text.
    fn unit(&mut self, loc: Location, text: &str, ctx: &UnitCtx) {
        self.decided.insert(loc.clone());
        if text.trim().is_empty() {
            return;
        }
        let findings = self.findings.at(&loc);
        // Rule 3: sentences about a third party with a flagged detail.
        let mut gone: Vec<Span> = Vec::new();
        if !ctx.sentence_flags.is_empty() {
            for s in sentences(text) {
                for (p, reason, rule) in &ctx.sentence_flags {
                    let t = Target::Person(p.clone());
                    if findings.iter().any(|f| s.contains(&f.span) && f.is_about(&t)) {
                        let n = text[s.start()..s.end()].chars().count();
                        let mut v = Verdict::new(
                            Action::Redact,
                            Some(*reason),
                            rule.clone(),
                            format!("sentence mentions {p}, whose flagged detail this is"),
                        );
                        v.label = Some(format!("information about {}", self.person_words(p)));
                        let id = self.span_id(&loc, text, s);
                        self.push(id, loc.clone(), Some(s), v, n, ctx.narrative);
                        gone.push(s);
                        break;
                    }
                }
            }
        }
        for f in findings {
            let (v, ambiguous) = self.finding_verdict(f, text, ctx);
            let mut span = f.span;
            if v.action == Action::Redact {
                span = self.trim_la_town(text, span);
            }
            // A finding inside a sentence already taken out is still proposed: a reviewer who
            // keeps the sentence gets the name inside it redacted.
            let n = text[span.start()..span.end()].chars().count();
            let id = self.span_id(&loc, text, span);
            self.push(id, loc.clone(), Some(span), v, n, ctx.narrative);
            if let (Some(why), Some(m)) = (ambiguous, self.out.last_mut()) {
                // Listed for a person to check; it stays a redaction meanwhile.
                m.attention = Some(why.into());
            }
        }
    }

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
            let v = Verdict::new(
                Action::Disclose,
                None,
                "R8.subject",
                format!("{} ({}): shared with the subject's own home", targets_str(&f.targets), f.form),
            );
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
            None => Verdict::new(Action::Disclose, None, "R8.keep", what),
        };
        (v, kept, redacted)
    }

    fn redact(&self, reason: Reason, rule: &str, label: String, why: String) -> Option<Verdict> {
        let mut v = Verdict::new(Action::Redact, Some(reason), rule, why);
        v.label = Some(label);
        Some(v)
    }

    fn keep(&self, rule: &str, why: impl Into<String>) -> Option<Verdict> {
        Some(Verdict::new(Action::Disclose, None, rule, why))
    }

    /// A person's verdict, naming the person (a decision by person covers it).
    fn person_verdict(&self, p: &PersonId, kind: &Kind, raw: Option<&str>, ctx: &UnitCtx) -> Option<Verdict> {
        let mut v = self.person_rules(p, kind, raw, ctx)?;
        v.person.get_or_insert_with(|| p.clone());
        Some(v)
    }

    fn person_rules(&self, p: &PersonId, kind: &Kind, raw: Option<&str>, ctx: &UnitCtx) -> Option<Verdict> {
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
                    pol.confidential.reason,
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
            return self.redact(pol.referrers.reason, "R5.referrer", label, format!("{p} gave information (referrer)"));
        }
        if p == self.subject() {
            return match pol.subject.own_details {
                SpanAction::Disclose => self.keep("R8.subject", "the subject's own data"),
                SpanAction::Redact => self.redact(
                    Reason::TP,
                    "R8.subject",
                    "your details".into(),
                    "policy redacts the subject's own details".into(),
                ),
            };
        }
        if self.requester.as_ref() == Some(p) && pol.requester.own_details == SpanAction::Disclose {
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
                        *reason,
                        "R6.family_details",
                        format!("{words}'s {}", detail_words(kind)),
                        format!("{p} is family ({words}); their details are theirs"),
                    );
                }
                return self.keep("R6.family_details", format!("{p} is family; policy keeps details"));
            }
            if pol.family.names == SpanAction::Redact {
                return self.redact(*reason, "R6.family_names", words, format!("{p} is family; policy redacts names"));
            }
            return self.keep("R6.family_names", format!("{p} is family ({words})"));
        }
        let act = if detail { pol.non_family.details } else { pol.non_family.names };
        if act == SpanAction::Redact {
            let label = if detail { format!("{words}'s {}", detail_words(kind)) } else { words };
            return self.redact(
                pol.non_family.reason,
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
                    pol.confidential.reason,
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
            return self.redact(pol.confidential.reason, &rule, label.into(), format!("address {a} is confidential"));
        }
        let residents = self.residents.get(a).cloned().unwrap_or_default();
        if !residents.is_empty()
            && residents.iter().all(|p| self.referrers.contains(p))
            && pol.referrers.action == SpanAction::Redact
        {
            return self.redact(
                pol.referrers.reason,
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
                pol.confidential.reason,
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
                Reason::TP,
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
                pol.unknown_identifiers.reason,
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
