//! The discrete-event simulation of one run: a model, a strategy and a seed.
//!
//! There is no global event list (see `docs/ARCHITECTURE.md`): arrivals are generated in
//! order; for each, the strategy looks at the backends it cares about through the
//! [`Cluster`] view (which advances just those backends to the arrival time), and the chosen
//! backend admits or rejects the request. Backends integrate their own populations, so the
//! measurement needs no sampling either.

mod backend;
mod calendar;
mod changes;
mod dispatch;
mod flight;
mod health;
mod measure;
mod memory;
mod outcome;
mod series;
mod station;
mod traffic;

pub use backend::{Admission, Backend, Integrals, Ticket, UNMEASURED, runs_on_station};
pub use calendar::{Calendar, Event};
pub use flight::{Flight, Flights, Stage};
pub use measure::{MAX_BLOCK, Recorder, Section, Tally};
pub use outcome::{Cause, Ending, Outbox, Outcome, Tag, UNTRACKED};
pub use series::{MAX_WINDOWS, RunSeries, SeriesRecorder, SeriesRow};
pub use station::Station;
pub use traffic::Traffic;

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::model::{Model, Request};
use crate::seed::{Purpose, RunSeed};
use crate::strategy::{AnyStrategy, Cluster, Needs, Strategy, StrategyVisitor};

/// Which requests to measure and how to cut them into sections.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// Arrivals discarded first.
    pub warmup: u64,
    /// Arrivals measured after the warm-up.
    pub requests: u64,
    /// Sections (batches) the measured arrivals are cut into, by arrival index.
    pub sections: u32,
    /// Keep response-time histograms (off for pilot runs that only need batch means).
    pub histograms: bool,
    /// Record a time series with windows this long (seconds; the event layer runs).
    pub series: Option<f64>,
}

/// Per-backend results over the measurement window.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendOutcome {
    /// Measured requests completed.
    pub completed: u64,
    /// Measured requests rejected.
    pub rejected: u64,
    /// Work (seconds at speed 1) of measured requests sent here, accepted or not.
    pub offered_work: f64,
    /// Time integrals over the window.
    pub integrals: Integrals,
    /// Requests inside at the end of the window.
    pub in_system_at_end: u32,
    /// Core-seconds used by each worker over the window, for backends with explicit workers
    /// (the station); empty for the fast paths.
    pub worker_busy: Vec<f64>,
    /// Mean and p99 response time of the measured requests this backend completed (backends
    /// with explicit workers only).
    pub response: Option<(f64, f64)>,
}

/// Everything one run measured.
#[derive(Debug)]
pub struct RunOutcome {
    pub sections: Vec<Section>,
    /// Response-time histogram per section (empty without histograms).
    pub histograms: Vec<crate::stats::ResponseHistogram>,
    pub backends: Vec<BackendOutcome>,
    /// Each backend's time-average number in system in each section of the window (the
    /// trend of its backlog, for the saturation verdict), section by section: backend i's
    /// in section k at `k × backends + i`. See [`RunOutcome::in_system_by_section`].
    pub in_system_by_section: Vec<f64>,
    /// Length of the measurement window (seconds).
    pub window: f64,
    /// When the measurement window ended (seconds of simulated time): the arrival just past
    /// its last measured request. What a ramp of users is compared with.
    pub window_end: f64,
    /// The time series, when the window asked for one.
    pub series: Option<RunSeries>,
}

/// The static per-backend facts strategies ask for, gathered once.
struct Statics {
    capacity: Vec<f64>,
    speed: Vec<f64>,
    weight: Vec<f64>,
}

/// The [`Cluster`] a strategy sees at one arrival: queries bring the asked backend up to
/// `now` first.
struct View<'a> {
    backends: &'a mut [Backend],
    statics: &'a Statics,
    recorder: &'a mut Recorder,
    now: f64,
    /// Requests dispatched before this one.
    dispatched: u64,
}

impl Cluster for View<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.backends.len()
    }
    #[inline(always)]
    fn in_system(&mut self, i: usize) -> u32 {
        self.backends[i].in_system_at(self.now, self.recorder)
    }
    #[inline]
    fn scanning(&self, i: usize) {
        let n = self.backends.len();
        if n >= PREFETCH_FROM {
            let ahead = if i + SCAN_AHEAD >= n { i + SCAN_AHEAD - n } else { i + SCAN_AHEAD };
            self.backends[ahead].prefetch_head();
        }
    }
    fn unfinished_work(&mut self, i: usize) -> f64 {
        self.backends[i].unfinished_work_at(self.now, self.recorder)
    }
    fn earliest_start(&mut self, i: usize) -> f64 {
        self.backends[i].earliest_start_at(self.now, self.recorder)
    }
    fn count_changes_at(&mut self, i: usize) -> Option<f64> {
        let b = &mut self.backends[i];
        b.advance(self.now, self.recorder);
        Some(b.next_departure())
    }
    fn busy_workers(&mut self, i: usize) -> Option<crate::strategy::BusyWorkers> {
        self.backends[i].busy_workers(self.now)
    }
    #[inline]
    fn capacity(&self, i: usize) -> f64 {
        self.statics.capacity[i]
    }
    #[inline]
    fn speed(&self, i: usize) -> f64 {
        self.statics.speed[i]
    }
    #[inline]
    fn weight(&self, i: usize) -> f64 {
        self.statics.weight[i]
    }
    /// On the fast path every change is the dispatch of the strategy's previous pick (the
    /// default [`Cluster::changed_since`]).
    #[inline]
    fn changes(&self) -> Option<u64> {
        Some(self.dispatched)
    }
}

