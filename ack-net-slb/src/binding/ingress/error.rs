//! What can go wrong in an ingress binding.

use ack_net_core::{ErrorClass, ErrorInfo};

use crate::ListenerProtocol;

/// Everything that can go wrong while checking, observing, planning or applying an ingress
/// binding. Everything but `Slb` is found before any write.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngressError {
    /// A call failed (or the typed API refused its input).
    #[error(transparent)]
    Slb(#[from] crate::Error),
    /// The spec is invalid.
    #[error("invalid ingress spec: {what}: {reason}")]
    InvalidSpec {
        /// The field.
        what: String,
        /// Why.
        reason: String,
    },
    /// Two routes, or a route and a rule the binding does not own, claim one host and URL.
    #[error("host {host:?} path {url:?} is claimed by {first} and by {second}")]
    RouteConflict {
        /// The host.
        host: String,
        /// The URL.
        url: String,
        /// Who has it (an Ingress, or `rule <id>` on the load balancer).
        first: String,
        /// Who wants it too.
        second: String,
    },
    /// A listener port the binding needs is held by a listener it did not make.
    #[error("listener port {port} ({protocol}) is held by a listener the ingress binding does not own")]
    PortConflict {
        /// The port.
        port: u16,
        /// The protocol of the listener holding it.
        protocol: ListenerProtocol,
    },
    /// Deleting a listener of the binding would take rules of someone else with it.
    #[error("the listener on port {port} holds rules the ingress binding does not own: {}", rules.join(", "))]
    ForeignRules {
        /// The port.
        port: u16,
        /// The rules (`id (name)`).
        rules: Vec<String>,
    },
    /// More rules or domain extensions than the listener's quota.
    #[error("{what}: {wanted} wanted on port {port}, the quota is {quota}")]
    Quota {
        /// Rules or domain extensions.
        what: &'static str,
        /// The listener port.
        port: u16,
        /// How many the plan would need at once.
        wanted: usize,
        /// The quota.
        quota: usize,
    },
}

impl ErrorInfo for IngressError {
    /// Conflicts and quotas are for a person to resolve; API failures have their own class
    /// (and code).
    fn class(&self) -> ErrorClass {
        match self {
            IngressError::Slb(e) => e.class(),
            IngressError::InvalidSpec { .. } => ErrorClass::InvalidInput,
            IngressError::RouteConflict { .. }
            | IngressError::PortConflict { .. }
            | IngressError::ForeignRules { .. } => ErrorClass::Conflict,
            IngressError::Quota { .. } => ErrorClass::Capacity,
        }
    }

    fn core(&self) -> Option<&ack_net_core::Error> {
        match self {
            IngressError::Slb(e) => e.core(),
            _ => None,
        }
    }
}
