//! The key findings of a sweep, computed from its results: which strategy is best in which
//! load band, how far each strategy can be loaded before it breaks the SLO (and the headroom
//! that leaves at the report load), and how close the simulation came to theory. The
//! reports only format these.

use crate::plot::{Context, metric, metric_words};
use crate::results::SweepResults;
use crate::runner::Warning;
use crate::units::{format_duration, significant};

pub use crate::slo::{Slo, SloError};

/// A run of adjacent x values with the same best strategy and the same strategies tied with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub from: f64,
    pub to: f64,
    /// `None` when every strategy is saturated there.
    pub best: Option<String>,
    /// Strategies whose 95 % interval overlaps the best one's throughout the band.
    pub tied: Vec<String>,
}

/// How far one strategy can be loaded within the SLO.
#[derive(Debug, Clone, PartialEq)]
pub struct SloLimit {
    pub strategy: String,
    /// Highest tested load meeting the SLO, with every lower tested load meeting it too.
    pub highest_tested: Option<f64>,
    /// The load where the metric crosses the limit, interpolated linearly between the last
    /// tested load that meets it and the first that does not (the highest tested load when
    /// the next is saturated or none fails).
    pub estimated: Option<f64>,
    /// True when every tested load met the SLO (the true limit is higher).
    pub met_everywhere: bool,
    /// `estimated ÷ operating load − 1`: how much more traffic the report load could take.
    pub headroom: Option<f64>,
    /// 95 % interval of `estimated`: where the upper end of the metric's interval crosses the
    /// limit (`None`: it is above it at the lowest tested load) and where the lower end does
    /// (`None`: it stays below it at every tested load, so the limit is beyond the sweep).
    pub interval: (Option<f64>, Option<f64>),
}

impl SloLimit {
    /// True when the 95 % intervals of two limits overlap: the sweep cannot rank them.
    pub fn ties_with(&self, other: &SloLimit) -> bool {
        let lo = |l: &SloLimit| l.interval.0.unwrap_or(0.0);
        let hi = |l: &SloLimit| l.interval.1.unwrap_or(f64::INFINITY);
        self.estimated.is_some() && other.estimated.is_some() && lo(self) <= hi(other) && lo(other) <= hi(self)
    }
}

/// Simulation against theory for one strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct TheoryFit {
    pub strategy: String,
    pub model: String,
    pub points: usize,
    /// Largest |simulated ÷ theory − 1| over the unsaturated points.
    pub max_relative_error: f64,
    /// Points where theory lies inside the 95 % interval.
    pub within_ci: usize,
}

/// Everything the reports state as findings.
#[derive(Debug, Clone, PartialEq)]
pub struct Findings {
    /// What "best" means (the first charted metric).
    pub metric: &'static str,
    pub x_label: String,
    pub bands: Vec<Band>,
    pub slo: Option<Slo>,
    /// The load the headroom is measured from (the per-load charts' point).
    pub operating_load: f64,
    pub slo_limits: Vec<SloLimit>,
    pub theory: Vec<TheoryFit>,
    /// Results not to be trusted as they stand, and results that reject requests.
    pub cautions: Vec<Caution>,
    /// Closed-loop users: the knee of the load-test curve and what was measured past it.
    pub knee: Option<Knee>,
}

/// The knee of a closed loop's load-test curve (the asymptotic bounds' crossing point) and,
/// per strategy, the largest number of users charted.
#[derive(Debug, Clone, PartialEq)]
pub struct Knee {
    /// N* = (D + Z) · X_max.
    pub users: f64,
    /// Service demand D and think time Z (seconds), bottleneck throughput X_max (per second).
    pub demand: f64,
    pub think: f64,
    pub max_throughput: f64,
    /// Per strategy at the largest N charted: (strategy, N, X, mean response).
    pub largest: Vec<(String, u32, f64, f64)>,
}

