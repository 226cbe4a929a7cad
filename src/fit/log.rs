//! Access logs → one entry per request: when it arrived, how long the backend worked on it,
//! who sent it and which backend (and worker) served it.
//!
//! Formats (see docs/validation.md for the configuration lines that produce them):
//!
//! - `nginx`: the `lbsim` log_format,
//!   `$msec $request_time $upstream_response_time $status $http_x_client $upstream_addr`.
//!   `$msec` is when the response finished; arrival = `$msec − $request_time`; service =
//!   `$upstream_response_time` (the last value when nginx tried several upstreams; it
//!   includes any wait in the backend's accept queue, so fit a period without queueing).
//!   `$http_x_client` may be `-`.
//! - `haproxy`: HAProxy's HTTP log (`option httplog`, with or without a syslog prefix):
//!   `… [accept date] frontend backend/server TR/Tw/Tc/Tr/Ta status …` (HAProxy < 1.7:
//!   `Tq/Tw/Tc/Tr/Tt`, same positions). Arrival = accept date + TR (request received);
//!   service = `Tr` (server response time; HAProxy's own queue, `Tw`, is not service).
//! - `gunicorn`: `--access-logformat '%(t)s "%(r)s" %(s)s %(b)s %(p)s %(D)s'` — any format
//!   that starts with `%(t)s` and ends with `%(D)s` (microseconds) or `%(L)s` (seconds) works;
//!   `%(p)s` (the worker pid) lets the fit count workers. `%(t)s` is the second the
//!   request finished; the lines of one second are spread evenly over it (their count per
//!   second, hence the rate, is exact; their spacing within the second is not recorded);
//!   arrival = end − duration. Service = the duration, time in the worker only.
//!
//! A line that does not parse is an error naming its line, unless `skip_bad`: then it is
//! counted and left out. Log lines are written when requests finish, so timestamps of
//! consecutive lines may step back a little (several workers, or arrival-time stamps as
//! HAProxy's); a step back of more than [`BACKWARDS_TOLERANCE`] means the log is out of
//! order (rotated files concatenated newest first, two logs merged) and is an error.

use crate::config::ConfigError;

/// How far (seconds) a line's completion time may precede an earlier line's.
pub const BACKWARDS_TOLERANCE: f64 = 1.0;

/// The access-log formats `lbsim fit` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Nginx,
    Haproxy,
    Gunicorn,
}

impl Format {
    pub const NAMES: [&'static str; 3] = ["nginx", "haproxy", "gunicorn"];

    pub fn name(self) -> &'static str {
        match self {
            Format::Nginx => "nginx",
            Format::Haproxy => "haproxy",
            Format::Gunicorn => "gunicorn",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "nginx" => Ok(Format::Nginx),
            "haproxy" => Ok(Format::Haproxy),
            "gunicorn" => Ok(Format::Gunicorn),
            other => {
                let hint = crate::strategy::nearest(other, Format::NAMES.iter().copied())
                    .map(|n| format!("; did you mean \"{n}\"?"))
                    .unwrap_or_default();
                Err(format!("unknown log format \"{other}\" (nginx, haproxy or gunicorn){hint}"))
            }
        }
    }
}

/// One request of the log. Times in seconds (epoch for nginx, since an arbitrary origin for
/// the date-stamped formats; only differences matter).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// 1-based line of the log.
    pub line: usize,
    pub arrival: f64,
    /// Time the backend spent on it.
    pub service: f64,
    pub status: u16,
    pub client: Option<u32>,
    /// Upstream address (nginx), server name (HAProxy); none for gunicorn.
    pub backend: Option<String>,
    /// Worker pid (gunicorn with `%(p)s`).
    pub worker: Option<String>,
}

/// The parsed log: entries in log order, and the lines skipped with `skip_bad`.
#[derive(Debug, Clone, PartialEq)]
pub struct Log {
    pub entries: Vec<Entry>,
    /// (line, reason) of each line left out.
    pub skipped: Vec<(usize, String)>,
}

/// What one line says, before the checks across lines.
struct Line {
    /// When the line was written (the request finished), for the order check.
    written: f64,
    entry: Entry,
}

