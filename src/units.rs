//! Durations and rates as people write and read them.

/// Parses a duration: a plain number of seconds (`"0.25"`) or a number with a unit
/// (`"250us"`, `"20ms"`, `"1.5s"`, `"2m"`, `"1h"`; `µs` is accepted for `us`).
pub fn parse_duration(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
        .unwrap_or(trimmed.len());
    // "1e-3s" vs "2ms": an 'e' followed by a letter-only suffix is not an exponent, but no
    // valid unit starts with 'e', so the greedy split above is unambiguous.
    let (number, unit) = trimmed.split_at(split);
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("expected a duration such as \"250us\", \"20ms\", \"1.5s\" or \"2m\", got \"{text}\""))?;
    let scale = match unit.trim() {
        "" | "s" | "sec" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" | "μs" => 1e-6,
        "ns" => 1e-9,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!("unknown time unit \"{other}\" in \"{text}\" (use ns, us, ms, s, m or h)"));
        }
    };
    let seconds = value * scale;
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(format!("a duration must be a finite number ≥ 0, got \"{text}\""));
    }
    Ok(seconds)
}

/// Formats seconds with the unit that reads best: `830us`, `12.5ms`, `1.25s`, `3.2m`.
pub fn format_duration(seconds: f64) -> String {
    let abs = seconds.abs();
    let (value, unit) = if !seconds.is_finite() {
        return format!("{seconds}");
    } else if abs == 0.0 {
        (0.0, "s")
    } else if abs < 1e-6 {
        (seconds * 1e9, "ns")
    } else if abs < 1e-3 {
        (seconds * 1e6, "us")
    } else if abs < 1.0 {
        (seconds * 1e3, "ms")
    } else if abs < 120.0 {
        (seconds, "s")
    } else if abs < 7200.0 {
        (seconds / 60.0, "m")
    } else {
        (seconds / 3600.0, "h")
    };
    format!("{}{unit}", significant(value, 3))
}

/// A time unit for a set of values (axis labels, tables): the largest unit in which the
/// typical value is ≥ 1. Returns (unit name, seconds per unit).
pub fn unit_for(typical_seconds: f64) -> (&'static str, f64) {
    let t = typical_seconds.abs();
    if t >= 1.0 || t == 0.0 || !t.is_finite() {
        ("s", 1.0)
    } else if t >= 1e-3 {
        ("ms", 1e-3)
    } else if t >= 1e-6 {
        ("us", 1e-6)
    } else {
        ("ns", 1e-9)
    }
}

/// `value` rounded to `digits` significant digits, without trailing zeros.
pub fn significant(value: f64, digits: i32) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_units_and_plain_seconds() {
        assert_eq!(parse_duration("250us").unwrap(), 250e-6);
        assert_eq!(parse_duration("20ms").unwrap(), 0.02);
        assert_eq!(parse_duration("1.5s").unwrap(), 1.5);
        assert_eq!(parse_duration("2m").unwrap(), 120.0);
        assert_eq!(parse_duration("0.25").unwrap(), 0.25);
        assert_eq!(parse_duration("1e-3s").unwrap(), 1e-3);
    }

    #[test]
    fn bad_durations_say_what_was_expected() {
        assert!(parse_duration("20 parsecs").unwrap_err().contains("unknown time unit"));
        assert!(parse_duration("fast").unwrap_err().contains("expected a duration"));
        assert!(parse_duration("-1s").unwrap_err().contains("≥ 0"));
    }

    #[test]
    fn durations_format_in_a_readable_unit() {
        assert_eq!(format_duration(0.0125), "12.5ms");
        assert_eq!(format_duration(830e-6), "830us");
        assert_eq!(format_duration(1.25), "1.25s");
    }
}
