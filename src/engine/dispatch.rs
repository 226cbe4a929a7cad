//! The event layer's balancer: several instances with their own strategy state and view,
//! stale or partial load information, the proxy's per-backend caps and queue, and the
//! network legs (see `docs/ARCHITECTURE.md`, "The event layer").
//!
//! A request enters [`Dispatcher::arrive`] at the client's send time. It may spend time on
//! the network (a calendar [`Event::Attempt`] when it reaches the balancer,
//! [`Event::Deliver`] when it reaches its backend) and in the balancer's queue; it holds a
//! slot in [`Flights`] until it is handed to a backend, or, when somebody must know when it
//! ends (an instance's local counts, caps, delayed reports), until the backend reports its
//! [`Outcome`](super::Outcome). Everything a view asks about a backend is brought up to the
//! time of the question first, and the endings the backends report on the way are absorbed
//! before the answer is read.

use std::collections::VecDeque;
use std::sync::Arc;

use rand_xoshiro::Xoshiro256PlusPlus;

use super::backend::{Admission, Backend, Ticket, UNMEASURED};
use super::calendar::{Calendar, Event};
use super::changes::ChangeLog;
use super::flight::{Flight, Flights, Stage};
use super::health::HealthState;
use super::measure::Recorder;
use super::outcome::{Cause, Ending, Tag, UNTRACKED};
use super::{Ctx, Path, Statics, Traffic};
use crate::model::{
    ClientPolicy, ClosedLoop, Fault, FaultKind, Hedge, Information, Mode, Model, Request, Retries, Routing,
    ServiceDistribution,
};
use crate::seed::{Purpose, RunSeed};
use crate::strategy::{AnyStrategy, Cluster, Needs, uniform_index};

/// The load a backend appears to carry when the instance asking may not send it more (at
/// its connection cap): counting strategies then look elsewhere.
const FULL: u32 = u32::MAX;

/// A backend's number in system as reported `delay` ago: arrivals and endings are queued
/// per backend in time order and counted once they are older than the delay.
#[derive(Debug)]
struct Lagged {
    arrivals: Vec<VecDeque<f64>>,
    endings: Vec<VecDeque<f64>>,
    counts: Vec<u32>,
}

impl Lagged {
    /// The count of backend `i` as of `as_of` (non-decreasing between calls).
    fn count(&mut self, i: usize, as_of: f64) -> u32 {
        let mut count = self.counts[i];
        while self.arrivals[i].front().is_some_and(|&t| t <= as_of) {
            self.arrivals[i].pop_front();
            count += 1;
        }
        while self.endings[i].front().is_some_and(|&t| t <= as_of) {
            self.endings[i].pop_front();
            count -= 1;
        }
        self.counts[i] = count;
        count
    }
}

/// What the views share: the requests in flight and the counts kept from their endings.
#[derive(Debug)]
struct Tracking {
    flights: Flights,
    backends: usize,
    /// Whether every request handed to a backend is tracked until it ends.
    track: bool,
    /// The balancer's requests at each backend (all instances).
    conns: Vec<u32>,
    /// Each instance's requests at each backend (instance-major), for local views and
    /// per-instance caps.
    local: Vec<u32>,
    /// Connection cap per backend (`u32::MAX`: none).
    cap: Vec<u32>,
    /// Whether any backend has a cap.
    capped: bool,
    /// Caps count per instance (nginx `max_conns` without a shared `zone`).
    cap_per_instance: bool,
    lagged: Option<Lagged>,
    /// Whether the balancer records every request's ending itself (faults, health checks,
    /// retries): backends then see every request as unmeasured and tracked, so that a
    /// crash can still fail what they hold and a failed attempt can be retried.
    records: bool,
    /// 1 / speed of each backend (the service time of a completion it records).
    inv_speed: Vec<f64>,
    health: Option<HealthState>,
    /// When a deploy last brought each backend back (a new endpoint to the balancer's
    /// service discovery, as in a Kubernetes rolling update), and how many times one did:
    /// with the health checks' returns, what slow start ramps from.
    redeployed: Vec<f64>,
    redeploys: u64,
    /// Failed attempts reported by backends, waiting for the balancer to retry or fail them
    /// (they are found while a strategy looks at the backends, when nothing can be sent).
    failed: Vec<(Tag, Cause)>,
    /// Measured requests whose fate is not known yet (on the network, queued, or — when
    /// the balancer records — at a backend).
    waiting_measured: u64,
    /// Clients' requests not ended yet, and those of them being retried (retry budget).
    active_requests: u64,
    active_retries: u64,
    /// Closed loop: (time the response reaches its user, user) of requests that ended, for
    /// the dispatcher to schedule their users' next requests (before it pops the calendar).
    returns: Option<Vec<(f64, u32)>>,
    /// Hedged requests: backends never record a response themselves; the first copy's
    /// ending does, here (with `inv_speed`, for the service time it reports).
    hedging: bool,
    /// Measured requests (hedged runs) not answered yet: the run goes on until none is left.
    unanswered: u64,
    /// Hedged requests with `hedge_cancel`: the losing copy is cancelled when the other
    /// answers.
    hedge_cancel: bool,
    /// Losing copies to cancel (tag, generation, time of the winner's answer), found while
    /// absorbing endings (perhaps while a strategy looks) and cancelled after the step.
    cancels: Vec<(Tag, u32, f64)>,
    /// The backends changed (requests handed over, crashes, …), for strategies that keep
    /// an index of what they saw: behind several balancer instances, each sees the others'
    /// dispatches here.
    changes: ChangeLog,
}

impl Tracking {
    /// Whether a strategy's pick may go to backend `i` at `now`, as far as health goes.
    #[inline]
    fn healthy(&self, i: usize, now: f64) -> bool {
        self.health.as_ref().is_none_or(|h| h.usable(i, now))
    }

    /// Whether `instance` may not send another request to backend `i`.
    #[inline]
    fn at_cap(&self, instance: usize, i: usize) -> bool {
        let held = if self.cap_per_instance { self.local[instance * self.backends + i] } else { self.conns[i] };
        held >= self.cap[i]
    }

    #[inline]
    fn open(&mut self, instance: usize, i: usize) {
        self.conns[i] += 1;
        self.local[instance * self.backends + i] += 1;
    }

    #[inline]
    fn close(&mut self, instance: usize, i: usize) {
        self.conns[i] -= 1;
        self.local[instance * self.backends + i] -= 1;
    }

