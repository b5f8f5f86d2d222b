//! [`ScenarioBuilder`]: the ground most tests stand on (a VPC, VSwitches, a security group,
//! ECS instances), made in the mock's state in one call, with the ids to use.

use std::net::{IpAddr, Ipv4Addr};

use ack_net_core::{EniId, InstanceId};

use crate::client::TEST_REGION;
use crate::ecs::InstanceSeed;
use crate::error::MockError;
use crate::handler::Req;
use crate::state::State;
use crate::vpc::{NewVSwitch, NewVpc};

/// The instance type of [`ScenarioBuilder::backends`].
pub const DEFAULT_INSTANCE_TYPE: &str = "ecs.g7.large";

/// The name of the VPC of [`ScenarioBuilder::nodes`], where the ack-net examples look for their
/// nodes.
pub const NODES_VPC_NAME: &str = "ack-net-examples";

/// The instance type of [`ScenarioBuilder::nodes`]: 4 ENIs of 15 addresses.
pub const NODE_INSTANCE_TYPE: &str = "ecs.g7.xlarge";

/// Describes a VPC with VSwitches, an optional security group and instances; [`build`]
/// creates them directly in the state (no call logged, nothing `Pending`) and answers their
/// ids. Made by [`MockCloud::scenario`](crate::MockCloud::scenario).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mock = ack_net_mock::MockCloud::start().await?;
/// let world = mock
///     .scenario()
///     .vpc("10.0.0.0/8")
///     .vswitch("cn-hangzhou-h", "10.1.0.0/16")
///     .security_group("nodes")
///     .instances(2, "ecs.g7.large")
///     .build()?;
/// assert_eq!(world.instances.len(), 2);
/// assert!(world.instances[0].instance_id.as_str().starts_with("i-"));
/// assert_eq!(world.instances[1].vswitch_id, world.vswitch_ids[0]);
/// assert_eq!(mock.calls().len(), 0);
/// # Ok(()) }
/// ```
///
/// [`build`]: ScenarioBuilder::build
#[derive(Debug)]
#[must_use]
pub struct ScenarioBuilder<'a> {
    mock: &'a crate::MockCloud,
    spec: ScenarioSpec,
}

/// What a scenario holds, before it is made.
#[derive(Clone, Debug)]
struct ScenarioSpec {
    region: String,
    vpc_cidr: String,
    vpc_name: String,
    ipv6: bool,
    /// (zone, CIDR, index of the IPv6 /64).
    vswitches: Vec<(String, String, Option<u8>)>,
    security_group: Option<String>,
    /// (index of the VSwitch, how many, instance type).
    instances: Vec<(usize, usize, String)>,
}

/// The ids of what [`ScenarioBuilder::build`] made.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Scenario {
    /// The VPC.
    pub vpc_id: String,
    /// The VPC's system route table.
    pub route_table_id: String,
    /// The VSwitches, in the order they were described.
    pub vswitch_ids: Vec<String>,
    /// The security group, when one was described.
    pub security_group_id: Option<String>,
    /// The instances, in the order they were described.
    pub instances: Vec<ScenarioInstance>,
}

impl Scenario {
    /// The instances' ids, in order.
    pub fn instance_ids(&self) -> Vec<InstanceId> {
        self.instances.iter().map(|i| i.instance_id.clone()).collect()
    }

    /// The instances' primary ENIs and their addresses, in order.
    pub fn primary_enis(&self) -> Vec<(EniId, IpAddr)> {
        self.instances.iter().map(|i| (i.eni_id.clone(), i.private_ip.into())).collect()
    }
}

/// One instance of a [`Scenario`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScenarioInstance {
    /// `i-...`.
    pub instance_id: InstanceId,
    /// The VSwitch of its primary ENI.
    pub vswitch_id: String,
    /// Its primary ENI.
    pub eni_id: EniId,
    /// The primary ENI's address.
    pub private_ip: Ipv4Addr,
}

