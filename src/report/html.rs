//! `report.html`: one self-contained file (inline CSS and SVG, no external reference at
//! all), so it can be mailed, attached to a ticket or opened offline.

use super::RenderedChart;
use super::content::{overview, reproduce, results_table, summary_rows};
use super::findings::Findings;
use super::interactive;
use crate::results::SweepResults;

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
         content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n",
        escape(&title),
        interactive::STYLE.trim_end()
    );
    h += &format!("<h1>{}</h1>\n", escape(r.title()));
    if let Some(d) = &r.description {
        h += &format!("<p class=\"lead\">{}</p>\n", escape(d));
    }
    h += "<h2>What was simulated</h2>\n";
    h += &format!("<p>{}</p>\n<div class=\"scroll\"><table>\n", escape(&overview(r)));
    for (k, v) in summary_rows(r) {
        h += &format!("<tr><th>{}</th><td>{}</td></tr>\n", escape(&k), escape(&v));
    }
    h += "</table></div>\n<h2>Key findings</h2>\n<ul>\n";
    for s in findings.sentences() {
        h += &format!("<li>{}</li>\n", escape(&s));
    }
    h += "</ul>\n<h2>Interactive charts</h2>\n<p class=\"hint\">Hover or tap a chart for its values; the buttons \
          show or hide strategies, switch the y axis between linear and logarithmic, and choose the slice of the \
          sweep drawn. Shaded bands are 95 % confidence intervals; × marks a saturated point.</p>\n\
          <div id=\"interactive\"><noscript>The interactive charts need JavaScript; the static charts below \
          show the same results.</noscript></div>\n<h2>Charts</h2>\n";
    for c in charts {
        h += &format!(
            "<figure id=\"{}\">\n<div class=\"chart-box\">{}</div>\n<figcaption><strong>{}.</strong> {}</figcaption>\n</figure>\n",
            escape(&c.stem),
            inline_svg(&c.svg),
            escape(&c.title),
            escape(&c.caption)
        );
    }
    let (header, rows) = results_table(r);
    h += "<h2>Results</h2>\n<p>Times are response times (waiting plus service); intervals are 95 % confidence \
          intervals. Saturated rows describe a transient, not a steady state.</p>\n<div class=\"scroll\"><table>\n<tr>";
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
    h += "</table></div>\n";
    if let Some((intro, header, rows)) = super::content::over_time_table(r) {
        h += &format!("<h2>Over time</h2>\n<p>{}</p>\n<div class=\"scroll\"><table>\n<tr>", escape(&intro));
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
        h += "</table></div>\n";
    }
    h += "<h2>How to reproduce</h2>\n<div class=\"scroll\"><table>\n";
    for (k, v) in reproduce(r) {
        h += &format!("<tr><th>{}</th><td><code>{}</code></td></tr>\n", escape(&k), escape(&v));
    }
    h += &format!(
        "</table></div>\n<details><summary>Experiment file as run</summary>\n<pre>{}</pre>\n</details>\n\
         <script type=\"application/json\" id=\"lbsim-data\">{}</script>\n<script>{}</script>\n</body>\n</html>\n",
        escape(&r.config),
        interactive::data_script(r, findings),
        interactive::SCRIPT.trim_end()
    );
    h
}
