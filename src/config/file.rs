//! The experiment document: the parsed TOML (with spans), `--set` overrides, and locating
//! dotted key paths in the source.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml_edit::{Document, DocumentMut, Item, TableLike, Value};

use super::error::{ConfigError, line_column};
use super::schema;
use crate::strategy::nearest;

/// One step of a concrete path into the document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seg {
    Key(String),
    Index(usize),
}

/// A value replaced after parsing: errors about it (or inside it) name the override.
#[derive(Debug, Clone)]
struct Override {
    path: Vec<Seg>,
    /// `--set` or `sweep`.
    source: &'static str,
}

/// An experiment file as read, before it is resolved into an [`Experiment`](crate::experiment::Experiment).
#[derive(Debug, Clone)]
pub struct ExperimentFile {
    pub path: PathBuf,
    /// The document as parsed, with spans into `original.raw()`.
    original: Document<String>,
    /// The document with overrides applied.
    doc: DocumentMut,
    overrides: Vec<Override>,
}

impl ExperimentFile {
    /// Reads and parses (as TOML) the file at `path`.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new(path.display().to_string(), format!("cannot read the experiment file: {e}"))
        })?;
        Self::parse(path, &super::trace::without_bom(text))
    }

    /// Parses experiment text; `path` names it in errors and anchors relative file paths.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let original = Document::parse(text.to_string()).map_err(|e| {
            let mut err = ConfigError::new(path.display().to_string(), tidy_toml_message(e.message()));
            if let Some(span) = e.span() {
                let (line, column) = line_column(text, span.start);
                err.line = Some(line);
                err.column = Some(column);
                if e.message().contains("duplicate key") {
                    if let Some(message) = duplicate_message(text, line) {
                        err.message = message;
                    }
                }
            }
            err
        })?;
        let doc = original.clone().into_mut();
        Ok(ExperimentFile { path: path.to_path_buf(), original, doc, overrides: Vec::new() })
    }

    /// The file's path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The folder relative file names (traces, samples) are resolved against.
    pub fn folder(&self) -> &Path {
        self.path.parent().unwrap_or_else(|| Path::new(""))
    }

    /// The files this experiment reads, each with what it is: the file itself, its
    /// `[arrivals] file` trace and its `[service] file` samples (with overrides applied).
    /// Commands that write files refuse to write over any of them.
    pub fn inputs(&self) -> Vec<(&'static str, PathBuf)> {
        let mut inputs = vec![("the experiment file", self.path.clone())];
        let named = |key: &str| self.item(key).and_then(Item::as_str).map(|name| self.folder().join(name));
        inputs.extend(named("arrivals.file").map(|path| ("the experiment's trace", path)));
        inputs.extend(named("service.file").map(|path| ("the experiment's samples", path)));
        inputs
    }

    /// The file name used in errors.
    pub(crate) fn display_name(&self) -> String {
        self.path.display().to_string()
    }

    /// A top-level table (`"sweep"`, `"report"`), with overrides applied. Inline tables
    /// (`sweep = { … }`) are reached through [`ExperimentFile::item`].
    pub fn table(&self, name: &str) -> Option<&toml_edit::Table> {
        self.doc.get(name).and_then(Item::as_table)
    }

    /// The item at a dotted key path (`"sweep.load"`, `"backends.web.count"`), if present.
    /// Elements of inline arrays are values, not items: for those (`"balancer.strategies.0"`)
    /// this returns `None`; read the array itself instead.
    pub fn item(&self, key_path: &str) -> Option<&Item> {
        let user = split_path(key_path).ok()?;
        let (path, complete) = self.concretize_lenient(&user);
        if !complete {
            return None;
        }
        match node_at(self.doc.as_item(), &path)? {
            Node::Item(item) => Some(item),
            _ => None,
        }
    }

    /// An error located at a dotted key path, for modules that validate sections
    /// (`[sweep]`, `[report]`) themselves. Falls back to the nearest enclosing table, or the
    /// file, when the path is not in the source.
    pub fn error_at(&self, key_path: &str, message: impl Into<String>) -> ConfigError {
        let user = split_path(key_path).unwrap_or_default();
        let (path, _) = self.concretize_lenient(&user);
        let mut err = self.locate(&path, false).with(message);
        if err.file != "--set" && err.file != "sweep" {
            err.key = Some(key_path.to_string());
        }
        err
    }

    /// An error located at a path given segment by segment, each taken literally (sweep axes
    /// are keys that contain dots: `[sweep] "backends.web.count" = [...]`). With `at_key`, the
    /// position is the last key's; otherwise its value's. `key` names it in the message.
    pub fn error_at_keys(&self, keys: &[&str], at_key: bool, key: &str, message: impl Into<String>) -> ConfigError {
        let path: Vec<Seg> = keys.iter().map(|k| Seg::Key((*k).to_string())).collect();
        let mut err = self.locate(&path, at_key).with(message);
        err.key = Some(key.to_string());
        err
    }

    /// An error at value `index` (0-based) of the sweep axis `[sweep] KEY`, or at the axis
    /// when it is a range (whose values are computed), named `name` in the message.
    pub fn error_at_sweep_value(&self, key: &str, index: usize, name: &str, message: impl Into<String>) -> ConfigError {
        let mut path = vec![Seg::Key("sweep".to_string()), Seg::Key(key.to_string())];
        if node_at(self.doc.as_item(), &path).is_some_and(|n| n.array_len().is_some()) {
            path.push(Seg::Index(index));
        }
        let mut err = self.locate(&path, false).with(message);
        err.key = Some(name.to_string());
        err
    }

    /// The document with overrides applied (for reproducibility records).
    pub fn source_text(&self) -> String {
        self.doc.to_string()
    }

    /// Applies `--set KEY=VALUE`. KEY is a dotted path (`run.replications`,
    /// `backends.web.count`, `backends.0.count`); VALUE is a TOML value, or else a bare string
    /// (`arrivals.process=gamma`). Keys the format knows may be added; others are errors.
    pub fn set(&mut self, assignment: &str) -> Result<(), ConfigError> {
        let set_error = |key: Option<&str>, message: String| ConfigError {
            file: "--set".into(),
            line: None,
            column: None,
            key: key.map(str::to_string),
            message,
        };
        let Some((key, value_text)) = assignment.split_once('=') else {
            return Err(set_error(
                None,
                format!("expected KEY=VALUE (e.g. run.requests=50000), found \"{assignment}\""),
            ));
        };
        let key = key.trim();
        let value_text = value_text.trim();
        if key.is_empty() {
            return Err(set_error(None, format!("expected KEY=VALUE with a key before '=', found \"{assignment}\"")));
        }
        if value_text.is_empty() {
            return Err(set_error(
                Some(key),
                format!("expected a value after '=' (e.g. {key}=5 or {key}=\"text\"), found nothing"),
            ));
        }
        let user = split_path(key).map_err(|m| set_error(Some(key), m))?;
        check_schema(&user).map_err(|m| set_error(Some(key), m))?;
        let path = self.concretize(&user).map_err(|m| set_error(Some(key), m))?;
        let mut value = match value_text.parse::<Value>() {
            Ok(v) => v,
            Err(_) => Value::from(value_text),
        };
        value.decor_mut().clear();
        assign(self.doc.as_item_mut(), &path, value).map_err(|m| set_error(Some(key), m))?;
        self.overrides.push(Override { path, source: "--set" });
        Ok(())
    }

    /// Sets a numeric key by dotted path (sweeps). The key must exist or be valid in the
    /// format, and must not hold text, a table or a list.
    pub fn set_number(&mut self, key_path: &str, value: f64) -> Result<(), ConfigError> {
        let err = |message: String| ConfigError {
            file: "sweep".into(),
            line: None,
            column: None,
            key: Some(key_path.to_string()),
            message,
        };
        if !value.is_finite() {
            return Err(err(format!("expected a finite number, found {value}")));
        }
        let user = split_path(key_path).map_err(err)?;
        check_schema(&user).map_err(err)?;
        let path = self.concretize(&user).map_err(err)?;
        if let Some(Seg::Key(last)) = path.last() {
            let free = user.first().is_some_and(|s| schema::FREE_SECTIONS.contains(&s.as_str()));
            let in_strategy = user.first().is_some_and(|s| s == "balancer");
            if !free && !in_strategy && schema::TEXT_KEYS.contains(&last.as_str()) {
                return Err(err(format!("\"{last}\" is not a numeric key")));
            }
        }
        if let Some(existing) = node_at(self.doc.as_item(), &path) {
            let value = match existing {
                Node::Item(item) => item.as_value(),
                Node::Value(v) => Some(v),
                Node::Table(_) => None,
            };
            let numeric = match value {
                Some(Value::Integer(_) | Value::Float(_)) => true,
                Some(Value::String(s)) => {
                    let s = s.value();
                    s == "auto" || crate::units::parse_duration(s).is_ok()
                }
                _ => false,
            };
            if !numeric {
                return Err(err(format!("expected a numeric key, but it holds {}", existing.found())));
            }
        }
        let new =
            if value.fract() == 0.0 && value.abs() < 9.0e15 { Value::from(value as i64) } else { Value::from(value) };
        assign(self.doc.as_item_mut(), &path, new).map_err(err)?;
        self.overrides.push(Override { path, source: "sweep" });
        Ok(())
    }

    /// Sets the arrival rate in requests per second (`lbsim plan --rate`). The file may give
    /// either `load` or `rate`, so a `load` it gives is removed first.
    pub fn set_rate(&mut self, rate: f64) -> Result<(), ConfigError> {
        if let Some(arrivals) = self.doc.get_mut("arrivals").and_then(|item| item.as_table_like_mut()) {
            arrivals.remove("load");
        }
        self.set_number("arrivals.rate", rate)
    }

    /// Leaves the backend group `name` out of the cluster (`lbsim plan` comparing alternative
    /// designs). Refused when it is the only group or does not exist.
    pub fn remove_backend_group(&mut self, name: &str) -> Result<(), ConfigError> {
        let file = self.display_name();
        let err = |message: String| ConfigError::new(file.clone(), message);
        let Some(groups) = self.doc.get_mut("backends").and_then(Item::as_array_of_tables_mut) else {
            return Err(err("expected [[backends]] tables".to_string()));
        };
        let named = |t: &toml_edit::Table| t.get("name").and_then(Item::as_str) == Some(name);
        let Some(index) = groups.iter().position(named) else {
            return Err(err(format!("no backend group named \"{name}\"")));
        };
        if groups.len() == 1 {
            return Err(err(format!("\"{name}\" is the only backend group: it cannot be left out")));
        }
        groups.remove(index);
        Ok(())
    }

    /// The current document (overrides applied).
    pub(crate) fn doc(&self) -> &DocumentMut {
        &self.doc
    }

    /// An error template (empty message) for the value (or, with `at_key`, the key) at
    /// `path`: the override that set it, or its line and column in the file.
    pub(crate) fn locate(&self, path: &[Seg], at_key: bool) -> ConfigError {
        let key = if path.is_empty() { None } else { Some(self.display_path(path)) };
        if let Some(o) = self.overrides.iter().rev().find(|o| path.starts_with(&o.path)) {
            return ConfigError { file: o.source.to_string(), line: None, column: None, key, message: String::new() };
        }
        let mut err = ConfigError { file: self.display_name(), line: None, column: None, key, message: String::new() };
        if let Some(offset) = self.offset_of(path, at_key) {
            let (line, column) = line_column(self.original.raw(), offset);
            err.line = Some(line);
            err.column = Some(column);
        }
        err
    }

    fn offset_of(&self, path: &[Seg], at_key: bool) -> Option<usize> {
        let mut node = Node::Item(self.original.as_item());
        let mut best: Option<usize> = None;
        for (i, seg) in path.iter().enumerate() {
            let Some((key_span, next)) = node.child(seg) else {
                break;
            };
            node = next;
            let last = i + 1 == path.len();
            let value_span = nonempty(node.span());
            let key_span = nonempty(key_span);
            best = if last && at_key {
                key_span.or(value_span).map(|r| r.start).or(best)
            } else {
                value_span.or(key_span).map(|r| r.start).or(best)
            };
        }
        best
    }

    /// `backends.web.count`, `balancer.strategies[1]`.
    pub(crate) fn display_path(&self, path: &[Seg]) -> String {
        let mut out = String::new();
        let mut node = Some(Node::Item(self.doc.as_item()));
        let mut previous_key: Option<&str> = None;
        for seg in path {
            match seg {
                Seg::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                    previous_key = Some(k);
                }
                Seg::Index(i) => {
                    let name =
                        node.filter(|_| previous_key == Some("backends")).and_then(|n| n.element_name(*i)).filter(
                            |n| !n.is_empty() && !n.contains(['.', '[', ']', ' ', '=']) && n.parse::<usize>().is_err(),
                        );
                    match name {
                        Some(name) => {
                            out.push('.');
                            out.push_str(&name);
                        }
                        None => out.push_str(&format!("[{i}]")),
                    }
                    previous_key = None;
                }
            }
            node = node.and_then(|n| n.child(seg)).map(|(_, n)| n);
        }
        out
    }

    /// Turns user segments into a concrete path (backend names → indexes).
    fn concretize(&self, user: &[String]) -> Result<Vec<Seg>, String> {
        let mut path = Vec::new();
        let mut node = Some(Node::Item(self.doc.as_item()));
        for (i, seg) in user.iter().enumerate() {
            let next = match node.and_then(|n| n.array_len()) {
                Some(len) => {
                    let n = node.expect("an array has a node");
                    let index = if let Ok(index) = seg.parse::<usize>() {
                        if index >= len {
                            let entries = match len {
                                0 => "no entries".to_string(),
                                1 => "1 entry (0)".to_string(),
                                _ => format!("{len} entries (0 to {})", len - 1),
                            };
                            return Err(
                                format!("{} has {entries}, so there is no entry {index}", user[..i].join("."),),
                            );
                        }
                        index
                    } else {
                        let names: Vec<String> = (0..len).filter_map(|j| n.element_name(j)).collect();
                        match (0..len).find(|&j| n.element_name(j).as_deref() == Some(seg.as_str())) {
                            Some(j) => j,
                            None => {
                                let hint = match nearest(seg, names.iter().map(String::as_str)) {
                                    Some(s) => format!("; did you mean \"{s}\"?"),
                                    None if names.is_empty() => String::new(),
                                    None => format!(" (names: {})", names.join(", ")),
                                };
                                return Err(format!("no entry named \"{seg}\" in {}{hint}", user[..i].join(".")));
                            }
                        }
                    };
                    Seg::Index(index)
                }
                None => Seg::Key(seg.clone()),
            };
            node = node.and_then(|n| n.child(&next)).map(|(_, n)| n);
            path.push(next);
        }
        Ok(path)
    }

    /// Like `concretize`, but stops at the first segment that does not resolve; returns
    /// whether the whole path resolved.
    fn concretize_lenient(&self, user: &[String]) -> (Vec<Seg>, bool) {
        for n in (0..=user.len()).rev() {
            if let Ok(path) = self.concretize(&user[..n]) {
                if node_at(self.doc.as_item(), &path).is_some() {
                    return (path, n == user.len());
                }
            }
        }
        (Vec::new(), user.is_empty())
    }
}

