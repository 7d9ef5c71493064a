//! The metaphase view: the spread with class-coloured masks, pan and zoom,
//! the editing tools, the selected object's details, the rejected tray and
//! the cell's karyogram.

use egui::{Color32, Pos2, Rect, RichText, Sense, Stroke, Vec2, pos2, vec2};

use crate::app::{AppCommand, AppState, Gesture, OpenCell, Tool};
use crate::domain::chromosome::ChromosomeClass;
use crate::domain::classify::entropy;
use crate::domain::ids::{MetaphaseId, ObjectId};
use crate::domain::karyogram::edit::CellObject;

use super::karyogram_ui::{KaryogramView, is_flagged};
use super::overlay::{self, Overlay};
use super::theme;

/// A drag in progress on the canvas (image coordinates).
#[derive(Debug, Clone, PartialEq)]
enum Drag {
    Pan,
    Cut { a: Pos2, b: Pos2 },
    Brush { object: ObjectId, points: Vec<Pos2> },
    Lasso { points: Vec<Pos2> },
}

/// View state of the metaphase view.
pub struct MetaphaseView {
    /// Screen points per image pixel.
    pub zoom: f32,
    /// Image origin relative to the canvas's top-left corner, points.
    pub offset: Vec2,
    fitted: Option<MetaphaseId>,
    spread: Option<((MetaphaseId, bool, u32), egui::TextureHandle)>,
    /// Class-coloured masks and the object under each pixel.
    overlay: Option<Overlay>,
    drag: Option<Drag>,
    /// Class being typed (`1`…`22`, `X`, `Y`).
    pub class_buffer: String,
    /// The canvas rectangle of the last frame (tests aim at it).
    pub canvas: Rect,
}

impl Default for MetaphaseView {
    fn default() -> Self {
        Self {
            zoom: 1.0,
            offset: Vec2::ZERO,
            fitted: None,
            spread: None,
            overlay: None,
            drag: None,
            class_buffer: String::new(),
            canvas: Rect::NOTHING,
        }
    }
}

impl MetaphaseView {
    /// Screen position of image point `p`.
    pub fn screen_from_image(&self, p: (f64, f64)) -> Pos2 {
        self.canvas.min + self.offset + vec2(p.0 as f32, p.1 as f32) * self.zoom
    }

    /// Image position of screen point `p`.
    pub fn image_from_screen(&self, p: Pos2) -> (f64, f64) {
        let v = (p - self.canvas.min - self.offset) / self.zoom.max(1e-6);
        (f64::from(v.x), f64::from(v.y))
    }

    fn object_at(&self, p: Pos2) -> Option<ObjectId> {
        let (x, y) = self.image_from_screen(p);
        if x < 0.0 || y < 0.0 {
            return None;
        }
        self.overlay.as_ref()?.label_at(x as usize, y as usize)
    }

    fn fit(&mut self, canvas: Rect, width: u32, height: u32) {
        let (w, h) = (width.max(1) as f32, height.max(1) as f32);
        self.zoom = (canvas.width() / w).min(canvas.height() / h).max(0.01);
        self.offset = (canvas.size() - vec2(w, h) * self.zoom) / 2.0;
    }

    fn zoom_about(&mut self, factor: f32, anchor: Pos2) {
        let new = (self.zoom * factor).clamp(0.02, 40.0);
        let rel = anchor - self.canvas.min - self.offset;
        self.offset += rel - rel * (new / self.zoom);
        self.zoom = new;
    }

