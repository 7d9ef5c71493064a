//! The case store: round trips, edits, undo/redo across restarts, stale
//! writes, review states, sign-off, amendment, tamper evidence, migration and
//! bad databases.

use std::path::{Path, PathBuf};
use std::time::Duration;

use karyostation::domain::case::{EditRequest, NewCase};
use karyostation::domain::chromosome::ChromosomeClass;
use karyostation::domain::ids::{CaseId, ObjectId};
use karyostation::domain::karyogram::edit::Edit;
use karyostation::domain::ports::CaseRepo;
use karyostation::domain::review::{CaseStatus, SignOffRules, UnmetRule};
use karyostation::store::{OpenMode, SqliteCaseRepo, StoreError, sample_metaphase};

fn db(dir: &Path) -> PathBuf {
    dir.join("cases.sqlite")
}

fn open(path: &Path) -> SqliteCaseRepo {
    SqliteCaseRepo::open(path, OpenMode::Create).unwrap_or_else(|e| panic!("open: {e}"))
}

fn new_case(repo: &mut SqliteCaseRepo, accession: &str) -> CaseId {
    repo.create_case(
        &NewCase {
            accession: accession.into(),
            patient_name: Some("Doe, Jane".into()),
            ..NewCase::default()
        },
        "ann",
    )
    .unwrap_or_else(|e| panic!("create: {e}"))
    .id
}

fn revision(repo: &SqliteCaseRepo, accession: &str) -> u64 {
    repo.case_detail(accession)
        .unwrap_or_else(|e| panic!("detail: {e}"))
        .summary
        .revision
}

fn edit(repo: &mut SqliteCaseRepo, case: CaseId, accession: &str, e: Edit) {
    let metaphase = repo
        .metaphase_ids(accession)
        .unwrap_or_default()
        .first()
        .copied();
    let base = revision(repo, accession);
    repo.apply_edit(&EditRequest {
        case,
        metaphase,
        base_revision: base,
        user: "ann".into(),
        reason: None,
        edit: e,
    })
    .unwrap_or_else(|err| panic!("edit: {err}"));
}

/// Resolves every entropy flag of the first cell by accepting the object.
fn accept_all(repo: &mut SqliteCaseRepo, case: CaseId, accession: &str) {
    let m = repo.metaphase_ids(accession).unwrap_or_default()[0];
    let cell = repo.cell(m).unwrap_or_else(|e| panic!("{e}"));
    for o in cell.objects.values().filter(|o| o.entropy_unresolved()) {
        edit(
            repo,
            case,
            accession,
            Edit::Accept {
                object: o.id,
                accepted: true,
            },
        );
    }
}

