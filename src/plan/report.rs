//! The plan report: `plan.json`, the chart of the SLO metric against the varied quantity
//! (`charts/plan_METRIC.png` and `.svg`), `report.html` (self-contained) and `report.md`,
//! each written atomically.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::PlanResults;
use super::cost::{Alternative, Comparison};
use super::text::{comparison_json, cost_recommendation, cost_sentences, json, money, notes, recommendation, table};
use crate::plot::response::{Line, MetricChart, draw_metric};
use crate::plot::{Figure, Meta, figure, metric_words, style};
use crate::report::html::{escape, inline_svg};
use crate::report::write_atomic;
use crate::units::format_duration;

/// Writes the plan report into `out_dir` and returns the paths written. `command` is the
/// command line, shown under "How to reproduce".
pub fn write(plan: &PlanResults, out_dir: &Path, command: &[String]) -> Result<Vec<PathBuf>> {
    let charts = out_dir.join("charts");
    std::fs::create_dir_all(&charts).with_context(|| format!("creating {}", charts.display()))?;
    let figure = chart(plan);
    let svg = figure.svg()?;
    let png = figure.png()?;
    let png_path = charts.join(format!("{}.png", figure.stem));
    let svg_path = charts.join(format!("{}.svg", figure.stem));
    write_atomic(&png_path, &png)?;
    write_atomic(&svg_path, svg.as_bytes())?;
    let json_path = out_dir.join("plan.json");
    write_atomic(&json_path, (serde_json::to_string_pretty(&json(plan))? + "\n").as_bytes())?;
    let md_path = out_dir.join("report.md");
    write_atomic(&md_path, markdown(plan, &figure, command).as_bytes())?;
    let html_path = out_dir.join("report.html");
    write_atomic(&html_path, html(plan, &figure, &svg, command).as_bytes())?;
    Ok(vec![png_path, svg_path, json_path, md_path, html_path])
}

fn heading(p: &PlanResults) -> String {
    format!("Capacity plan: {}", p.experiment)
}

fn question(p: &PlanResults) -> String {
    format!(
        "The smallest {} that meets {} at {} req/s with 95 % confidence, per strategy, and how far the traffic can \
         grow at that size before the SLO is missed.",
        p.vary.axis_label(),
        p.slo.describe(),
        crate::units::significant(p.rate, 4)
    )
}

fn markdown(p: &PlanResults, figure: &Figure<'_>, command: &[String]) -> String {
    let mut m = format!("# {}\n\n{}\n\n", heading(p), question(p));
    m += &format!("{}\n\n", recommendation(p));
    m += "```\n";
    m += &table(p);
    m += "```\n\n";
    m += &format!("![{}](charts/{}.png)\n\n*{}*\n\n", figure.title, figure.stem, figure.caption);
    m += "## How to reproduce\n\n";
    m += &format!("```sh\n{}\n```\n", shell_words(command));
    m
}

fn html(p: &PlanResults, figure: &Figure<'_>, svg: &str, command: &[String]) -> String {
    let mut h = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n",
        escape(&heading(p)),
        crate::report::interactive::STYLE.trim_end()
    );
    h += &format!("<h1>{}</h1>\n<p class=\"lead\">{}</p>\n", escape(&heading(p)), escape(&question(p)));
    h += &format!("<p><strong>{}</strong></p>\n", escape(&recommendation(p)));
    h += "<div class=\"scroll\"><table>\n<tr><th>strategy</th><th>minimum</th><th>";
    h += &escape(&format!("{} at minimum", p.slo.metric_name()));
    h += &format!("</th><th>P(response &gt; {})</th>", escape(&format_duration(p.slo.limit)));
    h += "<th>meets the SLO up to (req/s, 95 % interval)</th></tr>\n";
    for s in &p.results {
        let at = s.sizes.iter().find(|e| Some(e.value) == s.minimum);
        let metric = at.map_or_else(
            || "—".to_string(),
            |e| {
                format!(
                    "{} [{}, {}]",
                    format_duration(e.metric.value),
                    format_duration(e.metric.ci_low),
                    format_duration(e.metric.ci_high)
                )
            },
        );
        let headroom = match (s.headroom_rate, s.headroom_rate_ci95) {
            (Some(r), Some([lo, hi])) => format!(
                "{} [{}, {}]",
                crate::units::significant(r, 4),
                crate::units::significant(lo, 4),
                crate::units::significant(hi, 4)
            ),
            _ => "—".into(),
        };
        let minimum = s.minimum.map_or_else(|| format!("none up to {}", s.bound), |m| m.to_string());
        h += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&s.strategy),
            escape(&minimum),
            escape(&metric),
            escape(&crate::report::content::over_slo_text(s.at_minimum.as_ref().and_then(|r| r.over_slo))),
            escape(&headroom)
        );
    }
    h += "</table></div>\n";
    let notes = notes(p);
    if !notes.is_empty() {
        h += "<ul>\n";
        for n in notes {
            h += &format!("<li>{}</li>\n", escape(&n));
        }
        h += "</ul>\n";
    }
    h += &format!(
        "<figure id=\"{}\">\n<div class=\"chart-box\">{}</div>\n<figcaption><strong>{}.</strong> {}</figcaption>\n</figure>\n",
        escape(&figure.stem),
        inline_svg(svg),
        escape(&figure.title),
        escape(&figure.caption)
    );
    h += &format!(
        "<h2>How to reproduce</h2>\n<pre>{}</pre>\n<details><summary>Experiment file as planned (rate \
         applied)</summary>\n<pre>{}</pre>\n</details>\n</body>\n</html>\n",
        escape(&shell_words(command)),
        escape(&p.config)
    );
    h
}

