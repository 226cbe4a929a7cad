//! When requests arrive at the balancer.

use std::sync::Arc;

use rand::Rng;

use super::ModelError;

/// An arrival process: the law of arrival times, with its mean rate (requests per second).
///
/// Every process except `Trace` is defined by its mean rate plus shape parameters, so that the
/// rate can be set from an offered load (`with_rate`) without touching the shape.
#[derive(Debug, Clone)]
pub enum ArrivalProcess {
    /// Exponential gaps.
    Poisson { rate: f64 },
    /// Evenly spaced arrivals, 1/rate apart.
    Deterministic { rate: f64 },
    /// Gamma-distributed gaps with the given coefficient of variation (cv = 1/√k gives
    /// Erlang-k gaps; cv = 1 is Poisson).
    Gamma { rate: f64, cv: f64 },
    /// Bursty two-state Markov-modulated Poisson process. The process alternates between an
    /// "on" state (mean sojourn `mean_on` seconds, arrival rate `peak × rate`) and an "off"
    /// state (mean sojourn `mean_off`, with the rate that makes the long-run mean `rate`).
    OnOff { rate: f64, peak: f64, mean_on: f64, mean_off: f64 },
    /// Time-varying Poisson: λ(t) = rate × (1 + amplitude × sin(2πt / period)).
    Diurnal { rate: f64, amplitude: f64, period: f64 },
    /// Replayed arrival timestamps (optionally with sizes and clients), looped if the run
    /// needs more requests than the trace has; `time_scale` stretches (>1) or compresses
    /// (<1) the trace's time axis, so that a rate or load can be imposed on it.
    Trace { trace: Arc<Trace>, time_scale: f64 },
}

/// A recorded arrival trace (validated: at least two rows, timestamps non-decreasing, sizes
/// positive). Times are seconds, relative to the first row.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub times: Vec<f64>,
    pub sizes: Option<Vec<f64>>,
    pub clients: Option<Vec<u32>>,
}

impl Trace {
    /// Checks the invariants listed on the type; the message names the offending row (1-based).
    pub fn new(times: Vec<f64>, sizes: Option<Vec<f64>>, clients: Option<Vec<u32>>) -> Result<Self, ModelError> {
        todo!("{}{:?}{:?}", times.len(), sizes.is_some(), clients.is_some())
    }
    /// Mean arrival rate of the trace: (rows − 1) / span … or rows / span; documented choice.
    pub fn mean_rate(&self) -> f64 { todo!() }
}

/// One arrival produced by an [`ArrivalStream`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arrival {
    /// Absolute arrival time in seconds.
    pub time: f64,
    /// Size from a trace's size column, if the process carries sizes.
    pub size: Option<f64>,
    /// Client from a trace's client column, if the process carries clients.
    pub client: Option<u32>,
}

impl ArrivalProcess {
    /// Validating constructors (rate > 0 and finite; cv > 0; peak ≥ 1 and small enough that
    /// the off rate is ≥ 0; 0 ≤ amplitude ≤ 1; period > 0; time_scale > 0).
    pub fn poisson(rate: f64) -> Result<Self, ModelError> { todo!("{rate}") }
    pub fn deterministic(rate: f64) -> Result<Self, ModelError> { todo!("{rate}") }
    pub fn gamma(rate: f64, cv: f64) -> Result<Self, ModelError> { todo!("{rate}{cv}") }
    pub fn on_off(rate: f64, peak: f64, mean_on: f64, mean_off: f64) -> Result<Self, ModelError> { todo!("{rate}{peak}{mean_on}{mean_off}") }
    pub fn diurnal(rate: f64, amplitude: f64, period: f64) -> Result<Self, ModelError> { todo!("{rate}{amplitude}{period}") }
    pub fn trace(trace: Arc<Trace>, time_scale: f64) -> Result<Self, ModelError> { todo!("{}{time_scale}", trace.times.len()) }

    /// Long-run mean arrival rate (requests per second).
    pub fn mean_rate(&self) -> f64 { todo!() }
    /// The same process with its mean rate changed to `rate` (for a trace: time rescaled).
    pub fn with_rate(&self, rate: f64) -> Result<Self, ModelError> { todo!("{rate}") }
    /// Squared coefficient of variation of the gaps, where defined (for reports and theory).
    pub fn gap_scv(&self) -> Option<f64> { todo!() }
    /// Short human description, e.g. `poisson(120/s)`.
    pub fn describe(&self) -> String { todo!() }
    /// The process's name as written in experiment files (`"poisson"`, …).
    pub fn kind(&self) -> &'static str { todo!() }
    /// A fresh sampler starting at time 0.
    pub fn stream(&self) -> ArrivalStream { todo!() }
}

/// Stateful sampler of arrival times; one per run. No allocation per arrival.
#[derive(Debug, Clone)]
pub struct ArrivalStream {
    // filled in by the implementation
}

impl ArrivalStream {
    /// The next arrival (times are non-decreasing).
    #[inline]
    pub fn next<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Arrival { let _ = rng; todo!() }
}
