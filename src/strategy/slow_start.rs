//! Slow start: a backend that has just come back gets a fraction of its weight, growing to
//! the whole weight over a window, so a cold server is not flooded. Each system ramps its
//! own way; the strategies named after a system use its ramp. The time a backend came back
//! is [`Cluster::up_since`](super::Cluster::up_since): when the balancer's health checks
//! mark it up again or a deploy restarts it. As in nginx Plus and HAProxy, the backends
//! present from the start never ramp.
//!
//! Where the real system refuses slow start (nginx with `hash`, `ip_hash` and `random`;
//! HAProxy's static algorithms; Envoy's ring hash and Maglev) the strategy refuses the
//! parameter with that reason ([`Strategy::REFUSED`](super::Strategy::REFUSED)).

use super::{Cluster, ParamSpec, Params, StrategyError};

/// A slow-start window and the system's ramp.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SlowStart {
    /// Seconds from coming up to full weight.
    window: f64,
    ramp: Ramp,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ramp {
    /// nginx Plus `server … slow_start=30s`: "recover its weight from zero to a nominal
    /// value" (ngx_http_upstream_module docs), linearly; also the textbook weighted
    /// strategies' ramp. nginx Plus's code is not public;
    /// the factor is floored at 1 % so a backend that just came up still gets a trickle
    /// and weight ratios stay defined.
    Nginx,
    /// HAProxy `server … slowstart 30s` (`server_recalc_eweight`, server.c): with the window
    /// S and the time up t both in whole seconds (S rounded up, t rounded down), the
    /// effective weight is `uweight × ⌊(16·t + S) / S⌋` against a full `uweight × 16`: 16
    /// steps from 1/16 to the full weight.
    Haproxy,
    /// Envoy `slow_start_config` (EdfLoadBalancerBase::applySlowStartFactor):
    /// `weight × max(min_weight_percent / 100, time_factor^(1 / aggression))` with
    /// `time_factor = max(t, 1 ms) / window`.
    Envoy { aggression: f64, min_weight: f64 },
}

const WINDOW: &str = "slow_start";
const AGGRESSION: &str = "slow_start_aggression";
const MIN_WEIGHT: &str = "slow_start_min_weight_percent";

/// The parameter of nginx's slow start.
pub(crate) const NGINX_PARAM: ParamSpec = ParamSpec {
    name: WINDOW,
    help: "nginx Plus `server … slow_start=30s`: a backend's weight ramps linearly from zero to its \
           weight over this long after it comes up (default 0: off)",
};
/// The parameter of the textbook weighted strategies' slow start (nginx's linear ramp).
pub(crate) const LINEAR_PARAM: ParamSpec = ParamSpec {
    name: WINDOW,
    help: "a backend's weight ramps linearly from 1 % to its weight over this long after it comes back \
           (health checks mark it up, or a deploy restarts it) (default 0: off)",
};
/// The parameter of HAProxy's slow start.
pub(crate) const HAPROXY_PARAM: ParamSpec = ParamSpec {
    name: WINDOW,
    help: "HAProxy `server … slowstart 30s`: the weight ramps in 16 steps from 1/16 to full over \
           this long, in whole seconds, after a backend comes up (default 0: off)",
};
/// The parameters of Envoy's slow start.
pub(crate) const ENVOY_PARAMS: [ParamSpec; 3] = [
    ParamSpec {
        name: WINDOW,
        help: "Envoy `slow_start_config.slow_start_window`: weight × max(min %, (t / window)^(1 / \
               aggression)) while a backend has been up for less than this (default 0: off)",
    },
    ParamSpec { name: AGGRESSION, help: "Envoy `slow_start_config.aggression`, > 0 (default 1: linear)" },
    ParamSpec { name: MIN_WEIGHT, help: "Envoy `slow_start_config.min_weight_percent`, 0–100 (default 10)" },
];

impl SlowStart {
    pub(crate) fn nginx(params: &Params) -> Result<Option<Self>, StrategyError> {
        Ok(window(params)?.map(|window| SlowStart { window, ramp: Ramp::Nginx }))
    }

    /// The textbook strategies' ramp: nginx's (linear from zero).
    pub(crate) fn linear(params: &Params) -> Result<Option<Self>, StrategyError> {
        Self::nginx(params)
    }

