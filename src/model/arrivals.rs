//! When requests arrive at the balancer.

use std::sync::Arc;

use rand::distr::Distribution;
use rand::{Rng, RngExt};
use rand_distr::Exp1;

use super::service::MIN_SHAPE;
use super::{ClosedLoop, ModelError};
use crate::units::{format_duration, significant};

/// An arrival process: the law of arrival times, with its mean rate (requests per second).
///
/// Every process except `Trace` is defined by its mean rate plus shape parameters, so that the
/// rate can be set from an offered load (`with_rate`) without touching the shape.
#[derive(Debug, Clone)]
pub enum ArrivalProcess {
    /// Exponential gaps.
    Poisson { rate: f64 },
    /// Evenly spaced arrivals, 1/rate apart.
    Deterministic { rate: f64 },
    /// Gamma-distributed gaps with the given coefficient of variation (cv = 1/√k gives
    /// Erlang-k gaps; cv = 1 is Poisson), at most [`ArrivalProcess::MAX_GAMMA_CV`].
    Gamma { rate: f64, cv: f64 },
    /// Bursty two-state Markov-modulated Poisson process. The process alternates between an
    /// "on" state (mean sojourn `mean_on` seconds, arrival rate `peak × rate`) and an "off"
    /// state (mean sojourn `mean_off`, with the rate that makes the long-run mean `rate`).
    OnOff { rate: f64, peak: f64, mean_on: f64, mean_off: f64 },
    /// Time-varying Poisson: λ(t) = rate × (1 + amplitude × sin(2πt / period)).
    Diurnal { rate: f64, amplitude: f64, period: f64 },
    /// Replayed arrival timestamps (optionally with sizes and clients), looped if the run
    /// needs more requests than the trace has; `time_scale` stretches (>1) or compresses
    /// (<1) the trace's time axis, so that a rate or load can be imposed on it.
    Trace { trace: Arc<Trace>, time_scale: f64 },
    /// Closed-loop users: no open-loop arrivals at all (the stream is empty); each user's
    /// next request follows its previous response and a think time, so arrivals come from
    /// the engine's calendar and the rate is an output ([`ArrivalProcess::mean_rate`] is NaN).
    Closed(Arc<ClosedLoop>),
}

/// A recorded arrival trace (validated: at least two rows, timestamps non-decreasing, sizes
/// positive). Times are seconds, relative to the first row.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub times: Vec<f64>,
    pub sizes: Option<Vec<f64>>,
    pub clients: Option<Vec<u32>>,
}

impl Trace {
    /// Checks the invariants listed on the type; the message names the offending row (1-based).
    ///
    /// Requires at least two rows, finite non-decreasing timestamps spanning more than zero
    /// seconds, and (when present) one positive finite size and one client per row. The
    /// times are shifted so that the first row is at 0.
    pub fn new(mut times: Vec<f64>, sizes: Option<Vec<f64>>, clients: Option<Vec<u32>>) -> Result<Self, ModelError> {
        if times.len() < 2 {
            return Err(ModelError::new(format!("a trace needs at least 2 rows to have a rate (got {})", times.len())));
        }
        let mut previous = f64::NEG_INFINITY;
        for (i, &t) in times.iter().enumerate() {
            if !t.is_finite() {
                return Err(ModelError::new(format!("row {}: timestamp {t} is not a finite number", i + 1)));
            }
            if t < previous {
                return Err(ModelError::new(format!(
                    "row {}: timestamp {t} goes backwards (previous {previous}); sort the trace by time",
                    i + 1
                )));
            }
            previous = t;
        }
        let start = times[0];
        let span = times[times.len() - 1] - start;
        if span <= 0.0 {
            return Err(ModelError::new(format!(
                "all {} timestamps of the trace are equal ({start}): a trace must span more than 0 seconds",
                times.len()
            )));
        }
        if let Some(sizes) = &sizes {
            if sizes.len() != times.len() {
                return Err(ModelError::new(format!(
                    "the trace has {} timestamps but {} sizes; every row needs both",
                    times.len(),
                    sizes.len()
                )));
            }
            if let Some((i, s)) = sizes.iter().enumerate().find(|(_, s)| !(s.is_finite() && **s > 0.0)) {
                return Err(ModelError::new(format!("row {}: size {s} must be a finite number of seconds > 0", i + 1)));
            }
        }
        if let Some(clients) = &clients {
            if clients.len() != times.len() {
                return Err(ModelError::new(format!(
                    "the trace has {} timestamps but {} clients; every row needs both",
                    times.len(),
                    clients.len()
                )));
            }
        }
        for t in &mut times {
            *t -= start;
        }
        Ok(Trace { times, sizes, clients })
    }

    /// Time from the first to the last row, in seconds (> 0).
    pub fn span(&self) -> f64 {
        self.times[self.times.len() - 1]
    }

