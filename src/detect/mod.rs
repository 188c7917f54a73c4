//! Detection: find every mention of a person, professional, organisation, address or identifier
//! in a text, using the case graph as the dictionary, plus generic patterns for identifiers that
//! are not in the graph. It says what was found, where and why (recognizer and form); it never
//! decides what to do with a finding (that is `policy`).
//!
//! Cost grows with text length, not with people x text: all literal forms (names, organisation
//! names, address lines, dates of birth, reference numbers) are one Aho-Corasick automaton, and the
//! shaped identifiers (phones, NHS and NI numbers, UPNs, emails, postcodes) one regex; each text is
//! scanned once by each.
//!
//! How a name that is also a word is told apart ("Rose" the neighbour, "a rose bush"): such forms
//! (see `words::needs_care`) match only when written with a capital and used as a name: in mid
//! sentence; after a title (Mr, Mrs, DC...); next to another part of the same person's name (then
//! the longer form matches); at the start of a sentence only when followed by a verb of a person
//! ("Rose said"), a comma or "and" and another capitalised word (a list of people); or when the
//! name is the whole text (a heading). Any other single-word form (a given or family name alone)
//! must start with a capital, since no word list is complete ("Bright" the person, "a bright
//! boy"); full names of two or more words match in any case.

pub mod findings;
pub mod norm;
pub mod sentence;
pub mod span;
pub mod words;

pub use findings::{find, Findings};
pub use span::Span;

use crate::file::{Kinship, Role};
use crate::model::relation::Kin;
use crate::model::*;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use norm::Normalized;
use regex::Regex;
use serde::Serialize;
use std::collections::HashMap;

/// Whom or what a finding is about.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum Target {
    Person(PersonId),
    Professional(ProfessionalId),
    Organisation(OrgId),
    Address(AddressId),
    /// An identifier of the right shape that is in nobody's record: a third party's.
    Unknown,
}

/// What kind of mention.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Name,
    /// An identifier of the given system (nhs_number, ni_number, upn, police_ref, ...).
    Identifier(String),
    Phone,
    Email,
    Postcode,
    AddressLine,
    Town,
    DateOfBirth,
    OrgName,
    /// A relationship word ("Mum", "her brother") resolved to people.
    Relationship,
}

impl Kind {
    /// Whether this is a detail (identifier, contact, address, date of birth) rather than a name.
    pub fn is_detail(&self) -> bool {
        !matches!(self, Kind::Name | Kind::OrgName | Kind::Relationship)
    }
}

/// One detection: where, about whom, what, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    pub span: Span,
    pub kind: Kind,
    /// Candidates (more than one when a form is shared, e.g. a family surname).
    pub targets: Vec<Target>,
    /// Which recognizer found it.
    pub recognizer: &'static str,
    /// Which form matched, e.g. "family name with title", "nhs_number, spaced".
    pub form: String,
}

impl Finding {
    pub fn is_about(&self, t: &Target) -> bool {
        self.targets.contains(t)
    }
}

/// What a text is about, for resolving relationship words.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// The children the text is about (section scope, else the record's on-file members).
    pub children: Vec<PersonId>,
}

