//! One child's file: which records and attachments are on it (membership `on_file`, removals and
//! `split_from`), which sections of each apply (shared, the child's own, another child's), where
//! each reference points and whether the target is on this file, and who each person around the
//! child is to them. It reads the case graph only; it decides nothing about disclosure.

use crate::model::relation::{self, Kin};
use crate::model::*;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use unicode_normalization::UnicodeNormalization;

pub mod location;
pub mod show;
pub mod units;

pub use location::{Location, Part};
pub use units::{field_text, AttachmentInput, AttachmentInputs, PageInput, Unit};

/// How a section relates to the subject of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applies {
    /// `scope: "shared"`: part of the record on every file it is on.
    Shared,
    /// Scoped to the subject alone.
    Own,
    /// Scoped to the subject and these other children.
    OwnWithOthers(Vec<PersonId>),
    /// Scoped to other children only: sibling data on this file.
    OtherChildren(Vec<PersonId>),
}

impl Applies {
    /// A short tag for listings: `shared`, `own`, `own+`, `other`.
    pub fn tag(&self) -> &'static str {
        match self {
            Applies::Shared => "shared",
            Applies::Own => "own",
            Applies::OwnWithOthers(_) => "own+others",
            Applies::OtherChildren(_) => "other child's",
        }
    }
}

/// A section of a record as it sits on this file.
#[derive(Clone, Debug)]
pub struct FileSection {
    pub index: usize,
    pub id: SectionId,
    pub applies: Applies,
}

/// What kind of reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefKind {
    /// A structured `links[]` entry, with its type.
    Link(String),
    /// A `text_refs[]` phrase in a section; `at` is its byte offset in the section text.
    Text { section: SectionId, at: Option<usize>, len: usize },
}

/// A reference from a record on the file to another record.
#[derive(Clone, Debug)]
pub struct Reference {
    pub kind: RefKind,
    pub target: Option<RecordId>,
    pub target_person: Option<PersonId>,
    pub resolved: bool,
    /// Whether the target record is on this file.
    pub on_file: bool,
    /// Other children whose files hold the target (for the placeholder's words).
    pub held_by: Vec<PersonId>,
}

/// A record on the file.
#[derive(Clone, Debug)]
pub struct FileRecord {
    pub id: RecordId,
    pub sections: Vec<FileSection>,
    pub refs: Vec<Reference>,
    /// Attachments of this record that are on the file.
    pub attachments: Vec<AttachmentId>,
    /// Attachments of this record that are not on the file (never included).
    pub attachments_elsewhere: Vec<AttachmentId>,
}

/// An entry of the file in chronological order.
#[derive(Clone, Debug)]
pub enum Entry {
    Record(FileRecord),
    /// An attachment on the file with no record on the file to sit beside.
    Attachment(AttachmentId),
}

/// Who a person is to the subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Subject,
    /// Family under the rules, with the relationship code and plain words ("mother").
    Family {
        kin: Kin,
        code: String,
        words: String,
    },
    /// Related but not family under the rules (partner of a parent, friend, neighbour).
    Related {
        kin: Kin,
        code: String,
        words: String,
    },
    /// No relationship recorded.
    Unrelated,
}

impl Role {
    pub fn is_family(&self) -> bool {
        matches!(self, Role::Family { .. })
    }
    /// The plain words of the relationship ("brother"), if any.
    pub fn words(&self) -> Option<&str> {
        match self {
            Role::Family { words, .. } | Role::Related { words, .. } => Some(words),
            _ => None,
        }
    }
    pub fn kin(&self) -> Option<Kin> {
        match self {
            Role::Family { kin, .. } | Role::Related { kin, .. } => Some(*kin),
            _ => None,
        }
    }
}

/// A person around the child.
#[derive(Clone, Debug)]
pub struct Connection {
    pub person: PersonId,
    pub role: Role,
}

/// A professional involved with the child or appearing on the file.
#[derive(Clone, Debug)]
pub struct ProfessionalLink {
    pub professional: ProfessionalId,
    pub roles: Vec<String>,
}

/// One child's file.
#[derive(Clone, Debug)]
pub struct CaseFile<'f> {
    pub family: &'f Family,
    pub subject: PersonId,
    pub entries: Vec<Entry>,
    /// Records where the subject is a member but not on file, with the reason.
    pub excluded: Vec<(RecordId, String)>,
    pub people: Vec<Connection>,
    pub professionals: Vec<ProfessionalLink>,
    /// Where each person is in `people`, so that `role_of` does not scan the family.
    people_ix: HashMap<PersonId, usize>,
    /// For the partner of one of the subject's parents: that parent's words ("mother").
    parents_partners: HashMap<PersonId, String>,
}