    /// Mean arrival rate of the trace: (rows − 1) / span, i.e. one over the mean gap.
    ///
    /// This choice (rather than rows / span) counts the gaps the trace actually shows, and it
    /// is exactly the long-run rate of the looped replay, since each loop adds one mean gap
    /// between the last row and the next loop's first.
    pub fn mean_rate(&self) -> f64 {
        (self.times.len() - 1) as f64 / self.span()
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Always false for a validated trace (kept for clippy's `len_without_is_empty`).
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Sample squared coefficient of variation of the gaps between consecutive rows.
    pub fn gap_scv(&self) -> f64 {
        let n = (self.times.len() - 1) as f64;
        let mean = self.span() / n;
        let var = self.times.windows(2).map(|w| (w[1] - w[0] - mean).powi(2)).sum::<f64>() / n;
        var / (mean * mean)
    }
}

/// One arrival produced by an [`ArrivalStream`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arrival {
    /// Absolute arrival time in seconds.
    pub time: f64,
    /// Size from a trace's size column, if the process carries sizes.
    pub size: Option<f64>,
    /// Client from a trace's client column, if the process carries clients.
    pub client: Option<u32>,
}

fn positive(process: &str, name: &str, value: f64) -> Result<f64, ModelError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(ModelError::new(format!("{process}: {name} must be a finite number > 0 (got {value})")))
    }
}

fn positive_rate(process: &str, rate: f64) -> Result<f64, ModelError> {
    // (A rate so small that its mean gap 1/rate overflows is refused too: the streams rely
    // on a finite gap.)
    if rate.is_finite() && rate > 0.0 && (1.0 / rate).is_finite() {
        Ok(rate)
    } else {
        Err(ModelError::new(format!("{process}: rate must be a finite number of requests per second > 0 (got {rate})")))
    }
}

/// Arrival rate in the "off" state of an on/off process whose long-run mean is `rate`:
/// the time-average (λ_on·mean_on + λ_off·mean_off)/(mean_on + mean_off) must equal `rate`
/// with λ_on = peak·rate, so λ_off = rate·(1 + (1 − peak)·mean_on/mean_off).
fn off_rate(rate: f64, peak: f64, mean_on: f64, mean_off: f64) -> f64 {
    rate * (1.0 + (1.0 - peak) * mean_on / mean_off)
}

/// First two moments (E[T], E[T²]) of the gap between consecutive arrivals of a stationary
/// on/off MMPP(2): the gaps are phase-type PH(φ, D₀) with D₀ = Q − Λ and φ = πΛ/(πλ) (the
/// state seen by an arrival), so E[Tᵏ] = k! φ(−D₀)^(−k)𝟙.
fn on_off_gap_moments(rate: f64, peak: f64, mean_on: f64, mean_off: f64) -> (f64, f64) {
    let (l1, l2) = (peak * rate, off_rate(rate, peak, mean_on, mean_off).max(0.0));
    let (r1, r2) = (1.0 / mean_on, 1.0 / mean_off);
    // Stationary state probabilities π = (r2, r1)/(r1 + r2); arrival-epoch φ ∝ πλ.
    let (w1, w2) = (r2 * l1, r1 * l2);
    let (p1, p2) = (w1 / (w1 + w2), w2 / (w1 + w2));
    // M = −D₀ = [[r1 + l1, −r1], [−r2, r2 + l2]]; M⁻¹ = [[r2 + l2, r1], [r2, r1 + l1]] / det.
    let det = (r1 + l1) * (r2 + l2) - r1 * r2;
    let inv = [[(r2 + l2) / det, r1 / det], [r2 / det, (r1 + l1) / det]];
    // v = M⁻¹𝟙, then E[T] = φ·v and E[T²] = 2 φ·M⁻¹v.
    let v = [inv[0][0] + inv[0][1], inv[1][0] + inv[1][1]];
    let w = [inv[0][0] * v[0] + inv[0][1] * v[1], inv[1][0] * v[0] + inv[1][1] * v[1]];
    let m1 = p1 * v[0] + p2 * v[1];
    let m2 = 2.0 * (p1 * w[0] + p2 * w[1]);
    (m1, m2)
}

impl ArrivalProcess {
    /// The largest cv of gamma gaps: 1/√0.05 ≈ 4.47, as for gamma service times.
    pub const MAX_GAMMA_CV: f64 = 4.47213595499958;

    /// Checks a gamma arrival process's cv: positive, and at most
    /// [`ArrivalProcess::MAX_GAMMA_CV`], the largest whose shape 1/cv² is the smallest a gamma
    /// service time may have. Below that shape most gaps are under 10⁻³⁰⁰ of the scale, i.e.
    /// 0 s (at cv 1000, 99.9 % of them), and the rare others carry the whole mean: a run's
    /// requests arrive at a handful of instants, its window has next to no length, and the
    /// rate it was asked for is not the one it simulates. Burstier traffic is on/off (bursts at
    /// `peak` × the rate) or a trace.
    pub fn gamma_cv(cv: f64) -> Result<f64, ModelError> {
        let cv = positive("gamma", "cv", cv)?;
        if cv > Self::MAX_GAMMA_CV {
            return Err(ModelError::new(format!(
                "gamma: cv must be at most {} (got {cv}): its shape 1/cv² would be below {MIN_SHAPE}, where gaps \
                 underflow to 0 s and a run's arrivals collapse onto a few instants; for burstier traffic use \
                 process = \"on_off\" (bursts at peak × the rate, lasting mean_on) or \"trace\"",
                significant(Self::MAX_GAMMA_CV, 3)
            )));
        }
        Ok(cv)
    }

