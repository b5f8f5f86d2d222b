//! Leader election through a Kubernetes `Lease` (`coordination.k8s.io/v1`), so that several
//! replicas of a controller can run and exactly one of them acts.
//!
//! The algorithm is client-go's: the leader renews the Lease every `retry_period`; a
//! candidate takes it over when its holder has not renewed it for `lease_duration`, as
//! measured on the candidate's own monotonic clock from the moment it first saw the current
//! record (so clock skew between machines does not matter); every write carries the Lease's
//! `resourceVersion`, so two candidates can never both win. A leader that cannot renew within
//! `renew_deadline` (shorter than `lease_duration`) stops acting before anyone else may start.
//!
//! [`LeaderElector::run`] wraps the work (a reconciler's `run()` future): it waits to become
//! leader, runs the work while it renews, drops (cancels) the work as soon as leadership is
//! lost, and gives the Lease up when the work ends so that another replica takes over at once.
//!
//! ```no_run
//! use ack_net_k8s::leader::{LeaderElector, LeaseConfig};
//! use ack_net_k8s::service::{ServiceConfig, ServiceReconciler};
//!
//! # async fn demo(kube_client: kube::Client, slb: ack_net_slb::SlbClient) -> Result<(), Box<dyn std::error::Error>> {
//! let lease = LeaseConfig::new("kube-system", "ack-net-service-controller", LeaseConfig::identity_from_env());
//! let elector = LeaderElector::new(kube_client.clone(), lease)?;
//! let reconciler = ServiceReconciler::new(kube_client, slb, ServiceConfig::new("c-1234"));
//! // Returns when the controller stops (SIGTERM), or fails with `LeaderError::Lost`:
//! // exit then, and let the Deployment restart the replica as a candidate.
//! elector.run(reconciler.run()).await??;
//! # Ok(()) }
//! ```
//!
//! The controller needs RBAC permission to get, create and update
//! `leases.coordination.k8s.io` in the Lease's namespace.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use tokio::time::Instant;

/// The most bytes of a holder identity (the Lease field's limit is the API server's; this
/// keeps it a readable name).
const MAX_IDENTITY: usize = 253;

/// Where the Lease is and how it is held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseConfig {
    namespace: String,
    name: String,
    identity: String,
    lease_duration: Duration,
    renew_deadline: Duration,
    retry_period: Duration,
}

impl LeaseConfig {
    /// The Lease `namespace/name`, held as `identity` (unique per replica: the pod name).
    /// Timings default to client-go's: a 15 s lease, renewed every 2 s, given up when not
    /// renewed within 10 s.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>, identity: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
            identity: identity.into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }

    /// A replica's identity: `$POD_NAME` (set it from the downward API), else `$HOSTNAME`,
    /// else `ack-net-<process id>`.
    pub fn identity_from_env() -> String {
        ["POD_NAME", "HOSTNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| format!("ack-net-{}", std::process::id()))
    }

    /// How long a Lease that is not renewed stays its holder's.
    pub fn lease_duration(mut self, d: Duration) -> Self {
        self.lease_duration = d;
        self
    }

    /// How long the leader keeps acting without a successful renewal (shorter than the lease
    /// duration, so that it stops before another replica may start).
    pub fn renew_deadline(mut self, d: Duration) -> Self {
        self.renew_deadline = d;
        self
    }

    /// How often the leader renews, and a candidate tries.
    pub fn retry_period(mut self, d: Duration) -> Self {
        self.retry_period = d;
        self
    }

    /// This replica's identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Checks names and timings: `retry_period < renew_deadline < lease_duration`, each at
    /// least a millisecond and the lease at least a second (the Lease counts whole seconds).
    pub fn validate(&self) -> Result<(), LeaderError> {
        let invalid = |what, reason: String| Err(LeaderError::InvalidConfig { what, reason });
        for (what, v) in [("namespace", &self.namespace), ("name", &self.name)] {
            let ok = !v.is_empty()
                && v.len() <= 253
                && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
                && v.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                && v.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric());
            if !ok {
                return invalid(what, format!("{v:?} is not a DNS subdomain name"));
            }
        }
        if self.identity.is_empty() || self.identity.len() > MAX_IDENTITY || self.identity.chars().any(char::is_control)
        {
            return invalid("identity", format!("must be 1-{MAX_IDENTITY} bytes without control characters"));
        }
        if self.lease_duration < Duration::from_secs(1) || self.lease_duration.as_secs() > i32::MAX as u64 {
            return invalid(
                "lease_duration",
                format!("{:?} must be a whole number of seconds, at least 1", self.lease_duration),
            );
        }
        if self.retry_period < Duration::from_millis(1) {
            return invalid("retry_period", format!("{:?} must be at least 1 ms", self.retry_period));
        }
        if self.renew_deadline <= self.retry_period || self.renew_deadline >= self.lease_duration {
            return invalid(
                "renew_deadline",
                format!(
                    "{:?} must be longer than the retry period ({:?}) and shorter than the lease ({:?})",
                    self.renew_deadline, self.retry_period, self.lease_duration
                ),
            );
        }
        Ok(())
    }
}

