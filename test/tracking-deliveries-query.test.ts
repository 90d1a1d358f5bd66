import { deliveriesPage, matches, parseDeliveryQuery } from '../src/tracking/deliveries'
import type { DeliveriesPage, SettledAnswer } from '../src/tracking/deliveries'
import type { DeliveryRecord, Pipeline } from '../src/tracking/pipeline'
import { nodeClient, PUBLIC_KEY, startRig } from './support/tracking'
import type { TrackingRig } from './support/tracking'

// Event Delivery as a test instrument (src/tracking/deliveries.ts): analytics-node 3.1.0 sends a few hundred mixed
// events; each filter returns exactly the records that match, `settled` answers once Koala (the sandbox) has every
// deliverable event, DELETE leaves nothing.

jest.setTimeout(60_000)

/** The rig of one test, closed after it. */
let rig: TrackingRig | undefined
afterEach(async () => {
  await rig?.close()
  rig = undefined
})

interface Sent {
  messageId: string
  type: string
  userId?: string
  anonymousId?: string
  event?: string
}

/**
 * 300 calls from 30 people (10 calls each): identify, 5 tracks ("Signed Up", "Report Exported", "Plan Changed"), a
 * page, a group, an alias and an anonymous track Koala refuses (no email, no profile_id). Returns what was sent.
 */
async function sendMixed(target: TrackingRig): Promise<Sent[]> {
  const analytics = nodeClient(target.api, 50)
  const sent: Sent[] = []
  const names = ['Signed Up', 'Report Exported', 'Plan Changed']
  for (let n = 1; n <= 30; n++) {
    const userId = `user-${n}`
    const email = `person${n}@example.com`
    const id = (kind: string) => `mix-${n}-${kind}`
    const context = { traits: { email } }
    analytics.identify({ userId, messageId: id('identify'), traits: { email, plan: 'pro' } })
    sent.push({ messageId: id('identify'), type: 'identify', userId })
    for (let t = 0; t < 5; t++) {
      const event = names[t % 3]
      analytics.track({ userId, messageId: id(`track-${t}`), event, properties: { n: t }, context })
      sent.push({ messageId: id(`track-${t}`), type: 'track', userId, event })
    }
    analytics.page({ userId, messageId: id('page'), name: 'Pricing', properties: { profile_id: `ko-${n}` } })
    sent.push({ messageId: id('page'), type: 'page', userId })
    analytics.group({ userId, messageId: id('group'), groupId: 'g-acme', traits: { domain: 'acme.example.com' } })
    sent.push({ messageId: id('group'), type: 'group', userId })
    analytics.alias({ userId, messageId: id('alias'), previousId: `anon-${n}` })
    sent.push({ messageId: id('alias'), type: 'alias', userId })
    analytics.track({ anonymousId: `anon-${n}`, messageId: id('anonymous'), event: 'Viewed Pricing' })
    sent.push({ messageId: id('anonymous'), type: 'track', anonymousId: `anon-${n}`, event: 'Viewed Pricing' })
  }
  await analytics.closeAndFlush({ timeout: 20_000 })
  return sent
}

let base = ''

