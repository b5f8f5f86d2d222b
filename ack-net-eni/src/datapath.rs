//! The pod datapath (Linux, feature `datapath`): configures a [`PodNetwork`] into a pod's network
//! namespace over netlink, in Terway's veth policy-routing layout.
//!
//! - a veth pair: the node side named [`host_veth_name`] of the pod key, the pod side `eth0`
//!   (or the CNI `IFNAME`) holding the pod address as a /32;
//! - in the pod: a default route via [`POD_GATEWAY`] (169.254.1.1) on-link, with a permanent
//!   neighbour entry for it pointing at the node side's MAC (no proxy ARP);
//! - on the node: the route to the pod /32 on the node side; the policy rules "to pod: main
//!   table" (priority [`TO_POD_PRIORITY`]) and "from pod: the ENI's table" ([`eni_table`] of
//!   the ENI's link index, priority [`FROM_POD_PRIORITY`]), whose default route goes through
//!   the ENI (found by its MAC, brought up, MTU set) to the VSwitch gateway; IPv4 forwarding on.
//!
//! [`setup`], [`teardown`] and [`check`] are blocking and idempotent: each runs on a thread of
//! its own that enters the pod's namespace to open a netlink socket there (never on an async
//! worker; from async code call them inside `tokio::task::spawn_blocking`). They act on the
//! namespace of the calling thread as the node. [`plan`] is the pure list of [`Step`]s.
//!
//! IPv4 shared-ENI mode only: a dual-stack network or an exclusive ENI is an
//! [`DatapathError::Unsupported`] error before any kernel change.
//!
//! Calls for different pods may run at once, except a [`teardown`] alongside a [`setup`] on the
//! same ENI: the teardown may remove the ENI table's route just as the setup starts using it
//! (the setup's [`check`] then reports [`Step::EniDefaultRoute`] missing, and a repeated setup
//! restores it). A node agent serializes the two per ENI.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use futures_util::TryStreamExt as _;
use nix::sched::{setns, CloneFlags};
use rtnetlink::packet_route::address::AddressAttribute;
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
    /// Something this datapath does not do (yet), found before any kernel change.
    #[error("unsupported: {0}")]
    Unsupported(String),
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
    /// The ENI (by MAC) up with the MTU.
    EniUp {
        /// The ENI's MAC.
        mac: Mac,
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
    },
    /// The pod address as /32 on the pod side.
    PodAddress {
        /// The pod side.
        ifname: String,
        /// The address.
        address: Ipv4Addr,
    },
    /// In the pod, a permanent neighbour entry for [`POD_GATEWAY`] with the node side's MAC.
    PodGatewayNeighbour {
        /// The pod side.
        ifname: String,
        /// The node side, whose MAC it holds.
        host: String,
    },
    /// In the pod, the default route via [`POD_GATEWAY`] on-link.
    PodDefaultRoute {
        /// The pod side.
        ifname: String,
    },
    /// On the node, the route to the pod /32 on the node side.
    HostRoute {
        /// The node side.
        host: String,
        /// The pod address.
        address: Ipv4Addr,
    },
    /// The rule "to the pod address: main table".
    ToPodRule {
        /// The pod address.
        address: Ipv4Addr,
    },
    /// The rule "from the pod address: the ENI's table".
    FromPodRule {
        /// The pod address.
        address: Ipv4Addr,
        /// The ENI's table.
        table: u32,
    },
    /// The ENI table's default route through the ENI to the VSwitch gateway, on-link.
    EniDefaultRoute {
        /// The ENI's table.
        table: u32,
        /// The ENI's link index.
        eni: u32,
        /// The VSwitch gateway.
        gateway: Ipv4Addr,
    },
}

/// Checks what can be checked without the kernel: shared mode, IPv4 only, a pod key.
fn validate(net: &PodNetwork, pod: &PodInterface) -> Result<(), DatapathError> {
    check_ifname(&pod.ifname)?;
    if net.pod.is_empty() {
        return Err(invalid("pod key", "it is empty"));
    }
    if net.mode != PoolMode::Shared {
        return Err(DatapathError::Unsupported(format!("{:?} ENI mode (only shared ENIs)", net.mode)));
    }
    if net.ipv6.is_some() {
        return Err(DatapathError::Unsupported("IPv6 (the datapath configures IPv4 only)".into()));
    }
    if !(68..=65535).contains(&pod.mtu) {
        return Err(invalid("MTU", format!("{} is outside 68..=65535", pod.mtu)));
    }
    Ok(())
}

