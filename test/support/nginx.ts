/**
 * A real HTTP server that does ranges, for web seed tests: Debian's nginx (nginx-light) serving a folder,
 * run with a config of its own in a temp folder (pid, logs and temp paths there), one process
 * (`master_process off`), in the foreground, on its own loopback address; stopped by its PID.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { freePort } from "./interop.js"

export const nginxBinary = "/usr/sbin/nginx"
export const hasNginx = fs.existsSync(nginxBinary)

export interface Nginx {
  /** "http://host:port/" */
  readonly url: string
  /** The requests it has answered so far (its access log's lines). */
  readonly requests: () => ReadonlyArray<string>
  readonly stop: () => Promise<void>
}

const accepting = (host: string, port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect({ host, port }, () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

/** nginx serving `root` on `host` until `stop`. */
export const startNginx = async (root: string, host = "127.0.0.5"): Promise<Nginx> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bt-nginx-"))
  const port = await freePort(host)
  const conf = path.join(dir, "nginx.conf")
  fs.writeFileSync(
    conf,
    [
      "daemon off;",
      "master_process off;",
      "worker_processes 1;",
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      "events { worker_connections 64; }",
      "http {",
      `  access_log ${dir}/access.log;`,
      `  client_body_temp_path ${dir}/body;`,
      `  proxy_temp_path ${dir}/proxy;`,
      `  fastcgi_temp_path ${dir}/fastcgi;`,
      `  uwsgi_temp_path ${dir}/uwsgi;`,
      `  scgi_temp_path ${dir}/scgi;`,
      "  types { application/octet-stream bin; }",
      `  server { listen ${host}:${port}; root ${root}; }`,
      "}",
      ""
    ].join("\n")
  )
  const child: ChildProcess = spawn(nginxBinary, ["-p", dir, "-c", conf, "-e", `${dir}/error.log`], { stdio: "ignore" })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const stop = async () => {
    if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, "SIGTERM")
    await exited
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const requests = () => {
    const log = `${dir}/access.log`
    return fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n").filter((line) => line !== "") : []
  }
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break
    if (await accepting(host, port)) return { url: `http://${host}:${port}/`, requests, stop }
    await new Promise((r) => setTimeout(r, 50))
  }
  const log = fs.existsSync(`${dir}/error.log`) ? fs.readFileSync(`${dir}/error.log`, "utf8") : ""
  await stop()
  throw new Error(`nginx did not start on ${host}:${port}: ${log.trim()}`)
}
