//! Enforcement on a node: a [`NetworkPolicyReconciler`] watches the cluster's Namespaces, Pods,
//! ServiceAccounts, NetworkPolicies and (optionally) Calico's policies and Tiers on the API
//! server, and keeps the node's nftables table equal to what the [`CalicoEngine`] compiles for
//! the pods of this node.
//!
//! - **Atomic and incremental.** The first load after a start loads the whole table with
//!   [`load_table`]: built under whichever of the table's name and its [`twin`] is not in force,
//!   in as many transactions as the kernel takes (an unprivileged `nft` gets about 400 rules per
//!   transaction; a node of 110 pods has about 2,100), none of which changes what a packet
//!   meets, then put in force in one small transaction that also deletes the other table. Each
//!   change after it is one transaction of what differs ([`NftTable::update_from`]: a pod added
//!   to a selector changes set elements, a policy the chains of the pods it selects). There is
//!   no moment without rules or with half of them, nothing is loaded when nothing changed, and a
//!   reload after an agent restart gives the same ruleset; a table left half built by a crash
//!   is inert, and deleted by the next whole load. If an update is refused (someone changed the
//!   table, or it is too large for one transaction), the whole table is loaded instead.
//! - **Never more permissive than asked.** Nothing is loaded before every watch has listed its
//!   objects once. A policy the engine cannot represent exactly (a Calico `http` match, a
//!   selector that does not parse, an unknown field with [`Parsing::Strict`]) is refused with a
//!   Warning Event on the policy, and the pods it selects keep their previous state: the last
//!   version of that policy that was accepted stays in force, and a policy never accepted adds
//!   nothing. When the cluster as a whole cannot be evaluated (two pods claiming one address, a
//!   policy in a Tier that does not exist), the rules loaded last stay and the reconciler
//!   retries with its [`Backoff`].
//!

mod load;
mod run;

pub use load::{load_table, twin};

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, ObjectReference, Pod, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{ApiResource, DynamicObject};
use kube::runtime::events::Reporter;
use kube::runtime::reflector::{self, Store};
use kube::Resource as _;

use super::calico::{CalicoEngine, CalicoResource, LogTarget, NftTable, Parsing};
use super::{Error as PolicyError, PolicyEngine};
use crate::events::Events;
use crate::Backoff;

/// Where a node's rendered ruleset goes: [`NftCommand`] loads it into the kernel; a test can
/// record it.
pub trait RuleSink: Send + Sync + 'static {
    /// Applies `ruleset` (`nft -f` syntax: a whole table, a step of one, or an update) in one
    /// transaction.
    ///
    /// # Errors
    ///
    /// Why the ruleset could not be loaded; the reconciler retries with its backoff.
    fn load(&self, ruleset: &str) -> Result<(), EnforceError>;

    /// Whether the `inet` table `table` is in force: it exists and has its `forward` base
    /// chain. [`load_table`] gives a table that chain last, in the transaction that deletes the
    /// table in force before it, so a table without it is inert (e.g. half built when the agent
    /// stopped).
    ///
    /// # Errors
    ///
    /// Why the kernel's tables could not be read.
    fn in_force(&self, table: &str) -> Result<bool, EnforceError>;
}

/// Loads rulesets by running `nft -f -` (Debian's `nftables` package), which applies a file
/// as one kernel transaction.
///
/// Why the `nft` program and not a netlink crate: the nftables ruleset language is the one
/// stable, documented interface to the whole of nf_tables (sets with intervals, verdict maps,
/// `goto`, `log`), `nft` validates a file completely before it commits it, and the Rust crates
/// that speak nf_tables netlink directly either cover only part of it or shell out to `nft`
/// themselves.
#[derive(Clone, Debug)]
pub struct NftCommand {
    program: PathBuf,
}

impl Default for NftCommand {
    fn default() -> Self {
        Self { program: PathBuf::from("nft") }
    }
}

impl NftCommand {
    /// Runs `program` instead of `nft` from `PATH`.
    pub fn with_program(program: impl Into<PathBuf>) -> Self {
        Self { program: program.into() }
    }
}

