//! The pool's configuration, and its check against the instance type and the VSwitches.

use std::time::Duration;

use ack_net_vpc::SelectPolicy;

use super::cloud::VSwitchInfo;
use super::error::PoolError;
use super::policy::PolicyConfig;
use crate::{InstanceId, InstanceTypeId, InstanceTypeLimits, SecurityGroupId, VSwitchId, WaitPolicy, ZoneId};

/// The most addresses an ENI may be created with besides its primary address (the cloud
/// refuses more on an ENI that is not attached yet), and the most one assign call may ask.
pub const MAX_PER_CALL: u32 = crate::MAX_ADDRESSES_PER_CALL as u32;

/// How pods get their addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum PoolMode {
    /// Many pods per ENI: each pod gets one address of a shared ENI (its primary address or
    /// a secondary one).
    #[default]
    Shared,
    /// One ENI per pod: the pod gets the ENI's primary address and the ENI itself.
    Exclusive,
}

/// Which address families a pod gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IpStack {
    /// One IPv4 address per pod.
    #[default]
    Ipv4,
    /// One IPv4 and one IPv6 address per pod. The instance type and every VSwitch must
    /// support IPv6: checked when the pool starts, never silently dropped.
    DualStack,
}

/// Who owns a pool's ENIs, by name: both ids become tags of every ENI the pool creates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolOwner {
    /// The cluster (`c-...`).
    pub cluster_id: String,
    /// The pool, unique in the cluster and stable across restarts (the node's name, say).
    pub pool_id: String,
}

/// What an [`IpPool`](crate::pool::IpPool) manages and how.
///
/// ```
/// use std::time::Duration;
/// use ack_net_eni::pool::{PoolConfig, PoolMode, PoolOwner};
/// let config = PoolConfig::new(PoolOwner { cluster_id: "c-prod".into(), pool_id: "node-1".into() }, "i-bp1abc".parse().unwrap(), "ecs.g7.large".parse().unwrap())
///     .vswitch("vsw-bp1a".parse().unwrap())
///     .security_group("sg-bp1g".parse().unwrap())
///     .mode(PoolMode::Shared)
///     .warm_band(2, 8)
///     .cooldown(Duration::from_secs(30));
/// assert_eq!(config.pool_id(), "node-1");
/// ```
#[derive(Clone, Debug)]
pub struct PoolConfig {
    pool_id: String,
    cluster_id: String,
    instance_id: InstanceId,
    instance_type: InstanceTypeId,
    vswitches: Vec<VSwitchId>,
    security_groups: Vec<SecurityGroupId>,
    mode: PoolMode,
    stack: IpStack,
    min_idle: u32,
    max_idle: u32,
    max_pods: Option<u32>,
    cooldown: Duration,
    allocate_timeout: Duration,
    pod_gc_grace: Duration,
    eni_gc_grace: Duration,
    max_concurrent_enis: usize,
    wait: WaitPolicy,
    vswitch_set_aside: Duration,
    vswitch_select: SelectPolicy,
    capacity_ttl: Duration,
}

impl PoolConfig {
    /// A pool for `instance_id` (of `instance_type`), owned by `owner`: its cluster and pool
    /// ids become tags of every ENI the pool creates (so that nothing foreign is ever
    /// touched), and must be stable across restarts. Add VSwitches and security groups.
    ///
    /// Defaults: shared mode, IPv4, warm band 0..=4 idle, `max_pods` from the instance type,
    /// cooldown 10 s, allocation deadline 60 s, GC grace 60 s for pods and ENIs, 3 ENIs
    /// prepared at once, ENI waits of up to 2 min polled after 100 ms, 200 ms, 400 ms... (at
    /// most every 1 s), an exhausted VSwitch set aside for 5 min, the VSwitch with the most
    /// free addresses first, counts refreshed every 60 s.
    pub fn new(owner: PoolOwner, instance_id: InstanceId, instance_type: InstanceTypeId) -> Self {
        Self {
            pool_id: owner.pool_id,
            cluster_id: owner.cluster_id,
            instance_id,
            instance_type,
            vswitches: Vec::new(),
            security_groups: Vec::new(),
            mode: PoolMode::Shared,
            stack: IpStack::Ipv4,
            min_idle: 0,
            max_idle: 4,
            max_pods: None,
            cooldown: Duration::from_secs(10),
            allocate_timeout: Duration::from_secs(60),
            pod_gc_grace: Duration::from_secs(60),
            eni_gc_grace: Duration::from_secs(60),
            max_concurrent_enis: 3,
            wait: WaitPolicy::new(Duration::from_secs(120))
                .with_backoff(Duration::from_millis(100), Duration::from_secs(1)),
            vswitch_set_aside: Duration::from_secs(300),
            vswitch_select: SelectPolicy::MostFree,
            capacity_ttl: Duration::from_secs(60),
        }
    }

