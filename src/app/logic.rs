//! Applying commands and job results to the state. Runs on the UI thread
//! after each frame's pass: only quick work here (one SQLite transaction
//! per correction, a few milliseconds); everything slow goes to a job.

use std::path::PathBuf;
use std::time::Duration;

use crate::casework::{self, DEMO_ACCESSION, Flow, ImportEvent};
use crate::domain::case::{EditOutcome, EditRequest};
use crate::domain::chromosome::ChromosomeClass;
use crate::domain::classify::{Prediction, entropy};
use crate::domain::clonality::{CellInput, assess_cells};
use crate::domain::ids::{FailedImportId, MetaphaseId, ObjectId};
use crate::domain::karyogram::cell_view::CellView;
use crate::domain::karyogram::edit::{Assessment, CellObject, Edit, Producer};
use crate::domain::karyogram::tools::{brush_stroke, lasso_pixels, split_by_line};
use crate::domain::modality::{ModalityChoice, resolve};
use crate::domain::ports::{CaseRepo, ModelInfo};
use crate::domain::review::SignOffRules;
use crate::imageio::{LoadLimits, load_gray};
use crate::store::{OpenMode, SqliteCaseRepo, StoreError};

use super::jobs::JobEvent;
use super::{
    AppCommand, AppState, Db, DropTarget, Gesture, Level, OpenCell, Screen, SignOffView, Tool,
};

/// An object's mask: image pixels `(x, y)`.
type Pixels = std::collections::BTreeSet<(u32, u32)>;

/// Smallest piece a cut may leave, pixels.
const MIN_PIECE_PX: usize = 20;

impl AppState {
    /// Applies one command.
    pub fn handle(&mut self, command: AppCommand) {
        match command {
            AppCommand::Search(text) => {
                self.search = text;
                self.refresh_cases();
            }
            AppCommand::FilterStatus(status) => self.status_filter = status,
            AppCommand::FilterDate(day) => self.date_filter = day,
            AppCommand::OpenCase(accession) => self.open_case(&accession),
            AppCommand::CreateCase(new) => self.create_case(&new),
            AppCommand::ShowCases => {
                self.screen = Screen::Cases;
                self.cell = None;
                self.refresh_cases();
            }
            AppCommand::ShowCase => {
                if self.case.is_some() {
                    self.screen = Screen::Case;
                    self.cell = None;
                    self.selection.clear();
                    self.refresh_case();
                }
            }
            AppCommand::Import(paths) => self.import(paths),
            AppCommand::DismissFailedImport(id) => self.dismiss_failed_import(id),
            AppCommand::ImportDialog => {
                if self.case.is_some() {
                    self.want_import_dialog = true;
                } else {
                    self.say(Level::Info, "open or create a case first, then import");
                }
            }
            AppCommand::OpenMetaphase(id) => self.open_metaphase(id),
            AppCommand::StepCell(step) => self.step_cell(step),
            AppCommand::Select(id) => {
                self.selection.clear();
                self.selection.extend(id);
            }
            AppCommand::ToggleSelect(id) => {
                if !self.selection.remove(&id) {
                    self.selection.insert(id);
                }
            }
            AppCommand::NextFlagged => self.next_flagged(),
            AppCommand::NextObject => self.next_object(),
            AppCommand::SetTool(tool) => {
                if tool == Tool::Merge || self.tool == Tool::Merge {
                    let keep = self.selection.iter().next().copied();
                    self.selection.clear();
                    self.selection.extend(keep);
                }
                self.tool = tool;
            }
            AppCommand::Gesture(g) => self.gesture(g),
            AppCommand::MergeSelected => self.merge_selected(),
            AppCommand::Reclassify(object, to) => {
                if let Some(o) = self.object(object) {
                    if o.class == to {
                        return;
                    }
                    let edit = Edit::Reclassify {
                        object,
                        from: o.class,
                        to,
                    };
                    self.edit(edit);
                }
            }
            AppCommand::Reject(object) => {
                if self.object(object).is_some_and(|o| o.rejected.is_none()) {
                    self.edit(Edit::Reject {
                        object,
                        reason: "rejected by the reviewer".into(),
                    });
                    self.selection.remove(&object);
                }
            }
            AppCommand::Restore(object) => {
                if let Some(reason) = self.object(object).and_then(|o| o.rejected.clone()) {
                    self.edit(Edit::Restore { object, reason });
                }
            }
            AppCommand::Accept(object) => {
                if let Some(o) = self.object(object) {
                    let accepted = !o.accepted;
                    self.edit(Edit::Accept { object, accepted });
                }
            }
            AppCommand::Undo => self.undo_redo(true),
            AppCommand::Redo => self.undo_redo(false),
            AppCommand::CancelJob(id) => self.jobs.cancel(id),
            AppCommand::SetPrefs(prefs) => {
                let relayout = prefs.straighten != self.prefs.straighten
                    || prefs.show_ideograms != self.prefs.show_ideograms;
                self.prefs = *prefs;
                if relayout {
                    self.rearrange_view();
                }
            }
            AppCommand::ShowKaryogram(show) => {
                if self.cell.is_some() {
                    self.screen = if show {
                        Screen::Karyogram
                    } else {
                        Screen::Metaphase
                    };
                }
            }
            AppCommand::Flip(object) => {
                if self.object(object).is_some() {
                    self.edit(Edit::Flip { object });
                }
            }
            AppCommand::Rotate(object, degrees) => {
                if self.object(object).is_some() && degrees.rem_euclid(360) != 0 {
                    self.edit(Edit::Rotate { object, degrees });
                }
            }
            AppCommand::Drop { object, target } => self.drop_object(object, target),
            AppCommand::Swap(a, b) => self.swap(a, b),
            AppCommand::AcceptPair(class) => self.accept_pair(class),
            AppCommand::SetCellKaryotype(text) => self.set_cell_karyotype(text),
            AppCommand::OpenSignOff => self.open_sign_off(),
            AppCommand::CloseSignOff => self.sign_off = None,
            AppCommand::Sign { karyotype, reason } => self.sign(&karyotype, reason.as_deref()),
            AppCommand::Amend(reason) => self.amend(&reason),
            AppCommand::SetBrush(radius) => self.prefs.brush_radius = radius.clamp(1.0, 60.0),
            AppCommand::DismissMessages => self.messages.clear(),
            AppCommand::ToggleHelp => self.show_help = !self.show_help,
        }
    }

