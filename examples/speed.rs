//! Simulates N requests of one strategy over the benchmark's reference cluster (16
//! exponential backends at load 0.9) and prints the rate: a quick, profiler-friendly
//! companion of `cargo bench --bench engine`.
//!
//! `cargo run --release --example speed -- jsq 20000000`, or with a third argument k, behind
//! k balancer instances that each count only their own requests (`… jsq 20000000 4`), or
//! driven by N closed-loop users instead of open-loop arrivals (`… jsq 20000000 users=160`),
//! with health checks, client timeouts and retries (`… jsq 20000000 resilient`), or
//! `gunicorn` for 16 × 4 sync workers on 2 cores each, requests 70 % CPU and 30 % I/O
//! (the general station: `… jsq 20000000 gunicorn`).

use std::time::Instant;

#[path = "../benches/support/cluster.rs"]
mod cluster;

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "random".into());
    let requests: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(20_000_000);
    let third = args.next();
    let model = match (third.as_deref().and_then(|s| s.strip_prefix("users=")), third.as_deref()) {
        (Some(users), _) => cluster::closed_loop_model(users.parse().expect("users=N")),
        (None, Some("gunicorn")) => cluster::gunicorn_model(),
        (None, Some("resilient")) => cluster::resilient_model(),
        (None, Some(k)) => cluster::local_instances_model(k.parse().expect("a number of instances")),
        (None, None) => cluster::reference_model(),
    };
    let start = Instant::now();
    let outcome = cluster::simulate_strategy(&model, &name, requests, 0);
    let seconds = start.elapsed().as_secs_f64();
    let completed: u64 = outcome.sections.iter().map(|s| s.completed).sum();
    println!("{name}: {completed} requests in {seconds:.3}s = {:.1} M requests/s", completed as f64 / seconds / 1e6);
}
