//! What a run or a sweep will cost, estimated before anything runs, so that a typo
//! (`replications = 1000000`, a 1000 × 1000 grid, `--jobs 100000000`) is caught with the
//! estimate in front of the user instead of an hour of silence or an exhausted machine.
//!
//! The figures are deliberately rough and on the pessimistic side; they only have to tell
//! minutes from days. Past the limits below a command asks for `--yes`.
//!
//! A request costs a fixed part (any path through the engine, at any cluster size), what
//! its strategy's pick adds as the cluster grows (the strategy's [`PickCost`]: nothing, a
//! search of log n steps, the backends up to an empty one, or every backend), and the
//! waits for memory of a cluster too large for the caches. A run adds the set-up and the
//! section boundaries, which visit every backend. The pick's and the run's parts are
//! calibrated by instruction counts of the engine (`scripts/instructions.sh STRATEGY N`:
//! callgrind on `benches/scale.rs`'s cases, the difference of two run lengths; measured at
//! dd57061, before the engine's inlined counts took 5–15 % off the scans at 16 backends),
//! which do not depend on the machine's load; the waits for memory
//! are not in instruction counts, so they are an allowance taken from the measured speeds
//! of README "Scale" and docs/performance-log.md.

use crate::engine;
use crate::experiment::{Experiment, StrategySpec, Warmup};
use crate::model::{FaultKind, Information, Model};
use crate::strategy::{IndexedWhen, MAX_CAPACITY_CLASSES, PickCost, SCAN_ASKS_BEFORE_INDEX};

/// Simulated requests per second per core of the fixed part of a request on the fast path
/// (one balancer with exact state, open loop, sync and async backends): the engine benchmark
/// does 12.6–46 M/s on one core for 16 backends there (least_connections the slowest,
/// random the fastest; README "Speed"), what a pick adds on a larger cluster charged apart.
pub const REQUESTS_PER_SECOND_PER_CORE: f64 = 10e6;
/// The same on the event layer's paths (balancer instances, network delays, faults, health
/// checks, closed loops) and for gunicorn stations: 2.7–7.6 M/s measured on an idle machine
/// (README "Speed": stations under jsq the slowest, four instances the fastest), 1.8–2.3
/// when the machine was shared.
pub const EVENT_REQUESTS_PER_SECOND_PER_CORE: f64 = 2.5e6;
/// Instructions per second one core runs in the engine, to turn the instructions a pick
/// adds into time. At 16 backends (no wait for memory) the README's idle-machine speeds
/// times the instructions a request takes give 9.7 G/s (power_of_d: 601 instructions,
/// 16.1 M/s) to 12.8 G/s (jsq: 930, 13.8 M/s); halved here for scan loops, whose chains of
/// compares run fewer a cycle, and for a busier or slower machine.
pub const INSTRUCTIONS_PER_SECOND: f64 = 5e9;
/// Instructions per backend a pick asks the cluster about (each answer brings the backend
/// up to date first): measured at 4096 backends against 16, shortest_expected_delay 360 823
/// a request against 1681, 88 an answer (over equal capacities, which it asked in full
/// then; it asks every backend now only over unequal ones); nginx_least_conn 346 805
/// against 1650, 85.
pub const INSTRUCTIONS_PER_ASK: f64 = 90.0;
/// Instructions per entry of a strategy's own list walked on each pick: the dearest
/// measured at 4096 backends against 16, when they walked every backend: haproxy_roundrobin
/// 70 069 a request against 632, 17 an entry (two walks, for the first of two trees; it
/// keeps ordered sets above 64 servers now); nginx_round_robin and weighted_round_robin
/// 39 284 against 445, 9.5 (they walk every backend now only once a slow start has ramped
/// a weight, or over fractional weights).
pub const INSTRUCTIONS_PER_WALK_STEP: f64 = 17.0;
/// Instructions per step (per doubling of the backends) of a logarithmic pick, the dearest
/// measured: from 16 to 4096 backends (8 doublings) central_queue goes from 633 to 879
/// instructions a request (31 a step), nginx_random_two from 536 to 675 (17),
/// consistent_hash from 470 to 590 (15), nginx_hash_consistent from 703 to 799 (12), sita
/// from 299 to 376 (10) — random itself from 290 to 349, which the fixed part covers.
pub const INSTRUCTIONS_PER_LOG_STEP: f64 = 31.0;
/// A pick through an index of the counts (jsq, least_connections when no backend is empty),
/// in log steps of [`INSTRUCTIONS_PER_LOG_STEP`]: it looks again at its previous pick and at
/// the backends requests left since (about one a pick; [`INDEX_ASKS`] asks), each two tree
/// updates, and searches two trees. Measured on `benches/scale.rs`'s `jsq ×4 workers` (four
/// workers per backend at load 0.9): 1596 instructions a request at 256 backends, 1864 at
/// 4096 and 2352 at 65 536, 94 a doubling, three of central_queue's steps.
pub const INDEX_STEPS_PER_LOG_STEP: f64 = 3.0;
/// Backends a pick through an index of the counts asks about (see above).
pub const INDEX_ASKS: f64 = 2.0;
/// Instructions per backend a pick weighs while a backend ramps under a slow start (its
/// ramped weight from the time it came up): charged as a step of a walk. Measured with
/// `lbsim run` on 1024 one-worker backends under random failures (mtbf 60 s, mttr 1 s,
/// active health checks: some backend always ramping), weighted_round_robin with
/// `slow_start = "10s"` took 1.7 µs a request more than without (CPU time, shared machine),
/// 1.7 ns a backend; the estimate charges 3.5 µs.
pub const RAMP_INSTRUCTIONS_PER_BACKEND: f64 = INSTRUCTIONS_PER_WALK_STEP;
/// Instructions per backend per run, beyond the requests (building the backends and the
/// strategy, the 20 section boundaries that visit every backend): the instructions of a
/// run less its requests' share, 4034 a backend more at 4096 backends than at 16 for
/// random, 4360 for sita, 4840 for consistent_hash (its ring), 4980 for ip_hash.
pub const INSTRUCTIONS_PER_BACKEND_PER_RUN: f64 = 5000.0;
/// The allowance for memory waits (seconds per request) on a cluster far beyond the
/// caches, reached as `n / (n + CACHED_BACKENDS)`. docs/performance-log.md (2026-11-26, idle): random
/// takes 26 ns a request at 16 backends, 67 ns at 65 536 and 212 ns at 10⁶ with the same
/// instructions, waits of 41 and 186 ns that 250 ns × n / (n + 350 000) fits; doubled,
/// for strategies that look at a few backends (power_of_d) or at the deep steps of a
/// search beyond the caches.
pub const MEMORY_WAIT_PER_REQUEST: f64 = 0.5e-6;
/// Backends at which half of [`MEMORY_WAIT_PER_REQUEST`] is reached (see there).
pub const CACHED_BACKENDS: f64 = 350_000.0;
/// The allowance for memory per backend a pick asks about beyond the caches: a cache line
/// streamed at 10 GB/s (a scan reads the backends in order, and the engine fetches ahead).
pub const MEMORY_WAIT_PER_ASK: f64 = 6.4e-9;
/// The same per entry of a strategy's own list (16 bytes at 10 GB/s).
pub const MEMORY_WAIT_PER_WALK_STEP: f64 = 1.6e-9;
/// Longest estimated wall time that starts without `--yes`.
pub const MAX_SECONDS: f64 = 3600.0;
/// Most runs (point × strategy × replication) that start without `--yes`.
pub const MAX_RUNS: u64 = 100_000;
/// Most grid points a sweep resolves without `--yes` (each point is a resolved experiment in
/// memory before the first run starts).
pub const MAX_POINTS: usize = 10_000;
/// Most threads a sweep starts even with `--yes`.
pub const MAX_JOBS: usize = 1024;

