//! Restarts after each interrupted step: the pool is dropped at the step (the cloud call
//! made or not, its answer lost), and a new pool starts on the same journal.

mod pool_support;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ack_net_eni::pool::{
    CreateEniSpec, EcsPoolCloud, EniInfo, FileStore, IntentOp, IpPool, MemoryStore, PodRecord, PoolCloud, PoolStore,
};
use ack_net_eni::{
    EcsClient, EniId, Error, InstanceId, InstanceTypeId, InstanceTypeLimits, Removed, Tag, VSwitchId, WaitPolicy,
};
use async_trait::async_trait;
use pool_support::*;
use tokio::sync::Notify;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CrashAt {
    AfterCreate,
    AfterAttach,
    AfterAssign,
    BeforeUnassign,
    AfterUnassign,
    MidDelete,
}

/// The real cloud, that "crashes" (never answers) at one step.
struct Crashy {
    cloud: EcsPoolCloud,
    ecs: EcsClient,
    at: Mutex<Option<CrashAt>>,
    hit: Notify,
}

impl Crashy {
    fn new(w: &World) -> Arc<Crashy> {
        Arc::new(Crashy {
            cloud: w.cloud(),
            ecs: EcsClient::new(w.rpc.clone()),
            at: Mutex::new(None),
            hit: Notify::new(),
        })
    }

    fn arm(&self, at: CrashAt) {
        *self.at.lock().unwrap() = Some(at);
    }

    async fn maybe_crash(&self, here: CrashAt) {
        let hit = {
            let mut at = self.at.lock().unwrap();
            if *at == Some(here) {
                *at = None;
                true
            } else {
                false
            }
        };
        if hit {
            self.hit.notify_one();
            std::future::pending::<()>().await;
        }
    }
}

#[async_trait]
impl PoolCloud for Crashy {
    async fn instance_limits(&self, t: &InstanceTypeId) -> Result<InstanceTypeLimits, Error> {
        self.cloud.instance_limits(t).await
    }
    async fn vswitch(&self, id: &VSwitchId) -> Result<ack_net_eni::pool::VSwitchInfo, Error> {
        self.cloud.vswitch(id).await
    }
    async fn instance_enis(&self, i: &InstanceId) -> Result<Vec<EniInfo>, Error> {
        self.cloud.instance_enis(i).await
    }
    async fn tagged_enis(&self, tags: &[Tag]) -> Result<Vec<EniInfo>, Error> {
        self.cloud.tagged_enis(tags).await
    }
    async fn eni(&self, id: &EniId) -> Result<Option<EniInfo>, Error> {
        self.cloud.eni(id).await
    }
    async fn create_eni(&self, spec: &CreateEniSpec) -> Result<EniInfo, Error> {
        let r = self.cloud.create_eni(spec).await;
        self.maybe_crash(CrashAt::AfterCreate).await;
        r
    }
    async fn attach_eni(&self, eni: &EniId, i: &InstanceId) -> Result<(), Error> {
        let r = self.cloud.attach_eni(eni, i).await;
        self.maybe_crash(CrashAt::AfterAttach).await;
        r
    }
    async fn wait_in_use(&self, eni: &EniId, i: &InstanceId, p: &WaitPolicy) -> Result<EniInfo, Error> {
        self.cloud.wait_in_use(eni, i, p).await
    }
    async fn delete_eni(&self, eni: &EniId) -> Result<Removed, Error> {
        self.cloud.delete_eni(eni).await
    }
    async fn detach_and_delete(&self, eni: &EniId, p: &WaitPolicy) -> Result<Removed, Error> {
        if *self.at.lock().unwrap() == Some(CrashAt::MidDelete) {
            let e = self.ecs.network_interfaces().get(eni).await?;
            if let Some(i) = &e.instance_id {
                self.ecs.network_interfaces().detach(eni, i).send().await?;
            }
            self.maybe_crash(CrashAt::MidDelete).await;
        }
        self.cloud.detach_and_delete(eni, p).await
    }
    async fn assign_ipv4(&self, eni: &EniId, n: u32, token: &str) -> Result<Vec<Ipv4Addr>, Error> {
        let r = self.cloud.assign_ipv4(eni, n, token).await;
        self.maybe_crash(CrashAt::AfterAssign).await;
        r
    }
    async fn assign_ipv6(&self, eni: &EniId, n: u32, token: &str) -> Result<Vec<Ipv6Addr>, Error> {
        self.cloud.assign_ipv6(eni, n, token).await
    }
    async fn unassign_ipv4(&self, eni: &EniId, ips: &[Ipv4Addr]) -> Result<Removed, Error> {
        self.maybe_crash(CrashAt::BeforeUnassign).await;
        let r = self.cloud.unassign_ipv4(eni, ips).await;
        self.maybe_crash(CrashAt::AfterUnassign).await;
        r
    }
    async fn unassign_ipv6(&self, eni: &EniId, ips: &[Ipv6Addr]) -> Result<Removed, Error> {
        self.cloud.unassign_ipv6(eni, ips).await
    }
}