    fn object(&self, id: ObjectId) -> Option<&CellObject> {
        self.cell.as_ref().and_then(|c| c.state.objects.get(&id))
    }

    /// Reloads the case list from the store.
    pub fn refresh_cases(&mut self) {
        let search = Some(self.search.as_str()).filter(|s| !s.trim().is_empty());
        let result = match &self.db {
            Db::Open(repo) => repo.list_cases(search),
            Db::Failed { .. } => return,
        };
        match result {
            Ok(cases) => self.cases = cases,
            Err(e) => self.say(Level::Error, format!("cannot list cases: {e}")),
        }
    }

    fn refresh_case(&mut self) {
        let Some(accession) = self.case.as_ref().map(|c| c.summary.accession.clone()) else {
            return;
        };
        let result = match &self.db {
            Db::Open(repo) => repo.case_detail(&accession),
            Db::Failed { .. } => return,
        };
        match result {
            Ok(detail) => {
                let missing: Vec<MetaphaseId> = detail
                    .metaphases
                    .iter()
                    .map(|m| m.id)
                    .filter(|id| !self.thumbnails.contains_key(id))
                    .collect();
                let cells: Vec<CellInput> = detail
                    .metaphases
                    .iter()
                    .map(|m| CellInput {
                        label: m.source_name.clone(),
                        karyotype: m.karyotype.clone(),
                        analysed: m.analysed,
                    })
                    .collect();
                self.assessment = assess_cells(&cells);
                self.case = Some(detail);
                self.start_thumbnails(&missing);
            }
            Err(e) => self.say(Level::Error, format!("cannot read case {accession}: {e}")),
        }
    }

    fn open_case(&mut self, accession: &str) {
        let result = match &self.db {
            Db::Open(repo) => repo.case_detail(accession),
            Db::Failed { .. } => return,
        };
        match result {
            Ok(detail) => {
                self.case = Some(detail);
                self.cell = None;
                self.selection.clear();
                self.screen = Screen::Case;
                self.refresh_case();
            }
            Err(e) => self.say(Level::Error, format!("cannot open case {accession}: {e}")),
        }
    }

    fn create_case(&mut self, new: &crate::domain::case::NewCase) {
        let user = self.prefs.user.clone();
        let result = match &mut self.db {
            Db::Open(repo) => repo.create_case(new, &user),
            Db::Failed { .. } => return,
        };
        match result {
            Ok(summary) => {
                self.say(Level::Info, format!("case {} created", summary.accession));
                self.refresh_cases();
                self.open_case(&summary.accession);
            }
            Err(e) => self.say(Level::Error, format!("cannot create the case: {e}")),
        }
    }

    /// Creates the demo case and imports its spreads in the background
    /// when the database does not have it yet. Opens the demo case.
    pub fn ensure_demo_case(&mut self) {
        let user = self.prefs.user.clone();
        let created = match &mut self.db {
            Db::Open(repo) => casework::create_demo_case(repo, &user),
            Db::Failed { .. } => return,
        };
        match created {
            Ok(true) => {
                self.refresh_cases();
                self.open_case(DEMO_ACCESSION);
                let scratch = self.scratch_dir.clone();
                match casework::write_demo_spreads(&scratch) {
                    Ok(files) => self.start_import(DEMO_ACCESSION.to_string(), files, "Demo case"),
                    Err(e) => self.say(Level::Error, format!("cannot prepare the demo case: {e}")),
                }
            }
            Ok(false) => {
                if self.case.is_none() {
                    self.open_case(DEMO_ACCESSION);
                }
            }
            Err(e) => self.say(Level::Error, format!("cannot create the demo case: {e}")),
        }
    }

    fn import(&mut self, paths: Vec<PathBuf>) {
        let Some(case) = self.case.as_ref() else {
            self.say(Level::Info, "open or create a case first, then import");
            return;
        };
        if case.summary.status.is_read_only() {
            let text = format!(
                "case {} is {}: amend it to add cells",
                case.summary.accession, case.summary.status
            );
            self.say(Level::Warning, text);
            return;
        }
        let accession = case.summary.accession.clone();
        let (files, problems) = casework::expand_inputs(&paths);
        if !problems.is_empty() {
            let user = self.prefs.user.clone();
            for (path, reason) in problems {
                let event = match &mut self.db {
                    Db::Open(repo) => {
                        casework::record_failure(repo, &accession, &path, reason, &user)
                    }
                    Db::Failed { .. } => return,
                };
                match event {
                    Ok(ImportEvent::Failed { path, reason, .. }) => {
                        self.say(Level::Warning, format!("{}: {reason}", path.display()));
                    }
                    Ok(_) => {}
                    Err(e) => self.say(Level::Error, format!("{}: {e}", path.display())),
                }
            }
            self.refresh_case();
        }
        if !files.is_empty() {
            self.start_import(accession, files, "Import");
        }
    }

    fn dismiss_failed_import(&mut self, id: FailedImportId) {
        let user = self.prefs.user.clone();
        let result = match &mut self.db {
            Db::Open(repo) => repo.dismiss_failed_import(id, &user),
            Db::Failed { .. } => return,
        };
        if let Err(e) = result {
            self.say(
                Level::Error,
                format!("cannot dismiss the failed import: {e}"),
            );
        }
        self.refresh_case();
    }

    fn start_import(&mut self, accession: String, files: Vec<PathBuf>, title: &str) {
        let Some(db_path) = self.repo().map(|r| r.path().to_path_buf()) else {
            return;
        };
        let pipeline = self.pipeline.clone();
        let user = self.prefs.user.clone();
        let title = format!("{title}: {} file(s) into {accession}", files.len());
        self.jobs.spawn(title, true, move |ctx| {
            let mut repo = match SqliteCaseRepo::open(&db_path, OpenMode::Existing) {
                Ok(r) => r,
                Err(e) => return Some(format!("cannot open the case database: {e}")),
            };
            let total = files.len();
            let result = casework::import_files(
                &mut repo,
                &pipeline,
                &accession,
                &files,
                ModalityChoice::Auto,
                &user,
                |event| {
                    match event {
                        ImportEvent::Started { index, path, .. } => {
                            let name = path.file_name().map_or_else(
                                || path.display().to_string(),
                                |n| n.to_string_lossy().into_owned(),
                            );
                            ctx.progress(index, total, format!("analysing {name}"));
                        }
                        ImportEvent::Imported { metaphase, .. } => {
                            ctx.send(JobEvent::Imported {
                                job: ctx.id,
                                metaphase,
                            });
                        }
                        ImportEvent::Failed {
                            path,
                            reason,
                            recorded,
                        } => ctx.send(JobEvent::ImportFailed {
                            job: ctx.id,
                            file: path.display().to_string(),
                            reason,
                            recorded: recorded.is_some(),
                        }),
                    }
                    if ctx.cancelled() {
                        Flow::Stop
                    } else {
                        Flow::Continue
                    }
                },
            );
            match result {
                Ok(cells) if ctx.cancelled() => Some(format!(
                    "cancelled after {} of {total} file(s)",
                    cells.len()
                )),
                Ok(_) => {
                    ctx.progress(total, total, "done");
                    None
                }
                Err(e) => Some(e.to_string()),
            }
        });
    }

