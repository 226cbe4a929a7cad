//! Chart 4b: throughput against load, one line per strategy, with the offered rate as a
//! dashed reference: below saturation every strategy carries the offered traffic; above it
//! the lines flatten at what the cluster (or the strategy's busiest backend) can do.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::style;
use super::{Context, Figure, Meta, figure};

pub fn figures<'r>(ctx: &'r Context<'r>) -> Vec<Figure<'r>> {
    let mut legend = ctx.strategies().to_vec();
    legend.push(reference_name(ctx).into());
    let caption = if ramped(ctx) {
        "Completed requests per second of closed-loop users (each sends, waits for the response, thinks) \
         whose number N(t) follows a ramp, against the asymptotic bound min(N(t)/(D + Z), capacity/E[S]) \
         averaged over each run's measured window, dashed (the first strategy's window): the users change \
         along the ramp, so the bound at the peak would hold only on the stages at the peak. A line near the \
         bound has users who rarely queue; one below it, users waiting past the knee N* = \
         (D + Z)·capacity/E[S] on some stages."
            .to_string()
    } else if ctx.closed_loop() {
        "Completed requests per second of closed-loop users (each sends, waits for the response, thinks), \
         against the asymptotic bound min(N/(D + Z), capacity/E[S]), dashed: the lines follow N/(D + Z) while \
         users rarely queue and level off at the bottleneck's capacity past the knee N* = (D + Z)·capacity/E[S]."
            .to_string()
    } else {
        "Completed requests per second against offered load (saturated points included). Where a line \
         falls below the dashed offered rate, requests are being rejected or are piling up."
            .to_string()
    };
    if ctx.single() {
        let reference = if ramped(ctx) {
            "; the dashed line is the users' throughput bound min(N(t)/(D + Z), capacity/E[S]) averaged over the \
             measured run (the first strategy's), which no strategy can exceed"
        } else if ctx.closed_loop() {
            "; the dashed line is the users' throughput bound min(N/(D + Z), capacity/E[S]), which no strategy \
             can exceed"
        } else {
            "; the dashed line is the offered rate, which a strategy that keeps up carries"
        };
        let meta = Meta {
            stem: "throughput".into(),
            title: super::single::title(ctx, "Throughput"),
            caption: format!(
                "Completed requests per second of each strategy {}, with its 95 % confidence interval{reference}.",
                ctx.focus_label(),
            ),
            legend: vec![reference_name(ctx).into()],
            size: style::SIZE,
        };
        return vec![figure!(meta, |area| super::single::throughput(area, ctx))];
    }
    let meta = Meta {
        stem: "throughput".into(),
        title: format!("Throughput vs {} — {}", ctx.x_words(), ctx.subject()),
        caption,
        legend,
        size: style::SIZE,
    };
    vec![figure!(meta, |area| draw(area, ctx))]
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, ctx: &Context<'_>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let lines = ctx.all_series(|r| r.throughput.value);
    // Open loop: the offered rate; closed loop: the users' asymptotic bound (along a ramp,
    // its mean over the measured window).
    let offered = ctx.series(0, |r| match &r.closed_loop {
        Some(c) => c.throughput_bound(),
        None => r.arrival_rate,
    });
    let name = reference_name(ctx);
    let top = lines.iter().flatten().chain(&offered).map(|p| p.1).filter(|v| v.is_finite()).fold(0.0f64, f64::max);
    let (x0, x1) = style::padded(ctx.slice.iter().map(|&i| ctx.x(i)));
    let title = format!("Throughput vs {} — {}", ctx.x_words(), ctx.subject());
    if !style::drawable(0.0, top.max(1e-9) * 1.1, false) || !style::drawable(x0, x1, false) {
        return style::empty(area, &title, style::OUT_OF_RANGE);
    }
    let mut chart = style::builder(area, &title).build_cartesian_2d(x0..x1, 0.0..top.max(1e-9) * 1.1)?;
    style::mesh(&mut chart, &ctx.x_label(), "throughput (requests/s)")?;
    style::dashed_line(&mut chart, offered, style::THEORY, name.into())?;
    for (s, line) in lines.into_iter().enumerate() {
        style::strategy_line(&mut chart, s, &ctx.strategies()[s], line, true)?;
    }
    style::legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    Ok(())
}

/// The dashed reference line's name.
fn reference_name(ctx: &Context<'_>) -> &'static str {
    if ramped(ctx) {
        "bound (mean over the run)"
    } else if ctx.closed_loop() {
        "bound"
    } else {
        "offered"
    }
}

/// Whether the users of the charted results follow a ramp.
fn ramped(ctx: &Context<'_>) -> bool {
    ctx.result(ctx.slice[0], 0).and_then(|r| r.closed_loop.as_ref()).is_some_and(|c| c.ramped)
}
