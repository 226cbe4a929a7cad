//! The balancer tier (event layer): instances, stale information, caps and queues, network.
//!
//! Equivalence with the fast path is checked exactly (same sums to the last bit); results
//! with a closed form against theory within the run's confidence interval; the published
//! result on stale information (Mitzenmacher 2000) as the inequalities it states.

mod common;

use common::{assert_agrees, async_group, experiment, spec, spec_with, sync_group, widening};
use lbsim::engine::{Cause, RunOutcome, Section, Window, simulate_instances};
use lbsim::experiment::Experiment;
use lbsim::model::{Information, Mode, Model, Routing, ServiceDistribution, Upstream};
use lbsim::runner::{build_instances, run_strategy};
use lbsim::seed::RunSeed;
use lbsim::strategy::{Needs, Params, list};
use lbsim::theory;

fn simulate(model: &Model, name: &str, params: &Params, requests: u64, sections: u32) -> RunOutcome {
    try_simulate(model, name, params, requests, sections).expect("builds")
}

/// `None` when the strategy cannot run on this cluster (central_queue on async backends).
fn try_simulate(model: &Model, name: &str, params: &Params, requests: u64, sections: u32) -> Option<RunOutcome> {
    let seed = RunSeed::new(7, 0, 0);
    let mut strategies = build_instances(model, name, params, seed).ok()?;
    let window = Window { warmup: requests / 10, requests, sections, histograms: false, series: None };
    Some(simulate_instances(model, &mut strategies, seed, &window))
}

/// A mixed cluster: one-worker and three-worker sync backends and an async one, so every
/// backend kind goes through the tracked path.
fn mixed(load: f64) -> Experiment {
    let mut async_web = async_group("api", 1, 2, 1.5);
    async_web.worker_class = lbsim::model::WorkerClass::Async { connections: 3 };
    async_web.backlog = 40;
    let mut small = sync_group("small", 3, 1, 1.0);
    small.backlog = 20;
    experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![small, sync_group("big", 2, 3, 0.8), async_web],
        load,
        20_000,
        2_000,
    )
}

fn caps(model: &Model, max_conns: Option<u32>, maxconn: Option<u32>) -> Vec<Upstream> {
    model.backends.iter().map(|_| Upstream { max_conns, maxconn, rtt: None }).collect()
}

fn totals(o: &RunOutcome) -> Section {
    o.sections.iter().fold(Section::default(), |a, s| a.plus(s))
}

#[test]
fn one_instance_with_exact_or_local_information_reproduces_the_fast_path_exactly() {
    // The event layer with nothing that changes a decision (a cap that never binds, so
    // every request is tracked; or one instance counting its own requests, which are all
    // of them) must give the fast path's numbers to the last bit, for every strategy.
    let mut checked = std::collections::BTreeMap::new();
    let sync_only = experiment(
        ServiceDistribution::lognormal_mean_cv(0.01, 2.0).unwrap(),
        vec![sync_group("small", 3, 1, 1.0), sync_group("big", 2, 3, 0.8)],
        0.9,
        20_000,
        2_000,
    );
    for (e, load) in [(mixed(0.7), 0.7), (mixed(1.1), 1.1), (sync_only, 0.9)] {
        for info in list() {
            let params = Params::new(info.name);
            let Some(fast) = try_simulate(&e.model, info.name, &params, 20_000, 5) else { continue };
            *checked.entry(info.name).or_insert(0) += 1;
            assert!(totals(&fast).rejected > 0 || load < 1.0, "the overloaded case rejects");

            let mut tracked = e.model.clone();
            tracked.balancer.upstreams = caps(&tracked, Some(1 << 30), None);
            let slow = simulate(&tracked, info.name, &params, 20_000, 5);
            assert_eq!(fast.sections, slow.sections, "{} with a cap that never binds, load {load}", info.name);
            assert_eq!(fast.backends, slow.backends, "{}: per-backend results", info.name);

            if info.needs != Needs::Oracle {
                let mut local = e.model.clone();
                local.balancer.information = Information::Local;
                let slow = simulate(&local, info.name, &params, 20_000, 5);
                assert_eq!(fast.sections, slow.sections, "{} with local information, load {load}", info.name);
            }
        }
    }
    assert_eq!(checked.len(), list().len(), "every strategy was checked on some cluster: {checked:?}");
}

