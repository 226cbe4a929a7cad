//! The general backend: a gunicorn master with explicit workers on a host with cores.
//!
//! Chosen per backend group only when the group uses something the fast paths (`Fcfs`,
//! `Ps` in `backend.rs`) cannot express: cores fewer than workers, requests with I/O
//! phases, gthread or gevent workers, an explicit accept rule, or lifecycle settings
//! (`timeout`, `max_requests`). See `docs/ARCHITECTURE.md`, "The event layer", item 4.
//!
//! **Requests.** A request of size S computes `(1 − f)·S` (work at speed 1, so
//! `(1 − f)·S / speed` seconds on a core of its own) and then waits `f·S` seconds for I/O
//! (`f` = the model's `io_fraction`). The I/O phase holds a sync worker or a gthread thread
//! but no core.
//!
//! **Cores.** The host's K cores are shared by processor sharing among the *runners*, the
//! workers that have a CPU phase to run: each runs at `speed × min(1, K / runners)`. A
//! worker process never uses more than one core (the GIL; a gevent loop is one thread).
//! Inside a runner:
//! - `sync` (gunicorn `workers/sync.py`): the worker holds one request for its CPU and I/O.
//! - `gthread` (`workers/gthread.py`): its CPU-ready threads share the worker's one core by
//!   processor sharing (the GIL hands over every switch interval, 5 ms, ≈ round robin).
//! - `gevent` (`workers/ggevent.py`): greenlets do not preempt each other: CPU phases run
//!   one at a time, first come first served. A greenlet whose I/O has ended needs the loop
//!   (the hub) to run again and write its response; while another greenlet computes, the
//!   hub cannot, so the request joins the back of the worker's CPU queue with nothing left
//!   to compute and completes when its turn comes (the residual CPU phase in progress, and
//!   those queued before it: measured by the twin, docs/validation.md).
//!
//! **Accepting.** Connections wait in the kernel: one shared listen queue (`shared`,
//! `lifo`) or one per worker (`reuse_port`, a uniform hash over the open sockets), each
//! bounded by `backlog`. A worker accepts when it can: a sync worker when idle; a gthread
//! worker while it holds fewer than `worker_connections` connections, even with every thread
//! busy (its extra connections wait for a thread in the worker: gunicorn #3433); a gevent
//! worker while under `worker_connections` and its loop is free (no greenlet computing),
//! then greedily up to 100 at once (gevent's `max_accept`). Of several workers able to
//! accept, those whose main thread holds no contended GIL win the race, then `shared` gives
//! the connection to the one that has waited longest and `lifo` to the most recently active
//! (epoll's LIFO wake-up: the busiest worker gets it, gunicorn #2670).
//!
//! **Lifecycle.** `timeout`: gunicorn's master kills a worker that has not notified it for
//! `timeout` seconds. A sync worker notifies between requests, so a request in service that
//! long kills it; a gevent worker's notifier is a greenlet, so one CPU phase blocking the
//! loop that long kills it; gthread's main loop keeps notifying whatever its threads do, so
//! the configuration refuses `timeout` there. Everything a killed worker holds fails
//! (`WorkerTimeout`, nginx's 502) and connections queued on its own `reuse_port` socket are
//! reset (`BackendDown`). `max_requests` (+ `randint(0, max_requests_jitter)`, drawn per
//! worker life): after starting that many requests the worker stops accepting, finishes what
//! it holds and exits. A killed or exited worker is replaced after `boot_time`.
//!
//! The station advances lazily like the other backends: its internal events (CPU and I/O
//! phase ends, kills, boots) are processed when somebody advances it. Completions are
//! recorded at departure, failures with [`Recorder::fail`], and tracked requests report their
//! [`Outcome`]s into the station's outbox. Requests live in a slab with a free list and the
//! queues keep their buffers, so the hot path allocates nothing once warm.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rand::RngExt;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::backend::{Admission, Integrals, Ticket, UNMEASURED};
use super::measure::Recorder;
use super::outcome::{Cause, Ending, Outcome, Tag, UNTRACKED};
use crate::model::{Accept, BackendGroup, ServiceDistribution, WorkerClass};
use crate::stats::ResponseHistogram;

/// No request / no worker.
const NONE: u32 = u32::MAX;

/// gevent's `StreamServer.max_accept`: connections accepted in one go when the loop polls.
const GEVENT_MAX_ACCEPT: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Sync,
    Gthread,
    Gevent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The slot is free.
    Free,
    /// Waiting in a listen queue or for a gthread thread.
    Queued,
    Cpu,
    Io,
    /// gevent: its I/O has ended and it waits in the worker's CPU queue for the loop to
    /// run it again and send its response (no work left).
    Resume,
}

#[derive(Debug, Clone, Copy)]
struct Req {
    arrival: f64,
    /// When a worker (sync, gevent) or a thread (gthread) took it.
    start: f64,
    /// CPU work of its CPU phase (seconds at speed 1).
    cpu: f64,
    /// I/O wait (seconds).
    io: f64,
    /// The worker's virtual time at which its CPU phase ends (while in the CPU phase).
    vtag: f64,
    /// When its I/O ends (while in the I/O phase).
    io_end: f64,
    label: u32,
    tag: Tag,
    worker: u32,
    /// Bumped when the slot is freed, so stale I/O heap entries are recognised.
    generation: u32,
    phase: Phase,
}

/// The internal event due at [`Station::next_event_time`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    Nothing,
    IoEnd,
    CpuEnd(u32),
    Kill(u32),
    Boot(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Up,
    /// Reached `max_requests`: accepts nothing more, exits when it holds nothing.
    Draining,
    /// Killed or exited; its replacement is up at `up_at`.
    Booting,
}

#[derive(Debug)]
struct Worker {
    state: State,
    up_at: f64,
    /// Connections accepted and not finished.
    held: u32,
    /// gthread: requests on a thread.
    threads_busy: u32,
    /// gthread: accepted connections waiting for a thread.
    pending: VecDeque<u32>,
    /// `reuse_port`: this worker's own listen queue.
    socket: VecDeque<u32>,
    /// Requests in a CPU phase: a processor-sharing set (sync, gthread) or a FIFO whose
    /// head runs (gevent).
    cpu: VecDeque<u32>,
    /// Virtual time: CPU work done by each request continuously in the set (PS) or by the
    /// head (FIFO). Reset when the set empties.
    vt: f64,
    /// When the master kills it (sync: its request started `timeout` ago; gevent: one CPU
    /// phase has blocked the loop for `timeout`).
    deadline: f64,
    /// Requests started in this life, and the `max_requests` limit of this life.
    started: u32,
    limit: u32,
    /// The accept order: when a sync worker went back to `accept`, or when a gthread or
    /// gevent worker last accepted (epoll wakes the last waiter first, and a worker that has
    /// just accepted is back in `epoll_wait` before the others stir).
    idle_since: f64,
    busy_since: f64,
    /// ∫ [holds a request] dt, up to `busy_since` when busy.
    busy_area: f64,
    /// Core-seconds of CPU this worker process has used (what `top` shows as its %CPU).
    cpu_used: f64,
}

