//! # ack-net-slb
//!
//! The Alibaba Cloud SLB (Classic Load Balancer, API version 2014-05-15, the product
//! [`SLB`]) on top of [`ack_net_core`], in two layers: the typed API, everything a Kubernetes
//! Service, an Ingress or an operator tool calls, and the engines built on it, which make a
//! load balancer equal to a desired state: [`binding::ServiceBinding`] (a Service's
//! listeners and backends) and [`binding::ingress::IngressBinding`] (an Ingress's layer 7).
//!
//! The typed API:
//!
//! - [`SlbClient`] with [`load_balancers`](SlbClient::load_balancers),
//!   [`listeners`](SlbClient::listeners), [`vserver_groups`](SlbClient::vserver_groups),
//!   [`master_slave_groups`](SlbClient::master_slave_groups), [`rules`](SlbClient::rules),
//!   [`tags`](SlbClient::tags), [`health`](SlbClient::health) and
//!   [`certificates`](SlbClient::certificates): request builders that check their input before
//!   any call, typed answers, list calls as `Stream`s over all pages, waiters;
//! - [`ListenerSpec`]: one type for a listener of any protocol, sent by `create` and `set` and
//!   read back by `get` and the listing, so that a wanted listener and the cloud's compare
//!   with `==`;
//! - [`Backend`] and [`encode_backend_servers`]: the `BackendServers` JSON made in one tested
//!   place; backend lists longer than the client's batch size (20 by default) are split into
//!   several calls.
//!
//! Against the embedded mock cloud of `ack-net-mock` (`RpcClient::from_env()` reaches Alibaba
//! Cloud instead):
//!
//! ```
//! use ack_net_slb::{
//!     AddressType, Backend, ListenerBackend, ListenerProtocol, ListenerSpec, InstanceSpec, SlbClient, WaitPolicy,
//! };
//!
//! # type BoxError = Box<dyn std::error::Error>;
//! # /// A VPC, a VSwitch and the instances `ids` in them.
//! # async fn nodes(mock: &ack_net_mock::MockCloud, slb: &SlbClient, ids: &[&str]) -> Result<(), BoxError> {
//! #     let vpcs = ack_net_vpc::VpcClient::new(slb.rpc().clone());
//! #     let wait = WaitPolicy::default();
//! #     let vpc = vpcs.vpcs().create().cidr_block("192.168.0.0/16").send_and_wait(&wait).await?;
//! #     let vsw = vpcs.vswitches().create(&vpc.vpc_id, &"cn-hangzhou-h".parse()?, "192.168.0.0/24").send_and_wait(&wait).await?;
//! #     for id in ids {
//! #         mock.create_instance(ack_net_mock::InstanceSeed {
//! #             region_id: "cn-hangzhou".into(),
//! #             zone_id: "cn-hangzhou-h".into(),
//! #             instance_type: "ecs.g7.large".into(),
//! #             vswitch_id: vsw.vswitch_id.to_string(),
//! #             security_group_ids: Vec::new(),
//! #             instance_id: Some((*id).into()),
//! #         })?;
//! #     }
//! #     Ok(())
//! # }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! let mock = ack_net_mock::MockCloud::start().await?;
//! let rpc = mock.client_builder().build()?; // or RpcClient::from_env()?
//! let slb = SlbClient::new(rpc);
//! let wait = WaitPolicy::default();
//!
//! // A load balancer, ready to use.
//! let lb = slb.load_balancers().create().address_type(AddressType::Internet).spec(InstanceSpec::S1Small).send().await?;
//! slb.load_balancers().wait_until_active(&lb.load_balancer_id, &wait).await?;
//!
//! // Two nodes as backends, on their node port (`Backend::eni` makes a pod's address one).
//! # nodes(&mock, &slb, &["i-bp1web1", "i-bp1web2"]).await?;
//! let nodes = vec![Backend::ecs(&"i-bp1web1".parse().unwrap(), 30080), Backend::ecs(&"i-bp1web2".parse().unwrap(), 30080)];
//! let group = slb.vserver_groups().create(&lb.load_balancer_id, "web").backends(nodes).send().await?;
//!
//! // A TCP listener on port 80, started.
//! let wanted = ListenerSpec::tcp(80, ListenerBackend::VServerGroup(group.vserver_group_id));
//! slb.listeners().create(&lb.load_balancer_id, wanted.clone()).send().await?;
//! slb.listeners().start(&lb.load_balancer_id, 80, ListenerProtocol::Tcp).send().await?;
//! let running = slb.listeners().wait_until_running(&lb.load_balancer_id, 80, ListenerProtocol::Tcp, &wait).await?;
//! assert_eq!(running.spec, wanted.normalized());
//! # Ok(()) }
//! ```

mod backend;
pub mod binding;
mod certificate;
mod client;
mod common;
mod domain_extension;
mod error;
mod health;
mod ids;
mod listener;
mod load_balancer;
mod master_slave;
mod rule;
mod tags;
mod types;
mod vserver_group;
mod wait;

