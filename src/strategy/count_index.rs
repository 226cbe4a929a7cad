//! Fewest requests in system without asking every backend: what jsq and least_connections
//! (equal weights) use when their scan stops being short.
//!
//! Their scan stops at the first empty backend, so it is short while the cluster has empty
//! backends (one worker each at load 0.9: about ten asks). With several workers per backend
//! there are none at a high load, and the scan asks all n backends at every pick: 4 096
//! gunicorn backends × 4 workers ran at a few thousand requests a second. A strategy then
//! switches to a [`CountIndex`], where a pick costs O(log n) per backend changed or
//! departed from since the previous one, and chooses exactly what the scan would.

use super::min_tree::MinTree;
use super::{Cluster, SeenChanges, rotating_argmin_asking};

/// Mean backends a scan asks about per pick above which the strategy switches to the index
/// (a pick through it costs about as much as this many asks on a large cluster).
pub(crate) const INDEX_ABOVE: u64 = 64;
/// Mean backends the scan would ask about per pick below which the strategy goes back to
/// scanning (a short scan is cheaper than the index; the gap to [`INDEX_ABOVE`] keeps it
/// from going back and forth).
const SCAN_BELOW: u64 = 16;
/// Picks over which the asks are averaged.
const WINDOW: u32 = 1024;

/// How long a strategy's scans are, averaged over windows of [`WINDOW`] picks: whether it
/// should keep an index instead of scanning, or scan instead of keeping one.
#[derive(Debug, Default)]
pub(crate) struct ScanLength {
    picks: u32,
    /// Backends asked about by the scans of this window (or that they would have asked
    /// about, while an index is kept).
    asks: u64,
}

impl ScanLength {
    /// A scan asked about `asks` backends: true once the scans of the window have asked
    /// more than [`INDEX_ABOVE`] a pick on average (as soon as they have, not at the
    /// window's end: on a large cluster that is after a scan or two), when the strategy
    /// should keep an index from its next pick on.
    #[inline]
    pub(crate) fn scanned(&mut self, asks: u64) -> bool {
        self.asks += asks;
        self.picks += 1;
        let long = self.asks > INDEX_ABOVE * u64::from(WINDOW);
        if long || self.picks == WINDOW {
            (self.picks, self.asks) = (0, 0);
        }
        long
    }

    /// A pick through the index, for which the scan would have asked about `asks`
    /// backends: true at the end of a window whose scans would have averaged fewer than
    /// [`SCAN_BELOW`], when the strategy should go back to scanning.
    #[inline]
    pub(crate) fn indexed(&mut self, asks: u64) -> bool {
        self.asks += asks;
        self.picks += 1;
        if self.picks < WINDOW {
            return false;
        }
        let short = self.asks < SCAN_BELOW * u64::from(WINDOW);
        (self.picks, self.asks) = (0, 0);
        short
    }
}

/// How a fewest-requests strategy finds its backend: by its scan while the scans are
/// short, by an index while they would be long. Both choose the same backend, so switching
/// changes nothing but the cost.
#[derive(Debug, Default)]
pub(crate) struct Fewest {
    index: Option<CountIndex>,
    length: ScanLength,
}

impl Fewest {
    /// The backend with the fewest requests in system at `now`, ties to the first after
    /// `last` (the previous pick, updated): through the index when one is kept, else by a
    /// rotating scan that stops at the first empty backend.
    #[inline]
    pub(crate) fn choose<C: Cluster + ?Sized>(&mut self, now: f64, last: &mut usize, cluster: &mut C) -> usize {
        if let Some(chosen) = self.pick(now, *last, cluster) {
            *last = chosen;
            return chosen;
        }
        let n = cluster.len();
        let count = |i| {
            cluster.scanning(i);
            cluster.in_system(i)
        };
        let (chosen, asks) = rotating_argmin_asking(n, last, count, |a, b| a < b, |&n| n == 0);
        self.scanned(asks as u64, cluster);
        chosen
    }

