//! `ServiceReconciler::reconcile` end to end: a real kube-apiserver (`ack_net_k8s::testenv`,
//! one per test) behind a recording proxy (every write asserted) and ack-net-mock for SLB and
//! ECS. Nodes and EndpointSlices come through the reconciler's caches. Create, converge quietly,
//! change ports and nodes, scale and drain ENI backends, delete through the finalizer,
//! keep on delete, stop wanting a load balancer, bad annotations, failures and backoff.

mod service_common;

use ack_net_core::ErrorInfo;

use std::sync::Arc;
use std::time::Duration;

use ack_net_k8s::service::annotations;
use ack_net_k8s::service::{Backoff, Error, ServiceConfig, ServiceReconciler, FINALIZER};
use ack_net_mock::FaultSpec;
use ack_net_slb::binding::{DrainPolicy, PlanOptions, CLUSTER_TAG, SERVICE_TAG};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::controller::Action;
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher::Event;
use serde_json::{json, Value};
use service_common::real::RealApi;
use service_common::*;

const RESYNC: Duration = Duration::from_secs(600);

struct Setup {
    api: RealApi,
    cloud: Cloud,
    ctx: Arc<ServiceReconciler>,
    nodes: Writer<Node>,
    slices: Writer<EndpointSlice>,
}

fn init<K: Clone + kube::Resource + 'static>(w: &mut Writer<K>, items: Vec<K>)
where
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    w.apply_watcher_event(&Event::Init);
    for i in items {
        w.apply_watcher_event(&Event::InitApply(i));
    }
    w.apply_watcher_event(&Event::InitDone);
}

fn parse<T: k8s_openapi::serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("object")
}

async fn setup(instances: usize, nodes: usize, cfg: ServiceConfig) -> Setup {
    let cloud = cloud(instances).await;
    let api = RealApi::start().await;
    let r = ServiceReconciler::new(api.client(), cloud.slb.clone(), cfg)
        .with_plan_options(PlanOptions::default().with_drain(DrainPolicy::none()))
        .with_eni_lookup(Arc::new(cloud.ecs.clone()))
        .with_cache_timeout(Duration::from_millis(200));
    let (mut nw, mut sw) = r.take_writers().expect("writers");
    let node_objs: Vec<Node> = (0..nodes).map(|i| parse(node(&format!("n{i}"), &cloud.instances[i]))).collect();
    init(&mut nw, node_objs);
    init(&mut sw, Vec::new());
    Setup { api, cloud, ctx: Arc::new(r), nodes: nw, slices: sw }
}

impl Setup {
    /// The UID the API server gave the Service `shop/NAME`.
    async fn uid(&self, name: &str) -> String {
        let svc = self.api.service("shop", name).await.expect("service exists");
        svc.metadata.uid.expect("the API server sets a UID")
    }

    async fn reconcile(&self) -> Result<Action, Error> {
        let svc = self.api.service("shop", "web").await.expect("service exists");
        ServiceReconciler::reconcile(Arc::new(svc), self.ctx.clone()).await
    }

    /// The writes the reconciler made to the Kubernetes API since the last call.
    fn writes(&self) -> Vec<String> {
        self.api.take_requests().iter().map(Recorded::short).collect()
    }

