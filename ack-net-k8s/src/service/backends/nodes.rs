//! Which nodes may be backends, and their ECS instance ids.

use std::collections::BTreeMap;
use std::fmt;

use ack_net_core::InstanceId;
use k8s_openapi::api::core::v1::Node;

/// The label that keeps a node out of every load balancer's backends (Kubernetes
/// well-known label; its value does not matter).
pub const EXCLUDE_LABEL: &str = "node.kubernetes.io/exclude-from-external-load-balancers";
/// The deprecated form of [`EXCLUDE_LABEL`], still honoured.
pub const EXCLUDE_LABEL_DEPRECATED: &str = "alpha.service-controller.kubernetes.io/exclude-balancer";
/// The labels with which ACK's cloud controller manager keeps a node out of every load
/// balancer, besides [`EXCLUDE_LABEL`] (their values do not matter).
pub const CCM_EXCLUDE_LABELS: &[&str] =
    &["service.alibabacloud.com/exclude-node", "service.beta.kubernetes.io/exclude-node"];
/// The taint the cluster autoscaler puts on a node it is about to delete: such a node is
/// no backend (as in CCM and the upstream service controller).
pub const TO_BE_DELETED_TAINT: &str = "ToBeDeletedByClusterAutoscaler";
/// Control-plane role labels (left out when [`NodeFilter::exclude_control_plane`] is on).
/// CCM reads the first only; `control-plane` is its name since Kubernetes 1.24.
pub const CONTROL_PLANE_LABELS: &[&str] = &["node-role.kubernetes.io/master", "node-role.kubernetes.io/control-plane"];

/// Why a node is not a backend.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// It carries [`EXCLUDE_LABEL`] (or the deprecated form).
    ExcludeLabel,
    /// It is a control-plane node.
    ControlPlane,
    /// Its `Ready` condition is not `True`.
    NotReady,
    /// It is being deleted (its object, or by the cluster autoscaler: [`TO_BE_DELETED_TAINT`]).
    Deleting,
    /// It is cordoned and `remove-unscheduled-backend` is on.
    Unschedulable,
    /// It lacks a label that `backend-label` requires.
    LabelMismatch,
    /// `spec.providerID` is missing or does not name an ECS instance.
    NoInstanceId(Option<String>),
    /// The object has no name.
    Unnamed,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::ExcludeLabel => f.write_str("labelled to be excluded from load balancers"),
            SkipReason::ControlPlane => f.write_str("a control-plane node"),
            SkipReason::NotReady => f.write_str("not Ready"),
            SkipReason::Deleting => f.write_str("being deleted"),
            SkipReason::Unschedulable => f.write_str("unschedulable (remove-unscheduled-backend is on)"),
            SkipReason::LabelMismatch => f.write_str("lacks the labels of backend-label"),
            SkipReason::NoInstanceId(None) => f.write_str("no spec.providerID"),
            SkipReason::NoInstanceId(Some(p)) => write!(f, "spec.providerID {p:?} names no ECS instance"),
            SkipReason::Unnamed => f.write_str("no metadata.name"),
        }
    }
}

/// A node that is not a backend, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedNode {
    /// The node's name (empty if it has none).
    pub node: String,
    /// Why.
    pub reason: SkipReason,
}

/// Which nodes may serve.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeFilter {
    /// Leave out control-plane nodes (by their role labels), as the Alibaba Cloud controller
    /// manager does. On by default.
    pub exclude_control_plane: bool,
    /// Leave out cordoned nodes (`spec.unschedulable`). Off by default, as in the Alibaba
    /// Cloud controller manager (pods on a cordoned node still run); the
    /// `remove-unscheduled-backend` annotation overrides it per Service.
    pub remove_unschedulable: bool,
    /// Only nodes with all these labels (the `backend-label` annotation).
    pub required_labels: BTreeMap<String, String>,
}

impl Default for NodeFilter {
    fn default() -> Self {
        Self { exclude_control_plane: true, remove_unschedulable: false, required_labels: BTreeMap::new() }
    }
}

/// A node that may serve: its name and ECS instance id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct EligibleNode {
    /// `metadata.name`.
    pub name: String,
    /// The ECS instance id (`i-...`) from `spec.providerID`.
    pub instance_id: InstanceId,
}

