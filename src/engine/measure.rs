//! What a run records: per-section sums of the measured requests, response-time histograms,
//! and the time integrals of every backend at the section boundaries.

use super::outcome::{Cause, Outbox};
use super::series::SeriesRecorder;
use crate::stats::{HistogramBuffer, ResponseHistogram};

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
    /// Σ time from arrival to failure of the failed requests (for Little's law with failures).
    pub sum_failed_sojourn: f64,
    /// Hedged second copies sent for measured requests.
    pub hedges: u64,
    pub sum_response: f64,
    pub sum_wait: f64,
    pub sum_slowdown: f64,
    /// Length of the section in simulated seconds (between its boundary arrivals).
    pub duration: f64,
    /// ∫ total number in system dt over the section, all backends.
    pub in_system_area: f64,
    /// ∫ busy workers × their speed dt over the section, all backends.
    pub busy_area: f64,
    /// Attempts beyond each measured request's first (the balancer's retries on another
    /// backend): attempts per request = 1 + retries ÷ arrivals.
    pub retries: u64,
    /// Attempts of measured requests the balancer took back out of their backend (or off
    /// the network) before they ended: timed out with the client's `cancel`, or the losing
    /// copy of a hedged request with `hedge_cancel`. Not completions, not failures.
    pub cancelled: u64,
}

impl Section {
    pub fn mean_response(&self) -> f64 {
        self.sum_response / self.completed as f64
    }

    /// The sums of `self` and `other` (two sections as one).
    pub fn plus(&self, other: &Section) -> Section {
        let (a, s) = (self, other);
        Section {
            arrivals: a.arrivals + s.arrivals,
            rejected: a.rejected + s.rejected,
            completed: a.completed + s.completed,
            failed: std::array::from_fn(|c| a.failed[c] + s.failed[c]),
            sum_failed_sojourn: a.sum_failed_sojourn + s.sum_failed_sojourn,
            hedges: a.hedges + s.hedges,
            sum_response: a.sum_response + s.sum_response,
            sum_wait: a.sum_wait + s.sum_wait,
            sum_slowdown: a.sum_slowdown + s.sum_slowdown,
            duration: a.duration + s.duration,
            in_system_area: a.in_system_area + s.in_system_area,
            busy_area: a.busy_area + s.busy_area,
            retries: a.retries + s.retries,
            cancelled: a.cancelled + s.cancelled,
        }
    }
}

/// What a run counts per backend, both touched by every measured request sent there, so
/// kept side by side (one cache line on a cluster too large for the caches).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    /// Measured requests completed.
    pub completed: u64,
    /// Work (seconds at speed 1) of the measured requests sent here, accepted or not.
    pub offered_work: f64,
}

/// Most requests [`Recorder::record_block`] takes at once.
pub const MAX_BLOCK: usize = 64;

/// Receives completions from the backends.
#[derive(Debug)]
pub struct Recorder {
    pub sections: Vec<Section>,
    /// One histogram per section (empty when histograms are off, as in pilot runs). Read
    /// them after [`Recorder::flush`].
    pub histograms: Vec<ResponseHistogram>,
    /// Per backend: measured completions and offered work.
    pub by_backend: Vec<Tally>,
    /// Responses of section `buffer_label` not yet in its histogram, counted in the
    /// histogram's own buckets (a few nanoseconds a request, where hdrhistogram's record
    /// costs several times that); added to the histogram when a later section's first
    /// response comes and at [`Recorder::flush`], with the same result as recording each
    /// response into it. A response of an earlier section (out of order, from a backend
    /// that finishes requests out of arrival order) goes straight into its histogram.
    buffer: Option<HistogramBuffer>,
    buffer_label: u32,
    /// Endings of tracked requests reported by backends as they advanced, for the event
    /// layer to collect (always empty on the fast path). It travels with the recorder
    /// because every backend step already receives it.
    pub outbox: Outbox,
    /// Counts over time, when the run was asked for a series (the event layer records).
    pub series: Option<SeriesRecorder>,
    /// Per backend, the responses of measured completions that the balancer recorded itself
    /// (the event layer's recording path, where backends see only unmeasured requests):
    /// (sum, histogram) for the backends that report their own responses (stations), `None`
    /// for the others; empty when nobody asked.
    pub backend_responses: Vec<Option<(f64, ResponseHistogram)>>,
}

