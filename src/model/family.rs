//! A whole family as loaded from the case store, with lookup tables. This is the case graph
//! every later stage reads: who each person is, where they live, which records exist.

use super::*;
use std::collections::HashMap;

/// One family export, validated and loaded, with indexes by id.
#[derive(Clone, Debug)]
pub struct Family {
    pub header: ExportHeader,
    pub organisations: Vec<Organisation>,
    pub professionals: Vec<Professional>,
    pub addresses: Vec<Address>,
    pub persons: Vec<Person>,
    /// Relationships as exported plus the inverses the importer derived.
    pub relationships: Vec<Relationship>,
    pub groups: Vec<Group>,
    pub involvements: Vec<Involvement>,
    pub episodes: Vec<Episode>,
    pub records: Vec<Record>,
    pub attachments: Vec<Attachment>,
    /// Plain text of every section body, by (record, section).
    pub section_text: HashMap<(RecordId, SectionId), text::PlainText>,
    /// Content hash of every attachment's bytes in the store's blob table.
    pub attachment_blobs: HashMap<AttachmentId, String>,
    person_ix: HashMap<PersonId, usize>,
    pro_ix: HashMap<ProfessionalId, usize>,
    org_ix: HashMap<OrgId, usize>,
    addr_ix: HashMap<AddressId, usize>,
    rec_ix: HashMap<RecordId, usize>,
    att_ix: HashMap<AttachmentId, usize>,
}

impl Family {
    /// Build the lookup tables.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        header: ExportHeader,
        organisations: Vec<Organisation>,
        professionals: Vec<Professional>,
        addresses: Vec<Address>,
        persons: Vec<Person>,
        relationships: Vec<Relationship>,
        groups: Vec<Group>,
        involvements: Vec<Involvement>,
        episodes: Vec<Episode>,
        records: Vec<Record>,
        attachments: Vec<Attachment>,
        section_text: HashMap<(RecordId, SectionId), text::PlainText>,
        attachment_blobs: HashMap<AttachmentId, String>,
    ) -> Family {
        fn ix<K: std::hash::Hash + Eq + Clone, T>(v: &[T], k: impl Fn(&T) -> &K) -> HashMap<K, usize> {
            v.iter().enumerate().map(|(i, x)| (k(x).clone(), i)).collect()
        }
        Family {
            person_ix: ix(&persons, |p| &p.id),
            pro_ix: ix(&professionals, |p| &p.id),
            org_ix: ix(&organisations, |o| &o.id),
            addr_ix: ix(&addresses, |a| &a.id),
            rec_ix: ix(&records, |r| &r.id),
            att_ix: ix(&attachments, |a| &a.id),
            header,
            organisations,
            professionals,
            addresses,
            persons,
            relationships,
            groups,
            involvements,
            episodes,
            records,
            attachments,
            section_text,
            attachment_blobs,
        }
    }

    pub fn person(&self, id: &PersonId) -> Option<&Person> {
        self.person_ix.get(id).map(|&i| &self.persons[i])
    }
    pub fn professional(&self, id: &ProfessionalId) -> Option<&Professional> {
        self.pro_ix.get(id).map(|&i| &self.professionals[i])
    }
    pub fn organisation(&self, id: &OrgId) -> Option<&Organisation> {
        self.org_ix.get(id).map(|&i| &self.organisations[i])
    }
    pub fn address(&self, id: &AddressId) -> Option<&Address> {
        self.addr_ix.get(id).map(|&i| &self.addresses[i])
    }
    pub fn record(&self, id: &RecordId) -> Option<&Record> {
        self.rec_ix.get(id).map(|&i| &self.records[i])
    }
    pub fn attachment(&self, id: &AttachmentId) -> Option<&Attachment> {
        self.att_ix.get(id).map(|&i| &self.attachments[i])
    }

    /// The plain text of a section body (HTML already converted); empty when it has no body.
    pub fn body(&self, rec: &RecordId, sec: &SectionId) -> &str {
        self.section_text.get(&(rec.clone(), sec.clone())).map(|t| t.text.as_str()).unwrap_or("")
    }

    /// The local authority's own organisation, if the export lists one.
    pub fn local_authority(&self) -> Option<&Organisation> {
        self.organisations
            .iter()
            .find(|o| o.kind == "local_authority" && o.name == self.header.local_authority.name)
            .or_else(|| self.organisations.iter().find(|o| o.kind == "local_authority"))
    }

    /// The town the local authority sits in (from its organisation's address), if known.
    pub fn la_town(&self) -> Option<&str> {
        self.local_authority()
            .and_then(|o| o.address.as_ref())
            .and_then(|a| self.address(a))
            .and_then(|a| a.town.as_deref())
    }

    /// "Name, job title" of a professional (the id when unknown).
    pub fn professional_line(&self, id: &ProfessionalId) -> String {
        match self.professional(id) {
            Some(p) => match &p.job_title {
                Some(j) => format!("{}, {j}", p.display_name()),
                None => p.display_name(),
            },
            None => id.to_string(),
        }
    }

    /// Who wrote an attachment, as shown beside it: the professional's line or the organisation.
    pub fn author_line(&self, a: &Attachment) -> String {
        match &a.author {
            Some(Author { professional: Some(p), .. }) => self.professional_line(p),
            Some(Author { organisation: Some(o), .. }) => {
                self.organisation(o).map(|o| o.name.clone()).unwrap_or_default()
            }
            _ => String::new(),
        }
    }

    /// A short human name for any participant: person or professional.
    pub fn participant_name(&self, p: &Participant) -> String {
        if let Some(pid) = &p.person {
            return self.person(pid).map(|x| x.display_name()).unwrap_or_default();
        }
        if let Some(pro) = &p.professional {
            return self.professional(pro).map(|x| x.display_name()).unwrap_or_default();
        }
        String::new()
    }
}
