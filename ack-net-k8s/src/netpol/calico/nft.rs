//! Rendering a [`CalicoRuleSet`] as an nftables ruleset for one node.
//!
//! The layout, in one `inet` table:
//!
//! - a `forward` base chain that accepts established traffic, then sends packets leaving a pod
//!   (`iifname`, its host-side interface) to the pod's egress chain and packets entering a pod
//!   (`oifname`) to its ingress chain, through two verdict maps;
//! - per pod and direction, one chain per applying tier (`e12_0`, `e12_1`, ...): the tier's rules
//!   in order, `Pass` and a `defaultAction: Pass` end as a `goto` to the next tier's chain, the end
//!   of a tier as `drop`; after the last tier the profile: accept;
//! - an Allow on the egress side `return`s to the forward chain, so that the destination's ingress
//!   chain still judges the packet; an Allow on the ingress side accepts it;
//! - every set of addresses a rule matches (the pods its selectors pick, nets, notNets) as a named
//!   interval set per address family, so that the cost per packet does not grow with the number of
//!   peers; `Log` as `log prefix "<policy> <direction> <rule>: "`, to the kernel log or to an NFLOG
//!   group ([`LogTarget`]).
//!
//! Loading the text with `nft -f` replaces the table in one transaction (the text deletes the table
//! it declares first), so there is no moment without rules. A table too large for one transaction
//! is loaded by [`build`](NftTable::build) steps, inert until [`switch_text`](NftTable::switch_text)
//! (see `enforce::load_table`). [`NftTable::update_from`] gives the
//! smaller transaction from one table to the next: set elements, the chains that changed, map
//! entries. Names are stable for that: a pod's chains are named after its interface, and a set
//! after the place it is first used, so a pod added to a selector changes set elements only.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use ipnet::IpNet;

use super::compile::{CalicoRuleSet, CompiledEnd, CompiledRule, PortEntry};
use super::resource::{proto, Action};
use crate::netpol::{Direction, PeerSet, PodId, Protocol};

/// An address family of nftables matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Family {
    V4,
    V6,
}

impl Family {
    fn keyword(self) -> &'static str {
        match self {
            Family::V4 => "ip",
            Family::V6 => "ip6",
        }
    }

    fn set_type(self) -> &'static str {
        match self {
            Family::V4 => "ipv4_addr",
            Family::V6 => "ipv6_addr",
        }
    }

    fn holds(self, net: &IpNet) -> bool {
        matches!((self, net), (Family::V4, IpNet::V4(_)) | (Family::V6, IpNet::V6(_)))
    }
}

/// What a named set holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum SetKind {
    /// Addresses and prefixes (an interval set).
    Addresses(Family),
    /// `address . protocol . port` triples: the named ports of peer pods.
    NamedPorts(Family),
}

impl SetKind {
    fn suffix(self) -> &'static str {
        match self {
            SetKind::Addresses(Family::V4) => "ip",
            SetKind::Addresses(Family::V6) => "ip6",
            SetKind::NamedPorts(Family::V4) => "ipp",
            SetKind::NamedPorts(Family::V6) => "ip6p",
        }
    }

    fn set_type(self) -> String {
        match self {
            SetKind::Addresses(f) => f.set_type().to_owned(),
            SetKind::NamedPorts(f) => format!("{} . inet_proto . inet_service", f.set_type()),
        }
    }

    fn interval(self) -> bool {
        matches!(self, SetKind::Addresses(_))
    }
}

/// A named set of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NftSet {
    kind: SetKind,
    elements: Vec<String>,
}

/// Named sets, deduplicated by content.
#[derive(Default)]
struct Sets {
    by_content: BTreeMap<(SetKind, Vec<String>), String>,
}

impl Sets {
    /// The name of the set holding `elements` (created on first use, named after `place`).
    fn name(&mut self, kind: SetKind, elements: Vec<String>, place: String) -> String {
        self.by_content.entry((kind, elements)).or_insert_with(|| format!("{place}_{}", kind.suffix())).clone()
    }
}