impl NftCommand {
    /// Runs `nft` with `args`, `input` on its standard input; its output when it succeeded, else
    /// its standard error.
    fn run(&self, args: &[&str], input: &str) -> Result<Result<String, String>, EnforceError> {
        let failed = |reason: String| EnforceError::Load { reason };
        let mut child = Command::new(&self.program)
            .args(args)
            // Its messages untranslated: `in_force` reads one.
            .env("LC_ALL", "C")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                failed(format!(
                    "cannot run {} ({e}); install nftables (apt-get install nftables)",
                    self.program.display()
                ))
            })?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(input.as_bytes()).map_err(|e| failed(format!("writing to nft: {e}")))?;
        }
        let out = child.wait_with_output().map_err(|e| failed(format!("waiting for nft: {e}")))?;
        Ok(if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!("nft {}: {} {}", args.join(" "), out.status, String::from_utf8_lossy(&out.stderr).trim()))
        })
    }
}

impl RuleSink for NftCommand {
    fn load(&self, ruleset: &str) -> Result<(), EnforceError> {
        self.run(&["-f", "-"], ruleset)?.map(drop).map_err(|reason| EnforceError::Load { reason })
    }

    fn in_force(&self, table: &str) -> Result<bool, EnforceError> {
        match self.run(&["list", "chain", "inet", table, "forward"], "")? {
            Ok(_) => Ok(true),
            // No such table, or no such chain in it.
            Err(reason) if reason.contains("No such file or directory") => Ok(false),
            Err(reason) => Err(EnforceError::Load { reason }),
        }
    }
}

/// Why a sync of the node's rules did not complete. The rules loaded last stay in force.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnforceError {
    /// The cluster's objects cannot be evaluated together (e.g. two pods with one address, a
    /// Calico policy in a Tier that does not exist).
    #[error("the cluster's policies cannot be evaluated: {0}")]
    Cluster(#[source] PolicyError),
    /// The rule sink refused the ruleset.
    #[error("loading the node's rules failed: {reason}")]
    Load {
        /// What the sink said.
        reason: String,
    },
    /// A call to the API server failed.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// [`NetworkPolicyReconciler::run`] was called twice: the caches were taken.
    #[error("the reconciler is already running")]
    AlreadyRunning,
}

/// Maps a pod of this node to the name of its host-side interface, or `None` for a pod whose
/// traffic this node does not filter (another node's, a host-network pod).
pub type InterfaceOf = dyn Fn(&Pod) -> Option<String> + Send + Sync;

/// A policy that was not enforced as written.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The policy.
    pub object: ObjectReference,
    /// Why the engine cannot represent it exactly.
    pub error: String,
    /// Whether an earlier accepted version of the policy stays in force (otherwise the policy
    /// adds nothing).
    pub kept_previous: bool,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keeps = if self.kept_previous {
            "its previously accepted version stays in force"
        } else {
            "it is not enforced; the pods it selects keep their previous rules"
        };
        write!(f, "refused: {} ({keeps})", self.error)
    }
}

/// What one evaluation of the cluster gives for this node.
#[derive(Debug, Clone)]
pub struct NodeRules {
    /// The node's table.
    pub table: NftTable,
    /// The policies that were not enforced as written.
    pub refused: Vec<Refusal>,
}

/// The objects of the cluster the rules depend on (e.g. a reflector's snapshot).
#[derive(Default, Clone)]
pub struct ClusterObjects {
    /// Every Namespace.
    pub namespaces: Vec<Arc<Namespace>>,
    /// Every Pod (pods of other nodes are peers).
    pub pods: Vec<Arc<Pod>>,
    /// Every ServiceAccount (for Calico's `serviceAccountSelector`).
    pub service_accounts: Vec<Arc<ServiceAccount>>,
    /// Every Kubernetes NetworkPolicy.
    pub policies: Vec<Arc<NetworkPolicy>>,
    /// Every Calico NetworkPolicy, GlobalNetworkPolicy and Tier, as the API server serves them.
    pub calico: Vec<Arc<DynamicObject>>,
}

/// The last accepted version of each policy, by kind, namespace and name.
#[derive(Default)]
struct Accepted {
    kubernetes: HashMap<(String, String), Arc<NetworkPolicy>>,
    calico: HashMap<(String, String, String), CalicoResource>,
}

