//! Balancing strategies: the rule that picks a backend for each arriving request.
//!
//! A strategy sees only the arriving [`Request`] and the small [`Cluster`] view: how many
//! requests each backend holds, how much work is left there, when a worker frees up, and the
//! backend's capacity and weight. It keeps whatever private state it needs (a round-robin
//! pointer, a hash ring, its own random stream).
//!
//! Adding a strategy is one new file in this folder implementing [`Strategy`] plus one line
//! in [`registry`].

mod params;
mod real_weights;
pub mod registry;
mod slow_start;
mod start_index;
mod work_index;

mod central_queue;
mod consistent_hash;
mod count_index;
mod envoy_bounded;
mod envoy_least_request;
mod envoy_maglev;
mod envoy_ring_hash;
mod haproxy_chash;
mod haproxy_first;
mod haproxy_hash;
mod haproxy_leastconn;
mod haproxy_random;
mod haproxy_roundrobin;
mod haproxy_static_rr;
mod hash_ring;
mod ip_hash;
mod jiq;
mod jsq;
mod least_connections;
mod least_work_left;
mod min_tree;
mod nginx_hash_consistent;
mod nginx_ip_hash;
mod nginx_least_conn;
mod nginx_random_two;
mod nginx_round_robin;
mod power_of_d;
mod power_of_d_memory;
mod random;
mod round_robin;
mod shortest_expected_delay;
mod sita;
mod swrr;
#[cfg(test)]
pub(crate) mod testing;
mod weighted_random;
mod weighted_round_robin;

pub use least_work_left::keeps_an_index as least_work_left_keeps_an_index;
pub use params::{ParamSpec, ParamValue, Params};
pub use registry::{AnyStrategy, StrategyInfo, build, find, list, shares};

/// When a strategy of [`PickCost::AsksUntilIdleOrIndexed`] keeps its index of the counts
/// (on the fast path), and what a pick costs otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexedWhen {
    /// Whatever the backends (jsq: the fewest requests win).
    Always,
    /// Only when every backend has the same weight (least connections compares count /
    /// weight); otherwise it scans up to the first empty backend.
    EqualWeights,
    /// Only when every backend has the same weight as a real balancer reads it (the
    /// configured `weight`, else 1: nginx least_conn, whose tie-break is then kept per
    /// count); otherwise it asks every backend.
    EqualConfiguredWeights,
    /// When every backend has the same capacity (shortest expected delay compares
    /// (count + 1) / capacity). Over unequal capacities it asks every backend, since an
    /// empty slow backend can lose to a busy fast one, except on the fast path above
    /// [`SCAN_ASKS_BEFORE_INDEX`] backends of at most [`MAX_CAPACITY_CLASSES`] distinct
    /// capacities, where it keeps an index of the counts per capacity (log n per pick, as
    /// [`PickCost::AsksAllOrIndexed`]).
    FewCapacities,
    /// Only over FCFS backends of one worker count that no fault slows down (least work
    /// left: over one worker of one speed its work left is its earliest start, an index of
    /// which is kept; over several workers whose capacities are one multiple of their
    /// speeds, an index of lower bounds of the time left, made exact where it decides; on
    /// the event layer too); otherwise it asks up to the first backend with no work.
    AlikeSyncBackends,
}

impl IndexedWhen {
    /// The words `lbsim strategies` adds to the cost of a pick.
    pub fn describe(self) -> &'static str {
        match self {
            IndexedWhen::Always => "",
            IndexedWhen::EqualWeights | IndexedWhen::EqualConfiguredWeights => {
                ", and only over backends of equal weight"
            }
            IndexedWhen::FewCapacities => {
                "; over backends of unequal capacity it asks every backend — an index per capacity instead, log n, \
                 above 64 backends of at most 16 capacities on the fast path"
            }
            IndexedWhen::AlikeSyncBackends => {
                "; over sync backends of one worker count, an index instead (of their starts over one worker of one \
                 speed, of bounds of their work left over several workers, capacity the workers times the speed), \
                 log n, on every path"
            }
        }
    }
}
/// Mean backends a scan for the fewest requests asks about a pick above which it keeps an
/// index instead ([`PickCost::AsksUntilIdleOrIndexed`]).
pub const SCAN_ASKS_BEFORE_INDEX: u64 = count_index::INDEX_ABOVE;
/// Distinct capacities above which shortest_expected_delay keeps no index of the counts
/// per capacity ([`IndexedWhen::FewCapacities`]).
pub const MAX_CAPACITY_CLASSES: usize = shortest_expected_delay::MAX_CLASSES;
/// Backends above which haproxy_first keeps an index ([`PickCost::AsksAllOrIndexed`]).
pub const FIRST_INDEXED_ABOVE: usize = haproxy_first::INDEX_ABOVE;

