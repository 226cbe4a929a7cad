//! The sorted ring of (point, owner) that consistent hashing looks keys up on: the first
//! point at or after the key's hash, wrapping past the largest point to the smallest.
//! Shared by `consistent_hash` (ketama on client ids), `envoy_ring_hash` and
//! `nginx_hash_consistent`, which differ only in how they place their points. (HAProxy's
//! ring, which takes the nearer of the two neighbouring nodes and can walk on for bounded
//! load, is `haproxy_chash`.)

/// A point on a ring: ordered, and readable as a fraction of the ring's circumference (its
/// bits, most significant first, left-aligned in a u64) for the ring's bucket index.
pub(crate) trait RingPoint: Ord + Copy {
    fn left_aligned(self) -> u64;
}

impl RingPoint for u64 {
    #[inline(always)]
    fn left_aligned(self) -> u64 {
        self
    }
}

impl RingPoint for u32 {
    #[inline(always)]
    fn left_aligned(self) -> u64 {
        u64::from(self) << 32
    }
}

/// Ring points per bucket of the index, about (a power of two of buckets, at least two: between
/// this and twice as many points a bucket).
const POINTS_PER_BUCKET: usize = 4;

#[derive(Debug, Clone)]
pub(crate) struct HashRing<K> {
    /// (point, owner), sorted.
    points: Vec<(K, u32)>,
    /// Where each bucket of the ring starts: `starts[b]` is the index of the first point
    /// whose top `bits` bits are at least `b` (one entry more than buckets, the last `len`).
    /// A lookup binary-searches its key's bucket only, a few points in a cache line or two,
    /// instead of the whole ring: ketama's 160 points per backend make 16 million points
    /// at 100 000 backends, where a search of all of them takes some 24 steps that each
    /// miss the caches.
    starts: Vec<u32>,
    /// 64 − bits: the shift that takes a left-aligned point to its bucket.
    shift: u32,
}

impl<K: RingPoint> HashRing<K> {
    /// The ring of `points`. Equal points are ordered by owner, lower index first: what
    /// ketama's, nginx's and Envoy's stable sorts give, since they place their points owner
    /// by owner (an unstable sort on the whole pair gives the same order).
    pub(crate) fn new(mut points: Vec<(K, u32)>) -> Self {
        points.sort_unstable();
        Self::indexed(points)
    }

    /// The ring with only the first (lowest owner) of equal points kept, as nginx does.
    pub(crate) fn without_duplicates(self) -> Self {
        let mut points = self.points;
        points.dedup_by_key(|&mut (point, _)| point);
        Self::indexed(points)
    }

    /// `points` (sorted) with their bucket index.
    fn indexed(points: Vec<(K, u32)>) -> Self {
        assert!(u32::try_from(points.len()).is_ok(), "a ring holds fewer than 2³² points");
        // (At least two buckets: a shift by 64 would overflow.)
        let bits = (points.len() / POINTS_PER_BUCKET).max(2).ilog2();
        let shift = 64 - bits;
        let buckets = 1usize << bits;
        let mut starts = Vec::with_capacity(buckets + 1);
        let mut at = 0;
        for b in 0..buckets {
            while at < points.len() && ((points[at].0.left_aligned() >> shift) as usize) < b {
                at += 1;
            }
            starts.push(at as u32);
        }
        starts.push(points.len() as u32);
        HashRing { points, starts, shift }
    }

    /// The owner of the first point at or after `key`, wrapping.
    #[inline]
    pub(crate) fn owner(&self, key: K) -> usize {
        // Every point of an earlier bucket is below `key` and every point of a later one
        // above it: the first point at or after `key` is in its bucket, or is the next
        // bucket's first.
        let bucket = (key.left_aligned() >> self.shift) as usize;
        let (from, to) = (self.starts[bucket] as usize, self.starts[bucket + 1] as usize);
        let at = from + self.points[from..to].partition_point(|&(point, _)| point < key);
        self.points[if at == self.points.len() { 0 } else { at }].1 as usize
    }

    /// The points, in ring order.
    #[cfg(test)]
    pub(crate) fn points(&self) -> &[(K, u32)] {
        &self.points
    }

    /// Number of points `owner` holds.
    #[cfg(test)]
    pub(crate) fn points_of(&self, owner: u32) -> usize {
        self.points.iter().filter(|&&(_, o)| o == owner).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_go_to_the_next_point_wrapping_and_equal_points_to_the_lower_owner() {
        let ring = HashRing::new(vec![(30u32, 2), (10, 1), (20, 0), (20, 3)]);
        assert_eq!(ring.points(), [(10, 1), (20, 0), (20, 3), (30, 2)]);
        assert_eq!((ring.owner(0), ring.owner(10), ring.owner(11), ring.owner(25), ring.owner(31)), (1, 1, 0, 2, 1));
        let ring = ring.without_duplicates();
        assert_eq!(ring.points(), [(10, 1), (20, 0), (30, 2)]);
        assert_eq!(ring.points_of(3), 0);
    }

    #[test]
    fn the_bucket_index_finds_what_a_search_of_the_whole_ring_finds() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(7);
        let search = |points: &[(u64, u32)], key: u64| {
            let at = points.partition_point(|&(p, _)| p < key);
            points[if at == points.len() { 0 } else { at }].1 as usize
        };
        for len in [1usize, 2, 3, 7, 64, 1000, 5000] {
            // Clustered points (many in one bucket, none in others), with equal points.
            let points: Vec<(u64, u32)> = (0..len)
                .map(|i| {
                    let p = if i % 3 == 0 { rng.random::<u64>() } else { rng.random::<u64>() >> 50 };
                    (if i % 5 == 0 { 1 << 60 } else { p }, i as u32)
                })
                .collect();
            let ring = HashRing::new(points);
            let mut keys: Vec<u64> = (0..2000).map(|_| rng.random()).collect();
            keys.extend((0..2000).map(|_| rng.random::<u64>() >> 50));
            keys.extend(ring.points().iter().flat_map(|&(p, _)| [p.wrapping_sub(1), p, p.wrapping_add(1)]));
            keys.extend([0, u64::MAX, 1 << 60]);
            for key in keys {
                assert_eq!(ring.owner(key), search(ring.points(), key), "{len} points, key {key}");
            }
        }
        // 32-bit points (nginx's CRC32), deduplicated.
        let ring =
            HashRing::new((0..3000u32).map(|i| (rng.random::<u32>() >> (i % 20), i)).collect()).without_duplicates();
        let points: Vec<(u64, u32)> = ring.points().iter().map(|&(p, o)| (u64::from(p), o)).collect();
        for key in (0..20_000).map(|i| rng.random::<u32>() >> (i % 24)).chain([0, u32::MAX]) {
            assert_eq!(ring.owner(key), search(&points, u64::from(key)));
        }
    }
}
