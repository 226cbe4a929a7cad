//! Closed-loop clients: a fixed population of users, each of whom sends one request, waits
//! for its response, thinks, and sends the next (a load test's virtual users, wrk's
//! connections, locust's users). The arrival rate is then an output: it is what the cluster's
//! response times let the users send.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{ModelError, ServiceDistribution};
use crate::units::format_duration;

/// One stage of a ramp of users (k6's `stages`): over `duration` seconds the number of
/// users moves linearly from where the previous stage left it to `to`. Serialised as the
/// file writes it, `{"for": seconds, "to": users}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    #[serde(rename = "for")]
    pub duration: f64,
    pub to: u32,
}

/// A load profile: `from` users at time 0, then the stages one after the other, the last
/// one's `to` held after it. What [`ClosedLoop`] follows, and what the results keep of it
/// (to describe the ramp in titles and say how much of it a run covered).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Profile<'a> {
    pub from: u32,
    pub stages: &'a [Stage],
}

/// Where a run that ended at some time left its profile (see [`Profile::cut`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cut {
    /// The stage under way when the run ended (0-based).
    pub stage: usize,
    /// The time that stage began, and the users the profile wanted when the run ended.
    pub stage_start: f64,
    pub users: f64,
}

impl Profile<'_> {
    /// When the last stage ends (seconds).
    pub fn length(&self) -> f64 {
        self.stages.iter().map(|s| s.duration).sum()
    }

    /// The number of users wanted at time `t` (not rounded).
    pub fn target(&self, t: f64) -> f64 {
        let (mut from, mut start) = (f64::from(self.from), 0.0);
        for s in self.stages {
            let end = start + s.duration;
            if t < end {
                return from + (f64::from(s.to) - from) * ((t - start) / s.duration).max(0.0);
            }
            from = f64::from(s.to);
            start = end;
        }
        from
    }

    /// Where a run that ended at `ended` left the profile: `None` when it ended at or after
    /// the last stage's end (the whole profile happened).
    pub fn cut(&self, ended: f64) -> Option<Cut> {
        let mut start = 0.0;
        for (k, s) in self.stages.iter().enumerate() {
            if ended < start + s.duration {
                return Some(Cut { stage: k, stage_start: start, users: self.target(ended) });
            }
            start += s.duration;
        }
        None
    }

    /// The most requests the users can have sent by time `t` if each user's cycle (response
    /// plus think time) lasts at least `cycle` seconds and the cluster completes at most
    /// `max_rate` requests per second: ∫₀ᵗ min(N(u)/cycle, max_rate) du, the closed loop's
    /// asymptotic throughput bound along the profile. A run of that many requests cannot
    /// have ended before `t` (while requests complete, that is: refusals and failures answer
    /// faster than any service).
    pub fn most_requests_by(&self, t: f64, cycle: f64, max_rate: f64) -> f64 {
        // min(N/cycle, max_rate) over a piece of `length` seconds along which N moves
        // linearly from n0 to n1, integrated exactly.
        let piece = |n0: f64, n1: f64, length: f64| -> f64 {
            let cap = max_rate * cycle; // the users from which the cluster is the bound
            if length <= 0.0 {
                0.0
            } else if cycle <= 0.0 || (n0 >= cap && n1 >= cap) {
                length * max_rate
            } else if n0 <= cap && n1 <= cap {
                length * (n0 + n1) / (2.0 * cycle)
            } else {
                // The bound switches between N/cycle and max_rate inside the piece.
                let at = (cap - n0) / (n1 - n0) * length;
                let (below, above) = if n0 < n1 { (at, length - at) } else { (length - at, at) };
                below * (n0.min(n1) / cycle + max_rate) / 2.0 + above * max_rate
            }
        };
        let (mut from, mut start, mut total) = (f64::from(self.from), 0.0, 0.0);
        for s in self.stages {
            let to = f64::from(s.to);
            if t <= start + s.duration {
                let n_t = from + (to - from) * ((t - start) / s.duration).max(0.0);
                return total + piece(from, n_t, t - start);
            }
            total += piece(from, to, s.duration);
            from = to;
            start += s.duration;
        }
        total + piece(from, from, t - start)
    }

    /// The earliest time by which `requests` requests can have been sent, under the bound of
    /// [`Profile::most_requests_by`] (infinite if the users never send that many).
    pub fn earliest_time_for(&self, requests: f64, cycle: f64, max_rate: f64) -> f64 {
        let length = self.length();
        let at_end = self.most_requests_by(length, cycle, max_rate);
        if requests > at_end {
            let last = f64::from(self.stages.last().map_or(self.from, |s| s.to));
            let rate = if cycle > 0.0 { (last / cycle).min(max_rate) } else { max_rate };
            return if rate > 0.0 { length + (requests - at_end) / rate } else { f64::INFINITY };
        }
        // most_requests_by is continuous and non-decreasing in t: bisect.
        let (mut lo, mut hi) = (0.0, length);
        for _ in 0..100 {
            let mid = (lo + hi) / 2.0;
            if self.most_requests_by(mid, cycle, max_rate) >= requests {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        hi
    }

    /// The profile in a chart title's words: `users ramped 0 → 200 over 2m, then held`,
    /// `users ramped 10 → 200 over 1m, held 5m, then held`, or, from three stages on (a title
    /// has no room for each), `users ramped 0 → 300 → 50 in 6 stages over 10m, then held`
    /// (the start, the peak and the end). `ended`: when
    /// the runs described ended; those before the profile's end say so instead of "then
    /// held" (`…, run ended at 1m35s`, `…, runs ended at 1m21s–1m23s`).
    pub fn words(&self, ended: &[f64]) -> String {
        let mut out = format!("users ramped {}", self.from);
        if self.stages.len() <= 2 {
            let mut level = self.from;
            for (k, s) in self.stages.iter().enumerate() {
                let sep = if k == 0 && s.to != level { " " } else { ", " };
                if s.to == level {
                    out += &format!("{sep}held {}", format_duration(s.duration));
                } else {
                    let arrow = if k == 0 { "→".to_string() } else { format!("{level} →") };
                    out += &format!("{sep}{arrow} {} over {}", s.to, format_duration(s.duration));
                }
                level = s.to;
            }
        } else {
            let peak = self.stages.iter().map(|s| s.to).fold(self.from, u32::max);
            let last = self.stages.last().map_or(self.from, |s| s.to);
            if peak != last {
                out += &format!(" → {peak}");
            }
            out += &format!(" → {last} in {} stages over {}", self.stages.len(), format_duration(self.length()));
        }
        let cut: Vec<f64> = ended.iter().copied().filter(|&t| self.cut(t).is_some()).collect();
        let (first, last) = cut.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &t| (a.min(t), b.max(t)));
        let when = if format_duration(first) == format_duration(last) {
            format!("at {}", format_duration(first))
        } else {
            format!("at {}–{}", format_duration(first), format_duration(last))
        };
        match (cut.len(), cut.len() == ended.len()) {
            (0, _) => out + ", then held",
            (1, true) => out + &format!(", run ended {when}"),
            (_, true) => out + &format!(", runs ended {when}"),
            (_, false) => out + &format!(", then held (some runs ended {when}, before its end)"),
        }
    }

    /// What a run that ended at `ended` missed of the profile, in words, or `None` when it
    /// covered it: `the run ended at 1m35s, before the ramp's end at 3m: it did not cover
    /// stage 2 of 3 (→ 200 over 2m, from 1m) past 158 users, and stage 3 (→ 50 over 1m)`.
    pub fn shortfall(&self, ended: f64) -> Option<String> {
        Some(format!(
            "the run ended at {}, before the ramp's end at {}: it did not cover {}",
            format_duration(ended),
            format_duration(self.length()),
            self.unreached(ended)?
        ))
    }

    /// The part of the profile after time `t`, in words (`None` past its end): `stage 2 of
    /// 3 (→ 200 over 2m, from 1m) past 158 users, and stage 3 (→ 50 over 1m)`.
    pub fn unreached(&self, t: f64) -> Option<String> {
        let cut = self.cut(t)?;
        let n = self.stages.len();
        let stage = |k: usize| format!("→ {} over {}", self.stages[k].to, format_duration(self.stages[k].duration));
        let from = self.stages.get(cut.stage.wrapping_sub(1)).map_or(self.from, |s| s.to);
        // Where the cut stage was left: past a number of users, or (on a plateau) after a time.
        let left = if self.stages[cut.stage].to == from {
            format!("after {}", format_duration(t - cut.stage_start))
        } else {
            format!("past {} users", self.users_words(cut.users))
        };
        let mut out = if n == 1 {
            format!("its one stage ({}) {left}", stage(0))
        } else {
            format!(
                "stage {} of {n} ({}, from {}) {left}",
                cut.stage + 1,
                stage(cut.stage),
                format_duration(cut.stage_start)
            )
        };
        let missed: Vec<String> = (cut.stage + 1..n).map(|k| format!("{} ({})", k + 1, stage(k))).collect();
        match missed.len() {
            0 => {}
            1 => out += &format!(", and stage {}", missed[0]),
            _ => out += &format!(", and stages {}", missed.join(", ")),
        }
        Some(out)
    }

    /// When stage `k` (0-based) begins (seconds).
    pub fn stage_start(&self, k: usize) -> f64 {
        self.stages[..k].iter().map(|s| s.duration).sum()
    }

    /// Stage `k` (0-based) by number, with its time span and what the users do in it:
    /// `stage 2 of 3 (10s–30s: 5 users held)`, `stage 3 of 3 (30s–40s: 5 → 20 users)`.
    pub fn stage_words(&self, k: usize) -> String {
        let from = if k == 0 { self.from } else { self.stages[k - 1].to };
        let (start, to) = (self.stage_start(k), self.stages[k].to);
        let what = if to == from { format!("{to} users held") } else { format!("{from} → {to} users") };
        format!(
            "stage {} of {} ({}–{}: {what})",
            k + 1,
            self.stages.len(),
            format_duration(start),
            format_duration(start + self.stages[k].duration)
        )
    }

    /// The stages that happen after time `t`, whole or in part, in words (`None` from the
    /// profile's end on): `stage 2 of 3 (10s–30s: 5 users held) from 25s on, and stage 3 of
    /// 3 (30s–40s: 5 → 20 users)`.
    pub fn stages_after(&self, t: f64) -> Option<String> {
        let cut = self.cut(t)?;
        let mut parts = vec![self.stage_words(cut.stage)];
        if t > cut.stage_start {
            parts[0] += &format!(" from {} on", format_duration(t));
        }
        parts.extend((cut.stage + 1..self.stages.len()).map(|k| self.stage_words(k)));
        Some(list_words(&parts))
    }

    /// The stages that happen before time `t`, whole or in part, in words (`None` when `t`
    /// is not past 0): `stage 1 of 3 (0s–10s: 0 → 5 users), and stage 2 of 3 (10s–30s: 5
    /// users held) up to 25s`.
    pub fn stages_before(&self, t: f64) -> Option<String> {
        if t.is_nan() || t <= 0.0 || self.stages.is_empty() {
            return None;
        }
        let (last, partly) = match self.cut(t) {
            Some(cut) if t > cut.stage_start => (cut.stage, true),
            Some(cut) => (cut.stage.checked_sub(1)?, false),
            None => (self.stages.len() - 1, false),
        };
        let mut parts: Vec<String> = (0..=last).map(|k| self.stage_words(k)).collect();
        if partly {
            parts[last] += &format!(" up to {}", format_duration(t));
        }
        Some(list_words(&parts))
    }

    /// A number of users wanted, rounded down as the engine counts them (user k takes part
    /// while the target is at least k + 1).
    fn users_words(&self, users: f64) -> String {
        format!("{}", (users + 1e-9).floor().max(0.0) as u64)
    }
}

