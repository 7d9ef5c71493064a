//! `karyostation` command line: a thin front end over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use karyostation::domain::modality::ModalityChoice;
use karyostation::imageio::LoadLimits;
use karyostation::pipeline::{ModelChoice, Pipeline, select_classifier};

#[derive(Parser)]
#[command(
    name = "karyostation",
    version,
    about = "Cytogenetics review workstation: metaphase analysis, karyograms and ISCN karyotypes"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Args, Clone)]
struct AnalysisOptions {
    /// Imaging modality: auto, brightfield (G-band, dark on light) or fluorescence (Q-band/DAPI, bright on dark).
    #[arg(long, default_value = "auto")]
    modality: ModalityChoice,
    /// Refuse images with more pixels than this.
    #[arg(long, default_value_t = karyostation::imageio::DEFAULT_MAX_PIXELS)]
    max_pixels: u64,
    /// Flag objects whose class entropy (nats) exceeds this.
    #[arg(long, default_value_t = 1.0)]
    entropy_threshold: f64,
    /// Chromosome classifier: auto (the learned ONNX model when available), builtin, or onnx.
    #[arg(long, default_value = "auto")]
    classifier: ModelChoice,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse metaphase spreads: segment, classify, arrange; writes DIR/<image stem>/{analysis.json, karyogram.png, karyotype.txt}.
    Analyze {
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        options: AnalysisOptions,
    },
    /// Classify images that each hold one chromosome; prints one JSON object per line.
    Classify {
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// Print JSON lines (the default and only format; accepted for scripts).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        options: AnalysisOptions,
    },
    /// Analyse the built-in demo case (synthetic G-band spreads, normal and abnormal) and write its outputs.
    Demo {
        /// Output directory (default: karyostation-demo in the system temporary directory).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Generate synthetic G-band spreads with full ground truth (PNG + truth JSON).
    Synth {
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Number of spreads (seeds SEED, SEED+1, ...).
        #[arg(long, default_value_t = 1)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 768)]
        width: usize,
        #[arg(long, default_value_t = 576)]
        height: usize,
        /// Sex chromosomes: female (XX) or male (XY).
        #[arg(long, default_value = "female")]
        sex: String,
        /// Abnormality to build in, repeatable: +21, -7, del(5)(q31q33), t(9;22)(q34;q11.2).
        #[arg(long = "abnormality", allow_hyphen_values = true)]
        abnormalities: Vec<String>,
    },
    /// ISCN karyotypes: validate and explain.
    Iscn {
        #[command(subcommand)]
        action: IscnAction,
    },
    /// Measure segmentation and classification figures on labelled data.
    Eval {
        #[command(subcommand)]
        set: EvalSet,
        /// Folder holding the real data sets (bioimlab/, pki3/, mfish/).
        #[arg(long, default_value = "../shared/data", global = true)]
        data: PathBuf,
        /// Evaluate at most this many spreads / karyograms.
        #[arg(long, global = true)]
        limit: Option<usize>,
        /// Classifier to evaluate: auto, builtin or onnx.
        #[arg(long, default_value = "builtin", global = true)]
        classifier: ModelChoice,
    },
}

#[derive(Subcommand, Clone)]
enum IscnAction {
    /// Read karyotypes one per line on stdin; print one JSON object per line
    /// (input, valid, errors, warnings, canonical). Exit status 1 when any is invalid.
    Validate,
    /// Print a plain-language reading of a karyotype.
    Explain {
        /// The karyotype, e.g. 47,XY,+21 (quote it in the shell).
        karyotype: String,
    },
}

#[derive(Subcommand, Clone)]
enum EvalSet {
    /// Segmentation recall, precision and AP50 on the BioImLab Q-band spreads.
    Bioimlab,
    /// Built-in classification accuracy on the Pki-3 G-band crops.
    Pki3,
    /// Segmentation and right-slot share on the ADIR M-FISH DAPI spreads.
    Mfish,
    /// End-to-end figures on generated G-band spreads (no data needed).
    Synthetic {
        /// Number of spreads.
        #[arg(long, default_value_t = 20)]
        count: usize,
        #[arg(long, default_value_t = 1000)]
        seed: u64,
        #[arg(long, default_value_t = 768)]
        width: usize,
        #[arg(long, default_value_t = 576)]
        height: usize,
    },
}

fn pipeline(options: &AnalysisOptions) -> Result<Pipeline> {
    let (classifier, notice) =
        select_classifier(options.classifier).context("loading the learned classifier")?;
    if let Some(notice) = notice {
        eprintln!("note: {notice}");
    }
    let mut p = Pipeline {
        classifier,
        limits: LoadLimits {
            max_pixels: options.max_pixels,
        },
        ..Pipeline::default()
    };
    p.params.entropy_threshold = options.entropy_threshold;
    Ok(p)
}

/// Runs `work` on every input; one failure is reported and the rest go on.
/// Returns the number of failures.
fn for_each_input(inputs: &[PathBuf], mut work: impl FnMut(&PathBuf) -> Result<()>) -> usize {
    let mut failures = 0;
    for path in inputs {
        if let Err(e) = work(path) {
            eprintln!("error: {e:#}");
            failures += 1;
        }
    }
    failures
}

/// Prints a line to stdout; a closed pipe (`| head`) ends the output quietly.
fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").is_err() {
        std::process::exit(0);
    }
}

