//! Experiment files (TOML) → [`Experiment`](crate::experiment::Experiment): parsing,
//! `--set` overrides, precise errors.
//!
//! - [`ExperimentFile::read`] / [`ExperimentFile::parse`] parse the TOML (syntax errors are
//!   located at line:column);
//! - [`ExperimentFile::set`] applies `--set KEY=VALUE` overrides, [`ExperimentFile::set_number`]
//!   sweep points;
//! - [`ExperimentFile::resolve`] checks every section and builds the experiment;
//! - [`ExperimentFile::table`], [`ExperimentFile::error_at`] and
//!   [`ExperimentFile::source_text`] serve the modules that validate `[sweep]` and `[report]`.
//!
//! Every error is a [`ConfigError`] rendered `FILE:LINE:COL: KEY: MESSAGE` (`--set KEY:
//! MESSAGE` for values that came from an override). Unknown sections and keys are errors
//! with a did-you-mean suggestion.
//!
//! # The file format
//!
//! Defaults in parentheses. Durations are a number of seconds or a string with a unit
//! (`"250us"`, `"20ms"`, `"1.5s"`, `"2m"`).
//!
//! - `[experiment]` `name` (file stem; letters, digits, `-`, `_`, `.`), `seed` (1),
//!   `description`.
//! - `[run]` `requests` (100000), `warmup` (whole number or `"auto"`; requests/10),
//!   `replications` (1), `precision` (0 < p < 1), `max_replications` (30 with precision,
//!   else replications; ≥ replications).
//! - `[arrivals]` `process` (`poisson` | `deterministic` | `gamma` | `on_off` | `diurnal` |
//!   `trace`), and exactly one of `load` (offered utilisation, ≥ 1 allowed: saturated) or
//!   `rate` (requests per second) — a trace may have neither (its own timing). Per process:
//!   gamma `cv`; on_off `peak`, `mean_on`, `mean_off`; diurnal `amplitude`, `period`; trace
//!   `file` (CSV `time[,size[,client]]`, relative to the experiment file's folder, optional
//!   header naming the columns in any order, `#` comments). A key of another process is an
//!   error naming the process that takes it.
//! - `[service]` `distribution` (exponential) and one parameter set: exponential `mean`;
//!   deterministic `value` or `mean`; uniform `min`+`max` or `mean`+`cv`; gamma and weibull
//!   `shape`+`scale` or `mean`+`cv`; lognormal `mu`+`sigma` or `mean`+`cv`; pareto
//!   `alpha`+`min` or `alpha`+`mean`; bounded_pareto `alpha`+`min`+`max`; hyperexponential
//!   `mean`+`cv`; mixture `components = [{ weight = 0.95, distribution = "exponential", mean =
//!   "5ms" }, …]` (each component read with the same rules; a component may not itself be a
//!   mixture; the weights are shares of requests and must sum to 1, within 0.001); empirical `samples = [...]` or `file` (one number per line). `mean`, `value`,
//!   `min`, `max` and `scale` are durations.
//! - `[clients]` `count` (10000), `popularity` (`uniform` | `zipf`), `s` (1.0, zipf only),
//!   `subnets` (every client its own address; k = the clients live in k /24 networks).
//! - `[[backends]]` (at least one; at most 1 000 000 backends in all) `name` (required,
//!   unique, folder-safe), `count` (1), `workers` (1), `worker_class` (`sync` | `async`),
//!   `connections` (async only; 1000), `speed` (1.0), `backlog` (2048), `weight`.
//! - `[balancer]` `strategies`: names or tables `{ name = "power_of_d", d = 3, label = "po3" }`;
//!   other table keys are the strategy's parameters. Labels default to the name, or
//!   `name(k=v,…)` with parameters, and must be unique.
//! - `[sweep]`, `[report]`: kept as written, validated by their own modules.
//!
//! `--set` keys are dotted paths: `run.requests=5e4`, `arrivals.process=gamma` (a value that
//! is not TOML is taken as a string), `backends.web.count=4` or `backends.0.count=4`,
//! `balancer.strategies.1.d=3`. Keys the format knows may be added even when the file lacks
//! them (missing tables are created).

mod error;
mod file;
mod model;
mod schema;
mod trace;

pub use error::ConfigError;
pub use file::ExperimentFile;
pub(crate) use file::number_text;
pub(crate) use schema::BACKEND_KEYS;
pub(crate) use trace::parse_trace;

/// Longest duration lbsim accepts anywhere, in seconds (about 31 years): a request size, a
/// period, a gap, a trace's span, a command's timeout. Simulated clocks add up millions of
/// them, and at 10³⁰⁵ s the sums overflow to infinity; `std::time::Duration` panics well
/// before that (at 2⁶⁴ s).
pub const MAX_DURATION: f64 = 1e9;

/// Shortest mean time lbsim accepts between arrivals, or for a request's service on a
/// backend (1 ns): far below any real request, and far above where float times lose their
/// meaning.
pub const MIN_MEAN_TIME: f64 = 1e-9;

