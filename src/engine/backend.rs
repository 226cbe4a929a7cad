//! Runtime state of one backend, advanced lazily to the time somebody looks at it.
//!
//! - [`Fcfs`]: `c` sync workers serving one request each, first come first served from the
//!   backend's accept queue (an M/G/c-FCFS station). The departure time of a request is
//!   known when it is admitted: it starts when the earliest worker frees up
//!   (Kiefer–Wolfowitz), so the backend only keeps what it needs to count how many requests
//!   are in system: the pending departures (one worker), or each worker's free time and the
//!   start times of the requests waiting (several).
//! - [`Ps`]: async workers: up to `connections × workers` requests admitted, sharing the
//!   `workers` CPUs by processor sharing (each of n progresses at speed × min(1, workers/n)),
//!   tracked with virtual time and a heap of finish tags; requests beyond the admission limit
//!   wait FCFS in the accept queue.
//!
//! Both integrate the number in system and the number of busy workers exactly between
//! events, so time averages need no sampling.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
use std::num::NonZeroU32;

use super::measure::{Recorder, Tally};
use super::outcome::{Cause, Ending, Outcome, Tag, UNTRACKED};
use super::station::Station;
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
///
/// Layout: the hot one-worker FCFS state is the enum's largest variant (three cache lines,
/// see [`Fcfs`]) and its admission limit, never 0, gives the enum one spare value, so
/// exactly one other variant fits without a separate tag word. The rarer backends share
/// that variant, behind one pointer ([`Rare`]), and every backend stays at
/// `size_of::<Fcfs>()` bytes, 64-byte aligned.
#[derive(Debug)]
// The size difference is the point: FCFS backends are the ones a large cluster has by the
// hundred thousand, and their state is laid out by cache line.
#[allow(clippy::large_enum_variant)]
pub enum Backend {
    Fcfs(Fcfs),
    /// Boxed: larger and rarer than `Fcfs`, they would otherwise set the size of every
    /// backend.
    Rare(Box<Rare>),
}

/// The backends that are not the FCFS fast path, behind one pointer of [`Backend`].
///
/// Always boxed, once per backend: an async backend pays the station's size (a few hundred
/// bytes, once), where boxing the station again would add a second pointer chase to each of
/// its events.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Rare {
    /// Async workers: processor sharing over the backend's pooled CPUs.
    Ps(Ps),
    /// The general station (`station.rs`), for groups the fast paths cannot express.
    Station(Station),
}

impl Rare {
    #[inline(never)]
    fn in_system(&self) -> u32 {
        match self {
            Rare::Ps(b) => b.in_system(),
            Rare::Station(b) => b.in_system(),
        }
    }

    #[inline(never)]
    fn in_system_at(&mut self, now: f64, rec: &mut Recorder) -> u32 {
        match self {
            Rare::Ps(b) => {
                b.advance(now, rec);
                b.in_system()
            }
            Rare::Station(b) => {
                b.advance(now, rec);
                b.in_system()
            }
        }
    }

    #[inline(never)]
    fn advance(&mut self, now: f64, rec: &mut Recorder) {
        match self {
            Rare::Ps(b) => b.advance(now, rec),
            Rare::Station(b) => b.advance(now, rec),
        }
    }

    #[inline(never)]
    fn admit(&mut self, now: f64, size: f64, label: u32, backend: u32, rec: &mut Recorder) -> Admission {
        match self {
            Rare::Ps(b) => b.admit(now, size, label, backend, rec),
            Rare::Station(b) => b.admit(now, size, label, backend, rec),
        }
    }
}

/// Whether the members of `group` run on the general station rather than a fast path: a
/// gunicorn class or CPU/I-O split the fast paths cannot express, or (`cancellable`) a sync
/// group whose requests the balancer may take back, since the FCFS fast path books each
/// departure, and with it every later request's start, at admission.
pub fn runs_on_station(group: &BackendGroup, io_fraction: f64, cancellable: bool) -> bool {
    group.needs_station(io_fraction) || (cancellable && matches!(group.worker_class, WorkerClass::Sync))
}

impl Backend {
    pub fn new(group: &BackendGroup) -> Self {
        match group.worker_class {
            WorkerClass::Sync => Backend::Fcfs(Fcfs::new(group.workers, group.speed, group.backlog)),
            WorkerClass::Async { connections } => {
                Backend::Rare(Box::new(Rare::Ps(Ps::new(group.workers, group.speed, group.backlog, connections))))
            }
            WorkerClass::Gthread { .. } | WorkerClass::Gevent { .. } => {
                unreachable!("gthread and gevent backends are stations (Backend::for_group)")
            }
        }
    }

    /// The backend for one member of `group`: a fast path when the group needs nothing more,
    /// else the general station with its own random stream (`rng`, of `Purpose::Backend`)
    /// ([`runs_on_station`]). `cancellable`: the balancer may take requests back
    /// ([`Backend::cancel`]).
    pub fn for_group(
        group: &BackendGroup,
        io_fraction: f64,
        mean_size: f64,
        rng: rand_xoshiro::Xoshiro256PlusPlus,
        cancellable: bool,
    ) -> Self {
        if runs_on_station(group, io_fraction, cancellable) {
            Backend::Rare(Box::new(Rare::Station(Station::new(group, io_fraction, mean_size, rng))))
        } else {
            Backend::new(group)
        }
    }

    /// Brings the state up to time `now`, reporting departures of measured requests.
    ///
    /// Inlined for an FCFS backend (a strategy that counts calls it on every backend it
    /// looks at); the others are a call away.
    #[inline(always)]
    pub fn advance(&mut self, now: f64, rec: &mut Recorder) {
        match self {
            Backend::Fcfs(b) => b.advance(now),
            Backend::Rare(b) => b.advance(now, rec),
        }
    }

    /// Advances to `now` and returns the time integrals from 0 to `now`.
    pub fn integrals_at(&mut self, now: f64, rec: &mut Recorder) -> Integrals {
        match self {
            Backend::Fcfs(b) => b.settle_integrals_at(now),
            Backend::Rare(b) => match &mut **b {
                Rare::Ps(b) => {
                    b.settle(now, rec);
                    b.integrals
                }
                Rare::Station(b) => b.integrals_at(now, rec),
            },
        }
    }

    /// Advances to `now`, bringing derived quantities (unfinished work) up to date.
    pub fn settle(&mut self, now: f64, rec: &mut Recorder) {
        match self {
            Backend::Fcfs(b) => b.advance(now),
            Backend::Rare(b) => match &mut **b {
                Rare::Ps(b) => b.settle(now, rec),
                Rare::Station(b) => b.settle(now, rec),
            },
        }
    }

