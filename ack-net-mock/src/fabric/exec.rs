//! Carries the fabric's steps out with netlink (rtnetlink) and nftables, on the fabric's own
//! thread. A netlink socket belongs to the namespace its thread was in when it was made, so
//! each namespace gets its socket made while this thread has entered it (then the thread
//! returns home); every later message to that namespace goes through its socket.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;

use futures_util::TryStreamExt as _;
use ipnet::{Ipv4Net, Ipv6Net};
use rtnetlink::packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage};
use rtnetlink::packet_route::route::RouteScope;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::{Handle, LinkBridge, LinkBridgePort, LinkUnspec, LinkVeth, RouteMessageBuilder};

use super::model::{Delivery, Op, Placement};
use super::proxy::Proxy;
use super::sandbox::Netns;
use super::security::TABLE;

/// One namespace and the netlink socket into it.
#[derive(Debug)]
pub(crate) struct Space {
    pub(crate) ns: Arc<Netns>,
    handle: Handle,
}

/// Where an ENI's link is now.
#[derive(Debug)]
struct EniLink {
    n: u32,
    vpc: String,
    /// The instance it is in and its name there, when placed.
    node: Option<(String, String)>,
}

/// A load balancer's namespace, its link to the vRouter (`l<n>` there) and its proxy.
#[derive(Debug)]
pub(crate) struct LbSpace {
    // Declared first: the proxy stops before its namespace goes.
    proxy: Proxy,
    pub(crate) space: Space,
    vpc: String,
    n: u32,
}

/// The address a load balancer's namespace routes everything through (on-link, answered by
/// the vRouter's end of the link), as a pod's namespace does.
const LB_GATEWAY: Ipv4Addr = Ipv4Addr::new(169, 254, 1, 1);

/// The fabric's kernel side: every namespace and link it made.
#[derive(Debug)]
pub(crate) struct Executor {
    rt: tokio::runtime::Runtime,
    home: Netns,
    nft: PathBuf,
    pub(crate) routers: HashMap<String, Space>,
    pub(crate) nodes: HashMap<String, Space>,
    /// VSwitch -> (VPC, bridge number).
    segments: HashMap<String, (String, u32)>,
    enis: HashMap<String, EniLink>,
    pub(crate) lbs: HashMap<String, LbSpace>,
    next: u32,
}

type Result<T> = std::result::Result<T, String>;

/// The MAC every VSwitch gateway answers with, as the real VPC's does.
const GATEWAY_MAC: [u8; 6] = [0xee, 0xff, 0xff, 0xff, 0xff, 0xff];

fn parse_mac(mac: &str) -> Result<Vec<u8>> {
    let bytes: Vec<u8> = mac.split(':').filter_map(|b| u8::from_str_radix(b, 16).ok()).collect();
    if bytes.len() == 6 {
        Ok(bytes)
    } else {
        Err(format!("{mac:?} is not a MAC address"))
    }
}

async fn index(h: &Handle, name: &str) -> Result<u32> {
    let link = h.link().get().match_name(name.to_owned()).execute().try_next().await;
    match link {
        Ok(Some(l)) => Ok(l.header.index),
        Ok(None) => Err(format!("no link {name}")),
        Err(e) => Err(format!("looking up {name}: {e}")),
    }
}

async fn set_up(h: &Handle, name: &str) -> Result<()> {
    let i = index(h, name).await?;
    h.link().set(LinkUnspec::new_with_index(i).up().build()).execute().await.map_err(|e| format!("{name} up: {e}"))
}

/// Every link of the namespace behind `h`.
pub(crate) async fn links(h: &Handle) -> Result<Vec<super::sandbox::Link>> {
    use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags};
    let msgs: Vec<_> = h.link().get().execute().try_collect().await.map_err(|e| format!("listing links: {e}"))?;
    Ok(msgs
        .into_iter()
        .map(|m| {
            let mut name = String::new();
            let mut mac = String::new();
            for a in &m.attributes {
                match a {
                    LinkAttribute::IfName(n) => name = n.clone(),
                    LinkAttribute::Address(b) => {
                        mac = b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(":");
                    }
                    _ => {}
                }
            }
            super::sandbox::Link { name, mac, up: m.header.flags.contains(LinkFlags::Up) }
        })
        .collect())
}

/// Brings the loopback of the namespace behind `h` up.
pub(crate) async fn loopback_up(h: &Handle) -> Result<()> {
    set_up(h, "lo").await
}

