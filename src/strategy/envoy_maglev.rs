//! `envoy_maglev`: Envoy's MAGLEV load balancer (Eisenbud et al., NSDI 2016), with its
//! optional bounded load.

use super::consistent_hash::bytes_hash;
use super::envoy_bounded::EnvoyBounded;
use super::haproxy_chash::{BALANCE_FACTOR, balance_factor_percent};
use super::real_weights::real_weights;
use super::slow_start;
use super::{Cluster, Needs, ParamSpec, PickCost, Setup, Strategy, StrategyError};
use crate::model::{ClientAddresses, Request, address_text, splitmix64};

/// Envoy's default Maglev table size: a prime.
const DEFAULT_TABLE_SIZE: usize = 65537;
/// Envoy's largest accepted table size.
const MAX_TABLE_SIZE: usize = 5_000_011;

/// Envoy MAGLEV (`MaglevTable::constructMaglevTableInternal`, maglev_lb.cc):
///
/// - host i has `offset = h₀(name) mod M` and `skip = h₁(name) mod (M − 1) + 1` (M the
///   prime table size, 65537 by default; h₀, h₁ two seeded hashes: Envoy's xxHash64 of the
///   address with seeds 0 and 1, lbsim's ring hash of the backend name with two seeds),
///   and its preference list is `(offset + skip × next) mod M`;
/// - the table is filled in rounds: in round r, each host whose normalised weight w
///   satisfies `r × w ≥ target` (target starting at 0 and growing by the largest
///   normalised weight each time the host fills a slot) takes the next free slot of its
///   preference list, until all M slots are taken; equal weights take turns;
/// - a request goes to `table[hash mod M]`, the hash being that of the client's address
///   text (`hash_policy source_ip`).
///
/// Each host gets M/n slots give or take one per host, and removing a host reassigns
/// mostly its own slots. `hash_balance_factor` adds Envoy's bounded load (see
/// [`EnvoyBounded`]). Weights are Envoy's (`load_balancing_weight`, default 1).
#[derive(Debug)]
pub struct EnvoyMaglev {
    table: Vec<u32>,
    addresses: ClientAddresses,
    bounded: EnvoyBounded,
}

/// Host `name`'s hash with `seed`.
fn seeded_hash(name: &str, seed: u64) -> u64 {
    splitmix64(bytes_hash(name.as_bytes()) ^ splitmix64(seed))
}

impl EnvoyMaglev {
    pub(crate) fn new(names: &[&str], weights: &[u32], table_size: usize, factor: u32) -> Self {
        let m = table_size as u64;
        let total: f64 = weights.iter().map(|&w| f64::from(w)).sum();
        let normalized: Vec<f64> = weights.iter().map(|&w| f64::from(w) / total).collect();
        let max_weight = normalized.iter().copied().fold(0.0, f64::max);
        struct Entry {
            offset: u64,
            skip: u64,
            next: u64,
            weight: f64,
            target: f64,
        }
        let mut entries: Vec<Entry> = names
            .iter()
            .zip(&normalized)
            .map(|(name, &weight)| Entry {
                offset: seeded_hash(name, 0) % m,
                skip: seeded_hash(name, 1) % (m - 1) + 1,
                next: 0,
                weight,
                target: 0.0,
            })
            .collect();
        const FREE: u32 = u32::MAX;
        let mut table = vec![FREE; table_size];
        let mut filled = 0;
        let mut iteration = 1u64;
        while filled < table_size {
            for (host, e) in entries.iter_mut().enumerate() {
                if filled == table_size {
                    break;
                }
                if (iteration as f64) * e.weight < e.target {
                    continue;
                }
                e.target += max_weight;
                let mut c = (e.offset + e.skip * e.next) % m;
                while table[c as usize] != FREE {
                    e.next += 1;
                    c = (e.offset + e.skip * e.next) % m;
                }
                table[c as usize] = host as u32;
                e.next += 1;
                filled += 1;
            }
            iteration += 1;
        }
        EnvoyMaglev { table, addresses: ClientAddresses::scattered(), bounded: EnvoyBounded::new(weights, factor) }
    }
}

fn is_prime(n: usize) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
}

