#!/usr/bin/env bash
# Install the Debian packages the local stack (and its monitoring) runs on, when missing. Idempotent; as root it
# installs, otherwise it names the command to run.
set -euo pipefail

missing=()
command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null || missing+=(postgresql)
command -v mvn >/dev/null || missing+=(maven)
command -v javac >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v setpriv >/dev/null || missing+=(util-linux)
command -v promtool >/dev/null || missing+=(prometheus)  # the monitoring of the demo; promtool tests its alert rules

[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d keeps the packages' own system services from starting: the stack runs its own.
had_policy=0; [ -e /usr/sbin/policy-rc.d ] && had_policy=1
[ $had_policy -eq 1 ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
apt-get install -y -q --no-install-recommends "${missing[@]}" || { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; }
[ $had_policy -eq 1 ] || rm -f /usr/sbin/policy-rc.d
