//! Shared set-up for the ack-net examples: every example talks to the embedded mock cloud
//! unless `ACK_NET_ENDPOINT` names another endpoint (a standalone `ack-net-mock`, or `aliyun`
//! for Alibaba Cloud itself).
//!
//! The examples stand on a VPC named [`EXAMPLES_VPC`]: they find it with DescribeVpcs, and the ECS
//! instances they use as nodes with DescribeInstances in it, the same calls on every endpoint.
//! The embedded mock starts with that VPC and two instances in it
//! (`MockCloud::scenario().nodes(2)`); `ack-net-mock --preload-instances 2` starts a standalone
//! one so; on a real account, create the VPC and put test instances in it (the examples attach
//! ENIs to them), or let the examples create the VPC and run without nodes.

use std::sync::Arc;

use std::time::Duration;

use ack_net_core::{CallEvent, CallObserver, CallStats, Credentials, DefaultChain, Endpoint, RpcClient, RpcRequest};
use ack_net_eni::{
    EcsClient, InstanceId, InstanceTypeId, IpProtocol, Peer, PortRange, SecurityGroupId, SecurityGroupRule, ECS,
};
use ack_net_mock::{MockCloud, TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET};
use ack_net_vpc::{cidr, VSwitch, VSwitchId, VpcClient, VpcId, WaitPolicy, ZoneId};
use futures_util::TryStreamExt;

/// Where an example's calls go, and what they cost.
pub struct Cloud {
    /// The client every example call goes through.
    pub rpc: RpcClient,
    /// Calls made, per action.
    pub stats: CallStats,
    /// The embedded mock, when no endpoint was given.
    pub mock: Option<MockCloud>,
}

/// The region of the embedded mock cloud.
pub const MOCK_REGION: &str = "cn-hangzhou";

/// The region to call: `region` (from `--region` or `ALIBABA_CLOUD_REGION_ID`), which a real
/// endpoint requires; the mock's own region on the embedded mock.
pub fn region_for(endpoint: Option<&str>, region: Option<String>) -> Result<String, BoxError> {
    match (endpoint, region) {
        (_, Some(r)) => Ok(r),
        (None, None) => Ok(MOCK_REGION.to_owned()),
        (Some(_), None) => {
            Err("ACK_NET_ENDPOINT is set but no region is: set ALIBABA_CLOUD_REGION_ID (or pass --region)".into())
        }
    }
}

/// The boxed error examples return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Cloud {
    /// Connects to `ACK_NET_ENDPOINT` (`aliyun` for Alibaba Cloud's own endpoints, or a URL)
    /// with credentials from the standard chain and the region from `ALIBABA_CLOUD_REGION_ID`
    /// (required then), or starts the embedded mock cloud (seeded, so runs are reproducible,
    /// in its region [`MOCK_REGION`]) with the examples' VPC and two nodes, and uses its test
    /// credentials.
    pub async fn connect() -> Result<Cloud, BoxError> {
        let endpoint = std::env::var("ACK_NET_ENDPOINT").ok().filter(|e| !e.is_empty());
        let region = region_for(endpoint.as_deref(), std::env::var("ALIBABA_CLOUD_REGION_ID").ok())?;
        let cloud = Self::connect_with(endpoint.as_deref(), &region, None).await?;
        if let Some(mock) = &cloud.mock {
            // What `ack-net-mock --preload-instances 2` preloads.
            mock.scenario().region(&region).nodes(2).build()?;
        }
        Ok(cloud)
    }

    /// Like [`Cloud::connect`], with the endpoint (`None`: an embedded mock with nothing in
    /// it), the region and one more observer given explicitly.
    pub async fn connect_with(
        endpoint: Option<&str>,
        region: &str,
        observer: Option<Arc<dyn CallObserver>>,
    ) -> Result<Cloud, BoxError> {
        let stats = CallStats::new();
        let mut builder = RpcClient::builder().region(region).observer(stats.clone());
        if let Some(o) = observer {
            builder = builder.observer(ObserverRef(o));
        }
        match endpoint {
            Some(endpoint) => {
                // `aliyun`: Alibaba Cloud's own endpoints for the region; anything else is a URL
                // that receives every product's calls (a proxy, a private gateway, the mock binary).
                if endpoint != "aliyun" {
                    builder = builder.endpoint(endpoint);
                }
                let rpc = builder.credentials_provider(DefaultChain::new()).build()?;
                Ok(Cloud { rpc, stats, mock: None })
            }
            None => {
                let mock = MockCloud::builder().seed(42).start().await?;
                let rpc = builder
                    .endpoint(&mock.url())
                    .credentials(Credentials::new(TEST_ACCESS_KEY_ID, TEST_ACCESS_KEY_SECRET))
                    .build()?;
                Ok(Cloud { rpc, stats, mock: Some(mock) })
            }
        }
    }

    /// Where the calls go, for printing.
    pub fn describe(&self) -> String {
        match (&self.mock, self.rpc.endpoint()) {
            (Some(m), _) => format!("the embedded mock cloud at {}", m.url()),
            (None, Endpoint::Override(url)) => url.to_string(),
            (None, Endpoint::Resolved { region, .. }) => format!("Alibaba Cloud in {region}"),
        }
    }
}

