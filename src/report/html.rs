//! `report.html`: one self-contained file (inline CSS and SVG, no external reference at
//! all), so it can be mailed, attached to a ticket or opened offline.

use super::RenderedChart;
use super::content::{overview, reproduce, results_table, summary_rows};
use super::findings::Findings;
use crate::results::SweepResults;

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;\
padding:0 1em;color:#222;line-height:1.5}h1{margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;\
margin-top:2em}table{border-collapse:collapse;margin:1em 0;font-size:.92em}th,td{border:1px solid #ccc;padding:.3em .6em;\
text-align:left;vertical-align:top}th{background:#f3f3f3}tr.saturated td{color:#888}figure{margin:2em 0}\
figure svg{max-width:100%;height:auto;border:1px solid #eee}figcaption{font-size:.95em;color:#444}\
pre{background:#f6f6f6;padding:1em;overflow-x:auto}code{background:#f3f3f3;padding:0 .2em}.lead{font-size:1.05em}";

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The SVG document as an inline element: without an XML declaration, and without the
/// `xmlns` attribute, which HTML does not need (so the file holds no URL at all).
pub(crate) fn inline_svg(svg: &str) -> String {
    let start = svg.find("<svg").unwrap_or(0);
    svg[start..].replacen(" xmlns=\"http://www.w3.org/2000/svg\"", "", 1)
}

pub fn render(r: &SweepResults, findings: &Findings, charts: &[RenderedChart]) -> String {
    let mut h = String::new();
    let title = format!("lbsim report: {}", r.title());
    h += &format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    h += &format!("<h1>{}</h1>\n", escape(r.title()));
    if let Some(d) = &r.description {
        h += &format!("<p class=\"lead\">{}</p>\n", escape(d));
    }
    h += "<h2>What was simulated</h2>\n";
    h += &format!("<p>{}</p>\n<table>\n", escape(&overview(r)));
    for (k, v) in summary_rows(r) {
        h += &format!("<tr><th>{}</th><td>{}</td></tr>\n", escape(&k), escape(&v));
    }
    h += "</table>\n<h2>Key findings</h2>\n<ul>\n";
    for s in findings.sentences() {
        h += &format!("<li>{}</li>\n", escape(&s));
    }
    h += "</ul>\n<h2>Charts</h2>\n";
    for c in charts {
        h += &format!(
            "<figure id=\"{}\">\n{}\n<figcaption><strong>{}.</strong> {}</figcaption>\n</figure>\n",
            escape(&c.stem),
            inline_svg(&c.svg),
            escape(&c.title),
            escape(&c.caption)
        );
    }
    let (header, rows) = results_table(r);
    h += "<h2>Results</h2>\n<p>Times are response times (waiting plus service); intervals are 95 % confidence \
          intervals. Saturated rows describe a transient, not a steady state.</p>\n<table>\n<tr>";
    for c in &header {
        h += &format!("<th>{}</th>", escape(c));
    }
    h += "</tr>\n";
    for row in rows {
        let saturated = row.last().is_some_and(|n| !n.is_empty());
        h += if saturated { "<tr class=\"saturated\">" } else { "<tr>" };
        for c in row {
            h += &format!("<td>{}</td>", escape(&c));
        }
        h += "</tr>\n";
    }
    h += "</table>\n";
    if let Some((intro, header, rows)) = super::content::over_time_table(r) {
        h += &format!("<h2>Over time</h2>\n<p>{}</p>\n<table>\n<tr>", escape(&intro));
        for c in &header {
            h += &format!("<th>{}</th>", escape(c));
        }
        h += "</tr>\n";
        for row in rows {
            h += "<tr>";
            for c in row {
                h += &format!("<td>{}</td>", escape(&c));
            }
            h += "</tr>\n";
        }
        h += "</table>\n";
    }
    h += "<h2>How to reproduce</h2>\n<table>\n";
    for (k, v) in reproduce(r) {
        h += &format!("<tr><th>{}</th><td><code>{}</code></td></tr>\n", escape(&k), escape(&v));
    }
    h += &format!(
        "</table>\n<details><summary>Experiment file as run</summary>\n<pre>{}</pre>\n</details>\n</body>\n</html>\n",
        escape(&r.config)
    );
    h
}