    /// The pick through the index, if the strategy keeps one now (`last`: its previous pick).
    #[inline]
    pub(crate) fn pick<C: Cluster + ?Sized>(&mut self, now: f64, last: usize, cluster: &mut C) -> Option<usize> {
        let index = self.index.as_mut()?;
        let (chosen, scan) = index.pick(now, last, cluster);
        if self.length.indexed(scan) {
            self.index = None;
        }
        Some(chosen)
    }

    /// A scan asked about `asks` backends: once the scans are long, if the view can keep an
    /// index, the next pick uses one.
    #[inline]
    pub(crate) fn scanned<C: Cluster + ?Sized>(&mut self, asks: u64, cluster: &mut C) {
        if self.length.scanned(asks) && CountIndex::can_serve(cluster) {
            self.index = Some(CountIndex::new(cluster.len()));
        }
    }
}

/// The count of requests in system of every backend as last seen, kept up to date by a
/// [`CountWatch`], so every count in the index is the backend's count now.
#[derive(Debug)]
pub(crate) struct CountIndex {
    /// Each backend's count minus its offset (see [`CountIndex::below`]).
    counts: MinTree,
    watch: CountWatch,
    /// Subtracted from each backend's count (empty: nothing).
    offsets: Vec<f64>,
}

impl CountIndex {
    fn new(n: usize) -> Self {
        CountIndex { counts: MinTree::new(n), watch: CountWatch::new(n), offsets: Vec::new() }
    }

    /// An index of each backend's count minus `offsets[i]` (haproxy_first: count − cap, so
    /// the first backend below its cap is the first key ≤ −1).
    pub(crate) fn below(offsets: Vec<f64>) -> Self {
        let n = offsets.len();
        CountIndex { offsets, ..Self::new(n) }
    }

    /// Whether the view tells which backends changed and when counts change next, which
    /// the index needs.
    pub(crate) fn can_serve<C: Cluster + ?Sized>(cluster: &mut C) -> bool {
        cluster.changes().is_some() && cluster.count_changes_at(0).is_some()
    }

    /// The backend with the fewest requests in system at `now`, the first after `last` (the
    /// previous pick) in a rotating scan on ties: the scan's choice; and how many backends
    /// that scan would have asked about (up to the first empty one, else all).
    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, now: f64, last: usize, cluster: &mut C) -> (usize, u64) {
        let n = self.counts.len();
        self.refresh(now, last, cluster);
        let after = if last + 1 >= n { 0 } else { last + 1 };
        let fewest = self.counts.min();
        let chosen = self.counts.first_at_most_cyclic(after, fewest).expect("a cluster has backends");
        let scan = if fewest == 0.0 { (chosen + n - after) % n + 1 } else { n };
        (chosen, scan as u64)
    }

    /// The smallest key (a count minus its offset).
    #[inline]
    pub(crate) fn min(&self) -> f64 {
        self.counts.min()
    }

    /// The first backend (from 0) whose key, its count minus its offset, is at most `x`.
    #[inline]
    pub(crate) fn first_at_most(&self, x: f64) -> Option<usize> {
        self.counts.first_at_most(0, x)
    }

    /// The first backend at or after `from`, wrapping round to 0, whose key is at most `x`.
    #[inline]
    pub(crate) fn first_at_most_cyclic(&self, from: usize, x: f64) -> Option<usize> {
        self.counts.first_at_most_cyclic(from, x)
    }

    /// Brings every key up to `now` (see [`CountWatch::refresh`]).
    #[inline]
    pub(crate) fn refresh<C: Cluster + ?Sized>(&mut self, now: f64, last: usize, cluster: &mut C) {
        let (counts, offsets) = (&mut self.counts, &self.offsets);
        self.watch.refresh(now, last, cluster, |i, count| {
            let offset = offsets.get(i).copied().unwrap_or(0.0);
            counts.set(i, f64::from(count) - offset);
        });
    }
}