    fn start_thumbnails(&mut self, ids: &[MetaphaseId]) {
        let Some(case) = self.case.as_ref() else {
            return;
        };
        let Some(dir) = self.repo().map(SqliteCaseRepo::dir) else {
            return;
        };
        let items: Vec<(MetaphaseId, PathBuf)> = case
            .metaphases
            .iter()
            .filter(|m| ids.contains(&m.id))
            .map(|m| (m.id, dir.join(&m.image_path)))
            .collect();
        if items.is_empty() {
            return;
        }
        self.jobs.spawn("Thumbnails", false, move |ctx| {
            for (i, (id, path)) in items.iter().enumerate() {
                if ctx.cancelled() {
                    break;
                }
                ctx.progress(i, items.len(), "");
                let result = load_gray(path, &LoadLimits::default())
                    .map(|l| thumbnail(&l.gray, 192))
                    .map_err(|e| e.to_string());
                ctx.send(JobEvent::Thumbnail {
                    metaphase: *id,
                    result,
                });
            }
            None
        });
    }

    fn open_metaphase(&mut self, id: MetaphaseId) {
        let Some(summary) = self
            .case
            .as_ref()
            .and_then(|c| c.metaphases.iter().find(|m| m.id == id).cloned())
        else {
            return;
        };
        let result = match &self.db {
            Db::Open(repo) => repo.cell(id).map(|state| (state, repo.dir())),
            Db::Failed { .. } => return,
        };
        let (state, dir) = match result {
            Ok(r) => r,
            Err(e) => {
                self.say(Level::Error, format!("cannot read cell {id}: {e}"));
                return;
            }
        };
        // Keep the decoded image when reopening the same cell.
        let image = self
            .cell
            .take()
            .filter(|c| c.summary.id == id)
            .and_then(|c| c.image);
        let needs_image = image.is_none();
        self.cell = Some(OpenCell {
            summary: summary.clone(),
            state,
            image,
            image_problem: None,
            view: None,
            view_generation: 0,
            generation: 0,
        });
        self.selection.clear();
        self.screen = Screen::Metaphase;
        if needs_image {
            let path = dir.join(&summary.image_path);
            self.jobs.spawn("Loading spread", false, move |ctx| {
                let result = load_gray(&path, &LoadLimits::default())
                    .map(|l| {
                        let modality = resolve(ModalityChoice::Auto, &l.gray);
                        (l.gray, modality)
                    })
                    .map_err(|e| e.to_string());
                ctx.send(JobEvent::CellImage {
                    metaphase: id,
                    result,
                });
                None
            });
        } else {
            self.start_derive();
        }
    }

    fn step_cell(&mut self, step: i32) {
        let Some(case) = self.case.as_ref() else {
            return;
        };
        let ids: Vec<MetaphaseId> = case.metaphases.iter().map(|m| m.id).collect();
        if ids.is_empty() {
            return;
        }
        let current = self
            .cell
            .as_ref()
            .and_then(|c| ids.iter().position(|&i| i == c.summary.id));
        let n = ids.len() as i64;
        let next = match current {
            Some(i) => (i as i64 + i64::from(step)).rem_euclid(n),
            None => 0,
        };
        self.open_metaphase(ids[next as usize]);
    }

    /// Recomputes the derived view of the open cell in the background.
    fn start_derive(&mut self) {
        let Some(cell) = self.cell.as_mut() else {
            return;
        };
        let Some((gray, modality)) = cell.image.clone() else {
            return;
        };
        cell.generation += 1;
        let generation = cell.generation;
        let metaphase = cell.summary.id;
        let state = cell.state.clone();
        let previous = cell.view.clone();
        let options = self.view_options();
        self.jobs
            .spawn("Updating the karyogram", false, move |ctx| {
                let view = CellView::derive(&gray, modality, &state, previous.as_ref(), &options);
                ctx.send(JobEvent::Derived {
                    metaphase,
                    generation,
                    view: Box::new(view),
                });
                None
            });
    }

    /// Applies what the jobs reported since the last frame.
    pub fn poll_jobs(&mut self) {
        let events = self.jobs.poll();
        self.apply_job_events(events);
    }

    /// Blocks until background jobs are done (tests and headless runs).
    pub fn wait_for_jobs(&mut self, timeout: Duration) {
        let events = self.jobs.wait_idle(timeout);
        self.apply_job_events(events);
    }

