//! CIDR planning: validate VPC and VSwitch CIDR blocks and propose free ones. Pure functions.
//!
//! A VSwitch's CIDR must lie inside its VPC's CIDR, must not overlap another VSwitch of the
//! VPC, and its prefix must be between /16 and /29 ([`MIN_VSWITCH_PREFIX`],
//! [`MAX_VSWITCH_PREFIX`]). A VPC's prefix is between /8 and /28.
//!
//! ```
//! use ack_net_vpc::cidr::{next_free_cidr, plan_vswitches, parse_cidr};
//! use ack_net_vpc::ZoneId;
//!
//! let vpc = parse_cidr("10.0.0.0/16").unwrap();
//! let existing = [parse_cidr("10.0.0.0/24").unwrap()];
//! assert_eq!(next_free_cidr(vpc, &existing, 24).unwrap().to_string(), "10.0.1.0/24");
//!
//! let zones = [("cn-hangzhou-h".parse::<ZoneId>().unwrap(), 20), ("cn-hangzhou-i".parse().unwrap(), 24)];
//! let plan = plan_vswitches(vpc, &existing, &zones).unwrap();
//! assert_eq!(plan[0].cidr.to_string(), "10.0.16.0/20");
//! assert_eq!(plan[1].cidr.to_string(), "10.0.1.0/24");
//! ```

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::ZoneId;

/// The shortest VSwitch prefix the cloud accepts.
pub const MIN_VSWITCH_PREFIX: u8 = 16;
/// The longest VSwitch prefix the cloud accepts.
pub const MAX_VSWITCH_PREFIX: u8 = 29;
/// The shortest VPC prefix the cloud accepts.
pub const MIN_VPC_PREFIX: u8 = 8;
/// The longest VPC prefix the cloud accepts.
pub const MAX_VPC_PREFIX: u8 = 28;

/// Addresses of a VSwitch the cloud keeps for itself: the first and the last three.
pub const RESERVED_ADDRESSES_PER_VSWITCH: u64 = 4;

/// Why a CIDR block was rejected or none could be proposed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CidrError {
    /// Not an IPv4 CIDR block such as `10.0.0.0/16`.
    #[error("{input:?} is not an IPv4 CIDR block like 10.0.0.0/16")]
    Malformed {
        /// What was given.
        input: String,
    },
    /// Host bits are set (`10.0.0.1/16`); the block would be `network`.
    #[error("{input} has host bits set; did you mean {network}?")]
    NotCanonical {
        /// What was given.
        input: String,
        /// The network the block would be.
        network: Ipv4Net,
    },
    /// The prefix length is outside what the cloud accepts for this kind of block.
    #[error("a {kind} prefix must be between /{min} and /{max}, not /{prefix}")]
    PrefixOutOfRange {
        /// `"VPC"` or `"VSwitch"`.
        kind: &'static str,
        /// What was given.
        prefix: u8,
        /// The shortest allowed.
        min: u8,
        /// The longest allowed.
        max: u8,
    },
    /// The VSwitch block is not inside the VPC block.
    #[error("{cidr} is not inside the VPC's {vpc}")]
    OutsideVpc {
        /// The VSwitch block.
        cidr: Ipv4Net,
        /// The VPC block.
        vpc: Ipv4Net,
    },
    /// The block overlaps a block already in use.
    #[error("{cidr} overlaps {existing}, which is already in use")]
    Overlap {
        /// The block that was checked.
        cidr: Ipv4Net,
        /// The block in use it overlaps.
        existing: Ipv4Net,
    },
    /// The VPC block overlaps a range the cloud reserves (loopback, link-local, shared
    /// address space, multicast and above, `0.0.0.0/8`).
    #[error("{cidr} overlaps the reserved range {reserved}")]
    Reserved {
        /// The block given.
        cidr: Ipv4Net,
        /// The reserved range it overlaps.
        reserved: Ipv4Net,
    },
    /// No free block of this prefix length is left in the VPC.
    #[error("no free /{prefix} is left in {vpc}")]
    Exhausted {
        /// The VPC block.
        vpc: Ipv4Net,
        /// The prefix length asked for.
        prefix: u8,
    },
}

