//! The five northbrook attachments (LibreOffice, Chromium/Skia, WeasyPrint, Ghostscript,
//! ReportLab): sensible text and a redaction per file checked by external oracles.

use super::common::*;
use disclose::pdf::core::*;

fn text_of(name: &str) -> Vec<PageText> {
    let bytes = std::fs::read(fixture(&format!("northbrook/{name}"))).unwrap();
    read_text(&load(&bytes).unwrap()).unwrap()
}

fn oracle_count(name: &str, needle: &str) -> usize {
    pdftotext(&fixture(&format!("northbrook/{name}"))).to_lowercase().matches(&needle.to_lowercase()).count()
}

#[test]
fn gp_letter_is_a_scan() {
    let pages = text_of("att-gp-letter.pdf");
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].status, PageStatus::ImageOnly);
    // nothing to mark, but sanitizing and saving still work
    let bytes = std::fs::read(fixture("northbrook/att-gp-letter.pdf")).unwrap();
    let pdf = load(&bytes).unwrap();
    let mut r = redact(&pdf, &pages, &[]).unwrap();
    assert!(r.verdicts.iter().all(|v| v.ok));
    let out = save(&mut r.doc).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("o.pdf");
    std::fs::write(&p, out).unwrap();
    qpdf_check(&p).unwrap();
}

#[test]
fn phrases_read_in_order() {
    let cases: &[(&str, &[&str])] = &[
        (
            "att-icpc-minutes.pdf",
            &[
                "Initial Child Protection Conference - Minutes",
                "Ryan Okafor attended part two.",
                "Leah called the police and protected her brother and sister.",
                "Maisie's development is on track",
            ],
        ),
        (
            "att-letter-ryan.pdf",
            &[
                "Dear Mr Okafor,",
                "Leah, Tyler and Maisie are now subject",
                "priya.chaudhury@northbrook.example",
                "Yours sincerely,",
            ],
        ),
        (
            "att-ppn.pdf",
            &[
                "Public Protection Notification",
                "Victim: Danielle Marie MARWICK, date of birth 14/08/1992",
                "Suspect: Ryan Chukwudi OKAFOR",
                "DASH risk assessment: HIGH.",
            ],
        ),
        (
            "att-school-report.pdf",
            &[
                "Brookside Primary School - Suspension Report",
                "Pupil: Tyler Okafor-Marwick. Year 3.",
                "Miss Farah Siddiqui",
                "Jayden was not injured.",
            ],
        ),
    ];
    for (file, phrases) in cases {
        let pages = text_of(file);
        assert_eq!(pages[0].status, PageStatus::Ok, "{file}");
        for ph in *phrases {
            assert!(pages[0].text.contains(ph), "{file}: phrase {ph:?} not found in:\n{}", pages[0].text);
        }
    }
}

#[test]
fn redact_icpc_minutes() {
    let n = oracle_count("att-icpc-minutes.pdf", "Okafor");
    redact_and_check(&fixture("northbrook/att-icpc-minutes.pdf"), "Okafor", &["Okafor"], &[], n, Some(&[]));
}

#[test]
fn redact_letter_ryan() {
    let n = oracle_count("att-letter-ryan.pdf", "Okafor");
    redact_and_check(&fixture("northbrook/att-letter-ryan.pdf"), "Okafor", &["Okafor"], &[], n, Some(&[]));
}

#[test]
fn redact_ppn() {
    let n = oracle_count("att-ppn.pdf", "Okafor");
    redact_and_check(&fixture("northbrook/att-ppn.pdf"), "Okafor", &["Okafor"], &[], n, Some(&[]));
    let n = oracle_count("att-ppn.pdf", "Danielle");
    redact_and_check(&fixture("northbrook/att-ppn.pdf"), "Danielle", &["Danielle"], &[], n, Some(&[]));
}

#[test]
fn redact_school_report() {
    let n = oracle_count("att-school-report.pdf", "Tyler");
    redact_and_check(&fixture("northbrook/att-school-report.pdf"), "Tyler", &["Tyler"], &[], n, Some(&[]));
}
