//! A tournament tree of f64 keys: the minimum in O(1), an update in O(log n), and "the first
//! position at or after p whose key is at most x" in O(log n). Lets a strategy that wants
//! the best of n backends (with ties broken by a rotating scan) avoid the O(n) scan.
//!
//! The tree is 8-ary, one cache line per node. A binary tree of 65 536 keys is 16 levels of
//! dependent loads, the lower ones out of L2 when the simulation's backends crowd the cache;
//! with eight keys per 64-byte node it is 6 levels, the top four (about 150 nodes, 9 KiB)
//! stay in L1 and every level costs one line. Within a node the eight keys are compared at
//! once (the compiler turns the loops below into packed compares and a move-mask), so a
//! search step is a mask and a count of trailing zeros instead of an unpredictable branch
//! per binary level, which makes it faster on clusters that fit in the caches too. Keys stay
//! f64 (a narrower key would not order every pair of starts as f64 does, and a pick must be
//! the same as a scan's).

/// Keys per node: 8 f64 fill one 64-byte cache line.
const FAN: usize = 8;

/// One node: the keys of eight positions (leaves) or the minima of eight nodes below.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Node([f64; FAN]);

const EMPTY: Node = Node([f64::INFINITY; FAN]);

impl Node {
    /// Bit `l` set when lane `l` holds a key ≤ `x`: four packed compares and move-masks
    /// (the compiler does not find them in the portable loop, which costs a `setcc` and a
    /// shift per lane).
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn at_most(&self, x: f64) -> u32 {
        use std::arch::x86_64::{_mm_cmple_pd, _mm_movemask_pd, _mm_set_pd, _mm_set1_pd};
        let k = &self.0;
        // SAFETY: SSE2 is part of every x86_64 target, and these intrinsics only compute on
        // values (no pointer is read).
        unsafe {
            let x = _mm_set1_pd(x);
            let pair = |l: usize| _mm_movemask_pd(_mm_cmple_pd(_mm_set_pd(k[l + 1], k[l]), x)) as u32;
            pair(0) | pair(2) << 2 | pair(4) << 4 | pair(6) << 6
        }
    }

    /// Bit `l` set when lane `l` holds a key ≤ `x`.
    #[cfg(not(target_arch = "x86_64"))]
    #[inline(always)]
    fn at_most(&self, x: f64) -> u32 {
        let mut mask = 0;
        for (l, &k) in self.0.iter().enumerate() {
            mask |= u32::from(k <= x) << l;
        }
        mask
    }

    /// The smallest key (pairwise, so it compiles to packed minima; keys are never NaN).
    #[inline(always)]
    fn min(&self) -> f64 {
        self.min_with(FAN, f64::INFINITY)
    }

    /// The smallest key if lane `lane` held `key` (branch-free: packed selects and minima).
    #[inline(always)]
    fn min_with(&self, lane: usize, key: f64) -> f64 {
        let at = |l: usize| if l == lane { key } else { self.0[l] };
        let m = [lesser(at(0), at(4)), lesser(at(1), at(5)), lesser(at(2), at(6)), lesser(at(3), at(7))];
        lesser(lesser(m[0], m[2]), lesser(m[1], m[3]))
    }
}

/// The smaller of two keys that are not NaN (one `minsd`, unlike `f64::min`).
#[inline(always)]
fn lesser(a: f64, b: f64) -> f64 {
    if b < a { b } else { a }
}

/// Levels beyond this would hold more than 8²¹ ≈ 2·10¹⁸ keys.
const MAX_LEVELS: usize = 21;

/// Keys at positions `0..len`, minimum over every subtree.
#[derive(Debug, Clone)]
pub(crate) struct MinTree {
    /// Levels, leaves first, each a run of nodes in `nodes`; the last level is one node,
    /// the root. Entry `i` of level `l + 1` is the minimum of node `i` of level `l`.
    nodes: Vec<Node>,
    /// First node of each level.
    start: [usize; MAX_LEVELS],
    /// Entries in use in each level (`len` at the leaves); the lanes after them are +∞.
    entries: [usize; MAX_LEVELS],
    levels: usize,
    /// The smallest key (the root's minimum), kept so `min` reads no node.
    min: f64,
}

impl MinTree {
    /// A tree of `len` keys, all +∞.
    pub fn new(len: usize) -> Self {
        let mut start = [0; MAX_LEVELS];
        let mut entries = [0; MAX_LEVELS];
        let mut levels = 0;
        let mut total = 0;
        let mut count = len;
        loop {
            let nodes = count.div_ceil(FAN).max(1);
            start[levels] = total;
            entries[levels] = count;
            levels += 1;
            total += nodes;
            if nodes == 1 {
                break;
            }
            count = nodes;
        }
        MinTree { nodes: vec![EMPTY; total], start, entries, levels, min: f64::INFINITY }
    }

