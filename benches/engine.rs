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

/// One criterion group: `strategies` on `model`, each run a fresh replication of
/// [`REQUESTS`] requests, throughput in requests.
fn group(c: &mut Criterion, title: &str, model: &lbsim::model::Model, strategies: &[&str]) {
    let mut group = c.benchmark_group(title);
    group.throughput(Throughput::Elements(REQUESTS));
    group.sample_size(10);
    for &name in strategies {
        group.bench_function(name, |b| {
            let mut replication = 0;
            b.iter(|| {
                replication += 1;
                cluster::simulate_strategy(model, name, REQUESTS, replication)
            })
        });
    }
    group.finish();
}

fn engine(c: &mut Criterion) {
    group(
        c,
        "16 exponential backends at load 0.9",
        &cluster::reference_model(),
        &["random", "jsq", "round_robin", "power_of_d", "least_connections"],
    );
    // The event layer's tracked path: 4 balancer instances, each with only its own counts.
    group(
        c,
        "16 exponential backends at load 0.9, 4 instances with local counts",
        &cluster::local_instances_model(4),
        &["jsq", "least_connections", "round_robin"],
    );
    // Closed-loop users (issue #12): every request tracked to its end, each ending wakes its
    // user, who thinks and sends the next.
    group(
        c,
        "16 exponential backends, 160 closed-loop users (think 90 ms)",
        &cluster::closed_loop_model(160),
        &["jsq", "round_robin"],
    );
    // Faults, health checks, timeouts and retries (issue #12): the balancer records every
    // ending itself; each request carries a client timeout in the calendar.
    group(
        c,
        "16 exponential backends at load 0.9, health checks, timeouts, retries",
        &cluster::resilient_model(),
        &["round_robin", "least_connections"],
    );
    // Issue #10: CPU and I/O phases on cores (the general station), target ≥ 3 M/s for jsq.
    group(
        c,
        "station: 16 x 4 sync workers on 2 cores, 30 % I/O, load 0.9",
        &cluster::gunicorn_model(),
        &["jsq", "random"],
    );
}

criterion_group!(benches, engine);
criterion_main!(benches);
