//! Policy files (TOML) -> a typed, checked `Policy`. Unknown keys, unknown actions and reason
//! codes that are used but not defined are errors that name the key.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Who the disclosure is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    #[serde(rename = "self")]
    SelfSubject,
    ParentWithPr,
    Court,
}

impl Audience {
    pub fn as_str(&self) -> &'static str {
        match self {
            Audience::SelfSubject => "self",
            Audience::ParentWithPr => "parent_with_pr",
            Audience::Court => "court",
        }
    }
}

/// A reason code (DISCLOSURE-RULES.md "Reason codes"): shown on every mark, explained in the
/// schedule. A policy file defines the words and basis of each code it uses; an unknown code is an
/// error when the policy is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, serde::Serialize)]
pub enum Reason {
    CC,
    CONF,
    CRIME,
    LPP,
    PRO,
    REF,
    REV,
    SH,
    SIB,
    TP,
}

impl Reason {
    pub const ALL: [Reason; 10] = [
        Reason::CC,
        Reason::CONF,
        Reason::CRIME,
        Reason::LPP,
        Reason::PRO,
        Reason::REF,
        Reason::REV,
        Reason::SH,
        Reason::SIB,
        Reason::TP,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::CC => "CC",
            Reason::CONF => "CONF",
            Reason::CRIME => "CRIME",
            Reason::LPP => "LPP",
            Reason::PRO => "PRO",
            Reason::REF => "REF",
            Reason::REV => "REV",
            Reason::SH => "SH",
            Reason::SIB => "SIB",
            Reason::TP => "TP",
        }
    }

    /// The code written in text (a CSV cell, a command-line flag), if it is one.
    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.iter().copied().find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A sensitivity flag (CASE-EXPORT.md section 9). The case model keeps the flag as written (the
/// importer accepts only these); policies and rules use this enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    ConfidentialAddress,
    LocationRevealing,
    DoNotDisclose,
    RestrictedRecord,
    ReferrerIdentity,
    ThirdPartySource,
    ThirdPartyConfidential,
    SpecialCategoryHealth,
    CriminalOffence,
    Immigration,
    ChildConfidence,
    WithheldFromFamily,
    SeriousHarm,
    CrimePrevention,
    LegalPrivilege,
    CourtMaterial,
    AdoptionRecord,
}

impl Flag {
    pub const ALL: [Flag; 17] = [
        Flag::ConfidentialAddress,
        Flag::LocationRevealing,
        Flag::DoNotDisclose,
        Flag::RestrictedRecord,
        Flag::ReferrerIdentity,
        Flag::ThirdPartySource,
        Flag::ThirdPartyConfidential,
        Flag::SpecialCategoryHealth,
        Flag::CriminalOffence,
        Flag::Immigration,
        Flag::ChildConfidence,
        Flag::WithheldFromFamily,
        Flag::SeriousHarm,
        Flag::CrimePrevention,
        Flag::LegalPrivilege,
        Flag::CourtMaterial,
        Flag::AdoptionRecord,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Flag::ConfidentialAddress => "confidential_address",
            Flag::LocationRevealing => "location_revealing",
            Flag::DoNotDisclose => "do_not_disclose",
            Flag::RestrictedRecord => "restricted_record",
            Flag::ReferrerIdentity => "referrer_identity",
            Flag::ThirdPartySource => "third_party_source",
            Flag::ThirdPartyConfidential => "third_party_confidential",
            Flag::SpecialCategoryHealth => "special_category_health",
            Flag::CriminalOffence => "criminal_offence",
            Flag::Immigration => "immigration",
            Flag::ChildConfidence => "child_confidence",
            Flag::WithheldFromFamily => "withheld_from_family",
            Flag::SeriousHarm => "serious_harm",
            Flag::CrimePrevention => "crime_prevention",
            Flag::LegalPrivilege => "legal_privilege",
            Flag::CourtMaterial => "court_material",
            Flag::AdoptionRecord => "adoption_record",
        }
    }

    /// The flag of a sensitivity entry as the case model holds it.
    pub fn parse(s: &str) -> Option<Flag> {
        Flag::ALL.iter().copied().find(|f| f.as_str() == s)
    }
}

