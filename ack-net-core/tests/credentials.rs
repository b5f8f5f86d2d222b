//! The credential providers against wiremock: the ECS metadata flow, the OIDC STS call, STS
//! errors, caching (single-flight, refresh ahead of expiry, stale-but-valid), the default
//! chain, and a refresh seen on the wire of an RPC call.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ack_net_core::credentials::{
    CachingProvider, DefaultChain, EcsRamRoleProvider, Env, OidcProvider, DEFAULT_REFRESH_MARGIN,
};
use ack_net_core::{CredentialsProvider, ErrorClass, ErrorInfo, Product, RateLimits, RpcClient, RpcRequest};
use chrono::{DateTime, TimeZone, Utc};
use secrecy::ExposeSecret;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The VPC API, as `ack_net_vpc::VPC` describes it.
const VPC: Product = Product::new("vpc", "2016-04-28");

const TOKEN_PATH: &str = "/latest/api/token";
const ROLES_PATH: &str = "/latest/meta-data/ram/security-credentials/";
const TTL_HEADER: &str = "X-aliyun-ecs-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "X-aliyun-ecs-metadata-token";
const ROLE_ARN: &str = "acs:ram::1234567890:role/ack-pod-role";
const IDP_ARN: &str = "acs:ram::1234567890:oidc-provider/ack-rrsa-c1";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap()
}

fn minutes(m: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::minutes(m)
}

/// A clock the test moves by hand.
#[derive(Clone)]
struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    fn new() -> Self {
        Self(Arc::new(Mutex::new(t0())))
    }

    fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap() = at;
    }

    fn reader(&self) -> impl Fn() -> DateTime<Utc> + Send + Sync + 'static {
        let now = self.0.clone();
        move || *now.lock().unwrap()
    }
}

fn role_body(id: &str, expiration: DateTime<Utc>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "Code": "Success",
        "AccessKeyId": id,
        "AccessKeySecret": format!("secret-of-{id}"),
        "SecurityToken": format!("token-of-{id}"),
        "Expiration": expiration.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "LastUpdated": "2029-12-31T23:00:00Z",
    }))
}

fn sts_body(id: &str, expiration: DateTime<Utc>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "RequestId": "3D57EAD2-8723-1F26-B69C-F8707D8B565D",
        "AssumedRoleUser": {"AssumedRoleId": "33157794895460****:s", "Arn": format!("{ROLE_ARN}/s")},
        "OIDCTokenInfo": {"Subject": "system:serviceaccount:default:app", "Issuer": "https://oidc-ack", "ClientIds": "sts.aliyuncs.com"},
        "Credentials": {
            "AccessKeyId": id,
            "AccessKeySecret": format!("secret-of-{id}"),
            "SecurityToken": format!("token-of-{id}"),
            "Expiration": expiration.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }
    }))
}

/// Mounts the token endpoint, answering `tok-1`; expects `times` PUTs with the TTL header.
async fn mount_token(server: &MockServer, times: u64) {
    Mock::given(method("PUT"))
        .and(path(TOKEN_PATH))
        .and(header(TTL_HEADER, "21600"))
        .respond_with(ResponseTemplate::new(200).set_body_string("tok-1"))
        .expect(times)
        .named("metadata token")
        .mount(server)
        .await;
}

/// Mounts `role`'s credentials behind the session token `tok-1`: `answer`, expected `times` times.
async fn mount_role(server: &MockServer, role: &str, answer: ResponseTemplate, times: u64) {
    Mock::given(method("GET"))
        .and(path(format!("{ROLES_PATH}{role}")))
        .and(header(TOKEN_HEADER, "tok-1"))
        .respond_with(answer)
        .expect(times)
        .mount(server)
        .await;
}

/// An API that answers every POST with success, expecting `times` of them.
async fn api_expecting(times: u64) -> MockServer {
    let api = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"RequestId":"r"}"#))
        .expect(times)
        .mount(&api)
        .await;
    api
}