/// Parses a canonical IPv4 CIDR block (`10.0.0.0/16`): the prefix is required and host
/// bits must be zero.
///
/// ```
/// use ack_net_vpc::cidr::{parse_cidr, CidrError};
/// assert!(parse_cidr("192.168.0.0/16").is_ok());
/// assert!(matches!(parse_cidr("192.168.0.1/16"), Err(CidrError::NotCanonical { .. })));
/// assert!(matches!(parse_cidr("192.168.0.0"), Err(CidrError::Malformed { .. })));
/// ```
pub fn parse_cidr(input: &str) -> Result<Ipv4Net, CidrError> {
    let net: Ipv4Net = input.trim().parse().map_err(|_| CidrError::Malformed { input: input.to_owned() })?;
    if net.trunc() != net {
        return Err(CidrError::NotCanonical { input: input.to_owned(), network: net.trunc() });
    }
    Ok(net)
}

/// Ranges a VPC may not use.
const RESERVED: [(Ipv4Addr, u8); 5] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8),
    (Ipv4Addr::new(100, 64, 0, 0), 10),
    (Ipv4Addr::new(127, 0, 0, 0), 8),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(224, 0, 0, 0), 3),
];

/// Checks that `vpc` is a block a VPC may have: canonical, /8 to /28, clear of the ranges
/// the cloud reserves.
///
/// ```
/// use ack_net_vpc::cidr::{parse_cidr, validate_vpc_cidr};
/// assert!(validate_vpc_cidr(parse_cidr("192.168.0.0/16").unwrap()).is_ok());
/// assert!(validate_vpc_cidr(parse_cidr("100.64.0.0/16").unwrap()).is_err());
/// ```
pub fn validate_vpc_cidr(vpc: Ipv4Net) -> Result<(), CidrError> {
    check_canonical(vpc)?;
    check_prefix("VPC", vpc.prefix_len(), MIN_VPC_PREFIX, MAX_VPC_PREFIX)?;
    for (addr, prefix) in RESERVED {
        if let Ok(reserved) = Ipv4Net::new(addr, prefix) {
            if overlaps(vpc, reserved) {
                return Err(CidrError::Reserved { cidr: vpc, reserved });
            }
        }
    }
    Ok(())
}

/// Checks that `cidr` may be a new VSwitch of the VPC `vpc` whose VSwitches already use
/// `existing`: canonical, /16 to /29, inside the VPC, overlapping none of `existing`.
///
/// ```
/// use ack_net_vpc::cidr::{parse_cidr, validate_vswitch_cidr, CidrError};
/// let vpc = parse_cidr("10.0.0.0/16").unwrap();
/// let used = [parse_cidr("10.0.0.0/24").unwrap()];
/// assert!(validate_vswitch_cidr(vpc, &used, parse_cidr("10.0.1.0/24").unwrap()).is_ok());
/// assert!(matches!(
///     validate_vswitch_cidr(vpc, &used, parse_cidr("10.0.0.128/25").unwrap()),
///     Err(CidrError::Overlap { .. })
/// ));
/// assert!(matches!(
///     validate_vswitch_cidr(vpc, &used, parse_cidr("10.1.0.0/24").unwrap()),
///     Err(CidrError::OutsideVpc { .. })
/// ));
/// ```
pub fn validate_vswitch_cidr(vpc: Ipv4Net, existing: &[Ipv4Net], cidr: Ipv4Net) -> Result<(), CidrError> {
    check_canonical(cidr)?;
    check_prefix("VSwitch", cidr.prefix_len(), MIN_VSWITCH_PREFIX, MAX_VSWITCH_PREFIX)?;
    if !vpc.contains(&cidr) {
        return Err(CidrError::OutsideVpc { cidr, vpc });
    }
    if let Some(other) = existing.iter().find(|e| overlaps(**e, cidr)) {
        return Err(CidrError::Overlap { cidr, existing: *other });
    }
    Ok(())
}

