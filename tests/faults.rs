//! Backend faults, health checks and balancer retries.
//!
//! Exact claims are checked exactly (a crashed backend's lost capacity, conservation of
//! requests); counts of random events against their expectation within a Poisson or batch
//! means interval; the error messages of bad fault and health settings.

mod common;

use std::path::Path;

use common::{
    MINIMAL, assert_conserved, experiment, experiment_with_io, gunicorn_group, simulate, simulate_with, sync_group,
    totals, widening,
};
use lbsim::config::ExperimentFile;
use lbsim::engine::{Cause, Section};
use lbsim::model::{
    ClientPolicy, Fault, FaultKind, Health, Lifecycle, MaxFails, Model, Outlier, Probe, Retries, ServiceDistribution,
    WorkerClass,
};
use lbsim::stats::student_t_quantile;
use lbsim::strategy::Params;

/// 4 one-worker sync backends, exponential 10 ms requests (capacity 400/s), at `load`.
fn four(load: f64, requests: u64) -> Model {
    experiment(ServiceDistribution::exponential(0.01).unwrap(), vec![sync_group("web", 4, 1, 1.0)], load, requests, 0)
        .model
}

fn outage(backends: std::ops::Range<u32>, at: f64, duration: f64) -> Fault {
    Fault { kind: FaultKind::Outage { at, duration }, backends }
}

fn failed(s: &Section, cause: Cause) -> u64 {
    s.failed[cause as usize]
}

/// The times of the first and last measured arrivals (the window), from a fault-free run
/// of the same traffic: arrivals do not depend on what the backends do.
fn window_times(model: &Model, requests: u64, warmup: u64) -> (f64, f64) {
    let rate = model.arrivals.mean_rate();
    (warmup as f64 / rate, (warmup + requests) as f64 / rate)
}

#[test]
fn a_scheduled_outage_removes_exactly_its_capacity_from_a_saturated_cluster() {
    // Overloaded (load 2, deep backlogs): every backend is busy all the time it is up, so
    // the cluster's busy time over the window is 4 T, less exactly the outage's D for the
    // one backend that is down — up to the moment its queue refills after it comes back.
    let (requests, warmup) = (60_000u64, 4_000u64);
    let mut model = four(2.0, requests);
    model.backends[0].backlog = 500;
    let base = totals(&simulate(&model, "round_robin", requests, warmup));
    let (t0, t1) = window_times(&model, requests, warmup);
    let (at, duration) = (t0 + 0.3 * (t1 - t0), 20.0);
    model.faults = vec![outage(1..2, at, duration)];
    let hit = totals(&simulate(&model, "round_robin", requests, warmup));
    assert_conserved("outage", &hit);
    assert_conserved("no outage", &base);
    let window = base.duration;
    assert!((base.busy_area - 4.0 * window).abs() < 1e-6 * window, "saturated: {} of {}", base.busy_area, 4.0 * window);
    let lost = base.busy_area - hit.busy_area;
    eprintln!("busy time lost to a {duration} s outage: {lost:.4} s");
    // Round robin sends the revived backend a request every 1/200 s: it is busy again
    // within milliseconds.
    assert!((lost - duration).abs() < 0.05, "capacity lost {lost:.4} s of busy time, outage {duration} s");
    // Every request sent to it while down was refused, and the ≤ 501 inside failed.
    let down = failed(&hit, Cause::BackendDown);
    let rate = model.arrivals.mean_rate() / 4.0;
    let expected = rate * duration;
    let sd = expected.sqrt();
    assert!(down as f64 > expected - 4.0 * sd && (down as f64) < expected + 501.0 + 4.0 * sd, "{down} vs {expected}");
}

#[test]
fn retries_on_another_backend_hide_an_outage_and_count_as_attempts() {
    // Random choice (so that a retry does not move a rotation): the dead backend is picked
    // by a quarter of the requests, a Poisson count, all of which fail or are retried.
    let (requests, warmup) = (100_000u64, 5_000u64);
    let mut model = four(0.5, requests);
    let (t0, t1) = window_times(&model, requests, warmup);
    let duration = 30.0;
    model.faults = vec![outage(2..3, t0 + 0.2 * (t1 - t0), duration)];
    let plain = totals(&simulate(&model, "random", requests, warmup));
    model.balancer.retries = Retries { tries: 2, timeout: None };
    let retried = totals(&simulate(&model, "random", requests, warmup));
    assert_conserved("without retries", &plain);
    assert_conserved("with retries", &retried);
    let expected = model.arrivals.mean_rate() / 4.0 * duration;
    // (+ the few inside at the crash: M/M/1 at ρ = 0.5.)
    let near = |x: u64| (x as f64 - expected).abs() < 4.0 * expected.sqrt() + 10.0;
    let lost = failed(&plain, Cause::BackendDown);
    assert!(near(lost), "{lost} failed, expected {expected}");
    assert_eq!(retried.failed.iter().sum::<u64>(), 0, "a second try on another backend always succeeds here");
    assert!(near(retried.retries), "{} retries, expected {expected}", retried.retries);
}

