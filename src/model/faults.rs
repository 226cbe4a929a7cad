//! Backend faults, health checks and balancer retries: what breaks, how the balancer finds
//! out, and what it does about the requests that hit a broken backend.
//!
//! Everything here is optional; a model with none of it runs the engine's fast path
//! unchanged. Backends are named by their index in the cluster (groups expanded in order);
//! the `config` module resolves names.

use super::ServiceDistribution;

/// One entry of `[[faults]]`.
#[derive(Debug, Clone)]
pub struct Fault {
    pub kind: FaultKind,
    /// The backends it applies to (indices in the cluster).
    pub backends: std::ops::Range<u32>,
}

/// What goes wrong.
#[derive(Debug, Clone)]
pub enum FaultKind {
    /// The backends crash at `at` and are back, empty, `duration` later. Requests inside
    /// fail (`BackendDown`, the 502 nginx returns when the upstream closes the connection);
    /// connections sent to them while down are refused (a fast 502 the balancer may retry).
    Outage { at: f64, duration: f64 },
    /// Each backend independently alternates up for a time drawn from `mtbf` and down (as
    /// in an outage) for a time drawn from `mttr`, from time 0.
    Failures { mtbf: ServiceDistribution, mttr: ServiceDistribution },
    /// The backends' speed is multiplied by `factor` during `[at, at + duration)` (a noisy
    /// neighbour). The factor applies to the whole service of each request admitted in the
    /// window (a sync worker's precomputed departure is not re-timed; async backends slow
    /// down exactly).
    Slowdown { at: f64, duration: f64, factor: f64 },
    /// A rolling deploy from `at`: the backends restart one at a time, each refusing new
    /// connections for `boot` seconds while it restarts. A restart is graceful (gunicorn's
    /// SIGTERM: requests already inside finish); the next backend starts when the previous
    /// one is back.
    Deploy { at: f64, boot: f64 },
}

impl FaultKind {
    /// The name used in experiment files.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Outage { .. } => "outage",
            FaultKind::Failures { .. } => "failures",
            FaultKind::Slowdown { .. } => "slowdown",
            FaultKind::Deploy { .. } => "deploy",
        }
    }

    /// Whether requests inside a backend can fail because of it (so the engine must be
    /// able to undo their departures).
    pub fn crashes(&self) -> bool {
        matches!(self, FaultKind::Outage { .. } | FaultKind::Failures { .. })
    }
}

impl Fault {
    /// The scheduled intervals during which this fault holds, per backend, for charts
    /// (random failures have none known in advance).
    pub fn intervals(&self) -> Vec<(u32, f64, f64)> {
        match &self.kind {
            FaultKind::Outage { at, duration } | FaultKind::Slowdown { at, duration, .. } => {
                self.backends.clone().map(|b| (b, *at, at + duration)).collect()
            }
            FaultKind::Deploy { at, boot } => self
                .backends
                .clone()
                .enumerate()
                .map(|(k, b)| (b, at + k as f64 * boot, at + (k + 1) as f64 * boot))
                .collect(),
            FaultKind::Failures { .. } => Vec::new(),
        }
    }
}

/// nginx passive health (`server … max_fails=N fail_timeout=T`): `max_fails` failed
/// attempts within `fail_timeout` mark the backend unavailable for `fail_timeout`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MaxFails {
    pub max_fails: u32,
    pub fail_timeout: f64,
}

/// Envoy outlier detection (`consecutive_5xx`): `consecutive_errors` failed attempts in a
/// row eject the backend for `base_ejection × multiplier` (at most `max_ejection`), unless
/// `max_ejection_percent` of the backends are already ejected (one may always be). The
/// multiplier grows by one per ejection and falls by one per detector `interval` the host
/// spends healthy; the detector ends ejections at its `interval` ticks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outlier {
    pub consecutive_errors: u32,
    pub base_ejection: f64,
    /// Envoy `max_ejection_time` (default 300 s).
    pub max_ejection: f64,
    /// Envoy `interval` (default 10 s): the detector's timer.
    pub interval: f64,
    pub max_ejection_percent: f64,
}

/// Active health checks (HAProxy `check inter fall rise`, Envoy `health_checks`): every
/// `interval` the balancer probes each backend; `fall` failed probes in a row mark it down,
/// `rise` successful ones mark it up again. A probe succeeds iff the backend accepts
/// connections at that moment (it does not queue behind requests).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probe {
    pub interval: f64,
    pub fall: u32,
    pub rise: u32,
}

