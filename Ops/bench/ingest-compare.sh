#!/usr/bin/env bash
# ingest-compare.sh: issue 3's durable-ingest benchmark in one run on one disk: the raw fdatasync
# limit (intake-bench fsync), Redis 7 XADD with appendonly yes + appendfsync always
# (redis-benchmark), and intake ingest over TCP NDJSON and HTTP (intake-bench ingest) at
# C = 1, 16, 64, 256, median of RUNS each; then one table with the ratios the targets name.
# Loopback only; every step is under `timeout`; everything started here is stopped on exit.
#
# usage: Ops/bench/ingest-compare.sh          (as root the first time, to apt-get install redis-server)
# Environment (defaults in brackets):
#   INTAKE_BIN [$ROOT/.build/release/intake]  any executable taking `serve --config --data-dir --http --tcp --fsync`
#   DURATION [3] WARMUP [1] RUNS [3] THREADS [cores]   intake-bench ingest, per run
#   REDIS_REQUESTS ["1:5000 16:20000 64:40000 256:60000"]  redis-benchmark -n per C, RUNS runs each
#   FSYNC_DURATION [2]   seconds per mode and run of intake-bench fsync (RUNS runs)
#   WORK_DIR [a new /tmp/ingest-compare.XXXXXX, removed after]   the disk under test
#   SKIP_BUILD [0]   1: use the binaries as they are
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BENCH=$ROOT/.build/release/intake-bench
INTAKE_BIN=${INTAKE_BIN:-$ROOT/.build/release/intake}
DURATION=${DURATION:-3}
WARMUP=${WARMUP:-1}
RUNS=${RUNS:-3}
THREADS=${THREADS:-$(nproc)}
REDIS_REQUESTS=${REDIS_REQUESTS:-"1:5000 16:20000 64:40000 256:60000"}
FSYNC_DURATION=${FSYNC_DURATION:-2}
SKIP_BUILD=${SKIP_BUILD:-0}
KEY=bench-key-0123456789
CS="1 16 64 256"
if [[ -n "${WORK_DIR:-}" ]]; then mkdir -p "$WORK_DIR"; WORK=$(mktemp -d "$WORK_DIR/ingest-compare.XXXXXX"); else WORK=$(mktemp -d /tmp/ingest-compare.XXXXXX); fi
RES=$WORK/results
PIDS=()

# shellcheck source=Ops/bench/lib.sh
source "$ROOT/Ops/bench/lib.sh"

