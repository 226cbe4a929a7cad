//! [`ConfigError`]: what is wrong, and where.

/// An error in an experiment file or override, located as precisely as possible.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    /// The file (or `--set` for an override).
    pub file: String,
    /// 1-based line and column, when known.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Dotted key path, when known (`arrivals.load`).
    pub key: Option<String>,
    /// What is wrong and what was expected, with a did-you-mean suggestion where useful.
    pub message: String,
}

impl ConfigError {
    /// An error about a whole file (or `--set`), with no position or key.
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.into(),
            line: None,
            column: None,
            key: None,
            message: message.into(),
        }
    }

    /// `FILE:LINE:COL: KEY: MESSAGE`, leaving out the parts that are not known
    /// (`--set KEY: MESSAGE` for overrides).
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(&self.file);
        if let Some(line) = self.line {
            out.push_str(&format!(":{line}"));
            if let Some(column) = self.column {
                out.push_str(&format!(":{column}"));
            }
        }
        if let Some(key) = &self.key {
            if out.is_empty() {
                out.push_str(key);
            } else if self.file == "--set" && self.line.is_none() {
                out.push(' ');
                out.push_str(key);
            } else {
                out.push_str(": ");
                out.push_str(key);
            }
        }
        if out.is_empty() {
            self.message.clone()
        } else {
            format!("{out}: {}", self.message)
        }
    }

    /// The same location with another message.
    pub(crate) fn with(&self, message: impl Into<String>) -> Self {
        ConfigError {
            message: message.into(),
            ..self.clone()
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut column = 1;
    for (i, c) in text.char_indices() {
        if i >= offset {
            break;
        }
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_leaves_out_unknown_parts() {
        let mut e = ConfigError::new("x.toml", "bad");
        assert_eq!(e.render(), "x.toml: bad");
        e.key = Some("run.requests".into());
        assert_eq!(e.render(), "x.toml: run.requests: bad");
        e.line = Some(3);
        e.column = Some(7);
        assert_eq!(e.render(), "x.toml:3:7: run.requests: bad");
        let set = ConfigError {
            file: "--set".into(),
            line: None,
            column: None,
            key: Some("a.b".into()),
            message: "m".into(),
        };
        assert_eq!(set.render(), "--set a.b: m");
    }

    #[test]
    fn line_column_counts_characters() {
        let text = "ab\ncµd\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 3), (2, 1));
        assert_eq!(line_column(text, 6), (2, 3));
    }
}