#[test]
fn nginx_max_fails_limits_refused_requests_to_one_per_fail_timeout() {
    let (requests, warmup) = (100_000u64, 5_000u64);
    let mut model = four(0.5, requests);
    let (t0, t1) = window_times(&model, requests, warmup);
    let duration = 60.0;
    model.faults = vec![outage(0..1, t0 + 0.2 * (t1 - t0), duration)];
    model.balancer.health =
        Health { max_fails: Some(MaxFails { max_fails: 1, fail_timeout: 10.0 }), ..Health::default() };
    let s = totals(&simulate(&model, "round_robin", requests, warmup));
    assert_conserved("max_fails", &s);
    // The requests inside at the crash (M/M/1 at ρ = 0.5: a handful), then one refused
    // attempt at the start and one per 10 s window after it.
    let down = failed(&s, Cause::BackendDown);
    assert!((6..=6 + 15).contains(&down), "{down} failures");
    assert_eq!(failed(&s, Cause::NoBackend), 0);
}

#[test]
fn active_probes_take_the_backend_out_after_fall_intervals_and_back_after_rise() {
    let (requests, warmup) = (100_000u64, 5_000u64);
    let mut model = four(0.5, requests);
    let (t0, t1) = window_times(&model, requests, warmup);
    model.faults = vec![outage(3..4, t0 + 0.2 * (t1 - t0), 60.0)];
    let (interval, fall) = (1.0, 3);
    model.balancer.health = Health { probe: Some(Probe { interval, fall, rise: 2 }), ..Health::default() };
    let s = totals(&simulate(&model, "round_robin", requests, warmup));
    assert_conserved("probes", &s);
    // Refused until the `fall`-th failed probe: between (fall − 1) and fall intervals of
    // its share of the traffic (50/s), plus the few inside at the crash.
    let down = failed(&s, Cause::BackendDown) as f64;
    let share = model.arrivals.mean_rate() / 4.0;
    let (low, high) = (share * (fall - 1) as f64 * interval, share * fall as f64 * interval);
    let slack = 4.0 * high.sqrt();
    assert!(down > low - slack && down < high + 20.0 + slack, "{down} refused, expected {low}–{high}");
}

#[test]
fn with_every_backend_believed_down_requests_fail_unless_the_panic_threshold_routes_anyway() {
    let (requests, warmup) = (40_000u64, 2_000u64);
    let mut model = four(0.5, requests);
    let (t0, t1) = window_times(&model, requests, warmup);
    model.faults = vec![outage(0..4, t0 + 0.3 * (t1 - t0), 20.0)];
    model.balancer.health = Health {
        outlier: Some(Outlier {
            consecutive_errors: 1,
            base_ejection: 5.0,
            max_ejection: 300.0,
            interval: 1.0,
            max_ejection_percent: 100.0,
        }),
        ..Health::default()
    };
    let strict = totals(&simulate(&model, "round_robin", requests, warmup));
    model.balancer.health.panic_threshold = Some(50.0);
    let panicky = totals(&simulate(&model, "round_robin", requests, warmup));
    assert_conserved("strict", &strict);
    assert_conserved("panic", &panicky);
    assert!(failed(&strict, Cause::NoBackend) > 1000, "{:?}", strict.failed);
    assert_eq!(failed(&panicky, Cause::NoBackend), 0, "in panic every backend is tried");
    // In panic mode the 20 s outage costs exactly its traffic; without, the ejections
    // (5 s × their count) outlast it and cost more.
    let all = |s: &Section| s.failed.iter().sum::<u64>() as f64;
    let expected = model.arrivals.mean_rate() * 20.0;
    assert!((all(&panicky) - expected).abs() < 4.0 * expected.sqrt() + 10.0, "{} vs {expected}", all(&panicky));
    assert!(all(&strict) > expected + 4.0 * expected.sqrt(), "{} vs {expected}", all(&strict));
}

#[test]
fn random_failures_make_backends_unavailable_mttr_over_mtbf_plus_mttr_of_the_time() {
    // Round robin without health checks: a request fails iff its backend is down when it
    // arrives (Poisson arrivals see time averages: probability mttr / (mtbf + mttr)) or
    // crashes while it is inside (about E[T] / mtbf for one that arrived while it was up).
    let (requests, warmup) = (300_000u64, 10_000u64);
    let mut model = four(0.3, requests);
    let (mtbf, mttr) = (9.0, 1.0);
    model.faults = vec![Fault {
        kind: FaultKind::Failures {
            mtbf: ServiceDistribution::exponential(mtbf).unwrap(),
            mttr: ServiceDistribution::exponential(mttr).unwrap(),
        },
        backends: 0..4,
    }];
    let o = simulate(&model, "round_robin", requests, warmup);
    let s = totals(&o);
    assert_conserved("failures", &s);
    let unavailable = mttr / (mtbf + mttr);
    let response = 0.01 / (1.0 - 0.3);
    let theory = unavailable + (1.0 - unavailable) * response / mtbf;
    // Batch means over the sections.
    let fractions: Vec<f64> =
        o.sections.iter().map(|s| s.failed[Cause::BackendDown as usize] as f64 / s.arrivals as f64).collect();
    let n = fractions.len() as f64;
    let mean = fractions.iter().sum::<f64>() / n;
    let var = fractions.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let half = student_t_quantile(0.975, n - 1.0) * (var / n).sqrt();
    eprintln!("failed fraction {mean:.5} ± {half:.5} (95%), theory {theory:.5}");
    assert!(half < 0.1 * theory, "interval too wide to test: ±{half}");
    assert!((mean - theory).abs() <= half * widening(), "failed fraction {mean} ± {half}, theory {theory}");
}

