//! Benches for the targets of the speed issues: detection throughput (MB/s of case text, family
//! of 50 people), rendering (pages/s), attachment redaction (pages/s), export end to end (2,000
//! records and 40 five-page attachments, signed), and scale in people (a file, its detector and
//! its decisions for families of 2,000 and 20,000 people: the time per person should stay flat).
//!
//! `stages`: one bench per stage of an export on the bench family of issue 15 (`disclose synth
//! --like-peer`: 2,000 records dense with third parties, 40 five-page attachments and one of 300
//! pages in the standard 14 fonts unembedded, WinAnsi, MacRoman and an Identity-H CID font), so
//! the next slow stage shows without a profiler: read the attachments, detect, decide, redact the
//! attachments (read, redact, verify: pages/s), verify alone, sign; then the signed export of
//! that family end to end. Run with `cargo bench --bench engine`, or one group with
//! `cargo bench --bench engine -- stages`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use disclose::detect::{Context, Detector};
use disclose::export::{self, ExportRequest};
use disclose::model::PersonId;
use disclose::pdf::render::{self, Block, Doc, LabelStyle, Part, PartContent, Run};
use disclose::store::Store;
use disclose::synth::{self, Size};
use std::path::Path;

fn family(dir: &Path, size: Size) -> disclose::model::Family {
    synth::write_family(dir, size).unwrap();
    disclose::import::parse_and_validate(&dir.join("export.json")).unwrap().family()
}

fn detection(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let fam = family(dir.path(), Size::own(600, 0, 1, 50));
    let det = Detector::new(&fam);
    let texts: Vec<&str> = fam.section_text.values().map(|t| t.text.as_str()).collect();
    let bytes: usize = texts.iter().map(|t| t.len()).sum();
    let ctx = Context { children: vec![PersonId("p-0".into())] };
    let mut g = c.benchmark_group("detection");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("case text, family of 50", |b| {
        b.iter(|| texts.iter().map(|t| det.find(t, &ctx).len()).sum::<usize>())
    });
    g.finish();
}

fn scale(c: &mut Criterion) {
    let mut g = c.benchmark_group("scale");
    g.sample_size(10);
    for people in [2_000, 20_000] {
        let dir = tempfile::tempdir().unwrap();
        let fam = family(dir.path(), Size::own(60, 0, 1, people));
        let policy = disclose::policy::Policy::load("sar-parent").unwrap();
        let subject = PersonId("p-0".into());
        let requester = disclose::policy::request::Party::Person(PersonId("p-4".into()));
        let fit = disclose::policy::request::Fit::default();
        let asked = disclose::policy::Asked { requester: &requester, date: "2026-01-15", fit: &fit };
        let inputs = std::collections::HashMap::new();
        g.throughput(Throughput::Elements(people as u64));
        g.bench_function(format!("file, detector and decisions, {people} people"), |b| {
            b.iter(|| {
                let file = disclose::file::CaseFile::build(&fam, &subject).unwrap();
                let det = Detector::new(&fam);
                let findings = disclose::detect::find(&file, &det, &inputs);
                disclose::policy::propose(&file, &findings, &policy, &asked, &inputs).marks.len()
            })
        });
    }
    g.finish();
}

fn rendering(c: &mut Criterion) {
    let mut blocks = Vec::new();
    for i in 0..400 {
        blocks.push(Block::Heading {
            level: 1,
            text: vec![Run::Text(format!("Record {i}"))],
            anchor: Some(format!("r{i}")),
            outline: Some(format!("Record {i}")),
        });
        blocks.push(Block::Para {
            runs: vec![
                Run::Text("The worker visited the home and spoke with the family about the plan. ".repeat(6)),
                Run::Mark {
                    code: "TP".into(),
                    label: Some("another person".into()),
                    width_of: "nnnnnnnn".into(),
                    id: None,
                },
            ],
        });
    }
    let doc = Doc {
        title: "Bench".into(),
        author: "Bench".into(),
        subject: String::new(),
        date: render::Date { y: 2026, m: 1, d: 1, h: 0, mi: 0, s: 0 },
        id_seed: [0; 32],
        lang: "en-GB".into(),
        parts: vec![Part { label: LabelStyle::Arabic, outline: None, content: PartContent::Flow(blocks) }],
        draft: false,
        code_words: Vec::new(),
    };
    let pages = render::render(&doc).unwrap().pages;
    let mut g = c.benchmark_group("rendering");
    g.throughput(Throughput::Elements(pages as u64));
    g.bench_function(format!("{pages} pages"), |b| b.iter(|| render::render(&doc).unwrap().bytes.len()));
    g.finish();
}

