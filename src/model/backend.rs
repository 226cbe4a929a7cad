//! Backends: pre-fork servers (think gunicorn) whose workers share one accept queue.

use super::ServiceDistribution;

/// How a backend's workers serve requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WorkerClass {
    /// Each worker serves one request at a time, first come first served from the backend's
    /// accept queue: a backend with `c` sync workers is an M/G/c-FCFS station (gunicorn's
    /// pre-fork sync workers accepting from one shared listen socket).
    Sync,
    /// Requests are admitted up to `connections` per worker and share the backend's `workers`
    /// CPUs by processor sharing: each of `n` admitted requests progresses at
    /// `speed × min(1, workers / n)`. Requests beyond the admission limit wait FCFS in the
    /// accept queue. With one worker and no limit reached this is M/G/1-PS.
    ///
    /// Not a gunicorn worker class: it is the pooled processor-sharing limit (a multi-threaded
    /// server without a GIL, or the M/G/c-PS reference of queueing theory). gunicorn's async
    /// workers (gevent, eventlet, uvicorn) are [`WorkerClass::Gevent`].
    Async {
        /// Concurrent requests admitted per worker.
        connections: u32,
    },
    /// gunicorn's `gthread` worker (`gunicorn/workers/gthread.py`): the main loop accepts
    /// while the worker holds fewer than `worker_connections` connections — even when every
    /// thread is busy, so accepted requests wait in the worker's own queue — and hands them to
    /// a pool of `threads` threads. The GIL serialises the CPU phases of one worker (its
    /// CPU-ready threads share one core, round robin at the switch interval ≈ processor
    /// sharing); I/O phases overlap.
    Gthread { threads: u32, worker_connections: u32 },
    /// gunicorn's `gevent` worker (`gunicorn/workers/ggevent.py`; also eventlet, uvicorn):
    /// one process holding up to `worker_connections` requests as greenlets whose I/O
    /// overlaps, while their CPU phases run one at a time without preemption (one core at
    /// most per worker). The event loop accepts only when it gets control back (no greenlet
    /// running CPU), then greedily (up to 100 connections, gevent's `max_accept`).
    Gevent { worker_connections: u32 },
}

impl WorkerClass {
    /// Default admission limit per async worker.
    pub const DEFAULT_CONNECTIONS: u32 = 1000;
    /// gunicorn's default `worker_connections`.
    pub const DEFAULT_WORKER_CONNECTIONS: u32 = 1000;

    /// The name used in experiment files.
    pub fn name(&self) -> &'static str {
        match self {
            WorkerClass::Sync => "sync",
            WorkerClass::Async { .. } => "async",
            WorkerClass::Gthread { .. } => "gthread",
            WorkerClass::Gevent { .. } => "gevent",
        }
    }
}

/// How the kernel hands a backend's new connections to its workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// One shared listen queue served first come first served; of several waiting workers
    /// the one that has waited longest takes the next connection (sync workers blocked in
    /// `accept`/`select`).
    Shared,
    /// One shared listen queue; of several waiting workers the one that started waiting
    /// most recently is woken first (epoll's wait queue, what gthread and gevent workers
    /// see: "usually the busiest" gets the next connection).
    Lifo,
    /// `SO_REUSEPORT`: one listen socket (and queue of `backlog`) per worker; the kernel
    /// hashes each connection to one of the open sockets. Connections queued on a socket
    /// whose worker exits are reset.
    ReusePort,
}

impl Accept {
    pub fn name(self) -> &'static str {
        match self {
            Accept::Shared => "shared",
            Accept::Lifo => "lifo",
            Accept::ReusePort => "reuse_port",
        }
    }
}

/// gunicorn's worker lifecycle settings.
#[derive(Debug, Clone, Default)]
pub struct Lifecycle {
    /// `timeout` (seconds): a sync worker whose request has been in service this long, or a
    /// gevent worker whose event loop has been blocked by one CPU phase this long, is killed
    /// by the master; what it holds fails (nginx answers 502).
    pub timeout: Option<f64>,
    /// `max_requests`: a worker restarts after starting this many requests (0 = never).
    pub max_requests: u32,
    /// `max_requests_jitter`: each worker's limit is `max_requests + randint(0, jitter)`,
    /// drawn anew for every worker life.
    pub max_requests_jitter: u32,
    /// How long a (re)started worker takes to boot before it accepts (default 1 s).
    pub boot_time: Option<ServiceDistribution>,
}