impl<'a> ScenarioBuilder<'a> {
    pub(crate) fn new(mock: &'a crate::MockCloud) -> Self {
        Self {
            mock,
            spec: ScenarioSpec {
                region: TEST_REGION.to_owned(),
                vpc_cidr: "192.168.0.0/16".to_owned(),
                vpc_name: String::new(),
                ipv6: false,
                vswitches: Vec::new(),
                security_group: None,
                instances: Vec::new(),
            },
        }
    }

    /// The region (default `cn-hangzhou`).
    pub fn region(mut self, region: &str) -> Self {
        region.clone_into(&mut self.spec.region);
        self
    }

    /// The VPC's IPv4 block (default `192.168.0.0/16`).
    pub fn vpc(mut self, cidr: &str) -> Self {
        cidr.clone_into(&mut self.spec.vpc_cidr);
        self
    }

    /// The VPC's name (`VpcName`, default none).
    pub fn vpc_name(mut self, name: &str) -> Self {
        name.clone_into(&mut self.spec.vpc_name);
        self
    }

    /// Gives the VPC an IPv6 /56 (for [`ScenarioBuilder::vswitch_ipv6`]).
    pub fn ipv6(mut self) -> Self {
        self.spec.ipv6 = true;
        self
    }

    /// A VSwitch in `zone` with the IPv4 block `cidr`; repeatable.
    pub fn vswitch(mut self, zone: &str, cidr: &str) -> Self {
        self.spec.vswitches.push((zone.to_owned(), cidr.to_owned(), None));
        self
    }

    /// A VSwitch that also has the IPv6 /64 number `index` of the VPC's /56 (implies
    /// [`ScenarioBuilder::ipv6`]); repeatable.
    pub fn vswitch_ipv6(mut self, zone: &str, cidr: &str, index: u8) -> Self {
        self.spec.ipv6 = true;
        self.spec.vswitches.push((zone.to_owned(), cidr.to_owned(), Some(index)));
        self
    }

    /// A (basic) security group named `name` in the VPC, which every instance joins.
    pub fn security_group(mut self, name: &str) -> Self {
        self.spec.security_group = Some(name.to_owned());
        self
    }

    /// `n` instances of `instance_type` in the first VSwitch.
    pub fn instances(self, n: usize, instance_type: &str) -> Self {
        self.instances_in(0, n, instance_type)
    }

    /// `n` instances of `instance_type` in the VSwitch described `vswitch`-th (from 0).
    pub fn instances_in(mut self, vswitch: usize, n: usize, instance_type: &str) -> Self {
        self.spec.instances.push((vswitch, n, instance_type.to_owned()));
        self
    }

    /// The ground of a load balancer's tests: the VPC `10.0.0.0/8`, one VSwitch `10.1.0.0/16` in
    /// the region's zone `-h`, and `n` [`DEFAULT_INSTANCE_TYPE`] instances in it, no security group.
    pub fn backends(self, n: usize) -> Self {
        let zone = format!("{}-h", self.spec.region);
        self.vpc("10.0.0.0/8").vswitch(&zone, "10.1.0.0/16").instances(n, DEFAULT_INSTANCE_TYPE)
    }

    /// The ground of the ack-net examples, and what `ack-net-mock --preload-instances N` makes:
    /// the VPC `192.168.0.0/16` named [`NODES_VPC_NAME`], VSwitches `192.168.0.0/24` and
    /// `192.168.1.0/24` in the region's zones `-h` and `-i`, a security group `nodes`, and `n`
    /// [`NODE_INSTANCE_TYPE`] instances in the first VSwitch.
    pub fn nodes(self, n: usize) -> Self {
        let zone = |suffix: &str| format!("{}-{suffix}", self.spec.region);
        let (h, i) = (zone("h"), zone("i"));
        self.vpc("192.168.0.0/16")
            .vpc_name(NODES_VPC_NAME)
            .vswitch(&h, "192.168.0.0/24")
            .vswitch(&i, "192.168.1.0/24")
            .security_group("nodes")
            .instances(n, NODE_INSTANCE_TYPE)
    }

    /// Creates the VPC, the VSwitches, the security group and the instances, in that order;
    /// the first refusal (a bad block, an unknown zone or instance type, an instance in a
    /// VSwitch that was not described) stops it with the API's error.
    pub fn build(self) -> Result<Scenario, MockError> {
        let spec = self.spec;
        self.mock.with_state(|state| spec.apply(state))
    }
}

