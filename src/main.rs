//! `karyostation` command line: a thin front end over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use karyostation::casework::{Flow, ImportEvent};
use karyostation::domain::case::{EditRequest, NewCase};
use karyostation::domain::ids::MetaphaseId;
use karyostation::domain::karyogram::edit::Edit;
use karyostation::domain::modality::ModalityChoice;
use karyostation::domain::ports::CaseRepo;
use karyostation::domain::review::SignOffRules;
use karyostation::eval::SplitList;
use karyostation::imageio::LoadLimits;
use karyostation::pipeline::{ModelChoice, Pipeline, select_classifier, select_segmenter};
use karyostation::store::{OpenMode, SqliteCaseRepo, default_db_path};

#[derive(Parser)]
#[command(
    name = "karyostation",
    version,
    disable_version_flag = true,
    about = "Cytogenetics review workstation: metaphase analysis, karyograms and ISCN karyotypes",
    long_about = "Cytogenetics review workstation: metaphase analysis, karyograms and ISCN karyotypes.\n\n\
        Without a subcommand the window opens on the case database (the demo case is created on first start).\n\
        User data (the case database cases.sqlite) lives in the user data directory \
        (~/.local/share/karyostation on Linux), never beside the program.\n\
        Environment: KARYOSTATION_DB (database file), KARYOSTATION_ORT_LIB (ONNX Runtime library), \
        KARYOSTATION_MODELS (folder holding models.json), KARYOSTATION_BANDS (300- and 700-band tables)."
)]
struct Cli {
    /// Print the version, the git commit, the models found (checked) and the ONNX Runtime version, then quit.
    #[arg(short = 'V', long)]
    version: bool,
    /// Case database file (default: $KARYOSTATION_DB, else cases.sqlite in the user data directory).
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    /// Window only: save a screenshot of the window to this PNG once the case is shown, then quit.
    #[arg(long)]
    screenshot: Option<PathBuf>,
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
    /// Segmenter: auto (the learned ONNX model when available), builtin (classical), or onnx.
    #[arg(long, default_value = "auto")]
    segmenter: ModelChoice,
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
        /// Segmenter to evaluate: auto, builtin or onnx.
        #[arg(long, default_value = "builtin", global = true)]
        segmenter: ModelChoice,
        /// Only the validation units of this split file
        /// (models/train/segmenter_splits.json: BioImLab stems, M-FISH slide
        /// folders; models/train/splits.json: Pki-3 cases).
        #[arg(long, global = true)]
        val_split: Option<PathBuf>,
    },
    /// Cases in the case database.
    Case {
        #[command(subcommand)]
        command: CaseCommand,
    },
    /// Export a case: the karyogram of one cell (PNG) and the ISCN report (text, JSON).
    Export {
        /// The case accession (its latest version is exported).
        #[arg(long = "case")]
        accession: String,
        /// Karyogram PNG to write.
        #[arg(long)]
        karyogram: Option<PathBuf>,
        /// ISCN report (text) to write.
        #[arg(long)]
        report: Option<PathBuf>,
        /// ISCN report (JSON) to write.
        #[arg(long)]
        report_json: Option<PathBuf>,
        /// The cell for the karyogram, 1-based in the order `case show` lists (default: the first analysed cell).
        #[arg(long)]
        cell: Option<usize>,
        /// Resolution: 96 for screen, 300 for print (stored in the PNG's pHYs chunk).
        #[arg(long, default_value_t = 96, value_parser = clap::value_parser!(u32).range(24..=1200))]
        dpi: u32,
        /// Put the patient's name and id on the karyogram and in the report.
        #[arg(long)]
        include_patient: bool,
    },
    /// Export what technologists confirmed and corrected, for retraining: COCO masks, straightened crops and labels, split by case, de-identified.
    ExportTraining {
        /// Output folder (must not exist, or be empty).
        #[arg(long)]
        out: PathBuf,
        /// Only cases signed on or after this day (YYYY-MM-DD).
        #[arg(long)]
        since: Option<String>,
        /// Also take cases that are not signed (their latest version).
        #[arg(long)]
        include_unsigned: bool,
    },
    /// The case database itself.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Write the manual pages (roff: karyostation.1 and one per subcommand) into a folder; used by the packaging scripts.
    #[command(hide = true)]
    Manpage {
        /// Output folder (created when missing).
        out: PathBuf,
    },
    /// Write the straightened crops the pipeline cuts from the labelled M-FISH spreads (classifier training data; models/train/README.md).
    #[command(hide = true)]
    MfishCrops {
        /// Folder holding the real data sets (mfish/).
        #[arg(long, default_value = "../shared/data")]
        data: PathBuf,
        /// Output folder (crops/ and mfish_crops.csv).
        #[arg(long)]
        out: PathBuf,
        /// Leave out the validation slides of this split file (models/train/segmenter_splits.json).
        #[arg(long)]
        val_split: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum CaseCommand {
    /// Create a case.
    New {
        #[arg(long)]
        accession: String,
        #[arg(long)]
        patient_name: Option<String>,
        #[arg(long)]
        patient_id: Option<String>,
        /// Specimen type (peripheral blood, bone marrow, amniotic fluid, ...).
        #[arg(long)]
        specimen: Option<String>,
        #[arg(long)]
        indication: Option<String>,
        /// Band level (400, 550, 850).
        #[arg(long)]
        band_level: Option<u32>,
        /// Who creates the case (default: $USER).
        #[arg(long)]
        user: Option<String>,
    },
    /// Analyse metaphase images and store them, with their analysis, in a case.
    Import {
        accession: String,
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// Who imports (default: $USER).
        #[arg(long)]
        user: Option<String>,
        #[command(flatten)]
        options: AnalysisOptions,
    },
    /// List cases (latest version of each).
    List {
        /// Only cases whose accession, patient name or patient id contains this.
        #[arg(long)]
        search: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show a case, its metaphases, sign-off and versions.
    Show {
        accession: String,
        #[arg(long)]
        json: bool,
    },
    /// Sign a case after checking the sign-off rules.
    Sign {
        accession: String,
        #[arg(long)]
        user: String,
        /// Recorded reason; lets the signer go below the minimum cell counts.
        #[arg(long)]
        reason: Option<String>,
        #[arg(long, default_value_t = 20)]
        min_counted: usize,
        #[arg(long, default_value_t = 5)]
        min_analysed: usize,
        /// Two-person rule: the signer may not be the analyst.
        #[arg(long)]
        two_person: bool,
    },
    /// Apply one correction, given as JSON (see `Edit` in the library docs), e.g.
    /// '{"kind":"accept","object":3,"accepted":true}'; stored at once.
    Edit {
        accession: String,
        edit: String,
        /// The metaphase (cell) edited; none for the case karyotype.
        #[arg(long)]
        metaphase: Option<i64>,
        /// The case revision the edit was made on (default: the current one).
        #[arg(long)]
        revision: Option<u64>,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Undo the latest correction of a cell (or of the case karyotype).
    Undo(HistoryStep),
    /// Redo the latest undone correction.
    Redo(HistoryStep),
    /// Start an amendment of a signed case: a new version; the signed one stays intact.
    Amend {
        accession: String,
        #[arg(long)]
        user: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Check the audit hash chain and every signed case; exit status 1 on any problem.
    Verify,
    /// Copy the database (online backup) to a new file.
    Backup { out: PathBuf },
}

/// Which cell's history to step through, and on which revision.
#[derive(clap::Args)]
struct HistoryStep {
    accession: String,
    /// The metaphase (cell); none for the case karyotype.
    #[arg(long)]
    metaphase: Option<i64>,
    /// The case revision the step is based on (default: the current one).
    #[arg(long)]
    revision: Option<u64>,
    #[arg(long)]
    user: Option<String>,
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
    /// Classification accuracy and polarity on the Pki-3 G-band crops.
    Pki3,
    /// Classification accuracy on the BioImLab Q-band crops.
    BioimlabCrops,
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

/// A model chosen by `select_*`, its fallback notice (if any) said once on stderr.
fn noted<T>((model, notice): (T, Option<String>)) -> T {
    if let Some(notice) = notice {
        eprintln!("note: {notice}");
    }
    model
}

/// The pipeline for the options; the segmenter is only loaded when `segment`
/// is set (`classify` has single chromosomes and needs none).
fn pipeline(options: &AnalysisOptions, segment: bool) -> Result<Pipeline> {
    let classifier =
        noted(select_classifier(options.classifier).context("loading the learned classifier")?);
    let mut p = Pipeline {
        classifier,
        limits: LoadLimits {
            max_pixels: options.max_pixels,
        },
        ..Pipeline::default()
    };
    if segment {
        p.segmenter =
            noted(select_segmenter(options.segmenter).context("loading the learned segmenter")?);
    }
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

/// Synthetic spreads are kept between 64 x 64 and 64 megapixels.
fn check_spread_size(width: usize, height: usize) -> Result<()> {
    if width < 64 || height < 64 || width.checked_mul(height).is_none_or(|p| p > 64_000_000) {
        anyhow::bail!("spread size {width} x {height} must be at least 64 x 64 and at most 64 MP");
    }
    Ok(())
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
    check_spread_size(width, height)?;
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

fn db_path(db: Option<PathBuf>) -> Result<PathBuf> {
    db.or_else(default_db_path).context(
        "no case database location: give --db PATH or set KARYOSTATION_DB (no user data directory found)",
    )
}

fn open_db(db: Option<PathBuf>, mode: OpenMode) -> Result<SqliteCaseRepo> {
    let path = db_path(db)?;
    Ok(SqliteCaseRepo::open(&path, mode)?)
}

/// Opens the window on the case database (the demo case is created and
/// analysed on first start). A database that cannot be opened gets a
/// screen saying so, not a crash.
fn run_gui(db: Option<PathBuf>, screenshot: Option<PathBuf>) -> Result<usize> {
    use karyostation::app::{AppState, Db, Prefs};
    use karyostation::ui::{KaryoApp, PREFS_KEY};
    let db = match db_path(db) {
        Ok(path) => match SqliteCaseRepo::open(&path, OpenMode::Create) {
            Ok(repo) => Db::Open(Box::new(repo)),
            Err(e) => Db::Failed {
                path,
                reason: e.to_string(),
            },
        },
        Err(e) => Db::Failed {
            path: PathBuf::from("(no location)"),
            reason: format!("{e:#}"),
        },
    };
    let (classifier, classifier_notice) = select_classifier(ModelChoice::Auto)?;
    let (segmenter, segmenter_notice) = select_segmenter(ModelChoice::Auto)?;
    let pipeline = Pipeline {
        classifier,
        segmenter,
        ..Pipeline::default()
    };
    // Shown once in the window; both models miss together when the runtime does.
    let notice = match (classifier_notice, segmenter_notice) {
        (Some(a), Some(b)) => Some(format!("{a}\n{b}")),
        (a, b) => a.or(b),
    };
    for note in karyostation::fsutil::install_band_tables(&karyostation::fsutil::band_table_dirs())
    {
        eprintln!("band tables: {note}");
    }
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("KaryoStation")
            .with_inner_size([1400.0, 900.0])
            .with_min_inner_size([800.0, 560.0])
            .with_drag_and_drop(true)
            .with_icon(window_icon()),
        renderer: eframe::Renderer::Wgpu,
        persist_window: screenshot.is_none(),
        ..Default::default()
    };
    let result = eframe::run_native(
        "KaryoStation",
        options,
        Box::new(move |cc| {
            let mut prefs: Prefs = cc
                .storage
                .and_then(|s| eframe::get_value(s, PREFS_KEY))
                .unwrap_or_default();
            if screenshot.is_some() {
                prefs = Prefs::default();
            }
            let ctx = cc.egui_ctx.clone();
            let waker = std::sync::Arc::new(move || ctx.request_repaint());
            let mut state = AppState::new(db, pipeline, notice, prefs, waker)?;
            state.ensure_demo_case();
            let app = KaryoApp::new(state);
            Ok(Box::new(match screenshot {
                Some(path) => app.with_screenshot(path, 3000),
                None => app,
            }))
        }),
    );
    result.map_err(|e| anyhow::anyhow!("the window could not start: {e}"))?;
    Ok(0)
}

/// The application icon for the window (the same image the packages install).
fn window_icon() -> egui::IconData {
    static PNG: &[u8] = include_bytes!("../assets/icons/karyostation-256.png");
    match image::load_from_memory(PNG) {
        Ok(img) => {
            let rgba = img.to_rgba8();
            egui::IconData {
                width: rgba.width(),
                height: rgba.height(),
                rgba: rgba.into_raw(),
            }
        }
        Err(_) => egui::IconData::default(),
    }
}

fn default_user(user: Option<String>) -> String {
    user.or_else(|| std::env::var("USER").ok())
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn run_case(db: Option<PathBuf>, command: CaseCommand) -> Result<usize> {
    let command_kind = match &command {
        CaseCommand::Undo(_) => "undo",
        CaseCommand::Redo(_) => "redo",
        _ => "",
    };
    match command {
        CaseCommand::New {
            accession,
            patient_name,
            patient_id,
            specimen,
            indication,
            band_level,
            user,
        } => {
            let mut repo = open_db(db, OpenMode::Create)?;
            let case = repo.create_case(
                &NewCase {
                    accession,
                    patient_name,
                    patient_id,
                    specimen,
                    indication,
                    band_level,
                },
                &default_user(user),
            )?;
            say(&format!(
                "created case {} (version {}, {}) in {}",
                case.accession,
                case.version,
                case.status,
                repo.path().display()
            ));
            Ok(0)
        }
        CaseCommand::Import {
            accession,
            images,
            user,
            options,
        } => {
            let mut repo = open_db(db, OpenMode::Existing)?;
            // Fail early (before any analysis) when the case is missing or signed.
            let detail = repo.case_detail(&accession)?;
            if detail.summary.status.is_read_only() {
                anyhow::bail!(
                    "case {accession} is {}; `case amend` starts a new version",
                    detail.summary.status
                );
            }
            let p = pipeline(&options, true)?;
            let user = default_user(user);
            // A file that fails is recorded in the case (shown by `case
            // show` and in the window) and the others are imported.
            let mut failures = 0;
            karyostation::casework::import_files(
                &mut repo,
                &p,
                &accession,
                &images,
                options.modality,
                &user,
                |event| {
                    match event {
                        ImportEvent::Imported {
                            path,
                            metaphase,
                            karyotype,
                            objects,
                        } => say(&format!(
                            "{}\tmetaphase {metaphase}\t{karyotype}\t{objects} objects",
                            path.display()
                        )),
                        ImportEvent::Failed {
                            reason, recorded, ..
                        } => {
                            failures += 1;
                            let note = recorded
                                .map(|id| format!(" (recorded as failed import {id})"))
                                .unwrap_or_default();
                            eprintln!("error: {reason}{note}");
                        }
                        ImportEvent::Started { .. } => {}
                    }
                    Flow::Continue
                },
            )?;
            Ok(failures)
        }
        CaseCommand::List { search, json } => {
            let repo = open_db(db, OpenMode::Existing)?;
            let cases = repo.list_cases(search.as_deref())?;
            if json {
                say(&serde_json::to_string_pretty(&cases).context("serialising the list")?);
            } else {
                for c in cases {
                    say(&format!(
                        "{}\tv{}\t{}\t{} metaphases\t{}\t{}",
                        c.accession,
                        c.version,
                        c.status,
                        c.metaphases,
                        c.patient_name.as_deref().unwrap_or("-"),
                        if c.karyotype.is_empty() {
                            "-"
                        } else {
                            &c.karyotype
                        }
                    ));
                }
            }
            Ok(0)
        }
        CaseCommand::Show { accession, json } => {
            let repo = open_db(db, OpenMode::Existing)?;
            let d = repo.case_detail(&accession)?;
            if json {
                say(&serde_json::to_string_pretty(&d).context("serialising the case")?);
                return Ok(0);
            }
            let s = &d.summary;
            say(&format!(
                "case {} version {} ({}), revision {}, {} edits",
                s.accession, s.version, s.status, s.revision, d.edits
            ));
            for (k, v) in [
                ("patient", s.patient_name.as_deref()),
                ("patient id", s.patient_id.as_deref()),
                ("specimen", d.specimen.as_deref()),
                ("indication", d.indication.as_deref()),
                ("amendment reason", d.amend_reason.as_deref()),
            ] {
                if let Some(v) = v {
                    say(&format!("  {k}: {v}"));
                }
            }
            for m in &d.metaphases {
                say(&format!(
                    "  metaphase {}\t{}\t{}\t{} objects, {} rejected, {} entropy-flagged open\t{}",
                    m.id,
                    m.source_name,
                    m.karyotype,
                    m.objects,
                    m.rejected,
                    m.unresolved_flags,
                    m.image_path
                ));
            }
            for f in &d.failed_imports {
                say(&format!(
                    "  not imported {}\t{}\t{}\t{} at {}",
                    f.id, f.file, f.reason, f.user, f.at
                ));
            }
            if let Some(so) = &d.sign_off {
                say(&format!(
                    "  signed by {} at {} (content sha256 {}){}",
                    so.user,
                    so.at,
                    so.content_hash,
                    so.reason
                        .as_deref()
                        .map(|r| format!(", reason: {r}"))
                        .unwrap_or_default()
                ));
            }
            if d.versions.len() > 1 {
                for v in &d.versions {
                    say(&format!("  version {}: {}", v.version, v.status));
                }
            }
            Ok(0)
        }
        CaseCommand::Sign {
            accession,
            user,
            reason,
            min_counted,
            min_analysed,
            two_person,
        } => {
            let mut repo = open_db(db, OpenMode::Existing)?;
            let rules = SignOffRules {
                min_counted,
                min_analysed,
                two_person,
            };
            let s = repo.sign(&accession, &user, reason.as_deref(), &rules)?;
            say(&format!(
                "signed case {} version {} as {user}",
                s.accession, s.version
            ));
            Ok(0)
        }
        CaseCommand::Edit {
            accession,
            edit,
            metaphase,
            revision,
            user,
            reason,
        } => {
            let edit: Edit = serde_json::from_str(&edit).context("reading the edit JSON")?;
            let mut repo = open_db(db, OpenMode::Existing)?;
            let case = repo.case_detail(&accession)?.summary;
            let out = repo.apply_edit(&EditRequest {
                case: case.id,
                metaphase: metaphase.map(MetaphaseId),
                base_revision: revision.unwrap_or(case.revision),
                user: default_user(user),
                reason,
                edit,
            })?;
            say(&format!(
                "stored edit {} on case {accession}, now revision {}",
                out.edit, out.revision
            ));
            Ok(0)
        }
        CaseCommand::Undo(HistoryStep {
            accession,
            metaphase,
            revision,
            user,
        })
        | CaseCommand::Redo(HistoryStep {
            accession,
            metaphase,
            revision,
            user,
        }) => {
            let undo = matches!(command_kind, "undo");
            let mut repo = open_db(db, OpenMode::Existing)?;
            let case = repo.case_detail(&accession)?.summary;
            let base = revision.unwrap_or(case.revision);
            let metaphase = metaphase.map(MetaphaseId);
            let user = default_user(user);
            let out = if undo {
                repo.undo(case.id, metaphase, base, &user)?
            } else {
                repo.redo(case.id, metaphase, base, &user)?
            };
            say(&format!(
                "stored {command_kind} as edit {} on case {accession}, now revision {}",
                out.edit, out.revision
            ));
            Ok(0)
        }
        CaseCommand::Amend {
            accession,
            user,
            reason,
        } => {
            let mut repo = open_db(db, OpenMode::Existing)?;
            let s = repo.amend(&accession, &user, &reason)?;
            say(&format!(
                "case {} version {} started as an amendment; the signed version stays as it is",
                s.accession, s.version
            ));
            Ok(0)
        }
    }
}

fn run_db(db: Option<PathBuf>, command: DbCommand) -> Result<usize> {
    let repo = open_db(db, OpenMode::Existing)?;
    match command {
        DbCommand::Verify => {
            let report = repo.verify()?;
            for p in &report.problems {
                eprintln!("problem: {p}");
            }
            say(&format!(
                "{}: {} audit events, {} signed case versions, {} problems",
                repo.path().display(),
                report.events,
                report.signed_cases,
                report.problems.len()
            ));
            Ok(report.problems.len())
        }
        DbCommand::Backup { out } => {
            repo.backup_to(&out)?;
            say(&format!(
                "backed up {} to {}",
                repo.path().display(),
                out.display()
            ));
            Ok(0)
        }
    }
}

struct ExportRequest {
    accession: String,
    karyogram: Option<PathBuf>,
    report: Option<PathBuf>,
    report_json: Option<PathBuf>,
    options: karyostation::export::KaryogramOptions,
}

fn run_export(db: Option<PathBuf>, request: ExportRequest) -> Result<usize> {
    use karyostation::export;
    let start = std::time::Instant::now();
    if request.karyogram.is_none() && request.report.is_none() && request.report_json.is_none() {
        anyhow::bail!("nothing to export: give --karyogram, --report and/or --report-json");
    }
    let repo = open_db(db, OpenMode::Existing)?;
    // Everything is rendered first, then written all or nothing.
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let mut notes = Vec::new();
    if let Some(path) = &request.karyogram {
        let k = export::karyogram(&repo, &request.accession, &request.options)?;
        notes.push(format!(
            "karyogram of cell {} (metaphase {}), {} x {} px at {} dpi -> {}",
            k.cell,
            k.metaphase,
            k.width,
            k.height,
            request.options.dpi,
            path.display()
        ));
        files.push((path.clone(), k.png));
    }
    if request.report.is_some() || request.report_json.is_some() {
        let report =
            export::case_report(&repo, &request.accession, request.options.include_patient)?;
        if let Some(path) = &request.report {
            files.push((path.clone(), report.to_text().into_bytes()));
            notes.push(format!("report -> {}", path.display()));
        }
        if let Some(path) = &request.report_json {
            let mut json = serde_json::to_vec_pretty(&report).context("serialising the report")?;
            json.push(b'\n');
            files.push((path.clone(), json));
            notes.push(format!("report JSON -> {}", path.display()));
        }
    }
    let refs: Vec<(&std::path::Path, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_path(), b.as_slice()))
        .collect();
    karyostation::fsutil::write_all_atomic(&refs)
        .map_err(|(path, e)| anyhow::anyhow!("cannot write {}: {e}", path.display()))
        .context("nothing was written")?;
    for n in notes {
        say(&n);
    }
    say(&format!(
        "exported case {} in {:.0} ms",
        request.accession,
        start.elapsed().as_secs_f64() * 1000.0
    ));
    Ok(0)
}

fn run_export_training(
    db: Option<PathBuf>,
    out: &std::path::Path,
    options: &karyostation::export::training::TrainingOptions,
) -> Result<usize> {
    let start = std::time::Instant::now();
    let mut repo = open_db(db, OpenMode::Existing)?;
    let s = karyostation::export::training::export_training(&mut repo, out, options)?;
    for (name, c) in [("train", &s.train), ("val", &s.val)] {
        say(&format!(
            "{name}: {} cases, {} images, {} objects ({} corrected)",
            c.cases, c.images, c.annotations, c.corrected
        ));
    }
    if s.skipped_unassigned > 0 {
        say(&format!(
            "left out {} unassigned objects (no class to learn)",
            s.skipped_unassigned
        ));
    }
    say(&format!(
        "wrote {} in {:.0} ms",
        out.display(),
        start.elapsed().as_secs_f64() * 1000.0
    ));
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
    if cli.version {
        print!("{}", karyostation::about::BuildInfo::gather().report());
        return Ok(0);
    }
    match cli.command {
        Some(Command::Manpage { out }) => {
            use clap::CommandFactory;
            std::fs::create_dir_all(&out)
                .and_then(|()| clap_mangen::generate_to(Cli::command(), &out))
                .with_context(|| format!("writing the manual pages into {}", out.display()))?;
            Ok(0)
        }
        Some(Command::MfishCrops {
            data,
            out,
            val_split,
        }) => {
            let exclude = val_split
                .map(|path| karyostation::eval::ValSplit::read(&path))
                .transpose()?
                .map(|s| s.list(SplitList::Mfish).map(<[String]>::to_vec))
                .transpose()?
                .unwrap_or_default();
            let n = karyostation::eval::write_mfish_crops(
                &data,
                &out,
                &exclude,
                &LoadLimits::default(),
            )
            .with_context(|| {
                format!(
                    "cutting crops from {} into {}",
                    data.display(),
                    out.display()
                )
            })?;
            say(&format!("{n} crops written to {}", out.display()));
            Ok(0)
        }
        Some(Command::Case { command }) => run_case(cli.db, command),
        Some(Command::Db { command }) => run_db(cli.db, command),
        None => run_gui(cli.db, cli.screenshot),
        Some(Command::Export {
            accession,
            karyogram,
            report,
            report_json,
            cell,
            dpi,
            include_patient,
        }) => run_export(
            cli.db,
            ExportRequest {
                accession,
                karyogram,
                report,
                report_json,
                options: karyostation::export::KaryogramOptions {
                    cell,
                    dpi,
                    include_patient,
                },
            },
        ),
        Some(Command::ExportTraining {
            out,
            since,
            include_unsigned,
        }) => run_export_training(
            cli.db,
            &out,
            &karyostation::export::training::TrainingOptions {
                include_unsigned,
                since,
            },
        ),
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
            let p = pipeline(&options, true)?;
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
            segmenter,
            val_split,
        }) => {
            let classifier =
                noted(select_classifier(classifier).context("loading the learned classifier")?);
            let segmenter =
                noted(select_segmenter(segmenter).context("loading the learned segmenter")?);
            let p = Pipeline {
                classifier,
                segmenter,
                ..Pipeline::default()
            };
            let split = val_split
                .map(|path| karyostation::eval::ValSplit::read(&path))
                .transpose()?;
            let units = |set| split.as_ref().map(|s| s.list(set)).transpose();
            let json = match set {
                EvalSet::Bioimlab => serde_json::to_string_pretty(
                    &karyostation::eval::eval_bioimlab(
                        &p,
                        &data,
                        limit,
                        units(SplitList::Bioimlab)?,
                    )
                    .with_context(|| format!("reading {}", data.display()))?,
                ),
                EvalSet::Pki3 => serde_json::to_string_pretty(
                    &karyostation::eval::eval_pki3(&p, &data, limit, units(SplitList::Pki3)?)
                        .with_context(|| format!("reading {}", data.display()))?,
                ),
                EvalSet::BioimlabCrops => serde_json::to_string_pretty(
                    &karyostation::eval::eval_bioimlab_crops(
                        &p,
                        &data,
                        limit,
                        units(SplitList::BioimlabKaryotypes)?,
                    )
                    .with_context(|| format!("reading {}", data.display()))?,
                ),
                EvalSet::Mfish => serde_json::to_string_pretty(
                    &karyostation::eval::eval_mfish(&p, &data, limit, units(SplitList::Mfish)?)
                        .with_context(|| format!("reading {}", data.display()))?,
                ),
                EvalSet::Synthetic {
                    count,
                    seed,
                    width,
                    height,
                } => {
                    check_spread_size(width, height)?;
                    serde_json::to_string_pretty(&karyostation::eval::eval_synthetic(
                        &p, count, seed, width, height,
                    ))
                }
            }
            .context("serialising the summary")?;
            say(&json);
            Ok(0)
        }
        Some(Command::Classify {
            images, options, ..
        }) => {
            let p = pipeline(&options, false)?;
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
