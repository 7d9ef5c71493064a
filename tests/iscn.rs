//! The ISCN engine end to end: the checked-in corpus (every line must come
//! out valid or invalid as annotated), `parse(format(k)) == k` on random
//! typed karyotypes, a bounded fuzz run of the parser and validator, and the
//! `iscn validate` / `iscn explain` commands.
//!
//! Longer fuzz run: `ISCN_FUZZ_SECS=600 ISCN_FUZZ_ITERS=100000000 cargo test
//! --test iscn fuzz -- --nocapture` (defaults: 200 000 inputs, at most 5 s).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use karyostation::domain::iscn::{self, check, format, parse, sample};
use karyostation::domain::rng::Rng;

const CORPUS: &str = include_str!("data/iscn/corpus.tsv");

fn corpus() -> Vec<(usize, &'static str, bool, &'static str)> {
    CORPUS
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(n, l)| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 3, "corpus line {}: three columns", n + 1);
            let valid = match cols[1] {
                "valid" => true,
                "invalid" => false,
                other => panic!("corpus line {}: {other:?}", n + 1),
            };
            (n + 1, cols[0], valid, cols[2])
        })
        .collect()
}

#[test]
fn corpus_lines_are_judged_as_annotated() {
    let lines = corpus();
    assert!(lines.len() >= 300, "corpus has {} lines", lines.len());
    let mut failures = Vec::new();
    for (n, input, valid, reason) in &lines {
        let checked = check(input);
        if checked.is_valid() != *valid {
            failures.push(format!(
                "line {n}: {input:?} expected {} ({reason}), issues: {:?}",
                if *valid { "valid" } else { "invalid" },
                checked.issues
            ));
            continue;
        }
        if let Some(k) = &checked.karyotype {
            let canonical = format(k);
            assert_eq!(
                parse(&canonical).as_ref(),
                Ok(k),
                "line {n}: canonical re-parse"
            );
            assert_eq!(
                check(&canonical).is_valid(),
                *valid,
                "line {n}: canonical {canonical:?} judged differently"
            );
        }
        if !valid {
            assert!(
                checked
                    .errors()
                    .all(|e| e.offset.is_none_or(|o| o <= input.len())),
                "line {n}: error offset past the input"
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn corpus_has_both_kinds() {
    let lines = corpus();
    let valid = lines.iter().filter(|l| l.2).count();
    assert!(valid >= 100 && lines.len() - valid >= 100, "{valid} valid");
}

#[test]
fn format_then_parse_is_identity_on_random_karyotypes() {
    let mut rng = Rng::new(0x15C4);
    for i in 0..5000 {
        let k = sample::karyotype(&mut rng);
        let text = format(&k);
        match parse(&text) {
            Ok(back) => assert_eq!(back, k, "case {i}: {text}"),
            Err(e) => panic!("case {i}: {text}: {e}"),
        }
        // The validator and the explanation take whatever the parser takes.
        let _ = iscn::validate(&k, None);
        let _ = iscn::explain(&k);
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn fuzz_parser_and_validator_never_panic() {
    let iters = env_number("ISCN_FUZZ_ITERS", 200_000);
    let budget = Duration::from_secs(env_number("ISCN_FUZZ_SECS", 5));
    let seeds: Vec<String> = corpus().iter().map(|l| l.1.to_string()).collect();
    let mut rng = Rng::new(env_number("ISCN_FUZZ_SEED", 7));
    let start = Instant::now();
    let mut done = 0u64;
    while done < iters && start.elapsed() < budget {
        let base = match rng.below(3) {
            0 => format(&sample::karyotype(&mut rng)),
            _ => seeds[rng.below(seeds.len())].clone(),
        };
        let input = if rng.below(50) == 0 {
            // Arbitrary bytes made into text.
            let n = rng.below(40);
            let bytes: Vec<u8> = (0..n).map(|_| rng.below(256) as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            sample::mutate(&mut rng, &base)
        };
        let checked = check(&input);
        if let Some(k) = &checked.karyotype {
            let canonical = format(k);
            assert_eq!(
                parse(&canonical).as_ref(),
                Ok(k),
                "{input:?} -> {canonical:?}"
            );
            let _ = iscn::explain(k);
        }
        for issue in &checked.issues {
            assert!(issue.offset.is_none_or(|o| o <= input.len()), "{input:?}");
        }
        done += 1;
    }
    eprintln!("fuzz: {done} inputs in {:?}", start.elapsed());
    assert!(done > 100);
}

#[test]
fn cli_validate_prints_one_json_object_per_line() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_karyostation"))
        .args(["iscn", "validate"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run karyostation");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(
            b"47,XY,+21\n46,XX,del(5)(pter\xe2\x86\x92q31::q33->qter)\r\n\n\
              48,XY,+21\n46,XX,del(5)(q31\n46,X\xff\n",
        )
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(1),
        "invalid lines give exit status 1"
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(rows.len(), 5, "blank lines are skipped");
    assert_eq!(rows[0]["input"], "47,XY,+21");
    assert_eq!(rows[0]["valid"], true);
    assert_eq!(rows[0]["canonical"], "47,XY,+21");
    assert_eq!(rows[0]["errors"].as_array().map(Vec::len), Some(0));
    assert_eq!(rows[1]["canonical"], "46,XX,del(5)(pter->q31::q33->qter)");
    assert_eq!(rows[2]["valid"], false);
    assert!(rows[2].get("canonical").is_none());
    assert!(
        rows[2]["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("count 48")
    );
    assert_eq!(rows[3]["errors"][0]["offset"], 16);
    assert_eq!(
        rows[4]["valid"], false,
        "bytes that are not UTF-8 are an invalid line"
    );
}

#[test]
fn cli_explain_reads_a_karyotype_aloud() {
    let out = Command::new(env!("CARGO_BIN_EXE_karyostation"))
        .args(["iscn", "explain", "47,XY,+21"])
        .output()
        .expect("run karyostation");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "47,XY,+21: 47 chromosomes, male, an extra chromosome 21 (trisomy 21)"
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_karyostation"))
        .args(["iscn", "explain", "47,XY,+2("])
        .output()
        .expect("run karyostation");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("at byte"));
}

#[test]
fn every_numerical_proposal_is_valid_iscn() {
    use karyostation::domain::chromosome::{CLASS_COUNT, ChromosomeClass};
    use karyostation::domain::iscn::NumericalKaryotype;
    let mut rng = Rng::new(46);
    for _ in 0..2000 {
        let mut counts = [2usize; CLASS_COUNT];
        for _ in 0..rng.below(4) {
            counts[rng.below(22)] = rng.below(5);
        }
        counts[ChromosomeClass::X.index()] = 1 + rng.below(3);
        counts[ChromosomeClass::Y.index()] = rng.below(2);
        let n = NumericalKaryotype::from_counts(&counts, 0);
        let text = n.to_iscn();
        let checked = check(&text);
        assert!(checked.is_valid(), "{text}: {:?}", checked.issues);
        assert_eq!(checked.karyotype, Some(n.to_karyotype()), "{text}");
    }
}
