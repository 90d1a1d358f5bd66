import express from 'express'
import type { JSONObject } from '@segment/actions-core'
import { createHarness } from '../src/harness'
import { listenOnLoopback } from '../src/lib/loopback'
import type { LoopbackServer } from '../src/lib/loopback'
import type { DeliveryRecord } from '../src/tracking/pipeline'
import { startTrackingApi } from '../src/tracking/tracking-api'
import type { RunningTrackingApi } from '../src/tracking/tracking-api'
import { startRig, WRITE_KEY } from './support/tracking'
import type { TrackingRig } from './support/tracking'

// What the terminal shows besides `POST /v1/batch 200`: a line with the reason for events dropped at ingest, and a
// line per retry with its attempt and cause, which the delivery record keeps too (`attemptLog`).

jest.setTimeout(30_000)

describe('events dropped at ingest', () => {
  let rig: TrackingRig
  const lines: string[] = []
  beforeAll(async () => {
    rig = await startRig({ writeKey: WRITE_KEY, flushIntervalMs: 20, log: (line) => lines.push(line) })
  })
  afterAll(() => rig.close())
  beforeEach(() => void (lines.length = 0))

  const post = (path: string, body: unknown, key = WRITE_KEY) =>
    fetch(`${rig.api.url}${path}`, { method: 'POST', body: JSON.stringify({ writeKey: key, ...(body as JSONObject) }) })

  it('a wrong write key: one line for the request, with the reason and the messageIds', async () => {
    const batch = [1, 2, 3].map((n) => ({ type: 'identify', messageId: `k-${n}`, userId: 'u', traits: {} }))
    expect((await post('/v1/batch', { batch }, 'another-key')).status).toBe(200)
    expect(lines).toEqual([
      '[tracking] POST /v1/batch: 3 events dropped at ingest, invalid_write_key: Unknown write key: this source ' +
        'takes only the write key it was started with (--write-key). (messageIds: k-1, k-2, k-3)',
      '[tracking] POST /v1/batch 200'
    ])
  })

  it('more than 2,500 events: one line, the first 20 messageIds and how many more', async () => {
    const batch = Array.from({ length: 2501 }, (_, n) => ({
      type: 'track',
      messageId: `b-${n}`,
      userId: 'u',
      event: 'E'
    }))
    expect((await post('/v1/b', { batch })).status).toBe(200)
    const ids = batch.slice(0, 20).map((call) => call.messageId)
    expect(lines).toEqual([
      '[tracking] POST /v1/b: 2,501 events dropped at ingest, batch_too_large: The batch holds 2501 events; Segment ' +
        `takes at most 2500 per batch and drops the whole batch. (messageIds: ${ids.join(', ')} and 2,481 more)`,
      '[tracking] POST /v1/b 200'
    ])
  })

  it('no userId, and a repeated messageId: a line per reason; the good event goes on', async () => {
    const batch = [
      { type: 'track', messageId: 'n-1', event: 'E' },
      { type: 'identify', messageId: 'n-2', userId: 'u', traits: { email: 'n2@example.com' } },
      { type: 'page', messageId: 'n-3' }
    ]
    expect((await post('/v1/batch', { batch })).status).toBe(200)
    expect((await post('/v1/identify', { messageId: 'n-2', userId: 'u', traits: {} })).status).toBe(200)
    expect(lines).toEqual([
      '[tracking] POST /v1/batch: 1 event dropped at ingest, no_user_anon_id: This track call has neither a userId ' +
        'nor an anonymousId. (messageId: n-1)',
      '[tracking] POST /v1/batch: 1 event dropped at ingest, no_user_anon_id: This page call has neither a userId ' +
        'nor an anonymousId. (messageId: n-3)',
      '[tracking] POST /v1/batch 200',
      '[tracking] POST /v1/identify: 1 event dropped at ingest, duplicate_message_id: An event with the messageId ' +
        '"n-2" was already received: Segment drops duplicates. (messageId: n-2)',
      '[tracking] POST /v1/identify 200'
    ])
  })

  it('a preflight and a request with a query are logged with the path as requested', async () => {
    const preflight = await fetch(`${rig.api.url}/v1/i`, { method: 'OPTIONS', headers: { Origin: 'http://a.test' } })
    expect(preflight.status).toBe(204)
    expect((await fetch(`${rig.api.url}/v1/deliveries?limit=1`)).status).toBe(200)
    expect(lines).toEqual(['[tracking] OPTIONS /v1/i 204', '[tracking] GET /v1/deliveries 200'])
  })
})