/// least_work_left over backends of one worker count above one (at one speed or two) keeps an index of bounds of the work left; a slowdown fault anywhere makes it
/// scan instead. A slowdown due
/// long after the run changes no decision, so the two must send every request to the same
/// backend: each backend's offered work, counts and time integrals agree to the last bit
/// (a fault model records responses in another order, so the sections' sums of response
/// times agree to rounding). On the fast path (whose view says only that its previous pick
/// changed) and behind three balancer instances (whose view logs every change), at loads
/// with empty backends and without, with lognormal sizes (cv 2) so that works left differ,
/// over one speed and over speeds 1 and 0.7 (whose capacities 3 × 0.7 are a multiple of the
/// speed only up to rounding).
#[test]
fn least_work_left_through_its_index_over_several_workers_runs_as_its_scan() {
    use lbsim::model::{Fault, FaultKind};
    let requests = 30_000;
    for (workers, load, two_speeds) in
        [(3, 0.7, false), (4, 0.97, false), (2, 1.1, false), (3, 0.9, true), (2, 0.95, true)]
    {
        // A short backlog, so that the overloaded cluster turns requests away.
        let groups: Vec<_> =
            if two_speeds { vec![("old", 60, 0.7), ("new", 90, 1.0)] } else { vec![("web", 150, 1.0)] }
                .into_iter()
                .map(|(name, count, speed)| {
                    let mut g = sync_group(name, count, workers, speed);
                    g.backlog = 6;
                    g
                })
                .collect();
        let e = experiment(ServiceDistribution::lognormal_mean_cv(0.01, 2.0).unwrap(), groups, load, requests, 3_000);
        for instances in [1, 3] {
            let mut indexed = e.model.clone();
            indexed.balancer.instances = instances;
            let mut scanned = indexed.clone();
            scanned.faults =
                vec![Fault { kind: FaultKind::Slowdown { at: 1e9, duration: 1.0, factor: 0.5 }, backends: 0..1 }];
            let params = Params::new("least_work_left");
            let a = simulate(&indexed, "least_work_left", &params, requests, 5);
            let b = simulate(&scanned, "least_work_left", &params, requests, 5);
            let case = format!("{workers} workers, two speeds {two_speeds}, load {load}, {instances} instances");
            assert_eq!(a.backends, b.backends, "{case}");
            for (x, y) in a.sections.iter().zip(&b.sections) {
                let counts = |s: &Section| (s.arrivals, s.completed, s.rejected, s.in_system_area, s.busy_area);
                assert_eq!(counts(x), counts(y), "{case}");
                assert!((x.sum_response - y.sum_response).abs() <= 1e-12 * x.sum_response, "{case}");
            }
            assert!(totals(&a).completed > 0 && (load < 1.0 || totals(&a).rejected > 0), "{case}");
        }
    }
}

#[test]
fn a_bulletin_board_refreshed_ever_faster_converges_to_exact_jsq() {
    // 10 single-worker backends at load 0.9, exponential sizes of mean 10 ms.
    let e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 10, 1, 1.0)],
        0.9,
        400_000,
        40_000,
    );
    let exact = run_strategy(&e, &spec("jsq"), 0).unwrap().mean_response;
    let stale = |period: f64| {
        let mut s = e.clone();
        s.model.balancer.information = Information::Periodic { period };
        run_strategy(&s, &spec("jsq"), 0).unwrap().mean_response
    };
    let fast = stale(1e-5); // a thousandth of a mean service time
    let slow = stale(0.01); // one mean service time
    eprintln!(
        "jsq mean response: exact {:.6} ± {:.6}, period 10us {:.6} ± {:.6}, period 10ms {:.6}",
        exact.value,
        exact.half_width(),
        fast.value,
        fast.half_width(),
        slow.value
    );
    // Same arrivals (common random numbers): the difference is far smaller than either
    // interval; the sum of the two 99.9 % half-widths bounds it conservatively.
    let allowed = (exact.half_width() + fast.half_width()) * widening();
    assert!((fast.value - exact.value).abs() <= allowed, "period 10us: {} vs exact {}", fast.value, exact.value);
    assert!(slow.value > exact.value + allowed, "a period of one service time must hurt jsq: {}", slow.value);
}

