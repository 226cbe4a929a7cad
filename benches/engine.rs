//! Engine speed: completed requests per second for `jsq` and `random` over 16 exponential
//! single-worker backends at load 0.9, single thread (the targets of issue #2: ≥ 8 M/s for
//! jsq, ≥ 30 M/s for random). Run with `cargo bench --bench engine`; criterion reports the
//! throughput in elements (requests) per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use lbsim::engine::{Window, simulate};
use lbsim::model::{ArrivalProcess, BackendGroup, ClientPopulation, Model, ServiceDistribution, WorkerClass};
use lbsim::runner::backend_infos;
use lbsim::seed::{Purpose, RunSeed};
use lbsim::strategy::{Params, Setup, build};

const REQUESTS: u64 = 2_000_000;

fn model() -> Model {
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
    model
}

fn engine(c: &mut Criterion) {
    let model = model();
    let infos = backend_infos(&model);
    let mut group = c.benchmark_group("16 exponential backends at load 0.9");
    group.throughput(Throughput::Elements(REQUESTS));
    group.sample_size(10);
    for name in ["random", "jsq", "round_robin", "power_of_d", "least_connections"] {
        group.bench_function(name, |b| {
            let mut replication = 0;
            b.iter(|| {
                replication += 1;
                let seed = RunSeed::new(1, 0, replication);
                let params = Params::new(name);
                let setup = Setup {
                    backends: &infos,
                    service: &model.service,
                    params: &params,
                    rng: seed.stream(Purpose::Strategy),
                };
                let mut strategy = build(name, &setup).unwrap();
                let window = Window { warmup: 0, requests: REQUESTS, sections: 20, histograms: true };
                simulate(&model, &mut strategy, seed, &window)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
