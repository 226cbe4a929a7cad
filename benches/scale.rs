//! Scaling benchmark: simulated requests per second and peak heap memory of the engine for
//! n = 16 … 65 536 backends (and 10⁶ for random and power_of_d), beside minimal bare loops
//! measured in the same run as the yardstick.
//!
//! ```text
//! cargo bench --bench scale                        # full: 10⁷ requests per case, ~3 minutes
//! LBSIM_SCALE_QUICK=1 cargo bench --bench scale    # quick: 10⁶ requests, no 10⁶ backends
//! LBSIM_SCALE_PAIRS=11 LBSIM_SCALE_ONLY=random LBSIM_SCALE_N=65536 cargo bench --bench scale
//! ```
//!
//! `LBSIM_SCALE_SECTIONS=K` measures in K sections instead of 20 (each boundary visits
//! every backend: `LBSIM_SCALE_REQUESTS=10000` then shows a large cluster's fixed cost).
//!
//! With `LBSIM_SCALE_PAIRS=K` it measures issue 15's two ratios instead of the table, each
//! in K back-to-back pairs (the strategy and the bare loop at n; the strategy at n and at
//! 16), and prints their medians and ranges: on a shared machine, where other tenants move
//! a single figure by 10–30 % from one second to the next, a pair run within a second shares
//! most of that, and the median of many pairs is the figure to quote.
//!
//! Every case is n single-worker sync backends (backlog 2048, the default), exponential
//! sizes, Poisson arrivals at load 0.9, one run measured as `lbsim run` measures it (20
//! sections, histograms on). Rates count completed requests over the whole call, set-up of
//! the backends included, per second of CPU time of the benchmark's thread (on Unix; wall
//! clock elsewhere), so other processes on a shared machine slow it less — they still
//! compete for the caches. Peak memory is the largest heap in use during the case, counted
//! by the global allocator below (so it is exact and independent of other processes).
//!
//! `central_queue ×4 instances` is the same cluster behind four balancer instances that see
//! the backends' exact state (the event layer's path, each instance with its own index);
//! `random ×4 workers`, `jsq ×4 workers`, `least_connections ×4 workers` and
//! `least_work_left ×4 workers` are over backends of four workers each (at load 0.9 rarely
//! one empty, so the last three keep an index: of the counts, of bounds of the work left).
//! A name given
//! in LBSIM_SCALE_ONLY may end in ` ×2 speeds`: half the backends twice as fast (two
//! capacity classes: `shortest_expected_delay ×2 speeds`).
//!
//! The bare loops know nothing but what their rule needs: `bare lindley` is random dispatch
//! with one `free_at` time per backend (the cheapest possible FCFS simulation);
//! `bare heap jsq` is the textbook event loop — a binary heap of departures, a count per
//! backend, JSQ by a linear scan — run for at most 2 s per case.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp1};
use rand_xoshiro::Xoshiro256PlusPlus;

#[path = "support/cluster.rs"]
mod cluster;

/// Heap bytes in use now and the most since the last reset.
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

struct Counting;

// SAFETY: forwards to the system allocator; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(new_size, Ordering::Relaxed) + new_size;
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Mean request size (seconds) of every case.
const MEAN_SIZE: f64 = 0.01;
const LOAD: f64 = 0.9;
/// A case name's suffix for the strategy behind four balancer instances with exact
/// information (the event layer: each instance keeps its own copy of the strategy).
const INSTANCES: &str = " ×4 instances";
/// A case name's suffix for the strategy over backends of four sync workers each (at load
/// 0.9 a backend is rarely empty, so a scan for the fewest requests would not stop early).
const WORKERS: &str = " ×4 workers";
/// A case name's suffix for the strategy over two capacity classes: half the backends with
/// workers twice as fast (shortest_expected_delay over unequal capacities).
const SPEEDS: &str = " ×2 speeds";
/// Longest a bare JSQ case runs (its linear scan makes it O(n) per request).
const BARE_BUDGET_SECONDS: f64 = 2.0;

