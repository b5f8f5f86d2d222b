//! The seam under the client: anything that can send one HTTP request.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

use crate::error::TransportErrorKind;
use crate::sign::HttpMethod;

/// A signed HTTP request, ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// GET or POST.
    pub method: HttpMethod,
    /// The full URL, query string included.
    pub url: String,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
    /// The body (form-encoded parameters for V1 POST), empty otherwise.
    pub body: Vec<u8>,
}

/// What came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

/// A failure below HTTP: no status came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportFailure {
    /// How it failed.
    pub kind: TransportErrorKind,
    /// Details (never a secret: the transport sees only signed requests).
    pub message: String,
}

/// Sends one HTTP request. The client wraps every call in its own timeout, so an
/// implementation does not need one.
#[async_trait]
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends `request` and returns the status and body.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure>;
}

/// The default transport: one `reqwest` client with connection reuse (rustls by default).
#[derive(Clone, Debug)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// A transport with the given connect timeout and idle pool size per host, through the
    /// proxy the environment names (`HTTPS_PROXY`...), if any.
    pub fn new(connect_timeout: Duration, pool_max_idle_per_host: usize) -> Result<Self, crate::Error> {
        Self::build(reqwest::Client::builder(), connect_timeout, pool_max_idle_per_host)
    }

    /// A transport that never goes through a proxy (the link-local ECS metadata service).
    pub fn without_proxy(connect_timeout: Duration, pool_max_idle_per_host: usize) -> Result<Self, crate::Error> {
        Self::build(reqwest::Client::builder().no_proxy(), connect_timeout, pool_max_idle_per_host)
    }

    fn build(
        builder: reqwest::ClientBuilder,
        connect_timeout: Duration,
        pool_max_idle_per_host: usize,
    ) -> Result<Self, crate::Error> {
        let client = builder
            .connect_timeout(connect_timeout)
            .pool_max_idle_per_host(pool_max_idle_per_host)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| crate::Error::invalid_input("transport", format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { client })
    }
}

/// A reqwest error with its causes (its own `Display` is terse), without the URL.
fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut out = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportFailure> {
        let method = match request.method {
            HttpMethod::Get => reqwest::Method::GET,
            HttpMethod::Post => reqwest::Method::POST,
            HttpMethod::Put => reqwest::Method::PUT,
        };
        let mut builder = self.client.request(method, &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if !request.body.is_empty() {
            builder = builder.body(request.body);
        }
        let classify = |e: reqwest::Error| TransportFailure {
            kind: if e.is_connect() {
                TransportErrorKind::Connect
            } else if e.is_builder() {
                TransportErrorKind::Other
            } else {
                TransportErrorKind::Io
            },
            message: describe(e),
        };
        let response = builder.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(classify)?;
        // Takes the buffer over when reqwest hands it whole, copies it otherwise.
        Ok(HttpResponse { status, body: Vec::from(body) })
    }
}