/// The slow-start window `params` set (seconds; `None` when off or not valid), for the
/// estimate of what a run costs: while a backend ramps, a pick weighs every backend.
pub fn slow_start_window(params: &Params) -> Option<f64> {
    params.duration("slow_start").ok().flatten().filter(|&w| w > 0.0)
}

use rand_xoshiro::Xoshiro256PlusPlus;

use crate::model::{ClientAddresses, Request, ServiceDistribution};

/// What a strategy may ask about the backends at the moment of a decision.
///
/// Backends are numbered `0..len()`. Queries that depend on time (`in_system`,
/// `unfinished_work`, `earliest_start`) answer for the current arrival time; the engine
/// brings only the backends a strategy actually asks about up to date, so strategies that
/// look at few backends (power-of-d) stay cheap on large clusters.
pub trait Cluster {
    /// Number of backends.
    fn len(&self) -> usize;
    /// True when the cluster has no backends (never, for a validated model).
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Requests at backend `i` now: in service plus waiting (what nginx calls connections).
    fn in_system(&mut self, i: usize) -> u32;
    /// A hint from a strategy that looks at the backends in index order (wrapping around)
    /// and is about to look at backend `i`: the engine fetches the state of the backends a
    /// little further on from memory meanwhile, which on a cluster too large for the
    /// caches hides most of the scan's wait. Changes nothing else (default: nothing).
    #[inline]
    fn scanning(&self, _i: usize) {}
    /// Work (seconds at speed 1.0) not yet done at backend `i` — an oracle quantity.
    fn unfinished_work(&mut self, i: usize) -> f64;
    /// The time a new request would start service at backend `i` if sent now (FCFS
    /// backends; for processor-sharing backends this is now). An oracle quantity.
    fn earliest_start(&mut self, i: usize) -> f64;
    /// Work per second backend `i` can do (workers × speed).
    fn capacity(&self, i: usize) -> f64;
    /// Speed of one worker of backend `i`.
    fn speed(&self, i: usize) -> f64;
    /// Configured weight of backend `i` (defaults to its capacity).
    fn weight(&self, i: usize) -> f64;
    /// The time backend `i` last came back into service in the balancer's eyes (marked up
    /// again by its health checks, or restarted by a deploy), in seconds since the start of
    /// the run: what slow start ramps from. nginx Plus and HAProxy ramp only a server that
    /// was seen down, never the servers present when they start, so a backend that has been
    /// up all along answers `-∞` (the default). For a backend believed down now, the time
    /// it is due back (or `+∞`).
    #[inline]
    fn up_since(&self, _i: usize) -> f64 {
        f64::NEG_INFINITY
    }
    /// A number that changes whenever any backend's [`up_since`](Self::up_since) does, so
    /// that a strategy with slow start looks at every backend's ramp only after a change
    /// (0 for a view whose backends never go down).
    #[inline]
    fn up_changes(&self) -> u64 {
        0
    }
    /// How many times the backends' state has changed other than by time passing (a
    /// request handed over, a crash, a new speed), if the view counts: with
    /// [`changed_since`](Self::changed_since), it lets a strategy keep an index of what it
    /// saw instead of looking at every backend at every pick. (The engine's views count.)
    fn changes(&self) -> Option<u64> {
        None
    }
    /// The backends changed after the first `seen` changes (as [`changes`](Self::changes)
    /// counted them when the strategy last looked), in order, perhaps with repeats, and
    /// perhaps without the strategy's own previous pick (which it must look at again anyway);
    /// `None` when the view cannot tell, and the strategy must look at every backend.
    ///
    /// This default suits a view whose every change is the strategy's own previous pick
    /// being handed its request (one balancer, no faults: the engine's fast path): nothing
    /// else changed if at most one change was made since.
    fn changed_since(&self, seen: u64) -> Option<&[u32]> {
        self.changes().filter(|&now| now.wrapping_sub(seen) <= 1).map(|_| &[][..])
    }
    /// The earliest time at which backend `i`'s [`in_system`](Self::in_system) may answer
    /// differently than it does now by time passing alone (its next departure, +∞ when it
    /// holds nothing), if the view can tell. With [`changes`](Self::changes), it lets a
    /// strategy that wants the fewest requests keep an index of the counts, updated at the
    /// backends changed and at those whose time has come, instead of asking every backend.
    /// `None` (the default) when counts may change otherwise (a balancer instance's own
    /// counts, caps, health).
    fn count_changes_at(&mut self, _i: usize) -> Option<f64> {
        None
    }
    /// The workers of sync (FCFS) backend `i` busy now, if the view can tell (an oracle
    /// quantity, as [`unfinished_work`](Self::unfinished_work), which is Σ (finish − now)
    /// over them, times the speed): with [`changes`](Self::changes) it lets a strategy keep
    /// an index of the work left over backends of several workers. `None` (the default)
    /// for a view that cannot tell and for a backend that is not FCFS.
    fn busy_workers(&mut self, _i: usize) -> Option<BusyWorkers> {
        None
    }
}

