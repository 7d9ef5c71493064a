//! The window's state and the commands that change it.
//!
//! The UI (`crate::ui`) reads [`AppState`], keeps only view state (zoom,
//! pan, hover, a gesture in progress) and pushes [`AppCommand`]s; after the
//! frame's pass, [`AppState::handle`] applies them (`logic.rs`). Every
//! correction becomes one domain [`Edit`](crate::domain::karyogram::edit::Edit) stored through the case store in
//! one transaction before the screen shows it; slow work (analysis, image
//! decoding, the derived cell view) runs on [`jobs`].

pub mod jobs;
mod logic;

pub use logic::{char_position, issue_text};

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::domain::case::{CaseDetail, CaseSummary, MetaphaseSummary, NewCase};
use crate::domain::chromosome::ChromosomeClass;
use crate::domain::ids::{MetaphaseId, ObjectId};
use crate::domain::karyogram::cell_view::CellView;
use crate::domain::karyogram::edit::CellState;
use crate::domain::modality::Modality;
use crate::domain::raster::GrayImage;
use crate::domain::review::CaseStatus;
use crate::pipeline::Pipeline;
use crate::store::SqliteCaseRepo;

use jobs::{JobId, Jobs};

/// The screen shown in the main area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Cases,
    Case,
    Metaphase,
    /// The open cell's karyogram, full size, with the review tools.
    Karyogram,
}

/// The metaphase view's tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tool {
    Select,
    Cut,
    Merge,
    Paint,
    Erase,
    Lasso,
}

impl Tool {
    pub const ALL: [Tool; 6] = [
        Tool::Select,
        Tool::Cut,
        Tool::Merge,
        Tool::Paint,
        Tool::Erase,
        Tool::Lasso,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Tool::Select => "Select",
            Tool::Cut => "Cut",
            Tool::Merge => "Merge",
            Tool::Paint => "Paint",
            Tool::Erase => "Erase",
            Tool::Lasso => "Draw",
        }
    }

    /// The key that picks the tool.
    pub fn key(self) -> &'static str {
        match self {
            Tool::Select => "S",
            Tool::Cut => "C",
            Tool::Merge => "M",
            Tool::Paint => "B",
            Tool::Erase => "E",
            Tool::Lasso => "L",
        }
    }

    pub fn help(self) -> &'static str {
        match self {
            Tool::Select => "click an object to select it; drag to pan",
            Tool::Cut => "drag a line across an object to split it",
            Tool::Merge => "click objects to pick them, Enter merges them",
            Tool::Paint => "drag to add pixels to the selected object",
            Tool::Erase => "drag to remove pixels from the selected object",
            Tool::Lasso => "drag around a chromosome to draw a new object",
        }
    }
}

/// Every keyboard shortcut, as the help (F1) lists it. The handlers in
/// `ui` use the same keys.
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("F1", "show or hide this list"),
    (
        "S / C / M / B / E / L",
        "tools: select, cut, merge, paint, erase, draw",
    ),
    ("Ctrl+Z", "undo the last correction of this cell"),
    ("Ctrl+Shift+Z or Ctrl+Y", "redo"),
    ("N or Page Down", "next cell"),
    ("P or Page Up", "previous cell"),
    ("F", "next flagged object (most uncertain first)"),
    ("K", "spread or karyogram of this cell"),
    ("V", "flip the selected chromosome 180°"),
    (", / .", "rotate the selected chromosome (Shift: 15°)"),
    ("G", "straightened or rotated-only karyogram"),
    ("W", "swap the selected chromosome with its homolog"),
    ("Tab", "next object"),
    ("1 … 22, X, Y then Enter", "reclassify the selected object"),
    ("U", "move the selected object to unassigned"),
    ("Enter", "merge the picked objects (merge tool)"),
    ("Delete or R", "reject the selected object"),
    ("A", "accept the selected flagged object as it is"),
    ("Escape", "clear the selection, then go back"),
    ("+ / -", "zoom in / out"),
    ("0 or Home", "fit the spread to the window"),
    ("Arrow keys", "pan"),
    ("O", "outline or filled masks"),
    ("T", "labels on or off"),
    ("I", "invert the image"),
    ("[ / ]", "brush smaller / larger"),
    ("Ctrl+O", "import images…"),
    ("Ctrl+N", "new case…"),
];

/// Preferences kept in eframe storage (never case data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prefs {
    pub dark: bool,
    pub overlay_opacity: f32,
    pub outline_mode: bool,
    pub show_labels: bool,
    pub show_rejected: bool,
    pub show_flags: bool,
    pub invert: bool,
    /// Contrast stretch factor around mid-grey (1 = as acquired).
    pub contrast: f32,
    pub brush_radius: f32,
    pub show_karyogram: bool,
    /// Straightened chromosomes in the karyogram (false: rotated only).
    pub straighten: bool,
    pub show_ideograms: bool,
    /// Lab rule: the signer may not be someone who analysed the case.
    pub two_person_rule: bool,
    pub user: String,
}

