//! The index of work left that lets `least_work_left` over sync backends of one worker
//! count above one (at one speed or several) find "the backend with the
//! least work left, ties to the first after the previous choice" without asking every
//! backend.
//!
//! Over one-worker backends of one speed the least work left is the earliest start, a key
//! that time passing does not reorder ([`StartIndex`](super::start_index::StartIndex)).
//! With several workers it is not: the time left, Σ (finishᵢ − t)⁺ over the workers, falls
//! at a rate of one per busy worker, so a backend of four busy workers overtakes one of a
//! single busy worker holding less. What time cannot change is a lower bound. Seen at t₀
//! with m workers busy finishing at sum S, a backend holds at least S − m·t at any later t
//! (each busy worker's (finish − t)⁺ ≥ finish − t, and the idle ones hold nothing), exactly
//! so until the first of them finishes. (The scan compares work left — that time left
//! times the backend's speed s — over its capacity c. Where every backend's c is the same
//! multiple K of its s, as for sync backends of one worker count without I/O, that is the
//! time left over K: one order whatever the speeds.) Backends are grouped by m, each group
//! a [`MinTree`] of their S: the least bound over a group is its tree's minimum less m·t,
//! so the least bound over all backends takes w + 1 reads.
//!
//! A pick takes the least bound L over all backends. No backend holds less than L, so the
//! scan's choice is among the backends whose bound is within a rounding margin of L (a
//! margin of the bounds, of the scan's works left and of their cross products with the
//! capacities): usually one or a few. Each is looked at again in the scan's order (from the
//! previous choice, rotating), which makes its bound its work left now; one whose bound was
//! stale (a worker finished since it was seen) rises out of reach and is passed. The rest
//! are asked their work left and the scan's comparison decides among them, so the pick is
//! the scan's exactly. If every candidate rose out of reach, the next least bound is taken;
//! each such look followed a worker finishing, so they cost at most one per request over
//! the run.

use super::min_tree::MinTree;
use super::{BusyWorkers, SeenChanges};
use super::{Cluster, ratio_less};

/// The index: backends grouped by the workers busy when last seen.
#[derive(Debug)]
pub(super) struct WorkIndex {
    /// Tree m holds, for each backend last seen with m busy workers, the sum of their finish
    /// times (+∞ for the other backends).
    by_busy: Vec<MinTree>,
    /// Per backend, its busy workers when last seen (its tree).
    busy: Vec<u32>,
    /// What the index has seen of the view's changes.
    changes: SeenChanges,
    /// Per tree, the next backend in the scan's order whose bound is within the margin (the
    /// search of a pick; kept to reuse its memory).
    next: Vec<Option<usize>>,
}

impl WorkIndex {
    /// An index over `n` backends of `workers` workers each (it fills at its first refresh).
    pub(super) fn new(n: usize, workers: u32) -> Self {
        let trees = workers as usize + 1;
        WorkIndex {
            by_busy: (0..trees).map(|_| MinTree::new(n)).collect(),
            busy: vec![0; n],
            changes: SeenChanges::default(),
            next: vec![None; trees],
        }
    }

    /// Whether `cluster` tells the index what it needs (the busy workers, and which backends
    /// changed: the engine's views do).
    pub(super) fn can_serve<C: Cluster + ?Sized>(cluster: &mut C) -> bool {
        cluster.changes().is_some() && cluster.busy_workers(0).is_some()
    }

    /// Brings the index up to date (`changes`: the view's count now): only `last`, the
    /// previous pick, and the backends the view says changed since need looking at again;
    /// when it cannot tell, every backend.
    fn refresh<C: Cluster + ?Sized>(&mut self, changes: u64, now: f64, last: usize, cluster: &mut C) {
        if self.changes.catch_up(changes, cluster) {
            self.look(last, now, cluster);
            for k in 0..self.changes.stale().len() {
                self.look(self.changes.stale()[k] as usize, now, cluster);
            }
        } else {
            for i in 0..self.busy.len() {
                self.look(i, now, cluster);
            }
        }
    }