    /// Validating constructors (rate > 0 and finite; 0 < cv ≤ [`ArrivalProcess::MAX_GAMMA_CV`]; peak ≥ 1 and small enough that
    /// the off rate is ≥ 0; 0 ≤ amplitude ≤ 1; period > 0; time_scale > 0).
    pub fn poisson(rate: f64) -> Result<Self, ModelError> {
        Ok(ArrivalProcess::Poisson { rate: positive_rate("poisson", rate)? })
    }

    pub fn deterministic(rate: f64) -> Result<Self, ModelError> {
        Ok(ArrivalProcess::Deterministic { rate: positive_rate("deterministic", rate)? })
    }

    /// Gamma gaps with cv at most [`ArrivalProcess::MAX_GAMMA_CV`] (see [`ArrivalProcess::gamma_cv`]).
    pub fn gamma(rate: f64, cv: f64) -> Result<Self, ModelError> {
        let rate = positive_rate("gamma", rate)?;
        let cv = Self::gamma_cv(cv)?;
        // Check that rand_distr accepts the derived shape and scale (it rejects e.g. a
        // subnormal scale) so that `stream` cannot fail.
        let scv = cv * cv;
        rand_distr::Gamma::new(1.0 / scv, scv / rate).map_err(|e| {
            ModelError::new(format!("gamma: rate {rate} with cv {cv} gives an invalid gap distribution ({e})"))
        })?;
        Ok(ArrivalProcess::Gamma { rate, cv })
    }

    /// The largest admissible peak is 1 + mean_off/mean_on (the off state then sends
    /// nothing).
    pub fn on_off(rate: f64, peak: f64, mean_on: f64, mean_off: f64) -> Result<Self, ModelError> {
        let rate = positive_rate("on_off", rate)?;
        let mean_on = positive("on_off", "mean_on", mean_on)?;
        let mean_off = positive("on_off", "mean_off", mean_off)?;
        if !(peak.is_finite() && peak >= 1.0) {
            return Err(ModelError::new(format!(
                "on_off: peak must be ≥ 1 (got {peak}): it is the on-state rate as a multiple of the mean rate"
            )));
        }
        let max_peak = 1.0 + mean_off / mean_on;
        if off_rate(rate, peak, mean_on, mean_off) < 0.0 && peak > max_peak * (1.0 + 1e-12) {
            return Err(ModelError::new(format!(
                "on_off: peak ×{peak} is too high for on {} / off {}: the off state would need a \
                 negative rate to keep the mean at {}/s; the largest peak is 1 + mean_off/mean_on = {}",
                format_duration(mean_on),
                format_duration(mean_off),
                significant(rate, 4),
                significant(max_peak, 4)
            )));
        }
        let peak = peak.min(max_peak);
        Ok(ArrivalProcess::OnOff { rate, peak, mean_on, mean_off })
    }

    pub fn diurnal(rate: f64, amplitude: f64, period: f64) -> Result<Self, ModelError> {
        let rate = positive_rate("diurnal", rate)?;
        if !(0.0..=1.0).contains(&amplitude) {
            return Err(ModelError::new(format!(
                "diurnal: amplitude must be between 0 and 1 (got {amplitude}): the rate swings \
                 between rate × (1 − amplitude) and rate × (1 + amplitude)"
            )));
        }
        let period = positive("diurnal", "period", period)?;
        Ok(ArrivalProcess::Diurnal { rate, amplitude, period })
    }

    pub fn trace(trace: Arc<Trace>, time_scale: f64) -> Result<Self, ModelError> {
        let time_scale = positive("trace", "time_scale", time_scale)?;
        Ok(ArrivalProcess::Trace { trace, time_scale })
    }

    /// Long-run mean arrival rate (requests per second). For a trace:
    /// [`Trace::mean_rate`] / time_scale. NaN for closed-loop users: their rate is measured,
    /// not given.
    pub fn mean_rate(&self) -> f64 {
        match self {
            ArrivalProcess::Closed(_) => f64::NAN,
            ArrivalProcess::Poisson { rate }
            | ArrivalProcess::Deterministic { rate }
            | ArrivalProcess::Gamma { rate, .. }
            | ArrivalProcess::OnOff { rate, .. }
            | ArrivalProcess::Diurnal { rate, .. } => *rate,
            ArrivalProcess::Trace { trace, time_scale } => trace.mean_rate() / time_scale,
        }
    }

    /// The same process with its mean rate changed to `rate` (for a trace: time rescaled).
    pub fn with_rate(&self, rate: f64) -> Result<Self, ModelError> {
        match self {
            ArrivalProcess::Poisson { .. } => Self::poisson(rate),
            ArrivalProcess::Deterministic { .. } => Self::deterministic(rate),
            ArrivalProcess::Gamma { cv, .. } => Self::gamma(rate, *cv),
            ArrivalProcess::OnOff { peak, mean_on, mean_off, .. } => Self::on_off(rate, *peak, *mean_on, *mean_off),
            ArrivalProcess::Diurnal { amplitude, period, .. } => Self::diurnal(rate, *amplitude, *period),
            ArrivalProcess::Trace { trace, .. } => {
                let rate = positive_rate("trace", rate)?;
                Self::trace(trace.clone(), trace.mean_rate() / rate)
            }
            ArrivalProcess::Closed(_) => Err(ModelError::new(
                "closed-loop users have no arrival rate to set: their rate is what the cluster lets them send",
            )),
        }
    }