/// Names for the sets a chain uses: the chain's name and the number of the use in it, so that
/// a set keeps its name while its place in the rules stays.
struct Places<'a> {
    chain: &'a str,
    uses: usize,
}

impl Places<'_> {
    fn next(&mut self) -> String {
        self.uses += 1;
        format!("{}_{}", self.chain, self.uses - 1)
    }
}

/// Where the rules of Calico's `Log` action write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LogTarget {
    /// The kernel log (`log prefix "..."`), as Calico writes. The kernel writes only the log
    /// of the initial network namespace: in any other one (a node agent's own netns, a test
    /// sandbox) the messages are dropped.
    #[default]
    KernelLog,
    /// The NFLOG netlink group `N` (`log prefix "..." group N`): the packet and the prefix go to
    /// whoever binds the group on a `NETLINK_NETFILTER` socket of the node's network namespace
    /// (`ulogd2`, or a program of the agent's), in any namespace.
    Nflog(u16),
}

/// A node's nftables table as data: what [`CalicoRuleSet::nft_table`] renders, loaded whole
/// with [`to_text`](Self::to_text) or as a change with [`update_from`](Self::update_from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NftTable {
    table: String,
    /// Set name -> what it holds.
    sets: BTreeMap<String, NftSet>,
    /// Chain name -> its rules, in order.
    chains: BTreeMap<String, Vec<String>>,
    /// Host-side interface -> the first chain of its egress (packets from the pod).
    egress: BTreeMap<String, String>,
    /// Host-side interface -> the first chain of its ingress (packets to the pod).
    ingress: BTreeMap<String, String>,
}

/// The base chain, the only thing that sends packets into the table.
const FORWARD_HOOK: &str = "type filter hook forward priority filter; policy accept;";
/// Its rules.
const FORWARD_RULES: [&str; 3] =
    ["ct state established,related accept", "iifname vmap @egress", "oifname vmap @ingress"];

/// The most set elements in one `add element` statement of a [`build`](NftTable::build): a set
/// larger than that is filled in several statements, which may go to several transactions.
const ELEMENTS_PER_STATEMENT: usize = 64;

/// One statement of a table built in steps, and its weight: about the share of a netlink
/// transaction it takes, counted in rules (an element of a set weighs less than a rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `nft -f` input of one line.
    pub text: String,
    /// Rules it is worth (at least 1).
    pub weight: usize,
}

impl NftTable {
    /// The table's name (family `inet`).
    pub fn name(&self) -> &str {
        &self.table
    }

    /// The number of chains (per pod, direction and tier).
    pub fn chain_count(&self) -> usize {
        self.chains.len()
    }

    /// The number of address sets.
    pub fn set_count(&self) -> usize {
        self.sets.len()
    }

    /// The whole table as `nft -f` input that replaces it in one transaction.
    pub fn to_text(&self) -> String {
        let table = &self.table;
        let mut out = String::new();
        let _ = writeln!(out, "table inet {table}\ndelete table inet {table}\ntable inet {table} {{");
        for (name, set) in &self.sets {
            let _ = writeln!(out, "\tset {name} {{\n\t\ttype {}", set.kind.set_type());
            if set.kind.interval() {
                let _ = writeln!(out, "\t\tflags interval");
            }
            if !set.elements.is_empty() {
                let _ = writeln!(out, "\t\telements = {{ {} }}", set.elements.join(", "));
            }
            let _ = writeln!(out, "\t}}");
        }
        for (name, map) in [("egress", &self.egress), ("ingress", &self.ingress)] {
            let _ = writeln!(out, "\tmap {name} {{\n\t\ttype ifname : verdict");
            if !map.is_empty() {
                let elements: Vec<String> = map.iter().map(|(i, c)| format!("{} : jump {c}", quote(i))).collect();
                let _ = writeln!(out, "\t\telements = {{ {} }}", elements.join(", "));
            }
            let _ = writeln!(out, "\t}}");
        }
        for (name, rules) in &self.chains {
            let _ = writeln!(out, "\tchain {name} {{");
            for rule in rules {
                let _ = writeln!(out, "\t\t{rule}");
            }
            let _ = writeln!(out, "\t}}");
        }
        let _ = writeln!(out, "\tchain forward {{\n\t\t{FORWARD_HOOK}");
        for rule in FORWARD_RULES {
            let _ = writeln!(out, "\t\t{rule}");
        }
        out.push_str("\t}\n}\n");
        out
    }

