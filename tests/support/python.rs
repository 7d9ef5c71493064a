//! Finding the Python that some tests run helper scripts with.

use std::process::Command;

/// `$KARYOSTATION_PYTHON` (set by tests/run-all.sh, which installs what the
/// tests need into a venv), else `python3` or `python`, when it runs
/// `import {imports}`. Without one the test skips with a message naming
/// `what` needs it, except when `KARYOSTATION_REQUIRE_ORT=1` (CI), where it
/// fails.
pub fn python_with(imports: &str, what: &str) -> Option<String> {
    let candidates: Vec<String> = match std::env::var("KARYOSTATION_PYTHON") {
        Ok(p) if !p.is_empty() => vec![p],
        _ => vec!["python3".into(), "python".into()],
    };
    let found = candidates.into_iter().find(|p| {
        Command::new(p)
            .args(["-c", &format!("import {imports}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        let msg = format!(
            "no Python with {imports}: {what} needs it (tests/run-all.sh installs it into a \
             venv and sets KARYOSTATION_PYTHON)"
        );
        if std::env::var("KARYOSTATION_REQUIRE_ORT").as_deref() == Ok("1") {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
    }
    found
}