    /// Squared coefficient of variation of the gaps, where defined (for reports and theory).
    ///
    /// On/off: the gaps of a stationary MMPP(2) are phase-type PH(φ, D₀) with D₀ = Q − Λ and
    /// φ = πΛ/(πλ) (the state seen by an arrival), so E[Tᵏ] = k! φ(−D₀)^(−k)𝟙. Diurnal: `None`
    /// (the gaps are not identically distributed). Trace: the sample SCV of its gaps.
    pub fn gap_scv(&self) -> Option<f64> {
        match self {
            ArrivalProcess::Poisson { .. } => Some(1.0),
            ArrivalProcess::Deterministic { .. } => Some(0.0),
            ArrivalProcess::Gamma { cv, .. } => Some(cv * cv),
            ArrivalProcess::OnOff { rate, peak, mean_on, mean_off } => {
                let (m1, m2) = on_off_gap_moments(*rate, *peak, *mean_on, *mean_off);
                Some(m2 / (m1 * m1) - 1.0)
            }
            ArrivalProcess::Diurnal { .. } | ArrivalProcess::Closed(_) => None,
            ArrivalProcess::Trace { trace, .. } => Some(trace.gap_scv()),
        }
    }

    /// Short human description, e.g. `poisson(120/s)`.
    pub fn describe(&self) -> String {
        let r = |x: f64| format!("{}/s", significant(x, 4));
        match self {
            ArrivalProcess::Poisson { rate } => format!("poisson({})", r(*rate)),
            ArrivalProcess::Deterministic { rate } => format!("deterministic({})", r(*rate)),
            ArrivalProcess::Gamma { rate, cv } => {
                format!("gamma({}, cv {})", r(*rate), significant(*cv, 3))
            }
            ArrivalProcess::OnOff { rate, peak, mean_on, mean_off } => format!(
                "on_off(mean {}, peak ×{}, on {} / off {})",
                r(*rate),
                significant(*peak, 3),
                format_duration(*mean_on),
                format_duration(*mean_off)
            ),
            ArrivalProcess::Diurnal { rate, amplitude, period } => format!(
                "diurnal(mean {}, amplitude {}, period {})",
                r(*rate),
                significant(*amplitude, 3),
                format_duration(*period)
            ),
            ArrivalProcess::Trace { trace, time_scale } => {
                let mut text = format!("trace({} rows, {}", trace.len(), r(self.mean_rate()));
                if *time_scale != 1.0 {
                    text.push_str(&format!(", time ×{}", significant(*time_scale, 4)));
                }
                text.push(')');
                text
            }
            ArrivalProcess::Closed(users) => users.describe(),
        }
    }

    /// The process's name as written in experiment files (`"poisson"`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            ArrivalProcess::Poisson { .. } => "poisson",
            ArrivalProcess::Deterministic { .. } => "deterministic",
            ArrivalProcess::Gamma { .. } => "gamma",
            ArrivalProcess::OnOff { .. } => "on_off",
            ArrivalProcess::Diurnal { .. } => "diurnal",
            ArrivalProcess::Trace { .. } => "trace",
            ArrivalProcess::Closed(_) => "closed",
        }
    }

    /// A fresh sampler starting at time 0. Synthetic processes put their first arrival one
    /// gap after 0; a trace replays its first row at time 0.
    pub fn stream(&self) -> ArrivalStream {
        let state = match self {
            ArrivalProcess::Poisson { rate } => StreamState::Poisson { mean_gap: 1.0 / rate },
            ArrivalProcess::Deterministic { rate } => StreamState::Deterministic { gap: 1.0 / rate, count: 0 },
            ArrivalProcess::Gamma { rate, cv } => {
                let scv = cv * cv;
                // Validated in the constructor; the fallback (Poisson-like) is unreachable
                // for values built through it.
                let dist = rand_distr::Gamma::new(1.0 / scv, scv / rate)
                    .unwrap_or_else(|_| rand_distr::Gamma::new(1.0, 1.0 / rate).expect("shape 1 is valid"));
                StreamState::Gamma { dist }
            }
            ArrivalProcess::OnOff { rate, peak, mean_on, mean_off } => StreamState::OnOff {
                on: None,
                rate_on: peak * rate,
                rate_off: off_rate(*rate, *peak, *mean_on, *mean_off).max(0.0),
                leave_on: 1.0 / mean_on,
                leave_off: 1.0 / mean_off,
                p_on: mean_on / (mean_on + mean_off),
            },
            ArrivalProcess::Diurnal { rate, amplitude, period } => StreamState::Diurnal {
                rate: *rate,
                amplitude: *amplitude,
                omega: std::f64::consts::TAU / period,
                lambda_max: rate * (1.0 + amplitude),
            },
            ArrivalProcess::Trace { trace, time_scale } => StreamState::Trace {
                loop_length: (trace.span() + 1.0 / trace.mean_rate()) * time_scale,
                trace: trace.clone(),
                scale: *time_scale,
                index: 0,
                offset: 0.0,
            },
            ArrivalProcess::Closed(_) => StreamState::Empty,
        };
        ArrivalStream { now: 0.0, state }
    }
}

