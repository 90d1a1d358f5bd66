import nock from 'nock'
import { createTestEvent, PayloadValidationError } from '@segment/actions-core'
import destination from '../../index'
import {
  BATCH_PATH,
  EXPECTED_USER_AGENT,
  fixture,
  HELP,
  KEY,
  KOALA,
  newDestination,
  NO_IDENTIFIER,
  recordKoala,
  LIBRARY,
  NEITHER,
  FIX,
  runEvent,
  savedMapping,
  SENT_AT,
  sentBody,
  SETTINGS,
  SKIP_MESSAGE,
  trackEvent,
  useNock
} from '../../__tests__/__helpers__/helpers'

useNock()

const SKIPPED = { skipped: true, message: SKIP_MESSAGE }
/** Instead of createTestEvent's defaults, which read the clock once per field. */
const FIXED_TIMES = {
  timestamp: '2026-11-30T10:00:00.000Z',
  sentAt: '2026-11-30T10:00:00.000Z',
  receivedAt: '2026-11-30T10:00:00.000Z'
}

describe('Track: real Segment events', () => {
  it('sends an analytics-node track as exactly the Koala body, with our User-Agent and JSON', async () => {
    const received = recordKoala(200, { ok: true })

    const { output } = await runEvent('track', fixture('analytics-node.ndjson', 4))

    expect(output).toEqual({ ok: true })
    expect(received).toHaveLength(1)
    expect(received[0].path).toBe(BATCH_PATH)
    expect(received[0].headers['user-agent']).toBe(EXPECTED_USER_AGENT)
    expect(received[0].headers['content-type']).toBe('application/json')
    expect(received[0].body).toStrictEqual({
      email: 'jordan.rivera@acme.example.com',
      ip: '203.0.113.24',
      traits: { email: 'jordan.rivera@acme.example.com' },
      events: [
        {
          type: 'track',
          event: 'Trial Started',
          message_id: 'node-next-1796011027187-c74ed98b-2761-40a8-9615-ef3feb53fdab',
          sent_at: '2026-11-30T03:57:07.187Z',
          properties: {
            plan: 'growth',
            trial_days: 14,
            seats: 5,
            annual: false,
            coupon: null,
            mrr_estimate: 499.5,
            features: ['sso', 'api_access', 'slack_alerts'],
            source: {
              channel: 'organic',
              landing_page: '/pricing',
              utm: { source: 'newsletter', medium: 'email', campaign: 'fall_launch' }
            }
          },
          context: {
            ip: '203.0.113.24',
            userAgent:
              'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
            locale: 'en-US',
            timezone: 'America/New_York',
            traits: { email: 'jordan.rivera@acme.example.com' },
            library: { name: '@segment/analytics-node', version: '3.1.0' },
            source: 'segment-cloud'
          }
        }
      ]
    })
  })

  it('sends an Engage "Audience Entered" track (email in context.traits) with its boolean unchanged', async () => {
    const event = fixture('engage-audiences.ndjson', 4)
    const body = await sentBody('track', event)
    expect(body).toStrictEqual({
      email: 'jordan.rivera@acme.example.com',
      traits: { email: 'jordan.rivera@acme.example.com' },
      events: [
        {
          type: 'track',
          event: 'Audience Entered',
          message_id: 'personas_2UfHC8aXM4GMftws7WjOnR5nYcw',
          sent_at: '2026-11-03T14:20:00.000Z',
          properties: { audience_key: 'visited_pricing_3x_last_7_days', visited_pricing_3x_last_7_days: true },
          context: { ...event.context, source: 'segment-cloud' }
        }
      ]
    })
  })

  it('applies the defaults to a createTestEvent track through testAction', async () => {
    const received = recordKoala()
    const event = createTestEvent({
      messageId: 'msg-track-1',
      event: 'Report Exported',
      // Fixed times: createTestEvent's defaults read the clock once per field, so they may differ by a millisecond.
      timestamp: '2026-11-30T10:00:00.000Z',
      sentAt: '2026-11-30T10:00:00.000Z',
      receivedAt: '2026-11-30T10:00:00.000Z',
      properties: { format: 'csv', profile_id: 'ko_123' },
      context: { library: { name: 'analytics-python', version: '2.3.0' }, ip: '198.51.100.5' }
    })

    const responses = await newDestination().testAction('track', {
      event,
      settings: SETTINGS,
      useDefaultMappings: true
    })

    expect(responses).toHaveLength(1)
    expect(responses[0].status).toBe(200)
    expect(received[0].body).toStrictEqual({
      profile_id: 'ko_123',
      ip: '198.51.100.5',
      traits: {},
      events: [
        {
          type: 'track',
          event: 'Report Exported',
          message_id: 'msg-track-1',
          sent_at: '2026-11-30T10:00:00.000Z',
          properties: { format: 'csv', profile_id: 'ko_123' },
          context: {
            library: { name: 'analytics-python', version: '2.3.0' },
            ip: '198.51.100.5',
            source: 'segment-cloud'
          }
        }
      ]
    })
  })

  it('takes Traits from context.traits, not from top-level traits', async () => {
    const event = trackEvent(
      'm1',
      'Clicked',
      {},
      { email: 'ctx@example.com', plan: 'pro' },
      {
        traits: { plan: 'ignored', role: 'admin' }
      }
    )
    const body = await sentBody('track', event)
    expect(body.traits).toStrictEqual({ email: 'ctx@example.com', plan: 'pro' })
    expect(body.email).toBe('ctx@example.com')
  })
})

