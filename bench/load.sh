#!/usr/bin/env bash
# Load run of issue 6: the mock (cmd/memmock) over loopback against a bare
# net/http handler that serves the same bytes (bench/cmd/bare), both hit by
# wrk on GET /v2/notes/{id} of an existing note. Prints requests/s and p99
# latency side by side, in Markdown.
#
#   bench/load.sh                       # 15 s per target, 2 threads, 32 connections
#   DURATION=30s CONNS=64 bench/load.sh
#
# Installs wrk from Debian's packages (apt-get) when it is missing. The
# mock's limits are raised out of the way (a billion tokens a second in every
# bucket), so what is measured is the server, not the rate limiter's 429s.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-15s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
MOCK_ADDR=${MOCK_ADDR:-127.0.0.1:18080}
BARE_ADDR=${BARE_ADDR:-127.0.0.1:18081}
KEY=test-key
NOTE=3b2f9c1e-8f1a-4c39-9d3e-5a0c1d2e3f40

if ! command -v wrk >/dev/null 2>&1; then
	echo "load.sh: installing wrk with apt-get" >&2
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	$sudo apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >/dev/null
fi

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/memmock" ./cmd/memmock
go build -o "$tmp/bare" ./bench/cmd/bare

big=1000000000
"$tmp/memmock" -addr "$MOCK_ADDR" -minute 1s -day 1s \
	-requests-per-minute $big -requests-per-day $big \
	-complexity-per-minute $big -complexity-per-day $big >"$tmp/memmock.log" 2>&1 &
pids+=($!)

wait_up() {
	for _ in $(seq 100); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.1
	done
	echo "load.sh: $1 does not answer" >&2
	cat "$tmp/memmock.log" >&2
	exit 1
}
wait_up "http://$MOCK_ADDR/_mock/state"

path=/v2/notes/$NOTE
curl -sf -o /dev/null -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
	-d '{"id":"'$NOTE'","content":"Load test\nA note read again and again by wrk, to measure the mock against a bare handler."}' \
	"http://$MOCK_ADDR/v2/notes"
curl -sf -D "$tmp/headers" -o "$tmp/body" -H "Authorization: Bearer $KEY" "http://$MOCK_ADDR$path"

"$tmp/bare" -addr "$BARE_ADDR" -body "$tmp/body" -headers "$tmp/headers" >/dev/null &
pids+=($!)
wait_up "http://$BARE_ADDR/"

load() {
	wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "Authorization: Bearer $KEY" "http://$1$path" >"$2"
}
load "$MOCK_ADDR" "$tmp/mock.txt"
load "$BARE_ADDR" "$tmp/bare.txt"

rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
p99() { awk '$1 == "99%" {print $2}' "$1"; }
errs() { awk '/Non-2xx or 3xx responses:/ {n=$NF} /Socket errors:/ {s=$0} END {printf "%s", (n ? n " non-2xx" : "0 non-2xx"); if (s) printf "; %s", s}' "$1"; }

echo "Load run, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, wrk -t$THREADS -c$CONNS -d$DURATION, GET $path ($(wc -c <"$tmp/body") bytes)"
echo
echo "| server | requests/s | p99 latency | errors |"
echo "|---|---:|---:|---|"
echo "| mock (cmd/memmock, limits raised) | $(rps "$tmp/mock.txt") | $(p99 "$tmp/mock.txt") | $(errs "$tmp/mock.txt") |"
echo "| bare net/http, same bytes | $(rps "$tmp/bare.txt") | $(p99 "$tmp/bare.txt") | $(errs "$tmp/bare.txt") |"
if [ -n "${VERBOSE:-}" ]; then
	echo; cat "$tmp/mock.txt"; echo; cat "$tmp/bare.txt"
fi
