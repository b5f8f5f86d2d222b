//! Calico's policy model (`projectcalico.org/v3` NetworkPolicy, GlobalNetworkPolicy and Tier)
//! together with Kubernetes NetworkPolicies, evaluated as Calico's data plane does.
//!
//! ```
//! use ack_net_k8s::netpol::calico::{CalicoEngine, CalicoResource, Parsing, Traffic};
//! use ack_net_k8s::netpol::{Peer, PolicyEngine};
//! use k8s_openapi::api::core::v1::Pod;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pod = |name: &str, app: &str, ip: &str| -> serde_json::Result<Pod> {
//!     serde_json::from_value(serde_json::json!({
//!         "metadata": {"namespace": "shop", "name": name, "labels": {"app": app}},
//!         "status": {"podIPs": [{"ip": ip}]}
//!     }))
//! };
//! let pods = [pod("web", "web", "10.0.0.1")?, pod("db", "db", "10.0.0.2")?, pod("batch", "batch", "10.0.0.3")?];
//! let cluster = PolicyEngine::new([], &pods, [])?;
//! let calico = CalicoResource::from_yaml(r#"
//! apiVersion: projectcalico.org/v3
//! kind: NetworkPolicy
//! metadata: {name: db, namespace: shop}
//! spec:
//!   order: 10
//!   selector: app == 'db'
//!   ingress:
//!   - {action: Deny, source: {selector: app == 'batch'}}
//!   - {action: Allow, protocol: TCP, destination: {ports: [5432]}}
//! "#, Parsing::Strict)?;
//! let engine = CalicoEngine::new(cluster, [], &calico)?;
//! let (web, db, batch) = (Peer::pod("shop", "web"), Peer::pod("shop", "db"), Peer::pod("shop", "batch"));
//! assert!(engine.allowed(web, db, Traffic::tcp(5432))?);
//! assert!(!engine.allowed(batch, db, Traffic::tcp(5432))?); // the Deny rule comes first
//! assert!(!engine.allowed(web, db, Traffic::icmp(8, 0))?);  // end of tier: denied
//! # Ok(()) }
//! ```
//!
//! # Semantics
//!
//! - **Tiers and order.** Policies belong to a tier (`spec.tier`, default `default`); tiers are
//!   evaluated by their `order` (lower first, unset last, then by name), policies inside a tier
//!   by `order` then name, rules in their written order. Kubernetes NetworkPolicies are policies
//!   of the `default` tier with order 1000 whose rules all Allow, as Calico converts them.
//! - **Actions.** The first rule that matches decides: `Allow` and `Deny` end the evaluation,
//!   `Pass` skips to the next tier, `Log` records the match (see [`Verdict::logged`]) and goes
//!   on. Traffic that reaches the end of a tier in which some policy applied to the endpoint is
//!   denied (or passed on, for a Tier whose `defaultAction` is `Pass`); a tier in which no
//!   policy applies is skipped. Past the last tier the endpoint's profile applies, which for
//!   Kubernetes pods allows everything.
//! - **Which endpoints a policy applies to**: a NetworkPolicy to the pods of its namespace
//!   matching `selector` (and `serviceAccountSelector`); a GlobalNetworkPolicy to pods of every
//!   namespace matching `selector`, whose namespace matches `namespaceSelector`. The direction
//!   must be in `types` (default: `Ingress` unless the policy has only egress rules; `Egress`
//!   when it has egress rules).
//! - **Rules** match on `protocol`/`notProtocol`, `icmp`/`notICMP`, `ipVersion`, and on
//!   `source` and `destination`: `nets`/`notNets` (any of the endpoint's addresses),
//!   `selector`, `notSelector`, `namespaceSelector`, `serviceAccounts` and `ports`/`notPorts`
//!   (numbers, `first:last` ranges, and names resolved against that side's pod). In a
//!   namespaced policy a rule side that sets any selector only matches pods of the policy's
//!   namespace unless it sets `namespaceSelector`; a GlobalNetworkPolicy's selectors match pods
//!   of every namespace. Selectors only ever match pods: an address outside the cluster
//!   matches only `nets`, `notNets` and `notSelector`.
//! - **Labels.** Selectors see a pod's labels plus Calico's own:
//!   `projectcalico.org/namespace`, `projectcalico.org/orchestrator: k8s`,
//!   `projectcalico.org/serviceaccount`; `namespaceSelector`s see the namespace's labels plus
//!   `projectcalico.org/name`; service-account selectors see the ServiceAccount's labels.
//! - The Kubernetes exceptions stay: a pod always reaches itself, and traffic between a pod and
//!   its own node is allowed.
//!
//! # Refused rather than approximated
//!
//! Fields whose effect this engine cannot reproduce exactly are errors
//! ([`Error::UnsupportedCalico`](super::Error::UnsupportedCalico)), never ignored, so that no
//! policy is enforced more permissively than written: `services` match criteria, `http`
//! matches, and host-endpoint options (`doNotTrack`, `preDNAT`, `applyOnForward`). Calico
//! NetworkSets and host endpoints are not modelled: selectors match pods only.

mod compile;
mod eval;
mod nft;
mod resource;
mod selector;

pub use compile::{CalicoPodRules, CalicoRuleSet, CompiledEnd, CompiledRule, CompiledTier, PortEntry};
pub use eval::{CalicoEngine, Decision, RuleRef, Traffic, Verdict};
pub use nft::{LogTarget, NftTable, Statement};
pub use resource::{
    Action, CalicoPolicy, CalicoResource, CalicoTier, Parsing, API_VERSION, DEFAULT_TIER, DEFAULT_TIER_ORDER,
    KUBERNETES_POLICY_ORDER,
};
pub use selector::{CalicoSelector, SelectorSyntaxError};
