//! nginx's smooth weighted round robin step (`ngx_http_upstream_get_peer` in
//! ngx_http_upstream_round_robin.c), shared by `nginx_round_robin`, `weighted_round_robin`
//! and `nginx_least_conn`'s tie-break.

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
#[derive(Debug, Clone)]
pub(crate) struct Swrr {
    weights: Vec<f64>,
    current: Vec<f64>,
    total: f64,
}

impl Swrr {
    /// Peers with these weights, every `current_weight` at zero.
    pub(crate) fn new(weights: Vec<f64>) -> Self {
        Swrr { total: weights.iter().sum(), current: vec![0.0; weights.len()], weights }
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
        self.current[i]
    }

    /// One pick over every peer with its configured weight.
    #[inline]
    pub(crate) fn pick(&mut self) -> usize {
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