fn attachment_redaction(c: &mut Criterion) {
    let pdf = synth::attachment_pdf(1, 5);
    let read = disclose::pdf::read_attachment(&pdf).unwrap();
    let edits: Vec<disclose::pdf::core::PageEdit> = read
        .pages
        .iter()
        .map(|p| disclose::pdf::core::PageEdit {
            index: p.index,
            marks: p
                .text
                .match_indices("07700 900")
                .map(|(i, _)| disclose::pdf::core::Mark {
                    range: i..i + 12,
                    code: "TP".into(),
                    label: None,
                    region: None,
                })
                .collect(),
        })
        .collect();
    let mut g = c.benchmark_group("attachment redaction");
    g.throughput(Throughput::Elements(read.pages.len() as u64));
    g.bench_function("read, redact, verify, save (5 pages)", |b| {
        b.iter(|| {
            let r = disclose::pdf::read_attachment(&pdf).unwrap();
            let mut red = disclose::pdf::core::redact_with(&r.loaded, &r.pages, &edits, false).unwrap();
            assert!(red.verdicts.iter().all(|v| v.ok));
            disclose::pdf::core::save(&mut red.doc).unwrap().len()
        })
    });
    g.finish();
}

fn export_end_to_end(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    synth::write_family(dir.path(), Size::own(2000, 40, 5, 50)).unwrap();
    let db = dir.path().join("case.db");
    let mut store = Store::open(&db).unwrap();
    disclose::import::import_file(&mut store, &dir.path().join("export.json"), false).unwrap();
    let (key, cert) = disclose::seal::keygen("bench", "bench", "2020-01-01", "2035-12-31").unwrap();
    std::fs::write(dir.path().join("k.pem"), key).unwrap();
    std::fs::write(dir.path().join("c.pem"), cert).unwrap();
    disclose::review::workflow::add_reviewer(&mut store, "bench", "bench password", "bench").unwrap();
    let req = ExportRequest {
        subject: PersonId("p-0".into()),
        requester: None,
        policy: "sar-self".into(),
        out: dir.path().join("out"),
        export: None,
        date: None,
        officer: Some("bench".into()),
        sign: Some(export::SignWith::Pem { key: dir.path().join("k.pem"), cert: dir.path().join("c.pem") }),
        override_reason: None,
        request: None,
        // Signed bundles are released: here as one officer's decision, without review.
        release_unreviewed: Some(export::Unreviewed { reviewer: "bench".into(), why: "benchmark".into() }),
        reference: None,
        response_date: None,
        council: None,
    };
    let mut g = c.benchmark_group("export");
    g.sample_size(10);
    g.bench_function("2000 records, 40 five-page attachments, signed", |b| {
        b.iter(|| {
            let mut o = export::build(&store, &req).unwrap();
            o.staged.commit(false).unwrap();
            o.plan.disclosure.marks.len()
        })
    });
    g.finish();
}

/// The bench family of issue 15 imported into a store, with a signing key and a reviewer, and the
/// request of a signed export of its first child.
struct Peer {
    dir: tempfile::TempDir,
    store: Store,
    req: ExportRequest,
}

fn peer() -> Peer {
    let dir = tempfile::tempdir().unwrap();
    synth::write_family(dir.path(), Size::like_peer()).unwrap();
    let mut store = Store::open(&dir.path().join("case.db")).unwrap();
    disclose::import::import_file(&mut store, &dir.path().join("export.json"), false).unwrap();
    let (key, cert) = disclose::seal::keygen("bench", "bench", "2020-01-01", "2035-12-31").unwrap();
    std::fs::write(dir.path().join("k.pem"), key).unwrap();
    std::fs::write(dir.path().join("c.pem"), cert).unwrap();
    disclose::review::workflow::add_reviewer(&mut store, "bench", "bench password", "bench").unwrap();
    let req = ExportRequest {
        subject: PersonId("p-0".into()),
        requester: None,
        policy: "sar-self".into(),
        out: dir.path().join("out"),
        export: None,
        date: None,
        officer: Some("bench".into()),
        sign: Some(export::SignWith::Pem { key: dir.path().join("k.pem"), cert: dir.path().join("c.pem") }),
        override_reason: None,
        request: None,
        release_unreviewed: Some(export::Unreviewed { reviewer: "bench".into(), why: "benchmark".into() }),
        reference: None,
        response_date: None,
        council: None,
    };
    Peer { dir, store, req }
}

/// The text marks of one attachment's pages that a disclosure redacts.
fn edits_of(
    d: &disclose::review::Disclosure,
    a: &disclose::model::AttachmentId,
    pages: usize,
) -> Vec<disclose::pdf::core::PageEdit> {
    use disclose::file::{Location, Part};
    (0..pages)
        .map(|page| {
            let loc = Location::attachment(a, Part::AttachmentPage { page });
            let marks = d
                .marks
                .iter()
                .filter(|m| m.location == loc && m.action == disclose::policy::Action::Redact)
                .filter_map(|m| m.span)
                .map(|s| disclose::pdf::core::Mark::text(s.start()..s.end(), "TP", None))
                .collect();
            disclose::pdf::core::PageEdit { index: page, marks }
        })
        .filter(|e| !e.marks.is_empty())
        .collect()
}

