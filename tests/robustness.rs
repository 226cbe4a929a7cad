//! Hostile inputs that once hung lbsim, lost or mixed results, or printed numbers outside
//! their physical range with exit code 0 (issue 9). Every command runs with a time limit:
//! a hang fails the test instead of stalling the suite.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

/// Far more than any of these commands needs (a few seconds each on a shared 2-core machine);
/// a hang hits it.
const LIMIT: Duration = Duration::from_secs(120);

fn lbsim() -> Command {
    let mut cmd = Command::cargo_bin("lbsim").expect("the lbsim binary");
    cmd.env_remove("LBSIM_STOP_AFTER").env_remove("SLURM_ARRAY_TASK_ID").env_remove("JOB_COMPLETION_INDEX");
    cmd.timeout(LIMIT);
    cmd
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

/// A tiny experiment (milliseconds per run) with `extra` appended.
fn tiny(extra: &str) -> String {
    format!(
        r#"[experiment]
name = "tiny"
seed = 3

[run]
requests = 4000
warmup = 400

[arrivals]
load = 0.7

[service]
distribution = "exponential"
mean = "10ms"

[[backends]]
name = "web"
count = 3
workers = 2

{extra}"#
    )
}

const TWO_STRATEGIES: &str = "[balancer]\nstrategies = [\"random\", \"jsq\"]\n";

// ---- hangs ---------------------------------------------------------------------------

#[test]
fn gamma_arrivals_too_bursty_to_simulate_are_refused_before_running() {
    // cv 10⁶: nearly every gap was 0 s and a rare one astronomically long; the number-in-system
    // time series once waited forever for the clock to move, and `lbsim run` printed
    // utilisation NaN. Such a cv is now refused at its key (gamma shape ≥ 0.05, as for sizes).
    let tmp = TempDir::new().unwrap();
    let file = write(tmp.path(), "e.toml", &tiny(&format!("{TWO_STRATEGIES}[sweep]\nload = [0.8]\n")));
    lbsim()
        .args(["sweep", "--quiet", "--set", "arrivals.process=gamma", "--set", "arrivals.cv=1000000", "--out"])
        .arg(tmp.path().join("out"))
        .arg(&file)
        .assert()
        .failure()
        .stderr(predicate::str::contains("arrivals.cv: gamma: cv must be at most 4.47 (got 1000000)"))
        .stderr(predicate::str::contains("process = \"on_off\""));
}

#[test]
fn sampling_the_number_in_system_stops_when_arrivals_stall() {
    use lbsim::config::ExperimentFile;
    use lbsim::model::ArrivalProcess;
    let text = tiny(TWO_STRATEGIES);
    let file = ExperimentFile::parse(Path::new("e.toml"), &text).unwrap();
    let mut experiment = file.resolve().unwrap();
    // Gaps that are almost all 0 s (gamma cv 10⁶, refused in files, built here unchecked):
    // the engine must still end.
    let rate = experiment.model.arrivals.mean_rate();
    experiment.model.arrivals = ArrivalProcess::Gamma { rate, cv: 1e6 };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let model = &experiment.model;
        let infos = lbsim::runner::backend_infos(model);
        let params = &experiment.strategies[0].params;
        let seed = lbsim::seed::RunSeed::new(1, 0, 0);
        let setup = lbsim::strategy::Setup {
            backends: &infos,
            service: &model.service,
            params,
            addresses: model.addresses,
            rng: seed.stream(lbsim::seed::Purpose::Strategy),
        };
        let mut strategies = [lbsim::strategy::build("random", &setup).unwrap()];
        let series = lbsim::engine::sample_in_system(model, &mut strategies, seed, 100, 0.01, 400);
        let _ = tx.send(series.len());
    });
    let backends = rx.recv_timeout(LIMIT).expect("sample_in_system returns even when the clock hardly moves");
    assert_eq!(backends, 3);
}

#[test]
fn a_sweep_with_an_absurd_service_mean_ends() {
    // Once looped forever in the chart axis code (a padded range overflowed to infinity).
    let tmp = TempDir::new().unwrap();
    let file = write(tmp.path(), "e.toml", &tiny(&format!("{TWO_STRATEGIES}[sweep]\nload = [0.8]\n")));
    lbsim()
        .args(["sweep", "--quiet", "--set", "service.mean=1e305", "--out"])
        .arg(tmp.path().join("out"))
        .arg(&file)
        .assert()
        .failure()
        .stderr(predicate::str::contains("service.mean: 1e305 s is longer than lbsim simulates"));
}

