//! The programs' processes, their watchdog, and the files they are given.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use super::{io, TestEnvError};

/// Runs the program (`"$@"`) until it exits or until this shell's stdin reaches its end,
/// which happens when the test process closes its end of the pipe: on [`Supervised::stop`],
/// or when the process dies however it dies. The program is then killed, and the directory
/// named by `ACK_NET_TESTENV_REMOVE`, if any, removed. The shell's exit status is the
/// program's.
const WATCHDOG: &str = r#"exec 3<&0 </dev/null
"$@" 3<&- &
pid=$!
{
    cat <&3 >/dev/null
    kill -KILL "$pid" 2>/dev/null
    if [ -n "$ACK_NET_TESTENV_REMOVE" ]; then sleep 1; rm -rf "$ACK_NET_TESTENV_REMOVE"; fi
} &
wait "$pid""#;

/// How long [`Supervised::stop`] waits for a killed program to be gone.
const STOP_WAIT: Duration = Duration::from_secs(10);

/// A program under the watchdog, its output in `DIR/NAME.log`.
pub(super) struct Supervised {
    name: &'static str,
    child: Child,
    /// The pipe whose end stops the program.
    lifeline: Option<ChildStdin>,
    log: PathBuf,
}

impl Supervised {
    pub(super) fn spawn(
        name: &'static str,
        program: &Path,
        args: &[String],
        dir: &Path,
        remove_when_dead: Option<&Path>,
    ) -> Result<Self, TestEnvError> {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).map_err(io(format!("creating {}", log.display())))?;
        let err = out.try_clone().map_err(io(format!("opening {}", log.display())))?;
        let mut command = Command::new("sh");
        command.arg("-c").arg(WATCHDOG).arg("sh").arg(program).args(args);
        command.stdin(Stdio::piped()).stdout(out).stderr(err).current_dir(dir);
        match remove_when_dead {
            Some(path) => command.env("ACK_NET_TESTENV_REMOVE", path),
            None => command.env_remove("ACK_NET_TESTENV_REMOVE"),
        };
        let mut child = command.spawn().map_err(io(format!("starting {} under sh", program.display())))?;
        let lifeline = child.stdin.take();
        Ok(Supervised { name, child, lifeline, log })
    }

    /// An error if the program has exited.
    pub(super) fn check_running(&mut self) -> Result<(), TestEnvError> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(TestEnvError::Exited {
                program: self.name,
                status,
                log: self.log.display().to_string(),
                tail: self.log_tail(),
            }),
            Err(e) => Err(io(format!("waiting for {}", self.name))(e)),
        }
    }

    pub(super) fn log(&self) -> &Path {
        &self.log
    }

    /// The last 40 lines of the program's log.
    pub(super) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Closes the lifeline (the watchdog kills the program) and waits a bounded time for the
    /// watchdog to report the program gone.
    pub(super) fn stop(&mut self) {
        drop(self.lifeline.take());
        let polls = STOP_WAIT.as_millis() / 20;
        for _ in 0..polls {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A new private (0700) directory under the system's temporary directory.
pub(super) fn temp_dir() -> Result<PathBuf, TestEnvError> {
    let dir = std::env::temp_dir().join(format!("ack-net-testenv-{}-{}", std::process::id(), random_hex(6)?));
    std::fs::DirBuilder::new().mode(0o700).create(&dir).map_err(io(format!("creating {}", dir.display())))?;
    Ok(dir)
}

/// `N` distinct free loopback TCP ports. They are free when chosen; another process may take
/// one before the program binds it, which the program reports by exiting (and the start is
/// tried again).
pub(super) fn free_ports<const N: usize>() -> Result<[u16; N], TestEnvError> {
    let listeners: Vec<std::net::TcpListener> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()
        .map_err(io("binding a loopback port"))?;
    let mut ports = [0u16; N];
    for (port, listener) in ports.iter_mut().zip(&listeners) {
        *port = listener.local_addr().map_err(io("reading a bound port"))?.port();
    }
    Ok(ports)
}

/// `bytes` random bytes, hex-encoded.
pub(super) fn random_hex(bytes: usize) -> Result<String, TestEnvError> {
    let mut buf = vec![0u8; bytes];
    aws_lc_rs::rand::fill(&mut buf)
        .map_err(|_| TestEnvError::MissingPrerequisite("the system's random number generator failed".into()))?;
    Ok(hex::encode(buf))
}

/// A new P-256 key pair as PEM: the private key (PKCS#8, the service-account signing key)
/// and the public key (X.509 SubjectPublicKeyInfo, the verifying key).
pub(super) fn ec_key_pair_pem() -> Result<(String, String), TestEnvError> {
    use aws_lc_rs::encoding::{AsDer as _, PublicKeyX509Der};
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_ASN1_SIGNING};
    fn failed<E>(_: E) -> TestEnvError {
        TestEnvError::MissingPrerequisite("generating a P-256 key failed".into())
    }
    let alg = &ECDSA_P256_SHA256_ASN1_SIGNING;
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &aws_lc_rs::rand::SystemRandom::new()).map_err(failed)?;
    let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).map_err(failed)?;
    let public: PublicKeyX509Der<'_> = pair.public_key().as_der().map_err(failed)?;
    Ok((pem("PRIVATE KEY", pkcs8.as_ref()), pem("PUBLIC KEY", public.as_ref())))
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> =
        b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).expect("base64 is ASCII")).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

