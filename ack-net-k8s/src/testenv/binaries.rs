//! Where `kube-apiserver` and `etcd` come from: named by environment variables, or built
//! with Go once into `target/testenv/`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::{io, TestEnvError};

/// The environment variable naming a prebuilt `kube-apiserver`.
pub const KUBE_APISERVER_VAR: &str = "ACK_NET_KUBE_APISERVER";
/// The environment variable naming a prebuilt `etcd`.
pub const ETCD_VAR: &str = "ACK_NET_ETCD";
/// The environment variable naming the Go module that builds the two programs (default: the
/// `testenv/` directory of the ack-net repository this crate was built from).
pub const GO_MODULE_VAR: &str = "ACK_NET_TESTENV_GO_MODULE";

/// The Go packages of the two programs, as `(file name, package)`.
const PROGRAMS: [(&str, &str); 2] =
    [("kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver"), ("etcd", "go.etcd.io/etcd/server/v3")];

/// The two programs of a [`TestEnv`](super::TestEnv).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binaries {
    /// The `kube-apiserver` executable.
    pub kube_apiserver: PathBuf,
    /// The `etcd` executable.
    pub etcd: PathBuf,
}

impl Binaries {
    /// The programs named by `ACK_NET_KUBE_APISERVER` and `ACK_NET_ETCD` when both are set;
    /// otherwise those built from the Go module (see [`build`](Self::build)). Blocks while
    /// building.
    pub fn locate() -> Result<Binaries, TestEnvError> {
        match (std::env::var_os(KUBE_APISERVER_VAR), std::env::var_os(ETCD_VAR)) {
            (Some(apiserver), Some(etcd)) => {
                let found = Binaries { kube_apiserver: apiserver.into(), etcd: etcd.into() };
                for path in [&found.kube_apiserver, &found.etcd] {
                    if !path.is_file() {
                        return Err(TestEnvError::MissingPrerequisite(format!(
                            "{} (from {KUBE_APISERVER_VAR} or {ETCD_VAR}) is not a file",
                            path.display()
                        )));
                    }
                }
                Ok(found)
            }
            _ => Self::build(&go_module(), &cache_dir()),
        }
    }

    /// Builds both programs from the Go module in `module` into `cache`, unless `cache` already
    /// holds them built from the same `go.mod` and `go.sum`. A lock file in `cache` serializes
    /// concurrent callers (other test binaries), so the programs are built once.
    pub fn build(module: &Path, cache: &Path) -> Result<Binaries, TestEnvError> {
        let go = std::env::var_os("GO").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("go"));
        Self::build_with(&go, module, cache)
    }

    /// [`build`](Self::build) with this `go` program.
    fn build_with(go: &Path, module: &Path, cache: &Path) -> Result<Binaries, TestEnvError> {
        let binaries = Binaries { kube_apiserver: cache.join("kube-apiserver"), etcd: cache.join("etcd") };
        let stamp_of = |dir: &Path| -> Option<String> {
            let gomod = std::fs::read_to_string(dir.join("go.mod")).ok()?;
            let gosum = std::fs::read_to_string(dir.join("go.sum")).ok()?;
            Some(format!("{gomod}\n{gosum}"))
        };
        let Some(sources) = stamp_of(module) else {
            return Err(TestEnvError::MissingPrerequisite(format!(
                "no Go module at {} to build kube-apiserver and etcd from: set {KUBE_APISERVER_VAR} and {ETCD_VAR} \
                 to prebuilt binaries (Kubernetes 1.37, etcd 3.6 or later), or {GO_MODULE_VAR} to a directory with \
                 the go.mod and go.sum of ack-net's testenv/",
                module.display()
            )));
        };
        // The version the API server reports (`/version`), which `go build` cannot know.
        let version_flags = kubernetes_version(&sources)
            .map(|v| {
                let mut parts = v.trim_start_matches('v').split('.');
                let (major, minor) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
                format!(
                    "-X k8s.io/component-base/version.gitVersion={v} -X k8s.io/component-base/version.gitMajor={major} \
                     -X k8s.io/component-base/version.gitMinor={minor}"
                )
            })
            .unwrap_or_default();
        let wanted = format!("{sources}\nldflags {version_flags}\n");
        let stamp = cache.join("built-from");
        let current = || {
            std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted)
                && binaries.kube_apiserver.is_file()
                && binaries.etcd.is_file()
        };
        if current() {
            return Ok(binaries);
        }
        std::fs::create_dir_all(cache).map_err(io(format!("creating {}", cache.display())))?;
        let lock_path = cache.join("build.lock");
        let lock = std::fs::File::create(&lock_path).map_err(io(format!("creating {}", lock_path.display())))?;
        if lock.try_lock().is_err() {
            progress(&format!("testenv: another process is building; waiting for {}", lock_path.display()));
            lock.lock().map_err(io(format!("locking {}", lock_path.display())))?;
        }
        // Another process may have built them while this one waited.
        if current() {
            return Ok(binaries);
        }
        let version = Command::new(go).arg("version").output();
        let Ok(version) = version.as_ref().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned()) else {
            return Err(TestEnvError::MissingPrerequisite(format!(
                "the Kubernetes tests need kube-apiserver and etcd: install Go 1.26 or later (https://go.dev/dl/; \
                 `go` on PATH, or GO=/path/to/go) so that they are built once from {} into {}, or set \
                 {KUBE_APISERVER_VAR} and {ETCD_VAR} to prebuilt binaries",
                module.display(),
                cache.display()
            )));
        };
        let _ = std::fs::remove_file(&stamp);
        for (name, package) in PROGRAMS {
            let began = Instant::now();
            progress(&format!(
                "testenv: building {name} ({package}) with {version} into {} (once; the first build takes many \
                 minutes)",
                cache.display()
            ));
            let partial = cache.join(format!("{name}.partial"));
            let status = Command::new(go)
                .args(["build", "-ldflags", &version_flags, "-o"])
                .arg(&partial)
                .arg(package)
                .current_dir(module)
                .status()
                .map_err(io(format!("running {} build", go.display())))?;
            if !status.success() {
                return Err(TestEnvError::Build { package: package.to_owned(), status });
            }
            let target = cache.join(name);
            std::fs::rename(&partial, &target).map_err(io(format!("moving {} into place", target.display())))?;
            progress(&format!("testenv: built {name} in {:.0?}", began.elapsed()));
        }
        std::fs::write(&stamp, wanted).map_err(io(format!("writing {}", stamp.display())))?;
        Ok(binaries)
    }
}

