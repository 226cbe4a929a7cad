//! The `lbsim` binary as a user meets it: `run`, `check`, `strategies`, and its errors.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn lbsim() -> Command {
    Command::cargo_bin("lbsim").expect("binary built")
}

/// A small, fast experiment written to a temporary folder.
fn small_experiment(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"[experiment]
name = "small"
seed = 7

[run]
requests = 20000
warmup = 2000

[arrivals]
load = 0.8

[service]
distribution = "lognormal"
mean = "10ms"
cv = 1.5

[[backends]]
name = "web"
count = 3
workers = 2

[balancer]
strategies = ["random", "round_robin", {{ name = "power_of_d", d = 2 }}, "central_queue"]
{extra}"#
    );
    std::fs::write(dir.path().join("small.toml"), text).unwrap();
    dir
}

#[test]
fn run_prints_a_table_with_one_row_per_strategy() {
    let dir = small_experiment("");
    lbsim()
        .args(["run", dir.path().join("small.toml").to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("mean (ms)"))
        .stdout(predicate::str::contains("round_robin"))
        .stdout(predicate::str::contains("power_of_d(d=2)"))
        .stdout(predicate::str::contains("central_queue"));
}

#[test]
fn run_quiet_prints_the_same_results_and_nothing_on_stderr() {
    let dir = small_experiment("");
    let file = dir.path().join("small.toml");
    let plain = lbsim().args(["run", file.to_str().unwrap()]).output().unwrap();
    let quiet = lbsim().args(["run", file.to_str().unwrap(), "--quiet"]).output().unwrap();
    assert!(plain.status.success() && quiet.status.success());
    assert_eq!(quiet.stdout, plain.stdout);
    assert!(quiet.stderr.is_empty(), "{}", String::from_utf8_lossy(&quiet.stderr));
}

#[test]
fn run_json_has_the_contract_fields_in_seconds() {
    let dir = small_experiment("");
    let out = lbsim().args(["run", dir.path().join("small.toml").to_str().unwrap(), "--json"]).output().unwrap();
    assert!(out.status.success());
    let json: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(json["experiment"], "small");
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    for r in results {
        for key in [
            "strategy",
            "load",
            "arrival_rate",
            "requests",
            "mean_response",
            "p50",
            "p90",
            "p95",
            "p99",
            "p999",
            "mean_wait",
            "mean_slowdown",
            "throughput",
            "utilisation",
            "mean_in_system",
            "rejected",
            "saturated",
            "ci95",
            "backends",
        ] {
            assert!(r.get(key).is_some(), "missing {key} in {r}");
        }
        let mean = r["mean_response"].as_f64().unwrap();
        assert!(mean > 0.01 && mean < 1.0, "seconds, not milliseconds: {mean}");
        let ci = r["ci95"]["mean_response"].as_array().unwrap();
        assert!(ci[0].as_f64().unwrap() <= mean && mean <= ci[1].as_f64().unwrap());
        assert!((r["load"].as_f64().unwrap() - 0.8).abs() < 1e-9);
        let backends = r["backends"].as_array().unwrap();
        assert_eq!(backends.len(), 3);
        for b in backends {
            for key in ["name", "utilisation", "throughput", "mean_in_system", "completed"] {
                assert!(b.get(key).is_some(), "missing backends[].{key}");
            }
        }
    }
}

#[test]
fn the_same_file_and_seed_give_byte_identical_output() {
    let dir = small_experiment("");
    let file = dir.path().join("small.toml");
    let a = lbsim().args(["run", file.to_str().unwrap(), "--json"]).output().unwrap().stdout;
    let b = lbsim().args(["run", file.to_str().unwrap(), "--json"]).output().unwrap().stdout;
    assert_eq!(a, b);
    let c =
        lbsim().args(["run", file.to_str().unwrap(), "--json", "--set", "experiment.seed=8"]).output().unwrap().stdout;
    assert_ne!(a, c, "a different seed gives different traffic");
}

#[test]
fn set_overrides_keys_including_a_backend_group_by_name() {
    let dir = small_experiment("");
    let out = lbsim()
        .args(["run", dir.path().join("small.toml").to_str().unwrap(), "--json"])
        .args(["--set", "arrivals.load=0.5", "--set", "backends.web.count=5"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &json["results"][0];
    assert!((r["load"].as_f64().unwrap() - 0.5).abs() < 1e-9);
    assert_eq!(r["backends"].as_array().unwrap().len(), 5);
}

#[test]
fn an_overloaded_cluster_finishes_and_is_reported_saturated() {
    let dir = small_experiment("");
    let out = lbsim()
        .args(["run", dir.path().join("small.toml").to_str().unwrap(), "--json"])
        .args(["--set", "arrivals.load=1.4", "--set", "backends.web.backlog=50"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    for r in json["results"].as_array().unwrap() {
        assert_eq!(r["saturated"], true, "{}", r["strategy"]);
        assert!(r["rejected"].as_u64().unwrap() > 0);
    }
}

#[test]
fn check_validates_without_running() {
    let dir = small_experiment("");
    lbsim()
        .args(["check", dir.path().join("small.toml").to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("ok"))
        .stdout(predicate::str::contains("3 backends"));
}

#[test]
fn a_fleet_run_too_short_to_trust_is_told_before_it_starts() {
    // 100 000 backends at 20 000 requests: 0.2 a backend. `check` says so, with the
    // requests that would do (1 000 a backend) and their cost; the run says so on stderr
    // before simulating, and still runs.
    let dir = small_experiment("");
    let file = dir.path().join("small.toml");
    let text = std::fs::read_to_string(&file).unwrap().replace("count = 3", "count = 100000");
    std::fs::write(&file, text).unwrap();
    let wanted = "[run] requests = 20000 measures 0.2 requests a backend over 100 000 backends, fewer than the 1 000";
    lbsim()
        .args(["check", file.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains(wanted))
        .stdout(predicate::str::contains("Set [run] requests = 100000000 (4 runs, about"));
    lbsim()
        .args(["run", "--quiet", file.to_str().unwrap(), "--set", "balancer.strategies=[\"random\"]"])
        .assert()
        .success()
        .stderr(predicate::str::contains(wanted))
        .stdout(predicate::str::contains("few_requests").or(predicate::str::contains("Too short to trust")));
    // 3 backends at 20 000 requests are 6 667 a backend: nothing to say.
    let dir = small_experiment("");
    lbsim()
        .args(["check", dir.path().join("small.toml").to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("few_requests").not());
}

#[test]
fn a_misspelt_strategy_gets_a_suggestion_and_a_location() {
    let dir = small_experiment("");
    let file = dir.path().join("small.toml");
    let text = std::fs::read_to_string(&file).unwrap().replace("\"round_robin\"", "\"round-robin\"");
    std::fs::write(&file, text).unwrap();
    lbsim()
        .args(["check", file.to_str().unwrap()])
        .assert()
        .failure()
        .code(1)
        .stderr(predicate::str::contains("small.toml:23:25: balancer.strategies[1]"))
        .stderr(predicate::str::contains("unknown strategy \"round-robin\"; did you mean \"round_robin\"?"))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn a_misspelt_key_gets_a_suggestion() {
    let dir = small_experiment("");
    let file = dir.path().join("small.toml");
    let text = std::fs::read_to_string(&file).unwrap().replace("load = 0.8", "lod = 0.8");
    std::fs::write(&file, text).unwrap();
    lbsim()
        .args(["run", file.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicate::str::contains("did you mean \"load\"?"));
}

#[test]
fn a_missing_file_is_a_clear_error() {
    lbsim()
        .args(["run", "no/such/experiment.toml"])
        .assert()
        .failure()
        .code(1)
        .stderr(predicate::str::starts_with("Error: no/such/experiment.toml"));
}

#[test]
fn strategies_lists_every_registered_strategy() {
    let mut assert = lbsim().arg("strategies").assert().success();
    for info in lbsim::strategy::list() {
        assert = assert.stdout(predicate::str::contains(info.name));
    }
}

/// No strategy, example or plan recommendation calls a strategy "the ideal": least_work_left
/// (an oracle) loses to least_connections under async workers, and sita beats central_queue
/// (one shared FCFS queue) under heavy tails, so neither is a bound.
#[test]
fn no_strategy_is_called_the_ideal() {
    let listing = lbsim().arg("strategies").assert().success().get_output().stdout.clone();
    let mut texts = vec![("lbsim strategies".to_string(), String::from_utf8(listing).unwrap())];
    for entry in std::fs::read_dir("experiments").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            texts.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
        }
    }
    texts.push(("src/plan/text.rs".into(), std::fs::read_to_string("src/plan/text.rs").unwrap()));
    for (source, text) in texts {
        for line in text.lines() {
            let lower = line.to_lowercase();
            assert!(
                !(lower.contains("the ideal") || lower.contains("ideal shared") || lower.contains("ideal single")),
                "{source} calls a strategy ideal: {line}"
            );
        }
    }
}

#[test]
fn every_example_experiment_is_valid() {
    for entry in std::fs::read_dir("experiments").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            lbsim().args(["check", path.to_str().unwrap()]).assert().success();
        }
    }
}

/// `lbsim strategies | head -1`: a reader that has gone ends lbsim quietly (by SIGPIPE, as it
/// ends `cat`), not with a panic. The pipe's read end is closed before lbsim starts, so its
/// first write meets it closed whatever the timing.
#[cfg(unix)]
#[test]
fn a_closed_stdout_ends_lbsim_quietly() {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::ExitStatusExt;
    let dir = small_experiment("");
    let file = dir.path().join("small.toml");
    let cases: [&[&str]; 3] =
        [&["strategies"], &["check", file.to_str().unwrap()], &["run", "--quiet", "--json", file.to_str().unwrap()]];
    for args in cases {
        let mut fds = [0; 2];
        // SAFETY: pipe(2) fills the two-element array it is given.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: both descriptors are new and owned here alone.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        drop(read);
        let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("lbsim"))
            .args(args)
            .stdout(write)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.signal(), Some(libc::SIGPIPE), "{args:?}: {:?}, stderr {stderr}", output.status);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[cfg(unix)]
#[test]
fn an_interrupted_trace_leaves_no_temporary_file() {
    // Ctrl-C once left the hidden `.trace.csv.tmp-PID` behind, as large as the trace so far.
    let dir = small_experiment("");
    let out = dir.path().join("trace.csv");
    // 10⁸ requests: seconds of writing, far more than the moment before the interrupt.
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("lbsim"))
        .args(["trace", "small.toml", "--out", "trace.csv", "--requests", "100000000"])
        .current_dir(dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let temporary = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with('.'))
    };
    // The handler is installed before the temporary file is created.
    let start = std::time::Instant::now();
    while !temporary() {
        assert!(start.elapsed().as_secs() < 60, "the trace's temporary file never appeared");
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    // SAFETY: kill(2) on the child's own pid.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted: trace.csv was not written (the partial file was removed)"), "{stderr}");
    let left: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(left, ["small.toml"], "{stderr}");
    assert!(!out.exists());
}
