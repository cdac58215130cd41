#!/usr/bin/env bash
# Debian's prometheus (the server and promtool): the metrics tests scrape
# mqttd with the real server and check the exposition with promtool.
# The tests run their own prometheus process (random port, temporary
# directory); the package's service must not start: while installing, a
# policy-rc.d that refuses every service start is put in place unless one
# is there already, and the recommended node exporter (another service) is
# not installed.
set -euo pipefail
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 && exit 0
policy=/usr/sbin/policy-rc.d
cleanup=
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
	$SUDO chmod 755 "$policy"
	cleanup=1
fi
trap 'if [ -n "$cleanup" ]; then $SUDO rm -f "$policy"; fi' EXIT
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
