//! Kubernetes Services of `type: LoadBalancer` on Alibaba Cloud SLB (CLB).
//!
//! - [`annotations`]: the `service.beta.kubernetes.io/alibaba-cloud-loadbalancer-*`
//!   annotations ACK users already write, parsed strictly (an invalid value is an [`Error`]
//!   naming the annotation and the value).
//! - [`backends`]: the backends of each Service port in Cluster, Local or ENI mode, from
//!   Nodes and EndpointSlices, with terminating endpoints drained at weight 0
//!   ([`service_backends`]).
//! - [`service_spec`] / [`translate`]: a Service, its Nodes and EndpointSlices as an
//!   [`ack_net_slb::binding::LoadBalancerSpec`]: the owner (cluster id and
//!   `namespace/name`), the load balancer (created with the annotated attributes, or reused),
//!   one listener per port with its health check and settings, and the port's backends.
//! - [`gate`]: pod readiness gates for ENI-mode Services, so that a rolling update waits
//!   until the load balancer serves each new pod ([`readiness_gate`]).
//! - [`ServiceReconciler`]: the controller: finalizer, plan and apply through
//!   [`ack_net_slb::binding::ServiceBinding`], `status.loadBalancer.ingress`, Events, retries
//!   with backoff, and the watches of EndpointSlices and Nodes (see
//!   [`ServiceReconciler::run`]).
//!
//! Everything but the reconciler is a pure function of the Kubernetes objects (plus, for ENI
//! backends, a map from pod address to ENI that [`resolve_enis`] fills): a controller of your
//! own can call [`translate`] and hand the spec to a `ServiceBinding`.
//!
//! # Testing without a cluster
//!
//! The reconciler takes any `kube::Client`, so tests build one over a mocked transport
//! (`kube::Client::new(tower_test::mock::pair().0, "default")`) that answers and records the
//! requests; this crate's own tests do so with a small fake API server that also serves
//! lists and watches (`tests/service_common`), with ack-net-mock as the cloud.

pub mod annotations;
pub mod backends;
mod error;
pub mod gate;
mod reconciler;
mod spec;

pub use crate::Backoff;
pub use ack_net_slb::binding::ccm_load_balancer_name;
pub use backends::{
    eni_addresses, instance_id_from_provider_id, is_ready, lookup_enis, port_endpoints, resolve_enis, service_backends,
    slices_of, BackendMode, BackendNote, EligibleNode, EndpointState, EniLookup, EniMap, NodeFilter, NodeSelection,
    PortBackends, PortEndpoint, ServiceBackends, SkipReason, SkippedNode, CCM_EXCLUDE_LABELS, CONTROL_PLANE_LABELS,
    EXCLUDE_LABEL, EXCLUDE_LABEL_DEPRECATED, SERVICE_NAME_LABEL, TO_BE_DELETED_TAINT,
};
pub use error::{BoxError, Error};
pub use gate::{gated_pods, gated_services, readiness_gate, GatedPod, READINESS_GATE_PREFIX};
pub use reconciler::{ServiceReconciler, CONTROLLER_NAME, FINALIZER};
pub(crate) use spec::{attributes, CREATE_ONLY};
pub use spec::{service_spec, translate, ServiceConfig, ServiceLoadBalancer};
