//! Capacity planning (`lbsim plan`): for each strategy, the smallest value of an integer
//! quantity of the model (backends in a group, or workers per backend) that meets a
//! service-level objective at a given arrival rate with 95 % confidence, and the headroom at
//! that size (the rate at which it stops meeting the SLO, with an interval).
//!
//! - [`search`]: the sequential decision at one size and rate (replications are added near
//!   the boundary until the 95 % interval of the SLO metric is on one side of the limit),
//!   the search over sizes and the bisection over rates;
//! - [`text`]: the terminal table and the written recommendation;
//! - [`report`]: the chart of the SLO metric against the varied quantity, `report.html`,
//!   `report.md` and `plan.json`, written atomically.
//!
//! Deterministic: a replication's random streams depend only on (experiment seed, size,
//! replication) and decisions only on finished replications, so the same file, seed and
//! question give the same answer whatever the number of threads.

pub mod cost;
pub mod report;
pub mod search;
pub mod text;

use anyhow::{Result, bail};
use serde::Serialize;

use crate::config::ExperimentFile;
use crate::experiment::Experiment;
use crate::runner::StrategyResult;
use crate::slo::Slo;
use crate::stats::Estimate;
use crate::strategy::nearest;

pub use search::{Verdict, plan};

/// What `lbsim plan` is asked.
#[derive(Debug, Clone)]
pub struct Question {
    /// Arrival rate, requests per second.
    pub rate: f64,
    pub slo: Slo,
    /// The integer quantity varied: `backends.NAME.count` or `backends.NAME.workers`.
    pub vary: Vary,
    /// Largest value searched (default: see [`Vary::default_bound`]).
    pub max: Option<u32>,
    /// Strategy labels to plan for (default: every strategy of the file).
    pub strategies: Vec<String>,
}

/// Which integer of which backend group is varied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Knob {
    /// Backends in the group.
    Count,
    /// Workers per backend of the group.
    Workers,
}

/// The quantity varied, resolved against the experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct Vary {
    /// The path as the user gave it (`backends.gunicorn.count`).
    pub path: String,
    /// The group's name.
    pub group: String,
    pub knob: Knob,
}

/// Largest value of a varied quantity (the model's own limits).
const MOST_BACKENDS: u32 = 1_000_000;
const MOST_WORKERS: u32 = 10_000;

impl Vary {
    /// Resolves `--vary PATH` against `experiment` (or picks the count of its only backend
    /// group when no path is given). Errors say which integer keys can be varied, with a
    /// did-you-mean suggestion.
    pub fn resolve(path: Option<&str>, experiment: &Experiment) -> Result<Vary> {
        let groups = &experiment.model.backends;
        let Some(path) = path else {
            if groups.len() == 1 {
                let group = groups[0].name.clone();
                return Ok(Vary { path: format!("backends.{group}.count"), group, knob: Knob::Count });
            }
            let names: Vec<String> = groups.iter().map(|g| format!("backends.{}.count", g.name)).collect();
            bail!(
                "--vary: the experiment has {} backend groups; say which to size, e.g. {}",
                groups.len(),
                names.join(" or ")
            );
        };
        let candidates: Vec<String> = groups
            .iter()
            .flat_map(|g| [format!("backends.{}.count", g.name), format!("backends.{}.workers", g.name)])
            .collect();
        let parts: Vec<&str> = path.trim().split('.').collect();
        if let ["backends", group, key] = parts.as_slice() {
            let found = group
                .parse::<usize>()
                .ok()
                .and_then(|i| groups.get(i))
                .or_else(|| groups.iter().find(|g| g.name == *group));
            if let Some(g) = found {
                let knob = match *key {
                    "count" => Some(Knob::Count),
                    "workers" => Some(Knob::Workers),
                    _ => None,
                };
                if let Some(knob) = knob {
                    return Ok(Vary { path: path.trim().to_string(), group: g.name.clone(), knob });
                }
                if crate::config::BACKEND_KEYS.contains(key) {
                    bail!(
                        "--vary {path}: \"{key}\" is not an integer key plan can size; plan varies a whole number of \
                         backends or workers: {}",
                        candidates.join(", ")
                    );
                }
            }
        }
        match nearest(path, candidates.iter().map(String::as_str)) {
            Some(s) => bail!("--vary {path}: not an integer key of this experiment; did you mean {s}?"),
            None => {
                bail!("--vary {path}: not an integer key of this experiment; plan can vary {}", candidates.join(", "))
            }
        }
    }

    /// The quantity in words, for a value: `4 gunicorn backends`, `6 workers per gunicorn backend`.
    pub fn words(&self, value: u32) -> String {
        match self.knob {
            Knob::Count => format!("{value} {} backend{}", self.group, if value == 1 { "" } else { "s" }),
            Knob::Workers => {
                format!("{value} worker{} per {} backend", if value == 1 { "" } else { "s" }, self.group)
            }
        }
    }

