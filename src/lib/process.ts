import { endSentence } from './text'

/** Process helpers of the local tools: environment settings, ports, listen failures, stopping on a signal. */

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

/** How often a tool run by an npm script checks that the process that started it is still there, in ms. */
export const PARENT_CHECK_MS = 250

/** Signals this close to the last one counted are the same stop request: npm passes on the Ctrl-C it got too. */
export const SIGNAL_ECHO_MS = 1000

/** What {@link stopOnSignal} may do when the user forces the stop. */
export interface StopOptions {
  /** Runs on a forced stop, before the exit: saves what it can and says what was not finished (lines to print). */
  abandon?: () => string[]
}

/**
 * Stops `stop` on Ctrl-C (SIGINT) or SIGTERM, then exits (code 0, or 1 when `stop` fails).
 *
 * A signal never kills the process while `stop` runs: Ctrl-C in a terminal signals the whole process group, so this
 * process gets the terminal's SIGINT and then npm's copy of it; both (and any signal within {@link SIGNAL_ECHO_MS} ms
 * of the last one counted) are one request to stop. A second request, later, prints that the stop is still under way
 * and how to force it; the third forces it: `abandon` runs and the process exits with code 130.
 *
 * Run by an npm script (npm sets `npm_lifecycle_event`), it also stops when the process that started it is gone:
 * npm 11 runs a script as `sh -c "<script>"` and passes a SIGTERM or SIGINT sent to npm's pid on to that shell only.
 * `npm start` is `exec node bin/run start`, so the shell becomes this process and gets the signal; but npm itself may
 * die without passing anything on (SIGKILL, a crash), and a script written without `exec` leaves a shell that dies of
 * SIGTERM without passing it on. Either way this process is adopted by another parent, which a timer notices within
 * {@link PARENT_CHECK_MS} ms. Outside npm (`./bin/run start &`, `nohup`) the tool outlives its parent, as any server.
 */
export function stopOnSignal(stop: () => Promise<void>, options: StopOptions = {}): void {
  let requests = 0
  let last = 0
  const handler = () => {
    const now = Date.now()
    if (requests > 0 && now - last < SIGNAL_ECHO_MS) return
    requests++
    last = now
    if (requests === 2) {
      console.log('\nStill stopping: every accepted event gets its outcome first. Press Ctrl-C again to force it.')
      return
    }
    if (requests >= 3) {
      console.log('\nForced to stop.')
      for (const line of options.abandon?.() ?? []) console.log(line)
      process.exit(130)
    }
    console.log('\nStopping...')
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`Could not stop cleanly: ${error instanceof Error ? error.message : String(error)}`)
        process.exit(1)
      }
    )
  }
  // `on`, not `once`: after the first signal, Node's default action (exit at once) must not apply to the next ones.
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  if (process.env.npm_lifecycle_event === undefined) return
  const parent = process.ppid
  const timer = setInterval(() => {
    if (process.ppid === parent) return
    clearInterval(timer)
    if (requests === 0) handler()
  }, PARENT_CHECK_MS)
  // The servers keep the process alive; the check alone must not.
  timer.unref()
}
