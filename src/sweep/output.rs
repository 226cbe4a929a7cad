//! The sweep's outputs: `results.json` ([`SweepResults`], the contract with charts and
//! reports) and `results.csv` (tidy: one row per point × strategy), written atomically.
//!
//! Both are built from the finished runs alone, through the same pure functions whatever
//! produced the runs (one machine, any `--jobs`, a resume, merged shards), and floats are
//! printed in Rust's shortest round-trip form, so equal runs give byte-identical files.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rayon::prelude::*;

use super::Sweep;
use super::plan::{PointState, Rule, Store, replications};
use crate::experiment::{Experiment, Warmup};
use crate::results::{ModelSummary, PointResults, SweepResults, TheoryValue, TimeSeries};
use crate::runner::{StrategyResult, backend_infos, combine};
use crate::seed::RunSeed;

/// Samples in each number-in-system time series.
pub const TIMESERIES_SAMPLES: usize = 400;
/// Backends whose series a sweep records: on a larger cluster the first this many (charts
/// draw fewer still; 10⁵ backends' series would be 870 MB of results.json a strategy).
pub const TIMESERIES_BACKENDS: usize = 64;

/// Results of every finished point (points still missing runs are left out).
pub fn build(sweep: &Sweep, store: &Store, command: Vec<String>) -> SweepResults {
    let mut points = Vec::new();
    for (index, experiment) in sweep.points.iter().enumerate() {
        let PointState::Done(n) = Rule::of(experiment).state(index, experiment, store) else { continue };
        let results: Vec<StrategyResult> = experiment
            .strategies
            .iter()
            .enumerate()
            .map(|(s, spec)| combine(experiment, spec, &replications(store, index, s, n)))
            .collect();
        let theory = experiment.strategies.iter().map(|spec| theory(experiment, spec)).collect();
        points.push(PointResults { index: index as u64, values: sweep.grid.values(index), results, theory });
    }
    saturate_upwards(&sweep.grid.axes, &mut points);
    let base = &sweep.base;
    let timeseries = match report_point(sweep, &points) {
        Some(p) => {
            let results = points.iter().find(|q| q.index as usize == p).map_or(&[][..], |q| &q.results[..]);
            timeseries(&sweep.points[p], p, results)
        }
        None => Vec::new(),
    };
    SweepResults {
        lbsim_version: env!("CARGO_PKG_VERSION").to_string(),
        experiment: base.name.clone(),
        description: base.description.clone(),
        seed: base.seed,
        command,
        config: sweep.config.clone(),
        summary: summary(base),
        axes: sweep.grid.axes.clone(),
        points,
        strategies: base.strategies.iter().map(|s| s.label.clone()).collect(),
        timeseries,
        report: sweep.report.clone(),
    }
}

/// Makes the saturation verdict monotone in load, for the charts and findings: a strategy
/// saturated at some load (at least half of its replications saturated there) is saturated
/// at every higher load of the same line (same values of the other axes). Queues of a
/// system that is monotone in load only grow with it, so a lower load's verdict carries
/// upwards; without this, one noisy point ("saturated" at 0.7, a finite mean at 0.8) reads
/// as a recovery. `saturated_fraction` keeps each point's own measured fraction. The load
/// axis is `arrivals.load` or `arrivals.rate`; without one nothing changes.
fn saturate_upwards(axes: &[crate::results::Axis], points: &mut [PointResults]) {
    let Some(load) = axes.iter().position(|a| a.path == "arrivals.load" || a.path == "arrivals.rate") else {
        return;
    };
    let others = |p: &PointResults| -> Vec<u64> {
        p.values.iter().enumerate().filter(|(k, _)| *k != load).map(|(_, v)| v.to_bits()).collect()
    };
    for i in 0..points.len() {
        for s in 0..points[i].results.len() {
            if points[i].results[s].saturated {
                continue;
            }
            let line = others(&points[i]);
            let x = points[i].values[load];
            let below = points
                .iter()
                .any(|q| q.values[load] < x && others(q) == line && q.results.get(s).is_some_and(|r| r.saturated));
            if below {
                points[i].results[s].saturated = true;
            }
        }
    }
}

