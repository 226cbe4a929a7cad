//! Closed-loop users ([clients] mode = "closed") against queueing theory: the exact
//! machine-repairman models M/M/1//N and M/M/c//N, mean value analysis, and the
//! interactive response-time law R = N/X − Z, each within the run's 99.9 % confidence
//! interval (`common::assert_agrees`); plus conservation and determinism.

mod common;

use std::path::Path;

use common::*;
use lbsim::config::ExperimentFile;
use lbsim::experiment::Experiment;
use lbsim::runner::{StrategyResult, run_replication};
use lbsim::theory;

/// An experiment of `users` closed-loop users over `backends` (a `[[backends]]` body),
/// exponential sizes of mean `service`, think time `think` (a TOML value).
fn closed(users: u32, think: &str, service: &str, backends: &str, strategy: &str, requests: u64) -> Experiment {
    let text = format!(
        r#"[experiment]
seed = 20261125
[run]
requests = {requests}
warmup = {warmup}
[clients]
mode = "closed"
users = {users}
think = {think}
[service]
{service}
[[backends]]
name = "web"
{backends}
[balancer]
strategies = ["{strategy}"]
"#,
        warmup = requests / 20
    );
    ExperimentFile::parse(Path::new("closed.toml"), &text).unwrap().resolve().unwrap()
}

