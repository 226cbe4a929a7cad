//! Backends: pre-fork servers (think gunicorn) whose workers share one accept queue.

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
    Async {
        /// Concurrent requests admitted per worker.
        connections: u32,
    },
}

impl WorkerClass {
    /// Default admission limit per async worker.
    pub const DEFAULT_CONNECTIONS: u32 = 1000;
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
}

impl BackendGroup {
    /// Work per second one backend of this group can do: `workers × speed`.
    pub fn capacity(&self) -> f64 {
        f64::from(self.workers) * self.speed
    }

    /// Weight of one backend of this group for weighted strategies.
    pub fn weight(&self) -> f64 {
        self.weight.unwrap_or_else(|| self.capacity())
    }

    /// The group in words, e.g. `4 × web: 2 sync workers, speed 1`.
    pub fn describe(&self) -> String {
        let class = match self.worker_class {
            WorkerClass::Sync => "sync".to_string(),
            WorkerClass::Async { connections } => format!("async ({connections} connections each)"),
        };
        let plural = if self.workers == 1 { "" } else { "s" };
        format!("{} × {}: {} {class} worker{plural}, speed {}", self.count, self.name, self.workers, self.speed)
    }

    /// The name of backend `index` (0-based) within this group.
    pub fn backend_name(&self, index: u32) -> String {
        if self.count == 1 { self.name.clone() } else { format!("{}-{}", self.name, index + 1) }
    }
}
