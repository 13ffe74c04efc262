#!/usr/bin/python3
"""libtorrent as a seeder or a downloader for the benchmark (bench/libtorrent.mjs starts it).

Debian's python3-libtorrent (libtorrent 2.0), so run by /usr/bin/python3, not a pyenv python3 earlier on
the PATH. One session on one loopback address of its own (libtorrent refuses a peer on its own address),
DHT, LSD, UPnP and NAT-PMP off, peers over uTP only or TCP only (`--transport`). Everything else is
libtorrent's default (as qBittorrent has it): encryption enabled, not required, plaintext payload
preferred, which is what bt-effect's default `--encryption prefer` does too.

  libtorrent-driver.py seed     TORRENT DATA_DIR HOST PORT --transport utp|tcp [--socket-buffer BYTES] [--parent PID]
  libtorrent-driver.py download TORRENT OUT_DIR  HOST PORT --transport utp|tcp [--socket-buffer BYTES] [--parent PID]

`seed` takes the data as complete (seed mode: no check first) and seeds until it is stopped (SIGTERM) or
its parent is gone. `download` downloads, prints `done ...` once every piece is checked, and exits 0, so
that the bench times it from start to exit under /usr/bin/time as it does aria2c; it exits 3 if a peer
sent payload over the other transport than `--transport` (the row would not measure what it says), 1 on
a torrent error. Both find their peers through the torrent's tracker only. `--socket-buffer` sets
libtorrent's recv_socket_buffer_size and send_socket_buffer_size (which 2.0 applies to uTP's UDP socket
too); without it the OS default holds (212992 bytes here), at which uTP on loopback loses datagrams.

(Not named libtorrent.py: Python puts the script's folder first on sys.path, so `import libtorrent` would
import the script itself.)
"""
import argparse
import os
import sys
import time

import libtorrent as lt

# libtorrent 2.0's peer_flags_t bit for "this connection is a uTP socket" (peer_info::utp_socket); the
# Python binding exposes the flags as a plain int without a name for it.
UTP_SOCKET = 1 << 17


def parse():
    p = argparse.ArgumentParser(prog="libtorrent-driver.py")
    p.add_argument("mode", choices=["seed", "download"])
    p.add_argument("torrent")
    p.add_argument("dir")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--transport", choices=["utp", "tcp"], required=True)
    p.add_argument("--parent", type=int, help="exit when this process is gone")
    p.add_argument("--socket-buffer", type=int, default=0, help="SO_RCVBUF and SO_SNDBUF in bytes (0: the OS default)")
    return p.parse_args()


def session(host, port, transport, socket_buffer):
    utp = transport == "utp"
    return lt.session({
        "listen_interfaces": "%s:%d" % (host, port),
        "outgoing_interfaces": host,
        "enable_dht": False, "enable_lsd": False, "enable_upnp": False, "enable_natpmp": False,
        "enable_outgoing_tcp": not utp, "enable_incoming_tcp": not utp,
        "enable_outgoing_utp": utp, "enable_incoming_utp": utp,
        "alert_mask": int(lt.alert_category.error | lt.alert_category.status),
        # 0: the OS default (net.core.rmem_default / wmem_default), on peer sockets and uTP's UDP socket.
        "recv_socket_buffer_size": socket_buffer, "send_socket_buffer_size": socket_buffer,
    })


def parent_gone(pid):
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
        return False
    except ProcessLookupError:
        return True
    except PermissionError:
        return False


def log_errors(s):
    for a in s.pop_alerts():
        if a.category() & lt.alert_category.error:
            print("libtorrent: %s" % a.message(), flush=True)


def seed(args):
    s = session(args.host, args.port, args.transport, args.socket_buffer)
    s.add_torrent({"ti": lt.torrent_info(args.torrent), "save_path": args.dir, "flags": lt.torrent_flags.seed_mode})
    print("seeding %s on %s:%d over %s" % (args.torrent, args.host, args.port, args.transport), flush=True)
    while not parent_gone(args.parent):
        s.wait_for_alert(1000)
        log_errors(s)


def download(args):
    started = time.monotonic()
    s = session(args.host, args.port, args.transport, args.socket_buffer)
    h = s.add_torrent({"ti": lt.torrent_info(args.torrent), "save_path": args.dir})
    # Every peer that sent payload, with its transport, sampled as the download goes (a seed that is done
    # with us is disconnected at completion, so its last figures may be gone by then).
    senders = {}
    while True:
        if parent_gone(args.parent):
            return 1
        s.wait_for_alert(200)
        for a in s.pop_alerts():
            if isinstance(a, lt.torrent_error_alert):
                print("libtorrent: %s" % a.message(), flush=True)
                return 1
        for p in h.get_peer_info():
            if p.total_download > 0:
                senders["%s:%d" % tuple(p.ip)] = ("utp" if p.flags & UTP_SOCKET else "tcp", p.total_download)
        st = h.status()
        if st.is_seeding:
            break
    seconds = time.monotonic() - started
    peers = ", ".join("%s over %s (%d bytes at least)" % (ip, t, n) for ip, (t, n) in sorted(senders.items()))
    print("done in %.2f s, %d bytes; payload from %s" % (seconds, st.total_wanted_done, peers or "no peer seen"), flush=True)
    wrong = [ip for ip, (t, _) in senders.items() if t != args.transport]
    if wrong:
        print("libtorrent: payload came over another transport than %s from %s" % (args.transport, ", ".join(wrong)), flush=True)
        return 3
    return 0


def main():
    args = parse()
    if args.mode == "seed":
        seed(args)
        return 0
    return download(args)


if __name__ == "__main__":
    sys.exit(main())
