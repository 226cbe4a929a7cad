//! The journal: an append-only JSON-lines file (`journal.jsonl`) in the output folder, one
//! line per finished run, flushed and synced to disk as each run finishes.
//!
//! It is what makes a sweep survive Ctrl-C, SIGTERM or a power cut (`--resume` reloads it and
//! runs only what is missing) and what shards hand to `lbsim merge`. The first line is a
//! header naming the experiment (its full configuration text and seed), so that a journal is
//! never resumed or merged into a different experiment. A kill can leave the last line
//! half-written: it is ignored (and cut off before appending again).

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::runner::Replication;

/// The journal's file name in an output folder.
pub const FILE: &str = "journal.jsonl";

/// Format version of the journal lines.
const VERSION: u32 = 1;

/// First line: which experiment the runs belong to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub lbsim_journal: u32,
    pub lbsim_version: String,
    pub experiment: String,
    /// The experiment file's path as given (anchors its relative paths when merging).
    #[serde(default)]
    pub file: String,
    pub seed: u64,
    /// The experiment file with overrides applied (merge re-reads the sweep from it).
    pub config: String,
    /// What determines the results, as a fingerprint (see [`identity`]); journals written
    /// before it existed have none and are compared by `config`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub identity: String,
    /// `K/N` for a shard's journal.
    pub shard: Option<String>,
}

impl Header {
    pub fn new(experiment: &str, file: &str, seed: u64, config: &str, identity: &str, shard: Option<String>) -> Self {
        Header {
            lbsim_journal: VERSION,
            lbsim_version: env!("CARGO_PKG_VERSION").to_string(),
            experiment: experiment.to_string(),
            file: file.to_string(),
            seed,
            config: config.to_string(),
            identity: identity.to_string(),
            shard,
        }
    }

    /// Whether runs journaled under `self` and `other` belong to the same sweep: the same
    /// seed and the same [`identity`] (or, for journals older than identities, the same
    /// configuration text).
    pub fn same_experiment(&self, other: &Header) -> bool {
        if self.identity.is_empty() || other.identity.is_empty() {
            return self.seed == other.seed && self.config == other.config;
        }
        self.seed == other.seed && self.identity == other.identity
    }
}

impl Header {
    /// What differs between the experiments of two headers, in words.
    pub fn difference(&self, other: &Header) -> String {
        if self.seed != other.seed {
            format!("its seed is {}, this experiment's {}", self.seed, other.seed)
        } else if self.identity.is_empty() || other.identity.is_empty() {
            "its configuration differs (a journal of an older lbsim, compared as text)".into()
        } else {
            "the model, run plan, strategies or a file it reads (a trace, samples) differ".into()
        }
    }
}

/// The fingerprint of everything that determines a sweep's results: every grid point's
/// resolved experiment (model, run plan, seed, strategies with their parameters and labels),
/// with what only names or describes it (the experiment's name and description) left out.
///
/// Resolved, not as written: comments, formatting, key order and `"10ms"` versus `0.01`
/// change nothing, while the content of every file the experiment reads (a trace's rows, an
/// empirical distribution's samples) is part of the model and so of the fingerprint. A
/// `--resume` or `merge` is refused exactly when the runs would not be the runs of this
/// sweep. (`[report]` is not part of an experiment: changing the SLO resumes.)
pub fn identity(points: &[crate::experiment::Experiment]) -> String {
    use std::fmt::Write as _;
    use std::hash::Hasher as _;

    /// Feeds formatted text straight into the hash (a long trace is never one big string).
    struct Hashing(fnv::FnvHasher);
    impl std::fmt::Write for Hashing {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.write(s.as_bytes());
            Ok(())
        }
    }
    let mut hashing = Hashing(fnv::FnvHasher::default());
    for point in points {
        // The derived Debug of the model prints every field, floats in round-trip form.
        let _ = write!(
            hashing,
            "{:?}|{:?}|{:?}|{:?}|{:?};",
            point.seed, point.plan, point.intensity, point.model, point.strategies
        );
    }
    format!("{:016x}-{}", hashing.0.finish(), points.len())
}

/// One finished run. The strategy is named by its label (stable when strategies are added
/// to the file, unlike an index).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub point: u64,
    pub strategy: String,
    pub replication: u32,
    pub result: Replication,
}

/// An open journal, appending; shared by the worker threads.
#[derive(Debug)]
pub struct Journal {
    /// Lines are written whole under this lock, so they never interleave…
    file: Mutex<File>,
    /// … and synced through this second handle outside it, so that one thread's wait for the
    /// disk does not hold up the others' runs.
    sync: File,
    path: PathBuf,
}

