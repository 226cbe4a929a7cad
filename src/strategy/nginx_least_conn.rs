//! `nginx_least_conn`: nginx's `least_conn`, transcribed: fewest connections per weight,
//! ties broken by smooth weighted round robin among the tied peers.

use std::collections::BTreeSet;

use super::count_index::{CountIndex, CountWatch};
use super::real_weights::real_weights;
use super::slow_start::{self, RampWatch, SlowStart};
use super::swrr::Swrr;
use super::{Cluster, FIRST_INDEXED_ABOVE, IndexedWhen, Needs, ParamSpec, PickCost, Setup, Strategy, StrategyError};
use crate::model::Request;

/// nginx `least_conn` (`ngx_http_upstream_get_least_conn_peer`,
/// ngx_http_upstream_least_conn_module.c):
///
/// 1. Scan every peer in configuration order; the best is the one minimising connsᵢ / wᵢ,
///    compared by cross-multiplication (`peer->conns * best->weight < best->conns *
///    peer->weight`), never divided. A later peer replaces the best only when strictly
///    better; an equal one marks the choice as a tie (`many`).
/// 2. On a tie, one step of smooth weighted round robin runs over the tied peers only,
///    starting from the first of them: each adds its effective weight to its
///    `current_weight`, the largest `current_weight` wins (first on equality), and the
///    winner loses the tied peers' total. Peers that are not tied keep their
///    `current_weight`.
///
/// connsᵢ is the number of requests backend i holds (in service plus waiting: nginx counts
/// the connections it has open to the peer). Weights are nginx's (`weight=`, default 1).
/// With `slow_start` (nginx Plus), the ramped weight replaces the weight in both steps.
/// Unlike `least_connections`, which rotates ties and may stop at the first idle backend,
/// this looks at every backend on every request, as nginx does — except over more than
/// [`FIRST_INDEXED_ABOVE`] peers of one weight, without slow start, on a view that tells
/// which backends changed (the engine's fast path), where the same choices come from an
/// index ([`Indexed`]) at O(log n) per backend changed.
#[derive(Debug)]
pub struct NginxLeastConn {
    swrr: Swrr,
    /// The index, when kept (decided at the first pick).
    indexed: Option<Indexed>,
    considered: bool,
    slow_start: Option<SlowStart>,
    watch: RampWatch,
    /// Scratch, one per backend, reused by every pick: connections and effective weights
    /// (the weights themselves unless a ramp is under way, or `ramped` says they are stale).
    conns: Vec<f64>,
    effective: Vec<f64>,
    ramped: bool,
}

impl NginxLeastConn {
    pub(crate) fn new(weights: &[u32], slow_start: Option<SlowStart>) -> Self {
        NginxLeastConn {
            swrr: Swrr::whole(weights),
            indexed: None,
            considered: false,
            slow_start,
            watch: RampWatch::default(),
            conns: vec![0.0; weights.len()],
            effective: weights.iter().map(|&w| f64::from(w)).collect(),
            ramped: false,
        }
    }
}

impl Strategy for NginxLeastConn {
    const NAME: &'static str = "nginx_least_conn";
    const SUMMARY: &'static str =
        "nginx least_conn as written: fewest connections per weight, ties by smooth weighted round robin";
    const MODELS: &'static str = "nginx: upstream { least_conn; server … weight=N; } (with zone, or one worker)";
    const NEEDS: Needs = Needs::Counts;
    // nginx compares every peer, then runs the tie-break over the tied ones; over peers of
    // one weight on the fast path, an index instead.
    const PICK_COST: PickCost = PickCost::AsksAllOrIndexed;
    const INDEXED_WHEN: IndexedWhen = IndexedWhen::EqualConfiguredWeights;
    const PARAMS: &'static [ParamSpec] = &[slow_start::NGINX_PARAM];

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        let weights = real_weights(Self::NAME, "nginx", u32::MAX, setup.backends)?;
        Ok(NginxLeastConn::new(&weights, SlowStart::nginx(setup.params)?))
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        if !self.considered {
            self.considered = true;
            let n = self.conns.len();
            let weight = self.swrr.weight(0);
            if n > FIRST_INDEXED_ABOVE
                && self.slow_start.is_none()
                && (0..n).all(|i| self.swrr.weight(i) == weight)
                && CountIndex::can_serve(cluster)
            {
                self.indexed = Some(Indexed::new(n, weight as i128));
            }
        }
        if let Some(indexed) = &mut self.indexed {
            return indexed.pick(request.arrival, cluster);
        }
        if let Some(ramp) = &self.slow_start {
            if self.watch.ramping(ramp, cluster, request.arrival) {
                for (i, w) in self.effective.iter_mut().enumerate() {
                    *w = ramp.weight(self.swrr.weight(i), request.arrival, cluster.up_since(i));
                }
                self.ramped = true;
            } else if self.ramped {
                for (i, w) in self.effective.iter_mut().enumerate() {
                    *w = self.swrr.weight(i);
                }
                self.ramped = false;
            }
        }
        let (conns, weight) = (&mut self.conns, &self.effective);
        let mut best = 0;
        let mut many = false;
        for i in 0..conns.len() {
            cluster.scanning(i);
            conns[i] = f64::from(cluster.in_system(i));
            if i == 0 || conns[i] * weight[best] < conns[best] * weight[i] {
                best = i;
                many = false;
            } else if conns[i] * weight[best] == conns[best] * weight[i] {
                many = true;
            }
        }
        if !many {
            return best;
        }
        let (best_conns, best_weight) = (conns[best], weight[best]);
        self.swrr.pick_among(best, |i| conns[i] * best_weight == best_conns * weight[i], |i| weight[i])
    }
}

