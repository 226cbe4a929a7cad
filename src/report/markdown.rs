//! `report.md`: the same content as the HTML report for Markdown readers, with the charts
//! linked as PNG files from `charts/`.

use super::RenderedChart;
use super::content::{over_time_table, overview, reproduce, results_table, summary_rows};
use super::findings::Findings;
use crate::results::SweepResults;

/// Escapes the characters that would break a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn render(r: &SweepResults, findings: &Findings, charts: &[RenderedChart]) -> String {
    let mut m = format!("# {}\n\n", r.title());
    if let Some(d) = &r.description {
        m += &format!("{d}\n\n");
    }
    m += &format!("## What was simulated\n\n{}\n\n| | |\n|---|---|\n", overview(r));
    for (k, v) in summary_rows(r) {
        m += &format!("| {} | {} |\n", cell(&k), cell(&v));
    }
    m += "\n## Key findings\n\n";
    for s in findings.sentences() {
        m += &format!("- {s}\n");
    }
    m += "\n## Charts\n\n";
    for c in charts {
        m += &format!("![{}](charts/{}.png)\n\n*{}.* {}\n\n", c.title, c.stem, c.title, c.caption);
    }
    let (header, rows) = results_table(r);
    m += "## Results\n\nTimes are response times (waiting plus service); intervals are 95 % confidence intervals.\n\n";
    m += &table(&header, &rows);
    if let Some((intro, header, rows)) = over_time_table(r) {
        m += &format!("\n## Over time\n\n{intro}\n\n");
        m += &table(&header, &rows);
    }
    m += "\n## How to reproduce\n\n";
    for (k, v) in reproduce(r) {
        m += &format!("- {k}: `{v}`\n");
    }
    m += &format!(
        "\n<details><summary>Experiment file as run</summary>\n\n```toml\n{}\n```\n\n</details>\n",
        r.config.trim_end()
    );
    m
}

/// A Markdown table: the header row, its rule, then one line per row (cells escaped).
fn table(header: &[String], rows: &[Vec<String>]) -> String {
    let line = |cells: &[String]| format!("| {} |\n", cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | "));
    let mut out = line(header);
    out += &format!("|{}\n", "---|".repeat(header.len()));
    for row in rows {
        out += &line(row);
    }
    out
}
