//! An open-loop load generator: replays a trace (arrival times, work, clients) against an
//! HTTP server and records, per request, when it was meant to be sent, when it was sent,
//! how long until its response, the status and which backend served it.
//!
//! **Open loop.** One dispatcher thread sends each request at its trace time, whatever the
//! server does: it never waits for a response and never for a free sender. Requests are
//! handed to a pool of sender threads that grows whenever none is idle (up to
//! `max_in_flight`), so a slow server means more requests in flight, not later sends — the
//! coordinated-omission trap of closed-loop tools. Response times are measured from the
//! *scheduled* time, so even a late send (the machine descheduled the dispatcher) counts
//! against the server rather than vanishing; the send lag is recorded and summarised so a
//! run whose timing was poor shows it.
//!
//! **Timing.** The dispatcher sleeps until 300 µs before a send and then spins (yielding) to
//! the exact instant: `thread::sleep` alone overshoots by 50–100 µs (timer slack) and much
//! more on a busy machine; tokio's timer wheel has a 1 ms resolution.
//!
//! **Why std threads and `httparse` rather than tokio + hyper or ureq.** The load is a few
//! hundred requests per second with at most a few hundred in flight — well within what
//! blocking threads do — and the accuracy that matters is in the dispatcher, which would be
//! a dedicated spinning thread under any runtime. tokio + hyper (+ hyper-util) would add
//! some 40 crates and most of a minute of compile time on a 2-core machine for nothing this
//! tool needs; ureq brings its own URL, TLS and connection-pool machinery (a pool would even
//! be wrong here: each simulated client opens its own connection, as real clients do). What
//! is easy to get wrong, parsing the response head, is `httparse`'s (no dependencies, the
//! parser hyper uses). Each request is one HTTP/1.1 connection with `Connection: close`;
//! the response is read to the end of its `Content-Length` body.

mod summary;

pub(crate) use summary::quantile;
pub use summary::{BackendShare, Summary, summarise};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::model::Request;

/// Where to send and how.
#[derive(Debug, Clone)]
pub struct Target {
    pub address: SocketAddr,
    /// `Host` header value.
    pub host: String,
    pub path: String,
}

impl Target {
    /// Parses `http://HOST[:PORT][/PATH]` (plain HTTP only).
    pub fn parse(url: &str) -> Result<Target> {
        let Some(rest) = url.strip_prefix("http://") else {
            bail!("--url {url:?}: expected http://HOST[:PORT][/PATH] (the load generator speaks plain HTTP/1.1)");
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            bail!("--url {url:?}: no host");
        }
        let with_port = if authority.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        let address = with_port
            .to_socket_addrs()
            .with_context(|| format!("--url {url:?}: cannot resolve {authority}"))?
            .next()
            .with_context(|| format!("--url {url:?}: {authority} has no address"))?;
        Ok(Target { address, host: authority.to_string(), path: path.to_string() })
    }
}

/// How to replay.
#[derive(Debug, Clone)]
pub struct Options {
    /// Fraction of each request's work sent as CPU time (`X-Cpu`); the rest is I/O (`X-Io`).
    pub cpu_share: f64,
    /// Most requests in flight at once (sender threads); beyond it sends wait, and the wait
    /// shows as send lag.
    pub max_in_flight: usize,
    /// A response not complete after this long is recorded as an error.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options { cpu_share: 0.0, max_in_flight: 4096, timeout: Duration::from_secs(60) }
    }
}

/// What happened to one request. Times are seconds since the start of the replay.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Row of the trace (0-based).
    pub index: usize,
    /// When the trace says to send it.
    pub scheduled: f64,
    /// When a sender started connecting.
    pub sent: f64,
    /// From `scheduled` to the end of the response (NaN when it failed).
    pub response: f64,
    /// HTTP status, 0 when there was no response.
    pub status: u16,
    /// The `X-Backend` response header ("" when absent).
    pub backend: String,
    /// The `X-Worker` response header ("" when absent).
    pub worker: String,
    pub client: u32,
    pub size: f64,
    /// Why it failed ("" when it did not).
    pub error: String,
}

