//! Behaviour and snapshot tests of the window (egui_kittest, headless;
//! snapshots render on Mesa lavapipe, `UPDATE_SNAPSHOTS=1` rewrites them).
#![cfg(feature = "gui")]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use egui::{Pos2, pos2};
use egui_kittest::Harness;
use kittest::Queryable as _;

use karyostation::app::{AppCommand, AppState, Db, Prefs, Screen};
use karyostation::casework::{DEMO_ACCESSION, seed_demo_case};
use karyostation::domain::chromosome::ChromosomeClass;
use karyostation::domain::ids::ObjectId;
use karyostation::domain::ports::CaseRepo;
use karyostation::domain::review::UnmetRule;
use karyostation::pipeline::Pipeline;
use karyostation::store::{OpenMode, SqliteCaseRepo};
use karyostation::ui::KaryoApp;

/// The demo case, analysed with the built-in pipeline (deterministic), in
/// a fresh database under `dir`.
fn demo_app(dir: &Path) -> KaryoApp {
    let db = dir.join("cases.sqlite");
    let mut repo = SqliteCaseRepo::open(&db, OpenMode::Create).unwrap();
    let failures = seed_demo_case(
        &mut repo,
        &Pipeline::default(),
        &dir.join("scratch"),
        "tester",
    )
    .unwrap();
    assert!(failures.is_empty(), "{failures:?}");
    let prefs = Prefs {
        user: "tester".into(),
        ..Prefs::default()
    };
    let state = AppState::new(
        Db::Open(Box::new(repo)),
        Pipeline::default(),
        None,
        prefs,
        Arc::new(|| {}),
    )
    .unwrap();
    KaryoApp::new(state)
}

fn harness(app: KaryoApp) -> Harness<'static, KaryoApp> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 860.0))
        .build_ui_state(|ui, app: &mut KaryoApp| app.frame_ui(ui), app)
}

/// Runs frames and waits for background jobs until `done` holds.
fn settle(h: &mut Harness<'static, KaryoApp>, done: impl Fn(&KaryoApp) -> bool) {
    for _ in 0..60 {
        h.run_steps(2);
        h.state_mut().state.wait_for_jobs(Duration::from_secs(60));
        h.run_steps(2);
        if done(h.state()) {
            return;
        }
    }
    panic!("the window did not settle");
}

/// Waits until a correction's masks are classified (in the background)
/// and the correction is stored and shown.
fn stored(h: &mut Harness<'static, KaryoApp>) {
    h.run_steps(1);
    settle(h, |a| a.state.pending_correction.is_none());
}

/// Opens the demo case and its first cell by clicking, and waits until
/// the cell's view is derived.
fn open_first_cell(h: &mut Harness<'static, KaryoApp>) {
    h.state_mut()
        .push(AppCommand::OpenCase(DEMO_ACCESSION.to_string()));
    settle(h, |a| a.state.screen == Screen::Case);
    settle(h, |a| a.state.thumbnails.len() == 8);
    // The gallery has one "Open" button per cell.
    let opens = h.get_all_by_label("Open").count();
    assert_eq!(opens, 8);
    h.get_all_by_label("Open").next().unwrap().click();
    settle(h, |a| {
        a.state.screen == Screen::Metaphase
            && a.state.cell.as_ref().is_some_and(|c| c.view.is_some())
    });
}

/// A cut line across the longest active object: through its centroid,
/// perpendicular to its main axis, reaching past both sides.
fn cut_line(app: &KaryoApp) -> (ObjectId, (f64, f64), (f64, f64)) {
    let cell = app.state.cell.as_ref().unwrap();
    let o = cell.state.active().max_by_key(|o| o.pixels.len()).unwrap();
    let (a, b) = karyostation::domain::karyogram::tools::cross_cut(&o.pixels, 25.0).unwrap();
    (o.id, a, b)
}

