#!/bin/sh
# Start a local tinyproxy with Basic authentication for the workspace proxy
# test (mpsync/workspace TestRealProxy). Prints export lines for .ci/run:
#
#   eval "$(.ci/tinyproxy.sh)"
#
# Installs Debian's tinyproxy when missing (needs root and apt). The proxy
# listens on 127.0.0.1 on a free port, allows only 127.0.0.1, and runs in
# the foreground of a background job whose pid is in $DIR/tinyproxy.pid;
# stop it with: kill "$(cat "$MPSYNC_TEST_PROXY_DIR/tinyproxy.pid")".
# Everything it needs lives in a fresh temporary directory.
set -eu

if ! command -v tinyproxy >/dev/null 2>&1; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "tinyproxy.sh: tinyproxy is not installed and this is not root" >&2
		exit 1
	fi
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tinyproxy >&2
	# The package starts a system service on port 8888; it is not ours.
	if command -v systemctl >/dev/null 2>&1; then systemctl stop tinyproxy >/dev/null 2>&1 || true; fi
	if [ -x /etc/init.d/tinyproxy ]; then /etc/init.d/tinyproxy stop >/dev/null 2>&1 || true; fi
fi
BIN=$(command -v tinyproxy)

DIR=$(mktemp -d "${TMPDIR:-/tmp}/mpsync-tinyproxy.XXXXXX")
PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')

# A free port: ask the kernel for one, then hand it to tinyproxy.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null || echo $((20000 + $$ % 20000)))

RUNUSER=nobody
RUNGROUP=$(id -gn nobody 2>/dev/null || echo nogroup)
chmod 755 "$DIR"
cat >"$DIR/tinyproxy.conf" <<CONF
Port $PORT
Listen 127.0.0.1
Timeout 60
MaxClients 20
LogLevel Info
LogFile "$DIR/tinyproxy.log"
PidFile "$DIR/tinyproxy.pid"
Allow 127.0.0.1
BasicAuth mpsync $PASSWORD
DisableViaHeader Yes
ConnectPort 443
ConnectPort $PORT
CONF
if [ "$(id -u)" -eq 0 ]; then
	printf 'User %s\nGroup %s\n' "$RUNUSER" "$RUNGROUP" >>"$DIR/tinyproxy.conf"
	touch "$DIR/tinyproxy.log" && chown "$RUNUSER" "$DIR/tinyproxy.log"
fi

# -d: stay in the foreground; we background it ourselves.
"$BIN" -d -c "$DIR/tinyproxy.conf" >"$DIR/stdout.log" 2>&1 &
echo $! >"$DIR/tinyproxy.pid"

i=0
until (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || python3 -c "import socket; socket.create_connection(('127.0.0.1',$PORT),1)" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 50 ]; then
		echo "tinyproxy.sh: tinyproxy did not accept connections on 127.0.0.1:$PORT; see $DIR" >&2
		cat "$DIR/stdout.log" "$DIR/tinyproxy.log" >&2 2>/dev/null || true
		exit 1
	fi
	sleep 0.1
done

echo "export MPSYNC_TEST_PROXY_URL=http://127.0.0.1:$PORT MPSYNC_TEST_PROXY_USER=mpsync MPSYNC_TEST_PROXY_PASSWORD=$PASSWORD MPSYNC_TEST_PROXY_DIR=$DIR"