/// What the TOML parser's bare "duplicate key" at `line` means, in the file's terms: a table
/// header written twice (`[run]` … `[run]`) or a key set twice in one table.
fn duplicate_message(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = lines.get(line.checked_sub(1)?)?.trim();
    let header = |l: &str| -> Option<String> {
        let l = l.split('#').next()?.trim();
        (l.starts_with('[') && !l.starts_with("[[") && l.ends_with(']')).then(|| l[1..l.len() - 1].trim().to_string())
    };
    if let Some(name) = header(here) {
        let first = lines[..line - 1].iter().position(|l| header(l).as_deref() == Some(name.as_str()))?;
        return Some(format!(
            "[{name}] appears twice (first at line {}); put all of its keys under one [{name}]",
            first + 1
        ));
    }
    let key = here.split('=').next()?.trim().trim_matches('"');
    if key.is_empty() {
        return None;
    }
    Some(format!("\"{key}\" is set twice in the same table; keep one of the two"))
}

/// Toml parser messages end with a newline and sometimes start with a capital.
fn tidy_toml_message(message: &str) -> String {
    format!("invalid TOML: {}", message.trim())
}

fn nonempty(span: Option<Range<usize>>) -> Option<Range<usize>> {
    span.filter(|r| r.end > r.start)
}

