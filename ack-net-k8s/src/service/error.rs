//! The one error type of the Service side.

use ack_net_core::ErrorInfo;

/// A boxed error from a caller-supplied seam (an [`EniLookup`](super::EniLookup)).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a Service could not be turned into a load balancer spec, or why reconciling it failed.
///
/// Annotation errors name the annotation as it was written (with the prefix the user chose)
/// and the value, so they read well as a Kubernetes Event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An annotation's value is not valid.
    #[error("annotation {annotation}: {value:?} is invalid: {reason}")]
    InvalidAnnotation {
        /// The annotation key, as written.
        annotation: String,
        /// The value, as written.
        value: String,
        /// Why it is invalid (what is expected).
        reason: String,
    },
    /// The same annotation is given with the current and the legacy prefix, with different
    /// values.
    #[error("annotations {annotation} ({value:?}) and {legacy} ({legacy_value:?}) disagree")]
    ConflictingAnnotations {
        /// The key with the current prefix.
        annotation: String,
        /// Its value.
        value: String,
        /// The key with the legacy prefix.
        legacy: String,
        /// Its value.
        legacy_value: String,
    },
    /// Valid annotations that do not fit together (a missing companion, two that exclude each
    /// other, an annotation that does not apply to the Service).
    #[error("annotation {annotation}: {reason}")]
    AnnotationCombination {
        /// The annotation at fault.
        annotation: String,
        /// What is wrong.
        reason: String,
    },
    /// A valid annotation that this crate cannot honour (rather than ignoring it).
    #[error("annotation {annotation}={value:?} is not supported: {reason}")]
    UnsupportedAnnotation {
        /// The annotation key, as written.
        annotation: String,
        /// The value.
        value: String,
        /// Why.
        reason: String,
    },
    /// The Service itself cannot be served by a load balancer (no name, no ports, a port
    /// without a node port in Cluster mode...).
    #[error("Service {service}: {reason}")]
    InvalidService {
        /// `namespace/name`.
        service: String,
        /// What is wrong.
        reason: String,
    },
    /// The spec made from the Service is refused by the binding (a limit of the load
    /// balancer the annotations did not catch: a name too long for the API, too many tags...).
    #[error("the load balancer spec is invalid: {0}")]
    Spec(#[source] ack_net_slb::binding::BindingError),
    /// Observing, planning or applying the load balancer failed (an API call, a conflict
    /// with a listener the binding does not own...).
    #[error("reconciling the load balancer failed: {0}")]
    LoadBalancer(#[source] ack_net_slb::binding::BindingError),
    /// A Kubernetes API call failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The controller's caches of Nodes and EndpointSlices did not fill in time (their
    /// watches fail: check the controller's RBAC permissions).
    #[error("the {0} cache is not ready")]
    CacheNotReady(&'static str),
    /// The cache writers were already taken (by an earlier [`run`] or
    /// [`take_writers`]): a reconciler runs once.
    ///
    /// [`run`]: super::ServiceReconciler::run
    /// [`take_writers`]: super::ServiceReconciler::take_writers
    #[error("the reconciler's cache writers were already taken")]
    CachesTaken,
    /// The caller's ENI lookup failed.
    #[error("looking up the ENIs of pod addresses failed: {0}")]
    EniLookup(#[source] BoxError),
}

impl Error {
    pub(crate) fn invalid(annotation: &str, value: &str, reason: impl Into<String>) -> Self {
        Error::InvalidAnnotation { annotation: annotation.to_owned(), value: value.to_owned(), reason: reason.into() }
    }

    pub(crate) fn combination(annotation: &str, reason: impl Into<String>) -> Self {
        Error::AnnotationCombination { annotation: annotation.to_owned(), reason: reason.into() }
    }

    pub(crate) fn service(service: &str, reason: impl Into<String>) -> Self {
        Error::InvalidService { service: service.to_owned(), reason: reason.into() }
    }

    /// Whether the error comes from the Service's own definition (its annotations, ports, a
    /// port another listener holds...): retrying does not help until something changes.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Error::InvalidAnnotation { .. }
                | Error::ConflictingAnnotations { .. }
                | Error::AnnotationCombination { .. }
                | Error::UnsupportedAnnotation { .. }
                | Error::InvalidService { .. }
        ) || matches!(self, Error::Spec(e) if !e.is_retryable())
            || matches!(self, Error::LoadBalancer(e) if e.is_conflict())
    }

    /// The annotation the error is about, if any.
    pub fn annotation(&self) -> Option<&str> {
        match self {
            Error::InvalidAnnotation { annotation, .. }
            | Error::ConflictingAnnotations { annotation, .. }
            | Error::AnnotationCombination { annotation, .. }
            | Error::UnsupportedAnnotation { annotation, .. } => Some(annotation),
            _ => None,
        }
    }
}