impl Strategy for EnvoyMaglev {
    const NAME: &'static str = "envoy_maglev";
    const SUMMARY: &'static str =
        "Envoy MAGLEV: a 65537-slot lookup table on the client address; optional bounded load (hash_balance_factor)";
    const MODELS: &'static str =
        "Envoy: lb_policy: MAGLEV, hash_policy source_ip [+ common_lb_config hash_balance_factor 100·f]";
    const NEEDS: Needs = Needs::Counts;
    // One look-up in a table of fixed size; a bounded load counts every host's requests.
    const PICK_COST: PickCost = PickCost::Constant;
    const PICK_COST_WITH: &'static [(&'static str, PickCost)] = &[(BALANCE_FACTOR, PickCost::AsksAll)];
    const REFUSED: &'static [(&'static str, &'static str)] = slow_start::ENVOY_REFUSES;
    const USES_CLIENT: bool = true;
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec { name: "table_size", help: "maglev_lb_config.table_size, a prime below 5000011 (default 65537)" },
        ParamSpec {
            name: BALANCE_FACTOR,
            help: "bounded load, f > 1 (Envoy's hash_balance_factor 125 is f = 1.25; default: unbounded)",
        },
    ];

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        let weights = real_weights(Self::NAME, "Envoy", u32::MAX, setup.backends)?;
        let table_size = setup.params.count("table_size", DEFAULT_TABLE_SIZE, 2)?;
        if !is_prime(table_size) || table_size >= MAX_TABLE_SIZE {
            return Err(setup.params.error(
                "table_size",
                format!(
                    "{table_size} is not a prime below {MAX_TABLE_SIZE} (Envoy requires one; 65537 is the default)"
                ),
            ));
        }
        if table_size < setup.backends.len() {
            return Err(setup
                .params
                .error("table_size", format!("{table_size} slots cannot hold {} backends", setup.backends.len())));
        }
        let factor = balance_factor_percent(setup.params)?;
        let names: Vec<&str> = setup.backends.iter().map(|b| b.name.as_str()).collect();
        Ok(EnvoyMaglev { addresses: setup.addresses, ..EnvoyMaglev::new(&names, &weights, table_size, factor) })
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, cluster: &mut C) -> usize {
        let (text, len) = address_text(self.addresses.of(request.client));
        let hash = bytes_hash(&text[..len]);
        let home = self.table[(hash % self.table.len() as u64) as usize] as usize;
        self.bounded.choose(hash, home, cluster)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maglev(n: usize, weights: &[u32]) -> EnvoyMaglev {
        let names: Vec<String> = (0..n).map(|i| format!("web-{}", i + 1)).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        EnvoyMaglev::new(&names, weights, DEFAULT_TABLE_SIZE, 0)
    }

    fn counts(m: &EnvoyMaglev, n: usize) -> Vec<usize> {
        (0..n as u32).map(|h| m.table.iter().filter(|&&x| x == h).count()).collect()
    }

    #[test]
    fn table_is_full_and_evenly_populated() {
        // Equal weights fill in rounds of one slot each: 65537 = 7 × 9362 + 3, so the
        // first three hosts hold 9363 slots and the others 9362.
        let m = maglev(7, &[1; 7]);
        assert_eq!(m.table.len(), 65537);
        assert_eq!(counts(&m, 7), [9363, 9363, 9363, 9362, 9362, 9362, 9362]);
        // Weights 1, 2, 1: the heavy host takes a slot every round, the others every other.
        let m = maglev(3, &[1, 2, 1]);
        let c = counts(&m, 3);
        assert!(c[1].abs_diff(65537 / 2) <= 2 && c[0].abs_diff(65537 / 4) <= 2, "{c:?}");
    }

    #[test]
    fn removing_a_host_disrupts_few_other_slots() {
        // Maglev's minimal disruption: the removed host's slots are reassigned, and only a
        // small fraction of the others' (the NSDI paper measures about 1–3 %).
        let ten = maglev(10, &[1; 10]);
        let nine = maglev(9, &[1; 9]);
        let (mut own, mut others) = (0, 0);
        for (a, b) in ten.table.iter().zip(&nine.table) {
            if *a == 9 {
                own += 1;
            } else if a != b {
                others += 1;
            }
        }
        assert!(own > 6000, "{own}");
        let share = others as f64 / (65537 - own) as f64;
        eprintln!("maglev: {:.2} % of the remaining hosts' slots changed owner", 100.0 * share);
        assert!(share < 0.05, "{share}");
    }

    #[test]
    fn table_size_must_be_a_prime() {
        assert!(is_prime(65537) && is_prime(5) && !is_prime(65536) && !is_prime(1));
    }
}
