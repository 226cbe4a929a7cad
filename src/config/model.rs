//! Sections of a parsed experiment file → [`Experiment`].
//!
//! Resolution runs in two phases: first every section is checked for unknown keys, types and
//! ranges (no model constructor is called), then the model objects are built and the
//! strategies validated against them. So a file with several mistakes reports the first
//! structural one in file order of sections: experiment, run, arrivals, service, clients,
//! backends, balancer.
//!
//! Mixtures: a mixture component may not itself be a mixture (write the components out).

use std::sync::Arc;

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use toml_edit::{Item, TableLike, Value};

use super::error::ConfigError;
use super::file::{ExperimentFile, Seg, found, found_value, number_text};
use super::schema::{self, quoted_list};
use super::trace::{TraceRows, parse_samples, parse_trace, read_relative};
use super::{MAX_DURATION, MAX_RATE, MIN_MEAN_TIME, MIN_RATE};
use crate::experiment::{Experiment, Intensity, RunPlan, StrategySpec, Warmup};
use crate::model::{
    Accept, ArrivalProcess, BackendGroup, Balancer, BalancerOverride, ClientAddresses, ClientPopulation, ClosedLoop,
    Hedge, Information, Lifecycle, MAX_SUBNETS, MixtureComponent, Mode, Model, ModelError, Routing,
    ServiceDistribution, Stage, Trace, Upstream, WorkerClass,
};
use crate::strategy::{BackendInfo, Needs, ParamValue, Params, Setup, StrategyError, nearest, registry};

type Result<T> = std::result::Result<T, ConfigError>;

mod faults;

/// A table of the document being read, with its path for locating errors.
#[derive(Clone)]
pub(crate) struct Section<'a> {
    file: &'a ExperimentFile,
    table: Option<&'a dyn TableLike>,
    path: Vec<Seg>,
    /// How messages name it: `[arrivals]`, `[[backends]] "web"`, `strategy "power_of_d"`.
    title: String,
}

impl<'a> Section<'a> {
    fn child_path(&self, key: &str) -> Vec<Seg> {
        let mut p = self.path.clone();
        p.push(Seg::Key(key.to_string()));
        p
    }

    /// Error at the value of `key`.
    fn err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        self.file.locate(&self.child_path(key), false).with(message)
    }

    /// Error at `key` itself (unknown keys).
    fn err_key(&self, key: &str, message: impl Into<String>) -> ConfigError {
        self.file.locate(&self.child_path(key), true).with(message)
    }

    /// Error at the table.
    fn err_here(&self, message: impl Into<String>) -> ConfigError {
        self.file.locate(&self.path, false).with(message)
    }

    /// The error for a required `key` the table lacks: at a key that looks like it
    /// misspelt (`nam` for `name`), naming both; otherwise `message` at the table.
    fn err_missing(&self, key: &str, message: impl Into<String>) -> ConfigError {
        match self.keys().into_iter().find(|k| nearest(k, [key]).is_some()) {
            Some(typo) => {
                self.err_key(&typo, format!("unknown key \"{typo}\" in {}; did you mean \"{key}\"?", self.title))
            }
            None => self.err_here(message),
        }
    }

    fn get(&self, key: &str) -> Option<&'a Item> {
        self.table?.get(key).filter(|i| !i.is_none())
    }

    fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    fn keys(&self) -> Vec<String> {
        match self.table {
            Some(t) => t.iter().filter(|(_, i)| !i.is_none()).map(|(k, _)| k.to_string()).collect(),
            None => Vec::new(),
        }
    }

    /// Every key must be in `allowed`; `elsewhere` explains keys that belong to another
    /// variant (`cv` under poisson).
    fn check_keys(&self, allowed: &[&str], elsewhere: &dyn Fn(&str) -> Option<String>) -> Result<()> {
        for key in self.keys() {
            if allowed.contains(&key.as_str()) {
                continue;
            }
            if let Some(message) = elsewhere(&key) {
                return Err(self.err_key(&key, message));
            }
            let message = match nearest(&key, allowed.iter().copied()) {
                Some(s) => format!("unknown key \"{key}\" in {}; did you mean \"{s}\"?", self.title),
                None => format!("unknown key \"{key}\" in {} (expected one of: {})", self.title, allowed.join(", ")),
            };
            return Err(self.err_key(&key, message));
        }
        Ok(())
    }

    fn string(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(item) => match item.as_str() {
                Some(s) => Ok(Some(s.to_string())),
                None => Err(self.err(key, format!("expected a string, found {}", found(item)))),
            },
        }
    }

    /// One of `options` (default `default`), with did-you-mean.
    fn choice(&self, key: &str, options: &[&str], default: &str) -> Result<String> {
        let Some(value) = self.string(key)? else {
            return Ok(default.to_string());
        };
        if options.contains(&value.as_str()) {
            return Ok(value);
        }
        Err(self.err(
            key,
            match nearest(&value, options.iter().copied()) {
                Some(s) => format!("unknown {key} \"{value}\"; did you mean \"{s}\"?"),
                None => format!("unknown {key} \"{value}\" (expected {})", quoted_list(options, "or")),
            },
        ))
    }

    fn number(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(item) => match number_of(item) {
                Some(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(self.err(key, format!("expected a number, found {}", found(item)))),
            },
        }
    }

    /// A number checked by `ok`, described as `what` in the error.
    fn number_where(&self, key: &str, what: &str, ok: impl Fn(f64) -> bool) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(item) => match number_of(item) {
                Some(x) if x.is_finite() && ok(x) => Ok(Some(x)),
                _ => Err(self.err(key, format!("expected {what}, found {}", found(item)))),
            },
        }
    }

    fn positive(&self, key: &str) -> Result<Option<f64>> {
        self.number_where(key, "a positive number", |x| x > 0.0)
    }

    /// A whole number in `min..=max` (floats with no fraction are accepted: `1e6`).
    fn whole(&self, key: &str, min: u64, max: u64) -> Result<Option<u64>> {
        let what = match min {
            0 => "a whole number ≥ 0".to_string(),
            1 => "a positive whole number".to_string(),
            m => format!("a whole number ≥ {m}"),
        };
        let Some(item) = self.get(key) else {
            return Ok(None);
        };
        let value = match item.as_value() {
            Some(Value::Integer(i)) => u64::try_from(*i.value()).ok(),
            Some(Value::Float(f)) => {
                let x = *f.value();
                (x.fract() == 0.0 && (0.0..1.8e19).contains(&x)).then_some(x as u64)
            }
            _ => None,
        };
        match value {
            Some(v) if v >= min && v <= max => Ok(Some(v)),
            Some(v) if v > max => Err(self.err(key, format!("expected {what} no larger than {max}, found {v}"))),
            _ => Err(self.err(key, format!("expected {what}, found {}", found(item)))),
        }
    }

    fn whole_u32(&self, key: &str, min: u64) -> Result<Option<u32>> {
        Ok(self.whole(key, min, u64::from(u32::MAX))?.map(|v| v as u32))
    }

    /// A duration: a number of seconds or a string with a unit (`"20ms"`).
    fn duration(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(item) => duration_of(item).map(Some).map_err(|m| self.err(key, m)),
        }
    }

    /// A sub-table (`[service]` components, strategy tables).
    fn sub(&self, key: &str, title: String) -> Result<Option<Section<'a>>> {
        match self.get(key) {
            None => Ok(None),
            Some(item) => match item.as_table_like() {
                Some(t) => Ok(Some(Section { file: self.file, table: Some(t), path: self.child_path(key), title })),
                None => Err(self.err(key, format!("expected a table, found {}", found(item)))),
            },
        }
    }

    /// The elements of an array (of tables, or inline) at `key`.
    fn elements(&self, key: &str) -> Option<Vec<Element<'a>>> {
        let item = self.get(key)?;
        let path = self.child_path(key);
        let at = |i: usize| {
            let mut p = path.clone();
            p.push(Seg::Index(i));
            p
        };
        match item {
            Item::ArrayOfTables(a) => Some(
                a.iter()
                    .enumerate()
                    .map(|(i, t)| Element { path: at(i), table: Some(t as &dyn TableLike), value: None })
                    .collect(),
            ),
            Item::Value(Value::Array(a)) => Some(
                a.iter()
                    .enumerate()
                    .map(|(i, v)| Element {
                        path: at(i),
                        table: v.as_inline_table().map(|t| t as &dyn TableLike),
                        value: Some(v),
                    })
                    .collect(),
            ),
            _ => None,
        }
    }
}

/// One element of an array in the document.
struct Element<'a> {
    path: Vec<Seg>,
    table: Option<&'a dyn TableLike>,
    value: Option<&'a Value>,
}

