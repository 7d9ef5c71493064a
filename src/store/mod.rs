//! The case store on SQLite: one database file, images in a content-addressed
//! folder beside it (`<db dir>/images/<sha256[0..2]>/<sha256>.<ext>`).
//!
//! Opening: WAL journal, `synchronous = FULL`, foreign keys, a busy timeout;
//! `PRAGMA quick_check` before anything is written (a damaged file is
//! reported and never touched); the schema version in `PRAGMA user_version`;
//! older schemas are backed up with the online backup API
//! (`<db>.v<N>.bak`, never overwriting an older backup) and migrated in one
//! transaction. Every mutating call is one `BEGIN IMMEDIATE` transaction;
//! edits check the case revision they were based on (optimistic concurrency).

pub mod migrations;
pub mod rle;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, Transaction, params};

use crate::domain::case::{
    CaseDetail, CaseSummary, EditOutcome, EditRequest, FailedImport, MetaphaseSummary, NewCase,
    NewMetaphase, SignOff, VerifyReport,
};
use crate::domain::chromosome::{ChromosomeClass, Polarity};
use crate::domain::ids::{CaseId, EditId, FailedImportId, MetaphaseId, ObjectId};
use crate::domain::karyogram::edit::{
    CellObject, CellState, Edit, EditError, Producer, next_redo, next_undo,
};
use crate::domain::modality::Modality;
use crate::domain::ports::{CaseRepo, ModelInfo};
use crate::domain::review::{
    CaseStatus, GENESIS_HASH, Role, SignOffFacts, SignOffRules, UnmetRule, chain_hash, sha256_hex,
    unmet_rules,
};
use rle::Rle;

/// Environment variable naming the database file (overridden by `--db`).
pub const DB_ENV: &str = "KARYOSTATION_DB";

/// Everything that can go wrong in the case store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no case database at {0}: `karyostation case new` creates one")]
    Missing(PathBuf),
    #[error(
        "the case database {path} is damaged ({detail}); it was not changed: restore it from a backup"
    )]
    Damaged { path: PathBuf, detail: String },
    #[error(
        "the case database {path} has schema version {found}, newer than this KaryoStation understands ({supported}); use a newer KaryoStation"
    )]
    NewerSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("{0} is not a KaryoStation case database")]
    Foreign(PathBuf),
    #[error(
        "the case database {0} is busy (locked by another program); nothing was changed, try again"
    )]
    Busy(PathBuf),
    #[error("the case database {0} is read-only; nothing was changed")]
    ReadOnly(PathBuf),
    #[error("no case with accession {0}")]
    NoSuchCase(String),
    #[error("no metaphase {0}")]
    NoSuchMetaphase(MetaphaseId),
    #[error("no failed import {0} (already dismissed?)")]
    NoSuchFailedImport(FailedImportId),
    #[error("a case with accession {0} already exists")]
    CaseExists(String),
    #[error(
        "case {accession} changed since revision {based_on} (now revision {current}), probably in another window; nothing was changed: reload and redo the edit"
    )]
    Stale {
        accession: String,
        based_on: u64,
        current: u64,
    },
    #[error(
        "case {accession} version {version} is {status} and read-only; `case amend` starts a new version"
    )]
    CaseReadOnly {
        accession: String,
        version: u32,
        status: CaseStatus,
    },
    #[error("case {accession} cannot be signed: {}", crate::domain::review::describe_unmet(.unmet))]
    Rules {
        accession: String,
        unmet: Vec<UnmetRule>,
    },
    #[error("case {accession} is {status}: {action} needs {needs}")]
    WrongState {
        accession: String,
        status: CaseStatus,
        action: &'static str,
        needs: &'static str,
    },
    #[error("nothing to {0}")]
    NothingTo(&'static str),
    #[error("the edit does not fit the stored cell: {0}")]
    Edit(#[from] EditError),
    #[error(
        "the case database {path} cannot be created: {reason}; make its folder writable, or choose another database with --db PATH or KARYOSTATION_DB"
    )]
    CannotCreate { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} already exists; choose a new file name")]
    Exists(PathBuf),
    #[error("stored data cannot be read: {0}")]
    Corrupt(String),
    #[error("case database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// The default database file: `$KARYOSTATION_DB`, else `cases.sqlite` in the
/// platform data directory (`~/.local/share/karyostation/` on Linux).
pub fn default_db_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(DB_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    crate::fsutil::user_data_dir().map(|d| d.join("cases.sqlite"))
}

/// How to open the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create the file (and its folder) when missing.
    Create,
    /// The file must exist.
    Existing,
}

/// Now, as UTC `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn now() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

fn class_text(c: Option<ChromosomeClass>) -> Option<&'static str> {
    c.map(ChromosomeClass::label)
}