    /// The same table under the name `table` (the rules do not name their table).
    pub fn renamed(&self, table: &str) -> NftTable {
        NftTable { table: table.to_owned(), ..self.clone() }
    }

    /// The table built from nothing, as statements that may go to the kernel in as many
    /// transactions as needed, in this order: none of them makes the table judge a packet,
    /// because the table has no base chain until [`switch_text`](Self::switch_text). The first
    /// statement deletes a table of this name (e.g. one half built before a crash).
    ///
    /// ```
    /// use ack_net_k8s::netpol::calico::{CalicoEngine, CalicoResource, Parsing};
    /// use ack_net_k8s::netpol::PolicyEngine;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(serde_json::json!({
    ///     "metadata": {"namespace": "shop", "name": "db", "labels": {"app": "db"}},
    ///     "status": {"podIPs": [{"ip": "10.0.0.2"}]}
    /// }))?;
    /// let calico = CalicoResource::from_yaml(
    ///     "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: db, namespace: shop}\n\
    ///      spec: {selector: app == 'db', ingress: [{action: Deny, source: {nets: [203.0.113.0/24]}}, {action: Allow}]}",
    ///     Parsing::Strict,
    /// )?;
    /// let rules = CalicoEngine::new(PolicyEngine::new([], [&pod], [])?, [], &calico)?.compile();
    /// let table = rules.nft_table("ack_net_policy_twin", |_ns, name| Some(format!("veth-{name}")));
    /// let build = table.build();
    /// assert!(build.iter().all(|s| !s.text.contains("hook")), "inert until the switch");
    /// assert_eq!(build[0].text, "table inet ack_net_policy_twin; delete table inet ack_net_policy_twin; add table inet ack_net_policy_twin");
    /// let switch = table.switch_text("ack_net_policy");
    /// assert!(switch.contains("add chain inet ack_net_policy_twin forward { type filter hook forward"));
    /// assert!(switch.ends_with("delete table inet ack_net_policy\n"));
    /// # Ok(()) }
    /// ```
    pub fn build(&self) -> Vec<Statement> {
        let t = &self.table;
        let one = |text: String| Statement { text, weight: 1 };
        let mut out = vec![one(format!("table inet {t}; delete table inet {t}; add table inet {t}"))];
        for (name, set) in &self.sets {
            let flags = if set.kind.interval() { " flags interval;" } else { "" };
            out.push(one(format!("add set inet {t} {name} {{ type {};{flags} }}", set.kind.set_type())));
        }
        for map in ["egress", "ingress"] {
            out.push(one(format!("add map inet {t} {map} {{ type ifname : verdict; }}")));
        }
        out.extend(self.chains.keys().map(|name| one(format!("add chain inet {t} {name}"))));
        for (name, set) in &self.sets {
            for part in set.elements.chunks(ELEMENTS_PER_STATEMENT) {
                out.push(Statement {
                    text: format!("add element inet {t} {name} {{ {} }}", part.join(", ")),
                    weight: part.len().div_ceil(8),
                });
            }
        }
        for (name, rules) in &self.chains {
            out.extend(rules.iter().map(|rule| one(format!("add rule inet {t} {name} {rule}"))));
        }
        for (map, entries) in [("egress", &self.egress), ("ingress", &self.ingress)] {
            for (ifname, chain) in entries {
                out.push(one(format!("add element inet {t} {map} {{ {} : jump {chain} }}", quote(ifname))));
            }
        }
        out
    }

