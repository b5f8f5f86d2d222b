//! Shared setup of the reconciler tests: ack-net-mock for SLB and ECS, and a fake
//! Kubernetes API behind kube's `Client` (a tower-test mock service answered by a task)
//! that keeps Services, Nodes, EndpointSlices, Pods and Leases, applies merge patches and
//! replacements with the resourceVersion precondition, refuses to create what exists,
//! serves lists and watches (with a `spec.nodeName` field selector), echoes Events, and
//! records every request so that tests can assert them.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ack_net_core::{CallStats, Credentials, RateLimits, RetryPolicy, RpcClient};
use ack_net_eni::pool::{IpPool, PoolConfig, PoolOwner, PoolStore};
use ack_net_eni::{EcsClient, InstanceId, SecurityGroupId, VSwitchId, WaitPolicy};
use ack_net_mock::vpc::{NewVSwitch, NewVpc};
use ack_net_mock::{InstanceSeed, MockCloud};
use ack_net_slb::SlbClient;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use serde_json::{json, Value};
use tokio::sync::broadcast;

pub type RespBody = UnsyncBoxBody<Bytes, Infallible>;

/// One request the fake API received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub body: Value,
}

impl Recorded {
    /// `PATCH services/web/status`-like summary: method and path after the namespace.
    pub fn short(&self) -> String {
        let path = self.path.split("/namespaces/").nth(1).map(|p| p.split_once('/').map_or(p, |(_, rest)| rest));
        format!("{} {}", self.method, path.unwrap_or(&self.path))
    }
}

/// The kinds the fake serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Service,
    Node,
    EndpointSlice,
    Event,
    Pod,
    Lease,
}

impl Kind {
    fn list_kind(self) -> &'static str {
        match self {
            Kind::Service => "ServiceList",
            Kind::Node => "NodeList",
            Kind::EndpointSlice => "EndpointSliceList",
            Kind::Event => "EventList",
            Kind::Pod => "PodList",
            Kind::Lease => "LeaseList",
        }
    }

    fn api_version(self) -> &'static str {
        match self {
            Kind::Service | Kind::Node | Kind::Pod => "v1",
            Kind::EndpointSlice => "discovery.k8s.io/v1",
            Kind::Event => "events.k8s.io/v1",
            Kind::Lease => "coordination.k8s.io/v1",
        }
    }
}

#[derive(Default)]
struct State {
    rv: u64,
    objects: BTreeMap<(Kind, String, String), Value>,
    history: Vec<(u64, Kind, &'static str, Value)>,
    requests: Vec<Recorded>,
}

/// The fake Kubernetes API.
#[derive(Clone)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
    live: broadcast::Sender<(u64, Kind, &'static str, Value)>,
}

fn key_of(obj: &Value) -> (String, String) {
    let m = &obj["metadata"];
    (m["namespace"].as_str().unwrap_or_default().to_owned(), m["name"].as_str().unwrap_or_default().to_owned())
}

/// RFC 7386 JSON merge patch.
pub fn merge(target: &mut Value, patch: &Value) {
    match (target.is_object(), patch) {
        (true, Value::Object(p)) => {
            let t = target.as_object_mut().expect("object");
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (false, Value::Object(_)) => {
            *target = json!({});
            merge(target, patch);
        }
        _ => *target = patch.clone(),
    }
}

fn response(status: StatusCode, body: &Value) -> Response<RespBody> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed_unsync())
        .expect("response")
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response<RespBody> {
    response(
        code,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "message": message, "code": code.as_u16()}),
    )
}

impl FakeApi {
    pub fn new() -> Self {
        Self { state: Arc::default(), live: broadcast::channel(1024).0 }
    }

    /// A kube client whose requests this fake answers.
    pub fn client(&self) -> kube::Client {
        let (service, mut handle) = tower_test::mock::pair::<Request<kube::client::Body>, Response<RespBody>>();
        let api = self.clone();
        tokio::spawn(async move {
            while let Some((req, send)) = handle.next_request().await {
                let api = api.clone();
                tokio::spawn(async move { send.send_response(api.answer(req).await) });
            }
        });
        kube::Client::new(service, "default")
    }

