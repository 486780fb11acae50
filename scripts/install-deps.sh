#!/usr/bin/env bash
# Installs the Debian packages the project needs, only those that are missing.
# Called by `make deps` (and so by `make run` / `make test`); safe to run repeatedly. chromium
# (headless) renders the run report in the report test.
set -euo pipefail
PKGS=(libhdf5-dev hdf5-tools libopenblas-dev libpng-dev zlib1g-dev pkg-config dataset-fashion-mnist time openmpi-bin libopenmpi-dev libdnnl-dev chromium)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "make deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
