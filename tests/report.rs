//! Charts and reports from a sweep's results: valid PNG and SVG files with the expected
//! titles and legends, a self-contained HTML report, byte-for-byte reproducible output.

mod common;

use std::path::{Path, PathBuf};

use predicates::prelude::*;

use lbsim::results::SweepResults;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

fn fixture() -> SweepResults {
    let text = std::fs::read_to_string(data("results_fixture.json")).expect("fixture exists");
    serde_json::from_str(&text).expect("fixture parses")
}

/// Rebuilds `tests/data/results_fixture.json` by simulating `tests/data/fixture.toml`.
#[test]
#[ignore = "regenerates the checked-in fixture; run explicitly"]
fn regenerate_fixture() {
    let results = common::fixture::sweep_results(&data("fixture.toml"));
    let text = serde_json::to_string(&results).unwrap();
    std::fs::write(data("results_fixture.json"), text).unwrap();
}

/// The fixture with a second axis (`backends.web.workers` = 1, 2), the second half of the
/// grid twice as fast: enough for the heat map.
fn two_axis() -> SweepResults {
    let mut r = fixture();
    let base = r.points.clone();
    r.axes.push(lbsim::results::Axis { path: "backends.web.workers".into(), values: vec![1.0, 2.0] });
    r.points.clear();
    for p in &base {
        for (k, workers) in [1.0, 2.0].into_iter().enumerate() {
            let mut q = p.clone();
            q.index = p.index * 2 + k as u64;
            q.values.push(workers);
            for s in &mut q.results {
                for e in [&mut s.mean_response, &mut s.p99] {
                    e.value /= workers;
                    e.ci_low /= workers;
                    e.ci_high /= workers;
                }
            }
            r.points.push(q);
        }
    }
    r
}

fn lbsim() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("lbsim").unwrap()
}

/// Runs `lbsim report` on a copy of `results` in a fresh directory.
fn report_dir(results: &SweepResults, extra: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("results.json"), serde_json::to_string(results).unwrap()).unwrap();
    lbsim().arg("report").arg(dir.path()).args(extra).assert().success();
    dir
}