/// A gunicorn backend with explicit workers, cores and lifecycle.
#[derive(Debug)]
pub struct Station {
    class: Class,
    threads: u32,
    worker_connections: u32,
    accept: Accept,
    speed: f64,
    inv_speed: f64,
    cores: f64,
    backlog: usize,
    io_fraction: f64,
    timeout: f64,
    max_requests: u32,
    jitter: u32,
    boot: ServiceDistribution,
    /// Accept hashing, jitter and boot times (`seed::Purpose::Backend`).
    rng: Xoshiro256PlusPlus,
    workers: Vec<Worker>,
    reqs: Vec<Req>,
    free: Vec<u32>,
    /// The shared listen queue (`shared`, `lifo`).
    queue: VecDeque<u32>,
    /// I/O ends: (time bits, request, generation); times are ≥ 0 so their bits order them.
    io: BinaryHeap<Reverse<(u64, u32, u32)>>,
    /// Workers with a CPU phase to run.
    runners: u32,
    /// Workers holding at least one request.
    busy_workers: u32,
    in_system: u32,
    last: f64,
    /// Time of the next internal event (+∞ when none) and what it is.
    next: f64,
    due: Due,
    integrals: Integrals,
    backend: u32,
    pub(super) pending_measured: u64,
    /// Response times of this backend's measured completions (sum, histogram), so that
    /// groups of different worker classes in one cluster can be compared.
    response_sum: f64,
    responses: ResponseHistogram,
}

impl Station {
    /// A station for one backend of `group`; `rng` is its own stream of
    /// `seed::Purpose::Backend`.
    /// `mean_size` scales the response-time histogram (the model's mean request size).
    pub fn new(group: &BackendGroup, io_fraction: f64, mean_size: f64, rng: Xoshiro256PlusPlus) -> Self {
        let (class, threads, worker_connections) = match group.worker_class {
            WorkerClass::Sync => (Class::Sync, 1, 1),
            WorkerClass::Gthread { threads, worker_connections } => (Class::Gthread, threads, worker_connections),
            WorkerClass::Gevent { worker_connections } => (Class::Gevent, worker_connections, worker_connections),
            WorkerClass::Async { .. } => unreachable!("async backends are processor sharing (Ps)"),
        };
        let n = group.workers as usize;
        let hold = (worker_connections as usize).min(1 << 12);
        let backlog = group.backlog as usize;
        let room = n * hold + backlog.min(1 << 16) + 16;
        let mut station = Station {
            class,
            threads,
            worker_connections,
            accept: group.accept_rule(),
            speed: group.speed,
            inv_speed: 1.0 / group.speed,
            cores: f64::from(group.cores.unwrap_or(group.workers)),
            backlog,
            io_fraction,
            timeout: group.lifecycle.timeout.unwrap_or(f64::INFINITY),
            max_requests: group.lifecycle.max_requests,
            jitter: group.lifecycle.max_requests_jitter,
            boot: group.lifecycle.boot(),
            rng,
            workers: Vec::with_capacity(n),
            reqs: Vec::with_capacity(room),
            free: Vec::with_capacity(room),
            queue: VecDeque::with_capacity(backlog.min(1 << 16) + 1),
            io: BinaryHeap::with_capacity(room),
            runners: 0,
            busy_workers: 0,
            in_system: 0,
            last: 0.0,
            next: f64::INFINITY,
            due: Due::Nothing,
            integrals: Integrals::default(),
            backend: 0,
            pending_measured: 0,
            response_sum: 0.0,
            responses: ResponseHistogram::new(mean_size),
        };
        for _ in 0..n {
            let limit = station.draw_limit();
            station.workers.push(Worker {
                state: State::Up,
                up_at: 0.0,
                held: 0,
                threads_busy: 0,
                pending: VecDeque::with_capacity(if class == Class::Gthread { hold } else { 0 }),
                socket: VecDeque::with_capacity(if station.accept == Accept::ReusePort { 64 } else { 0 }),
                cpu: VecDeque::with_capacity(hold.min(threads as usize) + 1),
                vt: 0.0,
                deadline: f64::INFINITY,
                started: 0,
                limit,
                idle_since: 0.0,
                busy_since: 0.0,
                busy_area: 0.0,
                cpu_used: 0.0,
            });
        }
        station
    }

    /// This life's `max_requests + randint(0, jitter)` (never, when `max_requests` is 0).
    fn draw_limit(&mut self) -> u32 {
        if self.max_requests == 0 {
            return u32::MAX;
        }
        let jitter = if self.jitter > 0 { self.rng.random_range(0..=self.jitter) } else { 0 };
        self.max_requests.saturating_add(jitter)
    }

    #[inline]
    pub fn in_system(&self) -> u32 {
        self.in_system
    }

    /// When the next internal event is due (+∞ when idle).
    #[inline]
    pub fn next_event_time(&self) -> f64 {
        self.next
    }

    /// Processes every internal event up to `now` (the clock stays at the last event).
    #[inline]
    pub fn advance(&mut self, now: f64, rec: &mut Recorder) {
        while self.next <= now && self.next < f64::INFINITY {
            self.step(rec);
        }
    }

    /// Advances to `now` and moves the clock there.
    pub fn settle(&mut self, now: f64, rec: &mut Recorder) {
        self.advance(now, rec);
        if now.is_finite() {
            self.move_to(now);
        }
    }

    /// The integrals from time 0 to `now`.
    pub fn integrals_at(&mut self, now: f64, rec: &mut Recorder) -> Integrals {
        self.settle(now, rec);
        self.integrals
    }

