#!/usr/bin/env bash
# A/B throughput of two cp-stub binaries, interleaved: rps and p99 at 64
# connections on POST /cp/workspaces/provision (bench/cp-stub-provision.lua),
# the way bench/cp-stub.sh measures cp-stub (server pinned to SERVER_CPU,
# wrk to WRK_CPU, `--log-format off`, 127.0.0.1 only). Written to compare
# the borrowed JSON path (contract::JsonDoc) with one serde_json::Value.
#
#   A_BIN=/work/bench-bins/cp-stub-A B_BIN=/work/bench-bins/cp-stub-B bench/borrowed-ab.sh
#   ROUNDS=7 DURATION=5 A_BIN=... B_BIN=... bench/borrowed-ab.sh
#
# Both servers run for the whole benchmark; each round runs wrk against A
# and then B (A B A B ...), so slow drift and other load on the machine
# fall on both. Each gets one unrecorded warm-up run first. Prints per-round
# rps / p99 and the B/A ratio, the median and min–max of each, and the
# median of the per-round ratios; also the server's CPU time per request
# (utime+stime from /proc over each run / requests served), which moves much
# less than rps when other work shares the cores.
#
# Needs: wrk (Debian's, with --latency), taskset, /usr/bin/python3.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${A_BIN:?set A_BIN to the first cp-stub binary}"
: "${B_BIN:?set B_BIN to the second cp-stub binary}"
ROUNDS=${ROUNDS:-7}
DURATION=${DURATION:-5}
CONNS=${CONNS:-64}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}

for tool in wrk taskset /usr/bin/python3; do
    command -v "$tool" >/dev/null || { echo "bench/borrowed-ab.sh: $tool is missing (apt-get install wrk util-linux python3)" >&2; exit 2; }
done
for bin in "$A_BIN" "$B_BIN"; do
    [ -x "$bin" ] || { echo "bench/borrowed-ab.sh: $bin is not an executable" >&2; exit 2; }
done
# Bounded: at most 15 rounds of at most 30 s each (15 min of load).
case "$ROUNDS" in ''|*[!0-9]*) echo "ROUNDS must be a number" >&2; exit 2;; esac
case "$DURATION" in ''|*[!0-9]*) echo "DURATION must be a number of seconds" >&2; exit 2;; esac
case "$CONNS" in ''|*[!0-9]*) echo "CONNS must be a number" >&2; exit 2;; esac
if [ "$ROUNDS" -lt 1 ] || [ "$ROUNDS" -gt 15 ]; then echo "ROUNDS must be 1..15" >&2; exit 2; fi
if [ "$DURATION" -lt 1 ] || [ "$DURATION" -gt 30 ]; then echo "DURATION must be 1..30" >&2; exit 2; fi
if [ "$CONNS" -lt 1 ] || [ "$CONNS" -gt 1024 ]; then echo "CONNS must be 1..1024" >&2; exit 2; fi

export A_BIN B_BIN ROUNDS DURATION CONNS SERVER_CPU WRK_CPU
export LUA="bench/cp-stub-provision.lua"

exec /usr/bin/python3 - <<'PY'
import os, re, socket, statistics, subprocess, sys, time

BINS = {"A": os.environ["A_BIN"], "B": os.environ["B_BIN"]}
PORTS = {"A": 19511, "B": 19512}
ROUNDS, DURATION, CONNS = int(os.environ["ROUNDS"]), int(os.environ["DURATION"]), int(os.environ["CONNS"])
SCPU, WCPU, LUA = os.environ["SERVER_CPU"], os.environ["WRK_CPU"], os.environ["LUA"]
PATH = "/cp/workspaces/provision"

def log(*a):
    print(*a, file=sys.stderr, flush=True)

