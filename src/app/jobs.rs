//! Background jobs: imports, image decoding, thumbnails, the derived view
//! of a cell and the classification of corrected masks run on a tokio
//! runtime's blocking pool, never on the UI
//! thread. A job reports through a channel that the app drains once per
//! frame; it can be cancelled between steps; results carry what they were
//! computed for so that stale ones are dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::domain::ids::MetaphaseId;
use crate::domain::karyogram::cell_view::CellView;
use crate::domain::modality::Modality;
use crate::domain::raster::GrayImage;

/// Identifies a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u64);

/// What a job reports.
#[derive(Debug)]
pub enum JobEvent {
    Progress {
        job: JobId,
        done: usize,
        total: usize,
        label: String,
    },
    /// A file of an import was not imported (and, `recorded`, its record
    /// is in the case).
    ImportFailed {
        job: JobId,
        file: String,
        reason: String,
        recorded: bool,
    },
    /// A cell was stored.
    Imported { job: JobId, metaphase: MetaphaseId },
    /// The job ended; `problem` says why when it failed as a whole.
    Finished { job: JobId, problem: Option<String> },
    CellImage {
        metaphase: MetaphaseId,
        result: Result<(GrayImage, Modality), String>,
    },
    Thumbnail {
        metaphase: MetaphaseId,
        result: Result<GrayImage, String>,
    },
    Derived {
        metaphase: MetaphaseId,
        generation: u64,
        view: Box<CellView>,
    },
    /// The masks of a correction, classified (see `Correction::masks`).
    Classified {
        metaphase: MetaphaseId,
        generation: u64,
        predictions: Vec<Option<crate::domain::classify::Prediction>>,
    },
}

/// A running job as the UI shows it.
#[derive(Debug, Clone)]
pub struct JobInfo {
    pub id: JobId,
    pub title: String,
    pub done: usize,
    pub total: usize,
    pub label: String,
    /// Shown with a progress bar (quick internal jobs are not).
    pub visible: bool,
    pub started: Instant,
    cancel: Arc<AtomicBool>,
}

impl JobInfo {
    pub fn fraction(&self) -> f32 {
        if self.total == 0 {
            0.0
        } else {
            self.done as f32 / self.total as f32
        }
    }

    pub fn cancel_requested(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// Wakes the UI when a job has news (egui's `request_repaint`).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// A job's handle on its own progress and cancellation.
pub struct JobCtx {
    pub id: JobId,
    tx: UnboundedSender<JobEvent>,
    cancel: Arc<AtomicBool>,
    waker: Waker,
}

impl JobCtx {
    pub fn send(&self, event: JobEvent) {
        // The receiver only goes away when the app closes: nothing to do then.
        let _ = self.tx.send(event);
        (self.waker)();
    }

    pub fn progress(&self, done: usize, total: usize, label: impl Into<String>) {
        self.send(JobEvent::Progress {
            job: self.id,
            done,
            total,
            label: label.into(),
        });
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

/// The job runner.
pub struct Jobs {
    runtime: tokio::runtime::Runtime,
    tx: UnboundedSender<JobEvent>,
    rx: UnboundedReceiver<JobEvent>,
    next: u64,
    waker: Waker,
    running: Vec<JobInfo>,
}

impl Jobs {
    /// # Errors
    /// When the runtime's threads cannot be started.
    pub fn new(waker: Waker) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(4)
            .thread_name("karyostation-job")
            .enable_time()
            .build()?;
        let (tx, rx) = unbounded_channel();
        Ok(Self {
            runtime,
            tx,
            rx,
            next: 1,
            waker,
            running: Vec::new(),
        })
    }

    /// Replaces the waker (the window's context arrives after start-up).
    pub fn set_waker(&mut self, waker: Waker) {
        self.waker = waker;
    }

    /// Starts `work` on the blocking pool.
    pub fn spawn(
        &mut self,
        title: impl Into<String>,
        visible: bool,
        work: impl FnOnce(&JobCtx) -> Option<String> + Send + 'static,
    ) -> JobId {
        let id = JobId(self.next);
        self.next += 1;
        let cancel = Arc::new(AtomicBool::new(false));
        self.running.push(JobInfo {
            id,
            title: title.into(),
            done: 0,
            total: 0,
            label: String::new(),
            visible,
            started: Instant::now(),
            cancel: cancel.clone(),
        });
        let ctx = JobCtx {
            id,
            tx: self.tx.clone(),
            cancel,
            waker: self.waker.clone(),
        };
        self.runtime.spawn_blocking(move || {
            let problem = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&ctx)))
                .unwrap_or_else(|_| Some("the job stopped on an internal error".to_string()));
            ctx.send(JobEvent::Finished { job: id, problem });
        });
        id
    }