fn theory(experiment: &Experiment, spec: &crate::experiment::StrategySpec) -> Option<TheoryValue> {
    let d = (spec.name == "power_of_d").then(|| spec.params.count("d", 2, 1).ok().map(|d| d as u32)).flatten();
    crate::theory::predict(&spec.model(&experiment.model), &spec.name, d)
        .map(|p| TheoryValue { mean_response: p.mean_response, model: p.model.to_string() })
}

/// For `lbsim report --load`: records the number-in-system series again at the point the
/// report load now chooses, from the sweep's journal in `dir` (its header holds the experiment
/// as run). One short simulation per strategy, the same as the sweep records with that
/// `[report] load`. Returns false, changing nothing, when the series are there already.
pub fn retake_timeseries(dir: &Path, results: &mut SweepResults) -> Result<bool> {
    let header = super::journal::read_header(dir)?;
    let file = crate::config::ExperimentFile::parse(Path::new(&header.file), &header.config)?;
    let mut sweep = Sweep::prepare(&file)?;
    if sweep.config != results.config {
        anyhow::bail!("the journal in {} holds another experiment than its results.json", dir.display());
    }
    sweep.report.load = results.report.load;
    let Some(p) = report_point(&sweep, &results.points) else { return Ok(false) };
    if results.timeseries.iter().any(|t| t.point == p as u64) {
        return Ok(false);
    }
    let point = results.points.iter().find(|q| q.index as usize == p).map_or(&[][..], |q| &q.results[..]);
    results.timeseries = timeseries(&sweep.points[p], p, point);
    Ok(true)
}

/// The grid point of the per-load charts: the finished point whose load is nearest to
/// `[report] load`, or else the highest load below 1 where some strategy is not saturated
/// (nearest to 0.9 if there is none).
fn report_point(sweep: &Sweep, finished: &[PointResults]) -> Option<usize> {
    // A closed loop's load is measured (the carried load of its first strategy).
    let load = |p: &PointResults| match sweep.points[p.index as usize].model.closed_loop() {
        None => sweep.points[p.index as usize].model.offered_load(),
        Some(_) => p.results.first().map_or(f64::NAN, |r| r.load),
    };
    let nearest = |target: f64| {
        finished
            .iter()
            .min_by(|a, b| (load(a) - target).abs().total_cmp(&(load(b) - target).abs()))
            .map(|p| p.index as usize)
    };
    // A load test: the point nearest the knee (as `plot::Context` chooses).
    let knee = finished.first().and_then(|p| p.results.first()?.closed_loop.as_ref()).map(|c| c.knee);
    if let Some(knee) = knee {
        let users = |p: &PointResults| {
            sweep.points[p.index as usize].model.closed_loop().map_or(f64::NAN, |c| f64::from(c.max_users()))
        };
        return finished
            .iter()
            .min_by(|a, b| (users(a) - knee).abs().total_cmp(&(users(b) - knee).abs()))
            .map(|p| p.index as usize);
    }
    if let Some(target) = sweep.report.load {
        return nearest(target);
    }
    // As `plot::Context` chooses: the highest load below 1 where some strategy is not saturated.
    let below = finished
        .iter()
        .filter(|p| load(p) < 1.0 && p.results.iter().any(|r| !r.saturated))
        .max_by(|a, b| load(a).total_cmp(&load(b)));
    below.map(|p| p.index as usize).or_else(|| nearest(0.9))
}

