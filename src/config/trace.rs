//! CSV inputs: arrival traces (`time[,size[,client]]`) and empirical size samples.
//!
//! Both formats: blank lines and lines starting with `#` are ignored; an optional header row
//! (the first row, when it is not numeric) names the columns. Errors name the CSV file and
//! its 1-based line: `trace.csv:17: timestamp 3.2 goes backwards (previous 3.5)`.

use std::path::Path;

use super::MAX_DURATION;
use super::error::ConfigError;

/// Columns of a trace, as read (times relative to the first row).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TraceRows {
    pub times: Vec<f64>,
    pub sizes: Option<Vec<f64>>,
    pub clients: Option<Vec<u32>>,
}

const TRACE_COLUMNS: &[&str] = &["time", "size", "client"];

fn csv_error(file: &str, line: usize, message: impl Into<String>) -> ConfigError {
    ConfigError { file: file.to_string(), line: Some(line), column: None, key: None, message: message.into() }
}

/// Non-blank, non-comment lines with their 1-based line numbers.
fn data_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

fn split_fields(line: &str) -> Vec<&str> {
    line.split(',').map(str::trim).collect()
}

/// Parses trace CSV text; `name` is what errors call the file.
pub(crate) fn parse_trace(name: &str, text: &str) -> Result<TraceRows, ConfigError> {
    let mut lines = data_lines(text).peekable();
    let mut columns: Vec<usize> = vec![0, 1, 2]; // position → column kind
    let mut width: Option<usize> = None;
    if let Some(&(line_no, first)) = lines.peek() {
        let fields = split_fields(first);
        if fields.iter().all(|f| f.parse::<f64>().is_err()) {
            // Header row.
            columns.clear();
            for field in &fields {
                let lower = field.to_ascii_lowercase();
                match TRACE_COLUMNS.iter().position(|c| *c == lower) {
                    Some(kind) if columns.contains(&kind) => {
                        return Err(csv_error(
                            name,
                            line_no,
                            format!("column \"{lower}\" appears twice in the header"),
                        ));
                    }
                    Some(kind) => columns.push(kind),
                    None => {
                        let hint = match crate::strategy::nearest(&lower, TRACE_COLUMNS.iter().copied()) {
                            Some(s) => format!("; did you mean \"{s}\"?"),
                            None => " (columns are time, size and client)".into(),
                        };
                        return Err(csv_error(
                            name,
                            line_no,
                            format!("unknown column \"{field}\" in the header{hint}"),
                        ));
                    }
                }
            }
            if !columns.contains(&0) {
                return Err(csv_error(name, line_no, "the header has no \"time\" column"));
            }
            width = Some(columns.len());
            lines.next();
        }
    }
    let mut times = Vec::new();
    let mut sizes = Vec::new();
    let mut clients = Vec::new();
    let mut previous: Option<f64> = None;
    for (line_no, line) in lines {
        let fields = split_fields(line);
        let expected = *width.get_or_insert(fields.len());
        if expected > 3 {
            return Err(csv_error(
                name,
                line_no,
                format!("expected at most 3 columns (time, size, client), found {expected}"),
            ));
        }
        if fields.len() != expected {
            let names: Vec<&str> = columns[..expected].iter().map(|&k| TRACE_COLUMNS[k]).collect();
            return Err(csv_error(
                name,
                line_no,
                format!("expected {expected} columns ({}), found {}", names.join(", "), fields.len()),
            ));
        }
        for (position, field) in fields.iter().enumerate() {
            let kind = columns[position];
            let column = TRACE_COLUMNS[kind];
            let number: f64 = field.parse().ok().filter(|x: &f64| x.is_finite()).ok_or_else(|| {
                csv_error(name, line_no, format!("expected a number in column \"{column}\", found \"{field}\""))
            })?;
            match kind {
                0 => {
                    let first = *times.first().unwrap_or(&number);
                    if number - first > MAX_DURATION {
                        return Err(csv_error(
                            name,
                            line_no,
                            format!(
                                "timestamp {field} is {:e} s after the first row's ({first}), longer than lbsim \
                                 simulates (at most {MAX_DURATION:e} s, about 31 years)",
                                number - first
                            ),
                        ));
                    }
                    if let Some(prev) = previous {
                        if number < prev {
                            return Err(csv_error(
                                name,
                                line_no,
                                format!("timestamp {field} goes backwards (previous {prev})"),
                            ));
                        }
                    }
                    previous = Some(number);
                    times.push(number);
                }
                1 => {
                    if number <= 0.0 {
                        return Err(csv_error(
                            name,
                            line_no,
                            format!("expected a positive size in seconds, found {field}"),
                        ));
                    }
                    if number > MAX_DURATION {
                        return Err(csv_error(
                            name,
                            line_no,
                            format!(
                                "size {field} s is longer than lbsim simulates (at most {MAX_DURATION:e} s, about \
                                 31 years)"
                            ),
                        ));
                    }
                    sizes.push(number);
                }
                _ => {
                    if number < 0.0 || number.fract() != 0.0 || number > f64::from(u32::MAX) {
                        return Err(csv_error(
                            name,
                            line_no,
                            format!(
                                "expected a client id (a whole number ≥ 0) in column \"client\", found \"{field}\""
                            ),
                        ));
                    }
                    clients.push(number as u32);
                }
            }
        }
    }
    if times.len() < 2 {
        return Err(ConfigError::new(name, format!("a trace needs at least 2 rows, found {}", times.len())));
    }
    let start = times[0];
    for t in &mut times {
        *t -= start;
    }
    let used: Vec<usize> = columns[..width.unwrap_or(0).min(columns.len())].to_vec();
    Ok(TraceRows { times, sizes: used.contains(&1).then_some(sizes), clients: used.contains(&2).then_some(clients) })
}