/// Shares an observer the caller keeps.
#[derive(Debug)]
struct ObserverRef(Arc<dyn CallObserver>);

impl CallObserver for ObserverRef {
    fn on_attempt(&self, event: &CallEvent<'_>) {
        self.0.on_attempt(event);
    }
}

/// The name of the VPC the examples stand on.
pub const EXAMPLES_VPC: &str = "ack-net-examples";

/// An ECS instance the examples use as a Kubernetes node, as DescribeInstances reports it.
#[derive(Clone, Debug)]
pub struct Node {
    /// The instance.
    pub id: InstanceId,
    /// Its type (how many ENIs and addresses it takes).
    pub instance_type: InstanceTypeId,
    /// The VSwitch of its primary ENI.
    pub vswitch_id: VSwitchId,
}

/// What [`demo_network`] sets up: the ground every example builds on.
pub struct DemoNetwork {
    /// The VPC ([`EXAMPLES_VPC`]).
    pub vpc_id: VpcId,
    /// Its VSwitches, the first nodes' first.
    pub vswitches: Vec<VSwitch>,
    /// A security group that lets the VPC reach pods.
    pub security_group: SecurityGroupId,
    /// The ECS instances in the VPC (none in a VPC the examples had to create).
    pub nodes: Vec<Node>,
}

impl DemoNetwork {
    /// The first node, or an error that says how to get one.
    pub fn node(&self) -> Result<&Node, BoxError> {
        self.nodes.first().ok_or_else(|| {
            format!(
                "no ECS instance in VPC {} ({EXAMPLES_VPC}): start ack-net-mock with --preload-instances 2, or put a \
                 test instance in that VPC",
                self.vpc_id
            )
            .into()
        })
    }
}

