"""Latency and throughput of the official Python SDK (aliyun-python-sdk-core) against a running ack-net-mock.

The same call as the Rust clients: VPC DescribeVpcs (Version 2016-04-28, RegionId=cn-hangzhou), V1 signed,
POST, the JSON body decoded with json.loads and checked to be a success. One AcsClient is shared by all
threads (its HTTP session pools connections; pool_size is set to the thread count, as its docs advise).
Prints one JSON object on stdout.
"""

import argparse
import json
import math
import os
import sys
import threading
import time

from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest

ACTION = "DescribeVpcs"
VERSION = "2016-04-28"
REGION = "cn-hangzhou"


def make_request(domain):
    req = CommonRequest()
    req.set_domain(domain)
    req.set_protocol_type("http")
    req.set_method("POST")
    req.set_version(VERSION)
    req.set_action_name(ACTION)
    req.set_accept_format("json")
    return req


def call(client, domain):
    body = client.do_action_with_exception(make_request(domain))
    v = json.loads(body)
    if "RequestId" not in v or "Vpcs" not in v:
        raise RuntimeError("not a DescribeVpcs success: %r" % (v,))
    return v


def describe(exc):
    if isinstance(exc, ServerException):
        return "HTTP %s %s: %s (RequestId %s)" % (
            exc.get_http_status(), exc.get_error_code(), exc.get_error_msg(), exc.get_request_id())
    if isinstance(exc, ClientException):
        return "client error %s: %s" % (exc.get_error_code(), exc.get_error_msg())
    return repr(exc)


def pct(sorted_s, p):
    if not sorted_s:
        return float("nan")
    rank = math.ceil(p / 100.0 * len(sorted_s))
    return sorted_s[min(max(rank, 1), len(sorted_s)) - 1] * 1e6


def summary(lat):
    lat = sorted(lat)
    return {
        "n": len(lat),
        "p50_us": pct(lat, 50),
        "p90_us": pct(lat, 90),
        "p99_us": pct(lat, 99),
        "max_us": pct(lat, 100),
        "mean_us": (sum(lat) / len(lat) * 1e6) if lat else float("nan"),
    }


def sequential(client, domain, warmup, warmup_max_secs, n, max_secs):
    t0 = time.perf_counter()
    for _ in range(warmup):
        if time.perf_counter() - t0 >= warmup_max_secs:
            break
        call(client, domain)
    lat = []
    t0 = time.perf_counter()
    while len(lat) < n and time.perf_counter() - t0 < max_secs:
        t = time.perf_counter()
        call(client, domain)
        lat.append(time.perf_counter() - t)
    wall = time.perf_counter() - t0
    s = summary(lat)
    s["wall_s"] = wall
    s["calls_per_s"] = len(lat) / wall
    s["cut_short"] = len(lat) < n
    return s


def concurrent(client, domain, workers, secs, max_calls):
    deadline = time.perf_counter() + secs
    lock = threading.Lock()
    state = {"started": 0, "errors": 0, "first_error": None}
    results = [[] for _ in range(workers)]

    def worker(i):
        lat = results[i]
        while time.perf_counter() < deadline:
            with lock:
                if state["started"] >= max_calls:
                    return
                state["started"] += 1
            t = time.perf_counter()
            try:
                call(client, domain)
                lat.append(time.perf_counter() - t)
            except Exception as e:  # noqa: BLE001 - counted and reported
                with lock:
                    state["errors"] += 1
                    if state["first_error"] is None:
                        state["first_error"] = describe(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = [x for r in results for x in r]
    return lat, state["errors"], state["first_error"], wall


def sdk_version():
    try:
        from importlib.metadata import version
        return version("aliyun-python-sdk-core")
    except Exception:  # noqa: BLE001
        import aliyunsdkcore
        return getattr(aliyunsdkcore, "__version__", "unknown")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", required=True, help="the mock's base URL, e.g. http://127.0.0.1:18080")
    ap.add_argument("--key-id", default="testid")
    ap.add_argument("--key-secret", default="testsecret")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--warmup-max-secs", type=float, default=3.0)
    ap.add_argument("--seq", type=int, default=2000)
    ap.add_argument("--seq-max-secs", type=float, default=20.0)
    ap.add_argument("--threads", type=int, default=16, help="concurrent callers (threads); 0 skips the phase")
    ap.add_argument("--conc-warmup-secs", type=float, default=1.0)
    ap.add_argument("--duration-secs", type=float, default=5.0)
    ap.add_argument("--max-calls", type=int, default=200000)
    ap.add_argument("--check", action="store_true", help="one call, print the response or the mock's error")
    a = ap.parse_args()

    if not a.url.startswith("http://"):
        sys.exit("bench_python.py: --url must be http://HOST:PORT")
    domain = a.url[len("http://"):].rstrip("/")
    client = AcsClient(a.key_id, a.key_secret, REGION, pool_size=max(a.threads, 1))

    if a.check:
        try:
            print(json.dumps(call(client, domain)))
        except Exception as e:  # noqa: BLE001
            print("bench_python.py: python SDK rejected: %s" % describe(e), file=sys.stderr)
            sys.exit(1)
        return

    try:
        seq = sequential(client, domain, a.warmup, a.warmup_max_secs, a.seq, a.seq_max_secs)
    except Exception as e:  # noqa: BLE001
        print("bench_python.py: sequential call failed: %s" % describe(e), file=sys.stderr)
        sys.exit(1)
    out = {
        "client": "aliyun-python-sdk-core %s" % sdk_version(),
        "id": "Python",
        "runtime": "CPython %s, threads" % sys.version.split()[0],
        "sequential": seq,
    }
    if a.threads > 0:
        _, werr, wfirst, _ = concurrent(client, domain, a.threads, a.conc_warmup_secs, a.max_calls)
        if werr:
            print("bench_python.py: warm-up errors: %d (first: %s)" % (werr, wfirst), file=sys.stderr)
        lat, errors, first, wall = concurrent(client, domain, a.threads, a.duration_secs, a.max_calls)
        s = summary(lat)
        s.update({
            "workers": a.threads,
            "worker_kind": "threads",
            "calls": len(lat),
            "errors": errors,
            "first_error": first,
            "wall_s": wall,
            "calls_per_s": len(lat) / wall,
        })
        out["concurrent"] = s
        if errors:
            print("bench_python.py: %d errors under load" % errors, file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    os.environ.pop("DEBUG", None)
    main()
