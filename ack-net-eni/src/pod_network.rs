//! [`PodNetwork`]: everything one pod's network needs from the pool (its IPv4 and IPv6
//! addresses with the VSwitch's prefix length, the gateway, the ENI, its MAC and device
//! index, the routes) and its CNI 1.0 result.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use crate::pool::{Allocation, IpPool, PoolError, PoolMode, Released, VSwitchInfo};
use crate::{EniId, Mac, VSwitchId};

/// The CNI version of [`PodNetwork::cni_result`].
pub const CNI_VERSION: &str = "1.0.0";

/// The gateway pods use in a VSwitch: its third-from-last address (`192.168.1.253` in
/// `192.168.1.0/24`); the VSwitch reserves its last three. `None` for blocks smaller
/// than /29 (a VSwitch has /16 to /29).
///
/// ```
/// use ack_net_eni::pod_network::gateway_v4;
/// assert_eq!(gateway_v4("192.168.1.0/24".parse().unwrap()), Some("192.168.1.253".parse().unwrap()));
/// assert_eq!(gateway_v4("10.0.0.8/29".parse().unwrap()), Some("10.0.0.13".parse().unwrap()));
/// assert_eq!(gateway_v4("10.0.0.0/30".parse().unwrap()), None);
/// ```
pub fn gateway_v4(cidr: Ipv4Net) -> Option<Ipv4Addr> {
    if cidr.prefix_len() > 29 {
        return None;
    }
    Some(Ipv4Addr::from(u32::from(cidr.broadcast()) - 2))
}

/// The IPv6 gateway of a VSwitch's IPv6 block: its third-from-last address, as for IPv4.
///
/// ```
/// use ack_net_eni::pod_network::gateway_v6;
/// let gw = gateway_v6("2408:4005:300:1::/64".parse().unwrap()).unwrap();
/// assert_eq!(gw, "2408:4005:300:1:ffff:ffff:ffff:fffd".parse::<std::net::Ipv6Addr>().unwrap());
/// ```
pub fn gateway_v6(cidr: Ipv6Net) -> Option<Ipv6Addr> {
    if cidr.prefix_len() > 125 {
        return None;
    }
    Some(Ipv6Addr::from(u128::from(cidr.broadcast()) - 2))
}

/// A route of the pod.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Route {
    /// The destination.
    pub dst: IpNet,
    /// The next hop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gw: Option<IpAddr>,
}

/// One pod's network, from its [`Allocation`] and its VSwitch.
///
/// ```
/// use ack_net_eni::pod_network::PodNetwork;
/// # fn demo(alloc: &ack_net_eni::pool::Allocation, vsw: &ack_net_eni::pool::VSwitchInfo) -> Result<(), ack_net_eni::pool::PoolError> {
/// let net = PodNetwork::new(alloc, vsw)?;
/// let json = net.cni_result("eth0", Some("/var/run/netns/cni-1234"))?;
/// println!("{}", serde_json::to_string_pretty(&json).unwrap());
/// # Ok(()) }
/// ```
///
/// It is serializable (JSON) for the node agent's socket ([`crate::agent`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PodNetwork {
    /// The pod key.
    pub pod: String,
    /// Shared ENI or the pod's own.
    pub mode: PoolMode,
    /// The IPv4 address with the VSwitch's prefix length.
    pub ipv4: Ipv4Net,
    /// The IPv4 gateway.
    pub gateway4: Ipv4Addr,
    /// The IPv6 address with the VSwitch's IPv6 prefix length (dual stack).
    pub ipv6: Option<Ipv6Net>,
    /// The IPv6 gateway (dual stack).
    pub gateway6: Option<Ipv6Addr>,
    /// The ENI.
    pub eni_id: EniId,
    /// The ENI's MAC address.
    pub mac: Mac,
    /// The ENI's device index on the instance.
    pub device_index: Option<u32>,
    /// The VSwitch.
    pub vswitch_id: VSwitchId,
    /// The pod's routes: the defaults via the gateways.
    pub routes: Vec<Route>,
}

fn inconsistent(reason: String) -> PoolError {
    PoolError::InvalidInput { what: "allocation", reason }
}

