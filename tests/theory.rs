//! The engine against queueing theory. Each check asserts that the closed form lies in the
//! simulation's 99.9 % confidence interval (see `common::assert_agrees`), and that this
//! interval is narrow (a few percent), so a wrong engine cannot pass by being imprecise.

mod common;

use common::*;
use lbsim::model::{Accept, Lifecycle, ServiceDistribution, WorkerClass};
use lbsim::theory;

#[test]
fn one_sync_worker_is_mm1() {
    let e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 1, 1, 1.0)],
        0.7,
        2_000_000,
        50_000,
    );
    let r = run(&e, &spec("round_robin"));
    let rate = e.model.arrivals.mean_rate();
    assert_agrees("M/M/1 mean response", &r.mean_response, theory::mm1_mean_response(rate, 0.01), 0.03);
    assert_agrees("M/M/1 mean wait", &r.mean_wait, theory::mm1_mean_response(rate, 0.01) - 0.01, 0.03);
    assert_agrees("M/M/1 p99", &r.p99, theory::mm1_response_quantile(rate, 0.01, 0.99), 0.04);
    assert_agrees("M/M/1 p50", &r.p50, theory::mm1_response_quantile(rate, 0.01, 0.5), 0.03);
    assert_agrees("M/M/1 utilisation", &r.utilisation, 0.7, 0.01);
    // L = ρ/(1 − ρ).
    assert_agrees("M/M/1 mean number in system", &r.mean_in_system, 0.7 / 0.3, 0.03);
}

#[test]
fn one_backend_with_four_sync_workers_is_mm4() {
    let e = experiment(
        ServiceDistribution::exponential(0.02).unwrap(),
        vec![sync_group("web", 1, 4, 1.0)],
        0.85,
        2_000_000,
        50_000,
    );
    let r = run(&e, &spec("random"));
    let rate = e.model.arrivals.mean_rate();
    assert_agrees("M/M/4 mean response (Erlang C)", &r.mean_response, theory::mmc_mean_response(rate, 0.02, 4), 0.03);
    assert_agrees("M/M/4 utilisation", &r.utilisation, 0.85, 0.01);
}

#[test]
fn deterministic_sizes_follow_pollaczek_khinchine() {
    let e = experiment(
        ServiceDistribution::deterministic(0.01).unwrap(),
        vec![sync_group("web", 1, 1, 1.0)],
        0.8,
        2_000_000,
        50_000,
    );
    let r = run(&e, &spec("random"));
    let rate = e.model.arrivals.mean_rate();
    assert_agrees("M/D/1 mean response", &r.mean_response, theory::mg1_mean_response(rate, 0.01, 1e-4), 0.03);
}

#[test]
fn lognormal_sizes_follow_pollaczek_khinchine() {
    let service = ServiceDistribution::lognormal_mean_cv(0.01, 2.0).unwrap();
    let second = service.second_moment();
    let e = experiment(service, vec![sync_group("web", 1, 1, 1.0)], 0.6, 4_000_000, 100_000);
    let r = run(&e, &spec("random"));
    let rate = e.model.arrivals.mean_rate();
    assert_agrees(
        "M/G/1 lognormal cv 2 mean response",
        &r.mean_response,
        theory::mg1_mean_response(rate, 0.01, second),
        0.05,
    );
}

#[test]
fn a_slower_worker_takes_proportionally_longer() {
    // Speed 0.5 doubles every service time: M/M/1 with E[S] = 20 ms at the same load.
    let e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 1, 1, 0.5)],
        0.7,
        2_000_000,
        50_000,
    );
    let r = run(&e, &spec("random"));
    assert_agrees("M/M/1 at half speed", &r.mean_response, 0.02 / 0.3, 0.03);
}

#[test]
fn an_async_backend_is_processor_sharing_whatever_the_size_distribution() {
    for service in [
        ServiceDistribution::exponential(0.01).unwrap(),
        ServiceDistribution::lognormal_mean_cv(0.01, 3.0).unwrap(),
        ServiceDistribution::deterministic(0.01).unwrap(),
    ] {
        let what = format!("M/G/1-PS with {}", service.describe());
        let e = experiment(service, vec![async_group("app", 1, 1, 1.0)], 0.7, 2_000_000, 50_000);
        let r = run(&e, &spec("random"));
        let rate = e.model.arrivals.mean_rate();
        assert_agrees(&what, &r.mean_response, theory::ps_mean_response(rate, 0.01), 0.04);
        assert_agrees(&format!("{what}: utilisation"), &r.utilisation, 0.7, 0.01);
    }
}

#[test]
fn random_dispatch_to_n_backends_is_n_independent_mm1_queues() {
    let e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 4, 1, 1.0)],
        0.75,
        2_000_000,
        50_000,
    );
    let r = run(&e, &spec("random"));
    let per_backend_rate = e.model.arrivals.mean_rate() / 4.0;
    assert_agrees("random to 4 × M/M/1", &r.mean_response, theory::mm1_mean_response(per_backend_rate, 0.01), 0.03);
}

#[test]
fn gamma_arrivals_follow_the_gm1_formula() {
    // cv = 1/2: Erlang-4 gaps, E_4/M/1.
    let mut e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 1, 1, 1.0)],
        0.8,
        2_000_000,
        50_000,
    );
    let rate = e.model.arrivals.mean_rate();
    e.model.arrivals = lbsim::model::ArrivalProcess::gamma(rate, 0.5).unwrap();
    let r = run(&e, &spec("random"));
    assert_agrees("E_4/M/1 mean response", &r.mean_response, theory::gamma_m1_mean_response(rate, 0.01, 0.5), 0.03);
}