#[test]
fn mitzenmacher_2000_stale_jsq_is_worse_than_random_while_two_choices_stay_better() {
    // "How useful is old information?" (IEEE TPDS 2000), periodic update model: n = 100
    // servers, arrival rate 0.9 per server, exponential service of mean 1, a bulletin
    // board refreshed every T = 10. Random dispatch is n M/M/1 queues: E[T] = 1/(1 − 0.9)
    // = 10 whatever the board says.
    let mut e = experiment(
        ServiceDistribution::exponential(1.0).unwrap(),
        vec![sync_group("server", 100, 1, 1.0)],
        0.9,
        2_000_000,
        200_000,
    );
    e.model.balancer.information = Information::Periodic { period: 10.0 };
    let random = theory::mm1_mean_response(0.9, 1.0);
    let jsq = run_strategy(&e, &spec("jsq"), 0).unwrap().mean_response;
    let two = run_strategy(&e, &spec_with("power_of_d", "d", 2.0), 0).unwrap().mean_response;
    let sim_random = run_strategy(&e, &spec("random"), 0).unwrap().mean_response;
    eprintln!(
        "Mitzenmacher T=10, n=100, λ=0.9: random {:.3} ± {:.3} (theory {random}), jsq {:.3} ± {:.3}, power-of-2 {:.3} ± {:.3}",
        sim_random.value,
        sim_random.half_width(),
        jsq.value,
        jsq.half_width(),
        two.value,
        two.half_width()
    );
    assert_agrees("random with a stale board (= M/M/1)", &sim_random, random, 0.05);
    let w = widening();
    assert!(jsq.value - jsq.half_width() * w > random, "stale JSQ herds: {} should exceed {random}", jsq.value);
    assert!(two.value + two.half_width() * w < random, "power-of-2 stays better than random: {}", two.value);
}

#[test]
fn haproxy_maxconn_at_the_workers_with_a_proxy_queue_is_a_central_queue() {
    // 4 one-worker backends, maxconn 1 each, round robin: a request starts only on a free
    // backend and otherwise waits in the balancer's FIFO queue — M/M/4 exactly.
    let mut e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 4, 1, 1.0)],
        0.85,
        1_000_000,
        100_000,
    );
    e.model.balancer.upstreams = caps(&e.model, None, Some(1));
    let rate = e.model.arrivals.mean_rate();
    let result = run_strategy(&e, &spec("round_robin"), 0).unwrap();
    assert_agrees(
        "round robin, maxconn 1 with a proxy queue (M/M/4)",
        &result.mean_response,
        theory::mmc_mean_response(rate, 0.01, 4),
        0.02,
    );
    // Little's law over the backends and the queue together: L = λ W.
    assert_agrees("Little's law with a proxy queue", &result.mean_in_system, rate * result.mean_response.value, 0.02);
}

