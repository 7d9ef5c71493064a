//! The window, drawn with egui. Panels read [`AppState`] and push
//! [`AppCommand`]s; the commands are applied after the pass
//! (`AppState::handle`). Only view state lives here: zoom, pan, hover,
//! gestures in progress and GPU textures.

mod case_ui;
mod cases_ui;
pub mod karyogram_ui;
mod metaphase_ui;
mod overlay;
pub mod theme;

use std::collections::BTreeMap;

use egui::RichText;

use crate::app::{AppCommand, AppState, Db, Level, Prefs, SHORTCUTS, Screen};
use crate::domain::case::NewCase;
use crate::domain::ids::MetaphaseId;
use crate::domain::raster::GrayImage;

/// Key of the preferences in eframe storage.
pub const PREFS_KEY: &str = "karyostation-prefs";

/// The new-case dialog's fields.
#[derive(Default)]
struct NewCaseForm {
    open: bool,
    accession: String,
    patient_name: String,
    patient_id: String,
    specimen: String,
}

/// The application: state plus view state.
pub struct KaryoApp {
    pub state: AppState,
    commands: Vec<AppCommand>,
    new_case: NewCaseForm,
    thumbs: BTreeMap<MetaphaseId, egui::TextureHandle>,
    pub metaphase: metaphase_ui::MetaphaseView,
    pub karyogram: karyogram_ui::KaryogramView,
    sign_off: case_ui::SignOffForm,
    /// Set by `--screenshot`: frames to wait, then the file to write.
    screenshot: Option<(u32, std::path::PathBuf)>,
    screenshot_requested: bool,
    screenshot_done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    frames: u64,
}

impl KaryoApp {
    pub fn new(state: AppState) -> Self {
        Self {
            state,
            commands: Vec::new(),
            new_case: NewCaseForm::default(),
            thumbs: BTreeMap::new(),
            metaphase: metaphase_ui::MetaphaseView::default(),
            karyogram: karyogram_ui::KaryogramView::default(),
            sign_off: case_ui::SignOffForm::default(),
            screenshot: None,
            screenshot_requested: false,
            screenshot_done: Default::default(),
            frames: 0,
        }
    }

    /// Saves a screenshot to `path` once the demo case is shown and no job
    /// is running (or after `max_frames`), then closes the window.
    pub fn with_screenshot(mut self, path: std::path::PathBuf, max_frames: u32) -> Self {
        self.screenshot = Some((max_frames, path));
        self
    }

    /// Queues a command as if the UI had sent it (tests, start-up).
    pub fn push(&mut self, command: AppCommand) {
        self.commands.push(command);
    }

    /// One frame: draw, then apply the commands it produced.
    pub fn frame_ui(&mut self, ui: &mut egui::Ui) {
        self.frames += 1;
        self.state.poll_jobs();
        ui.ctx().set_visuals(theme::visuals(self.state.prefs.dark));
        if let Db::Failed { path, reason } = &self.state.db {
            db_failed_ui(ui, path, reason);
            // The failure screen is complete in its first frame.
            self.maybe_screenshot(ui, self.frames > 2);
            return;
        }
        self.global_keys(ui);
        self.drop_files(ui);
        self.top_bar(ui);
        self.status_bar(ui);
        match self.state.screen {
            Screen::Cases => cases_ui::cases_ui(ui, &self.state, &mut self.commands),
            Screen::Case => {
                self.sync_thumbnails(ui.ctx());
                case_ui::case_ui(
                    ui,
                    &self.state,
                    &self.thumbs,
                    &mut self.sign_off,
                    &mut self.commands,
                );
            }
            Screen::Metaphase => {
                self.metaphase.metaphase_ui(
                    ui,
                    &self.state,
                    &mut self.commands,
                    &mut self.karyogram,
                );
            }
            Screen::Karyogram => {
                if let Some(cell) = &self.state.cell {
                    self.metaphase
                        .keys(ui, &self.state, cell, &mut self.commands);
                }
                self.karyogram
                    .screen_ui(ui, &self.state, &mut self.commands);
            }
        }
        case_ui::sign_off_ui(
            ui.ctx(),
            &self.state,
            &mut self.sign_off,
            &mut self.commands,
        );
        self.new_case_ui(ui);
        if self.state.show_help {
            help_ui(ui.ctx(), &mut self.commands);
        }
        for command in std::mem::take(&mut self.commands) {
            self.state.handle(command);
        }
        if self.state.want_import_dialog {
            self.state.want_import_dialog = false;
            // The xdg-portal dialog returns at once when no portal runs.
            if let Some(files) = rfd::FileDialog::new()
                .add_filter("Images", &crate::casework::IMAGE_EXTENSIONS)
                .pick_files()
            {
                self.state.handle(AppCommand::Import(files));
            }
        }
        if !self.state.jobs.running().is_empty() {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        }
        let ready = self.state.jobs.running().is_empty()
            && self
                .state
                .case
                .as_ref()
                .is_some_and(|c| !c.metaphases.is_empty())
            && self.thumbs.len() >= self.state.case.as_ref().map_or(0, |c| c.metaphases.len());
        self.maybe_screenshot(ui, ready);
    }