/// A recognizer: finds mentions of one family of forms in a text and pushes findings.
/// Modelled on ripgrep's `Sink`: one required method; the detector drives it.
pub trait Recognizer: Send + Sync {
    /// A stable name for explanations.
    fn name(&self) -> &'static str;
    /// Push every finding in `src` (normalised as `n`).
    fn find(&self, src: &str, n: &Normalized, ctx: &Context, out: &mut Vec<Finding>);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gate {
    /// Matches in any case (multi-word forms: "gwen aldous" typed in lower case is still her).
    Any,
    /// A single word: must start with a capital ("Bright" the person, "a bright boy" the word).
    Capital,
    /// Must be capitalised and used as a name (see module docs).
    Careful,
    /// Counts only next to another finding of the same target (a unit line such as "Flat 3").
    Neighbour,
}

#[derive(Clone, Debug)]
struct Lit {
    target: Target,
    kind: Kind,
    form: &'static str,
    gate: Gate,
}

/// The literal-forms recognizer: one automaton for every name, organisation, address line,
/// date of birth and reference number in the family.
struct Literals {
    ac: AhoCorasick,
    infos: Vec<Vec<Lit>>,
    /// Initials of each person's family names, to take "Glenys T." whole.
    initials: HashMap<Target, Vec<char>>,
    /// Who each person or professional is, for the titles that narrow a name's candidates.
    who: HashMap<Target, Who>,
}

/// What a title can tell about the person it stands before.
#[derive(Clone, Copy, Debug)]
struct Who {
    /// 'F' or 'M' when recorded (a professional's is not).
    sex: Option<char>,
    age: Age,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Age {
    Adult,
    Child,
    Unborn,
}

/// Whether a title (lower case, as in `words::TITLES`) can stand before this person: "Mr" a man,
/// "Mrs" and "Ms" a woman, "Miss" a girl or a woman, "Master" a boy, "Mx" anyone; Mr, Mrs and Ms,
/// and titles of office (Dr, DC, Nurse...) an adult. An unrecorded sex fits every title.
fn title_fits(title: &str, who: &Who) -> bool {
    let (sex, age) = match title {
        "mr" | "sir" => (Some('M'), Some(Age::Adult)),
        "mrs" | "ms" | "dame" => (Some('F'), Some(Age::Adult)),
        "miss" => (Some('F'), None),
        "master" | "mstr" => (Some('M'), Some(Age::Child)),
        "mx" => (None, None),
        _ => (None, Some(Age::Adult)),
    };
    let sex_ok = match (sex, who.sex) {
        (Some(want), Some(have)) => want == have,
        _ => true,
    };
    let age_ok = who.age != Age::Unborn && age.is_none_or(|a| a == who.age);
    sex_ok && age_ok
}

impl Literals {
    fn build(f: &Family) -> Literals {
        let mut table: HashMap<String, Vec<Lit>> = HashMap::new();
        let mut add = |pat: &str, lit: Lit| {
            let p = norm::pattern(pat);
            if p.chars().count() < 2 {
                return;
            }
            // One entity's forms are added together, so a duplicate (the same target and kind
            // under one pattern) can only be in the list's last run of that target: looking
            // further would cost the whole list for every one of thousands sharing a name.
            // A hyphenated form is also read without its hyphens: broken at a hyphen across a
            // line, "Okafor-\nMarwick" folds to "okaformarwick" (see `norm`).
            for key in norm::unhyphenated(&p).into_iter().chain(std::iter::once(p)) {
                let v = table.entry(key).or_default();
                if !v.iter().rev().take_while(|x| x.target == lit.target).any(|x| x.kind == lit.kind) {
                    v.push(lit.clone());
                }
            }
        };
        let gate_for = |s: &str| if words::needs_care(&norm::pattern(s)) { Gate::Careful } else { Gate::Capital };
        for p in &f.persons {
            let t = Target::Person(p.id.clone());
            for n in &p.names {
                name_forms(&n.given, n.family.as_deref(), &t, &gate_for, &mut add);
            }
            // A usual name or nickname with any recorded family name ("Gwen Aldous", "Dani Marwick").
            let families: Vec<&str> = p.names.iter().filter_map(|n| n.family.as_deref()).collect();
            for n in &p.names {
                if let Some(g) = n.given.first() {
                    for fam in &families {
                        add(
                            &format!("{g} {fam}"),
                            Lit { target: t.clone(), kind: Kind::Name, form: "given and family name", gate: Gate::Any },
                        );
                    }
                }
            }
            for idf in &p.identifiers {
                if !matches!(idf.system.as_str(), "nhs_number" | "ni_number" | "upn" | "former_upn" | "upn_unknown") {
                    // "MC/25/004471" is also written "MC 25 004471" and "MC25004471".
                    for v in separator_variants(&idf.value) {
                        add(
                            &v,
                            Lit {
                                target: t.clone(),
                                kind: Kind::Identifier(idf.system.clone()),
                                form: "identifier, other spacing",
                                gate: Gate::Any,
                            },
                        );
                    }
                    add(
                        &idf.value,
                        Lit {
                            target: t.clone(),
                            kind: Kind::Identifier(idf.system.clone()),
                            form: "identifier as recorded",
                            gate: Gate::Any,
                        },
                    );
                }
            }
            if let Some(d) = p.date_of_birth.as_ref().and_then(|d| Date::parse(&d.date)) {
                for s in date_forms(d) {
                    add(&s, Lit { target: t.clone(), kind: Kind::DateOfBirth, form: "date of birth", gate: Gate::Any });
                }
            }
        }
        for p in &f.professionals {
            let t = Target::Professional(p.id.clone());
            name_forms(&p.name.given, p.name.family.as_deref(), &t, &gate_for, &mut add);
            for idf in &p.identifiers {
                add(
                    &idf.value,
                    Lit {
                        target: t.clone(),
                        kind: Kind::Identifier(idf.system.clone()),
                        form: "professional identifier",
                        gate: Gate::Any,
                    },
                );
            }
        }
        for o in &f.organisations {
            let t = Target::Organisation(o.id.clone());
            add(&o.name, Lit { target: t.clone(), kind: Kind::OrgName, form: "organisation name", gate: Gate::Any });
            // Short names need only a capital, even at the start of a sentence ("Harbour House
            // staff said"): an organisation kept by the rules loses nothing by being found, and a
            // refuge's name must be found wherever it stands.
            for v in org_variants(&o.name) {
                add(
                    &v,
                    Lit {
                        target: t.clone(),
                        kind: Kind::OrgName,
                        form: "organisation short name",
                        gate: Gate::Capital,
                    },
                );
            }
        }
        for a in &f.addresses {
            let t = Target::Address(a.id.clone());
            for l in &a.lines {
                let has_street = l.split_whitespace().any(|w| w.chars().any(|c| c.is_alphabetic()) && !is_unit_word(w));
                let gate = if has_street { Gate::Any } else { Gate::Neighbour };
                add(l, Lit { target: t.clone(), kind: Kind::AddressLine, form: "address line", gate });
                // A street without its number, or a named house without "The", is still the
                // address wherever it stands ("Millbeck Lane in Thornwick", "at Old Forge").
                if let Some(street) = strip_house_number(l) {
                    add(
                        &street,
                        Lit { target: t.clone(), kind: Kind::AddressLine, form: "street name", gate: Gate::Capital },
                    );
                }
                if let Some(house) = l.trim().strip_prefix("The ").filter(|h| h.split_whitespace().count() >= 2) {
                    add(
                        house,
                        Lit { target: t.clone(), kind: Kind::AddressLine, form: "house name", gate: Gate::Capital },
                    );
                }
            }
            // A town is reported wherever it stands: next to other parts it joins them (settle),
            // alone it is a `Kind::Town` finding, which the policy takes out only for a
            // confidential address ("placed separately in Thornwick").
            if let Some(town) = &a.town {
                add(town, Lit { target: t.clone(), kind: Kind::Town, form: "town", gate: gate_for(town) });
            }
            if let Some(u) = &a.uprn {
                add(u, Lit { target: t.clone(), kind: Kind::Identifier("uprn".into()), form: "UPRN", gate: Gate::Any });
            }
        }
        let mut pats: Vec<(String, Vec<Lit>)> = table.into_iter().collect();
        pats.sort_by(|a, b| a.0.cmp(&b.0));
        // A full DFA is the fastest search but its memory grows with the patterns' total length
        // times the alphabet: right for a family's few thousand forms, not for 100,000 people's.
        let total: usize = pats.iter().map(|p| p.0.len()).sum();
        let kind = if total <= DFA_MAX_PATTERN_BYTES {
            aho_corasick::AhoCorasickKind::DFA
        } else {
            aho_corasick::AhoCorasickKind::ContiguousNFA
        };
        let ac = AhoCorasickBuilder::new()
            // Every match, overlapping ones included (see `find`).
            .match_kind(MatchKind::Standard)
            .kind(Some(kind))
            .build(pats.iter().map(|p| p.0.as_str()))
            .expect("literal patterns always build");
        let mut who: HashMap<Target, Who> = HashMap::new();
        for p in &f.persons {
            let sex = match p.sex.as_deref() {
                Some("F") => Some('F'),
                Some("M") => Some('M'),
                _ => None,
            };
            let age = match p.kind.as_str() {
                "child" => Age::Child,
                "unborn" => Age::Unborn,
                _ => Age::Adult,
            };
            who.insert(Target::Person(p.id.clone()), Who { sex, age });
        }
        for p in &f.professionals {
            who.insert(Target::Professional(p.id.clone()), Who { sex: None, age: Age::Adult });
        }
        let mut initials: HashMap<Target, Vec<char>> = HashMap::new();
        for p in &f.persons {
            let v: Vec<char> = p
                .names
                .iter()
                .filter_map(|n| n.family.as_ref()?.chars().next())
                .flat_map(|c| c.to_uppercase())
                .collect();
            initials.insert(Target::Person(p.id.clone()), v);
        }
        for p in &f.professionals {
            let v: Vec<char> =
                p.name.family.iter().filter_map(|n| n.chars().next()).flat_map(|c| c.to_uppercase()).collect();
            initials.insert(Target::Professional(p.id.clone()), v);
        }
        Literals { ac, infos: pats.into_iter().map(|p| p.1).collect(), initials, who }
    }
}

/// Above this many bytes of literal patterns the automaton is a contiguous NFA, not a DFA.
const DFA_MAX_PATTERN_BYTES: usize = 256 * 1024;

/// An identifier with its separators (/ - . space) written as spaces, and with none.
fn separator_variants(v: &str) -> Vec<String> {
    let parts: Vec<&str> = v.split(['/', '-', '.', ' ']).filter(|p| !p.is_empty()).collect();
    if parts.len() < 2 {
        return Vec::new();
    }
    vec![parts.join(" "), parts.concat(), parts.join("/"), parts.join("-")]
}

fn is_unit_word(w: &str) -> bool {
    matches!(
        w.to_ascii_lowercase().trim_end_matches(','),
        "flat" | "unit" | "apartment" | "apt" | "room" | "floor" | "block"
    ) || w.chars().all(|c| c.is_ascii_digit() || c == ',' || c == '/' || c == '-')
        || (w.len() <= 4 && w.chars().next().is_some_and(|c| c.is_ascii_digit()))
}

/// "27 Larkspur Gardens" -> "Larkspur Gardens"; None when nothing is left or nothing was stripped.
fn strip_house_number(line: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let start = words.iter().position(|w| !is_unit_word(w))?;
    if start == 0 || words.len() - start < 2 {
        return None;
    }
    Some(words[start..].join(" "))
}

const ORG_SUFFIXES: &[&str] = &[
    "primary school",
    "secondary school",
    "high school",
    "infant school",
    "junior school",
    "school",
    "academy",
    "nursery",
    "pre-school",
    "preschool",
    "refuge",
    "medical centre",
    "health centre",
    "surgery",
    "practice",
    "nhs foundation trust",
    "nhs trust",
    "trust",
    "police",
    "constabulary",
    "college",
    "children's centre",
    "family centre",
    "centre",
];

/// Short names people write for an organisation: "Brookside Primary School" -> "Brookside Primary",
/// "Brookside"; "Harbour House Refuge" -> "Harbour House".
fn org_variants(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lower = name.to_lowercase();
    for suf in ORG_SUFFIXES {
        if let Some(stem) = lower.strip_suffix(suf) {
            let stem_len = stem.trim_end().len();
            let v = name[..stem_len].trim().to_string();
            if distinctive(&v) && !out.contains(&v) {
                out.push(v.clone());
            }
            // "Brookside Primary" from "Brookside Primary School"
            if *suf == "primary school" || *suf == "secondary school" || *suf == "high school" {
                let w = name[..stem_len + suf.find(' ').unwrap_or(0) + 1].trim().to_string();
                if distinctive(&w) && !out.contains(&w) {
                    out.push(w);
                }
            }
        }
    }
    out
}

fn distinctive(s: &str) -> bool {
    let words: Vec<&str> = s.split_whitespace().collect();
    match words.len() {
        0 => false,
        1 => words[0].len() >= 5 && !words::needs_care(&words[0].to_lowercase()),
        _ => true,
    }
}

fn name_forms(
    given: &[String],
    family: Option<&str>,
    t: &Target,
    gate_for: &dyn Fn(&str) -> Gate,
    add: &mut dyn FnMut(&str, Lit),
) {
    let lit = |form: &'static str, gate: Gate| Lit { target: t.clone(), kind: Kind::Name, form, gate };
    if let Some(fam) = family {
        if let Some(g) = given.first() {
            add(&format!("{g} {fam}"), lit("given and family name", Gate::Any));
            let initial: String = g.chars().take(1).collect();
            add(&format!("{initial} {fam}"), lit("initial and family name", Gate::Any));
            add(&format!("{initial}. {fam}"), lit("initial and family name", Gate::Any));
            if given.len() > 1 {
                add(&format!("{} {fam}", given.join(" ")), lit("full name", Gate::Any));
                let inits: Vec<String> = given.iter().map(|x| x.chars().take(1).collect()).collect();
                add(&format!("{} {fam}", inits.join(". ") + "."), lit("initials and family name", Gate::Any));
                add(&format!("{} {fam}", inits.join(" ")), lit("initials and family name", Gate::Any));
            }
        }
        add(fam, lit("family name", gate_for(fam)));
        // "the Penhallows", "the Penhallows' house"
        add(&format!("{fam}s"), lit("family name, plural", gate_for(fam)));
        // Parts of a hyphenated family name are names people write on their own.
        if fam.contains('-') {
            for part in fam.split('-') {
                if part.len() >= 3 {
                    add(part, lit("part of a hyphenated family name", gate_for(part)));
                }
            }
        }
    }
    if let Some(g) = given.first() {
        add(g, lit("given name", gate_for(g)));
        for (i, other) in given.iter().enumerate().skip(1) {
            let _ = i;
            add(&format!("{g} {other}"), lit("given names", Gate::Any));
        }
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A date of birth in the UK forms people write.
fn date_forms(d: Date) -> Vec<String> {
    let (y, m, dd) = (d.year, d.month as usize, d.day);
    let mon = MONTHS[m - 1];
    let short = &mon[..3];
    let yy = y % 100;
    let suf = match dd {
        1 | 21 | 31 => "st",
        2 | 22 => "nd",
        3 | 23 => "rd",
        _ => "th",
    };
    let mut v = vec![
        format!("{dd:02}/{m:02}/{y}"),
        format!("{dd}/{m}/{y}"),
        format!("{dd:02}.{m:02}.{y}"),
        format!("{dd:02}-{m:02}-{y}"),
        format!("{dd:02}/{m:02}/{yy:02}"),
        format!("{dd}/{m}/{yy:02}"),
        format!("{dd}/{m:02}/{yy:02}"),
        format!("{dd:02}/{m}/{yy:02}"),
        format!("{y}-{m:02}-{dd:02}"),
        format!("{dd} {mon} {y}"),
        format!("{dd}{suf} {mon} {y}"),
        format!("{dd}{suf} of {mon} {y}"),
        format!("{dd} {short} {y}"),
        format!("{mon} {dd}, {y}"),
        format!("{mon} {dd} {y}"),
    ];
    v.sort();
    v.dedup();
    v
}

impl Recognizer for Literals {
    fn name(&self) -> &'static str {
        "case-graph literals"
    }

    fn find(&self, src: &str, n: &Normalized, _ctx: &Context, out: &mut Vec<Finding>) {
        let nt = n.text.as_bytes();
        // Overlapping matches, each checked on its own; `settle` keeps the longest of those that
        // pass. A leftmost-longest search would let one that fails its word boundaries hide a
        // name inside it: "Mr Okafor" holds "r okafor" (Ryan's initial and family name), which
        // starts inside "Mr", and "Okafor" was never tried.
        for m in self.ac.find_overlapping_iter(&n.text) {
            let (s, e) = (m.start(), m.end());
            // Word boundaries on the normalised text.
            // A letter next to a digit is a boundary: text read from a PDF can lose the space
            // between a house number and its street ("4Orchard Rise").
            let before = n.text[..s].chars().next_back();
            let after = n.text[e..].chars().next();
            let first = n.text[s..e].chars().next();
            let last = n.text[s..e].chars().next_back();
            if joined(before, first) || joined(last, after) {
                continue;
            }
            // "Mr. R" style: an apostrophe directly before means a contraction, not a name start.
            if s > 0 && nt[s - 1] == b'\'' && s > 1 && (nt[s - 2] as char).is_alphanumeric() {
                continue;
            }
            let (os, oe) = n.original(s, e, src);
            let titled = title_at(src, os);
            let title = titled.as_ref().map(|t| t.0);
            let mut kept: Vec<&Lit> = Vec::new();
            for lit in &self.infos[m.pattern().as_usize()] {
                let ok = match lit.gate {
                    Gate::Any => true,
                    Gate::Capital => title.is_some() || src[os..oe].chars().next().is_some_and(|c| c.is_uppercase()),
                    Gate::Neighbour => true, // settled after all findings are in
                    Gate::Careful => title.is_some() || used_as_name(src, os, oe),
                };
                if ok {
                    kept.push(lit);
                }
            }
            if kept.is_empty() {
                continue;
            }
            let kind = kept[0].kind.clone();
            // A house number joined to its street ("27Tolgus Terrace", a PDF's lost space) goes
            // with the street.
            let os = if kind == Kind::AddressLine { os - joined_number(&src[..os]) } else { os };
            let start = title.unwrap_or(os);
            let mut targets: Vec<Target> = kept.iter().filter(|l| l.kind == kind).map(|l| l.target.clone()).collect();
            // A title narrows a name's candidates by sex and age ("Mr Marwick" is not the
            // children nor their mother). A title that fits nobody narrows nothing: fewer
            // candidates must never come from a recording slip.
            if let (Some((_, t)), Kind::Name) = (&titled, &kind) {
                let fits: Vec<Target> =
                    targets.iter().filter(|x| self.who.get(x).is_none_or(|w| title_fits(t, w))).cloned().collect();
                if !fits.is_empty() {
                    targets = fits;
                }
            }
            let gate = kept[0].gate;
            let form = if title.is_some() && kind == Kind::Name {
                format!("{} with title", kept[0].form)
            } else {
                kept[0].form.to_string()
            };
            // A given name followed by the initial of the person's family name ("Glenys T.").
            let mut end = oe;
            if kind == Kind::Name {
                let rest = &src[oe..];
                let mut it = rest.chars();
                if let (Some(' '), Some(c)) = (it.next(), it.next()) {
                    let after = rest[1 + c.len_utf8()..].chars().next();
                    let initial_ok = c.is_uppercase()
                        && after.is_none_or(|a| !a.is_alphanumeric())
                        && targets.iter().all(|t| self.initials.get(t).is_some_and(|v| v.contains(&c)));
                    if initial_ok {
                        end = oe + 1 + c.len_utf8() + usize::from(rest[1 + c.len_utf8()..].starts_with('.'));
                    }
                }
            }
            out.push(Finding {
                span: Span::new(start, end),
                kind,
                targets,
                recognizer: if gate == Gate::Neighbour {
                    "case-graph literals (neighbour)"
                } else {
                    "case-graph literals"
                },
                form,
            });
        }
    }
}

/// `s` without trailing white space and invisible characters (zero-width, bidi controls).
fn trim_end_blank(s: &str) -> &str {
    s.trim_end_matches(|c: char| c.is_whitespace() || norm::is_invisible(c))
}

/// The start of a title ("Mr", "Mrs.", "DC") written just before `pos`, if any, and the title in
/// lower case.
fn title_at(src: &str, pos: usize) -> Option<(usize, String)> {
    let head = trim_end_blank(&src[..pos]);
    if !src[head.len()..pos].chars().any(|c| c.is_whitespace()) {
        return None; // no space between
    }
    let head = head.strip_suffix('.').unwrap_or(head);
    // The title's letters, with any invisible characters typed inside it ("M\u{200b}r").
    let wstart = head
        .char_indices()
        .rev()
        .take_while(|&(_, c)| c.is_alphabetic() || norm::is_invisible(c))
        .last()
        .map(|(i, _)| i)
        .unwrap_or(head.len());
    let word: String = head[wstart..].chars().filter(|c| !norm::is_invisible(*c)).collect();
    let lower = word.to_lowercase();
    (words::TITLES.contains(&lower.as_str()) && word.chars().next().is_some_and(|c| c.is_uppercase()))
        .then_some((wstart, lower))
}

/// The length in bytes of a house number ("27", "27a" is not: its letter would join the street)
/// that ends `head` and is not itself the end of a longer word ("B27" is kept whole).
fn joined_number(head: &str) -> usize {
    let digits = head.len() - head.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let before = head[..head.len() - digits].chars().next_back();
    if digits == 0 || before.is_some_and(|c| c.is_alphanumeric()) {
        return 0;
    }
    digits
}

/// Whether two neighbouring characters belong to one word: letters with letters, digits with
/// digits.
fn joined(a: Option<char>, b: Option<char>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a.is_alphabetic() && b.is_alphabetic()) || (a.is_numeric() && b.is_numeric()),
        _ => false,
    }
}

/// For a word that is also an ordinary word: is it used as a name here?
fn used_as_name(src: &str, s: usize, e: usize) -> bool {
    let word = &src[s..e];
    let first = word.chars().next().unwrap_or(' ');
    if !first.is_uppercase() {
        return false;
    }
    let all_caps = word.chars().filter(|c| c.is_alphabetic()).all(|c| c.is_uppercase())
        && word.chars().filter(|c| c.is_alphabetic()).count() > 1;
    // A line break alone does not start a sentence (text wraps); a blank line does.
    let before = &src[..s];
    let paragraph = before.trim_end_matches([' ', '\t']).ends_with("\n\n");
    let head = before.trim_end_matches(|c: char| {
        c.is_whitespace() || norm::is_invisible(c) || matches!(c, '"' | '\'' | '(' | '\u{201c}' | '\u{2018}')
    });
    let sentence_start = head.is_empty() || paragraph || head.ends_with(['.', '!', '?', ':', ';', '-', '\u{2013}']);
    // The whole text is this name (a heading such as "Rose").
    if src.trim() == word {
        return true;
    }
    let tail = src[e..].trim_start_matches(['\'', '\u{2019}']).trim_start_matches('s');
    let next_word: String =
        tail.trim_start().chars().take_while(|c| c.is_alphabetic()).collect::<String>().to_lowercase();
    let list_next = tail.trim_start().starts_with(',') || next_word == "and";
    if all_caps {
        // Upper case is how forms write names, but also how headings shout: a word in capitals is
        // a name unless the words around it are in capitals too.
        let prev_word: String = head.chars().rev().take_while(|c| c.is_alphabetic()).collect();
        let next_raw: String = tail.trim_start().chars().take_while(|c| c.is_alphabetic()).collect();
        let shouting = |w: &str| w.chars().count() > 1 && w.chars().all(|c| c.is_uppercase());
        return !(shouting(&prev_word) || shouting(&next_raw)) || words::PERSON_VERBS.contains(&next_word.as_str());
    }
    if !sentence_start {
        return true;
    }
    words::PERSON_VERBS.contains(&next_word.as_str()) || list_next || src[e..].starts_with(['\'', '\u{2019}'])
}

/// Shaped identifiers: phones, emails, NHS and NI numbers, UPNs, postcodes; each looked up in the
/// case graph in canonical form (any spacing), else reported as an unknown third party's.
struct Shaped {
    re: Regex,
    phones: HashMap<String, Vec<Target>>,
    emails: HashMap<String, Vec<Target>>,
    ids: HashMap<String, Vec<(Target, String)>>,
    postcodes: HashMap<String, Vec<Target>>,
}

impl Shaped {
    fn build(f: &Family) -> Shaped {
        let mut phones: HashMap<String, Vec<Target>> = HashMap::new();
        let mut emails: HashMap<String, Vec<Target>> = HashMap::new();
        let mut ids: HashMap<String, Vec<(Target, String)>> = HashMap::new();
        let mut postcodes: HashMap<String, Vec<Target>> = HashMap::new();
        let mut contact = |cp: &ContactPoint, t: &Target| {
            if cp.kind == "email" {
                emails.entry(norm::pattern(&cp.value)).or_default().push(t.clone());
            } else if let Some(p) = ident::phone_national(&cp.value) {
                phones.entry(p).or_default().push(t.clone());
            }
        };
        for p in &f.persons {
            let t = Target::Person(p.id.clone());
            for cp in &p.contact_points {
                contact(cp, &t);
            }
            for idf in &p.identifiers {
                ids.entry(ident::canonical(&idf.value)).or_default().push((t.clone(), idf.system.clone()));
            }
        }
        for p in &f.professionals {
            let t = Target::Professional(p.id.clone());
            for cp in &p.contact_points {
                contact(cp, &t);
            }
        }
        for a in &f.addresses {
            if let Some(pc) = a.postcode.as_deref().and_then(ident::postcode_canonical) {
                postcodes.entry(pc).or_default().push(Target::Address(a.id.clone()));
            }
        }
        let re = Regex::new(concat!(
            r"(?P<email>[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})",
            r"|(?P<phone>(?:(?:\+|(?-u:\b)00) ?44 ?(?:\(0\) ?)?|\(?(?-u:\b)0)[0-9](?:[ )-]{0,2}[0-9]){8,9}(?-u:\b))",
            r"|(?P<nhs>(?-u:\b)[0-9](?:[ -]?[0-9]){9}(?-u:\b))",
            r"|(?P<ni>(?-u:\b)[a-z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[a-d](?-u:\b))",
            r"|(?P<upn>(?-u:\b)[a-z][0-9]{11}[a-z0-9](?-u:\b))",
            r"|(?P<postcode>(?-u:\b)[a-z]{1,2}[0-9][a-z[0-9]]? ?[0-9][a-z]{2}(?-u:\b))",
        ))
        .expect("identifier regex compiles");
        Shaped { re, phones, emails, ids, postcodes }
    }
}

impl Recognizer for Shaped {
    fn name(&self) -> &'static str {
        "identifier patterns"
    }