/// Why leader election stopped, or could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeaderError {
    /// The configuration is not valid (nothing was sent).
    #[error("leader election: invalid {what}: {reason}")]
    InvalidConfig {
        /// The setting at fault.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Leadership was lost: another replica holds the Lease, or it could not be renewed in
    /// time. The work was stopped.
    #[error("leadership of the Lease lost: {reason}")]
    Lost {
        /// What happened.
        reason: String,
    },
}

/// What one attempt at the Lease found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeaseState {
    /// This replica holds the Lease (acquired or renewed now).
    Leader,
    /// Another replica holds it and has renewed it within the lease duration.
    Follower {
        /// Its identity, when known.
        holder: Option<String>,
    },
}

/// The Lease's record as a candidate compares it between looks.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Record {
    holder: Option<String>,
    acquired: Option<String>,
    renewed: Option<String>,
    transitions: i32,
    duration: Option<i32>,
}

impl Record {
    fn of(spec: &LeaseSpec) -> Self {
        Self {
            holder: spec.holder_identity.clone().filter(|h| !h.is_empty()),
            acquired: spec.acquire_time.as_ref().map(|t| t.0.to_string()),
            renewed: spec.renew_time.as_ref().map(|t| t.0.to_string()),
            transitions: spec.lease_transitions.unwrap_or(0),
            duration: spec.lease_duration_seconds,
        }
    }
}

/// Elects one leader among the replicas sharing a Lease; see the [module](self).
pub struct LeaderElector {
    api: Api<Lease>,
    cfg: LeaseConfig,
    /// The record last seen, and when (this replica's monotonic clock).
    observed: Mutex<Option<(Record, Instant)>>,
    leading: AtomicBool,
}

impl std::fmt::Debug for LeaderElector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderElector").field("cfg", &self.cfg).field("leading", &self.is_leader()).finish()
    }
}

impl LeaderElector {
    /// An elector for the Lease of `cfg`, after checking the configuration.
    pub fn new(client: kube::Client, cfg: LeaseConfig) -> Result<Self, LeaderError> {
        cfg.validate()?;
        Ok(Self {
            api: Api::namespaced(client, &cfg.namespace),
            cfg,
            observed: Mutex::new(None),
            leading: AtomicBool::new(false),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &LeaseConfig {
        &self.cfg
    }

    /// Whether this replica held the Lease at its last attempt.
    pub fn is_leader(&self) -> bool {
        self.leading.load(Ordering::Acquire)
    }

    fn observe(&self, record: &Record, now: Instant) -> Instant {
        let mut seen = self.observed.lock().unwrap_or_else(PoisonError::into_inner);
        match &*seen {
            Some((r, at)) if r == record => *at,
            _ => {
                *seen = Some((record.clone(), now));
                now
            }
        }
    }

    fn spec(&self, acquired: MicroTime, now: MicroTime, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.cfg.identity.clone()),
            lease_duration_seconds: Some(self.cfg.lease_duration.as_secs() as i32),
            acquire_time: Some(acquired),
            renew_time: Some(now),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    fn settle(&self, state: LeaseState) -> LeaseState {
        self.leading.store(state == LeaseState::Leader, Ordering::Release);
        state
    }

    /// One attempt: creates the Lease, renews it, or takes it over when its holder let it
    /// expire; otherwise reports who holds it. A write that loses a race (409) is a
    /// [`LeaseState::Follower`]; other API errors are returned.
    pub async fn try_acquire_or_renew(&self) -> Result<LeaseState, kube::Error> {
        let now = MicroTime(Timestamp::now());
        let pp = PostParams { field_manager: Some("ack-net-leader-election".to_owned()), ..PostParams::default() };
        let Some(mut lease) = self.api.get_opt(&self.cfg.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.cfg.name.clone()),
                    namespace: Some(self.cfg.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.spec(now.clone(), now, 0)),
            };
            return match self.api.create(&pp, &lease).await {
                Ok(created) => {
                    self.observe(&Record::of(&created.spec.unwrap_or_default()), Instant::now());
                    Ok(self.settle(LeaseState::Leader))
                }
                Err(e) if is_conflict(&e) => Ok(self.settle(LeaseState::Follower { holder: None })),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let record = Record::of(&spec);
        let seen_at = self.observe(&record, Instant::now());
        let mine = record.holder.as_deref() == Some(self.cfg.identity.as_str());
        if let (Some(holder), false) = (&record.holder, mine) {
            let duration = record
                .duration
                .and_then(|s| u64::try_from(s).ok())
                .map_or(self.cfg.lease_duration, Duration::from_secs);
            if Instant::now() < seen_at + duration {
                return Ok(self.settle(LeaseState::Follower { holder: Some(holder.clone()) }));
            }
        }
        let new = if mine {
            self.spec(spec.acquire_time.clone().unwrap_or_else(|| now.clone()), now, record.transitions)
        } else {
            let transitions =
                if record.holder.is_some() { record.transitions.saturating_add(1) } else { record.transitions };
            self.spec(now.clone(), now, transitions)
        };
        lease.spec = Some(new);
        match self.api.replace(&self.cfg.name, &pp, &lease).await {
            Ok(written) => {
                self.observe(&Record::of(&written.spec.unwrap_or_default()), Instant::now());
                if !mine {
                    tracing::info!(lease = %self.cfg.name, identity = %self.cfg.identity, previous = ?record.holder, "became leader");
                }
                Ok(self.settle(LeaseState::Leader))
            }
            Err(e) if is_conflict(&e) => Ok(self.settle(LeaseState::Follower { holder: record.holder })),
            Err(e) => Err(e),
        }
    }

    /// Waits until this replica holds the Lease, trying every retry period.
    pub async fn acquire(&self) {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(LeaseState::Leader) => return,
                Ok(LeaseState::Follower { holder }) => {
                    tracing::debug!(lease = %self.cfg.name, ?holder, "not the leader");
                }
                Err(e) => tracing::warn!(lease = %self.cfg.name, error = %e, "could not read or write the Lease"),
            }
            tokio::time::sleep(self.cfg.retry_period).await;
        }
    }

    /// Gives the Lease up if this replica holds it (its holder is cleared, so that another
    /// replica takes over at its next try instead of waiting for the lease to expire).
    pub async fn release(&self) -> Result<(), kube::Error> {
        self.leading.store(false, Ordering::Release);
        let Some(mut lease) = self.api.get_opt(&self.cfg.name).await? else { return Ok(()) };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.cfg.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        match self.api.replace(&self.cfg.name, &PostParams::default(), &lease).await {
            Err(e) if !is_conflict(&e) => Err(e),
            _ => Ok(()),
        }
    }

    /// Keeps the Lease while `work` runs; fails with [`LeaderError::Lost`] when another
    /// replica holds it or it could not be renewed within the renew deadline.
    async fn keep(&self) -> LeaderError {
        let mut renewed = Instant::now();
        loop {
            tokio::time::sleep(self.cfg.retry_period).await;
            let left = (renewed + self.cfg.renew_deadline).saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.try_acquire_or_renew()).await {
                Ok(Ok(LeaseState::Leader)) => renewed = Instant::now(),
                Ok(Ok(LeaseState::Follower { holder })) => {
                    return LeaderError::Lost {
                        reason: format!("the Lease is held by {}", holder.as_deref().unwrap_or("another replica")),
                    }
                }
                Ok(Err(e)) => tracing::warn!(lease = %self.cfg.name, error = %e, "could not renew the Lease"),
                Err(_) => {}
            }
            if Instant::now() >= renewed + self.cfg.renew_deadline {
                return LeaderError::Lost {
                    reason: format!("not renewed within the renew deadline ({:?})", self.cfg.renew_deadline),
                };
            }
        }
    }