/// The workers of a sync backend busy at some time t (whose work finishes after t): what a
/// strategy needs to bound the backend's work left at any later time t′ while nothing is
/// handed to it, Σ (finish − t′)⁺ ≥ `finish_sum` − `count` × t′ (in seconds of its
/// workers' time), with equality until the first of them finishes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BusyWorkers {
    pub count: u32,
    /// The sum of their finish times (0 when none is busy).
    pub finish_sum: f64,
}

impl BusyWorkers {
    /// The busy workers among workers that finish their work at `finishes`, at `now`.
    pub fn of(finishes: impl IntoIterator<Item = f64>, now: f64) -> Self {
        let mut busy = BusyWorkers { count: 0, finish_sum: 0.0 };
        for f in finishes {
            if f > now {
                busy.count += 1;
                busy.finish_sum += f;
            }
        }
        busy
    }
}

/// What a strategy must know about the backends to decide, which limits what a balancer
/// instance with stale or partial information can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing about the backends' state (random, round robin, hashing, size intervals).
    Nothing,
    /// Requests in system per backend: exact, the instance's own (local), or stale counts
    /// all work (`in_system`).
    Counts,
    /// The backends' unfinished work or next start times: only an oracle with exact
    /// information knows them (`unfinished_work`, `earliest_start`).
    Oracle,
}

impl Needs {
    /// How `lbsim strategies` and error messages say it.
    pub fn describe(self) -> &'static str {
        match self {
            Needs::Nothing => "no backend state",
            Needs::Counts => "request counts (exact, local or stale)",
            Needs::Oracle => "oracle: unfinished work or start times (exact information only)",
        }
    }
}

/// How the work of one `pick` grows with the number of backends n, which is what the
/// estimate of a run's cost (`budget.rs`) charges each request for.
/// Ordered from the cheapest to the dearest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PickCost {
    /// The same whatever n: a draw, a counter, a table lookup, a few sampled backends.
    Constant,
    /// Grows as log n: a binary search of a ring or of cumulative weights, a tree.
    Logarithmic,
    /// Walks a list of its own with an entry per distinct weight on every request, without
    /// asking the cluster: nginx's smooth weighted round robin over whole-number weights.
    /// With other weights, or once a slow start has ramped a weight, an entry per backend:
    /// [`WalksAll`](Self::WalksAll).
    WalksWeightClasses,
    /// Walks a list of its own with an entry per backend (weights, positions) on every
    /// request, without asking the cluster.
    WalksAll,
    /// Asks the cluster about the backends in turn and stops at the first empty one (jsq,
    /// least connections with equal weights; jiq at the first with a free worker) while
    /// that takes a few asks; when the scans grow long (no empty backends: several workers
    /// each, a load near or above 1) and the engine's view allows, an index of the counts,
    /// a few tree steps of log n per pick.
    /// (Least connections with unequal weights, and any strategy on the event layer —
    /// balancer instances, network delays, faults, health checks, closed loops — keeps
    /// scanning: [`AsksUntilIdle`](Self::AsksUntilIdle).)
    AsksUntilIdleOrIndexed,
    /// Asks the cluster about the backends in turn and stops at the first empty one
    /// (least_work_left): a few while the cluster has empty backends, all n when it has
    /// none (backends with several workers, or a load near or above 1).
    AsksUntilIdle,
    /// Asks the backends in order up to the first below its cap (haproxy_first: most of
    /// them at a high load), or every backend (haproxy_leastconn). On the fast path above
    /// [`FIRST_INDEXED_ABOVE`] backends, without a slow start, an index of their counts
    /// instead (haproxy_first's as [`AsksUntilIdleOrIndexed`](Self::AsksUntilIdleOrIndexed)'s,
    /// haproxy_leastconn's HAProxy's tree), log n per backend changed; elsewhere
    /// [`AsksAll`](Self::AsksAll).
    AsksAllOrIndexed,
    /// Asks the cluster about every backend on every request (a full scan for the least
    /// loaded, the balancers' bounded loads that count every backend's requests). Each
    /// answer brings that backend up to date, which costs several times a step of
    /// [`WalksAll`](Self::WalksAll).
    AsksAll,
}

