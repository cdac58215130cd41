#!/usr/bin/env bash
# Debian's mosquitto broker and mosquitto_passwd: auth/file's tests compare
# Tern with Mosquitto 2.0.11 on the same password and ACL files. The tests
# run their own mosquitto on a random port; the system service the package
# may start is stopped and disabled, so nothing listens on 1883 behind us.
set -euo pipefail
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
if [ -x /usr/sbin/mosquitto ] && command -v mosquitto_passwd >/dev/null 2>&1; then
	exit 0
fi
$SUDO apt-get update -qq
# policy-rc.d 101 keeps the package from starting its service where
# invoke-rc.d honours it (containers without systemd).
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod +x /usr/sbin/policy-rc.d
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq mosquitto >/dev/null
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	$SUDO systemctl disable --now mosquitto.service >/dev/null 2>&1 || true
fi
