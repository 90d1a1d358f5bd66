import { PayloadValidationError } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import {
  BATCH_PATH,
  EXPECTED_USER_AGENT,
  fixture,
  LIBRARY,
  NO_IDENTIFIER,
  recordKoala,
  runBatch,
  runEvent,
  SENT_AT,
  useNock
} from '../../__tests__/__helpers__/helpers'

useNock()

const PAGE_SKIP =
  'Skipped: this page call comes from analytics.js, and the Koala pixel in the browser records page views itself. ' +
  'Sending it again from Segment would count the page view twice in Koala.'

/** A real page call, as a server that knows the visitor sends it: with the person in `context.traits`. */
function knownVisitor(event: SegmentEvent, traits: Record<string, unknown>): SegmentEvent {
  return { ...event, context: { ...event.context, traits } }
}

/** Minimal page event. */
function pageEvent(messageId: string, email: string, extra: Partial<SegmentEvent> = {}): SegmentEvent {
  return {
    type: 'page',
    messageId,
    timestamp: SENT_AT,
    name: 'Pricing',
    properties: { url: 'https://www.example.com/pricing', path: '/pricing', title: 'Pricing' },
    context: { ...LIBRARY, traits: { email } },
    ...extra
  }
}

describe('Page: real Segment events', () => {
  it('sends an analytics-node page call as exactly the Koala body: page_views on /batch', async () => {
    const received = recordKoala()
    const event = knownVisitor(fixture('analytics-node.ndjson', 1), { email: 'Jordan.Rivera@acme.example.com' })

    const { output } = await runEvent('page', event)

    expect(output).toEqual({ ok: true })
    expect(received).toHaveLength(1)
    expect(received[0].path).toBe(BATCH_PATH)
    expect(received[0].headers['user-agent']).toBe(EXPECTED_USER_AGENT)
    expect(received[0].body).toStrictEqual({
      email: 'jordan.rivera@acme.example.com',
      ip: '203.0.113.24',
      traits: { email: 'Jordan.Rivera@acme.example.com' },
      page_views: [
        {
          type: 'page',
          message_id: 'node-next-1796011027097-b464a903-39ce-4dc7-8ed9-8b2761b0a856',
          sent_at: '2026-11-30T03:57:07.097Z',
          name: 'Getting Started',
          properties: {
            url: 'https://www.example.com/docs/getting-started?ref=hn',
            path: '/docs/getting-started',
            search: '?ref=hn',
            referrer: 'https://news.example.org/item?id=4242',
            title: 'Getting started | Example Docs',
            category: 'Docs'
          },
          context: {
            ip: '203.0.113.24',
            userAgent:
              'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
            locale: 'en-US',
            timezone: 'America/New_York',
            page: {
              url: 'https://www.example.com/docs/getting-started?ref=hn',
              path: '/docs/getting-started',
              search: '?ref=hn',
              referrer: 'https://news.example.org/item?id=4242',
              title: 'Getting started | Example Docs'
            },
            library: { name: '@segment/analytics-node', version: '3.1.0' },
            traits: { email: 'Jordan.Rivera@acme.example.com' },
            source: 'segment-cloud'
          }
        }
      ]
    })
  })

  it('sends a Segment-spec page call identified by Koala’s profile_id', async () => {
    const received = recordKoala()
    const event = fixture('spec-examples.ndjson', 3)
    await runEvent('page', event, { mapping: { profile_id: 'ko_7f3a9c' } })
    expect(received.map((request) => request.body)).toStrictEqual([
      {
        profile_id: 'ko_7f3a9c',
        ip: '203.0.113.12',
        traits: {},
        page_views: [
          {
            type: 'page',
            message_id: 'bb6e290c-2445-42cd-a823-921ae8aadf1d',
            sent_at: '2026-11-20T14:01:02.655Z',
            name: 'Home',
            properties: { title: 'Welcome | Example', url: 'https://www.example.com' },
            context: {
              ip: '203.0.113.12',
              userAgent:
                'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
              source: 'segment-cloud'
            }
          }
        ]
      }
    ])
  })

  it('refuses a real page call that names no person, with the no-identifier fix', async () => {
    const received = recordKoala()
    await expect(runEvent('page', fixture('analytics-node.ndjson', 7))).rejects.toThrow(
      new PayloadValidationError(NO_IDENTIFIER)
    )
    expect(received).toEqual([])
  })

  it('skips a page call from analytics.js, visibly, with its own message', async () => {
    const received = recordKoala()
    const event = knownVisitor(fixture('analytics-next-browser.ndjson', 10), { email: 'ann@example.com' })
    const { output } = await runEvent('page', event)
    expect(output).toEqual({ skipped: true, message: PAGE_SKIP })
    expect(received).toEqual([])
  })

  it('leaves name out when the page call has none (or an empty one)', async () => {
    const received = recordKoala()
    const unnamed = pageEvent('p1', 'ann@example.com')
    delete unnamed.name
    await runEvent('page', unnamed)
    await runEvent('page', pageEvent('p2', 'ann@example.com', { name: '  ' }))
    expect(received.map((request) => request.body.page_views)).toStrictEqual([
      [expect.not.objectContaining({ name: expect.anything() })],
      [expect.not.objectContaining({ name: expect.anything() })]
    ])
    expect(Object.keys((received[0].body.page_views as object[])[0])).toEqual([
      'type',
      'message_id',
      'sent_at',
      'properties',
      'context'
    ])
  })
})

describe('Page: performBatch', () => {
  it('groups page views by person: one request per person, up to 30 page views each', async () => {
    const received = recordKoala()
    const ann = Array.from({ length: 31 }, (_, i) => pageEvent(`a${i}`, 'ann@example.com'))
    const bob = pageEvent('b0', 'bob@example.com')
    const skipped = pageEvent('s0', 'ann@example.com', {
      context: { library: { name: 'analytics.js', version: '2.0.0' } }
    })

    const multistatus = await runBatch('page', [...ann, bob, skipped])

    expect(received.map((request) => [request.body.email, (request.body.page_views as object[]).length])).toEqual(
      expect.arrayContaining([
        ['ann@example.com', 30],
        ['ann@example.com', 1],
        ['bob@example.com', 1]
      ])
    )
    expect(received).toHaveLength(3)
    expect(multistatus.map((entry) => entry.status)).toEqual(Array(33).fill(200))
    expect(multistatus[32]).toStrictEqual({ status: 200, sent: {}, body: PAGE_SKIP })
  })
})