    fn find(&self, src: &str, n: &Normalized, _ctx: &Context, out: &mut Vec<Finding>) {
        for c in self.re.captures_iter(&n.text) {
            let m = c.get(0).expect("group 0");
            let (os, oe) = n.original(m.start(), m.end(), src);
            let raw = m.as_str();
            let spaced = if raw.contains(' ') || raw.contains('-') { "spaced" } else { "unspaced" };
            let mut push = |kind: Kind, targets: Vec<Target>, form: String| {
                out.push(Finding { span: Span::new(os, oe), kind, targets, recognizer: "identifier patterns", form });
            };
            if c.name("email").is_some() {
                let t = self.emails.get(raw).cloned().unwrap_or_else(|| vec![Target::Unknown]);
                push(Kind::Email, t, "email address".into());
            } else if c.name("phone").is_some() || c.name("nhs").is_some() {
                let digits = ident::canonical(raw);
                if let Some(t) = ident::phone_national(raw).and_then(|p| self.phones.get(&p)) {
                    push(Kind::Phone, t.clone(), format!("phone number, {spaced}"));
                } else if let Some(v) = self.ids.get(&digits) {
                    let sys = v[0].1.clone();
                    push(
                        Kind::Identifier(sys.clone()),
                        v.iter().map(|x| x.0.clone()).collect(),
                        format!("{sys}, {spaced}"),
                    );
                } else if raw.starts_with('+') || raw.starts_with('0') {
                    if ident::phone_national(raw).is_some() {
                        push(
                            Kind::Phone,
                            vec![Target::Unknown],
                            format!("UK phone number not in the case graph, {spaced}"),
                        );
                    }
                } else if ident::nhs_valid(&digits) {
                    push(
                        Kind::Identifier("nhs_number".into()),
                        vec![Target::Unknown],
                        "NHS number (modulus 11) not in the case graph".into(),
                    );
                }
            } else if c.name("ni").is_some() || c.name("upn").is_some() {
                let canon = ident::canonical(raw);
                if let Some(v) = self.ids.get(&canon) {
                    let sys = v[0].1.clone();
                    push(
                        Kind::Identifier(sys.clone()),
                        v.iter().map(|x| x.0.clone()).collect(),
                        format!("{sys}, {spaced}"),
                    );
                } else if c.name("ni").is_some() && ident::ni_valid(&canon) {
                    push(
                        Kind::Identifier("ni_number".into()),
                        vec![Target::Unknown],
                        "NI number not in the case graph".into(),
                    );
                } else if c.name("upn").is_some() && ident::upn_valid(&canon) {
                    push(Kind::Identifier("upn".into()), vec![Target::Unknown], "UPN not in the case graph".into());
                }
            } else if c.name("postcode").is_some() {
                // Postcodes are written in capitals; a lower-case lookalike is only taken if known.
                let orig = &src[os..oe];
                let canon = ident::canonical(raw);
                if let Some(t) = self.postcodes.get(&canon) {
                    push(Kind::Postcode, t.clone(), format!("postcode, {spaced}"));
                } else if orig.chars().filter(|c| c.is_alphabetic()).all(|c| c.is_uppercase()) {
                    push(Kind::Postcode, vec![Target::Unknown], "postcode not in the case graph".into());
                }
            }
        }
    }
}

