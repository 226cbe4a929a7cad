//! `haproxy_roundrobin`: HAProxy `balance roundrobin`, the fast weighted round robin of
//! lb_fwrr.c, transcribed.

use super::haproxy_chash::BE_WEIGHT_SCALE;
use super::real_weights::real_weights;
use super::{Cluster, Needs, Setup, Strategy, StrategyError};
use crate::model::Request;

/// HAProxy's `SRV_EWGHT_MAX` and `SRV_UWGHT_RANGE`.
const SRV_EWGHT_MAX: u64 = 256 * BE_WEIGHT_SCALE as u64;
const SRV_UWGHT_RANGE: u64 = 256;

/// Which of the group's trees a server is in.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tree {
    Curr,
    Init,
    Next,
}

#[derive(Debug, Clone)]
struct Server {
    eweight: u64,
    npos: u64,
    rweight: u64,
    tree: Tree,
    /// Sort key within its tree, and insertion number (eb32 trees keep equal keys in
    /// insertion order).
    key: u64,
    inserted: u64,
}

/// HAProxy `balance roundrobin` (`fwrr_get_next_server`, lb_fwrr.c) with static weights:
///
/// - servers wait in three trees: `init` and `next`, sorted heaviest first (key
///   `4096 − eweight`), and `curr`, sorted by next position (key `256 × npos + (4096 +
///   rweight − eweight) / 16`); eweight = 16 × weight;
/// - a pick takes the first server of `curr` if its position `npos` has been reached
///   (`npos ≤ curr_pos`), else the first of `init` (position reset); when both are empty
///   the trees `init` and `next` are swapped and the window restarts at `curr_pos =
///   curr_weight = Σ eweight`;
/// - the picked server advances by `Σ eweight / eweight` positions, the remainder carried
///   in `rweight`; `curr_pos` advances by one; the server goes back to `curr`, or to
///   `next` if its new position falls beyond the window (`npos ≥ 2 × curr_weight` or
///   `≥ curr_weight + next_weight`, its position then reduced by `curr_weight`).
///
/// The result is smooth and in proportion to the weights over each window of Σ eweight
/// picks. Weights are HAProxy's (`weight`, default 1, at most 256); servers are never
/// saturated or avoided here (no `maxconn`), and dynamic weight changes (slow start) are
/// not modelled for this strategy.
#[derive(Debug)]
pub struct HaproxyRoundrobin {
    servers: Vec<Server>,
    curr_pos: u64,
    curr_weight: u64,
    next_weight: u64,
    inserted: u64,
}

impl HaproxyRoundrobin {
    pub(crate) fn new(weights: &[u32]) -> Self {
        let total: u64 = weights.iter().map(|&w| u64::from(w * BE_WEIGHT_SCALE)).sum();
        let mut s = HaproxyRoundrobin {
            servers: weights
                .iter()
                .map(|&w| Server {
                    eweight: u64::from(w * BE_WEIGHT_SCALE),
                    npos: 0,
                    rweight: 0,
                    tree: Tree::Init,
                    key: 0,
                    inserted: 0,
                })
                .collect(),
            curr_pos: total,
            curr_weight: total,
            next_weight: total,
            inserted: 0,
        };
        for i in 0..s.servers.len() {
            s.queue_by_weight(i, Tree::Init);
        }
        s
    }

    fn queue_by_weight(&mut self, i: usize, tree: Tree) {
        let s = &mut self.servers[i];
        s.key = SRV_EWGHT_MAX - s.eweight;
        s.tree = tree;
        s.inserted = self.inserted;
        self.inserted += 1;
    }

    /// The first server of `tree` (smallest key, then oldest insertion).
    fn first(&self, tree: Tree) -> Option<usize> {
        (0..self.servers.len())
            .filter(|&i| self.servers[i].tree == tree)
            .min_by_key(|&i| (self.servers[i].key, self.servers[i].inserted))
    }

