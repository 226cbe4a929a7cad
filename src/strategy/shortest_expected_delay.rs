//! `shortest_expected_delay`: fewest requests per unit of capacity, counting the new one.

use super::count_index::{CountIndex, CountWatch, Fewest, INDEX_ABOVE};
use super::min_tree::MinTree;
use super::weighted_random::require_backends;
use super::{Cluster, IndexedWhen, Needs, PickCost, Setup, Strategy, StrategyError, ratio_less, rotating_argmin};
use crate::model::Request;

/// Shortest expected delay (SED, as in LVS): send the request to the backend minimising
/// (nᵢ + 1) / cᵢ, where nᵢ is the number of requests there and cᵢ its capacity — the
/// expected time to clear the backend's requests plus the new one if each takes one mean
/// service time. Unlike least connections (nᵢ / wᵢ), the "+1" makes an idle fast backend
/// preferred to an idle slow one, and a fast backend with one request may still beat an
/// idle slow one.
///
/// Ratios are compared by cross-multiplication ((nᵢ+1)·cⱼ < (nⱼ+1)·cᵢ). Ties go to the
/// first backend in a scan starting just after the previous choice (rotating).
///
/// Cost: when every backend has the same capacity the rule is the fewest requests, jsq's,
/// with the same rotation: the scan then stops at the first empty backend, and when the
/// scans grow long, the counts are kept in jsq's index (`count_index`), with the same
/// choices. Over unequal capacities the scan asks every backend, since an idle slow backend
/// can lose to a busy fast one; above [`INDEX_ABOVE`] backends of at most [`MAX_CLASSES`]
/// distinct capacities, when the view tells which counts changed (the engine's fast path),
/// the counts are kept in an index per capacity instead ([`ByCapacity`]): a pick compares
/// the fewest of each capacity, O(k + log n) for k capacities, with the scan's choices.
#[derive(Debug)]
pub struct ShortestExpectedDelay {
    capacities: Vec<f64>,
    last: usize,
    /// With equal capacities the fewest requests win: an index can find them (None
    /// otherwise).
    fewest: Option<Fewest>,
    /// Whether the counts are worth an index per capacity (unequal capacities, few of them,
    /// many backends) once the view can serve one.
    indexable: bool,
    /// (Boxed: its trees' headers would make every strategy's enum variant as large.)
    by_capacity: Option<Box<ByCapacity>>,
}

/// Distinct capacities above which no index per capacity is kept: a pick compares the
/// fewest requests of every capacity, which over many capacities is no cheaper than asking
/// the backends (fleets have a few server types).
pub(crate) const MAX_CLASSES: usize = 16;

impl ShortestExpectedDelay {
    pub(crate) fn new(capacities: Vec<f64>) -> Self {
        let n = capacities.len();
        let last = n - 1;
        let fewest = capacities.iter().all(|&c| c == capacities[0]).then(Fewest::default);
        let indexable = fewest.is_none() && n as u64 > INDEX_ABOVE && ByCapacity::can_order(&capacities);
        ShortestExpectedDelay { capacities, last, fewest, indexable, by_capacity: None }
    }
}

