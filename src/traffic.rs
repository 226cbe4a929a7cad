//! The traffic of a run as data: the requests an experiment's run sees, written as a trace
//! CSV (`time,size,client`) that `[arrivals] process = "trace"` reads back and `lbsim
//! loadgen` replays against real servers.
//!
//! The requests are the engine's own traffic (arrivals, sizes and clients each from their
//! own stream of the run's [`RunSeed`]), so a trace written here and simulated again gives
//! the same results as the experiment itself (tested in `tests/twin.rs`).

use crate::engine::Traffic;
use crate::model::{Model, Request};
use crate::seed::RunSeed;

/// The requests of a run of `model` with `seed`, in arrival order; endless (take as many as
/// needed): the engine's own [`Traffic`], with client ids always drawn (their stream is
/// separate, so drawing them changes nothing else).
pub struct Requests<'m>(Traffic<'m>);

impl<'m> Requests<'m> {
    pub fn new(model: &'m Model, seed: RunSeed) -> Self {
        Requests(Traffic::with_clients(model, seed, true))
    }
}

impl Iterator for Requests<'_> {
    type Item = Request;

    fn next(&mut self) -> Option<Request> {
        Some(self.0.next_request())
    }
}

/// A trace CSV of `requests`: a `#` comment header (each line of `comment`), then
/// `time,size,client` rows. Numbers are written in Rust's shortest round-trip form, so
/// reading the file back gives exactly the same values.
pub fn trace_csv(comment: &str, requests: impl IntoIterator<Item = Request>) -> String {
    let mut out = Vec::new();
    write_trace_csv(&mut out, comment, requests).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("the CSV is ASCII apart from the comment, which is a str")
}

/// [`trace_csv`] row by row into `out`, which is how `lbsim trace` writes: a trace of any
/// length needs no more memory than one row (the rows of 10⁹ requests are some 40 GB).
pub fn write_trace_csv(
    out: &mut dyn std::io::Write,
    comment: &str,
    requests: impl IntoIterator<Item = Request>,
) -> std::io::Result<()> {
    for line in comment.lines() {
        writeln!(out, "# {line}")?;
    }
    out.write_all(b"time,size,client\n")?;
    for r in requests {
        writeln!(out, "{},{},{}", r.arrival, r.size, r.client)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        let text = r#"
            [arrivals]
            rate = 100
            [service]
            distribution = "exponential"
            mean = "10ms"
            [clients]
            count = 50
            [[backends]]
            name = "web"
            count = 2
            [balancer]
            strategies = ["random"]
        "#;
        let file = crate::config::ExperimentFile::parse("t.toml".as_ref(), text).unwrap();
        file.resolve().unwrap().model
    }

    #[test]
    fn the_same_seed_gives_the_same_requests_and_another_seed_others() {
        let m = model();
        let a: Vec<Request> = Requests::new(&m, RunSeed::new(1, 0, 0)).take(100).collect();
        let b: Vec<Request> = Requests::new(&m, RunSeed::new(1, 0, 0)).take(100).collect();
        let c: Vec<Request> = Requests::new(&m, RunSeed::new(2, 0, 0)).take(100).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.windows(2).all(|w| w[0].arrival <= w[1].arrival));
        assert!(a.iter().all(|r| r.size > 0.0 && r.client < 50));
    }

    #[test]
    fn the_csv_reads_back_exactly() {
        let m = model();
        let requests: Vec<Request> = Requests::new(&m, RunSeed::new(7, 0, 0)).take(50).collect();
        let text = trace_csv("a comment\nsecond line", requests.iter().copied());
        assert!(text.starts_with("# a comment\n# second line\ntime,size,client\n"));
        let rows = crate::config::parse_trace("t.csv", &text).unwrap();
        let start = requests[0].arrival;
        for (i, r) in requests.iter().enumerate() {
            assert_eq!(rows.times[i], r.arrival - start);
            assert_eq!(rows.sizes.as_ref().unwrap()[i], r.size);
            assert_eq!(rows.clients.as_ref().unwrap()[i], r.client);
        }
    }
}
