#!/usr/bin/env bash
# The main job: a live demonstration of reconnection against a local server.
# Installs what is missing, builds, then runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh build
if [ -x build/tools/mws ] && build/tools/mws demo --help >/dev/null 2>&1; then
	exec build/tools/mws demo "$@"
fi

# Until `mws demo` exists: an echo server that is restarted under the client.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
server() { python3 tests/peers/py_ws_server.py --port "$port" >/dev/null & echo $!; }
pid=$(server)
trap 'kill $pid 2>/dev/null || true' EXIT
build/mws_example_reconnect "ws://127.0.0.1:$port/" 8 &
client=$!
sleep 3
echo "---- demo: stopping the server ----"
kill "$pid"; wait "$pid" 2>/dev/null || true
sleep 2
echo "---- demo: starting the server again ----"
pid=$(server)
wait "$client"
