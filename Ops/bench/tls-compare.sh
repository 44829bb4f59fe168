#!/usr/bin/env bash
# tls-compare.sh: what TLS costs on the HTTP/WebSocket listener. The same release broker with
# and without --tls-cert/--tls-key, measured alternately with intake-bench: WebSocket echo in a
# closed loop (ws vs wss), memory per idle connection and connection set-up rate (ws-idle),
# then full TLS handshakes per second with `openssl s_time` (a peer we did not write).
# Loopback only; every step is under `timeout`; everything started here is stopped on exit.
#
# usage: Ops/bench/tls-compare.sh
# Environment (defaults in brackets):
#   C [64] DURATION [4] WARMUP [1] RUNS [3] THREADS [1] LOOPS [2]   ws, per run and mode
#   IDLE_CONNS [2000] HOLD [2]                                      ws-idle
#   S_TIME [5]                                                      openssl s_time seconds
#   SKIP_BUILD [unset]: use the existing .build/release binaries
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
C=${C:-64}
DURATION=${DURATION:-4}
WARMUP=${WARMUP:-1}
RUNS=${RUNS:-3}
THREADS=${THREADS:-1}
LOOPS=${LOOPS:-2}
IDLE_CONNS=${IDLE_CONNS:-2000}
HOLD=${HOLD:-2}
S_TIME=${S_TIME:-5}
BENCH=$ROOT/.build/release/intake-bench
INTAKE=$ROOT/.build/release/intake
OUT=$(mktemp -d /tmp/tls-compare.XXXXXX)
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

# start MODE: starts a broker (plain or tls) on a fresh data directory; sets SERVER_PID and HTTP.
start() {
    local mode=$1 tls=()
    [[ $mode == tls ]] && tls=(--tls-cert "$OUT/cert.pem" --tls-key "$OUT/key.pem")
    rm -rf "$OUT/data"
    "$INTAKE" serve --http 127.0.0.1:0 --tcp 127.0.0.1:0 --data-dir "$OUT/data" --loops "$LOOPS" --fsync never \
        --max-connections 100000 --max-connections-per-ip 0 --ws-rate-limit 0 --http-rate-limit 0 \
        "${tls[@]}" >"$OUT/intake.out" 2>"$OUT/intake.err" &
    SERVER_PID=$!
    local line
    line=$(wait_ready "$OUT/intake.out" "$SERVER_PID") || { log "no ready line: $(tail -3 "$OUT/intake.err")"; exit 1; }
    HTTP=${line#*http=}; HTTP=${HTTP%% *}
}

url() { if [[ $1 == tls ]]; then echo "wss://$HTTP/ws/widget"; else echo "ws://$HTTP/ws/widget"; fi; }

if [[ -z "${SKIP_BUILD:-}" ]]; then
    log "building intake and intake-bench (release)"
    (cd "$ROOT" && timeout 1800 swift build -c release --product intake && timeout 1800 swift build -c release --product intake-bench) >&2
fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$OUT/key.pem" -out "$OUT/cert.pem" \
    -days 2 -subj "/CN=localhost" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null

ws_limit=$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { printf "%d", d + w + 60 }')
for run in $(seq 1 "$RUNS"); do
    for mode in plain tls; do
        start "$mode"
        log "run $run, $mode: ws -c $C against $(url "$mode")"
        timeout "$ws_limit" "$BENCH" ws --url "$(url "$mode")" -c "$C" --threads "$THREADS" --duration "$DURATION" \
            --warmup "$WARMUP" --server-pid "$SERVER_PID" | tail -1 >>"$OUT/$mode.ws" || failed "$mode: ws run $run"
        stop_server
    done
done
for mode in plain tls; do
    start "$mode"
    log "$mode: ws-idle -c $IDLE_CONNS"
    timeout $((HOLD + 240)) "$BENCH" ws-idle --url "$(url "$mode")" -c "$IDLE_CONNS" --hold "$HOLD" --threads "$THREADS" \
        --server-pid "$SERVER_PID" | tail -1 >"$OUT/$mode.idle" || failed "$mode: ws-idle"
    stop_server
done
start tls
log "openssl s_time -new for ${S_TIME}s (TLS 1.3 full handshakes, one at a time)"
timeout $((S_TIME + 60)) openssl s_time -connect "$HTTP" -new -time "$S_TIME" >"$OUT/s_time" 2>&1 || failed "s_time"
handshakes=$(awk '/connections in .* real seconds/ { for (i = 1; i <= NF; i++) if ($i == "connections") { print $(i-1) / $(i+2); exit } }' "$OUT/s_time")
stop_server

med() { while read -r l; do field "$l" "$2"; done <"$OUT/$1.ws" | median; }
echo
echo "WebSocket echo, C=$C, $THREADS client thread(s), broker --loops $LOOPS; median of $RUNS alternating runs of ${DURATION}s"
# Server CPU per message: the load generator encrypts too and shares the cores, so msg/s
# understates what the broker could do; its CPU time per message is the cleaner comparison.
us_per_msg() { while read -r l; do awk -v c="$(field "$l" serverCores)" -v m="$(field "$l" messagesPerSec)" \
    'BEGIN { if (m > 0 && c ~ /^[0-9.]+$/) printf "%.2f\n", c / m * 1e6 }'; done <"$OUT/$1.ws" | median; }
printf '%-6s %12s %10s %10s %12s %14s\n' mode "msg/s" "p50 us" "p99 us" "server cores" "server us/msg"
for mode in plain tls; do
    printf '%-6s %12s %10s %10s %12s %14s\n' "$mode" "$(med "$mode" messagesPerSec)" "$(med "$mode" p50Us)" "$(med "$mode" p99Us)" \
        "$(med "$mode" serverCores)" "$(us_per_msg "$mode")"
done
echo "tls/plain msg/s: $(ratio "$(med tls messagesPerSec)" "$(med plain messagesPerSec)")"
echo
echo "Idle connections: $IDLE_CONNS held ${HOLD}s (ws-idle)"
printf '%-6s %16s %12s %10s\n' mode "KiB/connection" "connect s" verified
for mode in plain tls; do
    l=$(last_line "$OUT/$mode.idle")
    printf '%-6s %16s %12s %10s\n' "$mode" "$(field "$l" perConnectionKiB)" "$(field "$l" connectS)" "$(field "$l" verified)"
done
echo
echo "openssl s_time -new: ${handshakes:-n/a} full TLS handshakes/s (client and broker on the same cores)"
finish