/// The SLB (CLB) API (`2014-05-15`). The regions of [`SLB_CENTRAL_REGIONS`] are served by
/// the central `slb.aliyuncs.com`, the others by `slb.<region>.aliyuncs.com`.
///
/// ```
/// use ack_net_core::{Network, RegionId};
/// use ack_net_slb::SLB;
/// let region = |r| RegionId::new(r).unwrap();
/// assert_eq!(SLB.host(&region("cn-hangzhou"), Network::Public), "slb.aliyuncs.com");
/// assert_eq!(SLB.host(&region("eu-central-1"), Network::Public), "slb.eu-central-1.aliyuncs.com");
/// assert_eq!(SLB.host(&region("cn-shanghai"), Network::Vpc), "slb-vpc.cn-shanghai.aliyuncs.com");
/// assert_eq!(SLB.version(), "2014-05-15");
/// ```
pub const SLB: ack_net_core::Product =
    ack_net_core::Product::new("slb", "2014-05-15").with_central_host("slb.aliyuncs.com", SLB_CENTRAL_REGIONS);

/// The SLB regions served by the central `slb.aliyuncs.com` endpoint rather than a regional one.
pub const SLB_CENTRAL_REGIONS: &[&str] = &[
    "cn-qingdao",
    "cn-beijing",
    "cn-hangzhou",
    "cn-shanghai",
    "cn-shenzhen",
    "cn-hongkong",
    "ap-southeast-1",
    "us-west-1",
    "us-east-1",
    "cn-shanghai-finance-1",
    "cn-shenzhen-finance-1",
    "cn-north-2-gov-1",
    "cn-hangzhou-finance",
    "cn-beijing-finance-1",
];

pub use ack_net_core::{EniId, ErrorInfo, InstanceId, RegionId, Removed, ZoneId};
pub use ack_net_vpc::{Tag, VSwitchId, VpcId, WaitPolicy, WaitTimeout};
pub use backend::{
    decode_backend_servers, encode_backend_servers, encode_master_slave_backend_servers, Backend, BackendKey,
    MasterSlaveBackend, ServerId,
};
pub use certificate::{
    CaCertificate, CaCertificates, CertificateFacts, Certificates, DeleteCaCertificate, DeleteServerCertificate,
    DescribeCaCertificates, DescribeServerCertificates, PrivateKeyPem, ServerCertificate, ServerCertificates,
    SetCaCertificateName, SetServerCertificateName, UploadCaCertificate, UploadServerCertificate,
};
pub use client::{SlbClient, DEFAULT_BATCH_SIZE};
pub use common::MAX_TAGS;
pub use domain_extension::{
    CreateDomainExtension, CreatedDomainExtension, DeleteDomainExtension, DescribeDomainExtensions, DomainExtension,
    DomainExtensionList, DomainExtensions, SetDomainExtensionAttribute,
};
pub use error::Error;
pub use health::{BackendHealth, Health};
pub use ids::{
    AclId, CaCertificateId, DomainExtensionId, EciId, LoadBalancerId, MasterSlaveServerGroupId, RuleId,
    ServerCertificateId, VServerGroupId,
};
pub use listener::{
    CreateListener, DeleteListener, DescribeListeners, HealthCheckTiming, HttpConfig, HttpHealthCheck, HttpsConfig,
    Layer7Config, Listener, ListenerAcl, ListenerBackend, ListenerPage, ListenerSpec, Listeners, ProtocolConfig,
    SetListener, StartListener, StickySession, StopListener, TcpConfig, TcpHealthCheck, UdpConfig, UdpHealthCheck,
    XForwardedFor, MAX_LISTENERS_PAGE,
};
pub use load_balancer::{
    CreateLoadBalancer, CreateLoadBalancerResponse, DescribeLoadBalancers, ListenerPortAndProtocol, LoadBalancer,
    LoadBalancerPage, LoadBalancers, ModifyLoadBalancerInstanceSpec, ModifyLoadBalancerInternetSpec,
    SetLoadBalancerDeleteProtection, SetLoadBalancerModificationProtection, SetLoadBalancerName, SetLoadBalancerStatus,
    MAX_LOAD_BALANCERS_PAGE,
};
pub use master_slave::{CreateMasterSlaveGroup, MasterSlaveGroup, MasterSlaveGroups};
pub use rule::{
    check_rule_domain, check_rule_name, check_rule_url, CreateRules, CreatedRule, DeleteRules, DescribeRuleAttribute,
    DescribeRules, OnOff, Rule, RuleAttribute, RuleSettings, RuleSpec, Rules, RulesResponse, SetRule,
    MAX_RULES_PER_CALL,
};
pub use tags::{ListTagResources, TagResource, TagResourcePage, TagResources, Tags, UntagResources, MAX_TAG_RESOURCES};
pub use types::{
    AclType, AddressIpVersion, AddressType, BackendType, HealthCheckMethod, HealthStatus, HttpCodeClass,
    InstanceChargeType, InstanceSpec, InternetChargeType, ListenerProtocol, ListenerStatus, LoadBalancerStatus,
    ModificationProtectionStatus, NetworkType, Scheduler, ServerType, TlsCipherPolicy,
};
pub use vserver_group::{
    AssociatedListener, AssociatedObjects, AssociatedRule, BackendBatches, CreateVServerGroup, CreatedVServerGroup,
    DescribeVServerGroups, VServerGroup, VServerGroupSummary, VServerGroups,
};