/// Splits `a.b[2].c` / `a.b.2.c` into segments.
pub(crate) fn split_path(key_path: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for part in key_path.split('.') {
        let part = part.trim();
        let (head, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if head.is_empty() && rest.is_empty() {
            return Err(format!("\"{key_path}\" is not a dotted key path (empty part)"));
        }
        if !head.is_empty() {
            out.push(head.to_string());
        }
        while !rest.is_empty() {
            let Some(close) = rest.find(']') else {
                return Err(format!("\"{key_path}\" has an unclosed '['"));
            };
            let inside = rest[1..close].trim();
            if inside.parse::<usize>().is_err() {
                return Err(format!("expected an index in [...] in \"{key_path}\", found \"{inside}\""));
            }
            out.push(inside.to_string());
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return Err(format!("\"{key_path}\" is not a dotted key path"));
            }
        }
    }
    Ok(out)
}

/// Checks a user path against the file format.
fn check_schema(user: &[String]) -> Result<(), String> {
    let Some(section) = user.first() else {
        return Err("empty key".into());
    };
    if !schema::SECTIONS.contains(&section.as_str()) {
        return Err(unknown(section, "section", schema::SECTIONS));
    }
    if schema::FREE_SECTIONS.contains(&section.as_str()) {
        return Ok(());
    }
    let keys = schema::section_keys(section).unwrap_or_default();
    match section.as_str() {
        "backends" => {
            if user.len() != 3 {
                return Err("expected backends.NAME.KEY (or backends.INDEX.KEY), e.g. backends.web.count".into());
            }
            if !keys.contains(&user[2].as_str()) {
                return Err(unknown(&user[2], "key in [[backends]]", &keys));
            }
            Ok(())
        }
        "balancer" => {
            if user.len() < 2 {
                return Err("expected a key inside [balancer], e.g. balancer.strategies".into());
            }
            if !keys.contains(&user[1].as_str()) {
                return Err(unknown(&user[1], "key in [balancer]", &keys));
            }
            if user[1] == "info" {
                if user.len() != 3 || !schema::INFO_KEYS.contains(&user[2].as_str()) {
                    return Err("expected balancer.info.period or balancer.info.delay".into());
                }
                return Ok(());
            }
            if user[1] != "strategies" {
                if user.len() != 2 {
                    return Err(format!("balancer.{} has no sub-keys", user[1]));
                }
                return Ok(());
            }
            if user.len() > 4 {
                return Err("expected balancer.strategies, balancer.strategies.N or balancer.strategies.N.PARAM".into());
            }
            Ok(())
        }
        _ => {
            if user.len() < 2 {
                return Err(format!(
                    "expected a key inside [{section}], e.g. {section}.{}",
                    keys.first().unwrap_or(&"key")
                ));
            }
            if !keys.contains(&user[1].as_str()) {
                return Err(unknown(&user[1], &format!("key in [{section}]"), &keys));
            }
            if section == "clients" && user[1] == "think" && user.len() > 2 {
                let keys = schema::all_service_keys();
                if user.len() != 3 || !keys.contains(&user[2].as_str()) {
                    return Err(unknown(&user[2], "key in [clients] think", &keys));
                }
                return Ok(());
            }
            if user.len() > 2 && !(section == "service" && user[1] == "components") {
                return Err(format!("{section}.{} is not a table", user[1]));
            }
            Ok(())
        }
    }
}

