//! Helpers shared by the integration tests.
#![allow(dead_code)]

use ack_net_core::{Credentials, ErrorInfo, HttpMethod, RpcClient, RpcRequest, SignatureVersion};

use ack_net_mock::MockCloud;
use ack_net_vpc::VPC;
use serde_json::Value;

/// A client for `mock` with no retries and no rate limits, signing as `sig` over `method`.
pub fn client_with(mock: &MockCloud, sig: SignatureVersion, method: HttpMethod) -> RpcClient {
    mock.client_builder().signature_version(sig).method(method).build().expect("client")
}

/// A V1 POST client without retries.
pub fn client(mock: &MockCloud) -> RpcClient {
    client_with(mock, SignatureVersion::V1, HttpMethod::Post)
}

/// Creates a VPC through the API; returns its id.
pub async fn create_vpc(c: &RpcClient, cidr: &str) -> String {
    let v: Value =
        c.call(RpcRequest::idempotent_write(VPC, "CreateVpc").param("CidrBlock", cidr)).await.expect("CreateVpc");
    v["VpcId"].as_str().expect("VpcId").to_owned()
}

/// Creates a VSwitch through the API; returns its id.
pub async fn create_vswitch(c: &RpcClient, vpc: &str, zone: &str, cidr: &str) -> String {
    let v: Value = c
        .call(
            RpcRequest::idempotent_write(VPC, "CreateVSwitch")
                .param("VpcId", vpc)
                .param("ZoneId", zone)
                .param("CidrBlock", cidr),
        )
        .await
        .expect("CreateVSwitch");
    v["VSwitchId"].as_str().expect("VSwitchId").to_owned()
}

/// The API error code of a failed call.
pub fn code<T: std::fmt::Debug>(r: Result<T, ack_net_core::Error>) -> String {
    r.expect_err("expected an API error").code().unwrap_or("<no code>").to_owned()
}

/// Sends raw HTTP/1.1 bytes and reads the answer (status and JSON body); `None` when the
/// connection closed without an answer.
pub async fn raw_http(addr: std::net::SocketAddr, request: &[u8]) -> Option<(u16, Value)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(request).await.expect("write");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    if buf.is_empty() {
        return None;
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status: u16 = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n")?.1;
    Some((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

/// A GET of `/?query` with `Connection: close`.
pub async fn raw_get(addr: std::net::SocketAddr, query: &str) -> Option<(u16, Value)> {
    let req = format!("GET /?{query} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    raw_http(addr, req.as_bytes()).await
}

/// A POST of a form body (and an optional query) with `Connection: close`.
pub async fn raw_post(addr: std::net::SocketAddr, query: &str, body: &str) -> Option<(u16, Value)> {
    let path = if query.is_empty() { "/".to_owned() } else { format!("/?{query}") };
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    raw_http(addr, req.as_bytes()).await
}

/// V1-signs `params` for `action`/`version` at `time` with `nonce`; returns the pairs
/// (Signature last), unencoded.
pub fn sign_v1(
    method: ack_net_core::HttpMethod,
    action: &str,
    version: &str,
    params: &[(&str, &str)],
    secret: &str,
    time: chrono::DateTime<chrono::Utc>,
    nonce: &str,
) -> Vec<(String, String)> {
    let mut p = ack_net_core::Params::new();
    for (k, v) in params {
        p = p.with(*k, *v);
    }
    let input = ack_net_core::sign::SigningInput { method, host: "127.0.0.1", action, version, params: &p };
    let signed = ack_net_core::sign::v1::sign(&input, &Credentials::new("testid", secret), time, nonce);
    ack_net_core::sign::decode_form(&signed.encoded)
}

/// Encodes pairs for the wire; `plus_spaces` writes spaces as `+` like HTML forms do.
pub fn encode(pairs: &[(String, String)], plus_spaces: bool) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let v = ack_net_core::sign::percent_encode(v);
            let v = if plus_spaces { v.replace("%20", "+") } else { v };
            format!("{}={v}", ack_net_core::sign::percent_encode(k))
        })
        .collect::<Vec<_>>()
        .join("&")
}
