//! Recognizer tables: (text, expected spans). Built on the Northbrook family.

use super::*;
use std::path::Path;

fn family() -> Family {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/northbrook/export.json");
    crate::import::parse_and_validate(&p).expect("northbrook validates").family()
}

fn pid(s: &str) -> Target {
    Target::Person(PersonId(s.into()))
}

/// Assert that exactly `want` (substring, target) findings are in `text` (other findings allowed
/// only if `exact` is false).
fn check(det: &Detector, ctx: &Context, text: &str, want: &[(&str, Target)], exact: bool) {
    let got = det.find(text, ctx);
    let shown: Vec<(String, Vec<Target>)> =
        got.iter().map(|f| (text[f.span.start()..f.span.end()].to_string(), f.targets.clone())).collect();
    for (sub, t) in want {
        assert!(
            got.iter().any(|f| &text[f.span.start()..f.span.end()] == *sub && f.targets.contains(t)),
            "in {text:?}: expected {sub:?} -> {t:?}; got {shown:?}"
        );
    }
    if exact {
        assert_eq!(got.len(), want.len(), "in {text:?}: unexpected findings {shown:?}");
    }
}

#[test]
fn name_forms() {
    let f = family();
    let det = Detector::new(&f);
    let ctx = Context { children: vec![PersonId("p-leah".into())] };
    let gwen = pid("p-gwen");
    let ryan = pid("p-ryan");
    let rows: Vec<(&str, Vec<(&str, Target)>)> = vec![
        ("Gwen Aldous rang.", vec![("Gwen Aldous", gwen.clone())]),
        ("Gwendolyn Aldous rang.", vec![("Gwendolyn Aldous", gwen.clone())]),
        ("She spoke to Mrs Aldous.", vec![("Mrs Aldous", gwen.clone())]),
        ("Letter to Mr R Okafor today.", vec![("Mr R Okafor", ryan.clone())]),
        ("Letter to R. Okafor today.", vec![("R. Okafor", ryan.clone())]),
        ("OKAFOR was arrested.", vec![("OKAFOR", ryan.clone())]),
        ("Spoke with Gwen\nAldous on the phone.", vec![("Gwen\nAldous", gwen.clone())]),
        ("It was Gwen’s idea.", vec![("Gwen", gwen.clone())]),
        ("It was Gwen's idea.", vec![("Gwen", gwen.clone())]),
        ("ryan okafor called.", vec![("ryan okafor", ryan.clone())]),
        ("Spoke to aldous and Aldous.", vec![("Aldous", gwen.clone())]),
        ("Tyler James Okafor-Marwick is 7.", vec![("Tyler James Okafor-Marwick", pid("p-tyler"))]),
        ("Tyler's bike.", vec![("Tyler", pid("p-tyler"))]),
    ];
    for (text, want) in rows {
        check(&det, &ctx, text, &want, false);
    }
}

#[test]
fn identifiers_in_every_spacing() {
    let f = family();
    let det = Detector::new(&f);
    let ctx = Context::default();
    let d = pid("p-danielle");
    let rows: Vec<(&str, Vec<(&str, Target)>)> = vec![
        ("NHS 999 000 1014 noted", vec![("999 000 1014", d.clone())]),
        ("NHS 9990001014 noted", vec![("9990001014", d.clone())]),
        ("NHS 999-000-1014 noted", vec![("999-000-1014", d.clone())]),
        ("NI QQ 12 34 56 A noted", vec![("QQ 12 34 56 A", d.clone())]),
        ("NI QQ123456A noted", vec![("QQ123456A", d.clone())]),
        ("call 07700 900417 now", vec![("07700 900417", d.clone())]),
        ("call +44 7700 900417 now", vec![("+44 7700 900417", d.clone())]),
        ("call 07700900417 now", vec![("07700900417", d.clone())]),
        ("mail ry.okafor@example.com now", vec![("ry.okafor@example.com", pid("p-ryan"))]),
        ("ref NP/24/001417 noted", vec![("NP/24/001417", pid("p-ryan"))]),
        ("born 14/08/1992 in", vec![("14/08/1992", d.clone())]),
        ("born 14 August 1992 in", vec![("14 August 1992", d.clone())]),
        ("UPN N999210115417 held", vec![("N999210115417", pid("p-leah"))]),
    ];
    for (text, want) in rows {
        check(&det, &ctx, text, &want, true);
    }
}

