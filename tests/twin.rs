//! The real-twin tools without the twin: `lbsim trace` (an experiment's traffic as data),
//! `lbsim fit` on synthetic logs whose generator is known and on a log the twin produced
//! (tests/data/, captured by validation/twin.sh), and fit's handling of bad logs.

use std::fmt::Write as _;
use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_distr::Distribution;
use rand_xoshiro::Xoshiro256PlusPlus;

use lbsim::config::ExperimentFile;
use lbsim::fit::{Format, fit, log};
use lbsim::seed::RunSeed;
use lbsim::traffic::{Requests, trace_csv};

fn lbsim() -> Command {
    Command::cargo_bin("lbsim").unwrap()
}

fn experiment(text: &str, folder: &Path) -> lbsim::experiment::Experiment {
    ExperimentFile::parse(&folder.join("x.toml"), text).unwrap().resolve().unwrap()
}

/// What `lbsim trace` writes is the traffic the engine simulates: replaying it as a trace
/// gives the same response times as the experiment itself (up to the rounding of shifting
/// every time by the first arrival).
#[test]
fn a_trace_of_an_experiment_simulates_like_the_experiment() {
    let dir = tempfile::tempdir().unwrap();
    let service = "[service]\ndistribution = \"lognormal\"\nmean = \"40ms\"\ncv = 1.5\n";
    let model = r#"
        [[backends]]
        name = "gunicorn"
        count = 3
        workers = 4
        [balancer]
        strategies = ["round_robin", "least_connections"]
    "#;
    let original = experiment(
        &format!(
            "[experiment]\nseed = 5\n[run]\nrequests = 30000\nwarmup = 3000\n[arrivals]\nload = 0.85\n{service}{model}"
        ),
        dir.path(),
    );
    let requests = Requests::new(&original.model, RunSeed::new(5, 0, 0)).take(33000);
    std::fs::write(dir.path().join("t.csv"), trace_csv("test", requests)).unwrap();
    let replayed = experiment(
        &format!(
            "[experiment]\nseed = 9\n[run]\nrequests = 30000\nwarmup = 3000\n[arrivals]\nprocess = \"trace\"\nfile = \"t.csv\"\n{model}"
        ),
        dir.path(),
    );
    for spec in &original.strategies {
        let a = lbsim::runner::run_strategy(&original, spec, 0).unwrap();
        let b = lbsim::runner::run_strategy(&replayed, spec, 0).unwrap();
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs();
        assert!(close(a.mean_response.value, b.mean_response.value), "{}: {a:?} vs {b:?}", spec.label);
        // Percentiles come from a histogram scaled by the model's mean size (the trace's own
        // mean when sizes come from it), whose buckets are within 0.1 % of each other.
        let p99 = (a.p99.value / b.p99.value - 1.0).abs();
        assert!(p99 <= 2e-3, "{}: p99 {} vs {}", spec.label, a.p99.value, b.p99.value);
    }
}

#[test]
fn lbsim_trace_writes_the_requested_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("trace.csv");
    lbsim()
        .arg("trace")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("validation/twin.toml"))
        .args(["--requests", "500", "--set", "arrivals.load=0.5", "--out"])
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("offered load 0.5\n"), "{text}");
    let rows: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!((rows[0], rows.len()), ("time,size,client", 501));
}