#[test]
fn a_rolling_deploy_refuses_each_backends_share_for_its_boot_time_and_loses_nothing_inside() {
    let (requests, warmup) = (100_000u64, 5_000u64);
    let mut model = four(0.5, requests);
    let (t0, t1) = window_times(&model, requests, warmup);
    let boot = 5.0;
    model.faults = vec![Fault { kind: FaultKind::Deploy { at: t0 + 0.2 * (t1 - t0), boot }, backends: 0..4 }];
    let s = totals(&simulate(&model, "round_robin", requests, warmup));
    assert_conserved("deploy", &s);
    // A quarter of the traffic during 4 boots: λ · boot refused, a Poisson count.
    let expected = model.arrivals.mean_rate() * boot;
    let down = failed(&s, Cause::BackendDown) as f64;
    assert!((down - expected).abs() < 4.0 * expected.sqrt(), "{down} refused, expected {expected}");
    // With a retry each refused request goes elsewhere.
    model.balancer.retries = Retries { tries: 2, timeout: None };
    let s = totals(&simulate(&model, "round_robin", requests, warmup));
    assert_eq!(s.failed.iter().sum::<u64>(), 0);
}

/// Requests backend `b` completed fewer with `slow_start` than without, and the Poisson
/// standard deviation of that deficit when backend b's share in each stretch of the ramp is
/// `shares` (one per `step` seconds) instead of a quarter: the arrivals are the same in
/// both runs, so the deficit is Σ N_k (¼ − share_k) with N_k ~ Poisson(λ step).
fn slow_start_deficit(model: &Model, name: &str, b: usize, shares: &[f64], step: f64) -> (f64, f64, f64) {
    let (requests, warmup) = (60_000u64, 2_000u64);
    let plain = simulate_with(model, &Params::new(name), requests, warmup, None);
    let ramped = Params::new(name).with("slow_start", lbsim::strategy::ParamValue::Number(16.0));
    let ramped = simulate_with(model, &ramped, requests, warmup, None);
    assert_conserved("plain", &totals(&plain));
    assert_conserved("slow start", &totals(&ramped));
    let deficit = plain.backends[b].completed as f64 - ramped.backends[b].completed as f64;
    let rate = model.arrivals.mean_rate() * step;
    let expected = rate * shares.iter().map(|s| 0.25 - s).sum::<f64>();
    let sd = (rate * shares.iter().map(|s| (0.25 - s).powi(2)).sum::<f64>()).sqrt();
    eprintln!("{name}: backend {b} got {deficit} fewer requests with slow start, expected {expected:.1} ± {sd:.1}");
    (deficit, expected, sd)
}

#[test]
fn haproxy_slowstart_ramps_a_backend_marked_up_by_probes_in_sixteenths() {
    // Backend 1 of 4 is down for 10 s; probes (every 0.25 s, fall 1, rise 1) take it out
    // and back. With slowstart 16s its eweight is then k + 1 sixteenths of the others' in
    // second k (server_recalc_eweight): a share of (k + 1) / (48 + k + 1) instead of ¼.
    let mut model = four(0.3, 60_000);
    let (t0, t1) = window_times(&model, 60_000, 2_000);
    model.faults = vec![outage(1..2, t0 + 0.3 * (t1 - t0), 10.0)];
    model.balancer.health = Health { probe: Some(Probe { interval: 0.25, fall: 1, rise: 1 }), ..Health::default() };
    let shares: Vec<f64> = (0..16).map(|k| (k as f64 + 1.0) / (49.0 + k as f64)).collect();
    let (deficit, expected, sd) = slow_start_deficit(&model, "haproxy_roundrobin", 1, &shares, 1.0);
    // HAProxy's fwrr is exact over each window of Σ eweight picks; a weight change in the
    // middle of one can cost a pick or two: 2 per step on top of 4 Poisson SD.
    assert!((deficit - expected).abs() < 4.0 * sd + 2.0 * 16.0, "{deficit} vs {expected} ± {sd}");
}

#[test]
fn nginx_slow_start_ramps_a_redeployed_backend_linearly() {
    // Backend 2 of 4 restarts (2 s boot): a deploy brings a new endpoint, so nginx Plus's
    // slow_start ramps its weight linearly over 16 s: share f / (3 + f), f = t / 16, whose
    // mean over the ramp is 1 − 3 ln(4/3); counted here in 1 ms stretches.
    let mut model = four(0.3, 60_000);
    let (t0, t1) = window_times(&model, 60_000, 2_000);
    model.faults = vec![Fault { kind: FaultKind::Deploy { at: t0 + 0.3 * (t1 - t0), boot: 2.0 }, backends: 2..3 }];
    let step = 0.001;
    let shares: Vec<f64> = (0..16_000)
        .map(|k| {
            let f = ((k as f64 + 0.5) * step / 16.0).max(0.01);
            f / (3.0 + f)
        })
        .collect();
    let (deficit, expected, sd) = slow_start_deficit(&model, "nginx_round_robin", 2, &shares, step);
    assert!((expected - 120.0 * 16.0 * (0.25 - (1.0 - 3.0 * (4.0f64 / 3.0).ln()))).abs() < 0.5);
    // Smooth WRR follows changing weights to within a pick or two.
    assert!((deficit - expected).abs() < 4.0 * sd + 4.0, "{deficit} vs {expected} ± {sd}");
}