    /// With `--screenshot`: asks for a screenshot once `ready` (or after the
    /// frame limit), then closes the window when it is saved.
    fn maybe_screenshot(&mut self, ui: &mut egui::Ui, ready: bool) {
        let Some((max_frames, path)) = self.screenshot.clone() else {
            return;
        };
        ui.ctx().request_repaint();
        if self
            .screenshot_done
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            self.screenshot = None;
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        if self.screenshot_requested {
            return;
        }
        if ready || self.frames >= u64::from(max_frames) {
            self.screenshot_requested = true;
            let done = self.screenshot_done.clone();
            let callback = egui::ScreenshotCallback::new(move |image| {
                let rgba: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
                let result = image::save_buffer(
                    &path,
                    &rgba,
                    image.size[0] as u32,
                    image.size[1] as u32,
                    image::ColorType::Rgba8,
                );
                match result {
                    Ok(()) => eprintln!("screenshot saved to {}", path.display()),
                    Err(e) => eprintln!("cannot save the screenshot {}: {e}", path.display()),
                }
                done.store(true, std::sync::atomic::Ordering::SeqCst);
            });
            ui.ctx()
                .send_viewport_cmd(egui::ViewportCommand::Screenshot(callback));
        }
    }

    fn sync_thumbnails(&mut self, ctx: &egui::Context) {
        for (id, gray) in &self.state.thumbnails {
            if !self.thumbs.contains_key(id) {
                let tex = ctx.load_texture(
                    format!("thumb-{id}"),
                    gray_image(gray),
                    egui::TextureOptions::LINEAR,
                );
                self.thumbs.insert(*id, tex);
            }
        }
    }

    fn global_keys(&mut self, ui: &egui::Ui) {
        let typing = ui.ctx().text_edit_focused();
        let c = &mut self.commands;
        ui.input(|i| {
            if i.key_pressed(egui::Key::F1) {
                c.push(AppCommand::ToggleHelp);
            }
            if i.modifiers.command && i.key_pressed(egui::Key::O) {
                c.push(AppCommand::ImportDialog);
            }
            if !typing && i.modifiers.command && i.key_pressed(egui::Key::N) {
                self.new_case.open = true;
            }
        });
    }

    fn drop_files(&mut self, ui: &egui::Ui) {
        let dropped: Vec<std::path::PathBuf> = ui.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        if !dropped.is_empty() {
            self.commands.push(AppCommand::Import(dropped));
        }
    }

