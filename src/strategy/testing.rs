//! Test helpers for strategies: a mock [`Cluster`] with settable state and backend builders.

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{AnyStrategy, BackendInfo, Cluster, Params, Setup, registry};
use crate::model::{Request, ServiceDistribution};

/// A cluster whose state the test sets directly. Every time-dependent query
/// (`in_system`, `unfinished_work`, `earliest_start`) records the backend asked about in
/// `queried`, so tests can check which backends a strategy looked at.
#[derive(Debug, Clone)]
pub(crate) struct MockCluster {
    pub counts: Vec<u32>,
    pub work: Vec<f64>,
    pub starts: Vec<f64>,
    pub capacities: Vec<f64>,
    pub speeds: Vec<f64>,
    pub weights: Vec<f64>,
    /// When each backend came up (slow start); `-∞` (up all along) unless a test sets it.
    pub up: Vec<f64>,
    pub queried: Vec<usize>,
    /// What `changes` answers (`None`, a view that does not count, unless a test sets it;
    /// a test that sets it adds one per pick it dispatches).
    pub changes: Option<u64>,
}

impl MockCluster {
    /// An empty (idle) cluster matching `backends`.
    pub fn from_backends(backends: &[BackendInfo]) -> Self {
        let n = backends.len();
        MockCluster {
            counts: vec![0; n],
            work: vec![0.0; n],
            starts: vec![0.0; n],
            capacities: backends.iter().map(|b| b.capacity).collect(),
            speeds: backends.iter().map(|b| b.speed).collect(),
            weights: backends.iter().map(|b| b.weight).collect(),
            up: vec![f64::NEG_INFINITY; n],
            queried: Vec::new(),
            changes: None,
        }
    }

    /// An idle cluster of `n` identical single-worker, speed-1 backends.
    pub fn uniform(n: usize) -> Self {
        Self::from_backends(&backends(n))
    }
}

impl Cluster for MockCluster {
    fn len(&self) -> usize {
        self.counts.len()
    }
    fn in_system(&mut self, i: usize) -> u32 {
        self.queried.push(i);
        self.counts[i]
    }
    fn unfinished_work(&mut self, i: usize) -> f64 {
        self.queried.push(i);
        self.work[i]
    }
    fn earliest_start(&mut self, i: usize) -> f64 {
        self.queried.push(i);
        self.starts[i]
    }
    fn capacity(&self, i: usize) -> f64 {
        self.capacities[i]
    }
    fn speed(&self, i: usize) -> f64 {
        self.speeds[i]
    }
    fn weight(&self, i: usize) -> f64 {
        self.weights[i]
    }
    fn up_since(&self, i: usize) -> f64 {
        self.up[i]
    }
    fn up_changes(&self) -> u64 {
        // A fingerprint of `up`: tests set the field directly.
        self.up.iter().fold(0u64, |h, t| h.rotate_left(7) ^ t.to_bits())
    }
    fn changes(&self) -> Option<u64> {
        self.changes
    }
}

/// What a [`FreeWorkers`] view tells of its changes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Counting {
    /// Nothing (strategies scan).
    Not,
    /// Its dispatches, each one the previous pick's (the engine's fast path).
    Dispatches,
    /// A log of every backend changed (the event layer's).
    Log,
}

/// One-worker FCFS backends of one speed reduced to when their worker frees up: the start
/// and the work left are computed from it as the engine computes them, and the view counts
/// its changes as `counting` says (for strategies that keep an index of starts).
#[derive(Debug, Clone)]
pub(crate) struct FreeWorkers {
    pub free: Vec<f64>,
    pub speed: f64,
    pub now: f64,
    pub dispatched: u64,
    /// Every backend handed a request or crashed, in order.
    pub log: Vec<u32>,
    pub counting: Counting,
    /// Starts asked for so far (an index's questions).
    pub starts_asked: u64,
    /// Works left asked for so far (a scan's questions).
    pub works_asked: u64,
}

impl FreeWorkers {
    /// `n` idle backends of speed 1 at time 0.
    pub fn new(n: usize, counting: Counting) -> Self {
        FreeWorkers {
            free: vec![0.0; n],
            speed: 1.0,
            now: 0.0,
            dispatched: 0,
            log: Vec::new(),
            counting,
            starts_asked: 0,
            works_asked: 0,
        }
    }