async fn start_crashy(
    w: &World,
    crashy: &Arc<Crashy>,
    config: ack_net_eni::pool::PoolConfig,
    store: &MemoryStore,
) -> IpPool {
    let cloud: Arc<dyn PoolCloud> = crashy.clone();
    let capacity: Arc<dyn ack_net_vpc::VSwitchSource> = Arc::new(w.cloud());
    IpPool::builder(config).cloud(cloud).capacity(capacity).store(Arc::new(store.clone())).start().await.unwrap()
}

async fn wait_hit(crashy: &Crashy) {
    tokio::time::timeout(Duration::from_secs(10), crashy.hit.notified()).await.expect("the step was reached");
}

/// Starts again on the same journal, lets it settle, collects garbage and checks that the
/// cloud holds exactly what the pool holds.
async fn restart(w: &World, store: &MemoryStore, live: &[&str]) -> IpPool {
    let pool = w.start(w.config().warm_band(0, 2), Arc::new(store.clone())).await.unwrap();
    settle(&pool).await;
    pool.gc(live.iter().copied()).await.unwrap();
    settle(&pool).await;
    assert!(store.snapshot().intents.is_empty(), "every intent settled: {:?}", store.snapshot().intents);
    w.assert_cloud_matches(&pool);
    pool
}

#[tokio::test]
async fn eni_created_but_not_attached() {
    let w = world("ecs.g7.large").await;
    let store = MemoryStore::new();
    let crashy = Crashy::new(&w);
    crashy.arm(CrashAt::AfterCreate);
    let pool = start_crashy(&w, &crashy, w.config().warm_band(0, 2), &store).await;
    let p = pool.clone();
    let pending = tokio::spawn(async move { p.allocate("ns/a").await });
    wait_hit(&crashy).await;
    assert!(matches!(&store.snapshot().intents[..], [i] if matches!(i.op, IntentOp::CreateEni { .. })));
    pending.abort();
    drop(pool);
    assert_eq!(w.pool_enis(POOL)[0].1, "Available");

    let pool = restart(&w, &store, &[]).await;
    let a = pool.allocate("ns/a").await.unwrap();
    assert_eq!(w.count("CreateNetworkInterface"), 1, "the interrupted creation was finished, not repeated");
    assert_eq!(pool.enis(), vec![a.eni_id]);
    w.assert_cloud_matches(&pool);
}

#[tokio::test]
async fn eni_attached_but_not_recorded() {
    let w = world("ecs.g7.large").await;
    let store = MemoryStore::new();
    let crashy = Crashy::new(&w);
    crashy.arm(CrashAt::AfterAttach);
    let pool = start_crashy(&w, &crashy, w.config().warm_band(0, 2), &store).await;
    let p = pool.clone();
    let pending = tokio::spawn(async move { p.allocate("ns/a").await });
    wait_hit(&crashy).await;
    pending.abort();
    drop(pool);

    let pool = restart(&w, &store, &[]).await;
    assert_eq!(pool.enis().len(), 1, "adopted");
    pool.allocate("ns/a").await.unwrap();
    assert_eq!(w.count("CreateNetworkInterface"), 1);
    w.assert_cloud_matches(&pool);
}

#[tokio::test]
async fn assign_sent_but_reply_lost() {
    let w = world("ecs.g7.large").await;
    let store = MemoryStore::new();
    let crashy = Crashy::new(&w);
    let pool = start_crashy(&w, &crashy, w.config().warm_band(0, 0), &store).await;
    let a = pool.allocate("ns/a").await.unwrap();
    settle(&pool).await;
    crashy.arm(CrashAt::AfterAssign);
    let p = pool.clone();
    let pending = tokio::spawn(async move { p.allocate("ns/b").await });
    wait_hit(&crashy).await;
    pending.abort();
    drop(pool);
    let on_cloud = w.pool_enis(POOL)[0].2.len();
    assert!(on_cloud >= 2, "the assign was made");

    let pool = restart(&w, &store, &["ns/a"]).await;
    assert_eq!(pool.allocate("ns/a").await.unwrap().ipv4, a.ipv4, "the journaled pod keeps its address");
    assert_eq!(pool.addresses().len(), on_cloud, "the lost reply's addresses were adopted");
    let b = pool.allocate("ns/b").await.unwrap();
    assert_ne!(a.ipv4, b.ipv4);
    assert_eq!(w.count("AssignPrivateIpAddresses"), 1, "served from the adopted addresses");
}