/// A warning that applies to one strategy at some charted points.
#[derive(Debug, Clone, PartialEq)]
pub struct Caution {
    pub strategy: String,
    /// What is wrong, in words (a [`Warning`]'s explanation, or the rejected share).
    pub what: String,
    /// The x values where it applies.
    pub at: Vec<f64>,
}

impl Findings {
    /// Computes the findings; fails only when `[report] slo` does not parse.
    pub fn compute(results: &SweepResults) -> Result<Findings, SloError> {
        let slo = results.report.slo.as_deref().map(Slo::parse).transpose()?;
        let Some(ctx) = Context::new(results) else {
            return Ok(Findings {
                metric: "mean_response",
                x_label: String::new(),
                bands: vec![],
                slo,
                operating_load: f64::NAN,
                slo_limits: vec![],
                theory: vec![],
                cautions: vec![],
                knee: None,
            });
        };
        let metric_name = crate::plot::response_metrics(results)[0];
        let operating_load = ctx.result(ctx.focus, 0).map_or(f64::NAN, |r| r.load);
        let slo_limits = match &slo {
            Some(slo) => (0..results.strategies.len()).map(|s| slo_limit(&ctx, s, slo, operating_load)).collect(),
            None => vec![],
        };
        Ok(Findings {
            metric: metric_name,
            x_label: ctx.x_label(),
            bands: bands(&ctx, metric_name),
            slo,
            operating_load,
            slo_limits,
            theory: theory_fits(&ctx),
            cautions: cautions(&ctx),
            knee: knee(&ctx),
        })
    }

    /// The findings as plain sentences (the reports escape and format them).
    pub fn sentences(&self) -> Vec<String> {
        let mut out = Vec::new();
        let words = metric_words(self.metric);
        for band in &self.bands {
            let range = if band.from == band.to {
                format!("At {} {}", self.x_short(), significant(band.from, 3))
            } else {
                format!("For {} {}–{}", self.x_short(), significant(band.from, 3), significant(band.to, 3))
            };
            match &band.best {
                None => out.push(format!("{range} every strategy is saturated.")),
                Some(best) if band.tied.is_empty() => out.push(format!("{range}, {best} has the lowest {words}.")),
                Some(best) => out.push(format!(
                    "{range}, {best} has the lowest {words}, though not distinguishably from {} (overlapping 95 % intervals).",
                    band.tied.join(", ")
                )),
            }
        }
        if let Some(slo) = &self.slo {
            for l in &self.slo_limits {
                out.push(match (l.highest_tested, l.estimated) {
                    (None, _) => format!("{} misses {} even at the lowest tested load.", l.strategy, slo.describe()),
                    (Some(h), _) if l.met_everywhere => format!(
                        "{} meets {} at every tested load (up to {}){}.",
                        l.strategy,
                        slo.describe(),
                        significant(h, 3),
                        self.headroom_words(l.headroom, true)
                    ),
                    (Some(h), Some(e)) => format!(
                        "{} meets {} up to load {} (tested; about {} interpolated, {}){}.",
                        l.strategy,
                        slo.describe(),
                        significant(h, 3),
                        significant(e, 3),
                        interval_words(l.interval),
                        self.headroom_words(l.headroom, false)
                    ),
                    (Some(h), None) => {
                        format!("{} meets {} up to load {}.", l.strategy, slo.describe(), significant(h, 3))
                    }
                });
            }
        }
        if let Some(ranking) = self.slo_ranking() {
            out.push(ranking);
        }
        for c in &self.cautions {
            let at: Vec<String> = c.at.iter().map(|x| significant(*x, 3)).collect();
            out.push(format!("Caution, {} at {} {}: {}.", c.strategy, self.x_short(), at.join(", "), c.what));
        }
        if let Some(k) = &self.knee {
            out.push(format!(
                "The knee of the load-test curve is at N* = (D + Z) × X_max = ({} + {}) × {}/s ≈ {} users \
                 (D: a request's service demand, Z: the think time, X_max: the cluster's capacity in requests per \
                 second). Below it throughput grows as N/(D + Z) and users rarely queue; above it throughput \
                 stays near X_max and each extra user adds about 1/X_max = {} of waiting (R ≈ N/X_max − Z).",
                format_duration(k.demand),
                format_duration(k.think),
                significant(k.max_throughput, 4),
                significant(k.users, 3),
                format_duration(1.0 / k.max_throughput)
            ));
            for (strategy, n, x, r) in &k.largest {
                let bound = f64::from(*n) / k.max_throughput - k.think;
                out.push(format!(
                    "At N = {n} users, {strategy} carries {}/s ({}% of X_max) with a mean response of {} \
                     (the bound N/X_max − Z is {}).",
                    significant(*x, 4),
                    significant(100.0 * x / k.max_throughput, 3),
                    format_duration(*r),
                    format_duration(bound.max(k.demand))
                ));
            }
        }
        for t in &self.theory {
            let caveat = if t.model.contains("mean field") {
                " (a mean-field limit, exact only as the number of backends grows)"
            } else {
                ""
            };
            out.push(format!(
                "{} vs theory ({}){caveat}: the simulated mean response differs from it by at most {}% over the unsaturated points; theory is inside the 95 % interval at {} of {} points.",
                t.strategy,
                t.model,
                significant(t.max_relative_error * 100.0, 2),
                t.within_ci,
                t.points
            ));
        }
        out
    }

