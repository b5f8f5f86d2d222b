#!/usr/bin/env bash
# Side-by-side request latency and throughput against ONE ack-net-mock instance:
#   ack-net's RpcClient, the crate aliyun-openapi-core-rust-sdk 1.1.0, the Python SDK aliyun-python-sdk-core.
# Builds (release) and installs what it needs, starts the mock binary once, runs the three clients one after
# another against it, stops it, and writes RESULTS.md (and the raw JSON to out/).
#
#   peer-bench/run.sh              # from anywhere; takes ~1 minute once built
#
# Environment knobs (defaults in brackets):
#   SEQ [2000] measured sequential calls per client (after WARMUP [200]); a client that is slower stops
#     after SEQ_MAX_SECS [20] (warm-up after WARMUP_MAX_SECS [3]) and the table gives the calls it made
#   DURATION [5] seconds of the measured throughput phase (after CONC_WARMUP [1] seconds of load)
#   RUST_TASKS [64] concurrent tokio tasks for the Rust clients; PY_THREADS [16] threads for Python
#   MOCK_BIN [built here from ../ack-net-mock] the mock binary to run; RESULTS [RESULTS.md] output file
#   PYTHON [python3] the interpreter the venv is made with
#   RESULTS_APPEND [0] 1 appends this run to RESULTS as a section titled RESULTS_TITLE, with the command line
#     RESULTS_COMMAND, instead of overwriting it
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
SEQ="${SEQ:-2000}"
WARMUP="${WARMUP:-200}"
SEQ_MAX_SECS="${SEQ_MAX_SECS:-20}"
WARMUP_MAX_SECS="${WARMUP_MAX_SECS:-3}"
DURATION="${DURATION:-5}"
CONC_WARMUP="${CONC_WARMUP:-1}"
RUST_TASKS="${RUST_TASKS:-64}"
PY_THREADS="${PY_THREADS:-16}"
RESULTS="${RESULTS:-$here/RESULTS.md}"
PYTHON="${PYTHON:-python3}"
out="$here/out"
rm -rf "$out"
mkdir -p "$out"

log() { printf '[peer-bench] %s\n' "$*" >&2; }

# 1. The Python SDK in its own venv (created and filled on a fresh machine).
venv="$here/.venv"
if ! "$venv/bin/python" -c 'import aliyunsdkcore' 2>/dev/null; then
    log "creating $venv and installing requirements.txt from PyPI"
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi
py="$venv/bin/python"

# 2. Release builds: the bench binary and the mock binary, in this crate's own target dir and lockfile.
t_build=$(date +%s)
log "cargo build --release -p peer-bench -p ack-net-mock (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
cargo build --release --quiet -p peer-bench -p ack-net-mock --bins
bench="$CARGO_TARGET_DIR/release/peer-bench"
mock_bin="${MOCK_BIN:-$CARGO_TARGET_DIR/release/ack-net-mock}"
log "built in $(( $(date +%s) - t_build ))s"

# 3. One mock instance on a free loopback port, with two VPCs preloaded.
t_run=$(date +%s)
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
"$mock_bin" --listen 127.0.0.1:0 --seed 1 --preload "$here/preload.json" >"$out/mock.stdout" 2>"$out/mock.stderr" &
mock_pid=$!
stop_mock() {
    if kill -0 "$mock_pid" 2>/dev/null; then
        kill -TERM "$mock_pid" 2>/dev/null || true
        wait "$mock_pid" 2>/dev/null || true
    fi
}
trap stop_mock EXIT
url=""
for _ in $(seq 1 100); do
    url="$(sed -n 's/^ack-net-mock listening on \(http:[^ ]*\).*/\1/p' "$out/mock.stdout" | head -n1)"
    [ -n "$url" ] && break
    kill -0 "$mock_pid" 2>/dev/null || { cat "$out/mock.stderr" >&2; log "the mock exited"; exit 1; }
    sleep 0.1
done
[ -n "$url" ] || { log "the mock did not print its URL"; exit 1; }
log "mock at $url (pid $mock_pid)"

# 4. Each client: one checked call first (the mock's error is kept if it rejects the request), then the run.
run_client() {
    local id="$1"; shift
    local check_err="$out/$id.check.stderr"
    if ! "$@" --check >/dev/null 2>"$check_err"; then
        log "$id: request rejected: $(cat "$check_err")"
        cp "$check_err" "$out/$id.rejected"
        return 0
    fi
    log "$id: measuring"
    "$@" >"$out/$id.json"
}
run_client ack-net "$bench" --client ack-net --url "$url" --warmup "$WARMUP" --warmup-max-secs "$WARMUP_MAX_SECS" \
    --seq "$SEQ" --seq-max-secs "$SEQ_MAX_SECS" \
    --concurrency "$RUST_TASKS" --conc-warmup-secs "$CONC_WARMUP" --duration-secs "$DURATION"
run_client aliyun-rs "$bench" --client aliyun-rs --url "$url" --warmup "$WARMUP" --warmup-max-secs "$WARMUP_MAX_SECS" \
    --seq "$SEQ" --seq-max-secs "$SEQ_MAX_SECS" \
    --concurrency "$RUST_TASKS" --conc-warmup-secs "$CONC_WARMUP" --duration-secs "$DURATION"
run_client python "$py" "$here/bench_python.py" --url "$url" --warmup "$WARMUP" --warmup-max-secs "$WARMUP_MAX_SECS" \
    --seq "$SEQ" --seq-max-secs "$SEQ_MAX_SECS" \
    --threads "$PY_THREADS" --conc-warmup-secs "$CONC_WARMUP" --duration-secs "$DURATION"

stop_mock
trap - EXIT
run_secs=$(( $(date +%s) - t_run ))
log "measured in ${run_secs}s"

# 5. The table.
{
    echo "LOAD_BEFORE=$load_before"
    echo "RUN_SECS=$run_secs"
    echo "MOCK_BIN=$mock_bin"
    echo "SEQ=$SEQ SEQ_MAX_SECS=$SEQ_MAX_SECS WARMUP=$WARMUP WARMUP_MAX_SECS=$WARMUP_MAX_SECS DURATION=$DURATION CONC_WARMUP=$CONC_WARMUP RUST_TASKS=$RUST_TASKS PY_THREADS=$PY_THREADS"
} >"$out/meta.env"
report_args=(--out-dir "$out" --results "$RESULTS" --command "${RESULTS_COMMAND:-peer-bench/run.sh}")
if [ "${RESULTS_APPEND:-0}" = 1 ]; then
    report_args+=(--append --title "${RESULTS_TITLE:-Another run}")
fi
"$py" "$here/report.py" "${report_args[@]}"
log "wrote $RESULTS"