impl Strategy for ShortestExpectedDelay {
    const NAME: &'static str = "shortest_expected_delay";
    const SUMMARY: &'static str = "fewest (requests + 1) per unit of capacity: fast backends preferred (ties rotate)";
    const MODELS: &'static str = "textbook oracle: shortest expected delay";
    const NEEDS: Needs = Needs::Counts;
    const PICK_COST: PickCost = PickCost::AsksUntilIdleOrIndexed;
    const INDEXED_WHEN: IndexedWhen = IndexedWhen::FewCapacities;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        require_backends(Self::NAME, setup.backends)?;
        Ok(ShortestExpectedDelay::new(setup.backends.iter().map(|b| b.capacity).collect()))
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        if let Some(fewest) = &mut self.fewest {
            // Equal capacities: (nᵢ + 1)·c < (nⱼ + 1)·c exactly when nᵢ < nⱼ.
            return fewest.choose(request.arrival, &mut self.last, cluster);
        }
        if self.indexable && self.by_capacity.is_none() && CountIndex::can_serve(cluster) {
            self.by_capacity = Some(Box::new(ByCapacity::new(&self.capacities)));
        }
        if let Some(index) = &mut self.by_capacity
            && let Some(chosen) = index.pick(request.arrival, self.last, cluster)
        {
            self.last = chosen;
            return chosen;
        }
        let capacities = &self.capacities;
        let delay = |i| {
            cluster.scanning(i);
            (f64::from(cluster.in_system(i)) + 1.0, capacities[i])
        };
        rotating_argmin(capacities.len(), &mut self.last, delay, ratio_less, |_| false)
    }
}

/// The backends grouped by capacity, each group with a tree of its counts kept up to date
/// by a [`CountWatch`]: the rotating scan's choice without asking every backend.
///
/// Why it is the scan's choice. Within a capacity the backends with the fewest requests
/// beat the others, by far more than rounding can hide (the products differ by at least
/// one capacity, a part in 2³² or more), and among them the first in the scan's order is the
/// one the scan can take (the others have the same key and never beat it): these are the
/// candidates, one per capacity. If some candidates beat (by [`ratio_less`], rounded as the
/// scan rounds) every other candidate and tie with each other, the scan takes the first of
/// them after the previous choice: when it reaches it, it beats whatever the scan holds
/// (another candidate, or a backend worse than its own class's candidate), and nothing
/// after it beats it. Rounded products can tie where exact ones do not, so with three
/// capacities or more the ties need not be so clean (a ties b, b ties c, a beats c: 0.7,
/// 1.4 and 2.1 ≠ 3 × 0.7 at counts where they nearly tie); the scan's choice then depends
/// on its order, and the index leaves the pick to the scan. Products of counts and
/// capacities with short binary fractions (1, 1.5, 4) are exact, and two capacities always
/// tie cleanly: for them the index answers every pick.
#[derive(Debug)]
struct ByCapacity {
    classes: Vec<Class>,
    /// Class and position within it of each backend.
    place: Vec<(u32, u32)>,
    watch: CountWatch,
    /// Whether each class's candidate ties with the best (scratch, one per class).
    tied: Vec<bool>,
    /// Picks left to the scan (for the tests).
    #[cfg(test)]
    left_to_scan: u64,
}

#[derive(Debug)]
struct Class {
    capacity: f64,
    /// Backend indices, ascending.
    members: Vec<u32>,
    /// Their counts of requests in system.
    counts: MinTree,
}

impl ByCapacity {
    /// Whether the index can order these capacities as the scan does: few distinct ones,
    /// and products (n + 1)·c that neither overflow nor lose precision below the normal
    /// range for any count (n + 1 ≤ 2³²), which the argument above needs.
    fn can_order(capacities: &[f64]) -> bool {
        let mut distinct: Vec<f64> = Vec::new();
        for &c in capacities {
            if !(f64::MIN_POSITIVE..=2f64.powi(960)).contains(&c) {
                return false;
            }
            if !distinct.contains(&c) {
                if distinct.len() == MAX_CLASSES {
                    return false;
                }
                distinct.push(c);
            }
        }
        true
    }

    fn new(capacities: &[f64]) -> Self {
        let mut distinct: Vec<f64> = capacities.to_vec();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        let mut classes: Vec<Class> =
            distinct.iter().map(|&capacity| Class { capacity, members: Vec::new(), counts: MinTree::new(0) }).collect();
        let mut place = Vec::with_capacity(capacities.len());
        for (i, c) in capacities.iter().enumerate() {
            let k = distinct.iter().position(|d| d == c).expect("every capacity has a class");
            place.push((k as u32, classes[k].members.len() as u32));
            classes[k].members.push(i as u32);
        }
        for class in &mut classes {
            class.counts = MinTree::new(class.members.len());
        }
        let tied = vec![false; classes.len()];
        ByCapacity {
            classes,
            place,
            watch: CountWatch::new(capacities.len()),
            tied,
            #[cfg(test)]
            left_to_scan: 0,
        }
    }

