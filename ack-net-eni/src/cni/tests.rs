use std::io::{BufRead as _, BufReader};
use std::os::fd::AsRawFd as _;
use std::os::unix::net::UnixListener;

use super::*;

fn conf(version: &str, socket: &Path) -> Vec<u8> {
    serde_json::json!({"cniVersion": version, "name": "ack-net", "type": "cni_plugin",
        "agentSocket": socket, "agentTimeoutMs": 200})
    .to_string()
    .into_bytes()
}

fn this_netns() -> String {
    format!("/proc/{}/ns/net", std::process::id())
}

fn env(command: &str, netns: &str, ifname: &str) -> CniEnv {
    CniEnv::from_vars([
        ("CNI_COMMAND", command),
        ("CNI_CONTAINERID", "c0ffee"),
        ("CNI_NETNS", netns),
        ("CNI_IFNAME", ifname),
        ("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0;K8S_POD_UID=u-1"),
        ("CNI_PATH", "/opt/cni/bin"),
        ("PATH", "/usr/bin"),
    ])
    .unwrap()
}

/// The error an invocation printed (and that it failed).
fn error_of(out: &Output) -> Value {
    assert_eq!(out.code, 1, "{}", out.stdout);
    let v: Value = serde_json::from_str(&out.stdout).expect("the error is JSON");
    assert!(v["msg"].is_string() && v["cniVersion"].is_string(), "{v}");
    v
}

/// A socket path where nobody listens.
fn nowhere() -> PathBuf {
    std::env::temp_dir().join(format!("ack-net-cni-none-{}.sock", std::process::id()))
}