describe('Track: analytics.js events are skipped, visibly', () => {
  it.each([
    ['an anonymous browser track', 'analytics-next-browser.ndjson', 2],
    ['an identified browser track', 'analytics-next-browser.ndjson', 8],
    ['a spec track with email in context.traits', 'spec-examples.ndjson', 8]
  ])('skips %s with its message and sends nothing', async (_what, file, line) => {
    const received = recordKoala()
    const { output, responses } = await runEvent('track', fixture(file, line))
    expect(output).toStrictEqual(SKIPPED)
    expect(responses).toHaveLength(0)
    expect(received).toHaveLength(0)
  })

  it('shows the skip in testAction results (createTestEvent defaults to analytics.js)', async () => {
    const received = recordKoala()
    const testDestination = newDestination()
    const responses = await testDestination.testAction('track', {
      event: createTestEvent({
        ...FIXED_TIMES,
        context: { library: { name: 'analytics.js', version: '2.11.1' } }
      }),
      settings: SETTINGS,
      useDefaultMappings: true
    })
    expect(responses).toHaveLength(0)
    expect(received).toHaveLength(0)
    expect(testDestination.results).toContainEqual({ data: SKIPPED, output: 'Action Executed' })
  })
})

describe('Track: required fields and identity', () => {
  it.each([
    ['event', { event: undefined }, "The root value is missing the required field 'event'."],
    ['messageId', { messageId: undefined }, "The root value is missing the required field 'message_id'."],
    ['timestamp', { timestamp: undefined }, "The root value is missing the required field 'sent_at'."],
    ['event (empty)', { event: '' }, "The root value is missing the required field 'event'."]
  ])('a missing %s fails the framework validation naming the field', async (_name, change, message) => {
    const received = recordKoala()
    const event = { ...trackEvent('m1', 'Clicked', {}, { email: 'a@example.com' }), ...change }
    const error = await runEvent('track', event).catch((e: Error) => e)
    expect((error as Error).name).toBe('AggregateAjvError')
    expect((error as Error).message).toBe(message)
    expect(received).toHaveLength(0)
  })

  it('refuses a server-side track with no identifier (HTTP API "Invoice Paid") with the exact message', async () => {
    const received = recordKoala()
    const error = await runEvent('track', fixture('http-api.ndjson', 1)).catch((e: Error) => e)
    expect(error).toBeInstanceOf(PayloadValidationError)
    expect((error as Error).message).toBe(NO_IDENTIFIER)
    expect(received).toHaveLength(0)
  })

  it('trims and lowercases the email from the Email field', async () => {
    const event = trackEvent(
      'm1',
      'Clicked',
      {},
      {},
      {
        traits: { email: ' MiXeD@Example.COM ' }
      }
    )
    const body = await sentBody('track', event)
    expect(body.email).toBe('mixed@example.com')
  })

  it('falls back to the email inside the mapped Traits (context.traits)', async () => {
    const body = await sentBody('track', trackEvent('m1', 'Clicked', {}, { email: '\tCTX@Example.com' }))
    expect(body.email).toBe('ctx@example.com')
    expect(body.traits).toStrictEqual({ email: '\tCTX@Example.com' })
  })

  it.each([
    ['properties', { profile_id: 'ko_p' }, { profile_id: 'ko_ctx' }, 'ko_p'],
    ['context.traits', { plan: 'x' }, { profile_id: 'ko_ctx' }, 'ko_ctx']
  ])('defaults profile_id from %s', async (_from, properties, contextTraits, expected) => {
    const body = await sentBody('track', trackEvent('m1', 'Clicked', properties, contextTraits))
    expect(body.profile_id).toBe(expected)
    expect('email' in body).toBe(false)
  })

  it('sends ip only when present', async () => {
    const body = await sentBody('track', {
      ...fixture('analytics-node.ndjson', 15),
      context: { traits: { email: 'a@example.com' } }
    })
    expect('ip' in body).toBe(false)
  })

  it('converts a timestamp with an offset to UTC', async () => {
    const body = await sentBody(
      'track',
      trackEvent('m1', 'Clicked', {}, { email: 'a@example.com' }, { timestamp: '2026-11-30T23:30:00-02:00' })
    )
    expect((body.events as { sent_at: string }[])[0].sent_at).toBe('2026-12-01T01:30:00.000Z')
  })

  it('rejects a key with path characters before any request', async () => {
    const anyHost = nock(/.*/).persist().post(/.*/).reply(200, {})
    const error = await runEvent('track', trackEvent('m1', 'Clicked', {}, { email: 'a@example.com' }), {
      settings: { public_key: `${KEY}/../other` }
    }).catch((e: Error) => e)
    expect(error).toBeInstanceOf(PayloadValidationError)
    expect((error as Error).message).toBe(
      `The Public Key setting may contain only letters, digits, "_" and "-". ${HELP}`
    )
    expect(anyHost.isDone()).toBe(false)
  })

  it('reads KOALA_API_URL at call time', async () => {
    process.env.KOALA_API_URL = 'http://127.0.0.1:4011'
    const scope = nock('http://127.0.0.1:4011').post(BATCH_PATH).reply(200, { ok: true })
    await runEvent('track', trackEvent('m1', 'Clicked', {}, { email: 'a@example.com' }))
    expect(scope.isDone()).toBe(true)
  })
})

