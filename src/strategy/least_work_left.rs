//! `least_work_left`: the backend that will finish its current work soonest (an oracle).

use super::start_index::{Scout, StartIndex};
use super::weighted_random::require_backends;
use super::work_index::WorkIndex;
use super::{
    BackendInfo, Cluster, IndexedWhen, Needs, PickCost, Setup, Strategy, StrategyError, ratio_less, rotating_argmin,
};
use crate::model::Request;

/// Least work left: send the request to the backend minimising uᵢ / cᵢ, where uᵢ is the
/// unfinished work there (seconds at speed 1, including the remaining part of requests in
/// service) and cᵢ its capacity — the time the backend would need to clear what it holds.
/// This is an oracle: real balancers do not know request sizes. For identical single-worker
/// FCFS backends it sends each request where it will start soonest, which makes the cluster
/// behave like one central queue (M/G/c).
///
/// Ratios are compared by cross-multiplication (uᵢ·cⱼ < uⱼ·cᵢ). Ties go to the first
/// backend in a scan starting just after the previous choice (rotating); the scan stops
/// early at a backend with no work.
///
/// Cost: over one-worker FCFS backends of one speed whose speed no fault changes, the work
/// left is (start − now) × speed, where start is when the backend would start a request:
/// the least work left is the earliest start, and `central_queue`'s index of the starts
/// ([`StartIndex`]) finds it in O(log n) when the view counts its changes (the engine's do).
/// The pick is the scan's exactly: the index's answer is taken only when no later start
/// gives the same rounded work (checked on the next representable start); otherwise it
/// scans (below).
///
/// Over FCFS backends of one worker count above one, none slowed down, whose capacities are
/// one multiple of their speeds (one speed or several), a
/// [`WorkIndex`] of lower bounds of the work left finds the least in O(w log n) amortised,
/// w the workers a backend, when the view counts its changes and tells the busy workers
/// (the engine's views do); the pick is the scan's exactly. (It is faster than the scan
/// from 8 backends of four workers on, and on a busy cluster of thousands the scan, which
/// finds no backend without work to stop at, is hundreds of times slower.)
/// Over other backends, and where the index of starts defers to it, it scans up to the
/// first backend with no work (all n when none is).
#[derive(Debug)]
pub struct LeastWorkLeft {
    capacities: Vec<f64>,
    last: usize,
    /// The index of starts, over one-worker FCFS backends of one speed and capacity.
    index: Option<Starts>,
    /// The index of work left, over FCFS backends of one worker count above one (capacities
    /// one multiple of their speeds).
    works: Option<Works>,
}

/// [`LeastWorkLeft`]'s index of work left over backends whose capacities are one multiple
/// of their speeds.
#[derive(Debug)]
struct Works {
    index: WorkIndex,
    /// Whether the view tells what the index needs (known at the first pick).
    served: Option<bool>,
}

impl Works {
    /// For FCFS backends of one worker count above one, none slowed down, whose capacities
    /// are the same multiple of their speeds up to rounding (so the least work left over
    /// capacity is the least time left), else `None`. (Over one-worker backends at several
    /// speeds the scan, which stops at the first idle backend, is shorter at any load where
    /// some are idle: at load 0.9 over 4 096 backends 9.0 M requests/s against the index's
    /// 3.5.)
    fn of(backends: &[BackendInfo]) -> Option<Self> {
        let first = backends.first()?;
        Self::serves(backends).then(|| Works { index: WorkIndex::new(backends.len(), first.workers), served: None })
    }

    /// Whether [`Works::of`] keeps an index over `backends`.
    fn serves(backends: &[BackendInfo]) -> bool {
        let Some(first) = backends.first() else { return false };
        let slots = first.capacity / first.speed;
        let alike = |b: &BackendInfo| {
            b.fcfs
                && b.workers == first.workers
                && !b.speed_changes
                && b.speed > 0.0
                && ((b.capacity / b.speed) - slots).abs() <= 4.0 * f64::EPSILON * slots
        };
        first.workers > 1 && slots.is_finite() && slots > 0.0 && backends.iter().all(alike)
    }
}

