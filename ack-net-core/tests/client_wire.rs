//! The client's exact wire format and retry behaviour, pinned against wiremock.

use ack_net_core::ErrorInfo;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ack_net_core::sign::{self, v1, v3};
use ack_net_core::{
    CallStats, Credentials, CredentialsProvider, Error, ErrorClass, HttpMethod, Product, RateLimits, RetryPolicy,
    RpcClient, RpcRequest, SignatureVersion,
};
use async_trait::async_trait;
use chrono::TimeZone;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

// The products, as their crates define them (core lists none).
const VPC: Product = Product::new("vpc", "2016-04-28");
const ECS: Product = Product::new("ecs", "2014-05-26");
const SLB: Product = Product::new("slb", "2014-05-15");

fn fixed_time() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap()
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_backoff(Duration::from_millis(1), Duration::from_millis(5))
        .with_throttle_backoff(Duration::from_millis(1))
}

fn client(server: &MockServer) -> ack_net_core::RpcClientBuilder {
    RpcClient::builder()
        .region("cn-hangzhou")
        .credentials(Credentials::new("testid", "testsecret"))
        .endpoint(&server.uri())
        .rate_limits(RateLimits::unlimited())
        .retry_policy(fast_retries())
        .clock(fixed_time)
}

fn ok_body() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_string(r#"{"RequestId":"req-ok","Value":42}"#)
}

/// All parameters of a V1 request, decoded from its query or form body.
fn v1_params(req: &Request) -> Vec<(String, String)> {
    let raw = if req.method.as_str() == "GET" {
        req.url.query().unwrap_or_default().to_owned()
    } else {
        String::from_utf8(req.body.clone()).unwrap()
    };
    sign::decode_form(&raw)
}

fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Checks a V1 signature the way the API does: decode, drop `Signature`, re-canonicalize.
fn assert_v1_signature(req: &Request, secret: &str) {
    let params = v1_params(req);
    let sig = get(&params, "Signature").expect("Signature present").to_owned();
    let rest: Vec<_> = params.iter().filter(|(k, _)| k != "Signature").collect();
    let sts = v1::string_to_sign(req.method.as_str(), rest.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    assert_eq!(sig, v1::signature(&sts, secret), "signature must verify");
}

#[derive(Debug, serde::Deserialize)]
struct Answer {
    #[serde(rename = "Value")]
    value: u32,
}

#[tokio::test]
async fn v1_get_wire_format() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path("/")).respond_with(ok_body()).expect(1).mount(&server).await;
    let c = client(&server).method(HttpMethod::Get).build().unwrap();
    let a: Answer = c
        .call(RpcRequest::read(VPC, "DescribeVpcs").param("VpcName", "a b*c~d+e").list_param("Ids", ["x", "y"]))
        .await
        .unwrap();
    assert_eq!(a.value, 42);

    let req = &server.received_requests().await.unwrap()[0];
    let raw = req.url.query().unwrap();
    // Exact encoding on the wire: space as %20, * as %2A, ~ literal, + as %2B.
    assert!(raw.contains("VpcName=a%20b%2Ac~d%2Be"), "{raw}");
    assert!(raw.ends_with(&format!("Signature={}", sign::percent_encode(get(&v1_params(req), "Signature").unwrap()))));
    let params = v1_params(req);
    let mut names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "AccessKeyId",
            "Action",
            "Format",
            "Ids.1",
            "Ids.2",
            "RegionId",
            "Signature",
            "SignatureMethod",
            "SignatureNonce",
            "SignatureVersion",
            "Timestamp",
            "Version",
            "VpcName"
        ]
    );
    assert_eq!(get(&params, "Action"), Some("DescribeVpcs"));
    assert_eq!(get(&params, "Version"), Some("2016-04-28"));
    assert_eq!(get(&params, "Format"), Some("JSON"));
    assert_eq!(get(&params, "SignatureMethod"), Some("HMAC-SHA1"));
    assert_eq!(get(&params, "SignatureVersion"), Some("1.0"));
    assert_eq!(get(&params, "Timestamp"), Some("2024-05-06T07:08:09Z"));
    assert_eq!(get(&params, "RegionId"), Some("cn-hangzhou"));
    assert!(req.body.is_empty());
    assert!(req.headers.get("user-agent").unwrap().to_str().unwrap().starts_with("ack-net/"));
    assert_v1_signature(req, "testsecret");
}

