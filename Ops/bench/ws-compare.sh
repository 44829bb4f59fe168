#!/usr/bin/env bash
# ws-compare.sh: the same WebSocket benchmarks (intake-bench ws-sweep and ws-idle) against the
# SwiftNIO peer server and against an Intake server, then a table of intake/nio ratios.
# Loopback only; every step is under `timeout`; everything started here is stopped on exit.
#
# usage: Ops/bench/ws-compare.sh ['INTAKE SERVER COMMAND']      (or INTAKE_SERVER_CMD=...)
#   e.g. Ops/bench/ws-compare.sh '.build/release/intake serve --http 127.0.0.1:9102 --tcp 127.0.0.1:0 --data-dir /tmp/intake-bench --ws-rate-limit 0 --max-connections-per-ip 0'
#   (the broker's per-connection message rate and per-IP connection limit would otherwise
#   throttle the closed loop and refuse ws-idle's 10,000 loopback connections)
# Without a command only the nio peer is measured.
# Environment (defaults in brackets):
#   NIO_PEER_DIR [$ROOT/../shared/peers/nio-ws]  NIO_PORT [9101]  NIO_THREADS [2]
#   DURATION [3] WARMUP [1] RUNS [3] THREADS [cores]     ws-sweep per run
#   IDLE_CONNS [10000] HOLD [5]                          ws-idle
#   INTAKE_WS_PATH [/ws/echo]  INTAKE_HELLO  INTAKE_MESSAGE  INTAKE_REPLY_MATCH  (passed to intake runs)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
NIO_PEER_DIR=${NIO_PEER_DIR:-$ROOT/../shared/peers/nio-ws}
NIO_SCRATCH=$ROOT/../.build-nio-peer
NIO_PORT=${NIO_PORT:-9101}
NIO_THREADS=${NIO_THREADS:-2}
DURATION=${DURATION:-3}
WARMUP=${WARMUP:-1}
RUNS=${RUNS:-3}
THREADS=${THREADS:-$(nproc)}
IDLE_CONNS=${IDLE_CONNS:-10000}
HOLD=${HOLD:-5}
INTAKE_SERVER_CMD=${1:-${INTAKE_SERVER_CMD:-}}
INTAKE_WS_PATH=${INTAKE_WS_PATH:-/ws/echo}
BENCH=$ROOT/.build/release/intake-bench
OUT=$(mktemp -d /tmp/ws-compare.XXXXXX)
SERVER_PID=""

# shellcheck source=Ops/bench/lib.sh
source "$ROOT/Ops/bench/lib.sh"

stop_server() {
    if [[ -n "$SERVER_PID" ]]; then stop_pid "$SERVER_PID"; fi
    SERVER_PID=""
}

