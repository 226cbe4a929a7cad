//! Cancellation of abandoned work: a client's timeout with `[clients] cancel = true` takes
//! the attempt out of its backend, and `hedge_cancel = true` takes out the losing copy of a
//! hedged request.
//!
//! The theory: one FCFS server, exponential service (rate μ), Poisson arrivals (rate λ) and
//! a client timeout T on the whole response, cancelled at the backend. A request that
//! waits W does min(S, (T − W)⁺) of work, so the workload V jumps at arrivals by that
//! amount and drains at rate 1 (W = V at arrival under FCFS, by PASTA the stationary V).
//! Level crossing at x < T: f(x) = λ P₀ e^{−μx} + λ ∫₀ˣ f(y) e^{−μ(x−y)} dy (a jump from y
//! crosses x iff S > x − y, since T − y > x − y), which is M/M/1's equation, so
//! f(x) = λ P₀ e^{−(μ−λ)x} on (0, T), and V never exceeds T. Normalising:
//!   P₀ = 1 / (1 + λ (1 − e^{−(μ−λ)T}) / (μ − λ)),  utilisation = 1 − P₀,
//!   P(timeout) = P(W + S > T) = P₀ e^{−μT} + ∫₀ᵀ f(x) e^{−μ(T−x)} dx = P₀ e^{−(μ−λ)T},
//! exact for every λ, overload included (cancellation keeps the queue stable).

mod common;

use std::path::Path;

use common::{
    MINIMAL, assert_conserved, async_group, experiment, gunicorn_group, rejection, simulate, simulate_with, sync_group,
    totals, widening,
};
use lbsim::config::ExperimentFile;
use lbsim::engine::Cause;
use lbsim::model::{ClientPolicy, Hedge, Model, ServiceDistribution, Upstream, WorkerClass};
use lbsim::runner::{run_replication, run_strategy};
use lbsim::stats::student_t_quantile;
use lbsim::strategy::Params;

/// Mean and 95 % half-width of batch means.
fn batch_mean(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, student_t_quantile(0.975, n - 1.0) * (var / n).sqrt())
}

fn agrees(what: &str, xs: &[f64], theory: f64, max_relative: f64) {
    let (mean, half) = batch_mean(xs);
    eprintln!(
        "{what}: simulated {mean:.5} ± {half:.5} (95%), exact {theory:.5}, deviation {:+.2}%",
        (mean / theory - 1.0) * 100.0
    );
    assert!(half <= max_relative * theory, "{what}: interval ± {half} too wide to test");
    assert!((mean - theory).abs() <= half * widening(), "{what}: {mean} ± {half} vs exact {theory}");
}

/// M/M/1 with mean service 10 ms (μ = 100/s) at `load`, a client timeout `t`, cancelled.
fn mm1_cancelled(load: f64, t: f64, cancel: bool) -> Model {
    let mut model =
        experiment(ServiceDistribution::exponential(0.01).unwrap(), vec![sync_group("web", 1, 1, 1.0)], load, 1, 0)
            .model;
    model.client = ClientPolicy { timeout: Some(t), cancel, ..ClientPolicy::default() };
    model
}

/// (utilisation, P(timeout)) of the M/M/1 with a cancelled timeout (module docs).
fn exact(lambda: f64, mu: f64, t: f64) -> (f64, f64) {
    let d = mu - lambda;
    let integral = if d.abs() < 1e-12 { t } else { (1.0 - (-d * t).exp()) / d };
    let p0 = 1.0 / (1.0 + lambda * integral);
    (1.0 - p0, p0 * (-d * t).exp())
}

fn check_mm1(load: f64, t: f64) {
    let (requests, warmup) = (400_000u64, 20_000u64);
    let model = mm1_cancelled(load, t, true);
    let o = simulate(&model, "round_robin", requests, warmup);
    let s = totals(&o);
    assert_conserved("cancelled timeouts", &s);
    // Every timed-out attempt was at the backend (no network, no retry): each is cancelled.
    assert_eq!(s.cancelled, s.failed[Cause::ClientTimeout as usize]);
    let (utilisation, timeout) = exact(100.0 * load, 100.0, t);
    let busy: Vec<f64> = o.sections.iter().map(|s| s.busy_area / s.duration).collect();
    agrees(&format!("M/M/1 load {load}, T = {t} s, cancelled: utilisation"), &busy, utilisation, 0.01);
    let timed_out: Vec<f64> =
        o.sections.iter().map(|s| s.failed[Cause::ClientTimeout as usize] as f64 / s.arrivals as f64).collect();
    agrees(&format!("M/M/1 load {load}, T = {t} s, cancelled: P(timeout)"), &timed_out, timeout, 0.03);
}