    fn write(&self, kind: Kind, event: &'static str, mut obj: Value) -> Value {
        let mut s = self.state.lock().expect("state");
        s.rv += 1;
        let rv = s.rv;
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let (ns, name) = key_of(&obj);
        if event == "DELETED" {
            s.objects.remove(&(kind, ns, name));
        } else {
            s.objects.insert((kind, ns, name), obj.clone());
        }
        s.history.push((rv, kind, event, obj.clone()));
        let _ = self.live.send((rv, kind, event, obj.clone()));
        obj
    }

    /// Creates or replaces an object (as a user would).
    pub fn put(&self, kind: Kind, mut obj: Value) -> Value {
        let (ns, name) = key_of(&obj);
        let exists = self.state.lock().expect("state").objects.contains_key(&(kind, ns, name.clone()));
        if obj["metadata"]["uid"].is_null() {
            obj["metadata"]["uid"] = json!(format!("uid-{name}"));
        }
        self.write(kind, if exists { "MODIFIED" } else { "ADDED" }, obj)
    }

    /// Deletes an object: with finalizers it only gets a deletionTimestamp.
    pub fn delete(&self, kind: Kind, ns: &str, name: &str) {
        let Some(mut obj) = self.get(kind, ns, name) else { return };
        if obj["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty()) {
            obj["metadata"]["deletionTimestamp"] = json!("2025-01-01T00:00:00Z");
            self.write(kind, "MODIFIED", obj);
        } else {
            self.write(kind, "DELETED", obj);
        }
    }

    pub fn get(&self, kind: Kind, ns: &str, name: &str) -> Option<Value> {
        self.state.lock().expect("state").objects.get(&(kind, ns.to_owned(), name.to_owned())).cloned()
    }

    /// The Service as the API holds it now.
    pub fn service(&self, ns: &str, name: &str) -> Option<k8s_openapi::api::core::v1::Service> {
        self.get(Kind::Service, ns, name).map(|v| serde_json::from_value(v).expect("service"))
    }

    /// The requests so far, and forgets them.
    pub fn take_requests(&self) -> Vec<Recorded> {
        std::mem::take(&mut self.state.lock().expect("state").requests)
    }

    /// The objects of one kind.
    pub fn objects(&self, kind: Kind) -> Vec<Value> {
        let s = self.state.lock().expect("state");
        s.objects.iter().filter(|((k, _, _), _)| *k == kind).map(|(_, v)| v.clone()).collect()
    }

