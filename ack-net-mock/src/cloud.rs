//! [`MockCloud`]: start the mock on a loopback port, reach into its state, read its call log,
//! inject faults, stop it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::Credentials;
use crate::calls::{ActionCount, CallRecord};
use crate::dispatch::Core;
use crate::ecs::InstanceSeed;
use crate::error::{HandlerResult, MockError};
use crate::faults::{FaultSpec, Faults};
use crate::state::State;
use crate::vpc::{NewVSwitch, NewVpc};

/// Why the mock could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Binding the port failed.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The preloaded state was refused.
    #[error("preload: {0}")]
    Preload(MockError),
    /// A fault rule is invalid.
    #[error("fault rule for {target}: {reason}")]
    Fault {
        /// The action or `*`.
        target: String,
        /// What is wrong.
        reason: String,
    },
}

/// State to create at start: VPCs, then VSwitches, then instances (each with its primary ENI).
///
/// ```json
/// {"vpcs": [{"RegionId": "cn-hangzhou", "CidrBlock": "10.0.0.0/8", "VpcId": "vpc-preload1"}],
///  "vswitches": [{"VpcId": "vpc-preload1", "ZoneId": "cn-hangzhou-h", "CidrBlock": "10.1.0.0/16"}],
///  "instances": [{"RegionId": "cn-hangzhou", "ZoneId": "cn-hangzhou-h", "InstanceType": "ecs.g7.large",
///                 "VSwitchId": "vsw-..."}]}
/// ```
/// VSwitches without a `VSwitchId` get a generated one; an instance may name its VSwitch by
/// the VSwitch's `VSwitchName` instead of its id.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Preload {
    /// VPCs to create.
    pub vpcs: Vec<NewVpc>,
    /// VSwitches to create.
    pub vswitches: Vec<NewVSwitch>,
    /// Instances to create.
    pub instances: Vec<InstanceSeed>,
}

impl Preload {
    /// Creates everything in `state`; answers the ids created.
    pub fn apply(&self, state: &mut State) -> Result<Value, MockError> {
        let now = tokio::time::Instant::now();
        // Preloaded resources are Available at once.
        let delay = std::mem::take(&mut state.vpc.pending_delay);
        let result = (|| {
            let mut vpcs = Vec::new();
            for v in &self.vpcs {
                vpcs.push(crate::vpc::create_vpc(state, now, v.clone())?);
            }
            let mut vswitches = Vec::new();
            for v in &self.vswitches {
                vswitches.push(crate::vpc::create_vswitch(state, now, v.clone())?);
            }
            let mut instances = Vec::new();
            for i in &self.instances {
                let mut seed = i.clone();
                if state.vpc.vswitch(&seed.vswitch_id).is_none() {
                    if let Some(e) = state.vpc.vswitches.values().find(|e| e.name == seed.vswitch_id) {
                        seed.vswitch_id = e.info.id.clone();
                    }
                }
                instances.push(crate::ecs::create_instance(state, seed)?);
            }
            Ok(json!({ "VpcIds": vpcs, "VSwitchIds": vswitches, "Instances": instances }))
        })();
        state.vpc.pending_delay = delay;
        result
    }
}

/// Configures and starts a [`MockCloud`].
#[derive(Debug)]
pub struct MockCloudBuilder {
    seed: u64,
    creds: Credentials,
    listen: SocketAddr,
    ecs_delays: Option<(Duration, Duration)>,
    pending_delay: Duration,
    faults: Vec<(String, FaultSpec)>,
    preload: Option<Preload>,
    call_log_capacity: usize,
    bound: Option<std::net::TcpListener>,
    #[cfg(all(feature = "fabric", target_os = "linux"))]
    fabric: Option<crate::fabric::FabricConfig>,
}

