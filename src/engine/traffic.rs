//! The traffic of a run: arrivals, sizes and clients, each from its own random stream of the
//! run's [`RunSeed`] (common random numbers: every strategy with the same seed sees the same
//! requests). The engine's run loop draws from it, and so does `lbsim trace` (through
//! `crate::traffic::Requests`), so a trace written from an experiment is the traffic the
//! experiment simulates.

use rand_xoshiro::Xoshiro256PlusPlus;

use crate::model::{ArrivalStream, ClientSampler, Model, Request};
use crate::seed::{Purpose, RunSeed};
use crate::strategy::AnyStrategy;

/// The requests of a run of a model with a seed, in arrival order; endless.
pub struct Traffic<'m> {
    model: &'m Model,
    arrival_rng: Xoshiro256PlusPlus,
    size_rng: Xoshiro256PlusPlus,
    client_rng: Xoshiro256PlusPlus,
    arrivals: ArrivalStream,
    clients: ClientSampler,
    /// Whether client ids are drawn (their stream is separate, so skipping it changes
    /// nothing else); when not, every request is client 0.
    uses_client: bool,
    /// Poisson traffic's next requests, drawn [`AHEAD`] at a time (each stream's draws in
    /// the same order as one request at a time): the next is at `next`, none left when it
    /// is `AHEAD`. Always empty for the other arrival processes.
    ahead: Box<Ahead>,
    next: usize,
}

/// Requests drawn at once: enough for the draw loops to run at full speed, few enough
/// (1.5 KiB) to stay in the first-level cache beside everything else.
const AHEAD: usize = 64;

/// Poisson requests drawn ahead, one array per field (each filled by its own loop).
#[derive(Debug)]
struct Ahead {
    arrival: [f64; AHEAD],
    size: [f64; AHEAD],
    client: [u32; AHEAD],
}

impl<'m> Traffic<'m> {
    /// The traffic a run of `strategy` sees: client ids are drawn only if the strategy or
    /// the balancer looks at them.
    pub(crate) fn new(model: &'m Model, strategy: &AnyStrategy, seed: RunSeed) -> Self {
        Traffic::with_clients(model, seed, strategy.uses_client() || model.balancer.uses_client())
    }

    /// The traffic of `model` with `seed`, drawing client ids if `uses_client`.
    pub fn with_clients(model: &'m Model, seed: RunSeed, uses_client: bool) -> Self {
        Traffic {
            model,
            arrival_rng: seed.stream(Purpose::Arrivals),
            size_rng: seed.stream(Purpose::Sizes),
            client_rng: seed.stream(Purpose::Clients),
            arrivals: model.arrivals.stream(),
            clients: model.clients.sampler(),
            uses_client,
            ahead: Box::new(Ahead { arrival: [0.0; AHEAD], size: [0.0; AHEAD], client: [0; AHEAD] }),
            next: AHEAD,
        }
    }

    /// The next request (sizes and clients from a trace take precedence over the model's).
    /// Inlined into the run loop, as the draws it makes (see `ArrivalStream::next`).
    #[inline(always)]
    pub fn next_request(&mut self) -> Request {
        if self.next == AHEAD && !self.draw_ahead() {
            return self.next_from_stream();
        }
        let (a, k) = (&*self.ahead, self.next);
        self.next = k + 1;
        Request { arrival: a.arrival[k], size: a.size[k], client: a.client[k] }
    }

    /// The next requests drawn ahead, at most `most` of them (and at least one), taken as a
    /// block: their arrival times and sizes, in order. `None`, taking nothing, unless the
    /// arrivals are Poisson (the only ones drawn ahead). Client ids are not handed out:
    /// the blocks are for strategies that do not look at them.
    #[inline]
    pub fn next_block(&mut self, most: usize) -> Option<(&[f64], &[f64])> {
        if self.next == AHEAD && !self.draw_ahead() {
            return None;
        }
        let (a, k) = (&*self.ahead, self.next);
        let end = AHEAD.min(k + most.max(1));
        self.next = end;
        Some((&a.arrival[k..end], &a.size[k..end]))
    }