    async fn answer(&self, req: Request<kube::client::Body>) -> Response<RespBody> {
        let (parts, body) = req.into_parts();
        let bytes = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let path = parts.uri.path().to_owned();
        let query = parts.uri.query().unwrap_or_default().to_owned();
        let watching = query.split('&').any(|q| q == "watch=true");
        // Watches and lists are the controller's business; tests assert the writes.
        if parts.method != Method::GET {
            self.state.lock().expect("state").requests.push(Recorded {
                method: parts.method.clone(),
                path: path.clone(),
                query: query.clone(),
                body: body.clone(),
            });
        }
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        // /api/v1/... or /apis/<group>/<version>/...
        let rest: &[&str] = match segs.as_slice() {
            ["api", "v1", rest @ ..] => rest,
            ["apis", _, _, rest @ ..] => rest,
            _ => return status(StatusCode::NOT_FOUND, "NotFound", &path),
        };
        let (ns, rest) = match rest {
            ["namespaces", ns, rest @ ..] => (Some(*ns), rest),
            rest => (None, rest),
        };
        let kind = match rest.first() {
            Some(&"services") => Kind::Service,
            Some(&"nodes") => Kind::Node,
            Some(&"endpointslices") => Kind::EndpointSlice,
            Some(&"events") => Kind::Event,
            Some(&"pods") => Kind::Pod,
            Some(&"leases") => Kind::Lease,
            _ => return status(StatusCode::NOT_FOUND, "NotFound", &path),
        };
        match (&parts.method, rest) {
            (&Method::GET, [_]) if watching => self.watch(kind, ns, &query),
            (&Method::GET, [_]) => self.list(kind, ns, &query),
            (&Method::POST, [_]) => {
                let mut obj = body;
                obj["metadata"]["namespace"] = json!(ns.unwrap_or_default());
                if obj["metadata"]["name"].is_null() {
                    let n = self.state.lock().expect("state").rv;
                    let prefix = obj["metadata"]["generateName"].as_str().unwrap_or("obj-").to_owned();
                    obj["metadata"]["name"] = json!(format!("{prefix}{n}"));
                }
                let (ns, name) = key_of(&obj);
                if self.get(kind, &ns, &name).is_some() {
                    return status(StatusCode::CONFLICT, "AlreadyExists", &name);
                }
                response(StatusCode::CREATED, &self.write(kind, "ADDED", obj))
            }
            (&Method::PUT, [_, name]) => self.replace(kind, ns.unwrap_or_default(), name, body),
            (&Method::PATCH, [_, name]) => self.patch(kind, ns.unwrap_or_default(), name, &body, false),
            (&Method::PATCH, [_, name, "status"]) => self.patch(kind, ns.unwrap_or_default(), name, &body, true),
            (&Method::GET, [_, name]) => match self.get(kind, ns.unwrap_or_default(), name) {
                Some(o) => response(StatusCode::OK, &o),
                None => status(StatusCode::NOT_FOUND, "NotFound", name),
            },
            _ => status(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", &path),
        }
    }

    fn patch(&self, kind: Kind, ns: &str, name: &str, patch: &Value, status_only: bool) -> Response<RespBody> {
        let Some(mut obj) = self.get(kind, ns, name) else {
            return status(StatusCode::NOT_FOUND, "NotFound", name);
        };
        if let Some(rv) = patch["metadata"]["resourceVersion"].as_str() {
            if Some(rv) != obj["metadata"]["resourceVersion"].as_str() {
                return status(StatusCode::CONFLICT, "Conflict", "the object has been modified");
            }
        }
        let mut p = patch.clone();
        if let Some(m) = p.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("resourceVersion");
        }
        if status_only {
            merge(&mut obj["status"], &p["status"]);
        } else {
            if let Some(m) = p.as_object_mut() {
                m.remove("status");
            }
            merge(&mut obj, &p);
        }
        let deleting = !obj["metadata"]["deletionTimestamp"].is_null();
        let finalized = obj["metadata"]["finalizers"].as_array().is_none_or(|f| f.is_empty());
        let event = if deleting && finalized { "DELETED" } else { "MODIFIED" };
        response(StatusCode::OK, &self.write(kind, event, obj))
    }

    /// Replaces an object (PUT), with its resourceVersion as the precondition.
    fn replace(&self, kind: Kind, ns: &str, name: &str, mut obj: Value) -> Response<RespBody> {
        let Some(old) = self.get(kind, ns, name) else {
            return status(StatusCode::NOT_FOUND, "NotFound", name);
        };
        if obj["metadata"]["resourceVersion"] != old["metadata"]["resourceVersion"] {
            return status(StatusCode::CONFLICT, "Conflict", "the object has been modified");
        }
        obj["metadata"]["namespace"] = json!(ns);
        obj["metadata"]["uid"] = old["metadata"]["uid"].clone();
        response(StatusCode::OK, &self.write(kind, "MODIFIED", obj))
    }

    fn list(&self, kind: Kind, ns: Option<&str>, query: &str) -> Response<RespBody> {
        let node = node_selector(query);
        let s = self.state.lock().expect("state");
        let items: Vec<Value> = s
            .objects
            .iter()
            .filter(|((k, n, _), v)| *k == kind && ns.is_none_or(|ns| ns == n) && on_node(v, node.as_deref()))
            .map(|(_, v)| v.clone())
            .collect();
        response(
            StatusCode::OK,
            &json!({"kind": kind.list_kind(), "apiVersion": kind.api_version(), "metadata": {"resourceVersion": s.rv.to_string()}, "items": items}),
        )
    }

