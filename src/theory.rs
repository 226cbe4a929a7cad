//! Closed forms from queueing theory.
