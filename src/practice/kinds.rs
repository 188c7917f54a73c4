//! The seven checks. Kinds 1, 2, 4, 6 and 7 look at one record at a time; kinds 3 (plans of
//! different children) and 5 (the family's first contact) look across records. A record's text is
//! cut into words, sentences and the people it names once, and every kind reads that.

use super::lexicon::{self, Word};
use super::{Evidence, Finding, Kind, Place, Practice};
use crate::detect::{self, Context, Detector, Span};
use crate::file::{relation_to, Role};
use crate::model::relation::Kin;
use crate::model::*;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Pronouns that differ between copies of one plan written for a girl and for a boy.
const PRONOUNS: &[&str] = &["he", "she", "him", "her", "his", "hers", "himself", "herself"];

/// What every check reads: the family, the detector, the policy, and each child's siblings.
pub(super) struct Ctx<'a> {
    fam: &'a Family,
    det: &'a Detector,
    pr: &'a Practice,
    /// The siblings of every person who is on some record's file.
    siblings: HashMap<PersonId, BTreeSet<PersonId>>,
    /// Acronyms of the lexicon by their spelling.
    acronyms: HashMap<&'a str, usize>,
}

/// A section's text as the checks read it.
struct SectionText<'a> {
    sec: &'a Section,
    text: &'a str,
    words: Vec<Word>,
    sentences: Vec<Span>,
    /// Each name of exactly one person (a shared surname names nobody), with its span.
    names: Vec<(Span, PersonId)>,
}

impl SectionText<'_> {
    /// The people named in `s` (each once, in order of first mention).
    fn named_in(&self, s: &Span) -> Vec<&PersonId> {
        let mut out: Vec<&PersonId> = Vec::new();
        for (sp, p) in &self.names {
            if s.contains(sp) && !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }
}