#[test]
fn every_edit_persists_and_undo_redo_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = db(tmp.path());
    let mut repo = open(&path);
    let case = new_case(&mut repo, "ACC-1");
    let m = repo
        .add_metaphase("ACC-1", &sample_metaphase(6, 1), "ann")
        .unwrap_or_else(|e| panic!("{e}"));
    let detail = repo.case_detail("ACC-1").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(detail.summary.status, CaseStatus::Analysed);
    let image = tmp.path().join(&detail.metaphases[0].image_path);
    assert!(
        image.exists(),
        "content-addressed image at {}",
        image.display()
    );
    assert_eq!(detail.metaphases[0].stage, Some((12.5, -3.0)));
    let original = repo.cell(m).unwrap_or_else(|e| panic!("{e}"));
    edit(
        &mut repo,
        case,
        "ACC-1",
        Edit::Reclassify {
            object: ObjectId(1),
            from: ChromosomeClass::from_index(1),
            to: ChromosomeClass::from_index(7),
        },
    );
    edit(
        &mut repo,
        case,
        "ACC-1",
        Edit::Flip {
            object: ObjectId(2),
        },
    );
    let edited = repo.cell(m).unwrap_or_else(|e| panic!("{e}"));
    drop(repo);

    // Reopen: exactly the last acknowledged state, and undo still works.
    let mut repo = open(&path);
    assert_eq!(repo.cell(m).unwrap_or_else(|e| panic!("{e}")), edited);
    let detail = repo.case_detail("ACC-1").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(detail.summary.status, CaseStatus::InReview);
    assert_eq!(detail.edits, 2);
    let r = revision(&repo, "ACC-1");
    let r = repo
        .undo(case, Some(m), r, "ann")
        .unwrap_or_else(|e| panic!("{e}"))
        .revision;
    drop(repo);
    let mut repo = open(&path);
    repo.undo(case, Some(m), r, "ann")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(repo.cell(m).unwrap_or_else(|e| panic!("{e}")), original);
    let r = revision(&repo, "ACC-1");
    assert!(matches!(
        repo.undo(case, Some(m), r, "ann"),
        Err(StoreError::NothingTo("undo"))
    ));
    drop(repo);
    let mut repo = open(&path);
    let r = revision(&repo, "ACC-1");
    let r = repo
        .redo(case, Some(m), r, "ann")
        .unwrap_or_else(|e| panic!("{e}"))
        .revision;
    repo.redo(case, Some(m), r, "ann")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(repo.cell(m).unwrap_or_else(|e| panic!("{e}")), edited);
    // Case karyotype edits.
    let base = revision(&repo, "ACC-1");
    repo.apply_edit(&EditRequest {
        case,
        metaphase: None,
        base_revision: base,
        user: "ann".into(),
        reason: Some("consensus of the cells".into()),
        edit: Edit::KaryotypeText {
            before: String::new(),
            after: "46,XX[20]".into(),
        },
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let detail = repo.case_detail("ACC-1").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(detail.summary.karyotype, "46,XX[20]");
    let metaphase_edit_count = repo.edit_count(case).unwrap_or_default();
    assert_eq!(metaphase_edit_count, 7);
    let report = repo.verify().unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok(), "{:?}", report.problems);
}

#[test]
fn a_stale_write_from_a_second_instance_is_refused() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = db(tmp.path());
    let mut a = open(&path);
    let case = new_case(&mut a, "ACC-2");
    let m = a
        .add_metaphase("ACC-2", &sample_metaphase(4, 2), "ann")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut b = open(&path);
    let base = revision(&a, "ACC-2");
    let request = |edit: Edit| EditRequest {
        case,
        metaphase: Some(m),
        base_revision: base,
        user: "ann".into(),
        reason: Some("banding".into()),
        edit,
    };
    a.apply_edit(&request(Edit::Flip {
        object: ObjectId(0),
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let stale = b.apply_edit(&request(Edit::Rotate {
        object: ObjectId(1),
        degrees: 90,
    }));
    match stale {
        Err(e @ StoreError::Stale { .. }) => {
            assert!(e.to_string().contains("reload"), "{e}");
        }
        other => panic!("expected a stale-revision refusal, got {other:?}"),
    }
    let cell = b.cell(m).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cell.objects[&ObjectId(1)].rotation_deg, 0);
}

#[test]
fn sign_off_rules_signature_read_only_and_amendment() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = db(tmp.path());
    let mut repo = open(&path);
    let case = new_case(&mut repo, "ACC-3");
    repo.add_metaphase("ACC-3", &sample_metaphase(4, 3), "ann")
        .unwrap_or_else(|e| panic!("{e}"));
    let rules = SignOffRules::default();
    match repo.sign("ACC-3", "bob", None, &rules) {
        Err(StoreError::Rules { unmet, .. }) => {
            assert!(unmet.contains(&UnmetRule::TooFewCounted {
                counted: 1,
                min: 20
            }));
            assert!(
                unmet
                    .iter()
                    .any(|u| matches!(u, UnmetRule::UnresolvedFlag { .. }))
            );
        }
        other => panic!("expected unmet rules, got {other:?}"),
    }
    accept_all(&mut repo, case, "ACC-3");
    let two = SignOffRules {
        two_person: true,
        ..rules.clone()
    };
    assert!(matches!(
        repo.sign("ACC-3", "ann", Some("limited material"), &two),
        Err(StoreError::Rules { .. })
    ));
    let signed = repo
        .sign("ACC-3", "bob", Some("limited material"), &two)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(signed.status, CaseStatus::Signed);
    let m = repo.metaphase_ids("ACC-3").unwrap_or_default()[0];
    let base = revision(&repo, "ACC-3");
    let refused = repo.apply_edit(&EditRequest {
        case,
        metaphase: Some(m),
        base_revision: base,
        user: "ann".into(),
        reason: None,
        edit: Edit::Flip {
            object: ObjectId(0),
        },
    });
    assert!(
        matches!(refused, Err(StoreError::CaseReadOnly { .. })),
        "{refused:?}"
    );
    assert!(matches!(
        repo.add_metaphase("ACC-3", &sample_metaphase(2, 9), "ann"),
        Err(StoreError::CaseReadOnly { .. })
    ));
    let before = repo.cell(m).unwrap_or_else(|e| panic!("{e}"));

    let amended = repo
        .amend("ACC-3", "ann", "wrong class for object 1")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(amended.version, 2);
    assert_eq!(amended.status, CaseStatus::InReview);
    let new_m = repo.metaphase_ids("ACC-3").unwrap_or_default()[0];
    assert_ne!(new_m, m);
    edit(
        &mut repo,
        amended.id,
        "ACC-3",
        Edit::Flip {
            object: ObjectId(0),
        },
    );
    // The signed version is intact and visible.
    assert_eq!(repo.cell(m).unwrap_or_else(|e| panic!("{e}")), before);
    let detail = repo.case_detail("ACC-3").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(detail.versions.len(), 2);
    assert_eq!(detail.versions[0].status, CaseStatus::Amended);
    let report = repo.verify().unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.signed_cases, 1);
    let list = repo
        .list_cases(Some("Doe"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].version, 2);
}

