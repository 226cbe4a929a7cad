//! `lbsim merge DIR...`: shard folders → the outputs a single-machine sweep would have
//! written, byte for byte (same runs, same pure functions).
//!
//! The shards' journals must come from the same experiment (same configuration text and
//! seed). The merged folder gets a journal with every run, so that missing runs (a shard that
//! failed) can be finished on one machine with `lbsim sweep FILE --out MERGED --resume`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::journal::{self, Entry, Header, Journal};
use super::plan::{RunKey, Store};
use super::{Sweep, lock, output, results_in};
use crate::config::ExperimentFile;
use crate::results::SweepResults;

/// What a merge produced.
#[derive(Debug)]
pub struct Merged {
    pub results: SweepResults,
    pub out: PathBuf,
    /// Runs no shard had, described for people (empty when complete).
    pub missing: Vec<String>,
    /// Total runs the sweep needs (so far: precision rounds may add more).
    pub runs: usize,
    /// The output folder's lock, held until the caller has written the reports too.
    pub lock: lock::FolderLock,
}

/// Merges the journals of `dirs` into `out` (default `output/<experiment name>`).
pub fn merge(dirs: &[PathBuf], out: Option<&Path>, force: bool, command: Vec<String>) -> Result<Merged> {
    if dirs.is_empty() {
        bail!("nothing to merge: give the shard folders (e.g. lbsim merge out/shard-*)");
    }
    let mut first: Option<(PathBuf, Header)> = None;
    let mut entries: Vec<Entry> = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        // A folder given twice would count its runs twice over, and the check on them would
        // report it as runs missing (or duplicated), not as the slip it is.
        if let Some(j) = dirs[..i].iter().position(|earlier| output::same_path(earlier, dir)) {
            let what = if dirs[j].as_os_str() == dir.as_os_str() {
                format!("{} is given twice", dir.display())
            } else {
                format!("{} and {} are the same folder", dirs[j].display(), dir.display())
            };
            bail!(
                "{what} (folders {} and {} of the {} given): give each shard's folder once",
                j + 1,
                i + 1,
                dirs.len()
            );
        }
        if !journal::exists(dir) {
            bail!("{}: no {} there (is it a shard's output folder?)", dir.display(), journal::FILE);
        }
        let contents = journal::read(dir)?;
        match &first {
            None => first = Some((dir.clone(), contents.header.clone())),
            Some((dir0, h0)) => {
                if !h0.same_experiment(&contents.header) {
                    bail!(
                        "{} and {} are from different experiments ({}); merge only the shards of one sweep",
                        dir0.display(),
                        dir.display(),
                        h0.difference(&contents.header)
                    );
                }
            }
        }
        entries.extend(contents.entries);
    }
    let Some((_, header)) = first else { unreachable!("dirs is not empty") };
    let file = ExperimentFile::parse(Path::new(&header.file), &header.config)?;
    let sweep = Sweep::prepare(&file)?;
    let out = out.map_or_else(|| Path::new("output").join(&sweep.base.name), Path::to_path_buf);
    for dir in dirs {
        if output::same_path(dir, &out) {
            bail!("--out {} is one of the shard folders; merge into another folder", out.display());
        }
    }
    let folder_lock = lock::acquire(&out, &command)?;
    let present = results_in(&out);
    if !present.is_empty() && !force {
        bail!("{} already holds sweep results ({}); use --force to overwrite them", out.display(), present.join(", "));
    }
    let mut store = Store::new();
    sweep.load_entries(entries, &mut store, Path::new("the shards' journals"))?;
    write_journal(&sweep, &store, &out)?;
    let missing_runs = sweep.needed(&store, None);
    let missing = missing_runs.iter().map(|k| describe(&sweep, k)).collect();
    let results = output::build(&sweep, &store, command);
    output::write(&results, &out)?;
    let runs = store.len() + missing_runs.len();
    Ok(Merged { results, out, missing, runs, lock: folder_lock })
}

/// A merged journal (every run, in key order), written to a temporary file then renamed.
fn write_journal(sweep: &Sweep, store: &Store, out: &Path) -> Result<()> {
    let tmp = out.join(format!(".merge-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let result = (|| -> Result<()> {
        let journal = Journal::create(&tmp, &sweep.header(None))?;
        for (key, result) in store {
            let strategy = sweep.label(key.point, key.strategy).to_string();
            journal.append(&Entry {
                point: key.point as u64,
                strategy,
                replication: key.replication,
                result: result.clone(),
            })?;
        }
        std::fs::rename(tmp.join(journal::FILE), out.join(journal::FILE))
            .with_context(|| format!("cannot write {}", out.join(journal::FILE).display()))
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

/// `point 3 (arrivals.load = 0.9), jiq, replication 0`.
fn describe(sweep: &Sweep, key: &RunKey) -> String {
    let values = sweep.grid.values(key.point);
    let at: Vec<String> = sweep.grid.axes.iter().zip(&values).map(|(a, v)| format!("{} = {v}", a.path)).collect();
    let at = if at.is_empty() { String::new() } else { format!(" ({})", at.join(", ")) };
    format!("point {}{at}, {}, replication {}", key.point, sweep.label(key.point, key.strategy), key.replication)
}