#[test]
fn unknown_identifiers_are_third_parties() {
    let f = family();
    let det = Detector::new(&f);
    let ctx = Context::default();
    // 943 476 5919 passes modulus 11 and is nobody's in the graph.
    for (text, sub) in [
        ("NHS 943 476 5919 seen", "943 476 5919"),
        ("phone 07700 900999 now", "07700 900999"),
        ("mail someone@else.example now", "someone@else.example"),
        ("at ZZ9 9ZZ yesterday", "ZZ9 9ZZ"),
    ] {
        check(&det, &ctx, text, &[(sub, Target::Unknown)], true);
    }
    // A 10-digit number failing modulus 11 is not an NHS number.
    check(&det, &ctx, "case 1234567890 closed", &[], true);
}

#[test]
fn addresses_and_postcodes() {
    let f = family();
    let det = Detector::new(&f);
    let ctx = Context::default();
    let refuge = Target::Address(AddressId("addr-refuge".into()));
    check(
        &det,
        &ctx,
        "moved to Flat 3, 27 Larkspur Gardens, NB11 2HF last night",
        &[("Flat 3, 27 Larkspur Gardens, NB11 2HF", refuge.clone())],
        true,
    );
    check(&det, &ctx, "Visited at Larkspur Gardens today.", &[("Larkspur Gardens", refuge.clone())], true);
    check(&det, &ctx, "postcode NB112HF noted", &[("NB112HF", refuge.clone())], true);
    // A town alone is reported, as a town with every address in it as a candidate: the policy
    // keeps it unless one of them is confidential (and the town not the council's own).
    let got = det.find("She lives in Northbrook now.", &ctx);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].kind, Kind::Town);
    assert!(got[0].is_about(&refuge) && got[0].is_about(&Target::Address(AddressId("addr-home".into()))));
    // Next to another part it joins the address.
    check(
        &det,
        &ctx,
        "at 27 Larkspur Gardens, Northbrook today",
        &[("27 Larkspur Gardens, Northbrook", refuge.clone())],
        true,
    );
    // A street without its number counts at the start of a sentence too.
    check(&det, &ctx, "Larkspur Gardens is quiet.", &[("Larkspur Gardens", refuge.clone())], true);
}

#[test]
fn names_that_are_words() {
    // A family with a third party called Rose Marsh.
    let mut f = family();
    let mut p = f.persons.iter().find(|p| p.id.as_str() == "p-gwen").unwrap().clone();
    p.id = PersonId("p-rose".into());
    p.names = vec![Name {
        name_use: "official".into(),
        given: vec!["Rose".into()],
        family: Some("Marsh".into()),
        prefix: None,
        period: None,
    }];
    p.contact_points.clear();
    f.persons.push(p);
    let f = Family::new(
        f.header.clone(),
        f.organisations.clone(),
        f.professionals.clone(),
        f.addresses.clone(),
        f.persons.clone(),
        f.relationships.clone(),
        f.groups.clone(),
        f.involvements.clone(),
        f.episodes.clone(),
        f.records.clone(),
        f.attachments.clone(),
        f.section_text.clone(),
        f.attachment_blobs.clone(),
    );
    let det = Detector::new(&f);
    let ctx = Context::default();
    let rose = pid("p-rose");
    check(&det, &ctx, "Leah planted a rose bush with Nanna.", &[("Nanna", pid("p-pauline"))], false);
    assert!(!det.find("Leah planted a rose bush.", &ctx).iter().any(|x| x.targets.contains(&rose)));
    assert!(!det.find("Rose bushes line the path.", &ctx).iter().any(|x| x.targets.contains(&rose)));
    assert!(!det.find("They walked by the marsh.", &ctx).iter().any(|x| x.targets.contains(&rose)));
    check(&det, &ctx, "Leah went to see Rose at the park.", &[("Rose", rose.clone())], false);
    check(&det, &ctx, "Rose said she heard shouting.", &[("Rose", rose.clone())], false);
    check(&det, &ctx, "A call from Ms Marsh.", &[("Ms Marsh", rose.clone())], false);
    check(&det, &ctx, "Rose Marsh rang.", &[("Rose Marsh", rose.clone())], false);
    check(&det, &ctx, "Rose, Leah and Tyler played.", &[("Rose", rose.clone())], false);
    check(&det, &ctx, "Rose", &[("Rose", rose)], false);
}