#[test]
fn power_of_two_choices_approaches_its_mean_field_limit() {
    // 500 backends: the mean-field limit is for n → ∞ and the finite-n correction is O(1/n)
    // (Mitzenmacher), about 0.2 % here; allow it on top of the statistical interval.
    let e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 500, 1, 1.0)],
        0.9,
        4_000_000,
        400_000,
    );
    for d in [2u32, 3] {
        let r = run(&e, &spec_with("power_of_d", "d", f64::from(d)));
        let limit = theory::power_of_d_mean_response(0.9, d, 0.01);
        let finite_n = 0.01 * limit;
        let half = r.mean_response.half_width() * widening() + finite_n;
        eprintln!(
            "power-of-{d} over 500 backends: simulated {:.6} ± {:.6} (95%), mean field {limit:.6}, deviation {:+.2}%",
            r.mean_response.value,
            r.mean_response.half_width(),
            (r.mean_response.value / limit - 1.0) * 100.0
        );
        assert!(r.mean_response.half_width() / limit < 0.02, "d={d}: CI too wide: {:?}", r.mean_response);
        assert!(
            (r.mean_response.value - limit).abs() <= half,
            "d={d}: simulated {} vs mean-field {limit} (allowed ± {half})",
            r.mean_response.value
        );
    }
}

#[test]
fn the_mean_field_line_of_power_of_d_needs_more_backends_than_choices() {
    // d distinct samples out of n ≤ d backends are every backend: that is jsq over n, which
    // the mean field of d choices among infinitely many does not describe (an audit found
    // its line drawn for d = 4 over 3 backends).
    for (n, d, line) in [(3, 4, false), (4, 4, false), (5, 4, true), (500, 2, true)] {
        let e = experiment(
            ServiceDistribution::exponential(0.01).unwrap(),
            vec![sync_group("web", n, 1, 1.0)],
            0.9,
            1_000,
            0,
        );
        let predicted = theory::predict(&e.model, "power_of_d", Some(d));
        assert_eq!(predicted.is_some(), line, "n = {n}, d = {d}: {predicted:?}");
        if let Some(p) = predicted {
            assert_eq!(p.mean_response, theory::power_of_d_mean_response(0.9, d, 0.01));
        }
    }
}

#[test]
fn weighted_strategies_give_heterogeneous_backends_equal_utilisation() {
    // Two fast (speed 3) and two slow (speed 1) backends: sending in proportion to capacity
    // makes every backend an M/M/1 at the overall load.
    let backends = vec![sync_group("fast", 2, 1, 3.0), sync_group("slow", 2, 1, 1.0)];
    let e = experiment(ServiceDistribution::exponential(0.01).unwrap(), backends, 0.7, 2_000_000, 50_000);
    for name in ["weighted_random", "weighted_round_robin"] {
        let r = run(&e, &spec(name));
        for b in &r.backends {
            // The per-backend utilisation of a window of ~10⁵ busy periods: its standard
            // error is well under 0.5 %, so 2 points of utilisation is a loose, safe bound.
            assert!((b.utilisation - 0.7).abs() < 0.02, "{name}: {} utilisation {}", b.name, b.utilisation);
        }
    }
    // Unweighted round robin overloads the slow backends: the contrast the test is about.
    let r = run(&e, &spec("round_robin"));
    assert!(
        r.backends.iter().any(|b| b.utilisation > 0.99),
        "round robin should saturate the slow backends: {:?}",
        r.backends
    );
}

#[test]
fn hyperexponential_sizes_follow_pollaczek_khinchine() {
    let service = ServiceDistribution::hyperexponential(0.01, 2.0).unwrap();
    let second = service.second_moment();
    let e = experiment(service, vec![sync_group("web", 1, 1, 1.0)], 0.7, 4_000_000, 100_000);
    let r = run(&e, &spec("random"));
    let rate = e.model.arrivals.mean_rate();
    assert_agrees("M/H2/1 mean response", &r.mean_response, theory::mg1_mean_response(rate, 0.01, second), 0.05);
}

#[test]
fn an_async_backend_with_four_workers_and_exponential_sizes_is_mm4() {
    // With exponential sizes the number in an M/M/c-PS station follows the same birth–death
    // chain as M/M/c-FCFS, so the mean response time is Erlang C's.
    let e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![async_group("app", 1, 4, 1.0)],
        0.8,
        2_000_000,
        50_000,
    );
    let r = run(&e, &spec("random"));
    let rate = e.model.arrivals.mean_rate();
    assert_agrees("M/M/4-PS mean response", &r.mean_response, theory::mmc_mean_response(rate, 0.01, 4), 0.03);
}

#[test]
fn a_central_queue_over_n_backends_is_one_mmn_queue() {
    let e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 8, 1, 1.0)],
        0.9,
        2_000_000,
        50_000,
    );
    let r = run(&e, &spec("central_queue"));
    let rate = e.model.arrivals.mean_rate();
    assert_agrees("central queue = M/M/8", &r.mean_response, theory::mmc_mean_response(rate, 0.01, 8), 0.03);
    let predicted = theory::predict(&e.model, "central_queue", None).unwrap();
    assert_eq!(predicted.mean_response, theory::mmc_mean_response(rate, 0.01, 8));
}

#[test]
fn automatic_warmup_starts_measuring_after_the_initial_transient() {
    // Starting empty, an M/M/1 at load 0.95 needs thousands of requests to fill up; MSER-5
    // must cut them and the estimate must still agree with theory.
    let mut e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 1, 1, 1.0)],
        0.95,
        4_000_000,
        0,
    );
    e.plan.warmup = lbsim::experiment::Warmup::Auto;
    let rep = lbsim::runner::run_replication(&e, &spec("random"), 0, 0).unwrap();
    assert!(rep.warmup > 0, "MSER-5 should delete the start of a run that begins empty");
    let r = run(&e, &spec("random"));
    let rate = e.model.arrivals.mean_rate();
    assert_agrees("M/M/1 at 0.95 with MSER-5 warm-up", &r.mean_response, theory::mm1_mean_response(rate, 0.01), 0.06);
}