/// Stateful sampler of arrival times; one per run. No allocation per arrival.
#[derive(Debug, Clone)]
pub struct ArrivalStream {
    /// Time of the last arrival (0 before the first).
    now: f64,
    state: StreamState,
}

#[derive(Debug, Clone)]
enum StreamState {
    Poisson {
        mean_gap: f64,
    },
    /// The n-th arrival is at n × gap (multiplied, not summed, so no rounding drift).
    Deterministic {
        gap: f64,
        count: u64,
    },
    Gamma {
        dist: rand_distr::Gamma<f64>,
    },
    /// Two-state MMPP. `on` is `None` until the first draw, which picks the state from the
    /// stationary law (on with probability mean_on/(mean_on + mean_off)), so the stream is
    /// stationary from time 0.
    OnOff {
        on: Option<bool>,
        rate_on: f64,
        rate_off: f64,
        leave_on: f64,
        leave_off: f64,
        p_on: f64,
    },
    /// Non-homogeneous Poisson by thinning (Lewis–Shedler): candidates at rate λmax, each kept
    /// with probability λ(t)/λmax.
    Diurnal {
        rate: f64,
        amplitude: f64,
        omega: f64,
        lambda_max: f64,
    },
    /// Row `index` of the current loop, which starts at `offset`. Each loop lasts
    /// (span + one mean gap) × scale so the last row of a loop and the first of the next are
    /// one mean gap apart instead of coinciding.
    Trace {
        trace: Arc<Trace>,
        scale: f64,
        index: usize,
        offset: f64,
        loop_length: f64,
    },
    /// No open-loop arrivals (closed-loop users): every arrival is at +∞.
    Empty,
}

impl ArrivalStream {
    /// The next arrival (times are non-decreasing).
    ///
    /// A Poisson arrival is inlined into the caller (the run loop draws one per request, and
    /// the call would cost as much as the draw); the other processes are a call away.
    #[inline(always)]
    pub fn next<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Arrival {
        match self.next_poisson(rng) {
            Some(time) => Arrival { time, size: None, client: None },
            None => self.next_other(rng),
        }
    }

    /// The next arrival's time if the process is Poisson (which carries no sizes or
    /// clients), drawn as [`ArrivalStream::next`] draws it; `None`, drawing nothing, for the
    /// other processes. For a caller that takes the common case without an [`Arrival`]'s
    /// options to test.
    #[inline(always)]
    pub fn next_poisson<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Option<f64> {
        let StreamState::Poisson { mean_gap } = self.state else { return None };
        let e: f64 = Exp1.sample(rng);
        // (As below: never before the last arrival. `max` by comparison, one instruction:
        // `self.now` is never NaN, so `f64::max`'s NaN rule, five more, decides nothing.)
        let time = self.now + e * mean_gap;
        let time = if time > self.now { time } else { self.now };
        self.now = time;
        Some(time)
    }

    /// Fills `times` with the next arrivals if the process is Poisson (the draws
    /// [`ArrivalStream::next_poisson`] makes, in the same order, with the same arithmetic);
    /// returns false, drawing nothing, for the other processes. A loop of its own keeps the
    /// generator's state in registers, where a draw per call stores it back each time.
    pub fn fill_poisson<R: Rng + Clone>(&mut self, rng: &mut R, times: &mut [f64]) -> bool {
        let StreamState::Poisson { mean_gap } = self.state else { return false };
        // The draws first, then the sums: no floating-point value lives across the draws'
        // rare calls (the ziggurat's tail), which would keep it on the stack.
        let mut local = rng.clone();
        super::service::fill_unit_exponential(&mut local, times);
        *rng = local;
        // Without `next_poisson`'s guard against going back in time: a unit exponential
        // draw is finite and ≥ 0 and `mean_gap` positive, so `now + draw × mean_gap` is never
        // below `now` (rounding is monotonic), and the guard would change nothing here but
        // put a comparison on the sums' chain, which bounds the loop.
        let mut now = self.now;
        for slot in times {
            now += *slot * mean_gap;
            *slot = now;
        }
        self.now = now;
        true
    }