    pub fn metaphase_ui(
        &mut self,
        ui: &mut egui::Ui,
        state: &AppState,
        commands: &mut Vec<AppCommand>,
        karyogram: &mut KaryogramView,
    ) {
        let Some(cell) = &state.cell else {
            return;
        };
        self.keys(ui, state, cell, commands);
        egui::Panel::right("metaphase-side")
            .default_size(theme::SIDE_PANEL_WIDTH)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    self.side_ui(ui, state, cell, commands);
                });
            });
        if state.prefs.show_karyogram {
            egui::Panel::bottom("karyogram")
                .resizable(false)
                .exact_size(theme::KARYOGRAM_HEIGHT)
                .show(ui, |ui| {
                    let rect = ui.available_rect_before_wrap();
                    karyogram.karyogram(ui, state, cell, commands, rect);
                });
        }
        egui::CentralPanel::default()
            .frame(egui::Frame::NONE.fill(Color32::from_gray(24)))
            .show(ui, |ui| self.canvas_ui(ui, state, cell, commands));
    }

    /// The keyboard of the cell views (spread and karyogram).
    pub fn keys(
        &mut self,
        ui: &egui::Ui,
        state: &AppState,
        cell: &OpenCell,
        commands: &mut Vec<AppCommand>,
    ) {
        if ui.ctx().text_edit_focused() {
            return;
        }
        // The view's own shortcuts own the keyboard here: egui's focus
        // navigation (Tab, Enter on a focused button) would steal them.
        ui.ctx().memory_mut(|m| {
            if let Some(id) = m.focused() {
                m.surrender_focus(id);
            }
        });
        let selected = state.selection.iter().next().copied();
        let events = ui.input(|i| i.events.clone());
        for e in events {
            match e {
                egui::Event::Text(t) => {
                    for ch in t.chars() {
                        if ch.is_ascii_digit() || matches!(ch, 'x' | 'X' | 'y' | 'Y') {
                            if ch.is_ascii_alphabetic() {
                                self.class_buffer = ch.to_ascii_uppercase().to_string();
                            } else if self.class_buffer.len() < 2
                                && !self.class_buffer.starts_with(['X', 'Y'])
                            {
                                self.class_buffer.push(ch);
                            } else {
                                self.class_buffer = ch.to_string();
                            }
                        }
                    }
                }
                egui::Event::Key {
                    key,
                    pressed: true,
                    modifiers,
                    ..
                } => self.key(key, modifiers, state, cell, selected, commands),
                _ => {}
            }
        }
    }

    fn key(
        &mut self,
        key: egui::Key,
        modifiers: egui::Modifiers,
        state: &AppState,
        cell: &OpenCell,
        selected: Option<ObjectId>,
        commands: &mut Vec<AppCommand>,
    ) {
        use egui::Key;
        if modifiers.command {
            match key {
                Key::Z if modifiers.shift => commands.push(AppCommand::Redo),
                Key::Z => commands.push(AppCommand::Undo),
                Key::Y => commands.push(AppCommand::Redo),
                _ => {}
            }
            return;
        }
        let pan = 60.0;
        match key {
            Key::S => commands.push(AppCommand::SetTool(Tool::Select)),
            Key::C => commands.push(AppCommand::SetTool(Tool::Cut)),
            Key::M => commands.push(AppCommand::SetTool(Tool::Merge)),
            Key::B => commands.push(AppCommand::SetTool(Tool::Paint)),
            Key::E => commands.push(AppCommand::SetTool(Tool::Erase)),
            Key::L => commands.push(AppCommand::SetTool(Tool::Lasso)),
            Key::N | Key::PageDown => commands.push(AppCommand::StepCell(1)),
            Key::P | Key::PageUp => commands.push(AppCommand::StepCell(-1)),
            Key::F => commands.push(AppCommand::NextFlagged),
            Key::K => commands.push(AppCommand::ShowKaryogram(
                state.screen != crate::app::Screen::Karyogram,
            )),
            Key::G => {
                let mut p = state.prefs.clone();
                p.straighten = !p.straighten;
                commands.push(AppCommand::SetPrefs(Box::new(p)));
            }
            Key::V => {
                if let Some(id) = selected {
                    commands.push(AppCommand::Flip(id));
                }
            }
            Key::Comma | Key::Period => {
                if let Some(id) = selected {
                    let step = if modifiers.shift { 15 } else { 5 };
                    let sign = if key == Key::Comma { -1 } else { 1 };
                    commands.push(AppCommand::Rotate(id, sign * step));
                }
            }
            Key::W => {
                let homolog = selected.and_then(|id| state.homolog_of(id));
                if let (Some(a), Some(b)) = (selected, homolog) {
                    commands.push(AppCommand::Swap(a, b));
                }
            }
            Key::Tab => commands.push(AppCommand::NextObject),
            Key::U => {
                if let Some(id) = selected {
                    commands.push(AppCommand::Reclassify(id, None));
                }
            }
            Key::Delete | Key::R => {
                if let Some(id) = selected {
                    commands.push(AppCommand::Reject(id));
                }
            }
            Key::A => {
                if let Some(id) = selected {
                    commands.push(AppCommand::Accept(id));
                }
            }
            Key::Enter => {
                if let (Some(id), Some(class)) =
                    (selected, ChromosomeClass::parse(&self.class_buffer))
                {
                    commands.push(AppCommand::Reclassify(id, Some(class)));
                } else if state.tool == Tool::Merge {
                    commands.push(AppCommand::MergeSelected);
                }
                self.class_buffer.clear();
            }
            Key::Escape => {
                if !self.class_buffer.is_empty() {
                    self.class_buffer.clear();
                } else if self.drag.is_some() {
                    self.drag = None;
                } else if !state.selection.is_empty() {
                    commands.push(AppCommand::Select(None));
                } else {
                    commands.push(AppCommand::ShowCase);
                }
            }
            Key::Plus | Key::Equals => {
                let c = self.canvas.center();
                self.zoom_about(1.25, c);
            }
            Key::Minus => {
                let c = self.canvas.center();
                self.zoom_about(0.8, c);
            }
            Key::Num0 | Key::Home if self.class_buffer.is_empty() || key == Key::Home => {
                self.fit(self.canvas, cell.summary.width, cell.summary.height);
            }
            Key::O | Key::T | Key::I => {
                let mut p = state.prefs.clone();
                match key {
                    Key::O => p.outline_mode = !p.outline_mode,
                    Key::T => p.show_labels = !p.show_labels,
                    _ => p.invert = !p.invert,
                }
                commands.push(AppCommand::SetPrefs(Box::new(p)));
            }
            Key::OpenBracket => commands.push(AppCommand::SetBrush(state.prefs.brush_radius - 1.0)),
            Key::CloseBracket => {
                commands.push(AppCommand::SetBrush(state.prefs.brush_radius + 1.0))
            }
            Key::ArrowLeft => self.offset.x += pan,
            Key::ArrowRight => self.offset.x -= pan,
            Key::ArrowUp => self.offset.y += pan,
            Key::ArrowDown => self.offset.y -= pan,
            _ => {}
        }
    }

    fn canvas_ui(
        &mut self,
        ui: &mut egui::Ui,
        state: &AppState,
        cell: &OpenCell,
        commands: &mut Vec<AppCommand>,
    ) {
        let (rect, response) = ui.allocate_exact_size(ui.available_size(), Sense::click_and_drag());
        self.canvas = rect;
        let id = cell.summary.id;
        if self.fitted != Some(id) && rect.width() > 10.0 {
            self.fit(rect, cell.summary.width, cell.summary.height);
            self.fitted = Some(id);
        }
        let painter = ui.painter_at(rect);
        let Some((gray, _)) = &cell.image else {
            let text = cell.image_problem.as_deref().map_or_else(
                || "Loading the spread…".to_string(),
                |p| format!("Cannot show the spread: {p}"),
            );
            painter.text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                text,
                egui::FontId::proportional(16.0),
                Color32::WHITE,
            );
            return;
        };
        self.sync_textures(ui.ctx(), state, cell, gray);
        let image_rect = Rect::from_min_size(
            self.screen_from_image((0.0, 0.0)),
            vec2(gray.width() as f32, gray.height() as f32) * self.zoom,
        );
        let uv = Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0));
        if let Some((_, t)) = &self.spread {
            painter.image(t.id(), image_rect, uv, Color32::WHITE);
        }
        let prefs = &state.prefs;
        if !prefs.outline_mode
            && let Some(t) = self.overlay.as_ref().map(Overlay::texture)
        {
            let a = (prefs.overlay_opacity.clamp(0.0, 1.0) * 255.0) as u8;
            painter.image(t.id(), image_rect, uv, Color32::from_white_alpha(a));
        }
        self.draw_objects(&painter, state, cell);
        self.draw_drag(&painter);
        self.pointer(ui, &response, state, cell, commands);
    }

    fn sync_textures(
        &mut self,
        ctx: &egui::Context,
        state: &AppState,
        cell: &OpenCell,
        gray: &crate::domain::raster::GrayImage,
    ) {
        let id = cell.summary.id;
        let prefs = &state.prefs;
        let spread_key = (id, prefs.invert, (prefs.contrast * 100.0) as u32);
        if self.spread.as_ref().is_none_or(|(k, _)| *k != spread_key) {
            let lut: Vec<u8> = (0..=255u32)
                .map(|v| {
                    let c = (v as f32 - 128.0) * prefs.contrast + 128.0;
                    let c = c.clamp(0.0, 255.0) as u8;
                    if prefs.invert { 255 - c } else { c }
                })
                .collect();
            let img = egui::ColorImage::from_gray_iter(
                [gray.width(), gray.height()],
                gray.data().iter().map(|&v| lut[v as usize]),
            );
            let t = ctx.load_texture(format!("spread-{id}"), img, egui::TextureOptions::LINEAR);
            self.spread = Some((spread_key, t));
        }
        overlay::sync(
            &mut self.overlay,
            ctx,
            (id, cell.generation, prefs.show_rejected),
            &cell.state.objects,
            [gray.width(), gray.height()],
        );
    }

    fn visible<'a>(&self, state: &AppState, cell: &'a OpenCell) -> Vec<&'a CellObject> {
        cell.state
            .objects
            .values()
            .filter(|o| o.rejected.is_none() || state.prefs.show_rejected)
            .collect()
    }

    fn draw_objects(&self, painter: &egui::Painter, state: &AppState, cell: &OpenCell) {
        let prefs = &state.prefs;
        let Some(view) = &cell.view else {
            return;
        };
        for o in self.visible(state, cell) {
            let Some(v) = view.objects.get(&o.id) else {
                continue;
            };
            let selected = state.selection.contains(&o.id);
            if prefs.outline_mode || selected {
                let points: Vec<Pos2> = v
                    .outline
                    .iter()
                    .map(|&p| self.screen_from_image(p))
                    .collect();
                let stroke = if selected {
                    Stroke::new(2.5, theme::SELECTION)
                } else {
                    Stroke::new(1.5, theme::class_color(o.class))
                };
                if points.len() >= 2 {
                    painter.add(egui::Shape::closed_line(points, stroke));
                }
            }
            let at = self.screen_from_image(v.centroid);
            if prefs.show_labels && o.rejected.is_none() {
                let text = o.class.map_or("?", ChromosomeClass::label);
                let galley = painter.layout_no_wrap(
                    text.to_string(),
                    egui::FontId::proportional(theme::LABEL_SIZE),
                    Color32::WHITE,
                );
                let r = Rect::from_center_size(at, galley.size() + vec2(6.0, 2.0));
                painter.rect_filled(r, 3.0, Color32::from_black_alpha(170));
                painter.galley(r.min + vec2(3.0, 1.0), galley, Color32::WHITE);
            }
            if prefs.show_flags && is_flagged(o) {
                let c = at + vec2(12.0, -12.0);
                painter.circle_stroke(c, 7.0, Stroke::new(2.0, theme::FLAG));
                painter.text(
                    c,
                    egui::Align2::CENTER_CENTER,
                    "!",
                    egui::FontId::proportional(11.0),
                    theme::FLAG,
                );
            }
        }
    }

    fn draw_drag(&self, painter: &egui::Painter) {
        let stroke = Stroke::new(2.0, theme::GESTURE);
        let to_screen = |p: &Pos2| self.screen_from_image((f64::from(p.x), f64::from(p.y)));
        match &self.drag {
            Some(Drag::Cut { a, b }) => {
                painter.line_segment([to_screen(a), to_screen(b)], stroke);
            }
            Some(Drag::Brush { points, .. }) | Some(Drag::Lasso { points }) => {
                let pts: Vec<Pos2> = points.iter().map(to_screen).collect();
                painter.add(egui::Shape::line(pts, stroke));
            }
            _ => {}
        }
    }

    fn pointer(
        &mut self,
        ui: &egui::Ui,
        response: &egui::Response,
        state: &AppState,
        cell: &OpenCell,
        commands: &mut Vec<AppCommand>,
    ) {
        // Wheel zooms about the pointer.
        if let Some(p) = response.hover_pos() {
            let (scroll, zoom) = ui.input(|i| (i.smooth_scroll_delta, i.zoom_delta()));
            if zoom != 1.0 {
                self.zoom_about(zoom, p);
            } else if scroll.y != 0.0 {
                self.zoom_about((scroll.y / 200.0).exp(), p);
            }
        }
        let hovered = response.hover_pos().and_then(|p| self.object_at(p));
        if let Some(o) = hovered.and_then(|id| cell.state.objects.get(&id))
            && self.drag.is_none()
        {
            response
                .clone()
                .on_hover_ui_at_pointer(|ui| object_tooltip(ui, o));
        }
        let (canvas, offset, zoom) = (self.canvas, self.offset, self.zoom.max(1e-6));
        let to_image = move |p: Pos2| {
            let v = (p - canvas.min - offset) / zoom;
            pos2(v.x, v.y)
        };
        let pointer = response.interact_pointer_pos();
        let secondary_or_middle = ui.input(|i| {
            i.pointer.button_down(egui::PointerButton::Middle)
                || i.pointer.button_down(egui::PointerButton::Secondary)
        });
        if response.drag_started()
            && let Some(p) = pointer
        {
            let ip = to_image(p);
            self.drag = Some(match state.tool {
                _ if secondary_or_middle => Drag::Pan,
                Tool::Select | Tool::Merge => Drag::Pan,
                Tool::Cut => Drag::Cut { a: ip, b: ip },
                Tool::Paint | Tool::Erase => match state.selection.iter().next() {
                    Some(&object) => Drag::Brush {
                        object,
                        points: vec![ip],
                    },
                    None => Drag::Pan,
                },
                Tool::Lasso => Drag::Lasso { points: vec![ip] },
            });
        }
        if response.dragged()
            && let Some(p) = pointer
        {
            let ip = to_image(p);
            let delta = response.drag_delta();
            match &mut self.drag {
                Some(Drag::Pan) => self.offset += delta,
                Some(Drag::Cut { b, .. }) => *b = ip,
                Some(Drag::Brush { points, .. }) | Some(Drag::Lasso { points })
                    if points.last().is_none_or(|l| l.distance(ip) >= 0.5) =>
                {
                    points.push(ip);
                }
                Some(Drag::Brush { .. }) | Some(Drag::Lasso { .. }) | None => {}
            }
        }
        if response.drag_stopped() {
            let p = |v: &Pos2| (f64::from(v.x), f64::from(v.y));
            match self.drag.take() {
                Some(Drag::Cut { a, b }) => {
                    commands.push(AppCommand::Gesture(Gesture::Cut { a: p(&a), b: p(&b) }));
                }
                Some(Drag::Brush { object, points }) => {
                    commands.push(AppCommand::Gesture(Gesture::Brush {
                        object,
                        points: points.iter().map(p).collect(),
                        radius: f64::from(state.prefs.brush_radius),
                        erase: state.tool == Tool::Erase,
                    }));
                }
                Some(Drag::Lasso { points }) => {
                    commands.push(AppCommand::Gesture(Gesture::Lasso {
                        outline: points.iter().map(p).collect(),
                    }));
                }
                Some(Drag::Pan) | None => {}
            }
        }
        if response.clicked() {
            let ctrl = ui.input(|i| i.modifiers.command || i.modifiers.shift);
            match (state.tool, hovered) {
                (Tool::Merge, Some(id)) => commands.push(AppCommand::ToggleSelect(id)),
                (_, Some(id)) if ctrl => commands.push(AppCommand::ToggleSelect(id)),
                (_, h) => commands.push(AppCommand::Select(h)),
            }
        }
        if response.secondary_clicked()
            && let Some(id) = hovered
        {
            commands.push(AppCommand::Select(Some(id)));
        }
        let target = state.selection.iter().next().copied();
        response.context_menu(|ui| {
            let Some(o) = target.and_then(|id| cell.state.objects.get(&id)) else {
                ui.label("Right-click an object");
                return;
            };
            object_menu(ui, o, commands);
        });
    }

    fn side_ui(
        &mut self,
        ui: &mut egui::Ui,
        state: &AppState,
        cell: &OpenCell,
        commands: &mut Vec<AppCommand>,
    ) {
        ui.horizontal(|ui| {
            if ui.button("< Previous cell").clicked() {
                commands.push(AppCommand::StepCell(-1));
            }
            if ui.button("Next cell >").clicked() {
                commands.push(AppCommand::StepCell(1));
            }
        });
        if state.case_read_only() {
            ui.label(RichText::new("This case is signed: read only.").color(theme::WARNING));
        }
        ui.separator();
        ui.label(RichText::new("Tools").strong());
        ui.horizontal_wrapped(|ui| {
            for t in Tool::ALL {
                let r = ui
                    .selectable_label(state.tool == t, format!("{} ({})", t.label(), t.key()))
                    .on_hover_text(t.help());
                if r.clicked() {
                    commands.push(AppCommand::SetTool(t));
                }
            }
        });
        ui.label(RichText::new(state.tool.help()).small());
        if matches!(state.tool, Tool::Paint | Tool::Erase) {
            let mut prefs = state.prefs.brush_radius;
            ui.add(egui::Slider::new(&mut prefs, 1.0..=30.0).text("brush radius"));
            if prefs != state.prefs.brush_radius {
                commands.push(AppCommand::SetBrush(prefs));
            }
            if state.selection.is_empty() {
                ui.label(RichText::new("select an object first").color(theme::WARNING));
            }
        }
        if state.tool == Tool::Merge {
            let n = state.selection.len();
            if ui
                .add_enabled(
                    n >= 2,
                    egui::Button::new(format!("Merge {n} picked (Enter)")),
                )
                .clicked()
            {
                commands.push(AppCommand::MergeSelected);
            }
        }
        ui.horizontal(|ui| {
            if ui.button("Undo (Ctrl+Z)").clicked() {
                commands.push(AppCommand::Undo);
            }
            if ui.button("Redo").clicked() {
                commands.push(AppCommand::Redo);
            }
        });
        ui.separator();
        ui.label(RichText::new("Cell").strong());
        match &cell.view {
            Some(v) => {
                ui.label(format!(
                    "{} objects · proposal {}",
                    v.karyotype.count,
                    v.karyotype.to_iscn()
                ));
            }
            None => {
                ui.label("measuring…");
            }
        }
        ui.label(format!("recorded: {}", cell.state.karyotype));
        let flagged = cell.state.active().filter(|o| is_flagged(o)).count();
        ui.horizontal(|ui| {
            ui.label(format!("{flagged} flagged"));
            if ui.button("Next flagged (F)").clicked() {
                commands.push(AppCommand::NextFlagged);
            }
        });
        ui.separator();
        self.selection_ui(ui, state, commands);
        ui.separator();
        display_ui(ui, state, commands);
        if ui.button("Fit (0)").clicked() {
            self.fit(self.canvas, cell.summary.width, cell.summary.height);
        }
        ui.separator();
        let rejected: Vec<&CellObject> = cell
            .state
            .objects
            .values()
            .filter(|o| o.rejected.is_some())
            .collect();
        egui::CollapsingHeader::new(format!("Rejected tray ({})", rejected.len()))
            .id_salt("rejected-tray")
            .show(ui, |ui| {
                for o in rejected {
                    ui.horizontal(|ui| {
                        ui.label(format!(
                            "#{} {} — {}",
                            o.id,
                            o.class.map_or("?", ChromosomeClass::label),
                            o.rejected.as_deref().unwrap_or("")
                        ));
                        if ui.small_button("Restore").clicked() {
                            commands.push(AppCommand::Restore(o.id));
                        }
                    });
                }
            });
    }

    fn selection_ui(&self, ui: &mut egui::Ui, state: &AppState, commands: &mut Vec<AppCommand>) {
        let Some(o) = state.selected_object() else {
            ui.label("No object selected (click one, or Tab).");
            return;
        };
        ui.label(RichText::new(format!("Object #{}", o.id)).strong());
        object_details(ui, o);
        if !self.class_buffer.is_empty() {
            ui.label(format!(
                "type class: {}  (Enter applies)",
                self.class_buffer
            ));
        }
        ui.menu_button("Reclassify…", |ui| object_menu(ui, o, commands));
    }
}

