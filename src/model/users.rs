//! Closed-loop clients: a fixed population of users, each of whom sends one request, waits
//! for its response, thinks, and sends the next (a load test's virtual users, wrk's
//! connections, locust's users). The arrival rate is then an output: it is what the cluster's
//! response times let the users send.

use rand::Rng;

use super::{ModelError, ServiceDistribution};

/// One stage of a ramp of users (k6's `stages`): over `duration` seconds the number of
/// users moves linearly from where the previous stage left it to `to`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    pub duration: f64,
    pub to: u32,
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

    /// The number of users the profile wants at time `t` (not rounded).
    pub fn target(&self, t: f64) -> f64 {
        let (mut from, mut start) = (f64::from(self.users), 0.0);
        for s in &self.ramp {
            let end = start + s.duration;
            if t < end {
                return from + (f64::from(s.to) - from) * ((t - start) / s.duration).max(0.0);
            }
            from = f64::from(s.to);
            start = end;
        }
        from
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

    /// E.g. `closed(50 users, think exponential(mean 1s))`, or with a ramp `closed(10 → 200
    /// over 60s → 200 over 2m users, …)`.
    pub fn describe(&self) -> String {
        let think = match &self.think {
            Some(d) => format!("think {}", d.describe()),
            None => "no think time".to_string(),
        };
        let mut users = self.users.to_string();
        for stage in &self.ramp {
            users += &format!(" → {} over {}", stage.to, crate::units::format_duration(stage.duration));
        }
        let s = if self.users == 1 && self.ramp.is_empty() { "" } else { "s" };
        format!("closed({users} user{s}, {think})")
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
        assert!(c.describe().starts_with("closed(2 → 10 over 8s → 10 over 10s → 4 over 6s users"), "{}", c.describe());
        // A user woken at its start time is in, whatever the rounding.
        let c = ClosedLoop::ramped(0, None, vec![stage(3.0, 7)]).unwrap();
        for k in 0..7 {
            let t = c.next_start(k, 0.0).unwrap();
            assert!(c.active(k, t), "user {k} at {t}");
        }
        assert!(ClosedLoop::ramped(5, None, vec![stage(3.0, 0)]).unwrap_err().what.contains("ends with 0 users"));
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