#[tokio::test]
async fn v1_post_wire_format() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/")).respond_with(ok_body()).expect(1).mount(&server).await;
    let c = client(&server).build().unwrap();
    let _: Answer = c
        .call(
            RpcRequest::idempotent_write(ECS, "CreateNetworkInterface")
                .param("VSwitchId", "vsw-1")
                .param("Description", "pods: 中文 & more")
                .client_token("tok-1"),
        )
        .await
        .unwrap();
    let req = &server.received_requests().await.unwrap()[0];
    assert_eq!(req.url.query(), None, "POST carries parameters in the body only");
    assert_eq!(req.headers.get("content-type").unwrap(), "application/x-www-form-urlencoded");
    let body = String::from_utf8(req.body.clone()).unwrap();
    assert!(body.contains("Description=pods%3A%20%E4%B8%AD%E6%96%87%20%26%20more"), "{body}");
    let params = v1_params(req);
    assert_eq!(get(&params, "ClientToken"), Some("tok-1"));
    assert_eq!(get(&params, "Version"), Some("2014-05-26"));
    assert_v1_signature(req, "testsecret");
}

#[tokio::test]
async fn v3_wire_format() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path("/")).respond_with(ok_body()).expect(1).mount(&server).await;
    let c = client(&server).signature_version(SignatureVersion::V3).build().unwrap();
    let _: Answer = c.call(RpcRequest::read(SLB, "DescribeLoadBalancers").param("PageSize", 10)).await.unwrap();
    let req = &server.received_requests().await.unwrap()[0];
    let h = |n: &str| req.headers.get(n).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(h("x-acs-action").as_deref(), Some("DescribeLoadBalancers"));
    assert_eq!(h("x-acs-version").as_deref(), Some("2014-05-15"));
    assert_eq!(h("x-acs-date").as_deref(), Some("2024-05-06T07:08:09Z"));
    assert_eq!(h("x-acs-content-sha256").as_deref(), Some(v3::EMPTY_PAYLOAD_SHA256));
    let auth = v3::parse_authorization(&h("authorization").unwrap()).unwrap();
    assert_eq!(auth.credential, "testid");
    // Verify as a server would.
    let query = sign::decode_form(req.url.query().unwrap());
    let headers: Vec<(String, String)> =
        auth.signed_headers.iter().map(|n| (n.clone(), h(n).expect("signed header sent"))).collect();
    let (creq, signed) = v3::canonical_request(
        "POST",
        query.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        v3::EMPTY_PAYLOAD_SHA256,
    );
    assert_eq!(signed, auth.signed_headers.join(";"));
    assert_eq!(auth.signature, v3::signature(&v3::string_to_sign(&creq), "testsecret"));
}

/// Answers with the given responses in turn, then repeats the last.
struct Sequence(Vec<ResponseTemplate>, AtomicU32);

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let i = self.1.fetch_add(1, Ordering::SeqCst) as usize;
        self.0[i.min(self.0.len() - 1)].clone()
    }
}

fn error(status: u16, code: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_string(format!(
        r#"{{"RequestId":"req-{code}","HostId":"ecs.aliyuncs.com","Code":"{code}","Message":"m","Recommend":"r"}}"#
    ))
}

