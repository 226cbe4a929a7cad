//! Runtime state of one backend, advanced lazily to the time somebody looks at it.
//!
//! - [`Fcfs`]: `c` sync workers serving one request each, first come first served from the
//!   backend's accept queue (an M/G/c-FCFS station). The departure time of a request is
//!   known when it is admitted: it starts when the earliest worker frees up
//!   (Kiefer–Wolfowitz), so the backend only keeps pending departure times to count how many
//!   requests are in system.
//! - [`Ps`]: async workers: up to `connections × workers` requests admitted, sharing the
//!   `workers` CPUs by processor sharing (each of n progresses at speed × min(1, workers/n)),
//!   tracked with virtual time and a heap of finish tags; requests beyond the admission limit
//!   wait FCFS in the accept queue.
//!
//! Both integrate the number in system and the number of busy workers exactly between
//! events, so time averages need no sampling.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

use super::measure::Recorder;
use super::outcome::{Ending, Outcome, Tag, UNTRACKED};
use crate::model::{BackendGroup, WorkerClass};

/// Label of a request that is not measured (warm-up or after the window).
pub const UNMEASURED: u32 = u32::MAX;

/// A simulation time with a total order (times are finite, never NaN).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Time(f64);
impl Eq for Time {}
impl PartialOrd for Time {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Time {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Time integrals of a backend since the start of the run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Integrals {
    /// ∫ number in system dt.
    pub in_system: f64,
    /// ∫ busy workers dt.
    pub busy: f64,
}

/// Who a request handed to a backend is, beyond its size: the tag under which its ending
/// must be reported ([`UNTRACKED`]: nobody asks), and the time its response time counts
/// from. The fast path passes `Ticket::plain(now)`; the event layer passes the client's
/// send time, moved earlier by the response's way back, so that `departure − clock` is the
/// response time the client sees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ticket {
    pub tag: Tag,
    pub clock: f64,
}

impl Ticket {
    /// An untracked request whose response time counts from its arrival `now`.
    #[inline(always)]
    pub fn plain(now: f64) -> Self {
        Ticket { tag: UNTRACKED, clock: now }
    }
}

/// What happened to a request handed to a backend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admission {
    Accepted,
    /// The accept queue was full.
    Rejected,
}

/// One backend's runtime state.
#[derive(Debug)]
pub enum Backend {
    Fcfs(Fcfs),
    Ps(Ps),
}

impl Backend {
    pub fn new(group: &BackendGroup) -> Self {
        match group.worker_class {
            WorkerClass::Sync => Backend::Fcfs(Fcfs::new(group.workers, group.speed, group.backlog)),
            WorkerClass::Async { connections } => {
                Backend::Ps(Ps::new(group.workers, group.speed, group.backlog, connections))
            }
        }
    }

    /// Brings the state up to time `now`, reporting departures of measured requests.
    #[inline]
    pub fn advance(&mut self, now: f64, rec: &mut Recorder) {
        match self {
            Backend::Fcfs(b) => b.advance(now),
            Backend::Ps(b) => b.advance(now, rec),
        }
    }

    /// Advances to `now` and returns the time integrals from 0 to `now`.
    pub fn integrals_at(&mut self, now: f64, rec: &mut Recorder) -> Integrals {
        match self {
            Backend::Fcfs(b) => {
                b.advance(now);
                b.integrals_at(now)
            }
            Backend::Ps(b) => {
                b.settle(now, rec);
                b.integrals
            }
        }
    }

    /// Advances to `now`, bringing derived quantities (unfinished work) up to date.
    pub fn settle(&mut self, now: f64, rec: &mut Recorder) {
        match self {
            Backend::Fcfs(b) => b.advance(now),
            Backend::Ps(b) => b.settle(now, rec),
        }
    }

    /// Requests in system (in service plus waiting) as of the last advance.
    #[inline]
    pub fn in_system(&self) -> u32 {
        match self {
            Backend::Fcfs(b) => b.in_system(),
            Backend::Ps(b) => b.in_system(),
        }
    }

    /// Unfinished work (seconds at speed 1) at `now` (after `advance(now)`).
    pub fn unfinished_work(&self, now: f64) -> f64 {
        match self {
            Backend::Fcfs(b) => b.unfinished_work(now),
            Backend::Ps(b) => b.unfinished_work(),
        }
    }