    /// Takes in the endings the backends reported: frees their slots and connections, and
    /// when the balancer records, records completions and sets failures aside for a retry.
    #[inline]
    fn absorb(&mut self, rec: &mut Recorder) {
        let outcomes = rec.outbox.take();
        for outcome in &outcomes {
            let i = outcome.backend as usize;
            if let Some(lag) = &mut self.lagged {
                lag.endings[i].push_back(outcome.time);
            }
            if !self.records {
                let flight = self.flights.remove(outcome.tag);
                if flight.counted {
                    self.close(flight.instance as usize, i);
                }
                if self.hedging && !self.answers(&flight, outcome.ending == Ending::Completed, outcome.time) {
                    continue;
                }
                if self.hedging && flight.label != UNMEASURED {
                    self.unanswered -= 1;
                    match outcome.ending {
                        Ending::Completed => {
                            let response = (outcome.time - flight.origin) + flight.tail;
                            let service = flight.size * self.inv_speed[i];
                            rec.complete(flight.label, outcome.backend, response, response - service, service);
                            rec.backend_response(i, response);
                        }
                        Ending::Failed(cause) => rec.fail(flight.label, cause),
                    }
                }
                if let Some(returns) = &mut self.returns {
                    // The user is the request's client.
                    returns.push((outcome.time + flight.tail, flight.client));
                }
                continue;
            }
            let flight = *self.flights.get(outcome.tag);
            if flight.counted {
                self.close(flight.instance as usize, i);
                self.flights.get_mut(outcome.tag).counted = false;
            }
            match outcome.ending {
                Ending::Completed => {
                    self.flights.remove(outcome.tag);
                    if let Some(h) = &mut self.health
                        && !flight.cut
                    {
                        h.success(i);
                    }
                    if flight.abandoned || (self.hedging && !self.answers(&flight, true, outcome.time)) {
                        continue;
                    }
                    self.active_requests -= 1;
                    if flight.attempt > 0 {
                        self.active_retries -= 1;
                    }
                    if let Some(returns) = &mut self.returns {
                        returns.push((outcome.time + flight.tail, flight.client));
                    }
                    if let Some(series) = &mut rec.series {
                        series.completed(
                            outcome.time + flight.tail,
                            (outcome.time + flight.tail - flight.origin).max(0.0),
                        );
                    }
                    if flight.label != UNMEASURED {
                        self.waiting_measured -= 1;
                        let service = flight.size * self.inv_speed[i];
                        // (The max removes the rounding of differences of large clock values.)
                        let response = (outcome.time + flight.tail - flight.origin).max(service);
                        rec.complete(flight.label, i as u32, response, response - service, service);
                        rec.backend_response(i, response);
                    }
                }
                Ending::Failed(cause) => {
                    if let Some(h) = &mut self.health
                        && !flight.cut
                    {
                        h.failure(i, outcome.time);
                    }
                    if flight.abandoned {
                        self.flights.remove(outcome.tag);
                    } else {
                        self.failed.push((outcome.tag, cause));
                    }
                }
            }
        }
        rec.outbox.restore(outcomes);
    }

    /// Whether the ending of hedged `flight` (just removed, at `now`) is the client's answer:
    /// the first copy to complete is (and with `hedge_cancel` the other is to be cancelled);
    /// a failure is only when no other copy is left to answer.
    fn answers(&mut self, flight: &Flight, completed: bool, now: f64) -> bool {
        if flight.answered {
            return false;
        }
        let twin = (flight.twin != UNTRACKED)
            .then(|| self.flights.get_mut(flight.twin))
            .filter(|t| t.generation == flight.twin_generation);
        match twin {
            Some(twin) if completed => {
                twin.answered = true;
                // Its ending concerns nobody now (nor do its timeouts).
                twin.abandoned = true;
                if self.hedge_cancel {
                    self.cancels.push((flight.twin, flight.twin_generation, now));
                }
                true
            }
            Some(twin) => {
                // The other copy answers instead.
                twin.twin = UNTRACKED;
                false
            }
            None => true,
        }
    }

    /// Brings backend `i` up to `now` and absorbs what it reported.
    #[inline]
    fn refresh(&mut self, backend: &mut Backend, i: usize, now: f64, rec: &mut Recorder) {
        if self.track {
            backend.advance_reporting(now, i as u32, rec);
            if !rec.outbox.is_empty() {
                self.absorb(rec);
            }
        } else {
            backend.advance(now, rec);
        }
    }
}

/// The [`Cluster`] one balancer instance sees.
struct InstanceView<'a> {
    backends: &'a mut [Backend],
    statics: &'a Statics,
    rec: &'a mut Recorder,
    tracking: &'a mut Tracking,
    board: &'a [u32],
    information: Information,
    instance: usize,
    now: f64,
    /// A backend this pick must not choose (the one a retried attempt failed at).
    avoid: usize,
}

impl Cluster for InstanceView<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.backends.len()
    }

    #[inline]
    fn in_system(&mut self, i: usize) -> u32 {
        let now = self.now;
        // A bulletin board needs no look at the backend, unless caps are counted.
        if self.tracking.track || !matches!(self.information, Information::Periodic { .. }) {
            self.tracking.refresh(&mut self.backends[i], i, now, self.rec);
        }
        if self.tracking.at_cap(self.instance, i) || i == self.avoid || !self.tracking.healthy(i, now) {
            return FULL;
        }
        match self.information {
            Information::Exact => self.backends[i].in_system(),
            Information::Local => self.tracking.local[self.instance * self.tracking.backends + i],
            Information::Periodic { .. } => self.board[i],
            Information::Delayed { delay } => match &mut self.tracking.lagged {
                Some(lag) => lag.count(i, now - delay),
                None => self.backends[i].in_system(),
            },
        }
    }

    // Oracle queries: validation admits strategies that make them only with exact
    // information, so these read the backends' true state.
    fn unfinished_work(&mut self, i: usize) -> f64 {
        self.backends[i].unfinished_work_at(self.now, self.rec)
    }

    fn earliest_start(&mut self, i: usize) -> f64 {
        let b = &mut self.backends[i];
        b.advance(self.now, self.rec);
        b.earliest_start(self.now)
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

    #[inline]
    fn up_since(&self, i: usize) -> f64 {
        let t = &self.tracking;
        t.health.as_ref().map_or(f64::NEG_INFINITY, |h| h.back_at(i)).max(t.redeployed[i])
    }

    #[inline]
    fn up_changes(&self) -> u64 {
        let t = &self.tracking;
        t.redeploys + t.health.as_ref().map_or(0, |h| h.changes)
    }

    #[inline]
    fn changes(&self) -> Option<u64> {
        Some(self.tracking.changes.count())
    }

    #[inline]
    fn changed_since(&self, seen: u64) -> Option<&[u32]> {
        self.tracking.changes.since(seen)
    }
}

/// The balancer tier of a run that uses any of the event layer's features.
pub(super) struct Dispatcher<'s> {
    strategies: &'s mut [AnyStrategy],
    routing: Routing,
    information: Information,
    mode: Mode,
    next_instance: usize,
    route_rng: Xoshiro256PlusPlus,
    net_rng: Xoshiro256PlusPlus,
    client_rtt: Option<ServiceDistribution>,
    /// Round-trip time distribution of each backend's group (by backend).
    backend_rtt: Vec<Option<ServiceDistribution>>,
    calendar: Calendar,
    tracking: Tracking,
    /// Bulletin board of numbers in system (periodic information).
    board: Vec<u32>,
    period: f64,
    /// The balancer's queue (HAProxy `maxconn`): tags with the generation they were queued
    /// under; entries whose request left (timed out) are skipped when reached.
    queue: Option<VecDeque<(Tag, u32)>>,
    queued: usize,
    queue_timeout: Option<f64>,
    /// ∫ queue length dt up to `queue_since`.
    queue_area: f64,
    queue_since: f64,
    wake_generation: Vec<u32>,
    /// Time of each backend's pending wake-up (`+∞`: none), so that a closed loop schedules
    /// a new one only when the backend's next ending moved.
    wake_at: Vec<f64>,
    /// Closed-loop users (`None`: open-loop arrivals).
    users: Option<Arc<ClosedLoop>>,
    /// Hedged requests: the delay after which an unanswered request gets a second copy.
    hedge: Option<f64>,
    /// Every backend keeps a wake-up at its next ending (closed loops and hedging act on
    /// each ending at its time), not only while the proxy queue holds requests.
    wake_all: bool,
    think_rng: Xoshiro256PlusPlus,
    /// Redirect with caching: each client's backend + 1 (0: not redirected yet).
    remembered: Vec<u32>,
    draining: bool,
    retries: Retries,
    faults: Vec<Fault>,
    fault_rng: Xoshiro256PlusPlus,
    /// Draws among the backends the balancer may use when a pick may not be used.
    health_rng: Xoshiro256PlusPlus,
    /// Per backend: faults that crashed it and are not over, deploys restarting it (it
    /// refuses connections while either is non-zero), and its speed factor.
    crashed: Vec<u32>,
    restarting: Vec<u32>,
    slowdown: Vec<f64>,
    speed: Vec<f64>,
    probe_interval: f64,
    client: ClientPolicy,
    /// How long the balancer waits for one attempt's response (`upstream_timeout`).
    upstream_timeout: Option<f64>,
    /// A client's timeout cancels its attempt at the backend (`[clients] cancel`).
    cancel_on_give_up: bool,
    /// The clients' retry jitter.
    client_rng: Xoshiro256PlusPlus,
    /// Whether a measured request was seen, and the next backend to look at once the
    /// window is over (so that endings nobody asks about are found and the run can end).
    seen_measured: bool,
    sweep: usize,
}