#[test]
fn the_95_percent_intervals_cover_the_truth_about_95_percent_of_the_time() {
    // 200 independent M/M/1 runs (different seeds), each with a batch-means interval. The
    // number of intervals that contain the true mean is Binomial(200, 0.95) if the intervals
    // are right: mean 190, standard deviation 3.1. Accept 180–199 (about ±3 sd below, and
    // not a suspicious 200/200, which would mean intervals far too wide).
    let mut e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 1, 1, 1.0)],
        0.7,
        100_000,
        10_000,
    );
    let truth = theory::mm1_mean_response(e.model.arrivals.mean_rate(), 0.01);
    let mut covered = 0;
    for seed in 0..200 {
        e.seed = 1000 + seed;
        if run(&e, &spec("random")).mean_response.contains(truth) {
            covered += 1;
        }
    }
    eprintln!("95% batch-means intervals covering the true M/M/1 mean: {covered}/200");
    assert!((180..200).contains(&covered), "{covered}/200 intervals covered the true mean");
}

// ---- gunicorn backends on hosts with cores (the general station) ----

#[test]
fn pure_io_sync_workers_are_mgc_whatever_the_cores() {
    // Requests that only wait for I/O hold a sync worker but no core: 4 workers on 1 core
    // are M/M/4 (Erlang C), as on 4 cores.
    for cores in [1, 4] {
        let e = experiment_with_io(
            ServiceDistribution::exponential(0.02).unwrap(),
            vec![gunicorn_group("web", 4, WorkerClass::Sync, cores)],
            1.0,
            0.85,
            1_000_000,
            50_000,
        );
        let r = run(&e, &spec("random"));
        let rate = e.model.arrivals.mean_rate();
        let what = format!("pure I/O, 4 sync workers, {cores} core(s) = M/M/4");
        assert_agrees(&what, &r.mean_response, theory::mmc_mean_response(rate, 0.02, 4), 0.03);
        assert_agrees(&format!("{what}: utilisation"), &r.utilisation, 0.85, 0.01);
    }
}

#[test]
fn pure_cpu_sync_workers_on_k_cores_are_processor_sharing_on_k_cores() {
    // Many sync workers (never all busy) time-share K cores: M/G/K-PS, whose mean response
    // is insensitive to the size distribution and equals M/M/K's (Erlang C); with K = 1 it
    // is M/G/1-PS, E[T] = E[S] / (1 − ρ). Lognormal sizes with cv 3 make a FCFS model fail.
    let service = || ServiceDistribution::lognormal_mean_cv(0.01, 3.0).unwrap();
    for (cores, workers) in [(1, 48), (2, 64)] {
        let e = experiment_with_io(
            service(),
            vec![gunicorn_group("web", workers, WorkerClass::Sync, cores)],
            0.0,
            0.7,
            1_000_000,
            50_000,
        );
        let r = run(&e, &spec("random"));
        let rate = e.model.arrivals.mean_rate();
        let theory = if cores == 1 {
            theory::ps_mean_response(rate, 0.01)
        } else {
            theory::mmc_mean_response(rate, 0.01, cores)
        };
        let what = format!("pure CPU, {workers} sync workers on {cores} core(s) = M/G/{cores}-PS");
        assert_agrees(&what, &r.mean_response, theory, 0.04);
    }
}

#[test]
fn gthread_with_reuse_port_and_one_thread_is_c_independent_mg1_queues() {
    // Each worker has its own socket fed by a uniform hash (Poisson splitting) and one
    // thread serving it FCFS: 4 independent M/D/1 queues (Pollaczek–Khinchine).
    let mut group = gunicorn_group("web", 4, WorkerClass::Gthread { threads: 1, worker_connections: 1000 }, 4);
    group.accept = Some(Accept::ReusePort);
    let e =
        experiment_with_io(ServiceDistribution::deterministic(0.01).unwrap(), vec![group], 0.0, 0.7, 1_000_000, 50_000);
    let r = run(&e, &spec("random"));
    let per_worker = e.model.arrivals.mean_rate() / 4.0;
    assert_agrees(
        "gthread, reuse_port, 1 thread = 4 × M/D/1",
        &r.mean_response,
        theory::mg1_mean_response(per_worker, 0.01, 1e-4),
        0.03,
    );
}

#[test]
fn requests_are_conserved_and_littles_law_holds_with_kills_and_restarts() {
    use lbsim::engine::{Window, simulate};
    use lbsim::runner::backend_infos;
    use lbsim::seed::{Purpose, RunSeed};
    use lbsim::strategy::{Params, Setup, build};

    // Heavy tails so that the 200 ms timeout kills workers; max_requests with jitter and a
    // random boot time restart them; 2 cores for 6 workers and 40 % I/O.
    let mut group = gunicorn_group("web", 6, WorkerClass::Sync, 2);
    group.count = 3;
    group.backlog = 64;
    group.lifecycle = Lifecycle {
        timeout: Some(0.2),
        max_requests: 200,
        max_requests_jitter: 50,
        boot_time: Some(ServiceDistribution::uniform(0.05, 0.2).unwrap()),
    };
    let e = experiment_with_io(
        ServiceDistribution::lognormal_mean_cv(0.01, 4.0).unwrap(),
        vec![group],
        0.4,
        0.8,
        400_000,
        20_000,
    );
    let model = &e.model;
    let infos = backend_infos(model);
    let seed = RunSeed::new(7, 0, 0);
    let params = Params::new("least_connections");
    let setup = Setup {
        backends: &infos,
        service: &model.service,
        params: &params,
        addresses: model.addresses,
        rng: seed.stream(Purpose::Strategy),
    };
    let mut strategy = build("least_connections", &setup).unwrap();
    let window = Window { warmup: 20_000, requests: 400_000, sections: 20, histograms: false, series: None };
    let out = simulate(model, &mut strategy, seed, &window);

    let failed = |s: &lbsim::engine::Section| s.failed.iter().sum::<u64>();
    let (mut arrivals, mut completed, mut lost, mut rejected) = (0, 0, 0, 0);
    for s in &out.sections {
        // Every measured request has left by the end of the run: arrived = completed +
        // failed + rejected, section by section.
        assert_eq!(s.arrivals, s.completed + failed(s) + s.rejected, "conservation in a section");
        arrivals += s.arrivals;
        completed += s.completed;
        lost += failed(s);
        rejected += s.rejected;
    }
    eprintln!("kills and restarts: {arrivals} arrived = {completed} completed + {lost} failed + {rejected} rejected");
    assert!(lost > 100, "the timeout must kill workers for this test to mean something ({lost} failures)");
    // (Each of the 18 workers serves about 23 000 requests: some 100 restarts each.)

    // Little's law per section: L = λ W, with W the mean time in system of the section's
    // accepted requests (completed or failed). The differences L − λW are batch means whose
    // 99.9 % interval must contain 0 (boundary effects are far below the noise).
    let diffs: Vec<f64> = out
        .sections
        .iter()
        .map(|s| {
            let accepted = (s.arrivals - s.rejected) as f64;
            let w = (s.sum_response + s.sum_failed_sojourn) / accepted;
            let l = s.in_system_area / s.duration;
            (l - accepted / s.duration * w) / l
        })
        .collect();
    let estimate = lbsim::stats::Estimate::from_observations(diffs.iter().sum::<f64>() / diffs.len() as f64, &diffs);
    let half = estimate.half_width() * widening();
    eprintln!(
        "Little's law with kills and restarts: (L − λW)/L = {:+.4} ± {:.4} (95%)",
        estimate.value,
        estimate.half_width()
    );
    assert!(estimate.half_width() < 0.02, "interval too wide to test: ± {}", estimate.half_width());
    assert!(estimate.value.abs() <= half, "L − λW = {:+.4} of L (99.9% CI ± {half:.4})", estimate.value);
}

