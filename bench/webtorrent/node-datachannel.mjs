// What `node-datachannel` (libdatachannel's Node binding, WebRTC) is to WebTorrent in the bench: its
// native addon cannot be downloaded here (package.json's overrides replace the package with an empty one,
// so that `npm ci` works), yet WebTorrent's import chain (simple-peer -> webrtc-polyfill) loads it at
// start-up. The bench runs WebTorrent over TCP only, with no WebSocket tracker, so nothing of this is
// called; if something did try WebRTC, it fails loudly rather than quietly doing nothing.
const unavailable = (what) => {
  throw new Error(`${what}: WebRTC (node-datachannel) is not available in the bench's WebTorrent leecher`)
}

export class PeerConnection {
  constructor() {
    unavailable("PeerConnection")
  }
}
export class RtcpReceivingSession {
  constructor() {
    unavailable("RtcpReceivingSession")
  }
}
export class Video {
  constructor() {
    unavailable("Video")
  }
}
export class Audio {
  constructor() {
    unavailable("Audio")
  }
}
/** Called by webrtc-polyfill when its last peer connection closes: there never is one. */
export const cleanup = () => {}