/// `unknown key "lod" in [arrivals]; did you mean "load"?` (`what` is "key in [arrivals]").
fn unknown(word: &str, what: &str, candidates: &[&str]) -> String {
    let (noun, place) = what.split_once(' ').map_or((what, String::new()), |(n, p)| (n, format!(" {p}")));
    match nearest(word, candidates.iter().copied()) {
        Some(s) => format!("unknown {noun} \"{word}\"{place}; did you mean \"{s}\"?"),
        None => format!("unknown {noun} \"{word}\"{place} (expected one of: {})", candidates.join(", ")),
    }
}

/// A short description of what a TOML item holds, for "found …" messages.
pub(crate) fn found(item: &Item) -> String {
    match item {
        Item::None => "nothing".into(),
        Item::Value(v) => found_value(v),
        Item::Table(_) => "a table".into(),
        Item::ArrayOfTables(_) => "an array of tables".into(),
    }
}

pub(crate) fn found_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("\"{}\"", s.value()),
        Value::Integer(i) => i.value().to_string(),
        Value::Float(f) => number_text(*f.value()),
        Value::Boolean(b) => b.value().to_string(),
        Value::Datetime(d) => format!("the date {}", d.value()),
        Value::Array(_) => "an array".into(),
        Value::InlineTable(_) => "a table".into(),
    }
}