impl Recorder {
    /// A recorder of `sections` sections; with `histogram_span` = (mean service time on the
    /// fastest backend, on the slowest), one response histogram per section.
    pub fn new(sections: usize, backends: usize, histogram_span: Option<(f64, f64)>) -> Self {
        let histograms: Vec<ResponseHistogram> = histogram_span
            // Each made afresh rather than cloned: a fresh histogram's counters are zeroed
            // memory the system hands over untouched, so a section's histogram costs only the
            // pages its responses reach (a clone writes every page of every one).
            .map(|(fast, slow)| (0..sections).map(|_| ResponseHistogram::spanning(fast, slow)).collect())
            .unwrap_or_default();
        Recorder {
            sections: vec![Section::default(); sections],
            buffer: histograms.first().map(ResponseHistogram::buffer),
            histograms,
            by_backend: vec![Tally::default(); backends],
            buffer_label: 0,
            outbox: Outbox::default(),
            series: None,
            backend_responses: Vec::new(),
        }
    }

    /// A measured completion at backend `backend` that the balancer recorded (see
    /// [`Recorder::backend_responses`]).
    #[inline]
    pub fn backend_response(&mut self, backend: usize, response: f64) {
        if let Some(Some((sum, histogram))) = self.backend_responses.get_mut(backend) {
            *sum += response;
            histogram.record(response);
        }
    }

    /// Mean and p99 of the responses the balancer recorded for backend `backend`, if any.
    pub fn backend_response_summary(&self, backend: usize) -> Option<(f64, f64)> {
        let (sum, histogram) = self.backend_responses.get(backend)?.as_ref()?;
        let n = histogram.len();
        (n > 0).then(|| (sum / n as f64, histogram.quantile(0.99)))
    }

    /// A measured request of section `label` finished at backend `backend`.
    #[inline(always)]
    pub fn complete(&mut self, label: u32, backend: u32, response: f64, wait: f64, service: f64) {
        self.complete_section(label, response, wait, service);
        self.by_backend[backend as usize].completed += 1;
    }

    /// [`Recorder::complete`] but for the backend's count, which the backend keeps itself
    /// (an FCFS backend: [`super::Backend::tally`]).
    #[inline(always)]
    pub fn complete_section(&mut self, label: u32, response: f64, wait: f64, service: f64) {
        let s = &mut self.sections[label as usize];
        s.completed += 1;
        s.sum_response += response;
        s.sum_wait += wait;
        s.sum_slowdown += response / service;
        if let Some(buffer) = &mut self.buffer {
            if label == self.buffer_label {
                buffer.record(response);
            } else {
                self.record_other(label, response);
            }
        }
    }

    /// The measured requests of one block, all of section `label`, each recorded as
    /// [`Recorder::complete_section`] records it: request j waited `wait[j]` and was served
    /// `service[j]` seconds (NaN `wait[j]`: it was rejected). The sums take the requests in
    /// order, so they are, bit for bit, those of recording them one at a time. Counts the
    /// rejected in the section and returns how many there were (the caller counts them per
    /// backend; the backends count what was sent to them). At most [`MAX_BLOCK`] requests.
    /// (The engine records a block of the buffer's section as it admits it,
    /// [`Recorder::open_block`]; this is the route of a section's first block and of runs
    /// without histograms.)
    #[inline]
    pub fn record_block(&mut self, label: u32, wait: &[f64], service: &[f64]) -> u64 {
        let n = wait.len();
        assert!(n <= MAX_BLOCK && service.len() == n);
        let rejected = wait.iter().filter(|w| w.is_nan()).count();
        let s = &mut self.sections[label as usize];
        // The sums in registers through the loop, added to in the same order as ever.
        let (mut sum_response, mut sum_wait, mut sum_slowdown) = (s.sum_response, s.sum_wait, s.sum_slowdown);
        let completed = n - rejected;
        let mut responses = [0.0; MAX_BLOCK];
        let mut add = |slot: &mut f64, wait: f64, service: f64| {
            let response = wait + service;
            sum_response += response;
            sum_wait += wait;
            sum_slowdown += response / service;
            *slot = response;
        };
        if rejected == 0 {
            // (No branch in the loop: the usual block.)
            for ((slot, &wait), &service) in responses.iter_mut().zip(wait).zip(service) {
                add(slot, wait, service);
            }
        } else {
            let accepted = wait.iter().zip(service).filter(|(w, _)| !w.is_nan());
            for (slot, (&wait, &service)) in responses.iter_mut().zip(accepted) {
                add(slot, wait, service);
            }
        }
        (s.sum_response, s.sum_wait, s.sum_slowdown) = (sum_response, sum_wait, sum_slowdown);
        s.completed += completed as u64;
        let rejected = rejected as u64;
        s.rejected += rejected;
        let responses = &responses[..completed];
        match &mut self.buffer {
            Some(buffer) if label == self.buffer_label => buffer.record_all(responses),
            // (Only a section's first block: `record_other` moves the buffer to it.)
            Some(_) => responses.iter().for_each(|&r| self.record_other(label, r)),
            None => {}
        }
        rejected
    }

