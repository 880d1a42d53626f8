#!/usr/bin/env bash
# Real servers the test suite needs that are not on PyPI: Debian's Dovecot IMAP server,
# and Debian's Chromium (with fonts) for the console's browser tests (Playwright drives
# /usr/bin/chromium; `playwright install` is never used).
#
# Idempotent: does nothing when `dovecot` and `chromium` are already installed. The tests start their
# own Dovecot (own config, base_dir and port under a temp dir, see tests/email/conftest.py),
# so a system Dovecot started by the package's postinst is neither needed nor wanted:
# services are kept from starting during the install, and one that runs anyway is stopped.
set -euo pipefail

have_dovecot() {
    command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]
}

have_chromium() {
    [ -x /usr/bin/chromium ]
}

PACKAGES=()
have_dovecot || PACKAGES+=(dovecot-imapd)
have_chromium || PACKAGES+=(chromium fonts-dejavu-core fonts-liberation)
if [ "${#PACKAGES[@]}" -eq 0 ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-servers: ${PACKAGES[*]} missing and apt-get is not available;" \
         "install them by hand" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

# policy-rc.d exit status 101 = "do not start services" for invoke-rc.d (Debian policy).
POLICY=/usr/sbin/policy-rc.d
ADDED_POLICY=0
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod 755 "$POLICY"
    ADDED_POLICY=1
fi
cleanup() {
    if [ "$ADDED_POLICY" = 1 ]; then
        $SUDO rm -f "$POLICY"
    fi
}
trap cleanup EXIT

echo "install-test-servers: installing ${PACKAGES[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${PACKAGES[@]}" >/dev/null

# If a system Dovecot came up anyway (systemd hosts ignore policy-rc.d), stop and disable it.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now dovecot.service dovecot.socket >/dev/null 2>&1 || true
fi
if [ -f /run/dovecot/master.pid ]; then
    $SUDO /usr/sbin/dovecot stop >/dev/null 2>&1 || true
fi
