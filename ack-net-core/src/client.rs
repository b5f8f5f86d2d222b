//! The RPC client: serialize, sign, send, classify, retry.

use crate::ErrorInfo;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::Instrument;

use crate::credentials::{CredentialsProvider, StaticProvider};
use crate::deadline::Deadlines;
use crate::endpoint::{Endpoint, Network, Product};
use crate::error::{redact_access_key_id, ApiError, Error, ErrorClass, TransportErrorKind};
use crate::metrics::{CallEvent, CallObserver, CallOutcome};
use crate::rate_limit::RateLimits;
use crate::region::RegionId;
use crate::request::{Idempotency, RpcRequest};
use crate::retry::{RetryBudget, RetryPolicy};
use crate::sign::{self, HttpMethod, SignatureVersion, SigningInput};
use crate::transport::{HttpRequest, HttpResponse, ReqwestTransport, Transport};
use crate::Credentials;

/// The variable [`RpcClient::from_env`] takes the region from.
pub const REGION_VAR: &str = "ALIBABA_CLOUD_REGION_ID";
/// The variable [`RpcClient::from_env`] takes an endpoint override from (a mock cloud's URL).
pub const ENDPOINT_VAR: &str = "ACK_NET_ENDPOINT";

/// The longest `ClientToken` the API accepts.
pub const MAX_CLIENT_TOKEN_LEN: usize = 64;

type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

struct Inner {
    credentials: Arc<dyn CredentialsProvider>,
    region: RegionId,
    endpoint: Endpoint,
    /// Where each product's calls go, keyed by the product's code, resolved at its first call.
    targets: RwLock<HashMap<&'static str, Arc<Target>>>,
    transport: Arc<dyn Transport>,
    retry: RetryPolicy,
    budget: RetryBudget,
    rate_limits: RateLimits,
    signature_version: SignatureVersion,
    method: HttpMethod,
    user_agent: String,
    timeout: Duration,
    /// The per-attempt timeouts in flight, served by one timer.
    deadlines: Deadlines,
    observers: Vec<Arc<dyn CallObserver>>,
    clock: Clock,
}

/// Calls Alibaba Cloud RPC actions: one per product version, all through one connection pool,
/// one retry budget and one set of rate limits. Cheap to clone; clones share everything.
///
/// ```no_run
/// use ack_net_core::{CallStats, Credentials, Product, RpcClient, RpcRequest};
/// const ECS: Product = Product::new("ecs", "2014-05-26"); // ack_net_eni::ECS
/// # async fn demo() -> Result<(), ack_net_core::Error> {
/// let stats = CallStats::new();
/// let client = RpcClient::builder()
///     .region("cn-hangzhou")
///     .credentials(Credentials::new("testid", "testsecret"))
///     .endpoint("http://127.0.0.1:18080")
///     .observer(stats.clone())
///     .build()?;
/// let _: serde_json::Value = client.call(RpcRequest::read(ECS, "DescribeInstanceTypes")).await?;
/// assert_eq!(stats.calls("DescribeInstanceTypes"), 1);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RpcClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for RpcClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpcClient")
            .field("region", &self.inner.region)
            .field("endpoint", &self.inner.endpoint)
            .field("signature_version", &self.inner.signature_version)
            .field("credentials", &self.inner.credentials)
            .finish_non_exhaustive()
    }
}

/// Builds an [`RpcClient`]. The credentials and the region are required (nothing silently
/// means `cn-hangzhou`); [`RpcClientBuilder::with_env`] takes both, and an endpoint, from the
/// environment.
#[must_use]
pub struct RpcClientBuilder {
    credentials: Option<Arc<dyn CredentialsProvider>>,
    region: Option<Result<RegionId, Error>>,
    network: Network,
    endpoint: Option<Result<Endpoint, Error>>,
    transport: Option<Arc<dyn Transport>>,
    retry: RetryPolicy,
    budget: RetryBudget,
    rate_limits: RateLimits,
    signature_version: SignatureVersion,
    method: HttpMethod,
    user_agent: String,
    timeout: Duration,
    connect_timeout: Duration,
    observers: Vec<Arc<dyn CallObserver>>,
    clock: Clock,
}

