//! HAProxy's consistent-hash tree (lb_chash.c), shared by `haproxy_hash` and
//! `haproxy_random`: the ring, its lookup and the bounded-load walk of
//! `hash-balance-factor`.

use super::{Cluster, StrategyError};

/// HAProxy's `BE_WEIGHT_SCALE`: a server of weight w has effective weight 16·w.
pub(crate) const BE_WEIGHT_SCALE: u32 = 16;
/// HAProxy's `SRV_EWGHT_RANGE` = `SRV_UWGHT_RANGE` (256) × `BE_WEIGHT_SCALE`.
const SRV_EWGHT_RANGE: u32 = 256 * BE_WEIGHT_SCALE;

/// Bob Jenkins' 32-bit full-avalanche integer hash, HAProxy's `full_hash()`.
pub(crate) fn full_hash(a: u32) -> u32 {
    let mut a = a;
    a = a.wrapping_add(0x7ed5_5d16).wrapping_add(a << 12);
    a = (a ^ 0xc761_c23c) ^ (a >> 19);
    a = a.wrapping_add(0x1656_67b1).wrapping_add(a << 5);
    a = a.wrapping_add(0xd3a2_646c) ^ (a << 9);
    a = a.wrapping_add(0xfd70_46c5).wrapping_add(a << 3);
    (a ^ 0xb55a_4f09) ^ (a >> 16)
}

/// HAProxy's consistent-hash ring (`chash_init_server_tree`, `chash_get_server_hash`):
///
/// - server s (1-based `puid` = position in the file) has eweight = 16 × weight nodes,
///   node j at key `full_hash(puid × 4096 + j)`; equal keys keep insertion order;
/// - a hash h is served by the nearer of the first node ≥ h (wrapping) and the node before
///   it, distances measured modulo 2³² (the earlier one on equal distance);
/// - with `hash-balance-factor` f (a percentage, 0 = off), a server is eligible only while
///   it serves fewer than its slots: `tot_slots = ⌈(served + 1) × f / 100⌉` over all
///   servers, split by effective weight (`chash_server_is_eligible`); if the chosen server
///   is not eligible, the walk moves on to the next node until one is (at most twice
///   around the ring).
///
/// A server's effective weight may change (slow start): like `chash_queue_dequeue_srv`,
/// the ring then holds that server's first `eweight` nodes only.
#[derive(Debug, Clone)]
pub(crate) struct ChashRing {
    /// (key, server), sorted by key then insertion.
    nodes: Vec<(u32, u32)>,
    /// Effective weight of each server and the sum of the ones before it.
    eweight: Vec<u32>,
    cumulative: Vec<u32>,
    total_weight: u32,
    /// `hash-balance-factor` as HAProxy holds it: a percentage, 0 when off.
    balance_factor: u32,
    /// Scratch: requests each server holds at this pick (filled only when bounded).
    served: Vec<u32>,
}

impl ChashRing {
    pub(crate) fn new(weights: &[u32], balance_factor: u32) -> Self {
        let eweight: Vec<u32> = weights.iter().map(|w| w * BE_WEIGHT_SCALE).collect();
        let mut ring = ChashRing {
            nodes: Vec::with_capacity(eweight.iter().map(|&w| w as usize).sum()),
            total_weight: 0,
            served: vec![0; eweight.len()],
            cumulative: vec![0; eweight.len()],
            eweight,
            balance_factor,
        };
        ring.rebuild();
        ring
    }

    /// Places each server's first `eweight` nodes on the ring and sums the weights.
    fn rebuild(&mut self) {
        self.nodes.clear();
        for (s, &ew) in self.eweight.iter().enumerate() {
            let puid = s as u32 + 1;
            self.nodes
                .extend((0..ew).map(|j| (full_hash(puid.wrapping_mul(SRV_EWGHT_RANGE).wrapping_add(j)), s as u32)));
        }
        // Equal keys keep insertion order (server order): an unstable sort on (key, server)
        // gives the same ring without a scratch buffer.
        self.nodes.sort_unstable_by_key(|&(key, server)| (key, server));
        let mut sum = 0;
        for (c, &w) in self.cumulative.iter_mut().zip(&self.eweight) {
            *c = sum;
            sum += w;
        }
        self.total_weight = sum;
    }

    /// The effective weight of `server` (16 × weight, less during slow start).
    #[inline]
    pub(crate) fn eweight(&self, server: usize) -> u32 {
        self.eweight[server]
    }

