//! Chart 2: utilisation of every backend at the report load, grouped bars (one colour per
//! strategy). Equal bars mean an even spread; on heterogeneous clusters, unweighted
//! strategies show slow backends near 100 % while fast ones idle.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::bars;
use super::style;
use super::{Context, Figure, Meta, figure};

/// Beyond this many backends, bars would be slivers: the chart shows the first ones.
const MAX_BACKENDS: usize = 24;

pub fn figures<'r>(ctx: &'r Context<'r>) -> Vec<Figure<'r>> {
    let backends = ctx.result(ctx.focus, 0).map_or(0, |r| r.backends.len());
    if backends == 0 {
        return vec![];
    }
    let mut caption = if ctx.closed_loop() {
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
    if backends > MAX_BACKENDS {
        caption += &format!(" Only the first {MAX_BACKENDS} of {backends} backends are shown.");
    }
    let saturated: Vec<&str> = (0..ctx.strategies().len())
        .filter(|&s| ctx.result(ctx.focus, s).is_some_and(|r| r.saturated))
        .map(|s| ctx.strategies()[s].as_str())
        .collect();
    if !saturated.is_empty() {
        caption += &format!(
            " Hatched bars are saturated at this load ({}): a backlog that grows with the run, not a steady state.",
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
    vec![figure!(meta, |area| draw(area, ctx))]
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
