//! `--shard K/N`: a deterministic, balanced 1/N of a sweep's runs, so N machines (a Slurm job
//! array, a Kubernetes Indexed Job) can share a sweep with no coordination, and
//! `lbsim merge` can put the pieces back together.
//!
//! Without `run.precision`, run number i of the base plan (ordered point, strategy,
//! replication) belongs to shard (i mod N) + 1: neighbouring runs (same point, similar cost)
//! go to different shards, which balances the expensive high-load points. With
//! `run.precision` the unit is the point instead (point i → shard (i mod N) + 1): whether a
//! point needs more replications depends on all its replications, so one shard must own
//! them all; the split is then only as balanced as the points are alike.
//!
//! `--shard auto` reads the position from the environment:
//! - Slurm job arrays: `SLURM_ARRAY_TASK_ID`, `SLURM_ARRAY_TASK_COUNT` and
//!   `SLURM_ARRAY_TASK_MIN` (the array may start at 0 or 1, or anywhere: K = ID − MIN + 1);
//! - Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX` (0-based) with the shard count in
//!   `LBSIM_SHARDS` (Kubernetes does not export the completion count; set it to the Job's
//!   `completions`).

use std::fmt;

/// Shard K of N (1-based K).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Parses `K/N` (1 ≤ K ≤ N), or `auto` from the environment (see the module docs).
    pub fn parse(text: &str) -> Result<Shard, String> {
        if text.trim() == "auto" {
            return Self::from_env(|name| std::env::var(name).ok());
        }
        let bad = || format!("--shard expects K/N with 1 ≤ K ≤ N (e.g. 2/8), or auto; found \"{text}\"");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let k: u32 = k.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        if n == 0 || k == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { index: k, count: n })
    }

    /// `--shard auto` with `var` reading the environment (a parameter, for tests).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let number = |name: &str| -> Result<Option<u32>, String> {
            match var(name) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse::<u32>()
                    .map(Some)
                    .map_err(|_| format!("--shard auto: {name} should be a whole number, found \"{v}\"")),
            }
        };
        if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
            let count = number("SLURM_ARRAY_TASK_COUNT")?.ok_or(
                "--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not (submit with sbatch --array)",
            )?;
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let step = number("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1);
            if step != 1 {
                return Err(format!(
                    "--shard auto: the job array has step {step}; use a contiguous array (--array=1-N) so each task is one shard"
                ));
            }
            let index = id.checked_sub(min).map(|i| i + 1).filter(|&k| k >= 1 && k <= count).ok_or_else(|| {
                format!("--shard auto: SLURM_ARRAY_TASK_ID {id} is outside the array (min {min}, {count} tasks)")
            })?;
            return Ok(Shard { index, count });
        }
        if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            let count = number("LBSIM_SHARDS")?.ok_or(
                "--shard auto: JOB_COMPLETION_INDEX is set but LBSIM_SHARDS is not; set LBSIM_SHARDS to the Job's completions",
            )?;
            if index >= count {
                return Err(format!("--shard auto: JOB_COMPLETION_INDEX {index} is not below LBSIM_SHARDS {count}"));
            }
            return Ok(Shard { index: index + 1, count });
        }
        Err("--shard auto needs SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (a Slurm job array) or \
             JOB_COMPLETION_INDEX and LBSIM_SHARDS (a Kubernetes Indexed Job); none is set"
            .into())
    }

    /// Whether item number `i` (a base run, or a point in precision mode) is this shard's.
    pub fn owns(&self, i: usize) -> bool {
        i % self.count as usize == (self.index - 1) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn k_of_n_parses_and_bad_forms_are_refused() {
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "1/0", "3", "a/b", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slurm_arrays_starting_anywhere_map_to_one_based_shards() {
        let s = Shard::from_env(env(&[
            ("SLURM_ARRAY_TASK_ID", "0"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
        ]));
        assert_eq!(s, Ok(Shard { index: 1, count: 4 }));
        let s = Shard::from_env(env(&[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ]));
        assert_eq!(s, Ok(Shard { index: 4, count: 4 }));
        assert!(Shard::from_env(env(&[("SLURM_ARRAY_TASK_ID", "3")])).is_err());
    }

    #[test]
    fn kubernetes_indexed_jobs_need_the_shard_count() {
        let s = Shard::from_env(env(&[("JOB_COMPLETION_INDEX", "0"), ("LBSIM_SHARDS", "3")]));
        assert_eq!(s, Ok(Shard { index: 1, count: 3 }));
        assert!(Shard::from_env(env(&[("JOB_COMPLETION_INDEX", "0")])).unwrap_err().contains("LBSIM_SHARDS"));
        assert!(Shard::from_env(env(&[])).is_err());
    }

    #[test]
    fn every_item_belongs_to_exactly_one_shard() {
        for i in 0..20 {
            let owners = (1..=3).filter(|&k| Shard { index: k, count: 3 }.owns(i)).count();
            assert_eq!(owners, 1);
        }
    }
}
