#!/usr/bin/env bash
# cp-stub benchmark: throughput, latency, startup and memory of cp-stub
# against a minimal hyper server (cp-stub/examples/bench_minimal.rs),
# measured in the same run on the same machine.
#
#   bench/cp-stub.sh                      # defaults below
#   DURATION=10 REPEAT=3 STARTUP_RUNS=30 bench/cp-stub.sh
#
# Each server is pinned to one core (SERVER_CPU, default 0) and wrk to
# another (WRK_CPU, default 1). Load: POST /cp/workspaces/provision with a
# valid JSON body and an X-Molecule-Org-Id header (bench/cp-stub-provision.lua).
# cp-stub runs with counters, per-org counts, validation and the journal on
# (defaults) and logging OFF (--log-format off): a log line per request to a
# terminal would measure the terminal.
#
# Needs: cargo, wrk (Debian's, with --latency), taskset, /usr/bin/python3.
# Writes bench/out/cp-stub.json and prints a summary with ratios.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-5}
REPEAT=${REPEAT:-3}
STARTUP_RUNS=${STARTUP_RUNS:-21}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
TARGET=${CARGO_TARGET_DIR:-target}

for tool in wrk taskset /usr/bin/python3; do
    command -v "$tool" >/dev/null || { echo "bench/cp-stub.sh: $tool is missing (apt-get install wrk util-linux python3)" >&2; exit 2; }
done

cargo build --release -p cp-stub --bin cp-stub --example bench_minimal --example bench_startup >&2

mkdir -p bench/out
export STUB_BIN="$TARGET/release/cp-stub"
export MIN_BIN="$TARGET/release/examples/bench_minimal"
export STARTUP_BIN="$TARGET/release/examples/bench_startup"
export LUA="bench/cp-stub-provision.lua"
export DURATION REPEAT STARTUP_RUNS SERVER_CPU WRK_CPU

exec /usr/bin/python3 - <<'PY'
import json, os, re, socket, statistics, subprocess, sys, time