/// Errors resolving a file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("person {0} is not in this family")]
    NoPerson(String),
}

impl<'f> CaseFile<'f> {
    /// Resolve the file of `subject`.
    pub fn build(family: &'f Family, subject: &PersonId) -> Result<CaseFile<'f>, FileError> {
        if family.person(subject).is_none() {
            return Err(FileError::NoPerson(subject.to_string()));
        }
        let mut recs: Vec<&Record> = family.records.iter().filter(|r| r.on_file_of(subject)).collect();
        recs.sort_by(|a, b| a.occurred.start.cmp(&b.occurred.start).then_with(|| a.id.cmp(&b.id)));
        let on_file: BTreeSet<&RecordId> = recs.iter().map(|r| &r.id).collect();
        let mut excluded = Vec::new();
        for r in &family.records {
            if let Some(m) = r.membership.iter().find(|m| &m.person == subject) {
                if !r.on_file_of(subject) {
                    let why = match &m.removed {
                        Some(rm) => match &rm.to_record {
                            Some(t) => format!("{} (now {})", rm.reason, t),
                            None => rm.reason.clone(),
                        },
                        None => "not on file".into(),
                    };
                    excluded.push((r.id.clone(), why));
                }
            }
        }
        let att_on_file = |a: &Attachment| -> bool { attachment_on_file(family, a, subject) };
        let mut placed: BTreeSet<&AttachmentId> = BTreeSet::new();
        // Each record's attachments that name it, found once rather than per record.
        let mut by_record: HashMap<&RecordId, Vec<&AttachmentId>> = HashMap::new();
        for a in &family.attachments {
            if let Some(r) = &a.record {
                by_record.entry(r).or_default().push(&a.id);
            }
        }
        let mut entries: Vec<(Instant, Entry)> = Vec::new();
        for r in &recs {
            let sections = r
                .sections
                .iter()
                .enumerate()
                .map(|(i, s)| FileSection { index: i, id: s.id.clone(), applies: applies(s, subject) })
                .collect();
            let mut refs = Vec::new();
            for l in &r.links {
                refs.push(reference(
                    family,
                    subject,
                    &on_file,
                    RefKind::Link(l.kind.clone()),
                    Some(&l.target),
                    None,
                    true,
                ));
            }
            for t in &r.text_refs {
                let body = family.body(&r.id, &t.section);
                // Bodies are composed (NFC); the phrase is looked for as typed and composed.
                let composed: String = t.text.nfc().collect();
                let (at, len) = match body.find(t.text.as_str()) {
                    Some(at) => (Some(at), t.text.len()),
                    None => (body.find(composed.as_str()), composed.len()),
                };
                refs.push(reference(
                    family,
                    subject,
                    &on_file,
                    RefKind::Text { section: t.section.clone(), at, len },
                    t.target.as_ref(),
                    t.target_person.as_ref(),
                    t.resolved,
                ));
            }
            let mut atts = Vec::new();
            let mut elsewhere = Vec::new();
            let listed: Vec<&AttachmentId> =
                r.attachments.iter().chain(by_record.get(&r.id).into_iter().flatten().copied()).collect();
            for aid in listed {
                if atts.contains(aid) || elsewhere.contains(aid) {
                    continue;
                }
                match family.attachment(aid) {
                    Some(a) if att_on_file(a) => {
                        placed.insert(aid);
                        atts.push(aid.clone());
                    }
                    _ => elsewhere.push(aid.clone()),
                }
            }
            entries.push((
                r.occurred.start.clone(),
                Entry::Record(FileRecord {
                    id: r.id.clone(),
                    sections,
                    refs,
                    attachments: atts,
                    attachments_elsewhere: elsewhere,
                }),
            ));
        }
        for a in &family.attachments {
            if !placed.contains(&a.id) && att_on_file(a) {
                let when = Instant(a.document_date.clone().unwrap_or_else(|| family.header.exported_at.0.clone()));
                entries.push((when, Entry::Attachment(a.id.clone())));
            }
        }
        // Stable: records were already in order; standalone attachments slot in by date.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let kinship = Kinship::new(family);
        let people = connections(family, &kinship, subject);
        let people_ix: HashMap<PersonId, usize> =
            people.iter().enumerate().map(|(i, c)| (c.person.clone(), i)).collect();
        let mut parents_partners: HashMap<PersonId, String> = HashMap::new();
        for rel in &family.relationships {
            if relation::kin_of(&rel.kind) == Kin::Partner && !parents_partners.contains_key(&rel.related) {
                if let Some(Role::Family { kin: Kin::Parent, words, .. }) =
                    people_ix.get(&rel.person).map(|&i| &people[i].role)
                {
                    parents_partners.insert(rel.related.clone(), words.clone());
                }
            }
        }
        let professionals = professionals(family, subject, &recs);
        Ok(CaseFile {
            family,
            subject: subject.clone(),
            entries: entries.into_iter().map(|e| e.1).collect(),
            excluded,
            people,
            professionals,
            people_ix,
            parents_partners,
        })
    }

    /// The records on the file, in order.
    pub fn records(&self) -> impl Iterator<Item = &FileRecord> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Record(r) => Some(r),
            _ => None,
        })
    }

    /// Every attachment on the file, in order.
    pub fn attachments(&self) -> Vec<&AttachmentId> {
        let mut out = Vec::new();
        for e in &self.entries {
            match e {
                Entry::Record(r) => out.extend(r.attachments.iter()),
                Entry::Attachment(a) => out.push(a),
            }
        }
        out
    }

    /// Who `p` is to the subject.
    pub fn role_of(&self, p: &PersonId) -> Role {
        if p == &self.subject {
            return Role::Subject;
        }
        self.people_ix.get(p).map(|&i| self.people[i].role.clone()).unwrap_or(Role::Unrelated)
    }

    /// When `p` is recorded as the partner of one of the subject's parents: that parent's words
    /// ("mother"), for labels such as "your mother's partner".
    pub fn parents_partner(&self, p: &PersonId) -> Option<&str> {
        self.parents_partners.get(p).map(|s| s.as_str())
    }
}