impl Default for RpcClientBuilder {
    fn default() -> Self {
        Self {
            credentials: None,
            region: None,
            network: Network::Public,
            endpoint: None,
            transport: None,
            retry: RetryPolicy::default(),
            budget: RetryBudget::default(),
            rate_limits: RateLimits::recommended(),
            signature_version: SignatureVersion::V1,
            method: HttpMethod::Post,
            user_agent: format!("ack-net/{} (rust)", env!("CARGO_PKG_VERSION")),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            observers: Vec::new(),
            clock: Arc::new(Utc::now),
        }
    }
}

impl RpcClientBuilder {
    /// Fixed credentials.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(Arc::new(StaticProvider::new(credentials)));
        self
    }

    /// A credentials provider (the default chain, a role, your own).
    pub fn credentials_provider(mut self, provider: impl CredentialsProvider + 'static) -> Self {
        self.credentials = Some(Arc::new(provider));
        self
    }

    /// A shared credentials provider.
    pub fn credentials_provider_arc(mut self, provider: Arc<dyn CredentialsProvider>) -> Self {
        self.credentials = Some(provider);
        self
    }

    /// The region (`RegionId` of every call that does not set its own). Checked by `build`.
    pub fn region(mut self, region: &str) -> Self {
        self.region = Some(RegionId::new(region));
        self
    }

    /// Takes what `env` sets and the builder does not yet have: the region from
    /// `ALIBABA_CLOUD_REGION_ID`, the endpoint from `ACK_NET_ENDPOINT`, and the
    /// [`DefaultChain`](crate::DefaultChain) of credential providers reading `env`.
    ///
    /// ```
    /// use ack_net_core::{Env, RpcClient};
    /// let env = Env::from_map([("ALIBABA_CLOUD_REGION_ID", "cn-beijing"), ("ACK_NET_ENDPOINT", "http://127.0.0.1:18080")]);
    /// let client = RpcClient::builder().with_env(&env).build()?;
    /// assert_eq!(client.region().as_str(), "cn-beijing");
    /// let err = RpcClient::builder().with_env(&Env::from_map([("HOME", "/nowhere")])).build().unwrap_err();
    /// assert!(err.to_string().contains("ALIBABA_CLOUD_REGION_ID"), "{err}");
    /// # Ok::<(), ack_net_core::Error>(())
    /// ```
    pub fn with_env(mut self, env: &crate::Env) -> Self {
        if self.region.is_none() {
            self.region = env.get(REGION_VAR).map(|r| RegionId::new(r.as_str()));
        }
        if self.endpoint.is_none() {
            self.endpoint = env.get(ENDPOINT_VAR).map(|url| Endpoint::parse_override(&url));
        }
        if self.credentials.is_none() {
            self.credentials = Some(Arc::new(crate::DefaultChain::builder().env(env.clone()).build()));
        }
        self
    }

    /// Public or VPC-internal endpoints.
    pub fn network(mut self, network: Network) -> Self {
        self.network = network;
        self
    }

    /// Sends every call to this base URL instead of the resolved endpoints (`http://` or
    /// `https://`). Checked by `build`.
    pub fn endpoint(mut self, url: &str) -> Self {
        self.endpoint = Some(Endpoint::parse_override(url));
        self
    }

    /// A transport of your own (a mock, a recorder, a proxying client). The credentials
    /// provider sends its requests (the ECS metadata service, STS) through it too, unless it
    /// was given a transport of its own ([`CredentialsProvider::use_transport`]).
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The retry policy.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The retry budget shared by all calls of this client.
    pub fn retry_budget(mut self, budget: RetryBudget) -> Self {
        self.budget = budget;
        self
    }

    /// Client-side rate limits ([`RateLimits::recommended`] by default).
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// V1 (default) or V3 signatures.
    pub fn signature_version(mut self, version: SignatureVersion) -> Self {
        self.signature_version = version;
        self
    }

    /// The HTTP method of calls that do not set their own (POST by default).
    pub fn method(mut self, method: HttpMethod) -> Self {
        self.method = method;
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// How long one attempt may take (10 s by default).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long connecting may take (5 s by default; default transport only).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Adds an observer told of every attempt.
    pub fn observer(mut self, observer: impl CallObserver + 'static) -> Self {
        self.observers.push(Arc::new(observer));
        self
    }

    /// Replaces the clock that timestamps requests (tests of clock skew).
    pub fn clock(mut self, clock: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<RpcClient, Error> {
        let region = self.region.ok_or_else(|| {
            Error::invalid_input(
                "region",
                format!("no region was given: call .region(\"cn-hangzhou\") or set {REGION_VAR} and use RpcClient::from_env()"),
            )
        })??;
        let credentials = self
            .credentials
            .ok_or_else(|| Error::invalid_input("credentials", "no credentials or credentials provider was given"))?;
        let endpoint = match self.endpoint {
            Some(e) => e?,
            None => Endpoint::Resolved { region: region.clone(), network: self.network },
        };
        check_rpc_method(self.method)?;
        if !self.user_agent.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err(Error::invalid_input("user agent", "must be printable ASCII"));
        }
        let transport = match self.transport {
            Some(t) => {
                // The credential traffic (metadata, STS) goes the way the calls go.
                credentials.use_transport(&t);
                t
            }
            None => Arc::new(ReqwestTransport::new(self.connect_timeout, 64)?),
        };
        Ok(RpcClient {
            inner: Arc::new(Inner {
                credentials,
                region,
                targets: RwLock::default(),
                endpoint,
                transport,
                retry: self.retry,
                budget: self.budget,
                rate_limits: self.rate_limits,
                signature_version: self.signature_version,
                method: self.method,
                user_agent: self.user_agent,
                timeout: self.timeout,
                deadlines: Deadlines::default(),
                observers: self.observers,
                clock: self.clock,
            }),
        })
    }
}