    /// Advances to `now` and returns the requests in system then (what a strategy that
    /// counts asks of every backend it looks at: one match, inlined for FCFS).
    #[inline(always)]
    pub fn in_system_at(&mut self, now: f64, rec: &mut Recorder) -> u32 {
        match self {
            Backend::Fcfs(b) => {
                b.advance(now);
                b.in_system()
            }
            Backend::Rare(b) => b.in_system_at(now, rec),
        }
    }

    /// When the count of requests in system next falls as things stand (after an advance;
    /// +∞ when empty): its next departure, or for the station its next internal event, no
    /// later than that.
    pub fn next_departure(&self) -> f64 {
        match self {
            Backend::Fcfs(b) => b.next_departure(),
            Backend::Rare(b) => match &**b {
                Rare::Ps(b) => b.next_departure().unwrap_or(f64::INFINITY),
                Rare::Station(b) => b.next_event_time(),
            },
        }
    }

    /// Requests in system (in service plus waiting) as of the last advance.
    #[inline(always)]
    pub fn in_system(&self) -> u32 {
        match self {
            Backend::Fcfs(b) => b.in_system(),
            Backend::Rare(b) => b.in_system(),
        }
    }

    /// Unfinished work (seconds at speed 1) at `now` (after `advance(now)`).
    pub fn unfinished_work(&self, now: f64) -> f64 {
        match self {
            Backend::Fcfs(b) => b.unfinished_work(now),
            Backend::Rare(b) => match &**b {
                Rare::Ps(b) => b.unfinished_work(),
                Rare::Station(b) => b.unfinished_work(),
            },
        }
    }

    /// Unfinished work (seconds at speed 1) at `now`: for an FCFS backend from its workers'
    /// free times alone (its departure ring is not read, as for
    /// [`earliest_start_at`](Self::earliest_start_at)), the others brought up to `now` first.
    pub fn unfinished_work_at(&mut self, now: f64, rec: &mut Recorder) -> f64 {
        if let Backend::Rare(_) = self {
            self.settle(now, rec);
        }
        self.unfinished_work(now)
    }

    /// The workers of an FCFS backend busy at `now` (its free times are all it takes: its
    /// departure ring is not read); `None` for the other kinds.
    pub fn busy_workers(&self, now: f64) -> Option<crate::strategy::BusyWorkers> {
        match self {
            Backend::Fcfs(b) => Some(b.busy_workers(now)),
            Backend::Rare(_) => None,
        }
    }

    /// When a request sent at `now` would start service, brought up to `now` as far as that
    /// answer needs: an FCFS backend's start depends only on its workers' free times, so its
    /// departure ring is left alone (not read: on a large cluster it is rarely in cache).
    pub fn earliest_start_at(&mut self, now: f64, rec: &mut Recorder) -> f64 {
        match self {
            Backend::Fcfs(b) => b.earliest_start(now),
            Backend::Rare(_) => {
                self.advance(now, rec);
                now
            }
        }
    }

    /// When a request sent now would start service.
    pub fn earliest_start(&self, now: f64) -> f64 {
        match self {
            Backend::Fcfs(b) => b.earliest_start(now),
            Backend::Rare(_) => now,
        }
    }

    /// Hands a request (arrival `now`, work `size`) to the backend; `label` is its section
    /// (or [`UNMEASURED`]) and `backend` this backend's index, for the recorder.
    ///
    /// Inlined into the run loop for an FCFS backend (the fast path's every request); the
    /// others are a call away.
    #[inline(always)]
    pub fn admit(&mut self, now: f64, size: f64, label: u32, backend: u32, rec: &mut Recorder) -> Admission {
        match self {
            Backend::Fcfs(b) => b.admit(now, size, label, rec),
            Backend::Rare(b) => b.admit(now, size, label, backend, rec),
        }
    }

    /// Whether the backend is an FCFS backend with one worker that [answers at
    /// admission](Backend::answers_at_admission).
    pub fn one_worker_fcfs(&self) -> bool {
        matches!(self, Backend::Fcfs(b) if b.tracked.is_none() && b.one_worker())
    }

    /// Whether the backend knows a request's response time when it admits it (FCFS), so
    /// that the caller may record it ([`Backend::admit_unrecorded`]).
    pub fn answers_at_admission(&self) -> bool {
        matches!(self, Backend::Fcfs(b) if b.tracked.is_none())
    }

    /// [`Backend::admit`] of a request whose response the caller records, for a backend
    /// that [answers at admission](Backend::answers_at_admission): the request's (wait,
    /// service time), or `None` if the backend was full. (The fast path's blocks record a
    /// block's responses in a loop of their own.)
    /// If `measured`, the request is counted in the backend's tally ([`Backend::offer`],
    /// and its completion).
    /// With `ONE_WORKER`, the caller knows the backend has one worker
    /// ([`Backend::one_worker_fcfs`]), and it is not asked again.
    #[inline(always)]
    pub fn admit_unrecorded<const ONE_WORKER: bool>(
        &mut self,
        now: f64,
        size: f64,
        measured: bool,
    ) -> Option<(f64, f64)> {
        match self {
            Backend::Fcfs(b) => {
                let service = size * b.inv_speed;
                if measured {
                    b.tally.offered_work += size;
                }
                let (start, _) = if ONE_WORKER { b.book_one_worker(now, service) } else { b.book(now, service) }?;
                if measured {
                    b.tally.completed += 1;
                }
                Some((start - now, service))
            }
            Backend::Rare(_) => unreachable!("only FCFS backends answer at admission"),
        }
    }

    /// A measured request of work `work` was sent here (accepted or not), on the fast path:
    /// counted by an FCFS backend itself, by `rec` for the others (`backend` is this
    /// backend's index).
    #[inline(always)]
    pub fn offer(&mut self, backend: usize, work: f64, rec: &mut Recorder) {
        match self {
            Backend::Fcfs(b) => b.tally.offered_work += work,
            Backend::Rare(_) => rec.offer(backend, work),
        }
    }

    /// What this backend counted of the measured requests sent to it ([`Backend::offer`]);
    /// the run's count is this plus the recorder's.
    pub fn tally(&self) -> Tally {
        match self {
            Backend::Fcfs(b) => b.tally,
            Backend::Rare(_) => Tally::default(),
        }
    }

    /// Asks the memory system for this backend's first three cache lines (a hint): what the
    /// strategy and an admission read and write, the departure slots of a one-worker
    /// backend's inline ring included.
    #[inline(always)]
    pub fn prefetch_head(&self) {
        let first = (self as *const Backend).cast::<u8>();
        super::prefetch_line(first);
        super::prefetch_line(first.wrapping_add(64));
        super::prefetch_line(first.wrapping_add(128));
    }