#[test]
fn a_slowdown_over_the_whole_run_equals_a_slower_cluster() {
    let (requests, warmup) = (50_000u64, 5_000u64);
    for class in ["sync", "async"] {
        let mut slow = four(0.4, requests);
        if class == "async" {
            slow.backends[0].worker_class = lbsim::model::WorkerClass::Async { connections: 1 << 20 };
        }
        let mut fast = slow.clone();
        slow.backends[0].speed = 0.5;
        fast.faults = vec![Fault { kind: FaultKind::Slowdown { at: 0.0, duration: 1e9, factor: 0.5 }, backends: 0..4 }];
        let a = totals(&simulate(&slow, "least_connections", requests, warmup));
        let b = totals(&simulate(&fast, "least_connections", requests, warmup));
        assert_eq!((a.completed, a.rejected), (b.completed, b.rejected), "{class}");
        let rel = (a.sum_response - b.sum_response).abs() / a.sum_response;
        assert!(rel < 1e-9, "{class}: {} vs {}", a.sum_response, b.sum_response);
    }
}

#[test]
fn health_checks_and_retries_with_nothing_failing_change_no_number() {
    // The balancer records endings itself, yet with nothing failing it sees exactly what
    // the fast path does.
    let (requests, warmup) = (50_000u64, 5_000u64);
    let plain = four(0.8, requests);
    let mut guarded = plain.clone();
    guarded.balancer.health = Health {
        max_fails: Some(MaxFails { max_fails: 1, fail_timeout: 10.0 }),
        probe: Some(Probe { interval: 2.0, fall: 3, rise: 2 }),
        ..Health::default()
    };
    guarded.balancer.retries = Retries { tries: 3, timeout: None };
    for strategy in ["round_robin", "least_connections", "power_of_d"] {
        let a = totals(&simulate(&plain, strategy, requests, warmup));
        let b = totals(&simulate(&guarded, strategy, requests, warmup));
        assert_eq!((a.completed, a.rejected, b.failed), (b.completed, b.rejected, [0; Cause::COUNT]), "{strategy}");
        let rel = (a.sum_response - b.sum_response).abs() / a.sum_response;
        assert!(rel < 1e-9, "{strategy}: {} vs {}", a.sum_response, b.sum_response);
        assert!((a.busy_area - b.busy_area).abs() < 1e-9 * a.busy_area, "{strategy}");
    }
}

// --- gunicorn backends with explicit workers (the general station) -----------------------

/// 4 gunicorn backends × 2 `class` workers on 1 core each, exponential 10 ms requests of
/// which `io` is I/O, at `load` of the resulting capacity.
fn four_stations(class: WorkerClass, io: f64, load: f64, requests: u64) -> Model {
    let group = lbsim::model::BackendGroup { count: 4, ..gunicorn_group("web", 2, class, 1) };
    experiment_with_io(ServiceDistribution::exponential(0.01).unwrap(), vec![group], io, load, requests, 0).model
}

#[test]
fn a_station_outage_kills_its_workers_and_removes_exactly_their_capacity() {
    // Saturated, as the FCFS test above: each of a station's 2 sync workers holds a request
    // whenever the backend is up, so the outage costs exactly 2 workers × its duration of
    // busy time; what was inside (computing, in I/O, queued) fails with backend_down.
    let (requests, warmup) = (60_000u64, 4_000u64);
    let mut model = four_stations(WorkerClass::Sync, 0.5, 2.0, requests);
    model.backends[0].backlog = 500;
    let base = totals(&simulate(&model, "round_robin", requests, warmup));
    let (t0, t1) = window_times(&model, requests, warmup);
    let (at, duration) = (t0 + 0.3 * (t1 - t0), 20.0);
    model.faults = vec![outage(1..2, at, duration)];
    let hit = totals(&simulate(&model, "round_robin", requests, warmup));
    assert_conserved("station outage", &hit);
    assert_conserved("station, no outage", &base);
    let window = base.duration;
    assert!((base.busy_area - 8.0 * window).abs() < 1e-6 * window, "saturated: {} of {}", base.busy_area, 8.0 * window);
    let lost = base.busy_area - hit.busy_area;
    eprintln!("station: worker busy time lost to a {duration} s outage: {lost:.4} s (2 workers)");
    assert!((lost - 2.0 * duration).abs() < 0.1, "lost {lost:.4} s of worker time, expected {}", 2.0 * duration);
    let down = failed(&hit, Cause::BackendDown) as f64;
    let expected = model.arrivals.mean_rate() / 4.0 * duration;
    let sd = expected.sqrt();
    assert!(down > expected - 4.0 * sd && down < expected + 502.0 + 4.0 * sd, "{down} vs {expected}");
    assert_eq!(failed(&hit, Cause::WorkerTimeout), 0);
}

#[test]
fn every_worker_class_fails_what_it_holds_at_a_crash_and_serves_again_after() {
    let (requests, warmup) = (60_000u64, 5_000u64);
    let classes = [
        WorkerClass::Sync,
        WorkerClass::Gthread { threads: 2, worker_connections: 10 },
        WorkerClass::Gevent { worker_connections: 10 },
    ];
    for class in classes {
        let mut model = four_stations(class, 0.7, 0.6, requests);
        let (t0, t1) = window_times(&model, requests, warmup);
        model.faults = vec![outage(0..4, t0 + 0.4 * (t1 - t0), 2.0)];
        let o = simulate(&model, "least_connections", requests, warmup);
        let s = totals(&o);
        assert_conserved(&format!("{class:?}"), &s);
        // The whole cluster is down for 2 s: every arrival then is refused, and the requests
        // inside at the crash (about the mean number in system) fail too.
        let expected = model.arrivals.mean_rate() * 2.0;
        let down = failed(&s, Cause::BackendDown) as f64;
        assert!(down > expected - 4.0 * expected.sqrt(), "{class:?}: {down} failed, {expected} refused at least");
        assert!(down < expected + 4.0 * expected.sqrt() + 200.0, "{class:?}: {down} failed");
        // And it serves again: the last section, long after, completes its requests.
        let last = o.sections.last().unwrap();
        assert_eq!(last.failed.iter().sum::<u64>(), 0, "{class:?}");
        assert_eq!(last.completed + last.rejected, last.arrivals, "{class:?}");
    }
}

