//! What can go wrong in a binding.

use ack_net_core::{ErrorClass, ErrorInfo};

use crate::{ListenerProtocol, LoadBalancerId};

/// Who holds a listener port the binding wants.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PortHolder {
    /// Another binding (its owner id, from the listener's description).
    Binding(String),
    /// A listener no binding made (a person, another tool).
    Foreign,
}

impl std::fmt::Display for PortHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortHolder::Binding(id) => write!(f, "the binding {id}"),
            PortHolder::Foreign => f.write_str("a listener that is not a binding's"),
        }
    }
}

/// Everything that can go wrong while observing, planning or applying a binding.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BindingError {
    /// A call failed (or the typed API refused its input).
    #[error(transparent)]
    Slb(#[from] crate::Error),
    /// The spec is invalid; nothing was sent.
    #[error("invalid binding spec: {what}: {reason}")]
    InvalidSpec {
        /// The field.
        what: String,
        /// Why.
        reason: String,
    },
    /// A wanted listener port is taken on the load balancer by a listener the binding does
    /// not own. Found before any write.
    #[error("listener port {port}/{protocol} on {load_balancer_id} is held by {holder}")]
    PortConflict {
        /// The load balancer.
        load_balancer_id: LoadBalancerId,
        /// The port.
        port: u16,
        /// The protocol of the listener holding it.
        protocol: ListenerProtocol,
        /// Who holds it.
        holder: PortHolder,
    },
    /// A wanted backend is already in the binding's group, added by someone else (its
    /// description carries no binding marker): the binding does not take it over.
    #[error("backend {server_id} port {backend_port} in the group of port {port} is not the binding's")]
    ForeignBackend {
        /// The listener port.
        port: u16,
        /// The backend's server id.
        server_id: String,
        /// The backend port.
        backend_port: u16,
    },
    /// A group would hold more backends than its quota allows.
    #[error(
        "port {port} wants {wanted} backends (plus {foreign} not the binding's) but a group holds at most {quota}"
    )]
    TooManyBackends {
        /// The listener port.
        port: u16,
        /// Backends wanted.
        wanted: usize,
        /// Backends in the group that are not the binding's (kept).
        foreign: usize,
        /// The per-group quota.
        quota: usize,
    },
    /// More than one load balancer carries this binding's ownership tags.
    #[error("{} load balancers carry the ownership tags of {owner}: {}", ids.len(), ids.iter().map(|i| i.as_str()).collect::<Vec<_>>().join(", "))]
    AmbiguousOwnership {
        /// The owner (`cluster/service`).
        owner: String,
        /// The load balancers.
        ids: Vec<LoadBalancerId>,
    },
    /// The load balancer to reuse belongs to another cluster or service (by the tags that
    /// ack-net and ACK's cloud controller manager write): it is never modified.
    #[error("the load balancer {load_balancer_id} to reuse belongs to {claimant}: not touched")]
    OwnedElsewhere {
        /// The load balancer.
        load_balancer_id: LoadBalancerId,
        /// Who it belongs to.
        claimant: String,
    },
    /// The load balancer to reuse does not exist.
    #[error("the load balancer {0} to reuse does not exist")]
    ReusedNotFound(LoadBalancerId),
    /// The plan needs an observation that listed every group (`ObserveMode::Full`).
    #[error("{0} needs a full observation (ObserveMode::Full)")]
    NeedsFullObservation(&'static str),
    /// The plan refers to an earlier step's result that is missing (a plan cut in the
    /// middle of its dependencies, or built by hand).
    #[error("step {step}: {missing} is not known (did an earlier step run?)")]
    UnresolvedReference {
        /// The step.
        step: usize,
        /// What is missing.
        missing: String,
    },
}

impl BindingError {
    pub(crate) fn invalid_spec(what: impl Into<String>, reason: impl Into<String>) -> Self {
        BindingError::InvalidSpec { what: what.into(), reason: reason.into() }
    }
}

impl ErrorInfo for BindingError {
    /// Conflicts are [`ErrorClass::Conflict`], bad specs [`ErrorClass::InvalidInput`], API
    /// failures their own class (and code).
    fn class(&self) -> ErrorClass {
        match self {
            BindingError::Slb(e) => e.class(),
            BindingError::InvalidSpec { .. } => ErrorClass::InvalidInput,
            BindingError::TooManyBackends { .. } => ErrorClass::Capacity,
            BindingError::PortConflict { .. }
            | BindingError::ForeignBackend { .. }
            | BindingError::AmbiguousOwnership { .. }
            | BindingError::OwnedElsewhere { .. } => ErrorClass::Conflict,
            BindingError::ReusedNotFound(_) => ErrorClass::NotFound,
            BindingError::NeedsFullObservation(_) | BindingError::UnresolvedReference { .. } => {
                ErrorClass::InvalidInput
            }
        }
    }

    fn core(&self) -> Option<&ack_net_core::Error> {
        match self {
            BindingError::Slb(e) => e.core(),
            _ => None,
        }
    }
}
