//! The pod datapath (Linux, feature `datapath`): configures a [`PodNetwork`] into a pod's network
//! namespace over netlink, in Terway's veth policy-routing layout.
//!
//! - a veth pair: the node side named [`host_veth_name`] of the pod key, the pod side `eth0`
//!   (or the CNI `IFNAME`) holding the pod address as a /32 (and its IPv6 address as a /128,
//!   without duplicate address detection, where the network is dual stack);
//! - in the pod: a default route via [`POD_GATEWAY`] (169.254.1.1) on-link, with a permanent
//!   neighbour entry for it pointing at the node side's MAC (no proxy ARP); for IPv6 the same
//!   through [`POD_GATEWAY6`] (`fe80::1`, Terway's choice);
//! - on the node: the route to the pod /32 (/128) on the node side; the policy rules "to pod:
//!   main table" (priority [`TO_POD_PRIORITY`]) and "from pod: the ENI's table" ([`eni_table`]
//!   of the ENI's link index, priority [`FROM_POD_PRIORITY`]), whose default route goes through
//!   the ENI (found by its MAC, brought up, MTU set) to the VSwitch gateway (the IPv6 one via
//!   the VSwitch's IPv6 gateway); IPv4 forwarding on, and for dual stack IPv6 forwarding on and
//!   the node side's duplicate address detection off (`accept_dad` 0, so that its link-local
//!   address asks for the pod's at once).
//!
//! [`setup`], [`teardown`] and [`check`] are blocking and idempotent: each runs on a thread of
//! its own that enters the pod's namespace to open a netlink socket there (never on an async
//! worker; from async code call them inside `tokio::task::spawn_blocking`). They act on the
//! namespace of the calling thread as the node. [`plan`] is the pure list of [`Step`]s.
//!
//! In exclusive-ENI mode ([`PoolMode::Exclusive`]) the ENI itself is the pod's interface: its
//! link (found on the node by its MAC) moves into the pod's namespace, renamed to the CNI
//! `IFNAME` (its node name kept in the link's alias), with the pod address and the VSwitch's
//! prefix length, up with the MTU, and the default route via the VSwitch gateway (IPv6 too for
//! dual stack); no veth, rule or node route. Teardown moves it back to the node under its
//! original name, down and unaddressed, its alias cleared.
//!
//! Calls for different pods may run at once, except a [`teardown`] alongside a [`setup`] on the
//! same ENI: the teardown may remove the ENI table's route just as the setup starts using it
//! (the setup's [`check`] then reports [`Step::EniDefaultRoute`] missing, and a repeated setup
//! restores it). A node agent serializes the two per ENI.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use futures_util::TryStreamExt as _;
use nix::sched::{setns, CloneFlags};
use rtnetlink::packet_route::address::{AddressAttribute, AddressFlags};
use rtnetlink::packet_route::link::{InfoData, InfoVeth, LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourState};
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute, RouteMessage, RouteScope};
use rtnetlink::packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use rtnetlink::{Handle, IpVersion, LinkUnspec, LinkVeth, RouteMessageBuilder};

use crate::pod_network::PodNetwork;
use crate::pool::PoolMode;
use crate::Mac;

/// The link-local gateway every pod routes through.
pub const POD_GATEWAY: Ipv4Addr = Ipv4Addr::new(169, 254, 1, 1);
/// The link-local IPv6 gateway every dual-stack pod routes through (`fe80::1`).
pub const POD_GATEWAY6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
/// The priority of the rule "to the pod address: main table".
pub const TO_POD_PRIORITY: u32 = 512;
/// The priority of the rule "from the pod address: the ENI's table".
pub const FROM_POD_PRIORITY: u32 = 2048;
/// [`eni_table`] adds this to the ENI's link index.
pub const ENI_TABLE_BASE: u32 = 1000;
/// The longest interface name Linux takes (IFNAMSIZ - 1).
pub use crate::common::MAX_IFNAME;
const MAIN_TABLE: u32 = 254;

/// Why the datapath could not be set up, torn down or checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatapathError {
    /// Bad input, found before any kernel change.
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// What was wrong.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The pod's network namespace could not be opened or entered.
    #[error("network namespace {path}: {source}")]
    Netns {
        /// Its path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No link on the node has the ENI's MAC.
    #[error("no link on the node has the ENI's MAC {0}")]
    EniNotFound(Mac),
    /// A netlink request failed (after a failed setup, what it made was undone).
    #[error("{step}: {reason}")]
    Netlink {
        /// The step.
        step: String,
        /// The kernel's answer.
        reason: String,
    },
}

fn invalid(what: &'static str, reason: impl Into<String>) -> DatapathError {
    DatapathError::InvalidInput { what, reason: reason.into() }
}

fn nl(step: impl std::fmt::Display) -> impl FnOnce(rtnetlink::Error) -> DatapathError {
    let step = step.to_string();
    move |e| DatapathError::Netlink { step, reason: e.to_string() }
}

/// The pod side: its network namespace (a path such as `/var/run/netns/cni-…` or
/// `/proc/PID/ns/net`), its interface name and the MTU of the veth and the ENI.
///
/// ```
/// use ack_net_eni::datapath::{DatapathError, PodInterface};
/// let pod = PodInterface::new("/var/run/netns/cni-1", "eth0").unwrap().mtu(1500);
/// assert_eq!(pod.ifname(), "eth0");
/// assert!(matches!(PodInterface::new("/x", "a-name-that-is-too-long"), Err(DatapathError::InvalidInput { .. })));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodInterface {
    netns: PathBuf,
    ifname: String,
    mtu: u32,
}

/// Checks a Linux interface name: 1 to 15 bytes, no `/`, `:` or whitespace, not `.` or `..`.
fn check_ifname(name: &str) -> Result<(), DatapathError> {
    crate::common::ifname_problem(name).map_or(Ok(()), |reason| Err(invalid("interface name", reason)))
}

impl PodInterface {
    /// The pod side, MTU 1500. The name is checked here; the namespace path when it is used.
    pub fn new(netns: impl Into<PathBuf>, ifname: &str) -> Result<Self, DatapathError> {
        check_ifname(ifname)?;
        Ok(Self { netns: netns.into(), ifname: ifname.to_owned(), mtu: 1500 })
    }

