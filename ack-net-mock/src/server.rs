//! The HTTP/1.1 server (hyper, keep-alive) and the admin API under `/__mock/`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming as HyperBody;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::auth::Incoming;
use crate::dispatch::{Core, Outcome};
use crate::error::MockError;

/// The largest request body accepted.
const MAX_BODY: usize = 4 << 20;

/// Returned by the service to make hyper close the connection without an answer.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

/// Accepts connections until `shutdown` turns true, then lets open requests finish (up to
/// two seconds) and closes everything.
pub(crate) async fn serve(listener: TcpListener, core: Arc<Core>, mut shutdown: watch::Receiver<bool>) {
    let mut conns: JoinSet<()> = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((s, _)) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let core = core.clone();
                let mut stop = shutdown.clone();
                conns.spawn(async move {
                    let svc = service_fn(move |req| handle(core.clone(), req));
                    let conn = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), svc);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = async { let _ = stop.wait_for(|s| *s).await; } => {
                            conn.as_mut().graceful_shutdown();
                            let _ = tokio::time::timeout(Duration::from_secs(2), conn).await;
                        }
                    }
                });
            }
            _ = async { let _ = shutdown.wait_for(|s| *s).await; } => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(3), async { while conns.join_next().await.is_some() {} }).await;
    conns.abort_all();
}

fn json_response(status: u16, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut()
        .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json;charset=utf-8"));
    r
}

fn value_response(status: u16, v: &Value) -> Response<Full<Bytes>> {
    json_response(status, serde_json::to_vec(v).unwrap_or_default())
}

async fn handle(core: Arc<Core>, req: Request<HyperBody>) -> Result<Response<Full<Bytes>>, DropConnection> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            let e = MockError::bad_request("InvalidParameter", "The request body is too large or was cut off.");
            return Ok(value_response(400, &e.body(&core.next_request_id(), "127.0.0.1")));
        }
    };
    let path = parts.uri.path();
    if let Some(rest) = path.strip_prefix("/__mock") {
        return Ok(admin(&core, parts.method.as_str(), rest, parts.uri.query().unwrap_or(""), &body));
    }
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str().to_owned(), v.to_owned())))
        .collect();
    let incoming = Incoming {
        method: parts.method.as_str(),
        query: parts.uri.query().unwrap_or(""),
        headers: &headers,
        body: &body,
    };
    match core.process(&incoming).await {
        Outcome::Respond { status, body } => Ok(json_response(status, body)),
        Outcome::Drop => Err(DropConnection),
    }
}

fn admin_error(status: u16, code: &str, message: impl Into<String>) -> Response<Full<Bytes>> {
    value_response(status, &json!({ "Code": code, "Message": message.into() }))
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Box<Response<Full<Bytes>>>> {
    serde_json::from_slice(body).map_err(|e| Box::new(admin_error(400, "InvalidJson", e.to_string())))
}

fn result_response(r: Result<Value, MockError>) -> Response<Full<Bytes>> {
    match r {
        Ok(v) => value_response(200, &v),
        Err(e) => admin_error(e.status, &e.code, e.message),
    }
}

/// The admin API: `GET /__mock/state`, `GET|DELETE /__mock/calls`, `GET /__mock/counters`,
/// `POST /__mock/instances|vpcs|vswitches|preload`, `GET|PUT|DELETE /__mock/faults`,
/// `GET /__mock/health`.
fn admin(core: &Core, method: &str, path: &str, query: &str, body: &[u8]) -> Response<Full<Bytes>> {
    let path = path.trim_end_matches('/');
    match (method, path) {
        ("GET", "/health") => value_response(200, &json!({ "ok": true })),
        ("GET", "/state") => value_response(200, &crate::cloud::dump_core(core)),
        ("GET", "/calls") => {
            let action =
                ack_net_core::sign::decode_form(query).into_iter().find(|(k, _)| k == "action").map(|(_, v)| v);
            let calls: Vec<_> =
                core.calls().records().into_iter().filter(|c| action.as_ref().is_none_or(|a| &c.action == a)).collect();
            value_response(200, &serde_json::to_value(calls).unwrap_or_default())
        }
        ("DELETE", "/calls") => {
            core.calls().clear();
            value_response(200, &json!({}))
        }
        ("GET", "/counters") => value_response(200, &serde_json::to_value(core.calls().counters()).unwrap_or_default()),
        ("POST", "/instances") => match parse_body::<crate::ecs::InstanceSeed>(body) {
            Ok(seed) => result_response(crate::ecs::create_instance(&mut core.world().state, seed)),
            Err(r) => *r,
        },
        ("POST", "/vpcs") => match parse_body::<crate::vpc::NewVpc>(body) {
            Ok(spec) => {
                let now = tokio::time::Instant::now();
                result_response(
                    crate::vpc::create_vpc(&mut core.world().state, now, spec).map(|id| json!({ "VpcId": id })),
                )
            }
            Err(r) => *r,
        },
        ("POST", "/vswitches") => match parse_body::<crate::vpc::NewVSwitch>(body) {
            Ok(spec) => {
                let now = tokio::time::Instant::now();
                result_response(
                    crate::vpc::create_vswitch(&mut core.world().state, now, spec).map(|id| json!({ "VSwitchId": id })),
                )
            }
            Err(r) => *r,
        },
        ("POST", "/preload") => match parse_body::<crate::cloud::Preload>(body) {
            Ok(p) => result_response(p.apply(&mut core.world().state)),
            Err(r) => *r,
        },
        ("GET", "/faults") => value_response(200, &serde_json::to_value(core.faults().rules()).unwrap_or_default()),
        ("PUT", "/faults") => match parse_body::<std::collections::BTreeMap<String, crate::faults::FaultSpec>>(body) {
            Ok(rules) => {
                let mut f = core.faults();
                f.clear();
                for (target, spec) in rules {
                    if let Err(e) = f.set(&target, spec) {
                        return admin_error(400, "InvalidFault", e);
                    }
                }
                value_response(200, &serde_json::to_value(f.rules()).unwrap_or_default())
            }
            Err(r) => *r,
        },
        ("DELETE", "/faults") => {
            core.faults().clear();
            value_response(200, &json!({}))
        }
        _ => admin_error(404, "NotFound", format!("no admin route {method} /__mock{path}")),
    }
}
