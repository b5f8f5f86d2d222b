//! The watches that feed a [`NetworkPolicyReconciler`], and its sync loop.

use std::collections::HashSet;
use std::sync::Arc;

use futures_util::stream::{self, BoxStream};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Pod, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, DynamicObject};
use kube::runtime::events::EventType;
use kube::runtime::reflector::Store;
use kube::runtime::{watcher, WatchStreamExt};
use tokio::sync::Notify;

use super::{load_table, store, ClusterObjects, EnforceError, NetworkPolicyReconciler, Refusal, RuleSink};
use crate::events::Events;
use crate::netpol::calico::NftTable;

/// The caches of every kind the rules depend on.
struct Caches {
    namespaces: Store<Namespace>,
    pods: Store<Pod>,
    service_accounts: Store<ServiceAccount>,
    policies: Store<NetworkPolicy>,
    calico: Vec<Store<DynamicObject>>,
}

impl Caches {
    /// Whether every cache has listed its objects once (waiting until then); the watches
    /// run concurrently, so waiting for one after the other costs nothing.
    async fn ready(&self) -> bool {
        self.namespaces.wait_until_ready().await.is_ok()
            && self.pods.wait_until_ready().await.is_ok()
            && self.service_accounts.wait_until_ready().await.is_ok()
            && self.policies.wait_until_ready().await.is_ok()
            && futures_util::future::join_all(self.calico.iter().map(Store::wait_until_ready))
                .await
                .iter()
                .all(Result::is_ok)
    }

    fn snapshot(&self) -> ClusterObjects {
        ClusterObjects {
            namespaces: self.namespaces.state(),
            pods: self.pods.state(),
            service_accounts: self.service_accounts.state(),
            policies: self.policies.state(),
            calico: self.calico.iter().flat_map(Store::state).collect(),
        }
    }
}

/// What the loop remembers between syncs.
#[derive(Default)]
struct Synced {
    /// The table loaded last.
    loaded: Option<NftTable>,
    /// The refusals already published, by object and reason.
    reported: HashSet<(String, String)>,
}

/// Feeds a reflector's writer from a watch; yields once per change.
fn watch<K>(api: Api<K>, writer: kube::runtime::reflector::store::Writer<K>) -> BoxStream<'static, ()>
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone + Send + Sync,
{
    watcher(api, watcher::Config::default()).default_backoff().reflect(writer).map(|_| ()).boxed()
}

impl NetworkPolicyReconciler {
    /// Runs until the process receives SIGTERM or Ctrl-C: watches every kind the rules depend
    /// on, and once each has listed its objects, syncs the node's rules after every burst of
    /// changes (see [`with_debounce`](Self::with_debounce)).
    ///
    /// It needs RBAC permission to list and watch `namespaces`, `pods`, `serviceaccounts`,
    /// `networkpolicies.networking.k8s.io` and the Calico resources given to
    /// [`with_calico`](Self::with_calico), and to create and patch `events.events.k8s.io`.
    ///
    /// # Errors
    ///
    /// Only when it cannot start; failures of a sync are retried with the backoff.
    pub async fn run(self) -> Result<(), EnforceError> {
        let client = self.client.clone();
        let (namespaces, ns_writer) = store::<Namespace>(());
        let (pods, pod_writer) = store::<Pod>(());
        let (service_accounts, sa_writer) = store::<ServiceAccount>(());
        let (policies, policy_writer) = store::<NetworkPolicy>(());
        let mut changes = vec![
            watch(Api::<Namespace>::all(client.clone()), ns_writer),
            watch(Api::<Pod>::all(client.clone()), pod_writer),
            watch(Api::<ServiceAccount>::all(client.clone()), sa_writer),
            watch(Api::<NetworkPolicy>::all(client.clone()), policy_writer),
        ];
        let mut calico = Vec::new();
        for resource in &self.calico {
            let (reader, writer) = store::<DynamicObject>(resource.clone());
            let api = Api::<DynamicObject>::all_with(client.clone(), resource);
            changes.push(watch(api, writer));
            calico.push(reader);
        }
        let caches = Caches { namespaces, pods, service_accounts, policies, calico };

        let changed = Arc::new(Notify::new());
        let feed = {
            let changed = changed.clone();
            stream::select_all(changes).for_each(move |()| {
                changed.notify_one();
                async {}
            })
        };
        let events = self.events();
        let sync = async {
            if !caches.ready().await {
                return std::future::pending::<()>().await;
            }
            let mut synced = Synced::default();
            let mut failures = 0;
            loop {
                match self.sync(&caches.snapshot(), &mut synced, &events).await {
                    Ok(()) => {
                        failures = 0;
                        changed.notified().await;
                        tokio::time::sleep(self.debounce).await;
                    }
                    Err(e) => {
                        tracing::warn!(node = %self.node, error = %e, "network policies not synced; the rules loaded last stay");
                        tokio::time::sleep(self.backoff.delay(failures)).await;
                        failures = failures.saturating_add(1);
                    }
                }
            }
        };
        tokio::select! {
            () = feed => {}
            () = sync => {}
            () = shutdown() => {}
        }
        Ok(())
    }