    /// Sets the MTU of the veth pair and the ENI.
    pub fn mtu(mut self, mtu: u32) -> Self {
        self.mtu = mtu;
        self
    }

    /// The pod's interface name.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// The pod's namespace path.
    pub fn netns(&self) -> &Path {
        &self.netns
    }
}

/// The node side's name for a pod key: `ack` and 12 hex digits of the key's 64-bit FNV-1a
/// hash (15 bytes, Linux's limit), stable across versions and machines.
///
/// ```
/// use ack_net_eni::datapath::host_veth_name;
/// let name = host_veth_name("default/web-0");
/// assert_eq!(name.len(), 15);
/// assert_eq!(name, host_veth_name("default/web-0"));
/// assert_ne!(name, host_veth_name("default/web-1"));
/// ```
pub fn host_veth_name(pod: &str) -> String {
    format!("ack{:012x}", fnv1a(pod) >> 16)
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The routing table of the ENI whose link index is `index`: [`ENI_TABLE_BASE`] + index.
///
/// ```
/// assert_eq!(ack_net_eni::datapath::eni_table(3), 1003);
/// ```
pub fn eni_table(index: u32) -> u32 {
    ENI_TABLE_BASE + index
}

/// One piece of the layout; [`plan`] lists them in the order [`setup`] makes them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// IPv4 forwarding on the node.
    Forwarding,
    /// IPv6 forwarding on the node (`net.ipv6.conf.all.forwarding`), for dual stack.
    Forwarding6,
    /// The ENI (by MAC) up with the MTU.
    EniUp {
        /// The ENI's MAC.
        mac: Mac,
        /// The MTU.
        mtu: u32,
    },
    /// Exclusive mode: the ENI (by MAC) in the pod, named `ifname`, up with the MTU.
    EniInPod {
        /// The ENI's MAC.
        mac: Mac,
        /// Its name in the pod.
        ifname: String,
        /// The MTU.
        mtu: u32,
    },
    /// The veth pair, both sides up with the MTU.
    Veth {
        /// The node side.
        host: String,
        /// The pod side.
        pod: String,
        /// The MTU.
        mtu: u32,
        /// Dual stack: the node side does no duplicate address detection (`accept_dad` 0).
        ipv6: bool,
    },
    /// The pod address on the pod side: /32 (IPv4) or /128 (IPv6) on a veth, the VSwitch's
    /// prefix length on an exclusive ENI.
    PodAddress {
        /// The pod side.
        ifname: String,
        /// The address.
        address: IpAddr,
        /// Its prefix length.
        prefix_len: u8,
    },
    /// In the pod, a permanent neighbour entry for the link-local gateway ([`POD_GATEWAY`] or
    /// [`POD_GATEWAY6`]) with the node side's MAC.
    PodGatewayNeighbour {
        /// The pod side.
        ifname: String,
        /// The node side, whose MAC it holds.
        host: String,
        /// The link-local gateway.
        gateway: IpAddr,
    },
    /// In the pod, the default route on-link via the link-local gateway (via the VSwitch
    /// gateway on an exclusive ENI).
    PodDefaultRoute {
        /// The pod side.
        ifname: String,
        /// The gateway.
        gateway: IpAddr,
    },
    /// On the node, the route to the pod /32 (/128) on the node side.
    HostRoute {
        /// The node side.
        host: String,
        /// The pod address.
        address: IpAddr,
    },
    /// The rule "to the pod address: main table".
    ToPodRule {
        /// The pod address.
        address: IpAddr,
    },
    /// The rule "from the pod address: the ENI's table".
    FromPodRule {
        /// The pod address.
        address: IpAddr,
        /// The ENI's table.
        table: u32,
    },
    /// The ENI table's default route (of the gateway's family) through the ENI to the VSwitch
    /// gateway, on-link.
    EniDefaultRoute {
        /// The ENI's table.
        table: u32,
        /// The ENI's link index.
        eni: u32,
        /// The VSwitch gateway.
        gateway: IpAddr,
    },
}

/// Checks what can be checked without the kernel: a pod key, an IPv6 gateway with an IPv6
/// address, the MTU.
fn validate(net: &PodNetwork, pod: &PodInterface) -> Result<(), DatapathError> {
    check_ifname(&pod.ifname)?;
    if net.pod.is_empty() {
        return Err(invalid("pod key", "it is empty"));
    }
    if net.ipv6.is_some() != net.gateway6.is_some() {
        return Err(invalid("IPv6", "an IPv6 address needs an IPv6 gateway and the other way round"));
    }
    if !(68..=65535).contains(&pod.mtu) {
        return Err(invalid("MTU", format!("{} is outside 68..=65535", pod.mtu)));
    }
    Ok(())
}