impl PickCost {
    /// How `lbsim strategies` says it.
    pub fn describe(self) -> &'static str {
        match self {
            PickCost::Constant => "constant",
            PickCost::Logarithmic => "grows as log n",
            PickCost::WalksWeightClasses => {
                "walks its own list of every distinct weight (of every backend once a slow start ramped, or with fractional weights)"
            }
            PickCost::WalksAll => "walks its own list of every backend",
            PickCost::AsksUntilIdleOrIndexed => {
                "asks backends up to the first empty one (an index, log n, when none is: on the fast path)"
            }
            PickCost::AsksUntilIdle => "asks backends up to the first empty one (all n when none is)",
            PickCost::AsksAllOrIndexed => {
                "asks backends in order, up to the first it can use or all of them — an index instead, log n, above \
                 64 backends on the fast path (without a slow start)"
            }
            PickCost::AsksAll => "asks every backend",
        }
    }
}

/// A balancing rule.
///
/// `pick` runs once per request in the simulation's hot loop: it must not allocate and
/// should touch as few backends as the rule needs.
pub trait Strategy: Send + Sized {
    /// The name used in experiment files (`"round_robin"`).
    const NAME: &'static str;
    /// One line for `lbsim strategies`.
    const SUMMARY: &'static str;
    /// The real configuration this strategy models (`"nginx: least_conn;"`), or what it is
    /// when no balancer ships it (a textbook policy, an oracle).
    const MODELS: &'static str;
    /// Parameters the strategy accepts (anything else is an error).
    const PARAMS: &'static [ParamSpec] = &[];
    /// Parameters of other strategies that the real system refuses for this one, with the
    /// reason the error gives (nginx: "slow_start cannot be used along with the hash,
    /// ip_hash, and random load balancing methods").
    const REFUSED: &'static [(&'static str, &'static str)] = &[];
    /// Whether `pick` looks at `Request::client`. The engine skips drawing client ids for
    /// strategies that don't (the client stream is separate, so the traffic other strategies
    /// see is unchanged).
    const USES_CLIENT: bool = false;
    /// What the strategy asks the [`Cluster`] about. Defaults to the most demanding, so a
    /// strategy is never run on information it cannot use until it says otherwise.
    const NEEDS: Needs = Needs::Oracle;
    /// How the work of a pick grows with the number of backends (for the estimate of a run's
    /// cost). Defaults to the dearest, so a strategy is never estimated cheaper than it is
    /// until it says otherwise.
    const PICK_COST: PickCost = PickCost::AsksAll;
    /// Parameters that make a pick dearer when they are given, with the cost they bring
    /// (a hash ring's bounded load counts every backend's requests on every pick).
    const PICK_COST_WITH: &'static [(&'static str, PickCost)] = &[];
    /// When the index of the counts of [`PickCost::AsksUntilIdleOrIndexed`] is kept.
    const INDEXED_WHEN: IndexedWhen = IndexedWhen::Always;
    /// Whether every choice is settled before its request comes: `pick` reads neither the
    /// request nor the cluster (random dispatch, round robin). The fast path then takes the
    /// choices a block at a time ([`Strategy::pick_ahead`]) and admits a block of requests
    /// in one loop, its statistics in another.
    const BLIND: bool = false;

    /// Builds the strategy for a cluster. Invalid parameters are reported here, when the
    /// experiment is loaded, never in the simulation loop.
    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError>;

    /// Each backend's long-run share of the requests when the rule fixes it without looking
    /// at the backends' state, the requests or the clients (random dispatch and round robin:
    /// equal shares; their weighted forms: in proportion to the weights), and how it spaces
    /// them, on backends that never fail; `None` (the default) for every other rule, whose
    /// shares only a run can measure.
    ///
    /// The saturation verdict judges by these which backends were offered more than they can
    /// do: a run's own split is noisy, and over 10⁵ backends hundreds receive more than
    /// their capacity by chance. Before a run, they tell how long each backend's queue takes
    /// to fill from empty ([`crate::relaxation`]).
    fn shares(_setup: &Setup<'_>) -> Option<Shares> {
        None
    }

    /// Chooses the backend (an index in `0..cluster.len()`) for `request`.
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize;

    /// The backends a coming `pick` will choose or look at (the next one, or one a few picks
    /// later), when the rule knows them before seeing the request and the cluster (random
    /// dispatch and power of d draw ahead; central_queue foresees its next picks), each
    /// passed to `note`. Only a hint, asked after every pick, and only on clusters too large
    /// for the caches: the engine fetches those backends' state from memory while it
    /// simulates the requests before, which hides most of the wait. A strategy may move its
    /// look-ahead on here (so small clusters do not pay for it), but never anything a pick
    /// depends on: the choices are the same whether this is asked or not.
    fn upcoming(&mut self, _note: impl FnMut(usize)) {}

    /// For a [`BLIND`](Self::BLIND) strategy: the choices of its next `chosen.len()` picks,
    /// in order, exactly those `pick` would make one at a time. (The default asks `pick`
    /// with a cluster that answers nothing, its `pick` inlined into the loop; round robin
    /// uses it.)
    #[inline]
    fn pick_ahead(&mut self, chosen: &mut [u32]) {
        debug_assert!(Self::BLIND, "{} is not blind", Self::NAME);
        let request = Request { arrival: 0.0, size: 0.0, client: 0 };
        for slot in chosen {
            *slot = self.pick(&request, &mut Unseen) as u32;
        }
    }
}

