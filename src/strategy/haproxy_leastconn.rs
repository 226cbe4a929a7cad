//! `haproxy_leastconn`: HAProxy `balance leastconn` (lb_fwlc.c): the fewest requests per
//! weight, with HAProxy's integer key and its round robin among equals.

use super::count_index::CountIndex;
use super::haproxy_chash::BE_WEIGHT_SCALE;
use super::min_tree::MinTree;
use super::real_weights::real_weights;
use super::slow_start::{self, SlowStart};
use super::{Cluster, FIRST_INDEXED_ABOVE, Needs, ParamSpec, PickCost, SeenChanges, Setup, Strategy, StrategyError};
use crate::model::Request;
use std::collections::BTreeSet;

/// HAProxy's `SRV_EWGHT_MAX` = `SRV_UWGHT_MAX` (256) × `BE_WEIGHT_SCALE` (16).
const SRV_EWGHT_MAX: u64 = 256 * BE_WEIGHT_SCALE as u64;

/// HAProxy `balance leastconn` (`fwlc_queue_srv`, `fwlc_get_next_server`, lb_fwlc.c):
///
/// - servers sit in a tree keyed by `inflight ? (inflight + 1) × 4096 / eweight : 0`
///   (integer division; inflight = requests the server holds; eweight = 16 × weight), and
///   the first server of the tree is chosen: idle servers all have key 0, busy ones are
///   ordered by (inflight + 1) / weight, quantised;
/// - a server is re-inserted in the tree whenever its inflight count changes, behind the
///   servers that already have the same key: among equal keys the one that changed least
///   recently goes first, which makes equally loaded servers take turns ("round-robin
///   within equal load").
///
/// lbsim learns of a completion only when it next looks at a server, so a server whose
/// count changed since the previous pick is re-inserted at that pick, in server order;
/// the chosen server is re-inserted after it is picked. On more than
/// [`FIRST_INDEXED_ABOVE`] servers whose view tells which changed (the engine's fast path),
/// without slow start, the tree is kept as HAProxy keeps it, and a pick looks only at those
/// servers and the ones a departure has left since: the same choices at O(log n) per server
/// changed instead of n compares. (HAProxy 3.x replaced the tree by
/// lists picked at random among equal keys; this is the 2.x tree.) Weights are HAProxy's
/// (`weight`, default 1, at most 256); `slow_start` scales the effective weight by
/// HAProxy's ramp.
#[derive(Debug)]
pub struct HaproxyLeastconn {
    uweight: Vec<u32>,
    slow_start: Option<SlowStart>,
    /// Inflight count at the last re-insertion, and the re-insertion's sequence number.
    seen: Vec<u32>,
    inserted: Vec<u64>,
    sequence: u64,
    /// HAProxy's tree, kept on a large cluster whose view tells which servers changed:
    /// a pick then looks only at those (None: every pick looks at every server).
    tree: Option<Tree>,
    /// Whether keeping the tree was considered (at the first pick).
    considered: bool,
}

/// The servers ordered as HAProxy's tree orders them, (key, re-insertion number), and what
/// a pick must look at again: the servers the view changed since the previous pick and
/// those a departure has left since (their next departures in a [`MinTree`]).
#[derive(Debug)]
struct Tree {
    order: BTreeSet<(u64, u64, u32)>,
    departures: MinTree,
    changes: SeenChanges,
    /// The previous pick (None before the first).
    last: Option<u32>,
    /// Scratch: the servers to look at in this pick, in server order.
    look: Vec<u32>,
}

impl HaproxyLeastconn {
    pub(crate) fn new(uweight: Vec<u32>, slow_start: Option<SlowStart>) -> Self {
        let n = uweight.len();
        HaproxyLeastconn {
            uweight,
            slow_start,
            seen: vec![0; n],
            inserted: (0..n as u64).collect(),
            sequence: n as u64,
            tree: None,
            considered: false,
        }
    }

    /// A server's key with `inflight` requests: `(inflight + 1) × 4096 / eweight`, 0 when
    /// idle.
    #[inline]
    fn key(inflight: u32, eweight: u64) -> u64 {
        let inflight = u64::from(inflight);
        if inflight == 0 { 0 } else { (inflight + 1) * SRV_EWGHT_MAX / eweight }
    }