/// [`LeastWorkLeft`]'s index, with the one speed and capacity the work is reckoned in.
#[derive(Debug)]
struct Starts {
    index: StartIndex,
    speed: f64,
    capacity: f64,
    /// Arrival time of the last pick made with the index, and the picks it foresees.
    picked_at: f64,
    scout: Scout,
}

impl Starts {
    /// For backends whose work left follows from their starts alone, else `None`.
    fn of(backends: &[BackendInfo]) -> Option<Self> {
        let first = backends.first()?;
        Self::serves(backends).then(|| Starts {
            index: StartIndex::new(&vec![first.speed; backends.len()]),
            speed: first.speed,
            capacity: first.capacity,
            picked_at: f64::NAN,
            scout: Scout::default(),
        })
    }

    /// Whether [`Starts::of`] keeps an index over `backends`.
    fn serves(backends: &[BackendInfo]) -> bool {
        let Some(first) = backends.first() else { return false };
        let alike = |b: &BackendInfo| {
            b.fcfs && b.workers == 1 && !b.speed_changes && b.speed == first.speed && b.capacity == first.capacity
        };
        backends.iter().all(alike)
    }

    /// What the scan compares for a backend that would start a request at `start`: its
    /// work left times a capacity, rounded as `unfinished_work` and [`ratio_less`] round.
    #[inline]
    fn compared(&self, start: f64, now: f64) -> f64 {
        ((start - now).max(0.0) * self.speed) * self.capacity
    }
}

/// Whether least_work_left keeps an index over `backends` (of their starts or of bounds of
/// their work left) instead of scanning: the rule the run-time estimate charges by, which
/// needs only that every backend be alike, so one stand-in per group will do.
pub fn keeps_an_index(backends: &[BackendInfo]) -> bool {
    Starts::serves(backends) || Works::serves(backends)
}

impl LeastWorkLeft {
    pub(crate) fn new(backends: &[BackendInfo]) -> Self {
        let capacities: Vec<f64> = backends.iter().map(|b| b.capacity).collect();
        let last = capacities.len() - 1;
        LeastWorkLeft { capacities, last, index: Starts::of(backends), works: Works::of(backends) }
    }
}