/// Finds the VPC [`EXAMPLES_VPC`] (or creates it, with two VSwitches in two zones whose blocks
/// `ack_net_vpc::cidr` plans) and the ECS instances in it, and creates a security group named
/// `name` in it, converged to let the VPC in; prints each as it goes.
pub async fn demo_network(cloud: &Cloud, name: &str) -> Result<DemoNetwork, BoxError> {
    let vpcs = VpcClient::new(cloud.rpc.clone());
    let wait = WaitPolicy::default().with_timeout(Duration::from_secs(60));
    let found: Vec<_> = vpcs.vpcs().describe().name(EXAMPLES_VPC).into_stream().try_collect().await?;
    let (vpc_id, vpc_cidr, created) = match found.into_iter().next() {
        Some(vpc) => (vpc.vpc_id, vpc.cidr_block, false),
        None => {
            let vpc = vpcs.vpcs().create().cidr_block("192.168.0.0/16").name(EXAMPLES_VPC).send_and_wait(&wait).await?;
            (vpc.vpc_id, vpc.cidr_block, true)
        }
    };
    println!("VPC       {vpc_id}  {vpc_cidr}{}", if created { "  (created)" } else { "" });
    let nodes = nodes_in(&cloud.rpc, &vpc_id).await?;
    let mut vswitches: Vec<VSwitch> = vpcs.vswitches().describe().vpc_id(&vpc_id).into_stream().try_collect().await?;
    if vswitches.is_empty() {
        let region = cloud.rpc.region().as_str();
        let zones: [(ZoneId, u8); 2] = [(format!("{region}-h").parse()?, 24), (format!("{region}-i").parse()?, 24)];
        for planned in cidr::plan_vswitches(vpc_cidr, &[], &zones)? {
            vswitches
                .push(vpcs.vswitches().create(&vpc_id, &planned.zone_id, planned.cidr).send_and_wait(&wait).await?);
        }
    }
    // The nodes' VSwitch first: pools and load balancers take their addresses there.
    if let Some(first) = nodes.first() {
        vswitches.sort_by_key(|v| v.vswitch_id != first.vswitch_id);
    }
    for vsw in &vswitches {
        println!(
            "VSwitch   {}  {}  {}  {} free",
            vsw.vswitch_id, vsw.zone_id, vsw.cidr_block, vsw.available_ip_address_count
        );
    }
    let ecs = EcsClient::new(cloud.rpc.clone());
    let security_group = ecs.security_groups().create(&vpc_id).name(name).send().await?;
    ecs.security_groups()
        .converger(&security_group, "ack-net:examples")
        .rule(SecurityGroupRule::ingress(IpProtocol::All, PortRange::ALL, Peer::cidr(&vpc_cidr.to_string())?))
        .apply()
        .await?;
    println!("Group     {security_group}  (the VPC may reach pods)");
    for node in &nodes {
        println!("Node      {}  {}  in {}", node.id, node.instance_type, node.vswitch_id);
    }
    Ok(DemoNetwork { vpc_id, vswitches, security_group, nodes })
}

/// The running ECS instances in `vpc` (DescribeInstances), oldest first.
pub async fn nodes_in(rpc: &RpcClient, vpc: &VpcId) -> Result<Vec<Node>, BoxError> {
    let answer = rpc
        .call_value(RpcRequest::read(ECS, "DescribeInstances").param("VpcId", vpc.as_str()).param("PageSize", 100))
        .await?;
    let mut nodes = Vec::new();
    for i in answer["Instances"]["Instance"].as_array().into_iter().flatten() {
        if i["Status"] != "Running" {
            continue;
        }
        let field =
            |name: &str| i[name].as_str().ok_or_else(|| format!("DescribeInstances: an instance without {name}"));
        let vswitch =
            i["VpcAttributes"]["VSwitchId"].as_str().ok_or("DescribeInstances: an instance without a VSwitch")?;
        nodes.push(Node {
            id: field("InstanceId")?.parse()?,
            instance_type: field("InstanceType")?.parse()?,
            vswitch_id: vswitch.parse()?,
        });
    }
    Ok(nodes)
}

/// Polls the async check `f` every 100 ms until it holds, for at most `secs` seconds; an error
/// naming `what` if it never does (the scripted scenarios of the Kubernetes examples).
pub async fn wait_until<F, Fut>(what: &str, secs: u64, mut f: F) -> Result<(), BoxError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, BoxError>>,
{
    for _ in 0..secs * 10 {
        if f().await? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{what}: not after {secs} s").into())
}

/// A client of the current Kubernetes cluster (kubeconfig context or in-cluster config), or
/// `None` after saying there is none to watch and that `--testenv` runs the example's
/// scripted scenario instead.
pub async fn cluster_or_explain() -> Option<kube::Client> {
    match kube::Client::try_default().await {
        Ok(client) => Some(client),
        Err(e) => {
            println!(
                "no Kubernetes cluster to watch ({e}); point KUBECONFIG at one to run the controller, or pass \
                 --testenv for the scripted scenario on a test API server"
            );
            None
        }
    }
}

/// The leader election of a controller's replicas: the Lease `name` in `$POD_NAMESPACE`
/// (deploy/ sets it from the downward API; default `kube-system`).
pub fn leader_elector(kube: kube::Client, name: &str) -> Result<ack_net_k8s::leader::LeaderElector, BoxError> {
    let namespace = std::env::var("POD_NAMESPACE").unwrap_or_else(|_| "kube-system".to_owned());
    let lease =
        ack_net_k8s::leader::LeaseConfig::new(namespace, name, ack_net_k8s::leader::LeaseConfig::identity_from_env());
    Ok(ack_net_k8s::leader::LeaderElector::new(kube, lease)?)
}