#[test]
fn chart_ranges_that_overflow_are_not_drawn() {
    use lbsim::plot::style::drawable;
    assert!(drawable(1.0, 2.0, true));
    assert!(!drawable(1e300, 1e305 * 1e10, false));
    assert!(!drawable(0.0, 1.0, true));
    assert!(!drawable(f64::NAN, 1.0, false));
}

// ---- limits --------------------------------------------------------------------------

#[test]
fn absurd_job_counts_are_refused_and_more_jobs_than_cores_are_capped() {
    let tmp = TempDir::new().unwrap();
    let file = write(tmp.path(), "e.toml", &tiny(&format!("{TWO_STRATEGIES}[sweep]\nload = [0.5]\n")));
    lbsim()
        .args(["sweep", "--jobs", "100000000", "--out"])
        .arg(tmp.path().join("a"))
        .arg(&file)
        .assert()
        .failure()
        .stderr(predicate::str::contains("at most 1024 threads"));
    lbsim()
        .args(["sweep", "--jobs", "1000", "--out"])
        .arg(tmp.path().join("b"))
        .arg(&file)
        .assert()
        .success()
        .stderr(predicate::str::contains("cores of this machine: using"));
}

#[test]
fn a_huge_grid_is_refused_with_an_estimate_before_anything_is_resolved() {
    let tmp = TempDir::new().unwrap();
    let sweep = "[sweep]\nload = { from = 0.1, to = 0.9, steps = 1000 }\n\"backends.web.count\" = { from = 1, to = 1000, steps = 1000 }\n";
    let file = write(tmp.path(), "e.toml", &tiny(&format!("{TWO_STRATEGIES}{sweep}")));
    lbsim()
        .args(["sweep", "--out"])
        .arg(tmp.path().join("out"))
        .arg(&file)
        .assert()
        .failure()
        .stderr(predicate::str::contains("1 000 000 points"))
        .stderr(predicate::str::contains("2 000 000 runs, about"))
        .stderr(predicate::str::contains("pass --yes"));
    assert!(!tmp.path().join("out").join("journal.jsonl").exists());
}

#[test]
fn a_million_replications_are_refused_with_an_estimate() {
    let tmp = TempDir::new().unwrap();
    let file = write(tmp.path(), "e.toml", &tiny(TWO_STRATEGIES));
    lbsim()
        .args(["run", "--set", "run.replications=1000000"])
        .arg(&file)
        .assert()
        .failure()
        .stderr(predicate::str::contains("this run is 2 000 000 runs, about"))
        .stderr(predicate::str::contains("pass --yes"));
    let sweep_file = write(tmp.path(), "s.toml", &tiny(&format!("{TWO_STRATEGIES}[sweep]\nload = [0.5]\n")));
    lbsim()
        .args(["sweep", "--set", "run.replications=1000000", "--out"])
        .arg(tmp.path().join("out"))
        .arg(&sweep_file)
        .assert()
        .failure()
        .stderr(predicate::str::contains("this sweep is 2 000 000 runs"));
}

#[test]
fn absurd_workers_and_vnodes_are_errors_naming_the_limit() {
    let tmp = TempDir::new().unwrap();
    let file = write(tmp.path(), "e.toml", &tiny(TWO_STRATEGIES));
    lbsim()
        .args(["check", "--set", "backends.web.workers=10000000"])
        .arg(&file)
        .assert()
        .failure()
        .stderr(predicate::str::contains("no larger than 10000"));
    let hashing = write(
        tmp.path(),
        "h.toml",
        &tiny("[balancer]\nstrategies = [{ name = \"consistent_hash\", vnodes = 1000000000 }]\n"),
    );
    lbsim()
        .arg("check")
        .arg(&hashing)
        .assert()
        .failure()
        .stderr(predicate::str::contains("vnodes"))
        .stderr(predicate::str::contains("at most 16777216"));
}

