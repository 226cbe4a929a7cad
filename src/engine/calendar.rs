//! The calendar of timed events: a binary heap of `(time, sequence, Event)`.
//!
//! The calendar does not know what its entries mean; the engine's `match` on [`Event`] does.
//! Ties in time are broken by the order of scheduling (the sequence number), so runs are
//! deterministic. Cancellable entries (timeouts that usually never fire) are not removed:
//! they carry a generation and the handler drops them when they pop stale. A model without
//! timed features never schedules anything, and [`Calendar::next_time`] is `+∞`.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::outcome::Tag;

/// Something that must happen at a given time. Small and `Copy`; the payload says which
/// request, backend or instance it concerns, never what to do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Request `tag` reaches the balancer (after the client's network leg, or again after a
    /// redirect, a failure or a retry backoff).
    Attempt { tag: Tag },
    /// Request `tag` reaches the backend it was sent to (after the balancer's network leg).
    Deliver { tag: Tag },
    /// The bulletin board of load information is refreshed (and schedules the next refresh).
    Refresh,
    /// A backend's next ending is due and somebody must act on it at that exact time (a
    /// connection released to the proxy's queue). Stale when `generation` moved on.
    Wake { backend: u32, generation: u32 },
    /// Request `tag` is still unanswered after the hedge delay: send a second copy. Stale
    /// when its slot's `generation` moved on (it was answered).
    Hedge { tag: Tag, generation: u32 },
    /// Closed-loop user `user` sends its next request (its think time is over).
    UserArrival { user: u32 },
    /// A deadline of request `tag` (the proxy's queue timeout). Stale when the request's
    /// slot `generation` moved on (the request left the queue, the slot was reused).
    Deadline { tag: Tag, generation: u32 },
    /// Fault `index` of the model starts (`start`) or ends at `backend`.
    Fault { index: u32, backend: u32, start: bool },
    /// The client of request `tag` gives up on it (its timeout). Stale when the slot's
    /// `generation` moved on (the request ended).
    GiveUp { tag: Tag, generation: u32 },
    /// The balancer's active health check probes `backend` (and schedules the next probe).
    Probe { backend: u32 },
    /// The balancer stops waiting for the response to attempt `tries` of request `tag`
    /// (`upstream_timeout`). Stale when the slot's `generation` or its `tries` moved on (the
    /// attempt ended, or failed and was retried).
    TryTimeout { tag: Tag, generation: u32, tries: u32 },
}

/// One scheduled event.
#[derive(Debug, Clone, Copy)]
struct Entry {
    time: f64,
    sequence: u64,
    event: Event,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.time.total_cmp(&other.time).then(self.sequence.cmp(&other.sequence))
    }
}

/// Pending events, earliest first.
#[derive(Debug, Default)]
pub struct Calendar {
    heap: BinaryHeap<Reverse<Entry>>,
    sequence: u64,
}

impl Calendar {
    pub fn new() -> Self {
        Calendar::default()
    }

    /// Schedules `event` at `time` (after every event already scheduled at the same time).
    #[inline]
    pub fn schedule(&mut self, time: f64, event: Event) {
        debug_assert!(!time.is_nan(), "event {event:?} scheduled at NaN");
        self.heap.push(Reverse(Entry { time, sequence: self.sequence, event }));
        self.sequence += 1;
    }

    /// Time of the earliest event, `+∞` when there is none.
    #[inline]
    pub fn next_time(&self) -> f64 {
        self.heap.peek().map_or(f64::INFINITY, |Reverse(e)| e.time)
    }

    /// Takes the earliest event if it is due at or before `time`.
    #[inline]
    pub fn pop_due(&mut self, time: f64) -> Option<(f64, Event)> {
        if self.next_time() <= time { self.heap.pop().map(|Reverse(e)| (e.time, e.event)) } else { None }
    }

    /// Number of pending entries (stale ones included).
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_order_and_ties_in_scheduling_order() {
        let mut c = Calendar::new();
        assert_eq!(c.next_time(), f64::INFINITY);
        c.schedule(2.0, Event::Refresh);
        c.schedule(1.0, Event::Attempt { tag: 7 });
        c.schedule(2.0, Event::Deliver { tag: 1 });
        c.schedule(1.0, Event::Attempt { tag: 3 });
        assert_eq!(c.next_time(), 1.0);
        assert_eq!(c.pop_due(0.5), None);
        let popped: Vec<(f64, Event)> = std::iter::from_fn(|| c.pop_due(10.0)).collect();
        assert_eq!(
            popped,
            [
                (1.0, Event::Attempt { tag: 7 }),
                (1.0, Event::Attempt { tag: 3 }),
                (2.0, Event::Refresh),
                (2.0, Event::Deliver { tag: 1 })
            ]
        );
        assert!(c.is_empty());
    }
}