    /// "By the load each carries within p99 ≤ 400ms: a (about 0.83), then b (0.81) and c
    /// (0.79), tied: …", or `None` with fewer than two limits to rank.
    fn slo_ranking(&self) -> Option<String> {
        let slo = self.slo.as_ref()?;
        let mut ranked: Vec<&SloLimit> = self.slo_limits.iter().filter(|l| l.estimated.is_some()).collect();
        if ranked.len() < 2 || ranked.iter().all(|l| l.met_everywhere) {
            return None;
        }
        // Those meeting the SLO at every tested load first: their limit is beyond the sweep.
        let key = |l: &SloLimit| if l.met_everywhere { f64::INFINITY } else { l.estimated.unwrap_or(0.0) };
        ranked.sort_by(|a, b| key(b).total_cmp(&key(a)));
        // Strategies whose interval overlaps the previous one's join its group: a tie.
        let mut groups: Vec<Vec<&SloLimit>> = Vec::new();
        for l in ranked {
            match groups.last_mut() {
                Some(g) if g.iter().any(|o| o.ties_with(l)) => g.push(l),
                _ => groups.push(vec![l]),
            }
        }
        let words: Vec<String> = groups
            .iter()
            .map(|g| {
                let names: Vec<String> = g
                    .iter()
                    .map(|l| {
                        let at = significant(l.estimated.unwrap_or(f64::NAN), 3);
                        if l.met_everywhere {
                            format!("{} (above {at})", l.strategy)
                        } else {
                            format!("{} (about {at})", l.strategy)
                        }
                    })
                    .collect();
                if g.len() == 1 { names[0].clone() } else { format!("{} tied", names.join(" and ")) }
            })
            .collect();
        let ties = groups.iter().any(|g| g.len() > 1);
        Some(format!(
            "Ranked by the {} each carries within {}: {}{}.",
            self.x_short(),
            slo.describe(),
            words.join(", then "),
            if ties { "; tied strategies have overlapping 95 % intervals, so the sweep cannot rank them" } else { "" }
        ))
    }

    fn x_short(&self) -> &str {
        if self.x_label.starts_with("offered load") {
            "load"
        } else if self.x_label.starts_with("users N") {
            "users"
        } else {
            &self.x_label
        }
    }

    fn headroom_words(&self, headroom: Option<f64>, at_least: bool) -> String {
        match headroom {
            Some(h) if h >= 0.0 => format!(
                ": from the report load {}, traffic can grow by {}{}% before the SLO is missed",
                significant(self.operating_load, 3),
                if at_least { "at least " } else { "about " },
                significant(h * 100.0, 2)
            ),
            Some(h) => format!(
                ": at the report load {} it already misses it (traffic must fall by {}%)",
                significant(self.operating_load, 3),
                significant(-h * 100.0, 2)
            ),
            None => String::new(),
        }
    }
}

