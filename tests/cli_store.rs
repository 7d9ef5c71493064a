//! The case database from the command line: create, import, list, show,
//! edit, undo, sign, amend, verify, backup, and bad databases.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{accept_open_flags, ks, text};

use karyostation::domain::synth::SynthConfig;

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

fn spread(dir: &Path) -> PathBuf {
    karyostation::demo::write_synthetic(dir, "spread", &SynthConfig::new(512, 384, 3))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_case_from_creation_to_amendment() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = tmp.path().join("db/cases.sqlite");
    let o = ks(&db, &["case", "list"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("no case database"), "{}", text(&o));
    assert!(!db.exists(), "listing must not create a database");

    let o = ks(
        &db,
        &[
            "case",
            "new",
            "--accession",
            "CG-1",
            "--patient-name",
            "Doe, Jane",
            "--user",
            "ann",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = ks(
        &db,
        &["case", "new", "--accession", "CG-1", "--user", "ann"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("already exists"), "{}", text(&o));

    // An unreadable image adds no cell and changes no cell; it is recorded
    // in the case as a failed import with its reason.
    let bad = tmp.path().join("bad.png");
    std::fs::write(&bad, b"not a png").unwrap_or_else(|e| panic!("{e}"));
    let before = json(&ks(&db, &["case", "show", "CG-1", "--json"]));
    assert_eq!(before["failed_imports"], serde_json::json!([]));
    let o = ks(
        &db,
        &[
            "case",
            "import",
            "CG-1",
            bad.to_str().unwrap_or(""),
            "--user",
            "ann",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("bad.png"), "{}", text(&o));
    assert!(
        text(&o).contains("recorded as failed import"),
        "{}",
        text(&o)
    );
    let after = json(&ks(&db, &["case", "show", "CG-1", "--json"]));
    assert_eq!(after["summary"], before["summary"]);
    assert_eq!(after["metaphases"], before["metaphases"]);
    let failed = &after["failed_imports"][0];
    assert_eq!(failed["file"], bad.display().to_string());
    assert_eq!(failed["user"], "ann");
    let reason = failed["reason"].as_str().unwrap_or("").to_string();
    assert!(!reason.is_empty());
    let o = ks(&db, &["case", "show", "CG-1"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("not imported 1\t{}\t{reason}", bad.display())),
        "{}",
        text(&o)
    );

    let png = spread(tmp.path());
    let o = ks(
        &db,
        &[
            "case",
            "import",
            "CG-1",
            png.to_str().unwrap_or(""),
            "--user",
            "ann",
            "--classifier",
            "builtin",
            "--entropy-threshold",
            "100",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let list = json(&ks(&db, &["case", "list", "--json"]));
    assert_eq!(list[0]["accession"], "CG-1");
    assert_eq!(list[0]["status"], "analysed");
    assert_eq!(list[0]["metaphases"], 1);
    let show = json(&ks(&db, &["case", "show", "CG-1", "--json"]));
    let m = show["metaphases"][0]["id"]
        .as_i64()
        .unwrap_or(-1)
        .to_string();
    let image = db
        .parent()
        .map(|d| d.join(show["metaphases"][0]["image_path"].as_str().unwrap_or("")));
    assert!(image.is_some_and(|p| p.is_file()));
    let rev = show["summary"]["revision"].as_u64().unwrap_or(0);

    // An edit, a stale edit, undo.
    let flip = r#"{"kind":"flip","object":0}"#;
    let o = ks(
        &db,
        &[
            "case",
            "edit",
            "CG-1",
            flip,
            "--metaphase",
            &m,
            "--user",
            "ann",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = ks(
        &db,
        &[
            "case",
            "edit",
            "CG-1",
            flip,
            "--metaphase",
            &m,
            "--revision",
            &rev.to_string(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("changed since revision"), "{}", text(&o));
    let o = ks(
        &db,
        &["case", "undo", "CG-1", "--metaphase", &m, "--user", "ann"],
    );
    assert!(o.status.success(), "{}", text(&o));

    // Open review flags block sign-off: accept them (recorded edits).
    let o = ks(
        &db,
        &["case", "sign", "CG-1", "--user", "bob", "--reason", "x"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("flagged"), "{}", text(&o));
    accept_open_flags(&db, "CG-1");

    // Sign-off: below the minimum counts only with a reason.
    let o = ks(&db, &["case", "sign", "CG-1", "--user", "bob"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("at least 20"), "{}", text(&o));
    let o = ks(
        &db,
        &[
            "case",
            "sign",
            "CG-1",
            "--user",
            "bob",
            "--reason",
            "limited material",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = ks(&db, &["case", "edit", "CG-1", flip, "--metaphase", &m]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("read-only"), "{}", text(&o));
    let o = ks(
        &db,
        &[
            "case",
            "amend",
            "CG-1",
            "--user",
            "ann",
            "--reason",
            "object 0 misclassified",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let show = json(&ks(&db, &["case", "show", "CG-1", "--json"]));
    assert_eq!(show["summary"]["version"], 2);
    assert_eq!(show["versions"][0]["status"], "amended");

    let o = ks(&db, &["db", "verify"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = tmp.path().join("backup.sqlite");
    let o = ks(&db, &["db", "backup", out.to_str().unwrap_or("")]);
    assert!(o.status.success(), "{}", text(&o));
    let o = ks(&db, &["db", "backup", out.to_str().unwrap_or("")]);
    assert_eq!(o.status.code(), Some(2));

    // Tamper with the signed version in the backup copy with plain SQL.
    let conn = rusqlite::Connection::open(&out).unwrap_or_else(|e| panic!("{e}"));
    conn.execute(
        "UPDATE metaphases SET karyotype = '46,XX' WHERE case_id = (SELECT id FROM cases WHERE version = 1)",
        [],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    drop(conn);
    let o = ks(&out, &["db", "verify"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("altered after signing"), "{}", text(&o));
}

#[test]
fn corrupt_and_newer_databases_get_a_clear_message_and_stay_as_they_are() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let corrupt = tmp.path().join("corrupt.sqlite");
    let junk = b"SQLite format 3\0 but then garbage ".repeat(300);
    std::fs::write(&corrupt, &junk).unwrap_or_else(|e| panic!("{e}"));
    let o = ks(&corrupt, &["case", "new", "--accession", "X"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("damaged"), "{}", text(&o));
    assert_eq!(std::fs::read(&corrupt).unwrap_or_default(), junk);

    let newer = tmp.path().join("newer.sqlite");
    assert!(
        ks(&newer, &["case", "new", "--accession", "X"])
            .status
            .success()
    );
    let conn = rusqlite::Connection::open(&newer).unwrap_or_else(|e| panic!("{e}"));
    conn.pragma_update(None, "user_version", 7)
        .unwrap_or_else(|e| panic!("{e}"));
    drop(conn);
    let o = ks(&newer, &["case", "list"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("newer"), "{}", text(&o));
}
