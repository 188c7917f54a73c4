//! The practice policy (`policies/practice.toml`, compiled in; a council's copy by path): which
//! kinds run, their thresholds and their lexicons, checked on load. An unknown key, a flag that
//! is not in the export format's vocabulary, a threshold out of range or a lexicon entry that
//! matches nothing is an error that names the key.

use super::lexicon::{BadEntry, Lexicon};
use serde::Deserialize;
use std::path::Path;

/// The shipped practice policy.
pub const SHIPPED: &str = include_str!("../../policies/practice.toml");

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbsentRule {
    pub enabled: bool,
    pub visit_types: Vec<String>,
    pub seeing_required: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiblingDetailRule {
    pub enabled: bool,
    pub min_sentences: usize,
    pub min_marker_sentences: usize,
    pub marker_flags: Vec<String>,
    pub markers: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRule {
    pub enabled: bool,
    pub plan_types: Vec<String>,
    pub shingle_words: usize,
    pub threshold: f64,
    pub min_words: usize,
    pub copied_from: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentRule {
    pub enabled: bool,
    pub assessment_types: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactRule {
    pub enabled: bool,
    pub window_days: u32,
    pub first_record_types: Vec<String>,
    pub family_group_types: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRule {
    pub enabled: bool,
    pub event_words: Vec<String>,
}

/// A judgmental word or phrase (with its variants) and the plainer wording to suggest.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    pub words: Vec<String>,
    pub plainer: String,
}

/// An acronym that needs explaining, with its expansion.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acronym {
    pub acronym: String,
    pub expansion: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageRule {
    pub enabled: bool,
    #[serde(default)]
    pub terms: Vec<Term>,
    #[serde(default)]
    pub acronyms: Vec<Acronym>,
}

/// The practice policy as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PracticePolicy {
    pub name: String,
    pub description: String,
    pub adult_age: u32,
    pub absent_not_ungrouped: AbsentRule,
    pub sibling_detail_in_shared_section: SiblingDetailRule,
    pub plan_copied_across_children: PlanRule,
    pub assessment_not_individual: AssessmentRule,
    pub known_child_without_contact: ContactRule,
    pub unreferenced_sibling_detail: EventRule,
    pub language: LanguageRule,
}

/// The policy loaded and checked, with its lexicons compiled.
#[derive(Clone, Debug)]
pub struct Practice {
    pub policy: PracticePolicy,
    /// Where it came from (`policies/practice.toml` or the path given).
    pub source: String,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    pub(crate) markers: Lexicon,
    pub(crate) events: Lexicon,
    /// Every variant of every term; the entry index is the term's position.
    pub(crate) terms: Lexicon,
    /// Every acronym's expansion; the entry index is the acronym's position.
    pub(crate) expansions: Lexicon,
}

/// Errors loading a practice policy.
#[derive(Debug, thiserror::Error)]
pub enum PracticePolicyError {
    #[error("practice policy {0}: cannot be read; give the path of a practice policy TOML file")]
    NotFound(String),
    #[error("practice policy {path}: {msg}")]
    Invalid { path: String, msg: String },
}

impl Practice {
    /// The shipped policy.
    pub fn shipped() -> Practice {
        Practice::parse(SHIPPED, "policies/practice.toml").expect("the shipped practice policy is valid")
    }

    /// The shipped policy, or the file at `path`.
    pub fn load(path: Option<&Path>) -> Result<Practice, PracticePolicyError> {
        match path {
            None => Ok(Practice::shipped()),
            Some(p) => {
                let text =
                    std::fs::read_to_string(p).map_err(|_| PracticePolicyError::NotFound(p.display().to_string()))?;
                Practice::parse(&text, &p.display().to_string())
            }
        }
    }

    /// Parse and check a practice policy text.
    pub fn parse(text: &str, source: &str) -> Result<Practice, PracticePolicyError> {
        let inv = |msg: String| PracticePolicyError::Invalid { path: source.to_string(), msg };
        let policy: PracticePolicy = toml::from_str(text).map_err(|e| {
            let line =
                e.span().map(|r| format!(" (line {})", text[..r.start.min(text.len())].matches('\n').count() + 1));
            inv(format!("{}{}", e.message(), line.unwrap_or_default()))
        })?;
        let p = &policy;
        let nonempty = |key: &str, v: &[String]| -> Result<(), PracticePolicyError> {
            match v.iter().position(|s| s.trim().is_empty()) {
                Some(i) => Err(inv(format!("{key}[{i}]: empty"))),
                None => Ok(()),
            }
        };
        nonempty("absent_not_ungrouped.visit_types", &p.absent_not_ungrouped.visit_types)?;
        nonempty("absent_not_ungrouped.seeing_required", &p.absent_not_ungrouped.seeing_required)?;
        nonempty("plan_copied_across_children.plan_types", &p.plan_copied_across_children.plan_types)?;
        nonempty("assessment_not_individual.assessment_types", &p.assessment_not_individual.assessment_types)?;
        nonempty("known_child_without_contact.first_record_types", &p.known_child_without_contact.first_record_types)?;
        nonempty("known_child_without_contact.family_group_types", &p.known_child_without_contact.family_group_types)?;
        let sd = &p.sibling_detail_in_shared_section;
        for (i, f) in sd.marker_flags.iter().enumerate() {
            if !crate::model::SENSITIVITY_FLAGS.contains(&f.as_str()) {
                return Err(inv(format!(
                    "sibling_detail_in_shared_section.marker_flags[{i}]: {f} is not a flag of CASE-EXPORT.md section 9"
                )));
            }
        }
        if sd.min_sentences == 0 || sd.min_marker_sentences == 0 {
            return Err(inv(
                "sibling_detail_in_shared_section: min_sentences and min_marker_sentences must be at least 1".into(),
            ));
        }
        let pl = &p.plan_copied_across_children;
        if !(pl.threshold > 0.0 && pl.threshold <= 1.0) {
            return Err(inv(format!(
                "plan_copied_across_children.threshold: {} is not in (0, 1]; 0.6 means 60% of the word runs are shared",
                pl.threshold
            )));
        }
        if pl.shingle_words == 0 || pl.shingle_words > 20 {
            return Err(inv("plan_copied_across_children.shingle_words: must be from 1 to 20".into()));
        }
        let kc = &p.known_child_without_contact;
        if kc.window_days > 3660 {
            return Err(inv("known_child_without_contact.window_days: more than ten years".into()));
        }
        if p.adult_age == 0 || p.adult_age > 25 {
            return Err(inv("adult_age: must be from 1 to 25".into()));
        }
        let bad = |key: String| move |BadEntry(why): BadEntry| inv(format!("{key}: {why}"));
        let lex = |key: &str, v: &[String]| -> Result<Lexicon, PracticePolicyError> {
            for (i, s) in v.iter().enumerate() {
                Lexicon::new([s.as_str()]).map_err(bad(format!("{key}[{i}]")))?;
            }
            Lexicon::new(v.iter().map(|s| s.as_str())).map_err(bad(key.to_string()))
        };
        let markers = lex("sibling_detail_in_shared_section.markers", &sd.markers)?;
        let events = lex("unreferenced_sibling_detail.event_words", &p.unreferenced_sibling_detail.event_words)?;
        let lang = &p.language;
        let mut variants = Vec::new();
        for (i, t) in lang.terms.iter().enumerate() {
            if t.words.is_empty() {
                return Err(inv(format!("language.terms[{i}].words: empty")));
            }
            if t.plainer.trim().is_empty() {
                return Err(inv(format!("language.terms[{i}].plainer: empty; say what to write instead")));
            }
            for (j, w) in t.words.iter().enumerate() {
                Lexicon::new([w.as_str()]).map_err(bad(format!("language.terms[{i}].words[{j}]")))?;
                variants.push((w.as_str(), i));
            }
        }
        let terms = Lexicon::grouped(variants).map_err(bad("language.terms".into()))?;
        for (i, a) in lang.acronyms.iter().enumerate() {
            let ok = a.acronym.chars().count() >= 2
                && a.acronym.chars().all(|c| c.is_uppercase() || c.is_ascii_digit())
                && a.acronym.chars().any(|c| c.is_uppercase());
            if !ok {
                return Err(inv(format!(
                    "language.acronyms[{i}].acronym: {:?} is not an acronym (two or more capitals or digits)",
                    a.acronym
                )));
            }
            Lexicon::new([a.expansion.as_str()]).map_err(bad(format!("language.acronyms[{i}].expansion")))?;
        }
        let expansions = Lexicon::grouped(lang.acronyms.iter().enumerate().map(|(i, a)| (a.expansion.as_str(), i)))
            .map_err(bad("language.acronyms".into()))?;
        use sha2::Digest;
        let sha256 = crate::import::hex(&sha2::Sha256::digest(text.as_bytes()));
        Ok(Practice { policy, source: source.to_string(), sha256, markers, events, terms, expansions })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_loads() {
        let p = Practice::shipped();
        assert_eq!(p.policy.name, "practice");
        assert_eq!(p.sha256.len(), 64);
        assert!(!p.markers.is_empty() && !p.events.is_empty() && !p.terms.is_empty());
        assert!(!p.expansions.is_empty());
    }

    #[test]
    fn errors_name_the_key() {
        let e = |text: String| Practice::parse(&text, "x.toml").unwrap_err().to_string();
        let bad = SHIPPED.replace("[language]\nenabled = true", "[language]\nenabled = true\ncolour = \"red\"");
        let m = e(bad);
        assert!(m.contains("x.toml") && m.contains("colour"), "{m}");
        let bad = SHIPPED.replace("threshold = 0.6", "threshold = 1.5");
        assert!(e(bad).contains("plan_copied_across_children.threshold"));
        let bad = SHIPPED.replace("\"serious_harm\", \"immigration\"]", "\"serious_harm\", \"immigrant\"]");
        assert!(e(bad).contains("marker_flags[4]"));
        let bad = SHIPPED.replace("\"disclos*\", \"allegation*\"", "\"dis*clos\", \"allegation*\"");
        assert!(e(bad).contains("sibling_detail_in_shared_section.markers["), "a bad marker names its place");
        let bad = SHIPPED.replace("acronym = \"MASH\"", "acronym = \"mash\"");
        assert!(e(bad).contains("language.acronyms[0].acronym"));
        let bad = SHIPPED.replace("window_days = 30\n", "");
        assert!(e(bad).contains("window_days"));
    }
}