    /// A block of at most `count` requests of section `label` to record as they are
    /// admitted, one at a time ([`OpenBlock::answered`], [`OpenBlock::rejected`]), with the
    /// same result as [`Recorder::record_block`] and the sums in registers meanwhile; `None`
    /// unless the section is the histogram buffer's (then `record_block`).
    #[inline]
    pub fn open_block(&mut self, label: u32, count: usize) -> Option<OpenBlock> {
        if label != self.buffer_label || count > MAX_BLOCK || self.buffer.is_none() {
            return None;
        }
        let section = &self.sections[label as usize];
        let sums = (section.sum_response, section.sum_wait, section.sum_slowdown);
        Some(OpenBlock { label, count, sums, rejected: 0 })
    }

    /// Records the response of a section other than the buffer's.
    #[cold]
    fn record_other(&mut self, label: u32, response: f64) {
        if label > self.buffer_label {
            self.flush();
            self.buffer_label = label;
            if let Some(buffer) = &mut self.buffer {
                buffer.record(response);
            }
        } else {
            self.histograms[label as usize].record(response);
        }
    }

    /// A measured request of work `work` was sent to backend `backend` (accepted or not).
    #[inline]
    pub fn offer(&mut self, backend: usize, work: f64) {
        self.by_backend[backend].offered_work += work;
    }

    /// Adds the buffered responses to their histogram.
    pub fn flush(&mut self) {
        if let (Some(buffer), Some(h)) = (&mut self.buffer, self.histograms.get_mut(self.buffer_label as usize)) {
            buffer.drain_into(h);
        }
    }

    /// A measured request of section `label` failed for `cause` (it has no response time).
    #[inline]
    pub fn fail(&mut self, label: u32, cause: Cause) {
        self.sections[label as usize].failed[cause as usize] += 1;
    }
}

/// A block being recorded as it is admitted ([`Recorder::open_block`]): its sums, kept in
/// registers meanwhile, and which requests were turned away. [`OpenBlock::close`] writes
/// them and the block's responses into the recorder. The responses are the caller's array
/// (on its stack: a store into memory the recorder owns may, for all the compiler knows, be
/// one of the sums, and an array indexed at run time inside the block would keep the whole
/// block in memory), written by [`OpenBlock::answered`].
pub struct OpenBlock {
    label: u32,
    /// The block's requests.
    count: usize,
    /// Σ response, Σ wait, Σ slowdown so far, the section's included.
    sums: (f64, f64, f64),
    /// Bit j: request j was turned away.
    rejected: u64,
}

impl OpenBlock {
    /// Request `j` (the next, in order) waited `wait` and was served `service` seconds; its
    /// response goes to `responses[j]`.
    #[inline(always)]
    pub fn answered(&mut self, j: usize, wait: f64, service: f64, responses: &mut [f64; MAX_BLOCK]) {
        let response = wait + service;
        self.sums.0 += response;
        self.sums.1 += wait;
        self.sums.2 += response / service;
        responses[j % MAX_BLOCK] = response;
    }

    /// Request `j` (the next, in order) was turned away.
    #[inline(always)]
    pub fn rejected(&mut self, j: usize) {
        self.rejected |= 1 << j;
    }