/// The knee of a closed loop (`None` for open-loop arrivals).
fn knee(ctx: &Context<'_>) -> Option<Knee> {
    let first = ctx.result(ctx.slice[0], 0)?.closed_loop.as_ref()?;
    let last = *ctx.slice.last()?;
    let largest = (0..ctx.strategies().len())
        .filter_map(|s| {
            let r = ctx.result(last, s)?;
            let c = r.closed_loop.as_ref()?;
            Some((r.strategy.clone(), c.users, r.throughput.value, r.mean_response.value))
        })
        .collect();
    Some(Knee {
        users: first.knee,
        demand: first.demand,
        think: first.think,
        max_throughput: first.max_throughput,
        largest,
    })
}

/// "95 % interval 0.79–0.84", with open ends as "below …" / "above …".
fn interval_words(interval: (Option<f64>, Option<f64>)) -> String {
    match interval {
        (Some(lo), Some(hi)) => format!("95 % interval {}–{}", significant(lo, 3), significant(hi, 3)),
        (Some(lo), None) => format!("95 % interval from {} to beyond the tested loads", significant(lo, 3)),
        (None, Some(hi)) => format!("95 % interval up to {}", significant(hi, 3)),
        (None, None) => "no interval".into(),
    }
}

/// Best strategy at each x of the slice, merged into bands.
fn bands(ctx: &Context<'_>, name: &str) -> Vec<Band> {
    let mut bands: Vec<Band> = Vec::new();
    for &i in &ctx.slice {
        let candidates: Vec<(usize, crate::stats::Estimate)> = (0..ctx.strategies().len())
            .filter_map(|s| {
                let r = ctx.result(i, s)?;
                let e = metric(r, name)?;
                (!r.saturated && e.value.is_finite()).then_some((s, e))
            })
            .collect();
        let best = candidates.iter().min_by(|a, b| a.1.value.total_cmp(&b.1.value));
        let x = ctx.x(i);
        let (best_name, tied) = match best {
            None => (None, vec![]),
            Some((b, e)) => {
                let tied = candidates
                    .iter()
                    .filter(|(s, o)| s != b && o.ci_low <= e.ci_high && e.ci_low <= o.ci_high)
                    .map(|(s, _)| ctx.strategies()[*s].clone())
                    .collect();
                (Some(ctx.strategies()[*b].clone()), tied)
            }
        };
        match bands.last_mut() {
            Some(last) if last.best == best_name && last.tied == tied => last.to = x,
            _ => bands.push(Band { from: x, to: x, best: best_name, tied }),
        }
    }
    bands
}

/// Per strategy, the charted points whose results carry a "too short to trust" warning, and
/// those that turned requests away (more than 1 in 1000) without being saturated: a loss
/// system's rejections are reported as such, not as saturation.
fn cautions(ctx: &Context<'_>) -> Vec<Caution> {
    const KINDS: [Warning; 8] = [
        Warning::FewRequests,
        Warning::LongWarmup,
        Warning::NoSteadyState,
        Warning::WideInterval,
        Warning::NoP999Interval,
        Warning::UnrepresentativeWork,
        Warning::BeyondHistogram,
        Warning::Implausible,
    ];
    let mut out = Vec::new();
    for (s, name) in ctx.strategies().iter().enumerate() {
        let results: Vec<(f64, &crate::runner::StrategyResult)> =
            ctx.slice.iter().filter_map(|&i| ctx.result(i, s).map(|r| (ctx.x(i), r))).collect();
        for kind in KINDS {
            let at: Vec<f64> = results.iter().filter(|(_, r)| r.warnings.contains(&kind)).map(|(x, _)| *x).collect();
            if !at.is_empty() {
                out.push(Caution { strategy: name.clone(), what: kind.explain(), at });
            }
        }
        let saturated: Vec<f64> = results.iter().filter(|(_, r)| r.saturated).map(|(x, _)| *x).collect();
        if !saturated.is_empty() {
            out.push(Caution {
                strategy: name.clone(),
                what: "saturated (more work offered than the cluster, or one of its backends under this strategy, \
                       can do): the figures describe a transient that grows with the run, not a steady state"
                    .into(),
                at: saturated,
            });
        }
        let rejecting: Vec<&(f64, &crate::runner::StrategyResult)> =
            results.iter().filter(|(_, r)| !r.saturated && r.rejected_fraction > 1e-3).collect();
        if !rejecting.is_empty() {
            let most = rejecting.iter().map(|(_, r)| r.rejected_fraction).fold(0.0, f64::max);
            out.push(Caution {
                strategy: name.clone(),
                what: format!(
                    "requests turned away at a full accept queue (up to {}%), in a steady state: reported as rejections, not saturation",
                    significant(most * 100.0, 2)
                ),
                at: rejecting.iter().map(|(x, _)| *x).collect(),
            });
        }
    }
    out
}

