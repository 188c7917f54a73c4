//! Whether a request fits its policy: who the requester is to the subject, how old the subject is
//! on the request date, and whether the requester carries a marker that refuses them. The rules
//! are data (`[request]` in each policy file); this module only evaluates them against the case
//! graph. It runs before any work, and a refusal names the rule in plain words, with ids only.

use super::config::{Policy, RequesterIs};
use crate::model::*;
use serde::Serialize;

/// Who asked: a person of the family, or (for a court bundle) an organisation in the export.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum Party {
    Person(PersonId),
    Organisation(OrgId),
}

impl Party {
    /// The person, when the requester is a person.
    pub fn person(&self) -> Option<&PersonId> {
        match self {
            Party::Person(p) => Some(p),
            Party::Organisation(_) => None,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Party::Person(p) => p.as_str(),
            Party::Organisation(o) => o.as_str(),
        }
    }
}

impl std::fmt::Display for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request that does not fit its policy. The message names the rule and says what to do; it
/// holds ids only.
#[derive(Debug, thiserror::Error)]
#[error("request refused by policy {policy} ({rule}): {why}; nothing was written")]
pub struct Refusal {
    pub policy: String,
    /// The policy key that refused, e.g. `request.requester = "subject"`.
    pub rule: String,
    pub why: String,
}

/// What the check established, for the plan and the audit trail.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Fit {
    /// Markers of the requester that the officer overrode, with the officer's reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overridden_markers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub override_reason: Option<String>,
}

/// Resolve a requester id to a party of the family: a person, or an organisation where the
/// policy's requester is a party to proceedings.
pub fn party(fam: &Family, policy: &Policy, id: &str) -> Result<Party, Refusal> {
    if fam.person(&PersonId(id.to_string())).is_some() {
        return Ok(Party::Person(PersonId(id.to_string())));
    }
    let org = OrgId(id.to_string());
    if policy.request.requester == RequesterIs::Party && fam.organisation(&org).is_some() {
        return Ok(Party::Organisation(org));
    }
    let shown = if is_valid_id(id) { id } else { "(an id that is not of the export's id form)" };
    Err(Refusal {
        policy: policy.name.clone(),
        rule: format!("request.requester = \"{}\"", policy.request.requester.as_str()),
        why: format!(
            "the requester {shown} is not {} in export {}; pass --requester with an id of this family",
            if policy.request.requester == RequesterIs::Party { "a person or organisation" } else { "a person" },
            fam.header.id
        ),
    })
}