impl Default for MockCloudBuilder {
    fn default() -> Self {
        Self {
            seed: 0,
            creds: Credentials::default(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ecs_delays: None,
            pending_delay: Duration::ZERO,
            faults: Vec::new(),
            preload: None,
            call_log_capacity: 100_000,
            bound: None,
            #[cfg(all(feature = "fabric", target_os = "linux"))]
            fabric: None,
        }
    }
}

impl MockCloudBuilder {
    /// Seeds ids, MACs, addresses, request ids and fault decisions (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Accepts this AccessKey pair; repeatable. Without any, `testid`/`testsecret`.
    pub fn credentials(mut self, id: &str, secret: &str) -> Self {
        self.creds.add(id, secret);
        self
    }

    /// Accepts this STS triple: the key works only with this SecurityToken.
    pub fn sts_credentials(mut self, id: &str, secret: &str, token: &str) -> Self {
        self.creds.add_sts(id, secret, token);
        self
    }

    /// Accepts this SecurityToken together with any configured key; repeatable.
    pub fn sts_token(mut self, token: &str) -> Self {
        self.creds.add_token(token);
        self
    }

    /// Where to listen (default `127.0.0.1:0`, a free port).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// How long ENIs stay `Attaching` and `Detaching`.
    pub fn ecs_delays(mut self, attach: Duration, detach: Duration) -> Self {
        self.ecs_delays = Some((attach, detach));
        self
    }

    /// How long new VPCs, VSwitches and route entries stay `Pending` (default zero).
    pub fn pending_delay(mut self, delay: Duration) -> Self {
        self.pending_delay = delay;
        self
    }

    /// Injects faults into calls of `target` (an action name, or `*` for every action).
    pub fn fault(mut self, target: &str, spec: FaultSpec) -> Self {
        self.faults.push((target.to_owned(), spec));
        self
    }

    /// State to create at start.
    pub fn preload(mut self, preload: Preload) -> Self {
        self.preload = Some(preload);
        self
    }

    /// How many calls the log keeps (oldest fall off; default 100,000; counters are exact).
    pub fn call_log_capacity(mut self, n: usize) -> Self {
        self.call_log_capacity = n;
        self
    }

    /// Serves on a listener bound already (it wins over [`MockCloudBuilder::listen`]); e.g. one
    /// bound before the process entered the fabric's sandbox, so that the port stays on the
    /// machine's network.
    pub fn bound_listener(mut self, listener: std::net::TcpListener) -> Self {
        self.bound = Some(listener);
        self
    }

    /// Materializes the state as Linux networking (see [`crate::fabric`]). If the fabric cannot
    /// start, the mock serves without it and [`MockCloud::fabric_error`] says why.
    #[cfg(all(feature = "fabric", target_os = "linux"))]
    pub fn fabric(mut self, config: crate::fabric::FabricConfig) -> Self {
        self.fabric = Some(config);
        self
    }

    /// Binds the port and starts serving on the current tokio runtime.
    pub async fn start(self) -> Result<MockCloud, Error> {
        let mut creds = self.creds;
        if creds.is_empty() {
            creds.add(crate::client::TEST_ACCESS_KEY_ID, crate::client::TEST_ACCESS_KEY_SECRET);
        }
        let mut faults = Faults::new(self.seed);
        for (target, spec) in self.faults {
            faults.set(&target, spec).map_err(|reason| Error::Fault { target: target.clone(), reason })?;
        }
        let mut state = State::new(self.seed);
        if let Some((attach, detach)) = self.ecs_delays {
            state.ecs.set_delays(attach, detach);
        }
        if let Some(p) = &self.preload {
            p.apply(&mut state).map_err(Error::Preload)?;
        }
        state.vpc.set_pending_delay(self.pending_delay);
        let listener = match self.bound {
            Some(l) => l.set_nonblocking(true).and_then(|()| TcpListener::from_std(l)),
            None => TcpListener::bind(self.listen).await,
        }
        .map_err(|source| Error::Bind { addr: self.listen, source })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind { addr: self.listen, source })?;
        let core = Arc::new(Core::new(state, creds, faults, self.call_log_capacity, self.seed));
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(crate::server::serve(listener, core.clone(), rx));
        tracing::debug!(%addr, "ack-net-mock listening");
        #[cfg(all(feature = "fabric", target_os = "linux"))]
        let fabric = self.fabric.map(|config| {
            crate::fabric::Fabric::start(core.clone(), config).inspect_err(|e| tracing::error!(error = %e, "no fabric"))
        });
        Ok(MockCloud {
            core,
            addr,
            shutdown: tx,
            task: Some(task),
            #[cfg(all(feature = "fabric", target_os = "linux"))]
            fabric,
        })
    }
}

