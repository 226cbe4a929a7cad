//! Experiment files (TOML) → [`Experiment`]: parsing, `--set` overrides, precise errors.

use std::path::{Path, PathBuf};

use crate::experiment::Experiment;

/// An error in an experiment file or override, located as precisely as possible.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    /// The file (or `--set` for an override).
    pub file: String,
    /// 1-based line and column, when known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Dotted key path, when known (`arrivals.load`).
    pub key: Option<String>,
    /// What is wrong and what was expected, with a did-you-mean suggestion where useful.
    pub message: String,
}

impl ConfigError {
    fn render(&self) -> String {
        todo!()
    }
}

/// An experiment file as read, before it is resolved into an [`Experiment`].
#[derive(Debug, Clone)]
pub struct ExperimentFile {
    pub path: PathBuf,
}

impl ExperimentFile {
    /// Reads and parses (as TOML) the file at `path`.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        todo!("{}", path.display())
    }

    /// Parses experiment text; `path` names it in errors and anchors relative file paths.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        todo!("{}{text}", path.display())
    }

    /// Applies `--set KEY=VALUE`.
    pub fn set(&mut self, assignment: &str) -> Result<(), ConfigError> {
        todo!("{assignment}")
    }

    /// Validates everything and builds the experiment.
    pub fn resolve(&self) -> Result<Experiment, ConfigError> {
        todo!()
    }
}
