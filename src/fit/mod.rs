//! Calibration from access logs (`lbsim fit`): what a log says about the traffic (arrival
//! times and rate, clients) and the service time, turned into a trace for replay and an
//! experiment whose service distribution is fitted to the log.
//!
//! The service time is what the backend spent per request (see [`log`] for which field of
//! each format). Durations logged as 0 (they are rounded, to the millisecond by nginx and
//! HAProxy) are taken as half the smallest positive duration in the log, so that logarithms
//! exist; the fitted candidates ([`distribution`]) are ranked by AIC.

pub mod distribution;
pub mod log;

use std::fmt::Write as _;

pub use distribution::{Candidate, Fitted};
pub use log::{Entry, Format, Log};

use crate::loadgen::quantile;
use crate::model::Request;
use crate::plot::qq::QqData;

/// Probabilities of the Q–Q chart's points: 1 % to 99.9 %, denser in the tail.
const QQ_PROBABILITIES: usize = 120;

/// Everything `lbsim fit` learnt from a log.
#[derive(Debug, Clone)]
pub struct Fit {
    pub format: Format,
    /// Requests, in arrival order (times relative to the first, sizes = service times).
    pub requests: Vec<Request>,
    /// Lines left out with `--skip-bad`: (line, reason).
    pub skipped: Vec<(usize, String)>,
    /// Seconds from the first arrival to the last.
    pub span: f64,
    /// Requests per second over the span.
    pub rate: f64,
    /// Requests per second in each hour of the day (UTC for nginx's epoch times; hours of the
    /// log's own clock otherwise), when the log spans at least a day.
    pub daily: Option<Daily>,
    /// Observed service times, sorted.
    pub service: Vec<f64>,
    /// Candidates, best (lowest AIC) first.
    pub candidates: Vec<Candidate>,
    /// Distinct backends (upstream addresses, HAProxy servers); 1 for gunicorn.
    pub backends: usize,
    /// Distinct gunicorn worker pids, when logged.
    pub workers: Option<usize>,
    /// Whether the log names clients (nginx `$http_x_client`).
    pub has_clients: bool,
}

/// The daily profile: hourly rates and the sinusoid lbsim's `diurnal` process fits to them.
#[derive(Debug, Clone, PartialEq)]
pub struct Daily {
    pub hourly: [f64; 24],
    /// Relative amplitude A of rate × (1 + A sin(2π t / 24 h + φ)).
    pub amplitude: f64,
    /// Hour of the day of the fitted peak.
    pub peak_hour: f64,
}

/// Fits `log`.
pub fn fit(log: Log, format: Format) -> Result<Fit, String> {
    let mut entries = log.entries;
    if entries.len() < 2 {
        return Err(format!("the log has {} usable request; a fit needs at least 2", entries.len()));
    }
    entries.sort_by(|a, b| a.arrival.total_cmp(&b.arrival));
    let smallest = entries.iter().map(|e| e.service).filter(|&s| s > 0.0).fold(f64::INFINITY, f64::min);
    if !smallest.is_finite() {
        return Err("every logged duration is 0: there is no service time to fit".into());
    }
    let service_of = |e: &Entry| if e.service > 0.0 { e.service } else { smallest / 2.0 };
    let t0 = entries[0].arrival;
    let requests: Vec<Request> = entries
        .iter()
        .map(|e| Request { arrival: e.arrival - t0, size: service_of(e), client: e.client.unwrap_or(0) })
        .collect();
    let span = requests.last().map_or(0.0, |r| r.arrival);
    if span <= 0.0 {
        return Err("every request arrived at the same instant: the log has no rate".into());
    }
    let mut service: Vec<f64> = requests.iter().map(|r| r.size).collect();
    let candidates = distribution::fit_all(&service);
    service.sort_by(f64::total_cmp);
    let distinct = |values: Vec<&str>| {
        let mut v = values;
        v.sort_unstable();
        v.dedup();
        v.len()
    };
    let backends = distinct(entries.iter().filter_map(|e| e.backend.as_deref()).collect()).max(1);
    let workers = distinct(entries.iter().filter_map(|e| e.worker.as_deref()).collect());
    Ok(Fit {
        format,
        rate: (requests.len() - 1) as f64 / span,
        daily: daily_profile(&entries, span),
        span,
        requests,
        skipped: log.skipped,
        service,
        candidates,
        backends,
        workers: (workers > 0).then_some(workers),
        has_clients: entries.iter().any(|e| e.client.is_some()),
    })
}