impl Default for Prefs {
    fn default() -> Self {
        Self {
            dark: false,
            overlay_opacity: 0.35,
            outline_mode: false,
            show_labels: true,
            show_rejected: false,
            show_flags: true,
            invert: false,
            contrast: 1.0,
            brush_radius: 4.0,
            show_karyogram: true,
            straighten: true,
            show_ideograms: true,
            two_person_rule: false,
            user: default_user(),
        }
    }
}

/// The login name, used for the audit trail.
pub fn default_user() -> String {
    std::env::var("KARYOSTATION_USER")
        .or_else(|_| std::env::var("USER"))
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "technologist".to_string())
}

/// The case database as the window has it.
pub enum Db {
    Open(Box<SqliteCaseRepo>),
    /// It could not be opened: the path and why.
    Failed {
        path: PathBuf,
        reason: String,
    },
}

/// How serious a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

/// A message in the status area.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub level: Level,
    pub text: String,
}

/// The cell open in the metaphase view.
pub struct OpenCell {
    pub summary: MetaphaseSummary,
    pub state: CellState,
    /// The spread as acquired, once decoded.
    pub image: Option<(GrayImage, Modality)>,
    pub image_problem: Option<String>,
    /// The derived view of `state` (crops, counts, layout), once computed.
    pub view: Option<CellView>,
    /// The generation `view` was derived for.
    pub view_generation: u64,
    /// Bumped on every change of `state`; derived results of an older
    /// generation are dropped.
    pub generation: u64,
}

/// A gesture the UI finished, for the logic to turn into an edit.
#[derive(Debug, Clone, PartialEq)]
pub enum Gesture {
    /// A cut line from `a` to `b` (image coordinates).
    Cut { a: (f64, f64), b: (f64, f64) },
    /// A brush stroke on the selected object.
    Brush {
        object: ObjectId,
        points: Vec<(f64, f64)>,
        radius: f64,
        erase: bool,
    },
    /// A closed outline for a new object.
    Lasso { outline: Vec<(f64, f64)> },
}

/// Where a chromosome dragged in the karyogram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropTarget {
    /// A class, at a position among its members (0 = first homolog).
    Class(ChromosomeClass, u32),
    /// The unassigned row.
    Unassigned,
}

/// The sign-off dialog's facts, read from the store when it opens.
#[derive(Debug, Clone, PartialEq)]
pub struct SignOffView {
    /// Rules not met if the current user signed now.
    pub unmet: Vec<crate::domain::review::UnmetRule>,
    pub rules: crate::domain::review::SignOffRules,
}

/// What the UI asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum AppCommand {
    Search(String),
    FilterStatus(Option<CaseStatus>),
    /// Cases created on a day starting with this text (`2026`, `2026-11`,
    /// `2026-11-23`); empty: any day.
    FilterDate(String),
    OpenCase(String),
    CreateCase(NewCase),
    /// Back to the case list.
    ShowCases,
    /// Back to the case view.
    ShowCase,
    /// Import files or folders into the open case.
    Import(Vec<PathBuf>),
    /// Open the import file dialog.
    ImportDialog,
    /// Remove a failed import's tile from the open case (stored).
    DismissFailedImport(crate::domain::ids::FailedImportId),
    OpenMetaphase(MetaphaseId),
    /// Next (+1) or previous (-1) cell of the case.
    StepCell(i32),
    Select(Option<ObjectId>),
    /// Add or remove an object from the selection (merge picks).
    ToggleSelect(ObjectId),
    /// Select the next flagged object, most uncertain first.
    NextFlagged,
    NextObject,
    SetTool(Tool),
    Gesture(Gesture),
    MergeSelected,
    Reclassify(ObjectId, Option<ChromosomeClass>),
    Reject(ObjectId),
    Restore(ObjectId),
    Accept(ObjectId),
    Undo,
    Redo,
    /// Show the open cell's karyogram (true) or spread (false).
    ShowKaryogram(bool),
    /// Turn a chromosome end over end.
    Flip(ObjectId),
    /// Rotate a chromosome by degrees (clockwise).
    Rotate(ObjectId, i32),
    /// A chromosome dropped in the karyogram.
    Drop {
        object: ObjectId,
        target: DropTarget,
    },
    /// Exchange the classes and positions of two chromosomes.
    Swap(ObjectId, ObjectId),
    /// Accept both members of a pair flagged as differing.
    AcceptPair(ChromosomeClass),
    /// Record the open cell's karyotype text.
    SetCellKaryotype(String),
    /// Open (or refresh) the sign-off dialog.
    OpenSignOff,
    CloseSignOff,
    /// Sign the open case with this final karyotype.
    Sign {
        karyotype: String,
        reason: Option<String>,
    },
    /// Start an amendment of the signed case.
    Amend(String),
    CancelJob(JobId),
    SetPrefs(Box<Prefs>),
    SetBrush(f32),
    DismissMessages,
    ToggleHelp,
}

