import * as http from 'http'
import type { IncomingMessage, RequestListener, ServerResponse } from 'http'
import type { AddressInfo } from 'net'

/** A server listening on 127.0.0.1. */
export interface LoopbackServer {
  /** e.g. `http://127.0.0.1:3000`. */
  url: string
  port: number
  server: http.Server
  /** Stops listening and closes open connections (keep-alive ones included), so nothing keeps the process alive. */
  close: () => Promise<void>
}

/**
 * Starts an HTTP server on 127.0.0.1 only: the local tools handle keys and event data and must never listen on
 * another interface. A plain `http.Server` rather than express's `app.listen`, because express 5 calls the listen
 * callback on errors too, which hides the real error behind a null address.
 *
 * @param handler the request handler (an express app, for instance).
 * @param port the port; 0 picks a free one.
 * @throws the listen error (e.g. `EADDRINUSE`) when the port is taken.
 */
export async function listenOnLoopback(handler: RequestListener, port: number): Promise<LoopbackServer> {
  const server = http.createServer(handler)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const actualPort = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${actualPort}`,
    port: actualPort,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** `127.0.0.1`, `localhost` or `[::1]`, with an optional port: the Host values a request to this machine carries. */
const LOOPBACK_HOST = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d{1,5})?$/i

/** Whether a `Host` header names this machine by a loopback name (any port). */
export function isLoopbackHost(host: string | undefined): boolean {
  return host !== undefined && LOOPBACK_HOST.test(host)
}

/**
 * The message of a request refused by {@link loopbackHostOnly}.
 *
 * @param host the request's `Host` header, if any.
 */
export function foreignHostMessage(host: string | undefined): string {
  const named = host === undefined ? 'has no Host header' : `is addressed to the host ${JSON.stringify(host)}`
  return (
    `This request ${named}: this local server answers only requests addressed to 127.0.0.1, localhost or [::1] ` +
    '(any port), so a web page cannot reach it through a domain name that points at this machine (DNS rebinding).'
  )
}

/** A middleware's answer to a request it refuses: the status, and the message for the body. */
export type Refusal<Req extends IncomingMessage = IncomingMessage, Res extends ServerResponse = ServerResponse> = (
  req: Req,
  res: Res,
  status: number,
  message: string
) => void

/**
 * A middleware (express or plain `http`) that refuses, with 403, every request whose `Host` header is not a loopback
 * name (`127.0.0.1`, `localhost`, `[::1]`, any port). Listening on 127.0.0.1 keeps other machines out, but not a web
 * page whose own domain resolves to 127.0.0.1 (DNS rebinding): the browser sends that domain as the Host, and the
 * page could then read the answers. Requests without a Host header are refused too.
 *
 * @param refuse writes the refusal in the server's own answer shape (default: `{ "ok": false, "error": message }`).
 */
export function loopbackHostOnly<Req extends IncomingMessage, Res extends ServerResponse>(
  refuse: Refusal<Req, Res> = refuseAsJson
): (req: Req, res: Res, next: () => void) => void {
  return (req, res, next) => {
    const host = req.headers.host
    if (isLoopbackHost(host)) return next()
    refuse(req, res, 403, foreignHostMessage(host))
  }
}

function refuseAsJson(_req: IncomingMessage, res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' })
  res.end(JSON.stringify({ ok: false, error: message }))
}

/**
 * Origins allowed to call the local tools from a browser: Segment's app (where the Actions Tester runs, in its US and
 * EU workspaces, production and staging) and any page served from this machine. Source: the origin list of
 * actions-cli's server.
 */
const ALLOWED_ORIGINS = [
  /^https:\/\/(eu1\.)?app\.segment\.(com|build)$/,
  /^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/
]

/** Whether a browser page at `origin` may call the local server (or the Tracking API's delivery view). */
export function isAllowedOrigin(origin: string): boolean {
  return ALLOWED_ORIGINS.some((pattern) => pattern.test(origin))
}