#[test]
fn a_slowdown_of_a_station_slows_its_cpu_phases_exactly() {
    // The station's speed applies to CPU phases only, as a slow-down does: a whole-run
    // slow-down by 0.5 equals hosts of speed 0.5, I/O waits unchanged.
    let (requests, warmup) = (40_000u64, 4_000u64);
    let mut slow = four_stations(WorkerClass::Gthread { threads: 2, worker_connections: 4 }, 0.3, 0.4, requests);
    let mut fast = slow.clone();
    slow.backends[0].speed = 0.5;
    fast.faults = vec![Fault { kind: FaultKind::Slowdown { at: 0.0, duration: 1e9, factor: 0.5 }, backends: 0..4 }];
    let a = totals(&simulate(&slow, "least_connections", requests, warmup));
    let b = totals(&simulate(&fast, "least_connections", requests, warmup));
    assert_eq!((a.completed, a.rejected), (b.completed, b.rejected));
    let rel = (a.sum_response - b.sum_response).abs() / a.sum_response;
    assert!(rel < 1e-9, "{} vs {}", a.sum_response, b.sum_response);
}

#[test]
fn a_deploy_restarts_station_workers_gracefully() {
    // Each backend refuses connections for the deploy's boot (λ·boot in all, a Poisson
    // count); inside, every worker finishes what it holds and boots again (0.5 s): nothing
    // that was inside fails, and with a retry on another backend nothing fails at all.
    let (requests, warmup) = (100_000u64, 5_000u64);
    let mut model = four_stations(WorkerClass::Sync, 0.5, 0.5, requests);
    model.backends[0].lifecycle =
        Lifecycle { boot_time: Some(ServiceDistribution::deterministic(0.5).unwrap()), ..Lifecycle::default() };
    let (t0, t1) = window_times(&model, requests, warmup);
    let boot = 5.0;
    model.faults = vec![Fault { kind: FaultKind::Deploy { at: t0 + 0.2 * (t1 - t0), boot }, backends: 0..4 }];
    let s = totals(&simulate(&model, "round_robin", requests, warmup));
    assert_conserved("deploy", &s);
    let expected = model.arrivals.mean_rate() * boot;
    let down = failed(&s, Cause::BackendDown) as f64;
    assert!((down - expected).abs() < 4.0 * expected.sqrt(), "{down} refused, expected {expected}");
    model.balancer.retries = Retries { tries: 2, timeout: None };
    let s = totals(&simulate(&model, "round_robin", requests, warmup));
    assert_conserved("deploy with a retry", &s);
    assert_eq!(s.failed.iter().sum::<u64>(), 0);
}

#[test]
fn worker_timeouts_are_failures_the_balancer_retries_and_counts_by_cause() {
    // Sync workers on enough cores, no I/O: a request is killed iff its size exceeds the
    // 30 ms timeout (probability e^{-3} for exponential 10 ms), and its retry, the same
    // request, is killed again. So with one retry the failures are the same requests, each
    // tried twice.
    let (requests, warmup) = (60_000u64, 5_000u64);
    let mut model = four_stations(WorkerClass::Sync, 0.0, 0.5, requests);
    model.backends[0].cores = Some(2);
    model.backends[0].lifecycle = Lifecycle {
        timeout: Some(0.03),
        boot_time: Some(ServiceDistribution::deterministic(0.001).unwrap()),
        ..Lifecycle::default()
    };
    model.balancer.retries = Retries { tries: 2, timeout: None };
    let s = totals(&simulate(&model, "round_robin", requests, warmup));
    assert_conserved("worker timeouts with a retry", &s);
    let killed = failed(&s, Cause::WorkerTimeout) as f64;
    let expected = requests as f64 * (-3.0f64).exp();
    eprintln!("worker timeouts: {killed} failed, expected {expected:.0}; retries {}", s.retries);
    assert!((killed - expected).abs() < 4.0 * expected.sqrt(), "{killed} vs {expected}");
    assert!(s.retries as f64 >= killed, "each failed request was tried twice: {} retries", s.retries);
    assert_eq!(s.failed.iter().sum::<u64>() as f64, killed, "no other cause");
}

// --- Bad input ---------------------------------------------------------------------------

fn error_of(extra: &str) -> String {
    common::rejection(&format!("{MINIMAL}{extra}"))
}

fn resolves(extra: &str) -> Model {
    let text = format!("{MINIMAL}{extra}");
    let file = ExperimentFile::parse(Path::new("tests/data/inline.toml"), &text).expect("valid TOML");
    file.resolve().expect("valid").model
}