impl<'s> Dispatcher<'s> {
    /// The balancer of `model`; `strategies` holds one strategy per instance.
    pub(super) fn new(model: &Model, strategies: &'s mut [AnyStrategy], seed: RunSeed) -> Self {
        let b = &model.balancer;
        let instances = b.instances.max(1) as usize;
        assert_eq!(strategies.len(), instances, "one strategy per balancer instance");
        let n = model.backend_count();
        let upstream = |g: usize| b.upstreams.get(g);
        let mut cap = Vec::with_capacity(n);
        let mut backend_rtt = Vec::with_capacity(n);
        for (g, group) in model.backends.iter().enumerate() {
            let u = upstream(g);
            let limit = u.and_then(|u| u.max_conns.or(u.maxconn)).unwrap_or(u32::MAX);
            for _ in 0..group.count {
                cap.push(limit);
                backend_rtt.push(u.and_then(|u| u.rtt.clone()));
            }
        }
        let capped = cap.iter().any(|&c| c != u32::MAX);
        let information = b.information;
        // Counts are kept only for strategies that read them (a state-blind strategy with
        // "local" information decides exactly as without).
        let reads_counts = strategies.iter().any(|s| s.needs() != Needs::Nothing);
        let users = model.closed_loop().cloned();
        let records = !model.faults.is_empty()
            || b.health.is_active()
            || b.retries.is_active()
            || b.upstream_timeout.is_some()
            || model.client.is_active();
        // A closed loop must know when each request ends: its user sends the next one then.
        let hedging = b.hedge.is_some();
        let track = records
            || capped
            || users.is_some()
            || hedging
            || (reads_counts && matches!(information, Information::Local | Information::Delayed { .. }));
        let lagged = match information {
            Information::Delayed { .. } => Some(Lagged {
                arrivals: vec![VecDeque::new(); n],
                endings: vec![VecDeque::new(); n],
                counts: vec![0; n],
            }),
            _ => None,
        };
        let period = match information {
            Information::Periodic { period } => period,
            _ => f64::INFINITY,
        };
        let mut calendar = Calendar::new();
        if period.is_finite() {
            calendar.schedule(0.0, Event::Refresh);
        }
        let mut fault_rng = seed.stream(Purpose::Faults);
        for (index, fault) in model.faults.iter().enumerate() {
            let index = index as u32;
            for (k, backend) in fault.backends.clone().enumerate() {
                let (start, end) = match &fault.kind {
                    FaultKind::Outage { at, duration } | FaultKind::Slowdown { at, duration, .. } => {
                        (*at, Some(at + duration))
                    }
                    FaultKind::Deploy { at, boot } => (at + k as f64 * boot, Some(at + (k + 1) as f64 * boot)),
                    FaultKind::Failures { mtbf, .. } => (mtbf.sample(&mut fault_rng), None),
                };
                calendar.schedule(start, Event::Fault { index, backend, start: true });
                if let Some(end) = end {
                    calendar.schedule(end, Event::Fault { index, backend, start: false });
                }
            }
        }
        let probe_interval = b.health.probe.map_or(f64::INFINITY, |p| p.interval);
        if probe_interval.is_finite() {
            // Staggered over the interval, as a real checker spreads its probes.
            for i in 0..n {
                calendar.schedule(probe_interval * (i + 1) as f64 / n as f64, Event::Probe { backend: i as u32 });
            }
        }
        let speed: Vec<f64> = model.each_backend().map(|(g, _)| g.speed).collect();
        let mut think_rng = seed.stream(Purpose::Users);
        if let Some(users) = &users {
            // Every user starts by thinking, so the first requests are spread out; with a
            // ramp, a user joins when the profile first wants it (and thinks first too).
            for user in 0..users.max_users() {
                if let Some(start) = users.next_start(user, 0.0) {
                    calendar.schedule(start + users.sample_think(&mut think_rng), Event::UserArrival { user });
                }
            }
        }
        let remembered = match b.mode {
            Mode::Redirect { cache: true } => vec![0; model.clients.count() as usize],
            _ => Vec::new(),
        };
        Dispatcher {
            strategies,
            routing: b.routing,
            information,
            mode: b.mode,
            next_instance: 0,
            route_rng: seed.stream(Purpose::Balancer),
            net_rng: seed.stream(Purpose::Network),
            client_rtt: b.rtt.clone(),
            backend_rtt,
            calendar,
            tracking: Tracking {
                flights: Flights::new(),
                backends: n,
                track,
                conns: vec![0; n],
                local: vec![0; n * instances],
                cap,
                capped,
                cap_per_instance: b.upstreams.iter().any(|u| u.max_conns.is_some())
                    && information == Information::Local,
                lagged,
                records,
                inv_speed: speed.iter().map(|s| 1.0 / s).collect(),
                health: b.health.is_active().then(|| HealthState::new(b.health, n)),
                redeployed: vec![f64::NEG_INFINITY; n],
                redeploys: 0,
                failed: Vec::new(),
                waiting_measured: 0,
                active_requests: 0,
                active_retries: 0,
                returns: users.as_ref().map(|_| Vec::new()),
                hedging,
                unanswered: 0,
                hedge_cancel: hedging && b.hedge_cancel,
                cancels: Vec::new(),
                changes: ChangeLog::new(n),
            },
            board: vec![0; n],
            period,
            queue: b.queues().then(VecDeque::new),
            queued: 0,
            queue_timeout: b.queue_timeout,
            queue_area: 0.0,
            queue_since: 0.0,
            wake_generation: vec![0; n],
            wake_at: vec![f64::INFINITY; n],
            wake_all: users.is_some() || hedging,
            hedge: b.hedge.and_then(Hedge::delay),
            users,
            think_rng,
            remembered,
            draining: false,
            retries: b.retries,
            faults: model.faults.clone(),
            fault_rng,
            health_rng: seed.stream_of(Purpose::Faults, 1),
            crashed: vec![0; n],
            restarting: vec![0; n],
            slowdown: vec![1.0; n],
            speed,
            probe_interval,
            client: model.client,
            upstream_timeout: b.upstream_timeout,
            cancel_on_give_up: model.client.cancel && model.client.timeout.is_some(),
            client_rng: seed.stream_of(Purpose::Faults, 2),
            seen_measured: false,
            sweep: 0,
        }
    }

