//! The sorted ring of (point, owner) that consistent hashing looks keys up on: the first
//! point at or after the key's hash, wrapping past the largest point to the smallest.
//! Shared by `consistent_hash` (ketama on client ids), `envoy_ring_hash` and
//! `nginx_hash_consistent`, which differ only in how they place their points. (HAProxy's
//! ring, which takes the nearer of the two neighbouring nodes and can walk on for bounded
//! load, is `haproxy_chash`.)

#[derive(Debug, Clone)]
pub(crate) struct HashRing<K> {
    /// (point, owner), sorted.
    points: Vec<(K, u32)>,
}

impl<K: Ord + Copy> HashRing<K> {
    /// The ring of `points`. Equal points are ordered by owner, lower index first: what
    /// ketama's, nginx's and Envoy's stable sorts give, since they place their points owner
    /// by owner (an unstable sort on the whole pair gives the same order).
    pub(crate) fn new(mut points: Vec<(K, u32)>) -> Self {
        points.sort_unstable();
        HashRing { points }
    }

    /// The ring with only the first (lowest owner) of equal points kept, as nginx does.
    pub(crate) fn without_duplicates(mut self) -> Self {
        self.points.dedup_by_key(|&mut (point, _)| point);
        self
    }

    /// The owner of the first point at or after `key`, wrapping.
    #[inline]
    pub(crate) fn owner(&self, key: K) -> usize {
        let at = self.points.partition_point(|&(point, _)| point < key);
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
}
