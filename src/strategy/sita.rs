//! `sita`: size-interval task assignment — each backend serves one range of request sizes.

use super::weighted_random::require_backends;
use super::{BackendInfo, Cluster, Needs, ParamSpec, Params, PickCost, Setup, Strategy, StrategyError};
use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, OnceLock};

use crate::model::{Request, ServiceDistribution};
use crate::units::format_duration;

/// Size-Interval Task Assignment (Harchol-Balter, Crovella & Murta, 1999): with cutoffs
/// x₀ < x₁ < … < x_{n−2}, a request of size s goes to the first backend k with s ≤ x_k; the
/// last backend takes every request larger than x_{n−2}. Small requests therefore never
/// queue behind large ones, which is what helps under highly variable sizes. Backends get
/// the size intervals in their configured order (backend 0 the smallest sizes). No ties
/// arise (a size equal to a cutoff belongs to the lower interval). This is an oracle
/// strategy: it reads the request's size.
///
/// Cutoffs come from the `cutoffs` parameter, or, when absent, are computed so that each
/// backend receives a share of the work proportional to its capacity ("equal load" for
/// identical backends) by [`exact_equal_load_cutoffs`]: from the distribution's exact partial
/// means E[S; S ≤ x], solved for x, never from a sample. (A sample of 2²⁰ sizes from a bounded
/// Pareto with α = 1.1 on [1 ms, 10⁴ s] has a mean 1.15 × the true one: its cutoff was 0.483 s
/// where equal load needs 0.166 s, and 16 backends got up to 1.085 × their share.) The
/// cutoffs are a function of the model alone (every run of a sweep point uses the same
/// ones, as a deployed SITA would), and they are computed once per process for each
/// (distribution, capacities).
#[derive(Debug)]
pub struct Sita {
    /// x₀ … x_{n−2}, strictly increasing.
    cutoffs: Vec<f64>,
}

impl Sita {
    /// Builds from `params`, or, without `cutoffs`, from the equal-load cutoffs `calibrate`
    /// computes for the backends' capacities (called only then, and not for a single backend).
    pub(crate) fn new(
        backends: &[BackendInfo],
        params: &Params,
        calibrate: impl FnOnce(&[f64]) -> Result<Vec<f64>, String>,
    ) -> Result<Self, StrategyError> {
        require_backends(Self::NAME, backends)?;
        let n = backends.len();
        let cutoffs = match params.durations("cutoffs")? {
            Some(cutoffs) => validate_cutoffs(params, cutoffs, n)?,
            None if n == 1 => Vec::new(),
            None => {
                let capacities: Vec<f64> = backends.iter().map(|b| b.capacity).collect();
                calibrate(&capacities).map_err(|what| StrategyError::Unsupported {
                    strategy: Self::NAME.to_string(),
                    what: format!("cannot calibrate equal-load cutoffs: {what}; give `cutoffs` explicitly"),
                })?
            }
        };
        Ok(Sita { cutoffs })
    }

    /// The cutoffs in use (n − 1 of them, strictly increasing).
    pub fn cutoffs(&self) -> &[f64] {
        &self.cutoffs
    }
}

impl Strategy for Sita {
    const NAME: &'static str = "sita";
    const SUMMARY: &'static str = "oracle: each backend serves one interval of request sizes \
         (cutoffs given, or equal load per capacity)";
    const MODELS: &'static str = "textbook: size-interval task assignment (Harchol-Balter)";
    const NEEDS: Needs = Needs::Nothing;
    // A binary search of the cutoffs.
    const PICK_COST: PickCost = PickCost::Logarithmic;
    const PARAMS: &'static [ParamSpec] = &[ParamSpec {
        name: "cutoffs",
        help: "size cutoffs, one fewer than backends, strictly increasing (e.g. [\"5ms\", \"50ms\"]); \
               default: equal load per unit of capacity, calibrated from the size distribution",
    }];

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        if setup.params.values.contains_key("cutoffs") || setup.backends.len() <= 1 {
            return Sita::new(setup.backends, setup.params, |_| Ok(Vec::new()));
        }
        let capacities: Vec<f64> = setup.backends.iter().map(|b| b.capacity).collect();
        let key = calibration_key(setup.service, &capacities);
        let cache = CALIBRATED.get_or_init(Default::default);
        if let Some(cutoffs) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(Sita { cutoffs: cutoffs.clone() });
        }
        let sita =
            Sita::new(setup.backends, setup.params, |capacities| exact_equal_load_cutoffs(setup.service, capacities))?;
        cache.lock().unwrap_or_else(|e| e.into_inner()).insert(key, sita.cutoffs.clone());
        Ok(sita)
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, _cluster: &mut C) -> usize {
        // The first k with size ≤ x_k; n − 1 (= cutoffs.len()) when there is none.
        self.cutoffs.partition_point(|&cutoff| cutoff < request.size)
    }
}

