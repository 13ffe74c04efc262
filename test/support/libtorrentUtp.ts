/**
 * libtorrent 2.0 (Debian's python3-libtorrent, run by /usr/bin/python3, not a pyenv one) as a uTP-only peer
 * on loopback, for the uTP interop tests: TCP off both ways (`enable_outgoing_tcp`/`enable_incoming_tcp`
 * false, uTP on), DHT, LSD, UPnP and NAT-PMP off, listening and sending from its own address.
 *
 * What such a session does with TCP (seen with 2.0.8): it still listens on TCP, accepts a connection and
 * closes it at once (FIN, not RST), before any byte, without an alert. So a download to or
 * from it that completes went over uTP; the script still reports, for each connection, libtorrent's own
 * `peer_info::utp_socket` flag (bit 17 of `flags`: the binding does not export the name) and the socket type
 * its alerts give, so that a test can show it.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"

/** Debian's python3, which has python3-libtorrent. */
export const python = "/usr/bin/python3"

export const haveLibtorrent = spawnSync(python, ["-c", "import libtorrent"], { stdio: "ignore" }).status === 0

/**
 * argv: ROLE TORRENT SAVE LISTEN OUTGOING TRACKER PEER SECONDS.
 * ROLE `seed` (the data already in SAVE) or `leech` (into SAVE); LISTEN "host:port" or "[::1]:port";
 * OUTGOING the address it sends from; TRACKER an announce URL or `-`; PEER "host:port" / "[v6]:port" to
 * dial, or `-`. A leecher stops when it has everything or after SECONDS; a seeder after SECONDS or SIGTERM.
 * Prints JSON lines: `{"ready": true}` once listening on uTP, a state line whenever its peers, completion
 * or announce change, and a last line with `"final": true`. Each state line has:
 * - peers: per connection (ip, port): `utp` (the peer_info flag), payload bytes `down` and `up` (the most
 *   seen), whether its handshake was done, its client name;
 * - sockets: the socket type of every connection its alerts named ("utp", "tcp"...);
 * - downloaded / uploaded: the torrent's payload totals; seeding; announced (a tracker answered).
 */
