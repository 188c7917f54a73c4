//! The case model: the entities of a `csc-case-export` 0.1 document as typed Rust values.
//! It owns the shapes only; validation lives in `import`, storage in `store`, and the view of one
//! child's file in `file`. Nothing here touches the disk or the database.

pub mod family;
pub mod ident;
pub mod ids;
pub mod relation;
pub mod text;
pub mod time;

pub use family::Family;
pub use ids::*;
pub use time::{Date, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A whole family export (everything but `test_scenarios`, which the importer ignores).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Export {
    pub format: String,
    pub format_version: String,
    pub export: ExportHeader,
    #[serde(default)]
    pub organisations: Vec<Organisation>,
    #[serde(default)]
    pub professionals: Vec<Professional>,
    #[serde(default)]
    pub addresses: Vec<Address>,
    #[serde(default)]
    pub persons: Vec<Person>,
    #[serde(default)]
    pub relationships: Vec<Relationship>,
    #[serde(default)]
    pub groups: Vec<Group>,
    #[serde(default)]
    pub involvements: Vec<Involvement>,
    #[serde(default)]
    pub episodes: Vec<Episode>,
    #[serde(default)]
    pub records: Vec<Record>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// Test oracles: accepted and ignored on import.
    #[serde(default, skip_serializing)]
    pub test_scenarios: Value,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExportHeader {
    pub id: ExportId,
    pub exported_at: Instant,
    #[serde(default)]
    pub synthetic: bool,
    #[serde(default)]
    pub source_system: Option<SourceSystem>,
    pub local_authority: LocalAuthority,
    #[serde(default)]
    pub scope: Option<Scope>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SourceSystem {
    pub product: String,
    #[serde(default)]
    pub version: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LocalAuthority {
    pub name: String,
    #[serde(default)]
    pub la_code: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Scope {
    #[serde(default)]
    pub focus_persons: Vec<PersonId>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SourceId {
    pub system: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    pub value: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Period {
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

impl Period {
    /// Whether the period is open at its end (current).
    pub fn is_current(&self) -> bool {
        self.to.is_none()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PartialDate {
    pub date: String,
    #[serde(default)]
    pub accuracy: Option<String>,
}

/// A name of a person (`use` tells which kind).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Name {
    #[serde(default = "official")]
    #[serde(rename = "use")]
    pub name_use: String,
    #[serde(default)]
    pub given: Vec<String>,
    #[serde(default)]
    pub family: Option<String>,
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub period: Option<Period>,
}

fn official() -> String {
    "official".into()
}

impl Name {
    /// "Given Family" with the first given name only.
    pub fn short(&self) -> String {
        match (self.given.first(), &self.family) {
            (Some(g), Some(f)) => format!("{g} {f}"),
            (Some(g), None) => g.clone(),
            (None, Some(f)) => f.clone(),
            (None, None) => String::new(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Identifier {
    pub system: String,
    pub value: String,
    #[serde(default)]
    pub period: Option<Period>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ContactPoint {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    #[serde(default, rename = "use")]
    pub cp_use: Option<String>,
    #[serde(default)]
    pub period: Option<Period>,
    #[serde(default)]
    pub confidential: bool,
    #[serde(default)]
    pub sensitivity: Vec<Sensitivity>,
}

/// The sensitivity flag vocabulary of CASE-EXPORT.md section 9 (the importer accepts only these;
/// a policy needs a rule for each).
pub const SENSITIVITY_FLAGS: &[&str] = &[
    "confidential_address",
    "location_revealing",
    "do_not_disclose",
    "restricted_record",
    "referrer_identity",
    "third_party_source",
    "third_party_confidential",
    "special_category_health",
    "criminal_offence",
    "immigration",
    "child_confidence",
    "withheld_from_family",
    "serious_harm",
    "crime_prevention",
    "legal_privilege",
    "court_material",
    "adoption_record",
];

/// A sensitivity flag on the narrowest element it applies to.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sensitivity {
    pub flag: String,
    /// Whose data it is.
    #[serde(default)]
    pub subject: Option<PersonId>,
    /// The originating organisation or professional.
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub basis: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub set_by: Option<ProfessionalId>,
    #[serde(default)]
    pub set_on: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Organisation {
    pub id: OrgId,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub address: Option<AddressId>,
    #[serde(default)]
    pub identifiers: Vec<Identifier>,
    #[serde(default)]
    pub sensitivity: Vec<Sensitivity>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProName {
    #[serde(default)]
    pub given: Vec<String>,
    #[serde(default)]
    pub family: Option<String>,
    #[serde(default)]
    pub prefix: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Professional {
    pub id: ProfessionalId,
    pub name: ProName,
    #[serde(default)]
    pub job_title: Option<String>,
    pub organisation: OrgId,
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub identifiers: Vec<Identifier>,
    #[serde(default)]
    pub contact_points: Vec<ContactPoint>,
    #[serde(default)]
    pub sensitivity: Vec<Sensitivity>,
}

impl Professional {
    /// "Given Family".
    pub fn display_name(&self) -> String {
        let mut parts: Vec<&str> = self.name.given.iter().map(|s| s.as_str()).take(1).collect();
        if let Some(f) = &self.name.family {
            parts.push(f);
        }
        parts.join(" ")
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Address {
    pub id: AddressId,
    #[serde(default)]
    pub lines: Vec<String>,
    #[serde(default)]
    pub town: Option<String>,
    #[serde(default)]
    pub postcode: Option<String>,
    #[serde(default)]
    pub uprn: Option<String>,
    #[serde(default)]
    pub sensitivity: Vec<Sensitivity>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Residence {
    pub address: AddressId,
    #[serde(rename = "use")]
    pub res_use: String,
    #[serde(default)]
    pub period: Option<Period>,
    #[serde(default)]
    pub confidential: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Education {
    pub organisation: OrgId,
    #[serde(default)]
    pub period: Option<Period>,
    #[serde(default)]
    pub sensitivity: Vec<Sensitivity>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HealthProvider {
    pub organisation: OrgId,
    #[serde(default)]
    pub role: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PersonFlag {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub period: Option<Period>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Person {
    pub id: PersonId,
    pub kind: String,
    #[serde(default)]
    pub source_ids: Vec<SourceId>,
    #[serde(default)]
    pub names: Vec<Name>,
    #[serde(default)]
    pub date_of_birth: Option<PartialDate>,
    #[serde(default)]
    pub expected_date_of_birth: Option<Value>,
    #[serde(default)]
    pub date_of_death: Option<Value>,
    #[serde(default)]
    pub sex: Option<String>,
    #[serde(default)]
    pub gender: Option<String>,
    #[serde(default)]
    pub ethnicity: Option<String>,
    #[serde(default)]
    pub identifiers: Vec<Identifier>,
    #[serde(default)]
    pub residences: Vec<Residence>,
    #[serde(default)]
    pub contact_points: Vec<ContactPoint>,
    #[serde(default)]
    pub education: Vec<Education>,
    #[serde(default)]
    pub health_providers: Vec<HealthProvider>,
    #[serde(default)]
    pub disabilities: Vec<String>,
    #[serde(default)]
    pub immigration_status: Vec<Value>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub flags: Vec<PersonFlag>,
    #[serde(default)]
    pub sensitivity: Vec<Sensitivity>,
}

impl Person {
    /// The name to show: the official name, else the first one.
    pub fn display_name(&self) -> String {
        self.names
            .iter()
            .find(|n| n.name_use == "official")
            .or_else(|| self.names.first())
            .map(|n| n.short())
            .unwrap_or_default()
    }

    /// The first given name of the official (or first) name.
    pub fn given_name(&self) -> String {
        self.names
            .iter()
            .find(|n| n.name_use == "official")
            .or_else(|| self.names.first())
            .and_then(|n| n.given.first().cloned())
            .unwrap_or_default()
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.sensitivity.iter().any(|s| s.flag == flag) || self.flags.iter().any(|f| f.kind == flag)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Relationship {
    pub id: RelationshipId,
    /// Reads as "`related` is the `kind` of `person`".
    pub person: PersonId,
    pub related: PersonId,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub parental_responsibility: Option<bool>,
    #[serde(default)]
    pub lives_with: Option<bool>,
    #[serde(default)]
    pub main_carer: Option<bool>,
    #[serde(default)]
    pub period: Option<Period>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub sensitivity: Vec<Sensitivity>,
    /// Set by the importer on an inverse it derived; never in the export itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived_from: Option<RelationshipId>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GroupMember {
    pub person: PersonId,
    #[serde(default)]
    pub period: Option<Period>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Group {
    pub id: GroupId,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub source_ids: Vec<SourceId>,
    #[serde(default)]
    pub members: Vec<GroupMember>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Involvement {
    pub professional: ProfessionalId,
    #[serde(default)]
    pub persons: Vec<PersonId>,
    pub role: String,
    #[serde(default)]
    pub period: Option<Period>,
    #[serde(default)]
    pub team: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Episode {
    pub id: EpisodeId,
    pub person: PersonId,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub period: Option<Period>,
    #[serde(default)]
    pub codes: Option<Value>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Occurred {
    pub start: Instant,
    #[serde(default)]
    pub end: Option<Instant>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Recorded {
    pub at: Instant,
    pub by: ProfessionalId,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SourceForm {
    pub system: String,
    pub name: String,
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Removed {
    #[serde(default)]
    pub at: Option<Instant>,
    #[serde(default)]
    pub by: Option<ProfessionalId>,
    pub reason: String,
    #[serde(default)]
    pub to_record: Option<RecordId>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Member {
    pub person: PersonId,
    pub on_file: bool,
    #[serde(default = "subject_role")]
    pub role: String,
    #[serde(default)]
    pub attendance: Option<String>,
    #[serde(default)]
    pub absence_reason: Option<String>,
    #[serde(default)]
    pub seen: Option<bool>,
    #[serde(default)]
    pub seen_alone: Option<bool>,
    #[serde(default)]
    pub bedroom_seen: Option<bool>,
    #[serde(default)]
    pub participation_code: Option<String>,
    #[serde(default)]
    pub removed: Option<Removed>,
}

fn subject_role() -> String {
    "subject".into()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Participant {
    #[serde(default)]
    pub person: Option<PersonId>,
    #[serde(default)]
    pub professional: Option<ProfessionalId>,
    pub role: String,
    #[serde(default)]
    pub attendance: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// `"shared"` or `{children: [...]}`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum SectionScope {
    Named(String),
    Children { children: Vec<PersonId> },
}

impl SectionScope {
    /// The children a scoped section belongs to; `None` when shared.
    pub fn children(&self) -> Option<&[PersonId]> {
        match self {
            SectionScope::Named(_) => None,
            SectionScope::Children { children } => Some(children),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Section {
    pub id: SectionId,
    pub scope: SectionScope,
    #[serde(default)]
    pub audience: Option<String>,
    #[serde(default)]
    pub heading: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub body_format: Option<String>,
    #[serde(default)]
    pub fields: BTreeMap<String, Value>,
    #[serde(default)]
    pub sensitivity: Vec<Sensitivity>,
}

impl Section {
    pub fn professionals_only(&self) -> bool {
        self.audience.as_deref() == Some("professionals_only")
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Link {
    #[serde(rename = "type")]
    pub kind: String,
    pub target: RecordId,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TextRef {
    pub section: SectionId,
    pub text: String,
    #[serde(default)]
    pub target: Option<RecordId>,
    #[serde(default)]
    pub target_person: Option<PersonId>,
    #[serde(default)]
    pub resolved: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Appendment {
    pub id: String,
    pub at: Instant,
    pub by: ProfessionalId,
    pub body: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    pub id: RecordId,
    #[serde(default)]
    pub source_ids: Vec<SourceId>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub subtype: Option<String>,
    #[serde(default)]
    pub source_form: Option<SourceForm>,
    pub title: String,
    pub occurred: Occurred,
    pub recorded: Recorded,
    #[serde(default)]
    pub authorised: Option<Recorded>,
    pub status: String,
    #[serde(default)]
    pub group: Option<GroupId>,
    #[serde(default)]
    pub membership: Vec<Member>,
    #[serde(default)]
    pub participants: Vec<Participant>,
    #[serde(default)]
    pub sections: Vec<Section>,
    #[serde(default)]
    pub codes: Option<Value>,
    #[serde(default)]
    pub links: Vec<Link>,
    #[serde(default)]
    pub text_refs: Vec<TextRef>,
    #[serde(default)]
    pub appendments: Vec<Appendment>,
    #[serde(default)]
    pub attachments: Vec<AttachmentId>,
    #[serde(default)]
    pub sensitivity: Vec<Sensitivity>,
}

impl Record {
    /// Whether the record sits on `p`'s file: `on_file: true` and not removed (CASE-EXPORT §6).
    pub fn on_file_of(&self, p: &PersonId) -> bool {
        self.membership.iter().any(|m| &m.person == p && m.on_file && m.removed.is_none())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Author {
    #[serde(default)]
    pub organisation: Option<OrgId>,
    #[serde(default)]
    pub professional: Option<ProfessionalId>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Attachment {
    pub id: AttachmentId,
    pub file: String,
    #[serde(default = "pdf_type")]
    pub media_type: String,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub bytes: Option<u64>,
    #[serde(default)]
    pub pages: Option<u32>,
    pub text_layer: bool,
    pub title: String,
    #[serde(default)]
    pub document_date: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub sub_category: Option<String>,
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default)]
    pub author: Option<Author>,
    #[serde(default)]
    pub record: Option<RecordId>,
    #[serde(default)]
    pub on_files: Vec<PersonId>,
    #[serde(default)]
    pub sensitivity: Vec<Sensitivity>,
}

fn pdf_type() -> String {
    "application/pdf".into()
}
