//! Reports of a sweep: the charts (PNG + SVG in `charts/`), `report.html` (self-contained)
//! and `report.md`, all regenerated from [`SweepResults`] alone so that `lbsim report DIR`
//! can restyle them or change the SLO without simulating again.

pub(crate) mod content;
pub mod findings;
pub(crate) mod html;
pub(crate) mod interactive;
mod markdown;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::plot::{self, Context};
use crate::results::SweepResults;

/// A rendered chart, as the reports use it.
pub struct RenderedChart {
    pub stem: String,
    pub title: String,
    pub caption: String,
    pub svg: String,
}

/// Writes every chart (`charts/NAME.png` and `.svg`), `report.html` and `report.md` into
/// `out_dir`, each file atomically (temporary file, then rename), and returns their paths.
/// The output depends only on `results`: the same results give the same bytes.
pub fn write_all(results: &SweepResults, out_dir: &Path) -> Result<Vec<PathBuf>> {
    let charts_dir = out_dir.join("charts");
    std::fs::create_dir_all(&charts_dir).with_context(|| format!("creating {}", charts_dir.display()))?;
    let mut written = Vec::new();
    let mut rendered = Vec::new();
    let findings = findings::Findings::compute(results)?;
    if let Some(ctx) = Context::new(results) {
        for figure in plot::figures(&ctx) {
            let svg = figure.svg()?;
            let png = figure.png()?;
            let png_path = charts_dir.join(format!("{}.png", figure.stem));
            let svg_path = charts_dir.join(format!("{}.svg", figure.stem));
            write_atomic(&png_path, &png)?;
            write_atomic(&svg_path, svg.as_bytes())?;
            written.extend([png_path, svg_path]);
            rendered.push(RenderedChart { stem: figure.stem, title: figure.title, caption: figure.caption, svg });
        }
    }
    let html_path = out_dir.join("report.html");
    write_atomic(&html_path, html::render(results, &findings, &rendered).as_bytes())?;
    let md_path = out_dir.join("report.md");
    write_atomic(&md_path, markdown::render(results, &findings, &rendered).as_bytes())?;
    written.extend([html_path, md_path]);
    Ok(written)
}

/// Writes `bytes` to a temporary file beside `path` and renames it over `path`, so a reader
/// never sees a half-written file (and a failed write, a full disk say, leaves no temporary
/// file behind): [`crate::sweep::output::write_atomically`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::sweep::output::write_atomically(path, bytes)
}