/// `a`, `a, and b`, `a, b, and c`: parts that hold commas of their own read best with the
/// serial comma.
fn list_words(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [a, b] => format!("{a}, and {b}"),
        [init @ .., last] => format!("{}, and {last}", init.join(", ")),
    }
}

/// The users of a closed loop.
#[derive(Debug, Clone)]
pub struct ClosedLoop {
    /// Number of users (N ≥ 1), or with a ramp the number at the start (≥ 0); user ids
    /// 0 … N − 1 are also their client ids.
    pub users: u32,
    /// Think time between a response and the user's next request (`None`: none, as wrk).
    pub think: Option<ServiceDistribution>,
    /// A load test's profile (empty: `users` all along). The number wanted at time t is
    /// the stages' piecewise-linear target, held after the last stage; user k takes part
    /// while the target is at least k + 1. A user who joins starts with a think time, like
    /// the users at the start; one who is no longer wanted finishes its request and its
    /// think time, then leaves (k6's graceful ramp-down), and comes back if the target
    /// rises again.
    pub ramp: Vec<Stage>,
}

impl ClosedLoop {
    /// Validates `users ≥ 1`.
    pub fn new(users: u32, think: Option<ServiceDistribution>) -> Result<Self, ModelError> {
        if users == 0 {
            return Err(ModelError::new(
                "a closed loop needs at least 1 user (got 0): users are what sends the requests",
            ));
        }
        Ok(ClosedLoop { users, think, ramp: Vec::new() })
    }