async function get<T>(path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${base}${path}`)
  return { status: response.status, body: (await response.json()) as T }
}

const settled = (timeout: number) => get<SettledAnswer>(`/v1/deliveries/settled?timeout=${timeout}`)

/** Every record matching a query, following `nextCursor` page by page. */
async function allPages(query: string, limit: number): Promise<DeliveryRecord[]> {
  const records: DeliveryRecord[] = []
  let cursor = ''
  for (let page = 0; page < 100; page++) {
    const { status, body } = await get<DeliveriesPage>(`/v1/deliveries?${query}&limit=${limit}${cursor}`)
    expect(status).toBe(200)
    records.push(...body.events)
    if (body.nextCursor === undefined) return records
    cursor = `&cursor=${body.nextCursor}`
  }
  throw new Error('more than 100 pages')
}

/** A rig started with `options`, whose URL {@link get} asks. */
async function started(...options: Parameters<typeof startRig>): Promise<TrackingRig> {
  const running = await startRig(...options)
  base = running.api.url
  return running
}

describe('a few hundred mixed events from analytics-node', () => {
  let sent: Sent[]
  let mixed: TrackingRig
  beforeAll(async () => {
    mixed = await started({ flushIntervalMs: 100, config: { settings: { public_key: PUBLIC_KEY } } })
    sent = await sendMixed(mixed)
  })
  afterAll(() => mixed.close())

  test('settled answers once the sandbox holds every deliverable event', async () => {
    const answer = await settled(30_000)
    expect(answer.status).toBe(200)
    expect(answer.body).toMatchObject({ settled: true, pending: 0 })
    // Delivered: 30 identifies, 150 tracks, 30 pages, 30 groups. Failed: 30 anonymous tracks. Unsubscribed: 30 aliases.
    expect(answer.body.counts.total).toEqual({ delivered: 240, failed: 30, unsubscribed: 30 })
    const ids = mixed.sandbox.received.flatMap((body) =>
      ['identifies', 'events', 'page_views'].flatMap((key) =>
        ((body as Record<string, { message_id: string }[]>)[key] ?? []).map((entry) => entry.message_id)
      )
    )
    const expected = sent
      .filter((call) => call.type !== 'alias' && !call.messageId.endsWith('anonymous'))
      .map((call) => call.messageId)
    expect(new Set(ids)).toEqual(new Set(expected))
    expect(ids).toHaveLength(expected.length)
  })

  const cases: [string, (call: Sent) => boolean][] = [
    ['outcome=failed', (call) => call.messageId.endsWith('anonymous')],
    ['outcome=unsubscribed,failed', (call) => call.type === 'alias' || call.messageId.endsWith('anonymous')],
    ['action=group', (call) => call.type === 'group'],
    ['type=page', (call) => call.type === 'page'],
    ['event=Plan%20Changed', (call) => call.event === 'Plan Changed'],
    ['userId=user-7', (call) => call.userId === 'user-7'],
    ['anonymousId=anon-3', (call) => call.anonymousId === 'anon-3'],
    ['messageId=mix-4-page,mix-5-alias', (call) => ['mix-4-page', 'mix-5-alias'].includes(call.messageId)],
    ['type=track&outcome=delivered&userId=user-2', (call) => call.type === 'track' && call.userId === 'user-2'],
    ['q=USER-1', (call) => /^user-1\d?$/.test(call.userId ?? '')],
    ['outcome=filtered', () => false],
    ['since=2000-01-01T00:00:00Z', () => true],
    ['since=2999-01-01T00:00:00.000Z', () => false]
  ]
  test.each(cases)('%s returns exactly the matching records, page by page', async (query, wanted) => {
    const expected = sent.filter(wanted).map((call) => call.messageId)
    const records = await allPages(query, 7)
    expect(records.map((record) => record.messageId).sort()).toEqual([...expected].sort())
    // Newest first, each record once.
    const ids = records.map((record) => record.id)
    expect(ids).toEqual([...ids].sort((a, b) => b - a))
    const first = await get<DeliveriesPage>(`/v1/deliveries?${query}&limit=7`)
    expect(first.body.matched).toBe(expected.length)
    const counted = Object.values(first.body.counts.total).reduce((sum, count) => sum + count, 0)
    expect(counted).toBe(expected.length)
  })

  test('the counts of a filter are per action and outcome of what matched', async () => {
    const { body } = await get<DeliveriesPage>('/v1/deliveries?userId=user-9')
    expect(body.counts).toEqual({
      total: { delivered: 8, unsubscribed: 1 },
      byAction: {
        identify: { delivered: 1 },
        track: { delivered: 5 },
        page: { delivered: 1 },
        group: { delivered: 1 },
        '(none)': { unsubscribed: 1 }
      }
    })
    expect(body.dropped).toBe(0)
  })

  test('?format=ndjson streams every matching record, one a line, oldest first', async () => {
    const response = await fetch(`${base}/v1/deliveries?format=ndjson&type=track`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^application\/x-ndjson/)
    const lines = (await response.text()).split('\n')
    expect(lines.pop()).toBe('')
    const records = lines.map((line) => JSON.parse(line) as DeliveryRecord)
    expect(records).toHaveLength(180)
    expect(records.every((record) => record.type === 'track')).toBe(true)
    const ids = records.map((record) => record.id)
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
  })
})

test.each([
  ['/v1/deliveries?limit=0', 'limit', 'limit: "0" is not a whole number from 1 to 1000'],
  ['/v1/deliveries?limit=all', 'limit', 'limit: "all" is not a whole number from 1 to 1000'],
  ['/v1/deliveries?cursor=-1', 'cursor', 'give the nextCursor of the previous page'],
  ['/v1/deliveries?since=yesterday', 'since', 'since: "yesterday" is not an ISO time; give one such as'],
  [
    '/v1/deliveries?outcomes=failed',
    'outcomes',
    'outcomes is not a parameter of /v1/deliveries (did you mean outcome?)'
  ],
  ['/v1/deliveries?outcome=', 'outcome', 'outcome is empty'],
  ['/v1/deliveries?type=track&type=page', 'type', 'type is given more than once'],
  ['/v1/deliveries?format=csv', 'format', 'give json (the default) or ndjson'],
  ['/v1/deliveries/settled?timeout=600001', 'timeout', 'at most 600000 (10 minutes)'],
  ['/v1/deliveries/settled?timeout=soon', 'timeout', 'timeout: "soon" is not a whole number'],
  ['/v1/deliveries/settled?wait=5', 'wait', 'its one parameter is timeout']
])('%s: 400 naming %s and the fix', async (path, parameter, message) => {
  rig = await started()
  const answer = await get<{ success: boolean; parameter: string; message: string }>(path)
  expect(answer.status).toBe(400)
  expect(answer.body.success).toBe(false)
  expect(answer.body.parameter).toBe(parameter)
  expect(answer.body.message).toContain(message)
})

test('settled says what is still pending and why: buffered, then retrying after Koala answered 503', async () => {
  // A flush interval longer than the test keeps the events buffered until the pipeline drains; after 3 s of 503s
  // they fail, so the test ends by itself.
  const waiting = (rig = await started(
    { flushIntervalMs: 600_000, retryWindowMs: 3000, config: { settings: { public_key: PUBLIC_KEY } } },
    { faults: { '503': 1 } }
  ))
  const analytics = nodeClient(waiting.api, 2)
  analytics.identify({ userId: 'u-1', messageId: 'wait-1', traits: { email: 'a@example.com' } })
  analytics.identify({ userId: 'u-2', messageId: 'wait-2', traits: { email: 'b@example.com' } })
  await analytics.closeAndFlush({ timeout: 10_000 })
  const buffered = await settled(0)
  expect(buffered.body).toMatchObject({ settled: false, pending: 2, why: { buffered: 2 } })
  expect(buffered.body.waiting?.map((item) => [item.messageId, item.state, item.attempts])).toEqual([
    ['wait-1', 'buffered', 0],
    ['wait-2', 'buffered', 0]
  ])
  // Flushing sends the batch; the sandbox answers 503 and the events wait for a retry.
  void waiting.api.pipeline.drain()
  for (let tries = 0; tries < 200 && waiting.sandbox.stats().requests === 0; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  for (let tries = 0; tries < 200; tries++) {
    const answer = await settled(0)
    if (answer.body.why?.retrying === 2) {
      expect(answer.body.waiting?.[0]).toMatchObject({ messageId: 'wait-1', state: 'retrying', lastStatus: 503 })
      expect(answer.body.waiting?.[0].lastReason).toContain('503')
      return
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error('the events never waited for a retry')
})

test('DELETE /v1/deliveries clears the records and counts, saying how many; --max-records drops the oldest', async () => {
  const small = (rig = await started({ keep: 5, config: { settings: { public_key: PUBLIC_KEY } } }))
  const arrival = { receivedAt: new Date(), clientSide: false }
  for (let n = 1; n <= 12; n++) {
    small.api.pipeline.ingest({ type: 'alias', messageId: `a-${n}`, userId: `u-${n}`, previousId: `p-${n}` }, arrival)
  }
  const before = await get<DeliveriesPage>('/v1/deliveries')
  expect(before.body.events.map((record) => record.messageId)).toEqual(['a-12', 'a-11', 'a-10', 'a-9', 'a-8'])
  expect(before.body).toMatchObject({ dropped: 7, maxRecords: 5, matched: 5, counts: { total: { unsubscribed: 12 } } })
  const cleared = await fetch(`${base}/v1/deliveries`, { method: 'DELETE' })
  expect(cleared.status).toBe(200)
  expect(await cleared.json()).toEqual({ cleared: 12, pending: 0 })
  const after = await get<DeliveriesPage>('/v1/deliveries')
  expect(after.body).toMatchObject({
    events: [],
    matched: 0,
    dropped: 0,
    pending: 0,
    counts: { total: {}, byAction: {} }
  })
  // The messageIds seen are forgotten too: the same calls are taken again, not dropped as duplicates.
  small.api.pipeline.ingest({ type: 'alias', messageId: 'a-1', userId: 'u-1', previousId: 'p-1' }, arrival)
  expect((await get<DeliveriesPage>('/v1/deliveries')).body.counts.total).toEqual({ unsubscribed: 1 })
})

test('an outcome this module does not know (a later "filtered") is filtered and counted like any other', () => {
  const record = (id: number, outcome: string): DeliveryRecord =>
    ({ id, outcome, attempts: 0, receivedAt: '2026-12-07T10:00:00.000Z', payload: {} } as unknown as DeliveryRecord)
  const records = [record(1, 'delivered'), record(2, 'filtered'), record(3, 'filtered')]
  const pipeline = {
    kept: () => ({ records, dropped: 0, max: 10 }),
    view: () => ({ counts: { total: {}, byAction: {} }, pending: 0, refusedRequests: [], events: [] })
  } as unknown as Pipeline
  const page = deliveriesPage(pipeline, parseDeliveryQuery({ outcome: 'filtered' }))
  expect(page.events.map((item) => item.id)).toEqual([3, 2])
  expect(page.counts).toEqual({ total: { filtered: 2 }, byAction: { '(none)': { filtered: 2 } } })
  expect(matches(records[0], { outcome: ['filtered'] })).toBe(false)
})

test('an event nested too deeply to write as JSON is recorded without its nested values, and every view still answers', async () => {
  rig = await startRig()
  const base = rig.api.url
  // 5,000 levels: past the 1,000 the framework takes (failed on ingest), and past what JSON.stringify can write.
  const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`
  const body = `{"userId":"s","messageId":"deep-5000","traits":{"email":"deep@example.com","x":${deep}}}`
  const sent = await fetch(`${base}/v1/identify`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Basic ${Buffer.from('k:').toString('base64')}` },
    body
  })
  expect(sent.status).toBe(200)
  const page = (await (await fetch(`${base}/v1/deliveries`)).json()) as DeliveriesPage
  const record = page.events.find((item) => item.messageId === 'deep-5000') as DeliveryRecord
  expect(record).toMatchObject({ outcome: 'failed on ingest', code: 'unprocessable' })
  expect(record.payload).toMatchObject({ userId: 's', messageId: 'deep-5000', traits: '(left out)' })
  const ndjson = await fetch(`${base}/v1/deliveries?format=ndjson`)
  expect(ndjson.status).toBe(200)
  const lines = (await ndjson.text()).trim().split('\n')
  expect(lines.map((line) => (JSON.parse(line) as DeliveryRecord).messageId)).toContain('deep-5000')
})
