import * as path from 'path'
import { createHarness } from '../../harness'
import type { Harness } from '../../harness'
import { PROJECT_ROOT } from '../../lib/paths'
import { envSetting, listenFailure } from '../../lib/process'
import type { RunningSandbox } from '../../sandbox/sandbox-server'
import { startServer } from '../../server/server'
import type { RunningServer } from '../../server/server'
import { sandboxPort, startConfiguredSandbox } from './local-sandbox'
import { describeServer, koalaOptionsFromEnv, serverPort } from './local-server'
import {
  abandonTracking,
  describeTracking,
  startConfiguredTracking,
  trackingOptions,
  trackingPort
} from './local-tracking'
import type { TrackingFlags } from './local-tracking'
import { deliveriesFor } from '../../tracking/deliveries'
import type { RunningTrackingApi, TrackingApiOptions } from '../../tracking/tracking-api'

/** Records per page of the Tester's Event Delivery section. */
const TESTER_PAGE = 50

/** The ready-to-paste commands printed at start: send the example identify, then look at the sandbox. */
export function demoCommands(serverUrl: string, sandboxUrl: string | undefined): string {
  const examples = path.relative(process.cwd(), path.join(PROJECT_ROOT, 'examples')) || '.'
  const lines = [
    'Try it (from another terminal, in this folder):',
    `  curl -s -X POST ${serverUrl}/identify -H 'Content-Type: application/json' -d @${examples}/identify.json`
  ]
  if (sandboxUrl) lines.push(`  curl -s ${sandboxUrl}/__sandbox/received`)
  return lines.join('\n')
}

/**
 * Refuses one port for both servers (the second could never listen). Port 0 picks a free port for each, so two zeros
 * do not clash.
 *
 * @throws Error naming PORT and KOALA_SANDBOX_PORT, and which of them holds a default.
 */
export function samePortCheck(port: number, sandboxPortNumber: number): void {
  if (port === 0 || port !== sandboxPortNumber) return
  const defaulted = ['PORT', 'KOALA_SANDBOX_PORT'].filter((name) => envSetting(name) === undefined)
  throw new Error(
    `PORT and KOALA_SANDBOX_PORT are both ${port}${defaulted.length ? ` (${defaulted[0]} by default)` : ''}: the ` +
      'local server and the Koala sandbox need a port each. Set one of them to another port.'
  )
}

/** What a program starting the tools (`startLocal`) gives over the environment: ports (0: a free one) and options. */
export interface StartOverrides {
  ports?: { server?: number; sandbox?: number; tracking?: number }
  tracking?: Partial<TrackingApiOptions>
}

/** What {@link startBoth} started. */
export interface StartedTools {
  server: RunningServer
  /** Undefined when KOALA_API_URL is set. */
  sandbox?: RunningSandbox
  /** The local Segment Tracking API (`TRACKING_API_PORT`), delivering through the destination. */
  tracking: RunningTrackingApi
  /** The destination both run, redirected to the sandbox (or to `KOALA_API_URL` and `KOALA_APP_URL`). */
  harness: Harness
  /** Stops both. */
  close: () => Promise<void>
  /** A forced stop: what was not finished (lines to print); the journal keeps it for the next start. */
  abandon: () => string[]
}

/**
 * Does the work of `start` short of waiting for Ctrl-C: checks every setting before anything listens (so a bad one
 * is reported as itself), starts the sandbox unless KOALA_API_URL is set, starts the server and the Tracking API
 * with one harness sending to the sandbox (or to KOALA_API_URL; deletions to KOALA_APP_URL when set), and prints the
 * banner.
 *
 * @param print where the banner goes (default: the console).
 * @throws Error naming the setting at fault (KOALA_API_URL, PORT, KOALA_SANDBOX_PORT, KOALA_SANDBOX_FAULTS), or the
 *   listen failure; a sandbox already started is stopped first.
 */
export async function startBoth(
  print: (line: string) => void = (line) => console.log(line),
  trackingFlags: TrackingFlags = {},
  overrides: StartOverrides = {}
): Promise<StartedTools> {
  const koala = koalaOptionsFromEnv()
  const tracking = { ...trackingOptions(trackingFlags), ...overrides.tracking }
  const trackingPortNumber = overrides.ports?.tracking ?? trackingPort()
  const port = overrides.ports?.server ?? serverPort()
  const external = koala.apiUrl
  let sandbox: RunningSandbox | undefined
  let settingsLines: string[] = []
  if (!external) {
    const sandboxPortNumber = overrides.ports?.sandbox ?? sandboxPort()
    samePortCheck(port, sandboxPortNumber)
    const started = await startConfiguredSandbox(
      sandboxPortNumber,
      print,
      `Could not start the Koala sandbox on 127.0.0.1:${sandboxPortNumber}`
    )
    sandbox = started.sandbox
    settingsLines = started.settingsLines
    // Every request of the server and the Tracking API goes to the sandbox; deletion requests too, unless
    // KOALA_APP_URL sends them elsewhere.
    koala.apiUrl = sandbox.url
    koala.appUrl ??= sandbox.url
  }
  const harness = createHarness(koala)
  let server: RunningServer
  let trackingApi: RunningTrackingApi | undefined
  // The Tester's Event Delivery section: a page of 50 records for the query it asks for.
  const deliveries = (query: Record<string, unknown>) => ({
    url: `${trackingApi?.url ?? ''}/v1`,
    ...(trackingApi ? deliveriesFor(trackingApi.pipeline, query, TESTER_PAGE) : {})
  })
  try {
    server = await startServer(port, { log: print, deliveries, harness })
  } catch (error) {
    await sandbox?.close()
    throw listenFailure(`Could not listen on 127.0.0.1:${port}`, error, 'Choose another port with PORT.')
  }
  try {
    trackingApi = await startConfiguredTracking(trackingPortNumber, { ...tracking, log: print, harness })
  } catch (error) {
    await server.close()
    await sandbox?.close()
    throw error
  }
  if (sandbox) {
    print(
      `Koala sandbox listening on ${sandbox.url}: accepted bodies at ${sandbox.url}/__sandbox/received, ` +
        `counts at ${sandbox.url}/__sandbox/stats`
    )
    for (const line of settingsLines) print(line)
  } else {
    print(`KOALA_API_URL is set: no sandbox started.`)
  }
  print(describeServer(server, harness))
  print(describeTracking(trackingApi, tracking))
  print(demoCommands(server.url, sandbox?.url))
  print('Press Ctrl-C to stop.')
  return {
    server,
    sandbox,
    tracking: trackingApi,
    harness,
    close: async () => {
      // First, while the sandbox still answers: the Tracking API delivers what it holds before it stops.
      await trackingApi.close()
      await server.close()
      await sandbox?.close()
    },
    abandon: () => abandonTracking(trackingApi)
  }
}
