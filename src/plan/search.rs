//! The searches of `lbsim plan`.
//!
//! **One decision** ([`Planner::evaluate`]): at a size and a rate, run [`FIRST_REPLICATIONS`]
//! independent replications (the file's `[run]` length each) and form the 95 % interval of
//! the SLO metric over them (Student t). The size *meets* the SLO when the whole interval is
//! at or below the limit, *fails* when it is wholly above (or the run is saturated, or the
//! offered load is ≥ 1, which is not simulated), and is *unclear* otherwise: then the
//! replications are doubled, up to [`MOST_REPLICATIONS`]. A size still unclear then is too
//! close to call and does not count as meeting the SLO (the answer must hold with 95 %
//! confidence). Decisions far from the boundary therefore cost a few replications, those
//! near it many.
//!
//! **Sizes** ([`Planner::sizes`]): the offered load falls as the varied quantity grows, and
//! so does the SLO metric. From the smallest value with offered load below 1, try values at
//! growing steps (+1, +2, +4, …, capped at the bound) until one meets the SLO, then bisect
//! between the last that did not and the first that did. The minimum is the smallest value
//! that meets it.
//!
//! For the chart, every strategy then gets a first look ([`FIRST_REPLICATIONS`]) at the
//! sizes its search skipped, up to one past the largest minimum; these do not change answers.
//!
//! **Headroom** ([`Planner::headroom`]): at the minimum size, bisect the arrival rate between
//! the planned rate (which meets the SLO) and the rate that offers load 1 (which cannot),
//! following the point estimate through rates too close to call (at most
//! [`MOST_HEADROOM_REPLICATIONS`] each), until the bracket is within [`HEADROOM_TOLERANCE`]
//! of the planned rate or [`HEADROOM_UNCLEAR`] rates were too close to call. The headroom is the middle of that bracket;
//! its interval runs from the highest rate that met the SLO with 95 % confidence to the
//! lowest that failed it.
//!
//! Every size uses its own random streams (point = the size), shared by every strategy and
//! every rate at that size (common random numbers), so comparisons between strategies and
//! rates are sharper than their separate intervals suggest.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result, bail};
use rayon::prelude::*;
use serde::Serialize;

use super::{Evaluation, PlanResults, Question, Setup, StrategyPlan, Vary};
use crate::experiment::{Experiment, StrategySpec, Warmup};
use crate::plot::metric;
use crate::runner::{Replication, combine, run_replication};
use crate::stats::Estimate;
use crate::strategy::nearest;

/// Replications of the first look at a size: 4 gives a t quantile of 3.2, enough to settle
/// sizes far from the boundary at once.
pub const FIRST_REPLICATIONS: u32 = 4;
/// Most replications at one size and rate (the replications double up to it).
pub const MOST_REPLICATIONS: u32 = 32;
/// The headroom bisection stops when its bracket is narrower than this fraction of the
/// planned rate.
pub const HEADROOM_TOLERANCE: f64 = 0.01;
/// Most rates tried in the headroom bisection.
const HEADROOM_STEPS: usize = 12;
/// Most replications at one rate of the headroom bisection: its interval is the bracket of
/// clear decisions, so a rate too close to call costs less here than at a size.
const MOST_HEADROOM_REPLICATIONS: u32 = 16;
/// The headroom bisection stops after this many rates too close to call: the crossing is
/// then located as finely as the simulation's noise allows.
const HEADROOM_UNCLEAR: usize = 2;
/// Fewest responses above a percentile per replication for its interval (the runner's rule).
const MIN_EXCEEDANCES: f64 = 50.0;

/// The decision at one size and rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The 95 % interval of the SLO metric is at or below the limit.
    Meets,
    /// The interval is above the limit, or the run is saturated, or the offered load is ≥ 1.
    Fails,
    /// The interval straddles the limit even after [`MOST_REPLICATIONS`].
    Unclear,
}

