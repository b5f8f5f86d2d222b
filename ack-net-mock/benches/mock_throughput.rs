//! Signed calls per second against the mock on loopback: many concurrent callers, V1 and V3
//! signatures checked on every call. The call is DescribeVSwitchAttributes of one VSwitch (a
//! simple read with a one-object answer).
//!
//! `cargo bench -p ack-net-mock --bench mock_throughput -- --warm-up-time 1 --measurement-time 3`

use std::sync::Arc;

use ack_net_core::{Credentials, RpcClient, RpcRequest, SignatureVersion};

use ack_net_mock::MockCloud;
use ack_net_vpc::VPC;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn client(url: &str, sig: SignatureVersion) -> RpcClient {
    ack_net_mock::client_builder_at(url).signature_version(sig).build().expect("client")
}

/// One batch: `callers` tasks, each making `per_caller` calls back to back.
async fn batch(client: Arc<RpcClient>, vsw: Arc<str>, callers: usize, per_caller: usize) {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..callers {
        let c = client.clone();
        let vsw = vsw.clone();
        set.spawn(async move {
            for _ in 0..per_caller {
                let req = RpcRequest::read(VPC, "DescribeVSwitchAttributes").param("VSwitchId", &*vsw);
                let v = c.call_value(req).await.expect("call");
                assert!(v.get("RequestId").is_some());
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.expect("caller");
    }
}

fn throughput(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let (mock, vsw) = rt.block_on(async {
        let mock = MockCloud::builder().seed(1).call_log_capacity(10_000).start().await.expect("mock");
        let setup = client(&mock.url(), SignatureVersion::V1);
        let vpc = setup
            .call_value(RpcRequest::idempotent_write(VPC, "CreateVpc").param("CidrBlock", "10.0.0.0/8"))
            .await
            .expect("vpc");
        let vpc = vpc["VpcId"].as_str().expect("id").to_owned();
        let vsw = setup
            .call_value(
                RpcRequest::idempotent_write(VPC, "CreateVSwitch")
                    .param("VpcId", &vpc)
                    .param("ZoneId", "cn-hangzhou-h")
                    .param("CidrBlock", "10.0.0.0/16"),
            )
            .await
            .expect("vswitch");
        let vsw: Arc<str> = Arc::from(vsw["VSwitchId"].as_str().expect("id"));
        (mock, vsw)
    });
    let per_caller = 8;
    {
        let v1 = Arc::new(client(&mock.url(), SignatureVersion::V1));
        let v3 = Arc::new(client(&mock.url(), SignatureVersion::V3));
        let seq = Arc::new(std::sync::atomic::AtomicU64::new(1 << 40));
        sustained(&rt, "RpcClient V1, 64 callers", 64 * 300, || batch(v1, vsw.clone(), 64, 300));
        sustained(&rt, "RpcClient V3, 64 callers", 64 * 300, || batch(v3, vsw.clone(), 64, 300));
        sustained(&rt, "lean client V1, 64 callers", 64 * 300, || lean_batch(mock.addr(), vsw.clone(), 64, 300, seq));
    }
    let mut group = c.benchmark_group("signed_calls");
    for sig in [SignatureVersion::V1, SignatureVersion::V3] {
        let client = Arc::new(client(&mock.url(), sig));
        for callers in [32usize, 64] {
            group.throughput(Throughput::Elements((callers * per_caller) as u64));
            group.bench_with_input(BenchmarkId::new(format!("{sig:?}"), callers), &callers, |b, &callers| {
                b.to_async(&rt).iter(|| batch(client.clone(), vsw.clone(), callers, per_caller));
            });
        }
    }
    let seq = Arc::new(std::sync::atomic::AtomicU64::new(0));
    for callers in [32usize, 64] {
        group.throughput(Throughput::Elements((callers * per_caller * 4) as u64));
        group.bench_with_input(BenchmarkId::new("V1-lean-client", callers), &callers, |b, &callers| {
            b.to_async(&rt).iter(|| lean_batch(mock.addr(), vsw.clone(), callers, per_caller * 4, seq.clone()));
        });
    }
    group.finish();
    rt.block_on(mock.shutdown());
}

/// `callers` lean HTTP/1.1 keep-alive connections (hyper's client, no pool, no retries), each
/// making `per_caller` V1-signed POSTs: what the mock itself sustains.
async fn lean_batch(
    addr: std::net::SocketAddr,
    vsw: Arc<str>,
    callers: usize,
    per_caller: usize,
    seq: Arc<std::sync::atomic::AtomicU64>,
) {
    use ack_net_core::sign::{v1, HttpMethod, SigningInput};
    use http_body_util::{BodyExt, Full};

    let mut set = tokio::task::JoinSet::new();
    for _ in 0..callers {
        let seq = seq.clone();
        let vsw = vsw.clone();
        set.spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            stream.set_nodelay(true).expect("nodelay");
            let (mut send, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.expect("handshake");
            tokio::spawn(conn);
            let creds = Credentials::new(ack_net_mock::TEST_ACCESS_KEY_ID, ack_net_mock::TEST_ACCESS_KEY_SECRET);
            let params = ack_net_core::Params::new().with("RegionId", "cn-hangzhou").with("VSwitchId", &*vsw);
            let input = SigningInput {
                method: HttpMethod::Post,
                host: "127.0.0.1",
                action: "DescribeVSwitchAttributes",
                version: "2016-04-28",
                params: &params,
            };
            for _ in 0..per_caller {
                let n = seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let signed = v1::sign(&input, &creds, chrono::Utc::now(), &format!("lean-{n}"));
                let req = hyper::Request::post("/")
                    .header("host", addr.to_string())
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Full::new(bytes::Bytes::from(signed.encoded)))
                    .expect("request");
                send.ready().await.expect("ready");
                let resp = send.send_request(req).await.expect("send");
                assert_eq!(resp.status(), 200);
                let body = resp.into_body().collect().await.expect("body").to_bytes();
                assert!(!body.is_empty());
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.expect("caller");
    }
}

/// CPU time (user + system) this process has used so far, from `/proc/self/stat` (Linux).
fn cpu_time() -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(std::time::Duration::from_millis(ticks * 10)) // USER_HZ is 100 on Linux
}

/// A fixed run of `total` calls by `callers` concurrent callers: prints calls per second of
/// wall time, and the CPU (both sides, one process) per call, which gives the capacity of an
/// otherwise idle two-core machine independently of whatever else runs on it.
fn sustained<F, Fut>(rt: &tokio::runtime::Runtime, name: &str, total: usize, run: F)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let cpu0 = cpu_time();
    let t0 = std::time::Instant::now();
    rt.block_on(run());
    let wall = t0.elapsed();
    let per_s = total as f64 / wall.as_secs_f64();
    match (cpu0, cpu_time()) {
        (Some(a), Some(b)) => {
            let cpu_us = (b - a).as_secs_f64() * 1e6 / total as f64;
            println!(
                "sustained {name}: {total} calls in {wall:.2?} = {per_s:.0} calls/s wall; {cpu_us:.1} us CPU per call \
                 (client + mock) = {:.0} calls/s on 2 idle cores",
                2e6 / cpu_us
            );
        }
        _ => println!("sustained {name}: {total} calls in {wall:.2?} = {per_s:.0} calls/s wall"),
    }
}

/// The server's work for one call without the network: parse, verify the V1 signature,
/// check the nonce, run the handler, log, encode.
fn server_pipeline(c: &mut Criterion) {
    use ack_net_core::sign::{v1, HttpMethod, SigningInput};
    use ack_net_mock::Incoming;

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mock = rt.block_on(MockCloud::builder().seed(1).call_log_capacity(10_000).start()).expect("mock");
    let creds = Credentials::new(ack_net_mock::TEST_ACCESS_KEY_ID, ack_net_mock::TEST_ACCESS_KEY_SECRET);
    let params = ack_net_core::Params::new().with("RegionId", "cn-hangzhou");
    let input = SigningInput {
        method: HttpMethod::Post,
        host: "127.0.0.1",
        action: "DescribeVSwitches",
        version: "2016-04-28",
        params: &params,
    };
    let headers = vec![("content-type".to_owned(), "application/x-www-form-urlencoded".to_owned())];
    let mut n = 0u64;
    let mut group = c.benchmark_group("server_pipeline");
    group.throughput(Throughput::Elements(1));
    group.bench_function("DescribeVSwitches_v1", |b| {
        b.iter(|| {
            n += 1;
            let signed = v1::sign(&input, &creds, chrono::Utc::now(), &format!("nonce-{n}"));
            let incoming = Incoming { method: "POST", query: "", headers: &headers, body: signed.encoded.as_bytes() };
            match rt.block_on(mock.answer(&incoming)) {
                Some((status, _)) => assert_eq!(status, 200),
                None => panic!("dropped"),
            }
        })
    });
    group.finish();
}

criterion_group!(benches, throughput, server_pipeline);
criterion_main!(benches);
