//! A real kube-apiserver (`ack_net_k8s::testenv`, an environment per test) behind the same
//! interface as [`FakeApi`](super::FakeApi), with every write recorded: the reconciler's
//! client goes through a proxy that notes each request, so tests assert exactly what it
//! wrote, and the real server validates and applies it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use ack_net_k8s::testenv::TestEnv;
use http::{Method, Request, Response};
use http_body_util::BodyExt;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, PostParams};
use serde_json::{json, Value};

use super::{Kind, Recorded};

/// A test's own API server, with namespace `shop`.
pub struct RealApi {
    _env: TestEnv,
    admin: kube::Client,
    requests: Arc<Mutex<Vec<Recorded>>>,
    /// The UID the server gave each object created through `put`, by name.
    uids: Mutex<HashMap<String, String>>,
}

impl Kind {
    fn resource(self) -> ApiResource {
        let (group, version, kind, plural) = match self {
            Kind::Service => ("", "v1", "Service", "services"),
            Kind::Node => ("", "v1", "Node", "nodes"),
            Kind::Pod => ("", "v1", "Pod", "pods"),
            Kind::Namespace => ("", "v1", "Namespace", "namespaces"),
            Kind::EndpointSlice => ("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
            Kind::Event => ("events.k8s.io", "v1", "Event", "events"),
            Kind::Lease => ("coordination.k8s.io", "v1", "Lease", "leases"),
        };
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
    }
}

impl RealApi {
    pub async fn start() -> Self {
        let env = TestEnv::start().await.unwrap_or_else(|e| panic!("the Kubernetes test environment: {e}"));
        let admin = env.client().await.expect("client");
        let api = RealApi { _env: env, admin, requests: Arc::default(), uids: Mutex::default() };
        api.put(Kind::Namespace, json!({"metadata": {"name": "shop"}})).await;
        api
    }

    fn api(&self, kind: Kind, ns: &str) -> Api<DynamicObject> {
        let resource = kind.resource();
        match kind {
            Kind::Node | Kind::Namespace => Api::all_with(self.admin.clone(), &resource),
            _ => Api::namespaced_with(self.admin.clone(), ns, &resource),
        }
    }

    /// A kube client of the server whose writes are recorded (on the current runtime).
    pub fn client(&self) -> kube::Client {
        let (service, mut handle) =
            tower_test::mock::pair::<Request<kube::client::Body>, Response<kube::client::Body>>();
        let (admin, requests) = (self.admin.clone(), self.requests.clone());
        tokio::spawn(async move {
            while let Some((req, send)) = handle.next_request().await {
                let (admin, requests) = (admin.clone(), requests.clone());
                tokio::spawn(async move {
                    let (parts, body) = req.into_parts();
                    let bytes = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    if parts.method != Method::GET {
                        requests.lock().expect("requests").push(Recorded {
                            method: parts.method.clone(),
                            path: parts.uri.path().to_owned(),
                            query: parts.uri.query().unwrap_or_default().to_owned(),
                            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                        });
                    }
                    match admin.send(Request::from_parts(parts, kube::client::Body::from(bytes))).await {
                        Ok(response) => send.send_response(response),
                        Err(e) => send.send_error(e),
                    }
                });
            }
        });
        kube::Client::new(service, "default")
    }

    /// Creates an object, or replaces it (as a user would; at its current resourceVersion
    /// unless the value names one).
    pub async fn put(&self, kind: Kind, mut obj: Value) -> Value {
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or("default").to_owned();
        let name = obj["metadata"]["name"].as_str().expect("a name").to_owned();
        let api = self.api(kind, &ns);
        let dynamic = |v: &Value| -> DynamicObject {
            let mut v = v.clone();
            v["apiVersion"] = json!(kind.resource().api_version);
            v["kind"] = json!(kind.resource().kind);
            serde_json::from_value(v).expect("an object")
        };
        let written = match api.get_opt(&name).await.expect("get") {
            None => {
                let created = api.create(&PostParams::default(), &dynamic(&obj)).await.expect("create");
                let uid = created.metadata.uid.clone().expect("a uid from the server");
                self.uids.lock().expect("uids").insert(name.clone(), uid);
                created
            }
            Some(current) => {
                if obj["metadata"]["resourceVersion"].is_null() {
                    obj["metadata"]["resourceVersion"] = json!(current.metadata.resource_version);
                }
                api.replace(&name, &PostParams::default(), &dynamic(&obj)).await.expect("replace")
            }
        };
        serde_json::to_value(written).expect("json")
    }

    /// Replaces an object's status (the kubelet's part, for a pod) through the status
    /// subresource.
    pub async fn put_status(&self, kind: Kind, obj: Value) -> Value {
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or("default").to_owned();
        let name = obj["metadata"]["name"].as_str().expect("a name").to_owned();
        let mut obj = obj;
        obj["apiVersion"] = json!(kind.resource().api_version);
        obj["kind"] = json!(kind.resource().kind);
        let dynamic: DynamicObject = serde_json::from_value(obj).expect("an object");
        let written =
            self.api(kind, &ns).replace_status(&name, &PostParams::default(), &dynamic).await.expect("status");
        serde_json::to_value(written).expect("json")
    }

    /// Deletes an object at once (a pod's kubelet is done with it: grace period zero); with
    /// finalizers it only gets a deletionTimestamp.
    pub async fn delete(&self, kind: Kind, ns: &str, name: &str) {
        let _ = self.api(kind, ns).delete(name, &DeleteParams::default().grace_period(0)).await.expect("delete");
    }

    /// Starts a graceful deletion: the object gets a deletionTimestamp and stays (a pod until
    /// its kubelet, which the test environment lacks, finishes it).
    pub async fn begin_delete(&self, kind: Kind, ns: &str, name: &str) {
        let _ = self.api(kind, ns).delete(name, &DeleteParams::default()).await.expect("delete");
    }

    /// The UIDs the server gave the objects `names` when `put` created them.
    pub fn uids(&self, names: &[&str]) -> HashSet<String> {
        let uids = self.uids.lock().expect("uids");
        names.iter().map(|n| uids.get(*n).cloned().unwrap_or_else(|| panic!("{n} was not created"))).collect()
    }

    pub async fn get(&self, kind: Kind, ns: &str, name: &str) -> Option<Value> {
        let obj = self.api(kind, ns).get_opt(name).await.expect("get")?;
        Some(serde_json::to_value(obj).expect("json"))
    }

    /// The Service as the API holds it now.
    pub async fn service(&self, ns: &str, name: &str) -> Option<Service> {
        Api::<Service>::namespaced(self.admin.clone(), ns).get_opt(name).await.expect("get")
    }

    /// The writes so far, and forgets them.
    pub fn take_requests(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.requests.lock().expect("requests"))
    }
}