    fn watch(&self, kind: Kind, ns: Option<&str>, query: &str) -> Response<RespBody> {
        let since: u64 =
            query.split('&').find_map(|q| q.strip_prefix("resourceVersion=")).and_then(|v| v.parse().ok()).unwrap_or(0);
        let ns = ns.map(str::to_owned);
        let node = node_selector(query);
        let matches = move |k: Kind, obj: &Value| {
            k == kind && ns.as_deref().is_none_or(|ns| key_of(obj).0 == ns) && on_node(obj, node.as_deref())
        };
        let (replay, rx) = {
            let s = self.state.lock().expect("state");
            let replay: Vec<Value> = s
                .history
                .iter()
                .filter(|(rv, k, _, o)| *rv > since && matches(*k, o))
                .map(|(_, _, t, o)| json!({"type": t, "object": o}))
                .collect();
            (replay, self.live.subscribe())
        };
        let frames = futures_util::stream::iter(replay).chain(futures_util::stream::unfold(rx, move |mut rx| {
            let matches = matches.clone();
            async move {
                loop {
                    match rx.recv().await {
                        Ok((_, k, t, o)) if matches(k, &o) => return Some((json!({"type": t, "object": o}), rx)),
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        }));
        use futures_util::StreamExt;
        let body = StreamBody::new(frames.map(|v| Ok::<_, Infallible>(Frame::data(Bytes::from(format!("{v}\n"))))));
        Response::builder()
            .status(StatusCode::OK)
            .header("content-type", "application/json")
            .body(body.boxed_unsync())
            .expect("response")
    }
}

/// The node of a `fieldSelector=spec.nodeName=NODE` query (the one field selector served).
fn node_selector(query: &str) -> Option<String> {
    let selector = query.split('&').find_map(|q| q.strip_prefix("fieldSelector="))?;
    let decoded = selector.replace("%3D", "=").replace("%3d", "=");
    decoded.strip_prefix("spec.nodeName=").map(str::to_owned)
}

fn on_node(obj: &Value, node: Option<&str>) -> bool {
    node.is_none_or(|n| obj["spec"]["nodeName"].as_str() == Some(n))
}

/// The mock cloud with a VSwitch and ECS instances (node backends; their primary ENI
/// addresses serve as pod addresses in ENI mode), and clients for it.
pub struct Cloud {
    pub mock: MockCloud,
    pub slb: SlbClient,
    pub ecs: EcsClient,
    pub stats: CallStats,
    pub instances: Vec<String>,
    /// (ENI id, address) of each instance's primary ENI.
    pub enis: Vec<(String, std::net::IpAddr)>,
}

/// A client of `mock` (no rate limit, no retry) and the count of its calls.
pub fn client_for(mock: &MockCloud) -> (RpcClient, CallStats) {
    let stats = CallStats::new();
    let rpc = RpcClient::builder()
        .region("cn-hangzhou")
        .credentials(Credentials::new("testid", "testsecret"))
        .endpoint(&mock.url())
        .rate_limits(RateLimits::unlimited())
        .retry_policy(RetryPolicy::no_retry())
        .observer(stats.clone())
        .build()
        .expect("client");
    (rpc, stats)
}

pub async fn cloud(instances: usize) -> Cloud {
    let mock = MockCloud::builder().seed(5).start().await.expect("mock");
    let (rpc, stats) = client_for(&mock);
    let vpc = mock
        .create_vpc(NewVpc {
            region_id: "cn-hangzhou".into(),
            cidr_block: Some("10.0.0.0/8".into()),
            ..Default::default()
        })
        .expect("vpc");
    let vsw = mock
        .create_vswitch(NewVSwitch {
            vpc_id: vpc,
            zone_id: "cn-hangzhou-h".into(),
            cidr_block: "10.1.0.0/16".into(),
            ..Default::default()
        })
        .expect("vswitch");
    let mut ids = Vec::new();
    let mut enis = Vec::new();
    for _ in 0..instances {
        let v = mock
            .create_instance(InstanceSeed {
                region_id: "cn-hangzhou".into(),
                zone_id: "cn-hangzhou-h".into(),
                instance_type: "ecs.g7.large".into(),
                vswitch_id: vsw.clone(),
                security_group_ids: vec![],
                instance_id: None,
            })
            .expect("instance");
        ids.push(v["InstanceId"].as_str().expect("id").to_owned());
        enis.push((
            v["NetworkInterfaceId"].as_str().expect("eni").to_owned(),
            v["PrivateIpAddress"].as_str().expect("ip").parse().expect("ip"),
        ));
    }
    stats.reset();
    Cloud { mock, slb: SlbClient::new(rpc.clone()), ecs: EcsClient::new(rpc), stats, instances: ids, enis }
}

/// A Ready node named `name` on ECS instance `instance`.
pub fn node(name: &str, instance: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {"providerID": format!("cn-hangzhou.{instance}")},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]}
    })
}