/// Asserts two cell states are equal, naming the first object that differs
/// (the full states are too large to print).
fn assert_same_cell(
    a: &karyostation::domain::karyogram::edit::CellState,
    b: &karyostation::domain::karyogram::edit::CellState,
    what: &str,
) {
    let ka: Vec<_> = a.objects.keys().collect();
    let kb: Vec<_> = b.objects.keys().collect();
    assert_eq!(ka, kb, "{what}: object ids differ");
    for (id, o) in &a.objects {
        let p = &b.objects[id];
        assert!(o.pixels == p.pixels, "{what}: pixels of {id} differ");
        assert!(
            o.class == p.class && o.slot == p.slot,
            "{what}: class of {id} differs"
        );
        assert!(
            o == p,
            "{what}: object {id} differs: {:?} vs {:?}",
            (o.flags.clone(), o.polarity, o.probabilities.len()),
            (p.flags.clone(), p.polarity, p.probabilities.len())
        );
    }
    assert_eq!(a.karyotype, b.karyotype, "{what}: karyotype differs");
}

fn screen(app: &KaryoApp, p: (f64, f64)) -> Pos2 {
    app.metaphase.screen_from_image(p)
}

#[test]
fn split_by_a_drawn_cut_line_then_undo_restores_state_and_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(demo_app(dir.path()));
    open_first_cell(&mut h);
    let metaphase = h.state().state.cell.as_ref().unwrap().summary.id;
    let before = h.state().state.cell.as_ref().unwrap().state.clone();
    let edits_before = {
        let repo = h.state().state.repo().unwrap();
        repo.edit_count(h.state().state.case.as_ref().unwrap().summary.id)
            .unwrap()
    };

    // The cut tool by its key, then a drag across the object.
    h.key_press(egui::Key::C);
    h.run_steps(2);
    assert_eq!(h.state().state.tool, karyostation::app::Tool::Cut);
    let (object, a, b) = cut_line(h.state());
    let (sa, sb) = (screen(h.state(), a), screen(h.state(), b));
    h.drag_at(sa);
    h.run_steps(1);
    for i in 1..=8 {
        let t = i as f32 / 8.0;
        h.hover_at(pos2(sa.x + (sb.x - sa.x) * t, sa.y + (sb.y - sa.y) * t));
        h.run_steps(1);
    }
    h.event(egui::Event::PointerButton {
        pos: sb,
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    h.run_steps(2);
    settle(&mut h, |a| {
        a.state
            .cell
            .as_ref()
            .is_some_and(|c| c.state.objects.len() == before.objects.len() + 1)
    });

    // The state: one more object, cut out of the one under the line.
    let after = h.state().state.cell.as_ref().unwrap().state.clone();
    let new_id = *after.objects.keys().next_back().unwrap();
    let (old, new) = (&after.objects[&object], &after.objects[&new_id]);
    assert!(old.pixels.is_disjoint(&new.pixels));
    let mut union = old.pixels.clone();
    union.extend(new.pixels.iter().copied());
    assert_eq!(union, before.objects[&object].pixels);
    assert!(new.pixels.len() >= 20 && old.pixels.len() >= 20);
    // Both pieces carry a fresh classification: the new one its own, the
    // remainder one of its smaller mask (the old one was of the whole).
    let was = &before.objects[&object];
    assert_eq!(new.probabilities.len(), 24);
    assert_eq!(old.probabilities.len(), 24);
    assert_ne!(
        old.probabilities, was.probabilities,
        "remainder reclassified"
    );
    assert_ne!(new.probabilities, old.probabilities);
    for piece in [old, new] {
        let top = piece
            .probabilities
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .and_then(|(i, _)| ChromosomeClass::from_index(i));
        assert_eq!(piece.proposed, top, "the proposal is the top class");
        // The demo cell's classes are the analysis' own (no manual class),
        // so each piece is placed in its proposed class.
        assert_eq!(piece.class, piece.proposed);
    }
    // The karyogram re-arranges: once the view is derived again, each piece
    // is drawn in the group of its class.
    settle(&mut h, |a| {
        a.state
            .cell
            .as_ref()
            .is_some_and(|c| c.view_generation == c.generation)
    });
    for id in [object, new_id] {
        let (class, _, _, group) = karyogram_facts(h.state(), id);
        assert_eq!(group, class, "object {id} is drawn in its class");
    }

    // The store has it, through another connection too.
    let case = h.state().state.case.as_ref().unwrap().summary.id;
    let other = SqliteCaseRepo::open(&dir.path().join("cases.sqlite"), OpenMode::Existing).unwrap();
    assert_same_cell(&other.cell(metaphase).unwrap(), &after, "store after split");
    assert_eq!(other.edit_count(case).unwrap(), edits_before + 1);

    // Ctrl+Z undoes it: state and store are back.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run_steps(2);
    settle(&mut h, |a| {
        a.state
            .cell
            .as_ref()
            .is_some_and(|c| c.state.objects.len() == before.objects.len())
    });
    assert_same_cell(
        &h.state().state.cell.as_ref().unwrap().state,
        &before,
        "window after undo",
    );
    assert_same_cell(&other.cell(metaphase).unwrap(), &before, "store after undo");
    // The remainder's old classification is back, bit for bit.
    assert_eq!(
        other.cell(metaphase).unwrap().objects[&object].probabilities,
        was.probabilities
    );
    // The undo is itself a recorded edit.
    assert_eq!(other.edit_count(case).unwrap(), edits_before + 2);
}

#[test]
fn merge_and_mask_strokes_classify_the_changed_object_again_and_undo_exactly() {
    use karyostation::app::Gesture;
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(demo_app(dir.path()));
    open_first_cell(&mut h);
    let cell =
        |h: &Harness<'static, KaryoApp>| h.state().state.cell.as_ref().unwrap().state.clone();
    let (object, a, b) = cut_line(h.state());
    h.state_mut()
        .push(AppCommand::Gesture(Gesture::Cut { a, b }));
    stored(&mut h);
    let cut = cell(&h);
    let piece = *cut.objects.keys().next_back().unwrap();
    assert_ne!(piece, object, "the cut made a piece");

    // Merge the two pieces back: one stored edit; the merged object is
    // classified on the whole mask, not left with the remainder's values.
    h.state_mut().push(AppCommand::Select(Some(object)));
    h.state_mut().push(AppCommand::ToggleSelect(piece));
    h.state_mut().push(AppCommand::MergeSelected);
    stored(&mut h);
    let merged = cell(&h);
    assert!(!merged.objects.contains_key(&piece));
    let (m, r) = (&merged.objects[&object], &cut.objects[&object]);
    assert_eq!(
        m.pixels.len(),
        r.pixels.len() + cut.objects[&piece].pixels.len()
    );
    assert_eq!(m.probabilities.len(), 24);
    assert_ne!(
        m.probabilities, r.probabilities,
        "merged object reclassified"
    );
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run_steps(2);
    assert_same_cell(&cell(&h), &cut, "after undoing the merge");

    // An erase stroke over one end of the remainder: classified again too.
    let r = &cut.objects[&object];
    let end = *r.pixels.iter().next().unwrap();
    let p = (f64::from(end.0) + 0.5, f64::from(end.1) + 0.5);
    h.state_mut().push(AppCommand::Gesture(Gesture::Brush {
        object,
        points: vec![p, (p.0 + 1.0, p.1 + 1.0)],
        radius: 3.0,
        erase: true,
    }));
    stored(&mut h);
    let stroked = cell(&h);
    let s = &stroked.objects[&object];
    assert!(s.pixels.len() < r.pixels.len() && s.pixels.is_subset(&r.pixels));
    assert_ne!(
        s.probabilities, r.probabilities,
        "stroked object reclassified"
    );
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run_steps(2);
    assert_same_cell(&cell(&h), &cut, "after undoing the stroke");
    let other = SqliteCaseRepo::open(&dir.path().join("cases.sqlite"), OpenMode::Existing).unwrap();
    let metaphase = h.state().state.cell.as_ref().unwrap().summary.id;
    assert_same_cell(&other.cell(metaphase).unwrap(), &cut, "store after undo");
}

#[test]
fn reclassify_by_typing_and_reject_to_the_tray_and_restore() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(demo_app(dir.path()));
    open_first_cell(&mut h);
    h.key_press(egui::Key::Tab);
    h.run_steps(2);
    let id = *h.state().state.selection.iter().next().unwrap();
    // Type "2", "1", Enter.
    h.event(egui::Event::Text("2".into()));
    h.event(egui::Event::Text("1".into()));
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    let class = |h: &Harness<'static, KaryoApp>| {
        h.state().state.cell.as_ref().unwrap().state.objects[&id].class
    };
    assert_eq!(
        class(&h).map(karyostation::domain::chromosome::ChromosomeClass::label),
        Some("21")
    );
    h.key_press(egui::Key::Delete);
    h.run_steps(2);
    let cell = h.state().state.cell.as_ref().unwrap();
    assert!(cell.state.objects[&id].rejected.is_some());
    h.state_mut().push(AppCommand::Restore(id));
    h.run_steps(2);
    let cell = h.state().state.cell.as_ref().unwrap();
    assert!(cell.state.objects[&id].rejected.is_none());
}