    /// Draws the next [`AHEAD`] requests if the arrivals are Poisson (the same draws as
    /// [`Traffic::next_from_stream`], without a trace's sizes and clients to look for);
    /// false, drawing nothing, for the other processes.
    #[inline(never)]
    fn draw_ahead(&mut self) -> bool {
        let a = &mut *self.ahead;
        if !self.arrivals.fill_poisson(&mut self.arrival_rng, &mut a.arrival) {
            return false;
        }
        self.model.service.fill(&mut self.size_rng, &mut a.size);
        if self.uses_client {
            for c in &mut a.client {
                *c = self.clients.sample(&mut self.client_rng);
            }
        }
        self.next = 0;
        true
    }

    /// [`Traffic::next_request`] for the arrival processes other than Poisson.
    #[inline(never)]
    fn next_from_stream(&mut self) -> Request {
        let arrival = self.arrivals.next(&mut self.arrival_rng);
        let size = match arrival.size {
            Some(s) => s,
            None => self.model.service.sample(&mut self.size_rng),
        };
        let client = match arrival.client {
            Some(c) => c,
            None if self.uses_client => self.clients.sample(&mut self.client_rng),
            None => 0,
        };
        Request { arrival: arrival.time, size, client }
    }

    /// The size of a request whose arrival time comes from elsewhere (closed-loop users,
    /// whose arrival process is never Poisson, so no size was drawn ahead).
    #[inline]
    pub(crate) fn size(&mut self) -> f64 {
        debug_assert_eq!(self.next, AHEAD, "sizes drawn ahead for Poisson arrivals");
        self.model.service.sample(&mut self.size_rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(service: &str, clients: &str) -> Model {
        let text = format!(
            "[arrivals]\nrate = 1000\n[service]\n{service}\n{clients}\n[[backends]]\nname = \"web\"\ncount = 2\n\
             [balancer]\nstrategies = [\"random\"]\n"
        );
        let file = crate::config::ExperimentFile::parse("t.toml".as_ref(), &text).unwrap();
        file.resolve().unwrap().model
    }

    /// Poisson requests drawn ahead are, bit for bit, the requests drawn one at a time from
    /// the same streams (the draws each request made before): over several blocks, with
    /// the exponential's inlined draw and another distribution's, with and without clients.
    #[test]
    fn requests_drawn_ahead_are_those_drawn_one_at_a_time() {
        let services = [
            "distribution = \"exponential\"\nmean = \"10ms\"",
            "distribution = \"lognormal\"\nmean = \"10ms\"\ncv = 2",
        ];
        let clients = ["", "[clients]\ncount = 300\npopularity = \"zipf\"\ns = 1.1"];
        for service in services {
            for (k, client) in clients.iter().enumerate() {
                let m = model(service, client);
                let seed = RunSeed::new(3, 1, 4);
                let uses_client = k == 1;
                let mut traffic = Traffic::with_clients(&m, seed, uses_client);
                let (mut arrivals, mut sizes, mut ids) =
                    (seed.stream(Purpose::Arrivals), seed.stream(Purpose::Sizes), seed.stream(Purpose::Clients));
                let (mut stream, sampler) = (m.arrivals.stream(), m.clients.sampler());
                let mut next = || {
                    let time = stream.next_poisson(&mut arrivals).expect("Poisson arrivals");
                    let size = m.service.sample(&mut sizes);
                    let client = if uses_client { sampler.sample(&mut ids) } else { 0 };
                    (time.to_bits(), size.to_bits(), client)
                };
                for i in 0..5 * AHEAD + 3 {
                    let got = traffic.next_request();
                    assert_eq!(
                        (got.arrival.to_bits(), got.size.to_bits(), got.client),
                        next(),
                        "{service} {client}: request {i}"
                    );
                }
                // Blocks of any length, mixed with single requests, continue the sequence.
                for most in [1, 5, 64, 100, 0, 13, 64, 64, 7] {
                    let (times, sizes) = traffic.next_block(most).expect("Poisson arrivals");
                    assert!(!times.is_empty() && times.len() <= most.max(1) && times.len() == sizes.len());
                    let got: Vec<_> = times.iter().zip(sizes).map(|(t, s)| (t.to_bits(), s.to_bits())).collect();
                    for (k, g) in got.into_iter().enumerate() {
                        let (t, s, _) = next();
                        assert_eq!(g, (t, s), "{service} {client}: block of at most {most}, request {k}");
                    }
                    let got = traffic.next_request();
                    assert_eq!((got.arrival.to_bits(), got.size.to_bits(), got.client), next(), "{service} {client}");
                }
            }
        }
    }
}
