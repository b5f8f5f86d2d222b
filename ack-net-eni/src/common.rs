//! Pieces every module shares: ECS tags, client tokens, wire enums and decoders.

pub use ack_net_core::tag::MAX_TAGS;
use ack_net_core::ErrorInfo;

/// The most addresses one AssignPrivateIpAddresses or AssignIpv6Addresses call may ask for.
pub const MAX_ADDRESSES_PER_CALL: usize = 10;

pub(crate) use ack_net_core::de::{opt_parsed, wrapped};
pub(crate) use ack_net_core::input::{validate_client_token, validate_page_size, validate_text};
pub(crate) use ack_net_core::tag::{validate_tags, wire_tags};
pub(crate) use ack_net_core::wire_enum;

/// Whether a removal's answer means "already done": the address is not on the ENI, or the
/// ENI (or instance) is gone.
pub(crate) fn already_removed(e: &ack_net_core::Error) -> bool {
    e.is_code("InvalidIp.IpUnassigned") || e.is_code("InvalidEniId.NotFound") || e.is_code("InvalidEcsId.NotFound")
}

pub use ack_net_core::Removed;

/// The longest interface name Linux takes (IFNAMSIZ - 1).
pub const MAX_IFNAME: usize = 15;

/// Why `name` is not a Linux interface name (1 to 15 bytes, no `/`, `:` or whitespace, not
/// `.` or `..`), if it is not.
pub(crate) fn ifname_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > MAX_IFNAME {
        return Some(format!("{name:?} must have 1 to {MAX_IFNAME} bytes"));
    }
    if name == "." || name == ".." || name.chars().any(|c| c == '/' || c == ':' || c.is_whitespace()) {
        return Some(format!("{name:?} is not a Linux interface name"));
    }
    None
}