/// Reads a trace CSV (`time,size[,client]`, as `lbsim trace` writes) into requests; errors
/// name the file and line. The load generator needs every request's work, so `size` is
/// required; a missing `client` column means client 0.
pub fn read_trace(path: &std::path::Path) -> Result<Vec<Request>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let rows = crate::config::parse_trace(&path.display().to_string(), &text)?;
    let Some(sizes) = rows.sizes else {
        bail!("{}: the trace has no \"size\" column; the load generator needs each request's work", path.display());
    };
    Ok(rows
        .times
        .iter()
        .zip(&sizes)
        .enumerate()
        .map(|(i, (&arrival, &size))| Request { arrival, size, client: rows.clients.as_ref().map_or(0, |c| c[i]) })
        .collect())
}

struct Job {
    index: usize,
    request: Request,
    /// The instant the trace's first request is sent; `t0` is its arrival time.
    start: Instant,
    t0: f64,
}

/// Replays `requests` (arrival times relative to the first) against `target`, open loop, and
/// returns one record per request in trace order. `progress` is called by the dispatcher
/// after each send with the number sent.
pub fn replay(
    requests: &[Request],
    target: &Target,
    options: &Options,
    progress: &dyn Fn(usize),
) -> Result<Vec<Record>> {
    if requests.is_empty() {
        bail!("the trace has no requests");
    }
    let t0 = requests[0].arrival;
    // Each send time becomes a `Duration`, whose constructor panics on negative, NaN and huge
    // offsets: check them all before the clock starts (traces from `read_trace` pass).
    let offsets: Vec<Duration> = requests
        .iter()
        .enumerate()
        .map(|(i, r)| match Duration::try_from_secs_f64(r.arrival - t0) {
            Ok(offset) if r.arrival - t0 <= crate::config::MAX_DURATION => Ok(offset),
            _ => Err(anyhow::anyhow!(
                "request {} arrives {} s after the first; expected a time from 0 to {:e} s (about 31 years)",
                i + 1,
                r.arrival - t0,
                crate::config::MAX_DURATION
            )),
        })
        .collect::<Result<_>>()?;
    let (job_tx, job_rx) = mpsc::channel::<Job>();
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (record_tx, record_rx) = mpsc::channel::<Record>();
    let idle = Arc::new(AtomicUsize::new(0));
    let idle_waiting = Arc::new(AtomicUsize::new(0));
    let target = Arc::new(target.clone());
    let mut senders = Vec::new();
    let spawn = |senders: &mut Vec<thread::JoinHandle<()>>| -> Result<()> {
        let (rx, tx, idle, target, options) =
            (Arc::clone(&job_rx), record_tx.clone(), Arc::clone(&idle), Arc::clone(&target), options.clone());
        let started = Arc::clone(&idle_waiting);
        idle.fetch_add(1, Ordering::SeqCst);
        let handle = thread::Builder::new()
            .name("loadgen-sender".into())
            .stack_size(256 * 1024)
            .spawn(move || sender(&rx, &tx, &idle, &target, &options, &started))
            .context("cannot start a sender thread")?;
        senders.push(handle);
        Ok(())
    };
    for _ in 0..options.max_in_flight.clamp(1, 32) {
        spawn(&mut senders)?;
    }
    // Start the clock once the first senders are waiting for work (on a busy machine a new
    // thread may take tens of milliseconds to run for the first time), and a little in the
    // future so the first sends are on time.
    while idle_waiting.load(Ordering::SeqCst) < senders.len() {
        thread::sleep(Duration::from_millis(1));
    }
    let start = Instant::now() + Duration::from_millis(50);
    for (index, (request, offset)) in requests.iter().zip(offsets).enumerate() {
        if idle.load(Ordering::SeqCst) == 0 && senders.len() < options.max_in_flight {
            spawn(&mut senders)?;
        }
        wait_until(start + offset);
        job_tx.send(Job { index, request: *request, start, t0 }).context("the senders stopped")?;
        progress(index + 1);
    }
    drop(job_tx);
    drop(record_tx);
    let mut records: Vec<Record> = record_rx.iter().collect();
    for handle in senders {
        let _ = handle.join();
    }
    records.sort_by_key(|r| r.index);
    if records.len() != requests.len() {
        bail!(
            "{} of {} requests were not recorded (a sender thread died)",
            requests.len() - records.len(),
            requests.len()
        );
    }
    Ok(records)
}

/// Sleeps until 300 µs before `deadline`, then yields until it.
fn wait_until(deadline: Instant) {
    const SPIN: Duration = Duration::from_micros(300);
    let now = Instant::now();
    if deadline > now + SPIN {
        thread::sleep(deadline - now - SPIN);
    }
    while Instant::now() < deadline {
        thread::yield_now();
    }
}