async fn interrupted_unassign(at: CrashAt) {
    let w = world("ecs.g7.large").await;
    let store = MemoryStore::new();
    let crashy = Crashy::new(&w);
    let pool = start_crashy(&w, &crashy, w.config().warm_band(0, 0), &store).await;
    let mut held = Vec::new();
    for i in 0..4 {
        held.push(pool.allocate(&format!("ns/{i}")).await.unwrap());
    }
    settle(&pool).await;
    crashy.arm(at);
    pool.release("ns/1").await.unwrap();
    pool.release("ns/2").await.unwrap();
    wait_hit(&crashy).await;
    let leaving: Vec<Ipv4Addr> = store
        .snapshot()
        .intents
        .iter()
        .flat_map(|i| match &i.op {
            IntentOp::Unassign { ipv4, .. } => ipv4.clone(),
            _ => Vec::new(),
        })
        .collect();
    assert!(!leaving.is_empty());
    drop(pool);

    let pool = restart(&w, &store, &["ns/0", "ns/3"]).await;
    for ip in &leaving {
        assert!(!pool.addresses().iter().any(|(_, a, _)| a == ip), "{ip} was being given back: never handed out again");
    }
    assert_eq!(pool.allocate("ns/0").await.unwrap().ipv4, held[0].ipv4);
    assert_eq!(pool.allocate("ns/3").await.unwrap().ipv4, held[3].ipv4);
    for i in 10..13 {
        let a = pool.allocate(&format!("ns/{i}")).await.unwrap();
        assert!(!leaving.contains(&a.ipv4) || w.pool_enis(POOL).iter().any(|e| e.2.contains(&a.ipv4)));
    }
    settle(&pool).await;
    w.assert_cloud_matches(&pool);
}

#[tokio::test]
async fn unassign_interrupted_before_it_was_sent() {
    interrupted_unassign(CrashAt::BeforeUnassign).await;
}

#[tokio::test]
async fn unassign_sent_but_reply_lost() {
    interrupted_unassign(CrashAt::AfterUnassign).await;
}

#[tokio::test]
async fn delete_interrupted_after_detach() {
    let w = world("ecs.g7.large").await;
    let store = MemoryStore::new();
    let crashy = Crashy::new(&w);
    let pool = start_crashy(&w, &crashy, w.config().warm_band(0, 0), &store).await;
    pool.allocate("ns/a").await.unwrap();
    settle(&pool).await;
    crashy.arm(CrashAt::MidDelete);
    pool.release("ns/a").await.unwrap();
    wait_hit(&crashy).await;
    drop(pool);
    assert_eq!(w.pool_enis(POOL).len(), 1);

    let pool = restart(&w, &store, &[]).await;
    assert!(pool.enis().is_empty());
    assert!(w.pool_enis(POOL).is_empty(), "the deletion was finished");
}

#[tokio::test]
async fn journal_and_cloud_disagreeing_is_quarantined() {
    let w = world("ecs.g7.large").await;
    let store = MemoryStore::new();
    let pool = w.start(w.config().warm_band(0, 6), Arc::new(store.clone())).await.unwrap();
    let a = pool.allocate("ns/a").await.unwrap();
    let b = pool.allocate("ns/b").await.unwrap();
    settle(&pool).await;
    drop(pool);
    // Tamper: ns/a's record names another ENI; ns/c claims ns/b's address; ns/d an address
    // the cloud does not have.
    let mut snap = store.snapshot();
    let other: EniId = "eni-elsewhere".parse().unwrap();
    snap.allocations.insert("ns/a".into(), PodRecord::new("ns/a", other, a.ipv4, None));
    snap.allocations.insert("ns/c".into(), PodRecord::new("ns/c", b.eni_id.clone(), b.ipv4, None));
    let nowhere: Ipv4Addr = "192.168.1.200".parse().unwrap();
    snap.allocations.insert("ns/d".into(), PodRecord::new("ns/d", b.eni_id.clone(), nowhere, None));
    store.replace(snap);

    let pool = w.start(w.config().warm_band(0, 6), Arc::new(store.clone())).await.unwrap();
    let m = pool.metrics();
    assert_eq!(m.quarantined, 2, "{m:?}");
    assert_eq!(m.stale_allocations, 4, "{m:?}");
    assert!(pool.pods().is_empty(), "no pod gets a disputed address");
    for i in 0..4 {
        let x = pool.allocate(&format!("ns/new-{i}")).await.unwrap();
        assert!(![a.ipv4, b.ipv4, nowhere].contains(&x.ipv4), "a quarantined address was handed out");
    }
    // Once the pods are gone, GC releases the records and the addresses come back.
    let live: Vec<String> = (0..4).map(|i| format!("ns/new-{i}")).collect();
    let report = pool.gc(&live).await.unwrap();
    assert_eq!(report.released_pods.len(), 4, "{report:?}");
    let m = pool.metrics();
    assert_eq!((m.quarantined, m.stale_allocations), (0, 0), "{m:?}");
    assert!(store.snapshot().allocations.keys().all(|k| k.starts_with("ns/new-")));
    settle(&pool).await;
    w.assert_cloud_matches(&pool);
}