    /// Sets the effective weights (> 0) of every server, as `weight(server)` gives them,
    /// rebuilding the ring only if one changed. Allocates nothing: the ring never holds
    /// more nodes than at full weight.
    pub(crate) fn set_eweights(&mut self, mut weight: impl FnMut(usize) -> u32) {
        let mut changed = false;
        for (s, ew) in self.eweight.iter_mut().enumerate() {
            let w = weight(s);
            changed |= w != *ew;
            *ew = w;
        }
        if changed {
            self.rebuild();
        }
    }

    /// The node serving hash `h` before any bounded-load walk.
    #[inline]
    fn nearest_node(&self, h: u32) -> usize {
        let len = self.nodes.len();
        let ge = self.nodes.partition_point(|&(key, _)| key < h);
        let next = if ge == len { 0 } else { ge };
        let prev = if next == 0 { len - 1 } else { next - 1 };
        let dp = h.wrapping_sub(self.nodes[prev].0);
        let dn = self.nodes[next].0.wrapping_sub(h);
        if dp <= dn { prev } else { next }
    }

    /// The server for hash `h`, walking on past servers over their bounded load.
    #[inline]
    pub(crate) fn server<C: Cluster + ?Sized>(&mut self, h: u32, cluster: &mut C) -> usize {
        let mut node = self.nearest_node(h);
        if self.balance_factor == 0 {
            return self.nodes[node].1 as usize;
        }
        let mut total = 0u32;
        for (i, s) in self.served.iter_mut().enumerate() {
            *s = cluster.in_system(i);
            total += *s;
        }
        let tot_slots = ((u64::from(total) + 1) * u64::from(self.balance_factor)).div_ceil(100);
        let mut wrapped = 0;
        loop {
            let server = self.nodes[node].1 as usize;
            if self.eligible(server, tot_slots) {
                return server;
            }
            node += 1;
            if node == self.nodes.len() {
                node = 0;
                wrapped += 1;
                if wrapped > 1 {
                    return server; // HAProxy's protection against an endless loop
                }
            }
        }
    }

    /// `chash_server_is_eligible`: whether `server` holds fewer requests than its slots.
    #[inline]
    fn eligible(&self, server: usize, tot_slots: u64) -> bool {
        let total = u64::from(self.total_weight);
        let (ew, cum) = (u64::from(self.eweight[server]), u64::from(self.cumulative[server]));
        let per_weight = tot_slots / total;
        let remainder = tot_slots % total;
        let slots = (ew * per_weight + ((cum + ew) * remainder) / total - (cum * remainder) / total).max(1);
        u64::from(self.served[server]) < slots
    }

    /// Number of ring nodes of `server`.
    #[cfg(test)]
    pub(crate) fn nodes_of(&self, server: u32) -> usize {
        self.nodes.iter().filter(|&&(_, s)| s == server).count()
    }
}

/// HAProxy's slow start on a consistent-hash ring: while a server that came back ramps,
/// its effective weight (and so its nodes on the ring) follow `server_recalc_eweight`.
#[derive(Debug, Clone)]
pub(crate) struct HaproxyRamp {
    slow_start: Option<super::slow_start::SlowStart>,
    watch: super::slow_start::RampWatch,
    /// 16 × weight of each server.
    full: Vec<u32>,
    ramped: bool,
}

impl HaproxyRamp {
    pub(crate) fn new(slow_start: Option<super::slow_start::SlowStart>, weights: &[u32]) -> Self {
        HaproxyRamp {
            slow_start,
            watch: Default::default(),
            full: weights.iter().map(|w| w * BE_WEIGHT_SCALE).collect(),
            ramped: false,
        }
    }

    /// Brings `ring`'s weights to what slow start gives each server at `now`.
    #[inline]
    pub(crate) fn apply<C: Cluster + ?Sized>(&mut self, ring: &mut ChashRing, now: f64, cluster: &C) {
        let Some(ramp) = self.slow_start else { return };
        if self.watch.ramping(&ramp, cluster, now) {
            let full = &self.full;
            ring.set_eweights(|s| ramp.eweight(full[s], now - cluster.up_since(s)));
            self.ramped = true;
        } else if self.ramped {
            ring.set_eweights(|s| self.full[s]);
            self.ramped = false;
        }
    }
}