/// Calibrated cutoffs by (distribution, capacities), for the life of the process: a sweep
/// has a handful of distinct models, so this stays small.
static CALIBRATED: OnceLock<Mutex<HashMap<u64, Vec<f64>>>> = OnceLock::new();

/// A 64-bit digest of everything the calibration depends on: the distribution's parameters
/// (its `Debug` form, streamed so a large empirical sample is not copied) and the
/// capacities. `DefaultHasher::new()` uses fixed keys, so digests are stable within a run.
fn calibration_key(service: &ServiceDistribution, capacities: &[f64]) -> u64 {
    struct Digest(DefaultHasher);
    impl std::fmt::Write for Digest {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            s.hash(&mut self.0);
            Ok(())
        }
    }
    let mut digest = Digest(DefaultHasher::new());
    let _ = write!(digest, "{service:?}|{capacities:?}");
    digest.0.finish()
}

fn validate_cutoffs(params: &Params, cutoffs: Vec<f64>, n: usize) -> Result<Vec<f64>, StrategyError> {
    let bad = |what: String| StrategyError::BadParam {
        strategy: params.strategy.clone(),
        param: "cutoffs".to_string(),
        what,
    };
    if cutoffs.len() != n - 1 {
        return Err(bad(format!(
            "expected {} cutoff{} (one fewer than the {n} backend{}), got {}",
            n - 1,
            if n == 2 { "" } else { "s" },
            if n == 1 { "" } else { "s" },
            cutoffs.len()
        )));
    }
    if let Some(&c) = cutoffs.iter().find(|c| !(c.is_finite() && **c > 0.0)) {
        return Err(bad(format!("cutoffs must be positive durations, got {}", format_duration(c))));
    }
    if let Some(w) = cutoffs.windows(2).find(|w| w[0] >= w[1]) {
        return Err(bad(format!(
            "cutoffs must be strictly increasing, but {} is followed by {}",
            format_duration(w[0]),
            format_duration(w[1])
        )));
    }
    Ok(cutoffs)
}

/// Cutoffs that give each backend a share of the total work proportional to its capacity,
/// exactly: cutoff x_k solves E[S; S ≤ x_k] = E[S]·(c₀ + … + c_k)/C with the distribution's
/// closed-form partial mean ([`ServiceDistribution::partial_mean`]), by bisection to machine
/// precision (the smallest x reaching the target, so an atom falls in the lower interval).
/// An empirical distribution is cut on its own observed sizes by [`equal_load_cutoffs`],
/// which is exact for it. Every size distribution lbsim has is covered, so nothing is ever
/// sampled.
///
/// Fails (with a reason) when the mean size is infinite (a Pareto with α ≤ 1: no finite
/// share exists), or when the cutoffs would not be strictly increasing or would leave the
/// last backend nothing (a distribution with atoms, e.g. deterministic sizes, cannot always
/// be split by size).
pub fn exact_equal_load_cutoffs(service: &ServiceDistribution, capacities: &[f64]) -> Result<Vec<f64>, String> {
    let n = capacities.len();
    if n <= 1 {
        return Ok(Vec::new());
    }
    if let ServiceDistribution::Empirical { samples, .. } = service {
        return equal_load_cutoffs(&mut samples.to_vec(), capacities);
    }
    let mean = service.mean();
    if !(mean.is_finite() && mean > 0.0) {
        return Err(format!("the mean request size is {mean}, so no cutoffs give each backend a finite share"));
    }
    let total_capacity: f64 = capacities.iter().sum();
    let mut cutoffs = Vec::with_capacity(n - 1);
    let mut capacity_so_far = 0.0;
    for capacity in &capacities[..n - 1] {
        capacity_so_far += capacity;
        let target = mean * capacity_so_far / total_capacity;
        // Bracket: partial_mean(0) = 0 < target ≤ partial_mean(hi).
        let mut hi = mean;
        while service.partial_mean(hi) < target {
            hi *= 2.0;
            if !hi.is_finite() {
                return Err("the partial mean never reaches its target".to_string());
            }
        }
        let mut lo = 0.0;
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            if service.partial_mean(mid) < target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        cutoffs.push(hi);
    }
    if let Some(w) = cutoffs.windows(2).find(|w| w[0] >= w[1]) {
        return Err(format!(
            "two backends would need the same cutoff {} (too many requests of one size)",
            format_duration(w[0])
        ));
    }
    let last = cutoffs[n - 2];
    if service.partial_mean(last) >= mean * (1.0 - 1e-12) {
        return Err(format!(
            "the last backend would get no requests (no request is larger than the cutoff {})",
            format_duration(last)
        ));
    }
    Ok(cutoffs)
}

