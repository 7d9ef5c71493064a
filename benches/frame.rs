//! Frame time of the metaphase view: a 2048x2048 synthetic spread with its
//! ~46 objects, masks, labels, flags and the karyogram panel, driven by
//! egui_kittest without a display. Measures the UI thread's work per frame
//! (layout, painting, tessellation; the GPU draw is not included) while the
//! pointer moves over the spread (hover look-ups, tooltips), and the frame
//! right after a correction (store transaction + mask overlay rebuild).
//! Run: `cargo bench --bench frame` (one-shot under `cargo test`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use karyostation::app::{AppCommand, AppState, Db, Gesture, Prefs};
use karyostation::casework::{Flow, import_files};
use karyostation::domain::case::NewCase;
use karyostation::domain::karyogram::tools::cross_cut;
use karyostation::domain::ports::CaseRepo;
use karyostation::domain::synth::SynthConfig;
use karyostation::pipeline::{ModelChoice, Pipeline, select_classifier};
use karyostation::store::{OpenMode, SqliteCaseRepo};
use karyostation::ui::KaryoApp;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let one_shot = std::env::args().all(|a| a != "--bench");
    let frames = if one_shot { 10 } else { 300 };
    let dir = tempfile::tempdir().expect("temp dir");
    let png = karyostation::demo::write_synthetic(
        dir.path(),
        "spread2048",
        &SynthConfig::new(2048, 2048, 7),
    )
    .expect("synthetic spread");
    let mut repo =
        SqliteCaseRepo::open(&dir.path().join("cases.sqlite"), OpenMode::Create).expect("db");
    repo.create_case(
        &NewCase {
            accession: "BENCH".into(),
            ..NewCase::default()
        },
        "bench",
    )
    .expect("case");
    // The classifier the window uses: the learned one when ONNX Runtime
    // and the model load, else the built-in one.
    let (classifier, _) = select_classifier(ModelChoice::Auto).expect("classifier");
    let classifier_name = classifier.info().name;
    let pipeline = Pipeline {
        classifier,
        ..Pipeline::default()
    };
    let cells = import_files(
        &mut repo,
        &pipeline,
        "BENCH",
        &[png],
        karyostation::domain::modality::ModalityChoice::Auto,
        "bench",
        |_| Flow::Continue,
    )
    .expect("import");
    let objects = repo.cell(cells[0]).expect("cell").objects.len();
    let state = AppState::new(
        Db::Open(Box::new(repo)),
        pipeline,
        None,
        Prefs::default(),
        Arc::new(|| {}),
    )
    .expect("state");
    let mut app = KaryoApp::new(state);
    app.push(AppCommand::OpenCase("BENCH".into()));
    let mut h = Harness::builder()
        .with_size(egui::vec2(1600.0, 1000.0))
        .build_ui_state(|ui, app: &mut KaryoApp| app.frame_ui(ui), app);
    h.run_steps(2);
    h.state_mut().push(AppCommand::OpenMetaphase(cells[0]));
    for _ in 0..5 {
        h.run_steps(2);
        h.state_mut().state.wait_for_jobs(Duration::from_secs(120));
    }
    h.run_steps(2);
    assert!(
        h.state()
            .state
            .cell
            .as_ref()
            .is_some_and(|c| c.view.is_some()),
        "cell view not ready"
    );
    let canvas = h.state().metaphase.canvas;
    let mut times = Vec::with_capacity(frames);
    for i in 0..frames {
        let t = i as f32 / frames as f32;
        h.hover_at(canvas.min + (canvas.size() * egui::vec2(t, (t * 7.0).fract())));
        let start = Instant::now();
        h.step();
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    // One correction: reject the first object, then the frame that shows it.
    let first = *h
        .state()
        .state
        .cell
        .as_ref()
        .expect("cell")
        .state
        .objects
        .keys()
        .next()
        .expect("object");
    // Correction frames, each timed from the command to the end of the
    // frame that shows it: reject, then cuts across the longest chromosome
    // each undone. A cut is split on the window's thread, its two pieces
    // are classified in the background, and a later frame stores and shows
    // it: the longest of those frames and the time from the gesture to the
    // stored cut are measured.
    let rounds = if one_shot { 1 } else { 7 };
    let timed = |h: &mut Harness<'_, KaryoApp>, command: AppCommand| {
        let start = Instant::now();
        h.state_mut().push(command);
        h.step();
        start.elapsed().as_secs_f64() * 1000.0
    };
    let reject_ms = timed(&mut h, AppCommand::Reject(first));
    let objects_now =
        |h: &Harness<'_, KaryoApp>| h.state().state.cell.as_ref().map(|c| c.state.objects.len());
    let (mut cuts, mut cut_latency, mut undos) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let before = objects_now(&h);
        let (a, b) = {
            let cell = h.state().state.cell.as_ref().expect("cell");
            let longest = cell
                .state
                .active()
                .max_by_key(|o| o.pixels.len())
                .expect("object");
            cross_cut(&longest.pixels, 25.0).expect("cut line")
        };
        let start = Instant::now();
        let mut longest_frame = timed(&mut h, AppCommand::Gesture(Gesture::Cut { a, b }));
        while h.state().state.pending_correction.is_some() {
            assert!(start.elapsed().as_secs() < 60, "the cut was never stored");
            let t = Instant::now();
            h.step();
            longest_frame = longest_frame.max(t.elapsed().as_secs_f64() * 1000.0);
        }
        cut_latency.push(start.elapsed().as_secs_f64() * 1000.0);
        cuts.push(longest_frame);
        assert_ne!(objects_now(&h), before, "the cut made no piece");
        undos.push(timed(&mut h, AppCommand::Undo));
        assert_eq!(objects_now(&h), before, "the undo did not restore the cell");
    }
    cuts.sort_by(f64::total_cmp);
    cut_latency.sort_by(f64::total_cmp);
    undos.sort_by(f64::total_cmp);
    println!(
        "metaphase view 2048x2048, {objects} objects, classifier {classifier_name}, {frames} frames: median {:.1} ms, p95 {:.1} ms, max {:.1} ms per frame (UI thread)",
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        percentile(&times, 1.0)
    );
    println!(
        "frame with a correction: reject {reject_ms:.1} ms; cut: longest frame (split, then store + overlay; the pieces are classified in the background) median {:.1} ms, max {:.1} ms, gesture to stored cut median {:.1} ms; undo of the cut median {:.1} ms, max {:.1} ms ({rounds} rounds)",
        percentile(&cuts, 0.5),
        percentile(&cuts, 1.0),
        percentile(&cut_latency, 0.5),
        percentile(&undos, 0.5),
        percentile(&undos, 1.0)
    );
}