/// The estimated cost of a batch of runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Cost {
    /// Runs (point × strategy × replication; precision rounds may add more).
    pub runs: u64,
    /// Requests simulated over all runs (warm-up and MSER pilots included).
    pub requests: f64,
    /// Estimated wall time on `jobs` threads.
    pub seconds: f64,
    /// Estimated memory of one run in progress (bytes).
    pub bytes_per_run: f64,
    pub jobs: usize,
}

/// Requests one replication of `e` simulates: warm-up plus measured, plus the MSER-5 pilot
/// when the warm-up is automatic.
fn requests_per_replication(e: &Experiment) -> f64 {
    let requests = e.plan.requests as f64;
    match e.plan.warmup {
        Warmup::Fixed(w) => w as f64 + requests,
        Warmup::Auto => 2.5 * requests,
    }
}

/// Memory of one run of `e` in progress: every backend's state and its share of the run's
/// per-backend accounting, and the response-time histograms (20 sections). Measured with
/// `benches/scale.rs`: about 700 bytes per one-worker backend at 65 536 backends and 570 at
/// 10⁶, histograms included; counted here as 768 bytes per backend and 64 per worker. The
/// departure rings and heaps grow with the requests inside, not with the backlog, so they
/// are not counted: queues that fill their backlogs add 8–16 bytes per request inside.
pub fn bytes_per_run(e: &Experiment) -> f64 {
    let backends: f64 =
        e.model.backends.iter().map(|g| f64::from(g.count) * (768.0 + 64.0 * f64::from(g.workers))).sum();
    const HISTOGRAMS: f64 = 21.0 * 250e3;
    backends + HISTOGRAMS
}

/// The share of a cluster of `n` backends that waits for memory: 0 for a cluster the
/// caches hold, towards 1 far beyond them.
fn beyond_the_caches(n: f64) -> f64 {
    n / (n + CACHED_BACKENDS)
}

/// Backends a pick that stops at the first empty one asks about on `e`'s cluster: about
/// 1 / (share of backends that are empty). With one worker each at load ρ, a share 1 − ρ
/// is empty: about 10 at load 0.9 (measured at 4096 backends, over random's instructions:
/// jsq and least_connections ask about 4, least_work_left 6.5, jiq 15, as its scan starts
/// at a random backend, not after its last choice where empty backends gather); with more
/// requests in service per backend than one on average, empty backends are rare (the
/// strategy keeps the counts level) and the pick looks at every backend, as it does for
/// closed-loop users, whose load is not known beforehand (pessimistic).
fn asked_until_idle(model: &Model, n: f64) -> f64 {
    let workers: f64 = model.backends.iter().map(|g| f64::from(g.count) * f64::from(g.workers.max(1))).sum();
    let busy_per_backend = model.offered_load() * workers / n;
    if busy_per_backend.is_nan() || busy_per_backend >= 1.0 { n } else { (1.0 / (1.0 - busy_per_backend)).min(n) }
}

/// The cost class of a pick of `strategy` on `e`: its declared one with its parameters,
/// where an index of the counts is charged only where the engine keeps one (the fast path's
/// view; over backends of equal weight when the strategy weighs them). Unregistered names
/// are charged as the dearest.
pub fn pick_cost(e: &Experiment, strategy: &StrategySpec) -> PickCost {
    let Ok(info) = crate::strategy::find(&strategy.name) else { return PickCost::AsksAll };
    let cost = info.pick_cost_for(&strategy.params);
    let model = strategy.model(&e.model);
    let weights = || model.backends.iter().map(|g| g.weight());
    let condition_holds = match info.indexed_when {
        IndexedWhen::Always => true,
        IndexedWhen::EqualWeights => all_equal(weights()),
        IndexedWhen::EqualConfiguredWeights => all_equal(model.backends.iter().map(|g| g.weight.unwrap_or(1.0))),
        IndexedWhen::FewCapacities => all_equal(model.backends.iter().map(|g| model.group_capacity(g))),
        // least_work_left's own rule, over one stand-in backend per group (it asks only
        // that every backend be alike; a slowdown anywhere counts against every group).
        IndexedWhen::AlikeSyncBackends => {
            let slowed = model.faults.iter().any(|f| matches!(f.kind, FaultKind::Slowdown { .. }));
            let groups: Vec<_> =
                model.backends.iter().map(|g| crate::runner::backend_info(&model, g, String::new(), slowed)).collect();
            crate::strategy::least_work_left_keeps_an_index(&groups)
        }
    };
    // Least work left's indexes follow the event layer's log of changes too.
    let indexed = (engine::fast_path(&model) || info.indexed_when == IndexedWhen::AlikeSyncBackends) && condition_holds;
    // A weighted round robin walks every backend once a slow start has ramped a weight,
    // and always over weights that are not whole numbers.
    let whole_weights = weights().all(|w| w.fract() == 0.0);
    let ramps = crate::strategy::slow_start_window(&strategy.params).is_some_and(|w| ramp_share(e, w) > 0.0);
    match cost {
        // Unequal capacities: every backend asked, or an index per capacity.
        PickCost::AsksUntilIdleOrIndexed if !condition_holds && info.indexed_when == IndexedWhen::FewCapacities => {
            let capacities = distinct(model.backends.iter().map(|g| model.group_capacity(g)));
            if engine::fast_path(&model)
                && model.backend_count() > SCAN_ASKS_BEFORE_INDEX as usize
                && capacities <= MAX_CAPACITY_CLASSES
            {
                PickCost::AsksAllOrIndexed
            } else {
                PickCost::AsksAll
            }
        }
        PickCost::AsksUntilIdleOrIndexed if !indexed => PickCost::AsksUntilIdle,
        PickCost::AsksAllOrIndexed
            if !condition_holds
                || !engine::fast_path(&model)
                || model.backend_count() <= crate::strategy::FIRST_INDEXED_ABOVE
                || crate::strategy::slow_start_window(&strategy.params).is_some() =>
        {
            PickCost::AsksAll
        }
        PickCost::WalksWeightClasses if !whole_weights || ramps => PickCost::WalksAll,
        cost => cost,
    }
}

/// Whether every value is the same (true for none).
fn all_equal(mut values: impl Iterator<Item = f64>) -> bool {
    let first = values.next();
    values.all(|v| Some(v) == first)
}

/// The distinct backend weights of `model` (at most its groups' count).
fn weight_classes(model: &Model) -> f64 {
    distinct(model.backends.iter().map(|g| g.weight())).max(1) as f64
}

/// How many distinct values there are.
fn distinct(values: impl Iterator<Item = f64>) -> usize {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    values.len()
}

