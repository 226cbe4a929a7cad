//! `[[faults]]`, and the balancer's health checks and retries (`[balancer] passive`,
//! `outlier`, `active`, `panic_threshold`, `retries`, also accepted in a strategy table).

use super::{ExperimentFile, Result, Section, duration_of, found, read_finite_mean};
use crate::config::schema::{self, quoted_list};
use crate::model::{
    BackendGroup, ClientPolicy, Fault, FaultKind, MaxFails, Outlier, Probe, Retries, ServiceDistribution,
};
use crate::strategy::nearest;

/// `[[faults]]` (empty without it).
pub(super) fn read_faults(file: &ExperimentFile, top: &Section<'_>, groups: &[BackendGroup]) -> Result<Vec<Fault>> {
    let Some(item) = top.get("faults") else { return Ok(Vec::new()) };
    let Some(elements) = top.elements("faults") else {
        return Err(top.err("faults", format!("expected [[faults]] tables (one per fault), found {}", found(item))));
    };
    let mut faults = Vec::new();
    for (i, element) in elements.iter().enumerate() {
        if element.table.is_none() {
            return Err(file.locate(&element.path, false).with(format!(
                "expected a fault table such as {{ kind = \"outage\", backend = \"web-1\", at = \"60s\", for = \"30s\" }}, found {}",
                element.found()
            )));
        }
        let f = element.section(file, format!("fault {}", i + 1));
        let Some(kind) = f.get("kind").map(|_| f.choice("kind", schema::FAULT_KINDS, "outage")).transpose()? else {
            return Err(
                f.err_missing("kind", format!("a fault needs a \"kind\": {}", quoted_list(schema::FAULT_KINDS, "or")))
            );
        };
        let f = Section { title: format!("[[faults]] {} (\"{kind}\")", i + 1), ..f };
        let mut allowed = schema::FAULT_COMMON.to_vec();
        allowed.extend_from_slice(schema::fault_keys(&kind));
        let kind_name = kind.clone();
        f.check_keys(&allowed, &|key| {
            let takers = schema::fault_kinds_taking(key);
            (!takers.is_empty()).then(|| {
                format!("\"{key}\" is a setting of faults of kind {}, not \"{kind_name}\"", quoted_list(&takers, "and"))
            })
        })?;
        let backends = fault_backends(&f, groups)?;
        let required = |key: &str, value: Option<f64>| -> Result<f64> {
            value.ok_or_else(|| f.err_here(format!("a fault of kind \"{kind}\" needs \"{key}\"")))
        };
        let positive_time = |key: &str| -> Result<Option<f64>> {
            match f.duration(key)? {
                Some(t) if t > 0.0 => Ok(Some(t)),
                Some(_) => Err(f.err(key, format!("expected a positive duration for {key}, found 0"))),
                None => Ok(None),
            }
        };
        let kind = match kind.as_str() {
            "outage" => FaultKind::Outage {
                at: required("at", f.duration("at")?)?,
                duration: required("for", positive_time("for")?)?,
            },
            "slowdown" => FaultKind::Slowdown {
                at: required("at", f.duration("at")?)?,
                duration: required("for", positive_time("for")?)?,
                factor: required(
                    "factor",
                    f.number_where("factor", "a speed factor above 0 (0.5: half speed)", |x| x > 0.0)?,
                )?,
            },
            "deploy" => FaultKind::Deploy {
                at: required("at", f.duration("at")?)?,
                boot: required("boot", positive_time("boot")?)?,
            },
            _ => FaultKind::Failures { mtbf: lifetime(file, &f, "mtbf")?, mttr: lifetime(file, &f, "mttr")? },
        };
        faults.push(Fault { kind, backends });
    }
    Ok(faults)
}

/// A time between failures or to repair: a positive mean duration (exponential) or a
/// distribution table.
fn lifetime(file: &ExperimentFile, f: &Section<'_>, key: &str) -> Result<ServiceDistribution> {
    let what = if key == "mtbf" { "mean time between failures" } else { "mean time to repair" };
    let Some(item) = f.get(key) else {
        return Err(f.err_here(format!(
            "a fault of kind \"failures\" needs \"{key}\" (the {what}: a duration such as \"10m\", exponential, or a distribution table)"
        )));
    };
    if item.is_table_like() {
        let sub = f.sub(key, format!("{} {key}", f.title))?.expect("present");
        let what = if key == "mtbf" { "a time between failures" } else { "a time to repair" };
        let dist = read_finite_mean(
            file,
            &sub,
            true,
            &format!("{what} needs a finite mean (the run's estimate counts the failures by it)"),
        )?;
        if dist.mean().is_nan() || dist.mean() <= 0.0 {
            return Err(f.err(key, format!("{key} must have a positive mean, found {}", dist.mean())));
        }
        return Ok(dist);
    }
    let mean = duration_of(item).map_err(|m| f.err(key, m))?;
    if mean <= 0.0 {
        return Err(f.err(key, format!("expected a positive {what} ({key} > 0), found {}", found(item))));
    }
    ServiceDistribution::exponential(mean).map_err(|e| f.err(key, e.what))
}

