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
