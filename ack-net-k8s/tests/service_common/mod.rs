//! Shared setup of the Kubernetes tests: ack-net-mock for SLB and ECS, objects as JSON, a
//! real kube-apiserver behind a recording proxy ([`real::RealApi`]), and a fake Kubernetes
//! API behind kube's `Client` (a tower-test mock service answered by a task) for what a real
//! server cannot do: follow a paused clock. The fake keeps objects with optimistic
//! concurrency (get, create, replace at a resourceVersion) and records every write.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ack_net_core::{CallStats, RpcClient};
use ack_net_eni::pool::{IpPool, PoolConfig, PoolOwner, PoolStore};
use ack_net_eni::{EcsClient, InstanceId, SecurityGroupId, VSwitchId, WaitPolicy};
use ack_net_mock::MockCloud;
use ack_net_slb::SlbClient;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

pub mod real;

type RespBody = http_body_util::combinators::UnsyncBoxBody<Bytes, Infallible>;

/// One write a Kubernetes API received.
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

/// The kinds the tests write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Service,
    Node,
    EndpointSlice,
    Event,
    Pod,
    Lease,
    Namespace,
}

#[derive(Default)]
struct State {
    rv: u64,
    objects: BTreeMap<(String, String, String), Value>,
    requests: Vec<Recorded>,
}

/// The fake Kubernetes API: any namespaced resource, by its path.
#[derive(Clone, Default)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
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
        Self::default()
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

    /// Stores `obj` at `(resource, namespace, name)` with the next resourceVersion.
    fn write(&self, resource: &str, ns: &str, mut obj: Value) -> Value {
        let mut s = self.state.lock().expect("state");
        s.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(s.rv.to_string());
        obj["metadata"]["namespace"] = json!(ns);
        let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        s.objects.insert((resource.to_owned(), ns.to_owned(), name), obj.clone());
        obj
    }

    fn resource(kind: Kind) -> &'static str {
        match kind {
            Kind::Service => "services",
            Kind::Node => "nodes",
            Kind::EndpointSlice => "endpointslices",
            Kind::Event => "events",
            Kind::Pod => "pods",
            Kind::Lease => "leases",
            Kind::Namespace => "namespaces",
        }
    }

    /// Creates or replaces an object (as a user would).
    pub fn put(&self, kind: Kind, obj: Value) -> Value {
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or_default().to_owned();
        self.write(Self::resource(kind), &ns, obj)
    }

    pub fn get(&self, kind: Kind, ns: &str, name: &str) -> Option<Value> {
        let key = (Self::resource(kind).to_owned(), ns.to_owned(), name.to_owned());
        self.state.lock().expect("state").objects.get(&key).cloned()
    }

    /// The writes so far, and forgets them.
    pub fn take_requests(&self) -> Vec<Recorded> {
        std::mem::take(&mut self.state.lock().expect("state").requests)
    }

    async fn answer(&self, req: Request<kube::client::Body>) -> Response<RespBody> {
        let (parts, body) = req.into_parts();
        let bytes = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let path = parts.uri.path().to_owned();
        if parts.method != Method::GET {
            self.state.lock().expect("state").requests.push(Recorded {
                method: parts.method.clone(),
                path: path.clone(),
                query: parts.uri.query().unwrap_or_default().to_owned(),
                body: body.clone(),
            });
        }
        // /api/v1/namespaces/NS/RESOURCE[/NAME] or /apis/GROUP/VERSION/namespaces/NS/RESOURCE[/NAME]
        let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let (ns, resource, name) = match segs.as_slice() {
            ["api", "v1", "namespaces", ns, rest @ ..] | ["apis", _, _, "namespaces", ns, rest @ ..] => match rest {
                [resource] => (*ns, *resource, None),
                [resource, name] => (*ns, *resource, Some(*name)),
                _ => return status(StatusCode::NOT_FOUND, "NotFound", &path),
            },
            _ => return status(StatusCode::NOT_FOUND, "NotFound", &path),
        };
        let current = |name: &str| {
            let key = (resource.to_owned(), ns.to_owned(), name.to_owned());
            self.state.lock().expect("state").objects.get(&key).cloned()
        };
        match (&parts.method, name) {
            (&Method::GET, Some(name)) => match current(name) {
                Some(o) => response(StatusCode::OK, &o),
                None => status(StatusCode::NOT_FOUND, "NotFound", name),
            },
            (&Method::POST, None) => {
                let name = body["metadata"]["name"].as_str().unwrap_or_default().to_owned();
                if current(&name).is_some() {
                    return status(StatusCode::CONFLICT, "AlreadyExists", &name);
                }
                response(StatusCode::CREATED, &self.write(resource, ns, body))
            }
            // A replacement, with its resourceVersion as the precondition.
            (&Method::PUT, Some(name)) => match current(name) {
                None => status(StatusCode::NOT_FOUND, "NotFound", name),
                Some(old) if old["metadata"]["resourceVersion"] != body["metadata"]["resourceVersion"] => {
                    status(StatusCode::CONFLICT, "Conflict", "the object has been modified")
                }
                Some(_) => response(StatusCode::OK, &self.write(resource, ns, body)),
            },
            _ => status(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", &path),
        }
    }
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
    let rpc = mock.client_builder().observer(stats.clone()).build().expect("client");
    (rpc, stats)
}

pub async fn cloud(instances: usize) -> Cloud {
    let mock = MockCloud::builder().seed(5).start().await.expect("mock");
    let (rpc, stats) = client_for(&mock);
    let world = mock.scenario().backends(instances).build().expect("the scenario");
    // As text: the tests write them into Node manifests and compare them with answers.
    let ids = world.instance_ids().iter().map(ToString::to_string).collect();
    let enis = world.primary_enis().into_iter().map(|(eni, ip)| (eni.to_string(), ip)).collect();
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
    let world = mock
        .scenario()
        .vpc("192.168.0.0/16")
        .vswitch("cn-hangzhou-h", "192.168.1.0/24")
        .vswitch("cn-hangzhou-h", "192.168.100.0/24")
        .security_group("pods")
        .instances_in(1, 1, "ecs.g7.large")
        .build()
        .expect("the scenario");
    stats.reset();
    PoolWorld {
        node: node.to_owned(),
        stats,
        mock,
        rpc,
        vswitch: world.vswitch_ids[0].parse().expect("id"),
        sg: world.security_group_id.expect("a group").parse().expect("id"),
        instance: world.instances[0].instance_id.clone(),
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
