//! `lbsim plan` with costs: the cheapest of alternative designs against Erlang C, the single
//! `--vary` form with costs, and bad cost input.

use std::path::Path;

use assert_cmd::Command;

use lbsim::config::ExperimentFile;
use lbsim::plan::cost::{Decision, compare};
use lbsim::plan::{Question, Vary};
use lbsim::slo::Slo;

fn lbsim() -> Command {
    let mut cmd = Command::cargo_bin("lbsim").expect("the lbsim binary");
    cmd.timeout(std::time::Duration::from_secs(300));
    cmd
}

/// One backend of slow workers (speed 1, 1.0 per worker-hour) and one of fast ones (speed
/// 2, 2.2 per worker-hour), exponential sizes, each worker a server of one shared FCFS
/// queue: with one group left out, each alternative is M/M/c.
fn two_speeds(mean: f64) -> ExperimentFile {
    let text = format!(
        "[experiment]\nname = \"speeds\"\nseed = 7\n[run]\nrequests = 100000\nwarmup = 10000\n[arrivals]\nload = 0.5\n\
         [service]\ndistribution = \"exponential\"\nmean = {mean}\n\
         [[backends]]\nname = \"slow\"\nworkers = 1\ncost = {{ worker = 1.0 }}\n\
         [[backends]]\nname = \"fast\"\nworkers = 1\nspeed = 2\ncost = {{ worker = 2.2 }}\n\
         [balancer]\nstrategies = [\"round_robin\"]\n"
    );
    ExperimentFile::parse(Path::new("speeds.toml"), &text).unwrap()
}

fn question(file: &ExperimentFile, rate: f64, slo: &str, vary: &[&str]) -> (Question, Vec<Vary>) {
    let base = file.resolve().unwrap();
    let alternatives: Vec<Vary> = vary.iter().map(|v| Vary::resolve(Some(v), &base).unwrap()).collect();
    let q =
        Question { rate, slo: Slo::parse(slo).unwrap(), vary: alternatives[0].clone(), max: None, strategies: vec![] };
    (q, alternatives)
}

/// The cheapest of "c slow workers at 1.0" and "c' fast workers (twice the speed) at 2.2" for
/// a mean-response target is known exactly from Erlang C: the smallest c meeting the target
/// at each speed, times its price. Cases (chosen so that E[T] at each answer, and at one
/// below, is at least 11 % from the target, far outside the plan's ±0.5–1.5 % intervals):
/// a loose target where slow workers are cheaper, a tight one where only fast workers come
/// near the size floor, and one where both cost the same (a tie, said as such).
#[test]
fn the_cheapest_of_slow_and_fast_workers_is_the_erlang_c_answer() {
    let cases: [(f64, f64, f64, Decision, usize); 3] = [
        (350.0, 0.010, 0.015, Decision::Clear, 0), // slow 5 × 1.0 = 5.0 < fast 3 × 2.2 = 6.6
        (100.0, 0.010, 0.012, Decision::Clear, 1), // slow 3 × 1.0 = 3.0 > fast 1 × 2.2 = 2.2
        (90.0, 0.100, 0.150, Decision::Tie, 0),    // slow 11 × 1.0 = fast 5 × 2.2 = 11.0
    ];
    for (rate, mean, target, decision, cheapest) in cases {
        let file = two_speeds(mean);
        let (q, alternatives) =
            question(&file, rate, &format!("mean <= {target}"), &["backends.slow.workers", "backends.fast.workers"]);
        let theory = |speed: f64| {
            let s = mean / speed;
            (1..500u32).find(|&c| f64::from(c) > rate * s && lbsim::theory::mmc_mean_response(rate, s, c) <= target)
        };
        let (slow, fast) = (theory(1.0).unwrap(), theory(2.0).unwrap());
        let exact = [f64::from(slow), f64::from(fast) * 2.2];
        let answer = compare(&file, &q, &alternatives).unwrap();
        let minima: Vec<Option<u32>> = answer.alternatives.iter().map(|a| a.plan.results[0].minimum).collect();
        let costs: Vec<Option<f64>> = answer.alternatives.iter().map(|a| a.cost[0]).collect();
        eprintln!(
            "λ {rate}, E[S] {mean}, target {target}: plan {minima:?} costing {costs:?}; Erlang C slow {slow}, fast \
             {fast}, costing {exact:?}"
        );
        assert_eq!(minima, vec![Some(slow), Some(fast)]);
        assert_eq!(answer.alternatives[0].left_out, vec!["fast".to_string()]);
        assert_eq!(answer.alternatives[1].left_out, vec!["slow".to_string()]);
        for (c, e) in costs.iter().zip(exact) {
            assert!((c.unwrap() - e).abs() < 1e-9, "{c:?} vs {e}");
        }
        let choice = &answer.choices[0];
        assert_eq!((choice.decision, choice.cheapest), (decision, Some(cheapest)), "{choice:?}");
    }
}