    /// Asks the memory system for the lines of this backend that admitting a request reads
    /// and writes besides the first, once the first has arrived (a hint): its workers' free
    /// times (several workers), the slot of its ring the request takes and, if `counting`,
    /// the one counting the requests inside reads first.
    #[inline]
    pub fn prefetch_for_admission(&self, counting: bool) {
        let Backend::Fcfs(b) = self else { return };
        if !b.workers.is_empty() {
            super::prefetch_line(b.workers.as_ptr().cast::<u8>());
        }
        if b.log.on_heap() {
            super::prefetch(b.log.slot_of(b.log.admitted));
            if counting {
                super::prefetch(b.log.slot_of(b.log.departed));
            }
        }
    }

    /// The backend crashes at `now` (a fault): every tracked request that has not ended by
    /// `now` fails with `BackendDown` (reported into `rec.outbox`, with the completions up
    /// to `now` before them) and the backend is empty afterwards (a station's workers are
    /// killed with what they hold, in a CPU or an I/O phase or queued, and come back as new
    /// processes). Only for runs that track every request and record their endings
    /// themselves (the event layer with faults): an FCFS backend books an untracked
    /// request's completion at admission, which a crash could not take back.
    pub fn crash(&mut self, now: f64, backend: u32, rec: &mut Recorder) {
        match self {
            Backend::Fcfs(b) => b.crash(now, backend, rec),
            Backend::Rare(b) => match &mut **b {
                Rare::Ps(b) => b.crash(now, backend, rec),
                Rare::Station(b) => b.crash(now, backend, rec),
            },
        }
    }

    /// Sets the speed at which work is done from `now` on (a slow-down fault). FCFS: the
    /// speed of the requests admitted from now on (a request's departure is fixed at
    /// admission); processor sharing and the station: exactly, for the work still to do (a
    /// station's CPU phases slow down, its I/O waits do not).
    pub fn set_speed(&mut self, now: f64, speed: f64, rec: &mut Recorder) {
        match self {
            Backend::Fcfs(b) => {
                b.advance(now);
                b.speed = speed;
                b.inv_speed = 1.0 / speed;
            }
            Backend::Rare(b) => match &mut **b {
                Rare::Ps(b) => {
                    b.settle(now, rec);
                    b.speed = speed;
                }
                Rare::Station(b) => b.set_speed(now, speed, rec),
            },
        }
    }

    /// A deploy restarts the backend's application at `now`. Only a station has processes
    /// to restart: every worker finishes what it holds, exits and is replaced after the
    /// group's `boot_time` (gunicorn's graceful restart); the fast paths keep serving what
    /// they hold, and the balancer keeps new connections away for the deploy's `boot`.
    pub fn restart(&mut self, now: f64, rec: &mut Recorder) {
        if let Backend::Rare(b) = self
            && let Rare::Station(s) = &mut **b
        {
            s.restart(now, rec);
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
            Backend::Fcfs(b) => b.admit_ticket(now, size, label, ticket, rec),
            Backend::Rare(b) => match &mut **b {
                Rare::Ps(b) => b.admit_ticket(now, size, label, backend, ticket, rec),
                Rare::Station(b) => b.admit_ticket(now, size, label, backend, ticket, rec),
            },
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
            // Processor sharing and the station report tracked endings into `rec.outbox` as
            // they advance.
            Backend::Rare(_) => self.advance(now, rec),
        }
    }

    /// When the next request inside will end, as things stand (`None` when empty): what a
    /// consumer that must act at that exact time schedules a wake-up for.
    pub fn next_ending(&self) -> Option<f64> {
        match self {
            Backend::Fcfs(b) => b.tracked.as_ref().and_then(|t| t.peek()).map(|Reverse((Time(t), _))| *t),
            Backend::Rare(b) => match &**b {
                Rare::Ps(b) => b.next_departure(),
                // Its next internal event (a phase end, kill or boot): no later than its
                // next ending, so a wake-up there is early at worst and is simply
                // rescheduled.
                Rare::Station(b) => Some(b.next_event_time()).filter(|t| t.is_finite()),
            },
        }
    }

    /// Takes tracked request `tag` out of the backend at `now` (or at the backend's clock,
    /// if it has already been advanced past `now`): from its accept queue if it waits, from
    /// its worker (or its share of the CPUs) if it is being served, which then takes the
    /// next. Nothing is reported for it, and the work it did until then stays in the busy
    /// integrals. Returns whether it was inside. Only processor sharing and the station can
    /// do it: models that cancel run their sync groups on the station
    /// ([`Backend::for_group`]).
    pub fn cancel(&mut self, now: f64, tag: Tag, rec: &mut Recorder) -> bool {
        match self {
            Backend::Fcfs(_) => unreachable!("a model that cancels runs its sync groups on the station"),
            Backend::Rare(b) => match &mut **b {
                Rare::Ps(b) => b.cancel(now, tag, rec),
                Rare::Station(b) => b.cancel(now, tag, rec),
            },
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
            Backend::Rare(b) => match &**b {
                Rare::Ps(b) => b.pending_measured,
                Rare::Station(b) => b.pending_measured,
            },
        }
    }

    /// Whether this backend reports its own response times ([`Backend::response_summary`]).
    pub fn is_station(&self) -> bool {
        self.station().is_some()
    }

    /// The general station, if this backend is one.
    fn station(&self) -> Option<&Station> {
        match self {
            Backend::Rare(b) => match &**b {
                Rare::Station(s) => Some(s),
                Rare::Ps(_) => None,
            },
            Backend::Fcfs(_) => None,
        }
    }

    /// Mean and p99 response time of this backend's measured requests, for backends that
    /// keep them (the station).
    pub fn response_summary(&self) -> Option<(f64, f64)> {
        self.station().and_then(Station::response_summary)
    }

    /// Core-seconds used by each worker from 0 to the last settle, for backends that keep
    /// explicit workers (the station); empty for the fast paths.
    pub fn worker_cpu(&self, into: &mut Vec<f64>) {
        into.clear();
        if let Some(b) = self.station() {
            into.extend(b.worker_cpu());
        }
    }
}

