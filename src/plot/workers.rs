//! Per-worker utilisation (CPU used by each worker process, as `top` shows it) at the report
//! load: one bar per worker of every backend simulated
//! with explicit workers (cores, I/O, gthread/gevent, accept or lifecycle settings), one
//! colour per strategy, grouped by backend and labelled with that backend's p99. It shows
//! how evenly the kernel hands connections to workers: a shared queue spreads them, epoll's
//! LIFO wake-up piles them on the busiest worker (gunicorn #2670), `reuse_port` hashes them.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::style::{self, FAMILY};
use super::{Context, Figure, Meta, figure};
use crate::units::format_duration;

/// Beyond this many workers, bars would be slivers: the chart shows the first ones.
const MAX_WORKERS: usize = 64;

pub fn figures<'r>(ctx: &'r Context<'r>) -> Vec<Figure<'r>> {
    let workers: usize =
        ctx.result(ctx.focus, 0).map_or(0, |r| r.backends.iter().map(|b| b.workers.len()).sum::<usize>());
    if workers == 0 {
        return vec![];
    }
    let mut caption = format!(
        "CPU used by each worker process {} (a share of one core, as top shows it), one bar per strategy, \
         grouped by backend (its p99 below its name). Even bars: the work is spread evenly over the \
         workers; one tall bar and short ones: the kernel's accept piles connections on a few workers.",
        ctx.focus_label()
    );
    if workers > MAX_WORKERS {
        caption += &format!(" Only the first {MAX_WORKERS} of {workers} workers are shown.");
    }
    let meta = Meta {
        stem: "workers".into(),
        title: format!("Worker utilisation {} — {}", ctx.focus_label(), ctx.subject()),
        caption,
        legend: ctx.strategies().to_vec(),
        size: style::SIZE,
    };
    vec![figure!(meta, |area| draw(area, ctx))]
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, ctx: &Context<'_>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let results: Vec<_> = (0..ctx.strategies().len()).filter_map(|s| ctx.result(ctx.focus, s)).collect();
    let Some(first) = results.first() else { return Ok(()) };
    // (backend index, worker index) of every bar slot, in order, with a gap between backends.
    let mut slots: Vec<(usize, usize, f64)> = Vec::new();
    let mut groups: Vec<(String, f64, f64)> = Vec::new(); // (label, x start, x end)
    let mut x = 0.0;
    for (b, backend) in first.backends.iter().enumerate() {
        if backend.workers.is_empty() || slots.len() >= MAX_WORKERS {
            continue;
        }
        let start = x;
        for w in 0..backend.workers.len().min(MAX_WORKERS - slots.len()) {
            slots.push((b, w, x));
            x += 1.0;
        }
        groups.push((backend.name.clone(), start, x));
        x += 0.6;
    }
    let width_x = x.max(1.0);
    let top =
        results.iter().flat_map(|r| r.backends.iter().flat_map(|b| b.workers.iter().copied())).fold(1.0f64, f64::max)
            * style::legend_headroom(results.len());
    let title = format!("Worker utilisation {} — {}", ctx.focus_label(), ctx.subject());
    let mut chart = style::builder(area, &title).margin_bottom(36).build_cartesian_2d(0.0..width_x, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("worker (grouped by backend)")
        .y_desc("CPU used (cores, as top shows it)")
        .label_style((FAMILY, style::TICK))
        .axis_desc_style((FAMILY, style::LABEL))
        .bold_line_style(style::GRID)
        .light_line_style(TRANSPARENT)
        .disable_x_mesh()
        .x_labels(0)
        .y_label_formatter(&|v| if *v <= 1.0 + 1e-9 { style::tick(*v) } else { String::new() })
        .draw()?;
    let font = (FAMILY, style::TICK).into_text_style(area).pos(Pos::new(HPos::Center, VPos::Top));
    for (name, start, end) in &groups {
        let b = first.backends.iter().position(|m| &m.name == name).unwrap_or(0);
        let p99s: Vec<String> =
            results.iter().filter_map(|r| r.backends[b].p99).filter(|p| p.is_finite()).map(format_duration).collect();
        let (px, py) = chart.backend_coord(&((start + end) / 2.0, 0.0));
        area.draw_text(name, &font, (px, py + 8))?;
        if !p99s.is_empty() {
            area.draw_text(&format!("p99 {}", p99s.join(" / ")), &font, (px, py + 26))?;
        }
    }
    let width = 0.8 / results.len().max(1) as f64;
    for (s, r) in results.iter().enumerate() {
        let colour = style::colour(s);
        let bars = slots.iter().filter_map(move |&(b, w, x)| {
            let u = *r.backends.get(b)?.workers.get(w)?;
            let x0 = x + 0.1 + s as f64 * width;
            Some(Rectangle::new([(x0, 0.0), (x0 + width * 0.92, u)], colour.filled()))
        });
        chart
            .draw_series(bars)?
            .label(r.strategy.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 7), (x + 22, y + 7)], colour.filled()));
    }
    style::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    Ok(())
}