    /// Adds a VSwitch to allocate from (those outside the instance's zone are left out).
    pub fn vswitch(mut self, id: VSwitchId) -> Self {
        if !self.vswitches.contains(&id) {
            self.vswitches.push(id);
        }
        self
    }

    /// Adds VSwitches.
    pub fn vswitches(mut self, ids: impl IntoIterator<Item = VSwitchId>) -> Self {
        for id in ids {
            self = self.vswitch(id);
        }
        self
    }

    /// Adds a security group for the pool's ENIs (1 to 5).
    pub fn security_group(mut self, id: SecurityGroupId) -> Self {
        if !self.security_groups.contains(&id) {
            self.security_groups.push(id);
        }
        self
    }

    /// Shared ENIs (the default) or one ENI per pod.
    pub fn mode(mut self, mode: PoolMode) -> Self {
        self.mode = mode;
        self
    }

    /// IPv4 (the default) or dual stack.
    pub fn stack(mut self, stack: IpStack) -> Self {
        self.stack = stack;
        self
    }

    /// Keeps between `min_idle` and `max_idle` addresses ready (idle or cooling down).
    pub fn warm_band(mut self, min_idle: u32, max_idle: u32) -> Self {
        self.min_idle = min_idle;
        self.max_idle = max_idle;
        self
    }

    /// At most this many pods (default: what the instance type holds).
    pub fn max_pods(mut self, n: u32) -> Self {
        self.max_pods = Some(n);
        self
    }

    /// How long a released address rests before it is handed out again.
    pub fn cooldown(mut self, d: Duration) -> Self {
        self.cooldown = d;
        self
    }

    /// How long [`allocate`](crate::pool::IpPool::allocate) waits for a refill.
    pub fn allocate_timeout(mut self, d: Duration) -> Self {
        self.allocate_timeout = d;
        self
    }

    /// How long a pod must be gone, and an ENI of the pool unused and detached, before
    /// [`gc`](crate::pool::IpPool::gc) releases them.
    pub fn gc_grace(mut self, pods: Duration, enis: Duration) -> Self {
        self.pod_gc_grace = pods;
        self.eni_gc_grace = enis;
        self
    }

    /// How many ENIs are created and attached at once (at least 1).
    pub fn max_concurrent_enis(mut self, n: usize) -> Self {
        self.max_concurrent_enis = n;
        self
    }

    /// How ENI attach and detach are waited for.
    pub fn wait_policy(mut self, policy: WaitPolicy) -> Self {
        self.wait = policy;
        self
    }

    /// How long a VSwitch that answered `InvalidVSwitchId.IpNotEnough` is skipped.
    pub fn vswitch_set_aside(mut self, d: Duration) -> Self {
        self.vswitch_set_aside = d;
        self
    }

    /// How the VSwitch of a new ENI is chosen, and how long free-address counts are trusted.
    pub fn vswitch_selection(mut self, policy: SelectPolicy, ttl: Duration) -> Self {
        self.vswitch_select = policy;
        self.capacity_ttl = ttl;
        self
    }

    /// The owner tag value, `ack-net-pool`.
    pub fn pool_id(&self) -> &str {
        &self.pool_id
    }

    /// The cluster tag value, `ack-net-cluster`.
    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// The instance.
    pub fn instance_id(&self) -> &InstanceId {
        &self.instance_id
    }

