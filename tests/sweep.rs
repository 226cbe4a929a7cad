//! `lbsim sweep` and `lbsim merge`, driven through the real binary: reproducibility across job
//! counts, shard splits and interruptions, refusal to overwrite, saturated points, and
//! precise errors for bad `[sweep]` sections. Experiments are tiny (milliseconds per run).

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use tempfile::TempDir;

const SMALL: &str = "tests/data/sweep_small.toml";

fn lbsim() -> Command {
    let mut cmd = Command::cargo_bin("lbsim").expect("the lbsim binary");
    cmd.env_remove("LBSIM_STOP_AFTER").env_remove("SLURM_ARRAY_TASK_ID").env_remove("JOB_COMPLETION_INDEX");
    cmd
}

/// `lbsim sweep FILE --out DIR --quiet EXTRA…`, expected to succeed.
fn sweep(file: &Path, out: &Path, extra: &[&str]) {
    lbsim().arg("sweep").arg(file).arg("--out").arg(out).arg("--quiet").args(extra).assert().success();
}

fn csv(dir: &Path) -> String {
    fs::read_to_string(dir.join("results.csv")).expect("results.csv")
}

/// Writes an experiment file into `dir` and returns its path.
fn write_file(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    fs::write(&path, text).unwrap();
    path
}

/// The small sweep with its `[sweep]` section replaced by `sweep` (from line 28 on; the [report] section is dropped).
fn small_with_sweep(sweep: &str) -> String {
    let text = fs::read_to_string(SMALL).unwrap();
    let head = text.split("[sweep]").next().unwrap();
    format!("{head}[sweep]\n{sweep}\n")
}

#[test]
fn results_are_byte_identical_with_one_job_and_with_two() {
    let tmp = TempDir::new().unwrap();
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    sweep(SMALL.as_ref(), &one, &["--jobs", "1"]);
    sweep(SMALL.as_ref(), &two, &["--jobs", "2"]);
    assert_eq!(csv(&one), csv(&two));
    let rows = csv(&one).lines().count();
    assert_eq!(rows, 1 + 2 * 3, "a header and one row per point × strategy");
    assert!(csv(&one).starts_with("strategy,arrivals.load,load,arrival_rate,replications,requests,mean_response,"));
}

#[test]
fn three_shards_merged_equal_the_whole_sweep_byte_for_byte() {
    let tmp = TempDir::new().unwrap();
    let whole = tmp.path().join("whole");
    sweep(SMALL.as_ref(), &whole, &[]);
    let shards: Vec<PathBuf> = (1..=3).map(|k| tmp.path().join(format!("shard-{k}"))).collect();
    for (k, dir) in shards.iter().enumerate() {
        sweep(SMALL.as_ref(), dir, &["--shard", &format!("{}/3", k + 1)]);
    }
    let merged = tmp.path().join("merged");
    lbsim().arg("merge").args(&shards).arg("--out").arg(&merged).assert().success();
    assert_eq!(csv(&merged), csv(&whole));
}

