//! The data of the HTML report's interactive charts: the results reduced to what
//! `assets/report.js` draws (every point of the grid, so the reader can pick any slice of a
//! multi-axis sweep), embedded in the page as JSON. The script and its style sheet are
//! compiled in, so the report stays one file that works offline.

use serde_json::{Value, json};

use super::findings::Findings;
use crate::plot::{Context, metric, metric_words, response_metrics};
use crate::results::SweepResults;
use crate::stats::Estimate;

/// The script that draws the interactive charts from the embedded JSON.
pub const SCRIPT: &str = include_str!("../../assets/report.js");
/// The report's style sheet (phone-width layout included).
pub const STYLE: &str = include_str!("../../assets/report.css");

/// The metrics every point carries, beyond the response metrics: (key, words, unit).
const OTHER_METRICS: [(&str, &str, &str); 2] =
    [("throughput", "throughput", "req/s"), ("utilisation", "cluster utilisation", "fraction")];

fn estimate(e: Estimate) -> Value {
    json!([e.value, e.ci_low, e.ci_high])
}

/// The JSON the script reads (NaN and infinities are written as `null`). Keys are sorted by
/// serde_json's map, so the same results give the same bytes.
pub fn data(r: &SweepResults, findings: &Findings) -> Value {
    let ctx = Context::new(r);
    let response = response_metrics(r);
    let mut metrics: Vec<Value> =
        response.iter().map(|m| json!({"key": m, "label": metric_words(m), "unit": "s", "band": true})).collect();
    metrics.extend(
        OTHER_METRICS.iter().map(|(key, label, unit)| json!({"key": key, "label": label, "unit": unit, "band": true})),
    );
    let points: Vec<Value> = r
        .points
        .iter()
        .map(|p| {
            let results: Vec<Value> = p
                .results
                .iter()
                .enumerate()
                .map(|(s, res)| {
                    let mut m = serde_json::Map::new();
                    for key in &response {
                        if let Some(e) = metric(res, key) {
                            m.insert((*key).to_string(), estimate(e));
                        }
                    }
                    m.insert("throughput".into(), estimate(res.throughput));
                    m.insert("utilisation".into(), estimate(res.utilisation));
                    m.insert("load".into(), json!(res.load));
                    m.insert("saturated".into(), json!(res.saturated));
                    let theory = p.theory.get(s).and_then(|t| t.as_ref());
                    m.insert("theory".into(), json!(theory.map(|t| t.mean_response)));
                    m.insert("theory_model".into(), json!(theory.map(|t| t.model.clone())));
                    Value::Object(m)
                })
                .collect();
            json!({"values": p.values, "results": results})
        })
        .collect();
    let axes: Vec<Value> = r.axes.iter().map(|a| json!({"path": a.path, "values": a.values})).collect();
    let queues = ctx.as_ref().map_or(Value::Null, queues);
    json!({
        "strategies": r.strategies,
        "axes": axes,
        "x_axis": ctx.as_ref().map(|c| c.x_axis),
        "x_label": ctx.as_ref().map(|c| c.x_label()),
        "metrics": metrics,
        "points": points,
        "slo": findings.slo.as_ref().map(|s| json!({"metric": s.metric, "limit": s.limit, "text": s.describe()})),
        "queues": queues,
    })
}

/// The number-in-system series of the per-load charts' point, for the teaching animation
/// (each backend's queue replayed, strategies side by side): `null` without series, or with
/// more backends than a panel can show as queues.
fn queues(ctx: &Context<'_>) -> Value {
    let series = crate::plot::timeseries::chosen(ctx);
    let Some(first) = series.first() else { return Value::Null };
    if first.backends.is_empty() || first.cluster_size() > crate::plot::timeseries::MAX_BACKENDS {
        return Value::Null;
    }
    let strategies: Vec<Value> = series
        .iter()
        .map(|t| {
            let saturated = ctx
                .results
                .points
                .iter()
                .find(|p| p.index == t.point)
                .is_some_and(|p| p.results.iter().any(|r| r.strategy == t.strategy && r.saturated));
            json!({"strategy": t.strategy, "series": t.series, "saturated": saturated})
        })
        .collect();
    let mut queues = json!({
        "load": first.load,
        "interval": first.interval,
        "samples": first.series.first().map_or(0, Vec::len),
        "backends": first.backends,
        "strategies": strategies,
    });
    // Along a ramp, the samples sit on the run's clock from the measurement's start.
    if let Some(start) = first.start {
        queues["start"] = json!(start);
    }
    queues
}

/// The data as the body of a `<script type="application/json">` element: `</` is escaped so
/// that no label can end the element early.
pub fn data_script(r: &SweepResults, findings: &Findings) -> String {
    data(r, findings).to_string().replace("</", "<\\/")
}
