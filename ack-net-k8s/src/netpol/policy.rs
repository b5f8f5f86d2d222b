//! NetworkPolicy objects, validated into the rules the semantics evaluate.

use std::net::IpAddr;

use ipnet::IpNet;
use k8s_openapi::api::networking::v1::{IPBlock, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::model::NamedPort;
use super::selector::Selector;
use super::{Error, Protocol};

/// An `ipBlock` peer: the addresses in `cidr` that are in none of the `except` blocks.
///
/// Both are kept with their host bits cleared (`10.0.0.1/8` becomes `10.0.0.0/8`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub struct IpBlock {
    /// The block.
    pub cidr: IpNet,
    /// Sub-blocks of `cidr` that are not part of the peer (each a strict subset of `cidr`).
    pub except: Vec<IpNet>,
}

impl IpBlock {
    /// Whether `ip` is in the block and in none of its exceptions.
    ///
    /// ```
    /// # use ack_net_k8s::netpol::IpBlock;
    /// let block = IpBlock::new("172.17.0.0/16".parse()?, vec!["172.17.1.0/24".parse()?]);
    /// assert!(block.contains(&"172.17.0.9".parse()?));
    /// assert!(!block.contains(&"172.17.1.9".parse()?));
    /// assert!(!block.contains(&"10.0.0.1".parse()?));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.cidr.contains(ip) && !self.except.iter().any(|e| e.contains(ip))
    }

    /// A block from its parts (host bits cleared). Validation of `except` is the caller's: an
    /// `except` outside `cidr` simply has no effect.
    pub fn new(cidr: IpNet, except: Vec<IpNet>) -> Self {
        IpBlock { cidr: cidr.trunc(), except: except.into_iter().map(|e| e.trunc()).collect() }
    }
}

/// A validated NetworkPolicy.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `NetworkPolicy ns/name`.
    pub object: String,
    pub pod_selector: Selector,
    /// The ingress rules, if the policy's (defaulted) `policyTypes` contain `Ingress`.
    pub ingress: Option<Vec<Rule>>,
    /// The egress rules, if the policy's (defaulted) `policyTypes` contain `Egress`.
    pub egress: Option<Vec<Rule>>,
}

/// One ingress or egress rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    /// `None`: `from`/`to` missing or empty, every peer.
    pub peers: Option<Vec<PeerSpec>>,
    /// `None`: `ports` missing or empty, every port of every protocol.
    pub ports: Option<Vec<PortSpec>>,
}

/// One `from`/`to` entry.
#[derive(Debug, Clone)]
pub(crate) enum PeerSpec {
    /// Pods selected by `pods` in the namespaces of `namespaces`.
    Pods {
        namespaces: NamespaceScope,
        pods: Selector,
    },
    Block(IpBlock),
}

/// Which namespaces a selector peer looks in.
#[derive(Debug, Clone)]
pub(crate) enum NamespaceScope {
    /// No `namespaceSelector`: the policy's own namespace.
    Own,
    /// The namespaces the `namespaceSelector` matches.
    Matching(Selector),
}

/// One `ports` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PortSpec {
    /// No `port`: every port of the protocol.
    All(Protocol),
    /// `port` (and `endPort`), inclusive.
    Range { protocol: Protocol, first: u16, last: u16 },
    /// A named port, resolved against the destination pod.
    Named { protocol: Protocol, name: String },
}

impl PortSpec {
    /// Whether this entry matches `port`/`protocol` on a destination pod with these named ports
    /// (`None`: the destination is not a pod-network pod, so named ports never match).
    pub(crate) fn matches(&self, port: u16, protocol: Protocol, dst_ports: Option<&[NamedPort]>) -> bool {
        match self {
            PortSpec::All(p) => *p == protocol,
            PortSpec::Range { protocol: p, first, last } => *p == protocol && (*first..=*last).contains(&port),
            PortSpec::Named { protocol: p, name } => {
                *p == protocol
                    && dst_ports.is_some_and(|ports| {
                        ports.iter().any(|n| n.protocol == *p && n.port == port && n.name == *name)
                    })
            }
        }
    }
}

impl Rule {
    /// Whether the rule's ports match (every port when `ports` is missing or empty).
    pub(crate) fn ports_match(&self, port: u16, protocol: Protocol, dst_ports: Option<&[NamedPort]>) -> bool {
        self.ports.as_ref().is_none_or(|ports| ports.iter().any(|p| p.matches(port, protocol, dst_ports)))
    }
}

