//! Kubernetes Services of `type: LoadBalancer` on Alibaba Cloud SLB (CLB).
//!
//! - [`annotations`]: the `service.beta.kubernetes.io/alibaba-cloud-loadbalancer-*`
//!   annotations ACK users already write, parsed strictly (an invalid value is an [`Error`]
//!   naming the annotation and the value).

pub mod annotations;
mod error;

pub use error::{BoxError, Error};
