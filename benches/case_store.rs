//! Case store: open a database holding 10,000 cases, list them all and
//! search them. Target: at most 50 ms for open + list, and for a search.
//!
//! Run with `cargo bench --bench case_store`. A plain harness on purpose
//! (shared machines): medians over repeated runs, never a timed unit test.

use std::time::Instant;

use karyostation::domain::case::NewCase;
use karyostation::domain::ports::CaseRepo;
use karyostation::store::{OpenMode, SqliteCaseRepo};

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this once, quickly.
    let full = std::env::args().any(|a| a == "--bench");
    let (cases, runs) = if full { (10_000, 21) } else { (500, 3) };
    let tmp = tempfile::tempdir().expect("temp dir");
    let path = tmp.path().join("cases.sqlite");
    {
        let mut repo = SqliteCaseRepo::open(&path, OpenMode::Create).expect("create");
        let batch: Vec<NewCase> = (0..cases)
            .map(|i| NewCase {
                accession: format!("CG-{i:06}"),
                patient_name: Some(format!("Patient {i}")),
                patient_id: Some(format!("P{:07}", i * 7)),
                specimen: Some("peripheral blood".into()),
                ..NewCase::default()
            })
            .collect();
        repo.create_cases(&batch, "bench").expect("populate");
    }
    let mut open_list = Vec::new();
    let mut search = Vec::new();
    let mut listed = 0;
    let mut found = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let repo = SqliteCaseRepo::open(&path, OpenMode::Existing).expect("open");
        listed = repo.list_cases(None).expect("list").len();
        open_list.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        found = repo.list_cases(Some("Patient 42")).expect("search").len();
        search.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (m, lo, hi) = median(open_list);
    println!(
        "case store, {cases} cases: open (with quick_check) + list all ({listed}): median {m:.1} ms, min {lo:.1}, max {hi:.1} over {runs} runs"
    );
    let (m, lo, hi) = median(search);
    println!(
        "case store, {cases} cases: search \"Patient 42\" ({found} hits): median {m:.1} ms, min {lo:.1}, max {hi:.1}"
    );
}