/// The steps of the layout for `net` in `pod`, whose ENI has link index `eni_index`. Pure.
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
    let host = host_veth_name(&net.pod);
    let address = net.ipv4.addr();
    let table = eni_table(eni_index);
    vec![
        Step::Forwarding,
        Step::EniUp { mac: net.mac, mtu: pod.mtu },
        Step::Veth { host: host.clone(), pod: pod.ifname.clone(), mtu: pod.mtu },
        Step::PodAddress { ifname: pod.ifname.clone(), address },
        Step::PodGatewayNeighbour { ifname: pod.ifname.clone(), host: host.clone() },
        Step::PodDefaultRoute { ifname: pod.ifname.clone() },
        Step::HostRoute { host, address },
        Step::ToPodRule { address },
        Step::FromPodRule { address, table },
        Step::EniDefaultRoute { table, eni: eni_index, gateway: net.gateway4 },
    ]
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
            let eni = k.eni_index(net.mac).await?;
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
/// no other pod's rule uses the table). Leaves the ENI up. Works when the pod's namespace is
/// gone (a CNI DEL may come after it); a repeated call is a no-op.
///
/// ```no_run
/// # fn demo(net: &ack_net_eni::pod_network::PodNetwork) -> Result<(), ack_net_eni::datapath::DatapathError> {
/// use ack_net_eni::datapath::{teardown, PodInterface};
/// teardown(net, &PodInterface::new("/var/run/netns/cni-1", "eth0")?)?;
/// # Ok(()) }
/// ```
pub fn teardown(net: &PodNetwork, pod: &PodInterface) -> Result<(), DatapathError> {
    validate(net, pod)?;
    on_own_thread(|| with_handles(None, &pod.netns, |k| async move { k.remove(net).await }))
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
            let eni = k.eni_index(net.mac).await?;
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
    let pod = match pod_ns {
        None => None,
        Some(file) => {
            let home = File::open("/proc/thread-self/ns/net").map_err(netns_err)?;
            setns(file, CloneFlags::CLONE_NEWNET).map_err(|e| netns_err(e.into()))?;
            let made = connect();
            setns(&home, CloneFlags::CLONE_NEWNET).map_err(|e| netns_err(e.into()))?;
            let (conn, handle, _) = made?;
            rt.spawn(conn);
            Some((handle, file.as_raw_fd()))
        }
    };
    rt.block_on(f(std::rc::Rc::new(Kernel { host, pod })))
}

fn link_name(l: &LinkMessage) -> Option<&str> {
    l.attributes.iter().find_map(|a| if let LinkAttribute::IfName(n) = a { Some(n.as_str()) } else { None })
}

fn link_mac(l: &LinkMessage) -> Option<&[u8]> {
    l.attributes.iter().find_map(|a| if let LinkAttribute::Address(m) = a { Some(m.as_slice()) } else { None })
}

fn link_mtu(l: &LinkMessage) -> Option<u32> {
    l.attributes.iter().find_map(|a| if let LinkAttribute::Mtu(m) = a { Some(*m) } else { None })
}

fn route_table(r: &RouteMessage) -> u32 {
    r.attributes
        .iter()
        .find_map(|a| if let RouteAttribute::Table(t) = a { Some(*t) } else { None })
        .unwrap_or(u32::from(r.header.table))
}