impl PodNetwork {
    /// The network of `alloc`, whose ENI is in `vswitch`. Pure; the addresses must be in the
    /// VSwitch's blocks.
    pub fn new(alloc: &Allocation, vswitch: &VSwitchInfo) -> Result<Self, PoolError> {
        if alloc.vswitch_id != vswitch.vswitch_id {
            return Err(inconsistent(format!("{} is on {}, not {}", alloc.ipv4, alloc.vswitch_id, vswitch.vswitch_id)));
        }
        if !vswitch.cidr.contains(&alloc.ipv4) {
            return Err(inconsistent(format!("{} is outside {}", alloc.ipv4, vswitch.cidr)));
        }
        let gateway4 = gateway_v4(vswitch.cidr)
            .ok_or_else(|| inconsistent(format!("{} is too small for a VSwitch", vswitch.cidr)))?;
        let ipv4 = Ipv4Net::new(alloc.ipv4, vswitch.cidr.prefix_len())
            .map_err(|e| inconsistent(format!("{}: {e}", alloc.ipv4)))?;
        let mut routes = vec![Route { dst: IpNet::V4(Ipv4Net::default()), gw: Some(IpAddr::V4(gateway4)) }];
        let (ipv6, gateway6) = match alloc.ipv6 {
            None => (None, None),
            Some(v6) => {
                let cidr = vswitch
                    .ipv6_cidr
                    .ok_or_else(|| inconsistent(format!("{v6} given, but {} has no IPv6 block", vswitch.vswitch_id)))?;
                if !cidr.contains(&v6) {
                    return Err(inconsistent(format!("{v6} is outside {cidr}")));
                }
                let gw = gateway_v6(cidr).ok_or_else(|| inconsistent(format!("{cidr} is too small")))?;
                routes.push(Route { dst: IpNet::V6(Ipv6Net::default()), gw: Some(IpAddr::V6(gw)) });
                let net = Ipv6Net::new(v6, cidr.prefix_len()).map_err(|e| inconsistent(format!("{v6}: {e}")))?;
                (Some(net), Some(gw))
            }
        };
        Ok(Self {
            pod: alloc.pod.clone(),
            mode: if alloc.exclusive { PoolMode::Exclusive } else { PoolMode::Shared },
            ipv4,
            gateway4,
            ipv6,
            gateway6,
            eni_id: alloc.eni_id.clone(),
            mac: alloc.mac,
            device_index: alloc.device_index,
            vswitch_id: alloc.vswitch_id.clone(),
            routes,
        })
    }

    /// Allocates the pod's address from `pool` (idempotent per pod key) and describes its
    /// network: what a CNI ADD needs.
    pub async fn setup(pool: &IpPool, pod: &str) -> Result<Self, PoolError> {
        let alloc = pool.allocate(pod).await?;
        Self::in_pool(pool, &alloc)
    }

    /// The network of the address `pod` holds in `pool` now (`None` when it holds none):
    /// no allocation, no cloud call.
    pub fn held(pool: &IpPool, pod: &str) -> Result<Option<Self>, PoolError> {
        pool.held(pod).map(|alloc| Self::in_pool(pool, &alloc)).transpose()
    }

    fn in_pool(pool: &IpPool, alloc: &Allocation) -> Result<Self, PoolError> {
        let vswitch = pool
            .vswitch(&alloc.vswitch_id)
            .ok_or_else(|| inconsistent(format!("the pool does not know VSwitch {}", alloc.vswitch_id)))?;
        Self::new(alloc, &vswitch)
    }

    /// The inverse of [`PodNetwork::setup`]: gives the pod's address back to the pool. Idempotent
    /// (a CNI DEL repeated, or for a pod that never got an address, is
    /// [`Released::NotHeld`]).
    pub async fn teardown(pool: &IpPool, pod: &str) -> Result<Released, PoolError> {
        pool.release(pod).await
    }

    /// The CNI 1.0 result (`cniVersion`, `interfaces`, `ips`, `routes`, `dns`) for the
    /// pod's interface `ifname` in the network namespace `sandbox`. In exclusive mode the
    /// interface is the ENI itself (moved into the pod), so it carries the ENI's MAC; in
    /// shared mode the plugin creates the interface, and its MAC is the plugin's to add.
    pub fn cni_result(&self, ifname: &str, sandbox: Option<&str>) -> Result<serde_json::Value, PoolError> {
        if let Some(reason) = crate::common::ifname_problem(ifname) {
            return Err(PoolError::InvalidInput { what: "interface name", reason });
        }
        #[derive(Serialize)]
        struct Interface<'a> {
            name: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            mac: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            sandbox: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct Ip {
            address: IpNet,
            gateway: IpAddr,
            interface: usize,
        }
        #[derive(Serialize)]
        struct Dns {}
        #[derive(Serialize)]
        struct Result<'a> {
            #[serde(rename = "cniVersion")]
            cni_version: &'static str,
            interfaces: Vec<Interface<'a>>,
            ips: Vec<Ip>,
            routes: &'a [Route],
            dns: Dns,
        }
        let mac = (self.mode == PoolMode::Exclusive).then(|| self.mac.to_string());
        let mut ips = vec![Ip { address: IpNet::V4(self.ipv4), gateway: IpAddr::V4(self.gateway4), interface: 0 }];
        if let (Some(v6), Some(gw)) = (self.ipv6, self.gateway6) {
            ips.push(Ip { address: IpNet::V6(v6), gateway: IpAddr::V6(gw), interface: 0 });
        }
        let r = Result {
            cni_version: CNI_VERSION,
            interfaces: vec![Interface { name: ifname, mac, sandbox }],
            ips,
            routes: &self.routes,
            dns: Dns {},
        };
        serde_json::to_value(&r).map_err(|e| inconsistent(e.to_string()))
    }
}

