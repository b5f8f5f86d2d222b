//! The crate's error type.

use std::time::Duration;

use ack_net_core::ErrorClass;

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
    #[error("{resource} {id} was not {wanted} after {waited:?} (last seen: {last_seen})")]
    WaitTimeout {
        /// `"load balancer"`, `"listener"`.
        resource: &'static str,
        /// The resource's id (`lb-...`, or `lb-...:port/protocol`).
        id: String,
        /// The state waited for.
        wanted: &'static str,
        /// How long the waiter waited.
        waited: Duration,
        /// The last status seen, or why it was not seen (`not found`, an error).
        last_seen: String,
    },
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

    /// The class of the error, as the core defines them: this crate's input errors are
    /// [`ErrorClass::InvalidInput`], a wait timeout [`ErrorClass::Timeout`], a failed batch
    /// the class of its cause.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Api(e) => e.class(),
            Error::InvalidPort { .. }
            | Error::InvalidWeight { .. }
            | Error::HttpsWithoutCertificate { .. }
            | Error::BackendWithoutIp { .. } => ErrorClass::InvalidInput,
            Error::WaitTimeout { .. } => ErrorClass::Timeout,
            Error::Batch { source, .. } => source.class(),
        }
    }

    /// The core error underneath, when there is one.
    pub fn api(&self) -> Option<&ack_net_core::Error> {
        match self {
            Error::Api(e) => Some(e),
            Error::Batch { source, .. } => source.api(),
            _ => None,
        }
    }

    /// The API's error code, when the API answered with one.
    pub fn code(&self) -> Option<&str> {
        self.api().and_then(ack_net_core::Error::code)
    }

    /// Whether the API answered with exactly this code.
    pub fn is_code(&self, code: &str) -> bool {
        self.code() == Some(code)
    }

    /// Whether the resource was not found.
    pub fn is_not_found(&self) -> bool {
        self.class() == ErrorClass::NotFound
    }

    /// Whether the input was rejected (by this crate or the API).
    pub fn is_invalid_input(&self) -> bool {
        self.class() == ErrorClass::InvalidInput
    }

    /// Whether retrying later may help.
    pub fn is_retryable(&self) -> bool {
        self.class().is_retryable()
    }

    /// Whether the API said the thing does not exist. SLB does not always say it with a
    /// `*.NotFound` code: a missing VServer group is `InvalidParameter` with the message
    /// "The specified VServerGroupId does not exist", a missing listener "The specified
    /// resource does not exist". `markers` are the message fragments that count.
    pub(crate) fn is_gone(&self, markers: &[&str]) -> bool {
        if self.is_not_found() {
            return true;
        }
        let Some(api) = self.api().and_then(ack_net_core::Error::api) else { return false };
        api.code.starts_with("InvalidParameter") && markers.iter().any(|m| api.message.contains(m))
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