// ---- lost or mixed results -----------------------------------------------------------

const POWER_OF_D_AXIS: &str = "[balancer]\nstrategies = [{ name = \"power_of_d\", d = 2 }, \"random\"]\n\n[sweep]\n\"balancer.strategies.0.d\" = [1, 2, 3]\n";

#[test]
fn a_strategy_parameter_as_an_axis_resumes_and_merges() {
    let tmp = TempDir::new().unwrap();
    let file = write(tmp.path(), "d.toml", &tiny(POWER_OF_D_AXIS));
    let whole = tmp.path().join("whole");
    lbsim().args(["sweep", "--quiet", "--out"]).arg(&whole).arg(&file).assert().success();
    let resumed = tmp.path().join("resumed");
    lbsim()
        .args(["sweep", "--quiet", "--out"])
        .arg(&resumed)
        .arg(&file)
        .env("LBSIM_STOP_AFTER", "2")
        .assert()
        .failure()
        .stderr(predicate::str::contains("--resume"));
    lbsim().args(["sweep", "--quiet", "--resume", "--out"]).arg(&resumed).arg(&file).assert().success();
    let csv = |d: &Path| fs::read_to_string(d.join("results.csv")).unwrap();
    assert_eq!(csv(&resumed), csv(&whole));
    assert!(csv(&whole).contains("power_of_d(d=3)"));
    let shards: Vec<PathBuf> = (1..=2).map(|k| tmp.path().join(format!("shard-{k}"))).collect();
    for (k, dir) in shards.iter().enumerate() {
        lbsim()
            .args(["sweep", "--quiet", "--shard", &format!("{}/2", k + 1), "--out"])
            .arg(dir)
            .arg(&file)
            .assert()
            .success();
    }
    let merged = tmp.path().join("merged");
    lbsim().args(["merge", "--quiet", "--out"]).arg(&merged).args(&shards).assert().success();
    assert_eq!(csv(&merged), csv(&whole));
}

#[test]
fn results_without_a_journal_are_never_overwritten_without_force() {
    let tmp = TempDir::new().unwrap();
    let file = write(tmp.path(), "e.toml", &tiny(&format!("{TWO_STRATEGIES}[sweep]\nload = [0.5]\n")));
    let out = tmp.path().join("out");
    lbsim().args(["sweep", "--quiet", "--out"]).arg(&out).arg(&file).assert().success();
    fs::remove_file(out.join("journal.jsonl")).unwrap();
    let before = fs::read(out.join("results.csv")).unwrap();
    lbsim()
        .args(["sweep", "--quiet", "--resume", "--out"])
        .arg(&out)
        .arg(&file)
        .assert()
        .failure()
        .stderr(predicate::str::contains("no journal.jsonl, so there is nothing to resume"));
    // A folder with only results.csv and report.md.
    fs::remove_file(out.join("results.json")).unwrap();
    fs::remove_file(out.join("report.html")).unwrap();
    fs::remove_dir_all(out.join("charts")).unwrap();
    lbsim()
        .args(["sweep", "--quiet", "--out"])
        .arg(&out)
        .arg(&file)
        .assert()
        .failure()
        .stderr(predicate::str::contains("already holds sweep results (results.csv, report.md)"));
    assert_eq!(fs::read(out.join("results.csv")).unwrap(), before);
    lbsim().args(["sweep", "--quiet", "--force", "--out"]).arg(&out).arg(&file).assert().success();
}

#[test]
fn a_second_sweep_into_a_folder_in_use_fails_at_once_naming_the_first() {
    let tmp = TempDir::new().unwrap();
    let file = write(tmp.path(), "e.toml", &tiny(&format!("{TWO_STRATEGIES}[sweep]\nload = [0.5]\n")));
    let out = tmp.path().join("out");
    // The first writer: this process, as a sweep would hold it.
    let first = lbsim::sweep::lock::acquire(&out, &["lbsim".into(), "sweep".into(), "first.toml".into()]).unwrap();
    for resume in [false, true] {
        let mut cmd = lbsim();
        cmd.args(["sweep", "--quiet", "--out"]).arg(&out).arg(&file);
        if resume {
            cmd.arg("--resume");
        }
        cmd.assert().failure().stderr(predicate::str::contains("is in use by `lbsim sweep first.toml`"));
    }
    lbsim().args(["merge", "--quiet", "--out"]).arg(&out).arg(tmp.path()).assert().failure();
    assert!(!out.join("journal.jsonl").exists(), "nothing written by the refused sweeps");
    drop(first);
    lbsim().args(["sweep", "--quiet", "--out"]).arg(&out).arg(&file).assert().success();
}