/// Seconds this thread has been on a CPU (`CLOCK_THREAD_CPUTIME_ID`), so that a busy
/// machine's other processes do not count against the rate; None where there is no such
/// clock. (Not /proc/thread-self/schedstat, which a running thread sees advance only at the
/// scheduler's ticks: 4 ms steps, ±3 % on a case of 0.14 s.)
#[cfg(unix)]
fn cpu_seconds() -> Option<f64> {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid timespec for the call to fill.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    (status == 0).then_some(now.tv_sec as f64 + now.tv_nsec as f64 * 1e-9)
}

#[cfg(not(unix))]
fn cpu_seconds() -> Option<f64> {
    None
}

/// Runs `f`, returning (its result, seconds on the CPU — wall-clock seconds where that is
/// not available —, peak heap bytes above what was in use before).
fn measure<T>(f: impl FnOnce() -> T) -> (T, f64, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let (wall, cpu) = (Instant::now(), cpu_seconds());
    let out = f();
    let seconds = match (cpu, cpu_seconds()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => wall.elapsed().as_secs_f64(),
    };
    (out, seconds, PEAK.load(Ordering::Relaxed) - base)
}

/// Three independent streams, as the engine uses (arrivals, sizes, dispatch).
fn streams() -> [Xoshiro256PlusPlus; 3] {
    [1, 2, 3].map(Xoshiro256PlusPlus::seed_from_u64)
}

/// Random dispatch over n FCFS single-worker backends by Lindley's recursion: one `free_at`
/// per backend. Returns the mean response time (so the work cannot be optimised away).
fn bare_lindley(n: usize, requests: u64) -> (u64, f64) {
    let [mut arrivals, mut sizes, mut picks] = streams();
    let mean_gap = MEAN_SIZE / (LOAD * n as f64);
    let mut free_at = vec![0.0f64; n];
    let (mut now, mut sum) = (0.0f64, 0.0f64);
    for _ in 0..requests {
        let gap: f64 = Exp1.sample(&mut arrivals);
        now += gap * mean_gap;
        let e: f64 = Exp1.sample(&mut sizes);
        let i = ((u128::from(picks.next_u64()) * n as u128) >> 64) as usize;
        let start = free_at[i].max(now);
        free_at[i] = start + e * MEAN_SIZE;
        sum += free_at[i] - now;
    }
    (requests, sum / requests as f64)
}

/// One backend of [`lindley_with_bookkeeping`]: what an admission reads and writes.
struct Kept {
    free_at: f64,
    /// Requests admitted, and counted off as departed, so far (their difference bounds the
    /// number inside from above).
    admitted: u32,
    departed: u32,
    /// Departure times of the requests not yet counted off, at index admitted mod len
    /// (a power of two, doubled when full after counting off).
    ring: Vec<f64>,
    offered_work: f64,
    completed: u64,
    /// ∫ number inside dt and ∫ busy dt, booked at admission.
    in_system: f64,
    busy: f64,
}

/// Response-time histogram of [`lindley_with_bookkeeping`]: microsecond ticks in
/// hdrhistogram's layout at 3 significant digits (1 024 counters a power of two), bucket
/// indices held back and counted 256 at a time.
const TICKS_PER_SECOND: f64 = 1e6;
const COUNTERS: usize = 40 << 10;