#[test]
fn a_cancelled_timeout_gives_the_exact_utilisation_and_timeout_share_of_mm1() {
    check_mm1(0.8, 0.05);
}

#[test]
fn cancelling_keeps_an_overloaded_mm1_stable_at_its_exact_figures() {
    // λ = 1.2 μ: without cancellation the queue grows without bound; with it the workload
    // never exceeds T.
    check_mm1(1.2, 0.05);
}

#[test]
fn without_cancel_the_backend_does_all_the_work_and_with_it_less() {
    // The same M/M/1 at 0.8: without `cancel`, the queue is M/M/1's (utilisation ρ, the
    // share timing out e^{−(μ−λ)T}); with it, less work and fewer timeouts.
    let (requests, warmup) = (200_000u64, 10_000u64);
    let t = 0.05;
    let plain = simulate(&mm1_cancelled(0.8, t, false), "round_robin", requests, warmup);
    let p = totals(&plain);
    assert_eq!(p.cancelled, 0);
    let busy: Vec<f64> = plain.sections.iter().map(|s| s.busy_area / s.duration).collect();
    agrees("M/M/1 load 0.8, T = 0.05 s, not cancelled: utilisation", &busy, 0.8, 0.02);
    let cancelled = totals(&simulate(&mm1_cancelled(0.8, t, true), "round_robin", requests, warmup));
    assert!(cancelled.busy_area / cancelled.duration < 0.95 * p.busy_area / p.duration);
    assert!(cancelled.failed[Cause::ClientTimeout as usize] < p.failed[Cause::ClientTimeout as usize]);
}

/// 4 backends of `group`, a client RTT and a balancer queue (`maxconn`), client retries:
/// timeouts find attempts on the network, in the balancer's queue and at backends.
fn busy_cluster(group: lbsim::model::BackendGroup, cancel: bool) -> Model {
    let mut model = experiment(ServiceDistribution::exponential(0.01).unwrap(), vec![group], 0.9, 1, 0).model;
    model.balancer.rtt = Some(ServiceDistribution::exponential(0.002).unwrap());
    model.balancer.upstreams = vec![Upstream { maxconn: Some(3), ..Upstream::default() }];
    model.client = ClientPolicy { timeout: Some(0.03), retries: 2, backoff: 0.01, cancel, ..ClientPolicy::default() };
    model
}

#[test]
fn every_request_and_every_cancelled_attempt_is_accounted_for_on_every_kind_of_backend() {
    let (requests, warmup) = (40_000u64, 2_000u64);
    let groups = [
        ("sync", sync_group("web", 4, 1, 1.0)),
        ("sync ×2", sync_group("web", 4, 2, 0.5)),
        ("async", async_group("web", 4, 1, 1.0)),
        (
            "gthread",
            lbsim::model::BackendGroup {
                count: 4,
                ..gunicorn_group("web", 2, WorkerClass::Gthread { threads: 2, worker_connections: 4 }, 1)
            },
        ),
        (
            "gevent",
            lbsim::model::BackendGroup {
                count: 4,
                ..gunicorn_group("web", 1, WorkerClass::Gevent { worker_connections: 4 }, 1)
            },
        ),
    ];
    for (what, group) in groups {
        let capacity_model = busy_cluster(group.clone(), true);
        for strategy in ["round_robin", "least_connections"] {
            let o = simulate(&capacity_model, strategy, requests, warmup);
            let s = totals(&o);
            assert_conserved(what, &s);
            // Every client error is a timeout here (no faults, no queue timeout), and each
            // timeout takes back exactly one live attempt: the failed ones' last and the
            // retried ones'.
            let timeouts = s.failed[Cause::ClientTimeout as usize] + s.retries;
            assert_eq!(s.failed.iter().sum::<u64>(), s.failed[Cause::ClientTimeout as usize], "{what}");
            assert_eq!(s.cancelled, timeouts, "{what} {strategy}: one cancelled attempt per timeout");
            assert!(s.cancelled > 0, "{what}: the load makes some time out");
            let plain = totals(&simulate(&busy_cluster(group.clone(), false), strategy, requests, warmup));
            assert_conserved(what, &plain);
            assert_eq!(plain.cancelled, 0);
            eprintln!(
                "{what} {strategy}: busy {:.3} cancelled vs {:.3} not; timed out {:.4} vs {:.4}",
                s.busy_area / s.duration,
                plain.busy_area / plain.duration,
                s.failed[Cause::ClientTimeout as usize] as f64 / s.arrivals as f64,
                plain.failed[Cause::ClientTimeout as usize] as f64 / plain.arrivals as f64,
            );
            assert!(s.busy_area / s.duration < plain.busy_area / plain.duration, "{what} {strategy}: work saved");
        }
    }
}