#[test]
fn tampering_with_a_signed_case_or_the_audit_trail_is_detected() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = db(tmp.path());
    let mut repo = open(&path);
    let case = new_case(&mut repo, "ACC-4");
    repo.add_metaphase("ACC-4", &sample_metaphase(4, 4), "ann")
        .unwrap_or_else(|e| panic!("{e}"));
    accept_all(&mut repo, case, "ACC-4");
    repo.sign("ACC-4", "bob", Some("test"), &SignOffRules::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(repo.verify().unwrap_or_else(|e| panic!("{e}")).ok());
    drop(repo);
    let backup = tmp.path().join("copy.sqlite");
    open(&path)
        .backup_to(&backup)
        .unwrap_or_else(|e| panic!("{e}"));

    // Plain SQL, as an outside tool would do it.
    let conn = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
    conn.execute("UPDATE objects SET class = '21' WHERE object_id = 0", [])
        .unwrap_or_else(|e| panic!("{e}"));
    drop(conn);
    let report = open(&path).verify().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("ACC-4") && p.contains("altered")),
        "{:?}",
        report.problems
    );

    let conn = rusqlite::Connection::open(&backup).unwrap_or_else(|e| panic!("{e}"));
    conn.execute("UPDATE audit SET user = 'mallory' WHERE seq = 2", [])
        .unwrap_or_else(|e| panic!("{e}"));
    drop(conn);
    let report = open(&backup).verify().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        report.problems.iter().any(|p| p.contains("audit event 2")),
        "{:?}",
        report.problems
    );

    // Cutting off the newest events and the sign-off record is noticed too.
    let cut = tmp.path().join("cut.sqlite");
    open(&path)
        .backup_to(&cut)
        .unwrap_or_else(|e| panic!("{e}"));
    let conn = rusqlite::Connection::open(&cut).unwrap_or_else(|e| panic!("{e}"));
    conn.execute_batch(
        "DELETE FROM audit WHERE seq >= (SELECT min(seq) FROM audit WHERE kind = 'edit');
         DELETE FROM signoffs;",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    drop(conn);
    let report = open(&cut).verify().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("has no audit event")),
        "{:?}",
        report.problems
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("sign-off record is gone")),
        "{:?}",
        report.problems
    );
}

