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
//!   mixture); empirical `samples = [...]` or `file` (one number per line). `mean`, `value`,
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
pub(crate) use schema::BACKEND_KEYS;
pub(crate) use trace::parse_trace;

/// The warning, located at `[clients] ramp` of `file`, for a ramp of users that the run of
/// `experiment` may not last through (see
/// [`Experiment::ramp_outlasting_run`](crate::experiment::Experiment::ramp_outlasting_run)):
/// `FILE:LINE:COL: clients.ramp: the ramp lasts …, but the run may end by …`, with the
/// `[run] requests` that would cover it. `None` when the run lasts through the ramp.
pub fn ramp_warning(file: &ExperimentFile, experiment: &crate::experiment::Experiment) -> Option<String> {
    use crate::units::{format_duration, significant};
    let e = experiment.ramp_outlasting_run()?;
    let warmup = match experiment.plan.warmup {
        crate::experiment::Warmup::Fixed(0) => "",
        crate::experiment::Warmup::Fixed(_) => " (warm-up included)",
        crate::experiment::Warmup::Auto => " (and the warm-up MSER-5 chooses)",
    };
    let message = format!(
        "the ramp lasts {}, but the run may end by {}: at the users' throughput bound min(N(t)/(D + Z), X_max) = \
         min(N(t)/{}, {}/s) its {} requests{warmup} are sent by then, and it would not cover {}. \
         Set [run] requests to at least {} to cover the whole ramp, or shorten the ramp",
        format_duration(e.length),
        format_duration(e.earliest_end),
        format_duration(e.cycle),
        significant(e.max_throughput, 4),
        e.requests,
        e.unreached,
        e.requests_needed
    );
    Some(file.error_at("clients.ramp", message).render())
}

/// [`ramp_warning`] over the points of a sweep: the first point's, and at how many of them
/// it applies.
pub fn ramp_warning_of_points(file: &ExperimentFile, points: &[crate::experiment::Experiment]) -> Option<String> {
    let mut warnings = points.iter().filter_map(|p| ramp_warning(file, p));
    let first = warnings.next()?;
    match (warnings.count(), points.len()) {
        (_, 1) => Some(first),
        (0, n) => Some(format!("{first} (at 1 of the sweep's {n} points)")),
        (more, n) => Some(format!("{first} (at {} of the sweep's {n} points; this is the first)", more + 1)),
    }
}
