import nock from 'nock'
import { createTestEvent, PayloadValidationError } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import destination from '../../index'
import {
  BATCH_PATH,
  EXPECTED_USER_AGENT,
  fixture,
  HELP,
  identifyEvent,
  KEY,
  KOALA,
  newDestination,
  NO_IDENTIFIER,
  LIBRARY,
  recordKoala,
  runEvent,
  savedMapping,
  SENT_AT,
  sentBody,
  SETTINGS,
  useNock
} from '../../__tests__/__helpers__/helpers'

useNock()

describe('Identify: real Segment events', () => {
  it('sends an analytics-node identify as exactly the Koala body, with our User-Agent and JSON', async () => {
    const event = fixture('analytics-node.ndjson', 3)
    const received = recordKoala(200, { ok: true })

    const { output } = await runEvent('identify', event)

    expect(output).toEqual({ ok: true })
    expect(received).toHaveLength(1)
    expect(received[0].path).toBe(BATCH_PATH)
    expect(received[0].headers['user-agent']).toBe(EXPECTED_USER_AGENT)
    expect(received[0].headers['content-type']).toBe('application/json')
    const traits = {
      email: 'jordan.rivera@acme.example.com',
      name: 'Jordan Rivera',
      firstName: 'Jordan',
      lastName: 'Rivera',
      title: 'Head of Growth',
      phone: '+1-202-555-0143',
      plan: 'growth',
      logins: 1,
      created_at: '2024-09-12T15:04:05.000Z',
      company: {
        id: 'org_acme_551',
        name: 'Acme Analytics',
        industry: 'Software',
        employee_count: 120,
        plan: 'growth'
      },
      address: { street: '100 Example Ave', city: 'Springfield', state: 'IL', postalCode: '62701', country: 'USA' },
      marketing_opt_in: true
    }
    expect(received[0].body).toStrictEqual({
      email: 'jordan.rivera@acme.example.com',
      ip: '203.0.113.24',
      traits,
      identifies: [
        {
          type: 'identify',
          message_id: 'node-next-1796011027157-cefdc74e-d98b-4761-b0a8-5615ef3feb53',
          sent_at: '2026-11-30T03:57:07.157Z',
          traits,
          context: {
            ip: '203.0.113.24',
            userAgent:
              'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
            locale: 'en-US',
            timezone: 'America/New_York',
            library: { name: '@segment/analytics-node', version: '3.1.0' },
            source: 'segment-cloud'
          }
        }
      ]
    })
  })

  it('sends an HTTP API identify without context: no ip key, context carries only the source', async () => {
    const body = await sentBody('identify', fixture('http-api.ndjson', 2))
    expect(body).toStrictEqual({
      email: 'pat.morgan@hooli.example.com',
      traits: { email: 'pat.morgan@hooli.example.com', name: 'Pat Morgan', billing_role: 'owner' },
      identifies: [
        {
          type: 'identify',
          message_id: 'billing-identify-usr_api_1001-1',
          sent_at: '2026-11-29T18:22:11.000Z',
          traits: { email: 'pat.morgan@hooli.example.com', name: 'Pat Morgan', billing_role: 'owner' },
          context: { source: 'segment-cloud' }
        }
      ]
    })
    expect('ip' in body).toBe(false)
  })

  it('does not skip identify calls from analytics.js (only track calls are skipped)', async () => {
    const event = fixture('analytics-next-browser.ndjson', 7)
    const body = await sentBody('identify', event)
    expect(body.email).toBe('alex.kim@initech.example.com')
    expect(body.ip).toBe('203.0.113.41')
    expect(body.identifies).toStrictEqual([
      {
        type: 'identify',
        message_id: event.messageId,
        sent_at: '2026-11-30T03:57:19.740Z',
        traits: event.traits,
        context: { ...event.context, source: 'segment-cloud' }
      }
    ])
  })

  it('applies the defaults to a createTestEvent identify through testAction', async () => {
    const received = recordKoala()
    const testDestination = newDestination()
    const event = createTestEvent({
      type: 'identify',
      messageId: 'msg-test-1',
      // Fixed times: createTestEvent's defaults read the clock once per field, so they may differ by a millisecond.
      timestamp: '2026-11-30T10:00:00.000Z',
      sentAt: '2026-11-30T10:00:00.000Z',
      receivedAt: '2026-11-30T10:00:00.000Z',
      traits: { email: 'Jane.Doe@Example.com', plan: 'pro' }
    })

    const responses = await testDestination.testAction('identify', {
      event,
      settings: SETTINGS,
      useDefaultMappings: true
    })

    expect(responses).toHaveLength(1)
    expect(responses[0].status).toBe(200)
    expect(responses[0].url).toBe(`${KOALA}${BATCH_PATH}`)
    expect(received[0].body).toStrictEqual({
      email: 'jane.doe@example.com',
      ip: '8.8.8.8',
      traits: { email: 'Jane.Doe@Example.com', plan: 'pro' },
      identifies: [
        {
          type: 'identify',
          message_id: 'msg-test-1',
          sent_at: '2026-11-30T10:00:00.000Z',
          traits: { email: 'Jane.Doe@Example.com', plan: 'pro' },
          context: { ...event.context, source: 'segment-cloud' }
        }
      ]
    })
  })
})