/// A running mock cloud. Dropping it stops the server; [`MockCloud::shutdown`] also waits
/// for it.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use ack_net_core::RpcRequest;
/// use ack_net_vpc::VPC;
///
/// let mock = ack_net_mock::MockCloud::builder().seed(1).start().await?;
/// let client = mock.client_builder().build()?;
/// let vpc: serde_json::Value =
///     client.call(RpcRequest::idempotent_write(VPC, "CreateVpc").param("CidrBlock", "10.0.0.0/8")).await?;
/// assert!(vpc["VpcId"].as_str().unwrap().starts_with("vpc-"));
/// assert_eq!(mock.counters()["CreateVpc"].ok, 1);
/// mock.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct MockCloud {
    core: Arc<Core>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    #[cfg(all(feature = "fabric", target_os = "linux"))]
    fabric: Option<Result<crate::fabric::Fabric, crate::fabric::FabricError>>,
}

impl MockCloud {
    /// A builder with the defaults (seed 0, `testid`/`testsecret`, a free loopback port).
    pub fn builder() -> MockCloudBuilder {
        MockCloudBuilder::default()
    }

    /// Starts a mock with the defaults.
    pub async fn start() -> Result<MockCloud, Error> {
        Self::builder().start().await
    }

    /// `http://127.0.0.1:PORT`, the endpoint to give a client.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// An [`RpcClient`](ack_net_core::RpcClient) builder pointed at this mock with its default
    /// AccessKey (`testid`/`testsecret`), region `cn-hangzhou`, no client-side rate limits and no
    /// retries ([`crate::client_builder_at`] with [`MockCloud::url`]). Add an observer, a retry
    /// policy or other credentials before `build` as needed.
    pub fn client_builder(&self) -> ack_net_core::RpcClientBuilder {
        crate::client::client_builder_at(&self.url())
    }

    /// Answers one RPC request as the server does, without a socket: parse, verify the signature,
    /// check the nonce, apply the fault rules, run the handler, log, encode. `None` when a fault
    /// rule drops the connection or loses the reply. The admin API (`/__mock/`) is not served
    /// here.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = ack_net_mock::MockCloud::start().await?;
    /// let unsigned = ack_net_mock::Incoming {
    ///     method: "GET",
    ///     query: "Action=DescribeVpcs&Version=2016-04-28&RegionId=cn-hangzhou",
    ///     headers: &[],
    ///     body: b"",
    /// };
    /// let (status, body) = mock.answer(&unsigned).await.expect("an answer");
    /// assert_eq!(status, 400);
    /// assert!(String::from_utf8(body)?.contains("MissingParameter"));
    /// # Ok(()) }
    /// ```
    pub async fn answer(&self, request: &crate::Incoming<'_>) -> Option<(u16, Vec<u8>)> {
        match self.core.process(request).await {
            crate::dispatch::Outcome::Respond { status, body } => Some((status, body)),
            crate::dispatch::Outcome::Drop => None,
        }
    }

