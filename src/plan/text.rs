//! What `lbsim plan` says: the terminal table, the written recommendation and the JSON.

use serde_json::{Value, json};

use super::cost::{Alternative, Comparison, Decision};
use super::{Evaluation, PlanResults, StrategyPlan, WarmupRaised};
use crate::output::run_json;
use crate::units::{format_duration, significant};

/// A rate for people: `341.2 req/s`.
pub fn rate(r: f64) -> String {
    format!("{} req/s", significant(r, 4))
}

/// `279ms [276ms, 283ms]` (or just the value when it has no interval).
fn metric_text(e: &crate::stats::Estimate) -> String {
    if e.has_interval() && e.ci_high > e.ci_low {
        format!("{} [{}, {}]", format_duration(e.value), format_duration(e.ci_low), format_duration(e.ci_high))
    } else {
        format_duration(e.value)
    }
}

/// Headroom as `341.2 req/s [335.9, 346.9] (+14%)`.
fn headroom_text(p: &PlanResults, s: &StrategyPlan) -> String {
    match (s.headroom_rate, s.headroom_rate_ci95) {
        (Some(h), Some([lo, hi])) => format!(
            "{} [{}, {}] ({:+.0}%)",
            rate(h),
            significant(lo, 4),
            significant(hi, 4),
            (h / p.rate - 1.0) * 100.0
        ),
        _ => "—".into(),
    }
}

/// Runs simulated for one strategy (every size and rate).
fn runs(s: &StrategyPlan) -> u32 {
    s.sizes.iter().chain(&s.rates).map(|e| e.replications).sum()
}