    /// Schedules the client's timeout of request `tag` sent at `now`, if it has one.
    #[inline]
    fn schedule_give_up(&mut self, tag: Tag, now: f64) {
        if let Some(timeout) = self.client.timeout {
            let f = self.tracking.flights.get_mut(tag);
            f.give_up_at = now + timeout;
            let generation = f.generation;
            self.calendar.schedule(now + timeout, Event::GiveUp { tag, generation });
        }
    }

    /// Makes the balancer record every ending itself even with nothing that needs it (a
    /// time series, which needs the time of each ending).
    pub(super) fn recording(mut self, on: bool) -> Self {
        if on {
            self.tracking.records = true;
            self.tracking.track = true;
        }
        self
    }

    /// Whether backend `i` accepts connections (not crashed, not restarting).
    #[inline]
    fn accepting(&self, i: usize) -> bool {
        self.crashed[i] == 0 && self.restarting[i] == 0
    }

    /// Fault `index` starts or ends at backend `b` at `now`.
    fn fault(&mut self, index: usize, b: usize, start: bool, now: f64, ctx: &mut Ctx<'_>) {
        let kind = self.faults[index].kind.clone();
        match kind {
            FaultKind::Outage { .. } | FaultKind::Failures { .. } if start => {
                self.crashed[b] += 1;
                if self.crashed[b] == 1 {
                    ctx.backends[b].crash(now, b as u32, ctx.rec);
                    self.tracking.changes.note(b);
                    self.tracking.absorb(ctx.rec);
                }
                if let FaultKind::Failures { mttr, .. } = &kind {
                    let repair = mttr.sample(&mut self.fault_rng);
                    self.calendar
                        .schedule(now + repair, Event::Fault { index: index as u32, backend: b as u32, start: false });
                }
            }
            FaultKind::Outage { .. } | FaultKind::Failures { .. } => {
                self.crashed[b] -= 1;
                if let FaultKind::Failures { mtbf, .. } = &kind
                    && !self.draining
                {
                    let up = mtbf.sample(&mut self.fault_rng);
                    self.calendar
                        .schedule(now + up, Event::Fault { index: index as u32, backend: b as u32, start: true });
                }
            }
            FaultKind::Slowdown { factor, .. } => {
                if start {
                    self.slowdown[b] *= factor;
                } else {
                    self.slowdown[b] /= factor;
                }
                // Back to exactly 1 once no slow-down holds (no drift from ×f ÷f).
                if !start && (self.slowdown[b] - 1.0).abs() < 1e-9 {
                    self.slowdown[b] = 1.0;
                }
                let speed = self.speed[b] * self.slowdown[b];
                self.tracking.refresh(&mut ctx.backends[b], b, now, ctx.rec);
                ctx.backends[b].set_speed(now, speed, ctx.rec);
                self.tracking.changes.note(b);
            }
            FaultKind::Deploy { .. } => {
                if start {
                    self.restarting[b] += 1;
                    if self.restarting[b] == 1 {
                        // A station's workers restart (finishing what they hold); the fast
                        // paths have no processes to restart.
                        ctx.backends[b].restart(now, ctx.rec);
                        self.tracking.changes.note(b);
                        self.tracking.absorb(ctx.rec);
                    }
                } else {
                    self.restarting[b] -= 1;
                    if self.accepting(b) {
                        self.tracking.redeployed[b] = now;
                        self.tracking.redeploys += 1;
                    }
                }
            }
        }
    }

    /// Retries or fails the attempts that failed at backends, in the order reported.
    fn settle_failures(&mut self, now: f64, ctx: &mut Ctx<'_>) {
        let mut k = 0;
        while k < self.tracking.failed.len() {
            let (tag, cause) = self.tracking.failed[k];
            k += 1;
            let f = *self.tracking.flights.get(tag);
            if f.abandoned {
                self.tracking.flights.remove(tag);
                continue;
            }
            let retry = !self.draining
                && f.tries < self.retries.tries
                && ctx.backends.len() > 1
                && self.retries.timeout.is_none_or(|t| now - f.entered < t);
            if retry {
                if f.label != UNMEASURED {
                    ctx.rec.sections[f.label as usize].retries += 1;
                }
                if let Some(series) = &mut ctx.rec.series {
                    series.retried(now);
                }
                self.tracking.flights.get_mut(tag).stage = Stage::ToBalancer;
                self.attempt_from(tag, now, f.backend as usize, cause, ctx);
            } else {
                self.fail(tag, cause, now, ctx);
            }
        }
        self.tracking.failed.clear();
    }

    /// A round trip drawn from `dist` (0 without one).
    #[inline]
    fn draw(rng: &mut Xoshiro256PlusPlus, dist: &Option<ServiceDistribution>) -> f64 {
        match dist {
            Some(d) => d.sample(rng),
            None => 0.0,
        }
    }

    /// The instance an arrival from `client` reaches.
    #[inline]
    fn route(&mut self, client: u32) -> usize {
        let k = self.strategies.len();
        if k == 1 {
            return 0;
        }
        match self.routing {
            Routing::Random => uniform_index(&mut self.route_rng, k),
            Routing::RoundRobin => {
                let i = self.next_instance;
                self.next_instance = if i + 1 == k { 0 } else { i + 1 };
                i
            }
            Routing::ClientHash => (crate::seed::splitmix(u64::from(client)) % k as u64) as usize,
        }
    }

    fn handle(&mut self, time: f64, event: Event, ctx: &mut Ctx<'_>) {
        match event {
            Event::Attempt { tag } => self.attempt(tag, time, ctx),
            Event::Deliver { tag } => self.deliver(tag, time, ctx),
            Event::Refresh => {
                for (i, b) in ctx.backends.iter_mut().enumerate() {
                    self.tracking.refresh(b, i, time, ctx.rec);
                    self.board[i] = b.in_system();
                }
                if !self.draining {
                    self.calendar.schedule(time + self.period, Event::Refresh);
                }
            }
            Event::Wake { backend, generation } => {
                let i = backend as usize;
                if generation != self.wake_generation[i] {
                    return;
                }
                self.wake_at[i] = f64::INFINITY;
                self.tracking.refresh(&mut ctx.backends[i], i, time, ctx.rec);
                self.serve_queue(i, time, ctx);
                self.schedule_wake(i, ctx);
            }
            Event::Deadline { tag, generation } => {
                let f = *self.tracking.flights.get(tag);
                if f.generation != generation || f.stage != Stage::Queued {
                    return;
                }
                self.account_queue(time);
                self.queued -= 1;
                self.fail(tag, Cause::QueueTimeout, time, ctx);
            }
            Event::Fault { index, backend, start } => self.fault(index as usize, backend as usize, start, time, ctx),
            Event::GiveUp { tag, generation } => {
                let f = *self.tracking.flights.get(tag);
                if f.generation != generation || f.abandoned {
                    return;
                }
                // It (or its hedged copy) may have ended before the client's patience did.
                let twin = self.live_twin(&f).map(|t| *self.tracking.flights.get(t));
                for g in [Some(f), twin].into_iter().flatten() {
                    if g.stage == Stage::AtBackend {
                        let i = g.backend as usize;
                        self.tracking.refresh(&mut ctx.backends[i], i, time, ctx.rec);
                    }
                }
                let f = self.tracking.flights.get(tag);
                if f.generation != generation || f.abandoned {
                    return self.settle_if_failed(time, ctx);
                }
                self.give_up(tag, time, ctx);
            }
            Event::Probe { backend } => {
                let up = self.accepting(backend as usize);
                if let Some(h) = &mut self.tracking.health {
                    h.probe(backend as usize, up, time);
                }
                if !self.draining {
                    self.calendar.schedule(time + self.probe_interval, Event::Probe { backend });
                }
            }
            // Popped only by `drain` (`next_request` takes them otherwise): the run is
            // over, users send nothing more.
            Event::UserArrival { .. } => {}
            Event::Hedge { tag, generation } => self.hedge(tag, generation, time, ctx),
            Event::TryTimeout { tag, generation, tries } => self.try_timeout(tag, generation, tries, time, ctx),
        }
        if !self.tracking.failed.is_empty() {
            self.settle_failures(time, ctx);
        }
        if !self.tracking.cancels.is_empty() {
            self.settle_cancels(ctx);
        }
    }

