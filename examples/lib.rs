//! Shared set-up for the ack-net examples: every example talks to the embedded mock cloud
//! unless `ACK_NET_ENDPOINT` names another endpoint.

use std::sync::Arc;

use std::time::Duration;

use ack_net_core::{CallEvent, CallObserver, CallStats, Credentials, DefaultChain, RpcClient};
use ack_net_eni::{EcsClient, IpProtocol, Peer, PortRange, SecurityGroupId, SecurityGroupRule};
use ack_net_mock::MockCloud;
use ack_net_vpc::{cidr, VSwitch, VpcClient, VpcId, WaitPolicy, ZoneId};

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
    /// in its region [`MOCK_REGION`]) and uses its test credentials.
    pub async fn connect() -> Result<Cloud, BoxError> {
        let endpoint = std::env::var("ACK_NET_ENDPOINT").ok().filter(|e| !e.is_empty());
        let region = region_for(endpoint.as_deref(), std::env::var("ALIBABA_CLOUD_REGION_ID").ok())?;
        Self::connect_with(endpoint.as_deref(), &region, None).await
    }

    /// Like [`Cloud::connect`], with the endpoint (`None`: the embedded mock), the region and
    /// one more observer given explicitly.
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
                let rpc =
                    builder.endpoint(&mock.url()).credentials(Credentials::new("testid", "testsecret")).build()?;
                Ok(Cloud { rpc, stats, mock: Some(mock) })
            }
        }
    }

    /// Where the calls go, for printing.
    pub fn describe(&self) -> String {
        match &self.mock {
            Some(m) => format!("the embedded mock cloud at {}", m.url()),
            None => format!("{:?}", self.rpc.endpoint()),
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

/// What [`demo_network`] sets up: the ground every example builds on.
pub struct DemoNetwork {
    /// The VPC (`192.168.0.0/16`).
    pub vpc_id: VpcId,
    /// Two VSwitches (/24) in two zones of the region.
    pub vswitches: Vec<VSwitch>,
    /// A security group that lets the VPC reach pods.
    pub security_group: SecurityGroupId,
    /// A node (an ECS instance in the first VSwitch), when the mock can make one.
    pub node: Option<String>,
}

/// The ECS instance type of the demo node: 4 ENIs of 15 addresses.
pub const DEMO_INSTANCE_TYPE: &str = "ecs.g7.xlarge";

/// Creates a VPC, two VSwitches in two zones (blocks planned by `ack_net_vpc::cidr`), a
/// security group converged to let the VPC in, and, on the embedded mock, a node; prints
/// each as it is made.
pub async fn demo_network(cloud: &Cloud, name: &str) -> Result<DemoNetwork, BoxError> {
    let vpcs = VpcClient::new(cloud.rpc.clone());
    let wait = WaitPolicy::default().with_timeout(Duration::from_secs(60));
    let vpc = vpcs.vpcs().create().cidr_block("192.168.0.0/16").name(name).send_and_wait(&wait).await?;
    println!("VPC       {}  {}", vpc.vpc_id, vpc.cidr_block);
    let region = cloud.rpc.region().as_str();
    let zones: [(ZoneId, u8); 2] = [(format!("{region}-h").parse()?, 24), (format!("{region}-i").parse()?, 24)];
    let mut vswitches = Vec::new();
    for planned in cidr::plan_vswitches(vpc.cidr_block, &[], &zones)? {
        let vsw = vpcs.vswitches().create(&vpc.vpc_id, &planned.zone_id, planned.cidr).send_and_wait(&wait).await?;
        println!(
            "VSwitch   {}  {}  {}  {} free",
            vsw.vswitch_id, vsw.zone_id, vsw.cidr_block, vsw.available_ip_address_count
        );
        vswitches.push(vsw);
    }
    let ecs = EcsClient::new(cloud.rpc.clone());
    let security_group = ecs.security_groups().create(&vpc.vpc_id).name(name).send().await?;
    ecs.security_groups()
        .converger(&security_group, "ack-net:examples")
        .rule(SecurityGroupRule::ingress(IpProtocol::All, PortRange::ALL, Peer::cidr("192.168.0.0/16")?))
        .apply()
        .await?;
    println!("Group     {security_group}  (the VPC may reach pods)");
    let node = match &cloud.mock {
        None => None,
        Some(mock) => {
            let made = mock.create_instance(ack_net_mock::InstanceSeed {
                region_id: region.to_owned(),
                zone_id: vswitches[0].zone_id.to_string(),
                instance_type: DEMO_INSTANCE_TYPE.into(),
                vswitch_id: vswitches[0].vswitch_id.to_string(),
                security_group_ids: vec![security_group.to_string()],
                instance_id: None,
            })?;
            let id = made["InstanceId"].as_str().ok_or("the mock did not name the instance")?.to_owned();
            println!("Node      {id}  {DEMO_INSTANCE_TYPE}");
            Some(id)
        }
    };
    Ok(DemoNetwork { vpc_id: vpc.vpc_id, vswitches, security_group, node })
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
