//! nginx's smooth weighted round robin step (`ngx_http_upstream_get_peer` in
//! ngx_http_upstream_round_robin.c), shared by `nginx_round_robin`, `weighted_round_robin`
//! and `nginx_least_conn`'s tie-break.

use std::collections::BTreeMap;

use super::Cluster;
use super::slow_start::{RampWatch, SlowStart};

/// nginx's smooth weighted round robin state: each peer's `current_weight`.
///
/// For each request, over every peer: `current_weight += effective_weight` and `total +=
/// effective_weight`; the peer with the largest `current_weight` is chosen (ties: the first
/// in order, since nginx replaces its best only on a strictly larger value); then
/// `chosen.current_weight -= total`. Over any Σw consecutive picks (integer weights) peer i
/// is chosen exactly wᵢ times, interleaved: weights 5, 1, 1 give `a a b a c a a`.
///
/// Weights are `f64`: nginx's whole numbers are exact (up to 2⁵³), slow start can scale
/// them, and the textbook strategy's weights default to capacities.
///
/// nginx walks every peer on every pick. With whole-number weights and only plain picks
/// ([`Swrr::pick`]) the same choices take one step per distinct weight instead
/// ([`Classes`]), so a fleet of 100 000 equal peers costs what three do; the first pick that
/// weighs peers otherwise ([`Swrr::pick_with`], [`Swrr::pick_among`]) writes every
/// `current_weight` out and walks from then on.
#[derive(Debug, Clone)]
pub(crate) struct Swrr {
    weights: Vec<f64>,
    /// Each peer's `current_weight`; while `classes` is `Some`, what it was when they took
    /// over (all zero), the current values being theirs.
    current: Vec<f64>,
    total: f64,
    classes: Option<Classes>,
}

/// Smooth weighted round robin with whole-number weights, by weight class.
///
/// After t plain picks from all-zero, peer i's `current_weight` is t·wᵢ − Σw·kᵢ (kᵢ: the
/// times it was chosen), exactly, in integers and so in `f64` below 2⁵³. Among peers of
/// equal weight the largest is the one chosen least, the first in order on ties: they take
/// their turns in order, so the peers of one weight from the class's `next` on have been
/// chosen `level` times and those before it `level + 1`. A pick is then the class whose
/// turn-taker has the largest (t + 1)·w − Σw·level, the lowest peer on ties — the peer
/// nginx's walk chooses, one step per class instead of one per peer.
///
/// HAProxy's static-rr map is filled by the same step with the values taken in whole
/// multiples of Σw (`quantum`; 1 for nginx): peers of one weight still take their turns in
/// order, the chosen ones being a whole Σw lower.
#[derive(Debug, Clone)]
pub(crate) struct Classes {
    /// Plain picks so far (t).
    picks: u64,
    total: i128,
    quantum: i128,
    classes: Vec<Class>,
}

#[derive(Debug, Clone)]
struct Class {
    weight: i128,
    /// The peers of this weight, in order.
    peers: Vec<u32>,
    /// Where the class's turn is (an index into `peers`).
    next: usize,
    /// Times each peer from `next` on was chosen.
    level: i128,
}

/// Largest Σw kept on classes: every `current_weight` then stays an exact `f64` integer
/// (they stay within ±Σw).
const LARGEST_CLASS_TOTAL: f64 = (1u64 << 52) as f64;

impl Classes {
    /// Classes of `weights` if they are whole numbers with a positive sum below
    /// [`LARGEST_CLASS_TOTAL`].
    fn of(weights: &[f64]) -> Option<Classes> {
        let total: f64 = weights.iter().sum();
        let whole = weights.iter().all(|&w| w >= 0.0 && w.fract() == 0.0);
        if !(whole && (1.0..LARGEST_CLASS_TOTAL).contains(&total)) {
            return None;
        }
        Some(Classes::quantized(weights.iter().map(|&w| w as u64), 1))
    }

    /// Classes of whole-number `weights` (with a positive sum) whose values count in whole
    /// multiples of `quantum`.
    pub(crate) fn quantized(weights: impl Iterator<Item = u64>, quantum: u64) -> Classes {
        // (Class order is free: ties go to the lowest peer, whatever its class.)
        let mut by_weight: BTreeMap<u64, Class> = BTreeMap::new();
        let mut total = 0;
        for (i, w) in weights.enumerate() {
            total += i128::from(w);
            let class = by_weight.entry(w).or_insert_with(|| Class {
                weight: i128::from(w),
                peers: Vec::new(),
                next: 0,
                level: 0,
            });
            class.peers.push(i as u32);
        }
        Classes { picks: 0, total, quantum: i128::from(quantum.max(1)), classes: by_weight.into_values().collect() }
    }