/// [`bare_lindley`] plus the least a simulation of this model must do per request to report
/// what lbsim reports, written as one hand-fused loop: the accept-queue limit (2048) checked
/// against the departures not yet counted off (counted off only when the ring is full), the
/// request's departure kept, the backend's offered work, completions and booked time
/// integrals, the sums of response, wait and slowdown, and the response's histogram counter.
/// It leaves out what a run adds beyond that (sections and their boundaries, strategies,
/// other models): a yardstick for the engine's own overhead, and a ceiling on what any loop
/// with this bookkeeping can reach against the bare loop.
fn lindley_with_bookkeeping(n: usize, requests: u64) -> (u64, f64) {
    const LIMIT: u32 = 2048;
    const PENDING: usize = 256;
    let [mut arrivals, mut sizes, mut picks] = streams();
    let mean_gap = MEAN_SIZE / (LOAD * n as f64);
    let mut backends: Vec<Kept> = (0..n)
        .map(|_| Kept {
            free_at: 0.0,
            admitted: 0,
            departed: 0,
            ring: vec![0.0; 8],
            offered_work: 0.0,
            completed: 0,
            in_system: 0.0,
            busy: 0.0,
        })
        .collect();
    let mut counts = vec![0u64; COUNTERS];
    let (mut pending, mut held) = ([0u32; PENDING], 0);
    let (mut now, mut sum_response, mut sum_wait, mut sum_slowdown, mut rejected) = (0.0f64, 0.0, 0.0, 0.0, 0u64);
    for _ in 0..requests {
        let gap: f64 = Exp1.sample(&mut arrivals);
        let time = now + gap * mean_gap;
        now = if time > now { time } else { now };
        let e: f64 = Exp1.sample(&mut sizes);
        let size = e * MEAN_SIZE;
        let b = &mut backends[((u128::from(picks.next_u64()) * n as u128) >> 64) as usize];
        b.offered_work += size;
        let len = b.ring.len() as u32;
        let mut inside = b.admitted.wrapping_sub(b.departed);
        if inside >= LIMIT.min(len) {
            while b.departed != b.admitted && b.ring[(b.departed & (len - 1)) as usize] <= now {
                b.departed = b.departed.wrapping_add(1);
            }
            inside = b.admitted.wrapping_sub(b.departed);
            if inside >= LIMIT {
                rejected += 1;
                continue;
            }
            if inside == len {
                let mut ring = vec![0.0; 2 * len as usize];
                for k in (0..inside).map(|j| b.departed.wrapping_add(j)) {
                    ring[(k & (2 * len - 1)) as usize] = b.ring[(k & (len - 1)) as usize];
                }
                b.ring = ring;
            }
        }
        let service = size;
        let start = if b.free_at > now { b.free_at } else { now };
        let departure = start + service;
        b.free_at = departure;
        let len = b.ring.len() as u32;
        b.ring[(b.admitted & (len - 1)) as usize] = departure;
        b.admitted = b.admitted.wrapping_add(1);
        b.completed += 1;
        b.in_system += departure - now;
        b.busy += service;
        let (wait, response) = (start - now, departure - now);
        sum_response += response;
        sum_wait += wait;
        sum_slowdown += response / service;
        #[allow(clippy::manual_clamp)]
        let tick = (response * TICKS_PER_SECOND + 0.5).max(1.0).min((1u64 << 62) as f64);
        let index = if tick < 1024.0 { tick as usize } else { ((tick.to_bits() >> 42) - ((1022 + 10) << 10)) as usize };
        pending[held] = index.min(COUNTERS - 1) as u32;
        held += 1;
        if held == PENDING {
            for &i in &pending {
                counts[i as usize] += 1;
            }
            held = 0;
        }
    }
    let kept: f64 = backends.iter().map(|b| b.offered_work + b.in_system + b.busy + b.completed as f64).sum();
    let done = requests - rejected;
    (done, (sum_response + sum_wait + sum_slowdown + kept + counts.iter().sum::<u64>() as f64) / done as f64)
}

