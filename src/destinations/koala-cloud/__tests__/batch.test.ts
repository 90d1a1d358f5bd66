import nock from 'nock'
import type { JSONObject, SegmentEvent } from '@segment/actions-core'
import {
  expectBody,
  fixture,
  identifyEvent,
  LIBRARY,
  NO_IDENTIFIER,
  recordKoala,
  runBatch,
  runEvent,
  SENT_AT,
  SKIP_MESSAGE,
  trackEvent,
  useNock
} from './__helpers__/helpers'

useNock()

const OK = { ok: true }
/** An identify event of `identifyEvent`, optionally with a context.ip. */
function identify(messageId: string, traits: JSONObject, ip?: string): SegmentEvent {
  return identifyEvent(messageId, traits, ip ? { context: { ...LIBRARY, ip } } : {})
}

/** The `identifies` entry that `identify(messageId, traits, ip)` must become. */
function identifyEntry(messageId: string, traits: JSONObject, ip?: string): JSONObject {
  return {
    type: 'identify',
    message_id: messageId,
    sent_at: SENT_AT,
    traits,
    context: { ...LIBRARY, ...(ip ? { ip } : {}), source: 'segment-cloud' }
  }
}

/** The `events` entry that `trackEvent(messageId, event, properties, contextTraits)` must become. */
function trackEntry(messageId: string, event: string, properties: JSONObject, contextTraits: JSONObject): JSONObject {
  return {
    type: 'track',
    event,
    message_id: messageId,
    sent_at: SENT_AT,
    properties,
    context: { ...LIBRARY, traits: contextTraits, source: 'segment-cloud' }
  }
}

const success = (sent: JSONObject, body: JSONObject | string = OK) => ({ status: 200, sent, body })
const invalid = (errormessage: string) => ({
  status: 400,
  errortype: 'PAYLOAD_VALIDATION_FAILED',
  errormessage,
  errorreporter: 'INTEGRATIONS'
})

afterEach(() => {
  // Every expected request was made (nock's body matcher made sure each was exactly as expected).
  expect(nock.pendingMocks()).toEqual([])
})

