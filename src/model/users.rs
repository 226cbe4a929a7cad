//! Closed-loop clients: a fixed population of users, each of whom sends one request, waits
//! for its response, thinks, and sends the next (a load test's virtual users, wrk's
//! connections, locust's users). The arrival rate is then an output: it is what the cluster's
//! response times let the users send.

use rand::Rng;

use super::{ModelError, ServiceDistribution};

/// The users of a closed loop.
#[derive(Debug, Clone)]
pub struct ClosedLoop {
    /// Number of users (N ≥ 1); user ids 0 … N − 1 are also their client ids.
    pub users: u32,
    /// Think time between a response and the user's next request (`None`: none, as wrk).
    pub think: Option<ServiceDistribution>,
}

impl ClosedLoop {
    /// Validates `users ≥ 1`.
    pub fn new(users: u32, think: Option<ServiceDistribution>) -> Result<Self, ModelError> {
        if users == 0 {
            return Err(ModelError::new(
                "a closed loop needs at least 1 user (got 0): users are what sends the requests",
            ));
        }
        Ok(ClosedLoop { users, think })
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

    /// E.g. `closed(50 users, think exponential(mean 1s))`.
    pub fn describe(&self) -> String {
        let think = match &self.think {
            Some(d) => format!("think {}", d.describe()),
            None => "no think time".to_string(),
        };
        let s = if self.users == 1 { "" } else { "s" };
        format!("closed({} user{s}, {think})", self.users)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