    /// The one transaction that puts a table made by [`build`](Self::build) in force and
    /// removes `retired` (the table in force until then, if any): the base chain that sends
    /// packets to this table's maps is added in the same transaction as the other table is
    /// deleted, so every packet meets exactly one complete ruleset.
    pub fn switch_text(&self, retired: &str) -> String {
        let t = &self.table;
        let mut out = format!("add chain inet {t} forward {{ {FORWARD_HOOK} }}\n");
        for rule in FORWARD_RULES {
            let _ = writeln!(out, "add rule inet {t} forward {rule}");
        }
        if retired != t {
            let _ = writeln!(out, "table inet {retired}\ndelete table inet {retired}");
        }
        out
    }

    /// `nft -f` input that turns the loaded table `old` into this one in one transaction,
    /// touching only what differs (see below).
    ///
    /// ```
    /// use ack_net_k8s::netpol::calico::{CalicoEngine, CalicoResource, Parsing};
    /// use ack_net_k8s::netpol::PolicyEngine;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pod = |name: &str, app: &str, ip: &str| -> serde_json::Result<k8s_openapi::api::core::v1::Pod> {
    ///     serde_json::from_value(serde_json::json!({
    ///         "metadata": {"namespace": "shop", "name": name, "labels": {"app": app}},
    ///         "status": {"podIPs": [{"ip": ip}]}
    ///     }))
    /// };
    /// let calico = CalicoResource::from_yaml(
    ///     "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: db, namespace: shop}\n\
    ///      spec: {selector: app == 'db', ingress: [{action: Allow, source: {selector: app == 'web'}}]}",
    ///     Parsing::Strict,
    /// )?;
    /// let table = |pods: &[k8s_openapi::api::core::v1::Pod]| -> Result<_, Box<dyn std::error::Error>> {
    ///     let rules = CalicoEngine::new(PolicyEngine::new([], pods, [])?, [], &calico)?.compile();
    ///     Ok(rules.nft_table("ack_net_policy", |_ns, name| Some(format!("veth-{name}"))))
    /// };
    /// let before = table(&[pod("db", "db", "10.0.0.2")?, pod("web-1", "web", "10.0.0.5")?])?;
    /// let after = table(&[pod("db", "db", "10.0.0.2")?, pod("web-1", "web", "10.0.0.5")?, pod("web-2", "web", "10.0.0.6")?])?;
    /// // A second web pod: one set's elements change, nothing else.
    /// assert_eq!(
    ///     after.update_from(&before),
    ///     "flush set inet ack_net_policy i_veth-db_0_0_ip\n\
    ///      add element inet ack_net_policy i_veth-db_0_0_ip { 10.0.0.5/32, 10.0.0.6/32 }\n"
    /// );
    /// assert_eq!(after.update_from(&after), "");
    /// # Ok(()) }
    /// ```
    ///
    /// What it touches: new sets, the elements of changed sets, new and changed
    /// chains (flushed and refilled), map entries, and then the chains and sets no longer
    /// used. Empty when nothing differs. A table of another name is replaced whole.
    pub fn update_from(&self, old: &NftTable) -> String {
        if old.table != self.table {
            return self.to_text();
        }
        let t = &self.table;
        let mut out = String::new();
        for (name, set) in &self.sets {
            match old.sets.get(name) {
                Some(before) if before == set => continue,
                Some(before) if before.kind == set.kind => {
                    let _ = writeln!(out, "flush set inet {t} {name}");
                }
                _ => {
                    let flags = if set.kind.interval() { " flags interval;" } else { "" };
                    let _ = writeln!(out, "add set inet {t} {name} {{ type {};{flags} }}", set.kind.set_type());
                }
            }
            if !set.elements.is_empty() {
                let _ = writeln!(out, "add element inet {t} {name} {{ {} }}", set.elements.join(", "));
            }
        }
        for name in self.chains.keys().filter(|c| !old.chains.contains_key(*c)) {
            let _ = writeln!(out, "add chain inet {t} {name}");
        }
        for (name, rules) in &self.chains {
            match old.chains.get(name) {
                Some(before) if before == rules => continue,
                Some(_) => {
                    let _ = writeln!(out, "flush chain inet {t} {name}");
                }
                None => {}
            }
            for rule in rules {
                let _ = writeln!(out, "add rule inet {t} {name} {rule}");
            }
        }
        for (map, now, before) in [("egress", &self.egress, &old.egress), ("ingress", &self.ingress, &old.ingress)] {
            for (ifname, chain) in before {
                if now.get(ifname) != Some(chain) {
                    let _ = writeln!(out, "delete element inet {t} {map} {{ {} }}", quote(ifname));
                }
            }
            for (ifname, chain) in now {
                if before.get(ifname) != Some(chain) {
                    let _ = writeln!(out, "add element inet {t} {map} {{ {} : jump {chain} }}", quote(ifname));
                }
            }
        }
        let gone: Vec<&String> = old.chains.keys().filter(|c| !self.chains.contains_key(*c)).collect();
        // Emptied first: a chain may still jump to another one that goes too.
        for name in &gone {
            let _ = writeln!(out, "flush chain inet {t} {name}");
        }
        for name in &gone {
            let _ = writeln!(out, "delete chain inet {t} {name}");
        }
        for name in old.sets.keys().filter(|s| !self.sets.contains_key(*s)) {
            let _ = writeln!(out, "delete set inet {t} {name}");
        }
        out
    }
}