    /// Writes the block's sums and counts into its section, and its `responses` (those
    /// [`OpenBlock::answered`] wrote) into the histogram buffer.
    #[inline]
    pub fn close(self, rec: &mut Recorder, responses: &[f64; MAX_BLOCK]) {
        let s = &mut rec.sections[self.label as usize];
        let rejected = self.rejected.count_ones() as usize;
        (s.sum_response, s.sum_wait, s.sum_slowdown) = self.sums;
        s.completed += (self.count - rejected) as u64;
        s.rejected += rejected as u64;
        let buffer = rec.buffer.as_mut().expect("an open block records into the histogram buffer");
        let room = buffer.reserve(self.count);
        let responses = &responses[..self.count];
        if rejected == 0 {
            room[..self.count].copy_from_slice(responses);
        } else {
            // (Rare: a full backlog.)
            let kept = responses.iter().enumerate().filter(|(j, _)| self.rejected & (1 << j) == 0);
            for (slot, (_, &response)) in room.iter_mut().zip(kept) {
                *slot = response;
            }
        }
        buffer.pushed(self.count - rejected);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::rng;
    use rand::RngExt;

    /// Recording in blocks ([`Recorder::record_block`], with and without rejections, and at
    /// a section's first block), and as a block is admitted ([`Recorder::open_block`], where
    /// the section is the buffer's), leave every section's sums, bit for bit, and every
    /// histogram as recording the same requests one at a time does; blocks of every size,
    /// across the buffer's fills and section changes.
    #[test]
    fn recording_in_blocks_is_recording_one_at_a_time() {
        let mut r = rng(21);
        let recorder = || Recorder::new(4, 1, Some((0.01, 0.05)));
        let (mut blocks, mut open, mut single) = (recorder(), recorder(), recorder());
        let mut opened = 0;
        for label in 0..4u32 {
            for _ in 0..300 {
                let n = r.random_range(1..=MAX_BLOCK);
                let rejecting = r.random_range(0..4) == 0;
                let (mut wait, mut service) = ([0.0; MAX_BLOCK], [0.0; MAX_BLOCK]);
                for j in 0..n {
                    service[j] = -0.01 * (1.0 - r.random::<f64>()).ln() + 1e-9;
                    wait[j] = match r.random_range(0..10) {
                        0 if rejecting => f64::NAN,
                        1 => 0.0,
                        2 => 50.0 * r.random::<f64>(),
                        _ => 0.05 * r.random::<f64>(),
                    };
                }
                let rejected = blocks.record_block(label, &wait[..n], &service[..n]);
                match open.open_block(label, n) {
                    Some(mut block) => {
                        opened += 1;
                        let mut responses = [f64::NAN; MAX_BLOCK];
                        for j in 0..n {
                            if wait[j].is_nan() {
                                block.rejected(j)
                            } else {
                                block.answered(j, wait[j], service[j], &mut responses)
                            }
                        }
                        block.close(&mut open, &responses);
                    }
                    None => {
                        open.record_block(label, &wait[..n], &service[..n]);
                    }
                }
                let mut expected = 0;
                for j in 0..n {
                    if wait[j].is_nan() {
                        single.sections[label as usize].rejected += 1;
                        expected += 1;
                    } else {
                        single.complete_section(label, wait[j] + service[j], wait[j], service[j]);
                    }
                }
                assert_eq!(rejected, expected);
            }
        }
        assert!(opened > 1000, "{opened}");
        for recorder in [&mut blocks, &mut open, &mut single] {
            recorder.flush();
        }
        for recorded in [&blocks, &open] {
            assert_eq!(format!("{:?}", recorded.sections), format!("{:?}", single.sections));
            for (a, b) in recorded.histograms.iter().zip(&single.histograms) {
                assert_eq!(a.len(), b.len());
                for q in (0..=1000).map(|k| f64::from(k) / 1000.0) {
                    assert_eq!(a.quantile(q).to_bits(), b.quantile(q).to_bits(), "q = {q}");
                }
            }
        }
        assert!(single.sections.iter().all(|s| s.completed > 5_000 && s.rejected > 100));
    }
}