#[test]
fn missing_corrupt_foreign_newer_and_locked_databases_are_reported_untouched() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let missing = tmp.path().join("none.sqlite");
    assert!(matches!(
        SqliteCaseRepo::open(&missing, OpenMode::Existing),
        Err(StoreError::Missing(_))
    ));
    assert!(!missing.exists());

    let corrupt = tmp.path().join("corrupt.sqlite");
    let junk = b"this is not a database, but some clinical notes".repeat(200);
    std::fs::write(&corrupt, &junk).unwrap_or_else(|e| panic!("{e}"));
    let err = SqliteCaseRepo::open(&corrupt, OpenMode::Existing).err();
    assert!(matches!(err, Some(StoreError::Damaged { .. })), "{err:?}");
    assert_eq!(std::fs::read(&corrupt).unwrap_or_default(), junk);

    let foreign = tmp.path().join("foreign.sqlite");
    let conn = rusqlite::Connection::open(&foreign).unwrap_or_else(|e| panic!("{e}"));
    conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        .unwrap_or_else(|e| panic!("{e}"));
    drop(conn);
    assert!(matches!(
        SqliteCaseRepo::open(&foreign, OpenMode::Existing),
        Err(StoreError::Foreign(_))
    ));

    let newer = tmp.path().join("newer.sqlite");
    drop(open(&newer));
    let conn = rusqlite::Connection::open(&newer).unwrap_or_else(|e| panic!("{e}"));
    conn.pragma_update(None, "user_version", 99)
        .unwrap_or_else(|e| panic!("{e}"));
    drop(conn);
    let err = SqliteCaseRepo::open(&newer, OpenMode::Existing).err();
    assert!(
        matches!(err, Some(StoreError::NewerSchema { found: 99, .. })),
        "{err:?}"
    );

    let locked = db(tmp.path());
    let mut repo =
        SqliteCaseRepo::open_with_timeout(&locked, OpenMode::Create, Duration::from_millis(100))
            .unwrap_or_else(|e| panic!("{e}"));
    let conn = rusqlite::Connection::open(&locked).unwrap_or_else(|e| panic!("{e}"));
    conn.execute_batch("BEGIN EXCLUSIVE; INSERT INTO users VALUES ('zed', 'analyst');")
        .unwrap_or_else(|e| panic!("{e}"));
    let err = repo
        .create_case(
            &NewCase {
                accession: "ACC-5".into(),
                ..NewCase::default()
            },
            "ann",
        )
        .err();
    assert!(matches!(err, Some(StoreError::Busy(_))), "{err:?}");
    conn.execute_batch("ROLLBACK;")
        .unwrap_or_else(|e| panic!("{e}"));
    new_case(&mut repo, "ACC-5");
}

#[test]
fn a_database_whose_folder_cannot_be_made_names_the_path() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // A file where the data folder should be: refused for root too.
    let blocker = tmp.path().join("data");
    std::fs::write(&blocker, b"not a folder").unwrap_or_else(|e| panic!("{e}"));
    let path = blocker.join("karyostation").join("cases.sqlite");
    let err = SqliteCaseRepo::open(&path, OpenMode::Create).err();
    assert!(
        matches!(err, Some(StoreError::CannotCreate { .. })),
        "{err:?}"
    );
    let text = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("KARYOSTATION_DB"), "{text}");
    assert_eq!(std::fs::read(&blocker).unwrap_or_default(), b"not a folder");
}

