//! The honesty of lbsim's statistics, at the cases where they once failed (issue 8): tail
//! percentile intervals that cover, an automatic warm-up without bias, and a saturation
//! verdict that is right in both directions. Each test runs many short, independent runs
//! (fixed seeds) and checks a frequency against its binomial range.
//!
//! `cargo test --release --test statistics -- --nocapture` prints the measured figures the
//! README quotes.

mod common;

use common::*;
use lbsim::experiment::Warmup;
use lbsim::model::ServiceDistribution;
use lbsim::runner::{Warning, combine, run_replication};
use lbsim::stats::Estimate;
use lbsim::theory;

/// P(X ≤ k) for X ~ Binomial(n, p).
fn binomial_cdf(k: u32, n: u32, p: f64) -> f64 {
    let mut term = (1.0 - p).powi(n as i32); // P(X = 0)
    let mut sum = term;
    for j in 1..=k {
        term *= (n - j + 1) as f64 / j as f64 * p / (1.0 - p);
        sum += term;
    }
    sum
}

/// True when `covered` of `n` 95 % intervals is a plausible count: not below the binomial's
/// 0.5 % quantile (a one-sided 99.5 % check: 40 intervals accept 34–40).
fn plausible_coverage(covered: u32, n: u32) -> bool {
    binomial_cdf(covered, n, 0.95) > 0.005
}

#[test]
fn binomial_range_is_the_documented_one() {
    assert!(!plausible_coverage(33, 40) && plausible_coverage(34, 40) && plausible_coverage(40, 40));
    // The old section-quantile interval's p99.9 record (30 of 40) fails.
    assert!(!plausible_coverage(30, 40));
}

