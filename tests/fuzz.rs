//! Property tests of hostile inputs end to end (issue 9): random `--set` values that the
//! parser accepts are simulated, and every figure must stay in its physical range or carry a
//! warning; every error the parsers give names where it is; random trace files never panic
//! the trace reader; the CLI answers random arguments with an error, never a panic. Seeds are
//! fixed, so the cases are the same on every run.

use std::fs;
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use lbsim::config::{ConfigError, ExperimentFile};
use lbsim::runner::{StrategyResult, Warning, run_strategy};
use proptest::prelude::*;

const INLINE: &str = "tests/data/fuzz.toml";

/// Small enough that a case simulates in milliseconds.
const BASE: &str = r#"[experiment]
seed = 5

[run]
requests = 3000
warmup = 300

[arrivals]
load = 0.6

[service]
mean = "10ms"

[[backends]]
name = "web"
count = 3
workers = 2

[balancer]
strategies = ["random", "jsq", "power_of_d", "round_robin", "least_work_left"]
"#;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20261125),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// An error names where it is: a line in the file, or the key it is about.
fn is_located(err: &ConfigError) -> bool {
    !err.file.is_empty() && (err.line.is_some() || err.key.is_some())
}

/// Every printed figure of `r` is within its physical range, or the row says it is not.
fn check_ranges(r: &StrategyResult) -> Result<(), TestCaseError> {
    if r.warnings.contains(&Warning::Implausible) {
        return Err(TestCaseError::fail(format!("{}: implausible figures: {r:?}", r.strategy)));
    }
    let unit = |x: f64| x.is_nan() || (0.0..=1.0 + 1e-6).contains(&x);
    prop_assert!(unit(r.utilisation.value), "utilisation {}", r.utilisation.value);
    for b in &r.backends {
        prop_assert!(unit(b.utilisation), "backend {} utilisation {}", b.name, b.utilisation);
    }
    let q = [r.p50.value, r.p90.value, r.p95.value, r.p99.value, r.p999.value];
    let above = |a: f64, b: f64| a > b * (1.0 + 1e-6);
    for w in q.windows(2) {
        prop_assert!(!above(w[0], w[1]), "percentiles out of order: {q:?}");
    }
    for x in q.iter().chain([&r.mean_response.value, &r.mean_wait.value, &r.throughput.value]) {
        prop_assert!(x.is_nan() || (x.is_finite() && *x >= 0.0), "a time or rate of {x}");
    }
    prop_assert!((0.0..=1.0).contains(&r.rejected_fraction));
    Ok(())
}

proptest! {
    #![proptest_config(config(60))]

    /// Random values of the keys that shape the numbers: whatever the parser accepts runs to
    /// the end with every figure in range.
    #[test]
    fn accepted_overrides_simulate_to_figures_in_range(
        overrides in proptest::collection::vec((
            prop::sample::select(vec![
                "arrivals.load", "arrivals.cv", "service.cv", "service.mean", "service.shape",
                "service.alpha", "backends.web.workers", "backends.web.count", "backends.web.speed",
                "backends.web.backlog", "backends.web.connections", "balancer.strategies.2.d",
            ]),
            prop::sample::select(vec![
                "0", "1e-9", "0.001", "0.05", "0.5", "0.99", "1", "1.01", "2", "7", "100", "1e6", "-3", "1e300",
            ]),
        ), 1..4),
        shape in prop::sample::select(vec![
            vec![],
            vec!["arrivals.process=gamma", "arrivals.cv=4"],
            vec!["service.distribution=lognormal", "service.cv=3"],
            vec!["service.distribution=pareto", "service.alpha=1.5"],
            vec!["service.distribution=weibull", "service.cv=2"],
            vec!["backends.web.worker_class=async"],
            vec!["backends.web.speed=1e-6"],
        ]),
    ) {
        let mut file = ExperimentFile::parse(Path::new(INLINE), BASE).unwrap();
        for set in shape.iter().map(|s| s.to_string()).chain(overrides.iter().map(|(k, v)| format!("{k}={v}"))) {
            if let Err(err) = file.set(&set) {
                prop_assert!(is_located(&err), "{set}: {err}");
            }
        }
        match file.resolve() {
            Err(err) => prop_assert!(is_located(&err), "{err}"),
            Ok(experiment) => {
                for spec in &experiment.strategies {
                    // Refusals (a run too large to start) are errors, not figures.
                    if let Ok(result) = run_strategy(&experiment, spec, 0) {
                        check_ranges(&result)?;
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(config(200))]

    /// Random text as a trace file: the reader answers with an error naming the trace file,
    /// never a panic.
    #[test]
    fn random_traces_never_panic_and_errors_name_the_trace(
        rows in proptest::collection::vec(
            prop_oneof![
                "[0-9]{1,3}(\\.[0-9]{1,3})?(,[0-9.e-]{1,6}(,[a-z0-9]{1,4})?)?",
                "time,size,client|size,time|#[a-z ]{0,10}|",
                "\\PC{0,12}",
                "-?[0-9.]{1,4},nan|inf,1|1,-1|1e400,2",
            ],
            0..12,
        ),
    ) {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("t.csv"), rows.join("\n")).unwrap();
        let text = BASE
            .replace("load = 0.6", "process = \"trace\"\nfile = \"t.csv\"")
            .replace("[service]\nmean = \"10ms\"\n", "");
        let path = dir.path().join("e.toml");
        let file = ExperimentFile::parse(&path, &text).unwrap();
        if let Err(err) = file.resolve() {
            prop_assert!(!err.file.is_empty(), "{err}");
            prop_assert!(err.line.is_some() || err.key.is_some() || err.file.ends_with("t.csv"), "{err}");
        }
    }
}

fn lbsim() -> Command {
    let mut cmd = Command::cargo_bin("lbsim").expect("the lbsim binary");
    cmd.env_remove("LBSIM_STOP_AFTER").env_remove("SLURM_ARRAY_TASK_ID").env_remove("JOB_COMPLETION_INDEX");
    cmd.timeout(Duration::from_secs(120));
    cmd
}

proptest! {
    #![proptest_config(config(24))]

    /// Random arguments to the command line: an exit code and a message, never a panic (exit
    /// code 101) and never a hang.
    #[test]
    fn random_command_lines_never_panic(
        command in prop::sample::select(vec!["run", "check", "sweep", "report", "merge", "strategies", "fit", "plan", "bogus"]),
        args in proptest::collection::vec(
            prop::sample::select(vec![
                "experiments/mm4.toml", "--set", "run.requests=2000", "arrivals.load=-1", "service.mean=nan",
                "--json", "--jobs", "0", "--out", "--resume", "--force", "--shard", "3/2", "--slo", "p101 <= 1s",
                "--load", "nan", "/nonexistent.toml", "--", "-x", "backends.web.workers=0",
            ]),
            0..6,
        ),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        // Outputs land in the temporary folder; the experiment path is absolute.
        let args: Vec<String> = args
            .iter()
            .map(|a| if a.starts_with("experiments/") { repo.join(a).display().to_string() } else { a.to_string() })
            .collect();
        let output = lbsim().current_dir(dir.path()).arg(command).args(&args).arg("--quiet").output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        prop_assert!(output.status.code().is_some(), "killed: {command} {args:?}");
        prop_assert_ne!(output.status.code(), Some(101), "panicked: {} {:?}\n{}", command, args, stderr);
        prop_assert!(!stderr.contains("panicked"), "{command} {args:?}: {stderr}");
    }
}
