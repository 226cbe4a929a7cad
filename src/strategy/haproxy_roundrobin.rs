//! `haproxy_roundrobin`: HAProxy `balance roundrobin`, the fast weighted round robin of
//! lb_fwrr.c, transcribed.

use std::collections::BTreeSet;

use super::haproxy_chash::BE_WEIGHT_SCALE;
use super::real_weights::real_weights;
use super::slow_start::{self, RampWatch, SlowStart};
use super::{Cluster, Needs, ParamSpec, PickCost, Setup, Shares, Strategy, StrategyError};
use crate::model::Request;

/// HAProxy's `SRV_EWGHT_MAX` and `SRV_UWGHT_RANGE`.
const SRV_EWGHT_MAX: u64 = 256 * BE_WEIGHT_SCALE as u64;
const SRV_UWGHT_RANGE: u64 = 256;

/// Servers up to which the first of a tree is found by a scan (see `HaproxyRoundrobin::trees`):
/// at 16 servers the scan picks 1.5× as fast as the ordered sets, at 4 096 the sets 1 000×.
const SCANNED_UP_TO: usize = 64;

/// One of the group's trees as an ordered set of (key, insertion number, server).
type Ordered = BTreeSet<(u64, u64, u32)>;

/// Which of the group's trees a server is in.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tree {
    Curr = 0,
    Init = 1,
    Next = 2,
}

#[derive(Debug, Clone)]
struct Server {
    /// Effective weight now (16 × weight, less while slow start ramps it).
    eweight: u64,
    /// 16 × weight.
    full: u64,
    npos: u64,
    /// The position before the last pick (`lpos`), where a weight change re-places it from.
    lpos: u64,
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
/// saturated or avoided here (no `maxconn`).
///
/// With `slow_start`, a server that came back has its effective weight ramped in sixteenths
/// (`server_recalc_eweight`), and each change goes through `fwrr_update_server_weight`:
/// the group's `next_weight` moves by the difference, and a server in `init` is re-sorted
/// by its new weight while one in `curr` (or `next`) is re-placed at `lpos + next_weight /
/// eweight`, never later than it was, and at least two positions ahead.
#[derive(Debug)]
pub struct HaproxyRoundrobin {
    servers: Vec<Server>,
    /// The trees, by [`Tree`], on more than [`SCANNED_UP_TO`] servers: each server once,
    /// as (key, insertion number, server), so the first is the eb32 tree's first in log n
    /// steps, as in HAProxy. (On fewer, a scan of the servers' `tree` and `key` finds it
    /// sooner than the sets are kept up to date.)
    trees: Option<Box<[Ordered; 3]>>,
    curr_pos: u64,
    curr_weight: u64,
    next_weight: u64,
    inserted: u64,
    slow_start: Option<SlowStart>,
    watch: RampWatch,
    /// Whether some server's effective weight is below its full weight.
    ramped: bool,
}

impl HaproxyRoundrobin {
    pub(crate) fn new(weights: &[u32]) -> Self {
        Self::with_sets(weights, weights.len() > SCANNED_UP_TO)
    }

    /// [`HaproxyRoundrobin::new`], keeping the trees as ordered sets or not.
    fn with_sets(weights: &[u32], sets: bool) -> Self {
        let total: u64 = weights.iter().map(|&w| u64::from(w * BE_WEIGHT_SCALE)).sum();
        let mut s = HaproxyRoundrobin {
            servers: weights
                .iter()
                .map(|&w| Server {
                    eweight: u64::from(w * BE_WEIGHT_SCALE),
                    full: u64::from(w * BE_WEIGHT_SCALE),
                    npos: 0,
                    lpos: 0,
                    rweight: 0,
                    tree: Tree::Init,
                    key: 0,
                    inserted: 0,
                })
                .collect(),
            trees: sets.then(Box::default),
            curr_pos: total,
            curr_weight: total,
            next_weight: total,
            inserted: 0,
            slow_start: None,
            watch: RampWatch::default(),
            ramped: false,
        };
        for i in 0..s.servers.len() {
            s.queue_by_weight(i, Tree::Init);
        }
        s
    }

    fn queue_by_weight(&mut self, i: usize, tree: Tree) {
        let key = SRV_EWGHT_MAX - self.servers[i].eweight;
        self.place(i, tree, key);
    }

    /// Moves server `i` to `tree` under `key`, as the last inserted of its key.
    fn place(&mut self, i: usize, tree: Tree, key: u64) {
        let s = &mut self.servers[i];
        if let Some(trees) = &mut self.trees {
            // (A new server is in no tree yet: nothing to take out.)
            trees[s.tree as usize].remove(&(s.key, s.inserted, i as u32));
            trees[tree as usize].insert((key, self.inserted, i as u32));
        }
        (s.tree, s.key, s.inserted) = (tree, key, self.inserted);
        self.inserted += 1;
    }

