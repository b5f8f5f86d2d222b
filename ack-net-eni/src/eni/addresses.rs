//! Secondary IPv4 and IPv6 addresses of an ENI: AssignPrivateIpAddresses,
//! UnassignPrivateIpAddresses, AssignIpv6Addresses, UnassignIpv6Addresses.

use ack_net_core::ErrorInfo;
use std::fmt::Display;
use std::net::{Ipv4Addr, Ipv6Addr};

use ack_net_core::de::Wrapped;
use ack_net_core::operation::{self, Ack, Operation};
use serde::Deserialize;

use super::NetworkInterfaces;
use crate::common::{already_removed, Removed, MAX_ADDRESSES_PER_CALL};
use crate::{EniId, Error};

impl NetworkInterfaces {
    /// AssignPrivateIpAddresses: a [`count`](AssignPrivateIpAddresses::count) or a
    /// [`list`](AssignPrivateIpAddresses::addresses) of 1 to 10 secondary IPv4 addresses.
    /// An attached ENI holds what its instance type allows (`EniPrivateIpAddressQuantity`,
    /// the primary address included), an unattached one 10; beyond that the call fails with
    /// a capacity error (`InvalidOperation.Ipv4CountExceeded`).
    pub fn assign_private_ips(&self, eni_id: &EniId) -> AssignPrivateIpAddresses {
        AssignPrivateIpAddresses::new(self.client.rpc(), eni_id.clone())
    }

    /// UnassignPrivateIpAddresses: returns secondary IPv4 addresses to the VSwitch. An
    /// address that is not on the ENI (`InvalidIp.IpUnassigned`) or an ENI that is gone
    /// counts as removed.
    pub fn unassign_private_ips(
        &self,
        eni_id: &EniId,
        ips: impl IntoIterator<Item = Ipv4Addr>,
    ) -> UnassignPrivateIpAddresses {
        UnassignPrivateIpAddresses::new(self.client.rpc(), eni_id.clone(), ips.into_iter().collect())
    }

    /// AssignIpv6Addresses: a count or a list of 1 to 10 IPv6 addresses; the ENI's VSwitch
    /// must have IPv6.
    pub fn assign_ipv6(&self, eni_id: &EniId) -> AssignIpv6Addresses {
        AssignIpv6Addresses::new(self.client.rpc(), eni_id.clone())
    }

    /// UnassignIpv6Addresses; an address not on the ENI counts as removed.
    pub fn unassign_ipv6(&self, eni_id: &EniId, ips: impl IntoIterator<Item = Ipv6Addr>) -> UnassignIpv6Addresses {
        UnassignIpv6Addresses::new(self.client.rpc(), eni_id.clone(), ips.into_iter().collect())
    }
}

/// Checks an assign call: 1-10 addresses, a count or a list (not both), no address twice.
fn check_assign<A: Display + PartialEq>(
    count: Option<u32>,
    addresses: &[A],
    count_name: &str,
    list_name: &str,
) -> Result<(), Error> {
    let n = match (count, addresses.len()) {
        (Some(_), l) if l > 0 => {
            return Err(Error::invalid_input(count_name, format!("give a count or {list_name}.N, not both")))
        }
        (Some(c), _) => c as usize,
        (None, l) => l,
    };
    if n == 0 {
        return Err(Error::invalid_input(count_name, "ask for at least one address"));
    }
    if n > MAX_ADDRESSES_PER_CALL {
        return Err(Error::invalid_input(
            count_name,
            format!("at most {MAX_ADDRESSES_PER_CALL} addresses in one call, not {n}"),
        ));
    }
    no_address_twice(addresses, list_name)
}

fn no_address_twice<A: Display + PartialEq>(addresses: &[A], list_name: &str) -> Result<(), Error> {
    for (i, a) in addresses.iter().enumerate() {
        if addresses[..i].contains(a) {
            return Err(Error::invalid_input(list_name, format!("{a} is given twice")));
        }
    }
    Ok(())
}