fn exponential_think(mean: &str) -> String {
    format!(r#"{{ distribution = "exponential", mean = "{mean}" }}"#)
}

fn result(e: &Experiment) -> StrategyResult {
    run(e, &e.strategies[0])
}

/// Mean response and throughput against `expected`.
fn assert_matches(what: &str, r: &StrategyResult, expected: theory::ClosedForm, tolerance: f64) {
    assert_agrees(&format!("{what} mean response"), &r.mean_response, expected.mean_response, tolerance);
    assert_agrees(&format!("{what} throughput"), &r.throughput, expected.throughput, tolerance);
}

#[test]
fn one_worker_with_exponential_times_is_the_machine_repairman_mm1n() {
    // E[S] = 10 ms, Z = 90 ms: the knee N* = (D + Z)/D = 10. Below, at and well past it.
    for users in [1, 5, 10, 20] {
        let e = closed(users, &exponential_think("90ms"), r#"mean = "10ms""#, "workers = 1", "round_robin", 1_000_000);
        let r = result(&e);
        let exact = theory::machine_repairman(users, 1, 0.01, 0.09);
        assert_matches(&format!("M/M/1//{users}"), &r, exact, 0.02);
        let closed = r.closed_loop.as_ref().expect("closed-loop figures");
        assert_eq!(closed.users, users);
        assert!((closed.think - 0.09).abs() < 1e-15);
        // The worker is busy a fraction X·E[S] of the time.
        assert_agrees(&format!("M/M/1//{users} utilisation"), &r.utilisation, exact.throughput * 0.01, 0.02);
        assert!((r.load - r.throughput.value * 0.01).abs() < 1e-12, "the carried load is X·E[S] ÷ capacity");
    }
}

#[test]
fn four_workers_are_the_machine_repairman_mmcn() {
    // c = 4, E[S] = 40 ms, Z = 200 ms: N* = 4 × 0.24/0.04 = 24.
    for users in [12, 24, 40] {
        let e = closed(users, &exponential_think("200ms"), r#"mean = "40ms""#, "workers = 4", "random", 1_000_000);
        let exact = theory::machine_repairman(users, 4, 0.04, 0.2);
        assert_matches(&format!("M/M/4//{users}"), &result(&e), exact, 0.02);
    }
}

#[test]
fn a_processor_sharing_backend_is_insensitive_to_sizes_and_think_times() {
    // Lognormal sizes (cv 2) on one async worker and a constant think time: BCMP says the
    // means are those of M/M/1//N.
    let e = closed(
        8,
        r#""50ms""#,
        r#"distribution = "lognormal"
mean = "10ms"
cv = 2"#,
        "workers = 1\nworker_class = \"async\"",
        "round_robin",
        1_000_000,
    );
    let exact = theory::machine_repairman(8, 1, 0.01, 0.05);
    assert_matches("M/G/1-PS//8", &result(&e), exact, 0.03);
}

#[test]
fn random_dispatch_to_four_backends_is_a_product_form_network() {
    let e = closed(30, &exponential_think("100ms"), r#"mean = "10ms""#, "count = 4\nworkers = 1", "random", 1_000_000);
    let exact = theory::mva(30, &[0.0025; 4], 0.1);
    assert_matches("MVA 4 × M/M/1, N = 30", &result(&e), exact, 0.02);
    // The predicted line of the charts is the same closed form.
    let p = theory::predict(&e.model, "random", None).expect("a closed form");
    assert_eq!(p.mean_response, exact.mean_response);
}

#[test]
fn the_interactive_response_time_law_holds_where_no_closed_form_exists() {
    // nginx least_conn over 3 gunicorn backends × 4 sync workers, lognormal sizes, gamma
    // think times, a network: R = N/X − Z must hold anyway (Little's law on the users).
    let e = closed(
        60,
        r#"{ distribution = "gamma", mean = "300ms", cv = 0.5 }"#,
        r#"distribution = "lognormal"
mean = "40ms"
cv = 1.5"#,
        "count = 3\nworkers = 4\nrtt = \"1ms\"",
        "least_connections",
        600_000,
    );
    let r = result(&e);
    let c = r.closed_loop.as_ref().unwrap();
    let law = c.cycle.value - c.think;
    // Both sides are estimates from the same run: the law holds when they agree within the
    // sum of their 99.9 % half-widths.
    let allowed = (r.mean_response.half_width() + c.cycle.half_width()) * widening();
    eprintln!(
        "response-time law: R = {:.6} ± {:.6}, N/X − Z = {law:.6} ± {:.6}",
        r.mean_response.value,
        r.mean_response.half_width(),
        c.cycle.half_width()
    );
    assert!(r.mean_response.relative_half_width() < 0.02, "a precise run");
    assert!(
        (r.mean_response.value - law).abs() <= allowed,
        "R = {} but N/X − Z = {law} (allowed ±{allowed})",
        r.mean_response.value
    );
    // `lbsim run` prints the law's split under its name for a fixed population.
    let said = lbsim::output::closed_loop_lines(std::slice::from_ref(&r));
    assert!(said.starts_with("Closed loop (R = N/X − Z):\n  least_connections: throughput X = "), "{said}");
    assert!(said.contains("; cycle N/X = "), "{said}");
}

#[test]
fn without_think_time_the_users_keep_every_worker_busy() {
    // think = 0 (wrk): N = 6 users on 4 workers keep them all busy, X = 4/E[S] exactly.
    let e = closed(6, "0", r#"mean = "10ms""#, "workers = 4", "round_robin", 400_000);
    let r = result(&e);
    assert_agrees("think 0 throughput", &r.throughput, 400.0, 0.02);
    assert_agrees("think 0 mean response", &r.mean_response, 6.0 / 400.0, 0.02);
    assert!((r.utilisation.value - 1.0).abs() < 1e-9, "utilisation {}", r.utilisation.value);
}

#[test]
fn refused_requests_send_their_users_back_to_thinking_and_every_request_is_counted() {
    // One worker, no accept queue: a user arriving while the worker is busy is refused.
    // Conservation: measured arrivals = completed + rejected.
    let e =
        closed(10, &exponential_think("50ms"), r#"mean = "10ms""#, "workers = 1\nbacklog = 0", "round_robin", 200_000);
    let rep = run_replication(&e, &e.strategies[0], 0, 0).unwrap();
    assert!(rep.rejected > 0, "a loss system refuses some requests");
    assert_eq!(rep.arrivals, rep.completed + rep.rejected, "conservation");
    // Engset: the loss system with finite sources, the probability an arrival is refused.
    // p_k ∝ C(N, k) (E[S]/Z)^k for k ∈ {0, 1}; an arrival sees the others, N − 1 users.
    let a: f64 = 0.01 / 0.05;
    let blocked = 9.0 * a / (1.0 + 9.0 * a);
    let refused = rep.rejected as f64 / rep.arrivals as f64;
    // Six binomial standard errors (successive refusals are positively correlated, so the
    // i.i.d. error understates the true one; six of them leave room for that).
    let tolerance = 6.0 * (blocked * (1.0 - blocked) / rep.arrivals as f64).sqrt();
    eprintln!("Engset blocking: simulated {refused:.5}, theory {blocked:.5} (tolerance ±{tolerance:.5})");
    assert!((refused - blocked).abs() < tolerance, "blocking {refused} vs Engset {blocked}");
}

#[test]
fn closed_loops_are_deterministic() {
    let e = closed(
        40,
        &exponential_think("100ms"),
        r#"mean = "10ms""#,
        "count = 3\nworkers = 2",
        "least_connections",
        100_000,
    );
    let a = run_replication(&e, &e.strategies[0], 3, 1).unwrap();
    let b = run_replication(&e, &e.strategies[0], 3, 1).unwrap();
    assert_eq!(a, b);
    let c = run_replication(&e, &e.strategies[0], 3, 2).unwrap();
    assert_ne!(a.overall, c.overall, "another replication is another sample path");
}

#[test]
fn mean_value_analysis_of_one_queue_is_the_machine_repairman() {
    for users in [1, 3, 10, 50] {
        let a = theory::mva(users, &[0.01], 0.09);
        let b = theory::machine_repairman(users, 1, 0.01, 0.09);
        assert!((a.throughput / b.throughput - 1.0).abs() < 1e-12, "N = {users}: {a:?} vs {b:?}");
        assert!((a.mean_response / b.mean_response - 1.0).abs() < 1e-12, "N = {users}: {a:?} vs {b:?}");
    }
    // One user never queues; many users saturate the server at 1/E[S].
    assert!((theory::machine_repairman(1, 1, 0.01, 0.09).mean_response - 0.01).abs() < 1e-15);
    assert!((theory::machine_repairman(500, 1, 0.01, 0.09).throughput - 100.0).abs() < 1e-9);
    assert!((theory::machine_repairman(500, 4, 0.01, 0.09).throughput - 400.0).abs() < 1e-9);
}

/// A ramp: 2 users for 200 s, then up to 8 over 10 s, then 8 (M/M/1, E[S] = 10 ms,
/// exponential think 90 ms: the knee is at N* = (E[S] + Z)/E[S] = 10 users, so both plateaus
/// are below it, where X(N) depends on the queueing and not only on the server's speed). On
/// each plateau, once the population has settled, the goodput of each 10 s window of the
/// time series is a sample of the machine repairman's X(N).
#[test]
fn a_ramp_of_users_reaches_the_machine_repairman_throughput_on_each_plateau() {
    let text = r#"[experiment]
seed = 7
[run]
requests = 40000
warmup = 0
series = "10s"
[clients]
mode = "closed"
users = 2
ramp = [{ for = "200s", to = 2 }, { for = "10s", to = 8 }]
think = { distribution = "exponential", mean = "90ms" }
[service]
mean = "10ms"
[[backends]]
name = "web"
workers = 1
[balancer]
strategies = ["round_robin"]
"#;
    let e = ExperimentFile::parse(Path::new("ramp.toml"), text).unwrap().resolve().unwrap();
    assert!(theory::predict(&e.model, "round_robin", None).is_none(), "no one steady state over a ramp");
    let rep = run_replication(&e, &e.strategies[0], 0, 0).unwrap();
    assert_eq!(rep.arrivals, rep.completed + rep.rejected);
    let series = rep.series.expect("a series");
    let goodput = |from: f64, to: f64| -> Vec<f64> {
        series.rows.iter().filter(|r| r.t >= from && r.t + series.width <= to).map(|r| r.goodput).collect()
    };
    for (users, from, to) in [(2, 20.0, 200.0), (8, 230.0, 600.0)] {
        let x = goodput(from, to);
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let sd = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        // Windows of 10 s hold 100 cycles of a user or more: close to independent batches.
        // 99.9 %: two plateaus are checked, and the windows are only nearly independent.
        let half = lbsim::stats::student_t_quantile(0.9995, n - 1.0) * sd / n.sqrt();
        let exact = theory::machine_repairman(users, 1, 0.01, 0.09).throughput;
        eprintln!(
            "{users} users: goodput {mean:.2} ± {half:.2} /s (99.9 %, {n} windows), machine repairman {exact:.2}"
        );
        assert!((mean - exact).abs() <= half, "{users} users: {mean} ± {half} vs {exact}");
    }
    // The arrival rate follows the ramp: about X(2) before it, X(8) after.
    let before = series.rows.iter().find(|r| r.t >= 100.0).unwrap().arrival_rate;
    let after = series.rows.iter().find(|r| r.t >= 300.0).unwrap().arrival_rate;
    assert!(before < 25.0 && after > 55.0, "{before} → {after}");
}

#[test]
fn ramp_stages_are_checked() {
    let err = |ramp: &str| {
        let text = format!(
            "[clients]\nmode = \"closed\"\nusers = 2\nthink = 0\n{ramp}\n[service]\nmean = \"10ms\"\n[[backends]]\nname = \"web\"\n[balancer]\nstrategies = [\"random\"]\n"
        );
        ExperimentFile::parse(Path::new("ramp.toml"), &text).unwrap().resolve().unwrap_err().render()
    };
    let e = err("ramp = [{ for = \"10s\", to = 0 }]");
    assert!(e.contains("ends with 0 users"), "{e}");
    let e = err("ramp = [{ for = 0, to = 5 }]");
    assert!(e.contains("expected a positive duration"), "{e}");
    let e = err("ramp = [{ fro = \"10s\", to = 5 }]");
    assert!(e.contains("did you mean \"for\""), "{e}");
    let e = err("ramp = [{ for = \"10s\" }]");
    assert!(e.contains("needs \"to\""), "{e}");
    let e = err("ramp = 5");
    assert!(e.contains("expected a list of stages"), "{e}");
    let e = err("ramp = []");
    assert!(e.contains("an empty ramp"), "{e}");
}

/// One worker of deterministic 10 ms and a constant think time of 90 ms: the throughput
/// bound is min(N(t)/100 ms, 100/s). The ramp 0 → 5 users over 10 s, 5 for 20 s, 5 → 20
/// over 10 s then lets at most 250 + 1000 + 250 + 666.7 = 2166.7 requests be sent before it
/// ends at 40 s.
fn ramp_of(requests: u64) -> (ExperimentFile, Experiment) {
    ramp_with_warmup(requests, 0)
}

/// [`ramp_of`] with a warm-up of `warmup` requests.
fn ramp_with_warmup(requests: u64, warmup: u64) -> (ExperimentFile, Experiment) {
    let text = format!(
        r#"[experiment]
seed = 11
[run]
requests = {requests}
warmup = {warmup}
[clients]
mode = "closed"
users = 0
ramp = [{{ for = "10s", to = 5 }}, {{ for = "20s", to = 5 }}, {{ for = "10s", to = 20 }}]
think = "90ms"
[service]
distribution = "deterministic"
value = "10ms"
[[backends]]
name = "web"
workers = 1
[balancer]
strategies = ["round_robin"]
"#
    );
    let file = ExperimentFile::parse(Path::new("ramp.toml"), &text).unwrap();
    let e = file.resolve().unwrap();
    (file, e)
}

#[test]
fn a_ramp_the_run_lasts_through_gives_no_warning() {
    let (file, e) = ramp_of(4000);
    assert_eq!(e.ramp_outlasting_run(), None);
    assert_eq!(e.ramp_in_warmup(), None, "no warm-up, nothing discarded");
    assert_eq!(lbsim::config::ramp_warnings(&file, &e), Vec::<String>::new());
    let r = result(&e);
    let ramp = r.closed_loop.as_ref().and_then(|c| c.ramp.as_ref()).expect("the ramp is in the results");
    assert!(ramp.ended_at >= 40.0, "the run lasted through the ramp: {}", ramp.ended_at);
    assert!(!r.warnings.contains(&lbsim::runner::Warning::RampCutShort), "{:?}", r.warnings);
    assert_eq!(ramp.shortfall(), None);
    // Without a warm-up the window opens at the first request, the first user's (who joins
    // at 2 s, when the target reaches 1, and thinks 90 ms first): that discards nothing, and
    // no warning says otherwise.
    assert!((ramp.started_at - 2.09).abs() < 1e-9, "{}", ramp.started_at);
    assert!(!r.warnings.contains(&lbsim::runner::Warning::RampInWarmup), "{:?}", r.warnings);
}

#[test]
fn a_ramp_longer_than_the_run_is_named_before_and_after_it() {
    let (file, e) = ramp_of(1000);
    // Before the run: at the bound, 1000 requests are sent by 250 + 50 (t − 10) = 1000, t = 25 s,
    // half-way through the 20 s plateau; covering the ramp takes ⌈2166.7⌉ requests.
    let estimate = e.ramp_outlasting_run().expect("the run may end before the ramp");
    assert_eq!((estimate.length, estimate.requests, estimate.requests_needed), (40.0, 1000, 2167));
    assert!((estimate.earliest_end - 25.0).abs() < 1e-9, "{}", estimate.earliest_end);
    let warnings = lbsim::config::ramp_warnings(&file, &e);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = &warnings[0];
    // When the run ends at the bound, that it is the earliest (and why later or earlier),
    // the stages after it by number and time span, and what to change, with the figures.
    assert!(
        warning.starts_with(
            "ramp.toml:9:8: clients.ramp: the ramp lasts 40s, but at the users' throughput bound \
             min(N(t)/(D + Z), X_max) = min(N(t)/100ms, 100/s) the run's 1000 requests are all sent by 25s: \
             the run ends at 25s at the earliest (up to chance in the think and service times) — later by as much as queueing holds the users below the bound \
             (markedly past the knee N* = (D + Z) · X_max = 10 users), earlier only if refusals or failures"
        ),
        "{warning}"
    );
    assert!(
        warning.contains(
            "It would not measure stage 2 of 3 (10s–30s: 5 users held) from 25s on, and stage 3 of 3 \
             (30s–40s: 5 → 20 users). Set [run] requests = 2167 (what the users send over the whole ramp at \
             the bound, so that the run cannot end before it), or shorten the ramp to end by 25s"
        ),
        "{warning}"
    );

    // After: the run ended no earlier than the bound allows, inside the plateau, and says so.
    let r = result(&e);
    assert!(r.warnings.contains(&lbsim::runner::Warning::RampCutShort), "{:?}", r.warnings);
    let ramp = r.closed_loop.as_ref().and_then(|c| c.ramp.as_ref()).unwrap();
    assert!(ramp.ended_at >= 25.0 && ramp.ended_at < 30.0, "ended at {}", ramp.ended_at);
    let said = r.explain(lbsim::runner::Warning::RampCutShort);
    let ended = lbsim::units::format_duration(ramp.ended_at);
    assert!(
        said.starts_with(&format!(
            "the run ended at {ended}, before the ramp's end at 40s: it did not cover stage 2 of 3"
        )),
        "{said}"
    );
    assert!(said.ends_with("and stage 3 (→ 20 over 10s) (raise [run] requests)"), "{said}");
    // `lbsim run`'s closed-loop lines: no N/X for a population that changes along the run.
    let lines = lbsim::output::closed_loop_lines(std::slice::from_ref(&r));
    assert!(lines.starts_with("Closed loop:\n"), "{lines}");
    assert!(!lines.contains("N/X"), "{lines}");
    assert!(lines.contains("averaged over the run, users ramped"), "{lines}");
    // The JSON of `lbsim run --json` carries the profile and the end.
    let json = serde_json::to_value(lbsim::output::run_json("ramp", std::slice::from_ref(&r))).unwrap();
    let closed = &json["results"][0]["closed_loop"];
    assert_eq!(closed["ramp"]["stages"][2], serde_json::json!({ "for": 10.0, "to": 20 }));
    assert_eq!(closed["ramp"]["ended_at"].as_f64(), Some(ramp.ended_at));
    assert_eq!(json["results"][0]["warnings"].as_array().unwrap().last().unwrap(), "ramp_cut_short");
}

#[test]
fn ramp_stages_inside_the_warm_up_are_named_before_and_after_the_run() {
    use lbsim::runner::Warning;
    // At the bound the warm-up's 500 requests are sent by 250 + 50 (t − 10) = 500, t = 15 s:
    // the whole of stage 1 and 5 s of stage 2 are discarded at least. Its 3500 requests in
    // all outlast the ramp (2167 would do), so that is the only warning.
    let (file, e) = ramp_with_warmup(3000, 500);
    let estimate = e.ramp_in_warmup().expect("the warm-up reaches into the ramp");
    assert!((estimate.earliest_end - 15.0).abs() < 1e-9, "{}", estimate.earliest_end);
    let warnings = lbsim::config::ramp_warnings(&file, &e);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(
            "ramp.toml:5:10: run.warmup: the warm-up's 500 requests last until 15s at the earliest (at the users' \
             throughput bound min(N(t)/(D + Z), X_max) = min(N(t)/100ms, 100/s), up to chance in the think and \
             service times; later in practice"
        ),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[0].contains(
            "the results leave out stage 1 of 3 (0s–10s: 0 → 5 users), and stage 2 of 3 (10s–30s: 5 users held) \
             up to 15s. Set [run] warmup = 0 to measure the ramp from its start"
        ),
        "{}",
        warnings[0]
    );

    // After the run: when the warm-up really ended (no earlier than the bound allows; the
    // users join one at a time, so a little later) and what it discarded.
    let r = result(&e);
    assert!(r.warnings.contains(&Warning::RampInWarmup), "{:?}", r.warnings);
    assert!(!r.warnings.contains(&Warning::RampCutShort), "{:?}", r.warnings);
    let ramp = r.closed_loop.as_ref().and_then(|c| c.ramp.as_ref()).unwrap();
    assert!(ramp.started_at >= 15.0 && ramp.started_at < 30.0, "started at {}", ramp.started_at);
    let at = lbsim::units::format_duration(ramp.started_at);
    assert_eq!(
        r.explain(Warning::RampInWarmup),
        format!(
            "the warm-up ended at {at}: it discarded stage 1 of 3 (0s–10s: 0 → 5 users), and stage 2 of 3 \
             (10s–30s: 5 users held) up to {at} (set [run] warmup = 0 to measure the ramp from its start)"
        )
    );
    let json = serde_json::to_value(lbsim::output::run_json("ramp", std::slice::from_ref(&r))).unwrap();
    assert_eq!(json["results"][0]["closed_loop"]["ramp"]["started_at"].as_f64(), Some(ramp.started_at));
    assert!(json["results"][0]["warnings"].as_array().unwrap().iter().any(|w| w == "ramp_in_warmup"));
}

#[test]
fn a_ramped_runs_throughput_bound_is_the_instant_bounds_mean_over_its_window() {
    // 0 → 5 users over 10 s, 5 for 20 s, 5 → 20 over 10 s, then 20: the instant bound
    // min(N(t)/100 ms, 100/s) integrates to 2.5 t² over stage 1, 250 + 50 (t − 10) over
    // stage 2, 2166.7 at 40 s and 100/s from there on.
    let (_, e) = ramp_of(4000);
    let r = result(&e);
    let c = r.closed_loop.as_ref().unwrap();
    let ramp = c.ramp.as_ref().unwrap();
    let (t0, t1) = (ramp.started_at, ramp.ended_at);
    assert!(t0 < 10.0 && t1 > 40.0, "window {t0}–{t1}");
    let expected = (1250.0 + 250.0 + 100.0 * 20.0 / 3.0 + 100.0 * (t1 - 40.0) - 2.5 * t0 * t0) / (t1 - t0);
    let bound = c.throughput_bound();
    assert!((bound - expected).abs() < 1e-9 * expected, "bound {bound}, expected {expected}");
    // The peak's bound (20 users: the worker's 100/s) holds only past 33 s; over the whole
    // window the run's throughput is well below it, and below the mean bound too: with a
    // constant think time and service each user's cycle lasts at least 100 ms, so over the
    // window X ≤ bound + (users ÷ window) for the cycles cut by its ends.
    let x = r.throughput.value;
    assert!(x <= bound + 20.0 / (t1 - t0), "X = {x} above the bound {bound}");
    assert!(1.3 * x < 100.0, "X = {x}: the peak's bound 100/s would be far off");
    // Below the knee most of the run, the users rarely queue: X stays close to the bound.
    assert!(x > 0.9 * bound, "X = {x}, bound {bound}");
    // `lbsim run` prints the bound beside X.
    let lines = lbsim::output::closed_loop_lines(std::slice::from_ref(&r));
    assert!(
        lines.contains(&format!(
            "bound min(N(t)/(D + Z), X_max) averaged over the run {}/s",
            lbsim::units::significant(bound, 4)
        )),
        "{lines}"
    );
}

#[test]
fn the_closed_form_line_needs_room_for_every_user_and_follows_the_weights() {
    // Ten users on one worker without a backlog are Engset's loss system: admitted requests
    // never wait (10 ms), while the machine repairman the line used to draw queues all ten.
    let e = closed(10, &exponential_think("50ms"), r#"mean = "10ms""#, "workers = 1\nbacklog = 0", "random", 1000);
    assert!(theory::predict(&e.model, "random", None).is_none(), "a loss system is not M/M/1//N");
    // With room for all ten it is M/M/1//10.
    let e = closed(10, &exponential_think("50ms"), r#"mean = "10ms""#, "workers = 1\nbacklog = 9", "random", 1000);
    let p = theory::predict(&e.model, "random", None).expect("machine repairman");
    assert_eq!(p.mean_response, theory::machine_repairman(10, 1, 0.01, 0.05).mean_response);
    // weighted_random over two identical backends weighed 1 : 3 visits them with
    // probabilities ¼ and ¾: MVA with demands 2.5 ms and 7.5 ms (32.0 ms), not 5 ms each
    // (23.3 ms); simulated 31.95 ms over 5 seeds of 4·10⁵ requests.
    let text = format!(
        r#"[experiment]
seed = 20261127
[run]
requests = 400000
warmup = 40000
[clients]
mode = "closed"
users = 10
think = {}
[service]
distribution = "exponential"
mean = "10ms"
[[backends]]
name = "a"
weight = 1.0
[[backends]]
name = "b"
weight = 3.0
[balancer]
strategies = ["weighted_random"]
"#,
        exponential_think("50ms")
    );
    let e: Experiment = ExperimentFile::parse(Path::new("closed.toml"), &text).unwrap().resolve().unwrap();
    let exact = theory::mva(10, &[0.0025, 0.0075], 0.05);
    let p = theory::predict(&e.model, "weighted_random", None).expect("MVA");
    assert!((p.mean_response / exact.mean_response - 1.0).abs() < 1e-12, "{p:?} against {exact:?}");
    assert_matches("weighted_random 1 : 3, N = 10, Z = 50 ms", &result(&e), exact, 0.03);
}
