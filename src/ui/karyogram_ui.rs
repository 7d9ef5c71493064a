//! The karyogram of the open cell: the standard layout with ideograms and
//! pair counts, drag-and-drop relabelling, flip and rotate, homolog-pair
//! differences, the review queue and the cell's ISCN editor with a band
//! picker. The same widget is the metaphase view's bottom panel (compact)
//! and the karyogram screen (full).

use std::collections::BTreeMap;

use egui::{Color32, Pos2, Rect, RichText, Sense, Stroke, vec2};

use crate::app::{AppCommand, AppState, DropTarget, OpenCell};
use crate::domain::bands::{Arm, BandTable, Ideogram};
use crate::domain::chromosome::ChromosomeClass;
use crate::domain::classify::entropy;
use crate::domain::ids::{MetaphaseId, ObjectId};
use crate::domain::karyogram::cell_view::CellView;
use crate::domain::karyogram::edit::CellObject;
use crate::domain::review::flag_text;

use super::theme;

/// A chromosome being dragged: its id and where it was grabbed.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Dragging {
    object: ObjectId,
    grab: egui::Vec2,
}

/// A drop onto a full pair of another class, waiting for the choice.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PendingDrop {
    object: ObjectId,
    class: ChromosomeClass,
    position: u32,
    at: Pos2,
}

/// The rearrangement the band picker writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickKind {
    Del,
    Dup,
    Inv,
}

impl PickKind {
    fn symbol(self) -> &'static str {
        match self {
            Self::Del => "del",
            Self::Dup => "dup",
            Self::Inv => "inv",
        }
    }
}

/// What the crop textures were made for: cell, view generation, straightened.
type CropKey = (MetaphaseId, u64, bool);

/// View state of the karyogram.
pub struct KaryogramView {
    crops: Option<(CropKey, BTreeMap<ObjectId, egui::TextureHandle>)>,
    /// Screen rectangles of the chromosomes drawn last frame (tests aim at them).
    pub rects: Vec<(ObjectId, Rect)>,
    /// Screen rectangles of the class groups drawn last frame.
    pub groups: Vec<(ChromosomeClass, Rect)>,
    /// The unassigned row's screen rectangle.
    pub unassigned: Option<Rect>,
    dragging: Option<Dragging>,
    pending: Option<PendingDrop>,
    /// The cell karyotype being edited, for the cell it was started on.
    pub iscn: Option<(MetaphaseId, String)>,
    /// First band picked: class and band name.
    pick_start: Option<(ChromosomeClass, String)>,
    pub pick_kind: PickKind,
}

impl Default for KaryogramView {
    fn default() -> Self {
        Self {
            crops: None,
            rects: Vec::new(),
            groups: Vec::new(),
            unassigned: None,
            dragging: None,
            pending: None,
            iscn: None,
            pick_start: None,
            pick_kind: PickKind::Del,
        }
    }
}

/// Flagged and not yet resolved (see `CellObject::open_flags`).
pub fn is_flagged(o: &CellObject) -> bool {
    !o.open_flags().is_empty()
}