    /// Cancels the losing copies of hedged requests whose other copy answered, each at the
    /// time of that answer (or at its backend's clock, if later), unless it ended first.
    fn settle_cancels(&mut self, ctx: &mut Ctx<'_>) {
        let mut k = 0;
        while k < self.tracking.cancels.len() {
            let (tag, generation, at) = self.tracking.cancels[k];
            k += 1;
            let f = *self.tracking.flights.get(tag);
            if f.generation != generation || f.cancelled {
                continue;
            }
            if f.stage == Stage::AtBackend {
                // It may have ended by then (its ending is then only freed).
                let i = f.backend as usize;
                self.tracking.refresh(&mut ctx.backends[i], i, at, ctx.rec);
                if self.tracking.flights.get(tag).generation != generation {
                    continue;
                }
            }
            self.cancel_attempt(tag, f.label, at, ctx);
        }
        self.tracking.cancels.clear();
    }

    /// Takes attempt `tag` (of a request of section `label`) back at `now`: out of its
    /// backend if it is there, out of the balancer's queue, or, on the network, dropped
    /// when it arrives. Its slot and connection are freed; nothing is recorded but the
    /// count of cancelled attempts.
    fn cancel_attempt(&mut self, tag: Tag, label: u32, now: f64, ctx: &mut Ctx<'_>) {
        let f = *self.tracking.flights.get(tag);
        if f.stage == Stage::AtBackend {
            if !ctx.backends[f.backend as usize].cancel(now, tag, ctx.rec) {
                // It failed there just before (found by the look that preceded this): that
                // ending is settled with the failures, and nothing is left to cancel.
                return;
            }
            self.tracking.changes.note(f.backend as usize);
        }
        if label != UNMEASURED {
            ctx.rec.sections[label as usize].cancelled += 1;
        }
        match f.stage {
            Stage::AtBackend => {
                let i = f.backend as usize;
                self.tracking.flights.remove(tag);
                if f.counted {
                    self.tracking.close(f.instance as usize, i);
                }
                if let Some(lag) = &mut self.tracking.lagged {
                    lag.endings[i].push_back(now);
                }
                if !ctx.rec.outbox.is_empty() {
                    self.tracking.absorb(ctx.rec);
                }
                if self.queued > 0 {
                    self.serve_queue(i, now, ctx);
                }
                if self.queued > 0 || self.wake_all {
                    self.schedule_wake(i, ctx);
                }
            }
            Stage::Queued => {
                self.account_queue(now);
                self.queued -= 1;
                let f = self.tracking.flights.remove(tag);
                self.forget_undelivered(&f);
            }
            Stage::ToBalancer | Stage::ToBackend => {
                let f = self.tracking.flights.get_mut(tag);
                f.cancelled = true;
                f.answered = true;
            }
        }
    }

    /// A hedged request's original taken back before it reached its backend: it will not
    /// settle there, so the run stops waiting for it here.
    fn forget_undelivered(&mut self, f: &Flight) {
        if self.tracking.hedging && !self.tracking.records && !f.copy && f.label != UNMEASURED {
            self.tracking.waiting_measured -= 1;
        }
    }

    /// Drops attempt `tag`, cancelled on the network, as it arrives at `now`.
    fn drop_cancelled(&mut self, tag: Tag, now: f64, ctx: &mut Ctx<'_>) {
        let f = self.tracking.flights.remove(tag);
        self.forget_undelivered(&f);
        if f.counted {
            let i = f.backend as usize;
            self.tracking.close(f.instance as usize, i);
            if self.queued > 0 {
                self.serve_queue(i, now, ctx);
            }
        }
    }

    /// Takes the earliest event due at or before `t`, after scheduling the next request of
    /// every closed-loop user whose response arrived (their ending may have been discovered
    /// while a backend was advanced for another reason, so this is done before any pop).
    #[inline]
    fn pop_due(&mut self, t: f64) -> Option<(f64, Event)> {
        if let (Some(returns), Some(users)) = (&mut self.tracking.returns, &self.users)
            && !returns.is_empty()
        {
            for (time, user) in returns.drain(..) {
                if !self.draining {
                    let think = users.sample_think(&mut self.think_rng);
                    self.calendar.schedule(time + think, Event::UserArrival { user });
                }
            }
        }
        self.calendar.pop_due(t)
    }

    /// Request `tag` is unanswered `hedge` after it was sent: a second copy goes to another
    /// backend (the original keeps running; the first answer is the client's).
    fn hedge(&mut self, tag: Tag, generation: u32, now: f64, ctx: &mut Ctx<'_>) {
        let f = *self.tracking.flights.get(tag);
        if self.draining || f.generation != generation || f.answered || f.abandoned || f.twin != UNTRACKED {
            return;
        }
        // The same client request: its attempt, its entry (the balancer's retry timeout) and
        // its client's deadline, which a copy that outlives the original must keep.
        let copy = Flight {
            copy: true,
            twin: tag,
            twin_generation: generation,
            attempt: f.attempt,
            entered: f.entered,
            give_up_at: f.give_up_at,
            ..Flight::sent(f.origin, f.client_tail, f.size, f.client, f.label)
        };
        let copy_tag = self.tracking.flights.insert(copy);
        let copy_generation = self.tracking.flights.get(copy_tag).generation;
        if f.give_up_at.is_finite() {
            self.calendar.schedule(f.give_up_at, Event::GiveUp { tag: copy_tag, generation: copy_generation });
        }
        let original = self.tracking.flights.get_mut(tag);
        original.twin = copy_tag;
        original.twin_generation = copy_generation;
        if f.label != UNMEASURED {
            ctx.rec.sections[f.label as usize].hedges += 1;
        }
        self.attempt_from(copy_tag, now, f.backend as usize, Cause::NoBackend, ctx);
    }

    /// Request `tag` reaches the balancer at `now`: an instance picks its backend.
    fn attempt(&mut self, tag: Tag, now: f64, ctx: &mut Ctx<'_>) {
        if self.tracking.flights.get(tag).cancelled {
            return self.drop_cancelled(tag, now, ctx);
        }
        self.tracking.flights.get_mut(tag).entered = now;
        self.attempt_from(tag, now, usize::MAX, Cause::NoBackend, ctx);
    }