fn parse_class(text: Option<String>) -> Option<ChromosomeClass> {
    text.and_then(|t| ChromosomeClass::parse(&t))
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// 32 random bytes as hex: from the operating system's generator where there
/// is one (`/dev/urandom`), else from the standard library's randomly keyed
/// hasher mixed with the time, the process and `path`.
fn random_hex(path: &Path) -> String {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    let from_os = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_ok();
    if !from_os {
        use std::hash::{BuildHasher, Hasher};
        let mut seed = Vec::new();
        for k in 0..8u64 {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(k);
            seed.extend_from_slice(&h.finish().to_le_bytes());
        }
        seed.extend_from_slice(now().as_bytes());
        seed.extend_from_slice(&std::process::id().to_le_bytes());
        seed.extend_from_slice(path.as_os_str().to_string_lossy().as_bytes());
        return sha256_hex(&seed);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A case version chosen for a training export.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingCase {
    pub id: CaseId,
    pub accession: String,
    pub version: u32,
    pub status: CaseStatus,
    pub signed_at: Option<String>,
    /// Every version of the accession, oldest first (this one last): the
    /// corrections of a signed-then-amended case are spread over them.
    pub versions: Vec<CaseId>,
}

/// The SQLite case repository.
pub struct SqliteCaseRepo {
    conn: Connection,
    path: PathBuf,
}

struct CaseRow {
    id: CaseId,
    accession: String,
    version: u32,
    status: CaseStatus,
    revision: u64,
}

impl SqliteCaseRepo {
    /// Opens (or creates) the database at `path`, checks it and migrates it.
    ///
    /// # Errors
    /// Missing (with `OpenMode::Existing`), damaged, foreign, newer-schema,
    /// busy or read-only databases, each with its own variant.
    pub fn open(path: &Path, mode: OpenMode) -> Result<Self, StoreError> {
        Self::open_with_timeout(path, mode, Duration::from_secs(5))
    }

    /// As [`open`](Self::open) with a given busy timeout.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with_timeout(
        path: &Path,
        mode: OpenMode,
        busy: Duration,
    ) -> Result<Self, StoreError> {
        let exists = path.exists();
        if !exists && mode == OpenMode::Existing {
            return Err(StoreError::Missing(path.to_path_buf()));
        }
        if !exists && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::CannotCreate {
                path: path.to_path_buf(),
                reason: format!("its folder {} cannot be made ({e})", dir.display()),
            })?;
        }
        // A write-protected file is opened read-only: reading works, every
        // write is refused with `StoreError::ReadOnly`.
        let write_protected =
            exists && std::fs::metadata(path).is_ok_and(|m| m.permissions().readonly());
        let mut flags = OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if write_protected {
            flags |= OpenFlags::SQLITE_OPEN_READ_ONLY;
        } else {
            flags |= OpenFlags::SQLITE_OPEN_READ_WRITE;
            if mode == OpenMode::Create {
                flags |= OpenFlags::SQLITE_OPEN_CREATE;
            }
        }
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| map_sql(path, StoreError::Sqlite(e)))?;
        let mut repo = Self {
            conn,
            path: path.to_path_buf(),
        };
        repo.prepare(busy).map_err(|e| map_sql(path, e))?;
        Ok(repo)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The folder holding the database (images live in `images/` there).
    pub fn dir(&self) -> PathBuf {
        self.path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }

    fn prepare(&mut self, busy: Duration) -> Result<(), StoreError> {
        self.conn.busy_timeout(busy)?;
        let damaged = |detail: String| StoreError::Damaged {
            path: self.path.clone(),
            detail,
        };
        let check: String = self
            .conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| match e.sqlite_error_code() {
                Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
                    damaged(e.to_string())
                }
                _ => StoreError::Sqlite(e),
            })?;
        if check != "ok" {
            return Err(damaged(check));
        }
        self.conn.pragma_update(None, "foreign_keys", true)?;
        let version: u32 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > migrations::LATEST {
            return Err(StoreError::NewerSchema {
                path: self.path.clone(),
                found: version,
                supported: migrations::LATEST,
            });
        }
        let tables: i64 = self.conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?;
        if version == 0 && tables > 0 {
            return Err(StoreError::Foreign(self.path.clone()));
        }
        let read_only = self.conn.is_readonly(rusqlite::MAIN_DB)?;
        if read_only {
            if version < migrations::LATEST {
                return Err(StoreError::ReadOnly(self.path.clone()));
            }
            return Ok(());
        }
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt(format!(
                "cannot switch to WAL journal (got {mode})"
            )));
        }
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        if version < migrations::LATEST {
            self.migrate(version, migrations::LATEST)?;
        }
        Ok(())
    }

    /// Applies migrations `from+1 ..= to` in one transaction, after backing up
    /// a non-empty database.
    fn migrate(&mut self, from: u32, to: u32) -> Result<(), StoreError> {
        if from > 0 {
            let backup = self.free_backup_name(from);
            self.conn.backup(
                rusqlite::MAIN_DB,
                &backup,
                None::<fn(rusqlite::backup::Progress)>,
            )?;
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
        let current: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        // Another process may have migrated meanwhile.
        if current == from {
            for (i, sql) in migrations::MIGRATIONS
                .iter()
                .enumerate()
                .take(to as usize)
                .skip(from as usize)
            {
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn free_backup_name(&self, version: u32) -> PathBuf {
        let base = self.path.as_os_str().to_string_lossy().into_owned();
        let mut candidate = PathBuf::from(format!("{base}.v{version}.bak"));
        let mut k = 1;
        while candidate.exists() {
            candidate = PathBuf::from(format!("{base}.v{version}.bak{k}"));
            k += 1;
        }
        candidate
    }

    /// Creates a database file at a given schema version (tests and the
    /// migration fixture).
    ///
    /// # Errors
    /// When the file exists or cannot be written.
    pub fn create_at_version(path: &Path, version: u32) -> Result<Connection, StoreError> {
        if path.exists() {
            return Err(StoreError::Exists(path.to_path_buf()));
        }
        let mut conn = Connection::open(path)?;
        let tx = conn.transaction()?;
        for (i, sql) in migrations::MIGRATIONS
            .iter()
            .enumerate()
            .take(version as usize)
        {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        tx.commit()?;
        Ok(conn)
    }

    /// Copies the database to `out` with the online backup API.
    ///
    /// # Errors
    /// When `out` exists or cannot be written.
    pub fn backup_to(&self, out: &Path) -> Result<(), StoreError> {
        if out.exists() {
            return Err(StoreError::Exists(out.to_path_buf()));
        }
        self.conn
            .backup(
                rusqlite::MAIN_DB,
                out,
                None::<fn(rusqlite::backup::Progress)>,
            )
            .map_err(|e| map_sql(&self.path, StoreError::Sqlite(e)))
    }

    /// Stores the image bytes in the content-addressed folder; returns the
    /// sha256 and the path relative to the database folder.
    fn store_image(&self, bytes: &[u8], ext: &str) -> Result<(String, String), StoreError> {
        let sha = sha256_hex(bytes);
        let ext: String = ext
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect::<String>()
            .to_ascii_lowercase();
        let ext = if ext.is_empty() { "img".into() } else { ext };
        let rel = format!("images/{}/{sha}.{ext}", &sha[..2]);
        let full = self.dir().join(&rel);
        if !full.exists() {
            let io = |path: &Path| {
                let path = path.to_path_buf();
                move |source| StoreError::Io { path, source }
            };
            let folder = full.parent().map_or_else(|| self.dir(), Path::to_path_buf);
            std::fs::create_dir_all(&folder).map_err(io(&folder))?;
            crate::fsutil::write_atomic(&full, bytes).map_err(io(&full))?;
        }
        Ok((sha, rel))
    }

    fn wrap<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        result.map_err(|e| map_sql(&self.path, e))
    }

    /// Creates many cases in one transaction (bulk import, benchmarks).
    ///
    /// # Errors
    /// As `create_case`.
    pub fn create_cases(&mut self, cases: &[NewCase], user: &str) -> Result<(), StoreError> {
        let r = (|| {
            let tx = self.begin()?;
            for case in cases {
                create_case_tx(&tx, case, user)?;
            }
            tx.commit()?;
            Ok(())
        })();
        self.wrap(r)
    }

    fn begin(&mut self) -> Result<Transaction<'_>, StoreError> {
        Ok(self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
    }

    /// The ids of the metaphases of the latest version of a case.
    ///
    /// # Errors
    /// When there is no such case.
    pub fn metaphase_ids(&self, accession: &str) -> Result<Vec<MetaphaseId>, StoreError> {
        let r = (|| {
            let case = latest_case(&self.conn, accession)?;
            let mut st = self
                .conn
                .prepare_cached("SELECT id FROM metaphases WHERE case_id = ? ORDER BY id")?;
            let ids = st
                .query_map([case.id.0], |r| Ok(MetaphaseId(r.get(0)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ids)
        })();
        self.wrap(r)
    }

    /// The stored image of a metaphase (absolute path) and its modality.
    ///
    /// # Errors
    /// When there is no such metaphase or its modality is unknown.
    pub fn metaphase_image(
        &self,
        metaphase: MetaphaseId,
    ) -> Result<(PathBuf, Modality), StoreError> {
        let r = (|| {
            let (path, modality): (String, String) = self
                .conn
                .prepare_cached("SELECT image_path, modality FROM metaphases WHERE id = ?")?
                .query_row([metaphase.0], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
                .ok_or(StoreError::NoSuchMetaphase(metaphase))?;
            let modality = match modality.as_str() {
                "brightfield" => Modality::Brightfield,
                "fluorescence" => Modality::Fluorescence,
                other => {
                    return Err(StoreError::Corrupt(format!(
                        "metaphase {metaphase}: unknown modality {other:?}"
                    )));
                }
            };
            Ok((self.dir().join(path), modality))
        })();
        self.wrap(r)
    }

    /// The metaphases of one case version, in import order.
    ///
    /// # Errors
    /// When the store fails.
    pub fn case_metaphases(&self, case: CaseId) -> Result<Vec<MetaphaseId>, StoreError> {
        let r = (|| {
            let mut st = self
                .conn
                .prepare_cached("SELECT id FROM metaphases WHERE case_id = ? ORDER BY id")?;
            let ids = st
                .query_map([case.0], |r| Ok(MetaphaseId(r.get(0)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ids)
        })();
        self.wrap(r)
    }

    /// The stored edits of a cell (or, with `None`, of the case karyotype),
    /// oldest first, undo and redo included.
    ///
    /// # Errors
    /// When the store fails or an edit cannot be read.
    pub fn edit_history(
        &self,
        case: CaseId,
        metaphase: Option<MetaphaseId>,
    ) -> Result<Vec<(EditId, Edit)>, StoreError> {
        self.wrap(history(&self.conn, case, metaphase))
    }

    /// The case versions a training export takes: the signed ones (the
    /// latest version of each accession, when it is signed), or with
    /// `include_unsigned` the latest version of every accession. `since`
    /// (`YYYY-MM-DD`) keeps versions signed on or after that day; unsigned
    /// ones count from their last edit (or creation). Ordered by accession.
    ///
    /// # Errors
    /// When the store fails.
    pub fn training_cases(
        &self,
        include_unsigned: bool,
        since: Option<&str>,
    ) -> Result<Vec<TrainingCase>, StoreError> {
        let r = (|| {
            let mut st = self.conn.prepare_cached(
                "SELECT c.id, c.accession, c.version, c.status, s.at,
                    max(c.created_at, coalesce((SELECT max(e.at) FROM edits e WHERE e.case_id = c.id), ''))
                 FROM cases c LEFT JOIN signoffs s ON s.case_id = c.id
                 WHERE c.version = (SELECT max(version) FROM cases v WHERE v.accession = c.accession)
                 ORDER BY c.accession",
            )?;
            let rows = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, u32>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            drop(st);
            let mut out = Vec::new();
            for (id, accession, version, status, signed_at, touched_at) in rows {
                let status = CaseStatus::parse(&status).ok_or_else(|| {
                    StoreError::Corrupt(format!("unknown case status {status:?}"))
                })?;
                if status != CaseStatus::Signed && !include_unsigned {
                    continue;
                }
                let day = signed_at.as_deref().unwrap_or(&touched_at);
                if since.is_some_and(|d| day.get(..d.len()).is_none_or(|day| day < d)) {
                    continue;
                }
                let ids = self.case_detail_versions(&accession)?;
                out.push(TrainingCase {
                    id: CaseId(id),
                    accession,
                    version,
                    status,
                    signed_at,
                    versions: ids,
                });
            }
            Ok(out)
        })();
        self.wrap(r)
    }

    fn case_detail_versions(&self, accession: &str) -> Result<Vec<CaseId>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM cases WHERE accession = ? ORDER BY version")?;
        let ids = st
            .query_map([accession], |r| Ok(CaseId(r.get(0)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ids)
    }

    /// The salt of de-identified exports, created (random, 32 bytes) on the
    /// first call. It stays in this database and is never exported.
    ///
    /// # Errors
    /// When the database cannot be written (read-only, busy).
    pub fn export_salt(&mut self) -> Result<String, StoreError> {
        let r = (|| {
            let existing: Option<String> = self
                .conn
                .query_row("SELECT salt FROM export_salt WHERE id = 1", [], |r| {
                    r.get(0)
                })
                .optional()?;
            if let Some(salt) = existing {
                return Ok(salt);
            }
            let fresh = random_hex(&self.path);
            let tx = self.begin()?;
            tx.execute(
                "INSERT OR IGNORE INTO export_salt (id, salt, created_at) VALUES (1, ?, ?)",
                params![fresh, now()],
            )?;
            let salt: String =
                tx.query_row("SELECT salt FROM export_salt WHERE id = 1", [], |r| {
                    r.get(0)
                })?;
            tx.commit()?;
            Ok(salt)
        })();
        self.wrap(r)
    }

    /// The sign-off rules the latest version of `accession` does not meet
    /// if `user` signed it now (what `sign` would refuse with); empty when
    /// it may be signed. Changes nothing.
    ///
    /// # Errors
    /// When there is no such case or the store fails.
    pub fn sign_off_check(
        &self,
        accession: &str,
        user: &str,
        reason: Option<&str>,
        rules: &SignOffRules,
    ) -> Result<Vec<UnmetRule>, StoreError> {
        let case = latest_case(&self.conn, accession)?;
        let facts = sign_off_facts(&self.conn, case.id, user, reason)?;
        Ok(unmet_rules(rules, &facts))
    }

    /// The number of edits stored for a case.
    ///
    /// # Errors
    /// When the store fails.
    pub fn edit_count(&self, case: CaseId) -> Result<u64, StoreError> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM edits WHERE case_id = ?",
            [case.0],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    fn record_edit(
        &mut self,
        request: &EditRequest,
        undo_redo: Option<&'static str>,
    ) -> Result<EditOutcome, StoreError> {
        let tx = self.begin()?;
        let case = case_by_id(&tx, request.case)?;
        if case.status.is_read_only() {
            return Err(StoreError::CaseReadOnly {
                accession: case.accession,
                version: case.version,
                status: case.status,
            });
        }
        if case.revision != request.base_revision {
            return Err(StoreError::Stale {
                accession: case.accession,
                based_on: request.base_revision,
                current: case.revision,
            });
        }
        let edit = match undo_redo {
            None => request.edit.clone(),
            Some(which) => {
                let history = history(&tx, request.case, request.metaphase)?;
                let next = if which == "undo" {
                    next_undo(&history)
                } else {
                    next_redo(&history)
                };
                next.ok_or(StoreError::NothingTo(which))?
            }
        };
        match request.metaphase {
            Some(m) => {
                let owner: Option<i64> = tx
                    .query_row("SELECT case_id FROM metaphases WHERE id = ?", [m.0], |r| {
                        r.get(0)
                    })
                    .optional()?;
                if owner != Some(request.case.0) {
                    return Err(StoreError::NoSuchMetaphase(m));
                }
                let mut state = load_cell(&tx, m)?;
                edit.apply(&mut state)?;
                for id in edit.touched() {
                    match state.objects.get(&id) {
                        Some(o) => write_object(&tx, m, o, case.revision + 1)?,
                        None => {
                            tx.execute(
                                "DELETE FROM objects WHERE metaphase_id = ? AND object_id = ?",
                                params![m.0, id.0],
                            )?;
                        }
                    }
                }
                tx.execute(
                    "UPDATE metaphases SET karyotype = ? WHERE id = ?",
                    params![state.karyotype, m.0],
                )?;
            }
            None => {
                let mut state = CellState {
                    karyotype: tx.query_row(
                        "SELECT karyotype FROM cases WHERE id = ?",
                        [request.case.0],
                        |r| r.get(0),
                    )?,
                    ..CellState::default()
                };
                edit.apply(&mut state)?;
                tx.execute(
                    "UPDATE cases SET karyotype = ? WHERE id = ?",
                    params![state.karyotype, request.case.0],
                )?;
            }
        }
        let changed = tx.execute(
            "UPDATE cases SET revision = revision + 1, status = ? WHERE id = ? AND revision = ?",
            params![
                case.status.after_edit().as_str(),
                request.case.0,
                request.base_revision as i64
            ],
        )?;
        if changed != 1 {
            return Err(StoreError::Stale {
                accession: case.accession,
                based_on: request.base_revision,
                current: case.revision,
            });
        }
        ensure_user(&tx, &request.user, Role::Analyst)?;
        let edit_json = json(&edit)?;
        let at = now();
        tx.execute(
            "INSERT INTO edits (case_id, metaphase_id, base_revision, user, at, reason, kind, edit)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                request.case.0,
                request.metaphase.map(|m| m.0),
                request.base_revision as i64,
                request.user,
                at,
                request.reason,
                edit.kind(),
                edit_json
            ],
        )?;
        let edit_id = EditId(tx.last_insert_rowid());
        let payload = serde_json::json!({
            "edit": edit_id.0,
            "metaphase": request.metaphase.map(|m| m.0),
            "kind": edit.kind(),
            "edit_sha256": sha256_hex(edit_json.as_bytes()),
            "revision": case.revision + 1,
        });
        append_audit(
            &tx,
            Some(request.case),
            &request.user,
            "edit",
            &payload.to_string(),
        )?;
        tx.commit()?;
        Ok(EditOutcome {
            edit: edit_id,
            revision: case.revision + 1,
            applied: edit,
        })
    }
}

/// Turns SQLite busy/read-only/corrupt errors into their own variants.
fn map_sql(path: &Path, e: StoreError) -> StoreError {
    let StoreError::Sqlite(inner) = &e else {
        return e;
    };
    match inner.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::Busy(path.to_path_buf())
        }
        Some(ErrorCode::ReadOnly) => StoreError::ReadOnly(path.to_path_buf()),
        Some(ErrorCode::CannotOpen) if path.exists() => StoreError::ReadOnly(path.to_path_buf()),
        Some(ErrorCode::CannotOpen) => StoreError::CannotCreate {
            path: path.to_path_buf(),
            reason: format!("{inner}"),
        },
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Damaged {
            path: path.to_path_buf(),
            detail: inner.to_string(),
        },
        _ => e,
    }
}

fn ensure_user(tx: &Connection, name: &str, role: Role) -> Result<(), StoreError> {
    tx.execute(
        "INSERT OR IGNORE INTO users (name, role) VALUES (?, ?)",
        params![name, role.as_str()],
    )?;
    if role == Role::Reviewer {
        tx.execute(
            "UPDATE users SET role = 'reviewer' WHERE name = ?",
            params![name],
        )?;
    }
    Ok(())
}

/// The canonical content an audit event's hash covers.
pub fn audit_content(
    seq: i64,
    case: Option<i64>,
    at: &str,
    user: &str,
    kind: &str,
    payload: &str,
) -> String {
    let case = case.map_or_else(|| "-".to_string(), |c| c.to_string());
    format!("{seq}\n{case}\n{at}\n{user}\n{kind}\n{payload}")
}

/// Appends one event to the audit hash chain.
fn append_audit(
    tx: &Connection,
    case: Option<CaseId>,
    user: &str,
    kind: &str,
    payload: &str,
) -> Result<(), StoreError> {
    let last: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (seq, prev) = last.map_or((1, GENESIS_HASH.to_string()), |(s, h)| (s + 1, h));
    let at = now();
    let case = case.map(|c| c.0);
    let hash = chain_hash(&prev, &audit_content(seq, case, &at, user, kind, payload));
    tx.prepare_cached(
        "INSERT INTO audit (seq, case_id, at, user, kind, payload, prev_hash, hash)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![seq, case, at, user, kind, payload, prev, hash])?;
    Ok(())
}

fn create_case_tx(tx: &Connection, case: &NewCase, user: &str) -> Result<CaseId, StoreError> {
    let accession = case.accession.trim();
    if accession.is_empty() {
        return Err(StoreError::NoSuchCase(String::new()));
    }
    let exists: Option<i64> = tx
        .prepare_cached("SELECT id FROM cases WHERE accession = ? LIMIT 1")?
        .query_row([accession], |r| r.get(0))
        .optional()?;
    if exists.is_some() {
        return Err(StoreError::CaseExists(accession.to_string()));
    }
    ensure_user(tx, user, Role::Analyst)?;
    tx.prepare_cached(
        "INSERT INTO cases (accession, version, patient_name, patient_id, specimen, indication,
            band_level, status, revision, karyotype, created_at, created_by)
         VALUES (?, 1, ?, ?, ?, ?, ?, 'draft', 0, '', ?, ?)",
    )?
    .execute(params![
        accession,
        case.patient_name,
        case.patient_id,
        case.specimen,
        case.indication,
        case.band_level,
        now(),
        user
    ])?;
    let id = CaseId(tx.last_insert_rowid());
    let payload = serde_json::json!({ "accession": accession, "version": 1 });
    append_audit(tx, Some(id), user, "case_created", &payload.to_string())?;
    Ok(id)
}

fn case_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, String, u32, String, i64)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn to_case_row(
    (id, accession, version, status, revision): (i64, String, u32, String, i64),
) -> Result<CaseRow, StoreError> {
    let status = CaseStatus::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown case status {status:?}")))?;
    Ok(CaseRow {
        id: CaseId(id),
        accession,
        version,
        status,
        revision: revision as u64,
    })
}

fn latest_case(conn: &Connection, accession: &str) -> Result<CaseRow, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT id, accession, version, status, revision FROM cases
             WHERE accession = ? ORDER BY version DESC LIMIT 1",
        )?
        .query_row([accession.trim()], case_row)
        .optional()?
        .ok_or_else(|| StoreError::NoSuchCase(accession.to_string()))?;
    to_case_row(row)
}

fn case_by_id(conn: &Connection, id: CaseId) -> Result<CaseRow, StoreError> {
    let row = conn
        .prepare_cached("SELECT id, accession, version, status, revision FROM cases WHERE id = ?")?
        .query_row([id.0], case_row)
        .optional()?
        .ok_or_else(|| StoreError::NoSuchCase(format!("#{id}")))?;
    to_case_row(row)
}

fn history(
    conn: &Connection,
    case: CaseId,
    metaphase: Option<MetaphaseId>,
) -> Result<Vec<(EditId, Edit)>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT id, edit FROM edits WHERE case_id = ? AND metaphase_id IS ? ORDER BY id",
    )?;
    let rows = st
        .query_map(params![case.0, metaphase.map(|m| m.0)], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(id, text)| Ok((EditId(id), from_json(&text)?)))
        .collect()
}

/// The failed imports recorded for a case version, oldest first.
fn failed_imports(conn: &Connection, case: CaseId) -> Result<Vec<FailedImport>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT id, file, reason, at, user FROM failed_imports WHERE case_id = ? ORDER BY id",
    )?;
    let rows = st
        .query_map([case.0], |r| {
            Ok(FailedImport {
                id: FailedImportId(r.get(0)?),
                file: r.get(1)?,
                reason: r.get(2)?,
                at: r.get(3)?,
                user: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Refuses changes to a signed (or amended) case version.
fn writable(case: CaseRow) -> Result<CaseRow, StoreError> {
    if case.status.is_read_only() {
        return Err(StoreError::CaseReadOnly {
            accession: case.accession,
            version: case.version,
            status: case.status,
        });
    }
    Ok(case)
}

fn write_object(
    tx: &Connection,
    metaphase: MetaphaseId,
    o: &CellObject,
    revision: u64,
) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO objects (metaphase_id, object_id, class, proposed, slot, polarity,
            rotation, mask_rle, polygon, probabilities, flags, rejected, accepted, segmenter,
            segmenter_version, classifier, classifier_version, revision, proposed_polarity)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        metaphase.0,
        o.id.0,
        class_text(o.class),
        class_text(o.proposed),
        o.slot,
        o.polarity.label(),
        o.rotation_deg,
        json(&Rle::encode(&o.pixels))?,
        json(&o.outline())?,
        json(&o.probabilities)?,
        json(&o.flags)?,
        o.rejected,
        o.accepted,
        o.producer.segmenter.name,
        o.producer.segmenter.version,
        o.producer.classifier.name,
        o.producer.classifier.version,
        revision as i64,
        o.proposed_polarity.map(Polarity::label),
    ])?;
    Ok(())
}

type ObjectRow = (
    u32,
    Option<String>,
    Option<String>,
    u32,
    String,
    i32,
    String,
    String,
    String,
    String,
    Option<String>,
    bool,
    [String; 4],
    Option<String>,
);

/// Loads the state of one cell.
fn load_cell(conn: &Connection, metaphase: MetaphaseId) -> Result<CellState, StoreError> {
    let karyotype: String = conn
        .prepare_cached("SELECT karyotype FROM metaphases WHERE id = ?")?
        .query_row([metaphase.0], |r| r.get(0))
        .optional()?
        .ok_or(StoreError::NoSuchMetaphase(metaphase))?;
    let mut st = conn.prepare_cached(
        "SELECT object_id, class, proposed, slot, polarity, rotation, mask_rle, polygon,
            probabilities, flags, rejected, accepted, segmenter, segmenter_version, classifier,
            classifier_version, proposed_polarity
         FROM objects WHERE metaphase_id = ? ORDER BY object_id",
    )?;
    let rows: Vec<ObjectRow> = st
        .query_map([metaphase.0], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
                r.get(11)?,
                [r.get(12)?, r.get(13)?, r.get(14)?, r.get(15)?],
                r.get(16)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut state = CellState {
        karyotype,
        ..CellState::default()
    };
    for (
        id,
        class,
        proposed,
        slot,
        polarity,
        rotation,
        rle,
        // The stored outline is derived from the mask for readers of the
        // database (exports); the state derives it again when needed.
        _polygon,
        probs,
        flags,
        rejected,
        accepted,
        models,
        proposed_polarity,
    ) in rows
    {
        let rle: Rle = from_json(&rle)?;
        let pixels = rle
            .decode()
            .ok_or_else(|| StoreError::Corrupt(format!("mask of object {id}")))?;
        let parse_polarity = |text: &str| match text {
            "p_down" => Polarity::PDown,
            _ => Polarity::PUp,
        };
        let polarity = parse_polarity(&polarity);
        let proposed_polarity = proposed_polarity.as_deref().map(parse_polarity);
        let [sn, sv, cn, cv] = models;
        state.objects.insert(
            ObjectId(id),
            CellObject {
                id: ObjectId(id),
                class: parse_class(class),
                proposed: parse_class(proposed),
                slot,
                polarity,
                proposed_polarity,
                rotation_deg: rotation,
                pixels,
                rejected,
                accepted,
                flags: from_json(&flags)?,
                probabilities: from_json(&probs)?,
                producer: Producer {
                    segmenter: ModelInfo::new(&sn, &sv),
                    classifier: ModelInfo::new(&cn, &cv),
                },
            },
        );
    }
    Ok(state)
}

/// What the sign-off rules look at for a case version: cells counted and
/// analysed, open review flags, who analysed it.
fn sign_off_facts(
    tx: &Connection,
    case: CaseId,
    user: &str,
    reason: Option<&str>,
) -> Result<SignOffFacts, StoreError> {
    let mut facts = SignOffFacts {
        signer: user.to_string(),
        reason: reason.map(str::to_string),
        ..SignOffFacts::default()
    };
    let mut st =
        tx.prepare_cached("SELECT id, analysed FROM metaphases WHERE case_id = ? ORDER BY id")?;
    let cells = st
        .query_map([case.0], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    drop(st);
    for (id, analysed) in cells {
        facts.counted += 1;
        facts.analysed += usize::from(analysed);
        let cell = load_cell(tx, MetaphaseId(id))?;
        facts.unresolved.extend(cell.objects.values().flat_map(|o| {
            o.open_flags()
                .into_iter()
                .map(move |f| (MetaphaseId(id), o.id, f))
        }));
    }
    let mut st = tx.prepare_cached(
        "SELECT analyst FROM cases WHERE id = ?1 AND analyst IS NOT NULL
         UNION SELECT DISTINCT user FROM edits WHERE case_id = ?1",
    )?;
    facts.analysts = st
        .query_map([case.0], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    drop(st);
    Ok(facts)
}

/// The sha256 of a case version's content: its fields, its cells and every
/// object, in a canonical order (status and revision are not content).
pub fn case_content_hash(conn: &Connection, case: CaseId) -> Result<String, StoreError> {
    #[allow(clippy::type_complexity)]
    let head: (
        String,
        u32,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<u32>,
        String,
    ) = conn.query_row(
        "SELECT accession, version, patient_name, patient_id, specimen, indication, band_level,
                karyotype FROM cases WHERE id = ?",
        [case.0],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        },
    )?;
    let mut content = json(&head)?;
    let mut st = conn.prepare_cached(
        "SELECT id, image_sha256, analysed, karyotype FROM metaphases WHERE case_id = ? ORDER BY id",
    )?;
    let cells = st
        .query_map([case.0], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, bool>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    for (id, sha, analysed, karyotype) in cells {
        content.push('\n');
        content.push_str(&json(&(&sha, analysed, &karyotype))?);
        let state = load_cell(conn, MetaphaseId(id))?;
        for o in state.objects.values() {
            content.push('\n');
            content.push_str(&json(o)?);
        }
    }
    Ok(sha256_hex(content.as_bytes()))
}

fn summary(conn: &Connection, id: CaseId) -> Result<CaseSummary, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT c.id, c.accession, c.version, c.patient_name, c.patient_id, c.status, c.revision,
            c.karyotype, (SELECT count(*) FROM metaphases m WHERE m.case_id = c.id),
            c.created_at
         FROM cases c WHERE c.id = ?",
    )?;
    st.query_row([id.0], summary_row)
        .optional()?
        .ok_or_else(|| StoreError::NoSuchCase(format!("#{id}")))?
}

fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<CaseSummary, StoreError>> {
    let status: String = r.get(5)?;
    let Some(status) = CaseStatus::parse(&status) else {
        return Ok(Err(StoreError::Corrupt(format!(
            "unknown case status {status:?}"
        ))));
    };
    Ok(Ok(CaseSummary {
        id: CaseId(r.get(0)?),
        accession: r.get(1)?,
        version: r.get(2)?,
        patient_name: r.get(3)?,
        patient_id: r.get(4)?,
        status,
        revision: r.get::<_, i64>(6)? as u64,
        karyotype: r.get(7)?,
        metaphases: r.get(8)?,
        created_at: r.get(9)?,
    }))
}

impl CaseRepo for SqliteCaseRepo {
    type Error = StoreError;

    fn create_case(&mut self, case: &NewCase, user: &str) -> Result<CaseSummary, StoreError> {
        let r = (|| {
            let tx = self.begin()?;
            let id = create_case_tx(&tx, case, user)?;
            let s = summary(&tx, id)?;
            tx.commit()?;
            Ok(s)
        })();
        self.wrap(r)
    }

    fn list_cases(&self, search: Option<&str>) -> Result<Vec<CaseSummary>, StoreError> {
        let r = (|| {
            let pattern = format!("%{}%", search.unwrap_or("").trim());
            let mut st = self.conn.prepare_cached(
                "SELECT c.id, c.accession, c.version, c.patient_name, c.patient_id, c.status,
                    c.revision, c.karyotype,
                    (SELECT count(*) FROM metaphases m WHERE m.case_id = c.id), c.created_at
                 FROM cases c
                 WHERE c.version = (SELECT max(version) FROM cases v WHERE v.accession = c.accession)
                   AND (?1 = '%%' OR c.accession LIKE ?1 OR c.patient_name LIKE ?1
                        OR c.patient_id LIKE ?1)
                 ORDER BY c.accession",
            )?;
            let rows = st
                .query_map([pattern], summary_row)?
                .collect::<Result<Vec<_>, _>>()?;
            rows.into_iter().collect()
        })();
        self.wrap(r)
    }

    fn case_detail(&self, accession: &str) -> Result<CaseDetail, StoreError> {
        let r = (|| {
            let case = latest_case(&self.conn, accession)?;
            let s = summary(&self.conn, case.id)?;
            #[allow(clippy::type_complexity)]
            let (specimen, indication, band_level, amends, amend_reason): (
                Option<String>,
                Option<String>,
                Option<u32>,
                Option<i64>,
                Option<String>,
            ) = self.conn.query_row(
                "SELECT specimen, indication, band_level, amends, amend_reason FROM cases WHERE id = ?",
                [case.id.0],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )?;
            let mut st = self.conn.prepare_cached(
                "SELECT id, source_name, image_sha256, image_path, width, height, stage_x, stage_y,
                    quality, analysed, karyotype FROM metaphases WHERE case_id = ? ORDER BY id",
            )?;
            let mut metaphases = st
                .query_map([case.id.0], |r| {
                    let stage = match (r.get::<_, Option<f64>>(6)?, r.get::<_, Option<f64>>(7)?) {
                        (Some(x), Some(y)) => Some((x, y)),
                        _ => None,
                    };
                    Ok(MetaphaseSummary {
                        id: MetaphaseId(r.get(0)?),
                        source_name: r.get(1)?,
                        image_sha256: r.get(2)?,
                        image_path: r.get(3)?,
                        width: r.get(4)?,
                        height: r.get(5)?,
                        stage,
                        quality: r.get(8)?,
                        analysed: r.get(9)?,
                        karyotype: r.get(10)?,
                        objects: 0,
                        rejected: 0,
                        unresolved_flags: 0,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            for m in &mut metaphases {
                let cell = load_cell(&self.conn, m.id)?;
                m.objects = cell.active().count() as u32;
                m.rejected = (cell.objects.len() - cell.active().count()) as u32;
                m.unresolved_flags = cell
                    .objects
                    .values()
                    .filter(|o| !o.open_flags().is_empty())
                    .count() as u32;
            }
            let sign_off = self
                .conn
                .query_row(
                    "SELECT user, at, reason, content_hash FROM signoffs WHERE case_id = ?",
                    [case.id.0],
                    |r| {
                        Ok(SignOff {
                            user: r.get(0)?,
                            at: r.get(1)?,
                            reason: r.get(2)?,
                            content_hash: r.get(3)?,
                        })
                    },
                )
                .optional()?;
            let mut vs = self
                .conn
                .prepare_cached("SELECT id FROM cases WHERE accession = ? ORDER BY version")?;
            let ids = vs
                .query_map([&case.accession], |r| r.get::<_, i64>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            let versions = ids
                .into_iter()
                .map(|id| summary(&self.conn, CaseId(id)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(CaseDetail {
                summary: s,
                specimen,
                indication,
                band_level,
                amends: amends.map(CaseId),
                amend_reason,
                metaphases,
                sign_off,
                edits: self.edit_count(case.id)?,
                versions,
                failed_imports: failed_imports(&self.conn, case.id)?,
            })
        })();
        self.wrap(r)
    }

    fn add_metaphase(
        &mut self,
        accession: &str,
        metaphase: &NewMetaphase,
        user: &str,
    ) -> Result<MetaphaseId, StoreError> {
        let r = (|| {
            // The image goes in first: an orphan image file is harmless, a
            // row pointing at a missing image is not.
            let (sha, rel) = self.store_image(&metaphase.image, &metaphase.image_ext)?;
            let tx = self.begin()?;
            let case = latest_case(&tx, accession)?;
            if case.status.is_read_only() {
                return Err(StoreError::CaseReadOnly {
                    accession: case.accession,
                    version: case.version,
                    status: case.status,
                });
            }
            ensure_user(&tx, user, Role::Analyst)?;
            tx.execute(
                "INSERT INTO metaphases (case_id, source_name, image_sha256, image_path, width,
                    height, modality, analysed, karyotype, stage_x, stage_y, quality)
                 VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
                params![
                    case.id.0,
                    metaphase.source_name,
                    sha,
                    rel,
                    metaphase.width,
                    metaphase.height,
                    metaphase.modality,
                    metaphase.cell.karyotype,
                    metaphase.stage.map(|s| s.0),
                    metaphase.stage.map(|s| s.1),
                    metaphase.quality
                ],
            )?;
            let id = MetaphaseId(tx.last_insert_rowid());
            for o in metaphase.cell.objects.values() {
                write_object(&tx, id, o, case.revision + 1)?;
            }
            for (reason, pixels) in &metaphase.segment_rejects {
                let rle = json(&Rle::encode(&pixels.iter().copied().collect()))?;
                tx.execute(
                    "INSERT INTO segment_rejects (metaphase_id, reason, mask_rle) VALUES (?, ?, ?)",
                    params![id.0, reason, rle],
                )?;
            }
            tx.execute(
                "UPDATE cases SET revision = revision + 1, status = ?,
                    analyst = coalesce(analyst, ?) WHERE id = ?",
                params![case.status.after_import().as_str(), user, case.id.0],
            )?;
            let payload = serde_json::json!({
                "metaphase": id.0,
                "image_sha256": sha,
                "source": metaphase.source_name,
                "objects": metaphase.cell.objects.len(),
            });
            append_audit(
                &tx,
                Some(case.id),
                user,
                "metaphase_imported",
                &payload.to_string(),
            )?;
            tx.commit()?;
            Ok(id)
        })();
        self.wrap(r)
    }

    fn record_failed_import(
        &mut self,
        accession: &str,
        file: &str,
        reason: &str,
        user: &str,
    ) -> Result<FailedImportId, StoreError> {
        let r = (|| {
            let tx = self.begin()?;
            let case = writable(latest_case(&tx, accession)?)?;
            ensure_user(&tx, user, Role::Analyst)?;
            tx.execute(
                "INSERT INTO failed_imports (case_id, file, reason, at, user) VALUES (?, ?, ?, ?, ?)",
                params![case.id.0, file, reason, now(), user],
            )?;
            let id = FailedImportId(tx.last_insert_rowid());
            let payload = serde_json::json!({
                "failed_import": id.0,
                "file": file,
                "reason": reason,
            });
            append_audit(
                &tx,
                Some(case.id),
                user,
                "import_failed",
                &payload.to_string(),
            )?;
            tx.commit()?;
            Ok(id)
        })();
        self.wrap(r)
    }

    fn dismiss_failed_import(&mut self, id: FailedImportId, user: &str) -> Result<(), StoreError> {
        let r = (|| {
            let tx = self.begin()?;
            let (case, file, reason): (i64, String, String) = tx
                .query_row(
                    "SELECT case_id, file, reason FROM failed_imports WHERE id = ?",
                    [id.0],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?
                .ok_or(StoreError::NoSuchFailedImport(id))?;
            let case = writable(case_by_id(&tx, CaseId(case))?)?;
            ensure_user(&tx, user, Role::Analyst)?;
            tx.execute("DELETE FROM failed_imports WHERE id = ?", [id.0])?;
            let payload = serde_json::json!({
                "failed_import": id.0,
                "file": file,
                "reason": reason,
            });
            append_audit(
                &tx,
                Some(case.id),
                user,
                "failed_import_dismissed",
                &payload.to_string(),
            )?;
            tx.commit()?;
            Ok(())
        })();
        self.wrap(r)
    }

    fn cell(&self, metaphase: MetaphaseId) -> Result<CellState, StoreError> {
        self.wrap(load_cell(&self.conn, metaphase))
    }

    fn apply_edit(&mut self, request: &EditRequest) -> Result<EditOutcome, StoreError> {
        if matches!(request.edit, Edit::Undo { .. } | Edit::Redo { .. }) {
            // Undo and redo are computed from the stored history.
            let which = if matches!(request.edit, Edit::Undo { .. }) {
                "undo"
            } else {
                "redo"
            };
            let r = self.record_edit(request, Some(which));
            return self.wrap(r);
        }
        let r = self.record_edit(request, None);
        self.wrap(r)
    }

    fn undo(
        &mut self,
        case: CaseId,
        metaphase: Option<MetaphaseId>,
        base_revision: u64,
        user: &str,
    ) -> Result<EditOutcome, StoreError> {
        let request = undo_request(case, metaphase, base_revision, user, true);
        let r = self.record_edit(&request, Some("undo"));
        self.wrap(r)
    }

    fn redo(
        &mut self,
        case: CaseId,
        metaphase: Option<MetaphaseId>,
        base_revision: u64,
        user: &str,
    ) -> Result<EditOutcome, StoreError> {
        let request = undo_request(case, metaphase, base_revision, user, false);
        let r = self.record_edit(&request, Some("redo"));
        self.wrap(r)
    }

    fn sign(
        &mut self,
        accession: &str,
        user: &str,
        reason: Option<&str>,
        rules: &SignOffRules,
    ) -> Result<CaseSummary, StoreError> {
        let r = (|| {
            let tx = self.begin()?;
            let case = latest_case(&tx, accession)?;
            if !case.status.can_become(CaseStatus::Signed) {
                return Err(StoreError::WrongState {
                    accession: case.accession,
                    status: case.status,
                    action: "signing",
                    needs: "an analysed case or one in review",
                });
            }
            let facts = sign_off_facts(&tx, case.id, user, reason)?;
            let unmet = unmet_rules(rules, &facts);
            if !unmet.is_empty() {
                return Err(StoreError::Rules {
                    accession: case.accession,
                    unmet,
                });
            }
            ensure_user(&tx, user, Role::Reviewer)?;
            let hash = case_content_hash(&tx, case.id)?;
            tx.execute(
                "INSERT INTO signoffs (case_id, user, at, reason, rules, content_hash)
                 VALUES (?, ?, ?, ?, ?, ?)",
                params![case.id.0, user, now(), reason, json(rules)?, hash],
            )?;
            tx.execute(
                "UPDATE cases SET status = 'signed', revision = revision + 1 WHERE id = ?",
                [case.id.0],
            )?;
            let payload = serde_json::json!({
                "version": case.version,
                "content_hash": hash,
                "reason": reason,
                "counted": facts.counted,
                "analysed": facts.analysed,
            });
            append_audit(&tx, Some(case.id), user, "signed", &payload.to_string())?;
            let s = summary(&tx, case.id)?;
            tx.commit()?;
            Ok(s)
        })();
        self.wrap(r)
    }

    fn amend(
        &mut self,
        accession: &str,
        user: &str,
        reason: &str,
    ) -> Result<CaseSummary, StoreError> {
        let r = (|| {
            let tx = self.begin()?;
            let case = latest_case(&tx, accession)?;
            if case.status != CaseStatus::Signed {
                return Err(StoreError::WrongState {
                    accession: case.accession,
                    status: case.status,
                    action: "an amendment",
                    needs: "a signed case",
                });
            }
            if reason.trim().is_empty() {
                return Err(StoreError::WrongState {
                    accession: case.accession,
                    status: case.status,
                    action: "an amendment",
                    needs: "a reason",
                });
            }
            ensure_user(&tx, user, Role::Analyst)?;
            tx.execute(
                "INSERT INTO cases (accession, version, patient_name, patient_id, specimen,
                    indication, band_level, status, revision, karyotype, analyst, amends,
                    amend_reason, created_at, created_by)
                 SELECT accession, version + 1, patient_name, patient_id, specimen, indication,
                    band_level, 'in_review', 0, karyotype, analyst, id, ?, ?, ?
                 FROM cases WHERE id = ?",
                params![reason, now(), user, case.id.0],
            )?;
            let new_id = CaseId(tx.last_insert_rowid());
            let mut st =
                tx.prepare_cached("SELECT id FROM metaphases WHERE case_id = ? ORDER BY id")?;
            let cells = st
                .query_map([case.id.0], |r| r.get::<_, i64>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            drop(st);
            for old in cells {
                tx.execute(
                    "INSERT INTO metaphases (case_id, source_name, image_sha256, image_path, width,
                        height, modality, analysed, karyotype, stage_x, stage_y, quality)
                     SELECT ?, source_name, image_sha256, image_path, width, height, modality,
                        analysed, karyotype, stage_x, stage_y, quality FROM metaphases WHERE id = ?",
                    params![new_id.0, old],
                )?;
                let new_m = tx.last_insert_rowid();
                tx.execute(
                    "INSERT INTO objects (metaphase_id, object_id, class, proposed, slot,
                        polarity, rotation, mask_rle, polygon, probabilities, flags, rejected,
                        accepted, segmenter, segmenter_version, classifier, classifier_version,
                        revision, proposed_polarity)
                     SELECT ?, object_id, class, proposed, slot, polarity,
                        rotation, mask_rle, polygon, probabilities, flags, rejected, accepted,
                        segmenter, segmenter_version, classifier, classifier_version, 0,
                        proposed_polarity
                     FROM objects WHERE metaphase_id = ?",
                    params![new_m, old],
                )?;
                tx.execute(
                    "INSERT INTO segment_rejects (metaphase_id, reason, mask_rle)
                     SELECT ?, reason, mask_rle FROM segment_rejects WHERE metaphase_id = ?",
                    params![new_m, old],
                )?;
            }
            // Files that never became cells stay listed with the case.
            tx.execute(
                "INSERT INTO failed_imports (case_id, file, reason, at, user)
                 SELECT ?, file, reason, at, user FROM failed_imports WHERE case_id = ? ORDER BY id",
                params![new_id.0, case.id.0],
            )?;
            tx.execute(
                "UPDATE cases SET status = 'amended' WHERE id = ?",
                [case.id.0],
            )?;
            let payload = serde_json::json!({
                "amends": case.id.0,
                "version": case.version + 1,
                "reason": reason,
            });
            append_audit(&tx, Some(new_id), user, "amended", &payload.to_string())?;
            let s = summary(&tx, new_id)?;
            tx.commit()?;
            Ok(s)
        })();
        self.wrap(r)
    }

    fn verify(&self) -> Result<VerifyReport, StoreError> {
        let r = (|| {
            let mut report = VerifyReport::default();
            let mut st = self.conn.prepare(
                "SELECT seq, case_id, at, user, kind, payload, prev_hash, hash FROM audit ORDER BY seq",
            )?;
            let mut rows = st.query([])?;
            let mut prev = GENESIS_HASH.to_string();
            let mut expected_seq = 1i64;
            while let Some(r) = rows.next()? {
                let seq: i64 = r.get(0)?;
                let case: Option<i64> = r.get(1)?;
                let (at, user, kind, payload, prev_hash, hash): (
                    String,
                    String,
                    String,
                    String,
                    String,
                    String,
                ) = (
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                );
                report.events += 1;
                if seq != expected_seq {
                    report.problems.push(format!(
                        "audit event {expected_seq} is missing (next is {seq})"
                    ));
                }
                expected_seq = seq + 1;
                if prev_hash != prev {
                    report.problems.push(format!(
                        "audit event {seq}: broken link to the previous event"
                    ));
                }
                let content = audit_content(seq, case, &at, &user, &kind, &payload);
                if chain_hash(&prev_hash, &content) != hash {
                    report.problems.push(format!(
                        "audit event {seq} ({kind}): content does not match its hash"
                    ));
                }
                if kind == "edit" {
                    let p: serde_json::Value = from_json(&payload)?;
                    let id = p
                        .get("edit")
                        .and_then(serde_json::Value::as_i64)
                        .unwrap_or(-1);
                    let want = p
                        .get("edit_sha256")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("");
                    let stored: Option<String> = self
                        .conn
                        .query_row("SELECT edit FROM edits WHERE id = ?", [id], |r| r.get(0))
                        .optional()?;
                    if stored.map(|s| sha256_hex(s.as_bytes())).as_deref() != Some(want) {
                        report.problems.push(format!(
                            "edit {id} (audit event {seq}) is missing or altered"
                        ));
                    }
                }
                prev = hash;
            }
            drop(rows);
            drop(st);
            let mut st = self.conn.prepare(
                "SELECT s.case_id, s.content_hash, c.accession, c.version FROM signoffs s
                 JOIN cases c ON c.id = s.case_id ORDER BY s.case_id",
            )?;
            let signed = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, u32>(3)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            for (id, hash, accession, version) in signed {
                report.signed_cases += 1;
                let now = case_content_hash(&self.conn, CaseId(id))?;
                if now != hash {
                    report.problems.push(format!(
                        "signed case {accession} version {version} was altered after signing"
                    ));
                }
                let in_chain: i64 = self.conn.query_row(
                    "SELECT count(*) FROM audit WHERE case_id = ? AND kind = 'signed' AND payload LIKE ?",
                    params![id, format!("%{hash}%")],
                    |r| r.get(0),
                )?;
                if in_chain == 0 {
                    report.problems.push(format!(
                        "sign-off of case {accession} version {version} is not in the audit trail"
                    ));
                }
            }
            // Rows whose audit event is gone (e.g. the newest events deleted).
            let mut st = self.conn.prepare(
                "SELECT e.id FROM edits e WHERE NOT EXISTS (SELECT 1 FROM audit a
                    WHERE a.kind = 'edit' AND json_extract(a.payload, '$.edit') = e.id)
                 ORDER BY e.id",
            )?;
            for id in st.query_map([], |r| r.get::<_, i64>(0))? {
                report
                    .problems
                    .push(format!("edit {} has no audit event", id?));
            }
            let mut st = self.conn.prepare(
                "SELECT accession, version FROM cases c WHERE NOT EXISTS (SELECT 1 FROM audit a
                    WHERE a.case_id = c.id AND a.kind IN ('case_created', 'amended'))
                 ORDER BY accession, version",
            )?;
            for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?)))? {
                let (accession, version) = row?;
                report.problems.push(format!(
                    "case {accession} version {version} has no creation event in the audit trail"
                ));
            }
            let mut st = self.conn.prepare(
                "SELECT accession, version FROM cases c WHERE status IN ('signed', 'amended')
                    AND NOT EXISTS (SELECT 1 FROM signoffs s WHERE s.case_id = c.id)
                 ORDER BY accession, version",
            )?;
            for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?)))? {
                let (accession, version) = row?;
                report.problems.push(format!(
                    "case {accession} version {version} is marked signed but its sign-off record is gone"
                ));
            }
            Ok(report)
        })();
        self.wrap(r)
    }
}

