//! The proof of the readiness gate: a Deployment's rolling update under load loses no
//! connection with the gate, and loses some without it.
//!
//! Real pieces: a kube-apiserver and etcd (`ack_net_k8s::testenv`), ack-net-mock with its
//! fabric (the VPC as namespaces, the load balancer's address and TCP proxy), the
//! `ServiceReconciler` running as a controller, and TCP: a client in one instance's namespace
//! opens a connection through the load balancer every 25 ms, each answered by a "pod" (a TCP
//! server in an instance's namespace, its address the instance's primary ENI address, an
//! `eni` backend) after 100 ms. The test plays the kubelet (pod status, Ready from the
//! containers and the readiness gates, a terminating pod keeps serving for a grace period,
//! then stops gracefully and is deleted), the EndpointSlice controller (from the pods) and
//! the Deployment controller (max surge 1, max unavailable 0: a new pod, wait until it is
//! Ready, delete an old one).
//!
//! The load balancer adds backends slowly (the mock holds AddVServerGroupBackendServers 6 s),
//! as a busy real one does, and a pod's containers take 1.5 s to start. Without the gate the
//! new pods are Ready at once, the rollout deletes the old pods, and for a while the load
//! balancer's backends are stopped pods: connections fail. With the gate a new pod is Ready
//! only once the load balancer serves it, so the old pods go one at a time, each set to
//! weight 0 (drained) long before it stops.
//!
//! `harness = false`: `main` finds the API server's programs, then enters the namespace
//! sandbox while the process has one thread. Needs `ping`, `nft` and the testenv's Go build.

#[cfg(target_os = "linux")]
mod apiserver;
#[cfg(target_os = "linux")]
#[allow(dead_code, reason = "the harness serves several test binaries")]
#[path = "../../ack-net-eni/tests/fabric_support/mod.rs"]
mod fabric_support;
#[cfg(target_os = "linux")]
#[allow(dead_code, reason = "shared with ack-net-slb's data-plane tests")]
#[path = "../../ack-net-slb/tests/lb_support/mod.rs"]
mod lb_support;

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    if !apiserver::binaries_before_sandbox() {
        return std::process::ExitCode::FAILURE;
    }
    fabric_support::run(&[
        ("a_rolling_update_with_the_gate_loses_no_connection", |n| Box::pin(tests::rollout(n, true))),
        ("a_rolling_update_without_the_gate_loses_connections", |n| Box::pin(tests::rollout(n, false))),
    ])
}

#[cfg(not(target_os = "linux"))]
fn main() -> std::process::ExitCode {
    eprintln!("the rolling-update test needs Linux (network namespaces and nftables); nothing was run");
    std::process::ExitCode::FAILURE
}

#[cfg(target_os = "linux")]
mod tests {
    use std::collections::{BTreeMap, HashMap, HashSet};
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use ack_net_eni::{IpProtocol, Peer, PortRange, SecurityGroupRule};
    use ack_net_k8s::service::{annotations, readiness_gate, Backoff, ServiceConfig, ServiceReconciler};
    use ack_net_k8s::testenv::TestEnv;
    use ack_net_mock::{FaultSpec, Latency};
    use ack_net_slb::binding::{DrainPolicy, PlanOptions};
    use k8s_openapi::api::core::v1::{Pod, Service};
    use k8s_openapi::api::discovery::v1::EndpointSlice;
    use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
    use serde_json::{json, Value};

    use crate::apiserver::{client, create, namespace, until};
    use crate::fabric_support::{Net, Node};
    use crate::lb_support::{load, slb, Client, Outcome, Server};

    /// How long a terminating pod keeps serving (its preStop hook) before it stops.
    const GRACE: Duration = Duration::from_millis(2500);
    /// How long a new pod's containers take to become ready.
    const STARTUP: Duration = Duration::from_millis(1500);
    /// How long the mock holds each AddVServerGroupBackendServers.
    const SLOW_ADD_MS: u64 = 6000;
    /// How long a pod holds each request before it answers.
    const HOLD: Duration = Duration::from_millis(100);

