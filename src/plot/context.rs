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
        let x_axis = results.axis("arrivals.load").unwrap_or(0);
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

    /// The x value of point `i`.
    pub fn x(&self, i: usize) -> f64 {
        self.results.points[i].values.get(self.x_axis).copied().unwrap_or(i as f64)
    }

    /// Axis label for x, in words.
    pub fn x_label(&self) -> String {
        match self.results.axes.get(self.x_axis) {
            None => "point".into(),
            Some(_) if x_axis_is_load(self.results, self.x_axis) => "offered load ρ (fraction of capacity)".into(),
            Some(a) if a.path == "clients.users" => "users N (closed loop)".into(),
            Some(a) => a.path.clone(),
        }
    }

    /// What x is, in a title's words: `users` for a sweep over closed-loop users, else
    /// `load`.
    pub fn x_words(&self) -> &'static str {
        match self.results.axes.get(self.x_axis) {
            Some(a) if a.path == "clients.users" => "users",
            _ => "load",
        }
    }

    /// Whether the results are those of closed-loop users.
    pub fn closed_loop(&self) -> bool {
        self.result(self.slice[0], 0).is_some_and(|r| r.closed_loop.is_some())
    }

    /// The experiment's name for titles, with the fixed values of other axes when the grid has
    /// more than one (`four_mm1, backends.web.workers = 2`).
    pub fn subject(&self) -> String {
        let mut s = self.results.experiment.clone();
        let point = &self.results.points[self.slice[0]];
        for (k, axis) in self.results.axes.iter().enumerate() {
            if k != self.x_axis {
                s += &format!(", {} = {}", axis.path, style::tick(point.values.get(k).copied().unwrap_or(f64::NAN)));
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

    /// The focus point in words: `load 0.9` or `arrivals.rate = 200`.
    pub fn focus_label(&self) -> String {
        let load = self.result(self.focus, 0).map_or(f64::NAN, |r| r.load);
        if let Some(c) = self.result(self.focus, 0).and_then(|r| r.closed_loop.as_ref()) {
            return format!("at N = {} users (carried load {})", c.users, style::tick(load));
        }
        let mut s = format!("at load {}", style::tick(load));
        if !x_axis_is_load(self.results, self.x_axis) {
            if let Some(a) = self.results.axes.get(self.x_axis) {
                s += &format!(", {} = {}", a.path, style::tick(self.x(self.focus)));
            }
        }
        s
    }

    pub fn strategies(&self) -> &'r [String] {
        &self.results.strategies
    }
}

fn x_axis_is_load(results: &SweepResults, k: usize) -> bool {
    results.axes.get(k).is_some_and(|a| a.path == "arrivals.load")
}
