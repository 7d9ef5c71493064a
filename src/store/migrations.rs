//! The schema, as numbered migrations. `PRAGMA user_version` holds the
//! number of the last one applied. Migrations run in one transaction, after
//! an online backup of the old file (see `SqliteCaseRepo::open`).

/// Migration `n` (1-based) is `MIGRATIONS[n - 1]`.
pub const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r"
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('analyst', 'reviewer'))
);
CREATE TABLE cases (
    id INTEGER PRIMARY KEY,
    accession TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    patient_name TEXT,
    patient_id TEXT,
    specimen TEXT,
    indication TEXT,
    band_level INTEGER,
    status TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 0,
    karyotype TEXT NOT NULL DEFAULT '',
    analyst TEXT REFERENCES users(name),
    amends INTEGER REFERENCES cases(id),
    amend_reason TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(name),
    UNIQUE (accession, version)
);
CREATE TABLE metaphases (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    source_name TEXT NOT NULL,
    image_sha256 TEXT NOT NULL,
    image_path TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    modality TEXT NOT NULL,
    analysed INTEGER NOT NULL DEFAULT 1,
    karyotype TEXT NOT NULL
);
CREATE TABLE objects (
    metaphase_id INTEGER NOT NULL REFERENCES metaphases(id),
    object_id INTEGER NOT NULL,
    class TEXT,
    proposed TEXT,
    slot INTEGER NOT NULL,
    polarity TEXT NOT NULL,
    rotation INTEGER NOT NULL,
    mask_rle TEXT NOT NULL,
    polygon TEXT NOT NULL,
    probabilities TEXT NOT NULL,
    flags TEXT NOT NULL,
    rejected TEXT,
    accepted INTEGER NOT NULL,
    segmenter TEXT NOT NULL,
    segmenter_version TEXT NOT NULL,
    classifier TEXT NOT NULL,
    classifier_version TEXT NOT NULL,
    revision INTEGER NOT NULL,
    PRIMARY KEY (metaphase_id, object_id)
);
CREATE TABLE segment_rejects (
    id INTEGER PRIMARY KEY,
    metaphase_id INTEGER NOT NULL REFERENCES metaphases(id),
    reason TEXT NOT NULL,
    mask_rle TEXT NOT NULL
);
CREATE TABLE edits (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    metaphase_id INTEGER REFERENCES metaphases(id),
    base_revision INTEGER NOT NULL,
    user TEXT NOT NULL REFERENCES users(name),
    at TEXT NOT NULL,
    reason TEXT,
    kind TEXT NOT NULL,
    edit TEXT NOT NULL
);
CREATE TABLE signoffs (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL UNIQUE REFERENCES cases(id),
    user TEXT NOT NULL REFERENCES users(name),
    at TEXT NOT NULL,
    reason TEXT,
    rules TEXT NOT NULL,
    content_hash TEXT NOT NULL
);
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    case_id INTEGER,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
",
    // 2: stage coordinates and image quality per metaphase; indexes for
    // listing, searching and undo.
    r"
ALTER TABLE metaphases ADD COLUMN stage_x REAL;
ALTER TABLE metaphases ADD COLUMN stage_y REAL;
ALTER TABLE metaphases ADD COLUMN quality REAL;
CREATE INDEX cases_by_accession ON cases (accession, version);
CREATE INDEX metaphases_by_case ON metaphases (case_id);
CREATE INDEX edits_by_scope ON edits (case_id, metaphase_id, id);
",
    // 3: the salt that replaces case ids in de-identified exports (one row,
    // created on the first training export; it never leaves this file).
    r"
CREATE TABLE export_salt (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    salt TEXT NOT NULL,
    created_at TEXT NOT NULL
);
",
    // 4: the polarity the analysis proposed, so that a polarity flag counts
    // as resolved once the reviewer flips the object (NULL for objects
    // stored before).
    r"
ALTER TABLE objects ADD COLUMN proposed_polarity TEXT;
",
    // 5: files an import could not turn into cells, with the reason, until
    // the technologist dismisses them (they are never cells).
    r"
CREATE TABLE failed_imports (
    id INTEGER PRIMARY KEY,
    case_id INTEGER NOT NULL REFERENCES cases(id),
    file TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL,
    user TEXT NOT NULL REFERENCES users(name)
);
CREATE INDEX failed_imports_by_case ON failed_imports (case_id, id);
",
];

/// The schema version this build writes.
pub const LATEST: u32 = MIGRATIONS.len() as u32;