fn sender(
    jobs: &Mutex<mpsc::Receiver<Job>>,
    records: &mpsc::Sender<Record>,
    idle: &AtomicUsize,
    target: &Target,
    options: &Options,
    started: &AtomicUsize,
) {
    started.fetch_add(1, Ordering::SeqCst);
    loop {
        let job = match jobs.lock() {
            Ok(rx) => match rx.recv() {
                Ok(job) => job,
                Err(_) => break,
            },
            Err(_) => break,
        };
        idle.fetch_sub(1, Ordering::SeqCst);
        let record = send_one(&job, target, options);
        idle.fetch_add(1, Ordering::SeqCst);
        if records.send(record).is_err() {
            break;
        }
    }
}

/// What the response said, when there was one.
#[derive(Debug)]
struct Answer {
    status: u16,
    backend: String,
    worker: String,
}

fn send_one(job: &Job, target: &Target, options: &Options) -> Record {
    let scheduled = job.request.arrival - job.t0;
    let sent = job.start.elapsed().as_secs_f64();
    let result = exchange(&job.request, target, options);
    let done = job.start.elapsed().as_secs_f64();
    let base = Record {
        index: job.index,
        scheduled,
        sent,
        response: f64::NAN,
        status: 0,
        backend: String::new(),
        worker: String::new(),
        client: job.request.client,
        size: job.request.size,
        error: String::new(),
    };
    match result {
        Ok(answer) => Record {
            response: done - scheduled,
            status: answer.status,
            backend: answer.backend,
            worker: answer.worker,
            ..base
        },
        Err(e) => Record { error: format!("{e:#}"), ..base },
    }
}

/// The client's address as the balancer should see it (`X-Forwarded-For`): one address per
/// client id, differing in the first three octets because nginx's `ip_hash` hashes only those.
pub fn client_address(client: u32) -> String {
    format!("{}.{}.{}.1", 1 + (client >> 16) % 223, (client >> 8) & 255, client & 255)
}

/// The request head for `request`: its work split into `X-Cpu` and `X-Io` seconds.
pub fn request_head(request: &Request, target: &Target, cpu_share: f64) -> String {
    let cpu = request.size * cpu_share;
    let io = request.size - cpu;
    format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nX-Io: {io:.9}\r\nX-Cpu: {cpu:.9}\r\nX-Client: {}\r\n\
         X-Forwarded-For: {}\r\nConnection: close\r\n\r\n",
        target.path,
        target.host,
        request.client,
        client_address(request.client)
    )
}

fn exchange(request: &Request, target: &Target, options: &Options) -> Result<Answer> {
    let mut stream = TcpStream::connect_timeout(&target.address, options.timeout).context("connect")?;
    stream.set_nodelay(true).ok();
    stream.set_read_timeout(Some(options.timeout)).ok();
    stream.set_write_timeout(Some(options.timeout)).ok();
    stream.write_all(request_head(request, target, options.cpu_share).as_bytes()).context("send")?;
    read_response(&mut stream)
}

/// Reads one response: the head (parsed by `httparse`) and its `Content-Length` body, or up
/// to the end of the connection when there is no length.
fn read_response(stream: &mut impl Read) -> Result<Answer> {
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).context("receive")?;
        if n == 0 {
            bail!("connection closed before a complete response head ({} bytes)", buffer.len());
        }
        buffer.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        let parsed = response.parse(&buffer).context("malformed response")?;
        if let httparse::Status::Complete(head_length) = parsed {
            let header = |name: &str| {
                response
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case(name))
                    .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
            };
            let answer = Answer {
                status: response.code.unwrap_or(0),
                backend: header("x-backend").unwrap_or_default(),
                worker: header("x-worker").unwrap_or_default(),
            };
            let length = header("content-length").and_then(|v| v.parse::<usize>().ok());
            let mut body = buffer.len() - head_length;
            match length {
                Some(length) => {
                    while body < length {
                        let n = stream.read(&mut chunk).context("receive body")?;
                        if n == 0 {
                            bail!("connection closed after {body} of {length} body bytes");
                        }
                        body += n;
                    }
                }
                None => while stream.read(&mut chunk).context("receive body")? > 0 {},
            }
            return Ok(answer);
        }
    }
}

