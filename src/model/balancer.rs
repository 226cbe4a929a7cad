//! The balancer tier: how many balancer instances there are, how arrivals reach them, what
//! each knows about the backends, the proxy's per-backend caps and queue, and the network.
//!
//! The default ([`Balancer::default`]) is one omniscient reverse proxy with no caps and no
//! network delay: the engine's fast path. Anything else goes through the event layer
//! (`docs/ARCHITECTURE.md`, "The event layer").

use super::{Health, Retries, ServiceDistribution};

/// How arrivals reach the balancer instances (an L4 balancer, DNS, or the kernel's
/// `SO_REUSEPORT` spreading connections over nginx workers or Envoy threads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing {
    /// Each request to an instance drawn uniformly at random.
    Random,
    /// Instances in turn.
    RoundRobin,
    /// By a hash of the client id: a client always reaches the same instance
    /// (`SO_REUSEPORT` hashes the connection's 4-tuple).
    ClientHash,
}

impl Routing {
    pub const NAMES: [&'static str; 3] = ["random", "round_robin", "client_hash"];

    pub fn name(self) -> &'static str {
        match self {
            Routing::Random => "random",
            Routing::RoundRobin => "round_robin",
            Routing::ClientHash => "client_hash",
        }
    }
}

/// What an instance's strategy sees when it asks how many requests a backend holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Information {
    /// The backends' true state now: an oracle, or several instances sharing their counts
    /// (nginx upstream `zone`, HAProxy's threads).
    Exact,
    /// Only the requests this instance sent itself and that have not ended yet (nginx
    /// workers without `zone`, Envoy worker threads).
    Local,
    /// A bulletin board of every backend's number in system, refreshed every `period`
    /// seconds (Mitzenmacher, "How useful is old information?", 2000).
    Periodic { period: f64 },
    /// Each backend's number in system as it was `delay` seconds ago (a report that lags).
    Delayed { delay: f64 },
}

impl Information {
    /// Whether a strategy needs to know the backends' unfinished work or start times
    /// (oracle quantities) to decide — only [`Information::Exact`] can answer them.
    pub fn answers_oracle_queries(self) -> bool {
        matches!(self, Information::Exact)
    }

    /// `"exact"`, `"local"`, `period 100ms`, `delay 5ms`.
    pub fn describe(self) -> String {
        match self {
            Information::Exact => "exact".into(),
            Information::Local => "local".into(),
            Information::Periodic { period } => format!("period {}", crate::units::format_duration(period)),
            Information::Delayed { delay } => format!("delay {}", crate::units::format_duration(delay)),
        }
    }
}

/// Where the balancer sits in the request's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A reverse proxy: requests and responses pass through it (nginx, HAProxy, Envoy).
    Proxy,
    /// It answers each request with a redirect to the chosen backend, and the client
    /// repeats the request there: one more client round trip, and the proxy never sees the
    /// response (the seed article's 301 proxy). With `cache`, a client remembers where it
    /// was sent first and goes there directly afterwards (a 301 is cacheable).
    Redirect { cache: bool },
}

/// The balancer's settings for one backend group (nginx `server … max_conns=`, HAProxy
/// `server … maxconn`, and the network between balancer and backend).
/// When the balancer sends a second copy of a request that has not been answered (hedged
/// requests, Dean & Barroso's "tail at scale"; Envoy's hedging on a per-try timeout). The
/// first answer is the client's; the other copy runs to its end unless
/// [`Balancer::hedge_cancel`] is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Hedge {
    /// After a fixed delay (seconds, > 0).
    After(f64),
    /// After the p-quantile of the response time (0 < p < 1) without hedging, measured by a
    /// pilot run on its own random streams before each replication (the runner resolves it
    /// to `After`).
    Quantile(f64),
}

impl Hedge {
    /// The delay, once known (`None` for a quantile not yet resolved by a pilot).
    pub fn delay(self) -> Option<f64> {
        match self {
            Hedge::After(d) => Some(d),
            Hedge::Quantile(_) => None,
        }
    }

