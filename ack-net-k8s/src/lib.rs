//! Kubernetes glue for ack-net: turn Kubernetes objects (the `k8s-openapi` types that kube-rs
//! uses) into ack-net specs and decisions.
//!
//! - [`netpol`]: the NetworkPolicy semantics as a library. Given Namespaces, Pods and
//!   NetworkPolicies, answer whether a connection is allowed exactly as the Kubernetes API
//!   defines it, and compile the policies into a flat, indexed rule set for a data plane.
//! - [`service`]: Services of `type: LoadBalancer` on SLB: annotations, backends (Cluster,
//!   Local, ENI), the translation into a `ServiceBinding` spec, and the
//!   [`ServiceReconciler`](service::ServiceReconciler) for kube-runtime.
//! - [`pod`]: pods to pod networking for a node agent: the
//!   [`PodNetworkReconciler`](pod::PodNetworkReconciler) gives each pod on the node an
//!   address from an `IpPool`, releases it when the pod goes, and feeds the pool's GC.
//! - [`leader`]: leader election through a `Lease`, so that several replicas of a
//!   controller can run.
//! - `testenv` (feature `testenv`): a real etcd and kube-apiserver for the tests of
//!   controllers built on this crate, like controller-runtime's envtest.
//!
//! # Kubernetes version
//!
//! Like every library built on `k8s-openapi`, this crate enables no Kubernetes version feature
//! itself: the final binary chooses one by depending on `k8s-openapi` with a feature such as
//! `latest` or `v1_33`. (To build only this crate, without dev-dependencies, set
//! `K8S_OPENAPI_ENABLED_VERSION`, e.g. `K8S_OPENAPI_ENABLED_VERSION=1.37 cargo build -p ack-net-k8s`.)
//!
//! # Example
//!
//! ```
//! use ack_net_k8s::netpol::{Peer, PolicyEngine, Protocol};
//! use k8s_openapi::api::core::v1::Pod;
//! use k8s_openapi::api::networking::v1::NetworkPolicy;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pod: Pod = serde_json::from_value(serde_json::json!({
//!     "metadata": {"namespace": "default", "name": "db", "labels": {"app": "db"}},
//!     "status": {"podIPs": [{"ip": "10.0.0.2"}]}
//! }))?;
//! let deny_all: NetworkPolicy = serde_json::from_value(serde_json::json!({
//!     "metadata": {"namespace": "default", "name": "default-deny-ingress"},
//!     "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}
//! }))?;
//! let engine = PolicyEngine::new([], [&pod], [&deny_all])?;
//! let from_outside = Peer::ip([192, 0, 2, 1]);
//! assert!(!engine.allowed(from_outside, Peer::pod("default", "db"), 5432, Protocol::Tcp)?);
//! assert!(engine.allowed(Peer::pod("default", "db"), from_outside, 443, Protocol::Tcp)?);
//! # Ok(()) }
//! ```

mod backoff;
mod events;
pub mod ingress;
pub mod leader;
pub mod netpol;
pub mod pod;
pub mod service;
#[cfg(feature = "testenv")]
pub mod testenv;

pub use backoff::Backoff;

/// The README's examples, compiled as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
