//! `lbsim run FILE`: every strategy of the experiment, with its replications, at one point.

use std::io::{IsTerminal, Write};

use anyhow::Result;

use lbsim::experiment::{Experiment, Warmup};
use lbsim::output::{cancel_lines, closed_loop_lines, hedging_lines, results_table, run_json};
use lbsim::runner::run_strategy;
use lbsim::units::format_duration;

pub fn run(experiment: &Experiment, json: bool, quiet: bool, yes: bool) -> Result<()> {
    // One strategy runs at a time: the estimate is for one core.
    let cost = lbsim::budget::Cost::of(std::slice::from_ref(experiment), 1);
    if !yes {
        if let Some(refusal) = cost.refusal("this run") {
            anyhow::bail!("{refusal}");
        }
    }
    if !json {
        print!("{}", describe(experiment));
    }
    let progress = std::io::stderr().is_terminal() && !json && !quiet;
    let mut results = Vec::with_capacity(experiment.strategies.len());
    for (i, spec) in experiment.strategies.iter().enumerate() {
        if progress {
            eprint!("\r  running {} ({}/{})…\x1b[K", spec.label, i + 1, experiment.strategies.len());
            let _ = std::io::stderr().flush();
        }
        results.push(run_strategy(experiment, spec, 0)?);
    }
    if progress {
        eprint!("\r\x1b[K");
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&run_json(&experiment.name, &results))?);
    } else {
        println!();
        print!("{}", results_table(&results));
        let closed = closed_loop_lines(&results);
        if !closed.is_empty() {
            print!("\n{closed}");
        }
        let hedged = hedging_lines(&results);
        if !hedged.is_empty() {
            println!(
                "\nHedged requests (the first answer counts; the other copy runs to its end unless hedge_cancel):"
            );
            print!("{hedged}");
        }
        let cancelled = cancel_lines(&results);
        if !cancelled.is_empty() {
            println!("\nCancelled attempts (taken out of their backend before they ended):");
            print!("{cancelled}");
        }
        if results.iter().any(|r| r.saturated) {
            println!(
                "\nSATURATED: the offered work exceeds what the cluster (or one backend under that strategy) can do;\n\
                 queues grow (or fill to their backlog) and figures describe a transient, not a steady state."
            );
        }
        let warned: Vec<_> = results.iter().filter(|r| !r.warnings.is_empty()).collect();
        if !warned.is_empty() {
            println!("\nToo short to trust as it stands:");
            for r in warned {
                let what: Vec<String> = r.warnings.iter().map(|w| r.explain(*w)).collect();
                println!("  {}: {}", r.strategy, what.join("; "));
            }
        }
    }
    Ok(())
}

/// A few lines that say what is being simulated.
fn describe(e: &Experiment) -> String {
    let m = &e.model;
    let mut out = format!("experiment {}\n", e.name);
    if let Some(d) = &e.description {
        out += &format!("  {d}\n");
    }
    if m.closed_loop().is_some() {
        out += &format!("  users     {} — throughput is measured\n", m.arrivals.describe());
    } else {
        out += &format!("  arrivals  {} — offered load {:.3}\n", m.arrivals.describe(), m.offered_load());
    }
    out += &format!("  service   {}\n", m.service.describe());
    for g in &m.backends {
        out += &format!("  backends  {}, backlog {}\n", g.describe(), g.backlog);
    }
    if let Some(balancer) = m.balancer.describe() {
        out += &format!("  balancer  {balancer}\n");
    }
    let warmup = match e.plan.warmup {
        Warmup::Fixed(w) => format!("{w} warm-up"),
        Warmup::Auto => "warm-up by MSER-5".to_string(),
    };
    out += &format!(
        "  run       {} requests ({warmup}) × {} replication{}, seed {}\n",
        e.plan.requests,
        e.plan.replications,
        if e.plan.replications == 1 { "" } else { "s" },
        e.seed
    );
    let mean = m.service.mean();
    out += &format!("  (mean request {} of work at speed 1)\n", format_duration(mean));
    out
}
