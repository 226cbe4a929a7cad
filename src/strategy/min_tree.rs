//! A tournament tree of f64 keys: the minimum in O(1), an update in O(log n), and "the first
//! position at or after p whose key is at most x" in O(log n). Lets a strategy that wants
//! the best of n backends (with ties broken by a rotating scan) avoid the O(n) scan.

/// Keys at positions `0..len`, minimum over every subtree.
#[derive(Debug, Clone)]
pub(crate) struct MinTree {
    len: usize,
    /// Leaves start here (a power of two ≥ len).
    size: usize,
    /// Node k covers nodes 2k and 2k + 1; leaves at `size..size + len`, padding at +∞.
    node: Vec<f64>,
}

impl MinTree {
    /// A tree of `len` keys, all +∞.
    pub fn new(len: usize) -> Self {
        let size = len.next_power_of_two().max(1);
        MinTree { len, size, node: vec![f64::INFINITY; 2 * size] }
    }

    /// Sets every key at once from `key(position)`, in O(len).
    pub fn fill(&mut self, mut key: impl FnMut(usize) -> f64) {
        for i in 0..self.len {
            self.node[self.size + i] = key(i);
        }
        for k in (1..self.size).rev() {
            self.node[k] = self.node[2 * k].min(self.node[2 * k + 1]);
        }
    }

    /// Sets the key at `position`.
    #[inline]
    pub fn set(&mut self, position: usize, key: f64) {
        let mut k = self.size + position;
        self.node[k] = key;
        while k > 1 {
            k /= 2;
            let m = self.node[2 * k].min(self.node[2 * k + 1]);
            if self.node[k] == m {
                break;
            }
            self.node[k] = m;
        }
    }

    /// The smallest key (+∞ when empty).
    #[inline]
    pub fn min(&self) -> f64 {
        self.node[1]
    }

    /// The first position ≥ `from` whose key is ≤ `x`.
    #[inline]
    pub fn first_at_most(&self, from: usize, x: f64) -> Option<usize> {
        if from >= self.len {
            return None;
        }
        let mut k = self.size + from;
        // Climb to the first subtree, left to right from `from`, holding a key ≤ x …
        while self.node[k] > x {
            while k & 1 == 1 {
                k /= 2;
            }
            if k == 0 {
                return None;
            }
            k += 1;
        }
        // … and descend to its leftmost such leaf.
        while k < self.size {
            k *= 2;
            if self.node[k] > x {
                k += 1;
            }
        }
        Some(k - self.size)
    }

    /// The first position at or after `from`, wrapping around to 0, whose key is ≤ `x`.
    #[inline]
    pub fn first_at_most_cyclic(&self, from: usize, x: f64) -> Option<usize> {
        self.first_at_most(from, x).or_else(|| self.first_at_most(0, x))
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
}