/// The backends a fault names: `backend = "web-2"` (one backend, or every backend of a
/// group), `group = "web"`, or (neither) every backend.
fn fault_backends(f: &Section<'_>, groups: &[BackendGroup]) -> Result<std::ops::Range<u32>> {
    let total: u32 = groups.iter().map(|g| g.count).sum();
    if f.has("backend") && f.has("group") {
        return Err(
            f.err_key("group", "give either backend (one backend) or group (all of a group's backends), not both")
        );
    }
    let mut first = 0u32;
    let names: Vec<(String, u32)> = groups
        .iter()
        .flat_map(|g| {
            let start = first;
            first += g.count;
            (0..g.count).map(move |k| (g.backend_name(k), start + k))
        })
        .collect();
    if let Some(name) = f.string("backend")? {
        if let Some(&(_, i)) = names.iter().find(|(n, _)| *n == name) {
            return Ok(i..i + 1);
        }
        if let Some(range) = group_range(groups, &name) {
            return Ok(range);
        }
        let candidates = names.iter().map(|(n, _)| n.as_str()).chain(groups.iter().map(|g| g.name.as_str()));
        return Err(f.err(
            "backend",
            match nearest(&name, candidates) {
                Some(s) => format!("unknown backend \"{name}\"; did you mean \"{s}\"?"),
                None => format!(
                    "unknown backend \"{name}\" (the backends are {})",
                    quoted_list(&names.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), "and")
                ),
            },
        ));
    }
    if let Some(name) = f.string("group")? {
        return group_range(groups, &name).ok_or_else(|| {
            let candidates = groups.iter().map(|g| g.name.as_str());
            f.err(
                "group",
                match nearest(&name, candidates) {
                    Some(s) => format!("unknown backend group \"{name}\"; did you mean \"{s}\"?"),
                    None => format!(
                        "unknown backend group \"{name}\" (the groups are {})",
                        quoted_list(&groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), "and")
                    ),
                },
            )
        });
    }
    Ok(0..total)
}

fn group_range(groups: &[BackendGroup], name: &str) -> Option<std::ops::Range<u32>> {
    let mut first = 0u32;
    for g in groups {
        if g.name == name {
            return Some(first..first + g.count);
        }
        first += g.count;
    }
    None
}

/// `passive = { max_fails = 1, fail_timeout = "10s" }` (nginx).
pub(super) fn read_passive(s: &Section<'_>) -> Result<Option<MaxFails>> {
    let Some(t) = table(s, "passive", "{ max_fails = 1, fail_timeout = \"10s\" }")? else { return Ok(None) };
    t.check_keys(&["max_fails", "fail_timeout"], &|_| None)?;
    let max_fails = t.whole_u32("max_fails", 1)?.unwrap_or(1);
    let fail_timeout = match t.duration("fail_timeout")? {
        None => 10.0,
        Some(x) if x > 0.0 => x,
        Some(_) => return Err(t.err("fail_timeout", "expected a positive duration, found 0")),
    };
    Ok(Some(MaxFails { max_fails, fail_timeout }))
}

/// `outlier = { consecutive_errors = 5, base_ejection = "30s", max_ejection = "300s",
/// interval = "10s", max_ejection_percent = 10 }` (Envoy's defaults).
pub(super) fn read_outlier(s: &Section<'_>) -> Result<Option<Outlier>> {
    let example = "{ consecutive_errors = 5, base_ejection = \"30s\", max_ejection_percent = 10 }";
    let Some(t) = table(s, "outlier", example)? else { return Ok(None) };
    t.check_keys(
        &["consecutive_errors", "base_ejection", "max_ejection", "interval", "max_ejection_percent"],
        &|_| None,
    )?;
    let consecutive_errors = t.whole_u32("consecutive_errors", 1)?.unwrap_or(5);
    let positive = |key: &str, default: f64, what: &str| -> Result<f64> {
        match t.duration(key)? {
            None => Ok(default),
            Some(x) if x > 0.0 => Ok(x),
            Some(_) => Err(t.err(key, format!("expected a positive duration ({what}), found 0"))),
        }
    };
    let base_ejection = positive("base_ejection", 30.0, "the first ejection's length")?;
    // Envoy ejects for at least the base time whatever max_ejection_time says.
    let max_ejection = positive("max_ejection", 300.0, "Envoy's max_ejection_time, the longest ejection")?;
    let interval = positive("interval", 10.0, "how often the detector ends ejections and decays the multiplier")?;
    let max_ejection_percent = t
        .number_where("max_ejection_percent", "a percentage between 0 and 100", |x| (0.0..=100.0).contains(&x))?
        .unwrap_or(10.0);
    Ok(Some(Outlier { consecutive_errors, base_ejection, max_ejection, interval, max_ejection_percent }))
}