#[test]
fn a_write_protected_database_can_be_read_but_not_changed() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = db(tmp.path());
    let mut repo = open(&path);
    new_case(&mut repo, "ACC-6");
    drop(repo);
    let mut perms = std::fs::metadata(&path)
        .unwrap_or_else(|e| panic!("{e}"))
        .permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&path, perms.clone()).unwrap_or_else(|e| panic!("{e}"));
    let before = std::fs::read(&path).unwrap_or_default();
    let result = SqliteCaseRepo::open(&path, OpenMode::Existing);
    match result {
        Ok(mut repo) => {
            assert_eq!(repo.list_cases(None).map(|l| l.len()).ok(), Some(1));
            let err = repo
                .create_case(
                    &NewCase {
                        accession: "ACC-7".into(),
                        ..NewCase::default()
                    },
                    "ann",
                )
                .err();
            assert!(matches!(err, Some(StoreError::ReadOnly(_))), "{err:?}");
        }
        Err(e) => assert!(matches!(e, StoreError::ReadOnly(_)), "{e:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap_or_default(), before);
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_first_schema_database_is_backed_up_and_migrated() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/store/cases-v1.sqlite");
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = db(tmp.path());
    std::fs::copy(&fixture, &path).unwrap_or_else(|e| panic!("{}: {e}", fixture.display()));
    let conn = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let v: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap_or_default();
    assert_eq!(v, 1);
    drop(conn);
    let repo = open(&path);
    let backup = tmp.path().join("cases.sqlite.v1.bak");
    assert!(backup.exists(), "backup of the old file");
    let list = repo.list_cases(None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].accession, "V1-0001");
    let detail = repo
        .case_detail("V1-0001")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(detail.metaphases.len(), 1);
    assert_eq!(detail.metaphases[0].stage, None);
    let report = repo.verify().unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok(), "{:?}", report.problems);
    // The export salt (migration 3) is made once and then stays.
    let mut repo = repo;
    let salt = repo.export_salt().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(salt.len(), 64);
    drop(repo);
    let mut repo = open(&path);
    assert_eq!(repo.export_salt().ok(), Some(salt));
    assert!(repo.verify().is_ok_and(|r| r.ok()));
    drop(repo);
    let conn = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let v: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap_or_default();
    assert_eq!(v, karyostation::store::migrations::LATEST);
    let conn = rusqlite::Connection::open(&backup).unwrap_or_else(|e| panic!("{e}"));
    let v: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap_or_default();
    assert_eq!(v, 1, "the backup keeps the old schema");
}