/// When each backend's count of requests in system next changes by a departure, and what
/// an index of the counts has seen of the view's changes: which backends it must look at
/// again before a pick, so that every count it holds is the backend's count now. A count is
/// looked at again when its backend changed (the view's [`Cluster::changed_since`], and the
/// previous pick) or its departure time has come.
#[derive(Debug)]
pub(crate) struct CountWatch {
    departures: MinTree,
    /// What the index has seen of the view's changes.
    changes: SeenChanges,
}

impl CountWatch {
    /// For `n` backends, none looked at yet (the first refresh looks at every one).
    pub(crate) fn new(n: usize) -> Self {
        CountWatch { departures: MinTree::new(n), changes: SeenChanges::default() }
    }

    /// Hands `seen` the count now of every backend whose count may have changed since the
    /// previous refresh: `last` (the strategy's previous pick), the backends the view
    /// changed since, and those a departure has left since (every backend when the view
    /// cannot tell which changed).
    #[inline]
    pub(crate) fn refresh<C: Cluster + ?Sized>(
        &mut self,
        now: f64,
        last: usize,
        cluster: &mut C,
        mut seen: impl FnMut(usize, u32),
    ) {
        let n = self.departures.len();
        let changes = cluster.changes().expect("an index is kept only for a view that counts its changes");
        if self.changes.catch_up(changes, cluster) {
            self.look(last, cluster, &mut seen);
            for k in 0..self.changes.stale().len() {
                self.look(self.changes.stale()[k] as usize, cluster, &mut seen);
            }
        } else {
            for i in 0..n {
                self.look(i, cluster, &mut seen);
            }
        }
        // The backends a departure has left since: each once (a station's next event may
        // come without a departure, and is looked at again at the next pick).
        let mut from = 0;
        while let Some(i) = self.departures.first_at_most(from, now) {
            self.look(i, cluster, &mut seen);
            from = i + 1;
        }
    }