/// A metric's (value, interval low, interval high).
type Bounds = (f64, f64, f64);

fn slo_limit(ctx: &Context<'_>, s: usize, slo: &Slo, operating_load: f64) -> SloLimit {
    // (load, value, interval low, interval high) per tested load; a saturated or missing
    // value is None (it misses the SLO).
    let mut points: Vec<(f64, Option<Bounds>)> = ctx
        .slice
        .iter()
        .filter_map(|&i| {
            let r = ctx.result(i, s)?;
            let e = metric(r, slo.metric).filter(|e| e.value.is_finite() && !r.saturated);
            let bounds =
                e.map(|e| if e.has_interval() { (e.value, e.ci_low, e.ci_high) } else { (e.value, e.value, e.value) });
            Some((r.load, bounds))
        })
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let strategy = ctx.strategies()[s].clone();
    let of = |pick: fn(&Bounds) -> f64| -> Vec<(f64, Option<f64>)> {
        points.iter().map(|(x, b)| (*x, b.as_ref().map(pick))).collect()
    };
    let Some((h, estimated, met_everywhere)) = crossing(&of(|b| b.0), slo.limit) else {
        return SloLimit {
            strategy,
            highest_tested: None,
            estimated: None,
            met_everywhere: false,
            headroom: None,
            interval: (None, None),
        };
    };
    // The upper end of the metric's interval reaches the limit first (a conservative limit);
    // the lower end last. Beyond the tested loads the interval is open.
    let low = crossing(&of(|b| b.2), slo.limit).map(|c| c.1);
    let high = crossing(&of(|b| b.1), slo.limit).and_then(|c| (!c.2).then_some(c.1));
    let headroom = (operating_load > 0.0).then(|| estimated / operating_load - 1.0);
    SloLimit {
        strategy,
        highest_tested: Some(h),
        estimated: Some(estimated),
        met_everywhere,
        headroom,
        interval: (low.map(|l| l.min(estimated)), high.map(|u| u.max(estimated))),
    }
}

/// Where a series of (load, value) rising with load crosses `limit`: the highest tested
/// load of the first run of loads meeting it, the crossing interpolated linearly to the next
/// load (the highest tested one when the next is saturated or none fails), and whether every
/// load meets it. `None` when the lowest load already misses it.
fn crossing(points: &[(f64, Option<f64>)], limit: f64) -> Option<(f64, f64, bool)> {
    let meets = |p: &(f64, Option<f64>)| p.1.is_some_and(|v| v <= limit);
    let run = points.iter().take_while(|p| meets(p)).count();
    if run == 0 {
        return None;
    }
    let (h, hv) = (points[run - 1].0, points[run - 1].1.unwrap_or(f64::NAN));
    let estimated = match points.get(run) {
        Some(&(x, Some(v))) if v > hv => h + (x - h) * (limit - hv) / (v - hv),
        _ => h,
    };
    Some((h, estimated, run == points.len()))
}