    /// Looks at backend `i` again: its bound becomes its work left now, S − m·now (which it
    /// returns).
    #[inline]
    fn look<C: Cluster + ?Sized>(&mut self, i: usize, time: f64, cluster: &mut C) -> f64 {
        let BusyWorkers { count, finish_sum, .. } =
            cluster.busy_workers(i).expect("the view told the busy workers of the first backend");
        // (A backend of more workers than the index expects cannot be: they are all alike.)
        let (was, is) = (self.busy[i] as usize, count as usize);
        if was != is {
            self.by_busy[was].set(i, f64::INFINITY);
            self.busy[i] = count;
        }
        self.by_busy[is].set(i, finish_sum);
        finish_sum - f64::from(count) * time
    }

    /// The backend the rotating scan of `least_work_left` would choose at `now` after
    /// `last` (ties to the first after it), comparing works left over `capacities` (each a
    /// same multiple of its backend's speed) as the scan does. Asks the work left of a few
    /// backends only.
    pub(super) fn pick<C: Cluster + ?Sized>(
        &mut self,
        changes: u64,
        now: f64,
        last: usize,
        capacities: &[f64],
        cluster: &mut C,
    ) -> usize {
        self.refresh(changes, now, last, cluster);
        let n = self.busy.len();
        let workers = (self.by_busy.len() - 1) as f64;
        let start = if last + 1 >= n { 0 } else { last + 1 };
        // How far `p` is from `start` in the scan's order.
        let order = |p: usize| if p >= start { p - start } else { p + n - start };
        loop {
            // No backend holds less than the least bound, so the scan's choice is among the
            // backends whose bound is within a rounding margin (of the bounds, of the scan's
            // works left and of their cross products with the capacities) of it. Each is looked at
            // again, which makes its bound its work left now: one whose bound was stale
            // (a worker finished since) may rise out of reach. The rest are asked their work
            // left in the scan's order. If none is left, the least bound was stale: the
            // next is taken, after looks that each followed a worker finishing (at most one
            // per request over the run).
            let (least, key) = self.least_bound(now);
            let margin = 32.0 * (workers + 2.0) * f64::EPSILON * (least.abs() + 2.0 * workers * now.abs() + key.abs());
            let within = least + margin;
            for (m, next) in self.next.iter_mut().enumerate() {
                // (A tree none of whose bounds is within is not searched: usually all but one.)
                let below = within + m as f64 * now;
                let tree = &self.by_busy[m];
                *next = if tree.min() <= below { tree.first_at_most_cyclic(start, below) } else { None };
            }
            let mut best: Option<(usize, (f64, f64))> = None;
            // The candidates in the scan's order: each tree's next, the nearest first.
            while let Some((m, i)) =
                self.next.iter().enumerate().filter_map(|(m, next)| next.map(|i| (m, i))).min_by_key(|&(_, i)| order(i))
            {
                // The tree's next candidate after `i`, if it comes before the scan wraps around.
                let after = if i + 1 >= n { 0 } else { i + 1 };
                self.next[m] = self.by_busy[m]
                    .first_at_most_cyclic(after, within + m as f64 * now)
                    .filter(|&j| order(j) > order(i));
                // (Looking again moves `i` to another tree, perhaps, behind that tree's next
                // candidate: the search has passed it.)
                if self.look(i, now, cluster) > within {
                    continue;
                }
                let key = (cluster.unfinished_work(i), capacities[i]);
                if best.is_none_or(|(_, best)| ratio_less(&key, &best)) {
                    best = Some((i, key));
                    if key.0 <= 0.0 {
                        break;
                    }
                }
            }
            if let Some((i, _)) = best {
                return i;
            }
        }
    }

    /// The least bound at `now`, and the key it is reckoned from.
    fn least_bound(&self, now: f64) -> (f64, f64) {
        let mut best = (f64::INFINITY, f64::INFINITY);
        for (m, tree) in self.by_busy.iter().enumerate() {
            let bound = tree.min() - m as f64 * now;
            if bound < best.0 {
                best = (bound, tree.min());
            }
        }
        best
    }
}