fn chart_stems(dir: &Path) -> Vec<String> {
    let mut stems: Vec<String> = std::fs::read_dir(dir.join("charts"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "png").then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    stems.sort();
    stems
}

/// Every text node of an SVG document, joined.
fn svg_text(svg: &str) -> String {
    let doc = roxmltree::Document::parse(svg).expect("SVG is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants().filter(|n| n.is_text()).map(|n| n.text().unwrap().trim()).collect::<Vec<_>>().join("\n")
}

#[test]
fn every_chart_is_a_valid_png_and_svg_with_title_and_legend() {
    let results = fixture();
    let dir = report_dir(&results, &[]);
    let stems = chart_stems(dir.path());
    assert_eq!(
        stems,
        ["ccdf", "in_system", "rejected", "response_mean_response", "response_p99", "throughput", "utilisation"]
    );
    for stem in &stems {
        let png = std::fs::read(dir.path().join(format!("charts/{stem}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{stem}.png magic");
        let image = image::load_from_memory(&png).expect("PNG decodes");
        assert!(image.width() >= 800 && image.height() >= 500, "{stem}.png is {}×{}", image.width(), image.height());
        // Text was drawn: a title row has dark pixels (the embedded font rendered).
        let rgb = image.to_rgb8();
        let dark = (0..40)
            .flat_map(|y| (0..image.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| rgb.get_pixel(x, y)[0] < 100)
            .count();
        assert!(dark > 50, "{stem}.png has no visible title text");
        let text = svg_text(&std::fs::read_to_string(dir.path().join(format!("charts/{stem}.svg"))).unwrap());
        assert!(text.contains("four_mm1"), "{stem}.svg title names the experiment:\n{text}");
        if stem != "in_system" {
            for label in &results.strategies {
                assert!(text.contains(label.as_str()), "{stem}.svg legend lacks {label}");
            }
        } else {
            assert!(text.contains("web-1") && text.contains("jsq"), "{stem}.svg names backends and strategies");
        }
    }
    let mean = svg_text(&std::fs::read_to_string(dir.path().join("charts/response_mean_response.svg")).unwrap());
    assert!(mean.contains("Mean response time vs load"));
    assert!(mean.contains("random: theory (independent queues)"), "theory overlay is in the legend");
    assert!(mean.contains("mean response time (ms)"), "y axis has its unit");
}

#[test]
fn two_axis_sweeps_get_a_heat_map() {
    let dir = report_dir(&two_axis(), &[]);
    assert!(chart_stems(dir.path()).contains(&"heatmap".to_string()));
    let text = svg_text(&std::fs::read_to_string(dir.path().join("charts/heatmap.svg")).unwrap());
    assert!(text.contains("workers per web backend") && text.contains("jsq"));
    if let Ok(keep) = std::env::var("LBSIM_KEEP_REPORT") {
        let _ = std::fs::copy(dir.path().join("charts/heatmap.png"), keep);
    }
}

#[test]
fn html_report_is_self_contained_and_holds_every_chart() {
    let dir = report_dir(&fixture(), &[]);
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    for forbidden in ["http://", "https://", "src=\"//", "href=\"//", "<link", "<script src", "<img", "import("] {
        assert!(!html.contains(forbidden), "report.html contains {forbidden}");
    }
    for stem in chart_stems(dir.path()) {
        assert!(
            html.contains(&format!("<figure id=\"{stem}\">\n<div class=\"chart-box\"><svg")),
            "report.html lacks the inline {stem} chart"
        );
    }
    assert_eq!(html.matches("<div class=\"chart-box\"><svg").count(), 7);
    for expected in ["Key findings", "How to reproduce", "p99 ≤ 150ms", "jsq", "lbsim sweep tests/data/fixture.toml"]
    {
        assert!(html.contains(expected), "report.html lacks {expected}");
    }
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("![Mean response time vs load — four_mm1](charts/response_mean_response.png)"));
}

/// The interactive charts read every point of the grid (all slices) from the JSON embedded
/// in the page; the script that draws them is inline too (tested in a browser by
/// scripts/browser-test.sh).
#[test]
fn html_report_embeds_the_interactive_charts_data_and_script() {
    let results = two_axis();
    let dir = report_dir(&results, &[]);
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    let start = "<script type=\"application/json\" id=\"lbsim-data\">";
    let from = html.find(start).expect("embedded data") + start.len();
    let to = from + html[from..].find("</script>").unwrap();
    let data: serde_json::Value = serde_json::from_str(&html[from..to]).expect("the embedded data is JSON");
    assert_eq!(data["strategies"], serde_json::json!(results.strategies));
    assert_eq!(data["points"].as_array().unwrap().len(), results.points.len(), "every slice is embedded");
    assert_eq!(data["axes"][1]["path"], "backends.web.workers");
    assert_eq!(data["x_axis"], 0);
    assert_eq!(data["slo"]["metric"], "p99");
    let first = &data["points"][0]["results"][0];
    let expected = &results.points[0].results[0];
    assert_eq!(first["mean_response"][0].as_f64().unwrap(), expected.mean_response.value);
    assert_eq!(first["saturated"], expected.saturated);
    // The queue animation's series: one per strategy, each backend's number in system.
    let queues = &data["queues"];
    assert_eq!(queues["strategies"].as_array().unwrap().len(), results.strategies.len());
    assert_eq!(queues["backends"][0], "web-1");
    assert_eq!(queues["samples"].as_u64().unwrap() as usize, results.timeseries[0].series[0].len());
    assert_eq!(queues["strategies"][0]["series"], serde_json::json!(results.timeseries[0].series));
    assert!(html.contains("<div id=\"interactive\">") && html.contains("drawAll();"), "the chart script is inline");
    assert_eq!(html.matches("<script").count(), 2, "the data and the script, nothing else");
}

#[test]
fn report_is_reproducible_byte_for_byte() {
    let dir = report_dir(&fixture(), &[]);
    let read_all = |dir: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(dir.join("charts")).unwrap().map(|e| e.unwrap().path()).collect();
        files.extend([dir.join("report.html"), dir.join("report.md")]);
        files.sort();
        files.into_iter().map(|p| (p.clone(), std::fs::read(p).unwrap())).collect()
    };
    let first = read_all(dir.path());
    lbsim().arg("report").arg(dir.path()).assert().success();
    let second = read_all(dir.path());
    assert_eq!(first.len(), second.len());
    for ((path, a), (_, b)) in first.iter().zip(&second) {
        assert!(a == b, "{} differs between two runs", path.display());
    }
    assert!(
        !std::fs::read_dir(dir.path().join("charts")).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp"))
    );
}

#[test]
fn slo_option_changes_the_findings_and_bad_slos_are_explained() {
    let dir = report_dir(&fixture(), &["--slo", "mean <= 40ms", "--load", "0.8"]);
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("jsq meets mean ≤ 40ms"), "{md}");
    assert!(md.contains("report load 0.8"), "{md}");
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(bad.path().join("results.json"), serde_json::to_string(&fixture()).unwrap()).unwrap();
    lbsim()
        .arg("report")
        .arg(bad.path())
        .args(["--slo", "p98 <= 1s"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("unknown metric \"p98\" (use mean, p50, p90, p95, p99 or p999)"));
    lbsim()
        .arg("report")
        .arg(bad.path())
        .args(["--slo", "p99 < 1s"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("expected \"METRIC <= DURATION\""));
    let empty = tempfile::tempdir().unwrap();
    lbsim()
        .arg("report")
        .arg(empty.path())
        .assert()
        .failure()
        .stderr(predicates::str::contains("results.json").and(predicates::str::contains("lbsim sweep")));
}

#[test]
fn a_report_title_replaces_the_experiment_name_as_heading() {
    let mut results = fixture();
    results.report.title = Some("Capacity review: checkout service".into());
    let dir = report_dir(&results, &[]);
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.contains("<h1>Capacity review: checkout service</h1>"));
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.starts_with("# Capacity review: checkout service\n"));
}

#[test]
fn write_all_lists_what_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let written = lbsim::report::write_all(&fixture(), dir.path()).unwrap();
    assert_eq!(written.len(), 7 * 2 + 2);
    assert!(written.iter().all(|p| p.exists()));
}

/// Simulates the `[sweep] load` values of `LBSIM_PREVIEW` (an experiment file) like a
/// one-axis sweep and writes its charts and reports into `LBSIM_PREVIEW_OUT`: for looking at
/// the charts of the example experiments without `lbsim sweep`.
#[test]
#[ignore = "a development aid; run explicitly with LBSIM_PREVIEW and LBSIM_PREVIEW_OUT set"]
fn preview_experiment() {
    let (Ok(file), Ok(out)) = (std::env::var("LBSIM_PREVIEW"), std::env::var("LBSIM_PREVIEW_OUT")) else {
        return;
    };
    let results = common::fixture::sweep_results(Path::new(&file));
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(Path::new(&out).join("results.json"), serde_json::to_string(&results).unwrap()).unwrap();
    lbsim::report::write_all(&results, Path::new(&out)).unwrap();
}

#[test]
fn charts_with_nothing_to_show_are_left_out() {
    let mut results = fixture();
    results.points.retain(|p| p.results.iter().all(|r| r.rejected == 0));
    results.timeseries.clear();
    let dir = report_dir(&results, &[]);
    let stems = chart_stems(dir.path());
    assert!(!stems.contains(&"rejected".to_string()), "no rejections, no rejected chart: {stems:?}");
    assert!(!stems.contains(&"in_system".to_string()), "no time series, no chart: {stems:?}");
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert_eq!(html.matches("<div class=\"chart-box\"><svg").count(), stems.len());
}

#[test]
fn a_single_point_without_axes_still_reports() {
    let mut results = fixture();
    results.axes.clear();
    results.points.truncate(1);
    results.points[0].values.clear();
    results.report.load = None;
    let dir = report_dir(&results, &[]);
    let stems = chart_stems(dir.path());
    assert!(stems.contains(&"response_mean_response".to_string()) && stems.contains(&"utilisation".to_string()));
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("jsq has the lowest mean response time"), "{md}");
}