fn theory_fits(ctx: &Context<'_>) -> Vec<TheoryFit> {
    (0..ctx.strategies().len())
        .filter_map(|s| {
            let mut fit = TheoryFit {
                strategy: ctx.strategies()[s].clone(),
                model: String::new(),
                points: 0,
                max_relative_error: 0.0,
                within_ci: 0,
            };
            for &i in &ctx.slice {
                let (Some(r), Some(Some(t))) = (ctx.result(i, s), ctx.results.points[i].theory.get(s)) else {
                    continue;
                };
                if r.saturated || !t.mean_response.is_finite() || t.mean_response <= 0.0 {
                    continue;
                }
                fit.model.clone_from(&t.model);
                fit.points += 1;
                fit.max_relative_error =
                    fit.max_relative_error.max((r.mean_response.value / t.mean_response - 1.0).abs());
                fit.within_ci += usize::from(r.mean_response.contains(t.mean_response));
            }
            (fit.points > 0).then_some(fit)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{Axis, PointResults, TheoryValue};
    use crate::runner::StrategyResult;
    use crate::stats::Estimate;

    fn est(v: f64, hw: f64) -> Estimate {
        Estimate { value: v, ci_low: v - hw, ci_high: v + hw }
    }

    fn result(strategy: &str, load: f64, mean: f64, p99: f64, saturated: bool) -> StrategyResult {
        StrategyResult {
            strategy: strategy.into(),
            load,
            arrival_rate: load * 100.0,
            replications: 1,
            requests: 1000,
            mean_response: est(mean, mean * 0.02),
            p50: est(mean, 0.0),
            p90: est(mean, 0.0),
            p95: est(mean, 0.0),
            p99: est(p99, p99 * 0.02),
            p999: est(p99, 0.0),
            mean_wait: est(mean, 0.0),
            mean_slowdown: est(1.0, 0.0),
            throughput: est(load * 100.0, 0.0),
            utilisation: est(load, 0.0),
            mean_in_system: est(1.0, 0.0),
            rejected: 0,
            rejected_fraction: 0.0,
            saturated,
            backends: vec![],
            ccdf: vec![],
            saturated_fraction: if saturated { 1.0 } else { 0.0 },
            warnings: vec![],
            attempts_per_request: None,
            series: None,
            closed_loop: None,
            hedging: None,
        }
    }

    /// Two strategies: "a" is better at low load, "b" at high load; "a" saturates at 0.9.
    fn results(slo: Option<&str>) -> SweepResults {
        let loads = [0.5, 0.6, 0.7, 0.8, 0.9];
        let a = [0.010, 0.012, 0.030, 0.060, 1.0];
        let b = [0.020, 0.022, 0.025, 0.030, 0.045];
        let points = loads
            .iter()
            .enumerate()
            .map(|(i, &l)| PointResults {
                index: i as u64,
                values: vec![l],
                results: vec![result("a", l, a[i], a[i] * 4.0, l >= 0.9), result("b", l, b[i], b[i] * 4.0, false)],
                theory: vec![None, Some(TheoryValue { mean_response: b[i] * 1.01, model: "M/M/1".into() })],
            })
            .collect();
        SweepResults {
            lbsim_version: "0".into(),
            experiment: "t".into(),
            description: None,
            seed: 1,
            command: vec![],
            config: String::new(),
            summary: Default::default(),
            axes: vec![Axis { path: "arrivals.load".into(), values: loads.to_vec() }],
            points,
            strategies: vec!["a".into(), "b".into()],
            timeseries: vec![],
            report: crate::results::ReportOptions {
                metrics: vec![],
                load: Some(0.6),
                slo: slo.map(str::to_string),
                title: None,
            },
        }
    }

    #[test]
    fn best_strategy_per_load_band() {
        let f = Findings::compute(&results(None)).unwrap();
        let summary: Vec<(f64, f64, Option<&str>)> =
            f.bands.iter().map(|b| (b.from, b.to, b.best.as_deref())).collect();
        assert_eq!(summary, vec![(0.5, 0.6, Some("a")), (0.7, 0.9, Some("b"))]);
    }

    #[test]
    fn slo_limit_interpolates_and_gives_headroom() {
        // p99 = 4 × mean; limit 100ms. a: 48ms at 0.6, 120ms at 0.7 → crossing at 0.6 + 0.1 × 52/72.
        let f = Findings::compute(&results(Some("p99 <= 100ms"))).unwrap();
        let a = &f.slo_limits[0];
        assert_eq!(a.highest_tested, Some(0.6));
        let expected = 0.6 + 0.1 * (0.1 - 0.048) / (0.12 - 0.048);
        assert!((a.estimated.unwrap() - expected).abs() < 1e-9);
        assert!((a.headroom.unwrap() - (expected / 0.6 - 1.0)).abs() < 1e-9);
        // b: 120ms at 0.8 (fails), 100ms at 0.7 → meets up to 0.7 (boundary inclusive).
        let b = &f.slo_limits[1];
        assert_eq!(b.highest_tested, Some(0.7));
        assert!(!b.met_everywhere);
        assert!(f.sentences().iter().any(|s| s.starts_with("a meets p99 ≤ 100ms up to load 0.6")));
    }

    #[test]
    fn slo_limits_carry_intervals_and_overlapping_ones_are_ties() {
        // a's p99 (±2 %): 48ms at 0.6, 120ms at 0.7; its upper bound reaches 100ms at
        // 0.6 + 0.1 × (100 − 48.96) / (122.4 − 48.96), its lower bound at
        // 0.6 + 0.1 × (100 − 47.04) / (117.6 − 47.04).
        let f = Findings::compute(&results(Some("p99 <= 100ms"))).unwrap();
        let (lo, hi) = f.slo_limits[0].interval;
        assert!((lo.unwrap() - (0.6 + 0.1 * 51.04 / 73.44)).abs() < 1e-9);
        assert!((hi.unwrap() - (0.6 + 0.1 * 52.96 / 70.56)).abs() < 1e-9);
        let sentences = f.sentences();
        let ranking = sentences.iter().find(|s| s.starts_with("Ranked by")).expect("a ranking");
        assert_eq!(ranking, "Ranked by the load each carries within p99 ≤ 100ms: b (about 0.7), then a (about 0.672).");
        // With ±30 % intervals the limits overlap: a tie, not a ranking.
        let mut wide = results(Some("p99 <= 100ms"));
        for point in &mut wide.points {
            for r in &mut point.results {
                r.p99 = est(r.p99.value, r.p99.value * 0.3);
            }
        }
        let f = Findings::compute(&wide).unwrap();
        assert!(f.slo_limits[0].ties_with(&f.slo_limits[1]));
        let sentences = f.sentences();
        let ranking = sentences.iter().find(|s| s.starts_with("Ranked by")).expect("a ranking");
        assert!(ranking.contains("b (about 0.7) and a (about 0.672) tied"), "{ranking}");
    }

    #[test]
    fn saturated_points_are_a_caution() {
        let f = Findings::compute(&results(None)).unwrap();
        assert!(
            f.sentences().iter().any(|s| s.starts_with("Caution, a at load 0.9: saturated")),
            "{:?}",
            f.sentences()
        );
    }

    #[test]
    fn theory_fit_reports_relative_error() {
        let f = Findings::compute(&results(None)).unwrap();
        assert_eq!(f.theory.len(), 1);
        let t = &f.theory[0];
        assert_eq!((t.strategy.as_str(), t.points), ("b", 5));
        assert!((t.max_relative_error - (1.0 - 1.0 / 1.01)).abs() < 1e-9);
    }

    #[test]
    fn bad_slo_in_results_is_an_error() {
        assert!(Findings::compute(&results(Some("latency ok"))).is_err());
    }
}