/// The steps of the layout for `net` in `pod`, whose ENI has link index `eni_index` (unused in
/// exclusive mode). Pure.
///
/// ```
/// # fn demo(net: &ack_net_eni::pod_network::PodNetwork) {
/// use ack_net_eni::datapath::{plan, PodInterface};
/// let pod = PodInterface::new("/var/run/netns/cni-1", "eth0").unwrap();
/// for step in plan(net, &pod, 3) {
///     println!("{step:?}");
/// }
/// # }
/// ```
pub fn plan(net: &PodNetwork, pod: &PodInterface, eni_index: u32) -> Vec<Step> {
    let ipv6 = net.ipv6.zip(net.gateway6);
    if net.mode == PoolMode::Exclusive {
        let ifname = pod.ifname.clone();
        let mut steps = vec![Step::EniInPod { mac: net.mac, ifname: ifname.clone(), mtu: pod.mtu }];
        let families = [
            Some((IpAddr::V4(net.ipv4.addr()), net.ipv4.prefix_len(), IpAddr::V4(net.gateway4))),
            ipv6.map(|(a, gw)| (IpAddr::V6(a.addr()), a.prefix_len(), IpAddr::V6(gw))),
        ];
        for (address, prefix_len, gateway) in families.into_iter().flatten() {
            steps.push(Step::PodAddress { ifname: ifname.clone(), address, prefix_len });
            steps.push(Step::PodDefaultRoute { ifname: ifname.clone(), gateway });
        }
        return steps;
    }
    let host = host_veth_name(&net.pod);
    let table = eni_table(eni_index);
    let mut steps = vec![Step::Forwarding];
    if ipv6.is_some() {
        steps.push(Step::Forwarding6);
    }
    steps.push(Step::EniUp { mac: net.mac, mtu: pod.mtu });
    steps.push(Step::Veth { host: host.clone(), pod: pod.ifname.clone(), mtu: pod.mtu, ipv6: ipv6.is_some() });
    let families = [
        Some((IpAddr::V4(net.ipv4.addr()), IpAddr::V4(POD_GATEWAY), IpAddr::V4(net.gateway4))),
        ipv6.map(|(a, gw)| (IpAddr::V6(a.addr()), IpAddr::V6(POD_GATEWAY6), IpAddr::V6(gw))),
    ];
    for (address, link_gateway, gateway) in families.into_iter().flatten() {
        let ifname = pod.ifname.clone();
        steps.extend([
            Step::PodAddress { ifname: ifname.clone(), address, prefix_len: full_len(address) },
            Step::PodGatewayNeighbour { ifname: ifname.clone(), host: host.clone(), gateway: link_gateway },
            Step::PodDefaultRoute { ifname, gateway: link_gateway },
            Step::HostRoute { host: host.clone(), address },
            Step::ToPodRule { address },
            Step::FromPodRule { address, table },
            Step::EniDefaultRoute { table, eni: eni_index, gateway },
        ]);
    }
    steps
}

/// Configures `net` into `pod`'s namespace and the calling thread's (the node's); what is
/// already there is kept, so a repeated call is a no-op. A failed setup undoes its steps.
///
/// ```no_run
/// # fn demo(net: &ack_net_eni::pod_network::PodNetwork) -> Result<(), ack_net_eni::datapath::DatapathError> {
/// use ack_net_eni::datapath::{setup, PodInterface};
/// setup(net, &PodInterface::new("/var/run/netns/cni-1", "eth0")?)?;
/// # Ok(()) }
/// ```
pub fn setup(net: &PodNetwork, pod: &PodInterface) -> Result<(), DatapathError> {
    validate(net, pod)?;
    let file = open_netns(&pod.netns)?;
    on_own_thread(|| {
        with_handles(Some(&file), &pod.netns, |k| async move {
            let eni = k.plan_eni(net).await?;
            let mut result = Ok(());
            for step in plan(net, pod, eni) {
                result = match k.present(&step).await {
                    Ok(true) => Ok(()),
                    Ok(false) => k.apply(&step).await,
                    Err(e) => Err(e),
                };
                if result.is_err() {
                    break;
                }
            }
            if result.is_err() {
                // Best effort: the first error is the one reported.
                let _ = k.remove(net).await;
            }
            result
        })
    })
}

/// Removes what [`setup`] made for `net` (the veth pair, with the pod side's address, route
/// and neighbour; the node's route and rules for the pod; the ENI table's default route once
/// no other pod's rule uses the table). Leaves the ENI up. In exclusive mode, moves the ENI
/// back to the node under its original name, down and unaddressed. Works when the pod's
/// namespace is gone (a CNI DEL may come after it); a repeated call is a no-op.
///
/// ```no_run
/// # fn demo(net: &ack_net_eni::pod_network::PodNetwork) -> Result<(), ack_net_eni::datapath::DatapathError> {
/// use ack_net_eni::datapath::{teardown, PodInterface};
/// teardown(net, &PodInterface::new("/var/run/netns/cni-1", "eth0")?)?;
/// # Ok(()) }
/// ```
pub fn teardown(net: &PodNetwork, pod: &PodInterface) -> Result<(), DatapathError> {
    validate(net, pod)?;
    // Only an exclusive ENI needs the pod's side (to take the ENI back), if it is still there
    // (a CNI DEL without a namespace names none, or a directory such as `/`).
    let file = if net.mode == PoolMode::Exclusive && pod.netns.metadata().is_ok_and(|m| m.is_file()) {
        open_netns(&pod.netns).ok()
    } else {
        None
    };
    on_own_thread(|| with_handles(file.as_ref(), &pod.netns, |k| async move { k.remove(net).await }))
}

/// The steps of the layout that are missing (empty when all is in place).
///
/// ```no_run
/// # fn demo(net: &ack_net_eni::pod_network::PodNetwork) -> Result<(), ack_net_eni::datapath::DatapathError> {
/// use ack_net_eni::datapath::{check, PodInterface};
/// for missing in check(net, &PodInterface::new("/var/run/netns/cni-1", "eth0")?)? {
///     println!("missing: {missing:?}");
/// }
/// # Ok(()) }
/// ```
pub fn check(net: &PodNetwork, pod: &PodInterface) -> Result<Vec<Step>, DatapathError> {
    validate(net, pod)?;
    let file = open_netns(&pod.netns)?;
    on_own_thread(|| {
        with_handles(Some(&file), &pod.netns, |k| async move {
            let eni = k.plan_eni(net).await?;
            let mut missing = Vec::new();
            for step in plan(net, pod, eni) {
                if !k.present(&step).await? {
                    missing.push(step);
                }
            }
            Ok(missing)
        })
    })
}

fn open_netns(path: &Path) -> Result<File, DatapathError> {
    File::open(path).map_err(|source| DatapathError::Netns { path: path.to_owned(), source })
}

/// Runs `f` on a new thread (which starts in the caller's namespace).
fn on_own_thread<R: Send>(f: impl FnOnce() -> Result<R, DatapathError> + Send) -> Result<R, DatapathError> {
    std::thread::scope(|s| s.spawn(f).join())
        .map_err(|_| DatapathError::Netlink { step: "the datapath thread".into(), reason: "it panicked".into() })?
}

/// The netlink sockets of the node and (when its namespace is given) the pod.
struct Kernel {
    host: Handle,
    pod: Option<(Handle, i32)>,
    /// The node's namespace (where an exclusive ENI goes back to).
    home: File,
}

