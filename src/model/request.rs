//! A request as the balancer sees it when it arrives.

/// One request arriving at the balancer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request {
    /// Arrival time at the balancer, in seconds since the start of the run.
    pub arrival: f64,
    /// Work the request needs, in seconds on a speed-1.0 worker.
    pub size: f64,
    /// Client identifier, drawn from the client population (what hash strategies hash).
    pub client: u32,
}
