//! The pool's error type.

use std::time::Duration;

use ack_net_core::{ErrorClass, ErrorInfo};

/// Why the pool cannot give out (more) addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExhaustedReason {
    /// No VSwitch of the pool has a free address (every one answered
    /// `InvalidVSwitchId.IpNotEnough` or reports no room).
    NoVSwitchRoom,
    /// The instance holds no more ENIs (its type's `EniQuantity`, less the ENIs others
    /// attached).
    EniQuota,
    /// The instance's ENIs hold no more addresses, or the pool is at `max_pods`.
    IpQuota,
}

impl std::fmt::Display for ExhaustedReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ExhaustedReason::NoVSwitchRoom => "no VSwitch has a free address",
            ExhaustedReason::EniQuota => "the instance holds no more ENIs",
            ExhaustedReason::IpQuota => "the instance's ENIs hold no more addresses (or the pool is at max_pods)",
        })
    }
}

/// Why a journal operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading or writing the store failed.
    #[error("pool store {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The store's content cannot be read back.
    #[error("pool store {path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Anything else a custom store reports.
    #[error("pool store: {0}")]
    Other(String),
}

/// Everything that can go wrong in an [`IpPool`](crate::pool::IpPool).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// The configuration cannot work (checked against the instance type and the VSwitches
    /// before any mutating call).
    #[error("invalid pool configuration: {0}")]
    InvalidConfig(String),
    /// A caller's input was rejected (an empty pod key...).
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// What was invalid.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// No address can be had: the pool is at a quota or no VSwitch has room.
    #[error("pod address pool exhausted: {0}")]
    Exhausted(ExhaustedReason),
    /// The deadline passed while the cloud kept throttling the refill.
    #[error("no address within {waited:?}: the cloud kept throttling ({last_error})")]
    Throttled {
        /// How long the caller waited.
        waited: Duration,
        /// The last throttling error.
        last_error: String,
    },
    /// The deadline passed before the refill delivered an address.
    #[error("no address within {waited:?}{}", last_error.as_ref().map(|e| format!(" (last error: {e})")).unwrap_or_default())]
    Timeout {
        /// How long the caller waited.
        waited: Duration,
        /// The last error the refill met, if any.
        last_error: Option<String>,
    },
    /// A cloud call failed (while starting, or in garbage collection).
    #[error(transparent)]
    Cloud(#[from] crate::Error),
    /// The journal could not be read or written; nothing was handed out.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorInfo for PoolError {
    /// Exhaustion is [`ErrorClass::Capacity`], throttling [`ErrorClass::Throttled`], a
    /// deadline [`ErrorClass::Timeout`], bad configuration or input
    /// [`ErrorClass::InvalidInput`]; a failed cloud call has the class (and the code) of its
    /// cause.
    fn class(&self) -> ErrorClass {
        match self {
            PoolError::InvalidConfig(_) | PoolError::InvalidInput { .. } => ErrorClass::InvalidInput,
            PoolError::Exhausted(_) => ErrorClass::Capacity,
            PoolError::Throttled { .. } => ErrorClass::Throttled,
            PoolError::Timeout { .. } => ErrorClass::Timeout,
            PoolError::Cloud(e) => e.class(),
            PoolError::Store(_) => ErrorClass::Other,
        }
    }

    fn core(&self) -> Option<&ack_net_core::Error> {
        match self {
            PoolError::Cloud(e) => e.core(),
            _ => None,
        }
    }
}

impl PoolError {
    /// Whether the pool is exhausted (and why).
    pub fn exhausted(&self) -> Option<&ExhaustedReason> {
        match self {
            PoolError::Exhausted(r) => Some(r),
            _ => None,
        }
    }

    pub(crate) fn invalid_config(reason: impl Into<String>) -> Self {
        PoolError::InvalidConfig(reason.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(PoolError::Exhausted(ExhaustedReason::EniQuota).class(), ErrorClass::Capacity);
        assert_eq!(PoolError::invalid_config("x").class(), ErrorClass::InvalidInput);
        let t = PoolError::Timeout { waited: Duration::from_secs(1), last_error: None };
        assert_eq!(t.class(), ErrorClass::Timeout);
        assert_eq!(t.to_string(), "no address within 1s");
        let t = PoolError::Throttled { waited: Duration::from_secs(2), last_error: "Throttling.User".into() };
        assert_eq!(t.class(), ErrorClass::Throttled);
        assert!(PoolError::Exhausted(ExhaustedReason::NoVSwitchRoom).to_string().contains("VSwitch"));
    }
}
