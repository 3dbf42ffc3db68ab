#!/usr/bin/env bash
# Compares a plaintext ensemble with TLS ones, interleaved in one sitting:
# plain, tls (client port), peer-tls (mutual TLS between the members only),
# once per round. Certificates are made fresh (openssl) in a temporary
# directory; clients present no certificate. One member certificate serves
# every member: it names m1, m2 and m3 (DNS SANs), which a real ensemble should
# not do (docs/security.md), but it changes nothing in the cost measured.
#
#   bench/tls_compare.sh [ROUNDS]        # default 2
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bench=${TLS_BENCH:-$repo/build/bench/tls_bench/tls_bench}
rounds=${1:-2}
pki=$(mktemp -d /tmp/coord-tls-bench-XXXXXX)
trap 'rm -rf "$pki"' EXIT

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key "$pki/ca.key"
openssl req -x509 -new -key "$pki/ca.key" -out "$pki/ca.pem" -days 2 -subj /CN=bench-ca 2>/dev/null
key "$pki/m.key"
openssl req -new -key "$pki/m.key" -out "$pki/m.csr" -subj /CN=member 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,IP:127.0.0.2,IP:127.0.0.3,DNS:m1,DNS:m2,DNS:m3\n' \
  > "$pki/m.ext"
openssl x509 -req -in "$pki/m.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
  -out "$pki/m.pem" -days 2 -extfile "$pki/m.ext" 2>/dev/null

run() {  # run plain|tls|peer-tls
  local extra=()
  unset COORDD_ARGS READY_CACERT
  if [[ $1 == tls ]]; then
    export COORDD_ARGS="--cert-file $pki/m.pem --key-file $pki/m.key" READY_CACERT="$pki/ca.pem"
    extra=(--cacert "$pki/ca.pem")
  elif [[ $1 == peer-tls ]]; then
    export COORDD_ARGS="--peer-cert-file $pki/m.pem --peer-key-file $pki/m.key \
--peer-trusted-ca-file $pki/ca.pem"
  fi
  echo "== $1"
  eval "$("$repo/deploy/bench-ensemble.sh" start)"
  "$bench" --endpoints "$ENDPOINTS" "${extra[@]}" || true
  "$repo/deploy/bench-ensemble.sh" stop "$BENCH_DIR" > /dev/null
}

for ((r = 1; r <= rounds; r++)); do
  run plain
  run tls
  run peer-tls
done
