#!/usr/bin/env bash
echo "checking provision_calls"
echo "expected 1, got 2" >&2
exit 3