/// Where one product's calls go: the URL and the host it names.
struct Target {
    /// The URL without its trailing `/`.
    base: String,
    /// `base` + `/`, where POST calls go.
    root: String,
    /// `host[:port]`, as V3 signs it.
    host: String,
}

impl Target {
    fn new(endpoint: &Endpoint, product: &Product) -> Result<Self, Error> {
        let url = endpoint.url(product)?;
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let base = url.as_str().trim_end_matches('/').to_owned();
        Ok(Target { root: format!("{base}/"), base, host })
    }
}

/// What one attempt produced.
enum AttemptError {
    /// Retry may help, depending on class and idempotency.
    Failed(Error),
}

impl RpcClient {
    /// A client configured by the process environment: the region from
    /// `ALIBABA_CLOUD_REGION_ID` (an error saying so when it is not set), credentials from
    /// the [`DefaultChain`](crate::DefaultChain), the endpoint from `ACK_NET_ENDPOINT` when it
    /// is set. See [`RpcClientBuilder::with_env`] to adjust the rest.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), ack_net_core::Error> {
    /// let client = ack_net_core::RpcClient::from_env()?;
    /// println!("calling {:?} in {}", client.endpoint(), client.region());
    /// # Ok(()) }
    /// ```
    pub fn from_env() -> Result<RpcClient, Error> {
        Self::builder().with_env(&crate::Env::process()).build()
    }

    /// A builder.
    pub fn builder() -> RpcClientBuilder {
        RpcClientBuilder::default()
    }

    /// The client's region.
    pub fn region(&self) -> &RegionId {
        &self.inner.region
    }

    /// Where calls go.
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// The retry budget's remaining tokens (for observability).
    pub fn retry_budget_available(&self) -> u32 {
        self.inner.budget.available()
    }