    fn apply_job_events(&mut self, events: Vec<JobEvent>) {
        let mut case_changed = false;
        for event in events {
            match event {
                JobEvent::Progress { .. } => {}
                JobEvent::Imported { .. } => case_changed = true,
                JobEvent::ImportFailed {
                    file,
                    reason,
                    recorded,
                    ..
                } => {
                    // The job recorded it in the case; the gallery reads it
                    // from there.
                    self.say(Level::Warning, format!("{file}: {reason}"));
                    case_changed |= recorded;
                }
                JobEvent::Finished { problem, .. } => {
                    if let Some(p) = problem {
                        self.say(Level::Warning, p);
                    }
                    case_changed = true;
                }
                JobEvent::CellImage { metaphase, result } => {
                    if let Some(cell) = self.cell.as_mut().filter(|c| c.summary.id == metaphase) {
                        match result {
                            Ok(image) => {
                                cell.image = Some(image);
                                self.start_derive();
                            }
                            Err(e) => {
                                cell.image_problem = Some(e.clone());
                                self.say(Level::Error, e);
                            }
                        }
                    }
                }
                JobEvent::Thumbnail { metaphase, result } => match result {
                    Ok(t) => {
                        self.thumbnails.insert(metaphase, t);
                    }
                    Err(e) => self.say(Level::Warning, e),
                },
                JobEvent::Classified {
                    metaphase,
                    generation,
                    predictions,
                } => {
                    let pending = self
                        .pending_correction
                        .take_if(|p| p.metaphase == metaphase && p.generation == generation);
                    let current = self
                        .cell
                        .as_ref()
                        .is_some_and(|c| c.summary.id == metaphase && c.generation == generation);
                    match pending {
                        Some(p) if current => self.finish_correction(p.correction, &predictions),
                        Some(_) => self.say(
                            Level::Info,
                            "the cell changed while the correction was classified: it was not stored; make it again",
                        ),
                        None => {}
                    }
                }
                JobEvent::Derived {
                    metaphase,
                    generation,
                    view,
                } => {
                    if let Some(cell) = self
                        .cell
                        .as_mut()
                        .filter(|c| c.summary.id == metaphase && c.generation == generation)
                    {
                        cell.view = Some(*view);
                        cell.view_generation = generation;
                    }
                }
            }
        }
        if case_changed {
            self.refresh_cases();
            if self.screen != Screen::Cases {
                self.refresh_case();
            }
        }
    }

    /// Stores one correction of the open cell, then shows the stored state.
    pub fn edit(&mut self, edit: Edit) {
        let (Some(case), Some(cell)) = (self.case.as_ref(), self.cell.as_ref()) else {
            return;
        };
        let request = EditRequest {
            case: case.summary.id,
            metaphase: Some(cell.summary.id),
            base_revision: case.summary.revision,
            user: self.prefs.user.clone(),
            reason: None,
            edit,
        };
        let result = match &mut self.db {
            Db::Open(repo) => repo.apply_edit(&request),
            Db::Failed { .. } => return,
        };
        self.after_store(result);
    }

    /// The store applied `edit` (the correction, or the step an undo or redo
    /// took from the history) to the stored cell (loaded, `Edit::apply`,
    /// written, in one transaction). The same pure `apply` on the cell in
    /// memory, which equals the stored one, gives the stored result without
    /// reading the whole cell back, which would cost a frame. Should it ever
    /// fail, the cell is read back instead.
    fn after_edit_stored(&mut self, revision: u64, edit: &Edit) {
        if let Some(case) = self.case.as_mut() {
            case.summary.revision = revision;
        }
        let applied = self
            .cell
            .as_mut()
            .is_some_and(|cell| edit.apply(&mut cell.state).is_ok());
        if !applied {
            self.reload_cell();
            return;
        }
        self.cell_changed();
    }

    /// After the open cell's state changed: the selection keeps only
    /// objects that still exist; classes, counts and the arrangement show
    /// the change in this frame; crops of changed objects follow from the job.
    fn cell_changed(&mut self) {
        if let Some(cell) = self.cell.as_ref() {
            let objects = &cell.state.objects;
            self.selection.retain(|id| objects.contains_key(id));
        }
        self.rearrange_view();
        self.start_derive();
    }

    fn undo_redo(&mut self, undo: bool) {
        let (Some(case), Some(cell)) = (self.case.as_ref(), self.cell.as_ref()) else {
            return;
        };
        let (case_id, metaphase, base) = (case.summary.id, cell.summary.id, case.summary.revision);
        let user = self.prefs.user.clone();
        let result = match &mut self.db {
            Db::Open(repo) if undo => repo.undo(case_id, Some(metaphase), base, &user),
            Db::Open(repo) => repo.redo(case_id, Some(metaphase), base, &user),
            Db::Failed { .. } => return,
        };
        self.after_store(result);
    }

    fn after_store(&mut self, result: Result<EditOutcome, StoreError>) {
        match result {
            Ok(outcome) => self.after_edit_stored(outcome.revision, &outcome.applied),
            Err(StoreError::NothingTo(what)) => {
                self.say(Level::Info, format!("nothing to {what} in this cell"));
            }
            Err(e @ StoreError::Stale { .. }) => {
                self.say(
                    Level::Warning,
                    format!("{e}; the cell was reloaded, please repeat the correction"),
                );
                self.refresh_case();
                self.reload_cell();
            }
            Err(e) => self.say(Level::Error, format!("the correction was not stored: {e}")),
        }
    }

    fn reload_cell(&mut self) {
        let Some(id) = self.cell.as_ref().map(|c| c.summary.id) else {
            return;
        };
        let result = match &self.db {
            Db::Open(repo) => repo.cell(id),
            Db::Failed { .. } => return,
        };
        match result {
            Ok(state) => {
                if let Some(cell) = self.cell.as_mut() {
                    cell.state = state;
                }
                self.cell_changed();
            }
            Err(e) => self.say(Level::Error, format!("cannot reload cell {id}: {e}")),
        }
    }

    /// Lays the current view out again for the current state and options
    /// (no measuring: classes, counts, order and layout only).
    fn rearrange_view(&mut self) {
        let options = self.view_options();
        if let Some(cell) = self.cell.as_mut()
            && let Some(view) = cell.view.take()
        {
            cell.view = Some(view.rearranged(&cell.state, &options));
        }
    }

    /// The selected object of the open cell (the first, when several are
    /// picked for a merge).
    pub fn selected_object(&self) -> Option<&CellObject> {
        let id = self.selection.iter().next()?;
        self.cell.as_ref()?.state.objects.get(id)
    }

    /// The other member of the object's pair: the first member of its
    /// class in karyogram order that is not it.
    pub fn homolog_of(&self, id: ObjectId) -> Option<ObjectId> {
        let class = self.object(id)?.class?;
        self.members(Some(class))
            .into_iter()
            .map(|m| m.id)
            .find(|m| *m != id)
    }

    /// Active members of `class` in karyogram order (slot, then id).
    fn members(&self, class: Option<ChromosomeClass>) -> Vec<&CellObject> {
        let Some(cell) = self.cell.as_ref() else {
            return Vec::new();
        };
        let mut members: Vec<&CellObject> =
            cell.state.active().filter(|o| o.class == class).collect();
        members.sort_by_key(|o| (o.slot, o.id));
        members
    }