/// Relationship words ("Mum", "her brother", "Nanna"), resolved to people relative to the
/// children the text is about.
struct Relations {
    re: Regex,
    /// For each child: (kin, sex) -> persons.
    table: HashMap<PersonId, Vec<(Kin, Option<String>, PersonId)>>,
}

impl Relations {
    fn build(f: &Family) -> Relations {
        let mut table: HashMap<PersonId, Vec<(Kin, Option<String>, PersonId)>> = HashMap::new();
        let kinship = Kinship::new(f);
        // Candidates in the family's order, as listed in the export.
        let order: HashMap<&PersonId, usize> = f.persons.iter().enumerate().map(|(i, p)| (&p.id, i)).collect();
        for c in f.persons.iter() {
            let mut v: Vec<(usize, Kin, Option<String>, PersonId)> = Vec::new();
            for (p, role) in kinship.related(&c.id) {
                if let (Role::Family { kin, .. }, Some(&i)) = (role, order.get(p)) {
                    v.push((i, kin, f.persons[i].sex.clone(), p.clone()));
                }
            }
            v.sort_by_key(|x| x.0);
            table.insert(c.id.clone(), v.into_iter().map(|x| (x.1, x.2, x.3)).collect());
        }
        let re = Regex::new(
            r"(?-u:\b)(?:mum|mummy|mother|mom|mam|mammy|dad|daddy|father|step-?dad|step-?father|step-?mum|step-?mother|nan|nana|nanna|nanny|gran|granny|grandma|grandmother|grandad|granddad|grandpa|grandfather|brother|sister|half-brother|half-sister|step-?brother|step-?sister|aunt|auntie|aunty|uncle|cousin)(?-u:\b)",
        )
        .expect("relationship regex compiles");
        Relations { re, table }
    }