    /// Backend `i` is handed `work` seconds of work (at its speed) now.
    pub fn dispatch(&mut self, i: usize, work: f64) {
        self.free[i] = self.free[i].max(self.now) + work;
        self.dispatched += 1;
        self.log.push(i as u32);
    }

    /// Backend `i` crashes now: its worker is free at once.
    pub fn crash(&mut self, i: usize) {
        self.free[i] = self.free[i].min(self.now);
        self.log.push(i as u32);
    }
}

impl Cluster for FreeWorkers {
    fn len(&self) -> usize {
        self.free.len()
    }
    fn in_system(&mut self, _: usize) -> u32 {
        unreachable!()
    }
    fn unfinished_work(&mut self, i: usize) -> f64 {
        self.works_asked += 1;
        (self.free[i] - self.now).max(0.0) * self.speed
    }
    fn earliest_start(&mut self, i: usize) -> f64 {
        self.starts_asked += 1;
        self.free[i].max(self.now)
    }
    fn capacity(&self, _: usize) -> f64 {
        unreachable!()
    }
    fn speed(&self, _: usize) -> f64 {
        unreachable!()
    }
    fn weight(&self, _: usize) -> f64 {
        unreachable!()
    }
    fn changes(&self) -> Option<u64> {
        match self.counting {
            Counting::Not => None,
            Counting::Dispatches => Some(self.dispatched),
            Counting::Log => Some(self.log.len() as u64),
        }
    }
    fn changed_since(&self, seen: u64) -> Option<&[u32]> {
        match self.counting {
            Counting::Not => None,
            Counting::Dispatches => (self.dispatched - seen <= 1).then_some(&[][..]),
            Counting::Log => self.log.get(seen as usize..),
        }
    }
}

/// FCFS backends with several workers each, as counts and departure times: a view that can
/// tell when counts change (for strategies that keep an index of the counts).
pub(crate) struct Servers {
    /// Per backend, when each worker frees up.
    pub free: Vec<Vec<f64>>,
    /// Per backend, the departures not yet past `now`.
    pub departures: Vec<Vec<f64>>,
    pub now: f64,
    pub dispatched: u64,
    /// Whether the view can tell when counts change (else strategies must scan).
    pub tells: bool,
    /// Counts asked for so far.
    pub asks: u64,
    /// Per backend, its workers' speed (1 unless set).
    pub speeds: Vec<f64>,
    /// Works left asked for so far.
    pub works_asked: u64,
    /// Every backend handed a request or crashed, in order, when the view keeps a log of
    /// its changes (the event layer's); `None`: the view counts only its dispatches, each
    /// the previous pick's (the fast path's).
    pub log: Option<Vec<u32>>,
}

impl Servers {
    pub fn new(workers: &[usize], tells: bool) -> Self {
        Servers {
            free: workers.iter().map(|&w| vec![0.0; w]).collect(),
            departures: vec![Vec::new(); workers.len()],
            now: 0.0,
            dispatched: 0,
            tells,
            asks: 0,
            speeds: vec![1.0; workers.len()],
            works_asked: 0,
            log: None,
        }
    }

    pub fn dispatch(&mut self, i: usize, work: f64) {
        let free = &mut self.free[i];
        let w = (0..free.len()).min_by(|&a, &b| free[a].total_cmp(&free[b])).unwrap();
        free[w] = free[w].max(self.now) + work;
        self.departures[i].push(free[w]);
        self.dispatched += 1;
        if let Some(log) = &mut self.log {
            log.push(i as u32);
        }
    }

    /// Backend `i` crashes now: the requests it holds are lost and its workers are free.
    /// Only a view with a log can say so.
    pub fn crash(&mut self, i: usize) {
        let log = self.log.as_mut().expect("a crash is a change only a log tells");
        for f in &mut self.free[i] {
            *f = f.min(self.now);
        }
        self.departures[i].clear();
        log.push(i as u32);
    }
}

