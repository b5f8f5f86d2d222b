//! IngressBinding: `plan` for 40 hosts x 5 paths (200 rules on the HTTPS listener; HTTP
//! redirects) against the observed state of the converged load balancer with 1% of the routes
//! changed, and the API calls of a converged reconcile, one path added and one certificate
//! rotated, against ack-net-mock (printed once, beside the times). The mock's per-listener
//! rule quota is raised to 250, as a support ticket raises the real one.
//!
//! `cargo bench -p ack-net-slb --bench ingress -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use ack_net_mock::MockCloud;
use ack_net_mock::{renewed_sample_certificate, sample_certificate, SampleCertificate};
use ack_net_slb::binding::ingress::{
    plan, IngressBinding, IngressOwner, IngressPlanOptions, IngressSpec, ObservedIngress, Route, ServiceRef,
    TlsCertificate,
};
use ack_net_slb::binding::DrainPolicy;
use ack_net_slb::{AddressType, Backend, InstanceSpec, LoadBalancerId, SlbClient};
use criterion::{criterion_group, criterion_main, Criterion};

const HOSTS: usize = 40;
const PATHS: usize = 5;
const SERVICES: usize = 10;

fn service(i: usize) -> ServiceRef {
    ServiceRef::new("shop", format!("svc{i}"), "80")
}

fn tls(s: SampleCertificate) -> TlsCertificate {
    TlsCertificate::new(vec!["*.example.com".into(), s.host.to_owned()], s.certificate, s.private_key)
}

/// 40 hosts x 5 paths over 10 services (each 3 node backends), a default backend, a
/// certificate, HTTP redirecting; `changed` routes (from the first) go to another service.
fn spec(lb: &LoadBalancerId, changed: usize) -> IngressSpec {
    let mut s = IngressSpec::new(IngressOwner::new("c-bench", "ack-net"), lb.clone())
        .default_backend(service(0))
        .certificate(tls(sample_certificate("www.example.com").expect("sample")))
        .with_redirect(true);
    for i in 0..SERVICES {
        let backends = (0..3)
            .map(|n| Backend::ecs(&format!("i-bp1node{n}").parse().expect("instance id"), 30000 + i as u16))
            .collect();
        s = s.service(service(i), backends);
    }
    for h in 0..HOSTS {
        for p in 0..PATHS {
            let n = h * PATHS + p;
            let svc = if n < changed { (n + 1) % SERVICES } else { n % SERVICES };
            let (host, path) = (format!("h{h}.example.com"), format!("/p{p}"));
            s = s.route(Route::new(Some(&host), Some(&path), service(svc), format!("shop/ing{h}")));
        }
    }
    s
}

fn options() -> IngressPlanOptions {
    IngressPlanOptions::default().with_rule_quota(250).with_drain(DrainPolicy::none())
}

struct Setup {
    _mock: MockCloud,
    slb: SlbClient,
    lb: LoadBalancerId,
    observed: ObservedIngress,
}

async fn setup() -> Setup {
    let mock = MockCloud::builder().seed(3).start().await.expect("mock");
    mock.with_state(|s| s.slb.set_rule_quota(250));
    for n in 0..3 {
        mock.create_instance(ack_net_mock::InstanceSeed {
            region_id: "cn-hangzhou".into(),
            zone_id: "cn-hangzhou-h".into(),
            instance_type: "ecs.g7.large".into(),
            vswitch_id: vswitch(&mock),
            security_group_ids: Vec::new(),
            instance_id: Some(format!("i-bp1node{n}")),
        })
        .expect("instance");
    }
    let slb = SlbClient::new(mock.client_builder().build().expect("client"));
    let lb = slb
        .load_balancers()
        .create()
        .address_type(AddressType::Internet)
        .spec(InstanceSpec::S3Large)
        .send()
        .await
        .expect("load balancer")
        .load_balancer_id;
    let b = IngressBinding::new(slb.clone(), spec(&lb, 0)).expect("spec").with_options(options());
    let first = b.reconcile().await.expect("first apply");
    println!("ingress first apply: {} calls for {} rules", first.report.writes(), HOSTS * PATHS);
    let observed = b.observe().await.expect("observe");
    Setup { _mock: mock, slb, lb, observed }
}

fn vswitch(mock: &MockCloud) -> String {
    use ack_net_mock::{NewVSwitch, NewVpc};
    let vpc = mock
        .create_vpc(NewVpc {
            region_id: "cn-hangzhou".into(),
            cidr_block: Some("10.0.0.0/8".into()),
            ..Default::default()
        })
        .expect("vpc");
    mock.create_vswitch(NewVSwitch {
        vpc_id: vpc,
        zone_id: "cn-hangzhou-h".into(),
        cidr_block: "10.1.0.0/16".into(),
        ..Default::default()
    })
    .expect("vswitch")
}

/// The writes of one reconcile of `spec`.
async fn writes(slb: &SlbClient, spec: IngressSpec) -> (u64, Vec<&'static str>) {
    let r =
        IngressBinding::new(slb.clone(), spec).expect("spec").with_options(options()).reconcile().await.expect("apply");
    (r.report.writes(), r.plan.steps.iter().map(|s| s.action()).collect())
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let s = rt.block_on(setup());
    let drifted = spec(&s.lb, HOSTS * PATHS / 100);
    let p = plan(&drifted, &s.observed, &options()).expect("plan");
    println!(
        "ingress plan with 1% of 200 routes changed: {} calls ({:?})",
        p.calls(),
        p.steps.iter().map(|s| s.action()).collect::<Vec<_>>()
    );
    c.bench_function("ingress_plan_40_hosts_x_5_paths_1pct_drift", |b| {
        b.iter(|| plan(black_box(&drifted), black_box(&s.observed), &options()).expect("plan"))
    });
    let converged = spec(&s.lb, 0);
    c.bench_function("ingress_plan_40_hosts_x_5_paths_converged", |b| {
        b.iter(|| plan(black_box(&converged), black_box(&s.observed), &options()).expect("plan"))
    });
    rt.block_on(async {
        let (n, _) = writes(&s.slb, spec(&s.lb, 0)).await;
        println!("ingress calls, converged: {n} writes");
        let added = spec(&s.lb, 0).route(Route::new(Some("h0.example.com"), Some("/new"), service(1), "shop/ing0"));
        let (n, steps) = writes(&s.slb, added.clone()).await;
        println!("ingress calls, one path added: {n} writes {steps:?}");
        let mut rotated = added;
        rotated.certificates[0] = tls(renewed_sample_certificate());
        let (n, steps) = writes(&s.slb, rotated).await;
        println!("ingress calls, one certificate rotated: {n} writes {steps:?}");
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
