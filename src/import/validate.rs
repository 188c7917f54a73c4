//! The rules of CASE-EXPORT.md section 10 (and the closed vocabularies of sections 3 to 8),
//! checked over a whole export. Every broken rule becomes a `Problem` naming the JSON path and the
//! ids involved; values from the document (names, numbers) are never repeated in a message.

use crate::model::ident;
use crate::model::*;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// One broken rule, at one place in the export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// JSON path with the entity id, e.g. `records[3] (rec-104)`.
    pub at: String,
    /// What is wrong and, where useful, what to do.
    pub rule: String,
}

impl Problem {
    pub fn at(at: impl Into<String>, rule: impl Into<String>) -> Problem {
        Problem { at: at.into(), rule: rule.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.rule)
    }
}

const PERSON_KINDS: &[&str] = &["child", "adult", "unborn"];
const STATUSES: &[&str] = &["draft", "complete", "authorised", "timed_out", "cancelled", "deleted"];
const MEMBER_ROLES: &[&str] = &["subject", "co_subject"];
const REMOVED_REASONS: &[&str] = &["ungrouped", "recorded_in_error", "moved"];
const PARTICIPANT_ROLES: &[&str] =
    &["author", "chair", "attendee", "minute_taker", "present", "informant", "recipient"];
const LINK_TYPES: &[&str] = &[
    "follows",
    "outcome_of",
    "part_of_plan",
    "split_from",
    "appends",
    "amends",
    "supersedes",
    "copied_from",
    "refers_to",
    "minutes_of",
    "chronology_source",
];
const NAME_USES: &[&str] = &["official", "usual", "nickname", "maiden", "old", "alias", "anonymous", "temp"];
const CONTACT_TYPES: &[&str] = &["mobile", "landline", "work_phone", "email"];
const RESIDENCE_USES: &[&str] =
    &["home", "placement", "refuge", "temporary", "previous", "correspondence", "bail", "other"];
const FLAGS: &[&str] = crate::model::SENSITIVITY_FLAGS;
const AUDIENCES: &[&str] = &["all", "professionals_only"];
const DIRECTIONS: &[&str] = &["incoming", "outgoing", "internal"];

struct Ids<'a> {
    persons: HashSet<&'a str>,
    pros: HashSet<&'a str>,
    orgs: HashSet<&'a str>,
    addrs: HashSet<&'a str>,
    recs: HashSet<&'a str>,
    atts: HashSet<&'a str>,
    groups: HashSet<&'a str>,
}