impl Cluster for Servers {
    fn len(&self) -> usize {
        self.free.len()
    }
    fn in_system(&mut self, i: usize) -> u32 {
        self.asks += 1;
        let now = self.now;
        self.departures[i].retain(|&d| d > now);
        self.departures[i].len() as u32
    }
    /// As the engine reckons it: Σ (free − now)⁺ over the workers, in their order, times the
    /// speed.
    fn unfinished_work(&mut self, i: usize) -> f64 {
        self.works_asked += 1;
        let now = self.now;
        self.free[i].iter().map(|&f| (f - now).max(0.0)).sum::<f64>() * self.speeds[i]
    }
    fn earliest_start(&mut self, _: usize) -> f64 {
        unreachable!()
    }
    fn capacity(&self, i: usize) -> f64 {
        self.free[i].len() as f64 * self.speeds[i]
    }
    fn speed(&self, i: usize) -> f64 {
        self.speeds[i]
    }
    fn weight(&self, i: usize) -> f64 {
        self.free[i].len() as f64
    }
    fn changes(&self) -> Option<u64> {
        Some(self.log.as_ref().map_or(self.dispatched, |log| log.len() as u64))
    }
    fn changed_since(&self, seen: u64) -> Option<&[u32]> {
        match &self.log {
            Some(log) => log.get(seen as usize..),
            None => (self.dispatched.wrapping_sub(seen) <= 1).then_some(&[][..]),
        }
    }
    fn count_changes_at(&mut self, i: usize) -> Option<f64> {
        let now = self.now;
        self.tells.then(|| self.departures[i].iter().copied().filter(|&d| d > now).fold(f64::INFINITY, f64::min))
    }
    fn busy_workers(&mut self, i: usize) -> Option<super::BusyWorkers> {
        self.tells.then(|| super::BusyWorkers::of(self.free[i].iter().copied(), self.now))
    }
}

/// A sync (FCFS) backend; its weight defaults to its capacity, as in the model.
pub(crate) fn backend(name: &str, workers: u32, speed: f64) -> BackendInfo {
    let capacity = f64::from(workers) * speed;
    BackendInfo {
        name: name.to_string(),
        workers,
        speed,
        capacity,
        weight: capacity,
        configured_weight: None,
        fcfs: true,
        speed_changes: false,
    }
}

/// A sync backend with an explicit weight.
pub(crate) fn weighted(name: &str, weight: f64) -> BackendInfo {
    BackendInfo { weight, configured_weight: Some(weight), ..backend(name, 1, 1.0) }
}

/// `n` identical single-worker, speed-1 sync backends named `b0`, `b1`, ….
pub(crate) fn backends(n: usize) -> Vec<BackendInfo> {
    (0..n).map(|i| backend(&format!("b{i}"), 1, 1.0)).collect()
}

/// Registered strategy `name` with `params` over `infos` (exponential sizes of mean 1, the
/// strategy's stream seeded 1).
pub(crate) fn built(name: &str, infos: &[BackendInfo], params: &Params) -> AnyStrategy {
    let service = ServiceDistribution::exponential(1.0).expect("exponential(1.0) is valid");
    registry::build(name, &setup(infos, &service, params)).unwrap_or_else(|e| panic!("{name} does not build: {e}"))
}

/// What a strategy is built from over `infos`, with `service` and `params` (no client
/// addresses, the strategy's stream seeded 1).
pub(crate) fn setup<'a>(infos: &'a [BackendInfo], service: &'a ServiceDistribution, params: &'a Params) -> Setup<'a> {
    Setup { backends: infos, service, params, addresses: Default::default(), rng: rng(1) }
}

pub(crate) fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed)
}

pub(crate) fn request(client: u32, size: f64) -> Request {
    Request { arrival: 0.0, size, client }
}