/// What a rule does with a section, record or attachment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionAction {
    Disclose,
    Withhold,
    Review,
}

/// What a flag does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagAction {
    /// Keep.
    Disclose,
    /// Remove the whole element (section, record, attachment).
    Withhold,
    /// A person must decide; withheld until then.
    Review,
    /// Redact every sentence that mentions the flag's subject.
    RedactSentences,
    /// Keep, and list for consultation with the originator.
    Consult,
    /// Treat addresses, contact details and places in the element as confidential (rule 4).
    Confidential,
    /// Treat the flag's subject as a referrer (rule 5).
    Referrer,
}

/// Keep or redact a detail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanAction {
    Disclose,
    Redact,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonDef {
    pub words: String,
    pub basis: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reasoned {
    pub reason: Reason,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionRule {
    pub action: SectionAction,
    pub reason: Reason,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagRule {
    /// When the flag has no subject (or no more specific key applies).
    pub action: FlagAction,
    /// When the flag's subject is the child whose file this is.
    #[serde(default)]
    pub about_subject: Option<FlagAction>,
    /// When the flag's subject is someone else (a third party).
    #[serde(default)]
    pub third_party: Option<FlagAction>,
    #[serde(default)]
    pub reason: Option<Reason>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfidentialRule {
    pub action: SpanAction,
    pub reason: Reason,
    /// Keep the town of a confidential address when it is the local authority's own town.
    #[serde(default = "yes")]
    pub keep_la_town: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferrerRule {
    pub action: SpanAction,
    pub reason: Reason,
    pub label: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyRule {
    pub names: SpanAction,
    pub details: SpanAction,
    pub reason: Reason,
    pub sibling_reason: Reason,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NonFamilyRule {
    pub names: SpanAction,
    pub details: SpanAction,
    pub reason: Reason,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnRule {
    pub own_details: SpanAction,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProRule {
    pub names: SpanAction,
    pub details: SpanAction,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnknownRule {
    pub action: SpanAction,
    pub reason: Reason,
}

/// Who the requester must be under a policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequesterIs {
    /// The requester is the subject (a representative acting with the subject's authority is not
    /// supported yet, so it is refused).
    Subject,
    /// The requester holds parental responsibility for the subject by a relationship in the store.
    ParentalResponsibility,
    /// A party to proceedings: a person or organisation in the export, named explicitly (the
    /// front sheet says the bundle is served on them), never the child by default.
    Party,
}

impl RequesterIs {
    pub fn as_str(&self) -> &'static str {
        match self {
            RequesterIs::Subject => "subject",
            RequesterIs::ParentalResponsibility => "parental_responsibility",
            RequesterIs::Party => "party",
        }
    }
}

/// `[request]`: who may ask under this policy. Checked before any work; a request that does not
/// fit is refused and nothing is written. A council may tighten these in its own copy.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestRule {
    pub requester: RequesterIs,
    /// The subject must be younger than this many years on the request date.
    #[serde(default)]
    pub subject_under: Option<u32>,
    /// The subject must be at least this many years old on the request date.
    #[serde(default)]
    pub subject_at_least: Option<u32>,
    /// Person flags (`flags[].type`) or roles (`roles[]`) that refuse the requester.
    #[serde(default)]
    pub refuse_markers: Vec<String>,
    /// Whether an officer may go on despite a marker by giving `--override-reason`, which is
    /// recorded in the plan and the audit trail.
    #[serde(default)]
    pub markers_overridable: bool,
}

/// `[review]`: how a disclosure under this policy is reviewed before release.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewRule {
    /// A second officer, who decided none of the marks, signs off before release.
    #[serde(default = "yes")]
    pub second_reviewer: bool,
    /// Release only after review: a one-shot export may not be released unreviewed
    /// (`--release-unreviewed` is refused).
    #[serde(default)]
    pub required: bool,
}

impl Default for ReviewRule {
    fn default() -> Self {
        ReviewRule { second_reviewer: true, required: false }
    }
}

/// Person flag types (CASE-EXPORT.md section 4, `flags[].type`).
pub const PERSON_FLAG_TYPES: &[&str] = &[
    "do_not_disclose",
    "marac_case",
    "protection_order",
    "restricted_record",
    "risk_to_worker",
    "adult_poses_risk_to_children",
    "contact_arrangement",
    "extrafamilial_harm",
];

/// Person roles (CASE-EXPORT.md section 4, `roles[]`).
pub const PERSON_ROLES: &[&str] = &[
    "subject_child",
    "parent",
    "step_parent",
    "carer",
    "kinship_carer",
    "foster_carer",
    "sibling",
    "household_member",
    "significant_other",
    "alleged_perpetrator",
    "referrer",
    "other_third_party",
];

/// A disclosure policy: DISCLOSURE-RULES.md as data.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub name: String,
    pub audience: Audience,
    pub description: String,
    pub label_owner: String,
    pub request: RequestRule,
    #[serde(default)]
    pub review: ReviewRule,
    pub reasons: BTreeMap<Reason, ReasonDef>,
    pub not_on_file: Reasoned,
    pub other_children: SectionRule,
    pub professionals_only: SectionRule,
    pub flags: BTreeMap<Flag, FlagRule>,
    pub scans: SectionRule,
    pub confidential: ConfidentialRule,
    pub referrers: ReferrerRule,
    pub family: FamilyRule,
    pub non_family: NonFamilyRule,
    pub requester: OwnRule,
    pub unknown_identifiers: UnknownRule,
    pub professionals: ProRule,
    pub subject: OwnRule,
    /// SHA-256 of the policy file's bytes (filled on load).
    #[serde(skip)]
    pub sha256: String,
    /// Where it was loaded from (filled on load).
    #[serde(skip)]
    pub source: String,
}

/// Errors loading a policy.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy {0} is neither a shipped policy (sar-self, sar-parent, court) nor a readable file")]
    NotFound(String),
    #[error("policy {path}: {msg}")]
    Invalid { path: String, msg: String },
}

/// The shipped policies, compiled in so the binary works from any folder.
pub const SHIPPED: &[(&str, &str)] = &[
    ("sar-self", include_str!("../../policies/sar-self.toml")),
    ("sar-parent", include_str!("../../policies/sar-parent.toml")),
    ("court", include_str!("../../policies/court.toml")),
];

impl Policy {
    /// Load a shipped policy by name, or a policy file by path.
    pub fn load(name_or_path: &str) -> Result<Policy, PolicyError> {
        if let Some((n, text)) = SHIPPED.iter().find(|(n, _)| *n == name_or_path) {
            return Policy::parse(text, &format!("policies/{n}.toml"));
        }
        let p = PathBuf::from(name_or_path);
        let text = std::fs::read_to_string(&p).map_err(|_| PolicyError::NotFound(name_or_path.to_string()))?;
        Policy::parse(&text, &display(&p))
    }

    /// Parse and check a policy text.
    pub fn parse(text: &str, source: &str) -> Result<Policy, PolicyError> {
        let inv = |msg: String| PolicyError::Invalid { path: source.to_string(), msg };
        let mut p: Policy =
            toml::from_str(text).map_err(|e| inv(e.message().to_string() + &span_note(text, e.span())))?;
        use sha2::Digest;
        p.sha256 = crate::import::hex(&sha2::Sha256::digest(text.as_bytes()));
        p.source = source.to_string();
        let mut used: Vec<(String, Reason)> = vec![
            ("not_on_file.reason".into(), p.not_on_file.reason),
            ("other_children.reason".into(), p.other_children.reason),
            ("professionals_only.reason".into(), p.professionals_only.reason),
            ("scans.reason".into(), p.scans.reason),
            ("confidential.reason".into(), p.confidential.reason),
            ("referrers.reason".into(), p.referrers.reason),
            ("family.reason".into(), p.family.reason),
            ("family.sibling_reason".into(), p.family.sibling_reason),
            ("non_family.reason".into(), p.non_family.reason),
            ("unknown_identifiers.reason".into(), p.unknown_identifiers.reason),
            // Held items and the engine's own checks are marked REV.
            ("reasons.REV".into(), Reason::REV),
        ];
        for (k, f) in &p.flags {
            let acts = [Some(f.action), f.about_subject, f.third_party];
            let needs_reason = acts.iter().flatten().any(|a| !matches!(a, FlagAction::Disclose | FlagAction::Consult));
            match f.reason {
                Some(r) => used.push((format!("flags.{}.reason", k.as_str()), r)),
                None if needs_reason => {
                    return Err(inv(format!(
                        "flags.{}.reason: missing; an action other than disclose or consult needs a reason code",
                        k.as_str()
                    )))
                }
                None => {}
            }
        }
        for (key, code) in used {
            if !p.reasons.contains_key(&code) {
                return Err(inv(format!("{key}: reason code {code} is not defined under [reasons]")));
            }
        }
        for flag in Flag::ALL {
            if !p.flags.contains_key(&flag) {
                return Err(inv(format!(
                    "flags.{}: missing; every flag needs a rule (use action = \"disclose\" to keep)",
                    flag.as_str()
                )));
            }
        }
        for (i, m) in p.request.refuse_markers.iter().enumerate() {
            if !PERSON_FLAG_TYPES.contains(&m.as_str()) && !PERSON_ROLES.contains(&m.as_str()) {
                return Err(inv(format!(
                    "request.refuse_markers[{i}]: {m} is neither a person flag type nor a role of CASE-EXPORT.md section 4"
                )));
            }
        }
        if let (Some(lo), Some(hi)) = (p.request.subject_at_least, p.request.subject_under) {
            if lo >= hi {
                return Err(inv(format!("request.subject_at_least ({lo}) must be below request.subject_under ({hi})")));
            }
        }
        if p.label_owner.trim().is_empty() {
            return Err(inv("label_owner: empty; use \"your\" or \"the child's\"".into()));
        }
        Ok(p)
    }

    /// The plain words of a reason code.
    pub fn words(&self, code: Reason) -> &str {
        self.reasons.get(&code).map(|r| r.words.as_str()).unwrap_or("")
    }

    /// The legal basis of a reason code.
    pub fn basis(&self, code: Reason) -> &str {
        self.reasons.get(&code).map(|r| r.basis.as_str()).unwrap_or("")
    }
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// Where a TOML error is: the line, and the key (`referrers.reason`) when the line holds one.
fn span_note(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(r) = span else { return String::new() };
    let at = r.start.min(text.len());
    let line_no = text[..at].matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("");
    let table = text[..at]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(['[', ']']).trim().to_string());
    if line.trim_start().starts_with('[') {
        return format!(" (line {line_no}, table {})", line.trim());
    }
    let key = line.split_once('=').map(|(k, _)| k.trim().to_string()).filter(|k| !k.is_empty() && !k.starts_with('['));
    match (table, key) {
        (Some(t), Some(k)) => format!(" (line {line_no}, key {t}.{k})"),
        (None, Some(k)) => format!(" (line {line_no}, key {k})"),
        _ => format!(" (line {line_no})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_policies_load() {
        for (n, _) in SHIPPED {
            let p = Policy::load(n).unwrap();
            assert_eq!(&p.name, n);
            assert_eq!(p.sha256.len(), 64);
        }
    }

    #[test]
    fn errors_name_the_key() {
        let base = SHIPPED[0].1;
        let bad = base
            .replace("[flags.legal_privilege]\naction = \"withhold\"", "[flags.legal_privilege]\naction = \"shred\"");
        let e = Policy::parse(&bad, "x.toml").unwrap_err().to_string();
        assert!(e.contains("x.toml") && e.contains("shred") || e.contains("unknown variant"), "{e}");
        let bad = base.replace("[family]\nnames = \"disclose\"", "[family]\nnames = \"disclose\"\ncolour = \"red\"");
        let e = Policy::parse(&bad, "x.toml").unwrap_err().to_string();
        assert!(e.contains("colour"), "{e}");
        let bad = base.replace(
            "[referrers]\naction = \"redact\"\nreason = \"REF\"",
            "[referrers]\naction = \"redact\"\nreason = \"NOPE\"",
        );
        let e = Policy::parse(&bad, "x.toml").unwrap_err().to_string();
        assert!(e.contains("referrers.reason") && e.contains("NOPE"), "{e}");
        let bad = base.replace("[flags.legal_privilege]", "[flags.legal_privileges]");
        let e = Policy::parse(&bad, "x.toml").unwrap_err().to_string();
        assert!(e.contains("flags.legal_privileges"), "{e}");
    }
}
