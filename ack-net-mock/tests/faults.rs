//! Fault injection, the call log, counters and the admin API.

mod common;

use std::time::{Duration, Instant};

use ack_net_core::{ErrorClass, ErrorInfo, RetryPolicy, RpcRequest};

use ack_net_eni::ECS;

use ack_net_slb::SLB;

use ack_net_mock::{FaultSpec, MockCloud};
use ack_net_vpc::VPC;
use common::*;
use serde_json::{json, Value};

async fn throttled_pattern(seed: u64) -> Vec<bool> {
    let mock = MockCloud::builder().seed(seed).fault("DescribeVpcs", FaultSpec::throttle(0.3)).start().await.unwrap();
    let c = client(&mock);
    let mut out = Vec::new();
    for _ in 0..200 {
        match c.call_value(RpcRequest::read(VPC, "DescribeVpcs")).await {
            Ok(_) => out.push(false),
            Err(e) => {
                assert_eq!(e.code(), Some("Throttling.User"));
                assert_eq!(e.api().unwrap().status, 400);
                assert_eq!(e.class(), ErrorClass::Throttled);
                out.push(true);
            }
        }
    }
    // Other actions are untouched.
    c.call_value(RpcRequest::read(VPC, "DescribeVSwitches")).await.unwrap();
    let counters = mock.counters();
    assert_eq!(counters["DescribeVpcs"].total, 200);
    assert_eq!(counters["DescribeVpcs"].errors, out.iter().filter(|t| **t).count() as u64);
    out
}

#[tokio::test]
async fn throttling_rate_is_seeded() {
    let a = throttled_pattern(42).await;
    let b = throttled_pattern(42).await;
    assert_eq!(a, b);
    let n = a.iter().filter(|t| **t).count();
    assert!((35..85).contains(&n), "{n} of 200 throttled");
    assert_ne!(a, throttled_pattern(43).await);
}