impl Policy {
    /// Validates a NetworkPolicy as the API server does and applies its defaults.
    pub(crate) fn parse(np: &NetworkPolicy) -> Result<Self, Error> {
        let name = np
            .metadata
            .name
            .clone()
            .ok_or_else(|| Error::MissingField { object: "NetworkPolicy <unnamed>".into(), field: "metadata.name" })?;
        let namespace = np.metadata.namespace.clone().ok_or_else(|| Error::MissingField {
            object: format!("NetworkPolicy {name}"),
            field: "metadata.namespace",
        })?;
        let object = format!("NetworkPolicy {namespace}/{name}");
        let spec = np.spec.clone().unwrap_or_default();
        let pod_selector = match &spec.pod_selector {
            Some(s) => Selector::parse(s, &object, "spec.podSelector")?,
            None => Selector::default(),
        };

        let mut ingress_rules = Vec::new();
        for (i, rule) in spec.ingress.iter().flatten().enumerate() {
            let field = format!("spec.ingress[{i}]");
            ingress_rules.push(Rule {
                peers: parse_peers(rule.from.as_deref(), &object, &format!("{field}.from"))?,
                ports: parse_ports(rule.ports.as_deref(), &object, &format!("{field}.ports"))?,
            });
        }
        let mut egress_rules = Vec::new();
        for (i, rule) in spec.egress.iter().flatten().enumerate() {
            let field = format!("spec.egress[{i}]");
            egress_rules.push(Rule {
                peers: parse_peers(rule.to.as_deref(), &object, &format!("{field}.to"))?,
                ports: parse_ports(rule.ports.as_deref(), &object, &format!("{field}.ports"))?,
            });
        }

        // Defaults as in k8s.io/kubernetes/pkg/apis/networking/v1 SetDefaults_NetworkPolicy.
        let (mut has_ingress, mut has_egress) = (false, false);
        match spec.policy_types.as_deref() {
            None | Some([]) => {
                has_ingress = true;
                has_egress = !egress_rules.is_empty();
            }
            Some(types) => {
                for (i, t) in types.iter().enumerate() {
                    match t.as_str() {
                        "Ingress" => has_ingress = true,
                        "Egress" => has_egress = true,
                        other => {
                            return Err(Error::InvalidPolicyType {
                                object,
                                field: format!("spec.policyTypes[{i}]"),
                                value: other.to_owned(),
                            })
                        }
                    }
                }
            }
        }
        Ok(Policy {
            namespace,
            name,
            object,
            pod_selector,
            ingress: has_ingress.then_some(ingress_rules),
            egress: has_egress.then_some(egress_rules),
        })
    }
}

fn parse_peers(peers: Option<&[NetworkPolicyPeer]>, object: &str, field: &str) -> Result<Option<Vec<PeerSpec>>, Error> {
    let Some(peers) = peers.filter(|p| !p.is_empty()) else { return Ok(None) };
    let mut out = Vec::with_capacity(peers.len());
    for (i, peer) in peers.iter().enumerate() {
        let field = format!("{field}[{i}]");
        let invalid = |reason| Error::InvalidPeer { object: object.to_owned(), field: field.clone(), reason };
        let has_selector = peer.pod_selector.is_some() || peer.namespace_selector.is_some();
        out.push(match &peer.ip_block {
            Some(_) if has_selector => {
                return Err(invalid("may not specify both `ipBlock` and another peer"));
            }
            Some(block) => PeerSpec::Block(parse_ip_block(block, object, &format!("{field}.ipBlock"))?),
            None if !has_selector => return Err(invalid("must specify a peer")),
            None => PeerSpec::Pods {
                namespaces: match &peer.namespace_selector {
                    Some(s) => {
                        NamespaceScope::Matching(Selector::parse(s, object, &format!("{field}.namespaceSelector"))?)
                    }
                    None => NamespaceScope::Own,
                },
                pods: match &peer.pod_selector {
                    Some(s) => Selector::parse(s, object, &format!("{field}.podSelector"))?,
                    None => Selector::default(),
                },
            },
        });
    }
    Ok(Some(out))
}

fn parse_ip_block(block: &IPBlock, object: &str, field: &str) -> Result<IpBlock, Error> {
    let parse = |value: &str, field: String| {
        value.parse::<IpNet>().map_err(|e| Error::InvalidCidr {
            object: object.to_owned(),
            field,
            value: value.to_owned(),
            reason: e.to_string(),
        })
    };
    let cidr = parse(&block.cidr, format!("{field}.cidr"))?;
    let mut except = Vec::new();
    for (i, e) in block.except.iter().flatten().enumerate() {
        let field = format!("{field}.except[{i}]");
        let net = parse(e, field.clone())?;
        // As the API server: "must be a strict subset of `cidr`".
        if !(cidr.contains(&net) && net.prefix_len() > cidr.prefix_len()) {
            return Err(Error::InvalidCidr {
                object: object.to_owned(),
                field,
                value: e.clone(),
                reason: "must be a strict subset of `cidr`".into(),
            });
        }
        except.push(net);
    }
    Ok(IpBlock::new(cidr, except))
}

