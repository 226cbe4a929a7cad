//! Chart 2: utilisation of every backend at the report load, grouped bars (one colour per
//! strategy). Equal bars mean an even spread; on heterogeneous clusters, unweighted
//! strategies show slow backends near 100 % while fast ones idle.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{self, FAMILY};
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
    let mut chart = style::builder(area, &title).build_cartesian_2d(0.0..n, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("backend")
        .y_desc("utilisation (busy fraction of worker time)")
        .label_style((FAMILY, style::TICK))
        .axis_desc_style((FAMILY, style::LABEL))
        .bold_line_style(style::GRID)
        .light_line_style(TRANSPARENT)
        .disable_x_mesh()
        .x_labels(0)
        // The range above 1 is room for the legend: no utilisation lives there.
        .y_label_formatter(&|v| if *v <= 1.0 + 1e-9 { style::tick(*v) } else { String::new() })
        .draw()?;
    // Backend names under their group of bars (plotters' own ticks would fall between groups).
    let font = (FAMILY, style::TICK).into_text_style(area).pos(Pos::new(HPos::Center, VPos::Top));
    for (b, name) in names.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(b as f64 + 0.5, 0.0));
        area.draw_text(name, &font, (x, y + 8))?;
    }
    let width = 0.8 / results.len().max(1) as f64;
    for (s, r) in results.iter().enumerate() {
        let colour = style::colour(s);
        // A saturated strategy's bars are pale with a hatch of its colour: still comparable,
        // clearly not a steady state.
        let fill = if r.saturated { colour.mix(0.3).filled() } else { colour.filled() };
        let bars = r.backends.iter().take(MAX_BACKENDS).enumerate().map(move |(b, m)| {
            let x0 = b as f64 + 0.1 + s as f64 * width;
            Rectangle::new([(x0, 0.0), (x0 + width * 0.92, m.utilisation)], fill)
        });
        chart
            .draw_series(bars)?
            .label(legend_label(ctx, s))
            .legend(move |(x, y)| Rectangle::new([(x, y - 7), (x + 22, y + 7)], fill));
        if r.saturated {
            let hatch = colour.stroke_width(2);
            for (b, m) in r.backends.iter().take(MAX_BACKENDS).enumerate() {
                let x0 = b as f64 + 0.1 + s as f64 * width;
                let steps = 8;
                let lines = (1..steps).map(|k| {
                    let y = m.utilisation * f64::from(k) / f64::from(steps);
                    PathElement::new(vec![(x0, y - m.utilisation / f64::from(steps)), (x0 + width * 0.92, y)], hatch)
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