    fn events(&self, requests: &[Recorded]) -> Vec<(String, String, String)> {
        requests
            .iter()
            .filter(|r| r.path.ends_with("/events"))
            .map(|r| {
                (
                    r.body["type"].as_str().unwrap_or_default().to_owned(),
                    r.body["reason"].as_str().unwrap_or_default().to_owned(),
                    r.body["note"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    fn only_lb(&self) -> LbView {
        let lbs = self.cloud.load_balancers();
        assert_eq!(lbs.len(), 1, "{lbs:?}");
        lbs.into_iter().next().expect("one")
    }

    fn ecs(&self, i: usize, port: u16, weight: u8) -> (String, String, u16, u8) {
        (self.cloud.instances[i].clone(), String::new(), port, weight)
    }

    fn pod(&self, i: usize, port: u16, weight: u8) -> (String, String, u16, u8) {
        (self.cloud.enis[i].0.clone(), self.cloud.enis[i].1.to_string(), port, weight)
    }
}

fn tcp80() -> Value {
    json!([{"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP", "targetPort": 8080}])
}

fn cfg() -> ServiceConfig {
    ServiceConfig::new("c-1")
}

#[tokio::test]
async fn creates_the_load_balancer_then_stays_quiet() {
    let s = setup(2, 2, cfg()).await;
    s.api.put(Kind::Service, service(json!({}), tcp80())).await;
    assert_eq!(s.reconcile().await.expect("reconcile"), Action::requeue(RESYNC));

    let requests = s.api.take_requests();
    let writes: Vec<String> = requests.iter().map(Recorded::short).collect();
    assert_eq!(writes, ["PATCH services/web", "POST events", "PATCH services/web/status"]);
    assert_eq!(requests[0].body["metadata"]["finalizers"], json!([FINALIZER]));
    assert!(requests[0].body["metadata"]["resourceVersion"].is_string(), "the finalizer patch is conditional");
    let (kind, reason, note) = &s.events(&requests)[0];
    assert_eq!((kind.as_str(), reason.as_str()), ("Normal", "EnsuredLoadBalancer"));
    assert!(note.starts_with("created on lb-"), "{note}");

    let lb = s.only_lb();
    assert!(lb.tags.contains(&(CLUSTER_TAG.to_owned(), "c-1".to_owned())), "{:?}", lb.tags);
    assert!(lb.tags.contains(&(SERVICE_TAG.to_owned(), "shop/web".to_owned())));
    assert_eq!(lb.listeners, vec![(80, "tcp".into(), vec![s.ecs(0, 30080, 100), s.ecs(1, 30080, 100)])]);
    let svc = s.api.service("shop", "web").await.expect("service");
    let ingress = svc.status.and_then(|st| st.load_balancer).and_then(|l| l.ingress).expect("ingress");
    assert_eq!(ingress[0].ip.as_deref(), Some(lb.address.as_str()));
    assert_eq!(s.ctx.load_balancer_of("shop/web").map(|i| i.to_string()), Some(lb.id.clone()));

    // Converged: no write anywhere, a few reads.
    s.cloud.stats.reset();
    assert_eq!(s.reconcile().await.expect("reconcile"), Action::requeue(RESYNC));
    assert!(s.writes().is_empty());
    assert_eq!(s.cloud.stats.writes(), 0, "{}", s.cloud.stats);
    assert!(s.cloud.stats.reads() <= 2, "{}", s.cloud.stats);
}

#[tokio::test]
async fn follows_port_and_node_changes() {
    let mut s = setup(3, 3, cfg()).await;
    s.api.put(Kind::Service, service(json!({}), tcp80())).await;
    s.reconcile().await.expect("create");
    s.writes();

    // Ports: 80 goes, 8080/TCP and 53/UDP come.
    let mut svc = s.api.get(Kind::Service, "shop", "web").await.expect("svc");
    svc["spec"]["ports"] = json!([
        {"name": "web", "port": 8080, "nodePort": 30081, "protocol": "TCP"},
        {"name": "dns", "port": 53, "nodePort": 30053, "protocol": "UDP"}
    ]);
    s.api.put(Kind::Service, svc).await;
    s.reconcile().await.expect("ports");
    let all = |port| {
        let mut v = (0..3).map(|i| s.ecs(i, port, 100)).collect::<Vec<_>>();
        v.sort();
        v
    };
    assert_eq!(s.only_lb().listeners, vec![(53, "udp".into(), all(30053)), (8080, "tcp".into(), all(30081))]);
    assert_eq!(s.writes(), ["POST events"], "the address did not change: no status write");

    // A node stops being Ready; another is excluded by label.
    let mut n1 = node("n1", &s.cloud.instances[1]);
    n1["status"]["conditions"][0]["status"] = json!("False");
    s.nodes.apply_watcher_event(&Event::Apply(parse(n1)));
    let mut n2 = node("n2", &s.cloud.instances[2]);
    n2["metadata"]["labels"]["node.kubernetes.io/exclude-from-external-load-balancers"] = json!("true");
    s.nodes.apply_watcher_event(&Event::Apply(parse(n2)));
    s.reconcile().await.expect("nodes");
    assert_eq!(
        s.only_lb().listeners,
        vec![(53, "udp".into(), vec![s.ecs(0, 30053, 100)]), (8080, "tcp".into(), vec![s.ecs(0, 30081, 100)])]
    );
}

#[tokio::test]
async fn eni_backends_scale_and_drain_with_the_endpoints() {
    let mut s = setup(4, 0, cfg()).await;
    s.api.put(Kind::Service, service(json!({annotations::BACKEND_TYPE: "eni"}), tcp80())).await;
    let ep = |i: usize, ready: bool, terminating: bool| (s.cloud.enis[i].1, "n0", ready, terminating);
    let mut put_slice = |eps: Vec<(std::net::IpAddr, &str, bool, bool)>| {
        s.slices.apply_watcher_event(&Event::Apply(parse(slice("web-abc", 8080, &eps))));
    };

    put_slice(vec![ep(0, true, false), ep(1, true, false), ep(2, true, false)]);
    s.reconcile().await.expect("three pods");
    let pods = |s: &Setup, spec: &[(usize, u8)]| spec.iter().map(|(i, w)| s.pod(*i, 8080, *w)).collect::<Vec<_>>();
    let mut want = pods(&s, &[(0, 100), (1, 100), (2, 100)]);
    want.sort();
    assert_eq!(s.only_lb().listeners, vec![(80, "tcp".into(), want)]);

    // Scale up, then one pod terminates: drained at weight 0, then gone.
    let mut put_slice = |eps: Vec<(std::net::IpAddr, &str, bool, bool)>| {
        s.slices.apply_watcher_event(&Event::Apply(parse(slice("web-abc", 8080, &eps))));
    };
    put_slice(vec![ep(0, true, false), ep(1, true, false), ep(2, true, false), ep(3, true, false)]);
    s.reconcile().await.expect("four pods");
    assert_eq!(s.only_lb().listeners[0].2.len(), 4);

    let mut put_slice = |eps: Vec<(std::net::IpAddr, &str, bool, bool)>| {
        s.slices.apply_watcher_event(&Event::Apply(parse(slice("web-abc", 8080, &eps))));
    };
    put_slice(vec![ep(0, true, false), ep(1, false, true), ep(2, true, false), ep(3, true, false)]);
    s.reconcile().await.expect("one terminating");
    let mut want = pods(&s, &[(0, 100), (1, 0), (2, 100), (3, 100)]);
    want.sort();
    assert_eq!(s.only_lb().listeners[0].2, want);

    let mut put_slice = |eps: Vec<(std::net::IpAddr, &str, bool, bool)>| {
        s.slices.apply_watcher_event(&Event::Apply(parse(slice("web-abc", 8080, &eps))));
    };
    put_slice(vec![ep(0, true, false), ep(2, true, false), ep(3, true, false)]);
    s.reconcile().await.expect("gone");
    let mut want = pods(&s, &[(0, 100), (2, 100), (3, 100)]);
    want.sort();
    assert_eq!(s.only_lb().listeners[0].2, want);

    // Down to zero pods: the listener stays, empty.
    let mut put_slice = |eps: Vec<(std::net::IpAddr, &str, bool, bool)>| {
        s.slices.apply_watcher_event(&Event::Apply(parse(slice("web-abc", 8080, &eps))));
    };
    put_slice(vec![]);
    s.reconcile().await.expect("zero");
    assert_eq!(s.only_lb().listeners, vec![(80, "tcp".into(), vec![])]);
}

#[tokio::test]
async fn deleting_the_service_removes_its_load_balancer_then_the_finalizer() {
    let s = setup(2, 2, cfg()).await;
    s.api.put(Kind::Service, service(json!({}), tcp80())).await;
    s.reconcile().await.expect("create");
    s.writes();
    assert_eq!(s.cloud.load_balancers().len(), 1);

    s.api.delete(Kind::Service, "shop", "web").await;
    assert!(s.api.service("shop", "web").await.expect("still there").metadata.deletion_timestamp.is_some());
    assert_eq!(s.reconcile().await.expect("delete"), Action::await_change());
    assert!(s.cloud.load_balancers().is_empty(), "delete protection was turned off and the load balancer deleted");
    let requests = s.api.take_requests();
    assert_eq!(requests.iter().map(Recorded::short).collect::<Vec<_>>(), ["POST events", "PATCH services/web"]);
    assert_eq!(s.events(&requests)[0].1, "DeletedLoadBalancer");
    assert_eq!(requests[1].body["metadata"]["finalizers"], json!([]));
    assert!(s.api.service("shop", "web").await.is_none(), "gone once the finalizer is removed");
    assert_eq!(s.ctx.load_balancer_of("shop/web"), None);
}

#[tokio::test]
async fn preserve_on_delete_keeps_the_load_balancer_without_the_binding() {
    let s = setup(1, 1, cfg()).await;
    s.api.put(Kind::Service, service(json!({annotations::PRESERVE_LB_ON_DELETE: "true"}), tcp80())).await;
    s.reconcile().await.expect("create");
    s.writes();
    s.api.delete(Kind::Service, "shop", "web").await;
    s.reconcile().await.expect("delete");
    let lb = s.only_lb();
    assert!(lb.listeners.is_empty(), "{lb:?}");
    assert!(!lb.tags.iter().any(|(k, _)| k == CLUSTER_TAG || k == SERVICE_TAG), "{:?}", lb.tags);
    let requests = s.api.take_requests();
    assert_eq!(s.events(&requests)[0].0, "Warning");
    assert_eq!(s.events(&requests)[0].1, "PreservedOnDelete");
    assert!(s.api.service("shop", "web").await.is_none());
}

#[tokio::test]
async fn a_service_that_stops_wanting_a_load_balancer_releases_it() {
    let s = setup(1, 1, cfg()).await;
    s.api.put(Kind::Service, service(json!({}), tcp80())).await;
    s.reconcile().await.expect("create");
    s.writes();
    let mut svc = s.api.get(Kind::Service, "shop", "web").await.expect("svc");
    svc["spec"]["type"] = json!("ClusterIP");
    s.api.put(Kind::Service, svc).await;
    assert_eq!(s.reconcile().await.expect("release"), Action::await_change());
    assert!(s.cloud.load_balancers().is_empty());
    // No status write: the API server cleared status.loadBalancer itself when the type stopped
    // being LoadBalancer (the fake API did not, and had the reconciler write it).
    assert_eq!(s.writes(), ["POST events", "PATCH services/web"]);
    let svc = s.api.service("shop", "web").await.expect("svc");
    assert!(svc.metadata.finalizers.unwrap_or_default().is_empty());
    assert!(svc.status.and_then(|st| st.load_balancer).and_then(|l| l.ingress).is_none());

    // Services that never wanted one cost nothing.
    assert_eq!(s.reconcile().await.expect("nothing"), Action::await_change());
    assert!(s.writes().is_empty());
}

#[tokio::test]
async fn an_invalid_annotation_is_a_warning_event_and_a_long_wait() {
    let s = setup(1, 1, cfg()).await;
    s.api.put(Kind::Service, service(json!({annotations::SCHEDULER: "fastest"}), tcp80())).await;
    let err = s.reconcile().await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidAnnotation { annotation, value, .. } if annotation == annotations::SCHEDULER && value == "fastest")
    );
    let requests = s.api.take_requests();
    let (kind, reason, note) = &s.events(&requests)[0];
    assert_eq!((kind.as_str(), reason.as_str()), ("Warning", "SyncLoadBalancerFailed"));
    assert!(note.contains(annotations::SCHEDULER) && note.contains("fastest"), "{note}");
    assert_eq!(s.cloud.stats.total(), 0, "no cloud call for a bad Service");
    let svc = Arc::new(s.api.service("shop", "web").await.expect("svc"));
    assert_eq!(ServiceReconciler::error_policy(svc, &err, s.ctx.clone()), Action::requeue(Backoff::default().max));

    // The same failure again is the next of the Event's series, not a new Event.
    s.reconcile().await.unwrap_err();
    let requests = s.api.take_requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].short().starts_with("PATCH events/web."), "{:?}", requests[0]);
    assert_eq!(requests[0].body["series"]["count"], json!(2));
    // Another failure is a new Event: the first one's count does not hide it.
    let mut svc = s.api.get(Kind::Service, "shop", "web").await.expect("svc");
    svc["metadata"]["annotations"] = json!({annotations::BANDWIDTH: "lots"});
    s.api.put(Kind::Service, svc).await;
    s.reconcile().await.unwrap_err();
    let requests = s.api.take_requests();
    assert_eq!(requests.iter().map(Recorded::short).collect::<Vec<_>>(), ["POST events"]);
    assert!(s.events(&requests)[0].2.contains(annotations::BANDWIDTH));
}

#[tokio::test]
async fn cloud_failures_back_off_and_recover() {
    let s = setup(1, 1, cfg()).await;
    s.api.put(Kind::Service, service(json!({}), tcp80())).await;
    s.cloud.mock.set_fault("CreateLoadBalancer", FaultSpec { server_error: 1.0, ..FaultSpec::none() }).expect("fault");
    let svc = Arc::new(s.api.service("shop", "web").await.expect("svc"));
    let mut delays = Vec::new();
    for _ in 0..3 {
        let err = s.reconcile().await.unwrap_err();
        assert!(matches!(err, Error::LoadBalancer(_)) && !err.is_invalid_input(), "{err:?}");
        delays.push(ServiceReconciler::error_policy(svc.clone(), &err, s.ctx.clone()));
    }
    let secs = |n| Action::requeue(Duration::from_secs(n));
    assert_eq!(delays, vec![secs(5), secs(10), secs(20)]);
    s.cloud.mock.clear_faults();
    s.reconcile().await.expect("recovers");
    assert_eq!(s.cloud.load_balancers().len(), 1);
    let err = Error::CacheNotReady("Node");
    assert_eq!(ServiceReconciler::error_policy(svc, &err, s.ctx.clone()), secs(5), "a success resets the backoff");
}

#[tokio::test]
async fn a_listener_the_binding_does_not_own_is_a_conflict() {
    let s = setup(1, 1, cfg()).await;
    // Someone else's load balancer with a listener on 80.
    let lb = s.cloud.slb.load_balancers().create().send().await.expect("lb");
    let group = s.cloud.slb.vserver_groups().create(&lb.load_balancer_id, "theirs").send().await.expect("group");
    let theirs =
        ack_net_slb::ListenerSpec::tcp(80, ack_net_slb::ListenerBackend::VServerGroup(group.vserver_group_id.clone()));
    s.cloud.slb.listeners().create(&lb.load_balancer_id, theirs).send().await.expect("listener");
    s.api.put(Kind::Service, service(json!({annotations::ID: lb.load_balancer_id.to_string()}), tcp80())).await;
    let err = s.reconcile().await.unwrap_err();
    assert!(matches!(&err, Error::LoadBalancer(e) if e.is_conflict()), "{err:?}");
    assert!(err.is_invalid_input());
    assert_eq!(s.only_lb().listeners.len(), 1, "their listener is untouched");
}

#[tokio::test]
async fn eni_services_need_an_eni_lookup_and_caches_must_fill() {
    let cloud = cloud(1).await;
    let api = RealApi::start().await;
    let r =
        ServiceReconciler::new(api.client(), cloud.slb.clone(), cfg()).with_cache_timeout(Duration::from_millis(50));
    let ctx = Arc::new(r);
    api.put(Kind::Service, service(json!({}), tcp80())).await;
    let svc = || async { Arc::new(api.service("shop", "web").await.expect("svc")) };
    let err = ServiceReconciler::reconcile(svc().await, ctx.clone()).await.unwrap_err();
    assert!(matches!(err, Error::CacheNotReady("Node")), "{err:?}");

    let (mut nw, mut sw) = ctx.take_writers().expect("writers");
    assert!(ctx.take_writers().is_none(), "once");
    init(&mut nw, vec![]);
    init(&mut sw, vec![]);
    let mut eni = api.get(Kind::Service, "shop", "web").await.expect("svc");
    eni["metadata"]["annotations"] = json!({annotations::BACKEND_TYPE: "eni"});
    api.put(Kind::Service, eni).await;
    let err = ServiceReconciler::reconcile(svc().await, ctx.clone()).await.unwrap_err();
    assert!(matches!(&err, Error::UnsupportedAnnotation { annotation, .. } if annotation == annotations::BACKEND_TYPE));
    let alone = Arc::try_unwrap(ctx).expect("the only owner");
    assert!(matches!(alone.run().await, Err(Error::CachesTaken)));
}

/// What ACK's cloud controller manager creates for `shop/web` (whose UID is `uid`) in cluster
/// `cluster` with one TCP port 80 on node port 30080 over `instances`, call by call as its
/// code does it: the load balancer with its default name and protections, its tags, the
/// VServer group named after the node port with the backends described by the group's
/// name, the listener described by its port, started.
async fn ccm_made(cloud: &Cloud, uid: &str, cluster: &str, instances: &[String]) -> ack_net_slb::LoadBalancerId {
    let backends = instances.iter().map(|i| ack_net_slb::Backend::ecs(&i.parse().unwrap(), 30080)).collect();
    ccm_made_with(cloud, uid, cluster, "30080", backends).await
}

/// [`ccm_made`] with the group named after `group_port` (the node port, or the target port in
/// ENI mode) and these backends (weight 100, described by the group's name).
async fn ccm_made_with(
    cloud: &Cloud,
    uid: &str,
    cluster: &str,
    group_port: &str,
    backends: Vec<ack_net_slb::Backend>,
) -> ack_net_slb::LoadBalancerId {
    use ack_net_slb::{
        Backend, ListenerBackend, ListenerProtocol, ListenerSpec, ModificationProtectionStatus, Scheduler, Tag,
    };
    let name = ack_net_slb::binding::ccm_load_balancer_name(uid);
    let lb = cloud
        .slb
        .load_balancers()
        .create()
        .name(&name)
        // CCM sends neither a spec nor a charge type and the cloud makes a pay-by-CLCU
        // instance; the mock's default without either is a shared pay-by-spec one, so say it.
        .pay_by_clcu()
        .delete_protection(true)
        .modification_protection(ModificationProtectionStatus::ConsoleProtection, Some("ConsoleProtection".into()))
        .send()
        .await
        .expect("CreateLoadBalancer");
    let id = lb.load_balancer_id;
    let tags = [Tag::new("kubernetes.do.not.delete", &name), Tag::new("ack.aliyun.com", cluster)];
    cloud.slb.tags().tag(std::slice::from_ref(&id), &tags).send().await.expect("TagResources");
    let group_name = format!("k8s/{group_port}/web/shop/{cluster}");
    let group = cloud.slb.vserver_groups().create(&id, &group_name).send().await.expect("CreateVServerGroup");
    let backends: Vec<Backend> =
        backends.into_iter().map(|b| b.with_weight(100).with_description(&group_name)).collect();
    cloud
        .slb
        .vserver_groups()
        .add_backends(&group.vserver_group_id, backends)
        .send()
        .await
        .expect("AddVServerGroupBackendServers");
    let listener = ListenerSpec::tcp(80, ListenerBackend::VServerGroup(group.vserver_group_id))
        .with_scheduler(Scheduler::Rr)
        .with_description(format!("k8s/80/web/shop/{cluster}"));
    cloud.slb.listeners().create(&id, listener).send().await.expect("CreateLoadBalancerTCPListener");
    cloud.slb.listeners().start(&id, 80, ListenerProtocol::Tcp).send().await.expect("StartLoadBalancerListener");
    id
}

#[tokio::test]
async fn ccm_naming_adopts_what_ccm_made_without_a_write_and_keeps_its_address() {
    let s = setup(2, 2, cfg().with_naming(ack_net_slb::binding::Naming::Ccm)).await;
    // The API server gives the Service its UID, which CCM's names carry.
    s.api.put(Kind::Service, service(json!({}), tcp80())).await;
    let id = ccm_made(&s.cloud, &s.uid("web").await, "c-1", &s.cloud.instances).await;
    let before = s.only_lb();

    s.cloud.stats.reset();
    s.reconcile().await.expect("reconcile");
    assert_eq!(s.cloud.stats.writes(), 0, "adopted as it is: {}", s.cloud.stats);
    assert_eq!(s.writes(), ["PATCH services/web", "PATCH services/web/status"], "finalizer and address only");
    assert_eq!(s.ctx.load_balancer_of("shop/web").map(|i| i.to_string()), Some(id.to_string()));
    let svc = s.api.service("shop", "web").await.expect("service");
    let ingress = svc.status.and_then(|st| st.load_balancer).and_then(|l| l.ingress).expect("ingress");
    assert_eq!(ingress[0].ip.as_deref(), Some(before.address.as_str()));

    // The Service changes: same load balancer, same address, CCM's names on what is new.
    let ports = json!([{"name": "http", "port": 80, "nodePort": 30080, "protocol": "TCP", "targetPort": 8080},
                       {"name": "admin", "port": 8081, "nodePort": 30081, "protocol": "TCP", "targetPort": 9090}]);
    s.api.put(Kind::Service, service(json!({annotations::SCHEDULER: "wlc"}), ports)).await;
    s.reconcile().await.expect("reconcile");
    let after = s.only_lb();
    assert_eq!((after.id.as_str(), after.address.as_str()), (before.id.as_str(), before.address.as_str()));
    assert_eq!(after.listeners.len(), 2, "{:?}", after.listeners);
    let dump = s.cloud.mock.with_state(|st| st.slb.dump()).to_string();
    for name in ["k8s/8081/web/shop/c-1", "k8s/30081/web/shop/c-1"] {
        assert!(dump.contains(name), "{name} written as CCM writes it");
    }
    assert!(!dump.contains("ack-net.v1/"), "no ack-net marker in CCM naming");

    // Converged again: nothing to write. CCM's descriptions carry no fingerprint, so the
    // listeners and the groups are read every time: 3 + ports reads (ack-net's naming: 1 + ports).
    s.cloud.stats.reset();
    s.reconcile().await.expect("reconcile");
    assert_eq!(s.cloud.stats.writes(), 0, "{}", s.cloud.stats);
    assert_eq!(s.cloud.stats.reads(), 3 + 2, "{}", s.cloud.stats);
}

#[tokio::test]
async fn a_load_balancer_of_another_cluster_or_service_is_refused_untouched() {
    let s = setup(1, 1, cfg()).await;
    // CCM made it for shop/web of cluster c-9; this cluster (c-1) is told to reuse it.
    let id = ccm_made(&s.cloud, "uid-web", "c-9", &s.cloud.instances).await;
    let before = s.only_lb();
    s.api
        .put(
            Kind::Service,
            service(
                json!({annotations::ID: id.to_string()}),
                json!([
        {"name": "admin", "port": 8081, "nodePort": 30081, "protocol": "TCP"}]),
            ),
        )
        .await;
    s.cloud.stats.reset();
    let err = s.reconcile().await.unwrap_err();
    assert!(
        matches!(&err, Error::LoadBalancer(ack_net_slb::binding::BindingError::OwnedElsewhere { claimant, .. }) if claimant.contains("c-9")),
        "{err:?}"
    );
    assert_eq!(s.cloud.stats.writes(), 0, "{}", s.cloud.stats);
    assert_eq!(s.only_lb(), before);
    let events = s.events(&s.api.take_requests());
    assert!(events.iter().any(|(kind, _, note)| kind == "Warning" && note.contains("c-9")), "{events:?}");

    // The same in this cluster, but made for another Service.
    let s = setup(1, 1, cfg()).await;
    let id = ccm_made(&s.cloud, "uid-web", "c-1", &s.cloud.instances).await;
    let mut other = service(json!({annotations::ID: id.to_string()}), tcp80());
    other["metadata"]["name"] = json!("api");
    s.api.put(Kind::Service, other).await;
    let svc = s.api.service("shop", "api").await.expect("service");
    let err = ServiceReconciler::reconcile(Arc::new(svc), s.ctx.clone()).await.unwrap_err();
    assert!(matches!(&err, Error::LoadBalancer(ack_net_slb::binding::BindingError::OwnedElsewhere { .. })), "{err:?}");
}

#[tokio::test]
async fn the_hostname_annotation_is_the_ingress_instead_of_the_address() {
    let s = setup(1, 1, cfg()).await;
    s.api.put(Kind::Service, service(json!({annotations::HOSTNAME: "web.example.com"}), tcp80())).await;
    s.reconcile().await.expect("reconcile");
    let svc = s.api.service("shop", "web").await.expect("service");
    let ingress = svc.status.and_then(|st| st.load_balancer).and_then(|l| l.ingress).expect("ingress");
    assert_eq!(ingress.len(), 1);
    assert_eq!((ingress[0].hostname.as_deref(), ingress[0].ip.as_deref()), (Some("web.example.com"), None));
    s.api.take_requests();
    s.reconcile().await.expect("reconcile");
    assert!(s.writes().is_empty(), "the status is already so");

    // Without it, the address again.
    s.api.put(Kind::Service, service(json!({}), tcp80())).await;
    s.reconcile().await.expect("reconcile");
    let svc = s.api.service("shop", "web").await.expect("service");
    let ingress = svc.status.and_then(|st| st.load_balancer).and_then(|l| l.ingress).expect("ingress");
    assert_eq!((ingress[0].hostname.as_deref(), ingress[0].ip.as_deref()), (None, Some(s.only_lb().address.as_str())));
}

#[tokio::test]
async fn ccm_naming_adopts_an_eni_mode_load_balancer_by_its_target_port() {
    let s = setup(3, 0, cfg().with_naming(ack_net_slb::binding::Naming::Ccm)).await;
    let pods: Vec<ack_net_slb::Backend> = (0..3)
        .map(|i| ack_net_slb::Backend::eni(&s.cloud.enis[i].0.parse().unwrap(), s.cloud.enis[i].1, 8080))
        .collect();
    s.api.put(Kind::Service, service(json!({annotations::BACKEND_TYPE: "eni"}), tcp80())).await;
    ccm_made_with(&s.cloud, &s.uid("web").await, "c-1", "8080", pods).await;
    let before = s.only_lb();
    let eps: Vec<(std::net::IpAddr, &str, bool, bool)> =
        (0..3).map(|i| (s.cloud.enis[i].1, "n0", true, false)).collect();
    let mut slices = s.slices;
    slices.apply_watcher_event(&Event::Apply(parse(slice("web-abc", 8080, &eps))));

    s.cloud.stats.reset();
    let svc = s.api.service("shop", "web").await.expect("service");
    ServiceReconciler::reconcile(Arc::new(svc), s.ctx.clone()).await.expect("reconcile");
    assert_eq!(s.cloud.stats.writes(), 0, "adopted as it is: {}", s.cloud.stats);
    assert_eq!(s.cloud.load_balancers(), vec![before]);
}

#[tokio::test]
async fn ccm_naming_creates_what_ccm_would_take_as_its_own() {
    let s = setup(2, 2, cfg().with_naming(ack_net_slb::binding::Naming::Ccm)).await;
    s.api.put(Kind::Service, service(json!({}), tcp80())).await;
    s.reconcile().await.expect("reconcile");
    let lb = s.only_lb();
    let name = ack_net_slb::binding::ccm_load_balancer_name(&s.uid("web").await);
    assert!(lb.tags.contains(&("kubernetes.do.not.delete".to_owned(), name.clone())), "{:?}", lb.tags);
    assert!(lb.tags.contains(&("ack.aliyun.com".to_owned(), "c-1".to_owned())), "{:?}", lb.tags);
    let dump = s.cloud.mock.with_state(|st| st.slb.dump());
    let text = dump.to_string();
    assert!(text.contains(&format!("\"{name}\"")), "named as CCM names it");
    assert!(text.contains("\"k8s/80/web/shop/c-1\""), "the listener's description");
    let groups = dump["VServerGroups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1);
    assert!(groups[0].to_string().contains("\"k8s/30080/web/shop/c-1\""), "{}", groups[0]);
    let descriptions = text.matches("k8s/30080/web/shop/c-1").count();
    assert_eq!(descriptions, 3, "the group's name, and each of its 2 backends described by it");
    assert!(!text.contains("ack-net.v1/") && !text.contains("ack-net.service"));
}