/// A `type: LoadBalancer` Service `shop/web` with these ports and annotations.
pub fn service(annotations: Value, ports: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"namespace": "shop", "name": "web", "annotations": annotations},
        "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": ports}
    })
}

/// An EndpointSlice of `shop/web` with (address, node, ready, terminating) endpoints on
/// target port `port` (named `http`).
pub fn slice(name: &str, port: u16, endpoints: &[(std::net::IpAddr, &str, bool, bool)]) -> Value {
    let eps: Vec<Value> = endpoints
        .iter()
        .map(|(ip, node, ready, terminating)| {
            json!({"addresses": [ip.to_string()], "nodeName": node,
                   "conditions": {"ready": ready, "serving": *ready || *terminating, "terminating": terminating}})
        })
        .collect();
    json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"namespace": "shop", "name": name, "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
        "endpoints": eps
    })
}

/// Waits until `f` holds, polling every 20 ms, for at most `secs` seconds.
pub async fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}

/// A backend as (server id, address, port, weight).
pub type BackendView = (String, String, u16, u8);
/// A listener as (port, protocol, backends of its VServer group, sorted).
pub type ListenerView = (u16, String, Vec<BackendView>);

/// One load balancer of the mock as the tests look at it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LbView {
    pub id: String,
    pub address: String,
    pub tags: Vec<(String, String)>,
    /// (port, protocol, backends of its VServer group as (server id, address, port, weight), sorted).
    pub listeners: Vec<ListenerView>,
}

impl Cloud {
    /// Every load balancer, with its listeners and their backends.
    pub fn load_balancers(&self) -> Vec<LbView> {
        let dump = self.mock.with_state(|s| s.slb.dump());
        let groups: BTreeMap<String, Value> = dump["VServerGroups"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|g| (g["id"].as_str().unwrap_or_default().to_owned(), g))
            .collect();
        dump["LoadBalancers"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|lb| {
                let mut listeners: Vec<ListenerView> = lb["listeners"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|l| {
                        let group = l["attrs"]["VServerGroupId"].as_str().unwrap_or_default();
                        let mut backends: Vec<BackendView> = groups
                            .get(group)
                            .and_then(|g| g["backends"].as_array().cloned())
                            .unwrap_or_default()
                            .iter()
                            .map(|b| {
                                (
                                    b["server_id"].as_str().unwrap_or_default().to_owned(),
                                    b["server_ip"].as_str().unwrap_or_default().to_owned(),
                                    b["port"].as_u64().unwrap_or_default() as u16,
                                    b["weight"].as_u64().unwrap_or_default() as u8,
                                )
                            })
                            .collect();
                        backends.sort();
                        (
                            l["port"].as_u64().unwrap_or_default() as u16,
                            l["protocol"].as_str().unwrap_or_default().to_owned(),
                            backends,
                        )
                    })
                    .collect();
                listeners.sort();
                LbView {
                    id: lb["id"].as_str().unwrap_or_default().to_owned(),
                    address: lb["address"].as_str().unwrap_or_default().to_owned(),
                    tags: serde_json::from_value(lb["tags"].clone()).unwrap_or_default(),
                    listeners,
                }
            })
            .collect()
    }
}