#[test]
fn the_share_of_responses_over_an_slo_is_the_mm1_tail() {
    // M/M/1 FCFS: the response time is exponential with rate μ − λ, so
    // P(T > t) = exp(−(μ − λ)·t): exp(−3) ≈ 0.0498 at ρ = 0.7, E[S] = 10 ms, t = 100 ms.
    let mut e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 1, 1, 1.0)],
        0.7,
        2_000_000,
        50_000,
    );
    e.slo_limit = Some(0.1);
    let r = run(&e, &spec("round_robin"));
    let over = r.over_slo.expect("an SLO limit was given");
    assert_eq!(over.limit, 0.1);
    let rate = e.model.arrivals.mean_rate();
    assert_agrees("M/M/1 P(T > 100ms)", &over.fraction, (-(100.0 - rate) * 0.1f64).exp(), 0.05);
    // Without a limit, nothing is counted.
    e.slo_limit = None;
    assert!(run(&e, &spec("round_robin")).over_slo.is_none());
}

#[test]
fn the_95_percent_intervals_of_p_over_slo_cover_the_truth_about_95_percent_of_the_time() {
    // As for the mean above: 200 independent M/M/1 runs, P(T > 50 ms) = exp(−1.5) ≈ 0.223;
    // the count of intervals holding it is Binomial(200, 0.95) when they are right.
    let mut e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 1, 1, 1.0)],
        0.7,
        100_000,
        10_000,
    );
    e.slo_limit = Some(0.05);
    let truth = (-(100.0 - e.model.arrivals.mean_rate()) * 0.05f64).exp();
    let mut covered = 0;
    for seed in 0..200 {
        e.seed = 3000 + seed;
        if run(&e, &spec("random")).over_slo.expect("counted").fraction.contains(truth) {
            covered += 1;
        }
    }
    eprintln!("95% intervals of P(T > 50ms) covering the M/M/1 truth: {covered}/200");
    assert!((180..200).contains(&covered), "{covered}/200 intervals covered P(T > 50ms)");
}

// ---- cases beyond the one-queue textbook forms above ----

/// The batch-means estimate of a per-section ratio `num / den` over a run's sections,
/// centred on the whole run's ratio (as lbsim's own estimates are).
fn section_ratio(
    o: &lbsim::engine::RunOutcome,
    num: impl Fn(&lbsim::engine::Section) -> f64,
    den: impl Fn(&lbsim::engine::Section) -> f64,
) -> lbsim::stats::Estimate {
    let t = totals(o);
    let observations: Vec<f64> = o.sections.iter().map(|s| num(s) / den(s)).collect();
    lbsim::stats::Estimate::from_observations(num(&t) / den(&t), &observations)
}

#[test]
fn round_robin_over_n_exponential_backends_is_n_erlang_n_m1_queues() {
    // Round robin hands backend k every n-th Poisson arrival: its gaps are the sum of n
    // exponential gaps, Erlang-n with mean n/λ (cv 1/√n), so each backend is E_n/M/1 at the
    // cluster's load, whose mean response is E[S]/(1 − σ) with σ the G/M/1 root.
    for (n, load) in [(2u32, 0.8), (4, 0.9)] {
        let e = experiment(
            ServiceDistribution::exponential(0.01).unwrap(),
            vec![sync_group("web", n, 1, 1.0)],
            load,
            2_000_000,
            50_000,
        );
        let r = run(&e, &spec("round_robin"));
        let per_backend = e.model.arrivals.mean_rate() / f64::from(n);
        let theory = theory::gamma_m1_mean_response(per_backend, 0.01, 1.0 / f64::from(n).sqrt());
        assert_agrees(&format!("round robin over {n} × M/M/1 = E_{n}/M/1 at {load}"), &r.mean_response, theory, 0.03);
    }
}

#[test]
fn a_finite_backlog_is_mmck_with_its_blocking_probability() {
    // An FCFS backend admits workers + backlog requests (K = c + backlog) and rejects the
    // rest: M/M/c/K. Both the share rejected and the mean response of the admitted requests
    // are checked against the birth–death chain, each within the 99.9 % interval of its 20
    // section batch means. Load 1.5 is stable too: a loss system always is.
    for (workers, backlog, load) in [(1u32, 4u32, 0.9), (1, 4, 1.5), (4, 2, 0.8), (4, 0, 0.5)] {
        let mut group = sync_group("web", 1, workers, 1.0);
        group.backlog = backlog;
        let e = experiment(ServiceDistribution::exponential(0.01).unwrap(), vec![group], load, 2_000_000, 50_000);
        let rate = e.model.arrivals.mean_rate();
        let exact = theory::mmck(rate, 0.01, workers, workers + backlog);
        let o = simulate(&e.model, "random", 2_000_000, 50_000);
        assert_conserved("M/M/c/K", &totals(&o));
        let what = format!("M/M/{workers}/{} at load {load}", workers + backlog);
        let blocking = section_ratio(&o, |s| s.rejected as f64, |s| s.arrivals as f64);
        assert_agrees(&format!("{what}: blocking"), &blocking, exact.blocking, 0.03);
        let response = section_ratio(&o, |s| s.sum_response, |s| s.completed as f64);
        assert_agrees(&format!("{what}: admitted mean response"), &response, exact.mean_response, 0.03);
        // The runner's summary reports the same share, and the theory lbsim draws and
        // reports beside its results is M/M/c/K (it was M/M/c, blind to the backlog: 100 ms
        // instead of 27.9 ms for M/M/1/5 at 0.9, and none at load 1.5).
        let r = run(&e, &spec("random"));
        assert!((r.rejected_fraction - exact.blocking).abs() <= blocking.half_width() * widening() * 2.0);
        let predicted = theory::predict(&e.model, "random", None).expect("M/M/c/K has a closed form");
        assert_eq!(predicted.mean_response, exact.mean_response, "{what}: {predicted:?}");
    }
}