    /// The first server of `tree` (smallest key, then oldest insertion).
    fn first(&self, tree: Tree) -> Option<usize> {
        match &self.trees {
            Some(trees) => trees[tree as usize].first().map(|&(_, _, i)| i as usize),
            None => (0..self.servers.len())
                .filter(|&i| self.servers[i].tree == tree)
                .min_by_key(|&i| (self.servers[i].key, self.servers[i].inserted)),
        }
    }

    /// `fwrr_get_server_from_group`: the first of `curr` if its position is reached, else
    /// the first of `init`, else (a hole in the window, which weight changes can leave) the
    /// first of `curr` anyway.
    fn server_from_group(&mut self) -> Option<usize> {
        let first = self.first(Tree::Curr);
        if let Some(i) = first
            && self.servers[i].npos <= self.curr_pos
        {
            return Some(i);
        }
        match self.first(Tree::Init) {
            Some(i) => {
                let s = &mut self.servers[i];
                s.npos = 0;
                s.rweight = 0;
                Some(i)
            }
            None => first,
        }
    }

    /// `fwrr_update_position`.
    fn update_position(&mut self, i: usize) {
        let (curr_pos, next_weight) = (self.curr_pos, self.next_weight);
        let s = &mut self.servers[i];
        if s.npos == 0 {
            s.npos = curr_pos;
        }
        s.lpos = s.npos;
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
            let key = SRV_UWGHT_RANGE * s.npos + (SRV_EWGHT_MAX + s.rweight - s.eweight) / u64::from(BE_WEIGHT_SCALE);
            self.place(i, Tree::Curr, key);
        }
    }

    /// `fwrr_update_server_weight` for a server that stays up: its effective weight
    /// becomes `eweight` (> 0).
    fn set_eweight(&mut self, i: usize, eweight: u64) {
        let old = self.servers[i].eweight;
        if old == eweight {
            return;
        }
        self.next_weight = self.next_weight - old + eweight;
        let (curr_pos, curr_weight, next_weight) = (self.curr_pos, self.curr_weight, self.next_weight);
        let s = &mut self.servers[i];
        s.eweight = eweight;
        match s.tree {
            Tree::Init => self.queue_by_weight(i, Tree::Init),
            tree => {
                // `fwrr_get_srv`: a server taken from `next` counts in this window's positions.
                if tree == Tree::Next {
                    s.npos += curr_weight;
                }
                let prev_next = s.npos;
                let step = next_weight / eweight;
                s.npos = (s.lpos + step).min(prev_next);
                s.rweight = 0;
                if s.npos < curr_pos + 2 {
                    s.npos = curr_pos + step;
                }
                self.queue(i);
            }
        }
    }

    /// Brings every server's effective weight to what slow start gives it at `now`.
    fn ramp<C: Cluster + ?Sized>(&mut self, now: f64, cluster: &C) {
        let Some(ramp) = self.slow_start else { return };
        if self.watch.ramping(&ramp, cluster, now) {
            for i in 0..self.servers.len() {
                let full = self.servers[i].full;
                let eweight = u64::from(ramp.eweight(full as u32, now - cluster.up_since(i)));
                self.set_eweight(i, eweight);
            }
            self.ramped = true;
        } else if self.ramped {
            for i in 0..self.servers.len() {
                self.set_eweight(i, self.servers[i].full);
            }
            self.ramped = false;
        }
    }
}

