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
    /// At a single point: the simulated mean response and the theory's value (seconds), so
    /// that the reports can print both.
    pub single: Option<(crate::stats::Estimate, f64)>,
}

/// Everything the reports state as findings.
#[derive(Debug, Clone, PartialEq)]
pub struct Findings {
    /// What "best" means (the first charted metric).
    pub metric: &'static str,
    pub x_label: String,
    /// The x axis in a sentence's words (`load`, `arrival rate`, `web backends`).
    pub x_short: String,
    /// What the SLO limits are measured in: offered load, or requests per second when the
    /// sweep's x axis is the arrival rate.
    pub unit: LimitUnit,
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
    /// Per strategy that failed requests, its worst charted point; `Some(empty)` when the
    /// models could fail requests and none did, `None` when they could not.
    pub failures: Option<Vec<FailureFinding>>,
    /// P(response > the SLO's limit) per strategy at the operating load, where the runs
    /// counted against this SLO's limit.
    pub over_slo: Vec<(String, crate::stats::Estimate)>,
    /// Sweeps over load or rate and a backend count: per count, how many requests per
    /// second each strategy carries within the SLO.
    pub capacity: Vec<Capacity>,
    /// Sweeps over a backend count (or workers): per strategy, the fewest that meet the SLO.
    pub fewest: Vec<Fewest>,
}

/// The charted point where a strategy failed the largest share of its requests.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureFinding {
    pub strategy: String,
    /// Its x value.
    pub at: f64,
    /// Failed ÷ measured requests there.
    pub fraction: f64,
    /// The causes with their counts, most frequent first (only those that occurred).
    pub causes: Vec<(String, u64)>,
    /// Successful completions per second there, and the arrival rate offered.
    pub goodput: crate::stats::Estimate,
    pub arrival_rate: f64,
}

/// The unit of an SLO limit's abscissa.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitUnit {
    Load,
    Rate,
}

impl LimitUnit {
    /// `load 0.81` or `321 req/s`.
    pub fn at(self, x: f64) -> String {
        match self {
            LimitUnit::Load => format!("load {}", significant(x, 3)),
            LimitUnit::Rate => format!("{} req/s", significant(x, 3)),
        }
    }

    fn noun(self) -> &'static str {
        match self {
            LimitUnit::Load => "load",
            LimitUnit::Rate => "rate",
        }
    }
}

/// What a number of backends carries within the SLO, per strategy (limits in req/s).
#[derive(Debug, Clone, PartialEq)]
pub struct Capacity {
    /// The count axis in words at its value: `4 web backends`.
    pub backends: String,
    pub limits: Vec<SloLimit>,
}

