//! Crash safety of the case store: a child process applies a scripted stream
//! of edits, printing `committed N` after each commit, and is killed with
//! SIGKILL at random moments. After each kill the database passes
//! `PRAGMA integrity_check`, holds every edit the child reported as committed
//! and its cell equals a pure replay of exactly the stored edits (nothing
//! half-applied).
//!
//! The child is this test binary itself, re-run with `crash_child` and the
//! environment variable `KARYOSTATION_CRASH_CHILD` naming the database.
//! 200 kills by default; `KARYOSTATION_CRASH_KILLS=N` for a longer run.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use karyostation::domain::case::{EditRequest, NewCase};
use karyostation::domain::karyogram::edit::{CellState, Edit};
use karyostation::domain::ports::CaseRepo;
use karyostation::domain::rng::Rng;
use karyostation::store::{OpenMode, SqliteCaseRepo, sample_metaphase};

const CHILD_ENV: &str = "KARYOSTATION_CRASH_CHILD";
const ACCESSION: &str = "CRASH-1";
const SEED: u64 = 0x5EED;

/// The k-th edit of the script, given the state it applies to.
fn scripted_edit(k: u64, state: &CellState) -> Edit {
    Edit::random(&mut Rng::new(SEED ^ (k * 0x9E37_79B9)), state)
}

#[test]
fn crash_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return; // Only does something when run as the child.
    };
    let mut repo = SqliteCaseRepo::open(Path::new(&path), OpenMode::Existing)
        .unwrap_or_else(|e| panic!("child open: {e}"));
    let detail = repo
        .case_detail(ACCESSION)
        .unwrap_or_else(|e| panic!("{e}"));
    let case = detail.summary.id;
    let m = detail.metaphases[0].id;
    let mut revision = detail.summary.revision;
    let mut out = std::io::stdout().lock();
    loop {
        let done = repo.edit_count(case).unwrap_or_else(|e| panic!("{e}"));
        let state = repo.cell(m).unwrap_or_else(|e| panic!("{e}"));
        let edit = scripted_edit(done, &state);
        let outcome = repo
            .apply_edit(&EditRequest {
                case,
                metaphase: Some(m),
                base_revision: revision,
                user: "crash".into(),
                reason: None,
                edit,
            })
            .unwrap_or_else(|e| panic!("child edit {done}: {e}"));
        revision = outcome.revision;
        let _ = writeln!(out, "committed {}", done + 1);
        let _ = out.flush();
    }
}

#[test]
fn crash_safety_under_sigkill() {
    let kills: u64 = std::env::var("KARYOSTATION_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = tmp.path().join("cases.sqlite");
    let initial = {
        let mut repo =
            SqliteCaseRepo::open(&path, OpenMode::Create).unwrap_or_else(|e| panic!("{e}"));
        repo.create_case(
            &NewCase {
                accession: ACCESSION.into(),
                ..NewCase::default()
            },
            "crash",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let meta = sample_metaphase(8, 1);
        repo.add_metaphase(ACCESSION, &meta, "crash")
            .unwrap_or_else(|e| panic!("{e}"));
        meta.cell
    };
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let mut rng = Rng::new(42);
    let mut reported_max = 0u64;
    let mut interrupted = 0u64;
    let started = Instant::now();
    for kill in 0..kills {
        let mut child = Command::new(&exe)
            .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn child: {e}"));
        let last = Arc::new(AtomicU64::new(0));
        let stdout = child.stdout.take();
        let reader = {
            let last = Arc::clone(&last);
            std::thread::spawn(move || {
                let Some(stdout) = stdout else { return };
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    // libtest may print "test crash_child ... " on the same line.
                    let n = line
                        .rfind("committed ")
                        .and_then(|i| line[i + "committed ".len()..].trim().parse().ok());
                    if let Some(n) = n {
                        last.store(n, Ordering::SeqCst);
                    }
                }
            })
        };
        // Random moment: four kills in five while edits stream (after the
        // first reported commit), the others at any moment of start-up.
        if !rng.next_u64().is_multiple_of(5) {
            let deadline = Instant::now() + Duration::from_secs(5);
            while last.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        std::thread::sleep(Duration::from_micros(rng.next_u64() % 20_000));
        child.kill().unwrap_or_else(|e| panic!("SIGKILL: {e}")); // SIGKILL on Unix
        let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
        let _ = reader.join();
        let reported = last.load(Ordering::SeqCst);
        if reported > reported_max {
            interrupted += 1;
        }
        assert!(
            status.code().is_none() || reported == 0,
            "kill {kill}: the child ended by itself ({status})"
        );
        reported_max = reported_max.max(reported);

        // Check with a plain connection first: integrity.
        let conn = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(check, "ok", "kill {kill}: integrity_check");
        drop(conn);
        let repo =
            SqliteCaseRepo::open(&path, OpenMode::Existing).unwrap_or_else(|e| panic!("{e}"));
        let detail = repo
            .case_detail(ACCESSION)
            .unwrap_or_else(|e| panic!("{e}"));
        let stored = repo
            .edit_count(detail.summary.id)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            stored >= reported_max,
            "kill {kill}: the child reported {reported_max} commits, the database holds {stored}"
        );
        assert!(
            stored <= reported_max + 1,
            "kill {kill}: {stored} stored, {reported} reported now, {reported_max} before"
        );
        // Nothing half-applied: the cell is exactly the replay of the stored edits,
        // and the revision counts them.
        let mut expected = initial.clone();
        for k in 0..stored {
            let e = scripted_edit(k, &expected);
            e.apply(&mut expected)
                .unwrap_or_else(|err| panic!("replay {k}: {err}"));
        }
        let cell = repo
            .cell(detail.metaphases[0].id)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cell, expected, "kill {kill}: cell after {stored} edits");
        assert_eq!(detail.summary.revision, 1 + stored, "kill {kill}: revision");
        reported_max = stored;
    }
    let repo = SqliteCaseRepo::open(&path, OpenMode::Existing).unwrap_or_else(|e| panic!("{e}"));
    let report = repo.verify().unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok(), "{:?}", report.problems);
    eprintln!(
        "{kills} SIGKILLs in {:.1} s; {reported_max} edits committed; {interrupted} kills interrupted a running edit stream",
        started.elapsed().as_secs_f64()
    );
    assert!(
        interrupted >= kills / 2,
        "too few kills landed while edits were streaming ({interrupted} of {kills})"
    );
}
