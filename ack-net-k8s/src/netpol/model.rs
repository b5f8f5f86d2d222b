//! Pods and namespaces as the policy semantics see them, and how a [`Peer`] resolves to one.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{Container, Namespace, Pod};

use super::selector::Labels;
use super::{Error, Peer, Protocol};

/// The label the API server puts on every namespace, with the namespace's name as value.
pub(crate) const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The index of a pod in a [`PolicyEngine`](super::PolicyEngine) and in the
/// [`RuleSet`](super::RuleSet) compiled from it (pods keep the order they were given in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PodId(pub(crate) u32);

impl PodId {
    /// The position of the pod in [`RuleSet::pods`](super::RuleSet::pods).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What both the interpreter and the compiled rule set know about a pod: its identity and
/// addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PodAddrs {
    pub namespace: String,
    pub name: String,
    /// `status.podIPs` (or `status.podIP`), deduplicated; empty when the pod has none yet or is
    /// in a terminal phase.
    pub ips: Vec<IpAddr>,
    /// `status.hostIPs` (or `status.hostIP`): the node's addresses.
    pub host_ips: Vec<IpAddr>,
    pub host_network: bool,
}

/// A container port that has a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamedPort {
    pub name: String,
    pub protocol: Protocol,
    pub port: u16,
}

/// What only the policy semantics need about a pod: labels and named ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PodMeta {
    pub labels: Labels,
    pub named_ports: Vec<NamedPort>,
    /// `spec.serviceAccountName` (`default` when unset, as the API server defaults it).
    pub service_account: String,
}

/// Pods by id, name and address.
#[derive(Debug, Clone, Default)]
pub(crate) struct PodTable {
    pub pods: Vec<PodAddrs>,
    by_name: HashMap<String, HashMap<String, PodId>>,
    /// Addresses of pod-network pods only: `hostNetwork` pods share their node's addresses.
    by_ip: HashMap<IpAddr, PodId>,
}

/// A [`Peer`] resolved against a [`PodTable`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoint<'a> {
    /// The pod-network pod this peer is, if any (`hostNetwork` pods and outside addresses: none).
    pub pod: Option<PodId>,
    /// The addresses `ipBlock`s are matched against.
    pub ips: &'a [IpAddr],
}

impl PodTable {
    /// Indexes pods; fails on duplicate names or addresses claimed twice.
    pub(crate) fn new(pods: Vec<PodAddrs>) -> Result<Self, Error> {
        let mut by_name: HashMap<String, HashMap<String, PodId>> = HashMap::new();
        let mut by_ip: HashMap<IpAddr, PodId> = HashMap::new();
        let mut host_network_ips: HashMap<IpAddr, PodId> = HashMap::new();
        for (i, pod) in pods.iter().enumerate() {
            // Cannot truncate: 2^32 pods would not fit in memory.
            let id = PodId(i as u32);
            match by_name.entry(pod.namespace.clone()).or_default().entry(pod.name.clone()) {
                Entry::Occupied(_) => return Err(Error::Duplicate { object: pod_object(pod) }),
                Entry::Vacant(v) => {
                    v.insert(id);
                }
            }
            for &ip in &pod.ips {
                let (own, other) =
                    if pod.host_network { (&mut host_network_ips, &by_ip) } else { (&mut by_ip, &host_network_ips) };
                if let Some(&prev) = other.get(&ip) {
                    return Err(Error::DuplicateIp {
                        ip,
                        first: pod_object(&pods[prev.index()]),
                        second: pod_object(pod),
                    });
                }
                match own.entry(ip) {
                    Entry::Occupied(prev) if !pod.host_network => {
                        return Err(Error::DuplicateIp {
                            ip,
                            first: pod_object(&pods[prev.get().index()]),
                            second: pod_object(pod),
                        })
                    }
                    Entry::Occupied(_) => {}
                    Entry::Vacant(v) => {
                        v.insert(id);
                    }
                }
            }
        }
        Ok(PodTable { pods, by_name, by_ip })
    }

