//! The fabric tests' harness and world: a VPC with two VSwitches in two zones, a security group
//! and three instances (the mock's scenario); bounded probes from inside the namespaces.

use std::future::Future;
use std::io::{Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::pin::Pin;
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Duration;

use ack_net_core::RpcClient;
use ack_net_eni::{EcsClient, SecurityGroupId, WaitPolicy};
use ack_net_mock::fabric::{FabricConfig, Link, Netns};
use ack_net_mock::{InstanceSeed, MockCloud};
use ack_net_vpc::{RouteTableId, VpcClient, VpcId};

/// A test: its name and its body over a fresh world.
pub type Test = (&'static str, fn(Net) -> Pin<Box<dyn Future<Output = ()> + Send>>);

/// Enters the sandbox, then runs the tests named on the command line (all when none is
/// named), each on a fresh mock with its fabric; reports like the standard harness.
pub fn run(tests: &[Test]) -> ExitCode {
    if let Err(e) = ack_net_mock::fabric::enter_sandbox() {
        eprintln!("cannot enter the namespace sandbox: {e}");
        return ExitCode::FAILURE;
    }
    for (program, package) in [("ping", "iputils-ping"), ("nft", "nftables")] {
        if Command::new(program).arg("-V").output().is_err() {
            eprintln!("the fabric tests need `{program}`: apt-get install {package}");
            return ExitCode::FAILURE;
        }
    }
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let chosen: Vec<&Test> = tests
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    println!("\nrunning {} tests", chosen.len());
    let mut failed = Vec::new();
    for (name, body) in &chosen {
        let outcome = rt.block_on(async {
            let net = Net::new().await;
            tokio::spawn(body(net)).await
        });
        match outcome {
            Ok(()) => println!("test {name} ... ok"),
            Err(e) => {
                println!("test {name} ... FAILED ({e})");
                failed.push(*name);
            }
        }
    }
    println!(
        "\ntest result: {}. {} passed; {} failed",
        if failed.is_empty() { "ok" } else { "FAILED" },
        chosen.len() - failed.len(),
        failed.len()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

pub fn waits() -> WaitPolicy {
    WaitPolicy::new(Duration::from_secs(10)).with_backoff(Duration::from_millis(10), Duration::from_millis(50))
}

/// One instance: its id, its VSwitch and its primary address.
#[derive(Clone, Debug)]
pub struct Node {
    pub id: String,
    pub vswitch: String,
    pub ip: Ipv4Addr,
}

/// An instance alone in a security group of its own.
pub struct Guarded {
    pub node: Node,
    pub group: SecurityGroupId,
}

pub struct Net {
    pub mock: MockCloud,
    pub vpc: VpcClient,
    pub ecs: EcsClient,
    pub vpc_id: VpcId,
    pub route_table: RouteTableId,
    /// zone h: 10.1.1.0/24; zone i: 10.1.2.0/24; each with an IPv6 /64 of the VPC's /56.
    pub vswitches: Vec<String>,
    /// The instances' (basic) group.
    pub sg: SecurityGroupId,
    /// Two instances in the first VSwitch, one in the second.
    pub nodes: Vec<Node>,
}

impl Net {
    pub async fn new() -> Net {
        let mock = MockCloud::builder()
            .seed(17)
            .ecs_delays(Duration::from_millis(20), Duration::from_millis(20))
            .fabric(FabricConfig::default())
            .start()
            .await
            .expect("the mock starts");
        Net::on(mock).await
    }

    /// The world on a mock started with its fabric.
    pub async fn on(mock: MockCloud) -> Net {
        if let Some(e) = mock.fabric_error() {
            panic!("the fabric did not start: {e}");
        }
        let rpc = mock.client_builder().build().expect("a client");
        let (vpc, ecs) = (VpcClient::new(rpc.clone()), EcsClient::new(rpc));
        let world = mock
            .scenario()
            .vpc("10.1.0.0/16")
            .vswitch_ipv6("cn-hangzhou-h", "10.1.1.0/24", 1)
            .vswitch_ipv6("cn-hangzhou-i", "10.1.2.0/24", 2)
            .security_group("nodes")
            .instances_in(0, 2, "ecs.g7.large")
            .instances_in(1, 1, "ecs.g7.large")
            .build()
            .expect("the scenario");
        let nodes = world
            .instances
            .iter()
            .map(|i| Node { id: i.instance_id.to_string(), vswitch: i.vswitch_id.clone(), ip: i.private_ip })
            .collect();
        let net = Net {
            mock,
            vpc,
            ecs,
            vpc_id: world.vpc_id.parse().expect("a VPC id"),
            route_table: world.route_table_id.parse().expect("a route table id"),
            vswitches: world.vswitch_ids,
            sg: world.security_group_id.expect("a group").parse().expect("a group id"),
            nodes,
        };
        assert!(net.mock.fabric().expect("the fabric").settled(Duration::from_secs(10)).await, "settled");
        net
    }

    /// Creates an instance (the admin API: the mock has no RunInstances) in `vswitch` and `group`.
    pub fn instance(&self, vswitch: &str, group: &SecurityGroupId) -> Node {
        self.instance_of_type(vswitch, group, "ecs.g7.large")
    }

    /// [`Net::instance`] of the type `instance_type`.
    pub fn instance_of_type(&self, vswitch: &str, group: &SecurityGroupId, instance_type: &str) -> Node {
        let zone = if *vswitch == self.vswitches[0] { "cn-hangzhou-h" } else { "cn-hangzhou-i" };
        let v = self
            .mock
            .create_instance(InstanceSeed {
                region_id: "cn-hangzhou".into(),
                zone_id: zone.into(),
                instance_type: instance_type.into(),
                vswitch_id: vswitch.to_owned(),
                security_group_ids: vec![group.to_string()],
                instance_id: None,
            })
            .expect("an instance");
        Node {
            id: v["InstanceId"].as_str().expect("id").to_owned(),
            vswitch: vswitch.to_owned(),
            ip: v["PrivateIpAddress"].as_str().expect("address").parse().expect("an IPv4 address"),
        }
    }

    /// A new (basic) security group with a new instance in it, in `vswitch`.
    pub async fn instance_in_new_group(&self, vswitch: &str) -> Guarded {
        let group = self.ecs.security_groups().create(&self.vpc_id).name("guarded").send().await.expect("a group");
        let node = self.instance(vswitch, &group);
        self.settle().await;
        Guarded { node, group }
    }

    /// Waits until the fabric has applied the state as it is now.
    pub async fn settle(&self) {
        let fabric = self.mock.fabric().expect("the fabric");
        assert!(
            fabric.settled(Duration::from_secs(10)).await,
            "the fabric did not settle: {}",
            self.mock.dump()["fabric"]
        );
        assert_eq!(self.mock.dump()["fabric"]["errors"], serde_json::json!({}), "fabric errors");
    }

    /// Gives `node`'s primary ENI `count` IPv6 addresses (AssignIpv6Addresses) and answers them;
    /// the fabric configures the ENI's first one in the instance.
    #[allow(dead_code, reason = "used by tests/datapath.rs and tests/fabric.rs, not the CNI tests")]
    pub async fn assign_ipv6(&self, node: &Node, count: u32) -> Vec<Ipv6Addr> {
        let enis = self.ecs.network_interfaces();
        let page = enis.describe().primary_ip(node.ip).send().await.expect("DescribeNetworkInterfaces");
        let eni = page.network_interfaces.first().unwrap_or_else(|| panic!("no ENI holds {}", node.ip));
        enis.assign_ipv6(&eni.id).count(count).send().await.expect("AssignIpv6Addresses")
    }

    /// A started `IpPool` on `node`, in its VSwitch and the nodes' group (memory journal).
    #[allow(dead_code, reason = "used by tests/datapath.rs and benches/datapath.rs, not tests/fabric.rs")]
    pub async fn pool(&self, node: &Node, pool_id: &str) -> ack_net_eni::pool::IpPool {
        self.pool_with(node, pool_id, |c| c).await
    }

    /// [`Net::pool`] with its configuration changed by `tune` (its IP stack, its ENI mode).
    #[allow(dead_code, reason = "used by tests/datapath.rs, not tests/fabric.rs")]
    pub async fn pool_with(
        &self,
        node: &Node,
        pool_id: &str,
        tune: impl FnOnce(ack_net_eni::pool::PoolConfig) -> ack_net_eni::pool::PoolConfig,
    ) -> ack_net_eni::pool::IpPool {
        use ack_net_eni::pool::{IpPool, MemoryStore, PoolConfig, PoolOwner};
        let rpc = self.rpc();
        let config = PoolConfig::new(
            PoolOwner { cluster_id: "c-fabric".into(), pool_id: pool_id.into() },
            node.id.parse().expect("an instance id"),
            "ecs.g7.large".parse().expect("a type"),
        )
        .vswitch(node.vswitch.parse().expect("a VSwitch id"))
        .security_group(self.sg.clone())
        .wait_policy(waits());
        let config = tune(config);
        IpPool::builder(config).ecs(rpc).store(Arc::new(MemoryStore::new())).start().await.expect("the pool starts")
    }

    /// A client of the mock: no retries, no rate limits.
    #[allow(dead_code, reason = "used by the CNI tests, not tests/fabric.rs")]
    pub fn rpc(&self) -> RpcClient {
        self.mock.client_builder().build().expect("a client")
    }

    pub fn node(&self, n: &Node) -> Arc<Netns> {
        self.mock.fabric().expect("the fabric").node(&n.id).expect("the node's namespace")
    }

    /// The VSwitch's gateway (third-from-last address).
    pub fn gateway(&self, vswitch: &str) -> Ipv4Addr {
        let cidr = if *vswitch == self.vswitches[0] { "10.1.1.0/24" } else { "10.1.2.0/24" };
        ack_net_mock::fabric::gateway(cidr.parse().unwrap()).expect("a gateway").addr()
    }

    /// One ICMP echo from `from` to `to`, waiting at most a second.
    fn ping(&self, from: &Node, to: Ipv4Addr) -> bool {
        ping_from(&self.node(from), to)
    }

    /// `to` answers `from` within ten tries (the fabric applies a change within milliseconds).
    pub async fn reaches(&self, from: &Node, to: Ipv4Addr) {
        for _ in 0..10 {
            if self.ping(from, to) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let rules = self
            .mock
            .fabric()
            .and_then(|f| f.router(self.vpc_id.as_str()))
            .and_then(|r| r.output(Command::new("nft").args(["list", "ruleset"])).ok())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        panic!("{} ({}) does not reach {to}; fabric: {}\n{rules}", from.id, from.ip, self.mock.dump()["fabric"]);
    }

    /// `to` does not answer `from` (one echo, once the fabric has settled).
    pub async fn unreachable(&self, from: &Node, to: Ipv4Addr) {
        self.settle().await;
        assert!(!self.ping(from, to), "{} ({}) reaches {to}", from.id, from.ip);
    }

    /// A link in a node, if it is there.
    pub fn link(&self, n: &Node, name: &str) -> Option<Link> {
        self.node(n).links().expect("the node's links").into_iter().find(|l| l.name == name)
    }

    /// Listens on `port` in `at`, connects from `from`; answers whether a byte made the trip.
    fn tcp(&self, from: &Node, at: &Node, port: u16) -> bool {
        tcp_probe(&self.node(from), &self.node(at), at.ip, port)
    }

    /// A TCP connection from `from` to `at:port` carries data, within ten tries.
    pub async fn tcp_reaches(&self, from: &Node, at: &Node, port: u16) {
        for _ in 0..10 {
            if self.tcp(from, at, port) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{} cannot connect to {}:{port}", from.ip, at.ip);
    }

    /// No TCP connection from `from` to `at:port` (once the fabric has settled).
    pub async fn tcp_refused(&self, from: &Node, at: &Node, port: u16) {
        self.settle().await;
        assert!(!self.tcp(from, at, port), "{} connected to {}:{port}", from.ip, at.ip);
    }
}

/// One ICMP (ICMPv6 for an IPv6 `to`) echo from the namespace `from` to `to`, waiting at most a
/// second.
pub fn ping_from(from: &Netns, to: impl Into<IpAddr>) -> bool {
    let out = from
        .output(Command::new("ping").args(["-n", "-q", "-c1", "-W1", &to.into().to_string()]))
        .expect("running ping");
    out.status.success()
}

/// `to` answers the namespace `from` within ten tries.
pub async fn reaches_from(from: &Netns, to: impl Into<IpAddr>, what: &str) {
    let to = to.into();
    for _ in 0..10 {
        if ping_from(from, to) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: no answer from {to}");
}

/// What `ip` (iproute2) prints for `args` in `node`.
fn ip_in(node: &Netns, args: &[&str]) -> String {
    let out = node.output(Command::new("ip").args(args)).expect("running ip");
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A node's links (names), IPv4 routes of every table, IPv4 rules and permanent neighbours, as
/// `ip` (iproute2) prints them: what a pod's setup adds and its teardown must take away.
#[allow(dead_code, reason = "used by the datapath and CNI tests, not tests/fabric.rs")]
pub fn snapshot(node: &Netns) -> String {
    let ip = |args: &[&str]| ip_in(node, args);
    let links: Vec<String> =
        ip(&["-o", "link", "show"]).lines().filter_map(|l| l.split(": ").nth(1).map(str::to_owned)).collect();
    format!(
        "links: {links:?}\nroutes:\n{}rules:\n{}neighbours:\n{}",
        ip(&["-4", "route", "show", "table", "all"]),
        ip(&["-4", "rule", "show"]),
        ip(&["neigh", "show", "nud", "permanent"])
    )
}

/// [`snapshot`] with the IPv6 routes of every table and the IPv6 rules.
#[allow(dead_code, reason = "used by the datapath tests, not tests/fabric.rs")]
pub fn snapshot_dual(node: &Netns) -> String {
    format!(
        "{}routes6:\n{}rules6:\n{}",
        snapshot(node),
        ip_in(node, &["-6", "route", "show", "table", "all"]),
        ip_in(node, &["-6", "rule", "show"])
    )
}

/// Listens on `port` in the namespace `at`, connects to `ip:port` from the namespace `from`;
/// answers whether a byte made the round trip. Bounded: a one-second connect and read, and the
/// listener gives up after three seconds.
pub fn tcp_probe(from: &Netns, at: &Netns, ip: impl Into<IpAddr>, port: u16) -> bool {
    let ip = ip.into();
    let any = if ip.is_ipv4() { IpAddr::V4(Ipv4Addr::UNSPECIFIED) } else { IpAddr::V6(Ipv6Addr::UNSPECIFIED) };
    let listener = at.run(|| TcpListener::bind((any, port))).expect("a thread in the namespace").expect("listening");
    listener.set_nonblocking(true).expect("non-blocking");
    let server = std::thread::spawn(move || {
        for _ in 0..30 {
            match listener.accept() {
                Ok((mut s, _)) => {
                    s.set_nonblocking(false).ok()?;
                    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
                    let mut b = [0u8; 1];
                    s.read_exact(&mut b).ok()?;
                    return s.write_all(&b).ok();
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        None
    });
    let addr = SocketAddr::from((ip, port));
    let ok = from
        .run(|| -> std::io::Result<bool> {
            let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
            s.set_read_timeout(Some(Duration::from_secs(1)))?;
            s.write_all(b"x")?;
            let mut b = [0u8; 1];
            s.read_exact(&mut b)?;
            Ok(b == *b"x")
        })
        .expect("a thread in the namespace")
        .unwrap_or(false);
    let _ = server.join();
    ok
}