/// Opens the sockets on this (own) thread, entering the pod's namespace to open its socket.
fn with_handles<T, F: std::future::Future<Output = Result<T, DatapathError>>>(
    pod_ns: Option<&File>,
    path: &Path,
    f: impl FnOnce(std::rc::Rc<Kernel>) -> F,
) -> Result<T, DatapathError> {
    let netns_err = |source: std::io::Error| DatapathError::Netns { path: path.to_owned(), source };
    let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().map_err(netns_err)?;
    let _in_rt = rt.enter();
    let connect = || rtnetlink::new_connection().map_err(netns_err);
    let (conn, host, _) = connect()?;
    rt.spawn(conn);
    let home = File::open("/proc/thread-self/ns/net").map_err(netns_err)?;
    let pod = match pod_ns {
        None => None,
        Some(file) => {
            setns(file, CloneFlags::CLONE_NEWNET).map_err(|e| netns_err(e.into()))?;
            let made = connect();
            setns(&home, CloneFlags::CLONE_NEWNET).map_err(|e| netns_err(e.into()))?;
            let (conn, handle, _) = made?;
            rt.spawn(conn);
            Some((handle, file.as_raw_fd()))
        }
    };
    rt.block_on(f(std::rc::Rc::new(Kernel { host, pod, home })))
}

fn link_name(l: &LinkMessage) -> Option<&str> {
    l.attributes.iter().find_map(|a| if let LinkAttribute::IfName(n) = a { Some(n.as_str()) } else { None })
}

fn link_mac(l: &LinkMessage) -> Option<&[u8]> {
    l.attributes.iter().find_map(|a| if let LinkAttribute::Address(m) = a { Some(m.as_slice()) } else { None })
}

fn link_alias(l: &LinkMessage) -> Option<&str> {
    l.attributes.iter().find_map(|a| if let LinkAttribute::IfAlias(n) = a { Some(n.as_str()) } else { None })
}

/// What an exclusive ENI's alias says while it is in a pod: this and its name on the node.
const ALIAS_PREFIX: &str = "ack-net node name: ";

fn link_mtu(l: &LinkMessage) -> Option<u32> {
    l.attributes.iter().find_map(|a| if let LinkAttribute::Mtu(m) = a { Some(*m) } else { None })
}

fn route_table(r: &RouteMessage) -> u32 {
    r.attributes
        .iter()
        .find_map(|a| if let RouteAttribute::Table(t) = a { Some(*t) } else { None })
        .unwrap_or(u32::from(r.header.table))
}

fn route_addr(r: &RouteMessage, want: fn(&RouteAttribute) -> Option<&RouteAddress>) -> Option<IpAddr> {
    r.attributes.iter().find_map(|a| match want(a) {
        Some(RouteAddress::Inet(v)) => Some(IpAddr::V4(*v)),
        Some(RouteAddress::Inet6(v)) => Some(IpAddr::V6(*v)),
        _ => None,
    })
}

fn route_gateway(r: &RouteMessage) -> Option<IpAddr> {
    route_addr(r, |a| if let RouteAttribute::Gateway(g) = a { Some(g) } else { None })
}

/// The prefix length of one address: 32 or 128.
fn full_len(address: IpAddr) -> u8 {
    if address.is_ipv4() {
        32
    } else {
        128
    }
}

/// A route to `dst/len` (of `dst`'s family).
fn route_to(dst: IpAddr, len: u8) -> Result<RouteMessageBuilder<IpAddr>, DatapathError> {
    RouteMessageBuilder::<IpAddr>::new()
        .destination_prefix(dst, len)
        .map_err(|e| DatapathError::Netlink { step: format!("a route to {dst}/{len}"), reason: e.to_string() })
}

/// The default route via `gateway`, of its family.
fn default_via(gateway: IpAddr) -> Result<RouteMessageBuilder<IpAddr>, DatapathError> {
    let any = if gateway.is_ipv4() { IpAddr::V4(Ipv4Addr::UNSPECIFIED) } else { IpAddr::V6(Ipv6Addr::UNSPECIFIED) };
    route_to(any, 0)?
        .gateway(gateway)
        .map_err(|e| DatapathError::Netlink { step: format!("a default route via {gateway}"), reason: e.to_string() })
}

/// The sysctl file of the node's (the calling thread's) namespace.
fn sysctl_path(key: &str) -> String {
    format!("/proc/sys/net/{key}")
}

fn sysctl_is(key: &str, value: &str) -> bool {
    std::fs::read_to_string(sysctl_path(key)).is_ok_and(|v| v.trim() == value)
}

fn set_sysctl(key: &str, value: &str, step: &str) -> Result<(), DatapathError> {
    std::fs::write(sysctl_path(key), value)
        .map_err(|e| DatapathError::Netlink { step: step.to_owned(), reason: format!("writing {key}: {e}") })
}

fn no_dad_key(link: &str) -> String {
    format!("ipv6/conf/{link}/accept_dad")
}

const FORWARDING: &str = "ipv4/ip_forward";
const FORWARDING6: &str = "ipv6/conf/all/forwarding";

/// The pod's addresses: IPv4, and IPv6 for dual stack.
fn pod_addresses(net: &PodNetwork) -> impl Iterator<Item = IpAddr> {
    std::iter::once(IpAddr::V4(net.ipv4.addr())).chain(net.ipv6.map(|a| IpAddr::V6(a.addr())))
}

fn route_oif(r: &RouteMessage) -> Option<u32> {
    r.attributes.iter().find_map(|a| if let RouteAttribute::Oif(i) = a { Some(*i) } else { None })
}

fn rule_table(r: &RuleMessage) -> u32 {
    r.attributes
        .iter()
        .find_map(|a| if let RuleAttribute::Table(t) = a { Some(*t) } else { None })
        .unwrap_or(u32::from(r.header.table))
}

fn rule_priority(r: &RuleMessage) -> Option<u32> {
    r.attributes.iter().find_map(|a| if let RuleAttribute::Priority(p) = a { Some(*p) } else { None })
}

/// Whether the rule matches exactly `to address/32` (`to`) or `from address/32` (/128 for
/// IPv6).
fn rule_is(r: &RuleMessage, address: IpAddr, to: bool) -> bool {
    let (len, other) = if to { (r.header.dst_len, r.header.src_len) } else { (r.header.src_len, r.header.dst_len) };
    len == full_len(address)
        && other == 0
        && r.attributes.iter().any(|a| match (a, to) {
            (RuleAttribute::Destination(v), true) | (RuleAttribute::Source(v), false) => *v == address,
            _ => false,
        })
}

