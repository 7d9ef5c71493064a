//! The case view: the gallery of the case's cells (thumbnail, count,
//! quality, review state), cells that failed to import, and the summary.

use std::collections::BTreeMap;

use egui::RichText;

use crate::app::{AppCommand, AppState};
use crate::domain::ids::MetaphaseId;
use crate::domain::iscn::check;
use crate::domain::review::{UnmetRule, describe_unmet};

use super::theme;

/// The sign-off dialog's and the amendment's text fields.
#[derive(Default)]
pub struct SignOffForm {
    /// The case the fields were filled for.
    case: Option<crate::domain::ids::CaseId>,
    pub karyotype: String,
    pub reason: String,
    pub amend_reason: String,
}

pub fn case_ui(
    ui: &mut egui::Ui,
    state: &AppState,
    thumbs: &BTreeMap<MetaphaseId, egui::TextureHandle>,
    form: &mut SignOffForm,
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
            let flagged: u32 = case.metaphases.iter().map(|m| m.unresolved_flags).sum();
            ui.label(format!("unresolved uncertain objects: {flagged}"));
            ui.separator();
            // The case karyotype and its sign-off stay in sight however long
            // the clonality list grows.
            egui::Panel::bottom("case-sign-off")
                .resizable(false)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical()
                        .id_salt("case-sign-off")
                        .max_height(ui.ctx().content_rect().height() * 0.35)
                        .show(ui, |ui| case_sign_off_ui(ui, state, form, commands));
                });
            egui::ScrollArea::vertical()
                .id_salt("clonality")
                .show(ui, |ui| clonality_ui(ui, state));
        });
    egui::CentralPanel::default().show(ui, |ui| {
        if case.metaphases.is_empty() && case.failed_imports.is_empty() {
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
                            let review = if m.unresolved_flags > 0 {
                                RichText::new(format!("{} to review", m.unresolved_flags))
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
            let read_only = case.summary.status.is_read_only();
            ui.horizontal_wrapped(|ui| {
                for f in &case.failed_imports {
                    ui.vertical(|ui| {
                        ui.set_width(theme::THUMB_SIZE);
                        ui.label(RichText::new("Not imported").color(theme::ERROR).strong());
                        ui.label(RichText::new(&f.file).small());
                        ui.label(RichText::new(&f.reason).small());
                        ui.label(
                            RichText::new(format!(
                                "{} · {}",
                                f.user,
                                f.at.get(..16).unwrap_or(&f.at).replace('T', " ")
                            ))
                            .small()
                            .color(ui.visuals().weak_text_color()),
                        );
                        let dismiss = ui
                            .add_enabled(!read_only, egui::Button::new("Dismiss"))
                            .on_hover_text("remove this tile from the case (recorded)");
                        if dismiss.clicked() {
                            commands.push(AppCommand::DismissFailedImport(f.id));
                        }
                    });
                    ui.add_space(8.0);
                }
            });
        });
    });
}

/// The clonality assessment: cells with a karyotype, the clones, the normal
/// line, single abnormal cells and the proposed case karyotype.
fn clonality_ui(ui: &mut egui::Ui, state: &AppState) {
    let k = &state.assessment;
    ui.label(RichText::new("Clonality").strong());
    ui.label(format!(
        "{} cells with a karyotype, {} analysed",
        k.counted, k.analysed
    ));
    for line in &k.clones {
        ui.label(format!("clone {} [{}]", line.karyotype, line.cells.len()));
    }
    if let Some(n) = &k.normal {
        ui.label(format!("normal {} [{}]", n.karyotype, n.cells.len()));
    }
    if !k.non_clonal.is_empty() {
        ui.label(RichText::new("Single abnormal cells (not clonal)").strong());
        for c in &k.non_clonal {
            ui.label(format!(
                "{}: {} ({})",
                c.label,
                c.karyotype,
                c.changes.join(", ")
            ));
        }
    }
    for u in &k.unparsed {
        ui.label(
            RichText::new(format!(
                "{}: {} not used: {}",
                u.label, u.karyotype, u.reason
            ))
            .color(theme::WARNING),
        );
    }
    ui.label(format!(
        "proposed: {}",
        match &k.proposed {
            Some(p) => p.as_str(),
            None if k.counted == 0 => "no cell karyotypes yet",
            None => "none: no clone and no normal cell",
        }
    ));
}

