//! The look shared by every chart: an embedded font (so a machine with no fonts installed
//! renders the same PNGs), a colour-blind-safe palette with one fixed colour per strategy,
//! sizes, and time units chosen from the data.

use std::sync::Once;

use anyhow::Result;
use plotters::coord::CoordTranslate;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

/// DejaVu Sans (Bitstream Vera licence, see `assets/fonts/LICENSE-DejaVu.txt`), compiled into
/// the binary: text rendering never looks up system fonts.
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The family name every chart asks for; it resolves to the embedded font.
pub const FAMILY: &str = "sans-serif";

/// Registers the embedded font once per process (plotters keeps a global font table).
pub fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font checked in with the source; a failure here
        // would be a build defect, and text would then be missing rather than panic.
        let _ = register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// Okabe & Ito's palette (2008), distinguishable under the common colour-vision
/// deficiencies; yellow comes last because it is faint on white.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
    RGBColor(240, 228, 66),  // yellow
];

/// The colour of the strategy (or backend) at `index`: the same in every chart of a report.
pub fn colour(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// Theory lines: dark grey, dashed, so they read as "reference" beside the coloured data.
pub const THEORY: RGBColor = RGBColor(80, 80, 80);
pub const GRID: RGBColor = RGBColor(225, 225, 225);
pub const SATURATED: RGBColor = RGBColor(190, 190, 190);
/// The SLO line: dashed red, the one colour the Okabe–Ito strategies never use.
pub const SLO: RGBColor = RGBColor(200, 30, 30);

/// Pixel size of single-panel charts (PNG and SVG alike).
pub const SIZE: (u32, u32) = (1000, 620);
/// Font sizes in pixels.
pub const TITLE: u32 = 26;
/// The most characters of a title that fit across a [`SIZE`] chart at [`TITLE`] pixels
/// (a character is about 0.46 em wide in the chart font, and the margins take 40 pixels).
const TITLE_FITS: usize = 76;

/// The font size of `title`: [`TITLE`], or smaller for a title too long to fit the chart's
/// width at it (a centred title that does not fit loses both its ends).
pub fn title_size(title: &str) -> u32 {
    let n = title.chars().count();
    if n <= TITLE_FITS { TITLE } else { (TITLE as usize * TITLE_FITS / n).max(12) as u32 }
}
pub const LABEL: u32 = 19;
pub const TICK: u32 = 15;
pub const LEGEND: u32 = 16;

/// A time unit for values in seconds: name and seconds per unit, chosen from the median
/// of the finite positive values.
pub fn time_unit(values: impl IntoIterator<Item = f64>) -> (&'static str, f64) {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite() && *x > 0.0).collect();
    if v.is_empty() {
        return ("s", 1.0);
    }
    v.sort_by(f64::total_cmp);
    crate::units::unit_for(v[v.len() / 2])
}

/// Tick labels that do not show floating-point noise (`0.30000000000000004`).
pub fn tick(value: f64) -> String {
    if value == 0.0 {
        return "0".into();
    }
    let a = value.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{value:.0e}");
    }
    crate::units::significant(value, 3)
}

/// A chart builder with the title, margins and label areas every chart uses.
pub fn builder<'a, 'b, DB: DrawingBackend>(area: &'a DrawingArea<DB, Shift>, title: &str) -> ChartBuilder<'a, 'b, DB> {
    let mut b = ChartBuilder::on(area);
    b.caption(title, (FAMILY, title_size(title))).margin(18).x_label_area_size(62).y_label_area_size(92);
    b
}

/// Axes with descriptions, light grid, and tick labels without floating-point noise.
pub fn mesh<DB, X, Y>(chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>, x_desc: &str, y_desc: &str) -> Result<()>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style((FAMILY, TICK))
        .axis_desc_style((FAMILY, LABEL))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&|v| tick(*v))
        .y_label_formatter(&|v| tick(*v))
        .draw()?;
    Ok(())
}