/// Checks that a VSwitch prefix length is between /16 and /29.
pub fn validate_vswitch_prefix(prefix: u8) -> Result<(), CidrError> {
    check_prefix("VSwitch", prefix, MIN_VSWITCH_PREFIX, MAX_VSWITCH_PREFIX)
}

/// Whether two blocks share an address.
pub fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// How many addresses a VSwitch of this block offers to ENIs (all but the four the cloud
/// reserves).
///
/// ```
/// use ack_net_vpc::cidr::{parse_cidr, usable_addresses};
/// assert_eq!(usable_addresses(parse_cidr("192.168.1.0/24").unwrap()), 252);
/// ```
pub fn usable_addresses(cidr: Ipv4Net) -> u64 {
    block_size(cidr.prefix_len()).saturating_sub(RESERVED_ADDRESSES_PER_VSWITCH)
}

/// Proposes the lowest free, aligned block of length `prefix` inside `vpc` that overlaps
/// none of `existing` (blocks outside the VPC are ignored). Lower addresses first, so the
/// space stays packed.
///
/// Errors: `prefix` outside /16../29 or shorter than the VPC's, a VPC block that is not
/// canonical, or [`CidrError::Exhausted`] when no such block is free.
pub fn next_free_cidr(vpc: Ipv4Net, existing: &[Ipv4Net], prefix: u8) -> Result<Ipv4Net, CidrError> {
    check_canonical(vpc)?;
    validate_vswitch_prefix(prefix)?;
    if prefix < vpc.prefix_len() {
        return Err(CidrError::PrefixOutOfRange {
            kind: "VSwitch",
            prefix,
            min: vpc.prefix_len().max(MIN_VSWITCH_PREFIX),
            max: MAX_VSWITCH_PREFIX,
        });
    }
    let mut used: Vec<(u64, u64)> = existing.iter().filter(|e| overlaps(**e, vpc)).map(|e| span(*e)).collect();
    used.sort_unstable();
    first_fit(vpc, &used, prefix).ok_or(CidrError::Exhausted { vpc, prefix })
}

/// One VSwitch [`plan_vswitches`] proposes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedVSwitch {
    /// The zone it is for.
    pub zone_id: ZoneId,
    /// The block proposed.
    pub cidr: Ipv4Net,
}

/// Proposes one block per `(zone, prefix)` wanted, in order, each free of `existing` and of
/// the blocks proposed before it. Larger blocks are placed first, so a mix of sizes packs
/// without holes; the result keeps the order of `wanted`.
///
/// All or nothing: an error if any block cannot be placed.
pub fn plan_vswitches(
    vpc: Ipv4Net,
    existing: &[Ipv4Net],
    wanted: &[(ZoneId, u8)],
) -> Result<Vec<PlannedVSwitch>, CidrError> {
    check_canonical(vpc)?;
    let mut order: Vec<usize> = (0..wanted.len()).collect();
    // Stable: equal prefixes keep their order.
    order.sort_by_key(|i| wanted[*i].1);
    let mut used: Vec<(u64, u64)> = existing.iter().filter(|e| overlaps(**e, vpc)).map(|e| span(*e)).collect();
    used.sort_unstable();
    let mut out: Vec<Option<Ipv4Net>> = vec![None; wanted.len()];
    for i in order {
        let prefix = wanted[i].1;
        validate_vswitch_prefix(prefix)?;
        if prefix < vpc.prefix_len() {
            return Err(CidrError::PrefixOutOfRange {
                kind: "VSwitch",
                prefix,
                min: vpc.prefix_len().max(MIN_VSWITCH_PREFIX),
                max: MAX_VSWITCH_PREFIX,
            });
        }
        let cidr = first_fit(vpc, &used, prefix).ok_or(CidrError::Exhausted { vpc, prefix })?;
        let s = span(cidr);
        let at = used.partition_point(|u| *u < s);
        used.insert(at, s);
        out[i] = Some(cidr);
    }
    Ok(wanted
        .iter()
        .zip(out)
        .filter_map(|((zone_id, _), cidr)| cidr.map(|cidr| PlannedVSwitch { zone_id: zone_id.clone(), cidr }))
        .collect())
}

