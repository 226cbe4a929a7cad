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
            if ctx.single() {
                return single_figure(ctx, name);
            }
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
            slo_and_saturated_notes(ctx, name, &mut legend, &mut caption);
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

/// The chart of a single point: one row per strategy, with the theory value where one exists.
fn single_figure<'r>(ctx: &'r Context<'r>, name: &'static str) -> Figure<'r> {
    let words = metric_words(name);
    let i = ctx.slice[0];
    let mut legend = Vec::new();
    let mut caption = format!(
        "{} of each strategy {}: the dot is the estimate, the whiskers its 95 % confidence interval.",
        capitalise(&words),
        ctx.focus_label_of(i)
    );
    let theory: Vec<(String, f64, &str)> = (0..ctx.strategies().len())
        .filter_map(|s| {
            let t = ctx.results.points[i].theory.get(s)?.as_ref()?;
            let usable = name == "mean_response" && t.mean_response.is_finite() && t.mean_response > 0.0;
            let saturated = ctx.result(i, s).is_none_or(|r| r.saturated);
            (usable && !saturated).then(|| (t.model.clone(), t.mean_response, ctx.strategies()[s].as_str()))
        })
        .collect();
    if !theory.is_empty() {
        let mut models: Vec<&str> = Vec::new();
        for (m, _, _) in &theory {
            if !models.contains(&m.as_str()) {
                models.push(m);
            }
        }
        let model = models.join(", ");
        legend.push(format!("theory ({model})"));
        let same = theory.iter().all(|t| t.1 == theory[0].1);
        let values: Vec<String> = if same {
            vec![crate::units::format_duration(theory[0].1)]
        } else {
            theory.iter().map(|(_, v, s)| format!("{s} {}", crate::units::format_duration(*v))).collect()
        };
        caption += &format!(
            " The dark grey bar is the closed-form value from queueing theory ({model}): {}.",
            values.join(", ")
        );
    }
    slo_and_saturated_notes(ctx, name, &mut legend, &mut caption);
    let meta = Meta {
        stem: format!("response_{name}"),
        title: super::single::title(ctx, &capitalise(&words)),
        caption,
        legend,
        size: style::SIZE,
    };
    figure!(meta, |area| super::single::response(area, ctx, name))
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

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, ctx: &Context<'_>, name: &'static str) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let lines = (0..ctx.strategies().len())
        .map(|s| Line { label: ctx.strategies()[s].clone(), colour: s, points: series(ctx, name, s) })
        .collect();
    let theory = if name == "mean_response" { theory::lines(ctx) } else { Vec::new() };
    let chart = MetricChart {
        title: format!("{} vs {} — {}", capitalise(&metric_words(name)), ctx.x_words(), ctx.subject()),
        x_desc: ctx.x_label(),
        metric: name,
        lines,
        theory: theory
            .iter()
            .map(|t| Dashed { label: theory::label(ctx, t), colour: t.strategy, points: t.points.clone() })
            .collect(),
        slo: ctx.slo().filter(|slo| slo.metric == name),
        bars: false,
    };
    draw_metric(area, &chart)
}

/// One line of a [`MetricChart`]: its legend label, its colour's index in the palette, and
/// its points (x, value, interval low, interval high), in seconds.
pub struct Line {
    pub label: String,
    pub colour: usize,
    pub points: Vec<(f64, f64, f64, f64)>,
}

/// A dashed reference line of a [`MetricChart`] (theory): its legend label, its colour's
/// index and its (x, seconds) points.
pub struct Dashed {
    pub label: String,
    pub colour: usize,
    pub points: Vec<(f64, f64)>,
}

/// A response-time metric against a numeric x, one line per strategy with its 95 %
/// intervals, the theory as dashed lines and the SLO as a dashed red line: what the sweep's
/// response charts and `lbsim plan`'s chart both draw ([`draw_metric`]).
pub struct MetricChart {
    pub title: String,
    pub x_desc: String,
    /// The metric's name (`p99`), for the y axis's words.
    pub metric: &'static str,
    pub lines: Vec<Line>,
    /// Dashed theory lines.
    pub theory: Vec<Dashed>,
    pub slo: Option<crate::slo::Slo>,
    /// Intervals as vertical bars at whole-number x (a count), the lines side by side so
    /// that their bars do not hide each other; else shaded bands.
    pub bars: bool,
}