/// A synthetic log: Poisson arrivals at `rate` (or a daily sinusoid), service times from
/// `service`, written in `format` with the format's own rounding (ms for nginx and HAProxy,
/// µs for gunicorn).
fn synthetic_log(
    format: Format,
    n: usize,
    rate: impl Fn(f64) -> f64,
    peak_rate: f64,
    service: &dyn Fn(&mut Xoshiro256PlusPlus) -> f64,
    seed: u64,
) -> String {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut out = String::new();
    let mut t = 1_795_564_800.0; // 25 Nov 2026 00:00 UTC
    let start = t;
    let mut lines = Vec::with_capacity(n);
    while lines.len() < n {
        // Thinning: candidates at the peak rate, kept with probability rate(t) / peak.
        let gap: f64 = rand_distr::Exp1.sample(&mut rng);
        t += gap / peak_rate;
        if rng.random::<f64>() * peak_rate > rate(t - start) {
            continue;
        }
        let s: f64 = service(&mut rng);
        lines.push((t + s, t, s));
    }
    // Logs are written when requests finish.
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (i, (end, _, s)) in lines.iter().enumerate() {
        match format {
            Format::Nginx => {
                let _ =
                    writeln!(out, "{end:.3} {:.3} {:.3} 200 {} 127.0.0.1:1808{}", s + 0.0005, s, i % 1000, 1 + i % 3);
            }
            Format::Haproxy => {
                let secs = end - s - 1_795_564_800.0;
                let days = (secs / 86400.0).floor();
                let rest = secs - days * 86400.0;
                let _ = writeln!(
                    out,
                    "127.0.0.1:5000 [{:02}/Nov/2026:{:02}:{:02}:{:06.3}] twin backends/b{} 0/0/0/{}/{} 200 3 - - ---- 1/1/0/0/0 0/0 \"GET / HTTP/1.1\"",
                    25.0 + days,
                    (rest / 3600.0).floor(),
                    (rest % 3600.0 / 60.0).floor(),
                    rest % 60.0,
                    1 + i % 3,
                    (s * 1e3).round(),
                    (s * 1e3).round() + 1.0
                );
            }
            Format::Gunicorn => {
                let rest = end - 1_795_564_800.0;
                let _ = writeln!(
                    out,
                    "[25/Nov/2026:{:02}:{:02}:{:02} +0000] \"GET / HTTP/1.0\" 200 3 <{}> {}",
                    (rest / 3600.0).floor(),
                    (rest % 3600.0 / 60.0).floor(),
                    (rest % 60.0).floor(),
                    100 + i % 4,
                    (s * 1e6).round()
                );
            }
        }
    }
    out
}

/// n = 50 000 samples: the standard error of a fitted mean is at most cv/√n ≈ 0.7 % (cv 1.5)
/// and that of a fitted p99 1–2 %, so the issue's tolerances (mean 3 %, p99 10 %) are more
/// than four standard errors: a failure means a wrong fit, not an unlucky sample.
fn assert_recovers(
    format: Format,
    generator: &str,
    true_mean: f64,
    true_p99: f64,
    service: &dyn Fn(&mut Xoshiro256PlusPlus) -> f64,
) {
    let text = synthetic_log(format, 50_000, |_| 200.0, 200.0, service, 11);
    let log = log::parse("synthetic.log", &text, format, false).unwrap();
    let fit = fit(log, format).unwrap();
    let best = fit.best();
    assert_eq!(best.fitted.name(), generator, "{format:?}: {:?}", fit.candidates);
    let (mean, p99) = (best.fitted.mean(), best.fitted.quantile(0.99));
    println!("{format:?} {generator}: mean {mean:.5} (true {true_mean:.5}), p99 {p99:.5} (true {true_p99:.5})");
    assert!((mean / true_mean - 1.0).abs() < 0.03, "{format:?}: mean {mean} vs {true_mean}");
    assert!((p99 / true_p99 - 1.0).abs() < 0.10, "{format:?}: p99 {p99} vs {true_p99}");
    assert!((fit.rate / 200.0 - 1.0).abs() < 0.02, "rate {}", fit.rate);
}

#[test]
fn fit_recovers_a_lognormal_from_an_nginx_log() {
    let truth = lbsim::model::ServiceDistribution::lognormal_mean_cv(0.040, 1.5).unwrap();
    let p99 = truth.quantile(0.99).unwrap();
    assert_recovers(Format::Nginx, "lognormal", 0.040, p99, &|rng| truth.sample(rng));
}

#[test]
fn fit_recovers_a_gamma_from_a_haproxy_log() {
    let gamma = rand_distr::Gamma::new(4.0, 0.005).unwrap(); // mean 20 ms, cv 0.5
    // p99 of Gamma(4, 5 ms), from the regularised incomplete gamma function.
    let p99 = lbsim::fit::Fitted::Gamma { shape: 4.0, scale: 0.005 }.quantile(0.99);
    assert_recovers(Format::Haproxy, "gamma", 0.020, p99, &|rng| gamma.sample(rng));
}