/// The table printed on the terminal, then the notes and the recommendation.
pub fn table(p: &PlanResults) -> String {
    let metric = p.slo.metric_name();
    let header = [
        "strategy".to_string(),
        "minimum".to_string(),
        format!("{metric} at minimum"),
        format!("P(> {})", format_duration(p.slo.limit)),
        "meets the SLO up to (95% interval)".to_string(),
        "runs".to_string(),
    ];
    let rows: Vec<[String; 6]> = p
        .results
        .iter()
        .map(|s| {
            let at = s.sizes.iter().find(|e| Some(e.value) == s.minimum);
            [
                s.strategy.clone(),
                s.minimum.map_or_else(|| format!("> {}", s.bound), |m| m.to_string()),
                at.map_or_else(|| "—".into(), |e| metric_text(&e.metric)),
                crate::report::content::over_slo_text(s.at_minimum.as_ref().and_then(|r| r.over_slo)),
                headroom_text(p, s),
                runs(s).to_string(),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).chain([header[c].chars().count()]).max().unwrap_or(0))
        .collect();
    let line = |cells: &[String]| -> String {
        let mut out = String::new();
        for (c, cell) in cells.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            if c == 0 {
                out += &format!("{cell}{}", " ".repeat(pad));
            } else {
                out += &format!("  {}{cell}", " ".repeat(pad));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out =
        format!("plan {}: {} at {}, varying {}\n\n", p.experiment, p.slo.describe(), rate(p.rate), p.vary.path);
    out += &line(&header);
    for r in &rows {
        out += &line(r);
    }
    let notes = notes(p);
    if !notes.is_empty() {
        out += "\n";
        for n in notes {
            out += &format!("  {n}\n");
        }
    }
    out += &format!("\n{}\n", recommendation(p));
    out
}

/// Sentences about single strategies: why there is no minimum, close calls.
pub fn notes(p: &PlanResults) -> Vec<String> {
    let mut out = Vec::new();
    for s in &p.results {
        if let Some(reason) = &s.reason {
            out.push(format!("{}: {reason}.", s.strategy));
        }
        if let (Some(m), Some(e)) = (s.minimum, s.close_call()) {
            out.push(format!(
                "{}: {} is too close to call ({} {} straddles {} after {} replications), so {} is the smallest \
                 size that meets the SLO with 95% confidence.",
                s.strategy,
                p.vary.words(e.value),
                p.slo.metric_name(),
                metric_text(&e.metric),
                format_duration(p.slo.limit),
                e.replications,
                m
            ));
        }
        let raised: Vec<(&Evaluation, WarmupRaised)> =
            s.sizes.iter().chain(&s.rates).filter_map(|e| e.warmup_raised.map(|w| (e, w))).collect();
        if let Some(&(worst, w)) = raised.iter().max_by(|a, b| a.1.bias.total_cmp(&b.1.bias)) {
            let most = raised.iter().map(|(_, w)| w.to).max().unwrap_or(w.to);
            out.push(format!(
                "{}: the file's warm-up of {} requests is too short for queues that start empty to fill at {} of the \
                 {} looks (the means would have read up to {:.1}% low, at {} and {}); those runs warmed up for up \
                 to {} requests instead.",
                s.strategy,
                w.from,
                raised.len(),
                s.sizes.len() + s.rates.len(),
                100.0 * w.bias,
                p.vary.words(worst.value),
                rate(worst.rate),
                most
            ));
        }
        if let Some(r) = &s.at_minimum {
            if !r.warnings.is_empty() {
                let what: Vec<String> = r.warnings.iter().map(|w| r.explain(*w)).collect();
                out.push(format!("{} at its minimum: {}.", s.strategy, what.join("; ")));
            }
        }
    }
    out
}

/// The written recommendation, with the reason in numbers.
pub fn recommendation(p: &PlanResults) -> String {
    let slo = p.slo.describe();
    let mut met: Vec<&StrategyPlan> = p.results.iter().filter(|s| s.minimum.is_some()).collect();
    if met.is_empty() {
        let closest = p
            .results
            .iter()
            .filter_map(|s| s.best.as_ref().map(|b| (s, b)))
            .min_by(|a, b| a.1.metric.value.total_cmp(&b.1.metric.value));
        return match closest {
            Some((s, b)) => format!(
                "No strategy meets {slo} at {}. Closest: {} with {}, at {} {}.",
                rate(p.rate),
                s.strategy,
                p.vary.words(b.value),
                p.slo.metric_name(),
                metric_text(&b.metric)
            ),
            None => format!("No strategy meets {slo} at {}: every size tried is saturated.", rate(p.rate)),
        };
    }
    met.sort_by(|a, b| {
        a.minimum.cmp(&b.minimum).then(b.headroom_rate.unwrap_or(0.0).total_cmp(&a.headroom_rate.unwrap_or(0.0)))
    });
    // One shared queue in front of every worker is the bound balancers approach, not a
    // balancer: recommend the best deployable strategy, and say how close it comes.
    let ideal = met.iter().position(|s| s.name == IDEAL).filter(|_| met.iter().any(|s| s.name != IDEAL));
    let ideal = ideal.map(|i| met.remove(i));
    let best = met[0];
    let m = best.minimum.expect("met");
    let at = best.sizes.iter().find(|e| e.value == m).expect("the minimum was evaluated");
    let mut out = format!(
        "Recommendation: {} with {}. At {} its {} is {}, within {slo}",
        best.strategy,
        p.vary.words(m),
        rate(p.rate),
        p.slo.metric_name(),
        metric_text(&at.metric),
    );
    if let (Some(h), Some([lo, hi])) = (best.headroom_rate, best.headroom_rate_ci95) {
        out += &format!(
            "; {} carry up to {} within the SLO (95% interval {}–{}), {:.0}% above the planned rate",
            p.vary.words(m),
            rate(h),
            significant(lo, 4),
            significant(hi, 4),
            (h / p.rate - 1.0) * 100.0
        );
    }
    out += ".";
    let overlaps = |s: &StrategyPlan| match (s.headroom_rate_ci95, best.headroom_rate_ci95) {
        (Some([a, b]), Some([c, d])) => a <= d && c <= b,
        _ => false,
    };
    let tied: Vec<&str> =
        met[1..].iter().filter(|s| s.minimum == Some(m) && overlaps(s)).map(|s| s.strategy.as_str()).collect();
    if !tied.is_empty() {
        out += &format!(
            " {} {} as well: their headroom intervals overlap, so the simulation cannot rank them.",
            tied.join(", "),
            if tied.len() == 1 { "ties with it" } else { "tie with it" }
        );
    }
    let others: Vec<String> = met[1..]
        .iter()
        .filter(|s| !tied.contains(&s.strategy.as_str()))
        .map(|s| {
            let m2 = s.minimum.expect("met");
            match s.headroom_rate {
                Some(h) if m2 == m => {
                    format!("{} carries only up to {} with {}", s.strategy, rate(h), p.vary.words(m2))
                }
                _ => format!("{} needs {}", s.strategy, p.vary.words(m2)),
            }
        })
        .chain(
            p.results
                .iter()
                .filter(|s| s.minimum.is_none())
                .map(|s| format!("{} does not meet it with up to {}", s.strategy, p.vary.words(s.bound))),
        )
        .collect();
    if !others.is_empty() {
        out += &format!(" By comparison, {}.", others.join("; "));
    }
    if let Some(ideal) = ideal {
        let bound = match (ideal.minimum, ideal.headroom_rate) {
            (Some(im), Some(h)) => format!("{} carrying up to {}", p.vary.words(im), rate(h)),
            (Some(im), None) => p.vary.words(im),
            _ => "no answer".into(),
        };
        out += &format!(" The shared FCFS queue ({}, not a balancer one can deploy) needs {bound}.", ideal.strategy);
    }
    out
}

/// The registry name of the shared-queue ideal.
const IDEAL: &str = "central_queue";

fn evaluation_json(e: &Evaluation) -> Value {
    json!({
        "value": e.value,
        "rate": e.rate,
        "load": e.load,
        "metric": e.metric.value,
        "metric_ci95": [e.metric.ci_low, e.metric.ci_high],
        "verdict": e.verdict,
        "replications": e.replications,
        "saturated": e.saturated,
        "p_over_slo": e.result.as_ref().and_then(|r| r.over_slo).map(|o| [o.fraction.value, o.fraction.ci_low, o.fraction.ci_high]),
    })
}

/// The `--json` document (and `plan.json`). The first keys are the contract of issue 13:
/// `experiment`, `rate`, `slo`, `vary`, `results[].{strategy, minimum, headroom_rate,
/// headroom_rate_ci95, at_minimum}` (`at_minimum` as one result of `lbsim run --json`), with
/// `reason` and `best` when `minimum` is null. The rest (the sizes and rates evaluated, the
/// recommendation) comes after.
pub fn json(p: &PlanResults) -> Value {
    let results: Vec<Value> = p
        .results
        .iter()
        .map(|s| {
            let at_minimum = s.at_minimum.as_ref().map(|r| {
                let doc = run_json(&p.experiment, std::slice::from_ref(r));
                serde_json::to_value(&doc.results[0]).expect("run results serialise")
            });
            let mut v = json!({
                "strategy": s.strategy,
                "minimum": s.minimum,
                "headroom_rate": s.headroom_rate,
                "headroom_rate_ci95": s.headroom_rate_ci95,
                "at_minimum": at_minimum,
            });
            let object = v.as_object_mut().expect("an object");
            if let Some(reason) = &s.reason {
                object.insert("reason".into(), json!(reason));
            }
            if s.minimum.is_none() {
                object.insert("best".into(), s.best.as_ref().map_or(Value::Null, evaluation_json));
            }
            object.insert("bound".into(), json!(s.bound));
            object.insert("sizes".into(), s.sizes.iter().map(evaluation_json).collect());
            object.insert("rates".into(), s.rates.iter().map(evaluation_json).collect());
            v
        })
        .collect();
    json!({
        "experiment": p.experiment,
        "rate": p.rate,
        "slo": p.slo.text(),
        "vary": p.vary.path,
        "results": results,
        "recommendation": recommendation(p),
        "seed": p.seed,
    })
}

// ---- costs and alternative designs -----------------------------------------------------

/// A cost per hour: `1.36/h`.
pub fn money(x: f64) -> String {
    format!("{}/h", significant(x, 4))
}

/// `5 slow backends at 0.85/h`, or the reason there is none.
fn priced(a: &Alternative, s: usize) -> String {
    let r = &a.plan.results[s];
    match (r.minimum, a.cost[s]) {
        (Some(m), Some(c)) => format!("{} at {}", a.plan.vary.words(m), money(c)),
        (Some(m), None) => a.plan.vary.words(m),
        (None, _) => format!("none up to {}", a.plan.vary.words(r.bound)),
    }
}

/// One sentence per strategy: the cheapest alternative meeting the SLO, ties and close calls.
pub fn cost_sentences(c: &Comparison) -> Vec<String> {
    let mut out = Vec::new();
    for (s, choice) in c.choices.iter().enumerate() {
        let Some(best) = choice.cheapest else {
            out.push(format!("{}: no alternative meets the SLO within its search bound.", choice.strategy));
            continue;
        };
        let best_cost = c.alternatives[best].cost[s].expect("the cheapest has a cost");
        let others: Vec<String> = (0..c.alternatives.len())
            .filter(|&i| i != best && !choice.tied.contains(&i))
            .map(|i| match c.alternatives[i].cost[s] {
                Some(cost) => format!("{} ({:+.0}%)", priced(&c.alternatives[i], s), (cost / best_cost - 1.0) * 100.0),
                None => priced(&c.alternatives[i], s),
            })
            .collect();
        let mut sentence = match choice.decision {
            Decision::Tie => {
                let tied: Vec<String> = std::iter::once(best)
                    .chain(choice.tied.iter().copied())
                    .map(|i| c.alternatives[i].plan.vary.words(c.alternatives[i].plan.results[s].minimum.unwrap_or(0)))
                    .collect();
                format!("{}: a tie: {} cost the same, {}", choice.strategy, tied.join(" and "), money(best_cost))
            }
            _ => format!("{}: cheapest is {}", choice.strategy, priced(&c.alternatives[best], s)),
        };
        if !others.is_empty() {
            sentence += &format!("; {}", others.join(", "));
        }
        sentence += ".";
        for &i in &choice.undercut {
            let a = &c.alternatives[i];
            if let (Some(e), Some(cost)) = (a.plan.results[s].close_call(), a.cost_below[s]) {
                sentence += &format!(
                    " Not statistically clear: {} ({}) was too close to call after {} replications and would cost {}.",
                    a.plan.vary.words(e.value),
                    money(cost),
                    e.replications,
                    if cost < best_cost { "less" } else { "the same" }
                );
            }
        }
        out.push(sentence);
    }
    out
}

/// The cheapest configuration over strategies (central_queue, which no balancer can deploy,
/// only when nothing else meets the SLO); ties in cost are named together.
pub fn cost_recommendation(c: &Comparison) -> String {
    let priced: Vec<(usize, usize, f64)> = c
        .choices
        .iter()
        .enumerate()
        .filter_map(|(s, ch)| ch.cheapest.and_then(|b| c.alternatives[b].cost[s].map(|cost| (s, b, cost))))
        .collect();
    let deployable: Vec<(usize, usize, f64)> =
        priced.iter().copied().filter(|&(s, _, _)| c.alternatives[0].plan.results[s].name != "central_queue").collect();
    let pool = if deployable.is_empty() { priced } else { deployable };
    let Some(&(_, _, least)) = pool.iter().min_by(|a, b| a.2.total_cmp(&b.2)) else {
        return "No configuration meets the SLO within the search bounds.".to_string();
    };
    let cheapest: Vec<String> = pool
        .iter()
        .filter(|&&(_, _, cost)| (cost - least).abs() <= 1e-9 * least.max(1.0))
        .map(|&(s, b, _)| {
            let a = &c.alternatives[b];
            let r = &a.plan.results[s];
            format!("{} with {}", r.strategy, a.plan.vary.words(r.minimum.expect("priced")))
        })
        .collect();
    let unclear = c.choices.iter().any(|ch| ch.decision == Decision::Unclear);
    format!(
        "Cheapest configuration: {} at {}{}{}",
        cheapest.join(", or "),
        money(least),
        if cheapest.len() > 1 { " (a tie in cost)" } else { "" },
        if unclear { " (see the notes: one choice is not statistically clear)." } else { "." }
    )
}

/// The terminal output of a comparison: one alternative without costs is exactly [`table`].
pub fn comparison_table(c: &Comparison) -> String {
    if c.alternatives.len() == 1 && !c.has_costs() {
        return table(&c.alternatives[0].plan);
    }
    let mut out = String::new();
    for (i, a) in c.alternatives.iter().enumerate() {
        if c.alternatives.len() > 1 {
            out += &format!("alternative {}: {}\n", i + 1, a.label());
        }
        out += &table(&a.plan);
        out += "\n";
    }
    out += "cost per hour at each minimum (the groups held as in the file included):\n";
    for sentence in cost_sentences(c) {
        out += &format!("  {sentence}\n");
    }
    out += &format!("\n{}\n", cost_recommendation(c));
    out
}

/// The `--json` of a comparison. One alternative without costs is exactly [`json`]; with
/// costs each result gains `cost_per_hour`. With several alternatives `vary` lists them,
/// each result keeps the contract's fields for its cheapest alternative and adds `vary`,
/// `cost_per_hour`, `decision` (clear, tie, unclear, none), `tied`, `undercut` and
/// `alternatives` (each alternative's `vary`, `left_out`, `minimum`, `cost_per_hour`); the
/// full plan of every alternative follows under `alternatives`.
pub fn comparison_json(c: &Comparison) -> Value {
    let with_costs = |a: &Alternative| {
        let mut v = json(&a.plan);
        if c.has_costs() {
            for (s, r) in v["results"].as_array_mut().expect("results").iter_mut().enumerate() {
                r.as_object_mut().expect("an object").insert("cost_per_hour".into(), json!(a.cost[s]));
            }
        }
        v
    };
    if c.alternatives.len() == 1 {
        return with_costs(&c.alternatives[0]);
    }
    let plans: Vec<Value> = c
        .alternatives
        .iter()
        .map(|a| {
            let mut v = with_costs(a);
            v.as_object_mut().expect("an object").insert("left_out".into(), json!(a.left_out));
            v
        })
        .collect();
    let results: Vec<Value> = c
        .choices
        .iter()
        .enumerate()
        .map(|(s, ch)| {
            let from = ch.cheapest.unwrap_or(0);
            let mut r = plans[from]["results"][s].clone();
            let object = r.as_object_mut().expect("an object");
            object.retain(|k, _| {
                ["strategy", "minimum", "headroom_rate", "headroom_rate_ci95", "at_minimum", "reason", "cost_per_hour"]
                    .contains(&k.as_str())
            });
            if ch.cheapest.is_none() {
                object.insert("minimum".into(), Value::Null);
                object.insert("reason".into(), json!("no alternative meets the SLO within its search bound"));
            }
            let path = |i: &usize| c.alternatives[*i].plan.vary.path.clone();
            object.insert("vary".into(), json!(ch.cheapest.as_ref().map(path)));
            object.insert("decision".into(), json!(ch.decision));
            object.insert("tied".into(), json!(ch.tied.iter().map(path).collect::<Vec<_>>()));
            object.insert("undercut".into(), json!(ch.undercut.iter().map(path).collect::<Vec<_>>()));
            let each: Vec<Value> = c
                .alternatives
                .iter()
                .map(|a| {
                    json!({
                        "vary": a.plan.vary.path,
                        "left_out": a.left_out,
                        "minimum": a.plan.results[s].minimum,
                        "cost_per_hour": a.cost[s],
                    })
                })
                .collect();
            object.insert("alternatives".into(), Value::Array(each));
            r
        })
        .collect();
    let first = &c.alternatives[0].plan;
    json!({
        "experiment": first.experiment,
        "rate": first.rate,
        "slo": first.slo.text(),
        "vary": c.alternatives.iter().map(|a| a.plan.vary.path.clone()).collect::<Vec<_>>(),
        "results": results,
        "recommendation": cost_recommendation(c),
        "cost_notes": cost_sentences(c),
        "alternatives": plans,
        "seed": first.seed,
    })
}