    pub(crate) fn haproxy(params: &Params) -> Result<Option<Self>, StrategyError> {
        // HAProxy keeps the window in whole seconds, rounded up ((ms + 999) / 1000).
        Ok(window(params)?.map(|window| SlowStart { window: window.ceil(), ramp: Ramp::Haproxy }))
    }

    pub(crate) fn envoy(params: &Params) -> Result<Option<Self>, StrategyError> {
        let aggression = params.real(AGGRESSION, 1.0, "a number > 0", |a| a > 0.0)?;
        let percent = params.real(MIN_WEIGHT, 10.0, "a percentage from 0 to 100", |p| (0.0..=100.0).contains(&p))?;
        let window = window(params)?;
        if window.is_none() {
            for name in [AGGRESSION, MIN_WEIGHT] {
                if params.values.contains_key(name) {
                    return Err(
                        params.error(name, "only used with slow_start (give the window, e.g. slow_start = \"30s\")")
                    );
                }
            }
        }
        Ok(window.map(|window| SlowStart { window, ramp: Ramp::Envoy { aggression, min_weight: percent / 100.0 } }))
    }

    /// The fraction of its weight a backend has `up` seconds after it came up.
    #[inline]
    pub(crate) fn factor(&self, up: f64) -> f64 {
        if up >= self.window {
            return 1.0;
        }
        match self.ramp {
            Ramp::Nginx => (up / self.window).max(0.01),
            Ramp::Haproxy => {
                let s = self.window;
                ((16.0 * up.max(0.0).floor() + s) / s).floor() / 16.0
            }
            Ramp::Envoy { aggression, min_weight } => {
                let time_factor = up.max(0.001) / self.window;
                let ramped = if aggression == 1.0 { time_factor } else { time_factor.powf(1.0 / aggression) };
                ramped.max(min_weight)
            }
        }
    }

    /// HAProxy's effective weight (`next_eweight`) of a server whose full effective weight
    /// is `full` (16 × `weight`), `up` seconds after it came back: `uweight × ⌊(16·t + S) /
    /// S⌋`, at least one sixteenth (exact: the factor is a number of sixteenths).
    #[inline]
    pub(crate) fn eweight(&self, full: u32, up: f64) -> u32 {
        (f64::from(full) * self.factor(up)) as u32
    }

    /// `weight` scaled by the ramp at time `now` for a backend up since `since`.
    #[inline]
    pub(crate) fn weight(&self, weight: f64, now: f64, since: f64) -> f64 {
        weight * self.factor(now - since)
    }
}

/// Why nginx's hashing and random methods refuse slow start.
pub(crate) const NGINX_REFUSES: &[(&str, &str)] = &[(
    WINDOW,
    "nginx refuses slow_start with the hash, ip_hash and random methods (\"The parameter cannot be used along \
     with the hash, ip_hash, and random load balancing methods\", ngx_http_upstream_module); \
     nginx_round_robin and nginx_least_conn take it",
)];
/// Why HAProxy's static algorithms refuse slow start.
pub(crate) const HAPROXY_STATIC_REFUSES: &[(&str, &str)] = &[(
    WINDOW,
    "HAProxy's slowstart ramps the weight only under dynamic algorithms (roundrobin, leastconn, random, \
     hash-type consistent); static-rr's weights are fixed. haproxy_roundrobin, haproxy_leastconn, \
     haproxy_random and haproxy_hash take it",
)];
/// Why `balance first` refuses slow start here.
pub(crate) const HAPROXY_FIRST_REFUSES: &[(&str, &str)] = &[(
    WINDOW,
    "balance first ignores weights, so HAProxy's slowstart has no weight to ramp (it would ramp the server's \
     maxconn from 1, which lbsim does not model)",
)];
/// Why Envoy's hashing policies refuse slow start.
pub(crate) const ENVOY_REFUSES: &[(&str, &str)] = &[(
    WINDOW,
    "Envoy has slow start only for ROUND_ROBIN and LEAST_REQUEST (slow_start_config is part of their \
     lb configs, not of RING_HASH's or MAGLEV's); envoy_least_request takes it",
)];

/// Whether any backend is ramping, asked per pick at the cost of one comparison: the end
/// of the last ramp is recomputed only when [`Cluster::up_changes`] moves.
#[derive(Debug, Clone, Default)]
pub(crate) struct RampWatch {
    seen: Option<u64>,
    /// Every ramp is over at this time.
    until: f64,
}