#[test]
fn the_slo_is_drawn_on_the_percentile_chart_and_the_ccdf() {
    let dir = report_dir(&fixture(), &["--slo", "p99 <= 100ms"]);
    for stem in ["response_p99", "ccdf"] {
        let svg = std::fs::read_to_string(dir.path().join(format!("charts/{stem}.svg"))).unwrap();
        assert!(svg_text(&svg).contains("SLO p99 ≤ 100ms"), "{stem} has no SLO line");
    }
    // The mean chart shows no p99 limit.
    let mean = std::fs::read_to_string(dir.path().join("charts/response_mean_response.svg")).unwrap();
    assert!(!svg_text(&mean).contains("SLO"));
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("The dashed red corner is the SLO"), "{md}");
    // Without an SLO, no line.
    let mut without = fixture();
    without.report.slo = None;
    let plain = report_dir(&without, &[]);
    let svg = std::fs::read_to_string(plain.path().join("charts/ccdf.svg")).unwrap();
    assert!(!svg_text(&svg).contains("SLO"));
}

#[test]
fn the_heat_map_outlines_cells_that_miss_the_slo() {
    let mut r = two_axis();
    r.report.slo = Some("p99 <= 100ms".into());
    let dir = report_dir(&r, &[]);
    let svg = std::fs::read_to_string(dir.path().join("charts/heatmap.svg")).unwrap();
    assert!(svg_text(&svg).contains("red outline: misses SLO p99 ≤ 100ms"));
    // SLO red, as an outline (stroke), on some cells but not all.
    let outlined = svg.matches("stroke=\"#C81E1E\"").count();
    let cells = r.points.len() * r.strategies.len();
    assert!(outlined > 0 && outlined < cells, "{outlined} of {cells}");
    r.report.slo = None;
    let plain = report_dir(&r, &[]);
    let svg = std::fs::read_to_string(plain.path().join("charts/heatmap.svg")).unwrap();
    assert!(!svg.contains("#C81E1E"));
}