describe('performBatch: one request per person', () => {
  it('groups by person, keeps each person’s order, and reports each payload at its own index', async () => {
    const events = [
      identify('a1', { email: 'ann@example.com', step: 1 }),
      identify('b1', { email: 'bob@example.com', step: 1 }),
      identify('a2', { email: 'ann@example.com', step: 2 }),
      identify('c1', { profile_id: 'ko_carol' }),
      identify('a3', { email: 'ann@example.com', step: 3 }),
      identify('b2', { email: 'bob@example.com', step: 2 })
    ]
    const ann = {
      email: 'ann@example.com',
      traits: { email: 'ann@example.com', step: 3 },
      identifies: [
        identifyEntry('a1', { email: 'ann@example.com', step: 1 }),
        identifyEntry('a2', { email: 'ann@example.com', step: 2 }),
        identifyEntry('a3', { email: 'ann@example.com', step: 3 })
      ]
    }
    const bob = {
      email: 'bob@example.com',
      traits: { email: 'bob@example.com', step: 2 },
      identifies: [
        identifyEntry('b1', { email: 'bob@example.com', step: 1 }),
        identifyEntry('b2', { email: 'bob@example.com', step: 2 })
      ]
    }
    const carol = {
      profile_id: 'ko_carol',
      traits: { profile_id: 'ko_carol' },
      identifies: [identifyEntry('c1', { profile_id: 'ko_carol' })]
    }
    expectBody(ann)
    expectBody(bob)
    expectBody(carol)

    expect(await runBatch('identify', events)).toStrictEqual([
      success(ann),
      success(bob),
      success(ann),
      success(carol),
      success(ann),
      success(bob)
    ])
  })

  it('merges top-level traits in order (later keys win) and keeps the latest non-empty ip', async () => {
    const events = [
      identify('m1', { email: 'ann@example.com', plan: 'free', seats: 1 }, '198.51.100.1'),
      identify('m2', { email: 'ann@example.com', plan: 'pro' }, '198.51.100.2'),
      // No ip at all, then an empty one: neither replaces the latest real ip.
      identify('m3', { email: 'ann@example.com', role: 'admin' }),
      { ...identify('m4', { email: 'ann@example.com' }), context: { ...LIBRARY, ip: '' } }
    ]
    const body = {
      email: 'ann@example.com',
      ip: '198.51.100.2',
      traits: { email: 'ann@example.com', plan: 'pro', seats: 1, role: 'admin' },
      identifies: [
        identifyEntry('m1', { email: 'ann@example.com', plan: 'free', seats: 1 }, '198.51.100.1'),
        identifyEntry('m2', { email: 'ann@example.com', plan: 'pro' }, '198.51.100.2'),
        identifyEntry('m3', { email: 'ann@example.com', role: 'admin' }),
        {
          ...identifyEntry('m4', { email: 'ann@example.com' }),
          context: { ...LIBRARY, ip: '', source: 'segment-cloud' }
        }
      ]
    }
    expectBody(body)
    expect(await runBatch('identify', events)).toStrictEqual([
      success(body),
      success(body),
      success(body),
      success(body)
    ])
  })

  it('treats emails differing only by case or whitespace as one person', async () => {
    const events = [
      identify('m1', { email: 'Jo@Example.com' }),
      identify('m2', { email: '  jo@example.com ' }),
      identify('m3', { email: 'JO@EXAMPLE.COM\t' })
    ]
    const body = {
      email: 'jo@example.com',
      traits: { email: 'JO@EXAMPLE.COM\t' },
      identifies: [
        identifyEntry('m1', { email: 'Jo@Example.com' }),
        identifyEntry('m2', { email: '  jo@example.com ' }),
        identifyEntry('m3', { email: 'JO@EXAMPLE.COM\t' })
      ]
    }
    expectBody(body)
    expect(await runBatch('identify', events)).toStrictEqual([success(body), success(body), success(body)])
  })

  it('never merges two different identities (email only, email + profile_id, profile_id only)', async () => {
    const events = [
      identify('m1', { email: 'ann@example.com' }),
      identify('m2', { email: 'ann@example.com', profile_id: 'ko_1' }),
      identify('m3', { profile_id: 'ko_1' }),
      identify('m4', { email: 'other@example.com', profile_id: 'ko_1' })
    ]
    const tops: { traits: JSONObject; [key: string]: JSONObject | string }[] = [
      { email: 'ann@example.com', traits: { email: 'ann@example.com' } },
      { profile_id: 'ko_1', email: 'ann@example.com', traits: { email: 'ann@example.com', profile_id: 'ko_1' } },
      { profile_id: 'ko_1', traits: { profile_id: 'ko_1' } },
      { profile_id: 'ko_1', email: 'other@example.com', traits: { email: 'other@example.com', profile_id: 'ko_1' } }
    ]
    const bodies = tops.map((top, i) => ({ ...top, identifies: [identifyEntry(`m${i + 1}`, top.traits)] }))
    bodies.forEach((body) => expectBody(body))
    expect(await runBatch('identify', events)).toStrictEqual(bodies.map((body) => success(body)))
  })

  it('sends a repeated event of one person once, both payloads succeed, and refuses a different event with its id', async () => {
    const refusal = (whose: string) => ({
      status: 400,
      errortype: 'PAYLOAD_VALIDATION_FAILED',
      errormessage:
        `The MessageId "dup" is already used by ${whose} in this batch, and Koala keeps only one event ` +
        'per message_id. Map the MessageId field to the Segment messageId ($.messageId), which is unique per event.',
      errorreporter: 'INTEGRATIONS'
    })
    const events = [
      identify('dup', { email: 'ann@example.com', v: 1 }),
      identify('other', { email: 'ann@example.com', v: 2 }),
      // Segment delivering the same event twice (keys in another order): the same event, so sent once, both succeed.
      identify('dup', { v: 1, email: 'ann@example.com' }),
      // The same id on a different event of the same person: Koala would keep only one of them.
      identify('dup', { email: 'ANN@example.com', v: 3 }),
      // The same id for another person: likewise refused.
      identify('dup', { email: 'bob@example.com', v: 4 })
    ]
    const ann = {
      email: 'ann@example.com',
      traits: { email: 'ann@example.com', v: 2 },
      identifies: [
        identifyEntry('dup', { email: 'ann@example.com', v: 1 }),
        identifyEntry('other', { email: 'ann@example.com', v: 2 })
      ]
    }
    expectBody(ann)
    expect(await runBatch('identify', events)).toStrictEqual([
      success(ann),
      success(ann),
      success(ann),
      refusal('a different event of the same person'),
      refusal("another person's event")
    ])
    expect(nock.pendingMocks()).toEqual([])
  })

  it('fails unidentified payloads alone and sends the identified ones (mixed batch)', async () => {
    const events = [
      identify('m1', { email: 'ann@example.com' }),
      identify('anon', { plan: 'free' }, '198.51.100.9'),
      identify('m2', { email: 'ann@example.com' }),
      identify('bad-email', { email: 'not-an-email' })
    ]
    const ann = {
      email: 'ann@example.com',
      traits: { email: 'ann@example.com' },
      identifies: [identifyEntry('m1', { email: 'ann@example.com' }), identifyEntry('m2', { email: 'ann@example.com' })]
    }
    expectBody(ann)
    expect(await runBatch('identify', events)).toStrictEqual([
      success(ann),
      invalid(NO_IDENTIFIER),
      success(ann),
      invalid(
        'Koala needs an email or a Koala profile_id to know who this event belongs to, and this event has neither.' +
          ' The Email field "not-an-email" is not an email address.' +
          ' Map the Email field (for example to $.traits.email or $.context.traits.email), or send the profile_id' +
          " from Koala's ko_id cookie in the Koala Profile ID field. Segment's anonymousId is not Koala's profile_id."
      )
    ])
  })

  it('keeps indexes right when the framework drops a payload that fails the field schema', async () => {
    const events = [
      identify('m1', { email: 'ann@example.com' }),
      { ...identify('m2', { email: 'ann@example.com' }), timestamp: 'not a date' },
      identify('m3', { email: 'ann@example.com' })
    ]
    const ann = {
      email: 'ann@example.com',
      traits: { email: 'ann@example.com' },
      identifies: [identifyEntry('m1', { email: 'ann@example.com' }), identifyEntry('m3', { email: 'ann@example.com' })]
    }
    expectBody(ann)
    expect(await runBatch('identify', events)).toStrictEqual([
      success(ann),
      invalid('Sent At must be a valid date and time string but it was not.'),
      success(ann)
    ])
  })
})