#[test]
fn percentile_intervals_of_mm1_at_0_9_cover_the_truth() {
    // M/M/1 at ρ = 0.9: the response time is exponential with rate μ − λ, so the p-quantile
    // is −ln(1 − p)/(μ − λ) (p99.9 = 0.6908 s with 10 ms requests). 40 seeds of 2·10⁶
    // requests: long enough that most runs hold enough congestion episodes for an honest
    // p99.9 interval; those that do not say so (no interval) instead of printing a narrow one.
    let mut e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 1, 1, 1.0)],
        0.9,
        2_000_000,
        20_000,
    );
    let s = spec("random");
    let levels = [("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)];
    let truth = |p: f64| -(1.0f64 - p).ln() / 10.0;
    let (mut covered, mut given, mut old_covered) = ([0u32; 3], [0u32; 3], [0u32; 3]);
    let seeds = 40;
    for seed in 0..seeds {
        e.seed = 1 + u64::from(seed);
        let rep = run_replication(&e, &s, 0, 0).unwrap();
        let r = combine(&e, &s, std::slice::from_ref(&rep));
        assert!(!r.saturated, "a stable M/M/1 at 0.9 is not saturated (seed {})", e.seed);
        let estimates = [r.p50, r.p99, r.p999];
        let old =
            [section_interval(&rep, |m| m.p50), section_interval(&rep, |m| m.p99), section_interval(&rep, |m| m.p999)];
        for k in 0..3 {
            let t = truth(levels[k].1);
            if estimates[k].has_interval() {
                given[k] += 1;
                covered[k] += u32::from(estimates[k].contains(t));
            }
            old_covered[k] += u32::from(old[k].contains(t));
        }
        assert_eq!(r.warnings.contains(&Warning::NoP999Interval), !r.p999.has_interval());
    }
    for k in 0..3 {
        eprintln!(
            "M/M/1 ρ=0.9, 2e6 requests, {}: interval given {}/{seeds}, covers {}/{} (section quantiles: {}/{seeds})",
            levels[k].0, given[k], covered[k], given[k], old_covered[k]
        );
    }
    // p50 and p99 always have enough exceedances.
    assert_eq!(&given[..2], &[seeds, seeds]);
    for k in 0..3 {
        assert!(plausible_coverage(covered[k], given[k]), "{}: {}/{} cover", levels[k].0, covered[k], given[k]);
    }
    assert!(given[2] >= 30, "p99.9 intervals given for only {}/{seeds} runs of 2e6 requests", given[2]);
}

/// A single run's p99 and p99.9 intervals (test inversion of the bootstrap-t over the
/// sections) cover the truth at the nominal rate where the run is long enough to give them:
/// M/M/1 at ρ = 0.9, 10⁶ requests (10⁵ discarded), seeds 1–200 (the runs of
/// `lbsim run --set experiment.seed=…`). The p99.9 rests on 1 000 exceedances from a
/// handful of congestion episodes. The method before (Student's t on the exceedance fraction
/// at the run's own quantile, mapped back) gave a p99.9 interval in 81 of these 200 runs and
/// covered the truth in 68 of them (84 %): both checks below fail for it. Measured with the
/// inversion: 192 given, 187 covering (97.4 %).
#[test]
fn tail_percentile_intervals_of_one_run_cover_the_truth() {
    let mut e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 1, 1, 1.0)],
        0.9,
        1_000_000,
        100_000,
    );
    let s = spec("round_robin");
    let levels = [("p99", 0.99), ("p99.9", 0.999)];
    let truth = |p: f64| -(1.0f64 - p).ln() / 10.0;
    let (mut covered, mut given, mut filling) = ([0u32; 2], [0u32; 2], 0);
    let seeds = 200;
    for seed in 1..=seeds {
        e.seed = u64::from(seed);
        let r = run(&e, &s);
        filling += u32::from(r.warnings.contains(&Warning::StillFilling));
        for (k, estimate) in [r.p99, r.p999].iter().enumerate() {
            if estimate.has_interval() {
                given[k] += 1;
                covered[k] += u32::from(estimate.contains(truth(levels[k].1)));
            }
        }
        assert_eq!(r.warnings.contains(&Warning::NoP999Interval), !r.p999.has_interval());
    }
    for k in 0..2 {
        eprintln!(
            "M/M/1 ρ=0.9, 1e6 requests, {}: interval given {}/{seeds}, covers {}/{}",
            levels[k].0, given[k], covered[k], given[k]
        );
        assert!(plausible_coverage(covered[k], given[k]), "{}: {}/{} cover", levels[k].0, covered[k], given[k]);
    }
    assert_eq!(given[0], seeds, "p99 has 10 000 exceedances in every run");
    // These runs are steady (the warm-up is 300 relaxation times), so `still_filling` is a
    // false alarm here: its test's nominal rate is 0.05 % (0.1 of 200 runs expected); at most
    // 2 allows for the sections' correlation, which makes a trend look more significant.
    eprintln!("M/M/1 ρ=0.9, 1e6 requests: still_filling in {filling}/{seeds} steady runs");
    assert!(filling <= 2, "still_filling in {filling}/{seeds} steady runs");
    // A run of 10⁶ requests is long enough for its p99.9: an interval in at least 90 % of runs.
    assert!(given[1] >= seeds * 9 / 10, "p99.9 intervals given for only {}/{seeds} runs", given[1]);
}

/// The interval lbsim used to give: a t interval over the sections' own quantiles.
fn section_interval(rep: &lbsim::runner::Replication, f: fn(&lbsim::runner::Metrics) -> f64) -> Estimate {
    let sections: Vec<f64> = rep.sections.iter().map(f).collect();
    Estimate::from_observations(f(&rep.overall), &sections)
}

#[test]
fn a_run_too_short_for_its_p999_gets_no_interval() {
    // 10⁵ requests at ρ = 0.9: about 100 responses above p99.9, from one or two congestion
    // episodes. The run must say so rather than print an interval. (Its p99 may be refused
    // too, for the same reason; its median never is.)
    let mut e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 1, 1, 1.0)],
        0.9,
        100_000,
        10_000,
    );
    let mut refused = 0;
    for seed in 0..10 {
        e.seed = 100 + seed;
        let r = run(&e, &spec("random"));
        if !r.p999.has_interval() {
            refused += 1;
            assert!(r.warnings.contains(&Warning::NoP999Interval));
        }
        assert!(r.p50.has_interval());
    }
    eprintln!("M/M/1 ρ=0.9, 1e5 requests: p99.9 interval refused in {refused}/10 runs");
    assert!(refused >= 9, "p99.9 interval refused in only {refused}/10 runs of 1e5 requests");
}

