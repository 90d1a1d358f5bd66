import { destinationAlone, nodeClient, PUBLIC_KEY, sortedJson, startRig } from './support/tracking'
import type { TrackingRig } from './support/tracking'

// @segment/analytics-node 3.1.0, unchanged, pointed at the local Tracking API: what Koala (the sandbox) receives is
// exactly what the destination alone makes of the same enriched events.

jest.setTimeout(60_000)

let rig: TrackingRig | undefined
afterEach(async () => {
  await rig?.close()
  rig = undefined
})

const people = [
  { userId: 'u-1', email: 'ada@example.com', profile_id: 'ko-ada' },
  { userId: 'u-2', email: 'grace@example.com', profile_id: 'ko-grace' },
  { userId: 'u-3', email: 'linus@example.com', profile_id: 'ko-linus' }
]

/** identify, track, page, group and alias for each person, then closeAndFlush. */
async function sendEveryCall(rig: TrackingRig): Promise<void> {
  const analytics = nodeClient(rig.api, 4)
  for (const person of people) {
    analytics.identify({ userId: person.userId, traits: { email: person.email, plan: 'pro' } })
    analytics.track({
      userId: person.userId,
      event: 'Report Exported',
      properties: { profile_id: person.profile_id, rows: 12 }
    })
    analytics.page({
      userId: person.userId,
      name: 'Pricing',
      properties: { profile_id: person.profile_id, path: '/pricing' }
    })
    analytics.group({ userId: person.userId, groupId: 'g-acme', traits: { domain: 'acme.example.com', seats: 40 } })
    analytics.alias({ userId: person.userId, previousId: `anon-${person.userId}` })
  }
  await analytics.closeAndFlush({ timeout: 20_000 })
}

test.each([
  ['batching on (one onBatch per action at shutdown)', {}],
  [
    'batching off (one onEvent per event)',
    {
      mappings: {
        identify: { enable_batching: false },
        track: { enable_batching: false },
        page: { enable_batching: false },
        group: { enable_batching: false }
      }
    }
  ]
])('identify, track, page, group and alias for three people: %s', async (_name, mappings) => {
  // A flush interval longer than the test: batches form only when the pipeline drains, so they are known exactly.
  rig = await startRig({ flushIntervalMs: 60_000, config: { settings: { public_key: PUBLIC_KEY }, ...mappings } })
  await sendEveryCall(rig)
  await rig.api.pipeline.drain()
  const view = rig.api.pipeline.view()

  expect(view.pending).toBe(0)
  expect(view.counts.byAction).toEqual({
    identify: { delivered: 3 },
    track: { delivered: 3 },
    page: { delivered: 3 },
    group: { delivered: 3 },
    '(none)': { unsubscribed: 3 }
  })
  const alias = view.events.find((record) => record.type === 'alias')
  expect(alias?.reason).toBe(
    'No action subscribes to alias events (subscriptions: track: type = "track"; identify: type = "identify"; ' +
      'page: type = "page"; group: type = "group").'
  )

  // The enriched event keeps what analytics-node sent and gains Segment's fields.
  const identify = view.events.find((record) => record.type === 'identify' && record.payload.userId === 'u-1')
  const event = identify?.payload as Record<string, string> & { context: Record<string, unknown> }
  expect(event.context.library).toEqual({ name: '@segment/analytics-node', version: '3.1.0' })
  expect(event.messageId).toMatch(/^node-next-\d+-/)
  expect(typeof event.receivedAt).toBe('string')
  expect(typeof event.sentAt).toBe('string')
  expect(event.originalTimestamp).toBeDefined()
  // The skew formula: receivedAt - (sentAt - originalTimestamp).
  expect(Date.parse(event.timestamp)).toBe(
    Date.parse(event.receivedAt) - (Date.parse(event.sentAt) - Date.parse(event.originalTimestamp))
  )
  expect(event.writeKey).toBeUndefined()

  // Every delivered event names the Koala request it became, as the sandbox received it.
  for (const record of view.events.filter((item) => item.outcome === 'delivered')) {
    expect(record.attempts).toBe(1)
    expect(record.response?.status).toBe(200)
    expect(rig.sandbox.received).toContainEqual(record.request?.body)
  }

  const routes = rig.api.pipeline.routes
  const alone = await destinationAlone(view.events, routes, { public_key: PUBLIC_KEY })
  expect(sortedJson(rig.sandbox.received)).toEqual(sortedJson(alone))
  // Batched: one request per person per action (identify, track, page) and one for the company; else one per event.
  expect(rig.sandbox.received.length).toBe(routes.every((route) => route.batching) ? 3 + 3 + 3 + 1 : 12)
})

test('closing the Tracking API (Ctrl-C) delivers what its buffers hold before it stops', async () => {
  rig = await startRig({ flushIntervalMs: 60_000, config: { settings: { public_key: PUBLIC_KEY } } })
  await sendEveryCall(rig)
  expect(rig.sandbox.received).toEqual([])
  expect(rig.api.pipeline.view().pending).toBe(12)
  await rig.api.close()
  expect(rig.api.pipeline.view().pending).toBe(0)
  expect(rig.api.pipeline.view().counts.total).toEqual({ delivered: 12, unsubscribed: 3 })
  expect(rig.sandbox.received).toHaveLength(10)
})
