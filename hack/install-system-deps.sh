#!/usr/bin/env bash
# System packages some features and their tests use, from Debian's archive when missing:
#   graphviz  - `kfp-driver graph --format svg|png` (dot); the tests skip those formats without it.
# Go (hack/ engine tools) must already be installed; the tests say so plainly when it is not.
# Safe to rerun: installs nothing that is already there. Without root (or apt-get) it only explains.
set -euo pipefail
missing=()
command -v dot >/dev/null 2>&1 || missing+=(graphviz)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: installing ${missing[*]}" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-system-deps: please install ${missing[*]} (e.g. sudo apt-get install ${missing[*]}); the tests that need it are skipped" >&2
fi
