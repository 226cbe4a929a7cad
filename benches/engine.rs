//! Engine speed: completed requests per second for `jsq` and `random` over 16 exponential
//! single-worker backends at load 0.9, single thread (the targets of issue #2: ≥ 8 M/s for
//! jsq, ≥ 30 M/s for random), the same cluster behind 4 balancer instances with local
//! counts (issue #11: ≥ 5 M/s for jsq), driven by 160 closed-loop users (issue #12), and
//! 16 gunicorn backends of 4 sync workers on 2 cores with requests 70 % CPU, 30 % I/O
//! (issue #10: ≥ 3 M/s for jsq). Run with `cargo bench --bench engine`; criterion reports the
//! throughput in elements (requests) per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "support/cluster.rs"]
mod cluster;

/// Long enough that setting up a run (histograms, queues) is a negligible part of it.
const REQUESTS: u64 = 10_000_000;

fn engine(c: &mut Criterion) {
    let model = cluster::reference_model();
    let mut group = c.benchmark_group("16 exponential backends at load 0.9");
    group.throughput(Throughput::Elements(REQUESTS));
    group.sample_size(10);
    for name in ["random", "jsq", "round_robin", "power_of_d", "least_connections"] {
        group.bench_function(name, |b| {
            let mut replication = 0;
            b.iter(|| {
                replication += 1;
                cluster::simulate_strategy(&model, name, REQUESTS, replication)
            })
        });
    }
    group.finish();

    // The event layer's tracked path: 4 balancer instances, each with only its own counts.
    let model = cluster::local_instances_model(4);
    let mut group = c.benchmark_group("16 exponential backends at load 0.9, 4 instances with local counts");
    group.throughput(Throughput::Elements(REQUESTS));
    group.sample_size(10);
    for name in ["jsq", "least_connections", "round_robin"] {
        group.bench_function(name, |b| {
            let mut replication = 0;
            b.iter(|| {
                replication += 1;
                cluster::simulate_strategy(&model, name, REQUESTS, replication)
            })
        });
    }
    group.finish();

    // Closed-loop users (issue #12): every request tracked to its end, each ending wakes its
    // user, who thinks and sends the next.
    let model = cluster::closed_loop_model(160);
    let mut group = c.benchmark_group("16 exponential backends, 160 closed-loop users (think 90 ms)");
    group.throughput(Throughput::Elements(REQUESTS));
    group.sample_size(10);
    for name in ["jsq", "round_robin"] {
        group.bench_function(name, |b| {
            let mut replication = 0;
            b.iter(|| {
                replication += 1;
                cluster::simulate_strategy(&model, name, REQUESTS, replication)
            })
        });
    }
    group.finish();

    // Faults, health checks, timeouts and retries (issue #12): the balancer records every
    // ending itself; each request carries a client timeout in the calendar.
    let model = cluster::resilient_model();
    let mut group = c.benchmark_group("16 exponential backends at load 0.9, health checks, timeouts, retries");
    group.throughput(Throughput::Elements(REQUESTS));
    group.sample_size(10);
    for name in ["round_robin", "least_connections"] {
        group.bench_function(name, |b| {
            let mut replication = 0;
            b.iter(|| {
                replication += 1;
                cluster::simulate_strategy(&model, name, REQUESTS, replication)
            })
        });
    }
    group.finish();

    // Issue #10: CPU and I/O phases on cores (the general station), target ≥ 3 M/s for jsq.
    let model = cluster::gunicorn_model();
    let mut group = c.benchmark_group("station: 16 x 4 sync workers on 2 cores, 30 % I/O, load 0.9");
    group.throughput(Throughput::Elements(REQUESTS));
    group.sample_size(10);
    for name in ["jsq", "random"] {
        group.bench_function(name, |b| {
            let mut replication = 0;
            b.iter(|| {
                replication += 1;
                cluster::simulate_strategy(&model, name, REQUESTS, replication)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
