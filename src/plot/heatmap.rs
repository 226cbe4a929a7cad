//! Chart 6: for sweeps over two axes, a heat map of the first charted metric (mean response
//! time by default) over the two axes, one panel per strategy, on one shared logarithmic
//! colour scale. Saturated cells are grey; with an SLO, cells that miss it are outlined in red.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{self, FAMILY};
use super::{Context, Figure, Meta, figure, metric, metric_words, response_metrics};

const PANEL_HEIGHT: u32 = 380;

/// The grid of one heat map: axis indices and their values.
struct Grid {
    x: usize,
    y: usize,
    xs: Vec<f64>,
    ys: Vec<f64>,
}

fn grid(ctx: &Context<'_>) -> Option<Grid> {
    let axes = &ctx.results.axes;
    let y = (0..axes.len()).find(|&k| k != ctx.x_axis)?;
    let (xs, ys) = (axes.get(ctx.x_axis)?.values.clone(), axes[y].values.clone());
    (xs.len() >= 2 && ys.len() >= 2).then_some(Grid { x: ctx.x_axis, y, xs, ys })
}

pub fn figures<'r>(ctx: &'r Context<'r>) -> Vec<Figure<'r>> {
    let Some(g) = grid(ctx) else { return vec![] };
    let name = response_metrics(ctx.results)[0];
    let rows = ctx.strategies().len().div_ceil(2) as u32;
    let meta = Meta {
        stem: "heatmap".into(),
        title: title(ctx, &g, name),
        caption: format!(
            "{} over {} and {}, one panel per strategy; darker is faster, on one logarithmic colour scale \
             shared by all panels (the bar on the right). Grey cells are saturated.",
            super::response::capitalise(&metric_words(name)),
            super::axis_short(&ctx.results.axes[g.x].path),
            super::axis_short(&ctx.results.axes[g.y].path)
        ),
        legend: ctx.strategies().to_vec(),
        size: (style::SIZE.0 + 100, 70 + rows * PANEL_HEIGHT),
    };
    let mut meta = meta;
    if let Some(slo) = ctx.slo() {
        meta.legend.push(format!("SLO {}", slo.describe()));
        meta.caption += &format!(" Cells outlined in red miss the SLO, {} (or are saturated).", slo.describe());
    }
    vec![figure!(meta, |area| draw(area, ctx, name))]
}

fn title(ctx: &Context<'_>, g: &Grid, name: &str) -> String {
    let a = &ctx.results.axes;
    format!(
        "{} by {} and {} — {}",
        super::response::capitalise(&metric_words(name)),
        super::axis_short(&a[g.x].path),
        super::axis_short(&a[g.y].path),
        ctx.results.experiment
    )
}

/// The value of `name` for strategy `s` at (x, y), `None` when saturated or missing. Other
/// axes are held at their first value.
fn value(ctx: &Context<'_>, g: &Grid, s: usize, x: f64, y: f64, name: &str) -> Option<f64> {
    let firsts: Vec<f64> = ctx.results.axes.iter().map(|a| a.values.first().copied().unwrap_or(f64::NAN)).collect();
    let p = ctx.results.points.iter().find(|p| {
        p.values.iter().enumerate().all(|(k, v)| {
            let want = if k == g.x {
                x
            } else if k == g.y {
                y
            } else {
                firsts[k]
            };
            *v == want
        })
    })?;
    let r = p.results.get(s)?;
    metric(r, name).map(|e| e.value).filter(|v| !r.saturated && v.is_finite() && *v > 0.0)
}

