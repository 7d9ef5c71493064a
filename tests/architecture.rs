//! The dependency rule: the domain is pure. No GUI, ML runtime, database or
//! async crates, no file system, network or clock in `src/domain/**`.

use std::path::Path;

const FORBIDDEN: &[&str] = &[
    "egui",
    "eframe",
    "wgpu",
    "ort::",
    "rusqlite",
    "tokio",
    "std::fs",
    "std::net",
    "std::time",
    "Instant::",
    "SystemTime",
    "File::",
    "std::env",
    "crate::imageio",
    "crate::pipeline",
    "crate::eval",
    "crate::demo",
    "crate::report",
    "crate::karyogram_png",
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/domain").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn domain_names_no_infrastructure() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain"),
        &mut files,
    );
    assert!(files.len() > 10, "domain sources not found");
    let mut violations = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in FORBIDDEN {
                if code.contains(word) {
                    violations.push(format!("{}:{}: {word}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "domain must stay pure:\n{}",
        violations.join("\n")
    );
}

#[test]
fn ui_names_no_database_model_runtime_or_job_crates() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui"),
        &mut files,
    );
    assert!(files.len() >= 4, "ui sources not found");
    let mut violations = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for word in ["rusqlite", "ort::", "tokio", "std::fs"] {
                if code.contains(word) {
                    violations.push(format!("{}:{}: {word}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "the UI only draws and emits commands:\n{}",
        violations.join("\n")
    );
}