/// Parses a samples file: one number (seconds) per line, `#` comments, optional header.
pub(crate) fn parse_samples(name: &str, text: &str) -> Result<Vec<f64>, ConfigError> {
    let mut samples = Vec::new();
    for (i, (line_no, line)) in data_lines(text).enumerate() {
        let field = line.split(',').next().unwrap_or("").trim();
        match field.parse::<f64>() {
            // The bound a trace's sizes and every duration obey: sums of such sizes overflow.
            Ok(x) if x > MAX_DURATION => {
                return Err(csv_error(
                    name,
                    line_no,
                    format!(
                        "size {field} s is longer than lbsim simulates (at most {MAX_DURATION:e} s, about 31 years)"
                    ),
                ));
            }
            Ok(x) if x.is_finite() && x >= 0.0 => samples.push(x),
            Ok(_) => {
                return Err(csv_error(name, line_no, format!("expected a size ≥ 0 in seconds, found \"{field}\"")));
            }
            Err(_) if i == 0 => {} // header
            Err(_) => {
                return Err(csv_error(name, line_no, format!("expected a number, found \"{field}\"")));
            }
        }
    }
    if samples.is_empty() {
        return Err(ConfigError::new(name, "no samples found (expected one number per line)"));
    }
    Ok(samples)
}

/// Reads a file named in the experiment, relative to the experiment's folder.
pub(crate) fn read_relative(folder: &Path, file: &str) -> Result<(String, String), String> {
    let path = folder.join(file);
    let shown = path.display().to_string();
    std::fs::read_to_string(&path)
        .map(|text| (shown.clone(), without_bom(text)))
        .map_err(|e| format!("cannot read \"{shown}\": {e}"))
}

/// The text without a leading UTF-8 byte-order mark, which Excel and Notepad write at the
/// start of CSV files: it is not part of the first column's name.
pub(crate) fn without_bom(text: String) -> String {
    match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    /// `loadgen` turns each time into a `Duration` (which panics past 2⁶⁴ s) and `run` adds
    /// them up; both accepted 1e300 before.
    #[test]
    fn times_and_sizes_beyond_what_lbsim_simulates_are_refused_with_their_line() {
        let e = super::parse_trace("t.csv", "time,size\n0,0.01\n# gap\n1e300,0.01\n").unwrap_err();
        assert_eq!(e.line, Some(4));
        assert!(e.to_string().starts_with("t.csv:4: timestamp 1e300 is 1e300 s after the first row's (0)"), "{e}");
        assert!(e.to_string().contains("at most 1e9 s"), "{e}");
        let e = super::parse_trace("t.csv", "0,0.01\n1,2e9\n").unwrap_err();
        assert!(e.to_string().starts_with("t.csv:2: size 2e9 s is longer than lbsim simulates"), "{e}");
        // Unix timestamps are fine: only the span from the first row is bounded.
        let rows = super::parse_trace("t.csv", "1795564800,0.01\n1795564801.5,0.01\n").unwrap();
        assert_eq!(rows.times, vec![0.0, 1.5]);
    }

    #[test]
    fn a_byte_order_mark_before_the_header_is_not_part_of_it() {
        let text = super::without_bom("\u{feff}time,size\n0,0.01\n1,0.02\n".to_string());
        let rows = super::parse_trace("t.csv", &text).unwrap();
        assert_eq!(rows.times, vec![0.0, 1.0]);
    }

    use super::*;

    #[test]
    fn plain_rows_and_header_rows_are_read() {
        let rows = parse_trace("t.csv", "# comment\n1.0\n\n1.5\n2\n").unwrap();
        assert_eq!(rows.times, vec![0.0, 0.5, 1.0]);
        assert!(rows.sizes.is_none());
        let rows = parse_trace("t.csv", "client,time,size\n3,0,0.1\n4,1,0.2\n").unwrap();
        assert_eq!(rows.times, vec![0.0, 1.0]);
        assert_eq!(rows.sizes, Some(vec![0.1, 0.2]));
        assert_eq!(rows.clients, Some(vec![3, 4]));
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_trace("t.csv", "0\n3.5\n3.2\n").unwrap_err();
        assert_eq!(e.render(), "t.csv:3: timestamp 3.2 goes backwards (previous 3.5)");
        let e = parse_trace("t.csv", "time,size\n0,1\n1,abc\n").unwrap_err();
        assert_eq!(e.render(), "t.csv:3: expected a number in column \"size\", found \"abc\"");
    }

    /// Samples once went unbounded while a trace's sizes were refused past 1e9 s.
    #[test]
    fn samples_beyond_what_lbsim_simulates_are_refused_with_their_line() {
        let e = parse_samples("s.csv", "size\n0.01\n# slow\n2e9\n").unwrap_err();
        assert_eq!(e.render(), "s.csv:4: size 2e9 s is longer than lbsim simulates (at most 1e9 s, about 31 years)");
        assert_eq!(parse_samples("s.csv", "0.01\n1e9\n").unwrap(), vec![0.01, 1e9]);
    }

    #[test]
    fn samples_skip_header_and_comments() {
        assert_eq!(parse_samples("s", "size\n# x\n0.1\n0.2\n").unwrap(), vec![0.1, 0.2]);
        assert!(parse_samples("s", "0.1\nx\n").unwrap_err().render().starts_with("s:2:"));
    }
}