#[test]
fn least_work_left_over_one_worker_backends_is_the_central_queue() {
    // Sending each request to the FCFS backend with the least unfinished work starts it at
    // the moment the first of c servers frees up — one FCFS queue for c servers (M/G/c),
    // request for request. With exponential sizes: Erlang C.
    let e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 4, 1, 1.0)],
        0.85,
        2_000_000,
        50_000,
    );
    let r = run(&e, &spec("least_work_left"));
    let rate = e.model.arrivals.mean_rate();
    assert_agrees(
        "least work left over 4 × 1 worker = M/M/4",
        &r.mean_response,
        theory::mmc_mean_response(rate, 0.01, 4),
        0.03,
    );
    // With any sizes, the same response times as the central queue on the same arrivals and
    // sizes (common random numbers): equal up to the rounding of the work left.
    let e = experiment(
        ServiceDistribution::lognormal_mean_cv(0.01, 3.0).unwrap(),
        vec![sync_group("web", 6, 1, 1.0)],
        0.9,
        500_000,
        50_000,
    );
    let lwl = run(&e, &spec("least_work_left"));
    let central = run(&e, &spec("central_queue"));
    eprintln!(
        "lognormal cv 3, 6 backends: least_work_left {:?}, central_queue {:?}",
        lwl.mean_response, central.mean_response
    );
    for (what, a, b) in [
        ("mean", lwl.mean_response.value, central.mean_response.value),
        ("p99", lwl.p99.value, central.p99.value),
        ("wait", lwl.mean_wait.value, central.mean_wait.value),
    ] {
        assert!((a - b).abs() <= 1e-9 * b, "{what}: least_work_left {a} vs central_queue {b}");
    }
}

#[test]
fn sita_with_given_cutoffs_is_one_mg1_queue_per_size_interval() {
    // Harchol-Balter, Crovella & Murta (1999): backend k serves the sizes in (x_{k−1}, x_k],
    // a Poisson thinning, so it is M/G/1 with the size distribution truncated to its
    // interval, and Pollaczek–Khinchine applies to each. With exponential sizes (mean m) the
    // partial moments are closed: ∫₀ˣ s dF = m(1 − e^(−y)(1 + y)) and
    // ∫₀ˣ s² dF = 2m²(1 − e^(−y)(1 + y + y²/2)), y = x/m. The mean response is the
    // arrival-weighted mean of the backends' PK means: Σ λ_k T_k / λ.
    let m = 0.01;
    let cutoffs = [0.008, 0.02];
    let e = experiment(
        ServiceDistribution::exponential(m).unwrap(),
        vec![sync_group("web", 3, 1, 1.0)],
        0.7,
        4_000_000,
        100_000,
    );
    let rate = e.model.arrivals.mean_rate();
    let below = |x: f64| {
        if x.is_infinite() {
            return (1.0, m, 2.0 * m * m);
        }
        let y = x / m;
        let tail = (-y).exp();
        (1.0 - tail, m * (1.0 - tail * (1.0 + y)), 2.0 * m * m * (1.0 - tail * (1.0 + y + y * y / 2.0)))
    };
    let mut edges = vec![0.0];
    edges.extend(cutoffs);
    edges.push(f64::INFINITY);
    let mut weighted = 0.0;
    for k in 0..3 {
        let (lo, hi) = (below(edges[k]), below(edges[k + 1]));
        let (share, first, second) = (hi.0 - lo.0, hi.1 - lo.1, hi.2 - lo.2);
        // Backend k: arrival rate λ·share, E[S_k] = first/share, E[S_k²] = second/share.
        let t = theory::mg1_mean_response(rate * share, first / share, second / share);
        eprintln!("sita backend {k}: {:.1}% of requests, load {:.3}, PK mean {t:.6}", share * 100.0, rate * first);
        weighted += share * t;
    }
    let params = lbsim::strategy::Params::new("sita").with(
        "cutoffs",
        lbsim::strategy::ParamValue::List(cutoffs.iter().map(|&x| lbsim::strategy::ParamValue::Number(x)).collect()),
    );
    let strategy = lbsim::experiment::StrategySpec {
        name: "sita".into(),
        label: "sita".into(),
        params,
        balancer: Default::default(),
    };
    let r = run(&e, &strategy);
    assert_agrees("sita [8ms, 20ms] over 3 × M/G/1", &r.mean_response, weighted, 0.03);
}