/// The engine state one step of a balancer works on.
pub(crate) struct Ctx<'a> {
    backends: &'a mut [Backend],
    statics: &'a Statics,
    rec: &'a mut Recorder,
    /// Per-backend accounting of measured requests (empty when nothing is measured).
    outcome: &'a mut [BackendOutcome],
}

/// How arrivals get to backends: [`Direct`] (the fast path: one omniscient proxy, no
/// delay) or the event layer's [`dispatch::Dispatcher`]. The loops below are generic over
/// it, so the fast path compiles to the same code as before the event layer existed.
trait Path {
    /// Handles every timed event due at or before `t`.
    fn run_until(&mut self, t: f64, ctx: &mut Ctx<'_>);
    /// Takes an arriving request (`label`: its section or [`UNMEASURED`]).
    fn dispatch(&mut self, request: &Request, label: u32, ctx: &mut Ctx<'_>);
    /// Whether measured requests are still on their way to a backend.
    fn waiting_measured(&self) -> bool;
    /// Runs every pending event (the end of a run).
    fn drain(&mut self, ctx: &mut Ctx<'_>);
    /// The next request to arrive: the open-loop stream's next one, or (closed-loop users)
    /// the next user whose think time ends, after every event before it has been handled.
    /// Closed-loop users stop at `pause` instead: `None` when nobody arrives by then (every
    /// event up to `pause` handled; the time-series sampler looks at the backends then).
    #[inline(always)]
    fn next_request(&mut self, traffic: &mut Traffic<'_>, _ctx: &mut Ctx<'_>, _pause: f64) -> Option<Request> {
        Some(traffic.next_request())
    }
    /// ∫ number waiting in the balancer dt up to `now`, if the balancer can hold requests.
    fn queue_integral(&mut self, now: f64) -> Option<f64>;
    /// Takes the next requests, at most `most` of them, as one block if this path and the
    /// traffic allow (all of section `label`); returns how many it took (0: take them one
    /// at a time).
    #[inline(always)]
    fn dispatch_block(&mut self, _traffic: &mut Traffic<'_>, _label: u32, _most: u64, _ctx: &mut Ctx<'_>) -> u64 {
        0
    }
}

/// What the fast path asks of its strategy: a registered strategy as its own type (the
/// runs, compiled once per strategy so that its `pick` is inlined into the loop) or behind
/// [`AnyStrategy`] (the herding sampler, where one copy will do).
trait Picker {
    /// [`Strategy::BLIND`] (never, behind [`AnyStrategy`]).
    const BLIND: bool;
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize;
    fn upcoming(&mut self, note: impl FnMut(usize));
    fn needs(&self) -> Needs;
    /// [`Strategy::pick_ahead`], for a blind one.
    fn pick_ahead(&mut self, chosen: &mut [u32]);
}

impl<S: Strategy> Picker for S {
    const BLIND: bool = S::BLIND;
    #[inline(always)]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        Strategy::pick(self, request, cluster)
    }
    #[inline(always)]
    fn upcoming(&mut self, note: impl FnMut(usize)) {
        Strategy::upcoming(self, note)
    }
    #[inline]
    fn pick_ahead(&mut self, chosen: &mut [u32]) {
        Strategy::pick_ahead(self, chosen)
    }
    fn needs(&self) -> Needs {
        S::NEEDS
    }
}

impl Picker for AnyStrategy {
    const BLIND: bool = false;
    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        AnyStrategy::pick(self, request, cluster)
    }
    #[inline]
    fn upcoming(&mut self, note: impl FnMut(usize)) {
        AnyStrategy::upcoming(self, note)
    }
    fn needs(&self) -> Needs {
        AnyStrategy::needs(self)
    }
    fn pick_ahead(&mut self, _chosen: &mut [u32]) {
        unreachable!("strategies behind AnyStrategy are never run in blocks")
    }
}

/// The fast path: the strategy picks at the arrival, the backend admits at once.
struct Direct<'s, S: Picker> {
    strategy: &'s mut S,
    /// Requests dispatched so far (what [`Cluster::dispatches`] answers).
    dispatched: u64,
    /// Whether to fetch the backends the strategy will use ahead of time: only when they
    /// do not all stay in the caches anyway (on small clusters it is wasted work).
    prefetching: bool,
    /// Whether the strategy counts requests in system (reads the departure rings).
    counting: bool,
    /// Backends the strategy said it will choose or look at, noted over the last `HINTS`
    /// picks (at most `NOTED` per pick).
    hints: [[usize; NOTED]; HINTS],
    /// A blind strategy's choices taken ahead, for the runs in blocks (`None` for the
    /// others).
    blind: Option<Box<ChoicesAhead>>,
}

