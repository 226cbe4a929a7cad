//! Costs in `lbsim plan`: the cheapest configuration that meets the SLO.
//!
//! Every backend group may carry a `cost` per backend per hour (`[[backends]] cost = 0.34`,
//! or `cost = { backend = 0.10, worker = 0.06 }` when workers are bought too, e.g. vCPUs). A
//! configuration's cost is the sum over the cluster's groups of count × (backend + worker ×
//! workers): the groups held as in the file are included.
//!
//! **Alternatives**: `--vary` given several times names designs to compare (more slow
//! backends vs fewer fast ones, or more backends vs more workers). Alternative *i* sizes its
//! quantity as a single `--vary` would; a backend group that another alternative sizes and
//! alternative *i* does not is left out of its cluster (so `--vary backends.fast.count
//! --vary backends.slow.count` compares an all-fast cluster with an all-slow one), and groups
//! no alternative names stay as in the file in every alternative. Per strategy the answer is
//! each alternative's minimum and its cost, and the cheapest alternative that meets the SLO.
//!
//! Honest decisions: two alternatives whose costs are equal are a tie; and when the size just
//! below another alternative's minimum was too close to call (its interval straddled the SLO
//! after the most replications) and would cost no more than the cheapest, the choice is
//! reported as not statistically clear rather than silently made.

use anyhow::{Context as _, Result, bail};

use super::{PlanResults, Question, Vary, plan};
use crate::config::ExperimentFile;

/// Costs closer than this (relative) are equal: a tie.
const COST_TIE: f64 = 1e-9;

/// One design compared: its plan and what each strategy's minimum costs.
#[derive(Debug, Clone)]
pub struct Alternative {
    pub plan: PlanResults,
    /// Backend groups left out of this alternative's cluster (another alternative sizes them).
    pub left_out: Vec<String>,
    /// Per strategy (as in `plan.results`): the cluster's cost per hour at its minimum.
    pub cost: Vec<Option<f64>>,
    /// Per strategy: the cost one size below the minimum, when that size was too close to call.
    pub cost_below: Vec<Option<f64>>,
}

impl Alternative {
    /// `backends.slow.count` or `backends.slow.count (without fast)`.
    pub fn label(&self) -> String {
        if self.left_out.is_empty() {
            self.plan.vary.path.clone()
        } else {
            format!("{} (without {})", self.plan.vary.path, self.left_out.join(", "))
        }
    }
}

/// How clear the cheapest choice of one strategy is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// One alternative is cheapest, and no size too close to call could undercut it.
    Clear,
    /// Several alternatives cost the same at their minima.
    Tie,
    /// A size too close to call in another alternative would cost no more.
    Unclear,
    /// No alternative meets the SLO within its bound.
    None,
}

/// One strategy's cheapest configuration.
#[derive(Debug, Clone)]
pub struct Choice {
    pub strategy: String,
    /// The cheapest alternative meeting the SLO (the first of a tie).
    pub cheapest: Option<usize>,
    /// The other alternatives costing the same as the cheapest.
    pub tied: Vec<usize>,
    /// Alternatives whose size below the minimum was too close to call and would cost no more.
    pub undercut: Vec<usize>,
    pub decision: Decision,
}

/// The answer of `lbsim plan` with costs or several alternatives.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub alternatives: Vec<Alternative>,
    /// Per strategy, in the order of the plans' results.
    pub choices: Vec<Choice>,
}

impl Comparison {
    /// Whether the file gives costs (every alternative then has them for every minimum).
    pub fn has_costs(&self) -> bool {
        self.alternatives.iter().any(|a| a.cost.iter().any(Option::is_some))
    }
}