#[tokio::test]
async fn throttled_then_ok_reuses_client_token_with_new_nonces() {
    let server = MockServer::start().await;
    let seq =
        Sequence(vec![error(400, "Throttling.User"), error(503, "ServiceUnavailable"), ok_body()], AtomicU32::new(0));
    Mock::given(method("POST")).respond_with(seq).expect(3).mount(&server).await;
    let stats = CallStats::new();
    let c = client(&server).observer(stats.clone()).build().unwrap();
    let _: Answer = c.call(RpcRequest::idempotent_write(ECS, "AssignPrivateIpAddresses")).await.unwrap();
    let reqs = server.received_requests().await.unwrap();
    let params: Vec<_> = reqs.iter().map(v1_params).collect();
    let tokens: Vec<_> = params.iter().map(|p| get(p, "ClientToken").unwrap().to_owned()).collect();
    assert!(!tokens[0].is_empty());
    assert!(tokens.iter().all(|t| *t == tokens[0]), "one generated ClientToken for every attempt: {tokens:?}");
    let nonces: std::collections::HashSet<_> =
        params.iter().map(|p| get(p, "SignatureNonce").unwrap().to_owned()).collect();
    assert_eq!(nonces.len(), 3, "a new nonce for every attempt");
    for r in &reqs {
        assert_v1_signature(r, "testsecret");
    }
    let snap = stats.snapshot();
    let counts = snap["AssignPrivateIpAddresses"];
    assert_eq!((counts.attempts, counts.successes, counts.throttled), (3, 1, 1));
    assert!(counts.write);
}

#[tokio::test]
async fn auth_errors_are_not_retried_and_redacted() {
    let server = MockServer::start().await;
    let body = r#"{"RequestId":"r","Code":"SignatureDoesNotMatch","Message":"server string to sign is:POST&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeVpcs"}"#;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_string(body))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server).build().unwrap();
    let err = c.call_value(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Auth);
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"));
    assert!(!format!("{err} {err:?}").contains("testid"), "AccessKeyId redacted: {err}");
}

#[tokio::test]
async fn unsafe_writes_are_not_retried_after_5xx_but_reads_are() {
    let server = MockServer::start().await;
    let seq = Sequence(vec![error(500, "InternalError"), ok_body()], AtomicU32::new(0));
    Mock::given(method("POST")).respond_with(seq).mount(&server).await;
    let c = client(&server).build().unwrap();
    let err = c.call_value(RpcRequest::write(ECS, "AttachNetworkInterface")).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Retryable);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    // The same error on a read is retried (the sequence now answers OK).
    server.reset().await;
    let seq = Sequence(vec![error(500, "InternalError"), ok_body()], AtomicU32::new(0));
    Mock::given(method("POST")).respond_with(seq).expect(2).mount(&server).await;
    let _: Answer = c.call(RpcRequest::read(ECS, "DescribeNetworkInterfaces")).await.unwrap();
}

#[tokio::test]
async fn unsafe_writes_are_retried_when_throttled() {
    let server = MockServer::start().await;
    let seq = Sequence(vec![error(400, "Throttling"), ok_body()], AtomicU32::new(0));
    Mock::given(method("POST")).respond_with(seq).expect(2).mount(&server).await;
    let c = client(&server).build().unwrap();
    let _: Answer = c.call(RpcRequest::write(ECS, "AttachNetworkInterface")).await.unwrap();
}

#[tokio::test]
async fn attempt_limit_and_nonce_reuse() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(error(503, "ServiceUnavailable")).expect(3).mount(&server).await;
    let c = client(&server).retry_policy(fast_retries().with_attempt_limit(3)).build().unwrap();
    let err = c.call_value(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap_err();
    assert_eq!(err.code(), Some("ServiceUnavailable"));

    // SignatureNonceUsed is re-signed and retried once, even with a one-attempt policy.
    let server = MockServer::start().await;
    let seq = Sequence(vec![error(400, "SignatureNonceUsed"), ok_body()], AtomicU32::new(0));
    Mock::given(method("POST")).respond_with(seq).expect(2).mount(&server).await;
    let c = client(&server).retry_policy(RetryPolicy::no_retry()).build().unwrap();
    let _: Answer = c.call(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap();
}

#[tokio::test]
async fn retry_budget_stops_storms() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(error(503, "ServiceUnavailable")).mount(&server).await;
    let c = client(&server).retry_budget(ack_net_core::RetryBudget::new(10, 5, 10)).build().unwrap();
    for _ in 0..3 {
        let _ = c.call_value(RpcRequest::read(VPC, "DescribeVpcs")).await;
    }
    // 10 tokens pay for 2 retries in all: 3 calls make 3 + 2 attempts, not 3 * 5.
    assert_eq!(server.received_requests().await.unwrap().len(), 5);
    assert_eq!(c.retry_budget_available(), 0);
}