/// Whether attachment `a` is on `subject`'s file: `on_files` lists them; an empty `on_files`
/// defaults to the on-file members of its record (CASE-EXPORT.md section 6).
pub fn attachment_on_file(family: &Family, a: &Attachment, subject: &PersonId) -> bool {
    if !a.on_files.is_empty() {
        return a.on_files.contains(subject);
    }
    a.record.as_ref().and_then(|r| family.record(r)).map(|r| r.on_file_of(subject)).unwrap_or(false)
}

fn applies(s: &Section, subject: &PersonId) -> Applies {
    match s.scope.children() {
        None => Applies::Shared,
        Some(ch) => {
            let others: Vec<PersonId> = ch.iter().filter(|c| *c != subject).cloned().collect();
            if ch.contains(subject) {
                if others.is_empty() {
                    Applies::Own
                } else {
                    Applies::OwnWithOthers(others)
                }
            } else {
                Applies::OtherChildren(others)
            }
        }
    }
}

fn reference(
    family: &Family,
    subject: &PersonId,
    on_file: &BTreeSet<&RecordId>,
    kind: RefKind,
    target: Option<&RecordId>,
    target_person: Option<&PersonId>,
    resolved: bool,
) -> Reference {
    let on = target.map(|t| on_file.contains(t)).unwrap_or(false);
    let mut held_by: Vec<PersonId> = match target.and_then(|t| family.record(t)) {
        Some(r) => r
            .membership
            .iter()
            .filter(|m| m.on_file && m.removed.is_none() && &m.person != subject)
            .map(|m| m.person.clone())
            .collect(),
        None => Vec::new(),
    };
    if held_by.is_empty() {
        if let Some(tp) = target_person {
            if tp != subject {
                held_by.push(tp.clone());
            }
        }
    }
    Reference { kind, target: target.cloned(), target_person: target_person.cloned(), resolved, on_file: on, held_by }
}

/// Who each person in the family is to `subject`: a direct relationship edge (exported or derived
/// inverse), else a sibling through a shared parent, else unrelated. One question costs a pass over
/// the family's relationships; to ask it of many pairs, build a [`Kinship`] once.
pub fn relation_to(family: &Family, subject: &PersonId, other: &PersonId) -> Role {
    Kinship::new(family).relation(subject, other)
}

