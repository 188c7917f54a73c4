//! Benches for the targets of the batch-and-speed issue: detection throughput (MB/s of case text,
//! family of 50 people), rendering (pages/s), attachment redaction (pages/s), and export end to end
//! (2,000 records and 40 five-page attachments, signed), and scale in people (a file, its detector
//! and its decisions for families of 2,000 and 20,000 people: the time per person should stay
//! flat). Run with `cargo bench`.

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
    let fam = family(dir.path(), Size { records: 600, attachments: 0, pages_per_attachment: 1, people: 50 });
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
        let fam = family(dir.path(), Size { records: 60, attachments: 0, pages_per_attachment: 1, people });
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
    synth::write_family(dir.path(), Size { records: 2000, attachments: 40, pages_per_attachment: 5, people: 50 })
        .unwrap();
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

criterion_group!(benches, detection, scale, rendering, attachment_redaction, export_end_to_end);
criterion_main!(benches);
