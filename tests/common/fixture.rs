//! A realistic [`SweepResults`] built by running the library directly, so the charts and
//! reports can be developed and tested without `lbsim sweep`.

use std::path::Path;

use lbsim::config::ExperimentFile;
use lbsim::engine::sample_in_system;
use lbsim::experiment::{Experiment, Warmup};
use lbsim::results::{Axis, PointResults, ReportOptions, SweepResults, TheoryValue, TimeSeries};
use lbsim::runner::{backend_infos, run_strategy};
use lbsim::seed::RunSeed;
use lbsim::strategy::ParamValue;

/// Runs `file`'s `[sweep] load` values with every strategy, like a one-axis sweep would.
pub fn sweep_results(file: &Path) -> SweepResults {
    let base = ExperimentFile::read(file).expect("fixture file reads");
    let loads: Vec<f64> = base
        .item("sweep.load")
        .and_then(|i| i.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_float()).collect())
        .unwrap_or_default();
    let report_load = base.item("report.load").and_then(|i| i.as_float());
    let slo = base.item("report.slo").and_then(|i| i.as_str()).map(str::to_string);
    let experiment = base.clone().resolve().expect("fixture resolves");
    let mut points = Vec::new();
    for (index, load) in loads.iter().enumerate() {
        let mut file = base.clone();
        file.set_number("arrivals.load", *load).expect("load is settable");
        let e = file.resolve().expect("point resolves");
        let results = e.strategies.iter().map(|s| run_strategy(&e, s, index as u64).expect("runs")).collect();
        let theory = e
            .strategies
            .iter()
            .map(|s| {
                let d = match s.params.values.get("d") {
                    Some(ParamValue::Number(d)) => Some(*d as u32),
                    _ => None,
                };
                // Infinite where unstable, as the sweep writes it (`null` in JSON).
                lbsim::theory::predict(&e.model, &s.name, d)
                    .map(|p| TheoryValue { mean_response: p.mean_response, model: p.model.to_string() })
            })
            .collect();
        points.push(PointResults { index: index as u64, values: vec![*load], results, theory });
    }
    let report_point = report_load.and_then(|l| loads.iter().position(|x| (x - l).abs() < 1e-9)).unwrap_or(0);
    let mut ts_file = base.clone();
    ts_file.set_number("arrivals.load", loads[report_point]).expect("settable");
    let ts_experiment = ts_file.resolve().expect("resolves");
    let timeseries = timeseries(&ts_experiment, report_point as u64);
    SweepResults {
        lbsim_version: env!("CARGO_PKG_VERSION").to_string(),
        experiment: experiment.name.clone(),
        description: experiment.description.clone(),
        seed: experiment.seed,
        command: vec!["lbsim".into(), "sweep".into(), "tests/data/fixture.toml".into()],
        config: base.source_text(),
        summary: lbsim::sweep::output::summary(&experiment),
        axes: vec![Axis { path: "arrivals.load".into(), values: loads }],
        points,
        strategies: experiment.strategies.iter().map(|s| s.label.clone()).collect(),
        timeseries,
        report: ReportOptions { metrics: vec![], load: report_load, slo, title: None },
    }
}

fn timeseries(e: &Experiment, point: u64) -> Vec<TimeSeries> {
    let infos = backend_infos(&e.model);
    let interval = 2.0 * e.model.service.mean();
    e.strategies
        .iter()
        .map(|spec| {
            let seed = RunSeed::new(e.seed, point, 0);
            let model = spec.model(&e.model);
            let mut s = lbsim::runner::build_instances(&model, &spec.name, &spec.params, seed).expect("builds");
            let warmup = match e.plan.warmup {
                Warmup::Fixed(w) => w,
                Warmup::Auto => 1000,
            };
            TimeSeries {
                strategy: spec.label.clone(),
                point,
                load: e.model.offered_load(),
                interval,
                backends: infos.iter().map(|b| b.name.clone()).collect(),
                series: sample_in_system(&model, &mut s, seed, warmup, interval, 300),
                cluster_backends: None,
                start: None,
            }
        })
        .collect()
}