/// Parses `text` (the log `name`) in `format`.
pub fn parse(name: &str, text: &str, format: Format, skip_bad: bool) -> Result<Log, ConfigError> {
    let at = |line: usize, message: String| ConfigError {
        file: name.to_string(),
        line: Some(line),
        column: None,
        key: None,
        message,
    };
    let mut lines: Vec<Line> = Vec::new();
    let mut skipped = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let parsed = match format {
            Format::Nginx => nginx(raw),
            Format::Haproxy => haproxy(raw),
            Format::Gunicorn => gunicorn(raw),
        };
        match parsed {
            Ok((written, mut entry)) => {
                entry.line = number;
                lines.push(Line { written, entry });
            }
            Err(reason) if skip_bad => skipped.push((number, reason)),
            Err(reason) => {
                return Err(at(
                    number,
                    format!(
                        "{reason} (not a {} log line as documented; --skip-bad leaves such lines out)",
                        format.name()
                    ),
                ));
            }
        }
    }
    if lines.is_empty() {
        let why = if skipped.is_empty() {
            "the log is empty".to_string()
        } else {
            format!(
                "no line could be read ({} skipped; the first: line {}: {})",
                skipped.len(),
                skipped[0].0,
                skipped[0].1
            )
        };
        return Err(ConfigError::new(name, why));
    }
    if format == Format::Gunicorn {
        spread_within_seconds(&mut lines);
    }
    let mut latest = (f64::NEG_INFINITY, 0usize);
    for l in &lines {
        if l.written < latest.0 - BACKWARDS_TOLERANCE {
            return Err(at(
                l.entry.line,
                format!(
                    "timestamp goes backwards by {:.3} s (line {} is later); the log must be in time order — \
                     concatenate rotated logs oldest first",
                    latest.0 - l.written,
                    latest.1
                ),
            ));
        }
        if l.written > latest.0 {
            latest = (l.written, l.entry.line);
        }
    }
    Ok(Log { entries: lines.into_iter().map(|l| l.entry).collect(), skipped })
}

fn number(field: &str, what: &str) -> Result<f64, String> {
    field
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .ok_or_else(|| format!("expected {what}, found \"{field}\""))
}

fn entry(arrival: f64, service: f64, status: u16) -> Entry {
    Entry { line: 0, arrival, service, status, client: None, backend: None, worker: None }
}

fn status(field: &str) -> Result<u16, String> {
    field
        .parse::<u16>()
        .ok()
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| format!("expected an HTTP status, found \"{field}\""))
}

/// `$msec $request_time $upstream_response_time $status $http_x_client $upstream_addr`, where
/// the upstream fields may list several values (`0.001, 0.040` or `0.001 : 0.040`).
fn nginx(line: &str) -> Result<(f64, Entry), String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() < 6 {
        return Err(format!(
            "expected 6 fields ($msec $request_time $upstream_response_time $status $http_x_client $upstream_addr), found {}",
            fields.len()
        ));
    }
    let msec = number(fields[0], "$msec (seconds since the epoch)")?;
    let request_time = number(fields[1], "$request_time (seconds)")?;
    // The upstream times run up to the first field that does not continue a list.
    let mut i = 2;
    while i + 1 < fields.len() && (fields[i].ends_with(',') || fields[i + 1] == ":" || fields[i] == ":") {
        i += 1;
    }
    let last_upstream = fields[i].trim_end_matches(',');
    if last_upstream == "-" {
        return Err("no $upstream_response_time (\"-\"): the request never reached a backend".into());
    }
    let service = number(last_upstream, "$upstream_response_time (seconds)")?;
    let rest = &fields[i + 1..];
    if rest.len() < 3 {
        return Err("expected $status $http_x_client $upstream_addr after $upstream_response_time".into());
    }
    let mut e = entry(msec - request_time, service, status(rest[0])?);
    e.client = rest[1].parse::<u32>().ok();
    e.backend = Some(rest[rest.len() - 1].trim_end_matches(',').to_string());
    Ok((msec, e))
}

/// HAProxy's HTTP log: `… [25/Nov/2026:19:26:11.123] frontend backend/server TR/Tw/Tc/Tr/Ta status …`.
fn haproxy(line: &str) -> Result<(f64, Entry), String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let Some(d) = fields.iter().position(|f| f.starts_with('[') && f.ends_with(']') && f.contains('/')) else {
        return Err("no [accept date] field such as [25/Nov/2026:19:26:11.123]".into());
    };
    if fields.len() < d + 5 {
        return Err("expected frontend, backend/server, TR/Tw/Tc/Tr/Ta and status after the date".into());
    }
    let accepted = clf_date(&fields[d][1..fields[d].len() - 1])?;
    let server = fields[d + 2].split_once('/').map(|(_, s)| s.to_string());
    let timers: Vec<&str> = fields[d + 3].split('/').collect();
    if timers.len() != 5 {
        return Err(format!("expected five timers TR/Tw/Tc/Tr/Ta, found \"{}\"", fields[d + 3]));
    }
    let timer = |i: usize, name: &str| -> Result<f64, String> {
        let v: i64 = timers[i]
            .trim_start_matches('+')
            .parse()
            .map_err(|_| format!("expected the {name} timer (ms), found \"{}\"", timers[i]))?;
        if v < 0 {
            return Err(format!("{name} is {v}: the request did not complete (aborted, refused or timed out)"));
        }
        Ok(v as f64 / 1e3)
    };
    let received = timer(0, "TR")?;
    let response = timer(3, "Tr")?;
    let total = timer(4, "Ta")?;
    let mut e = entry(accepted + received, response, status(fields[d + 4])?);
    e.backend = server;
    Ok((accepted + total, e))
}