    fn resolve(&self, word: &str, ctx: &Context) -> Vec<Target> {
        let w = word.replace('-', "");
        let (kin, sex): (Kin, Option<&str>) = match w.as_str() {
            "mum" | "mummy" | "mother" | "mom" | "mam" | "mammy" => (Kin::Parent, Some("F")),
            "dad" | "daddy" | "father" => (Kin::Parent, Some("M")),
            "stepdad" | "stepfather" => (Kin::StepParent, Some("M")),
            "stepmum" | "stepmother" => (Kin::StepParent, Some("F")),
            "nan" | "nana" | "nanna" | "nanny" | "gran" | "granny" | "grandma" | "grandmother" => {
                (Kin::Grandparent, Some("F"))
            }
            "grandad" | "granddad" | "grandpa" | "grandfather" => (Kin::Grandparent, Some("M")),
            "brother" | "halfbrother" | "stepbrother" => (Kin::Sibling, Some("M")),
            "sister" | "halfsister" | "stepsister" => (Kin::Sibling, Some("F")),
            "aunt" | "auntie" | "aunty" => (Kin::AuntUncle, Some("F")),
            "uncle" => (Kin::AuntUncle, Some("M")),
            "cousin" => (Kin::Cousin, None),
            _ => return Vec::new(),
        };
        let mut out: Vec<Target> = Vec::new();
        for c in &ctx.children {
            for (k, s, p) in self.table.get(c).map(|v| v.as_slice()).unwrap_or(&[]) {
                let sex_ok = match (sex, s.as_deref()) {
                    (Some(want), Some(have)) => want == have || have == "U",
                    _ => true,
                };
                if *k == kin && sex_ok && !ctx.children.contains(p) {
                    let t = Target::Person(p.clone());
                    if !out.contains(&t) {
                        out.push(t);
                    }
                }
            }
        }
        // A grandmother word when the child has only one grandparent recorded, etc.: fine as is;
        // several candidates stay several (the policy treats them all).
        out
    }
}

