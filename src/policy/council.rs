//! The council file (`policies/council.toml`): who answers a request. For each local authority
//! the tool serves, its name as the letter gives it, the information governance team's postal
//! address, email and phone, how long a review takes, and the complaints route (the ICO). It is
//! loaded and checked with the policy, before any work: an unknown or missing key, an empty value
//! or an export whose local authority the file does not know is an error naming the file and key.
//! It holds no personal data and never reads the case store.

use super::config::PolicyError;
use serde::Deserialize;
use std::path::Path;

/// The shipped council file (the fictional councils of the fixtures and the synthetic families),
/// compiled in; a council passes its own with `--council FILE`.
pub const SHIPPED: &str = include_str!("../../policies/council.toml");

/// One council: who answers a request, and where a requester can complain.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Council {
    /// The local authority's name exactly as the case export gives it (`local_authority.name`).
    pub name: String,
    /// The local authority's code (`local_authority.la_code`), when the export carries one.
    #[serde(default)]
    pub la_code: Option<String>,
    pub information_governance: Contact,
    pub complaints: Complaints,
}

/// The information governance team.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// The team's name, e.g. "Information Governance Team".
    pub team: String,
    /// Postal address, one line per entry.
    pub address: Vec<String>,
    pub email: String,
    pub phone: String,
    /// How many days a review of a redaction takes, at most.
    #[serde(default = "one_month")]
    pub review_days: u32,
}

fn one_month() -> u32 {
    30
}

/// Where to complain when the council's answer is not enough.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Complaints {
    /// The body, e.g. "the Information Commissioner's Office (ICO)".
    pub body: String,
    pub website: String,
    pub phone: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    council: Vec<Council>,
}

/// A loaded and checked council file.
#[derive(Clone, Debug)]
pub struct Councils {
    pub councils: Vec<Council>,
    /// Where it was loaded from, for messages.
    pub source: String,
}