/// Writes `contents` to a new file only its owner can read.
pub(super) fn write_private(path: &Path, contents: impl AsRef<[u8]>) -> Result<(), TestEnvError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io(format!("creating {}", path.display())))?;
    file.write_all(contents.as_ref()).map_err(io(format!("writing {}", path.display())))
}

/// The CA of the API server's self-signed serving certificate: the file holds the serving
/// certificate, then the CA that signed it.
pub(super) fn read_ca(cert: &Path) -> Result<String, TestEnvError> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let text = std::fs::read_to_string(cert).map_err(io(format!("reading {}", cert.display())))?;
    let incomplete = || TestEnvError::Kubeconfig(format!("{} holds no complete CA certificate yet", cert.display()));
    let start = text.rfind(BEGIN).ok_or_else(incomplete)?;
    let end = text[start..].find(END).ok_or_else(incomplete)? + start + END.len();
    if text.matches(BEGIN).count() < 2 {
        return Err(incomplete());
    }
    Ok(format!("{}\n", &text[start..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_is_the_last_certificate_of_the_serving_file() {
        let dir = temp_dir().expect("dir");
        let cert = dir.join("apiserver.crt");
        let block = |body: &str| format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n");
        write_private(&cert, block("c2VydmluZw==")).expect("write");
        assert!(read_ca(&cert).is_err(), "only the serving certificate so far");
        write_private(&cert, format!("{}{}", block("c2VydmluZw=="), block("Y2E="))).expect("write");
        assert_eq!(read_ca(&cert).expect("ca"), block("Y2E="));
        write_private(&cert, format!("{}-----BEGIN CERTIFICATE-----\nY2", block("c2VydmluZw=="))).expect("write");
        assert!(read_ca(&cert).is_err(), "a half-written CA");
        std::fs::remove_dir_all(dir).expect("cleanup");
    }

    #[test]
    fn keys_are_pem_and_ports_distinct() {
        let (private, public) = ec_key_pair_pem().expect("keys");
        assert!(
            private.starts_with("-----BEGIN PRIVATE KEY-----\n") && private.ends_with("-----END PRIVATE KEY-----\n")
        );
        assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n") && public.ends_with("-----END PUBLIC KEY-----\n"));
        assert!(private.lines().all(|l| l.len() <= 64));
        let [a, b, c] = free_ports::<3>().expect("ports");
        assert!(a != b && b != c && a != c);
        assert_eq!(random_hex(16).expect("hex").len(), 32);
    }
}
