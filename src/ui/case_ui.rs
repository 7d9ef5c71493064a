//! The case view: the gallery of the case's cells (thumbnail, count,
//! quality, review state), cells that failed to import, and the summary.

use std::collections::BTreeMap;

use egui::RichText;

use crate::app::{AppCommand, AppState};
use crate::domain::ids::MetaphaseId;

use super::theme;

pub fn case_ui(
    ui: &mut egui::Ui,
    state: &AppState,
    thumbs: &BTreeMap<MetaphaseId, egui::TextureHandle>,
    commands: &mut Vec<AppCommand>,
) {
    let Some(case) = &state.case else {
        return;
    };
    egui::Panel::right("case-summary")
        .default_size(theme::SIDE_PANEL_WIDTH)
        .show(ui, |ui| {
            let s = &case.summary;
            ui.heading(&s.accession);
            ui.label(format!("version {} · {}", s.version, s.status));
            if let Some(spec) = &case.specimen {
                ui.label(format!("specimen: {spec}"));
            }
            ui.label(format!("band level: {}", case.band_level.unwrap_or(400)));
            ui.separator();
            let counted = case.metaphases.len();
            let analysed = case.metaphases.iter().filter(|m| m.analysed).count();
            ui.label(format!("cells counted: {counted}, analysed: {analysed}"));
            let flagged: u32 = case.metaphases.iter().map(|m| m.unresolved_entropy).sum();
            ui.label(format!("unresolved uncertain objects: {flagged}"));
            ui.separator();
            ui.label(RichText::new("Cell karyotypes").strong());
            let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
            for m in &case.metaphases {
                *tally.entry(m.karyotype.as_str()).or_default() += 1;
            }
            for (k, n) in tally {
                ui.label(format!("{k} [{n}]"));
            }
            ui.separator();
            ui.label(RichText::new("Case karyotype").strong());
            ui.label(if s.karyotype.is_empty() {
                "not yet recorded"
            } else {
                &s.karyotype
            });
            if let Some(sign) = &case.sign_off {
                ui.label(format!("signed by {} at {}", sign.user, sign.at));
            }
        });
    egui::CentralPanel::default().show(ui, |ui| {
        let failed = state.failed_cells.get(&case.summary.accession);
        if case.metaphases.is_empty() && failed.is_none_or(Vec::is_empty) {
            ui.label("No cells yet: import images (Ctrl+O) or drop files or a folder here.");
        }
        let per_row = ((ui.available_width() / (theme::THUMB_SIZE + 12.0)) as usize).max(1);
        egui::ScrollArea::vertical().show(ui, |ui| {
            for row in case.metaphases.chunks(per_row) {
                ui.horizontal_top(|ui| {
                    for m in row {
                        let tile = ui.vertical(|ui| {
                            ui.set_width(theme::THUMB_SIZE);
                            let clicked = match thumbs.get(&m.id) {
                                Some(t) => {
                                    let size = t.size_vec2();
                                    let scale = theme::THUMB_SIZE / size.x.max(size.y).max(1.0);
                                    ui.add(
                                        egui::Image::new((t.id(), size * scale))
                                            .sense(egui::Sense::click()),
                                    )
                                    .clicked()
                                }
                                None => {
                                    let (r, resp) = ui.allocate_exact_size(
                                        egui::vec2(theme::THUMB_SIZE, theme::THUMB_SIZE * 0.75),
                                        egui::Sense::click(),
                                    );
                                    ui.painter()
                                        .rect_filled(r, 4.0, ui.visuals().faint_bg_color);
                                    resp.clicked()
                                }
                            };
                            ui.label(RichText::new(&m.source_name).small());
                            ui.label(format!("{} objects · {}", m.objects, m.karyotype));
                            let quality = m.quality.map_or_else(
                                || "quality —".to_string(),
                                |q| format!("quality {q:.2}"),
                            );
                            ui.label(RichText::new(quality).small());
                            let review = if m.unresolved_entropy > 0 {
                                RichText::new(format!("{} to review", m.unresolved_entropy))
                                    .color(theme::FLAG)
                            } else {
                                RichText::new("reviewed").color(ui.visuals().weak_text_color())
                            };
                            ui.label(review);
                            let open = ui.button("Open").clicked();
                            clicked || open
                        });
                        if tile.inner {
                            commands.push(AppCommand::OpenMetaphase(m.id));
                        }
                        ui.add_space(12.0);
                    }
                });
                ui.add_space(8.0);
            }
            ui.horizontal_wrapped(|ui| {
                for f in failed.into_iter().flatten() {
                    ui.vertical(|ui| {
                        ui.set_width(theme::THUMB_SIZE);
                        ui.label(RichText::new("Not imported").color(theme::ERROR).strong());
                        ui.label(RichText::new(&f.file).small());
                        ui.label(RichText::new(&f.reason).small());
                    });
                    ui.add_space(8.0);
                }
            });
        });
    });
}
