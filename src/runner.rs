//! Runs one strategy over its replications.