#[test]
fn maxconn_at_the_workers_is_the_central_queue_request_for_request() {
    // Identical workers, FCFS everywhere: with at most `workers` requests per backend and
    // the rest in one FIFO queue, each request starts at the same moment as under the
    // oracle central queue, so the two give the same response times to the last bit.
    let mut e = experiment(
        ServiceDistribution::lognormal_mean_cv(0.02, 1.5).unwrap(),
        vec![sync_group("web", 4, 4, 1.0)],
        0.9,
        50_000,
        5_000,
    );
    let central = run_strategy(&e, &spec("central_queue"), 0).unwrap();
    e.model.balancer.upstreams = caps(&e.model, None, Some(4));
    for name in ["round_robin", "least_connections", "random"] {
        let capped = run_strategy(&e, &spec(name), 0).unwrap();
        assert_eq!(capped.mean_response, central.mean_response, "{name} with maxconn 4");
        assert_eq!(capped.p99, central.p99, "{name} with maxconn 4");
    }
}

#[test]
fn caps_queues_and_failures_conserve_requests_and_keep_littles_law() {
    let base = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 4, 2, 1.0), async_group("api", 2, 1, 1.0)],
        0.95,
        200_000,
        20_000,
    );
    let mut cases: Vec<(&str, Model)> = Vec::new();
    let mut m = base.model.clone();
    m.balancer.upstreams = caps(&m, Some(2), None);
    cases.push(("nginx max_conns 2", m.clone()));
    m.balancer.instances = 3;
    m.balancer.information = Information::Local;
    cases.push(("max_conns 2 per instance, 3 instances", m));
    let mut m = base.model.clone();
    m.balancer.upstreams = caps(&m, None, Some(2));
    cases.push(("HAProxy maxconn 2, waiting as long as it takes", m.clone()));
    m.balancer.queue_timeout = Some(0.005);
    m.balancer.rtt = Some(ServiceDistribution::exponential(0.002).unwrap());
    m.balancer.instances = 2;
    m.balancer.routing = Routing::RoundRobin;
    cases.push(("maxconn 2, queue_timeout 5ms, client rtt", m));
    for (what, model) in cases {
        for name in ["round_robin", "least_connections", "random"] {
            let o = simulate(&model, name, &Params::new(name), 200_000, 10);
            let t = totals(&o);
            let failed: u64 = t.failed.iter().sum();
            assert_eq!(t.arrivals, 200_000, "{what}/{name}");
            assert_eq!(t.arrivals, t.completed + failed + t.rejected, "{what}/{name}: conservation {t:?}");
            if what.starts_with("nginx") || what.starts_with("max_conns") {
                assert!(
                    t.failed[Cause::NoBackend as usize] > 0,
                    "{what}/{name}: some requests find every backend full"
                );
            }
            if what.contains("queue_timeout") {
                assert!(t.failed[Cause::QueueTimeout as usize] > 0, "{what}/{name}: some time out in the queue");
            } else {
                assert_eq!(t.failed[Cause::QueueTimeout as usize], 0, "{what}/{name}");
            }
            if what.contains("rtt") {
                continue; // requests on the network are in no queue: Little's law is for the rest
            }
            // Little's law, L = λ W, for the requests that completed (failed ones leave at
            // once, rejected ones never enter): the time averages and the per-request
            // averages differ only by edge effects at the window's ends, here far below 1 %.
            let l = t.in_system_area / t.duration;
            let lambda_w = t.sum_response / t.duration;
            assert!((l / lambda_w - 1.0).abs() < 0.01, "{what}/{name}: L = {l}, λW = {lambda_w}");
        }
    }
}

#[test]
fn instances_with_local_counts_balance_worse_than_one_with_shared_counts() {
    // nginx least_conn with 4 workers and no zone: each sees a quarter of the connections.
    let mut e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 8, 1, 1.0)],
        0.9,
        300_000,
        30_000,
    );
    e.model.balancer.instances = 4;
    let shared = run_strategy(&e, &spec("least_connections"), 0).unwrap().mean_response;
    e.model.balancer.information = Information::Local;
    let local = run_strategy(&e, &spec("least_connections"), 0).unwrap().mean_response;
    eprintln!("least_conn, 4 instances: shared {:.5}, local {:.5}", shared.value, local.value);
    assert!(local.value - local.half_width() * widening() > shared.value + shared.half_width() * widening());
}

