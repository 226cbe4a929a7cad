//! The choices every chart shares: which axis is x, which slice of a multi-axis grid is
//! drawn as lines, and which point the per-load charts show.

use super::style;
use crate::results::SweepResults;
use crate::runner::StrategyResult;

/// What the charts are drawn from: the results plus the choices every chart shares (which
/// axis is x, which slice of a multi-axis grid, which point the per-load charts show).
pub struct Context<'r> {
    pub results: &'r SweepResults,
    /// Index of the axis drawn as x (the load axis when swept, else the first axis).
    pub x_axis: usize,
    /// Indices into `results.points` of the line-chart slice: points whose other axes are
    /// at their first value, in increasing x.
    pub slice: Vec<usize>,
    /// Index into `results.points` of the point shown by per-load charts.
    pub focus: usize,
}

impl<'r> Context<'r> {
    /// Chooses the x axis, the slice and the focus point; `None` when there is no point.
    pub fn new(results: &'r SweepResults) -> Option<Self> {
        if results.points.is_empty() {
            return None;
        }
        // Load or arrival rate, the planner's x; else the first axis.
        let x_axis = results.axis("arrivals.load").or_else(|| results.axis("arrivals.rate")).unwrap_or(0);
        let firsts: Vec<Option<f64>> = results.axes.iter().map(|a| a.values.first().copied()).collect();
        let mut slice: Vec<usize> = (0..results.points.len())
            .filter(|&i| {
                let values = &results.points[i].values;
                values.iter().enumerate().all(|(k, v)| k == x_axis || firsts.get(k).copied().flatten() == Some(*v))
            })
            .collect();
        if slice.is_empty() {
            slice = (0..results.points.len()).collect();
        }
        let x_of = |i: usize| results.points[i].values.get(x_axis).copied().unwrap_or(i as f64);
        slice.sort_by(|&a, &b| x_of(a).total_cmp(&x_of(b)));
        let focus = Self::choose_focus(results, &slice, x_axis);
        Some(Context { results, x_axis, slice, focus })
    }

    /// The `[report] load` point (nearest x), else the highest load below 1 where any
    /// strategy is not saturated, else the point nearest 0.9.
    fn choose_focus(results: &SweepResults, slice: &[usize], x_axis: usize) -> usize {
        let load = |i: usize| results.points[i].results.first().map_or(f64::NAN, |r| r.load);
        let x = |i: usize| results.points[i].values.get(x_axis).copied().unwrap_or(f64::NAN);
        let nearest = |target: f64, f: &dyn Fn(usize) -> f64| {
            slice.iter().copied().min_by(|&a, &b| (f(a) - target).abs().total_cmp(&(f(b) - target).abs()))
        };
        let closed = slice.first().and_then(|&i| results.points[i].results.first()?.closed_loop.as_ref());
        if let Some(c) = closed {
            // A load test: the point nearest the knee, where the curve bends.
            let users = |i: usize| {
                results.points[i]
                    .results
                    .first()
                    .and_then(|r| r.closed_loop.as_ref())
                    .map_or(f64::NAN, |c| f64::from(c.users))
            };
            if let Some(i) = nearest(c.knee, &users) {
                return i;
            }
        }
        if let Some(target) = results.report.load {
            let by = |i: usize| if results.axes.is_empty() || x_axis_is_load(results, x_axis) { x(i) } else { load(i) };
            if let Some(i) = nearest(target, &by) {
                return i;
            }
        }
        let below = slice
            .iter()
            .copied()
            .filter(|&i| load(i) < 1.0)
            .filter(|&i| results.points[i].results.iter().any(|r| !r.saturated));
        below.max_by(|&a, &b| load(a).total_cmp(&load(b))).or_else(|| nearest(0.9, &load)).unwrap_or(slice[0])
    }

    /// The SLO of `[report] slo` (or `lbsim report --slo`), when one is set and parses (the
    /// findings report one that does not).
    pub fn slo(&self) -> Option<crate::slo::Slo> {
        self.results.report.slo.as_deref().and_then(|text| crate::slo::Slo::parse(text).ok())
    }

    /// The x value of point `i` (without a sweep, its offered load, or a closed loop's
    /// carried load).
    pub fn x(&self, i: usize) -> f64 {
        match self.results.points[i].values.get(self.x_axis) {
            Some(&x) => x,
            None => self.result(i, 0).map_or(i as f64, |r| r.load),
        }
    }

    /// True when the charts have a single point to show (no sweep, or an x axis with one
    /// value): lines against x would be one dot, so the charts draw a row per strategy.
    pub fn single(&self) -> bool {
        self.slice.len() == 1
    }

    /// Axis label for x, in words.
    pub fn x_label(&self) -> String {
        match self.results.axes.get(self.x_axis) {
            // Closed-loop users set their own load: it is carried, not offered.
            None if self.closed_loop() => "carried load ρ (fraction of capacity)".into(),
            None => "offered load ρ (fraction of capacity)".into(),
            Some(a) => axis_label(&a.path),
        }
    }

    /// What x is, in a title's words: `load`, `users`, `arrival rate`, `web backends`, …
    pub fn x_words(&self) -> String {
        self.results.axes.get(self.x_axis).map_or_else(|| "load".into(), |a| axis_short(&a.path))
    }

    /// Whether the results are those of closed-loop users.
    pub fn closed_loop(&self) -> bool {
        self.result(self.slice[0], 0).is_some_and(|r| r.closed_loop.is_some())
    }

    /// The experiment's name for titles, with the fixed values of other axes when the grid has
    /// more than one (`four_mm1, 2 workers per web backend`).
    pub fn subject(&self) -> String {
        let mut s = self.results.experiment.clone();
        let point = &self.results.points[self.slice[0]];
        for (k, axis) in self.results.axes.iter().enumerate() {
            if k != self.x_axis {
                s += &format!(", {}", axis_value(&axis.path, point.values.get(k).copied().unwrap_or(f64::NAN)));
            }
        }
        s
    }