#[test]
fn bad_files_are_named_and_the_rest_imported() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(demo_app(dir.path()));
    h.state_mut()
        .push(AppCommand::OpenCase(DEMO_ACCESSION.to_string()));
    settle(&mut h, |a| a.state.screen == Screen::Case);
    let bad = dir.path().join("broken.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let good = dir.path().join("scratch").join("demo_02_normal_male.png");
    let cells = h.state().state.case.as_ref().unwrap().metaphases.len();
    h.state_mut()
        .push(AppCommand::Import(vec![bad.clone(), good]));
    settle(&mut h, |a| {
        a.state
            .case
            .as_ref()
            .is_some_and(|c| c.metaphases.len() == cells + 1)
    });
    let case = h.state().state.case.clone().unwrap();
    assert_eq!(case.failed_imports.len(), 1);
    let failed = case.failed_imports[0].clone();
    assert!(failed.file.contains("broken.png"));
    assert!(!failed.reason.is_empty());
    assert_eq!(failed.user, "tester");
    // Not a cell: counts and clonality see only the imported one.
    assert_eq!(case.summary.metaphases as usize, cells + 1);
    let k = &h.state().state.assessment;
    assert_eq!(k.counted + k.unparsed.len(), cells + 1);
    h.run_steps(2);
    assert!(h.query_all_by_label_contains("broken.png").count() >= 2);

    // The record is in the case database: a new window on the same file
    // (a restart) shows the tile with its reason.
    drop(h);
    let path = dir.path().join("cases.sqlite");
    let repo = SqliteCaseRepo::open(&path, OpenMode::Existing).unwrap();
    let state = AppState::new(
        Db::Open(Box::new(repo)),
        Pipeline::default(),
        None,
        Prefs {
            user: "reviewer".into(),
            ..Prefs::default()
        },
        Arc::new(|| {}),
    )
    .unwrap();
    let mut h = harness(KaryoApp::new(state));
    h.state_mut()
        .push(AppCommand::OpenCase(DEMO_ACCESSION.to_string()));
    settle(&mut h, |a| a.state.screen == Screen::Case);
    h.run_steps(2);
    assert_eq!(
        h.state().state.case.as_ref().unwrap().failed_imports,
        vec![failed.clone()]
    );
    assert!(h.query_by_label("Not imported").is_some());
    assert!(h.query_by_label(&failed.file).is_some());
    assert!(h.query_by_label(&failed.reason).is_some());

    // Dismissed by its button: gone from the window and the store, and
    // the audit trail has it.
    h.get_by_label("Dismiss").click();
    h.run_steps(3);
    assert!(
        h.state()
            .state
            .case
            .as_ref()
            .unwrap()
            .failed_imports
            .is_empty()
    );
    assert!(h.query_by_label("Not imported").is_none());
    let other = SqliteCaseRepo::open(&path, OpenMode::Existing).unwrap();
    assert!(
        other
            .case_detail(DEMO_ACCESSION)
            .unwrap()
            .failed_imports
            .is_empty()
    );
    assert!(other.verify().unwrap().ok());
}

