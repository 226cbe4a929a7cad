//! The one list of strategies. Adding a strategy: one file in `strategy/` and one line here.

use super::{
    Cluster, Needs, ParamSpec, Params, PickCost, Setup, Shares, Strategy, StrategyError, StrategyVisitor, nearest,
};
use crate::model::Request;

/// What `lbsim strategies` shows about a strategy.
#[derive(Debug, Clone, Copy)]
pub struct StrategyInfo {
    pub name: &'static str,
    pub summary: &'static str,
    /// The real configuration line it models (or what kind of policy it is).
    pub models: &'static str,
    pub params: &'static [ParamSpec],
    /// Parameters the real system refuses for it, with the reason.
    pub refused: &'static [(&'static str, &'static str)],
    /// What it must know about the backends (limits the balancer information it can run on).
    pub needs: Needs,
    /// How a pick's work grows with the number of backends, with default parameters.
    pub pick_cost: PickCost,
    /// Parameters that change `pick_cost` when given, and to what.
    pub pick_cost_with: &'static [(&'static str, PickCost)],
    /// When the index of the counts is kept.
    pub indexed_when: super::IndexedWhen,
}

impl StrategyInfo {
    /// How a pick's work grows with the number of backends under `params`: the dearest of
    /// the default and what each given parameter brings.
    pub fn pick_cost_for(&self, params: &Params) -> PickCost {
        self.pick_cost_with
            .iter()
            .filter(|(name, _)| params.values.contains_key(*name))
            .map(|&(_, cost)| cost)
            .fold(self.pick_cost, PickCost::max)
    }
}

macro_rules! registry {
    ($($module:ident :: $ty:ident),* $(,)?) => {
        /// Any registered strategy. Dispatch is a `match`, which the branch predictor makes
        /// free in the hot loop (the variant never changes during a run).
        #[derive(Debug)]
        pub enum AnyStrategy {
            $($ty(super::$module::$ty),)*
        }

        const ALL: &[StrategyInfo] = &[
            $(StrategyInfo {
                name: <super::$module::$ty as Strategy>::NAME,
                summary: <super::$module::$ty as Strategy>::SUMMARY,
                models: <super::$module::$ty as Strategy>::MODELS,
                params: <super::$module::$ty as Strategy>::PARAMS,
                refused: <super::$module::$ty as Strategy>::REFUSED,
                needs: <super::$module::$ty as Strategy>::NEEDS,
                pick_cost: <super::$module::$ty as Strategy>::PICK_COST,
                pick_cost_with: <super::$module::$ty as Strategy>::PICK_COST_WITH,
                indexed_when: <super::$module::$ty as Strategy>::INDEXED_WHEN,
            },)*
        ];

        fn build_named(name: &str, setup: &Setup<'_>) -> Option<Result<AnyStrategy, StrategyError>> {
            $(
                if name == <super::$module::$ty as Strategy>::NAME {
                    return Some(<super::$module::$ty as Strategy>::build(setup).map(AnyStrategy::$ty));
                }
            )*
            None
        }

        /// Each backend's long-run share of the requests under strategy `name` when its rule
        /// fixes them ([`Strategy::shares`]); `None` for an unknown name and for every other
        /// rule.
        pub fn shares(name: &str, setup: &Setup<'_>) -> Option<Shares> {
            $(
                if name == <super::$module::$ty as Strategy>::NAME {
                    return <super::$module::$ty as Strategy>::shares(setup);
                }
            )*
            None
        }

        impl AnyStrategy {
            /// Whether the wrapped strategy looks at client ids.
            pub fn uses_client(&self) -> bool {
                match self {
                    $(AnyStrategy::$ty(_) => <super::$module::$ty as Strategy>::USES_CLIENT,)*
                }
            }

            /// What the wrapped strategy asks about the backends.
            pub fn needs(&self) -> Needs {
                match self {
                    $(AnyStrategy::$ty(_) => <super::$module::$ty as Strategy>::NEEDS,)*
                }
            }

            /// The backends coming picks of the wrapped strategy will look at or choose, if it
            /// knows already (each passed to `note`).
            #[inline]
            pub fn upcoming(&mut self, note: impl FnMut(usize)) {
                match self {
                    $(AnyStrategy::$ty(s) => s.upcoming(note),)*
                }
            }

            /// Hands the wrapped strategy, as its own type, to `visitor`: generic code (the
            /// engine's fast path) is then compiled once per strategy, with the strategy's
            /// `pick` inlined into it instead of behind this enum's `match`.
            pub fn visit<V: StrategyVisitor>(&mut self, visitor: V) -> V::Output {
                match self {
                    $(AnyStrategy::$ty(s) => visitor.visit(s),)*
                }
            }

            /// Picks a backend with the wrapped strategy.
            #[inline]
            pub fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
                match self {
                    $(AnyStrategy::$ty(s) => s.pick(request, cluster),)*
                }
            }
        }
    };
}

