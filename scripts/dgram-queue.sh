#!/usr/bin/env bash
# The kernel queues at most net.unix.max_dgram_qlen datagrams on a Unix datagram socket (Linux
# default 10; systemd's sysctl.d sets 512 on most distributions). The relay tests and the Python
# client's end-to-end tests assume a host configured like that: raise it to 512 when it is lower
# and we are root; otherwise say what to run. (docs/ndjson.md, "The relay".)
set -euo pipefail
f=/proc/sys/net/unix/max_dgram_qlen
[ -r "$f" ] || exit 0
qlen=$(cat "$f")
[ "$qlen" -ge 512 ] && exit 0
if [ "$(id -u)" -eq 0 ] && echo 512 > "$f" 2>/dev/null; then
  echo "dgram-queue: net.unix.max_dgram_qlen raised from $qlen to 512 (systemd's default)" >&2
else
  echo "dgram-queue: net.unix.max_dgram_qlen is $qlen; run: sudo sysctl -w net.unix.max_dgram_qlen=512" >&2
fi