/// Checks that `counts` (over `total` draws) match probabilities proportional to
/// `weights` within 5 binomial standard errors each.
pub(crate) fn assert_proportional(counts: &[u64], weights: &[f64]) {
    let total: u64 = counts.iter().sum();
    let sum_w: f64 = weights.iter().sum();
    for (i, (&c, &w)) in counts.iter().zip(weights).enumerate() {
        let p = w / sum_w;
        let expected = total as f64 * p;
        let se = (total as f64 * p * (1.0 - p)).sqrt();
        assert!(
            (c as f64 - expected).abs() <= 5.0 * se,
            "backend {i}: {c} picks, expected {expected:.0} ± {:.0} (5 SE)",
            5.0 * se
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServiceDistribution;
    use crate::strategy::{Params, Shares, Spacing, registry};

    /// Every registered strategy builds with default parameters on a 4-backend cluster and
    /// picks a valid backend.
    ///
    /// SITA is left out: with default parameters its build samples the service distribution
    /// 2^20 times for calibration; its own tests cover it with explicit cutoffs and the pure
    /// cutoff computation.
    #[test]
    fn every_strategy_builds_with_defaults() {
        let service = ServiceDistribution::exponential(1.0).expect("exponential(1.0) is valid");
        let infos = backends(4);
        let mut names = Vec::new();
        for info in registry::list() {
            names.push(info.name);
            assert!(!info.summary.is_empty() && info.summary != "TODO", "{}", info.name);
            if info.name == "sita" {
                continue;
            }
            let params = Params::new(info.name);
            let setup = setup(&infos, &service, &params);
            let mut strategy =
                registry::build(info.name, &setup).unwrap_or_else(|e| panic!("{} does not build: {e}", info.name));
            let mut cluster = MockCluster::from_backends(&infos);
            for client in 0..100 {
                let chosen = strategy.pick(&request(client, 1.0), &mut cluster);
                assert!(chosen < 4, "{} picked {chosen}", info.name);
                cluster.counts[chosen] += 1;
            }
        }
        for name in [
            "weighted_random",
            "weighted_round_robin",
            "least_connections",
            "power_of_d",
            "jiq",
            "least_work_left",
            "shortest_expected_delay",
            "sita",
            "ip_hash",
            "consistent_hash",
            "central_queue",
            "nginx_round_robin",
            "nginx_least_conn",
            "nginx_random_two",
            "nginx_ip_hash",
            "nginx_hash_consistent",
            "haproxy_roundrobin",
            "haproxy_static_rr",
            "haproxy_leastconn",
            "haproxy_first",
            "haproxy_random",
            "haproxy_hash",
            "envoy_least_request",
            "envoy_ring_hash",
            "envoy_maglev",
            "power_of_d_memory",
        ] {
            assert!(names.contains(&name), "{name} is not registered");
        }
    }

    /// The shares a strategy declares its rule fixes ([`super::super::Strategy::shares`],
    /// which the saturation verdict trusts over a run's own split) are the shares its picks
    /// take, over unequal weights (5 binomial standard errors each, 120 000 picks), spaced as
    /// declared (a drawn backend's gaps, in picks, geometric: squared coefficient of variation
    /// 1 − p within 0.05, about 4 standard errors over the 10 000 gaps of the smallest share;
    /// a dealt backend's at most 0.35, which the relaxation estimate takes for 0: HAProxy's
    /// static-rr spaces a weight of 3 in 12 at 0.29, which makes an exponential queue's
    /// relaxation time 15 % longer than estimated), and the
    /// rules whose shares are fixed declare them.
    #[test]
    fn declared_shares_are_the_shares_picks_take() {
        let service = ServiceDistribution::exponential(1.0).expect("exponential(1.0) is valid");
        let weights = [1.0, 2.0, 3.0, 1.0, 5.0];
        let infos: Vec<BackendInfo> = weights.iter().enumerate().map(|(i, &w)| weighted(&format!("b{i}"), w)).collect();
        let mut declared = Vec::new();
        for info in registry::list() {
            let params = Params::new(info.name);
            let setup = setup(&infos, &service, &params);
            let Some(Shares { of_requests: shares, spacing }) = registry::shares(info.name, &setup) else { continue };
            declared.push(info.name);
            assert_eq!(shares.len(), infos.len(), "{}", info.name);
            assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{}: {shares:?}", info.name);
            let mut strategy = registry::build(info.name, &setup).expect("builds");
            let mut cluster = MockCluster::from_backends(&infos);
            let mut counts = vec![0u64; infos.len()];
            let mut last = vec![None; infos.len()];
            let mut gaps = vec![(0.0, 0.0); infos.len()];
            for client in 0..120_000 {
                let b = strategy.pick(&request(client, 1.0), &mut cluster);
                counts[b] += 1;
                if let Some(before) = last[b].replace(client) {
                    let gap = (client - before) as f64;
                    gaps[b] = (gaps[b].0 + gap, gaps[b].1 + gap * gap);
                }
            }
            eprintln!("{}: shares {shares:?}, picks {counts:?}", info.name);
            assert_proportional(&counts, &shares);
            for ((&(sum, squares), &p), &n) in gaps.iter().zip(&shares).zip(&counts) {
                let n = (n - 1) as f64;
                let scv = (squares / n) / (sum / n).powi(2) - 1.0;
                match spacing {
                    Spacing::Drawn => {
                        assert!((scv - (1.0 - p)).abs() < 0.05, "{}: share {p}, gaps' scv {scv}", info.name)
                    }
                    Spacing::Dealt => assert!(scv <= 0.35, "{}: share {p}, gaps' scv {scv}", info.name),
                }
            }
        }
        declared.sort_unstable();
        assert_eq!(
            declared,
            [
                "haproxy_roundrobin",
                "haproxy_static_rr",
                "nginx_round_robin",
                "random",
                "round_robin",
                "weighted_random",
                "weighted_round_robin"
            ]
        );
    }

    /// Backends each of `picks` picks asks the cluster about (after a first pick, which may
    /// fill an index), on a cluster of `n` one-worker backends all busy (`busy`: one request
    /// in each, work and starts ahead) or all empty.
    fn asked_per_pick(name: &str, params: Params, n: usize, busy: bool) -> usize {
        let infos = backends(n);
        let mut strategy = built(name, &infos, &params);
        let mut cluster = MockCluster::from_backends(&infos);
        if busy {
            cluster.counts = vec![1; n];
            cluster.work = vec![1.0; n];
            cluster.starts = vec![1.0; n];
        }
        cluster.changes = Some(0);
        let mut most = 0;
        for client in 0..20 {
            cluster.queried.clear();
            strategy.pick(&request(client, 1.0), &mut cluster);
            if client > 0 {
                most = most.max(cluster.queried.len());
            }
            // Counts stay as they were (all busy or all empty); the pick was dispatched.
            cluster.changes = cluster.changes.map(|d| d + 1);
        }
        most
    }

    /// What each strategy declares of its pick's cost (for the estimate of a run's cost)
    /// agrees with the backends its pick asks the cluster about: a constant, logarithmic or
    /// own-list pick asks about a few at most, one that stops at an empty backend asks
    /// about one when all are empty and about all when none is, and one that asks all does
    /// so on a busy cluster — with the parameters that make a pick dearer too.
    #[test]
    fn each_declared_pick_cost_matches_the_backends_a_pick_asks_about() {
        use crate::strategy::PickCost;
        let n = 512;
        for info in registry::list() {
            if info.name == "sita" {
                continue; // (its default build calibrates on 2^20 samples; it asks nothing)
            }
            let busy = asked_per_pick(info.name, Params::new(info.name), n, true);
            match info.pick_cost {
                PickCost::Constant | PickCost::Logarithmic | PickCost::WalksWeightClasses | PickCost::WalksAll => {
                    assert!(busy <= 4, "{} declares {:?} but asks about {busy} of {n}", info.name, info.pick_cost)
                }
                // Its index of starts over one-worker backends of one speed follows the
                // mock's count of changes: a look at the previous pick a pick.
                PickCost::AsksUntilIdleOrIndexed
                    if info.indexed_when == crate::strategy::IndexedWhen::AlikeSyncBackends =>
                {
                    assert!(busy <= 4, "{} asks about {busy} of {n} through its index", info.name)
                }
                // (The mock cluster cannot tell when counts change, so no index is kept.)
                PickCost::AsksUntilIdle | PickCost::AsksUntilIdleOrIndexed => {
                    assert_eq!(busy, n, "{} on a busy cluster", info.name);
                    let idle = asked_per_pick(info.name, Params::new(info.name), n, false);
                    assert_eq!(idle, 1, "{} on an empty cluster", info.name);
                }
                PickCost::AsksAll | PickCost::AsksAllOrIndexed => {
                    assert!(busy >= n, "{} asks about {busy} of {n}", info.name)
                }
            }
            for &(param, cost) in info.pick_cost_with {
                assert_eq!(cost, PickCost::AsksAll, "{}: only asking all is checked here", info.name);
                let params = Params::new(info.name).with(param, crate::strategy::ParamValue::Number(1.25));
                assert_eq!(info.pick_cost_for(&params), PickCost::AsksAll);
                let asked = asked_per_pick(info.name, params, n, true);
                assert!(asked >= n, "{} with {param} asks about {asked} of {n}", info.name);
            }
        }
    }
}