impl KaryogramView {
    /// The karyogram screen: the full karyogram and the review tools.
    pub fn screen_ui(
        &mut self,
        ui: &mut egui::Ui,
        state: &AppState,
        commands: &mut Vec<AppCommand>,
    ) {
        let Some(cell) = &state.cell else {
            return;
        };
        egui::Panel::right("karyogram-side")
            .default_size(theme::SIDE_PANEL_WIDTH + 40.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    self.side_ui(ui, state, cell, commands);
                });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            let rect = ui.available_rect_before_wrap();
            self.karyogram(ui, state, cell, commands, rect);
        });
    }

    /// The karyogram in `rect`: chromosomes, labels, counts, ideograms,
    /// differences; click selects, double-click flips, drag relabels.
    pub fn karyogram(
        &mut self,
        ui: &mut egui::Ui,
        state: &AppState,
        cell: &OpenCell,
        commands: &mut Vec<AppCommand>,
        rect: Rect,
    ) {
        let response = ui.allocate_rect(rect, Sense::click_and_drag());
        let Some(view) = &cell.view else {
            ui.painter().text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "Arranging the karyogram…",
                egui::FontId::proportional(14.0),
                ui.visuals().text_color(),
            );
            return;
        };
        let key = (
            cell.summary.id,
            cell.view_generation,
            view.options.straighten,
        );
        if self.crops.as_ref().is_none_or(|(k, _)| *k != key) {
            let textures = view
                .objects
                .keys()
                .filter_map(|id| {
                    let crop = view.shown(*id)?;
                    let t = ui.ctx().load_texture(
                        format!("crop-{}-{id}", cell.summary.id),
                        super::gray_image(crop),
                        egui::TextureOptions::LINEAR,
                    );
                    Some((*id, t))
                })
                .collect();
            self.crops = Some((key, textures));
        }
        let layout = &view.layout;
        let scale = (rect.width() / layout.width as f32)
            .min(rect.height() / layout.height as f32)
            .max(0.01);
        let origin = rect.min
            + (rect.size() - vec2(layout.width as f32, layout.height as f32) * scale) / 2.0;
        let map = |r: &crate::domain::karyogram::layout::Rect| {
            Rect::from_min_size(
                origin + vec2(r.x as f32, r.y as f32) * scale,
                vec2(r.w as f32, r.h as f32) * scale,
            )
        };
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 0.0, Color32::WHITE);
        let pointer = ui.input(|i| i.pointer.interact_pos());
        let drop_target = self.dragging.and(pointer).and_then(|p| self.target_at(p));

        // Groups: drop highlight, label with count, ideogram.
        self.groups.clear();
        let table = BandTable::get(state.band_level());
        let font = egui::FontId::proportional((12.0 * scale.sqrt()).clamp(9.0, 14.0));
        for g in &layout.groups {
            let area = map(&g.rect);
            self.groups.push((g.class, area));
            if matches!(drop_target, Some(DropTarget::Class(c, _)) if c == g.class) {
                painter.rect_filled(area, 3.0, theme::SELECTION.gamma_multiply(0.15));
            }
            let n = view.count(g.class);
            let ok = g.class.is_sex() || n == 2;
            let text = if n == 2 {
                g.class.label().to_string()
            } else {
                format!("{} ({n})", g.class.label())
            };
            let at = origin + vec2(g.label_at.0 as f32, g.label_at.1 as f32) * scale;
            painter.text(
                at,
                egui::Align2::CENTER_CENTER,
                text,
                font.clone(),
                if ok {
                    Color32::BLACK
                } else {
                    theme::COUNT_WARNING
                },
            );
            if let Some(ideo_rect) = &g.ideogram {
                draw_ideogram(&painter, map(ideo_rect), table.ideogram(g.class), None);
            }
        }
        self.unassigned = layout.unassigned_area.as_ref().map(map);
        if let Some(u) = self.unassigned {
            let hot = drop_target == Some(DropTarget::Unassigned);
            painter.rect_stroke(
                u,
                3.0,
                Stroke::new(
                    if hot { 2.0 } else { 1.0 },
                    if hot {
                        theme::SELECTION
                    } else {
                        Color32::from_gray(200)
                    },
                ),
                egui::StrokeKind::Inside,
            );
            painter.text(
                u.left_top() + vec2(4.0, 2.0),
                egui::Align2::LEFT_TOP,
                format!("unassigned ({})", view.unassigned),
                font.clone(),
                Color32::DARK_GRAY,
            );
        }

        // Chromosomes.
        self.rects.clear();
        let textures = self.crops.take();
        let members = layout
            .groups
            .iter()
            .flat_map(|g| g.members.iter())
            .chain(layout.unassigned.iter());
        for (id, r) in members {
            let screen = map(r);
            let dragged = self.dragging.is_some_and(|d| d.object == *id);
            if let Some(t) = textures.as_ref().and_then(|(_, t)| t.get(id)) {
                let tint = if dragged {
                    Color32::from_white_alpha(90)
                } else {
                    Color32::WHITE
                };
                egui::Image::new((t.id(), screen.size()))
                    .tint(tint)
                    .paint_at(ui, screen);
            }
            if state.selection.contains(id) {
                painter.rect_stroke(
                    screen.expand(2.0),
                    2.0,
                    Stroke::new(2.0, theme::SELECTION),
                    egui::StrokeKind::Outside,
                );
            }
            if state.prefs.show_flags && cell.state.objects.get(id).is_some_and(is_flagged) {
                painter.circle_filled(screen.right_top(), 4.0, theme::FLAG);
            }
            self.rects.push((*id, screen));
        }
        self.draw_differences(&painter, view);
        self.crops = textures;

        self.interact(ui, &response, state, cell, commands, pointer);
        if let (Some(d), Some(p)) = (self.dragging, pointer)
            && let Some(t) = self.crops.as_ref().and_then(|(_, t)| t.get(&d.object))
            && let Some((_, r)) = self.rects.iter().find(|(id, _)| *id == d.object)
        {
            let ghost = Rect::from_min_size(p - d.grab, r.size());
            ui.painter().image(
                t.id(),
                ghost,
                Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0)),
                Color32::WHITE,
            );
        }
        self.pending_ui(ui, cell, commands);
    }

    /// Red bars beside both homologs over the segments that differ.
    fn draw_differences(&self, painter: &egui::Painter, view: &CellView) {
        // Only pairs that reach the flag threshold: weaker differences are
        // listed in the side panel but not drawn.
        let threshold = crate::domain::analysis::AnalysisParams::default().homolog_threshold;
        for pair in &view.pairs {
            if pair.segments.is_empty() || pair.score < threshold {
                continue;
            }
            for seg in &pair.segments {
                for (id, (from, to)) in [(pair.a, seg.a), (pair.b, seg.b)] {
                    let Some((_, r)) = self.rects.iter().find(|(o, _)| *o == id) else {
                        continue;
                    };
                    let y0 = r.top() + r.height() * from.clamp(0.0, 1.0) as f32;
                    let y1 = (r.top() + r.height() * to.clamp(0.0, 1.0) as f32).max(y0 + 2.0);
                    let bar = Rect::from_min_max(
                        Pos2::new(r.left() - 4.0, y0),
                        Pos2::new(r.left() - 1.5, y1),
                    );
                    painter.rect_filled(bar, 0.0, theme::COUNT_WARNING);
                }
            }
        }
    }

    /// Where a drop at `p` would land.
    fn target_at(&self, p: Pos2) -> Option<DropTarget> {
        if self.unassigned.is_some_and(|u| u.contains(p)) {
            return Some(DropTarget::Unassigned);
        }
        let (class, _) = self.groups.iter().find(|(_, r)| r.contains(p))?;
        // Position: how many members of the class lie left of the pointer.
        let position = self
            .groups_members(*class)
            .iter()
            .filter(|r| r.center().x < p.x)
            .count() as u32;
        Some(DropTarget::Class(*class, position))
    }

    fn groups_members(&self, class: ChromosomeClass) -> Vec<Rect> {
        let Some((_, area)) = self.groups.iter().find(|(c, _)| *c == class) else {
            return Vec::new();
        };
        self.rects
            .iter()
            .filter(|(_, r)| area.contains(r.center()))
            .map(|(_, r)| *r)
            .collect()
    }

    fn hit(&self, p: Pos2) -> Option<ObjectId> {
        self.rects
            .iter()
            .find(|(_, r)| r.expand(2.0).contains(p))
            .map(|(id, _)| *id)
    }

    fn interact(
        &mut self,
        ui: &egui::Ui,
        response: &egui::Response,
        state: &AppState,
        cell: &OpenCell,
        commands: &mut Vec<AppCommand>,
        pointer: Option<Pos2>,
    ) {
        let read_only = state.case_read_only();
        // Where the button went down: the drag starts some points later.
        let origin = ui.input(|i| i.pointer.press_origin());
        if response.drag_started()
            && !read_only
            && let Some(p) = origin.or(response.interact_pointer_pos())
            && let Some(id) = self.hit(p)
        {
            let r = self
                .rects
                .iter()
                .find(|(o, _)| *o == id)
                .map_or(Rect::NOTHING, |(_, r)| *r);
            self.dragging = Some(Dragging {
                object: id,
                grab: p - r.min,
            });
            commands.push(AppCommand::Select(Some(id)));
        }
        if response.drag_stopped()
            && let Some(d) = self.dragging.take()
            && let Some(p) = pointer.or(response.interact_pointer_pos())
        {
            let Some(target) = self.target_at(p) else {
                return;
            };
            let object = cell.state.objects.get(&d.object);
            match target {
                DropTarget::Class(class, position)
                    if object.is_some_and(|o| o.class != Some(class))
                        && cell.view.as_ref().is_some_and(|v| v.count(class) >= 2) =>
                {
                    self.pending = Some(PendingDrop {
                        object: d.object,
                        class,
                        position,
                        at: p,
                    });
                }
                target => commands.push(AppCommand::Drop {
                    object: d.object,
                    target,
                }),
            }
            return;
        }
        if response.double_clicked()
            && !read_only
            && let Some(id) = response.interact_pointer_pos().and_then(|p| self.hit(p))
        {
            commands.push(AppCommand::Flip(id));
        } else if response.clicked() {
            let hit = response.interact_pointer_pos().and_then(|p| self.hit(p));
            commands.push(AppCommand::Select(hit));
        }
        if ui.input(|i| i.key_pressed(egui::Key::Escape)) {
            self.dragging = None;
            self.pending = None;
        }
    }

    /// The choice offered after a drop onto a full pair of another class.
    fn pending_ui(&mut self, ui: &egui::Ui, cell: &OpenCell, commands: &mut Vec<AppCommand>) {
        let Some(pending) = self.pending else {
            return;
        };
        let mut members: Vec<&CellObject> = cell
            .state
            .active()
            .filter(|o| o.class == Some(pending.class))
            .collect();
        members.sort_by_key(|o| (o.slot, o.id));
        let mut close = false;
        egui::Area::new(egui::Id::unique("karyogram-drop-choice"))
            .fixed_pos(pending.at)
            .order(egui::Order::Foreground)
            .show(ui.ctx(), |ui| {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.label(format!(
                        "Chromosome {} already has {} members",
                        pending.class,
                        members.len()
                    ));
                    for m in &members {
                        if ui
                            .button(format!(
                                "Swap with #{} (it becomes the dragged one's class)",
                                m.id
                            ))
                            .clicked()
                        {
                            commands.push(AppCommand::Swap(pending.object, m.id));
                            close = true;
                        }
                    }
                    if ui
                        .button(format!("Add as member {}", members.len() + 1))
                        .clicked()
                    {
                        commands.push(AppCommand::Drop {
                            object: pending.object,
                            target: DropTarget::Class(pending.class, pending.position),
                        });
                        close = true;
                    }
                    if ui.button("Cancel").clicked() {
                        close = true;
                    }
                });
            });
        if close {
            self.pending = None;
        }
    }

    fn side_ui(
        &mut self,
        ui: &mut egui::Ui,
        state: &AppState,
        cell: &OpenCell,
        commands: &mut Vec<AppCommand>,
    ) {
        ui.horizontal(|ui| {
            if ui.button("Spread (K)").clicked() {
                commands.push(AppCommand::ShowKaryogram(false));
            }
            if ui.button("< Cell").clicked() {
                commands.push(AppCommand::StepCell(-1));
            }
            if ui.button("Cell >").clicked() {
                commands.push(AppCommand::StepCell(1));
            }
        });
        ui.label(RichText::new(&cell.summary.source_name).small());
        if state.case_read_only() {
            ui.label(RichText::new("This case is signed: read only.").color(theme::WARNING));
        }
        let mut p = state.prefs.clone();
        ui.checkbox(&mut p.straighten, "Straightened (G); off: rotated only");
        ui.checkbox(&mut p.show_ideograms, "Ideograms");
        if p != state.prefs {
            commands.push(AppCommand::SetPrefs(Box::new(p)));
        }
        let level = state.band_level();
        let table = BandTable::get(level);
        if table.level == level {
            ui.label(format!("band level {}", level.bands_per_set()));
        } else {
            ui.label(
                RichText::new(format!(
                    "band level {}: table not installed, showing {}",
                    level.bands_per_set(),
                    table.level.bands_per_set()
                ))
                .color(theme::WARNING),
            );
        }
        ui.separator();
        self.selected_ui(ui, state, cell, commands);
        ui.separator();
        review_queue_ui(ui, state, cell, commands);
        ui.separator();
        pairs_ui(ui, cell, commands);
        ui.separator();
        self.iscn_ui(ui, state, cell, commands);
    }

    fn selected_ui(
        &mut self,
        ui: &mut egui::Ui,
        state: &AppState,
        cell: &OpenCell,
        commands: &mut Vec<AppCommand>,
    ) {
        let Some(o) = state.selected_object() else {
            ui.label("Click a chromosome to select it; drag it to another class.");
            return;
        };
        ui.label(RichText::new(format!("Chromosome #{}", o.id)).strong());
        ui.label(format!(
            "class {} (proposed {}) · p arm {} · rotation {}°",
            o.class.map_or("unassigned", ChromosomeClass::label),
            o.proposed.map_or("none", ChromosomeClass::label),
            o.polarity.label(),
            o.rotation_deg
        ));
        if !o.probabilities.is_empty() {
            ui.label(format!("entropy {:.2} nats", entropy(&o.probabilities)));
        }
        let open = o.open_flags();
        if !open.is_empty() {
            let text: Vec<&str> = open.iter().map(|f| flag_text(*f)).collect();
            ui.label(RichText::new(format!("to review: {}", text.join(", "))).color(theme::FLAG));
        }
        ui.horizontal_wrapped(|ui| {
            if ui.button("Flip 180° (V)").clicked() {
                commands.push(AppCommand::Flip(o.id));
            }
            if ui.button("Rotate -15°").clicked() {
                commands.push(AppCommand::Rotate(o.id, -15));
            }
            if ui.button("Rotate +15°").clicked() {
                commands.push(AppCommand::Rotate(o.id, 15));
            }
            if o.rotation_deg != 0 && ui.button("Upright").clicked() {
                commands.push(AppCommand::Rotate(o.id, -o.rotation_deg));
            }
            if let Some(h) = state.homolog_of(o.id)
                && ui.button(format!("Swap with #{h} (W)")).clicked()
            {
                commands.push(AppCommand::Swap(o.id, h));
            }
            if !o.flags.is_empty() {
                let label = if o.accepted {
                    "Withdraw acceptance"
                } else {
                    "Accept as is (A)"
                };
                if ui.button(label).clicked() {
                    commands.push(AppCommand::Accept(o.id));
                }
            }
        });
        if let Some(c) = o.class {
            ui.horizontal(|ui| {
                ui.label("band picker:");
                for kind in [PickKind::Del, PickKind::Dup, PickKind::Inv] {
                    if ui
                        .selectable_label(self.pick_kind == kind, kind.symbol())
                        .clicked()
                    {
                        self.pick_kind = kind;
                    }
                }
            });
            let hint = match &self.pick_start {
                Some((pc, b)) if *pc == c => format!("from {c}{b}: click the end band"),
                _ => format!("click the first band of chromosome {c}"),
            };
            ui.label(RichText::new(hint).small());
            self.band_picker(ui, state, cell, c);
        }
    }

    /// The selected class's ideogram, large, with clickable bands.
    fn band_picker(
        &mut self,
        ui: &mut egui::Ui,
        state: &AppState,
        cell: &OpenCell,
        class: ChromosomeClass,
    ) {
        let ideo = BandTable::get(state.band_level()).ideogram(class);
        let height = 260.0;
        let (rect, response) = ui.allocate_exact_size(vec2(150.0, height), Sense::click());
        let bar = Rect::from_min_size(rect.min + vec2(8.0, 0.0), vec2(18.0, height));
        let painter = ui.painter_at(rect);
        let picked = self.pick_start.as_ref().filter(|(c, _)| *c == class);
        draw_ideogram(&painter, bar, ideo, picked.map(|(_, b)| b.as_str()));
        let len = ideo.length().max(1.0);
        let mut last_label_y = f32::NEG_INFINITY;
        for b in &ideo.bands {
            let y = bar.top() + (((b.start + b.stop) / 2.0 / len) as f32) * height;
            if y - last_label_y >= 10.0 {
                painter.text(
                    Pos2::new(bar.right() + 6.0, y),
                    egui::Align2::LEFT_CENTER,
                    &b.name,
                    egui::FontId::proportional(9.0),
                    ui.visuals().text_color(),
                );
                last_label_y = y;
            }
        }
        if response.clicked()
            && let Some(p) = response.interact_pointer_pos()
        {
            let pos = f64::from((p.y - bar.top()) / height) * len;
            if let Some(band) = ideo.band_at(pos) {
                self.pick_band(cell, ideo, band.name.clone());
            }
        }
    }

    /// A band clicked on `ideo` (the one shown): the first click starts,
    /// the second writes the rearrangement into the editor.
    fn pick_band(&mut self, cell: &OpenCell, ideo: &Ideogram, band: String) {
        let class = ideo.class;
        match self.pick_start.take() {
            Some((c, first)) if c == class => {
                let text = self
                    .iscn
                    .as_ref()
                    .filter(|(m, _)| *m == cell.summary.id)
                    .map_or_else(|| cell.state.karyotype.clone(), |(_, t)| t.clone());
                let (a, b) = order_bands(ideo, &first, &band);
                let breakpoints = if a == b { a.clone() } else { format!("{a}{b}") };
                let item = format!("{}({class})({breakpoints})", self.pick_kind.symbol());
                let sep = if text.trim().is_empty() { "" } else { "," };
                self.iscn = Some((cell.summary.id, format!("{}{sep}{item}", text.trim_end())));
            }
            _ => self.pick_start = Some((class, band)),
        }
    }

    /// The cell karyotype: the automatic proposal, the recorded text and
    /// an editor with live validation.
    fn iscn_ui(
        &mut self,
        ui: &mut egui::Ui,
        state: &AppState,
        cell: &OpenCell,
        commands: &mut Vec<AppCommand>,
    ) {
        ui.label(RichText::new("Cell karyotype").strong());
        let proposal = cell.view.as_ref().map(|v| v.karyotype.to_iscn());
        if let Some(p) = &proposal {
            ui.label(format!("automatic: {p}"));
        }
        ui.label(format!("recorded: {}", cell.state.karyotype));
        if self
            .iscn
            .as_ref()
            .is_none_or(|(m, _)| *m != cell.summary.id)
        {
            self.iscn = Some((cell.summary.id, cell.state.karyotype.clone()));
        }
        let Some((_, text)) = self.iscn.as_mut() else {
            return;
        };
        let label = ui.label("karyotype to record:");
        ui.add(
            egui::TextEdit::singleline(text)
                .id_salt("cell-iscn")
                .font(egui::TextStyle::Monospace)
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id);
        let checked = crate::domain::iscn::check(text);
        let valid = checked.is_valid();
        match checked.errors().next() {
            None => {
                ui.label(RichText::new("valid ISCN").color(theme::VALID));
            }
            Some(issue) => {
                if let Some(at) = issue.offset {
                    // A caret under the offending character.
                    let shown: String = text.chars().take(60).collect();
                    ui.label(RichText::new(shown).monospace());
                    ui.label(
                        RichText::new(format!(
                            "{}^",
                            " ".repeat(crate::app::char_position(text, at))
                        ))
                        .monospace()
                        .color(theme::ERROR),
                    );
                }
                ui.label(
                    RichText::new(format!("invalid: {}", crate::app::issue_text(text, issue)))
                        .color(theme::ERROR),
                );
            }
        }
        for w in checked.warnings() {
            ui.label(RichText::new(format!("note: {}", w.message)).small());
        }
        let changed = text.trim() != cell.state.karyotype;
        ui.horizontal(|ui| {
            if ui
                .add_enabled(
                    valid && changed && !state.case_read_only(),
                    egui::Button::new("Record"),
                )
                .clicked()
            {
                commands.push(AppCommand::SetCellKaryotype(text.trim().to_string()));
            }
            if let Some(p) = &proposal
                && ui.button("Use automatic").clicked()
            {
                *text = p.clone();
            }
            if changed && ui.button("Revert").clicked() {
                *text = cell.state.karyotype.clone();
            }
        });
    }
}

