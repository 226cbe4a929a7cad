//! `nginx_hash_consistent`: nginx's `hash $remote_addr consistent` (ketama, as nginx
//! builds it).

use super::hash_ring::HashRing;
use super::real_weights::real_weights;
use super::slow_start;
use super::{Cluster, Needs, PickCost, Setup, Strategy, StrategyError};
use crate::model::{ClientAddresses, Request, address_text};

/// Points per unit of weight (nginx: `npoints = peer->weight * 160`).
const POINTS_PER_WEIGHT: u32 = 160;

/// nginx `hash $remote_addr consistent` (`ngx_http_upstream_init_chash` and
/// `ngx_http_upstream_get_chash_peer`, ngx_http_upstream_hash_module.c), ketama-compatible:
///
/// - each server string (here the backend's name, as in `server web-1;`) is split into a
///   host and a port at its last `:` followed by digits; `base = crc32(host ‖ "\0" ‖ port)`;
/// - the server gets 160 × weight points: point j = crc32 of `base` continued with the
///   previous point's 4 bytes (little-endian; 0 for the first), finalised;
/// - points are sorted by hash and duplicates dropped (the first kept);
/// - the request key is `$remote_addr`, the client address as text ("10.1.2.3"), hashed
///   with crc32; the request goes to the first point ≥ that hash, wrapping.
///
/// Failed peers would be skipped by moving to the next point (up to 20 tries); backends do
/// not fail in lbsim yet. Weights are nginx's (`weight=`, default 1). Adding a backend
/// moves about 1/(n + 1) of the keys, all to the new backend.
#[derive(Debug)]
pub struct NginxHashConsistent {
    /// Without duplicate hashes.
    points: HashRing<u32>,
    addresses: ClientAddresses,
}

impl NginxHashConsistent {
    pub(crate) fn new(names: &[&str], weights: &[u32], addresses: ClientAddresses) -> Self {
        let mut points = Vec::new();
        for (server, (name, &weight)) in names.iter().zip(weights).enumerate() {
            let (host, port) = split_host_port(name);
            let mut base = crc32fast::Hasher::new();
            base.update(host.as_bytes());
            base.update(&[0]);
            base.update(port.as_bytes());
            let mut prev = 0u32;
            for _ in 0..weight * POINTS_PER_WEIGHT {
                let mut h = base.clone();
                h.update(&prev.to_le_bytes());
                prev = h.finalize();
                points.push((prev, server as u32));
            }
        }
        NginxHashConsistent { points: HashRing::new(points).without_duplicates(), addresses }
    }

    #[inline]
    fn server_of(&self, key: &[u8]) -> usize {
        self.points.owner(crc32fast::hash(key))
    }
}

/// nginx's split of a `server` address into host and port: the port is the digits after
/// the last ':' (none for "web-1").
fn split_host_port(server: &str) -> (&str, &str) {
    let digits = server.bytes().rev().take_while(u8::is_ascii_digit).count();
    let cut = server.len() - digits;
    if digits > 0 && cut > 0 && server.as_bytes()[cut - 1] == b':' {
        (&server[..cut - 1], &server[cut..])
    } else {
        (server, "")
    }
}

impl Strategy for NginxHashConsistent {
    const NAME: &'static str = "nginx_hash_consistent";
    const SUMMARY: &'static str =
        "nginx hash $remote_addr consistent: ketama with crc32, 160 points per weight, on the client address";
    const MODELS: &'static str = "nginx: upstream { hash $remote_addr consistent; server … weight=N; }";
    const NEEDS: Needs = Needs::Nothing;
    // A crc32 of the address and a binary search of a ring of 160 points per weight.
    const PICK_COST: PickCost = PickCost::Logarithmic;
    const REFUSED: &'static [(&'static str, &'static str)] = slow_start::NGINX_REFUSES;
    const USES_CLIENT: bool = true;

    fn build(setup: &Setup<'_>) -> Result<Self, StrategyError> {
        let weights = real_weights(Self::NAME, "nginx", u32::MAX, setup.backends)?;
        let names: Vec<&str> = setup.backends.iter().map(|b| b.name.as_str()).collect();
        Ok(NginxHashConsistent::new(&names, &weights, setup.addresses))
    }

    #[inline]
    fn pick<C: Cluster + ?Sized>(&mut self, request: &Request, _cluster: &mut C) -> usize {
        let (text, len) = address_text(self.addresses.of(request.client));
        self.server_of(&text[..len])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(n: usize) -> NginxHashConsistent {
        let names: Vec<String> = (0..n).map(|i| format!("web-{}", i + 1)).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        NginxHashConsistent::new(&names, &vec![1; n], ClientAddresses::scattered())
    }

    #[test]
    fn crc32_is_nginx_crc32() {
        // ngx_crc32 is the IEEE CRC-32: the standard check value of "123456789".
        assert_eq!(crc32fast::hash(b"123456789"), 0xcbf4_3926);
        assert_eq!(split_host_port("10.0.0.1:8080"), ("10.0.0.1", "8080"));
        assert_eq!(split_host_port("web-1"), ("web-1", ""));
        assert_eq!(split_host_port("web:x1"), ("web:x1", ""));
    }

    #[test]
    fn points_follow_weights() {
        let s = NginxHashConsistent::new(&["a", "b"], &[1, 3], ClientAddresses::scattered());
        let of = |server| s.points.points_of(server);
        assert_eq!((of(0), of(1)), (160, 480));
    }

    #[test]
    fn adding_a_backend_moves_about_one_in_n_plus_one_keys_all_to_it() {
        let (four, five) = (ring(4), ring(5));
        let addresses = ClientAddresses::scattered();
        let mut moved = 0;
        let keys = 20_000;
        for client in 0..keys {
            let (text, len) = address_text(addresses.of(client));
            let (before, after) = (four.server_of(&text[..len]), five.server_of(&text[..len]));
            if before != after {
                assert_eq!(after, 4, "a key that moves goes to the new backend");
                moved += 1;
            }
        }
        // Expected share 1/5; with 160 points per server the new server's arc share has a
        // standard deviation of about 0.2 × √(1/160) ≈ 1.6 points of percentage: allow
        // 4 of them either side.
        let share = f64::from(moved) / f64::from(keys);
        eprintln!("ketama: adding a 5th backend moved {:.1} % of keys", 100.0 * share);
        assert!((0.2 - share).abs() < 0.065, "{share}");
    }
}