describe('retries', () => {
  let koala: LoopbackServer
  let api: RunningTrackingApi | undefined
  const bodies: unknown[] = []
  /** Koala answers the first `failing` requests 503, then 200. */
  let failing = 0
  beforeAll(async () => {
    const app = express()
    app.post('/web/projects/:key/batch', express.json(), (req, res) => {
      bodies.push(req.body)
      if (failing-- <= 0) return void res.json({ ok: true })
      res.status(503).json({ error: 'Koala is busy' })
    })
    koala = await listenOnLoopback(app, 0)
  })
  afterAll(() => koala.close())
  afterEach(async () => {
    await api?.close()
    api = undefined
    bodies.length = 0
  })

  async function run(mappings: Record<string, JSONObject>, calls: JSONObject[], failures: number) {
    failing = failures
    const lines: string[] = []
    api = await startTrackingApi(0, {
      harness: createHarness({ apiUrl: koala.url }),
      config: { settings: { public_key: 'pk_retry_test' }, mappings },
      flushIntervalMs: 20,
      random: () => 0.5,
      log: (line) => lines.push(line)
    })
    const arrival = { receivedAt: new Date(), clientSide: false }
    for (const call of calls) api.pipeline.ingest(call, arrival)
    await api.pipeline.idle()
    return { lines, records: api.pipeline.view().events.reverse() }
  }

  // The destination's words for Koala's 503 (its code and sentence) are its own: the record gives them, and each
  // must quote Koala's answer.
  const CAUSE = expect.stringContaining('Koala is busy') as unknown
  const ISO = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as unknown
  const attemptsOf = ({ messageId, outcome, status, attempts, attemptLog }: DeliveryRecord) => ({
    messageId,
    outcome,
    status,
    attempts,
    attemptLog
  })
  /** Delivered on the second attempt, after the first failed with Koala's 503. */
  const delivered = (messageId: string) => ({
    messageId,
    outcome: 'delivered',
    status: 200,
    attempts: 2,
    attemptLog: [
      { at: ISO, status: 503, code: expect.any(String) as unknown, reason: CAUSE },
      { at: ISO, status: 200 }
    ]
  })

  const identify = (n: number) => ({
    type: 'identify',
    messageId: `r-${n}`,
    userId: `u-${n}`,
    traits: { email: `r${n}@example.com` }
  })

  it('one event: a line with the attempt and its cause; the record keeps each attempt', async () => {
    const { lines, records } = await run({ identify: { enable_batching: false } }, [identify(1)], 1)
    expect(records.map(attemptsOf)).toEqual([delivered('r-1')])
    const { code, reason } = records[0].attemptLog[0]
    expect(lines).toEqual([
      `[tracking] identify: attempt 1 failed with 503 (${code ?? ''}), retrying in 100 ms (messageId: r-1): ${
        reason ?? ''
      }`
    ])
    expect(bodies).toHaveLength(2)
  })

  it('a batch: one line for the events that share a cause', async () => {
    const { lines, records } = await run({}, [identify(1), identify(2)], 2)
    expect(records.map(attemptsOf)).toEqual([delivered('r-1'), delivered('r-2')])
    // Both failed alike: one line for the two.
    expect(records[1].attemptLog[0]).toEqual({ ...records[0].attemptLog[0], at: ISO })
    const { code, reason } = records[0].attemptLog[0]
    expect(lines).toEqual([
      `[tracking] identify: attempt 1 of 2 events failed with 503 (${code ?? ''}), retrying in 100 ms ` +
        `(messageIds: r-1, r-2): ${reason ?? ''}`
    ])
    expect(bodies).toHaveLength(4)
  })
})