    /// Sets every key at once from `key(position)`, in O(len).
    pub fn fill(&mut self, mut key: impl FnMut(usize) -> f64) {
        for i in 0..self.entries[0] {
            let k = key(i);
            debug_assert!(!k.is_nan(), "a NaN key at {i}");
            self.nodes[i / FAN].0[i % FAN] = k;
        }
        for level in 1..self.levels {
            for i in 0..self.entries[level] {
                let m = self.nodes[self.start[level - 1] + i].min();
                self.nodes[self.start[level] + i / FAN].0[i % FAN] = m;
            }
        }
        self.min = self.nodes[self.start[self.levels - 1]].min();
    }

    /// Sets the key at `position`.
    #[inline]
    pub fn set(&mut self, position: usize, key: f64) {
        debug_assert!(position < self.entries[0] && !key.is_nan());
        let mut i = position;
        let mut key = key;
        for level in 0..self.levels {
            let node = &mut self.nodes[self.start[level] + i / FAN];
            let lane = i % FAN;
            if level > 0 && node.0[lane] == key {
                // The minimum below is as it was, and so is every entry above.
                return;
            }
            // The node's new minimum from its keys as they were and the new one, read before
            // the new one is written: reading the line back right after an 8-byte store
            // into it would wait for the store (16-byte loads cannot take their data from
            // a narrower store), at every level.
            let min = node.min_with(lane, key);
            node.0[lane] = key;
            key = min;
            i /= FAN;
        }
        self.min = key;
    }

    /// The number of keys.
    #[inline]
    pub fn len(&self) -> usize {
        self.entries[0]
    }

    /// The smallest key (+∞ when empty).
    #[inline]
    pub fn min(&self) -> f64 {
        self.min
    }

    /// The first position ≥ `from` whose key is ≤ `x`.
    #[inline]
    pub fn first_at_most(&self, from: usize, x: f64) -> Option<usize> {
        let (level, i) = self.climb(from, x)?;
        Some(self.descend(level, i, x))
    }

    /// The first position at or after `from`, wrapping around to 0, whose key is ≤ `x`.
    #[inline]
    pub fn first_at_most_cyclic(&self, from: usize, x: f64) -> Option<usize> {
        if let Some(p) = self.first_at_most(from, x) {
            return Some(p);
        }
        // Nothing from `from` on: the first such key from the root, if there is one.
        if self.min <= x && self.entries[0] > 0 {
            let top = self.levels - 1;
            let lane = self.nodes[self.start[top]].at_most(x).trailing_zeros() as usize;
            return Some(self.descend(top, lane, x));
        }
        None
    }

    /// The first entry at or after `from` (a leaf) that is ≤ `x`, as (level, index in the
    /// level): the node holding `from` from its lane on, then the nodes after it at the
    /// levels above, leftmost first, each a parent entry covering the next eight.
    #[inline(always)]
    fn climb(&self, from: usize, x: f64) -> Option<(usize, usize)> {
        let mut i = from;
        for level in 0..self.levels {
            if i >= self.entries[level] {
                // Past the last entry: nothing to the right at this level or above.
                return None;
            }
            let node = &self.nodes[self.start[level] + i / FAN];
            let mask = node.at_most(x) >> (i % FAN);
            if mask != 0 {
                return Some((level, i + mask.trailing_zeros() as usize));
            }
            // Nothing from lane i on in this node: go on with the next node of this level,
            // an entry of the level above.
            i = i / FAN + 1;
        }
        None
    }