fn route_v4(r: &RouteMessage, want: fn(&RouteAttribute) -> Option<&RouteAddress>) -> Option<Ipv4Addr> {
    r.attributes.iter().find_map(|a| match want(a) {
        Some(RouteAddress::Inet(v)) => Some(*v),
        _ => None,
    })
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

/// Whether the rule matches exactly `to address/32` (`to`) or `from address/32`.
fn rule_is(r: &RuleMessage, address: Ipv4Addr, to: bool) -> bool {
    let (len, other) = if to { (r.header.dst_len, r.header.src_len) } else { (r.header.src_len, r.header.dst_len) };
    len == 32
        && other == 0
        && r.attributes.iter().any(|a| match (a, to) {
            (RuleAttribute::Destination(IpAddr::V4(v)), true) | (RuleAttribute::Source(IpAddr::V4(v)), false) => {
                *v == address
            }
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

    async fn routes(h: &Handle) -> Result<Vec<RouteMessage>, DatapathError> {
        h.route()
            .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
            .execute()
            .try_collect()
            .await
            .map_err(nl("listing routes"))
    }

    async fn rules(&self) -> Result<Vec<RuleMessage>, DatapathError> {
        self.host.rule().get(IpVersion::V4).execute().try_collect().await.map_err(nl("listing rules"))
    }

    async fn present(&self, step: &Step) -> Result<bool, DatapathError> {
        Ok(match step {
            Step::Forwarding => std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").is_ok_and(|v| v.trim() == "1"),
            Step::EniUp { mac, mtu } => {
                let l = self.eni_link(*mac).await?;
                l.header.flags.contains(LinkFlags::Up) && link_mtu(&l) == Some(*mtu)
            }
            Step::Veth { host, pod, mtu } => {
                let up = |l: Option<LinkMessage>| {
                    l.is_some_and(|l| l.header.flags.contains(LinkFlags::Up) && link_mtu(&l) == Some(*mtu))
                };
                up(Self::link(&self.host, host).await?) && up(Self::link(&self.pod()?.0, pod).await?)
            }
            Step::PodAddress { ifname, address } => {
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
                    m.header.prefix_len == 32 && m.attributes.contains(&AddressAttribute::Address(IpAddr::V4(*address)))
                })
            }
            Step::PodGatewayNeighbour { ifname, host } => {
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
                        && n.attributes.contains(&NeighbourAttribute::Destination(NeighbourAddress::Inet(POD_GATEWAY)))
                        && n.attributes
                            .iter()
                            .any(|a| matches!(a, NeighbourAttribute::LinkLayerAddress(m) if Some(m) == mac.as_ref()))
                })
            }
            Step::PodDefaultRoute { ifname } => {
                let h = &self.pod()?.0;
                let Some(l) = Self::link(h, ifname).await? else { return Ok(false) };
                Self::routes(h).await?.iter().any(|r| {
                    route_table(r) == MAIN_TABLE
                        && r.header.destination_prefix_length == 0
                        && route_oif(r) == Some(l.header.index)
                        && route_v4(r, |a| if let RouteAttribute::Gateway(g) = a { Some(g) } else { None })
                            == Some(POD_GATEWAY)
                })
            }
            Step::HostRoute { host, address } => {
                let Some(l) = Self::link(&self.host, host).await? else { return Ok(false) };
                Self::routes(&self.host).await?.iter().any(|r| {
                    route_table(r) == MAIN_TABLE
                        && r.header.destination_prefix_length == 32
                        && route_oif(r) == Some(l.header.index)
                        && route_v4(r, |a| if let RouteAttribute::Destination(d) = a { Some(d) } else { None })
                            == Some(*address)
                })
            }
            Step::ToPodRule { address } => self.rules().await?.iter().any(|r| {
                rule_is(r, *address, true) && rule_table(r) == MAIN_TABLE && rule_priority(r) == Some(TO_POD_PRIORITY)
            }),
            Step::FromPodRule { address, table } => self.rules().await?.iter().any(|r| {
                rule_is(r, *address, false) && rule_table(r) == *table && rule_priority(r) == Some(FROM_POD_PRIORITY)
            }),
            Step::EniDefaultRoute { table, eni, gateway } => Self::routes(&self.host).await?.iter().any(|r| {
                route_table(r) == *table
                    && r.header.destination_prefix_length == 0
                    && route_oif(r) == Some(*eni)
                    && route_v4(r, |a| if let RouteAttribute::Gateway(g) = a { Some(g) } else { None })
                        == Some(*gateway)
            }),
        })
    }

    async fn apply(&self, step: &Step) -> Result<(), DatapathError> {
        let what = format!("{step:?}");
        match step {
            Step::Forwarding => std::fs::write("/proc/sys/net/ipv4/ip_forward", "1")
                .map_err(|e| DatapathError::Netlink { step: what, reason: e.to_string() }),
            Step::EniUp { mac, mtu } => {
                let i = self.eni_index(*mac).await?;
                self.host
                    .link()
                    .set(LinkUnspec::new_with_index(i).mtu(*mtu).up().build())
                    .execute()
                    .await
                    .map_err(nl(what))
            }
            Step::Veth { host, pod, mtu } => {
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
                let h = Self::index(&self.host, host).await?;
                self.host.link().set(LinkUnspec::new_with_index(h).up().build()).execute().await.map_err(nl(&what))?;
                let p = Self::index(ph, pod).await?;
                ph.link().set(LinkUnspec::new_with_index(p).mtu(*mtu).up().build()).execute().await.map_err(nl(what))
            }
            Step::PodAddress { ifname, address } => {
                let ph = &self.pod()?.0;
                let p = Self::index(ph, ifname).await?;
                ph.address().add(p, IpAddr::V4(*address), 32).replace().execute().await.map_err(nl(what))
            }
            Step::PodGatewayNeighbour { ifname, host } => {
                let ph = &self.pod()?.0;
                let p = Self::index(ph, ifname).await?;
                let hl = Self::link(&self.host, host).await?;
                let mac = hl.as_ref().and_then(link_mac).map(<[u8]>::to_vec).unwrap_or_default();
                ph.neighbours()
                    .add(p, IpAddr::V4(POD_GATEWAY))
                    .link_layer_address(&mac)
                    .state(NeighbourState::Permanent)
                    .replace()
                    .execute()
                    .await
                    .map_err(nl(what))
            }
            Step::PodDefaultRoute { ifname } => {
                let ph = &self.pod()?.0;
                let p = Self::index(ph, ifname).await?;
                let msg =
                    RouteMessageBuilder::<Ipv4Addr>::new().gateway(POD_GATEWAY).output_interface(p).onlink().build();
                ph.route().add(msg).replace().execute().await.map_err(nl(what))
            }
            Step::HostRoute { host, address } => {
                let h = Self::index(&self.host, host).await?;
                let msg = RouteMessageBuilder::<Ipv4Addr>::new()
                    .destination_prefix(*address, 32)
                    .output_interface(h)
                    .scope(RouteScope::Link)
                    .build();
                self.host.route().add(msg).replace().execute().await.map_err(nl(what))
            }
            Step::ToPodRule { address } => self
                .host
                .rule()
                .add()
                .v4()
                .destination_prefix(*address, 32)
                .table_id(MAIN_TABLE)
                .priority(TO_POD_PRIORITY)
                .action(RuleAction::ToTable)
                .execute()
                .await
                .map_err(nl(what)),
            Step::FromPodRule { address, table } => self
                .host
                .rule()
                .add()
                .v4()
                .source_prefix(*address, 32)
                .table_id(*table)
                .priority(FROM_POD_PRIORITY)
                .action(RuleAction::ToTable)
                .execute()
                .await
                .map_err(nl(what)),
            Step::EniDefaultRoute { table, eni, gateway } => {
                let msg = RouteMessageBuilder::<Ipv4Addr>::new()
                    .table_id(*table)
                    .gateway(*gateway)
                    .output_interface(*eni)
                    .onlink()
                    .build();
                self.host.route().add(msg).replace().execute().await.map_err(nl(what))
            }
        }
    }

    /// Removes the pod's rules and veth, then the ENI table's default route if no pod's rule
    /// uses the table any more.
    async fn remove(&self, net: &PodNetwork) -> Result<(), DatapathError> {
        let address = net.ipv4.addr();
        for r in self.rules().await? {
            let ours = (rule_is(&r, address, true) && rule_priority(&r) == Some(TO_POD_PRIORITY))
                || (rule_is(&r, address, false) && rule_priority(&r) == Some(FROM_POD_PRIORITY));
            if ours {
                self.host.rule().del(r).execute().await.map_err(nl("deleting a rule of the pod"))?;
            }
        }
        let host = host_veth_name(&net.pod);
        if let Some(l) = Self::link(&self.host, &host).await? {
            // The pod side, its address, route and neighbour, and the node's route go with it.
            self.host.link().del(l.header.index).execute().await.map_err(nl(format!("deleting {host}")))?;
        }
        let Ok(eni) = self.eni_index(net.mac).await else { return Ok(()) };
        let table = eni_table(eni);
        let used = self.rules().await?.iter().any(|r| rule_table(r) == table);
        if !used {
            for r in Self::routes(&self.host)
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
        let address: Ipv4Addr = "10.1.1.20".parse().unwrap();
        assert_eq!(
            steps,
            vec![
                Step::Forwarding,
                Step::EniUp { mac: net.mac, mtu: 1400 },
                Step::Veth { host: host.clone(), pod: "eth0".into(), mtu: 1400 },
                Step::PodAddress { ifname: "eth0".into(), address },
                Step::PodGatewayNeighbour { ifname: "eth0".into(), host: host.clone() },
                Step::PodDefaultRoute { ifname: "eth0".into() },
                Step::HostRoute { host, address },
                Step::ToPodRule { address },
                Step::FromPodRule { address, table: 1004 },
                Step::EniDefaultRoute { table: 1004, eni: 4, gateway: "10.1.1.253".parse().unwrap() },
            ]
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
        assert!(matches!(setup(&exclusive, &missing), Err(DatapathError::Unsupported(_))));
    }
}