describe('Identify: required fields and identity', () => {
  it.each([
    ['messageId', { messageId: undefined }, "The root value is missing the required field 'message_id'."],
    ['timestamp', { timestamp: undefined }, "The root value is missing the required field 'sent_at'."],
    [
      'both',
      { messageId: undefined, timestamp: undefined },
      "The root value is missing the required field 'sent_at'. The root value is missing the required field 'message_id'."
    ]
  ])('a missing %s fails the framework validation naming the field', async (_name, change, message) => {
    const received = recordKoala()
    const event = { ...identifyEvent('m1', { email: 'a@example.com' }), ...change } as SegmentEvent
    const error = await runEvent('identify', event).catch((e: Error) => e)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).name).toBe('AggregateAjvError')
    expect((error as Error).message).toBe(message)
    expect(received).toHaveLength(0)
  })

  it('refuses an event with neither email nor profile_id with the exact PayloadValidationError, sending nothing', async () => {
    const received = recordKoala()
    // Engage's anonymous profile: anonymousId only, no email.
    const error = await runEvent('identify', fixture('engage-audiences.ndjson', 6)).catch((e: Error) => e)
    expect(error).toBeInstanceOf(PayloadValidationError)
    expect((error as PayloadValidationError).status).toBe(400)
    expect((error as Error).message).toBe(NO_IDENTIFIER)
    expect(received).toHaveLength(0)
  })

  it('says so when the Email field holds something that is not an email', async () => {
    const error = await runEvent('identify', identifyEvent('m1', { email: 'jordan at acme' })).catch((e: Error) => e)
    expect(error).toBeInstanceOf(PayloadValidationError)
    expect((error as Error).message).toBe(
      'Koala needs an email or a Koala profile_id to know who this event belongs to, and this event has neither.' +
        ' The Email field "jordan at acme" is not an email address.' +
        ' Map the Email field (for example to $.traits.email or $.context.traits.email), or send the profile_id' +
        " from Koala's ko_id cookie in the Koala Profile ID field. Segment's anonymousId is not Koala's profile_id."
    )
  })

  it('trims and lowercases the email at the top level, leaving the traits as sent', async () => {
    const body = await sentBody('identify', identifyEvent('m1', { email: '  Jordan.Rivera@ACME.Example.com \t' }))
    expect(body.email).toBe('jordan.rivera@acme.example.com')
    expect(body.traits).toStrictEqual({ email: '  Jordan.Rivera@ACME.Example.com \t' })
  })

  it('uses the top-level $.email when traits carry none', async () => {
    const body = await sentBody('identify', {
      ...identifyEvent('m1', { plan: 'pro' }),
      email: 'Top@Example.com'
    } as SegmentEvent)
    expect(body.email).toBe('top@example.com')
  })

  it('falls back to traits.email when the mapped Email field is missing', async () => {
    const body = await sentBody('identify', identifyEvent('m1', { email: 'trait@example.com' }), {
      email: { '@path': '$.properties.nothing_here' }
    })
    expect(body.email).toBe('trait@example.com')
  })

  it('falls back to traits.email when the mapped Email field is not an email', async () => {
    const event = { ...identifyEvent('m1', { email: 'trait@example.com' }), properties: { contact: 'n/a' } }
    const body = await sentBody('identify', event, { email: { '@path': '$.properties.contact' } })
    expect(body.email).toBe('trait@example.com')
  })

  it.each([
    ['properties', { properties: { profile_id: 'ko_props' }, traits: { profile_id: 'ko_traits' } }, 'ko_props'],
    ['traits', { traits: { profile_id: 'ko_traits' }, context: { traits: { profile_id: 'ko_ctx' } } }, 'ko_traits'],
    ['context.traits', { traits: {}, context: { traits: { profile_id: 'ko_ctx' } } }, 'ko_ctx']
  ])('defaults profile_id from %s (in that order of preference)', async (_from, change, expected) => {
    const event = { ...identifyEvent('m1', {}), ...change } as SegmentEvent
    const body = await sentBody('identify', event)
    expect(body.profile_id).toBe(expected)
    expect('email' in body).toBe(false)
  })

  it("never uses Segment's anonymousId or userId as Koala's profile_id", async () => {
    const received = recordKoala()
    const event = identifyEvent('m1', { plan: 'pro' }, { anonymousId: 'anon-1', userId: 'usr_1' })
    await expect(runEvent('identify', event)).rejects.toThrow(new PayloadValidationError(NO_IDENTIFIER))
    expect(received).toHaveLength(0)
  })

  it('sends both identifiers when both are known', async () => {
    const body = await sentBody('identify', identifyEvent('m1', { email: 'a@example.com', profile_id: 'ko_1' }))
    expect(body.profile_id).toBe('ko_1')
    expect(body.email).toBe('a@example.com')
  })

  it('sends ip only when the event has one', async () => {
    const withIp = await sentBody(
      'identify',
      identifyEvent('m1', { email: 'a@example.com' }, { context: { ip: '198.51.100.7' } })
    )
    expect(withIp.ip).toBe('198.51.100.7')
    nock.cleanAll()
    // analytics-node line 14: no context.ip.
    const withoutIp = await sentBody('identify', {
      ...fixture('analytics-node.ndjson', 14),
      traits: { email: 'a@example.com' }
    })
    expect('ip' in withoutIp).toBe(false)
  })
})