#[test]
fn processor_sharing_is_insensitive_to_heavy_tails() {
    // M/G/1-PS: E[T | S = x] = x/(1 − ρ) for every size distribution (Kleinrock), so the mean
    // slowdown E[T/S] is 1/(1 − ρ) and the mean response E[S]/(1 − ρ) — exactly, even for
    // Pareto sizes of infinite variance, where FCFS (Pollaczek–Khinchine) has no finite mean.
    // The slowdown is the sharp check: its batch means converge where the mean response's,
    // dominated by the rare giant requests, barely do.
    let cases = [
        ("pareto α=1.5 (infinite variance)", ServiceDistribution::pareto_mean(1.5, 0.01).unwrap(), false),
        ("pareto α=2.5", ServiceDistribution::pareto_mean(2.5, 0.01).unwrap(), true),
        ("bounded pareto α=1.1 on [1ms, 10s]", ServiceDistribution::bounded_pareto(1.1, 0.001, 10.0).unwrap(), false),
    ];
    for (what, service, check_mean) in cases {
        let mean = service.mean();
        let e = experiment(service, vec![async_group("app", 1, 1, 1.0)], 0.7, 4_000_000, 100_000);
        let r = run(&e, &spec("random"));
        let rate = e.model.arrivals.mean_rate();
        assert_agrees(&format!("M/G/1-PS, {what}: mean slowdown"), &r.mean_slowdown, 1.0 / 0.3, 0.03);
        if check_mean {
            assert_agrees(
                &format!("M/G/1-PS, {what}: mean response"),
                &r.mean_response,
                theory::ps_mean_response(rate, mean),
                0.05,
            );
        } else {
            eprintln!(
                "M/G/1-PS, {what}: mean response {:?} vs {}",
                r.mean_response,
                theory::ps_mean_response(rate, mean)
            );
        }
    }
}

#[test]
fn the_mean_slowdown_of_fcfs_is_one_plus_the_wait_times_the_mean_inverse_size() {
    // In M/G/1-FCFS a request's wait is independent of its own size, so
    // E[T/S] = 1 + E[W]·E[1/S]; with sizes uniform on [5, 15] ms, E[1/S] = ln 3 / 10 ms and
    // E[W] = λE[S²]/(2(1 − ρ)) (Pollaczek–Khinchine).
    let service = ServiceDistribution::uniform(0.005, 0.015).unwrap();
    let second = service.second_moment();
    let e = experiment(service, vec![sync_group("web", 1, 1, 1.0)], 0.8, 2_000_000, 50_000);
    let r = run(&e, &spec("random"));
    let rate = e.model.arrivals.mean_rate();
    let wait = theory::mg1_mean_response(rate, 0.01, second) - 0.01;
    assert_agrees("M/U/1 mean slowdown", &r.mean_slowdown, 1.0 + wait * 3f64.ln() / 0.01, 0.03);
}

#[test]
fn bursty_on_off_arrivals_are_the_mmpp_m1_queue() {
    // The on/off process is a two-state MMPP: Poisson at `peak × rate` while on, at the rate
    // that keeps the mean while off, with exponential sojourns. Into one exponential server
    // it is the MMPP(2)/M/1 quasi-birth–death chain, solved exactly by the matrix-geometric
    // method. Bursts of peak 2 at load 0.6 overload the server while they last (1.2), so the
    // mean response is far above M/M/1's — a check of the process's time structure, not
    // only of its mean rate. Sojourns of 10–30 service times make the batch means correlated
    // over longer spans: 8·10⁶ requests keep the interval within ±3 %.
    let mut e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 1, 1, 1.0)],
        0.6,
        8_000_000,
        100_000,
    );
    let rate = e.model.arrivals.mean_rate();
    e.model.arrivals = lbsim::model::ArrivalProcess::on_off(rate, 2.0, 0.1, 0.3).unwrap();
    let lbsim::model::ArrivalProcess::OnOff { peak, mean_on, mean_off, .. } = e.model.arrivals else { unreachable!() };
    let rate_off = rate * (1.0 + (1.0 - peak) * mean_on / mean_off);
    let exact = theory::mmpp2_m1_mean_response([peak * rate, rate_off], [1.0 / mean_on, 1.0 / mean_off], 0.01);
    let r = run(&e, &spec("random"));
    eprintln!("M/M/1 at the same mean rate: {:.6}", theory::mm1_mean_response(rate, 0.01));
    assert_agrees("on/off (peak 2, on 100ms, off 300ms) into M/M/1 = MMPP(2)/M/1", &r.mean_response, exact, 0.03);
    assert_agrees("on/off: throughput = the mean rate", &r.throughput, rate, 0.01);
}

#[test]
fn jsq_and_jiq_sit_between_the_central_queue_and_random_and_reach_the_mean_field_limit() {
    // Identical one-worker exponential backends. No dispatcher beats one central queue
    // (M/M/n keeps min(N, n) servers busy, the most any policy can); JSQ is optimal among
    // dispatchers that see queue lengths (Winston 1977), so it beats JIQ, which only sees
    // idleness; and both beat random (n × M/M/1). On common random numbers, with 99.9 %
    // intervals, at n = 20 where the gaps are wide:
    let e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 20, 1, 1.0)],
        0.9,
        2_000_000,
        100_000,
    );
    let rate = e.model.arrivals.mean_rate();
    let central = theory::mmc_mean_response(rate, 0.01, 20);
    let random = theory::mm1_mean_response(rate / 20.0, 0.01);
    let jsq = run(&e, &spec("jsq")).mean_response;
    let jiq = run(&e, &spec("jiq")).mean_response;
    let w = widening();
    eprintln!(
        "n = 20, ρ = 0.9: M/M/20 {central:.6} ≤ jsq {:.6} ± {:.6} ≤ jiq {:.6} ± {:.6} ≤ random {random:.6}",
        jsq.value,
        jsq.half_width(),
        jiq.value,
        jiq.half_width()
    );
    assert!(jsq.value + jsq.half_width() * w >= central, "jsq below the central queue: {jsq:?} vs {central}");
    assert!(jsq.value < jiq.value, "jsq {jsq:?} should beat jiq {jiq:?}");
    assert!(jiq.value + jiq.half_width() * w < random, "jiq {jiq:?} should beat random ({random})");
    // n → ∞ at fixed ρ < 1 (Stolyar 2015 for JIQ; JSQ is better still): a request finds an
    // idle backend, so waiting vanishes and the mean response is E[S]. At n = 1000 and
    // ρ = 0.9 the finite-n remainder is of the order of the chance that all 1000 are busy,
    // Erlang B(1000, 900) ≈ 10⁻⁴ (×E[S] of wait), far inside the interval of a 10⁶-request run.
    let e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 1000, 1, 1.0)],
        0.9,
        1_000_000,
        100_000,
    );
    for name in ["jsq", "jiq"] {
        let r = run(&e, &spec(name));
        assert_agrees(&format!("{name} over 1000 backends at 0.9 → E[S]"), &r.mean_response, 0.01, 0.01);
        assert!(r.mean_wait.value < 1e-3 * 0.01, "{name}: mean wait {:?}", r.mean_wait);
    }
}