/// Everything the window shows.
pub struct AppState {
    pub db: Db,
    pub prefs: Prefs,
    pub pipeline: Arc<Pipeline>,
    /// A notice about the pipeline (e.g. the learned model is missing).
    pub pipeline_notice: Option<String>,
    pub screen: Screen,
    pub search: String,
    pub status_filter: Option<CaseStatus>,
    pub date_filter: String,
    pub cases: Vec<CaseSummary>,
    pub case: Option<CaseDetail>,
    /// The open case's cell karyotypes under the clonality rules (updated
    /// whenever the case is read).
    pub assessment: crate::domain::clonality::CaseKaryotype,
    pub thumbnails: BTreeMap<MetaphaseId, GrayImage>,
    pub cell: Option<OpenCell>,
    pub selection: BTreeSet<ObjectId>,
    pub tool: Tool,
    pub jobs: Jobs,
    pub messages: Vec<Message>,
    pub show_help: bool,
    /// The sign-off dialog, while open.
    pub sign_off: Option<SignOffView>,
    /// Set when the UI should open the file dialog (it owns the window).
    pub want_import_dialog: bool,
    /// Where the demo spreads are written before import.
    pub scratch_dir: PathBuf,
    /// A correction whose masks are being classified in the background.
    pub pending_correction: Option<logic::PendingCorrection>,
}

impl AppState {
    /// The state over a database (open or failed) and a pipeline.
    ///
    /// # Errors
    /// When the job runtime cannot start.
    pub fn new(
        db: Db,
        pipeline: Pipeline,
        pipeline_notice: Option<String>,
        prefs: Prefs,
        waker: jobs::Waker,
    ) -> std::io::Result<Self> {
        let scratch_dir =
            std::env::temp_dir().join(format!("karyostation-demo-{}", std::process::id()));
        let mut state = Self {
            db,
            prefs,
            pipeline: Arc::new(pipeline),
            pipeline_notice,
            screen: Screen::Cases,
            search: String::new(),
            status_filter: None,
            date_filter: String::new(),
            cases: Vec::new(),
            case: None,
            assessment: Default::default(),
            thumbnails: BTreeMap::new(),
            cell: None,
            selection: BTreeSet::new(),
            tool: Tool::Select,
            jobs: Jobs::new(waker)?,
            messages: Vec::new(),
            show_help: false,
            sign_off: None,
            want_import_dialog: false,
            scratch_dir,
            pending_correction: None,
        };
        if let Some(n) = state.pipeline_notice.clone() {
            state.say(Level::Warning, n);
        }
        state.refresh_cases();
        Ok(state)
    }

    pub fn say(&mut self, level: Level, text: impl Into<String>) {
        self.messages.push(Message {
            level,
            text: text.into(),
        });
        if self.messages.len() > 50 {
            self.messages.remove(0);
        }
    }

    /// The open database.
    pub fn repo(&self) -> Option<&SqliteCaseRepo> {
        match &self.db {
            Db::Open(r) => Some(r),
            Db::Failed { .. } => None,
        }
    }

    /// Cases matching the status and date filters (the search is applied
    /// by the store).
    pub fn visible_cases(&self) -> impl Iterator<Item = &CaseSummary> {
        let day = self.date_filter.trim();
        self.cases.iter().filter(move |c| {
            self.status_filter.is_none_or(|s| c.status == s) && c.created_at.starts_with(day)
        })
    }

    /// The karyogram's drawing options (from the preferences).
    pub fn view_options(&self) -> crate::domain::karyogram::cell_view::ViewOptions {
        crate::domain::karyogram::cell_view::ViewOptions {
            scale: 1.0,
            straighten: self.prefs.straighten,
            ideogram_width: if self.prefs.show_ideograms { 10.0 } else { 0.0 },
            unassigned_row: true,
            band_level: self.band_level(),
        }
    }

    /// The open case's band level (400 when not recorded or unknown).
    pub fn band_level(&self) -> crate::domain::bands::BandLevel {
        use crate::domain::bands::BandLevel;
        self.case
            .as_ref()
            .and_then(|c| c.band_level)
            .and_then(BandLevel::from_bands)
            .unwrap_or(BandLevel::B400)
    }

    /// The case is read-only (signed or amended).
    pub fn case_read_only(&self) -> bool {
        self.case
            .as_ref()
            .is_some_and(|c| c.summary.status.is_read_only())
    }
}
