//! Charts and reports from a sweep's results: valid PNG and SVG files with the expected
//! titles and legends, a self-contained HTML report, byte-for-byte reproducible output.

mod common;

use std::path::{Path, PathBuf};

use lbsim::results::SweepResults;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn fixture() -> SweepResults {
    let text = std::fs::read_to_string(data("results_fixture.json")).expect("fixture exists");
    serde_json::from_str(&text).expect("fixture parses")
}

/// Rebuilds `tests/data/results_fixture.json` by simulating `tests/data/fixture.toml`.
#[test]
#[ignore = "regenerates the checked-in fixture; run explicitly"]
fn regenerate_fixture() {
    let results = common::fixture::sweep_results(&data("fixture.toml"));
    let text = serde_json::to_string(&results).unwrap();
    std::fs::write(data("results_fixture.json"), text).unwrap();
}