    /// [`ArrivalStream::next`] for every process but Poisson.
    #[inline(never)]
    fn next_other<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Arrival {
        let (time, size, client) = match &mut self.state {
            // (Drawn by `next_poisson`, which `next` tries first.)
            StreamState::Poisson { .. } => return self.next(rng),
            StreamState::Deterministic { gap, count } => {
                *count += 1;
                (*count as f64 * *gap, None, None)
            }
            StreamState::Gamma { dist } => (self.now + dist.sample(rng), None, None),
            StreamState::OnOff { on, rate_on, rate_off, leave_on, leave_off, p_on } => {
                let mut state_on = match *on {
                    Some(s) => s,
                    None => rng.random::<f64>() < *p_on,
                };
                let mut t = self.now;
                // Competing exponentials: the next event (arrival or switch) comes after
                // Exp(λ + r); it is an arrival with probability λ/(λ + r). Memorylessness
                // makes restarting the race after each event exact.
                loop {
                    let (lambda, leave) = if state_on { (*rate_on, *leave_on) } else { (*rate_off, *leave_off) };
                    let total = lambda + leave;
                    let e: f64 = Exp1.sample(rng);
                    t += e / total;
                    if rng.random::<f64>() * total < lambda {
                        break;
                    }
                    state_on = !state_on;
                }
                *on = Some(state_on);
                (t, None, None)
            }
            StreamState::Diurnal { rate, amplitude, omega, lambda_max } => {
                let mut t = self.now;
                loop {
                    let e: f64 = Exp1.sample(rng);
                    t += e / *lambda_max;
                    let lambda = *rate * (1.0 + *amplitude * (*omega * t).sin());
                    if rng.random::<f64>() * *lambda_max < lambda {
                        break;
                    }
                }
                (t, None, None)
            }
            StreamState::Trace { trace, scale, index, offset, loop_length } => {
                let i = *index;
                let time = *offset + trace.times[i] * *scale;
                let size = trace.sizes.as_ref().map(|s| s[i]);
                let client = trace.clients.as_ref().map(|c| c[i]);
                *index += 1;
                if *index == trace.times.len() {
                    *index = 0;
                    *offset += *loop_length;
                }
                (time, size, client)
            }
            StreamState::Empty => (f64::INFINITY, None, None),
        };
        // Guard against rounding making time step back (e.g. deterministic n × gap).
        let time = time.max(self.now);
        self.now = time;
        Arrival { time, size, client }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn rng(seed: u64) -> Xoshiro256PlusPlus {
        Xoshiro256PlusPlus::seed_from_u64(seed)
    }

    /// The gaps of `n` arrivals (times checked non-decreasing).
    fn gaps(process: &ArrivalProcess, n: usize, seed: u64) -> Vec<f64> {
        let mut stream = process.stream();
        let mut r = rng(seed);
        let mut last = 0.0;
        (0..n)
            .map(|_| {
                let a = stream.next(&mut r);
                assert!(a.time >= last, "{}: time went backwards", process.describe());
                assert!(a.size.is_none() && a.client.is_none());
                let g = a.time - last;
                last = a.time;
                g
            })
            .collect()
    }

    /// For a renewal process the mean of n gaps has SE = (1/rate)·√scv/√n: check within 5 SE.
    fn check_renewal_rate(process: &ArrivalProcess, seed: u64) {
        let n = 200_000;
        let g = gaps(process, n, seed);
        let mean = g.iter().sum::<f64>() / n as f64;
        let expected = 1.0 / process.mean_rate();
        let se = expected * process.gap_scv().unwrap().sqrt() / (n as f64).sqrt();
        assert!(
            (mean - expected).abs() <= 5.0 * se + 1e-9 * expected,
            "{}: mean gap {mean} vs {expected} (SE {se})",
            process.describe()
        );
    }

    #[test]
    fn renewal_streams_have_their_mean_rate() {
        check_renewal_rate(&ArrivalProcess::poisson(120.0).unwrap(), 1);
        check_renewal_rate(&ArrivalProcess::deterministic(120.0).unwrap(), 2);
        check_renewal_rate(&ArrivalProcess::gamma(120.0, 0.5).unwrap(), 3);
        check_renewal_rate(&ArrivalProcess::gamma(120.0, 3.0).unwrap(), 4);
    }

    #[test]
    fn deterministic_arrivals_are_evenly_spaced() {
        let mut s = ArrivalProcess::deterministic(4.0).unwrap().stream();
        let mut r = rng(0);
        for n in 1..=1000 {
            assert_eq!(s.next(&mut r).time, n as f64 * 0.25);
        }
    }

    #[test]
    fn gamma_gaps_have_the_requested_scv() {
        // Sample variance of n gaps: Var(s²)/σ⁴ ≈ (κ − 1)/n with kurtosis κ = 3 + 6k for
        // gamma shape k = 1/cv²; check the sample SCV within 5 of those standard errors.
        for (i, &cv) in [0.5, 1.0, 2.0].iter().enumerate() {
            let p = ArrivalProcess::gamma(50.0, cv).unwrap();
            let n = 200_000;
            let g = gaps(&p, n, 10 + i as u64);
            let mean = g.iter().sum::<f64>() / n as f64;
            let var = g.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            let scv = var / (mean * mean);
            let kurtosis = 3.0 + 6.0 * cv * cv;
            let rel_se = ((kurtosis - 1.0) / n as f64).sqrt();
            let tol = 5.0 * rel_se + 2.0 * 5.0 * cv / (n as f64).sqrt(); // + error of the mean²
            assert!((scv / (cv * cv) - 1.0).abs() <= tol, "cv {cv}: sample scv {scv}");
        }
    }

    #[test]
    fn gamma_gaps_are_bounded_as_gamma_sizes_are() {
        // The largest cv is the smallest shape gamma service times accept.
        assert_eq!(ArrivalProcess::MAX_GAMMA_CV, MIN_SHAPE.sqrt().recip());
        let p = ArrivalProcess::gamma(120.0, ArrivalProcess::MAX_GAMMA_CV).unwrap();
        check_renewal_rate(&p, 5);
        // Beyond it (built unchecked), nearly every gap is 0 s: at cv 1000, shape 10⁻⁶,
        // P(gap < 10⁻³⁰⁰ × scale) ≈ (10⁻³⁰⁰)^(10⁻⁶) ≈ 0.9993.
        let zeros =
            gaps(&ArrivalProcess::Gamma { rate: 120.0, cv: 1000.0 }, 100_000, 6).iter().filter(|&&g| g == 0.0).count();
        assert!(zeros > 99_000, "{zeros} gaps of 0 s");
        for cv in [4.48, 1000.0, 1e6] {
            let e = ArrivalProcess::gamma(120.0, cv).unwrap_err();
            assert!(e.what.starts_with("gamma: cv must be at most 4.47 (got "), "{e}");
            assert!(e.what.contains("process = \"on_off\""), "{e}");
        }
        // Setting the rate keeps the check.
        assert!(ArrivalProcess::gamma(120.0, 4.0).unwrap().with_rate(1e6).is_ok());
    }

    /// Batch means: the mean gap over 20 batches of 50 000 arrivals; each batch spans many
    /// on/off cycles, so batches are nearly independent. Check the overall mean within 5
    /// batch-mean standard errors.
    fn check_rate_by_batches(process: &ArrivalProcess, seed: u64) -> Vec<f64> {
        let (batches, per) = (20, 50_000);
        let g = gaps(process, batches * per, seed);
        let means: Vec<f64> = g.chunks(per).map(|c| c.iter().sum::<f64>() / per as f64).collect();
        let grand = means.iter().sum::<f64>() / batches as f64;
        let sd = (means.iter().map(|m| (m - grand).powi(2)).sum::<f64>() / (batches - 1) as f64).sqrt();
        let se = sd / (batches as f64).sqrt();
        let expected = 1.0 / process.mean_rate();
        assert!(
            (grand - expected).abs() <= 5.0 * se,
            "{}: mean gap {grand} vs {expected} (SE {se})",
            process.describe()
        );
        g
    }

    #[test]
    fn on_off_has_its_long_run_rate_and_gap_scv() {
        let p = ArrivalProcess::on_off(120.0, 3.0, 2.0, 8.0).unwrap();
        let g = check_rate_by_batches(&p, 21);
        // The analytic SCV (MAP moments) against the sample SCV of a million gaps: the gaps are
        // correlated, so only a loose 5 % check (20M gaps agreed to 0.1 %); the exact part is
        // E[T] = 1/rate below.
        let n = g.len() as f64;
        let mean = g.iter().sum::<f64>() / n;
        let scv = g.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n / (mean * mean);
        let theory = p.gap_scv().unwrap();
        let (m1, _) = on_off_gap_moments(120.0, 3.0, 2.0, 8.0);
        assert!((m1 * 120.0 - 1.0).abs() < 1e-12, "MAP mean gap {m1} must be 1/rate");
        assert!(theory > 1.0, "bursty traffic has gap scv > 1 ({theory})");
        assert!((scv / theory - 1.0).abs() < 0.05, "sample scv {scv} vs MAP {theory}");
        // Off state silent (largest peak): still the right rate.
        let silent = ArrivalProcess::on_off(100.0, 5.0, 0.5, 2.0).unwrap();
        check_rate_by_batches(&silent, 22);
        // Peak 1 is Poisson.
        let flat = ArrivalProcess::on_off(100.0, 1.0, 0.5, 2.0).unwrap();
        assert!((flat.gap_scv().unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn diurnal_counts_over_whole_periods_match_the_rate() {
        // Over whole periods the count is Poisson with mean rate × duration (the sine
        // integrates to 0): check within 5 × √mean. Also check that the peak half-period gets
        // more arrivals than the trough half, by the integral of the sine.
        let p = ArrivalProcess::diurnal(200.0, 0.8, 10.0).unwrap();
        let mut s = p.stream();
        let mut r = rng(31);
        let horizon = 100.0 * 10.0;
        let (mut count, mut first_half) = (0u64, 0u64);
        loop {
            let a = s.next(&mut r);
            if a.time >= horizon {
                break;
            }
            count += 1;
            if a.time % 10.0 < 5.0 {
                first_half += 1;
            }
        }
        let expected = 200.0 * horizon;
        assert!((count as f64 - expected).abs() <= 5.0 * expected.sqrt(), "count {count} vs {expected}");
        // ∫₀^{P/2} λ(t) dt = rate·(P/2 + amplitude·P/π).
        let expected_first = 200.0 * 100.0 * (5.0 + 0.8 * 10.0 / std::f64::consts::PI);
        assert!((first_half as f64 - expected_first).abs() <= 5.0 * expected_first.sqrt());
        assert_eq!(p.gap_scv(), None);
    }

    #[test]
    fn trace_replays_and_loops_with_sizes_and_clients() {
        let trace =
            Trace::new(vec![10.0, 11.0, 13.0, 14.0], Some(vec![0.1, 0.2, 0.3, 0.4]), Some(vec![7, 8, 9, 7])).unwrap();
        assert_eq!(trace.times, vec![0.0, 1.0, 3.0, 4.0]);
        assert_eq!(trace.mean_rate(), 0.75);
        let p = ArrivalProcess::trace(Arc::new(trace), 2.0).unwrap();
        assert_eq!(p.mean_rate(), 0.375);
        let mut s = p.stream();
        let mut r = rng(0);
        let loop_length = (4.0 + 4.0 / 3.0) * 2.0;
        let base = [0.0, 2.0, 6.0, 8.0];
        for lap in 0..3 {
            for (i, t) in base.iter().enumerate() {
                let a = s.next(&mut r);
                assert!((a.time - (lap as f64 * loop_length + t)).abs() < 1e-9, "lap {lap} row {i}: {a:?}");
                assert_eq!(a.size, Some([0.1, 0.2, 0.3, 0.4][i]));
                assert_eq!(a.client, Some([7, 8, 9, 7][i]));
            }
        }
        // with_rate rescales time so the long-run rate (loops included) is the new rate.
        let fast = p.with_rate(3.0).unwrap();
        assert!((fast.mean_rate() - 3.0).abs() < 1e-12);
        let mut s = fast.stream();
        let n = 4 * 1000;
        let mut last = 0.0;
        for _ in 0..=n {
            last = s.next(&mut r).time;
        }
        assert!((n as f64 / last - 3.0).abs() < 1e-9, "rate {}", n as f64 / last);
        // Gap SCV of the rows: gaps 1, 2, 1 (mean 4/3).
        let expected_scv = ((1.0f64 / 3.0).powi(2) * 2.0 + (2.0f64 / 3.0).powi(2)) / 3.0 / (16.0 / 9.0);
        assert!((p.gap_scv().unwrap() - expected_scv).abs() < 1e-12);
    }

    #[test]
    fn with_rate_keeps_the_shape() {
        let p = ArrivalProcess::on_off(120.0, 3.0, 2.0, 8.0).unwrap().with_rate(60.0).unwrap();
        assert!(matches!(p, ArrivalProcess::OnOff { rate, peak, .. } if rate == 60.0 && peak == 3.0));
        let g = ArrivalProcess::gamma(10.0, 0.3).unwrap().with_rate(5.0).unwrap();
        assert_eq!(g.gap_scv(), Some(0.09));
        assert_eq!(g.mean_rate(), 5.0);
        assert!(ArrivalProcess::poisson(1.0).unwrap().with_rate(0.0).is_err());
    }

    #[test]
    fn descriptions_and_kinds() {
        assert_eq!(ArrivalProcess::poisson(120.0).unwrap().describe(), "poisson(120/s)");
        assert_eq!(
            ArrivalProcess::on_off(120.0, 3.0, 2.0, 8.0).unwrap().describe(),
            "on_off(mean 120/s, peak ×3, on 2s / off 8s)"
        );
        assert_eq!(ArrivalProcess::on_off(120.0, 3.0, 2.0, 8.0).unwrap().kind(), "on_off");
        assert_eq!(ArrivalProcess::diurnal(1.0, 0.5, 60.0).unwrap().kind(), "diurnal");
    }

    #[test]
    fn invalid_parameters_are_explained() {
        let err = |r: Result<ArrivalProcess, ModelError>| r.unwrap_err().what;
        assert!(err(ArrivalProcess::poisson(0.0)).contains("rate must be"));
        assert!(err(ArrivalProcess::deterministic(f64::INFINITY)).contains("rate must be"));
        assert!(err(ArrivalProcess::gamma(1.0, 0.0)).contains("cv"));
        assert!(err(ArrivalProcess::on_off(1.0, 0.5, 1.0, 1.0)).contains("peak must be ≥ 1"));
        let e = err(ArrivalProcess::on_off(1.0, 6.0, 2.0, 8.0));
        assert!(e.contains("largest peak is 1 + mean_off/mean_on = 5"), "{e}");
        assert!(err(ArrivalProcess::on_off(1.0, 2.0, 0.0, 8.0)).contains("mean_on"));
        assert!(err(ArrivalProcess::diurnal(1.0, 1.5, 8.0)).contains("amplitude must be between 0 and 1"));
        assert!(err(ArrivalProcess::diurnal(1.0, 0.5, -8.0)).contains("period"));
        let t = Arc::new(Trace::new(vec![0.0, 1.0], None, None).unwrap());
        assert!(err(ArrivalProcess::trace(t, 0.0)).contains("time_scale"));

        let terr = |r: Result<Trace, ModelError>| r.unwrap_err().what;
        assert!(terr(Trace::new(vec![1.0], None, None)).contains("at least 2 rows"));
        let mut times: Vec<f64> = (0..20).map(|i| i as f64 * 0.25).collect();
        times[15] = 3.5;
        times[16] = 3.2;
        let e = terr(Trace::new(times, None, None));
        assert!(e.starts_with("row 17: timestamp 3.2 goes backwards (previous 3.5)"), "{e}");
        assert!(terr(Trace::new(vec![0.0, f64::NAN], None, None)).contains("row 2"));
        assert!(terr(Trace::new(vec![2.0, 2.0], None, None)).contains("more than 0 seconds"));
        assert!(terr(Trace::new(vec![0.0, 1.0], Some(vec![1.0]), None)).contains("2 timestamps but 1 sizes"));
        assert!(terr(Trace::new(vec![0.0, 1.0], Some(vec![1.0, -1.0]), None)).contains("row 2: size -1"));
        assert!(terr(Trace::new(vec![0.0, 1.0], None, Some(vec![1, 2, 3]))).contains("3 clients"));
    }
}
