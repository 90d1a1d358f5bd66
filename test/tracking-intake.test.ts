import type { DeliveryRecord } from '../src/tracking/pipeline'
import { INVALID_WRITE_KEY } from '../src/tracking/tracking-api'
import { nodeClient, PUBLIC_KEY, startRig, WRITE_KEY } from './support/tracking'
import type { TrackingRig } from './support/tracking'

// The local Tracking API's answers, as Segment's API gives them, and what it records: bad input gets Segment's status
// and a reason; nothing else in the same batch is lost. Hand-made requests here are the bad input itself.

jest.setTimeout(30_000)

let rig: TrackingRig
beforeAll(async () => {
  rig = await startRig({
    writeKey: WRITE_KEY,
    flushIntervalMs: 20,
    keep: 10_000,
    config: { settings: { public_key: PUBLIC_KEY } }
  })
})
afterAll(() => rig.close())

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${rig.api.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: basic(WRITE_KEY), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body)
  })
  return { status: response.status, body: (await response.json()) as unknown, headers: response.headers }
}

/** The records of the events whose userId is `userId`, oldest first, once each has its final outcome. */
async function recordsOf(userId: string): Promise<DeliveryRecord[]> {
  await rig.api.pipeline.idle()
  return rig.api.pipeline
    .view()
    .events.filter((record) => record.payload.userId === userId)
    .reverse()
}

const OK = { status: 200, body: { success: true } }

test("bad JSON: 400 with the parser's reason", async () => {
  expect(await post('/v1/track', '{"type": "track",')).toMatchObject({
    status: 400,
    body: { success: false, message: expect.stringMatching(/^Invalid JSON: /) }
  })
})

test('a call over 32 KB: 400 "Exceed payload limit"; the batch endpoint takes the same call', async () => {
  const call = { userId: 'big', event: 'Big', properties: { profile_id: 'ko-big', blob: 'x'.repeat(33 * 1024) } }
  const answer = await post('/v1/track', call)
  expect(answer.status).toBe(400)
  expect(answer.body).toEqual({
    success: false,
    message: `Exceed payload limit: this call is ${JSON.stringify(call).length} bytes; the limit is 32768 bytes.`
  })
  const inBatch = await post('/v1/batch', { batch: [{ type: 'track', ...call }] })
  expect(inBatch).toMatchObject({
    status: 400,
    body: {
      success: false,
      message:
        `Exceed payload limit: batch[0] is ${JSON.stringify({ type: 'track', ...call }).length.toLocaleString(
          'en-US'
        )} ` +
        "bytes, over Segment's 32 KB (32768 bytes) per event: Segment refuses the whole batch with 400, so its one " +
        'event was not accepted.'
    }
  })
  expect(rig.api.pipeline.view().refusedRequests[0]).toMatchObject({
    path: '/v1/batch',
    status: 400,
    events: [{ type: 'track' }]
  })
})

test('one event over 32 KB in a batch: 400 for the whole batch, recorded with every messageId it carried', async () => {
  const small = (n: number) => ({ type: 'track', messageId: `m-small-${n}`, userId: 'lost', event: 'E' })
  const big = { type: 'identify', messageId: 'm-big', userId: 'lost', traits: { blob: 'z'.repeat(40 * 1024) } }
  const size = Buffer.byteLength(JSON.stringify(big)).toLocaleString('en-US')
  const message =
    `Exceed payload limit: batch[1] (messageId "m-big") is ${size} bytes, over Segment's 32 KB (32768 bytes) per ` +
    'event: Segment refuses the whole batch with 400, so none of its 3 events was accepted.'
  expect(await post('/v1/b', { batch: [small(1), big, small(2)] })).toMatchObject({
    status: 400,
    body: { success: false, message }
  })
  expect(rig.api.pipeline.view().refusedRequests[0]).toEqual({
    at: expect.any(String),
    path: '/v1/b',
    status: 400,
    reason: message,
    events: [
      { messageId: 'm-small-1', type: 'track' },
      { messageId: 'm-big', type: 'identify' },
      { messageId: 'm-small-2', type: 'track' }
    ]
  })
  expect(await recordsOf('lost')).toEqual([])
})

