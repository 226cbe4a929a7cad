//! Closed forms of queueing theory, for tests and for theory overlays on charts.
//!
//! Conventions: `rate` is the arrival rate λ (per second), `mean` the mean service time E[S]
//! (seconds), `rho` the utilisation. All functions return `f64::INFINITY` for an unstable
//! system (ρ ≥ 1) rather than a meaningless negative number.

/// Erlang's C formula: the probability that an arrival waits in an M/M/c queue with offered
/// traffic `a = λ·E[S]` erlangs.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    let c_f = f64::from(c);
    if a >= c_f {
        return 1.0;
    }
    // Erlang B by the stable recursion B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)).
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    c_f * b / (c_f - a * (1.0 - b))
}

/// Mean response time of M/M/c: E[S] + C(c, a)·E[S] / (c − a).
pub fn mmc_mean_response(rate: f64, mean: f64, c: u32) -> f64 {
    let a = rate * mean;
    if a >= f64::from(c) {
        return f64::INFINITY;
    }
    mean + erlang_c(c, a) * mean / (f64::from(c) - a)
}

/// Mean response time of M/G/1-FCFS (Pollaczek–Khinchine): E[S] + λE[S²] / (2(1 − ρ)).
pub fn mg1_mean_response(rate: f64, mean: f64, second_moment: f64) -> f64 {
    let rho = rate * mean;
    if rho >= 1.0 {
        return f64::INFINITY;
    }
    mean + rate * second_moment / (2.0 * (1.0 - rho))
}

/// Mean response time of M/G/1 with processor sharing: E[S] / (1 − ρ), whatever the size
/// distribution (insensitivity).
pub fn ps_mean_response(rate: f64, mean: f64) -> f64 {
    let rho = rate * mean;
    if rho >= 1.0 {
        return f64::INFINITY;
    }
    mean / (1.0 - rho)
}

/// Mean response time of M/M/1: E[S] / (1 − ρ).
pub fn mm1_mean_response(rate: f64, mean: f64) -> f64 {
    ps_mean_response(rate, mean)
}

/// The p-quantile of the M/M/1-FCFS response time, which is exponential with rate μ − λ.
pub fn mm1_response_quantile(rate: f64, mean: f64, p: f64) -> f64 {
    let rho = rate * mean;
    if rho >= 1.0 {
        return f64::INFINITY;
    }
    -(1.0 - p).ln() * mean / (1.0 - rho)
}

/// An M/M/c/K queue (`c` servers, room for `capacity` = K ≥ c requests in all, arrivals
/// finding it full rejected): the blocking probability p_K and the mean response time of the
/// admitted requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FiniteQueue {
    /// P(an arrival finds K in the system and is rejected) = p_K (PASTA).
    pub blocking: f64,
    /// Mean response time of the admitted requests, L / (λ(1 − p_K)) by Little's law.
    pub mean_response: f64,
}

/// M/M/c/K: the number in system is a birth–death chain with rates λ up and min(n, c)/E[S]
/// down, truncated at K, so p_n ∝ aⁿ/n! for n ≤ c and a^c/c! · (a/c)^(n−c) above (a = λE[S]).
/// With K = c it is Erlang's loss system (p_c is Erlang B); any load is stable.
pub fn mmck(rate: f64, mean: f64, servers: u32, capacity: u32) -> FiniteQueue {
    assert!(servers >= 1 && capacity >= servers, "M/M/c/K needs 1 ≤ c ≤ K");
    let a = rate * mean;
    let c = f64::from(servers);
    // Unnormalised terms, rescaled when large so that any K and load stay finite.
    let mut p = Vec::with_capacity(capacity as usize + 1);
    let mut term = 1.0f64;
    p.push(term);
    for n in 1..=capacity {
        term *= a / f64::from(n).min(c);
        p.push(term);
        if term > 1e250 {
            for q in &mut p {
                *q *= 1e-250;
            }
            term *= 1e-250;
        }
    }
    let total: f64 = p.iter().sum();
    let blocking = p[capacity as usize] / total;
    let in_system = p.iter().enumerate().map(|(n, q)| n as f64 * q).sum::<f64>() / total;
    FiniteQueue { blocking, mean_response: in_system / (rate * (1.0 - blocking)) }
}