    /// (x, metric) along the slice for strategy `s`, skipping points without a result.
    pub fn series(&self, s: usize, metric: impl Fn(&StrategyResult) -> f64) -> Vec<(f64, f64)> {
        self.slice.iter().filter_map(|&i| Some((self.x(i), metric(self.result(i, s)?)))).collect()
    }

    /// [`Context::series`] for every strategy, in legend order.
    pub fn all_series(&self, metric: impl Fn(&StrategyResult) -> f64) -> Vec<Vec<(f64, f64)>> {
        (0..self.strategies().len()).map(|s| self.series(s, &metric)).collect()
    }

    /// The result of strategy `s` at point `i`.
    pub fn result(&self, i: usize, s: usize) -> Option<&'r StrategyResult> {
        self.results.points.get(i)?.results.get(s)
    }

    /// The focus point in words: `at load 0.9` or `at load 0.5, arrivals.rate = 200`.
    pub fn focus_label(&self) -> String {
        self.focus_label_of(self.focus)
    }

    /// Point `i` in words, as [`Context::focus_label`].
    pub fn focus_label_of(&self, i: usize) -> String {
        let load = self.result(i, 0).map_or(f64::NAN, |r| r.load);
        if let Some(c) = self.result(i, 0).and_then(|r| r.closed_loop.as_ref()) {
            if let Some(ramp) = ramp_words(self.closed_loops(i)) {
                // The users change along the run: no one N to be "at" (and the carried load is
                // a mean over every population, left to the results).
                return format!("with {ramp}");
            }
            return format!("at N = {} users (carried load {})", c.users, style::tick(load));
        }
        match self.results.axes.get(self.x_axis) {
            Some(a) if !x_axis_is_load(self.results, self.x_axis) => {
                format!("at {} (load {})", axis_value(&a.path, self.x(i)), style::tick(load))
            }
            _ => format!("at load {}", style::tick(load)),
        }
    }

    /// The closed-loop figures of every strategy's result at point `i`.
    pub fn closed_loops(&self, i: usize) -> Vec<&'r crate::runner::ClosedLoopResult> {
        self.results.points.get(i).map_or(vec![], |p| p.results.iter().filter_map(|r| r.closed_loop.as_ref()).collect())
    }

    pub fn strategies(&self) -> &'r [String] {
        &self.results.strategies
    }
}

/// Ramped closed-loop users in a title's words (`users ramped 0 → 200 over 2m, then held`),
/// from the results of one point (every strategy's, so that a run cut short says when the
/// runs ended); `None` for a fixed population. Results written before the profile was kept
/// say only how high it went.
pub fn ramp_words<'a>(loops: impl IntoIterator<Item = &'a crate::runner::ClosedLoopResult>) -> Option<String> {
    let loops: Vec<&crate::runner::ClosedLoopResult> = loops.into_iter().collect();
    let first = loops.first()?;
    match (&first.ramp, first.ramped) {
        (Some(ramp), _) => {
            let ended: Vec<f64> = loops.iter().filter_map(|c| c.ramp.as_ref()?.ended()).collect();
            Some(ramp.profile().words(&ended))
        }
        (None, true) => Some(format!("users ramped up to {}", first.users)),
        (None, false) => None,
    }
}

/// An axis in words, with its unit: `arrival rate (requests/s)`, `number of web backends`.
pub fn axis_label(path: &str) -> String {
    match path {
        "arrivals.load" => "offered load ρ (fraction of capacity)".into(),
        "arrivals.rate" => "arrival rate (requests/s)".into(),
        "clients.users" => "users N (closed loop)".into(),
        _ => match backend_knob(path) {
            Some((group, "count")) => format!("number of {group} backends"),
            Some((group, _)) => format!("workers per {group} backend"),
            None => path.to_string(),
        },
    }
}

/// An axis in a title's words: `load`, `arrival rate`, `users`, `web backends`, `workers per web
/// backend`, else its path.
pub fn axis_short(path: &str) -> String {
    match (path, backend_knob(path)) {
        ("arrivals.load", _) => "load".into(),
        ("arrivals.rate", _) => "arrival rate".into(),
        ("clients.users", _) => "users".into(),
        (_, Some((group, "count"))) => format!("{group} backends"),
        (_, Some((group, _))) => format!("workers per {group} backend"),
        _ => path.to_string(),
    }
}

/// An axis at a value, in words: `300 req/s`, `4 web backends`, `load 0.9`, else `path = v`.
pub fn axis_value(path: &str, v: f64) -> String {
    match (path, backend_knob(path)) {
        ("arrivals.rate", _) => format!("{} req/s", style::tick(v)),
        ("arrivals.load", _) => format!("load {}", style::tick(v)),
        ("clients.users", _) => format!("{} users", style::tick(v)),
        (_, Some((group, "count"))) => {
            format!("{} {group} backend{}", style::tick(v), if v == 1.0 { "" } else { "s" })
        }
        (_, Some((group, _))) => {
            format!("{} worker{} per {group} backend", style::tick(v), if v == 1.0 { "" } else { "s" })
        }
        _ => format!("{path} = {}", style::tick(v)),
    }
}

/// `backends.web.count` → (`web`, `count`); also `workers`.
pub fn backend_knob(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("backends.")?;
    let (group, knob) = rest.rsplit_once('.')?;
    (matches!(knob, "count" | "workers") && !group.is_empty()).then_some((group, knob))
}

fn x_axis_is_load(results: &SweepResults, k: usize) -> bool {
    results.axes.get(k).is_some_and(|a| a.path == "arrivals.load")
}