    /// Waits to become leader, then runs `work` while renewing the Lease. When `work` ends,
    /// the Lease is given up and its output returned; when leadership is lost first, `work`
    /// is dropped (cancelled) and the answer is [`LeaderError::Lost`]: the process should
    /// then exit, or call `run` again to stand as a candidate once more.
    pub async fn run<F: Future>(&self, work: F) -> Result<F::Output, LeaderError> {
        self.acquire().await;
        tracing::info!(lease = %self.cfg.name, identity = %self.cfg.identity, "leading");
        let outcome = tokio::select! {
            out = work => Ok(out),
            lost = self.keep() => Err(lost),
        };
        match &outcome {
            Ok(_) => {
                if let Err(e) = self.release().await {
                    tracing::warn!(lease = %self.cfg.name, error = %e, "could not give the Lease up");
                }
            }
            Err(e) => {
                self.leading.store(false, Ordering::Release);
                tracing::error!(lease = %self.cfg.name, error = %e, "stopped leading");
            }
        }
        outcome
    }
}

fn is_conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configurations_are_checked() {
        assert!(LeaseConfig::new("kube-system", "ack-net", "pod-a").validate().is_ok());
        let bad = [
            LeaseConfig::new("", "ack-net", "pod-a"),
            LeaseConfig::new("kube-system", "Ack_Net", "pod-a"),
            LeaseConfig::new("kube-system", "ack-net-", "pod-a"),
            LeaseConfig::new("kube-system", "ack-net", ""),
            LeaseConfig::new("kube-system", "ack-net", "a\nb"),
            LeaseConfig::new("kube-system", "ack-net", "pod-a").lease_duration(Duration::from_millis(500)),
            LeaseConfig::new("kube-system", "ack-net", "pod-a").renew_deadline(Duration::from_secs(15)),
            LeaseConfig::new("kube-system", "ack-net", "pod-a").retry_period(Duration::from_secs(10)),
            LeaseConfig::new("kube-system", "ack-net", "pod-a").retry_period(Duration::ZERO),
        ];
        for cfg in bad {
            assert!(matches!(cfg.validate(), Err(LeaderError::InvalidConfig { .. })), "{cfg:?}");
        }
    }

    #[test]
    fn the_identity_comes_from_the_environment_or_the_process() {
        assert!(!LeaseConfig::identity_from_env().is_empty());
    }
}