/// The family's relationships indexed by person, built once: who one person is to another then
/// costs their own edges, not a pass over the whole family (a family of 100,000 people asked
/// about every pair took minutes).
pub struct Kinship<'f> {
    family: &'f Family,
    /// The edges whose `person` is each person, as indexes into `family.relationships`, in the
    /// order of preference: as exported before derived, current before ended, then export order.
    from: HashMap<&'f PersonId, Vec<usize>>,
    /// For each person, the children that name them as a parent.
    children: HashMap<&'f PersonId, Vec<&'f PersonId>>,
}

impl<'f> Kinship<'f> {
    /// Index the family's relationships.
    pub fn new(family: &'f Family) -> Kinship<'f> {
        let mut from: HashMap<&PersonId, Vec<usize>> = HashMap::new();
        let mut children: HashMap<&PersonId, Vec<&PersonId>> = HashMap::new();
        for (i, r) in family.relationships.iter().enumerate() {
            from.entry(&r.person).or_default().push(i);
            if relation::kin_of(&r.kind) == Kin::Parent {
                let v = children.entry(&r.related).or_default();
                if !v.contains(&&r.person) {
                    v.push(&r.person);
                }
            }
        }
        let rels = &family.relationships;
        for v in from.values_mut() {
            // Stable: equal keys keep the export's order.
            v.sort_by_key(|&i| {
                let r = &rels[i];
                (r.derived_from.is_some(), r.period.as_ref().map(|p| p.to.is_some()).unwrap_or(false))
            });
        }
        Kinship { family, from, children }
    }

    fn edges(&self, p: &PersonId) -> impl Iterator<Item = &'f Relationship> + '_ {
        self.from.get(p).into_iter().flatten().map(|&i| &self.family.relationships[i])
    }

    /// The parents recorded for `p`.
    pub fn parents(&self, p: &PersonId) -> BTreeSet<&'f PersonId> {
        self.edges(p).filter(|r| relation::kin_of(&r.kind) == Kin::Parent).map(|r| &r.related).collect()
    }

    /// Who `other` is to `subject` (see [`relation_to`]).
    pub fn relation(&self, subject: &PersonId, other: &PersonId) -> Role {
        if subject == other {
            return Role::Subject;
        }
        let sex = self.family.person(other).and_then(|p| p.sex.as_deref());
        if let Some(r) = self.edges(subject).find(|r| &r.related == other) {
            return edge_role(r, sex);
        }
        let a = self.parents(subject);
        if a.is_empty() {
            return Role::Unrelated;
        }
        sibling_role(&a, &self.parents(other), sex).unwrap_or(Role::Unrelated)
    }

    /// Everyone `subject` is related to (by an edge or through a shared parent), with their role;
    /// people not listed are unrelated.
    pub fn related(&self, subject: &PersonId) -> Vec<(&'f PersonId, Role)> {
        let mut out: Vec<(&PersonId, Role)> = Vec::new();
        let mut seen: HashSet<&'f PersonId> = HashSet::new();
        for r in self.edges(subject) {
            if &r.related != subject && seen.insert(&r.related) {
                let sex = self.family.person(&r.related).and_then(|p| p.sex.as_deref());
                out.push((&r.related, edge_role(r, sex)));
            }
        }
        let a = self.parents(subject);
        for parent in &a {
            for &child in self.children.get(parent).into_iter().flatten() {
                if child != subject && seen.insert(child) {
                    let sex = self.family.person(child).and_then(|p| p.sex.as_deref());
                    if let Some(role) = sibling_role(&a, &self.parents(child), sex) {
                        out.push((child, role));
                    }
                }
            }
        }
        out
    }
}

fn edge_role(r: &Relationship, sex: Option<&str>) -> Role {
    let kin = relation::kin_of(&r.kind);
    let words = relation::words_for(&r.kind, sex).to_string();
    if kin.is_family() {
        Role::Family { kin, code: r.kind.clone(), words }
    } else {
        Role::Related { kin, code: r.kind.clone(), words }
    }
}

/// Siblings through a shared parent: full when they share two parents (or each has only the one).
fn sibling_role(a: &BTreeSet<&PersonId>, b: &BTreeSet<&PersonId>, sex: Option<&str>) -> Option<Role> {
    let shared = a.intersection(b).count();
    if shared == 0 {
        return None;
    }
    let full = shared >= 2 || (a.len() == 1 && b.len() == 1);
    let code = match (full, sex) {
        (true, Some("F")) => "NSIS",
        (true, Some("M")) => "NBRO",
        (true, _) => "NSIB",
        (false, Some("F")) => "HSIS",
        (false, Some("M")) => "HBRO",
        (false, _) => "HSIB",
    };
    Some(Role::Family { kin: Kin::Sibling, code: code.into(), words: relation::words_for(code, sex).into() })
}