/// Number in system per backend for every strategy at `point`, replication 0's traffic:
/// [`TIMESERIES_SAMPLES`] samples one mean service time apart (a few hundred service times:
/// long enough to see queues build and drain, short enough to see individual swings).
///
/// A ramp of users is the exception: its point is to show the queues follow the users from
/// stage to stage, which a few hundred service times (16 s of a 40 ms service) cannot. Its
/// samples span the whole measured run (the widest window of `results`, the point's
/// results, else the ramp's length), spaced more widely — never closer than one mean
/// service time — so that the series keeps [`TIMESERIES_SAMPLES`] samples at most however
/// long the run: it coarsens rather than grows.
fn timeseries(experiment: &Experiment, point: usize, results: &[StrategyResult]) -> Vec<TimeSeries> {
    let model = &experiment.model;
    let infos = backend_infos(model);
    let speed = model.backends.first().map_or(1.0, |g| g.speed);
    let service = model.service.mean() / speed;
    if !service.is_finite() || service <= 0.0 {
        return Vec::new();
    }
    let ramp = model.closed_loop().filter(|users| !users.ramp.is_empty());
    let interval = match ramp {
        None => service,
        Some(users) => {
            let windows = results.iter().filter_map(|r| r.closed_loop.as_ref()?.ramp.as_ref());
            let measured = windows
                .filter_map(|w| Some(w.ended()? - w.started()?))
                .filter(|span| span.is_finite() && *span > 0.0)
                .fold(f64::NAN, f64::max);
            let span = if measured.is_nan() { users.profile().length() } else { measured };
            (span / TIMESERIES_SAMPLES as f64).max(service)
        }
    };
    let seed = RunSeed::new(experiment.seed, point as u64, 0);
    let warmup = match experiment.plan.warmup {
        Warmup::Fixed(w) => w,
        // No pilot here: a tenth of a replication is a fair stand-in for MSER-5's choice.
        Warmup::Auto => experiment.plan.requests / 10,
    };
    // One simulation per strategy (and sita's calibration): in parallel, in strategy order.
    let closed = model.closed_loop().is_some();
    experiment
        .strategies
        .par_iter()
        .enumerate()
        .filter_map(|(s, spec)| {
            let model = &*spec.model(model);
            let mut strategies = crate::runner::build_instances(model, &spec.name, &spec.params, seed).ok()?;
            let (start, series) = crate::engine::sample_in_system_from(
                model,
                &mut strategies,
                seed,
                warmup,
                interval,
                TIMESERIES_SAMPLES,
                TIMESERIES_BACKENDS,
            );
            Some(TimeSeries {
                strategy: spec.label.clone(),
                point: point as u64,
                // A closed loop's load is the one its runs carried (strategy by strategy).
                load: if closed { results.get(s).map_or(f64::NAN, |r| r.load) } else { model.offered_load() },
                interval,
                backends: infos.iter().take(TIMESERIES_BACKENDS).map(|b| b.name.clone()).collect(),
                series,
                cluster_backends: (infos.len() > TIMESERIES_BACKENDS).then_some(infos.len() as u64),
                start: ramp.and(start.is_finite().then_some(start)),
            })
        })
        .collect()
}

/// The model in words.
pub fn summary(e: &Experiment) -> ModelSummary {
    let m = &e.model;
    ModelSummary {
        arrivals: m.arrivals.describe(),
        service: m.service.describe(),
        service_mean: m.service.mean(),
        service_cv: m.service.cv(),
        backends: m.backends.iter().map(|g| g.describe()).collect(),
        capacity: m.capacity(),
        requests: e.plan.requests,
        warmup: match e.plan.warmup {
            Warmup::Fixed(w) => format!("{w} requests"),
            Warmup::Auto => "auto (MSER-5)".into(),
        },
        replications: e.plan.replications,
    }
}

/// The columns after the axis columns, in order.
pub const CSV_COLUMNS: [&str; 26] = [
    "load",
    "arrival_rate",
    "replications",
    "requests",
    "mean_response",
    "mean_response_ci_low",
    "mean_response_ci_high",
    "p50",
    "p90",
    "p95",
    "p99",
    "p99_ci_low",
    "p99_ci_high",
    "p999",
    "mean_wait",
    "mean_slowdown",
    "throughput",
    "utilisation",
    "utilisation_min",
    "utilisation_max",
    "rejected_fraction",
    "saturated",
    "p999_ci_low",
    "p999_ci_high",
    "saturated_fraction",
    "warnings",
];

/// The columns closed-loop experiments add after [`CSV_COLUMNS`] (open-loop files go on
/// with the optional groups below): the throughput's interval, the users N, their mean think
/// time Z and cycle N/X with its interval.
pub const CLOSED_LOOP_CSV_COLUMNS: [&str; 7] =
    ["throughput_ci_low", "throughput_ci_high", "users", "think", "cycle", "cycle_ci_low", "cycle_ci_high"];

/// The columns experiments with hedged requests add last: the hedge delay (seconds), the
/// second copies sent and the amplification (requests sent to backends per client request).
pub const HEDGING_CSV_COLUMNS: [&str; 3] = ["hedge_delay", "hedge_copies", "amplification"];

