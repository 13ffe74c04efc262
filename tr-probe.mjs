import { Server } from "bittorrent-tracker"
const server = new Server({ udp: true, http: true, ws: false, stats: false, trustProxy: false })
server.on("error", (e) => console.error("error", e.message))
server.on("warning", (e) => console.error("warning", e.message))
server.on("listening", () => {
  console.log("http", server.http.address(), "udp", server.udp4.address())
  setTimeout(() => server.close(), 500)
})
server.listen(0, "127.0.0.1")