    /// Core-seconds of CPU each worker process has used from 0 to the clock (after
    /// `settle`): divided by a duration, its utilisation as `top` shows it.
    pub fn worker_cpu(&self) -> impl Iterator<Item = f64> + '_ {
        self.workers.iter().map(|w| w.cpu_used)
    }

    /// Mean and p99 response time of this backend's measured completions so far.
    pub fn response_summary(&self) -> Option<(f64, f64)> {
        let n = self.responses.len();
        (n > 0).then(|| (self.response_sum / n as f64, self.responses.quantile(0.99)))
    }

    /// Work left (seconds at speed 1: CPU work plus I/O seconds) of everything inside
    /// (after `settle`).
    pub fn unfinished_work(&self) -> f64 {
        let mut total = 0.0;
        for (id, r) in self.reqs.iter().enumerate() {
            total += match r.phase {
                Phase::Free => 0.0,
                Phase::Queued => r.cpu + r.io,
                Phase::Cpu => {
                    let w = &self.workers[r.worker as usize];
                    let running = self.class != Class::Gevent || w.cpu.front() == Some(&(id as u32));
                    let left = if running { (r.vtag - w.vt).max(0.0) } else { r.cpu };
                    left + r.io
                }
                Phase::Io => (r.io_end - self.last).max(0.0),
                Phase::Resume => 0.0,
            };
        }
        total
    }

    /// Hands a request to the backend (untracked).
    #[inline]
    pub fn admit(&mut self, now: f64, size: f64, label: u32, backend: u32, rec: &mut Recorder) -> Admission {
        self.admit_ticket(now, size, label, backend, Ticket::plain(now), rec)
    }

    /// Hands a request to the backend: a `ticket.tag` other than [`UNTRACKED`] makes it
    /// report its ending as an [`Outcome`] into `rec.outbox` when the station advances past
    /// it, and its response time counts from `ticket.clock`.
    pub fn admit_ticket(
        &mut self,
        now: f64,
        size: f64,
        label: u32,
        backend: u32,
        ticket: Ticket,
        rec: &mut Recorder,
    ) -> Admission {
        let tag: Tag = ticket.tag;
        self.backend = backend;
        self.settle(now, rec);
        let id = self.alloc(Req {
            arrival: ticket.clock,
            start: now,
            cpu: size * (1.0 - self.io_fraction),
            io: size * self.io_fraction,
            vtag: 0.0,
            io_end: 0.0,
            label,
            tag,
            worker: NONE,
            generation: 0,
            phase: Phase::Queued,
        });
        let admitted = if self.accept == Accept::ReusePort {
            self.route_to_socket(id, rec)
        } else if self.queue.is_empty() {
            match self.pick_worker() {
                Some(w) => {
                    self.count_in(id);
                    self.assign(w, id, rec);
                    true
                }
                None => self.enqueue_shared(id),
            }
        } else {
            self.enqueue_shared(id)
        };
        if !admitted {
            self.release(id);
            return Admission::Rejected;
        }
        self.plan();
        Admission::Accepted
    }

    fn enqueue_shared(&mut self, id: u32) -> bool {
        if self.queue.len() >= self.backlog {
            return false;
        }
        self.count_in(id);
        self.queue.push_back(id);
        true
    }

    /// `reuse_port`: a uniform hash over the open sockets (workers not booting).
    fn route_to_socket(&mut self, id: u32, rec: &mut Recorder) -> bool {
        let open = self.workers.iter().filter(|w| w.state != State::Booting).count();
        if open == 0 {
            // No listening socket: the connection is refused.
            return false;
        }
        let mut k = if open == 1 { 0 } else { self.rng.random_range(0..open) };
        let mut chosen = 0;
        for (i, w) in self.workers.iter().enumerate() {
            if w.state != State::Booting {
                if k == 0 {
                    chosen = i;
                    break;
                }
                k -= 1;
            }
        }
        if self.workers[chosen].socket.is_empty() && self.can_accept(chosen) {
            self.count_in(id);
            self.assign(chosen, id, rec);
            return true;
        }
        if self.workers[chosen].socket.len() >= self.backlog {
            return false;
        }
        self.count_in(id);
        self.workers[chosen].socket.push_back(id);
        true
    }

    fn count_in(&mut self, id: u32) {
        self.in_system += 1;
        if self.reqs[id as usize].label != UNMEASURED {
            self.pending_measured += 1;
        }
    }

    fn alloc(&mut self, req: Req) -> u32 {
        match self.free.pop() {
            Some(id) => {
                let generation = self.reqs[id as usize].generation;
                self.reqs[id as usize] = Req { generation, ..req };
                id
            }
            None => {
                self.reqs.push(req);
                (self.reqs.len() - 1) as u32
            }
        }
    }

    fn release(&mut self, id: u32) {
        let r = &mut self.reqs[id as usize];
        r.phase = Phase::Free;
        r.generation = r.generation.wrapping_add(1);
        self.free.push(id);
    }

    /// Whether worker `w` would take a connection now.
    #[inline]
    fn can_accept(&self, w: usize) -> bool {
        let wk = &self.workers[w];
        wk.state == State::Up
            && match self.class {
                Class::Sync => wk.held == 0,
                Class::Gthread => wk.held < self.worker_connections,
                Class::Gevent => wk.held < self.worker_connections && wk.cpu.is_empty(),
            }
    }

    /// The worker that wins a new connection of the shared queue, if any can take it: one
    /// whose main thread is not fighting for the GIL first, then by the accept rule.
    fn pick_worker(&self) -> Option<usize> {
        let lifo = self.accept == Accept::Lifo;
        let mut best: Option<(usize, bool, f64)> = None;
        for w in 0..self.workers.len() {
            if !self.can_accept(w) {
                continue;
            }
            let wk = &self.workers[w];
            let gil_free = wk.cpu.is_empty();
            let better = match best {
                None => true,
                Some((_, bf, bt)) => {
                    if gil_free != bf {
                        gil_free
                    } else if lifo {
                        wk.idle_since > bt
                    } else {
                        wk.idle_since < bt
                    }
                }
            };
            if better {
                best = Some((w, gil_free, wk.idle_since));
            }
        }
        best.map(|(w, _, _)| w)
    }

    /// Worker `w` accepts request `id`.
    fn assign(&mut self, w: usize, id: u32, rec: &mut Recorder) {
        let now = self.last;
        let wk = &mut self.workers[w];
        if wk.held == 0 {
            wk.busy_since = now;
            self.busy_workers += 1;
        }
        wk.held += 1;
        wk.idle_since = now;
        self.reqs[id as usize].worker = w as u32;
        if self.class == Class::Gthread && wk.threads_busy >= self.threads {
            wk.pending.push_back(id);
        } else {
            self.start(w, id, rec);
        }
    }

    /// Request `id` starts being served by worker `w` (gthread: on a thread).
    fn start(&mut self, w: usize, id: u32, rec: &mut Recorder) {
        let now = self.last;
        let wk = &mut self.workers[w];
        wk.started += 1;
        if wk.started >= wk.limit && wk.state == State::Up {
            // gunicorn: "Autorestarting worker after current request."
            wk.state = State::Draining;
        }
        match self.class {
            Class::Gthread => wk.threads_busy += 1,
            Class::Sync => wk.deadline = now + self.timeout,
            Class::Gevent => {}
        }
        self.reqs[id as usize].start = now;
        if self.reqs[id as usize].cpu > 0.0 {
            self.enter_cpu(w, id);
        } else {
            self.enter_io(id, rec);
        }
    }

    fn enter_cpu(&mut self, w: usize, id: u32) {
        let now = self.last;
        let wk = &mut self.workers[w];
        if wk.cpu.is_empty() {
            self.runners += 1;
            if self.class == Class::Gevent {
                wk.deadline = now + self.timeout;
            }
        }
        let r = &mut self.reqs[id as usize];
        r.phase = Phase::Cpu;
        // FIFO (gevent): only the head's tag is meaningful; it is set when it becomes head.
        if self.class != Class::Gevent || wk.cpu.is_empty() {
            r.vtag = wk.vt + r.cpu;
        }
        wk.cpu.push_back(id);
    }

    fn enter_io(&mut self, id: u32, rec: &mut Recorder) {
        let r = &mut self.reqs[id as usize];
        if r.io > 0.0 {
            r.phase = Phase::Io;
            r.io_end = self.last + r.io;
            self.io.push(Reverse((r.io_end.to_bits(), id, r.generation)));
        } else {
            self.finish(id, rec);
        }
    }

    /// Rate (work per second) of each runner.
    #[inline]
    fn rate(&self) -> f64 {
        let runners = f64::from(self.runners);
        if runners <= self.cores { self.speed } else { self.speed * self.cores / runners }
    }

    /// Moves the clock to `t` (no event in between): integrates and advances virtual times.
    fn move_to(&mut self, t: f64) {
        let dt = t - self.last;
        if dt <= 0.0 {
            return;
        }
        self.integrals.in_system += f64::from(self.in_system) * dt;
        self.integrals.busy += f64::from(self.busy_workers) * dt;
        if self.runners > 0 {
            let rate = self.rate();
            let step = dt * rate;
            let cores_each = dt * rate * self.inv_speed;
            let ps = self.class != Class::Gevent;
            for wk in &mut self.workers {
                let m = wk.cpu.len();
                if m > 0 {
                    wk.vt += if ps && m > 1 { step / m as f64 } else { step };
                    wk.cpu_used += cores_each;
                }
            }
        }
        self.last = t;
    }

    /// The CPU phase of worker `w` that ends first: (its position in the set, its tag).
    #[inline]
    fn cpu_head(&self, w: &Worker) -> (usize, f64) {
        if self.class == Class::Gevent || w.cpu.len() == 1 {
            return (0, self.reqs[w.cpu[0] as usize].vtag);
        }
        let mut best = (0, f64::INFINITY);
        for (k, &id) in w.cpu.iter().enumerate() {
            let tag = self.reqs[id as usize].vtag;
            if tag < best.1 {
                best = (k, tag);
            }
        }
        best
    }

    /// Finds the next internal event (ties: I/O ends first, then workers in order).
    fn plan(&mut self) {
        while let Some(&Reverse((_, id, generation))) = self.io.peek() {
            let r = &self.reqs[id as usize];
            if r.generation == generation && r.phase == Phase::Io {
                break;
            }
            self.io.pop();
        }
        let (mut next, mut due) = match self.io.peek() {
            Some(&Reverse((bits, _, _))) => (f64::from_bits(bits), Due::IoEnd),
            None => (f64::INFINITY, Due::Nothing),
        };
        let inv_rate = if self.runners > 0 { 1.0 / self.rate() } else { 0.0 };
        for (w, wk) in self.workers.iter().enumerate() {
            let w = w as u32;
            if wk.state == State::Booting {
                if wk.up_at < next {
                    (next, due) = (wk.up_at, Due::Boot(w));
                }
                continue;
            }
            if wk.deadline < next {
                (next, due) = (wk.deadline, Due::Kill(w));
            }
            let m = wk.cpu.len();
            if m > 0 {
                let (_, tag) = self.cpu_head(wk);
                let share = if self.class == Class::Gevent { 1.0 } else { m as f64 };
                let end = self.last + (tag - wk.vt).max(0.0) * share * inv_rate;
                if end < next {
                    (next, due) = (end, Due::CpuEnd(w));
                }
            }
        }
        self.next = next;
        self.due = due;
    }

    /// Processes the next internal event.
    fn step(&mut self, rec: &mut Recorder) {
        let t = self.next;
        self.move_to(t);
        match self.due {
            Due::Nothing => {}
            Due::IoEnd => {
                let Reverse((_, id, _)) = self.io.pop().expect("a pending I/O end");
                self.io_done(id, rec);
            }
            Due::CpuEnd(w) => {
                let (k, tag) = self.cpu_head(&self.workers[w as usize]);
                self.cpu_done(w as usize, k, tag, rec);
            }
            Due::Kill(w) => self.kill(w as usize, rec),
            Due::Boot(w) => self.boot_done(w as usize, rec),
        }
        self.plan();
    }

    /// Request `id`'s I/O has ended: it completes, unless it is a greenlet whose loop is
    /// busy computing another (or has others ready before it): then it waits its turn.
    fn io_done(&mut self, id: u32, rec: &mut Recorder) {
        if self.class == Class::Gevent {
            let w = self.reqs[id as usize].worker as usize;
            if !self.workers[w].cpu.is_empty() {
                self.reqs[id as usize].phase = Phase::Resume;
                self.workers[w].cpu.push_back(id);
                return;
            }
        }
        self.finish(id, rec);
    }

    /// CPU work (seconds at speed 1) request `id` does when it gets the CPU: nothing for a
    /// greenlet resumed only to send its response.
    #[inline]
    fn cpu_work(&self, id: usize) -> f64 {
        if self.reqs[id].phase == Phase::Resume { 0.0 } else { self.reqs[id].cpu }
    }

    fn cpu_done(&mut self, w: usize, k: usize, tag: f64, rec: &mut Recorder) {
        let now = self.last;
        let gevent = self.class == Class::Gevent;
        let wk = &mut self.workers[w];
        let id = if gevent { wk.cpu.pop_front() } else { wk.cpu.swap_remove_back(k) }.expect("a CPU phase");
        // Exact, whatever rounding the clock step made.
        wk.vt = tag;
        if wk.cpu.is_empty() {
            wk.vt = 0.0;
            self.runners -= 1;
            if gevent {
                wk.deadline = f64::INFINITY;
            }
        } else if gevent {
            let head = wk.cpu[0] as usize;
            let vt = wk.vt;
            wk.deadline = now + self.timeout;
            self.reqs[head].vtag = vt + self.cpu_work(head);
        }
        if self.reqs[id as usize].phase == Phase::Resume {
            self.finish(id, rec);
        } else {
            self.enter_io(id, rec);
        }
        if gevent && self.workers[w].cpu.is_empty() {
            // The loop is free again: back in epoll_wait, the last waiter, it polls and accepts.
            self.workers[w].idle_since = now;
            self.pull(w, rec);
        }
    }

    /// Request `id` completes.
    fn finish(&mut self, id: u32, rec: &mut Recorder) {
        let now = self.last;
        let r = self.reqs[id as usize];
        if r.label != UNMEASURED {
            self.pending_measured -= 1;
            let service = r.cpu * self.inv_speed + r.io;
            let wait = r.start - r.arrival;
            // Response ≥ wait + service at a constant speed; rounding the difference of
            // large clock values can break that by a few ulps, which the floor removes. (A
            // speed change while it ran — a slow-down ending — can make it genuinely less.)
            let elapsed = now - r.arrival;
            let floor = wait + service;
            let response =
                if elapsed < floor && floor - elapsed <= 1e-9 * now.abs().max(1.0) { floor } else { elapsed };
            rec.complete(r.label, self.backend, response, wait, service);
            self.response_sum += response;
            self.responses.record(response);
        }
        if r.tag != UNTRACKED {
            rec.outbox.push(Outcome { tag: r.tag, backend: self.backend, time: now, ending: Ending::Completed });
        }
        self.in_system -= 1;
        self.release(id);
        self.worker_done(r.worker as usize, rec);
    }

    /// Worker `w` is done with one request (completed, or cancelled out of a CPU or I/O
    /// phase): a sync worker goes back to accept, a gthread thread takes the next connection
    /// waiting for one; then the worker exits if it is draining and holds nothing, or takes
    /// what it can from its listen queue.
    fn worker_done(&mut self, w: usize, rec: &mut Recorder) {
        let now = self.last;
        self.leave_worker(w);
        let wk = &mut self.workers[w];
        match self.class {
            Class::Sync => {
                // Back in accept: the accept order counts from now.
                wk.idle_since = now;
                wk.deadline = f64::INFINITY;
            }
            Class::Gthread => {
                wk.threads_busy -= 1;
                if let Some(next) = wk.pending.pop_front() {
                    self.start(w, next, rec);
                }
            }
            Class::Gevent => {}
        }
        let wk = &self.workers[w];
        if wk.state == State::Draining && wk.held == 0 {
            self.go_down(w, rec);
        } else if self.class != Class::Gevent || wk.cpu.is_empty() {
            // (A gevent loop still running greenlets polls its socket when they are done.)
            self.pull(w, rec);
        }
    }

    /// Takes tracked request `tag` out at `now` (the balancer cancelled it: its client went
    /// away, or the other copy of a hedged request answered). Queued, it leaves its listen
    /// queue (or its gthread worker's wait for a thread); in a CPU phase it leaves the
    /// worker's processor-sharing set (gevent: its FIFO); in an I/O phase it stops waiting.
    /// Its worker (or thread) then takes the next request as after a completion. Nothing
    /// is recorded or reported for it. Returns whether it was inside.
    pub fn cancel(&mut self, now: f64, tag: Tag, rec: &mut Recorder) -> bool {
        self.settle(now, rec);
        // Requests inside are few (workers × connections + backlog): a scan, run only by
        // models that cancel.
        let Some(id) = (0..self.reqs.len() as u32)
            .find(|&id| self.reqs[id as usize].phase != Phase::Free && self.reqs[id as usize].tag == tag)
        else {
            return false;
        };
        let r = self.reqs[id as usize];
        if r.label != UNMEASURED {
            self.pending_measured -= 1;
        }
        self.in_system -= 1;
        let w = r.worker as usize;
        let remove = |q: &mut VecDeque<u32>| {
            if let Some(k) = q.iter().position(|&x| x == id) {
                q.remove(k);
                true
            } else {
                false
            }
        };
        match r.phase {
            Phase::Queued if r.worker == NONE => {
                // In the shared listen queue or a `reuse_port` socket.
                if !remove(&mut self.queue) {
                    for wk in &mut self.workers {
                        if remove(&mut wk.socket) {
                            break;
                        }
                    }
                }
                self.release(id);
                self.plan();
                return true;
            }
            Phase::Queued => {
                // Accepted by a gthread worker, waiting for one of its threads.
                remove(&mut self.workers[w].pending);
                self.release(id);
                self.leave_worker(w);
                self.pull(w, rec);
                self.plan();
                return true;
            }
            // (Resume: a greenlet waiting in its loop's queue to send its response.)
            Phase::Cpu | Phase::Resume => {
                let gevent = self.class == Class::Gevent;
                let wk = &mut self.workers[w];
                let k = wk.cpu.iter().position(|&x| x == id).expect("in its worker's CPU set");
                if gevent {
                    wk.cpu.remove(k);
                } else {
                    wk.cpu.swap_remove_back(k);
                }
                if wk.cpu.is_empty() {
                    wk.vt = 0.0;
                    self.runners -= 1;
                    if gevent {
                        wk.deadline = f64::INFINITY;
                    }
                } else if gevent && k == 0 {
                    let head = wk.cpu[0] as usize;
                    let vt = wk.vt;
                    wk.deadline = now.max(self.last) + self.timeout;
                    self.reqs[head].vtag = vt + self.cpu_work(head);
                }
            }
            Phase::Io => {}
            Phase::Free => unreachable!("found among the requests inside"),
        }
        // Out of a CPU or I/O phase: its worker (thread) is free, as after a completion.
        // (A stale I/O heap entry is recognised by the slot's new generation.)
        self.release(id);
        self.worker_done(w, rec);
        self.plan();
        true
    }

    /// Worker `w` lets go of one request.
    fn leave_worker(&mut self, w: usize) {
        let now = self.last;
        let wk = &mut self.workers[w];
        wk.held -= 1;
        if wk.held == 0 {
            wk.busy_area += now - wk.busy_since;
            self.busy_workers -= 1;
        }
    }

    /// Worker `w` takes what it can from its listen queue.
    fn pull(&mut self, w: usize, rec: &mut Recorder) {
        let mut burst = match self.class {
            Class::Sync => 1,
            Class::Gthread => u32::MAX,
            Class::Gevent => GEVENT_MAX_ACCEPT,
        };
        // gevent accepts a burst even though the first accepted greenlet will compute.
        while burst > 0 {
            let wk = &self.workers[w];
            let room = wk.state == State::Up
                && match self.class {
                    Class::Sync => wk.held == 0,
                    Class::Gthread | Class::Gevent => wk.held < self.worker_connections,
                };
            if !room {
                break;
            }
            let next = if self.accept == Accept::ReusePort {
                self.workers[w].socket.pop_front()
            } else {
                self.queue.pop_front()
            };
            let Some(id) = next else { break };
            self.assign(w, id, rec);
            burst -= 1;
        }
    }

    /// The master kills worker `w` (timeout): what it holds fails.
    fn kill(&mut self, w: usize, rec: &mut Recorder) {
        for id in 0..self.reqs.len() as u32 {
            let r = &self.reqs[id as usize];
            if r.phase != Phase::Free && r.worker == w as u32 {
                self.fail(id, Cause::WorkerTimeout, rec);
            }
        }
        let wk = &mut self.workers[w];
        if !wk.cpu.is_empty() {
            self.runners -= 1;
        }
        wk.cpu.clear();
        wk.pending.clear();
        wk.vt = 0.0;
        wk.threads_busy = 0;
        if wk.held > 0 {
            wk.busy_area += self.last - wk.busy_since;
            self.busy_workers -= 1;
        }
        wk.held = 0;
        self.go_down(w, rec);
    }

    /// Request `id` fails for `cause` (its worker's bookkeeping is the caller's).
    fn fail(&mut self, id: u32, cause: Cause, rec: &mut Recorder) {
        let r = self.reqs[id as usize];
        if r.label != UNMEASURED {
            self.pending_measured -= 1;
            rec.fail(r.label, cause);
            rec.sections[r.label as usize].sum_failed_sojourn += self.last - r.arrival;
        }
        if r.tag != UNTRACKED {
            rec.outbox.push(Outcome {
                tag: r.tag,
                backend: self.backend,
                time: self.last,
                ending: Ending::Failed(cause),
            });
        }
        self.in_system -= 1;
        self.release(id);
    }

    /// Worker `w` exits (killed, or restarting after `max_requests`): its own listen socket's
    /// connections are reset and its replacement boots.
    fn go_down(&mut self, w: usize, rec: &mut Recorder) {
        while let Some(id) = self.workers[w].socket.pop_front() {
            self.fail(id, Cause::BackendDown, rec);
        }
        let boot = self.boot.sample(&mut self.rng);
        let wk = &mut self.workers[w];
        wk.state = State::Booting;
        wk.up_at = self.last + boot;
        wk.deadline = f64::INFINITY;
    }

    fn boot_done(&mut self, w: usize, rec: &mut Recorder) {
        let limit = self.draw_limit();
        let now = self.last;
        let wk = &mut self.workers[w];
        wk.state = State::Up;
        wk.started = 0;
        wk.limit = limit;
        wk.idle_since = now;
        self.pull(w, rec);
    }

    /// The host crashes at `now` (an outage or a random failure): the master and every
    /// worker die, and everything inside fails with `BackendDown` — requests in a CPU or an
    /// I/O phase, waiting for a gthread thread, or queued in a listen socket (the kernel
    /// resets them), in slot order. The station comes back empty with new worker processes
    /// (new lives: `max_requests` counts and jitter start again); the balancer keeps
    /// connections away for as long as the fault lasts, which stands for the reboot.
    pub fn crash(&mut self, now: f64, backend: u32, rec: &mut Recorder) {
        self.backend = backend;
        self.settle(now, rec);
        for id in 0..self.reqs.len() as u32 {
            if self.reqs[id as usize].phase != Phase::Free {
                self.fail(id, Cause::BackendDown, rec);
            }
        }
        self.queue.clear();
        self.io.clear();
        self.runners = 0;
        self.busy_workers = 0;
        for w in 0..self.workers.len() {
            let limit = self.draw_limit();
            let wk = &mut self.workers[w];
            if wk.held > 0 {
                wk.busy_area += now - wk.busy_since;
            }
            wk.held = 0;
            wk.threads_busy = 0;
            wk.pending.clear();
            wk.socket.clear();
            wk.cpu.clear();
            wk.vt = 0.0;
            wk.deadline = f64::INFINITY;
            wk.state = State::Up;
            wk.up_at = now;
            wk.started = 0;
            wk.limit = limit;
            wk.idle_since = now;
        }
        debug_assert_eq!(self.in_system, 0);
        self.plan();
    }

    /// The host's speed becomes `speed` at `now` (a slow-down): CPU phases still running
    /// go on at the new speed, exactly; I/O waits are not affected.
    pub fn set_speed(&mut self, now: f64, speed: f64, rec: &mut Recorder) {
        self.settle(now, rec);
        self.speed = speed;
        self.inv_speed = 1.0 / speed;
        self.plan();
    }

    /// A deploy restarts the application at `now`, gracefully (gunicorn on SIGHUP, or a
    /// new release started by SIGTERM and the process manager): every worker stops
    /// accepting, finishes what it holds (its `timeout` still applies) and exits; its
    /// replacement boots for `boot_time` and starts a new life. Connections already in the
    /// shared listen queue wait for the new workers; those on a `reuse_port` worker's own
    /// socket are reset when it closes (`BackendDown`), as the kernel does.
    pub fn restart(&mut self, now: f64, rec: &mut Recorder) {
        self.settle(now, rec);
        for w in 0..self.workers.len() {
            let wk = &mut self.workers[w];
            if wk.state == State::Booting {
                // Already being replaced: the new process is the new release.
                continue;
            }
            wk.state = State::Draining;
            if wk.held == 0 {
                self.go_down(w, rec);
            }
        }
        self.plan();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Lifecycle;
    use rand::SeedableRng;

    fn group(class: WorkerClass, workers: u32, cores: Option<u32>) -> BackendGroup {
        BackendGroup {
            name: "web".into(),
            count: 1,
            workers,
            worker_class: class,
            speed: 1.0,
            backlog: 100,
            weight: None,
            cores,
            accept: None,
            lifecycle: Lifecycle::default(),
        }
    }

    fn station(g: &BackendGroup, io: f64) -> (Station, Recorder) {
        (Station::new(g, io, 1.0, Xoshiro256PlusPlus::seed_from_u64(1)), Recorder::new(1, 1, None))
    }

    #[test]
    fn two_cpu_requests_on_one_core_share_it() {
        let g = group(WorkerClass::Sync, 2, Some(1));
        let (mut s, mut rec) = station(&g, 0.0);
        s.admit(0.0, 1.0, 0, 0, &mut rec);
        s.admit(0.0, 1.0, 0, 0, &mut rec);
        s.advance(1.999, &mut rec);
        assert_eq!(rec.sections[0].completed, 0);
        s.advance(2.0 + 1e-12, &mut rec);
        assert_eq!(rec.sections[0].completed, 2);
        assert!((rec.sections[0].sum_response - 4.0).abs() < 1e-9);
    }

    #[test]
    fn io_holds_a_sync_worker_but_no_core() {
        // 2 workers on 1 core, half I/O: both compute 0.5 together (1 s), then wait 0.5.
        let g = group(WorkerClass::Sync, 2, Some(1));
        let (mut s, mut rec) = station(&g, 0.5);
        s.admit(0.0, 1.0, 0, 0, &mut rec);
        s.admit(0.0, 1.0, 0, 0, &mut rec);
        // A third waits for a worker: starts at 1.5, computes alone, done at 2.5.
        s.admit(0.0, 1.0, 0, 0, &mut rec);
        s.advance(10.0, &mut rec);
        let sec = rec.sections[0];
        assert_eq!(sec.completed, 3);
        assert!((sec.sum_response - (1.5 + 1.5 + 2.5)).abs() < 1e-9, "{}", sec.sum_response);
        assert!((sec.sum_wait - 1.5).abs() < 1e-9);
    }

    #[test]
    fn gthread_accepts_greedily_into_its_own_queue() {
        // gunicorn #3433: 2 workers × 1 thread, lifo: two 10 s requests land on one worker
        // whose GIL is free (both are pure I/O) and take 20 s.
        let g = group(WorkerClass::Gthread { threads: 1, worker_connections: 1000 }, 2, None);
        let (mut s, mut rec) = station(&g, 1.0);
        s.admit(0.0, 10.0, 0, 0, &mut rec);
        s.admit(0.0, 10.0, 0, 0, &mut rec);
        s.advance(100.0, &mut rec);
        assert!((rec.sections[0].sum_response - 30.0).abs() < 1e-9, "{}", rec.sections[0].sum_response);
    }

    #[test]
    fn gevent_runs_cpu_phases_one_at_a_time() {
        let g = group(WorkerClass::Gevent { worker_connections: 1000 }, 1, Some(4));
        let (mut s, mut rec) = station(&g, 0.0);
        s.admit(0.0, 1.0, 0, 0, &mut rec);
        s.admit(0.0, 1.0, 0, 0, &mut rec);
        s.advance(100.0, &mut rec);
        assert!((rec.sections[0].sum_response - 3.0).abs() < 1e-9);
    }

    #[test]
    fn a_gevent_response_waits_for_the_greenlet_computing_when_its_io_ends() {
        // One gevent worker on one core, half I/O. A (1 CPU, 1 I/O) computes 0–1; B (2 CPU,
        // 2 I/O) waits in the listen queue (the loop is busy) and is accepted at 1, when A
        // yields for its I/O; B computes 1–3, so A's response, ready at 2, is sent when B
        // yields at 3. B's I/O ends at 5 on an idle loop: sent at once. C (0.5 CPU, 0.5 I/O)
        // arrives at 3.5 on a free loop: computes 3.5–4, waits 4–4.5, sent at 4.5.
        let g = group(WorkerClass::Gevent { worker_connections: 1000 }, 1, Some(1));
        let (mut s, mut rec) = station(&g, 0.5);
        s.admit_ticket(0.0, 2.0, 0, 0, Ticket { tag: 0, clock: 0.0 }, &mut rec);
        s.admit_ticket(0.0, 4.0, 0, 0, Ticket { tag: 1, clock: 0.0 }, &mut rec);
        s.advance(2.5, &mut rec);
        s.settle(2.5, &mut rec);
        // A waits for the loop with nothing left to do; B has 0.5 of CPU and 2 of I/O left.
        assert_eq!(s.in_system(), 2);
        assert!((s.unfinished_work() - 2.5).abs() < 1e-9, "{}", s.unfinished_work());
        s.admit_ticket(3.5, 1.0, 0, 0, Ticket { tag: 2, clock: 3.5 }, &mut rec);
        s.advance(100.0, &mut rec);
        let ends: Vec<(Tag, f64)> = rec.outbox.take().iter().map(|o| (o.tag, o.time)).collect();
        assert_eq!(ends, vec![(0, 3.0), (2, 4.5), (1, 5.0)]);
        let sec = rec.sections[0];
        assert!((sec.sum_response - (3.0 + 5.0 + 1.0)).abs() < 1e-9, "{}", sec.sum_response);
        // The wait for the loop counts in the response, not in the service (slowdown).
        assert!((sec.sum_slowdown - (3.0 / 2.0 + 5.0 / 4.0 + 1.0)).abs() < 1e-9, "{}", sec.sum_slowdown);
        assert_eq!(s.in_system(), 0);
    }

    #[test]
    fn a_cancelled_greenlet_waiting_for_its_loop_leaves_without_delaying_the_others() {
        // As above: A (1 CPU, 1 I/O) computes 0–1, B (2 CPU, 2 I/O) computes 1–3, and A's
        // response waits for the loop from 2. A's client goes away at 2.5, while A waits
        // behind B: it leaves the loop's queue, B is unaffected (CPU until 3, I/O until 5),
        // nothing is recorded or reported for A, and its connection is released.
        let g = group(WorkerClass::Gevent { worker_connections: 1000 }, 1, Some(1));
        let (mut s, mut rec) = station(&g, 0.5);
        s.admit_ticket(0.0, 2.0, 0, 0, Ticket { tag: 0, clock: 0.0 }, &mut rec);
        s.admit_ticket(0.0, 4.0, 0, 0, Ticket { tag: 1, clock: 0.0 }, &mut rec);
        assert!(s.cancel(2.5, 0, &mut rec), "A is inside, waiting for its loop");
        assert_eq!(s.in_system(), 1);
        assert!((s.unfinished_work() - 2.5).abs() < 1e-9, "{}", s.unfinished_work());
        assert!(!s.cancel(2.6, 0, &mut rec), "A is gone");
        s.advance(100.0, &mut rec);
        let ends: Vec<(Tag, f64)> = rec.outbox.take().iter().map(|o| (o.tag, o.time)).collect();
        assert_eq!(ends, vec![(1, 5.0)]);
        assert_eq!(rec.sections[0].completed, 1);
        assert!((rec.sections[0].sum_response - 5.0).abs() < 1e-9);
        assert_eq!((s.in_system(), s.pending_measured), (0, 0));
        // The worker holds nothing: a new request is accepted and served at once.
        s.admit_ticket(10.0, 1.0, 0, 0, Ticket { tag: 2, clock: 10.0 }, &mut rec);
        s.advance(100.0, &mut rec);
        assert_eq!(rec.outbox.take().iter().map(|o| (o.tag, o.time)).collect::<Vec<_>>(), vec![(2, 11.0)]);
    }

    #[test]
    fn a_timeout_kills_the_worker_and_fails_its_request_then_it_boots() {
        let mut g = group(WorkerClass::Sync, 1, None);
        g.lifecycle.timeout = Some(1.0);
        g.lifecycle.boot_time = Some(ServiceDistribution::deterministic(2.0).unwrap());
        let (mut s, mut rec) = station(&g, 0.0);
        s.admit(0.0, 5.0, 0, 0, &mut rec);
        s.admit(0.5, 0.5, 0, 0, &mut rec);
        s.advance(10.0, &mut rec);
        let sec = rec.sections[0];
        assert_eq!(sec.failed[Cause::WorkerTimeout as usize], 1);
        assert_eq!(sec.completed, 1);
        // Killed at 1, up at 3, serves the second until 3.5.
        assert!((sec.sum_response - 3.0).abs() < 1e-9);
        assert_eq!(s.in_system(), 0);
    }

    #[test]
    fn a_crash_fails_everything_inside_whatever_its_phase_and_the_station_serves_again() {
        // 2 sync workers on 1 core, half I/O; the third request waits for a worker.
        let g = group(WorkerClass::Sync, 2, Some(1));
        let (mut s, mut rec) = station(&g, 0.5);
        s.admit_ticket(0.0, 1.0, 0, 0, Ticket { tag: 0, clock: 0.0 }, &mut rec);
        s.admit_ticket(0.0, 0.2, 0, 0, Ticket { tag: 1, clock: 0.0 }, &mut rec);
        s.admit_ticket(0.0, 1.0, 0, 0, Ticket { tag: 2, clock: 0.0 }, &mut rec);
        // Request 1 computes 0.1 on half the core until 0.2, then waits on I/O until 0.3;
        // request 0 computes until 0.6. Crash at 0.25: 0 computing, 1 in I/O, 2 queued.
        s.crash(0.25, 3, &mut rec);
        let ends: Vec<(Tag, u32, f64, Ending)> =
            rec.outbox.take().iter().map(|o| (o.tag, o.backend, o.time, o.ending)).collect();
        let down = Ending::Failed(Cause::BackendDown);
        assert_eq!(ends, vec![(0, 3, 0.25, down), (1, 3, 0.25, down), (2, 3, 0.25, down)]);
        assert_eq!(rec.sections[0].failed[Cause::BackendDown as usize], 3);
        assert_eq!((s.in_system(), s.pending_measured), (0, 0));
        assert_eq!(s.next_event_time(), f64::INFINITY);
        // New processes: a request after the crash is served from scratch.
        s.admit(1.0, 1.0, 0, 0, &mut rec);
        s.advance(10.0, &mut rec);
        assert_eq!(rec.sections[0].completed, 1);
        assert!((rec.sections[0].sum_response - 1.0).abs() < 1e-9);
        // Busy worker-time: two workers from 0 to 0.25, one from 1 to 2.
        assert!((s.integrals_at(10.0, &mut rec).busy - 1.5).abs() < 1e-9);
    }

    #[test]
    fn a_slowdown_stretches_the_cpu_phase_left_but_not_the_io() {
        let g = group(WorkerClass::Sync, 1, Some(1));
        let (mut s, mut rec) = station(&g, 0.5);
        // 1 of CPU then 1 of I/O; half speed from 0.5: CPU ends at 0.5 + 0.5 / 0.5 = 1.5.
        s.admit(0.0, 2.0, 0, 0, &mut rec);
        s.set_speed(0.5, 0.5, &mut rec);
        s.advance(2.499, &mut rec);
        assert_eq!(rec.sections[0].completed, 0);
        s.advance(2.5 + 1e-12, &mut rec);
        assert_eq!(rec.sections[0].completed, 1);
        assert!((rec.sections[0].sum_response - 2.5).abs() < 1e-9);
    }

    #[test]
    fn a_deploy_lets_workers_finish_then_boots_new_ones_for_the_queue() {
        let mut g = group(WorkerClass::Sync, 1, None);
        g.lifecycle.boot_time = Some(ServiceDistribution::deterministic(1.0).unwrap());
        g.lifecycle.max_requests = 3;
        let (mut s, mut rec) = station(&g, 0.0);
        s.admit(0.0, 1.0, 0, 0, &mut rec);
        s.restart(0.5, &mut rec);
        // Queued behind the draining worker: served by its replacement, up at 2.0.
        s.admit(0.6, 1.0, 0, 0, &mut rec);
        s.advance(10.0, &mut rec);
        assert_eq!(rec.sections[0].completed, 2);
        assert!((rec.sections[0].sum_response - (1.0 + 2.4)).abs() < 1e-9, "{}", rec.sections[0].sum_response);
        // The new worker started a new life at 2.0 (max_requests counts from there): the
        // requests at 10 and 11 are its 2nd and 3rd, so it restarts at 11.5 and the one at
        // 12 waits for it until 12.5.
        for k in 0..4 {
            s.admit(10.0 + f64::from(k), 0.5, 0, 0, &mut rec);
        }
        s.advance(20.0, &mut rec);
        let expected = 3.4 + 0.5 + 0.5 + 1.0 + 0.5;
        assert!((rec.sections[0].sum_response - expected).abs() < 1e-9, "{}", rec.sections[0].sum_response);
        // An idle station restarts at once: all its workers boot.
        s.restart(30.0, &mut rec);
        assert_eq!(s.next_event_time(), 31.0);
    }

    #[test]
    fn max_requests_restarts_after_n_and_tracked_requests_report() {
        let mut g = group(WorkerClass::Sync, 1, None);
        g.lifecycle.max_requests = 2;
        g.lifecycle.boot_time = Some(ServiceDistribution::deterministic(1.0).unwrap());
        let (mut s, mut rec) = station(&g, 0.0);
        for (k, t) in [0.0, 0.0, 0.0].iter().enumerate() {
            s.admit_ticket(*t, 0.5, 0, 0, Ticket { tag: k as Tag, clock: *t }, &mut rec);
        }
        s.advance(10.0, &mut rec);
        // Two served back to back (0.5, 1.0), a 1 s boot, then the third: 2.0 → 2.5.
        assert!((rec.sections[0].sum_response - 4.0).abs() < 1e-9);
        let ends: Vec<(Tag, f64)> = rec.outbox.take().iter().map(|o| (o.tag, o.time)).collect();
        assert_eq!(ends, vec![(0, 0.5), (1, 1.0), (2, 2.5)]);
    }
}
