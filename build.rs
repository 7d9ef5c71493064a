//! Build script: records the git commit the binary is built from, for
//! `karyostation --version`. Order: `$KARYOSTATION_GIT_HASH` (builds from a
//! source archive without `.git`), then `git rev-parse`, else "unknown".

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=KARYOSTATION_GIT_HASH");
    let hash = match std::env::var("KARYOSTATION_GIT_HASH") {
        Ok(h) if !h.trim().is_empty() => h.trim().to_string(),
        _ => git_hash().unwrap_or_else(|| "unknown".into()),
    };
    println!("cargo:rustc-env=KARYOSTATION_GIT_HASH={hash}");
}

fn git_hash() -> Option<String> {
    let hash = git(&["rev-parse", "--short=12", "HEAD"])?;
    // Rebuild when HEAD moves: HEAD itself, the branch it points to, packed refs.
    for path in ["HEAD", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={}", PathBuf::from(p).display());
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(p) = git(&["rev-parse", "--git-path", &branch])
    {
        println!("cargo:rerun-if-changed={}", PathBuf::from(p).display());
    }
    Some(hash)
}