/// The fixture cut to one point without a sweep (as `experiments/mm4.toml`): index `k` of
/// the fixture's loads.
fn single_point(k: usize) -> SweepResults {
    let mut results = fixture();
    results.axes.clear();
    results.points = vec![results.points[k].clone()];
    results.points[0].values.clear();
    results.report.load = None;
    results
}

#[test]
fn a_single_point_gets_one_row_per_strategy_with_theory_not_a_point_axis() {
    let results = single_point(4);
    let dir = report_dir(&results, &[]);
    for stem in ["response_mean_response", "response_p99", "throughput"] {
        let text = svg_text(&std::fs::read_to_string(dir.path().join(format!("charts/{stem}.svg"))).unwrap());
        // The old chart: x axis "point" from −0.05 to 0.05.
        assert!(!text.contains("point") && !text.contains("0.05"), "{stem}:\n{text}");
        assert!(text.contains("at load 0.9"), "{stem} names its load:\n{text}");
        for label in &results.strategies {
            assert!(text.contains(label.as_str()), "{stem} lacks the row of {label}");
        }
    }
    let mean = svg_text(&std::fs::read_to_string(dir.path().join("charts/response_mean_response.svg")).unwrap());
    assert!(mean.contains("theory (independent queues, power-of-d mean field)"), "{mean}");
    // The value and its interval are written beside each dot.
    let jsq = &results.points[0].results[3].mean_response;
    let shown = format!("[{}, ", lbsim::units::significant(jsq.ci_low * 1e3, 3));
    assert!(mean.contains(&shown), "{shown} in\n{mean}");
    let p99 = svg_text(&std::fs::read_to_string(dir.path().join("charts/response_p99.svg")).unwrap());
    assert!(p99.contains("SLO p99 ≤ 150ms") && !p99.contains("theory"), "{p99}");
    // The theory value is printed, in the findings and the results table.
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    let random = results.points[0].theory[0].as_ref().unwrap().mean_response;
    let value = lbsim::units::format_duration(random);
    assert!(md.contains("random vs theory (independent queues): simulated mean response"), "{md}");
    assert!(md.contains(&format!("theory {value}")), "{value} in\n{md}");
    assert!(md.contains("| theory mean |") && md.contains(&format!("{value} (independent queues)")), "{md}");
    assert!(md.contains("At load 0.9, "), "{md}");
}

