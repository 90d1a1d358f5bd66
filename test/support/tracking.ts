import type { JSONObject } from '@segment/actions-core'
import { Analytics } from '@segment/analytics-node'
import { createHarness } from '../../src/harness'
import type { Harness } from '../../src/harness'
import { startSandbox } from '../../src/sandbox/sandbox-server'
import type { RunningSandbox, SandboxOptions } from '../../src/sandbox/sandbox-server'
import type { DeliveryRecord } from '../../src/tracking/pipeline'
import { startTrackingApi } from '../../src/tracking/tracking-api'
import type { RunningTrackingApi, TrackingApiOptions } from '../../src/tracking/tracking-api'

// The local Tracking API in front of a real sandbox, for the tracking tests; and the destination run alone.

export const WRITE_KEY = 'local-write-key'
export const PUBLIC_KEY = 'pk_tracking_test'

export interface TrackingRig {
  sandbox: RunningSandbox
  api: RunningTrackingApi
  /** The destination the Tracking API runs, sending to the sandbox. */
  harness: Harness
  close: () => Promise<void>
}

/** A sandbox and a Tracking API delivering to it, on free ports; `close` drains the pipeline first. */
export async function startRig(
  options: TrackingApiOptions = {},
  sandboxOptions: SandboxOptions = {}
): Promise<TrackingRig> {
  const sandbox = await startSandbox(0, sandboxOptions)
  const harness = createHarness({ apiUrl: sandbox.url, appUrl: sandbox.url })
  const api = await startTrackingApi(0, { config: { settings: { public_key: PUBLIC_KEY } }, harness, ...options })
  return {
    sandbox,
    api,
    harness,
    close: async () => {
      await api.close()
      await sandbox.close()
    }
  }
}

/** analytics-node 3.1.0 pointed at the local API, as a user would point it (host, path, flushAt). */
export function nodeClient(api: RunningTrackingApi, flushAt = 5, writeKey = WRITE_KEY): Analytics {
  return new Analytics({ writeKey, host: api.url, path: '/v1/batch', flushAt, flushInterval: 50, maxRetries: 2 })
}

/** JSON text of each value, sorted: compares request bodies whatever order concurrent requests arrived in. */
export function sortedJson(values: unknown[]): string[] {
  return values.map((value) => JSON.stringify(value)).sort()
}

/**
 * What the destination alone sends for the records' events (same actions, same settings, same mappings): each
 * action's events in one `onBatch` when `batched`, else one `onEvent` each, against a fresh sandbox.
 *
 * @returns the sandbox's received bodies.
 */
export async function destinationAlone(
  records: DeliveryRecord[],
  routes: RunningTrackingApi['pipeline']['routes'],
  settings: JSONObject
): Promise<unknown[]> {
  const sandbox = await startSandbox(0)
  const harness = createHarness({ apiUrl: sandbox.url })
  try {
    for (const route of routes) {
      const events = records
        .filter((record) => record.action === route.action)
        .sort((a, b) => a.id - b.id)
        .map((record) => record.payload)
      if (events.length === 0) continue
      const subscriptions = [{ subscribe: route.subscribe, partnerAction: route.action, mapping: route.mapping }]
      const destination = harness.destination()
      const all = { ...settings, subscriptions } as never
      if (route.batching) await destination.onBatch(events as never, all)
      else for (const event of events) await destination.onEvent(event as never, all).catch(() => undefined)
    }
    return [...sandbox.received]
  } finally {
    await sandbox.close()
  }
}
