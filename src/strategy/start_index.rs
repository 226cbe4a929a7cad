//! The index of earliest starts that lets a strategy over FCFS backends find "the backend
//! where a request would start first, ties to the first after the previous choice" without
//! asking every backend: `central_queue` picks by it, and `least_work_left` over one-worker
//! backends of one speed (where the least work left is the earliest start). With the
//! [`Scout`] that foresees the next picks, so the engine can fetch their backends ahead.

use super::Cluster;
use super::SeenChanges;
use super::min_tree::MinTree;

/// How many picks ahead [`Strategy::upcoming`] names the backend. One pick ahead is too
/// late: the engine fetches a noted backend's struct at once and, four picks later, the
/// slots of its departure ring (they need the struct), so the backend must be named at
/// least that far ahead for both to arrive from memory before its request does; random
/// and power_of_d draw 8 ahead likewise.
pub(super) const AHEAD: usize = 8;

/// The next picks as the index foresees them (one speed class): the backends after the
/// previous pick, rotating, whose start was at most that pick's time when last seen, in
/// order, up to `AHEAD` of them. The rotating scan takes them in this order; it takes
/// another first only if that one frees up in between (rare on a large cluster: the next
/// free backend is a few places on, and backends free up anywhere). Picks that reach a
/// foreseen backend drop it from the front, so such a surprise delays the guesses by one
/// pick instead of leaving them off for good; one search per pick adds one at the back.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Scout {
    /// The pick the queue was brought up to date with.
    after: u32,
    /// Foreseen backends, `len` of them from `head`, a ring.
    ahead: [u32; AHEAD],
    head: usize,
    len: usize,
}

impl Scout {
    /// Drops the backends the picks since the previous call went to or past (the latest
    /// pick: `last`), then foresees up to two more.
    #[inline]
    fn update(&mut self, starts: &MinTree, last: usize, picked_at: f64) {
        let n = starts.len();
        // How far `to` is past `from`, rotating.
        let past = |from: usize, to: usize| if to >= from { to - from } else { to + n - from };
        let went = past(self.after as usize, last);
        while self.len > 0 && past(self.after as usize, self.ahead[self.head] as usize) <= went {
            self.head = (self.head + 1) % AHEAD;
            self.len -= 1;
        }
        self.after = last as u32;
        // One search a pick keeps the queue full; a second refills it after it ran dry.
        for _ in 0..2 {
            if self.len == AHEAD {
                break;
            }
            let back = if self.len == 0 { last } else { self.back() };
            let from = if back + 1 >= n { 0 } else { back + 1 };
            match starts.first_at_most_cyclic(from, picked_at) {
                // Not around past the latest pick again (few free backends).
                Some(p) if past(last, p) > past(last, back) => {
                    self.ahead[(self.head + self.len) % AHEAD] = p as u32;
                    self.len += 1;
                }
                _ => break,
            }
        }
    }

    /// The last foreseen backend.
    fn back(&self) -> usize {
        self.ahead[(self.head + self.len - 1) % AHEAD] as usize
    }
}

/// The backends grouped by worker speed, fastest first, each group with a tree of the
/// earliest starts last seen. A start seen at time t is `max(free, t)`; compared with the
/// current time it orders the backends exactly as their current starts do, since a worker
/// free before t is free now too.
#[derive(Debug)]
pub(super) struct StartIndex {
    classes: Vec<SpeedClass>,
    /// Class and position within it of each backend.
    place: Vec<(u32, u32)>,
    /// What the index has seen of the view's changes.
    changes: SeenChanges,
}

#[derive(Debug)]
struct SpeedClass {
    /// Backend indices, ascending.
    members: Vec<u32>,
    starts: MinTree,
}

impl StartIndex {
    pub(super) fn new(speeds: &[f64]) -> Self {
        let mut distinct: Vec<f64> = speeds.to_vec();
        distinct.sort_by(|a, b| b.total_cmp(a));
        distinct.dedup();
        let mut classes: Vec<SpeedClass> =
            distinct.iter().map(|_| SpeedClass { members: Vec::new(), starts: MinTree::new(0) }).collect();
        let mut place = Vec::with_capacity(speeds.len());
        for (i, s) in speeds.iter().enumerate() {
            let c = distinct.iter().position(|d| d == s).expect("every speed has a class");
            place.push((c as u32, classes[c].members.len() as u32));
            classes[c].members.push(i as u32);
        }
        for class in &mut classes {
            class.starts = MinTree::new(class.members.len());
        }
        StartIndex { classes, place, changes: SeenChanges::default() }
    }

    /// Brings the index up to date (`changes`: the view's count now): only `last`, the
    /// previous pick, and the backends the view says changed since the previous pick need
    /// looking at again; when it cannot tell, every backend.
    pub(super) fn refresh<C: Cluster + ?Sized>(&mut self, changes: u64, last: usize, cluster: &mut C) {
        if self.changes.catch_up(changes, cluster) {
            self.update(last, cluster);
            for k in 0..self.changes.stale().len() {
                self.update(self.changes.stale()[k] as usize, cluster);
            }
        } else {
            for class in &mut self.classes {
                let members = &class.members;
                class.starts.fill(|p| cluster.earliest_start(members[p] as usize));
            }
        }
    }

    /// Looks at backend `i`'s start again.
    #[inline]
    fn update<C: Cluster + ?Sized>(&mut self, i: usize, cluster: &mut C) {
        // One class (one speed, the common case) holds backend i at position i: `place` and
        // `members` are not read, which on a large cluster spares the caches two more
        // arrays swept by the rotation.
        let (c, p) = if let [_] = &self.classes[..] { (0, i as u32) } else { self.place[i] };
        self.classes[c as usize].starts.set(p as usize, cluster.earliest_start(i));
    }

    /// The backend the rotating scan would choose: earliest start, then fastest, then first
    /// after `last`.
    pub(super) fn pick(&self, now: f64, last: usize, n: usize) -> usize {
        let mut best = 0;
        let mut best_start = f64::INFINITY;
        for (c, class) in self.classes.iter().enumerate() {
            let start = class.starts.min().max(now);
            if start < best_start {
                best = c;
                best_start = start;
            }
        }
        let class = &self.classes[best];
        let after = if last + 1 >= n { 0 } else { last + 1 };
        let single = class.members.len() == n;
        // A class of every backend (one speed) holds backend i at position i.
        let from = if single { after } else { class.members.partition_point(|&m| (m as usize) < after) };
        let p = class.starts.first_at_most_cyclic(from, best_start).expect("the class minimum is in the class");
        if single { p } else { class.members[p] as usize }
    }

    /// The earliest start of any backend, as of `now` (after [`refresh`](Self::refresh)).
    pub(super) fn earliest(&self, now: f64) -> f64 {
        self.classes.iter().map(|class| class.starts.min()).fold(f64::INFINITY, f64::min).max(now)
    }

    /// How many of the view's changes the index has seen (`None` before the first
    /// counted refresh).
    #[cfg(test)]
    pub(super) fn seen(&self) -> Option<u64> {
        self.changes.seen()
    }

    /// The backend of the pick [`AHEAD`] picks after `last` (made at `picked_at`), as the
    /// index foresees it: one speed class only, and only once the index follows the view's
    /// changes (see [`Scout`]).
    pub(super) fn foresee(&self, scout: &mut Scout, last: usize, picked_at: f64) -> Option<usize> {
        let [class] = &self.classes[..] else { return None };
        self.changes.seen()?;
        scout.update(&class.starts, last, picked_at);
        (scout.len > 0).then(|| scout.back())
    }
}
