//! Chart 2: utilisation of every backend at the report load, grouped bars (one colour per
//! strategy). Equal bars mean an even spread; on heterogeneous clusters, unweighted
//! strategies show slow backends near 100 % while fast ones idle.
//!
//! Beyond [`MAX_BACKENDS`] backends bars would be slivers, and the first two dozen of a
//! fleet say nothing of the rest: the chart then ranks every backend by its utilisation, one
//! line per strategy (the sorted utilisations against the share of backends), so that an
//! even spread is a flat line at the offered load and imbalance is a slope, at any size.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::bars;
use super::style;
use super::{Context, Figure, Meta, figure};

/// Beyond this many backends, bars would be slivers: the chart ranks them instead.
const MAX_BACKENDS: usize = 24;
/// Points a ranked line is drawn through at most (evenly spaced ranks, the least and most
/// utilised included): 10⁵ backends' worth would make an SVG of megabytes that looks the same.
const MAX_RANKED_POINTS: usize = 1000;

pub fn figures<'r>(ctx: &'r Context<'r>) -> Vec<Figure<'r>> {
    let backends = ctx.result(ctx.focus, 0).map_or(0, |r| r.backends.len());
    if backends == 0 {
        return vec![];
    }
    let ranked = backends > MAX_BACKENDS;
    let mut caption = if ranked {
        format!(
            "Every backend's utilisation {}, the {} backends ranked from the least to the most busy, one line per \
             strategy: a point at x % is the utilisation that x % of the backends stay at or under. {}",
            ctx.focus_label(),
            crate::budget::group_digits(backends as u64),
            if ctx.closed_loop() {
                "An even spread is a flat line at the load the strategy's users carried (dashed, in its colour)."
            } else {
                "An even spread is a flat line at the offered load (dashed); a slope is imbalance, its left end the \
                 idlest backends, its right end the busiest."
            }
        )
    } else if ctx.closed_loop() {
        // Closed-loop users send as their responses come back: the load is carried (set by
        // the users and by how fast each strategy answers them), not offered independently.
        format!(
            "Share of time each backend's workers were busy {}, one bar per strategy. The dashed lines, one in \
             each strategy's colour, are the load its users carried (its throughput × E[S] ÷ capacity): closed-loop \
             users send as their responses come back, so the load is set by them and by the strategy, not \
             offered independently. A perfectly even spread puts every bar of a strategy on its line.",
            ctx.focus_label()
        )
    } else {
        format!(
            "Share of time each backend's workers were busy {}, one bar per strategy. The dashed line is the \
             offered load: a perfectly even spread puts every bar on it.",
            ctx.focus_label()
        )
    };
    let saturated: Vec<&str> = (0..ctx.strategies().len())
        .filter(|&s| ctx.result(ctx.focus, s).is_some_and(|r| r.saturated))
        .map(|s| ctx.strategies()[s].as_str())
        .collect();
    if !saturated.is_empty() {
        let what = if ranked { "Lines marked saturated are" } else { "Hatched bars are" };
        caption += &format!(
            " {what} saturated at this load ({}): a backlog that grows with the run, not a steady state.",
            saturated.join(", ")
        );
    }
    let meta = Meta {
        stem: "utilisation".into(),
        title: format!("Backend utilisation {} — {}", ctx.focus_label(), ctx.subject()),
        caption,
        legend: (0..ctx.strategies().len()).map(|s| legend_label(ctx, s)).collect(),
        size: style::SIZE,
    };
    if ranked {
        vec![figure!(meta, |area| draw_ranked(area, ctx))]
    } else {
        vec![figure!(meta, |area| draw(area, ctx))]
    }
}

/// The backends' `utilisations` in increasing order (those that do not exist left out), at
/// no more than [`MAX_RANKED_POINTS`] evenly spaced ranks (the first and last always), each
/// placed at its rank's share of the backends in percent (0 the least busy, 100 the most).
fn ranked(utilisations: impl Iterator<Item = f64>) -> Vec<(f64, f64)> {
    let mut u: Vec<f64> = utilisations.filter(|u| u.is_finite()).collect();
    u.sort_by(f64::total_cmp);
    let last = u.len().saturating_sub(1);
    let points = u.len().min(MAX_RANKED_POINTS);
    if points < 2 {
        return u.iter().map(|&u| (50.0, u)).collect();
    }
    (0..points)
        .map(|k| {
            // Rounded to the nearest rank: k = 0 is the least busy, k = points − 1 the most.
            let rank = (k * last + (points - 1) / 2) / (points - 1);
            (100.0 * rank as f64 / last as f64, u[rank])
        })
        .collect()
}

