//! `peer-bench`: request latency and throughput of one Rust client against a running `ack-net-mock`.
//!
//! Every call is the same read: VPC `DescribeVpcs` (Version 2016-04-28, `RegionId=cn-hangzhou`), V1
//! (HMAC-SHA1) signed, sent as POST, with the JSON response body decoded into a `serde_json::Value`
//! and checked to be a success (`RequestId` and `Vpcs` present). Prints one JSON object on stdout.
//!
//! Clients:
//! - `ack-net`: `ack_net_core::RpcClient` (one client, shared by all tasks; rate limits off).
//! - `aliyun-rs`: `aliyun_openapi_core_rust_sdk::client::rpc::RPClient` 1.1.0, used as its docs show
//!   (`client.clone().version(..).post(..).query(..).json()`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ack_net_core::{Credentials, Product, RateLimits, RpcClient, RpcRequest};
use aliyun_openapi_core_rust_sdk::client::rpc::RPClient;
use clap::{Parser, ValueEnum};
use serde_json::{json, Value};

/// The VPC API, as `ack_net_vpc::VPC` describes it (this workspace builds only core).
const VPC: Product = Product::new("vpc", VERSION);

const ACTION: &str = "DescribeVpcs";
const VERSION: &str = "2016-04-28";
const REGION: &str = "cn-hangzhou";

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Which {
    /// ack-net's `ack_net_core::RpcClient`.
    AckNet,
    /// The crate `aliyun-openapi-core-rust-sdk`.
    AliyunRs,
}

/// Latency and throughput of one client against a running ack-net-mock.
#[derive(Debug, Parser)]
struct Args {
    /// Which client to measure.
    #[arg(long, value_enum)]
    client: Which,
    /// The mock's base URL, e.g. http://127.0.0.1:18080.
    #[arg(long)]
    url: String,
    /// AccessKey id.
    #[arg(long, default_value = "testid")]
    key_id: String,
    /// AccessKey secret.
    #[arg(long, default_value = "testsecret")]
    key_secret: String,
    /// Sequential calls before the measured ones.
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    /// Stop the warm-up after this many seconds even if fewer calls were made.
    #[arg(long, default_value_t = 3.0)]
    warmup_max_secs: f64,
    /// Measured sequential calls (one at a time).
    #[arg(long, default_value_t = 2000)]
    seq: usize,
    /// Stop the sequential phase after this many seconds even if fewer calls were made.
    #[arg(long, default_value_t = 20.0)]
    seq_max_secs: f64,
    /// Concurrent callers (tokio tasks) for the throughput phase; 0 skips it.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds of concurrent warm-up before the measured throughput phase.
    #[arg(long, default_value_t = 1.0)]
    conc_warmup_secs: f64,
    /// Seconds of the measured throughput phase (callers stop starting calls after it).
    #[arg(long, default_value_t = 5.0)]
    duration_secs: f64,
    /// Upper bound on calls in one throughput phase.
    #[arg(long, default_value_t = 200_000)]
    max_calls: u64,
    /// Make one call, print the response (or the error the mock gave) and exit.
    #[arg(long)]
    check: bool,
}

#[derive(Clone)]
enum Client {
    AckNet(RpcClient),
    AliyunRs(Box<RPClient>),
}

impl Client {
    fn new(args: &Args) -> Result<Self, String> {
        Ok(match args.client {
            Which::AckNet => Client::AckNet(
                RpcClient::builder()
                    .region(REGION)
                    .credentials(Credentials::new(args.key_id.clone(), args.key_secret.clone()))
                    .endpoint(&args.url)
                    .rate_limits(RateLimits::unlimited())
                    .build()
                    .map_err(|e| format!("building the ack-net client: {e}"))?,
            ),
            Which::AliyunRs => {
                // The peer appends `?Signature=..` straight to the endpoint, so it wants the trailing
                // slash its own examples use ("https://vpc.aliyuncs.com/").
                let endpoint = format!("{}/", args.url.trim_end_matches('/'));
                Client::AliyunRs(Box::new(RPClient::new(args.key_id.clone(), args.key_secret.clone(), endpoint)))
            }
        })
    }

