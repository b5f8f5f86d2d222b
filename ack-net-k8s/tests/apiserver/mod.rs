//! Helpers for the tests against the real etcd and kube-apiserver of `ack_net_k8s::testenv`.
#![allow(dead_code)]

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Node};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::Resource;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

pub use ack_net_k8s::testenv::{Binaries, TestEnv};

/// The test binary's shared environment (started by the first test that asks).
pub async fn shared() -> &'static TestEnv {
    TestEnv::shared().await.unwrap_or_else(|e| panic!("the Kubernetes test environment: {e}"))
}

/// An environment of the test's own: for tests that watch cluster-wide objects (Nodes, all
/// Services) that the other tests of the binary would disturb.
pub async fn own() -> TestEnv {
    TestEnv::start().await.unwrap_or_else(|e| panic!("the Kubernetes test environment: {e}"))
}

/// An admin client of `env` on the current runtime.
pub async fn client(env: &TestEnv) -> kube::Client {
    env.client().await.expect("a client of the test environment")
}

/// Creates namespace `name`.
pub async fn namespace(client: &kube::Client, name: &str) {
    create::<Namespace>(Api::all(client.clone()), json!({"metadata": {"name": name}})).await;
}

/// Creates the object `value` through `api`.
pub async fn create<K>(api: Api<K>, value: Value) -> K
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let obj: K = serde_json::from_value(value).expect("a valid object");
    api.create(&PostParams::default(), &obj).await.expect("create")
}

/// Merge-patches the status subresource of `name` (the kubelet's or a controller's part).
pub async fn patch_status<K>(api: &Api<K>, name: &str, status: Value) -> K
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug,
{
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(json!({"status": status}))).await.expect("status")
}

/// A Node named `name` on ECS instance `instance`, created and then made Ready through its
/// status, as a kubelet would.
pub async fn ready_node(client: &kube::Client, name: &str, instance: &str) -> Node {
    let nodes: Api<Node> = Api::all(client.clone());
    create(
        nodes.clone(),
        json!({
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "spec": {"providerID": format!("cn-hangzhou.{instance}")},
        }),
    )
    .await;
    patch_status(&nodes, name, json!({"conditions": [{"type": "Ready", "status": "True"}]})).await
}

/// Polls the async `f` every 100 ms for at most `secs` seconds.
pub async fn until<F, Fut>(secs: u64, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..secs * 10 {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    f().await
}

/// The programs found by [`binaries_before_sandbox`].
static BINARIES: std::sync::OnceLock<Binaries> = std::sync::OnceLock::new();

/// For the tests that run in a namespace sandbox (no network inside it): finds or builds
/// kube-apiserver and etcd first; false (with the reason printed) if it cannot.
pub fn binaries_before_sandbox() -> bool {
    match Binaries::locate() {
        Ok(b) => {
            let _ = BINARIES.set(b);
            true
        }
        Err(e) => {
            eprintln!("the Kubernetes test environment: {e}");
            false
        }
    }
}

/// The programs [`binaries_before_sandbox`] found (it must have run first).
pub fn binaries() -> &'static Binaries {
    BINARIES.get().expect("binaries_before_sandbox ran first")
}