/// The departure times of a one-worker FCFS backend, which leave in admission order.
///
/// A ring of the pending departures indexed by admission number. Up to [`INLINE`] of them
/// live in the log itself, in the backend's own cache lines next to its hot state: on a
/// cluster too large for the caches, a request's slot is then fetched together with its
/// backend (a ring elsewhere on the heap is a second, dependent miss that the engine's
/// prefetching cannot start early). A backend with more inside moves them to a ring on the
/// heap ([`Ring::Heap`]), which doubles as needed and shrinks back (to the inline slots when
/// they hold everything with room to spare) at section boundaries, so memory follows the
/// requests in flight, not the configured backlog. Departures are counted off (`settle`)
/// only when somebody asks how many are inside, or when the count of not-yet-counted-off
/// admissions reaches the admission limit or the ring's size, so state-blind strategies
/// (random, round robin) rarely read the ring at all.
///
/// Admission numbers wrap at 2³² (only their differences and low bits are used; fewer
/// than 2³² requests are ever inside one backend), which keeps the counters in the line
/// with the rest of the hot state.
#[derive(Debug)]
#[repr(C)]
struct DepartureLog {
    /// Requests admitted so far (mod 2³²).
    admitted: u32,
    /// Every request admitted before this one (mod 2³²) has left.
    departed: u32,
    /// The ring's slots less one (they are a power of two): admission i's slot is i & mask.
    /// Kept beside the counters so that a slot's place needs neither the ring's kind nor
    /// its length (nor a bounds check).
    mask: u32,
    /// The smaller of the admission limit and the ring's slots: with fewer admissions not
    /// yet counted off, the next is neither turned away nor short of a slot, which one
    /// comparison tells (`make_room` sees to the rest).
    room: u32,
    ring: Ring,
}

/// Where a [`DepartureLog`] keeps its pending departures: a power of two of slots, its own
/// [`INLINE`] or (more inside) at least twice as many on the heap. `repr(C)`: the tag comes
/// first (in the backend's first line, with the log's counters), then either the inline
/// slots or the heap ring's pointer and length, so a heap slot's address is known from the
/// backend's first two lines without another fetch.
#[derive(Debug)]
#[repr(C)]
enum Ring {
    Inline([f64; INLINE]),
    Heap(Box<[f64]>),
}

impl Ring {
    /// The slots (a power of two of them).
    #[inline(always)]
    fn slots(&self) -> &[f64] {
        match self {
            Ring::Inline(slots) => slots,
            Ring::Heap(slots) => slots,
        }
    }
}

/// Departures a log holds in place before it moves them to the heap: one cache line. (16,
/// two lines, moves to the heap less often under random dispatch at high load, but makes
/// every backend a line larger, which slowed scanning strategies, JSQ and least
/// connections, by 10–25 % on 4 096 and 65 536 backends.)
const INLINE: usize = 8;

impl DepartureLog {
    /// An empty log for a backend that holds at most `limit` requests.
    fn new(limit: u32) -> Self {
        DepartureLog {
            admitted: 0,
            departed: 0,
            mask: INLINE as u32 - 1,
            room: limit.min(INLINE as u32),
            ring: Ring::Inline([0.0; INLINE]),
        }
    }

    /// The ring's slots (a power of two of them).
    #[inline(always)]
    fn slots(&self) -> &[f64] {
        self.ring.slots()
    }

    #[inline(always)]
    fn slots_mut(&mut self) -> &mut [f64] {
        match &mut self.ring {
            Ring::Inline(slots) => slots,
            Ring::Heap(slots) => slots,
        }
    }

    /// The first slot (the ring's kind is read, but by a select, not a branch).
    #[inline(always)]
    fn first_slot(&self) -> *const f64 {
        match &self.ring {
            Ring::Inline(slots) => slots.as_ptr(),
            Ring::Heap(slots) => slots.as_ptr(),
        }
    }

    /// [`DepartureLog::first_slot`], to write through.
    #[inline(always)]
    fn first_slot_mut(&mut self) -> *mut f64 {
        match &mut self.ring {
            Ring::Inline(slots) => slots.as_mut_ptr(),
            Ring::Heap(slots) => slots.as_mut_ptr(),
        }
    }

    /// The departure in admission `i`'s slot.
    #[inline(always)]
    fn departure(&self, i: u32) -> f64 {
        debug_assert_eq!(self.mask as usize + 1, self.slots().len());
        // SAFETY: `mask + 1` is the number of slots (kept by `resize`), a power of two, so
        // `i & mask` is one of them.
        unsafe { *self.first_slot().add((i & self.mask) as usize) }
    }

    /// Whether the pending departures are on the heap.
    fn on_heap(&self) -> bool {
        matches!(self.ring, Ring::Heap(_))
    }

    /// Admissions not yet counted off: an upper bound on the number inside.
    #[inline]
    fn unsettled(&self) -> u64 {
        u64::from(self.admitted.wrapping_sub(self.departed))
    }

    /// The slot of admission number `i`.
    #[inline(always)]
    fn slot(slots: &[f64], i: u32) -> usize {
        i as usize & (slots.len() - 1)
    }

    /// Counts off the departures up to `now`; returns the number inside.
    #[inline]
    fn settle(&mut self, now: f64) -> u64 {
        let (admitted, mut departed) = (self.admitted, self.departed);
        while departed != admitted && self.departure(departed) <= now {
            departed = departed.wrapping_add(1);
        }
        self.departed = departed;
        self.unsettled()
    }

    /// [`DepartureLog::settle`], then Σ (d − now) over the departures still pending, in
    /// admission order, for a log whose departures are in its own slots (`None`, doing
    /// nothing, when they are on the heap). Without a branch on the slots' values, whose
    /// outcomes (how many have left, how many are inside) a section boundary's walk over
    /// every backend cannot predict: the departures never decrease (one worker, admission
    /// order), so those that have left are the ones at or before `now`, wherever they are,
    /// and a slot that is not pending adds a zero (which changes no sum of positive terms;
    /// a sum of none is +0 instead of −0, the same once subtracted from a positive integral).
    #[inline]
    fn settle_and_pending_inline(&mut self, now: f64) -> Option<f64> {
        let Ring::Inline(slots) = &self.ring else { return None };
        let slot = |i: u32| slots[i as usize & (INLINE - 1)];
        let (departed, inside) = (self.departed, self.admitted.wrapping_sub(self.departed));
        let left: u32 =
            (0..INLINE as u32).map(|k| u32::from(k < inside && slot(departed.wrapping_add(k)) <= now)).sum();
        let (departed, inside) = (departed.wrapping_add(left), inside - left);
        let mut pending = 0.0;
        for k in 0..INLINE as u32 {
            let d = slot(departed.wrapping_add(k));
            pending += if k < inside { d - now } else { 0.0 };
        }
        self.departed = departed;
        Some(pending)
    }

    /// Whether a request arriving at `now` finds room, at most `limit` being inside (the
    /// limit the log was made with): false when `limit` requests are inside. When it does,
    /// its departure has a slot ([`DepartureLog::push`]).
    #[inline(always)]
    fn room_for_one(&mut self, now: f64, limit: u32) -> bool {
        self.unsettled() < u64::from(self.room) || self.make_room(now, limit)
    }