describe('performBatch: at most 30 entries per request', () => {
  /** One person's `count` identifies, and the bodies they must go out in (chunks of 30, in order). */
  function onePerson(count: number) {
    const traitsOf = (i: number) => ({ email: 'ann@example.com', seq: i })
    const events = Array.from({ length: count }, (_, i) => identify(`m${i}`, traitsOf(i)))
    const bodies: JSONObject[] = []
    for (let start = 0; start < count; start += 30) {
      const seqs = Array.from({ length: Math.min(30, count - start) }, (_, j) => start + j)
      bodies.push({
        email: 'ann@example.com',
        traits: traitsOf(seqs[seqs.length - 1]),
        identifies: seqs.map((i) => identifyEntry(`m${i}`, traitsOf(i)))
      })
    }
    return { events, bodies }
  }

  it.each([
    [29, [29]],
    [30, [30]],
    [31, [30, 1]],
    [61, [30, 30, 1]]
  ])('%i entries of one person go out as requests of %j entries', async (count, sizes) => {
    const { events, bodies } = onePerson(count)
    expect(bodies.map((body) => (body.identifies as unknown[]).length)).toEqual(sizes)
    bodies.forEach((body) => expectBody(body))

    const multistatus = await runBatch('identify', events)

    expect(multistatus).toStrictEqual(events.map((_, i) => success(bodies[Math.floor(i / 30)])))
  })

  it('chunks per person: 31 of one person and 2 of another make three requests', async () => {
    const { events: many, bodies } = onePerson(31)
    const bob = {
      email: 'bob@example.com',
      traits: { email: 'bob@example.com' },
      identifies: [identifyEntry('b1', { email: 'bob@example.com' }), identifyEntry('b2', { email: 'bob@example.com' })]
    }
    ;[...bodies, bob].forEach((body) => expectBody(body))
    const events = [identify('b1', { email: 'bob@example.com' }), ...many, identify('b2', { email: 'bob@example.com' })]
    expect(await runBatch('identify', events)).toStrictEqual([
      success(bob),
      ...many.map((_, i) => success(bodies[Math.floor(i / 30)])),
      success(bob)
    ])
  })
})

