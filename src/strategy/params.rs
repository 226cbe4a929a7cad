//! Strategy parameters (`{ name = "power_of_d", d = 3 }`), independent of any file format.

use std::collections::BTreeMap;

use super::StrategyError;

/// One parameter value as written by the user.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Number(f64),
    Text(String),
    List(Vec<ParamValue>),
}

/// Declaration of a parameter a strategy accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamSpec {
    pub name: &'static str,
    pub help: &'static str,
}

/// The parameters given for one strategy, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    /// The strategy these parameters are for (used in error messages).
    pub strategy: String,
    pub values: BTreeMap<String, ParamValue>,
}

impl Params {
    pub fn new(strategy: impl Into<String>) -> Self {
        Params { strategy: strategy.into(), values: BTreeMap::new() }
    }

    pub fn with(mut self, name: &str, value: ParamValue) -> Self {
        self.values.insert(name.to_string(), value);
        self
    }

    pub(crate) fn bad(&self, param: &str, what: impl Into<String>) -> StrategyError {
        StrategyError::BadParam { strategy: self.strategy.clone(), param: param.to_string(), what: what.into() }
    }

    /// A whole number ≥ `min`, or `default` when absent.
    pub fn count(&self, name: &str, default: usize, min: usize) -> Result<usize, StrategyError> {
        match self.values.get(name) {
            None => Ok(default),
            Some(ParamValue::Number(x)) if x.fract() == 0.0 && *x >= min as f64 && *x <= u32::MAX as f64 => {
                Ok(*x as usize)
            }
            Some(other) => Err(self.bad(name, format!("expected a whole number ≥ {min}, got {}", show(other)))),
        }
    }

    /// A number accepted by `valid` (described by `expected`, e.g. "a number ≥ 0"), or
    /// `default` when absent.
    pub fn real(
        &self,
        name: &str,
        default: f64,
        expected: &str,
        valid: impl Fn(f64) -> bool,
    ) -> Result<f64, StrategyError> {
        match self.values.get(name) {
            None => Ok(default),
            Some(ParamValue::Number(x)) if x.is_finite() && valid(*x) => Ok(*x),
            Some(other) => Err(self.bad(name, format!("expected {expected}, got {}", show(other)))),
        }
    }

    /// An optional duration ≥ 0 (a number of seconds or a string like "30s").
    pub fn duration(&self, name: &str) -> Result<Option<f64>, StrategyError> {
        match self.values.get(name) {
            None => Ok(None),
            Some(ParamValue::Number(x)) if x.is_finite() && *x >= 0.0 => Ok(Some(*x)),
            Some(ParamValue::Text(s)) => crate::units::parse_duration(s).map(Some).map_err(|e| self.bad(name, e)),
            Some(other) => Err(self.bad(
                name,
                format!("expected a duration ≥ 0 (seconds, or a string like \"30s\"), got {}", show(other)),
            )),
        }
    }

    /// An error about parameter `name` (for checks that involve several parameters).
    pub fn error(&self, name: &str, what: impl Into<String>) -> StrategyError {
        self.bad(name, what)
    }

    /// An optional list of durations (numbers of seconds or strings like "20ms").
    pub fn durations(&self, name: &str) -> Result<Option<Vec<f64>>, StrategyError> {
        let Some(value) = self.values.get(name) else { return Ok(None) };
        let ParamValue::List(items) = value else {
            return Err(self.bad(name, format!("expected a list of durations, got {}", show(value))));
        };
        items
            .iter()
            .map(|item| match item {
                ParamValue::Number(x) if x.is_finite() && *x > 0.0 => Ok(*x),
                ParamValue::Text(s) => crate::units::parse_duration(s).map_err(|e| self.bad(name, e)),
                other => Err(self.bad(name, format!("expected a positive duration, got {}", show(other)))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

fn show(value: &ParamValue) -> String {
    match value {
        ParamValue::Number(x) => format!("{x}"),
        ParamValue::Text(s) => format!("\"{s}\""),
        ParamValue::List(items) => format!("a list of {}", items.len()),
    }
}