test('a batch event under 32 KB as sent but over it as JSON (numbers written short): 400, as Segment measures it', async () => {
  const numbers = {
    type: 'track',
    messageId: 'm-numbers',
    userId: 'short',
    event: 'E',
    properties: { n: [] as number[] }
  }
  numbers.properties.n = Array.from({ length: 1600 }, () => 9e20)
  const sent = JSON.stringify({ batch: [numbers] }).replace(/900000000000000000000/g, '9e20')
  expect(Buffer.byteLength(sent)).toBeLessThan(32 * 1024)
  const size = Buffer.byteLength(JSON.stringify(numbers))
  expect(size).toBeGreaterThan(32 * 1024)
  expect(await post('/v1/batch', sent)).toMatchObject({
    status: 400,
    body: {
      success: false,
      message:
        `Exceed payload limit: batch[0] (messageId "m-numbers") is ${size.toLocaleString('en-US')} bytes, over ` +
        "Segment's 32 KB (32768 bytes) per event: Segment refuses the whole batch with 400, so its one event was not " +
        'accepted.'
    }
  })
  expect(await recordsOf('short')).toEqual([])
})

test('a batch item that is not an object is measured as sent: 32,768 bytes of JSON pass, 32,769 do not', async () => {
  const alias = { type: 'alias', userId: 'item-size', previousId: 'p' }
  // A JSON string of n characters between its quotes is n + 2 bytes.
  const item = (bytes: number) => 'z'.repeat(bytes - 2)
  expect(await post('/v1/batch', { batch: [alias, item(32_768)] })).toEqual({ ...OK, headers: expect.anything() })
  expect(await post('/v1/batch', { batch: [alias, item(32_769)] })).toMatchObject({
    status: 400,
    body: {
      success: false,
      message:
        "Exceed payload limit: batch[1] is 32,769 bytes, over Segment's 32 KB (32768 bytes) per event: Segment " +
        'refuses the whole batch with 400, so none of its 2 events was accepted.'
    }
  })
})

test('a batch request over 500 KB: 400', async () => {
  const batch = Array.from({ length: 20 }, (_, index) => ({
    type: 'track',
    userId: 'huge',
    event: 'E',
    properties: { n: index, blob: 'y'.repeat(30 * 1024) }
  }))
  const answer = await post('/v1/batch', { batch })
  expect(answer.status).toBe(400)
  expect((answer.body as { message: string }).message).toMatch(
    /^Exceed payload limit: this batch is \d+ bytes; the limit is 512000 bytes\.$/
  )
  expect(await recordsOf('huge')).toEqual([])
})

test('a missing write key: 400 as Segment answers it', async () => {
  expect(await post('/v1/identify', { userId: 'nokey' }, { Authorization: '' })).toEqual({
    ...{ status: 400, body: INVALID_WRITE_KEY },
    headers: expect.anything()
  })
})

test('a wrong write key: 200, and each event "failed on ingest" with the reason', async () => {
  expect(
    await post('/v1/batch', { batch: [{ type: 'identify', userId: 'wrong-key' }] }, { Authorization: basic('other') })
  ).toMatchObject(OK)
  const [record] = await recordsOf('wrong-key')
  expect(record).toMatchObject({
    outcome: 'failed on ingest',
    code: 'invalid_write_key',
    reason: 'Unknown write key: this source takes only the write key it was started with (--write-key).'
  })
})