/// Answers `question` for every strategy asked, on the current rayon pool.
pub fn plan(file: &crate::config::ExperimentFile, question: &Question) -> Result<PlanResults> {
    let setup = Setup::new(file, question.rate)?;
    let base = &setup.base;
    let vary = &question.vary;
    if question.slo.metric != "mean_response" {
        let q = crate::runner::QUANTILES
            [["p50", "p90", "p95", "p99", "p999"].iter().position(|m| *m == question.slo.metric).unwrap_or(0)];
        let needed = (MIN_EXCEEDANCES / (1.0 - q)).ceil() as u64;
        if base.plan.requests < needed {
            bail!(
                "the SLO's {} needs at least {needed} measured requests per replication for a confidence interval \
                 (at least {MIN_EXCEEDANCES} responses above it); the file has run.requests = {} (raise it, e.g. \
                 --set run.requests={})",
                question.slo.metric_name(),
                base.plan.requests,
                needed * 4
            );
        }
    }
    let specs = chosen_strategies(base, &question.strategies)?;
    if let Some(max) = question.max {
        if max == 0 || max > vary.limit() {
            bail!("--max {max}: expected a whole number from 1 to {}", vary.limit());
        }
    }
    let first_stable = first_stable(&setup, vary, question.rate, question.max.unwrap_or(vary.limit()))?;
    let bound = question.max.unwrap_or_else(|| vary.default_bound(first_stable.unwrap_or(1)));
    let planner = |spec| Planner { setup: &setup, question, spec, bound };
    let mut results = specs.par_iter().map(|spec| planner(spec).strategy(first_stable)).collect::<Result<Vec<_>>>()?;
    // For the chart, every strategy at every size from the first stable one to one past the
    // largest minimum (a first look each at the sizes its search skipped).
    if let (Some(first), Some(top)) = (first_stable, results.iter().filter_map(|r| r.minimum).max()) {
        let last = top.saturating_add(1).min(bound);
        results.par_iter_mut().zip(&specs).try_for_each(|(r, spec)| -> Result<()> {
            for value in first..=last {
                if !r.sizes.iter().any(|e| e.value == value) {
                    r.sizes.push(planner(spec).evaluate(value, question.rate, FIRST_REPLICATIONS)?);
                }
            }
            r.sizes.sort_by_key(|e| e.value);
            Ok(())
        })?;
    }
    Ok(PlanResults {
        experiment: base.name.clone(),
        rate: question.rate,
        slo: question.slo.clone(),
        vary: vary.clone(),
        results,
        config: setup.config(),
        seed: base.seed,
    })
}

/// The strategies of `experiment` named in `wanted` (all when empty), in file order.
fn chosen_strategies(experiment: &Experiment, wanted: &[String]) -> Result<Vec<StrategySpec>> {
    for w in wanted {
        if !experiment.strategies.iter().any(|s| &s.label == w) {
            let labels: Vec<&str> = experiment.strategies.iter().map(|s| s.label.as_str()).collect();
            match nearest(w, labels.iter().copied()) {
                Some(s) => bail!("--strategies: \"{w}\" is not a strategy of this experiment; did you mean \"{s}\"?"),
                None => {
                    bail!("--strategies: \"{w}\" is not a strategy of this experiment (it has {})", labels.join(", "))
                }
            }
        }
    }
    Ok(experiment.strategies.iter().filter(|s| wanted.is_empty() || wanted.contains(&s.label)).cloned().collect())
}

/// The smallest value up to `most` at which the offered load is below 1 (the offered load
/// falls as the quantity grows), or `None`.
fn first_stable(setup: &Setup, vary: &Vary, rate: f64, most: u32) -> Result<Option<u32>> {
    let stable = |v: u32| -> Result<bool> { Ok(setup.at(vary, v, rate)?.model.offered_load() < 1.0) };
    let (mut lo, mut hi) = (0u32, 1u32);
    // Grow until stable: lo is unstable (or 0), hi the candidate.
    loop {
        if stable(hi)? {
            break;
        }
        if hi >= most {
            return Ok(None);
        }
        lo = hi;
        hi = hi.saturating_mul(2).min(most);
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if stable(mid)? { hi = mid } else { lo = mid }
    }
    Ok(Some(hi))
}

/// One strategy's searches.
struct Planner<'a> {
    setup: &'a Setup,
    question: &'a Question,
    spec: &'a StrategySpec,
    bound: u32,
}

