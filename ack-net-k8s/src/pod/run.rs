//! The reconciler wired into a kube-runtime `Controller`: the pods of one node, their
//! deletions, and the periodic GC.

use std::sync::Arc;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::{watcher, Controller, WatchStreamExt};
use tokio::sync::mpsc;

use super::{Error, PodNetworkReconciler};

impl PodNetworkReconciler {
    /// Runs the reconciler until the process receives SIGTERM or Ctrl-C (in-flight
    /// reconciles finish first). One watch of the pods with `spec.nodeName` = this node feeds
    /// the cache, the `Controller` (pods added or changed) and the releases (pods deleted);
    /// GC runs as soon as the cache is filled (pods deleted while the agent was down) and
    /// then every [`with_gc_every`](Self::with_gc_every).
    ///
    /// It needs RBAC permission to list and watch `pods` (and patch them, for the
    /// annotation), and to create and patch `events.events.k8s.io`.
    pub async fn run(self) -> Result<(), Error> {
        let writer = self.take_writer().ok_or(Error::CacheTaken)?;
        let reader = self.store();
        let config = watcher::Config::default().fields(&format!("spec.nodeName={}", self.node));
        let (gone_tx, mut gone_rx) = mpsc::unbounded_channel::<Pod>();
        let pods = watcher(Api::<Pod>::all(self.client.clone()), config)
            .default_backoff()
            .reflect(writer)
            .inspect(move |event| {
                if let Ok(watcher::Event::Delete(pod)) = event {
                    // The receiver lives as long as this stream's consumer.
                    let _ = gone_tx.send(pod.clone());
                }
            })
            .applied_objects();
        let ctx = Arc::new(self);
        let controller = Controller::for_stream(pods, reader.clone())
            .shutdown_on_signal()
            .run(Self::reconcile, Self::error_policy, ctx.clone())
            .for_each(|result| async move {
                match result {
                    Ok((pod, _)) => tracing::debug!(pod = %pod, "reconciled"),
                    Err(e) => tracing::debug!(error = %e, "reconcile did not complete"),
                }
            });
        let releases = {
            let ctx = ctx.clone();
            async move {
                while let Some(pod) = gone_rx.recv().await {
                    // What fails here, the GC releases later.
                    if let Err(e) = ctx.release(&pod).await {
                        tracing::warn!(error = %e, "could not release a deleted pod's address");
                    }
                }
                std::future::pending::<()>().await
            }
        };
        let gc = async {
            if reader.wait_until_ready().await.is_err() {
                return std::future::pending::<()>().await;
            }
            loop {
                if let Err(e) = ctx.gc().await {
                    tracing::warn!(error = %e, "pool GC failed");
                }
                tokio::time::sleep(ctx.gc_every).await;
            }
        };
        tokio::select! {
            () = controller => {}
            () = releases => {}
            () = gc => {}
        }
        Ok(())
    }
}