    /// When a request sent now would start service.
    pub fn earliest_start(&self, now: f64) -> f64 {
        match self {
            Backend::Fcfs(b) => b.earliest_start(now),
            Backend::Ps(_) => now,
        }
    }

    /// Hands a request (arrival `now`, work `size`) to the backend; `label` is its section
    /// (or [`UNMEASURED`]) and `backend` this backend's index, for the recorder.
    #[inline]
    pub fn admit(&mut self, now: f64, size: f64, label: u32, backend: u32, rec: &mut Recorder) -> Admission {
        match self {
            Backend::Fcfs(b) => b.admit(now, size, label, backend, Ticket::plain(now), rec),
            Backend::Ps(b) => b.admit(now, size, label, backend, Ticket::plain(now), rec),
        }
    }

    /// [`Backend::admit`] for the event layer: the request's ending is reported as an
    /// [`Outcome`] into `rec.outbox` when the backend advances past it (if `ticket.tag` is
    /// not [`UNTRACKED`]), and its response time counts from `ticket.clock`.
    #[inline]
    pub fn admit_ticket(
        &mut self,
        now: f64,
        size: f64,
        label: u32,
        backend: u32,
        ticket: Ticket,
        rec: &mut Recorder,
    ) -> Admission {
        match self {
            Backend::Fcfs(b) => b.admit(now, size, label, backend, ticket, rec),
            Backend::Ps(b) => b.admit(now, size, label, backend, ticket, rec),
        }
    }

    /// Advances to `now` and reports the endings of tracked requests up to `now` into
    /// `rec.outbox` (`backend` is this backend's index).
    #[inline]
    pub fn advance_reporting(&mut self, now: f64, backend: u32, rec: &mut Recorder) {
        match self {
            Backend::Fcfs(b) => {
                b.advance(now);
                b.report(now, backend, rec);
            }
            Backend::Ps(b) => b.advance(now, rec),
        }
    }

    /// When the next request inside will end, as things stand (`None` when empty): what a
    /// consumer that must act at that exact time schedules a wake-up for.
    pub fn next_ending(&self) -> Option<f64> {
        match self {
            Backend::Fcfs(b) => b.tracked.peek().map(|Reverse((Time(t), _))| *t),
            Backend::Ps(b) => b.next_departure(),
        }
    }

    /// Runs the backend with no further arrivals until every admitted request has left.
    pub fn drain(&mut self, rec: &mut Recorder) {
        self.advance(f64::INFINITY, rec);
    }

    /// Number of measured requests still inside (async backends record at departure).
    pub fn pending_measured(&self) -> u64 {
        match self {
            Backend::Fcfs(_) => 0,
            Backend::Ps(b) => b.pending_measured,
        }
    }
}

/// Pending departure times: a FIFO when one worker serves (departures leave in admission
/// order), a min-heap otherwise.
#[derive(Debug)]
enum Departures {
    Fifo(DepartureLog),
    Heap(BinaryHeap<Reverse<Time>>),
}

/// The departure times of a one-worker FCFS backend, which leave in admission order.
///
/// A ring of the most recent departures, indexed by admission number. Because at most
/// `limit` requests are ever inside and they are the most recent ones, the admission test
/// "are `limit` requests still inside?" is one look at the `limit`-th most recent departure:
/// no loop, no unpredictable branch. Departures are only counted off (`settle`) when a
/// strategy asks how many are inside, so state-blind strategies (random, round robin) never
/// pay for it.
#[derive(Debug)]
struct DepartureLog {
    ring: Vec<f64>,
    mask: u64,
    /// Requests admitted so far.
    admitted: u64,
    /// Every request with admission number below this has left.
    departed: u64,
    limit: u64,
}

impl DepartureLog {
    fn new(limit: u32) -> Self {
        // Small rings grow on demand up to the limit (a huge backlog costs memory only if used).
        let cap = (u64::from(limit) + 1).next_power_of_two().min(4096);
        DepartureLog { ring: vec![0.0; cap as usize], mask: cap - 1, admitted: 0, departed: 0, limit: u64::from(limit) }
    }

    #[inline]
    fn cap(&self) -> u64 {
        self.mask + 1
    }