#[test]
fn an_unopenable_database_shows_its_path_and_what_to_do() {
    let state = AppState::new(
        Db::Failed {
            path: "/nowhere/cases.sqlite".into(),
            reason: "the database is locked by another program".into(),
        },
        Pipeline::default(),
        None,
        Prefs::default(),
        Arc::new(|| {}),
    )
    .unwrap();
    let mut h = Harness::builder()
        .with_size(egui::vec2(900.0, 500.0))
        .build_ui_state(
            |ui, app: &mut KaryoApp| app.frame_ui(ui),
            KaryoApp::new(state),
        );
    h.run();
    assert!(h.query_by_label("/nowhere/cases.sqlite").is_some());
    assert!(
        h.query_by_label_contains("locked by another program")
            .is_some()
    );
    h.snapshot("db_failed");
}

#[test]
fn snapshots_of_the_case_and_metaphase_views() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(demo_app(dir.path()));
    h.state_mut()
        .push(AppCommand::OpenCase(DEMO_ACCESSION.to_string()));
    settle(&mut h, |a| a.state.thumbnails.len() == 8);
    h.run_steps(3);
    h.snapshot("case_view");
    h.get_all_by_label("Open").next().unwrap().click();
    settle(&mut h, |a| {
        a.state.cell.as_ref().is_some_and(|c| c.view.is_some())
    });
    h.key_press(egui::Key::Tab);
    h.run_steps(3);
    h.snapshot("metaphase_view");
    h.key_press(egui::Key::K);
    h.run_steps(3);
    assert_eq!(h.state().state.screen, Screen::Karyogram);
    h.snapshot("karyogram_view");
}

