//! What both reports say, as plain text: the experiment in words, its summary table, the
//! results table and how to reproduce. `html.rs` and `markdown.rs` only format it.

use crate::results::SweepResults;
use crate::units::{format_duration, significant};

/// A paragraph that says what was simulated, for a reader who has not seen the file.
pub fn overview(r: &SweepResults) -> String {
    let s = &r.summary;
    let mut text = format!(
        "Requests arrive as {} and each needs {} of work on a speed-1 worker (mean {}, coefficient of \
         variation {}). They are spread over {} by each of {} balancing strategies ({}).",
        or_unknown(&s.arrivals),
        or_unknown(&s.service),
        format_duration(s.service_mean),
        significant(s.service_cv, 3),
        if s.backends.is_empty() { "the backends".to_string() } else { s.backends.join("; ") },
        r.strategies.len(),
        r.strategies.join(", ")
    );
    if !r.axes.is_empty() {
        let axes: Vec<String> = r.axes.iter().map(|a| format!("{} over {}", a.path, values(&a.values))).collect();
        text += &format!(" The sweep varies {}: {} points in all.", axes.join(" and "), r.points.len());
    }
    text += &format!(
        " Every point measures {} requests per replication after a warm-up of {}, with {} replication{}; \
         all strategies see the same arrivals (common random numbers).",
        s.requests,
        or_unknown(&s.warmup),
        s.replications,
        if s.replications == 1 { "" } else { "s" }
    );
    text
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() { "(not recorded)" } else { s }
}

fn values(v: &[f64]) -> String {
    v.iter().map(|x| significant(*x, 3)).collect::<Vec<_>>().join(", ")
}

/// The experiment's summary table: (row name, value).
pub fn summary_rows(r: &SweepResults) -> Vec<(String, String)> {
    let s = &r.summary;
    let mut rows = vec![
        ("Arrivals".to_string(), or_unknown(&s.arrivals).to_string()),
        (
            "Request sizes".to_string(),
            format!(
                "{} — mean {}, cv {}",
                or_unknown(&s.service),
                format_duration(s.service_mean),
                significant(s.service_cv, 3)
            ),
        ),
        ("Backends".to_string(), s.backends.join("; ")),
        ("Capacity".to_string(), format!("{} worker-seconds per second", significant(s.capacity, 4))),
        ("Strategies".to_string(), r.strategies.join(", ")),
    ];
    for a in &r.axes {
        rows.push((format!("Swept: {}", a.path), values(&a.values)));
    }
    rows.push((
        "Measurement".to_string(),
        format!("{} requests × {} replication(s), warm-up {}", s.requests, s.replications, or_unknown(&s.warmup)),
    ));
    rows
}

/// Header and rows of the full results table (one row per point and strategy).
pub fn results_table(r: &SweepResults) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header: Vec<String> = r.axes.iter().map(|a| a.path.clone()).collect();
    header.extend(["strategy", "load", "mean (95 % CI)"].map(String::from));
    // The closed-form mean beside the simulated one, wherever theory has one.
    let theory = r.points.iter().flat_map(|p| &p.theory).any(Option::is_some);
    if theory {
        header.push("theory mean".into());
    }
    header.extend(["p50", "p99"].map(String::from));
    // P(response > the SLO's limit), where the runs counted against the report's SLO.
    let limit = r.report.slo.as_deref().and_then(|s| crate::slo::Slo::parse(s).ok()).map(|s| s.limit);
    let over = |s: &crate::runner::StrategyResult| s.over_slo.filter(|o| Some(o.limit) == limit);
    let over_slo = r.points.iter().flat_map(|p| &p.results).any(|s| over(s).is_some());
    if let (true, Some(limit)) = (over_slo, limit) {
        header.push(format!("P(> {})", format_duration(limit)));
    }
    header.extend(["utilisation", "throughput/s", "rejected", "note"].map(String::from));
    // A figure that does not exist (no completed request, a window of no length) is "–", as
    // in `lbsim run`'s table, never NaN.
    use crate::output::figure;
    let time = |x: f64| figure(x, format_duration);
    let mut rows = Vec::new();
    for p in &r.points {
        for (k, s) in p.results.iter().enumerate() {
            let mut row: Vec<String> = p.values.iter().map(|v| significant(*v, 4)).collect();
            row.push(s.strategy.clone());
            row.push(significant(s.load, 3));
            let mean = &s.mean_response;
            row.push(if [mean.value, mean.ci_low, mean.ci_high].iter().all(|x| x.is_finite()) {
                format!("{} ({}–{})", time(mean.value), time(mean.ci_low), time(mean.ci_high))
            } else {
                time(mean.value)
            });
            if theory {
                row.push(match p.theory.get(k).and_then(Option::as_ref) {
                    Some(t) if t.mean_response.is_finite() => {
                        format!("{} ({})", format_duration(t.mean_response), t.model)
                    }
                    Some(_) => "unstable".into(),
                    None => "–".into(),
                });
            }
            row.push(time(s.p50.value));
            row.push(time(s.p99.value));
            if over_slo {
                row.push(over_slo_text(over(s)));
            }
            row.push(figure(s.utilisation.value, |u| format!("{}%", significant(u * 100.0, 3))));
            row.push(figure(s.throughput.value, |x| significant(x, 4)));
            row.push(format!("{}%", significant(s.rejected_fraction * 100.0, 2)));
            row.push(if s.saturated { "saturated".into() } else { String::new() });
            rows.push(row);
        }
    }
    (header, rows)
}