/// The share of `e`'s run during which some backend ramps up under a slow start of
/// `window` seconds (every pick then weighs every backend): the ramps that the faults'
/// restarts start, as if none overlapped, over the run's length at its arrival rate (for
/// closed-loop users, at the cluster's capacity: the shortest run), at most 1. Backends
/// present from the start never ramp; health checks only mark up backends a fault took
/// down.
pub fn ramp_share(e: &Experiment, window: f64) -> f64 {
    let model = &e.model;
    let rate = match model.closed_loop() {
        Some(_) => model.demand_and_max_throughput().1,
        None => model.arrivals.mean_rate(),
    };
    let length = requests_per_replication(e) / rate;
    let ramping: f64 = model
        .faults
        .iter()
        .map(|f| {
            let backends = f64::from(f.backends.end - f.backends.start);
            match &f.kind {
                FaultKind::Outage { .. } | FaultKind::Deploy { .. } => backends * window,
                // Each backend comes back once per cycle of up and down time.
                FaultKind::Failures { mtbf, mttr } => backends * window * length / (mtbf.mean() + mttr.mean()),
                FaultKind::Slowdown { .. } => 0.0,
            }
        })
        .sum();
    if length > 0.0 { (ramping / length).min(1.0) } else { 1.0 }
}

/// Seconds one request of `e` running `strategy` takes, on one core: [`seconds_per_request`]
/// of its [`pick_cost`], and while backends ramp under a slow start, a weighing of every
/// backend per pick.
pub fn seconds_per_request_of(e: &Experiment, strategy: &StrategySpec) -> f64 {
    let n = e.model.backend_count().max(1) as f64;
    let ramps = crate::strategy::slow_start_window(&strategy.params).map_or(0.0, |w| ramp_share(e, w));
    let ramping = n
        * (RAMP_INSTRUCTIONS_PER_BACKEND / INSTRUCTIONS_PER_SECOND + beyond_the_caches(n) * MEMORY_WAIT_PER_WALK_STEP);
    seconds_per_request(&strategy.model(&e.model), pick_cost(e, strategy)) + ramps * ramping
}

/// Seconds one request of a run of `model` takes with a pick of cost `cost`, on one core.
pub fn seconds_per_request(model: &Model, cost: PickCost) -> f64 {
    let n = model.backend_count().max(1) as f64;
    let (steps, walked, asked) = match cost {
        PickCost::Constant => (0.0, 0.0, 0.0),
        PickCost::Logarithmic => (n.log2(), 0.0, 0.0),
        PickCost::WalksWeightClasses => (0.0, weight_classes(model), 0.0),
        PickCost::WalksAll => (0.0, n, 0.0),
        PickCost::AsksUntilIdleOrIndexed => match asked_until_idle(model, n) {
            asked if asked <= SCAN_ASKS_BEFORE_INDEX as f64 => (0.0, 0.0, asked),
            _ => (INDEX_STEPS_PER_LOG_STEP * n.log2(), 0.0, INDEX_ASKS),
        },
        PickCost::AsksUntilIdle => (0.0, 0.0, asked_until_idle(model, n)),
        PickCost::AsksAllOrIndexed => (INDEX_STEPS_PER_LOG_STEP * n.log2(), 0.0, INDEX_ASKS),
        PickCost::AsksAll => (0.0, 0.0, n),
    };
    let instructions =
        steps * INSTRUCTIONS_PER_LOG_STEP + walked * INSTRUCTIONS_PER_WALK_STEP + asked * INSTRUCTIONS_PER_ASK;
    let memory = beyond_the_caches(n)
        * (MEMORY_WAIT_PER_REQUEST + walked * MEMORY_WAIT_PER_WALK_STEP + asked * MEMORY_WAIT_PER_ASK);
    fixed_seconds(model) + instructions / INSTRUCTIONS_PER_SECOND + memory
}

/// The fixed part of a request of `model` (see [`REQUESTS_PER_SECOND_PER_CORE`] and
/// [`EVENT_REQUESTS_PER_SECOND_PER_CORE`]).
fn fixed_seconds(model: &Model) -> f64 {
    let stations = model.backends.iter().any(|g| engine::runs_on_station(g, model.io_fraction, model.cancels()));
    if engine::fast_path(model) && !stations {
        1.0 / REQUESTS_PER_SECOND_PER_CORE
    } else {
        1.0 / EVENT_REQUESTS_PER_SECOND_PER_CORE
    }
}

/// Seconds one run of `e` takes beyond its requests (set-up, section boundaries), on one
/// core: the per-backend instructions, and a request's memory wait per backend beyond the
/// caches (each is visited a few times, far apart).
pub fn seconds_per_run(e: &Experiment) -> f64 {
    let n = e.model.backend_count() as f64;
    n * (INSTRUCTIONS_PER_BACKEND_PER_RUN / INSTRUCTIONS_PER_SECOND + beyond_the_caches(n) * MEMORY_WAIT_PER_REQUEST)
}

/// Events a replication of `model` of `requests` requests handles on timers, beyond its
/// requests: a bulletin board's refreshes (`info = { period }`) and active probes, each of
/// every backend, the outlier detector's ticks, and random failures' starts and ends. Over
/// the simulated span of those requests at the arrival rate (for closed-loop users, whose
/// rate is not given, at the cluster's capacity: the shortest span they can take). Without
/// them a period of a picosecond was estimated as cheap as none, and the run never ended.
fn timer_events(model: &Model, requests: f64) -> f64 {
    let capacity: f64 = model.backends.iter().map(|g| f64::from(g.count) * model.group_capacity(g)).sum();
    let rate = match model.arrivals.mean_rate() {
        r if r.is_finite() && r > 0.0 => r,
        _ => capacity / model.service.mean(),
    };
    let span = requests / rate;
    if !span.is_finite() {
        return 0.0;
    }
    let n = model.backend_count() as f64;
    let every = |interval: f64, backends: f64| if interval > 0.0 { span / interval * backends } else { 0.0 };
    let mut events = 0.0;
    if let Information::Periodic { period } = model.balancer.information {
        events += every(period, n);
    }
    if let Some(probe) = &model.balancer.health.probe {
        events += every(probe.interval, n);
    }
    if let Some(outlier) = &model.balancer.health.outlier {
        events += every(outlier.interval, n);
    }
    for fault in &model.faults {
        if let FaultKind::Failures { mtbf, mttr } = &fault.kind {
            events += 2.0 * every(mtbf.mean() + mttr.mean(), fault.backends.len() as f64);
        }
    }
    events
}

impl Cost {
    /// The cost of every strategy of every experiment in `points`, `replications` times
    /// each (its plan's), on `jobs` threads.
    pub fn of(points: &[Experiment], jobs: usize) -> Cost {
        let jobs = jobs.max(1);
        let mut runs = 0u64;
        let mut requests = 0.0;
        let mut core_seconds = 0.0;
        let mut bytes_per_run: f64 = 0.0;
        for e in points {
            let replications = u64::from(e.plan.replications.max(1));
            let per_run = seconds_per_run(e);
            for strategy in &e.strategies {
                let per_request = seconds_per_request_of(e, strategy);
                let per_replication = requests_per_replication(e);
                let timers =
                    timer_events(&strategy.model(&e.model), per_replication) / EVENT_REQUESTS_PER_SECOND_PER_CORE;
                runs = runs.saturating_add(replications);
                requests += replications as f64 * per_replication;
                core_seconds += replications as f64 * (per_replication * per_request + per_run + timers);
            }
            bytes_per_run = bytes_per_run.max(self::bytes_per_run(e));
        }
        let parallel = (jobs as f64).min(runs.max(1) as f64);
        let seconds = core_seconds / parallel;
        Cost { runs, requests, seconds, bytes_per_run, jobs }
    }