describe('performBatch: a failed request fails exactly its payloads', () => {
  const people = ['ann', 'bob', 'cat'].map((name) => ({
    events: [
      identify(`${name}-1`, { email: `${name}@example.com` }),
      identify(`${name}-2`, { email: `${name}@example.com` })
    ],
    body: {
      email: `${name}@example.com`,
      traits: { email: `${name}@example.com` },
      identifies: [
        identifyEntry(`${name}-1`, { email: `${name}@example.com` }),
        identifyEntry(`${name}-2`, { email: `${name}@example.com` })
      ]
    }
  }))
  const [ann, bob, cat] = people
  // Interleaved, so a wrong index mapping would show.
  const events = [ann.events[0], bob.events[0], cat.events[0], ann.events[1], bob.events[1], cat.events[1]]

  it('a 500 for one of three groups fails only that group’s indexes, retryable with Koala’s status', async () => {
    expectBody(ann.body)
    expectBody(bob.body, 500, { error: 'database unavailable' })
    expectBody(cat.body)
    const failed = {
      status: 500,
      errortype: 'INTERNAL_SERVER_ERROR',
      errormessage: 'Koala is temporarily unavailable (500): database unavailable.',
      sent: bob.body,
      body: { error: 'database unavailable' },
      errorreporter: 'DESTINATION'
    }
    expect(await runBatch('identify', events)).toStrictEqual([
      success(ann.body),
      failed,
      success(cat.body),
      success(ann.body),
      failed,
      success(cat.body)
    ])
  })

  it('a 400 for one group fails only that group, not retryable, with Koala’s reason', async () => {
    expectBody(ann.body)
    expectBody(bob.body)
    expectBody(cat.body, 400, { error: 'identifies[1].sent_at is in the future' })
    const failed = {
      status: 400,
      errortype: 'BAD_REQUEST',
      errormessage: 'Koala rejected the request (400): identifies[1].sent_at is in the future.',
      sent: cat.body,
      body: { error: 'identifies[1].sent_at is in the future' },
      errorreporter: 'DESTINATION'
    }
    expect(await runBatch('identify', events)).toStrictEqual([
      success(ann.body),
      success(bob.body),
      failed,
      success(ann.body),
      success(bob.body),
      failed
    ])
  })
})