#[test]
fn a_slow_daily_cycle_follows_the_pointwise_stationary_approximation() {
    // λ(t) = λ̄(1 + a·sin(2πt/P)) into one M/M/1, with the period P far longer than the
    // queue's relaxation time (at the peak load 0.9, about 1/(μ(1 − √ρ)²) ≈ 380 E[S]): the
    // queue tracks the M/M/1 of the moment (Whitt 1991, the pointwise stationary
    // approximation, exact as P → ∞ with error O(relaxation/P)), so a request's mean response
    // is ∫λ(t)·E[S]/(1 − λ(t)E[S]) dt / ∫λ(t) dt over a period. P = 10⁵ E[S] makes the error
    // some 0.4 %; the run covers ~130 periods.
    let mut e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 1, 1, 1.0)],
        0.6,
        8_000_000,
        100_000,
    );
    let (rate, amplitude, period) = (e.model.arrivals.mean_rate(), 0.5, 1000.0);
    e.model.arrivals = lbsim::model::ArrivalProcess::diurnal(rate, amplitude, period).unwrap();
    let steps = 100_000;
    let (mut num, mut den) = (0.0, 0.0);
    for k in 0..steps {
        let phase = 2.0 * std::f64::consts::PI * (k as f64 + 0.5) / steps as f64;
        let lambda = rate * (1.0 + amplitude * phase.sin());
        num += lambda * theory::mm1_mean_response(lambda, 0.01);
        den += lambda;
    }
    let psa = num / den;
    let r = run(&e, &spec("random"));
    eprintln!("stationary M/M/1 at the mean rate: {:.6}", theory::mm1_mean_response(rate, 0.01));
    assert_agrees("diurnal (amplitude 0.5, period 1000 s) into M/M/1: PSA", &r.mean_response, psa, 0.03);
    assert_agrees("diurnal: throughput = the mean rate", &r.throughput, rate, 0.01);
}

#[test]
fn the_theory_of_unbounded_queues_is_withheld_where_the_backlog_binds() {
    // Four one-worker backends with a backlog of 3: a random split is 4 × M/M/1/4 (drawn as
    // such), while the power-of-d mean field and M/M/4 assume queues without bound and would
    // draw a wrong line; with the default backlog (2048) they are drawn as before.
    let mut group = sync_group("web", 4, 1, 1.0);
    group.backlog = 3;
    let mut e = experiment(ServiceDistribution::exponential(0.01).unwrap(), vec![group], 0.9, 1000, 0);
    let rate = e.model.arrivals.mean_rate();
    let split = theory::predict(&e.model, "random", None).unwrap();
    assert_eq!(split.mean_response, theory::mmck(rate / 4.0, 0.01, 1, 4).mean_response);
    assert!(theory::predict(&e.model, "power_of_d", Some(2)).is_none());
    assert!(theory::predict(&e.model, "central_queue", None).is_none());
    e.model.backends[0].backlog = 2048;
    assert_eq!(
        theory::predict(&e.model, "random", None).unwrap().mean_response,
        theory::mm1_mean_response(rate / 4.0, 0.01)
    );
    assert_eq!(
        theory::predict(&e.model, "power_of_d", Some(2)).unwrap().mean_response,
        theory::power_of_d_mean_response(0.9, 2, 0.01)
    );
    assert_eq!(
        theory::predict(&e.model, "central_queue", None).unwrap().mean_response,
        theory::mmc_mean_response(rate, 0.01, 4)
    );
}

#[test]
fn evenly_spaced_arrivals_into_one_exponential_server_are_dm1() {
    // D/M/1 (G/M/1 with A*(s) = e^(−s/λ)): the response is exponential with rate μ(1 − σ),
    // σ ∈ (0, 1) the root of σ = e^(−μ(1 − σ)/λ).
    let mut e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 1, 1, 1.0)],
        0.8,
        2_000_000,
        50_000,
    );
    let rate = e.model.arrivals.mean_rate();
    e.model.arrivals = lbsim::model::ArrivalProcess::deterministic(rate).unwrap();
    let (mut lo, mut hi) = (0.0f64, 1.0 - 1e-15);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if (-(1.0 - mid) / (rate * 0.01)).exp() > mid {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let sigma = 0.5 * (lo + hi);
    let r = run(&e, &spec("random"));
    assert_agrees("D/M/1 mean response", &r.mean_response, 0.01 / (1.0 - sigma), 0.03);
    assert_agrees("D/M/1 p99", &r.p99, 0.01 / (1.0 - sigma) * 100f64.ln(), 0.04);
}

#[test]
fn weighted_random_over_unequal_speeds_is_one_mm1_per_backend_at_the_cluster_load() {
    // Sent in proportion to speed s_k, backend k is M/M/1 with E[S]/s_k at load ρ, so a
    // request's mean response is Σ (s_k/Σs)·(E[S]/s_k)/(1 − ρ) = n·E[S]/(Σs·(1 − ρ)): here
    // 4 × 10 ms / (8 × 0.3) = 16.67 ms, against 33.3 ms on the slow backends.
    let backends = vec![sync_group("fast", 2, 1, 3.0), sync_group("slow", 2, 1, 1.0)];
    let e = experiment(ServiceDistribution::exponential(0.01).unwrap(), backends, 0.7, 2_000_000, 50_000);
    let r = run(&e, &spec("weighted_random"));
    assert_agrees("weighted random over speeds 3, 3, 1, 1 at 0.7", &r.mean_response, 4.0 * 0.01 / (8.0 * 0.3), 0.03);
}

