-- wrk script of bench/cp-stub.sh: a valid provision request (it passes the
-- contract's provision_request schema) with the org header.
wrk.method = "POST"
wrk.body = '{"org_id":"org-bench","workspace_id":"ws-bench","runtime":"claude-code","tier":1,"platform_url":"http://tenant:8080","env":{"MOLECULE_WORKSPACE_NAME":"bench"}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Molecule-Org-Id"] = "org-bench"