impl Lifecycle {
    /// Whether any lifecycle setting is in use.
    pub fn is_active(&self) -> bool {
        self.timeout.is_some() || self.max_requests > 0
    }

    /// The boot time distribution in use (1 s when not given).
    pub fn boot(&self) -> ServiceDistribution {
        self.boot_time.clone().unwrap_or_else(|| ServiceDistribution::deterministic(1.0).expect("1 s is valid"))
    }
}

impl PartialEq for Lifecycle {
    fn eq(&self, other: &Self) -> bool {
        // Distributions are compared by their description (they hold samplers).
        self.timeout == other.timeout
            && self.max_requests == other.max_requests
            && self.max_requests_jitter == other.max_requests_jitter
            && self.boot_time.as_ref().map(|b| b.describe()) == other.boot_time.as_ref().map(|b| b.describe())
    }
}

/// A group of identical backends; several groups make a heterogeneous cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct BackendGroup {
    /// Name of the group; backends are named `name-1`, `name-2`, … when `count > 1`.
    pub name: String,
    /// Number of identical backends in the group (≥ 1).
    pub count: u32,
    /// Worker processes per backend (≥ 1).
    pub workers: u32,
    /// Sync (FCFS) or async (processor sharing) workers.
    pub worker_class: WorkerClass,
    /// Work per second per worker (> 0).
    pub speed: f64,
    /// Accept-queue length per backend: requests waiting beyond this are rejected.
    pub backlog: u32,
    /// Weight used by weighted strategies; `None` means the backend's capacity.
    pub weight: Option<f64>,
    /// CPU cores of the host (`None`: as many as workers, today's model). The CPU phases of
    /// all workers share them by processor sharing.
    pub cores: Option<u32>,
    /// How connections reach workers (`None`: the class default, `shared` for sync and
    /// `lifo` for gthread and gevent).
    pub accept: Option<Accept>,
    pub lifecycle: Lifecycle,
}

impl BackendGroup {
    /// Work per second one backend of this group can do when requests are pure CPU:
    /// `workers × speed` (today's model), or `min(workers, cores) × speed` with cores.
    pub fn capacity(&self) -> f64 {
        self.capacity_for(0.0)
    }

    /// Work per second (work = CPU seconds at speed 1 plus I/O seconds) one backend can
    /// sustain when a fraction `io_fraction` of each request's work is I/O wait: the
    /// smallest of its CPU bound (cores, and one core per worker for gthread and gevent) and
    /// its concurrency bound (sync workers, or gthread threads, held for CPU + I/O).
    pub fn capacity_for(&self, io_fraction: f64) -> f64 {
        let workers = f64::from(self.workers);
        let cpu_slots = match self.cores {
            Some(k) => workers.min(f64::from(k)),
            None => workers,
        };
        if io_fraction <= 0.0 || matches!(self.worker_class, WorkerClass::Async { .. }) {
            // Pure CPU (and the pooled model, which has no I/O phases): the CPUs are the
            // bound, computed exactly as it always was.
            return cpu_slots * self.speed;
        }
        let cpu_share = 1.0 - io_fraction;
        let cpu_bound = if cpu_share > 0.0 { cpu_slots * self.speed / cpu_share } else { f64::INFINITY };
        // Seconds one request holds its slot, per unit of work.
        let hold = cpu_share / self.speed + io_fraction;
        let slots = match self.worker_class {
            WorkerClass::Sync | WorkerClass::Async { .. } => workers,
            WorkerClass::Gthread { threads, .. } => workers * f64::from(threads),
            WorkerClass::Gevent { worker_connections } => workers * f64::from(worker_connections),
        };
        cpu_bound.min(slots / hold)
    }

    /// Weight of one backend of this group for weighted strategies.
    pub fn weight(&self) -> f64 {
        self.weight.unwrap_or_else(|| self.capacity())
    }

    /// Whether this group needs the general station (`engine/station.rs`) rather than a fast
    /// path: cores fewer than workers, I/O phases, gthread or gevent workers, an explicit
    /// accept rule, or lifecycle settings.
    pub fn needs_station(&self, io_fraction: f64) -> bool {
        match self.worker_class {
            WorkerClass::Async { .. } => false,
            WorkerClass::Gthread { .. } | WorkerClass::Gevent { .. } => true,
            WorkerClass::Sync => {
                io_fraction > 0.0
                    || self.cores.is_some_and(|k| k < self.workers)
                    || self.accept.is_some()
                    || self.lifecycle.is_active()
            }
        }
    }

