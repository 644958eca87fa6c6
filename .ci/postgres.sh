#!/usr/bin/env bash
# Makes sure a PostgreSQL server (initdb, pg_ctl, postgres) is installed for
# the tests of mpsync/pgledger, mpsync/pgstore and the mpsync command's
# --database (internal/pgtest). It only installs: the tests start and stop
# their own server in a temporary directory, on a free loopback port, as
# the postgres user when run as root. Prints the directory holding the
# binaries. With CI=true those tests fail instead of skipping when
# no server can be found, so run this first in CI.
set -euo pipefail

find_bin() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
    return 0
  fi
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
      echo "$d"
      return 0
    fi
  done
  return 1
}

if bin=$(find_bin); then
  echo "$bin"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "postgres.sh: no PostgreSQL server found and no apt-get to install one;" >&2
  echo "install PostgreSQL (initdb, pg_ctl, postgres) with your package manager" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "postgres.sh: installing PostgreSQL with apt-get" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2
# The Debian package starts a cluster of its own; the tests do not use it.

if bin=$(find_bin); then
  echo "$bin"
  exit 0
fi
echo "postgres.sh: PostgreSQL installed but initdb/pg_ctl not found" >&2
exit 1