/// Cutoffs that give each backend a share of the total work proportional to its capacity,
/// from `sample` (request sizes; sorted in place). For capacities c₀ … c_{n−1}
/// with total C, the sample is sorted and its cumulative work walked: cutoff x_k is the
/// smallest sampled size at which the cumulative work reaches W·(c₀ + … + c_k)/C, W being
/// the sample's total work. So backend k serves sizes in (x_{k−1}, x_k] and gets its share
/// of the work, up to one sample's worth.
///
/// Fails (with a reason) when the sample is empty or invalid, or when the cutoffs would not
/// be strictly increasing or would leave the last backend nothing: a distribution with
/// atoms (e.g. deterministic sizes) cannot be split by size.
pub fn equal_load_cutoffs(sample: &mut [f64], capacities: &[f64]) -> Result<Vec<f64>, String> {
    let n = capacities.len();
    if n <= 1 {
        return Ok(Vec::new());
    }
    if sample.is_empty() {
        return Err("no sizes to calibrate from".to_string());
    }
    if let Some(s) = sample.iter().find(|s| !(s.is_finite() && **s >= 0.0)) {
        return Err(format!("the size distribution produced {s}"));
    }
    sample.sort_unstable_by(f64::total_cmp);
    let total_work: f64 = sample.iter().sum();
    if total_work <= 0.0 {
        return Err("every sampled size is zero".to_string());
    }
    let total_capacity: f64 = capacities.iter().sum();
    let mut cutoffs = Vec::with_capacity(n - 1);
    let mut capacity_so_far = 0.0;
    let mut work = 0.0;
    let mut next = 0;
    for capacity in &capacities[..n - 1] {
        capacity_so_far += capacity;
        let target = total_work * capacity_so_far / total_capacity;
        while work < target && next < sample.len() {
            work += sample[next];
            next += 1;
        }
        cutoffs.push(sample[next.max(1) - 1]);
    }
    let largest = sample[sample.len() - 1];
    if let Some(w) = cutoffs.windows(2).find(|w| w[0] >= w[1]) {
        return Err(format!(
            "two backends would need the same cutoff {} (too many requests of one size)",
            format_duration(w[0])
        ));
    }
    if cutoffs[n - 2] >= largest {
        return Err(format!(
            "the last backend would get no requests (cutoff {} is the largest size)",
            format_duration(largest)
        ));
    }
    Ok(cutoffs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::ParamValue;
    use crate::strategy::testing::{MockCluster, backend, backends, request, rng};

    #[test]
    fn default_cutoffs_split_exponential_work_in_half_whatever_the_run() {
        // Two equal backends, exponential sizes with mean 1: the cutoff x with half the work
        // below it solves 1 − e^(−x)(1 + x) = ½, x ≈ 1.6783.
        let service = ServiceDistribution::exponential(1.0).unwrap();
        let infos = backends(2);
        let params = Params::new("sita");
        let build = |seed| {
            let setup = Setup {
                backends: &infos,
                service: &service,
                params: &params,
                addresses: Default::default(),
                rng: rng(seed),
            };
            Sita::build(&setup).unwrap().cutoffs().to_vec()
        };
        let cutoffs = build(1);
        assert_eq!(cutoffs.len(), 1);
        // Exact: 1 − e^(−x)(1 + x) = ½ at x = 1.678346990…
        assert!((cutoffs[0] - 1.678_346_990_016_66).abs() < 1e-9, "{cutoffs:?}");
        // The cutoffs depend on the model only, not on the run's strategy stream.
        assert_eq!(build(2), cutoffs);
    }

    fn cutoffs_param(values: &[&str]) -> Params {
        let list = values.iter().map(|v| ParamValue::Text(v.to_string())).collect();
        Params::new("sita").with("cutoffs", ParamValue::List(list))
    }

    fn no_calibration(_: &[f64]) -> Result<Vec<f64>, String> {
        panic!("explicit cutoffs must not calibrate")
    }

    #[test]
    fn routes_by_size_interval() {
        let mut s = Sita::new(&backends(3), &cutoffs_param(&["10ms", "100ms"]), no_calibration).unwrap();
        let mut cluster = MockCluster::uniform(3);
        for (size, expected) in [(0.001, 0), (0.01, 0), (0.0100001, 1), (0.05, 1), (0.1, 1), (0.2, 2), (50.0, 2)] {
            assert_eq!(s.pick(&request(0, size), &mut cluster), expected, "size {size}");
        }
        assert!(cluster.queried.is_empty());
    }

    #[test]
    fn validates_cutoffs() {
        let err = |values: &[&str]| Sita::new(&backends(3), &cutoffs_param(values), no_calibration).unwrap_err();
        let message = err(&["10ms"]).to_string();
        assert!(message.contains("expected 2 cutoffs") && message.contains("got 1"), "{message}");
        let message = err(&["10ms", "20ms", "30ms"]).to_string();
        assert!(message.contains("got 3"), "{message}");
        let message = err(&["100ms", "10ms"]).to_string();
        assert!(message.contains("strictly increasing"), "{message}");
        let message = err(&["10ms", "10ms"]).to_string();
        assert!(message.contains("strictly increasing"), "{message}");
        let message = err(&["0ms", "10ms"]).to_string();
        assert!(message.contains("positive"), "{message}");
        assert!(matches!(err(&["10xs", "20ms"]), StrategyError::BadParam { ref param, .. } if param == "cutoffs"));
        let not_a_list = Params::new("sita").with("cutoffs", ParamValue::Number(1.0));
        assert!(Sita::new(&backends(3), &not_a_list, no_calibration).is_err());
        // A single backend needs no cutoffs and never calibrates.
        let mut single = Sita::new(&backends(1), &Params::new("sita"), no_calibration).unwrap();
        assert_eq!(single.pick(&request(0, 9.0), &mut MockCluster::uniform(1)), 0);
    }

    #[test]
    fn equal_load_cutoffs_on_known_samples() {
        // Work 8: four requests of size 1 (work 4) | one of size 4 (work 4).
        assert_eq!(equal_load_cutoffs(&mut [1.0, 4.0, 1.0, 1.0, 1.0], &[1.0, 1.0]).unwrap(), [1.0]);
        // Sizes 1..=8 (work 36), capacities 1:2 → target 12, reached at size 5 (cum. 15).
        let mut sample = [8.0, 3.0, 5.0, 1.0, 7.0, 2.0, 6.0, 4.0];
        assert_eq!(equal_load_cutoffs(&mut sample, &[1.0, 2.0]).unwrap(), [5.0]);
        // Sizes 1..=9 (work 45), three equal backends: targets 15 (at 5) and 30 (cum. 36 at 8).
        let mut sample: Vec<f64> = (1..=9).rev().map(f64::from).collect();
        assert_eq!(equal_load_cutoffs(&mut sample, &[2.0, 2.0, 2.0]).unwrap(), [5.0, 8.0]);
        // Uniform sizes on [0, 1): equal work halves cut at √½.
        let mut sample: Vec<f64> = (0..100_000).map(|k| (f64::from(k) + 0.5) / 100_000.0).collect();
        let cutoffs = equal_load_cutoffs(&mut sample, &[1.0, 1.0]).unwrap();
        assert!((cutoffs[0] - 0.5f64.sqrt()).abs() < 1e-4, "{cutoffs:?}");
    }

    #[test]
    fn equal_load_cutoffs_refuse_unsplittable_samples() {
        assert!(equal_load_cutoffs(&mut [2.0; 10], &[1.0, 1.0]).is_err());
        assert!(equal_load_cutoffs(&mut [1.0, 1.0, 1.0, 1.0, 4.0], &[1.0, 1.0, 1.0]).is_err());
        assert!(equal_load_cutoffs(&mut [], &[1.0, 1.0]).is_err());
        assert!(equal_load_cutoffs(&mut [1.0, f64::NAN], &[1.0, 1.0]).is_err());
        assert!(equal_load_cutoffs(&mut [0.0, 0.0], &[1.0, 1.0]).is_err());
    }

    #[test]
    fn calibrates_without_cutoffs_and_weighs_by_capacity() {
        let infos = vec![backend("small", 1, 1.0), backend("big", 3, 1.0)];
        let mut sample: Vec<f64> = (1..=8).map(f64::from).collect();
        let s = Sita::new(&infos, &Params::new("sita"), |c| equal_load_cutoffs(&mut sample, c)).unwrap();
        // Work 36, capacities 1:3 → target 9, reached at size 4 (cum. 10).
        assert_eq!(s.cutoffs(), [4.0]);
        let err = Sita::new(&infos, &Params::new("sita"), |c| equal_load_cutoffs(&mut [3.0; 5], c)).unwrap_err();
        assert!(matches!(err, StrategyError::Unsupported { .. }), "{err}");
    }

    /// The share of the work each backend gets under `cutoffs`, by Simpson's rule in log x
    /// over the density `pdf` on [lo, hi] — independent of the closed forms under test.
    fn work_shares(pdf: impl Fn(f64) -> f64, lo: f64, hi: f64, cutoffs: &[f64]) -> Vec<f64> {
        let work = |a: f64, b: f64| {
            let (ua, ub) = (a.ln(), b.ln());
            let steps = 200_000;
            let h = (ub - ua) / steps as f64;
            let g = |u: f64| {
                let x = u.exp();
                x * x * pdf(x)
            };
            let mut sum = g(ua) + g(ub);
            for i in 1..steps {
                sum += g(ua + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
            }
            sum * h / 3.0
        };
        let mut edges = vec![lo];
        edges.extend_from_slice(cutoffs);
        edges.push(hi);
        let parts: Vec<f64> = edges.windows(2).map(|w| work(w[0], w[1])).collect();
        let total: f64 = parts.iter().sum();
        parts.iter().map(|p| p / total).collect()
    }

    fn cutoffs_for(service: &ServiceDistribution, n: usize) -> Vec<f64> {
        exact_equal_load_cutoffs(service, &vec![1.0; n]).unwrap()
    }

    #[test]
    fn heavy_tailed_sizes_split_into_equal_work() {
        // Bounded Pareto α = 1.1 on [1 ms, 10⁴ s] (the case a 2²⁰ sample got 1.152 : 0.848).
        let (alpha, min, max) = (1.1, 0.001, 1e4);
        let bp = ServiceDistribution::bounded_pareto(alpha, min, max).unwrap();
        let mass = 1.0 - (min / max).powf(alpha);
        let pdf = |x: f64| alpha * min.powf(alpha) * x.powf(-alpha - 1.0) / mass;
        for n in [2, 4, 16] {
            let cutoffs = cutoffs_for(&bp, n);
            let shares = work_shares(pdf, min, max, &cutoffs);
            eprintln!(
                "bounded Pareto, {n} hosts: cutoffs {cutoffs:?}, work shares × n {:?}",
                shares.iter().map(|s| s * n as f64).collect::<Vec<_>>()
            );
            for s in &shares {
                assert!((s * n as f64 - 1.0).abs() < 0.005, "{n} hosts: shares {shares:?}");
            }
            if n == 2 {
                assert!((cutoffs[0] - 0.166).abs() < 0.001, "{cutoffs:?}");
            }
        }
        // Lognormal with cv 3.
        let ln = ServiceDistribution::lognormal_mean_cv(0.01, 3.0).unwrap();
        let ServiceDistribution::Lognormal { mu, sigma, .. } = ln else { unreachable!() };
        let pdf = |x: f64| {
            let z = (x.ln() - mu) / sigma;
            (-0.5 * z * z).exp() / (x * sigma * (2.0 * std::f64::consts::PI).sqrt())
        };
        let (lo, hi) = ((mu - 14.0 * sigma).exp(), (mu + 14.0 * sigma).exp());
        for n in [2, 4] {
            let cutoffs = cutoffs_for(&ln, n);
            let shares = work_shares(pdf, lo, hi, &cutoffs);
            eprintln!(
                "lognormal cv 3, {n} hosts: cutoffs {cutoffs:?}, work shares × n {:?}",
                shares.iter().map(|s| s * n as f64).collect::<Vec<_>>()
            );
            for s in &shares {
                assert!((s * n as f64 - 1.0).abs() < 0.005, "{n} hosts: shares {shares:?}");
            }
        }
    }

    #[test]
    fn exact_cutoffs_refuse_what_cannot_be_split() {
        let det = ServiceDistribution::deterministic(0.01).unwrap();
        assert!(exact_equal_load_cutoffs(&det, &[1.0, 1.0]).unwrap_err().contains("no requests"));
        let pareto = ServiceDistribution::pareto(0.9, 0.001).unwrap();
        assert!(exact_equal_load_cutoffs(&pareto, &[1.0, 1.0]).unwrap_err().contains("mean request size is inf"));
        // An empirical distribution is cut on its own sizes, exactly.
        let empirical = ServiceDistribution::empirical(std::sync::Arc::from(vec![1.0, 4.0, 1.0, 1.0, 1.0])).unwrap();
        assert_eq!(exact_equal_load_cutoffs(&empirical, &[1.0, 1.0]).unwrap(), [1.0]);
    }
}