/// Two band names in ISCN order for a breakpoint pair: within one arm,
/// nearer the centromere first (`q31q33`, `p21p13`); across arms, p first.
fn order_bands(ideo: &Ideogram, a: &str, b: &str) -> (String, String) {
    let pos = |name: &str| ideo.band_span(name).map_or(0.0, |(s, e)| (s + e) / 2.0);
    let cen = ideo.centromere();
    let (pa, pb) = (pos(a), pos(b));
    let same_arm = (pa < cen) == (pb < cen);
    let a_first = if same_arm {
        (pa - cen).abs() <= (pb - cen).abs()
    } else {
        pa < pb
    };
    if a_first {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

/// Bands as grey boxes from pter (top) to qter; the centromere pinched;
/// `highlight` (a band name) outlined.
fn draw_ideogram(painter: &egui::Painter, rect: Rect, ideo: &Ideogram, highlight: Option<&str>) {
    let len = ideo.length();
    if len <= 0.0 || rect.height() < 2.0 {
        return;
    }
    let y = |pos: f64| rect.top() + (pos / len) as f32 * rect.height();
    for b in &ideo.bands {
        let shade = (255.0 * (1.0 - b.stain.darkness())).clamp(0.0, 255.0) as u8;
        let inset = if matches!(b.stain, crate::domain::bands::Stain::Acen) {
            rect.width() * 0.3
        } else {
            0.0
        };
        let r = Rect::from_min_max(
            Pos2::new(rect.left() + inset, y(b.start)),
            Pos2::new(rect.right() - inset, y(b.stop).max(y(b.start) + 0.5)),
        );
        painter.rect_filled(r, 0.0, Color32::from_gray(shade));
        if highlight == Some(b.name.as_str()) {
            painter.rect_stroke(
                r,
                0.0,
                Stroke::new(2.0, theme::SELECTION),
                egui::StrokeKind::Outside,
            );
        }
    }
    let arms = [Arm::P, Arm::Q].map(|arm| {
        let bands: Vec<_> = ideo.bands.iter().filter(|b| b.arm == arm).collect();
        (
            bands.first().map_or(0.0, |b| b.start),
            bands.last().map_or(0.0, |b| b.stop),
        )
    });
    for (s, e) in arms {
        painter.rect_stroke(
            Rect::from_min_max(Pos2::new(rect.left(), y(s)), Pos2::new(rect.right(), y(e))),
            2.0,
            Stroke::new(0.8, Color32::from_gray(90)),
            egui::StrokeKind::Inside,
        );
    }
}

/// Open review flags of the cell, most uncertain first; click selects.
fn review_queue_ui(
    ui: &mut egui::Ui,
    state: &AppState,
    cell: &OpenCell,
    commands: &mut Vec<AppCommand>,
) {
    let order = state.review_queue();
    let flagged_total = cell
        .state
        .active()
        .filter(|o| {
            o.flags
                .iter()
                .any(|f| crate::domain::karyogram::edit::REVIEW_FLAGS.contains(f))
        })
        .count();
    ui.horizontal(|ui| {
        ui.label(RichText::new("Review queue").strong());
        ui.label(format!("{} open of {flagged_total} flagged", order.len()));
    });
    if ui.button("Next flagged (F)").clicked() {
        commands.push(AppCommand::NextFlagged);
    }
    for id in order.iter().take(12) {
        let Some(o) = cell.state.objects.get(id) else {
            continue;
        };
        let why: Vec<&str> = o.open_flags().iter().map(|f| flag_text(*f)).collect();
        let text = format!(
            "#{} {} — {}",
            o.id,
            o.class.map_or("?", ChromosomeClass::label),
            why.join(", ")
        );
        if ui
            .selectable_label(state.selection.contains(id), text)
            .clicked()
        {
            commands.push(AppCommand::Select(Some(*id)));
        }
    }
    if order.len() > 12 {
        ui.label(format!("… {} more", order.len() - 12));
    }
}

/// Homolog pairs by difference score, with the differing bands.
fn pairs_ui(ui: &mut egui::Ui, cell: &OpenCell, commands: &mut Vec<AppCommand>) {
    ui.label(RichText::new("Homolog differences").strong());
    let Some(view) = &cell.view else {
        ui.label("measuring…");
        return;
    };
    if view.pairs.is_empty() {
        ui.label("no pairs to compare");
        return;
    }
    for pair in view.pairs.iter().take(8) {
        let bands: Vec<&str> = pair.segments.iter().map(|s| s.bands.as_str()).collect();
        let text = format!(
            "{}: {:.2}{}",
            pair.class,
            pair.score,
            if bands.is_empty() {
                String::new()
            } else {
                format!(" — {}", bands.join(", "))
            }
        );
        ui.horizontal(|ui| {
            let open = [pair.a, pair.b].iter().any(|id| {
                cell.state.objects.get(id).is_some_and(|o| {
                    o.open_flags()
                        .contains(&crate::domain::analysis::ObjectFlag::HomologDiffers)
                })
            });
            let label = if open {
                RichText::new(text).color(theme::FLAG)
            } else {
                RichText::new(text)
            };
            if ui.selectable_label(false, label).clicked() {
                commands.push(AppCommand::Select(Some(pair.a)));
            }
            if open && ui.small_button("Accept pair").clicked() {
                commands.push(AppCommand::AcceptPair(pair.class));
            }
        });
    }
}
