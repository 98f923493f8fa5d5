#!/usr/bin/env bash
# The checks of replays/cases/cp-stub-provision-config.toml written the old
# way: bash + curl + python3. The reference of bench/replays.sh; it asserts
# the same things (statuses, Allow headers, contract shapes, exact per-org
# counter deltas) so the comparison is fair.
#
#   CP_STUB_BASE=http://127.0.0.1:9090 bench/provision-config.sh
set -euo pipefail
: "${CP_STUB_BASE:?CP_STUB_BASE is not set: run seed or export it}"
PY=/usr/bin/python3
ID="bench-$$-$RANDOM"
ORG="replay-org-$ID"
WS="ws-$ID"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

state() { curl -fsS "$CP_STUB_BASE/__/stub/state" >"$TMP/$1.json"; }
# request NAME METHOD PATH [curl args...] -> $TMP/NAME.{status,headers,body}
request() {
  local name=$1 method=$2 path=$3
  shift 3
  curl -sS -X "$method" -o "$TMP/$name.body" -D "$TMP/$name.headers" \
    -w '%{http_code}' "$@" "$CP_STUB_BASE$path" >"$TMP/$name.status"
}

# Step 1: provision -> exactly 201, contract body, provision_calls +1 for the org.
state before1
request provision POST /cp/workspaces/provision \
  -H 'X-Molecule-Admin-Token: replays-admin-token' -H 'content-type: application/json' \
  --data-raw "{\"org_id\":\"$ORG\",\"workspace_id\":\"$WS\",\"runtime\":\"claude-code\",\"tier\":1,\"platform_url\":\"http://tenant.invalid:8080\",\"env\":{\"MOLECULE_WORKSPACE_NAME\":\"replay\"}}"
state after1
$PY - "$TMP" "$ORG" "$WS" <<'PY'
import json, sys
tmp, org, ws = sys.argv[1:4]
status = open(f"{tmp}/provision.status").read().strip()
assert status == "201", f"provision: expected 201, got {status}"
headers = open(f"{tmp}/provision.headers").read().lower()
assert "content-type: application/json" in headers, "provision: content-type"
b = json.load(open(f"{tmp}/provision.body"))
assert isinstance(b.get("instance_id"), str) and b["instance_id"], "instance_id"
assert b["instance_id"] == f"mol-ws-{ws}", b["instance_id"]
assert isinstance(b.get("state"), str), "state"
assert b.get("workspace_id") == ws, "workspace_id"
assert isinstance(b.get("url"), str), "url"
for k in ("private_ip", "error"):
    assert k not in b or isinstance(b[k], str), k
allowed = {"instance_id", "state", "private_ip", "error", "workspace_id", "url"}
assert set(b) <= allowed, f"undeclared fields {set(b) - allowed}"
s0, s1 = (json.load(open(f"{tmp}/{n}.json")) for n in ("before1", "after1"))
o = lambda s, r: s.get("orgs", {}).get(org, {}).get(r, 0)
assert o(s1, "provision") - o(s0, "provision") == 1, "provision_calls +1 for the org"
assert o(s1, "tenants_config") - o(s0, "tenants_config") == 0, "tenants_config_calls 0"
PY

# Step 2: config -> 200, a flat map of strings, tenants_config_calls +1.
state before2
request config GET /cp/tenants/config \
  -H 'Authorization: Bearer replays-admin-token' -H "X-Molecule-Org-Id: $ORG"
state after2
$PY - "$TMP" "$ORG" <<'PY'
import json, sys
tmp, org = sys.argv[1:3]
status = open(f"{tmp}/config.status").read().strip()
assert status == "200", f"config: expected 200, got {status}"
b = json.load(open(f"{tmp}/config.body"))
assert isinstance(b, dict), "config is an object"
bad = [k for k, v in b.items() if not isinstance(v, str)]
assert not bad, f"config values must be strings: {bad}"
assert isinstance(b.get("MOLECULE_CP_URL"), str), "MOLECULE_CP_URL"
assert isinstance(b.get("MOLECULE_CP_SHARED_SECRET"), str), "MOLECULE_CP_SHARED_SECRET"
assert "runtimes" not in b and "feature_flags" not in b, "nested keys"
s0, s1, s00 = (json.load(open(f"{tmp}/{n}.json")) for n in ("before2", "after2", "before1"))
o = lambda s, r: s.get("orgs", {}).get(org, {}).get(r, 0)
assert o(s1, "tenants_config") - o(s0, "tenants_config") == 1, "tenants_config_calls +1"
assert o(s1, "provision") - o(s00, "provision") == 1, "provision_calls +1 since provision"
PY

# Steps 3 and 4: wrong methods -> 405 with Allow, error body, not counted.
check_405() {
  local name=$1 allow=$2 route=$3
  state "before-$name"
  shift 3
  request "$name" "$@" -H "X-Molecule-Org-Id: $ORG"
  state "after-$name"
  $PY - "$TMP" "$ORG" "$name" "$allow" "$route" <<'PY'
import json, sys
tmp, org, name, allow, route = sys.argv[1:6]
status = open(f"{tmp}/{name}.status").read().strip()
assert status == "405", f"{name}: expected 405, got {status}"
headers = [l.split(":", 1) for l in open(f"{tmp}/{name}.headers").read().splitlines() if ":" in l]
got = [v.strip() for k, v in headers if k.strip().lower() == "allow"]
assert got == [allow], f"{name}: Allow {got}"
b = json.load(open(f"{tmp}/{name}.body"))
assert isinstance(b.get("error"), str) and b["error"], f"{name}: error body"
s0, s1 = (json.load(open(f"{tmp}/{n}-{name}.json")) for n in ("before", "after"))
o = lambda s, r: s.get("orgs", {}).get(org, {}).get(r, 0)
assert o(s1, route) - o(s0, route) == 0, f"{name}: {route} must not count"
st = lambda s: s.get("statuses", {}).get("405", 0)
assert st(s1) - st(s0) == 1, f"{name}: status_405 +1"
PY
}
check_405 post-config GET tenants_config POST /cp/tenants/config
check_405 get-provision POST provision GET /cp/workspaces/provision
echo "[replay] PASS: cp-stub-provision-config (bash)"