/// `text` as a chain-name fragment (nft identifiers: letters, digits, `_`, `-`, `.`).
fn identifier(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' { c } else { '_' }).collect()
}

impl CalicoRuleSet {
    /// The node's ruleset as `nft -f` input, for the pods `interface` names a host-side
    /// interface for (pods on other nodes get none, but stay members of the address sets).
    ///
    /// ```
    /// use ack_net_k8s::netpol::calico::{CalicoEngine, CalicoResource, Parsing};
    /// use ack_net_k8s::netpol::PolicyEngine;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(serde_json::json!({
    ///     "metadata": {"namespace": "shop", "name": "db", "labels": {"app": "db"}},
    ///     "status": {"podIPs": [{"ip": "10.0.0.2"}]}
    /// }))?;
    /// let calico = CalicoResource::from_yaml(
    ///     "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: db, namespace: shop}\n\
    ///      spec: {selector: app == 'db', ingress: [{action: Deny, source: {nets: [203.0.113.0/24]}}, {action: Allow}]}",
    ///     Parsing::Strict,
    /// )?;
    /// let rules = CalicoEngine::new(PolicyEngine::new([], [&pod], [])?, [], &calico)?.compile();
    /// let text = rules.to_nftables("ack_net_policy", |_ns, name| Some(format!("veth-{name}")));
    /// assert!(text.contains("\"veth-db\" : jump i_veth-db_0"));
    /// assert!(text.contains("ip saddr @i_veth-db_0_0_ip drop"));
    /// # Ok(()) }
    /// ```
    pub fn to_nftables(&self, table: &str, interface: impl FnMut(&str, &str) -> Option<String>) -> String {
        self.nft_table(table, interface).to_text()
    }

    /// The node's table as data (see [`NftTable`]), for the pods `interface` names a host-side
    /// interface for.
    pub fn nft_table(&self, table: &str, interface: impl FnMut(&str, &str) -> Option<String>) -> NftTable {
        self.nft_table_logging(table, LogTarget::KernelLog, interface)
    }