/// A shared-ENI network in `10.1.1.0/24` on `eni-1` for unit tests: `pod` at `10.1.1.LAST`.
#[cfg(test)]
pub(crate) fn sample(pod: &str, last: u8) -> PodNetwork {
    let vsw =
        VSwitchInfo::new("vsw-1".parse().unwrap(), "cn-hangzhou-h".parse().unwrap(), "10.1.1.0/24".parse().unwrap());
    let alloc = Allocation {
        pod: pod.into(),
        ipv4: Ipv4Addr::new(10, 1, 1, last),
        ipv6: None,
        eni_id: "eni-1".parse().unwrap(),
        mac: "00:16:3e:00:00:01".parse().unwrap(),
        device_index: Some(1),
        vswitch_id: "vsw-1".parse().unwrap(),
        exclusive: false,
    };
    PodNetwork::new(&alloc, &vsw).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vsw(v6: bool) -> VSwitchInfo {
        let v = VSwitchInfo::new(
            "vsw-1".parse().unwrap(),
            "cn-hangzhou-h".parse().unwrap(),
            "192.168.1.0/24".parse().unwrap(),
        );
        if v6 {
            v.with_ipv6("2408:4005:300:1::/64".parse().unwrap())
        } else {
            v
        }
    }

    fn alloc(v6: bool, exclusive: bool) -> Allocation {
        Allocation {
            pod: "ns/web-0".into(),
            ipv4: "192.168.1.10".parse().unwrap(),
            ipv6: v6.then(|| "2408:4005:300:1::a".parse().unwrap()),
            eni_id: "eni-1".parse().unwrap(),
            mac: "00:16:3e:00:00:01".parse().unwrap(),
            device_index: Some(1),
            vswitch_id: "vsw-1".parse().unwrap(),
            exclusive,
        }
    }

    #[test]
    fn shared_ipv4_cni_result() {
        let net = PodNetwork::new(&alloc(false, false), &vsw(false)).unwrap();
        assert_eq!(net.gateway4, Ipv4Addr::new(192, 168, 1, 253));
        assert_eq!(net.ipv4.to_string(), "192.168.1.10/24");
        let r = net.cni_result("eth0", Some("/var/run/netns/x")).unwrap();
        assert_eq!(
            r,
            json!({
                "cniVersion": "1.0.0",
                "interfaces": [{"name": "eth0", "sandbox": "/var/run/netns/x"}],
                "ips": [{"address": "192.168.1.10/24", "gateway": "192.168.1.253", "interface": 0}],
                "routes": [{"dst": "0.0.0.0/0", "gw": "192.168.1.253"}],
                "dns": {}
            })
        );
    }

    #[test]
    fn exclusive_dual_stack_cni_result() {
        let net = PodNetwork::new(&alloc(true, true), &vsw(true)).unwrap();
        let r = net.cni_result("eth0", None).unwrap();
        assert_eq!(r["interfaces"], json!([{"name": "eth0", "mac": "00:16:3e:00:00:01"}]));
        assert_eq!(
            r["ips"][1],
            json!({"address": "2408:4005:300:1::a/64", "gateway": "2408:4005:300:1:ffff:ffff:ffff:fffd", "interface": 0})
        );
        assert_eq!(r["routes"][1], json!({"dst": "::/0", "gw": "2408:4005:300:1:ffff:ffff:ffff:fffd"}));
        assert_eq!(net.mode, PoolMode::Exclusive);
        assert_eq!(net.device_index, Some(1));
    }

    #[test]
    fn inconsistencies_are_typed_errors() {
        assert!(PodNetwork::new(&alloc(true, false), &vsw(false)).is_err(), "IPv6 without an IPv6 block");
        let mut other = vsw(false);
        other.cidr = "10.0.0.0/24".parse().unwrap();
        assert!(PodNetwork::new(&alloc(false, false), &other).is_err(), "outside the block");
        let net = PodNetwork::new(&alloc(false, false), &vsw(false)).unwrap();
        for bad in ["", "a/b", "a b", "sixteen-chars-xx"] {
            assert!(net.cni_result(bad, None).is_err(), "{bad:?}");
        }
    }
}