/// The version of `k8s.io/kubernetes` that `go.mod` requires.
fn kubernetes_version(gomod: &str) -> Option<&str> {
    gomod.lines().find_map(|l| l.trim().strip_prefix("k8s.io/kubernetes ")?.split_whitespace().next())
}

/// Straight to stderr, past the test harness's capture of `eprintln!`.
pub(super) fn progress(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// `ACK_NET_TESTENV_GO_MODULE`, else `testenv/` of the workspace this crate was built in.
fn go_module() -> PathBuf {
    std::env::var_os(GO_MODULE_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("testenv"))
}

/// `testenv/` in Cargo's target directory: the nearest ancestor of the running executable
/// that Cargo tagged (`CACHEDIR.TAG`), else an absolute `CARGO_TARGET_DIR`, else the system's
/// temporary directory.
fn cache_dir() -> PathBuf {
    let tagged = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().find(|d| d.join("CACHEDIR.TAG").is_file()).map(Path::to_path_buf));
    let target = tagged.or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).filter(|p| p.is_absolute()));
    target.unwrap_or_else(std::env::temp_dir).join("testenv")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ack-net-testenv-unit-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    #[test]
    fn without_the_go_module_the_error_names_the_variables() {
        let dir = scratch("no-module");
        let err = Binaries::build_with(Path::new("go"), &dir.join("missing"), &dir.join("cache")).unwrap_err();
        let TestEnvError::MissingPrerequisite(message) = err else { panic!("{err:?}") };
        assert!(message.contains(KUBE_APISERVER_VAR) && message.contains(ETCD_VAR), "{message}");
        assert!(message.contains(GO_MODULE_VAR), "{message}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn without_go_the_error_says_what_to_install_or_set() {
        let dir = scratch("no-go");
        std::fs::write(dir.join("go.mod"), "module x\n\nrequire k8s.io/kubernetes v1.37.2\n").expect("go.mod");
        std::fs::write(dir.join("go.sum"), "").expect("go.sum");
        let err = Binaries::build_with(&dir.join("no-such-go"), &dir, &dir.join("cache")).unwrap_err();
        let TestEnvError::MissingPrerequisite(message) = err else { panic!("{err:?}") };
        assert!(message.contains("install Go 1.26 or later"), "{message}");
        assert!(message.contains(KUBE_APISERVER_VAR) && message.contains(ETCD_VAR), "{message}");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_kubernetes_version_comes_from_go_mod() {
        let gomod = std::fs::read_to_string(go_module().join("go.mod")).expect("testenv/go.mod");
        assert_eq!(kubernetes_version(&gomod), Some("v1.37.2"));
        assert_eq!(kubernetes_version("module x\n"), None);
    }
}