/// The fewest backends (or workers) of a count sweep meeting the SLO, for one strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct Fewest {
    pub strategy: String,
    /// The smallest tested value from which every larger tested one meets the SLO (by the
    /// estimate), `None` when even the largest misses it.
    pub value: Option<f64>,
    /// Whether the metric's whole 95 % interval is below the limit there.
    pub clear: bool,
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
    /// With a ramp of users, the profile in words (`users ramped 0 → 200 over 2m, then
    /// held`; `None`: a fixed population).
    pub ramp: Option<String>,
    /// With a ramp, per strategy at the first charted point: (strategy, X, the throughput
    /// bound averaged over its measured run; see
    /// [`ClosedLoopResult::throughput_bound`](crate::runner::ClosedLoopResult::throughput_bound)).
    pub ramp_bounds: Vec<(String, f64, f64)>,
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
                failures: None,
                over_slo: vec![],
                capacity: vec![],
                fewest: vec![],
                x_short: String::new(),
                unit: LimitUnit::Load,
            });
        };
        let metric_name = crate::plot::response_metrics(results)[0];
        let x_path = results.axes.get(ctx.x_axis).map(|a| a.path.as_str());
        let unit = if x_path == Some("arrivals.rate") { LimitUnit::Rate } else { LimitUnit::Load };
        let operating = |i: usize, unit: LimitUnit| {
            ctx.result(i, 0).map_or(f64::NAN, |r| if unit == LimitUnit::Rate { r.arrival_rate } else { r.load })
        };
        let operating_load = operating(ctx.focus, unit);
        // Along a backend count the SLO is met from some size on: `fewest` says which.
        let counted = x_path.and_then(crate::plot::backend_knob).is_some();
        let slo_limits = match &slo {
            Some(slo) if !counted => (0..results.strategies.len())
                .map(|s| slo_limit(&ctx, &ctx.slice, s, slo, operating_load, unit))
                .collect(),
            _ => vec![],
        };
        let capacity = match (&slo, x_path) {
            (Some(slo), Some("arrivals.rate" | "arrivals.load")) => capacity(&ctx, slo),
            _ => vec![],
        };
        let fewest = match (&slo, x_path.and_then(crate::plot::backend_knob)) {
            (Some(slo), Some(_)) => (0..results.strategies.len()).map(|s| fewest(&ctx, s, slo)).collect(),
            _ => vec![],
        };
        let over_slo = match &slo {
            Some(slo) => (0..results.strategies.len())
                .filter_map(|s| {
                    let r = ctx.result(ctx.focus, s)?;
                    let o = r.over_slo.filter(|o| o.limit == slo.limit && !r.saturated)?;
                    Some((r.strategy.clone(), o.fraction))
                })
                .collect(),
            None => vec![],
        };
        Ok(Findings {
            metric: metric_name,
            x_label: ctx.x_label(),
            x_short: ctx.x_words(),
            unit,
            capacity,
            fewest,
            bands: bands(&ctx, metric_name),
            slo,
            operating_load,
            slo_limits,
            theory: theory_fits(&ctx),
            cautions: cautions(&ctx),
            knee: knee(&ctx),
            failures: failures(&ctx),
            over_slo,
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
                let noun = self.unit.noun();
                out.push(match (l.highest_tested, l.estimated) {
                    (None, _) => format!("{} misses {} even at the lowest tested {noun}.", l.strategy, slo.describe()),
                    (Some(h), _) if l.met_everywhere => format!(
                        "{} meets {} at every tested {noun} (up to {}){}.",
                        l.strategy,
                        slo.describe(),
                        self.unit.at(h),
                        self.headroom_words(l.headroom, true)
                    ),
                    (Some(h), Some(e)) => format!(
                        "{} meets {} up to {} (tested; about {} interpolated, {}){}.",
                        l.strategy,
                        slo.describe(),
                        self.unit.at(h),
                        significant(e, 3),
                        interval_words(l.interval),
                        self.headroom_words(l.headroom, false)
                    ),
                    (Some(h), None) => format!("{} meets {} up to {}.", l.strategy, slo.describe(), self.unit.at(h)),
                });
            }
        }
        if let Some(ranking) = self.slo_ranking() {
            out.push(ranking);
        }
        if let Some(slo) = &self.slo {
            for c in &self.capacity {
                let parts: Vec<String> = c
                    .limits
                    .iter()
                    .map(|l| match (l.highest_tested, l.estimated) {
                        (None, _) => format!("none with {} (it misses the SLO at the lowest tested rate)", l.strategy),
                        (Some(h), _) if l.met_everywhere => {
                            format!("at least {} req/s with {} (every tested rate)", significant(h, 3), l.strategy)
                        }
                        (Some(_), Some(e)) => format!(
                            "about {} req/s with {} ({} req/s)",
                            significant(e, 3),
                            l.strategy,
                            interval_words(l.interval)
                        ),
                        (Some(h), None) => format!("{} req/s with {}", significant(h, 3), l.strategy),
                    })
                    .collect();
                let verb = if c.backends.starts_with("1 ") { "carries" } else { "carry" };
                out.push(format!("{} {verb} up to {} within {}.", c.backends, parts.join(", "), slo.describe()));
            }
            if !self.fewest.is_empty() {
                let parts: Vec<String> = self
                    .fewest
                    .iter()
                    .map(|f| match f.value {
                        Some(v) if f.clear => format!("{} {}", f.strategy, significant(v, 4)),
                        Some(v) => format!(
                            "{} {} (its 95 % interval straddles the limit there: too close to call)",
                            f.strategy,
                            significant(v, 4)
                        ),
                        None => format!("{}: none of those tested", f.strategy),
                    })
                    .collect();
                out.push(format!("The fewest {} meeting {}: {}.", self.x_short, slo.describe(), parts.join(", ")));
            }
        }
        if let (Some(slo), false) = (&self.slo, self.over_slo.is_empty()) {
            let pct = |x: f64| format!("{}%", significant(x * 100.0, 2));
            let parts: Vec<String> = self
                .over_slo
                .iter()
                .map(|(strategy, e)| {
                    if e.has_interval() {
                        format!("{strategy} {} (95 % interval {}–{})", pct(e.value), pct(e.ci_low), pct(e.ci_high))
                    } else {
                        format!("{strategy} {}", pct(e.value))
                    }
                })
                .collect();
            let allowed = crate::slo::quantile_level(slo.metric)
                .map(|q| format!(" ({} allows {})", slo.describe(), pct(1.0 - q)))
                .unwrap_or_default();
            out.push(format!(
                "At the report {}, the share of responses slower than {}{allowed}: {}.",
                self.unit.at(self.operating_load),
                format_duration(slo.limit),
                parts.join(", ")
            ));
        }
        for c in &self.cautions {
            let at: Vec<String> = c.at.iter().map(|x| significant(*x, 3)).collect();
            out.push(format!("Caution, {} at {} {}: {}.", c.strategy, self.x_short(), at.join(", "), c.what));
        }
        match &self.failures {
            Some(worst) if worst.is_empty() => {
                out.push(
                    "No accepted request failed at any charted point (requests can fail in these models: faults, \
                          health checks, timeouts or worker restarts)."
                        .into(),
                );
            }
            Some(worst) => {
                for f in worst {
                    let causes: Vec<String> = f.causes.iter().map(|(c, n)| format!("{n} {c}")).collect();
                    out.push(format!(
                        "{} failed up to {}% of requests (at {} {}: {}); goodput there {}/s (95 % interval {}–{}) \
                         of {}/s offered.",
                        f.strategy,
                        significant(f.fraction * 100.0, 3),
                        self.x_short(),
                        significant(f.at, 3),
                        causes.join(", "),
                        significant(f.goodput.value, 4),
                        significant(f.goodput.ci_low, 4),
                        significant(f.goodput.ci_high, 4),
                        significant(f.arrival_rate, 4)
                    ));
                }
            }
            None => {}
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
            if let Some(ramp) = &k.ramp {
                // The run's means mix every population along the ramp: no point of the curve.
                out.push(format!(
                    "The {ramp}: the run's averages mix every population along the ramp, so they are no point \
                     of the load-test curve; the over-time charts (goodput and p99 per window) show where goodput \
                     stops growing with the users."
                ));
                for (strategy, x, bound) in k.ramp_bounds.iter().filter(|b| b.2.is_finite() && b.2 > 0.0) {
                    out.push(format!(
                        "Over its measured run, {strategy} carried {}/s, {}% of the users' throughput bound \
                         min(N(t)/(D + Z), X_max) averaged over that run ({}/s; the peak's bound would hold only \
                         on the stages at the peak).",
                        significant(*x, 4),
                        significant(100.0 * x / bound, 3),
                        significant(*bound, 4)
                    ));
                }
            }
            for (strategy, n, x, r) in k.largest.iter().filter(|_| k.ramp.is_none()) {
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
            if let (1, Some((sim, theory))) = (t.points, t.single) {
                let interval = if sim.has_interval() {
                    format!(" (95 % interval {}–{})", format_duration(sim.ci_low), format_duration(sim.ci_high))
                } else {
                    String::new()
                };
                out.push(format!(
                    "{} vs theory ({}){caveat}: simulated mean response {}{interval}, theory {}: {}% apart, theory {} the interval.",
                    t.strategy,
                    t.model,
                    format_duration(sim.value),
                    format_duration(theory),
                    significant(t.max_relative_error * 100.0, 2),
                    if t.within_ci == 1 { "inside" } else { "outside" }
                ));
                continue;
            }
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
        if self.x_short.is_empty() { "load" } else { &self.x_short }
    }

    fn headroom_words(&self, headroom: Option<f64>, at_least: bool) -> String {
        match headroom {
            Some(h) if h >= 0.0 => format!(
                ": from the report {}, traffic can grow by {}{}% before the SLO is missed",
                self.unit.at(self.operating_load),
                if at_least { "at least " } else { "about " },
                significant(h * 100.0, 2)
            ),
            Some(h) => format!(
                ": at the report {} it already misses it (traffic must fall by {}%)",
                self.unit.at(self.operating_load),
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
        ramp: crate::plot::ramp_words(ctx.closed_loops(ctx.slice[0])),
        ramp_bounds: (0..ctx.strategies().len())
            .filter_map(|s| {
                let r = ctx.result(ctx.slice[0], s)?;
                let c = r.closed_loop.as_ref().filter(|c| c.ramped)?;
                Some((r.strategy.clone(), r.throughput.value, c.throughput_bound()))
            })
            .collect(),
    })
}

/// Per strategy, the charted point with the largest share of failed requests (`None` when
/// no result carries failure figures).
fn failures(ctx: &Context<'_>) -> Option<Vec<FailureFinding>> {
    let mut any = false;
    let mut out = Vec::new();
    for (s, name) in ctx.strategies().iter().enumerate() {
        let mut worst: Option<FailureFinding> = None;
        for &i in &ctx.slice {
            let Some(r) = ctx.result(i, s) else { continue };
            let Some(f) = &r.failures else { continue };
            any = true;
            if f.failed == 0 || worst.as_ref().is_some_and(|w| w.fraction >= f.fraction) {
                continue;
            }
            let mut causes: Vec<(String, u64)> =
                f.by_cause.iter().filter(|(_, n)| **n > 0).map(|(c, n)| (c.clone(), *n)).collect();
            causes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            worst = Some(FailureFinding {
                strategy: name.clone(),
                at: ctx.x(i),
                fraction: f.fraction,
                causes,
                goodput: f.goodput,
                arrival_rate: r.arrival_rate,
            });
        }
        out.extend(worst);
    }
    any.then_some(out)
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
    const KINDS: [Warning; 13] = [
        Warning::FewRequests,
        Warning::LongWarmup,
        Warning::NoSteadyState,
        Warning::WideInterval,
        Warning::NoP999Interval,
        Warning::NoP99Interval,
        Warning::UnrepresentativeWork,
        Warning::BeyondHistogram,
        Warning::Implausible,
        Warning::RampCutShort,
        Warning::InfiniteVariance,
        Warning::RampInWarmup,
        Warning::StillFilling,
    ];
    let mut out = Vec::new();
    for (s, name) in ctx.strategies().iter().enumerate() {
        let results: Vec<(f64, &crate::runner::StrategyResult)> =
            ctx.slice.iter().filter_map(|&i| ctx.result(i, s).map(|r| (ctx.x(i), r))).collect();
        for kind in KINDS {
            let warned = results.iter().filter(|(_, r)| r.warnings.contains(&kind));
            if matches!(kind, Warning::RampCutShort | Warning::RampInWarmup) {
                // Each point's run ended (and its warm-up) at its own time: one caution per
                // point, with its figures.
                for (x, r) in warned {
                    out.push(Caution { strategy: name.clone(), what: r.explain(kind), at: vec![*x] });
                }
                continue;
            }
            let at: Vec<f64> = warned.map(|(x, _)| *x).collect();
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
                    "requests turned away at a full accept queue (up to {}%) by a cluster not saturated (a loss \
                     system's steady state, or a burst of long requests): reported as rejections, not saturation",
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

/// The limit of strategy `s` along `line` (point indices), in `unit` (offered load or
/// arrival rate).
fn slo_limit(ctx: &Context<'_>, line: &[usize], s: usize, slo: &Slo, operating_load: f64, unit: LimitUnit) -> SloLimit {
    // (load, value, interval low, interval high) per tested load; a saturated or missing
    // value is None (it misses the SLO).
    let mut points: Vec<(f64, Option<Bounds>)> = line
        .iter()
        .filter_map(|&i| {
            let r = ctx.result(i, s)?;
            let e = metric(r, slo.metric).filter(|e| e.value.is_finite() && !r.saturated);
            let bounds =
                e.map(|e| if e.has_interval() { (e.value, e.ci_low, e.ci_high) } else { (e.value, e.value, e.value) });
            Some((if unit == LimitUnit::Rate { r.arrival_rate } else { r.load }, bounds))
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

/// Per value of a backend-count axis (other axes at their first value), each strategy's
/// limit in requests per second along the load or rate axis.
fn capacity(ctx: &Context<'_>, slo: &Slo) -> Vec<Capacity> {
    let axes = &ctx.results.axes;
    let Some(k) = (0..axes.len()).find(|&k| {
        k != ctx.x_axis && crate::plot::backend_knob(&axes[k].path).is_some_and(|(_, knob)| knob == "count")
    }) else {
        return vec![];
    };
    axes[k]
        .values
        .iter()
        .map(|&count| {
            let mut line: Vec<usize> = (0..ctx.results.points.len())
                .filter(|&i| {
                    let values = &ctx.results.points[i].values;
                    values.iter().enumerate().all(|(j, v)| {
                        j == ctx.x_axis || (j == k && *v == count) || (j != k && axes[j].values.first() == Some(v))
                    })
                })
                .collect();
            line.sort_by(|&a, &b| ctx.x(a).total_cmp(&ctx.x(b)));
            let limits =
                (0..ctx.strategies().len()).map(|s| slo_limit(ctx, &line, s, slo, f64::NAN, LimitUnit::Rate)).collect();
            Capacity { backends: crate::plot::axis_value(&axes[k].path, count), limits }
        })
        .collect()
}

/// The fewest backends (or workers) along a count axis from which strategy `s` meets `slo`.
fn fewest(ctx: &Context<'_>, s: usize, slo: &Slo) -> Fewest {
    let meets: Vec<(f64, bool, bool)> = ctx
        .slice
        .iter()
        .filter_map(|&i| {
            let r = ctx.result(i, s)?;
            let e = metric(r, slo.metric)?;
            let ok = !r.saturated && e.value.is_finite() && e.value <= slo.limit;
            Some((ctx.x(i), ok, ok && e.has_interval() && e.ci_high <= slo.limit))
        })
        .collect();
    // The first of the last run of sizes meeting it (more backends never hurt).
    let start = meets.iter().rposition(|m| !m.1).map_or(0, |p| p + 1);
    let first = meets.get(start);
    Fewest { strategy: ctx.strategies()[s].clone(), value: first.map(|m| m.0), clear: first.is_some_and(|m| m.2) }
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
                single: None,
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
                fit.single = Some((r.mean_response, t.mean_response));
            }
            if fit.points != 1 {
                fit.single = None;
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
            failures: None,
            worker_utilisation: None,
            over_slo: None,
            cancelled: None,
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

    /// Results over `axes` with one strategy "a" whose p99 (±2 %) is `p99(values)`, its
    /// arrival rate `rate(values)`.
    fn grid(axes: Vec<Axis>, p99: impl Fn(&[f64]) -> f64, rate: impl Fn(&[f64]) -> f64) -> SweepResults {
        let mut r = results(Some("p99 <= 100ms"));
        let mut values: Vec<Vec<f64>> = vec![vec![]];
        for a in &axes {
            values = values.iter().flat_map(|v| a.values.iter().map(move |x| [v.clone(), vec![*x]].concat())).collect();
        }
        r.points = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let v = v.as_slice();
                let mut a = result("a", rate(v) / 500.0, p99(v) / 4.0, p99(v), false);
                a.arrival_rate = rate(v);
                PointResults { index: i as u64, values: v.to_vec(), results: vec![a], theory: vec![None] }
            })
            .collect();
        r.axes = axes;
        r.strategies = vec!["a".into()];
        r.report.load = None;
        r
    }

    #[test]
    fn backend_counts_carry_rates_within_the_slo() {
        // 100 req/s per backend; p99 = 20ms + 100ms × load: the SLO holds up to load 0.8,
        // 160 req/s on 2 backends (between the tested 100 and 200), 320 on 4.
        let axes = vec![
            Axis { path: "arrivals.rate".into(), values: vec![100.0, 200.0, 300.0, 400.0] },
            Axis { path: "backends.web.count".into(), values: vec![2.0, 4.0] },
        ];
        let r = grid(axes, |v| 0.02 + 0.1 * v[0] / (v[1] * 100.0), |v| v[0]);
        let f = Findings::compute(&r).unwrap();
        assert_eq!(f.unit, LimitUnit::Rate);
        let sentences = f.sentences();
        let text = sentences.join("\n");
        assert!(text.contains("a meets p99 ≤ 100ms up to 100 req/s (tested; about 160 interpolated"), "{text}");
        assert!(text.contains("2 web backends carry up to about 160 req/s with a (95 % interval "), "{text}");
        assert!(text.contains("4 web backends carry up to about 320 req/s with a ("), "{text}");
        assert!(text.contains("For arrival rate 100–400, a has the lowest"), "{text}");
    }

    #[test]
    fn a_count_sweep_names_the_fewest_backends_meeting_the_slo() {
        let axes = vec![Axis { path: "backends.web.count".into(), values: vec![1.0, 2.0, 3.0, 4.0] }];
        let p99 = |v: &[f64]| [0.5, 0.12, 0.09, 0.06][v[0] as usize - 1];
        let f = Findings::compute(&grid(axes, p99, |_| 300.0)).unwrap();
        let text = f.sentences().join("\n");
        assert!(text.contains("The fewest web backends meeting p99 ≤ 100ms: a 3."), "{text}");
        // 99ms ± 2 % straddles the limit: named, but as too close to call.
        let axes = vec![Axis { path: "backends.web.count".into(), values: vec![1.0, 2.0, 3.0] }];
        let p99 = |v: &[f64]| [0.5, 0.12, 0.099][v[0] as usize - 1];
        let text = Findings::compute(&grid(axes, p99, |_| 300.0)).unwrap().sentences().join("\n");
        assert!(text.contains("a 3 (its 95 % interval straddles the limit there: too close to call)"), "{text}");
    }

    #[test]
    fn failures_are_stated_at_each_strategys_worst_point() {
        let mut r = results(None);
        assert_eq!(Findings::compute(&r).unwrap().failures, None, "no failure figures, no finding");
        for (i, point) in r.points.iter_mut().enumerate() {
            for (s, res) in point.results.iter_mut().enumerate() {
                // b fails 1 % at 0.5 … 5 % at 0.9; a never fails.
                let failed = if s == 1 { 10 * (i as u64 + 1) } else { 0 };
                let by_cause = [("backend_down".to_string(), failed), ("worker_timeout".to_string(), failed / 10)]
                    .into_iter()
                    .collect();
                res.failures = Some(crate::runner::FailureResult {
                    failed: failed + failed / 10,
                    by_cause,
                    fraction: (failed + failed / 10) as f64 / 1000.0,
                    goodput: est(40.0, 1.0),
                });
            }
        }
        let f = Findings::compute(&r).unwrap();
        let worst = f.failures.as_ref().unwrap();
        assert_eq!(worst.len(), 1, "a failed nothing");
        assert_eq!((worst[0].strategy.as_str(), worst[0].at), ("b", 0.9));
        let sentence = f.sentences().into_iter().find(|s| s.starts_with("b failed")).expect("a failure finding");
        assert_eq!(
            sentence,
            "b failed up to 5.5% of requests (at load 0.9: 50 backend_down, 5 worker_timeout); goodput there 40/s \
             (95 % interval 39–41) of 90/s offered."
        );
        // Models that can fail but did not: said once.
        for point in &mut r.points {
            for res in &mut point.results {
                res.failures = Some(crate::runner::FailureResult {
                    failed: 0,
                    by_cause: Default::default(),
                    fraction: 0.0,
                    goodput: est(40.0, 1.0),
                });
            }
        }
        let f = Findings::compute(&r).unwrap();
        assert!(f.sentences().iter().any(|s| s.starts_with("No accepted request failed")), "{:?}", f.sentences());
    }

    #[test]
    fn bad_slo_in_results_is_an_error() {
        assert!(Findings::compute(&results(Some("latency ok"))).is_err());
    }
}