/// Power-of-d choices over n → ∞ identical exponential servers at per-server load ρ
/// (Mitzenmacher; Vvedenskaya, Dobrushin & Karpelevich): the fraction of servers with at
/// least k requests is s_k = ρ^((d^k − 1)/(d − 1)), so by Little's law
/// E[T] = E[S] · Σ_{k≥1} s_k / ρ. With d = 1 this is M/M/1.
pub fn power_of_d_mean_response(rho: f64, d: u32, mean: f64) -> f64 {
    if rho >= 1.0 {
        return f64::INFINITY;
    }
    if d <= 1 {
        return mm1_mean_response(rho / mean, mean);
    }
    let d = f64::from(d);
    let mut total = 0.0;
    for k in 1..64 {
        let exponent = (d.powi(k) - 1.0) / (d - 1.0);
        let s = rho.powf(exponent);
        total += s;
        if s < 1e-16 {
            break;
        }
    }
    mean * total / rho
}

/// Mean response time of G/M/1 with gamma-distributed gaps (mean 1/λ, coefficient of
/// variation `cv`; cv = 1/√k is E_k/M/1): T = E[S] / (1 − σ) where σ ∈ (0, 1) solves
/// σ = A*(μ(1 − σ)) and A*(s) = (1 + s·θ)^(−k) is the gaps' Laplace transform.
pub fn gamma_m1_mean_response(rate: f64, mean: f64, cv: f64) -> f64 {
    let rho = rate * mean;
    if rho >= 1.0 {
        return f64::INFINITY;
    }
    let shape = 1.0 / (cv * cv);
    let scale = 1.0 / (rate * shape);
    let mu = 1.0 / mean;
    let transform = |s: f64| (1.0 + s * scale).powf(-shape);
    // σ ↦ A*(μ(1 − σ)) − σ is positive at 0 and crosses zero once in (0, 1) when ρ < 1.
    let (mut lo, mut hi) = (0.0, 1.0 - 1e-15);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if transform(mu * (1.0 - mid)) - mid > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    mean / (1.0 - 0.5 * (lo + hi))
}