#[tokio::test]
async fn server_errors_latency_and_runtime_changes() {
    let mock = MockCloud::builder().seed(1).fault("*", FaultSpec::server_error(1.0)).start().await.unwrap();
    let c = client(&mock);
    for _ in 0..10 {
        let e = c.call_value(RpcRequest::read(ECS, "DescribeRegions")).await.unwrap_err();
        let status = e.api().unwrap().status;
        match e.code().unwrap() {
            "ServiceUnavailable" => assert_eq!(status, 503),
            "InternalError" => assert_eq!(status, 500),
            other => panic!("unexpected {other}"),
        }
        assert!(e.is_retryable());
    }
    // A per-action rule replaces the global one; latency applies.
    mock.set_fault("DescribeRegions", FaultSpec::latency(Duration::from_millis(120))).unwrap();
    let t = Instant::now();
    c.call_value(RpcRequest::read(ECS, "DescribeRegions")).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(120));
    mock.set_fault(
        "DescribeRegions",
        FaultSpec::none().with_latency_range(Duration::from_millis(10), Duration::from_millis(30)),
    )
    .unwrap();
    let t = Instant::now();
    c.call_value(RpcRequest::read(ECS, "DescribeRegions")).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(10));
    mock.clear_faults();
    c.call_value(RpcRequest::read(SLB, "DescribeRegions")).await.unwrap();
    assert!(mock.set_fault("*", FaultSpec::throttle(1.5)).is_err());

    // Retries of our client ride over a 5xx rate.
    mock.set_fault("*", FaultSpec::server_error(0.5)).unwrap();
    let retrying = mock
        .client_builder()
        .retry_policy(
            RetryPolicy::default()
                .with_attempt_limit(10)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    for _ in 0..10 {
        retrying.call_value(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap();
    }
}

/// A client without retries that gives up after 100 ms.
fn impatient(mock: &MockCloud) -> ack_net_core::RpcClient {
    mock.client_builder().timeout(Duration::from_millis(100)).build().unwrap()
}

#[tokio::test]
async fn dropped_and_hung_connections() {
    let mock = MockCloud::builder().fault("DescribeVpcs", FaultSpec::none().with_drop(1.0)).start().await.unwrap();
    let c = client(&mock);
    let e = c.call_value(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap_err();
    assert!(matches!(e.class(), ErrorClass::Transport), "{e:?}");
    mock.set_fault("DescribeVpcs", FaultSpec::none().with_timeout(1.0, Duration::from_millis(300))).unwrap();
    let impatient = impatient(&mock);
    let e = impatient.call_value(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Timeout, "{e:?}");
    // The log shows dropped calls with status 0.
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(mock.calls_of("DescribeVpcs").iter().all(|c| c.status == 0));
}

#[tokio::test]
async fn a_lost_reply_means_the_call_took_effect_and_a_token_retry_gets_its_answer() {
    let mock =
        MockCloud::builder().seed(5).fault("CreateVpc", FaultSpec::none().with_lost_reply(0.5)).start().await.unwrap();
    let retrying = mock
        .client_builder()
        .retry_policy(
            RetryPolicy::default()
                .with_attempt_limit(12)
                .with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    let mut ids = std::collections::BTreeSet::new();
    for _ in 0..20 {
        ids.insert(create_vpc(&retrying, "10.0.0.0/8").await);
    }
    let calls = mock.calls_of("CreateVpc");
    let lost = calls.iter().filter(|c| c.reply_lost).count();
    assert!(lost >= 3, "only {lost} of {} replies lost", calls.len());
    // Every lost reply was a VPC made; the retry with the same token answered it, made no other.
    assert!(calls.iter().filter(|c| c.reply_lost).all(|c| c.status == 200));
    assert_eq!(ids.len(), 20);
    assert_eq!(mock.with_state(|s| s.vpc.vpcs.len()), 20);

    // Without a retry the caller sees a transport error although the VPC exists; the hang
    // variant lasts until the client's own timeout.
    mock.set_fault("CreateVpc", FaultSpec::none().with_lost_reply_hang(1.0, Duration::from_millis(300))).unwrap();
    let impatient = impatient(&mock);
    let e = impatient
        .call_value(RpcRequest::idempotent_write(VPC, "CreateVpc").param("CidrBlock", "10.0.0.0/8"))
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Timeout, "{e:?}");
    assert_eq!(mock.with_state(|s| s.vpc.vpcs.len()), 21);
    mock.set_fault("CreateVpc", FaultSpec::none().with_lost_reply(1.0)).unwrap();
    let e = client(&mock)
        .call_value(RpcRequest::idempotent_write(VPC, "CreateVpc").param("CidrBlock", "10.0.0.0/8"))
        .await
        .unwrap_err();
    assert!(matches!(e.class(), ErrorClass::Transport), "{e:?}");
    assert_eq!(mock.with_state(|s| s.vpc.vpcs.len()), 22);
}

#[tokio::test]
async fn call_log_and_dump() {
    let mock = MockCloud::builder().seed(2).start().await.unwrap();
    let c = client(&mock);
    let vpc = create_vpc(&c, "10.0.0.0/8").await;
    create_vswitch(&c, &vpc, "cn-hangzhou-h", "10.0.0.0/16").await;
    let _ = c.call_value(RpcRequest::read(VPC, "DescribeVSwitchAttributes").param("VSwitchId", "vsw-x")).await;
    let calls = mock.calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0].action, "CreateVpc");
    assert_eq!(calls[0].product, "Vpc");
    assert_eq!(calls[0].params["CidrBlock"], "10.0.0.0/8");
    assert_eq!(calls[2].code.as_deref(), Some("InvalidVSwitchId.NotFound"));
    assert_eq!(calls[2].status, 404);
    assert_eq!(mock.count("CreateVSwitch"), 1);
    let dump = mock.dump();
    assert_eq!(dump["vpc"]["Vpcs"][0]["VpcId"], vpc.as_str());
    assert_eq!(dump["vpc"]["VSwitches"][0]["AvailableIpAddressCount"], 65532);
    assert_eq!(dump["counters"]["CreateVpc"]["ok"], 1);
    mock.clear_calls();
    assert!(mock.calls().is_empty());
}

