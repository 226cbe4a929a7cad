//! Which backends the event layer changed, in order, for strategies that keep an index of
//! what they saw (see [`Cluster::changed_since`](crate::strategy::Cluster::changed_since)).

/// A count of the changes to the backends' state other than by time passing (a request
/// handed over, a crash, a new speed, a restart, a cancelled request) and the backends of
/// the latest of them.
///
/// Only the latest `capacity` are kept (at least as many as there are backends): when the
/// list is full it starts afresh, and a strategy whose last look is older than what is
/// kept looks at every backend once — at most n looks per n changes, so an index stays
/// O(log n) per pick, and the memory is bounded whatever the run's length.
#[derive(Debug)]
pub(super) struct ChangeLog {
    count: u64,
    /// The backends of changes `count − recent.len()` … `count − 1`.
    recent: Vec<u32>,
    capacity: usize,
}

/// Changes kept at least (so that a small cluster behind many instances rarely starts afresh).
const LEAST: usize = 1024;

impl ChangeLog {
    pub(super) fn new(backends: usize) -> Self {
        ChangeLog { count: 0, recent: Vec::new(), capacity: backends.max(LEAST) }
    }

    /// Backend `i` changed.
    #[inline]
    pub(super) fn note(&mut self, i: usize) {
        if self.recent.len() == self.capacity {
            self.recent.clear();
        }
        self.recent.push(i as u32);
        self.count += 1;
    }

    /// Changes so far.
    #[inline]
    pub(super) fn count(&self) -> u64 {
        self.count
    }

    /// The backends changed after the first `seen` changes, if they are still kept.
    #[inline]
    pub(super) fn since(&self, seen: u64) -> Option<&[u32]> {
        let first = self.count - self.recent.len() as u64;
        (first..=self.count).contains(&seen).then(|| &self.recent[(seen - first) as usize..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_changes_since_a_look_while_it_keeps_them() {
        let mut log = ChangeLog::new(3);
        assert_eq!(log.since(0), Some(&[][..]));
        for i in [5, 7, 5] {
            log.note(i);
        }
        assert_eq!(log.count(), 3);
        assert_eq!(log.since(0), Some(&[5, 7, 5][..]));
        assert_eq!(log.since(2), Some(&[5][..]));
        assert_eq!(log.since(3), Some(&[][..]));
        // A count from the future is not one this log gave.
        assert_eq!(log.since(4), None);
        // Full: it starts afresh, and looks older than what it keeps cannot be answered.
        for k in 3..LEAST as u64 + 1 {
            log.note(k as usize);
        }
        assert_eq!(log.count(), LEAST as u64 + 1);
        assert_eq!(log.since(2), None);
        assert_eq!(log.since(LEAST as u64), Some(&[LEAST as u32][..]));
        assert_eq!(log.since(LEAST as u64 - 1), None);
        // Bounded memory: never more than the capacity held.
        assert!(log.recent.capacity() <= 2 * LEAST);
    }
}
