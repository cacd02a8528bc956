#!/usr/bin/env bash
# Cost of one request as user-space instructions counted by valgrind's callgrind, which do not
# drift with the VM's speed the way req/s and CPU time do (±20% here between runs). Run one at
# a time: V8 compiles on other threads, so a busy machine changes how much code is optimized
# when counting starts (bench/README.md has the readings and their spread).
#
#   bench/instructions-per-request.sh <server script> <path> [warm-up requests]
#   e.g. bench/instructions-per-request.sh bench/servers/bare-fastify.mjs /ok
#        bench/instructions-per-request.sh bench/servers/warden.mjs /healthz
#        BENCH_KEYS_FILE=/tmp/k.json BENCH_REQUEST_HEADER_FILE=/tmp/h \
#          bench/instructions-per-request.sh bench/servers/warden-apikeys.mjs /v1/bench/guarded
#        BENCH_KEYS_FILE=/tmp/k.json BENCH_REQUEST_HEADER_FILE=/tmp/h BENCH_REQUEST_BODY_FILE=/tmp/b \
#          bench/instructions-per-request.sh bench/servers/warden-apikeys.mjs /v1/keys/verify
#
# BENCH_REQUEST_HEADER_FILE names a file of "Name: value" lines, read once the server listens
# (so a server can write a key it generated at start-up), sent with every request.
# BENCH_REQUEST_BODY_FILE names a file whose content is sent as the body of a POST (read, like
# the headers, once the server listens), e.g. for POST /v1/keys/verify.
#
# The server runs under callgrind (about 50× slower: start-up takes ~30–60 s), is warmed up
# with autocannon (default 20,000 requests, so the JIT has settled), then the counters are
# zeroed, 2,000 requests are sent (10 connections) and dumped. Prints instructions per request
# for the main thread (the event loop) and for all threads (V8's compiler and GC helpers
# included). Kernel work (syscalls, TCP) is not counted. Needs valgrind; build first.
set -eu
script=${1:?server script}; path=${2:?request path}; warm=${3:-20000}
command -v valgrind >/dev/null || { echo "valgrind is not installed: skipping" >&2; exit 0; }
dir=$(mktemp -d)
valgrind --tool=callgrind --callgrind-out-file="$dir/cg.%p" node "$script" >"$dir/out" 2>"$dir/err" &
for _ in $(seq 300); do grep -q LISTENING "$dir/out" 2>/dev/null && break; sleep 1; done
url=$(grep -o 'LISTENING \S*' "$dir/out" | awk '{print $2}')
headers=()
if [ -n "${BENCH_REQUEST_HEADER_FILE:-}" ]; then
  while IFS= read -r line; do [ -n "$line" ] && headers+=(-H "$line"); done <"$BENCH_REQUEST_HEADER_FILE"
fi
if [ -n "${BENCH_REQUEST_BODY_FILE:-}" ]; then headers+=(-m POST -b "$(cat "$BENCH_REQUEST_BODY_FILE")"); fi
pid=$(pgrep -f "valgrind.bin.*$dir/cg" | head -1)
npx autocannon -c 10 -a "$warm" "${headers[@]}" "$url$path" >/dev/null 2>&1
callgrind_control -z "$pid" >/dev/null 2>&1
npx autocannon -c 10 -a 2000 "${headers[@]}" "$url$path" >/dev/null 2>&1
callgrind_control -d "$pid" >/dev/null 2>&1
sleep 2
file=$(ls -t "$dir"/cg."$pid"* | head -1)
total=$(grep -m1 '^summary:' "$file" | awk '{print $2}')
main=$(callgrind_annotate --inclusive=yes "$file" 2>/dev/null | grep -m1 'node::SpinEventLoopInternal' | awk '{gsub(",","",$1); print $1}')
echo "$script $path: main thread $((main / 2000)) instructions/request, all threads $((total / 2000))"
kill "$pid" 2>/dev/null || true
[ -n "${BENCH_KEEP_CALLGRIND:-}" ] && { cp "$file" "$BENCH_KEEP_CALLGRIND"; }
rm -rf "$dir"
