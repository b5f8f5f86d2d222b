//! The wire protocol: signatures, timestamps, nonces, routing, errors, idempotency.

mod common;

use ack_net_core::{ErrorInfo, HttpMethod, RpcRequest, SignatureVersion};

use ack_net_eni::ECS;

use ack_net_slb::SLB;

use ack_net_mock::MockCloud;
use ack_net_vpc::VPC;
use common::*;
use serde_json::Value;

#[tokio::test]
async fn v1_get_v1_post_and_v3_all_work() {
    let mock = MockCloud::builder().seed(1).start().await.unwrap();
    for (sig, method) in [
        (SignatureVersion::V1, HttpMethod::Get),
        (SignatureVersion::V1, HttpMethod::Post),
        (SignatureVersion::V3, HttpMethod::Post),
        (SignatureVersion::V3, HttpMethod::Get),
    ] {
        let c = client_with(&mock, sig, method);
        let v: Value = c
            .call(RpcRequest::read(VPC, "DescribeVpcs").param("VpcName", "a name with spaces & *stars*~"))
            .await
            .unwrap_or_else(|e| panic!("{sig:?} {method:?}: {e}"));
        assert_eq!(v["TotalCount"], 0);
        assert!(v["RequestId"].as_str().unwrap().len() == 36);
    }
    let calls = mock.calls_of("DescribeVpcs");
    assert_eq!(calls.len(), 4);
    assert_eq!(calls[0].params["VpcName"], "a name with spaces & *stars*~");
    assert!(calls.iter().all(|c| !c.params.contains_key("AccessKeyId") && !c.params.contains_key("Signature")));
    assert_eq!(calls[2].signature, "V3");
    mock.shutdown().await;
}

#[tokio::test]
async fn auth_failures_have_the_real_codes() {
    let mock = MockCloud::builder().credentials("ak2", "sk2").start().await.unwrap();
    let req = || RpcRequest::read(ECS, "DescribeRegions");
    // Configured keys replace the default one.
    let e = client(&mock).call_value(req()).await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidAccessKeyId.NotFound"));
    assert_eq!(e.api().unwrap().status, 404);

    let with = |id: &str, secret: &str, sig: SignatureVersion| {
        mock.client_builder()
            .credentials(ack_net_core::Credentials::new(id, secret))
            .signature_version(sig)
            .build()
            .unwrap()
    };
    for sig in [SignatureVersion::V1, SignatureVersion::V3] {
        let ok: Value = with("ak2", "sk2", sig).call(req()).await.unwrap();
        assert!(ok["Regions"]["Region"].as_array().unwrap().iter().any(|r| r["RegionId"] == "cn-hangzhou"));
        let e = with("ak2", "wrong", sig).call_value(req()).await.unwrap_err();
        assert_eq!(e.code(), Some("SignatureDoesNotMatch"), "{sig:?}");
        assert_eq!(e.api().unwrap().status, 400);
        assert!(e.api().unwrap().message.contains("server string to sign is:"), "{e}");
        let skewed = mock
            .client_builder()
            .credentials(ack_net_core::Credentials::new("ak2", "sk2"))
            .signature_version(sig)
            .clock(|| chrono::Utc::now() - chrono::Duration::minutes(16))
            .build()
            .unwrap();
        assert_eq!(code(skewed.call_value(req()).await), "InvalidTimeStamp.Expired");
    }
    let codes: Vec<Option<String>> = mock.calls().iter().map(|c| c.code.clone()).collect();
    assert_eq!(codes.iter().filter(|c| c.is_none()).count(), 2);
}

#[tokio::test]
async fn raw_requests_timestamp_nonce_and_routing() {
    let mock = MockCloud::start().await.unwrap();
    let addr = mock.addr();
    let now = chrono::Utc::now();
    let get = HttpMethod::Get;
    let regions = [("RegionId", "cn-hangzhou")];

    // Spaces as '+' verify as well as '%20' (the server decodes and re-encodes).
    let named = [("RegionId", "cn-hangzhou"), ("VpcName", "my vpc")];
    let p = sign_v1(get, "DescribeVpcs", "2016-04-28", &named, "testsecret", now, "n-plus");
    let (status, body) = raw_get(addr, &encode(&p, true)).await.unwrap();
    assert_eq!((status, body["TotalCount"].as_u64()), (200, Some(0)), "{body}");

    // The same nonce again.
    let (status, body) = raw_get(addr, &encode(&p, false)).await.unwrap();
    assert_eq!((status, body["Code"].as_str()), (400, Some("SignatureNonceUsed")));

    // POST with some parameters in the query and the rest in the form body.
    let post = HttpMethod::Post;
    let p = sign_v1(post, "DescribeVSwitches", "2016-04-28", &regions, "testsecret", now, "n-split");
    let (q, b) = p.split_at(3);
    let (status, body) = raw_post(addr, &encode(q, false), &encode(b, true)).await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body["VSwitches"]["VSwitch"].as_array().unwrap().is_empty());

    // A malformed timestamp.
    let mut p = sign_v1(get, "DescribeVpcs", "2016-04-28", &regions, "testsecret", now, "n-ts");
    for (k, v) in p.iter_mut() {
        if k == "Timestamp" {
            *v = "2024-01-01 00:00:00".into();
        }
    }
    let (status, body) = raw_get(addr, &encode(&p, false)).await.unwrap();
    assert_eq!((status, body["Code"].as_str()), (400, Some("InvalidTimeStamp.Format")));

    // Unknown action, unknown version, missing Action.
    let p = sign_v1(get, "DescribeUnicorns", "2016-04-28", &regions, "testsecret", now, "n-a");
    let (status, body) = raw_get(addr, &encode(&p, false)).await.unwrap();
    assert_eq!((status, body["Code"].as_str()), (404, Some("InvalidAction.NotFound")));
    let p = sign_v1(get, "DescribeVpcs", "2099-01-01", &regions, "testsecret", now, "n-v");
    let (status, body) = raw_get(addr, &encode(&p, false)).await.unwrap();
    assert_eq!((status, body["Code"].as_str()), (404, Some("InvalidAction.NotFound")));
    let (status, body) = raw_get(addr, "Version=2016-04-28&RegionId=cn-hangzhou").await.unwrap();
    assert_eq!((status, body["Code"].as_str()), (400, Some("MissingParameter")));
    for k in ["RequestId", "HostId", "Code", "Message", "Recommend"] {
        assert!(body[k].is_string(), "{k} missing in {body}");
    }
    // No signature at all.
    let (status, body) = raw_get(addr, "Action=DescribeVpcs&Version=2016-04-28&AccessKeyId=testid").await.unwrap();
    assert_eq!((status, body["Code"].as_str()), (400, Some("IncompleteSignature")));
    // Garbage never crashes it.
    let (status, _) = raw_get(addr, "%%%&&==&Action").await.unwrap();
    assert_eq!(status, 400);
    assert!(raw_http(addr, b"NOT HTTP AT ALL\r\n\r\n").await.is_none_or(|(s, _)| s >= 400));
    let (status, body) = raw_get(addr, "Action=DescribeVpcs").await.unwrap();
    assert_eq!((status, body["Code"].as_str()), (400, Some("MissingParameter")));
}