fn ecs(server: &MockServer) -> ack_net_core::credentials::EcsRamRoleProviderBuilder {
    EcsRamRoleProvider::builder().metadata_url(server.uri())
}

fn form(req: &Request) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(&req.body).into_owned().collect()
}

fn temp_file(contents: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("ack-net-oidc-token-{}", uuid::Uuid::new_v4()));
    std::fs::write(&path, contents).unwrap();
    path
}

#[tokio::test]
async fn ecs_metadata_flow_discovers_the_role_with_a_session_token() {
    let server = MockServer::start().await;
    mount_token(&server, 2).await;
    Mock::given(method("GET"))
        .and(path(ROLES_PATH))
        .and(header(TOKEN_HEADER, "tok-1"))
        .respond_with(ResponseTemplate::new(200).set_body_string("WorkerRole\n"))
        .expect(1)
        .named("role discovery")
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{ROLES_PATH}WorkerRole")))
        .and(header(TOKEN_HEADER, "tok-1"))
        .respond_with(role_body("STS.worker", minutes(60)))
        .expect(2)
        .named("role credentials")
        .mount(&server)
        .await;

    let provider = ecs(&server).build_uncached().unwrap();
    let c = provider.credentials().await.unwrap();
    assert_eq!(c.access_key_id(), "STS.worker");
    assert_eq!(c.access_key_secret().expose_secret(), "secret-of-STS.worker");
    assert_eq!(c.security_token().unwrap().expose_secret(), "token-of-STS.worker");
    assert_eq!(c.expiration(), Some(minutes(60)));
    // The role name is discovered once; every fetch gets a fresh session token first.
    provider.credentials().await.unwrap();
    let order: Vec<String> =
        server.received_requests().await.unwrap().iter().map(|r| format!("{} {}", r.method, r.url.path())).collect();
    assert_eq!(
        order,
        [
            format!("PUT {TOKEN_PATH}"),
            format!("GET {ROLES_PATH}"),
            format!("GET {ROLES_PATH}WorkerRole"),
            format!("PUT {TOKEN_PATH}"),
            format!("GET {ROLES_PATH}WorkerRole"),
        ]
    );
    assert!(!format!("{provider:?}").contains("secret-of"), "{provider:?}");
}

#[tokio::test]
async fn ecs_named_role_and_failures() {
    let server = MockServer::start().await;
    mount_token(&server, 3).await;
    mount_role(&server, "Named", role_body("STS.named", minutes(60)), 1).await;
    Mock::given(method("GET"))
        .and(path(format!("{ROLES_PATH}Broken")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "Code": "Failed", "AccessKeyId": "x", "AccessKeySecret": "leaked-secret"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(ROLES_PATH))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;

    let named = ecs(&server).role_name("Named").build_uncached().unwrap();
    assert_eq!(named.credentials().await.unwrap().access_key_id(), "STS.named");

    let broken = ecs(&server).role_name("Broken").build_uncached().unwrap();
    let e = broken.credentials().await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Credentials);
    assert!(e.to_string().contains("\"Failed\""), "{e}");
    assert!(!e.to_string().contains("leaked-secret"), "{e}");

    // A role that does not exist: wiremock answers 404.
    let missing = ecs(&server).role_name("Missing").build_uncached().unwrap();
    let e = missing.credentials().await.unwrap_err();
    assert!(e.to_string().contains("not attached") && e.to_string().contains("404"), "{e}");
}

#[tokio::test]
async fn ecs_refused_token_stops_unless_imds_v1_is_allowed() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(403))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{ROLES_PATH}Role")))
        .and(|r: &Request| !r.headers.contains_key(TOKEN_HEADER))
        .respond_with(role_body("STS.v1", minutes(60)))
        .expect(1)
        .mount(&server)
        .await;

    let strict = ecs(&server).role_name("Role").build_uncached().unwrap();
    let e = strict.credentials().await.unwrap_err();
    assert!(e.to_string().contains("refused a session token (HTTP 403)"), "{e}");

    let lenient = ecs(&server).role_name("Role").allow_imds_v1(true).build_uncached().unwrap();
    assert_eq!(lenient.credentials().await.unwrap().access_key_id(), "STS.v1");
}

