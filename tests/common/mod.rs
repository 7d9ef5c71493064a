//! Helpers shared by the tests that run the `karyostation` binary.

use std::path::Path;
use std::process::{Command, Output};

/// Runs the binary on the database `db` (ignoring `$KARYOSTATION_DB`).
pub fn ks(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_karyostation"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("KARYOSTATION_DB")
        .output()
        .unwrap_or_else(|e| panic!("run karyostation: {e}"))
}

/// Everything the run printed, stdout then stderr.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[allow(dead_code)]
/// Accepts every object with an open review flag in the case, through the
/// store (each accept is a stored edit).
pub fn accept_open_flags(db: &std::path::Path, accession: &str) {
    use karyostation::domain::case::EditRequest;
    use karyostation::domain::karyogram::edit::Edit;
    use karyostation::domain::ports::CaseRepo;
    use karyostation::store::{OpenMode, SqliteCaseRepo};
    let mut repo = SqliteCaseRepo::open(db, OpenMode::Existing).unwrap();
    let detail = repo.case_detail(accession).unwrap();
    let mut revision = detail.summary.revision;
    for m in &detail.metaphases {
        let cell = repo.cell(m.id).unwrap();
        for o in cell.objects.values().filter(|o| !o.open_flags().is_empty()) {
            let out = repo
                .apply_edit(&EditRequest {
                    case: detail.summary.id,
                    metaphase: Some(m.id),
                    base_revision: revision,
                    user: "ann".into(),
                    reason: None,
                    edit: Edit::Accept {
                        object: o.id,
                        accepted: true,
                    },
                })
                .unwrap();
            revision = out.revision;
        }
    }
}