/// ack-net-mock with a VPC, a pod VSwitch (192.168.1.0/24), a security group and an
/// instance, for an `IpPool` of node `node`.
pub struct PoolWorld {
    pub node: String,
    pub mock: MockCloud,
    pub rpc: RpcClient,
    /// Calls made through `rpc`, per action.
    pub stats: CallStats,
    pub vswitch: VSwitchId,
    pub sg: SecurityGroupId,
    pub instance: InstanceId,
}

pub async fn pool_world(node: &str) -> PoolWorld {
    let mock = MockCloud::builder()
        .seed(11)
        .ecs_delays(Duration::from_millis(20), Duration::from_millis(20))
        .start()
        .await
        .expect("mock");
    let (rpc, stats) = client_for(&mock);
    let vpc = mock
        .create_vpc(NewVpc {
            region_id: "cn-hangzhou".into(),
            cidr_block: Some("192.168.0.0/16".into()),
            ..NewVpc::default()
        })
        .expect("vpc");
    let vswitch = |cidr: &str| NewVSwitch {
        vpc_id: vpc.clone(),
        zone_id: "cn-hangzhou-h".into(),
        cidr_block: cidr.into(),
        ..NewVSwitch::default()
    };
    let pods_vsw = mock.create_vswitch(vswitch("192.168.1.0/24")).expect("vswitch");
    let node_vsw = mock.create_vswitch(vswitch("192.168.100.0/24")).expect("vswitch");
    let sg = EcsClient::new(rpc.clone())
        .security_groups()
        .create(&vpc.parse().expect("vpc id"))
        .name("pods")
        .send()
        .await
        .expect("sg");
    let created = mock
        .create_instance(InstanceSeed {
            region_id: "cn-hangzhou".into(),
            zone_id: "cn-hangzhou-h".into(),
            instance_type: "ecs.g7.large".into(),
            vswitch_id: node_vsw,
            security_group_ids: vec![sg.to_string()],
            instance_id: None,
        })
        .expect("instance");
    stats.reset();
    PoolWorld {
        node: node.to_owned(),
        stats,
        mock,
        rpc,
        vswitch: pods_vsw.parse().expect("id"),
        sg,
        instance: created["InstanceId"].as_str().expect("id").parse().expect("id"),
    }
}

impl PoolWorld {
    /// No cooldown, no GC grace, short waits.
    pub fn config(&self) -> PoolConfig {
        PoolConfig::new(
            PoolOwner { cluster_id: "c-test".into(), pool_id: self.node.clone() },
            self.instance.clone(),
            "ecs.g7.large".parse().expect("type"),
        )
        .vswitch(self.vswitch.clone())
        .security_group(self.sg.clone())
        .cooldown(Duration::ZERO)
        .allocate_timeout(Duration::from_secs(10))
        .gc_grace(Duration::ZERO, Duration::ZERO)
        .wait_policy(
            WaitPolicy::new(Duration::from_secs(10))
                .with_backoff(Duration::from_millis(10), Duration::from_millis(100)),
        )
    }

    pub async fn pool(&self, config: PoolConfig, store: Arc<dyn PoolStore>) -> IpPool {
        IpPool::builder(config).ecs(self.rpc.clone()).store(store).start().await.expect("pool")
    }
}

/// A pod `default/NAME` (UID `uid-NAME`) on `node`.
pub fn pod(name: &str, node: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"namespace": "default", "name": name, "uid": format!("uid-{name}")},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "nginx"}]},
        "status": {"phase": "Running"}
    })
}