impl Kernel {
    fn pod(&self) -> Result<&(Handle, i32), DatapathError> {
        self.pod.as_ref().ok_or_else(|| invalid("pod namespace", "not opened"))
    }

    async fn links(h: &Handle) -> Result<Vec<LinkMessage>, DatapathError> {
        h.link().get().execute().try_collect().await.map_err(nl("listing links"))
    }

    /// The link named `name`, asked of the kernel by name (no dump: a node has a link per pod).
    async fn link(h: &Handle, name: &str) -> Result<Option<LinkMessage>, DatapathError> {
        match h.link().get().match_name(name).execute().try_next().await {
            Ok(l) => Ok(l.filter(|l| link_name(l) == Some(name))),
            Err(rtnetlink::Error::NetlinkError(e)) if e.raw_code() == -(nix::errno::Errno::ENODEV as i32) => Ok(None),
            Err(e) => Err(nl(format!("looking up {name}"))(e)),
        }
    }

    async fn index(h: &Handle, name: &str) -> Result<u32, DatapathError> {
        Self::link(h, name)
            .await?
            .map(|l| l.header.index)
            .ok_or_else(|| DatapathError::Netlink { step: format!("looking up {name}"), reason: "no such link".into() })
    }

    async fn eni_link(&self, mac: Mac) -> Result<LinkMessage, DatapathError> {
        Self::links(&self.host)
            .await?
            .into_iter()
            .find(|l| link_mac(l) == Some(&mac.octets()[..]))
            .ok_or(DatapathError::EniNotFound(mac))
    }

    async fn eni_index(&self, mac: Mac) -> Result<u32, DatapathError> {
        Ok(self.eni_link(mac).await?.header.index)
    }

    /// The ENI's link index for [`plan`]: unused (0) in exclusive mode, where the ENI may be
    /// in the pod already.
    async fn plan_eni(&self, net: &PodNetwork) -> Result<u32, DatapathError> {
        if net.mode == PoolMode::Exclusive {
            return Ok(0);
        }
        self.eni_index(net.mac).await
    }

    /// The link with `mac` in the namespace of `h`, if there is one.
    async fn link_by_mac(h: &Handle, mac: Mac) -> Result<Option<LinkMessage>, DatapathError> {
        Ok(Self::links(h).await?.into_iter().find(|l| link_mac(l) == Some(&mac.octets()[..])))
    }

    /// The routes of every table, IPv6 (`v6`) or IPv4.
    async fn routes(h: &Handle, v6: bool) -> Result<Vec<RouteMessage>, DatapathError> {
        let filter = if v6 {
            RouteMessageBuilder::<Ipv6Addr>::new().build()
        } else {
            RouteMessageBuilder::<Ipv4Addr>::new().build()
        };
        h.route().get(filter).execute().try_collect().await.map_err(nl("listing routes"))
    }

    /// The node's rules, IPv6 (`v6`) or IPv4.
    async fn rules(&self, v6: bool) -> Result<Vec<RuleMessage>, DatapathError> {
        let version = if v6 { IpVersion::V6 } else { IpVersion::V4 };
        self.host.rule().get(version).execute().try_collect().await.map_err(nl("listing rules"))
    }

    /// Adds the rule "to (`to`) or from `address`: `table`" at `priority`.
    async fn add_rule(&self, address: IpAddr, to: bool, table: u32, priority: u32) -> Result<(), rtnetlink::Error> {
        let req = self.host.rule().add().table_id(table).priority(priority).action(RuleAction::ToTable);
        match (address, to) {
            (IpAddr::V4(a), true) => req.v4().destination_prefix(a, 32).execute().await,
            (IpAddr::V4(a), false) => req.v4().source_prefix(a, 32).execute().await,
            (IpAddr::V6(a), true) => req.v6().destination_prefix(a, 128).execute().await,
            (IpAddr::V6(a), false) => req.v6().source_prefix(a, 128).execute().await,
        }
    }