/// Runs `f` with a netlink socket into this thread's namespace, on a runtime of its own.
pub(crate) fn with_netlink<T, F: std::future::Future<Output = Result<T>>>(f: impl FnOnce(Handle) -> F) -> Result<T> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().map_err(|e| e.to_string())?;
    let (conn, handle, _) = {
        let _in_rt = rt.enter();
        rtnetlink::new_connection().map_err(|e| e.to_string())?
    };
    rt.spawn(conn);
    rt.block_on(f(handle))
}

/// `r`, with "no such address/route/neighbour" counting as done.
fn ignore_missing(r: std::result::Result<(), rtnetlink::Error>) -> std::result::Result<(), rtnetlink::Error> {
    match r {
        // ENOENT, ESRCH (a route), EADDRNOTAVAIL (an address).
        Err(rtnetlink::Error::NetlinkError(e)) if matches!(e.raw_code().abs(), 2 | 3 | 99) => Ok(()),
        other => other,
    }
}

/// No duplicate address detection in this thread's namespace: the VPC hands the addresses out.
fn no_dad() -> Result<()> {
    sysctl("ipv6/conf/all/accept_dad", "0")?;
    sysctl("ipv6/conf/default/accept_dad", "0")
}

fn sysctl(path: &str, value: &str) -> Result<()> {
    std::fs::write(format!("/proc/sys/net/{path}"), value).map_err(|e| format!("sysctl net/{path}: {e}"))
}

