//! The `[sweep]` section: axes, each a numeric key of the file and the values it takes.
//!
//! ```toml
//! [sweep]
//! load = [0.3, 0.5, 0.7, 0.9]                       # shorthand for "arrivals.load"
//! rate = [200, 300, 400]                            # "arrivals.rate", requests per second
//! "backends.web.count" = [8, 16]                    # any numeric key, by its dotted path
//! "service.alpha" = { from = 1.1, to = 1.5, steps = 3 }
//! ```
//!
//! Every error names the axis and points at it (`FILE:LINE:COL: sweep.KEY: …`), because a
//! sweep that fails an hour in is worse than one refused at once: each axis is tried on the
//! file before anything runs.

use toml_edit::{Item, TableLike, Value};

use crate::config::{ConfigError, ExperimentFile};
use crate::results::{Axis, ReportOptions};
use crate::strategy::nearest;

/// The shorthand axis name and the key it stands for.
pub const LOAD_SHORTHAND: (&str, &str) = ("load", "arrivals.load");
/// The shorthand for an axis of arrival rates (requests per second).
pub const RATE_SHORTHAND: (&str, &str) = ("rate", "arrivals.rate");

/// Sets axis `path` to `value` in `file`. An arrival rate replaces the file's `load` (a file
/// gives one or the other), so that a file written with a load can be swept over rates.
pub fn set_axis(file: &mut ExperimentFile, path: &str, value: f64) -> Result<(), ConfigError> {
    if path == RATE_SHORTHAND.1 { file.set_rate(value) } else { file.set_number(path, value) }
}

/// Most values an axis range may expand to: a typo like `steps = 10000` would otherwise
/// queue a sweep of days.
const MAX_STEPS: i64 = 1000;

/// Reads the `[sweep]` axes in file order. No `[sweep]` section means one point: the file
/// as written.
pub fn axes(file: &ExperimentFile) -> Result<Vec<Axis>, ConfigError> {
    let Some(item) = file.item("sweep") else { return Ok(Vec::new()) };
    let Some(table) = item.as_table_like() else {
        return Err(file.error_at("sweep", "expected a table [sweep] of axes (key = [values])"));
    };
    let mut axes: Vec<Axis> = Vec::new();
    for (key, value) in table.iter() {
        let path = match key {
            k if k == LOAD_SHORTHAND.0 => LOAD_SHORTHAND.1,
            k if k == RATE_SHORTHAND.0 => RATE_SHORTHAND.1,
            k => k,
        };
        let name = format!("sweep.{key}");
        let at_key = |message: String| file.error_at_keys(&["sweep", key], true, &name, message);
        let at_value = |message: String| file.error_at_keys(&["sweep", key], false, &name, message);
        if axes.iter().any(|a| a.path == path) {
            return Err(at_key(format!(
                "\"{path}\" is swept twice (\"load\" is short for \"arrivals.load\", \"rate\" for \"arrivals.rate\")"
            )));
        }
        let load_and_rate = |a: &str, b: &str| a == LOAD_SHORTHAND.1 && b == RATE_SHORTHAND.1;
        if axes.iter().any(|a| load_and_rate(&a.path, path) || load_and_rate(path, &a.path)) {
            return Err(at_key(
                "a sweep varies the load or the arrival rate, not both (each sets the other)".to_string(),
            ));
        }
        let values = values(file, key, &name, value)?;
        if values.is_empty() {
            return Err(at_value("an axis needs at least one value, found an empty list".into()));
        }
        check_target(file, path, values[0]).map_err(|e| at_key(e.message))?;
        axes.push(Axis { path: path.to_string(), values });
    }
    Ok(axes)
}