    /// The same cost for `points` times as many points (estimating a grid from its base).
    pub fn scaled(&self, points: usize) -> Cost {
        let k = points as f64;
        Cost {
            runs: self.runs.saturating_mul(points as u64),
            requests: self.requests * k,
            seconds: self.seconds * k,
            ..self.clone()
        }
    }

    /// `1 000 000 runs, about 6h on 2 cores, 5.3 MB each`.
    pub fn describe(&self) -> String {
        format!(
            "{} {}, about {} on {} {}, {} of memory per run",
            group_digits(self.runs),
            if self.runs == 1 { "run" } else { "runs" },
            format_span(self.seconds),
            self.jobs,
            if self.jobs == 1 { "core" } else { "cores" },
            format_bytes(self.bytes_per_run)
        )
    }

    /// Why this needs `--yes`, if it does: too long, too many runs, or more memory than the
    /// machine has. `what` names the command's work ("this sweep").
    pub fn refusal(&self, what: &str) -> Option<String> {
        let memory = self.bytes_per_run * self.jobs.min(self.runs.max(1) as usize) as f64;
        let reason = if self.seconds > MAX_SECONDS {
            Some(format!("more than {}", format_span(MAX_SECONDS)))
        } else if self.runs > MAX_RUNS {
            Some(format!("more than {} runs", group_digits(MAX_RUNS)))
        } else {
            match total_memory() {
                Some(total) if memory > total / 2.0 => Some(format!(
                    "{} of memory at once, more than half of this machine's {}",
                    format_bytes(memory),
                    format_bytes(total)
                )),
                _ => None,
            }
        };
        reason.map(|r| format!("{what} is {} ({r}); pass --yes to start it anyway", self.describe()))
    }
}

/// What `lbsim check`, `run` and `sweep` say before running `points` on `cores`, whose
/// results would otherwise only say at the end that they cannot be trusted: too few
/// measured requests a backend ([`few_requests_warning`]), a warm-up too short for queues
/// that start empty ([`short_warmup_warning`]).
pub fn warnings_before_running(points: &[Experiment], cores: usize) -> Vec<String> {
    few_requests_warning(points, cores).into_iter().chain(short_warmup_warning(points, cores)).collect()
}

/// What to say before a run (or a sweep of `points`) whose results would be called too
/// short to trust for want of measured requests a backend (`few_requests`): how many it
/// measures a backend, the `[run] requests` that would do at every point, and what running
/// them all so costs on `cores`. A fleet of 10⁵ backends at 2·10⁶ requests would otherwise
/// run for seconds only to say so at the end, when 10⁸ takes minutes.
pub fn few_requests_warning(points: &[Experiment], cores: usize) -> Option<String> {
    use crate::runner::{MIN_REQUESTS_PER_BACKEND, requests_needed_to_trust};
    let short: Vec<(&Experiment, u64)> =
        points.iter().filter_map(|e| requests_needed_to_trust(e).map(|needed| (e, needed))).collect();
    let &(first, _) = short.first()?;
    let needed = short.iter().map(|&(_, needed)| needed).max()?;
    let enough: Vec<Experiment> = points
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.plan.requests = e.plan.requests.max(needed);
            e
        })
        .collect();
    let cost = Cost::of(&enough, cores);
    let backends = first.model.backend_count();
    let per_backend = first.plan.requests as f64 / backends.max(1) as f64;
    let at = match (short.len(), points.len()) {
        (_, 1) => String::new(),
        (k, n) if k == n => format!(" (at every one of the sweep's {n} points)"),
        (1, n) => format!(" (at 1 of the sweep's {n} points)"),
        (k, n) => format!(" (at {k} of the sweep's {n} points; this is the first)"),
    };
    let whole = if points.len() == 1 { "" } else { "the sweep: " };
    Some(format!(
        "[run] requests = {} measures {} requests a backend over {} backends, fewer than the {} a backend \
         lbsim trusts{at}: every such result will be marked too short to trust (few_requests) — a backend's \
         p99 rests on fewer than 10 of its own responses, and its queue, empty at the start, is still filling. \
         Set [run] requests = {needed} ({whole}{})",
        first.plan.requests,
        crate::units::significant(per_backend, 3),
        group_digits(backends as u64),
        group_digits(MIN_REQUESTS_PER_BACKEND),
        cost.describe()
    ))
}

/// What to say before a run (or a sweep of `points`) whose fixed warm-up is too short for
/// its queues, empty at the start, to fill: under a rule that fixes each backend's share
/// (random dispatch, round robin), where each backend's queue can be judged alone
/// ([`crate::relaxation::empty_start`]), the means measured would read more than
/// [`relaxation::BIAS_WORTH_A_WARNING`] low. Says by how much, why (the worst backend's
/// relaxation time against the arrivals the warm-up gives it), and the warm-up that would do
/// at every point, with what running them all so costs on `cores`. A fleet of 10⁵ backends at
/// load 0.9 measured for 1 000 requests a backend with the default warm-up reads 4 % low.
pub fn short_warmup_warning(points: &[Experiment], cores: usize) -> Option<String> {
    use crate::relaxation;
    let mut short = Vec::new();
    for (p, e) in points.iter().enumerate() {
        let Warmup::Fixed(warmup) = e.plan.warmup else { continue };
        for spec in &e.strategies {
            if let Some(estimate) = crate::runner::empty_start(e, spec)
                && estimate.bias > relaxation::BIAS_WORTH_A_WARNING
            {
                short.push((p, spec.label.as_str(), warmup, estimate));
            }
        }
    }
    let (p, label, warmup, worst) = short.iter().max_by(|a, b| a.3.bias.total_cmp(&b.3.bias))?;
    let needed = short.iter().map(|s| s.3.warmup_needed).max()?;
    let enough: Vec<Experiment> = points
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if let Warmup::Fixed(w) = e.plan.warmup {
                e.plan.warmup = Warmup::Fixed(w.max(needed));
            }
            e
        })
        .collect();
    let cost = Cost::of(&enough, cores);
    let mut at_points: Vec<usize> = short.iter().map(|s| s.0).collect();
    at_points.dedup();
    let at = match (at_points.len(), points.len()) {
        (_, 1) => String::new(),
        (k, n) if k == n => format!(" (at every one of the sweep's {n} points; this is the worst)"),
        (k, n) => format!(" (at {k} of the sweep's {n} points; this is the worst)"),
    };
    let whole = if points.len() == 1 { "" } else { "the sweep: " };
    let backend =
        points[*p].model.each_backend().nth(worst.backend).map(|(g, i)| g.backend_name(i)).unwrap_or_default();
    Some(format!(
        "the warm-up of {} requests is short for queues that start empty: under {label}, backend {backend} \
         (offered load {}) fills over about {} of its own arrivals (its queue's relaxation time, ρ/(1 − √ρ)² × \
         (c_a² + c_s²)/2) and the warm-up gives it {}, so the measured means will read about {} % low{at}. \
         Set [run] warmup = {needed} to leave under {} % ({whole}{}), or warmup = \"auto\"; results say \
         still_filling where a run shows it",
        group_digits(*warmup),
        crate::units::significant(worst.load, 3),
        round_to_two_digits(worst.relaxation),
        round_to_two_digits(worst.warmup_arrivals),
        crate::units::significant(100.0 * worst.bias, 2),
        100.0 * relaxation::BIAS_AFTER_SUGGESTED_WARMUP,
        cost.describe()
    ))
}

