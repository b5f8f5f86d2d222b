//! Waiters, and the compound operations that leave no garbage and survive a crash:
//! `create_and_attach` and `detach_and_delete`.

use ack_net_core::ErrorInfo;
use futures_util::TryStreamExt;

use super::{CreateNetworkInterface, EniStatus, EniType, NetworkInterface, NetworkInterfaces};
use crate::common::{validate_client_token, Removed};
use crate::error::Cleanup;
use crate::wait::{wait_until, Look};
use crate::{EniId, Error, InstanceId, Tag, WaitPolicy};

/// The tag `create_and_attach` puts on the ENIs it creates; its value is the operation's
/// client token, so a re-run after a crash finds the ENI instead of creating a second one.
pub const INTENT_TAG_KEY: &str = "ack-net-intent";

/// What [`NetworkInterfaces::detach_and_delete`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DetachAndDelete {
    /// The ENI.
    pub eni_id: EniId,
    /// The instance it was detached from, when it was attached.
    pub detached_from: Option<InstanceId>,
    /// Whether this run deleted it or it was already gone.
    pub deleted: Removed,
}

impl NetworkInterfaces {
    /// The ENI, or `None` when it does not exist.
    async fn find(&self, id: &EniId) -> Result<Option<NetworkInterface>, Error> {
        match self.get(id).await {
            Ok(e) => Ok(Some(e)),
            Err(e) if e.is_code("InvalidEniId.NotFound") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Polls until the ENI is `InUse` on `instance_id`, and returns it. An ENI in use on
    /// another instance is an [`Error::UnexpectedState`]; throttling, 5xx and "not found"
    /// only mean "look again"; [`Error::WaitTimeout`] when `policy`'s timeout passes first.
    pub async fn wait_until_in_use(
        &self,
        id: &EniId,
        instance: &InstanceId,
        policy: &WaitPolicy,
    ) -> Result<NetworkInterface, Error> {
        let wanted = format!("InUse on {instance}");
        wait_until(policy, "ENI", id.as_str(), &wanted, || async {
            let e = self.get(id).await?;
            if e.is_in_use_on(instance) {
                return Ok(Look::Ready(e));
            }
            if e.instance_id.as_ref().is_some_and(|i| i != instance) {
                return Err(Error::UnexpectedState {
                    eni_id: e.id.clone(),
                    status: e.describe_state(),
                    reason: format!("it was expected on {instance}"),
                });
            }
            Ok(Look::NotYet(e.describe_state()))
        })
        .await
    }

    /// Polls until the ENI is `Available`, and returns it.
    pub async fn wait_until_available(&self, id: &EniId, policy: &WaitPolicy) -> Result<NetworkInterface, Error> {
        wait_until(policy, "ENI", id.as_str(), "Available", || async {
            let e = self.get(id).await?;
            Ok(if e.status == EniStatus::Available { Look::Ready(e) } else { Look::NotYet(e.describe_state()) })
        })
        .await
    }

    /// Polls until the ENI no longer exists.
    pub async fn wait_until_gone(&self, id: &EniId, policy: &WaitPolicy) -> Result<(), Error> {
        wait_until(policy, "ENI", id.as_str(), "gone", || async {
            Ok(match self.find(id).await? {
                None => Look::Ready(()),
                Some(e) => Look::NotYet(e.describe_state()),
            })
        })
        .await
    }

    /// The ENI that `create_and_attach` created for `client_token`, if there is one (the
    /// oldest, should there be several).
    pub async fn find_by_intent(&self, client_token: &str) -> Result<Option<NetworkInterface>, Error> {
        validate_client_token(client_token)?;
        let mut found: Vec<NetworkInterface> =
            self.describe().tag(Tag::new(INTENT_TAG_KEY, client_token)).into_stream().try_collect().await?;
        found.retain(|e| e.tag(INTENT_TAG_KEY) == Some(client_token));
        Ok(if found.is_empty() { None } else { Some(found.swap_remove(0)) })
    }

    /// Creates an ENI with `request` and attaches it to `instance_id`, waiting until it is
    /// `InUse`; answers the attached ENI.
    ///
    /// - **No garbage:** when the attach is refused (`EniPerInstanceLimitExceeded`, another
    ///   zone...) or ends with the ENI back in `Available`, the new ENI is deleted, and
    ///   [`Error::AttachFailed`] says why and whether the deletion worked
    ///   ([`Cleanup`]).
    /// - **Crash-safe:** the ENI is created with the request's client token (one is
    ///   generated when unset) and tagged [`INTENT_TAG_KEY`]`=<token>`. Run again with the same
    ///   token after a crash, it finds that ENI and carries on from its state (attaching it,
    ///   or waiting for an attach in flight) instead of creating a second one.
    ///
    /// ```no_run
    /// # async fn demo(ecs: ack_net_eni::EcsClient) -> Result<(), ack_net_eni::Error> {
    /// use ack_net_eni::{InstanceId, SecurityGroupId, VSwitchId, WaitPolicy};
    /// let vswitch: VSwitchId = "vsw-bp1s5fnvk4gn2tws03624".parse()?;
    /// let group: SecurityGroupId = "sg-bp67acfmxazb4p".parse()?;
    /// let instance: InstanceId = "i-bp1abc".parse()?;
    /// let eni = ecs
    ///     .network_interfaces()
    ///     .create(&vswitch)
    ///     .security_group(group)
    ///     .secondary_ip_count(9)
    ///     .client_token("node-i-bp1abc-eni-1")
    ///     .send_and_attach(&instance, &WaitPolicy::default())
    ///     .await?;
    /// assert_eq!(eni.device_index.map(|i| i > 0), Some(true));
    /// # Ok(()) }
    /// ```
    pub async fn create_and_attach(
        &self,
        request: CreateNetworkInterface,
        instance_id: &InstanceId,
        policy: &WaitPolicy,
    ) -> Result<NetworkInterface, Error> {
        let (request, token) = request.with_intent()?;

        let eni = match self.find_by_intent(&token).await? {
            Some(found) => {
                tracing::debug!(eni = %found.id, state = %found.describe_state(), "resuming create_and_attach");
                found
            }
            None => request.send().await?,
        };
        self.bring_in_use(eni, instance_id, policy).await
    }

    /// Takes an ENI of ours from whatever state it is in to `InUse` on `instance`.
    async fn bring_in_use(
        &self,
        eni: NetworkInterface,
        instance: &InstanceId,
        policy: &WaitPolicy,
    ) -> Result<NetworkInterface, Error> {
        if eni.is_in_use_on(instance) {
            return Ok(eni);
        }
        if eni.instance_id.as_ref().is_some_and(|i| i != instance) {
            return Err(Error::UnexpectedState {
                eni_id: eni.id.clone(),
                status: eni.describe_state(),
                reason: format!("it was created to be attached to {instance}"),
            });
        }
        match &eni.status {
            EniStatus::Attaching => {}
            EniStatus::Available | EniStatus::Detaching => {
                if eni.status == EniStatus::Detaching {
                    self.wait_until_available(&eni.id, policy).await?;
                }
                if let Err(e) = self.attach(&eni.id, instance).send().await {
                    return Err(self.attach_failed(&eni.id, instance, e).await);
                }
            }
            _ => {
                return Err(Error::UnexpectedState {
                    eni_id: eni.id.clone(),
                    status: eni.describe_state(),
                    reason: "it can be attached only from Available".into(),
                })
            }
        }
        match self.wait_until_in_use(&eni.id, instance, policy).await {
            Ok(e) => Ok(e),
            // The cloud reports a failed attach by putting the ENI back to Available.
            Err(e @ Error::WaitTimeout(_)) if matches!(&e, Error::WaitTimeout(t) if t.last_seen == "Available") => {
                Err(self.attach_failed(&eni.id, instance, e).await)
            }
            Err(e) => Err(e),
        }
    }

    /// Deletes the ENI after a failed attach, and says what happened.
    async fn attach_failed(&self, eni_id: &EniId, instance: &InstanceId, cause: Error) -> Error {
        tracing::warn!(eni = %eni_id, instance = %instance, error = %cause, "attach failed; deleting the new ENI");
        let cleanup = match self.delete(eni_id).send().await {
            Ok(_) => Cleanup::Deleted,
            Err(e) => Cleanup::Failed(Box::new(e)),
        };
        Error::AttachFailed { eni_id: eni_id.clone(), instance_id: instance.clone(), source: Box::new(cause), cleanup }
    }

    /// Detaches the ENI from its instance (if attached), waits until it is `Available` and
    /// deletes it. Idempotent and crash-safe: run again, it carries on from the ENI's state
    /// (an ENI already gone is success). A primary ENI is refused.
    ///
    /// ```no_run
    /// # async fn demo(ecs: ack_net_eni::EcsClient) -> Result<(), ack_net_eni::Error> {
    /// use ack_net_eni::WaitPolicy;
    /// let eni: ack_net_eni::EniId = "eni-bp1abc".parse()?;
    /// let done = ecs.network_interfaces().detach_and_delete(&eni, &WaitPolicy::default()).await?;
    /// println!("{:?} from {:?}", done.deleted, done.detached_from);
    /// # Ok(()) }
    /// ```
    pub async fn detach_and_delete(&self, id: &EniId, policy: &WaitPolicy) -> Result<DetachAndDelete, Error> {
        let gone = |detached_from| Ok(DetachAndDelete { eni_id: id.clone(), detached_from, deleted: Removed::Already });
        let Some(mut eni) = self.find(id).await? else { return gone(None) };
        if eni.eni_type == EniType::Primary {
            return Err(Error::UnexpectedState {
                eni_id: id.clone(),
                status: eni.describe_state(),
                reason: "a primary ENI is released with its instance, not detached".into(),
            });
        }
        let detached_from = eni.instance_id.clone();
        if eni.status == EniStatus::Attaching {
            // Let the attach finish; detaching an Attaching ENI is refused.
            let instance = detached_from.clone().ok_or_else(|| Error::UnexpectedState {
                eni_id: id.clone(),
                status: eni.describe_state(),
                reason: "an attaching ENI without an instance".into(),
            })?;
            eni = self.wait_until_in_use(id, &instance, policy).await?;
        }
        match &eni.status {
            EniStatus::Available => {}
            EniStatus::InUse => {
                if let Some(instance) = &eni.instance_id {
                    self.detach(id, instance).send().await?;
                }
                if !self.settle_available(id, policy).await? {
                    return gone(detached_from);
                }
            }
            EniStatus::Detaching => {
                if !self.settle_available(id, policy).await? {
                    return gone(detached_from);
                }
            }
            EniStatus::Deleting => {
                self.wait_until_gone(id, policy).await?;
                return gone(detached_from);
            }
            _ => {
                return Err(Error::UnexpectedState {
                    eni_id: id.clone(),
                    status: eni.describe_state(),
                    reason: "cannot be detached or deleted from this state".into(),
                })
            }
        }
        let deleted = self.delete(id).send().await?;
        Ok(DetachAndDelete { eni_id: id.clone(), detached_from, deleted })
    }

    /// Waits until the ENI is `Available` (`true`) or gone (`false`).
    async fn settle_available(&self, id: &EniId, policy: &WaitPolicy) -> Result<bool, Error> {
        wait_until(policy, "ENI", id.as_str(), "Available", || async {
            Ok(match self.find(id).await? {
                None => Look::Ready(false),
                Some(e) if e.status == EniStatus::Available => Look::Ready(true),
                Some(e) => Look::NotYet(e.describe_state()),
            })
        })
        .await
    }
}
