//! What the balancer believes about each backend's health: nginx's `max_fails` within
//! `fail_timeout`, Envoy's outlier ejection and active probes with `fall`/`rise`.
//!
//! Beliefs change only at the outcomes of attempts (passive) and at probes (active), so the
//! per-request cost is one comparison per candidate backend; ejections end by the clock
//! (`down_until`), with no event. Envoy's outlier detector works on its `interval` timer:
//! an ejection ends at the first tick once its time is served, and the ejection time
//! multiplier decays by one per tick the host stays healthy; both are computed from the
//! tick times when needed, so the timer needs no event either.

use crate::model::Health;

#[derive(Debug)]
pub(super) struct HealthState {
    config: Health,
    /// nginx: failures counted in the current window, and when the window began.
    fails: Vec<u32>,
    window_start: Vec<f64>,
    /// Envoy: failures in a row; the ejection time multiplier (`ejectTimeBackoff`); the
    /// detector tick at which the last ejection ended (the multiplier decays from there).
    consecutive: Vec<u32>,
    backoff: Vec<u32>,
    returned_tick: Vec<f64>,
    /// Passively marked down (nginx or Envoy) until this time.
    down_until: Vec<f64>,
    /// Active checks: marked down, and the current run of probe results that disagree with
    /// that mark.
    probed_down: Vec<bool>,
    streak: Vec<u32>,
    /// When probes last marked each backend up again.
    probed_up_at: Vec<f64>,
    /// Times a backend was marked down (passively or by probes), for results.
    pub(super) markings: u64,
    /// Bumped whenever a backend's return time ([`Self::back_at`]) changes.
    pub(super) changes: u64,
}

impl HealthState {
    pub(super) fn new(config: Health, backends: usize) -> Self {
        HealthState {
            config,
            fails: vec![0; backends],
            window_start: vec![f64::NEG_INFINITY; backends],
            consecutive: vec![0; backends],
            backoff: vec![0; backends],
            returned_tick: vec![0.0; backends],
            down_until: vec![f64::NEG_INFINITY; backends],
            probed_down: vec![false; backends],
            streak: vec![0; backends],
            probed_up_at: vec![f64::NEG_INFINITY; backends],
            markings: 0,
            changes: 0,
        }
    }

    /// When the balancer took backend `i` back (or will, if it is believed down now; `+∞`
    /// while probes hold it down); `-∞` if it was never believed down. Slow start ramps
    /// from here.
    #[inline]
    pub(super) fn back_at(&self, i: usize) -> f64 {
        if self.probed_down[i] { f64::INFINITY } else { self.down_until[i].max(self.probed_up_at[i]) }
    }

    /// Whether the balancer would send a request to backend `i` at `now`.
    #[inline]
    pub(super) fn usable(&self, i: usize, now: f64) -> bool {
        now >= self.down_until[i] && !self.probed_down[i]
    }

    /// Whether the share of backends believed healthy at `now` is below the panic threshold
    /// (Envoy then routes to any backend).
    pub(super) fn panicking(&self, now: f64) -> bool {
        let Some(threshold) = self.config.panic_threshold else { return false };
        let n = self.down_until.len();
        let healthy = (0..n).filter(|&i| self.usable(i, now)).count();
        (healthy as f64) * 100.0 < threshold * n as f64
    }

    /// An attempt at backend `i` succeeded at `now`.
    #[inline]
    pub(super) fn success(&mut self, i: usize) {
        // nginx forgets the failures of a peer once a request to it succeeds after the
        // window (`ngx_http_upstream_free_round_robin_peer`: `fails = 0` when `accessed <
        // checked`); Envoy resets the consecutive count on any success.
        self.fails[i] = 0;
        self.consecutive[i] = 0;
    }

