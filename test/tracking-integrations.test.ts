import type { JSONObject } from '@segment/actions-core'
import { FILTERED_BY_INTEGRATIONS_OBJECT, integrationsFilter } from '../src/tracking/integrations'
import { startRig, WRITE_KEY } from './support/tracking'
import type { TrackingRig } from './support/tracking'

// The Integrations object, as Segment honours it (segment-docs src/guides/filtering-data.md): an event that turns
// Koala (Cloud) off reaches no action and is recorded "filtered", reason FILTERED_BY_INTEGRATIONS_OBJECT (Delivery
// Overview's "Filtered at destination"), in /v1/deliveries and in the terminal's summary.

jest.setTimeout(30_000)

const NAME = 'Koala (Cloud)'
const OFF =
  'Filtered at destination: the event\'s integrations object sets "Koala (Cloud)" to false, so Segment does not ' +
  'send it to Koala (Cloud). Remove that flag to send events like this one.'
const ALL_OFF =
  'Filtered at destination: the event\'s integrations object sets "All" to false and does not name "Koala (Cloud)", ' +
  'so Segment does not send it to Koala (Cloud). Set "Koala (Cloud)" to true (or an object of options) to send ' +
  'events like this one.'

describe('integrationsFilter', () => {
  const filtered = (reason: string) => ({ code: FILTERED_BY_INTEGRATIONS_OBJECT, reason })
  it.each([
    ['no integrations object', undefined, undefined],
    ['an empty one', {}, undefined],
    ['All: true', { All: true }, undefined],
    ['the flag false', { [NAME]: false }, filtered(OFF)],
    ['All: true and the flag false (the flag wins)', { All: true, [NAME]: false }, filtered(OFF)],
    ['All: false', { All: false }, filtered(ALL_OFF)],
    ['All: false and another destination on', { All: false, Mixpanel: true }, filtered(ALL_OFF)],
    ['All: false and the flag true', { All: false, [NAME]: true }, undefined],
    ['All: false and the flag an object of options', { All: false, [NAME]: { region: 'eu' } }, undefined],
    ['the flag an object', { [NAME]: {} }, undefined],
    ['the flag in another case (flags are case sensitive)', { 'koala (cloud)': false }, undefined],
    ['All: false in another case', { all: false }, undefined],
    ['another destination off', { Mixpanel: false }, undefined],
    [
      'All: false and the flag null',
      { All: false, [NAME]: null },
      filtered(
        'Filtered at destination: the event\'s integrations object sets "All" to false and sets "Koala (Cloud)" to ' +
          'null, not true, so Segment does not send it to Koala (Cloud). Set "Koala (Cloud)" to true (or an object ' +
          'of options) to send events like this one.'
      )
    ]
  ] as [string, JSONObject | undefined, unknown][])('%s', (_name, integrations, expected) => {
    const event: JSONObject = { type: 'identify', userId: 'u', ...(integrations ? { integrations } : {}) }
    expect(integrationsFilter(event, NAME)).toEqual(expected)
  })

  it.each(['track', 'page', 'group', 'identify', 'screen'])('filters %s calls', (type) => {
    expect(integrationsFilter({ type, integrations: { All: false } }, NAME)).toEqual(filtered(ALL_OFF))
  })

  it('does not filter alias calls (the object filters track, page, group, identify and screen)', () => {
    expect(integrationsFilter({ type: 'alias', integrations: { All: false, [NAME]: false } }, NAME)).toBeUndefined()
  })
})