/// The mean of `xs` and its standard error (sample standard deviation over √n).
fn mean_and_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    (mean, (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt())
}

/// Percentiles over several replications are those of their responses pooled: the mean of
/// each replication's own percentile carries its bias from the replication's length, which
/// adding replications does not reduce (an audit found 20 replications of 5 000 requests
/// put M/M/4's p99 5.6 % low, its interval covering the truth 68 % of the time). M/M/1 at
/// ρ = 0.8, p99 = 230.3 ms with 10 ms requests, 40 seeds each:
/// - 20 replications of 5 000 requests (50 responses above p99 each): the pooled p99 is
///   unbiased within 3 standard errors, the mean of the replications' own (the old estimate)
///   is more than 3 below the truth; no p99 interval is given, and the run says so;
/// - 10 replications of 20 000 requests (200 above p99 each): the intervals cover the
///   truth at the nominal rate.
#[test]
fn percentiles_over_replications_are_pooled_and_cover_the_truth() {
    let truth = -(0.01f64).ln() / (100.0 - 80.0);
    let s = spec("random");
    let seeds = 40;
    for (replications, requests) in [(20, 5_000), (10, 20_000)] {
        let mut e = experiment(
            ServiceDistribution::exponential(0.01).unwrap(),
            vec![sync_group("web", 1, 1, 1.0)],
            0.8,
            requests,
            requests / 10,
        );
        e.plan.replications = replications;
        let (mut covered, mut pooled, mut averaged) = (0, Vec::new(), Vec::new());
        for seed in 0..seeds {
            e.seed = 500 + u64::from(seed);
            let reps: Vec<_> = (0..replications).map(|r| run_replication(&e, &s, 0, r).unwrap()).collect();
            let r = combine(&e, &s, &reps);
            assert_eq!(r.p99.has_interval(), requests > 5_000, "seed {}", e.seed);
            assert_eq!(r.warnings.contains(&Warning::NoP99Interval), !r.p99.has_interval());
            covered += u32::from(r.p99.contains(truth));
            pooled.push(r.p99.value);
            averaged.push(reps.iter().map(|rep| rep.overall.p99).sum::<f64>() / reps.len() as f64);
        }
        let ((p, p_se), (a, a_se)) = (mean_and_se(&pooled), mean_and_se(&averaged));
        eprintln!(
            "M/M/1 ρ=0.8, {replications} × {requests} requests, p99 (truth {truth:.5}): pooled {p:.5} ± {p_se:.5} \
             (covers {covered}/{seeds}); mean of the replications' p99 {a:.5} ± {a_se:.5}"
        );
        assert!((p - truth).abs() < 3.0 * p_se, "pooled p99 {p} ± {p_se} against {truth}");
        if requests == 5_000 {
            assert!(truth - a > 3.0 * a_se, "the replications' own p99 average {a} ± {a_se}: not biased?");
        } else {
            assert!(plausible_coverage(covered, seeds), "{covered}/{seeds} cover");
        }
    }
}