    /// Reads backend `i`'s count (handed to `seen`) and next departure.
    #[inline]
    fn look<C: Cluster + ?Sized>(&mut self, i: usize, cluster: &mut C, seen: &mut impl FnMut(usize, u32)) {
        seen(i, cluster.in_system(i));
        let next = cluster.count_changes_at(i).expect("an index is kept only for a view that can tell");
        self.departures.set(i, next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Request;
    use crate::strategy::rotating_argmin;
    use crate::strategy::testing::{Servers, rng};
    use rand::RngExt;

    /// The index chooses what the rotating scan over every count chooses, on small clusters
    /// of one to four workers per backend at loads from light to overloaded, with arrivals
    /// often at one instant and departures often at an arrival's time (sizes on a grid).
    #[test]
    fn the_index_chooses_what_the_scan_chooses() {
        let mut r = rng(11);
        for round in 0..60 {
            let n = 1 + round % 17;
            let workers: Vec<usize> = (0..n).map(|_| r.random_range(1..5)).collect();
            let mut cluster = Servers::new(&workers, true);
            let mut index = CountIndex::new(n);
            let mut last = n - 1;
            let load = [0.5, 0.9, 1.2][round % 3];
            let total: usize = workers.iter().sum();
            for _ in 0..800 {
                cluster.now += [0.0, 0.5, 1.0, 1.5][r.random_range(0..4)] / (load * total as f64);
                let (chosen, scan) = index.pick(cluster.now, last, &mut cluster);
                let (mut scan_last, asks_before) = (last, cluster.asks);
                let expected = rotating_argmin(n, &mut scan_last, |i| cluster.in_system(i), |a, b| a < b, |&c| c == 0);
                assert_eq!(chosen, expected, "round {round}");
                assert_eq!(scan, cluster.asks - asks_before, "round {round}: the scan's length");
                last = chosen;
                cluster.dispatch(chosen, [0.5, 1.0, 2.0][r.random_range(0..3)]);
            }
        }
    }

    /// jsq, least_connections (equal weights) and shortest_expected_delay (equal
    /// capacities) switch to the index when their scans are
    /// long (256 backends × 4 workers near saturation), keep choosing what a scan chooses,
    /// and then ask about a few backends a pick instead of nearly all of them.
    #[test]
    fn long_scans_switch_to_the_index_with_the_same_choices() {
        use crate::strategy::Params;
        use crate::strategy::testing::{backend, built};
        let n = 256;
        let infos: Vec<_> = (0..n).map(|i| backend(&format!("b{i}"), 4, 1.0)).collect();
        for name in ["jsq", "least_connections", "shortest_expected_delay"] {
            let params = Params::new(name);
            let (mut indexed, mut scanning) = (built(name, &infos, &params), built(name, &infos, &params));
            // The same backends twice: one view tells when counts change, the other cannot.
            let (mut tells, mut blind) = (Servers::new(&[4; 256], true), Servers::new(&[4; 256], false));
            let mut r = rng(12);
            let picks = 8000;
            let (mut asked, mut scanned) = (0, 0);
            for k in 0..picks {
                let gap = -(1.0 - r.random::<f64>()).ln() / (0.98 * 4.0 * n as f64);
                let work = -(1.0 - r.random::<f64>()).ln();
                tells.now += gap;
                blind.now = tells.now;
                let request = Request { arrival: tells.now, size: work, client: 0 };
                let (asks_before, blind_before) = (tells.asks, blind.asks);
                let chosen = indexed.pick(&request, &mut tells);
                assert_eq!(chosen, scanning.pick(&request, &mut blind), "{name}, pick {k}");
                if k >= picks - 1000 {
                    asked += tells.asks - asks_before;
                    scanned += blind.asks - blind_before;
                }
                tells.dispatch(chosen, work);
                blind.dispatch(chosen, work);
            }
            assert!(asked < 5 * 1000, "{name}: {asked} asks in the last 1000 picks");
            assert!(scanned > 100 * 1000, "{name}: the scan asked only {scanned} times (no long scans to test)");
        }
    }

    /// Runs strategy `name` twice side by side, through its index (a view that tells which
    /// servers changed and when counts change) and by its scan (a view that cannot), and
    /// checks they choose alike pick for pick: 200 servers of one to four workers (its caps
    /// or weights), then of two each, at loads 0.7, 0.95, 1.3 and 0.95, arrivals often at
    /// one instant (gaps of mean 1 / (load × total)) and sizes on a grid (departures at
    /// arrivals); with `turn_away`, one request in ten is not dispatched (its server's count
    /// does not rise, which the next pick must see). Then over the second half of phase
    /// `cheap` (a strategy that switches to its index when scans grow long has switched) the
    /// index must ask about fewer than a tenth of the servers the scan asks about.
    fn chooses_as_its_scan(name: &str, seed: u64, turn_away: bool, cheap: usize) {
        use crate::strategy::Params;
        use crate::strategy::testing::{backend, built};
        let mut r = rng(seed);
        let n = 200;
        for equal in [false, true] {
            let workers: Vec<usize> = (0..n).map(|_| if equal { 2 } else { r.random_range(1..5) }).collect();
            let total: usize = workers.iter().sum();
            let infos: Vec<_> =
                workers.iter().enumerate().map(|(i, &w)| backend(&format!("s{i}"), w as u32, 1.0)).collect();
            let params = Params::new(name);
            let (mut indexed, mut scanning) = (built(name, &infos, &params), built(name, &infos, &params));
            let (mut tells, mut blind) = (Servers::new(&workers, true), Servers::new(&workers, false));
            let (mut asked, mut scanned) = (0, 0);
            for (phase, load) in [0.7, 0.95, 1.3, 0.95].into_iter().enumerate() {
                for k in 0..4000 {
                    tells.now += [0.0, 0.5, 1.5, 2.0][r.random_range(0..4)] / (load * total as f64);
                    blind.now = tells.now;
                    let work = [0.5, 1.0, 1.5][r.random_range(0..3)];
                    let request = Request { arrival: tells.now, size: work, client: 0 };
                    let (asks_before, blind_before) = (tells.asks, blind.asks);
                    let chosen = indexed.pick(&request, &mut tells);
                    assert_eq!(
                        chosen,
                        scanning.pick(&request, &mut blind),
                        "{name}: equal {equal}, phase {phase}, pick {k}"
                    );
                    if phase == cheap && k >= 2000 {
                        asked += tells.asks - asks_before;
                        scanned += blind.asks - blind_before;
                    }
                    if !(turn_away && r.random_range(0..10) == 0) {
                        tells.dispatch(chosen, work);
                        blind.dispatch(chosen, work);
                    }
                }
            }
            assert!(asked * 10 < scanned, "{name}: the index asked {asked} times, the scan {scanned}");
        }
    }

    /// haproxy_first through its index of requests minus cap chooses what its scan in
    /// server order chooses: at loads where the first free server is far down the list and
    /// past saturation (every server at its cap: the scan for the fewest per worker; with
    /// equal caps the index also finds the fewest per worker).
    #[test]
    fn haproxy_first_through_its_index_chooses_as_its_scan() {
        chooses_as_its_scan("haproxy_first", 14, false, 1);
    }

    /// haproxy_leastconn through HAProxy's tree chooses what its scan of every server
    /// chooses (equal keys taking turns in re-insertion order), requests turned away included.
    #[test]
    fn haproxy_leastconn_through_its_tree_chooses_as_its_scan() {
        chooses_as_its_scan("haproxy_leastconn", 15, true, 1);
    }

    /// nginx_least_conn through its index (peers of one weight: the fewest connections,
    /// nginx's smooth weighted round robin among the tied, kept lazily per count) chooses
    /// what nginx's scan of every peer chooses, requests turned away included.
    #[test]
    fn nginx_least_conn_through_its_index_chooses_as_its_scan() {
        chooses_as_its_scan("nginx_least_conn", 17, true, 1);
    }

    /// jiq through its index of requests minus workers takes the first backend with a free
    /// worker from the same random start as its scan, and the same second draw when there
    /// is none: it keeps the index past saturation (load 1.3, where the scan asks every
    /// backend) and goes back to scanning when backends are idle again.
    #[test]
    fn jiq_through_its_index_chooses_as_its_scan() {
        chooses_as_its_scan("jiq", 16, true, 2);
    }

    /// The strategy keeps the index while scans would be long and goes back to scanning
    /// when they would be short again (the load fell so far that some backends are empty:
    /// jsq keeps the counts level, so at a moderate load with four workers each none is),
    /// choosing as the scan does throughout.
    #[test]
    fn the_index_is_kept_while_scans_would_be_long() {
        let n = 256;
        let mut cluster = Servers::new(&[4; 256], true);
        let mut fewest = Fewest::default();
        let mut r = rng(13);
        let mut last = n - 1;
        let mut indexed_at = Vec::new();
        for (phase, load) in [(0, 0.98), (1, 0.05)] {
            for _ in 0..20_000 {
                cluster.now += -(1.0 - r.random::<f64>()).ln() / (load * 4.0 * n as f64);
                let mut scan_last = last;
                let expected = rotating_argmin(n, &mut scan_last, |i| cluster.in_system(i), |a, b| a < b, |&c| c == 0);
                let chosen = match fewest.pick(cluster.now, last, &mut cluster) {
                    Some(chosen) => chosen,
                    None => {
                        let mut asks = 0;
                        let chosen = rotating_argmin(
                            n,
                            &mut last,
                            |i| {
                                asks += 1;
                                cluster.in_system(i)
                            },
                            |a, b| a < b,
                            |&c| c == 0,
                        );
                        fewest.scanned(asks, &mut cluster);
                        chosen
                    }
                };
                assert_eq!(chosen, expected);
                last = chosen;
                cluster.dispatch(chosen, -(1.0 - r.random::<f64>()).ln());
            }
            indexed_at.push((phase, fewest.index.is_some()));
        }
        assert_eq!(indexed_at, [(0, true), (1, false)]);
    }
}