    /// [`nft_table`](Self::nft_table) with `Log` rules writing to `log`.
    ///
    /// ```
    /// use ack_net_k8s::netpol::calico::{CalicoEngine, CalicoResource, LogTarget, Parsing};
    /// use ack_net_k8s::netpol::PolicyEngine;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(serde_json::json!({
    ///     "metadata": {"namespace": "shop", "name": "db", "labels": {"app": "db"}},
    ///     "status": {"podIPs": [{"ip": "10.0.0.2"}]}
    /// }))?;
    /// let calico = CalicoResource::from_yaml(
    ///     "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: db, namespace: shop}\n\
    ///      spec: {selector: app == 'db', ingress: [{action: Log}, {action: Allow}]}",
    ///     Parsing::Strict,
    /// )?;
    /// let rules = CalicoEngine::new(PolicyEngine::new([], [&pod], [])?, [], &calico)?.compile();
    /// let table = rules.nft_table_logging("ack_net_policy", LogTarget::Nflog(5), |_ns, name| Some(format!("veth-{name}")));
    /// assert!(table.to_text().contains("log prefix \"NetworkPolicy shop/db Ingress 0: \" group 5"));
    /// # Ok(()) }
    /// ```
    pub fn nft_table_logging(
        &self,
        table: &str,
        log: LogTarget,
        mut interface: impl FnMut(&str, &str) -> Option<String>,
    ) -> NftTable {
        let mut sets = Sets::default();
        let mut chains: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let (mut egress, mut ingress) = (BTreeMap::new(), BTreeMap::new());
        for (i, pod) in self.pods().iter().enumerate() {
            // Cannot truncate: pods are numbered with u32.
            let id = PodId(i as u32);
            let (namespace, name) = self.pod_name(id);
            let Some(ifname) = interface(namespace, name) else { continue };
            for (direction, tiers, map) in
                [(Direction::Egress, &pod.egress, &mut egress), (Direction::Ingress, &pod.ingress, &mut ingress)]
            {
                if tiers.is_empty() {
                    continue; // the profile allows everything: no chain
                }
                let mut base =
                    format!("{}_{}", if direction == Direction::Egress { "e" } else { "i" }, identifier(&ifname));
                if chains.contains_key(&format!("{base}_0")) {
                    // Two interface names that read the same as identifiers: keep both apart.
                    base = format!("{base}_{i}");
                }
                let chain_name = |t: usize| format!("{base}_{t}");
                map.insert(ifname.clone(), chain_name(0));
                let host: Vec<IpNet> = self.host_ips(id).iter().copied().map(IpNet::from).collect();
                for (t, tier) in tiers.iter().enumerate() {
                    let chain = chain_name(t);
                    let mut lines = Vec::new();
                    if t == 0 {
                        // Traffic with the pod's own node is always allowed.
                        for family in [Family::V4, Family::V6] {
                            let nets: Vec<IpNet> = host.iter().copied().filter(|n| family.holds(n)).collect();
                            if !nets.is_empty() {
                                let field = if direction == Direction::Egress { "daddr" } else { "saddr" };
                                lines.push(format!(
                                    "{} {field} {} {}",
                                    family.keyword(),
                                    literal(&nets),
                                    allow(direction)
                                ));
                            }
                        }
                    }
                    let next = (t + 1 < tiers.len()).then(|| format!("goto {}", chain_name(t + 1)));
                    let mut places = Places { chain: &chain, uses: 0 };
                    // The pod is the source of its egress and the destination of its ingress.
                    let own = match direction {
                        Direction::Egress => (Some(id), None),
                        Direction::Ingress => (None, Some(id)),
                    };
                    for rule in &tier.rules {
                        let verdict = match rule.action {
                            Action::Allow => allow(direction).to_owned(),
                            Action::Deny => "drop".to_owned(),
                            Action::Pass => next.clone().unwrap_or_else(|| allow(direction).to_owned()),
                            Action::Log => {
                                // nftables allows prefixes of up to 127 bytes.
                                let mut prefix =
                                    format!("{} {} {}", rule.origin.policy, rule.origin.direction, rule.origin.index);
                                prefix.truncate(prefix.char_indices().nth(100).map_or(prefix.len(), |(i, _)| i));
                                let prefix = quote(&format!("{prefix}: "));
                                match log {
                                    LogTarget::KernelLog => format!("log prefix {prefix}"),
                                    LogTarget::Nflog(group) => format!("log prefix {prefix} group {group}"),
                                }
                            }
                        };
                        for matches in self.rule_matches(rule, &mut sets, &mut places, own) {
                            lines.push(format!("{matches}{}{verdict}", if matches.is_empty() { "" } else { " " }));
                        }
                    }
                    let end = if tier.default_pass {
                        next.clone().unwrap_or_else(|| allow(direction).to_owned())
                    } else {
                        "drop".into()
                    };
                    lines.push(end);
                    chains.insert(chain, lines);
                }
            }
        }
        let sets =
            sets.by_content.into_iter().map(|((kind, elements), name)| (name, NftSet { kind, elements })).collect();
        NftTable { table: table.to_owned(), sets, chains, egress, ingress }
    }

