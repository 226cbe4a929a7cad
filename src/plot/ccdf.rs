//! Chart 3: the response-time distribution at the report load as a CCDF, P(T > t), on
//! log-log axes, one line per strategy: tails that are straight lines are heavy (power-law),
//! tails that fall off a cliff are light.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style;
use super::{Context, Figure, Meta, figure};

/// Whether strategy `s`'s curve is drawn: it has one, and is not saturated at the focus point
/// (a saturated run's distribution is a transient that grows with the run's length).
fn shown(ctx: &Context<'_>, s: usize) -> bool {
    ctx.result(ctx.focus, s).is_some_and(|r| r.ccdf.len() >= 2 && !r.saturated)
}

pub fn figures<'r>(ctx: &'r Context<'r>) -> Vec<Figure<'r>> {
    if !(0..ctx.strategies().len()).any(|s| shown(ctx, s)) {
        return vec![];
    }
    let saturated: Vec<&str> = (0..ctx.strategies().len())
        .filter(|&s| ctx.result(ctx.focus, s).is_some_and(|r| r.saturated))
        .map(|s| ctx.strategies()[s].as_str())
        .collect();
    let meta = Meta {
        stem: "ccdf".into(),
        title: format!("Response-time tail {} — {}", ctx.focus_label(), ctx.subject()),
        caption: format!(
            "Fraction of requests slower than t, {}, on log-log axes (first replication). A line that \
             stays high for long means a heavy tail: a few requests wait very long.",
            ctx.focus_label()
        ),
        legend: (0..ctx.strategies().len()).filter(|&s| shown(ctx, s)).map(|s| ctx.strategies()[s].clone()).collect(),
        size: style::SIZE,
    };
    let mut meta = meta;
    if !saturated.is_empty() {
        meta.caption += &format!(
            " Left out, saturated at this load (their distribution grows with the run's length): {}.",
            saturated.join(", ")
        );
    }
    if let Some(slo) = ctx.slo() {
        meta.legend.push(format!("SLO {}", slo.describe()));
        meta.caption += &match quantile(&slo) {
            Some(q) => format!(
                " The dashed red corner is the SLO, {}: a strategy meets it when its curve passes below the corner \
                 (fewer than {}% of requests slower than {}).",
                slo.describe(),
                crate::units::significant((1.0 - q) * 100.0, 3),
                crate::units::format_duration(slo.limit)
            ),
            None => format!(" The dashed red line marks the SLO's limit, {}.", slo.describe()),
        };
    }
    vec![figure!(meta, |area| draw(area, ctx))]
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, ctx: &Context<'_>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let curves: Vec<Vec<(f64, f64)>> = (0..ctx.strategies().len())
        .map(|s| {
            ctx.result(ctx.focus, s)
                .filter(|_| shown(ctx, s))
                .map(|r| r.ccdf.iter().filter(|p| p[0] > 0.0 && p[1] > 0.0).map(|p| (p[0], p[1])).collect())
                .unwrap_or_default()
        })
        .collect();
    // The body of the distribution (P near 1) says little on log axes: start where the
    // fastest strategy's curve drops below 0.99, and pick the unit from the medians.
    let (unit, scale) = style::time_unit(curves.iter().filter_map(|c| c.iter().find(|p| p.1 <= 0.5)).map(|p| p.0));
    let start = curves.iter().filter_map(|c| c.iter().find(|p| p.1 < 0.99)).map(|p| p.0).fold(f64::INFINITY, f64::min);
    let curves: Vec<Vec<(f64, f64)>> =
        curves.into_iter().map(|c| c.into_iter().filter(|p| p.0 >= start * 0.5).collect()).collect();
    let slo = ctx.slo();
    let (t0, t1) = curves
        .iter()
        .flatten()
        .map(|p| p.0)
        .chain(slo.iter().map(|slo| slo.limit))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), t| (a.min(t / scale), b.max(t / scale)));
    if !t0.is_finite() {
        return Ok(());
    }
    let p0 = curves
        .iter()
        .flatten()
        .map(|p| p.1)
        .chain(slo.as_ref().and_then(quantile).map(|q| 1.0 - q))
        .fold(1.0f64, f64::min)
        .max(1e-7);
    let title = format!("Response-time tail {} — {}", ctx.focus_label(), ctx.subject());
    if !style::drawable(t0 * 0.9, t1 * 1.1, true) {
        return style::empty(area, &title, style::OUT_OF_RANGE);
    }
    let mut chart = style::builder(area, &title)
        .build_cartesian_2d((t0 * 0.9..t1 * 1.1).log_scale(), (p0 * 0.7..1.2).log_scale())?;
    style::mesh(&mut chart, &format!("response time t ({unit})"), "P(response time > t)")?;
    for (s, curve) in curves.iter().enumerate().filter(|(s, _)| shown(ctx, *s)) {
        let line: Vec<(f64, f64)> = curve.iter().map(|p| (p.0 / scale, p.1)).collect();
        style::strategy_line(&mut chart, s, &ctx.strategies()[s], line, false)?;
    }
    if let Some(slo) = &slo {
        let t = slo.limit / scale;
        let label = format!("SLO {}", slo.describe());
        match quantile(slo) {
            // The corner (limit, 1 − q): the curve must pass below it.
            Some(q) => style::slo_line(&mut chart, vec![(t0 * 0.9, 1.0 - q), (t, 1.0 - q), (t, p0 * 0.7)], label)?,
            None => style::slo_line(&mut chart, vec![(t, 1.2), (t, p0 * 0.7)], label)?,
        }
    }
    style::legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
    Ok(())
}

/// The quantile level of a percentile SLO (0.99 for p99), or `None` for the mean.
fn quantile(slo: &crate::slo::Slo) -> Option<f64> {
    crate::slo::quantile_level(slo.metric)
}
