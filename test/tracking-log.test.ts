import type { JSONObject } from '@segment/actions-core'
import { startRig } from './support/tracking'
import type { TrackingRig } from './support/tracking'

// What the terminal shows of Event Delivery: a line per event that ends failed, and on close (Ctrl-C) the events
// still pending and then every final outcome, per action.

jest.setTimeout(30_000)

let rig: TrackingRig | undefined
afterEach(() => rig?.close())

const NO_PERSON =
  'Koala needs an email or a Koala profile_id to know who this event belongs to, and this event has neither. Map the ' +
  'Email field (for example to $.traits.email or $.context.traits.email), or send the profile_id from ' +
  "Koala's ko_id cookie in the Koala Profile ID field. Segment's anonymousId is not Koala's profile_id."

test('a failed event is logged with its messageId, action and reason; close prints the outcomes per action', async () => {
  const lines: string[] = []
  rig = await startRig({ flushIntervalMs: 10_000, log: (line) => lines.push(line) })
  const arrival = { receivedAt: new Date(), clientSide: false }
  const calls: JSONObject[] = [
    { type: 'identify', messageId: 'm-ok', userId: 'u1', traits: { email: 'ok@example.com' } },
    { type: 'identify', messageId: 'm-bad', userId: 'u2', traits: { name: 'No Email' } },
    { type: 'track', messageId: 'm-t1', userId: 'u1', event: 'Signed Up', properties: { profile_id: 'ko-1' } },
    { type: 'track', messageId: 'm-t2', userId: 'u1', event: 'Signed Up', properties: { profile_id: 'ko-1' } },
    { type: 'alias', messageId: 'm-alias', userId: 'u1', previousId: 'anon-1' }
  ]
  for (const call of calls) rig.api.pipeline.ingest(call, arrival)
  const closing = rig.close()
  rig = undefined
  await closing
  expect(lines).toEqual([
    '[tracking] draining 4 events',
    `[tracking] identify failed for messageId "m-bad": ${NO_PERSON}`,
    '[tracking] 5 events: 3 delivered, 1 failed, 1 unsubscribed',
    '[tracking]   (no action): 1 unsubscribed',
    '[tracking]   identify: 1 delivered, 1 failed',
    '[tracking]   track: 2 delivered'
  ])
})

test('closing with nothing received says so', async () => {
  const lines: string[] = []
  rig = await startRig({ log: (line) => lines.push(line) })
  const closing = rig.close()
  rig = undefined
  await closing
  expect(lines).toEqual(['[tracking] 0 events received.'])
})

test('a request refused as a whole is logged with the messageIds it carried', async () => {
  const lines: string[] = []
  rig = await startRig({ log: (line) => lines.push(line) })
  const response = await fetch(`${rig.api.url}/v1/batch`, {
    method: 'POST',
    body: JSON.stringify({ batch: [{ type: 'track', messageId: 'm-1', event: 'E', userId: 'u' }, { type: 'page' }] })
  })
  expect(response.status).toBe(400)
  expect(lines).toEqual([
    '[tracking] POST /v1/batch refused with 400: An invalid write key was provided (messageIds: m-1, (none))',
    '[tracking] POST /v1/batch 400'
  ])
})

test('a refused batch of many events logs its first 20 messageIds and how many more', async () => {
  const lines: string[] = []
  rig = await startRig({ log: (line) => lines.push(line) })
  const batch = Array.from({ length: 25 }, (_, n) => ({ type: 'track', messageId: `m-${n}`, event: 'E', userId: 'u' }))
  const response = await fetch(`${rig.api.url}/v1/b`, { method: 'POST', body: JSON.stringify({ batch }) })
  expect(response.status).toBe(400)
  const ids = batch.slice(0, 20).map((call) => call.messageId)
  expect(lines[0]).toBe(
    `[tracking] POST /v1/b refused with 400: An invalid write key was provided (messageIds: ${ids.join(
      ', '
    )} and 5 more)`
  )
})