    /// One `DescribeVpcs`, decoded; an error is the client's own message (with the mock's code and text).
    async fn call(&self) -> Result<Value, String> {
        let v: Value = match self {
            Client::AckNet(c) => {
                c.call_value(RpcRequest::read(VPC, ACTION)).await.map_err(|e| e.to_string())?
            }
            // As its docs show: the builder consumes the client, so each call starts from a clone.
            Client::AliyunRs(c) => RPClient::clone(c)
                .version(VERSION)
                .post(ACTION)
                .query([("RegionId", REGION)])
                .json::<Value>()
                .await
                .map_err(|e| e.to_string())?,
        };
        if v.get("RequestId").is_none() || v.get("Vpcs").is_none() {
            return Err(format!("not a DescribeVpcs success: {v}"));
        }
        Ok(v)
    }
}

/// Nearest-rank percentile of sorted samples, in microseconds.
fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    let i = rank.clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e6
}

fn summary(mut lat: Vec<Duration>) -> Value {
    lat.sort_unstable();
    let mean = if lat.is_empty() {
        f64::NAN
    } else {
        lat.iter().map(Duration::as_secs_f64).sum::<f64>() / lat.len() as f64 * 1e6
    };
    json!({
        "n": lat.len(),
        "p50_us": pct(&lat, 50.0),
        "p90_us": pct(&lat, 90.0),
        "p99_us": pct(&lat, 99.0),
        "max_us": pct(&lat, 100.0),
        "mean_us": mean,
    })
}

/// `warmup` then `n` calls one at a time, each phase cut short after its time limit.
async fn sequential(client: &Client, args: &Args) -> Result<Value, String> {
    let t0 = Instant::now();
    for _ in 0..args.warmup {
        if t0.elapsed().as_secs_f64() >= args.warmup_max_secs {
            break;
        }
        client.call().await?;
    }
    let mut lat = Vec::with_capacity(args.seq);
    let t0 = Instant::now();
    while lat.len() < args.seq && t0.elapsed().as_secs_f64() < args.seq_max_secs {
        let t = Instant::now();
        client.call().await?;
        lat.push(t.elapsed());
    }
    let wall = t0.elapsed().as_secs_f64();
    let n = lat.len();
    let mut s = summary(lat);
    s["wall_s"] = json!(wall);
    s["calls_per_s"] = json!(n as f64 / wall);
    s["cut_short"] = json!(n < args.seq);
    Ok(s)
}

/// What `reqwest` 0.11's `ClientBuilder::new().build()` costs here: the peer builds a new HTTP client
/// (with its TLS connector and the system's root certificates) inside every `send()`.
fn peer_client_build_us(n: usize) -> Value {
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        if let Err(e) = reqwest011::ClientBuilder::new().build() {
            return json!({ "error": e.to_string() });
        }
        lat.push(t.elapsed());
    }
    summary(lat)
}

struct Phase {
    calls: u64,
    errors: u64,
    first_error: Option<String>,
    wall_s: f64,
    latencies: Vec<Duration>,
}