    /// [`DepartureLog::room_for_one`] once the admissions not yet counted off have reached
    /// the limit or the ring's size: counts off the departures up to `now`, and doubles the
    /// ring if they still fill it.
    #[inline]
    fn make_room(&mut self, now: f64, limit: u32) -> bool {
        let inside = self.settle(now);
        if inside >= u64::from(limit) {
            return false;
        }
        let len = u64::from(self.mask) + 1;
        if inside == len {
            self.resize(len as usize * 2, limit);
        }
        true
    }

    /// Records the departure of the request [`DepartureLog::room_for_one`] found room for.
    #[inline(always)]
    fn push(&mut self, departure: f64) {
        debug_assert!(self.unsettled() <= u64::from(self.mask));
        let admitted = self.admitted;
        debug_assert_eq!(self.mask as usize + 1, self.slots().len());
        // SAFETY: as in `departure`.
        unsafe { *self.first_slot_mut().add((admitted & self.mask) as usize) = departure };
        self.admitted = admitted.wrapping_add(1);
    }

    /// Records the next entry (several workers: a waiting request's start), doubling the
    /// ring first if it is full (`limit`: the log's admission limit).
    #[inline]
    fn push_growing(&mut self, entry: f64, limit: u32) {
        let len = self.mask as usize + 1;
        if self.unsettled() == len as u64 {
            self.resize(len * 2, limit);
        }
        self.push(entry);
    }

    /// Moves the pending departures to a ring of `len` slots (a power of two ≥ their
    /// number; [`INLINE`] means the log's own), each at its admission number's index
    /// (`limit`: the log's admission limit).
    fn resize(&mut self, len: usize, limit: u32) {
        let ring =
            if len == INLINE { Ring::Inline([0.0; INLINE]) } else { Ring::Heap(vec![0.0; len].into_boxed_slice()) };
        let old = std::mem::replace(&mut self.ring, ring);
        self.mask = len as u32 - 1;
        self.room = limit.min(len as u32);
        let (from, departed, inside) = (old.slots(), self.departed, self.admitted.wrapping_sub(self.departed));
        let to = self.slots_mut();
        for i in (0..inside).map(|k| departed.wrapping_add(k)) {
            to[Self::slot(to, i)] = from[Self::slot(from, i)];
        }
    }

    /// Gives memory back after a burst (after `settle`): a heap ring goes back to the
    /// inline slots when they would be at most half full, and is halved while it is at
    /// least 8× larger than what is inside (`limit`: the log's admission limit).
    fn shrink(&mut self, limit: u32) {
        let current = self.slots().len();
        if current == INLINE {
            return;
        }
        let inside = self.unsettled() as usize;
        let mut len = current;
        if inside * 2 <= INLINE {
            len = INLINE;
        } else {
            while len > 2 * INLINE && inside * 8 < len {
                len /= 2;
            }
        }
        if len < current {
            self.resize(len, limit);
        }
    }

    /// The departure times of the requests inside (after `settle`).
    fn pending(&self) -> impl Iterator<Item = f64> + '_ {
        let slots = self.slots();
        (0..self.admitted.wrapping_sub(self.departed))
            .map(move |k| slots[Self::slot(slots, self.departed.wrapping_add(k))])
    }

    /// The slot admission number `i` uses, to ask the memory system for it.
    #[inline(always)]
    fn slot_of(&self, i: u32) -> &f64 {
        let slots = self.slots();
        &slots[Self::slot(slots, i)]
    }
}

/// Gives a request arriving at `now` with `service` seconds of work to the worker of
/// `free_at` (when each finishes the work already assigned to it) that frees up first, the
/// first such on ties (FCFS across workers); returns its (start, departure).
#[inline(never)]
fn assign(free_at: &mut [f64], now: f64, service: f64) -> (f64, f64) {
    let mut best = 0;
    for j in 1..free_at.len() {
        if free_at[j] < free_at[best] {
            best = j;
        }
    }
    let start = free_at[best].max(now);
    let departure = start + service;
    free_at[best] = departure;
    (start, departure)
}

/// `workers` sync workers, FCFS from a bounded accept queue.
///
/// Time integrals are booked when a request is admitted, because its whole future is known
/// then: it adds `departure − arrival` to ∫ n dt and its service time to ∫ busy dt. Reading
/// the integrals at a time t subtracts the part still in the future: Σ (d − t) over pending
/// departures, and Σ (free_j − t)⁺ over workers (a worker with work assigned is busy without
/// a gap from t until it frees up, since everything assigned to it arrived before t). So the
/// per-request path does no integration at all.
///
/// With several workers, requests leave out of admission order, but they start in it (each
/// starts when the earliest worker frees up, which never moves back). At a time t a worker
/// is busy exactly when its free time is after t (the work assigned to it runs without a
/// gap from a start at or before t, everything assigned having arrived by t), and each
/// request waiting at t starts the moment the request before it on its worker leaves. So
/// the requests inside are the busy workers plus the starts after t, and the pending
/// departures are the free times after t plus those starts: the backend keeps the starts
/// of its waiting requests in the ring a one-worker backend keeps its departures in
/// (counted off the same way) and each worker's free time, and counts, finds its next
/// departure and sums its integrals from them as exactly as from a heap of every departure,
/// without one (a heap's top is a pointer away and moves on every request).
///
/// Layout (`repr(C)`, 64-byte aligned, three cache lines): the first line holds what
/// strategies read and what a one-worker backend's admission reads and writes, except its
/// departure slot, which is in the second (the inline ring) or, with more than [`INLINE`]
/// inside, on the heap (the second line then holds where), and its 1 / speed, tally and
/// booked integrals, in the third with the rest (speed, tracked requests). On a
/// cluster too large for the caches the engine fetches a backend's first two lines before
/// its request comes (see `Direct::dispatch`), and the slot of a heap ring a few requests
/// later, with no pointer to follow that is not already in those lines. Nothing is sized
/// by the backlog.
#[derive(Debug)]
#[repr(C, align(64))]
pub struct Fcfs {
    /// One worker: when it finishes the work already assigned to it.
    free_at: f64,
    /// Admission limit: workers + backlog (never 0, which gives [`Backend`] its tag).
    limit: NonZeroU32,
    /// Requests inside as of the last `advance`.
    in_system: u32,
    /// Several workers: when each finishes the work already assigned to it (empty for one
    /// worker, which uses `free_at`).
    workers: Box<[f64]>,
    /// Several workers: their earliest pending departure (+∞ when empty), when the count
    /// of requests inside next falls: an advance to an earlier time has nothing to count.
    next_departure: f64,
    /// One worker: its pending departures; several: the start times of the requests
    /// waiting. Either in admission order, never decreasing. The head in the first line,
    /// the inline slots in the next.
    log: DepartureLog,
    /// 1 / speed: a multiplication in the hot path instead of a division. (In the third
    /// line, which an admission fetches for the tally anyway, and a scan does not need.)
    inv_speed: f64,
    speed: f64,
    /// Integrals including the booked future of requests still inside (written by every
    /// admission, read at section boundaries: not by a scan).
    booked: Integrals,
    /// Departure times of tracked requests not yet reported (None on the fast path).
    tracked: Option<Box<TrackedDepartures>>,
    /// The measured requests sent here on the fast path (where the recorder keeps those of
    /// the other backends): in the third line, which the engine fetches with the first two,
    /// so that counting them costs no fetch of its own on a cluster too large for the caches.
    tally: Tally,
}

