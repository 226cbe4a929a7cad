//! `lbsim loadgen TRACE --url URL --out FILE`: replay a trace against a real server.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use lbsim::config::MAX_DURATION;
use lbsim::loadgen::{Options, Target, read_trace, records_csv, replay, summarise};
use lbsim::units::format_duration;

pub struct Args {
    pub trace: PathBuf,
    pub url: String,
    pub out: PathBuf,
    pub warmup: usize,
    pub requests: Option<usize>,
    pub cpu_share: f64,
    pub max_in_flight: usize,
    pub timeout: f64,
    pub json: bool,
}

pub fn loadgen(args: Args) -> Result<()> {
    if !(0.0..=1.0).contains(&args.cpu_share) {
        anyhow::bail!("--cpu-share must be between 0 and 1, got {}", args.cpu_share);
    }
    super::refuse_writing_over_inputs(std::slice::from_ref(&args.out), &[("the trace", args.trace.clone())])?;
    let timeout = timeout(args.timeout)?;
    let target = Target::parse(&args.url)?;
    let mut requests = read_trace(&args.trace)?;
    if let Some(n) = args.requests {
        requests.truncate(n);
    }
    if args.warmup >= requests.len() {
        anyhow::bail!("--warmup {} leaves nothing to measure in {} requests", args.warmup, requests.len());
    }
    let options = Options { cpu_share: args.cpu_share, max_in_flight: args.max_in_flight, timeout };
    let total = requests.len();
    let span = requests.last().map_or(0.0, |r| r.arrival) - requests[0].arrival;
    let terminal = std::io::stderr().is_terminal();
    eprintln!("replaying {total} requests over {} to {}", format_duration(span), args.url);
    let progress = |sent: usize| {
        if terminal && (sent % 100 == 0 || sent == total) {
            eprint!("\r  sent {sent}/{total}\x1b[K");
            let _ = std::io::stderr().flush();
        }
    };
    let records = replay(&requests, &target, &options, &progress)?;
    if terminal {
        eprintln!();
    }
    lbsim::sweep::output::write_atomically(&args.out, records_csv(&records).as_bytes())?;
    let s = summarise(&records, args.warmup);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        let ms = |x: f64| format!("{:.2}", x * 1e3);
        println!(
            "{} measured requests ({} errors): mean {} ms, p50 {} ms, p90 {} ms, p99 {} ms, max {} ms",
            s.requests,
            s.errors,
            ms(s.mean_response),
            ms(s.p50),
            ms(s.p90),
            ms(s.p99),
            ms(s.max)
        );
        let shares: Vec<String> = s
            .backends
            .iter()
            .map(|b| format!("{} {:.1}%", if b.name.is_empty() { "?" } else { &b.name }, b.share * 100.0))
            .collect();
        println!("backends: {}", shares.join(", "));
        println!(
            "send lag: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms; rate {:.1}/s; records in {}",
            s.send_lag_p50 * 1e3,
            s.send_lag_p99 * 1e3,
            s.send_lag_max * 1e3,
            s.rate,
            args.out.display()
        );
    }
    if s.errors > 0 {
        eprintln!("warning: {} of {} measured requests failed (see the error column)", s.errors, s.requests);
    }
    Ok(())
}

/// `--timeout` as a `Duration`: checked first, because `Duration::from_secs_f64` panics on
/// NaN, negative and huge values, and a zero timeout fails every connection.
fn timeout(seconds: f64) -> Result<Duration> {
    match Duration::try_from_secs_f64(seconds) {
        Ok(d) if !d.is_zero() && seconds <= MAX_DURATION => Ok(d),
        _ => anyhow::bail!(
            "--timeout must be a number of seconds from 1e-9 (1 ns) to {MAX_DURATION:e} (about 31 years, the \
             longest duration lbsim accepts), got {seconds}"
        ),
    }
}