#[tokio::test]
async fn ecs_unreachable_metadata_fails_fast() {
    // Nothing listens on port 9 of the loopback address.
    let provider = EcsRamRoleProvider::builder()
        .metadata_url("http://127.0.0.1:9")
        .role_name("Role")
        .timeout(Duration::from_millis(500))
        .build_uncached()
        .unwrap();
    let started = std::time::Instant::now();
    let e = provider.credentials().await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Credentials);
    assert!(e.to_string().contains("metadata session token"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn oidc_posts_the_documented_form_and_rereads_the_token_at_each_refresh() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/"))
        .and(header("Content-Type", "application/x-www-form-urlencoded"))
        .respond_with(sts_body("STS.pod", minutes(60)))
        .expect(2)
        .mount(&server)
        .await;
    let token_file = temp_file("eyJ.first-token.sig\n");
    let clock = ManualClock::new();
    let provider = OidcProvider::builder(ROLE_ARN, IDP_ARN, &token_file)
        .role_session_name("ack-net-test")
        .duration_seconds(900)
        .sts_endpoint(server.uri())
        .clock(clock.reader())
        .build_uncached()
        .unwrap();
    let cached = CachingProvider::builder(provider).clock(clock.reader()).build();

    let c = cached.credentials().await.unwrap();
    assert_eq!(c.access_key_id(), "STS.pod");
    assert_eq!(c.security_token().unwrap().expose_secret(), "token-of-STS.pod");
    assert_eq!(c.expiration(), Some(minutes(60)));

    // The kubelet rotates the token; the cache does not ask yet, the next refresh reads it.
    std::fs::write(&token_file, "eyJ.second-token.sig").unwrap();
    clock.set(minutes(30));
    cached.credentials().await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    clock.set(minutes(56));
    cached.credentials().await.unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let (first, second) = (form(&requests[0]), form(&requests[1]));
    let expected = [
        ("Action", "AssumeRoleWithOIDC"),
        ("Version", "2015-04-01"),
        ("Format", "JSON"),
        ("RoleArn", ROLE_ARN),
        ("OIDCProviderArn", IDP_ARN),
        ("OIDCToken", "eyJ.first-token.sig"),
        ("RoleSessionName", "ack-net-test"),
        ("DurationSeconds", "900"),
        ("Timestamp", "2030-01-01T00:00:00Z"),
    ];
    for (name, value) in expected {
        assert_eq!(first.get(name).map(String::as_str), Some(value), "{name} in {first:?}");
    }
    let keys: Vec<&str> = first.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "Action",
            "DurationSeconds",
            "Format",
            "OIDCProviderArn",
            "OIDCToken",
            "RoleArn",
            "RoleSessionName",
            "SignatureNonce",
            "Timestamp",
            "Version"
        ],
        "an unsigned call: no AccessKeyId, no Signature"
    );
    assert_eq!(second["OIDCToken"], "eyJ.second-token.sig");
    assert_eq!(second["Timestamp"], "2030-01-01T00:56:00Z");
    assert_ne!(first["SignatureNonce"], second["SignatureNonce"]);
    std::fs::remove_file(token_file).unwrap();
}

