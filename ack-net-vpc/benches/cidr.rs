//! The CIDR planner in a /8 VPC that already holds 1,000 VSwitches.
//!
//! `cargo bench -p ack-net-vpc --bench cidr`

use std::hint::black_box;
use std::net::Ipv4Addr;

use ack_net_vpc::cidr::{next_free_cidr, plan_vswitches};
use ack_net_vpc::ZoneId;
use criterion::{criterion_group, criterion_main, Criterion};
use ipnet::Ipv4Net;

fn net(a: u32, prefix: u8) -> Ipv4Net {
    Ipv4Net::new(Ipv4Addr::from(a), prefix).expect("valid")
}

fn bench(c: &mut Criterion) {
    let vpc: Ipv4Net = "10.0.0.0/8".parse().expect("valid");
    let base = u32::from(vpc.network());
    // 1,000 /24s packed from the start: the first free /24 is after all of them.
    let packed: Vec<Ipv4Net> = (0..1000u32).map(|i| net(base + (i << 8), 24)).collect();
    // 1,000 /26s, one in every /22, listed in a scrambled order: every gap is too small for a
    // /20 until past the last one, and the planner has to sort first.
    let mut fragmented: Vec<Ipv4Net> = (0..1000u32).map(|i| net(base + (i << 10), 26)).collect();
    fragmented.sort_by_key(|n| u32::from(n.network()).wrapping_mul(2_654_435_761));

    c.bench_function("next_free_cidr /24 in /8 with 1000 packed /24", |b| {
        b.iter(|| next_free_cidr(black_box(vpc), black_box(&packed), 24).expect("free"))
    });
    c.bench_function("next_free_cidr /20 in /8 with 1000 scattered /26", |b| {
        b.iter(|| next_free_cidr(black_box(vpc), black_box(&fragmented), 20).expect("free"))
    });
    let zones: Vec<(ZoneId, u8)> =
        ["cn-hangzhou-h", "cn-hangzhou-i", "cn-hangzhou-j"].iter().map(|z| (z.parse().expect("zone"), 20)).collect();
    c.bench_function("plan_vswitches 3 zones in /8 with 1000 scattered /26", |b| {
        b.iter(|| plan_vswitches(black_box(vpc), black_box(&fragmented), black_box(&zones)).expect("plan"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
