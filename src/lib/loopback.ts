import * as http from 'http'
import type { RequestListener } from 'http'
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