#[tokio::test]
async fn same_seed_same_ids() {
    async fn ids(seed: u64) -> (String, String, String) {
        let mock = MockCloud::builder().seed(seed).start().await.unwrap();
        let c = client(&mock);
        let vpc = create_vpc(&c, "10.0.0.0/8").await;
        let vsw = create_vswitch(&c, &vpc, "cn-hangzhou-h", "10.0.0.0/16").await;
        let v: Value = c.call(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap();
        (vpc, vsw, v["RequestId"].as_str().unwrap().to_owned())
    }
    assert_eq!(ids(11).await, ids(11).await);
    assert_ne!(ids(11).await.0, ids(12).await.0);
}

#[tokio::test]
async fn admin_api() {
    let mock = MockCloud::start().await.unwrap();
    let addr = mock.addr();
    let post = |path: &str, body: Value| {
        let body = body.to_string();
        format!(
            "POST /__mock/{path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let (s, v) = raw_http(
        addr,
        post("vpcs", json!({"RegionId": "cn-hangzhou", "CidrBlock": "10.0.0.0/8", "VpcId": "vpc-fixed", "Tags": [{"Key": "team", "Value": "net"}]})).as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!((s, v["VpcId"].as_str()), (200, Some("vpc-fixed")));
    let (s, v) = raw_http(
        addr,
        post("vswitches", json!({"VpcId": "vpc-fixed", "ZoneId": "cn-hangzhou-h", "CidrBlock": "10.9.0.0/16", "VSwitchId": "vsw-fixed"})).as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!((s, v["VSwitchId"].as_str()), (200, Some("vsw-fixed")));
    let (s, v) = raw_http(
        addr,
        post("vswitches", json!({"VpcId": "vpc-nope", "ZoneId": "cn-hangzhou-h", "CidrBlock": "10.9.0.0/16"}))
            .as_bytes(),
    )
    .await
    .unwrap();
    assert_eq!((s, v["Code"].as_str()), (404, Some("InvalidVpcId.NotFound")));
    let (s, _) = raw_http(addr, post("vpcs", json!("garbage")).as_bytes()).await.unwrap();
    assert_eq!(s, 400);

    let put = r#"{"*": {"throttle": 1.0}, "DescribeVpcs": {"latency": [1, 2]}}"#;
    let req = format!(
        "PUT /__mock/faults HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{put}",
        put.len()
    );
    let (s, v) = raw_http(addr, req.as_bytes()).await.unwrap();
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["DescribeVpcs"]["latency"], json!([1, 2]));
    let c = client(&mock);
    assert_eq!(code(c.call_value(RpcRequest::read(VPC, "DescribeVSwitches")).await), "Throttling.User");
    c.call_value(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap();
    let req = format!("DELETE /__mock/faults HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    raw_http(addr, req.as_bytes()).await.unwrap();
    c.call_value(RpcRequest::read(VPC, "DescribeVSwitches")).await.unwrap();

    let get = |path: &str| format!("GET /__mock/{path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let (s, v) = raw_http(addr, get("state").as_bytes()).await.unwrap();
    assert_eq!(s, 200);
    assert_eq!(v["vpc"]["VSwitches"][0]["VSwitchId"], "vsw-fixed");
    assert_eq!(v["vpc"]["Vpcs"][0]["Tags"]["Tag"][0]["Key"], "team");
    let (_, v) = raw_http(addr, get("calls?action=DescribeVpcs").as_bytes()).await.unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    let (_, v) = raw_http(addr, get("counters").as_bytes()).await.unwrap();
    assert_eq!(v["DescribeVSwitches"]["total"], 2);
    let (s, _) = raw_http(addr, get("nope").as_bytes()).await.unwrap();
    assert_eq!(s, 404);
}