/// The values of one axis: a list of numbers or a `{ from, to, steps }` range.
fn values(file: &ExperimentFile, key: &str, name: &str, item: &Item) -> Result<Vec<f64>, ConfigError> {
    let at = |keys: &[&str], message: String| file.error_at_keys(keys, false, name, message);
    if let Some(array) = item.as_array() {
        return array
            .iter()
            .enumerate()
            .map(|(i, v)| {
                // NaN and infinities are TOML floats too (`nan`, `inf`): no key takes them.
                number(v).filter(|x| x.is_finite()).ok_or_else(|| {
                    let expected = if number(v).is_some() { "a finite number" } else { "a number" };
                    file.error_at_sweep_value(
                        key,
                        i,
                        name,
                        format!("value {} of the list: expected {expected}, found {}", i + 1, show(v)),
                    )
                })
            })
            .collect();
    }
    let Some(range) = item.as_table_like() else {
        let found = item.as_value().map_or_else(|| "a table".to_string(), show);
        return Err(at(
            &["sweep", key],
            format!(
                "expected a list of values ([0.5, 0.9]) or a range ({{ from = 0.5, to = 0.9, steps = 5 }}), found {found}"
            ),
        ));
    };
    range_values(file, key, name, range)
}

/// The key of `[sweep]` that gives the axis of `path` (`load` for `arrivals.load`).
fn axis_key(file: &ExperimentFile, path: &str) -> Option<String> {
    let table = file.item("sweep")?.as_table_like()?;
    let written = |k: &str| match k {
        k if k == LOAD_SHORTHAND.0 => LOAD_SHORTHAND.1.to_string(),
        k if k == RATE_SHORTHAND.0 => RATE_SHORTHAND.1.to_string(),
        k => k.to_string(),
    };
    table.iter().map(|(k, _)| k).find(|k| written(k) == path).map(str::to_string)
}

/// An error resolving point `index` of the sweep, when it is about a value an axis set
/// (the file "sweep"): located at that value in `[sweep]` (its line, the axis key), with the
/// value and the point. `Err` gives back any other error unchanged.
pub fn locate_point_error(
    file: &ExperimentFile,
    grid: &super::Grid,
    index: usize,
    error: ConfigError,
) -> Result<ConfigError, ConfigError> {
    if error.file != "sweep" {
        return Err(error);
    }
    let key = error.key.clone().unwrap_or_default();
    let on = |path: &str| key == path || key.starts_with(&format!("{path}.")) || key.starts_with(&format!("{path}["));
    let Some(k) = grid.axes.iter().position(|a| on(&a.path)) else { return Err(error) };
    let Some(written) = axis_key(file, &grid.axes[k].path) else { return Err(error) };
    let position = grid.positions(index)[k];
    let axis = &grid.axes[k];
    Ok(file.error_at_sweep_value(
        &written,
        position,
        &format!("sweep.{written}"),
        format!(
            "{} = {} (value {} of {} on this axis; sweep point {index}): {key}: {}",
            axis.path,
            crate::config::number_text(axis.values[position]),
            position + 1,
            axis.values.len(),
            error.message
        ),
    ))
}

fn range_values(file: &ExperimentFile, key: &str, name: &str, range: &dyn TableLike) -> Result<Vec<f64>, ConfigError> {
    const FIELDS: [&str; 3] = ["from", "to", "steps"];
    let at = |field: &str, message: String| file.error_at_keys(&["sweep", key, field], false, name, message);
    for (field, _) in range.iter() {
        if !FIELDS.contains(&field) {
            let hint = nearest(field, FIELDS).map_or(String::new(), |s| format!("; did you mean \"{s}\"?"));
            return Err(file.error_at_keys(
                &["sweep", key, field],
                true,
                name,
                format!("unknown range field \"{field}\" (a range has from, to and steps){hint}"),
            ));
        }
    }
    let field = |f: &str| -> Result<f64, ConfigError> {
        let Some(item) = range.get(f) else {
            return Err(file.error_at_keys(
                &["sweep", key],
                false,
                name,
                format!("a range needs from, to and steps; \"{f}\" is missing"),
            ));
        };
        item.as_value().and_then(number).filter(|x| x.is_finite()).ok_or_else(|| {
            at(f, format!("\"{f}\" must be a number, found {}", item.as_value().map_or("a table".into(), show)))
        })
    };
    let (from, to) = (field("from")?, field("to")?);
    let steps = range.get("steps").and_then(Item::as_integer);
    let steps = match steps {
        Some(n) if (1..=MAX_STEPS).contains(&n) => n,
        _ => {
            let found = range.get("steps").and_then(Item::as_value).map_or("nothing".into(), show);
            return Err(at("steps", format!("\"steps\" must be a whole number from 1 to {MAX_STEPS}, found {found}")));
        }
    };
    if steps == 1 && from != to {
        return Err(at("steps", format!("one step cannot go from {from} to {to}; use steps ≥ 2 or a list")));
    }
    Ok((0..steps)
        .map(|i| {
            if i == 0 {
                from
            } else if i == steps - 1 {
                to
            } else {
                // Rounded to 12 significant digits so that 0.1 steps print as 0.3, not
                // 0.30000000000000004, in file names, tables and CSV columns.
                round12(from + (to - from) * i as f64 / (steps - 1) as f64)
            }
        })
        .collect())
}