fn display_ui(ui: &mut egui::Ui, state: &AppState, commands: &mut Vec<AppCommand>) {
    ui.label(RichText::new("Display").strong());
    let mut p = state.prefs.clone();
    ui.add(egui::Slider::new(&mut p.overlay_opacity, 0.0..=1.0).text("mask opacity"));
    ui.checkbox(&mut p.outline_mode, "Outlines only (O)");
    ui.checkbox(&mut p.show_labels, "Labels (T)");
    ui.checkbox(&mut p.show_flags, "Flags");
    ui.checkbox(&mut p.show_rejected, "Rejected objects");
    ui.checkbox(&mut p.invert, "Invert image (I)");
    ui.add(egui::Slider::new(&mut p.contrast, 0.5..=3.0).text("contrast"));
    ui.checkbox(&mut p.show_karyogram, "Karyogram panel");
    if p != state.prefs {
        commands.push(AppCommand::SetPrefs(Box::new(p)));
    }
}

fn object_details(ui: &mut egui::Ui, o: &CellObject) {
    let class = o.class.map_or("unassigned", ChromosomeClass::label);
    let proposed = o.proposed.map_or("none", ChromosomeClass::label);
    ui.label(format!(
        "class {class} (proposed {proposed}) · p arm {}",
        o.polarity.label()
    ));
    if !o.probabilities.is_empty() {
        let h = entropy(&o.probabilities);
        ui.label(format!("entropy {h:.2} nats"));
        let mut top: Vec<(usize, f64)> = o.probabilities.iter().copied().enumerate().collect();
        top.sort_by(|a, b| b.1.total_cmp(&a.1));
        let alts: Vec<String> = top
            .iter()
            .take(3)
            .filter_map(|&(i, p)| {
                ChromosomeClass::from_index(i).map(|c| format!("{} {:.0}%", c.label(), p * 100.0))
            })
            .collect();
        ui.label(format!("top: {}", alts.join(", ")));
    }
    if !o.flags.is_empty() {
        let flags: Vec<String> = o.flags.iter().map(|f| format!("{f:?}")).collect();
        let accepted = if o.accepted { " (accepted)" } else { "" };
        ui.label(
            RichText::new(format!("flags: {}{accepted}", flags.join(", "))).color(theme::FLAG),
        );
    }
    ui.label(format!("{} px", o.pixels.len()));
}

