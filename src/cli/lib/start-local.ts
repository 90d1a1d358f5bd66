import type { PipelineConfig } from '../../tracking/pipeline'
import { startBoth } from './start-both'
import type { StartedTools } from './start-both'

/**
 * The programmatic way in to `npm start`, for a test in a customer's own project: `import { startLocal } from
 * 'koala-cloud-destination'` (the package's `main`). It starts the Koala sandbox, the local server and the local
 * Segment Tracking API as `npm start` does, but on free ports unless told otherwise, printing nothing unless given
 * `log`, and ignoring `PORT`, `KOALA_SANDBOX_PORT` and `TRACKING_API_PORT` (a CI machine may set `PORT` for something
 * else). `KOALA_API_URL` and the sandbox's variables (`KOALA_SANDBOX_KEYS`, `KOALA_SANDBOX_FAULTS`, ...) apply as to
 * `npm start`. docs/local-tools.md, "In a test of your own", has an example.
 */

/** Options of {@link startLocal}; every one optional. */
export interface StartLocalOptions {
  /** Ports of the local server, the sandbox and the Tracking API (default 0 each: a free port). */
  port?: number
  sandboxPort?: number
  trackingPort?: number
  /** The only write key the Tracking API takes (default: any). */
  writeKey?: string
  /** The Tracking API's settings and mappings, as `npm start -- --config <file>` takes them. */
  config?: PipelineConfig
  /** How long a batching action buffers events (default 500 ms). */
  flushIntervalMs?: number
  /** How long a failed delivery is retried (default 30 s). */
  retryWindowMs?: number
  /** Delivery records kept (default 10,000, as `--max-records`). */
  maxRecords?: number
  /** Where the banner and the per-request lines go (default: nowhere). */
  log?: (line: string) => void
  /**
   * The journal's folder (`npm start -- --journal <dir>`). Default: none, unlike `npm start`: a test's tools live as
   * long as the test, and parallel tests would contend for one folder's lock.
   */
  journal?: string
}

/** The running tools, with their base URLs. */
export interface LocalTools extends StartedTools {
  /** The local server (actions-cli compatible) and the Actions Tester page. */
  serverUrl: string
  /** The Koala sandbox (`/__sandbox/received`, `/__sandbox/stats`); undefined when KOALA_API_URL is set. */
  sandboxUrl?: string
  /** The Tracking API's host, as analytics-node's `host` takes it (`/v1/deliveries` and the intake are under it). */
  trackingUrl: string
}

/**
 * Starts the local tools; `close()` delivers what the Tracking API still holds, then stops all three.
 *
 * @throws Error naming the setting at fault, or the listen failure.
 */
export async function startLocal(options: StartLocalOptions = {}): Promise<LocalTools> {
  const tracking = {
    ...(options.writeKey !== undefined ? { writeKey: options.writeKey } : {}),
    ...(options.config !== undefined ? { config: options.config } : {}),
    ...(options.flushIntervalMs !== undefined ? { flushIntervalMs: options.flushIntervalMs } : {}),
    ...(options.retryWindowMs !== undefined ? { retryWindowMs: options.retryWindowMs } : {}),
    ...(options.maxRecords !== undefined ? { keep: options.maxRecords } : {})
  }
  const started = await startBoth(
    options.log ?? (() => undefined),
    { journal: options.journal ?? false },
    {
      ports: { server: options.port ?? 0, sandbox: options.sandboxPort ?? 0, tracking: options.trackingPort ?? 0 },
      tracking
    }
  )
  return {
    ...started,
    serverUrl: started.server.url,
    sandboxUrl: started.sandbox?.url,
    trackingUrl: started.tracking.url
  }
}