impl Planner<'_> {
    fn strategy(&self, first_stable: Option<u32>) -> Result<StrategyPlan> {
        let mut plan = StrategyPlan {
            strategy: self.spec.label.clone(),
            name: self.spec.name.clone(),
            minimum: None,
            reason: None,
            best: None,
            headroom_rate: None,
            headroom_rate_ci95: None,
            sizes: Vec::new(),
            rates: Vec::new(),
            at_minimum: None,
            bound: self.bound,
        };
        let vary = &self.question.vary;
        let Some(first) = first_stable.filter(|&f| f <= self.bound) else {
            plan.reason = Some(format!(
                "even {} cannot carry {} req/s: the offered load stays at or above 1 (more work than the workers can do)",
                vary.words(self.bound),
                crate::units::significant(self.question.rate, 4)
            ));
            return Ok(plan);
        };
        let sizes = self.sizes(first)?;
        plan.minimum = sizes.values().find(|e| e.verdict == Verdict::Meets).map(|e| e.value);
        plan.sizes = sizes.into_values().collect();
        match plan.minimum {
            None => {
                let best = plan
                    .sizes
                    .iter()
                    .filter(|e| e.metric.value.is_finite() && !e.saturated)
                    .min_by(|a, b| a.metric.value.total_cmp(&b.metric.value))
                    .cloned();
                plan.reason = Some(unreachable_reason(self.question, vary, self.bound, best.as_ref()));
                plan.best = best;
            }
            Some(m) => {
                let at = plan.sizes.iter().find(|e| e.value == m).expect("the minimum was evaluated").clone();
                let (headroom, interval, rates) = self.headroom(m, &at)?;
                plan.headroom_rate = Some(headroom);
                plan.headroom_rate_ci95 = Some(interval);
                plan.rates = rates;
                plan.at_minimum = at.result;
            }
        }
        Ok(plan)
    }

    /// Every size evaluated at the planned rate, by value.
    fn sizes(&self, first: u32) -> Result<BTreeMap<u32, Evaluation>> {
        let rate = self.question.rate;
        let mut done = BTreeMap::new();
        let mut below = first - 1; // does not meet (unstable, or 0)
        let mut meets = None;
        let (mut value, mut step) = (first, 1u32);
        loop {
            let e = self.evaluate(value, rate, MOST_REPLICATIONS)?;
            let ok = e.verdict == Verdict::Meets;
            done.insert(value, e);
            if ok {
                meets = Some(value);
                break;
            }
            below = value;
            if value >= self.bound {
                break;
            }
            value = value.saturating_add(step).min(self.bound);
            step = step.saturating_mul(2);
        }
        let Some(mut above) = meets else { return Ok(done) };
        while above - below > 1 {
            let mid = below + (above - below) / 2;
            let e = self.evaluate(mid, rate, MOST_REPLICATIONS)?;
            if e.verdict == Verdict::Meets {
                above = mid
            } else {
                below = mid
            }
            done.insert(mid, e);
        }
        Ok(done)
    }

    /// The headroom rate at size `minimum`, its 95 % interval and the rates evaluated.
    fn headroom(&self, minimum: u32, at: &Evaluation) -> Result<(f64, [f64; 2], Vec<Evaluation>)> {
        let rate = self.question.rate;
        let limit = self.question.slo.limit;
        // Offered load is proportional to the rate: load 1 is reached at rate / load.
        // (Rounded to 12 digits: 300 / 0.75 should read 400, not 399.99999999999994.)
        let saturation = round_digits(rate / at.load, 12);
        let (mut lo, mut hi) = (rate, saturation);
        let (mut clear_lo, mut clear_hi) = (rate, saturation);
        let mut rates: Vec<Evaluation> = Vec::new();
        for _ in 0..HEADROOM_STEPS {
            let unclear = rates.iter().filter(|e| e.verdict == Verdict::Unclear).count();
            if hi - lo <= HEADROOM_TOLERANCE * rate || unclear >= HEADROOM_UNCLEAR {
                break;
            }
            let mid = (lo + hi) / 2.0;
            let e = self.evaluate(minimum, mid, MOST_HEADROOM_REPLICATIONS)?;
            match e.verdict {
                Verdict::Meets => {
                    lo = mid;
                    clear_lo = clear_lo.max(mid);
                }
                Verdict::Fails => {
                    hi = mid;
                    clear_hi = clear_hi.min(mid);
                }
                Verdict::Unclear if e.metric.value <= limit => lo = mid,
                Verdict::Unclear => hi = mid,
            }
            rates.push(e);
        }
        rates.sort_by(|a, b| a.rate.total_cmp(&b.rate));
        Ok(((lo + hi) / 2.0, [clear_lo, clear_hi], rates))
    }

    /// The sequential decision at `value` and `rate`, with at most `most` replications.
    fn evaluate(&self, value: u32, rate: f64, most: u32) -> Result<Evaluation> {
        let mut experiment = self.setup.at(&self.question.vary, value, rate)?;
        experiment.slo_limit = Some(self.question.slo.limit);
        let warmup_raised = warm_enough(&mut experiment, self.spec);
        let load = experiment.model.offered_load();
        if load >= 1.0 {
            return Ok(Evaluation {
                value,
                rate,
                metric: Estimate::without_interval(f64::NAN),
                verdict: Verdict::Fails,
                replications: 0,
                load,
                saturated: true,
                warmup_raised,
                result: None,
            });
        }
        let slo = &self.question.slo;
        let mut reps: Vec<Replication> = Vec::new();
        let mut target = FIRST_REPLICATIONS;
        loop {
            let more = (reps.len() as u32..target)
                .into_par_iter()
                .map(|r| run_replication(&experiment, self.spec, u64::from(value), r))
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("{} at {}", self.spec.label, self.question.vary.words(value)))?;
            reps.extend(more);
            let result = combine(&experiment, self.spec, &reps);
            let estimate = metric(&result, slo.metric).expect("SLO metrics are charted metrics");
            let verdict = if result.saturated || estimate.ci_low > slo.limit {
                Verdict::Fails
            } else if estimate.has_interval() && estimate.ci_high <= slo.limit {
                Verdict::Meets
            } else {
                Verdict::Unclear
            };
            if verdict != Verdict::Unclear || target >= most {
                return Ok(Evaluation {
                    value,
                    rate,
                    metric: estimate,
                    verdict,
                    replications: reps.len() as u32,
                    load,
                    saturated: result.saturated,
                    warmup_raised,
                    result: Some(result),
                });
            }
            target = (target * 2).min(most);
        }
    }
}