/// The records as CSV: `index,scheduled,sent,response,status,backend,worker,client,size,error`
/// (times in seconds; `response` empty when the request failed).
pub fn records_csv(records: &[Record]) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("index,scheduled,sent,response,status,backend,worker,client,size,error\n");
    for r in records {
        let response = if r.response.is_finite() { format!("{:.6}", r.response) } else { String::new() };
        let error = r.error.replace([',', '\n', '\r'], " ");
        let _ = writeln!(
            out,
            "{},{:.6},{:.6},{},{},{},{},{},{},{}",
            r.index, r.scheduled, r.sent, response, r.status, r.backend, r.worker, r.client, r.size, error
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_parsed_or_refused() {
        let t = Target::parse("http://127.0.0.1:18080/x").unwrap();
        assert_eq!((t.address.port(), t.host.as_str(), t.path.as_str()), (18080, "127.0.0.1:18080", "/x"));
        assert_eq!(Target::parse("http://127.0.0.1").unwrap().address.port(), 80);
        assert!(Target::parse("https://127.0.0.1/").unwrap_err().to_string().contains("plain HTTP"));
    }

    #[test]
    fn client_addresses_differ_in_the_octets_ip_hash_reads() {
        let prefix = |c| client_address(c).rsplit_once('.').unwrap().0.to_string();
        let prefixes: std::collections::HashSet<String> = (0..5000).map(prefix).collect();
        assert_eq!(prefixes.len(), 5000);
    }

    #[test]
    fn a_response_is_read_to_the_end_of_its_body() {
        let text = b"HTTP/1.1 200 OK\r\nX-Backend: b2\r\nX-Worker: 41\r\nContent-Length: 3\r\n\r\nok\n";
        let answer = read_response(&mut &text[..]).unwrap();
        assert_eq!((answer.status, answer.backend.as_str(), answer.worker.as_str()), (200, "b2", "41"));
        let short = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok";
        assert!(read_response(&mut &short[..]).unwrap_err().to_string().contains("2 of 10"));
        assert!(read_response(&mut &b"HTTP/1.1 200"[..]).is_err());
    }

    #[test]
    fn send_times_no_duration_can_hold_are_errors_before_any_send() {
        // Port 1: nothing listens, and nothing must be sent anyway.
        let target = Target::parse("http://127.0.0.1:1/").unwrap();
        let at = |arrival| Request { arrival, size: 0.01, client: 0 };
        for bad in [1e300, f64::NAN, -1.0, 2e9] {
            let e = replay(&[at(0.0), at(bad)], &target, &Options::default(), &|_| panic!("sent")).unwrap_err();
            assert!(e.to_string().contains("request 2 arrives"), "{bad}: {e}");
        }
    }

    /// A local server that answers after the work in `X-Io`: the generator keeps its
    /// schedule although every response takes longer than the gap between sends.
    #[test]
    fn sends_keep_their_schedule_when_the_server_is_slow() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                thread::spawn(move || {
                    let mut stream = stream;
                    let mut buffer = [0u8; 1024];
                    let n = stream.read(&mut buffer).unwrap_or(0);
                    let head = String::from_utf8_lossy(&buffer[..n]).to_string();
                    let io: f64 = head
                        .lines()
                        .find_map(|l| l.strip_prefix("X-Io: "))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0.0);
                    thread::sleep(Duration::from_secs_f64(io));
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nX-Backend: only\r\nContent-Length: 0\r\n\r\n");
                });
            }
        });
        // 40 requests 5 ms apart, each taking 100 ms: a closed loop would need 4 s.
        let requests: Vec<Request> =
            (0..40).map(|i| Request { arrival: f64::from(i) * 0.005, size: 0.1, client: i }).collect();
        let target = Target::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let records = replay(&requests, &target, &Options::default(), &|_| {}).unwrap();
        assert_eq!(records.len(), 40);
        for r in &records {
            assert_eq!((r.status, r.backend.as_str()), (200, "only"), "{r:?}");
            assert!(r.response >= 0.1, "{r:?}");
        }
        // A closed loop (one request at a time) would have sent
        // the last request 3.9 s late; open loop, every send is near its schedule (the bound
        // is loose because test machines are shared, but far below what blocking would give).
        let worst = records.iter().map(|r| r.sent - r.scheduled).fold(0.0, f64::max);
        assert!(worst < 0.5, "worst send lag {worst}");
    }
}