    /// An instance picks a backend for request `tag` at `now`, other than `avoid` (the one
    /// its previous attempt failed at; a retry stays with the instance that sent it). With
    /// no backend to send it to, it fails for `cause`.
    fn attempt_from(&mut self, tag: Tag, now: f64, avoid: usize, cause: Cause, ctx: &mut Ctx<'_>) {
        let flight = *self.tracking.flights.get(tag);
        let instance = if flight.tries == 0 { self.route(flight.client) } else { flight.instance as usize };
        self.tracking.flights.get_mut(tag).instance = instance as u32;
        let request = Request { arrival: now, size: flight.size, client: flight.client };
        let mut view = InstanceView {
            backends: ctx.backends,
            statics: ctx.statics,
            rec: ctx.rec,
            tracking: &mut self.tracking,
            board: &self.board,
            information: self.information,
            instance,
            now,
            avoid,
        };
        let mut chosen = self.strategies[instance].pick(&request, &mut view);
        debug_assert!(chosen < ctx.backends.len(), "strategy picked backend {chosen}");
        if !self.tracking.records && avoid != usize::MAX {
            // A hedged copy avoids its original's backend: the next one in order.
            if avoid == chosen && ctx.backends.len() > 1 {
                chosen = (chosen + 1) % ctx.backends.len();
            }
        }
        let avoid = if self.tracking.records { avoid } else { usize::MAX };
        // Envoy's panic mode: too few backends believed healthy, so health is ignored.
        let panic = |t: &Tracking| t.health.as_ref().is_some_and(|h| h.panicking(now));
        let shunned = chosen == avoid || !self.tracking.healthy(chosen, now) && !panic(&self.tracking);
        if shunned
            || self.tracking.capped && {
                // Endings the strategy did not look at must be counted before the cap is.
                self.tracking.refresh(&mut ctx.backends[chosen], chosen, now, ctx.rec);
                self.tracking.at_cap(instance, chosen)
            }
        {
            // nginx and HAProxy skip a server at its cap (or down, or just tried) and try
            // the next one.
            let ignore_health = panic(&self.tracking);
            let n = ctx.backends.len();
            let mut eligible = |this: &mut Self, i: usize| {
                if i == avoid || !(ignore_health || this.tracking.healthy(i, now)) {
                    return false;
                }
                this.tracking.refresh(&mut ctx.backends[i], i, now, ctx.rec);
                !this.tracking.at_cap(instance, i)
            };
            let free = if shunned {
                // A backend believed down (or just tried) is left out of the choice, as
                // nginx leaves it out of its rotation: its share spreads evenly over the
                // others (a uniform draw among those the balancer may use).
                let candidates = (0..n).filter(|&i| i != chosen && eligible(self, i)).count();
                if candidates == 0 {
                    None
                } else {
                    let mut k = uniform_index(&mut self.health_rng, candidates);
                    (0..n).filter(|&i| i != chosen).find(|&i| {
                        let ok = eligible(self, i);
                        if ok && k == 0 {
                            return true;
                        }
                        k -= usize::from(ok);
                        false
                    })
                }
            } else {
                (1..n).map(|k| (chosen + k) % n).find(|&i| eligible(self, i))
            };
            let healthy_somewhere = || (0..n).any(|i| i != avoid && (ignore_health || self.tracking.healthy(i, now)));
            match free {
                Some(i) => chosen = i,
                None if self.queue.is_some() && healthy_somewhere() => return self.enqueue(tag, now, ctx),
                None => return self.fail(tag, cause, now, ctx),
            }
        }
        self.send(tag, chosen, now, ctx);
    }

    /// The balancer sends request `tag` to backend `i` at `now`.
    fn send(&mut self, tag: Tag, i: usize, now: f64, ctx: &mut Ctx<'_>) {
        let track = self.tracking.track;
        let backend_rtt = Self::draw(&mut self.net_rng, &self.backend_rtt[i]);
        let f = self.tracking.flights.get_mut(tag);
        f.backend = i as u32;
        f.stage = Stage::ToBackend;
        f.tries += 1;
        let delay = match self.mode {
            Mode::Proxy => {
                f.tail += backend_rtt / 2.0;
                backend_rtt / 2.0
            }
            Mode::Redirect { cache } => {
                // The redirect goes back to the client (the rest of its first round trip),
                // which then sends the request to the backend over its own network path.
                let client_rtt = Self::draw(&mut self.net_rng, &self.client_rtt);
                let back = f.tail;
                f.tail = (client_rtt + backend_rtt) / 2.0;
                if cache && let Some(slot) = self.remembered.get_mut(f.client as usize) {
                    *slot = i as u32 + 1;
                }
                back + f.tail
            }
        };
        let instance = f.instance as usize;
        if let Some(after) = self.hedge
            && !f.copy
        {
            self.calendar.schedule(now + after, Event::Hedge { tag, generation: f.generation });
        }
        if let Some(timeout) = self.upstream_timeout {
            self.calendar.schedule(now + timeout, Event::TryTimeout { tag, generation: f.generation, tries: f.tries });
        }
        if track {
            f.counted = true;
            self.tracking.open(instance, i);
        }
        if delay > 0.0 {
            self.calendar.schedule(now + delay, Event::Deliver { tag });
        } else {
            self.deliver(tag, now, ctx);
        }
    }

    /// Request `tag` reaches its backend at `now`.
    fn deliver(&mut self, tag: Tag, now: f64, ctx: &mut Ctx<'_>) {
        let f = *self.tracking.flights.get(tag);
        if f.cancelled {
            return self.drop_cancelled(tag, now, ctx);
        }
        let i = f.backend as usize;
        let records = self.tracking.records;
        if records && !self.accepting(i) {
            // Crashed or restarting: the connection is refused at once (nginx: 502, and
            // `proxy_next_upstream error` may try another backend).
            if f.counted {
                self.tracking.close(f.instance as usize, i);
                self.tracking.flights.get_mut(tag).counted = false;
            }
            if let Some(h) = &mut self.tracking.health
                && !f.cut
            {
                h.failure(i, now);
            }
            self.tracking.failed.push((tag, Cause::BackendDown));
            return;
        }
        if self.tracking.track {
            // Collect the backend's endings so far: what it tracks stays bounded by what it
            // holds even when no strategy ever looks (round robin with local counts).
            self.tracking.refresh(&mut ctx.backends[i], i, now, ctx.rec);
        }
        let ticket = Ticket { tag: if self.tracking.track { tag } else { UNTRACKED }, clock: f.origin - f.tail };
        // A balancer that records (faults, health, retries, client timeouts), or hedges, hands
        // backends unmeasured requests and records their endings itself.
        let label = if records || self.tracking.hedging { UNMEASURED } else { f.label };
        let admission = ctx.backends[i].admit_ticket(now, f.size, label, i as u32, ticket, ctx.rec);
        self.tracking.changes.note(i);
        // (A refusal of a request the balancer records is settled below, once it is known
        // that no other copy is left to answer.)
        let settled = !records && !f.copy;
        if f.label != UNMEASURED {
            if settled {
                self.tracking.waiting_measured -= 1;
            }
            ctx.rec.offer(i, f.size);
        }
        match admission {
            Admission::Accepted => {
                if let Some(lag) = &mut self.tracking.lagged {
                    lag.arrivals[i].push_back(now);
                }
                if self.tracking.track {
                    self.tracking.flights.get_mut(tag).stage = Stage::AtBackend;
                } else {
                    self.tracking.flights.remove(tag);
                }
                if self.queued > 0 || self.wake_all {
                    // Its next ending may have moved (processor sharing slows everyone; a
                    // short request on a free worker ends before the others).
                    self.schedule_wake(i, ctx);
                }
            }
            Admission::Rejected => {
                let f = self.tracking.flights.remove(tag);
                // A hedged request is refused only when no other copy is left to answer.
                let last = !self.tracking.hedging || self.tracking.answers(&f, false, now);
                if records && !f.abandoned && last {
                    self.tracking.active_requests -= 1;
                    if f.attempt > 0 {
                        self.tracking.active_retries -= 1;
                    }
                    if f.label != UNMEASURED {
                        self.tracking.waiting_measured -= 1;
                    }
                }
                if last {
                    if f.label != UNMEASURED {
                        ctx.rec.sections[f.label as usize].rejected += 1;
                        ctx.outcome[i].rejected += 1;
                        if self.tracking.hedging && !records {
                            self.tracking.unanswered -= 1;
                        }
                    }
                    if let Some(returns) = &mut self.tracking.returns
                        && !f.abandoned
                    {
                        // The user gets its error (a refused connection) and thinks again.
                        returns.push((now + f.tail, f.client));
                    }
                }
                if f.counted {
                    self.tracking.close(f.instance as usize, i);
                    if self.queued > 0 {
                        self.serve_queue(i, now, ctx);
                    }
                }
            }
        }
    }

