//! Per-worker utilisation (CPU used by each worker process, as `top` shows it) at the report
//! load: one bar per worker of every backend simulated
//! with explicit workers (cores, I/O, gthread/gevent, accept or lifecycle settings), one
//! colour per strategy, grouped by backend and labelled with that backend's p99. It shows
//! how evenly the kernel hands connections to workers: a shared queue spreads them, epoll's
//! LIFO wake-up piles them on the busiest worker (gunicorn #2670), `reuse_port` hashes them.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::bars;
use super::style;
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
    let mut chart = bars::axes(
        style::builder(area, &title).margin_bottom(36),
        width_x,
        top,
        "worker (grouped by backend)",
        "CPU used (cores, as top shows it)",
    )?;
    for (name, start, end) in &groups {
        let b = first.backends.iter().position(|m| &m.name == name).unwrap_or(0);
        let p99s: Vec<String> =
            results.iter().filter_map(|r| r.backends[b].p99).filter(|p| p.is_finite()).map(format_duration).collect();
        let p99 = (!p99s.is_empty()).then(|| format!("p99 {}", p99s.join(" / ")));
        let lines: Vec<&str> = std::iter::once(name.as_str()).chain(p99.as_deref()).collect();
        bars::names_under(area, &chart, (start + end) / 2.0, &lines)?;
    }
    for (s, r) in results.iter().enumerate() {
        let heights = slots.iter().filter_map(|&(b, w, x)| Some((x, *r.backends.get(b)?.workers.get(w)?)));
        bars::strategy_bars(&mut chart, s, results.len(), heights, style::colour(s).filled(), r.strategy.clone())?;
    }
    style::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    Ok(())
}