/// nginx least_conn over peers of one weight w, without asking every peer.
///
/// With one weight, the fewest connections per weight are the fewest connections, and the
/// tie-break is smooth weighted round robin among the peers holding the fewest, m: each of
/// them gains w, the one with the largest `current_weight` (the first on equality) wins and
/// loses w × their number. A peer's `current_weight` therefore changes only while it holds
/// exactly as many as the fewest: if `steps[c]` counts the tie-breaks taken among peers
/// holding c, a peer holding c since `stamp` (the value of `steps[c]` then) has
/// `current_weight` = base + w × (steps[c] − stamp), which is written back into `base`
/// whenever its count changes. Among the peers holding c, the order of their
/// `current_weight`s is the order of base − w × stamp, which a tie-break step does not
/// change but for the winner's: so the peers are kept ordered by (count, the largest
/// base − w × stamp, the first peer) and nginx's choice is the first of the order. Whole
/// numbers in `i128`: the values nginx's `int` and the scan's `f64` hold exactly.
#[derive(Debug)]
struct Indexed {
    ties: Ties,
    /// Which counts may have changed since the previous pick.
    watch: CountWatch,
    last: usize,
}

/// The peers in nginx's order of choice (see [`Indexed`]).
#[derive(Debug)]
struct Ties {
    weight: i128,
    /// (count, −(base − w × stamp), peer) of every peer.
    order: BTreeSet<(u32, i128, u32)>,
    peers: Vec<Peer>,
    /// Per count c: tie-break steps taken among the peers holding c.
    steps: Vec<i128>,
    /// Per count c: the peers holding c.
    holding: Vec<u32>,
}

#[derive(Debug, Clone, Copy)]
struct Peer {
    /// Its count (`UNSEEN` before the first pick).
    count: u32,
    base: i128,
    stamp: i128,
}

const UNSEEN: u32 = u32::MAX;

impl Peer {
    fn entry(&self, weight: i128, i: usize) -> (u32, i128, u32) {
        (self.count, weight * self.stamp - self.base, i as u32)
    }
}

impl Indexed {
    fn new(n: usize, weight: i128) -> Self {
        let ties = Ties {
            weight,
            order: BTreeSet::new(),
            peers: vec![Peer { count: UNSEEN, base: 0, stamp: 0 }; n],
            steps: Vec::new(),
            holding: Vec::new(),
        };
        Indexed { ties, watch: CountWatch::new(n), last: 0 }
    }

    /// nginx's choice at `now`: the first in the order once every count is brought up to
    /// date; a tie-break step among the peers holding the fewest if there are several.
    fn pick<C: Cluster + ?Sized>(&mut self, now: f64, cluster: &mut C) -> usize {
        let ties = &mut self.ties;
        self.watch.refresh(now, self.last, cluster, |i, count| ties.seen(i, count));
        let (fewest, _, chosen) = ties.order.pop_first().expect("a cluster has peers");
        let (fewest, chosen) = (fewest as usize, chosen as usize);
        let tied = ties.holding[fewest];
        if tied > 1 {
            // Every tied peer gains w; the chosen one loses w × their number.
            ties.steps[fewest] += 1;
            ties.peers[chosen].base -= ties.weight * i128::from(tied);
        }
        // It holds one more once admitted (if it was not full: the next pick looks again).
        ties.leave(chosen);
        ties.join(chosen, fewest as u32 + 1);
        self.last = chosen;
        chosen
    }
}