/// The case is a row of the list (the open case's accession also shows in
/// the breadcrumb, once).
fn listed(h: &Harness<'static, KaryoApp>, accession: &str) -> bool {
    let in_breadcrumb = h
        .state()
        .state
        .case
        .as_ref()
        .is_some_and(|c| c.summary.accession == accession);
    h.query_all_by_label(accession).count() > usize::from(in_breadcrumb)
}

#[test]
fn the_case_list_filters_by_search_status_and_date() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(demo_app(dir.path()));
    h.state_mut().push(AppCommand::CreateCase(
        karyostation::domain::case::NewCase {
            accession: "LAB-77".into(),
            ..Default::default()
        },
    ));
    h.run_steps(2);
    h.state_mut().push(AppCommand::ShowCases);
    h.run_steps(2);
    assert!(listed(&h, "LAB-77") && listed(&h, DEMO_ACCESSION));
    h.state_mut().push(AppCommand::Search("LAB".into()));
    h.run_steps(2);
    assert!(listed(&h, "LAB-77") && !listed(&h, DEMO_ACCESSION));
    h.state_mut().push(AppCommand::Search(String::new()));
    h.state_mut().push(AppCommand::FilterStatus(Some(
        karyostation::domain::review::CaseStatus::Draft,
    )));
    h.run_steps(2);
    assert!(listed(&h, "LAB-77") && !listed(&h, DEMO_ACCESSION));
    h.state_mut().push(AppCommand::FilterStatus(None));
    h.state_mut().push(AppCommand::FilterDate("1999".into()));
    h.run_steps(2);
    assert!(!listed(&h, "LAB-77"));
    let today = h.state().state.cases[0].created_at[..10].to_string();
    h.state_mut().push(AppCommand::FilterDate(today));
    h.run_steps(2);
    assert!(listed(&h, "LAB-77"));
}

/// The class of `id`, its class counts, the automatic karyotype and the
/// karyogram group it is drawn in, as the window has them.
fn karyogram_facts(
    app: &KaryoApp,
    id: ObjectId,
) -> (
    Option<ChromosomeClass>,
    Vec<usize>,
    String,
    Option<ChromosomeClass>,
) {
    let cell = app.state.cell.as_ref().unwrap();
    let view = cell.view.as_ref().unwrap();
    let group = view
        .layout
        .groups
        .iter()
        .find(|g| g.members.iter().any(|(m, _)| *m == id))
        .map(|g| g.class);
    (
        cell.state.objects[&id].class,
        view.counts.to_vec(),
        view.karyotype.to_iscn(),
        group,
    )
}