/// The "over time" table of runs that recorded a series around scheduled faults: mean
/// goodput (requests/s) before the first fault, while faults hold, just after (as long
/// again as they lasted) and long after (from three times their span after their end to
/// the end of the run), per point and strategy. `None` without such series.
pub fn over_time_table(r: &SweepResults) -> Option<(String, Vec<String>, Vec<Vec<String>>)> {
    fn series(s: &crate::runner::StrategyResult) -> Option<&crate::engine::RunSeries> {
        s.series.as_ref().filter(|x| !x.faults.is_empty())
    }
    let first = r.points.iter().flat_map(|p| &p.results).find_map(series)?;
    let start = first.faults.iter().map(|f| f[0]).fold(f64::INFINITY, f64::min);
    let end = first.faults.iter().map(|f| f[1]).fold(f64::NEG_INFINITY, f64::max);
    let span = end - start;
    let phases = [(0.0, start), (start, end), (end, end + span), (end + 3.0 * span, f64::INFINITY)];
    let d = |t: f64| format_duration(t);
    let intro = format!(
        "Goodput (requests completed successfully per second, mean over the windows of each phase) before the \
         faults (0–{}), while they hold ({}–{}), just after ({}–{}) and long after (from {} to the end of the run).",
        d(start),
        d(start),
        d(end),
        d(end),
        d(end + span),
        d(end + 3.0 * span)
    );
    let mut header: Vec<String> = r.axes.iter().map(|a| a.path.clone()).collect();
    header.extend(
        ["strategy", "offered/s", "before", "during", "after", "long after", "attempts/request"].map(String::from),
    );
    let mut rows = Vec::new();
    for p in &r.points {
        for s in &p.results {
            let Some(x) = series(s) else { continue };
            let mut row: Vec<String> = p.values.iter().map(|v| significant(*v, 4)).collect();
            row.push(s.strategy.clone());
            row.push(significant(s.arrival_rate, 4));
            // The last window with arrivals is cut short by the end of the traffic.
            let last = x.rows.iter().filter(|w| w.arrival_rate > 0.0).map(|w| w.t).fold(0.0, f64::max);
            for (a, b) in phases {
                let b = b.min(last);
                let inside: Vec<f64> =
                    x.rows.iter().filter(|w| w.t >= a && w.t + x.width <= b).map(|w| w.goodput).collect();
                row.push(if inside.is_empty() {
                    "–".into()
                } else {
                    significant(inside.iter().sum::<f64>() / inside.len() as f64, 3)
                });
            }
            row.push(s.attempts_per_request.map_or("1".into(), |a| significant(a, 3)));
            rows.push(row);
        }
    }
    Some((intro, header, rows))
}

/// P(response > limit) as `0.8% [0.7%, 0.9%]` (without brackets when no interval is honest),
/// `—` when not measured.
pub fn over_slo_text(o: Option<crate::runner::OverSlo>) -> String {
    let Some(o) = o else { return "—".into() };
    let pct = |x: f64| format!("{}%", significant(x * 100.0, 2));
    let e = o.fraction;
    if e.has_interval() { format!("{} [{}, {}]", pct(e.value), pct(e.ci_low), pct(e.ci_high)) } else { pct(e.value) }
}

/// How to reproduce: (what, value).
pub fn reproduce(r: &SweepResults) -> Vec<(String, String)> {
    vec![
        ("lbsim version".into(), r.lbsim_version.clone()),
        ("seed".into(), r.seed.to_string()),
        ("command".into(), r.command.join(" ")),
        ("regenerate this report".into(), "lbsim report DIR [--slo \"p99 <= 250ms\"] [--load 0.9]".into()),
    ]
}
