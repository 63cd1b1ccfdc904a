#!/usr/bin/env bash
# Install the system packages the tests drive, if missing: Debian's Chromium (browser tests),
# PostgreSQL server binaries (the care-store tests start a throwaway server when none runs) and
# Java 17 (Spark 4.0 runs on it; a newer JDK alone breaks Spark).
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
compgen -G "/usr/lib/jvm/java-17-openjdk*/bin/java" >/dev/null || missing+=(openjdk-17-jre-headless)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing ${missing[*]} from the OS packages..."
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
