//! Typed identifiers. Every id in the case export is a string; wrapping each kind in its own
//! newtype means a record id can never be passed where a person id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id as written in the export.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }
    };
}

id_type!(/// A family export (`export.id`).
    ExportId);
id_type!(/// A person: child, adult or unborn.
    PersonId);
id_type!(/// A professional acting in role.
    ProfessionalId);
id_type!(/// An organisation.
    OrgId);
id_type!(/// A shared address.
    AddressId);
id_type!(/// A case record.
    RecordId);
id_type!(/// A section inside one record (unique within its record only).
    SectionId);
id_type!(/// An attachment (a PDF).
    AttachmentId);
id_type!(/// A relationship edge.
    RelationshipId);
id_type!(/// A group (family, household, sibling group).
    GroupId);
id_type!(/// A statutory episode.
    EpisodeId);

/// Whether `s` is a well-formed export id: `^[a-z0-9][a-z0-9._-]{0,63}$`.
pub fn is_valid_id(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 64 {
        return false;
    }
    let ok_first = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    ok_first(b[0]) && b[1..].iter().all(|&c| ok_first(c) || c == b'.' || c == b'_' || c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_pattern() {
        assert!(is_valid_id("rec-001"));
        assert!(is_valid_id("a"));
        assert!(!is_valid_id("Rec-001"));
        assert!(!is_valid_id("-x"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id(&"a".repeat(65)));
        assert!(is_valid_id(&"a".repeat(64)));
    }
}