    /// Axis label: `gunicorn backends` or `workers per gunicorn backend`.
    pub fn axis_label(&self) -> String {
        match self.knob {
            Knob::Count => format!("{} backends ({})", self.group, self.path),
            Knob::Workers => format!("workers per {} backend ({})", self.group, self.path),
        }
    }

    /// The model's limit for this quantity.
    pub fn limit(&self) -> u32 {
        match self.knob {
            Knob::Count => MOST_BACKENDS,
            Knob::Workers => MOST_WORKERS,
        }
    }

    /// The search bound when `--max` is not given: four times the smallest stable value, at
    /// least 8 above it (a planner asking for more than four times the bare minimum is told
    /// the SLO is out of reach and where the metric stood).
    pub fn default_bound(&self, first_stable: u32) -> u32 {
        first_stable.saturating_mul(4).max(first_stable.saturating_add(8)).min(self.limit())
    }
}

/// One decision at one size and rate.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// The varied quantity's value.
    pub value: u32,
    /// Arrival rate, requests per second.
    pub rate: f64,
    /// The SLO metric (seconds) with its 95 % interval; NaN when not simulated (unstable).
    pub metric: Estimate,
    pub verdict: Verdict,
    pub replications: u32,
    /// Offered load at this size and rate.
    pub load: f64,
    pub saturated: bool,
    /// When the file's warm-up was too short for this size's queues, empty at the start, to
    /// fill (its means would have read more than 1 % low, [`crate::relaxation`]): the
    /// warm-up its runs used instead, and how low the file's would have read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup_raised: Option<WarmupRaised>,
    /// The combined result (absent when the size is unstable and was not simulated).
    #[serde(skip)]
    pub result: Option<StrategyResult>,
}

/// A warm-up the plan raised at one size and rate ([`Evaluation::warmup_raised`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WarmupRaised {
    /// The file's warm-up (requests).
    pub from: u64,
    /// The warm-up the runs used: the least that leaves the means under 0.2 % low.
    pub to: u64,
    /// How low the means would have read with the file's (a fraction).
    pub bias: f64,
}

/// A strategy's answer.
#[derive(Debug, Clone)]
pub struct StrategyPlan {
    /// The strategy's label.
    pub strategy: String,
    /// Its registry name (`central_queue`, which no balancer can deploy, is not recommended).
    pub name: String,
    /// Smallest value meeting the SLO with 95 % confidence; `None` when none within the bound.
    pub minimum: Option<u32>,
    /// Why there is no minimum.
    pub reason: Option<String>,
    /// The evaluation with the lowest SLO metric, when there is no minimum.
    pub best: Option<Evaluation>,
    /// The rate at which the minimum size stops meeting the SLO, and its 95 % interval.
    pub headroom_rate: Option<f64>,
    pub headroom_rate_ci95: Option<[f64; 2]>,
    /// Every size evaluated at the planned rate, in increasing order.
    pub sizes: Vec<Evaluation>,
    /// Every rate evaluated at the minimum size, in increasing order.
    pub rates: Vec<Evaluation>,
    /// The result at the minimum size and the planned rate.
    pub at_minimum: Option<StrategyResult>,
    /// The search bound used.
    pub bound: u32,
}

impl StrategyPlan {
    /// The size just below the minimum was too close to call (its interval straddled the
    /// limit even after the most replications).
    pub fn close_call(&self) -> Option<&Evaluation> {
        let m = self.minimum?;
        self.sizes.iter().find(|e| e.value + 1 == m && e.verdict == Verdict::Unclear)
    }
}

/// The answer of `lbsim plan`.
#[derive(Debug, Clone)]
pub struct PlanResults {
    pub experiment: String,
    pub rate: f64,
    pub slo: Slo,
    pub vary: Vary,
    pub results: Vec<StrategyPlan>,
    /// The experiment file with every override applied (for reproducing).
    pub config: String,
    pub seed: u64,
}

/// The experiment file with the rate set, and experiments derived from it.
pub struct Setup {
    file: ExperimentFile,
    pub base: Experiment,
}

impl Setup {
    /// Validates the rate and sets it on `file`.
    pub fn new(file: &ExperimentFile, rate: f64) -> Result<Setup> {
        if !(rate.is_finite() && rate > 0.0) {
            bail!("--rate {rate}: expected a positive arrival rate in requests per second, e.g. --rate 300");
        }
        let mut file = file.clone();
        file.set_rate(rate)?;
        let base = file.resolve()?;
        Ok(Setup { file, base })
    }

    /// The experiment with `vary` at `value` and the arrival rate at `rate`.
    pub fn at(&self, vary: &Vary, value: u32, rate: f64) -> Result<Experiment> {
        let mut file = self.file.clone();
        file.set_number(&vary.path, f64::from(value))?;
        file.set_rate(rate)?;
        Ok(file.resolve()?)
    }

    /// The file's text with the rate applied.
    pub fn config(&self) -> String {
        self.file.source_text()
    }
}