registry! {
    random::Random,
    weighted_random::WeightedRandom,
    round_robin::RoundRobin,
    weighted_round_robin::WeightedRoundRobin,
    least_connections::LeastConnections,
    power_of_d::PowerOfD,
    power_of_d_memory::PowerOfDMemory,
    jsq::Jsq,
    jiq::Jiq,
    least_work_left::LeastWorkLeft,
    shortest_expected_delay::ShortestExpectedDelay,
    sita::Sita,
    ip_hash::IpHash,
    consistent_hash::ConsistentHash,
    central_queue::CentralQueue,
    nginx_round_robin::NginxRoundRobin,
    nginx_least_conn::NginxLeastConn,
    nginx_random_two::NginxRandomTwo,
    nginx_ip_hash::NginxIpHash,
    nginx_hash_consistent::NginxHashConsistent,
    haproxy_roundrobin::HaproxyRoundrobin,
    haproxy_static_rr::HaproxyStaticRr,
    haproxy_leastconn::HaproxyLeastconn,
    haproxy_first::HaproxyFirst,
    haproxy_random::HaproxyRandom,
    haproxy_hash::HaproxyHash,
    envoy_least_request::EnvoyLeastRequest,
    envoy_ring_hash::EnvoyRingHash,
    envoy_maglev::EnvoyMaglev,
}

/// Every registered strategy, in the registry's order.
pub fn list() -> &'static [StrategyInfo] {
    ALL
}

/// The registered strategy called `name`, or an error suggesting the nearest name.
pub fn find(name: &str) -> Result<&'static StrategyInfo, StrategyError> {
    ALL.iter().find(|info| info.name == name).ok_or_else(|| StrategyError::Unknown {
        name: name.to_string(),
        suggestion: nearest(name, ALL.iter().map(|i| i.name)),
    })
}

/// Builds strategy `name`, checking its parameters against the ones it declares.
pub fn build(name: &str, setup: &Setup<'_>) -> Result<AnyStrategy, StrategyError> {
    let info = find(name)?;
    for param in setup.params.values.keys() {
        if let Some((_, why)) = info.refused.iter().find(|(name, _)| name == param) {
            return Err(StrategyError::BadParam {
                strategy: name.to_string(),
                param: param.clone(),
                what: why.to_string(),
            });
        }
        if !info.params.iter().any(|p| p.name == param) {
            let accepted: Vec<&str> = info.params.iter().map(|p| p.name).collect();
            let owners: Vec<&str> =
                ALL.iter().filter(|other| other.params.iter().any(|p| p.name == param)).map(|o| o.name).collect();
            return Err(StrategyError::UnknownParam {
                strategy: name.to_string(),
                param: param.clone(),
                suggestion: nearest(param, accepted.iter().copied()),
                accepted: if accepted.is_empty() { "no parameters".to_string() } else { accepted.join(", ") },
                elsewhere: (!owners.is_empty()).then(|| owners.join(", ")),
            });
        }
    }
    build_named(name, setup).expect("a name found in the registry has a builder")
}
