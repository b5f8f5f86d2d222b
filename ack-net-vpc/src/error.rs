//! The crate's error type.

use ack_net_core::{ErrorClass, ErrorInfo};

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
    #[error(transparent)]
    WaitTimeout(#[from] ack_net_core::wait::WaitTimeout),
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
}

impl ErrorInfo for Error {
    /// Input errors of this crate are [`ErrorClass::InvalidInput`], an empty capacity view
    /// [`ErrorClass::Capacity`], a wait timeout [`ErrorClass::Timeout`]; a failed convergence
    /// has the class of its last error.
    fn class(&self) -> ErrorClass {
        match self {
            Error::Api(e) => e.class(),
            Error::Cidr(CidrError::Exhausted { .. }) | Error::NoVSwitchAvailable { .. } => ErrorClass::Capacity,
            Error::Cidr(_) | Error::ZoneNotInRegion { .. } => ErrorClass::InvalidInput,
            Error::WaitTimeout(_) => ErrorClass::Timeout,
            Error::NotConverged { last_error, .. } => last_error.class(),
        }
    }

    fn core(&self) -> Option<&ack_net_core::Error> {
        match self {
            Error::Api(e) => Some(e),
            Error::NotConverged { last_error, .. } => last_error.core(),
            _ => None,
        }
    }
}