fn run_demo(out: Option<PathBuf>) -> Result<usize> {
    let out = out.unwrap_or_else(|| std::env::temp_dir().join("karyostation-demo"));
    let p = Pipeline::default();
    say(&format!(
        "KaryoStation {} demo case -> {}",
        env!("CARGO_PKG_VERSION"),
        out.display()
    ));
    let mut failures = 0;
    for (name, cfg) in karyostation::demo::demo_case() {
        let result = karyostation::demo::write_synthetic(&out.join("images"), name, &cfg)
            .and_then(|png| p.analyze_file(&png, ModalityChoice::Auto, &out.join(name)));
        match result {
            Ok(report) => {
                let truth = karyostation::domain::synth::generate_spread(&cfg).karyotype;
                say(&format!(
                    "{name:24} proposed {:26} truth {truth:26} {} objects, {:.0} ms",
                    report.karyotype,
                    report.objects.len(),
                    report.timings_ms.get("total").copied().unwrap_or(0.0)
                ));
            }
            Err(e) => {
                eprintln!("error: {e}");
                failures += 1;
            }
        }
    }
    say(&format!(
        "Karyograms, karyotypes and analysis.json are in {}",
        out.display()
    ));
    Ok(failures)
}

fn run_synth(
    out: &std::path::Path,
    count: usize,
    seed: u64,
    (width, height): (usize, usize),
    sex: &str,
    abnormalities: &[String],
) -> Result<usize> {
    use karyostation::domain::synth::{Abnormality, Sex, SynthConfig};
    let sex = match sex.to_ascii_lowercase().as_str() {
        "female" | "xx" => Sex::Female,
        "male" | "xy" => Sex::Male,
        other => anyhow::bail!("unknown sex {other:?}: expected female or male"),
    };
    let abnormalities = abnormalities
        .iter()
        .map(|a| Abnormality::parse(a).map_err(anyhow::Error::msg))
        .collect::<Result<Vec<_>>>()?;
    if width < 64 || height < 64 || width * height > 64_000_000 {
        anyhow::bail!("spread size {width} x {height} must be at least 64 x 64 and at most 64 MP");
    }
    for k in 0..count {
        let mut cfg = SynthConfig::new(width, height, seed + k as u64);
        cfg.sex = sex;
        cfg.abnormalities = abnormalities.clone();
        let name = format!("synth_{}", seed + k as u64);
        let png = karyostation::demo::write_synthetic(out, &name, &cfg)?;
        say(&png.display().to_string());
    }
    Ok(0)
}