impl Fcfs {
    fn new(workers: u32, speed: f64, backlog: u32) -> Self {
        let limit = workers_limit(workers, backlog);
        let workers = if workers > 1 { vec![0.0; workers as usize].into_boxed_slice() } else { Box::default() };
        Fcfs {
            log: DepartureLog::new(limit.get()),
            free_at: 0.0,
            inv_speed: 1.0 / speed,
            speed,
            booked: Integrals::default(),
            limit,
            in_system: 0,
            workers,
            next_departure: f64::INFINITY,
            tracked: None,
            tally: Tally::default(),
        }
    }

    /// Forgets the departures up to `now`.
    #[inline(always)]
    fn advance(&mut self, now: f64) {
        if self.workers.is_empty() {
            self.in_system = self.log.settle(now) as u32;
        } else {
            self.advance_workers(now);
        }
    }

    /// [`Fcfs::advance`] with several workers: once their earliest pending departure has
    /// come, counts off the starts up to `now`, counts the busy workers and finds the next
    /// departure (see [`Fcfs`]).
    #[inline(always)]
    fn advance_workers(&mut self, now: f64) {
        if now >= self.next_departure {
            self.count_workers(now);
        }
    }

    #[inline(never)]
    fn count_workers(&mut self, now: f64) {
        let waiting = self.log.settle(now) as u32;
        let first_start = if waiting > 0 { *self.log.slot_of(self.log.departed) } else { f64::INFINITY };
        let (mut busy, mut next) = (0, first_start);
        for &f in &self.workers {
            if f > now {
                busy += 1;
                next = if f < next { f } else { next };
            }
        }
        self.in_system = waiting + busy;
        self.next_departure = next;
    }

    /// The earliest pending departure after an advance (+∞ when empty): the log's head
    /// (one worker), or that of the busy workers and waiting requests (several).
    fn next_departure(&self) -> f64 {
        if !self.workers.is_empty() {
            self.next_departure
        } else if self.log.unsettled() > 0 {
            *self.log.slot_of(self.log.departed)
        } else {
            f64::INFINITY
        }
    }

    /// [`Fcfs::advance`] to `now`, then [`Fcfs::integrals_at`]: for one worker with its
    /// departures in place, in one pass over its slots without a branch on them.
    fn settle_integrals_at(&mut self, now: f64) -> Integrals {
        if self.workers.is_empty()
            && let Some(pending) = self.log.settle_and_pending_inline(now)
        {
            self.in_system = self.log.unsettled() as u32;
            return self.one_worker_integrals(now, pending);
        }
        self.advance(now);
        self.integrals_at(now)
    }

    /// The integrals from time 0 to `now` (call after `advance(now)`); also returns memory
    /// a past burst left in the departure ring.
    fn integrals_at(&mut self, now: f64) -> Integrals {
        self.log.shrink(self.limit.get());
        if self.workers.is_empty() {
            return self.one_worker_integrals(now, self.log.pending().map(|d| d - now).sum());
        }
        // The pending departures are the busy workers' free times and the waiting requests'
        // starts (see [`Fcfs`]).
        let busy_ahead: f64 = self.workers.iter().map(|&f| (f - now).max(0.0)).sum();
        let pending = busy_ahead + self.log.pending().map(|s| s - now).sum::<f64>();
        Integrals { in_system: self.booked.in_system - pending, busy: self.booked.busy - busy_ahead }
    }

    /// A one-worker backend's integrals at `now`, given Σ (d − now) over its pending
    /// departures: the booked future less what is still ahead.
    fn one_worker_integrals(&self, now: f64, pending: f64) -> Integrals {
        let busy_ahead: f64 = [self.free_at].iter().map(|&f| (f - now).max(0.0)).sum();
        Integrals { in_system: self.booked.in_system - pending, busy: self.booked.busy - busy_ahead }
    }

    #[inline]
    fn in_system(&self) -> u32 {
        self.in_system
    }

    fn unfinished_work(&self, now: f64) -> f64 {
        let ahead: f64 = if self.workers.is_empty() {
            (self.free_at - now).max(0.0)
        } else {
            self.workers.iter().map(|&f| (f - now).max(0.0)).sum()
        };
        ahead * self.speed
    }

    fn busy_workers(&self, now: f64) -> crate::strategy::BusyWorkers {
        if self.workers.is_empty() {
            crate::strategy::BusyWorkers::of([self.free_at], now)
        } else {
            crate::strategy::BusyWorkers::of(self.workers.iter().copied(), now)
        }
    }

    fn earliest_start(&self, now: f64) -> f64 {
        if self.workers.is_empty() {
            self.free_at.max(now)
        } else {
            self.workers.iter().copied().fold(f64::INFINITY, f64::min).max(now)
        }
    }

    /// Reports the tracked requests that departed by `now`.
    fn report(&mut self, now: f64, backend: u32, rec: &mut Recorder) {
        let Some(tracked) = &mut self.tracked else { return };
        while let Some(&Reverse((Time(time), tag))) = tracked.peek() {
            if time > now {
                break;
            }
            tracked.pop();
            rec.outbox.push(Outcome { tag, backend, time, ending: Ending::Completed });
        }
    }

    /// See [`Backend::crash`].
    fn crash(&mut self, now: f64, backend: u32, rec: &mut Recorder) {
        self.advance(now);
        self.report(now, backend, rec);
        if let Some(tracked) = &mut self.tracked {
            while let Some(Reverse((_, tag))) = tracked.pop() {
                rec.outbox.push(Outcome { tag, backend, time: now, ending: Ending::Failed(Cause::BackendDown) });
            }
        }
        // Keep the integrals up to `now`; forget the future booked for the failed requests.
        self.booked = self.integrals_at(now);
        self.log.departed = self.log.admitted;
        self.free_at = self.free_at.min(now);
        for f in &mut self.workers {
            *f = f.min(now);
        }
        self.next_departure = f64::INFINITY;
        self.in_system = 0;
    }

