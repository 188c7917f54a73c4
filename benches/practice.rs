//! Bench for the recording-practice check on a 2,000-record synthetic family (`disclose synth`,
//! 50 people): the check alone (detector built), and what `disclose practice` does after opening
//! the store (load the family, build the detector, check, write the CSV and the HTML in memory).
//! The target is under a second. Run with `cargo bench --bench practice`.

use criterion::{criterion_group, criterion_main, Criterion};
use disclose::detect::Detector;
use disclose::model::ExportId;
use disclose::practice::{self, Practice};
use disclose::store::Store;
use disclose::synth::{self, Size};

fn practice_check(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    synth::write_family(dir.path(), Size::own(2000, 0, 1, 50)).unwrap();
    let db = dir.path().join("case.db");
    let mut store = Store::open(&db).unwrap();
    disclose::import::import_file(&mut store, &dir.path().join("export.json"), false).unwrap();
    let export = ExportId("exp-synth-2000".into());
    let pr = Practice::shipped();
    let fam = store.load_family(&export).unwrap();
    let det = Detector::new(&fam);
    let mut g = c.benchmark_group("practice");
    g.sample_size(20);
    g.bench_function("check, 2,000 records", |b| b.iter(|| practice::check(&fam, &det, &pr, None).findings.len()));
    g.bench_function("load, detector, check and report, 2,000 records", |b| {
        b.iter(|| {
            let fam = store.load_family(&export).unwrap();
            let det = Detector::new(&fam);
            let r = practice::check(&fam, &det, &pr, None);
            practice::report::csv(&r, &fam).len() + practice::report::html(&r, &fam, &pr).len()
        })
    });
    g.finish();
}

criterion_group!(benches, practice_check);
criterion_main!(benches);
