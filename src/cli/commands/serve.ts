import type { Command } from 'commander'
import { koalaBaseUrl } from '../../destinations/koala-cloud/config'
import { startServer, type RunningServer } from '../../server/server'

/** The port from `--port`, else `$PORT`, else 3000, as actions-cli's `serve` does. */
export function serverPort(option?: string): number {
  const text = option ?? process.env.PORT ?? '3000'
  const port = Number(text)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`The port "${text}" is not a number from 0 to 65535.`)
  }
  return port
}

/**
 * The error to report when a server could not start listening: `what` and the cause; only a port in use
 * (`EADDRINUSE`) gets the hint about another program and `hint`, since other failures (a permission error, for
 * instance) have another cause.
 *
 * @param what e.g. `Could not listen on 127.0.0.1:3000`.
 * @param error what `listen` (or the server's start) threw.
 * @param hint e.g. `Choose another port with PORT.`
 */
export function listenFailure(what: string, error: unknown, hint: string): Error {
  const err = error as { code?: unknown; message?: unknown }
  const reason = typeof err?.message === 'string' ? err.message : String(error)
  if (err?.code === 'EADDRINUSE') {
    return new Error(`${what}: the port is in use (${reason}). Is another program using it? ${hint}`)
  }
  return new Error(`${what}: ${/[.!?]$/.test(reason) ? reason : `${reason}.`}`)
}

/** Stops `stop` on Ctrl-C (SIGINT) or SIGTERM, then exits. */
export function stopOnSignal(stop: () => Promise<void>): void {
  let stopping = false
  const handler = () => {
    if (stopping) return
    stopping = true
    console.log('\nStopping...')
    stop().then(
      () => process.exit(0),
      () => process.exit(1)
    )
  }
  process.once('SIGINT', handler)
  process.once('SIGTERM', handler)
}

/** Prints the routes of a running server. */
export function describeServer(server: RunningServer): string {
  return [
    `Koala (Cloud) local server listening on ${server.url} (actions-cli compatible), sending to ${koalaBaseUrl()}`,
    `  GET  ${server.url}/manifest`,
    `  POST ${server.url}/authenticate`,
    `  POST ${server.url}/identify`,
    `  POST ${server.url}/track`
  ].join('\n')
}

/** `serve`: runs the actions-cli compatible local server on 127.0.0.1 until interrupted. */
export default function register(program: Command): void {
  program
    .command('serve')
    .description(
      'Run the actions-cli compatible local server on 127.0.0.1 (default port $PORT or 3000). It sends to ' +
        "Koala's production API, or to KOALA_API_URL when set."
    )
    .option('-p, --port <port>', 'port to listen on (default: $PORT or 3000)')
    .action(async (options: { port?: string }) => {
      const port = serverPort(options.port)
      let server: RunningServer
      try {
        server = await startServer(port, { log: (line) => console.log(line) })
      } catch (error) {
        throw listenFailure(`Could not listen on 127.0.0.1:${port}`, error, 'Choose another port with --port or PORT.')
      }
      console.log(describeServer(server))
      stopOnSignal(() => server.close())
    })
}