describe('performBatch and perform share one path', () => {
  it.each([
    ['identify', fixture('analytics-node.ndjson', 3)],
    ['track', fixture('analytics-node.ndjson', 4)],
    ['identify', fixture('engage-audiences.ndjson', 1)],
    ['track', fixture('engage-audiences.ndjson', 8)]
  ] as const)('a %s batch of one sends exactly the body perform sends', async (action, event) => {
    const received = recordKoala()
    await runEvent(action, event)
    const multistatus = await runBatch(action, [event])

    expect(received).toHaveLength(2)
    expect(received[1].body).toStrictEqual(received[0].body)
    expect(received[1].headers['user-agent']).toBe(received[0].headers['user-agent'])
    expect(multistatus).toStrictEqual([success(received[0].body)])
  })

  it('refuses an empty-string message_id in a batch, as perform does (400, nothing sent for it)', async () => {
    const received = recordKoala()
    const empty = identify('', { email: 'ann@example.com' })
    // perform: the framework itself refuses it.
    await expect(runEvent('identify', empty)).rejects.toThrow(
      new Error("The root value is missing the required field 'message_id'.")
    )
    expect(received).toHaveLength(0)

    const multistatus = await runBatch('identify', [identify('m1', { email: 'ann@example.com' }), empty])
    const body = {
      email: 'ann@example.com',
      traits: { email: 'ann@example.com' },
      identifies: [identifyEntry('m1', { email: 'ann@example.com' })]
    }
    expect(received.map((r) => r.body)).toStrictEqual([body])
    expect(multistatus).toStrictEqual([
      success(body),
      invalid(
        'The MessageId field is empty. Map it to the Segment messageId ($.messageId): Koala uses it to de-duplicate events.'
      )
    ])
  })

  it('refuses an empty-string event name in a track batch, as perform does', async () => {
    const received = recordKoala()
    const empty = trackEvent('t2', '', {}, { email: 'ann@example.com' })
    await expect(runEvent('track', empty)).rejects.toThrow(
      new Error("The root value is missing the required field 'event'.")
    )
    const multistatus = await runBatch('track', [trackEvent('t1', 'Clicked', {}, { email: 'ann@example.com' }), empty])
    const body = {
      email: 'ann@example.com',
      traits: { email: 'ann@example.com' },
      events: [trackEntry('t1', 'Clicked', {}, { email: 'ann@example.com' })]
    }
    expect(received.map((r) => r.body)).toStrictEqual([body])
    expect(multistatus).toStrictEqual([
      success(body),
      invalid('The Event Name field is empty. Map it to the Segment event name ($.event).')
    ])
  })

  it('reports the analytics.js skip per payload and sends the rest', async () => {
    const browser = fixture('analytics-next-browser.ndjson', 8)
    const server = trackEvent('t1', 'Trial Started', { plan: 'growth' }, { email: 'ann@example.com' })
    const body = {
      email: 'ann@example.com',
      traits: { email: 'ann@example.com' },
      events: [trackEntry('t1', 'Trial Started', { plan: 'growth' }, { email: 'ann@example.com' })]
    }
    expectBody(body)
    expect(await runBatch('track', [browser, server, fixture('analytics-next-browser.ndjson', 2)])).toStrictEqual([
      { status: 200, sent: {}, body: SKIP_MESSAGE },
      success(body),
      { status: 200, sent: {}, body: SKIP_MESSAGE }
    ])
  })

  it('groups track events by person like identify, in their own events array', async () => {
    const events = [
      trackEvent('t1', 'A', { n: 1 }, { email: 'Ann@Example.com' }),
      trackEvent('t2', 'B', { n: 2 }, { profile_id: 'ko_9' }),
      trackEvent('t3', 'C', { n: 3 }, { email: 'ann@example.com', plan: 'pro' })
    ]
    const ann = {
      email: 'ann@example.com',
      traits: { email: 'ann@example.com', plan: 'pro' },
      events: [
        trackEntry('t1', 'A', { n: 1 }, { email: 'Ann@Example.com' }),
        trackEntry('t3', 'C', { n: 3 }, { email: 'ann@example.com', plan: 'pro' })
      ]
    }
    const ko9 = {
      profile_id: 'ko_9',
      traits: { profile_id: 'ko_9' },
      events: [trackEntry('t2', 'B', { n: 2 }, { profile_id: 'ko_9' })]
    }
    expectBody(ann)
    expectBody(ko9)
    expect(await runBatch('track', events)).toStrictEqual([success(ann), success(ko9), success(ann)])
  })

  it('fails every payload with the key’s reason, sending nothing, when the Public Key is unsafe', async () => {
    const anyHost = nock(/.*/).persist().post(/.*/).reply(200, OK)
    const message =
      'The Public Key setting may contain only letters, digits, "_" and "-". Check the Public Key setting: copy it from Koala under Settings > Install.'
    expect(
      await runBatch('identify', [identify('m1', { email: 'a@example.com' }), identify('m2', { plan: 'x' })], {
        settings: { public_key: 'pk/../admin' }
      })
    ).toStrictEqual([invalid(message), invalid(message)])
    expect(anyHost.isDone()).toBe(false)
    nock.cleanAll()
  })
})