/// A departure time with a total order.
#[derive(PartialEq)]
struct Departure(f64, u32);
impl Eq for Departure {}
impl PartialOrd for Departure {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Departure {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// JSQ the textbook way: a heap of departure events, a count per backend, a linear scan for
/// the shortest queue (ties to the lowest index after the last choice). Stops after
/// `requests` or the time budget, whichever comes first; returns the requests done.
fn bare_heap_jsq(n: usize, requests: u64) -> (u64, f64) {
    let [mut arrivals, mut sizes, _] = streams();
    let mean_gap = MEAN_SIZE / (LOAD * n as f64);
    let mut free_at = vec![0.0f64; n];
    let mut count = vec![0u32; n];
    let mut heap = BinaryHeap::with_capacity(4 * n);
    let (mut now, mut sum, mut last) = (0.0f64, 0.0f64, 0usize);
    let started = Instant::now();
    let mut done = 0;
    while done < requests {
        if done % 65_536 == 0 && started.elapsed().as_secs_f64() > BARE_BUDGET_SECONDS {
            break;
        }
        let gap: f64 = Exp1.sample(&mut arrivals);
        now += gap * mean_gap;
        while let Some(Reverse(Departure(t, i))) = heap.peek() {
            if *t > now {
                break;
            }
            count[*i as usize] -= 1;
            heap.pop();
        }
        let mut best = (last + 1) % n;
        for k in 1..n {
            if count[best] == 0 {
                break;
            }
            let i = (last + 1 + k) % n;
            if count[i] < count[best] {
                best = i;
            }
        }
        last = best;
        let e: f64 = Exp1.sample(&mut sizes);
        let start = free_at[best].max(now);
        free_at[best] = start + e * MEAN_SIZE;
        count[best] += 1;
        heap.push(Reverse(Departure(free_at[best], best as u32)));
        sum += free_at[best] - now;
        done += 1;
    }
    (done, sum / done as f64)
}

/// Requests per second of CPU time and peak heap of a bare loop over `n` backends.
fn bare_rate(f: fn(usize, u64) -> (u64, f64), n: usize, requests: u64) -> (f64, usize) {
    let ((done, mean), seconds, peak) = measure(|| f(n, requests));
    black_box(mean);
    (done as f64 / seconds, peak)
}

/// Requests per second of CPU time and peak heap of the engine running case `name` (a
/// strategy, perhaps with a suffix) over `n` backends.
fn engine_rate(name: &str, n: usize, requests: u64) -> (f64, usize) {
    let (outcome, seconds, peak) = measure(|| {
        let model = cluster::model_with(n as u32, 2048);
        if let Some(strategy) = name.strip_suffix(INSTANCES) {
            cluster::simulate_strategy(&cluster::shared_instances(model, 4), strategy, requests, 1)
        } else if let Some(strategy) = name.strip_suffix(WORKERS) {
            cluster::simulate_strategy(&cluster::with_workers(model, 4), strategy, requests, 1)
        } else if let Some(strategy) = name.strip_suffix(SPEEDS) {
            cluster::simulate_strategy(&cluster::with_two_speeds(model), strategy, requests, 1)
        } else {
            cluster::simulate_strategy(&model, name, requests, 1)
        }
    });
    let completed: u64 = outcome.sections.iter().map(|s| s.completed).sum();
    drop(outcome);
    (completed as f64 / seconds, peak)
}

/// "median (lowest–highest)" of `ratios`, empty when there are none.
fn spread(ratios: &mut [f64]) -> String {
    if ratios.is_empty() {
        return String::new();
    }
    ratios.sort_by(f64::total_cmp);
    let k = ratios.len();
    let median = if k % 2 == 1 { ratios[k / 2] } else { (ratios[k / 2 - 1] + ratios[k / 2]) / 2.0 };
    format!("{median:.2} ({:.2}–{:.2})", ratios[0], ratios[k - 1])
}

struct Row {
    name: String,
    n: usize,
    rate: f64,
    peak: usize,
}

fn main() {
    let quick = std::env::var_os("LBSIM_SCALE_QUICK").is_some_and(|v| v != "0");
    let requests: u64 = std::env::var("LBSIM_SCALE_REQUESTS").ok().and_then(|s| s.parse().ok()).unwrap_or(if quick {
        1_000_000
    } else {
        10_000_000
    });
    let only: Option<Vec<String>> =
        std::env::var("LBSIM_SCALE_ONLY").ok().map(|s| s.split(',').map(str::to_string).collect());
    let wanted = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|w| w == name));
    // LBSIM_SCALE_N=65536 (say) runs one cluster size only (for profiling).
    let one_size: Option<usize> = std::env::var("LBSIM_SCALE_N").ok().and_then(|s| s.parse().ok());
    let all_sizes = [16, 256, 4096, 65_536];
    let sizes: &[usize] = match &one_size {
        Some(n) => std::slice::from_ref(n),
        None => &all_sizes,
    };
    let listed = [
        "random",
        "round_robin",
        "power_of_d",
        "jsq",
        "least_connections",
        "central_queue",
        // The event layer's path: four balancer instances sharing exact state.
        "central_queue ×4 instances",
        // Backends with four workers (gunicorn's usual shape): blind dispatch, and the
        // strategies whose scans would be long (rarely an empty backend).
        "random ×4 workers",
        "jsq ×4 workers",
        "least_connections ×4 workers",
        "least_work_left ×4 workers",
    ];
    // LBSIM_SCALE_ONLY may also name any other registered strategy (default parameters),
    // with any suffix: how the estimate's cost classes were calibrated (src/budget.rs).
    let mut strategies: Vec<&str> = listed.to_vec();
    for name in only.iter().flatten() {
        let strategy =
            name.strip_suffix(INSTANCES).or(name.strip_suffix(WORKERS)).or(name.strip_suffix(SPEEDS)).unwrap_or(name);
        if !strategies.contains(&name.as_str()) && lbsim::strategy::find(strategy).is_ok() {
            strategies.push(name);
        }
    }
    let huge = if quick || one_size.is_some() { None } else { Some(1_000_000usize) };