/// Check every rule; return all problems found (empty when valid).
pub fn validate(e: &Export) -> Vec<Problem> {
    let mut p = Vec::new();
    let ids = Ids {
        persons: e.persons.iter().map(|x| x.id.as_str()).collect(),
        pros: e.professionals.iter().map(|x| x.id.as_str()).collect(),
        orgs: e.organisations.iter().map(|x| x.id.as_str()).collect(),
        addrs: e.addresses.iter().map(|x| x.id.as_str()).collect(),
        recs: e.records.iter().map(|x| x.id.as_str()).collect(),
        atts: e.attachments.iter().map(|x| x.id.as_str()).collect(),
        groups: e.groups.iter().map(|x| x.id.as_str()).collect(),
    };
    unique_ids(e, &mut p);
    if !is_valid_id(e.export.id.as_str()) {
        p.push(Problem::at("export.id", "id must match ^[a-z0-9][a-z0-9._-]{0,63}$"));
    }
    instant(&e.export.exported_at, "export.exported_at", &mut p);
    if let Some(sc) = &e.export.scope {
        for (k, v) in [("from", &sc.from), ("to", &sc.to)] {
            if let Some(d) = v {
                if Date::parse(d).is_none() {
                    p.push(Problem::at(format!("export.scope.{k}"), "not an ISO 8601 date (YYYY-MM-DD)"));
                }
            }
        }
    }
    for (i, o) in e.organisations.iter().enumerate() {
        let at = here("organisations", i, o.id.as_str());
        if let Some(a) = &o.address {
            refer(&ids.addrs, a.as_str(), "address", "address", &at, &mut p);
        }
        sens(&o.sensitivity, &ids, &at, &mut p);
    }
    for (i, x) in e.professionals.iter().enumerate() {
        let at = here("professionals", i, x.id.as_str());
        refer(&ids.orgs, x.organisation.as_str(), "organisation", "organisation", &at, &mut p);
        contacts(&x.contact_points, &at, &mut p);
        sens(&x.sensitivity, &ids, &at, &mut p);
    }
    for (i, a) in e.addresses.iter().enumerate() {
        let at = here("addresses", i, a.id.as_str());
        sens(&a.sensitivity, &ids, &at, &mut p);
        if let Some(pc) = &a.postcode {
            if ident::postcode_canonical(pc).is_none() {
                p.push(Problem::at(&at, "postcode is not shaped like a UK postcode"));
            }
        }
    }
    for (i, x) in e.persons.iter().enumerate() {
        person(i, x, &ids, &mut p);
    }
    for (i, r) in e.relationships.iter().enumerate() {
        let at = here("relationships", i, r.id.as_str());
        refer(&ids.persons, r.person.as_str(), "person", "person", &at, &mut p);
        refer(&ids.persons, r.related.as_str(), "related", "person", &at, &mut p);
        if r.person == r.related {
            p.push(Problem::at(&at, "person and related are the same person"));
        }
        if r.kind.trim().is_empty() {
            p.push(Problem::at(&at, "type is empty; use an HL7 RoleCode or an x- local code"));
        }
        period(r.period.as_ref(), &format!("{at}.period"), &mut p);
        sens(&r.sensitivity, &ids, &at, &mut p);
    }
    for (i, g) in e.groups.iter().enumerate() {
        let at = here("groups", i, g.id.as_str());
        for (j, m) in g.members.iter().enumerate() {
            refer(&ids.persons, m.person.as_str(), &format!("members[{j}].person"), "person", &at, &mut p);
            period(m.period.as_ref(), &format!("{at}.members[{j}].period"), &mut p);
        }
    }
    for (i, v) in e.involvements.iter().enumerate() {
        let at = format!("involvements[{i}]");
        refer(&ids.pros, v.professional.as_str(), "professional", "professional", &at, &mut p);
        for (j, pp) in v.persons.iter().enumerate() {
            refer(&ids.persons, pp.as_str(), &format!("persons[{j}]"), "person", &at, &mut p);
        }
        period(v.period.as_ref(), &format!("{at}.period"), &mut p);
    }
    for (i, ep) in e.episodes.iter().enumerate() {
        let at = here("episodes", i, ep.id.as_str());
        refer(&ids.persons, ep.person.as_str(), "person", "person", &at, &mut p);
        period(ep.period.as_ref(), &format!("{at}.period"), &mut p);
    }
    let rec_by_id: HashMap<&str, &Record> = e.records.iter().map(|r| (r.id.as_str(), r)).collect();
    for (i, r) in e.records.iter().enumerate() {
        record(i, r, &ids, &rec_by_id, &mut p);
    }
    let att_records: HashMap<&str, Vec<&str>> = e.records.iter().fold(HashMap::new(), |mut m, r| {
        for a in &r.attachments {
            m.entry(a.as_str()).or_default().push(r.id.as_str());
        }
        m
    });
    for (i, a) in e.attachments.iter().enumerate() {
        let at = here("attachments", i, a.id.as_str());
        if a.media_type != "application/pdf" {
            p.push(Problem::at(&at, "media_type must be application/pdf"));
        }
        if let Some(r) = &a.record {
            refer(&ids.recs, r.as_str(), "record", "record", &at, &mut p);
            if let Some(lists) = att_records.get(a.id.as_str()) {
                if !lists.contains(&r.as_str()) {
                    p.push(Problem::at(
                        &at,
                        format!(
                            "record is {} but it is listed in the attachments of {}",
                            safe_id(r.as_str()),
                            lists.iter().map(|x| safe_id(x)).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
        }
        for (j, f) in a.on_files.iter().enumerate() {
            refer(&ids.persons, f.as_str(), &format!("on_files[{j}]"), "person", &at, &mut p);
        }
        if let Some(au) = &a.author {
            match (&au.organisation, &au.professional) {
                (Some(o), None) => refer(&ids.orgs, o.as_str(), "author.organisation", "organisation", &at, &mut p),
                (None, Some(x)) => refer(&ids.pros, x.as_str(), "author.professional", "professional", &at, &mut p),
                _ => p.push(Problem::at(&at, "author must name exactly one of organisation or professional")),
            }
        }
        if let Some(d) = &a.document_date {
            if Date::parse(d).is_none() {
                p.push(Problem::at(&at, "document_date is not an ISO 8601 date"));
            }
        }
        if let Some(d) = &a.direction {
            one_of(d, DIRECTIONS, "direction", &at, &mut p);
        }
        if let Some(h) = &a.sha256 {
            if h.len() != 64 || !h.bytes().all(|c| c.is_ascii_hexdigit()) {
                p.push(Problem::at(&at, "sha256 must be 64 hex digits"));
            }
        }
        sens(&a.sensitivity, &ids, &at, &mut p);
    }
    p
}

fn unique_ids(e: &Export, p: &mut Vec<Problem>) {
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut check = |id: &str, at: String, p: &mut Vec<Problem>| {
        if !is_valid_id(id) {
            p.push(Problem::at(&at, "id must match ^[a-z0-9][a-z0-9._-]{0,63}$"));
        }
        if let Some(first) = seen.get(id) {
            p.push(Problem::at(
                &at,
                format!("id {} is already used at {first}; ids are unique across the export", safe_id(id)),
            ));
        } else {
            seen.insert(id.to_string(), at);
        }
    };
    for (i, x) in e.organisations.iter().enumerate() {
        check(x.id.as_str(), format!("organisations[{i}]"), p);
    }
    for (i, x) in e.professionals.iter().enumerate() {
        check(x.id.as_str(), format!("professionals[{i}]"), p);
    }
    for (i, x) in e.addresses.iter().enumerate() {
        check(x.id.as_str(), format!("addresses[{i}]"), p);
    }
    for (i, x) in e.persons.iter().enumerate() {
        check(x.id.as_str(), format!("persons[{i}]"), p);
    }
    for (i, x) in e.relationships.iter().enumerate() {
        check(x.id.as_str(), format!("relationships[{i}]"), p);
    }
    for (i, x) in e.groups.iter().enumerate() {
        check(x.id.as_str(), format!("groups[{i}]"), p);
    }
    for (i, x) in e.episodes.iter().enumerate() {
        check(x.id.as_str(), format!("episodes[{i}]"), p);
    }
    for (i, x) in e.records.iter().enumerate() {
        check(x.id.as_str(), format!("records[{i}]"), p);
        for (j, a) in x.appendments.iter().enumerate() {
            check(a.id.as_str(), format!("records[{i}].appendments[{j}]"), p);
        }
    }
    for (i, x) in e.attachments.iter().enumerate() {
        check(x.id.as_str(), format!("attachments[{i}]"), p);
    }
}

fn refer(set: &HashSet<&str>, id: &str, field: &str, kind: &str, at: &str, p: &mut Vec<Problem>) {
    if !set.contains(id) {
        p.push(Problem::at(at, format!("{field} refers to {kind} {}, which is not in the export", safe_id(id))));
    }
}

/// `records[3] (rec-104)`: the JSON path of an entity with its id, the id left out when it is not
/// shaped like an id (it may then be data: a name typed into the id field). Every message about
/// the entity starts with this, so a malformed id is never repeated.
pub(crate) fn here(kind: &str, i: usize, id: &str) -> String {
    if is_valid_id(id) {
        format!("{kind}[{i}] ({id})")
    } else {
        format!("{kind}[{i}]")
    }
}

/// An id that does not resolve is shown only if it is shaped like an id (else it may be data).
fn safe_id(id: &str) -> String {
    if is_valid_id(id) {
        id.to_string()
    } else {
        "(a malformed id)".into()
    }
}

fn one_of(v: &str, allowed: &[&str], field: &str, at: &str, p: &mut Vec<Problem>) {
    if !allowed.contains(&v) {
        p.push(Problem::at(at, format!("{field} must be one of {}", allowed.join(", "))));
    }
}

fn instant(v: &Instant, at: &str, p: &mut Vec<Problem>) {
    if v.utc_seconds().is_none() {
        p.push(Problem::at(at, "not an ISO 8601 date or date-time"));
    }
}

fn period(v: Option<&Period>, at: &str, p: &mut Vec<Problem>) {
    let Some(v) = v else { return };
    let from = v.from.as_deref().map(|s| (s, Instant(s.to_string()).utc_seconds()));
    let to = v.to.as_deref().map(|s| (s, Instant(s.to_string()).utc_seconds()));
    for (k, x) in [("from", from), ("to", to)] {
        if let Some((_, None)) = x {
            p.push(Problem::at(format!("{at}.{k}"), "not an ISO 8601 date"));
        }
    }
    if let (Some((_, Some(a))), Some((_, Some(b)))) = (from, to) {
        if a > b {
            p.push(Problem::at(at, "period.from is after period.to"));
        }
    }
}

fn sens(v: &[Sensitivity], ids: &Ids<'_>, at: &str, p: &mut Vec<Problem>) {
    for (j, s) in v.iter().enumerate() {
        let here = format!("{at}.sensitivity[{j}]");
        if !FLAGS.contains(&s.flag.as_str()) {
            p.push(Problem::at(&here, "flag is not in the vocabulary of CASE-EXPORT.md section 9"));
        }
        if let Some(sub) = &s.subject {
            refer(&ids.persons, sub.as_str(), "subject", "person", &here, p);
        }
        if let Some(src) = &s.source {
            if !ids.orgs.contains(src.as_str()) && !ids.pros.contains(src.as_str()) {
                p.push(Problem::at(
                    &here,
                    format!(
                        "source refers to {}, which is no organisation or professional in the export",
                        safe_id(src)
                    ),
                ));
            }
        }
        if let Some(b) = &s.set_by {
            refer(&ids.pros, b.as_str(), "set_by", "professional", &here, p);
        }
        if let Some(d) = &s.set_on {
            if Instant(d.clone()).utc_seconds().is_none() {
                p.push(Problem::at(&here, "set_on is not an ISO 8601 date"));
            }
        }
    }
}

fn contacts(v: &[ContactPoint], at: &str, p: &mut Vec<Problem>) {
    for (j, c) in v.iter().enumerate() {
        let here = format!("{at}.contact_points[{j}]");
        one_of(&c.kind, CONTACT_TYPES, "type", &here, p);
        period(c.period.as_ref(), &format!("{here}.period"), p);
        match c.kind.as_str() {
            "email" if !c.value.contains('@') => p.push(Problem::at(&here, "email value has no @")),
            "mobile" | "landline" | "work_phone" if ident::phone_national(&c.value).is_none() => {
                p.push(Problem::at(&here, "phone value is not a UK phone number"))
            }
            _ => {}
        }
    }
}

fn person(i: usize, x: &Person, ids: &Ids<'_>, p: &mut Vec<Problem>) {
    let at = here("persons", i, x.id.as_str());
    one_of(&x.kind, PERSON_KINDS, "kind", &at, p);
    if x.names.is_empty() && x.kind != "unborn" {
        p.push(Problem::at(&at, "a person needs at least one name"));
    }
    for (j, n) in x.names.iter().enumerate() {
        one_of(&n.name_use, NAME_USES, &format!("names[{j}].use"), &at, p);
        if n.given.is_empty() && n.family.is_none() {
            p.push(Problem::at(format!("{at}.names[{j}]"), "a name needs a given or a family part"));
        }
        period(n.period.as_ref(), &format!("{at}.names[{j}].period"), p);
    }
    if let Some(d) = &x.date_of_birth {
        if Date::parse(&d.date).is_none() {
            p.push(Problem::at(format!("{at}.date_of_birth"), "date is not an ISO 8601 date"));
        }
    }
    if let Some(s) = &x.sex {
        one_of(s, &["F", "M", "U"], "sex", &at, p);
    }
    for (j, idf) in x.identifiers.iter().enumerate() {
        let here = format!("{at}.identifiers[{j}]");
        let ok = match idf.system.as_str() {
            "nhs_number" => ident::nhs_valid(&idf.value),
            "upn" | "former_upn" => ident::upn_valid(&idf.value),
            "ni_number" => ident::ni_valid(&idf.value),
            "upn_unknown" => matches!(idf.value.as_str(), "UN1" | "UN2" | "UN3" | "UN4" | "UN5"),
            _ => !idf.value.trim().is_empty(),
        };
        if !ok {
            let what = match idf.system.as_str() {
                "nhs_number" => "nhs_number fails the modulus 11 check",
                "upn" | "former_upn" => "upn fails its check letter (13 characters, DfE modulus 23)",
                "ni_number" => "ni_number does not match the NI number pattern (AA123456A)",
                "upn_unknown" => "upn_unknown must be one of UN1 to UN5",
                _ => "identifier value is empty",
            };
            p.push(Problem::at(&here, what));
        }
        period(idf.period.as_ref(), &format!("{here}.period"), p);
    }
    for (j, r) in x.residences.iter().enumerate() {
        let here = format!("{at}.residences[{j}]");
        refer(&ids.addrs, r.address.as_str(), "address", "address", &here, p);
        one_of(&r.res_use, RESIDENCE_USES, "use", &here, p);
        period(r.period.as_ref(), &format!("{here}.period"), p);
    }
    contacts(&x.contact_points, &at, p);
    for (j, ed) in x.education.iter().enumerate() {
        let here = format!("{at}.education[{j}]");
        refer(&ids.orgs, ed.organisation.as_str(), "organisation", "organisation", &here, p);
        period(ed.period.as_ref(), &format!("{here}.period"), p);
        sens(&ed.sensitivity, ids, &here, p);
    }
    for (j, h) in x.health_providers.iter().enumerate() {
        refer(
            &ids.orgs,
            h.organisation.as_str(),
            "organisation",
            "organisation",
            &format!("{at}.health_providers[{j}]"),
            p,
        );
    }
    for (j, f) in x.flags.iter().enumerate() {
        period(f.period.as_ref(), &format!("{at}.flags[{j}].period"), p);
    }
    sens(&x.sensitivity, ids, &at, p);
}

fn record(i: usize, r: &Record, ids: &Ids<'_>, recs: &HashMap<&str, &Record>, p: &mut Vec<Problem>) {
    let at = here("records", i, r.id.as_str());
    one_of(&r.status, STATUSES, "status", &at, p);
    if r.kind.trim().is_empty() {
        p.push(Problem::at(&at, "type is empty"));
    }
    instant(&r.occurred.start, &format!("{at}.occurred.start"), p);
    if let Some(end) = &r.occurred.end {
        instant(end, &format!("{at}.occurred.end"), p);
        if let (Some(a), Some(b)) = (r.occurred.start.utc_seconds(), end.utc_seconds()) {
            if a > b {
                p.push(Problem::at(&at, "occurred.start is after occurred.end"));
            }
        }
    }
    instant(&r.recorded.at, &format!("{at}.recorded.at"), p);
    refer(&ids.pros, r.recorded.by.as_str(), "recorded.by", "professional", &at, p);
    if let Some(a) = &r.authorised {
        instant(&a.at, &format!("{at}.authorised.at"), p);
        refer(&ids.pros, a.by.as_str(), "authorised.by", "professional", &at, p);
    }
    if let Some(g) = &r.group {
        refer(&ids.groups, g.as_str(), "group", "group", &at, p);
    }
    if r.membership.is_empty() {
        p.push(Problem::at(&at, "membership is empty; a record must sit on at least one file"));
    }
    let mut members = HashSet::new();
    for (j, m) in r.membership.iter().enumerate() {
        let here = format!("{at}.membership[{j}]");
        refer(&ids.persons, m.person.as_str(), "person", "person", &here, p);
        if !members.insert(m.person.as_str()) {
            p.push(Problem::at(&here, format!("person {} is listed twice in membership", safe_id(m.person.as_str()))));
        }
        one_of(&m.role, MEMBER_ROLES, "role", &here, p);
        if let Some(rm) = &m.removed {
            if m.on_file {
                p.push(Problem::at(
                    &here,
                    format!(
                        "member {} is removed but on_file is true; a removed member has on_file false",
                        safe_id(m.person.as_str())
                    ),
                ));
            }
            one_of(&rm.reason, REMOVED_REASONS, "removed.reason", &here, p);
            if let Some(t) = &rm.to_record {
                refer(&ids.recs, t.as_str(), "removed.to_record", "record", &here, p);
            }
            if let Some(b) = &rm.by {
                refer(&ids.pros, b.as_str(), "removed.by", "professional", &here, p);
            }
            if let Some(a) = &rm.at {
                instant(a, &format!("{here}.removed.at"), p);
            }
        }
        if let Some(pc) = &m.participation_code {
            if !matches!(pc.as_str(), "PN0" | "PN1" | "PN2" | "PN3" | "PN4" | "PN5" | "PN6" | "PN7") {
                p.push(Problem::at(&here, "participation_code must be PN0 to PN7"));
            }
        }
    }
    for (j, x) in r.participants.iter().enumerate() {
        let here = format!("{at}.participants[{j}]");
        match (&x.person, &x.professional) {
            (Some(pp), None) => refer(&ids.persons, pp.as_str(), "person", "person", &here, p),
            (None, Some(pro)) => refer(&ids.pros, pro.as_str(), "professional", "professional", &here, p),
            _ => p.push(Problem::at(&here, "a participant names exactly one of person or professional")),
        }
        one_of(&x.role, PARTICIPANT_ROLES, "role", &here, p);
    }
    let mut sec_ids = HashSet::new();
    for (j, s) in r.sections.iter().enumerate() {
        let here = format!("{at}.sections[{j}]");
        if !sec_ids.insert(s.id.as_str()) {
            p.push(Problem::at(&here, format!("section id {} is used twice in this record", safe_id(s.id.as_str()))));
        }
        match &s.scope {
            SectionScope::Named(n) if n != "shared" => {
                p.push(Problem::at(&here, "scope must be \"shared\" or {\"children\": [person ids]}"))
            }
            SectionScope::Children { children } => {
                if children.is_empty() {
                    p.push(Problem::at(&here, "scope.children is empty"));
                }
                for c in children {
                    if !members.contains(c.as_str()) {
                        p.push(Problem::at(
                            &at,
                            format!(
                                "section {} is scoped to {}, who is not a member of the record",
                                safe_id(s.id.as_str()),
                                safe_id(c.as_str())
                            ),
                        ));
                    }
                }
            }
            _ => {}
        }
        if let Some(a) = &s.audience {
            one_of(a, AUDIENCES, "audience", &here, p);
        }
        sens(&s.sensitivity, ids, &here, p);
    }
    for (j, l) in r.links.iter().enumerate() {
        let here = format!("{at}.links[{j}]");
        one_of(&l.kind, LINK_TYPES, "type", &here, p);
        match recs.get(l.target.as_str()) {
            None => refer(&ids.recs, l.target.as_str(), "target", "record", &here, p),
            Some(t) if l.kind == "split_from" => {
                let shared = t.membership.iter().any(|tm| members.contains(tm.person.as_str()));
                if !shared {
                    p.push(Problem::at(
                        &here,
                        format!("split_from target {} shares no member with this record", safe_id(l.target.as_str())),
                    ));
                }
            }
            _ => {}
        }
        if l.target == r.id {
            p.push(Problem::at(&here, "a record cannot link to itself"));
        }
    }
    for (j, t) in r.text_refs.iter().enumerate() {
        let here = format!("{at}.text_refs[{j}]");
        if !sec_ids.contains(t.section.as_str()) {
            p.push(Problem::at(
                &here,
                format!("section {} is not a section of this record", safe_id(t.section.as_str())),
            ));
        } else if let Some(s) = r.sections.iter().find(|s| s.id == t.section) {
            // The phrase must occur in the section (plain bodies only; HTML is checked after conversion).
            let html = s.body_format.as_deref() == Some("html");
            if !html && !s.body.as_deref().unwrap_or("").contains(t.text.as_str()) {
                p.push(Problem::at(
                    &here,
                    format!("text does not occur in the body of section {}", safe_id(t.section.as_str())),
                ));
            }
        }
        if let Some(tg) = &t.target {
            refer(&ids.recs, tg.as_str(), "target", "record", &here, p);
        } else if t.resolved {
            p.push(Problem::at(&here, "resolved is true but no target is given"));
        }
        if let Some(tp) = &t.target_person {
            refer(&ids.persons, tp.as_str(), "target_person", "person", &here, p);
        }
    }
    for (j, a) in r.appendments.iter().enumerate() {
        let here = format!("{at}.appendments[{j}]");
        instant(&a.at, &format!("{here}.at"), p);
        refer(&ids.pros, a.by.as_str(), "by", "professional", &here, p);
    }
    for (j, a) in r.attachments.iter().enumerate() {
        refer(&ids.atts, a.as_str(), &format!("attachments[{j}]"), "attachment", &at, p);
    }
    sens(&r.sensitivity, ids, &at, p);
}
