#!/usr/bin/env bash
# Side by side with a peer: chatferry's WhatsApp Android import against
# whatsapp-chat-exporter (PyPI, pinned in tests/interop-requirements.txt)
# writing JSON from the same generated msgstore.db, with time and peak RSS
# of each. Usage: bench/compare-peer.sh [SIZES]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
sizes="${1:-1000000}"
if [ ! -x target/interop-venv/bin/wtsexporter ]; then
  python3 -m venv target/interop-venv
  target/interop-venv/bin/python -m pip install --quiet -r tests/interop-requirements.txt
  touch target/interop-venv/.chatferry-ready
fi
cargo build --release --workspace
exec ./target/release/chatferry-bench --sizes "$sizes" --peer
