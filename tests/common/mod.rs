//! Building experiments in code for the theory and invariant tests.
#![allow(dead_code)]

use lbsim::engine::{RunOutcome, Section, Window, simulate_instances};
use lbsim::experiment::{Experiment, Intensity, RunPlan, StrategySpec, Warmup};
use lbsim::model::{
    ArrivalProcess, BackendGroup, ClientAddresses, ClientPopulation, Model, ServiceDistribution, WorkerClass,
};
use lbsim::runner::{StrategyResult, build_instances, run_strategy};
use lbsim::seed::RunSeed;
use lbsim::stats::{Estimate, student_t_quantile};
use lbsim::strategy::{ParamValue, Params};

pub fn sync_group(name: &str, count: u32, workers: u32, speed: f64) -> BackendGroup {
    BackendGroup {
        name: name.into(),
        count,
        workers,
        worker_class: WorkerClass::Sync,
        speed,
        backlog: 1 << 20,
        weight: None,
        cores: None,
        accept: None,
        lifecycle: Default::default(),
    }
}

pub fn async_group(name: &str, count: u32, workers: u32, speed: f64) -> BackendGroup {
    BackendGroup {
        worker_class: WorkerClass::Async { connections: 1 << 20 },
        ..sync_group(name, count, workers, speed)
    }
}

/// A Poisson experiment at offered load `load` over `backends`.
pub fn experiment(
    service: ServiceDistribution,
    backends: Vec<BackendGroup>,
    load: f64,
    requests: u64,
    warmup: u64,
) -> Experiment {
    let mut model = Model {
        arrivals: ArrivalProcess::poisson(1.0).unwrap(),
        service,
        clients: ClientPopulation::default(),
        addresses: ClientAddresses::default(),
        backends,
        io_fraction: 0.0,
        balancer: Default::default(),
        faults: Vec::new(),
        client: Default::default(),
    };
    model.arrivals = model.arrivals.with_rate(model.rate_for_load(load)).unwrap();
    Experiment {
        name: "test".into(),
        description: None,
        seed: 20261125,
        plan: RunPlan {
            requests,
            warmup: Warmup::Fixed(warmup),
            replications: 1,
            precision: None,
            max_replications: 1,
            series: None,
        },
        intensity: Intensity::Load(load),
        model,
        strategies: vec![spec("random")],
        slo_limit: None,
        costs: Vec::new(),
    }
}

/// A fleet of `count` one-worker M/M/1 backends (sizes of mean 10 ms) at load 0.9, run for
/// `requests` after `warmup`, with `seed`.
pub fn mm1_fleet(count: u32, requests: u64, warmup: u64, seed: u64) -> Experiment {
    let mut e = experiment(
        ServiceDistribution::exponential(0.01).unwrap(),
        vec![sync_group("web", count, 1, 1.0)],
        0.9,
        requests,
        warmup,
    );
    e.seed = seed;
    e
}

pub fn spec(name: &str) -> StrategySpec {
    StrategySpec::named(name)
}

pub fn spec_with(name: &str, param: &str, value: f64) -> StrategySpec {
    StrategySpec {
        name: name.into(),
        label: format!("{name}({param}={value})"),
        params: Params::new(name).with(param, ParamValue::Number(value)),
        balancer: Default::default(),
    }
}

pub fn run(experiment: &Experiment, strategy: &StrategySpec) -> StrategyResult {
    run_strategy(experiment, strategy, 0).expect("strategy builds")
}

/// How much wider than the 95 % interval the tests accept: the 99.9 % interval of the same
/// estimate (t quantiles for the 20 − 1 degrees of freedom of batch means). With dozens of
/// checks, 95 % intervals would fail one in twenty by chance; 99.9 % ones one in a thousand.
pub fn widening() -> f64 {
    student_t_quantile(0.9995, 19.0) / student_t_quantile(0.975, 19.0)
}

/// Asserts that `theory` lies within the 99.9 % confidence interval of `estimate`, and that
/// the interval is narrow enough (relative half-width ≤ `max_relative_half_width`) for the
/// check to mean something.
pub fn assert_agrees(what: &str, estimate: &Estimate, theory: f64, max_relative_half_width: f64) {
    let half = estimate.half_width() * widening();
    // Shown with `--nocapture`: the figures quoted in the README.
    eprintln!(
        "{what}: simulated {:.6} ± {:.6} (95%), theory {:.6}, deviation {:+.2}%",
        estimate.value,
        estimate.half_width(),
        theory,
        (estimate.value / theory - 1.0) * 100.0
    );
    let relative = estimate.half_width() / theory.abs();
    assert!(
        relative <= max_relative_half_width,
        "{what}: the 95% CI half-width is {:.2}% of the value, too wide to test against theory (max {:.2}%)",
        relative * 100.0,
        max_relative_half_width * 100.0
    );
    assert!(
        (estimate.value - theory).abs() <= half,
        "{what}: simulated {:.6} (99.9% CI ± {:.6}), theory {:.6}: off by {:.2}%",
        estimate.value,
        half,
        theory,
        (estimate.value / theory - 1.0) * 100.0
    );
}
pub mod fixture;