#[test]
fn automatic_warmup_is_unbiased_on_mm4_at_0_95() {
    // M/M/4 at ρ = 0.95, 2·10⁵ requests, warm-up by MSER-5: over 100 seeds the mean of the
    // estimates must agree with the Erlang C mean (54.571 ms) within 2 standard errors. With
    // the pilot on the measured run's own random streams it was 53.53 ms (z = −3.3).
    let mut e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 1, 4, 1.0)],
        0.95,
        200_000,
        0,
    );
    e.plan.warmup = Warmup::Auto;
    let truth = theory::mmc_mean_response(e.model.arrivals.mean_rate(), 0.01, 4);
    let seeds = 100;
    let mut means = Vec::new();
    let mut covered = 0;
    for seed in 0..seeds {
        e.seed = 5000 + seed;
        let r = run(&e, &spec("random"));
        covered += u32::from(r.mean_response.contains(truth));
        means.push(r.mean_response.value);
    }
    let n = means.len() as f64;
    let mean = means.iter().sum::<f64>() / n;
    let sd = (means.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let z = (mean - truth) / (sd / n.sqrt());
    eprintln!(
        "M/M/4 ρ=0.95, MSER-5 warm-up, {seeds} seeds: mean {:.3} ms vs {:.3} ms ({:+.2}%, z = {z:+.2}); {covered}/{seeds} intervals cover",
        mean * 1e3,
        truth * 1e3,
        (mean / truth - 1.0) * 100.0
    );
    assert!(z.abs() < 2.0, "automatic warm-up biased: z = {z:.2}");
    assert!(plausible_coverage(covered, seeds as u32), "{covered}/{seeds} intervals cover");
}

#[test]
fn automatic_warmup_waits_for_the_cluster_to_fill() {
    // JSQ over 2 000 one-worker backends at ρ = 0.5: an arrival almost always finds an idle
    // backend, so response times are stationary from the first request, while the cluster
    // fills from empty with the service time's time constant (50 ms; the window is 10 000
    // arrivals, 0.5 s). The steady state has L = λ·E[S] = 1 000 requests inside and
    // utilisation 0.5. Cut by the responses alone, the window kept the filling: L about 10 %
    // low (8 seeds: 902 ± 4). Over 8 seeds the mean must be within 3 standard errors of the
    // truth, and so must the utilisation.
    let mut e = experiment(
        ServiceDistribution::exponential(0.05).unwrap(),
        vec![sync_group("web", 2_000, 1, 1.0)],
        0.5,
        10_000,
        0,
    );
    e.plan.warmup = Warmup::Auto;
    let (mut in_system, mut utilisation) = (Vec::new(), Vec::new());
    for seed in 0..8 {
        e.seed = 900 + seed;
        let r = run(&e, &spec("jsq"));
        in_system.push(r.mean_in_system.value);
        utilisation.push(r.utilisation.value);
    }
    let ((l, l_se), (u, u_se)) = (mean_and_se(&in_system), mean_and_se(&utilisation));
    eprintln!("JSQ over 2 000 backends at 0.5, MSER-5: L {l:.1} ± {l_se:.1} (1 000), utilisation {u:.4} ± {u_se:.4}");
    assert!((l - 1000.0).abs() < 3.0 * l_se, "L {l} ± {l_se}");
    assert!((u - 0.5).abs() < 3.0 * u_se, "utilisation {u} ± {u_se}");
}

#[test]
fn an_unsettled_warmup_pilot_is_flagged() {
    // An overloaded M/M/1 never settles: MSER-5's minimum falls in the pilot's second half.
    let mut e =
        experiment(ServiceDistribution::exponential(0.01).unwrap(), vec![sync_group("web", 1, 1, 1.0)], 1.2, 20_000, 0);
    e.plan.warmup = Warmup::Auto;
    let r = run(&e, &spec("random"));
    assert!(r.warnings.contains(&Warning::NoSteadyState), "{:?}", r.warnings);
    assert!(r.saturated);
}

#[test]
fn a_backend_offered_more_than_its_capacity_is_saturated() {
    // Random dispatch over two fast (speed 2) and two slow (speed 1) single-worker backends:
    // each slow one is offered 1.02 of its capacity while the cluster as a whole is at 0.68.
    // Its queue grows for the whole run; the verdict must say so in every replication.
    let mut e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("fast", 2, 1, 2.0), sync_group("slow", 2, 1, 1.0)],
        0.68,
        100_000,
        10_000,
    );
    let mut flagged = 0;
    for seed in 0..10 {
        e.seed = 300 + seed;
        let r = run(&e, &spec("random"));
        let slow = r.backends.iter().filter(|b| b.name.starts_with("slow")).map(|b| b.offered_load);
        eprintln!(
            "1.02 overload seed {}: saturated {} (slow backends offered {:?})",
            e.seed,
            r.saturated,
            slow.collect::<Vec<_>>()
        );
        flagged += u32::from(r.saturated);
    }
    assert_eq!(flagged, 10, "overload at 1.02 flagged in only {flagged}/10 runs");
}