/// Each backend's long-run share of the requests under a rule that fixes them, and how the
/// rule spaces a backend's requests among the others' ([`Strategy::shares`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Shares {
    /// Backend i's share of the requests (they sum to 1).
    pub of_requests: Vec<f64>,
    pub spacing: Spacing,
}

/// How a rule that fixes the shares spaces a backend's requests: what makes its arrivals
/// smoother or burstier than the cluster's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spacing {
    /// Each request's backend drawn independently (random dispatch): a backend with share
    /// p gets the arrival stream thinned at random, its gaps a geometric number of the
    /// cluster's gaps (squared coefficient of variation 1 − p in requests).
    Drawn,
    /// Dealt in turn (round robin and its weighted forms): a backend with share p gets about
    /// every (1/p)-th request, its gaps close to 1/p of the cluster's gaps.
    Dealt,
}

impl Shares {
    /// Shares in proportion to `weights`, each request's backend drawn independently.
    pub(crate) fn drawn(weights: impl IntoIterator<Item = f64>) -> Self {
        Shares { of_requests: proportional(weights), spacing: Spacing::Drawn }
    }

    /// Shares in proportion to `weights`, dealt in turn.
    pub(crate) fn dealt(weights: impl IntoIterator<Item = f64>) -> Self {
        Shares { of_requests: proportional(weights), spacing: Spacing::Dealt }
    }
}

fn proportional(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let weights: Vec<f64> = weights.into_iter().collect();
    let total: f64 = weights.iter().sum();
    weights.iter().map(|w| w / total).collect()
}

/// The cluster a [`Strategy::BLIND`] strategy's `pick` is given by the default
/// [`Strategy::pick_ahead`]: such a rule never asks, so any question is a bug.
struct Unseen;

impl Cluster for Unseen {
    fn len(&self) -> usize {
        unreachable!("a blind strategy asked the cluster")
    }
    fn in_system(&mut self, _i: usize) -> u32 {
        unreachable!("a blind strategy asked the cluster")
    }
    fn unfinished_work(&mut self, _i: usize) -> f64 {
        unreachable!("a blind strategy asked the cluster")
    }
    fn earliest_start(&mut self, _i: usize) -> f64 {
        unreachable!("a blind strategy asked the cluster")
    }
    fn capacity(&self, _i: usize) -> f64 {
        unreachable!("a blind strategy asked the cluster")
    }
    fn speed(&self, _i: usize) -> f64 {
        unreachable!("a blind strategy asked the cluster")
    }
    fn weight(&self, _i: usize) -> f64 {
        unreachable!("a blind strategy asked the cluster")
    }
}