impl Recognizer for Relations {
    fn name(&self) -> &'static str {
        "relationship words"
    }

    fn find(&self, src: &str, n: &Normalized, ctx: &Context, out: &mut Vec<Finding>) {
        for m in self.re.find_iter(&n.text) {
            let targets = self.resolve(m.as_str(), ctx);
            if targets.is_empty() {
                continue;
            }
            let (os, oe) = n.original(m.start(), m.end(), src);
            out.push(Finding {
                span: Span::new(os, oe),
                kind: Kind::Relationship,
                targets,
                recognizer: "relationship words",
                form: "relationship word".into(),
            });
        }
    }
}

/// The detector: every recognizer, built once per family and shared across texts and threads.
pub struct Detector {
    recognizers: Vec<Box<dyn Recognizer>>,
}

impl Detector {
    /// Build all recognizers from the case graph.
    pub fn new(f: &Family) -> Detector {
        Detector {
            recognizers: vec![Box::new(Literals::build(f)), Box::new(Shaped::build(f)), Box::new(Relations::build(f))],
        }
    }

    /// Every finding in `text`, sorted, overlaps settled, address parts joined.
    pub fn find(&self, text: &str, ctx: &Context) -> Vec<Finding> {
        let n = Normalized::new(text);
        let mut all = Vec::new();
        for r in &self.recognizers {
            r.find(text, &n, ctx, &mut all);
        }
        settle(text, all)
    }
}

