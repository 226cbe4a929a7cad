//! Charts of a sweep's results, each written as PNG and SVG.
//!
//! Every chart is one file here with a `figures(&Context) -> Vec<Figure>` function that
//! returns zero or more figures (zero when the results have nothing to show, e.g. no
//! rejections); [`CHARTS`] lists them, so adding a chart is one file and one line. A
//! [`Figure`] draws itself onto any plotters backend; [`Figure::svg`] and [`Figure::png`]
//! render it, deterministically (same results → same bytes).

mod backends;
mod bars;
mod ccdf;
mod context;
mod heatmap;
mod over_time;
pub mod qq;
mod rejected;
pub mod response;
mod single;
pub mod style;
mod theory;
mod throughput;
pub(crate) mod timeseries;
mod utilisation;
mod workers;

use anyhow::{Context as _, Result};
use plotters::backend::{BitMapBackend, SVGBackend};
use plotters::coord::Shift;
use plotters::prelude::*;

pub use context::{Context, axis_label, axis_short, axis_value, backend_knob, ramp_words};

use crate::results::SweepResults;
use crate::runner::StrategyResult;

/// The chart families, in report order.
pub const CHARTS: &[for<'a> fn(&'a Context<'a>) -> Vec<Figure<'a>>] = &[
    response::figures,
    utilisation::figures,
    workers::figures,
    backends::figures,
    ccdf::figures,
    throughput::figures,
    rejected::figures,
    timeseries::figures,
    heatmap::figures,
    over_time::figures,
];

/// Draws a figure into an SVG string buffer of any lifetime.
pub type SvgDraw<'a> = Box<dyn for<'b> Fn(&DrawingArea<SVGBackend<'b>, Shift>) -> Result<()> + 'a>;
/// Draws a figure into an RGB pixel buffer of any lifetime.
pub type PngDraw<'a> = Box<dyn for<'b> Fn(&DrawingArea<BitMapBackend<'b>, Shift>) -> Result<()> + 'a>;

/// One chart: what it is called, what it shows, and how to draw it.
pub struct Figure<'a> {
    /// File stem in `charts/` (`response_mean_response` → `.png` and `.svg`).
    pub stem: String,
    /// The chart's own title (also drawn on it).
    pub title: String,
    /// One or two sentences for the report: what to look for, what was left out.
    pub caption: String,
    /// Legend entries drawn on the chart (tests look for them in the SVG).
    pub legend: Vec<String>,
    pub size: (u32, u32),
    svg: SvgDraw<'a>,
    png: PngDraw<'a>,
}

/// Boxes a drawing closure for SVG; going through a function makes the closure generic over
/// the buffer's lifetime.
pub fn svg_draw<'a, F>(f: F) -> SvgDraw<'a>
where
    F: for<'b> Fn(&DrawingArea<SVGBackend<'b>, Shift>) -> Result<()> + 'a,
{
    Box::new(f)
}

/// Boxes a drawing closure for PNG (see [`svg_draw`]).
pub fn png_draw<'a, F>(f: F) -> PngDraw<'a>
where
    F: for<'b> Fn(&DrawingArea<BitMapBackend<'b>, Shift>) -> Result<()> + 'a,
{
    Box::new(f)
}

/// Builds a [`Figure`] from one generic drawing body, instantiated for both backends:
/// `figure!(meta, |area| draw(area, ...))`. The body may capture only `Copy` values
/// (references, indices), since it is moved into two closures.
macro_rules! figure {
    ($meta:expr, |$a:ident| $body:expr) => {
        $crate::plot::Figure::new(
            $meta,
            $crate::plot::svg_draw(move |$a| $body),
            $crate::plot::png_draw(move |$a| $body),
        )
    };
}
pub(crate) use figure;

/// What a figure is, before it is drawn.
pub struct Meta {
    pub stem: String,
    pub title: String,
    pub caption: String,
    pub legend: Vec<String>,
    pub size: (u32, u32),
}

impl<'a> Figure<'a> {
    pub fn new(meta: Meta, svg: SvgDraw<'a>, png: PngDraw<'a>) -> Self {
        let Meta { stem, title, caption, legend, size } = meta;
        Figure { stem, title, caption, legend, size, svg, png }
    }

    /// The chart as an SVG document.
    pub fn svg(&self) -> Result<String> {
        style::register_fonts();
        let mut text = String::new();
        {
            let area = SVGBackend::with_string(&mut text, self.size).into_drawing_area();
            area.fill(&WHITE)?;
            (self.svg)(&area).with_context(|| format!("drawing {}.svg", self.stem))?;
            area.present()?;
        }
        Ok(text)
    }

    /// The chart as a PNG file's bytes.
    pub fn png(&self) -> Result<Vec<u8>> {
        style::register_fonts();
        let (w, h) = self.size;
        let mut pixels = vec![0u8; (w * h * 3) as usize];
        {
            let area = BitMapBackend::with_buffer(&mut pixels, self.size).into_drawing_area();
            area.fill(&WHITE)?;
            (self.png)(&area).with_context(|| format!("drawing {}.png", self.stem))?;
            area.present()?;
        }
        let mut out = Vec::new();
        use image::ImageEncoder;
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(&pixels, w, h, image::ColorType::Rgb8)
            .context("encoding PNG")?;
        Ok(out)
    }
}

/// Every figure of `results`, in report order.
pub fn figures<'r>(ctx: &'r Context<'r>) -> Vec<Figure<'r>> {
    CHARTS.iter().flat_map(|chart| chart(ctx)).collect()
}

/// The estimate of metric `name` (`mean_response`, `p50` … `p999`, `mean_wait`) in `r`.
pub fn metric(r: &StrategyResult, name: &str) -> Option<crate::stats::Estimate> {
    Some(match name {
        "mean" | "mean_response" => r.mean_response,
        "p50" => r.p50,
        "p90" => r.p90,
        "p95" => r.p95,
        "p99" => r.p99,
        "p999" => r.p999,
        "mean_wait" => r.mean_wait,
        _ => return None,
    })
}

/// A metric in words, for titles and axis labels.
pub fn metric_words(name: &str) -> String {
    match name {
        "mean" | "mean_response" => "mean response time".into(),
        "mean_wait" => "mean waiting time".into(),
        "p999" => "99.9th percentile response time".into(),
        p if p.starts_with('p') => format!("{}th percentile response time", &p[1..]),
        other => other.to_string(),
    }
}

/// The metrics charted against load: `[report] metrics` that are known, else mean and p99.
pub fn response_metrics(results: &SweepResults) -> Vec<&'static str> {
    const KNOWN: [&str; 7] = ["mean_response", "p50", "p90", "p95", "p99", "p999", "mean_wait"];
    let chosen: Vec<&'static str> = results
        .report
        .metrics
        .iter()
        .filter_map(|m| KNOWN.iter().copied().find(|k| *k == m || (m == "mean" && *k == "mean_response")))
        .collect();
    if chosen.is_empty() { vec!["mean_response", "p99"] } else { chosen }
}
