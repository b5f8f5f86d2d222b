//! TCP servers and a load generator inside the fabric's namespaces, for the load balancer's
//! data-plane tests (also used by ack-net-k8s's rolling-update test). Everything is bounded:
//! connects and reads time out, servers stop when told or dropped.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use ack_net_mock::fabric::Netns;
use ack_net_mock::MockCloud;
use ack_net_slb::SlbClient;

/// An SLB client of `mock` (no rate limit, no retry).
pub fn slb(mock: &MockCloud) -> SlbClient {
    SlbClient::new(mock.client_builder().build().expect("a client"))
}

/// How long a client or a server waits for a connect or a line.
const TIMEOUT: Duration = Duration::from_secs(5);

/// A TCP server in a namespace, as a pod: each connection gets, for each line it sends,
/// `<name> <line>` back, `hold` after the line came (so connections are in flight while
/// things change).
pub struct Server {
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    /// How many connections it accepted.
    pub accepted: Arc<AtomicUsize>,
}

impl Server {
    /// Listens on `port` (every address of the namespace) in `ns`.
    pub fn start(ns: &Netns, port: u16, name: &str, hold: Duration) -> Server {
        let listener = ns
            .run(|| TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)))
            .expect("a thread in the namespace")
            .unwrap_or_else(|e| panic!("{name} cannot listen on {port}: {e}"));
        listener.set_nonblocking(true).expect("non-blocking");
        let stop = Arc::new(AtomicBool::new(false));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accepted = Arc::new(AtomicUsize::new(0));
        let (s, c, a, name) = (stop.clone(), connections.clone(), accepted.clone(), name.to_owned());
        let accept = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        a.fetch_add(1, Ordering::SeqCst);
                        let name = name.clone();
                        let t = std::thread::spawn(move || answer(stream, &name, hold));
                        c.lock().expect("connections").push(t);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
            // The listener closes here: new connections are refused.
        });
        Server { stop, accept: Some(accept), connections, accepted }
    }

    /// Stops accepting (new connections are refused) and waits for the connections in flight
    /// to finish, as a pod does when it is told to stop.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        let pending: Vec<JoinHandle<()>> = std::mem::take(&mut *self.connections.lock().expect("connections"));
        for t in pending {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.halt();
    }
}

fn answer(stream: TcpStream, name: &str, hold: Duration) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(TIMEOUT));
    let Ok(mut out) = stream.try_clone() else { return };
    let mut lines = BufReader::new(stream);
    let mut line = String::new();
    while matches!(lines.read_line(&mut line), Ok(n) if n > 0) {
        std::thread::sleep(hold);
        if out.write_all(format!("{name} {}", line).as_bytes()).is_err() {
            return;
        }
        line.clear();
    }
}

/// A connection from inside a namespace, kept open: send a line, read the answer.
pub struct Client {
    lines: BufReader<TcpStream>,
}

impl Client {
    /// Connects from `ns` to `to`.
    pub fn connect(ns: &Netns, to: SocketAddr) -> std::io::Result<Client> {
        let stream = ns.run(|| TcpStream::connect_timeout(&to, TIMEOUT)).expect("a thread in the namespace")?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        Ok(Client { lines: BufReader::new(stream) })
    }

    /// Sends `line` and answers the server's reply (without its newline). A reset or a close
    /// before the answer is an error.
    pub fn ask(&mut self, line: &str) -> std::io::Result<String> {
        self.lines.get_mut().write_all(format!("{line}\n").as_bytes())?;
        let mut reply = String::new();
        if self.lines.read_line(&mut reply)? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed before the answer"));
        }
        Ok(reply.trim_end().to_owned())
    }
}

/// One connection of a load run: which server answered, or how it failed.
pub type Outcome = Result<String, String>;

/// Opens up to `count` connections from `ns` to `to`, one every `every` (fewer when `stop` is
/// set first), each in a thread of its own: connect, send one line, read the answer, close.
/// Answers each connection's outcome (the name of the server that answered) in order, once
/// all are done.
pub fn load(
    ns: Arc<Netns>,
    to: SocketAddr,
    count: usize,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> JoinHandle<Vec<Outcome>> {
    std::thread::spawn(move || {
        ns.run(|| {
            // Threads made here are in the namespace too.
            let mut runs: Vec<JoinHandle<Outcome>> = Vec::new();
            for i in 0..count {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                runs.push(std::thread::spawn(move || -> Outcome {
                    let stream = TcpStream::connect_timeout(&to, TIMEOUT).map_err(|e| format!("connect: {e}"))?;
                    stream.set_read_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
                    let mut c = Client { lines: BufReader::new(stream) };
                    let reply = c.ask(&format!("hello {i}")).map_err(|e| format!("{:?}: {e}", e.kind()))?;
                    match reply.split_once(' ') {
                        Some((server, rest)) if rest == format!("hello {i}") => Ok(server.to_owned()),
                        _ => Err(format!("wrong answer {reply:?}")),
                    }
                }));
                std::thread::sleep(every);
            }
            runs.into_iter().map(|t| t.join().unwrap_or_else(|_| Err("the client panicked".into()))).collect()
        })
        .expect("a thread in the namespace")
    })
}