#[tokio::test]
async fn file_store_restart_keeps_every_pod_address() {
    let w = world("ecs.g7.large").await;
    let dir = std::env::temp_dir().join(format!("ack-net-pool-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("pool.json");
    let _ = std::fs::remove_file(&path);
    let store: Arc<dyn PoolStore> = Arc::new(FileStore::open(&path).await.unwrap());
    let pool = w.start(w.config().warm_band(1, 3), store).await.unwrap();
    let mut held = Vec::new();
    for i in 0..5 {
        held.push(pool.allocate(&format!("ns/{i}")).await.unwrap());
    }
    pool.release("ns/4").await.unwrap();
    drop(pool);

    let store: Arc<dyn PoolStore> = Arc::new(FileStore::open(&path).await.unwrap());
    assert_eq!(store.load().await.unwrap().allocations.len(), 4);
    let pool = w.start(w.config().warm_band(1, 3), store).await.unwrap();
    for a in &held[..4] {
        assert_eq!(pool.allocate(&a.pod).await.unwrap(), *a);
    }
    settle(&pool).await;
    pool.gc(held[..4].iter().map(|a| a.pod.as_str())).await.unwrap();
    settle(&pool).await;
    w.assert_cloud_matches(&pool);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn foreign_enis_are_never_touched() {
    let w = world("ecs.g7.xlarge").await;
    let ecs = EcsClient::new(w.rpc.clone());
    // Untagged, attached to our instance: takes one of its ENI slots.
    let theirs = ecs
        .network_interfaces()
        .create(&w.vswitches[0])
        .security_group(&w.sg)
        .secondary_ip_count(2)
        .send_and_attach(&w.instance, &waits())
        .await
        .unwrap();
    // Same pool tags, but on another instance.
    let other = w
        .mock
        .create_instance(ack_net_mock::InstanceSeed {
            region_id: REGION.into(),
            zone_id: ZONE.into(),
            instance_type: "ecs.g7.large".into(),
            vswitch_id: w.vswitches[0].to_string(),
            security_group_ids: vec![w.sg.to_string()],
            instance_id: None,
        })
        .unwrap();
    let lookalike = ecs
        .network_interfaces()
        .create(&w.vswitches[0])
        .security_group(&w.sg)
        .tag(Tag::new(ack_net_eni::pool::OWNER_TAG_KEY, POOL))
        .tag(Tag::new(ack_net_eni::pool::CLUSTER_TAG_KEY, CLUSTER))
        .send_and_attach(&other["InstanceId"].as_str().unwrap().parse().unwrap(), &waits())
        .await
        .unwrap();
    let pool = w.start(w.config().warm_band(0, 0), Arc::new(MemoryStore::new())).await.unwrap();
    assert_eq!(pool.policy().max_enis, 2, "ecs.g7.xlarge: 4 ENIs, the primary and one foreign taken");
    pool.allocate("ns/a").await.unwrap();
    pool.release("ns/a").await.unwrap();
    settle(&pool).await;
    pool.gc(Vec::<String>::new()).await.unwrap();
    settle(&pool).await;
    let enis = w.enis();
    for id in [&theirs.id, &lookalike.id] {
        let e = enis.iter().find(|e| e["NetworkInterfaceId"] == id.as_str()).expect("still there");
        assert_eq!(e["Status"], "InUse");
    }
    assert!(pool.enis().is_empty());
}