#[test]
fn shard_auto_reads_a_slurm_array_position_from_the_environment() {
    let tmp = TempDir::new().unwrap();
    let whole = tmp.path().join("whole");
    sweep(SMALL.as_ref(), &whole, &[]);
    let mut shards = Vec::new();
    for id in 0..2 {
        let dir = tmp.path().join(format!("task-{id}"));
        lbsim()
            .args(["sweep", SMALL, "--quiet", "--shard", "auto", "--out"])
            .arg(&dir)
            .env("SLURM_ARRAY_TASK_ID", id.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", "2")
            .env("SLURM_ARRAY_TASK_MIN", "0")
            .assert()
            .success();
        shards.push(dir);
    }
    let merged = tmp.path().join("merged");
    lbsim().arg("merge").args(&shards).arg("--out").arg(&merged).assert().success();
    assert_eq!(csv(&merged), csv(&whole));
}

#[test]
fn shard_auto_without_a_scheduler_says_which_variables_it_needs() {
    let tmp = TempDir::new().unwrap();
    lbsim()
        .args(["sweep", SMALL, "--shard", "auto", "--out"])
        .arg(tmp.path().join("x"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("SLURM_ARRAY_TASK_ID").and(predicate::str::contains("JOB_COMPLETION_INDEX")));
}

#[test]
fn a_sweep_interrupted_after_some_runs_and_resumed_equals_an_uninterrupted_one() {
    let tmp = TempDir::new().unwrap();
    let whole = tmp.path().join("whole");
    sweep(SMALL.as_ref(), &whole, &[]);
    let cut = tmp.path().join("cut");
    // The hook stops the sweep after 5 runs exactly as Ctrl-C does.
    lbsim()
        .args(["sweep", SMALL, "--jobs", "1", "--quiet", "--out"])
        .arg(&cut)
        .env("LBSIM_STOP_AFTER", "5")
        .assert()
        .failure()
        .stderr(predicate::str::contains("--resume"));
    let journaled = fs::read_to_string(cut.join("journal.jsonl")).unwrap().lines().count();
    assert_eq!(journaled, 1 + 5, "the header and the five finished runs");
    sweep(SMALL.as_ref(), &cut, &["--resume"]);
    assert_eq!(csv(&cut), csv(&whole));
}

#[test]
fn a_journal_cut_mid_line_by_a_kill_resumes_to_the_same_results() {
    let tmp = TempDir::new().unwrap();
    let whole = tmp.path().join("whole");
    sweep(SMALL.as_ref(), &whole, &[]);
    let cut = tmp.path().join("cut");
    sweep(SMALL.as_ref(), &cut, &[]);
    // Keep the header, three runs and half of the fourth, as a power cut could.
    let text = fs::read_to_string(cut.join("journal.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let torn = format!("{}\n{}", lines[..4].join("\n"), &lines[4][..lines[4].len() / 2]);
    fs::write(cut.join("journal.jsonl"), torn).unwrap();
    fs::remove_file(cut.join("results.csv")).unwrap();
    sweep(SMALL.as_ref(), &cut, &["--resume"]);
    assert_eq!(csv(&cut), csv(&whole));
    let journal = fs::read_to_string(cut.join("journal.jsonl")).unwrap();
    assert_eq!(journal.lines().count(), 1 + 12, "the torn line was replaced, not kept");
}

#[test]
fn resuming_with_a_changed_experiment_is_refused() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("out");
    sweep(SMALL.as_ref(), &out, &[]);
    lbsim()
        .args(["sweep", SMALL, "--resume", "--set", "run.requests=4000", "--out"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicate::str::contains("different experiment"));
}

#[test]
fn an_existing_results_folder_is_not_overwritten_without_force() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("out");
    sweep(SMALL.as_ref(), &out, &[]);
    let before = csv(&out);
    lbsim()
        .args(["sweep", SMALL, "--quiet", "--out"])
        .arg(&out)
        .assert()
        .failure()
        .stderr(predicate::str::contains("already holds sweep results").and(predicate::str::contains("--force")));
    assert_eq!(csv(&out), before);
    sweep(SMALL.as_ref(), &out, &["--force", "--set", "run.requests=2000"]);
    assert_ne!(csv(&out), before, "--force replaced the results");
}

#[test]
fn a_saturated_point_finishes_and_is_marked_saturated() {
    let tmp = TempDir::new().unwrap();
    let text = small_with_sweep("load = [0.5, 1.3]").replace("workers = 1", "workers = 1\nbacklog = 50");
    let file = write_file(&tmp, "saturated.toml", &text);
    let out = tmp.path().join("out");
    sweep(&file, &out, &[]);
    let table = csv(&out);
    let header: Vec<&str> = table.lines().next().unwrap().split(',').collect();
    let saturated = header.iter().position(|c| *c == "saturated").unwrap();
    let load = header.iter().position(|c| *c == "load").unwrap();
    let rows: Vec<Vec<&str>> = table.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 6);
    for row in rows {
        let expected = if row[load] == "1.3" { "true" } else { "false" };
        assert_eq!(row[saturated], expected, "{row:?}");
    }
}

/// Runs a sweep of the small file with `sweep` as its `[sweep]` section; returns stderr.
fn sweep_error(sweep: &str) -> String {
    let tmp = TempDir::new().unwrap();
    let file = write_file(&tmp, "bad.toml", &small_with_sweep(sweep));
    let output = lbsim().arg("sweep").arg(&file).arg("--out").arg(tmp.path().join("out")).output().unwrap();
    assert!(!output.status.success());
    assert!(!tmp.path().join("out").exists(), "nothing is written for a bad file");
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn an_unknown_sweep_key_is_named_with_its_line_and_a_suggestion() {
    let err = sweep_error("load = [0.5]\n\"backends.web.cuont\" = [1, 2]");
    assert!(err.starts_with("Error: "), "{err}");
    assert!(err.contains("bad.toml:29:1: sweep.backends.web.cuont:"), "{err}");
    assert!(err.contains("count"), "did-you-mean: {err}");
}

#[test]
fn a_non_numeric_sweep_target_is_refused() {
    let err = sweep_error("\"experiment.name\" = [1, 2]");
    assert!(err.contains("bad.toml:28:1: sweep.experiment.name:"), "{err}");
    assert!(err.contains("numeric"), "{err}");
}

#[test]
fn an_empty_sweep_axis_is_refused() {
    let err = sweep_error("load = []");
    assert!(err.contains("bad.toml:28:8: sweep.load:"), "{err}");
    assert!(err.contains("at least one value"), "{err}");
}

#[test]
fn a_sweep_value_invalid_for_its_key_is_reported_at_its_line() {
    // Once reported as "bad.toml: sweep point 1 (…): sweep: backends.web.count: …", without
    // the line of the value.
    let err = sweep_error("load = [0.5, 0.8]\n\"backends.web.count\" = [2,\n  0.5]");
    assert!(
        err.contains(
            "bad.toml:30:3: sweep.backends.web.count: backends.web.count = 0.5 (value 2 of 2 on this axis; sweep \
             point 1): backends.web.count: expected a positive whole number, found 0.5"
        ),
        "{err}"
    );
    let err = sweep_error("load = [0.5, -3]");
    assert!(err.contains("bad.toml:28:14: sweep.load: arrivals.load = -3 (value 2 of 2 on this axis"), "{err}");
    assert!(err.contains("expected a positive offered load (e.g. 0.8), found -3"), "{err}");
    // A range's values are computed: the range itself is pointed at.
    let err = sweep_error("\"backends.web.count\" = { from = 1, to = 2, steps = 3 }");
    assert!(err.contains("bad.toml:28:24: sweep.backends.web.count: backends.web.count = 1.5 (value 2 of 3"), "{err}");
}

#[test]
fn a_sweep_value_that_is_not_a_finite_number_is_reported_with_the_file_and_line() {
    // Once "sweep: arrivals.load: expected a finite number, found NaN", with no file or line.
    for (value, column) in [("nan", 14), ("inf", 14), ("-inf", 14)] {
        let err = sweep_error(&format!("load = [0.5, {value}]"));
        assert!(
            err.contains(&format!(
                "bad.toml:28:{column}: sweep.load: value 2 of the list: expected a finite number, found the number"
            )),
            "{value}: {err}"
        );
    }
    let err = sweep_error("load = [0.5, \"high\"]");
    assert!(
        err.contains("bad.toml:28:14: sweep.load: value 2 of the list: expected a number, found the text \"high\""),
        "{err}"
    );
}

#[test]
fn a_bad_sweep_range_names_the_field() {
    let err = sweep_error("load = { from = 0.3, to = 0.9, steps = 0 }");
    assert!(err.contains("bad.toml:28:") && err.contains("sweep.load:") && err.contains("steps"), "{err}");
    let err = sweep_error("load = { from = 0.3, too = 0.9, steps = 3 }");
    assert!(err.contains("\"too\"") && err.contains("did you mean \"to\""), "{err}");
    let err = sweep_error("load = \"high\"");
    assert!(err.contains("sweep.load:") && err.contains("a list of values"), "{err}");
}

#[test]
fn a_range_axis_expands_to_evenly_spaced_values() {
    let tmp = TempDir::new().unwrap();
    let text = small_with_sweep("load = { from = 0.3, to = 0.7, steps = 5 }\n\"backends.web.count\" = [2, 3]")
        .replace("replications = 2", "replications = 1");
    let file = write_file(&tmp, "range.toml", &text);
    let out = tmp.path().join("out");
    sweep(&file, &out, &[]);
    let table = csv(&out);
    assert!(table.starts_with("strategy,arrivals.load,backends.web.count,load,"), "{table}");
    let loads: Vec<&str> = table.lines().skip(1).step_by(3 * 2).map(|l| l.split(',').nth(1).unwrap()).collect();
    assert_eq!(loads, ["0.3", "0.4", "0.5", "0.6", "0.7"]);
}

#[test]
fn merge_lists_the_missing_runs_and_fails() {
    let tmp = TempDir::new().unwrap();
    let shards: Vec<PathBuf> = (1..=3).map(|k| tmp.path().join(format!("shard-{k}"))).collect();
    for (k, dir) in shards.iter().enumerate().take(2) {
        sweep(SMALL.as_ref(), dir, &["--shard", &format!("{}/3", k + 1)]);
    }
    lbsim().arg("merge").args(&shards[..2]).arg("--out").arg(tmp.path().join("merged")).assert().failure().stderr(
        predicate::str::contains("4 of 12 runs are missing")
            .and(predicate::str::contains("point 0 (arrivals.load = 0.5), round_robin, replication 0")),
    );
}

#[test]
fn merge_names_a_shard_folder_given_twice() {
    // Once reported as "missing runs": the folder's runs were counted once, the others absent.
    let tmp = TempDir::new().unwrap();
    let shard = tmp.path().join("sh1");
    sweep(SMALL.as_ref(), &shard, &["--shard", "1/2"]);
    let again = tmp.path().join(".").join("sh1");
    lbsim().arg("merge").args([&shard, &again]).arg("--out").arg(tmp.path().join("m")).assert().failure().stderr(
        predicate::str::contains(format!(
            "{} and {} are the same folder (folders 1 and 2 of the 2 given): give each shard's folder once",
            shard.display(),
            again.display()
        ))
        .and(predicate::str::contains("missing").not()),
    );
    lbsim().arg("merge").args([&shard, &shard]).arg("--out").arg(tmp.path().join("m")).assert().failure().stderr(
        predicate::str::contains(format!("{} is given twice (folders 1 and 2 of the 2 given): ", shard.display())),
    );
}

#[test]
fn merge_refuses_shards_of_different_experiments() {
    let tmp = TempDir::new().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    sweep(SMALL.as_ref(), &a, &["--shard", "1/2"]);
    sweep(SMALL.as_ref(), &b, &["--shard", "2/2", "--set", "experiment.seed=8"]);
    lbsim()
        .arg("merge")
        .args([&a, &b])
        .arg("--out")
        .arg(tmp.path().join("m"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("different experiments"));
}

#[test]
fn precision_rounds_give_the_same_results_whole_and_sharded() {
    let tmp = TempDir::new().unwrap();
    let text = fs::read_to_string(SMALL)
        .unwrap()
        .replace("replications = 2", "replications = 2\nprecision = 0.03\nmax_replications = 6");
    let file = write_file(&tmp, "precise.toml", &text);
    let whole = tmp.path().join("whole");
    sweep(&file, &whole, &[]);
    let shards: Vec<PathBuf> = (1..=2).map(|k| tmp.path().join(format!("s{k}"))).collect();
    for (k, dir) in shards.iter().enumerate() {
        sweep(&file, dir, &["--shard", &format!("{}/2", k + 1), "--jobs", "1"]);
    }
    let merged = tmp.path().join("merged");
    lbsim().arg("merge").args(&shards).arg("--out").arg(&merged).assert().success();
    assert_eq!(csv(&merged), csv(&whole));
    let table = csv(&whole);
    let replications: Vec<&str> = table.lines().skip(1).map(|l| l.split(',').nth(4).unwrap()).collect();
    assert!(replications.iter().any(|r| *r != "2"), "precision added replications somewhere: {replications:?}");
}

#[test]
fn results_json_holds_every_point_theory_the_report_options_and_time_series() {
    let tmp = TempDir::new().unwrap();
    let out = tmp.path().join("out");
    sweep(SMALL.as_ref(), &out, &[]);
    let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let results: lbsim::results::SweepResults = serde_json::from_value(json).unwrap();
    assert_eq!(results.points.len(), 2);
    assert_eq!(results.axes[0].path, "arrivals.load");
    assert_eq!(results.strategies, ["random", "round_robin", "jsq"]);
    assert!(results.points[1].theory[0].is_some(), "random over M/M/1 backends has a closed form");
    assert_eq!(results.report.load, Some(0.8));
    assert_eq!(results.report.slo.as_deref(), Some("p99 <= 100ms"));
    assert_eq!(results.timeseries.len(), 3);
    assert!(results.timeseries.iter().all(|t| t.point == 1 && t.series.len() == 2 && t.series[0].len() == 400));
}

#[test]
fn a_large_clusters_time_series_keep_the_first_backends_as_a_full_record_would() {
    // A fleet's results.json once held every backend's 400 samples (870 MB a strategy at
    // 10⁵ backends) for a chart that draws 8. Over 70 backends the sweep keeps the first
    // 64 and says how many there were; those 64 are the series sampled with all 70 kept
    // (jsq: a strategy that reads every backend's count, so a backend brought to a sample's
    // time differently would show).
    let tmp = TempDir::new().unwrap();
    let text = fs::read_to_string(SMALL)
        .unwrap()
        .replace("count = 2", "count = 70")
        .replace("requests = 3000", "requests = 20000")
        .replace("warmup = 300", "warmup = 2000");
    let file = write_file(&tmp, "fleet.toml", &text);
    let out = tmp.path().join("out");
    sweep(&file, &out, &[]);
    let json = fs::read_to_string(out.join("results.json")).unwrap();
    let results: lbsim::results::SweepResults = serde_json::from_str(&json).unwrap();
    let jsq = results.timeseries.iter().find(|t| t.strategy == "jsq").expect("jsq's series");
    assert_eq!((jsq.backends.len(), jsq.series.len(), jsq.cluster_backends), (64, 64, Some(70)));
    assert_eq!(jsq.cluster_size(), 70);
    assert_eq!(jsq.backends.last().map(String::as_str), Some("web-64"));

    // The point the series were taken at (load 0.8) as an experiment of its own.
    let at = text.replace("load = 0.5", "load = 0.8");
    let experiment = lbsim::config::ExperimentFile::parse(&file, &at).unwrap().resolve().unwrap();
    let model = &experiment.model;
    let seed = lbsim::seed::RunSeed::new(experiment.seed, jsq.point, 0);
    let spec = &experiment.strategies[2];
    let mut strategies = lbsim::runner::build_instances(model, &spec.name, &spec.params, seed).unwrap();
    let all = lbsim::engine::sample_in_system(model, &mut strategies, seed, 2000, jsq.interval, 400);
    assert_eq!(all.len(), 70);
    assert_eq!(jsq.series[..], all[..64]);
    // The chart's caption counts the cluster, not the backends kept.
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("Only the first 8 of 70 backends are drawn"), "{report}");
    // The utilisation chart ranks all 70 instead of drawing bars for the first 24.
    assert!(report.contains("the 70 backends ranked from the least to the most busy"), "{report}");
    let svg = fs::read_to_string(out.join("charts").join("utilisation.svg")).unwrap();
    assert!(svg.contains("ranked from least to most busy") && !svg.contains("web-24"), "the ranked form");
}

#[test]
fn a_closed_loop_sweep_over_users_is_reproducible_and_reports_its_knee() {
    let tmp = TempDir::new().unwrap();
    let file = write_file(
        &tmp,
        "users.toml",
        r#"[experiment]
name = "users"
[run]
requests = 20000
warmup = 2000
[clients]
mode = "closed"
users = 5
think = { distribution = "exponential", mean = "90ms" }
[service]
mean = "10ms"
[[backends]]
name = "web"
count = 2
[balancer]
strategies = ["random", "jsq"]
[sweep]
"clients.users" = [2, 20, 40]
"#,
    );
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    sweep(&file, &one, &["--jobs", "1"]);
    sweep(&file, &two, &["--jobs", "2"]);
    assert_eq!(csv(&one), csv(&two));
    let text = csv(&one);
    let header = text.lines().next().unwrap();
    assert!(header.starts_with("strategy,clients.users,load,arrival_rate,"), "{header}");
    // The closed-loop columns follow the common ones; nothing can fail here and there are no
    // explicit workers, so they end the file.
    assert!(
        header.ends_with(",warnings,throughput_ci_low,throughput_ci_high,users,think,cycle,cycle_ci_low,cycle_ci_high"),
        "{header}"
    );
    // The knee N* = (D + Z) · X_max = 0.1 s × 200/s = 20 users, stated in the report, whose
    // charts are drawn against users.
    let report = fs::read_to_string(one.join("report.md")).unwrap();
    assert!(report.contains("N* = (D + Z) × X_max = (10ms + 90ms) × 200/s ≈ 20 users"), "{report}");
    assert!(report.contains("Mean response time vs users"), "{report}");
    // random over identical one-worker backends is a product-form network: MVA's line.
    assert!(report.contains("closed network (MVA)"), "{report}");
}

#[test]
fn failure_and_worker_columns_appear_only_in_files_whose_models_have_them() {
    let tmp = TempDir::new().unwrap();
    let header = |name: &str, extra: &str| {
        let file = write_file(
            &tmp,
            &format!("{name}.toml"),
            &format!(
                r#"
[experiment]
name = "{name}"
seed = 3
[run]
requests = 4000
warmup = 400
[arrivals]
load = 0.5
[service]
distribution = "exponential"
mean = "10ms"
{extra}
[balancer]
strategies = ["random", "jsq"]
[sweep]
load = [0.5]
"#
            ),
        );
        let out = tmp.path().join(name);
        sweep(&file, &out, &[]);
        let text = csv(&out);
        let json = fs::read_to_string(out.join("results.json")).unwrap();
        (text.lines().next().unwrap().to_string(), json, text)
    };
    let plain = "[[backends]]\nname = \"web\"\ncount = 2\nworkers = 2";
    let (h, json, _) = header("plain", plain);
    assert!(h.ends_with(",saturated_fraction,warnings"), "a file without failures or workers: {h}");
    assert!(!json.contains("\"failures\"") && !json.contains("\"worker_utilisation\""), "{json}");

    // A gunicorn timeout can fail requests, and makes the backend a station.
    let (h, json, text) = header("station", &format!("{plain}\ncores = 1\ntimeout = \"30ms\""));
    assert!(
        h.ends_with(",warnings,failed_fraction,failed_worker_timeout,failed_backend_down,failed_queue_timeout,failed_no_backend,failed_client_timeout,failed_upstream_timeout,goodput,goodput_ci_low,goodput_ci_high,worker_utilisation_min,worker_utilisation_max"),
        "{h}"
    );
    assert!(json.contains("\"failures\"") && json.contains("\"worker_utilisation\""), "{json}");
    // Some requests of 10 ms on average run past 30 ms and are killed.
    let row = text.lines().nth(1).unwrap();
    let cols: Vec<&str> = h.split(',').collect();
    let cells: Vec<&str> = row.split(',').collect();
    let at = |name: &str| cells[cols.iter().position(|c| *c == name).unwrap()].parse::<f64>().unwrap();
    assert!(at("failed_worker_timeout") > 0.0, "{row}");
    assert!(at("goodput") < at("throughput"), "{row}");

    // Faults fail requests, on fast-path backends: failure columns, no worker columns.
    let (h, _, _) = header(
        "faults",
        &format!("{plain}\n[[faults]]\nkind = \"outage\"\nbackend = \"web-1\"\nat = \"1s\"\nfor = \"1s\""),
    );
    assert!(
        h.ends_with(",failed_client_timeout,failed_upstream_timeout,goodput,goodput_ci_low,goodput_ci_high"),
        "{h}"
    );
}

#[test]
fn an_slo_adds_p_over_slo_columns_at_the_end_and_only_then() {
    let tmp = TempDir::new().unwrap();
    let with = tmp.path().join("with");
    sweep(SMALL.as_ref(), &with, &[]);
    let text = csv(&with);
    let header = text.lines().next().unwrap();
    assert!(header.ends_with(",warnings,slo_limit,p_over_slo,p_over_slo_ci_low,p_over_slo_ci_high"), "{header}");
    for line in text.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[cells.len() - 4], "0.1", "{line}");
        let p: f64 = cells[cells.len() - 3].parse().unwrap();
        assert!((0.0..=1.0).contains(&p), "{line}");
    }
    let report = fs::read_to_string(with.join("report.md")).unwrap();
    assert!(report.contains("the share of responses slower than 100ms (p99 ≤ 100ms allows 1%): "), "{report}");
    assert!(report.contains("| P(> 100ms) |"), "{report}");
    // Another SLO in `lbsim report` was not counted by the runs: no figure rather than a wrong one.
    assert_cmd::Command::cargo_bin("lbsim")
        .unwrap()
        .arg("report")
        .arg(&with)
        .args(["--slo", "p99 <= 50ms"])
        .assert()
        .success();
    let report = fs::read_to_string(with.join("report.md")).unwrap();
    assert!(!report.contains("the share of responses slower than"), "{report}");
    // Without an SLO nothing is counted and the columns are absent.
    let file = write_file(&tmp, "plain.toml", &small_with_sweep("load = [0.5, 0.8]"));
    let without = tmp.path().join("without");
    sweep(&file, &without, &[]);
    let header = csv(&without).lines().next().unwrap().to_string();
    assert!(header.ends_with(",saturated_fraction,warnings"), "{header}");
    assert!(!fs::read_to_string(without.join("results.json")).unwrap().contains("over_slo"));
}

#[test]
fn a_file_written_with_a_load_sweeps_over_arrival_rates() {
    let tmp = TempDir::new().unwrap();
    // Two one-worker backends of 10 ms requests: 200 req/s of capacity.
    let file = write_file(&tmp, "rates.toml", &small_with_sweep("rate = [50, 100]\n\"backends.web.count\" = [2, 4]"));
    let out = tmp.path().join("out");
    sweep(&file, &out, &[]);
    let text = csv(&out);
    assert!(text.starts_with("strategy,arrivals.rate,backends.web.count,load,arrival_rate,"), "{text}");
    let loads: Vec<&str> = text.lines().skip(1).map(|l| l.split(',').nth(3).unwrap()).collect();
    assert_eq!(&loads[..3], ["0.25"; 3], "{text}");
    assert!(loads.contains(&"0.125"), "{text}");
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("vs arrival rate"), "charts are drawn against the rate");
    assert!(report.contains("arrival rate (requests/s)"), "{report}");
    // Load and rate set each other: one axis or the other.
    let message = sweep_error("load = [0.5]\nrate = [50]");
    assert!(message.contains("the load or the arrival rate, not both"), "{message}");
}

