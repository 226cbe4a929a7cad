//! # lbsim — a discrete-event simulator of load-balancing strategies
//!
//! A front balancer (nginx, HAProxy, Envoy) spreads requests over backends; each backend is
//! a pre-fork server (think gunicorn) whose worker processes accept from one shared socket.
//! lbsim simulates such clusters to answer which strategy, how many backends and how many
//! workers meet a latency target.
//!
//! ## Vocabulary
//!
//! - A [`model::Model`] is the system: an [`model::ArrivalProcess`] (when requests come), a
//!   [`model::ServiceDistribution`] (how much work each needs, in seconds on a speed-1.0
//!   worker), a [`model::ClientPopulation`] (who sends them) and [`model::BackendGroup`]s
//!   (backends with `workers` workers of a [`model::WorkerClass`] and a `speed`).
//! - A [`strategy::Strategy`] picks a backend for each [`model::Request`], looking only at the
//!   small [`strategy::Cluster`] view. Strategies are registered by name in
//!   [`strategy::registry`].
//! - The [`engine`] runs one simulation (model × strategy × [`seed::RunSeed`]) and returns raw
//!   measurements; the [`runner`] repeats it over replications and turns the measurements
//!   into estimates with 95 % confidence intervals ([`runner::StrategyResult`]).
//! - [`config`] reads experiment files (TOML) into an [`experiment::Experiment`], with errors
//!   that point at the file, line and key.
//! - [`theory`] holds the closed forms the engine is tested against; [`relaxation`], how long
//!   a cluster started empty takes to fill (the warm-up a run needs).
//! - [`sweep`] runs a grid of experiment points (the `[sweep]` axes) × strategies ×
//!   replications in parallel, journaled (resumable) and shardable over machines, into
//!   [`results::SweepResults`] (`results.json`) and a tidy `results.csv`.
//! - [`plan`] answers capacity questions: the smallest number of backends (or workers) that
//!   meets an SLO at a given rate, per strategy, with its headroom.
//!
//! ```no_run
//! let file = lbsim::config::ExperimentFile::read("experiments/mm4.toml".as_ref())?;
//! let experiment = file.resolve()?;
//! for spec in &experiment.strategies {
//!     let result = lbsim::runner::run_strategy(&experiment, spec, 0)?;
//!     println!("{}: mean response {:.4}s", result.strategy, result.mean_response.value);
//! }
//! # Ok::<(), anyhow::Error>(())
//! ```

pub mod budget;
pub mod config;
pub mod engine;
pub mod experiment;
pub mod fit;
pub mod loadgen;
pub mod model;
pub mod output;
pub mod plan;
pub mod plot;
pub mod relaxation;
pub mod report;
pub mod results;
pub mod runner;
pub mod seed;
pub mod slo;
pub mod stats;
pub mod strategy;
pub mod sweep;
pub mod theory;
pub mod traffic;
pub mod units;