/// The column experiments whose balancer or clients retry add at the end: attempts per
/// measured request (1 + retries ÷ requests).
pub const RETRY_CSV_COLUMNS: [&str; 1] = ["attempts_per_request"];

/// The columns experiments whose models can fail an accepted request add next (faults,
/// health checks, timeouts, `max_conns`, gunicorn `timeout`/`max_requests`: see
/// `Model::can_fail`): the fraction of measured requests that failed, their number by
/// cause, and the goodput (successful completions per second) with its interval.
pub const FAILURE_CSV_COLUMNS: [&str; 10] = [
    "failed_fraction",
    "failed_worker_timeout",
    "failed_backend_down",
    "failed_queue_timeout",
    "failed_no_backend",
    "failed_client_timeout",
    "failed_upstream_timeout",
    "goodput",
    "goodput_ci_low",
    "goodput_ci_high",
];
// One `failed_<cause>` column per cause, in `Cause::ALL`'s order (the rows write them so).
const _: () = assert!(FAILURE_CSV_COLUMNS.len() == 4 + crate::engine::Cause::COUNT);

/// The columns experiments with backends simulated with explicit workers (cores, I/O,
/// gthread/gevent, accept or lifecycle settings) add last: the lowest and highest
/// utilisation of a single worker.
pub const WORKER_CSV_COLUMNS: [&str; 2] = ["worker_utilisation_min", "worker_utilisation_max"];

/// The columns experiments with an SLO (`[report] slo`) add at the very end: the SLO's limit
/// (seconds) and P(response > limit) with its 95 % interval.
pub const SLO_CSV_COLUMNS: [&str; 4] = ["slo_limit", "p_over_slo", "p_over_slo_ci_low", "p_over_slo_ci_high"];

/// The column experiments whose models cancel attempts (a client's `cancel`,
/// `hedge_cancel`) add at the very end: cancelled attempts ÷ measured requests.
pub const CANCEL_CSV_COLUMNS: [&str; 1] = ["cancelled_fraction"];