describe('Identify: what the published destination read besides its fields (traits profile_id, ip)', () => {
  const KO_ID = '7f3c9a2e-4b1d-4e8f-9a6c-2d5b8e1f0a34'
  const saved = savedMapping('identify')

  it('under a saved mapping, sends traits.profile_id and traits.ip (over context.ip)', async () => {
    const traits = { profile_id: KO_ID, ip: '198.51.100.21', plan: 'pro' }
    const event = identifyEvent('m1', traits, { context: { ...LIBRARY, ip: '10.0.0.5' } })
    expect(await sentBody('identify', event, saved, true)).toStrictEqual({
      profile_id: KO_ID,
      ip: '198.51.100.21',
      traits,
      identifies: [
        {
          type: 'identify',
          message_id: 'm1',
          sent_at: SENT_AT,
          traits,
          context: { ...LIBRARY, ip: '10.0.0.5', source: 'segment-cloud' }
        }
      ]
    })
  })

  it('a mapped Koala Profile ID field still wins over traits.profile_id', async () => {
    const event = identifyEvent('m1', { profile_id: 'ko_traits' }, { context: { traits: { profile_id: 'ko_ctx' } } })
    const body = await sentBody('identify', event, { profile_id: { '@path': '$.context.traits.profile_id' } })
    expect(body.profile_id).toBe('ko_ctx')
  })

  it.each([
    ['absent', {}, '10.0.0.5'],
    ['an empty string', { ip: ' ' }, '10.0.0.5'],
    ['given', { ip: '198.51.100.21' }, '198.51.100.21']
  ])('sends Device IP unless traits.ip is given (%s)', async (_what, ip, expected) => {
    const event = identifyEvent('m1', { email: 'a@example.com', ...ip }, { context: { ...LIBRARY, ip: '10.0.0.5' } })
    expect((await sentBody('identify', event)).ip).toBe(expected)
  })
})

describe('Identify: sent_at reaches Koala in UTC', () => {
  const originalTz = process.env.TZ
  // A zone far from UTC, so reading a zone-less time as local time would show.
  beforeAll(() => {
    process.env.TZ = 'America/Chicago'
  })
  afterAll(() => {
    process.env.TZ = originalTz
  })

  it.each([
    ['2026-11-30T10:00:00.000Z', '2026-11-30T10:00:00.000Z'],
    ['2026-11-30T10:00:00+02:00', '2026-11-30T08:00:00.000Z'],
    ['2026-11-30T10:00:00-0530', '2026-11-30T15:30:00.000Z'],
    ['2026-11-30T01:00:00+03', '2026-11-29T22:00:00.000Z'],
    ['2026-11-30T10:00:00', '2026-11-30T10:00:00.000Z'],
    ['2026-11-30T10:00:00.5', '2026-11-30T10:00:00.500Z'],
    ['2026-11-30 10:00:00', '2026-11-30T10:00:00.000Z'],
    ['2026-11-30 10:00:00+01:00', '2026-11-30T09:00:00.000Z'],
    ['2026-11-30t10:00:00z', '2026-11-30T10:00:00.000Z'],
    ['2026-11-01T06:00:12.345735111Z', '2026-11-01T06:00:12.345Z']
  ])('%s becomes %s', async (timestamp, expected) => {
    const body = await sentBody('identify', identifyEvent('m1', { email: 'a@example.com' }, { timestamp }))
    expect((body.identifies as { sent_at: string }[])[0].sent_at).toBe(expected)
  })

  it('a timestamp that is not a date is refused by the framework naming Sent At', async () => {
    const error = await runEvent(
      'identify',
      identifyEvent('m1', { email: 'a@example.com' }, { timestamp: 'yesterday' })
    )
      .then(() => undefined)
      .catch((e: Error) => e)
    expect(error?.message).toBe('Sent At must be a valid date and time string but it was not.')
  })
})