#[test]
fn a_fault_file_resolves_to_the_faults_written() {
    let m = resolves(
        "\n[[faults]]\nkind = \"outage\"\nbackend = \"web-2\"\nat = \"60s\"\nfor = \"30s\"\n\n\
         [[faults]]\nkind = \"failures\"\ngroup = \"web\"\nmtbf = \"10m\"\nmttr = { distribution = \"deterministic\", value = \"20s\" }\n\n\
         [[faults]]\nkind = \"deploy\"\nat = 100\nboot = \"8s\"\n",
    );
    assert_eq!(m.faults.len(), 3);
    assert!(matches!(m.faults[0].kind, FaultKind::Outage { at: 60.0, duration: 30.0 }));
    assert_eq!(m.faults[0].backends, 1..2);
    match &m.faults[1].kind {
        FaultKind::Failures { mtbf, mttr } => assert_eq!((mtbf.mean(), mttr.mean()), (600.0, 20.0)),
        other => panic!("{other:?}"),
    }
    assert_eq!(m.faults[2].backends, 0..4);
    assert!(!m.is_plain());
}

#[test]
fn mttr_of_zero_or_less_is_an_error() {
    let e = error_of("\n[[faults]]\nkind = \"failures\"\nmtbf = \"10m\"\nmttr = 0\n");
    assert!(e.contains("mttr") && e.contains("positive"), "{e}");
    assert!(e.contains(":17:"), "names the line: {e}");
    let e = error_of("\n[[faults]]\nkind = \"failures\"\nmtbf = \"10m\"\nmttr = -3\n");
    assert!(e.contains("mttr"), "{e}");
    let e = error_of("\n[[faults]]\nkind = \"failures\"\nmtbf = \"10m\"\n");
    assert!(e.contains("needs \"mttr\""), "{e}");
}

#[test]
fn an_outage_of_an_unknown_backend_suggests_the_nearest_name() {
    let e = error_of("\n[[faults]]\nkind = \"outage\"\nbackend = \"web-5\"\nat = 1\nfor = 1\n");
    assert!(e.contains("unknown backend \"web-5\"") && e.contains("did you mean \"web-"), "{e}");
    let e = error_of("\n[[faults]]\nkind = \"outage\"\nbackend = \"wbe-2\"\nat = 1\nfor = 1\n");
    assert!(e.contains("did you mean \"web-2\""), "{e}");
    let e = error_of("\n[[faults]]\nkind = \"outage\"\ngroup = \"api\"\nat = 1\nfor = 1\n");
    assert!(e.contains("unknown backend group \"api\""), "{e}");
}

#[test]
fn upstream_timeout_and_outlier_timers_are_checked() {
    let e = error_of("upstream_timeout = 0\n");
    assert!(e.contains("upstream_timeout") && e.contains("expected a positive duration"), "{e}");
    assert!(e.contains(":13:"), "names the line: {e}");
    let e = error_of("upstream_timout = \"1s\"\n");
    assert!(e.contains("did you mean \"upstream_timeout\""), "{e}");
    let m = resolves("upstream_timeout = \"250ms\"\n");
    assert_eq!(m.balancer.upstream_timeout, Some(0.25));
    let e = error_of("outlier = { interval = 0 }\n");
    assert!(e.contains("interval") && e.contains("positive duration"), "{e}");
    let e = error_of("outlier = { max_ejection_time = \"300s\" }\n");
    assert!(e.contains("did you mean \"max_ejection\""), "{e}");
    let m = resolves("outlier = { base_ejection = \"10s\", max_ejection = \"1m\", interval = \"5s\" }\n");
    let o = m.balancer.health.outlier.unwrap();
    assert_eq!((o.base_ejection, o.max_ejection, o.interval), (10.0, 60.0, 5.0));
}

#[test]
fn fault_kinds_and_their_keys_are_checked() {
    let e = error_of("\n[[faults]]\nkind = \"outtage\"\n");
    assert!(e.contains("did you mean \"outage\""), "{e}");
    let e = error_of("\n[[faults]]\nkind = \"outage\"\nat = 1\nfor = 1\nfactor = 0.5\n");
    assert!(e.contains("\"factor\" is a setting of faults of kind \"slowdown\""), "{e}");
    let e = error_of("\n[[faults]]\nkind = \"slowdown\"\nat = 1\nfor = 1\nfactor = 0\n");
    assert!(e.contains("speed factor"), "{e}");
    let e = error_of("\n[[faults]]\nkind = \"outage\"\nat = 1\n");
    assert!(e.contains("needs \"for\""), "{e}");
    let e = error_of("\n[[faults]]\nbackend = \"web-1\"\n");
    assert!(e.contains("needs a \"kind\""), "{e}");
}

#[test]
fn fall_or_rise_of_zero_and_percentages_outside_0_to_100_are_errors() {
    let with = |line: &str| {
        MINIMAL.replace("strategies = [\"round_robin\"]", &format!("strategies = [\"round_robin\"]\n{line}"))
    };
    let err = |line: &str| {
        let text = with(line);
        let file = ExperimentFile::parse(Path::new("tests/data/inline.toml"), &text).expect("valid TOML");
        file.resolve().expect_err("rejected").render()
    };
    let e = err("active = { interval = \"1s\", fall = 0 }");
    assert!(e.contains("fall ≥ 1") && e.contains("found 0"), "{e}");
    let e = err("active = { rise = 0 }");
    assert!(e.contains("rise ≥ 1"), "{e}");
    let e = err("panic_threshold = 150");
    assert!(e.contains("percentage between 0 and 100"), "{e}");
    let e = err("outlier = { max_ejection_percent = -1 }");
    assert!(e.contains("percentage between 0 and 100"), "{e}");
    let e = err("retries = { tries = 0 }");
    assert!(e.contains("tries ≥ 1"), "{e}");
    let e = err("passive = { max_fails = 1, fail_timeout = 0 }");
    assert!(e.contains("positive duration"), "{e}");
    let e = err("passive = { max_fail = 1 }");
    assert!(e.contains("did you mean \"max_fails\""), "{e}");
}