    /// The first leaf ≤ `x` under entry `i` of `level`, which is ≤ `x`.
    #[inline(always)]
    fn descend(&self, mut level: usize, mut i: usize, x: f64) -> usize {
        while level > 0 {
            level -= 1;
            let mask = self.nodes[self.start[level] + i].at_most(x);
            debug_assert!(mask != 0, "entry {i} of level {} is ≤ {x} but no key under it is", level + 1);
            i = i * FAN + mask.trailing_zeros() as usize;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn agrees_with_a_scan(
            keys in proptest::collection::vec(0u8..6, 1..70),
            updates in proptest::collection::vec((0usize..70, 0u8..6), 0..30),
            from in 0usize..80,
            x in 0u8..6,
        ) {
            let mut keys: Vec<f64> = keys.into_iter().map(f64::from).collect();
            let mut tree = MinTree::new(keys.len());
            tree.fill(|i| keys[i]);
            for (i, v) in updates {
                if i < keys.len() {
                    keys[i] = f64::from(v);
                    tree.set(i, f64::from(v));
                }
            }
            let x = f64::from(x);
            let min = keys.iter().copied().fold(f64::INFINITY, f64::min);
            prop_assert_eq!(tree.min(), min);
            let scan = (from..keys.len()).find(|&i| keys[i] <= x);
            prop_assert_eq!(tree.first_at_most(from, x), scan);
            let cyclic = scan.or_else(|| (0..keys.len()).find(|&i| keys[i] <= x));
            prop_assert_eq!(tree.first_at_most_cyclic(from, x), cyclic);
        }
    }

    /// The answers of a plain scan of `keys`.
    fn check(tree: &MinTree, keys: &[f64], from: usize, x: f64) {
        let min = keys.iter().copied().fold(f64::INFINITY, f64::min);
        assert_eq!(tree.min(), min, "min of {} keys", keys.len());
        let scan = (from..keys.len()).find(|&i| keys[i] <= x);
        assert_eq!(tree.first_at_most(from, x), scan, "from {from}, x {x}, {} keys", keys.len());
        let cyclic = scan.or_else(|| (0..keys.len()).find(|&i| keys[i] <= x));
        assert_eq!(tree.first_at_most_cyclic(from, x), cyclic, "cyclic from {from}, x {x}, {} keys", keys.len());
    }

    /// Sizes around every level boundary (8, 64, 512, 4096 leaves and one more or less),
    /// keys from a handful of values with ±∞ among them so ties are everywhere, thousands of
    /// updates between searches from every kind of start: the tree answers as a scan does.
    #[test]
    fn agrees_with_a_scan_at_every_level_boundary() {
        use rand::RngExt;
        let mut r = crate::strategy::testing::rng(11);
        let values = [f64::NEG_INFINITY, -1.5, 0.0, 0.25, 0.25, 1.0, 7.0, f64::INFINITY];
        let sizes = [1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 100, 511, 512, 513, 4095, 4096, 4097];
        for &len in &sizes {
            let mut keys: Vec<f64> = (0..len).map(|_| values[r.random_range(0..values.len())]).collect();
            let mut tree = MinTree::new(len);
            tree.fill(|i| keys[i]);
            for round in 0..300 {
                // Mostly single updates (as a strategy makes them), now and then a refill.
                if round % 50 == 49 {
                    for k in keys.iter_mut() {
                        *k = values[r.random_range(0..values.len())];
                    }
                    tree.fill(|i| keys[i]);
                } else {
                    for _ in 0..r.random_range(1..5) {
                        let i = r.random_range(0..len);
                        keys[i] = values[r.random_range(0..values.len())];
                        tree.set(i, keys[i]);
                    }
                }
                let from = match round % 4 {
                    0 => 0,
                    1 => len - 1,
                    2 => len + r.random_range(0..3),
                    _ => r.random_range(0..len),
                };
                let x = values[r.random_range(0..values.len())];
                check(&tree, &keys, from, x);
                check(&tree, &keys, from, tree.min());
            }
            // Every key +∞, then one finite key anywhere.
            keys.fill(f64::INFINITY);
            tree.fill(|i| keys[i]);
            check(&tree, &keys, 0, f64::MAX);
            let i = r.random_range(0..len);
            keys[i] = 3.0;
            tree.set(i, 3.0);
            for from in [0, i, (i + 1) % len, len - 1] {
                check(&tree, &keys, from, 3.0);
                check(&tree, &keys, from, 2.0);
            }
        }
    }

    /// Random continuous keys as a strategy sees them (distinct, rising over time), searched
    /// with rotating starts at the current minimum and beyond.
    #[test]
    fn agrees_with_a_scan_on_a_rotating_search() {
        use rand::RngExt;
        let mut r = crate::strategy::testing::rng(12);
        for len in [3, 16, 77, 256, 1000, 5000] {
            let mut keys: Vec<f64> = (0..len).map(|_| r.random::<f64>()).collect();
            let mut tree = MinTree::new(len);
            tree.fill(|i| keys[i]);
            let mut now = 0.0;
            let mut last = len - 1;
            for _ in 0..3000 {
                now += r.random::<f64>() * 0.01;
                let x = tree.min().max(now);
                check(&tree, &keys, (last + 1) % len, x);
                last = tree.first_at_most_cyclic((last + 1) % len, x).unwrap();
                keys[last] = x + r.random::<f64>();
                tree.set(last, keys[last]);
            }
        }
    }

    #[test]
    fn an_empty_tree_finds_nothing() {
        let mut tree = MinTree::new(0);
        tree.fill(|_| unreachable!());
        assert_eq!(tree.min(), f64::INFINITY);
        assert_eq!(tree.first_at_most(0, f64::INFINITY), None);
        assert_eq!(tree.first_at_most_cyclic(0, f64::INFINITY), None);
    }
}
