#!/usr/bin/env bash
# Installs the Debian packages the test suite meets for real (PostgreSQL, LibreOffice, Chromium,
# SoftHSM2 as the PKCS#11 token of the signing tests)
# when they are missing and we may (root). Otherwise says what the suite will skip.
set -uo pipefail
want=()
have_pg() { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
have_pg || want+=(postgresql)
command -v soffice >/dev/null 2>&1 || want+=(libreoffice-writer-nogui fonts-liberation)
[ -x /usr/bin/chromium ] || want+=(chromium)  # browser tests (Playwright drives Debian's Chromium)
command -v softhsm2-util >/dev/null 2>&1 || want+=(softhsm2)  # signing with a PKCS#11 token
if [ ${#want[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== cài đặt gói hệ thống: ${want[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null \
      || echo "!! không cài được ${want[*]}: các bài kiểm thử cần chúng sẽ bị bỏ qua"
  else
    echo "!! thiếu ${want[*]} (cần quyền root để cài): các bài kiểm thử cần chúng sẽ bị bỏ qua"
  fi
fi