    /// Calls an action and decodes the JSON answer into `T`.
    pub async fn call<T: DeserializeOwned>(&self, request: RpcRequest) -> Result<T, Error> {
        // A `Cow`: free to clone for a `&'static str` action, as most are.
        let action = request.action.clone();
        let (status, body) = self.call_raw(request).await?;
        serde_json::from_slice(&body).map_err(|e| Error::Decode {
            action: action.into_owned(),
            status,
            message: format!("{e}: {}", snippet(&body)),
        })
    }

    /// Calls an action and returns the raw JSON answer.
    pub async fn call_value(&self, request: RpcRequest) -> Result<serde_json::Value, Error> {
        self.call(request).await
    }

    /// Calls an action and returns the status and body of the successful answer.
    pub async fn call_raw(&self, mut request: RpcRequest) -> Result<(u16, Vec<u8>), Error> {
        let inner = &*self.inner;
        request.params.validate()?;
        check_rpc_method(request.method.unwrap_or(inner.method))?;
        if request.with_region && !request.params.contains("RegionId") {
            request.params.insert("RegionId", inner.region.as_str());
        }
        if let Idempotency::ClientToken(token) = &mut request.idempotency {
            let token = token.get_or_insert_with(|| uuid::Uuid::new_v4().to_string());
            if token.is_empty() || token.len() > MAX_CLIENT_TOKEN_LEN || !token.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(Error::invalid_input("ClientToken", "must be 1-64 printable ASCII characters"));
            }
            let token = token.clone();
            request.params.insert("ClientToken", token);
        }
        let span = tracing::debug_span!(
            "ack_net.call",
            product = %request.product,
            action = %request.action,
            attempt = tracing::field::Empty,
            request_id = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
            outcome = tracing::field::Empty,
        );
        // Without a subscriber that wants the span, skip entering it at every poll.
        if span.is_disabled() {
            return self.call_with_retries(&request).await;
        }
        self.call_with_retries(&request).instrument(span).await
    }

    async fn call_with_retries(&self, request: &RpcRequest) -> Result<(u16, Vec<u8>), Error> {
        let inner = &*self.inner;
        let target = self.target(&request.product)?;
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut nonce_retried = false;
        loop {
            attempt += 1;
            inner.rate_limits.acquire(&request.product, &request.action).await;
            let t0 = Instant::now();
            let result = self.attempt(request, &target).await;
            let latency = t0.elapsed();
            let span = tracing::Span::current();
            span.record("attempt", attempt);
            span.record("latency_ms", latency.as_millis() as u64);
            let err = match result {
                Ok((status, body, request_id)) => {
                    inner.budget.on_success();
                    span.record("outcome", "success");
                    if let Some(id) = &request_id {
                        span.record("request_id", id.as_str());
                    }
                    self.notify(request, attempt, CallOutcome::Success, latency, request_id.as_deref(), true);
                    tracing::debug!(attempt, latency_ms = latency.as_millis() as u64, "call succeeded");
                    return Ok((status, body));
                }
                Err(AttemptError::Failed(e)) => e,
            };
            let class = err.class();
            let may_retry = self.may_retry(request, &err, attempt, started, &mut nonce_retried);
            let backoff = inner.retry.backoff(attempt, class);
            let in_time = started.elapsed() + backoff < inner.retry.time_limit();
            let retry = may_retry && in_time && inner.budget.try_acquire(class);
            span.record("outcome", tracing::field::debug(class));
            if let Some(id) = err.request_id() {
                span.record("request_id", id);
            }
            self.notify(request, attempt, CallOutcome::Error(class), latency, err.request_id(), !retry);
            if !retry {
                tracing::debug!(attempt, error = %err, "call failed");
                return Err(err);
            }
            tracing::debug!(attempt, error = %err, backoff_ms = backoff.as_millis() as u64, "retrying");
            tokio::time::sleep(backoff).await;
        }
    }

    fn may_retry(
        &self,
        request: &RpcRequest,
        err: &Error,
        attempt: u32,
        _started: Instant,
        nonce_retried: &mut bool,
    ) -> bool {
        let class = err.class();
        if class == ErrorClass::NonceReused {
            // Re-sign with a new nonce, once, whatever the attempt count.
            let first = !*nonce_retried;
            *nonce_retried = true;
            return first;
        }
        if attempt >= self.inner.retry.max_attempts() || !class.is_retryable() {
            return false;
        }
        match request.idempotency {
            Idempotency::ReadOnly | Idempotency::ClientToken(_) => true,
            // Without a token, retry only what surely was not processed.
            Idempotency::Unsafe => {
                class == ErrorClass::Throttled
                    || matches!(err, Error::Transport { kind: TransportErrorKind::Connect, .. })
            }
        }
    }

    fn notify(
        &self,
        request: &RpcRequest,
        attempt: u32,
        outcome: CallOutcome,
        latency: Duration,
        request_id: Option<&str>,
        is_final: bool,
    ) {
        if self.inner.observers.is_empty() {
            return;
        }
        let event = CallEvent {
            product: request.product,
            action: &request.action,
            write: request.is_write(),
            attempt,
            outcome,
            latency,
            request_id,
            is_final,
        };
        for o in &self.inner.observers {
            o.on_attempt(&event);
        }
    }

    /// Where `product`'s calls go: resolved at its first call, then shared.
    fn target(&self, product: &Product) -> Result<Arc<Target>, Error> {
        let targets = &self.inner.targets;
        if let Some(target) = targets.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(product.code()) {
            return Ok(target.clone());
        }
        let target = Arc::new(Target::new(&self.inner.endpoint, product)?);
        let mut targets = targets.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(targets.entry(product.code()).or_insert(target).clone())
    }

    /// Builds the signed HTTP request for one attempt (new nonce and timestamp each time).
    fn build_http(&self, request: &RpcRequest, target: &Target, credentials: &Credentials) -> HttpRequest {
        let inner = &*self.inner;
        let method = request.method.unwrap_or(inner.method);
        let input = SigningInput {
            method,
            host: &target.host,
            action: &request.action,
            version: &request.version,
            params: &request.params,
        };
        // A version-4 UUID as the official SDKs send, from the thread's fast generator: a
        // nonce must be unique, not secret, and this spares a system call per attempt.
        let mut nonce = [0u8; 32];
        let nonce: &str = uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes())
            .into_uuid()
            .simple()
            .encode_lower(&mut nonce);
        let now = (inner.clock)();
        let base = target.base.as_str();
        let mut headers = vec![("User-Agent".to_owned(), inner.user_agent.clone())];
        match inner.signature_version {
            SignatureVersion::V1 => {
                // The signer appends straight to the URL or the body: no intermediate string.
                match method {
                    HttpMethod::Get => {
                        let mut url = format!("{base}/?").into_bytes();
                        sign::v1::sign_to(&input, credentials, now, nonce, &mut url);
                        let url = sign::ascii_string(url);
                        HttpRequest { method, url, headers, body: Vec::new() }
                    }
                    // `Put` never gets here: `call_raw` refuses it.
                    HttpMethod::Post | HttpMethod::Put => {
                        headers.push(("Content-Type".to_owned(), "application/x-www-form-urlencoded".to_owned()));
                        let mut body = Vec::new();
                        sign::v1::sign_to(&input, credentials, now, nonce, &mut body);
                        HttpRequest { method, url: target.root.clone(), headers, body }
                    }
                }
            }
            SignatureVersion::V3 => {
                let signed = sign::v3::sign(&input, credentials, now, nonce);
                headers.extend(signed.headers.into_iter().filter(|(n, _)| n != "host"));
                let query = signed.query;
                let url = if query.is_empty() { target.root.clone() } else { format!("{base}/?{query}") };
                HttpRequest { method, url, headers, body: Vec::new() }
            }
        }
    }

    async fn attempt(
        &self,
        request: &RpcRequest,
        target: &Target,
    ) -> Result<(u16, Vec<u8>, Option<String>), AttemptError> {
        let inner = &*self.inner;
        let credentials = match inner.credentials.credentials_now() {
            Some(c) => c,
            None => inner.credentials.credentials().await.map_err(AttemptError::Failed)?,
        };
        credentials.validate().map_err(AttemptError::Failed)?;
        let http = self.build_http(request, target, &credentials);
        let timeout = request.timeout.unwrap_or(inner.timeout);
        let action = &*request.action;
        let response = match inner.deadlines.run(timeout, inner.transport.send(http)).await.ok_or(()) {
            Err(()) => return Err(AttemptError::Failed(Error::Timeout { action: action.to_owned(), after: timeout })),
            Ok(Err(f)) => {
                return Err(AttemptError::Failed(Error::Transport {
                    action: action.to_owned(),
                    kind: f.kind,
                    message: f.message,
                }))
            }
            Ok(Ok(r)) => r,
        };
        interpret(action, response, credentials.access_key_id()).map_err(AttemptError::Failed)
    }
}

