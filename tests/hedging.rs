//! Hedged requests (`[balancer] hedge`): a second copy of a request still unanswered after a
//! delay goes to another backend; the first answer is the client's, the other copy runs to
//! its end. Conservation, the copies counted, the plain path reproduced when no copy is
//! sent, determinism, and the tail cut at low load.

mod common;

use std::path::Path;

use lbsim::config::ExperimentFile;
use lbsim::experiment::Experiment;
use lbsim::runner::{StrategyResult, Warning, run_replication, run_strategy};

/// The hedging cluster (`common::hedging_cluster`) with 200 000 requests.
fn experiment(load: f64, strategies: &str, extra: &str) -> Experiment {
    common::hedging_cluster(load, strategies, extra, 200_000)
}

fn run(e: &Experiment, s: usize) -> StrategyResult {
    run_strategy(e, &e.strategies[s], 0).unwrap()
}

#[test]
fn every_request_is_answered_once_and_every_copy_is_counted() {
    let e = experiment(0.3, r#"{ name = "round_robin", hedge = "30ms" }"#, "");
    let rep = run_replication(&e, &e.strategies[0], 0, 0).unwrap();
    let hedging = rep.hedging.as_ref().expect("hedging figures");
    assert_eq!(hedging.delay, 0.03);
    assert!(hedging.copies > 0, "some requests wait longer than 30 ms");
    // Conservation: each measured request is answered (completed) exactly once, however
    // many copies ran.
    assert_eq!(rep.arrivals, rep.completed + rep.rejected);
    assert_eq!(rep.rejected, 0);
    let r = run(&e, 0);
    let h = r.hedging.as_ref().unwrap();
    assert_eq!(h.copies, hedging.copies);
    assert!((h.amplification - (r.requests + h.copies) as f64 / r.requests as f64).abs() < 1e-15);
    // The copies are work the backends do (offered work counts them), and more than their
    // share of it: a request still unanswered after 30 ms is likely a long one.
    let offered = r.backends.iter().map(|b| b.offered_load).sum::<f64>() / r.backends.len() as f64;
    assert!(
        (r.utilisation.value / offered - 1.0).abs() < 0.02,
        "utilisation {} vs offered {offered}",
        r.utilisation.value
    );
    assert!(r.utilisation.value > 0.3 * h.amplification, "copies of long requests weigh more than their number");
    // That extra work is the hedge's, not a sample that missed the size distribution: the
    // run is not flagged as unrepresentative although the backends got far more than 0.3.
    assert!(offered > 0.3 * 1.1, "the copies add more than 10 % of work here ({offered})");
    assert!(!r.warnings.contains(&Warning::UnrepresentativeWork), "warnings {:?}", r.warnings);
}

#[test]
fn a_hedge_that_never_fires_reproduces_the_unhedged_run() {
    // The hedged path records each response at its ending (not at admission as the fast
    // path does): with a delay no request reaches, the figures must be the same.
    let e = experiment(0.7, r#""round_robin", { name = "round_robin", hedge = "1000s" }"#, "");
    let (plain, hedged) = (run(&e, 0), run(&e, 1));
    assert_eq!(hedged.hedging.as_ref().unwrap().copies, 0);
    for (what, a, b) in [
        ("mean", plain.mean_response.value, hedged.mean_response.value),
        ("p99", plain.p99.value, hedged.p99.value),
        ("p99.9", plain.p999.value, hedged.p999.value),
        ("wait", plain.mean_wait.value, hedged.mean_wait.value),
        ("utilisation", plain.utilisation.value, hedged.utilisation.value),
    ] {
        assert!((a / b - 1.0).abs() < 1e-9, "{what}: plain {a} vs hedged {b}");
    }
    assert_eq!(plain.requests, hedged.requests);
}

#[test]
fn hedging_at_p95_cuts_the_tail_at_low_load() {
    // Round robin over backends with highly variable sizes: a request stuck behind a long
    // one is rescued by its copy on another backend.
    let e = experiment(0.2, r#""round_robin", { name = "round_robin", hedge = "p95" }"#, "");
    let (plain, hedged) = (run(&e, 0), run(&e, 1));
    let h = hedged.hedging.as_ref().unwrap();
    eprintln!(
        "load 0.2: p99 {:.1} → {:.1} ms, p99.9 {:.1} → {:.1} ms; delay {:.1} ms, amplification {:.3}",
        plain.p99.value * 1e3,
        hedged.p99.value * 1e3,
        plain.p999.value * 1e3,
        hedged.p999.value * 1e3,
        h.delay * 1e3,
        h.amplification
    );
    // The intervals do not overlap: a real cut, not noise.
    assert!(hedged.p99.ci_high < plain.p99.ci_low, "p99 {:?} vs {:?}", hedged.p99, plain.p99);
    // About 5 % of the requests outlive the p95 (a little more: the copies add load).
    assert!(h.amplification > 1.03 && h.amplification < 1.12, "amplification {}", h.amplification);
}

#[test]
fn hedged_runs_are_deterministic_and_work_with_closed_loop_users() {
    let e = experiment(0.5, r#"{ name = "least_connections", hedge = "20ms" }"#, "");
    let a = run_replication(&e, &e.strategies[0], 1, 0).unwrap();
    let b = run_replication(&e, &e.strategies[0], 1, 0).unwrap();
    assert_eq!(a, b);
    // Closed-loop users: each answer (and only the first) sends its user back to thinking.
    let text = r#"[run]
requests = 100000
warmup = 10000
[clients]
mode = "closed"
users = 40
think = { distribution = "exponential", mean = "100ms" }
[service]
mean = "10ms"
[[backends]]
name = "web"
count = 4
[balancer]
strategies = [{ name = "random", hedge = "p90" }]
"#;
    let e = ExperimentFile::parse(Path::new("closed.toml"), text).unwrap().resolve().unwrap();
    let r = run(&e, 0);
    let c = r.closed_loop.as_ref().unwrap();
    assert!(r.hedging.as_ref().unwrap().copies > 0);
    // The interactive response-time law still holds: users see one response per request.
    let law = c.cycle.value - c.think;
    let allowed = 3.3 * (r.mean_response.half_width() + c.cycle.half_width());
    assert!((r.mean_response.value - law).abs() <= allowed, "R = {} vs N/X − Z = {law}", r.mean_response.value);
}
