//! The one error type of the Service side.

use std::net::IpAddr;

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
    /// No ENI holds a ready pod's address (ENI backends).
    #[error("no ENI holds the pod address {ip}")]
    EniNotFound {
        /// The pod address.
        ip: IpAddr,
    },
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

    /// Whether the error comes from the Service's own definition (its annotations, ports...):
    /// retrying does not help until the Service changes.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Error::InvalidAnnotation { .. }
                | Error::ConflictingAnnotations { .. }
                | Error::AnnotationCombination { .. }
                | Error::UnsupportedAnnotation { .. }
                | Error::InvalidService { .. }
        )
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