    /// The response to request `tag` is an error (`cause`) at `now`.
    fn fail(&mut self, tag: Tag, cause: Cause, now: f64, ctx: &mut Ctx<'_>) {
        let f = self.tracking.flights.remove(tag);
        if self.tracking.hedging && self.tracking.records {
            // The request fails only when no other copy is left to answer; then its client
            // retries or records the error.
            if !f.abandoned && self.tracking.answers(&f, false, now) {
                self.client_error(f, cause, now, ctx);
            }
            return;
        }
        if self.tracking.hedging {
            if f.label != UNMEASURED && !f.copy {
                self.tracking.waiting_measured -= 1;
            }
            // A hedged request fails only when no other copy is left to answer.
            if !self.tracking.answers(&f, false, now) {
                return;
            }
            if let Some(returns) = &mut self.tracking.returns {
                returns.push((now + f.tail, f.client));
            }
            if f.label != UNMEASURED {
                self.tracking.unanswered -= 1;
                ctx.rec.fail(f.label, cause);
            }
            return;
        }
        if !f.abandoned {
            self.client_error(f, cause, now, ctx);
        }
    }

    fn settle_if_failed(&mut self, now: f64, ctx: &mut Ctx<'_>) {
        if !self.tracking.failed.is_empty() {
            self.settle_failures(now, ctx);
        }
    }

    /// The balancer stops waiting for attempt `tries` of request `tag` at `now`
    /// (`upstream_timeout`), unless it ended. As nginx and Envoy do, it closes the connection
    /// (the backend, which notices only when it answers, does the work anyway: the attempt
    /// runs on there, abandoned) and the request fails with a gateway timeout, which the
    /// balancer retries on another backend if `retries` allows (`proxy_next_upstream
    /// timeout`; Envoy retries per-try timeouts) and health checks count as a failure.
    fn try_timeout(&mut self, tag: Tag, generation: u32, tries: u32, now: f64, ctx: &mut Ctx<'_>) {
        let current = |t: &Tracking| {
            let f = t.flights.get(tag);
            f.generation == generation && f.tries == tries && !f.abandoned
        };
        if !current(&self.tracking) {
            return;
        }
        let f = *self.tracking.flights.get(tag);
        let i = f.backend as usize;
        if f.stage == Stage::AtBackend {
            // It may have ended just before.
            self.tracking.refresh(&mut ctx.backends[i], i, now, ctx.rec);
            if !current(&self.tracking) {
                return self.settle_if_failed(now, ctx);
            }
        }
        if !matches!(f.stage, Stage::ToBackend | Stage::AtBackend) {
            return;
        }
        // The attempt stays in its slot (the backend reports its ending by that tag); the
        // request moves to a new one, its client's deadline with it.
        let moved = Flight { counted: false, ..f };
        let old = self.tracking.flights.get_mut(tag);
        old.abandoned = true;
        old.cut = true;
        old.label = UNMEASURED;
        if f.counted {
            old.counted = false;
            self.tracking.close(f.instance as usize, i);
        }
        let new_tag = self.tracking.flights.insert(moved);
        let new_generation = self.tracking.flights.get(new_tag).generation;
        if let Some(twin) = self.live_twin(&f) {
            // The other copy of a hedged request now answers alongside the moved one.
            let twin = self.tracking.flights.get_mut(twin);
            twin.twin = new_tag;
            twin.twin_generation = new_generation;
        }
        if f.give_up_at.is_finite() {
            let generation = self.tracking.flights.get(new_tag).generation;
            self.calendar.schedule(f.give_up_at, Event::GiveUp { tag: new_tag, generation });
        }
        if let Some(h) = &mut self.tracking.health {
            h.failure(i, now);
        }
        self.tracking.failed.push((new_tag, Cause::UpstreamTimeout));
        if self.queued > 0 {
            self.serve_queue(i, now, ctx);
        }
        self.settle_failures(now, ctx);
    }

    /// The client of request `tag` gives up at `now`: the attempt runs on where it is (the
    /// backend still does the work) or, with `cancel`, is taken back out of it; the client
    /// retries or records a timeout.
    fn give_up(&mut self, tag: Tag, now: f64, ctx: &mut Ctx<'_>) {
        let f = self.tracking.flights.get_mut(tag);
        let snapshot = *f;
        f.abandoned = true;
        f.label = UNMEASURED;
        if let Some(twin) = self.live_twin(&snapshot) {
            // The client gives up on the request, so on both copies of a hedged one.
            let t = self.tracking.flights.get_mut(twin);
            let label = t.label;
            t.abandoned = true;
            t.answered = true;
            t.label = UNMEASURED;
            if self.cancel_on_give_up {
                self.cancel_attempt(twin, label, now, ctx);
            }
        }
        if self.cancel_on_give_up {
            self.cancel_attempt(tag, snapshot.label, now, ctx);
        }
        self.client_error(snapshot, Cause::ClientTimeout, now, ctx);
    }

    /// The other copy of hedged request `f`, if it is still in flight.
    fn live_twin(&self, f: &Flight) -> Option<Tag> {
        (self.tracking.hedging
            && f.twin != UNTRACKED
            && self.tracking.flights.get(f.twin).generation == f.twin_generation)
            .then_some(f.twin)
    }

    /// The client of `f` sees an error (`cause`) at `now`: it retries after a backoff if
    /// its policy and the retry budget allow, else the request fails.
    fn client_error(&mut self, f: Flight, cause: Cause, now: f64, ctx: &mut Ctx<'_>) {
        let p = self.client;
        let t = &mut self.tracking;
        let budget_ok = p.budget.is_none_or(|pct| {
            let retrying = t.active_retries + u64::from(f.attempt == 0);
            retrying as f64 <= (pct / 100.0 * t.active_requests as f64).max(ClientPolicy::MIN_RETRY_CONCURRENCY)
        });
        if self.draining || f.attempt >= p.retries || !budget_ok {
            if let Some(series) = &mut ctx.rec.series {
                series.failed(now);
            }
            if f.label != UNMEASURED {
                t.waiting_measured -= 1;
                ctx.rec.fail(f.label, cause);
            }
            t.active_requests -= 1;
            if f.attempt > 0 {
                t.active_retries -= 1;
            }
            if let Some(returns) = &mut t.returns {
                // The error reaches the user (a user who gave up knows at once), who thinks
                // again.
                let back = if cause == Cause::ClientTimeout { now } else { now + f.tail };
                returns.push((back, f.client));
            }
            return;
        }
        if f.attempt == 0 {
            t.active_retries += 1;
        }
        if f.label != UNMEASURED {
            ctx.rec.sections[f.label as usize].retries += 1;
        }
        if let Some(series) = &mut ctx.rec.series {
            series.retried(now);
        }
        // "Full jitter": uniform up to the exponential backoff's cap.
        let cap = (p.backoff * 2f64.powi(f.attempt.min(60) as i32)).min(p.max_backoff);
        let send = now + cap * rand::RngExt::random::<f64>(&mut self.client_rng);
        let client_rtt = Self::draw(&mut self.net_rng, &self.client_rtt);
        let retry = Flight {
            entered: send,
            attempt: f.attempt + 1,
            give_up_at: p.timeout.map_or(f64::INFINITY, |timeout| send + timeout),
            ..Flight::sent(f.origin, client_rtt / 2.0, f.size, f.client, f.label)
        };
        let tag = self.tracking.flights.insert(retry);
        let generation = self.tracking.flights.get(tag).generation;
        self.calendar.schedule(send + client_rtt / 2.0, Event::Attempt { tag });
        if let Some(timeout) = p.timeout {
            self.calendar.schedule(send + timeout, Event::GiveUp { tag, generation });
        }
    }

