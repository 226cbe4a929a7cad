//! `lbsim merge DIR...`: shard folders → one results folder, as if swept on one machine.

use std::path::PathBuf;

use anyhow::{Result, bail};

pub fn merge(dirs: &[PathBuf], out: Option<PathBuf>, force: bool, quiet: bool) -> Result<()> {
    let merged = lbsim::sweep::merge::merge(dirs, out.as_deref(), force, std::env::args().collect())?;
    if !merged.missing.is_empty() {
        const SHOWN: usize = 20;
        let mut list: Vec<String> = merged.missing.iter().take(SHOWN).map(|m| format!("  {m}")).collect();
        if merged.missing.len() > SHOWN {
            list.push(format!("  … and {} more", merged.missing.len() - SHOWN));
        }
        bail!(
            "{} of {} runs are missing (did a shard fail?):\n{}\nThe finished points are in {}. Rerun the failed shards and merge again, \
             or finish here with: lbsim sweep FILE --out {} --resume",
            merged.missing.len(),
            merged.runs,
            list.join("\n"),
            merged.out.display(),
            merged.out.display()
        );
    }
    if !quiet {
        eprintln!(
            "merged {} folders: {} points × {} strategies; results in {}",
            dirs.len(),
            merged.results.points.len(),
            merged.results.strategies.len(),
            merged.out.display()
        );
    }
    lbsim::report::write_all(&merged.results, &merged.out)?;
    Ok(())
}