/// A backend group simulated by the general station: `workers` gunicorn workers of `class`
/// on a host with `cores` cores.
pub fn gunicorn_group(name: &str, workers: u32, class: WorkerClass, cores: u32) -> BackendGroup {
    BackendGroup { worker_class: class, cores: Some(cores), ..sync_group(name, 1, workers, 1.0) }
}

/// `experiment` with a fraction `io_fraction` of each request's work spent in I/O (the
/// arrival rate recomputed for `load` of the resulting capacity).
pub fn experiment_with_io(
    service: ServiceDistribution,
    backends: Vec<BackendGroup>,
    io_fraction: f64,
    load: f64,
    requests: u64,
    warmup: u64,
) -> Experiment {
    let mut e = experiment(service, backends, load, requests, warmup);
    e.model.io_fraction = io_fraction;
    e.model.arrivals = e.model.arrivals.with_rate(e.model.rate_for_load(load)).unwrap();
    e
}

/// Sections of a [`simulate`] run (its batch means).
const SECTIONS: u32 = 20;

/// One run of `model` under strategy `name` (seed 11), `requests` measured after `warmup`,
/// in [`SECTIONS`] sections without histograms: for the event layer's counting tests.
pub fn simulate(model: &Model, name: &str, requests: u64, warmup: u64) -> RunOutcome {
    simulate_with(model, &Params::new(name), requests, warmup, None)
}

/// [`simulate`] with the strategy's parameters, and a time series of windows `series` wide.
pub fn simulate_with(model: &Model, params: &Params, requests: u64, warmup: u64, series: Option<f64>) -> RunOutcome {
    let seed = RunSeed::new(11, 0, 0);
    let mut strategies = build_instances(model, &params.strategy, params, seed).expect("builds");
    let window = Window { warmup, requests, sections: SECTIONS, histograms: false, series };
    simulate_instances(model, &mut strategies, seed, &window)
}

/// The sections of a run added up.
pub fn totals(o: &RunOutcome) -> Section {
    o.sections.iter().fold(Section::default(), |a, s| a.plus(s))
}

/// Every measured request ended exactly once: completed, failed or rejected (the run goes
/// on until none is in flight).
pub fn assert_conserved(what: &str, s: &Section) {
    let failed: u64 = s.failed.iter().sum();
    assert_eq!(s.arrivals, s.completed + failed + s.rejected, "{what}: {s:?}");
}

/// 8 one-worker backends, lognormal sizes (mean 10 ms, cv 3), Poisson arrivals at `load`,
/// `requests` measured after a tenth as many: the hedging tests' cluster. `strategies` is a
/// TOML array body, `extra` more `[balancer]` lines.
pub fn hedging_cluster(load: f64, strategies: &str, extra: &str, requests: u64) -> Experiment {
    let text = format!(
        r#"[experiment]
seed = 7
[run]
requests = {requests}
warmup = {warmup}
[arrivals]
load = {load}
[service]
distribution = "lognormal"
mean = "10ms"
cv = 3
[[backends]]
name = "web"
count = 8
[balancer]
strategies = [{strategies}]
{extra}
"#,
        warmup = requests / 10
    );
    lbsim::config::ExperimentFile::parse(std::path::Path::new("hedging.toml"), &text).unwrap().resolve().unwrap()
}

/// The smallest valid experiment file (4 round-robin backends at load 0.5) that the
/// bad-input tests change one key of.
pub const MINIMAL: &str = r#"[arrivals]
load = 0.5

[service]
mean = "10ms"

[[backends]]
name = "web"
count = 4

[balancer]
strategies = ["round_robin"]
"#;

/// The rendered error of experiment `text`, read as `tests/data/inline.toml`, which must be
/// valid TOML and must be rejected.
pub fn rejection(text: &str) -> String {
    let file =
        lbsim::config::ExperimentFile::parse(std::path::Path::new("tests/data/inline.toml"), text).expect("valid TOML");
    file.resolve().expect_err("the file should be rejected").render()
}