fn undo_request(
    case: CaseId,
    metaphase: Option<MetaphaseId>,
    base_revision: u64,
    user: &str,
    undo: bool,
) -> EditRequest {
    let placeholder = Box::new(Edit::KaryotypeText {
        before: String::new(),
        after: String::new(),
    });
    EditRequest {
        case,
        metaphase,
        base_revision,
        user: user.to_string(),
        reason: None,
        edit: if undo {
            Edit::Undo {
                edit: EditId(0),
                inverse: placeholder,
            }
        } else {
            Edit::Redo {
                edit: EditId(0),
                edit_again: placeholder,
            }
        },
    }
}

/// A small synthetic metaphase (tests, benchmarks, the crash test): `objects`
/// chromosome objects of a few pixels each, half of them entropy-flagged.
pub fn sample_metaphase(objects: usize, seed: u64) -> NewMetaphase {
    use crate::domain::analysis::ObjectFlag;
    let producer = Producer {
        segmenter: ModelInfo::new("sample", "1"),
        classifier: ModelInfo::new("sample", "1"),
    };
    let mut cell = CellState {
        karyotype: "46,XX".into(),
        ..CellState::default()
    };
    for i in 0..objects as u32 {
        let class = ChromosomeClass::from_index(i as usize % 24);
        let pixels = (0..12u32).map(|k| (i * 20 + k % 3, 10 + k / 3)).collect();
        cell.objects.insert(
            ObjectId(i),
            CellObject {
                id: ObjectId(i),
                class,
                proposed: class,
                slot: i / 24,
                polarity: Polarity::PUp,
                proposed_polarity: Some(Polarity::PUp),
                rotation_deg: 0,
                pixels,
                rejected: None,
                accepted: false,
                flags: if i % 2 == 0 {
                    vec![ObjectFlag::HighEntropy]
                } else {
                    Vec::new()
                },
                probabilities: vec![1.0 / 24.0; 24],
                producer: producer.clone(),
            },
        );
    }
    NewMetaphase {
        source_name: format!("sample-{seed}.png"),
        image: format!("sample image {seed}").into_bytes(),
        image_ext: "png".into(),
        width: 64,
        height: 64,
        modality: "brightfield".into(),
        stage: Some((12.5, -3.0)),
        quality: Some(0.9),
        cell,
        segment_rejects: vec![("too small".into(), vec![(1, 1)])],
    }
}
