//! Presenting results: a human table for terminals and the JSON contract of `lbsim run --json`.

mod json;
mod table;

pub use json::{RunJson, run_json};
pub use table::{UNDEFINED, cancel_lines, closed_loop_lines, figure, hedging_lines, results_table};