/// `results.csv`: a header, then one row per finished point × strategy, grid order then
/// strategy order.
pub fn csv(results: &SweepResults) -> String {
    let mut out = String::new();
    let closed = results.points.iter().flat_map(|p| &p.results).any(|r| r.closed_loop.is_some());
    let mut header = vec!["strategy".to_string()];
    header.extend(results.axes.iter().map(|a| field(&a.path)));
    header.extend(CSV_COLUMNS.iter().map(|c| c.to_string()));
    if closed {
        header.extend(CLOSED_LOOP_CSV_COLUMNS.iter().map(|c| c.to_string()));
    }
    let hedged = results.points.iter().flat_map(|p| &p.results).any(|r| r.hedging.is_some());
    if hedged {
        header.extend(HEDGING_CSV_COLUMNS.iter().map(|c| c.to_string()));
    }
    let retries = results.points.iter().flat_map(|p| &p.results).any(|r| r.attempts_per_request.is_some());
    if retries {
        header.extend(RETRY_CSV_COLUMNS.iter().map(|c| c.to_string()));
    }
    let failing = results.points.iter().flat_map(|p| &p.results).any(|r| r.failures.is_some());
    if failing {
        header.extend(FAILURE_CSV_COLUMNS.iter().map(|c| c.to_string()));
    }
    let workers = results.points.iter().flat_map(|p| &p.results).any(|r| r.worker_utilisation.is_some());
    if workers {
        header.extend(WORKER_CSV_COLUMNS.iter().map(|c| c.to_string()));
    }
    let slo = results.points.iter().flat_map(|p| &p.results).any(|r| r.over_slo.is_some());
    if slo {
        header.extend(SLO_CSV_COLUMNS.iter().map(|c| c.to_string()));
    }
    let cancels = results.points.iter().flat_map(|p| &p.results).any(|r| r.cancelled.is_some());
    if cancels {
        header.extend(CANCEL_CSV_COLUMNS.iter().map(|c| c.to_string()));
    }
    out.push_str(&header.join(","));
    out.push('\n');
    for point in &results.points {
        for r in &point.results {
            let mut row = vec![field(&r.strategy)];
            row.extend(point.values.iter().map(|v| number(*v)));
            let (umin, umax) = r.utilisation_range();
            row.extend(
                [
                    r.load,
                    r.arrival_rate,
                    f64::from(r.replications),
                    r.requests as f64,
                    r.mean_response.value,
                    r.mean_response.ci_low,
                    r.mean_response.ci_high,
                    r.p50.value,
                    r.p90.value,
                    r.p95.value,
                    r.p99.value,
                    r.p99.ci_low,
                    r.p99.ci_high,
                    r.p999.value,
                    r.mean_wait.value,
                    r.mean_slowdown.value,
                    r.throughput.value,
                    r.utilisation.value,
                    umin,
                    umax,
                    r.rejected_fraction,
                ]
                .into_iter()
                .map(number),
            );
            row.push(r.saturated.to_string());
            row.extend([r.p999.ci_low, r.p999.ci_high, r.saturated_fraction].into_iter().map(number));
            row.push(r.warnings.iter().map(|w| w.code()).collect::<Vec<_>>().join(";"));
            if closed {
                let (users, think, cycle) = match &r.closed_loop {
                    Some(c) => (f64::from(c.users), c.think, c.cycle),
                    None => (f64::NAN, f64::NAN, crate::stats::Estimate::without_interval(f64::NAN)),
                };
                row.extend(
                    [r.throughput.ci_low, r.throughput.ci_high, users, think, cycle.value, cycle.ci_low, cycle.ci_high]
                        .into_iter()
                        .map(number),
                );
            }
            if hedged {
                // A strategy without hedging sends no copies: amplification 1.
                let (delay, copies, amplification) =
                    r.hedging.as_ref().map_or((f64::NAN, 0.0, 1.0), |h| (h.delay, h.copies as f64, h.amplification));
                row.extend([delay, copies, amplification].into_iter().map(number));
            }
            if retries {
                row.push(number(r.attempts_per_request.unwrap_or(1.0)));
            }
            if failing {
                match &r.failures {
                    Some(f) => {
                        row.push(number(f.fraction));
                        for cause in crate::engine::Cause::ALL {
                            row.push(f.by_cause.get(cause.name()).copied().unwrap_or(0).to_string());
                        }
                        row.extend([f.goodput.value, f.goodput.ci_low, f.goodput.ci_high].into_iter().map(number));
                    }
                    None => {
                        // A point whose models cannot fail: nothing failed, every accepted
                        // request completed.
                        row.extend(std::iter::repeat_n("0".to_string(), 1 + crate::engine::Cause::COUNT));
                        let t = &r.throughput;
                        row.extend([t.value, t.ci_low, t.ci_high].into_iter().map(number));
                    }
                }
            }
            if workers {
                let spread = r.worker_utilisation.map_or([f64::NAN; 2], |w| [w.min, w.max]);
                row.extend(spread.into_iter().map(number));
            }
            if slo {
                let (limit, p) = r
                    .over_slo
                    .map_or((f64::NAN, crate::stats::Estimate::without_interval(f64::NAN)), |o| (o.limit, o.fraction));
                row.extend([limit, p.value, p.ci_low, p.ci_high].into_iter().map(number));
            }
            if cancels {
                row.push(number(r.cancelled.map_or(0.0, |c| c.fraction)));
            }
            out.push_str(&row.join(","));
            out.push('\n');
        }
    }
    out
}

/// Shortest text that reads back as the same f64 (deterministic across platforms); empty
/// for NaN (nothing measured) so that spreadsheet and pandas readers see a missing value.
fn number(x: f64) -> String {
    if x.is_nan() { String::new() } else { format!("{x}") }
}

/// A CSV field, quoted when it holds a comma, quote or newline (labels like `power_of_d(d=3)`
/// do not, but users' labels might).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// Writes `results.json` and `results.csv` into `dir`, each atomically.
pub fn write(results: &SweepResults, dir: &Path) -> Result<()> {
    // Streamed: the results of a large fleet need not be held twice, once as text.
    write_atomically_with(&dir.join("results.json"), |file| {
        serde_json::to_writer_pretty(&mut *file, results)?;
        file.write_all(b"\n")
    })?;
    write_atomically(&dir.join("results.csv"), csv(results).as_bytes())
}

/// Writes a temporary file beside `path`, syncs it, and renames it over `path`: readers (and
/// a crash) see the old file or the new one, never half of one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically_with(path, |file| file.write_all(bytes))
}