/// A record as the checks read it.
struct View<'a> {
    rec: &'a Record,
    /// Every member on the record's file.
    on_file: Vec<PersonId>,
    /// The members on file who are children at the record's date (unborn children left out).
    children: Vec<PersonId>,
    sections: Vec<SectionText<'a>>,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(fam: &'a Family, det: &'a Detector, pr: &'a Practice) -> Ctx<'a> {
        let mut on_any_file: BTreeSet<&PersonId> = BTreeSet::new();
        for r in &fam.records {
            for m in &r.membership {
                if m.on_file && m.removed.is_none() {
                    on_any_file.insert(&m.person);
                }
            }
        }
        let mut siblings = HashMap::new();
        for p in on_any_file {
            siblings.insert(p.clone(), siblings_of(fam, p));
        }
        let acronyms = pr.policy.language.acronyms.iter().enumerate().map(|(i, a)| (a.acronym.as_str(), i)).collect();
        Ctx { fam, det, pr, siblings, acronyms }
    }

    /// Whether `p` is a child at `date`: recorded as a child (and not yet of age by date of
    /// birth), or an adult now who was under age then. Unborn children are not.
    fn is_child(&self, p: &PersonId, date: Option<Date>) -> bool {
        let Some(person) = self.fam.person(p) else { return false };
        let adult = self.pr.policy.adult_age as i32;
        let age = match (date, birth(person)) {
            (Some(d), Some(b)) => Some(age_at(b, d)),
            _ => None,
        };
        match person.kind.as_str() {
            "child" => age.is_none_or(|a| a < adult),
            "adult" => age.is_some_and(|a| (0..adult).contains(&a)),
            _ => false,
        }
    }

    fn view(&self, r: &'a Record) -> View<'a> {
        let date = r.occurred.start.date();
        let on_file: Vec<PersonId> =
            r.membership.iter().filter(|m| m.on_file && m.removed.is_none()).map(|m| m.person.clone()).collect();
        let children: Vec<PersonId> = on_file.iter().filter(|p| self.is_child(p, date)).cloned().collect();
        let ctx = Context { children: on_file.clone() };
        let sections = r
            .sections
            .iter()
            .map(|sec| {
                let text = self.fam.body(&r.id, &sec.id);
                SectionText {
                    sec,
                    text,
                    words: lexicon::words(text),
                    sentences: detect::sentence::sentences(text),
                    names: names(self.det, text, &ctx),
                }
            })
            .collect();
        View { rec: r, on_file, children, sections }
    }

    /// The per-record kinds (1, 2, 4, 6, 7) on one record.
    pub(super) fn record(&self, r: &'a Record, out: &mut Vec<Finding>) {
        let p = &self.pr.policy;
        let wanted = [
            p.absent_not_ungrouped.enabled,
            p.sibling_detail_in_shared_section.enabled,
            p.assessment_not_individual.enabled,
            p.unreferenced_sibling_detail.enabled,
            p.language.enabled,
        ];
        if !wanted.iter().any(|w| *w) {
            return;
        }
        let v = self.view(r);
        if wanted[0] {
            self.absent(&v, out);
        }
        if wanted[1] {
            self.sibling_detail(&v, out);
        }
        if wanted[2] {
            self.assessment(&v, out);
        }
        if wanted[3] {
            self.sibling_event(&v, out);
        }
        if wanted[4] {
            self.language(&v, out);
        }
    }

    /// Kind 1: a child on the visit's file who was absent, or not seen on a visit that requires
    /// seeing the child, and was not ungrouped.
    fn absent(&self, v: &View<'_>, out: &mut Vec<Finding>) {
        let rule = &self.pr.policy.absent_not_ungrouped;
        if !rule.visit_types.contains(&v.rec.kind) {
            return;
        }
        let must_see = v.rec.subtype.as_ref().is_some_and(|s| rule.seeing_required.contains(s));
        let date = v.rec.occurred.start.date();
        for (i, m) in v.rec.membership.iter().enumerate() {
            if !m.on_file || m.removed.is_some() || !self.is_child(&m.person, date) {
                continue;
            }
            let absent = m.attendance.as_deref() == Some("absent");
            let not_seen = must_see && m.seen == Some(false);
            if absent || not_seen {
                out.push(Finding {
                    kind: Kind::AbsentNotUngrouped,
                    record: v.rec.id.clone(),
                    place: Place::Record,
                    children: vec![m.person.clone()],
                    evidence: Evidence::Absence { member: i, absent },
                });
            }
        }
    }

    /// Kind 2: in a shared section of a record on two or more children's files, sentences that
    /// name one of those children and no other (enough of them, or one with a marker).
    fn sibling_detail(&self, v: &View<'_>, out: &mut Vec<Finding>) {
        let rule = &self.pr.policy.sibling_detail_in_shared_section;
        if v.children.len() < 2 {
            return;
        }
        for st in v.sections.iter().filter(|s| s.sec.scope.children().is_none()) {
            let markers = self.pr.markers.find(&st.words);
            // Whom the section's marker flags are about: a marker in a sentence that also names
            // one of them is taken as that person's flagged detail, not the child's ("Danielle
            // disclosed low mood at Maisie's review", flagged as Danielle's health).
            let flagged: BTreeSet<&PersonId> = st
                .sec
                .sensitivity
                .iter()
                .filter(|f| rule.marker_flags.contains(&f.flag))
                .filter_map(|f| f.subject.as_ref())
                .collect();
            // child -> (sentences naming only them, markers in those sentences, sentences with one)
            let mut by_child: BTreeMap<&PersonId, (Vec<Span>, Vec<Span>, usize)> = BTreeMap::new();
            for s in &st.sentences {
                let all = st.named_in(s);
                let named: Vec<&PersonId> = all.iter().copied().filter(|p| v.children.contains(p)).collect();
                if let [only] = named.as_slice() {
                    let e = by_child.entry(only).or_default();
                    e.0.push(*s);
                    let theirs = !flagged.contains(only) && all.iter().any(|p| p != only && flagged.contains(p));
                    let here: Vec<Span> = if theirs { Vec::new() } else { within(st.text, &markers, s) };
                    if !here.is_empty() {
                        e.2 += 1;
                    }
                    e.1.extend(here);
                }
            }
            for (child, (sentences, marks, marked)) in by_child {
                let flags: Vec<String> = st
                    .sec
                    .sensitivity
                    .iter()
                    .filter(|f| f.subject.as_ref() == Some(child) && rule.marker_flags.contains(&f.flag))
                    .map(|f| f.flag.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let marked = if flags.is_empty() { marked } else { sentences.len() };
                if sentences.len() >= rule.min_sentences || marked >= rule.min_marker_sentences {
                    out.push(Finding {
                        kind: Kind::SiblingDetailInSharedSection,
                        record: v.rec.id.clone(),
                        place: Place::Section(st.sec.id.clone()),
                        children: vec![child.clone()],
                        evidence: Evidence::Detail { sentences, markers: marks, flags },
                    });
                }
            }
        }
    }

    /// Kind 4: an assessment on two or more children's files where a child is named in no
    /// section (body or heading) and no section is scoped to them.
    fn assessment(&self, v: &View<'_>, out: &mut Vec<Finding>) {
        let rule = &self.pr.policy.assessment_not_individual;
        if !rule.assessment_types.contains(&v.rec.kind) || v.children.len() < 2 {
            return;
        }
        let ctx = Context { children: v.on_file.clone() };
        let mut named: BTreeSet<&PersonId> = v.sections.iter().flat_map(|s| s.names.iter().map(|n| &n.1)).collect();
        let heading_names: Vec<PersonId> = v
            .sections
            .iter()
            .filter_map(|s| s.sec.heading.as_deref())
            .flat_map(|h| names(self.det, h, &ctx).into_iter().map(|n| n.1))
            .collect();
        named.extend(heading_names.iter());
        for c in &v.children {
            let scoped = v.rec.sections.iter().any(|s| s.scope.children().is_some_and(|ch| ch.contains(c)));
            if !scoped && !named.contains(c) {
                out.push(Finding {
                    kind: Kind::AssessmentNotIndividual,
                    record: v.rec.id.clone(),
                    place: Place::Record,
                    children: vec![c.clone()],
                    evidence: Evidence::NotConsidered { sections: v.rec.sections.len() },
                });
            }
        }
    }

    /// Kind 6: a sentence naming a sibling of a child on the record's file, who is not on it
    /// themselves, with an event word, in a section with no `text_refs` entry, on a record with
    /// no link to a record on that sibling's file.
    fn sibling_event(&self, v: &View<'_>, out: &mut Vec<Finding>) {
        let mut sibs: BTreeSet<&PersonId> = BTreeSet::new();
        for p in &v.on_file {
            sibs.extend(self.siblings.get(p).into_iter().flatten());
        }
        sibs.retain(|s| !v.on_file.contains(s));
        if sibs.is_empty() {
            return;
        }
        let linked =
            |x: &PersonId| v.rec.links.iter().any(|l| self.fam.record(&l.target).is_some_and(|t| t.on_file_of(x)));
        for st in &v.sections {
            if v.rec.text_refs.iter().any(|t| t.section == st.sec.id) {
                continue;
            }
            let events = self.pr.events.find(&st.words);
            let mut by_sib: BTreeMap<&PersonId, (Vec<Span>, Vec<Span>)> = BTreeMap::new();
            for s in &st.sentences {
                let here: Vec<Span> = within(st.text, &events, s);
                if here.is_empty() {
                    continue;
                }
                for x in st.named_in(s) {
                    if sibs.contains(x) {
                        let e = by_sib.entry(x).or_default();
                        e.0.push(*s);
                        e.1.extend(here.iter().copied());
                    }
                }
            }
            for (x, (sentences, events)) in by_sib {
                if linked(x) {
                    continue;
                }
                out.push(Finding {
                    kind: Kind::UnreferencedSiblingDetail,
                    record: v.rec.id.clone(),
                    place: Place::Section(st.sec.id.clone()),
                    children: vec![x.clone()],
                    evidence: Evidence::Event { sentences, events },
                });
            }
        }
    }

    /// Kind 7: lexicon terms outside quotation marks, and the first use in a record of an
    /// acronym whose expansion does not appear earlier in it. Section bodies in order (a
    /// heading counts as earlier text for expansions), then appendments.
    fn language(&self, v: &View<'_>, out: &mut Vec<Finding>) {
        let children = if v.children.is_empty() { v.on_file.clone() } else { v.children.clone() };
        // Acronyms explained so far in the record, and those already reported.
        let mut explained: BTreeSet<usize> = BTreeSet::new();
        let mut reported: BTreeSet<usize> = BTreeSet::new();
        // (where, heading, body, its words): sections in order, then appendments.
        type Text<'t> = (Place, Option<&'t str>, &'t str, Cow<'t, [Word]>);
        let mut texts: Vec<Text<'_>> = Vec::new();
        for st in &v.sections {
            texts.push((
                Place::Section(st.sec.id.clone()),
                st.sec.heading.as_deref(),
                st.text,
                Cow::Borrowed(&st.words),
            ));
        }
        for a in &v.rec.appendments {
            texts.push((Place::Appendment(a.id.clone()), None, a.body.as_str(), Cow::Owned(lexicon::words(&a.body))));
        }
        for (place, heading, text, words) in texts {
            if let Some(h) = heading {
                for hit in self.pr.expansions.find(&lexicon::words(h)) {
                    explained.insert(hit.entry);
                }
            }
            let words = &words[..];
            let quotes = lexicon::quoted(text);
            for hit in self.pr.terms.find(words) {
                if !lexicon::in_quotes(&quotes, &hit.span) {
                    out.push(Finding {
                        kind: Kind::Language,
                        record: v.rec.id.clone(),
                        place: place.clone(),
                        children: children.clone(),
                        evidence: Evidence::Term { span: hit.span, term: hit.entry },
                    });
                }
            }
            if self.acronyms.is_empty() {
                continue;
            }
            let mut expansions = self.pr.expansions.find(words).into_iter().peekable();
            for w in words {
                while let Some(e) = expansions.next_if(|e| e.span.start() < w.span.start()) {
                    explained.insert(e.entry);
                }
                let raw = &text[w.span.start()..w.span.end()];
                let Some(&a) =
                    self.acronyms.get(raw).or_else(|| raw.strip_suffix('s').and_then(|r| self.acronyms.get(r)))
                else {
                    continue;
                };
                if explained.contains(&a) || reported.contains(&a) || lexicon::in_quotes(&quotes, &w.span) {
                    continue;
                }
                reported.insert(a);
                out.push(Finding {
                    kind: Kind::Language,
                    record: v.rec.id.clone(),
                    place: place.clone(),
                    children: children.clone(),
                    evidence: Evidence::Acronym { span: w.span, acronym: a },
                });
            }
            explained.extend(expansions.map(|e| e.entry));
        }
    }

    /// Kind 3: plans of different children (no child in common) whose bodies are near-identical,
    /// or linked by `copied_from`. The row is the later plan's; with `only`, the rows of that
    /// record alone.
    pub(super) fn plans(&self, only: Option<&RecordId>, out: &mut Vec<Finding>) {
        let rule = &self.pr.policy.plan_copied_across_children;
        if !rule.enabled {
            return;
        }
        if let Some(r) = only.and_then(|id| self.fam.record(id)) {
            if !rule.plan_types.contains(&r.kind) {
                return;
            }
        }
        struct Plan<'p> {
            rec: &'p Record,
            children: Vec<PersonId>,
            words: usize,
            shingles: Vec<u64>,
        }
        let plans: Vec<Plan<'_>> = self
            .fam
            .records
            .iter()
            .filter(|r| rule.plan_types.contains(&r.kind))
            .map(|r| {
                let children: Vec<PersonId> = r
                    .membership
                    .iter()
                    .filter(|m| m.on_file && m.removed.is_none())
                    .map(|m| m.person.clone())
                    .collect();
                let tokens = self.plan_tokens(r, &children);
                let shingles = shingles(&tokens, rule.shingle_words);
                Plan { rec: r, children, words: tokens.len(), shingles }
            })
            .collect();
        let later = |a: &Record, b: &Record| (&a.occurred.start, &a.id) > (&b.occurred.start, &b.id);
        let copied = |a: &Record, b: &Record| a.links.iter().any(|l| l.kind == "copied_from" && l.target == b.id);
        for (i, a) in plans.iter().enumerate() {
            for b in &plans[i + 1..] {
                let (late, early) = if later(a.rec, b.rec) { (a, b) } else { (b, a) };
                if only.is_some_and(|o| o != &late.rec.id) {
                    continue;
                }
                if late.children.iter().any(|c| early.children.contains(c)) {
                    continue;
                }
                let similarity = (late.words >= rule.min_words && early.words >= rule.min_words)
                    .then(|| jaccard(&late.shingles, &early.shingles));
                let linked = rule.copied_from && (copied(late.rec, early.rec) || copied(early.rec, late.rec));
                if linked || similarity.is_some_and(|s| s >= rule.threshold) {
                    let mut children = late.children.clone();
                    children.extend(early.children.iter().cloned());
                    out.push(Finding {
                        kind: Kind::PlanCopiedAcrossChildren,
                        record: late.rec.id.clone(),
                        place: Place::Record,
                        children,
                        evidence: Evidence::Plan { earlier: early.rec.id.clone(), similarity, copied_from: linked },
                    });
                }
            }
        }
    }

    /// A plan's section bodies as lower-case words, each person's name and each gendered pronoun
    /// written as one placeholder, so a copy with the names changed compares as a copy.
    fn plan_tokens(&self, r: &Record, on_file: &[PersonId]) -> Vec<String> {
        let ctx = Context { children: on_file.to_vec() };
        let mut out = Vec::new();
        for s in &r.sections {
            let text = self.fam.body(&r.id, &s.id);
            let named = names(self.det, text, &ctx);
            let mut last_name: Option<Span> = None;
            for w in lexicon::words(text) {
                if let Some((sp, _)) = named.iter().find(|(sp, _)| sp.contains(&w.span)) {
                    if last_name != Some(*sp) {
                        out.push("\u{1}name".to_string());
                        last_name = Some(*sp);
                    }
                    continue;
                }
                last_name = None;
                if PRONOUNS.contains(&w.lower.as_str()) {
                    out.push("\u{1}pronoun".to_string());
                } else {
                    out.push(w.lower);
                }
            }
        }
        out
    }

    /// Kind 5: the children of the family at its first contact or referral with none on their
    /// own file within the window. With `only`, nothing unless that record is the first.
    pub(super) fn first_contact(&self, only: Option<&RecordId>, out: &mut Vec<Finding>) {
        let rule = &self.pr.policy.known_child_without_contact;
        if !rule.enabled {
            return;
        }
        let opening = |r: &&Record| rule.first_record_types.contains(&r.kind) && r.occurred.start.date().is_some();
        let Some(first) = self
            .fam
            .records
            .iter()
            .filter(opening)
            .min_by(|a, b| (&a.occurred.start, &a.id).cmp(&(&b.occurred.start, &b.id)))
        else {
            return;
        };
        if only.is_some_and(|o| o != &first.id) {
            return;
        }
        let Some(day) = first.occurred.start.date() else { return };
        let on: Vec<&Member> = first.membership.iter().filter(|m| m.on_file && m.removed.is_none()).collect();
        let subjects: Vec<&PersonId> =
            match on.iter().filter(|m| m.role == "subject").map(|m| &m.person).collect::<Vec<_>>() {
                s if !s.is_empty() => s,
                _ => on.iter().map(|m| &m.person).collect(),
            };
        let covers = |p: &Option<Period>| {
            let Some(p) = p else { return true };
            let from_ok = p.from.as_deref().and_then(Date::parse).is_none_or(|f| f <= day);
            let to_ok = p.to.as_deref().and_then(Date::parse).is_none_or(|t| t >= day);
            from_ok && to_ok
        };
        let mut sibs: Vec<PersonId> = Vec::new();
        for s in &subjects {
            sibs.extend(siblings_of(self.fam, s));
        }
        let mut family: BTreeSet<&PersonId> = subjects.iter().copied().collect();
        family.extend(sibs.iter());
        for g in self.fam.groups.iter().filter(|g| rule.family_group_types.contains(&g.kind)) {
            let holds = g.members.iter().any(|m| subjects.contains(&&m.person) && covers(&m.period));
            if holds {
                family.extend(g.members.iter().filter(|m| covers(&m.period)).map(|m| &m.person));
            }
        }
        let end = day.days() + rule.window_days as i64;
        // In the family's own order of persons, so the rows come out as the export lists people.
        for p in &self.fam.persons {
            if !family.contains(&p.id) || !self.is_child(&p.id, Some(day)) || !alive_at(p, day) {
                continue;
            }
            let has = self.fam.records.iter().any(|r| {
                rule.first_record_types.contains(&r.kind)
                    && r.on_file_of(&p.id)
                    && r.occurred.start.date().is_some_and(|d| d >= day && d.days() <= end)
            });
            if !has {
                out.push(Finding {
                    kind: Kind::KnownChildWithoutContact,
                    record: first.id.clone(),
                    place: Place::Record,
                    children: vec![p.id.clone()],
                    evidence: Evidence::NoContact { window_days: rule.window_days },
                });
            }
        }
    }
}