/// The nodes split into those that may serve and those that may not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSelection {
    /// Eligible nodes by name.
    pub eligible: BTreeMap<String, EligibleNode>,
    /// The others, with the reason.
    pub skipped: Vec<SkippedNode>,
}

impl NodeFilter {
    /// Splits `nodes` into eligible and skipped ones.
    pub fn select<'a>(&self, nodes: impl IntoIterator<Item = &'a Node>) -> NodeSelection {
        let mut out = NodeSelection::default();
        for node in nodes {
            let name = node.metadata.name.clone().unwrap_or_default();
            match self.check(node) {
                Ok(instance_id) => {
                    out.eligible.insert(name.clone(), EligibleNode { name, instance_id });
                }
                Err(reason) => out.skipped.push(SkippedNode { node: name, reason }),
            }
        }
        out
    }

    /// The node's instance id if it may serve, else why not.
    pub fn check(&self, node: &Node) -> Result<InstanceId, SkipReason> {
        if node.metadata.name.as_deref().is_none_or(str::is_empty) {
            return Err(SkipReason::Unnamed);
        }
        let labels = node.metadata.labels.as_ref();
        let has = |k: &str| labels.is_some_and(|l| l.contains_key(k));
        if has(EXCLUDE_LABEL) || has(EXCLUDE_LABEL_DEPRECATED) || CCM_EXCLUDE_LABELS.iter().any(|l| has(l)) {
            return Err(SkipReason::ExcludeLabel);
        }
        if self.exclude_control_plane && CONTROL_PLANE_LABELS.iter().any(|l| has(l)) {
            return Err(SkipReason::ControlPlane);
        }
        let spec = node.spec.as_ref();
        let autoscaled_away =
            spec.and_then(|s| s.taints.as_deref()).unwrap_or_default().iter().any(|t| t.key == TO_BE_DELETED_TAINT);
        if node.metadata.deletion_timestamp.is_some() || autoscaled_away {
            return Err(SkipReason::Deleting);
        }
        if !is_ready(node) {
            return Err(SkipReason::NotReady);
        }
        if self.remove_unschedulable && spec.and_then(|s| s.unschedulable) == Some(true) {
            return Err(SkipReason::Unschedulable);
        }
        let matches = self.required_labels.iter().all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v));
        if !matches {
            return Err(SkipReason::LabelMismatch);
        }
        let provider = spec.and_then(|s| s.provider_id.as_deref());
        match provider.and_then(instance_id_from_provider_id) {
            Some(id) => id.parse().map_err(|_| SkipReason::NoInstanceId(provider.map(str::to_owned))),
            None => Err(SkipReason::NoInstanceId(provider.map(str::to_owned))),
        }
    }
}

/// Whether the node's `Ready` condition is `True` (a node without conditions is not).
pub fn is_ready(node: &Node) -> bool {
    let conditions = node.status.as_ref().and_then(|s| s.conditions.as_deref()).unwrap_or_default();
    conditions.iter().any(|c| c.type_ == "Ready" && c.status == "True")
}

/// The ECS instance id in a node's `spec.providerID`: `cn-hangzhou.i-bp1...` or
/// `alicloud://cn-hangzhou.i-bp1...`.
///
/// ```
/// use ack_net_k8s::service::instance_id_from_provider_id;
/// assert_eq!(instance_id_from_provider_id("cn-hangzhou.i-bp1abc"), Some("i-bp1abc"));
/// assert_eq!(instance_id_from_provider_id("alicloud://cn-hangzhou.i-bp1abc"), Some("i-bp1abc"));
/// assert_eq!(instance_id_from_provider_id("aws:///us-east-1a/i-0abc"), None);
/// ```
pub fn instance_id_from_provider_id(provider_id: &str) -> Option<&str> {
    let rest = provider_id.strip_prefix("alicloud://").unwrap_or(provider_id);
    let (region, id) = rest.split_once('.')?;
    let region_ok = !region.is_empty() && region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let id_ok = id
        .strip_prefix("i-")
        .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    (region_ok && id_ok).then_some(id)
}