/// RPC calls are GET or POST.
fn check_rpc_method(method: HttpMethod) -> Result<(), Error> {
    match method {
        HttpMethod::Get | HttpMethod::Post => Ok(()),
        HttpMethod::Put => Err(Error::invalid_input("method", "an RPC call is sent with GET or POST, not PUT")),
    }
}

/// A response body for an error message: read as UTF-8 (an invalid sequence becomes U+FFFD),
/// then, when that is longer than 200 bytes, its first 200 bytes (fewer, to end on a character
/// boundary) followed by `...`.
fn snippet(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let mut end = s.len().min(200);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    if end < s.len() {
        format!("{}...", &s[..end])
    } else {
        s.into_owned()
    }
}

/// The fields of an answer that say whether it is an error; serde skips everything else
/// without building it, so a success costs one light scan before the caller's typed decode.
#[derive(serde::Deserialize)]
struct Probe {
    #[serde(rename = "Code", default, deserialize_with = "crate::de::string")]
    code: String,
    #[serde(rename = "Message", default)]
    message: Option<serde_json::Value>,
    #[serde(rename = "RequestId", default, deserialize_with = "crate::de::string")]
    request_id: String,
    #[serde(rename = "HostId", default, deserialize_with = "crate::de::string")]
    host_id: String,
    #[serde(rename = "Recommend", default, deserialize_with = "crate::de::string")]
    recommend: String,
}

