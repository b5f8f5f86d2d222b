//! The one error type of the NetworkPolicy library.

use std::net::IpAddr;

/// Why Namespaces, Pods and NetworkPolicies could not be turned into a [`PolicyEngine`], or why
/// a query could not be answered.
///
/// Object errors name the object (`NetworkPolicy shop/db-from-web`, `Pod shop/web-0`) and the
/// field by its API path (`spec.ingress[0].from[1].podSelector.matchExpressions[0].operator`),
/// like the API server's validation messages.
///
/// [`PolicyEngine`]: super::PolicyEngine
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A field every object of this kind must have is missing (`metadata.name`,
    /// `metadata.namespace`).
    #[error("{object}: missing {field}")]
    MissingField {
        /// The object, as far as it is known (`Pod <unnamed>`).
        object: String,
        /// The missing field.
        field: &'static str,
    },
    /// Two objects of one kind have the same namespace and name.
    #[error("duplicate {object}")]
    Duplicate {
        /// The object (`Pod shop/web-0`).
        object: String,
    },
    /// A label selector requirement uses an operator other than `In`, `NotIn`, `Exists` and
    /// `DoesNotExist`.
    #[error(
        "{object}: {field}: unknown label selector operator {operator:?} (expected In, NotIn, Exists or DoesNotExist)"
    )]
    InvalidSelectorOperator {
        /// The object.
        object: String,
        /// The path of the `operator` field.
        field: String,
        /// The operator as written.
        operator: String,
    },
    /// A label selector requirement's values contradict its operator (`In`/`NotIn` need values,
    /// `Exists`/`DoesNotExist` must have none).
    #[error("{object}: {field}: {reason}")]
    InvalidSelector {
        /// The object.
        object: String,
        /// The path of the `values` field.
        field: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// `spec.policyTypes` holds something other than `Ingress` and `Egress`.
    #[error("{object}: {field}: unknown policy type {value:?} (expected Ingress or Egress)")]
    InvalidPolicyType {
        /// The object.
        object: String,
        /// The path of the entry.
        field: String,
        /// The value as written.
        value: String,
    },
    /// A `from`/`to` peer sets nothing, or sets `ipBlock` together with a selector.
    #[error("{object}: {field}: {reason}")]
    InvalidPeer {
        /// The object.
        object: String,
        /// The path of the peer.
        field: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// An `ipBlock` `cidr` or `except` entry is not a CIDR, or an `except` entry is not a strict
    /// subset of the `cidr`.
    #[error("{object}: {field}: invalid CIDR {value:?}: {reason}")]
    InvalidCidr {
        /// The object.
        object: String,
        /// The path of the field.
        field: String,
        /// The value as written.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A policy port or container port is out of range, an invalid port name, or an `endPort`
    /// that is below `port`, without a numeric `port`, or out of range.
    #[error("{object}: {field}: invalid port {value}: {reason}")]
    InvalidPort {
        /// The object.
        object: String,
        /// The path of the field.
        field: String,
        /// The value as written.
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A `protocol` field is not `TCP`, `UDP` or `SCTP`.
    #[error("{object}: {field}: unknown protocol {value:?} (expected TCP, UDP or SCTP)")]
    InvalidProtocol {
        /// The object.
        object: String,
        /// The path of the field.
        field: String,
        /// The value as written.
        value: String,
    },
    /// A pod's `status.podIPs`/`status.hostIPs` entry is not an IP address.
    #[error("{object}: {field}: invalid IP address {value:?}")]
    InvalidIp {
        /// The object.
        object: String,
        /// The path of the field.
        field: String,
        /// The value as written.
        value: String,
    },
    /// Two pod-network pods claim the same IP address (or a pod-network pod claims the address
    /// of a `hostNetwork` pod).
    #[error("IP address {ip} is claimed by both {first} and {second}")]
    DuplicateIp {
        /// The address.
        ip: IpAddr,
        /// The first pod that claims it (`Pod ns/name`).
        first: String,
        /// The second pod that claims it.
        second: String,
    },
    /// A query names a pod the engine was not given.
    #[error("unknown pod {namespace}/{name}")]
    UnknownPod {
        /// The namespace asked for.
        namespace: String,
        /// The name asked for.
        name: String,
    },
    /// A Calico resource has a missing, unknown (with strict parsing) or invalid field.
    #[error("{object}: {field}: {reason}")]
    InvalidCalico {
        /// The object (`NetworkPolicy shop/db`, `GlobalNetworkPolicy deny-egress`, `Tier net`).
        object: String,
        /// The path of the field (`spec.ingress[0].destination.ports[1]`).
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A Calico selector expression does not parse.
    #[error("{object}: {field}: invalid selector {selector:?} at offset {offset}: {reason}")]
    InvalidCalicoSelector {
        /// The object.
        object: String,
        /// The path of the field.
        field: String,
        /// The expression as written.
        selector: String,
        /// Byte offset of the error in the expression.
        offset: usize,
        /// What was expected.
        reason: String,
    },
    /// A Calico resource uses a field whose effect the engine cannot enforce exactly; it is
    /// refused rather than approximated.
    #[error("{object}: {field}: not supported: {reason}")]
    UnsupportedCalico {
        /// The object.
        object: String,
        /// The path of the field.
        field: String,
        /// Why it cannot be enforced.
        reason: String,
    },
    /// A YAML or JSON document of Calico resources does not parse, or names no known kind.
    #[error("document {document}: {reason}")]
    CalicoDocument {
        /// The document's index in the stream (from 0).
        document: usize,
        /// What is wrong.
        reason: String,
    },
    /// The evaluation reached a rule that matches ports on a side for which the query gave
    /// none (a source port, see `Traffic::from_port`, or a destination port of traffic made
    /// with `Traffic::protocol`).
    #[error("{policy} matches {side} ports: give the query a {side} port")]
    PortNeeded {
        /// The policy whose rule needs it.
        policy: String,
        /// `source` or `destination`.
        side: &'static str,
    },
}