    fn drop_object(&mut self, object: ObjectId, target: DropTarget) {
        let Some(o) = self.object(object).cloned() else {
            return;
        };
        let edits = match target {
            DropTarget::Unassigned => {
                if o.class.is_none() {
                    return;
                }
                vec![Edit::Reclassify {
                    object,
                    from: o.class,
                    to: None,
                }]
            }
            DropTarget::Class(class, position) if o.class == Some(class) => {
                // Another position among the homologs: trade places.
                let members = self.members(Some(class));
                let Some(other) = members.get(position as usize).filter(|m| m.id != object) else {
                    return;
                };
                if other.slot == o.slot {
                    let mine = members.iter().position(|m| m.id == object).unwrap_or(0) as u32;
                    vec![Edit::Move {
                        object,
                        from: o.slot,
                        to: if mine > position {
                            o.slot.saturating_sub(1)
                        } else {
                            o.slot + 1
                        },
                    }]
                } else {
                    vec![
                        Edit::Move {
                            object,
                            from: o.slot,
                            to: other.slot,
                        },
                        Edit::Move {
                            object: other.id,
                            from: other.slot,
                            to: o.slot,
                        },
                    ]
                }
            }
            DropTarget::Class(class, position) => {
                let members = self.members(Some(class));
                let slot = members
                    .get(position as usize)
                    .map(|m| m.slot)
                    .unwrap_or_else(|| members.iter().map(|m| m.slot + 1).max().unwrap_or(0));
                let mut edits = vec![Edit::Reclassify {
                    object,
                    from: o.class,
                    to: Some(class),
                }];
                if slot != o.slot {
                    edits.push(Edit::Move {
                        object,
                        from: o.slot,
                        to: slot,
                    });
                }
                edits
            }
        };
        self.edit(one_edit(edits));
    }

    fn swap(&mut self, a: ObjectId, b: ObjectId) {
        let (Some(oa), Some(ob)) = (self.object(a).cloned(), self.object(b).cloned()) else {
            return;
        };
        if a == b {
            return;
        }
        let mut edits = Vec::new();
        if oa.class != ob.class {
            edits.push(Edit::Reclassify {
                object: a,
                from: oa.class,
                to: ob.class,
            });
            edits.push(Edit::Reclassify {
                object: b,
                from: ob.class,
                to: oa.class,
            });
        }
        if oa.slot != ob.slot {
            edits.push(Edit::Move {
                object: a,
                from: oa.slot,
                to: ob.slot,
            });
            edits.push(Edit::Move {
                object: b,
                from: ob.slot,
                to: oa.slot,
            });
        }
        if !edits.is_empty() {
            self.edit(one_edit(edits));
        }
    }

    fn accept_pair(&mut self, class: ChromosomeClass) {
        let edits: Vec<Edit> = self
            .members(Some(class))
            .into_iter()
            .filter(|o| !o.accepted && !o.open_flags().is_empty())
            .map(|o| Edit::Accept {
                object: o.id,
                accepted: true,
            })
            .collect();
        if edits.is_empty() {
            self.say(Level::Info, format!("nothing to accept in pair {class}"));
        } else {
            self.edit(one_edit(edits));
        }
    }

    fn set_cell_karyotype(&mut self, text: String) {
        let Some(cell) = self.cell.as_ref() else {
            return;
        };
        let text = text.trim().to_string();
        if text == cell.state.karyotype {
            return;
        }
        let checked = crate::domain::iscn::check(&text);
        if let Some(issue) = checked.errors().next() {
            self.say(
                Level::Error,
                format!(
                    "not recorded: the karyotype is not valid ISCN ({})",
                    issue_text(&text, issue)
                ),
            );
            return;
        }
        let before = cell.state.karyotype.clone();
        self.edit(Edit::KaryotypeText {
            before,
            after: text,
        });
        self.refresh_case();
    }

    fn sign_off_rules(&self) -> SignOffRules {
        SignOffRules {
            two_person: self.prefs.two_person_rule,
            ..SignOffRules::default()
        }
    }

    fn open_sign_off(&mut self) {
        self.refresh_case();
        let Some(case) = self.case.as_ref() else {
            return;
        };
        let rules = self.sign_off_rules();
        let accession = case.summary.accession.clone();
        let unmet = match self.repo() {
            Some(repo) => repo.sign_off_check(&accession, &self.prefs.user, None, &rules),
            None => return,
        };
        match unmet {
            Ok(unmet) => {
                self.sign_off = Some(SignOffView { unmet, rules });
            }
            Err(e) => self.say(Level::Error, format!("cannot check case {accession}: {e}")),
        }
    }

    fn sign(&mut self, karyotype: &str, reason: Option<&str>) {
        let Some(case) = self.case.as_ref() else {
            return;
        };
        let karyotype = karyotype.trim();
        let checked = crate::domain::iscn::check(karyotype);
        if let Some(issue) = checked.errors().next() {
            self.say(
                Level::Error,
                format!(
                    "not signed: the case karyotype is not valid ISCN ({})",
                    issue_text(karyotype, issue)
                ),
            );
            return;
        }
        let accession = case.summary.accession.clone();
        if karyotype != case.summary.karyotype {
            let request = EditRequest {
                case: case.summary.id,
                metaphase: None,
                base_revision: case.summary.revision,
                user: self.prefs.user.clone(),
                reason: None,
                edit: Edit::KaryotypeText {
                    before: case.summary.karyotype.clone(),
                    after: karyotype.to_string(),
                },
            };
            let result = match &mut self.db {
                Db::Open(repo) => repo.apply_edit(&request),
                Db::Failed { .. } => return,
            };
            if let Err(e) = result {
                self.say(Level::Error, format!("not signed: {e}"));
                self.refresh_case();
                return;
            }
        }
        let rules = self.sign_off_rules();
        let user = self.prefs.user.clone();
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        let result = match &mut self.db {
            Db::Open(repo) => repo.sign(&accession, &user, reason, &rules),
            Db::Failed { .. } => return,
        };
        match result {
            Ok(summary) => {
                self.sign_off = None;
                self.say(
                    Level::Info,
                    format!(
                        "{} version {} signed by {user}: {}",
                        summary.accession, summary.version, summary.karyotype
                    ),
                );
            }
            Err(StoreError::Rules { unmet, .. }) => {
                self.say(
                    Level::Error,
                    format!(
                        "not signed: {}",
                        crate::domain::review::describe_unmet(&unmet)
                    ),
                );
                if let Some(view) = self.sign_off.as_mut() {
                    view.unmet = unmet;
                }
            }
            Err(e) => self.say(Level::Error, format!("not signed: {e}")),
        }
        self.refresh_case();
    }