#[test]
fn relationship_words_resolve_to_people() {
    let f = family();
    let det = Detector::new(&f);
    let leah = Context { children: vec![PersonId("p-leah".into())] };
    check(&det, &leah, "She told Mum.", &[("Mum", pid("p-danielle"))], true);
    check(&det, &leah, "Daddy pushed Mummy.", &[("Daddy", pid("p-ryan")), ("Mummy", pid("p-danielle"))], true);
    check(&det, &leah, "her brother was there", &[("brother", pid("p-tyler"))], true);
    check(&det, &leah, "with her sister", &[("sister", pid("p-maisie"))], true);
    check(&det, &leah, "the children's grandmother", &[("grandmother", pid("p-pauline"))], true);
}

#[test]
fn more_forms_people_write() {
    let f = family();
    let det = Detector::new(&f);
    let ctx = Context::default();
    let gwen = pid("p-gwen");
    let ryan = pid("p-ryan");
    let d = pid("p-danielle");
    // A name hyphenated across a line, a plural, an initial after a given name, a line start.
    check(&det, &ctx, "Spoke to Mrs Al-\ndous today.", &[("Mrs Al-\ndous", gwen.clone())], false);
    check(&det, &ctx, "at the Aldouses' gate", &[], false);
    check(&det, &ctx, "Gwen A. rang again.", &[("Gwen A.", gwen.clone())], false);
    check(&det, &ctx, "the Okafors' car", &[("Okafors", ryan.clone())], false);
    // Identifiers in more spellings.
    check(&det, &ctx, "call 0044 7700 900417 now", &[("0044 7700 900417", d.clone())], false);
    check(&det, &ctx, "call (07700) 900417 now", &[("(07700) 900417", d.clone())], false);
    check(&det, &ctx, "NHS 999 0001 014 noted", &[("999 0001 014", d.clone())], false);
    check(&det, &ctx, "born 14/8/92 in", &[("14/8/92", d.clone())], false);
    check(&det, &ctx, "ref NP 24 001417 noted", &[("NP 24 001417", ryan.clone())], false);
}

/// Northbrook with one more third party (a copy of Gwen's record) named `given` `family`.
fn with_person(id: &str, given: &str, family_name: &str) -> Family {
    let f = family();
    let mut p = f.persons.iter().find(|p| p.id.as_str() == "p-gwen").unwrap().clone();
    p.id = PersonId(id.into());
    p.names = vec![Name {
        name_use: "official".into(),
        given: vec![given.into()],
        family: Some(family_name.into()),
        prefix: None,
        period: None,
    }];
    p.contact_points.clear();
    p.identifiers.clear();
    p.date_of_birth = None;
    let mut persons = f.persons.clone();
    persons.push(p);
    Family::new(
        f.header.clone(),
        f.organisations.clone(),
        f.professionals.clone(),
        f.addresses.clone(),
        persons,
        f.relationships.clone(),
        f.groups.clone(),
        f.involvements.clone(),
        f.episodes.clone(),
        f.records.clone(),
        f.attachments.clone(),
        f.section_text.clone(),
        f.attachment_blobs.clone(),
    )
}