    /// The pick by looking at every server (the transcription of HAProxy's tree as a scan).
    fn pick_by_scan<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        let mut best = 0;
        let mut best_key = (u64::MAX, u64::MAX);
        for i in 0..self.uweight.len() {
            let inflight = cluster.in_system(i);
            if inflight != self.seen[i] {
                self.requeue(i, inflight);
            }
            let full = u64::from(self.uweight[i] * BE_WEIGHT_SCALE);
            let eweight = match &self.slow_start {
                None => full,
                Some(ramp) => {
                    let factor = ramp.factor(request.arrival - cluster.up_since(i));
                    ((full as f64 * factor).round() as u64).max(1)
                }
            };
            let key = Self::key(inflight, eweight);
            if (key, self.inserted[i]) < best_key {
                best = i;
                best_key = (key, self.inserted[i]);
            }
        }
        self.requeue(best, self.seen[best] + 1);
        best
    }

    /// Server `i` now holds `inflight` requests: it goes behind every server already
    /// holding its key (a new re-insertion number).
    #[inline]
    fn requeue(&mut self, i: usize, inflight: u32) {
        self.seen[i] = inflight;
        self.inserted[i] = self.sequence;
        self.sequence += 1;
    }

    /// Server `i`'s entry in the tree as things stand (no slow start: eweight = 16 × weight).
    #[inline]
    fn entry(&self, i: usize) -> (u64, u64, u32) {
        let eweight = u64::from(self.uweight[i] * BE_WEIGHT_SCALE);
        (Self::key(self.seen[i], eweight), self.inserted[i], i as u32)
    }

    /// The pick through the tree: the servers that changed since the previous pick are
    /// re-inserted in server order, as the scan does, and the first of the tree wins. The
    /// same choice as [`pick_by_scan`](Self::pick_by_scan), at O(log n) per server changed.
    fn pick_by_tree<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        let mut tree = self.tree.take().expect("a tree is kept");
        let changes = cluster.changes().expect("a tree is kept only for a view that counts its changes");
        tree.look.clear();
        if tree.changes.catch_up(changes, cluster) {
            tree.look.extend_from_slice(tree.changes.stale());
            // The previous pick (its request may have been turned away, or have left).
            tree.look.extend(tree.last);
        } else {
            tree.look.extend(0..self.uweight.len() as u32);
        }
        let mut from = 0;
        while let Some(i) = tree.departures.first_at_most(from, request.arrival) {
            tree.look.push(i as u32);
            from = i + 1;
        }
        tree.look.sort_unstable();
        tree.look.dedup();
        for k in 0..tree.look.len() {
            let i = tree.look[k] as usize;
            let inflight = cluster.in_system(i);
            if inflight != self.seen[i] {
                tree.order.remove(&self.entry(i));
                self.requeue(i, inflight);
                tree.order.insert(self.entry(i));
            }
            let next = cluster.count_changes_at(i).expect("a tree is kept only for a view that can tell");
            tree.departures.set(i, next);
        }
        let first = tree.order.pop_first().expect("a cluster has servers");
        let best = first.2 as usize;
        self.requeue(best, self.seen[best] + 1);
        tree.order.insert(self.entry(best));
        tree.last = Some(first.2);
        self.tree = Some(tree);
        best
    }
}

impl Strategy for HaproxyLeastconn {
    const NAME: &'static str = "haproxy_leastconn";
    const SUMMARY: &'static str =
        "HAProxy leastconn: fewest requests per weight (HAProxy's integer key), equals take turns";
    const MODELS: &'static str = "HAProxy: balance leastconn (server … weight N)";
    const NEEDS: Needs = Needs::Counts;
    // Every server's key is compared, or (a large cluster on the fast path, no slow start)
    // HAProxy's tree is kept and only the servers that changed are looked at.
    const PICK_COST: PickCost = PickCost::AsksAllOrIndexed;
    const PARAMS: &'static [ParamSpec] = &[slow_start::HAPROXY_PARAM];

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        let weights = real_weights(Self::NAME, "HAProxy", 256, setup.backends)?;
        Ok(HaproxyLeastconn::new(weights, SlowStart::haproxy(setup.params)?))
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        if !self.considered {
            self.considered = true;
            let n = self.uweight.len();
            if n > FIRST_INDEXED_ABOVE && self.slow_start.is_none() && CountIndex::can_serve(cluster) {
                let mut tree = Tree {
                    order: BTreeSet::new(),
                    departures: MinTree::new(n),
                    changes: SeenChanges::default(),
                    last: None,
                    look: Vec::new(),
                };
                // Every server is looked at by the first pick (the view has not been seen).
                tree.order.extend((0..n).map(|i| self.entry(i)));
                self.tree = Some(tree);
            }
        }
        if self.tree.is_some() { self.pick_by_tree(request, cluster) } else { self.pick_by_scan(request, cluster) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request};

    fn pick(s: &mut HaproxyLeastconn, cluster: &mut MockCluster) -> usize {
        let chosen = s.pick(&request(0, 1.0), cluster);
        cluster.counts[chosen] += 1;
        chosen
    }

    #[test]
    fn equally_loaded_servers_take_turns() {
        let mut s = HaproxyLeastconn::new(vec![1; 3], None);
        let mut cluster = MockCluster::uniform(3);
        // Idle: 0, 1, 2 in turn; then all hold one: again in turn.
        let picks: Vec<usize> = (0..6).map(|_| pick(&mut s, &mut cluster)).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn a_server_that_just_finished_goes_behind_its_equals() {
        let mut s = HaproxyLeastconn::new(vec![1; 3], None);
        let mut cluster = MockCluster::uniform(3);
        for _ in 0..6 {
            pick(&mut s, &mut cluster); // every server holds 2
        }
        // Server 0 finishes one (holds 1), then server 1 finishes one: both key 2·4096/16,
        // 0 was re-inserted first, so it goes first.
        cluster.counts = vec![1, 1, 2];
        assert_eq!(pick(&mut s, &mut cluster), 0);
        assert_eq!(pick(&mut s, &mut cluster), 1);
    }

    #[test]
    fn keys_follow_haproxy_integer_arithmetic() {
        // Weights 1 and 3: (n + 1) × 4096 / (16 w). Server 0 with 1 request: key 512;
        // server 1 with 4: 5 × 4096 / 48 = 426 → server 1 though it holds four times more.
        let mut s = HaproxyLeastconn::new(vec![1, 3], None);
        let mut cluster = MockCluster::uniform(2);
        cluster.counts = vec![1, 4];
        assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 1);
        // With 5: 6 × 4096 / 48 = 512, equal to server 0's key. Both counts changed since
        // the build, so both are re-inserted at this pick in server order: server 0 first.
        let mut s = HaproxyLeastconn::new(vec![1, 3], None);
        cluster.counts = vec![1, 5];
        assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 0);
    }
}