STUB, MIN, LUA = os.environ["STUB_BIN"], os.environ["MIN_BIN"], os.environ["LUA"]
DURATION, REPEAT = int(os.environ["DURATION"]), int(os.environ["REPEAT"])
STARTUP_RUNS = int(os.environ["STARTUP_RUNS"])
SCPU, WCPU = os.environ["SERVER_CPU"], os.environ["WRK_CPU"]
PATH = "/cp/workspaces/provision"
BODY = b'{"org_id":"org-bench","workspace_id":"ws-bench","runtime":"claude-code","tier":1,"platform_url":"http://tenant:8080","env":{"MOLECULE_WORKSPACE_NAME":"bench"}}'
REQ = (b"POST " + PATH.encode() + b" HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
       b"X-Molecule-Org-Id: org-bench\r\nContent-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)

def log(*a):
    print(*a, file=sys.stderr, flush=True)

def cmd(kind, port):
    if kind == "cp-stub":
        return [STUB, "--port", str(port), "--log-format", "off"]
    return [MIN, f"127.0.0.1:{port}"]

def get(port, path, timeout=2.0):
    """One GET on a fresh connection: (status, body) or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), body
    except (OSError, IndexError, ValueError):
        return None

def pin():
    # Pin in the child before exec: one exec, no taskset process in the way.
    os.sched_setaffinity(0, {int(SCPU)})

def start(kind, port):
    p = subprocess.Popen(cmd(kind, port), stdout=subprocess.DEVNULL, preexec_fn=pin)
    for _ in range(2000):
        r = get(port, "/healthz")
        if r and r[0] == 200:
            return p
        time.sleep(0.005)
    p.kill()
    raise SystemExit(f"{kind} did not come up on port {port}")

def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1

def to_us(text):
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    v, unit = float(m.group(1)), m.group(2)
    return v * {"us": 1, "ms": 1000, "s": 1_000_000}[unit]

def wrk(port, conns, duration):
    out = subprocess.run(
        ["taskset", "-c", WCPU, "wrk", "-t1", f"-c{conns}", f"-d{duration}s", "--latency", "-s", LUA,
         f"http://127.0.0.1:{port}{PATH}"], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = to_us(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = to_us(re.search(r"\s99%\s+(\S+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"port {port}: {errors.group(1)} non-2xx answers: the benchmark is not measuring provision")
    return {"rps": rps, "p50_us": p50, "p99_us": p99, "requests": total}

def read_answers(s, buf, count):
    for _ in range(count):
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise SystemExit("connection closed during send_exact")
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 20"):
            raise SystemExit(f"unexpected answer {head[:40]!r}")
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
        while len(rest) < length:
            rest += s.recv(65536)
        buf = rest[length:]
    return buf

def send_exact(port, n, conns=64):
    """Exactly n provision calls over `conns` concurrent keep-alive connections
    (the same connection count as the wrk load, so connection buffers are
    part of both memory readings), pipelined a few at a time."""
    socks = []
    for _ in range(conns):
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append([s, b""])
    done = 0
    while done < n:
        plan = []
        for entry in socks:
            k = min(8, n - done)
            if k <= 0:
                break
            entry[0].sendall(REQ * k)
            plan.append((entry, k))
            done += k
        for entry, k in plan:
            entry[1] = read_answers(entry[0], entry[1], k)
    for s, _ in socks:
        s.close()

def startup_all():
    """Exec to first 200 on /healthz, by cp-stub/examples/bench_startup: a
    Rust prober on the other core that spawns from a thread already pinned
    to the server core and retries connect every ~50 µs. (A Python poll loop
    measured its own overhead: ~8 ms for a server that is ready in ~2.)"""
    out = subprocess.run(
        ["taskset", "-c", WCPU, os.environ["STARTUP_BIN"], "--runs", str(STARTUP_RUNS), "--server-cpu", SCPU,
         "--port", "19400",
         f"minimal={MIN} 127.0.0.1:{{port}}",
         f"cp-stub={STUB} --port {{port}} --log-format off"],
        capture_output=True, text=True, check=True).stdout
    rows = [json.loads(l) for l in out.splitlines() if l.strip()]
    return {r["name"]: r["median_ms"] for r in rows}

results = {"machine": {}, "config": {"duration_s": DURATION, "repeat": REPEAT, "startup_runs": STARTUP_RUNS,
           "server_cpu": SCPU, "wrk_cpu": WCPU, "cp_stub": "counters+journal(1000)+validation on, logging off"}}
try:
    results["machine"]["cpu"] = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except StopIteration:
    results["machine"]["cpu"] = "unknown"
results["machine"]["cores"] = os.cpu_count()
results["machine"]["kernel"] = os.uname().release

ports = {"minimal": 19300, "cp-stub": 19301}
log("startup-to-ready (exec to first 200 on /healthz)...")
startup = startup_all()

procs = {k: start(k, p) for k, p in ports.items()}
time.sleep(0.5)
mem = {k: {"idle_kb": rss_kb(procs[k].pid)} for k in ports}
for k, p in ports.items():
    send_exact(p, 10_000)
    mem[k]["after_10k_kb"] = rss_kb(procs[k].pid)

runs = {k: {1: [], 64: []} for k in ports}
for conns in (1, 64):
    for r in range(REPEAT):
        for k in (("minimal", "cp-stub") if r % 2 == 0 else ("cp-stub", "minimal")):
            log(f"wrk -c{conns} {k} run {r + 1}/{REPEAT}...")
            runs[k][conns].append(wrk(ports[k], conns, DURATION))

def median_run(rs):
    return {m: statistics.median(x[m] for x in rs) for m in ("rps", "p50_us", "p99_us")}

load = {k: {c: median_run(runs[k][c]) for c in (1, 64)} for k in ports}

# Bring each server to >= 1M requests served (cp-stub's own counter says how many).
served = {k: 10_000 + sum(x["requests"] for c in (1, 64) for x in runs[k][c]) for k in ports}
state = json.loads(get(ports["cp-stub"], "/__/stub/state")[1])
served["cp-stub"] = state["total_requests"]
for k, p in ports.items():
    while served[k] < 1_000_000:
        log(f"{k}: {served[k]} served, loading to 1M...")
        served[k] += wrk(p, 64, 5)["requests"]
        if k == "cp-stub":
            served[k] = json.loads(get(p, "/__/stub/state")[1])["total_requests"]
    mem[k]["after_1m_kb"] = rss_kb(procs[k].pid)
    mem[k]["served"] = served[k]
state = json.loads(get(ports["cp-stub"], "/__/stub/state")[1])
assert state["provision_calls"] == state["total_requests"], "every request was a provision call"
assert state["orgs"]["org-bench"]["provision"] == state["total_requests"], "attributed to org-bench"
for p in procs.values():
    p.terminate()
    p.wait()

results.update({"startup_ms": startup, "load": load, "memory": mem})
with open("bench/out/cp-stub.json", "w") as f:
    json.dump(results, f, indent=2, default=str)

m, s = load["minimal"], load["cp-stub"]
def fmt_us(v):
    return f"{v / 1000:.2f} ms" if v >= 1000 else f"{v:.0f} µs"
rows = [
    ("rps @1 conn", f"{m[1]['rps']:,.0f}", f"{s[1]['rps']:,.0f}", s[1]["rps"] / m[1]["rps"]),
    ("p50 @1 conn", fmt_us(m[1]["p50_us"]), fmt_us(s[1]["p50_us"]), s[1]["p50_us"] / m[1]["p50_us"]),
    ("p99 @1 conn", fmt_us(m[1]["p99_us"]), fmt_us(s[1]["p99_us"]), s[1]["p99_us"] / m[1]["p99_us"]),
    ("rps @64 conns", f"{m[64]['rps']:,.0f}", f"{s[64]['rps']:,.0f}", s[64]["rps"] / m[64]["rps"]),
    ("p50 @64 conns", fmt_us(m[64]["p50_us"]), fmt_us(s[64]["p50_us"]), s[64]["p50_us"] / m[64]["p50_us"]),
    ("p99 @64 conns", fmt_us(m[64]["p99_us"]), fmt_us(s[64]["p99_us"]), s[64]["p99_us"] / m[64]["p99_us"]),
    ("startup to ready (median)", f"{startup['minimal']:.2f} ms", f"{startup['cp-stub']:.2f} ms", startup["cp-stub"] / startup["minimal"]),
    ("idle RSS", f"{mem['minimal']['idle_kb'] / 1024:.1f} MB", f"{mem['cp-stub']['idle_kb'] / 1024:.1f} MB", mem["cp-stub"]["idle_kb"] / mem["minimal"]["idle_kb"]),
    ("RSS after 10k requests", f"{mem['minimal']['after_10k_kb'] / 1024:.1f} MB", f"{mem['cp-stub']['after_10k_kb'] / 1024:.1f} MB", mem["cp-stub"]["after_10k_kb"] / mem["minimal"]["after_10k_kb"]),
    ("RSS after 1M requests", f"{mem['minimal']['after_1m_kb'] / 1024:.1f} MB", f"{mem['cp-stub']['after_1m_kb'] / 1024:.1f} MB", mem["cp-stub"]["after_1m_kb"] / mem["minimal"]["after_1m_kb"]),
]
print(f"\ncp-stub benchmark — {results['machine']['cpu']}, {results['machine']['cores']} cores, kernel {results['machine']['kernel']}")
print(f"servers on CPU {SCPU}, wrk on CPU {WCPU}; {REPEAT} x {DURATION}s per point, medians; cp-stub logging off\n")
print("| metric | minimal hyper | cp-stub | cp-stub / minimal |")
print("|---|---:|---:|---:|")
for name, a, b, ratio in rows:
    print(f"| {name} | {a} | {b} | {ratio:.2f} |")
growth = mem["cp-stub"]["after_1m_kb"] / mem["cp-stub"]["after_10k_kb"] - 1
targets = [
    ("rps@64 >= 0.9 x minimal", s[64]["rps"] >= 0.9 * m[64]["rps"], f"{s[64]['rps'] / m[64]['rps']:.2f}x"),
    ("p99@64 <= 1.5 x minimal", s[64]["p99_us"] <= 1.5 * m[64]["p99_us"], f"{s[64]['p99_us'] / m[64]['p99_us']:.2f}x"),
    ("startup <= 10 ms", startup["cp-stub"] <= 10, f"{startup['cp-stub']:.2f} ms"),
    ("idle RSS <= 8 MB", mem["cp-stub"]["idle_kb"] <= 8 * 1024, f"{mem['cp-stub']['idle_kb'] / 1024:.1f} MB"),
    ("RSS after 1M within 10% of after 10k", abs(growth) <= 0.10, f"{growth * 100:+.1f}%"),
]
print("\n| target | result | met |")
print("|---|---|---|")
for name, ok, value in targets:
    print(f"| {name} | {value} | {'yes' if ok else 'NO'} |")
print(f"\ncp-stub served {mem['cp-stub']['served']:,} requests, all counted as provision calls of org-bench; raw numbers in bench/out/cp-stub.json")
PY