    #[inline(always)]
    fn admit(&mut self, now: f64, size: f64, label: u32, rec: &mut Recorder) -> Admission {
        self.admit_ticket(now, size, label, Ticket::plain(now), rec)
    }

    /// Takes a request arriving at `now` with `service` seconds of work into its worker's
    /// queue, books its future in the integrals, and returns its (start, departure); `None`
    /// when the backend is full. Nothing is recorded.
    #[inline(always)]
    fn book(&mut self, now: f64, service: f64) -> Option<(f64, f64)> {
        if self.workers.is_empty() {
            return self.book_one_worker(now, service);
        }
        self.advance_workers(now);
        if self.in_system >= self.limit.get() {
            return None;
        }
        let (start, departure) = assign(&mut self.workers, now, service);
        if start > now {
            // It waits: its start is counted off like a one-worker backend's departure.
            self.log.push_growing(start, self.limit.get());
        }
        // The pending departures gain `departure` (and, if it waits, its start replaces its
        // worker's free time as one of them).
        self.next_departure = self.next_departure.min(departure);
        self.booked_in(now, service, departure);
        Some((start, departure))
    }

    /// [`Fcfs::book`] for a backend with one worker (which the caller knows).
    #[inline(always)]
    fn book_one_worker(&mut self, now: f64, service: f64) -> Option<(f64, f64)> {
        debug_assert!(self.workers.is_empty());
        if !self.log.room_for_one(now, self.limit.get()) {
            return None;
        }
        // `free_at.max(now)` as one instruction: `now` is never NaN, so the NaN rule of
        // `f64::max` (which costs five) has nothing to decide.
        let start = if self.free_at > now { self.free_at } else { now };
        let departure = start + service;
        self.free_at = departure;
        self.log.push(departure);
        self.booked_in(now, service, departure);
        Some((start, departure))
    }

    /// Counts in a request admitted at `now` and booked to leave at `departure`.
    #[inline(always)]
    fn booked_in(&mut self, now: f64, service: f64, departure: f64) {
        // (The count is refreshed by the next `advance`.)
        self.in_system += 1;
        self.booked.in_system += departure - now;
        self.booked.busy += service;
    }

    /// Whether the backend has one worker.
    pub fn one_worker(&self) -> bool {
        self.workers.is_empty()
    }

    #[inline(always)]
    fn admit_ticket(&mut self, now: f64, size: f64, label: u32, ticket: Ticket, rec: &mut Recorder) -> Admission {
        let service = size * self.inv_speed;
        let Some((start, departure)) = self.book(now, service) else {
            return Admission::Rejected;
        };
        if ticket.tag != UNTRACKED {
            self.tracked.get_or_insert_default().push(Reverse((Time(departure), ticket.tag)));
        }
        if label != UNMEASURED {
            // wait + service rather than departure − now: with a clock at t ≈ 10⁵ s, the
            // difference of two large times loses the digits of a microsecond request.
            let wait = start - ticket.clock;
            rec.complete_section(label, wait + service, wait, service);
            self.tally.completed += 1;
        }
        Admission::Accepted
    }
}

/// Departure times of an FCFS backend's tracked requests, earliest first, with their tags.
type TrackedDepartures = BinaryHeap<Reverse<(Time, Tag)>>;