/// Highest arrival rate lbsim accepts, in requests per second: a mean gap of
/// [`MIN_MEAN_TIME`] (1 ns; written out, as 1/1e-9 rounds below 1e9), beyond any real
/// balancer. An absurd rate (`rate = 1e300`, or a `load` that derives one) sends every
/// measured request within a span too short for rates and time averages to exist, so the
/// utilisation and throughput would print as NaN.
pub const MAX_RATE: f64 = 1e9;

/// Lowest arrival rate lbsim accepts: a mean gap of [`MAX_DURATION`].
pub const MIN_RATE: f64 = 1.0 / MAX_DURATION;

/// The warnings before a run about its ramp of users (see
/// [`Experiment::ramp_outlasting_run`](crate::experiment::Experiment::ramp_outlasting_run)
/// and [`Experiment::ramp_in_warmup`](crate::experiment::Experiment::ramp_in_warmup)), each
/// rendered `FILE:LINE:COL: KEY: …` with the figures of the model and what to change:
///
/// - at `[clients] ramp`, when the run may end before the ramp does: when it ends at the
///   earliest, which stages (by number and time span) fall after that, and the `[run]
///   requests` that covers the ramp;
/// - at `[run] warmup`, when a fixed warm-up discards stages of the ramp: which, and until
///   when at least.
///
/// Empty when there is nothing to say.
pub fn ramp_warnings(file: &ExperimentFile, experiment: &crate::experiment::Experiment) -> Vec<String> {
    ramp_warnings_by_kind(file, experiment).into_iter().flatten().collect()
}

/// [`ramp_warnings`] in a fixed order of kinds: the ramp outlasting the run, then the
/// stages in the warm-up.
fn ramp_warnings_by_kind(file: &ExperimentFile, experiment: &crate::experiment::Experiment) -> [Option<String>; 2] {
    use crate::units::{format_duration, significant};
    let bound = |cycle: f64, max: f64| {
        format!(
            "the users' throughput bound min(N(t)/(D + Z), X_max) = min(N(t)/{}, {}/s)",
            format_duration(cycle),
            significant(max, 4)
        )
    };
    let mut out = [None, None];
    if let Some(e) = experiment.ramp_outlasting_run() {
        let requests = match experiment.plan.warmup {
            crate::experiment::Warmup::Fixed(0) => format!("{} requests", e.requests),
            crate::experiment::Warmup::Fixed(w) => {
                format!("{} requests ({w} of warm-up and {} measured)", e.requests, experiment.plan.requests)
            }
            crate::experiment::Warmup::Auto => {
                format!("{} measured requests (and the warm-up MSER-5 chooses)", e.requests)
            }
        };
        let end = format_duration(e.earliest_end);
        let message = format!(
            "the ramp lasts {}, but at {} the run's {requests} are all sent by {end}: the run ends at {end} at \
             the earliest (up to chance in the think and service times) — later by as much as queueing holds the users below the bound (markedly past the knee \
             N* = (D + Z) · X_max = {} users), earlier only if refusals or failures answer them faster than the \
             service would. It would not measure {}. Set [run] requests = {} (what the users send over the whole \
             ramp at the bound, so that the run cannot end before it), or shorten the ramp to end by {end}",
            format_duration(e.length),
            bound(e.cycle, e.max_throughput),
            significant(e.cycle * e.max_throughput, 3),
            e.unreached,
            e.requests_needed
        );
        out[0] = Some(file.error_at("clients.ramp", message).render());
    }
    if let Some(w) = experiment.ramp_in_warmup() {
        let message = format!(
            "the warm-up's {} requests last until {} at the earliest (at {}, up to chance in the think and \
             service times; later in practice, as queueing holds the users below the bound), so the results leave out {}. Set [run] warmup = 0 to measure the ramp from its \
             start (the system starts empty, as a load test's does), or keep the warm-up if these stages only \
             lead to the load you mean to measure",
            w.warmup,
            format_duration(w.earliest_end),
            bound(w.cycle, w.max_throughput),
            w.discarded
        );
        out[1] = Some(file.error_at("run.warmup", message).render());
    }
    out
}

/// [`ramp_warnings`] over the points of a sweep: the first point's with a warning of each
/// kind, and at how many of them it applies.
pub fn ramp_warnings_of_points(file: &ExperimentFile, points: &[crate::experiment::Experiment]) -> Vec<String> {
    let all: Vec<[Option<String>; 2]> = points.iter().map(|p| ramp_warnings_by_kind(file, p)).collect();
    let mut out = Vec::new();
    for kind in 0..2 {
        let mut of_kind = all.iter().filter_map(|w| w[kind].as_ref());
        let Some(first) = of_kind.next() else { continue };
        out.push(match (of_kind.count(), points.len()) {
            (_, 1) => first.clone(),
            (0, n) => format!("{first} (at 1 of the sweep's {n} points)"),
            (more, n) => format!("{first} (at {} of the sweep's {n} points; this is the first)", more + 1),
        });
    }
    out
}