    fn amend(&mut self, reason: &str) {
        let Some(accession) = self.case.as_ref().map(|c| c.summary.accession.clone()) else {
            return;
        };
        if reason.trim().is_empty() {
            self.say(Level::Error, "an amendment needs a reason");
            return;
        }
        let user = self.prefs.user.clone();
        let result = match &mut self.db {
            Db::Open(repo) => repo.amend(&accession, &user, reason.trim()),
            Db::Failed { .. } => return,
        };
        match result {
            Ok(summary) => {
                self.say(
                    Level::Info,
                    format!(
                        "{accession}: version {} opened for amendment",
                        summary.version
                    ),
                );
                self.open_case(&accession);
            }
            Err(e) => self.say(Level::Error, format!("cannot amend {accession}: {e}")),
        }
    }

    fn gesture(&mut self, gesture: Gesture) {
        let Some(cell) = self.cell.as_ref() else {
            return;
        };
        let (width, height) = (cell.summary.width, cell.summary.height);
        match gesture {
            Gesture::Cut { a, b } => {
                // The object the line crosses: the selected one, else the
                // one under most of the line.
                let line = crate::domain::karyogram::tools::segment_band(a, b, 0.75, width, height);
                let target = cell
                    .state
                    .active()
                    .filter(|o| self.selection.is_empty() || self.selection.contains(&o.id))
                    .max_by_key(|o| o.pixels.intersection(&line).count())
                    .filter(|o| o.pixels.intersection(&line).next().is_some())
                    .map(|o| o.id);
                let Some(object) = target else {
                    self.say(Level::Info, "the cut line crosses no object");
                    return;
                };
                let Some(o) = cell.state.objects.get(&object) else {
                    return;
                };
                match split_by_line(&o.pixels, a, b, MIN_PIECE_PX) {
                    // Both pieces are classified again, in one stored edit.
                    Ok(piece) => self.start_correction(Correction::Split { object, piece }),
                    Err(e) => self.say(Level::Info, e.to_string()),
                }
            }
            Gesture::Brush {
                object,
                points,
                radius,
                erase,
            } => {
                let Some(o) = cell.state.objects.get(&object) else {
                    return;
                };
                let covered = brush_stroke(&points, radius, width, height);
                type PixelList = Vec<(u32, u32)>;
                let (added, removed): (PixelList, PixelList) = if erase {
                    (
                        Vec::new(),
                        covered.intersection(&o.pixels).copied().collect(),
                    )
                } else {
                    let taken = |p: &(u32, u32)| {
                        cell.state
                            .objects
                            .values()
                            .any(|other| other.id != object && other.pixels.contains(p))
                    };
                    (
                        covered
                            .difference(&o.pixels)
                            .filter(|p| !taken(p))
                            .copied()
                            .collect(),
                        Vec::new(),
                    )
                };
                if added.is_empty() && removed.is_empty() {
                    return;
                }
                if removed.len() == o.pixels.len() {
                    self.say(
                        Level::Info,
                        "erasing would remove the whole object: reject it instead",
                    );
                    return;
                }
                // The object is classified again on its new mask, in the
                // same stored edit as the stroke.
                self.start_correction(Correction::Stroke {
                    object,
                    added,
                    removed,
                });
            }
            Gesture::Lasso { outline } => {
                let inside = lasso_pixels(&outline, width, height);
                let free: std::collections::BTreeSet<(u32, u32)> = inside
                    .into_iter()
                    .filter(|p| !cell.state.objects.values().any(|o| o.pixels.contains(p)))
                    .collect();
                let free = self.foreground_only(free);
                if free.len() < MIN_PIECE_PX {
                    self.say(
                        Level::Info,
                        "the drawn outline encloses no free chromosome pixels",
                    );
                    return;
                }
                self.start_correction(Correction::Create { pixels: free });
            }
        }
    }

    /// Of the pixels a lasso encloses, those that look like chromosome
    /// (darker than the local background in G-band look); all of them when
    /// the image is not loaded or the test keeps too few.
    fn foreground_only(
        &self,
        pixels: std::collections::BTreeSet<(u32, u32)>,
    ) -> std::collections::BTreeSet<(u32, u32)> {
        let Some((gray, modality)) = self.cell.as_ref().and_then(|c| c.image.as_ref()) else {
            return pixels;
        };
        // The G-band look of one pixel (no copy of the whole spread).
        let look = |x: u32, y: u32| {
            let (x, y) = (x as usize, y as usize);
            (x < gray.width() && y < gray.height()).then(|| match modality {
                crate::domain::modality::Modality::Brightfield => gray.at(x, y),
                crate::domain::modality::Modality::Fluorescence => 255 - gray.at(x, y),
            })
        };
        let values: Vec<u8> = pixels.iter().filter_map(|&(x, y)| look(x, y)).collect();
        if values.is_empty() {
            return pixels;
        }
        let mut hist = [0u32; 256];
        for v in &values {
            hist[*v as usize] += 1;
        }
        let t = crate::domain::segmentation::filters::otsu_threshold(&hist);
        let kept: std::collections::BTreeSet<(u32, u32)> = pixels
            .iter()
            .filter(|&&(x, y)| look(x, y).is_some_and(|v| v <= t))
            .copied()
            .collect();
        if kept.len() * 5 < pixels.len() {
            pixels
        } else {
            kept
        }
    }

    /// Starts a correction: its new or changed masks are classified in the
    /// background (inference never runs on the window's thread) and the
    /// correction is stored when they are back ([`Self::finish_correction`]).
    /// One at a time: a gesture made meanwhile is refused with a message.
    fn start_correction(&mut self, correction: Correction) {
        let Some(cell) = self.cell.as_ref() else {
            return;
        };
        if self.pending_correction.is_some() {
            self.say(
                Level::Info,
                "still classifying the previous correction: try again in a moment",
            );
            return;
        }
        let masks = correction.masks(&cell.state);
        let (metaphase, generation) = (cell.summary.id, cell.generation);
        let Some((gray, modality)) = cell.image.clone() else {
            // Not decoded yet: nothing to classify, the pieces stay unassigned.
            let none = vec![None; masks.len()];
            self.finish_correction(correction, &none);
            return;
        };
        self.pending_correction = Some(PendingCorrection {
            metaphase,
            generation,
            correction,
        });
        let pipeline = self.pipeline.clone();
        self.jobs
            .spawn("Classifying the corrected chromosome", false, move |ctx| {
                let predictions = masks
                    .iter()
                    .map(|m| pipeline.assess_object(&gray, modality, m))
                    .collect();
                ctx.send(JobEvent::Classified {
                    metaphase,
                    generation,
                    predictions,
                });
                None
            });
    }

