//! The keys an experiment file may contain, for unknown-key errors and `--set` checks.

/// Top-level sections, in the order they are documented.
pub(crate) const SECTIONS: &[&str] =
    &["experiment", "run", "arrivals", "service", "clients", "backends", "balancer", "faults", "sweep", "report"];

/// Sections whose contents are validated elsewhere (sweep and report modules).
pub(crate) const FREE_SECTIONS: &[&str] = &["sweep", "report"];

pub(crate) const EXPERIMENT_KEYS: &[&str] = &["name", "seed", "description"];
pub(crate) const RUN_KEYS: &[&str] = &["requests", "warmup", "replications", "precision", "max_replications", "series"];
pub(crate) const CLIENTS_KEYS: &[&str] = &[
    "count",
    "popularity",
    "s",
    "subnets",
    "mode",
    "users",
    "think",
    "ramp",
    "timeout",
    "retries",
    "backoff",
    "max_backoff",
    "retry_budget",
    "cancel",
];
/// Keys a strategy table takes besides the strategy's own parameters: its name and label,
/// and the balancer settings it may change for its own runs.
pub(crate) const STRATEGY_TABLE_KEYS: &[&str] = &[
    "name",
    "label",
    "info",
    "mode",
    "cache_redirect",
    "hedge",
    "hedge_cancel",
    "passive",
    "outlier",
    "active",
    "panic_threshold",
    "retries",
    "upstream_timeout",
    "clients",
    "max_conns",
    "maxconn",
];
/// Keys of `[clients]` a strategy table may override (`clients = { retries = 3 }`).
pub(crate) const CLIENT_POLICY_KEYS: &[&str] =
    &["timeout", "retries", "backoff", "max_backoff", "retry_budget", "cancel"];
/// Keys of `[clients]` that only closed-loop users (mode = "closed") take.
pub(crate) const CLOSED_LOOP_KEYS: &[&str] = &["users", "think", "ramp"];
pub(crate) const BACKEND_KEYS: &[&str] = &[
    "name",
    "count",
    "workers",
    "worker_class",
    "connections",
    "threads",
    "worker_connections",
    "speed",
    "cores",
    "accept",
    "backlog",
    "weight",
    "timeout",
    "max_requests",
    "max_requests_jitter",
    "boot_time",
    "max_conns",
    "maxconn",
    "rtt",
    "cost",
];

/// The worker classes and the class-specific keys each takes.
pub(crate) const WORKER_CLASSES: &[&str] = &["sync", "gthread", "gevent", "async"];
pub(crate) fn class_keys(class: &str) -> &'static [&'static str] {
    match class {
        "gthread" => &["threads", "worker_connections"],
        "gevent" => &["worker_connections"],
        "async" => &["connections"],
        _ => &[],
    }
}

pub(crate) const BALANCER_KEYS: &[&str] = &[
    "strategies",
    "instances",
    "routing",
    "info",
    "mode",
    "cache_redirect",
    "rtt",
    "queue_timeout",
    "passive",
    "outlier",
    "active",
    "panic_threshold",
    "retries",
    "upstream_timeout",
    "hedge",
    "hedge_cancel",
];

/// Kinds of `[[faults]]`.
pub(crate) const FAULT_KINDS: &[&str] = &["outage", "failures", "slowdown", "deploy"];
/// Keys every fault may have.
pub(crate) const FAULT_COMMON: &[&str] = &["kind", "backend", "group"];

/// Keys of a fault that only some kinds take.
pub(crate) fn fault_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "outage" => &["at", "for"],
        "failures" => &["mtbf", "mttr"],
        "slowdown" => &["at", "for", "factor"],
        "deploy" => &["at", "boot"],
        _ => &[],
    }
}

/// The fault kinds that take `key`.
pub(crate) fn fault_kinds_taking(key: &str) -> Vec<&'static str> {
    FAULT_KINDS.iter().copied().filter(|k| fault_keys(k).contains(&key)).collect()
}

/// Keys of `[service]` beside the distribution's.
pub(crate) const SERVICE_EXTRA: &[&str] = &["io_fraction"];
/// The forms of `[balancer] info` given as a table.
pub(crate) const INFO_KEYS: &[&str] = &["period", "delay"];

pub(crate) const PROCESSES: &[&str] = &["poisson", "deterministic", "gamma", "on_off", "diurnal", "trace"];