    eprintln!("{requests} requests per case, load {LOAD}, single-worker exponential backends, backlog 2048");
    // LBSIM_SCALE_PAIRS=K: the issue's two ratios measured in pairs, K times each, instead
    // of the table (for a shared machine, where a single figure moves by 10–30 % from one
    // second to the next): the strategy and the bare loop at n, back to back, and the
    // strategy at n and at 16; the median of the K ratios and their range.
    if let Some(pairs) = std::env::var("LBSIM_SCALE_PAIRS").ok().and_then(|s| s.parse::<usize>().ok()) {
        println!("| strategy | backends | × bare lindley, median (range) | × own n = 16, median (range) |");
        println!("|---|---:|---:|---:|");
        for &name in strategies.iter().filter(|name| wanted(name)) {
            for &n in sizes {
                let (mut vs_bare, mut vs_16) = (Vec::new(), Vec::new());
                for _ in 0..pairs {
                    let bare = bare_rate(bare_lindley, n, requests).0;
                    let rate = engine_rate(name, n, requests).0;
                    vs_bare.push(rate / bare);
                    if n != 16 {
                        vs_16.push(rate / engine_rate(name, 16, requests).0);
                    }
                }
                println!("| {name} | {n} | {} | {} |", spread(&mut vs_bare), spread(&mut vs_16));
            }
        }
        return;
    }
    let mut rows: Vec<Row> = Vec::new();
    let run_bare = |rows: &mut Vec<Row>, name: &str, n: usize, f: fn(usize, u64) -> (u64, f64)| {
        if !wanted(name) {
            return;
        }
        let (rate, peak) = bare_rate(f, n, requests);
        eprintln!("{name:>18} n = {n:>7}: {:7.2} M/s  {:8.1} MB", rate / 1e6, peak as f64 / 1e6);
        rows.push(Row { name: name.to_string(), n, rate, peak });
    };
    let run_engine = |rows: &mut Vec<Row>, name: &str, n: usize| {
        if !wanted(name) {
            return;
        }
        let (rate, peak) = engine_rate(name, n, requests);
        eprintln!("{name:>18} n = {n:>7}: {:7.2} M/s  {:8.1} MB", rate / 1e6, peak as f64 / 1e6);
        rows.push(Row { name: name.to_string(), n, rate, peak });
    };
    for &n in sizes {
        run_bare(&mut rows, "bare lindley", n, bare_lindley);
        run_bare(&mut rows, "lindley + bookkeeping", n, lindley_with_bookkeeping);
        run_bare(&mut rows, "bare heap jsq", n, bare_heap_jsq);
        for &name in &strategies {
            run_engine(&mut rows, name, n);
        }
    }
    if let Some(n) = huge {
        run_bare(&mut rows, "bare lindley", n, bare_lindley);
        run_bare(&mut rows, "lindley + bookkeeping", n, lindley_with_bookkeeping);
        for name in ["random", "power_of_d"] {
            run_engine(&mut rows, name, n);
        }
    }

    // The table for the README: speed, ratio to the bare Lindley loop at the same n, ratio to
    // the same strategy at n = 16, peak heap.
    let rate_of = |name: &str, n: usize| rows.iter().find(|r| r.name == name && r.n == n).map(|r| r.rate);
    println!("| strategy | backends | M requests/s | × bare lindley | × own n = 16 | peak heap |");
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        let vs_bare = rate_of("bare lindley", r.n).map(|b| format!("{:.2}", r.rate / b)).unwrap_or_default();
        let vs_16 = rate_of(&r.name, 16).map(|b| format!("{:.2}", r.rate / b)).unwrap_or_default();
        println!(
            "| {} | {} | {:.2} | {vs_bare} | {vs_16} | {:.1} MB |",
            r.name,
            r.n,
            r.rate / 1e6,
            r.peak as f64 / 1e6
        );
    }
}
