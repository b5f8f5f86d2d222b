//! The crate's error type.

use ack_net_core::{ErrorClass, ErrorInfo};

/// Everything that can go wrong in ack-net-slb.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A call failed, or input was rejected by `ack-net-core`'s checks (ids, parameters)
    /// before any call.
    #[error(transparent)]
    Api(#[from] ack_net_core::Error),
    /// A port (listener, backend, health check, forward) outside 1-65535.
    #[error("{what} {port} is outside 1-65535")]
    InvalidPort {
        /// Which port: `ListenerPort`, `BackendServerPort`, `Port`...
        what: &'static str,
        /// The value given.
        port: u32,
    },
    /// A backend weight outside 0-100.
    #[error("backend {server_id}: weight {weight} is outside 0-100")]
    InvalidWeight {
        /// The backend's server id.
        server_id: String,
        /// The weight given.
        weight: u32,
    },
    /// An HTTPS listener without a server certificate.
    #[error("the HTTPS listener on port {port} has no server certificate")]
    HttpsWithoutCertificate {
        /// The listener port.
        port: u16,
    },
    /// A backend of type `eni` or `eci` without its address (`ServerIp`).
    #[error("backend {server_id} of type {kind} has no ServerIp")]
    BackendWithoutIp {
        /// The backend's server id.
        server_id: String,
        /// `eni` or `eci`.
        kind: String,
    },
    /// A waiter's deadline passed before the resource reached the wanted state.
    #[error(transparent)]
    WaitTimeout(#[from] ack_net_core::wait::WaitTimeout),
    /// One call of a batched backend operation failed; the batches before it were applied.
    #[error("{action}: batch {} of {total_batches} failed ({completed_batches} applied): {source}", .completed_batches + 1)]
    Batch {
        /// The action of the failed batch.
        action: &'static str,
        /// How many batches were applied before the failure.
        completed_batches: usize,
        /// How many batches the operation had.
        total_batches: usize,
        /// What failed.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// An invalid-input error (shorthand for the core's [`ack_net_core::Error::invalid_input`]).
    pub fn invalid_input(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Api(ack_net_core::Error::invalid_input(what, reason))
    }

    /// Whether the API said the thing does not exist. SLB does not always say it with a
    /// `*.NotFound` code: a missing VServer group is `InvalidParameter` with the message
    /// "The specified VServerGroupId does not exist", a missing listener "The specified
    /// resource does not exist". `markers` are the message fragments that count.
    pub(crate) fn is_gone(&self, markers: &[&str]) -> bool {
        if self.is_not_found() {
            return true;
        }
        let Some(api) = self.core().and_then(ack_net_core::Error::api) else { return false };
        api.code.starts_with("InvalidParameter") && markers.iter().any(|m| api.message.contains(m))
    }
}

impl ErrorInfo for Error {
    /// This crate's input errors are [`ErrorClass::InvalidInput`], a wait timeout
    /// [`ErrorClass::Timeout`], a failed batch the class of its cause.
    fn class(&self) -> ErrorClass {
        match self {
            Error::Api(e) => e.class(),
            Error::InvalidPort { .. }
            | Error::InvalidWeight { .. }
            | Error::HttpsWithoutCertificate { .. }
            | Error::BackendWithoutIp { .. } => ErrorClass::InvalidInput,
            Error::WaitTimeout(_) => ErrorClass::Timeout,
            Error::Batch { source, .. } => source.class(),
        }
    }

    fn core(&self) -> Option<&ack_net_core::Error> {
        match self {
            Error::Api(e) => Some(e),
            Error::Batch { source, .. } => source.core(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn api_error(code: &str, status: u16, message: &str) -> Error {
        Error::Api(ack_net_core::Error::Api {
            action: "X".into(),
            error: Box::new(ack_net_core::ApiError {
                code: code.into(),
                status,
                message: message.into(),
                ..Default::default()
            }),
        })
    }

    #[test]
    fn classes_and_gone() {
        assert!(api_error("InvalidLoadBalancerId.NotFound", 404, "").is_gone(&[]));
        let vg = api_error("InvalidParameter", 400, "The specified VServerGroupId does not exist: rsp-1.");
        assert!(vg.is_invalid_input());
        assert!(vg.is_gone(&["VServerGroupId does not exist"]));
        assert!(!vg.is_gone(&["MasterSlaveGroupId does not exist"]));
        assert!(!api_error("InvalidParameter", 400, "Port must be a number").is_gone(&["does not exist"]));
        let b = Error::Batch {
            action: "AddVServerGroupBackendServers",
            completed_batches: 1,
            total_batches: 3,
            source: Box::new(api_error("Throttling.User", 400, "")),
        };
        assert!(b.is_retryable());
        assert_eq!(b.code(), Some("Throttling.User"));
        assert!(b.to_string().contains("batch 2 of 3"), "{b}");
        assert!(Error::InvalidPort { what: "ListenerPort", port: 0 }.is_invalid_input());
    }
}