/// A number as a message shows it: `0.5`, `1e300` (not three hundred digits), `1e-300`.
pub(crate) fn number_text(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-5..1e16).contains(&x.abs()) { format!("{x:e}") } else { x.to_string() }
}

/// A node of the parsed document, for walking paths.
#[derive(Clone, Copy)]
pub(crate) enum Node<'a> {
    Item(&'a Item),
    Value(&'a Value),
    Table(&'a toml_edit::Table),
}

impl<'a> Node<'a> {
    fn span(&self) -> Option<Range<usize>> {
        match self {
            Node::Item(i) => i.span(),
            Node::Value(v) => v.span(),
            Node::Table(t) => t.span(),
        }
    }

    fn array_len(&self) -> Option<usize> {
        match *self {
            Node::Item(Item::ArrayOfTables(a)) => Some(a.len()),
            Node::Item(Item::Value(Value::Array(a))) | Node::Value(Value::Array(a)) => Some(a.len()),
            _ => None,
        }
    }

    /// The string `name` key of array element `index`, if it has one.
    fn element_name(&self, index: usize) -> Option<String> {
        let (_, element) = self.child(&Seg::Index(index))?;
        element.table_like()?.get("name").and_then(Item::as_str).map(str::to_string)
    }

    /// What the node holds, for "found …" messages.
    pub(crate) fn found(&self) -> String {
        match self {
            Node::Item(i) => found(i),
            Node::Value(v) => found_value(v),
            Node::Table(_) => "a table".into(),
        }
    }

    fn table_like(&self) -> Option<&'a dyn TableLike> {
        match *self {
            Node::Item(i) => i.as_table_like(),
            Node::Value(v) => v.as_inline_table().map(|t| t as &dyn TableLike),
            Node::Table(t) => Some(t as &dyn TableLike),
        }
    }

    fn child(&self, seg: &Seg) -> Option<(Option<Range<usize>>, Node<'a>)> {
        match seg {
            Seg::Key(k) => {
                let (key, item) = self.table_like()?.get_key_value(k)?;
                if item.is_none() {
                    return None;
                }
                Some((key.span(), Node::Item(item)))
            }
            Seg::Index(i) => match *self {
                Node::Item(Item::ArrayOfTables(a)) => a.get(*i).map(|t| (None, Node::Table(t))),
                Node::Item(Item::Value(Value::Array(a))) | Node::Value(Value::Array(a)) => {
                    a.get(*i).map(|v| (None, Node::Value(v)))
                }
                _ => None,
            },
        }
    }
}

/// The node at a concrete path of a document.
pub(crate) fn node_at<'a>(root: &'a Item, path: &[Seg]) -> Option<Node<'a>> {
    let mut node = Node::Item(root);
    for seg in path {
        node = node.child(seg)?.1;
    }
    Some(node)
}