fn object_tooltip(ui: &mut egui::Ui, o: &CellObject) {
    ui.label(RichText::new(format!("Object #{}", o.id)).strong());
    object_details(ui, o);
}

fn object_menu(ui: &mut egui::Ui, o: &CellObject, commands: &mut Vec<AppCommand>) {
    ui.label(format!("Object #{}", o.id));
    ui.menu_button("Class", |ui| {
        egui::Grid::new("class-grid").show(ui, |ui| {
            for (i, c) in ChromosomeClass::all().enumerate() {
                if ui.selectable_label(o.class == Some(c), c.label()).clicked() {
                    commands.push(AppCommand::Reclassify(o.id, Some(c)));
                    ui.close();
                }
                if i % 6 == 5 {
                    ui.end_row();
                }
            }
        });
        if ui.button("Unassigned (U)").clicked() {
            commands.push(AppCommand::Reclassify(o.id, None));
            ui.close();
        }
    });
    if o.rejected.is_none() {
        if ui.button("Reject (Delete)").clicked() {
            commands.push(AppCommand::Reject(o.id));
            ui.close();
        }
    } else if ui.button("Restore").clicked() {
        commands.push(AppCommand::Restore(o.id));
        ui.close();
    }
    if !o.flags.is_empty() {
        let label = if o.accepted {
            "Withdraw acceptance"
        } else {
            "Accept as is (A)"
        };
        if ui.button(label).clicked() {
            commands.push(AppCommand::Accept(o.id));
            ui.close();
        }
    }
}
