import type { DeliveriesView } from '../src/tracking/pipeline'
import { startTrackingApi } from '../src/tracking/tracking-api'
import type { RunningTrackingApi } from '../src/tracking/tracking-api'

// `GET /v1/deliveries`: the newest 100 records by default, `?limit=` up to 1,000 a page; counts cover every event.
// Filters, paging, refusals: tracking-deliveries-query.test.ts.

let api: RunningTrackingApi
beforeAll(async () => {
  api = await startTrackingApi(0)
  const arrival = { receivedAt: new Date(), clientSide: false }
  // Alias calls: no action subscribes to them, so each gets its final outcome at once and nothing is sent.
  for (let n = 1; n <= 1200; n++) {
    api.pipeline.ingest({ type: 'alias', messageId: `m-${n}`, userId: `u-${n}`, previousId: `p-${n}` }, arrival)
  }
})
afterAll(() => api.close())

async function deliveries(query = ''): Promise<DeliveriesView> {
  const response = await fetch(`${api.url}/v1/deliveries${query}`)
  expect(response.status).toBe(200)
  return (await response.json()) as DeliveriesView
}

test('by default the newest 100 records, newest first, and the counts of all 1,200 events', async () => {
  const view = await deliveries()
  expect(view.events.map((record) => record.messageId)).toEqual(
    Array.from({ length: 100 }, (_, index) => `m-${1200 - index}`)
  )
  expect(view.counts.total).toEqual({ unsubscribed: 1200 })
})

test('?limit=5000 is refused: a page holds at most 1,000 records', async () => {
  const response = await fetch(`${api.url}/v1/deliveries?limit=5000`)
  expect(response.status).toBe(400)
  expect(((await response.json()) as { message: string }).message).toBe(
    'limit: "5000" is not a whole number from 1 to 1000; page on with ?cursor=<nextCursor>, or take every record with ?format=ndjson.'
  )
})

test.each([
  ['?limit=3', 3],
  ['?limit=1000', 1000]
])('%s gives %i records', async (query, count) => {
  const view = await deliveries(query)
  expect(view.events).toHaveLength(count)
  expect(view.events[0].messageId).toBe('m-1200')
  expect(view.events[count - 1].messageId).toBe(`m-${1201 - count}`)
})