    /// An attempt at backend `i` failed at `now` (refused, reset, 502).
    pub(super) fn failure(&mut self, i: usize, now: f64) {
        if let Some(m) = self.config.max_fails {
            if now - self.window_start[i] > m.fail_timeout {
                self.fails[i] = 0;
                self.window_start[i] = now;
            }
            self.fails[i] += 1;
            if self.fails[i] >= m.max_fails {
                self.fails[i] = 0;
                self.mark_down(i, now + m.fail_timeout, now);
            }
        }
        if let Some(o) = self.config.outlier {
            self.consecutive[i] += 1;
            if self.consecutive[i] >= o.consecutive_errors {
                self.consecutive[i] = 0;
                let n = self.down_until.len();
                let ejected = (0..n).filter(|&j| self.down_until[j] > now).count();
                // Envoy always allows one ejection, whatever the percentage.
                let allowed = ((o.max_ejection_percent / 100.0) * n as f64).floor().max(1.0) as usize;
                if self.down_until[i] <= now && ejected < allowed {
                    // The multiplier lost one at each detector tick (every `interval`) since
                    // the tick that ended the last ejection (`checkHostForUneject`).
                    let healthy_ticks = ((now / o.interval).floor() - self.returned_tick[i]).max(0.0);
                    self.backoff[i] = self.backoff[i].saturating_sub(healthy_ticks.min(f64::from(u32::MAX)) as u32);
                    // `ejectHost`: the multiplier grows while base × it is below max + base.
                    if f64::from(self.backoff[i]) * o.base_ejection < o.max_ejection + o.base_ejection {
                        self.backoff[i] += 1;
                    }
                    let time = (o.base_ejection * f64::from(self.backoff[i])).min(o.max_ejection.max(o.base_ejection));
                    // Unejected at the first tick once the time is served.
                    let tick = ((now + time) / o.interval).ceil();
                    self.returned_tick[i] = tick;
                    self.mark_down(i, tick * o.interval, now);
                }
            }
        }
    }

    fn mark_down(&mut self, i: usize, until: f64, now: f64) {
        if self.down_until[i] <= now && !self.probed_down[i] {
            self.markings += 1;
        }
        self.down_until[i] = self.down_until[i].max(until);
        self.changes += 1;
    }

