//! Simulates `REQUESTS` requests of one strategy over 16 exponential backends at load 0.9 and
//! prints the rate: a quick, profiler-friendly companion of `cargo bench --bench engine`.
//!
//! `cargo run --release --example speed -- jsq 20000000`

use std::time::Instant;

use lbsim::engine::{Window, simulate};
use lbsim::model::{ArrivalProcess, BackendGroup, ClientPopulation, Model, ServiceDistribution, WorkerClass};
use lbsim::runner::backend_infos;
use lbsim::seed::{Purpose, RunSeed};
use lbsim::strategy::{Params, Setup, build};

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "random".into());
    let requests: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(20_000_000);
    let mut model = Model {
        arrivals: ArrivalProcess::poisson(1.0).unwrap(),
        service: ServiceDistribution::exponential(0.01).unwrap(),
        clients: ClientPopulation::default(),
        backends: vec![BackendGroup {
            name: "web".into(),
            count: 16,
            workers: 1,
            worker_class: WorkerClass::Sync,
            speed: 1.0,
            backlog: 2048,
            weight: None,
        }],
    };
    model.arrivals = model.arrivals.with_rate(model.rate_for_load(0.9)).unwrap();
    let infos = backend_infos(&model);
    let seed = RunSeed::new(1, 0, 0);
    let params = Params::new(&name);
    let setup =
        Setup { backends: &infos, service: &model.service, params: &params, rng: seed.stream(Purpose::Strategy) };
    let mut strategy = build(&name, &setup).expect("known strategy");
    let window = Window { warmup: 0, requests, sections: 20, histograms: true };
    let start = Instant::now();
    let outcome = simulate(&model, &mut strategy, seed, &window);
    let seconds = start.elapsed().as_secs_f64();
    let completed: u64 = outcome.sections.iter().map(|s| s.completed).sum();
    println!("{name}: {completed} requests in {seconds:.3}s = {:.1} M requests/s", completed as f64 / seconds / 1e6);
}