#[test]
fn cancelled_runs_are_deterministic() {
    let model = busy_cluster(sync_group("web", 4, 1, 1.0), true);
    let a = totals(&simulate(&model, "least_connections", 20_000, 1_000));
    let b = totals(&simulate(&model, "least_connections", 20_000, 1_000));
    assert_eq!(a, b);
}

// --- Hedged requests ---------------------------------------------------------------------

/// The hedging cluster (`common::hedging_cluster`) with 100 000 requests.
fn hedged(load: f64, strategies: &str) -> lbsim::experiment::Experiment {
    common::hedging_cluster(load, strategies, "", 100_000)
}

#[test]
fn cancelling_the_losing_copy_saves_its_work_and_never_costs_tail() {
    for load in [0.3, 0.6] {
        let e = hedged(
            load,
            r#"{ name = "least_connections", hedge = "30ms" }, { name = "least_connections", hedge = "30ms", hedge_cancel = true }"#,
        );
        assert_eq!(e.strategies[1].label, "least_connections(hedge=30ms,hedge_cancel)");
        let runs = run_strategy(&e, &e.strategies[0], 0).unwrap();
        let cancels = run_strategy(&e, &e.strategies[1], 0).unwrap();
        let rep = run_replication(&e, &e.strategies[1], 0, 0).unwrap();
        // Each request is answered once; copies lost and cancelled are neither.
        assert_eq!(rep.arrivals, rep.completed + rep.rejected);
        let copies = rep.hedging.as_ref().unwrap().copies;
        assert!(rep.cancelled > 0 && rep.cancelled <= copies, "{} cancelled of {copies} copies", rep.cancelled);
        let c = cancels.cancelled.expect("cancel figures");
        assert_eq!(runs.cancelled.map(|c| c.cancelled), Some(0), "one file: both strategies report the column");
        eprintln!(
            "load {load}: utilisation {:.4} → {:.4} with hedge_cancel ({} cancelled); p99 {:.4} → {:.4} s (± {:.4})",
            runs.utilisation.value,
            cancels.utilisation.value,
            c.cancelled,
            runs.p99.value,
            cancels.p99.value,
            cancels.p99.half_width()
        );
        assert!(cancels.utilisation.value < runs.utilisation.value, "the losers' work is not done");
        assert!(
            cancels.p99.value <= runs.p99.value + widening() * cancels.p99.half_width(),
            "less work cannot lengthen the tail beyond noise"
        );
    }
}

/// Hedging where nobody ever queues: 4 backends × 200 sync workers at load 0.05, exponential
/// service (μ = 100/s) and a fixed hedge delay d = 10 ms (μd = 1). A copy is the same request
/// (the same work S) and starts at once on an idle worker, so it can never answer first: the
/// response is S (mean 1/μ, p99 ln(100)/μ) with or without hedging. A copy is sent when
/// S > d, for a share e^{−μd} of the requests, and the work done per request is exact:
///   without `hedge_cancel` the copy runs to its end, S + 1{S > d} S:
///     E = 1/μ + E[S; S > d] = 1/μ + e^{−μd} (d + 1/μ);
///   with it the copy is taken back when the original answers, S + (S − d)⁺:
///     E = 1/μ + e^{−μd}/μ.
/// Utilisation = λ E / (workers), i.e. the load × E μ.
#[test]
fn hedging_without_queueing_does_exactly_the_work_of_its_copies() {
    let (mu, d): (f64, f64) = (100.0, 0.01);
    let tail = (-mu * d).exp();
    let mean = 1.0 / mu;
    let p99 = 100f64.ln() / mu;
    let load = 0.05;
    let text = |cancel: bool| {
        format!(
            r#"[experiment]
seed = 5
[run]
requests = 200000
warmup = 20000
[arrivals]
load = {load}
[service]
distribution = "exponential"
mean = "10ms"
[[backends]]
name = "web"
count = 4
workers = 200
[balancer]
strategies = [{{ name = "random", hedge = "10ms", hedge_cancel = {cancel} }}]
"#
        )
    };
    for cancel in [false, true] {
        let e = ExperimentFile::parse(Path::new("hedge_race.toml"), &text(cancel)).unwrap().resolve().unwrap();
        let r = run_strategy(&e, &e.strategies[0], 0).unwrap();
        let what = if cancel { "hedge_cancel" } else { "no cancel" };
        common::assert_agrees(
            &format!("hedge at d = 1/μ, no queueing, {what}: mean response"),
            &r.mean_response,
            mean,
            0.01,
        );
        common::assert_agrees(&format!("hedge at d = 1/μ, {what}: p99"), &r.p99, p99, 0.02);
        let work = if cancel { (1.0 + tail) / mu } else { 1.0 / mu + tail * (d + 1.0 / mu) };
        common::assert_agrees(
            &format!("hedge at d = 1/μ, {what}: utilisation"),
            &r.utilisation,
            load * work * mu,
            0.01,
        );
        let rep = run_replication(&e, &e.strategies[0], 0, 0).unwrap();
        let copies = rep.hedging.as_ref().unwrap().copies as f64;
        let n = rep.arrivals as f64;
        // Binomial: the share of requests whose first copy outlives d, 99.9 % normal bound.
        let half = 3.29 * (tail * (1.0 - tail) / n).sqrt();
        eprintln!("hedge at d = 1/μ, {what}: copies {:.5} of requests, exact {tail:.5} ± {half:.5}", copies / n);
        assert!((copies / n - tail).abs() <= half, "{what}: {} copies of {n}", copies);
    }
}