    async fn present(&self, step: &Step) -> Result<bool, DatapathError> {
        Ok(match step {
            Step::Forwarding => sysctl_is(FORWARDING, "1"),
            Step::Forwarding6 => sysctl_is(FORWARDING6, "1"),
            Step::EniUp { mac, mtu } => {
                let l = self.eni_link(*mac).await?;
                l.header.flags.contains(LinkFlags::Up) && link_mtu(&l) == Some(*mtu)
            }
            Step::EniInPod { mac, ifname, mtu } => Self::link(&self.pod()?.0, ifname).await?.is_some_and(|l| {
                link_mac(&l) == Some(&mac.octets()[..])
                    && l.header.flags.contains(LinkFlags::Up)
                    && link_mtu(&l) == Some(*mtu)
            }),
            Step::Veth { host, pod, mtu, ipv6 } => {
                let up = |l: Option<LinkMessage>| {
                    l.is_some_and(|l| l.header.flags.contains(LinkFlags::Up) && link_mtu(&l) == Some(*mtu))
                };
                up(Self::link(&self.host, host).await?)
                    && up(Self::link(&self.pod()?.0, pod).await?)
                    && (!ipv6 || sysctl_is(&no_dad_key(host), "0"))
            }
            Step::PodAddress { ifname, address, prefix_len } => {
                let h = &self.pod()?.0;
                let Some(l) = Self::link(h, ifname).await? else { return Ok(false) };
                let addrs: Vec<_> = h
                    .address()
                    .get()
                    .set_link_index_filter(l.header.index)
                    .execute()
                    .try_collect()
                    .await
                    .map_err(nl("listing addresses"))?;
                addrs.iter().any(|m| {
                    m.header.prefix_len == *prefix_len && m.attributes.contains(&AddressAttribute::Address(*address))
                })
            }
            Step::PodGatewayNeighbour { ifname, host, gateway } => {
                let h = &self.pod()?.0;
                let (Some(l), Some(hl)) = (Self::link(h, ifname).await?, Self::link(&self.host, host).await?) else {
                    return Ok(false);
                };
                let neigh: Vec<_> =
                    h.neighbours().get().execute().try_collect().await.map_err(nl("listing neighbours"))?;
                let mac = link_mac(&hl).map(<[u8]>::to_vec);
                neigh.iter().any(|n| {
                    n.header.ifindex == l.header.index
                        && n.header.state == NeighbourState::Permanent
                        && n.attributes.contains(&NeighbourAttribute::Destination(NeighbourAddress::from(*gateway)))
                        && n.attributes
                            .iter()
                            .any(|a| matches!(a, NeighbourAttribute::LinkLayerAddress(m) if Some(m) == mac.as_ref()))
                })
            }
            Step::PodDefaultRoute { ifname, gateway } => {
                let h = &self.pod()?.0;
                let Some(l) = Self::link(h, ifname).await? else { return Ok(false) };
                Self::routes(h, gateway.is_ipv6()).await?.iter().any(|r| {
                    route_table(r) == MAIN_TABLE
                        && r.header.destination_prefix_length == 0
                        && route_oif(r) == Some(l.header.index)
                        && route_gateway(r) == Some(*gateway)
                })
            }
            Step::HostRoute { host, address } => {
                let Some(l) = Self::link(&self.host, host).await? else { return Ok(false) };
                Self::routes(&self.host, address.is_ipv6()).await?.iter().any(|r| {
                    route_table(r) == MAIN_TABLE
                        && r.header.destination_prefix_length == full_len(*address)
                        && route_oif(r) == Some(l.header.index)
                        && route_addr(r, |a| if let RouteAttribute::Destination(d) = a { Some(d) } else { None })
                            == Some(*address)
                })
            }
            Step::ToPodRule { address } => self.rules(address.is_ipv6()).await?.iter().any(|r| {
                rule_is(r, *address, true) && rule_table(r) == MAIN_TABLE && rule_priority(r) == Some(TO_POD_PRIORITY)
            }),
            Step::FromPodRule { address, table } => self.rules(address.is_ipv6()).await?.iter().any(|r| {
                rule_is(r, *address, false) && rule_table(r) == *table && rule_priority(r) == Some(FROM_POD_PRIORITY)
            }),
            Step::EniDefaultRoute { table, eni, gateway } => {
                Self::routes(&self.host, gateway.is_ipv6()).await?.iter().any(|r| {
                    route_table(r) == *table
                        && r.header.destination_prefix_length == 0
                        && route_oif(r) == Some(*eni)
                        && route_gateway(r) == Some(*gateway)
                })
            }
        })
    }

    async fn apply(&self, step: &Step) -> Result<(), DatapathError> {
        let what = format!("{step:?}");
        match step {
            Step::Forwarding => set_sysctl(FORWARDING, "1", &what),
            Step::Forwarding6 => set_sysctl(FORWARDING6, "1", &what),
            Step::EniUp { mac, mtu } => {
                let i = self.eni_index(*mac).await?;
                self.host
                    .link()
                    .set(LinkUnspec::new_with_index(i).mtu(*mtu).up().build())
                    .execute()
                    .await
                    .map_err(nl(what))
            }
            Step::EniInPod { mac, ifname, mtu } => {
                let (ph, fd) = self.pod()?;
                let in_pod = match Self::link(ph, ifname).await? {
                    Some(l) if link_mac(&l) == Some(&mac.octets()[..]) => l.header.index,
                    Some(l) => {
                        return Err(DatapathError::Netlink {
                            step: what,
                            reason: format!(
                                "the pod already has a link {ifname} (index {}) that is not ours",
                                l.header.index
                            ),
                        })
                    }
                    None => {
                        let l = self.eni_link(*mac).await?;
                        let (i, name) = (l.header.index, link_name(&l).unwrap_or_default().to_owned());
                        let alias = LinkUnspec::new_with_index(i).alias(format!("{ALIAS_PREFIX}{name}")).build();
                        self.host.link().set(alias).execute().await.map_err(nl(&what))?;
                        // One message: the link leaves down and takes its pod name there.
                        let moving = LinkUnspec::new_with_index(i).down().name(ifname.clone()).setns_by_fd(*fd).build();
                        self.host.link().set(moving).execute().await.map_err(nl(&what))?;
                        Self::index(ph, ifname).await?
                    }
                };
                ph.link()
                    .set(LinkUnspec::new_with_index(in_pod).mtu(*mtu).up().build())
                    .execute()
                    .await
                    .map_err(nl(what))
            }
            Step::Veth { host, pod, mtu, ipv6 } => {
                let (ph, fd) = self.pod()?;
                // A half-made pair (one side missing) is made again.
                if let Some(l) = Self::link(&self.host, host).await? {
                    self.host.link().del(l.header.index).execute().await.map_err(nl(&what))?;
                }
                if let Some(l) = Self::link(ph, pod).await? {
                    return Err(DatapathError::Netlink {
                        step: what,
                        reason: format!("the pod already has a link {pod} (index {}) that is not ours", l.header.index),
                    });
                }
                // The pod side is made in the pod's namespace: moving a link between
                // namespaces costs the kernel tens of milliseconds (RCU grace periods).
                let peer = LinkUnspec::new_with_name(pod).mtu(*mtu).setns_by_fd(*fd).build();
                let pair = LinkVeth::new(host, pod).mtu(*mtu).set_info_data(InfoData::Veth(InfoVeth::Peer(peer)));
                self.host.link().add(pair.build()).execute().await.map_err(nl(&what))?;
                if *ipv6 {
                    // Before it is up: its link-local address is usable at once.
                    set_sysctl(&no_dad_key(host), "0", &what)?;
                }
                let h = Self::index(&self.host, host).await?;
                self.host.link().set(LinkUnspec::new_with_index(h).up().build()).execute().await.map_err(nl(&what))?;
                let p = Self::index(ph, pod).await?;
                ph.link().set(LinkUnspec::new_with_index(p).mtu(*mtu).up().build()).execute().await.map_err(nl(what))
            }
            Step::PodAddress { ifname, address, prefix_len } => {
                let ph = &self.pod()?.0;
                let p = Self::index(ph, ifname).await?;
                let mut req = ph.address().add(p, *address, *prefix_len).replace();
                if address.is_ipv6() {
                    // Usable at once: the address is the pod's alone (the pool allocated it).
                    req.message_mut().attributes.push(AddressAttribute::Flags(AddressFlags::Nodad));
                }
                req.execute().await.map_err(nl(what))
            }
            Step::PodGatewayNeighbour { ifname, host, gateway } => {
                let ph = &self.pod()?.0;
                let p = Self::index(ph, ifname).await?;
                let hl = Self::link(&self.host, host).await?;
                let mac = hl.as_ref().and_then(link_mac).map(<[u8]>::to_vec).unwrap_or_default();
                ph.neighbours()
                    .add(p, *gateway)
                    .link_layer_address(&mac)
                    .state(NeighbourState::Permanent)
                    .replace()
                    .execute()
                    .await
                    .map_err(nl(what))
            }
            Step::PodDefaultRoute { ifname, gateway } => {
                let ph = &self.pod()?.0;
                let p = Self::index(ph, ifname).await?;
                let msg = default_via(*gateway)?.output_interface(p).onlink().build();
                ph.route().add(msg).replace().execute().await.map_err(nl(what))
            }
            Step::HostRoute { host, address } => {
                let h = Self::index(&self.host, host).await?;
                let msg = route_to(*address, full_len(*address))?.output_interface(h).scope(RouteScope::Link).build();
                self.host.route().add(msg).replace().execute().await.map_err(nl(what))
            }
            Step::ToPodRule { address } => {
                self.add_rule(*address, true, MAIN_TABLE, TO_POD_PRIORITY).await.map_err(nl(what))
            }
            Step::FromPodRule { address, table } => {
                self.add_rule(*address, false, *table, FROM_POD_PRIORITY).await.map_err(nl(what))
            }
            Step::EniDefaultRoute { table, eni, gateway } => {
                let msg = default_via(*gateway)?.table_id(*table).output_interface(*eni).onlink().build();
                self.host.route().add(msg).replace().execute().await.map_err(nl(what))
            }
        }
    }