/// `hash_balance_factor` as written in lbsim (a ratio > 1, e.g. 1.25), converted to the
/// percentage HAProxy and Envoy configure (125). Absent means off (0).
pub(crate) fn balance_factor_percent(params: &super::Params) -> Result<u32, StrategyError> {
    let Some(value) = params.values.get(BALANCE_FACTOR) else { return Ok(0) };
    let factor = params.real(BALANCE_FACTOR, 0.0, "a ratio > 1 (e.g. 1.25)", |f| f > 1.0 && f <= 100.0);
    match factor {
        Ok(f) => Ok((f * 100.0).round() as u32),
        Err(e) => match value {
            super::ParamValue::Number(x) if *x > 100.0 && *x <= 10_000.0 => Err(params.error(
                BALANCE_FACTOR,
                format!(
                    "expected a ratio > 1, got {x}; HAProxy and Envoy write a percentage ({x}), lbsim the ratio: did you mean {}?",
                    x / 100.0
                ),
            )),
            super::ParamValue::Number(x) if *x <= 1.0 => Err(params.error(
                BALANCE_FACTOR,
                format!(
                    "expected a ratio > 1, got {x}: no server may hold more than factor × the average load, \
                     and a factor ≤ 1 leaves no room for any imbalance (1.25 is a common choice)"
                ),
            )),
            _ => Err(e),
        },
    }
}

/// The name of the bounded-load parameter.
pub(crate) const BALANCE_FACTOR: &str = "hash_balance_factor";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::MockCluster;

    #[test]
    fn full_hash_is_jenkins() {
        // Reference values from the C function compiled with gcc.
        assert_eq!(full_hash(0), 0x6b4e_d927);
        assert_eq!(full_hash(1), 0xb486_81b6);
        assert_eq!(full_hash(4096 + 5), 0x7981_f3fd);
    }

    #[test]
    fn nodes_follow_weights_and_every_server_is_reachable() {
        let ring = ChashRing::new(&[1, 3, 2], 0);
        assert_eq!((ring.nodes_of(0), ring.nodes_of(1), ring.nodes_of(2)), (16, 48, 32));
        let mut cluster = MockCluster::uniform(3);
        let mut ring = ring;
        let mut counts = [0u32; 3];
        for k in 0..60_000u32 {
            counts[ring.server(full_hash(k), &mut cluster)] += 1;
        }
        assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
    }

    #[test]
    fn nearest_node_wins_on_either_side() {
        let ring = ChashRing::new(&[1, 1], 0);
        for i in 1..ring.nodes.len() {
            let (a, b) = (ring.nodes[i - 1].0, ring.nodes[i].0);
            if b - a < 4 {
                continue;
            }
            assert_eq!(ring.nearest_node(a + 1), i - 1, "just after a node: that node");
            assert_eq!(ring.nearest_node(b - 1), i, "just before a node: that node");
        }
    }

    #[test]
    fn slow_start_keeps_a_ramping_servers_first_nodes_and_only_gains_clients() {
        use crate::strategy::slow_start::SlowStart;
        use crate::strategy::{ParamValue, Params};
        let ramp = SlowStart::haproxy(&Params::new("s").with("slow_start", ParamValue::Number(16.0))).unwrap();
        let mut ring = ChashRing::new(&[2, 2, 2], 0);
        let mut ramping = HaproxyRamp::new(ramp, &[2, 2, 2]);
        let mut cluster = MockCluster::uniform(3);
        let owners = |ring: &mut ChashRing, cluster: &mut MockCluster| -> Vec<usize> {
            (0..20_000u32).map(|k| ring.server(full_hash(k), cluster)).collect()
        };
        let full = owners(&mut ring, &mut cluster);
        cluster.up = vec![f64::NEG_INFINITY, 50.0, f64::NEG_INFINITY];
        let mut before: Option<Vec<usize>> = None;
        for (t, sixteenths) in [(50.2, 1), (53.0, 4), (58.9, 9), (65.0, 16), (70.0, 16)] {
            ramping.apply(&mut ring, t, &cluster);
            assert_eq!(ring.nodes_of(1), 2 * sixteenths, "t = {t}");
            assert_eq!(ring.nodes_of(0), 32);
            let now = owners(&mut ring, &mut cluster);
            // A key moves only to the ramping server, and only keys it owns at full weight.
            for (k, (&o, &f)) in now.iter().zip(&full).enumerate() {
                assert!(o == f || f == 1, "key {k}: {o} now, {f} at full weight");
                if let Some(b) = &before {
                    assert!(b[k] == o || o == 1, "key {k} left for {o} as server 1 ramped up");
                }
            }
            before = Some(now);
        }
        assert_eq!(before.unwrap(), full, "the ring is back to its full-weight shape");
    }
}