#[tokio::test]
async fn sts_tokens_are_checked() {
    let mock = MockCloud::builder().sts_credentials("STS.id", "stssecret", "tok-1").start().await.unwrap();
    let with = |creds: ack_net_core::Credentials| mock.client_builder().credentials(creds).build().unwrap();
    let req = || RpcRequest::read(SLB, "DescribeRegions");
    let good = ack_net_core::Credentials::new("STS.id", "stssecret").with_security_token("tok-1");
    with(good).call_value(req()).await.unwrap();
    let bad = ack_net_core::Credentials::new("STS.id", "stssecret").with_security_token("tok-2");
    assert_eq!(code(with(bad).call_value(req()).await), "InvalidSecurityToken.MismatchWithAccessKey");
    let none = ack_net_core::Credentials::new("STS.id", "stssecret");
    assert_eq!(code(with(none).call_value(req()).await), "InvalidSecurityToken.MismatchWithAccessKey");
    // Tokens never reach the call log.
    assert!(mock.calls().iter().all(|c| !c.params.contains_key("SecurityToken")));
}

#[tokio::test]
async fn client_token_idempotency() {
    let mock = MockCloud::builder().seed(3).start().await.unwrap();
    let c = client(&mock);
    let create =
        |cidr: &str| RpcRequest::idempotent_write(VPC, "CreateVpc").client_token("token-1").param("CidrBlock", cidr);
    let a: Value = c.call(create("10.0.0.0/8")).await.unwrap();
    let b: Value = c.call(create("10.0.0.0/8")).await.unwrap();
    assert_eq!(a["VpcId"], b["VpcId"]);
    assert_ne!(a["RequestId"], b["RequestId"]);
    let e = c.call_value(create("192.168.0.0/16")).await.unwrap_err();
    assert_eq!(e.code(), Some("IdempotentParameterMismatch"));
    assert_eq!(e.api().unwrap().status, 400);
    // The same token on another action is another key.
    let v: Value = c
        .call(
            RpcRequest::idempotent_write(VPC, "CreateVSwitch")
                .client_token("token-1")
                .param("VpcId", a["VpcId"].as_str().unwrap())
                .param("ZoneId", "cn-hangzhou-h")
                .param("CidrBlock", "10.1.0.0/16"),
        )
        .await
        .unwrap();
    assert!(v["VSwitchId"].as_str().unwrap().starts_with("vsw-"));
    // A failed first call is not remembered.
    let bad = RpcRequest::idempotent_write(VPC, "CreateVpc").client_token("token-2").param("CidrBlock", "bad");
    assert_eq!(code(c.call_value(bad).await), "InvalidCidrBlock.Malformed");
    let fixed =
        RpcRequest::idempotent_write(VPC, "CreateVpc").client_token("token-2").param("CidrBlock", "172.16.0.0/12");
    let second: Value = c.call(fixed).await.unwrap();
    assert_ne!(second["VpcId"], a["VpcId"]);
    let total: Value = c.call(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap();
    assert_eq!(total["TotalCount"], 2);
}

#[tokio::test]
async fn regions_and_zones_for_every_product() {
    let mock = MockCloud::start().await.unwrap();
    let c = client(&mock);
    for p in [VPC, ECS, SLB] {
        let r: Value = c.call(RpcRequest::read(p, "DescribeRegions")).await.unwrap();
        assert!(r["Regions"]["Region"].as_array().unwrap().len() >= 7);
        let z: Value = c.call(RpcRequest::read(p, "DescribeZones")).await.unwrap();
        let zones = z["Zones"]["Zone"].as_array().unwrap();
        assert!(zones.iter().any(|z| z["ZoneId"] == "cn-hangzhou-h"), "{p:?}");
    }
    let z: Value = c.call(RpcRequest::read(SLB, "DescribeZones")).await.unwrap();
    assert!(z["Zones"]["Zone"][0]["SlaveZones"]["SlaveZone"].as_array().unwrap().len() >= 2);
    let bad = RpcRequest::read(VPC, "DescribeZones").param("RegionId", "mars-north-1");
    assert_eq!(code(c.call_value(bad).await), "InvalidRegionId.NotFound");
}
