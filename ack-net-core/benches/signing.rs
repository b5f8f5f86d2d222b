//! V1 signing of a typical 15-parameter request against its cost floor: a bare HMAC-SHA1
//! over the same string to sign, measured in the same run. Also V3 signing.
//!
//! `cargo bench -p ack-net-core --bench signing`

use std::hint::black_box;

use ack_net_core::sign::{v1, v3, HttpMethod, SigningInput};
use ack_net_core::{Credentials, Params};
use chrono::TimeZone;
use criterion::{criterion_group, criterion_main, Criterion};
use hmac::{Hmac, KeyInit, Mac};

/// A CreateNetworkInterface-like request: with the 8 common parameters and RegionId it
/// signs 15 parameters in all.
fn typical_params() -> Params {
    let mut p = Params::new();
    p.insert("RegionId", "cn-hangzhou")
        .insert("VSwitchId", "vsw-bp1s5fnvk4gn2tws03624")
        .insert("SecondaryPrivateIpAddressCount", 9)
        .insert("NetworkInterfaceName", "ack-net pool eni")
        .insert("Description", "owner=pool-1 cluster=c1")
        .insert("SecurityGroupIds.1", "sg-bp67acfmxazb4p****")
        .insert("ClientToken", "0c593ea1-3bea-11e9-b96b-88e9fe637760");
    p
}

fn bench(c: &mut Criterion) {
    let creds = Credentials::new("LTAI5tFjT3x1Example", "ExampleSecretKeyForBenchmarks");
    let params = typical_params();
    let input = SigningInput {
        method: HttpMethod::Post,
        host: "ecs-cn-hangzhou.aliyuncs.com",
        action: "CreateNetworkInterface",
        version: "2014-05-26",
        params: &params,
    };
    let t = chrono::Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let signed = v1::sign(&input, &creds, t, "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf");
    let decoded = ack_net_core::sign::decode_form(&signed.encoded);
    assert_eq!(decoded.len(), 16, "15 signed parameters plus Signature");
    let unsigned = decoded.iter().filter(|(k, _)| k != "Signature").map(|(k, v)| (k.as_str(), v.as_str()));
    let sts = v1::string_to_sign("POST", unsigned);

    let mut g = c.benchmark_group("signing");
    let floor = || {
        let mut mac = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(b"ExampleSecretKeyForBenchmarks&").unwrap();
        mac.update(black_box(sts.as_bytes()));
        black_box(mac.finalize().into_bytes());
    };
    let nonce = "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf";
    // What the client does: the encoded parameters go straight into a new body.
    let sign_to = || {
        let mut body = Vec::new();
        let signature = v1::sign_to(black_box(&input), &creds, t, nonce, &mut body);
        black_box((body, signature));
    };
    // The convenience form, with its two strings.
    let sign = || {
        black_box(v1::sign(black_box(&input), &creds, t, nonce));
    };
    g.bench_function("hmac_sha1_floor", |b| b.iter(floor));
    g.bench_function("v1_sign_to_15_params", |b| b.iter(sign_to));
    g.bench_function("v1_sign_15_params", |b| b.iter(sign));

    // Criterion measures one after the other; on a shared machine the load changes in
    // between. Alternating batches of each, timed in one loop, give ratios all saw alike.
    const ROUNDS: usize = 400;
    const BATCH: u32 = 500;
    let batch = |f: &dyn Fn()| {
        let started = std::time::Instant::now();
        for _ in 0..BATCH {
            f();
        }
        started.elapsed() / BATCH
    };
    let mut runs = [(); 3].map(|_| Vec::with_capacity(ROUNDS));
    for _ in 0..ROUNDS {
        for (times, f) in runs.iter_mut().zip([&floor as &dyn Fn(), &sign_to, &sign]) {
            times.push(batch(f));
        }
    }
    let ns = |d: std::time::Duration| d.as_secs_f64() * 1e9;
    let [floor_ns, sign_to_ns, sign_ns] = runs.map(|mut times| {
        times.sort();
        (ns(times[ROUNDS / 2]), ns(times[0]))
    });
    println!(
        "signing_paired: {ROUNDS} alternating batches of {BATCH}, p50 (fastest batch): HMAC-SHA1 floor {:.0} ns ({:.0}), \
         V1 sign_to {:.0} ns ({:.0}) = {:.2}x ({:.2}x), V1 sign {:.0} ns ({:.0}) = {:.2}x ({:.2}x)",
        floor_ns.0,
        floor_ns.1,
        sign_to_ns.0,
        sign_to_ns.1,
        sign_to_ns.0 / floor_ns.0,
        sign_to_ns.1 / floor_ns.1,
        sign_ns.0,
        sign_ns.1,
        sign_ns.0 / floor_ns.0,
        sign_ns.1 / floor_ns.1,
    );
    g.bench_function("v3_sign_7_params", |b| {
        b.iter(|| black_box(v3::sign(black_box(&input), &creds, t, "3156853299f313e23d1673dc12e1703d")))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