/// Hourly rates and their fitted sinusoid, when the arrivals span at least 24 hours.
fn daily_profile(entries: &[Entry], span: f64) -> Option<Daily> {
    const DAY: f64 = 86_400.0;
    if span < DAY {
        return None;
    }
    let mut counts = [0.0f64; 24];
    for e in entries {
        counts[((e.arrival.rem_euclid(DAY)) / 3600.0) as usize % 24] += 1.0;
    }
    let days = span / DAY;
    let hourly = counts.map(|c| c / days / 3600.0);
    let mean = hourly.iter().sum::<f64>() / 24.0;
    // Least squares of a + b sin(ωh) + c cos(ωh) over the 24 equally spaced hours (centres).
    let (mut b, mut c) = (0.0, 0.0);
    for (h, &r) in hourly.iter().enumerate() {
        let angle = 2.0 * std::f64::consts::PI * (h as f64 + 0.5) / 24.0;
        b += r * angle.sin() / 12.0;
        c += r * angle.cos() / 12.0;
    }
    let amplitude = (b * b + c * c).sqrt() / mean;
    // b sin x + c cos x peaks at x = atan2(b, c).
    let peak_hour = (b.atan2(c) / (2.0 * std::f64::consts::PI) * 24.0 - 0.5).rem_euclid(24.0);
    Some(Daily { hourly, amplitude: amplitude.min(1.0), peak_hour })
}

impl Fit {
    pub fn best(&self) -> &Candidate {
        &self.candidates[0]
    }

    pub fn observed_mean(&self) -> f64 {
        self.service.iter().sum::<f64>() / self.service.len() as f64
    }

    pub fn observed_quantile(&self, p: f64) -> f64 {
        quantile(&self.service, p)
    }

    /// The trace CSV of the log's requests (`time,size,client`).
    pub fn trace_csv(&self, source: &str) -> String {
        let comment = format!(
            "requests of {source} ({} log): arrival time (s from the first), service time (s), client id",
            self.format.name()
        );
        crate::traffic::trace_csv(&comment, self.requests.iter().copied())
    }

    /// The observed service times, one per line (for `distribution = "empirical"`).
    pub fn samples_csv(&self, source: &str) -> String {
        let mut out = format!("# service times (s) of {source}, sorted\nsize\n");
        for s in &self.service {
            let _ = writeln!(out, "{s}");
        }
        out
    }

    /// Q–Q points of every candidate against the observed quantiles.
    pub fn qq(&self, subject: &str) -> QqData {
        let probabilities: Vec<f64> = (0..QQ_PROBABILITIES)
            .map(|i| {
                // Evenly spaced in log(1 − p) from 1 % to 99.9 %: the tail gets its share.
                let t = i as f64 / (QQ_PROBABILITIES - 1) as f64;
                1.0 - (0.99f64.ln() + t * (0.001f64.ln() - 0.99f64.ln())).exp()
            })
            .collect();
        let series = self
            .candidates
            .iter()
            .map(|c| {
                let label = format!("{} (AIC {:.0})", c.fitted.name(), c.aic);
                (label, probabilities.iter().map(|&p| (self.observed_quantile(p), c.fitted.quantile(p))).collect())
            })
            .collect();
        QqData { subject: subject.to_string(), series }
    }