    fn top_bar(&mut self, ui: &mut egui::Ui) {
        egui::Panel::top("top").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("KaryoStation");
                ui.separator();
                if ui.button("Cases").clicked() {
                    self.commands.push(AppCommand::ShowCases);
                }
                if let Some(case) = &self.state.case {
                    ui.label("›");
                    if ui.button(&case.summary.accession).clicked() {
                        self.commands.push(AppCommand::ShowCase);
                    }
                }
                if let Some(cell) = &self.state.cell {
                    ui.label("›");
                    ui.label(&cell.summary.source_name);
                }
                ui.separator();
                if ui.button("New case…").clicked() {
                    self.new_case.open = true;
                }
                let can_import = self.state.case.is_some() && !self.state.case_read_only();
                if ui
                    .add_enabled(can_import, egui::Button::new("Import images…"))
                    .on_hover_text("or drop files or a folder on the window")
                    .clicked()
                {
                    self.commands.push(AppCommand::ImportDialog);
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui.button("Help (F1)").clicked() {
                        self.commands.push(AppCommand::ToggleHelp);
                    }
                    let label = if self.state.prefs.dark {
                        "Light theme"
                    } else {
                        "Dark theme"
                    };
                    if ui.button(label).clicked() {
                        self.state.prefs.dark = !self.state.prefs.dark;
                    }
                    ui.label(format!("user: {}", self.state.prefs.user));
                });
            });
        });
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        egui::Panel::bottom("status").show(ui, |ui| {
            for job in self.state.jobs.running().iter().filter(|j| j.visible) {
                ui.horizontal(|ui| {
                    ui.label(&job.title);
                    ui.add(
                        egui::ProgressBar::new(job.fraction())
                            .desired_width(220.0)
                            .text(format!("{}/{} {}", job.done, job.total, job.label)),
                    );
                    let cancel =
                        ui.add_enabled(!job.cancel_requested(), egui::Button::new("Cancel"));
                    if cancel.clicked() {
                        self.commands.push(AppCommand::CancelJob(job.id));
                    }
                });
            }
            ui.horizontal(|ui| {
                match self.state.messages.last() {
                    Some(m) => {
                        let color = match m.level {
                            Level::Info => ui.visuals().text_color(),
                            Level::Warning => theme::WARNING,
                            Level::Error => theme::ERROR,
                        };
                        ui.label(RichText::new(&m.text).color(color));
                        if self.state.messages.len() > 1 {
                            ui.label(format!("(+{} earlier)", self.state.messages.len() - 1))
                                .on_hover_ui(|ui| {
                                    for m in self.state.messages.iter().rev().skip(1).take(12) {
                                        ui.label(&m.text);
                                    }
                                });
                        }
                        if ui.small_button("Clear").clicked() {
                            self.commands.push(AppCommand::DismissMessages);
                        }
                    }
                    None => {
                        ui.label("Ready");
                    }
                }
                if let Some(repo) = self.state.repo() {
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        let name = repo
                            .path()
                            .file_name()
                            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                        ui.weak(format!("database: {name}"))
                            .on_hover_text(repo.path().display().to_string());
                    });
                }
            });
        });
    }

    fn new_case_ui(&mut self, ui: &mut egui::Ui) {
        if !self.new_case.open {
            return;
        }
        let mut open = true;
        let mut create = false;
        egui::Window::new("New case")
            .open(&mut open)
            .collapsible(false)
            .show(ui.ctx(), |ui| {
                egui::Grid::new("new-case").num_columns(2).show(ui, |ui| {
                    let f = &mut self.new_case;
                    ui.label("Accession number");
                    ui.text_edit_singleline(&mut f.accession);
                    ui.end_row();
                    ui.label("Patient name");
                    ui.text_edit_singleline(&mut f.patient_name);
                    ui.end_row();
                    ui.label("Patient ID");
                    ui.text_edit_singleline(&mut f.patient_id);
                    ui.end_row();
                    ui.label("Specimen");
                    ui.text_edit_singleline(&mut f.specimen);
                    ui.end_row();
                });
                let valid = !self.new_case.accession.trim().is_empty();
                if ui.add_enabled(valid, egui::Button::new("Create")).clicked() {
                    create = true;
                }
            });
        if create {
            let f = &self.new_case;
            let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
            self.commands.push(AppCommand::CreateCase(NewCase {
                accession: f.accession.trim().to_string(),
                patient_name: opt(&f.patient_name),
                patient_id: opt(&f.patient_id),
                specimen: opt(&f.specimen),
                indication: None,
                band_level: Some(400),
            }));
            self.new_case = NewCaseForm::default();
        } else {
            self.new_case.open = open;
        }
    }

    /// Preferences to persist.
    pub fn prefs(&self) -> &Prefs {
        &self.state.prefs
    }
}

impl eframe::App for KaryoApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame_ui(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, PREFS_KEY, self.prefs());
    }
}

/// The screen shown when the case database cannot be opened.
fn db_failed_ui(ui: &mut egui::Ui, path: &std::path::Path, reason: &str) {
    egui::CentralPanel::default().show(ui, |ui| {
        ui.add_space(40.0);
        ui.vertical_centered(|ui| {
            ui.heading(RichText::new("The case database cannot be opened").color(theme::ERROR));
            ui.add_space(12.0);
            ui.label(RichText::new(path.display().to_string()).monospace());
            ui.add_space(8.0);
            ui.label(reason);
            ui.add_space(16.0);
            ui.label("Nothing was changed. What you can do:");
            ui.label("• If another KaryoStation or a backup holds it, close that and start again.");
            ui.label("• If it is damaged, restore the latest backup (`karyostation db backup` makes one).");
            ui.label("• If its folder cannot be written, make it writable (or free disk space).");
            ui.label("• To work on another database, start with `karyostation --db OTHER.sqlite`");
            ui.label("  or set KARYOSTATION_DB.");
        });
    });
}

fn help_ui(ctx: &egui::Context, commands: &mut Vec<AppCommand>) {
    let mut open = true;
    egui::Window::new("Keyboard shortcuts")
        .open(&mut open)
        .collapsible(false)
        .show(ctx, |ui| {
            egui::Grid::new("shortcuts").striped(true).show(ui, |ui| {
                for (key, action) in SHORTCUTS {
                    ui.label(RichText::new(*key).monospace().strong());
                    ui.label(*action);
                    ui.end_row();
                }
            });
        });
    if !open {
        commands.push(AppCommand::ToggleHelp);
    }
}

/// A gray raster as an egui image.
pub fn gray_image(gray: &GrayImage) -> egui::ColorImage {
    egui::ColorImage::from_gray([gray.width(), gray.height()], gray.data())
}