    /// Removes the pod's rules and veth, then, per address family of the pod, the ENI table's
    /// default route if no rule of that family uses the table any more.
    async fn remove(&self, net: &PodNetwork) -> Result<(), DatapathError> {
        if net.mode == PoolMode::Exclusive {
            return self.take_back(net).await;
        }
        for address in pod_addresses(net) {
            for r in self.rules(address.is_ipv6()).await? {
                let ours = (rule_is(&r, address, true) && rule_priority(&r) == Some(TO_POD_PRIORITY))
                    || (rule_is(&r, address, false) && rule_priority(&r) == Some(FROM_POD_PRIORITY));
                if ours {
                    self.host.rule().del(r).execute().await.map_err(nl("deleting a rule of the pod"))?;
                }
            }
        }
        let host = host_veth_name(&net.pod);
        if let Some(l) = Self::link(&self.host, &host).await? {
            // The pod side, its addresses, routes and neighbours, and the node's routes go with it.
            self.host.link().del(l.header.index).execute().await.map_err(nl(format!("deleting {host}")))?;
        }
        let Ok(eni) = self.eni_index(net.mac).await else { return Ok(()) };
        let table = eni_table(eni);
        for v6 in pod_addresses(net).map(|a| a.is_ipv6()) {
            if self.rules(v6).await?.iter().any(|r| rule_table(r) == table) {
                continue;
            }
            for r in Self::routes(&self.host, v6)
                .await?
                .into_iter()
                .filter(|r| route_table(r) == table && route_oif(r) == Some(eni))
            {
                self.host
                    .route()
                    .del(r)
                    .execute()
                    .await
                    .map_err(nl(format!("deleting the default route of table {table}")))?;
            }
        }
        Ok(())
    }