/// `workers` tasks call in a loop until `secs` have passed (or `max_calls` started).
async fn concurrent(client: &Client, workers: usize, secs: f64, max_calls: u64) -> Phase {
    let started = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(secs);
    let mut handles = Vec::with_capacity(workers);
    for _ in 0..workers {
        let client = client.clone();
        let started = started.clone();
        let first_error = first_error.clone();
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline && started.fetch_add(1, Ordering::Relaxed) < max_calls {
                let t = Instant::now();
                match client.call().await {
                    Ok(_) => lat.push(t.elapsed()),
                    Err(e) => {
                        errors += 1;
                        let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
                        slot.get_or_insert(e);
                    }
                }
            }
            (lat, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for h in handles {
        match h.await {
            Ok((lat, e)) => {
                latencies.extend(lat);
                errors += e;
            }
            Err(e) => {
                errors += 1;
                first_error.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(format!("task failed: {e}"));
            }
        }
    }
    let wall_s = t0.elapsed().as_secs_f64();
    let first_error = first_error.lock().unwrap_or_else(|p| p.into_inner()).take();
    Phase { calls: latencies.len() as u64, errors, first_error, wall_s, latencies }
}

fn version_of(which: Which) -> &'static str {
    match which {
        Which::AckNet => "ack-net-core (path, this repo)",
        Which::AliyunRs => "aliyun-openapi-core-rust-sdk 1.1.0",
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let client = match Client::new(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("peer-bench: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    if args.check {
        return match client.call().await {
            Ok(v) => {
                println!("{v}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("peer-bench: {:?} rejected: {e}", args.client);
                std::process::ExitCode::FAILURE
            }
        };
    }

    let seq = match sequential(&client, &args).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("peer-bench: {:?} sequential call failed: {e}", args.client);
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut out = json!({
        "client": version_of(args.client),
        "id": format!("{:?}", args.client),
        "runtime": format!("tokio multi-thread, {} worker threads", std::thread::available_parallelism().map_or(1, |n| n.get())),
        "sequential": seq,
    });
    if matches!(args.client, Which::AliyunRs) {
        out["peer_http_client_build"] = peer_client_build_us(20);
    }
    if args.concurrency > 0 {
        let warm = concurrent(&client, args.concurrency, args.conc_warmup_secs, args.max_calls).await;
        if warm.errors > 0 {
            eprintln!("peer-bench: {:?} warm-up errors: {} (first: {:?})", args.client, warm.errors, warm.first_error);
        }
        let p = concurrent(&client, args.concurrency, args.duration_secs, args.max_calls).await;
        let mut s = summary(p.latencies);
        s["workers"] = json!(args.concurrency);
        s["worker_kind"] = json!("tokio tasks");
        s["calls"] = json!(p.calls);
        s["errors"] = json!(p.errors);
        s["first_error"] = json!(p.first_error);
        s["wall_s"] = json!(p.wall_s);
        s["calls_per_s"] = json!(p.calls as f64 / p.wall_s);
        out["concurrent"] = s;
        if p.errors > 0 {
            eprintln!("peer-bench: {:?}: {} errors under load", args.client, p.errors);
        }
    }
    println!("{out}");
    std::process::ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&x| Duration::from_micros(x)).collect()
    }

    #[test]
    fn nearest_rank_percentiles() {
        let s = us(&(1..=100).collect::<Vec<_>>());
        assert_eq!(pct(&s, 50.0), 50.0);
        assert_eq!(pct(&s, 99.0), 99.0);
        assert_eq!(pct(&s, 100.0), 100.0);
        assert_eq!(pct(&us(&[7]), 99.0), 7.0);
        assert!(pct(&[], 50.0).is_nan());
        let sum = summary(us(&[30, 10, 20]));
        assert_eq!(sum["n"], 3);
        assert_eq!(sum["p50_us"], 20.0);
        assert_eq!(sum["mean_us"], 20.0);
    }

    fn args(client: &str, url: &str) -> Args {
        Args::parse_from(["peer-bench", "--client", client, "--url", url, "--warmup", "2", "--seq", "5"])
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ack_net_calls_are_accepted_and_measured() {
        let mock = ack_net_mock::MockCloud::builder().seed(1).start().await.expect("mock starts");
        let a = args("ack-net", &mock.url());
        let client = Client::new(&a).expect("client");
        let v = client.call().await.expect("the mock accepts ack-net's DescribeVpcs");
        assert!(v["Vpcs"].is_object(), "{v}");
        let s = sequential(&client, &a).await.expect("sequential");
        assert_eq!(s["n"], 5);
        let p = concurrent(&client, 4, 0.2, 40).await;
        assert_eq!(p.errors, 0, "{:?}", p.first_error);
        assert!(p.calls > 0 && p.calls <= 40, "{}", p.calls);
        assert_eq!(mock.count("DescribeVpcs"), 1 + 2 + 5 + p.calls);
        mock.shutdown().await;
    }
}