fn check_prefix(kind: &'static str, prefix: u8, min: u8, max: u8) -> Result<(), CidrError> {
    if (min..=max).contains(&prefix) {
        Ok(())
    } else {
        Err(CidrError::PrefixOutOfRange { kind, prefix, min, max })
    }
}

fn check_canonical(net: Ipv4Net) -> Result<(), CidrError> {
    if net.trunc() == net {
        Ok(())
    } else {
        Err(CidrError::NotCanonical { input: net.to_string(), network: net.trunc() })
    }
}

fn block_size(prefix: u8) -> u64 {
    1u64 << (32 - u32::from(prefix.min(32)))
}

/// `[start, end)` of a block, as u64 so the end of 255.255.255.255/32 fits.
fn span(net: Ipv4Net) -> (u64, u64) {
    let start = u64::from(u32::from(net.network()));
    (start, start + block_size(net.prefix_len()))
}

/// The lowest aligned block of `prefix` in `vpc` that avoids `used` (sorted by start).
fn first_fit(vpc: Ipv4Net, used: &[(u64, u64)], prefix: u8) -> Option<Ipv4Net> {
    let size = block_size(prefix);
    let (vpc_start, vpc_end) = span(vpc);
    let mut cursor = vpc_start;
    let try_gap = |cursor: u64, gap_end: u64| -> Option<u64> {
        let aligned = cursor.div_ceil(size) * size;
        (aligned + size <= gap_end).then_some(aligned)
    };
    for &(start, end) in used {
        if end <= cursor {
            continue;
        }
        if start > cursor {
            if let Some(found) = try_gap(cursor, start.min(vpc_end)) {
                return net_at(found, prefix);
            }
        }
        cursor = cursor.max(end);
        if cursor >= vpc_end {
            return None;
        }
    }
    try_gap(cursor, vpc_end).and_then(|found| net_at(found, prefix))
}

fn net_at(start: u64, prefix: u8) -> Option<Ipv4Net> {
    let addr = u32::try_from(start).ok()?;
    Ipv4Net::new(Ipv4Addr::from(addr), prefix).ok()
}