    /// The nft match expressions of one rule: one line per (address family, port alternative)
    /// that can match; none if the rule can never match.
    /// `own`: the chain's pod when it is the rule's (source, destination).
    fn rule_matches(
        &self,
        rule: &CompiledRule,
        sets: &mut Sets,
        places: &mut Places<'_>,
        own: (Option<PodId>, Option<PodId>),
    ) -> Vec<String> {
        let mut out = Vec::new();
        for family in [Family::V4, Family::V6] {
            if rule.ip_version.is_some_and(|v| (v == 4) != (family == Family::V4)) {
                continue;
            }
            let mut head = Vec::new();
            head.push(format!("meta nfproto {}", if family == Family::V4 { "ipv4" } else { "ipv6" }));
            if let Some(p) = rule.protocol {
                head.push(format!("meta l4proto {p}"));
            }
            if let Some(p) = rule.not_protocol {
                head.push(format!("meta l4proto != {p}"));
            }
            let icmp_word = match rule.protocol {
                Some(proto::ICMPV6) => "icmpv6",
                _ => "icmp",
            };
            if let Some((kind, code)) = rule.icmp {
                head.push(format!("{icmp_word} type {kind}"));
                if let Some(code) = code {
                    head.push(format!("{icmp_word} code {code}"));
                }
            }
            if let Some((kind, code)) = rule.not_icmp {
                // Not (type and code): type differs, or (with a code) the code differs.
                match code {
                    None => head.push(format!("{icmp_word} type != {kind}")),
                    Some(code) => head.push(format!("{icmp_word} type . {icmp_word} code != {{ {kind} . {code} }}")),
                }
            }
            let (Some(src), Some(dst)) = (
                self.end_matches(&rule.source, "saddr", family, sets, places),
                self.end_matches(&rule.destination, "daddr", family, sets, places),
            ) else {
                continue;
            };
            head.extend(src);
            head.extend(dst);
            let kubernetes = rule.origin.kubernetes;
            let src_ports = self.port_alternatives(&rule.source, "sport", family, kubernetes, own.0, sets, places);
            let dst_ports = self.port_alternatives(&rule.destination, "dport", family, kubernetes, own.1, sets, places);
            for s in &src_ports {
                for d in &dst_ports {
                    let mut line = head.clone();
                    line.extend(s.iter().cloned());
                    line.extend(d.iter().cloned());
                    out.push(line.join(" "));
                }
            }
        }
        out
    }

    /// Address matches of one end, or `None` when the end cannot be of this family.
    fn end_matches(
        &self,
        end: &CompiledEnd,
        field: &str,
        family: Family,
        sets: &mut Sets,
        places: &mut Places<'_>,
    ) -> Option<Vec<String>> {
        let addresses = |nets: Vec<IpNet>| nets.iter().map(ToString::to_string).collect::<Vec<_>>();
        let mut out = Vec::new();
        for set in &end.within {
            if set.any {
                continue;
            }
            let nets = self.family_nets(set, family);
            if nets.is_empty() {
                return None;
            }
            let name = sets.name(SetKind::Addresses(family), addresses(nets), places.next());
            out.push(format!("{} {field} @{name}", family.keyword()));
        }
        let outside = self.family_nets(&end.outside, family);
        if !outside.is_empty() {
            let name = sets.name(SetKind::Addresses(family), addresses(outside), places.next());
            out.push(format!("{} {field} != @{name}", family.keyword()));
        }
        Some(out)
    }