/// A trace experiment over `trace.csv` in `dir`, swept over one axis.
fn trace_experiment(dir: &Path, comment: &str) -> PathBuf {
    let text = format!(
        r#"# {comment}
[experiment]
name = "replay"
seed = 5

[run]
requests = 3000
warmup = 100

[arrivals]
process = "trace"
file = "trace.csv"

[[backends]]
name = "app"
count = 2
workers = 2

[balancer]
strategies = ["round_robin", "jsq"]

[sweep]
"backends.app.count" = [2, 3, 4]
"#
    );
    write(dir, "replay.toml", &text)
}

fn trace_rows(size: f64) -> String {
    let mut text = String::from("time,size\n");
    for i in 0..500 {
        text.push_str(&format!("{},{size}\n", i as f64 * 0.01));
    }
    text
}

#[test]
fn resume_refuses_an_edited_trace_but_accepts_an_edited_comment() {
    let tmp = TempDir::new().unwrap();
    write(tmp.path(), "trace.csv", &trace_rows(0.005));
    let file = trace_experiment(tmp.path(), "first wording");
    let out = tmp.path().join("out");
    let interrupted = || {
        lbsim()
            .args(["sweep", "--quiet", "--out"])
            .arg(&out)
            .arg(&file)
            .env("LBSIM_STOP_AFTER", "2")
            .assert()
            .failure()
            .stderr(predicate::str::contains("interrupted"));
    };
    interrupted();
    // Same trace, a comment and the formatting of the experiment changed: same experiment.
    let text = fs::read_to_string(&file).unwrap().replace("first wording", "second wording").replace(" = ", "=");
    fs::write(&file, text).unwrap();
    lbsim()
        .args(["sweep", "--quiet", "--resume", "--out"])
        .arg(&out)
        .arg(&file)
        .env("LBSIM_STOP_AFTER", "1")
        .assert()
        .failure()
        .stderr(predicate::str::contains("interrupted"));
    // The trace's sizes changed: its runs would not be this sweep's.
    write(tmp.path(), "trace.csv", &trace_rows(0.009));
    lbsim()
        .args(["sweep", "--quiet", "--resume", "--out"])
        .arg(&out)
        .arg(&file)
        .assert()
        .failure()
        .stderr(predicate::str::contains("different experiment"))
        .stderr(predicate::str::contains("a file it reads"));
}

// ---- wrong numbers with exit 0 -------------------------------------------------------

/// `lbsim run FILE --json` with `sets`, as the JSON results of its strategies.
fn run_json(file: &Path, sets: &[&str]) -> Vec<serde_json::Value> {
    let mut cmd = lbsim();
    cmd.arg("run").arg(file).arg("--json");
    for set in sets {
        cmd.args(["--set", set]);
    }
    let out = cmd.assert().success().get_output().stdout.clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("JSON");
    doc["results"].as_array().expect("results").clone()
}

