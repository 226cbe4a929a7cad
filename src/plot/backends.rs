//! p99 response time of each backend against the x axis, for clusters whose backends are
//! simulated with explicit workers (they keep their own response times): compares groups
//! of different worker classes, accept rules or lifecycle settings placed side by side in
//! one cluster. One figure per combination of the other axes (so a two-axis sweep such as
//! CPU-bound vs I/O-bound shows both), first strategy only, log scale.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style;
use super::{Context, Figure, Meta, figure};

pub fn figures<'r>(ctx: &'r Context<'r>) -> Vec<Figure<'r>> {
    let results = ctx.results;
    let has_backend_p99 =
        results.points.iter().any(|p| p.results.first().is_some_and(|r| r.backends.iter().any(|b| b.p99.is_some())));
    if !has_backend_p99 || results.axes.is_empty() {
        return vec![];
    }
    let names: Vec<String> = results.points[0].results.first().map_or(Vec::new(), |r| {
        r.backends.iter().filter(|b| b.p99.is_some() || !b.workers.is_empty()).map(|b| b.name.clone()).collect()
    });
    let strategy = results.strategies.first().cloned().unwrap_or_default();
    let groups = groups(ctx);
    let several = groups.len() > 1;
    (0..groups.len())
        .map(|g| {
            let title = title(ctx, &groups[g].0);
            let meta = Meta {
                stem: if several { format!("backends_p99_{}", g + 1) } else { "backends_p99".to_string() },
                title,
                caption: format!(
                    "99th percentile response time of each backend's own requests (strategy {strategy}), against {}. \
                     Lines stop where the run saturates.",
                    ctx.x_label()
                ),
                legend: names.clone(),
                size: style::SIZE,
            };
            figure!(meta, |area| draw(area, ctx, g))
        })
        .collect()
}

/// Points grouped by the values of the axes other than x (in grid order), each group sorted
/// along x.
fn groups(ctx: &Context<'_>) -> Vec<(Vec<f64>, Vec<usize>)> {
    let mut groups: Vec<(Vec<f64>, Vec<usize>)> = Vec::new();
    for (i, point) in ctx.results.points.iter().enumerate() {
        let key: Vec<f64> =
            point.values.iter().enumerate().filter(|(k, _)| *k != ctx.x_axis).map(|(_, v)| *v).collect();
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    for (_, members) in &mut groups {
        members.sort_by(|&a, &b| ctx.x(a).total_cmp(&ctx.x(b)));
    }
    groups
}

fn title(ctx: &Context<'_>, key: &[f64]) -> String {
    let mut subject = ctx.results.experiment.clone();
    let others = ctx.results.axes.iter().enumerate().filter(|(k, _)| *k != ctx.x_axis);
    for ((_, axis), v) in others.zip(key) {
        subject += &format!(", {} = {}", axis.path, style::tick(*v));
    }
    format!("p99 by backend — {subject}")
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, ctx: &Context<'_>, group: usize) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let groups = groups(ctx);
    let Some((key, members)) = groups.get(group) else { return Ok(()) };
    let title = &title(ctx, key);
    let first = |i: usize| ctx.result(i, 0);
    let Some(r0) = members.first().and_then(|&i| first(i)) else { return Ok(()) };
    // Backend lines, skipping points where the strategy's run saturated.
    let lines: Vec<(String, Vec<(f64, f64)>)> = r0
        .backends
        .iter()
        .enumerate()
        .filter(|(_, b)| b.p99.is_some() || !b.workers.is_empty())
        .map(|(b, m)| {
            let points = members
                .iter()
                .filter_map(|&i| {
                    let r = first(i)?;
                    let p = r.backends.get(b)?.p99?;
                    (!r.saturated && p.is_finite() && p > 0.0).then_some((ctx.x(i), p))
                })
                .collect();
            (m.name.clone(), points)
        })
        .collect();
    let values: Vec<f64> = lines.iter().flat_map(|(_, l)| l.iter().map(|p| p.1)).collect();
    if values.is_empty() {
        return style::empty(area, title, "every point saturated");
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(0.0f64, f64::max);
    let (unit, scale) = style::time_unit(values.iter().copied());
    let (x0, x1) = style::padded(members.iter().map(|&i| ctx.x(i)));
    let mut chart = style::builder(area, title).build_cartesian_2d(
        x0..x1,
        (lo / scale / 1.3..hi / scale * 1.3 * style::legend_headroom(lines.len())).log_scale(),
    )?;
    chart
        .configure_mesh()
        .x_desc(ctx.x_label())
        .y_desc(format!("p99 response time ({unit}, log scale)"))
        .label_style((style::FAMILY, style::TICK))
        .axis_desc_style((style::FAMILY, style::LABEL))
        .bold_line_style(style::GRID)
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&|v| style::tick(*v))
        .y_label_formatter(&|v| style::tick(*v))
        .draw()?;
    for (b, (name, line)) in lines.into_iter().enumerate() {
        let scaled = line.into_iter().map(|(x, y)| (x, y / scale)).collect();
        style::strategy_line(&mut chart, b, &name, scaled, true)?;
    }
    style::legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    Ok(())
}