    /// Counts off the departures up to `now`; returns the number inside.
    #[inline]
    fn settle(&mut self, now: f64) -> u64 {
        // Anything older than the ring's span has certainly left (at most `limit` inside).
        let oldest_possible = self.admitted.saturating_sub(self.limit.min(self.cap()));
        if self.departed < oldest_possible {
            self.departed = oldest_possible;
        }
        while self.departed < self.admitted && self.ring[(self.departed & self.mask) as usize] <= now {
            self.departed += 1;
        }
        self.admitted - self.departed
    }

    /// True when `limit` requests are inside at `now`.
    #[inline]
    fn full(&mut self, now: f64) -> bool {
        if self.admitted < self.limit {
            return false;
        }
        if self.limit <= self.cap() {
            if self.limit == 0 {
                return true;
            }
            // The limit-th most recent request is still inside iff all later ones are.
            return self.ring[((self.admitted - self.limit) & self.mask) as usize] > now;
        }
        self.settle(now) >= self.limit
    }

    #[inline]
    fn push(&mut self, departure: f64) {
        if self.limit > self.cap() && self.admitted - self.departed >= self.cap() {
            self.grow();
        }
        self.ring[(self.admitted & self.mask) as usize] = departure;
        self.admitted += 1;
    }

    /// Doubles the ring, keeping every possibly-pending departure at its index.
    fn grow(&mut self) {
        let cap = self.cap() * 2;
        let mut ring = vec![0.0; cap as usize];
        for i in self.departed..self.admitted {
            ring[(i & (cap - 1)) as usize] = self.ring[(i & self.mask) as usize];
        }
        self.ring = ring;
        self.mask = cap - 1;
    }

    /// The departure times of the requests inside (after `settle`).
    fn pending(&self) -> impl Iterator<Item = f64> + '_ {
        (self.departed..self.admitted).map(|i| self.ring[(i & self.mask) as usize])
    }
}

/// `workers` sync workers, FCFS from a bounded accept queue.
///
/// Time integrals are booked when a request is admitted, because its whole future is known
/// then: it adds `departure − arrival` to ∫ n dt and its service time to ∫ busy dt. Reading
/// the integrals at a time t subtracts the part still in the future: Σ (d − t) over pending
/// departures, and Σ (free_j − t)⁺ over workers (a worker with work assigned is busy without
/// a gap from t until it frees up, since everything assigned to it arrived before t). So the
/// per-request path does no integration at all.
#[derive(Debug)]
pub struct Fcfs {
    speed: f64,
    /// 1 / speed: a multiplication in the hot path instead of a division.
    inv_speed: f64,
    /// Admission limit: workers + backlog.
    limit: u32,
    /// Time each worker finishes the work already assigned to it.
    free_at: Vec<f64>,
    departures: Departures,
    in_system: u32,
    /// Integrals including the booked future of requests still inside.
    booked: Integrals,
    /// Departure times of tracked requests not yet reported (empty on the fast path).
    tracked: BinaryHeap<Reverse<(Time, Tag)>>,
}

impl Fcfs {
    fn new(workers: u32, speed: f64, backlog: u32) -> Self {
        let limit = workers.saturating_add(backlog);
        // Room for everything that can be inside, so the hot loop never reallocates.
        let room = limit.min(4096) as usize + 1;
        let departures = if workers == 1 {
            Departures::Fifo(DepartureLog::new(limit))
        } else {
            Departures::Heap(BinaryHeap::with_capacity(room))
        };
        Fcfs {
            speed,
            inv_speed: 1.0 / speed,
            limit,
            free_at: vec![0.0; workers as usize],
            departures,
            in_system: 0,
            booked: Integrals::default(),
            tracked: BinaryHeap::new(),
        }
    }

    /// Forgets the departures up to `now`.
    #[inline]
    fn advance(&mut self, now: f64) {
        match &mut self.departures {
            Departures::Fifo(log) => {
                self.in_system = log.settle(now) as u32;
            }
            Departures::Heap(h) => {
                while let Some(&Reverse(Time(d))) = h.peek() {
                    if d > now {
                        break;
                    }
                    h.pop();
                    self.in_system -= 1;
                }
            }
        }
    }

    /// The integrals from time 0 to `now` (call after `advance(now)`).
    fn integrals_at(&self, now: f64) -> Integrals {
        let pending: f64 = match &self.departures {
            Departures::Fifo(log) => log.pending().map(|d| d - now).sum(),
            Departures::Heap(h) => h.iter().map(|Reverse(Time(d))| d - now).sum(),
        };
        let busy_ahead: f64 = self.free_at.iter().map(|&f| (f - now).max(0.0)).sum();
        Integrals { in_system: self.booked.in_system - pending, busy: self.booked.busy - busy_ahead }
    }