/// What a journal file holds.
#[derive(Debug)]
pub struct Contents {
    pub header: Header,
    pub entries: Vec<Entry>,
    /// Bytes of complete lines (a torn last line starts here).
    pub valid_len: u64,
    /// Whether a torn last line was found (and ignored).
    pub torn: bool,
}

impl Journal {
    /// Starts a new journal in `dir` (replacing any).
    pub fn create(dir: &Path, header: &Header) -> Result<Journal> {
        let path = dir.join(FILE);
        let file = File::create(&path).with_context(|| format!("cannot create the journal {}", path.display()))?;
        let journal = Journal::new(file, path)?;
        journal.write_line(&serde_json::to_string(header)?)?;
        Ok(journal)
    }

    /// Reopens the journal in `dir` for appending after `contents` were read from it; a torn
    /// last line is cut off first so the next line starts clean.
    pub fn reopen(dir: &Path, contents: &Contents) -> Result<Journal> {
        let path = dir.join(FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open the journal {}", path.display()))?;
        file.set_len(contents.valid_len).with_context(|| format!("cannot repair the journal {}", path.display()))?;
        let mut file = file;
        file.seek(SeekFrom::End(0))?;
        Journal::new(file, path)
    }

    fn new(file: File, path: PathBuf) -> Result<Journal> {
        let sync = file.try_clone().with_context(|| format!("cannot open the journal {}", path.display()))?;
        Ok(Journal { file: Mutex::new(file), sync, path })
    }

    /// Appends one finished run, durably: the line is on disk when this returns.
    pub fn append(&self, entry: &Entry) -> Result<()> {
        self.write_line(&serde_json::to_string(entry)?)
    }

    fn write_line(&self, line: &str) -> Result<()> {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        // One write call per line: a kill leaves at most one line without its newline.
        let written = self.file.lock().unwrap_or_else(|e| e.into_inner()).write_all(&bytes);
        written
            .and_then(|()| self.sync.sync_data())
            .with_context(|| format!("cannot write to the journal {}", self.path.display()))
    }
}

/// Whether `dir` has a journal.
pub fn exists(dir: &Path) -> bool {
    dir.join(FILE).is_file()
}

/// Reads only the header of the journal in `dir` (the experiment as run).
pub fn read_header(dir: &Path) -> Result<Header> {
    use std::io::BufRead;
    let path = dir.join(FILE);
    let file = std::fs::File::open(&path).with_context(|| format!("cannot read the journal {}", path.display()))?;
    let mut line = String::new();
    std::io::BufReader::new(file)
        .read_line(&mut line)
        .with_context(|| format!("cannot read the journal {}", path.display()))?;
    serde_json::from_str(&line).with_context(|| format!("{}: the first line is not a journal header", path.display()))
}

/// Reads the journal in `dir`. A last line without its newline, or that does not parse, is a
/// run that was being written when the process died: ignored. Any other bad line is an
/// error (the file was edited or damaged otherwise).
pub fn read(dir: &Path) -> Result<Contents> {
    let path = dir.join(FILE);
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read the journal {}", path.display()))?;
    let mut header: Option<Header> = None;
    let mut entries = Vec::new();
    let mut offset = 0usize;
    let mut torn = false;
    let mut line_no = 0;
    while offset < bytes.len() {
        line_no += 1;
        let (line, complete) = match bytes[offset..].iter().position(|&b| b == b'\n') {
            Some(end) => (&bytes[offset..offset + end], true),
            None => (&bytes[offset..], false),
        };
        if !complete {
            // Lines are written with their newline in one call: without it, the process
            // died mid-write. The run will simply be done again.
            torn = true;
            break;
        }
        let next = offset + line.len() + 1;
        let parsed: Result<(), String> = if header.is_none() {
            serde_json::from_slice::<Header>(line).map(|h| header = Some(h)).map_err(|e| e.to_string())
        } else {
            serde_json::from_slice::<Entry>(line).map(|e| entries.push(e)).map_err(|e| e.to_string())
        };
        match parsed {
            Ok(()) => offset = next,
            // A garbled last line (a crash after a partial flush): same as a torn one.
            Err(_) if next >= bytes.len() && header.is_some() => {
                torn = true;
                break;
            }
            Err(e) => bail!("{}: line {line_no} is not a journal line ({e}); the file was damaged", path.display()),
        }
    }
    let Some(header) = header else {
        bail!(
            "{}: the journal has no header line (it was cut off at creation); start again with --force",
            path.display()
        )
    };
    Ok(Contents { header, entries, valid_len: offset as u64, torn })
}