/// gunicorn: `[25/Nov/2026:19:26:11 +0000] … %(D)s` (µs) or `… %(L)s` (seconds, with a point).
fn gunicorn(line: &str) -> Result<(f64, Entry), String> {
    let (Some(open), Some(close)) = (line.find('['), line.find(']')) else {
        return Err("no [time] field such as [25/Nov/2026:19:26:11 +0000] (%(t)s)".into());
    };
    if close < open {
        return Err("no [time] field such as [25/Nov/2026:19:26:11 +0000] (%(t)s)".into());
    }
    let stamp = &line[open + 1..close];
    let (date, zone) = stamp.split_once(' ').unwrap_or((stamp, "+0000"));
    let written = clf_date(date)? - zone_offset(zone)?;
    let rest = &line[close + 1..];
    // After the quoted request line: status, then anything, the duration last.
    let after_request = match rest.find('"').and_then(|a| rest[a + 1..].find('"').map(|b| a + 1 + b + 1)) {
        Some(end) => &rest[end..],
        None => rest,
    };
    let fields: Vec<&str> = after_request.split_whitespace().collect();
    let Some(last) = fields.last() else {
        return Err("expected the status and the duration (%(D)s or %(L)s) after the request".into());
    };
    let service = if last.contains('.') {
        number(last, "the duration %(L)s (seconds)")?
    } else {
        number(last, "the duration %(D)s (microseconds)")? / 1e6
    };
    let mut e = entry(written - service, service, status(fields[0])?);
    e.worker =
        fields.iter().find(|f| f.starts_with('<') && f.ends_with('>')).map(|f| f.trim_matches(['<', '>']).to_string());
    Ok((written, e))
}

/// gunicorn stamps the second a request finished: the lines of one second are spread evenly
/// over it (line j of m ends at second + (j + ½)/m), and arrivals move with them.
fn spread_within_seconds(lines: &mut [Line]) {
    let mut start = 0;
    while start < lines.len() {
        let second = lines[start].written;
        let end = start + lines[start..].iter().take_while(|l| l.written == second).count();
        let m = (end - start) as f64;
        for (j, l) in lines[start..end].iter_mut().enumerate() {
            let shift = (j as f64 + 0.5) / m;
            l.written += shift;
            l.entry.arrival += shift;
        }
        start = end;
    }
}

/// `25/Nov/2026:19:26:11[.123]` → seconds since 1970-01-01 (the zone is handled apart).
fn clf_date(text: &str) -> Result<f64, String> {
    let bad = || format!("expected a date like 25/Nov/2026:19:26:11, found \"{text}\"");
    let mut parts = text.splitn(4, ':');
    let day_part = parts.next().ok_or_else(bad)?;
    let (h, m, s) = (parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?);
    let mut dmy = day_part.split('/');
    let (d, mon, y) = (dmy.next().ok_or_else(bad)?, dmy.next().ok_or_else(bad)?, dmy.next().ok_or_else(bad)?);
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month = MONTHS.iter().position(|x| *x == mon).ok_or_else(bad)? as i64 + 1;
    let day: i64 = d.parse().map_err(|_| bad())?;
    let year: i64 = y.parse().map_err(|_| bad())?;
    let (hours, minutes): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let seconds: f64 = s.parse().map_err(|_| bad())?;
    if !(1..=31).contains(&day)
        || !(0..24).contains(&hours)
        || !(0..60).contains(&minutes)
        || !(0.0..61.0).contains(&seconds)
    {
        return Err(bad());
    }
    Ok((days_from_civil(year, month, day) * 86400 + hours * 3600 + minutes * 60) as f64 + seconds)
}