    fn account_queue(&mut self, now: f64) {
        self.queue_area += self.queued as f64 * (now - self.queue_since);
        self.queue_since = now;
    }

    /// Every backend is at its `maxconn`: request `tag` waits in the balancer's queue.
    fn enqueue(&mut self, tag: Tag, now: f64, ctx: &mut Ctx<'_>) {
        let f = self.tracking.flights.get_mut(tag);
        f.stage = Stage::Queued;
        let generation = f.generation;
        self.account_queue(now);
        self.queued += 1;
        if let Some(q) = &mut self.queue {
            q.push_back((tag, generation));
        }
        if let Some(timeout) = self.queue_timeout {
            self.calendar.schedule(now + timeout, Event::Deadline { tag, generation });
        }
        if self.queued == 1 {
            // From now on every connection that closes must be handed on at once.
            for i in 0..ctx.backends.len() {
                self.schedule_wake(i, ctx);
            }
        }
    }

    /// Hands queued requests, oldest first, to backend `i` while it is below its cap.
    fn serve_queue(&mut self, i: usize, now: f64, ctx: &mut Ctx<'_>) {
        while self.queued > 0 {
            // HAProxy's queue is shared by the threads: the cap is the global one.
            if self.tracking.conns[i] >= self.tracking.cap[i] || !self.tracking.healthy(i, now) {
                return;
            }
            let Some((tag, generation)) = self.queue.as_mut().and_then(VecDeque::pop_front) else { return };
            let f = self.tracking.flights.get(tag);
            if f.generation != generation || f.stage != Stage::Queued {
                continue; // it timed out and left
            }
            self.account_queue(now);
            self.queued -= 1;
            self.send(tag, i, now, ctx);
        }
    }

    /// Schedules a wake-up at backend `i`'s next ending, replacing any earlier one (a closed
    /// loop keeps the pending one when the next ending has not moved).
    fn schedule_wake(&mut self, i: usize, ctx: &mut Ctx<'_>) {
        if self.queued == 0 && !self.wake_all {
            return;
        }
        if let Some(t) = ctx.backends[i].next_ending() {
            if self.wake_all {
                if t == self.wake_at[i] {
                    return;
                }
                self.wake_at[i] = t;
            }
            self.wake_generation[i] = self.wake_generation[i].wrapping_add(1);
            self.calendar.schedule(t, Event::Wake { backend: i as u32, generation: self.wake_generation[i] });
        }
    }
}

impl Path for Dispatcher<'_> {
    #[inline]
    fn run_until(&mut self, t: f64, ctx: &mut Ctx<'_>) {
        if self.users.is_some() && !self.draining {
            // `next_request` handled every event before the arrival it returned; those left
            // at the same time were scheduled after it and wait for the next call.
            return;
        }
        while let Some((time, event)) = self.pop_due(t) {
            self.handle(time, event, ctx);
        }
    }

    fn next_request(&mut self, traffic: &mut Traffic<'_>, ctx: &mut Ctx<'_>, pause: f64) -> Option<Request> {
        if self.users.is_none() {
            return Some(traffic.next_request());
        }
        while let Some((time, event)) = self.pop_due(pause) {
            if let Event::UserArrival { user } = event {
                if let Some(users) = &self.users
                    && !users.active(user, time)
                {
                    // Ramped down: the user leaves, until the profile wants it again.
                    if let Some(start) = users.next_start(user, time) {
                        let think = users.sample_think(&mut self.think_rng);
                        self.calendar.schedule(start + think, Event::UserArrival { user });
                    }
                    continue;
                }
                return Some(Request { arrival: time, size: traffic.size(), client: user });
            }
            self.handle(time, event, ctx);
        }
        // Nothing due by `pause`. (With `pause` = +∞ this cannot happen: every user is
        // always either thinking, a pending arrival, or waiting for a request that holds an
        // event, its network leg or its backend's wake-up.)
        None
    }

    fn dispatch(&mut self, request: &Request, label: u32, ctx: &mut Ctx<'_>) {
        let now = request.arrival;
        self.tracking.active_requests += 1;
        if let Some(series) = &mut ctx.rec.series {
            series.arrival(now);
        }
        if label != UNMEASURED {
            self.tracking.waiting_measured += 1;
            self.seen_measured = true;
            if self.tracking.hedging && !self.tracking.records {
                self.tracking.unanswered += 1;
            }
        } else if self.seen_measured && self.tracking.records && self.tracking.waiting_measured > 0 {
            // Past the window: look at one backend per arrival, so that the endings of
            // measured requests at backends nobody sends to any more are found.
            let i = self.sweep;
            self.sweep = if i + 1 == ctx.backends.len() { 0 } else { i + 1 };
            self.tracking.refresh(&mut ctx.backends[i], i, now, ctx.rec);
        }
        let client_rtt = Self::draw(&mut self.net_rng, &self.client_rtt);
        let mut flight = Flight::sent(now, client_rtt / 2.0, request.size, request.client, label);
        let remembered = self.remembered.get(request.client as usize).copied().unwrap_or(0);
        if remembered > 0 {
            // A cached redirect: straight to the backend, the balancer never sees it.
            let i = remembered as usize - 1;
            let backend_rtt = Self::draw(&mut self.net_rng, &self.backend_rtt[i]);
            flight.tail = (client_rtt + backend_rtt) / 2.0;
            flight.backend = i as u32;
            flight.stage = Stage::ToBackend;
            let tag = self.tracking.flights.insert(flight);
            self.schedule_give_up(tag, now);
            self.calendar.schedule(now + flight.tail, Event::Deliver { tag });
            return;
        }
        let tag = self.tracking.flights.insert(flight);
        self.schedule_give_up(tag, now);
        if client_rtt > 0.0 {
            self.calendar.schedule(now + client_rtt / 2.0, Event::Attempt { tag });
        } else {
            self.attempt(tag, now, ctx);
        }
        if !self.tracking.failed.is_empty() {
            self.settle_failures(now, ctx);
        }
        if !self.tracking.cancels.is_empty() {
            self.settle_cancels(ctx);
        }
    }

    #[inline]
    fn waiting_measured(&self) -> bool {
        self.tracking.waiting_measured > 0 || self.tracking.unanswered > 0
    }

    fn drain(&mut self, ctx: &mut Ctx<'_>) {
        self.draining = true;
        self.run_until(f64::INFINITY, ctx);
        if self.tracking.records {
            // Whatever is still at a backend ends there (failures are not retried).
            for (i, b) in ctx.backends.iter_mut().enumerate() {
                self.tracking.refresh(b, i, f64::INFINITY, ctx.rec);
            }
            self.settle_failures(f64::INFINITY, ctx);
        }
    }

    fn queue_integral(&mut self, now: f64) -> Option<f64> {
        self.queue.as_ref()?;
        self.account_queue(now);
        Some(self.queue_area)
    }
}