    /// A probe of backend `i` at `now` found it accepting connections (`up`) or not.
    pub(super) fn probe(&mut self, i: usize, up: bool, now: f64) {
        let Some(p) = self.config.probe else { return };
        if up != self.probed_down[i] {
            // Agrees with the current mark.
            self.streak[i] = 0;
            return;
        }
        self.streak[i] += 1;
        let needed = if up { p.rise } else { p.fall };
        if self.streak[i] >= needed {
            self.streak[i] = 0;
            self.probed_down[i] = !up;
            if up {
                self.probed_up_at[i] = now;
            } else {
                self.markings += 1;
            }
            self.changes += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MaxFails, Outlier, Probe};

    #[test]
    fn nginx_max_fails_within_fail_timeout_marks_down_for_fail_timeout() {
        let config = Health { max_fails: Some(MaxFails { max_fails: 2, fail_timeout: 10.0 }), ..Health::default() };
        let mut h = HealthState::new(config, 2);
        h.failure(0, 1.0);
        assert!(h.usable(0, 1.0), "one failure of two");
        // The second failure comes after the window: the count restarted.
        h.failure(0, 12.0);
        assert!(h.usable(0, 12.0));
        h.failure(0, 13.0);
        assert!(!h.usable(0, 13.0) && !h.usable(0, 22.9) && h.usable(0, 23.0));
        assert!(h.usable(1, 13.0));
    }

    fn outlier(consecutive_errors: u32, max_ejection: f64, max_ejection_percent: f64) -> Health {
        Health {
            outlier: Some(Outlier {
                consecutive_errors,
                base_ejection: 30.0,
                max_ejection,
                interval: 10.0,
                max_ejection_percent,
            }),
            ..Health::default()
        }
    }

    #[test]
    fn envoy_ejection_grows_with_each_ejection_and_respects_max_percent() {
        let mut h = HealthState::new(outlier(2, 300.0, 50.0), 4);
        h.failure(0, 0.0);
        h.success(0);
        h.failure(0, 1.0);
        assert!(h.usable(0, 1.0), "a success broke the run");
        h.failure(0, 2.0);
        // 30 s from t = 2 s, ended at the detector's next tick (every 10 s): t = 40 s.
        assert!(!h.usable(0, 2.0) && !h.usable(0, 39.9) && h.usable(0, 40.0), "first ejection: 30 s");
        assert_eq!(h.back_at(0), 40.0);
        h.failure(0, 40.0);
        h.failure(0, 41.0);
        // No tick passed healthy (the tick at 40 s ended the ejection): 60 s, to t = 110 s.
        assert!(!h.usable(0, 109.9) && h.usable(0, 110.0), "second ejection: 60 s");
        // At most 50 % of 4 = 2 ejected at once.
        for i in 1..4 {
            h.failure(i, 50.0);
            h.failure(i, 50.0);
        }
        let ejected = (0..4).filter(|&i| !h.usable(i, 50.0)).count();
        assert_eq!(ejected, 2);
    }

    #[test]
    fn envoy_ejection_multiplier_decays_by_one_per_healthy_interval_and_is_capped() {
        let mut h = HealthState::new(outlier(1, 300.0, 100.0), 1);
        h.failure(0, 2.0);
        assert_eq!(h.back_at(0), 40.0, "30 s, to the tick at 40 s");
        h.failure(0, 41.0);
        assert_eq!(h.back_at(0), 110.0, "× 2: 60 s from 41 s, to the tick at 110 s");
        h.failure(0, 115.0);
        assert_eq!(h.back_at(0), 210.0, "× 3: 90 s from 115 s, to the tick at 210 s");
        // Healthy at the ticks of 220, 230 and 240 s: the multiplier falls from 3 to 0, so
        // the next ejection is the base time again (Envoy: "the ejection time multiplier
        // decreases" while the host stays healthy).
        h.failure(0, 245.0);
        assert_eq!(h.back_at(0), 280.0, "× 1 again: 30 s from 245 s, to the tick at 280 s");
        // One healthy tick (290 s) only takes one off: × 1 → 0 → × 1.
        h.failure(0, 291.0);
        assert_eq!(h.back_at(0), 330.0);
        h.failure(0, 331.0);
        assert_eq!(h.back_at(0), 400.0, "× 2 (the tick at 330 s ended it; none healthy since)");

        // max_ejection caps the time: base 30 s, max 60 s.
        let mut h = HealthState::new(outlier(1, 60.0, 100.0), 1);
        let mut now = 0.0;
        let mut times = Vec::new();
        for _ in 0..5 {
            h.failure(0, now);
            let back = h.back_at(0);
            times.push(back - now);
            now = back;
        }
        // Ejected at each return, on a tick: 30, 60, then 60 s (capped) each time.
        assert_eq!(times, [30.0, 60.0, 60.0, 60.0, 60.0]);
    }

    #[test]
    fn probes_mark_down_after_fall_and_up_after_rise() {
        let config = Health { probe: Some(Probe { interval: 1.0, fall: 3, rise: 2 }), ..Health::default() };
        let mut h = HealthState::new(config, 1);
        h.probe(0, false, 0.0);
        h.probe(0, false, 0.0);
        assert!(h.usable(0, 0.0));
        h.probe(0, true, 0.0);
        h.probe(0, false, 0.0);
        h.probe(0, false, 0.0);
        assert!(h.usable(0, 0.0), "a success broke the run of failures");
        h.probe(0, false, 0.0);
        assert!(!h.usable(0, 0.0));
        h.probe(0, true, 0.0);
        assert!(!h.usable(0, 0.0));
        h.probe(0, true, 0.0);
        assert!(h.usable(0, 0.0));
        assert_eq!(h.markings, 1);
    }

    #[test]
    fn panic_threshold_counts_believed_healthy_backends() {
        let config = Health {
            max_fails: Some(MaxFails { max_fails: 1, fail_timeout: 10.0 }),
            panic_threshold: Some(50.0),
            ..Health::default()
        };
        let mut h = HealthState::new(config, 4);
        h.failure(0, 0.0);
        h.failure(1, 0.0);
        assert!(!h.panicking(0.0), "2 of 4 healthy is not below 50 %");
        h.failure(2, 0.0);
        assert!(h.panicking(0.0));
    }
}