/// The choices of a blind strategy ([`Strategy::BLIND`]) taken ahead of their requests:
/// `chosen[next..len]` are still to be used, in order, before the strategy's own next pick.
struct ChoicesAhead {
    chosen: [u32; 2 * MAX_BLOCK],
    next: usize,
    len: usize,
    /// Whether requests go in blocks, and how they are admitted. `None` until first asked.
    in_blocks: Option<Blocks>,
}

/// Whether and how a blind strategy's requests go in blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blocks {
    /// One at a time: arrivals that are not Poisson (not drawn ahead), or backends that do
    /// not know a response when they admit a request.
    No,
    /// FCFS backends, some with several workers.
    Fcfs,
    /// FCFS backends with one worker each: an admission need not ask which.
    OneWorker,
}

/// How many choices past a block's last one are known, so that its backends' state can be
/// fetched from memory before their requests come (the struct `BLOCK_LEAD` requests ahead,
/// a heap ring's slot half as many).
const BLOCK_LEAD: usize = 16;

impl ChoicesAhead {
    /// Makes sure `want` choices are taken ahead, asking `strategy` for more if needed.
    #[inline]
    fn take_ahead<S: Picker>(&mut self, want: usize, strategy: &mut S) {
        if self.len - self.next < want {
            self.chosen.copy_within(self.next..self.len, 0);
            self.len -= self.next;
            self.next = 0;
            strategy.pick_ahead(&mut self.chosen[self.len..]);
            self.len = self.chosen.len();
        }
    }
}

impl<'s, S: Picker> Direct<'s, S> {
    fn new(strategy: &'s mut S, backends: usize) -> Self {
        let counting = strategy.needs() != Needs::Nothing;
        Direct {
            strategy,
            dispatched: 0,
            prefetching: backends >= PREFETCH_FROM,
            counting,
            hints: [[usize::MAX; NOTED]; HINTS],
            blind: S::BLIND
                .then(|| Box::new(ChoicesAhead { chosen: [0; 2 * MAX_BLOCK], next: 0, len: 0, in_blocks: None })),
        }
    }
}