/// Plans each alternative in `alternatives` (the `--vary` paths in order) and compares costs.
/// One alternative without costs is exactly `plan`.
pub fn compare(file: &ExperimentFile, question: &Question, alternatives: &[Vary]) -> Result<Comparison> {
    for (i, a) in alternatives.iter().enumerate() {
        if alternatives[..i].iter().any(|b| b.path == a.path) {
            bail!("--vary {} is given twice: each --vary is one alternative design to compare", a.path);
        }
    }
    let costed = file.resolve()?.cost_per_hour().is_some();
    if alternatives.len() > 1 && !costed {
        bail!(
            "several --vary compare alternative designs by their cost, but the file gives none: add a cost per \
             backend per hour to every [[backends]] group (e.g. cost = 0.34, or cost = {{ backend = 0.10, worker = \
             0.06 }})"
        );
    }
    let mut out = Vec::with_capacity(alternatives.len());
    for vary in alternatives {
        let mut left_out: Vec<String> = Vec::new();
        for other in alternatives {
            if other.group != vary.group && !left_out.contains(&other.group) {
                left_out.push(other.group.clone());
            }
        }
        let mut alt_file = file.clone();
        for group in &left_out {
            alt_file.remove_backend_group(group)?;
        }
        let context = || format!("alternative --vary {} (without {})", vary.path, left_out.join(", "));
        if !left_out.is_empty() {
            alt_file.resolve().map_err(anyhow::Error::from).with_context(context)?;
        }
        let q = Question { vary: vary.clone(), ..question.clone() };
        let p = plan(&alt_file, &q)?;
        let cost_at = |value: u32| -> Result<Option<f64>> {
            let mut f = alt_file.clone();
            f.set_number(&vary.path, f64::from(value))?;
            f.set_rate(question.rate)?;
            // Rounded to 9 decimals: 7 × 0.17 should read 1.19, not 1.1900000000000002.
            Ok(f.resolve()?.cost_per_hour().map(|c| (c * 1e9).round() / 1e9))
        };
        let mut cost = Vec::with_capacity(p.results.len());
        let mut cost_below = Vec::with_capacity(p.results.len());
        for s in &p.results {
            cost.push(match s.minimum {
                Some(m) if costed => cost_at(m)?,
                _ => None,
            });
            cost_below.push(match s.close_call() {
                Some(e) if costed => cost_at(e.value)?,
                _ => None,
            });
        }
        out.push(Alternative { plan: p, left_out, cost, cost_below });
    }
    let strategies = out[0].plan.results.len();
    let choices = (0..strategies)
        .map(|s| {
            let costs: Vec<Option<f64>> = out.iter().map(|a| a.cost[s]).collect();
            let below: Vec<Option<f64>> = out.iter().map(|a| a.cost_below[s]).collect();
            let mut c = choose(&costs, &below);
            c.strategy = out[0].plan.results[s].strategy.clone();
            c
        })
        .collect();
    Ok(Comparison { alternatives: out, choices })
}

/// The cheapest of alternatives costing `costs` at their minima (`None`: no minimum), with
/// `below` the cost of each one's size below its minimum when that size was too close to call.
pub fn choose(costs: &[Option<f64>], below: &[Option<f64>]) -> Choice {
    let same = |a: f64, b: f64| (a - b).abs() <= COST_TIE * a.abs().max(b.abs()).max(1.0);
    let cheapest = costs
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.map(|c| (i, c)))
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    let Some((best, best_cost)) = cheapest else {
        return Choice {
            strategy: String::new(),
            cheapest: None,
            tied: vec![],
            undercut: vec![],
            decision: Decision::None,
        };
    };
    let tied: Vec<usize> =
        (0..costs.len()).filter(|&i| i != best && costs[i].is_some_and(|c| same(c, best_cost))).collect();
    // The cheapest's own close call could only make it cheaper still: it does not change the choice.
    let undercut: Vec<usize> = (0..below.len())
        .filter(|&i| i != best && !tied.contains(&i) && below[i].is_some_and(|c| c <= best_cost || same(c, best_cost)))
        .collect();
    let decision = if !undercut.is_empty() {
        Decision::Unclear
    } else if !tied.is_empty() {
        Decision::Tie
    } else {
        Decision::Clear
    };
    Choice { strategy: String::new(), cheapest: Some(best), tied, undercut, decision }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cheapest_meeting_alternative_wins_and_ties_and_close_calls_are_said() {
        // B is cheapest; A costs more; C has no minimum.
        let c = choose(&[Some(3.0), Some(2.5), None], &[None, None, None]);
        assert_eq!((c.cheapest, c.decision), (Some(1), Decision::Clear));
        // Equal costs: a tie, the first named.
        let c = choose(&[Some(2.5), Some(2.5)], &[None, None]);
        assert_eq!((c.cheapest, c.tied.clone(), c.decision), (Some(0), vec![1], Decision::Tie));
        // A's size below its minimum was too close to call and would cost 2.0 < 2.5: unclear.
        let c = choose(&[Some(3.0), Some(2.5)], &[Some(2.0), None]);
        assert_eq!((c.cheapest, c.undercut.clone(), c.decision), (Some(1), vec![0], Decision::Unclear));
        // A close call that would still cost more changes nothing.
        let c = choose(&[Some(4.0), Some(2.5)], &[Some(3.0), None]);
        assert_eq!(c.decision, Decision::Clear);
        // The cheapest's own close call changes nothing either.
        let c = choose(&[Some(3.0), Some(2.5)], &[None, Some(2.0)]);
        assert_eq!(c.decision, Decision::Clear);
        // Nothing meets the SLO.
        let c = choose(&[None, None], &[None, None]);
        assert_eq!((c.cheapest, c.decision), (None, Decision::None));
    }
}
