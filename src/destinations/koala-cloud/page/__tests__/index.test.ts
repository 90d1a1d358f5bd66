import { PayloadValidationError } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import {
  BATCH_PATH,
  ENTRY_CONTEXT,
  koala,
  LIBRARY,
  NO_PERSON,
  NO_PERSON_FIX,
  perform,
  performBatch,
  SENT_AT,
  thrown
} from '../../__tests__/__helpers__/helpers'

const page = (id: string, change: Partial<SegmentEvent> = {}): SegmentEvent => ({
  type: 'page',
  name: 'Pricing',
  messageId: `m-${id}`,
  timestamp: SENT_AT,
  userId: `usr-${id}`,
  properties: { url: 'https://www.example.com/pricing', path: '/pricing', title: 'Pricing' },
  context: { ...LIBRARY, traits: { email: `${id}@example.com` } },
  ...change
})
const entry = (id: string, extra: Record<string, unknown> = { name: 'Pricing' }) => ({
  type: 'page',
  message_id: `m-${id}`,
  sent_at: SENT_AT,
  ...extra,
  properties: { url: 'https://www.example.com/pricing', path: '/pricing', title: 'Pricing' },
  context: { ...ENTRY_CONTEXT, traits: { email: `${id}@example.com` } }
})

describe('Page', () => {
  it('sends a server-side page call as exactly this body: page_views on /batch', async () => {
    const received = koala()
    const event = page('ann', { context: { ...LIBRARY, ip: '203.0.113.24', traits: { email: 'Ann@Example.com' } } })
    const { data } = await perform('page', event)
    expect(data).toEqual({ ok: true })
    expect(received.map((request) => [request.path, request.body])).toEqual([
      [
        BATCH_PATH,
        {
          email: 'ann@example.com',
          ip: '203.0.113.24',
          traits: { email: 'Ann@Example.com' },
          page_views: [
            {
              type: 'page',
              message_id: 'm-ann',
              sent_at: SENT_AT,
              name: 'Pricing',
              properties: { url: 'https://www.example.com/pricing', path: '/pricing', title: 'Pricing' },
              context: { ...LIBRARY, ip: '203.0.113.24', traits: { email: 'Ann@Example.com' }, source: 'segment-cloud' }
            }
          ]
        }
      ]
    ])
  })

  it.each([
    ['no name', { name: undefined }],
    ['an empty name', { name: '  ' }]
  ])('leaves name out for %s', async (_name, change) => {
    const received = koala()
    await perform('page', page('ann', change))
    expect(received.map((request) => request.body.page_views)).toEqual([[entry('ann', {})]])
  })

  it('sends a page call identified by the Koala Profile ID alone', async () => {
    const received = koala()
    await perform('page', page('x', { context: { ...LIBRARY } }), { mapping: { profile_id: 'ko_7f3a9c' } })
    expect(received.map((request) => [request.body.profile_id, request.body.email, request.body.traits])).toEqual([
      ['ko_7f3a9c', undefined, {}]
    ])
  })

  it('skips a page call from analytics.js with its own message, sending nothing', async () => {
    const received = koala()
    const { data } = await perform(
      'page',
      page('ann', { context: { library: { name: 'analytics.js', version: '2' } } })
    )
    expect(received).toEqual([])
    expect(data).toEqual({
      skipped: true,
      message:
        'Skipped: this page call comes from analytics.js, and the Koala pixel in the browser records page views ' +
        'itself. Sending it again from Segment would count the page view twice in Koala.'
    })
  })

  it('refuses a page call that names no person', async () => {
    const error = await thrown(perform('page', page('ann', { context: { ...LIBRARY } })))
    expect(error).toBeInstanceOf(PayloadValidationError)
    expect(error.message).toBe(NO_PERSON + NO_PERSON_FIX)
  })

  it('batches page views by person', async () => {
    const received = koala()
    const multistatus = await performBatch('page', [page('ann'), page('bob'), page('ann', { messageId: 'm-ann-2' })])
    const ann = {
      email: 'ann@example.com',
      traits: { email: 'ann@example.com' },
      page_views: [entry('ann'), { ...entry('ann'), message_id: 'm-ann-2' }]
    }
    const bob = { email: 'bob@example.com', traits: { email: 'bob@example.com' }, page_views: [entry('bob')] }
    expect(received.map((request) => request.body)).toEqual([ann, bob])
    expect(multistatus).toEqual([
      { status: 200, sent: ann, body: { ok: true } },
      { status: 200, sent: bob, body: { ok: true } },
      { status: 200, sent: ann, body: { ok: true } }
    ])
  })
})