/// Draws `chart`: a logarithmic y axis when the values span more than a factor of 30, room
/// above the data for the legend.
pub fn draw_metric<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &MetricChart) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let points = chart.lines.iter().flat_map(|l| &l.points);
    let values: Vec<f64> = points
        .clone()
        .flat_map(|p| [p.1, p.2.max(p.1 * 0.5), p.3])
        .chain(chart.theory.iter().flat_map(|t| t.points.iter().map(|p| p.1)))
        .chain(chart.slo.iter().map(|slo| slo.limit))
        .collect();
    let (unit, scale) = style::time_unit(values.iter().copied());
    let positive = values.iter().copied().filter(|v| v.is_finite() && *v > 0.0).map(|v| v / scale);
    let (lo, hi) = positive.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let xs = points.map(|p| p.0);
    let (x0, x1) = if chart.bars {
        let (a, b) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
        (a - 0.5, b + 0.5)
    } else {
        style::padded(xs)
    };
    if !lo.is_finite() {
        return style::empty(area, &chart.title, "every point is saturated: nothing to show");
    }
    if !style::drawable(lo / 1.3, hi * 1.3, true) || !style::drawable(x0, x1, false) {
        return style::empty(area, &chart.title, style::OUT_OF_RANGE);
    }
    let rows = chart.lines.len() + chart.theory.len() + usize::from(chart.slo.is_some());
    let headroom = style::legend_headroom(rows);
    let plot = Plot { chart, scale, x: (x0, x1), y_desc: format!("{} ({unit})", metric_words(chart.metric)) };
    if hi / lo > 30.0 {
        // On a log axis the legend's share of the height is a factor, not a sum.
        plot.draw(area, (lo / 1.3..hi * 1.3 * (hi * 1.3 / (lo / 1.3)).powf(headroom - 1.0)).log_scale())
    } else {
        plot.draw(area, 0.0..hi * 1.1 * headroom)
    }
}

struct Plot<'a> {
    chart: &'a MetricChart,
    scale: f64,
    x: (f64, f64),
    y_desc: String,
}

impl Plot<'_> {
    /// Draws with y coordinates `y` (linear or logarithmic).
    fn draw<DB: DrawingBackend, Y>(&self, area: &DrawingArea<DB, Shift>, y: Y) -> Result<()>
    where
        DB::ErrorType: 'static,
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let c = self.chart;
        let mut chart = style::builder(area, &c.title).build_cartesian_2d(self.x.0..self.x.1, y)?;
        if c.bars {
            // Whole numbers only on the x axis: the varied quantity is a count.
            chart
                .configure_mesh()
                .x_desc(c.x_desc.as_str())
                .y_desc(self.y_desc.as_str())
                .label_style((style::FAMILY, style::TICK))
                .axis_desc_style((style::FAMILY, style::LABEL))
                .bold_line_style(style::GRID)
                .light_line_style(TRANSPARENT)
                .x_label_formatter(&|v| {
                    if (v - v.round()).abs() < 1e-9 { format!("{}", v.round()) } else { String::new() }
                })
                .y_label_formatter(&|v| style::tick(*v))
                .draw()?;
        } else {
            style::mesh(&mut chart, &c.x_desc, &self.y_desc)?;
        }
        let k = c.lines.len() as f64;
        let shift = |s: usize| if c.bars { (s as f64 - (k - 1.0) / 2.0) * 0.08 } else { 0.0 };
        if !c.bars {
            for l in &c.lines {
                let colour = style::colour(l.colour);
                let mut band: Vec<(f64, f64)> = l.points.iter().map(|p| (p.0, p.3 / self.scale)).collect();
                band.extend(l.points.iter().rev().map(|p| (p.0, p.2.max(p.1 * 0.5) / self.scale)));
                chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.18).filled())))?;
            }
        }
        for (s, l) in c.lines.iter().enumerate() {
            let dx = shift(s);
            let line: Vec<(f64, f64)> = l.points.iter().map(|p| (p.0 + dx, p.1 / self.scale)).collect();
            style::strategy_line(&mut chart, l.colour, &l.label, line, true)?;
            if c.bars {
                let colour = style::colour(l.colour).stroke_width(2);
                chart.draw_series(l.points.iter().map(|p| {
                    PathElement::new(vec![(p.0 + dx, p.2 / self.scale), (p.0 + dx, p.3 / self.scale)], colour)
                }))?;
            }
        }
        for t in &c.theory {
            let points: Vec<(f64, f64)> = t.points.iter().map(|p| (p.0, p.1 / self.scale)).collect();
            style::dashed_line(&mut chart, points, style::colour(t.colour), t.label.clone())?;
        }
        if let Some(slo) = &c.slo {
            let limit = slo.limit / self.scale;
            style::slo_line(&mut chart, vec![(self.x.0, limit), (self.x.1, limit)], format!("SLO {}", slo.describe()))?;
        }
        style::legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        Ok(())
    }
}

/// What every response chart of metric `name` ends with: the SLO's legend entry and
/// sentence if the SLO is on this metric, then the [`saturated_note`].
fn slo_and_saturated_notes(ctx: &Context<'_>, name: &str, legend: &mut Vec<String>, caption: &mut String) {
    if let Some(slo) = ctx.slo().filter(|slo| slo.metric == name) {
        legend.push(format!("SLO {}", slo.describe()));
        *caption += &format!(" The dashed red line is the SLO, {}.", slo.describe());
    }
    *caption += &saturated_note(ctx);
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