#[test]
fn health_settings_in_a_strategy_table_apply_to_its_runs_only() {
    let text = MINIMAL.replace(
        "strategies = [\"round_robin\"]",
        "strategies = [\"round_robin\", { name = \"round_robin\", passive = { max_fails = 2 }, retries = { tries = 3 } }]",
    );
    let file = ExperimentFile::parse(Path::new("tests/data/inline.toml"), &text).expect("valid TOML");
    let e = file.resolve().expect("valid");
    assert!(e.model.is_plain());
    let s = &e.strategies[1];
    assert_eq!(s.label, "round_robin(max_fails=2,tries=3)");
    let m = s.model(&e.model);
    assert_eq!(m.balancer.health.max_fails, Some(MaxFails { max_fails: 2, fail_timeout: 10.0 }));
    assert_eq!(m.balancer.retries.tries, 3);
    assert!(!m.is_plain());
}

// --- Client timeouts and retries -----------------------------------------------------------

/// M/M/1 FCFS (μ = 100/s) at load 0.8 with a timeout τ = 0.1 s that `set` puts on the
/// model: the backend still serves the requests given up on, so the queue stays M/M/1's,
/// the response time is exponential with rate μ − λ, and the share failing with `cause` is
/// e^{−(μ−λ)τ}; the ones that completed are those faster than τ. Returns the run's totals.
fn check_mm1_timeout(what: &str, cause: Cause, set: impl FnOnce(&mut Model, f64)) -> Section {
    let (requests, warmup) = (400_000u64, 20_000u64);
    let mut model = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 1, 1, 1.0)],
        0.8,
        requests,
        0,
    )
    .model;
    let tau = 0.1;
    set(&mut model, tau);
    let o = simulate(&model, "round_robin", requests, warmup);
    let s = totals(&o);
    assert_conserved(what, &s);
    let theory = (-(100.0f64 - 80.0) * tau).exp();
    let fractions: Vec<f64> = o.sections.iter().map(|s| failed(s, cause) as f64 / s.arrivals as f64).collect();
    let (mean, half) = batch_mean(&fractions);
    eprintln!("{what}: {mean:.5} ± {half:.5} (95%), theory {theory:.5}");
    assert!(half < 0.1 * theory);
    assert!((mean - theory).abs() <= half * widening(), "{mean} ± {half} vs {theory}");
    assert!(s.sum_response / (s.completed as f64) < tau);
    s
}

#[test]
fn a_client_timeout_fails_exactly_the_requests_slower_than_it() {
    check_mm1_timeout("timed out", Cause::ClientTimeout, |model, tau| {
        model.client = ClientPolicy { timeout: Some(tau), ..ClientPolicy::default() };
    });
}

#[test]
fn an_upstream_timeout_fails_exactly_the_attempts_slower_than_it() {
    // The balancer gives up on the attempts whose response takes longer than τ (504).
    let s = check_mm1_timeout("upstream timeouts", Cause::UpstreamTimeout, |model, tau| {
        model.balancer.upstream_timeout = Some(tau);
    });
    assert_eq!(s.failed.iter().sum::<u64>(), failed(&s, Cause::UpstreamTimeout));
}

#[test]
fn upstream_timeouts_are_retried_within_tries_and_the_retry_timeout_and_the_backends_do_all_the_work() {
    // Every request takes 0.2 s at a backend and the balancer waits 0.1 s per attempt: each
    // attempt times out. With 3 tries a request is tried 3 times (0, 0.1, 0.2 s) and fails
    // with a 504; the backends still serve every attempt to the end.
    let (requests, warmup) = (20_000u64, 1_000u64);
    let mut model = experiment(
        ServiceDistribution::deterministic(0.2).unwrap(),
        vec![sync_group("web", 4, 1, 1.0)],
        0.1,
        requests,
        0,
    )
    .model;
    model.balancer.upstream_timeout = Some(0.1);
    model.balancer.retries = Retries { tries: 3, timeout: None };
    let s = totals(&simulate(&model, "round_robin", requests, warmup));
    assert_conserved("tries", &s);
    assert_eq!(failed(&s, Cause::UpstreamTimeout), s.arrivals, "every request times out");
    assert_eq!(s.retries, 2 * s.arrivals, "3 attempts each");
    let work = s.busy_area / s.duration;
    let expected = 3.0 * 0.2 * model.arrivals.mean_rate();
    eprintln!("busy backends: {work:.4}, 3 attempts × 0.2 s × λ = {expected:.4}");
    assert!((work - expected).abs() < 0.05 * expected, "the cut attempts run on: {work} vs {expected}");
    // nginx proxy_next_upstream_timeout 0.15 s: the third attempt (at 0.2 s) is not made.
    model.balancer.retries = Retries { tries: 3, timeout: Some(0.15) };
    let s = totals(&simulate(&model, "round_robin", requests, warmup));
    assert_eq!(s.retries, s.arrivals, "2 attempts each");
    // A client that waits 0.25 s gives up during the third attempt: its own timeout wins.
    model.balancer.retries = Retries { tries: 3, timeout: None };
    model.client = ClientPolicy { timeout: Some(0.25), ..ClientPolicy::default() };
    let s = totals(&simulate(&model, "round_robin", requests, warmup));
    assert_conserved("client", &s);
    assert_eq!(failed(&s, Cause::ClientTimeout), s.arrivals);
    assert_eq!(s.retries, 2 * s.arrivals);
}

