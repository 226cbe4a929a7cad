//! The charts of a single point (an experiment without `[sweep]`, or a sweep whose x axis has
//! one value): a line against x would be one dot on a meaningless axis, so each strategy gets
//! a row instead, with its value as a dot, its 95 % interval as whiskers and the numbers
//! written above it, the closed-form value where theory has one (a dark grey bar) and a
//! reference line (the SLO, the offered rate). The response, throughput and rejection charts
//! draw this when [`Context::single`] holds.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{self, FAMILY};
use super::{Context, metric, metric_words};

/// One strategy's row.
struct Row {
    /// (value, interval low, interval high), already in the chart's unit; `None` with a
    /// note saying why there is nothing to draw.
    value: Option<(f64, f64, f64)>,
    note: &'static str,
    theory: Option<f64>,
}

/// A vertical reference line across every row.
struct Reference {
    at: f64,
    label: String,
    colour: RGBColor,
}

struct Dots<'a> {
    title: String,
    x_desc: String,
    labels: &'a [String],
    rows: Vec<Row>,
    theory_label: Option<String>,
    reference: Option<Reference>,
    /// How the numbers above the dots are written.
    format: &'a dyn Fn(f64) -> String,
}

/// The response-time metric `name` at the single point, with theory (for the mean) and the
/// SLO (when it is on this metric).
pub fn response<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, ctx: &Context<'_>, name: &str) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let i = ctx.slice[0];
    let n = ctx.strategies().len();
    let raw: Vec<Option<(f64, f64, f64)>> = (0..n)
        .map(|s| {
            let r = ctx.result(i, s).filter(|r| !r.saturated)?;
            let e = metric(r, name).filter(|e| e.value.is_finite() && e.value > 0.0)?;
            Some(if e.has_interval() { (e.value, e.ci_low, e.ci_high) } else { (e.value, e.value, e.value) })
        })
        .collect();
    let theory: Vec<Option<f64>> = (0..n)
        .map(|s| {
            let t = ctx.results.points[i].theory.get(s)?.as_ref()?;
            let saturated = ctx.result(i, s).is_none_or(|r| r.saturated);
            let usable = name == "mean_response" && t.mean_response.is_finite() && t.mean_response > 0.0;
            (usable && !saturated).then_some(t.mean_response)
        })
        .collect();
    let slo = ctx.slo().filter(|slo| slo.metric == name);
    let all = raw.iter().flatten().flat_map(|v| [v.0, v.2]).chain(theory.iter().flatten().copied());
    let (unit, scale) = style::time_unit(all.chain(slo.iter().map(|s| s.limit)));
    let rows = raw
        .iter()
        .zip(&theory)
        .enumerate()
        .map(|(s, (v, t))| Row {
            value: v.map(|(a, b, c)| (a / scale, b / scale, c / scale)),
            note: if ctx.result(i, s).is_some_and(|r| r.saturated) { "saturated" } else { "no value" },
            theory: t.map(|t| t / scale),
        })
        .collect();
    let models = theory_models(ctx, i, &theory);
    let format = |v: f64| format!("{} {unit}", style::tick(v));
    let dots = Dots {
        title: title(ctx, &super::response::capitalise(&metric_words(name))),
        x_desc: format!("{} ({unit})", metric_words(name)),
        labels: ctx.strategies(),
        rows,
        theory_label: (!models.is_empty()).then(|| format!("theory ({models})")),
        reference: slo.map(|slo| Reference {
            at: slo.limit / scale,
            label: format!("SLO {}", slo.describe()),
            colour: style::SLO,
        }),
        format: &format,
    };
    draw(area, &dots)
}

/// Throughput at the single point against the offered rate (closed loops: the users' bound).
pub fn throughput<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, ctx: &Context<'_>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let i = ctx.slice[0];
    let rows = (0..ctx.strategies().len())
        .map(|s| {
            let e = ctx.result(i, s).map(|r| r.throughput).filter(|e| e.value.is_finite());
            Row {
                value: e.map(|e| {
                    if e.has_interval() { (e.value, e.ci_low, e.ci_high) } else { (e.value, e.value, e.value) }
                }),
                note: "no value",
                theory: None,
            }
        })
        .collect();
    // Open loop: the offered rate; closed loop: the users' throughput bound (along a ramp,
    // its mean over the first strategy's measured window).
    let reference = ctx.result(i, 0).map(|r| match &r.closed_loop {
        Some(c) if c.ramped => ("bound (mean over the run)", c.throughput_bound()),
        Some(c) => ("bound", c.throughput_bound()),
        None => ("offered", r.arrival_rate),
    });
    let format = |v: f64| format!("{}/s", style::tick(v));
    let dots = Dots {
        title: title(ctx, "Throughput"),
        x_desc: "throughput (requests/s)".into(),
        labels: ctx.strategies(),
        rows,
        theory_label: None,
        reference: reference.filter(|(_, at)| at.is_finite()).map(|(name, at)| Reference {
            at,
            label: format!("{name} {}/s", style::tick(at)),
            colour: style::THEORY,
        }),
        format: &format,
    };
    draw(area, &dots)
}

/// The percentage of requests rejected at the single point.
pub fn rejected<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, ctx: &Context<'_>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let i = ctx.slice[0];
    let rows = (0..ctx.strategies().len())
        .map(|s| Row {
            value: ctx.result(i, s).map(|r| r.rejected_fraction * 100.0).map(|v| (v, v, v)),
            note: "no value",
            theory: None,
        })
        .collect();
    let format = |v: f64| format!("{}%", style::tick(v));
    let dots = Dots {
        title: title(ctx, "Rejected requests"),
        x_desc: "rejected (% of arrivals)".into(),
        labels: ctx.strategies(),
        rows,
        theory_label: None,
        reference: None,
        format: &format,
    };
    draw(area, &dots)
}