/// Resolve overlaps (the longer finding wins; equal spans merge their candidates; a finding from
/// the case graph beats an unknown one), join adjacent parts of one address, and drop
/// neighbour-only parts ("Flat 3") that stand alone. A town that joins nothing stays a
/// `Kind::Town` finding: a joined one becomes part of an `AddressLine`.
fn settle(text: &str, mut v: Vec<Finding>) -> Vec<Finding> {
    v.sort_by(|a, b| a.span.start().cmp(&b.span.start()).then(b.span.len().cmp(&a.span.len())));
    let mut out: Vec<Finding> = Vec::new();
    for f in v {
        if let Some(last) = out.last_mut() {
            if last.span.overlaps(&f.span) {
                if last.span == f.span {
                    if last.targets == vec![Target::Unknown] && f.targets != vec![Target::Unknown] {
                        *last = f;
                    } else if f.kind == last.kind {
                        for t in f.targets {
                            if !last.targets.contains(&t) {
                                last.targets.push(t);
                            }
                        }
                    } else if last.kind == Kind::Relationship {
                        *last = f;
                    }
                } else if f.span.len() > last.span.len() {
                    *last = f;
                }
                continue;
            }
        }
        out.push(f);
    }
    // Join parts of one address separated only by spaces and commas.
    let mut joined: Vec<Finding> = Vec::new();
    for f in out {
        if let Some(last) = joined.last_mut() {
            let gap = &text[last.span.end()..f.span.start()];
            // Parts of one address: their candidate addresses intersect (a town or a street may
            // be shared by several addresses; the joined part belongs to the common ones).
            let common: Vec<Target> = addresses(last).into_iter().filter(|t| addresses(&f).contains(t)).collect();
            if !common.is_empty() && gap.chars().all(|c| c == ',' || c.is_whitespace()) && gap.len() <= 4 {
                last.targets = common;
                last.span = last.span.union(&f.span);
                if last.kind == Kind::Town || f.kind == Kind::AddressLine {
                    last.kind = Kind::AddressLine;
                }
                last.recognizer = "case-graph literals";
                last.form = "address".into();
                continue;
            }
        }
        joined.push(f);
    }
    joined.retain(|f| f.recognizer != "case-graph literals (neighbour)");
    joined
}

/// The address candidates of a finding (empty for findings about anything else).
fn addresses(f: &Finding) -> Vec<Target> {
    f.targets.iter().filter(|t| matches!(t, Target::Address(_))).cloned().collect()
}

#[cfg(test)]
mod tests;