    type Servers = Arc<Mutex<HashMap<String, Server>>>;

    struct World {
        net: Net,
        _env: TestEnv,
        kube: kube::Client,
        pods: Api<Pod>,
        servers: Servers,
        /// Where pods run: v1 on the first two, v2 on the last two.
        hosts: Vec<Node>,
        gated: bool,
    }

    fn condition(pod: &Pod, type_: &str) -> Option<String> {
        let conditions = pod.status.as_ref()?.conditions.as_ref()?;
        conditions.iter().find(|c| c.type_ == type_).map(|c| c.status.clone())
    }

    fn strategic_status(conditions: Value) -> Patch<Value> {
        Patch::Strategic(json!({"status": {"conditions": conditions}}))
    }

    impl World {
        /// Pod `name` on `host` (its address is the host's primary ENI address), its server
        /// listening, its containers ready after `startup`.
        async fn start_pod(&self, name: &str, host: &Node, startup: Duration) {
            let mut spec =
                json!({"nodeName": format!("node-{}", host.id), "containers": [{"name": "web", "image": "web"}]});
            if self.gated {
                spec["readinessGates"] = json!([{"conditionType": readiness_gate("web")}]);
            }
            create(
                self.pods.clone(),
                json!({"metadata": {"namespace": "shop", "name": name, "labels": {"app": "web"}}, "spec": spec}),
            )
            .await;
            let server = Server::start(&self.net.node(host), 8080, name, HOLD);
            self.servers.lock().expect("servers").insert(name.to_owned(), server);
            let ip = host.ip.to_string();
            let status = json!({"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                "conditions": [{"type": "ContainersReady", "status": "False"}, {"type": "Ready", "status": "False"}]}});
            self.pods.patch_status(name, &PatchParams::default(), &Patch::Merge(status)).await.expect("pod status");
            tokio::time::sleep(startup).await;
            let ready = strategic_status(json!([{"type": "ContainersReady", "status": "True"}]));
            self.pods.patch_status(name, &PatchParams::default(), &ready).await.expect("containers ready");
        }

        async fn is_ready(&self, name: &str) -> bool {
            let pod = self.pods.get(name).await.expect("pod");
            condition(&pod, "Ready").as_deref() == Some("True")
        }
    }

    /// The kubelet (Ready from the containers and the gates; a terminating pod serves for
    /// [`GRACE`], stops gracefully, then goes) and the EndpointSlice controller, every 50 ms
    /// until `stop`.
    async fn kubelet_and_endpoints(
        pods: Api<Pod>,
        slices: Api<EndpointSlice>,
        servers: Servers,
        stop: Arc<AtomicBool>,
    ) {
        let mut terminating: HashSet<String> = HashSet::new();
        let mut written: Option<Value> = None;
        while !stop.load(Ordering::SeqCst) {
            let Ok(list) = pods.list(&ListParams::default()).await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let mut endpoints = Vec::new();
            for pod in &list.items {
                let name = pod.metadata.name.clone().unwrap_or_default();
                let deleting = pod.metadata.deletion_timestamp.is_some();
                if deleting && terminating.insert(name.clone()) {
                    let (pods, servers, name) = (pods.clone(), servers.clone(), name.clone());
                    tokio::spawn(async move {
                        tokio::time::sleep(GRACE).await;
                        let server = servers.lock().expect("servers").remove(&name);
                        if let Some(s) = server {
                            tokio::task::spawn_blocking(move || s.stop()).await.expect("the server stops");
                        }
                        let now = DeleteParams { grace_period_seconds: Some(0), ..DeleteParams::default() };
                        pods.delete(&name, &now).await.expect("the pod goes");
                    });
                }
                let gates = pod.spec.as_ref().and_then(|s| s.readiness_gates.clone()).unwrap_or_default();
                let want = condition(pod, "ContainersReady").as_deref() == Some("True")
                    && gates.iter().all(|g| condition(pod, &g.condition_type).as_deref() == Some("True"));
                let ready = condition(pod, "Ready").as_deref() == Some("True");
                if !deleting && ready != want {
                    let status = if want { "True" } else { "False" };
                    let patch = strategic_status(json!([{"type": "Ready", "status": status}]));
                    let _ = pods.patch_status(&name, &PatchParams::default(), &patch).await;
                }
                let Some(ip) = pod.status.as_ref().and_then(|s| s.pod_ip.clone()) else { continue };
                endpoints.push(json!({"addresses": [ip], "targetRef": {"kind": "Pod", "namespace": "shop", "name": name},
                    "conditions": {"ready": ready && !deleting, "serving": ready || deleting, "terminating": deleting}}));
            }
            let slice = json!({
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                "metadata": {"namespace": "shop", "name": "web-1", "labels": {"kubernetes.io/service-name": "web"}},
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                "endpoints": endpoints
            });
            if written.as_ref() != Some(&slice) {
                let obj: EndpointSlice = serde_json::from_value(slice.clone()).expect("slice");
                let pp = PatchParams::apply("endpointslice-controller").force();
                if slices.patch("web-1", &pp, &Patch::Apply(&obj)).await.is_ok() {
                    written = Some(slice);
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn tally(outcomes: &[Outcome]) -> BTreeMap<String, usize> {
        let mut t = BTreeMap::new();
        for o in outcomes {
            let key = match o {
                Ok(server) => server.clone(),
                Err(e) => format!("error: {}", e.split(':').next().unwrap_or_default()),
            };
            *t.entry(key).or_default() += 1;
        }
        t
    }

    pub async fn rollout(mut net: Net, gated: bool) {
        let vsw = net.vswitches[0].clone();
        let sg = net.sg.clone();
        let extra = [net.instance(&vsw, &sg), net.instance(&vsw, &sg)];
        net.nodes.extend(extra);
        let web =
            SecurityGroupRule::ingress(IpProtocol::Tcp, PortRange::single(8080), Peer::cidr("10.1.0.0/16").unwrap());
        net.ecs.security_groups().authorize(&sg).rule(web).send().await.expect("authorize TCP");
        net.settle().await;
        let client_node = net.nodes[0].clone();
        let hosts: Vec<Node> = net.nodes[1..5].to_vec();

        let env = TestEnv::start_with(crate::apiserver::binaries())
            .await
            .unwrap_or_else(|e| panic!("the Kubernetes test environment: {e}"));
        let kube = client(&env).await;
        namespace(&kube, "shop").await;
        let pods: Api<Pod> = Api::namespaced(kube.clone(), "shop");
        let slices: Api<EndpointSlice> = Api::namespaced(kube.clone(), "shop");
        let services: Api<Service> = Api::namespaced(kube.clone(), "shop");
        let w =
            World { net, _env: env, kube: kube.clone(), pods: pods.clone(), servers: Servers::default(), hosts, gated };

        let stop_kubelet = Arc::new(AtomicBool::new(false));
        let kubelet =
            tokio::spawn(kubelet_and_endpoints(pods.clone(), slices, w.servers.clone(), stop_kubelet.clone()));
        for (i, host) in w.hosts[..2].iter().enumerate() {
            w.start_pod(&format!("v1-{i}"), host, Duration::ZERO).await;
        }
        let annotations = json!({
            annotations::BACKEND_TYPE: "eni",
            annotations::ADDRESS_TYPE: "intranet",
            annotations::VSWITCH_ID: vsw,
        });
        let ports = json!([{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]);
        create(
            services.clone(),
            json!({"metadata": {"namespace": "shop", "name": "web", "annotations": annotations},
                   "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": ports}}),
        )
        .await;
        let reconciler = ServiceReconciler::new(
            w.kube.clone(),
            slb(&w.net.mock),
            ServiceConfig::new("c-1").with_terminating_drain(Duration::from_secs(1)),
        )
        .with_eni_lookup(Arc::new(w.net.ecs.clone()))
        .with_plan_options(PlanOptions::default().with_drain(DrainPolicy::none()))
        .with_backoff(Backoff { min: Duration::from_millis(200), max: Duration::from_secs(1) })
        .with_gate_recheck(Duration::from_millis(200))
        .with_resync(Duration::from_secs(3600));
        let controller = tokio::spawn(reconciler.run());

        // v1 serves through the load balancer's address.
        let address = async || -> Option<SocketAddr> {
            let svc = services.get("web").await.ok()?;
            let ip = svc.status?.load_balancer?.ingress?.first()?.ip.clone()?;
            Some(SocketAddr::new(ip.parse().ok()?, 80))
        };
        assert!(until(60, || async { address().await.is_some() }).await, "no load balancer address");
        let lb = address().await.expect("an address");
        let ns = w.net.node(&client_node);
        let both_ready = || async { w.is_ready("v1-0").await && w.is_ready("v1-1").await };
        assert!(until(60, both_ready).await, "v1 never Ready");
        let serves = || async {
            let ns = ns.clone();
            let asked = tokio::task::spawn_blocking(move || Client::connect(&ns, lb).and_then(|mut c| c.ask("ping")));
            asked.await.expect("a probe").is_ok_and(|a| a.starts_with("v1-"))
        };
        assert!(until(60, serves).await, "v1 does not serve through {lb}: {}", w.net.mock.dump()["fabric"]);

        // From now on the load balancer adds backends slowly. Load, then the rollout.
        let slow = FaultSpec { latency: Some(Latency::Fixed(SLOW_ADD_MS)), ..FaultSpec::none() };
        w.net.mock.set_fault("AddVServerGroupBackendServers", slow).expect("fault");
        let stop_load = Arc::new(AtomicBool::new(false));
        let running = load(ns.clone(), lb, 2000, Duration::from_millis(25), stop_load.clone());
        tokio::time::sleep(Duration::from_millis(500)).await;
        for i in 0..2 {
            w.start_pod(&format!("v2-{i}"), &w.hosts[2 + i], STARTUP).await;
            let name = format!("v2-{i}");
            assert!(until(60, || w.is_ready(&name)).await, "{name} never Ready");
            let graceful = DeleteParams { grace_period_seconds: Some(30), ..DeleteParams::default() };
            pods.delete(&format!("v1-{i}"), &graceful).await.expect("delete an old pod");
        }
        let v1_gone = || async {
            let list = pods.list(&ListParams::default()).await.expect("pods");
            list.items.iter().all(|p| !p.metadata.name.as_deref().unwrap_or_default().starts_with("v1-"))
        };
        assert!(until(60, v1_gone).await, "the old pods never went");
        // Until the load balancer has caught up (the last slow add), then a little more.
        let v2_served = || async { w.is_ready("v2-0").await && w.is_ready("v2-1").await };
        assert!(until(60, v2_served).await);
        tokio::time::sleep(Duration::from_millis(SLOW_ADD_MS + 1000)).await;
        stop_load.store(true, Ordering::SeqCst);
        let outcomes =
            tokio::task::spawn_blocking(move || running.join().expect("the load")).await.expect("the load ends");
        stop_kubelet.store(true, Ordering::SeqCst);
        let _ = kubelet.await;
        controller.abort();

        let got = tally(&outcomes);
        let failed: usize = got.iter().filter(|(k, _)| k.starts_with("error")).map(|(_, n)| n).sum();
        let by_v2: usize = got.iter().filter(|(k, _)| k.starts_with("v2-")).map(|(_, n)| n).sum();
        assert!(outcomes.len() > 400, "a load run too short to tell: {got:?}");
        assert!(by_v2 > 0, "the new pods never served: {got:?}");
        if gated {
            assert_eq!(failed, 0, "connections lost with the gate: {got:?}");
        } else {
            assert!(failed > 0, "no connection lost without the gate (the test proves nothing): {got:?}");
        }
        println!("    gate {}: {} connections: {got:?}", if gated { "on" } else { "off" }, outcomes.len());
    }
}