fn parse_ports(ports: Option<&[NetworkPolicyPort]>, object: &str, field: &str) -> Result<Option<Vec<PortSpec>>, Error> {
    let Some(ports) = ports.filter(|p| !p.is_empty()) else { return Ok(None) };
    let mut out = Vec::with_capacity(ports.len());
    for (i, p) in ports.iter().enumerate() {
        let field = format!("{field}[{i}]");
        let invalid = |sub: &str, value: String, reason| Error::InvalidPort {
            object: object.to_owned(),
            field: format!("{field}.{sub}"),
            value,
            reason,
        };
        let protocol = match p.protocol.as_deref() {
            None => Protocol::Tcp,
            Some(s) => Protocol::from_api(s).ok_or_else(|| Error::InvalidProtocol {
                object: object.to_owned(),
                field: format!("{field}.protocol"),
                value: s.to_owned(),
            })?,
        };
        let number = |n: i32, sub: &str| {
            u16::try_from(n)
                .ok()
                .filter(|&n| n != 0)
                .ok_or_else(|| invalid(sub, n.to_string(), "must be between 1 and 65535, inclusive"))
        };
        out.push(match (&p.port, p.end_port) {
            (None, None) => PortSpec::All(protocol),
            (None, Some(end)) => {
                return Err(invalid("endPort", end.to_string(), "may not be specified when `port` is not specified"))
            }
            (Some(IntOrString::Int(n)), end) => {
                let first = number(*n, "port")?;
                let last = match end {
                    None => first,
                    Some(end) => {
                        let last = number(end, "endPort")?;
                        if last < first {
                            return Err(invalid("endPort", end.to_string(), "must be greater than or equal to `port`"));
                        }
                        last
                    }
                };
                PortSpec::Range { protocol, first, last }
            }
            (Some(IntOrString::String(name)), end) => {
                if let Some(end) = end {
                    return Err(invalid("endPort", end.to_string(), "may not be specified when `port` is non-numeric"));
                }
                if !is_valid_port_name(name) {
                    return Err(invalid(
                        "port",
                        format!("{name:?}"),
                        "must be a valid port name (IANA_SVC_NAME: at most 15 characters of a-z, 0-9 and '-', \
                         with at least one letter, no leading, trailing or double '-')",
                    ));
                }
                PortSpec::Named { protocol, name: name.clone() }
            }
        });
    }
    Ok(Some(out))
}