/// "Mean response time at load 0.9 — mm4".
pub fn title(ctx: &Context<'_>, what: &str) -> String {
    format!("{what} {} — {}", ctx.focus_label_of(ctx.slice[0]), ctx.subject())
}

/// The distinct theory models of the strategies that have a value, joined: `M/M/c (Erlang C)`.
fn theory_models(ctx: &Context<'_>, i: usize, theory: &[Option<f64>]) -> String {
    let mut models: Vec<&str> = Vec::new();
    for (s, t) in theory.iter().enumerate() {
        if t.is_some() {
            if let Some(Some(v)) = ctx.results.points[i].theory.get(s) {
                if !models.contains(&v.model.as_str()) {
                    models.push(&v.model);
                }
            }
        }
    }
    models.join(", ")
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, d: &Dots<'_>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let n = d.rows.len();
    let top = d
        .rows
        .iter()
        .flat_map(|r| r.value.iter().map(|v| v.2).chain(r.theory))
        .chain(d.reference.iter().map(|r| r.at))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let x1 = if top > 0.0 { top * 1.12 } else { 1.0 };
    if n == 0 || !style::drawable(0.0, x1, false) {
        return style::empty(area, &d.title, style::OUT_OF_RANGE);
    }
    let legend_rows = usize::from(d.theory_label.is_some()) + usize::from(d.reference.is_some());
    // Room above the first row for the legend, so that it covers no dot.
    let extra = if legend_rows > 0 { n as f64 * 0.2 + 0.25 * legend_rows as f64 + 0.2 } else { 0.0 };
    let y1 = n as f64 + extra;
    let widest = d.labels.iter().map(|l| l.chars().count()).max().unwrap_or(8);
    let label_area = (widest as u32 * 11 + 24).clamp(90, 300);
    let labels = d.labels;
    // Row s is drawn from the top: its centre is at n − s − 0.5.
    let centre = |s: usize| n as f64 - s as f64 - 0.5;
    let mut chart = ChartBuilder::on(area)
        .caption(&d.title, (FAMILY, style::title_size(&d.title)))
        .margin(18)
        .x_label_area_size(62)
        .y_label_area_size(label_area)
        .build_cartesian_2d(0.0..x1, 0.0..y1)?;
    chart
        .configure_mesh()
        .x_desc(d.x_desc.as_str())
        .label_style((FAMILY, style::TICK))
        .axis_desc_style((FAMILY, style::LABEL))
        .bold_line_style(style::GRID)
        .light_line_style(TRANSPARENT)
        .disable_y_mesh()
        .y_labels(0)
        .x_label_formatter(&|v| style::tick(*v))
        .draw()?;
    // Strategy names beside their rows (plotters' own ticks would not land on the rows).
    let name_font = (FAMILY, style::LABEL).into_text_style(area).pos(Pos::new(HPos::Right, VPos::Center));
    for (s, label) in labels.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(0.0, centre(s)));
        area.draw_text(label, &name_font, (x - 10, y))?;
    }
    let text = (FAMILY, style::TICK).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Bottom));
    let note = (FAMILY, style::TICK).into_font().color(&style::THEORY).pos(Pos::new(HPos::Left, VPos::Center));
    for (s, row) in d.rows.iter().enumerate() {
        let y = centre(s);
        let colour = style::colour(s);
        let Some((v, lo, hi)) = row.value else {
            chart.draw_series(std::iter::once(Text::new(row.note, (x1 * 0.01, y), note.clone())))?;
            continue;
        };
        if hi > lo {
            let whisker = colour.stroke_width(3);
            chart.draw_series([
                PathElement::new(vec![(lo, y), (hi, y)], whisker),
                PathElement::new(vec![(lo, y - 0.1), (lo, y + 0.1)], whisker),
                PathElement::new(vec![(hi, y - 0.1), (hi, y + 0.1)], whisker),
            ])?;
        }
        chart.draw_series(std::iter::once(Circle::new((v, y), 7, colour.filled())))?;
        let words = if hi > lo {
            format!("{} [{}, {}]", (d.format)(v), style::tick(lo), style::tick(hi))
        } else {
            (d.format)(v)
        };
        // Above the dot, its whiskers and the theory bar.
        chart
            .draw_series(std::iter::once(EmptyElement::at((v, y + 0.24)) + Text::new(words, (0, -4), text.clone())))?;
    }
    if let Some(label) = &d.theory_label {
        let grey = style::THEORY.stroke_width(4);
        let bars: Vec<PathElement<(f64, f64)>> = d
            .rows
            .iter()
            .enumerate()
            .filter_map(|(s, r)| {
                Some(PathElement::new(vec![(r.theory?, centre(s) - 0.22), (r.theory?, centre(s) + 0.22)], grey))
            })
            .collect();
        chart
            .draw_series(bars)?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x + 12, y - 9), (x + 12, y + 9)], grey));
    }
    if let Some(r) = &d.reference {
        style::dashed_line(&mut chart, vec![(r.at, 0.0), (r.at, n as f64)], r.colour, r.label.clone())?;
    }
    if legend_rows > 0 {
        style::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    }
    Ok(())
}