/// Check a request against the policy's `[request]` rule. `override_reason` lets an officer go on
/// despite a marker, where the policy allows it.
pub fn check(
    fam: &Family,
    policy: &Policy,
    subject: &PersonId,
    requester: &Party,
    date: &str,
    override_reason: Option<&str>,
) -> Result<Fit, Refusal> {
    let rule = &policy.request;
    let refuse = |key: &str, why: String| Refusal { policy: policy.name.clone(), rule: key.to_string(), why };
    let req_key = format!("request.requester = \"{}\"", rule.requester.as_str());
    match rule.requester {
        RequesterIs::Subject => {
            if requester.person() != Some(subject) {
                return Err(refuse(
                    &req_key,
                    format!(
                        "under this policy only the subject may ask, and the requester {requester} is not the subject {subject}; a request made for someone else needs the policy that fits who is asking (sar-parent for a parent with parental responsibility), and a representative acting with the subject's authority is not supported yet"
                    ),
                ));
            }
        }
        RequesterIs::ParentalResponsibility => {
            let Some(p) = requester.person() else {
                return Err(refuse(&req_key, format!("the requester {requester} is not a person")));
            };
            if p == subject {
                return Err(refuse(
                    &req_key,
                    format!(
                        "the requester {p} is the subject; a subject asking for their own file is a sar-self request"
                    ),
                ));
            }
            if !holds_pr(fam, subject, p, date) {
                return Err(refuse(
                    &req_key,
                    format!(
                        "the requester {p} holds no parental responsibility for {subject} on {date} by any relationship in the store; check the requester id, or record the relationship with parental_responsibility: true in the case system and import the export again"
                    ),
                ));
            }
        }
        RequesterIs::Party => {
            if requester.person() == Some(subject) {
                return Err(refuse(
                    &req_key,
                    format!(
                        "the bundle would be served on the child {subject}; name the party it is served on with --requester (a parent, another party or an organisation such as the court or Cafcass)"
                    ),
                ));
            }
        }
    }
    if rule.subject_under.is_some() || rule.subject_at_least.is_some() {
        let age = age_on(fam, subject, date);
        if let Some(limit) = rule.subject_under {
            match age {
                Age::Years(y) if y >= limit => {
                    return Err(refuse(
                        &format!("request.subject_under = {limit}"),
                        format!("the subject {subject} is {y} on {date}; this policy is for a subject under {limit}, who may ask for their own file (sar-self)"),
                    ))
                }
                Age::Unknown => {
                    return Err(refuse(
                        &format!("request.subject_under = {limit}"),
                        format!("the date of birth of {subject} is not recorded, so it cannot be checked that they are under {limit}; record it in the case system and import the export again"),
                    ))
                }
                _ => {}
            }
        }
        if let Some(limit) = rule.subject_at_least {
            match age {
                Age::Years(y) if y >= limit => {}
                Age::Years(y) => {
                    return Err(refuse(
                        &format!("request.subject_at_least = {limit}"),
                        format!(
                            "the subject {subject} is {y} on {date}; this policy is for a subject aged {limit} or over"
                        ),
                    ))
                }
                _ => {
                    return Err(refuse(
                        &format!("request.subject_at_least = {limit}"),
                        format!("the age of {subject} on {date} is not known to be {limit} or over"),
                    ))
                }
            }
        }
    }
    let mut fit = Fit::default();
    if let Some(p) = requester.person().and_then(|p| fam.person(p)) {
        let found: Vec<String> = rule.refuse_markers.iter().filter(|m| has_marker(p, m, date)).cloned().collect();
        if !found.is_empty() {
            let reason = override_reason.map(str::trim).filter(|r| !r.is_empty());
            match reason {
                Some(r) if rule.markers_overridable => {
                    fit.overridden_markers = found;
                    fit.override_reason = Some(r.to_string());
                }
                _ => {
                    let how = if rule.markers_overridable {
                        "an officer who has weighed the risk may go on with --override-reason TEXT, which is recorded in the plan and the audit trail"
                    } else {
                        "this policy allows no override"
                    };
                    return Err(refuse(
                        &format!("request.refuse_markers = {:?}", rule.refuse_markers),
                        format!("the requester {} is recorded with {}; {how}", p.id, found.join(", ")),
                    ));
                }
            }
        }
    }
    Ok(fit)
}

/// Whether `parent` holds parental responsibility for `child` on `date`, by a relationship in
/// either direction with `parental_responsibility: true` whose period covers the date.
pub fn holds_pr(fam: &Family, child: &PersonId, parent: &PersonId, date: &str) -> bool {
    fam.relationships.iter().any(|r| {
        r.parental_responsibility == Some(true)
            && ((&r.person == child && &r.related == parent) || (&r.person == parent && &r.related == child))
            && covers(r.period.as_ref(), date)
    })
}

fn covers(p: Option<&Period>, date: &str) -> bool {
    let Some(p) = p else { return true };
    let day = |s: &str| s.get(0..10).unwrap_or(s).to_string();
    p.from.as_deref().is_none_or(|f| day(f).as_str() <= date) && p.to.as_deref().is_none_or(|t| day(t).as_str() >= date)
}

fn has_marker(p: &Person, marker: &str, date: &str) -> bool {
    p.roles.iter().any(|r| r == marker) || p.flags.iter().any(|f| f.kind == marker && covers(f.period.as_ref(), date))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Age {
    Years(u32),
    /// Not yet born on the date.
    Unborn,
    Unknown,
}

fn age_on(fam: &Family, p: &PersonId, date: &str) -> Age {
    let Some(person) = fam.person(p) else { return Age::Unknown };
    let (Some(on), Some(dob)) =
        (Date::parse(date), person.date_of_birth.as_ref().and_then(|d| Date::parse(d.date.get(0..10).unwrap_or(""))))
    else {
        return if person.kind == "unborn" { Age::Unborn } else { Age::Unknown };
    };
    if (on.year, on.month, on.day) < (dob.year, dob.month, dob.day) {
        return Age::Unborn;
    }
    let mut y = on.year - dob.year;
    if (on.month, on.day) < (dob.month, dob.day) {
        y -= 1;
    }
    Age::Years(y.max(0) as u32)
}