/// [`write_atomically`] for contents too large to hold in memory: `write` streams them into
/// the temporary file (buffered), which is then synced and renamed over `path`. On an error
/// the temporary file is removed and `path` is as it was.
/// A second Ctrl-C, which exits at once, removes the temporary file too.
pub fn write_atomically_with(path: &Path, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    write_atomically_impl(path, false, write)
}

/// [`write_atomically_with`] that Ctrl-C stops (with the stop handler installed:
/// [`super::install_stop_handler`]): at the next buffer's flush the writing fails, the
/// temporary file is removed, and the error says so. For `lbsim trace`, whose writing is
/// the whole command; a sweep's outputs are written after Ctrl-C on purpose (what finished).
pub fn write_atomically_interruptible(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    write_atomically_impl(path, true, write)
}

fn write_atomically_impl(
    path: &Path,
    stops: bool,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    *pending_temporary() = Some(tmp.clone());
    let result = (|| -> std::io::Result<()> {
        let mut file = std::io::BufWriter::new(StopsOnInterrupt { file: std::fs::File::create(&tmp)?, stops });
        write(&mut file)?;
        let file = file.into_inner().map_err(std::io::IntoInnerError::into_error)?;
        file.file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    *pending_temporary() = None;
    if result.is_err() && stops && super::interrupted() {
        anyhow::bail!("interrupted: {} was not written (the partial file was removed)", path.display());
    }
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::StorageFull => {
            anyhow::bail!("cannot write {}: the disk is full (nothing half-written was left there)", path.display())
        }
        other => other.with_context(|| format!("cannot write {}", path.display())),
    }
}

/// The temporary file of the atomic write in progress, for the stop handler to remove
/// when a second Ctrl-C exits at once.
fn pending_temporary() -> std::sync::MutexGuard<'static, Option<PathBuf>> {
    static PENDING: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);
    PENDING.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Removes the temporary file of the atomic write in progress, if any.
pub(super) fn remove_pending_temporary() {
    if let Some(tmp) = pending_temporary().take() {
        let _ = std::fs::remove_file(tmp);
    }
}

/// A file whose writes fail once Ctrl-C has set the stop flag, if it `stops`: under a
/// `BufWriter`, the check costs one atomic load per buffer flushed.
struct StopsOnInterrupt {
    file: std::fs::File,
    stops: bool,
}

impl Write for StopsOnInterrupt {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.stops && super::interrupted() {
            // (Not ErrorKind::Interrupted, which write_all retries.)
            return Err(std::io::Error::other("interrupted"));
        }
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Whether `a` and `b` name the same existing file or folder, however they are spelled
/// (relative, through `..` or a symbolic link). False when either does not exist.
pub fn same_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `lbsim trace` relies on to write a trace larger than memory: the contents reach
    /// the temporary file as they are written, and a failure part-way leaves nothing.
    #[test]
    fn a_streamed_atomic_write_reaches_the_disk_as_it_goes() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("trace.csv");
        std::fs::write(&target, b"the old trace").unwrap();
        let on_disk = || -> u64 {
            let tmp = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap()).find(|e| e.file_name() != "trace.csv");
            tmp.map_or(0, |e| e.metadata().unwrap().len())
        };
        let chunk = vec![b'x'; 1 << 16];
        let failed = write_atomically_with(&target, |file| {
            for _ in 0..64 {
                file.write_all(&chunk)?;
            }
            // 4 MiB written: all but the buffer's last few kB is in the file already.
            assert!(on_disk() >= (4 << 20) - (64 << 10), "{} bytes on disk", on_disk());
            Err(std::io::Error::other("stopped"))
        });
        assert!(failed.unwrap_err().to_string().contains("cannot write"));
        assert_eq!(on_disk(), 0, "the temporary file is removed");
        assert_eq!(std::fs::read(&target).unwrap(), b"the old trace");
        write_atomically_with(&target, |file| file.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }

    #[test]
    fn a_failed_atomic_write_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // Renaming a file over a non-empty folder fails, as a full disk fails the write.
        let target = dir.path().join("results.json");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("inside"), b"x").unwrap();
        assert!(write_atomically(&target, b"{}").is_err());
        let names: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        assert_eq!(names, vec!["results.json".to_string()], "no .tmp file left behind");
    }
}
