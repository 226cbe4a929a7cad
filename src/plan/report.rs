//! The plan report: `plan.json`, the chart of the SLO metric against the varied quantity
//! (`charts/plan_METRIC.png` and `.svg`), `report.html` (self-contained) and `report.md`,
//! each written atomically.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::prelude::*;

use super::PlanResults;
use super::text::{json, notes, recommendation, table};
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
         content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&heading(p))
    );
    h += &format!("<h1>{}</h1>\n<p class=\"lead\">{}</p>\n", escape(&heading(p)), escape(&question(p)));
    h += &format!("<p><strong>{}</strong></p>\n", escape(&recommendation(p)));
    h += "<table>\n<tr><th>strategy</th><th>minimum</th><th>";
    h += &escape(&format!("{} at minimum", p.slo.metric_name()));
    h += "</th><th>meets the SLO up to (req/s, 95 % interval)</th></tr>\n";
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
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&s.strategy),
            escape(&minimum),
            escape(&metric),
            escape(&headroom)
        );
    }
    h += "</table>\n";
    let notes = notes(p);
    if !notes.is_empty() {
        h += "<ul>\n";
        for n in notes {
            h += &format!("<li>{}</li>\n", escape(&n));
        }
        h += "</ul>\n";
    }
    h += &format!(
        "<figure id=\"{}\">\n{}\n<figcaption><strong>{}.</strong> {}</figcaption>\n</figure>\n",
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

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;\
padding:0 1em;color:#222;line-height:1.5}table{border-collapse:collapse;margin:1em 0;font-size:.92em;display:block;\
overflow-x:auto}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}th{background:#f3f3f3}\
figure{margin:2em 0}figure svg{max-width:100%;height:auto;border:1px solid #eee}figcaption{font-size:.95em;color:#444}\
pre{background:#f6f6f6;padding:1em;overflow-x:auto}.lead{font-size:1.05em}";

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
    let all: Vec<Vec<(f64, f64, f64, f64)>> = (0..p.results.len()).map(|s| points(p, s)).collect();
    let values: Vec<f64> = all.iter().flatten().flat_map(|q| [q.1, q.2, q.3]).chain([p.slo.limit]).collect();
    let (unit, scale) = style::time_unit(values.iter().copied());
    let positive = values.iter().copied().filter(|v| v.is_finite() && *v > 0.0).map(|v| v / scale);
    let (lo, hi) = positive.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    let xs: Vec<f64> = all.iter().flatten().map(|q| q.0).collect();
    let (x0, x1) = match xs.iter().copied().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x))) {
        (a, b) if a.is_finite() => (a - 0.5, b + 0.5),
        _ => (0.0, 1.0),
    };
    let title = title(p);
    let y_desc = format!("{} ({unit})", metric_words(p.slo.metric));
    if xs.is_empty() {
        return style::empty(area, &title, "every size tried is saturated: nothing to show");
    }
    if !style::drawable(lo / 1.3, hi * 1.3, true) || !style::drawable(x0, x1, false) {
        return style::empty(area, &title, style::OUT_OF_RANGE);
    }
    let headroom = style::legend_headroom(p.results.len() + 1);
    let plot = Plot { p, all: &all, scale, x: (x0, x1), title: &title, y_desc: &y_desc };
    if hi / lo > 30.0 {
        plot.draw(area, (lo / 1.3..hi * 1.3 * headroom).log_scale())
    } else {
        plot.draw(area, 0.0..hi * 1.1 * headroom)
    }
}

struct Plot<'a> {
    p: &'a PlanResults,
    all: &'a [Vec<(f64, f64, f64, f64)>],
    scale: f64,
    x: (f64, f64),
    title: &'a str,
    y_desc: &'a str,
}

impl Plot<'_> {
    fn draw<DB: DrawingBackend, Y>(&self, area: &DrawingArea<DB, Shift>, y: Y) -> Result<()>
    where
        DB::ErrorType: 'static,
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
    {
        let mut chart = style::builder(area, self.title).build_cartesian_2d(self.x.0..self.x.1, y)?;
        // Whole numbers only on the x axis: the varied quantity is a count.
        chart
            .configure_mesh()
            .x_desc(self.p.vary.axis_label())
            .y_desc(self.y_desc)
            .label_style((style::FAMILY, style::TICK))
            .axis_desc_style((style::FAMILY, style::LABEL))
            .bold_line_style(style::GRID)
            .light_line_style(TRANSPARENT)
            .x_label_formatter(&|v| if (v - v.round()).abs() < 1e-9 { format!("{}", v.round()) } else { String::new() })
            .y_label_formatter(&|v| style::tick(*v))
            .draw()?;
        let k = self.all.len() as f64;
        for (s, points) in self.all.iter().enumerate() {
            // Strategies side by side at each size, so their bars do not hide each other.
            let shift = (s as f64 - (k - 1.0) / 2.0) * 0.08;
            let colour = style::colour(s);
            let line: Vec<(f64, f64)> = points.iter().map(|q| (q.0 + shift, q.1 / self.scale)).collect();
            style::strategy_line(&mut chart, s, &self.p.results[s].strategy, line, true)?;
            chart.draw_series(points.iter().map(|q| {
                let x = q.0 + shift;
                PathElement::new(vec![(x, q.2 / self.scale), (x, q.3 / self.scale)], colour.stroke_width(2))
            }))?;
        }
        let limit = self.p.slo.limit / self.scale;
        style::slo_line(
            &mut chart,
            vec![(self.x.0, limit), (self.x.1, limit)],
            format!("SLO {}", self.p.slo.describe()),
        )?;
        style::legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    }
}