/// `x` to two significant digits, digits grouped: `53 000`, `340`, `0.61`.
fn round_to_two_digits(x: f64) -> String {
    if x >= 100.0 {
        let unit = 10f64.powi(x.log10().floor() as i32 - 1);
        group_digits(((x / unit).round() * unit) as u64)
    } else {
        crate::units::significant(x, 2)
    }
}

/// A wall time in words a person plans by: `40 s`, `12 min`, `6 h`, `12 days`.
pub fn format_span(seconds: f64) -> String {
    let s = seconds.max(1.0);
    if s < 120.0 {
        format!("{s:.0} s")
    } else if s < 7200.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 48.0 * 3600.0 {
        format!("{:.0} h", s / 3600.0)
    } else {
        format!("{:.0} days", s / 86400.0)
    }
}

/// `1 000 000`.
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// `5.3 MB`, `7 GB`.
pub fn format_bytes(bytes: f64) -> String {
    let units = [("GB", 1e9), ("MB", 1e6), ("kB", 1e3)];
    for (unit, size) in units {
        if bytes >= size {
            return format!("{} {unit}", crate::units::significant(bytes / size, 2));
        }
    }
    format!("{bytes:.0} B")
}

/// Bytes free for an unprivileged user on the file system holding `folder`, if known.
#[cfg(unix)]
pub fn free_disk(folder: &std::path::Path) -> Option<f64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(folder.as_os_str().as_bytes()).ok()?;
    let mut stats = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: statvfs reads a NUL-terminated path and fills the struct it is given.
    if unsafe { libc::statvfs(path.as_ptr(), stats.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled the struct.
    let stats = unsafe { stats.assume_init() };
    Some(stats.f_bavail as f64 * stats.f_frsize as f64)
}

#[cfg(not(unix))]
pub fn free_disk(_folder: &std::path::Path) -> Option<f64> {
    None
}

/// The machine's memory (Linux: `/proc/meminfo`), if known.
fn total_memory() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

/// The threads a sweep uses: `--jobs` (default every core), capped at the cores unless
/// `yes`, and at [`MAX_JOBS`] always. Returns the count and, when the request was capped, a
/// note saying so.
pub fn jobs(requested: Option<usize>, yes: bool) -> Result<(usize, Option<String>), String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match requested {
        None => Ok((cores, None)),
        Some(n) if n > MAX_JOBS => Err(format!(
            "--jobs {n}: at most {MAX_JOBS} threads (this machine has {cores} {}); more only slow a sweep down",
            if cores == 1 { "core" } else { "cores" }
        )),
        Some(n) if n > cores && !yes => Ok((
            cores,
            Some(format!(
                "--jobs {n} is more than the {cores} cores of this machine: using {cores} (pass --yes to use {n} anyway)"
            )),
        )),
        Some(n) => Ok((n.max(1), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One experiment of `count` one-worker backends (default backlog) at load 0.9.
    fn fleet(count: u32) -> Experiment {
        fleet_with(count, 1, &["random"])
    }

    /// One experiment of `count` backends of `workers` workers at load 0.9, running
    /// `strategies` (default parameters).
    fn fleet_with(count: u32, workers: u32, strategies: &[&str]) -> Experiment {
        let names: Vec<String> = strategies.iter().map(|s| format!("\"{s}\"")).collect();
        let text = format!(
            "[arrivals]\nprocess = \"poisson\"\nload = 0.9\n[service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n\
             [[backends]]\nname = \"web\"\ncount = {count}\nworkers = {workers}\n[balancer]\nstrategies = [{}]\n",
            names.join(", ")
        );
        crate::config::ExperimentFile::parse("fleet.toml".as_ref(), &text).unwrap().resolve().unwrap()
    }

    #[test]
    fn a_sweep_short_of_requests_a_backend_is_told_the_requests_every_point_needs() {
        // Default plan: 100 000 measured requests. 100 backends have 1 000 each; 1 000 and
        // 4 000 backends fall short, and [run] requests must cover the largest.
        let points = [fleet(100), fleet(1_000), fleet(4_000)];
        assert_eq!(points[0].plan.requests, 100_000);
        let warning = few_requests_warning(&points, 2).unwrap();
        assert!(
            warning.starts_with("[run] requests = 100000 measures 100 requests a backend over 1 000 backends"),
            "{warning}"
        );
        assert!(warning.contains("(at 2 of the sweep's 3 points; this is the first)"), "{warning}");
        assert!(warning.contains("Set [run] requests = 4000000 (the sweep: 3 runs, about"), "{warning}");
        assert_eq!(few_requests_warning(&points[..1], 2), None);
        let one = few_requests_warning(&points[2..], 1).unwrap();
        assert!(
            one.contains("25 requests a backend over 4 000 backends, fewer than the 1 000 a backend lbsim trusts:"),
            "{one}"
        );
        assert!(one.contains("Set [run] requests = 4000000 (1 run, about"), "{one}");
    }

    /// `fleet_with` of one worker each, but in `speeds` groups of about `count / speeds`
    /// backends of speeds 1, 1 + 1/speeds, 1 + 2/speeds, … (capacities unequal).
    fn uneven_fleet_with(count: u32, speeds: u32, strategies: &[&str]) -> Experiment {
        let names: Vec<String> = strategies.iter().map(|s| format!("\"{s}\"")).collect();
        let groups: String = (0..speeds)
            .map(|k| {
                let members = count / speeds + u32::from(k < count % speeds);
                let speed = 1.0 + f64::from(k) / f64::from(speeds);
                format!("[[backends]]\nname = \"web{k}\"\ncount = {members}\nspeed = {speed:?}\n")
            })
            .collect();
        let text = format!(
            "[arrivals]\nprocess = \"poisson\"\nload = 0.9\n[service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n\
             {groups}[balancer]\nstrategies = [{}]\n",
            names.join(", ")
        );
        crate::config::ExperimentFile::parse("fleet.toml".as_ref(), &text).unwrap().resolve().unwrap()
    }

    /// Seconds a request of `strategy` is estimated at on `count` one-worker backends.
    fn per_request(count: u32, strategy: &str) -> f64 {
        let e = fleet_with(count, 1, &[strategy]);
        seconds_per_request_of(&e, &e.strategies[0])
    }

    #[test]
    fn memory_follows_the_backends_not_their_backlogs() {
        // Peak heap measured by benches/scale.rs (10⁷ requests at load 0.9, backlog 2048):
        // 51 MB at 65 536 backends, 574 MB at 10⁶. The estimate covers it without counting
        // a backlog's worth of departure slots per backend (which was 1.7 GB at 10⁵).
        let mb = |n| bytes_per_run(&fleet(n)) / 1e6;
        assert!((51.0..70.0).contains(&mb(65_536)), "{}", mb(65_536));
        assert!((574.0..900.0).contains(&mb(1_000_000)), "{}", mb(1_000_000));
    }

    #[test]
    fn a_large_fleet_is_not_mistaken_for_hours() {
        // 5 strategies × 5.5·10⁶ requests over 10⁵ one-worker backends took 9.7 s on the
        // 2-core development machine (power_of_d and jsq, `lbsim run`, the machine in use);
        // the estimate for random, whose pick costs the same whatever n, is within 2× of it
        // either way (it was 140 s when every request paid 1 + n/4096 units) and within the
        // hour that starts without --yes.
        let mut e = fleet(100_000);
        e.plan.requests = 5_000_000;
        e.plan.warmup = Warmup::Fixed(500_000);
        let cost = Cost::of(std::slice::from_ref(&e), 1).scaled(5);
        assert!(cost.seconds > 9.7 / 2.0 && cost.seconds < 9.7 * 2.0, "{}", cost.seconds);
        assert!(cost.refusal("this run").is_none());
    }

    #[test]
    fn a_constant_pick_is_estimated_above_its_measured_speed_on_huge_clusters() {
        // docs/performance-log.md (2026-11-26, idle): random takes 26 ns a request at 16 backends, 67 ns
        // at 65 536 and 212 ns at 10⁶. The estimate is above each (it is meant to err long)
        // and within 4× (the fixed part, 100 ns, is sized for the fast path's slowest
        // strategies, 4× random at 16 backends; beyond the caches the memory allowance is
        // twice random's measured wait).
        for (n, measured) in [(16, 26e-9), (65_536, 67e-9), (1_000_000, 212e-9)] {
            let estimate = per_request(n, "random");
            assert!(estimate > measured && estimate < 4.0 * measured, "{n}: {estimate} against {measured}");
        }
    }

    #[test]
    fn a_pick_that_asks_every_backend_is_estimated_far_dearer_than_random() {
        // At 10⁵ backends of more than 16 distinct capacities shortest_expected_delay asks
        // every backend about its requests on every pick (measured over two capacities,
        // before it kept an index for a few): 7.9·10⁶ instructions a request measured (79 an
        // answer, early in a run; 88 at 4096 backends in a steady state), 0.62 ms at the
        // fastest rate measured for the engine (12.8·10⁹ instructions a second) and 0.81 ms
        // at the slowest (9.7·10⁹). The estimate charges 90 an answer at 5·10⁹ a second plus
        // a memory allowance, so it stays above the fastest and within 3.5× of it (2.56×
        // from the rate, 1.14× from 90 against 79, 8 % from the allowance).
        let uneven = uneven_fleet_with(100_000, 17, &["shortest_expected_delay"]);
        assert_eq!(pick_cost(&uneven, &uneven.strategies[0]), PickCost::AsksAll);
        let sed = seconds_per_request_of(&uneven, &uneven.strategies[0]);
        // Over equal capacities it picks as jsq does, through jsq's scan and index.
        let (even_sed, jsq) = (per_request(100_000, "shortest_expected_delay"), per_request(100_000, "jsq"));
        assert_eq!(even_sed, jsq);
        // haproxy_first asks servers in order up to the first below its cap (most of them at
        // load 0.9) but keeps an index above 64 servers on the fast path.
        let first = per_request(100_000, "haproxy_first");
        assert!(first < sed / 100.0, "{first} against {sed}");
        let small = fleet_with(64, 1, &["haproxy_first"]);
        assert_eq!(pick_cost(&small, &small.strategies[0]), PickCost::AsksAll);
        let large = fleet_with(65, 1, &["haproxy_first"]);
        assert_eq!(pick_cost(&large, &large.strategies[0]), PickCost::AsksAllOrIndexed);
        let fastest = 7.9e6 / 12.8e9;
        assert!(sed > fastest && sed < 3.5 * fastest, "{sed} against {fastest}");
        let random = per_request(100_000, "random");
        assert!(sed > 1000.0 * random, "{sed} against random's {random}");
        // nginx's smooth weighted round robin over equal weights takes one step per
        // distinct weight (one here), as cheap as random; walking every weight (9.5
        // instructions an entry, charged as haproxy_roundrobin's 17) falls in between.
        let swrr = per_request(100_000, "nginx_round_robin");
        assert!(swrr < 1.1 * random, "{swrr} against random's {random}");
        let walk = seconds_per_request(&fleet_with(100_000, 1, &["random"]).model, PickCost::WalksAll);
        assert!(walk > 10.0 * random && walk < sed / 4.0, "{walk}");
        // A 10⁷-request run of it is refused without --yes; of random, it is not.
        for (name, refused) in [("shortest_expected_delay", true), ("random", false)] {
            let mut e = uneven_fleet_with(100_000, 17, &[name]);
            e.plan.requests = 10_000_000;
            e.plan.warmup = Warmup::Fixed(0);
            assert_eq!(Cost::of(std::slice::from_ref(&e), 1).refusal("this run").is_some(), refused, "{name}");
        }
    }

    /// nginx_least_conn keeps its index above 64 backends of one configured weight (nginx's:
    /// 1 without `weight`, whatever the speeds) on the fast path, and asks every backend over
    /// unequal weights or behind balancer instances.
    #[test]
    fn nginx_least_conn_is_charged_its_index_over_one_weight() {
        let nginx = ["nginx_least_conn"];
        let fleet = uneven_fleet_with(100_000, 2, &nginx);
        assert_eq!(pick_cost(&fleet, &fleet.strategies[0]), PickCost::AsksAllOrIndexed);
        assert!(seconds_per_request_of(&fleet, &fleet.strategies[0]) < 1e-5);
        let small = uneven_fleet_with(64, 2, &nginx);
        assert_eq!(pick_cost(&small, &small.strategies[0]), PickCost::AsksAll);
        let mut weighted = uneven_fleet_with(100_000, 2, &nginx);
        weighted.model.backends[0].weight = Some(2.0);
        assert_eq!(pick_cost(&weighted, &weighted.strategies[0]), PickCost::AsksAll);
        let mut layered = uneven_fleet_with(1024, 2, &nginx);
        layered.model.balancer.instances = 2;
        assert_eq!(pick_cost(&layered, &layered.strategies[0]), PickCost::AsksAll);
    }

    /// shortest_expected_delay over a few distinct capacities keeps an index of the counts
    /// per capacity above 64 backends on the fast path, and asks every backend otherwise.
    #[test]
    fn shortest_expected_delay_over_few_capacities_is_charged_its_index() {
        let sed = ["shortest_expected_delay"];
        let two = uneven_fleet_with(100_000, 2, &sed);
        assert_eq!(pick_cost(&two, &two.strategies[0]), PickCost::AsksAllOrIndexed);
        let sixteen = uneven_fleet_with(100_000, 16, &sed);
        assert_eq!(pick_cost(&sixteen, &sixteen.strategies[0]), PickCost::AsksAllOrIndexed);
        assert!(seconds_per_request_of(&two, &two.strategies[0]) < 1e-5);
        let (small, large) = (uneven_fleet_with(64, 2, &sed), uneven_fleet_with(65, 2, &sed));
        assert_eq!(pick_cost(&small, &small.strategies[0]), PickCost::AsksAll);
        assert_eq!(pick_cost(&large, &large.strategies[0]), PickCost::AsksAllOrIndexed);
        // Behind two balancer instances (the event layer) it scans.
        let mut layered = uneven_fleet_with(1024, 2, &sed);
        layered.model.balancer.instances = 2;
        assert_eq!(pick_cost(&layered, &layered.strategies[0]), PickCost::AsksAll);
    }

    #[test]
    fn a_pick_that_stops_at_an_empty_backend_is_cheap_only_while_there_are_some() {
        // One worker per backend at load 0.9: a tenth of the backends are empty and jsq asks
        // about a few (4 measured at 4096 backends), so it costs about what random does.
        let (jsq, random) = (per_request(100_000, "jsq"), per_request(100_000, "random"));
        assert!(jsq > random && jsq < 2.0 * random, "{jsq} against {random}");
        // Two workers per backend at load 0.9 hold 1.8 requests each on average: jsq keeps
        // the counts level, so an empty backend is rare and a pick asks about all of them.
        let e = fleet_with(100_000, 2, &["jsq"]);
        let level = seconds_per_request(&e.model, PickCost::AsksUntilIdle);
        assert_eq!(level, seconds_per_request(&e.model, PickCost::AsksAll));
    }

    #[test]
    fn a_fewest_requests_pick_is_charged_its_index_when_no_backend_is_empty() {
        // One worker each at load 0.9: the scan stops early, as least_work_left's does.
        let one = fleet_with(100_000, 1, &["jsq"]);
        assert_eq!(
            seconds_per_request(&one.model, PickCost::AsksUntilIdleOrIndexed),
            seconds_per_request(&one.model, PickCost::AsksUntilIdle)
        );
        // Two workers each: no backend is empty, and jsq keeps an index of the counts.
        let two = fleet_with(100_000, 2, &["jsq"]);
        let indexed = seconds_per_request(&two.model, PickCost::AsksUntilIdleOrIndexed);
        assert!(indexed < 0.01 * seconds_per_request(&two.model, PickCost::AsksUntilIdle), "{indexed}");
        assert!(indexed > seconds_per_request(&two.model, PickCost::Logarithmic), "{indexed}");
    }

    /// least_work_left keeps an index over sync backends of one worker count (of starts
    /// over one worker of one speed, of bounds of the work left over several workers, at
    /// one speed or two), on every path; over unequal worker counts, or one worker at two
    /// speeds, it scans up to the first backend with no work.
    #[test]
    fn least_work_left_is_charged_its_index_over_alike_sync_backends() {
        for workers in [1, 4] {
            let e = fleet_with(100_000, workers, &["least_work_left"]);
            assert_eq!(pick_cost(&e, &e.strategies[0]), PickCost::AsksUntilIdleOrIndexed, "{workers} workers");
            let mut layered = fleet_with(100_000, workers, &["least_work_left"]);
            layered.model.balancer.instances = 2;
            assert_eq!(pick_cost(&layered, &layered.strategies[0]), PickCost::AsksUntilIdleOrIndexed);
        }
        let text = "[arrivals]\nprocess = \"poisson\"\nload = 0.9\n[service]\ndistribution = \"exponential\"\n\
                    mean = \"10ms\"\n[[backends]]\nname = \"a\"\ncount = 500\nworkers = 2\n\
                    [[backends]]\nname = \"b\"\ncount = 500\nworkers = 4\nspeed = 0.5\n\
                    [balancer]\nstrategies = [\"least_work_left\"]\n";
        let mixed = crate::config::ExperimentFile::parse("mixed.toml".as_ref(), text).unwrap().resolve().unwrap();
        assert_eq!(pick_cost(&mixed, &mixed.strategies[0]), PickCost::AsksUntilIdle);
        // One worker count at two speeds: the index of work left.
        let speeds = text.replace("workers = 4\nspeed = 0.5", "workers = 2\nspeed = 0.7");
        let speeds = crate::config::ExperimentFile::parse("speeds.toml".as_ref(), &speeds).unwrap().resolve().unwrap();
        assert_eq!(pick_cost(&speeds, &speeds.strategies[0]), PickCost::AsksUntilIdleOrIndexed);
        let one = text
            .replace("workers = 2\n", "workers = 1\n")
            .replace("workers = 4\nspeed = 0.5", "workers = 1\nspeed = 0.7");
        let one = crate::config::ExperimentFile::parse("one.toml".as_ref(), &one).unwrap().resolve().unwrap();
        assert_eq!(pick_cost(&one, &one.strategies[0]), PickCost::AsksUntilIdle);
    }

    /// An experiment of `count` backends of `workers` workers at load 0.9 running
    /// `strategies` (TOML array items), with `extra` TOML appended.
    fn fleet_toml(count: u32, workers: u32, strategies: &str, extra: &str) -> Experiment {
        let text = format!(
            "[arrivals]\nprocess = \"poisson\"\nload = 0.9\n[service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n\
             [[backends]]\nname = \"web\"\ncount = {count}\nworkers = {workers}\n[balancer]\nstrategies = [{strategies}]\n{extra}"
        );
        crate::config::ExperimentFile::parse("fleet.toml".as_ref(), &text).unwrap().resolve().unwrap()
    }

    /// Timers cost what they fire: a bulletin board refreshed every picosecond, probes every
    /// nanosecond or failures every nanosecond make a short run last for days (refused
    /// without --yes, where it once started and never ended); the usual settings add little.
    #[test]
    fn timers_are_charged_their_events() {
        let base = Cost::of(&[fleet_toml(8, 1, "\"jsq\"", "")], 1).seconds;
        for extra in [
            "info = { period = 1e-12 }",
            "active = { interval = \"1ns\", fall = 1, rise = 1 }",
            "[[faults]]\nkind = \"failures\"\nbackend = \"web-1\"\nmtbf = \"1ns\"\nmttr = \"1ns\"",
        ] {
            let cost = Cost::of(&[fleet_toml(8, 1, "\"jsq\"", extra)], 1);
            assert!(cost.refusal("this run").is_some(), "{extra}: {}", cost.describe());
        }
        for extra in ["info = { period = \"1s\" }", "active = { interval = \"5s\", fall = 1, rise = 1 }"] {
            let seconds = Cost::of(&[fleet_toml(8, 1, "\"jsq\"", extra)], 1).seconds;
            assert!(seconds < 3.0 * base.max(1e-3), "{extra}: {seconds} s against {base} s");
        }
    }

    #[test]
    fn an_index_of_the_counts_is_charged_only_where_the_engine_keeps_one() {
        // jsq over 1024 backends of 4 workers at load 0.9: no backend is empty. Behind two
        // balancer instances (the event layer, whose views keep no index) it scans every
        // backend: `lbsim run` of 110 000 requests took 7.9 µs a request of CPU time (shared
        // machine), against the estimate's 18.9 µs; it was charged the index's 0.2 µs before.
        let fast = fleet_toml(1024, 4, "\"jsq\"", "");
        let layered = fleet_toml(1024, 4, "\"jsq\"", "instances = 2\n");
        assert_eq!(pick_cost(&fast, &fast.strategies[0]), PickCost::AsksUntilIdleOrIndexed);
        assert_eq!(pick_cost(&layered, &layered.strategies[0]), PickCost::AsksUntilIdle);
        let scan = seconds_per_request_of(&layered, &layered.strategies[0]);
        assert!(scan > 7.9e-6 && scan < 3.0 * 7.9e-6, "{scan}");
        assert!(scan > 20.0 * seconds_per_request_of(&fast, &fast.strategies[0]), "{scan}");
        // A strategy's own balancer settings move it to the event layer too.
        let own = fleet_toml(1024, 4, "{ name = \"jsq\", upstream_timeout = \"1s\" }", "");
        assert_eq!(pick_cost(&own, &own.strategies[0]), PickCost::AsksUntilIdle);
        // Unequal weights: least_connections compares count / weight and keeps scanning;
        // jsq ignores weights and keeps its index.
        let weighted = "[[backends]]\nname = \"big\"\ncount = 4\nworkers = 8\n";
        let mixed = fleet_toml(1024, 4, "\"least_connections\", \"jsq\"", weighted);
        assert_eq!(pick_cost(&mixed, &mixed.strategies[0]), PickCost::AsksUntilIdle);
        assert_eq!(pick_cost(&mixed, &mixed.strategies[1]), PickCost::AsksUntilIdleOrIndexed);
    }

    #[test]
    fn the_event_layer_and_gunicorn_stations_pay_a_dearer_fixed_part() {
        // README "Speed": 12.6–46 M/s on the fast path, 2.7–7.6 M/s on the event layer and
        // for stations, at 16 backends.
        // (At 16 backends the memory allowance adds 0.02 %.)
        let close = |a: f64, b: f64| (a - b).abs() < 1e-3 * b;
        let fast = fleet_toml(16, 1, "\"random\"", "");
        assert!(close(seconds_per_request_of(&fast, &fast.strategies[0]), 1e-7));
        let instances = fleet_toml(16, 1, "\"random\"", "instances = 4\n");
        let stations = fleet_toml(16, 4, "\"random\"", "");
        let mut stations = stations;
        stations.model.io_fraction = 0.3;
        for e in [&instances, &stations] {
            assert!(close(seconds_per_request_of(e, &e.strategies[0]), 4e-7));
        }
    }

    #[test]
    fn a_slow_start_is_charged_a_weighing_of_every_backend_while_backends_ramp() {
        let failures = "[[faults]]\nkind = \"failures\"\ngroup = \"web\"\nmtbf = \"60s\"\nmttr = \"1s\"\n";
        let strategies = "\"weighted_round_robin\", { name = \"weighted_round_robin\", slow_start = \"10s\" }";
        // 1024 backends each back every 61 s for a 10 s ramp: always one ramping. Measured
        // (see RAMP_INSTRUCTIONS_PER_BACKEND): 1.43 µs a request without slow start when
        // every pick walked all weights (0.14 µs since it takes a step per distinct weight,
        // `lbsim run` of 10⁶ requests), 3.15 with; estimated 0.4 and 7.4.
        let e = fleet_toml(1024, 1, strategies, failures);
        assert_eq!(ramp_share(&e, 10.0), 1.0);
        let (plain, ramped) =
            (seconds_per_request_of(&e, &e.strategies[0]), seconds_per_request_of(&e, &e.strategies[1]));
        assert_eq!(pick_cost(&e, &e.strategies[0]), PickCost::WalksWeightClasses);
        assert_eq!(pick_cost(&e, &e.strategies[1]), PickCost::WalksAll);
        assert!(plain > 0.14e-6 && plain < 1e-6, "{plain}");
        assert!(ramped > 3.15e-6 && ramped < 3.0 * 3.15e-6, "{ramped}");
        // Without faults no backend comes back, so none ramps.
        let calm = fleet_toml(1024, 1, strategies, "");
        assert_eq!(
            seconds_per_request_of(&calm, &calm.strategies[1]),
            seconds_per_request_of(&calm, &calm.strategies[0])
        );
        // One outage of one backend in a run of 10⁶ requests at 92 160/s (10.9 s): its 10 s
        // ramp is 92 % of the run.
        let outage = "[[faults]]\nkind = \"outage\"\nbackend = \"web-3\"\nat = \"1s\"\nfor = \"1s\"\n";
        let mut one = fleet_toml(1024, 1, strategies, outage);
        one.plan.requests = 1_000_000;
        one.plan.warmup = Warmup::Fixed(0);
        assert!((ramp_share(&one, 10.0) - 10.0 / (1e6 / 92_160.0)).abs() < 1e-9, "{}", ramp_share(&one, 10.0));
    }

    #[test]
    fn a_bounded_load_makes_a_hash_ring_ask_every_backend() {
        let ring = crate::strategy::find("envoy_ring_hash").unwrap();
        let plain = crate::strategy::Params::new("envoy_ring_hash");
        let bounded = plain.clone().with("hash_balance_factor", crate::strategy::ParamValue::Number(1.25));
        assert_eq!(ring.pick_cost_for(&plain), PickCost::Logarithmic);
        assert_eq!(ring.pick_cost_for(&bounded), PickCost::AsksAll);
    }

    #[test]
    fn a_warmup_too_short_for_a_fleet_to_fill_is_told_the_warmup_that_would_do() {
        // 10⁴ backends at load 0.9, 10⁷ requests after the default warm-up (100 a backend;
        // an M/M/1 queue there relaxes over about 340 of its arrivals).
        let with_plan = |mut e: Experiment| {
            e.plan.requests = 10_000_000;
            e.plan.warmup = Warmup::Fixed(1_000_000);
            e
        };
        let points = [with_plan(fleet_with(10_000, 1, &["jsq", "random", "round_robin"]))];
        let warning = short_warmup_warning(&points, 2).unwrap();
        assert!(
            warning.starts_with(
                "the warm-up of 1 000 000 requests is short for queues that start empty: under random, backend \
                 web-1 (offered load 0.9) fills over about 340 of its own arrivals"
            ),
            "{warning}"
        );
        assert!(
            warning.contains("the warm-up gives it 100, so the measured means will read about 4.4 % low."),
            "{warning}"
        );
        assert!(warning.contains("Set [run] warmup = 7800000 to leave under 0.2 % (3 runs, about"), "{warning}");
        // Rules that look at the queues fill them faster: no estimate, no warning.
        assert_eq!(short_warmup_warning(&[with_plan(fleet_with(10_000, 1, &["jsq"]))], 2), None);
        // The default plan over 16 backends warms each queue up over 625 arrivals and
        // measures 6 250: 0.06 % low, not worth a word; nor is a warm-up MSER-5 chooses.
        assert_eq!(short_warmup_warning(&[fleet(16)], 2), None);
        let mut auto = points[0].clone();
        auto.plan.warmup = Warmup::Auto;
        assert_eq!(short_warmup_warning(&[auto], 2), None);
        // A queue its backlog caps (64 here; under random dispatch the mean number inside at
        // 0.9 is 9) turns requests away instead of growing, which the estimate does not
        // describe; round robin's (5 inside) it still does.
        let mut capped = with_plan(fleet_with(10_000, 1, &["random"]));
        capped.model.backends[0].backlog = 64;
        assert_eq!(short_warmup_warning(std::slice::from_ref(&capped), 2), None);
        capped.strategies = points[0].strategies.clone();
        let warning = short_warmup_warning(&[capped], 2).unwrap();
        assert!(
            warning.contains("under round_robin, backend web-1 (offered load 0.9) fills over about 170"),
            "{warning}"
        );
        // In a sweep, the point that reads lowest is named, and the warm-up covers them all.
        let sweep = [points[0].clone(), with_plan(fleet_with(10_000, 1, &["random"]))];
        let warning = short_warmup_warning(&sweep, 2).unwrap();
        assert!(warning.contains("(at every one of the sweep's 2 points; this is the worst)"), "{warning}");
        assert!(warning.contains("(the sweep: 4 runs, about"), "{warning}");
    }

    #[test]
    fn digits_are_grouped_in_threes() {
        assert_eq!(group_digits(1_000_000), "1 000 000");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1 000");
    }

    #[test]
    fn jobs_are_capped_at_the_cores_unless_forced() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (n, note) = jobs(Some(cores + 1), false).unwrap();
        assert_eq!(n, cores);
        assert!(note.unwrap().contains("--yes"));
        assert_eq!(jobs(Some(cores + 1), true).unwrap(), (cores + 1, None));
        assert!(jobs(Some(100_000_000), true).unwrap_err().contains("at most 1024"));
    }
}