test('non-object traits and calls missing what their type needs fail alone; the rest of the batch is delivered', async () => {
  const answer = await post('/v1/batch', {
    batch: [
      { type: 'identify', userId: 'mixed', traits: { email: 'mixed@example.com' }, messageId: 'mixed-1' },
      { type: 'identify', userId: 'mixed', traits: 'vip', messageId: 'mixed-2' },
      { type: 'track', userId: 'mixed', messageId: 'mixed-3' },
      { type: 'group', userId: 'mixed', traits: { domain: 'acme.example.com' }, messageId: 'mixed-4' },
      {
        type: 'track',
        userId: 'mixed',
        event: 'Signed Up',
        properties: { profile_id: 'ko-mixed' },
        messageId: 'mixed-5'
      },
      { type: 'identify', traits: { email: 'nobody@example.com' }, messageId: 'mixed-6' }
    ]
  })
  expect(answer).toMatchObject(OK)
  const records = await recordsOf('mixed')
  expect(records.map(({ messageId, outcome, code, reason }) => ({ messageId, outcome, code, reason }))).toEqual([
    { messageId: 'mixed-1', outcome: 'delivered', code: undefined, reason: undefined },
    {
      messageId: 'mixed-2',
      outcome: 'failed on ingest',
      code: 'invalid_traits',
      reason: "The call's traits is a string; Segment's spec makes traits an object of key-value pairs (COMMON)."
    },
    {
      messageId: 'mixed-3',
      outcome: 'failed on ingest',
      code: 'event_not_defined',
      reason: 'This track call has no event name (`event`).'
    },
    {
      messageId: 'mixed-4',
      outcome: 'failed on ingest',
      code: 'id_required',
      reason: 'This group call has no groupId.'
    },
    { messageId: 'mixed-5', outcome: 'delivered', code: undefined, reason: undefined }
  ])
  const anonymous = rig.api.pipeline.view().events.find((record) => record.messageId === 'mixed-6')
  expect(anonymous).toMatchObject({
    outcome: 'failed on ingest',
    code: 'no_user_anon_id',
    reason: 'This identify call has neither a userId nor an anonymousId.'
  })
  expect(rig.sandbox.received).toContainEqual(
    expect.objectContaining({ profile_id: 'ko-mixed', events: [expect.objectContaining({ message_id: 'mixed-5' })] })
  )
})

test('more than 2,500 events in a batch: 200, and every one "failed on ingest"', async () => {
  const batch = Array.from({ length: 2501 }, (_, index) => ({
    type: 'track',
    userId: 'many',
    event: 'E',
    messageId: `many-${index}`
  }))
  expect(await post('/v1/batch', { batch })).toMatchObject(OK)
  const records = await recordsOf('many')
  expect(records).toHaveLength(2501)
  expect(new Set(records.map((record) => record.reason))).toEqual(
    new Set(['The batch holds 2501 events; Segment takes at most 2500 per batch and drops the whole batch.'])
  )
})

test('a duplicate messageId is dropped at ingest, the first kept', async () => {
  const call = { userId: 'dup', traits: { email: 'dup@example.com' }, messageId: 'dup-1' }
  expect(await post('/v1/identify', call)).toMatchObject(OK)
  expect(await post('/v1/identify', call)).toMatchObject(OK)
  const records = await recordsOf('dup')
  expect(records.map((record) => record.outcome)).toEqual(['delivered', 'failed on ingest'])
  expect(records[1].reason).toBe('An event with the messageId "dup-1" was already received: Segment drops duplicates.')
})