/// Admission limit of an FCFS backend: workers + backlog.
fn workers_limit(workers: u32, backlog: u32) -> NonZeroU32 {
    NonZeroU32::new(workers.max(1).saturating_add(backlog)).expect("at least one worker")
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

    /// See [`Backend::cancel`].
    fn cancel(&mut self, now: f64, tag: Tag, rec: &mut Recorder) -> bool {
        self.settle(now, rec);
        let before = self.jobs.len();
        let mut removed = None;
        self.jobs.retain(|j| {
            let hit = j.ticket == tag && removed.is_none();
            if hit {
                removed = Some(*j);
            }
            !hit
        });
        if let Some(job) = removed {
            debug_assert_eq!(self.jobs.len() + 1, before);
            // Its share goes to the others at once; the work it had left is not done.
            self.work_left -= (job.tag - self.virtual_time).max(0.0);
            if job.label != UNMEASURED {
                self.pending_measured -= 1;
            }
            let at = self.last;
            if let Some(w) = self.queue.pop_front() {
                self.start(w, at);
            }
            if self.jobs.is_empty() {
                self.virtual_time = 0.0;
                self.work_left = 0.0;
            }
            return true;
        }
        if let Some(k) = self.queue.iter().position(|w| w.ticket == tag) {
            let w = self.queue.remove(k).expect("a queued request");
            self.work_left -= w.size;
            if w.label != UNMEASURED {
                self.pending_measured -= 1;
            }
            return true;
        }
        false
    }

    /// See [`Backend::crash`].
    fn crash(&mut self, now: f64, backend: u32, rec: &mut Recorder) {
        self.settle(now, rec);
        // In finish-tag order, then the accept queue's: a deterministic order of outcomes.
        let mut failed: Vec<(u32, Tag)> = std::iter::from_fn(|| self.jobs.pop().map(|j| (j.label, j.ticket))).collect();
        failed.extend(self.queue.drain(..).map(|w| (w.label, w.ticket)));
        for (label, ticket) in failed {
            if label != UNMEASURED {
                self.pending_measured -= 1;
                rec.fail(label, Cause::BackendDown);
            }
            if ticket != UNTRACKED {
                rec.outbox.push(Outcome {
                    tag: ticket,
                    backend,
                    time: now,
                    ending: Ending::Failed(Cause::BackendDown),
                });
            }
        }
        self.virtual_time = 0.0;
        self.work_left = 0.0;
    }

    fn admit(&mut self, now: f64, size: f64, label: u32, backend: u32, rec: &mut Recorder) -> Admission {
        self.admit_ticket(now, size, label, backend, Ticket::plain(now), rec)
    }

    fn admit_ticket(
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A backend's admissions, checked against the naive model: a list of every departure.
    fn check_against_naive(workers: u32, backlog: u32, steps: &[(f64, f64, bool)]) {
        let mut b = Fcfs::new(workers, 1.0, backlog);
        // The same requests, its integrals taken in one pass over its slots at each look.
        let mut twin = Fcfs::new(workers, 1.0, backlog);
        let mut rec = Recorder::new(1, 1, None);
        let mut free_at = vec![0.0f64; workers as usize];
        let mut departures: Vec<f64> = Vec::new();
        let mut now = 0.0;
        for &(gap, size, look) in steps {
            now += gap;
            if look {
                b.advance(now);
                let inside = departures.iter().filter(|&&d| d > now).count() as u32;
                assert_eq!(b.in_system(), inside, "at {now}");
                let next = departures.iter().copied().filter(|&d| d > now).fold(f64::INFINITY, f64::min);
                assert_eq!(b.next_departure(), next, "at {now}");
                let (ints, twins) = (b.integrals_at(now), twin.settle_integrals_at(now));
                assert_eq!(twin.in_system(), inside, "at {now}");
                assert_eq!(
                    (ints.in_system.to_bits(), ints.busy.to_bits()),
                    (twins.in_system.to_bits(), twins.busy.to_bits()),
                    "at {now}"
                );
            }
            twin.admit(now, size, UNMEASURED, &mut rec);
            let inside = departures.iter().filter(|&&d| d > now).count() as u32;
            let expected = if inside >= workers + backlog {
                Admission::Rejected
            } else {
                let w = (0..free_at.len()).fold(0, |best, j| if free_at[j] < free_at[best] { j } else { best });
                free_at[w] = free_at[w].max(now) + size;
                departures.push(free_at[w]);
                Admission::Accepted
            };
            assert_eq!(b.admit(now, size, 0, &mut rec), expected, "at {now}");
        }
        // Integrals agree with the naive ones at the end.
        b.advance(now);
        let ints = b.integrals_at(now);
        assert_eq!(b.in_system(), departures.iter().filter(|&&d| d > now).count() as u32);
        let naive: f64 = rec.sections[0].sum_response - departures.iter().map(|&d| (d - now).max(0.0)).sum::<f64>();
        assert!((ints.in_system - naive).abs() < 1e-9 * (1.0 + naive), "{} vs {naive}", ints.in_system);
    }

    proptest! {
        #[test]
        fn fcfs_admits_and_counts_like_the_naive_model(
            workers in 1u32..4,
            backlog in 0u32..40,
            steps in proptest::collection::vec((0.0f64..1.0, 0.0f64..3.0, any::<bool>()), 1..400),
        ) {
            check_against_naive(workers, backlog, &steps);
        }

        /// The same on a grid of gaps and sizes (zero included): arrivals at one instant,
        /// departures at an arrival's time, requests of no work, workers freeing up
        /// together, and bursts that outgrow the inline slots of several workers' starts.
        #[test]
        fn fcfs_counts_like_the_naive_model_at_ties_and_zero_sizes(
            workers in 1u32..7,
            backlog in 0u32..60,
            steps in proptest::collection::vec(
                (prop::sample::select(vec![0.0, 0.0, 0.25, 0.5, 1.0]), prop::sample::select(vec![0.0, 0.5, 1.0, 2.0, 4.0]), any::<bool>()),
                1..400,
            ),
        ) {
            check_against_naive(workers, backlog, &steps);
        }
    }

    #[test]
    fn departure_ring_grows_with_what_is_inside_and_shrinks_back() {
        let mut b = Fcfs::new(1, 1.0, 100_000);
        assert!(!b.log.on_heap(), "nothing allocated before the first request");
        let mut rec = Recorder::new(1, 1, None);
        // Up to INLINE inside: the log's own slots.
        for _ in 0..INLINE {
            assert_eq!(b.admit(0.0, 1.0, 0, &mut rec), Admission::Accepted);
        }
        assert!(!b.log.on_heap());
        // A burst of 1000 requests at once: a ring on the heap holds them all.
        for _ in INLINE..1000 {
            assert_eq!(b.admit(0.0, 1.0, 0, &mut rec), Admission::Accepted);
        }
        assert_eq!(b.log.slots().len(), 1024);
        // A section boundary with 200 still inside halves the ring while it is 8× too large.
        b.advance(800.5);
        assert_eq!(b.in_system(), 200);
        b.integrals_at(800.5);
        assert_eq!(b.log.slots().len(), 1024, "1024 < 8 × 200");
        b.advance(960.5);
        b.integrals_at(960.5);
        assert_eq!((b.in_system(), b.log.slots().len()), (40, 256));
        // Long after, everything has left; the next boundary goes back to the inline slots.
        b.advance(5000.0);
        assert_eq!(b.in_system(), 0);
        b.integrals_at(5000.0);
        assert!(!b.log.on_heap());
        // Still counts correctly after shrinking, and the pending departures moved with it.
        for k in 0..20 {
            b.admit(5000.0 + f64::from(k) * 0.1, 1.0, 0, &mut rec);
        }
        b.advance(5002.05);
        assert_eq!(b.in_system(), 18, "requests 2.. of the second burst are still inside");
        b.integrals_at(5002.05);
        b.advance(5010.0);
        assert_eq!(b.in_system(), 10, "each request takes 1 s after the one before");
        b.integrals_at(5010.0);
        assert!(b.log.on_heap(), "10 inside: more than half the inline slots");
        b.advance(5017.5);
        assert_eq!(b.in_system(), 3);
        b.integrals_at(5017.5);
        assert!(!b.log.on_heap(), "3 inside: back to the inline slots");
        b.advance(5019.5);
        assert_eq!(b.in_system(), 1, "the departures moved with the ring");
    }

    #[test]
    fn one_worker_backends_keep_their_hot_state_in_one_line() {
        use std::mem::{align_of, offset_of, size_of};
        // The rarer backends (behind one pointer) cost the enum no tag word beside Fcfs.
        assert_eq!(size_of::<Backend>(), 64 + INLINE * 8 + 64);
        assert_eq!(align_of::<Backend>(), 64);
        // What a one-worker backend touches per request, but its departure slot, is in the
        // first 64 bytes; the inline slots fill the next line(s).
        // The ring's tag ends the first line; its inline slots, or the heap ring's pointer
        // and length, start the second.
        let ring = offset_of!(Fcfs, log) + offset_of!(DepartureLog, ring);
        assert!(ring + 8 == 64, "{ring}");
        let mut log = DepartureLog::new(2048);
        let base = (&raw const log.ring).cast::<u8>();
        assert_eq!(log.slots().as_ptr().cast::<u8>(), base.wrapping_add(8));
        log.resize(2 * INLINE, 2048);
        let Ring::Heap(heap) = &log.ring else { panic!("on the heap") };
        assert_eq!((heap as *const Box<[f64]>).cast::<u8>(), base.wrapping_add(8));
        let cold = 64 + INLINE * 8;
        assert!(offset_of!(Fcfs, speed) >= cold && offset_of!(Fcfs, tracked) >= cold);
        assert!(offset_of!(Fcfs, inv_speed) >= cold && offset_of!(Fcfs, booked) >= cold);
        assert!(offset_of!(Fcfs, tally) >= cold && offset_of!(Fcfs, tally) + size_of::<Tally>() <= cold + 64);
    }
}