fn drag(h: &mut Harness<'static, KaryoApp>, from: Pos2, to: Pos2) {
    h.drag_at(from);
    h.run_steps(1);
    for i in 1..=10 {
        let t = i as f32 / 10.0;
        h.hover_at(pos2(
            from.x + (to.x - from.x) * t,
            from.y + (to.y - from.y) * t,
        ));
        h.run_steps(1);
    }
    h.event(egui::Event::PointerButton {
        pos: to,
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
}

#[test]
fn drag_a_chromosome_to_another_class_then_undo_restores_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(demo_app(dir.path()));
    open_first_cell(&mut h);
    h.key_press(egui::Key::K);
    h.run_steps(3);
    assert_eq!(h.state().state.screen, Screen::Karyogram);
    let metaphase = h.state().state.cell.as_ref().unwrap().summary.id;
    let case = h.state().state.case.as_ref().unwrap().summary.id;
    let other = SqliteCaseRepo::open(&dir.path().join("cases.sqlite"), OpenMode::Existing).unwrap();
    let edits_before = other.edit_count(case).unwrap();
    let stored_before = other.cell(metaphase).unwrap();

    // A chromosome of a class, and a class with fewer than two members to
    // drop it on (so no swap is offered).
    let (id, from_class, target) = {
        let app = h.state();
        let view = app.state.cell.as_ref().unwrap().view.as_ref().unwrap();
        let target = ChromosomeClass::all()
            .find(|c| view.count(*c) < 2)
            .expect("a class with fewer than two members");
        let (id, class) = view
            .layout
            .groups
            .iter()
            .filter(|g| g.class != target)
            .find_map(|g| g.members.first().map(|(id, _)| (*id, g.class)))
            .unwrap();
        (id, class, target)
    };
    let before = karyogram_facts(h.state(), id);
    assert_eq!(before.0, Some(from_class));
    assert_eq!(before.3, Some(from_class));
    let from = h
        .state()
        .karyogram
        .rects
        .iter()
        .find(|(o, _)| *o == id)
        .unwrap()
        .1
        .center();
    let to = h
        .state()
        .karyogram
        .groups
        .iter()
        .find(|(c, _)| *c == target)
        .unwrap()
        .1
        .center();
    drag(&mut h, from, to);
    // One frame applies the drop; the next frame shows it (no job needed).
    h.run_steps(1);
    let after = karyogram_facts(h.state(), id);
    assert_eq!(after.0, Some(target), "the class");
    assert_eq!(after.3, Some(target), "the arrangement");
    assert_eq!(
        after.1[from_class.index()],
        before.1[from_class.index()] - 1
    );
    assert_eq!(after.1[target.index()], before.1[target.index()] + 1);
    assert_ne!(after.2, before.2, "the karyotype text");
    h.run_steps(2);
    assert!(
        h.query_by_label(&format!("automatic: {}", after.2))
            .is_some()
    );
    // The store has the edit (another connection sees it).
    assert_eq!(other.edit_count(case).unwrap(), edits_before + 1);
    assert_eq!(
        other.cell(metaphase).unwrap().objects[&id].class,
        Some(target)
    );

    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    h.run_steps(2);
    settle(&mut h, |a| {
        a.state
            .cell
            .as_ref()
            .is_some_and(|c| c.view_generation == c.generation)
    });
    assert_eq!(karyogram_facts(h.state(), id), before);
    assert_same_cell(
        &other.cell(metaphase).unwrap(),
        &stored_before,
        "store after undo",
    );
}

#[test]
fn sign_off_is_refused_while_a_flag_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(demo_app(dir.path()));
    h.state_mut()
        .push(AppCommand::OpenCase(DEMO_ACCESSION.to_string()));
    settle(&mut h, |a| a.state.screen == Screen::Case);
    let flags: u32 = h
        .state()
        .state
        .case
        .as_ref()
        .unwrap()
        .metaphases
        .iter()
        .map(|m| m.unresolved_flags)
        .sum();
    assert!(flags > 0, "the demo case has flags to review");
    h.get_by_label("Sign off…").click();
    h.run_steps(3);
    assert!(h.state().state.sign_off.is_some());
    assert!(h.query_by_label_contains("open review flags").is_some());
    // The technologist writes the case karyotype (the demo's cells, from
    // the built-in models, may share no clone to propose). Few cells: a
    // reason is needed as well.
    let field = h.get_by_label("Final karyotype:");
    field.focus();
    field.type_text("46,XY[8]");
    h.run_steps(2);
    h.get_by_label("Sign").click();
    h.run_steps(2);
    let status =
        |h: &Harness<'static, KaryoApp>| h.state().state.case.as_ref().unwrap().summary.status;
    assert!(!status(&h).is_read_only(), "refused");
    assert!(
        h.state()
            .state
            .messages
            .iter()
            .any(|m| m.text.contains("flagged")),
        "{:?}",
        h.state().state.messages
    );

    // Resolve every flag by an explicit accept (recorded), then sign with a
    // reason for the short count: accepted.
    let cells: Vec<_> = h
        .state()
        .state
        .case
        .as_ref()
        .unwrap()
        .metaphases
        .iter()
        .map(|m| m.id)
        .collect();
    for m in cells {
        h.state_mut().push(AppCommand::OpenMetaphase(m));
        settle(&mut h, |a| {
            a.state.cell.as_ref().is_some_and(|c| c.summary.id == m)
        });
        let open: Vec<ObjectId> = h
            .state()
            .state
            .cell
            .as_ref()
            .unwrap()
            .state
            .objects
            .values()
            .filter(|o| !o.open_flags().is_empty())
            .map(|o| o.id)
            .collect();
        for id in open {
            h.state_mut().push(AppCommand::Accept(id));
            h.run_steps(1);
        }
    }
    h.state_mut().push(AppCommand::ShowCase);
    h.state_mut().push(AppCommand::OpenSignOff);
    h.run_steps(3);
    assert!(
        h.state()
            .state
            .sign_off
            .as_ref()
            .unwrap()
            .unmet
            .iter()
            .all(|u| !matches!(u, UnmetRule::UnresolvedFlag { .. }))
    );
    let karyotype = "46,XY[8]".to_string();
    h.state_mut().push(AppCommand::Sign {
        karyotype: karyotype.clone(),
        reason: Some("demo case: 8 cells only".into()),
    });
    h.run_steps(2);
    let summary = &h.state().state.case.as_ref().unwrap().summary;
    assert!(
        summary.status.is_read_only(),
        "signed: {:?}",
        h.state().state.messages
    );
    assert_eq!(summary.karyotype, karyotype);
}