fn stages(c: &mut Criterion) {
    use disclose::review::{Decisions, Status};
    use rayon::prelude::*;
    let p = peer();
    let resolved = || export::resolve(&p.store, &p.req).unwrap();
    let proposed = export::propose(&p.store, resolved()).unwrap();
    let file = proposed.file().unwrap();
    let status = Status::Unreviewed { by: "bench".into(), why: "benchmark".into() };
    let disclosure = disclose::review::apply(&proposed.proposal, &Decisions::default(), status.clone());
    let fam = &proposed.resolved.family;
    let blobs: Vec<(disclose::model::AttachmentId, Vec<u8>)> =
        file.attachments().into_iter().map(|a| (a.clone(), p.store.blob(&fam.attachment_blobs[a]).unwrap())).collect();
    let read_all = || -> std::collections::HashMap<_, _> {
        blobs.par_iter().map(|(a, b)| (a.clone(), disclose::pdf::read_attachment(b))).collect()
    };
    let pages: usize = proposed.read.values().map(|r| r.as_ref().map(|r| r.pages.len()).unwrap_or(0)).sum();
    let marks = disclosure.marks.len();
    let mut g = c.benchmark_group("stages");
    g.sample_size(10);
    g.throughput(Throughput::Elements(pages as u64));
    g.bench_function(format!("read attachments ({pages} pages)"), |b| b.iter(|| read_all().len()));
    g.throughput(Throughput::Elements(marks as u64));
    g.bench_function(format!("detect (file of {} records)", file.entries.len()), |b| {
        let det = Detector::new(fam);
        b.iter(|| disclose::detect::find(&file, &det, &proposed.inputs).len())
    });
    g.bench_function(format!("decide ({marks} marks)"), |b| {
        let findings = disclose::detect::find(&file, &Detector::new(fam), &proposed.inputs);
        let r = &proposed.resolved;
        let asked = disclose::policy::Asked { requester: &r.requester, date: &r.date, fit: &r.fit };
        b.iter(|| {
            let prop = disclose::policy::propose(&file, &findings, &r.policy, &asked, &proposed.inputs);
            disclose::review::apply(&prop, &Decisions::default(), status.clone()).marks.len()
        })
    });
    g.throughput(Throughput::Elements(pages as u64));
    g.bench_function(format!("redact attachments: read, redact, verify ({pages} pages)"), |b| {
        b.iter(|| {
            let read = read_all();
            let red = disclose::pdf::redact_attachments(&disclosure, &read, &proposed.scans, None);
            assert!(red.failed.is_empty(), "{} pages failed verification", red.failed.len());
            red.pages.len()
        })
    });
    // verification alone: the redacted documents made once, read again and compared
    let redacted: Vec<_> = proposed
        .read
        .par_iter()
        .filter_map(|(a, r)| {
            let r = r.as_ref().ok()?;
            let edits = edits_of(&disclosure, a, r.pages.len());
            let red = disclose::pdf::core::redact_with(&r.loaded, &r.pages, &edits, false).unwrap();
            Some((r, red.doc, edits))
        })
        .collect();
    g.bench_function(format!("verify ({pages} pages)"), |b| {
        b.iter(|| {
            redacted
                .par_iter()
                .map(|(r, doc, edits)| disclose::pdf::core::verify(&r.pages, doc, edits).len())
                .sum::<usize>()
        })
    });
    // signing the bundle of an unsigned export
    let mut unsigned = p.req.clone();
    unsigned.sign = None;
    unsigned.out = p.dir.path().join("unsigned");
    export::build(&p.store, &unsigned).unwrap().staged.commit(false).unwrap();
    let bundle = std::fs::read(unsigned.out.join("bundle.pdf")).unwrap();
    let signer = disclose::seal::load_signer(
        &std::fs::read(p.dir.path().join("k.pem")).unwrap(),
        &std::fs::read(p.dir.path().join("c.pem")).unwrap(),
        "2026-01-15",
    )
    .unwrap();
    let opts = disclose::seal::SignOptions {
        signing_time: "2026-01-15T12:00:00Z".into(),
        reason: "bench".into(),
        location: "bench".into(),
        contact: String::new(),
        name: "bench".into(),
    };
    g.throughput(Throughput::Bytes(bundle.len() as u64));
    g.bench_function(format!("sign ({} MB bundle)", bundle.len() >> 20), |b| {
        b.iter(|| disclose::seal::sign_pdf_in_place(bundle.clone(), &signer, &opts).unwrap().len())
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("export, signed (bench family of issue 15)", |b| {
        b.iter(|| {
            let mut o = export::build(&p.store, &p.req).unwrap();
            o.staged.commit(false).unwrap();
            o.plan.disclosure.marks.len()
        })
    });
    g.finish();
}

criterion_group!(benches, detection, scale, rendering, attachment_redaction, export_end_to_end, stages);
criterion_main!(benches);