fn round12(x: f64) -> f64 {
    format!("{x:.12e}").parse().unwrap_or(x)
}

/// Tries the axis on a copy of the file: the path must be a numeric key of the format.
fn check_target(file: &ExperimentFile, path: &str, value: f64) -> Result<(), ConfigError> {
    if path.starts_with("sweep.") || path == "sweep" || path.starts_with("report.") || path == "report" {
        return Err(ConfigError::new("sweep", format!("\"{path}\" cannot be swept (it is not part of the model)")));
    }
    let mut copy = file.clone();
    set_axis(&mut copy, path, value)
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i.value() as f64),
        Value::Float(f) => Some(*f.value()),
        _ => None,
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the text \"{}\"", s.value()),
        Value::Integer(i) => format!("the number {}", i.value()),
        Value::Float(f) => format!("the number {}", f.value()),
        Value::Boolean(b) => format!("{}", b.value()),
        Value::Datetime(d) => format!("the date {}", d.value()),
        Value::Array(_) => "a list".into(),
        Value::InlineTable(_) => "a table".into(),
    }
}

/// The metrics `[report] metrics` may chart against load.
pub const REPORT_METRICS: [&str; 8] = ["mean", "mean_response", "p50", "p90", "p95", "p99", "p999", "mean_wait"];

/// Reads the `[report]` options: `metrics` (list of names), `load` (number), `slo` (text),
/// `title` (text).
pub fn report_options(file: &ExperimentFile) -> Result<ReportOptions, ConfigError> {
    const KEYS: [&str; 4] = ["metrics", "load", "slo", "title"];
    let mut options = ReportOptions::default();
    let Some(item) = file.item("report") else { return Ok(options) };
    let Some(table) = item.as_table_like() else {
        return Err(file.error_at("report", "expected a table [report]"));
    };
    for (key, item) in table.iter() {
        let name = format!("report.{key}");
        let at = |message: String| file.error_at_keys(&["report", key], false, &name, message);
        match key {
            "metrics" => {
                let list = item.as_array().ok_or_else(|| at("expected a list of metric names".into()))?;
                for v in list.iter() {
                    let m = v.as_str().ok_or_else(|| at(format!("expected metric names, found {}", show(v))))?;
                    if !REPORT_METRICS.contains(&m) {
                        let hint =
                            nearest(m, REPORT_METRICS).map_or(String::new(), |s| format!("; did you mean \"{s}\"?"));
                        return Err(at(format!("unknown metric \"{m}\" (known: {}){hint}", REPORT_METRICS.join(", "))));
                    }
                    options.metrics.push(m.to_string());
                }
            }
            "load" => {
                let x = item.as_value().and_then(number).filter(|x| x.is_finite() && *x > 0.0);
                options.load = Some(x.ok_or_else(|| at("expected a positive number (an offered load)".into()))?);
            }
            "slo" => {
                let s = item.as_str().ok_or_else(|| at("expected a text like \"p99 <= 250ms\"".into()))?;
                crate::report::findings::Slo::parse(s).map_err(|e| at(e.to_string()))?;
                options.slo = Some(s.to_string());
            }
            "title" => {
                let s = item.as_str().ok_or_else(|| at("expected a text".into()))?;
                options.title = Some(s.to_string());
            }
            _ => {
                let hint = nearest(key, KEYS).map_or(String::new(), |s| format!("; did you mean \"{s}\"?"));
                return Err(file.error_at_keys(
                    &["report", key],
                    true,
                    &name,
                    format!("unknown key (known: metrics, load, slo, title){hint}"),
                ));
            }
        }
    }
    Ok(options)
}