    /// The instance type.
    pub fn instance_type(&self) -> &InstanceTypeId {
        &self.instance_type
    }

    /// The VSwitches, in order.
    pub fn vswitch_ids(&self) -> &[VSwitchId] {
        &self.vswitches
    }

    /// The security groups.
    pub fn security_group_ids(&self) -> &[SecurityGroupId] {
        &self.security_groups
    }

    /// The mode.
    pub fn pool_mode(&self) -> PoolMode {
        self.mode
    }

    /// The address families.
    pub fn ip_stack(&self) -> IpStack {
        self.stack
    }

    /// The cooldown.
    pub fn cooldown_period(&self) -> Duration {
        self.cooldown
    }

    /// The allocation deadline.
    pub fn allocate_deadline(&self) -> Duration {
        self.allocate_timeout
    }

    /// The GC grace periods (pods, ENIs).
    pub fn gc_grace_periods(&self) -> (Duration, Duration) {
        (self.pod_gc_grace, self.eni_gc_grace)
    }

    pub(crate) fn concurrent_enis(&self) -> usize {
        self.max_concurrent_enis
    }

    pub(crate) fn waits(&self) -> &WaitPolicy {
        &self.wait
    }

    pub(crate) fn set_aside(&self) -> Duration {
        self.vswitch_set_aside
    }

    pub(crate) fn selection(&self) -> (SelectPolicy, Duration) {
        (self.vswitch_select, self.capacity_ttl)
    }

    /// Checks what needs no cloud call: ids for tags, counts, security groups.
    pub fn validate(&self) -> Result<(), PoolError> {
        for (what, v) in [("pool id", &self.pool_id), ("cluster id", &self.cluster_id)] {
            let l = v.to_ascii_lowercase();
            if v.is_empty() || v.chars().count() > 128 || l.starts_with("aliyun") || l.starts_with("acs:") {
                return Err(PoolError::invalid_config(format!(
                    "the {what} {v:?} must be 1-128 characters and not start with aliyun or acs: (it is a tag value)"
                )));
            }
        }
        if self.vswitches.is_empty() {
            return Err(PoolError::invalid_config("no VSwitch to allocate from"));
        }
        if self.security_groups.is_empty() || self.security_groups.len() > 5 {
            return Err(PoolError::invalid_config(format!(
                "an ENI needs 1 to 5 security groups, not {}",
                self.security_groups.len()
            )));
        }
        if self.min_idle > self.max_idle {
            return Err(PoolError::invalid_config(format!(
                "min_idle {} is above max_idle {}",
                self.min_idle, self.max_idle
            )));
        }
        if self.max_pods == Some(0) {
            return Err(PoolError::invalid_config("max_pods must be at least 1"));
        }
        if self.max_concurrent_enis == 0 {
            return Err(PoolError::invalid_config("max_concurrent_enis must be at least 1"));
        }
        Ok(())
    }

