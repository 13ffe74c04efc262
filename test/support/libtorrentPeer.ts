/**
 * libtorrent 2.0 (Debian's python3-libtorrent, run by the system's /usr/bin/python3, not a pyenv one) as a
 * peer on loopback for interop tests: one session on its own 127.0.0.x (its outgoing connections too: without
 * `outgoing_interfaces` they leave from 127.0.0.1), TCP only (a uTP dial first cost a timeout against a
 * peer without uTP), DHT, LSD, UPnP and NAT-PMP off, with an encryption policy: `forced` (MSE with RC4 only, both ways: plaintext refused) or `disabled`
 * (plaintext only: MSE refused). A test runs `libtorrentScript` with `spawnLogged` or `runLogged`.
 */
import { spawnSync } from "node:child_process"

export const python = "/usr/bin/python3"

export const haveLibtorrent = spawnSync(python, ["-c", "import libtorrent"], { stdio: "ignore" }).status === 0

/**
 * argv: TORRENT SAVE HOST PORT POLICY TRACKER PEER MODE [RATE]. Seeds (MODE `seed`, the data in SAVE) or
 * downloads into SAVE, announcing to TRACKER (`-`: none) and dialling PEER ("host:port", `-`: none). It
 * prints one JSON line when done (or after 60 s): whether it has everything; a seeder then goes on until
 * stopped. RATE (bytes per second, absent or 0: none) limits both directions, loopback peers included
 * (libtorrent exempts local peers by default), so that a transfer lasts long enough to be looked at.
 */
export const libtorrentScript = String.raw`
import json, sys, time
import libtorrent as lt
torrent, save, host, port, policy, tracker, peer, seeding = sys.argv[1:9]
rate = int(sys.argv[9]) if len(sys.argv) > 9 else 0
forced = policy == 'forced'
s = lt.session({'listen_interfaces': '%s:%s' % (host, port), 'outgoing_interfaces': host,
                'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
                'enable_outgoing_utp': False, 'enable_incoming_utp': False,
                'out_enc_policy': 0 if forced else 2, 'in_enc_policy': 0 if forced else 2,
                'allowed_enc_level': 2 if forced else 1, 'prefer_rc4': forced,
                'upload_rate_limit': rate, 'download_rate_limit': rate,
                'announce_to_all_trackers': True, 'allow_multiple_connections_per_ip': True})
if rate > 0:
    every = lt.ip_filter()
    every.add_rule('0.0.0.0', '255.255.255.255', 1 << s.global_peer_class_id)
    s.set_peer_class_filter(every)
params = {'ti': lt.torrent_info(torrent), 'save_path': save}
if seeding == 'seed':
    params['flags'] = lt.torrent_flags.seed_mode
h = s.add_torrent(params)
if tracker != '-':
    h.replace_trackers([lt.announce_entry(tracker)])
if peer != '-':
    ph, pp = peer.rsplit(':', 1)
    h.connect_peer((ph, int(pp)))
deadline = time.time() + 60
while time.time() < deadline:
    if seeding != 'seed' and h.status().is_seeding:
        break
    time.sleep(0.2)
print(json.dumps({'seeding': h.status().is_seeding}), flush=True)
if seeding == 'seed':
    time.sleep(3600)
`
