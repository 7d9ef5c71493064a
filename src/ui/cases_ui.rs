//! The case browser: search, status filter, date, open.

use egui::RichText;

use crate::app::{AppCommand, AppState};
use crate::domain::review::CaseStatus;

const STATUSES: [CaseStatus; 5] = [
    CaseStatus::Draft,
    CaseStatus::Analysed,
    CaseStatus::InReview,
    CaseStatus::Signed,
    CaseStatus::Amended,
];

pub fn cases_ui(ui: &mut egui::Ui, state: &AppState, commands: &mut Vec<AppCommand>) {
    egui::CentralPanel::default().show(ui, |ui| {
        ui.horizontal(|ui| {
            ui.label("Search");
            let mut search = state.search.clone();
            let r = ui.add(
                egui::TextEdit::singleline(&mut search)
                    .hint_text("accession, patient name or ID")
                    .desired_width(240.0),
            );
            if r.changed() {
                commands.push(AppCommand::Search(search));
            }
            ui.label("Created");
            let mut day = state.date_filter.clone();
            let r = ui.add(
                egui::TextEdit::singleline(&mut day)
                    .hint_text("YYYY-MM-DD, YYYY-MM or YYYY")
                    .desired_width(150.0),
            );
            if r.changed() {
                commands.push(AppCommand::FilterDate(day));
            }
            let current = state.status_filter.map_or("any", CaseStatus::as_str);
            egui::ComboBox::from_label("Status")
                .selected_text(current)
                .show_ui(ui, |ui| {
                    if ui
                        .selectable_label(state.status_filter.is_none(), "any")
                        .clicked()
                    {
                        commands.push(AppCommand::FilterStatus(None));
                    }
                    for s in STATUSES {
                        if ui
                            .selectable_label(state.status_filter == Some(s), s.as_str())
                            .clicked()
                        {
                            commands.push(AppCommand::FilterStatus(Some(s)));
                        }
                    }
                });
        });
        ui.separator();
        let cases: Vec<_> = state.visible_cases().collect();
        if cases.is_empty() {
            ui.label("No cases match. Create one with “New case…” (Ctrl+N).");
            return;
        }
        egui::ScrollArea::vertical().show(ui, |ui| {
            egui::Grid::new("cases")
                .striped(true)
                .num_columns(7)
                .show(ui, |ui| {
                    for h in [
                        "Accession",
                        "Version",
                        "Status",
                        "Created",
                        "Cells",
                        "Karyotype",
                        "",
                    ] {
                        ui.label(RichText::new(h).strong());
                    }
                    ui.end_row();
                    for c in cases {
                        if ui.link(&c.accession).clicked() {
                            commands.push(AppCommand::OpenCase(c.accession.clone()));
                        }
                        ui.label(c.version.to_string());
                        ui.label(c.status.as_str());
                        ui.label(c.created_at.get(..10).unwrap_or(&c.created_at));
                        ui.label(c.metaphases.to_string());
                        ui.label(if c.karyotype.is_empty() {
                            "—"
                        } else {
                            &c.karyotype
                        });
                        if ui.button("Open").clicked() {
                            commands.push(AppCommand::OpenCase(c.accession.clone()));
                        }
                        ui.end_row();
                    }
                });
        });
    });
}