#[test]
fn client_hash_routing_keeps_a_client_on_one_instance() {
    // One client: hash routing sends everything to one of the 4 instances, which then
    // counts every request in flight — exactly one balancer with exact counts.
    let mut e = mixed(0.9);
    e.model.clients = lbsim::model::ClientPopulation::new_uniform(1).unwrap();
    let params = Params::new("jsq");
    let one = simulate(&e.model, "jsq", &params, 20_000, 5);
    e.model.balancer.instances = 4;
    e.model.balancer.routing = Routing::ClientHash;
    e.model.balancer.information = Information::Local;
    let four = simulate(&e.model, "jsq", &params, 20_000, 5);
    assert_eq!(one.sections, four.sections);
    // Random routing spreads the same client over the instances: the counts are partial.
    e.model.balancer.routing = Routing::Random;
    let spread = simulate(&e.model, "jsq", &params, 20_000, 5);
    assert_ne!(one.sections, spread.sections);
}

#[test]
fn delayed_reports_hurt_jsq_as_they_lag() {
    let mut e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", 8, 1, 1.0)],
        0.9,
        200_000,
        20_000,
    );
    let exact = run_strategy(&e, &spec("jsq"), 0).unwrap().mean_response;
    e.model.balancer.information = Information::Delayed { delay: 0.02 };
    e.model.balancer.instances = 4;
    e.model.balancer.routing = Routing::ClientHash;
    let lagged = run_strategy(&e, &spec("jsq"), 0).unwrap().mean_response;
    eprintln!("jsq exact {:.5}, with reports 20ms late {:.5}", exact.value, lagged.value);
    assert!(lagged.value > exact.value * 1.2, "two service times of lag must hurt jsq");
}

#[test]
fn a_redirect_costs_one_more_client_round_trip_unless_cached() {
    // Deterministic round trips and an idle cluster, so response times are service + network.
    let mut e = experiment(
        ServiceDistribution::deterministic(0.01).unwrap(),
        vec![sync_group("web", 4, 64, 1.0)],
        0.05,
        20_000,
        2_000,
    );
    let rtt = 0.02;
    e.model.balancer.rtt = Some(ServiceDistribution::deterministic(rtt).unwrap());
    let proxy = run_strategy(&e, &spec("random"), 0).unwrap().mean_response.value;
    e.model.balancer.mode = Mode::Redirect { cache: false };
    let redirect = run_strategy(&e, &spec("random"), 0).unwrap().mean_response.value;
    e.model.balancer.mode = Mode::Redirect { cache: true };
    e.model.clients = lbsim::model::ClientPopulation::new_uniform(10).unwrap();
    let cached = run_strategy(&e, &spec("random"), 0).unwrap().mean_response.value;
    eprintln!("proxy {proxy:.5}, redirect {redirect:.5}, cached redirect {cached:.5}");
    assert!((proxy - (0.01 + rtt)).abs() < 1e-9, "proxy: service + one round trip, got {proxy}");
    assert!((redirect - (0.01 + 2.0 * rtt)).abs() < 1e-9, "redirect: one more round trip, got {redirect}");
    // 10 clients: all but their first requests go straight to the remembered backend.
    assert!(cached < 0.01 + rtt * 1.01, "cached: {cached}");
}

#[test]
fn every_strategy_states_what_it_needs_to_know() {
    for info in list() {
        let expected = match info.name {
            "least_work_left" | "central_queue" => Needs::Oracle,
            "random"
            | "weighted_random"
            | "round_robin"
            | "weighted_round_robin"
            | "sita"
            | "ip_hash"
            | "consistent_hash"
            | "nginx_round_robin"
            | "nginx_ip_hash"
            | "nginx_hash_consistent"
            | "haproxy_roundrobin"
            | "haproxy_static_rr" => Needs::Nothing,
            _ => Needs::Counts,
        };
        assert_eq!(info.needs, expected, "{}", info.name);
    }
}