#[test]
fn names_broken_across_a_line_in_any_case() {
    let f = family();
    let det = Detector::new(&f);
    let ctx = Context::default();
    let d = pid("p-danielle");
    let tyler = pid("p-tyler");
    // An upper-case surname split at a line end, as a police log prints it.
    check(&det, &ctx, "Suspect MARWI-\nCK was arrested.", &[("MARWI-\nCK", d.clone())], false);
    check(&det, &ctx, "Name: OKA-\nFOR, Ryan", &[("OKA-\nFOR", pid("p-ryan"))], false);
    // A hyphenated name broken at its own hyphen, in mixed and in upper case.
    check(&det, &ctx, "Tyler Okafor-\nMarwick came.", &[("Tyler Okafor-\nMarwick", tyler.clone())], false);
    check(&det, &ctx, "Child: TYLER OKAFOR-\n  MARWICK", &[("TYLER OKAFOR-\n  MARWICK", tyler.clone())], false);
    check(&det, &ctx, "Maisie Okafor-Mar-\nwick", &[("Maisie Okafor-Mar-\nwick", pid("p-maisie"))], false);
}

#[test]
fn invisible_characters_do_not_hide_a_name() {
    let f = family();
    let det = Detector::new(&f);
    let ctx = Context::default();
    let gwen = pid("p-gwen");
    check(&det, &ctx, "Gw\u{200b}en Al\u{200d}dous rang.", &[("Gw\u{200b}en Al\u{200d}dous", gwen.clone())], false);
    check(&det, &ctx, "Mrs \u{2060}Aldous rang.", &[("Mrs \u{2060}Aldous", gwen.clone())], false);
    check(&det, &ctx, "A call from \u{202e}Aldous\u{202c} today.", &[("Aldous\u{202c}", gwen.clone())], false);
    check(
        &det,
        &ctx,
        "call 07700\u{200b} 900\u{feff}417 now",
        &[("07700\u{200b} 900\u{feff}417", pid("p-danielle"))],
        false,
    );
    // An invisible character in the recorded name.
    let f = with_person("p-x", "Ro\u{200b}wena", "Tr\u{200c}ask\u{200f}");
    let det = Detector::new(&f);
    check(&det, &ctx, "Rowena Trask rang.", &[("Rowena Trask", pid("p-x"))], false);
    check(&det, &ctx, "Ms Trask rang.", &[("Ms Trask", pid("p-x"))], false);
}

#[test]
fn accented_names_in_any_composition() {
    let ctx = Context::default();
    // Recorded precomposed; written decomposed, in capitals, and without the accents.
    let f = with_person("p-x", "Jos\u{e9}", "N\u{fa}\u{f1}ez");
    let det = Detector::new(&f);
    let x = pid("p-x");
    for (text, sub) in [
        ("Jose\u{301} Nu\u{301}n\u{303}ez rang.", "Jose\u{301} Nu\u{301}n\u{303}ez"),
        ("JOS\u{c9} N\u{da}\u{d1}EZ rang.", "JOS\u{c9} N\u{da}\u{d1}EZ"),
        ("Jose Nunez rang.", "Jose Nunez"),
        ("Spoke to Mr Nu\u{301}n\u{303}ez.", "Mr Nu\u{301}n\u{303}ez"),
    ] {
        check(&det, &ctx, text, &[(sub, x.clone())], false);
    }
    // Recorded decomposed; written precomposed.
    let f = with_person("p-x", "Zoe\u{308}", "Ni\u{301} Bhriain");
    let det = Detector::new(&f);
    check(&det, &ctx, "Zo\u{eb} N\u{ed} Bhriain rang.", &[("Zo\u{eb} N\u{ed} Bhriain", x.clone())], false);
}