impl Strategy for LeastWorkLeft {
    const NAME: &'static str = "least_work_left";
    const SUMMARY: &'static str = "oracle: least unfinished work per unit of capacity (ties rotate)";
    const MODELS: &'static str = "textbook oracle: least unfinished work";
    const NEEDS: Needs = Needs::Oracle;
    // An index over sync backends of one worker count (of the starts over one worker of one
    // speed, of bounds of the work left otherwise); elsewhere a scan that stops at the
    // first backend with no work left.
    const PICK_COST: PickCost = PickCost::AsksUntilIdleOrIndexed;
    const INDEXED_WHEN: IndexedWhen = IndexedWhen::AlikeSyncBackends;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        require_backends(Self::NAME, setup.backends)?;
        Ok(LeastWorkLeft::new(setup.backends))
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        if let Some(starts) = &mut self.index
            && let Some(changes) = cluster.changes()
        {
            starts.index.refresh(changes, self.last, cluster);
            let now = request.arrival;
            let earliest = starts.index.earliest(now);
            // Every backend starting at or before `earliest` has the least work left; one
            // starting later has more unless the rounding of (start − now) × speed ×
            // capacity makes it equal (then the scan decides the tie).
            // (`f64::next_up`, for a start ≥ 0 and finite, on Rust 1.85.)
            let next = f64::from_bits(earliest.to_bits() + 1);
            if starts.compared(next, now) > starts.compared(earliest, now) {
                self.last = starts.index.pick(now, self.last, self.capacities.len());
                starts.picked_at = now;
                return self.last;
            }
        }
        if let Some(works) = &mut self.works
            && let Some(changes) = cluster.changes()
            && *works.served.get_or_insert_with(|| WorkIndex::can_serve(cluster))
        {
            self.last = works.index.pick(changes, request.arrival, self.last, &self.capacities, cluster);
            return self.last;
        }
        let capacities = &self.capacities;
        let clearing = |i| {
            cluster.scanning(i);
            (cluster.unfinished_work(i), capacities[i])
        };
        rotating_argmin(capacities.len(), &mut self.last, clearing, ratio_less, |&(work, _)| work <= 0.0)
    }

    /// The backend of the pick a few picks from now, as the index of starts foresees it.
    #[inline]
    fn upcoming(&mut self, mut note: impl FnMut(usize)) {
        if let Some(starts) = &mut self.index
            && let Some(b) = starts.index.foresee(&mut starts.scout, self.last, starts.picked_at)
        {
            note(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::testing::{Counting, FreeWorkers, MockCluster, backend, request};

    /// One-worker backends of these speeds (their capacities).
    fn of_speeds(speeds: &[f64]) -> Vec<BackendInfo> {
        speeds.iter().enumerate().map(|(i, &s)| backend(&format!("b{i}"), 1, s)).collect()
    }

    #[test]
    fn minimises_work_per_capacity() {
        let mut s = LeastWorkLeft::new(&of_speeds(&[1.0, 4.0, 2.0]));
        let mut cluster = MockCluster::uniform(3);
        // Clearing times 1.0, 0.75, 1.0.
        cluster.work = vec![1.0, 3.0, 2.0];
        assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 1);
        cluster.work = vec![0.5, 3.0, 2.0];
        assert_eq!(s.pick(&request(0, 1.0), &mut cluster), 0);
    }

    #[test]
    fn ties_rotate() {
        let mut s = LeastWorkLeft::new(&of_speeds(&[1.0, 2.0, 1.0]));
        let mut cluster = MockCluster::uniform(3);
        cluster.work = vec![1.0, 2.0, 1.0];
        let picks: Vec<usize> = (0..4).map(|_| s.pick(&request(0, 1.0), &mut cluster)).collect();
        assert_eq!(picks, [0, 1, 2, 0]);
        cluster.work = vec![0.0; 3];
        let picks: Vec<usize> = (0..4).map(|_| s.pick(&request(0, 1.0), &mut cluster)).collect();
        assert_eq!(picks, [1, 2, 0, 1]);
    }

    /// Over one-worker backends of one speed, the pick through the index of starts is the
    /// scan's, pick for pick, behind one or several balancer instances, with crashes: with
    /// speeds whose products round (0.7, 3) and without, deterministic sizes and arrivals
    /// at the same instant (ties in the work left), loads below and above 1 (empty
    /// backends, then none), and a clock that starts at 0 (so that early on, with queues
    /// longer than the clock has run, (start − now) rounds two starts to the same work, a tie
    /// the index must leave to the scan) or late.
    #[test]
    fn the_index_of_starts_chooses_what_the_scan_chooses() {
        use rand::RngExt;
        let mut r = crate::strategy::testing::rng(11);
        // Works asked where (start − now) × speed × speed is exact: a speed that is a power
        // of two, and a clock that has run longer than any backend's queue of work (start ≤
        // 2 × now, so the difference is exact, Sterbenz): none, the index answers every pick.
        let mut exact_works = 0;
        for round in 0..48 {
            let n = 1 + (round * 5) % 37;
            let speed = [1.0, 0.7, 3.0, 0.5][round % 4];
            let instances = 1 + round % 3;
            let infos: Vec<BackendInfo> = (0..n).map(|i| backend(&format!("b{i}"), 1, speed)).collect();
            let mut indexed: Vec<LeastWorkLeft> = (0..instances).map(|_| LeastWorkLeft::new(&infos)).collect();
            let mut scanned: Vec<LeastWorkLeft> = (0..instances).map(|_| LeastWorkLeft::new(&infos)).collect();
            assert!(indexed[0].index.is_some());
            let start = [0.0, 1e3, 1e9][(round / 4) % 3];
            let mut cluster =
                FreeWorkers { free: vec![start; n], speed, now: start, ..FreeWorkers::new(n, Counting::Log) };
            let gap = [0.25, 0.6, 1.5][round % 3] / n as f64;
            for _ in 0..800 {
                cluster.now += [0.0, gap, 2.0 * gap][r.random_range(0..3)];
                if r.random_range(0..50) == 0 {
                    cluster.crash(r.random_range(0..n));
                }
                let k = r.random_range(0..instances);
                let request = Request { arrival: cluster.now, size: 1.0, client: 0 };
                let asked = cluster.works_asked;
                let chosen = indexed[k].pick(&request, &mut cluster);
                if speed.log2().fract() == 0.0 && start > 0.0 {
                    exact_works += cluster.works_asked - asked;
                }
                cluster.counting = Counting::Not;
                let expected = scanned[k].pick(&request, &mut cluster);
                cluster.counting = Counting::Log;
                assert_eq!(chosen, expected, "round {round}");
                let size = if round % 2 == 0 { 1.0 } else { [0.5, 1.0, 2.0][r.random_range(0..3)] };
                cluster.dispatch(chosen, size / speed);
            }
        }
        assert_eq!(exact_works, 0);
    }

    /// Over backends of one worker count above one, at one speed or several, the pick
    /// through the index of work left is the scan's, pick for pick: on the fast path's view
    /// (it says only that its previous pick changed) and behind one to three instances on a
    /// view that logs every change, crashes included; with speeds whose products round (0.7,
    /// 3) and not, one for every backend or a mix (the capacities then a multiple of the
    /// speeds only up to rounding: 3 × 0.7 / 0.7 is not 3); deterministic sizes and arrivals at the same instant (ties in the work left, and
    /// among the bounds), loads from 0.5 (idle backends: the pick stops at the first) to 1.3
    /// (none); a clock from 0 or late (at 10⁹ s the bounds' rounding is 10⁻⁶ s). And it asks
    /// the work left of a few backends a pick, where the scan asks up to all.
    #[test]
    fn the_index_of_work_left_chooses_what_the_scan_chooses() {
        use crate::strategy::testing::Servers;
        use rand::RngExt;
        let mut r = crate::strategy::testing::rng(12);
        let (mut picks, mut asked_by_index, mut asked_by_scan) = (0u64, 0u64, 0u64);
        for round in 0..48 {
            // Speeds: one of 1, 0.7 or 3 for every backend, or a mix of 0.45, 0.7, 1 and 3.
            let mixed = round / 12 == 3;
            let workers = [2, 3, 4, 8][round % 4];
            let n = [65, 100, 257][(round / 4) % 3];
            let speeds: Vec<f64> = (0..n)
                .map(|_| if mixed { [0.45, 0.7, 1.0, 3.0][r.random_range(0..4)] } else { [1.0, 0.7, 3.0][round / 12] })
                .collect();
            let logged = round % 2 == 1;
            let instances = if logged { 1 + round % 3 } else { 1 };
            let load = [0.5, 0.95, 1.3][round % 3];
            let start = [0.0, 1e3, 1e9][(round / 3) % 3];
            let infos: Vec<BackendInfo> =
                (0..n).map(|i| backend(&format!("b{i}"), workers as u32, speeds[i])).collect();
            let mut indexed: Vec<LeastWorkLeft> = (0..instances).map(|_| LeastWorkLeft::new(&infos)).collect();
            let mut scanned: Vec<LeastWorkLeft> = (0..instances).map(|_| LeastWorkLeft::new(&infos)).collect();
            assert!(indexed[0].works.is_some() && indexed[0].index.is_none());
            for s in &mut scanned {
                s.works = None;
            }
            let mut cluster = Servers::new(&vec![workers; n], true);
            cluster.speeds.clone_from(&speeds);
            cluster.now = start;
            for free in &mut cluster.free {
                free.fill(start);
            }
            if logged {
                cluster.log = Some(Vec::new());
            }
            // Mean size 1 at speed 1: a mean gap of 1 / (load × capacity) time.
            let gap = 1.0 / (load * workers as f64 * speeds.iter().sum::<f64>());
            let deterministic = round % 5 == 0;
            for _ in 0..1500 {
                cluster.now += [0.0, gap, 2.0 * gap][r.random_range(0..3)];
                if logged && r.random_range(0..60) == 0 {
                    cluster.crash(r.random_range(0..n));
                }
                let k = r.random_range(0..instances);
                let request = Request { arrival: cluster.now, size: 1.0, client: 0 };
                let asked = cluster.works_asked;
                let chosen = indexed[k].pick(&request, &mut cluster);
                asked_by_index += cluster.works_asked - asked;
                let asked = cluster.works_asked;
                let expected = scanned[k].pick(&request, &mut cluster);
                asked_by_scan += cluster.works_asked - asked;
                assert_eq!(chosen, expected, "round {round}");
                let size = if deterministic { 1.0 } else { [0.25, 1.0, 1.75][r.random_range(0..3)] };
                cluster.dispatch(chosen, size / speeds[chosen]);
                picks += 1;
            }
        }
        assert!(asked_by_index < 3 * picks, "the index asked {asked_by_index} works in {picks} picks");
        assert!(asked_by_scan > 20 * picks, "the scan asked {asked_by_scan} works in {picks} picks");
    }

    #[test]
    fn no_index_where_the_work_left_is_not_the_start() {
        let several = vec![backend("a", 2, 1.0), backend("b", 2, 1.0)];
        assert!(LeastWorkLeft::new(&several).index.is_none());
        assert!(LeastWorkLeft::new(&of_speeds(&[1.0, 2.0])).index.is_none());
        let mut slowed = of_speeds(&[1.0, 1.0]);
        slowed[1].speed_changes = true;
        assert!(LeastWorkLeft::new(&slowed).index.is_none());
        let mut async_ = of_speeds(&[1.0, 1.0]);
        async_[0].fcfs = false;
        assert!(LeastWorkLeft::new(&async_).index.is_none());
        assert!(LeastWorkLeft::new(&of_speeds(&[0.5, 0.5])).index.is_some());
    }

    /// The index of work left serves where work left over capacity orders as time left and
    /// no backend is idle for the scan to stop at: one worker count above one, capacities
    /// one multiple of the speeds; not over one worker (at several speeds the scan, at one
    /// the index of starts), unequal worker counts, capacities not so (I/O), slowed backends
    /// or async ones.
    #[test]
    fn the_index_of_work_left_needs_one_worker_count_and_capacities_as_speeds() {
        let works = |b: &[BackendInfo]| LeastWorkLeft::new(b).works.is_some();
        assert!(works(&[backend("a", 4, 1.0), backend("b", 4, 0.7), backend("c", 4, 3.0)]));
        assert!(!works(&of_speeds(&[1.0, 2.0, 0.3])));
        assert!(!works(&of_speeds(&[0.5, 0.5])), "the index of starts serves");
        assert!(!works(&[backend("a", 2, 1.0), backend("b", 4, 1.0)]));
        let mut io = vec![backend("a", 4, 1.0), backend("b", 4, 2.0)];
        io[1].capacity = 5.0;
        assert!(!works(&io));
        let mut slowed = vec![backend("a", 4, 1.0), backend("b", 4, 1.0)];
        slowed[0].speed_changes = true;
        assert!(!works(&slowed));
        let mut async_ = vec![backend("a", 4, 1.0), backend("b", 4, 1.0)];
        async_[1].fcfs = false;
        assert!(!works(&async_));
    }
}