fn run_iscn(action: IscnAction) -> Result<usize> {
    use karyostation::domain::iscn;
    match action {
        IscnAction::Validate => {
            use std::io::BufRead;
            let mut invalid = 0;
            // Bytes, not `lines()`: a line that is not UTF-8 is reported
            // (with U+FFFD in `input`) instead of ending the run.
            for line in std::io::stdin().lock().split(b'\n') {
                let line = line.context("reading stdin")?;
                let line = String::from_utf8_lossy(&line);
                let line = line.trim_end_matches('\r');
                if line.trim().is_empty() {
                    continue;
                }
                let report = iscn::validate::Report::of(line);
                if !report.valid {
                    invalid += 1;
                }
                say(&serde_json::to_string(&report).context("serialising the report")?);
            }
            Ok(invalid)
        }
        IscnAction::Explain { karyotype } => {
            let checked = iscn::check(&karyotype);
            let Some(k) = &checked.karyotype else {
                let msg = checked
                    .issues
                    .first()
                    .map_or_else(String::new, |i| i.message.clone());
                let offset = checked.issues.first().and_then(|i| i.offset).unwrap_or(0);
                anyhow::bail!("{karyotype:?} at byte {offset}: {msg}");
            };
            say(&format!("{}: {}", iscn::format(k), iscn::explain(k)));
            for issue in &checked.issues {
                let kind = match issue.severity {
                    iscn::Severity::Error => "error",
                    iscn::Severity::Warning => "warning",
                };
                let at = issue
                    .offset
                    .map(|o| format!(" at byte {o}"))
                    .unwrap_or_default();
                eprintln!("{kind}{at}: {}", issue.message);
            }
            Ok(usize::from(!checked.is_valid()))
        }
    }
}

fn run(cli: Cli) -> Result<usize> {
    match cli.command {
        None => run_demo(None),
        Some(Command::Demo { out }) => run_demo(out),
        Some(Command::Iscn { action }) => run_iscn(action),
        Some(Command::Synth {
            out,
            count,
            seed,
            width,
            height,
            sex,
            abnormalities,
        }) => run_synth(&out, count, seed, (width, height), &sex, &abnormalities),
        Some(Command::Analyze {
            images,
            out,
            options,
        }) => {
            let p = pipeline(&options)?;
            Ok(for_each_input(&images, |path| {
                let stem = path
                    .file_stem()
                    .map_or_else(|| "image".into(), |s| s.to_string_lossy().into_owned());
                let dir = out.join(stem);
                let report = p.analyze_file(path, options.modality, &dir)?;
                for w in &report.warnings {
                    eprintln!("warning: {}: {w}", path.display());
                }
                say(&format!(
                    "{}\t{}\t{} objects\t{}",
                    path.display(),
                    report.karyotype,
                    report.objects.len(),
                    dir.display()
                ));
                Ok(())
            }))
        }
        Some(Command::Eval {
            set,
            data,
            limit,
            classifier,
        }) => {
            let (classifier, notice) =
                select_classifier(classifier).context("loading the learned classifier")?;
            if let Some(notice) = notice {
                eprintln!("note: {notice}");
            }
            let p = Pipeline {
                classifier,
                ..Pipeline::default()
            };
            let json = match set {
                EvalSet::Bioimlab => serde_json::to_string_pretty(
                    &karyostation::eval::eval_bioimlab(&p, &data, limit)
                        .with_context(|| format!("reading {}", data.display()))?,
                ),
                EvalSet::Pki3 => serde_json::to_string_pretty(
                    &karyostation::eval::eval_pki3(&p, &data, limit)
                        .with_context(|| format!("reading {}", data.display()))?,
                ),
                EvalSet::Mfish => serde_json::to_string_pretty(
                    &karyostation::eval::eval_mfish(&p, &data, limit, None)
                        .with_context(|| format!("reading {}", data.display()))?,
                ),
                EvalSet::Synthetic {
                    count,
                    seed,
                    width,
                    height,
                } => serde_json::to_string_pretty(&karyostation::eval::eval_synthetic(
                    &p, count, seed, width, height,
                )),
            }
            .context("serialising the summary")?;
            say(&json);
            Ok(0)
        }
        Some(Command::Classify {
            images, options, ..
        }) => {
            let p = pipeline(&options)?;
            Ok(for_each_input(&images, |path| {
                let report = p.classify_file(path, options.modality)?;
                say(&serde_json::to_string(&report).context("serialising the result")?);
                Ok(())
            }))
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
