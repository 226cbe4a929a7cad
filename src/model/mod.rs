//! What is simulated: traffic (arrivals, sizes, clients) and the cluster of backends.
//!
//! Everything here is validated on construction and knows nothing of files: the `config`
//! module turns an experiment file into a [`Model`].

mod arrivals;
mod backend;
mod balancer;
mod clients;
mod faults;
mod request;
mod service;
mod users;

pub use arrivals::{Arrival, ArrivalProcess, ArrivalStream, Trace};
pub use backend::{Accept, BackendGroup, Lifecycle, WorkerClass};
pub use balancer::{Balancer, BalancerOverride, Hedge, Information, Mode, Routing, Upstream};
pub use clients::{ClientAddresses, ClientPopulation, ClientSampler, MAX_SUBNETS, address_text, splitmix64};
pub use faults::{ClientPolicy, Fault, FaultKind, Health, MaxFails, Outlier, Probe, Retries};
pub use request::Request;
pub use service::{MixtureComponent, ServiceDistribution};
pub use users::{ClosedLoop, Cut, Profile, Stage};

/// A model parameter that makes no sense, said in words a user can act on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{what}")]
pub struct ModelError {
    /// E.g. "cv must be ≥ 1 for a hyperexponential distribution (got 0.5); use gamma or
    /// lognormal for cv < 1".
    pub what: String,
}

impl ModelError {
    pub fn new(what: impl Into<String>) -> Self {
        ModelError { what: what.into() }
    }
}

/// The simulated system: traffic and cluster.
#[derive(Debug, Clone)]
pub struct Model {
    pub arrivals: ArrivalProcess,
    pub service: ServiceDistribution,
    pub clients: ClientPopulation,
    /// The IPv4 address of each client (what address-hashing strategies hash).
    pub addresses: ClientAddresses,
    pub backends: Vec<BackendGroup>,
    /// Fraction of each request's work that is I/O wait (database, upstream calls): a request
    /// of size S computes (1 − f)·S (at the worker's speed) and then waits f·S seconds,
    /// holding its worker (sync) or thread (gthread) but no core. 0 = pure CPU (today).
    pub io_fraction: f64,
    /// The balancer tier (default: one omniscient reverse proxy, no caps, no network).
    pub balancer: Balancer,
    /// Scheduled and random backend faults (`[[faults]]`; empty: backends never fail).
    pub faults: Vec<Fault>,
    /// Client timeouts and retries (default: clients wait for ever and never retry).
    pub client: ClientPolicy,
}

impl Model {
    /// Total work per second the cluster can do: Σ workers × speed over all backends (with
    /// cores or I/O, each backend's [`BackendGroup::capacity_for`]).
    pub fn capacity(&self) -> f64 {
        self.backends.iter().map(|g| f64::from(g.count) * self.group_capacity(g)).sum()
    }

    /// Work per second one backend of `group` can do under this model's I/O fraction.
    pub fn group_capacity(&self, group: &BackendGroup) -> f64 {
        group.capacity_for(self.io_fraction)
    }

    /// The weight of one backend of `group` for the weighted strategies: the file's
    /// `weight`, by default its capacity.
    pub fn group_weight(&self, group: &BackendGroup) -> f64 {
        group.weight.unwrap_or_else(|| self.group_capacity(group))
    }

    /// The closed-loop users, when the model has them instead of open-loop arrivals.
    pub fn closed_loop(&self) -> Option<&std::sync::Arc<ClosedLoop>> {
        match &self.arrivals {
            ArrivalProcess::Closed(users) => Some(users),
            _ => None,
        }
    }

    /// A closed loop's asymptotic bounds: the service demand D of one request (E[S] at the
    /// backends' mean speed: a lone user's response time, network and queueing aside) and
    /// the bottleneck's throughput X_max = capacity ÷ E[S] (requests per second).
    pub fn demand_and_max_throughput(&self) -> (f64, f64) {
        let workers: f64 = self.each_backend().map(|(g, _)| f64::from(g.workers)).sum();
        let max_throughput = self.capacity() / self.service.mean();
        let demand = self.service.mean() * workers / self.capacity();
        (demand, max_throughput)
    }

    /// Offered load ρ = arrival rate × E[S] ÷ capacity (NaN for closed-loop users, whose
    /// rate is measured: see the results' carried load).
    pub fn offered_load(&self) -> f64 {
        self.arrivals.mean_rate() * self.service.mean() / self.capacity()
    }

    /// Mean service time of a request on the fastest and on the slowest backend (seconds):
    /// the span of response times a histogram must resolve.
    pub fn service_time_span(&self) -> (f64, f64) {
        let mean = self.service.mean();
        let (slow, fast) =
            self.backends.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), g| (lo.min(g.speed), hi.max(g.speed)));
        if self.backends.is_empty() {
            return (mean, mean);
        }
        (mean / fast, mean / slow)
    }

    /// The arrival rate that offers load `load` to this cluster.
    pub fn rate_for_load(&self, load: f64) -> f64 {
        load * self.capacity() / self.service.mean()
    }

    /// Whether the model needs none of the event layer: the engine's fast path.
    pub fn is_plain(&self) -> bool {
        self.balancer.is_plain() && self.faults.is_empty() && !self.client.is_active()
    }

    /// Whether a request this model accepts can fail rather than complete: backend faults,
    /// health checks (with every backend believed down a request has nowhere to go), a
    /// client timeout, a proxy queue with `queue_timeout`, nginx `max_conns`, or gunicorn's
    /// worker `timeout` or `max_requests` (a worker's exit resets its `reuse_port` queue).
    /// Results report failures by cause and goodput for such models only, so that models
    /// without any of these keep their results as they were.
    pub fn can_fail(&self) -> bool {
        let b = &self.balancer;
        !self.faults.is_empty()
            || b.health.is_active()
            || self.client.timeout.is_some()
            || (b.queues() && b.queue_timeout.is_some())
            || b.upstream_timeout.is_some()
            || b.upstreams.iter().any(|u| u.max_conns.is_some())
            || self.backends.iter().any(|g| g.needs_station(self.io_fraction) && g.lifecycle.is_active())
    }

    /// Whether the balancer may take a request back out of its backend (a client's timeout
    /// with `cancel`, the losing copy of a hedged request with `hedge_cancel`): its sync
    /// groups then run on the general station, which can remove a request from its queue or
    /// its worker, where the FCFS fast path books each departure at admission.
    pub fn cancels(&self) -> bool {
        (self.client.cancel && self.client.timeout.is_some())
            || (self.balancer.hedge_cancel && self.balancer.hedge.is_some())
    }

    /// Whether some backend is simulated with explicit workers (the general station), whose
    /// per-worker utilisation results report.
    pub fn has_stations(&self) -> bool {
        self.backends.iter().any(|g| g.needs_station(self.io_fraction))
    }

    /// Number of backends (all groups expanded).
    pub fn backend_count(&self) -> usize {
        self.backends.iter().map(|g| g.count as usize).sum()
    }

    /// Every backend, in order, as (group, index within group).
    pub fn each_backend(&self) -> impl Iterator<Item = (&BackendGroup, u32)> {
        self.backends.iter().flat_map(|g| (0..g.count).map(move |i| (g, i)))
    }
}