    /// Users starting at `users` (≥ 0) and following `ramp`, which must end with at least
    /// one user (the run lasts a number of requests, so somebody must keep sending them).
    pub fn ramped(users: u32, think: Option<ServiceDistribution>, ramp: Vec<Stage>) -> Result<Self, ModelError> {
        if let Some(s) = ramp.iter().find(|s| !(s.duration.is_finite() && s.duration > 0.0)) {
            return Err(ModelError::new(format!("a ramp stage lasts a positive time (got {})", s.duration)));
        }
        if ramp.last().map_or(users, |s| s.to) == 0 {
            return Err(ModelError::new(
                "the ramp ends with 0 users: a run lasts [run] requests, so at least 1 user must stay after the last stage",
            ));
        }
        Ok(ClosedLoop { users, think, ramp })
    }

    /// The most users at any time: user ids run from 0 to this − 1.
    pub fn max_users(&self) -> u32 {
        self.ramp.iter().map(|s| s.to).fold(self.users, u32::max)
    }

    /// The load profile: `users` at the start, then the ramp's stages.
    pub fn profile(&self) -> Profile<'_> {
        Profile { from: self.users, stages: &self.ramp }
    }

    /// The number of users the profile wants at time `t` (not rounded).
    pub fn target(&self, t: f64) -> f64 {
        self.profile().target(t)
    }

    /// Whether user `k` takes part at time `t` (the target is at least k + 1, to within
    /// rounding, so that a user woken at its [`next_start`](Self::next_start) is in).
    #[inline]
    pub fn active(&self, k: u32, t: f64) -> bool {
        self.ramp.is_empty() || self.target(t) >= f64::from(k) + 1.0 - 1e-9
    }

    /// The first time ≥ `t` at which user `k` takes part, if it ever does again.
    pub fn next_start(&self, k: u32, t: f64) -> Option<f64> {
        if self.active(k, t) {
            return Some(t);
        }
        let need = f64::from(k) + 1.0;
        let (mut from, mut start) = (f64::from(self.users), 0.0);
        for s in &self.ramp {
            let (end, to) = (start + s.duration, f64::from(s.to));
            if end > t && to >= need {
                // The target crosses k + 1 in this stage (it rises: it was below at t).
                let crossing = if from >= need { start } else { start + (need - from) / (to - from) * s.duration };
                return Some(crossing.max(t).min(end));
            }
            from = to;
            start = end;
        }
        None
    }

    /// Mean think time Z (0 without think time).
    pub fn mean_think(&self) -> f64 {
        self.think.as_ref().map_or(0.0, ServiceDistribution::mean)
    }

    /// One think time. Never allocates.
    #[inline]
    pub fn sample_think<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match &self.think {
            Some(d) => d.sample(rng),
            None => 0.0,
        }
    }

    /// E.g. `closed(50 users, think exponential(mean 1s))`; with a ramp, the stages in
    /// words, one after the other, and the level held after the last (a semicolon sets the
    /// think time apart from the stages' commas): `closed(2 users, then up to 10 over 8s,
    /// hold 10 for 10s, down to 4 over 6s, hold 4 to the end; think exponential(mean 1s))`.
    pub fn describe(&self) -> String {
        let think = match &self.think {
            Some(d) => format!("think {}", d.describe()),
            None => "no think time".to_string(),
        };
        let s = if self.users == 1 { "" } else { "s" };
        if self.ramp.is_empty() {
            return format!("closed({} user{s}, {think})", self.users);
        }
        let mut out = format!("closed({} user{s}, then ", self.users);
        let mut level = self.users;
        for stage in &self.ramp {
            let over = format_duration(stage.duration);
            out += &match stage.to.cmp(&level) {
                std::cmp::Ordering::Greater => format!("up to {} over {over}, ", stage.to),
                std::cmp::Ordering::Less => format!("down to {} over {over}, ", stage.to),
                std::cmp::Ordering::Equal => format!("hold {level} for {over}, "),
            };
            level = stage.to;
        }
        format!("{out}hold {level} to the end; {think})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ramp_is_piecewise_linear_and_users_join_and_leave_in_order() {
        let stage = |duration: f64, to: u32| Stage { duration, to };
        // 2 users, up to 10 over 8 s, hold 10 s, down to 4 over 6 s.
        let c = ClosedLoop::ramped(2, None, vec![stage(8.0, 10), stage(10.0, 10), stage(6.0, 4)]).unwrap();
        assert_eq!(c.max_users(), 10);
        assert_eq!((c.target(0.0), c.target(4.0), c.target(8.0), c.target(12.0)), (2.0, 6.0, 10.0, 10.0));
        assert_eq!((c.target(21.0), c.target(24.0), c.target(100.0)), (7.0, 4.0, 4.0));
        assert!(c.active(1, 0.0) && !c.active(2, 0.0));
        // User 2 (the third) joins when the target reaches 3: at 1 s; user 9 at 8 s.
        assert_eq!(c.next_start(2, 0.0), Some(1.0));
        assert_eq!(c.next_start(9, 0.5), Some(8.0));
        assert_eq!(c.next_start(5, 12.0), Some(12.0));
        // User 6 is not wanted from 20 s (target < 7) and never again.
        assert!(c.active(6, 20.9) && !c.active(6, 21.5));
        assert_eq!(c.next_start(6, 21.5), None);
        assert_eq!(
            c.describe(),
            "closed(2 users, then up to 10 over 8s, hold 10 for 10s, down to 4 over 6s, hold 4 to the end; no think time)"
        );
        let one = ClosedLoop::ramped(1, None, vec![stage(60.0, 1), stage(30.0, 3)]).unwrap();
        assert_eq!(
            one.describe(),
            "closed(1 user, then hold 1 for 60s, up to 3 over 30s, hold 3 to the end; no think time)"
        );
        // A user woken at its start time is in, whatever the rounding.
        let c = ClosedLoop::ramped(0, None, vec![stage(3.0, 7)]).unwrap();
        for k in 0..7 {
            let t = c.next_start(k, 0.0).unwrap();
            assert!(c.active(k, t), "user {k} at {t}");
        }
        assert!(ClosedLoop::ramped(5, None, vec![stage(3.0, 0)]).unwrap_err().what.contains("ends with 0 users"));
    }

    /// 0 → 5 users over 10 s, 5 for 20 s, 5 → 20 over 10 s; a cycle of 100 ms and a
    /// cluster of 100 requests/s, so the bound is N/0.1 s up to 10 users and 100/s above.
    fn three_stages() -> Vec<Stage> {
        vec![Stage { duration: 10.0, to: 5 }, Stage { duration: 20.0, to: 5 }, Stage { duration: 10.0, to: 20 }]
    }

    #[test]
    fn the_throughput_bound_along_a_profile_is_integrated_exactly() {
        let stages = three_stages();
        let p = Profile { from: 0, stages: &stages };
        assert_eq!(p.length(), 40.0);
        let a = |t: f64| p.most_requests_by(t, 0.1, 100.0);
        let close = |x: f64, y: f64| (x - y).abs() < 1e-9 * y.max(1.0);
        // Stage 1: ∫ 5t/10 / 0.1 dt = 2.5 t², 250 at 10 s; stage 2: 50/s.
        assert!(close(a(4.0), 40.0) && close(a(10.0), 250.0) && close(a(30.0), 1250.0), "{}", a(4.0));
        // Stage 3 reaches 10 users (100/s) at 30 + 10/3 s: 250 more at a mean of 75/s, then 100/s.
        assert!(close(a(40.0), 1250.0 + 250.0 + 100.0 * 20.0 / 3.0), "{}", a(40.0));
        // Held at 20 users past the end: the cluster's 100/s.
        assert!(close(a(50.0), a(40.0) + 1000.0));
        // And down again: 20 → 0 over 20 s crosses 10 users half-way.
        let down = [Stage { duration: 20.0, to: 0 }];
        let q = Profile { from: 20, stages: &down };
        assert!(close(q.most_requests_by(20.0, 0.1, 100.0), 10.0 * 100.0 + 10.0 * 50.0));
        // No think time and no demand: the cluster alone bounds the rate.
        assert!(close(p.most_requests_by(40.0, 0.0, 100.0), 4000.0));
        // The earliest time for 1000 requests: 250 + 50 (t − 10) = 1000 at t = 25 s.
        assert!((p.earliest_time_for(1000.0, 0.1, 100.0) - 25.0).abs() < 1e-9);
        assert!((p.earliest_time_for(a(40.0) + 500.0, 0.1, 100.0) - 45.0).abs() < 1e-9);
    }

    #[test]
    fn a_cut_profile_says_what_it_did_not_cover() {
        let stages = three_stages();
        let p = Profile { from: 0, stages: &stages };
        assert_eq!(p.cut(40.0), None);
        assert_eq!(p.cut(8.0), Some(Cut { stage: 0, stage_start: 0.0, users: 4.0 }));
        assert_eq!(
            p.shortfall(25.0).unwrap(),
            "the run ended at 25s, before the ramp's end at 40s: it did not cover stage 2 of 3 (→ 5 over 20s, \
             from 10s) after 15s, and stage 3 (→ 20 over 10s)"
        );
        assert_eq!(
            p.unreached(8.0).unwrap(),
            "stage 1 of 3 (→ 5 over 10s, from 0s) past 4 users, and stages 2 (→ 5 over 20s), 3 (→ 20 over 10s)"
        );
        assert!(p.shortfall(41.0).is_none());
        // The stages by number and time span, after a time and before it.
        assert_eq!(p.stage_words(1), "stage 2 of 3 (10s–30s: 5 users held)");
        assert_eq!(
            p.stages_after(25.0).unwrap(),
            "stage 2 of 3 (10s–30s: 5 users held) from 25s on, and stage 3 of 3 (30s–40s: 5 → 20 users)"
        );
        assert_eq!(p.stages_after(30.0).unwrap(), "stage 3 of 3 (30s–40s: 5 → 20 users)");
        assert_eq!(p.stages_after(40.0), None);
        assert_eq!(
            p.stages_before(15.0).unwrap(),
            "stage 1 of 3 (0s–10s: 0 → 5 users), and stage 2 of 3 (10s–30s: 5 users held) up to 15s"
        );
        assert_eq!(p.stages_before(10.0).unwrap(), "stage 1 of 3 (0s–10s: 0 → 5 users)");
        assert_eq!(
            p.stages_before(50.0).unwrap(),
            "stage 1 of 3 (0s–10s: 0 → 5 users), stage 2 of 3 (10s–30s: 5 users held), and stage 3 of 3 \
             (30s–40s: 5 → 20 users)"
        );
        assert_eq!(p.stages_before(0.0), None);
        let one = [Stage { duration: 120.0, to: 200 }];
        let q = Profile { from: 0, stages: &one };
        assert_eq!(
            q.shortfall(90.0).unwrap(),
            "the run ended at 90s, before the ramp's end at 2m: it did not cover its one stage (→ 200 over 2m) past 150 users"
        );
    }

    #[test]
    fn a_profile_in_a_titles_words() {
        let one = [Stage { duration: 120.0, to: 200 }];
        let p = Profile { from: 0, stages: &one };
        assert_eq!(p.words(&[]), "users ramped 0 → 200 over 2m, then held");
        assert_eq!(p.words(&[300.0, 310.0]), "users ramped 0 → 200 over 2m, then held");
        assert_eq!(p.words(&[81.3]), "users ramped 0 → 200 over 2m, run ended at 81.3s");
        assert_eq!(p.words(&[81.3, 83.0]), "users ramped 0 → 200 over 2m, runs ended at 81.3s–83s");
        assert_eq!(
            p.words(&[81.3, 200.0]),
            "users ramped 0 → 200 over 2m, then held (some runs ended at 81.3s, before its end)"
        );
        let stages = three_stages();
        let p = Profile { from: 0, stages: &stages };
        assert_eq!(p.words(&[26.1]), "users ramped 0 → 20 in 3 stages over 40s, run ended at 26.1s");
        let p = Profile { from: 0, stages: &stages[..2] };
        assert_eq!(p.words(&[]), "users ramped 0 → 5 over 10s, held 20s, then held");
        let p = Profile { from: 5, stages: &stages[1..] };
        assert_eq!(p.words(&[]), "users ramped 5, held 20s, 5 → 20 over 10s, then held");
        // Many stages: the start, the peak, the end.
        let many: Vec<Stage> = [50, 300, 300, 100, 50].iter().map(|&to| Stage { duration: 120.0, to }).collect();
        let p = Profile { from: 10, stages: &many };
        assert_eq!(p.words(&[]), "users ramped 10 → 300 → 50 in 5 stages over 10m, then held");
    }

    #[test]
    fn zero_users_is_refused_and_think_defaults_to_none() {
        assert!(ClosedLoop::new(0, None).unwrap_err().what.contains("at least 1 user"));
        let c = ClosedLoop::new(3, None).unwrap();
        assert_eq!(c.mean_think(), 0.0);
        assert_eq!(c.describe(), "closed(3 users, no think time)");
        let c = ClosedLoop::new(1, Some(ServiceDistribution::exponential(2.0).unwrap())).unwrap();
        assert_eq!(c.mean_think(), 2.0);
        assert!(c.describe().starts_with("closed(1 user, think exponential"));
    }
}