/// The fleet form: the utilisations of every backend ranked, one line per strategy.
fn draw_ranked<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, ctx: &Context<'_>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let results: Vec<(usize, &crate::runner::StrategyResult)> =
        (0..ctx.strategies().len()).filter_map(|s| Some((s, ctx.result(ctx.focus, s)?))).collect();
    let lines: Vec<(usize, Vec<(f64, f64)>)> =
        results.iter().map(|&(s, r)| (s, ranked(r.backends.iter().map(|b| b.utilisation)))).collect();
    let top = lines.iter().flat_map(|(_, l)| l.iter().map(|p| p.1)).fold(1.0f64, f64::max)
        * style::legend_headroom(results.len() + 1);
    let title = format!("Backend utilisation {} — {}", ctx.focus_label(), ctx.subject());
    if !style::drawable(0.0, top, false) {
        return style::empty(area, &title, style::OUT_OF_RANGE);
    }
    let mut chart = style::builder(area, &title).build_cartesian_2d(0.0..100.0, 0.0..top)?;
    style::mesh(
        &mut chart,
        "backends, ranked from least to most busy (%)",
        "utilisation (busy fraction of worker time)",
    )?;
    for (s, line) in lines {
        style::strategy_line(&mut chart, s, &legend_label(ctx, s), line, false)?;
    }
    if ctx.closed_loop() {
        for &(s, r) in results.iter().filter(|(_, r)| r.load.is_finite() && r.load <= top) {
            let line =
                DashedLineSeries::new(vec![(0.0, r.load), (100.0, r.load)], 8, 5, style::colour(s).stroke_width(2));
            chart.draw_series(line)?;
        }
    } else if let Some(load) = results.first().map(|(_, r)| r.load).filter(|l| *l <= top) {
        style::dashed_line(&mut chart, vec![(0.0, load), (100.0, load)], style::THEORY, "offered load".into())?;
    }
    style::legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    Ok(())
}

/// The strategy's name, marked when it is saturated at the focus point.
fn legend_label(ctx: &Context<'_>, s: usize) -> String {
    let name = ctx.strategies()[s].clone();
    if ctx.result(ctx.focus, s).is_some_and(|r| r.saturated) { format!("{name} (saturated)") } else { name }
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, ctx: &Context<'_>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let results: Vec<_> = (0..ctx.strategies().len()).filter_map(|s| ctx.result(ctx.focus, s)).collect();
    let names: Vec<String> = results
        .first()
        .map(|r| r.backends.iter().take(MAX_BACKENDS).map(|b| b.name.clone()).collect())
        .unwrap_or_default();
    let n = names.len() as f64;
    let top = results.iter().flat_map(|r| r.backends.iter().map(|b| b.utilisation)).fold(1.0f64, f64::max)
        * style::legend_headroom(results.len() + 1);
    let title = format!("Backend utilisation {} — {}", ctx.focus_label(), ctx.subject());
    if !style::drawable(0.0, top, false) {
        return style::empty(area, &title, style::OUT_OF_RANGE);
    }
    let mut chart =
        bars::axes(&mut style::builder(area, &title), n, top, "backend", "utilisation (busy fraction of worker time)")?;
    for (b, name) in names.iter().enumerate() {
        bars::names_under(area, &chart, b as f64 + 0.5, &[name])?;
    }
    for (s, r) in results.iter().enumerate() {
        let colour = style::colour(s);
        // A saturated strategy's bars are pale with a hatch of its colour: still comparable,
        // clearly not a steady state.
        let fill = if r.saturated { colour.mix(0.3).filled() } else { colour.filled() };
        let heights = || r.backends.iter().take(MAX_BACKENDS).enumerate().map(|(b, m)| (b as f64, m.utilisation));
        bars::strategy_bars(&mut chart, s, results.len(), heights(), fill, legend_label(ctx, s))?;
        if r.saturated {
            let hatch = colour.stroke_width(2);
            for (slot, u) in heights() {
                let (x0, x1) = bars::span(slot, s, results.len());
                let steps = 8;
                let lines = (1..steps).map(|k| {
                    let y = u * f64::from(k) / f64::from(steps);
                    PathElement::new(vec![(x0, y - u / f64::from(steps)), (x1, y)], hatch)
                });
                chart.draw_series(lines)?;
            }
        }
    }
    if ctx.closed_loop() {
        // Each strategy's users carried their own load: one line each, in its colour.
        for (s, r) in results.iter().enumerate().filter(|(_, r)| r.load.is_finite() && r.load <= top) {
            let line = DashedLineSeries::new(vec![(0.0, r.load), (n, r.load)], 8, 5, style::colour(s).stroke_width(2));
            chart.draw_series(line)?;
        }
    } else if let Some(load) = results.first().map(|r| r.load).filter(|l| *l <= top) {
        style::dashed_line(&mut chart, vec![(0.0, load), (n, load)], style::THEORY, "offered load".into())?;
    }
    style::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ranked_line_runs_from_the_least_to_the_most_busy_backend_in_at_most_a_thousand_points() {
        // 100 000 backends whose utilisations are a permutation of k / 10⁵.
        let n = 100_000u64;
        let line = ranked((0..n).map(|k| ((k * 7919) % n) as f64 / n as f64));
        assert_eq!(line.len(), MAX_RANKED_POINTS);
        assert_eq!((line[0], line[line.len() - 1]), ((0.0, 0.0), (100.0, (n - 1) as f64 / n as f64)));
        assert!(line.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1), "increasing in rank and value");
        // Each point's value is its rank's: x % of the backends at or under it.
        for &(x, u) in &line {
            let rank = (x / 100.0 * (n - 1) as f64).round();
            assert_eq!(u, rank / n as f64, "at {x} %");
        }
        // A small cluster keeps every backend, and a utilisation that does not exist is left out.
        let small = ranked([0.5, f64::NAN, 0.2, 0.9].into_iter());
        assert_eq!(small, [(0.0, 0.2), (50.0, 0.5), (100.0, 0.9)]);
    }
}
