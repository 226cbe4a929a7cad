//! Experiment files: what loads, and what each mistake is reported as.

use std::path::Path;

use lbsim::config::{ConfigError, ExperimentFile};
use lbsim::experiment::{Intensity, Warmup};
use lbsim::model::{ClientPopulation, WorkerClass};
use lbsim::strategy::ParamValue;
use proptest::prelude::*;

mod common;

use common::MINIMAL;

const INLINE: &str = "tests/data/inline.toml";

fn parse(text: &str) -> ExperimentFile {
    ExperimentFile::parse(Path::new(INLINE), text).expect("valid TOML")
}

fn resolve_err(text: &str) -> ConfigError {
    parse(text).resolve().expect_err("the file should be rejected")
}

/// MINIMAL with `old` replaced by `new` (which must occur).
fn minimal_with(old: &str, new: &str) -> String {
    assert!(MINIMAL.contains(old), "{old:?} not in MINIMAL");
    MINIMAL.replacen(old, new, 1)
}

fn assert_contains(error: &ConfigError, needle: &str) {
    let rendered = error.render();
    assert!(rendered.contains(needle), "expected {needle:?} in {rendered:?}");
}

#[test]
fn a_full_file_with_every_section_resolves_to_the_values_written() {
    let file = ExperimentFile::read(Path::new("tests/data/full.toml")).unwrap();
    let e = file.resolve().unwrap();
    assert_eq!(e.name, "full-example");
    assert_eq!(e.seed, 42);
    assert_eq!(e.description.as_deref(), Some("Two groups of backends, a heavy-tailed mixture, three strategies"));
    assert_eq!(e.plan.requests, 50_000);
    assert_eq!(e.plan.warmup, Warmup::Auto);
    assert_eq!(e.plan.replications, 3);
    assert_eq!(e.plan.precision, Some(0.05));
    assert_eq!(e.plan.max_replications, 12);
    assert_eq!(e.intensity, Intensity::Load(0.8));
    assert_eq!(e.model.arrivals.kind(), "gamma");
    assert_eq!(e.model.service.kind(), "mixture");
    let mean = 0.95 * 0.005 + 0.05 * 0.2;
    assert!((e.model.service.mean() - mean).abs() < 1e-12);
    // capacity = 3 × 4 × 1.0 + 1 × 2 × 2.0 = 16
    assert!((e.model.capacity() - 16.0).abs() < 1e-12);
    assert!((e.model.arrivals.mean_rate() - 0.8 * 16.0 / mean).abs() < 1e-6);
    assert!((e.model.offered_load() - 0.8).abs() < 1e-9);
    assert_eq!(e.model.clients, ClientPopulation::Zipf { count: 500, s: 1.2 });
    assert_eq!(e.model.backends.len(), 2);
    let web = &e.model.backends[0];
    assert_eq!((web.name.as_str(), web.count, web.workers, web.backlog), ("web", 3, 4, 100));
    assert_eq!(web.worker_class, WorkerClass::Sync);
    let api = &e.model.backends[1];
    assert_eq!((api.count, api.speed, api.weight, api.backlog), (1, 2.0, Some(3.0), 2048));
    assert_eq!(api.worker_class, WorkerClass::Async { connections: 50 });
    let labels: Vec<&str> = e.strategies.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["round_robin", "jsq", "coin"]);
    assert_eq!(e.strategies[2].name, "random");
    // [sweep] and [report] are kept for their own modules.
    assert!(file.table("sweep").unwrap().contains_key("load"));
    assert_eq!(file.table("report").unwrap().get("title").and_then(|i| i.as_str()), Some("Full example"));
}

#[test]
fn defaults_fill_in_what_a_minimal_file_leaves_out() {
    let e = parse(MINIMAL).resolve().unwrap();
    assert_eq!(e.name, "inline");
    assert_eq!(e.seed, 1);
    assert_eq!(e.description, None);
    assert_eq!(e.plan.requests, 100_000);
    assert_eq!(e.plan.warmup, Warmup::Fixed(10_000));
    assert_eq!((e.plan.replications, e.plan.max_replications, e.plan.precision), (1, 1, None));
    assert_eq!(e.model.arrivals.kind(), "poisson");
    assert_eq!(e.model.service.kind(), "exponential");
    assert_eq!(e.model.clients, ClientPopulation::Uniform { count: 10_000 });
    let web = &e.model.backends[0];
    assert_eq!((web.workers, web.speed, web.backlog, web.weight), (1, 1.0, 2048, None));
    assert_eq!(e.strategies[0].label, "round_robin");
}

#[test]
fn precision_defaults_max_replications_to_thirty() {
    let text = format!("[run]\nprecision = 0.1\n{MINIMAL}");
    let e = parse(&text).resolve().unwrap();
    assert_eq!(e.plan.max_replications, 30);
    let err = resolve_err(&format!("[run]\nreplications = 5\nmax_replications = 2\n{MINIMAL}"));
    assert_contains(&err, "max_replications (2) must be ≥ replications (5)");
}

#[test]
fn an_unknown_key_is_reported_with_a_suggestion_at_its_line_and_column() {
    let err = resolve_err(&minimal_with("load = 0.5", "lod = 0.5"));
    assert_eq!(
        err.render(),
        format!("{INLINE}:2:1: arrivals.lod: unknown key \"lod\" in [arrivals]; did you mean \"load\"?")
    );
    assert_eq!((err.line, err.column), (Some(2), Some(1)));
}

#[test]
fn an_unknown_section_is_reported_with_a_suggestion() {
    let err = resolve_err(&format!("{MINIMAL}\n[balancr]\nx = 1\n"));
    assert_contains(&err, "unknown section [balancr]; did you mean [balancer]?");
    assert_eq!(err.line, Some(14));
}