impl RampWatch {
    /// Whether some backend of `cluster` is still ramping at `now` under `ramp`.
    #[inline]
    pub(crate) fn ramping<C: Cluster + ?Sized>(&mut self, ramp: &SlowStart, cluster: &C, now: f64) -> bool {
        let changes = cluster.up_changes();
        if self.seen != Some(changes) {
            self.seen = Some(changes);
            self.until =
                (0..cluster.len()).map(|i| cluster.up_since(i)).fold(f64::NEG_INFINITY, f64::max) + ramp.window;
        }
        now < self.until
    }
}

fn window(params: &Params) -> Result<Option<f64>, StrategyError> {
    Ok(params.duration(WINDOW)?.filter(|&w| w > 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::ParamValue;

    fn params(pairs: &[(&str, ParamValue)]) -> Params {
        pairs.iter().fold(Params::new("s"), |p, (k, v)| p.with(k, v.clone()))
    }

    #[test]
    fn nginx_ramps_linearly_from_zero() {
        let s = SlowStart::nginx(&params(&[(WINDOW, ParamValue::Text("10s".into()))])).unwrap().unwrap();
        assert_eq!(s.factor(0.0), 0.01);
        assert_eq!(s.factor(2.5), 0.25);
        assert_eq!(s.factor(9.0), 0.9);
        assert_eq!(s.factor(10.0), 1.0);
        assert_eq!(s.weight(4.0, 7.5, 2.5), 2.0);
        assert_eq!(SlowStart::nginx(&params(&[(WINDOW, ParamValue::Number(0.0))])).unwrap(), None);
        assert_eq!(SlowStart::nginx(&Params::new("s")).unwrap(), None);
    }

    #[test]
    fn haproxy_ramps_in_sixteen_steps_of_whole_seconds() {
        // slowstart 16s: w = ⌊(16 t + 16) / 16⌋ = t + 1 sixteenths, t in whole seconds.
        let s = SlowStart::haproxy(&params(&[(WINDOW, ParamValue::Number(16.0))])).unwrap().unwrap();
        assert_eq!(s.factor(0.0), 1.0 / 16.0);
        assert_eq!(s.factor(0.99), 1.0 / 16.0);
        assert_eq!(s.factor(1.0), 2.0 / 16.0);
        assert_eq!(s.factor(15.5), 1.0);
        // slowstart 1500ms is rounded up to 2 s: w = ⌊(16 t + 2) / 2⌋ → 1 then 9 sixteenths.
        let s = SlowStart::haproxy(&params(&[(WINDOW, ParamValue::Text("1500ms".into()))])).unwrap().unwrap();
        assert_eq!(s.factor(0.5), 1.0 / 16.0);
        assert_eq!(s.factor(1.2), 9.0 / 16.0);
        assert_eq!(s.factor(1.6), 9.0 / 16.0);
        assert_eq!(s.factor(2.0), 1.0);
    }

    #[test]
    fn envoy_formula_with_aggression_and_floor() {
        let s = SlowStart::envoy(&params(&[(WINDOW, ParamValue::Number(10.0))])).unwrap().unwrap();
        assert_eq!(s.factor(0.0), 0.1, "min_weight_percent 10 by default");
        assert!((s.factor(5.0) - 0.5).abs() < 1e-12);
        let s = SlowStart::envoy(&params(&[
            (WINDOW, ParamValue::Number(10.0)),
            (AGGRESSION, ParamValue::Number(2.0)),
            (MIN_WEIGHT, ParamValue::Number(0.0)),
        ]))
        .unwrap()
        .unwrap();
        // (t / window)^(1/2): a quarter of the window gives half the weight.
        assert!((s.factor(2.5) - 0.5).abs() < 1e-12);
        assert!((s.factor(0.0) - (0.0001f64).sqrt()).abs() < 1e-12, "t is at least 1 ms");
    }

    #[test]
    fn bad_slow_start_parameters_are_explained() {
        let e = SlowStart::envoy(&params(&[(WINDOW, ParamValue::Number(10.0)), (AGGRESSION, ParamValue::Number(0.0))]));
        assert!(e.unwrap_err().to_string().contains("expected a number > 0"));
        let e = SlowStart::envoy(&params(&[(MIN_WEIGHT, ParamValue::Number(5.0))]));
        assert!(e.unwrap_err().to_string().contains("only used with slow_start"));
        let e = SlowStart::nginx(&params(&[(WINDOW, ParamValue::Number(-1.0))]));
        assert!(e.unwrap_err().to_string().contains("duration ≥ 0"));
    }
}
