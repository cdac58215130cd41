#!/usr/bin/env bash
# node-opcua (npm, pinned in listeners/opcua/testdata/node/package-lock.json):
# the OPC UA client and server the listeners/opcua tests talk to. Node.js
# and npm come from Debian when missing.
set -euo pipefail
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	$SUDO apt-get update -qq
	$SUDO DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
dir="$(cd "$(dirname "$0")/../.." && pwd)/listeners/opcua/testdata/node"
if [ ! -d "$dir/node_modules/node-opcua" ]; then
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