/// The recorded case karyotype, its sign-off, amendments and versions.
fn case_sign_off_ui(
    ui: &mut egui::Ui,
    state: &AppState,
    form: &mut SignOffForm,
    commands: &mut Vec<AppCommand>,
) {
    let Some(case) = &state.case else {
        return;
    };
    let s = &case.summary;
    ui.label(RichText::new("Case karyotype").strong());
    ui.label(if s.karyotype.is_empty() {
        "not yet recorded"
    } else {
        &s.karyotype
    });
    if let Some(sign) = &case.sign_off {
        ui.label(format!("signed by {} at {}", sign.user, sign.at));
        if let Some(r) = &sign.reason {
            ui.label(format!("reason: {r}"));
        }
    }
    if state.case_read_only() {
        let label = ui.label("Amend (opens a new version; this one stays as signed):");
        ui.add(
            egui::TextEdit::singleline(&mut form.amend_reason)
                .id_salt("amend-reason")
                .hint_text("reason for the amendment"),
        )
        .labelled_by(label.id);
        if ui
            .add_enabled(
                !form.amend_reason.trim().is_empty(),
                egui::Button::new("Amend"),
            )
            .clicked()
        {
            commands.push(AppCommand::Amend(form.amend_reason.trim().to_string()));
            form.amend_reason.clear();
        }
    } else if ui.button("Sign off…").clicked() {
        form.case = None;
        commands.push(AppCommand::OpenSignOff);
    }
    if case.versions.len() > 1 {
        ui.separator();
        ui.label(RichText::new("Versions").strong());
        for v in &case.versions {
            ui.label(format!(
                "v{} · {} · {}",
                v.version,
                v.status,
                if v.karyotype.is_empty() {
                    "—"
                } else {
                    &v.karyotype
                }
            ));
        }
        if let Some(reason) = &case.amend_reason {
            ui.label(format!("amended because: {reason}"));
        }
    }
}

/// The sign-off dialog: the rules and whether they are met, who signs, the
/// final karyotype (validated as typed) and a reason when cells are short.
pub fn sign_off_ui(
    ctx: &egui::Context,
    state: &AppState,
    form: &mut SignOffForm,
    commands: &mut Vec<AppCommand>,
) {
    let (Some(view), Some(case)) = (&state.sign_off, &state.case) else {
        return;
    };
    if form.case != Some(case.summary.id) {
        form.case = Some(case.summary.id);
        form.karyotype = if case.summary.karyotype.is_empty() {
            state.assessment.proposed.clone().unwrap_or_default()
        } else {
            case.summary.karyotype.clone()
        };
        form.reason.clear();
    }
    let mut open = true;
    egui::Window::new(format!("Sign off {}", case.summary.accession))
        .collapsible(false)
        .resizable(false)
        .open(&mut open)
        .show(ctx, |ui| {
            let rules = &view.rules;
            let counted = case.metaphases.len();
            let analysed = case.metaphases.iter().filter(|m| m.analysed).count();
            let flags: u32 = case.metaphases.iter().map(|m| m.unresolved_flags).sum();
            let mark = |ok: bool| if ok { "[ok]" } else { "[not met]" };
            ui.label(RichText::new("Rules").strong());
            ui.label(format!(
                "{} cells counted: {counted} (at least {})",
                mark(counted >= rules.min_counted),
                rules.min_counted
            ));
            ui.label(format!(
                "{} cells analysed: {analysed} (at least {})",
                mark(analysed >= rules.min_analysed),
                rules.min_analysed
            ));
            ui.label(format!(
                "{} open review flags: {flags} (none allowed)",
                mark(flags == 0)
            ));
            ui.label(if rules.two_person {
                format!(
                    "{} two-person rule: the signer may not have analysed the case",
                    mark(
                        !view
                            .unmet
                            .iter()
                            .any(|u| matches!(u, UnmetRule::SignerIsAnalyst { .. }))
                    )
                )
            } else {
                "two-person rule: off (Settings)".to_string()
            });
            if !view.unmet.is_empty() {
                ui.label(
                    RichText::new(format!("Not met: {}", describe_unmet(&view.unmet)))
                        .color(theme::ERROR),
                );
            }
            ui.separator();
            ui.label(format!("Signing as: {}", state.prefs.user));
            ui.label(format!(
                "Clonality proposes: {}",
                state.assessment.proposed.as_deref().unwrap_or("—")
            ));
            let label = ui.label("Final karyotype:");
            ui.add(
                egui::TextEdit::singleline(&mut form.karyotype)
                    .id_salt("final-karyotype")
                    .font(egui::TextStyle::Monospace)
                    .desired_width(360.0),
            )
            .labelled_by(label.id);
            let checked = check(&form.karyotype);
            let valid = checked.is_valid() && !form.karyotype.trim().is_empty();
            match checked.errors().next() {
                Some(issue) => {
                    ui.label(
                        RichText::new(format!(
                            "invalid: {}",
                            crate::app::issue_text(&form.karyotype, issue)
                        ))
                        .color(theme::ERROR),
                    );
                }
                None if valid => {
                    ui.label(RichText::new("valid ISCN").color(theme::VALID));
                }
                None => {}
            }
            let label = ui.label("Reason (needed to sign below the minimum cell counts):");
            ui.add(
                egui::TextEdit::singleline(&mut form.reason)
                    .id_salt("sign-reason")
                    .desired_width(360.0),
            )
            .labelled_by(label.id);
            ui.horizontal(|ui| {
                if ui.add_enabled(valid, egui::Button::new("Sign")).clicked() {
                    let reason = form.reason.trim();
                    commands.push(AppCommand::Sign {
                        karyotype: form.karyotype.trim().to_string(),
                        reason: (!reason.is_empty()).then(|| reason.to_string()),
                    });
                }
                if ui.button("Cancel").clicked() {
                    commands.push(AppCommand::CloseSignOff);
                }
            });
        });
    if !open {
        commands.push(AppCommand::CloseSignOff);
    }
}