impl Councils {
    /// The shipped file, or the file at `path`.
    pub fn load(path: Option<&Path>) -> Result<Councils, PolicyError> {
        let from_env = std::env::var_os("DISCLOSE_COUNCIL").filter(|v| !v.is_empty()).map(std::path::PathBuf::from);
        match path.or(from_env.as_deref()) {
            None => Councils::parse(SHIPPED, "policies/council.toml (compiled in)"),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| PolicyError::Invalid {
                    path: p.display().to_string(),
                    msg: format!("cannot read the council file: {e}"),
                })?;
                Councils::parse(&text, &p.display().to_string())
            }
        }
    }

    /// Parse and check a council file's text.
    pub fn parse(text: &str, source: &str) -> Result<Councils, PolicyError> {
        let inv = |msg: String| PolicyError::Invalid { path: source.to_string(), msg };
        let f: File = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|r| format!(" (line {})", text[..r.start.min(text.len())].matches('\n').count() + 1))
                .unwrap_or_default();
            inv(format!("{}{at}", e.message().trim_end()))
        })?;
        if f.council.is_empty() {
            return Err(inv("council: no [[council]] table; add one for your local authority".into()));
        }
        for (i, c) in f.council.iter().enumerate() {
            let key = |k: &str| format!("council[{i}].{k}");
            let nonempty = [
                ("name", c.name.as_str()),
                ("information_governance.team", c.information_governance.team.as_str()),
                ("information_governance.email", c.information_governance.email.as_str()),
                ("information_governance.phone", c.information_governance.phone.as_str()),
                ("complaints.body", c.complaints.body.as_str()),
                ("complaints.website", c.complaints.website.as_str()),
                ("complaints.phone", c.complaints.phone.as_str()),
            ];
            for (k, v) in nonempty {
                if v.trim().is_empty() {
                    return Err(inv(format!("{}: empty; a letter needs it", key(k))));
                }
            }
            if c.information_governance.address.iter().all(|l| l.trim().is_empty()) {
                return Err(inv(format!(
                    "{}: empty; give the postal address, one line each",
                    key("information_governance.address")
                )));
            }
            let email = &c.information_governance.email;
            let at = email.find('@');
            if at.is_none_or(|a| a == 0 || !email[a + 1..].contains('.') || email.contains(char::is_whitespace)) {
                return Err(inv(format!("{}: {email:?} is not an email address", key("information_governance.email"))));
            }
            for (k, phone) in [
                ("information_governance.phone", &c.information_governance.phone),
                ("complaints.phone", &c.complaints.phone),
            ] {
                let digits = phone.chars().filter(|c| c.is_ascii_digit()).count();
                if digits < 10 || phone.chars().any(|c| !(c.is_ascii_digit() || " +()-".contains(c))) {
                    return Err(inv(format!("{}: {phone:?} is not a phone number (10 or more digits)", key(k))));
                }
            }
            if c.information_governance.review_days == 0 || c.information_governance.review_days > 90 {
                return Err(inv(format!("{}: must be between 1 and 90", key("information_governance.review_days"))));
            }
            if let Some(j) = f.council[..i].iter().position(|o| o.name == c.name) {
                return Err(inv(format!("{}: the same name as council[{j}]", key("name"))));
            }
        }
        Ok(Councils { councils: f.council, source: source.to_string() })
    }

    /// The council of an export's local authority, by name (and code, where both carry one).
    pub fn for_authority(&self, la: &crate::model::LocalAuthority) -> Result<&Council, PolicyError> {
        self.councils
            .iter()
            .find(|c| {
                c.name == la.name
                    && match (&c.la_code, &la.la_code) {
                        (Some(a), Some(b)) => a == b,
                        _ => true,
                    }
            })
            .ok_or_else(|| PolicyError::Invalid {
                path: self.source.clone(),
                msg: format!(
                    "council: no [[council]] has the export's local authority (name {:?}, la_code {}); add one with its information governance contact details, or pass --council FILE",
                    la.name,
                    la.la_code.as_deref().unwrap_or("none")
                ),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_file_loads_and_knows_the_fixture_councils() {
        let c = Councils::load(None).unwrap();
        for n in [
            "Northbrook Metropolitan Borough Council",
            "Ashgrove Borough Council",
            "Fernhill Council",
            "Synthton Borough Council",
        ] {
            assert!(c.councils.iter().any(|x| x.name == n), "{n}");
        }
    }

    #[test]
    fn errors_name_the_file_and_key() {
        let one = |extra: &str| {
            format!(
                "[[council]]\nname = \"A Council\"\n{extra}\n[council.information_governance]\nteam = \"IG\"\naddress = [\"1 Civic Way\"]\nemail = \"ig@a.gov.uk\"\nphone = \"0100 000 0000\"\n[council.complaints]\nbody = \"ICO\"\nwebsite = \"ico.org.uk\"\nphone = \"0303 123 1113\"\n"
            )
        };
        assert!(Councils::parse(&one(""), "c.toml").is_ok());
        let e = Councils::parse(&one("colour = \"red\""), "c.toml").unwrap_err().to_string();
        assert!(e.contains("c.toml") && e.contains("colour"), "{e}");
        let e = Councils::parse(&one("").replace("ig@a.gov.uk", "nobody"), "c.toml").unwrap_err().to_string();
        assert!(e.contains("c.toml") && e.contains("council[0].information_governance.email"), "{e}");
        let e = Councils::parse(&one("").replace("0100 000 0000", "call us"), "c.toml").unwrap_err().to_string();
        assert!(e.contains("council[0].information_governance.phone"), "{e}");
        let e = Councils::parse(&one("").replace("email = \"ig@a.gov.uk\"\n", ""), "c.toml").unwrap_err().to_string();
        assert!(e.contains("c.toml") && e.contains("email"), "{e}");
        let e = Councils::parse(&one("").replace("[\"1 Civic Way\"]", "[]"), "c.toml").unwrap_err().to_string();
        assert!(e.contains("council[0].information_governance.address"), "{e}");
        let c = Councils::parse(&one(""), "c.toml").unwrap();
        let la = crate::model::LocalAuthority { name: "Other Council".into(), la_code: Some("1".into()) };
        let e = c.for_authority(&la).unwrap_err().to_string();
        assert!(e.contains("c.toml") && e.contains("--council"), "{e}");
    }
}