impl Ties {
    /// Peer `i` holds `count` now.
    fn seen(&mut self, i: usize, count: u32) {
        let peer = &self.peers[i];
        if peer.count == count {
            return;
        }
        if peer.count != UNSEEN {
            self.order.remove(&peer.entry(self.weight, i));
            self.leave(i);
        }
        self.join(i, count);
    }

    /// Peer `i`, out of the order, stops holding its count: its `current_weight` written
    /// out (it stops gaining with the peers holding as many).
    fn leave(&mut self, i: usize) {
        let peer = &mut self.peers[i];
        let c = peer.count as usize;
        self.holding[c] -= 1;
        peer.base += self.weight * (self.steps[c] - peer.stamp);
    }

    /// Peer `i`, out of the order, holds `count` from now on.
    fn join(&mut self, i: usize, count: u32) {
        let c = count as usize;
        if self.steps.len() <= c {
            self.steps.resize(c + 1, 0);
            self.holding.resize(c + 1, 0);
        }
        let peer = &mut self.peers[i];
        peer.count = count;
        peer.stamp = self.steps[c];
        self.holding[c] += 1;
        self.order.insert(peer.entry(self.weight, i));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request};

    fn picks(s: &mut NginxLeastConn, cluster: &mut MockCluster, n: usize) -> Vec<usize> {
        (0..n).map(|_| s.pick(&request(0, 1.0), cluster)).collect()
    }

    #[test]
    fn fewest_connections_per_weight_by_cross_multiplication() {
        let mut s = NginxLeastConn::new(&[1, 4, 2], None);
        let mut cluster = MockCluster::uniform(3);
        // 2/1, 6/4 = 1.5, 4/2 = 2: backend 1 though it holds the most.
        cluster.counts = vec![2, 6, 4];
        assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 1);
        assert_eq!(cluster.queried, [0, 1, 2], "every peer is looked at, in order");
    }

    #[test]
    fn ties_follow_smooth_weighted_round_robin() {
        // All idle with weights 5, 1, 1: the tie-break is nginx's SWRR, a a b a c a a.
        let mut s = NginxLeastConn::new(&[5, 1, 1], None);
        let mut cluster = MockCluster::uniform(3);
        let seq: String = picks(&mut s, &mut cluster, 7).iter().map(|&i| (b'a' + i as u8) as char).collect();
        assert_eq!(seq, "aabacaa");
        // Equal ratios 2/2 = 1/1 = 1/1 tie too (cross-multiplied, not equal counts).
        let mut s = NginxLeastConn::new(&[2, 1, 1], None);
        cluster.counts = vec![2, 1, 1];
        assert_eq!(picks(&mut s, &mut cluster, 4), [0, 1, 2, 0]);
    }

    #[test]
    fn only_tied_peers_take_part_in_the_round_robin() {
        let mut s = NginxLeastConn::new(&[1, 1, 1, 1], None);
        let mut cluster = MockCluster::uniform(4);
        cluster.counts = vec![3, 1, 1, 2];
        assert_eq!(picks(&mut s, &mut cluster, 4), [1, 2, 1, 2]);
        // Backends 0 and 3 never took part: their current_weight is still 0, so when all
        // tie they are not behind: SWRR over equal weights from a fresh state for them.
        assert_eq!((s.swrr_current(0), s.swrr_current(3)), (0.0, 0.0));
    }

    #[test]
    fn a_unique_minimum_leaves_the_round_robin_alone() {
        let mut s = NginxLeastConn::new(&[1, 1], None);
        let mut cluster = MockCluster::uniform(2);
        cluster.counts = vec![1, 0];
        assert_eq!(picks(&mut s, &mut cluster, 3), [1, 1, 1]);
        assert_eq!((s.swrr_current(0), s.swrr_current(1)), (0.0, 0.0));
    }

    impl NginxLeastConn {
        fn swrr_current(&self, i: usize) -> f64 {
            self.swrr.current(i)
        }
    }
}