#[tokio::test]
async fn bad_bodies_and_timeouts_are_typed_errors() {
    let server = MockServer::start().await;
    Mock::given(path("/"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"RequestId":"r","Vp"#))
        .mount(&server)
        .await;
    let c = client(&server).build().unwrap();
    let err = c.call_value(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Decode);

    // A body that is JSON but not the expected shape.
    let err = c.call::<Answer>(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");

    let slow = MockServer::start().await;
    Mock::given(path("/")).respond_with(ok_body().set_delay(Duration::from_secs(5))).mount(&slow).await;
    let c = client(&slow).timeout(Duration::from_millis(100)).retry_policy(RetryPolicy::no_retry()).build().unwrap();
    let err = c.call_value(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Timeout);

    // Nothing listens: a connect error, retried (it was never sent) then returned.
    let c = RpcClient::builder()
        .region("cn-hangzhou")
        .credentials(Credentials::new("a", "b"))
        .endpoint("http://127.0.0.1:9")
        .retry_policy(fast_retries().with_attempt_limit(2))
        .build()
        .unwrap();
    let err = c.call_value(RpcRequest::write(VPC, "DeleteVpc")).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transport);
}

#[tokio::test]
async fn bad_input_is_rejected_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(path("/")).respond_with(ok_body()).expect(0).mount(&server).await;
    let c = client(&server).build().unwrap();
    let err = c.call_value(RpcRequest::read(VPC, "DescribeVpcs").param("", "x")).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::InvalidInput);
    let long = "x".repeat(65);
    let err = c.call_value(RpcRequest::idempotent_write(VPC, "CreateVpc").client_token(long)).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::InvalidInput);
    let bad = RpcClient::builder()
        .region("cn-hangzhou")
        .credentials(Credentials::new("bad id", "x"))
        .endpoint(&server.uri())
        .build()
        .unwrap();
    let err = bad.call_value(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap_err();
    assert_eq!(err.class(), ErrorClass::InvalidInput);
}

/// Hands out a new AccessKeyId each time it is asked: the client must ask before every
/// attempt so refreshed credentials take effect at once.
#[derive(Debug, Default)]
struct Rotating(AtomicU32);

#[async_trait]
impl CredentialsProvider for Rotating {
    async fn credentials(&self) -> Result<Credentials, Error> {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        Ok(Credentials::new(format!("key{n}"), format!("secret{n}")).with_security_token(format!("sts{n}")))
    }
}

#[tokio::test]
async fn refreshed_credentials_are_used_on_the_next_attempt() {
    let server = MockServer::start().await;
    let seq = Sequence(vec![error(503, "ServiceUnavailable"), ok_body()], AtomicU32::new(0));
    Mock::given(method("POST")).respond_with(seq).expect(2).mount(&server).await;
    let provider = Arc::new(Rotating::default());
    let c = client(&server).credentials_provider_arc(provider.clone()).build().unwrap();
    let _: Answer = c.call(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap();
    let reqs = server.received_requests().await.unwrap();
    for (i, r) in reqs.iter().enumerate() {
        let p = v1_params(r);
        assert_eq!(get(&p, "AccessKeyId"), Some(format!("key{i}").as_str()));
        assert_eq!(get(&p, "SecurityToken"), Some(format!("sts{i}").as_str()));
        assert_v1_signature(r, &format!("secret{i}"));
    }
}

#[tokio::test]
async fn concurrent_callers_share_one_client() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ok_body()).expect(64).mount(&server).await;
    let stats = CallStats::new();
    let c = client(&server).observer(stats.clone()).build().unwrap();
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.call::<Answer>(RpcRequest::read(VPC, "DescribeVpcs").param("I", i)).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(stats.calls("DescribeVpcs"), 64);
    assert_eq!(stats.reads(), 64);
    assert_eq!(stats.writes(), 0);
}
