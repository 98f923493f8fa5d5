#!/usr/bin/env bash
set -euo pipefail
: "${CP_STUB_BASE:?seed must write CP_STUB_BASE}"
: "${ALPHA_ID:?seed must write ALPHA_ID}"
echo "never printed"