#[tokio::test]
async fn sts_errors_are_typed_and_never_contain_the_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "RequestId": "6EA8C2F4-A58C-5F2C-8A4F-7C2B1A0E5E11",
            "HostId": "sts.aliyuncs.com",
            "Code": "AuthenticationFail.OIDCToken.Expired",
            "Message": "The OIDCToken eyJ.expired-token.sig is expired.",
            "Recommend": "https://api.aliyun.com/troubleshoot?q=AuthenticationFail.OIDCToken.Expired"
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway eyJ.expired-token.sig</html>"))
        .expect(1)
        .mount(&server)
        .await;
    let token_file = temp_file("eyJ.expired-token.sig");
    let provider =
        OidcProvider::builder(ROLE_ARN, IDP_ARN, &token_file).sts_endpoint(server.uri()).build_uncached().unwrap();

    let e = provider.credentials().await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Credentials);
    let text = e.to_string();
    assert!(text.starts_with("credentials from oidc: "), "{text}");
    assert!(text.contains("AuthenticationFail.OIDCToken.Expired") && text.contains("HTTP 400"), "{text}");
    assert!(text.contains("6EA8C2F4-A58C-5F2C-8A4F-7C2B1A0E5E11"), "{text}");
    assert!(!text.contains("eyJ.expired-token.sig") && !format!("{e:?}").contains("eyJ.expired"), "{text}");

    let e = provider.credentials().await.unwrap_err();
    let text = e.to_string();
    assert!(text.contains("HTTP 502") && !text.contains("eyJ.expired-token.sig"), "{text}");

    // A missing token file is an error naming the file, before any request.
    std::fs::remove_file(&token_file).unwrap();
    let e = provider.credentials().await.unwrap_err();
    assert!(e.to_string().contains(&token_file.display().to_string()), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_callers_cause_one_refresh() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    Mock::given(method("GET"))
        .and(path(format!("{ROLES_PATH}Role")))
        .and(header(TOKEN_HEADER, "tok-1"))
        .respond_with(
            role_body("STS.shared", Utc::now() + chrono::Duration::hours(1)).set_delay(Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&server)
        .await;
    // `build` caches by default.
    let provider = Arc::new(ecs(&server).role_name("Role").build().unwrap());
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (provider, barrier) = (provider.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                provider.credentials().await.map(|c| c.access_key_id().to_owned())
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), "STS.shared");
    }
    // And later callers are served from the cache.
    provider.credentials().await.unwrap();
    server.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_callers_share_one_failed_refresh() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    Mock::given(method("GET"))
        .and(path(format!("{ROLES_PATH}Role")))
        .respond_with(ResponseTemplate::new(500).set_delay(Duration::from_millis(200)))
        .expect(1)
        .mount(&server)
        .await;
    let provider = Arc::new(ecs(&server).role_name("Role").build().unwrap());
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (provider, barrier) = (provider.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                provider.credentials().await
            })
        })
        .collect();
    for task in tasks {
        let e = task.await.unwrap().unwrap_err();
        assert!(e.to_string().contains("HTTP 500"), "{e}");
    }
}

#[tokio::test]
async fn cache_refreshes_ahead_of_expiry() {
    let server = MockServer::start().await;
    mount_token(&server, 2).await;
    let path_role = format!("{ROLES_PATH}Role");
    Mock::given(method("GET"))
        .and(path(path_role.as_str()))
        .respond_with(role_body("STS.first", minutes(60)))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(path_role.as_str()))
        .respond_with(role_body("STS.second", minutes(120)))
        .expect(1)
        .mount(&server)
        .await;
    let clock = ManualClock::new();
    let cached = CachingProvider::builder(ecs(&server).role_name("Role").build_uncached().unwrap())
        .refresh_margin(DEFAULT_REFRESH_MARGIN)
        .clock(clock.reader())
        .build();

    assert_eq!(cached.credentials().await.unwrap().access_key_id(), "STS.first");
    clock.set(minutes(54));
    assert_eq!(cached.credentials().await.unwrap().access_key_id(), "STS.first");
    assert_eq!(server.received_requests().await.unwrap().len(), 2, "no refresh before the margin");
    // Five minutes before expiry: refreshed while the old credentials still work.
    clock.set(minutes(55));
    assert_eq!(cached.credentials().await.unwrap().access_key_id(), "STS.second");
    clock.set(minutes(100));
    assert_eq!(cached.credentials().await.unwrap().access_key_id(), "STS.second");
}

