//! A call through `RpcClient` to a local HTTP server against a bare reqwest request to the
//! same URL (the floor: same server, same connection reuse), and throughput with 64
//! concurrent callers sharing one client.
//!
//! `cargo bench -p ack-net-core --bench client`

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ack_net_core::{Credentials, RateLimits, RpcClient, RpcRequest};
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// The VPC API, as `ack_net_vpc::VPC` describes it.
const VPC: ack_net_core::Product = ack_net_core::Product::new("vpc", "2016-04-28");

const BODY: &str = r#"{"RequestId":"6F2D5B8E-0000-4000-8000-000000000000","PageNumber":1,"PageSize":10,"TotalCount":0,"Vpcs":{"Vpc":[]}}"#;

/// A minimal HTTP/1.1 server that drains the request and answers a fixed JSON body.
async fn serve() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let svc = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                    let _ = req.into_body().collect().await;
                    Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(BODY.as_bytes()))))
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
            });
        }
    });
    addr
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let addr = rt.block_on(serve());
    let url = format!("http://{addr}/");
    let client = RpcClient::builder()
        .region("cn-hangzhou")
        .credentials(Credentials::new("testid", "testsecret"))
        .endpoint(&url)
        .rate_limits(RateLimits::unlimited())
        .build()
        .unwrap();
    let bare = reqwest::Client::builder().tcp_nodelay(true).build().unwrap();
    // The floor sends the same bytes the client sends (a V1-signed DescribeVpcs body of the
    // same size and the same headers), so the difference is the client's own work per call.
    let creds = Credentials::new("testid", "testsecret");
    let params = ack_net_core::Params::new().with("PageSize", 10).with("RegionId", "cn-hangzhou");
    let input = ack_net_core::sign::SigningInput {
        method: ack_net_core::HttpMethod::Post,
        host: "127.0.0.1",
        action: "DescribeVpcs",
        version: "2016-04-28",
        params: &params,
    };
    let body =
        ack_net_core::sign::v1::sign(&input, &creds, chrono::Utc::now(), "0b6e3c2a9c1b4b5c8a7d6e5f4a3b2c1d").encoded;

    let bare_call = || async {
        let r = bare
            .post(&url)
            .header("User-Agent", "ack-net/0.1.0 (rust)")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let body = r.bytes().await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        std::hint::black_box(v)
    };
    let rpc_call = || async {
        let v: serde_json::Value =
            client.call(RpcRequest::read(VPC, "DescribeVpcs").param("PageSize", 10)).await.unwrap();
        std::hint::black_box(v)
    };

    let mut g = c.benchmark_group("client");
    g.bench_function("bare_reqwest_post", |b| b.to_async(&rt).iter(bare_call));
    g.bench_function("rpc_client_call", |b| b.to_async(&rt).iter(rpc_call));
    g.finish();

    // The same two calls alternating in one loop, so that both see the same machine: criterion
    // measures one function after the other, and on a shared machine the load drifts between
    // them. The medians of this paired run are the figure BENCHMARKS.md compares.
    const PAIRS: usize = 5_000;
    let (bare_p50, rpc_p50) = rt.block_on(async {
        let (mut bare_times, mut rpc_times) = (Vec::with_capacity(PAIRS), Vec::with_capacity(PAIRS));
        for i in 0..PAIRS + 500 {
            // Alternate which goes first, so neither always follows the other.
            for second in [false, true] {
                let rpc = (i % 2 == 0) == second;
                let t = Instant::now();
                if rpc {
                    rpc_call().await;
                } else {
                    bare_call().await;
                }
                let took = t.elapsed();
                if i >= 500 {
                    if rpc {
                        rpc_times.push(took)
                    } else {
                        bare_times.push(took)
                    }
                }
            }
        }
        bare_times.sort();
        rpc_times.sort();
        (bare_times[PAIRS / 2], rpc_times[PAIRS / 2])
    });
    println!(
        "client_paired: {PAIRS} alternating calls each: bare reqwest p50 {:.1} µs, RpcClient p50 {:.1} µs = {:.2}x",
        bare_p50.as_secs_f64() * 1e6,
        rpc_p50.as_secs_f64() * 1e6,
        rpc_p50.as_secs_f64() / bare_p50.as_secs_f64()
    );

    let mut g = c.benchmark_group("client_concurrent");
    const CALLERS: usize = 64;
    const PER_CALLER: usize = 20;
    g.throughput(Throughput::Elements((CALLERS * PER_CALLER) as u64));
    g.bench_function("64_callers_x20_calls", |b| {
        b.to_async(&rt).iter(|| {
            let client = client.clone();
            async move {
                let tasks: Vec<_> = (0..CALLERS)
                    .map(|_| {
                        let client = client.clone();
                        tokio::spawn(async move {
                            for _ in 0..PER_CALLER {
                                let _: serde_json::Value =
                                    client.call(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap();
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            }
        })
    });
    g.finish();

    // A plain figure for BENCHMARKS.md: calls per second with 64 callers over ~2 s.
    let client = Arc::new(client);
    let (n, took) = rt.block_on(async {
        let start = Instant::now();
        let deadline = start + Duration::from_secs(2);
        let tasks: Vec<_> = (0..CALLERS)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move {
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        let _: serde_json::Value = client.call(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        (total, start.elapsed())
    });
    println!("client_concurrent: {n} calls in {took:?} with 64 callers = {:.0} calls/s", n as f64 / took.as_secs_f64());
}

criterion_group!(benches, bench);
criterion_main!(benches);