/// Viridis, sampled at five stops and interpolated: perceptually even and colour-blind safe.
fn viridis(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] =
        [(68., 1., 84.), (59., 82., 139.), (33., 145., 140.), (94., 201., 98.), (253., 231., 37.)];
    let t = t.clamp(0.0, 1.0) * 4.0;
    let k = (t.floor() as usize).min(3);
    let f = t - k as f64;
    let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    let (a, b) = (STOPS[k], STOPS[k + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, ctx: &Context<'_>, name: &str) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let Some(g) = grid(ctx) else { return Ok(()) };
    let n = ctx.strategies().len();
    let mut values = Vec::new();
    for s in 0..n {
        for &x in &g.xs {
            values.extend(g.ys.iter().filter_map(|&y| value(ctx, &g, s, x, y, name)));
        }
    }
    let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
    let (unit, scale) = style::time_unit(values.iter().copied());
    let shade = |v: f64| if hi > lo { (v.ln() - lo.ln()) / (hi.ln() - lo.ln()) } else { 0.5 };
    let title = title(ctx, &g, name);
    let body = area.titled(&title, (FAMILY, style::title_size(&title)))?;
    let (panels_area, bar_area) = body.split_horizontally(body.dim_in_pixel().0 - 130);
    let panels = panels_area.split_evenly((n.div_ceil(2), 2.min(n)));
    let (nx, ny) = (g.xs.len(), g.ys.len());
    let font = (FAMILY, style::TICK).into_font();
    let slo = ctx.slo();
    for (s, panel) in panels.iter().enumerate().take(n) {
        let mut chart = ChartBuilder::on(panel)
            .caption(&ctx.strategies()[s], (FAMILY, style::LABEL))
            .margin(10)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..nx as f64, 0.0..ny as f64)?;
        let (xs, ys) = (&g.xs, &g.ys);
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(super::axis_label(&ctx.results.axes[g.x].path))
            .y_desc(super::axis_label(&ctx.results.axes[g.y].path))
            .label_style((FAMILY, style::TICK))
            .axis_desc_style((FAMILY, style::TICK))
            .x_labels(nx * 2 + 1)
            .y_labels(ny * 2 + 1)
            .x_label_formatter(&|v| cell_label(*v, xs))
            .y_label_formatter(&|v| cell_label(*v, ys))
            .draw()?;
        for (i, &x) in g.xs.iter().enumerate() {
            for (j, &y) in g.ys.iter().enumerate() {
                let v = value(ctx, &g, s, x, y, name);
                let fill = v.map_or(style::SATURATED, |v| viridis(shade(v)));
                let (x0, y0) = (i as f64, j as f64);
                chart.draw_series(std::iter::once(Rectangle::new([(x0, y0), (x0 + 1.0, y0 + 1.0)], fill.filled())))?;
                if slo.as_ref().is_some_and(|slo| value(ctx, &g, s, x, y, slo.metric).is_none_or(|v| v > slo.limit)) {
                    let edge = [(x0 + 0.04, y0 + 0.04), (x0 + 0.96, y0 + 0.96)];
                    chart.draw_series(std::iter::once(Rectangle::new(edge, style::SLO.stroke_width(3))))?;
                }
                if nx * ny <= 64 {
                    let text = v.map_or("sat.".to_string(), |v| style::tick(v / scale));
                    let colour = if v.is_none_or(|v| shade(v) > 0.6) { BLACK } else { WHITE };
                    let style = font.clone().color(&colour).pos(Pos::new(HPos::Center, VPos::Center));
                    chart.draw_series(std::iter::once(Text::new(text, (x0 + 0.5, y0 + 0.5), style)))?;
                }
            }
        }
    }
    if let Some(slo) = &slo {
        // The SLO's name under the panels, for readers of the legend-less heat map.
        let (w, h) = panels_area.dim_in_pixel();
        let style = (FAMILY, style::TICK).into_font().color(&style::SLO);
        panels_area.draw_text(
            &format!("red outline: misses SLO {}", slo.describe()),
            &style,
            (w as i32 / 2 - 120, h as i32 - 18),
        )?;
    }
    colour_bar(&bar_area, lo / scale, hi / scale, unit)
}

/// The label of a tick at the centre of cell k: the k-th axis value; nothing elsewhere.
fn cell_label(v: f64, values: &[f64]) -> String {
    let k = v - 0.5;
    if (k - k.round()).abs() < 1e-6 && k >= 0.0 {
        values.get(k.round() as usize).map(|x| style::tick(*x)).unwrap_or_default()
    } else {
        String::new()
    }
}

fn colour_bar<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, lo: f64, hi: f64, unit: &str) -> Result<()>
where
    DB::ErrorType: 'static,
{
    if !(lo.is_finite() && hi.is_finite()) {
        return Ok(());
    }
    let hi = if hi > lo { hi } else { lo * 1.01 };
    if !style::drawable(lo, hi, true) {
        return Ok(());
    }
    let mut chart = ChartBuilder::on(area)
        .margin_top(60)
        .margin_bottom(60)
        .margin_right(40)
        .margin_left(10)
        .y_label_area_size(60)
        .caption(unit, (FAMILY, style::TICK))
        .build_cartesian_2d(0.0..1.0, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .label_style((FAMILY, style::TICK))
        .y_label_formatter(&|v| style::tick(*v))
        .draw()?;
    let steps = 60;
    let ratio = (hi / lo).powf(1.0 / f64::from(steps));
    chart.draw_series((0..steps).map(|k| {
        let (a, b) = (lo * ratio.powi(k), lo * ratio.powi(k + 1));
        Rectangle::new([(0.0, a), (1.0, b)], viridis((f64::from(k) + 0.5) / f64::from(steps)).filled())
    }))?;
    Ok(())
}