/// Keys of `[arrivals]` that only some processes take.
pub(crate) fn process_keys(process: &str) -> &'static [&'static str] {
    match process {
        "gamma" => &["cv"],
        "on_off" => &["peak", "mean_on", "mean_off"],
        "diurnal" => &["amplitude", "period"],
        "trace" => &["file"],
        _ => &[],
    }
}

pub(crate) const ARRIVALS_COMMON: &[&str] = &["process", "load", "rate"];

/// Every key `[arrivals]` may contain under some process.
pub(crate) fn all_arrival_keys() -> Vec<&'static str> {
    let mut keys = ARRIVALS_COMMON.to_vec();
    for p in PROCESSES {
        keys.extend_from_slice(process_keys(p));
    }
    keys
}

pub(crate) const DISTRIBUTIONS: &[&str] = &[
    "exponential",
    "deterministic",
    "uniform",
    "gamma",
    "lognormal",
    "weibull",
    "pareto",
    "bounded_pareto",
    "hyperexponential",
    "mixture",
    "empirical",
];

/// The accepted parameter sets of each distribution (one of them must be given exactly).
pub(crate) fn distribution_forms(distribution: &str) -> &'static [&'static [&'static str]] {
    match distribution {
        "exponential" => &[&["mean"]],
        "deterministic" => &[&["value"], &["mean"]],
        "uniform" => &[&["min", "max"], &["mean", "cv"]],
        "gamma" | "weibull" => &[&["shape", "scale"], &["mean", "cv"]],
        "lognormal" => &[&["mu", "sigma"], &["mean", "cv"]],
        "pareto" => &[&["alpha", "min"], &["alpha", "mean"]],
        "bounded_pareto" => &[&["alpha", "min", "max"]],
        "hyperexponential" => &[&["mean", "cv"]],
        "mixture" => &[&["components"]],
        "empirical" => &[&["samples"], &["file"]],
        _ => &[],
    }
}

/// Every key of a distribution (union of its forms).
pub(crate) fn distribution_keys(distribution: &str) -> Vec<&'static str> {
    let mut keys: Vec<&'static str> = Vec::new();
    for form in distribution_forms(distribution) {
        for k in *form {
            if !keys.contains(k) {
                keys.push(k);
            }
        }
    }
    keys
}

/// Every key `[service]` may contain under some distribution.
pub(crate) fn all_service_keys() -> Vec<&'static str> {
    let mut keys = vec!["distribution"];
    keys.extend_from_slice(SERVICE_EXTRA);
    for d in DISTRIBUTIONS {
        for k in distribution_keys(d) {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    keys
}

/// The keys of a fixed-schema section (`None` for free sections and unknown names).
pub(crate) fn section_keys(section: &str) -> Option<Vec<&'static str>> {
    match section {
        "experiment" => Some(EXPERIMENT_KEYS.to_vec()),
        "run" => Some(RUN_KEYS.to_vec()),
        "arrivals" => Some(all_arrival_keys()),
        "service" => Some(all_service_keys()),
        "clients" => Some(CLIENTS_KEYS.to_vec()),
        "backends" => Some(BACKEND_KEYS.to_vec()),
        "balancer" => Some(BALANCER_KEYS.to_vec()),
        _ => None,
    }
}

/// Keys whose values are never numbers (for `set_number`).
pub(crate) const TEXT_KEYS: &[&str] = &[
    "name",
    "description",
    "process",
    "file",
    "distribution",
    "components",
    "samples",
    "popularity",
    "worker_class",
    "accept",
    "strategies",
    "label",
    "routing",
    "info",
    "mode",
    "cache_redirect",
    "kind",
    "backend",
    "group",
    "hedge",
    "hedge_cancel",
];

/// The distributions that take `key`, for "X is a parameter of …" messages.
pub(crate) fn distributions_taking(key: &str) -> Vec<&'static str> {
    DISTRIBUTIONS.iter().copied().filter(|d| distribution_keys(d).contains(&key)).collect()
}

/// The processes that take `key`.
pub(crate) fn processes_taking(key: &str) -> Vec<&'static str> {
    PROCESSES.iter().copied().filter(|p| process_keys(p).contains(&key)).collect()
}

/// `"a"`, `"a" or "b"`, `"a", "b" or "c"`.
pub(crate) fn quoted_list(items: &[&str], last: &str) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("\"{s}\"")).collect();
    match quoted.len() {
        0 => String::new(),
        1 => quoted[0].clone(),
        n => format!("{} {last} {}", quoted[..n - 1].join(", "), quoted[n - 1]),
    }
}