describe('Track: what the published destination read besides its fields (properties email, profile_id, ip)', () => {
  const KO_ID = '7f3c9a2e-4b1d-4e8f-9a6c-2d5b8e1f0a34'
  const saved = savedMapping('track')

  it('under a saved mapping, sends a track whose only email is properties.email to that person', async () => {
    const event = trackEvent('m1', 'Clicked', { email: ' Ann@Example.com ' }, {}, { context: { ...LIBRARY } })
    expect(await sentBody('track', event, saved, true)).toStrictEqual({
      email: 'ann@example.com',
      traits: {},
      events: [
        {
          type: 'track',
          event: 'Clicked',
          message_id: 'm1',
          sent_at: SENT_AT,
          properties: { email: ' Ann@Example.com ' },
          context: { ...LIBRARY, source: 'segment-cloud' }
        }
      ]
    })
  })

  it('under a saved mapping, sends properties.profile_id and properties.ip (over context.ip)', async () => {
    const event = trackEvent(
      'm1',
      'Clicked',
      { profile_id: KO_ID, ip: '198.51.100.20' },
      {},
      {
        context: { ...LIBRARY, ip: '10.0.0.5' }
      }
    )
    expect(await sentBody('track', event, saved, true)).toStrictEqual({
      profile_id: KO_ID,
      ip: '198.51.100.20',
      traits: {},
      events: [
        {
          type: 'track',
          event: 'Clicked',
          message_id: 'm1',
          sent_at: SENT_AT,
          properties: { profile_id: KO_ID, ip: '198.51.100.20' },
          context: { ...LIBRARY, ip: '10.0.0.5', source: 'segment-cloud' }
        }
      ]
    })
  })

  it.each([
    ['the Email field', { email: 'top@example.com' }, { email: 'props@example.com' }, 'top@example.com'],
    ['properties.email, before context.traits', {}, { email: 'props@example.com' }, 'props@example.com'],
    ['context.traits.email last', {}, { email: 'not an email' }, 'ctx@example.com']
  ])('takes the email from %s', async (_from, top, properties, expected) => {
    const event = { ...trackEvent('m1', 'Clicked', properties, { email: 'ctx@example.com' }), ...top }
    expect((await sentBody('track', event, saved, true)).email).toBe(expected)
  })

  it('a mapped Email field still wins over properties.email, and properties.email fills in when it is missing', async () => {
    const mapping = { email: { '@path': '$.properties.work_email' } }
    const both = trackEvent('m1', 'Clicked', { work_email: 'work@example.com', email: 'home@example.com' }, {})
    expect((await sentBody('track', both, mapping)).email).toBe('work@example.com')
    nock.cleanAll()
    const onlyEmail = trackEvent('m2', 'Clicked', { email: 'home@example.com' }, {})
    expect((await sentBody('track', onlyEmail, mapping)).email).toBe('home@example.com')
  })

  it('a mapped Koala Profile ID field still wins over properties.profile_id', async () => {
    const event = trackEvent('m1', 'Clicked', { profile_id: 'ko_props' }, { profile_id: 'ko_ctx' })
    const body = await sentBody('track', event, { profile_id: { '@path': '$.context.traits.profile_id' } })
    expect(body.profile_id).toBe('ko_ctx')
  })

  it.each([
    ['an empty string', ''],
    ['not a string', { v4: '198.51.100.20' }]
  ])('uses Device IP when properties.ip is %s', async (_what, ip) => {
    const event = trackEvent(
      'm1',
      'Clicked',
      { ip },
      { email: 'a@example.com' },
      {
        context: { ...LIBRARY, ip: '10.0.0.5', traits: { email: 'a@example.com' } }
      }
    )
    expect((await sentBody('track', event)).ip).toBe('10.0.0.5')
  })

  it('refuses a properties.email that is not an email, naming it', async () => {
    const received = recordKoala()
    const event = trackEvent('m1', 'Clicked', { email: 'Ann at Example' }, {}, { context: { ...LIBRARY } })
    await expect(runEvent('track', event)).rejects.toThrow(
      new PayloadValidationError(
        `${NEITHER} The email "Ann at Example" in the Event properties field is not an email address.${FIX}`
      )
    )
    expect(received).toHaveLength(0)
  })
})

