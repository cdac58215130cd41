#!/usr/bin/env bash
# Debian's libcoap3-bin: coap-client, the CoAP peer the listeners/coap tests talk to.
set -euo pipefail
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
# Debian ships it as coap-client-notls, -gnutls and -openssl (no plain coap-client).
command -v coap-client-notls >/dev/null 2>&1 && exit 0
command -v coap-client >/dev/null 2>&1 && exit 0
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq libcoap3-bin >/dev/null