    /// Runs `f` on the state, under the lock every request takes.
    pub fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.core.world().state)
    }

    /// The calls logged so far, oldest first.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.core.calls().records()
    }

    /// The logged calls of one action.
    pub fn calls_of(&self, action: &str) -> Vec<CallRecord> {
        self.calls().into_iter().filter(|c| c.action == action).collect()
    }

    /// Calls per action.
    pub fn counters(&self) -> BTreeMap<String, ActionCount> {
        self.core.calls().counters()
    }

    /// How many calls of `action` arrived (whatever their outcome).
    pub fn count(&self, action: &str) -> u64 {
        self.core.calls().counters().get(action).map(|c| c.total).unwrap_or(0)
    }

    /// Forgets the call log and counters.
    pub fn clear_calls(&self) {
        self.core.calls().clear();
    }

    /// Creates an ECS instance with its primary ENI (as the admin API does).
    pub fn create_instance(&self, seed: InstanceSeed) -> HandlerResult {
        crate::ecs::create_instance(&mut self.core.world().state, seed)
    }

    /// Creates a VPC directly (no call logged); returns its id.
    pub fn create_vpc(&self, spec: NewVpc) -> Result<String, MockError> {
        crate::vpc::create_vpc(&mut self.core.world().state, tokio::time::Instant::now(), spec)
    }

    /// Creates a VSwitch directly (no call logged); returns its id.
    pub fn create_vswitch(&self, spec: NewVSwitch) -> Result<String, MockError> {
        crate::vpc::create_vswitch(&mut self.core.world().state, tokio::time::Instant::now(), spec)
    }

    /// Describes a VPC, VSwitches, a security group and instances to create at once in this
    /// mock's state; see [`ScenarioBuilder`](crate::ScenarioBuilder).
    pub fn scenario(&self) -> crate::ScenarioBuilder<'_> {
        crate::scenario::ScenarioBuilder::new(self)
    }

    /// Creates preloaded state now.
    pub fn preload(&self, p: &Preload) -> Result<Value, MockError> {
        p.apply(&mut self.core.world().state)
    }

    /// Sets the fault rule for `target` (an action or `*`); `FaultSpec::none()` removes it.
    pub fn set_fault(&self, target: &str, spec: FaultSpec) -> Result<(), Error> {
        self.core.faults().set(target, spec).map_err(|reason| Error::Fault { target: target.to_owned(), reason })
    }

    /// Runs the next `n` calls of `action` and loses their replies (the call takes effect, the
    /// connection is reset unanswered), whatever the fault rules say; then the rules apply again.
    pub fn lose_next_replies(&self, action: &str, n: u32) {
        self.core.faults().lose_next_replies(action, n);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.core.faults().clear();
    }

    /// How long new VPCs, VSwitches and route entries stay `Pending`.
    pub fn set_pending_delay(&self, delay: Duration) {
        self.core.world().state.vpc.set_pending_delay(delay);
    }

    /// How long ENIs stay `Attaching` and `Detaching`.
    pub fn set_ecs_delays(&self, attach: Duration, detach: Duration) {
        self.core.world().state.ecs.set_delays(attach, detach);
    }

    /// The whole state as JSON (VPC, ECS and SLB parts, fault rules, counters).
    pub fn dump(&self) -> Value {
        dump_core(&self.core)
    }

    /// The running data plane, when the builder asked for one and it started.
    #[cfg(all(feature = "fabric", target_os = "linux"))]
    pub fn fabric(&self) -> Option<&crate::fabric::Fabric> {
        self.fabric.as_ref().and_then(|f| f.as_ref().ok())
    }

    /// Why the data plane the builder asked for did not start.
    #[cfg(all(feature = "fabric", target_os = "linux"))]
    pub fn fabric_error(&self) -> Option<&crate::fabric::FabricError> {
        self.fabric.as_ref().and_then(|f| f.as_ref().err())
    }

    /// Stops accepting, lets open requests finish (up to a few seconds) and waits; then
    /// removes everything the data plane made.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        #[cfg(all(feature = "fabric", target_os = "linux"))]
        if let Some(Ok(mut f)) = self.fabric.take() {
            let _ = tokio::task::spawn_blocking(move || f.stop()).await;
        }
    }
}

impl Drop for MockCloud {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The state dump behind [`MockCloud::dump`] and `GET /__mock/state`.
pub(crate) fn dump_core(core: &Core) -> Value {
    let (vpc, ecs, slb) = {
        let w = core.world();
        (w.state.vpc.dump(), w.state.ecs.dump(), w.state.slb.dump())
    };
    let faults = serde_json::to_value(core.faults().rules()).unwrap_or_default();
    let counters = serde_json::to_value(core.calls().counters()).unwrap_or_default();
    let mut dump = json!({ "vpc": vpc, "ecs": ecs, "slb": slb, "faults": faults, "counters": counters });
    if let Some(fabric) = core.fabric_report().clone() {
        dump["fabric"] = fabric;
    }
    dump
}