/// `+0100` → 3600 seconds.
fn zone_offset(zone: &str) -> Result<f64, String> {
    let bad = || format!("expected a time zone like +0000, found \"{zone}\"");
    let (sign, digits) = match zone.as_bytes().first() {
        Some(b'+') => (1.0, &zone[1..]),
        Some(b'-') => (-1.0, &zone[1..]),
        _ => return Err(bad()),
    };
    if digits.len() != 4 {
        return Err(bad());
    }
    let hours: f64 = digits[..2].parse().map_err(|_| bad())?;
    let minutes: f64 = digits[2..].parse().map_err(|_| bad())?;
    Ok(sign * (hours * 3600.0 + minutes * 60.0))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_lines_are_read() {
        let log = parse("a.log", "1764098771.250 0.045 0.043 200 17 127.0.0.1:18081\n", Format::Nginx, false).unwrap();
        let e = &log.entries[0];
        assert!((e.arrival - 1764098771.205).abs() < 1e-6 && e.service == 0.043 && e.status == 200);
        assert_eq!((e.client, e.backend.as_deref()), (Some(17), Some("127.0.0.1:18081")));
        // Retried upstreams: the last one served.
        let log =
            parse("a.log", "100.5 0.2 0.100, 0.050 502 - 127.0.0.1:1, 127.0.0.1:2\n", Format::Nginx, false).unwrap();
        assert_eq!((log.entries[0].service, log.entries[0].client), (0.05, None));
        assert_eq!(log.entries[0].backend.as_deref(), Some("127.0.0.1:2"));
    }

    #[test]
    fn haproxy_lines_are_read_with_or_without_syslog_prefix() {
        let line = "127.0.0.1:40000 [25/Nov/2026:19:26:11.123] twin backends/b2 0/3/0/41/45 200 120 - - ---- 5/5/4/1/0 0/0 \"GET / HTTP/1.1\"";
        let prefixed = format!("Nov 25 19:26:11 host haproxy[99]: {line}");
        for text in [line.to_string(), prefixed] {
            let log = parse("h.log", &text, Format::Haproxy, false).unwrap();
            let e = &log.entries[0];
            assert!((e.service - 0.041).abs() < 1e-12);
            assert_eq!(e.backend.as_deref(), Some("b2"));
            assert!((e.arrival % 60.0 - 11.123).abs() < 1e-6, "{}", e.arrival);
        }
        let aborted = "127.0.0.1:1 [25/Nov/2026:19:26:11.123] twin backends/b2 0/0/0/-1/45 502 0 - - ---- 0/0/0/0/0 0/0 \"GET / HTTP/1.1\"";
        let e = parse("h.log", aborted, Format::Haproxy, false).unwrap_err();
        assert!(e.render().starts_with("h.log:1: Tr is -1"), "{}", e.render());
    }

    #[test]
    fn gunicorn_lines_of_one_second_are_spread_over_it() {
        let text = "[25/Nov/2026:19:26:11 +0000] \"GET / HTTP/1.1\" 200 3 <123> 40000\n\
                    [25/Nov/2026:19:26:11 +0000] \"GET / HTTP/1.1\" 200 3 <124> 0.020000\n";
        let log = parse("g.log", text, Format::Gunicorn, false).unwrap();
        let (a, b) = (&log.entries[0], &log.entries[1]);
        assert_eq!((a.service, b.service), (0.04, 0.02));
        assert_eq!(a.worker.as_deref(), Some("123"));
        let second = clf_date("25/Nov/2026:19:26:11").unwrap();
        assert!((a.arrival - (second + 0.25 - 0.04)).abs() < 1e-9);
        assert!((b.arrival - (second + 0.75 - 0.02)).abs() < 1e-9);
    }

    #[test]
    fn dates_are_days_since_the_epoch() {
        assert_eq!(clf_date("01/Jan/1970:00:00:00").unwrap(), 0.0);
        assert_eq!(clf_date("25/Nov/2026:00:00:01.5").unwrap(), 1_795_564_800.0 + 1.5);
        assert!(clf_date("25/Foo/2026:00:00:00").is_err());
    }

    #[test]
    fn bad_lines_name_their_line_or_are_counted_when_skipped() {
        let text = "100.0 0.01 0.01 200 1 a\nnot a log line\n100.2 0.01 0.01 200 1 a\n";
        let e = parse("x.log", text, Format::Nginx, false).unwrap_err();
        assert!(e.render().starts_with("x.log:2: expected 6 fields"), "{}", e.render());
        assert!(e.render().contains("--skip-bad"));
        let log = parse("x.log", text, Format::Nginx, true).unwrap();
        assert_eq!((log.entries.len(), log.skipped.len(), log.skipped[0].0), (2, 1, 2));
    }

    #[test]
    fn an_empty_log_and_a_log_going_backwards_are_errors() {
        assert_eq!(parse("e.log", "\n\n", Format::Nginx, false).unwrap_err().render(), "e.log: the log is empty");
        assert!(
            parse("e.log", "garbage\n", Format::Nginx, true).unwrap_err().render().contains("no line could be read")
        );
        let text =
            "100.0 0.01 0.01 200 1 a\n100.9 0.01 0.01 200 1 a\n100.5 0.01 0.01 200 1 a\n50.0 0.01 0.01 200 1 a\n";
        let e = parse("b.log", text, Format::Nginx, false).unwrap_err();
        assert!(
            e.render().starts_with("b.log:4: timestamp goes backwards by 50.900 s (line 2 is later)"),
            "{}",
            e.render()
        );
    }
}