/// Mean response time of MMPP(2)/M/1-FCFS: Poisson arrivals at `rates[j]` while a
/// two-state Markov chain is in state j, which it leaves at rate `leave[j]`; one server,
/// exponential sizes of mean `mean`. The chain (number in system, state) is a
/// quasi-birth–death process (Neuts' matrix-geometric method): with Λ = diag(rates), Q the
/// states' generator and μ = 1/E[S], levels n ≥ 1 go up by A₀ = Λ, stay by A₁ = Q − Λ − μI
/// and go down by A₂ = μI; R is the minimal solution of A₀ + R A₁ + R² A₂ = 0, π_n = π₀Rⁿ,
/// π₀(Q − Λ + R A₂) = 0 with π₀(I − R)⁻¹𝟙 = 1, so L = π₀R(I − R)⁻²𝟙 and T = L/λ̄ (Little).
pub fn mmpp2_m1_mean_response(rates: [f64; 2], leave: [f64; 2], mean: f64) -> f64 {
    type M = [[f64; 2]; 2];
    let mul = |a: M, b: M| -> M {
        let mut c = [[0.0; 2]; 2];
        for i in 0..2 {
            for j in 0..2 {
                c[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j];
            }
        }
        c
    };
    let inv = |a: M| -> M {
        let det = a[0][0] * a[1][1] - a[0][1] * a[1][0];
        [[a[1][1] / det, -a[0][1] / det], [-a[1][0] / det, a[0][0] / det]]
    };
    let mu = 1.0 / mean;
    // Stationary law of the states and the mean arrival rate.
    let p_on = leave[1] / (leave[0] + leave[1]);
    let rate = p_on * rates[0] + (1.0 - p_on) * rates[1];
    if rate * mean >= 1.0 {
        return f64::INFINITY;
    }
    let a0: M = [[rates[0], 0.0], [0.0, rates[1]]];
    let a1: M = [[-leave[0] - rates[0] - mu, leave[0]], [leave[1], -leave[1] - rates[1] - mu]];
    let a1_inv = inv(a1);
    // R ← −(A₀ + R²A₂)A₁⁻¹ increases monotonically from 0 to the minimal solution.
    let mut r: M = [[0.0; 2]; 2];
    for _ in 0..10_000_000 {
        let r2 = mul(r, r);
        let next =
            mul([[-(a0[0][0] + mu * r2[0][0]), -mu * r2[0][1]], [-mu * r2[1][0], -(a0[1][1] + mu * r2[1][1])]], a1_inv);
        let change = (0..4).map(|k| (next[k / 2][k % 2] - r[k / 2][k % 2]).abs()).fold(0.0, f64::max);
        r = next;
        if change < 1e-16 {
            break;
        }
    }
    // π₀ spans the left null space of B = Q − Λ + μR.
    let b: M = [
        [-leave[0] - rates[0] + mu * r[0][0], leave[0] + mu * r[0][1]],
        [leave[1] + mu * r[1][0], -leave[1] - rates[1] + mu * r[1][1]],
    ];
    let pi0 = if b[1][0].abs() + b[0][0].abs() > 0.0 { [b[1][0], -b[0][0]] } else { [b[1][1], -b[0][1]] };
    let one_minus_r_inv = inv([[1.0 - r[0][0], -r[0][1]], [-r[1][0], 1.0 - r[1][1]]]);
    let row = |v: [f64; 2], m: M| [v[0] * m[0][0] + v[1] * m[1][0], v[0] * m[0][1] + v[1] * m[1][1]];
    let total = row(pi0, one_minus_r_inv);
    let norm = total[0] + total[1];
    let l = row(row(row(pi0, r), one_minus_r_inv), one_minus_r_inv);
    (l[0] + l[1]) / norm / rate
}

/// Throughput and mean response time of a closed loop (N users, mean think time Z).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClosedForm {
    /// Requests per second, X.
    pub throughput: f64,
    /// Mean response time R = N/X − Z (the interactive response-time law), seconds.
    pub mean_response: f64,
}

/// The machine-repairman model M/M/c//N: `users` users, each thinking for a mean `think`
/// (any distribution: the think station is insensitive), then queueing at one station of
/// `servers` FCFS servers with exponential service of mean `mean`. The number at the
/// station is a birth–death chain, rates (N − n)/Z up and min(n, c)/E[S] down, solved
/// exactly; X = E[min(n, c)]/E[S]. With one server the station may also be processor
/// sharing with any service distribution (insensitivity). `think = 0` keeps every user at
/// the station: X = min(N, c)/E[S].
pub fn machine_repairman(users: u32, servers: u32, mean: f64, think: f64) -> ClosedForm {
    let n = users as usize;
    let c = f64::from(servers);
    let busy = |k: usize| (k as f64).min(c);
    let mut expected_busy;
    if think <= 0.0 {
        expected_busy = busy(n);
    } else {
        // p_k ∝ Π_{j<k} ((N − j)/Z) / (min(j + 1, c)/E[S]), renormalised as it grows.
        let mut p = vec![1.0f64; n + 1];
        for k in 1..=n {
            p[k] = p[k - 1] * ((n - k + 1) as f64 / think) * (mean / busy(k));
            if p[k] > 1e250 {
                for q in &mut p[..=k] {
                    *q *= 1e-250;
                }
            }
        }
        let total: f64 = p.iter().sum();
        expected_busy = p.iter().enumerate().map(|(k, q)| q * busy(k)).sum::<f64>() / total;
        expected_busy = expected_busy.min(c);
    }
    let throughput = expected_busy / mean;
    ClosedForm { throughput, mean_response: f64::from(users) / throughput - think.max(0.0) }
}