/// Code generic over the strategy's type, run by [`AnyStrategy::visit`] on the wrapped one.
pub trait StrategyVisitor {
    type Output;
    fn visit<S: Strategy>(self, strategy: &mut S) -> Self::Output;
}

/// Static facts about one backend, for building a strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendInfo {
    pub name: String,
    pub workers: u32,
    pub speed: f64,
    pub capacity: f64,
    pub weight: f64,
    /// The weight the experiment file gives (`weight = …`), if any. Strategies named after
    /// a real balancer use it, or 1 when absent, as nginx, HAProxy and Envoy do.
    pub configured_weight: Option<f64>,
    /// True for sync (FCFS) workers, false for async (processor sharing).
    pub fcfs: bool,
    /// True when a fault changes the backend's speed during the run (`slowdown`): its work
    /// left then no longer follows from when it would start a request.
    pub speed_changes: bool,
}

/// Everything a strategy may use when it is built.
pub struct Setup<'a> {
    pub backends: &'a [BackendInfo],
    /// The request-size distribution (for SITA's equal-load cutoffs).
    pub service: &'a ServiceDistribution,
    pub params: &'a Params,
    /// The IPv4 address of each client (for address-hashing strategies).
    pub addresses: ClientAddresses,
    /// The strategy's own random stream (independent of the traffic's streams).
    pub rng: Xoshiro256PlusPlus,
}

/// A strategy that cannot be built as asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StrategyError {
    #[error("unknown strategy \"{name}\"{}", did_you_mean(suggestion))]
    Unknown { name: String, suggestion: Option<String> },
    #[error(
        "strategy \"{strategy}\" has no parameter \"{param}\"{} (it takes: {accepted}){}",
        did_you_mean(suggestion),
        elsewhere.as_ref().map(|o| format!("; \"{param}\" is a parameter of {o}")).unwrap_or_default()
    )]
    UnknownParam {
        strategy: String,
        param: String,
        suggestion: Option<String>,
        accepted: String,
        /// Strategies that do take this parameter (a user who mixed up two strategies).
        elsewhere: Option<String>,
    },
    #[error("strategy \"{strategy}\", parameter \"{param}\": {what}")]
    BadParam { strategy: String, param: String, what: String },
    #[error("strategy \"{strategy}\": {what}")]
    Unsupported { strategy: String, what: String },
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    suggestion.as_ref().map(|s| format!("; did you mean \"{s}\"?")).unwrap_or_default()
}

/// The backend with the smallest key, scanning all `n` from the one after `last` and wrapping
/// around, so that ties go to the first backend after the previous choice: identical idle
/// backends then take turns instead of the lowest index taking everything. `better(a, b)`
/// says whether key `a` beats `b`; the scan stops early once `unbeatable(best)` (an empty
/// backend, say). Updates `last` to the choice.
#[inline]
pub(crate) fn rotating_argmin<K>(
    n: usize,
    last: &mut usize,
    key: impl FnMut(usize) -> K,
    better: impl Fn(&K, &K) -> bool,
    unbeatable: impl Fn(&K) -> bool,
) -> usize {
    rotating_argmin_asking(n, last, key, better, unbeatable).0
}

/// [`rotating_argmin`], with the number of backends it asked about (its scan's length,
/// known from where it stopped: a caller that does not use it pays nothing for it).
#[inline]
pub(crate) fn rotating_argmin_asking<K>(
    n: usize,
    last: &mut usize,
    mut key: impl FnMut(usize) -> K,
    better: impl Fn(&K, &K) -> bool,
    unbeatable: impl Fn(&K) -> bool,
) -> (usize, usize) {
    // `key` is called in one place, so that the compiler inlines it into the loop (the
    // keys a counting strategy reads are a backend's state, inlined at the call).
    let start = if *last + 1 >= n { 0 } else { *last + 1 };
    let mut i = start;
    let mut best = i;
    let mut stopped = false;
    let mut best_key: Option<K> = None;
    for _ in 0..n {
        let k = key(i);
        let Some(b) = &best_key else {
            best_key = Some(k);
            if unbeatable(best_key.as_ref().expect("just set")) {
                stopped = true;
                break;
            }
            i = if i + 1 == n { 0 } else { i + 1 };
            continue;
        };
        if better(&k, b) {
            best = i;
            best_key = Some(k);
            if unbeatable(best_key.as_ref().expect("just set")) {
                stopped = true;
                break;
            }
        }
        i = if i + 1 == n { 0 } else { i + 1 };
    }
    *last = best;
    // An early stop is at the unbeatable key, the best.
    let asked = if stopped { (best + n - start) % n + 1 } else { n };
    (best, asked)
}

