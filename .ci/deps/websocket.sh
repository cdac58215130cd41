#!/usr/bin/env bash
# Peers of the listener tests (listeners/websocket, listeners/tls): Debian's
# chromium (a real browser running MQTT.js), node and npm to drive it with
# playwright-core, python3-paho-mqtt (MQTT over WebSocket from Python) and
# the mosquitto broker (the TLS handshake-rate comparison). The npm packages
# are pinned in listeners/websocket/testdata/browser/package-lock.json.
set -euo pipefail
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
cd "$(dirname "$0")/../.."

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v mosquitto >/dev/null 2>&1 || missing+=(mosquitto)
/usr/bin/python3 -c 'import paho.mqtt' >/dev/null 2>&1 || missing+=(python3-paho-mqtt)
if [ ${#missing[@]} -gt 0 ]; then
	$SUDO apt-get update -qq
	$SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

browser=listeners/websocket/testdata/browser
if [ ! -d "$browser/node_modules" ]; then
	(cd "$browser" && npm ci --no-audit --no-fund --loglevel=error)
fi