    pub(crate) fn get(&self, id: PodId) -> &PodAddrs {
        &self.pods[id.index()]
    }

    pub(crate) fn id(&self, namespace: &str, name: &str) -> Option<PodId> {
        self.by_name.get(namespace)?.get(name).copied()
    }

    pub(crate) fn by_ip(&self, ip: &IpAddr) -> Option<PodId> {
        self.by_ip.get(ip).copied()
    }

    /// Resolves a peer: a pod by name (a `hostNetwork` pod becomes its addresses), an address to
    /// the pod-network pod that owns it, if any.
    pub(crate) fn resolve<'a>(&'a self, peer: &'a Peer<'_>) -> Result<Endpoint<'a>, Error> {
        match peer {
            Peer::Pod { namespace, name } => {
                let id = self.id(namespace, name).ok_or_else(|| Error::UnknownPod {
                    namespace: (*namespace).to_owned(),
                    name: (*name).to_owned(),
                })?;
                let pod = self.get(id);
                Ok(Endpoint { pod: (!pod.host_network).then_some(id), ips: &pod.ips })
            }
            Peer::Ip(ip) => Ok(Endpoint { pod: self.by_ip(ip), ips: std::slice::from_ref(ip) }),
        }
    }
}

/// `Pod ns/name`, for error messages.
fn pod_object(pod: &PodAddrs) -> String {
    format!("Pod {}/{}", pod.namespace, pod.name)
}

/// Reads the name and labels of a namespace, adding `kubernetes.io/metadata.name`.
pub(crate) fn namespace_labels(ns: &Namespace) -> Result<(String, Labels), Error> {
    let name = ns
        .metadata
        .name
        .clone()
        .ok_or_else(|| Error::MissingField { object: "Namespace <unnamed>".into(), field: "metadata.name" })?;
    let mut labels = ns.metadata.labels.clone().unwrap_or_default();
    labels.insert(NAMESPACE_NAME_LABEL.to_owned(), name.clone());
    Ok((name, labels))
}

/// Reads what the semantics need from a pod, validating addresses and container ports.
pub(crate) fn parse_pod(pod: &Pod) -> Result<(PodAddrs, PodMeta), Error> {
    let meta = &pod.metadata;
    let name = meta
        .name
        .clone()
        .ok_or_else(|| Error::MissingField { object: "Pod <unnamed>".into(), field: "metadata.name" })?;
    let namespace = meta
        .namespace
        .clone()
        .ok_or_else(|| Error::MissingField { object: format!("Pod {name}"), field: "metadata.namespace" })?;
    let object = format!("Pod {namespace}/{name}");
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let host_network = spec.and_then(|s| s.host_network).unwrap_or(false);

    let parse_ips = |list: Option<Vec<&String>>, single: Option<&String>, list_field: &str, single_field: &str| {
        let (values, field): (Vec<&String>, &str) = match list {
            Some(l) if !l.is_empty() => (l, list_field),
            _ => (single.into_iter().collect(), single_field),
        };
        let mut ips: Vec<IpAddr> = Vec::with_capacity(values.len());
        for (i, v) in values.into_iter().enumerate() {
            let ip: IpAddr = v.parse().map_err(|_| Error::InvalidIp {
                object: object.clone(),
                field: if field == list_field { format!("{field}[{i}].ip") } else { field.to_owned() },
                value: v.clone(),
            })?;
            if !ips.contains(&ip) {
                ips.push(ip);
            }
        }
        Ok::<_, Error>(ips)
    };
    let mut ips = parse_ips(
        status.and_then(|s| s.pod_ips.as_ref()).map(|l| l.iter().map(|p| &p.ip).collect()),
        status.and_then(|s| s.pod_ip.as_ref()),
        "status.podIPs",
        "status.podIP",
    )?;
    let host_ips = parse_ips(
        status.and_then(|s| s.host_ips.as_ref()).map(|l| l.iter().map(|p| &p.ip).collect()),
        status.and_then(|s| s.host_ip.as_ref()),
        "status.hostIPs",
        "status.hostIP",
    )?;
    if host_network && ips.is_empty() {
        // A hostNetwork pod's addresses are its node's.
        ips = host_ips.clone();
    }
    // A pod that has finished no longer has a network; its addresses may belong to a new pod.
    if matches!(status.and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed")) {
        ips.clear();
    }

    let mut named_ports = Vec::new();
    if let Some(spec) = spec {
        let containers = spec.containers.iter().map(|c| ("spec.containers", c));
        let init = spec.init_containers.iter().flatten().map(|c| ("spec.initContainers", c));
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (list, container) in containers.chain(init) {
            let i = index.entry(list).or_default();
            parse_container_ports(container, &object, &format!("{list}[{i}].ports"), &mut named_ports)?;
            *i += 1;
        }
    }

    Ok((
        PodAddrs { namespace, name, ips, host_ips, host_network },
        PodMeta {
            labels: meta.labels.clone().unwrap_or_default(),
            named_ports,
            service_account: spec
                .and_then(|s| s.service_account_name.clone())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "default".to_owned()),
        },
    ))
}

