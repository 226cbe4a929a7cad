//! The discrete-event simulation of one run.