#[test]
fn fit_recovers_a_mixture_from_a_gunicorn_log() {
    // 80 % quick requests around 5 ms, 20 % slow ones around 150 ms.
    let truth = lbsim::fit::Fitted::LognormalMixture {
        components: vec![(0.8, (0.005f64).ln(), 0.3), (0.2, (0.15f64).ln(), 0.5)],
    };
    let (quick, slow) = (
        rand_distr::LogNormal::new((0.005f64).ln(), 0.3).unwrap(),
        rand_distr::LogNormal::new((0.15f64).ln(), 0.5).unwrap(),
    );
    assert_recovers(Format::Gunicorn, "mixture", truth.mean(), truth.quantile(0.99), &|rng| {
        if rng.random::<f64>() < 0.8 { quick.sample(rng) } else { slow.sample(rng) }
    });
}

#[test]
fn fit_finds_the_daily_profile_of_a_log_spanning_two_days() {
    let day = 86400.0;
    let rate = |t: f64| 0.4 * (1.0 + 0.6 * (2.0 * std::f64::consts::PI * t / day).sin());
    let text = synthetic_log(Format::Nginx, 69_000, rate, 0.64, &|_| 0.01, 3);
    let fit = fit(log::parse("d.log", &text, Format::Nginx, false).unwrap(), Format::Nginx).unwrap();
    let daily = fit.daily.as_ref().expect("a daily profile");
    // ~2 days × 34 560 requests/day: hourly counts of ~1400 (±3 %), so the fitted amplitude is
    // within a few hundredths; the sinusoid peaks at hour 6.
    assert!((daily.amplitude - 0.6).abs() < 0.05, "{daily:?}");
    assert!((daily.peak_hour - 6.0).abs() < 0.5, "{daily:?}");
    let toml = fit.experiment_toml("d", "d.log", 4, ("d-trace.csv", "d-service.csv"));
    assert!(toml.contains("process = \"diurnal\"") && toml.contains("period = \"24h\""), "{toml}");
}

/// The twin's own log (tests/data/twin-gunicorn.log: validation/twin.sh with one backend of 4
/// sync workers replaying `lbsim trace validation/twin.toml --set backends.gunicorn.count=1
/// --set arrivals.load=0.5 --requests 2000`; gunicorn's %(D)s is the time in the worker).
/// The generator is known exactly: those 2000 sizes, slept by the app.
#[test]
fn fit_recovers_the_generator_from_the_twins_own_log() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut file = ExperimentFile::read(&root.join("validation/twin.toml")).unwrap();
    file.set("backends.gunicorn.count=1").unwrap();
    file.set("arrivals.load=0.5").unwrap();
    let twin = file.resolve().unwrap();
    let sizes: Vec<f64> =
        Requests::new(&twin.model, RunSeed::new(twin.seed, 0, 0)).take(2000).map(|r| r.size).collect();
    let sent_mean = sizes.iter().sum::<f64>() / sizes.len() as f64;
    let mut sorted = sizes.clone();
    sorted.sort_by(f64::total_cmp);
    let sent_p99 = sorted[(0.99 * sorted.len() as f64).ceil() as usize - 1];

    let text = std::fs::read_to_string(root.join("tests/data/twin-gunicorn.log")).unwrap();
    let fit = fit(log::parse("twin-gunicorn.log", &text, Format::Gunicorn, false).unwrap(), Format::Gunicorn).unwrap();
    assert_eq!((fit.requests.len(), fit.workers), (2000, Some(4)));
    let best = fit.best();
    let (mean, p99) = (best.fitted.mean(), best.fitted.quantile(0.99));
    println!(
        "twin log: best {} mean {mean:.5} (sent {sent_mean:.5}), p99 {p99:.5} (sent {sent_p99:.5})",
        best.fitted.name()
    );
    // The generator of this log is known exactly: the 2000 sizes sent, each slept by a
    // worker, which adds its own overhead (≈ 1 ms on the busy machine that captured it: the
    // WSGI call, logging). 2000 samples of cv 1.5 would give an estimate of the *population*
    // mean a standard error of 3.4 % (and of its p99 about 4 %), so the comparison is with
    // the sizes actually sent, not with lognormal(40 ms, 1.5) (whose p99, 277 ms, this
    // particular sample undershoots: its own p99 is 257 ms).
    assert_eq!(best.fitted.name(), "lognormal");
    assert!((mean / sent_mean - 1.0).abs() < 0.03, "mean {mean} vs sent {sent_mean}");
    assert!((p99 / sent_p99 - 1.0).abs() < 0.10, "p99 {p99} vs sent {sent_p99}");
    // The rate is the trace's: 2000 requests in about 40 s.
    assert!((fit.rate / twin.model.arrivals.mean_rate() - 1.0).abs() < 0.05, "rate {}", fit.rate);
}