/// Each name in `text` that is a name of exactly one person of the family (given name, name form,
/// a family name only one person has), with its span. Relationship words, pronouns and a family
/// name several people share name nobody.
fn names(det: &Detector, text: &str, ctx: &Context) -> Vec<(Span, PersonId)> {
    if text.is_empty() {
        return Vec::new();
    }
    det.find(text, ctx)
        .into_iter()
        .filter(|f| f.kind == detect::Kind::Name)
        .filter_map(|f| {
            let mut people = f.targets.iter().filter_map(|t| match t {
                detect::Target::Person(p) => Some(p),
                _ => None,
            });
            match (people.next(), people.next()) {
                (Some(p), None) => Some((f.span, p.clone())),
                _ => None,
            }
        })
        .collect()
}

/// The siblings of `p` by relationship (a sibling code, or a shared parent).
fn siblings_of(fam: &Family, p: &PersonId) -> BTreeSet<PersonId> {
    fam.persons
        .iter()
        .filter(|q| &q.id != p)
        .filter(|q| matches!(relation_to(fam, p, &q.id), Role::Family { kin: Kin::Sibling, .. }))
        .map(|q| q.id.clone())
        .collect()
}

fn birth(p: &Person) -> Option<Date> {
    p.date_of_birth.as_ref().and_then(|d| Date::parse(&d.date))
}