    /// `after 50ms`, `at p95`.
    pub fn describe(self) -> String {
        match self {
            Hedge::After(d) => format!("after {}", crate::units::format_duration(d)),
            Hedge::Quantile(p) => format!("at p{}", crate::units::significant(p * 100.0, 4)),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Upstream {
    /// nginx `max_conns`: at most this many of the balancer's requests at one backend at
    /// once; a request that finds it full goes to another backend, or fails when all are
    /// full. Without shared state (`information = Local`) the cap is per instance, as in
    /// nginx without a `zone`.
    pub max_conns: Option<u32>,
    /// HAProxy `maxconn`: at most this many requests at one backend at once; the excess
    /// waits in the balancer's queue until a connection to any backend closes.
    pub maxconn: Option<u32>,
    /// Round-trip time between the balancer and a backend of this group (per request).
    pub rtt: Option<ServiceDistribution>,
}

/// The balancer tier of a model.
#[derive(Debug, Clone)]
pub struct Balancer {
    /// Independent instances, each with its own strategy state (≥ 1).
    pub instances: u32,
    pub routing: Routing,
    pub information: Information,
    pub mode: Mode,
    /// Round-trip time between client and balancer (per request).
    pub rtt: Option<ServiceDistribution>,
    /// HAProxy `timeout queue`: a request that waited this long in the balancer's queue
    /// fails (503). `None`: it waits as long as it takes.
    pub queue_timeout: Option<f64>,
    /// One entry per backend group, in the order of the groups (empty: no caps, no delay).
    pub upstreams: Vec<Upstream>,
    /// Passive and active health checks (default: none, every backend is always tried).
    pub health: Health,
    /// Retries of failed attempts on another backend (default: one try, no retry).
    pub retries: Retries,
    /// How long the balancer waits for a backend's response to one attempt (nginx
    /// `proxy_read_timeout`, Envoy `per_try_timeout`, HAProxy `timeout server`). An attempt
    /// past it fails with a gateway timeout (504), which `retries` may retry elsewhere; the
    /// backend still does the work. `None`: it waits as long as it takes.
    pub upstream_timeout: Option<f64>,
    /// Hedged requests: a second copy of an unanswered request after a delay.
    pub hedge: Option<Hedge>,
    /// Hedged requests: the copy that lost is cancelled at its backend when the other
    /// answers (Envoy resets the losing stream); otherwise it runs to its end.
    pub hedge_cancel: bool,
}

impl Default for Balancer {
    fn default() -> Self {
        Balancer {
            instances: 1,
            routing: Routing::Random,
            information: Information::Exact,
            mode: Mode::Proxy,
            rtt: None,
            queue_timeout: None,
            upstreams: Vec::new(),
            health: Health::default(),
            retries: Retries::default(),
            upstream_timeout: None,
            hedge: None,
            hedge_cancel: false,
        }
    }
}

impl Balancer {
    /// True for the single omniscient reverse proxy with no caps and no network: the
    /// engine's untouched fast path.
    pub fn is_plain(&self) -> bool {
        self.instances == 1
            && self.information == Information::Exact
            && self.mode == Mode::Proxy
            && self.rtt.is_none()
            && self.hedge.is_none()
            && self.upstreams.iter().all(|u| u.max_conns.is_none() && u.maxconn.is_none() && u.rtt.is_none())
            && !self.health.is_active()
            && !self.retries.is_active()
            && self.upstream_timeout.is_none()
    }

    /// Whether arrivals need client ids (hash routing, cached redirects).
    pub fn uses_client(&self) -> bool {
        (self.instances > 1 && self.routing == Routing::ClientHash) || self.mode == Mode::Redirect { cache: true }
    }

    /// Whether any group has a HAProxy `maxconn` (so the balancer may queue).
    pub fn queues(&self) -> bool {
        self.upstreams.iter().any(|u| u.maxconn.is_some())
    }

    /// The settings in a few words for `lbsim run` (None for the plain balancer).
    pub fn describe(&self) -> Option<String> {
        if self.is_plain() {
            return None;
        }
        let mut parts = Vec::new();
        if self.instances > 1 {
            parts.push(format!("{} instances ({} routing)", self.instances, self.routing.name()));
        }
        parts.push(format!("{} information", self.information.describe()));
        if let Mode::Redirect { cache } = self.mode {
            parts.push(if cache { "redirect proxy, cached".into() } else { "redirect proxy".into() });
        }
        if let Some(rtt) = &self.rtt {
            parts.push(format!("client rtt {}", crate::units::format_duration(rtt.mean())));
        }
        if self.upstreams.iter().any(|u| u.max_conns.is_some()) {
            parts.push("max_conns".into());
        }
        if self.queues() {
            match self.queue_timeout {
                Some(t) => parts.push(format!("maxconn with queue (timeout {})", crate::units::format_duration(t))),
                None => parts.push("maxconn with queue".into()),
            }
        }
        if let Some(health) = self.health.describe() {
            parts.push(health);
        }
        if self.retries.is_active() {
            parts.push(match self.retries.timeout {
                Some(t) => format!("{} tries within {}", self.retries.tries, crate::units::format_duration(t)),
                None => format!("{} tries", self.retries.tries),
            });
        }
        if let Some(t) = self.upstream_timeout {
            parts.push(format!("upstream timeout {}", crate::units::format_duration(t)));
        }
        if let Some(hedge) = self.hedge {
            let cancel = if self.hedge_cancel { ", the losing copy cancelled" } else { "" };
            parts.push(format!("hedged {}{cancel}", hedge.describe()));
        }
        Some(parts.join(", "))
    }
}

/// Balancer settings one strategy of an experiment overrides, so that one file can compare,
/// say, nginx workers with and without a shared `zone`, or HAProxy with and without
/// `maxconn` (`{ name = "least_connections", info = "exact" }`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BalancerOverride {
    pub information: Option<Information>,
    /// Reverse proxy or redirect proxy.
    pub mode: Option<Mode>,
    /// nginx `max_conns` on every backend (replaces any cap of the file).
    pub max_conns: Option<u32>,
    /// HAProxy `maxconn` on every backend, as `default-server maxconn` (replaces any cap).
    pub maxconn: Option<u32>,
    /// Health checks and retries that replace the file's (each one given).
    pub passive: Option<super::MaxFails>,
    pub outlier: Option<super::Outlier>,
    pub active: Option<super::Probe>,
    pub panic_threshold: Option<f64>,
    pub retries: Option<Retries>,
    pub upstream_timeout: Option<f64>,
    /// The clients' timeouts and retries for this strategy's runs (they are not the
    /// balancer's, but comparing retry policies side by side is what a file wants).
    pub client: Option<super::ClientPolicy>,
    /// Hedged requests for this strategy's runs.
    pub hedge: Option<Hedge>,
    /// Whether this strategy's runs cancel the losing copy.
    pub hedge_cancel: Option<bool>,
}

impl BalancerOverride {
    pub fn is_empty(&self) -> bool {
        *self == BalancerOverride::default()
    }

    /// `balancer` with these overrides, for a model of `groups` backend groups.
    pub fn apply(&self, balancer: &Balancer, groups: usize) -> Balancer {
        let mut b = balancer.clone();
        if let Some(information) = self.information {
            b.information = information;
        }
        if let Some(mode) = self.mode {
            b.mode = mode;
        }
        if self.passive.is_some() {
            b.health.max_fails = self.passive;
        }
        if self.outlier.is_some() {
            b.health.outlier = self.outlier;
        }
        if self.active.is_some() {
            b.health.probe = self.active;
        }
        if self.panic_threshold.is_some() {
            b.health.panic_threshold = self.panic_threshold;
        }
        if let Some(retries) = self.retries {
            b.retries = retries;
        }
        if self.upstream_timeout.is_some() {
            b.upstream_timeout = self.upstream_timeout;
        }
        if let Some(hedge) = self.hedge {
            b.hedge = Some(hedge);
        }
        if let Some(cancel) = self.hedge_cancel {
            b.hedge_cancel = cancel;
        }
        if self.max_conns.is_some() || self.maxconn.is_some() {
            b.upstreams.resize(groups, Upstream::default());
            for u in &mut b.upstreams {
                u.max_conns = self.max_conns;
                u.maxconn = self.maxconn;
            }
        }
        b
    }
}