/// Raises `experiment`'s fixed warm-up to what its queues, empty at the start, need to fill
/// under `spec` when the file's would leave the means more than 1 % low
/// ([`crate::runner::empty_start`]): a plan looks at sizes and rates the file was not written
/// for, and a size whose means read low would meet the SLO by mistake. Over 10⁴ M/M/1
/// backends at load 0.9, 1 000 requests a backend after the default warm-up, random dispatch
/// reads 4.4 % low.
fn warm_enough(experiment: &mut Experiment, spec: &StrategySpec) -> Option<super::WarmupRaised> {
    let estimate = crate::runner::empty_start(experiment, spec)?;
    let Warmup::Fixed(from) = experiment.plan.warmup else { return None };
    if estimate.bias <= crate::relaxation::BIAS_WORTH_A_WARNING || estimate.warmup_needed <= from {
        return None;
    }
    experiment.plan.warmup = Warmup::Fixed(estimate.warmup_needed);
    Some(super::WarmupRaised { from, to: estimate.warmup_needed, bias: estimate.bias })
}

/// Why no size up to the bound meets the SLO, with the best value reached.
fn unreachable_reason(question: &Question, vary: &Vary, bound: u32, best: Option<&Evaluation>) -> String {
    let slo = question.slo.describe();
    match best {
        Some(b) => format!(
            "{slo} is not met up to the search bound, {}; the best reached is {} {} [{}, {}] at {} (raise --max, \
             or look at what sets the floor: request sizes, worker speed)",
            vary.words(bound),
            question.slo.metric_name(),
            crate::units::format_duration(b.metric.value),
            crate::units::format_duration(b.metric.ci_low),
            crate::units::format_duration(b.metric.ci_high),
            vary.words(b.value),
        ),
        None => {
            format!("{slo} is not met up to the search bound, {}: every size tried is saturated", vary.words(bound))
        }
    }
}

/// `x` rounded to `digits` significant digits.
fn round_digits(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}