impl Executor {
    /// An executor with no namespaces yet, `nft` at the given path.
    pub(crate) fn new(nft: PathBuf) -> std::io::Result<Executor> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
        Ok(Executor {
            rt,
            home: Netns::current()?,
            nft,
            routers: HashMap::new(),
            nodes: HashMap::new(),
            segments: HashMap::new(),
            enis: HashMap::new(),
            lbs: HashMap::new(),
            next: 0,
        })
    }

    /// Runs `f` with this thread in `ns`, then brings the thread home.
    fn inside<R>(home: &Netns, ns: &Netns, f: impl FnOnce() -> R) -> Result<R> {
        ns.enter_here().map_err(|e| format!("entering a namespace: {e}"))?;
        let r = f();
        home.enter_here().map_err(|e| format!("returning home: {e}"))?;
        Ok(r)
    }

    fn new_space(&mut self) -> Result<Space> {
        let ns = Netns::new().map_err(|e| format!("making a network namespace: {e}"))?;
        let (conn, handle, _) = {
            let _in_rt = self.rt.enter();
            Self::inside(&self.home, &ns, rtnetlink::new_connection)?.map_err(|e| format!("netlink socket: {e}"))?
        };
        self.rt.spawn(conn);
        self.rt.block_on(loopback_up(&handle))?;
        Ok(Space { ns: Arc::new(ns), handle })
    }

    /// Runs `nft -f -` with `ruleset` in `ns`.
    fn nft(&self, ns: &Netns, ruleset: &str) -> Result<()> {
        let out = Self::inside(&self.home, ns, || -> std::io::Result<std::process::Output> {
            let mut child = Command::new(&self.nft)
                .args(["-f", "-"])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()?;
            if let Some(mut stdin) = child.stdin.take() {
                // A program that stops reading early is judged by its exit status below.
                let _ = stdin.write_all(ruleset.as_bytes());
            }
            child.wait_with_output()
        })?
        .map_err(|e| format!("running nft ({}): {e}", self.nft.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "nft ({}) refused the rules: {}",
                self.nft.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }

    fn router(&self, vpc: &str) -> Result<&Space> {
        self.routers.get(vpc).ok_or_else(|| format!("no router for {vpc}"))
    }

    /// Carries out one step.
    pub(crate) fn apply(&mut self, op: &Op) -> Result<()> {
        match op {
            Op::AddRouter { vpc } => {
                let space = self.new_space()?;
                Self::inside(&self.home, &space.ns, || -> Result<()> {
                    sysctl("ipv4/ip_forward", "1")?;
                    sysctl("ipv4/conf/all/send_redirects", "0")?;
                    sysctl("ipv4/conf/default/send_redirects", "0")?;
                    sysctl("ipv6/conf/all/forwarding", "1")?;
                    no_dad()
                })??;
                // The vRouter never asks who holds an address (no ARP request, no neighbour
                // solicitation): it delivers what the state says. Nor does it redirect (IPv6 has
                // no switch for that): the segments' ports are isolated, all goes through it.
                let quiet = format!(
                    "table arp {TABLE} {{\n  chain out {{\n    type filter hook output priority filter;\n    arp operation request drop\n  }}\n}}\n\
                     table ip6 {TABLE} {{\n  chain out {{\n    type filter hook output priority filter;\n    icmpv6 type {{ nd-neighbor-solicit, nd-redirect }} drop\n  }}\n}}\n"
                );
                let loaded = self.nft(&space.ns, &quiet);
                self.routers.insert(vpc.clone(), space);
                loaded
            }
            Op::AddSegment { vpc, vswitch, gateway, gateway6 } => {
                if self.segments.contains_key(vswitch) {
                    return Ok(());
                }
                self.next += 1;
                let n = self.next;
                let name = format!("br{n}");
                let r = self.router(vpc)?;
                self.rt.block_on(async {
                    // A fixed MAC: a bridge otherwise takes its lowest port's, and a change of
                    // address flushes its neighbours, the permanent ones (delivery) included.
                    let bridge = LinkBridge::new(&name).address(GATEWAY_MAC.to_vec()).up().build();
                    r.handle.link().add(bridge).execute().await.map_err(|e| e.to_string())?;
                    let i = index(&r.handle, &name).await?;
                    let v6 = gateway6.map(|g| (IpAddr::V6(g.addr()), g.prefix_len()));
                    for (address, prefix) in
                        std::iter::once((IpAddr::V4(gateway.addr()), gateway.prefix_len())).chain(v6)
                    {
                        r.handle
                            .address()
                            .add(i, address, prefix)
                            .execute()
                            .await
                            .map_err(|e| format!("gateway address {address}: {e}"))?;
                    }
                    Ok::<(), String>(())
                })?;
                // Answer ARP for the whole VSwitch (the ports are isolated: all goes via the vRouter).
                Self::inside(&self.home, &r.ns, || -> Result<()> {
                    sysctl(&format!("ipv4/conf/{name}/proxy_arp"), "1")?;
                    sysctl(&format!("ipv4/conf/{name}/proxy_arp_pvlan"), "1")?;
                    sysctl(&format!("ipv4/conf/{name}/send_redirects"), "0")?;
                    sysctl(&format!("ipv4/neigh/{name}/proxy_delay"), "0")
                })??;
                self.segments.insert(vswitch.clone(), (vpc.clone(), n));
                Ok(())
            }
            Op::AddNode { instance, .. } => {
                let space = self.new_space()?;
                // As an instance's image: its IPv6 addresses are the VPC's to hand out (no DAD),
                // and the vRouter's word on routes is final (no redirects).
                Self::inside(&self.home, &space.ns, || -> Result<()> {
                    no_dad()?;
                    sysctl("ipv6/conf/all/accept_redirects", "0")?;
                    sysctl("ipv6/conf/default/accept_redirects", "0")
                })??;
                self.nodes.insert(instance.clone(), space);
                Ok(())
            }
            Op::AddEni { eni, vpc, vswitch, mac } => {
                let mac = parse_mac(mac)?;
                let &(_, br) = self.segments.get(vswitch).ok_or_else(|| format!("no segment for {vswitch}"))?;
                self.next += 1;
                let n = self.next;
                let r = self.router(vpc)?;
                let (link, port) = (format!("e{n}"), format!("p{n}"));
                self.rt.block_on(async {
                    let h = &r.handle;
                    h.link()
                        .add(LinkVeth::new(&link, &port).build())
                        .execute()
                        .await
                        .map_err(|e| format!("veth: {e}"))?;
                    let li = index(h, &link).await?;
                    h.link()
                        .set(LinkUnspec::new_with_index(li).address(mac).build())
                        .execute()
                        .await
                        .map_err(|e| format!("MAC: {e}"))?;
                    let pi = index(h, &port).await?;
                    let bi = index(h, &format!("br{br}")).await?;
                    h.link()
                        .set(LinkUnspec::new_with_index(pi).controller(bi).up().build())
                        .execute()
                        .await
                        .map_err(|e| format!("port: {e}"))?;
                    h.link()
                        .set_port(LinkBridgePort::new(pi).isolated(true).build())
                        .execute()
                        .await
                        .map_err(|e| format!("isolating the port: {e}"))
                })?;
                self.enis.insert(eni.clone(), EniLink { n, vpc: vpc.clone(), node: None });
                Ok(())
            }
            Op::Place { eni, to } => self.place(eni, to),
            Op::SetIpv6 { eni, from, to } => self.set_ipv6(eni, *from, *to),
            Op::Deliver { vpc, ip, to } => {
                let mac = parse_mac(&to.mac)?;
                let br = self.bridge(&to.vswitch)?;
                let r = self.router(vpc)?;
                self.rt.block_on(async {
                    let bi = index(&r.handle, &br).await?;
                    permanent_neighbour(&r.handle, bi, *ip, &mac).await
                })
            }
            Op::Undeliver { vpc, ip, from } => self.undeliver(vpc, *ip, from),
            Op::AddRoute { vpc, dst, via } => {
                let r = self.router(vpc)?;
                let msg = RouteMessageBuilder::<Ipv4Addr>::new()
                    .destination_prefix(dst.addr(), dst.prefix_len())
                    .gateway(*via)
                    .build();
                self.rt.block_on(r.handle.route().add(msg).replace().execute()).map_err(|e| format!("route {dst}: {e}"))
            }
            Op::DelRoute { vpc, dst } => {
                let r = self.router(vpc)?;
                let msg =
                    RouteMessageBuilder::<Ipv4Addr>::new().destination_prefix(dst.addr(), dst.prefix_len()).build();
                self.rt.block_on(r.handle.route().del(msg).execute()).map_err(|e| format!("route {dst}: {e}"))
            }
            Op::SetSecurity { vpc, ruleset } => self.nft(&self.router(vpc)?.ns, ruleset),
            Op::DelEni { eni } => {
                let Some(link) = self.enis.remove(eni) else { return Ok(()) };
                let r = self.router(&link.vpc)?;
                // Deleting the vRouter's end deletes the pair, wherever the ENI's end is.
                self.rt.block_on(async {
                    let pi = index(&r.handle, &format!("p{}", link.n)).await?;
                    r.handle.link().del(pi).execute().await.map_err(|e| format!("deleting the ENI's link: {e}"))
                })
            }
            Op::DelNode { instance } => {
                self.nodes.remove(instance);
                Ok(())
            }
            Op::DelSegment { vpc, vswitch } => {
                let br = self.bridge(vswitch)?;
                self.segments.remove(vswitch);
                let r = self.router(vpc)?;
                self.rt.block_on(async {
                    let bi = index(&r.handle, &br).await?;
                    r.handle.link().del(bi).execute().await.map_err(|e| format!("deleting {br}: {e}"))
                })
            }
            Op::DelRouter { vpc } => {
                self.routers.remove(vpc);
                Ok(())
            }
            Op::AddLb { lb, vpc, address } => self.add_lb(lb, vpc, *address),
            Op::SetLbListeners { lb, listeners } => {
                let space = self.lbs.get(lb).ok_or_else(|| format!("no namespace for {lb}"))?;
                space.proxy.set(listeners.clone());
                Ok(())
            }
            Op::DelLb { lb } => {
                let Some(space) = self.lbs.remove(lb) else { return Ok(()) };
                let r = self.router(&space.vpc)?;
                let link = format!("l{}", space.n);
                drop(space);
                // Deleting the vRouter's end deletes the pair.
                self.rt.block_on(async {
                    let i = index(&r.handle, &link).await?;
                    r.handle.link().del(i).execute().await.map_err(|e| format!("deleting {link}: {e}"))
                })
            }
        }
    }

    /// A load balancer's namespace: a veth pair from the vRouter (`l<n>`, routing the
    /// address) to the namespace (`eth0`, holding the address, default route on-link via
    /// [`LB_GATEWAY`]); neighbours are permanent both ways (the vRouter never asks); then the
    /// proxy starts in it.
    fn add_lb(&mut self, lb: &str, vpc: &str, address: Ipv4Addr) -> Result<()> {
        let space = self.new_space()?;
        self.next += 1;
        let n = self.next;
        let r = self.router(vpc)?;
        let (outer, inner) = (format!("l{n}"), format!("m{n}"));
        self.rt.block_on(async {
            let h = &r.handle;
            h.link().add(LinkVeth::new(&outer, &inner).build()).execute().await.map_err(|e| format!("veth: {e}"))?;
            let ii = index(h, &inner).await?;
            let msg = LinkUnspec::new_with_index(ii).down().name("eth0".to_owned()).setns_by_fd(space.ns.fd()).build();
            h.link().set(msg).execute().await.map_err(|e| format!("moving {inner}: {e}"))?;
            let outer_mac = mac_of(h, &outer).await?;
            let inner_mac = mac_of(&space.handle, "eth0").await?;
            // The namespace's side.
            let lbh = &space.handle;
            configure_link(lbh, "eth0", Some(Ipv4Net::new(address, 32).map_err(|e| e.to_string())?)).await?;
            let ei = index(lbh, "eth0").await?;
            permanent_neighbour(lbh, ei, LB_GATEWAY, &outer_mac).await?;
            let default =
                RouteMessageBuilder::<Ipv4Addr>::new().gateway(LB_GATEWAY).output_interface(ei).onlink().build();
            lbh.route().add(default).replace().execute().await.map_err(|e| format!("default route: {e}"))?;
            // The vRouter's side.
            set_up(h, &outer).await?;
            let oi = index(h, &outer).await?;
            let route = RouteMessageBuilder::<Ipv4Addr>::new()
                .destination_prefix(address, 32)
                .output_interface(oi)
                .scope(RouteScope::Link)
                .build();
            h.route().add(route).replace().execute().await.map_err(|e| format!("route to {address}: {e}"))?;
            permanent_neighbour(h, oi, address, &inner_mac).await
        })?;
        let proxy = Proxy::start(lb, space.ns.clone())?;
        self.lbs.insert(lb.to_owned(), LbSpace { proxy, space, vpc: vpc.to_owned(), n });
        Ok(())
    }

    fn bridge(&self, vswitch: &str) -> Result<String> {
        self.segments.get(vswitch).map(|(_, n)| format!("br{n}")).ok_or_else(|| format!("no segment for {vswitch}"))
    }

    fn undeliver(&self, vpc: &str, ip: IpAddr, from: &Delivery) -> Result<()> {
        let br = self.bridge(&from.vswitch)?;
        let r = self.router(vpc)?;
        self.rt.block_on(async {
            let bi = index(&r.handle, &br).await?;
            let mut msg = NeighbourMessage::default();
            msg.header.ifindex = bi;
            let (family, destination) = match ip {
                IpAddr::V4(v4) => (AddressFamily::Inet, NeighbourAddress::Inet(v4)),
                IpAddr::V6(v6) => (AddressFamily::Inet6, NeighbourAddress::Inet6(v6)),
            };
            msg.header.family = family;
            msg.attributes.push(NeighbourAttribute::Destination(destination));
            // Already gone (e.g. with its bridge) counts as done.
            ignore_missing(r.handle.neighbours().del(msg).execute().await).map_err(|e| format!("neighbour {ip}: {e}"))
        })
    }

    /// Moves an ENI's link to where it belongs: into an instance as `eth<index>` (down and bare
    /// like a hot-plugged NIC, or configured for the primary ENI), or back to the vRouter.
    fn place(&mut self, eni: &str, to: &Placement) -> Result<()> {
        let link = self.enis.get(eni).ok_or_else(|| format!("no link for {eni}"))?;
        let parked = format!("e{}", link.n);
        let (src, name) = match &link.node {
            Some((i, name)) => (self.nodes.get(i).ok_or_else(|| format!("no node {i}"))?, name.clone()),
            None => (self.router(&link.vpc)?, parked.clone()),
        };
        let (dst, new_name, node) = match to {
            Placement::Parked => (self.router(&link.vpc)?, parked.clone(), None),
            Placement::Node { instance, device_index, .. } => {
                let dst = self.nodes.get(instance).ok_or_else(|| format!("no node {instance}"))?;
                (dst, format!("eth{device_index}"), Some((instance.clone(), format!("eth{device_index}"))))
            }
        };
        self.rt.block_on(async {
            let i = index(&src.handle, &name).await?;
            // One message: the link leaves down and takes its new name in the new namespace.
            let msg = LinkUnspec::new_with_index(i).down().name(new_name.clone()).setns_by_fd(dst.ns.fd()).build();
            src.handle.link().set(msg).execute().await.map_err(|e| format!("moving {name}: {e}"))?;
            if let Placement::Node { primary: Some((own, gw)), .. } = to {
                configure_primary(&dst.handle, &new_name, *own, *gw).await?;
            }
            Ok::<(), String>(())
        })?;
        if let Some(l) = self.enis.get_mut(eni) {
            l.node = node;
        }
        Ok(())
    }

    /// Configures the IPv6 side of an instance's primary ENI in place: removes `from`, adds `to`
    /// with the default route on-link via its gateway (or removes that route).
    fn set_ipv6(&self, eni: &str, from: Option<Ipv6Net>, to: Option<(Ipv6Net, Ipv6Addr)>) -> Result<()> {
        let link = self.enis.get(eni).ok_or_else(|| format!("no link for {eni}"))?;
        let (instance, name) = link.node.as_ref().ok_or_else(|| format!("{eni} is not in an instance"))?;
        let h = &self.nodes.get(instance).ok_or_else(|| format!("no node {instance}"))?.handle;
        self.rt.block_on(async {
            let i = index(h, name).await?;
            if let Some(old) = from {
                let mut msg = rtnetlink::packet_route::address::AddressMessage::default();
                msg.header.family = AddressFamily::Inet6;
                msg.header.index = i;
                msg.header.prefix_len = old.prefix_len();
                msg.attributes
                    .push(rtnetlink::packet_route::address::AddressAttribute::Address(IpAddr::V6(old.addr())));
                ignore_missing(h.address().del(msg).execute().await).map_err(|e| format!("address {old}: {e}"))?;
            }
            let default = RouteMessageBuilder::<Ipv6Addr>::new().output_interface(i);
            match to {
                Some((own, gw)) => {
                    h.address()
                        .add(i, IpAddr::V6(own.addr()), own.prefix_len())
                        .replace()
                        .execute()
                        .await
                        .map_err(|e| format!("address {own}: {e}"))?;
                    let route = default.gateway(gw).onlink().build();
                    h.route().add(route).replace().execute().await.map_err(|e| format!("IPv6 default route: {e}"))
                }
                None => ignore_missing(h.route().del(default.build()).execute().await)
                    .map_err(|e| format!("IPv6 default route: {e}")),
            }
        })
    }

    /// Removes every link and namespace the fabric made.
    pub(crate) fn teardown(&mut self) {
        self.lbs.clear();
        let enis: Vec<String> = self.enis.keys().cloned().collect();
        for eni in enis {
            if let Err(e) = self.apply(&Op::DelEni { eni: eni.clone() }) {
                tracing::warn!(%eni, error = %e, "fabric teardown");
            }
        }
        let segments: Vec<(String, String)> =
            self.segments.iter().map(|(v, (vpc, _))| (vpc.clone(), v.clone())).collect();
        for (vpc, vswitch) in segments {
            if let Err(e) = self.apply(&Op::DelSegment { vpc, vswitch: vswitch.clone() }) {
                tracing::warn!(%vswitch, error = %e, "fabric teardown");
            }
        }
        self.nodes.clear();
        self.routers.clear();
    }
}

/// Makes `ip` a permanent neighbour at `mac` on link `index` (never asked for over ARP or
/// neighbour solicitation).
async fn permanent_neighbour(h: &Handle, index: u32, ip: impl Into<IpAddr>, mac: &[u8]) -> Result<()> {
    let ip = ip.into();
    h.neighbours()
        .add(index, ip)
        .link_layer_address(mac)
        .replace()
        .execute()
        .await
        .map_err(|e| format!("neighbour {ip}: {e}"))
}

/// The MAC of link `name`.
async fn mac_of(h: &Handle, name: &str) -> Result<Vec<u8>> {
    let link = links(h).await?.into_iter().find(|l| l.name == name).ok_or_else(|| format!("no link {name}"))?;
    parse_mac(&link.mac)
}

/// Adds `address` to a link (when given) and brings it up.
pub(crate) async fn configure_link(h: &Handle, name: &str, address: Option<Ipv4Net>) -> Result<()> {
    if let Some(a) = address {
        let i = index(h, name).await?;
        h.address()
            .add(i, IpAddr::V4(a.addr()), a.prefix_len())
            .execute()
            .await
            .map_err(|e| format!("address {a}: {e}"))?;
    }
    set_up(h, name).await
}

/// Configures an instance's primary ENI as its image does: address, up, default route.
async fn configure_primary(h: &Handle, name: &str, own: Ipv4Net, gateway: Ipv4Addr) -> Result<()> {
    configure_link(h, name, Some(own)).await?;
    let route = RouteMessageBuilder::<Ipv4Addr>::new().gateway(gateway).build();
    h.route().add(route).replace().execute().await.map_err(|e| format!("default route: {e}"))
}