    /// `fwrr_get_server_from_group`.
    fn server_from_group(&mut self) -> Option<usize> {
        match self.first(Tree::Curr) {
            Some(i) if self.servers[i].npos <= self.curr_pos => Some(i),
            _ => {
                let i = self.first(Tree::Init)?;
                let s = &mut self.servers[i];
                s.npos = 0;
                s.rweight = 0;
                Some(i)
            }
        }
    }

    /// `fwrr_update_position`.
    fn update_position(&mut self, i: usize) {
        let (curr_pos, next_weight) = (self.curr_pos, self.next_weight);
        let s = &mut self.servers[i];
        if s.npos == 0 {
            s.npos = curr_pos;
        }
        s.npos += next_weight / s.eweight;
        s.rweight += next_weight % s.eweight;
        if s.rweight >= s.eweight {
            s.rweight -= s.eweight;
            s.npos += 1;
        }
    }

    /// `fwrr_queue_srv`.
    fn queue(&mut self, i: usize) {
        let (curr_weight, next_weight) = (self.curr_weight, self.next_weight);
        let s = &mut self.servers[i];
        if s.npos >= 2 * curr_weight || s.npos >= curr_weight + next_weight {
            s.npos -= curr_weight;
            self.queue_by_weight(i, Tree::Next);
        } else {
            s.key = SRV_UWGHT_RANGE * s.npos + (SRV_EWGHT_MAX + s.rweight - s.eweight) / u64::from(BE_WEIGHT_SCALE);
            s.tree = Tree::Curr;
            s.inserted = self.inserted;
            self.inserted += 1;
        }
    }
}

impl Strategy for HaproxyRoundrobin {
    const NAME: &'static str = "haproxy_roundrobin";
    const SUMMARY: &'static str = "HAProxy roundrobin: HAProxy's fast weighted round robin (lb_fwrr.c)";
    const MODELS: &'static str = "HAProxy: balance roundrobin (server … weight N)";
    const NEEDS: Needs = Needs::Nothing;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        Ok(HaproxyRoundrobin::new(&real_weights(Self::NAME, "HAProxy", 256, setup.backends)?))
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, _request: &Request, _cluster: &mut C) -> usize {
        if self.curr_weight == 0 {
            self.curr_pos = self.next_weight;
            self.curr_weight = self.next_weight;
        }
        let chosen = match self.server_from_group() {
            Some(i) => i,
            None => {
                // Both trees empty: swap init and next, restart the window.
                for s in &mut self.servers {
                    if s.tree == Tree::Next {
                        s.tree = Tree::Init;
                    }
                }
                self.curr_weight = self.next_weight;
                self.curr_pos = self.curr_weight;
                self.server_from_group().expect("every server is in a tree")
            }
        };
        self.update_position(chosen);
        self.curr_pos += 1;
        self.queue(chosen);
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request};

    fn sequence(weights: &[u32], n: usize) -> Vec<usize> {
        let mut s = HaproxyRoundrobin::new(weights);
        let mut cluster = MockCluster::uniform(weights.len());
        (0..n).map(|_| s.pick(&request(0, 1.0), &mut cluster)).collect()
    }

    #[test]
    fn equal_weights_take_turns() {
        assert_eq!(sequence(&[1, 1, 1], 9), [0, 1, 2, 0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn weights_5_1_1_are_spread_and_exact_per_window() {
        let seq = sequence(&[5, 1, 1], 7 * 16 * 3);
        let letters: String = seq[..14].iter().map(|&i| (b'a' + i as u8) as char).collect();
        eprintln!("haproxy roundrobin 5,1,1: {letters}");
        // Every window of Σ eweight = 112 picks holds 80, 16 and 16.
        for window in seq.chunks(112) {
            let count = |k| window.iter().filter(|&&i| i == k).count();
            assert_eq!((count(0), count(1), count(2)), (80, 16, 16));
        }
        // Smooth: the light servers never come twice in a row.
        assert!(seq.windows(2).all(|w| w[0] == 0 || w[0] != w[1]), "{letters}");
    }
}