/// The command line, quoted where a shell needs it.
fn shell_words(command: &[String]) -> String {
    command
        .iter()
        .map(|w| {
            if w.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,".contains(c)) {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Points (x, value, low, high) of strategy `s`: the simulated, unsaturated sizes.
fn points(p: &PlanResults, s: usize) -> Vec<(f64, f64, f64, f64)> {
    p.results[s]
        .sizes
        .iter()
        .filter(|e| e.replications > 0 && !e.saturated && e.metric.value.is_finite() && e.metric.value > 0.0)
        .map(|e| {
            let (lo, hi) = if e.metric.has_interval() {
                (e.metric.ci_low, e.metric.ci_high)
            } else {
                (e.metric.value, e.metric.value)
            };
            (f64::from(e.value), e.metric.value, lo, hi)
        })
        .collect()
}

/// The chart of the SLO metric against the varied quantity, with the SLO line.
pub fn chart(p: &PlanResults) -> Figure<'_> {
    let words = metric_words(p.slo.metric);
    let legend: Vec<String> =
        p.results.iter().map(|s| s.strategy.clone()).chain([format!("SLO {}", p.slo.describe())]).collect();
    let left_out: Vec<String> = p
        .results
        .iter()
        .filter_map(|s| {
            let v: Vec<String> = s.sizes.iter().filter(|e| e.saturated).map(|e| e.value.to_string()).collect();
            (!v.is_empty()).then(|| format!("{} at {}", s.strategy, v.join(", ")))
        })
        .collect();
    let mut caption = format!(
        "The {words} at {} req/s against the number of {}, one line per strategy, with 95 % confidence intervals \
         (bars) at each size the search evaluated; the dashed line is the SLO. The minimum is the first size whose \
         whole interval is below the line.",
        crate::units::significant(p.rate, 4),
        p.vary.axis_label()
    );
    if !left_out.is_empty() {
        caption += &format!(
            " Saturated sizes (offered load ≥ 1, or a backlog that grows) are left out: {}.",
            left_out.join("; ")
        );
    }
    let meta = Meta { stem: format!("plan_{}", p.slo.metric), title: title(p), caption, legend, size: style::SIZE };
    figure!(meta, |area| draw(area, p))
}

/// `p99 vs gunicorn backends at 300 req/s`.
fn title(p: &PlanResults) -> String {
    let what = match p.vary.knob {
        super::Knob::Count => format!("{} backends", p.vary.group),
        super::Knob::Workers => format!("workers per {} backend", p.vary.group),
    };
    format!("{} vs {what} at {} req/s", p.slo.metric_name(), crate::units::significant(p.rate, 4))
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &PlanResults) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let lines = (0..p.results.len())
        .map(|s| Line { label: p.results[s].strategy.clone(), colour: s, points: points(p, s) })
        .collect();
    let chart = MetricChart {
        title: title(p),
        x_desc: p.vary.axis_label(),
        metric: p.slo.metric,
        lines,
        theory: vec![],
        slo: Some(p.slo.clone()),
        bars: true,
    };
    draw_metric(area, &chart)
}

/// Writes the report of a comparison: one alternative without costs is exactly [`write`];
/// otherwise the cost answer first, then each alternative's table and chart
/// (`charts/plan_METRIC_N.png` for alternative N).
pub fn write_comparison(c: &Comparison, out_dir: &Path, command: &[String]) -> Result<Vec<PathBuf>> {
    if c.alternatives.len() == 1 && !c.has_costs() {
        return write(&c.alternatives[0].plan, out_dir, command);
    }
    let charts = out_dir.join("charts");
    std::fs::create_dir_all(&charts).with_context(|| format!("creating {}", charts.display()))?;
    let mut written = Vec::new();
    let first = &c.alternatives[0].plan;
    let heading = heading(first);
    let paths: Vec<String> = c.alternatives.iter().map(Alternative::label).collect();
    let question = format!(
        "The cheapest configuration that meets {} at {} req/s with 95 % confidence, per strategy, among: {}. Costs \
         are per hour, from each backend group's cost, the groups held as in the file included.",
        first.slo.describe(),
        crate::units::significant(first.rate, 4),
        paths.join("; ")
    );
    let sentences = cost_sentences(c);
    let recommend = cost_recommendation(c);
    let mut md = format!("# {heading}\n\n{question}\n\n**{recommend}**\n\n");
    let mut h = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n",
        escape(&heading),
        crate::report::interactive::STYLE.trim_end()
    );
    h += &format!("<h1>{}</h1>\n<p class=\"lead\">{}</p>\n", escape(&heading), escape(&question));
    h += &format!("<p><strong>{}</strong></p>\n", escape(&recommend));
    // The cost table: one row per strategy, one column per alternative.
    md += &format!("| strategy | {} |\n|---|{}\n", paths.join(" | "), "---|".repeat(paths.len()));
    h += "<div class=\"scroll\"><table>\n<tr><th>strategy</th>";
    for p in &paths {
        h += &format!("<th>{}</th>", escape(p));
    }
    h += "</tr>\n";
    for (s, choice) in c.choices.iter().enumerate() {
        let cells: Vec<String> = c
            .alternatives
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let r = &a.plan.results[s];
                let text = match (r.minimum, a.cost[s]) {
                    (Some(m), Some(cost)) => format!("{m} → {}", money(cost)),
                    (Some(m), None) => m.to_string(),
                    (None, _) => format!("none up to {}", r.bound),
                };
                if choice.cheapest == Some(i) { format!("{text} (cheapest)") } else { text }
            })
            .collect();
        md += &format!("| {} | {} |\n", choice.strategy, cells.join(" | "));
        h += &format!("<tr><td>{}</td>", escape(&choice.strategy));
        for cell in &cells {
            h += &format!("<td>{}</td>", escape(cell));
        }
        h += "</tr>\n";
    }
    md += "\n";
    h += "</table></div>\n<ul>\n";
    for sentence in &sentences {
        md += &format!("- {sentence}\n");
        h += &format!("<li>{}</li>\n", escape(sentence));
    }
    md += "\n";
    h += "</ul>\n";
    for (i, a) in c.alternatives.iter().enumerate() {
        let p = &a.plan;
        let mut figure = chart(p);
        figure.stem = format!("{}_{}", figure.stem, i + 1);
        let svg = figure.svg()?;
        let png_path = charts.join(format!("{}.png", figure.stem));
        let svg_path = charts.join(format!("{}.svg", figure.stem));
        write_atomic(&png_path, &figure.png()?)?;
        write_atomic(&svg_path, svg.as_bytes())?;
        written.extend([png_path, svg_path]);
        let title = format!("Alternative {}: {}", i + 1, a.label());
        md += &format!("## {title}\n\n```\n{}```\n\n", table(p));
        md += &format!("![{}](charts/{}.png)\n\n*{}*\n\n", figure.title, figure.stem, figure.caption);
        h += &format!("<h2>{}</h2>\n<pre>{}</pre>\n", escape(&title), escape(&table(p)));
        h += &format!(
            "<figure id=\"{}\">\n<div class=\"chart-box\">{}</div>\n<figcaption><strong>{}.</strong> {}</figcaption>\n</figure>\n",
            escape(&figure.stem),
            inline_svg(&svg),
            escape(&figure.title),
            escape(&figure.caption)
        );
    }
    md += "## How to reproduce\n\n";
    md += &format!("```sh\n{}\n```\n", shell_words(command));
    h += &format!(
        "<h2>How to reproduce</h2>\n<pre>{}</pre>\n<details><summary>Experiment file as planned (rate \
         applied)</summary>\n<pre>{}</pre>\n</details>\n</body>\n</html>\n",
        escape(&shell_words(command)),
        escape(&first.config)
    );
    let json_path = out_dir.join("plan.json");
    write_atomic(&json_path, (serde_json::to_string_pretty(&comparison_json(c))? + "\n").as_bytes())?;
    let md_path = out_dir.join("report.md");
    write_atomic(&md_path, md.as_bytes())?;
    let html_path = out_dir.join("report.html");
    write_atomic(&html_path, h.as_bytes())?;
    written.extend([json_path, md_path, html_path]);
    Ok(written)
}
