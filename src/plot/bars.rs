//! Grouped utilisation bars, the drawing the backend (`utilisation`) and worker (`workers`)
//! charts share: a slot one unit wide per backend or worker, one bar per strategy inside
//! it, names under the slots instead of tick labels, and a y axis of busy fractions.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{self, FAMILY};

/// A chart whose x axis is slots (`0..width`) and whose y axis is a fraction (`0..top`).
pub type BarChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The axes of a bar chart from `builder` (the title and margins already set): x from 0 to
/// `width` without ticks or grid (names are written under their slots by [`names_under`]),
/// y from 0 to `top` with tick labels up to 1 only.
pub fn axes<'a, DB>(
    builder: &mut ChartBuilder<'a, '_, DB>,
    width: f64,
    top: f64,
    x_desc: &str,
    y_desc: &str,
) -> Result<BarChart<'a, DB>>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let mut chart = builder.build_cartesian_2d(0.0..width, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style((FAMILY, style::TICK))
        .axis_desc_style((FAMILY, style::LABEL))
        .bold_line_style(style::GRID)
        .light_line_style(TRANSPARENT)
        .disable_x_mesh()
        .x_labels(0)
        // The range above 1 is room for the legend: no utilisation lives there.
        .y_label_formatter(&|v| if *v <= 1.0 + 1e-9 { style::tick(*v) } else { String::new() })
        .draw()?;
    Ok(chart)
}

/// Writes `lines` one under another below the x axis, centred on `x` (plotters' own ticks
/// would fall between the groups of bars).
pub fn names_under<DB>(area: &DrawingArea<DB, Shift>, chart: &BarChart<'_, DB>, x: f64, lines: &[&str]) -> Result<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let font = (FAMILY, style::TICK).into_text_style(area).pos(Pos::new(HPos::Center, VPos::Top));
    let (px, py) = chart.backend_coord(&(x, 0.0));
    for (k, line) in lines.iter().enumerate() {
        area.draw_text(line, &font, (px, py + 8 + 18 * k as i32))?;
    }
    Ok(())
}

/// The x extent of strategy `s`'s bar (of `strategies`) in the slot that starts at `slot`:
/// the strategies share the slot's middle 80 %, with a small gap between bars.
pub fn span(slot: f64, s: usize, strategies: usize) -> (f64, f64) {
    let width = 0.8 / strategies.max(1) as f64;
    let x0 = slot + 0.1 + s as f64 * width;
    (x0, x0 + width * 0.92)
}

/// Strategy `s`'s bars, `(slot, height)` each, filled with `fill` and entered in the legend
/// as `label` with a square of the same fill.
pub fn strategy_bars<DB>(
    chart: &mut BarChart<'_, DB>,
    s: usize,
    strategies: usize,
    bars: impl Iterator<Item = (f64, f64)>,
    fill: ShapeStyle,
    label: String,
) -> Result<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
{
    let rectangles = bars.map(|(slot, height)| {
        let (x0, x1) = span(slot, s, strategies);
        Rectangle::new([(x0, 0.0), (x1, height)], fill)
    });
    chart
        .draw_series(rectangles)?
        .label(label)
        .legend(move |(x, y)| Rectangle::new([(x, y - 7), (x + 22, y + 7)], fill));
    Ok(())
}
