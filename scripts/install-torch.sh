#!/usr/bin/env bash
# The PyTorch reference of `npm run bench:vs-torch` (bench/reference/hyperclean_torch.py): Debian's
# python3-torch (1.13 CPU, OpenBLAS). Not a test dependency; only the side-by-side benchmark uses it.
set -euo pipefail
# Debian's interpreter: the one python3-torch installs for (a pyenv python3 on PATH does not see it).
PY=/usr/bin/python3
if "$PY" -c "import torch" 2>/dev/null; then
  echo "install-torch: python3-torch present ($("$PY" -c 'import torch; print(torch.__version__)'))"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-torch: not root (or no apt-get); run: sudo apt-get install python3-torch"
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends python3-torch
echo "install-torch: installed python3-torch ($("$PY" -c 'import torch; print(torch.__version__)'))"