// --- Settings ----------------------------------------------------------------------------

#[test]
fn cancel_settings_are_checked() {
    let clients = |lines: &str| MINIMAL.replace("[service]", &format!("[clients]\n{lines}\n\n[service]"));
    let e = rejection(&clients("cancel = true"));
    assert!(e.contains("cancel") && e.contains("needs a client timeout") && e.contains("inline.toml:5:"), "{e}");
    let e = rejection(&clients("timeout = \"1s\"\ncancel = \"yes\""));
    assert!(e.contains("expected true or false"), "{e}");
    let e = rejection(&clients("timeout = \"1s\"\ncancle = true"));
    assert!(e.contains("cancel"), "did you mean: {e}");
    let e = rejection(&format!("{MINIMAL}hedge_cancel = true\n"));
    assert!(e.contains("hedge_cancel") && e.contains("do not hedge"), "{e}");
    let e =
        rejection(&MINIMAL.replace(
            "strategies = [\"round_robin\"]",
            "strategies = [{ name = \"round_robin\", hedge_cancel = true }]",
        ));
    assert!(e.contains("hedge_cancel") && e.contains("do not hedge"), "{e}");
    let e = rejection(&format!("{MINIMAL}hedge = \"p95\"\nhedge_cancle = true\n"));
    assert!(e.contains("hedge_cancel"), "did you mean: {e}");
    let e = rejection(&clients("timeout = \"1s\"\ncancel = true").replace("[\"round_robin\"]", "[\"central_queue\"]"));
    assert!(e.contains("central_queue") && e.contains("cancel"), "{e}");
    // Valid: the model cancels.
    let text = clients("timeout = \"1s\"\ncancel = true");
    let m = ExperimentFile::parse(Path::new("tests/data/inline.toml"), &text).unwrap().resolve().unwrap().model;
    assert!(m.client.cancel && m.cancels());
    let text = format!("{MINIMAL}hedge = \"20ms\"\nhedge_cancel = true\n");
    let m = ExperimentFile::parse(Path::new("tests/data/inline.toml"), &text).unwrap().resolve().unwrap().model;
    assert!(m.balancer.hedge_cancel && m.cancels());
}

// --- Hedged requests with faults, health checks, retries, timeouts and series ------------

fn two_deterministic(load: f64) -> Model {
    experiment(ServiceDistribution::deterministic(0.05).unwrap(), vec![sync_group("web", 2, 1, 1.0)], load, 1, 0).model
}

#[test]
fn a_hedged_request_fails_only_when_every_copy_failed() {
    // Backend 2 is down throughout. 50 ms requests, a copy after 10 ms. An original sent
    // to backend 2 is refused at once, before any copy exists: the request fails. An
    // original at backend 1 is unanswered at 10 ms, so its copy goes to backend 2 and is
    // refused: the original still answers. So every request either completed (and was
    // hedged) or failed with backend_down.
    let (requests, warmup) = (20_000u64, 1_000u64);
    let mut model = two_deterministic(0.05);
    model.faults =
        vec![lbsim::model::Fault { kind: lbsim::model::FaultKind::Outage { at: 0.0, duration: 1e9 }, backends: 1..2 }];
    model.balancer.hedge = Some(Hedge::After(0.01));
    let s = totals(&simulate(&model, "round_robin", requests, warmup));
    assert_conserved("hedged, one backend down", &s);
    assert_eq!(s.failed.iter().sum::<u64>(), s.failed[Cause::BackendDown as usize]);
    assert_eq!(s.hedges, s.completed, "every original at the live backend is hedged, and answers");
    assert!(s.completed > 0 && s.failed[Cause::BackendDown as usize] > 0, "{s:?}");
    // With a balancer retry, the refused original goes to the live backend instead.
    model.balancer.retries = lbsim::model::Retries { tries: 2, timeout: None };
    let s = totals(&simulate(&model, "round_robin", requests, warmup));
    assert_conserved("hedged with retries", &s);
    assert_eq!(s.completed, s.arrivals, "{s:?}");
}