    /// Stores a correction with the classifications of its masks (in the
    /// order of [`Correction::masks`]).
    fn finish_correction(&mut self, correction: Correction, predictions: &[Option<Prediction>]) {
        let Some(cell) = self.cell.as_ref() else {
            return;
        };
        let prediction = |k: usize| predictions.get(k).and_then(Option::as_ref);
        match correction {
            Correction::Split { object, piece } => {
                let Some(o) = cell.state.objects.get(&object) else {
                    return;
                };
                let reassess = self.reassess(o, prediction(0));
                let new = self.new_object(cell.state.next_object_id(), piece, prediction(1));
                let mut edits = vec![Edit::Split { object, new }];
                edits.extend(reassess);
                self.edit(one_edit(edits));
                self.selection.clear();
                self.selection.insert(object);
            }
            Correction::Stroke {
                object,
                added,
                removed,
            } => {
                let Some(o) = cell.state.objects.get(&object) else {
                    return;
                };
                let reassess = self.reassess(o, prediction(0));
                let mut edits = vec![Edit::MaskStroke {
                    object,
                    added,
                    removed,
                }];
                edits.extend(reassess);
                self.edit(one_edit(edits));
            }
            Correction::Create { pixels } => {
                let id = cell.state.next_object_id();
                let new = self.new_object(id, pixels, prediction(0));
                self.edit(Edit::Create { new });
                self.selection.clear();
                self.selection.insert(id);
            }
            Correction::Merge { into, absorbed } => {
                for (k, a) in absorbed.iter().enumerate() {
                    // The object as stored after the previous merge.
                    let (Some(target), Some(a)) = (self.object(into), self.object(*a)) else {
                        break;
                    };
                    let reassess = self.reassess(target, prediction(k));
                    let mut edits = vec![Edit::Merge {
                        into,
                        absorbed: a.clone(),
                    }];
                    edits.extend(reassess);
                    self.edit(one_edit(edits));
                }
                self.selection.clear();
                self.selection.insert(into);
            }
        }
    }

    /// A fresh assessment of the open cell's object `previous` (`None`: a
    /// new piece) from the classifier's view of its new mask on its own
    /// (`None`: not classified), placed by [`Assessment::fresh`] (a manual
    /// class or flip is kept). The one helper for every piece a cut, merge,
    /// stroke or drawn outline makes.
    fn assess(&self, prediction: Option<&Prediction>, previous: Option<&CellObject>) -> Assessment {
        let empty = crate::domain::karyogram::edit::CellState::default();
        let state = self.cell.as_ref().map_or(&empty, |c| &c.state);
        Assessment::fresh(
            prediction,
            previous,
            state,
            &self.pipeline.params,
            &self.pipeline.classifier.info(),
        )
    }

    /// The edit that classifies `object` again from `prediction`, the
    /// classification of its new mask (to go in the same batch as the mask
    /// change); `None` when nothing changes or the mask was not classified.
    fn reassess(&self, object: &CellObject, prediction: Option<&Prediction>) -> Option<Edit> {
        let after = self.assess(Some(prediction?), Some(object));
        let before = Assessment::of(object);
        (after != before).then_some(Edit::Reassess {
            object: object.id,
            before,
            after,
        })
    }

    /// A new object of the open cell (a piece cut off or drawn by the
    /// reviewer), classified on its own.
    fn new_object(
        &self,
        id: ObjectId,
        pixels: Pixels,
        prediction: Option<&Prediction>,
    ) -> CellObject {
        let classifier = self.pipeline.classifier.info();
        let assessment = self.assess(prediction, None);
        let mut object = CellObject::new(
            id,
            pixels,
            Producer {
                segmenter: ModelInfo::new("reviewer", "1"),
                classifier,
            },
        );
        assessment.set_on(&mut object);
        object
    }

    fn merge_selected(&mut self) {
        let Some(cell) = self.cell.as_ref() else {
            return;
        };
        let picked: Vec<&CellObject> = self
            .selection
            .iter()
            .filter_map(|id| cell.state.objects.get(id))
            .filter(|o| o.rejected.is_none())
            .collect();
        if picked.len() < 2 {
            self.say(Level::Info, "pick two or more objects to merge");
            return;
        }
        // The largest keeps its id; the others are absorbed, one edit each
        // (undo takes them back one by one), and the merged object is
        // classified again on its grown mask in the same edit.
        let into = picked
            .iter()
            .max_by_key(|o| (o.pixels.len(), std::cmp::Reverse(o.id)))
            .map(|o| o.id);
        let Some(into) = into else {
            return;
        };
        let absorbed: Vec<ObjectId> = picked
            .iter()
            .filter(|o| o.id != into)
            .map(|o| o.id)
            .collect();
        self.start_correction(Correction::Merge { into, absorbed });
    }

    /// Objects with open review flags, most uncertain first: class
    /// entropy (as a share of its maximum), a homolog difference (pair
    /// score against twice the flag threshold) and an uncertain polarity
    /// (one half) add up.
    pub fn review_queue(&self) -> Vec<ObjectId> {
        use crate::domain::analysis::ObjectFlag;
        let Some(cell) = self.cell.as_ref() else {
            return Vec::new();
        };
        let pair_score = |id: ObjectId| {
            cell.view.as_ref().map_or(0.0, |v| {
                v.pairs
                    .iter()
                    .filter(|p| p.a == id || p.b == id)
                    .map(|p| p.score)
                    .fold(0.0, f64::max)
            })
        };
        let threshold = crate::domain::analysis::AnalysisParams::default().homolog_threshold;
        let max_entropy = (crate::domain::chromosome::CLASS_COUNT as f64).ln();
        let mut flagged: Vec<(f64, ObjectId)> = cell
            .state
            .active()
            .filter_map(|o| {
                let open = o.open_flags();
                if open.is_empty() {
                    return None;
                }
                let mut u = 0.0;
                if open.contains(&ObjectFlag::HighEntropy) {
                    u += entropy(&o.probabilities) / max_entropy;
                }
                if open.contains(&ObjectFlag::HomologDiffers) {
                    u += (pair_score(o.id) / (2.0 * threshold)).min(1.0);
                }
                if open.contains(&ObjectFlag::PolarityUncertain) {
                    u += 0.5;
                }
                Some((u, o.id))
            })
            .collect();
        flagged.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        flagged.into_iter().map(|(_, id)| id).collect()
    }