/// Strategy `s`'s line in its colour, labelled for the legend, with a dot on every point
/// when `markers` (points that are simulated runs, as opposed to a dense curve).
pub fn strategy_line<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    s: usize,
    label: &str,
    points: Vec<(f64, f64)>,
    markers: bool,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let colour = colour(s);
    let dots = if markers { points.clone() } else { Vec::new() };
    chart
        .draw_series(LineSeries::new(points, colour.stroke_width(3)))?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 28, y)], colour.stroke_width(3)));
    if markers {
        chart.draw_series(dots.into_iter().map(|p| Circle::new(p, 4, colour.filled())))?;
    }
    Ok(())
}

/// The series legend, on a nearly opaque white box at `position`.
pub fn legend<'a, DB, CT>(chart: &mut ChartContext<'a, DB, CT>, position: SeriesLabelPosition) -> Result<()>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .margin(14)
        .legend_area_size(36)
        .background_style(WHITE.mix(0.92))
        .border_style(BLACK.mix(0.35))
        .label_font((FAMILY, LEGEND))
        .draw()?;
    Ok(())
}

/// How much to stretch a y range whose data may reach the top so that a legend of `rows`
/// entries in an upper corner does not cover it (assumes a [`SIZE`] chart).
pub fn legend_headroom(rows: usize) -> f64 {
    let plot_height = f64::from(SIZE.1) - 150.0;
    let legend = rows as f64 * 21.0 + 40.0;
    1.0 / (1.0 - (legend / plot_height).min(0.6))
}

/// The range of `values` with 4 % padding each side (a small fixed one when they are equal).
pub fn padded(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { (hi - lo) * 0.04 } else { lo.abs().max(1.0) * 0.05 };
    (lo - pad, hi + pad)
}

/// Whether `lo..hi` can be an axis: both finite, `lo < hi`, and for a logarithmic axis both
/// positive. Figures from absurd parameters (a mean request of 10³⁰⁵ s) overflow to infinity
/// once padded, and plotters then loops forever computing tick marks: charts check their
/// padded ranges with this and draw [`empty`] instead.
pub fn drawable(lo: f64, hi: f64, log: bool) -> bool {
    lo.is_finite() && hi.is_finite() && lo < hi && (!log || lo > 0.0)
}

/// The note [`empty`] shows when [`drawable`] refuses a range.
pub const OUT_OF_RANGE: &str = "values too large or too small to draw (see the warnings in the results)";

/// A chart with only its title and a sentence saying why there is nothing to draw.
pub fn empty<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, title: &str, why: &str) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (w, h) = area.dim_in_pixel();
    area.draw_text(title, &(FAMILY, title_size(title)).into_text_style(area), (24, 18))?;
    area.draw_text(why, &(FAMILY, LABEL).into_text_style(area), (w as i32 / 4, h as i32 / 2))?;
    Ok(())
}

/// Draws a dashed reference path through `points` in `colour` (theory, the offered rate, the
/// SLO), labelled `label` in the legend with a dashed sample.
pub fn dashed_line<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    points: Vec<(f64, f64)>,
    colour: RGBColor,
    label: String,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let style = colour.stroke_width(2);
    chart.draw_series(DashedLineSeries::new(points, 10, 6, style))?.label(label).legend(move |(x, y)| {
        EmptyElement::at((x, y))
            + PathElement::new(vec![(0, 0), (9, 0)], style)
            + PathElement::new(vec![(15, 0), (24, 0)], style)
    });
    Ok(())
}

/// Draws the SLO as a dashed red path through `points` (a horizontal limit, or the corner of
/// a percentile on a CCDF), labelled `label` in the legend.
pub fn slo_line<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    points: Vec<(f64, f64)>,
    label: String,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    DB::ErrorType: 'static,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    dashed_line(chart, points, SLO, label)
}
