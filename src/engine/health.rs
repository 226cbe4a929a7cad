//! What the balancer believes about each backend's health: nginx's `max_fails` within
//! `fail_timeout`, Envoy's outlier ejection and active probes with `fall`/`rise`.
//!
//! Beliefs change only at the outcomes of attempts (passive) and at probes (active), so the
//! per-request cost is one comparison per candidate backend; ejections end by the clock
//! (`down_until`), with no event.

use crate::model::Health;

#[derive(Debug)]
pub(super) struct HealthState {
    config: Health,
    /// nginx: failures counted in the current window, and when the window began.
    fails: Vec<u32>,
    window_start: Vec<f64>,
    /// Envoy: failures in a row, and how many times each backend was ejected.
    consecutive: Vec<u32>,
    ejections: Vec<u32>,
    /// Passively marked down (nginx or Envoy) until this time.
    down_until: Vec<f64>,
    /// Active checks: marked down, and the current run of probe results that disagree with
    /// that mark.
    probed_down: Vec<bool>,
    streak: Vec<u32>,
    /// Times a backend was marked down (passively or by probes), for results.
    pub(super) markings: u64,
}

impl HealthState {
    pub(super) fn new(config: Health, backends: usize) -> Self {
        HealthState {
            config,
            fails: vec![0; backends],
            window_start: vec![f64::NEG_INFINITY; backends],
            consecutive: vec![0; backends],
            ejections: vec![0; backends],
            down_until: vec![f64::NEG_INFINITY; backends],
            probed_down: vec![false; backends],
            streak: vec![0; backends],
            markings: 0,
        }
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
                    self.ejections[i] += 1;
                    self.mark_down(i, now + o.base_ejection * f64::from(self.ejections[i]), now);
                }
            }
        }
    }

    fn mark_down(&mut self, i: usize, until: f64, now: f64) {
        if self.down_until[i] <= now && !self.probed_down[i] {
            self.markings += 1;
        }
        self.down_until[i] = self.down_until[i].max(until);
    }

    /// A probe of backend `i` found it accepting connections (`up`) or not.
    pub(super) fn probe(&mut self, i: usize, up: bool) {
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
            if !up {
                self.markings += 1;
            }
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

    #[test]
    fn envoy_ejection_grows_with_each_ejection_and_respects_max_percent() {
        let config = Health {
            outlier: Some(Outlier { consecutive_errors: 2, base_ejection: 30.0, max_ejection_percent: 50.0 }),
            ..Health::default()
        };
        let mut h = HealthState::new(config, 4);
        h.failure(0, 0.0);
        h.success(0);
        h.failure(0, 1.0);
        assert!(h.usable(0, 1.0), "a success broke the run");
        h.failure(0, 2.0);
        assert!(!h.usable(0, 2.0) && h.usable(0, 32.0), "first ejection: 30 s");
        h.failure(0, 40.0);
        h.failure(0, 41.0);
        assert!(!h.usable(0, 100.0) && h.usable(0, 101.0), "second ejection: 60 s");
        // At most 50 % of 4 = 2 ejected at once.
        for i in 1..4 {
            h.failure(i, 50.0);
            h.failure(i, 50.0);
        }
        let ejected = (0..4).filter(|&i| !h.usable(i, 50.0)).count();
        assert_eq!(ejected, 2);
    }

    #[test]
    fn probes_mark_down_after_fall_and_up_after_rise() {
        let config = Health { probe: Some(Probe { interval: 1.0, fall: 3, rise: 2 }), ..Health::default() };
        let mut h = HealthState::new(config, 1);
        h.probe(0, false);
        h.probe(0, false);
        assert!(h.usable(0, 0.0));
        h.probe(0, true);
        h.probe(0, false);
        h.probe(0, false);
        assert!(h.usable(0, 0.0), "a success broke the run of failures");
        h.probe(0, false);
        assert!(!h.usable(0, 0.0));
        h.probe(0, true);
        assert!(!h.usable(0, 0.0));
        h.probe(0, true);
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
