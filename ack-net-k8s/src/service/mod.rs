//! Kubernetes Services of `type: LoadBalancer` on Alibaba Cloud SLB (CLB).
//!
//! - [`annotations`]: the `service.beta.kubernetes.io/alibaba-cloud-loadbalancer-*`
//!   annotations ACK users already write, parsed strictly (an invalid value is an [`Error`]
//!   naming the annotation and the value).
//! - [`service_backends`]: the backends of each Service port in Cluster, Local or ENI mode,
//!   from Nodes and EndpointSlices, with terminating endpoints drained at weight 0.

pub mod annotations;
mod backends;
mod error;

pub use backends::{
    eni_addresses, instance_id_from_provider_id, is_ready, lookup_enis, port_endpoints, resolve_enis,
    service_backends, slices_of, BackendMode, BackendNote, EligibleNode, EndpointState, EniLookup, EniMap,
    NodeFilter, NodeSelection, PortBackends, PortEndpoint, ServiceBackends, SkipReason, SkippedNode,
    CONTROL_PLANE_LABELS, EXCLUDE_LABEL, EXCLUDE_LABEL_DEPRECATED, SERVICE_NAME_LABEL,
};
pub use error::{BoxError, Error};