#[tokio::test]
async fn cache_serves_valid_credentials_while_refresh_fails() {
    let server = MockServer::start().await;
    mount_token(&server, 3).await;
    let path_role = format!("{ROLES_PATH}Role");
    Mock::given(method("GET"))
        .and(path(path_role.as_str()))
        .respond_with(role_body("STS.first", minutes(60)))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(path_role.as_str()))
        .respond_with(ResponseTemplate::new(503))
        .expect(2)
        .mount(&server)
        .await;
    let clock = ManualClock::new();
    let cached = CachingProvider::builder(ecs(&server).role_name("Role").build_uncached().unwrap())
        .retry_after_failure(Duration::from_secs(30))
        .clock(clock.reader())
        .build();

    cached.credentials().await.unwrap();
    clock.set(minutes(56));
    // The refresh fails; the credentials have 4 minutes left, so they are served.
    assert_eq!(cached.credentials().await.unwrap().access_key_id(), "STS.first");
    // Within the retry wait, no new request.
    assert_eq!(cached.credentials().await.unwrap().access_key_id(), "STS.first");
    // After expiry, the failure surfaces.
    clock.set(minutes(60));
    let e = cached.credentials().await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Credentials);
    assert!(e.to_string().contains("HTTP 503"), "{e}");
}

#[tokio::test]
async fn default_chain_reaches_the_ecs_role_when_nothing_else_yields() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    mount_role(&server, "ChainRole", role_body("STS.chain", Utc::now() + chrono::Duration::hours(1)), 1).await;
    let home = std::env::temp_dir().join(format!("ack-net-empty-home-{}", uuid::Uuid::new_v4()));
    let env = Env::from_map([("ALIBABA_CLOUD_ECS_METADATA", "ChainRole"), ("HOME", home.to_str().unwrap())]);
    let chain = DefaultChain::builder().env(env).ecs_metadata_url(server.uri()).build();
    assert_eq!(chain.steps(), ["environment", "profile", "ecs-ram-role"]);
    assert_eq!(chain.credentials().await.unwrap().access_key_id(), "STS.chain");
    assert_eq!(chain.winner(), Some("ecs-ram-role"));
    // Cached: the second call makes no request.
    chain.credentials().await.unwrap();
}

#[tokio::test]
async fn default_chain_takes_oidc_before_the_profile() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(sts_body("STS.rrsa", Utc::now() + chrono::Duration::hours(1)))
        .expect(1)
        .mount(&server)
        .await;
    let token_file = temp_file("eyJ.pod-token.sig");
    let env = Env::from_map([
        ("ALIBABA_CLOUD_ROLE_ARN", ROLE_ARN),
        ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", IDP_ARN),
        ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", token_file.to_str().unwrap()),
        ("ALIBABA_CLOUD_STS_ENDPOINT", server.uri().as_str()),
    ]);
    let chain = DefaultChain::builder().env(env).build();
    assert_eq!(chain.credentials().await.unwrap().access_key_id(), "STS.rrsa");
    assert_eq!(chain.winner(), Some("oidc"));
    chain.credentials().await.unwrap();
    std::fs::remove_file(token_file).unwrap();
}

#[tokio::test]
async fn rpc_calls_carry_the_refreshed_security_token() {
    let metadata = MockServer::start().await;
    mount_token(&metadata, 2).await;
    let path_role = format!("{ROLES_PATH}Role");
    Mock::given(method("GET"))
        .and(path(path_role.as_str()))
        .respond_with(role_body("STS.one", minutes(60)))
        .up_to_n_times(1)
        .expect(1)
        .mount(&metadata)
        .await;
    Mock::given(method("GET"))
        .and(path(path_role.as_str()))
        .respond_with(role_body("STS.two", minutes(120)))
        .expect(1)
        .mount(&metadata)
        .await;
    let api = api_expecting(3).await;

    let clock = ManualClock::new();
    let provider = CachingProvider::builder(ecs(&metadata).role_name("Role").build_uncached().unwrap())
        .clock(clock.reader())
        .build();
    let client = RpcClient::builder()
        .region("cn-hangzhou")
        .credentials_provider(provider)
        .endpoint(&api.uri())
        .rate_limits(RateLimits::unlimited())
        .build()
        .unwrap();
    for at in [0, 30, 58] {
        clock.set(minutes(at));
        client.call_value(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap();
    }
    let seen: Vec<(String, String)> = api
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let f = form(r);
            (f["AccessKeyId"].clone(), f["SecurityToken"].clone())
        })
        .collect();
    let pair = |id: &str| (id.to_owned(), format!("token-of-{id}"));
    assert_eq!(seen, [pair("STS.one"), pair("STS.one"), pair("STS.two")]);
}

