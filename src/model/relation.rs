//! The relationship vocabulary (HL7 v3 RoleCode plus the export's `x-` codes): which codes are
//! family under DISCLOSURE-RULES.md, the plain words for each, and the inverse of each code.

/// What a relationship code makes the related person, for disclosure purposes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kin {
    Parent,
    StepParent,
    Grandparent,
    Sibling,
    AuntUncle,
    Cousin,
    Carer,
    Child,
    /// Partner, ex-partner, spouse: not family of the child under the rules.
    Partner,
    Friend,
    Neighbour,
    Other,
}

impl Kin {
    /// Family under DISCLOSURE-RULES.md "Words": parent, step-parent, grandparent, sibling,
    /// aunt, uncle, cousin, or a carer code.
    pub fn is_family(self) -> bool {
        matches!(
            self,
            Kin::Parent
                | Kin::StepParent
                | Kin::Grandparent
                | Kin::Sibling
                | Kin::AuntUncle
                | Kin::Cousin
                | Kin::Carer
                | Kin::Child
        )
    }
}

/// Classify a code: "`related` is the <code> of `person`".
pub fn kin_of(code: &str) -> Kin {
    let c = code.to_ascii_uppercase();
    match c.as_str() {
        "MTH" | "FTH" | "NMTH" | "NFTH" | "PRN" | "NPRN" | "ADOPTMTH" | "ADOPTFTH" | "ADOPTP" | "GESTM" => Kin::Parent,
        "STPMTH" | "STPFTH" | "STPPRN" => Kin::StepParent,
        "GRMTH" | "GRFTH" | "MGRMTH" | "MGRFTH" | "PGRMTH" | "PGRFTH" | "GRPRN" | "MGRPRN" | "PGRPRN" | "GGRMTH"
        | "GGRFTH" | "MGGRMTH" | "MGGRFTH" | "PGGRMTH" | "PGGRFTH" | "GGRPRN" => Kin::Grandparent,
        "SIB" | "NSIB" | "HSIB" | "STPSIB" | "NBRO" | "NSIS" | "BRO" | "SIS" | "HBRO" | "HSIS" | "STPBRO"
        | "STPSIS" | "TWIN" | "TWINBRO" | "TWINSIS" | "FTWIN" | "ITWIN" | "FTWINBRO" | "FTWINSIS" | "ITWINBRO"
        | "ITWINSIS" => Kin::Sibling,
        "AUNT" | "UNCLE" | "MAUNT" | "PAUNT" | "MUNCLE" | "PUNCLE" => Kin::AuntUncle,
        "COUSN" | "MCOUSN" | "PCOUSN" => Kin::Cousin,
        "X-FOSTER_CARER" | "X-SGO_CARER" | "X-KINSHIP_CARER" | "FSTPRN" | "FSTMTH" | "FSTFTH" => Kin::Carer,
        "CHILD" | "NCHILD" | "SON" | "DAU" | "SONC" | "DAUC" | "STPCHLD" | "STPSON" | "STPDAU" | "CHLDADOPT"
        | "DAUADOPT" | "SONADOPT" | "CHLDFOST" | "DAUFOST" | "SONFOST" | "GRNDCHILD" | "GRNDSON" | "GRNDDAU"
        | "NIENEPH" | "NIECE" | "NEPHEW" => Kin::Child,
        "SPS" | "HUSB" | "WIFE" | "DOMPART" | "X-PARTNER" | "X-EXPARTNER" | "SIGOTHR" => Kin::Partner,
        "FRND" => Kin::Friend,
        "NBOR" => Kin::Neighbour,
        _ => Kin::Other,
    }
}

/// Plain words for "the related person is the subject's ___", e.g. `mother`, `brother`.
/// `sex` is the related person's (F/M/U) and picks the gendered word when the code is neutral.
pub fn words_for(code: &str, sex: Option<&str>) -> &'static str {
    let f = sex == Some("F");
    let m = sex == Some("M");
    let g = |fw: &'static str, mw: &'static str, nw: &'static str| {
        if f {
            fw
        } else if m {
            mw
        } else {
            nw
        }
    };
    match code.to_ascii_uppercase().as_str() {
        "MTH" | "NMTH" | "ADOPTMTH" | "GESTM" => "mother",
        "FTH" | "NFTH" | "ADOPTFTH" => "father",
        "PRN" | "NPRN" | "ADOPTP" => g("mother", "father", "parent"),
        "STPMTH" => "stepmother",
        "STPFTH" => "stepfather",
        "STPPRN" => g("stepmother", "stepfather", "step-parent"),
        "GRMTH" | "MGRMTH" | "PGRMTH" => "grandmother",
        "GRFTH" | "MGRFTH" | "PGRFTH" => "grandfather",
        "GRPRN" | "MGRPRN" | "PGRPRN" => g("grandmother", "grandfather", "grandparent"),
        "GGRMTH" | "MGGRMTH" | "PGGRMTH" => "great-grandmother",
        "GGRFTH" | "MGGRFTH" | "PGGRFTH" => "great-grandfather",
        "NBRO" | "BRO" | "TWINBRO" | "FTWINBRO" | "ITWINBRO" => "brother",
        "NSIS" | "SIS" | "TWINSIS" | "FTWINSIS" | "ITWINSIS" => "sister",
        "HBRO" => "half-brother",
        "HSIS" => "half-sister",
        "HSIB" => g("half-sister", "half-brother", "half-sibling"),
        "STPBRO" => "stepbrother",
        "STPSIS" => "stepsister",
        "STPSIB" => g("stepsister", "stepbrother", "step-sibling"),
        "SIB" | "NSIB" | "TWIN" | "FTWIN" | "ITWIN" => g("sister", "brother", "brother or sister"),
        "AUNT" | "MAUNT" | "PAUNT" => "aunt",
        "UNCLE" | "MUNCLE" | "PUNCLE" => "uncle",
        "COUSN" | "MCOUSN" | "PCOUSN" => "cousin",
        "X-FOSTER_CARER" | "FSTPRN" | "FSTMTH" | "FSTFTH" => "foster carer",
        "X-SGO_CARER" => "special guardian",
        "X-KINSHIP_CARER" => "kinship carer",
        "SON" | "SONC" | "SONADOPT" | "SONFOST" | "STPSON" => "son",
        "DAU" | "DAUC" | "DAUADOPT" | "DAUFOST" | "STPDAU" => "daughter",
        "CHILD" | "NCHILD" | "STPCHLD" | "CHLDADOPT" | "CHLDFOST" => g("daughter", "son", "child"),
        "GRNDCHILD" | "GRNDSON" | "GRNDDAU" => "grandchild",
        "NIENEPH" | "NIECE" | "NEPHEW" => g("niece", "nephew", "niece or nephew"),
        "SPS" | "HUSB" | "WIFE" => "spouse",
        "DOMPART" | "X-PARTNER" | "SIGOTHR" => "partner",
        "X-EXPARTNER" => "former partner",
        "FRND" => "friend",
        "NBOR" => "neighbour",
        _ => "relative",
    }
}