    /// The backend the rotating scan from just after `last` would choose at `now`, or
    /// `None` when the candidates' ties leave it to the scan's order (see [`ByCapacity`]).
    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, now: f64, last: usize, cluster: &mut C) -> Option<usize> {
        let (classes, place) = (&mut self.classes, &self.place);
        self.watch.refresh(now, last, cluster, |i, count| {
            let (k, p) = place[i];
            classes[k as usize].counts.set(p as usize, f64::from(count));
        });
        let classes = &self.classes;
        // Each class's candidate key, as the scan builds it for a backend.
        let key = |k: usize| (classes[k].counts.min() + 1.0, classes[k].capacity);
        let mut best = 0;
        for k in 1..classes.len() {
            if ratio_less(&key(k), &key(best)) {
                best = k;
            }
        }
        // The candidates that tie with `best` must beat every other and tie with each
        // other; `best` must beat the rest.
        for k in 0..classes.len() {
            self.tied[k] = k == best || !ratio_less(&key(best), &key(k));
            if k != best && ratio_less(&key(k), &key(best)) {
                return self.left_to_scan();
            }
        }
        for t in (0..classes.len()).filter(|&t| t != best && self.tied[t]) {
            for k in (0..classes.len()).filter(|&k| k != t) {
                let clean = if self.tied[k] { !ratio_less(&key(k), &key(t)) } else { ratio_less(&key(t), &key(k)) };
                if !clean {
                    return self.left_to_scan();
                }
            }
        }
        // The first of the tied candidates in the scan's order: in each tied class, the
        // first member at or after `after` (wrapping) with the fewest requests.
        let n = self.place.len();
        let after = if last + 1 >= n { 0 } else { last + 1 };
        let mut chosen = None;
        for (class, _) in classes.iter().zip(&self.tied).filter(|&(_, &tied)| tied) {
            let from = class.members.partition_point(|&m| (m as usize) < after);
            let p = class.counts.first_at_most_cyclic(from, class.counts.min()).expect("a class has members");
            let b = class.members[p] as usize;
            let distance = if b >= after { b - after } else { b + n - after };
            if chosen.is_none_or(|(_, d)| distance < d) {
                chosen = Some((b, distance));
            }
        }
        chosen.map(|(b, _)| b)
    }

    /// A pick left to the scan.
    #[inline]
    fn left_to_scan(&mut self) -> Option<usize> {
        #[cfg(test)]
        {
            self.left_to_scan += 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{MockCluster, request};

    #[test]
    fn counts_the_new_request() {
        let mut s = ShortestExpectedDelay::new(vec![1.0, 4.0]);
        let mut cluster = MockCluster::uniform(2);
        // (0+1)/1 = 1 vs (2+1)/4 = 0.75: the busy fast backend wins over the idle slow one
        // (least connections would pick the idle one).
        cluster.counts = vec![0, 2];
        assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 1);
        // 1 vs (4+1)/4 = 1.25.
        cluster.counts = vec![0, 4];
        assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 0);
    }

    /// With equal capacities the scan that stops at the first empty backend (and the
    /// index behind it) chooses what the rule's full scan of (nᵢ + 1) / c chooses.
    #[test]
    fn equal_capacities_choose_as_the_full_scan() {
        use crate::strategy::testing::rng;
        use crate::strategy::{ratio_less, rotating_argmin};
        use rand::RngExt;
        let mut r = rng(21);
        for round in 0..40 {
            let n = 1 + round % 13;
            let capacity = [1.0, 2.5, 0.3][round % 3];
            let mut s = ShortestExpectedDelay::new(vec![capacity; n]);
            assert!(s.fewest.is_some());
            let mut cluster = MockCluster::uniform(n);
            let mut last = n - 1;
            for k in 0..500 {
                cluster.counts = (0..n).map(|_| r.random_range(0..[2, 4, 30][k % 3])).collect();
                let counts = cluster.counts.clone();
                let delay = |i: usize| (f64::from(counts[i]) + 1.0, capacity);
                let expected = rotating_argmin(n, &mut last, delay, ratio_less, |_| false);
                assert_eq!(s.pick(&request(0, 1.0), &mut cluster), expected, "round {round}, pick {k}");
            }
        }
        assert!(ShortestExpectedDelay::new(vec![1.0, 2.0]).fewest.is_none());
    }

    /// Through the index per capacity, shortest_expected_delay chooses what its scan of
    /// every backend chooses, pick for pick, and asks about a few backends a pick instead of
    /// all: backends of one to four workers whose capacities come from a few classes (exact
    /// ones, with ties across classes such as 1/1 = 2/2 = 3/3; ones whose products round,
    /// 0.7, 1.3, 2.1 ≈ 3 × 0.7; a mix), all distinct, or all equal (the index over one class,
    /// which the strategy leaves to jsq's), behind one to three balancer instances, with a
    /// view that counts only its dispatches or that logs every change, crashes included;
    /// loads from light to overloaded, arrivals often at one instant and departures at an
    /// arrival's time (sizes on a grid).
    #[test]
    fn the_index_by_capacity_chooses_what_the_scan_chooses() {
        use crate::strategy::testing::{Servers, rng};
        use rand::RngExt;
        let palettes: [&[f64]; 5] =
            [&[1.0, 2.0, 3.0], &[1.0, 1.5, 4.0, 0.5], &[0.7, 1.3, 2.1, 1.4], &[0.3, 0.7, 1.0, 2.5, 3.0], &[1.0, 1.1]];
        let (mut picks, mut left_to_scan, mut asked, mut scanned) = (0u64, 0, 0, 0);
        for seed in [23, 31, 47] {
            let mut r = rng(seed);
            for round in 0..90 {
                let n = [3, 9, 17, 40, 130][round % 5];
                let workers: Vec<usize> = (0..n).map(|_| r.random_range(1..5)).collect();
                let capacities: Vec<f64> = match round % 9 {
                    // All distinct (and one class each).
                    7 => (0..n).map(|i| 0.5 + 0.37 * i as f64).collect(),
                    8 => vec![[1.0, 0.7][round % 2]; n],
                    _ => {
                        let palette = palettes[round % 5];
                        (0..n).map(|_| palette[r.random_range(0..palette.len())]).collect()
                    }
                };
                let instances = 1 + round % 3;
                let logs = instances > 1 || round % 2 == 0;
                let scanning = || ShortestExpectedDelay::new(capacities.clone());
                // The rule's own scan: no index of any kind.
                let mut scanners: Vec<ShortestExpectedDelay> = (0..instances)
                    .map(|_| ShortestExpectedDelay { fewest: None, indexable: false, ..scanning() })
                    .collect();
                let mut indexed: Vec<ShortestExpectedDelay> = (0..instances)
                    .map(|_| ShortestExpectedDelay { fewest: None, indexable: true, ..scanning() })
                    .collect();
                let mut cluster = Servers::new(&workers, true);
                if logs {
                    cluster.log = Some(Vec::new());
                }
                let total: usize = workers.iter().sum();
                let load = [0.5, 0.95, 1.3][round % 3];
                for k in 0..1500 {
                    cluster.now += [0.0, 0.5, 1.0, 1.5][r.random_range(0..4)] / (load * total as f64);
                    if logs && r.random_range(0..60) == 0 {
                        cluster.crash(r.random_range(0..n));
                    }
                    let b = if instances == 1 { 0 } else { r.random_range(0..instances) };
                    let request = Request { arrival: cluster.now, size: 1.0, client: 0 };
                    let asks = cluster.asks;
                    let chosen = indexed[b].pick(&request, &mut cluster);
                    let middle = cluster.asks;
                    let expected = scanners[b].pick(&request, &mut cluster);
                    assert_eq!(chosen, expected, "seed {seed}, round {round} ({capacities:?}), pick {k}");
                    picks += 1;
                    if n == 130 && k >= 100 {
                        asked += middle - asks;
                        scanned += cluster.asks - middle;
                    }
                    cluster.dispatch(chosen, [0.5, 1.0, 2.0][r.random_range(0..3)]);
                }
                let left = indexed.iter().map(|s| s.by_capacity.as_ref().expect("kept").left_to_scan).sum::<u64>();
                // Products of exact capacities (whole numbers and halves) never round, and two
                // capacities always tie cleanly: the scan is never needed.
                let exact = round % 9 < 7 && matches!(round % 5, 0 | 1 | 4) || round % 9 == 8;
                assert!(
                    !exact || left == 0,
                    "seed {seed}, round {round} ({capacities:?}): {left} picks left to the scan"
                );
                left_to_scan += left;
            }
        }
        // Rounded ties that are not clean are rare (0.7, 1.4 and 2.1, or 0.3 and 0.7 with
        // 1.0 and 3.0, at counts where they nearly tie): the index answers nearly every pick.
        assert!(left_to_scan * 100 < picks, "{left_to_scan} of {picks} picks left to the scan");
        assert!(asked * 10 < scanned, "the index asked {asked} times, the scan {scanned}");
    }

    /// Above 64 backends of a few capacities the strategy keeps the index per capacity
    /// when the view can tell which counts changed, and scans otherwise (and below).
    #[test]
    fn an_index_by_capacity_is_kept_only_where_it_pays_and_the_view_allows() {
        use crate::strategy::testing::{Servers, backend, built};
        let two_speeds = |n: usize| -> Vec<_> {
            (0..n).map(|i| backend(&format!("b{i}"), 2, if i % 3 == 0 { 2.0 } else { 1.0 })).collect()
        };
        for (n, tells, kept) in [(65, true, true), (64, true, false), (65, false, false)] {
            let mut s = ShortestExpectedDelay::new(two_speeds(n).iter().map(|b| b.capacity).collect());
            let mut cluster = Servers::new(&vec![2; n], tells);
            s.pick(&request(0, 1.0), &mut cluster);
            assert_eq!(s.by_capacity.is_some(), kept, "{n} backends, tells {tells}");
        }
        let many: Vec<f64> = (0..1000).map(|i| 1.0 + f64::from(i % 17)).collect();
        assert!(!ShortestExpectedDelay::new(many).indexable);
        assert!(!ShortestExpectedDelay::new([1.0, f64::MAX].repeat(50)).indexable);
        // Through the registry too.
        let params = crate::strategy::Params::new("shortest_expected_delay");
        let mut s = built("shortest_expected_delay", &two_speeds(300), &params);
        let mut cluster = Servers::new(&[2; 300], true);
        for _ in 0..3 {
            let chosen = s.pick(&request(0, 1.0), &mut cluster);
            cluster.dispatch(chosen, 1.0);
        }
        let asks = cluster.asks;
        s.pick(&request(0, 1.0), &mut cluster);
        assert!(cluster.asks - asks <= 2, "{} asks", cluster.asks - asks);
    }

    #[test]
    fn ties_rotate() {
        let mut s = ShortestExpectedDelay::new(vec![1.0, 2.0, 1.0]);
        let mut cluster = MockCluster::uniform(3);
        // (0+1)/1 = (1+1)/2 = (0+1)/1.
        cluster.counts = vec![0, 1, 0];
        let picks: Vec<usize> = (0..4).map(|_| s.pick(&request(0, 1.0), &mut cluster)).collect();
        assert_eq!(picks, [0, 1, 2, 0]);
    }
}