#[test]
fn a_misspelt_strategy_points_at_the_array_element() {
    let err =
        resolve_err(&minimal_with(r#"strategies = ["round_robin"]"#, r#"strategies = ["random", "round-robin"]"#));
    assert_eq!(
        err.render(),
        format!(
            "{INLINE}:12:25: balancer.strategies[1]: unknown strategy \"round-robin\"; did you mean \"round_robin\"?"
        )
    );
}

#[test]
fn a_misspelt_strategy_inside_a_table_points_at_its_name() {
    let err = resolve_err(&minimal_with(r#"strategies = ["round_robin"]"#, r#"strategies = [{ name = "jsqq" }]"#));
    assert_contains(&err, "unknown strategy \"jsqq\"; did you mean \"jsq\"?");
    assert_eq!((err.line, err.column), (Some(12), Some(24)));
}

#[test]
fn a_bad_strategy_parameter_is_reported_at_the_element() {
    let err = resolve_err(&minimal_with(
        r#"strategies = ["round_robin"]"#,
        r#"strategies = [{ name = "power_of_d", d = 0 }]"#,
    ));
    assert_eq!(
        err.render(),
        format!(
            "{INLINE}:12:42: balancer.strategies[0].d: strategy \"power_of_d\", parameter \"d\": expected a whole number ≥ 1, got 0"
        )
    );
}

#[test]
fn an_unknown_strategy_parameter_is_reported_with_what_it_takes() {
    let err =
        resolve_err(&minimal_with(r#"strategies = ["round_robin"]"#, r#"strategies = [{ name = "jsq", dd = 2 }]"#));
    assert_contains(&err, "strategy \"jsq\" has no parameter \"dd\"");
    assert_eq!(err.key.as_deref(), Some("balancer.strategies[0].dd"));
    assert_eq!((err.line, err.column), (Some(12), Some(31)));
}

/// A misspelt key that every strategy table takes (`labe`, `passiv = {…}`, `nam`) is named
/// as that key misspelt, with the suggestion — not refused as the strategy's parameter
/// ("round_robin has no parameter labe"), as a table where a parameter's value was expected,
/// or as a missing name.
#[test]
fn a_misspelt_strategy_table_key_is_suggested() {
    for (table, key, meant) in [
        (r#"{ name = "round_robin", labe = "x" }"#, "labe", "label"),
        (r#"{ name = "jsq", passiv = { max_fails = 1, fail_timeout = "10s" } }"#, "passiv", "passive"),
        (r#"{ name = "jsq", inf = "exact" }"#, "inf", "info"),
        (r#"{ nam = "jsq" }"#, "nam", "name"),
    ] {
        let err = resolve_err(&minimal_with(r#"strategies = ["round_robin"]"#, &format!("strategies = [{table}]")));
        assert_contains(&err, &format!("unknown key \"{key}\" in a strategy table; did you mean \"{meant}\"?"));
        assert_eq!(err.key.as_deref(), Some(format!("balancer.strategies[0].{key}").as_str()));
        assert_eq!(err.line, Some(12));
    }
    // So is a required key of a backend or a fault, misspelt.
    let err = resolve_err(&minimal_with(r#"name = "web""#, r#"nam = "web""#));
    assert_contains(&err, "unknown key \"nam\" in backend 1; did you mean \"name\"?");
    assert_eq!(err.key.as_deref(), Some("backends[0].nam"));
    let fault = format!("{MINIMAL}\n[[faults]]\nkin = \"outage\"\nbackend = \"web-1\"\nat = \"1s\"\nfor = \"1s\"\n");
    let err = resolve_err(&fault);
    assert_contains(&err, "unknown key \"kin\" in fault 1; did you mean \"kind\"?");
    // A parameter of the strategy is still its parameter.
    let err =
        resolve_err(&minimal_with(r#"strategies = ["round_robin"]"#, r#"strategies = [{ name = "jsq", dd = 2 }]"#));
    assert_contains(&err, "has no parameter \"dd\"");
}

#[test]
fn strategy_parameters_make_the_default_label() {
    let text = minimal_with(
        r#"strategies = ["round_robin"]"#,
        r#"strategies = ["random", { name = "random", label = "r2" }]"#,
    );
    let e = parse(&text).resolve().unwrap();
    assert_eq!(e.strategies[1].label, "r2");
    assert!(e.strategies[1].params.values.is_empty());
}

#[test]
fn duplicate_labels_are_rejected_naming_the_duplicate() {
    let err =
        resolve_err(&minimal_with(r#"strategies = ["round_robin"]"#, r#"strategies = ["random", "jsq", "random"]"#));
    assert_contains(&err, "two strategies are labelled \"random\" (balancer.strategies[0] and [2])");
    assert_eq!((err.line, err.column), (Some(12), Some(32)));
    let err = resolve_err(&minimal_with(
        r#"strategies = ["round_robin"]"#,
        r#"strategies = ["jsq", { name = "random", label = "jsq" }]"#,
    ));
    assert_contains(&err, "two strategies are labelled \"jsq\"");
    assert_contains(&err, "label = \"jsq-2\"");
}

#[test]
fn load_and_rate_together_are_rejected() {
    let err = resolve_err(&minimal_with("load = 0.5", "load = 0.5\nrate = 100"));
    assert_eq!(err.key.as_deref(), Some("arrivals.rate"));
    assert_eq!(err.line, Some(3));
    assert_contains(&err, "either load (offered utilisation) or rate (requests per second), not both");
}

#[test]
fn neither_load_nor_rate_is_rejected_at_the_arrivals_table() {
    let err = resolve_err(&minimal_with("load = 0.5", "process = \"poisson\""));
    assert_eq!((err.line, err.column), (Some(1), Some(1)));
    assert_contains(&err, "found neither");
}

#[test]
fn a_load_of_one_or_more_is_a_saturated_experiment_and_allowed() {
    let e = parse(&minimal_with("load = 0.5", "load = 1.5")).resolve().unwrap();
    assert_eq!(e.intensity, Intensity::Load(1.5));
    let e = parse(&minimal_with("load = 0.5", "rate = 120")).resolve().unwrap();
    assert_eq!(e.intensity, Intensity::Rate(120.0));
    assert!((e.model.arrivals.mean_rate() - 120.0).abs() < 1e-9);
}

#[test]
fn a_string_where_a_count_belongs_says_what_was_expected_and_found() {
    let err = resolve_err(&minimal_with("count = 4", "count = \"two\""));
    assert_eq!(
        err.render(),
        format!("{INLINE}:9:9: backends.web.count: expected a positive whole number, found \"two\"")
    );
}

#[test]
fn a_negative_request_count_is_rejected() {
    let err = resolve_err(&format!("[run]\nrequests = -5\n{MINIMAL}"));
    assert_eq!(err.render(), format!("{INLINE}:2:12: run.requests: expected a positive whole number, found -5"));
}

#[test]
fn a_bad_duration_names_the_unit() {
    let err = resolve_err(&minimal_with("mean = \"10ms\"", "mean = \"10 parsecs\""));
    assert_eq!(err.key.as_deref(), Some("service.mean"));
    assert_eq!((err.line, err.column), (Some(5), Some(8)));
    assert_contains(&err, "unknown time unit \"parsecs\"");
}

#[test]
fn mixed_parameter_sets_explain_the_accepted_forms() {
    let err = resolve_err(&minimal_with("mean = \"10ms\"", "distribution = \"gamma\"\nmean = \"10ms\"\nshape = 2"));
    assert_contains(&err, "distribution \"gamma\" takes either shape + scale, or mean + cv; found mean + shape");
    assert_eq!(err.line, Some(4));
}

#[test]
fn every_distribution_form_resolves() {
    let cases = [
        "distribution = \"deterministic\"\nvalue = \"10ms\"",
        "distribution = \"uniform\"\nmin = \"5ms\"\nmax = \"15ms\"",
        "distribution = \"uniform\"\nmean = 0.01\ncv = 0.2",
        "distribution = \"gamma\"\nshape = 2\nscale = \"5ms\"",
        "distribution = \"lognormal\"\nmean = \"10ms\"\ncv = 2",
        "distribution = \"lognormal\"\nmu = -5\nsigma = 1",
        "distribution = \"weibull\"\nmean = \"10ms\"\ncv = 0.8",
        "distribution = \"pareto\"\nalpha = 2.5\nmean = \"10ms\"",
        "distribution = \"pareto\"\nalpha = 2.5\nmin = \"6ms\"",
        "distribution = \"bounded_pareto\"\nalpha = 1.5\nmin = \"1ms\"\nmax = \"1s\"",
        "distribution = \"hyperexponential\"\nmean = \"10ms\"\ncv = 3",
        "distribution = \"empirical\"\nsamples = [0.01, \"20ms\", 0.005]",
        "distribution = \"empirical\"\nfile = \"sizes.csv\"",
    ];
    for case in cases {
        let text = minimal_with("mean = \"10ms\"", case);
        if let Err(e) = parse(&text).resolve() {
            panic!("{case}: {e}");
        }
    }
}

#[test]
fn a_constructor_error_becomes_a_located_config_error() {
    let err =
        resolve_err(&minimal_with("mean = \"10ms\"", "distribution = \"hyperexponential\"\nmean = \"10ms\"\ncv = 0.5"));
    assert_eq!(err.line, Some(4));
    assert_eq!(err.key.as_deref(), Some("service"));
    assert_contains(&err, "cv");
}

#[test]
fn a_nested_mixture_is_rejected() {
    let text = minimal_with(
        "mean = \"10ms\"",
        "distribution = \"mixture\"\ncomponents = [{ weight = 1, distribution = \"mixture\", components = [] }]",
    );
    assert_contains(&resolve_err(&text), "cannot itself be a mixture");
}

#[test]
fn a_process_specific_key_under_the_wrong_process_names_the_process_that_takes_it() {
    let err = resolve_err(&minimal_with("load = 0.5", "load = 0.5\ncv = 2"));
    assert_eq!(
        err.render(),
        format!("{INLINE}:3:1: arrivals.cv: \"cv\" is a parameter of process \"gamma\", not of \"poisson\"")
    );
}

#[test]
fn an_async_only_key_on_a_sync_backend_is_rejected() {
    let err = resolve_err(&minimal_with("count = 4", "count = 4\nconnections = 10"));
    assert_eq!(err.key.as_deref(), Some("backends.web.connections"));
    assert_eq!((err.line, err.column), (Some(10), Some(1)));
    assert_contains(&err, "applies to async workers only");
}

#[test]
fn duplicate_backend_names_are_rejected() {
    let err = resolve_err(&minimal_with("count = 4", "count = 4\n\n[[backends]]\nname = \"web\""));
    assert_contains(&err, "duplicate backend name \"web\"");
    assert_eq!(err.line, Some(12));
    // Expanded names clash too: web (count 4) has web-1 to web-4.
    let err = resolve_err(&minimal_with("count = 4", "count = 4\n\n[[backends]]\nname = \"web-2\""));
    assert_contains(&err, "backend name \"web-2\" is used by both");
    // Whichever group is the larger, and near the ends of the ranges.
    let two = |a: &str, b: &str| minimal_with("count = 4", &format!("count = {a}\n\n[[backends]]\n{b}"));
    let err = resolve_err(&two("1", "name = \"web\"\ncount = 3"));
    assert_contains(&err, "duplicate backend name \"web\"");
    let err = resolve_err(&two("12", "name = \"web-12\""));
    assert_contains(&err, "backend name \"web-12\" is used by both");
    let err = resolve_err(&two("1", "name = \"web-1\"\ncount = 3\n\n[[backends]]\nname = \"web-1-3\""));
    assert_contains(&err, "backend name \"web-1-3\" is used by both");
    // No clash: web-4 is past web's 3, web-01 is not a name web's backends take, and
    // web-1's backends (web-1-1 …) are not web's.
    for (a, b) in [("3", "name = \"web-4\""), ("3", "name = \"web-01\""), ("3", "name = \"web-1\"\ncount = 2")] {
        parse(&two(a, b)).resolve().unwrap_or_else(|e| panic!("{a} / {b}: {}", e.render()));
    }
}

#[test]
fn two_large_groups_load_without_comparing_every_pair_of_names() {
    // 5·10⁴ backends each: comparing every expanded name with every other took minutes.
    let text = minimal_with("count = 4", "count = 50000\n\n[[backends]]\nname = \"api\"\ncount = 50000");
    let experiment = parse(&text).resolve().unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(experiment.model.backend_count(), 100_000);
}

#[test]
fn a_zipf_exponent_under_uniform_popularity_is_rejected() {
    let err = resolve_err(&format!("{MINIMAL}\n[clients]\ns = 1.1\n"));
    assert_contains(&err, "only used with popularity = \"zipf\"");
}

#[test]
fn the_experiment_name_must_be_folder_safe() {
    let err = resolve_err(&format!("[experiment]\nname = \"a/b\"\n{MINIMAL}"));
    assert_contains(&err, "usable as a folder name");
    assert_eq!(err.line, Some(2));
}

/// MINIMAL without its [service] section, with `arrivals` as the [arrivals] body.
fn trace_file(arrivals: &str) -> String {
    MINIMAL.replacen("[service]\nmean = \"10ms\"\n\n", "", 1).replacen("load = 0.5", arrivals, 1)
}

#[test]
fn a_trace_replays_at_its_own_rate_or_at_an_imposed_load() {
    let e = parse(&trace_file("process = \"trace\"\nfile = \"trace_ok.csv\"")).resolve().unwrap();
    assert_eq!(e.intensity, Intensity::Native);
    assert_eq!(e.model.arrivals.kind(), "trace");
    let e = parse(&trace_file("process = \"trace\"\nfile = \"trace_ok.csv\"\nrate = 10")).resolve().unwrap();
    assert!((e.model.arrivals.mean_rate() - 10.0).abs() < 1e-9);
}

#[test]
fn a_trace_with_sizes_carries_its_own_work() {
    // The sizes simulated are the trace's, so they define the load: `load = 0.5` sets the
    // rate from their mean, and the backends are then busy half the time.
    let mut e = parse(&trace_file("process = \"trace\"\nfile = \"trace_ok.csv\"\nload = 0.5")).resolve().unwrap();
    assert_eq!(e.model.service.kind(), "empirical");
    assert!((e.model.offered_load() - 0.5).abs() < 1e-12);
    e.plan.requests = 20_000;
    let r = lbsim::runner::run_strategy(&e, &e.strategies[0], 0).unwrap();
    assert!((r.load - 0.5).abs() < 1e-12);
    assert!((r.utilisation.value - 0.5).abs() < 0.01, "utilisation {}", r.utilisation.value);
    // A [service] section beside a trace with sizes would describe work that is never
    // simulated (a trace of 20 ms sizes with `mean = "10ms"` ran at twice the stated load):
    // refused, at the section.
    let err = resolve_err(&minimal_with("load = 0.5", "process = \"trace\"\nfile = \"trace_ok.csv\"\nload = 0.5"));
    assert_contains(&err, "the trace has a size column");
    assert_contains(&err, "remove [service]");
    // io_fraction only splits each size into CPU and I/O: it may stay beside the sizes (the
    // twin replays a trace with X-Cpu / X-Io split this way). Any other key is refused, named.
    let with_split = |service: &str| {
        MINIMAL.replacen("[service]\nmean = \"10ms\"\n", service, 1).replacen(
            "load = 0.5",
            "process = \"trace\"\nfile = \"trace_ok.csv\"",
            1,
        )
    };
    let e = parse(&with_split("[service]\nio_fraction = 0.9\n")).resolve().unwrap();
    assert_eq!(e.model.io_fraction, 0.9);
    assert_eq!(e.model.service.kind(), "empirical");
    let err = resolve_err(&with_split("[service]\nio_fraction = 0.9\ncv = 2\n"));
    assert_contains(&err, "may give only io_fraction, found `cv`");
}

#[test]
fn a_trace_with_a_timestamp_going_backwards_names_the_csv_line() {
    let err = resolve_err(&minimal_with("load = 0.5", "process = \"trace\"\nfile = \"trace_backwards.csv\""));
    assert_eq!(err.render(), "tests/data/trace_backwards.csv:5: timestamp 3.2 goes backwards (previous 3.5)");
}

#[test]
fn a_malformed_trace_row_names_the_csv_line_and_column() {
    let err = resolve_err(&minimal_with("load = 0.5", "process = \"trace\"\nfile = \"trace_bad_row.csv\""));
    assert_eq!(err.render(), "tests/data/trace_bad_row.csv:4: expected a number in column \"size\", found \"abc\"");
}

#[test]
fn a_missing_trace_file_names_the_path() {
    let err = resolve_err(&minimal_with("load = 0.5", "process = \"trace\"\nfile = \"nowhere.csv\""));
    assert_eq!(err.key.as_deref(), Some("arrivals.file"));
    assert_eq!(err.line, Some(3));
    assert_contains(&err, "cannot read \"tests/data/nowhere.csv\"");
}

#[test]
fn set_changes_a_backend_addressed_by_name_or_index() {
    let mut file = parse(MINIMAL);
    file.set("backends.web.count=5").unwrap();
    assert_eq!(file.resolve().unwrap().model.backends[0].count, 5);
    file.set("backends.0.workers = 3").unwrap();
    assert_eq!(file.resolve().unwrap().model.backends[0].workers, 3);
    assert!(file.source_text().contains("count = 5"));
}

#[test]
fn set_adds_keys_and_tables_the_format_knows() {
    let mut file = parse(MINIMAL);
    file.set("run.replications=5").unwrap();
    file.set("arrivals.process=gamma").unwrap();
    file.set("arrivals.cv=0.5").unwrap();
    file.set("experiment.description=hello world").unwrap();
    let e = file.resolve().unwrap();
    assert_eq!(e.plan.replications, 5);
    assert_eq!(e.model.arrivals.kind(), "gamma");
    assert_eq!(e.description.as_deref(), Some("hello world"));
}

#[test]
fn set_with_an_unknown_key_suggests_the_nearest() {
    let mut file = parse(MINIMAL);
    let err = file.set("arrivals.lod=0.7").unwrap_err();
    assert_eq!(err.render(), "--set arrivals.lod: unknown key \"lod\" in [arrivals]; did you mean \"load\"?");
    let err = file.set("backends.wbe.count=2").unwrap_err();
    assert_contains(&err, "no entry named \"wbe\" in backends; did you mean \"web\"?");
    let err = file.set("rn.requests=2").unwrap_err();
    assert_contains(&err, "did you mean \"run\"?");
}

#[test]
fn a_malformed_set_says_what_was_expected() {
    let mut file = parse(MINIMAL);
    let err = file.set("run.requests").unwrap_err();
    assert_eq!(err.file, "--set");
    assert_eq!(err.render(), "--set: expected KEY=VALUE (e.g. run.requests=50000), found \"run.requests\"");
}

#[test]
fn errors_in_values_from_set_name_the_override() {
    let mut file = parse(MINIMAL);
    file.set("backends.web.count=-1").unwrap();
    let err = file.resolve().unwrap_err();
    assert_eq!(err.render(), "--set backends.web.count: expected a positive whole number, found -1");
}

#[test]
fn set_number_changes_numbers_and_refuses_text() {
    let mut file = parse(MINIMAL);
    file.set_number("arrivals.load", 0.9).unwrap();
    file.set_number("service.mean", 0.02).unwrap();
    let e = file.resolve().unwrap();
    assert_eq!(e.intensity, Intensity::Load(0.9));
    assert!((e.model.service.mean() - 0.02).abs() < 1e-12);
    assert_contains(&file.set_number("arrivals.process", 1.0).unwrap_err(), "not a numeric key");
    assert_contains(&file.set_number("arrivals.lood", 1.0).unwrap_err(), "did you mean \"load\"?");
}

#[test]
fn error_at_locates_keys_for_other_modules() {
    let file = ExperimentFile::read(Path::new("tests/data/full.toml")).unwrap();
    let err = file.error_at("sweep.load", "bad sweep");
    assert_eq!(err.render(), "tests/data/full.toml:54:8: sweep.load: bad sweep");
    let err = file.error_at("backends.api.workers", "x");
    assert_eq!((err.line, err.column), (Some(40), Some(11)));
    assert_eq!(file.path(), Path::new("tests/data/full.toml"));
    assert_eq!(file.item("backends.api.workers").and_then(|i| i.as_integer()), Some(2));
    assert_eq!(file.item("run.requests").and_then(|i| i.as_integer()), Some(50_000));
    assert!(file.item("run.nothing").is_none());
}

#[test]
fn toml_syntax_errors_are_located() {
    let err = ExperimentFile::parse(Path::new("x.toml"), "[run]\nrequests = = 5\n").unwrap_err();
    assert_eq!(err.line, Some(2));
    assert!(err.render().starts_with("x.toml:2:"), "{}", err.render());
}

#[test]
fn strategy_params_keep_their_toml_types() {
    let text = minimal_with(
        r#"strategies = ["round_robin"]"#,
        r#"strategies = [{ name = "random", label = "x", k = [1, "a"] }]"#,
    );
    let err = resolve_err(&text);
    // random takes no parameters; the params were converted before the registry saw them.
    assert_contains(&err, "has no parameter \"k\"");
    let _ = ParamValue::Number(1.0);
}

fn base_for_fuzz() -> String {
    format!(
        "[experiment]\nseed = 3\n[run]\nrequests = 1000\nwarmup = 10\n{}",
        MINIMAL.replace("\"round_robin\"", "\"random\", \"round_robin\"")
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20261125),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        if let Ok(file) = ExperimentFile::parse(Path::new(INLINE), &text) {
            let _ = file.resolve();
        }
    }

    #[test]
    fn random_toml_like_text_never_panics(text in "(\\[[a-z]{1,8}\\]\n|[a-z_]{1,10} = (-?[0-9]{1,4}(\\.[0-9])?|\"[a-z0-9 ]{0,6}\"|\\[[0-9, ]{0,8}\\]|true)\n){0,12}") {
        if let Ok(file) = ExperimentFile::parse(Path::new(INLINE), &text) {
            let _ = file.resolve();
        }
    }

    #[test]
    fn mutated_valid_files_never_panic(edits in proptest::collection::vec((0usize..10_000, 0u8..3, proptest::char::any()), 1..6)) {
        let mut text: Vec<char> = base_for_fuzz().chars().collect();
        for (position, kind, c) in edits {
            let i = position % (text.len() + 1);
            match kind {
                0 => text.insert(i, c),
                1 if i < text.len() => { text.remove(i); }
                _ if i < text.len() => text[i] = c,
                _ => {}
            }
        }
        let text: String = text.into_iter().collect();
        if let Ok(file) = ExperimentFile::parse(Path::new(INLINE), &text) {
            let _ = file.resolve();
        }
    }

    #[test]
    fn random_overrides_never_panic(key in "[a-z_.0-9\\[\\]]{0,30}", value in "\\PC{0,20}") {
        let mut file = parse(MINIMAL);
        let _ = file.set(&format!("{key}={value}"));
        let _ = file.resolve();
        let _ = file.set_number(&key, 1.5);
        let _ = file.error_at(&key, "x");
        let _ = file.source_text();
    }
}

#[test]
fn an_absurd_number_of_backends_is_rejected_before_anything_is_allocated() {
    let err = resolve_err(&minimal_with("count = 4", "count = 4000000000"));
    assert_contains(&err, "at most 1000000 are supported");
}

#[test]
fn inline_tables_are_read_and_overridden_like_standard_tables() {
    let text = r#"
arrivals = { load = 0.5 }
service = { mean = 0.01 }
backends = [{ name = "a", count = 2 }, { name = "b" }]
balancer.strategies = [{ name = "round_robin" }]
"#;
    let mut file = parse(text);
    let e = file.resolve().unwrap();
    assert_eq!(e.model.backend_count(), 3);
    file.set("backends.b.workers=4").unwrap();
    file.set("service.distribution=gamma").unwrap();
    file.set("service.cv=0.5").unwrap();
    file.set("balancer.strategies.0.label=rr").unwrap();
    let e = file.resolve().unwrap();
    assert_eq!(e.model.backends[1].workers, 4);
    assert_eq!(e.model.service.kind(), "gamma");
    assert_eq!(e.strategies[0].label, "rr");
    let err = file.set("backends.c.count=1").unwrap_err();
    assert_contains(&err, "no entry named \"c\" in backends (names: a, b)");
    let err = file.set("backends.5.count=1").unwrap_err();
    assert_contains(&err, "no entry 5");
    // An error inside the inline backends array points into the file.
    let err = resolve_err(&text.replace("count = 2", "count = 0"));
    assert_eq!((err.key.as_deref(), err.line, err.column), (Some("backends.a.count"), Some(4), Some(35)));
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20261125),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn overrides_of_known_keys_never_panic(
        section in prop::sample::select(vec!["experiment", "run", "arrivals", "service", "clients", "backends.web", "backends.0", "balancer", "sweep", "service.components.0"]),
        key in prop::sample::select(vec!["name", "seed", "requests", "warmup", "replications", "precision", "max_replications", "process", "load", "rate", "cv", "peak", "mean_on", "mean_off", "amplitude", "period", "file", "distribution", "mean", "value", "min", "max", "shape", "scale", "mu", "sigma", "alpha", "components", "samples", "count", "popularity", "s", "workers", "worker_class", "connections", "speed", "backlog", "weight", "strategies", "strategies.0", "strategies.0.d"]),
        value in prop::sample::select(vec!["0", "-1", "1.5", "\"x\"", "gamma", "[1, 2]", "{ a = 1 }", "true", "\"10ms\"", "auto", "1e400", "nan", "[]", "[{ name = \"jsq\" }]"]),
        number in prop::num::f64::ANY,
    ) {
        let mut file = parse(MINIMAL);
        let key = format!("{section}.{key}");
        let _ = file.set(&format!("{key}={value}"));
        let _ = file.resolve();
        let _ = file.set_number(&key, number);
        let _ = file.resolve();
        let _ = file.error_at(&key, "x");
        let _ = ExperimentFile::parse(Path::new(INLINE), &file.source_text()).map(|f| f.resolve());
    }
}

#[test]
fn source_text_with_overrides_reloads_to_the_same_experiment() {
    let mut file = parse(MINIMAL);
    file.set("run.replications=4").unwrap();
    file.set("backends.web.worker_class=async").unwrap();
    file.set("backends.web.connections=8").unwrap();
    file.set("clients.popularity=zipf").unwrap();
    let text = file.source_text();
    let again = parse(&text).resolve().unwrap();
    let e = file.resolve().unwrap();
    assert_eq!(again.plan, e.plan);
    assert_eq!(again.model.backends, e.model.backends);
    assert_eq!(again.model.clients, ClientPopulation::Zipf { count: 10_000, s: 1.0 });
    assert_eq!(e.model.backends[0].worker_class, WorkerClass::Async { connections: 8 });
}

#[test]
fn strategy_parameters_reach_the_strategy_and_its_label() {
    let text = minimal_with(r#"strategies = ["round_robin"]"#, r#"strategies = [{ name = "power_of_d", d = 2 }]"#);
    let e = parse(&text).resolve().unwrap();
    assert_eq!(e.strategies[0].label, "power_of_d(d=2)");
    assert_eq!(e.strategies[0].params.values.get("d"), Some(&ParamValue::Number(2.0)));
}

#[test]
fn a_single_backends_table_asks_for_double_brackets() {
    let err = resolve_err(&minimal_with("[[backends]]", "[backends]"));
    assert_contains(&err, "double brackets");
}

#[test]
fn a_load_with_an_infinite_mean_size_asks_for_a_rate() {
    let err = resolve_err(&minimal_with("mean = \"10ms\"", "distribution = \"pareto\"\nalpha = 0.9\nmin = \"1ms\""));
    assert_contains(&err, "give arrivals.rate instead");
    assert_eq!(err.line, Some(4));
}

fn strategies_err(strategies: &str) -> ConfigError {
    resolve_err(&minimal_with(r#"strategies = ["round_robin"]"#, &format!("strategies = [{strategies}]")))
}

#[test]
fn a_parameter_of_another_strategy_names_the_strategies_that_take_it() {
    let err = strategies_err(r#"{ name = "nginx_least_conn", active_request_bias = 1 }"#);
    assert_contains(
        &err,
        "strategy \"nginx_least_conn\" has no parameter \"active_request_bias\" (it takes: slow_start)",
    );
    assert_contains(&err, "\"active_request_bias\" is a parameter of envoy_least_request");
    assert_eq!(err.key.as_deref(), Some("balancer.strategies[0].active_request_bias"));
    // A near miss of its own parameter is suggested.
    let err = strategies_err(r#"{ name = "envoy_least_request", active_requests_bias = 1 }"#);
    assert_contains(&err, "did you mean \"active_request_bias\"?");
}

#[test]
fn faithful_strategy_parameters_are_checked() {
    let err = strategies_err(r#"{ name = "envoy_least_request", active_request_bias = -0.5 }"#);
    assert_contains(&err, "parameter \"active_request_bias\": expected a number ≥ 0, got -0.5");
    let err = strategies_err(r#"{ name = "envoy_least_request", choice_count = 1 }"#);
    assert_contains(&err, "parameter \"choice_count\": expected a whole number ≥ 2, got 1");
    let err = strategies_err(r#"{ name = "haproxy_hash", hash_balance_factor = 1 }"#);
    assert_contains(&err, "expected a ratio > 1, got 1: no server may hold more than factor × the average load");
    let err = strategies_err(r#"{ name = "envoy_maglev", hash_balance_factor = 125 }"#);
    assert_contains(&err, "did you mean 1.25?");
    let err = strategies_err(r#"{ name = "envoy_maglev", table_size = 65536 }"#);
    assert_contains(&err, "65536 is not a prime");
    let err = strategies_err(r#"{ name = "haproxy_random", draws = 0 }"#);
    assert_contains(&err, "parameter \"draws\": expected a whole number ≥ 1, got 0");
    let err = strategies_err(r#"{ name = "nginx_round_robin", slow_start = "-3s" }"#);
    assert_contains(&err, "parameter \"slow_start\"");
    let err = strategies_err(r#"{ name = "envoy_least_request", slow_start_aggression = 2 }"#);
    assert_contains(&err, "only used with slow_start");
}

#[test]
fn slow_start_is_refused_where_the_real_balancer_refuses_it() {
    let err = strategies_err(r#"{ name = "nginx_ip_hash", slow_start = "30s" }"#);
    assert_contains(
        &err,
        "strategy \"nginx_ip_hash\", parameter \"slow_start\": nginx refuses slow_start with the hash",
    );
    assert_eq!(err.key.as_deref(), Some("balancer.strategies[0].slow_start"));
    let err = strategies_err(r#"{ name = "haproxy_static_rr", slow_start = "30s" }"#);
    assert_contains(&err, "static-rr's weights are fixed");
    let err = strategies_err(r#"{ name = "envoy_maglev", slow_start = "30s" }"#);
    assert_contains(&err, "Envoy has slow start only for ROUND_ROBIN and LEAST_REQUEST");
    // The dynamic HAProxy algorithms and the textbook weighted ones take it.
    for name in ["haproxy_roundrobin", "haproxy_random", "haproxy_hash", "weighted_round_robin", "weighted_random"] {
        let text = minimal_with(
            r#"strategies = ["round_robin"]"#,
            &format!(r#"strategies = [{{ name = "{name}", slow_start = "30s" }}]"#),
        );
        assert!(parse(&text).resolve().is_ok(), "{name} takes slow_start");
    }
}

#[test]
fn faithful_strategies_read_the_files_weights_as_whole_numbers() {
    let text = minimal_with("count = 4", "count = 4\nweight = 1.5");
    let text = text.replace(r#"strategies = ["round_robin"]"#, r#"strategies = ["nginx_round_robin"]"#);
    let err = resolve_err(&text);
    assert_contains(&err, "nginx weights are whole numbers from 1");
}

#[test]
fn clients_can_be_confined_to_subnets() {
    let e = parse(&format!("{MINIMAL}\n[clients]\nsubnets = 16\n")).resolve().unwrap();
    assert_eq!(e.model.addresses.subnets(), Some(16));
    let e = parse(MINIMAL).resolve().unwrap();
    assert_eq!(e.model.addresses.subnets(), None);
    let err = resolve_err(&format!("{MINIMAL}\n[clients]\nsubnets = 0\n"));
    assert_eq!(err.key.as_deref(), Some("clients.subnets"));
    let err = resolve_err(&format!("{MINIMAL}\n[clients]\nsubnets = 20000000\n"));
    assert_contains(&err, "16777216");
}

#[test]
fn a_table_written_twice_is_named_with_the_line_of_the_first() {
    let text = "[run]\nrequests = 100\n\n[arrivals]\nload = 0.5\n\n[run]\nwarmup = 10\n";
    let err = ExperimentFile::parse(Path::new("dup.toml"), text).unwrap_err();
    assert_eq!(err.line, Some(7));
    assert_contains(&err, "[run] appears twice (first at line 1)");
    let err = ExperimentFile::parse(Path::new("dup.toml"), "[run]\nrequests = 1\nrequests = 2\n").unwrap_err();
    assert_contains(&err, "\"requests\" is set twice");
}

#[test]
fn a_byte_order_mark_at_the_start_of_an_experiment_file_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bom.toml");
    let text = minimal_with(r#"strategies = ["round_robin"]"#, r#"strategies = ["round_robin"]"#);
    std::fs::write(&path, format!("\u{feff}{text}")).unwrap();
    ExperimentFile::read(&path).unwrap().resolve().unwrap();
}

#[test]
fn balancer_tier_settings_resolve() {
    let text = minimal_with(
        "strategies = [\"round_robin\"]",
        "strategies = [\"least_connections\"]\ninstances = 4\nrouting = \"client_hash\"\ninfo = { period = \"100ms\" }\nrtt = { distribution = \"exponential\", mean = \"2ms\" }\nqueue_timeout = \"1s\"",
    )
    .replace("count = 4", "count = 4\nmaxconn = 8\nrtt = \"1ms\"");
    let e = parse(&text).resolve().unwrap();
    let b = &e.model.balancer;
    assert_eq!(b.instances, 4);
    assert_eq!(b.routing, lbsim::model::Routing::ClientHash);
    assert_eq!(b.information, lbsim::model::Information::Periodic { period: 0.1 });
    assert_eq!(b.rtt.as_ref().map(|d| d.kind()), Some("exponential"));
    assert_eq!(b.queue_timeout, Some(1.0));
    assert_eq!(b.upstreams[0].maxconn, Some(8));
    assert_eq!(b.upstreams[0].rtt.as_ref().map(|d| d.mean()), Some(0.001));
    assert!(!b.is_plain());
    // Nothing of the kind: the fast path.
    assert!(parse(MINIMAL).resolve().unwrap().model.balancer.is_plain());
}

#[test]
fn bad_balancer_tier_settings_are_reported_precisely() {
    let balancer = |extra: &str| {
        minimal_with("strategies = [\"round_robin\"]", &format!("strategies = [\"round_robin\"]\n{extra}"))
    };
    let backend = |extra: &str| minimal_with("count = 4", &format!("count = 4\n{extra}"));
    let cases: Vec<(String, &str)> = vec![
        (
            balancer("instances = 0"),
            "inline.toml:13:13: balancer.instances: expected the number of balancer instances, a whole number ≥ 1, found 0",
        ),
        (balancer("info = { period = \"-5ms\" }"), "balancer.info.period: expected a positive duration"),
        (
            balancer("info = { period = 0 }"),
            "expected a positive duration (seconds, or a string such as \"100ms\"), found 0",
        ),
        (balancer("info = \"locl\""), "unknown info \"locl\"; did you mean \"local\"?"),
        (balancer("info = { perod = \"1s\" }"), "unknown key \"perod\" in [balancer] info; did you mean \"period\"?"),
        (balancer("info = { period = \"1s\", delay = \"1s\" }"), "expected exactly one of"),
        (balancer("routing = \"hash\""), "unknown routing \"hash\""),
        (balancer("instancs = 2"), "did you mean \"instances\"?"),
        (
            backend("max_conns = 0"),
            "backends.web.max_conns: expected a connection cap, a whole number ≥ 1 (leave max_conns out for no cap), found 0",
        ),
        (backend("maxconn = 0"), "expected a connection cap, a whole number ≥ 1"),
        (backend("max_conns = 2\nmaxconn = 2"), "are two different proxies; use one of them"),
        (balancer("queue_timeout = \"1s\""), "queue_timeout needs a queue in the balancer"),
        (balancer("cache_redirect = true"), "cache_redirect applies to a redirect proxy only"),
        (balancer("mode = \"redirect\"\ninfo = \"local\""), "a redirect proxy never sees responses"),
        (balancer("rtt = \"-1ms\""), "balancer.rtt: expected a round-trip time ≥ 0"),
        (
            minimal_with("strategies = [\"round_robin\"]", "strategies = [\"least_work_left\"]\ninfo = \"local\""),
            "strategy \"least_work_left\" needs oracle: unfinished work or start times (exact information only), but info = local gives the balancer only request counts",
        ),
    ];
    for (text, needle) in cases {
        let error = resolve_err(&text);
        assert_contains(&error, needle);
    }
}

#[test]
fn balancer_keys_can_be_swept() {
    let mut file = parse(&minimal_with(
        "strategies = [\"round_robin\"]",
        "strategies = [\"round_robin\"]\ninstances = 2\ninfo = { period = \"100ms\" }",
    ));
    file.set_number("balancer.instances", 8.0).unwrap();
    file.set_number("balancer.info.period", 0.5).unwrap();
    let e = file.resolve().unwrap();
    assert_eq!(e.model.balancer.instances, 8);
    assert_eq!(e.model.balancer.information, lbsim::model::Information::Periodic { period: 0.5 });
}

#[test]
fn a_strategy_can_override_balancer_settings_for_its_own_runs() {
    let text = minimal_with(
        "strategies = [\"round_robin\"]",
        "instances = 4\ninfo = \"local\"\nstrategies = [\"least_connections\", { name = \"least_connections\", info = \"exact\" }, { name = \"round_robin\", maxconn = 2 }, { name = \"random\", label = \"301\", mode = \"redirect\", cache_redirect = true, info = \"exact\" }]",
    );
    let e = parse(&text).resolve().unwrap();
    let labels: Vec<&str> = e.strategies.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["least_connections", "least_connections(info=exact)", "round_robin(maxconn=2)", "301"]);
    assert_eq!(e.strategies[0].model(&e.model).balancer.information, lbsim::model::Information::Local);
    assert_eq!(e.strategies[1].model(&e.model).balancer.information, lbsim::model::Information::Exact);
    let capped = e.strategies[2].model(&e.model);
    assert_eq!(capped.balancer.upstreams[0].maxconn, Some(2));
    assert!(e.model.balancer.upstreams[0].maxconn.is_none(), "the file's model is unchanged");
    assert_eq!(e.strategies[3].model(&e.model).balancer.mode, lbsim::model::Mode::Redirect { cache: true });

    let bad = |strategy: &str| minimal_with("strategies = [\"round_robin\"]", &format!("strategies = [{strategy}]"));
    for (strategy, needle) in [
        ("{ name = \"least_work_left\", info = \"local\" }", "needs oracle"),
        ("{ name = \"random\", mode = \"redirect\", info = \"local\" }", "a redirect proxy never sees responses"),
        ("{ name = \"random\", mode = \"redirect\", maxconn = 3 }", "cannot cap connections"),
        ("{ name = \"random\", cache_redirect = true }", "cache_redirect applies to a redirect proxy only"),
        (
            "{ name = \"random\", maxconn = 0 }",
            "expected a connection cap for every backend, a whole number ≥ 1, found 0",
        ),
        ("{ name = \"random\", maxconn = 2, max_conns = 2 }", "not both"),
        ("{ name = \"random\", info = { period = \"-1s\" } }", "expected a positive duration"),
    ] {
        assert_contains(&resolve_err(&bad(strategy)), needle);
    }
}

/// A closed-loop file: `[clients]` body `clients`, no [arrivals].
fn closed_with(clients: &str) -> String {
    format!(
        "[clients]\n{clients}\n[service]\nmean = \"10ms\"\n\n[[backends]]\nname = \"web\"\n\n[balancer]\nstrategies = [\"random\"]\n"
    )
}

#[test]
fn closed_loop_users_resolve_to_their_count_and_think_time() {
    let e =
        parse(&closed_with("mode = \"closed\"\nusers = 25\nthink = { distribution = \"exponential\", mean = \"2s\" }"))
            .resolve()
            .unwrap();
    let users = e.model.closed_loop().expect("closed loop");
    assert_eq!(users.users, 25);
    assert_eq!(users.mean_think(), 2.0);
    assert_eq!(e.intensity, Intensity::Users);
    assert_eq!(e.model.arrivals.kind(), "closed");
    // Every user is one client.
    assert_eq!(e.model.clients, ClientPopulation::Uniform { count: 25 });
    // A constant think time, and none at all (wrk).
    let e = parse(&closed_with("mode = \"closed\"\nusers = 3\nthink = \"500ms\"")).resolve().unwrap();
    assert_eq!(e.model.closed_loop().unwrap().mean_think(), 0.5);
    let e = parse(&closed_with("mode = \"closed\"\nusers = 3\nthink = 0")).resolve().unwrap();
    assert!(e.model.closed_loop().unwrap().think.is_none());
    // Users and think-time parameters are sweepable.
    let mut file =
        parse(&closed_with("mode = \"closed\"\nusers = 3\nthink = { distribution = \"exponential\", mean = \"1s\" }"));
    file.set_number("clients.users", 40.0).unwrap();
    file.set_number("clients.think.mean", 0.25).unwrap();
    let e = file.resolve().unwrap();
    assert_eq!((e.model.closed_loop().unwrap().users, e.model.closed_loop().unwrap().mean_think()), (40, 0.25));
    assert_contains(&file.clone().set_number("clients.think.maen", 1.0).unwrap_err(), "did you mean \"mean\"?");
}

#[test]
fn closed_mode_without_users_names_the_missing_key() {
    let err = resolve_err(&closed_with("mode = \"closed\"\nthink = \"1s\""));
    assert_eq!(
        err.render(),
        format!(
            "{INLINE}:1:1: clients: [clients] mode = \"closed\" needs \"users\": how many users send requests (e.g. users = 50), \
             or a ramp (ramp = [{{ for = \"60s\", to = 200 }}])"
        )
    );
}

#[test]
fn zero_users_is_refused_at_its_line() {
    let err = resolve_err(&closed_with("mode = \"closed\"\nusers = 0\nthink = \"1s\""));
    assert_eq!(
        err.render(),
        format!("{INLINE}:3:9: clients.users: a closed loop needs at least 1 user (found users = 0)")
    );
    let err = resolve_err(&closed_with("mode = \"closed\"\nusers = 2.5\nthink = \"1s\""));
    assert_eq!((err.line, err.key.as_deref()), (Some(3), Some("clients.users")));
    assert_contains(&err, "expected a positive whole number, found 2.5");
}

#[test]
fn an_invalid_think_time_is_refused_with_what_was_expected() {
    let err = resolve_err(&closed_with("mode = \"closed\"\nusers = 5"));
    assert_contains(&err, "needs \"think\"");
    let err = resolve_err(&closed_with("mode = \"closed\"\nusers = 5\nthink = \"-1s\""));
    assert_eq!((err.line, err.key.as_deref()), (Some(4), Some("clients.think")));
    assert_contains(&err, "expected a think time ≥ 0");
    let err = resolve_err(&closed_with(
        "mode = \"closed\"\nusers = 5\nthink = { distribution = \"exponental\", mean = \"1s\" }",
    ));
    assert_eq!(err.key.as_deref(), Some("clients.think.distribution"));
    assert_contains(&err, "did you mean \"exponential\"?");
    let err = resolve_err(&closed_with(
        "mode = \"closed\"\nusers = 5\nthink = { distribution = \"exponential\", mean = \"-2s\" }",
    ));
    assert_eq!((err.line, err.key.as_deref()), (Some(4), Some("clients.think.mean")));
    let err =
        resolve_err(&closed_with("mode = \"closed\"\nusers = 5\nthink = { distribution = \"gamma\", mean = \"1s\" }"));
    assert_contains(&err, "distribution \"gamma\" takes either shape + scale, or mean + cv; found mean");
}

#[test]
fn closed_mode_conflicts_are_explained() {
    // An arrival rate beside users.
    let text = format!("[arrivals]\nload = 0.5\n{}", closed_with("mode = \"closed\"\nusers = 5\nthink = \"1s\""));
    let err = resolve_err(&text);
    assert_eq!(err.key.as_deref(), Some("arrivals"));
    assert_contains(&err, "remove [arrivals]");
    // An open-loop client population beside users.
    let err = resolve_err(&closed_with("mode = \"closed\"\nusers = 5\nthink = \"1s\"\ncount = 100"));
    assert_eq!((err.line, err.key.as_deref()), (Some(5), Some("clients.count")));
    assert_contains(&err, "every user is one client");
    // Users without closed mode.
    let err = resolve_err(&format!("{MINIMAL}\n[clients]\nusers = 5\n"));
    assert_eq!(err.key.as_deref(), Some("clients.users"));
    assert_contains(&err, "set [clients] mode = \"closed\"");
    // A misspelt mode.
    let err = resolve_err(&closed_with("mode = \"closd\"\nusers = 5\nthink = \"1s\""));
    assert_contains(&err, "unknown mode \"closd\"; did you mean \"closed\"?");
}

// ---- gunicorn backends: cores, worker classes, accept and lifecycle (issue 10) ----

/// MINIMAL with `extra` lines added to the backend (after `count = 4`, so from line 10).
fn backend_with(extra: &str) -> String {
    minimal_with("count = 4\n", &format!("count = 4\n{extra}\n"))
}

/// The error of `extra` in the backend: at line `line`, naming the key, with `words` in it.
fn backend_error(extra: &str, line: usize, key: &str, words: &[&str]) {
    let e = resolve_err(&backend_with(extra));
    let shown = e.to_string();
    assert_eq!(e.line, Some(line), "{shown}");
    assert!(e.column.is_some(), "{shown}");
    assert!(shown.contains(&format!("inline.toml:{line}:")), "{shown}");
    assert!(shown.contains(key), "{shown}");
    for w in words {
        assert!(shown.contains(w), "{shown} should say {w:?}");
    }
}

#[test]
fn a_gunicorn_backend_with_every_new_key_loads() {
    let text = minimal_with("mean = \"10ms\"\n", "mean = \"10ms\"\nio_fraction = 0.7\n");
    let text = text.replacen(
        "count = 4\n",
        "count = 4\nworkers = 3\nworker_class = \"gthread\"\nthreads = 4\nworker_connections = 50\ncores = 2\naccept = \"reuse_port\"\nmax_requests = 500\nmax_requests_jitter = 50\nboot_time = { distribution = \"uniform\", min = \"1s\", max = \"3s\" }\n",
        1,
    );
    let e = parse(&text).resolve().expect("valid");
    let g = &e.model.backends[0];
    assert_eq!(g.worker_class, WorkerClass::Gthread { threads: 4, worker_connections: 50 });
    assert_eq!(g.cores, Some(2));
    assert_eq!(g.accept, Some(lbsim::model::Accept::ReusePort));
    assert_eq!((g.lifecycle.max_requests, g.lifecycle.max_requests_jitter), (500, 50));
    assert!((g.lifecycle.boot().mean() - 2.0).abs() < 1e-12);
    assert_eq!(e.model.io_fraction, 0.7);
    // Each of the 4 backends: CPU bound 2 cores / 0.3 = 6.67 work/s; threads 12 / (0.3 + 0.7)
    // = 12: the cores bind.
    assert!((e.model.capacity() - 4.0 * 2.0 / 0.3).abs() < 1e-9);
}

#[test]
fn zero_cores_is_an_error_at_its_line() {
    backend_error("cores = 0", 10, "cores", &["positive whole number", "found 0"]);
}

#[test]
fn zero_threads_is_an_error_at_its_line() {
    backend_error("worker_class = \"gthread\"\nthreads = 0", 11, "threads", &["positive whole number"]);
}

#[test]
fn a_negative_timeout_is_an_error_at_its_line() {
    backend_error("timeout = -1", 10, "timeout", &["shorter than zero"]);
    backend_error("timeout = \"-30s\"", 10, "timeout", &["shorter than zero"]);
}

#[test]
fn a_negative_boot_time_is_an_error_at_its_line() {
    backend_error("max_requests = 100\nboot_time = -2", 11, "boot_time", &["cannot be negative"]);
}

#[test]
fn a_class_parameter_on_the_wrong_class_is_an_error_naming_the_right_class() {
    backend_error("threads = 4", 10, "threads", &["applies to gthread workers only", "worker_class = \"sync\""]);
    backend_error(
        "worker_class = \"gevent\"\nthreads = 4",
        11,
        "threads",
        &["applies to gthread workers only", "worker_class = \"gevent\""],
    );
    backend_error("worker_connections = 10", 10, "worker_connections", &["gthread and gevent workers only"]);
    backend_error("worker_class = \"async\"\ncores = 2", 11, "cores", &["pooled processor-sharing", "gevent"]);
    backend_error("worker_class = \"gthread\"\ntimeout = 30", 11, "timeout", &["never fires for gthread"]);
    backend_error("max_requests_jitter = 10", 10, "max_requests_jitter", &["set max_requests too"]);
    backend_error("accept = \"lifoo\"", 10, "accept", &["did you mean \"lifo\""]);
}

#[test]
fn io_fraction_outside_zero_to_one_or_with_async_workers_is_an_error() {
    let e = resolve_err(&minimal_with("mean = \"10ms\"\n", "mean = \"10ms\"\nio_fraction = 1.5\n"));
    assert_eq!(e.line, Some(6), "{e}");
    let text = minimal_with("mean = \"10ms\"\n", "mean = \"10ms\"\nio_fraction = 0.5\n").replacen(
        "count = 4\n",
        "count = 4\nworker_class = \"async\"\n",
        1,
    );
    let e = resolve_err(&text);
    assert!(e.to_string().contains("no I/O phases"), "{e}");
}

#[test]
fn hedge_takes_a_delay_or_a_percentile_and_says_what_else_is_wrong() {
    use lbsim::model::Hedge;
    let e = parse(&minimal_with("strategies = [\"round_robin\"]", "strategies = [\"round_robin\"]\nhedge = \"p95\""))
        .resolve()
        .unwrap();
    assert_eq!(e.model.balancer.hedge, Some(Hedge::Quantile(0.95)));
    let e = parse(&minimal_with(
        "strategies = [\"round_robin\"]",
        "strategies = [\"random\", { name = \"random\", hedge = \"20ms\" }]",
    ))
    .resolve()
    .unwrap();
    assert_eq!(e.model.balancer.hedge, None);
    assert_eq!(e.strategies[1].balancer.hedge, Some(Hedge::After(0.02)));
    assert_eq!(e.strategies[1].label, "random(hedge=20ms)");
    for (value, needle) in [
        ("\"p100\"", "a percentile is between p0 and p100"),
        ("\"p0\"", "a percentile is between p0 and p100"),
        ("\"pp9\"", "a percentile is between p0 and p100"),
        ("0", "found 0 (remove hedge for no hedging)"),
        ("\"-5ms\"", "expected when to send a second copy"),
        ("true", "expected when to send a second copy"),
    ] {
        let err = resolve_err(&minimal_with(
            "strategies = [\"round_robin\"]",
            &format!("strategies = [\"round_robin\"]\nhedge = {value}"),
        ));
        assert_eq!((err.line, err.key.as_deref()), (Some(13), Some("balancer.hedge")), "{value}");
        assert_contains(&err, needle);
    }
    let err = resolve_err(&minimal_with(
        "strategies = [\"round_robin\"]",
        "strategies = [\"round_robin\"]\nmode = \"redirect\"\nhedge = \"p95\"",
    ));
    assert_contains(&err, "a redirect proxy is not in the request's path, so it cannot send a second copy");
}

// ---- magnitudes beyond what lbsim simulates ----------------------------------------------

#[test]
fn an_absurd_rate_or_the_load_that_derives_one_is_refused_with_the_range() {
    // Once printed a utilisation and a number in system of NaN: every measured request
    // arrived within a span too short for rates to exist.
    let err = resolve_err(&minimal_with("load = 0.5", "rate = 1e300"));
    assert_eq!(
        err.render(),
        format!(
            "{INLINE}:2:8: arrivals.rate: expected a rate between 1e-9 and 1e9 requests per second (a mean gap \
             between 1 ns and 1e9 s), found 1e300"
        )
    );
    assert_contains(&resolve_err(&minimal_with("load = 0.5", "rate = 1e-300")), "found 1e-300");
    // The rate a load asks for (here 4 ÷ 10 ms per unit of load) is bounded alike.
    let err = resolve_err(&minimal_with("load = 0.5", "load = 1e300"));
    assert_eq!((err.line, err.key.as_deref()), (Some(2), Some("arrivals.load")));
    assert_contains(&err, "load 1e300 asks for 4e302 requests per second (load × capacity 4 ÷ mean request 0.01 s)");
    assert_contains(&err, "expected a load between 2.5e-12 and 2500000 for this cluster");
    // The bounds themselves are accepted.
    for ok in ["rate = 1e9", "rate = 1e-9", "load = 2500000"] {
        parse(&minimal_with("load = 0.5", ok)).resolve().unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
}

#[test]
fn a_speed_or_slowdown_that_stretches_the_mean_request_past_1e9_s_is_refused() {
    // Once printed response times of 10²⁹⁸ s.
    let err = resolve_err(&minimal_with("count = 4", "count = 4\nspeed = 1e-300"));
    assert_eq!(
        err.render(),
        format!(
            "{INLINE}:10:9: backends.web.speed: at speed 1e-300 a mean request (0.01 s of work) takes 1e298 s, \
             longer than lbsim simulates (at most 1e9 s, about 31 years): expected a speed of at least 1e-11"
        )
    );
    let slowdown = |factor: &str| {
        format!("{MINIMAL}\n[[faults]]\nkind = \"slowdown\"\nat = \"1s\"\nfor = \"1s\"\nfactor = {factor}\n")
    };
    let err = resolve_err(&slowdown("1e-300"));
    assert_eq!((err.line, err.key.as_deref()), (Some(18), Some("faults[0].factor")));
    assert_contains(&err, "slowed by 1e-300 from speed 1 a mean request (0.01 s of work) takes 1e298 s");
    assert_contains(&err, "expected a factor of at least 1e-11");
    parse(&slowdown("1e-11")).resolve().unwrap();
    // Too fast is as meaningless: a mean service below 1 ns, at the speed or in [service].
    let err = resolve_err(&minimal_with("count = 4", "count = 4\nspeed = 1e300"));
    assert_eq!(err.key.as_deref(), Some("backends.web.speed"));
    assert_contains(
        &err,
        "takes 1e-302 s, below the 1e-9 s (1 ns) that lbsim resolves: expected a speed of at most 1e7",
    );
    let err = resolve_err(&minimal_with("mean = \"10ms\"", "mean = 1e-300"));
    assert_contains(&err, "service: this distribution's mean request is 1e-300 s, below the 1e-9 s (1 ns)");
}

#[test]
fn more_closed_loop_users_than_requests_are_refused() {
    // Every user sends its first request at time 0: with 10⁸ users the 2200 requests all
    // arrived at one instant, and throughput, utilisation and cycle printed as NaN.
    let closed = |users: &str| {
        format!(
            "[run]\nrequests = 2000\n\n[clients]\nmode = \"closed\"\nusers = {users}\nthink = \"1s\"\n\n\
             [service]\nmean = \"10ms\"\n\n[[backends]]\nname = \"web\"\n\n[balancer]\nstrategies = [\"round_robin\"]\n"
        )
    };
    let err = resolve_err(&closed("1e8"));
    assert_eq!((err.line, err.key.as_deref()), (Some(6), Some("clients.users")));
    assert_contains(
        &err,
        "100000000 users send their first requests together at the start, but the run has only 2200 requests",
    );
    assert_contains(&err, "expected fewer users than requests");
    parse(&closed("2199")).resolve().unwrap();
}

#[test]
fn a_gamma_whose_draws_underflow_is_refused_in_the_terms_written() {
    // cv 10⁶ (shape 10⁻¹²): nearly every size was 0 s, and the slowdown 0/0 printed as NaN.
    let gamma = |params: &str| minimal_with("mean = \"10ms\"", &format!("distribution = \"gamma\"\n{params}"));
    let err = resolve_err(&gamma("mean = \"10ms\"\ncv = 1e6"));
    assert_eq!(
        err.render(),
        format!(
            "{INLINE}:7:6: service.cv: gamma: cv must be at most 4.47 (got 1000000): its shape 1/cv² would be \
             below 0.05, where draws underflow to 0 s; use lognormal, bounded_pareto or a mixture for a larger cv"
        )
    );
    let err = resolve_err(&gamma("shape = 0.01\nscale = \"10ms\""));
    assert_eq!(err.key.as_deref(), Some("service.shape"));
    assert_contains(&err, "gamma: shape must be at least 0.05 (got 0.01)");
    // The two bounds are one: the largest cv is the smallest shape.
    parse(&gamma("mean = \"10ms\"\ncv = 4.472135954999579")).resolve().unwrap();
    parse(&gamma("shape = 0.05\nscale = \"10ms\"")).resolve().unwrap();
}

#[test]
fn gamma_arrivals_whose_gaps_underflow_are_refused_at_the_cv_written() {
    // cv 10⁶ (shape 10⁻¹²): nearly every gap was 0 s, the measured requests arrived at one
    // instant and `lbsim run` printed utilisation NaN. The bound is gamma sizes' (shape 0.05).
    let gamma = |cv: &str| minimal_with("load = 0.5", &format!("process = \"gamma\"\ncv = {cv}\nload = 0.5"));
    let err = resolve_err(&gamma("1e6"));
    assert_eq!(
        err.render(),
        format!(
            "{INLINE}:3:6: arrivals.cv: gamma: cv must be at most 4.47 (got 1000000): its shape 1/cv² would be \
             below 0.05, where gaps underflow to 0 s and a run's arrivals collapse onto a few instants; for \
             burstier traffic use process = \"on_off\" (bursts at peak × the rate, lasting mean_on) or \"trace\""
        )
    );
    let err = resolve_err(&gamma("4.48"));
    assert_eq!((err.line, err.key.as_deref()), (Some(3), Some("arrivals.cv")));
    assert_contains(&err, "cv must be at most 4.47 (got 4.48)");
    // The largest cv gamma sizes accept is accepted for gaps too.
    let e = parse(&gamma("4.47213595499958")).resolve().unwrap();
    assert_eq!(e.model.arrivals.kind(), "gamma");
    // Through --set, at the override.
    let mut file = parse(MINIMAL);
    file.set("arrivals.process=gamma").unwrap();
    file.set("arrivals.cv=1000").unwrap();
    let err = file.resolve().unwrap_err();
    assert_eq!(err.file, "--set");
    assert_contains(&err, "arrivals.cv: gamma: cv must be at most 4.47 (got 1000)");
}

#[test]
fn on_off_bursts_faster_than_lbsim_resolves_are_refused_at_the_peak() {
    // A 1 ns burst every 1000 s at peak ×10¹²: 5·10¹⁴ requests per second in a burst, gaps
    // of 2 fs that a clock of seconds rounds to 0; the mean rate alone was within bounds.
    let on_off = |peak: &str| {
        minimal_with(
            "load = 0.5",
            &format!("process = \"on_off\"\npeak = {peak}\nmean_on = \"1ns\"\nmean_off = \"1000s\"\nrate = 500"),
        )
    };
    let err = resolve_err(&on_off("1e12"));
    assert_eq!(
        err.render(),
        format!(
            "{INLINE}:3:8: arrivals.peak: on_off: peak ×1e12 at a mean rate of 500 per second sends 5e14 \
             requests per second in a burst, more than lbsim simulates (1e9 per second, a gap of 1 ns): expected a \
             peak of at most 2000000"
        )
    );
    parse(&on_off("2e6")).resolve().unwrap();
}

#[test]
fn weibull_bounds_its_cv_and_its_shape_alike_naming_the_key_written() {
    let weibull = |params: &str| minimal_with("mean = \"10ms\"", &format!("distribution = \"weibull\"\n{params}"));
    let err = resolve_err(&weibull("mean = \"10ms\"\ncv = 1e6"));
    assert_eq!(err.key.as_deref(), Some("service.cv"));
    assert_contains(
        &err,
        "weibull: cv must be between 0.00129 and 371000 (got 1000000), the cvs of shapes 1000 to 0.05",
    );
    let err = resolve_err(&weibull("shape = 0.01\nscale = \"10ms\""));
    assert_eq!(err.key.as_deref(), Some("service.shape"));
    assert_contains(&err, "weibull: shape must be between 0.05 and 1000 (got 0.01), a cv between 0.00129 and 371000");
    // The figures shown are accepted, and the largest cv is the smallest shape's: never
    // refused as a shape the file does not give.
    for ok in ["cv = 0.00129", "cv = 371000", "cv = 371276.8"] {
        parse(&weibull(&format!("mean = \"10ms\"\n{ok}"))).resolve().unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
}

// ---- distributions whose mean must be finite ------------------------------------------------

#[test]
fn a_think_time_rtt_or_failure_time_with_an_infinite_mean_is_refused_at_its_alpha() {
    let pareto = "{ distribution = \"pareto\", alpha = 0.5, min = \"1s\" }";
    let closed = format!(
        "[clients]\nmode = \"closed\"\nusers = 5\nthink = {pareto}\n\n[service]\nmean = \"10ms\"\n\n\
         [[backends]]\nname = \"web\"\n\n[balancer]\nstrategies = [\"round_robin\"]\n"
    );
    let err = resolve_err(&closed);
    assert_eq!((err.line, err.key.as_deref()), (Some(4), Some("clients.think.alpha")));
    assert_contains(&err, "a think time needs a finite mean (the users' cycle, response + think");
    assert_contains(
        &err,
        "has an infinite mean (a Pareto's is infinite for alpha ≤ 1); use alpha > 1, or bounded_pareto",
    );
    let err = resolve_err(&minimal_with("count = 4", &format!("count = 4\nrtt = {pareto}")));
    assert_eq!(err.key.as_deref(), Some("backends.web.rtt.alpha"));
    assert_contains(&err, "a round-trip time needs a finite mean");
    let err = resolve_err(&format!("{MINIMAL}\n[[faults]]\nkind = \"failures\"\nmtbf = {pareto}\nmttr = \"1s\"\n"));
    assert_eq!(err.key.as_deref(), Some("faults[0].mtbf.alpha"));
    assert_contains(&err, "a time between failures needs a finite mean");
    // Closed-loop users need the service's mean too (an open loop with a rate does not).
    let err = resolve_err(
        &closed
            .replace(&format!("think = {pareto}"), "think = \"1s\"")
            .replace("mean = \"10ms\"", "distribution = \"pareto\"\nalpha = 1\nmin = \"1ms\""),
    );
    assert_contains(&err, "closed-loop users need a finite mean request size");
}

#[test]
fn an_empty_label_is_refused_at_its_line() {
    // Labels name rows of results and lines of charts: "" was accepted and named nothing.
    for label in ["\"\"", "\"  \""] {
        let err = strategies_err(&format!("{{ name = \"random\", label = {label} }}"));
        assert_eq!((err.line, err.key.as_deref()), (Some(12), Some("balancer.strategies[0].label")), "{label}");
        assert_contains(&err, "expected a label naming this strategy's row in the results and charts, found");
        assert_contains(&err, "give one (e.g. label = \"random-2\") or remove the key for the default");
    }
}

#[test]
fn an_empirical_samples_file_is_bounded_by_1e9_s_at_its_line() {
    // A trace's sizes were refused past 1e9 s with their file and line; samples were not.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("sizes.csv"), "size\n0.01\n# the outlier\n3e9\n").unwrap();
    let path = dir.path().join("e.toml");
    let text = minimal_with("mean = \"10ms\"", "distribution = \"empirical\"\nfile = \"sizes.csv\"");
    std::fs::write(&path, text).unwrap();
    let err = ExperimentFile::read(&path).unwrap().resolve().unwrap_err();
    assert_eq!(
        err.render(),
        format!(
            "{}: size 3e9 s is longer than lbsim simulates (at most 1e9 s, about 31 years)",
            dir.path().join("sizes.csv").display().to_string() + ":4"
        )
    );
}

#[test]
fn mixture_weights_that_do_not_sum_to_1_are_refused_with_their_proportions() {
    // Once normalised silently: 0.95 + 0.1 simulated shares of 86 % and 9 %.
    let mixture = |a: &str, b: &str| {
        minimal_with(
            "mean = \"10ms\"",
            &format!(
                "distribution = \"mixture\"\ncomponents = [{{ weight = {a}, distribution = \"exponential\", mean = \"5ms\" }}, \
                 {{ weight = {b}, distribution = \"exponential\", mean = \"200ms\" }}]"
            ),
        )
    };
    let err = resolve_err(&mixture("0.95", "0.1"));
    assert_eq!(
        err.render(),
        format!(
            "{INLINE}:6:14: service.components: the components' weights sum to 1.05, not 1: each weight is the share \
             of requests drawn from its component (0.95 = 95 %); make them sum to 1 (these proportions are 0.905, \
             0.0952)"
        )
    );
    assert_contains(&resolve_err(&mixture("19", "1")), "sum to 20, not 1");
    // Shares rounded to three decimals are within the tolerance.
    let e = parse(&mixture("0.667", "0.334")).resolve().unwrap();
    assert!((e.model.service.mean() - (0.667 * 0.005 + 0.334 * 0.2) / 1.001).abs() < 1e-12);
}
