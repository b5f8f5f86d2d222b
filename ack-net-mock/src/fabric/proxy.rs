//! A load balancer's TCP data plane: a userspace proxy on a thread of its own inside the load
//! balancer's namespace (so every socket it makes is there), following the listeners and
//! backends the fabric gives it.
//!
//! - A running TCP listener is a listening socket on the load balancer's address.
//! - Each new connection goes to a backend picked by [`WeightedRoundRobin`] among the
//!   listener's backends as they are at that moment; with no backend of weight above 0 the
//!   client's connection is reset.
//! - A backend set to weight 0 takes no new connection and keeps its own (drain); a backend
//!   removed from the group has its connections reset (both sides), as CLB does.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::balance::WeightedRoundRobin;
use super::model::LbBackend;
use super::sandbox::Netns;

/// Listener port -> backends.
type Listeners = BTreeMap<u16, Vec<LbBackend>>;

/// How long a connection to a backend may take before the client's is reset.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A running proxy. Dropping it stops it and closes everything it holds.
#[derive(Debug)]
pub(crate) struct Proxy {
    table: Option<watch::Sender<Listeners>>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Starts the proxy of load balancer `lb` in `ns`, serving no listener yet.
    pub(crate) fn start(lb: &str, ns: Arc<Netns>) -> Result<Proxy, String> {
        let (tx, rx) = watch::channel(Listeners::new());
        let name = lb.to_owned();
        let thread = std::thread::Builder::new()
            .name(format!("lb-{lb}"))
            .spawn(move || {
                if let Err(e) = ns.enter_here() {
                    tracing::warn!(lb = %name, error = %e, "the load balancer's proxy could not enter its namespace");
                    return;
                }
                match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt.block_on(serve(name, rx)),
                    Err(e) => tracing::warn!(lb = %name, error = %e, "the load balancer's proxy has no runtime"),
                }
            })
            .map_err(|e| format!("starting the proxy of {lb}: {e}"))?;
        Ok(Proxy { table: Some(tx), thread: Some(thread) })
    }

    /// Serves `listeners` from now on.
    pub(crate) fn set(&self, listeners: Listeners) {
        if let Some(t) = &self.table {
            t.send_replace(listeners);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Closing the table ends the proxy's loop; its runtime then drops every task.
        self.table.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Binds and unbinds listeners as the table changes, until the table is closed.
async fn serve(lb: String, mut table: watch::Receiver<Listeners>) {
    let mut accepting: HashMap<u16, tokio::task::JoinHandle<()>> = HashMap::new();
    loop {
        let now = table.borrow_and_update().clone();
        accepting.retain(|port, task| {
            let keep = now.contains_key(port);
            if !keep {
                task.abort();
            }
            keep
        });
        for port in now.keys() {
            if accepting.contains_key(port) {
                continue;
            }
            match TcpListener::bind((Ipv4Addr::UNSPECIFIED, *port)).await {
                Ok(listener) => {
                    accepting.insert(*port, tokio::spawn(accept(listener, *port, table.clone())));
                }
                Err(e) => tracing::warn!(%lb, port, error = %e, "the load balancer cannot listen"),
            }
        }
        if table.changed().await.is_err() {
            break;
        }
    }
    for task in accepting.values() {
        task.abort();
    }
}

/// Takes the connections of one listener.
async fn accept(listener: TcpListener, port: u16, table: watch::Receiver<Listeners>) {
    let mut rr = WeightedRoundRobin::default();
    loop {
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            Err(e) => {
                tracing::debug!(port, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let backends = table.borrow().get(&port).cloned().unwrap_or_default();
        match rr.pick(&backends) {
            Some(backend) => {
                tokio::spawn(relay(client, port, backend, table.clone()));
            }
            None => reset(client),
        }
    }
}

/// Whether `backend` is still in `port`'s group (at any weight).
fn still_in(table: &Listeners, port: u16, backend: LbBackend) -> bool {
    table.get(&port).is_some_and(|v| v.iter().any(|b| b.ip == backend.ip && b.port == backend.port))
}

/// Carries one connection to `backend` until either side closes it, or resets both when the
/// backend leaves the group.
async fn relay(mut client: TcpStream, port: u16, backend: LbBackend, mut table: watch::Receiver<Listeners>) {
    let server = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((backend.ip, backend.port))).await;
    let Ok(Ok(mut server)) = server else {
        reset(client);
        return;
    };
    let removed = async {
        loop {
            if !still_in(&table.borrow_and_update(), port, backend) {
                return;
            }
            if table.changed().await.is_err() {
                // The proxy stops: its runtime drops this task.
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        () = removed => {
            reset(client);
            reset(server);
        }
    }
}

/// Closes `stream` with a reset (RST), not an orderly close.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}