#[test]
fn a_loss_system_is_not_saturated_because_it_rejects() {
    // Erlang B: 4 workers, no accept queue, offered 2 Erlangs (ρ = 0.5). It rejects
    // B(4, 2) = 9.5 % of requests in a perfectly steady state.
    let mut group = sync_group("web", 1, 4, 1.0);
    group.backlog = 0;
    let mut e = experiment(ServiceDistribution::exponential(0.01).unwrap(), vec![group], 0.5, 100_000, 5_000);
    let r = run(&e, &spec("random"));
    let erlang_b = {
        let a: f64 = 2.0;
        let terms: Vec<f64> = (0..=4).map(|k| a.powi(k) / (1..=k).map(f64::from).product::<f64>()).collect();
        terms[4] / terms.iter().sum::<f64>()
    };
    eprintln!("Erlang B(4, 2): rejected {:.4} vs {erlang_b:.4}, saturated {}", r.rejected_fraction, r.saturated);
    assert!(!r.saturated, "a loss system at ρ = 0.5 is not saturated");
    assert!((r.rejected_fraction - erlang_b).abs() < 0.005);
    // Nor at an offered load above 1: it still has a steady state (it rejects more).
    e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![e.model.backends[0].clone()],
        1.5,
        100_000,
        5_000,
    );
    assert!(!run(&e, &spec("random")).saturated);
}

/// The warm-up estimate (`lbsim::relaxation`) predicts how low a fleet's means read while its
/// queues, empty at the start, are still filling, and the warm-up it suggests removes the
/// bias. 10⁴ M/M/1 backends at load 0.9, 10⁷ requests (1 000 a backend) after the default
/// warm-up (100 a backend, where a queue relaxes over about 340 of its arrivals): random
/// dispatch reads about 4.4 % below M/M/1's mean, round robin (each backend gets every
/// 10⁴-th request: E_k/M/1 with k = 10⁴) about 1.3 % below its own. The truth less the
/// predicted bias must lie in each run's interval (99.9 %, as every theory test here); with
/// the warm-up `lbsim check` suggests the truth itself must, and the check says nothing more.
#[test]
fn the_warmup_estimate_predicts_how_low_a_filling_fleet_reads() {
    let mut e = mm1_fleet(10_000, 10_000_000, 1_000_000, 11);
    let rate = 90.0; // a backend's arrivals per second
    let truths = [
        ("random", theory::mm1_mean_response(rate, 0.01)),
        ("round_robin", theory::gamma_m1_mean_response(rate, 0.01, 0.01)),
    ];
    for (name, truth) in truths {
        let shares = lbsim::runner::planned_shares(&e, &spec(name)).expect("a blind rule fixes the shares");
        let estimate = lbsim::relaxation::empty_start(&e.model, &shares, 1_000_000, 10_000_000).expect("applies");
        let r = run(&e, &spec(name));
        assert_agrees(
            &format!("{name} over 10⁴ backends, predicted {:.2} % low", 100.0 * estimate.bias),
            &r.mean_response,
            truth * (1.0 - estimate.bias),
            0.05,
        );
    }
    let warning = lbsim::budget::short_warmup_warning(std::slice::from_ref(&e), 2).expect("too short a warm-up");
    let needed: u64 = warning
        .split("Set [run] warmup = ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no warm-up suggested: {warning}"));
    e.plan.warmup = Warmup::Fixed(needed);
    assert_eq!(lbsim::budget::short_warmup_warning(std::slice::from_ref(&e), 2), None);
    for (name, truth) in truths {
        let r = run(&e, &spec(name));
        assert_agrees(
            &format!("{name} over 10⁴ backends after {needed} warm-up requests"),
            &r.mean_response,
            truth,
            0.05,
        );
        assert!(!r.warnings.contains(&Warning::StillFilling), "{name}: {:?}", r.warnings);
    }
}
