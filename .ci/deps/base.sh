#!/usr/bin/env bash
# Debian's mosquitto clients and etcd server: peers the tests talk to.
set -euo pipefail
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
command -v mosquitto_pub >/dev/null 2>&1 && command -v etcd >/dev/null 2>&1 && exit 0
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq mosquitto-clients etcd-server >/dev/null