#[test]
fn invalid_iscn_in_the_cell_editor_is_shown_with_its_position_and_not_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(demo_app(dir.path()));
    open_first_cell(&mut h);
    h.key_press(egui::Key::K);
    h.run_steps(3);
    let metaphase = h.state().state.cell.as_ref().unwrap().summary.id;
    let recorded = h
        .state()
        .state
        .cell
        .as_ref()
        .unwrap()
        .state
        .karyotype
        .clone();
    h.state_mut().karyogram.iscn = Some((metaphase, "46,XX,del(5)(q31".into()));
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("invalid: at character 17")
            .is_some(),
        "the position and reason are shown"
    );
    // The text is kept as typed (never "fixed") and Record does nothing.
    h.get_by_label("Record").click();
    h.run_steps(2);
    assert_eq!(
        h.state().karyogram.iscn.as_ref().unwrap().1,
        "46,XX,del(5)(q31"
    );
    assert_eq!(
        h.state().state.cell.as_ref().unwrap().state.karyotype,
        recorded
    );
    // A valid one is recorded as a stored edit.
    h.state_mut().karyogram.iscn = Some((metaphase, "46,XX,del(5)(q31q33)".into()));
    h.run_steps(2);
    assert!(h.query_by_label("valid ISCN").is_some());
    h.get_by_label("Record").click();
    h.run_steps(2);
    assert_eq!(
        h.state().state.cell.as_ref().unwrap().state.karyotype,
        "46,XX,del(5)(q31q33)"
    );
}

#[test]
fn corrections_are_classified_off_the_window_thread_one_at_a_time() {
    use karyostation::app::Gesture;
    let dir = tempfile::tempdir().unwrap();
    let mut h = harness(demo_app(dir.path()));
    open_first_cell(&mut h);
    let count =
        |h: &Harness<'static, KaryoApp>| h.state().state.cell.as_ref().unwrap().state.objects.len();
    let before = count(&h);
    let (_, a, b) = cut_line(h.state());
    // Two cuts in one frame: the first waits for its classification (no
    // edit yet), the second is refused with a message, not lost silently.
    h.state_mut()
        .push(AppCommand::Gesture(Gesture::Cut { a, b }));
    h.state_mut()
        .push(AppCommand::Gesture(Gesture::Cut { a, b }));
    h.step();
    assert!(h.state().state.pending_correction.is_some());
    assert!(
        h.state()
            .state
            .messages
            .iter()
            .any(|m| m.text.contains("still classifying")),
        "{:?}",
        h.state().state.messages
    );
    stored(&mut h);
    assert_eq!(count(&h), before + 1, "exactly one cut stored");
}
