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
