#!/usr/bin/env bash
# Starts the machine's PostgreSQL cluster (Debian's postgresql package) and creates the test role and
# database; prints the connection URL. Idempotent. Used by .ci/run and by developers.
set -euo pipefail
ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
pg_ctlcluster "$ver" main start >/dev/null 2>&1 || true
for i in $(seq 1 30); do pg_isready -h 127.0.0.1 -q && break; sleep 0.5; done
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='envelope'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"CREATE ROLE envelope LOGIN SUPERUSER PASSWORD 'envelope'\""
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='envelope_test'\"" | grep -q 1 \
  || su postgres -c "createdb -O envelope envelope_test"
echo "postgres://envelope:envelope@127.0.0.1:5432/envelope_test"