/// What a strategy that keeps an index of the backends has seen of the view's changes
/// ([`Cluster::changes`]), and the backends changed since, which its index must look at
/// again (central_queue's starts, jsq's counts).
#[derive(Debug, Default)]
pub(crate) struct SeenChanges {
    /// The view's count of changes when the index last caught up (None: never; not filled).
    seen: Option<u64>,
    /// The backends changed before that, copied from the view (which cannot lend them
    /// while it answers for them); kept to reuse its memory.
    stale: Vec<u32>,
}

impl SeenChanges {
    /// Catches up with the view, whose count of changes is `changes` now: true when the
    /// backends changed since the last catch-up are known ([`stale`](Self::stale), perhaps
    /// without the strategy's previous pick, which it must look at again anyway), false when
    /// the view cannot tell and the index must look at every backend.
    #[inline]
    pub(crate) fn catch_up<C: Cluster + ?Sized>(&mut self, changes: u64, cluster: &C) -> bool {
        let known = match self.seen.and_then(|seen| cluster.changed_since(seen)) {
            Some(changed) => {
                self.stale.clear();
                self.stale.extend_from_slice(changed);
                true
            }
            None => false,
        };
        self.seen = Some(changes);
        known
    }

    /// The backends changed before the last catch-up (when it returned true).
    #[inline]
    pub(crate) fn stale(&self) -> &[u32] {
        &self.stale
    }

    /// The view's count at the last catch-up (None: the index was never filled).
    #[inline]
    pub(crate) fn seen(&self) -> Option<u64> {
        self.seen
    }
}

/// `a.0 / a.1 < b.0 / b.1` for positive denominators, without dividing.
#[inline]
pub(crate) fn ratio_less(a: &(f64, f64), b: &(f64, f64)) -> bool {
    a.0 * b.1 < b.0 * a.1
}

/// A uniform index in `0..n` (n ≥ 1) from one 64-bit draw, by Lemire's multiply-shift.
///
/// Cheaper than `random_range` (no rejection loop) for the per-request picks of random-based
/// strategies. The bias is at most n / 2⁶⁴ per index (below 10⁻¹³ for a million backends),
/// far beneath anything a simulation can detect.
#[inline]
pub fn uniform_index<R: rand::Rng + ?Sized>(rng: &mut R, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// The closest of `candidates` to `word`, if any is close enough to be a plausible typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::normalized_damerau_levenshtein(word, c), c))
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request};

    /// A blind rule of its own (the next of a fixed cycle), with the default `pick_ahead`.
    struct Cycle {
        next: usize,
    }

    impl Strategy for Cycle {
        const NAME: &'static str = "cycle";
        const SUMMARY: &'static str = "a test rule";
        const MODELS: &'static str = "nothing";
        const NEEDS: Needs = Needs::Nothing;
        const BLIND: bool = true;

        fn build(_setup: &Setup<'_>) -> Result<Self, StrategyError> {
            Ok(Cycle { next: 0 })
        }

        fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, _cluster: &mut C) -> usize {
            self.next += 1;
            [3, 1, 4, 1, 5][self.next % 5]
        }
    }

    /// The default `pick_ahead` makes the picks `pick` makes, in order, and continues them.
    #[test]
    fn the_default_pick_ahead_is_the_picks_in_turn() {
        let (mut one, mut ahead) = (Cycle { next: 0 }, Cycle { next: 0 });
        let mut cluster = MockCluster::uniform(6);
        let picks: Vec<u32> = (0..23).map(|_| one.pick(&request(0, 1.0), &mut cluster) as u32).collect();
        let mut taken = vec![0; 10];
        ahead.pick_ahead(&mut taken);
        let mut more = vec![0; 13];
        ahead.pick_ahead(&mut more);
        taken.extend(more);
        assert_eq!(taken, picks);
    }
}