/// Whole years from `b` to `d` (negative before birth).
fn age_at(b: Date, d: Date) -> i32 {
    let mut y = d.year - b.year;
    if (d.month, d.day) < (b.month, b.day) {
        y -= 1;
    }
    if d < b {
        y = y.min(-1);
    }
    y
}

/// Born on or before `d` (when the date of birth is known) and not dead before it.
fn alive_at(p: &Person, d: Date) -> bool {
    let born = birth(p).is_none_or(|b| b <= d);
    let death = p.date_of_death.as_ref().and_then(|v| {
        let s = v.get("date").and_then(|x| x.as_str()).or_else(|| v.as_str())?;
        Date::parse(s.get(0..10)?)
    });
    born && death.is_none_or(|x| x >= d)
}

/// The spans of `hits` inside `s`, neighbours separated only by white space joined into one
/// ("hospital" "appointment" -> "hospital appointment").
fn within(text: &str, hits: &[lexicon::Hit], s: &Span) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    for h in hits.iter().filter(|h| s.contains(&h.span)) {
        match out.last_mut() {
            Some(last) if text[last.end()..h.span.start()].chars().all(char::is_whitespace) => {
                *last = last.union(&h.span)
            }
            _ => out.push(h.span),
        }
    }
    out
}

/// FNV-1a of each run of `k` tokens, sorted and without repeats.
fn shingles(tokens: &[String], k: usize) -> Vec<u64> {
    let mut out: Vec<u64> = tokens
        .windows(k.min(tokens.len()).max(1))
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for t in w {
                for b in t.as_bytes().iter().chain(std::iter::once(&0u8)) {
                    h ^= *b as u64;
                    h = h.wrapping_mul(0x0100_0000_01b3);
                }
            }
            h
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Shared runs over all runs of two sorted sets (0 when both are empty).
fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let all = a.len() + b.len() - both;
    if all == 0 {
        0.0
    } else {
        both as f64 / all as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jaccard_of_shingles() {
        let t = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let a = shingles(&t("a b c d e f"), 3);
        assert_eq!(a.len(), 4);
        assert_eq!(jaccard(&a, &a), 1.0);
        let b = shingles(&t("a b c d x y"), 3);
        // shared: abc, bcd; all: 4 + 4 - 2
        assert!((jaccard(&a, &b) - 2.0 / 6.0).abs() < 1e-12);
        assert_eq!(jaccard(&[], &[]), 0.0);
    }

    #[test]
    fn ages() {
        let d = |s: &str| Date::parse(s).unwrap();
        assert_eq!(age_at(d("2006-07-03"), d("2024-07-02")), 17);
        assert_eq!(age_at(d("2006-07-03"), d("2024-07-03")), 18);
        assert!(age_at(d("2025-01-10"), d("2025-01-01")) < 0);
    }
}
