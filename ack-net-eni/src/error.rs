//! The crate's error type.

use std::fmt;
use std::time::Duration;

use ack_net_core::ErrorClass;

use crate::{EniId, InstanceId};

/// What became of an ENI that a compound operation created and could not finish with.
#[derive(Debug)]
#[non_exhaustive]
pub enum Cleanup {
    /// The ENI was deleted: nothing is left behind.
    Deleted,
    /// Deleting it failed too; the ENI is still there (tagged with the operation's intent,
    /// so re-running the operation with the same client token finds it again).
    Failed(Box<Error>),
}

impl fmt::Display for Cleanup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cleanup::Deleted => f.write_str("the new ENI was deleted"),
            Cleanup::Failed(e) => write!(f, "deleting the new ENI failed too ({e}); it is left in place"),
        }
    }
}

/// Everything that can go wrong in ack-net-eni.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A call failed, or input was rejected before any call (malformed ids, too many
    /// addresses in one call, a port range like `80/70`...).
    #[error(transparent)]
    Api(#[from] ack_net_core::Error),
    /// A waiter's deadline passed before the ENI reached the state waited for.
    #[error("{resource} {id} was not {wanted} after {waited:?} (last seen: {last_seen})")]
    WaitTimeout {
        /// `"ENI"`.
        resource: &'static str,
        /// The resource's id.
        id: String,
        /// The state waited for (`InUse on i-...`, `Available`, `gone`).
        wanted: String,
        /// How long the waiter waited.
        waited: Duration,
        /// The last status seen, or why it was not seen.
        last_seen: String,
    },
    /// DescribeInstanceTypes does not know the instance type.
    #[error("unknown instance type {0}")]
    UnknownInstanceType(String),
    /// `create_and_attach` created (or found) the ENI but could not attach it.
    #[error("attaching {eni_id} to {instance_id} failed: {source}; {cleanup}")]
    AttachFailed {
        /// The ENI.
        eni_id: EniId,
        /// The instance.
        instance_id: InstanceId,
        /// Why attaching failed.
        source: Box<Error>,
        /// Whether the ENI was deleted.
        cleanup: Cleanup,
    },
    /// The ENI is in a state the operation cannot work from (attached to another instance,
    /// a primary ENI, ...).
    #[error("ENI {eni_id} is {status}: {reason}")]
    UnexpectedState {
        /// The ENI.
        eni_id: EniId,
        /// Its status and attachment as seen.
        status: String,
        /// What the operation needed.
        reason: String,
    },
}

impl Error {
    /// An invalid-input error (shorthand for the core's [`ack_net_core::Error::invalid_input`]).
    pub fn invalid_input(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Api(ack_net_core::Error::invalid_input(what, reason))
    }

    /// The class of the error, as the core defines them. A wait timeout is
    /// [`ErrorClass::Timeout`], an unknown instance type [`ErrorClass::NotFound`], an ENI in
    /// the wrong state [`ErrorClass::Conflict`]; a failed attach has the class of its cause.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Api(e) => e.class(),
            Error::WaitTimeout { .. } => ErrorClass::Timeout,
            Error::UnknownInstanceType(_) => ErrorClass::NotFound,
            Error::AttachFailed { source, .. } => source.class(),
            Error::UnexpectedState { .. } => ErrorClass::Conflict,
        }
    }

    /// The API's error code, when the API answered with one (for a failed attach, the
    /// attach's).
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.code(),
            Error::AttachFailed { source, .. } => source.code(),
            _ => None,
        }
    }

    /// Whether the API answered with exactly this code.
    pub fn is_code(&self, code: &str) -> bool {
        self.code() == Some(code)
    }

    /// Whether the resource was not found.
    pub fn is_not_found(&self) -> bool {
        self.class() == ErrorClass::NotFound
    }

    /// Whether a quota or an address space is exhausted (`EniPerInstanceLimitExceeded`,
    /// `InvalidVSwitchId.IpNotEnough`, `InvalidOperation.Ipv4CountExceeded`,
    /// `QuotaExceeded.PrivateIpAddress`, ...): retrying will not help, another VSwitch,
    /// instance or ENI may.
    pub fn is_capacity(&self) -> bool {
        self.class() == ErrorClass::Capacity
    }

    /// Whether the input was rejected (by this crate or the API).
    pub fn is_invalid_input(&self) -> bool {
        self.class() == ErrorClass::InvalidInput
    }

    /// Whether retrying later may help.
    pub fn is_retryable(&self) -> bool {
        self.class().is_retryable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ack_net_core::ApiError;

    fn api(code: &str, status: u16) -> Error {
        Error::Api(ack_net_core::Error::Api {
            action: "X".into(),
            error: Box::new(ApiError { code: code.into(), status, ..ApiError::default() }),
        })
    }

    #[test]
    fn capacity_errors_are_typed() {
        for code in [
            "EniPerInstanceLimitExceeded",
            "InvalidVSwitchId.IpNotEnough",
            "InvalidOperation.Ipv4CountExceeded",
            "QuotaExceeded.PrivateIpAddress",
        ] {
            assert!(api(code, 403).is_capacity(), "{code}");
        }
        assert!(!api("InvalidParameter", 400).is_capacity());
        let wrapped = Error::AttachFailed {
            eni_id: EniId::new("eni-1").unwrap(),
            instance_id: InstanceId::new("i-1").unwrap(),
            source: Box::new(api("EniPerInstanceLimitExceeded", 403)),
            cleanup: Cleanup::Deleted,
        };
        assert!(wrapped.is_capacity());
        assert!(wrapped.is_code("EniPerInstanceLimitExceeded"));
        assert!(wrapped.to_string().contains("the new ENI was deleted"), "{wrapped}");
    }
}