#[test]
fn version_lists_the_supported_versions() {
    let v = CniEnv::from_vars([("CNI_COMMAND", "VERSION")]).unwrap();
    let out = run(&v, br#"{"cniVersion": "1.0.0"}"#);
    assert_eq!(out.code, 0);
    let got: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(got, serde_json::json!({"cniVersion": "1.0.0", "supportedVersions": ["1.0.0", "1.1.0"]}));
    let out = run(&v, b"");
    assert_eq!(serde_json::from_str::<Value>(&out.stdout).unwrap()["cniVersion"], "1.1.0");
}

#[test]
fn the_environment_is_read_and_checked() {
    let e = env("ADD", "/var/run/netns/x", "eth0");
    assert_eq!(e.container_id.as_deref(), Some("c0ffee"));
    let pod = e.pod().unwrap();
    assert_eq!((pod.key(), pod.ifname.as_str()), ("u-1".to_owned(), "eth0"));
    for bad in [vec![], vec![("CNI_COMMAND", "SHRUG")], vec![("CNI_COMMAND", "ADD"), ("CNI_ARGS", "K8S_POD_NAME")]] {
        assert_eq!(CniEnv::from_vars(bad.clone()).unwrap_err().code, code::INVALID_ENVIRONMENT, "{bad:?}");
    }
    let no_args =
        CniEnv::from_vars([("CNI_COMMAND", "DEL"), ("CNI_CONTAINERID", "c"), ("CNI_IFNAME", "eth0")]).unwrap();
    assert_eq!(no_args.pod().unwrap_err().code, code::INVALID_ENVIRONMENT);
}

#[test]
fn configurations_are_checked() {
    let ok = NetConf::parse(&conf("1.1.0", Path::new("/run/a.sock"))).unwrap();
    assert_eq!(ok.agent_timeout_ms, Some(200));
    let cases: [(&[u8], u32); 8] = [
        (b"not json", code::DECODE),
        (b"[1]", code::INVALID_CONFIG),
        (br#"{"name": "n", "type": "t"}"#, code::INVALID_CONFIG),
        (br#"{"cniVersion": "0.4.0", "name": "n", "type": "t"}"#, code::INCOMPATIBLE_VERSION),
        (br#"{"cniVersion": "1.1.0", "type": "t"}"#, code::INVALID_CONFIG),
        (br#"{"cniVersion": "1.1.0", "name": "", "type": "t"}"#, code::INVALID_CONFIG),
        (br#"{"cniVersion": "1.1.0", "name": "n", "type": "t", "agentTimeoutMs": 0}"#, code::INVALID_CONFIG),
        (br#"{"cniVersion": "1.1.0", "name": "n", "type": "t", "mtu": 68}"#, code::INVALID_CONFIG),
    ];
    for (stdin, want) in cases {
        assert_eq!(NetConf::parse(stdin).unwrap_err().code, want, "{}", String::from_utf8_lossy(stdin));
    }
    let gc = NetConf::parse(
        br#"{"cniVersion": "1.1.0", "name": "n", "type": "t",
        "cni.dev/attachments": [{"containerID": "c", "ifname": "eth0"}]}"#,
    )
    .unwrap();
    assert_eq!(gc.valid_attachments.unwrap(), vec![Attachment { container_id: "c".into(), ifname: "eth0".into() }]);
}

#[test]
fn namespace_paths_are_checked() {
    assert!(check_netns(Path::new(&this_netns()), true).is_ok(), "a real namespace");
    let fd_path = {
        let ns = std::fs::File::open(this_netns()).unwrap();
        let p = format!("/proc/{}/fd/{}", std::process::id(), ns.as_raw_fd());
        let ok = check_netns(Path::new(&p), true);
        assert!(ok.is_ok(), "{ok:?}");
        p
    };
    let _ = fd_path;
    // A file that is not a namespace, named the way a namespace would be.
    let file = std::fs::File::open("/proc/self/status").unwrap();
    let p = format!("/proc/{}/fd/{}", std::process::id(), file.as_raw_fd());
    assert_eq!(check_netns(Path::new(&p), true).unwrap_err().code, code::INVALID_ENVIRONMENT);
    for outside in
        ["/tmp/netns", "relative", "/proc/self/ns/net", "/proc/1/ns/mnt", "/var/run/netns/", "/run/netns/a/../b"]
    {
        assert_eq!(check_netns(Path::new(outside), false).unwrap_err().code, code::INVALID_ENVIRONMENT, "{outside}");
    }
    assert_eq!(check_netns(Path::new("/run/netns/nonexistent-x"), true).unwrap_err().code, code::UNKNOWN_CONTAINER);
}

#[test]
fn bad_input_fails_before_the_agent_is_asked() {
    // Nobody listens on the socket: an answer other than "try again later" came first.
    let stdin = conf("1.1.0", &nowhere());
    let netns = this_netns();
    let cases = [
        (env("ADD", &netns, "an-ifname-too-long"), code::INVALID_ENVIRONMENT),
        (env("ADD", "/etc/passwd", "eth0"), code::INVALID_ENVIRONMENT),
        (env("ADD", "/var/run/netns/nonexistent-x", "eth0"), code::UNKNOWN_CONTAINER),
        (env("CHECK", "/tmp/x", "eth0"), code::INVALID_ENVIRONMENT),
        (env("DEL", "/tmp/x", "eth0"), code::INVALID_ENVIRONMENT),
        (CniEnv::from_vars([("CNI_COMMAND", "ADD"), ("CNI_CONTAINERID", "c"), ("CNI_IFNAME", "eth0")]).unwrap(), 4),
    ];
    for (e, want) in cases {
        let v = error_of(&run(&e, &stdin));
        assert_eq!(v["code"], want, "{e:?}: {v}");
        assert_eq!(v["cniVersion"], "1.1.0");
    }
    let v = error_of(&run(&env("ADD", &netns, "eth0"), b"{oops"));
    assert_eq!(v["code"], code::DECODE);
    let v = error_of(&run(&env("ADD", &netns, "eth0"), &conf("0.3.1", &nowhere())));
    assert_eq!(v["code"], code::INCOMPATIBLE_VERSION);
    let v = error_of(&run(&env("GC", &netns, "eth0"), &conf("1.0.0", &nowhere())));
    assert_eq!((v["code"].as_u64(), v["cniVersion"].as_str()), (Some(1), Some("1.0.0")), "GC needs 1.1");
}

#[test]
fn an_absent_or_silent_agent_is_try_again_later() {
    let netns = this_netns();
    let v = error_of(&run(&env("ADD", &netns, "eth0"), &conf("1.1.0", &nowhere())));
    assert_eq!(v["code"], code::TRY_AGAIN_LATER, "{v}");
    let v = error_of(&run(&env("DEL", &netns, "eth0"), &conf("1.1.0", &nowhere())));
    assert_eq!(v["code"], code::TRY_AGAIN_LATER, "{v}");
    let v = error_of(&run(&env("STATUS", &netns, "eth0"), &conf("1.1.0", &nowhere())));
    assert_eq!(v["code"], code::NOT_AVAILABLE, "{v}");
    // An agent that reads the request and never answers: the plugin gives up at its timeout.
    let socket = std::env::temp_dir().join(format!("ack-net-cni-silent-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket).unwrap();
    let silent = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let mut line = String::new();
        let _ = BufReader::new(&s).read_line(&mut line);
        // Hold the connection until the plugin hangs up.
        let mut rest = String::new();
        let _ = BufReader::new(&s).read_line(&mut rest);
        line
    });
    let v = error_of(&run(&env("ADD", &netns, "eth0"), &conf("1.1.0", &socket)));
    assert_eq!(v["code"], code::TRY_AGAIN_LATER, "{v}");
    assert!(v["details"].as_str().unwrap().contains("200 ms"), "{v}");
    let asked = silent.join().unwrap();
    assert!(asked.contains("\"op\":\"add\""), "{asked}");
    let _ = std::fs::remove_file(&socket);
}
