//! Experiment files (TOML) → [`Experiment`](crate::experiment::Experiment): parsing,
//! `--set` overrides, precise errors.
//!
//! - [`ExperimentFile::read`] / [`ExperimentFile::parse`] parse the TOML (syntax errors are
//!   located at line:column);
//! - [`ExperimentFile::set`] applies `--set KEY=VALUE` overrides;
//! - [`ExperimentFile::resolve`] checks every section and builds the experiment.
//!
//! Every error is a [`ConfigError`] rendered `FILE:LINE:COL: KEY: MESSAGE`.

mod error;
mod file;
mod model;
mod schema;
mod trace;

pub use error::ConfigError;
pub use file::ExperimentFile;