def healthy(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False

def pin():
    os.sched_setaffinity(0, {int(SCPU)})

def start(name):
    port = PORTS[name]
    if healthy(port):
        raise SystemExit(f"port {port} is already in use")
    p = subprocess.Popen([BINS[name], "--port", str(port), "--log-format", "off"],
                         stdout=subprocess.DEVNULL, preexec_fn=pin)
    for _ in range(2000):
        if healthy(port):
            return p
        if p.poll() is not None:
            raise SystemExit(f"{name} ({BINS[name]}) exited with {p.returncode}")
        time.sleep(0.005)
    p.kill()
    raise SystemExit(f"{name} did not come up on port {port}")

def to_us(text):
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * {"us": 1, "ms": 1000, "s": 1_000_000}[m.group(2)]

def cpu_ticks(pid):
    """utime + stime of the server process, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])

TICK_US = 1_000_000 / os.sysconf("SC_CLK_TCK")

def wrk(name, duration):
    before = cpu_ticks(procs[name].pid)
    out = subprocess.run(
        ["taskset", "-c", WCPU, "wrk", "-t1", f"-c{CONNS}", f"-d{duration}s", "--latency", "-s", LUA,
         f"http://127.0.0.1:{PORTS[name]}{PATH}"], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{name}: {errors.group(1)} non-2xx answers: not measuring provision")
    used = (cpu_ticks(procs[name].pid) - before) * TICK_US
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p99_us": to_us(re.search(r"\s99%\s+(\S+)", out).group(1)),
            "cpu_us": used / total}

def loadavg():
    return open("/proc/loadavg").read().split()[0]

procs = {}
try:
    for name in BINS:
        procs[name] = start(name)
    for name in BINS:
        log(f"warm-up {name}...")
        wrk(name, 2)
    runs = {"A": [], "B": []}
    loads = []
    for r in range(ROUNDS):
        for name in ("A", "B"):
            loads.append(float(loadavg()))
            log(f"round {r + 1}/{ROUNDS} {name} (load {loads[-1]:.2f})...")
            runs[name].append(wrk(name, DURATION))
finally:
    for p in procs.values():
        p.terminate()
        p.wait()

ratios = [b["rps"] / a["rps"] for a, b in zip(runs["A"], runs["B"])]
print(f"\nA = {BINS['A']}\nB = {BINS['B']}")
print(f"{ROUNDS} rounds x {DURATION}s, wrk -t1 -c{CONNS} on CPU {WCPU}, servers on CPU {SCPU}, "
      f"order A B per round; 1-min load average during rounds {min(loads):.2f}–{max(loads):.2f}\n")
print("| round | A rps | B rps | B/A | A p99 | B p99 | A CPU/req | B CPU/req |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
for i, (a, b) in enumerate(zip(runs["A"], runs["B"])):
    print(f"| {i + 1} | {a['rps']:,.0f} | {b['rps']:,.0f} | {ratios[i]:.3f} | {a['p99_us']:,.0f} µs | {b['p99_us']:,.0f} µs "
          f"| {a['cpu_us']:.2f} µs | {b['cpu_us']:.2f} µs |")

def summary(name):
    rps = [x["rps"] for x in runs[name]]
    p99 = [x["p99_us"] for x in runs[name]]
    cpu = [x["cpu_us"] for x in runs[name]]
    return (statistics.median(rps), min(rps), max(rps), statistics.median(p99), min(p99), max(p99),
            statistics.median(cpu), min(cpu), max(cpu))

print("\n| variant | median rps | rps spread (min–max) | median p99 | p99 spread | median CPU/req | CPU/req spread |")
print("|---|---:|---:|---:|---:|---:|---:|")
s = {}
for name in BINS:
    s[name] = summary(name)
    med, lo, hi, pmed, plo, phi, cmed, clo, chi = s[name]
    print(f"| {name} | {med:,.0f} | {lo:,.0f}–{hi:,.0f} ({(hi - lo) / med * 100:.1f}%) | {pmed:,.0f} µs | {plo:,.0f}–{phi:,.0f} µs "
          f"| {cmed:.2f} µs | {clo:.2f}–{chi:.2f} µs |")
overlap = s["A"][1] <= s["B"][2] and s["B"][1] <= s["A"][2]
print(f"\nmedian B / median A = {s['B'][0] / s['A'][0]:.3f}; median of per-round B/A = {statistics.median(ratios):.3f} "
      f"(min {min(ratios):.3f}, max {max(ratios):.3f})")
print(f"rps ranges {'overlap' if overlap else 'do not overlap'}")
cpu_ratios = [b["cpu_us"] / a["cpu_us"] for a, b in zip(runs["A"], runs["B"])]
print(f"server CPU per request (utime+stime / requests): median B / median A = {s['B'][6] / s['A'][6]:.3f}; "
      f"median of per-round B/A = {statistics.median(cpu_ratios):.3f} (min {min(cpu_ratios):.3f}, max {max(cpu_ratios):.3f})")
PY