/// `active = { interval = "2s", fall = 3, rise = 2 }` (HAProxy's defaults).
pub(super) fn read_active(s: &Section<'_>) -> Result<Option<Probe>> {
    let Some(t) = table(s, "active", "{ interval = \"2s\", fall = 3, rise = 2 }")? else { return Ok(None) };
    t.check_keys(&["interval", "fall", "rise"], &|_| None)?;
    let interval = match t.duration("interval")? {
        None => 2.0,
        Some(x) if x > 0.0 => x,
        Some(_) => return Err(t.err("interval", "expected a positive probe interval, found 0")),
    };
    let count = |key: &str, default: u32| -> Result<u32> {
        t.whole_u32(key, 1)
            .map_err(|e| {
                let shown = t.get(key).map(found).unwrap_or_default();
                let what = if key == "fall" {
                    "failed probes in a row that mark a backend down"
                } else {
                    "successful probes in a row that mark it up again"
                };
                e.with(format!("expected {key} ≥ 1 ({what}), found {shown}"))
            })
            .map(|v| v.unwrap_or(default))
    };
    Ok(Some(Probe { interval, fall: count("fall", 3)?, rise: count("rise", 2)? }))
}

/// `upstream_timeout = "5s"` (nginx `proxy_read_timeout`, Envoy `per_try_timeout`, HAProxy
/// `timeout server`).
pub(super) fn read_upstream_timeout(s: &Section<'_>) -> Result<Option<f64>> {
    match s.duration("upstream_timeout")? {
        Some(t) if t > 0.0 => Ok(Some(t)),
        Some(_) => Err(s.err(
            "upstream_timeout",
            "expected a positive duration (how long the balancer waits for one attempt's response; leave it out to wait as long as it takes), found 0",
        )),
        None => Ok(None),
    }
}

/// `panic_threshold = 50` (percent, Envoy's default).
pub(super) fn read_panic(s: &Section<'_>) -> Result<Option<f64>> {
    s.number_where("panic_threshold", "a percentage between 0 and 100", |x| (0.0..=100.0).contains(&x))
}

/// `retries = { tries = 3, timeout = "1s" }` (nginx `proxy_next_upstream_tries`,
/// `proxy_next_upstream_timeout`).
pub(super) fn read_retries(s: &Section<'_>) -> Result<Option<Retries>> {
    let Some(t) = table(s, "retries", "{ tries = 3, timeout = \"1s\" }")? else { return Ok(None) };
    t.check_keys(&["tries", "timeout"], &|_| None)?;
    let tries = t
        .whole_u32("tries", 1)
        .map_err(|e| {
            let shown = t.get("tries").map(found).unwrap_or_default();
            e.with(format!("expected tries ≥ 1 (attempts in all, the first included), found {shown}"))
        })?
        .unwrap_or(2);
    let timeout = match t.duration("timeout")? {
        Some(x) if x > 0.0 => Some(x),
        Some(_) => return Err(t.err("timeout", "expected a positive duration (leave it out for no limit), found 0")),
        None => None,
    };
    Ok(Some(Retries { tries, timeout }))
}

/// `[clients] timeout`, `retries`, `backoff`, `max_backoff`, `retry_budget`, `cancel`.
/// Keys not given keep their value in `base`.
pub(super) fn read_client_policy(c: &Section<'_>, base: ClientPolicy) -> Result<ClientPolicy> {
    let mut p = base;
    let positive = |key: &str| -> Result<Option<f64>> {
        match c.duration(key)? {
            Some(x) if x > 0.0 => Ok(Some(x)),
            Some(_) => Err(c.err(key, format!("expected a positive duration for {key}, found 0"))),
            None => Ok(None),
        }
    };
    if let Some(t) = positive("timeout")? {
        p.timeout = Some(t);
    }
    if let Some(r) = c.whole_u32("retries", 0)? {
        p.retries = r;
    }
    if let Some(b) = positive("backoff")? {
        p.backoff = b;
    }
    if let Some(m) = positive("max_backoff")? {
        p.max_backoff = m;
    }
    if let Some(b) = c.number_where("retry_budget", "a percentage between 0 and 100", |x| (0.0..=100.0).contains(&x))? {
        p.budget = Some(b);
    }
    if let Some(cancel) = super::read_flag(c, "cancel")? {
        p.cancel = cancel;
    }
    if p.cancel && p.timeout.is_none() {
        return Err(c.err(
            "cancel",
            "cancel = true takes a timed-out attempt out of its backend, so it needs a client timeout (e.g. timeout = \"2s\"); without one no attempt is ever abandoned",
        ));
    }
    if p.max_backoff < p.backoff {
        return Err(c.err(
            "max_backoff",
            format!("max_backoff must be ≥ backoff ({})", crate::units::format_duration(p.backoff)),
        ));
    }
    Ok(p)
}

fn table<'a>(s: &Section<'a>, key: &str, example: &str) -> Result<Option<Section<'a>>> {
    match s.get(key) {
        None => Ok(None),
        Some(item) if item.is_table_like() => s.sub(key, format!("{} {key}", s.title)),
        Some(item) => Err(s.err(key, format!("expected a table such as {key} = {example}, found {}", found(item)))),
    }
}
