# Ops/bench/lib.sh: helpers shared by the comparison scripts (sourced, not run). Every failure
# of a measuring step is counted with `failed`; the scripts print their tables and then exit 1
# when any step failed, so a run with missing figures never looks like a good one.

FAILURES=0

log() { printf '== %s\n' "$*" >&2; }

# failed WHAT: reports a failed step and counts it.
failed() { log "FAILED: $*"; FAILURES=$((FAILURES + 1)); }

# finish: the exit status of the whole run (call last).
finish() {
    if (( FAILURES > 0 )); then log "$FAILURES step(s) failed: the figures above are incomplete"; exit 1; fi
    exit 0
}

# stop_pid PID: SIGTERM, up to 10 s to exit, then SIGKILL. A process that has already exited is
# fine: stopping is idempotent and runs from the EXIT trap.
stop_pid() {
    local pid=$1 status=0
    kill -0 "$pid" 2>/dev/null || return 0
    kill "$pid" 2>/dev/null || log "pid $pid exited before SIGTERM"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid still running after 10 s: SIGKILL"
        kill -9 "$pid" 2>/dev/null || log "pid $pid exited before SIGKILL"
    fi
    wait "$pid" 2>/dev/null || status=$?
    (( status == 0 || status == 143 || status == 137 )) || log "pid $pid exited with status $status"
}

# wait_ready FILE PID: prints the broker's `intake ready …` line from FILE, waiting up to 30 s;
# returns 1 when PID exits first or the line never comes.
wait_ready() {
    local file=$1 pid=$2 line
    for _ in $(seq 1 150); do
        line=$(sed -n '/^intake ready /{p;q;}' "$file")
        if [[ -n "$line" ]]; then echo "$line"; return 0; fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

# last_line FILE: the last line of FILE, nothing when FILE is missing or empty.
last_line() { if [[ -s "$1" ]]; then sed -n '$p' "$1"; fi; }

# median of the numbers on stdin ("null" when none)
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "null"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# field JSON-LINE KEY: a number (or string) from one flat JSON line ("null" when absent)
field() { awk -v k="\"$2\":" '{ i = index($0, k); if (i == 0) { print "null"; exit } s = substr($0, i + length(k)); sub(/[,}].*/, "", s); gsub(/"/, "", s); print (s == "" ? "null" : s); exit } END { if (NR == 0) print "null" }' <<<"$1"; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
