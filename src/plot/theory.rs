//! Chart 7: the theory overlay on the mean-response chart. Where a closed form exists for a
//! strategy (M/M/c, M/G/1, M/G/1-PS, random dispatch to independent queues, the power-of-d
//! mean-field limit), it is drawn as a dashed line in the strategy's colour, labelled with
//! the model, so a reader can see at a glance how close the simulation came.

use anyhow::Result;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::{Context, style};

/// One strategy's theoretical mean response time (seconds) against x.
pub struct Line {
    pub strategy: usize,
    pub model: String,
    pub points: Vec<(f64, f64)>,
}

/// The theory lines of the slice: one per strategy that has a finite prediction at two or
/// more points (a single point would not read as a line).
pub fn lines(ctx: &Context<'_>) -> Vec<Line> {
    (0..ctx.strategies().len())
        .filter_map(|s| {
            let mut model = String::new();
            let points: Vec<(f64, f64)> = ctx
                .slice
                .iter()
                .filter_map(|&i| {
                    let t = ctx.results.points[i].theory.get(s)?.as_ref()?;
                    model.clone_from(&t.model);
                    (t.mean_response.is_finite() && t.mean_response > 0.0).then_some((ctx.x(i), t.mean_response))
                })
                .collect();
            (points.len() >= 2).then_some(Line { strategy: s, model, points })
        })
        .collect()
}

/// The legend entry of a line: `random: theory (M/M/1)`.
pub fn label(ctx: &Context<'_>, line: &Line) -> String {
    format!("{}: theory ({})", ctx.strategies()[line.strategy], line.model)
}

/// Legend entries of every theory line.
pub fn legend(ctx: &Context<'_>) -> Vec<String> {
    lines(ctx).iter().map(|l| label(ctx, l)).collect()
}

/// Draws `lines` dashed, values divided by `scale` (the y unit).
pub fn draw<'a, DB, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>,
    lines: &[Line],
    ctx: &Context<'_>,
    scale: f64,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    Y: plotters::coord::ranged1d::Ranged<ValueType = f64>,
{
    for line in lines {
        let colour = style::colour(line.strategy);
        let style = colour.stroke_width(2);
        let points: Vec<(f64, f64)> = line.points.iter().map(|p| (p.0, p.1 / scale)).collect();
        chart.draw_series(DashedLineSeries::new(points, 9, 6, style))?.label(label(ctx, line)).legend(move |(x, y)| {
            EmptyElement::at((x, y))
                + PathElement::new(vec![(0, 0), (9, 0)], style)
                + PathElement::new(vec![(15, 0), (24, 0)], style)
        });
    }
    Ok(())
}