/// Writes `tests/data/store/cases-v1.sqlite` (run once, by hand):
/// `cargo test --test store make_v1_fixture -- --ignored`.
#[test]
#[ignore = "writes the checked-in fixture"]
fn make_v1_fixture() {
    use karyostation::domain::review::{GENESIS_HASH, chain_hash};
    use karyostation::store::audit_content;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/store/cases-v1.sqlite");
    let _ = std::fs::remove_file(&path);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
    }
    let conn = SqliteCaseRepo::create_at_version(&path, 1).unwrap_or_else(|e| panic!("{e}"));
    let at = "2026-01-02T03:04:05.000Z";
    conn.execute_batch(&format!(
        "INSERT INTO users VALUES ('ann', 'analyst');
         INSERT INTO cases (id, accession, version, patient_name, status, revision, karyotype,
            analyst, created_at, created_by)
         VALUES (1, 'V1-0001', 1, 'Old, Patient', 'analysed', 1, '', 'ann', '{at}', 'ann');
         INSERT INTO metaphases (id, case_id, source_name, image_sha256, image_path, width, height,
            modality, analysed, karyotype)
         VALUES (1, 1, 'old.png', 'ab', 'images/ab/ab.png', 10, 10, 'brightfield', 1, '46,XX');
         INSERT INTO objects VALUES (1, 0, '1', '1', 0, 'p_up', 0,
            '{{\"bbox\":[1,1,2,1],\"counts\":[0,2]}}', '[]', '[]', '[]', NULL, 0,
            'builtin-classical', '1', 'builtin', '1', 1);"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let payload = r#"{"accession":"V1-0001","version":1}"#;
    let hash = chain_hash(
        GENESIS_HASH,
        &audit_content(1, Some(1), at, "ann", "case_created", payload),
    );
    conn.execute(
        "INSERT INTO audit VALUES (1, 1, ?, 'ann', 'case_created', ?, ?, ?)",
        rusqlite::params![at, payload, GENESIS_HASH, hash],
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn failed_imports_are_recorded_listed_after_a_restart_dismissed_and_never_cells() {
    use karyostation::domain::ids::FailedImportId;
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = db(tmp.path());
    let mut repo = open(&path);
    let case = new_case(&mut repo, "ACC-F");
    repo.add_metaphase("ACC-F", &sample_metaphase(4, 1), "ann")
        .unwrap_or_else(|e| panic!("{e}"));
    let rev = revision(&repo, "ACC-F");
    let rules = SignOffRules::default();
    let unmet_before = repo
        .sign_off_check("ACC-F", "bob", None, &rules)
        .unwrap_or_else(|e| panic!("{e}"));
    let first = repo
        .record_failed_import(
            "ACC-F",
            "/scans/broken.png",
            "the image is truncated or corrupt",
            "ann",
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let second = repo
        .record_failed_import("ACC-F", "/scans/huge.tif", "too many pixels", "carl")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        repo.record_failed_import("NO-SUCH", "x.png", "r", "ann"),
        Err(StoreError::NoSuchCase(_))
    ));
    drop(repo);

    // After a restart: listed with the case, oldest first, and not cells.
    let mut repo = open(&path);
    let detail = repo.case_detail("ACC-F").unwrap_or_else(|e| panic!("{e}"));
    let failed: Vec<(FailedImportId, &str, &str, &str)> = detail
        .failed_imports
        .iter()
        .map(|f| (f.id, f.file.as_str(), f.reason.as_str(), f.user.as_str()))
        .collect();
    assert_eq!(
        failed,
        vec![
            (
                first,
                "/scans/broken.png",
                "the image is truncated or corrupt",
                "ann"
            ),
            (second, "/scans/huge.tif", "too many pixels", "carl"),
        ]
    );
    assert!(detail.failed_imports[0].at.ends_with('Z'));
    assert_eq!(detail.metaphases.len(), 1);
    assert_eq!(detail.summary.metaphases, 1);
    assert_eq!(detail.summary.revision, rev, "no cell changed");
    assert_eq!(
        repo.sign_off_check("ACC-F", "bob", None, &rules)
            .unwrap_or_else(|e| panic!("{e}")),
        unmet_before,
        "sign-off counts no failed import"
    );
    assert_eq!(repo.list_cases(None).unwrap_or_default()[0].metaphases, 1);

    // Dismissed: gone, once; both steps are in the audit trail.
    repo.dismiss_failed_import(first, "bob")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        repo.dismiss_failed_import(first, "bob"),
        Err(StoreError::NoSuchFailedImport(id)) if id == first
    ));
    let detail = repo.case_detail("ACC-F").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        detail
            .failed_imports
            .iter()
            .map(|f| f.id)
            .collect::<Vec<_>>(),
        vec![second]
    );
    let conn = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let events: Vec<(String, String, String)> = conn
        .prepare(
            "SELECT kind, user, payload FROM audit
             WHERE case_id = ? AND kind LIKE '%failed%' ORDER BY seq",
        )
        .and_then(|mut st| {
            st.query_map([case.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|(k, u, _)| (k.as_str(), u.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("import_failed", "ann"),
            ("import_failed", "carl"),
            ("failed_import_dismissed", "bob"),
        ]
    );
    assert!(events[2].2.contains("broken.png"), "{}", events[2].2);
    let report = repo.verify().unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok(), "{:?}", report.problems);

    // A signed case keeps its record as signed; an amendment carries it.
    accept_all(&mut repo, case, "ACC-F");
    repo.sign("ACC-F", "bob", Some("test"), &rules)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        repo.dismiss_failed_import(second, "bob"),
        Err(StoreError::CaseReadOnly { .. })
    ));
    assert!(matches!(
        repo.record_failed_import("ACC-F", "late.png", "r", "ann"),
        Err(StoreError::CaseReadOnly { .. })
    ));
    repo.amend("ACC-F", "ann", "recount")
        .unwrap_or_else(|e| panic!("{e}"));
    let amended = repo.case_detail("ACC-F").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(amended.failed_imports.len(), 1);
    assert_eq!(amended.failed_imports[0].file, "/scans/huge.tif");
    let carried = amended.failed_imports[0].id;
    repo.dismiss_failed_import(carried, "ann")
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        repo.case_detail("ACC-F")
            .unwrap_or_else(|e| panic!("{e}"))
            .failed_imports
            .is_empty()
    );
    let report = repo.verify().unwrap_or_else(|e| panic!("{e}"));
    assert!(report.ok(), "{:?}", report.problems);
}