    /// The peer the next step chooses.
    #[inline]
    pub(crate) fn pick(&mut self) -> usize {
        let t = i128::from(self.picks) + 1;
        let mut best = 0;
        let (mut best_value, mut best_peer) = (i128::MIN, u32::MAX);
        for (k, c) in self.classes.iter().enumerate() {
            let mut value = t * c.weight - self.total * c.level;
            if self.quantum != 1 {
                value = value.div_euclid(self.quantum);
            }
            let peer = c.peers[c.next];
            if value > best_value || (value == best_value && peer < best_peer) {
                (best, best_value, best_peer) = (k, value, peer);
            }
        }
        let c = &mut self.classes[best];
        c.next += 1;
        if c.next == c.peers.len() {
            (c.next, c.level) = (0, c.level + 1);
        }
        self.picks += 1;
        best_peer as usize
    }

    /// Every peer's `current_weight` now.
    fn current(&self, peers: usize) -> Vec<f64> {
        let t = i128::from(self.picks);
        let mut current = vec![0.0; peers];
        for c in &self.classes {
            for (position, &peer) in c.peers.iter().enumerate() {
                let chosen = c.level + i128::from(position < c.next);
                current[peer as usize] = (t * c.weight - self.total * chosen) as f64;
            }
        }
        current
    }
}

impl Swrr {
    /// Peers with these weights, every `current_weight` at zero.
    pub(crate) fn new(weights: Vec<f64>) -> Self {
        Swrr { total: weights.iter().sum(), current: vec![0.0; weights.len()], classes: Classes::of(&weights), weights }
    }

    /// Peers with nginx's whole-number weights.
    pub(crate) fn whole(weights: &[u32]) -> Self {
        Self::new(weights.iter().map(|&w| f64::from(w)).collect())
    }

    /// The configured weight of peer `i`.
    #[inline]
    pub(crate) fn weight(&self, i: usize) -> f64 {
        self.weights[i]
    }

    /// Peer `i`'s `current_weight`.
    #[cfg(test)]
    pub(crate) fn current(&self, i: usize) -> f64 {
        match &self.classes {
            Some(classes) => classes.current(self.weights.len())[i],
            None => self.current[i],
        }
    }

    /// Leaves the classes for the walk: every `current_weight` written out.
    #[cold]
    fn walk_from_now_on(&mut self) {
        if let Some(classes) = self.classes.take() {
            self.current = classes.current(self.weights.len());
        }
    }

    /// One pick over every peer with its configured weight.
    #[inline]
    pub(crate) fn pick(&mut self) -> usize {
        if let Some(classes) = &mut self.classes {
            return classes.pick();
        }
        let mut best = 0;
        let mut best_current = f64::NEG_INFINITY;
        for (i, (current, weight)) in self.current.iter_mut().zip(&self.weights).enumerate() {
            *current += weight;
            if *current > best_current {
                best = i;
                best_current = *current;
            }
        }
        self.current[best] -= self.total;
        best
    }

    /// One pick over every peer, peer i counting with `effective(i, weight)`.
    #[inline]
    pub(crate) fn pick_with(&mut self, mut effective: impl FnMut(usize, f64) -> f64) -> usize {
        self.walk_from_now_on();
        let mut best = 0;
        let mut best_current = f64::NEG_INFINITY;
        let mut total = 0.0;
        for (i, (current, &weight)) in self.current.iter_mut().zip(&self.weights).enumerate() {
            let w = effective(i, weight);
            *current += w;
            total += w;
            if *current > best_current {
                best = i;
                best_current = *current;
            }
        }
        self.current[best] -= total;
        best
    }

    /// nginx least_conn's tie-break: one smooth weighted round robin step among the peers
    /// `tied` accepts only, starting at `first` (the first tied peer), peer i counting with
    /// `effective(i)`. Untied peers' `current_weight` is left alone, as in
    /// `ngx_http_upstream_get_least_conn_peer`.
    #[inline]
    pub(crate) fn pick_among(
        &mut self,
        first: usize,
        mut tied: impl FnMut(usize) -> bool,
        mut effective: impl FnMut(usize) -> f64,
    ) -> usize {
        self.walk_from_now_on();
        let mut best = first;
        let mut total = 0.0;
        for i in first..self.weights.len() {
            if !tied(i) {
                continue;
            }
            let w = effective(i);
            self.current[i] += w;
            total += w;
            if self.current[i] > self.current[best] {
                best = i;
            }
        }
        self.current[best] -= total;
        best
    }
}