impl Strategy for HaproxyRoundrobin {
    const NAME: &'static str = "haproxy_roundrobin";
    const SUMMARY: &'static str = "HAProxy roundrobin: HAProxy's fast weighted round robin (lb_fwrr.c)";
    const MODELS: &'static str = "HAProxy: balance roundrobin (server … weight N)";
    const NEEDS: Needs = Needs::Nothing;
    // The first server of the current and init trees: ordered sets, as HAProxy's eb trees.
    const PICK_COST: PickCost = PickCost::Logarithmic;
    const PARAMS: &'static [ParamSpec] = &[slow_start::HAPROXY_PARAM];

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        let mut s = HaproxyRoundrobin::new(&real_weights(Self::NAME, "HAProxy", 256, setup.backends)?);
        s.slow_start = SlowStart::haproxy(setup.params)?;
        Ok(s)
    }

    /// In proportion to the weights (on backends that never fail, no slow start ramps).
    fn shares(setup: &Setup<'_>) -> Option<Shares> {
        let weights = real_weights(Self::NAME, "HAProxy", 256, setup.backends).ok()?;
        Some(Shares::dealt(weights.into_iter().map(f64::from)))
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        if self.slow_start.is_some() {
            self.ramp(request.arrival, cluster);
        }
        if self.curr_weight == 0 {
            self.curr_pos = self.next_weight;
            self.curr_weight = self.next_weight;
        }
        let chosen = match self.server_from_group() {
            Some(i) => i,
            None => {
                // Both trees empty: swap init and next, restart the window. (Every server is
                // in `next`: a walk once a window of at least 16 picks a server.)
                for s in &mut self.servers {
                    if s.tree == Tree::Next {
                        s.tree = Tree::Init;
                    }
                }
                if let Some(trees) = &mut self.trees {
                    let next = std::mem::take(&mut trees[Tree::Next as usize]);
                    trees[Tree::Init as usize].extend(next);
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

    /// The trees hold each server once, under its key, tree and insertion number: their
    /// first is the first a scan of every server finds (HAProxy's eb32 trees).
    fn assert_trees_match_servers(s: &HaproxyRoundrobin) {
        let trees = s.trees.as_ref().expect("kept");
        for tree in [Tree::Curr, Tree::Init, Tree::Next] {
            let scanned: Ordered = (0..s.servers.len())
                .filter(|&i| s.servers[i].tree == tree)
                .map(|i| (s.servers[i].key, s.servers[i].inserted, i as u32))
                .collect();
            assert_eq!(trees[tree as usize], scanned, "{tree:?}");
        }
    }

    #[test]
    fn the_trees_follow_every_move_under_random_weights_and_ramps() {
        use crate::strategy::{ParamValue, Params};
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(15);
        for _ in 0..40 {
            let n = rng.random_range(1..30);
            let weights: Vec<u32> = (0..n).map(|_| rng.random_range(1..9)).collect();
            // Sets on a few servers too, and a scan beside them with the same choices.
            let (mut s, mut scanning) =
                (HaproxyRoundrobin::with_sets(&weights, true), HaproxyRoundrobin::with_sets(&weights, false));
            s.slow_start = SlowStart::haproxy(&Params::new("s").with("slow_start", ParamValue::Number(16.0))).unwrap();
            scanning.slow_start = s.slow_start;
            let mut cluster = MockCluster::uniform(n);
            let mut t = 1.0;
            for pick in 0..2000 {
                if pick % 250 == 0 {
                    // Some servers come back and ramp.
                    let back = rng.random_range(0..n);
                    cluster.up = (0..n).map(|i| if i == back { t } else { f64::NEG_INFINITY }).collect();
                }
                t += rng.random_range(0.0..0.2);
                let r = Request { arrival: t, ..request(0, 1.0) };
                assert_eq!(s.pick(&r, &mut cluster), scanning.pick(&r, &mut cluster));
                if pick % 7 == 0 {
                    assert_trees_match_servers(&s);
                }
            }
            assert_trees_match_servers(&s);
        }
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

    #[test]
    fn slow_start_ramps_a_returning_server_in_sixteenths() {
        use crate::strategy::{ParamValue, Params};
        let mut s = HaproxyRoundrobin::new(&[1, 1]);
        s.slow_start = SlowStart::haproxy(&Params::new("s").with("slow_start", ParamValue::Number(16.0))).unwrap();
        let mut cluster = MockCluster::uniform(2);
        let count_b = |s: &mut HaproxyRoundrobin, cluster: &mut MockCluster, n: usize, t: f64| {
            let r = Request { arrival: t, ..request(0, 1.0) };
            (0..n).filter(|_| s.pick(&r, cluster) == 1).count()
        };
        // Up all along: no ramp, the servers alternate.
        assert_eq!(count_b(&mut s, &mut cluster, 10, 1.0), 5);
        // b came back at t = 100 s with slowstart 16s: in its first second its eweight is 1
        // (one sixteenth of 16), a's 16: one pick in 17 over each window of 17.
        cluster.up = vec![f64::NEG_INFINITY, 100.0];
        let b = count_b(&mut s, &mut cluster, 17 * 20, 100.5);
        assert!((19..=21).contains(&b), "{b} of 340");
        // 7 whole seconds later: ⌊(16·7 + 16) / 16⌋ = 8 sixteenths, 8 picks in 24.
        let b = count_b(&mut s, &mut cluster, 24 * 20, 107.2);
        assert!((158..=162).contains(&b), "{b} of 480");
        // The ramp is over at 116 s: full weight again.
        let b = count_b(&mut s, &mut cluster, 100, 120.0);
        assert!((49..=51).contains(&b), "{b} of 100");
        assert!(s.servers.iter().all(|srv| srv.eweight == srv.full));
    }
}