/// A closed loop whose users follow `clients` (a `[clients]` body after the mode), one
/// worker of 10 ms, swept over `sweep`.
fn closed_loop_file(tmp: &TempDir, name: &str, clients: &str, sweep: &str) -> PathBuf {
    write_file(
        tmp,
        &format!("{name}.toml"),
        &format!(
            r#"[experiment]
name = "{name}"
seed = 11
[run]
requests = 1000
warmup = 0
series = "2s"
[clients]
mode = "closed"
{clients}
think = "90ms"
[service]
distribution = "deterministic"
value = "10ms"
[[backends]]
name = "web"
workers = 1
[balancer]
strategies = ["round_robin", "jsq"]
[sweep]
{sweep}
"#
        ),
    )
}

#[test]
fn a_ramp_longer_than_the_run_is_warned_of_and_the_charts_describe_the_ramp() {
    let tmp = TempDir::new().unwrap();
    // 0 → 5 users over 10 s, 5 for 20 s, 5 → 20 over 10 s: 1000 requests are done by about
    // 25 s (tests/closed_loop.rs works the bound out), 4000 outlast the ramp.
    let file = closed_loop_file(
        &tmp,
        "ramp",
        r#"users = 0
ramp = [{ for = "10s", to = 5 }, { for = "20s", to = 5 }, { for = "10s", to = 20 }]"#,
        r#""run.requests" = [1000, 4000]"#,
    );
    let out = tmp.path().join("out");
    let assert = lbsim().arg("sweep").arg(&file).arg("--out").arg(&out).arg("--quiet").assert().success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("ramp.toml:11:8: clients.ramp: the ramp lasts 40s, but at the users' throughput bound")
            && stderr.contains("the run's 1000 requests are all sent by 25s: the run ends at 25s at the earliest")
            && stderr.contains("Set [run] requests = 2167")
            && stderr.contains("(at 1 of the sweep's 2 points)"),
        "{stderr}"
    );
    assert!(!stderr.contains("run.warmup"), "no warm-up, no warning of one: {stderr}");
    // The warning code in results.csv at the short point only; the figures in results.json.
    let text = csv(&out);
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert!(rows.iter().all(|r| r.contains(",1000,") == r.contains("ramp_cut_short")), "{text}");
    let json = fs::read_to_string(out.join("results.json")).unwrap();
    assert!(json.contains("\"ended_at\"") && json.contains("\"for\": 20.0"), "{json}");
    // The report names what the short runs missed, and no chart claims one N of users.
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("before the ramp's end at 40s: it did not cover stage 2 of 3 (→ 5 over 20s, from 10s)"),
        "{report}"
    );
    assert!(!report.contains("N = 20 users"), "{report}");
    assert!(
        report.contains("Backend utilisation with users ramped 0 → 20 in 3 stages over 40s, runs ended at "),
        "{report}"
    );
    assert!(report.contains("The users ramped 0 → 20 in 3 stages over 40s"), "{report}");
    for stem in ["utilisation", "ccdf", "in_system"] {
        let svg = fs::read_to_string(out.join("charts").join(format!("{stem}.svg"))).unwrap();
        assert!(svg.contains("with users ramped 0 → 20 in 3 stages over 40s"), "{stem}: no ramp in its title");
    }
    // The number-in-system samples span the whole measured run of the charted point, on the
    // run's clock, however long it is: 400 samples at most, spaced more widely than the
    // service time when the run is longer than 400 of them (4 s).
    let results: lbsim::results::SweepResults = serde_json::from_str(&json).unwrap();
    let charted = &results.timeseries[0];
    let point = results.points.iter().find(|p| p.index == charted.point).unwrap();
    let window = point.results[0].closed_loop.as_ref().and_then(|c| c.ramp.as_ref()).unwrap();
    let samples = charted.series[0].len();
    let start = charted.start.expect("a ramp's samples say where they start");
    assert!((start - window.started_at).abs() < 1e-9, "samples from {start}, window from {}", window.started_at);
    let span = window.ended_at - window.started_at;
    assert!(span > 20.0 && samples <= 400, "span {span}, {samples} samples");
    assert!(
        (charted.interval * samples as f64 - span).abs() <= charted.interval + 1e-9,
        "{} × {samples} for {span}",
        charted.interval
    );
    // Closed-loop users carry their load: the utilisation chart says so, and draws no
    // "offered load"; the throughput bound is the ramp's mean over the run, not the peak's.
    assert!(report.contains("the load its users carried"), "{report}");
    assert!(!report.contains("The dashed line is the offered load"), "{report}");
    assert!(
        report.contains("of the users' throughput bound min(N(t)/(D + Z), X_max) averaged over that run"),
        "{report}"
    );
    let svg = fs::read_to_string(out.join("charts").join("utilisation.svg")).unwrap();
    assert!(!svg.contains("offered load"), "utilisation.svg still says offered");

    // A fixed population keeps its "at N = … users" titles, and no warning is given.
    let fixed = closed_loop_file(&tmp, "fixed", "users = 5", r#""clients.users" = [5]"#);
    let out = tmp.path().join("fixed-out");
    let assert = lbsim().arg("sweep").arg(&fixed).arg("--out").arg(&out).arg("--quiet").assert().success();
    assert!(!String::from_utf8_lossy(&assert.get_output().stderr).contains("warning"));
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("Backend utilisation at N = 5 users (carried load "), "{report}");
    assert!(!report.contains("users ramped"), "{report}");
}
