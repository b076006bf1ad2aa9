#!/usr/bin/env bash
# Installs what reaper's test suites need on a fresh Debian machine, once: Debian packages
# and the rustup targets. Safe to run again; it installs only what is missing.
# Needs root (apt-get, through tests/apt-install). Used by tests/run-all. Fails if an
# install fails.
set -euo pipefail

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
pkg_for() { # command package
  have "$1" || need_pkgs+=("$2")
}
pkg_for unshare util-linux
pkg_for nsenter util-linux
pkg_for setsid util-linux
pkg_for setpriv util-linux
pkg_for musl-gcc musl-tools
pkg_for ps procps
pkg_for systemd-socket-activate systemd
[ -x /bin/busybox ] || need_pkgs+=(busybox-static)

if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "prerequisites: installing ${need_pkgs[*]}"
  "$(dirname "$0")/apt-install" "${need_pkgs[@]}"
fi

if have rustup; then
  for target in x86_64-unknown-linux-musl; do
    rustup target list --installed | grep -qx "$target" || rustup target add "$target"
  done
fi