/// Exact mean value analysis (Reiser–Lavenberg) of a closed product-form network: `users`
/// users with mean think time `think`, and single-server queues (FCFS with exponential
/// service, or processor sharing with any) with service demands `demands` (visits × mean
/// service, seconds). R_k(n) = D_k (1 + Q_k(n − 1)), X(n) = n / (Z + Σ R_k(n)),
/// Q_k(n) = X(n) R_k(n).
pub fn mva(users: u32, demands: &[f64], think: f64) -> ClosedForm {
    let mut queue = vec![0.0f64; demands.len()];
    let mut result = ClosedForm { throughput: 0.0, mean_response: 0.0 };
    for n in 1..=users {
        let residence: Vec<f64> = demands.iter().zip(&queue).map(|(d, q)| d * (1.0 + q)).collect();
        let response: f64 = residence.iter().sum();
        let throughput = f64::from(n) / (think + response);
        for (q, r) in queue.iter_mut().zip(&residence) {
            *q = throughput * r;
        }
        result = ClosedForm { throughput, mean_response: response };
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_matches_tables() {
        // c = 2, a = 1: C = 1/3.
        assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
        // c = 1 reduces to ρ.
        assert!((erlang_c(1, 0.7) - 0.7).abs() < 1e-12);
    }

    #[test]
    fn mmc_with_one_server_is_mm1() {
        assert!((mmc_mean_response(0.8, 1.0, 1) - 5.0).abs() < 1e-12);
    }

    #[test]
    fn pk_with_exponential_sizes_is_mm1() {
        assert!((mg1_mean_response(0.5, 1.0, 2.0) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn power_of_one_is_mm1_and_two_is_much_better() {
        assert!((power_of_d_mean_response(0.9, 1, 1.0) - 10.0).abs() < 1e-12);
        let two = power_of_d_mean_response(0.9, 2, 1.0);
        assert!(two > 1.0 && two < 3.0, "{two}");
    }

    #[test]
    fn mmck_reduces_to_the_textbook_forms() {
        // M/M/1/K: p_K = (1 − ρ)ρ^K / (1 − ρ^(K+1)), L = ρ/(1 − ρ) − (K + 1)ρ^(K+1)/(1 − ρ^(K+1)).
        let (rho, k) = (0.9f64, 5);
        let q = mmck(0.9, 1.0, 1, k);
        let blocking = (1.0 - rho) * rho.powi(k as i32) / (1.0 - rho.powi(k as i32 + 1));
        let l = rho / (1.0 - rho) - f64::from(k + 1) * rho.powi(k as i32 + 1) / (1.0 - rho.powi(k as i32 + 1));
        assert!((q.blocking - blocking).abs() < 1e-12, "{q:?}");
        assert!((q.mean_response - l / (0.9 * (1.0 - blocking))).abs() < 1e-12, "{q:?}");
        // K = c is Erlang B: B(4, 2) = (2⁴/4!) / Σ_{k≤4} 2ᵏ/k! = 2/21; admitted requests never wait.
        let b = mmck(2.0, 1.0, 4, 4);
        assert!((b.blocking - 2.0 / 21.0).abs() < 1e-12 && (b.mean_response - 1.0).abs() < 1e-12, "{b:?}");
        // A deep buffer at ρ < 1 is M/M/c.
        let deep = mmck(3.4, 1.0, 4, 2000);
        assert!(deep.blocking < 1e-100 && (deep.mean_response - mmc_mean_response(3.4, 1.0, 4)).abs() < 1e-9);
    }

    #[test]
    fn mmpp_with_equal_rates_is_mm1() {
        let t = mmpp2_m1_mean_response([0.8, 0.8], [0.3, 0.1], 1.0);
        assert!((t - 5.0).abs() < 1e-9, "{t}");
        // Burstiness hurts: the same mean rate 0.8 arriving at 1.2 a third of the time. The
        // reference is the chain truncated at 700 requests and solved directly (Gaussian
        // elimination, independent of the matrix-geometric code): 9.4353013.
        let bursty = mmpp2_m1_mean_response([1.2, 0.6], [0.05, 0.025], 1.0);
        assert!((bursty - 9.4353013).abs() < 1e-6, "{bursty}");
    }

    #[test]
    fn gamma_gaps_with_cv_one_are_poisson() {
        assert!((gamma_m1_mean_response(0.8, 1.0, 1.0) - 5.0).abs() < 1e-9);
        // E_100 gaps are nearly deterministic: D/M/1 at ρ = 0.8 has σ = e^(−(1−σ)/ρ) ≈ 0.629,
        // T ≈ 2.70, far below M/M/1's 5.
        let t = gamma_m1_mean_response(0.8, 1.0, 0.1);
        assert!((2.6..2.8).contains(&t), "{t}");
    }
}

/// The closed loops with a closed form (product-form networks; the think station is
/// insensitive to its distribution): one backend of c sync workers with exponential sizes
/// (M/M/c//N) or one async worker (processor sharing, any sizes); n such one-worker
/// backends under `random` (each request visits backend k with probability 1/n: MVA).
fn predict_closed(
    users: &crate::model::ClosedLoop,
    first: &crate::model::BackendGroup,
    first_backlog: u32,
    shares: &[f64],
    exponential: bool,
    mean: f64,
    strategy: &str,
) -> Option<Prediction> {
    use crate::model::WorkerClass;
    if !users.ramp.is_empty() {
        // The population changes over the run: no one steady state to predict.
        return None;
    }
    let (n, z) = (users.users, users.mean_think());
    let backends = shares.len();
    // Every user's request must find room: past workers + backlog a backend refuses
    // (Engset's loss system, whose admitted requests never wait), and past an async
    // worker's connections requests wait FCFS, which PS's insensitivity does not cover.
    let backlog = u64::from(first_backlog);
    let room = match first.worker_class {
        WorkerClass::Sync => u64::from(first.workers) + backlog,
        WorkerClass::Async { connections } if exponential => {
            u64::from(connections) * u64::from(first.workers) + backlog
        }
        WorkerClass::Async { connections } => u64::from(connections) * u64::from(first.workers),
        WorkerClass::Gthread { .. } | WorkerClass::Gevent { .. } => 0,
    };
    if u64::from(n) > room {
        return None;
    }
    let product_form = match first.worker_class {
        WorkerClass::Sync => exponential,
        WorkerClass::Async { .. } => first.workers == 1,
        // Explicit gunicorn workers never reach here (`predict` gives them no theory).
        WorkerClass::Gthread { .. } | WorkerClass::Gevent { .. } => false,
    };
    if !product_form {
        return None;
    }
    if backends == 1 {
        let closed = machine_repairman(n, first.workers, mean, z);
        let model = if first.workers == 1 { "M/M/1//N (machine repairman)" } else { "M/M/c//N (machine repairman)" };
        return Some(Prediction { mean_response: closed.mean_response, model });
    }
    if first.workers == 1 && matches!(strategy, "random" | "weighted_random") {
        let demands: Vec<f64> = shares.iter().map(|p| mean * p).collect();
        return Some(Prediction { mean_response: mva(n, &demands, z).mean_response, model: "closed network (MVA)" });
    }
    None
}

/// A closed form that applies to one experiment point and strategy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// Mean response time in seconds.
    pub mean_response: f64,
    /// Which model it is, for legends ("M/M/4", "M/G/1-PS", "power-of-2 mean field" …).
    pub model: &'static str,
}

/// The theoretical mean response time for `strategy` (registry name, with its `d` for
/// power_of_d) on `model`, where a closed form exists: Poisson arrivals and
/// - a single backend: M/M/c (sync, exponential sizes; M/M/c/K where the backlog fills),
///   M/G/1 (sync, one worker), M/G/1-PS (async, one worker) — whatever the strategy;
/// - identical backends under `random`/`weighted_random`: each backend is one of the above
///   with its share of the traffic;
/// - identical one-worker sync backends with exponential sizes under `power_of_d` with
///   d < n: the mean-field limit (exact as n → ∞), and under `central_queue`: M/M/(n·c).
///
/// Returns `None` otherwise (the chart then shows no theory line).
pub fn predict(model: &crate::model::Model, strategy: &str, d: Option<u32>) -> Option<Prediction> {
    use crate::model::{ArrivalProcess, WorkerClass};
    if !matches!(model.arrivals, ArrivalProcess::Poisson { .. } | ArrivalProcess::Closed(_)) {
        return None;
    }
    // Caps, queues and the network change every queue; several instances and stale or
    // partial information change the decisions of strategies that look at the backends.
    // Faults (outages, slowdowns, deploys), timeouts that cut or cancel requests and the
    // retries they bring change the traffic and the service: none of the forms below holds.
    let b = &model.balancer;
    let direct = b.mode == crate::model::Mode::Proxy
        && model.faults.is_empty()
        && !model.client.is_active()
        && b.upstream_timeout.is_none()
        && b.rtt.is_none()
        && b.hedge.is_none()
        && b.upstreams.iter().all(|u| u.max_conns.is_none() && u.maxconn.is_none() && u.rtt.is_none());
    let omniscient = b.instances == 1 && b.information == crate::model::Information::Exact;
    if !direct || !(omniscient || matches!(strategy, "random" | "weighted_random") || model.backend_count() == 1) {
        return None;
    }
    // Explicit gunicorn workers (cores shared by processor sharing, I/O phases, gthread or
    // gevent, kernel accept order, kills and restarts) are none of the closed forms below.
    if model.backends.iter().any(|g| g.needs_station(model.io_fraction)) {
        return None;
    }
    let first = model.backends.first()?;
    let identical = model
        .backends
        .iter()
        .all(|g| g.workers == first.workers && g.speed == first.speed && g.worker_class == first.worker_class);
    if !identical {
        return None;
    }
    let n = model.backend_count() as f64;
    // Each backend's share of the requests under random (equal) or weighted_random (its
    // weight, which defaults to its capacity as in the engine: equal for identical backends,
    // but a file may weigh identical backends unequally).
    let shares: Vec<f64> = if strategy == "weighted_random" {
        let weights: Vec<f64> = model.each_backend().map(|(g, _)| model.group_weight(g)).collect();
        let total: f64 = weights.iter().sum();
        weights.iter().map(|w| w / total).collect()
    } else {
        vec![1.0 / n; model.backend_count()]
    };
    let exponential = model.service.kind() == "exponential";
    let mean = model.service.mean() / first.speed;
    let second = model.service.second_moment() / (first.speed * first.speed);
    if let Some(users) = model.closed_loop() {
        let backlog = model.backends.iter().map(|g| g.backlog).min().unwrap_or(first.backlog);
        return predict_closed(users, first, backlog, &shares, exponential, mean, strategy);
    }
    let rate = model.arrivals.mean_rate();
    // A backlog that fills turns requests away and shortens the queue. For exponential FCFS
    // stations that is M/M/c/K (K = workers + backlog), solved exactly, and the mean is that
    // of the admitted requests, as lbsim measures it. The unbounded closed forms are kept
    // where M/M/c/K's blocking is below 10⁻¹² (the default backlog of 2048 below load 1:
    // the two then agree to rounding), and the strategies' forms for unbounded queues
    // (power of d, central queue) are withheld where the backlog of a random split would
    // bind (they keep the queues shorter than random, so it then binds less for them).
    let backlog = model.backends.iter().map(|g| g.backlog).min().unwrap_or(first.backlog);
    let bounded = |rate: f64, c: u32| -> Option<FiniteQueue> {
        let q = mmck(rate, mean, c, c.saturating_add(backlog));
        (q.blocking > NEGLIGIBLE_BLOCKING).then_some(q)
    };
    let station = |rate: f64| -> Option<Prediction> {
        match (first.worker_class, first.workers) {
            // M/G/1-PS holds n requests with probability (1 − ρ)ρⁿ whatever the sizes; past
            // `connections` the rest wait FCFS in the accept queue, which PS does not
            // describe (with connections = 1 the backend is M/G/1-FCFS). Where the limit can
            // bind, exponential sizes still make it a birth–death chain served at rate 1/E[S]
            // whenever it holds a request: M/M/1, or M/M/1/K (K = connections + backlog)
            // where the backlog fills; other sizes have no closed form.
            (WorkerClass::Async { connections }, 1) => {
                let rho = rate * mean;
                if rho < 1.0 && rho.powf(f64::from(connections)) <= NEGLIGIBLE_BLOCKING {
                    return Some(Prediction { mean_response: ps_mean_response(rate, mean), model: "M/G/1-PS" });
                }
                if !exponential {
                    return None;
                }
                let q = mmck(rate, mean, 1, connections.saturating_add(backlog));
                if q.blocking > NEGLIGIBLE_BLOCKING {
                    Some(Prediction { mean_response: q.mean_response, model: "M/M/1/K" })
                } else {
                    Some(Prediction { mean_response: mm1_mean_response(rate, mean), model: "M/M/1" })
                }
            }
            (WorkerClass::Sync, c) if exponential && bounded(rate, c).is_some() => {
                let q = bounded(rate, c)?;
                Some(Prediction { mean_response: q.mean_response, model: if c == 1 { "M/M/1/K" } else { "M/M/c/K" } })
            }
            (WorkerClass::Sync, 1) if exponential => {
                Some(Prediction { mean_response: mm1_mean_response(rate, mean), model: "M/M/1" })
            }
            (WorkerClass::Sync, 1) => {
                Some(Prediction { mean_response: mg1_mean_response(rate, mean, second), model: "M/G/1 (P-K)" })
            }
            (WorkerClass::Sync, c) if exponential => {
                Some(Prediction { mean_response: mmc_mean_response(rate, mean, c), model: "M/M/c (Erlang C)" })
            }
            _ => None,
        }
    };
    if n == 1.0 {
        return station(rate);
    }
    let random_split_binds = first.worker_class == WorkerClass::Sync && bounded(rate / n, first.workers).is_some();
    match strategy {
        "random" | "weighted_random" => {
            // Σ pᵢ·T(λpᵢ): each backend is its own station with its share of the Poisson stream.
            let mut total = 0.0;
            for p in &shares {
                total += p * station(rate * p)?.mean_response;
            }
            Some(Prediction { mean_response: total, model: "independent queues" })
        }
        "power_of_d"
            if exponential && first.workers == 1 && first.worker_class == WorkerClass::Sync && !random_split_binds =>
        {
            let d = d.unwrap_or(2);
            if f64::from(d) >= n {
                // d distinct samples of n ≤ d backends are all of them: jsq, whose queue the
                // mean field of d choices among infinitely many does not describe.
                return None;
            }
            Some(Prediction {
                mean_response: power_of_d_mean_response(rate * mean / n, d, mean),
                model: "power-of-d mean field",
            })
        }
        "central_queue" if exponential && first.worker_class == WorkerClass::Sync && !random_split_binds => {
            let servers = (n as u32).checked_mul(first.workers)?;
            Some(Prediction { mean_response: mmc_mean_response(rate, mean, servers), model: "M/M/c central queue" })
        }
        _ => None,
    }
}

/// The blocking probability below which a finite backlog is treated as unbounded.
const NEGLIGIBLE_BLOCKING: f64 = 1e-12;