    /// The accept rule in use.
    pub fn accept_rule(&self) -> Accept {
        self.accept.unwrap_or(match self.worker_class {
            WorkerClass::Sync | WorkerClass::Async { .. } => Accept::Shared,
            WorkerClass::Gthread { .. } | WorkerClass::Gevent { .. } => Accept::Lifo,
        })
    }

    /// The group in words, e.g. `4 × web: 2 sync workers, speed 1`.
    pub fn describe(&self) -> String {
        let class = match self.worker_class {
            WorkerClass::Sync => "sync".to_string(),
            WorkerClass::Async { connections } => format!("async ({connections} connections each)"),
            WorkerClass::Gthread { threads, worker_connections } => {
                format!("gthread ({threads} threads, {worker_connections} connections each)")
            }
            WorkerClass::Gevent { worker_connections } => format!("gevent ({worker_connections} connections each)"),
        };
        let plural = if self.workers == 1 { "" } else { "s" };
        let mut text =
            format!("{} × {}: {} {class} worker{plural}, speed {}", self.count, self.name, self.workers, self.speed);
        if let Some(k) = self.cores {
            text.push_str(&format!(", {k} core{}", if k == 1 { "" } else { "s" }));
        }
        if let Some(a) = self.accept {
            text.push_str(&format!(", accept {}", a.name()));
        }
        if let Some(t) = self.lifecycle.timeout {
            text.push_str(&format!(", timeout {}", crate::units::format_duration(t)));
        }
        if self.lifecycle.max_requests > 0 {
            text.push_str(&format!(", max_requests {}", self.lifecycle.max_requests));
            if self.lifecycle.max_requests_jitter > 0 {
                text.push_str(&format!(" + jitter {}", self.lifecycle.max_requests_jitter));
            }
        }
        text
    }

    /// The name of backend `index` (0-based) within this group.
    pub fn backend_name(&self, index: u32) -> String {
        if self.count == 1 {
            return self.name.clone();
        }
        // The number's digits written by hand, last first: `format!` costs a thousand
        // instructions a name, which a fleet of 10⁵ backends pays at every run.
        let (mut digits, mut at, mut number) = ([0u8; 10], 10, index as u64 + 1);
        while number > 0 || at == 10 {
            at -= 1;
            digits[at] = b'0' + (number % 10) as u8;
            number /= 10;
        }
        let mut name = String::with_capacity(self.name.len() + 1 + (10 - at));
        name.push_str(&self.name);
        name.push('-');
        name.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII digits"));
        name
    }

    /// Whether `name` is the name of one of this group's backends ([`Self::backend_name`]
    /// of some index), without listing them: a constant-time check, so that comparing two
    /// groups of 10⁵ backends takes 10⁵ steps, not 10¹⁰.
    pub fn has_backend_named(&self, name: &str) -> bool {
        if self.count == 1 {
            return name == self.name;
        }
        let Some(number) = name.strip_prefix(self.name.as_str()).and_then(|rest| rest.strip_prefix('-')) else {
            return false;
        };
        // `backend_name` writes 1…count in decimal, without a sign or leading zeros.
        !number.starts_with('0')
            && number.bytes().all(|b| b.is_ascii_digit())
            && number.parse::<u64>().is_ok_and(|k| (1..=u64::from(self.count)).contains(&k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, count: u32) -> BackendGroup {
        BackendGroup {
            name: name.into(),
            count,
            workers: 1,
            worker_class: WorkerClass::Sync,
            speed: 1.0,
            backlog: 0,
            weight: None,
            cores: None,
            accept: None,
            lifecycle: Lifecycle::default(),
        }
    }

    /// Names are the group's name, or its name, a dash and the number from 1, in decimal
    /// (what `format!` writes), and each is recognised as the group's.
    #[test]
    fn backend_names_are_numbered_from_one() {
        assert_eq!(group("web", 1).backend_name(0), "web");
        let g = group("web", u32::MAX);
        for index in (0..2_000).chain([9_998, 9_999, 99_999, 999_999_999, u32::MAX - 2, u32::MAX - 1]) {
            let name = g.backend_name(index);
            assert_eq!(name, format!("web-{}", index + 1));
            assert!(g.has_backend_named(&name), "{name}");
        }
    }
}