    /// One sync: render, load if the text changed, publish new refusals.
    async fn sync(&self, objects: &ClusterObjects, synced: &mut Synced, events: &Events) -> Result<(), EnforceError> {
        let rules = self.render(objects)?;
        // Updates go to the table in force, whichever of the two names it has.
        let wanted = match &synced.loaded {
            Some(loaded) => rules.table.renamed(loaded.name()),
            None => rules.table.clone(),
        };
        if synced.loaded.as_ref() != Some(&wanted) {
            // Unknown state after a failure: the next sync loads the whole table.
            let loaded = match synced.loaded.take() {
                Some(old) => match self.load(wanted.update_from(&old)).await {
                    Ok(bytes) => {
                        tracing::info!(node = %self.node, bytes, "network policy rules updated");
                        Ok(wanted)
                    }
                    Err(e) => {
                        tracing::warn!(node = %self.node, error = %e, "the update was refused; loading the whole table");
                        self.load_whole(rules.table.clone()).await
                    }
                },
                None => self.load_whole(rules.table.clone()).await,
            };
            synced.loaded = Some(loaded?);
        }
        let current: HashSet<(String, String)> = rules.refused.iter().map(refusal_key).collect();
        for refusal in &rules.refused {
            if synced.reported.contains(&refusal_key(refusal)) {
                continue;
            }
            tracing::warn!(node = %self.node, policy = %refusal_key(refusal).0, "{refusal}");
            let published = events
                .publish_about(
                    refusal.object.clone(),
                    EventType::Warning,
                    "PolicyRefused",
                    "Enforce",
                    refusal.to_string(),
                )
                .await;
            match published {
                Ok(()) => {
                    synced.reported.insert(refusal_key(refusal));
                }
                Err(e) => tracing::warn!(error = %e, "could not publish an Event"),
            }
        }
        synced.reported.retain(|k| current.contains(k));
        Ok(())
    }
}

impl NetworkPolicyReconciler {
    /// Loads `text` through the sink on a blocking thread; its size.
    async fn load(&self, text: String) -> Result<usize, EnforceError> {
        self.blocking(move |sink| sink.load(&text).map(|()| text.len())).await
    }

    /// Loads `table` whole with [`load_table`] on a blocking thread; the table as loaded.
    async fn load_whole(&self, table: NftTable) -> Result<NftTable, EnforceError> {
        let loaded = self.blocking(move |sink| load_table(sink, &table)).await?;
        tracing::info!(node = %self.node, table = loaded.name(), "network policy rules loaded whole");
        Ok(loaded)
    }

    /// Runs `f` with the sink on a blocking thread (`nft` is a process to wait for).
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn RuleSink) -> Result<T, EnforceError> + Send + 'static,
    ) -> Result<T, EnforceError> {
        let sink = self.sink.clone();
        tokio::task::spawn_blocking(move || f(&*sink))
            .await
            .map_err(|e| EnforceError::Load { reason: e.to_string() })?
    }
}

fn refusal_key(refusal: &Refusal) -> (String, String) {
    let o = &refusal.object;
    let object = format!(
        "{} {}/{}",
        o.kind.as_deref().unwrap_or_default(),
        o.namespace.as_deref().unwrap_or_default(),
        o.name.as_deref().unwrap_or_default()
    );
    (object, refusal.error.clone())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown() {
    #[cfg(unix)]
    {
        let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