    /// Asks a job to stop at its next step.
    pub fn cancel(&self, id: JobId) {
        if let Some(j) = self.running.iter().find(|j| j.id == id) {
            j.cancel.store(true, Ordering::Relaxed);
        }
    }

    /// Jobs still running, oldest first.
    pub fn running(&self) -> &[JobInfo] {
        &self.running
    }

    /// Everything reported since the last poll (never blocks).
    pub fn poll(&mut self) -> Vec<JobEvent> {
        let mut out = Vec::new();
        while let Ok(event) = self.rx.try_recv() {
            self.track(&event);
            out.push(event);
        }
        out
    }

    /// Waits until no job is running or `timeout` passes (tests, shutdown).
    pub fn wait_idle(&mut self, timeout: Duration) -> Vec<JobEvent> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        while !self.running.is_empty() && Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self
                .runtime
                .block_on(async { tokio::time::timeout(left, self.rx.recv()).await });
            match event {
                Ok(Some(e)) => {
                    self.track(&e);
                    out.push(e);
                }
                _ => break,
            }
        }
        out.extend(self.poll());
        out
    }

    fn track(&mut self, event: &JobEvent) {
        match event {
            JobEvent::Progress {
                job,
                done,
                total,
                label,
            } => {
                if let Some(j) = self.running.iter_mut().find(|j| j.id == *job) {
                    j.done = *done;
                    j.total = *total;
                    j.label.clone_from(label);
                }
            }
            JobEvent::Finished { job, .. } => self.running.retain(|j| j.id != *job),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jobs() -> Jobs {
        Jobs::new(Arc::new(|| {})).unwrap()
    }

    #[test]
    fn progress_arrives_in_order_and_the_job_finishes() {
        let mut jobs = jobs();
        let id = jobs.spawn("count", true, |ctx| {
            for i in 0..5 {
                ctx.progress(i + 1, 5, format!("step {i}"));
            }
            None
        });
        let events = jobs.wait_idle(Duration::from_secs(10));
        let done: Vec<usize> = events
            .iter()
            .filter_map(|e| match e {
                JobEvent::Progress { job, done, .. } if *job == id => Some(*done),
                _ => None,
            })
            .collect();
        assert_eq!(done, vec![1, 2, 3, 4, 5]);
        assert!(matches!(
            events.last(),
            Some(JobEvent::Finished { problem: None, .. })
        ));
        assert!(jobs.running().is_empty());
    }

    #[test]
    fn a_cancelled_job_stops_between_steps() {
        let mut jobs = jobs();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let id = jobs.spawn("long", true, move |ctx| {
            let _ = go_rx.recv();
            for i in 0..1000 {
                if ctx.cancelled() {
                    return Some(format!("cancelled after {i} steps"));
                }
                ctx.progress(i, 1000, "");
            }
            None
        });
        jobs.cancel(id);
        go_tx.send(()).unwrap();
        let events = jobs.wait_idle(Duration::from_secs(10));
        assert!(events.iter().any(|e| matches!(
            e,
            JobEvent::Finished { problem: Some(p), .. } if p.starts_with("cancelled after 0")
        )));
    }

    #[test]
    fn a_panicking_job_is_reported_not_fatal() {
        let mut jobs = jobs();
        jobs.spawn("bad", false, |_| panic!("boom"));
        let events = jobs.wait_idle(Duration::from_secs(10));
        assert!(events.iter().any(|e| matches!(
            e,
            JobEvent::Finished { problem: Some(p), .. } if p.contains("internal error")
        )));
    }
}