#[test]
fn a_client_timeout_gives_up_on_both_copies_and_cancel_takes_both_back() {
    // 50 ms requests, a copy after 10 ms, the client gives up at 30 ms: every request times
    // out, once, with two attempts to take back. Without cancel both run their 50 ms.
    let (requests, warmup) = (20_000u64, 1_000u64);
    let mut model = two_deterministic(0.1);
    model.balancer.hedge = Some(Hedge::After(0.01));
    model.client = ClientPolicy { timeout: Some(0.03), ..ClientPolicy::default() };
    let plain = totals(&simulate(&model, "round_robin", requests, warmup));
    assert_conserved("hedged, timed out", &plain);
    assert_eq!(plain.failed[Cause::ClientTimeout as usize], plain.arrivals);
    assert_eq!(plain.hedges, plain.arrivals);
    model.client.cancel = true;
    let cancelled = totals(&simulate(&model, "round_robin", requests, warmup));
    assert_conserved("hedged, timed out, cancelled", &cancelled);
    assert_eq!(cancelled.failed[Cause::ClientTimeout as usize], cancelled.arrivals);
    assert_eq!(cancelled.cancelled, 2 * cancelled.arrivals, "both copies taken back");
    // Work per request: 50 + 50 ms uncancelled; at most 30 + 20 ms cancelled.
    let rate = model.arrivals.mean_rate();
    let (busy_plain, busy_cancelled) = (plain.busy_area / plain.duration, cancelled.busy_area / cancelled.duration);
    eprintln!("hedged + timeout: busy {busy_plain:.4} (λ·0.1 = {:.4}) vs cancelled {busy_cancelled:.4}", rate * 0.1);
    assert!((busy_plain - rate * 0.1).abs() < 0.05 * rate * 0.1);
    assert!(busy_cancelled <= rate * 0.05 * 1.05 && busy_cancelled < 0.6 * busy_plain);
}

#[test]
fn hedging_combines_with_faults_health_checks_retries_timeouts_and_series() {
    let (requests, warmup) = (30_000u64, 2_000u64);
    let mut model =
        experiment(ServiceDistribution::exponential(0.01).unwrap(), vec![sync_group("web", 4, 1, 1.0)], 0.3, 1, 0)
            .model;
    model.faults = vec![lbsim::model::Fault {
        kind: lbsim::model::FaultKind::Failures {
            mtbf: ServiceDistribution::exponential(5.0).unwrap(),
            mttr: ServiceDistribution::exponential(1.0).unwrap(),
        },
        backends: 0..4,
    }];
    model.balancer.health.max_fails = Some(lbsim::model::MaxFails { max_fails: 1, fail_timeout: 0.5 });
    model.balancer.retries = lbsim::model::Retries { tries: 2, timeout: None };
    model.balancer.upstream_timeout = Some(0.5);
    model.client = ClientPolicy { timeout: Some(0.2), retries: 1, backoff: 0.01, ..ClientPolicy::default() };
    for hedge_cancel in [false, true] {
        for cancel in [false, true] {
            model.balancer.hedge = Some(Hedge::After(0.03));
            model.balancer.hedge_cancel = hedge_cancel;
            model.client.cancel = cancel;
            for strategy in ["round_robin", "least_connections"] {
                let o = simulate(&model, strategy, requests, warmup);
                let s = totals(&o);
                let what = format!("{strategy}, hedge_cancel {hedge_cancel}, cancel {cancel}");
                assert_conserved(&what, &s);
                // (Without cancellation a crash can tip this cluster into a metastable
                // overload: copies and client retries of timed-out requests run on.)
                assert!(s.hedges > 0 && s.completed > 0, "{what}: {s:?}");
                eprintln!(
                    "{what}: completed {:.3}, busy {:.3}",
                    s.completed as f64 / s.arrivals as f64,
                    s.busy_area / s.duration
                );
                assert_eq!(s.cancelled > 0, hedge_cancel || cancel, "{what}");
                let with_series = simulate_with(&model, &Params::new(strategy), requests, warmup, Some(1.0));
                assert_eq!(totals(&with_series), s, "{what}: a series changes nothing");
            }
        }
    }
}