fn warnings_of(result: &serde_json::Value) -> Vec<String> {
    result["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap().to_string()).collect()
}

#[test]
fn requests_that_bring_far_less_work_than_offered_are_flagged() {
    // Pareto α = 1.01 over 4000 requests: the rare giants that carry the mean never come, so
    // the run works at a fraction of the load it is labelled with (utilisation ≈ 10 % at
    // "load 0.7"). On/off arrivals whose periods (1000 s on, 1000 s off) outlast the run
    // (about 10 s): it sees one state's rate, 1.3 or 0.7 times the mean. (Gamma arrivals with
    // cv 1000 once served here; they are refused now, their gaps underflowing to 0 s.)
    let tmp = TempDir::new().unwrap();
    let file = write(tmp.path(), "e.toml", &tiny(TWO_STRATEGIES));
    for sets in [
        &["service.distribution=pareto", "service.alpha=1.01"][..],
        &["arrivals.process=on_off", "arrivals.peak=1.3", "arrivals.mean_on=1000s", "arrivals.mean_off=1000s"][..],
    ] {
        for r in run_json(&file, sets) {
            assert!(warnings_of(&r).contains(&"unrepresentative_work".to_string()), "{sets:?}: {r}");
            assert!(!warnings_of(&r).contains(&"implausible".to_string()), "{sets:?}: {r}");
        }
    }
    // The plain model brings its offered work: no such warning.
    for r in run_json(&file, &[]) {
        assert!(!warnings_of(&r).contains(&"unrepresentative_work".to_string()), "{r}");
    }
}

#[test]
fn sizes_of_infinite_variance_are_flagged_whatever_the_run_length() {
    // Pareto with α ≤ 2 has E[S²] = ∞: the mean response's batch means have no finite
    // variance to estimate (and one worker fed at random has an infinite mean wait), so no
    // length of run makes its interval honest. α = 2.5 and a bounded Pareto have finite
    // moments, however heavy.
    let tmp = TempDir::new().unwrap();
    let file = write(tmp.path(), "e.toml", &tiny(TWO_STRATEGIES));
    let flagged = |sets: &[&str]| {
        let results = run_json(&file, sets);
        let each: Vec<bool> =
            results.iter().map(|r| warnings_of(r).contains(&"infinite_variance".to_string())).collect();
        assert!(each.iter().all(|&f| f == each[0]), "{sets:?}: {results:?}");
        each[0]
    };
    for alpha in ["1.5", "2"] {
        assert!(flagged(&["service.distribution=pareto", &format!("service.alpha={alpha}")]), "α = {alpha}");
    }
    assert!(!flagged(&["service.distribution=pareto", "service.alpha=2.5"]));
    assert!(!flagged(&[]));
    let bounded = tiny(TWO_STRATEGIES).replace(
        "distribution = \"exponential\"\nmean = \"10ms\"",
        "distribution = \"bounded_pareto\"\nalpha = 1.1\nmin = \"1ms\"\nmax = \"1000s\"",
    );
    let bounded = write(tmp.path(), "bounded.toml", &bounded);
    for r in run_json(&bounded, &[]) {
        assert!(!warnings_of(&r).contains(&"infinite_variance".to_string()), "{r}");
    }
    // `lbsim run` says it in words under its table.
    lbsim()
        .arg("run")
        .arg(&file)
        .args(["--set", "service.distribution=pareto", "--set", "service.alpha=1.5"])
        .assert()
        .success()
        .stdout(predicate::str::contains("infinite variance (E[S²] = ∞"));
}

#[test]
fn a_trace_whose_measured_requests_share_one_instant_prints_no_infinity() {
    let tmp = TempDir::new().unwrap();
    // The warm-up's 50 requests are spread out; every measured one arrives at t = 5 s.
    let mut rows = String::from("time,size\n");
    for i in 0..50 {
        rows.push_str(&format!("{},0.01\n", f64::from(i) * 0.01));
    }
    for _ in 0..550 {
        rows.push_str("5,0.01\n");
    }
    write(tmp.path(), "trace.csv", &rows);
    let text = tiny(TWO_STRATEGIES)
        .replace("load = 0.7", "process = \"trace\"\nfile = \"trace.csv\"")
        .replace("[service]\ndistribution = \"exponential\"\nmean = \"10ms\"\n", "")
        .replace("requests = 4000", "requests = 500")
        .replace("warmup = 400", "warmup = 50");
    let file = write(tmp.path(), "e.toml", &text);
    for r in run_json(&file, &[]) {
        // Rates and time averages over a window of no length are undefined (null), never ±inf.
        assert!(r["throughput"].is_null() && r["utilisation"].is_null(), "{r}");
        assert!(warnings_of(&r).contains(&"unrepresentative_work".to_string()), "{r}");
    }
    // Nor NaN in the table: those figures are shown as "–", and the warning says why.
    lbsim()
        .arg("run")
        .arg(&file)
        .assert()
        .success()
        .stdout(predicate::str::contains("inf").not())
        .stdout(predicate::str::contains("NaN").not())
        .stdout(predicate::str::contains("every measured request arrived at one instant"));
    // Nor in results.csv: the per-backend utilisation range is empty there, not inf/-inf.
    let out = tmp.path().join("out");
    lbsim().arg("sweep").arg(&file).arg("--out").arg(&out).arg("--quiet").assert().success();
    let csv = fs::read_to_string(out.join("results.csv")).unwrap();
    assert!(!csv.contains("inf"), "{csv}");
    // Nor NaN in the report's tables ("–" there too).
    for name in ["report.md", "report.html"] {
        let text = fs::read_to_string(out.join(name)).unwrap();
        assert!(!text.contains("NaN"), "{name}: {text}");
    }
}

#[test]
fn percentiles_follow_the_speeds_present_instead_of_a_fixed_ceiling() {
    // Workers 10¹⁰ times slower than nominal: responses of about 10⁸ s once all hit the
    // histogram's ceiling of 10⁶ mean requests (printed as 9999 s). (10¹² times slower, a
    // mean request of 10¹⁰ s, is now refused: longer than lbsim simulates.)
    let tmp = TempDir::new().unwrap();
    let file = write(tmp.path(), "e.toml", &tiny(TWO_STRATEGIES));
    for r in run_json(&file, &["backends.web.speed=1e-10"]) {
        let (p50, p99, mean) =
            (r["p50"].as_f64().unwrap(), r["p99"].as_f64().unwrap(), r["mean_response"].as_f64().unwrap());
        assert!(p50 < mean * 1.5 && p99 > mean && p99 < 1e13, "p50 {p50}, p99 {p99}, mean {mean}");
        assert!(!warnings_of(&r).contains(&"beyond_histogram".to_string()), "{r}");
    }
    // Heterogeneous speeds 1 and 10⁻⁶: the slow backend's responses are resolved as well.
    let text = tiny(TWO_STRATEGIES).replace(
        "[[backends]]\nname = \"web\"",
        "[[backends]]\nname = \"slow\"\nspeed = 1e-6\n\n[[backends]]\nname = \"web\"",
    );
    let file = write(tmp.path(), "h.toml", &text);
    for r in run_json(&file, &["run.requests=20000", "arrivals.load=0.3"]) {
        assert!(!warnings_of(&r).contains(&"beyond_histogram".to_string()), "{r}");
    }
}

#[test]
fn distributions_no_run_can_sample_are_refused() {
    let tmp = TempDir::new().unwrap();
    let weibull = |shape: &str, scale: &str| {
        tiny(TWO_STRATEGIES).replace(
            "distribution = \"exponential\"\nmean = \"10ms\"",
            &format!("distribution = \"weibull\"\nshape = {shape}\nscale = {scale}"),
        )
    };
    // Shape 0.01: a cv of about 10⁷⁹, p50 = p99 > mean in any run.
    let file = write(tmp.path(), "a.toml", &weibull("0.01", "1e-8"));
    lbsim().arg("check").arg(&file).assert().failure().stderr(predicate::str::contains(
        "a.toml:14:9: service.shape: weibull: shape must be between 0.05 and 1000 (got 0.01)",
    ));
    // Shape 0.05 with scale 10⁻⁸ s: a mean of 2.4·10¹⁰ s.
    let file = write(tmp.path(), "b.toml", &weibull("0.05", "1e-8"));
    lbsim()
        .arg("check")
        .arg(&file)
        .assert()
        .failure()
        .stderr(predicate::str::contains("mean request is 2.43290200817664e10 s, longer than lbsim simulates"));
}

// ---- validation and messages ---------------------------------------------------------

#[test]
fn check_validates_the_sweep_and_report_sections() {
    let tmp = TempDir::new().unwrap();
    let bad_slo = write(
        tmp.path(),
        "slo.toml",
        &tiny(&format!("{TWO_STRATEGIES}[sweep]\nload = [0.5, 0.8]\n\n[report]\nslo = \"p99 <= 250 parsecs\"\n")),
    );
    lbsim()
        .arg("check")
        .arg(&bad_slo)
        .assert()
        .failure()
        .stderr(predicate::str::contains("slo.toml:27:7: report.slo"))
        .stderr(predicate::str::contains("unknown time unit"));
    let bad_axis =
        write(tmp.path(), "axis.toml", &tiny(&format!("{TWO_STRATEGIES}[sweep]\n\"arrivals.lod\" = [0.5]\n")));
    lbsim().arg("check").arg(&bad_axis).assert().failure().stderr(predicate::str::contains("did you mean \"load\""));
    let bad_point = write(
        tmp.path(),
        "point.toml",
        &tiny(&format!("{TWO_STRATEGIES}[sweep]\n\"backends.web.workers\" = [2, 0]\n")),
    );
    lbsim().arg("check").arg(&bad_point).assert().failure().stderr(predicate::str::contains("sweep point 1"));
    let unswept = write(
        tmp.path(),
        "unswept.toml",
        &tiny(&format!("{TWO_STRATEGIES}[sweep]\nload = [0.5, 0.8]\n\n[report]\nload = 0.7\n")),
    );
    lbsim()
        .arg("check")
        .arg(&unswept)
        .assert()
        .failure()
        .stderr(predicate::str::contains("report.load: load 0.7 was not swept; the swept loads are 0.5, 0.8"));
    let bad_metric =
        write(tmp.path(), "metric.toml", &tiny(&format!("{TWO_STRATEGIES}[report]\nmetrics = [\"p99\", \"p95.5\"]\n")));
    lbsim()
        .arg("check")
        .arg(&bad_metric)
        .assert()
        .failure()
        .stderr(predicate::str::contains("unknown metric \"p95.5\""));
    let good = write(
        tmp.path(),
        "good.toml",
        &tiny(&format!("{TWO_STRATEGIES}[sweep]\nload = [0.5, 0.8]\n\n[report]\nslo = \"p99 <= 50ms\"\nload = 0.8\n")),
    );
    lbsim()
        .arg("check")
        .arg(&good)
        .assert()
        .success()
        .stdout(predicate::str::contains("sweep: 2 points, 4 runs, about"));
}

#[test]
fn compound_slos_and_bad_report_loads_get_clear_messages() {
    let tmp = TempDir::new().unwrap();
    let file = write(tmp.path(), "e.toml", &tiny(&format!("{TWO_STRATEGIES}[sweep]\nload = [0.5, 0.8]\n")));
    let out = tmp.path().join("out");
    lbsim().args(["sweep", "--quiet", "--out"]).arg(&out).arg(&file).assert().success();
    lbsim()
        .arg("report")
        .arg(&out)
        .args(["--slo", "p99 <= 250ms and p50 <= 10ms"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("one objective per SLO"));
    for (load, expected) in [
        ("nan", "must be a positive number"),
        ("-1", "must be a positive number"),
        ("0.7", "load 0.7 was not swept; the swept loads are 0.5, 0.8"),
    ] {
        lbsim()
            .arg("report")
            .arg(&out)
            .arg(format!("--load={load}"))
            .assert()
            .failure()
            .stderr(predicate::str::contains(expected));
    }
    lbsim().arg("report").arg(&out).args(["--load", "0.8"]).assert().success();
}

#[test]
fn a_trace_with_a_byte_order_mark_reads_as_without() {
    let tmp = TempDir::new().unwrap();
    let mut rows = String::from("\u{feff}");
    rows.push_str(&trace_rows(0.005));
    write(tmp.path(), "trace.csv", &rows);
    let file = trace_experiment(tmp.path(), "bom");
    lbsim().arg("check").arg(&file).assert().success();
}

// ---- panics on input ------------------------------------------------------------------

#[test]
fn loadgen_refuses_a_timeout_no_duration_can_hold() {
    let tmp = TempDir::new().unwrap();
    let trace = write(tmp.path(), "t.csv", "time,size\n0,0.01\n0.1,0.01\n0.2,0.01\n");
    let out = tmp.path().join("r.csv");
    for bad in ["nan", "inf", "1e300", "-1", "0"] {
        lbsim()
            .arg("loadgen")
            .arg(&trace)
            .args(["--url", "http://127.0.0.1:1/", "--requests", "3", "--out"])
            .arg(&out)
            .arg(format!("--timeout={bad}"))
            .assert()
            .code(1)
            .stderr(predicate::str::contains("--timeout must be a number of seconds from 1e-9 (1 ns) to 1e9"));
    }
    assert!(!out.exists());
}

// ---- data loss -----------------------------------------------------------------------

/// Each output is checked against each input by its real path, so `./e.toml` or a path
/// through `..` is caught too, and the input is left as it was.
#[test]
fn an_output_that_is_one_of_the_inputs_is_refused_before_anything_is_written() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let experiment = write(dir, "e.toml", &tiny(TWO_STRATEGIES));
    let refused = |args: &[&str], out: &Path, message: &str| {
        let before = fs::read(out).unwrap();
        lbsim()
            .args(args)
            .arg("--out")
            .arg(out)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(message).and(predicate::str::contains("give another --out")));
        assert_eq!(fs::read(out).unwrap(), before, "{args:?} changed {}", out.display());
    };
    let e = experiment.to_str().unwrap();
    fs::create_dir(dir.join("sub")).unwrap();
    refused(&["trace", e], &dir.join("sub/../e.toml"), "is the experiment file");
    // A trace the experiment replays is an input too.
    write(dir, "trace.csv", &trace_rows(0.005));
    let replay = trace_experiment(dir, "replays trace.csv");
    refused(&["trace", replay.to_str().unwrap()], &dir.join("./trace.csv"), "is the experiment's trace");
    let trace = dir.join("trace.csv");
    let t = trace.to_str().unwrap();
    refused(&["loadgen", t, "--url", "http://127.0.0.1:1/", "--requests", "3"], &trace, "is the trace");
    // fit writes four files beside its experiment; none may be the log.
    let log = write(dir, "acc.log", "1795564800.100 0.020 0.019 200 1 a\n1795564800.300 0.020 0.019 200 2 a\n");
    let l = log.to_str().unwrap();
    refused(&["fit", l, "--format", "nginx", "--workers", "1"], &log, "is the log");
    let log = write(dir, "x-trace.csv", &fs::read_to_string(&log).unwrap());
    lbsim()
        .args(["fit", "--format", "nginx", "--workers", "1", "--out"])
        .arg(dir.join("x.toml"))
        .arg(&log)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("x-trace.csv is the log"));
    assert!(!dir.join("x.toml").exists());
}