    /// Checks the configuration against the instance type (`limits`), the ENIs others hold
    /// on the instance (`foreign_enis`), the instance's zone and the VSwitches as described,
    /// and derives the policy's numbers and the VSwitches to use (those in the zone, in
    /// order). Pure: no call.
    ///
    /// ```
    /// use ack_net_eni::pool::{IpStack, PoolConfig, PoolOwner, VSwitchInfo};
    /// use ack_net_eni::InstanceTypeLimits;
    /// let config = PoolConfig::new(PoolOwner { cluster_id: "c-1".into(), pool_id: "node-1".into() }, "i-1".parse().unwrap(), "ecs.c7.2xlarge".parse().unwrap())
    ///     .vswitch("vsw-a".parse().unwrap())
    ///     .security_group("sg-1".parse().unwrap());
    /// let limits = InstanceTypeLimits::new("ecs.c7.2xlarge".parse().unwrap(), 4, 20, 0, 4, false);
    /// let vsw = VSwitchInfo::new("vsw-a".parse().unwrap(), "cn-hangzhou-h".parse().unwrap(), "10.0.0.0/24".parse().unwrap());
    /// let (policy, vswitches) = config.resolve(&limits, 0, Some(&"cn-hangzhou-h".parse().unwrap()), &[vsw.clone()]).unwrap();
    /// assert_eq!((policy.max_enis, policy.slots_per_eni, policy.max_pods), (3, 20, 60));
    /// assert_eq!(vswitches.len(), 1);
    /// // Dual stack on a type without IPv6 is refused, not dropped.
    /// assert!(config.stack(IpStack::DualStack).resolve(&limits, 0, None, &[vsw]).is_err());
    /// ```
    pub fn resolve(
        &self,
        limits: &InstanceTypeLimits,
        foreign_enis: u32,
        zone: Option<&ZoneId>,
        vswitches: &[VSwitchInfo],
    ) -> Result<(PolicyConfig, Vec<VSwitchInfo>), PoolError> {
        self.validate()?;
        let dual = self.stack == IpStack::DualStack;
        if dual && limits.ipv6_per_adapter == 0 {
            return Err(PoolError::invalid_config(format!(
                "dual stack asked, but instance type {} has no IPv6 address per ENI",
                limits.instance_type
            )));
        }
        let mut usable = Vec::new();
        for id in &self.vswitches {
            let Some(v) = vswitches.iter().find(|v| &v.vswitch_id == id) else {
                return Err(PoolError::invalid_config(format!("VSwitch {id} was not found")));
            };
            if zone.is_some_and(|z| *z != v.zone_id) {
                tracing::warn!(vswitch = %id, zone = %v.zone_id, "VSwitch outside the instance's zone: left out");
                continue;
            }
            if dual && v.ipv6_cidr.is_none() {
                return Err(PoolError::invalid_config(format!("dual stack asked, but VSwitch {id} has no IPv6 block")));
            }
            usable.push(v.clone());
        }
        if usable.is_empty() {
            return Err(PoolError::invalid_config(format!(
                "none of the VSwitches is in the instance's zone {}",
                zone.map(ToString::to_string).unwrap_or_default()
            )));
        }
        let max_enis = limits.secondary_adapters().saturating_sub(foreign_enis);
        if max_enis == 0 {
            return Err(PoolError::invalid_config(format!(
                "instance type {} holds {} ENIs and {} are taken: no room for a pod ENI",
                limits.instance_type, limits.adapters, foreign_enis
            )));
        }
        let (slots_per_eni, create_slots) = match self.mode {
            PoolMode::Exclusive => (1, 1),
            PoolMode::Shared => {
                let mut per = limits.ipv4_per_adapter;
                let mut create = 1 + MAX_PER_CALL;
                if dual {
                    per = per.min(limits.ipv6_per_adapter);
                    create = create.min(MAX_PER_CALL);
                }
                (per, create.min(per))
            }
        };
        if slots_per_eni == 0 {
            return Err(PoolError::invalid_config(format!(
                "instance type {} reports no address per ENI",
                limits.instance_type
            )));
        }
        let capacity = max_enis.saturating_mul(slots_per_eni);
        let max_pods = self.max_pods.unwrap_or(capacity);
        if max_pods > capacity {
            return Err(PoolError::invalid_config(format!(
                "max_pods {max_pods} exceeds what the instance holds ({max_enis} ENIs x {slots_per_eni} = {capacity})"
            )));
        }
        if self.min_idle > max_pods {
            return Err(PoolError::invalid_config(format!("min_idle {} exceeds max_pods {max_pods}", self.min_idle)));
        }
        let policy = PolicyConfig {
            min_idle: self.min_idle,
            max_idle: self.max_idle,
            max_pods,
            max_enis,
            slots_per_eni,
            create_slots,
            per_call: MAX_PER_CALL,
            dual_stack: dual,
            exclusive: self.mode == PoolMode::Exclusive,
        };
        Ok((policy, usable))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(adapters: u32, v4: u32, v6: u32) -> InstanceTypeLimits {
        InstanceTypeLimits::new("ecs.g7.large".parse().unwrap(), adapters, v4, v6, adapters, false)
    }

    fn vsw(id: &str, zone: &str, v6: bool) -> VSwitchInfo {
        let mut v = VSwitchInfo::new(id.parse().unwrap(), zone.parse().unwrap(), "192.168.1.0/24".parse().unwrap());
        if v6 {
            v.ipv6_cidr = Some("2408:4000:1::/64".parse().unwrap());
        }
        v
    }

    fn config() -> PoolConfig {
        PoolConfig::new(
            PoolOwner { cluster_id: "c".into(), pool_id: "p".into() },
            "i-1".parse().unwrap(),
            "ecs.g7.large".parse().unwrap(),
        )
        .vswitches(["vsw-a".parse().unwrap(), "vsw-b".parse().unwrap()])
        .security_group("sg-1".parse().unwrap())
        .warm_band(1, 5)
    }

    #[test]
    fn derives_the_policy_numbers() {
        let zone: ZoneId = "cn-hangzhou-h".parse().unwrap();
        let v = [vsw("vsw-a", "cn-hangzhou-h", true), vsw("vsw-b", "cn-hangzhou-i", false)];
        let (p, use_) = config().resolve(&limits(4, 20, 20), 1, Some(&zone), &v).unwrap();
        assert_eq!(use_.len(), 1, "vsw-b is in another zone");
        assert_eq!((p.max_enis, p.slots_per_eni, p.create_slots, p.max_pods), (2, 20, 11, 40));
        let (p, _) = config().stack(IpStack::DualStack).resolve(&limits(4, 20, 6), 0, Some(&zone), &v).unwrap();
        assert_eq!((p.slots_per_eni, p.create_slots, p.max_pods), (6, 6, 18));
        let (p, _) = config().mode(PoolMode::Exclusive).resolve(&limits(4, 20, 6), 0, Some(&zone), &v).unwrap();
        assert_eq!((p.slots_per_eni, p.create_slots, p.max_pods), (1, 1, 3));
        assert!(p.exclusive);
    }

    #[test]
    fn refuses_what_cannot_work() {
        let zone: ZoneId = "cn-hangzhou-h".parse().unwrap();
        let v = [vsw("vsw-a", "cn-hangzhou-h", false), vsw("vsw-b", "cn-hangzhou-h", true)];
        let l = limits(3, 6, 6);
        let err = |c: PoolConfig, l: &InstanceTypeLimits, f: u32| c.resolve(l, f, Some(&zone), &v).unwrap_err();
        assert!(
            matches!(err(config().stack(IpStack::DualStack), &l, 0), PoolError::InvalidConfig(m) if m.contains("vsw-a"))
        );
        assert!(
            matches!(err(config().stack(IpStack::DualStack), &limits(3, 6, 0), 0), PoolError::InvalidConfig(m) if m.contains("IPv6"))
        );
        assert!(matches!(err(config(), &l, 2), PoolError::InvalidConfig(m) if m.contains("no room")));
        assert!(matches!(err(config().max_pods(13), &l, 0), PoolError::InvalidConfig(m) if m.contains("exceeds")));
        assert!(err(config().warm_band(3, 2), &l, 0).to_string().contains("min_idle"));
        assert!(err(config().max_concurrent_enis(0), &l, 0).to_string().contains("concurrent"));
        let no_sg = PoolConfig::new(
            PoolOwner { cluster_id: "c".into(), pool_id: "p".into() },
            "i-1".parse().unwrap(),
            "ecs.g7.large".parse().unwrap(),
        )
        .vswitch("vsw-a".parse().unwrap());
        assert!(err(no_sg, &l, 0).to_string().contains("security groups"));
        assert!(err(
            PoolConfig::new(
                PoolOwner { cluster_id: "c".into(), pool_id: "aliyun-x".into() },
                "i-1".parse().unwrap(),
                "ecs.g7.large".parse().unwrap()
            ),
            &l,
            0
        )
        .to_string()
        .contains("pool id"));
        let far = [vsw("vsw-a", "cn-hangzhou-i", false), vsw("vsw-b", "cn-hangzhou-i", false)];
        assert!(config().resolve(&l, 0, Some(&zone), &far).unwrap_err().to_string().contains("zone"));
        assert!(config().resolve(&l, 0, Some(&zone), &far[..1]).unwrap_err().to_string().contains("not found"));
    }
}