    #[inline]
    fn in_system(&self) -> u32 {
        self.in_system
    }

    fn unfinished_work(&self, now: f64) -> f64 {
        self.free_at.iter().map(|&f| (f - now).max(0.0)).sum::<f64>() * self.speed
    }

    fn earliest_start(&self, now: f64) -> f64 {
        self.free_at.iter().copied().fold(f64::INFINITY, f64::min).max(now)
    }

    /// Reports the tracked requests that departed by `now`.
    fn report(&mut self, now: f64, backend: u32, rec: &mut Recorder) {
        while let Some(&Reverse((Time(time), tag))) = self.tracked.peek() {
            if time > now {
                break;
            }
            self.tracked.pop();
            rec.outbox.push(Outcome { tag, backend, time, ending: Ending::Completed });
        }
    }

    #[inline(always)]
    fn admit(
        &mut self,
        now: f64,
        size: f64,
        label: u32,
        backend: u32,
        ticket: Ticket,
        rec: &mut Recorder,
    ) -> Admission {
        let full = match &mut self.departures {
            Departures::Fifo(log) => log.full(now),
            Departures::Heap(_) => {
                self.advance(now);
                self.in_system >= self.limit
            }
        };
        if full {
            return Admission::Rejected;
        }
        // The worker that frees up first takes the request (FCFS across workers).
        let w = if self.free_at.len() == 1 {
            0
        } else {
            let mut best = 0;
            for j in 1..self.free_at.len() {
                if self.free_at[j] < self.free_at[best] {
                    best = j;
                }
            }
            best
        };
        let start = self.free_at[w].max(now);
        let service = size * self.inv_speed;
        let departure = start + service;
        self.free_at[w] = departure;
        // (For the FIFO log the count is refreshed by the next `advance`.)
        self.in_system += 1;
        self.booked.in_system += departure - now;
        self.booked.busy += service;
        match &mut self.departures {
            Departures::Fifo(log) => log.push(departure),
            Departures::Heap(h) => h.push(Reverse(Time(departure))),
        }
        if ticket.tag != UNTRACKED {
            self.tracked.push(Reverse((Time(departure), ticket.tag)));
        }
        if label != UNMEASURED {
            // wait + service rather than departure − now: with a clock at t ≈ 10⁵ s, the
            // difference of two large times loses the digits of a microsecond request.
            let wait = start - ticket.clock;
            rec.complete(label, backend, wait + service, wait, service);
        }
        Admission::Accepted
    }
}

/// A request inside a processor-sharing backend, ordered by finish tag.
#[derive(Debug, Clone, Copy)]
struct Job {
    /// Virtual time at which the job completes.
    tag: f64,
    arrival: f64,
    /// Time admitted to service (after any wait in the accept queue).
    admitted: f64,
    service: f64,
    label: u32,
    /// Reported when it ends unless [`UNTRACKED`].
    ticket: Tag,
}
impl PartialEq for Job {
    fn eq(&self, other: &Self) -> bool {
        self.tag == other.tag
    }
}
impl Eq for Job {}
impl PartialOrd for Job {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Job {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the smallest tag first.
        other.tag.total_cmp(&self.tag)
    }
}

/// A request waiting in an async backend's accept queue.
#[derive(Debug, Clone, Copy)]
struct Waiting {
    arrival: f64,
    size: f64,
    label: u32,
    ticket: Tag,
}

/// Async workers: processor sharing over `workers` CPUs with an admission limit.
#[derive(Debug)]
pub struct Ps {
    speed: f64,
    workers: u32,
    /// Requests admitted to service at once: workers × connections.
    admit_limit: u32,
    backlog: u32,
    /// Virtual time: the work (at speed 1) done so far for each request continuously in
    /// service. Reset to 0 whenever the backend empties, to keep its precision.
    virtual_time: f64,
    jobs: BinaryHeap<Job>,
    queue: VecDeque<Waiting>,
    /// Work left (seconds at speed 1) of admitted jobs plus queued ones.
    work_left: f64,
    last: f64,
    integrals: Integrals,
    backend: u32,
    pending_measured: u64,
}