cleanup() {
    stop_server
    rm -rf "$OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if (( $(ulimit -n) < IDLE_CONNS + 100 )); then
    log "open-file limit $(ulimit -n) is too low for $IDLE_CONNS idle connections"; exit 2
fi

is_loopback() { [[ "$1" =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ || "$1" == "[::1]" || "$1" == "::1" ]]; }

# Starts the nio peer; sets SERVER_PID and URL.
start_nio() {
    "$NIO_SCRATCH/release/nio-ws-server" --host 127.0.0.1 --port "$NIO_PORT" --threads "$NIO_THREADS" \
        >"$OUT/nio.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 50); do
        grep -q "listening" "$OUT/nio.log" 2>/dev/null && break
        kill -0 "$SERVER_PID" 2>/dev/null || { log "nio server exited: $(cat "$OUT/nio.log")"; exit 1; }
        sleep 0.2
    done
    grep -q "listening" "$OUT/nio.log" || { log "nio server not ready after 10 s"; exit 1; }
    URL="ws://127.0.0.1:$NIO_PORT/ws"
}

# Starts the intake server command; waits for `intake ready http=HOST:PORT tcp=...`; sets SERVER_PID and URL.
start_intake() {
    bash -c "exec $INTAKE_SERVER_CMD" >"$OUT/intake.log" 2>"$OUT/intake.err" &
    SERVER_PID=$!
    local line
    line=$(wait_ready "$OUT/intake.log" "$SERVER_PID") \
        || { log "intake server printed no ready line within 30 s: $(tail -5 "$OUT/intake.err")"; exit 1; }
    local http=${line#*http=}; http=${http%% *}
    local host=${http%:*}
    is_loopback "$host" || { log "intake server listens on non-loopback $http; refusing"; exit 2; }
    URL="ws://$http$INTAKE_WS_PATH"
}

# Runs ws-sweep and ws-idle (each on a fresh server, so the idle figure is not skewed by memory the
# allocator kept from the sweep) for "nio" or "intake"; results in $OUT/NAME.sweep and $OUT/NAME.idle.
measure() {
    local name=$1; shift
    local extra=("$@")
    # Durations may be fractional, so the bounds are computed with awk (bash arithmetic is integer only).
    local sweep_limit idle_limit
    sweep_limit=$(awk -v r="$RUNS" -v d="$DURATION" -v w="$WARMUP" 'BEGIN { printf "%d", 4 * r * (d + w + 35) + 30 }')
    idle_limit=$(awk -v h="$HOLD" 'BEGIN { printf "%d", h + 240 }')
    "start_$name"
    log "$name: ws-sweep against $URL (pid $SERVER_PID)"
    timeout "$sweep_limit" "$BENCH" ws-sweep --url "$URL" --server-pid "$SERVER_PID" \
        --duration "$DURATION" --warmup "$WARMUP" --runs "$RUNS" --threads "$THREADS" "${extra[@]}" \
        | tee "$OUT/$name.sweep" >&2 || failed "$name: ws-sweep"
    stop_server
    "start_$name"
    log "$name: ws-idle $IDLE_CONNS connections against $URL (pid $SERVER_PID)"
    timeout "$idle_limit" "$BENCH" ws-idle --url "$URL" --server-pid "$SERVER_PID" -c "$IDLE_CONNS" \
        --hold "$HOLD" --threads "$THREADS" "${extra[@]}" \
        | tee "$OUT/$name.idle" >&2 || failed "$name: ws-idle"
    stop_server
}

# sweep_line NAME C: the median line for C connections from NAME's sweep (nothing when absent).
sweep_line() { if [[ -f "$OUT/$1.sweep" ]]; then awk -v c="\"connections\":$2," '/"statistic":"median"/ && index($0, c)' "$OUT/$1.sweep"; fi; }

log "building the nio peer outside the repo (scratch $NIO_SCRATCH)"
(cd "$NIO_PEER_DIR" && timeout 1200 swift build -c release --scratch-path "$NIO_SCRATCH") >&2
log "building intake-bench"
(cd "$ROOT" && timeout 1200 swift build -c release --product intake-bench) >&2

measure nio
if [[ -n "$INTAKE_SERVER_CMD" ]]; then
    intake_args=()
    [[ -n "${INTAKE_HELLO:-}" ]] && intake_args+=(--hello "$INTAKE_HELLO")
    [[ -n "${INTAKE_MESSAGE:-}" ]] && intake_args+=(--message "$INTAKE_MESSAGE")
    [[ -n "${INTAKE_REPLY_MATCH:-}" ]] && intake_args+=(--reply-match "$INTAKE_REPLY_MATCH")
    measure intake "${intake_args[@]}"
else
    log "no intake server command given: measured the nio peer only"
fi

echo
echo "WebSocket closed loop, median of $RUNS runs of ${DURATION}s (intake-bench ws-sweep, $THREADS client threads)"
printf '%-6s %12s %12s %7s   %-17s %-17s\n' C "nio msg/s" "intake msg/s" ratio "nio p50/p99 us" "intake p50/p99 us"
for c in 1 16 64 256; do
    n=$(sweep_line nio "$c"); i=$(sweep_line intake "$c")
    printf '%-6s %12s %12s %7s   %-17s %-17s\n' "$c" "$(field "$n" messagesPerSec)" "$(field "$i" messagesPerSec)" \
        "$(ratio "$(field "$i" messagesPerSec)" "$(field "$n" messagesPerSec)")" \
        "$(field "$n" p50Us)/$(field "$n" p99Us)" "$(field "$i" p50Us)/$(field "$i" p99Us)"
done
n=$(last_line "$OUT/nio.idle"); i=$(last_line "$OUT/intake.idle")
echo
echo "Idle connections: $IDLE_CONNS, held ${HOLD}s (intake-bench ws-idle)"
printf '%-22s %10s %10s %7s\n' "" nio intake ratio
printf '%-22s %10s %10s %7s\n' "server KiB/connection" "$(field "$n" perConnectionKiB)" "$(field "$i" perConnectionKiB)" \
    "$(ratio "$(field "$i" perConnectionKiB)" "$(field "$n" perConnectionKiB)")"
printf '%-22s %10s %10s\n' "verified" "$(field "$n" verified)" "$(field "$i" verified)"
finish