#[test]
fn weighted_random_over_identical_backends_weighed_unequally_is_one_mm1_per_share() {
    // Two identical backends weighed 1 : 3 get a quarter and three quarters of a Poisson
    // stream: M/M/1 at 0.3 and at 0.9 (cluster load 0.6), so a request's mean response is
    // ¼·10/0.7 + ¾·10/0.1 = 78.57 ms. The theory line must say the same (it used to take the
    // backends' being identical for an equal split: M/M/1 at 0.6, 25 ms).
    let mut light = sync_group("light", 1, 1, 1.0);
    light.weight = Some(1.0);
    let mut heavy = sync_group("heavy", 1, 1, 1.0);
    heavy.weight = Some(3.0);
    let e = experiment(ServiceDistribution::exponential(0.01).unwrap(), vec![light, heavy], 0.6, 2_000_000, 100_000);
    let exact = 0.25 * 0.01 / 0.7 + 0.75 * 0.01 / 0.1;
    let predicted = theory::predict(&e.model, "weighted_random", None).expect("independent M/M/1 queues");
    assert!((predicted.mean_response - exact).abs() < 1e-12 * exact, "{predicted:?} against {exact}");
    // `random` ignores the weights: two M/M/1 at 0.6.
    let random = theory::predict(&e.model, "random", None).unwrap();
    assert!((random.mean_response - 0.01 / 0.4).abs() < 1e-15, "{random:?}");
    let r = run(&e, &spec("weighted_random"));
    assert_agrees("weighted random 1 : 3 over identical M/M/1 backends at 0.6", &r.mean_response, exact, 0.05);
}

#[test]
fn no_theory_line_where_faults_or_timeouts_change_the_queue() {
    // M/M/1 at 0.8 has its line; a client timeout of 100 ms that cancels the attempt cuts
    // 13.5 % of the requests short (e^{−(μ−λ)τ}, tests/faults.rs) and an outage empties the
    // backend: the M/M/1 mean would be drawn for queues that are not M/M/1.
    use lbsim::model::{ClientPolicy, Fault, FaultKind};
    let mut e =
        experiment(ServiceDistribution::exponential(0.01).unwrap(), vec![sync_group("web", 1, 1, 1.0)], 0.8, 1000, 0);
    assert!(theory::predict(&e.model, "random", None).is_some());
    e.model.client = ClientPolicy { timeout: Some(0.1), cancel: true, ..ClientPolicy::default() };
    assert!(theory::predict(&e.model, "random", None).is_none(), "client timeout");
    e.model.client = ClientPolicy::default();
    e.model.faults = vec![Fault { kind: FaultKind::Outage { at: 1.0, duration: 1.0 }, backends: 0..1 }];
    assert!(theory::predict(&e.model, "random", None).is_none(), "outage");
    e.model.faults.clear();
    e.model.balancer.upstream_timeout = Some(0.1);
    assert!(theory::predict(&e.model, "random", None).is_none(), "upstream timeout");
}

#[test]
fn the_cluster_utilisation_of_unequal_speeds_is_the_offered_load() {
    // A backend of speed 2 and one of speed 1 fed at random at load 0.5 (λ = 150/s, 10 ms):
    // each gets 75/s, so M/M/1 at 0.375 (5 ms) and at 0.75 (10 ms), mean response
    // ½·5/0.625 + ½·10/0.25 = 24 ms. The cluster uses half its capacity, 0.5: busy time
    // counts at its speed (it was the average over workers, (0.375 + 0.75)/2 = 0.5625).
    let backends = vec![sync_group("fast", 1, 1, 2.0), sync_group("slow", 1, 1, 1.0)];
    let e = experiment(ServiceDistribution::exponential(0.01).unwrap(), backends, 0.5, 1_000_000, 50_000);
    let r = run(&e, &spec("random"));
    assert_agrees("random over speeds 2 and 1 at 0.5: mean response", &r.mean_response, 0.024, 0.04);
    assert_agrees("random over speeds 2 and 1 at 0.5: cluster utilisation", &r.utilisation, 0.5, 0.01);
    let fast = r.backends[0].utilisation;
    let slow = r.backends[1].utilisation;
    assert!((fast - 0.375).abs() < 0.01 && (slow - 0.75).abs() < 0.01, "per backend {fast}, {slow}");
}

#[test]
fn the_theory_of_an_async_backend_respects_its_admission_limit() {
    // One async worker admitting 2 connections, a backlog of 3, exponential sizes at 0.9:
    // the number in system is M/M/1/5's chain (27.90 ms for the admitted, 12.6 % rejected),
    // not M/G/1-PS without bound (100 ms), which the line used to draw.
    let mut group = async_group("web", 1, 1, 1.0);
    group.worker_class = WorkerClass::Async { connections: 2 };
    group.backlog = 3;
    let e = experiment(ServiceDistribution::exponential(0.01).unwrap(), vec![group], 0.9, 1_000_000, 50_000);
    let rate = e.model.arrivals.mean_rate();
    let exact = theory::mmck(rate, 0.01, 1, 5);
    let predicted = theory::predict(&e.model, "random", None).expect("M/M/1/K");
    assert_eq!(predicted.mean_response, exact.mean_response);
    let r = run(&e, &spec("random"));
    assert_agrees("async, 2 connections + backlog 3 = M/M/1/5 at 0.9", &r.mean_response, exact.mean_response, 0.02);
    // Admitting one request at a time, lognormal sizes are M/G/1-FCFS (Pollaczek–Khinchine:
    // 68.3 ms at 0.7 with cv 2), not PS (33.3 ms): no closed-form line is drawn for it ...
    let mut one = async_group("web", 1, 1, 1.0);
    one.worker_class = WorkerClass::Async { connections: 1 };
    let lognormal = ServiceDistribution::lognormal_mean_cv(0.01, 2.0).unwrap();
    let e = experiment(lognormal.clone(), vec![one], 0.7, 1000, 0);
    assert!(theory::predict(&e.model, "random", None).is_none());
    // ... while the default limit (1000 connections) never binds at 0.7: M/G/1-PS.
    let e = experiment(lognormal, vec![async_group("web", 1, 1, 1.0)], 0.7, 1000, 0);
    assert_eq!(theory::predict(&e.model, "random", None).unwrap().mean_response, theory::ps_mean_response(70.0, 0.01));
}
