#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""capture.py - what crosses one interface, for the client-encryption test
(test_u_client_encryption.sh): no tcpdump on the CI machine, so a raw
AF_PACKET socket.

  capture.py record IFACE FILE SECONDS   frames seen on IFACE, both ways,
                                          appended to FILE (4-byte length,
                                          then the frame) until SECONDS pass
                                          or SIGTERM (FILE.ready appears once
                                          the socket is bound)
  capture.py check FILE MARKER            reads FILE: counts raftnode client
                                          frames (UDP, magic NRFT, type 32
                                          request / 33 reply) sealed or not
                                          (header flag bit 1), and whether
                                          MARKER's bytes occur in any frame;
                                          prints one JSON line
"""
import json
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
MAGIC = b"NRFT"
ENCRYPTED = 0x2


def record(iface, path, seconds):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.settimeout(0.2)
    open(path + ".ready", "w").close()  # bound: the test may start sending
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    end = time.monotonic() + seconds
    with open(path, "ab") as f:
        while not stop[0] and time.monotonic() < end:
            try:
                frame = s.recv(65535)
            except socket.timeout:
                continue
            f.write(struct.pack("<I", len(frame)) + frame)
            f.flush()


def frames(path):
    data = open(path, "rb").read()
    at = 0
    while at + 4 <= len(data):
        (n,) = struct.unpack_from("<I", data, at)
        yield data[at + 4:at + 4 + n]
        at += 4 + n


def check(path, marker):
    out = {"frames": 0, "client_sealed": 0, "client_plain": 0, "marker_found": 0}
    for fr in frames(path):
        out["frames"] += 1
        if marker.encode() in fr:
            out["marker_found"] += 1
        # Ethernet II / IPv4 (no options, as raftnode sends) / UDP / raft header
        if len(fr) < 14 + 20 + 8 + 64 or fr[12:14] != b"\x08\x00" or fr[23] != 17:
            continue
        ihl = (fr[14] & 0x0F) * 4
        raft = fr[14 + ihl + 8:]
        if raft[0:4] != MAGIC or raft[5] not in (32, 33):
            continue
        (flags,) = struct.unpack_from("<H", raft, 6)
        out["client_sealed" if flags & ENCRYPTED else "client_plain"] += 1
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "record":
        record(sys.argv[2], sys.argv[3], float(sys.argv[4]))
    elif sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