#[test]
fn per_load_charts_leave_out_or_mark_saturated_strategies() {
    // At load 0.95 the fixture's random is saturated, the others are not.
    let mut results = fixture();
    results.report.load = Some(0.95);
    let dir = report_dir(&results, &[]);
    let ccdf = svg_text(&std::fs::read_to_string(dir.path().join("charts/ccdf.svg")).unwrap());
    assert!(ccdf.contains("jsq") && !ccdf.contains("random"), "{ccdf}");
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(md.contains("Left out, saturated at this load (their distribution grows with the run's length): random."));
    let util = svg_text(&std::fs::read_to_string(dir.path().join("charts/utilisation.svg")).unwrap());
    assert!(util.contains("random (saturated)") && !util.contains("jsq (saturated)"), "{util}");
    assert!(md.contains("Hatched bars are saturated at this load (random)"));
}

#[test]
fn one_runaway_panel_does_not_flatten_the_others() {
    let mut results = fixture();
    for v in results.timeseries[0].series[0].iter_mut().skip(200) {
        *v = 400;
    }
    let dir = report_dir(&results, &[]);
    let text = svg_text(&std::fs::read_to_string(dir.path().join("charts/in_system.svg")).unwrap());
    assert!(text.contains("random — off scale, up to 400"), "{text}");
    let md = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    // round_robin peaks at 38: the axis stops at 57, not 400.
    assert!(md.contains("The scale stops at 57 so that the other panels stay readable: random reaches 400"), "{md}");
    // Without a runaway, one shared scale and no note.
    let plain = report_dir(&fixture(), &[]);
    let md = std::fs::read_to_string(plain.path().join("report.md")).unwrap();
    assert!(!md.contains("The scale stops"));
}

#[test]
fn report_load_moves_the_requests_over_time_chart_too() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    lbsim().arg("sweep").arg(data("sweep_small.toml")).arg("--out").arg(&out).arg("--quiet").assert().success();
    let title = |out: &Path| {
        let svg = std::fs::read_to_string(out.join("charts/in_system.svg")).unwrap();
        svg_text(&svg).lines().find(|l| l.starts_with("Requests in each backend")).unwrap_or_default().to_string()
    };
    assert!(title(&out).contains("at load 0.8"), "{}", title(&out));
    lbsim().arg("report").arg(&out).args(["--load", "0.5"]).assert().success();
    assert!(title(&out).contains("at load 0.5"), "{}", title(&out));
    let ccdf = svg_text(&std::fs::read_to_string(out.join("charts/ccdf.svg")).unwrap());
    assert!(ccdf.contains("at load 0.5"));
    // Without the journal the chart stays where the sweep recorded it, and says so.
    std::fs::remove_file(out.join("journal.jsonl")).unwrap();
    lbsim()
        .arg("report")
        .arg(&out)
        .args(["--load", "0.5"])
        .assert()
        .success()
        .stderr(predicate::str::contains("keeps the sweep's load"));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("The sweep recorded these series at load 0.8, not at the other per-load charts' load 0.5"));
}