test("analytics.js's way: text/plain, the write key in the body, a short path, and a CORS preflight", async () => {
  const preflight = await fetch(`${rig.api.url}/v1/t`, {
    method: 'OPTIONS',
    headers: {
      Origin: 'http://127.0.0.1:5173',
      'Access-Control-Request-Method': 'POST',
      'Access-Control-Request-Headers': 'authorization,content-type,x-retry-count'
    }
  })
  expect(preflight.status).toBe(204)
  expect(preflight.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:5173')
  expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization,content-type,x-retry-count')
  expect(preflight.headers.get('access-control-allow-methods')).toBe('POST, OPTIONS')

  const answer = await post(
    '/v1/i',
    { userId: 'browser', traits: { email: 'browser@example.com' }, writeKey: WRITE_KEY },
    { 'Content-Type': 'text/plain', Authorization: '', Origin: 'https://shop.example.com' }
  )
  expect(answer).toMatchObject(OK)
  expect(answer.headers.get('access-control-allow-origin')).toBe('https://shop.example.com')
  const [record] = await recordsOf('browser')
  expect(record).toMatchObject({ type: 'identify', outcome: 'delivered' })
  // A client-side path: Segment fills in the IP.
  expect(record.payload.context).toEqual({ ip: '127.0.0.1' })
})

test('GET /v1/deliveries: counts per action and outcome, the newest events first, only for local pages', async () => {
  const analytics = nodeClient(rig.api, 2)
  analytics.identify({ userId: 'view', traits: { email: 'view@example.com' } })
  analytics.alias({ userId: 'view', previousId: 'anon-view' })
  await analytics.closeAndFlush({ timeout: 10_000 })
  await rig.api.pipeline.idle()
  const response = await fetch(`${rig.api.url}/v1/deliveries?limit=2`)
  const view = (await response.json()) as ReturnType<TrackingRig['api']['pipeline']['view']>
  expect(view.pending).toBe(0)
  expect(view.events.map((record) => [record.type, record.outcome])).toEqual([
    ['alias', 'unsubscribed'],
    ['identify', 'delivered']
  ])
  expect(view.events[1].request).toEqual({
    url: `${rig.sandbox.url}/web/projects/pk_t…/batch`,
    body: rig.sandbox.received[rig.sandbox.received.length - 1]
  })
  expect(view.counts.byAction['(none)'].unsubscribed).toBeGreaterThanOrEqual(1)
  expect(Object.values(view.counts.total).reduce((sum, count) => sum + count, 0)).toBe(
    rig.api.pipeline.view(1e6).events.length
  )
  const foreign = await fetch(`${rig.api.url}/v1/deliveries`, { headers: { Origin: 'https://evil.example.com' } })
  expect(foreign.status).toBe(403)
})

test('after a drain, events are buffered again: three identifies of one person become one Koala request', async () => {
  await rig.api.pipeline.drain()
  const before = rig.sandbox.received.length
  const batch = [1, 2, 3].map((n) => ({
    type: 'identify',
    userId: 'again',
    traits: { email: 'again@example.com', n },
    messageId: `again-${n}`
  }))
  expect(await post('/v1/batch', { batch })).toMatchObject(OK)
  await recordsOf('again')
  const bodies = rig.sandbox.received.slice(before) as { email: string; identifies: { message_id: string }[] }[]
  expect(bodies.map((body) => [body.email, body.identifies.map((entry) => entry.message_id)])).toEqual([
    ['again@example.com', ['again-1', 'again-2', 'again-3']]
  ])
})

test('a numeric track event name: delivered as "42", and its record names it "42"', async () => {
  expect(await post('/v1/track', { userId: 'numeric', event: 42, properties: { profile_id: 'ko-numeric' } })).toEqual(
    expect.objectContaining(OK)
  )
  const [record] = await recordsOf('numeric')
  expect(record).toMatchObject({ type: 'track', event: '42', action: 'track', outcome: 'delivered' })
  expect((record.request?.body as { events: { event: unknown }[] }).events.map((entry) => entry.event)).toEqual(['42'])
})

test('a call without messageId refused at ingest: its record has the api- messageId enrichment gives', async () => {
  expect(await post('/v1/identify', { userId: 'no-id', traits: 'vip' })).toEqual(expect.objectContaining(OK))
  const [record] = await recordsOf('no-id')
  expect(record.outcome).toBe('failed on ingest')
  expect(record.messageId).toMatch(/^api-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
  expect(record.payload.messageId).toBeUndefined()
})