    /// Moves an exclusive ENI from the pod (if it is there) back to the node under its
    /// original name (from its alias, else `eth` and its device index), down (its addresses
    /// go with the move), and clears the alias.
    async fn take_back(&self, net: &PodNetwork) -> Result<(), DatapathError> {
        let what = format!("moving the ENI {} back to the node", net.mac);
        if let Some((ph, _)) = &self.pod {
            if let Some(l) = Self::link_by_mac(ph, net.mac).await? {
                let original = match (link_alias(&l).and_then(|a| a.strip_prefix(ALIAS_PREFIX)), net.device_index) {
                    (Some(name), _) => name.to_owned(),
                    (None, Some(i)) => format!("eth{i}"),
                    (None, None) => {
                        return Err(DatapathError::Netlink { step: what, reason: "its node name is unknown".into() })
                    }
                };
                let home = self.home.as_raw_fd();
                let msg = LinkUnspec::new_with_index(l.header.index).down().name(original).setns_by_fd(home).build();
                ph.link().set(msg).execute().await.map_err(nl(&what))?;
            }
        }
        // Our alias goes (also after a setup that failed between naming the ENI and moving it).
        let Some(l) = Self::link_by_mac(&self.host, net.mac).await? else { return Ok(()) };
        if !link_alias(&l).is_some_and(|a| a.starts_with(ALIAS_PREFIX)) {
            return Ok(());
        }
        let clear = LinkUnspec::new_with_index(l.header.index).alias("").build();
        self.host.link().set(clear).execute().await.map_err(nl(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net() -> PodNetwork {
        crate::pod_network::sample("default/web-0", 20)
    }

    #[test]
    fn names_fit_linux_and_differ_per_pod() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..10_000 {
            let n = host_veth_name(&format!("ns/pod-{i}"));
            assert_eq!(n.len(), MAX_IFNAME, "{n}");
            assert!(check_ifname(&n).is_ok());
            assert!(seen.insert(n), "collision at {i}");
        }
        // Stable across versions: a fixed answer for a fixed key (FNV-1a 64).
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn tables_follow_the_link_index() {
        assert_eq!(eni_table(2), 1002);
        assert_ne!(eni_table(2), eni_table(3));
    }

    #[test]
    fn interface_names_are_checked() {
        for bad in ["", "a-name-longer-15", "eth/0", "eth 0", "a:b", ".", ".."] {
            assert!(matches!(PodInterface::new("/x", bad), Err(DatapathError::InvalidInput { .. })), "{bad:?}");
        }
        assert!(PodInterface::new("/x", "eth0").is_ok());
        assert!(PodInterface::new("/x", "abcdefghijklmno").is_ok());
    }

    #[test]
    fn the_plan_is_terways_layout() {
        let net = net();
        let pod = PodInterface::new("/x", "eth0").unwrap().mtu(1400);
        let steps = plan(&net, &pod, 4);
        let host = host_veth_name("default/web-0");
        assert_eq!(
            steps[..3],
            [
                Step::Forwarding,
                Step::EniUp { mac: net.mac, mtu: 1400 },
                Step::Veth { host: host.clone(), pod: "eth0".into(), mtu: 1400, ipv6: false },
            ]
        );
        assert_eq!(steps[3..], family("eth0", &host, "10.1.1.20", "169.254.1.1", "10.1.1.253"));
    }

    /// The steps of one address family on ENI 4 (table 1004).
    fn family(ifname: &str, host: &str, address: &str, link_gateway: &str, gateway: &str) -> Vec<Step> {
        let (ifname, host) = (ifname.to_owned(), host.to_owned());
        let address: IpAddr = address.parse().unwrap();
        let gateway_ll: IpAddr = link_gateway.parse().unwrap();
        vec![
            Step::PodAddress { ifname: ifname.clone(), address, prefix_len: full_len(address) },
            Step::PodGatewayNeighbour { ifname: ifname.clone(), host: host.clone(), gateway: gateway_ll },
            Step::PodDefaultRoute { ifname, gateway: gateway_ll },
            Step::HostRoute { host, address },
            Step::ToPodRule { address },
            Step::FromPodRule { address, table: 1004 },
            Step::EniDefaultRoute { table: 1004, eni: 4, gateway: gateway.parse().unwrap() },
        ]
    }

    fn dual_stack() -> PodNetwork {
        let mut net = net();
        net.ipv6 = Some("2408:4005:300:1::14/64".parse().unwrap());
        net.gateway6 = Some("2408:4005:300:1:ffff:ffff:ffff:fffd".parse().unwrap());
        net
    }

    #[test]
    fn dual_stack_adds_the_same_layout_for_ipv6() {
        let net = dual_stack();
        let pod = PodInterface::new("/x", "eth1").unwrap();
        let steps = plan(&net, &pod, 4);
        let host = host_veth_name("default/web-0");
        assert_eq!(steps[..3], [Step::Forwarding, Step::Forwarding6, Step::EniUp { mac: net.mac, mtu: 1500 }]);
        assert_eq!(steps[3], Step::Veth { host: host.clone(), pod: "eth1".into(), mtu: 1500, ipv6: true });
        let v4 = plan(&self::net(), &pod, 4);
        assert_eq!(steps[4..11], v4[3..], "the IPv4 part is unchanged");
        let gateway6 = "2408:4005:300:1:ffff:ffff:ffff:fffd";
        assert_eq!(steps[11..], family("eth1", &host, "2408:4005:300:1::14", "fe80::1", gateway6));
        let address: IpAddr = "2408:4005:300:1::14".parse().unwrap();
        assert_eq!(pod_addresses(&net).collect::<Vec<_>>(), ["10.1.1.20".parse::<IpAddr>().unwrap(), address]);
    }

    #[test]
    fn an_exclusive_eni_is_the_pods_interface() {
        let mut net = dual_stack();
        net.mode = PoolMode::Exclusive;
        let pod = PodInterface::new("/x", "eth0").unwrap().mtu(1400);
        let (address, address6): (IpAddr, IpAddr) =
            ("10.1.1.20".parse().unwrap(), "2408:4005:300:1::14".parse().unwrap());
        let ifname = || "eth0".to_owned();
        assert_eq!(
            plan(&net, &pod, 7),
            [
                Step::EniInPod { mac: net.mac, ifname: ifname(), mtu: 1400 },
                Step::PodAddress { ifname: ifname(), address, prefix_len: 24 },
                Step::PodDefaultRoute { ifname: ifname(), gateway: "10.1.1.253".parse().unwrap() },
                Step::PodAddress { ifname: ifname(), address: address6, prefix_len: 64 },
                Step::PodDefaultRoute {
                    ifname: ifname(),
                    gateway: "2408:4005:300:1:ffff:ffff:ffff:fffd".parse().unwrap()
                },
            ]
        );
    }

    #[test]
    fn helpers_follow_the_family() {
        assert_eq!(full_len("10.0.0.1".parse().unwrap()), 32);
        assert_eq!(full_len("fd00::1".parse().unwrap()), 128);
        let r = default_via("fe80::1".parse().unwrap()).unwrap().build();
        assert_eq!(r.header.destination_prefix_length, 0);
        assert_eq!(route_gateway(&r), Some("fe80::1".parse().unwrap()));
        let r = route_to("10.1.1.20".parse().unwrap(), 32).unwrap().build();
        assert_eq!(
            route_addr(&r, |a| if let RouteAttribute::Destination(d) = a { Some(d) } else { None }),
            Some("10.1.1.20".parse().unwrap())
        );
    }

    #[test]
    fn bad_input_is_refused_before_the_kernel() {
        let net = net();
        let missing = PodInterface::new("/nonexistent/netns/cni-1", "eth0").unwrap();
        assert!(matches!(setup(&net, &missing), Err(DatapathError::Netns { .. })));
        assert!(matches!(check(&net, &missing), Err(DatapathError::Netns { .. })));
        let pod = PodInterface::new("/x", "eth0").unwrap().mtu(10);
        assert!(matches!(setup(&net, &pod), Err(DatapathError::InvalidInput { what: "MTU", .. })));
        let mut exclusive = net.clone();
        exclusive.mode = PoolMode::Exclusive;
        assert!(matches!(setup(&exclusive, &missing), Err(DatapathError::Netns { .. })), "exclusive is supported");
        let mut no_gateway = dual_stack();
        no_gateway.gateway6 = None;
        assert!(matches!(setup(&no_gateway, &missing), Err(DatapathError::InvalidInput { what: "IPv6", .. })));
        assert!(matches!(setup(&dual_stack(), &missing), Err(DatapathError::Netns { .. })), "dual stack is supported");
    }
}