    fn next_flagged(&mut self) {
        let order = self.review_queue();
        self.select_next_in(&order, "no flagged objects left in this cell");
    }

    fn next_object(&mut self) {
        let order: Vec<ObjectId> = self
            .cell
            .as_ref()
            .map(|c| c.state.active().map(|o| o.id).collect())
            .unwrap_or_default();
        self.select_next_in(&order, "this cell has no objects");
    }

    fn select_next_in(&mut self, order: &[ObjectId], empty: &str) {
        if order.is_empty() {
            self.say(Level::Info, empty.to_string());
            return;
        }
        let current = self
            .selection
            .iter()
            .next()
            .and_then(|s| order.iter().position(|o| o == s));
        let next = current.map_or(0, |i| (i + 1) % order.len());
        self.selection.clear();
        self.selection.insert(order[next]);
    }
}

/// A gray thumbnail no larger than `max_side` on either side.
pub fn thumbnail(
    gray: &crate::domain::raster::GrayImage,
    max_side: usize,
) -> crate::domain::raster::GrayImage {
    let (w, h) = (gray.width().max(1), gray.height().max(1));
    let scale = (max_side as f64 / w.max(h) as f64).min(1.0);
    let (tw, th) = (
        ((w as f64 * scale).round() as usize).max(1),
        ((h as f64 * scale).round() as usize).max(1),
    );
    let mut out = crate::domain::raster::GrayImage::new(tw, th, 0);
    for y in 0..th {
        for x in 0..tw {
            // Box filter over the source pixels of this thumbnail pixel.
            let (x0, x1) = (x * w / tw, ((x + 1) * w / tw).max(x * w / tw + 1));
            let (y0, y1) = (y * h / th, ((y + 1) * h / th).max(y * h / th + 1));
            let mut sum = 0u64;
            let mut n = 0u64;
            for yy in y0..y1.min(h) {
                for xx in x0..x1.min(w) {
                    sum += u64::from(gray.at(xx, yy));
                    n += 1;
                }
            }
            out.set(x as i64, y as i64, (sum / n.max(1)) as u8);
        }
    }
    out
}

/// Several edits as one stored correction (a single edit stays itself).
fn one_edit(mut edits: Vec<Edit>) -> Edit {
    if edits.len() == 1 {
        edits.remove(0)
    } else {
        Edit::Batch { edits }
    }
}

/// An ISCN issue as "at character N: reason".
/// The position (in characters, from 0) of byte offset `at` of `text`;
/// safe for any offset, including one inside a multi-byte character.
pub fn char_position(text: &str, at: usize) -> usize {
    text.char_indices().take_while(|(i, _)| *i < at).count()
}

/// An ISCN issue of `text` as "at character N: reason" (N from 1).
pub fn issue_text(text: &str, issue: &crate::domain::iscn::Issue) -> String {
    match issue.offset {
        Some(at) => format!(
            "at character {}: {}",
            char_position(text, at) + 1,
            issue.message
        ),
        None => issue.message.clone(),
    }
}

#[cfg(test)]
mod iscn_message_tests {
    use super::{char_position, issue_text};
    use crate::domain::iscn::check;

    #[test]
    fn positions_count_characters_and_never_split_one() {
        assert_eq!(char_position("46,XX", 3), 3);
        // `→` is three bytes: an offset inside it or after it stays sane.
        let text = "46,XX,del(5)(pter→q31";
        let arrow = text.find('→').unwrap();
        for at in arrow..=text.len() + 4 {
            assert!(char_position(text, at) <= text.chars().count());
        }
        assert_eq!(char_position(text, arrow + 3), arrow + 1);
        let checked = check("46,XX,del(5)(q31");
        let issue = checked.errors().next().expect("invalid");
        let message = issue_text("46,XX,del(5)(q31", issue);
        assert!(message.starts_with("at character 17:"), "{message}");
    }
}

/// A mask after a stroke: `removed` taken away, `added` put in.
fn stroked(pixels: &Pixels, added: &[(u32, u32)], removed: &[(u32, u32)]) -> Pixels {
    let mut out = pixels.clone();
    for p in removed {
        out.remove(p);
    }
    out.extend(added.iter().copied());
    out
}

/// A correction of the open cell waiting for its masks to be classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Correction {
    /// Cut `piece` off `object` (the remainder keeps the id).
    Split { object: ObjectId, piece: Pixels },
    /// Paint (`added`) or erase (`removed`) on `object`.
    Stroke {
        object: ObjectId,
        added: Vec<(u32, u32)>,
        removed: Vec<(u32, u32)>,
    },
    /// A new object drawn by the reviewer.
    Create { pixels: Pixels },
    /// Absorb each of `absorbed` into `into`, one stored edit each.
    Merge {
        into: ObjectId,
        absorbed: Vec<ObjectId>,
    },
}

impl Correction {
    /// The masks to classify, in the order `finish_correction` reads them:
    /// a split's remainder then its piece; a stroke's new mask; a drawn
    /// object; a merge's target after each absorbed object.
    fn masks(&self, state: &crate::domain::karyogram::edit::CellState) -> Vec<Pixels> {
        let mask = |id: &ObjectId| state.objects.get(id).map(|o| o.pixels.clone());
        match self {
            Self::Split { object, piece } => {
                let whole = mask(object).unwrap_or_default();
                vec![whole.difference(piece).copied().collect(), piece.clone()]
            }
            Self::Stroke {
                object,
                added,
                removed,
            } => vec![stroked(&mask(object).unwrap_or_default(), added, removed)],
            Self::Create { pixels } => vec![pixels.clone()],
            Self::Merge { into, absorbed } => {
                let mut grown = mask(into).unwrap_or_default();
                absorbed
                    .iter()
                    .map(|a| {
                        grown.extend(mask(a).unwrap_or_default());
                        grown.clone()
                    })
                    .collect()
            }
        }
    }
}

/// The correction being classified and the cell generation it was made on.
#[derive(Debug, Clone)]
pub struct PendingCorrection {
    pub metaphase: MetaphaseId,
    pub generation: u64,
    pub correction: Correction,
}
