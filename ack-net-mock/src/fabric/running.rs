//! The running fabric: its thread, its configuration, what it reports.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

use super::exec::Executor;
use super::model::{self, Topology};
use super::sandbox::{in_sandbox, Netns};
use crate::dispatch::{lock, Core};

/// How the fabric runs.
#[derive(Clone, Debug)]
pub struct FabricConfig {
    nft: PathBuf,
    interval: Duration,
}

impl Default for FabricConfig {
    fn default() -> Self {
        Self { nft: PathBuf::from("nft"), interval: Duration::from_millis(5) }
    }
}

impl FabricConfig {
    /// The `nft` program (default: `nft` on the `PATH`, from Debian's `nftables` package).
    pub fn nft_program(mut self, path: impl Into<PathBuf>) -> Self {
        self.nft = path.into();
        self
    }

    /// How often the fabric compares the state with what it made (default 5 ms).
    pub fn interval(mut self, every: Duration) -> Self {
        self.interval = every;
        self
    }
}

/// Why the fabric could not start (the control plane serves without it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FabricError {
    /// The process did not enter its namespace sandbox.
    #[error(
        "the fabric needs the namespace sandbox: call ack_net_mock::fabric::enter_sandbox() first thing in main \
         (the ack-net-mock binary does with --fabric)"
    )]
    NoSandbox,
    /// A program the fabric needs is missing.
    #[error("the fabric needs {program} ({install}): {source}")]
    Missing {
        /// The program.
        program: String,
        /// How to get it.
        install: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// Network namespaces cannot be made here.
    #[error("the fabric cannot make network namespaces: {0}")]
    Namespaces(std::io::Error),
}

/// What the fabric shares with its thread.
#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    rounds: AtomicU64,
    routers: Mutex<HashMap<String, Arc<Netns>>>,
    nodes: Mutex<HashMap<String, Arc<Netns>>>,
    lbs: Mutex<HashMap<String, Arc<Netns>>>,
}

/// The running data plane of a [`MockCloud`](crate::MockCloud). Dropping it removes everything
/// it made.
#[derive(Debug)]
pub struct Fabric {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Fabric {
    /// Checks what the fabric needs and starts its thread over `core`'s state.
    pub(crate) fn start(core: Arc<Core>, config: FabricConfig) -> Result<Fabric, FabricError> {
        if !in_sandbox() {
            return Err(FabricError::NoSandbox);
        }
        std::process::Command::new(&config.nft).arg("--version").output().map_err(|source| FabricError::Missing {
            program: config.nft.display().to_string(),
            install: "Debian package nftables: apt-get install nftables",
            source,
        })?;
        drop(Netns::new().map_err(FabricError::Namespaces)?);
        let exec = Executor::new(config.nft.clone()).map_err(FabricError::Namespaces)?;
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("ack-net-fabric".into())
            .spawn(move || follow(core, s, exec, config.interval))
            .map_err(FabricError::Namespaces)?;
        Ok(Fabric { shared, thread: Some(thread) })
    }

    /// The namespace of an ECS instance (its node), once the fabric made it.
    pub fn node(&self, instance_id: &str) -> Option<Arc<Netns>> {
        lock(&self.shared.nodes).get(instance_id).cloned()
    }

    /// The router namespace (vRouter) of a VPC, once the fabric made it.
    pub fn router(&self, vpc_id: &str) -> Option<Arc<Netns>> {
        lock(&self.shared.routers).get(vpc_id).cloned()
    }

    /// The namespace of a load balancer (in a VPC), once the fabric made it: its address is
    /// on `eth0` there, and its proxy listens there.
    pub fn load_balancer(&self, load_balancer_id: &str) -> Option<Arc<Netns>> {
        lock(&self.shared.lbs).get(load_balancer_id).cloned()
    }

    /// Waits until the fabric has applied the state as it is now (two full rounds after the
    /// call), or `timeout` passed; answers whether it did.
    pub async fn settled(&self, timeout: Duration) -> bool {
        let start = self.shared.rounds.load(Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + timeout;
        while self.shared.rounds.load(Ordering::SeqCst) < start + 2 {
            if tokio::time::Instant::now() >= deadline || self.thread.as_ref().is_none_or(|t| t.is_finished()) {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        true
    }

    /// Stops following the state and removes every namespace, link and rule the fabric made.
    pub fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
        lock(&self.shared.nodes).clear();
        lock(&self.shared.routers).clear();
        lock(&self.shared.lbs).clear();
    }
}

impl Drop for Fabric {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The fabric's thread: compare, apply, report, until told to stop; then tear down.
fn follow(core: Arc<Core>, shared: Arc<Shared>, mut exec: Executor, interval: Duration) {
    let mut applied = Topology::default();
    let mut errors: BTreeMap<String, String> = BTreeMap::new();
    while !shared.stop.load(Ordering::SeqCst) {
        let want = model::topology(&core.world().state, tokio::time::Instant::now());
        if want != applied {
            for op in model::plan(&applied, &want) {
                match exec.apply(&op) {
                    Ok(()) => {
                        errors.remove(&op.resource());
                    }
                    Err(e) => {
                        tracing::warn!(resource = %op.resource(), error = %e, "fabric step failed");
                        errors.insert(op.resource(), e);
                    }
                }
            }
            applied = want;
            publish(&shared.routers, &exec.routers);
            publish(&shared.nodes, &exec.nodes);
            let lbs: HashMap<String, &super::exec::Space> =
                exec.lbs.iter().map(|(k, l)| (k.clone(), &l.space)).collect();
            publish(&shared.lbs, &lbs);
            *core.fabric_report() = Some(report(&applied, &errors));
        }
        shared.rounds.fetch_add(1, Ordering::SeqCst);
        std::thread::park_timeout(interval);
    }
    exec.teardown();
    *core.fabric_report() = Some(json!({ "running": false, "errors": errors }));
}

fn publish<S: std::borrow::Borrow<super::exec::Space>>(
    to: &Mutex<HashMap<String, Arc<Netns>>>,
    from: &HashMap<String, S>,
) {
    let mut map = lock(to);
    map.retain(|k, _| from.contains_key(k));
    for (k, space) in from {
        map.entry(k.clone()).or_insert_with(|| space.borrow().ns.clone());
    }
}

fn report(t: &Topology, errors: &BTreeMap<String, String>) -> Value {
    json!({
        "running": true,
        "routers": t.vpcs.len(),
        "segments": t.vpcs.values().map(|v| v.segments.len()).sum::<usize>(),
        "nodes": t.instances.len(),
        "links": t.enis.len(),
        "load_balancers": t.lbs.len(),
        "errors": errors,
    })
}
