//! The namespace sandbox the fabric lives in, and network namespaces inside it.
//!
//! [`enter_sandbox`] moves the whole process into a new user and network namespace, as
//! `unshare --user --map-root-user --net` does: the process is root there (so it may make
//! namespaces, links, routes and nftables rules) without being root on the machine, and none of
//! it can touch the machine's own networking. A process can do this only while it has a single
//! thread, so it is the first thing `main` does (the `ack-net-mock --fabric` binary, or a test
//! declared `harness = false`). Everything the sandbox holds disappears with the process.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::sched::{setns, unshare, CloneFlags};

static ENTERED: AtomicBool = AtomicBool::new(false);

/// Why the sandbox could not be entered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// `unshare(CLONE_NEWUSER | CLONE_NEWNET)` was refused.
    #[error(
        "entering a new user and network namespace failed ({0}): the process must still be single-threaded \
         (call enter_sandbox first thing in main) and the kernel must allow user namespaces \
         (user.max_user_namespaces > 0; on Debian/Ubuntu kernel.unprivileged_userns_clone=1)"
    )]
    Unshare(nix::Error),
    /// The sandbox's loopback could not be brought up.
    #[error("bringing the sandbox's loopback up: {0}")]
    Loopback(String),
    /// Writing the uid or gid map failed.
    #[error("mapping the user to root in the sandbox ({file}): {source}")]
    Map {
        /// The file under /proc/self.
        file: &'static str,
        /// The cause.
        source: io::Error,
    },
}

/// Moves this process into a fresh user and network namespace where it is root, and brings
/// its loopback up (the mock listens there). Call it first thing in `main`, while the process
/// has one thread. Calling it again is a no-op.
///
/// ```no_run
/// // First thing in main:
/// ack_net_mock::fabric::enter_sandbox().expect("a namespace sandbox");
/// // ... then a tokio runtime, a MockCloud with the fabric, the tests.
/// let pod = ack_net_mock::fabric::Netns::new().expect("a namespace");
/// println!("{}", pod.path().display());
/// ```
pub fn enter_sandbox() -> Result<(), SandboxError> {
    if ENTERED.load(Ordering::SeqCst) {
        return Ok(());
    }
    let (uid, gid) = (nix::unistd::getuid(), nix::unistd::getgid());
    unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET).map_err(SandboxError::Unshare)?;
    let write = |file: &'static str, text: String| {
        std::fs::write(format!("/proc/self/{file}"), text).map_err(|source| SandboxError::Map { file, source })
    };
    write("setgroups", "deny".into())?;
    write("uid_map", format!("0 {uid} 1"))?;
    write("gid_map", format!("0 {gid} 1"))?;
    loopback_up().map_err(SandboxError::Loopback)?;
    ENTERED.store(true, Ordering::SeqCst);
    Ok(())
}

/// Brings the loopback of this thread's namespace up, over netlink.
fn loopback_up() -> Result<(), String> {
    super::exec::with_netlink(|h| async move { super::exec::loopback_up(&h).await })
}

/// Whether this process entered the sandbox.
pub fn in_sandbox() -> bool {
    ENTERED.load(Ordering::SeqCst)
}

/// A link in a namespace, as [`Netns::links`] reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Link {
    /// Its name, e.g. `eth1`.
    pub name: String,
    /// Its MAC, lowercase `aa:bb:cc:dd:ee:ff` (empty for links without one).
    pub mac: String,
    /// Whether it is up.
    pub up: bool,
}

/// A network namespace made inside the sandbox, held open by a file descriptor; it goes away
/// when the last holder (this value, a process in it, a link's socket) lets go.
#[derive(Debug)]
pub struct Netns {
    file: File,
}

impl Netns {
    /// A new, empty network namespace (its loopback down).
    pub fn new() -> io::Result<Netns> {
        std::thread::spawn(|| {
            unshare(CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
            File::open("/proc/thread-self/ns/net")
        })
        .join()
        .map_err(|_| io::Error::other("the thread making a namespace panicked"))?
        .map(|file| Netns { file })
    }

    /// The namespace this thread is in now.
    pub fn current() -> io::Result<Netns> {
        File::open("/proc/thread-self/ns/net").map(|file| Netns { file })
    }

    /// A path naming the namespace while this value lives (`/proc/PID/fd/N`), for tools that
    /// take a namespace path (`nsenter --net=PATH`, a CNI plugin's `CNI_NETNS`).
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/fd/{}", std::process::id(), self.file.as_raw_fd()))
    }

    /// Runs `f` on a new thread that entered the namespace (never on the caller's thread, so an
    /// async worker is never moved), and answers what it returned.
    pub fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> io::Result<R> {
        std::thread::scope(|s| {
            s.spawn(|| {
                self.enter_here()?;
                Ok(f())
            })
            .join()
            .map_err(|_| io::Error::other("the closure run in the namespace panicked"))?
        })
    }

    /// Runs a command in the namespace and waits for it (its standard input is empty).
    pub fn output(&self, command: &mut Command) -> io::Result<Output> {
        self.run(|| command.stdin(std::process::Stdio::null()).output())?
    }

    /// Configures a link in the namespace over netlink, as a node's agent does with a
    /// hot-plugged ENI: adds `address` (with its prefix) when given, then brings it up.
    pub fn configure_link(&self, link: &str, address: Option<ipnet::Ipv4Net>) -> io::Result<()> {
        self.run(|| super::exec::with_netlink(|h| async move { super::exec::configure_link(&h, link, address).await }))?
            .map_err(io::Error::other)
    }

    /// The links in the namespace, read over netlink (`/sys/class/net` shows the namespace
    /// that mounted it, not this one).
    pub fn links(&self) -> io::Result<Vec<Link>> {
        self.run(|| super::exec::with_netlink(|h| async move { super::exec::links(&h).await }))?
            .map_err(io::Error::other)
    }

    /// Moves the calling thread into the namespace. Only for a thread of one's own that does
    /// nothing else (see [`Netns::run`]).
    pub(crate) fn enter_here(&self) -> io::Result<()> {
        setns(&self.file, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)
    }

    /// The descriptor holding the namespace (for moving a link into it).
    pub(crate) fn fd(&self) -> std::os::fd::RawFd {
        self.file.as_raw_fd()
    }
}