impl fmt::Display for PlannedVSwitch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in {}", self.cidr, self.zone_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn net(s: &str) -> Ipv4Net {
        parse_cidr(s).unwrap()
    }

    #[test]
    fn parse_rejects_bad_input() {
        for bad in ["", "10.0.0.0", "10.0.0.0/33", "10.0.0/8", "fe80::/64", "10.0.0.0/-1", "x/8"] {
            assert!(matches!(parse_cidr(bad), Err(CidrError::Malformed { .. })), "{bad}");
        }
        assert_eq!(
            parse_cidr("10.0.0.5/24"),
            Err(CidrError::NotCanonical { input: "10.0.0.5/24".into(), network: net("10.0.0.0/24") })
        );
    }

    #[test]
    fn prefixes_are_bounded() {
        assert!(validate_vpc_cidr(net("10.0.0.0/8")).is_ok());
        assert!(validate_vpc_cidr(net("10.0.0.0/7")).is_err());
        assert!(validate_vpc_cidr(net("10.0.0.0/29")).is_err());
        assert!(matches!(validate_vpc_cidr(net("169.254.0.0/16")), Err(CidrError::Reserved { .. })));
        assert!(matches!(validate_vpc_cidr(net("240.0.0.0/8")), Err(CidrError::Reserved { .. })));
        assert!(validate_vpc_cidr(net("11.0.0.0/8")).is_ok());
        let vpc = net("10.0.0.0/8");
        assert!(matches!(
            validate_vswitch_cidr(vpc, &[], net("10.0.0.0/15")),
            Err(CidrError::PrefixOutOfRange { prefix: 15, .. })
        ));
        assert!(matches!(
            validate_vswitch_cidr(vpc, &[], net("10.0.0.0/30")),
            Err(CidrError::PrefixOutOfRange { prefix: 30, .. })
        ));
        assert!(next_free_cidr(vpc, &[], 30).is_err());
        assert!(matches!(
            next_free_cidr(net("10.0.0.0/24"), &[], 16),
            Err(CidrError::PrefixOutOfRange { min: 24, .. })
        ));
    }

    #[test]
    fn next_free_skips_used_and_aligns() {
        let vpc = net("192.168.0.0/16");
        assert_eq!(next_free_cidr(vpc, &[], 24).unwrap(), net("192.168.0.0/24"));
        let used = [net("192.168.0.0/26")];
        assert_eq!(next_free_cidr(vpc, &used, 26).unwrap(), net("192.168.0.64/26"));
        assert_eq!(next_free_cidr(vpc, &used, 24).unwrap(), net("192.168.1.0/24"));
        let used = [net("192.168.0.0/24"), net("192.168.2.0/24"), net("10.0.0.0/8")];
        assert_eq!(next_free_cidr(vpc, &used, 24).unwrap(), net("192.168.1.0/24"));
        assert_eq!(next_free_cidr(vpc, &used, 23).unwrap(), net("192.168.4.0/23"));
        // A used block larger than the VPC covers it all.
        assert_eq!(next_free_cidr(vpc, &[net("192.168.0.0/16")], 29), Err(CidrError::Exhausted { vpc, prefix: 29 }));
        // The very top of the address space.
        let top = net("255.255.255.0/24");
        assert_eq!(next_free_cidr(top, &[net("255.255.255.0/25")], 25).unwrap(), net("255.255.255.128/25"));
    }

    #[test]
    fn whole_vpc_as_one_vswitch() {
        let vpc = net("172.16.0.0/20");
        assert_eq!(next_free_cidr(vpc, &[], 20).unwrap(), vpc);
        assert!(next_free_cidr(vpc, &[net("172.16.15.248/29")], 20).is_err());
    }

    #[test]
    fn plan_places_large_blocks_first_and_keeps_order() {
        let vpc = net("10.0.0.0/16");
        let h: ZoneId = "cn-hangzhou-h".parse().unwrap();
        let i: ZoneId = "cn-hangzhou-i".parse().unwrap();
        let plan = plan_vswitches(vpc, &[], &[(h.clone(), 24), (i.clone(), 18), (h.clone(), 24)]).unwrap();
        let got: Vec<_> = plan.iter().map(|p| (p.zone_id.as_str(), p.cidr.to_string())).collect();
        assert_eq!(
            got,
            vec![
                ("cn-hangzhou-h", "10.0.64.0/24".to_owned()),
                ("cn-hangzhou-i", "10.0.0.0/18".to_owned()),
                ("cn-hangzhou-h", "10.0.65.0/24".to_owned()),
            ]
        );
        assert_eq!(plan[0].to_string(), "10.0.64.0/24 in cn-hangzhou-h");
        let err = plan_vswitches(net("10.0.0.0/24"), &[], &[(h.clone(), 25), (i, 25), (h, 25)]).unwrap_err();
        assert_eq!(err, CidrError::Exhausted { vpc: net("10.0.0.0/24"), prefix: 25 });
    }

    #[test]
    fn usable_addresses_excludes_reserved() {
        assert_eq!(usable_addresses(net("10.0.0.0/29")), 4);
        assert_eq!(usable_addresses(net("10.0.0.0/16")), 65532);
    }

    fn vpc_and_existing() -> impl Strategy<Value = (Ipv4Net, Vec<Ipv4Net>)> {
        (any::<u32>(), 8u8..=24).prop_flat_map(|(addr, prefix)| {
            let vpc = Ipv4Net::new(Ipv4Addr::from(addr), prefix).unwrap().trunc();
            let start = u32::from(vpc.network());
            let size = 1u64 << (32 - prefix);
            // Existing blocks: mostly inside the VPC, some anywhere (other CIDRs of the VPC).
            let inside = (0..size, 16u8..=29).prop_map(move |(off, p)| {
                Ipv4Net::new(Ipv4Addr::from(start.wrapping_add(off as u32)), p.max(prefix)).unwrap().trunc()
            });
            let anywhere =
                (any::<u32>(), 8u8..=29).prop_map(|(a, p)| Ipv4Net::new(Ipv4Addr::from(a), p).unwrap().trunc());
            let one = prop_oneof![4 => inside, 1 => anywhere];
            (Just(vpc), proptest::collection::vec(one, 0..40))
        })
    }

    proptest! {
        #[test]
        fn proposals_are_free_aligned_and_inside((vpc, existing) in vpc_and_existing(), p in 16u8..=29) {
            match next_free_cidr(vpc, &existing, p) {
                Ok(c) => {
                    prop_assert_eq!(c.prefix_len(), p);
                    prop_assert_eq!(c.trunc(), c, "aligned");
                    prop_assert!(vpc.contains(&c), "{} outside {}", c, vpc);
                    for e in &existing {
                        prop_assert!(!overlaps(*e, c), "{} overlaps {}", c, e);
                    }
                    prop_assert!(validate_vswitch_cidr(vpc, &existing, c).is_ok());
                }
                Err(CidrError::PrefixOutOfRange { .. }) => prop_assert!(p < vpc.prefix_len()),
                Err(CidrError::Exhausted { .. }) => {
                    // Completeness, where brute force is cheap: no free aligned block exists.
                    if p >= vpc.prefix_len() && p - vpc.prefix_len() <= 12 {
                        let n = 1u32 << (p - vpc.prefix_len());
                        let step = 1u32 << (32 - p);
                        for k in 0..n {
                            let cand = Ipv4Net::new(Ipv4Addr::from(u32::from(vpc.network()) + k * step), p).unwrap();
                            prop_assert!(existing.iter().any(|e| overlaps(*e, cand)), "{} was free", cand);
                        }
                    }
                }
                Err(e) => prop_assert!(false, "unexpected {e}"),
            }
        }

        #[test]
        fn plans_never_overlap((vpc, existing) in vpc_and_existing(), prefixes in proptest::collection::vec(16u8..=29, 1..8)) {
            let zone: ZoneId = "cn-hangzhou-h".parse().unwrap();
            let wanted: Vec<(ZoneId, u8)> = prefixes.iter().map(|p| (zone.clone(), *p)).collect();
            if let Ok(plan) = plan_vswitches(vpc, &existing, &wanted) {
                prop_assert_eq!(plan.len(), wanted.len());
                for (i, a) in plan.iter().enumerate() {
                    prop_assert_eq!(a.cidr.prefix_len(), wanted[i].1);
                    prop_assert_eq!(a.cidr.trunc(), a.cidr);
                    prop_assert!(vpc.contains(&a.cidr));
                    prop_assert!(existing.iter().all(|e| !overlaps(*e, a.cidr)));
                    for b in &plan[i + 1..] {
                        prop_assert!(!overlaps(a.cidr, b.cidr), "{} overlaps {}", a.cidr, b.cidr);
                    }
                }
            }
        }
    }
}
