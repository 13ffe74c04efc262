/**
 * A client of any qBittorrent WebUI API v2 server (qbittorrent-nox or bt-effect's daemon), making its calls
 * the way ./qbittorrentNox.ts's `call` does (GET parameters in the query, POST ones form-encoded), so that
 * the reference test can send both servers the very same requests.
 */
import type { QbtCallOptions, QbtResponse } from "./qbittorrentNox.js"

export type QbtParamsIn = Readonly<Record<string, string | number | boolean>>

export interface QbtApiClient {
  readonly url: string
  /** POST auth/login; keeps the SID for later calls and resolves to "SID=…". */
  readonly login: (username?: string, password?: string) => Promise<string>
  readonly call: (apiPath: string, params?: QbtParamsIn, options?: QbtCallOptions) => Promise<QbtResponse>
}

const apiUrl = (base: string, apiPath: string): string => `${base}/api/v2/${apiPath.replace(/^\/?(api\/v2\/)?/, "")}`

/** One request; `cookie` null sends none. */
export const qbtRequest = async (base: string, apiPath: string, params: QbtParamsIn, options: QbtCallOptions, cookie: string | null): Promise<QbtResponse> => {
  const method = options.method ?? (options.body === undefined ? "GET" : "POST")
  const form = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]))
  const inQuery = method === "GET" || method === "HEAD"
  const url = apiUrl(base, apiPath) + (inQuery && form.size > 0 ? `?${form.toString()}` : "")
  const headers: Record<string, string> = { ...options.headers }
  if (cookie !== null) headers["Cookie"] = cookie
  let body: FormData | string | undefined = options.body
  if (body === undefined && !inQuery) {
    body = form.toString()
    headers["Content-Type"] ??= "application/x-www-form-urlencoded"
  }
  const response = await fetch(url, { method, headers, body: body ?? null, signal: AbortSignal.timeout(options.timeoutMs ?? 15_000) })
  const text = await response.text()
  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    setCookie: response.headers.getSetCookie(),
    headers: response.headers,
    text,
    json: () => JSON.parse(text) as unknown
  }
}

export const qbtApiClient = (url: string, username: string, password: string): QbtApiClient => {
  let session: string | null = null
  return {
    url,
    login: async (user = username, pass = password) => {
      const response = await qbtRequest(url, "auth/login", { username: user, password: pass }, { method: "POST" }, null)
      const sid = response.setCookie.map((c) => /^SID=[^;]*/.exec(c)?.[0]).find((c) => c !== undefined)
      if (response.status !== 200 || sid === undefined) throw new Error(`login at ${url} as ${user}: ${response.status} ${JSON.stringify(response.text)}`)
      session = sid
      return sid
    },
    call: (apiPath, params = {}, options = {}) => qbtRequest(url, apiPath, params, options, options.cookie === undefined ? session : options.cookie)
  }
}