/// Declares the assign operation of one address family.
macro_rules! assign {
    ($(#[doc = $doc:literal])* $name:ident, $action:literal, $addr:ty, $answer:ident, $count:literal, $list:literal) => {
        ack_net_core::operation! {
            $(#[doc = $doc])*
            pub struct $name: crate::ECS, $action, idempotent_write -> Vec<$addr> as $answer => $answer::into_ips, Error;
            required {
                eni_id: EniId = "NetworkInterfaceId";
            }
            optional {
                /// Asks for this many addresses (1-10), chosen by the VSwitch.
                count: Option<u32> = $count => set(u32);
                /// Asks for these addresses (1-10, free in the ENI's VSwitch).
                addresses: Vec<$addr> = $list => extend($addr), push address;
            }
            check: |op: &Self| check_assign(op.count, &op.addresses, $count, $list);
        }
    };
}

assign!(
    /// An AssignPrivateIpAddresses request; answers the addresses assigned. Checked first:
    /// 1-10 addresses, a count or a list (not both), no address twice, the token.
    AssignPrivateIpAddresses, "AssignPrivateIpAddresses", Ipv4Addr, AssignedPrivateIpAddresses,
    "SecondaryPrivateIpAddressCount", "PrivateIpAddress"
);

/// What AssignPrivateIpAddresses answers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct AssignedPrivateIpAddresses {
    #[serde(rename = "AssignedPrivateIpAddressesSet", default)]
    set: Option<AssignedV4Set>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
struct AssignedV4Set {
    #[serde(rename = "PrivateIpSet", default)]
    ips: Wrapped<Ipv4Addr>,
}

impl AssignedPrivateIpAddresses {
    /// The addresses assigned.
    pub fn into_ips(self) -> Vec<Ipv4Addr> {
        self.set.map(|s| s.ips.into_inner()).unwrap_or_default()
    }
}

assign!(
    /// An AssignIpv6Addresses request; answers the addresses assigned. Checked as for IPv4.
    AssignIpv6Addresses, "AssignIpv6Addresses", Ipv6Addr, AssignedIpv6Addresses, "Ipv6AddressCount", "Ipv6Address"
);

/// What AssignIpv6Addresses answers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct AssignedIpv6Addresses {
    #[serde(rename = "Ipv6Sets", default)]
    ips: Wrapped<Ipv6Addr>,
}

impl AssignedIpv6Addresses {
    /// The addresses assigned.
    pub fn into_ips(self) -> Vec<Ipv6Addr> {
        self.ips.into_inner()
    }
}

/// Whether an unassign answer means "already gone".
fn gone(e: &Error) -> bool {
    matches!(e, Error::Api(e) if already_removed(e))
}

/// Sends an unassignment; "already gone" answers count as success. When several addresses
/// are named and the API refuses the call because one is not on the ENI, each is removed on
/// its own so that the others are not left behind.
async fn unassign<O, A>(mut op: O, addresses: fn(&mut O) -> &mut Vec<A>) -> Result<Removed, Error>
where
    O: Operation<Error = Error>,
    A: Clone,
{
    let all = addresses(&mut op).clone();
    match operation::send(&op).await {
        Ok(_) => return Ok(Removed::Now),
        Err(e) if e.is_code("InvalidIp.IpUnassigned") && all.len() > 1 => {}
        Err(e) if gone(&e) => return Ok(Removed::Already),
        Err(e) => return Err(e),
    }
    let mut removed = Removed::Already;
    for a in all {
        *addresses(&mut op) = vec![a];
        // Asking again is safe ("already gone" is success), so an answer lost on the way
        // (the address may be gone) is asked again here rather than by starting over.
        for attempt in 1.. {
            match operation::send(&op).await {
                Ok(_) => removed = Removed::Now,
                Err(e) if gone(&e) => {}
                Err(e) if e.is_retryable() && attempt < SINGLE_ADDRESS_ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
            break;
        }
    }
    Ok(removed)
}

/// How often one address of a split unassignment is asked for before the error is returned.
const SINGLE_ADDRESS_ATTEMPTS: u32 = 3;

/// Declares the unassign operation of one address family.
macro_rules! unassign {
    ($(#[doc = $doc:literal])* $name:ident, $action:literal, $addr:ty, $list:literal) => {
        ack_net_core::operation! {
            $(#[doc = $doc])*
            pub struct $name: crate::ECS, $action, write -> Ack, Error;
            required {
                eni_id: EniId = "NetworkInterfaceId";
                addresses: Vec<$addr> = $list;
            }
            optional {}
            check: |op: &Self| check_unassign(&op.addresses, $list);
            send: by_hand;
        }

        impl $name {
            /// Sends the request: [`Removed::Already`] when nothing was on the ENI any more.
            pub async fn send(self) -> Result<Removed, Error> {
                unassign(self, |op| &mut op.addresses).await
            }
        }
    };
}

unassign!(
    /// An UnassignPrivateIpAddresses request; checks the addresses first (at least one, none twice).
    UnassignPrivateIpAddresses, "UnassignPrivateIpAddresses", Ipv4Addr, "PrivateIpAddress"
);

unassign!(
    /// An UnassignIpv6Addresses request; checks the addresses first (at least one, none twice).
    UnassignIpv6Addresses, "UnassignIpv6Addresses", Ipv6Addr, "Ipv6Address"
);

fn check_unassign<A: Display + PartialEq>(addresses: &[A], list_name: &str) -> Result<(), Error> {
    if addresses.is_empty() {
        return Err(Error::invalid_input(list_name, "name at least one address"));
    }
    no_address_twice(addresses, list_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::test_support::{client, params};

    fn eni() -> EniId {
        "eni-1".parse().unwrap()
    }

    #[test]
    fn at_most_ten_per_assign() {
        let enis = client().network_interfaces();
        assert!(enis.assign_private_ips(&eni()).count(10).to_request().is_ok());
        let e = enis.assign_private_ips(&eni()).count(11).to_request().unwrap_err();
        assert!(e.is_invalid_input(), "{e}");
        let many: Vec<Ipv4Addr> = (1..=11).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect();
        assert!(enis.assign_private_ips(&eni()).addresses(many).to_request().is_err());
        assert!(enis.assign_private_ips(&eni()).to_request().is_err(), "nothing asked");
        assert!(enis.assign_private_ips(&eni()).count(0).to_request().is_err());
        assert!(enis.assign_ipv6(&eni()).count(11).to_request().is_err());
        let ip = Ipv4Addr::new(10, 0, 0, 1);
        assert!(enis.assign_private_ips(&eni()).count(1).addresses([ip]).to_request().is_err());
        assert!(enis.assign_private_ips(&eni()).addresses([ip, ip]).to_request().is_err());
        assert!("bad".parse::<EniId>().is_err());
    }

    #[test]
    fn parameters() {
        let enis = client().network_interfaces();
        let req = enis.assign_private_ips(&eni()).addresses([Ipv4Addr::new(10, 0, 0, 7)]).to_request().unwrap();
        let p = params(&req);
        assert!(p.contains(&("PrivateIpAddress.1".into(), "10.0.0.7".into())));
        let req = enis.unassign_ipv6(&eni(), ["2408::1".parse().unwrap()]).to_request().unwrap();
        assert!(params(&req).contains(&("Ipv6Address.1".into(), "2408::1".into())));
        assert!(enis.unassign_private_ips(&eni(), []).to_request().is_err());
    }

    #[test]
    fn decodes_answers() {
        let r: AssignedPrivateIpAddresses = serde_json::from_str(
            r#"{"AssignedPrivateIpAddressesSet":{"NetworkInterfaceId":"eni-1","PrivateIpSet":{"PrivateIpAddress":["10.0.0.2","10.0.0.3"]}}}"#,
        )
        .unwrap();
        assert_eq!(r.set.unwrap().ips.len(), 2);
        let r: AssignedIpv6Addresses = serde_json::from_str(r#"{"Ipv6Sets":{"Ipv6Address":["2408::2"]}}"#).unwrap();
        assert_eq!(r.ips.len(), 1);
    }
}
