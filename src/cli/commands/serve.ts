import type { Command } from 'commander'
import koalaCloud from '../../destinations/koala-cloud'
import { koalaBaseUrl, redactProjectUrl } from '../../destinations/koala-cloud/config'
import { endSentence } from '../../lib/text'
import { startServer } from '../../server/server'
import type { RunningServer } from '../../server/server'

/**
 * An environment setting, trimmed; undefined when it is unset or blank, so `PORT=` in a shell or an `.env` file means
 * "use the default" rather than port 0 (a random port).
 */
export function envSetting(name: string): string | undefined {
  const value = process.env[name]?.trim()
  return value ? value : undefined
}

/**
 * Reads a port number.
 *
 * @param text the value as given, e.g. `3000`.
 * @param source where it came from, for the message: `PORT`, `--port`, …
 * @throws Error naming the source when it is not a whole number from 0 to 65535.
 */
export function parsePort(text: string, source: string): number {
  const port = Number(text.trim())
  if (!/^\d{1,5}$/.test(text.trim()) || port > 65535) {
    throw new Error(`${source}: the port "${text}" is not a number from 0 to 65535 (0 picks a free port).`)
  }
  return port
}

/** The server's port: `--port`, else `$PORT` when set and not blank, else 3000, as actions-cli's `serve` does. */
export function serverPort(option?: string): number {
  if (option !== undefined) return parsePort(option, '--port')
  const env = envSetting('PORT')
  return env === undefined ? 3000 : parsePort(env, 'PORT')
}

/**
 * Checks `KOALA_API_URL` before anything starts: when set (and not blank), it must be an absolute `http:` or `https:`
 * URL without a query or fragment, since the destination appends `/web/projects/{key}/batch` to it.
 *
 * @throws Error naming the variable and its value, and what to set instead.
 */
export function checkApiUrl(value: string | undefined = process.env.KOALA_API_URL): void {
  const text = value?.trim()
  if (!text) return
  let url: URL | undefined
  try {
    url = new URL(text)
  } catch {
    url = undefined
  }
  const fits = url && (url.protocol === 'http:' || url.protocol === 'https:') && !url.search && !url.hash
  if (!fits) {
    throw new Error(
      `KOALA_API_URL "${redactProjectUrl(
        text
      )}" is not an http(s) base URL. Set it to one such as http://127.0.0.1:3001 (a sandbox) ` +
        "or https://api2.getkoala.com, without a query or fragment, or unset it to send to Koala's production API."
    )
  }
}

/**
 * Checks `KOALA_REQUEST_TIMEOUT_MS` before anything starts: when set (and not blank) it must be a whole number of
 * milliseconds above 0, because the destination otherwise falls back to its 10 s default without a word.
 *
 * @throws Error naming the variable, its value and what to set instead.
 */
export function checkRequestTimeout(value: string | undefined = process.env.KOALA_REQUEST_TIMEOUT_MS): void {
  const text = value?.trim()
  if (!text || /^[1-9]\d*$/.test(text)) return
  throw new Error(
    `KOALA_REQUEST_TIMEOUT_MS "${text}" is not a whole number of milliseconds above 0. Set it to one such as 5000, ` +
      'or unset it for the default of 10000.'
  )
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
  return new Error(`${what}: ${endSentence(reason)}`)
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

/** Prints the routes of a running server: one per action of the destination, as the server serves them. */
export function describeServer(server: RunningServer): string {
  return [
    `Koala (Cloud) local server listening on ${server.url} (actions-cli compatible), sending to ${redactProjectUrl(
      koalaBaseUrl()
    )}`,
    `  Actions Tester (open in a browser): ${server.url}/`,
    `  GET  ${server.url}/manifest`,
    `  POST ${server.url}/authenticate`,
    ...Object.keys(koalaCloud.actions).map((slug) => `  POST ${server.url}/${slug}`)
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
      checkApiUrl()
      checkRequestTimeout()
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