    /// The experiment file: fitted arrivals and service, `backends` × `workers`, the
    /// strategies of the log's balancer. `files` names the trace and samples files written
    /// beside it (relative to it).
    pub fn experiment_toml(&self, name: &str, source: &str, workers: u32, files: (&str, &str)) -> String {
        let ms = |s: f64| crate::units::format_duration(s);
        let best = self.best();
        let mut out = String::new();
        let _ = writeln!(out, "# Fitted by `lbsim fit {source} --format {}`.", self.format.name());
        let _ = writeln!(
            out,
            "# {} requests over {}{}; mean rate {:.4}/s.",
            self.requests.len(),
            ms(self.span),
            if self.skipped.is_empty() {
                String::new()
            } else {
                format!(" ({} bad lines skipped)", self.skipped.len())
            },
            self.rate
        );
        let _ = writeln!(
            out,
            "# Service time observed: mean {}, cv {:.3}, p50 {}, p99 {}.",
            ms(self.observed_mean()),
            cv(&self.service),
            ms(self.observed_quantile(0.5)),
            ms(self.observed_quantile(0.99))
        );
        let _ = writeln!(out, "# Candidates by maximum likelihood; the lowest AIC (2 parameters − 2 log L) is used:");
        for c in &self.candidates {
            let _ = writeln!(
                out,
                "#   {:<10} AIC {:>14.1}   mean {:>9}  cv {:.3}  p99 {:>9}{}",
                c.fitted.name(),
                c.aic,
                ms(c.fitted.mean()),
                c.fitted.cv(),
                ms(c.fitted.quantile(0.99)),
                if std::ptr::eq(c, best) { "   ← chosen" } else { "" }
            );
        }
        let _ = writeln!(
            out,
            "# The observed sizes themselves: [service] distribution = \"empirical\", file = \"{}\".",
            files.1
        );
        let _ = writeln!(
            out,
            "# The log's own arrivals and sizes: [arrivals] process = \"trace\", file = \"{}\", no [service].",
            files.0
        );
        if let Some(d) = &self.daily {
            let _ = writeln!(out, "# Hourly arrival rates (/s), hour 0 to 23:");
            let rates: Vec<String> = d.hourly.iter().map(|r| format!("{r:.3}")).collect();
            let _ = writeln!(out, "#   {}", rates[..12].join(" "));
            let _ = writeln!(out, "#   {}", rates[12..].join(" "));
            let _ = writeln!(
                out,
                "# lbsim's diurnal process starts at the mean rate, rising; the log peaks at hour {:.1}.",
                d.peak_hour
            );
        }
        let _ = writeln!(out, "\n[experiment]\nname = \"{name}\"");
        let _ = writeln!(out, "description = \"fitted from {}\"", source.replace('"', "'"));
        let _ = writeln!(out, "seed = 1\n\n[run]\nrequests = 200000\nwarmup = 20000\n\n[arrivals]");
        match &self.daily {
            Some(d) => {
                let _ = writeln!(
                    out,
                    "process = \"diurnal\"\nrate = {}\namplitude = {:.4}\nperiod = \"24h\"",
                    self.rate, d.amplitude
                );
            }
            None => {
                let _ = writeln!(out, "process = \"poisson\"\nrate = {}", self.rate);
            }
        }
        let _ = writeln!(out, "\n[service]\n{}", best.fitted.service_toml());
        let _ = writeln!(out, "[[backends]]\nname = \"backend\"\ncount = {}\nworkers = {workers}\n", self.backends);
        let strategies = match self.format {
            Format::Nginx => "[\"round_robin\", \"least_connections\"]",
            Format::Haproxy => "[\"round_robin\", \"least_connections\", \"central_queue\"]",
            Format::Gunicorn => "[\"round_robin\"]",
        };
        let _ = writeln!(out, "[balancer]\nstrategies = {strategies}");
        out
    }
}

fn cv(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    var.sqrt() / mean
}