/// The fast_vs_slow example through the command line: the table names the cheapest, the JSON
/// keeps the contract's fields per strategy and adds the alternatives and their costs.
#[test]
fn the_json_of_a_comparison_keeps_the_contract_and_adds_costs() {
    let out = lbsim()
        .args(["plan", "experiments/fast_vs_slow.toml", "--rate", "600", "--slo", "p99 <= 300ms"])
        .args(["--vary", "backends.fast.count", "--vary", "backends.slow.count", "--strategies", "least_connections"])
        .arg("--json")
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["vary"], serde_json::json!(["backends.fast.count", "backends.slow.count"]));
    let r = &v["results"][0];
    for key in ["strategy", "minimum", "headroom_rate", "headroom_rate_ci95", "at_minimum", "cost_per_hour", "decision"]
    {
        assert!(r.get(key).is_some(), "results[0] lacks {key}: {r}");
    }
    let alternatives = r["alternatives"].as_array().unwrap();
    assert_eq!(alternatives.len(), 2);
    let cheapest = alternatives
        .iter()
        .filter(|a| a["cost_per_hour"].is_number())
        .min_by(|a, b| a["cost_per_hour"].as_f64().unwrap().total_cmp(&b["cost_per_hour"].as_f64().unwrap()))
        .unwrap();
    assert_eq!(r["vary"], cheapest["vary"]);
    assert_eq!(r["minimum"], cheapest["minimum"]);
    assert_eq!(r["cost_per_hour"], cheapest["cost_per_hour"]);
}

// ---- bad input ------------------------------------------------------------------------

fn file_with(cost_lines: [&str; 2]) -> tempfile::NamedTempFile {
    let text = format!(
        "[arrivals]\nload = 0.5\n[service]\nmean = \"10ms\"\n[[backends]]\nname = \"slow\"\n{}\n[[backends]]\nname = \
         \"fast\"\nspeed = 2\n{}\n[balancer]\nstrategies = [\"random\"]\n",
        cost_lines[0], cost_lines[1]
    );
    let f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::fs::write(f.path(), text).unwrap();
    f
}

fn run_err(f: &tempfile::NamedTempFile, vary: &[&str]) -> String {
    let mut cmd = lbsim();
    cmd.arg("plan").arg(f.path()).args(["--rate", "100", "--slo", "p99 <= 1s"]);
    for v in vary {
        cmd.args(["--vary", v]);
    }
    let out = cmd.assert().failure();
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}

#[test]
fn bad_costs_are_refused_precisely() {
    let f = file_with(["cost = -1", "cost = 2"]);
    let e = run_err(&f, &["backends.slow.count"]);
    assert!(e.contains(":7:") && e.contains("cost") && e.contains("≥ 0") && e.contains("-1"), "{e}");
    let f = file_with(["cost = { backend = 0.1, wroker = 0.5 }", "cost = 2"]);
    let e = run_err(&f, &["backends.slow.count"]);
    assert!(e.contains("did you mean \"worker\""), "{e}");
    // A cost on one group only: the cluster's total would leave the other out.
    let f = file_with(["cost = 1", ""]);
    let e = run_err(&f, &["backends.slow.count"]);
    assert!(e.contains("\"fast\"") && e.contains("no cost"), "{e}");
    // Several alternatives without costs cannot be compared.
    let f = file_with(["", ""]);
    let e = run_err(&f, &["backends.slow.count", "backends.fast.count"]);
    assert!(e.contains("gives none") && e.contains("cost = 0.34"), "{e}");
    // The same alternative twice.
    let f = file_with(["cost = 1", "cost = 2"]);
    let e = run_err(&f, &["backends.slow.count", "backends.slow.count"]);
    assert!(e.contains("given twice"), "{e}");
}
