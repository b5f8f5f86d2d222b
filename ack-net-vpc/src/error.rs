//! The crate's error type.

use std::time::Duration;

use ack_net_core::ErrorClass;

use crate::cidr::CidrError;

/// Everything that can go wrong in ack-net-vpc.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A call failed, or input was rejected by `ack-net-core`'s checks (ids, regions, zones,
    /// parameters) before any call.
    #[error(transparent)]
    Api(#[from] ack_net_core::Error),
    /// A CIDR block was malformed, out of bounds, overlapping or outside its VPC, or none is free.
    #[error(transparent)]
    Cidr(#[from] CidrError),
    /// A VSwitch was asked for in a zone that is not in the client's region.
    #[error("zone {zone} is not in region {region}")]
    ZoneNotInRegion {
        /// The zone asked for.
        zone: String,
        /// The client's region.
        region: String,
    },
    /// A waiter's deadline passed before the resource became available.
    #[error("{resource} {id} was not available after {waited:?} (last seen: {last_seen})")]
    WaitTimeout {
        /// `"VPC"`, `"VSwitch"`, `"route entry"`.
        resource: &'static str,
        /// The resource's id.
        id: String,
        /// How long the waiter waited.
        waited: Duration,
        /// The last status seen, or why it was not seen (`not found`, an error).
        last_seen: String,
    },
    /// No VSwitch of a capacity view has the addresses asked for.
    #[error("no VSwitch of {vswitches} has {wanted} free addresses")]
    NoVSwitchAvailable {
        /// How many addresses were asked for.
        wanted: u64,
        /// How many VSwitches the view watches.
        vswitches: usize,
    },
    /// The pod-CIDR route converger could not converge within its rounds.
    #[error("route table {route_table_id} did not converge after {rounds} rounds: {last_error}")]
    NotConverged {
        /// The route table.
        route_table_id: String,
        /// Rounds tried.
        rounds: u32,
        /// The last error seen.
        last_error: Box<Error>,
    },
}

impl Error {
    /// An invalid-input error (shorthand for the core's [`ack_net_core::Error::invalid_input`]).
    pub fn invalid_input(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Api(ack_net_core::Error::invalid_input(what, reason))
    }

    /// The class of the error, as the core defines them. Input errors of this crate are
    /// [`ErrorClass::InvalidInput`], an empty capacity view [`ErrorClass::Capacity`], a wait
    /// timeout [`ErrorClass::Timeout`].
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Api(e) => e.class(),
            Error::Cidr(CidrError::Exhausted { .. }) | Error::NoVSwitchAvailable { .. } => ErrorClass::Capacity,
            Error::Cidr(_) | Error::ZoneNotInRegion { .. } => ErrorClass::InvalidInput,
            Error::WaitTimeout { .. } => ErrorClass::Timeout,
            Error::NotConverged { last_error, .. } => last_error.class(),
        }
    }

    /// The API's error code, when the API answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.code(),
            Error::NotConverged { last_error, .. } => last_error.code(),
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

    /// Whether the input was rejected (by this crate or the API).
    pub fn is_invalid_input(&self) -> bool {
        self.class() == ErrorClass::InvalidInput
    }

    /// Whether retrying later may help.
    pub fn is_retryable(&self) -> bool {
        self.class().is_retryable()
    }
}