/// `IsValidPortName` of k8s.io/apimachinery (RFC 6335 service names).
fn is_valid_port_name(name: &str) -> bool {
    (1..=15).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name.bytes().any(|b| b.is_ascii_lowercase())
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(spec: serde_json::Value) -> Result<Policy, Error> {
        let np: NetworkPolicy = serde_json::from_value(serde_json::json!({
            "metadata": {"namespace": "ns", "name": "p"},
            "spec": spec,
        }))
        .expect("valid NetworkPolicy JSON");
        Policy::parse(&np)
    }

    #[test]
    fn policy_types_default_like_the_api_server() {
        let p = policy(serde_json::json!({"podSelector": {}})).unwrap();
        assert!(p.ingress.is_some_and(|r| r.is_empty()));
        assert!(p.egress.is_none());
        let p = policy(serde_json::json!({"podSelector": {}, "egress": [{}]})).unwrap();
        assert!(p.ingress.is_some());
        assert!(p.egress.is_some_and(|r| r.len() == 1));
        let p = policy(serde_json::json!({"policyTypes": [], "egress": []})).unwrap();
        assert!(p.ingress.is_some() && p.egress.is_none());
        let p = policy(serde_json::json!({"policyTypes": ["Egress"], "ingress": [{}]})).unwrap();
        assert!(p.ingress.is_none() && p.egress.is_some_and(|r| r.is_empty()));
        let err = policy(serde_json::json!({"policyTypes": ["Ingress", "ingress"]})).unwrap_err();
        assert!(matches!(&err, Error::InvalidPolicyType { field, .. } if field == "spec.policyTypes[1]"), "{err:?}");
    }

    #[test]
    fn ports_are_validated_and_defaulted() {
        let p = policy(serde_json::json!({"ingress": [{"ports": [
            {}, {"protocol": "UDP", "port": 53}, {"port": 8000, "endPort": 8080, "protocol": "SCTP"}, {"port": "http"}
        ]}]}))
        .unwrap();
        let ports = p.ingress.unwrap()[0].ports.clone().unwrap();
        assert_eq!(
            ports,
            [
                PortSpec::All(Protocol::Tcp),
                PortSpec::Range { protocol: Protocol::Udp, first: 53, last: 53 },
                PortSpec::Range { protocol: Protocol::Sctp, first: 8000, last: 8080 },
                PortSpec::Named { protocol: Protocol::Tcp, name: "http".into() },
            ]
        );
        for (port, field) in [
            (serde_json::json!({"port": 0}), "spec.ingress[0].ports[0].port"),
            (serde_json::json!({"port": 65536}), "spec.ingress[0].ports[0].port"),
            (serde_json::json!({"port": 80, "endPort": 79}), "spec.ingress[0].ports[0].endPort"),
            (serde_json::json!({"port": 80, "endPort": 65536}), "spec.ingress[0].ports[0].endPort"),
            (serde_json::json!({"endPort": 80}), "spec.ingress[0].ports[0].endPort"),
            (serde_json::json!({"port": "http", "endPort": 80}), "spec.ingress[0].ports[0].endPort"),
            (serde_json::json!({"port": "80"}), "spec.ingress[0].ports[0].port"),
            (serde_json::json!({"port": "Http"}), "spec.ingress[0].ports[0].port"),
            (serde_json::json!({"port": "a--b"}), "spec.ingress[0].ports[0].port"),
            (serde_json::json!({"port": "a-very-long-name"}), "spec.ingress[0].ports[0].port"),
        ] {
            let err = policy(serde_json::json!({"ingress": [{"ports": [port.clone()]}]})).unwrap_err();
            assert!(matches!(&err, Error::InvalidPort { field: f, .. } if f == field), "{port}: {err:?}");
        }
        let err = policy(serde_json::json!({"egress": [{"ports": [{"protocol": "ICMP"}]}]})).unwrap_err();
        assert!(matches!(&err, Error::InvalidProtocol { field, .. } if field == "spec.egress[0].ports[0].protocol"));
    }

    #[test]
    fn peers_and_ip_blocks_are_validated() {
        let err = policy(serde_json::json!({"ingress": [{"from": [{}]}]})).unwrap_err();
        assert!(matches!(&err, Error::InvalidPeer { field, .. } if field == "spec.ingress[0].from[0]"), "{err:?}");
        let err = policy(
            serde_json::json!({"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]}),
        )
        .unwrap_err();
        assert!(matches!(err, Error::InvalidPeer { .. }), "{err:?}");
        for (block, field) in [
            (serde_json::json!({"cidr": "10.0.0.0"}), "spec.egress[0].to[0].ipBlock.cidr"),
            (serde_json::json!({"cidr": "10.0.0.0/33"}), "spec.egress[0].to[0].ipBlock.cidr"),
            (
                serde_json::json!({"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}),
                "spec.egress[0].to[0].ipBlock.except[0]",
            ),
            (
                serde_json::json!({"cidr": "10.0.0.0/8", "except": ["10.0.0.0/8"]}),
                "spec.egress[0].to[0].ipBlock.except[0]",
            ),
            (
                serde_json::json!({"cidr": "10.0.0.0/8", "except": ["fd00::/64"]}),
                "spec.egress[0].to[0].ipBlock.except[0]",
            ),
        ] {
            let err = policy(serde_json::json!({"egress": [{"to": [{"ipBlock": block.clone()}]}]})).unwrap_err();
            assert!(matches!(&err, Error::InvalidCidr { field: f, .. } if f == field), "{block}: {err:?}");
        }
        let p = policy(
            serde_json::json!({"egress": [{"to": [{"ipBlock": {"cidr": "10.1.2.3/8", "except": ["10.1.0.0/16"]}}]}]}),
        )
        .unwrap();
        let rules = p.egress.unwrap();
        let Some([PeerSpec::Block(block)]) = rules[0].peers.as_deref() else { panic!("{rules:?}") };
        assert_eq!(block.cidr.to_string(), "10.0.0.0/8");
        assert!(block.contains(&"10.2.0.1".parse().unwrap()) && !block.contains(&"10.1.0.1".parse().unwrap()));
    }

    #[test]
    fn empty_lists_mean_everything() {
        let p = policy(serde_json::json!({"ingress": [{"from": [], "ports": []}]})).unwrap();
        let rule = &p.ingress.unwrap()[0];
        assert!(rule.peers.is_none() && rule.ports.is_none());
        assert!(rule.ports_match(1, Protocol::Sctp, None));
    }

    #[test]
    fn named_ports_match_the_destination_by_name_number_and_protocol() {
        let spec = PortSpec::Named { protocol: Protocol::Udp, name: "dns".into() };
        let ports = [NamedPort { name: "dns".into(), protocol: Protocol::Udp, port: 53 }];
        assert!(spec.matches(53, Protocol::Udp, Some(&ports)));
        assert!(!spec.matches(53, Protocol::Tcp, Some(&ports)));
        assert!(!spec.matches(54, Protocol::Udp, Some(&ports)));
        assert!(!spec.matches(53, Protocol::Udp, None));
        let tcp_named = [NamedPort { name: "dns".into(), protocol: Protocol::Tcp, port: 53 }];
        assert!(!spec.matches(53, Protocol::Udp, Some(&tcp_named)));
    }
}
