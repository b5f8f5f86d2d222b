//! The crate's error type.

use ack_net_core::{ErrorClass, ErrorInfo};
use std::fmt;

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
    #[error(transparent)]
    WaitTimeout(#[from] ack_net_core::wait::WaitTimeout),
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
}

impl ErrorInfo for Error {
    /// A wait timeout is [`ErrorClass::Timeout`], an unknown instance type
    /// [`ErrorClass::NotFound`], an ENI in the wrong state [`ErrorClass::Conflict`]; a failed
    /// attach has the class (and the code) of its cause.
    fn class(&self) -> ErrorClass {
        match self {
            Error::Api(e) => e.class(),
            Error::WaitTimeout(_) => ErrorClass::Timeout,
            Error::UnknownInstanceType(_) => ErrorClass::NotFound,
            Error::AttachFailed { source, .. } => source.class(),
            Error::UnexpectedState { .. } => ErrorClass::Conflict,
        }
    }

    fn core(&self) -> Option<&ack_net_core::Error> {
        match self {
            Error::Api(e) => Some(e),
            Error::AttachFailed { source, .. } => source.core(),
            _ => None,
        }
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
