//! Bounded-memory statistics.