/// Turns a response into success (status, body, request id) or a typed error.
fn interpret(
    action: &str,
    response: HttpResponse,
    access_key_id: &str,
) -> Result<(u16, Vec<u8>, Option<String>), Error> {
    let status = response.status;
    let probe: Option<Probe> = serde_json::from_slice(&response.body).ok();
    let api_error = |p: Probe| ApiError {
        message: redact_access_key_id(
            &match p.message {
                Some(serde_json::Value::String(s)) => s,
                Some(other) => other.to_string(),
                None => String::new(),
            },
            access_key_id,
        ),
        code: p.code,
        request_id: p.request_id,
        host_id: p.host_id,
        recommend: p.recommend,
        status,
    };
    if (200..300).contains(&status) {
        let Some(probe) = probe else {
            return Err(Error::Decode {
                action: action.to_owned(),
                status,
                message: format!("not a JSON object: {}", snippet(&response.body)),
            });
        };
        // A 200 that carries an error body (some gateways do this).
        if !probe.code.is_empty() && probe.message.is_some() && !matches!(probe.code.as_str(), "Success" | "200" | "OK")
        {
            return Err(Error::Api { action: action.to_owned(), error: Box::new(api_error(probe)) });
        }
        let request_id = Some(probe.request_id).filter(|r| !r.is_empty());
        return Ok((status, response.body, request_id));
    }
    let error = match probe {
        Some(p) if !p.code.is_empty() => api_error(p),
        _ => ApiError {
            code: String::new(),
            message: redact_access_key_id(&snippet(&response.body), access_key_id),
            status,
            ..ApiError::default()
        },
    };
    Err(Error::Api { action: action.to_owned(), error: Box::new(error) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snippet_is_the_body_or_its_first_200_bytes_on_a_character_boundary() {
        assert_eq!(snippet(b"short"), "short");
        assert_eq!(snippet(&[b'a'; 200]), "a".repeat(200));
        assert_eq!(snippet(&[b'a'; 201]), format!("{}...", "a".repeat(200)));
        // 199 bytes, then a 3-byte character across byte 200: cut before it.
        let mut body = vec![b'a'; 199];
        body.extend("\u{4e2d}\u{6587}".as_bytes());
        assert_eq!(snippet(&body), format!("{}...", "a".repeat(199)));
        assert_eq!(snippet(b"bad \xff byte"), "bad \u{fffd} byte");
    }

    #[test]
    fn interpret_success_and_errors() {
        let ok = HttpResponse { status: 200, body: br#"{"RequestId":"r1","Vpcs":{}}"#.to_vec() };
        let (_, _, id) = interpret("A", ok, "ak").unwrap();
        assert_eq!(id.as_deref(), Some("r1"));

        let err = HttpResponse {
            status: 400,
            body: br#"{"RequestId":"r2","HostId":"h","Code":"Throttling.User","Message":"slow down","Recommend":"x"}"#
                .to_vec(),
        };
        let e = interpret("A", err, "ak").unwrap_err();
        assert_eq!(e.class(), ErrorClass::Throttled);
        assert_eq!(e.request_id(), Some("r2"));

        let html = HttpResponse { status: 502, body: b"<html>bad gateway</html>".to_vec() };
        assert_eq!(interpret("A", html, "ak").unwrap_err().class(), ErrorClass::Retryable);

        let truncated = HttpResponse { status: 200, body: br#"{"RequestId":"r3","Vp"#.to_vec() };
        assert_eq!(interpret("A", truncated, "ak").unwrap_err().class(), ErrorClass::Decode);

        let error_in_200 = HttpResponse {
            status: 200,
            body: br#"{"RequestId":"r4","Code":"InternalError","Message":"oops"}"#.to_vec(),
        };
        assert_eq!(interpret("A", error_in_200, "ak").unwrap_err().class(), ErrorClass::Retryable);

        let sig = HttpResponse {
            status: 400,
            body: br#"{"Code":"SignatureDoesNotMatch","Message":"server string to sign is:POST&%2F&AccessKeyId%3DLTAIsecretid%26Action"}"#.to_vec(),
        };
        let e = interpret("A", sig, "LTAIsecretid").unwrap_err();
        assert!(!e.to_string().contains("LTAIsecretid"), "{e}");
    }

    #[test]
    fn builder_rejects_bad_input() {
        let c = Credentials::new("id", "secret");
        assert!(RpcClient::builder().credentials(c.clone()).region("Hangzhou").build().is_err());
        assert!(RpcClient::builder()
            .region("cn-hangzhou")
            .credentials(c.clone())
            .endpoint("not a url")
            .build()
            .is_err());
        assert!(RpcClient::builder().region("cn-hangzhou").build().is_err());
        assert!(RpcClient::builder()
            .credentials(c.clone())
            .region("cn-hangzhou")
            .endpoint("http://127.0.0.1:1")
            .build()
            .is_ok());
        let no_region = RpcClient::builder().credentials(c).endpoint("http://127.0.0.1:1").build().unwrap_err();
        assert!(no_region.to_string().contains("ALIBABA_CLOUD_REGION_ID"), "says how to set one: {no_region}");
    }
}