/// The inverse code: if `related` is the `code` of `person`, then `person` is the returned code of
/// `related`. `person_sex` is the sex of `person` (the one the inverse describes).
pub fn inverse(code: &str, person_sex: Option<&str>) -> String {
    let f = person_sex == Some("F");
    let m = person_sex == Some("M");
    let g = |fw: &str, mw: &str, nw: &str| {
        (if f {
            fw
        } else if m {
            mw
        } else {
            nw
        })
        .to_string()
    };
    let c = code.to_ascii_uppercase();
    match c.as_str() {
        "MTH" | "FTH" | "PRN" => g("DAU", "SON", "CHILD"),
        "NMTH" | "NFTH" | "NPRN" | "GESTM" => g("DAUC", "SONC", "NCHILD"),
        "ADOPTMTH" | "ADOPTFTH" | "ADOPTP" => g("DAUADOPT", "SONADOPT", "CHLDADOPT"),
        "STPMTH" | "STPFTH" | "STPPRN" => g("STPDAU", "STPSON", "STPCHLD"),
        "GRMTH" | "GRFTH" | "MGRMTH" | "MGRFTH" | "PGRMTH" | "PGRFTH" | "GRPRN" | "MGRPRN" | "PGRPRN" => {
            g("GRNDDAU", "GRNDSON", "GRNDCHILD")
        }
        "SIB" | "NSIB" | "NBRO" | "NSIS" | "BRO" | "SIS" => g("NSIS", "NBRO", "NSIB"),
        "HSIB" | "HBRO" | "HSIS" => g("HSIS", "HBRO", "HSIB"),
        "STPSIB" | "STPBRO" | "STPSIS" => g("STPSIS", "STPBRO", "STPSIB"),
        "TWIN" | "TWINBRO" | "TWINSIS" => g("TWINSIS", "TWINBRO", "TWIN"),
        "AUNT" | "UNCLE" | "MAUNT" | "PAUNT" | "MUNCLE" | "PUNCLE" => g("NIECE", "NEPHEW", "NIENEPH"),
        "NIENEPH" | "NIECE" | "NEPHEW" => g("AUNT", "UNCLE", "AUNT"),
        "COUSN" | "MCOUSN" | "PCOUSN" => "COUSN".into(),
        "CHILD" | "SON" | "DAU" => g("MTH", "FTH", "PRN"),
        "NCHILD" | "SONC" | "DAUC" => g("NMTH", "NFTH", "NPRN"),
        "STPCHLD" | "STPSON" | "STPDAU" => g("STPMTH", "STPFTH", "STPPRN"),
        "GRNDCHILD" | "GRNDSON" | "GRNDDAU" => g("GRMTH", "GRFTH", "GRPRN"),
        "CHLDFOST" | "DAUFOST" | "SONFOST" => "x-FOSTER_CARER".into(),
        "X-FOSTER_CARER" | "FSTPRN" | "FSTMTH" | "FSTFTH" => "CHLDFOST".into(),
        "SPS" | "HUSB" | "WIFE" => g("WIFE", "HUSB", "SPS"),
        "DOMPART" => "DOMPART".into(),
        "X-PARTNER" => "x-PARTNER".into(),
        "X-EXPARTNER" => "x-EXPARTNER".into(),
        "SIGOTHR" => "SIGOTHR".into(),
        "FRND" => "FRND".into(),
        "NBOR" => "NBOR".into(),
        _ => format!("x-INVERSE-OF-{code}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary() {
        assert_eq!(kin_of("NMTH"), Kin::Parent);
        assert!(kin_of("MGRMTH").is_family());
        assert!(!kin_of("x-PARTNER").is_family());
        assert!(!kin_of("NBOR").is_family());
        assert_eq!(words_for("NBRO", Some("M")), "brother");
        assert_eq!(words_for("SIB", Some("F")), "sister");
        assert_eq!(inverse("NMTH", Some("F")), "DAUC");
        assert_eq!(words_for(&inverse("NMTH", Some("M")), Some("M")), "son");
        assert_eq!(inverse("NBRO", Some("F")), "NSIS");
        assert_eq!(kin_of(&inverse("MGRMTH", Some("F"))), Kin::Child);
    }
}