#[test]
fn client_retries_against_a_dead_cluster_make_exactly_one_plus_retries_attempts_unless_budgeted() {
    let (requests, warmup) = (20_000u64, 1_000u64);
    let mut model = four(0.5, requests);
    model.faults = vec![outage(0..4, 0.0, 1e6)];
    model.client = ClientPolicy { retries: 3, backoff: 0.05, ..ClientPolicy::default() };
    let s = totals(&simulate(&model, "round_robin", requests, warmup));
    assert_conserved("retries", &s);
    assert_eq!(s.retries, 3 * s.arrivals, "every request tried 4 times");
    assert_eq!(failed(&s, Cause::BackendDown), s.arrivals);
    // A 10 % budget: retries in progress ≤ max(3, 10 % of the requests in flight). About
    // λ × E[backoff] ≈ 200/s × (0.025 + 0.05 + 0.1) s ≈ 35 requests are in flight if all
    // retry, so the budget allows about 3 at a time: most requests are not retried.
    model.client.budget = Some(10.0);
    let b = totals(&simulate(&model, "round_robin", requests, warmup));
    assert_conserved("budget", &b);
    assert!(b.retries > 0 && b.retries < s.arrivals / 2, "{} retries for {} requests", b.retries, b.arrivals);
}

fn batch_mean(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, student_t_quantile(0.975, n - 1.0) * (var / n).sqrt())
}

#[test]
fn client_settings_are_checked() {
    let with = |lines: &str| MINIMAL.replace("[service]", &format!("[clients]\n{lines}\n\n[service]"));
    let err = |lines: &str| {
        let text = with(lines);
        let file = ExperimentFile::parse(Path::new("tests/data/inline.toml"), &text).expect("valid TOML");
        file.resolve().expect_err("rejected").render()
    };
    let e = err("retries = 2\nretry_budget = 120");
    assert!(e.contains("retry_budget") && e.contains("percentage between 0 and 100"), "{e}");
    let e = err("retries = 2\nretry_budget = -5");
    assert!(e.contains("percentage between 0 and 100"), "{e}");
    let e = err("timeout = 0");
    assert!(e.contains("positive duration for timeout"), "{e}");
    let e = err("retries = 2\nbackoff = \"1s\"\nmax_backoff = \"100ms\"");
    assert!(e.contains("max_backoff must be ≥ backoff"), "{e}");
    let text = with("timeout = \"2s\"\nretries = 3\nretry_budget = 20");
    let file = ExperimentFile::parse(Path::new("tests/data/inline.toml"), &text).expect("valid TOML");
    let m = file.resolve().expect("valid").model;
    assert_eq!(
        m.client,
        ClientPolicy { timeout: Some(2.0), retries: 3, budget: Some(20.0), ..ClientPolicy::default() }
    );
}

#[test]
fn asking_for_a_series_changes_no_number_and_counts_every_completion() {
    let (requests, warmup) = (50_000u64, 5_000u64);
    let model = four(0.7, requests);
    let run = |series: Option<f64>| simulate_with(&model, &Params::new("least_connections"), requests, warmup, series);
    let (plain, with) = (run(None), run(Some(1.0)));
    let (a, b) = (totals(&plain), totals(&with));
    assert_eq!((a.completed, a.rejected), (b.completed, b.rejected));
    assert!((a.sum_response - b.sum_response).abs() < 1e-9 * a.sum_response);
    let series = with.series.expect("a series");
    let counted: f64 = series.rows.iter().map(|r| r.goodput * series.width).sum();
    let arrived: f64 = series.rows.iter().map(|r| r.arrival_rate * series.width).sum();
    // Every request completes (no faults); the run ends once the measured ones are done,
    // so a few later arrivals may still be inside.
    assert!(counted <= arrived && arrived - counted < 100.0, "{counted} completed of {arrived}");
    assert!(arrived >= (warmup + requests) as f64);
    assert!(plain.series.is_none());
}

#[test]
fn a_balancer_that_records_still_gives_each_station_its_own_response_times() {
    // Two gunicorn backends (4 sync workers on 2 cores, 30 % I/O) at load 0.7. A client
    // timeout of 1 000 s never fires but sends the run through the event layer, where the
    // balancer records completions and the stations see only unmeasured requests: each
    // backend's mean and p99 must still be those of the direct run (same draws, same
    // requests on the same backends).
    let mut group = gunicorn_group("web", 4, lbsim::model::WorkerClass::Sync, 2);
    group.count = 2;
    let direct =
        experiment_with_io(ServiceDistribution::exponential(0.02).unwrap(), vec![group], 0.3, 0.7, 20_000, 2_000).model;
    let mut recorded = direct.clone();
    recorded.client = ClientPolicy { timeout: Some(1000.0), ..ClientPolicy::default() };
    let a = simulate(&direct, "round_robin", 20_000, 2_000);
    let b = simulate(&recorded, "round_robin", 20_000, 2_000);
    assert_eq!(totals(&b).completed, totals(&a).completed);
    for (i, (x, y)) in a.backends.iter().zip(&b.backends).enumerate() {
        let (x, y) = (x.response.expect("the direct run's"), y.response.expect("recorded by the balancer"));
        assert!((x.0 - y.0).abs() <= 1e-9 * x.0, "backend {i}: mean {} vs {}", x.0, y.0);
        assert_eq!(x.1, y.1, "backend {i}: p99");
    }
}