export const libtorrentUtpScript = String.raw`
import json, signal, sys, time
import libtorrent as lt
role, torrent, save, listen, outgoing, tracker, peer, seconds = sys.argv[1:9]
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
s = lt.session({'listen_interfaces': listen, 'outgoing_interfaces': outgoing,
                'enable_dht': False, 'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
                'enable_outgoing_tcp': False, 'enable_incoming_tcp': False,
                'enable_outgoing_utp': True, 'enable_incoming_utp': True,
                'allow_multiple_connections_per_ip': True, 'announce_to_all_trackers': True,
                'alert_mask': lt.alert_category.connect | lt.alert_category.peer | lt.alert_category.error | lt.alert_category.status})
params = {'ti': lt.torrent_info(torrent), 'save_path': save}
if role == 'seed':
    params['flags'] = lt.torrent_flags.seed_mode
h = s.add_torrent(params)
if tracker != '-':
    h.replace_trackers([lt.announce_entry(tracker)])
UTP = 1 << 17  # peer_info::utp_socket
peers = {}
sockets = []
ready = False
def name(t):
    # socket_type_t.udp is another name of utp in the binding: what it names is a uTP socket.
    return 'utp' if t in (lt.socket_type_t.utp, lt.socket_type_t.utp_ssl) else str(t).split('.')[-1]
def client(p):
    return p.client.decode('utf-8', 'replace') if isinstance(p.client, bytes) else p.client
def poll():
    global ready
    for a in s.pop_alerts():
        if isinstance(a, lt.listen_succeeded_alert) and 'uTP' in a.message() and not ready:
            ready = True
            print(json.dumps({'ready': True}), flush=True)
            if peer != '-':
                host, port = peer.rsplit(':', 1)
                h.connect_peer((host.strip('[]'), int(port)))
        elif isinstance(a, lt.incoming_connection_alert):
            sockets.append({'event': 'incoming', 'ip': a.endpoint[0], 'socket': name(a.socket_type)})
        elif isinstance(a, lt.peer_connect_alert):
            # No socket_type on this alert in the binding: its message ends in "(uTP)" or "(TCP)".
            sockets.append({'event': 'connect', 'ip': a.endpoint[0], 'socket': 'utp' if '(uTP)' in a.message() else 'tcp' if '(TCP)' in a.message() else a.message()})
        elif isinstance(a, lt.peer_disconnected_alert):
            sockets.append({'event': 'closed', 'ip': a.endpoint[0], 'socket': name(a.socket_type), 'why': a.message()[-120:]})
        elif isinstance(a, (lt.listen_failed_alert, lt.peer_error_alert)):
            print(json.dumps({'alert': type(a).__name__, 'message': a.message()}), flush=True)
    for p in h.get_peer_info():
        key = '%s:%d' % (p.ip[0], p.ip[1])
        old = peers.get(key, {'down': 0, 'up': 0, 'handshake': False})
        peers[key] = {'ip': p.ip[0], 'port': p.ip[1], 'utp': bool(p.flags & UTP), 'client': client(p),
                      'down': max(old['down'], p.total_download), 'up': max(old['up'], p.total_upload),
                      'handshake': old['handshake'] or not (p.flags & (lt.peer_info.handshake | lt.peer_info.connecting))}
    st = h.status()
    return {'peers': sorted(peers.values(), key=lambda p: (p['ip'], p['port'])), 'sockets': sockets,
            'downloaded': st.total_payload_download, 'uploaded': st.total_payload_upload,
            'seeding': st.is_seeding, 'announced': st.current_tracker != ''}
said = None
deadline = time.time() + float(seconds)
while time.time() < deadline and not stop:
    now = poll()
    shown = dict(now, peers=[(p['ip'], p['port'], p['utp'], p['handshake']) for p in now['peers']], sockets=len(sockets),
                 downloaded=now['downloaded'] > 0, uploaded=now['uploaded'] > 0)
    if shown != said:
        print(json.dumps(now), flush=True)
        said = shown
    if role == 'leech' and now['seeding']:
        break
    time.sleep(0.1)
print(json.dumps(dict(poll(), final=True)), flush=True)
`

export interface UtpPeer {
  readonly ip: string
  readonly port: number
  readonly utp: boolean
  readonly client: string
  readonly down: number
  readonly up: number
  readonly handshake: boolean
}

export interface UtpSessionState {
  readonly peers: ReadonlyArray<UtpPeer>
  readonly sockets: ReadonlyArray<{ readonly event: string; readonly ip: string; readonly socket: string; readonly why?: string }>
  readonly downloaded: number
  readonly uploaded: number
  readonly seeding: boolean
  readonly announced: boolean
  readonly final?: boolean
}

const lines = (log: string): Array<string> => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n") : [])

/** The session's last state line (undefined before the first). */
export const lastState = (log: string): UtpSessionState | undefined => {
  const said = lines(log).filter((line) => line.startsWith("{\"peers\""))
  return said.length === 0 ? undefined : (JSON.parse(said.at(-1)!) as UtpSessionState)
}

/** Resolves once the log has a line for which `test` holds; rejects after `timeoutMs`. */
export const waitForLine = async (log: string, test: (line: string) => boolean, timeoutMs = 20_000): Promise<void> => {
  const until = Date.now() + timeoutMs
  while (!lines(log).some(test)) {
    if (Date.now() > until) throw new Error(`libtorrent: no such line within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Once the session listens on uTP (and has dialled its PEER, if given). */
export const utpReady = (log: string, timeoutMs?: number) => waitForLine(log, (line) => line === "{\"ready\": true}", timeoutMs)

/** Once a tracker has answered the session (so that the tracker names it to others). */
export const utpAnnounced = (log: string, timeoutMs?: number) => waitForLine(log, (line) => line.includes("\"announced\": true"), timeoutMs)
