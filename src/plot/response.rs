//! Chart 1: a response-time metric against load, one line per strategy with its 95 %
//! confidence band, and (for the mean) the theory overlay. Saturated points are left out:
//! they describe a transient that depends on run length, not a steady state.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::prelude::*;

use super::style;
use super::{Context, Figure, Meta, figure, metric, metric_words, response_metrics, theory};

pub fn figures<'r>(ctx: &'r Context<'r>) -> Vec<Figure<'r>> {
    response_metrics(ctx.results)
        .into_iter()
        .map(|name| {
            let words = metric_words(name);
            let mut legend = ctx.strategies().to_vec();
            let mut caption = format!(
                "{} against {}, one line per strategy; the shaded band is the 95 % confidence interval.",
                capitalise(&words),
                ctx.x_label()
            );
            if name == "mean_response" {
                legend.extend(theory::legend(ctx));
                if !theory::lines(ctx).is_empty() {
                    caption += " Dashed lines are closed-form predictions from queueing theory.";
                }
            }
            if let Some(slo) = ctx.slo().filter(|slo| slo.metric == name) {
                legend.push(format!("SLO {}", slo.describe()));
                caption += &format!(" The dashed red line is the SLO, {}.", slo.describe());
            }
            caption += &saturated_note(ctx);
            let meta = Meta {
                stem: format!("response_{name}"),
                title: format!("{} vs {} — {}", capitalise(&words), ctx.x_words(), ctx.subject()),
                caption,
                legend,
                size: style::SIZE,
            };
            figure!(meta, |area| draw(area, ctx, name))
        })
        .collect()
}

/// Points (x, value, low, high) of strategy `s`, leaving out saturated or non-finite ones.
fn series(ctx: &Context<'_>, name: &str, s: usize) -> Vec<(f64, f64, f64, f64)> {
    ctx.slice
        .iter()
        .filter_map(|&i| {
            let r = ctx.result(i, s)?;
            let e = metric(r, name)?;
            // A value given without an interval (too few exceedances) draws no band there.
            let (low, high) = if e.has_interval() { (e.ci_low, e.ci_high) } else { (e.value, e.value) };
            (!r.saturated && e.value.is_finite() && e.value > 0.0).then(|| (ctx.x(i), e.value, low, high))
        })
        .collect()
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, ctx: &Context<'_>, name: &str) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let all: Vec<Vec<(f64, f64, f64, f64)>> = (0..ctx.strategies().len()).map(|s| series(ctx, name, s)).collect();
    let theory = if name == "mean_response" { theory::lines(ctx) } else { Vec::new() };
    let values = all.iter().flatten().flat_map(|p| [p.1, p.2.max(p.1 * 0.5), p.3]);
    let slo = ctx.slo().filter(|slo| slo.metric == name);
    let values: Vec<f64> = values
        .chain(theory.iter().flat_map(|t| t.points.iter().map(|p| p.1)))
        .chain(slo.iter().map(|slo| slo.limit))
        .collect();
    let (unit, scale) = style::time_unit(values.iter().copied());
    let positive = values.iter().copied().filter(|v| v.is_finite() && *v > 0.0).map(|v| v / scale);
    let (lo, hi) = positive.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let xs: Vec<f64> = all.iter().flatten().map(|p| p.0).collect();
    let (x0, x1) = style::padded(xs.iter().copied());
    let title = format!("{} vs {} — {}", capitalise(&metric_words(name)), ctx.x_words(), ctx.subject());
    let y_desc = format!("{} ({unit})", metric_words(name));
    if !lo.is_finite() {
        return style::empty(area, &title, "every point is saturated: nothing to show");
    }
    if !style::drawable(lo / 1.3, hi * 1.3, true) || !style::drawable(x0, x1, false) {
        return style::empty(area, &title, style::OUT_OF_RANGE);
    }
    let plot =
        Plot { ctx, all: &all, theory: &theory, slo: slo.as_ref(), scale, x: (x0, x1), title: &title, y_desc: &y_desc };
    if hi / lo > 30.0 { plot.draw(area, (lo / 1.3..hi * 1.3).log_scale()) } else { plot.draw(area, 0.0..hi * 1.1) }
}

struct Plot<'a> {
    ctx: &'a Context<'a>,
    all: &'a [Vec<(f64, f64, f64, f64)>],
    theory: &'a [theory::Line],
    slo: Option<&'a crate::slo::Slo>,
    scale: f64,
    x: (f64, f64),
    title: &'a str,
    y_desc: &'a str,
}

impl Plot<'_> {
    /// Draws with y coordinates `y` (linear or logarithmic).
    fn draw<DB: DrawingBackend, Y>(&self, area: &DrawingArea<DB, Shift>, y: Y) -> Result<()>
    where
        DB::ErrorType: 'static,
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let mut chart = style::builder(area, self.title).build_cartesian_2d(self.x.0..self.x.1, y)?;
        style::mesh(&mut chart, &self.ctx.x_label(), self.y_desc)?;
        for (s, points) in self.all.iter().enumerate() {
            let colour = style::colour(s);
            let mut band: Vec<(f64, f64)> = points.iter().map(|p| (p.0, p.3 / self.scale)).collect();
            band.extend(points.iter().rev().map(|p| (p.0, p.2.max(p.1 * 0.5) / self.scale)));
            chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.18).filled())))?;
        }
        for (s, points) in self.all.iter().enumerate() {
            let line: Vec<(f64, f64)> = points.iter().map(|p| (p.0, p.1 / self.scale)).collect();
            style::strategy_line(&mut chart, s, &self.ctx.strategies()[s], line, true)?;
        }
        theory::draw(&mut chart, self.theory, self.ctx, self.scale)?;
        if let Some(slo) = self.slo {
            let limit = slo.limit / self.scale;
            style::slo_line(&mut chart, vec![(self.x.0, limit), (self.x.1, limit)], format!("SLO {}", slo.describe()))?;
        }
        style::legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }
}

/// "Saturated points are left out: random at 0.95, 1.1." or nothing.
pub fn saturated_note(ctx: &Context<'_>) -> String {
    let mut parts = Vec::new();
    for (s, label) in ctx.strategies().iter().enumerate() {
        let at: Vec<String> = ctx
            .slice
            .iter()
            .filter(|&&i| ctx.result(i, s).is_some_and(|r| r.saturated))
            .map(|&i| style::tick(ctx.x(i)))
            .collect();
        if !at.is_empty() {
            parts.push(format!("{label} at {}", at.join(", ")));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(
            " Saturated points (more work offered than the cluster, or one backend, can do; or requests \
             rejected) are left out: {}.",
            parts.join("; ")
        )
    }
}

pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| f.to_uppercase().collect::<String>() + c.as_str())
}
