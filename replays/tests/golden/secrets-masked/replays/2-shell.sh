#!/usr/bin/env bash
# description: a legacy replay that prints secrets and fails
echo "token is $SECRET_TOKEN"
echo "GET $CP_STUB_BASE/cp/x?api_key=sh-s3cret-0007&a=1"
echo "db postgres://u:sh-pw-0008@h/db"
echo "from the env file: $FILE_TOKEN"
exit 1