    /// The port match alternatives of one end (any one suffices; a single empty alternative when
    /// the end has no port condition). A named port resolves on the pod at that end: when that is
    /// the chain's own pod (`own`), only its numbers; otherwise the peers' `address . protocol .
    /// port` triples, as a named set (shared by content, updated by elements).
    #[allow(clippy::too_many_arguments, reason = "the parts of one rule end and where its sets go")]
    fn port_alternatives(
        &self,
        end: &CompiledEnd,
        field: &str,
        family: Family,
        kubernetes: bool,
        own: Option<PodId>,
        sets: &mut Sets,
        places: &mut Places<'_>,
    ) -> Vec<Vec<String>> {
        let addr_field = if field == "sport" { "saddr" } else { "daddr" };
        let pod_pairs = |entries: &[PortEntry]| -> Vec<String> {
            entries
                .iter()
                .filter_map(|e| match *e {
                    PortEntry::Pod { pod, protocol, port } if own.is_none_or(|own| own == pod) => {
                        Some((pod, protocol, port))
                    }
                    _ => None,
                })
                .flat_map(|(pod, protocol, port)| {
                    let number = protocol_number(protocol);
                    self.pods_ips(pod)
                        .iter()
                        .filter(move |ip| family.holds(&IpNet::from(**ip)))
                        .map(move |ip| format!("{ip} . {number} . {port}"))
                        .collect::<Vec<_>>()
                })
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        // The triples as a match: inline for the chain's own pod, else a named set.
        let mut triples = |pairs: Vec<String>| -> String {
            if own.is_some() {
                format!("{{ {} }}", pairs.join(", "))
            } else {
                format!("@{}", sets.name(SetKind::NamedPorts(family), pairs, places.next()))
            }
        };
        let ranges = |entries: &[PortEntry], protocol: Option<Protocol>| -> Vec<String> {
            entries
                .iter()
                .filter_map(|e| match *e {
                    PortEntry::Range { protocol: p, first, last } if p == protocol => {
                        Some(if first == last { first.to_string() } else { format!("{first}-{last}") })
                    }
                    _ => None,
                })
                .collect()
        };
        let fam = family.keyword();
        let mut negations = Vec::new();
        if let Some(not) = &end.not_ports {
            let r = ranges(not, None);
            if !r.is_empty() {
                negations.push(format!("th {field} != {{ {} }}", r.join(", ")));
            }
            let pairs = pod_pairs(not);
            if !pairs.is_empty() {
                negations.push(format!("{fam} {addr_field} . meta l4proto . th {field} != {}", triples(pairs)));
            }
            if !kubernetes {
                // A port is needed for the notPorts to judge: only protocols with ports match.
                negations.push("meta l4proto { 6, 17, 132, 136 }".to_owned());
            }
        }
        let Some(ports) = &end.ports else { return vec![negations] };
        let mut alternatives = Vec::new();
        for protocol in [None, Some(Protocol::Tcp), Some(Protocol::Udp), Some(Protocol::Sctp)] {
            let r = ranges(ports, protocol);
            if r.is_empty() {
                continue;
            }
            let mut alt = negations.clone();
            if let Some(p) = protocol {
                alt.push(format!("meta l4proto {}", protocol_number(p)));
            }
            alt.push(format!("th {field} {{ {} }}", r.join(", ")));
            alternatives.push(alt);
        }
        let pairs = pod_pairs(ports);
        if !pairs.is_empty() {
            let mut alt = negations.clone();
            alt.push(format!("{fam} {addr_field} . meta l4proto . th {field} {}", triples(pairs)));
            alternatives.push(alt);
        }
        alternatives
    }

    fn family_nets(&self, set: &PeerSet, family: Family) -> Vec<IpNet> {
        set.networks(|p| self.pods_ips(p)).into_iter().filter(|n| family.holds(n)).collect()
    }
}

fn allow(direction: Direction) -> &'static str {
    match direction {
        Direction::Egress => "return",
        Direction::Ingress => "accept",
    }
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace(['"', '\\'], "_"))
}

fn literal(nets: &[IpNet]) -> String {
    let items: Vec<String> = nets.iter().map(ToString::to_string).collect();
    format!("{{ {} }}", items.join(", "))
}

fn protocol_number(p: Protocol) -> u8 {
    match p {
        Protocol::Tcp => proto::TCP,
        Protocol::Udp => proto::UDP,
        Protocol::Sctp => proto::SCTP,
    }
}
