//! What an ingress binding reads before it plans: the load balancer's HTTP and HTTPS
//! listeners on its ports, their rules, its groups (with the backends of its own), its
//! certificates and the HTTPS listener's domain extensions.

use std::collections::BTreeMap;

use futures_util::TryStreamExt;

use super::error::IngressError;
use super::spec::IngressSpec;
use crate::{Backend, DomainExtension, Listener, ListenerProtocol, Rule, ServerCertificate, SlbClient, VServerGroupId};

/// A VServer group of the load balancer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedIngressGroup {
    /// The group.
    pub id: VServerGroupId,
    /// Its name.
    pub name: String,
    /// Its backends (read only for the binding's own groups).
    pub backends: Vec<Backend>,
}

/// What was observed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedIngress {
    /// The listeners on the spec's HTTP and HTTPS ports, by port.
    pub listeners: BTreeMap<u16, Listener>,
    /// The rules of the HTTP and HTTPS listeners among them, by port.
    pub rules: BTreeMap<u16, Vec<Rule>>,
    /// The load balancer's groups.
    pub groups: Vec<ObservedIngressGroup>,
    /// The region's server certificates that the binding owns.
    pub certificates: Vec<ServerCertificate>,
    /// The domain extensions of the HTTPS listener.
    pub extensions: Vec<DomainExtension>,
    /// How many reads it took.
    pub reads: u64,
}

/// Reads what [`plan`](super::plan) needs: `3 + listeners + own groups` calls, plus one for
/// the domain extensions when the HTTPS listener exists.
pub async fn observe(client: &SlbClient, spec: &IngressSpec) -> Result<ObservedIngress, IngressError> {
    let lb = &spec.load_balancer_id;
    let owner = &spec.owner;
    let mut o = ObservedIngress::default();
    let listeners: Vec<Listener> =
        client.listeners().describe().load_balancer_id(lb).into_stream().try_collect().await?;
    o.reads += 1;
    for l in listeners {
        if l.spec.port == spec.http_port || l.spec.port == spec.https_port {
            o.listeners.insert(l.spec.port, l);
        }
    }
    for (port, l) in &o.listeners {
        let protocol = l.spec.listener_protocol();
        if matches!(protocol, ListenerProtocol::Http | ListenerProtocol::Https) {
            let rules = client.rules().describe(lb, *port, protocol.clone()).send().await?;
            o.reads += 1;
            o.rules.insert(*port, rules);
            if protocol == ListenerProtocol::Https {
                o.extensions = client.domain_extensions().describe(lb, *port).send().await?;
                o.reads += 1;
            }
        }
    }
    let summaries = client.vserver_groups().describe(lb).send().await?;
    o.reads += 1;
    for g in summaries {
        let backends = if owner.owned_group_key(&g.name).is_some() {
            o.reads += 1;
            client.vserver_groups().get(&g.vserver_group_id).await?.backends
        } else {
            Vec::new()
        };
        o.groups.push(ObservedIngressGroup { id: g.vserver_group_id, name: g.name, backends });
    }
    let certificates = client.certificates().describe().send().await?;
    o.reads += 1;
    o.certificates = certificates.into_iter().filter(|c| owner.owned_certificate_hash(&c.name).is_some()).collect();
    Ok(o)
}
