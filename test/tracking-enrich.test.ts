import { enrich, ingestFailure } from '../src/tracking/enrich'
import { routesOf } from '../src/tracking/pipeline'
import koalaCloud from '../src/destinations/koala-cloud'

// Segment's enrichment and ingest rules, on a fixed clock.

const receivedAt = new Date('2026-12-03T10:00:05.000Z')

test('timestamp is corrected for clock skew: receivedAt - (sentAt - originalTimestamp)', () => {
  // The device's clock is 1 hour behind; the call was made 2 s before it was sent.
  const call = { type: 'track', userId: 'u', event: 'E', timestamp: '2026-12-03T09:00:01.000Z', writeKey: 'k' }
  expect(enrich(call, { receivedAt, batch: { sentAt: '2026-12-03T09:00:03.000Z' }, clientSide: false })).toEqual({
    type: 'track',
    userId: 'u',
    event: 'E',
    timestamp: '2026-12-03T10:00:03.000Z',
    originalTimestamp: '2026-12-03T09:00:01.000Z',
    sentAt: '2026-12-03T09:00:03.000Z',
    receivedAt: '2026-12-03T10:00:05.000Z',
    messageId: expect.stringMatching(/^api-[0-9a-f-]{36}$/),
    context: {}
  })
})

test('without sentAt the client time stands; without any time, receivedAt; a messageId sent is kept', () => {
  const noSentAt = enrich(
    { type: 'identify', userId: 'u', originalTimestamp: '2026-12-03T09:00:01Z', messageId: 'm-1' },
    { receivedAt, clientSide: false }
  )
  expect(noSentAt).toMatchObject({ messageId: 'm-1', timestamp: '2026-12-03T09:00:01.000Z' })
  expect(enrich({ type: 'identify', userId: 'u' }, { receivedAt, clientSide: false }).timestamp).toBe(
    '2026-12-03T10:00:05.000Z'
  )
})

test("a batch's context and integrations apply to every item, the item's own keys winning; context.library kept", () => {
  const batch = {
    sentAt: '2026-12-03T10:00:05Z',
    context: { locale: 'fr-FR', app: { name: 'A' } },
    integrations: { All: false }
  }
  const event = enrich(
    {
      type: 'identify',
      userId: 'u',
      context: { locale: 'en-US', library: { name: 'x', version: '1' } },
      integrations: { Koala: true }
    },
    { receivedAt, batch, clientSide: false, ip: '10.0.0.9' }
  )
  expect(event.context).toEqual({ locale: 'en-US', app: { name: 'A' }, library: { name: 'x', version: '1' } })
  expect(event.integrations).toEqual({ All: false, Koala: true })
})

test('the IP is filled in for client-side calls and context.direct only, never over one sent', () => {
  const ip = (call: Record<string, unknown>, clientSide: boolean) =>
    (
      enrich({ type: 'identify', userId: 'u', ...call }, { receivedAt, clientSide, ip: '10.0.0.9' }).context as {
        ip?: string
      }
    ).ip
  expect(ip({}, true)).toBe('10.0.0.9')
  expect(ip({}, false)).toBeUndefined()
  expect(ip({ context: { direct: true } }, false)).toBe('10.0.0.9')
  expect(ip({ context: { ip: '203.0.113.1' } }, true)).toBe('203.0.113.1')
})

test.each([
  [{ type: 'screen', userId: 'u' }, undefined],
  [{ type: 'alias', userId: 'u', previousId: 'p' }, undefined],
  [{ type: 'alias', userId: 'u' }, 'id_required'],
  [{ type: 'page', anonymousId: '' }, 'no_user_anon_id'],
  [{ type: 'identify', userId: 'u', context: [] }, 'invalid_context'],
  [{ type: 'track', userId: 'u', event: 'E', properties: 3 }, 'invalid_properties'],
  [{ type: 'merge', userId: 'u' }, 'invalid_type']
])('ingest: %j -> %s', (call, code) => {
  expect(ingestFailure(call)?.code).toBe(code)
})

test("routes: the presets' subscriptions, and Page and Group (no preset) by their defaultSubscription", () => {
  expect(
    routesOf(koalaCloud).map(({ action, subscribe, source, batching, batchSize }) => [
      action,
      subscribe,
      source,
      batching,
      batchSize
    ])
  ).toEqual([
    ['track', 'type = "track"', 'preset', true, 1000],
    ['identify', 'type = "identify"', 'preset', true, 1000],
    ['page', 'type = "page"', 'defaultSubscription', true, 1000],
    ['group', 'type = "group"', 'defaultSubscription', true, 1000]
  ])
  const [track] = routesOf(koalaCloud, {
    mappings: { track: { enable_batching: false, event: { '@path': '$.name' } } }
  })
  expect(track).toMatchObject({ batching: false, mapping: { event: { '@path': '$.name' } } })
  expect(() => routesOf(koalaCloud, { mappings: { alias: {} } })).toThrow(
    '--config: "mappings" names the action "alias", which the destination does not have; its actions are identify, track, page, group.'
  )
})