describe('through the Tracking API', () => {
  let rig: TrackingRig
  const lines: string[] = []
  beforeAll(async () => {
    rig = await startRig({ flushIntervalMs: 20, log: (line) => lines.push(line) })
  })
  afterAll(() => rig?.close())

  const identify = (messageId: string, integrations?: JSONObject) => ({
    type: 'identify',
    messageId,
    userId: messageId,
    traits: { email: `${messageId}@example.com` },
    ...(integrations ? { integrations } : {})
  })

  it('filters per event, merges a batch\'s integrations into each call, and counts "filtered" apart', async () => {
    const post = (path: string, body: object) =>
      fetch(`${rig.api.url}${path}`, { method: 'POST', body: JSON.stringify({ writeKey: WRITE_KEY, ...body }) })
    expect((await post('/v1/identify', identify('off', { [NAME]: false }))).status).toBe(200)
    expect((await post('/v1/i', identify('lower', { 'koala (cloud)': false }))).status).toBe(200)
    // The batch turns every destination off; one call turns Koala (Cloud) back on, another gives it options.
    const batch = {
      integrations: { All: false },
      batch: [
        identify('all-off'),
        identify('back-on', { [NAME]: true }),
        identify('options', { [NAME]: { any: 'option' } }),
        { type: 'alias', messageId: 'alias', userId: 'u', previousId: 'p' },
        { type: 'track', messageId: 'track-off', userId: 'u', event: 'E', properties: { profile_id: 'ko-1' } }
      ]
    }
    expect((await post('/v1/batch', batch)).status).toBe(200)
    await rig.api.pipeline.idle()
    const view = rig.api.pipeline.view()
    const records = view.events.reverse()
    expect(
      records.map(({ messageId, action, outcome, code, reason, attempts }) => [
        messageId,
        action,
        outcome,
        code,
        reason,
        attempts
      ])
    ).toEqual([
      ['off', undefined, 'filtered', FILTERED_BY_INTEGRATIONS_OBJECT, OFF, 0],
      ['lower', 'identify', 'delivered', undefined, undefined, 1],
      ['all-off', undefined, 'filtered', FILTERED_BY_INTEGRATIONS_OBJECT, ALL_OFF, 0],
      ['back-on', 'identify', 'delivered', undefined, undefined, 1],
      ['options', 'identify', 'delivered', undefined, undefined, 1],
      [
        'alias',
        undefined,
        'unsubscribed',
        undefined,
        expect.stringMatching(/^No action subscribes to alias events/),
        0
      ],
      ['track-off', undefined, 'filtered', FILTERED_BY_INTEGRATIONS_OBJECT, ALL_OFF, 0]
    ])
    // The filtered event is recorded as the destination would have received it: the batch's flags merged in.
    expect(records[2].payload.integrations).toEqual({ All: false })
    expect(view.counts).toEqual({
      total: { filtered: 3, delivered: 3, unsubscribed: 1 },
      byAction: { '(none)': { filtered: 3, unsubscribed: 1 }, identify: { delivered: 3 } }
    })
    // Koala received only the three delivered identifies.
    expect(rig.sandbox.received.map((body) => (body as { email: string }).email).sort()).toEqual([
      'back-on@example.com',
      'lower@example.com',
      'options@example.com'
    ])
    // Deliveries over HTTP say the same.
    const answer = (await (await fetch(`${rig.api.url}/v1/deliveries?limit=1`)).json()) as {
      events: { outcome: string; code: string }[]
    }
    expect(answer.events[0]).toMatchObject({ outcome: 'filtered', code: FILTERED_BY_INTEGRATIONS_OBJECT })
    // Filtered is no error: no line of its own, only the requests' (and the summary on close).
    expect(lines).toEqual([
      '[tracking] POST /v1/identify 200',
      '[tracking] POST /v1/i 200',
      '[tracking] POST /v1/batch 200',
      '[tracking] GET /v1/deliveries 200'
    ])
    const closing = rig.close()
    rig = undefined as unknown as TrackingRig
    await closing
    expect(lines.slice(-3)).toEqual([
      '[tracking] 7 events: 3 delivered, 3 filtered, 1 unsubscribed',
      '[tracking]   (no action): 3 filtered, 1 unsubscribed',
      '[tracking]   identify: 3 delivered'
    ])
  })
})