#[test]
fn lbsim_fit_writes_an_experiment_that_runs() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = dir.path().join("twin.toml");
    lbsim()
        .args(["fit", "--format", "nginx", "--workers", "4", "--out"])
        .arg(&out)
        .arg(root.join("tests/data/twin-nginx.log"))
        .assert()
        .success()
        .stdout(predicate::str::contains("2000 requests").and(predicate::str::contains("← best")));
    for file in ["twin.toml", "twin-trace.csv", "twin-service.csv", "twin-qq.png", "twin-qq.svg"] {
        assert!(dir.path().join(file).metadata().unwrap().len() > 0, "{file}");
    }
    let toml = std::fs::read_to_string(&out).unwrap();
    assert!(toml.contains("count = 1\nworkers = 4"), "{toml}");
    lbsim().args(["run", "--set", "run.requests=20000", "--set", "run.warmup=2000"]).arg(&out).assert().success();
    // The trace replays the log's own arrivals and sizes (sizes from the trace: no [service]).
    let replay = dir.path().join("replay.toml");
    let text = "[run]\nrequests = 1800\nwarmup = 200\n[arrivals]\nprocess = \"trace\"\nfile = \"twin-trace.csv\"\n\
                [[backends]]\nname = \"backend\"\nworkers = 4\n[balancer]\nstrategies = [\"round_robin\"]\n";
    std::fs::write(&replay, text).unwrap();
    lbsim().arg("run").arg(&replay).assert().success();
}

#[test]
fn fit_reports_bad_lines_empty_logs_and_logs_going_backwards() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let good = "1795564800.100 0.020 0.019 200 1 a\n1795564800.300 0.020 0.019 200 2 a\n";
    let bad =
        write("bad.log", &format!("{good}1795564800.400 oops 0.019 200 3 a\n1795564800.500 0.020 0.019 200 4 a\n"));
    lbsim()
        .args(["fit", "--format", "nginx", "--workers", "1"])
        .arg(&bad)
        .assert()
        .failure()
        .stderr(predicate::str::contains("bad.log:3: expected $request_time (seconds), found \"oops\""));
    lbsim()
        .args(["fit", "--format", "nginx", "--workers", "1", "--skip-bad", "--out"])
        .arg(dir.path().join("out.toml"))
        .arg(&bad)
        .assert()
        .success()
        .stdout(predicate::str::contains("3 requests").and(predicate::str::contains("1 bad lines skipped")));
    let empty = write("empty.log", "");
    lbsim()
        .args(["fit", "--format", "nginx"])
        .arg(&empty)
        .assert()
        .failure()
        .stderr(predicate::str::contains("the log is empty"));
    let backwards = write("back.log", &format!("{good}1795560000.000 0.020 0.019 200 5 a\n"));
    lbsim()
        .args(["fit", "--format", "nginx", "--workers", "1"])
        .arg(&backwards)
        .assert()
        .failure()
        .stderr(predicate::str::contains("back.log:3: timestamp goes backwards"));
    lbsim()
        .args(["fit", "--format", "ngnix"])
        .arg(&empty)
        .assert()
        .failure()
        .stderr(predicate::str::contains("did you mean \"nginx\""));
    // nginx logs do not say how many workers a backend has.
    let ok = write("ok.log", good);
    lbsim()
        .args(["fit", "--format", "nginx"])
        .arg(&ok)
        .assert()
        .failure()
        .stderr(predicate::str::contains("--workers N"));
}
