//! The reference cluster of the speed targets (issue #2): 16 single-worker sync backends,
//! exponential sizes, Poisson arrivals at load 0.9. Shared by `benches/engine.rs` and
//! `examples/speed.rs`.

use lbsim::engine::{RunOutcome, Window, simulate_instances};
use lbsim::model::{
    ArrivalProcess, BackendGroup, ClientAddresses, ClientPolicy, ClientPopulation, ClosedLoop, Health, Information,
    MaxFails, Model, Probe, Retries, ServiceDistribution, WorkerClass,
};
use lbsim::runner::build_instances;
use lbsim::seed::RunSeed;
use lbsim::strategy::Params;

#[allow(dead_code)] // (each bench uses a part of this module)
pub fn reference_model() -> Model {
    model_with(16, 2048)
}

/// `count` single-worker sync backends with accept queues of `backlog`, exponential sizes
/// (mean 10 ms), Poisson arrivals at load 0.9.
#[allow(dead_code)] // (each bench uses a part of this module)
pub fn model_with(count: u32, backlog: u32) -> Model {
    let mut model = Model {
        arrivals: ArrivalProcess::poisson(1.0).unwrap(),
        service: ServiceDistribution::exponential(0.01).unwrap(),
        clients: ClientPopulation::default(),
        addresses: ClientAddresses::default(),
        backends: vec![BackendGroup {
            name: "web".into(),
            count,
            workers: 1,
            worker_class: WorkerClass::Sync,
            speed: 1.0,
            backlog,
            weight: None,
            cores: None,
            accept: None,
            lifecycle: Default::default(),
        }],
        io_fraction: 0.0,
        balancer: Default::default(),
        faults: Vec::new(),
        client: Default::default(),
    };
    model.arrivals = model.arrivals.with_rate(model.rate_for_load(0.9)).unwrap();
    model
}

/// The reference cluster behind `instances` balancer instances that each count only their
/// own requests in flight (nginx workers without a shared `zone`): the event layer's
/// tracked path.
#[allow(dead_code)] // (each bench uses a part of this module)
pub fn local_instances_model(instances: u32) -> Model {
    let mut model = reference_model();
    model.balancer.instances = instances;
    model.balancer.information = Information::Local;
    model
}

/// `model` with `workers` sync workers per backend, at load 0.9 still.
#[allow(dead_code)] // (each bench uses a part of this module)
pub fn with_workers(mut model: Model, workers: u32) -> Model {
    model.backends[0].workers = workers;
    model.arrivals = model.arrivals.with_rate(model.rate_for_load(0.9)).unwrap();
    model
}

/// `model` with its backends split in two groups of (about) half each, the second's
/// workers twice as fast: two capacity classes, at load 0.9 still.
#[allow(dead_code)] // (each bench uses a part of this module)
pub fn with_two_speeds(mut model: Model) -> Model {
    let mut fast = model.backends[0].clone();
    let count = fast.count;
    fast.name = "fast".into();
    fast.speed *= 2.0;
    fast.count = count / 2;
    model.backends[0].count = count - count / 2;
    model.backends.push(fast);
    model.arrivals = model.arrivals.with_rate(model.rate_for_load(0.9)).unwrap();
    model
}

/// `model` behind `instances` balancer instances that all see the backends' exact state
/// (nginx workers sharing a `zone`): the event layer's instances, each with its strategy.
#[allow(dead_code)] // (each bench uses a part of this module)
pub fn shared_instances(mut model: Model, instances: u32) -> Model {
    model.balancer.instances = instances;
    model.balancer.information = Information::Exact;
    model
}

/// The gunicorn cluster of issue #10's speed target: 16 backends × 4 sync workers on 2 cores
/// each, requests 70 % CPU and 30 % I/O (exponential sizes), Poisson arrivals at load 0.9
/// (simulated by the general station, `engine/station.rs`).
#[allow(dead_code)] // (each bench uses a part of this module)
pub fn gunicorn_model() -> Model {
    let mut model = reference_model();
    let group = &mut model.backends[0];
    group.workers = 4;
    group.cores = Some(2);
    model.io_fraction = 0.3;
    model.arrivals = model.arrivals.with_rate(model.rate_for_load(0.9)).unwrap();
    model
}

/// The reference cluster's 16 backends driven by `users` closed-loop users with exponential
/// think times of mean 90 ms (the event layer's closed loop). With 160 users the cluster is
/// at the knee N* = (D + Z) · X_max = 0.1 s × 1600/s: about 90 % busy, as the open-loop
/// reference.
#[allow(dead_code)] // (each bench uses a part of this module)
pub fn closed_loop_model(users: u32) -> Model {
    let mut model = reference_model();
    let think = ServiceDistribution::exponential(0.09).unwrap();
    model.arrivals = ArrivalProcess::Closed(std::sync::Arc::new(ClosedLoop::new(users, Some(think)).unwrap()));
    model.clients = ClientPopulation::new_uniform(users).unwrap();
    model
}

/// The reference cluster with the balancer and clients an SRE would configure: nginx
/// passive checks (max_fails 1 / 10 s), active probes every 2 s (fall 3, rise 2), one
/// retry on another backend, a 1 s client timeout with 2 retries under a 20 % budget: the
/// event layer's recording path, every request with a timeout in the calendar.
#[allow(dead_code)] // (each bench uses a part of this module)
pub fn resilient_model() -> Model {
    let mut model = reference_model();
    model.balancer.health = Health {
        max_fails: Some(MaxFails { max_fails: 1, fail_timeout: 10.0 }),
        probe: Some(Probe { interval: 2.0, fall: 3, rise: 2 }),
        ..Health::default()
    };
    model.balancer.retries = Retries { tries: 2, timeout: None };
    model.client = ClientPolicy { timeout: Some(1.0), retries: 2, budget: Some(20.0), ..ClientPolicy::default() };
    model
}

/// Simulates `requests` requests of strategy `name` (default parameters) with replication
/// `replication`'s streams, measuring all of them as `lbsim run` would: in 20 sections, or
/// `LBSIM_SCALE_SECTIONS` (to weigh what the section boundaries cost on a large cluster).
pub fn simulate_strategy(model: &Model, name: &str, requests: u64, replication: u64) -> RunOutcome {
    let seed = RunSeed::new(1, 0, replication);
    let mut strategies = build_instances(model, name, &Params::new(name), seed).expect("a registered strategy");
    let sections = std::env::var("LBSIM_SCALE_SECTIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let window = Window { warmup: 0, requests, sections, histograms: true, series: None };
    simulate_instances(model, &mut strategies, seed, &window)
}