fn parse_container_ports(c: &Container, object: &str, field: &str, out: &mut Vec<NamedPort>) -> Result<(), Error> {
    for (j, p) in c.ports.iter().flatten().enumerate() {
        let port = u16::try_from(p.container_port).ok().filter(|&n| n != 0).ok_or_else(|| Error::InvalidPort {
            object: object.to_owned(),
            field: format!("{field}[{j}].containerPort"),
            value: p.container_port.to_string(),
            reason: "must be between 1 and 65535, inclusive",
        })?;
        let protocol = match p.protocol.as_deref() {
            None => Protocol::Tcp,
            Some(s) => Protocol::from_api(s).ok_or_else(|| Error::InvalidProtocol {
                object: object.to_owned(),
                field: format!("{field}[{j}].protocol"),
                value: s.to_owned(),
            })?,
        };
        if let Some(name) = &p.name {
            out.push(NamedPort { name: name.clone(), protocol, port });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: serde_json::Value) -> Result<(PodAddrs, PodMeta), Error> {
        parse_pod(&serde_json::from_value(json).expect("valid Pod JSON"))
    }

    #[test]
    fn reads_ips_ports_and_labels() {
        let (addrs, meta) = pod(serde_json::json!({
            "metadata": {"namespace": "a", "name": "p", "labels": {"app": "x"}},
            "spec": {
                "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 80}, {"containerPort": 81}]}],
                "initContainers": [{"name": "s", "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"}]}]
            },
            "status": {"podIP": "10.0.0.1", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}], "hostIP": "192.168.0.1"}
        }))
        .unwrap();
        assert_eq!(addrs.ips, ["10.0.0.1".parse::<IpAddr>().unwrap(), "fd00::1".parse().unwrap()]);
        assert_eq!(addrs.host_ips, ["192.168.0.1".parse::<IpAddr>().unwrap()]);
        assert!(!addrs.host_network);
        assert_eq!(meta.labels.get("app").map(String::as_str), Some("x"));
        assert_eq!(
            meta.named_ports,
            [
                NamedPort { name: "http".into(), protocol: Protocol::Tcp, port: 80 },
                NamedPort { name: "dns".into(), protocol: Protocol::Udp, port: 53 }
            ]
        );
    }

    #[test]
    fn terminal_pods_lose_their_ips_and_host_network_pods_use_the_node_ips() {
        let (addrs, _) = pod(serde_json::json!({
            "metadata": {"namespace": "a", "name": "p"},
            "status": {"phase": "Succeeded", "podIPs": [{"ip": "10.0.0.1"}]}
        }))
        .unwrap();
        assert!(addrs.ips.is_empty());
        let (addrs, _) = pod(serde_json::json!({
            "metadata": {"namespace": "a", "name": "p"},
            "spec": {"hostNetwork": true, "containers": []},
            "status": {"hostIPs": [{"ip": "192.168.0.1"}]}
        }))
        .unwrap();
        assert!(addrs.host_network);
        assert_eq!(addrs.ips, addrs.host_ips);
    }

    #[test]
    fn bad_pods_are_typed_errors() {
        let err = pod(serde_json::json!({"metadata": {"name": "p"}})).unwrap_err();
        assert!(matches!(err, Error::MissingField { field: "metadata.namespace", .. }), "{err:?}");
        let err = pod(serde_json::json!({"metadata": {"namespace": "a", "name": "p"}, "status": {"podIPs": [{"ip": "10.0.0.300"}]}}))
            .unwrap_err();
        assert!(matches!(&err, Error::InvalidIp { field, .. } if field == "status.podIPs[0].ip"), "{err:?}");
        let err = pod(serde_json::json!({
            "metadata": {"namespace": "a", "name": "p"},
            "spec": {"containers": [{"name": "c"}, {"name": "d", "ports": [{"containerPort": 70000}]}]}
        }))
        .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidPort { field, .. } if field == "spec.containers[1].ports[0].containerPort"),
            "{err:?}"
        );
        let err = pod(serde_json::json!({
            "metadata": {"namespace": "a", "name": "p"},
            "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 7, "protocol": "tcp"}]}]}
        }))
        .unwrap_err();
        assert!(matches!(err, Error::InvalidProtocol { .. }), "{err:?}");
    }

    fn addrs(ns: &str, name: &str, ips: &[&str], host_network: bool) -> PodAddrs {
        PodAddrs {
            namespace: ns.into(),
            name: name.into(),
            ips: ips.iter().map(|s| s.parse().unwrap()).collect(),
            host_ips: vec![],
            host_network,
        }
    }

    #[test]
    fn table_rejects_duplicates_and_resolves_peers() {
        let err = PodTable::new(vec![addrs("a", "p", &[], false), addrs("a", "p", &[], false)]).unwrap_err();
        assert_eq!(err, Error::Duplicate { object: "Pod a/p".into() });
        let err = PodTable::new(vec![addrs("a", "p", &["10.0.0.1"], false), addrs("b", "q", &["10.0.0.1"], false)])
            .unwrap_err();
        assert!(matches!(err, Error::DuplicateIp { .. }), "{err:?}");
        let err = PodTable::new(vec![addrs("a", "h", &["10.0.0.1"], true), addrs("b", "q", &["10.0.0.1"], false)])
            .unwrap_err();
        assert!(matches!(err, Error::DuplicateIp { .. }), "{err:?}");

        // hostNetwork pods on one node share its address.
        let table = PodTable::new(vec![
            addrs("a", "p", &["10.0.0.1"], false),
            addrs("k", "h1", &["192.168.0.1"], true),
            addrs("k", "h2", &["192.168.0.1"], true),
        ])
        .unwrap();
        let peer = Peer::ip([10, 0, 0, 1]);
        assert_eq!(table.resolve(&peer).unwrap().pod, Some(PodId(0)));
        let peer = Peer::pod("k", "h2");
        let ep = table.resolve(&peer).unwrap();
        assert_eq!((ep.pod, ep.ips), (None, &["192.168.0.1".parse::<IpAddr>().unwrap()][..]));
        let peer = Peer::ip([192, 168, 0, 1]);
        assert_eq!(table.resolve(&peer).unwrap().pod, None);
        let peer = Peer::pod("a", "nope");
        assert!(matches!(table.resolve(&peer), Err(Error::UnknownPod { .. })));
    }
}