impl<'a> Element<'a> {
    fn section(&self, file: &'a ExperimentFile, title: String) -> Section<'a> {
        Section { file, table: self.table, path: self.path.clone(), title }
    }

    fn found(&self) -> String {
        match self.value {
            Some(v) => found_value(v),
            None => "a table".into(),
        }
    }
}

fn number_of(item: &Item) -> Option<f64> {
    match item.as_value()? {
        Value::Integer(i) => Some(*i.value() as f64),
        Value::Float(f) => Some(*f.value()),
        _ => None,
    }
}

fn duration_of(item: &Item) -> std::result::Result<f64, String> {
    let seconds = match item.as_value() {
        Some(Value::String(s)) => crate::units::parse_duration(s.value())?,
        _ => match number_of(item) {
            Some(x) if x.is_finite() && x >= 0.0 => x,
            _ => {
                return Err(format!(
                    "expected a duration (seconds, or a string such as \"20ms\"), found {}",
                    found(item)
                ));
            }
        },
    };
    if seconds > MAX_DURATION {
        return Err(format!(
            "{seconds:e} s is longer than lbsim simulates (at most {MAX_DURATION:e} s, about 31 years): sums \
             of such times overflow"
        ));
    }
    Ok(seconds)
}

/// Refuses a backend `speed`, or a slowdown's `factor` on it, at which the mean request
/// would take longer than [`MAX_DURATION`]: as for every duration, sums of such times
/// overflow, and a speed of 1e-300 printed response times of 10²⁹⁸ s.
fn check_service_times(
    file: &ExperimentFile,
    groups: &[BackendGroup],
    faults: &[crate::model::Fault],
    io_fraction: f64,
    mean: f64,
) -> Result<()> {
    // The mean request's time at `speed`: its CPU share runs at that speed, its I/O does not.
    let time = |speed: f64| mean * ((1.0 - io_fraction) / speed + io_fraction);
    // The slowest speed within it.
    let slowest = (1.0 - io_fraction) / (MAX_DURATION / mean - io_fraction);
    let too_slow = |speed: f64, what: &str| {
        format!(
            "{what} a mean request ({} s of work{}) takes {} s, longer than lbsim simulates (at most {MAX_DURATION:e} s, \
             about 31 years)",
            figure(mean),
            if io_fraction > 0.0 { ", its CPU share at this speed" } else { "" },
            figure(time(speed))
        )
    };
    let at = |path: Vec<Seg>| file.locate(&path, false);
    for (i, g) in groups.iter().enumerate() {
        // (A mean below 1 ns at speed 1 is the service's to answer for: see `resolve`.)
        if time(g.speed) < MIN_MEAN_TIME && time(1.0) >= MIN_MEAN_TIME {
            let path = vec![Seg::Key("backends".into()), Seg::Index(i), Seg::Key("speed".into())];
            let fastest = (1.0 - io_fraction) / (MIN_MEAN_TIME / mean - io_fraction);
            return Err(at(path).with(format!(
                "at speed {} a mean request ({} s of work) takes {} s, below the {MIN_MEAN_TIME:e} s (1 ns) that lbsim \
                 resolves: expected a speed of at most {}",
                figure(g.speed),
                figure(mean),
                figure(time(g.speed)),
                figure(fastest)
            )));
        }
        if time(g.speed) > MAX_DURATION {
            let path = vec![Seg::Key("backends".into()), Seg::Index(i), Seg::Key("speed".into())];
            return Err(at(path).with(format!(
                "{}: expected a speed of at least {}",
                too_slow(g.speed, &format!("at speed {}", figure(g.speed))),
                figure(slowest)
            )));
        }
    }
    for (j, fault) in faults.iter().enumerate() {
        let crate::model::FaultKind::Slowdown { factor, .. } = fault.kind else { continue };
        // The slowest group the fault slows.
        let mut first = 0u32;
        let speed = groups
            .iter()
            .filter(|g| {
                let range = first..first + g.count;
                first += g.count;
                range.start < fault.backends.end && fault.backends.start < range.end
            })
            .map(|g| g.speed)
            .fold(f64::INFINITY, f64::min);
        if speed.is_finite() && time(speed * factor) > MAX_DURATION {
            let path = vec![Seg::Key("faults".into()), Seg::Index(j), Seg::Key("factor".into())];
            return Err(at(path).with(format!(
                "{}: expected a factor of at least {}",
                too_slow(speed * factor, &format!("slowed by {} from speed {}", figure(factor), figure(speed))),
                figure(slowest / speed)
            )));
        }
    }
    Ok(())
}

/// A figure of any magnitude in three significant digits, in scientific notation when plain
/// digits would run to dozens of zeros (`1e300`, `2.5e-12`), for messages about out-of-range values.
fn figure(x: f64) -> String {
    if x == 0.0 || !x.is_finite() || (1e-4..1e7).contains(&x.abs()) {
        return crate::units::significant(x, 3);
    }
    let text = format!("{x:.2e}");
    match text.split_once('e') {
        Some((mantissa, exponent)) if mantissa.contains('.') => {
            format!("{}e{exponent}", mantissa.trim_end_matches('0').trim_end_matches('.'))
        }
        _ => text,
    }
}

fn folder_safe(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

/// How far from 1 a mixture's weights may sum (the rounding of shares written with three
/// decimals: 0.333 three times); within it they are normalised.
const MIXTURE_WEIGHT_TOLERANCE: f64 = 1e-3;

/// A service distribution, checked but not yet built.
type ServiceBuilder = Box<dyn Fn() -> Result<ServiceDistribution>>;

/// An arrival process, checked but not yet built: given the rate (or `None` for a trace at
/// its native rate).
enum ArrivalSpec {
    Poisson,
    Deterministic,
    Gamma {
        cv: f64,
    },
    OnOff {
        peak: f64,
        mean_on: f64,
        mean_off: f64,
    },
    Diurnal {
        amplitude: f64,
        period: f64,
    },
    Trace(TraceRows),
    /// Closed-loop users ([clients] mode = "closed"): no [arrivals].
    Closed(ClosedLoop),
}

struct StrategyDraft {
    spec: StrategySpec,
    /// The array element, and whether it is a table (so parameters can be pointed at).
    at: ConfigError,
    path: Vec<Seg>,
    table: bool,
}

impl ExperimentFile {
    /// Validates everything and builds the experiment.
    pub fn resolve(&self) -> Result<Experiment> {
        let root = self.doc().as_table();
        let top =
            Section { file: self, table: Some(root as &dyn TableLike), path: Vec::new(), title: "the file".into() };
        for (key, item) in root.iter() {
            if item.is_none() {
                continue;
            }
            if !schema::SECTIONS.contains(&key) {
                let message = match nearest(key, schema::SECTIONS.iter().copied()) {
                    Some(s) => format!("unknown section [{key}]; did you mean [{s}]?"),
                    None => format!("unknown section [{key}] (sections are {})", schema::SECTIONS.join(", ")),
                };
                return Err(top.err_key(key, message));
            }
            if key != "backends" && key != "faults" && !item.is_table_like() {
                return Err(top.err(key, format!("expected a table [{key}], found {}", found(item))));
            }
        }
        let section = |name: &str| -> Result<Section<'_>> {
            Ok(top.sub(name, format!("[{name}]"))?.unwrap_or(Section {
                file: self,
                table: None,
                path: vec![Seg::Key(name.to_string())],
                title: format!("[{name}]"),
            }))
        };

        // Phase 1: structure.
        let experiment = section("experiment")?;
        experiment.check_keys(schema::EXPERIMENT_KEYS, &|_| None)?;
        let name = match experiment.string("name")? {
            Some(name) => name,
            None => self.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
        };
        if !folder_safe(&name) {
            let at = if experiment.has("name") { experiment.err("name", "") } else { experiment.err_here("") };
            let hint =
                if experiment.has("name") { "" } else { " (it defaults to the file name; set [experiment] name)" };
            return Err(at.with(format!(
                "the experiment name must be usable as a folder name (letters, digits, '-', '_', '.'), found \"{name}\"{hint}"
            )));
        }
        let seed = experiment.whole("seed", 0, u64::MAX)?.unwrap_or(1);
        let description = experiment.string("description")?;

        let plan = read_run(&section("run")?)?;
        let arrivals = section("arrivals")?;
        let clients_section = section("clients")?;
        let closed = read_closed_loop(self, &clients_section)?;
        if let Some(c) = &closed {
            // Every user sends its first request at time 0: with as many users as the run has
            // requests, every request is some user's first, so the measured requests all
            // arrive at one instant and no loop is run (its throughput, utilisation and cycle
            // would print as NaN).
            let warmup = match plan.warmup {
                Warmup::Fixed(w) => w,
                Warmup::Auto => 0,
            };
            let sent = plan.requests.saturating_add(warmup);
            if u64::from(c.users) >= sent {
                return Err(clients_section.err(
                    "users",
                    format!(
                        "{} users send their first requests together at the start, but the run has only {sent} \
                         requests ([run] requests and warmup), so it would end before any user's second and \
                         measure no loop: expected fewer users than requests, or set [run] requests well above \
                         users (each user should send several)",
                        c.users
                    ),
                ));
            }
        }
        let users = closed.as_ref().map(|c| c.max_users());
        let (arrival_spec, intensity, arrivals_at) = match closed {
            Some(users) => {
                if arrivals.table.is_some() {
                    return Err(arrivals.err_here(
                        "[clients] mode = \"closed\": the users send the requests (each waits for its response, \
                         thinks, and sends the next), so the arrival rate is an output; remove [arrivals] \
                         (or set mode = \"open\" to keep it)",
                    ));
                }
                (ArrivalSpec::Closed(users), Intensity::Users, clients_section.err_here(""))
            }
            None => read_arrivals(self, &arrivals)?,
        };
        let service = section("service")?;
        // A trace with a size column carries its own work: its sizes are simulated, so they
        // (not a [service] section) define the mean request size behind `load`, the offered
        // load reported and SITA's cutoffs. A [service] beside them would be silently
        // ignored for the simulation yet used for those figures, so it is refused. Only
        // `io_fraction` may stay: it says how each request's work splits into CPU and I/O,
        // not how much work there is.
        let trace_sizes = match &arrival_spec {
            ArrivalSpec::Trace(rows) => rows.sizes.clone(),
            _ => None,
        };
        if trace_sizes.is_some()
            && let Some(key) = service.keys().into_iter().find(|k| k != "io_fraction")
        {
            return Err(service.err(
                &key,
                format!(
                    "the trace has a size column, so the request sizes, the mean behind `load` and \
                     SITA's cutoffs all come from the trace; remove [service] (or drop the trace's \
                     size column to draw sizes from [service]); beside a trace with sizes [service] \
                     may give only io_fraction, found `{key}`"
                ),
            ));
        }
        let service_builder = match trace_sizes {
            None => read_service(self, &service, true)?,
            Some(sizes) => {
                let at = arrivals_at.clone();
                Box::new(move || {
                    ServiceDistribution::empirical(Arc::from(sizes.as_slice())).map_err(|e| at.with(e.what))
                }) as ServiceBuilder
            }
        };
        let (clients, addresses) = read_clients(&clients_section, users)?;
        let io_fraction = service
            .number_where("io_fraction", "a fraction between 0 (pure CPU) and 1 (pure I/O)", |x| {
                (0.0..=1.0).contains(&x)
            })?
            .unwrap_or(0.0);
        let client = faults::read_client_policy(&clients_section, crate::model::ClientPolicy::default())?;
        let (backends, upstreams, costs) = read_backends(self, &top)?;
        let faults = faults::read_faults(self, &top, &backends)?;
        if io_fraction > 0.0 {
            if let Some(g) = backends.iter().find(|g| matches!(g.worker_class, WorkerClass::Async { .. })) {
                return Err(service.err(
                    "io_fraction",
                    format!("backend \"{}\" has worker_class = \"async\", the pooled processor-sharing model, which has no I/O phases; use worker_class = \"gevent\" (gunicorn's async workers) or \"sync\"/\"gthread\"", g.name),
                ));
            }
        }
        let balancer_section = section("balancer")?;
        let drafts = read_strategies(self, &balancer_section, &client)?;
        let mut balancer = read_balancer(self, &balancer_section)?;
        check_upstreams(&balancer_section, &balancer, &upstreams)?;
        balancer.upstreams = upstreams.into_iter().map(|(u, _)| u).collect();

        // Phase 2: build.
        let service_at = service.err_here("");
        let service = service_builder()?;
        let mean_size = service.mean();
        if mean_size.is_finite() && mean_size > MAX_DURATION {
            return Err(service_at.with(format!(
                "this distribution's mean request is {mean_size:e} s, longer than lbsim simulates (at most \
                 {MAX_DURATION:e} s, about 31 years)"
            )));
        }
        if mean_size < MIN_MEAN_TIME {
            return Err(service_at.with(format!(
                "this distribution's mean request is {} s, below the {MIN_MEAN_TIME:e} s (1 ns) that lbsim resolves: \
                 rates and time averages over such requests are rounding errors",
                figure(mean_size)
            )));
        }
        if matches!(intensity, Intensity::Users) && !mean_size.is_finite() {
            return Err(service_at.with(format!(
                "closed-loop users need a finite mean request size (the loop's demand and its throughput bound, \
                 capacity ÷ mean, are built on it), but {} has an infinite mean; use alpha > 1, or bounded_pareto \
                 for a heavy tail with a finite mean",
                service.describe()
            )));
        }
        if mean_size.is_finite() {
            check_service_times(self, &backends, &faults, io_fraction, mean_size)?;
        }
        let clients = clients()?;
        let capacity: f64 = backends.iter().map(|g| f64::from(g.count) * g.capacity_for(io_fraction)).sum();
        let model_error = |at: &ConfigError, e: ModelError| at.with(e.what);
        let rate = match intensity {
            Intensity::Load(load) => {
                let mean = service.mean();
                if !(mean.is_finite() && mean > 0.0) {
                    return Err(service_at.with(format!(
                        "arrivals.load needs a finite, positive mean request size to derive the rate, but this distribution's mean is {mean}; give arrivals.rate instead"
                    )));
                }
                let rate = load * capacity / mean;
                // The rate a load asks for is bounded as a rate written out is.
                if !(MIN_RATE..=MAX_RATE).contains(&rate) {
                    return Err(arrivals.err(
                        "load",
                        format!(
                            "load {} asks for {} requests per second (load × capacity {} ÷ mean request {} s), \
                             outside what lbsim simulates ({MIN_RATE:e} to {MAX_RATE:e} per second, a mean gap \
                             between 1 ns and {MAX_DURATION:e} s): expected a load between {} and {} for this cluster",
                            number_text(load),
                            figure(rate),
                            figure(capacity),
                            figure(mean),
                            figure(MIN_RATE * mean / capacity),
                            figure(MAX_RATE * mean / capacity),
                        ),
                    ));
                }
                Some(rate)
            }
            Intensity::Rate(rate) => Some(rate),
            Intensity::Native | Intensity::Users => None,
        };
        let process = match (arrival_spec, rate) {
            (ArrivalSpec::Trace(rows), rate) => {
                let trace =
                    Trace::new(rows.times, rows.sizes, rows.clients).map_err(|e| model_error(&arrivals_at, e))?;
                let process = ArrivalProcess::trace(Arc::new(trace), 1.0).map_err(|e| model_error(&arrivals_at, e))?;
                match rate {
                    Some(rate) => process.with_rate(rate),
                    None => Ok(process),
                }
            }
            (ArrivalSpec::Closed(users), _) => Ok(ArrivalProcess::Closed(Arc::new(users))),
            (spec, rate) => {
                let rate = rate.unwrap_or(1.0);
                match spec {
                    ArrivalSpec::Poisson => ArrivalProcess::poisson(rate),
                    ArrivalSpec::Deterministic => ArrivalProcess::deterministic(rate),
                    ArrivalSpec::Gamma { cv } => ArrivalProcess::gamma(rate, cv),
                    ArrivalSpec::OnOff { peak, mean_on, mean_off } => {
                        ArrivalProcess::on_off(rate, peak, mean_on, mean_off)
                    }
                    ArrivalSpec::Diurnal { amplitude, period } => ArrivalProcess::diurnal(rate, amplitude, period),
                    ArrivalSpec::Trace(_) | ArrivalSpec::Closed(_) => unreachable!("handled above"),
                }
            }
        }
        .map_err(|e| model_error(&arrivals_at, e))?;
        // A burst's rate obeys the bound on a mean rate: beyond 1e9 per second its gaps are
        // under 1 ns and, added to a clock of seconds, round to 0, so a burst's arrivals
        // collapse onto one instant as too bursty gamma gaps did.
        if let ArrivalProcess::OnOff { rate, peak, .. } = process {
            if peak * rate > MAX_RATE {
                return Err(arrivals.err(
                    "peak",
                    format!(
                        "on_off: peak ×{} at a mean rate of {} per second sends {} requests per second in a burst, \
                         more than lbsim simulates ({MAX_RATE:e} per second, a gap of 1 ns): expected a peak of at \
                         most {}",
                        figure(peak),
                        figure(rate),
                        figure(peak * rate),
                        figure(MAX_RATE / rate)
                    ),
                ));
            }
        }

        let infos: Vec<BackendInfo> = backends
            .iter()
            .flat_map(|g| {
                (0..g.count).map(move |i| BackendInfo {
                    name: g.backend_name(i),
                    workers: g.workers,
                    speed: g.speed,
                    capacity: g.capacity_for(io_fraction),
                    weight: g.weight.unwrap_or_else(|| g.capacity_for(io_fraction)),
                    configured_weight: g.weight,
                    fcfs: matches!(g.worker_class, WorkerClass::Sync) && !g.needs_station(io_fraction),
                    // (Strategies are built here only to check their parameters.)
                    speed_changes: false,
                })
            })
            .collect();
        let mut strategies = Vec::new();
        for draft in drafts {
            let setup = Setup {
                backends: &infos,
                service: &service,
                params: &draft.spec.params,
                addresses,
                rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            };
            registry::build(&draft.spec.name, &setup).map_err(|e| {
                // Point at the offending parameter when it was written in a table.
                let at = match &e {
                    StrategyError::BadParam { param, .. } | StrategyError::UnknownParam { param, .. }
                        if draft.table =>
                    {
                        let mut path = draft.path.clone();
                        path.push(Seg::Key(param.clone()));
                        self.locate(&path, matches!(e, StrategyError::UnknownParam { .. }))
                    }
                    _ => draft.at.clone(),
                };
                at.with(e.to_string())
            })?;
            let needs = registry::find(&draft.spec.name).map(|i| i.needs).unwrap_or(Needs::Oracle);
            let effective = draft.spec.balancer.apply(&balancer, backends.len());
            if needs == Needs::Oracle && !effective.information.answers_oracle_queries() {
                return Err(draft.at.with(format!(
                    "strategy \"{}\" needs {}, but info = {} gives the balancer only request counts; use info = \"exact\" or a strategy that decides on counts",
                    draft.spec.name,
                    Needs::Oracle.describe(),
                    effective.information.describe()
                )));
            }
            if let Mode::Redirect { .. } = effective.mode {
                if effective.hedge.is_some() {
                    return Err(draft.at.with(
                        "a redirect proxy is not in the request's path, so it cannot send a second copy (hedge)",
                    ));
                }
                if effective.information == Information::Local {
                    return Err(draft.at.with(
                        "a redirect proxy never sees responses, so it cannot count its requests in flight (info = \"local\")",
                    ));
                }
                if effective.upstreams.iter().any(|u| u.max_conns.is_some() || u.maxconn.is_some()) {
                    return Err(draft.at.with(
                        "a redirect proxy is not in the request's path, so it cannot cap connections to a backend",
                    ));
                }
            }
            let client = draft.spec.balancer.client.unwrap_or(client);
            if draft.spec.name == "central_queue"
                && ((client.cancel && client.timeout.is_some())
                    || (effective.hedge_cancel && effective.hedge.is_some()))
            {
                return Err(draft.at.with(
                    "central_queue models a shared FCFS queue whose start times are known on arrival, but cancelling (a client's cancel, hedge_cancel) takes requests back out of the backends; compare cancellation with another strategy",
                ));
            }
            if effective.hedge_cancel && effective.hedge.is_none() {
                let message = "hedge_cancel = true cancels the losing copy of a hedged request, but this strategy's runs do not hedge; add hedge = \"p95\" (or a delay such as \"50ms\"), or remove hedge_cancel";
                return Err(match (draft.spec.balancer.hedge_cancel, balancer_section.has("hedge_cancel")) {
                    (None, true) => balancer_section.err("hedge_cancel", message),
                    _ => draft.at.with(message),
                });
            }
            if effective.queue_timeout.is_some() && !effective.queues() {
                return Err(draft.at.with(
                    "[balancer] queue_timeout needs a queue, but this strategy's runs cap backends with max_conns (nginx: no queue); use maxconn",
                ));
            }
            strategies.push(draft.spec);
        }

        Ok(Experiment {
            name,
            description,
            seed,
            plan,
            intensity,
            model: Model {
                arrivals: process,
                service,
                clients,
                addresses,
                backends,
                io_fraction,
                balancer,
                faults,
                client,
            },
            strategies,
            slo_limit: None,
            costs,
        })
    }
}

fn read_run(run: &Section<'_>) -> Result<RunPlan> {
    run.check_keys(schema::RUN_KEYS, &|_| None)?;
    let requests = run.whole("requests", 1, u64::MAX)?.unwrap_or(100_000);
    let warmup = match run.get("warmup") {
        None => Warmup::Fixed(requests / 10),
        Some(item) if item.as_str() == Some("auto") => Warmup::Auto,
        Some(item) if item.as_str().is_some() => {
            return Err(run.err("warmup", format!("expected a whole number ≥ 0 or \"auto\", found {}", found(item))));
        }
        Some(_) => Warmup::Fixed(
            run.whole("warmup", 0, u64::MAX)
                .map_err(|e| {
                    let shown = run.get("warmup").map(found).unwrap_or_default();
                    e.with(format!("expected a whole number ≥ 0 or \"auto\", found {shown}"))
                })?
                .unwrap_or(0),
        ),
    };
    let replications = run.whole_u32("replications", 1)?.unwrap_or(1);
    let precision = run.number_where("precision", "a fraction between 0 and 1 (exclusive)", |p| p > 0.0 && p < 1.0)?;
    let default_max = if precision.is_some() { replications.max(30) } else { replications };
    let max_replications = run.whole_u32("max_replications", 1)?.unwrap_or(default_max);
    if max_replications < replications {
        return Err(run.err(
            "max_replications",
            format!("max_replications ({max_replications}) must be ≥ replications ({replications})"),
        ));
    }
    let series = match run.duration("series")? {
        Some(w) if w > 0.0 => Some(w),
        Some(_) => return Err(run.err("series", "expected a positive window length (e.g. \"1s\"), found 0")),
        None => None,
    };
    Ok(RunPlan { requests, warmup, replications, precision, max_replications, series })
}

fn read_arrivals(file: &ExperimentFile, arrivals: &Section<'_>) -> Result<(ArrivalSpec, Intensity, ConfigError)> {
    let process = arrivals.choice("process", schema::PROCESSES, "poisson")?;
    let mut allowed = schema::ARRIVALS_COMMON.to_vec();
    allowed.extend_from_slice(schema::process_keys(&process));
    let process_name = process.clone();
    arrivals.check_keys(&allowed, &|key| {
        let takers = schema::processes_taking(key);
        (!takers.is_empty()).then(|| {
            format!("\"{key}\" is a parameter of process {}, not of \"{process_name}\"", quoted_list(&takers, "and"))
        })
    })?;
    let load = arrivals.number_where("load", "a positive offered load (e.g. 0.8)", |x| x > 0.0)?;
    let rate = arrivals.number_where(
        "rate",
        &format!("a rate between {MIN_RATE:e} and {MAX_RATE:e} requests per second (a mean gap between 1 ns and {MAX_DURATION:e} s)"),
        |x| (MIN_RATE..=MAX_RATE).contains(&x),
    )?;
    let intensity = match (load, rate) {
        (Some(_), Some(_)) => {
            return Err(
                arrivals.err("rate", "give either load (offered utilisation) or rate (requests per second), not both")
            );
        }
        (Some(load), None) => Intensity::Load(load),
        (None, Some(rate)) => Intensity::Rate(rate),
        (None, None) if process == "trace" => Intensity::Native,
        (None, None) => {
            return Err(arrivals.err_here(
                "expected either load (offered utilisation, e.g. 0.8) or rate (requests per second), found neither",
            ));
        }
    };
    let required = |key: &str, value: Option<f64>| {
        value.ok_or_else(|| arrivals.err_here(format!("process \"{process}\" needs \"{key}\"")))
    };
    let spec = match process.as_str() {
        "poisson" => ArrivalSpec::Poisson,
        "deterministic" => ArrivalSpec::Deterministic,
        "gamma" => {
            let cv = required("cv", arrivals.positive("cv")?)?;
            // At the key, not the table: the bound is on the value written.
            ArrivalSpec::Gamma { cv: ArrivalProcess::gamma_cv(cv).map_err(|e| arrivals.err("cv", e.what))? }
        }
        "on_off" => ArrivalSpec::OnOff {
            peak: required("peak", arrivals.number_where("peak", "a ratio ≥ 1", |x| x >= 1.0)?)?,
            mean_on: required("mean_on", arrivals.duration("mean_on")?)?,
            mean_off: required("mean_off", arrivals.duration("mean_off")?)?,
        },
        "diurnal" => ArrivalSpec::Diurnal {
            amplitude: required(
                "amplitude",
                arrivals.number_where("amplitude", "a number between 0 and 1", |x| (0.0..=1.0).contains(&x))?,
            )?,
            period: required("period", arrivals.duration("period")?)?,
        },
        _ => {
            let Some(name) = arrivals.string("file")? else {
                return Err(arrivals.err_here("process \"trace\" needs \"file\" (a CSV of time[,size[,client]])"));
            };
            let (shown, text) = read_relative(file.folder(), &name).map_err(|m| arrivals.err("file", m))?;
            ArrivalSpec::Trace(parse_trace(&shown, &text)?)
        }
    };
    let at = if process == "trace" && arrivals.has("file") { arrivals.err("file", "") } else { arrivals.err_here("") };
    Ok((spec, intensity, at))
}

fn read_service(file: &ExperimentFile, service: &Section<'_>, top_level: bool) -> Result<ServiceBuilder> {
    let distribution = service.choice("distribution", schema::DISTRIBUTIONS, "exponential")?;
    let mut allowed = schema::distribution_keys(&distribution);
    allowed.push("distribution");
    if top_level {
        allowed.extend_from_slice(schema::SERVICE_EXTRA);
    } else {
        allowed.push("weight");
    }
    let dist_name = distribution.clone();
    service.check_keys(&allowed, &|key| {
        let takers = schema::distributions_taking(key);
        (!takers.is_empty()).then(|| {
            format!(
                "\"{key}\" is not a parameter of distribution \"{dist_name}\" (it takes {}); \"{key}\" is used by {}",
                quoted_list(&schema::distribution_keys(&dist_name), "and"),
                quoted_list(&takers, "and")
            )
        })
    })?;
    if distribution == "mixture" && !top_level {
        return Err(service.err(
            "distribution",
            "a mixture component cannot itself be a mixture; list its components in the outer mixture",
        ));
    }
    // Exactly one accepted parameter set.
    let forms = schema::distribution_forms(&distribution);
    let mut present: Vec<&str> =
        schema::distribution_keys(&distribution).into_iter().filter(|k| service.has(k)).collect();
    present.sort_unstable();
    let form = forms.iter().find(|f| {
        let mut f = f.to_vec();
        f.sort_unstable();
        f == present
    });
    let Some(form) = form else {
        let accepted: Vec<String> = forms.iter().map(|f| f.join(" + ")).collect();
        let found = if present.is_empty() { "none of them".to_string() } else { present.join(" + ") };
        let what = if accepted.len() == 1 {
            format!("needs {}", accepted[0])
        } else {
            format!("takes either {}", accepted.join(", or "))
        };
        return Err(service.err_here(format!("distribution \"{distribution}\" {what}; found {found}")));
    };
    // A constructor's error names the parameter at fault ("gamma: cv must be …"): it is
    // located at that key's line, else at the table's.
    let at = ParamAt {
        table: service.err_here(""),
        keys: form.iter().map(|k| (k.to_string(), service.err(k, ""))).collect(),
        distribution: distribution.clone(),
    };
    let time = |key: &str| -> Result<f64> { Ok(service.duration(key)?.unwrap_or(f64::NAN)) };
    let num = |key: &str| -> Result<f64> { Ok(service.number(key)?.unwrap_or(f64::NAN)) };
    let two = |ctor: fn(f64, f64) -> std::result::Result<ServiceDistribution, ModelError>,
               a: f64,
               b: f64|
     -> ServiceBuilder {
        let at = at.clone();
        Box::new(move || ctor(a, b).map_err(|e| at.error(e)))
    };
    let uses = |key: &str| form.contains(&key);
    let builder: ServiceBuilder = match distribution.as_str() {
        "exponential" => {
            let mean = time("mean")?;
            let at = at.clone();
            Box::new(move || ServiceDistribution::exponential(mean).map_err(|e| at.error(e)))
        }
        "deterministic" => {
            let value = if uses("value") { time("value")? } else { time("mean")? };
            let at = at.clone();
            Box::new(move || ServiceDistribution::deterministic(value).map_err(|e| at.error(e)))
        }
        "uniform" if uses("min") => two(ServiceDistribution::uniform, time("min")?, time("max")?),
        "uniform" => two(ServiceDistribution::uniform_mean_cv, time("mean")?, num("cv")?),
        "gamma" if uses("shape") => two(ServiceDistribution::gamma, num("shape")?, time("scale")?),
        "gamma" => two(ServiceDistribution::gamma_mean_cv, time("mean")?, num("cv")?),
        "lognormal" if uses("mu") => two(ServiceDistribution::lognormal, num("mu")?, num("sigma")?),
        "lognormal" => two(ServiceDistribution::lognormal_mean_cv, time("mean")?, num("cv")?),
        "weibull" if uses("shape") => two(ServiceDistribution::weibull, num("shape")?, time("scale")?),
        "weibull" => two(ServiceDistribution::weibull_mean_cv, time("mean")?, num("cv")?),
        "pareto" if uses("min") => two(ServiceDistribution::pareto, num("alpha")?, time("min")?),
        "pareto" => two(ServiceDistribution::pareto_mean, num("alpha")?, time("mean")?),
        "bounded_pareto" => {
            let (alpha, min, max) = (num("alpha")?, time("min")?, time("max")?);
            let at = at.clone();
            Box::new(move || ServiceDistribution::bounded_pareto(alpha, min, max).map_err(|e| at.error(e)))
        }
        "hyperexponential" => two(ServiceDistribution::hyperexponential, time("mean")?, num("cv")?),
        "mixture" => {
            let Some(elements) = service.elements("components") else {
                let item = service.get("components").map(found).unwrap_or_default();
                return Err(service.err("components", format!("expected an array of tables such as [{{ weight = 0.9, distribution = \"exponential\", mean = \"5ms\" }}], found {item}")));
            };
            if elements.is_empty() {
                return Err(service.err("components", "a mixture needs at least one component"));
            }
            let mut parts = Vec::new();
            for (i, element) in elements.iter().enumerate() {
                if element.table.is_none() {
                    return Err(file.locate(&element.path, false).with(format!(
                        "expected a table such as {{ weight = 0.9, distribution = \"exponential\", mean = \"5ms\" }}, found {}",
                        element.found()
                    )));
                }
                let component = element.section(file, format!("mixture component {}", i + 1));
                let Some(weight) = component.positive("weight")? else {
                    return Err(component.err_here("a mixture component needs a positive \"weight\""));
                };
                parts.push((weight, read_service(file, &component, false)?));
            }
            // Each weight is the share of requests its component draws: weights that do not
            // add up to 1 are a slip (0.95 + 0.1) more often than a choice, and normalising
            // them silently would simulate shares the file does not say. Rounded shares
            // (0.333 three times) are within the tolerance, and normalised.
            let total: f64 = parts.iter().map(|(w, _)| w).sum();
            // (The slack keeps 0.667 + 0.334, 1.0010000000000001 in floats, within.)
            if (total - 1.0).abs() > MIXTURE_WEIGHT_TOLERANCE * (1.0 + 1e-9) {
                let shares: Vec<String> = parts.iter().map(|(w, _)| crate::units::significant(w / total, 3)).collect();
                return Err(service.err(
                    "components",
                    format!(
                        "the components' weights sum to {}, not 1: each weight is the share of requests drawn from \
                         its component (0.95 = 95 %); make them sum to 1 (these proportions are {})",
                        crate::units::significant(total, 6),
                        shares.join(", ")
                    ),
                ));
            }
            let at = at.clone();
            Box::new(move || {
                let components = parts
                    .iter()
                    .map(|(weight, build)| Ok(MixtureComponent { weight: *weight, distribution: build()? }))
                    .collect::<Result<Vec<_>>>()?;
                ServiceDistribution::mixture(components).map_err(|e| at.error(e))
            })
        }
        _ => {
            let samples: Vec<f64> = if uses("samples") {
                let Some(elements) = service.elements("samples") else {
                    let item = service.get("samples").map(found).unwrap_or_default();
                    return Err(service.err("samples", format!("expected an array of sizes, found {item}")));
                };
                let mut samples = Vec::new();
                for element in elements {
                    let value = element.value.map(|v| Item::Value(v.clone()));
                    let x = value
                        .as_ref()
                        .ok_or_else(|| "expected a size, found a table".to_string())
                        .and_then(duration_of)
                        .map_err(|m| file.locate(&element.path, false).with(m))?;
                    samples.push(x);
                }
                if samples.is_empty() {
                    return Err(service.err("samples", "expected at least one sample"));
                }
                samples
            } else {
                let name = service.string("file")?.unwrap_or_default();
                let (shown, text) = read_relative(file.folder(), &name).map_err(|m| service.err("file", m))?;
                parse_samples(&shown, &text)?
            };
            let samples: Arc<[f64]> = samples.into();
            let at = at.clone();
            Box::new(move || ServiceDistribution::empirical(samples.clone()).map_err(|e| at.error(e)))
        }
    };
    Ok(builder)
}

/// A distribution whose mean lbsim needs: built as [`read_service`] builds it, and refused
/// when its mean is infinite (a Pareto with alpha ≤ 1), with `why` (what needs the mean) and
/// what to use instead, at the `alpha` that makes it so when the table gives one.
pub(super) fn read_finite_mean(
    file: &ExperimentFile,
    sub: &Section<'_>,
    top_level: bool,
    why: &str,
) -> Result<ServiceDistribution> {
    let dist = read_service(file, sub, top_level)?()?;
    if dist.mean().is_finite() {
        return Ok(dist);
    }
    let at = if sub.has("alpha") { sub.err("alpha", "") } else { sub.err_here("") };
    Err(at.with(format!(
        "{why}, but {} has an infinite mean (a Pareto's is infinite for alpha ≤ 1); use alpha > 1, or \
         bounded_pareto for a heavy tail with a finite mean",
        dist.describe()
    )))
}

/// Where a distribution's parameters were written, to locate a constructor's error.
#[derive(Clone)]
struct ParamAt {
    table: ConfigError,
    keys: Vec<(String, ConfigError)>,
    distribution: String,
}

impl ParamAt {
    /// At the key the message names (`"gamma: cv must be …"`), else at the table.
    fn error(&self, e: ModelError) -> ConfigError {
        let named = |key: &str| e.what.starts_with(&format!("{}: {key} ", self.distribution));
        match self.keys.iter().find(|(key, _)| named(key)) {
            Some((_, at)) => at.with(e.what),
            None => self.table.with(e.what),
        }
    }
}

type ClientsBuilder = Box<dyn Fn() -> Result<ClientPopulation>>;

/// The client population: `users` closed-loop users are one client each; otherwise
/// `count` clients with a popularity law.
fn read_clients(clients: &Section<'_>, users: Option<u32>) -> Result<(ClientsBuilder, ClientAddresses)> {
    let popularity = clients.choice("popularity", &["uniform", "zipf"], "uniform")?;
    clients.check_keys(schema::CLIENTS_KEYS, &|_| None)?;
    let addresses = match clients.whole("subnets", 1, u64::from(MAX_SUBNETS))? {
        None => ClientAddresses::scattered(),
        Some(k) => ClientAddresses::in_subnets(k as u32).map_err(|e| clients.err("subnets", e.what))?,
    };
    let at = clients.err_here("");
    if let Some(users) = users {
        // Each user is one client (its own connection and address).
        return Ok((Box::new(move || ClientPopulation::new_uniform(users).map_err(|e| at.with(e.what))), addresses));
    }
    let count = clients.whole_u32("count", 1)?.unwrap_or(10_000);
    if popularity == "uniform" {
        if clients.has("s") {
            return Err(clients.err_key("s", "\"s\" (the Zipf exponent) is only used with popularity = \"zipf\""));
        }
        return Ok((Box::new(move || ClientPopulation::new_uniform(count).map_err(|e| at.with(e.what))), addresses));
    }
    let s = clients.positive("s")?.unwrap_or(1.0);
    Ok((Box::new(move || ClientPopulation::new_zipf(count, s).map_err(|e| at.with(e.what))), addresses))
}

/// The closed-loop users of `[clients] mode = "closed"` (`None` in the default open mode,
/// where the closed-loop keys are refused).
fn read_closed_loop(file: &ExperimentFile, clients: &Section<'_>) -> Result<Option<ClosedLoop>> {
    let mode = clients.choice("mode", &["open", "closed"], "open")?;
    clients.check_keys(schema::CLIENTS_KEYS, &|_| None)?;
    if mode == "open" {
        for key in schema::CLOSED_LOOP_KEYS {
            if clients.has(key) {
                return Err(clients.err_key(
                    key,
                    format!(
                        "\"{key}\" describes closed-loop users; set [clients] mode = \"closed\" to use it (open-loop arrivals come from [arrivals])"
                    ),
                ));
            }
        }
        return Ok(None);
    }
    for key in ["count", "popularity", "s"] {
        if clients.has(key) {
            return Err(clients.err_key(
                key,
                format!(
                    "\"{key}\" sets the open-loop client population; in mode = \"closed\" every user is one client (remove \"{key}\", set \"users\")"
                ),
            ));
        }
    }
    let ramp = read_ramp(file, clients)?;
    if !ramp.is_empty() {
        // A ramp starts from `users` (0 if not given).
        let users = clients.whole_u32("users", 0)?.unwrap_or(0);
        let think = read_think(file, clients)?;
        return ClosedLoop::ramped(users, think, ramp).map(Some).map_err(|e| clients.err("ramp", e.what));
    }
    let Some(item) = clients.get("users") else {
        return Err(clients.err_here(
            "[clients] mode = \"closed\" needs \"users\": how many users send requests (e.g. users = 50), \
             or a ramp (ramp = [{ for = \"60s\", to = 200 }])",
        ));
    };
    let users = match clients.whole_u32("users", 1) {
        Ok(users) => users.expect("present"),
        Err(_) if number_of(item) == Some(0.0) => {
            return Err(clients.err("users", "a closed loop needs at least 1 user (found users = 0)"));
        }
        Err(e) => return Err(e),
    };
    let think = read_think(file, clients)?;
    ClosedLoop::new(users, think).map(Some).map_err(|e| clients.err("users", e.what))
}

/// `ramp = [{ for = "60s", to = 200 }, { for = "5m", to = 200 }]`: a load test's profile
/// (k6's `stages`), from `users` at the start.
fn read_ramp(file: &ExperimentFile, clients: &Section<'_>) -> Result<Vec<Stage>> {
    let Some(item) = clients.get("ramp") else { return Ok(Vec::new()) };
    let example = "[{ for = \"60s\", to = 200 }, { for = \"5m\", to = 200 }]";
    let Some(elements) = clients.elements("ramp") else {
        return Err(clients.err(
            "ramp",
            format!(
                "expected a list of stages, each moving the users linearly to `to` over `for`, such as {example}; found {}",
                found(item)
            ),
        ));
    };
    if elements.is_empty() {
        return Err(clients.err("ramp", format!("an empty ramp: give at least one stage, such as {example}")));
    }
    let mut stages = Vec::with_capacity(elements.len());
    for (i, element) in elements.iter().enumerate() {
        if element.table.is_none() {
            return Err(file.locate(&element.path, false).with(format!(
                "expected a ramp stage such as {{ for = \"60s\", to = 200 }}, found {}",
                element.found()
            )));
        }
        let stage = element.section(file, format!("[clients] ramp stage {}", i + 1));
        stage.check_keys(&["for", "to"], &|_| None)?;
        let duration = match stage.duration("for")? {
            Some(d) if d > 0.0 => d,
            Some(_) => {
                return Err(stage.err("for", "expected a positive duration (how long the stage takes), found 0"));
            }
            None => return Err(stage.err_here("a ramp stage needs \"for\": how long it takes (e.g. for = \"60s\")")),
        };
        let Some(to) = stage.whole_u32("to", 0)? else {
            return Err(stage.err_here("a ramp stage needs \"to\": the number of users at its end (e.g. to = 200)"));
        };
        stages.push(Stage { duration, to });
    }
    Ok(stages)
}

/// A think time: a duration (`"1s"`, constant; `0` for none, as wrk) or a distribution
/// table (`{ distribution = "exponential", mean = "1s" }`). Required in closed mode.
fn read_think(file: &ExperimentFile, clients: &Section<'_>) -> Result<Option<ServiceDistribution>> {
    let Some(item) = clients.get("think") else {
        return Err(clients.err_here(
            "[clients] mode = \"closed\" needs \"think\": the time a user waits between a response and its next request, \
             e.g. think = { distribution = \"exponential\", mean = \"1s\" }, think = \"500ms\", or think = 0 for none",
        ));
    };
    if item.is_table_like() {
        let sub = clients.sub("think", "[clients] think".to_string())?.expect("present");
        let dist = read_finite_mean(
            file,
            &sub,
            true,
            "a think time needs a finite mean (the users' cycle, response + think, and their throughput bound N/(D + Z) are built on it)",
        )?;
        return Ok(Some(dist));
    }
    let think = duration_of(item).map_err(|_| {
        clients.err(
            "think",
            format!(
                "expected a think time ≥ 0 (seconds, or a string such as \"1s\") or a distribution such as {{ distribution = \"exponential\", mean = \"1s\" }}, found {}",
                found(item)
            ),
        )
    })?;
    if think == 0.0 {
        return Ok(None);
    }
    ServiceDistribution::deterministic(think).map(Some).map_err(|e| clients.err("think", e.what))
}

/// Where a group's proxy settings were written, for errors found once all are read.
struct UpstreamAt {
    max_conns: Option<ConfigError>,
    maxconn: Option<ConfigError>,
}

/// A round-trip time: a duration (`"2ms"`, constant) or a distribution table
/// (`{ distribution = "exponential", mean = "2ms" }`). Zero means no delay.
fn read_rtt(file: &ExperimentFile, section: &Section<'_>, key: &str) -> Result<Option<ServiceDistribution>> {
    let Some(item) = section.get(key) else { return Ok(None) };
    if item.is_table_like() {
        let sub = section.sub(key, format!("{} {key}", section.title))?.expect("present");
        let dist = read_finite_mean(
            file,
            &sub,
            true,
            "a round-trip time needs a finite mean (every response waits on it, so its mean response would be infinite)",
        )?;
        return Ok(Some(dist));
    }
    let rtt = duration_of(item).map_err(|_| {
        section.err(
            key,
            format!(
                "expected a round-trip time ≥ 0 (seconds, or a string such as \"2ms\") or a distribution such as {{ distribution = \"exponential\", mean = \"2ms\" }}, found {}",
                found(item)
            ),
        )
    })?;
    if rtt == 0.0 {
        return Ok(None);
    }
    ServiceDistribution::deterministic(rtt).map(Some).map_err(|e| section.err(key, e.what))
}

/// What balancer instances know of the backends: `"exact"`, `"local"`,
/// `{ period = "100ms" }` or `{ delay = "5ms" }` (`None` when `key` is absent).
fn read_information(b: &Section<'_>, key: &str) -> Result<Option<Information>> {
    Ok(Some(match b.get(key) {
        None => return Ok(None),
        Some(item) if item.is_str() => match b.choice(key, &["exact", "local"], "exact")?.as_str() {
            "local" => Information::Local,
            _ => Information::Exact,
        },
        Some(item) if item.is_table_like() => {
            let t = b.sub(key, format!("{} {key}", b.title))?.expect("present");
            t.check_keys(schema::INFO_KEYS, &|_| None)?;
            let keys = t.keys();
            if keys.len() != 1 {
                return Err(b.err(
                    key,
                    "expected exactly one of { period = \"100ms\" } (a bulletin board refreshed periodically) or { delay = \"5ms\" } (a report that lags)",
                ));
            }
            let form = keys[0].as_str();
            let value = t.get(form).expect("listed key");
            let seconds = match duration_of(value) {
                Ok(x) if x > 0.0 => x,
                _ => {
                    return Err(t.err(
                        form,
                        format!(
                            "expected a positive duration (seconds, or a string such as \"100ms\"), found {}",
                            found(value)
                        ),
                    ));
                }
            };
            if form == "period" {
                Information::Periodic { period: seconds }
            } else {
                Information::Delayed { delay: seconds }
            }
        }
        Some(item) => {
            return Err(b.err(
                key,
                format!(
                    "expected \"exact\", \"local\", {{ period = \"100ms\" }} or {{ delay = \"5ms\" }}, found {}",
                    found(item)
                ),
            ));
        }
    }))
}

/// `[balancer]` apart from its strategies (and the per-group settings of `[[backends]]`).
fn read_balancer(file: &ExperimentFile, b: &Section<'_>) -> Result<Balancer> {
    let instances = b.whole_u32("instances", 1).map_err(|e| {
        let shown = b.get("instances").map(found).unwrap_or_default();
        e.with(format!("expected the number of balancer instances, a whole number ≥ 1, found {shown}"))
    })?;
    let instances = instances.unwrap_or(1);
    let routing = match b.choice("routing", &Routing::NAMES, "random")?.as_str() {
        "round_robin" => Routing::RoundRobin,
        "client_hash" => Routing::ClientHash,
        _ => Routing::Random,
    };
    let information = read_information(b, "info")?.unwrap_or(Information::Exact);
    let redirect = b.choice("mode", &["proxy", "redirect"], "proxy")? == "redirect";
    let cache = match b.get("cache_redirect") {
        None => false,
        Some(item) => match item.as_bool() {
            Some(flag) => flag,
            None => return Err(b.err("cache_redirect", format!("expected true or false, found {}", found(item)))),
        },
    };
    if b.has("cache_redirect") && !redirect {
        return Err(b.err_key(
            "cache_redirect",
            "cache_redirect applies to a redirect proxy only; set mode = \"redirect\" to use it",
        ));
    }
    let mode = if redirect { Mode::Redirect { cache } } else { Mode::Proxy };
    if redirect && information == Information::Local {
        return Err(b.err(
            "info",
            "a redirect proxy never sees responses, so it cannot count its requests in flight (info = \"local\"); use \"exact\" (an oracle) or reports ({ period = … } or { delay = … })",
        ));
    }
    let rtt = read_rtt(file, b, "rtt")?;
    let queue_timeout = match b.duration("queue_timeout")? {
        Some(t) if t > 0.0 => Some(t),
        Some(_) => return Err(b.err("queue_timeout", "expected a positive duration, found 0")),
        None => None,
    };
    let hedge = read_hedge(b)?;
    if hedge.is_some() && redirect {
        return Err(b.err(
            "hedge",
            "a redirect proxy is not in the request's path, so it cannot send a second copy; use mode = \"proxy\"",
        ));
    }
    let health = crate::model::Health {
        max_fails: faults::read_passive(b)?,
        outlier: faults::read_outlier(b)?,
        probe: faults::read_active(b)?,
        panic_threshold: faults::read_panic(b)?,
    };
    let retries = faults::read_retries(b)?.unwrap_or_default();
    let upstream_timeout = faults::read_upstream_timeout(b)?;
    let hedge_cancel = read_flag(b, "hedge_cancel")?.unwrap_or(false);
    Ok(Balancer {
        instances,
        routing,
        information,
        mode,
        rtt,
        queue_timeout,
        upstreams: Vec::new(),
        hedge,
        hedge_cancel,
        health,
        retries,
        upstream_timeout,
    })
}

/// A `true`/`false` setting.
pub(super) fn read_flag(s: &Section<'_>, key: &str) -> Result<Option<bool>> {
    match s.get(key) {
        None => Ok(None),
        Some(item) => match item.as_bool() {
            Some(flag) => Ok(Some(flag)),
            None => Err(s.err(key, format!("expected true or false, found {}", found(item)))),
        },
    }
}

/// Hedged requests: `hedge = "50ms"` (a fixed delay) or `hedge = "p95"` (the response
/// time's 95th percentile without hedging, from a pilot run).
fn read_hedge(b: &Section<'_>) -> Result<Option<Hedge>> {
    let Some(item) = b.get("hedge") else { return Ok(None) };
    let expected = "expected when to send a second copy of an unanswered request: a delay (\"50ms\") or a \
                    percentile of the response time without hedging (\"p95\", \"p99\")";
    if let Some(text) = item.as_str()
        && let Some(digits) = text.trim().strip_prefix('p')
    {
        return match digits.parse::<f64>() {
            Ok(q) if q > 0.0 && q < 100.0 => Ok(Some(Hedge::Quantile(q / 100.0))),
            _ => Err(b.err(
                "hedge",
                format!("{expected}; found \"{text}\" (a percentile is between p0 and p100, exclusive)"),
            )),
        };
    }
    match duration_of(item) {
        Ok(d) if d > 0.0 => Ok(Some(Hedge::After(d))),
        Ok(_) => Err(b.err("hedge", format!("{expected}; found 0 (remove hedge for no hedging)"))),
        Err(_) => Err(b.err("hedge", format!("{expected}, found {}", found(item)))),
    }
}

/// Checks the groups' proxy settings against the balancer's.
fn check_upstreams(b: &Section<'_>, balancer: &Balancer, upstreams: &[(Upstream, UpstreamAt)]) -> Result<()> {
    let first = |pick: fn(&UpstreamAt) -> &Option<ConfigError>| upstreams.iter().find_map(|(_, at)| pick(at).clone());
    let nginx = first(|at| &at.max_conns);
    let haproxy = first(|at| &at.maxconn);
    if let (Some(_), Some(at)) = (&nginx, &haproxy) {
        return Err(at.clone().with(
            "max_conns (nginx: the request goes to another backend, or fails) and maxconn (HAProxy: the request waits in the balancer's queue) are two different proxies; use one of them",
        ));
    }
    if let (Mode::Redirect { .. }, Some(at)) = (balancer.mode, nginx.as_ref().or(haproxy.as_ref())) {
        return Err(at.clone().with(
            "a redirect proxy is not in the request's path, so it cannot cap connections to a backend; remove the cap or use mode = \"proxy\"",
        ));
    }
    if balancer.queue_timeout.is_some() && haproxy.is_none() {
        return Err(b.err(
            "queue_timeout",
            "queue_timeout needs a queue in the balancer: give backends a maxconn (HAProxy), so requests beyond it wait",
        ));
    }
    Ok(())
}

/// More backends than this is surely a typo (and would exhaust memory building strategies).
const MAX_BACKENDS: u64 = 1_000_000;
/// Most workers one backend may have.
const MAX_WORKERS: u64 = 10_000;

/// Each group's balancer settings, with where they were written.
type Upstreams = Vec<(Upstream, UpstreamAt)>;

fn read_backends(
    file: &ExperimentFile,
    top: &Section<'_>,
) -> Result<(Vec<BackendGroup>, Upstreams, Vec<Option<crate::experiment::Cost>>)> {
    let Some(elements) = top.elements("backends") else {
        return Err(match top.get("backends") {
            None => ConfigError::new(
                file.display_name(),
                "no backends: add at least one [[backends]] table with a name, e.g. [[backends]] name = \"web\"",
            ),
            Some(item) => top.err(
                "backends",
                match item {
                    Item::Table(_) => "expected [[backends]] tables (double brackets: one per group of backends), found a single [backends] table".to_string(),
                    _ => format!("expected [[backends]] tables, found {}", found(item)),
                },
            ),
        });
    };
    if elements.is_empty() {
        return Err(top.err("backends", "expected at least one backend"));
    }
    let mut groups: Vec<BackendGroup> = Vec::new();
    let mut upstreams = Vec::new();
    let mut costs = Vec::new();
    for (i, element) in elements.iter().enumerate() {
        if element.table.is_none() {
            return Err(file
                .locate(&element.path, false)
                .with(format!("expected a backend table, found {}", element.found())));
        }
        let b = element.section(file, format!("backend {}", i + 1));
        let Some(name) = b.string("name")? else {
            return Err(
                b.err_missing("name", "a backend needs a \"name\" (used in results and --set backends.NAME.KEY)")
            );
        };
        let b = Section { title: format!("[[backends]] \"{name}\""), ..b };
        b.check_keys(schema::BACKEND_KEYS, &|_| None)?;
        if !folder_safe(&name) {
            return Err(b.err(
                "name",
                format!(
                    "a backend name must be usable as a folder name (letters, digits, '-', '_', '.'), found \"{name}\""
                ),
            ));
        }
        let count = b.whole_u32("count", 1)?.unwrap_or(1);
        // Far beyond any real pre-fork server (gunicorn suggests 2–4 per core), and the
        // engine's per-request cost grows with the workers of a backend.
        let workers = b.whole("workers", 1, MAX_WORKERS)?.map_or(1, |w| w as u32);
        let class = b.choice("worker_class", schema::WORKER_CLASSES, "sync")?;
        // Class parameters on the wrong class are errors, never silently ignored.
        for other in schema::WORKER_CLASSES {
            for key in schema::class_keys(other) {
                if b.has(key) && !schema::class_keys(&class).contains(key) {
                    let takers: Vec<&str> = schema::WORKER_CLASSES
                        .iter()
                        .copied()
                        .filter(|c| schema::class_keys(c).contains(key))
                        .collect();
                    return Err(b.err_key(
                        key,
                        format!(
                            "\"{key}\" applies to {} workers only; this backend has worker_class = \"{class}\" (set worker_class = {} to use it)",
                            takers.join(" and "),
                            quoted_list(&takers, "or")
                        ),
                    ));
                }
            }
        }
        let worker_connections = || -> Result<u32> {
            Ok(b.whole_u32("worker_connections", 1)?.unwrap_or(WorkerClass::DEFAULT_WORKER_CONNECTIONS))
        };
        let worker_class = match class.as_str() {
            "async" => WorkerClass::Async {
                connections: b.whole_u32("connections", 1)?.unwrap_or(WorkerClass::DEFAULT_CONNECTIONS),
            },
            "gthread" => WorkerClass::Gthread {
                threads: b.whole_u32("threads", 1)?.unwrap_or(1),
                worker_connections: worker_connections()?,
            },
            "gevent" => WorkerClass::Gevent { worker_connections: worker_connections()? },
            _ => WorkerClass::Sync,
        };
        if class == "async" {
            for key in ["cores", "accept", "timeout", "max_requests", "max_requests_jitter", "boot_time"] {
                if b.has(key) {
                    return Err(b.err_key(
                        key,
                        format!("\"{key}\" applies to gunicorn's worker classes (\"sync\", \"gthread\", \"gevent\"); worker_class = \"async\" is the pooled processor-sharing model (for gunicorn's async workers use worker_class = \"gevent\")"),
                    ));
                }
            }
        }
        let speed = b.positive("speed")?.unwrap_or(1.0);
        let cores = b.whole_u32("cores", 1)?;
        let accept = match b.string("accept")? {
            None => None,
            Some(_) => Some(match b.choice("accept", &["shared", "lifo", "reuse_port"], "shared")?.as_str() {
                "lifo" => Accept::Lifo,
                "reuse_port" => Accept::ReusePort,
                _ => Accept::Shared,
            }),
        };
        let backlog = b.whole_u32("backlog", 0)?.unwrap_or(2048);
        let weight = b.positive("weight")?;
        let lifecycle = read_lifecycle(file, &b, &class)?;
        let cap = |key: &str| {
            b.whole_u32(key, 1).map_err(|e| {
                let shown = b.get(key).map(found).unwrap_or_default();
                e.with(format!(
                    "expected a connection cap, a whole number ≥ 1 (leave {key} out for no cap), found {shown}"
                ))
            })
        };
        let upstream =
            Upstream { max_conns: cap("max_conns")?, maxconn: cap("maxconn")?, rtt: read_rtt(file, &b, "rtt")? };
        let at = UpstreamAt {
            max_conns: b.has("max_conns").then(|| b.err("max_conns", "")),
            maxconn: b.has("maxconn").then(|| b.err("maxconn", "")),
        };
        upstreams.push((upstream, at));
        let cost = read_cost(&b)?;
        costs.push(cost);
        let group =
            BackendGroup { name, count, workers, worker_class, speed, backlog, weight, cores, accept, lifecycle };
        // Names must be unique across groups, including the expanded `name-k` names.
        if groups.iter().any(|other| other.name == group.name) {
            return Err(b.err("name", format!("duplicate backend name \"{}\" (names must be unique)", group.name)));
        }
        for other in &groups {
            // Each name of the smaller group looked up in the larger one.
            let (few, many) = if other.count <= group.count { (other, &group) } else { (&group, other) };
            let clash = (0..few.count).map(|k| few.backend_name(k)).find(|n| many.has_backend_named(n));
            if let Some(clash) = clash {
                return Err(b.err(
                    "name",
                    format!("backend name \"{clash}\" is used by both \"{}\" and \"{}\"", other.name, group.name),
                ));
            }
        }
        groups.push(group);
        let total: u64 = groups.iter().map(|g| u64::from(g.count)).sum();
        if total > MAX_BACKENDS {
            return Err(b.err(
                "count",
                format!("the cluster would have {total} backends; at most {MAX_BACKENDS} are supported"),
            ));
        }
    }
    // A cluster's cost sums every group's: a cost on some groups only would leave the
    // others out of it.
    if costs.iter().any(Option::is_some) {
        if let Some(i) = costs.iter().position(Option::is_none) {
            let costed = groups[costs.iter().position(Option::is_some).expect("some")].name.clone();
            let element = &elements[i];
            let b = element.section(file, format!("[[backends]] \"{}\"", groups[i].name));
            return Err(b.err_here(format!(
                "backend group \"{}\" has no cost, but \"{costed}\" has one: a configuration's cost sums every \
                 group's, so give each group a cost per backend per hour (cost = 0 if it costs nothing)",
                groups[i].name
            )));
        }
    }
    Ok((groups, upstreams, costs))
}

/// `cost = 0.34` (per backend per hour) or `cost = { backend = 0.10, worker = 0.06 }` (a part
/// per backend and a part per worker): what `lbsim plan` adds up for the cheapest configuration.
fn read_cost(b: &Section<'_>) -> Result<Option<crate::experiment::Cost>> {
    let Some(item) = b.get("cost") else { return Ok(None) };
    let what = "a cost ≥ 0 per backend per hour (e.g. cost = 0.34, or cost = { backend = 0.10, worker = 0.06 })";
    if item.as_table_like().is_some() {
        let t = b.sub("cost", format!("{} cost", b.title))?.expect("present");
        t.check_keys(&["backend", "worker"], &|_| None)?;
        let part = |key: &str| t.number_where(key, "a cost ≥ 0 per hour", |x| x >= 0.0);
        let (backend, worker) = (part("backend")?, part("worker")?);
        if backend.is_none() && worker.is_none() {
            return Err(b.err("cost", format!("expected {what}; this table gives neither \"backend\" nor \"worker\"")));
        }
        return Ok(Some(crate::experiment::Cost { backend: backend.unwrap_or(0.0), worker: worker.unwrap_or(0.0) }));
    }
    let backend = b.number_where("cost", what, |x| x >= 0.0)?.expect("present");
    Ok(Some(crate::experiment::Cost { backend, worker: 0.0 }))
}

/// gunicorn's `timeout`, `max_requests`, `max_requests_jitter` and the worker boot time.
fn read_lifecycle(file: &ExperimentFile, b: &Section<'_>, class: &str) -> Result<Lifecycle> {
    let timeout = match b.get("timeout") {
        None => None,
        Some(item) => {
            if class == "gthread" {
                return Err(b.err_key(
                    "timeout",
                    "\"timeout\" never fires for gthread workers: gunicorn's gthread main loop keeps notifying the master while its threads serve requests, however long they take (it applies to \"sync\" and \"gevent\")",
                ));
            }
            match duration_of(item) {
                Ok(t) if t > 0.0 => Some(t),
                _ => {
                    let shown = found(item);
                    let why = if number_of(item).is_some_and(|x| x < 0.0) || shown.contains('-') {
                        "a timeout cannot be shorter than zero"
                    } else if number_of(item) == Some(0.0) {
                        "0 would disable it: omit the key for no timeout"
                    } else {
                        "it must be a duration"
                    };
                    return Err(b.err(
                        "timeout",
                        format!("expected a positive duration for timeout (seconds, or a string such as \"30s\"), found {shown}: {why}"),
                    ));
                }
            }
        }
    };
    let max_requests = b.whole_u32("max_requests", 0)?.unwrap_or(0);
    let max_requests_jitter = b.whole_u32("max_requests_jitter", 0)?.unwrap_or(0);
    if max_requests_jitter > 0 && max_requests == 0 {
        return Err(b.err_key(
            "max_requests_jitter",
            "\"max_requests_jitter\" spreads the restarts of max_requests; set max_requests too",
        ));
    }
    let boot_time = match b.get("boot_time") {
        None => None,
        Some(item) if item.is_table_like() => {
            let table = b.sub("boot_time", format!("{} boot_time", b.title))?.expect("present");
            if table.has("weight") {
                return Err(table.err_key("weight", "a boot_time distribution takes no weight"));
            }
            Some(read_service(file, &table, false)?()?)
        }
        Some(item) => match duration_of(item) {
            Ok(t) => Some(ServiceDistribution::deterministic(t).map_err(|e| b.err("boot_time", e.what))?),
            Err(m) => {
                let message = if number_of(item).is_some_and(|x| x < 0.0) || found(item).contains('-') {
                    format!("boot_time cannot be negative, found {}", found(item))
                } else {
                    format!(
                        "{m}, or a distribution table such as {{ distribution = \"uniform\", min = \"2s\", max = \"5s\" }}"
                    )
                };
                return Err(b.err("boot_time", message));
            }
        },
    };
    Ok(Lifecycle { timeout, max_requests, max_requests_jitter, boot_time })
}

fn read_strategies(
    file: &ExperimentFile,
    balancer: &Section<'_>,
    client: &crate::model::ClientPolicy,
) -> Result<Vec<StrategyDraft>> {
    balancer.check_keys(schema::BALANCER_KEYS, &|_| None)?;
    let example = "strategies = [\"round_robin\", { name = \"power_of_d\", d = 2 }]";
    let Some(elements) = balancer.elements("strategies") else {
        return Err(match balancer.get("strategies") {
            None => balancer.err_here(format!("[balancer] needs strategies, e.g. {example}")),
            Some(item) => {
                balancer.err("strategies", format!("expected an array such as {example}, found {}", found(item)))
            }
        });
    };
    if elements.is_empty() {
        return Err(balancer.err("strategies", format!("expected at least one strategy, e.g. {example}")));
    }
    let mut drafts: Vec<StrategyDraft> = Vec::new();
    for element in &elements {
        let draft = if let Some(Value::String(s)) = element.value {
            let name = s.value().to_string();
            let at = file.locate(&element.path, false);
            registry::find(&name).map_err(|e| at.with(e.to_string()))?;
            StrategyDraft { spec: StrategySpec::named(&name), at, path: element.path.clone(), table: false }
        } else if element.table.is_some() {
            let t = element.section(file, "a strategy table".into());
            let Some(name) = t.string("name")? else {
                return Err(
                    t.err_missing("name", "a strategy table needs a \"name\", e.g. { name = \"power_of_d\", d = 2 }")
                );
            };
            let info = registry::find(&name).map_err(|e| t.err("name", e.to_string()))?;
            let label = t.string("label")?;
            if label.as_deref().is_some_and(|l| l.trim().is_empty()) {
                // A label names the strategy's row in the results, its line in charts and
                // its folder of runs: an empty one names nothing.
                return Err(t.err(
                    "label",
                    format!(
                        "expected a label naming this strategy's row in the results and charts, found \"{}\"; \
                         give one (e.g. label = \"{name}-2\") or remove the key for the default",
                        label.unwrap_or_default()
                    ),
                ));
            }
            let mut params = Params::new(&name);
            let mut balancer = BalancerOverride::default();
            for key in t.keys() {
                if key == "name" || key == "label" {
                    continue;
                }
                // Balancer settings this strategy's runs change.
                match key.as_str() {
                    "info" => {
                        balancer.information = read_information(&t, "info")?;
                        continue;
                    }
                    "mode" => {
                        let redirect = t.choice("mode", &["proxy", "redirect"], "proxy")? == "redirect";
                        let cache = match t.get("cache_redirect") {
                            None => false,
                            Some(item) => item.as_bool().ok_or_else(|| {
                                t.err("cache_redirect", format!("expected true or false, found {}", found(item)))
                            })?,
                        };
                        balancer.mode = Some(if redirect { Mode::Redirect { cache } } else { Mode::Proxy });
                        continue;
                    }
                    "hedge" => {
                        balancer.hedge = read_hedge(&t)?;
                        continue;
                    }
                    "hedge_cancel" => {
                        balancer.hedge_cancel = read_flag(&t, "hedge_cancel")?;
                        continue;
                    }
                    "cache_redirect" => {
                        if t.choice("mode", &["proxy", "redirect"], "proxy")? != "redirect" {
                            return Err(t.err_key(
                                "cache_redirect",
                                "cache_redirect applies to a redirect proxy only; add mode = \"redirect\"",
                            ));
                        }
                        continue;
                    }
                    "passive" => {
                        balancer.passive = faults::read_passive(&t)?;
                        continue;
                    }
                    "outlier" => {
                        balancer.outlier = faults::read_outlier(&t)?;
                        continue;
                    }
                    "active" => {
                        balancer.active = faults::read_active(&t)?;
                        continue;
                    }
                    "panic_threshold" => {
                        balancer.panic_threshold = faults::read_panic(&t)?;
                        continue;
                    }
                    "retries" => {
                        balancer.retries = faults::read_retries(&t)?;
                        continue;
                    }
                    "upstream_timeout" => {
                        balancer.upstream_timeout = faults::read_upstream_timeout(&t)?;
                        continue;
                    }
                    "clients" => {
                        let Some(c) = t.sub("clients", "the strategy's clients".into())? else { continue };
                        c.check_keys(schema::CLIENT_POLICY_KEYS, &|_| None)?;
                        balancer.client = Some(faults::read_client_policy(&c, *client)?);
                        continue;
                    }
                    "max_conns" | "maxconn" => {
                        let cap = t.whole_u32(&key, 1).map_err(|e| {
                            let shown = t.get(&key).map(found).unwrap_or_default();
                            e.with(format!(
                                "expected a connection cap for every backend, a whole number ≥ 1, found {shown}"
                            ))
                        })?;
                        if key == "maxconn" {
                            balancer.maxconn = cap;
                        } else {
                            balancer.max_conns = cap;
                        }
                        if balancer.maxconn.is_some() && balancer.max_conns.is_some() {
                            return Err(
                                t.err_key(&key, "give a strategy max_conns (nginx) or maxconn (HAProxy), not both")
                            );
                        }
                        continue;
                    }
                    _ => {}
                }
                // A key that is not the strategy's parameter but is one letter from a key
                // every strategy table takes (`labe`, `retrie = {…}`) is that key misspelt,
                // not a parameter to refuse as the strategy's or as a table.
                let takes = info.params.iter().any(|p| p.name == key);
                if !takes && let Some(meant) = nearest(&key, schema::STRATEGY_TABLE_KEYS.iter().copied()) {
                    return Err(t.err_key(
                        &key,
                        format!("unknown key \"{key}\" in a strategy table; did you mean \"{meant}\"?"),
                    ));
                }
                let item = t.get(&key).expect("listed key");
                let value = param_value(item).map_err(|m| t.err(&key, m))?;
                params.values.insert(key, value);
            }
            let label = label.unwrap_or_else(|| default_label(&name, &params, &balancer));
            StrategyDraft {
                spec: StrategySpec { name, label, params, balancer },
                at: file.locate(&element.path, false),
                path: element.path.clone(),
                table: true,
            }
        } else {
            return Err(file.locate(&element.path, false).with(format!(
                "expected a strategy name or a table such as {{ name = \"power_of_d\", d = 2 }}, found {}",
                element.found()
            )));
        };
        if let Some(first) = drafts.iter().position(|d| d.spec.label == draft.spec.label) {
            return Err(draft.at.with(format!(
                "two strategies are labelled \"{}\" (balancer.strategies[{first}] and [{}]): labels name the rows \
                 of the results, so each must be unique; give one a label, e.g. {{ name = \"{}\", label = \"{}-2\" }}",
                draft.spec.label,
                drafts.len(),
                draft.spec.name,
                draft.spec.label
            )));
        }
        drafts.push(draft);
    }
    Ok(drafts)
}

fn param_value(item: &Item) -> std::result::Result<ParamValue, String> {
    fn of_value(v: &Value) -> std::result::Result<ParamValue, String> {
        match v {
            Value::Integer(i) => Ok(ParamValue::Number(*i.value() as f64)),
            Value::Float(f) => Ok(ParamValue::Number(*f.value())),
            Value::String(s) => Ok(ParamValue::Text(s.value().clone())),
            Value::Array(a) => a.iter().map(of_value).collect::<std::result::Result<Vec<_>, _>>().map(ParamValue::List),
            other => Err(format!("expected a number, a string or a list, found {}", found_value(other))),
        }
    }
    match item.as_value() {
        Some(v) => of_value(v),
        None => Err(format!("expected a number, a string or a list, found {}", found(item))),
    }
}

/// `power_of_d(d=3)`; the bare name without parameters.
fn default_label(name: &str, params: &Params, balancer: &BalancerOverride) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(information) = balancer.information {
        parts.push(format!("info={}", information.describe()));
    }
    match balancer.mode {
        Some(Mode::Redirect { cache: true }) => parts.push("mode=redirect,cached".into()),
        Some(Mode::Redirect { cache: false }) => parts.push("mode=redirect".into()),
        Some(Mode::Proxy) => parts.push("mode=proxy".into()),
        None => {}
    }
    if let Some(cap) = balancer.max_conns {
        parts.push(format!("max_conns={cap}"));
    }
    if let Some(cap) = balancer.maxconn {
        parts.push(format!("maxconn={cap}"));
    }
    if let Some(m) = balancer.passive {
        parts.push(format!("max_fails={}", m.max_fails));
    }
    if let Some(o) = balancer.outlier {
        parts.push(format!("outlier={}", o.consecutive_errors));
    }
    if let Some(p) = balancer.active {
        parts.push(format!("active={}", crate::units::format_duration(p.interval)));
    }
    if let Some(t) = balancer.panic_threshold {
        parts.push(format!("panic={t}%"));
    }
    if let Some(r) = balancer.retries {
        parts.push(format!("tries={}", r.tries));
    }
    if let Some(t) = balancer.upstream_timeout {
        parts.push(format!("upstream_timeout={}", crate::units::format_duration(t)));
    }
    if let Some(c) = balancer.client {
        parts.push(format!("client_retries={}", c.retries));
        if let Some(b) = c.budget {
            parts.push(format!("budget={b}%"));
        }
        if c.cancel {
            parts.push("cancel".into());
        }
    }
    if let Some(hedge) = balancer.hedge {
        parts.push(match hedge {
            Hedge::After(d) => format!("hedge={}", crate::units::format_duration(d)),
            Hedge::Quantile(p) => format!("hedge=p{}", crate::units::significant(p * 100.0, 4)),
        });
    }
    match balancer.hedge_cancel {
        Some(true) => parts.push("hedge_cancel".into()),
        Some(false) => parts.push("hedge_cancel=false".into()),
        None => {}
    }
    if params.values.is_empty() && parts.is_empty() {
        return name.to_string();
    }
    fn show(v: &ParamValue) -> String {
        match v {
            ParamValue::Number(x) => format!("{x}"),
            ParamValue::Text(s) => s.clone(),
            ParamValue::List(items) => {
                format!("[{}]", items.iter().map(show).collect::<Vec<_>>().join(","))
            }
        }
    }
    let mut all: Vec<String> = params.values.iter().map(|(k, v)| format!("{k}={}", show(v))).collect();
    all.extend(parts);
    format!("{name}({})", all.join(","))
}
