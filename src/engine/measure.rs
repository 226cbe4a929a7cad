//! What a run records: per-section sums of the measured requests, response-time histograms,
//! and the time integrals of every backend at the section boundaries.

use super::outcome::{Cause, Outbox};
use crate::stats::ResponseHistogram;

/// Sums over the measured requests of one section (a contiguous range of arrival indices).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Section {
    /// Measured arrivals (accepted or rejected).
    pub arrivals: u64,
    pub rejected: u64,
    /// Measured requests that completed (recorded when their response time became known).
    pub completed: u64,
    /// Measured requests accepted but failed, by [`Cause`] (recorded when they failed).
    pub failed: [u64; Cause::COUNT],
    pub sum_response: f64,
    pub sum_wait: f64,
    pub sum_slowdown: f64,
    /// Length of the section in simulated seconds (between its boundary arrivals).
    pub duration: f64,
    /// ∫ total number in system dt over the section, all backends.
    pub in_system_area: f64,
    /// ∫ busy workers dt over the section, all backends.
    pub busy_area: f64,
}

impl Section {
    pub fn mean_response(&self) -> f64 {
        self.sum_response / self.completed as f64
    }
}

/// Receives completions from the backends.
#[derive(Debug)]
pub struct Recorder {
    pub sections: Vec<Section>,
    /// One histogram per section (empty when histograms are off, as in pilot runs).
    pub histograms: Vec<ResponseHistogram>,
    /// Measured completions per backend.
    pub completed_by_backend: Vec<u64>,
    /// Endings of tracked requests reported by backends as they advanced, for the event
    /// layer to collect (always empty on the fast path). It travels with the recorder
    /// because every backend step already receives it.
    pub outbox: Outbox,
}

impl Recorder {
    pub fn new(sections: usize, backends: usize, histogram_unit: Option<f64>) -> Self {
        Recorder {
            sections: vec![Section::default(); sections],
            histograms: histogram_unit.map(|u| vec![ResponseHistogram::new(u); sections]).unwrap_or_default(),
            completed_by_backend: vec![0; backends],
            outbox: Outbox::default(),
        }
    }

    /// A measured request of section `label` finished at backend `backend`.
    #[inline]
    pub fn complete(&mut self, label: u32, backend: u32, response: f64, wait: f64, service: f64) {
        let s = &mut self.sections[label as usize];
        s.completed += 1;
        s.sum_response += response;
        s.sum_wait += wait;
        s.sum_slowdown += response / service;
        if let Some(h) = self.histograms.get_mut(label as usize) {
            h.record(response);
        }
        self.completed_by_backend[backend as usize] += 1;
    }

    /// A measured request of section `label` failed for `cause` (it has no response time).
    #[inline]
    pub fn fail(&mut self, label: u32, cause: Cause) {
        self.sections[label as usize].failed[cause as usize] += 1;
    }
}