describe('Identify: where requests go', () => {
  it('reads KOALA_API_URL at call time, without a trailing slash', async () => {
    process.env.KOALA_API_URL = 'http://127.0.0.1:4010/koala-staging/'
    const scope = nock('http://127.0.0.1:4010').post(`/koala-staging${BATCH_PATH}`).reply(200, { ok: true })
    const { output } = await runEvent('identify', identifyEvent('m1', { email: 'a@example.com' }))
    expect(output).toEqual({ ok: true })
    expect(scope.isDone()).toBe(true)

    delete process.env.KOALA_API_URL
    const production = nock(KOALA).post(BATCH_PATH).reply(200, { ok: true })
    await runEvent('identify', identifyEvent('m2', { email: 'a@example.com' }))
    expect(production.isDone()).toBe(true)
  })

  it('trims whitespace pasted around the key', async () => {
    const received = recordKoala()
    await runEvent('identify', identifyEvent('m1', { email: 'a@example.com' }), {
      settings: { public_key: `  ${KEY}\n` }
    })
    expect(received.map((r) => r.path)).toEqual([BATCH_PATH])
  })

  const UNSAFE = `The Public Key setting may contain only letters, digits, "_" and "-". ${HELP}`
  it.each([
    ['a slash', 'pk/../../admin', UNSAFE],
    ['a query', 'pk_1?admin=1', UNSAFE],
    ['a fragment', 'pk_1#x', UNSAFE],
    ['a percent escape', 'pk%2F..%2Fadmin', UNSAFE],
    ['inner whitespace', 'pk 1', UNSAFE],
    ['a tab', 'pk\t1', UNSAFE],
    ['dot-dot', '..', UNSAFE],
    ['dots inside', 'pk..1', UNSAFE],
    ['an at sign (userinfo)', 'x@evil.example.com', UNSAFE],
    ['a backslash', 'pk\\..\\x', UNSAFE],
    ['nothing', '', `The Public Key setting is empty. ${HELP}`],
    ['only spaces', '   ', `The Public Key setting is empty. ${HELP}`]
  ])('rejects a key with %s before any request', async (_what, key, message) => {
    const anyHost = nock(/.*/).persist().post(/.*/).reply(200, { ok: true })
    const error = await runEvent('identify', identifyEvent('m1', { email: 'a@example.com' }), {
      settings: { public_key: key }
    }).catch((e: Error) => e)
    expect(error).toBeInstanceOf(PayloadValidationError)
    expect((error as Error).message).toBe(message)
    expect(anyHost.isDone()).toBe(false)
  })
})

describe('Identify: definition', () => {
  it('has the catalog fields with the defaults the issue lists', () => {
    const { fields, title, description, defaultSubscription } = destination.actions.identify
    expect({ title, description, defaultSubscription }).toEqual({
      title: 'Identify',
      description: 'Send an Identify call to Koala.',
      defaultSubscription: 'type = "identify"'
    })
    expect(Object.keys(fields)).toEqual([
      'email',
      'profile_id',
      'traits',
      'sent_at',
      'context',
      'device_ip',
      'message_id',
      'enable_batching',
      'batch_size'
    ])
    expect(fields.traits).toMatchObject({
      label: 'Traits',
      description: 'Traits to associate with the user',
      type: 'object',
      default: { '@path': '$.traits' }
    })
    expect(fields.sent_at).toMatchObject({ type: 'string', format: 'date-time', required: true })
    expect(fields.message_id).toMatchObject({ label: 'MessageId', required: true, default: { '@path': '$.messageId' } })
    expect(fields.profile_id).toMatchObject({ label: 'Koala Profile ID', type: 'string', required: false })
  })
})
