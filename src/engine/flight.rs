//! The requests in flight that somebody follows after they arrived: a slab whose slot index
//! is the request's [`Tag`]. Slots are recycled through a free list, so memory follows the
//! number of requests in flight, never the length of the run, and nothing is allocated per
//! request once the slab has grown to the peak number in flight.

use super::outcome::Tag;

/// Where a tracked request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// On the network towards the balancer (or back to it after a redirect).
    ToBalancer,
    /// Waiting in the balancer's queue for a connection.
    Queued,
    /// On the network from the balancer (or, after a redirect, the client) to its backend.
    ToBackend,
    /// At its backend.
    AtBackend,
}

/// A request in flight.
#[derive(Debug, Clone, Copy)]
pub struct Flight {
    /// When the client sent it: response times count from here.
    pub origin: f64,
    /// Time the response spends on the way back to the client.
    pub tail: f64,
    /// The client's half of it (a hedged copy starts its own `tail` from here).
    pub client_tail: f64,
    /// Work (seconds at speed 1).
    pub size: f64,
    pub client: u32,
    /// Measurement section, or `UNMEASURED`.
    pub label: u32,
    /// The balancer instance that sent it.
    pub instance: u32,
    /// The backend it was sent to (once chosen).
    pub backend: u32,
    /// Whether it holds one of the balancer's connections to `backend` (counted against caps
    /// and in the instance's local view).
    pub counted: bool,
    pub stage: Stage,
    /// Attempts sent to a backend so far (retries of the balancer included).
    pub tries: u32,
    /// When it first reached the balancer (the start of `proxy_next_upstream_timeout`).
    pub entered: f64,
    /// The client's attempt: 0 for the first, k for its k-th retry.
    pub attempt: u32,
    /// When the client gives up on this attempt (`+∞`: never), so that a request moved to
    /// another slot keeps its client's deadline.
    pub give_up_at: f64,
    /// The client gave up on it (timeout): it runs on, but its ending concerns nobody.
    pub abandoned: bool,
    /// The balancer gave up on this attempt (`upstream_timeout`) and closed its connection:
    /// abandoned, and its ending is not even seen by health checks.
    pub cut: bool,
    /// Bumped whenever the slot is released, so deadlines scheduled for an earlier occupant
    /// (or an earlier stage) are recognised as stale.
    pub generation: u32,
    /// Hedged requests: the other copy (`UNTRACKED`: none) and its slot's generation then
    /// (stale once it ended).
    pub twin: Tag,
    pub twin_generation: u32,
    /// A hedged copy (the original is the one the client sent).
    pub copy: bool,
    /// The other copy already answered the client: this one's ending is not a response.
    pub answered: bool,
    /// Cancelled while on the network (to the balancer or to its backend): dropped when it
    /// arrives, never admitted.
    pub cancelled: bool,
}

impl Flight {
    /// A request the client sent at `origin` (stage `ToBalancer`, no copy).
    pub fn sent(origin: f64, client_tail: f64, size: f64, client: u32, label: u32) -> Self {
        Flight {
            origin,
            tail: client_tail,
            client_tail,
            size,
            client,
            label,
            instance: 0,
            backend: 0,
            counted: false,
            stage: Stage::ToBalancer,
            tries: 0,
            entered: origin,
            attempt: 0,
            give_up_at: f64::INFINITY,
            abandoned: false,
            cut: false,
            generation: 0,
            twin: super::outcome::UNTRACKED,
            twin_generation: 0,
            copy: false,
            answered: false,
            cancelled: false,
        }
    }
}

/// Slab of requests in flight.
#[derive(Debug, Default)]
pub struct Flights {
    slots: Vec<Flight>,
    free: Vec<Tag>,
    live: usize,
}

impl Flights {
    pub fn new() -> Self {
        Flights::default()
    }

    /// Stores `flight` and returns its tag (a recycled slot when one is free).
    #[inline]
    pub fn insert(&mut self, mut flight: Flight) -> Tag {
        self.live += 1;
        match self.free.pop() {
            Some(tag) => {
                flight.generation = self.slots[tag as usize].generation;
                self.slots[tag as usize] = flight;
                tag
            }
            None => {
                flight.generation = 0;
                self.slots.push(flight);
                (self.slots.len() - 1) as Tag
            }
        }
    }

    /// Frees `tag`'s slot; its generation moves on.
    #[inline]
    pub fn remove(&mut self, tag: Tag) -> Flight {
        let slot = &mut self.slots[tag as usize];
        let flight = *slot;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(tag);
        self.live -= 1;
        flight
    }

    #[inline]
    pub fn get(&self, tag: Tag) -> &Flight {
        &self.slots[tag as usize]
    }

    #[inline]
    pub fn get_mut(&mut self, tag: Tag) -> &mut Flight {
        &mut self.slots[tag as usize]
    }

    /// Requests in flight.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flight(origin: f64) -> Flight {
        Flight { generation: 99, ..Flight::sent(origin, 0.0, 1.0, 0, 0) }
    }

    #[test]
    fn slots_are_recycled_with_a_new_generation() {
        let mut f = Flights::new();
        let a = f.insert(flight(1.0));
        let b = f.insert(flight(2.0));
        assert_eq!((a, b, f.len()), (0, 1, 2));
        assert_eq!(f.get(a).generation, 0);
        let gone = f.remove(a);
        assert_eq!(gone.origin, 1.0);
        let c = f.insert(flight(3.0));
        assert_eq!(c, a, "the freed slot is reused");
        assert_eq!(f.get(c).generation, 1, "and its generation moved on");
        assert_eq!(f.get(c).origin, 3.0);
        assert_eq!(f.len(), 2);
    }
}
