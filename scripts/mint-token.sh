#!/usr/bin/env bash
# Prints an HS256 JWT for a node's secret, e.g. an ADMIN token for wingman-monitor:
#   scripts/mint-token.sh --roles ADMIN
# Options: --secret S (default: the development secret a node uses without configuration),
# --sub NAME (operator), --roles R1,R2 (ADMIN), --ttl SECONDS (86400).
set -euo pipefail

secret=topgun-secret-dev
sub=operator
roles=ADMIN
ttl=86400
while [[ $# -gt 0 ]]; do
  case $1 in
    --secret) secret=$2; shift 2 ;;
    --sub) sub=$2; shift 2 ;;
    --roles) roles=$2; shift 2 ;;
    --ttl) ttl=$2; shift 2 ;;
    *) echo "mint-token: unknown option $1 (see the comment at the top of $0)" >&2; exit 2 ;;
  esac
done
[[ $ttl =~ ^[0-9]+$ ]] || { echo "mint-token: --ttl takes whole seconds" >&2; exit 2; }
[[ $sub =~ ^[A-Za-z0-9._@-]+$ ]] || { echo "mint-token: --sub takes letters, digits and ._@-" >&2; exit 2; }
[[ $roles =~ ^[A-Za-z0-9_]+(,[A-Za-z0-9_]+)*$ ]] || { echo "mint-token: --roles takes a comma-separated list" >&2; exit 2; }

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
now=$(date +%s)
role_list=$(printf '"%s",' ${roles//,/ })
header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
claims=$(printf '{"sub":"%s","roles":[%s],"iat":%d,"exp":%d}' "$sub" "${role_list%,}" "$now" $((now + ttl)) | b64url)
signature=$(printf '%s.%s' "$header" "$claims" | openssl dgst -sha256 -hmac "$secret" -binary | b64url)
printf '%s.%s.%s\n' "$header" "$claims" "$signature"
