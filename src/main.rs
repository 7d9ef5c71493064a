//! `karyostation` command line: a thin front end over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use karyostation::domain::modality::ModalityChoice;
use karyostation::imageio::LoadLimits;
use karyostation::pipeline::Pipeline;

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
    },
}

#[derive(Subcommand, Clone)]
enum EvalSet {
    /// Segmentation recall, precision and AP50 on the BioImLab Q-band spreads.
    Bioimlab,
    /// Built-in classification accuracy on the Pki-3 G-band crops.
    Pki3,
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

fn pipeline(options: &AnalysisOptions) -> Pipeline {
    let mut p = Pipeline {
        limits: LoadLimits {
            max_pixels: options.max_pixels,
        },
        ..Pipeline::default()
    };
    p.params.entropy_threshold = options.entropy_threshold;
    p
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

fn run(cli: Cli) -> Result<usize> {
    match cli.command {
        None => {
            println!(
                "KaryoStation {}: no command given. Try `karyostation --help`.",
                env!("CARGO_PKG_VERSION")
            );
            Ok(0)
        }
        Some(Command::Analyze {
            images,
            out,
            options,
        }) => {
            let p = pipeline(&options);
            Ok(for_each_input(&images, |path| {
                let stem = path
                    .file_stem()
                    .map_or_else(|| "image".into(), |s| s.to_string_lossy().into_owned());
                let dir = out.join(stem);
                let report = p.analyze_file(path, options.modality, &dir)?;
                for w in &report.warnings {
                    eprintln!("warning: {}: {w}", path.display());
                }
                println!(
                    "{}\t{}\t{} objects\t{}",
                    path.display(),
                    report.karyotype,
                    report.objects.len(),
                    dir.display()
                );
                Ok(())
            }))
        }
        Some(Command::Eval { set, data, limit }) => {
            let p = Pipeline::default();
            let json = match set {
                EvalSet::Bioimlab => serde_json::to_string_pretty(
                    &karyostation::eval::eval_bioimlab(&p, &data, limit)
                        .with_context(|| format!("reading {}", data.display()))?,
                ),
                EvalSet::Pki3 => serde_json::to_string_pretty(
                    &karyostation::eval::eval_pki3(&p, &data, limit)
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
            println!("{json}");
            Ok(0)
        }
        Some(Command::Classify {
            images, options, ..
        }) => {
            let p = pipeline(&options);
            Ok(for_each_input(&images, |path| {
                let report = p.classify_file(path, options.modality)?;
                println!(
                    "{}",
                    serde_json::to_string(&report).context("serialising the result")?
                );
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