impl Ps {
    fn new(workers: u32, speed: f64, backlog: u32, connections: u32) -> Self {
        let admit_limit = workers.saturating_mul(connections).max(1);
        Ps {
            speed,
            workers,
            admit_limit,
            backlog,
            virtual_time: 0.0,
            jobs: BinaryHeap::with_capacity(admit_limit.min(1 << 20) as usize + 1),
            queue: VecDeque::with_capacity(backlog.min(1 << 20) as usize + 1),
            work_left: 0.0,
            last: 0.0,
            integrals: Integrals::default(),
            backend: 0,
            pending_measured: 0,
        }
    }

    #[inline]
    fn in_system(&self) -> u32 {
        (self.jobs.len() + self.queue.len()) as u32
    }

    fn unfinished_work(&self) -> f64 {
        self.work_left.max(0.0)
    }

    /// Rate at which virtual time advances with `n` jobs in service: each progresses at
    /// speed × min(1, workers / n).
    #[inline]
    fn rate(&self, n: usize) -> f64 {
        let n = n as f64;
        self.speed * (f64::from(self.workers) / n).min(1.0)
    }

    /// Moves the clock to `t` (no departure in between): integrates the population and
    /// advances virtual time in lockstep with real time.
    fn move_to(&mut self, t: f64) {
        let dt = t - self.last;
        if dt <= 0.0 {
            return;
        }
        let in_service = self.jobs.len();
        let busy = (in_service as f64).min(f64::from(self.workers));
        self.integrals.in_system += (in_service + self.queue.len()) as f64 * dt;
        self.integrals.busy += busy * dt;
        self.work_left -= busy * self.speed * dt;
        if in_service > 0 {
            self.virtual_time += dt * self.rate(in_service);
        }
        self.last = t;
    }

    /// Processes every departure up to `now` (the clock stays at the last departure).
    fn advance(&mut self, now: f64, rec: &mut Recorder) {
        while let Some(&next) = self.jobs.peek() {
            let rate = self.rate(self.jobs.len());
            let done_at = self.last + (next.tag - self.virtual_time) / rate;
            if done_at > now {
                break;
            }
            self.move_to(done_at);
            // Exact, whatever rounding the step above made.
            self.virtual_time = next.tag;
            self.jobs.pop();
            if next.label != UNMEASURED {
                self.pending_measured -= 1;
                // Response ≥ service by definition; the max only removes the rounding of
                // differences of large clock values (see `Fcfs::admit`).
                let response = (done_at - next.arrival).max(next.service);
                rec.complete(next.label, self.backend, response, next.admitted - next.arrival, next.service);
            }
            if next.ticket != UNTRACKED {
                rec.outbox.push(Outcome {
                    tag: next.ticket,
                    backend: self.backend,
                    time: done_at,
                    ending: Ending::Completed,
                });
            }
            // A place in service opened: the head of the accept queue gets it.
            if let Some(w) = self.queue.pop_front() {
                self.start(w, done_at);
            }
            if self.jobs.is_empty() {
                self.virtual_time = 0.0;
                self.work_left = 0.0;
            }
        }
    }

    /// When the job with the smallest finish tag leaves if nothing else arrives.
    fn next_departure(&self) -> Option<f64> {
        let next = self.jobs.peek()?;
        Some(self.last + (next.tag - self.virtual_time) / self.rate(self.jobs.len()))
    }

    fn settle(&mut self, now: f64, rec: &mut Recorder) {
        self.advance(now, rec);
        if now.is_finite() {
            self.move_to(now);
        }
    }

    fn start(&mut self, w: Waiting, now: f64) {
        self.jobs.push(Job {
            tag: self.virtual_time + w.size,
            arrival: w.arrival,
            admitted: now,
            service: w.size / self.speed,
            label: w.label,
            ticket: w.ticket,
        });
    }

    fn admit(
        &mut self,
        now: f64,
        size: f64,
        label: u32,
        backend: u32,
        ticket: Ticket,
        rec: &mut Recorder,
    ) -> Admission {
        self.backend = backend;
        self.settle(now, rec);
        let waiting = Waiting { arrival: ticket.clock, size, label, ticket: ticket.tag };
        if (self.jobs.len() as u32) < self.admit_limit {
            self.start(waiting, now);
        } else if (self.queue.len() as u32) < self.backlog {
            self.queue.push_back(waiting);
        } else {
            return Admission::Rejected;
        }
        self.work_left += size;
        if label != UNMEASURED {
            self.pending_measured += 1;
        }
        Admission::Accepted
    }
}