impl ScenarioSpec {
    fn apply(&self, state: &mut State) -> Result<Scenario, MockError> {
        let now = tokio::time::Instant::now();
        // Made Available at once, as preloaded state is.
        let delay = std::mem::take(&mut state.vpc.pending_delay);
        let made = self.make(state, now);
        state.vpc.pending_delay = delay;
        made
    }

    fn make(&self, state: &mut State, now: tokio::time::Instant) -> Result<Scenario, MockError> {
        let vpc_id = crate::vpc::create_vpc(
            state,
            now,
            NewVpc {
                region_id: self.region.clone(),
                cidr_block: Some(self.vpc_cidr.clone()),
                name: self.vpc_name.clone(),
                enable_ipv6: self.ipv6,
                ..NewVpc::default()
            },
        )?;
        let route_table_id = state.vpc.vpcs.get(&vpc_id).map(|v| v.route_table_id.clone()).unwrap_or_default();
        let mut vswitch_ids = Vec::new();
        for (zone, cidr, ipv6_index) in &self.vswitches {
            let spec = NewVSwitch {
                vpc_id: vpc_id.clone(),
                zone_id: zone.clone(),
                cidr_block: cidr.clone(),
                ipv6_index: *ipv6_index,
                ..NewVSwitch::default()
            };
            vswitch_ids.push(crate::vpc::create_vswitch(state, now, spec)?);
        }
        let security_group_id = match &self.security_group {
            None => None,
            Some(name) => {
                let params = [("RegionId", self.region.as_str()), ("VpcId", &vpc_id), ("SecurityGroupName", name)];
                let made = crate::ecs::create_security_group(state, &Req::new("CreateSecurityGroup", "", &params))?;
                Some(made["SecurityGroupId"].as_str().unwrap_or_default().to_owned())
            }
        };
        let mut instances = Vec::new();
        for (index, n, instance_type) in &self.instances {
            let (zone, _, _) = self.vswitches.get(*index).ok_or_else(|| {
                MockError::invalid_param("VSwitchId", format!("no VSwitch number {index} was described"))
            })?;
            let vswitch_id = &vswitch_ids[*index];
            for _ in 0..*n {
                let seed = InstanceSeed {
                    region_id: self.region.clone(),
                    zone_id: zone.clone(),
                    instance_type: instance_type.clone(),
                    vswitch_id: vswitch_id.clone(),
                    security_group_ids: security_group_id.iter().cloned().collect(),
                    instance_id: None,
                };
                let made = crate::ecs::create_instance(state, seed)?;
                let field = |name: &str| made[name].as_str().unwrap_or_default().to_owned();
                let malformed = |what: &str| MockError::new(500, "InternalError", format!("an instance with {what}"));
                let private_ip = field("PrivateIpAddress").parse().map_err(|_| malformed("no address"))?;
                instances.push(ScenarioInstance {
                    instance_id: InstanceId::new(field("InstanceId")).map_err(|_| malformed("a malformed id"))?,
                    vswitch_id: vswitch_id.clone(),
                    eni_id: EniId::new(field("NetworkInterfaceId")).map_err(|_| malformed("a malformed ENI id"))?,
                    private_ip,
                });
            }
        }
        Ok(Scenario { vpc_id, route_table_id, vswitch_ids, security_group_id, instances })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_scenario_holds_what_was_described() {
        let mock = crate::MockCloud::builder().pending_delay(std::time::Duration::from_secs(60)).start().await.unwrap();
        let s = mock
            .scenario()
            .vswitch_ipv6("cn-hangzhou-h", "192.168.1.0/24", 1)
            .vswitch("cn-hangzhou-i", "192.168.2.0/24")
            .security_group("pods")
            .instances_in(1, 2, "ecs.g7.xlarge")
            .instances(1, DEFAULT_INSTANCE_TYPE)
            .build()
            .unwrap();
        assert_eq!(s.vswitch_ids.len(), 2);
        assert_eq!(s.instances.len(), 3);
        assert_eq!(s.instances[0].vswitch_id, s.vswitch_ids[1]);
        assert_eq!(s.instances[2].vswitch_id, s.vswitch_ids[0]);
        let group = s.security_group_id.clone().unwrap();
        mock.with_state(|st| {
            let vpc = &st.vpc.vpcs[&s.vpc_id];
            assert!(vpc.ready_at <= tokio::time::Instant::now(), "Available at once");
            assert_eq!(vpc.ipv6_cidr.map(|n| n.prefix_len()), Some(56));
            assert_eq!(vpc.route_table_id, s.route_table_id);
            assert!(st.vpc.vswitch(&s.vswitch_ids[0]).is_some_and(|v| v.ipv6_cidr.is_some()));
            assert!(st.vpc.vswitch(&s.vswitch_ids[1]).is_some_and(|v| v.ipv6_cidr.is_none()));
            assert_eq!(st.ecs.groups[&group].name, "pods");
            for i in &s.instances {
                assert_eq!(st.ecs.instances[i.instance_id.as_str()].security_group_ids, vec![group.clone()]);
                assert!(st.ecs.eni_has_ip(i.eni_id.as_str(), i.private_ip.into()));
            }
            assert_eq!(st.ecs.instances[s.instances[0].instance_id.as_str()].instance_type.id, "ecs.g7.xlarge");
            // The delay asked of the builder still holds for what comes later.
            assert_eq!(st.vpc.pending_delay, std::time::Duration::from_secs(60));
        });
        assert!(mock.calls().is_empty());
    }

    #[tokio::test]
    async fn backends_are_instances_in_one_vswitch() {
        let mock = crate::MockCloud::start().await.unwrap();
        let s = mock.scenario().backends(3).build().unwrap();
        assert_eq!(s.vswitch_ids.len(), 1);
        assert_eq!(s.instance_ids(), s.instances.iter().map(|i| i.instance_id.clone()).collect::<Vec<_>>());
        let enis = s.primary_enis();
        assert_eq!(enis.len(), 3);
        mock.with_state(|st| {
            assert_eq!(st.vpc.vswitch(&s.vswitch_ids[0]).map(|v| v.cidr.to_string()), Some("10.1.0.0/16".into()));
            for (eni, ip) in &enis {
                assert!(st.ecs.eni_has_ip(eni.as_str(), *ip));
            }
        });
        assert_eq!(s.security_group_id, None);
    }

    #[tokio::test]
    async fn nodes_are_instances_in_a_named_vpc_with_two_zones() {
        let mock = crate::MockCloud::start().await.unwrap();
        let s = mock.scenario().nodes(2).build().unwrap();
        assert_eq!(s.instances.len(), 2);
        assert!(s.security_group_id.is_some());
        mock.with_state(|st| {
            assert_eq!(st.vpc.vpcs[&s.vpc_id].name, NODES_VPC_NAME);
            let zones: Vec<String> =
                s.vswitch_ids.iter().map(|v| st.vpc.vswitch(v).map(|v| v.zone_id.clone()).unwrap()).collect();
            assert_eq!(zones, ["cn-hangzhou-h", "cn-hangzhou-i"]);
            let i = &st.ecs.instances[s.instances[1].instance_id.as_str()];
            assert_eq!((i.instance_type.id, i.vswitch_id.as_str()), (NODE_INSTANCE_TYPE, s.vswitch_ids[0].as_str()));
        });
    }

    #[tokio::test]
    async fn a_bad_description_is_refused_with_the_api_error() {
        let mock = crate::MockCloud::start().await.unwrap();
        let e = mock.scenario().instances(1, DEFAULT_INSTANCE_TYPE).build().unwrap_err();
        assert_eq!(e.code, "InvalidParameter", "{e}");
        let e = mock.scenario().vswitch("cn-hangzhou-h", "10.0.0.0/24").build().unwrap_err();
        assert_eq!(e.code, "InvalidCidrBlock.Malformed", "{e}");
        let e =
            mock.scenario().vswitch("cn-hangzhou-h", "192.168.0.0/24").instances(1, "ecs.nope").build().unwrap_err();
        assert_eq!(e.code, "InvalidParameter", "{e}");
    }
}