fn connections(family: &Family, kinship: &Kinship<'_>, subject: &PersonId) -> Vec<Connection> {
    let mut roles: HashMap<&PersonId, Role> = kinship.related(subject).into_iter().collect();
    let mut out: Vec<Connection> = family
        .persons
        .iter()
        .filter(|p| &p.id != subject)
        .map(|p| Connection { person: p.id.clone(), role: roles.remove(&p.id).unwrap_or(Role::Unrelated) })
        .collect();
    let rank = |c: &Connection| match &c.role {
        Role::Family { kin, .. } => *kin as u8,
        Role::Related { .. } => 50,
        _ => 60,
    };
    out.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.person.cmp(&b.person)));
    out
}

fn professionals(family: &Family, subject: &PersonId, recs: &[&Record]) -> Vec<ProfessionalLink> {
    let mut roles: BTreeMap<ProfessionalId, BTreeSet<String>> = BTreeMap::new();
    for inv in &family.involvements {
        if inv.persons.contains(subject) {
            roles.entry(inv.professional.clone()).or_default().insert(inv.role.clone());
        }
    }
    for r in recs {
        roles.entry(r.recorded.by.clone()).or_default().insert("author".into());
        for p in &r.participants {
            if let Some(pro) = &p.professional {
                roles.entry(pro.clone()).or_default().insert(p.role.clone());
            }
        }
    }
    roles
        .into_iter()
        .map(|(professional, r)| ProfessionalLink { professional, roles: r.into_iter().collect() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn families() -> Vec<Family> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        ["northbrook/export.json", "families/ashgrove/export.json", "families/fernhill/export.json"]
            .iter()
            .map(|p| crate::import::parse_and_validate(&root.join(p)).expect("fixture validates").family())
            .collect()
    }

    /// The definition the index must agree with: a pass over every relationship for each pair.
    fn reference(family: &Family, subject: &PersonId, other: &PersonId) -> Role {
        if subject == other {
            return Role::Subject;
        }
        let sex = family.person(other).and_then(|p| p.sex.as_deref());
        let mut edges: Vec<&Relationship> =
            family.relationships.iter().filter(|r| &r.person == subject && &r.related == other).collect();
        edges.sort_by_key(|r| (r.derived_from.is_some(), r.period.as_ref().map(|p| p.to.is_some()).unwrap_or(false)));
        if let Some(r) = edges.first() {
            return edge_role(r, sex);
        }
        let parents = |p: &PersonId| -> BTreeSet<&PersonId> {
            family
                .relationships
                .iter()
                .filter(|r| &r.person == p && relation::kin_of(&r.kind) == Kin::Parent)
                .map(|r| &r.related)
                .collect()
        };
        sibling_role(&parents(subject), &parents(other), sex).unwrap_or(Role::Unrelated)
    }

    #[test]
    fn kinship_index_agrees_with_a_pass_over_every_relationship() {
        for fam in families() {
            let k = Kinship::new(&fam);
            for a in &fam.persons {
                let related: HashMap<&PersonId, Role> = k.related(&a.id).into_iter().collect();
                for b in &fam.persons {
                    let want = reference(&fam, &a.id, &b.id);
                    assert_eq!(k.relation(&a.id, &b.id), want, "{} to {}", a.id, b.id);
                    if a.id != b.id {
                        let listed = related.get(&b.id).cloned().unwrap_or(Role::Unrelated);
                        assert_eq!(listed, want, "related({}) for {}", a.id, b.id);
                    }
                }
            }
        }
    }

    #[test]
    fn a_parents_partner_is_named_by_that_parent() {
        // Fernhill: Shannon is the partner of Kwame, Kai's father and nobody to Ellie-May.
        let fam = families().remove(2);
        let kai = CaseFile::build(&fam, &PersonId("p-kai".into())).unwrap();
        assert_eq!(kai.parents_partner(&PersonId("p-shannon".into())), Some("father"));
        let ellie = CaseFile::build(&fam, &PersonId("p-ellie".into())).unwrap();
        assert_eq!(ellie.parents_partner(&PersonId("p-shannon".into())), None);
        assert_eq!(kai.role_of(&PersonId("p-kwame".into())).words(), Some("father"));
        assert_eq!(kai.role_of(&PersonId("p-nobody".into())), Role::Unrelated);
    }
}
