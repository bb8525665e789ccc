#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A stand-in for build/node/raftnode in cluster.sh tests: same command line
(--config FILE --id N [--join]), exits 2 with a message on a bad config or id, and
with `transport = udp` binds a UDP socket on its member's ip:udp_port and
echoes every datagram (so reachability through the topology and partitions
can be checked without the daemon). Stops on SIGTERM with exit 0.
"""
import argparse
import configparser
import signal
import socket
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True)
    ap.add_argument("--id", type=int, required=True)
    ap.add_argument("--join", action="store_true")  # cluster.sh add's nodes
    a = ap.parse_args()
    cfg = configparser.ConfigParser(inline_comment_prefixes=(";",), interpolation=None)
    try:
        if not cfg.read(a.config):
            raise ValueError("cannot read")
        member = cfg[f"member.{a.id}"]
        ip, port = member["ip"], int(member.get("udp_port", "9000"))
        transport = cfg["node"].get("transport", "dpdk")
    except (KeyError, ValueError, configparser.Error) as e:
        print(f"fake_raftnode: {a.config}: bad config for node {a.id}: {e}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"fake_raftnode: node {a.id} at {ip}:{port} transport {transport}", flush=True)
    if transport != "udp":
        signal.pause()
        return 0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    while True:
        data, peer = s.recvfrom(65536)
        s.sendto(data, peer)


if __name__ == "__main__":
    sys.exit(main())