describe('Destination definition and presets', () => {
  it('is Koala (Cloud), a cloud destination with a required password Public Key and an optional Secret Key', () => {
    expect({ name: destination.name, slug: destination.slug, mode: destination.mode }).toEqual({
      name: 'Koala (Cloud)',
      slug: 'actions-koala-cloud',
      mode: 'cloud'
    })
    expect(destination.authentication?.scheme).toBe('custom')
    expect(destination.authentication?.fields).toEqual({
      public_key: { label: 'Public Key', description: 'Your public key', type: 'password', required: true },
      secret_key: {
        label: 'Secret Key',
        description:
          'Needed only for deletion requests (GDPR/CCPA): a secret API key from Koala, Settings > API Keys. Koala ' +
          'deletes people by email, so it deletes those whose userId is their email. Events are sent with the ' +
          'Public Key alone.',
        type: 'password',
        required: false
      }
    })
  })

  const identityDefaults = {
    email: {
      '@if': {
        exists: { '@path': '$.traits.email' },
        then: { '@path': '$.traits.email' },
        else: { '@path': '$.email' }
      }
    },
    profile_id: {
      '@if': {
        exists: { '@path': '$.properties.profile_id' },
        then: { '@path': '$.properties.profile_id' },
        else: {
          '@if': {
            exists: { '@path': '$.traits.profile_id' },
            then: { '@path': '$.traits.profile_id' },
            else: { '@path': '$.context.traits.profile_id' }
          }
        }
      }
    }
  }
  const common = {
    sent_at: { '@path': '$.timestamp' },
    context: { '@path': '$.context' },
    device_ip: { '@path': '$.context.ip' },
    message_id: { '@path': '$.messageId' },
    enable_batching: true,
    batch_size: 1000
  }

  it('has the Track Calls preset with the Track action defaults', () => {
    expect(destination.presets).toContainEqual({
      name: 'Track Calls',
      subscribe: 'type = "track"',
      partnerAction: 'track',
      type: 'automatic',
      mapping: {
        ...identityDefaults,
        event: { '@path': '$.event' },
        properties: { '@path': '$.properties' },
        traits: { '@path': '$.context.traits' },
        ...common
      }
    })
  })

  it('has the Identify Calls preset with the Identify action defaults', () => {
    expect(destination.presets).toContainEqual({
      name: 'Identify Calls',
      subscribe: 'type = "identify"',
      partnerAction: 'identify',
      type: 'automatic',
      mapping: { ...identityDefaults, traits: { '@path': '$.traits' }, ...common }
    })
    expect(destination.presets).toHaveLength(2)
  })

  it('each preset mapping is exactly its action default for every field', () => {
    for (const preset of destination.presets ?? []) {
      if (preset.type !== 'automatic') throw new Error('only automatic presets are expected')
      const fields = destination.actions[preset.partnerAction].fields
      expect(Object.keys(preset.mapping ?? {}).sort()).toEqual(Object.keys(fields).sort())
      for (const [key, field] of Object.entries(fields)) expect(preset.mapping?.[key]).toEqual(field.default)
    }
  })

  it('Track has the catalog title, description, trigger and fields', () => {
    const { title, description, defaultSubscription, fields } = destination.actions.track
    expect({ title, description, defaultSubscription }).toEqual({
      title: 'Track',
      description: 'Send an Event to Koala.',
      defaultSubscription: 'type = "track"'
    })
    expect(fields.event).toMatchObject({ label: 'Event Name', type: 'string', required: true })
    expect(fields.properties).toMatchObject({ label: 'Event properties', type: 'object', required: false })
    expect(fields.traits).toMatchObject({
      label: 'Traits',
      description: 'Traits inherited from the context object',
      default: { '@path': '$.context.traits' }
    })
  })

  it('answers on the production host by default', async () => {
    const scope = nock(KOALA).post(BATCH_PATH).reply(200, { ok: true })
    await runEvent('track', trackEvent('m1', 'Clicked', {}, { email: 'a@example.com' }))
    expect(scope.isDone()).toBe(true)
  })
})
