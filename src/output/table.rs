//! The table `lbsim run` prints: one row per strategy, times in one unit chosen from the data.

use std::fmt::Write;

use crate::runner::StrategyResult;
use crate::stats::Estimate;
use crate::units::{significant, unit_for};

/// What the table shows for a figure that does not exist (NaN: no completed request, or a
/// measurement window of no length, where rates and time averages are 0/0); the warnings
/// under the table say why.
pub const UNDEFINED: &str = "–";

/// `x` written by `show`, or [`UNDEFINED`] when it is not a finite number: a NaN or an
/// infinity never reaches the table.
pub fn figure(x: f64, show: impl Fn(f64) -> String) -> String {
    if x.is_finite() { show(x) } else { UNDEFINED.to_string() }
}

/// A plain-text table of results, aligned for a terminal.
pub fn results_table(results: &[StrategyResult]) -> String {
    let typical = results.iter().map(|r| r.mean_response.value).filter(|x| x.is_finite()).fold(f64::NAN, f64::min);
    let (unit, scale) = unit_for(typical);
    let time = |x: f64| figure(x, |x| significant(x / scale, 4));
    let with_ci = |e: &Estimate| {
        let half = e.half_width();
        // A half-width at rounding level means the sections were identical (a looped trace
        // replays the same traffic): show no interval rather than "± 0.00000000001".
        if e.value.is_finite() && half.is_finite() && half > 1e-9 * e.value.abs() {
            format!("{} ± {}", time(e.value), time(half))
        } else {
            time(e.value)
        }
    };
    let percent = |x: f64| figure(x, |x| format!("{:.1}%", x * 100.0));
    // Columns for failures and per-worker spread appear only when a result has them.
    let any_failed = results.iter().any(|r| r.failures.is_some());
    let any_workers = results.iter().any(|r| r.worker_utilisation.is_some());
    let mut header = vec![
        "strategy".to_string(),
        format!("mean ({unit})"),
        format!("p50 ({unit})"),
        format!("p99 ({unit})"),
        format!("p99.9 ({unit})"),
        format!("wait ({unit})"),
        "slowdown".to_string(),
        "util".to_string(),
        "in system".to_string(),
        "rejected".to_string(),
    ];
    if any_failed {
        header.push("failed".to_string());
        header.push("goodput/s".to_string());
    }
    if any_workers {
        header.push("worker util".to_string());
    }
    header.push(String::new());
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            let (lo, hi) = r.utilisation_range();
            // (A NaN range, no backend with a utilisation, fails the comparison.)
            let util = if hi - lo > 0.005 {
                format!("{} (backends {:.1}–{:.1}%)", percent(r.utilisation.value), lo * 100.0, hi * 100.0)
            } else {
                percent(r.utilisation.value)
            };
            let mut row = vec![
                r.strategy.clone(),
                with_ci(&r.mean_response),
                time(r.p50.value),
                time(r.p99.value),
                time(r.p999.value),
                time(r.mean_wait.value),
                figure(r.mean_slowdown.value, |x| significant(x, 3)),
                util,
                figure(r.mean_in_system.value, |x| significant(x, 3)),
                r.rejected.to_string(),
            ];
            if any_failed {
                match &r.failures {
                    Some(f) => {
                        let causes: Vec<String> =
                            f.by_cause.iter().filter(|(_, n)| **n > 0).map(|(c, n)| format!("{n} {c}")).collect();
                        row.push(if causes.is_empty() { "0".to_string() } else { causes.join(", ") });
                        row.push(figure(f.goodput.value, |x| significant(x, 4)));
                    }
                    None => {
                        row.push("0".to_string());
                        row.push(figure(r.throughput.value, |x| significant(x, 4)));
                    }
                }
            }
            if any_workers {
                row.push(match r.worker_utilisation {
                    Some(w) if w.max.is_finite() => format!("{:.1}–{:.1}%", w.min * 100.0, w.max * 100.0),
                    _ => String::new(),
                });
            }
            row.push(match (r.saturated, r.warnings.is_empty()) {
                (true, _) => "SATURATED".to_string(),
                (false, false) => "see below".to_string(),
                (false, true) => String::new(),
            });
            row
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).chain([header[c].chars().count()]).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut text = String::new();
        for (c, cell) in cells.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            if c == 0 {
                let _ = write!(text, "{cell}{}", " ".repeat(pad));
            } else {
                let _ = write!(text, "  {}{cell}", " ".repeat(pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&header);
    for row in &rows {
        line(row);
    }
    out
}

/// What closed-loop users measured, one line per strategy (empty for open-loop arrivals):
/// the throughput X with its interval, and the users' cycle N/X = response + think.
///
/// Headed "Closed loop (R = N/X − Z):" for a fixed population, where each line splits the
/// cycle N/X into response and think time; a ramped population has no one N, so its lines
/// give the throughput over the run and the ramp, under "Closed loop:".
pub fn closed_loop_lines(results: &[StrategyResult]) -> String {
    let fixed = results.iter().any(|r| r.closed_loop.as_ref().is_some_and(|c| crate::plot::ramp_words([c]).is_none()));
    let mut out = String::from(if fixed { "Closed loop (R = N/X − Z):\n" } else { "Closed loop:\n" });
    let mut any = false;
    for r in results {
        let Some(c) = &r.closed_loop else { continue };
        any = true;
        let throughput = format!(
            "  {}: throughput X = {} ± {}/s (carried load {:.3})",
            r.strategy,
            figure(r.throughput.value, |x| significant(x, 5)),
            figure(r.throughput.half_width(), |x| significant(x, 2)),
            r.load,
        );
        if let Some(ramp) = crate::plot::ramp_words([c]) {
            // N changes along the ramp: the run has no one cycle N/X, and its bound is the
            // instant bound's mean over the measured window (not the peak's).
            let _ = writeln!(
                out,
                "{throughput} averaged over the run, {ramp}; bound min(N(t)/(D + Z), X_max) averaged over the run {}/s",
                significant(c.throughput_bound(), 4)
            );
            continue;
        }
        let (unit, scale) = unit_for(c.cycle.value);
        let time = |x: f64| significant(x / scale, 4);
        let _ = writeln!(
            out,
            "{throughput}; cycle N/X = {} ± {} {unit} = response {} + think {} {unit}",
            time(c.cycle.value),
            time(c.cycle.half_width()),
            time(c.cycle.value - c.think),
            time(c.think),
        );
    }
    if any { out } else { String::new() }
}

/// Hedged requests, one line per strategy that hedges (empty otherwise): the delay and the
/// extra copies they cost.
pub fn hedging_lines(results: &[StrategyResult]) -> String {
    let mut out = String::new();
    for r in results {
        let Some(h) = &r.hedging else { continue };
        let _ = writeln!(
            out,
            "  {}: second copy after {}; {} copies for {} requests ({}%): amplification {}",
            r.strategy,
            crate::units::format_duration(h.delay),
            h.copies,
            r.requests,
            significant(100.0 * h.copies as f64 / r.requests as f64, 3),
            significant(h.amplification, 4),
        );
    }
    out
}

/// Cancelled attempts, one line per strategy whose runs cancelled some (empty otherwise).
pub fn cancel_lines(results: &[StrategyResult]) -> String {
    let mut out = String::new();
    for r in results {
        let Some(c) = &r.cancelled else { continue };
        if c.cancelled > 0 {
            let _ = writeln!(
                out,
                "  {}: {} attempts cancelled at their backend ({}% of requests): work not done",
                r.strategy,
                c.cancelled,
                significant(100.0 * c.fraction, 3),
            );
        }
    }
    out
}