impl<S: Picker> Path for Direct<'_, S> {
    #[inline(always)]
    fn run_until(&mut self, _t: f64, _ctx: &mut Ctx<'_>) {}

    #[inline(always)]
    fn dispatch(&mut self, request: &Request, label: u32, ctx: &mut Ctx<'_>) {
        let (now, size) = (request.arrival, request.size);
        let mut view =
            View { backends: ctx.backends, statics: ctx.statics, recorder: ctx.rec, now, dispatched: self.dispatched };
        let chosen = match &mut self.blind {
            // Choices a block took ahead come before the strategy's next.
            Some(ahead) if S::BLIND && ahead.next < ahead.len => {
                ahead.next += 1;
                ahead.chosen[ahead.next - 1] as usize
            }
            _ => self.strategy.pick(request, &mut view),
        };
        debug_assert!(chosen < ctx.backends.len(), "strategy picked backend {chosen} of {}", ctx.backends.len());
        let admission = ctx.backends[chosen].admit(now, size, label, chosen as u32, ctx.rec);
        if self.prefetching {
            // Two stages: the backends' structs for a request some picks ahead, and for the
            // ones noted `HINTS` picks ago (their structs have arrived by now) the slots of
            // their departure rings the request will read and write.
            let mut noted = [usize::MAX; NOTED];
            let mut count = 0;
            self.strategy.upcoming(|next| {
                if count < NOTED {
                    ctx.backends[next].prefetch_head();
                    noted[count] = next;
                    count += 1;
                }
            });
            if count > 0 {
                let slot = (self.dispatched % HINTS as u64) as usize;
                for &earlier in &self.hints[slot] {
                    if let Some(b) = ctx.backends.get(earlier) {
                        b.prefetch_for_admission(self.counting);
                    }
                }
                self.hints[slot] = noted;
            }
        }
        self.dispatched += 1;
        if label != UNMEASURED {
            // (Arrivals per section are counted from the boundaries after the loop.)
            ctx.backends[chosen].offer(chosen, size, ctx.rec);
            if admission == Admission::Rejected {
                ctx.rec.sections[label as usize].rejected += 1;
                ctx.outcome[chosen].rejected += 1;
            }
        }
    }

    #[inline(always)]
    fn waiting_measured(&self) -> bool {
        false
    }

    fn drain(&mut self, _ctx: &mut Ctx<'_>) {}

    /// A blind strategy's requests go in blocks: the choices of a block taken at once, the
    /// block admitted in one loop (fetching the backends a few requests ahead on a large
    /// cluster), each request recorded as it is admitted (a section's first block, or
    /// a block without histograms, is recorded after the loop). Each backend admits the
    /// same requests in the same order, and every sum adds them in the same order, as one
    /// at a time.
    #[inline(always)]
    fn dispatch_block(&mut self, traffic: &mut Traffic<'_>, label: u32, most: u64, ctx: &mut Ctx<'_>) -> u64 {
        if !S::BLIND {
            return 0;
        }
        let Direct { strategy, dispatched, prefetching, blind: Some(ahead), .. } = self else { return 0 };
        let blocks = *ahead.in_blocks.get_or_insert_with(|| {
            if ctx.backends.iter().all(Backend::one_worker_fcfs) {
                Blocks::OneWorker
            } else if ctx.backends.iter().all(Backend::answers_at_admission) {
                Blocks::Fcfs
            } else {
                Blocks::No
            }
        });
        let Some((arrival, size)) =
            (blocks != Blocks::No).then(|| traffic.next_block(most.min(MAX_BLOCK as u64) as usize)).flatten()
        else {
            // (Arrivals that are not Poisson are never drawn ahead: no blocks in this run.)
            ahead.in_blocks = Some(Blocks::No);
            return 0;
        };
        let one_worker = blocks == Blocks::OneWorker;
        let k = arrival.len();
        ahead.take_ahead(k + BLOCK_LEAD, *strategy);
        let chosen = &ahead.chosen[ahead.next..ahead.next + k + BLOCK_LEAD];
        let measured = label != UNMEASURED;
        if measured && let Some(mut open) = ctx.rec.open_block(label, k) {
            // The usual measured block: each request recorded as it is admitted (the sums in
            // registers, beside the admissions' own work).
            let outcome = &mut *ctx.outcome;
            let mut responses = [0.0; MAX_BLOCK];
            let admitted = |j: usize, backend: usize, answer: Option<(f64, f64)>| match answer {
                Some((wait, service)) => open.answered(j, wait, service, &mut responses),
                None => {
                    open.rejected(j);
                    outcome[backend].rejected += 1;
                }
            };
            if one_worker {
                admit_block::<true>(chosen, arrival, size, true, *prefetching, ctx.backends, admitted);
            } else {
                admit_block::<false>(chosen, arrival, size, true, *prefetching, ctx.backends, admitted);
            }
            open.close(ctx.rec, &responses);
        } else {
            // Request j's (wait, service time); a NaN wait if it was turned away.
            let (mut wait, mut service) = ([0.0; MAX_BLOCK], [0.0; MAX_BLOCK]);
            // (Not worth a second copy for one worker: a section's first block, or no histograms.)
            admit_block::<false>(chosen, arrival, size, measured, *prefetching, ctx.backends, |j, _, answer| {
                (wait[j], service[j]) = answer.unwrap_or((f64::NAN, 0.0));
            });
            if measured {
                let rejected = ctx.rec.record_block(label, &wait[..k], &service[..k]);
                if rejected > 0 {
                    for (&b, w) in chosen[..k].iter().zip(&wait) {
                        if w.is_nan() {
                            ctx.outcome[b as usize].rejected += 1;
                        }
                    }
                }
            }
        }
        ahead.next += k;
        *dispatched += k as u64;
        k as u64
    }

    #[inline(always)]
    fn queue_integral(&mut self, _now: f64) -> Option<f64> {
        None
    }
}

/// Admits request j of a block (arriving at `arrival[j]`, of work `size[j]`) at backend
/// `chosen[j]`, in order, and hands `answered` (j, the backend, its (wait, service time) or
/// `None` if it was turned away). When `prefetching`, each backend is fetched
/// [`BLOCK_LEAD`] requests ahead and its departure slot half as far (`chosen` holds the
/// choices that far past the block). `ONE_WORKER`: every backend is FCFS with one worker
/// ([`Blocks::OneWorker`]).
#[inline(always)]
fn admit_block<const ONE_WORKER: bool>(
    chosen: &[u32],
    arrival: &[f64],
    size: &[f64],
    measured: bool,
    prefetching: bool,
    backends: &mut [Backend],
    mut answered: impl FnMut(usize, usize, Option<(f64, f64)>),
) {
    let k = arrival.len();
    // (Slices of the block's length, so that the loops index them unchecked.)
    let (size, ahead, chosen) = (&size[..k], &chosen[..k + BLOCK_LEAD], &chosen[..k]);
    if prefetching {
        for j in 0..k {
            backends[ahead[j + BLOCK_LEAD] as usize].prefetch_head();
            backends[ahead[j + BLOCK_LEAD / 2] as usize].prefetch_for_admission(false);
            let b = chosen[j] as usize;
            answered(j, b, backends[b].admit_unrecorded::<ONE_WORKER>(arrival[j], size[j], measured));
        }
    } else {
        for j in 0..k {
            let b = chosen[j] as usize;
            answered(j, b, backends[b].admit_unrecorded::<ONE_WORKER>(arrival[j], size[j], measured));
        }
    }
}

/// Picks between prefetching a backend's struct and the slot of its ring it will write.
const HINTS: usize = 4;
/// Backends prefetched per pick (power of 2 choices looks at two).
const NOTED: usize = 2;
/// Smallest cluster whose backends are fetched ahead of time (below, they stay in cache).
const PREFETCH_FROM: usize = 2048;
/// How many backends ahead of a strategy's scan its state is fetched ([`Cluster::scanning`]).
const SCAN_AHEAD: usize = 8;
/// How many backends ahead a section boundary fetches the departure rings it will read.
const BOUNDARY_AHEAD: usize = 8;

/// Asks the memory system for the cache line holding `address`, ahead of its use (a hint,
/// as [`prefetch`]: any address will do).
#[inline(always)]
pub(crate) fn prefetch_line(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch is a hint; it does not fault or read, whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(address.cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// Asks the memory system for `*x` ahead of its use (a hint: it never faults and changes
/// nothing). On large clusters the backend a request goes to is rarely in cache.
#[inline(always)]
pub(crate) fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let first = (x as *const T).cast::<i8>();
        let last = first.wrapping_add(std::mem::size_of::<T>().max(1) - 1);
        // SAFETY: a prefetch is a hint; it does not fault or read, whatever the address.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(first);
            _mm_prefetch::<_MM_HINT_T0>(last);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Fresh runtime state for every backend of `model`, and the facts strategies ask about.
/// Stations draw from `Purpose::Backend`, one stream per backend seeded from it in order
/// (fast-path backends draw nothing, so models without stations are unchanged).
fn backends_of(model: &Model, seed: RunSeed) -> (Vec<Backend>, Statics) {
    let mut streams = seed.stream(Purpose::Backend);
    let mut backends = memory::huge_page_vec(model.backend_count());
    backends.extend(model.each_backend().map(|(g, _)| {
        let rng = Xoshiro256PlusPlus::seed_from_u64(streams.next_u64());
        Backend::for_group(g, model.io_fraction, model.service.mean(), rng, model.cancels())
    }));
    let statics = Statics {
        capacity: model.each_backend().map(|(g, _)| model.group_capacity(g)).collect(),
        speed: model.each_backend().map(|(g, _)| g.speed).collect(),
        weight: model.each_backend().map(|(g, _)| model.group_weight(g)).collect(),
    };
    (backends, statics)
}

/// Simulates `model` under `strategy` with the random streams of `seed`, measuring `window`
/// (a model with one balancer instance; see [`simulate_instances`]).
///
/// Memory is bounded by the backlogs and the histograms, whatever the number of requests;
/// an overloaded cluster fills its backlogs and rejects, it does not grow.
pub fn simulate(model: &Model, strategy: &mut AnyStrategy, seed: RunSeed, window: &Window) -> RunOutcome {
    simulate_instances(model, std::slice::from_mut(strategy), seed, window)
}

/// Simulates `model` with `strategies[k]` deciding for balancer instance k (one per
/// `model.balancer.instances`). A plain balancer (one instance, exact information, no
/// caps, no network) with open-loop arrivals takes the fast path; anything else the event
/// layer.
pub fn simulate_instances(model: &Model, strategies: &mut [AnyStrategy], seed: RunSeed, window: &Window) -> RunOutcome {
    let traffic = Traffic::new(model, &strategies[0], seed);
    if fast_path(model) && window.series.is_none() {
        /// The fast path's run, compiled once per strategy type.
        struct FastRun<'a, 'm> {
            model: &'m Model,
            traffic: Traffic<'m>,
            seed: RunSeed,
            window: &'a Window,
        }
        impl StrategyVisitor for FastRun<'_, '_> {
            type Output = RunOutcome;
            fn visit<S: Strategy>(self, strategy: &mut S) -> RunOutcome {
                let direct = Direct::new(strategy, self.model.backend_count());
                run(self.model, self.traffic, direct, self.seed, self.window)
            }
        }
        strategies[0].visit(FastRun { model, traffic, seed, window })
    } else {
        let recording = window.series.is_some();
        run(model, traffic, dispatch::Dispatcher::new(model, strategies, seed).recording(recording), seed, window)
    }
}

/// Whether `model` runs on the fast path ([`Direct`]): nothing needs the event layer. (A
/// run that records a time series takes the event layer whatever its model.)
pub fn fast_path(model: &Model) -> bool {
    model.is_plain() && model.closed_loop().is_none()
}

fn run<P: Path>(model: &Model, mut traffic: Traffic<'_>, mut path: P, seed: RunSeed, window: &Window) -> RunOutcome {
    let (mut backends, statics) = backends_of(model, seed);
    let n_backends = backends.len();
    let sections = window.sections.max(1) as usize;
    let mut recorder = Recorder::new(sections, n_backends, window.histograms.then(|| model.service_time_span()));
    recorder.series = window.series.map(SeriesRecorder::new);
    if !(fast_path(model) && window.series.is_none()) && backends.iter().any(Backend::is_station) {
        // Stations report their own responses (groups of different worker classes compared),
        // but a balancer that records hands them unmeasured requests: it keeps them instead.
        recorder.backend_responses = backends
            .iter()
            .map(|b| b.is_station().then(|| (0.0, crate::stats::ResponseHistogram::new(model.service.mean()))))
            .collect();
    }
    let mut outcome: Vec<BackendOutcome> = (0..n_backends)
        .map(|_| BackendOutcome {
            completed: 0,
            rejected: 0,
            offered_work: 0.0,
            integrals: Integrals::default(),
            in_system_at_end: 0,
            worker_busy: Vec::new(),
            response: None,
        })
        .collect();
    let mut worker_busy_scratch: Vec<f64> = Vec::new();

    // Section k holds arrivals [boundary(k), boundary(k + 1)).
    let boundary = |k: usize| window.warmup + (window.requests * k as u64) / sections as u64;
    let end = boundary(sections);
    let mut section = 0usize; // the section of arrival `index`, once index ≥ warm-up
    let mut next_boundary = boundary(0);
    // Integrals of every backend at the first boundary and at the latest one: each section's
    // areas are taken when it closes, so memory is O(backends), not O(backends × sections).
    let mut first: Option<(f64, Vec<Integrals>)> = None;
    let mut latest: Option<(f64, Vec<Integrals>)> = None;
    // The integrals of the boundary before `latest`, kept to be written over at the next.
    let mut spare: Vec<Integrals> = Vec::new();
    // Each backend's mean number in system in each closed section: a row of every backend
    // per section, written in order at each boundary (a vector per backend would be another
    // scattered write per backend at each boundary: a large cluster's would wait on memory).
    let mut in_system_by_section: Vec<f64> = Vec::with_capacity(n_backends * sections);
    let mut boundaries = 0usize;

    macro_rules! ctx {
        () => {
            &mut Ctx { backends: &mut backends, statics: &statics, rec: &mut recorder, outcome: &mut outcome }
        };
    }

    let mut index: u64 = 0;
    'requests: loop {
        // The arrivals before the next boundary (and before the end of the window) all get
        // the same label and need nothing but dispatching: a tight loop of its own, which
        // the per-request path of every run is.
        let stop = next_boundary.min(end);
        if index < stop {
            let label = if index >= window.warmup { section as u32 } else { UNMEASURED };
            while index < stop {
                let taken = path.dispatch_block(&mut traffic, label, stop - index, ctx!());
                if taken > 0 {
                    index += taken;
                    continue;
                }
                let Some(request) = path.next_request(&mut traffic, ctx!(), f64::INFINITY) else {
                    path.drain(ctx!());
                    break 'requests;
                };
                path.run_until(request.arrival, ctx!());
                path.dispatch(&request, label, ctx!());
                index += 1;
            }
            continue;
        }
        // A boundary's arrival, or past the window.
        let Some(request) = path.next_request(&mut traffic, ctx!(), f64::INFINITY) else {
            // No request will ever come (cannot happen: see `Dispatcher::next_request`).
            path.drain(ctx!());
            break;
        };
        let now = request.arrival;
        path.run_until(now, ctx!());
        if index == next_boundary {
            // Settle everything at the boundary arrival's time and take the integrals (and
            // the balancer queue's, as one more entry past the backends).
            let mut integrals = std::mem::take(&mut spare);
            integrals.clear();
            integrals.reserve(n_backends + 1);
            for i in 0..n_backends {
                if n_backends >= PREFETCH_FROM {
                    // Each backend's departure ring is its own allocation, out of the
                    // hardware prefetcher's sight: ask for the one `BOUNDARY_AHEAD` backends
                    // on (whose struct, `2 × BOUNDARY_AHEAD` on, was asked for before), so a
                    // large cluster's boundary waits for memory once, not once per backend.
                    if let Some(b) = backends.get(i + 2 * BOUNDARY_AHEAD) {
                        b.prefetch_head();
                    }
                    if let Some(b) = backends.get(i + BOUNDARY_AHEAD) {
                        b.prefetch_for_admission(true);
                    }
                }
                integrals.push(backends[i].integrals_at(now, &mut recorder));
            }
            if let Some(queued) = path.queue_integral(now) {
                integrals.push(Integrals { in_system: queued, busy: 0.0 });
            }
            boundaries += 1;
            // Per-worker CPU time over the window: minus its value at the start, plus at the end.
            if boundaries == 1 || boundaries == sections + 1 {
                let sign = if boundaries == 1 { -1.0 } else { 1.0 };
                for (o, b) in outcome.iter_mut().zip(&backends) {
                    b.worker_cpu(&mut worker_busy_scratch);
                    o.worker_busy.resize(worker_busy_scratch.len(), 0.0);
                    for (acc, x) in o.worker_busy.iter_mut().zip(&worker_busy_scratch) {
                        *acc += sign * x;
                    }
                }
            }
            if boundaries == sections + 1 {
                for (o, b) in outcome.iter_mut().zip(&backends) {
                    o.in_system_at_end = b.in_system();
                }
            }
            if let Some((t0, before)) = &latest {
                // Section `boundaries − 2` closes here.
                let s = &mut recorder.sections[boundaries - 2];
                s.duration = now - t0;
                for (k, (a, b)) in integrals.iter().zip(before).enumerate() {
                    s.in_system_area += a.in_system - b.in_system;
                    // Busy worker-time counts at the backend's speed, so that the cluster's
                    // utilisation is the share of its capacity in use (Σ busy × speed over
                    // Σ workers × speed): the offered load when nothing is lost, whatever the
                    // speeds (an average over workers put a fast and a slow backend fed at
                    // random, 0.375 and 0.75 busy, at 0.56 for a load of 0.5). (Past the
                    // backends, the balancer queue's entry has no busy time.)
                    s.busy_area += (a.busy - b.busy) * statics.speed.get(k).copied().unwrap_or(0.0);
                }
                // Each backend's own mean number in system in this section (the balancer
                // queue's entry, past the backends, is left out).
                let duration = s.duration;
                in_system_by_section.extend(
                    integrals[..n_backends].iter().zip(before).map(|(a, b)| (a.in_system - b.in_system) / duration),
                );
                section += 1;
            }
            next_boundary = if boundaries <= sections { boundary(boundaries) } else { u64::MAX };
            if first.is_none() {
                first = Some((now, integrals.clone()));
            }
            if let Some((_, before)) = latest.replace((now, integrals)) {
                spare = before;
            }
        }
        let measured = index >= window.warmup && index < end;
        if index >= end && !path.waiting_measured() && backends.iter().all(|b| b.pending_measured() == 0) {
            break;
        }
        // Past the window, keep the traffic going while async backends finish measured
        // requests, but never more than another window's worth of arrivals.
        if index >= end + window.requests.max(1) + window.warmup {
            path.drain(ctx!());
            for b in &mut backends {
                b.drain(&mut recorder);
            }
            break;
        }

        let label = if measured { section as u32 } else { UNMEASURED };
        path.dispatch(&request, label, ctx!());
        index += 1;
    }

    recorder.flush();
    for (k, s) in recorder.sections.iter_mut().enumerate() {
        s.arrivals = boundary(k + 1) - boundary(k);
    }
    // Time integrals per backend over the window.
    let window_length = match (&first, &latest) {
        (Some((t0, first)), Some((t1, last))) => {
            for (i, o) in outcome.iter_mut().enumerate() {
                o.integrals =
                    Integrals { in_system: last[i].in_system - first[i].in_system, busy: last[i].busy - first[i].busy };
            }
            t1 - t0
        }
        _ => 0.0,
    };
    for (i, ((o, tally), b)) in outcome.iter_mut().zip(&recorder.by_backend).zip(&backends).enumerate() {
        // Counted by the recorder or by the backend itself, never both: the sum is the one.
        let own = b.tally();
        o.completed = tally.completed + own.completed;
        o.offered_work = tally.offered_work + own.offered_work;
        o.response = b.response_summary().or_else(|| recorder.backend_response_summary(i));
    }
    let series = recorder.series.as_ref().map(|s| RunSeries {
        width: s.width(),
        rows: s.rows(),
        faults: {
            // One band per distinct interval (an outage of a whole group is one band).
            let mut bands: Vec<[f64; 2]> =
                model.faults.iter().flat_map(|f| f.intervals()).map(|(_, a, b)| [a, b]).collect();
            bands.sort_by(|x, y| x[0].total_cmp(&y[0]).then(x[1].total_cmp(&y[1])));
            bands.dedup();
            bands
        },
    });
    RunOutcome {
        in_system_by_section,
        series,
        sections: recorder.sections,
        histograms: recorder.histograms,
        backends: outcome,
        window: window_length,
        window_end: latest.as_ref().map_or(0.0, |(t, _)| *t),
    }
}

impl RunOutcome {
    /// Backend `i`'s time-average number in system in each section of the window, in order.
    pub fn in_system_by_section(&self, i: usize) -> Vec<f64> {
        self.in_system_by_section.iter().skip(i).step_by(self.backends.len().max(1)).copied().collect()
    }
}

/// Number in system of every backend at `samples` times `interval` apart, starting after
/// `warmup` arrivals: the time series behind the "herding" picture. Returns one series per
/// backend (same random streams as [`simulate`] with the same seed), shorter than `samples`
/// when the arrivals stall (see [`sampling_arrival_limit`]).
pub fn sample_in_system(
    model: &Model,
    strategies: &mut [AnyStrategy],
    seed: RunSeed,
    warmup: u64,
    interval: f64,
    samples: usize,
) -> Vec<Vec<u32>> {
    sample_in_system_from(model, strategies, seed, warmup, interval, samples, usize::MAX).1
}

/// [`sample_in_system`] of the first `recorded` backends only (the others are simulated
/// alike, and their series, the same as in a run that records them, are not kept: on a
/// fleet of 10⁵ backends they would be 160 MB that no chart draws), with the time of the
/// first sample (the arrival that ended the warm-up; NaN when no arrival came): where the
/// samples sit along a ramp of users.
pub fn sample_in_system_from(
    model: &Model,
    strategies: &mut [AnyStrategy],
    seed: RunSeed,
    warmup: u64,
    interval: f64,
    samples: usize,
    recorded: usize,
) -> (f64, Vec<Vec<u32>>) {
    let traffic = Traffic::new(model, &strategies[0], seed);
    let span = Sampling { warmup, interval, samples, recorded };
    if fast_path(model) {
        sample(model, traffic, Direct::new(&mut strategies[0], model.backend_count()), seed, span)
    } else {
        sample(model, traffic, dispatch::Dispatcher::new(model, strategies, seed), seed, span)
    }
}

/// What [`sample`] takes: `samples` samples `interval` apart after `warmup` arrivals, of
/// the first `recorded` backends.
#[derive(Clone, Copy)]
struct Sampling {
    warmup: u64,
    interval: f64,
    samples: usize,
    recorded: usize,
}

fn sample<P: Path>(
    model: &Model,
    mut traffic: Traffic<'_>,
    mut path: P,
    seed: RunSeed,
    span: Sampling,
) -> (f64, Vec<Vec<u32>>) {
    let Sampling { warmup, interval, samples, recorded } = span;
    let (mut backends, statics) = backends_of(model, seed);
    let mut recorder = Recorder::new(1, backends.len(), None);
    let mut series: Vec<Vec<u32>> = vec![Vec::with_capacity(samples); backends.len().min(recorded)];
    let mut taken = 0;
    let mut start = None;
    let mut index = 0u64;
    let limit = warmup.saturating_add(sampling_arrival_limit(model, interval, samples));
    let mut ctx = Ctx { backends: &mut backends, statics: &statics, rec: &mut recorder, outcome: &mut [] };
    while taken < samples && index < limit {
        // The next sample's time (closed-loop users stop there: their events are handled
        // before the next arrival, and must not run past a sample).
        let due = start.map_or(f64::INFINITY, |t0| t0 + taken as f64 * interval);
        let Some(request) = path.next_request(&mut traffic, &mut ctx, due) else {
            if !due.is_finite() {
                break;
            }
            take_sample(&mut ctx, &mut series, due);
            taken += 1;
            continue;
        };
        let now = request.arrival;
        if index == warmup {
            start = Some(now);
        }
        if let Some(t0) = start {
            // Take every sample due before this arrival.
            loop {
                let t = t0 + taken as f64 * interval;
                if taken >= samples || t > now {
                    break;
                }
                path.run_until(t, &mut ctx);
                take_sample(&mut ctx, &mut series, t);
                taken += 1;
            }
        }
        path.run_until(now, &mut ctx);
        path.dispatch(&request, UNMEASURED, &mut ctx);
        index += 1;
    }
    (start.unwrap_or(f64::NAN), series)
}

/// Appends the recorded backends' numbers in system at `t` to their series. Every backend
/// is brought to `t`, recorded or not, as when all are: what a strategy sees next, and so
/// the recorded series, do not depend on how many are kept.
fn take_sample(ctx: &mut Ctx<'_>, series: &mut [Vec<u32>], t: f64) {
    for (b, backend) in ctx.backends.iter_mut().enumerate() {
        backend.advance(t, ctx.rec);
        if let Some(s) = series.get_mut(b) {
            s.push(backend.in_system());
        }
    }
}

/// Most arrivals [`sample_in_system`] simulates after the warm-up: ten times as many as the
/// sampled span should hold, and at least a million. Extremely bursty arrivals (gamma with
/// cv 10⁶: nearly every gap is 0, a rare one is astronomically long) would otherwise need
/// billions of arrivals to move the clock past the samples, and the sweep would never end.
/// Closed-loop users have no arrival rate of their own: the cluster's capacity in requests
/// per second stands for it (they send about that many past the knee, fewer below).
fn sampling_arrival_limit(model: &Model, interval: f64, samples: usize) -> u64 {
    let rate = match model.closed_loop() {
        Some(_) => model.demand_and_max_throughput().1,
        None => model.arrivals.mean_rate(),
    };
    let expected = rate * interval * samples as f64;
    let limit = (10.0 * expected).max(1e6);
    // `as` saturates: an infinite or huge expectation is simply no tighter limit.
    if limit.is_finite() { limit as u64 } else { u64::MAX }
}