/// Keeps a node's nftables table equal to the cluster's Kubernetes and Calico policies for the
/// pods of that node (see the [module docs](self)).
///
/// ```no_run
/// use ack_net_k8s::netpol::enforce::{NetworkPolicyReconciler, NftCommand};
/// # async fn run(client: kube::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let node = "cn-hangzhou.192.168.0.7";
/// NetworkPolicyReconciler::new(client, node, |pod| {
///     // The host side of the pod's veth, as the CNI plugin named it.
///     let (ns, name) = (pod.metadata.namespace.as_deref()?, pod.metadata.name.as_deref()?);
///     Some(format!("veth-{ns}-{name}"))
/// })
/// .with_calico(NetworkPolicyReconciler::calico_v3())
/// .with_sink(NftCommand::default())
/// .run()
/// .await?;
/// # Ok(()) }
/// ```
pub struct NetworkPolicyReconciler {
    client: kube::Client,
    node: String,
    table: String,
    interface: Box<InterfaceOf>,
    sink: Arc<dyn RuleSink>,
    calico: Vec<ApiResource>,
    parsing: Parsing,
    log: LogTarget,
    debounce: Duration,
    backoff: Backoff,
    reporter: Reporter,
    accepted: std::sync::Mutex<Accepted>,
}

impl fmt::Debug for NetworkPolicyReconciler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkPolicyReconciler")
            .field("node", &self.node)
            .field("table", &self.table)
            .field("calico", &self.calico.iter().map(|r| &r.kind).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl NetworkPolicyReconciler {
    /// A reconciler for `node`'s pods (`spec.nodeName`) whose host-side interfaces `interface`
    /// names. It watches Kubernetes NetworkPolicies only until [`with_calico`](Self::with_calico),
    /// loads through [`NftCommand`] into the `inet` table `ack_net_policy`, and reports as
    /// `ack-net-netpol`.
    pub fn new(
        client: kube::Client,
        node: impl Into<String>,
        interface: impl Fn(&Pod) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            client,
            node: node.into(),
            table: "ack_net_policy".to_owned(),
            interface: Box::new(interface),
            sink: Arc::new(NftCommand::default()),
            calico: Vec::new(),
            parsing: Parsing::Lenient,
            log: LogTarget::KernelLog,
            debounce: Duration::from_millis(100),
            backoff: Backoff::default(),
            reporter: Reporter { controller: "ack-net-netpol".to_owned(), instance: None },
            accepted: std::sync::Mutex::default(),
        }
    }

    /// The API resources of Calico's `projectcalico.org/v3` NetworkPolicy, GlobalNetworkPolicy
    /// and Tier, as Calico's API server (or CRDs of that group) serves them.
    pub fn calico_v3() -> Vec<ApiResource> {
        let resource = |kind: &str, plural: &str| ApiResource {
            group: "projectcalico.org".to_owned(),
            version: "v3".to_owned(),
            api_version: "projectcalico.org/v3".to_owned(),
            kind: kind.to_owned(),
            plural: plural.to_owned(),
        };
        vec![
            resource("NetworkPolicy", "networkpolicies"),
            resource("GlobalNetworkPolicy", "globalnetworkpolicies"),
            resource("Tier", "tiers"),
        ]
    }

    /// Also watches these Calico resources (see [`calico_v3`](Self::calico_v3)).
    pub fn with_calico(mut self, resources: Vec<ApiResource>) -> Self {
        self.calico = resources;
        self
    }

    /// How Calico objects are read: [`Parsing::Lenient`] (the default) ignores fields it does
    /// not know that cannot change a verdict; [`Parsing::Strict`] refuses them.
    pub fn with_parsing(mut self, parsing: Parsing) -> Self {
        self.parsing = parsing;
        self
    }

    /// Where Calico's `Log` rules write (default: the kernel log, which only the initial
    /// network namespace has; [`LogTarget::Nflog`] works in any).
    pub fn with_log(mut self, log: LogTarget) -> Self {
        self.log = log;
        self
    }

    /// Where rulesets go (default: [`NftCommand`]).
    pub fn with_sink(mut self, sink: impl RuleSink) -> Self {
        self.sink = Arc::new(sink);
        self
    }

    /// The nftables table (`inet`) the reconciler owns (default `ack_net_policy`).
    pub fn with_table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// How long a burst of changes is collected before one sync (default 100 ms).
    pub fn with_debounce(mut self, debounce: Duration) -> Self {
        self.debounce = debounce;
        self
    }

    /// The delays between retries of a failing sync.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Who the Events say reported them.
    pub fn with_reporter(mut self, reporter: Reporter) -> Self {
        self.reporter = reporter;
        self
    }

    /// The node whose pods are filtered.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Evaluates the cluster for this node: the ruleset to load and the policies refused.
    /// Remembers each accepted policy, so that a later invalid version of it is replaced by the
    /// last accepted one.
    ///
    /// # Errors
    ///
    /// [`EnforceError::Cluster`] when the objects cannot be evaluated together.
    pub fn render(&self, objects: &ClusterObjects) -> Result<NodeRules, EnforceError> {
        let mut accepted = self.accepted.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut refused = Vec::new();

        let mut policies: Vec<Arc<NetworkPolicy>> = Vec::new();
        let mut seen = HashSet::new();
        for policy in &objects.policies {
            let key = (
                policy.metadata.namespace.clone().unwrap_or_default(),
                policy.metadata.name.clone().unwrap_or_default(),
            );
            seen.insert(key.clone());
            let no_pods: [&Pod; 0] = [];
            match PolicyEngine::new(std::iter::empty::<&Namespace>(), no_pods, [&**policy]) {
                Ok(_) => {
                    accepted.kubernetes.insert(key, policy.clone());
                    policies.push(policy.clone());
                }
                Err(e) => {
                    let previous = accepted.kubernetes.get(&key).cloned();
                    refused.push(Refusal {
                        object: policy.object_ref(&()),
                        error: e.to_string(),
                        kept_previous: previous.is_some(),
                    });
                    policies.extend(previous);
                }
            }
        }
        accepted.kubernetes.retain(|k, _| seen.contains(k));

        let mut calico = Vec::new();
        let mut seen = HashSet::new();
        for object in &objects.calico {
            let reference = calico_reference(object);
            let key = (
                reference.kind.clone().unwrap_or_default(),
                reference.namespace.clone().unwrap_or_default(),
                reference.name.clone().unwrap_or_default(),
            );
            seen.insert(key.clone());
            let parsed = serde_json::to_value(&**object)
                .map_err(|e| PolicyError::CalicoDocument { document: 0, reason: e.to_string() })
                .and_then(|value| CalicoResource::from_value(value, self.parsing));
            match parsed {
                Ok(resource) => {
                    accepted.calico.insert(key, resource.clone());
                    calico.push(resource);
                }
                Err(e) => {
                    let previous = accepted.calico.get(&key).cloned();
                    refused.push(Refusal {
                        object: reference,
                        error: e.to_string(),
                        kept_previous: previous.is_some(),
                    });
                    calico.extend(previous);
                }
            }
        }
        accepted.calico.retain(|k, _| seen.contains(k));
        drop(accepted);

        // The same objects in any order give the same text: nothing is reloaded for an order.
        let mut pods: Vec<&Pod> = objects.pods.iter().map(|p| &**p).collect();
        pods.sort_by(|a, b| (&a.metadata.namespace, &a.metadata.name).cmp(&(&b.metadata.namespace, &b.metadata.name)));
        policies
            .sort_by(|a, b| (&a.metadata.namespace, &a.metadata.name).cmp(&(&b.metadata.namespace, &b.metadata.name)));
        let cluster = PolicyEngine::new(objects.namespaces.iter().map(|n| &**n), pods, policies.iter().map(|p| &**p))
            .map_err(EnforceError::Cluster)?;
        let engine = CalicoEngine::new(cluster, objects.service_accounts.iter().map(|s| &**s), &calico)
            .map_err(EnforceError::Cluster)?;

        let interfaces: HashMap<(&str, &str), String> = objects
            .pods
            .iter()
            .filter(|pod| pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(self.node.as_str()))
            .filter(|pod| !pod.spec.as_ref().and_then(|s| s.host_network).unwrap_or(false))
            .filter_map(|pod| {
                let ns = pod.metadata.namespace.as_deref()?;
                let name = pod.metadata.name.as_deref()?;
                Some(((ns, name), (self.interface)(pod)?))
            })
            .collect();
        let table =
            engine.compile().nft_table_logging(&self.table, self.log, |ns, name| interfaces.get(&(ns, name)).cloned());
        Ok(NodeRules { table, refused })
    }

    fn events(&self) -> Events {
        Events::new(self.client.clone(), self.reporter.clone())
    }
}

/// The reference an Event about a Calico object names.
fn calico_reference(object: &DynamicObject) -> ObjectReference {
    let types = object.types.clone().unwrap_or_default();
    ObjectReference {
        api_version: Some(types.api_version),
        kind: Some(types.kind),
        name: object.metadata.name.clone(),
        namespace: object.metadata.namespace.clone(),
        uid: object.metadata.uid.clone(),
        resource_version: object.metadata.resource_version.clone(),
        field_path: None,
    }
}

/// A store and its writer for one kind.
fn store<K>(dyntype: K::DynamicType) -> (Store<K>, reflector::store::Writer<K>)
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let writer = reflector::store::Writer::new(dyntype);
    (writer.as_reader(), writer)
}

#[cfg(test)]
mod tests;