/// Assigns `value` at `path`, creating missing tables on the way.
fn assign(root: &mut Item, path: &[Seg], value: Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("empty key".into());
    };
    let mut node = NodeMut::Item(root);
    for (i, seg) in parents.iter().enumerate() {
        let here = || path_text(&path[..=i]);
        node = match (node, seg) {
            (NodeMut::Item(item), Seg::Key(k)) => {
                let Some(table) = item.as_table_like_mut() else {
                    return Err(format!("cannot set a key inside {}: it is not a table", path_text(&path[..i])));
                };
                if table.get(k).is_none_or(Item::is_none) {
                    let mut t = toml_edit::Table::new();
                    t.set_implicit(false);
                    table.insert(k, Item::Table(t));
                }
                NodeMut::Item(table.get_mut(k).expect("just inserted"))
            }
            (NodeMut::Table(table), Seg::Key(k)) => {
                if table.get(k).is_none_or(Item::is_none) {
                    table.insert(k, Item::Table(toml_edit::Table::new()));
                }
                NodeMut::Item(table.get_mut(k).expect("just inserted"))
            }
            (NodeMut::Value(Value::InlineTable(t)), Seg::Key(k)) => match t.get_mut(k) {
                Some(v) => NodeMut::Value(v),
                None => return Err(format!("{} does not exist", here())),
            },
            (NodeMut::Item(Item::ArrayOfTables(a)), Seg::Index(j)) => match a.get_mut(*j) {
                Some(t) => NodeMut::Table(t),
                None => return Err(format!("{} does not exist", here())),
            },
            (NodeMut::Item(Item::Value(Value::Array(a))) | NodeMut::Value(Value::Array(a)), Seg::Index(j)) => {
                match a.get_mut(*j) {
                    Some(v) => NodeMut::Value(v),
                    None => return Err(format!("{} does not exist", here())),
                }
            }
            _ => {
                return Err(format!("cannot set a key inside {}: it is not a table", path_text(&path[..i])));
            }
        };
    }
    match (node, last) {
        (NodeMut::Item(item), Seg::Key(k)) => match item.as_table_like_mut() {
            Some(table) => {
                table.insert(k, Item::Value(value));
                Ok(())
            }
            None => Err(format!("cannot set a key inside {}: it is not a table", path_text(parents))),
        },
        (NodeMut::Table(table), Seg::Key(k)) => {
            table.insert(k, Item::Value(value));
            Ok(())
        }
        (NodeMut::Value(Value::InlineTable(t)), Seg::Key(k)) => {
            t.insert(k, value);
            Ok(())
        }
        (NodeMut::Item(Item::Value(Value::Array(a))) | NodeMut::Value(Value::Array(a)), Seg::Index(j)) => {
            if *j < a.len() {
                a.replace(*j, value);
                Ok(())
            } else {
                Err(format!("{} does not exist", path_text(path)))
            }
        }
        _ => Err(format!("cannot set {}: its parent is not a table or list", path_text(path))),
    }
}

enum NodeMut<'a> {
    Item(&'a mut Item),
    Value(&'a mut Value),
    Table(&'a mut toml_edit::Table),
}

fn path_text(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() { "the document".into() } else { out }
}