/// What the balancer believes about its backends' health, and what it does then.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Health {
    pub max_fails: Option<MaxFails>,
    pub outlier: Option<Outlier>,
    pub probe: Option<Probe>,
    /// Envoy's panic threshold (percent): when fewer than this share of backends are
    /// believed healthy, the balancer ignores health and routes to any backend. `None`:
    /// with every backend believed down, requests fail (`NoBackend`).
    pub panic_threshold: Option<f64>,
}

impl Health {
    pub fn is_active(&self) -> bool {
        self.max_fails.is_some() || self.outlier.is_some() || self.probe.is_some()
    }

    /// The settings in a few words.
    pub fn describe(&self) -> Option<String> {
        use crate::units::format_duration as d;
        let mut parts = Vec::new();
        if let Some(m) = self.max_fails {
            parts.push(format!("max_fails {} / {}", m.max_fails, d(m.fail_timeout)));
        }
        if let Some(o) = self.outlier {
            parts.push(format!(
                "outlier ejection after {} errors ({} × n up to {}, checked every {}, ≤ {} %)",
                o.consecutive_errors,
                d(o.base_ejection),
                d(o.max_ejection),
                d(o.interval),
                o.max_ejection_percent
            ));
        }
        if let Some(p) = self.probe {
            parts.push(format!("probes every {} (fall {}, rise {})", d(p.interval), p.fall, p.rise));
        }
        if let Some(t) = self.panic_threshold {
            parts.push(format!("panic below {t} % healthy"));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// nginx `proxy_next_upstream error` with `proxy_next_upstream_tries` and
/// `proxy_next_upstream_timeout`: an attempt that fails at a backend (connection refused or
/// reset, 502) is sent to another backend, up to `tries` attempts in all, and not once
/// `timeout` has passed since the request reached the balancer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Retries {
    pub tries: u32,
    pub timeout: Option<f64>,
}

impl Default for Retries {
    fn default() -> Self {
        Retries { tries: 1, timeout: None }
    }
}

impl Retries {
    pub fn is_active(&self) -> bool {
        self.tries > 1
    }
}

/// What clients do about slow responses and errors (`[clients] timeout`, `retries`,
/// `backoff`, `max_backoff`, `retry_budget`).
///
/// A client gives up on an attempt `timeout` after sending it (its request fails with
/// `ClientTimeout`). By default the backend still does the work (a sync gunicorn worker
/// notices the closed connection only when it writes the response; nginx with
/// `proxy_ignore_client_abort on`); with `cancel` the attempt is taken out of its backend at
/// that moment (nginx's default closes the upstream connection when the client goes away,
/// and a server that checks for the disconnect stops: Go's request context, an async
/// worker's cancelled task), from its accept queue or from service. After a timeout or an error
/// response (502, 503) it retries up to `retries` times, waiting a "full jitter" backoff:
/// uniform in `[0, min(max_backoff, backoff × 2^k)]` before retry k + 1. The retry budget
/// (Envoy's `retry_budget`) allows a retry only while the requests being retried are at
/// most `budget` % of the requests in flight (and always up to 3, Envoy's
/// `min_retry_concurrency`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClientPolicy {
    pub timeout: Option<f64>,
    pub retries: u32,
    pub backoff: f64,
    pub max_backoff: f64,
    pub budget: Option<f64>,
    /// A timed-out attempt is cancelled at its backend (needs `timeout`).
    pub cancel: bool,
}

impl Default for ClientPolicy {
    fn default() -> Self {
        ClientPolicy { timeout: None, retries: 0, backoff: 0.1, max_backoff: 10.0, budget: None, cancel: false }
    }
}

impl ClientPolicy {
    /// Envoy's `min_retry_concurrency`: retries always allowed in flight at once.
    pub const MIN_RETRY_CONCURRENCY: f64 = 3.0;

    pub fn is_active(&self) -> bool {
        self.timeout.is_some() || self.retries > 0
    }

    /// The settings in a few words.
    pub fn describe(&self) -> Option<String> {
        use crate::units::format_duration as d;
        let mut parts = Vec::new();
        if let Some(t) = self.timeout {
            parts.push(format!("timeout {}", d(t)));
        }
        if self.retries > 0 {
            parts.push(format!("{} retries (backoff {} … {})", self.retries, d(self.backoff), d(self.max_backoff)));
        }
        if let Some(b) = self.budget {
            parts.push(format!("retry budget {b} %"));
        }
        if self.cancel {
            parts.push("cancelled at the backend on timeout".into());
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}