/// Smooth weighted round robin as `nginx_round_robin` and `weighted_round_robin` pick: on
/// the weights themselves, or, with slow start, on each weight ramped since its backend came
/// back ([`Cluster::up_since`]) while any ramp is under way.
#[derive(Debug)]
pub(crate) struct RampedSwrr {
    swrr: Swrr,
    slow_start: Option<SlowStart>,
    watch: RampWatch,
}

impl RampedSwrr {
    pub(crate) fn new(swrr: Swrr, slow_start: Option<SlowStart>) -> Self {
        RampedSwrr { swrr, slow_start, watch: RampWatch::default() }
    }

    /// The pick of a request arriving at `now`.
    #[inline]
    pub(crate) fn pick<C: Cluster + ?Sized>(&mut self, now: f64, cluster: &mut C) -> usize {
        match &self.slow_start {
            Some(ramp) if self.watch.ramping(ramp, cluster, now) => {
                self.swrr.pick_with(|i, w| ramp.weight(w, now, cluster.up_since(i)))
            }
            _ => self.swrr.pick(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// nginx's walk over every peer, whatever the weights.
    fn walking(weights: &[f64]) -> Swrr {
        let mut s = Swrr::new(weights.to_vec());
        s.walk_from_now_on();
        s
    }

    fn assert_same_picks(weights: &[f64], picks: usize) {
        let (mut by_class, mut walk) = (Swrr::new(weights.to_vec()), walking(weights));
        assert!(by_class.classes.is_some(), "{weights:?}");
        for k in 0..picks {
            assert_eq!(by_class.pick(), walk.pick(), "pick {k} of weights {weights:?}");
            if k % 97 == 0 {
                let classes = by_class.classes.as_ref().unwrap();
                assert_eq!(classes.current(weights.len()), walk.current, "current_weight after {k}");
            }
        }
    }

    #[test]
    fn classes_choose_as_the_walk_does() {
        assert_same_picks(&[5.0, 1.0, 1.0], 50);
        assert_same_picks(&[1.0; 7], 50);
        assert_same_picks(&[3.0, 0.0, 3.0, 1.0, 0.0, 2.0], 100);
        assert_same_picks(&[1.0], 5);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(15);
        for _ in 0..300 {
            let n = rng.random_range(1..40);
            let classes = rng.random_range(1..6u32);
            let mut weights: Vec<f64> = (0..n).map(|_| f64::from(rng.random_range(0..classes) * 3 + 1)).collect();
            if rng.random_bool(0.3) {
                weights[rng.random_range(0..n)] = 0.0;
            }
            if weights.iter().all(|&w| w == 0.0) {
                weights[0] = 1.0;
            }
            let total: f64 = weights.iter().sum();
            assert_same_picks(&weights, (2.5 * total) as usize + 10);
        }
        // A large fleet: three weights over 3 000 peers, two whole windows and a half.
        let weights: Vec<f64> = (0..3000).map(|i| [2.0, 1.0, 7.0][i % 3]).collect();
        assert_same_picks(&weights, 25_000);
    }

    #[test]
    fn a_weighed_pick_writes_the_weights_out_and_walks_on() {
        let weights = [4.0, 1.0, 2.0, 2.0, 1.0];
        for before in [0, 1, 3, 9, 10, 23] {
            let (mut by_class, mut walk) = (Swrr::new(weights.to_vec()), walking(&weights));
            for _ in 0..before {
                assert_eq!(by_class.pick(), walk.pick());
            }
            let halve_third = |i: usize, w: f64| if i == 2 { w / 2.0 } else { w };
            assert_eq!(by_class.pick_with(halve_third), walk.pick_with(halve_third));
            assert!(by_class.classes.is_none());
            assert_eq!(
                by_class.pick_among(1, |i| i != 3, |i| weights[i]),
                walk.pick_among(1, |i| i != 3, |i| weights[i])
            );
            for k in 0..40 {
                assert_eq!(by_class.pick(), walk.pick(), "pick {k} after {before}");
            }
        }
    }

    #[test]
    fn weights_that_are_not_whole_numbers_walk() {
        assert!(Swrr::new(vec![1.5, 0.5]).classes.is_none());
        assert!(Swrr::new(vec![0.0, 0.0]).classes.is_none(), "nothing to share out");
        assert!(Swrr::new(vec![2f64.powi(53), 1.0]).classes.is_none(), "beyond exact integers");
        assert!(Swrr::whole(&[3, 1]).classes.is_some());
    }
}