/// A test double of a transport: sends through reqwest, and notes `METHOD path` of each request.
#[derive(Debug)]
struct Recorder {
    inner: ack_net_core::ReqwestTransport,
    seen: Mutex<Vec<String>>,
}

impl Recorder {
    fn new() -> Arc<Self> {
        let inner = ack_net_core::ReqwestTransport::new(Duration::from_secs(1), 1).unwrap();
        Arc::new(Recorder { inner, seen: Mutex::default() })
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl ack_net_core::Transport for Recorder {
    async fn send(
        &self,
        request: ack_net_core::HttpRequest,
    ) -> Result<ack_net_core::HttpResponse, ack_net_core::transport::TransportFailure> {
        let path = url::Url::parse(&request.url).unwrap().path().to_owned();
        self.seen.lock().unwrap().push(format!("{} {path}", request.method));
        self.inner.send(request).await
    }
}

#[tokio::test]
async fn the_client_transport_carries_the_metadata_requests_of_the_default_chain() {
    let metadata = MockServer::start().await;
    mount_token(&metadata, 1).await;
    mount_role(&metadata, "Role", role_body("STS.one", minutes(60)), 1).await;
    let api = api_expecting(2).await;

    let env = Env::from_map([("ALIBABA_CLOUD_ECS_METADATA", "Role")]);
    let chain = DefaultChain::builder().env(env).ecs_metadata_url(metadata.uri()).build();
    let recorder = Recorder::new();
    let client = RpcClient::builder()
        .region("cn-hangzhou")
        .credentials_provider(chain)
        .endpoint(&api.uri())
        .transport(recorder.clone())
        .rate_limits(RateLimits::unlimited())
        .build()
        .unwrap();
    for _ in 0..2 {
        client.call_value(RpcRequest::read(VPC, "DescribeVpcs")).await.unwrap();
    }
    // The chain, its cache and the ECS role provider all sent through the client's transport.
    assert_eq!(
        recorder.seen(),
        [format!("PUT {TOKEN_PATH}"), format!("GET {ROLES_PATH}Role"), "POST /".to_owned(), "POST /".to_owned()]
    );
}

#[tokio::test]
async fn an_oidc_provider_sends_its_sts_call_through_the_transport_it_is_given() {
    let sts = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/"))
        .respond_with(sts_body("STS.pod", minutes(60)))
        .expect(1)
        .mount(&sts)
        .await;
    let token_file = temp_file("eyJ.pod-token.sig");
    let recorder = Recorder::new();
    let provider = OidcProvider::builder(ROLE_ARN, IDP_ARN, &token_file)
        .sts_endpoint(sts.uri())
        .transport(recorder.clone())
        .build_uncached()
        .unwrap();
    let credentials = provider.credentials().await.unwrap();
    assert_eq!(credentials.access_key_id(), "STS.pod");
    assert_eq!(recorder.seen(), ["POST /"]);
    let sent = form(&sts.received_requests().await.unwrap()[0]);
    assert_eq!(sent["Action"], "AssumeRoleWithOIDC");
    assert_eq!(sent["Version"], ack_net_core::STS.version());
    // The provider's Debug names its transport, never the token.
    let debug = format!("{provider:?}");
    assert!(debug.contains("Recorder") && !debug.contains("eyJ.pod-token"), "{debug}");
    std::fs::remove_file(token_file).unwrap();
}