#[test]
fn fit_overwrites_an_experiment_already_there_only_with_force() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let log = write(dir, "acc.log", "1795564800.100 0.020 0.019 200 1 a\n1795564800.300 0.020 0.019 200 2 a\n");
    // The default output is acc.toml in the working folder.
    let by_hand = write(dir, "acc.toml", "# tuned by hand\n");
    let trace = write(dir, "acc-trace.csv", "time,size\n0,1\n1,1\n");
    let fit = || {
        let mut cmd = lbsim();
        cmd.current_dir(dir).args(["fit", "acc.log", "--format", "nginx", "--workers", "2"]);
        cmd
    };
    fit().assert().code(1).stderr(predicate::str::contains(
        "already holds acc.toml, acc-trace.csv; use --force to overwrite them, or another --out",
    ));
    assert_eq!(fs::read_to_string(&by_hand).unwrap(), "# tuned by hand\n");
    assert_eq!(fs::read_to_string(&trace).unwrap(), "time,size\n0,1\n1,1\n");
    assert!(!dir.join("acc-service.csv").exists());
    fit().arg("--force").assert().success();
    assert!(fs::read_to_string(&by_hand).unwrap().contains("[arrivals]"));
    assert!(log.exists());
}

// ---- unbounded work ------------------------------------------------------------------

/// The rows are streamed to the file (memory stays flat however many), so the limit is the
/// disk: a count whose trace cannot fit is refused at once with the estimate, instead of
/// growing memory at some 190 MB/s as it did.
#[test]
fn a_trace_larger_than_the_disk_is_refused_at_once() {
    let tmp = TempDir::new().unwrap();
    let file = write(tmp.path(), "e.toml", &tiny(TWO_STRATEGIES));
    let out = tmp.path().join("x.csv");
    lbsim()
        .timeout(Duration::from_secs(30))
        .arg("trace")
        .arg(&file)
        .args(["--requests", "99999999999999", "--out"])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("99999999999999 requests make a trace of about 4"))
        .stderr(predicate::str::contains("ask for fewer with --requests"));
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1, "nothing written beside e.toml");
}
