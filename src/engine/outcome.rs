//! How a request ends when it does not simply complete, and how backends report the endings
//! of *tracked* requests to the rest of the engine.
//!
//! Today's fast path needs neither: a request handed to a [`super::Backend`] completes (or
//! is rejected at the door) and the backend tells the [`super::Recorder`] itself. Features
//! whose state depends on when and how requests end — a balancer instance counting its own
//! in-flight requests, a proxy queue released when a connection closes, retries, passive
//! health checks, closed-loop users — hand the backend a [`Tag`] with the request and read
//! the [`Outcome`]s the backend pushes into an [`Outbox`] as it advances past them (see
//! `docs/ARCHITECTURE.md`, "The event layer").

/// Identifies a tracked request (its slot among the requests in flight); [`UNTRACKED`] for
/// the rest.
pub type Tag = u32;

/// The tag of a request nobody follows after dispatch (every request on the fast path).
pub const UNTRACKED: Tag = u32::MAX;

/// Why a request failed after it was accepted (rejection at a full accept queue is counted
/// separately, as `rejected`). Each cause is the HTTP answer the client would see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Cause {
    /// The worker serving it ran past gunicorn's `timeout` and was killed (nginx: 502).
    WorkerTimeout = 0,
    /// The backend crashed or was taken down with the request inside (502).
    BackendDown = 1,
    /// It waited in the proxy's queue longer than `queue_timeout` (HAProxy: 503).
    QueueTimeout = 2,
    /// No backend could take it: all at their connection cap or believed down (502/503).
    NoBackend = 3,
    /// The client gave up waiting (client timeout; the proxy logs 499, the client a 504).
    ClientTimeout = 4,
    /// The balancer gave up waiting for the backend's response (`upstream_timeout`: nginx
    /// and Envoy answer 504).
    UpstreamTimeout = 5,
}

impl Cause {
    /// Number of causes (the length of per-cause counters).
    pub const COUNT: usize = 6;
    /// Every cause, in the order of per-cause counters.
    pub const ALL: [Cause; Cause::COUNT] = [
        Cause::WorkerTimeout,
        Cause::BackendDown,
        Cause::QueueTimeout,
        Cause::NoBackend,
        Cause::ClientTimeout,
        Cause::UpstreamTimeout,
    ];

    /// The name used in results (`failed_worker_timeout`, …) and messages.
    pub fn name(self) -> &'static str {
        match self {
            Cause::WorkerTimeout => "worker_timeout",
            Cause::BackendDown => "backend_down",
            Cause::QueueTimeout => "queue_timeout",
            Cause::NoBackend => "no_backend",
            Cause::ClientTimeout => "client_timeout",
            Cause::UpstreamTimeout => "upstream_timeout",
        }
    }
}

/// How a tracked request left a backend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ending {
    Completed,
    Failed(Cause),
}

/// A tracked request's ending, reported by the backend that held it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    pub tag: Tag,
    /// Index of the backend.
    pub backend: u32,
    /// When it ended.
    pub time: f64,
    pub ending: Ending,
}

/// Endings of tracked requests discovered while backends advanced, oldest discovery first.
/// The engine drains it after every step that advanced a backend; its length is bounded by
/// the requests in flight, and its buffer is reused (no allocation per request once warm).
#[derive(Debug, Default)]
pub struct Outbox {
    items: Vec<Outcome>,
}

impl Outbox {
    #[inline]
    pub fn push(&mut self, outcome: Outcome) {
        self.items.push(outcome);
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Takes the outcomes out with their buffer (for a consumer that records while it reads
    /// them); hand the buffer back with [`Outbox::restore`].
    pub fn take(&mut self) -> Vec<Outcome> {
        std::mem::take(&mut self.items)
    }

    /// Gives back the buffer of [`Outbox::take`], emptied (what arrived meanwhile is kept).
    pub fn restore(&mut self, mut buffer: Vec<Outcome>) {
        buffer.clear();
        if self.items.is_empty() {
            self.items = buffer;
        }
    }
}
