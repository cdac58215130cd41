#!/usr/bin/env bash
# Debian's curl: the HTTP client the HTTP bridge's tests (listeners/http,
# cmd/mqttd) publish, subscribe (-N, Server-Sent Events) and read with.
set -euo pipefail
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
command -v curl >/dev/null 2>&1 && exit 0
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq curl >/dev/null