cleanup() {
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
mkdir -p "$RES"

if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
    [[ $(id -u) == 0 ]] || { log "redis-server is missing: run once as root (apt-get install -y redis-server)"; exit 2; }
    log "installing redis-server"
    timeout 600 apt-get install -y redis-server >&2 || { timeout 300 apt-get update >&2 && timeout 600 apt-get install -y redis-server >&2; }
fi
if [[ "$SKIP_BUILD" != 1 ]]; then
    log "building intake-bench and intake (release)"
    (cd "$ROOT" && timeout 1200 swift build -c release --product intake-bench && timeout 1200 swift build -c release --product intake) >&2
fi

log "raw limit on $WORK: intake-bench fsync"
mkdir -p "$WORK/fsync"
timeout "$(awk -v r="$RUNS" -v d="$FSYNC_DURATION" 'BEGIN { printf "%d", r * (2 * d + 2) + 30 }')" "$BENCH" fsync --dir "$WORK/fsync" --duration "$FSYNC_DURATION" --runs "$RUNS" \
    | tee "$RES/fsync" >&2 || failed "intake-bench fsync"

log "redis $(redis-server --version | grep -o 'v=[0-9.]*'): XADD, appendonly yes, appendfsync always"
REDIS_PORT=$(free_port)
mkdir -p "$WORK/redis"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$WORK/redis" --appendonly yes --appendfsync always \
    --save '' --daemonize no --logfile "$WORK/redis/redis.log" &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.2; done
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null || { log "redis did not start: $(tail -3 "$WORK/redis/redis.log")"; exit 1; }
VALUE=$(head -c 128 /dev/zero | tr '\0' v)
for pair in $REDIS_REQUESTS; do
    c=${pair%%:*}; n=${pair#*:}
    for run in $(seq 1 "$RUNS"); do
        line=$(timeout 300 redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c "$c" -n "$n" --csv XADD bench '*' f "$VALUE" | tail -1) \
            || { failed "redis-benchmark c=$c run $run"; continue; }
        # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
        IFS=, read -r _ rps _ _ p50 _ p99 _ <<<"$(tr -d '"' <<<"$line")"
        echo "$rps $p50 $p99" >>"$RES/redis.$c"
        log "  redis c=$c run $run/$RUNS: $rps ops/s p50=${p50} ms p99=${p99} ms"
    done
done
stop_pid "$REDIS_PID"

log "intake ($INTAKE_BIN): ingest over TCP and HTTP, --fsync always"
# Rates and the per-IP limit off: one producer per connection, as fast as it goes, from loopback.
printf '{"apps":[{"account":"bench","key":"%s"}],"tcpRateLimit":0,"httpRateLimit":0,"maxConnectionsPerIP":0}\n' "$KEY" >"$WORK/intake.json"
"$INTAKE_BIN" serve --config "$WORK/intake.json" --data-dir "$WORK/intake-data" --http 127.0.0.1:0 --tcp 127.0.0.1:0 \
    --fsync always >"$WORK/intake.out" 2>"$WORK/intake.err" &
INTAKE_PID=$!
PIDS+=("$INTAKE_PID")
ready=$(wait_ready "$WORK/intake.out" "$INTAKE_PID") \
    || { log "intake printed no ready line within 30 s: $(tail -5 "$WORK/intake.err")"; exit 1; }
HTTP=${ready#*http=}; HTTP=${HTTP%% *}
TCP=${ready#*tcp=}; TCP=${TCP%% *}
for a in "$HTTP" "$TCP"; do
    [[ "$a" =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+:[0-9]+$ ]] || { log "intake listens on non-loopback $a; refusing"; exit 2; }
done
limit=$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { printf "%d", d + w + 60 }')
for c in $CS; do
    for transport in tcp http; do
        for run in $(seq 1 "$RUNS"); do
            kill -0 "$INTAKE_PID" 2>/dev/null || { log "intake died: $(grep -m3 -i 'fatal\|error' "$WORK/intake.err" || tail -3 "$WORK/intake.err")"; exit 1; }
            # A failed or timed-out run (errors > 0 exits non-zero) is counted, not averaged in.
            if line=$(timeout "$limit" "$BENCH" ingest "--$transport" "$([[ $transport == tcp ]] && echo "$TCP" || echo "$HTTP")" \
                -c "$c" --duration "$DURATION" --warmup "$WARMUP" --threads "$THREADS" --key "$KEY" --server-pid "$INTAKE_PID" \
                | tail -1); then
                echo "$line" >>"$RES/intake.$transport.$c"
            else
                failed "intake-bench ingest --$transport c=$c run $run: $line"
            fi
            log "  intake $transport c=$c run $run/$RUNS: $(field "$line" acksPerSec) acks/s p50=$(field "$line" p50Us) p99=$(field "$line" p99Us) us errors=$(field "$line" errors)"
        done
    done
done
stop_pid "$INTAKE_PID"

# med FILE KEY: median of one JSON field over the lines of FILE
med() { while read -r l; do field "$l" "$2"; done <"$1" 2>/dev/null | grep -E '^[0-9.]+$' | median; }
# redis_med C COLUMN(1 rps, 2 p50 ms, 3 p99 ms)
redis_med() { awk -v k="$2" '{ print $k }' "$RES/redis.$1" 2>/dev/null | median; }
ms_to_us() { awk -v v="$1" 'BEGIN { if (v ~ /^[0-9.]+$/) printf "%.0f", v * 1000; else print "null" }'; }

F=$(last_line "$RES/fsync")
echo
echo "Durable ingest, median of $RUNS runs ($(date -u +%FT%TZ), $(nproc) cores, disk of $WORK)"
echo "raw: 128-byte append+fdatasync $(field "$F" opsPerSec)/s p50=$(field "$F" p50Us) p99=$(field "$F" p99Us) p99.9=$(field "$F" p999Us) us;" \
    "batches of $(field "$F" batch): $(field "$F" batchRecordsPerSec) records/s p99=$(field "$F" batchP99Us) us per batch"
printf '%-5s %11s %11s %11s %9s   %-15s %-15s %-15s %s\n' C "tcp acks/s" "http acks/s" "redis ops/s" "tcp/redis" \
    "tcp p50/p99 us" "http p50/p99" "redis p50/p99" "errors tcp/http"
for c in $CS; do
    t=$(med "$RES/intake.tcp.$c" acksPerSec); h=$(med "$RES/intake.http.$c" acksPerSec); r=$(redis_med "$c" 1)
    printf '%-5s %11s %11s %11s %9s   %-15s %-15s %-15s %s\n' "$c" "$t" "$h" "$r" "$(ratio "$t" "$r")" \
        "$(med "$RES/intake.tcp.$c" p50Us)/$(med "$RES/intake.tcp.$c" p99Us)" \
        "$(med "$RES/intake.http.$c" p50Us)/$(med "$RES/intake.http.$c" p99Us)" \
        "$(ms_to_us "$(redis_med "$c" 2)")/$(ms_to_us "$(redis_med "$c" 3)")" \
        "$(med "$RES/intake.tcp.$c" errors)/$(med "$RES/intake.http.$c" errors)"
done
p99one=$(med "$RES/intake.tcp.1" p99Us)
echo "one producer: tcp p99 $p99one us / raw fdatasync p99 $(field "$F" p99Us) us = $(ratio "$p99one" "$(field "$F" p99Us)") (target <= 3)"
echo "64 producers: tcp $(med "$RES/intake.tcp.64" acksPerSec) acks/s (target >= 100000), tcp/redis $(ratio "$(med "$RES/intake.tcp.64" acksPerSec)" "$(redis_med 64 1)") (target >= 2)"
finish
