import nock from 'nock'
import { createTestIntegration, defaultValues, Destination } from '@segment/actions-core'
import type { JSONObject } from '@segment/actions-core'
import destination from '../index'
import {
  BATCH_PATH,
  ENTRY_CONTEXT,
  identify,
  KEY,
  koala,
  KOALA,
  perform,
  PUBLIC_KEY_HELP,
  SENT_AT,
  thrown,
  track,
  USER_AGENT
} from './__helpers__/helpers'

// Koala (Cloud) replaces the published destination of the same name, under its registration id: saved settings and
// mappings must keep working. The published definition, written out (monorepo at 970a17ee8d,
// packages/destination-actions/src/destinations/koala/): every field key, with its type, requirement and default.
const ifExists = (first: string, second: string) => ({
  '@if': { exists: { '@path': first }, then: { '@path': first }, else: { '@path': second } }
})
const PUBLISHED = {
  identify: {
    email: { type: 'string', required: false, default: ifExists('$.traits.email', '$.email') },
    traits: { type: 'object', required: false, default: { '@path': '$.traits' } },
    sent_at: { type: 'string', required: true, default: { '@path': '$.timestamp' } },
    context: { type: 'object', required: false, default: { '@path': '$.context' } },
    device_ip: { type: 'string', required: false, default: { '@path': '$.context.ip' } },
    message_id: { type: 'string', required: true, default: { '@path': '$.messageId' } }
  },
  track: {
    email: { type: 'string', required: false, default: ifExists('$.traits.email', '$.email') },
    event: { type: 'string', required: true, default: { '@path': '$.event' } },
    properties: { type: 'object', required: false, default: { '@path': '$.properties' } },
    sent_at: { type: 'string', required: true, default: { '@path': '$.timestamp' } },
    context: { type: 'object', required: false, default: { '@path': '$.context' } },
    traits: { type: 'object', required: false, default: { '@path': '$.context.traits' } },
    device_ip: { type: 'string', required: false, default: { '@path': '$.context.ip' } },
    message_id: { type: 'string', required: true, default: { '@path': '$.messageId' } }
  }
} as const
/** Context with an ip: the saved mappings read a better one from the event. */
const LIBRARY_WITH_IP = { ip: '203.0.113.9', library: { name: '@segment/analytics-node', version: '3.1.0' } }

describe('the successor of the published Koala (Cloud)', () => {
  it('keeps its name, slug, mode and Public Key setting; the Secret Key it adds is optional', () => {
    expect({ name: destination.name, slug: destination.slug, mode: destination.mode }).toEqual({
      name: 'Koala (Cloud)',
      slug: 'actions-koala-cloud',
      mode: 'cloud'
    })
    expect(destination.authentication?.fields).toEqual({
      public_key: {
        label: 'Public Key',
        description: 'Your Koala Public Key, in Koala under Settings > Install.',
        type: 'password',
        required: true
      },
      secret_key: expect.objectContaining({ label: 'Secret Key', type: 'password', required: false })
    })
    // Saved settings hold only public_key.
    expect(() => new Destination(destination).validateSettings({ public_key: 'pk_saved_before' })).not.toThrow()
  })

  it('keeps its two automatic presets, with each action’s default mapping', () => {
    expect(destination.presets).toEqual([
      {
        name: 'Track Calls',
        subscribe: 'type = "track"',
        partnerAction: 'track',
        mapping: defaultValues(destination.actions.track.fields),
        type: 'automatic'
      },
      {
        name: 'Identify Calls',
        subscribe: 'type = "identify"',
        partnerAction: 'identify',
        mapping: defaultValues(destination.actions.identify.fields),
        type: 'automatic'
      }
    ])
    expect(Object.keys(destination.actions)).toEqual(['identify', 'track', 'page', 'group'])
  })

  describe.each(Object.entries(PUBLISHED))('%s', (actionKey, published) => {
    const action = destination.actions[actionKey]

    it.each(Object.entries(published))('keeps the field %s: same type, requirement and default', (key, field) => {
      expect(action.fields[key]).toMatchObject(field)
    })

    it('adds only optional fields', () => {
      const added = Object.entries(action.fields).filter(([key]) => !(key in published))
      expect(added.map(([key]) => key)).toEqual(['profile_id', 'enable_batching', 'batch_size'])
      expect(added.filter(([, field]) => field.required === true)).toEqual([])
    })
  })

  // A mapping saved with the published destination: its defaults, and none of the keys added since.
  const saved = (action: keyof typeof PUBLISHED): JSONObject =>
    Object.fromEntries(Object.entries(PUBLISHED[action]).map(([key, field]) => [key, field.default]))

  it('an Identify mapping saved before still sends the person, traits and ip (from traits.ip)', async () => {
    const received = koala()
    const event = identify('ann', {
      traits: { email: 'Ann@Example.com', ip: '198.51.100.7', profile_id: 'ko-ann' },
      context: { ...LIBRARY_WITH_IP }
    })
    await perform('identify', event, { mapping: saved('identify'), defaults: false })
    const traits = { email: 'Ann@Example.com', ip: '198.51.100.7', profile_id: 'ko-ann' }
    expect(received.map((request) => request.body)).toEqual([
      {
        email: 'ann@example.com',
        profile_id: 'ko-ann',
        ip: '198.51.100.7',
        traits,
        identifies: [
          {
            type: 'identify',
            message_id: 'm-ann',
            sent_at: SENT_AT,
            traits,
            context: { ...LIBRARY_WITH_IP, source: 'segment-cloud' }
          }
        ]
      }
    ])
  })

  it('a Track mapping saved before still reads email, profile_id and ip from the event properties', async () => {
    const received = koala()
    const properties = { email: ' Bo@Example.com ', profile_id: 'ko-bo', ip: '2001:db8::1', plan: 'pro' }
    const event = track('x', { properties, context: { ...LIBRARY_WITH_IP } })
    await perform('track', event, { mapping: saved('track'), defaults: false })
    expect(received.map((request) => request.body)).toEqual([
      {
        email: 'bo@example.com',
        profile_id: 'ko-bo',
        ip: '2001:db8::1',
        traits: {},
        events: [
          {
            type: 'track',
            event: 'Report Exported',
            message_id: 'm-x',
            sent_at: SENT_AT,
            properties,
            context: { ...LIBRARY_WITH_IP, source: 'segment-cloud' }
          }
        ]
      }
    ])
  })
})

describe('every request', () => {
  it('carries the User-Agent and JSON, and no other credential than the key in the path', async () => {
    const received = koala()
    await perform('identify', identify('ann'))
    expect(received).toHaveLength(1)
    expect(received[0].path).toBe(BATCH_PATH)
    const headers = received[0].headers
    expect([headers['user-agent'], headers['content-type']]).toEqual([USER_AGENT, 'application/json'])
    expect(Object.keys(headers).filter((name) => /authorization|cookie|key|token/i.test(name))).toEqual([])
    expect(received[0].body).toMatchObject({ identifies: [{ context: ENTRY_CONTEXT }] })
  })
})

describe('testAuthentication', () => {
  const testDestination = createTestIntegration(destination)
  const auth = () => nock(KOALA).get(`/web/projects/${KEY}/auth`)

  it('asks Koala GET /web/projects/{key}/auth with the User-Agent, and accepts its 200', async () => {
    const scope = auth().matchHeader('user-agent', USER_AGENT).reply(200, { ok: true })
    await expect(testDestination.testAuthentication({ public_key: ` ${KEY} ` })).resolves.toBeUndefined()
    expect(scope.isDone()).toBe(true)
  })

  it.each([401, 403, 404])('refuses a key Koala answers %s to', async (status) => {
    auth().reply(status, { error: 'unknown project' })
    const error = await thrown(testDestination.testAuthentication({ public_key: KEY }))
    expect(error.message).toBe(
      `Credentials are invalid:  Koala does not know this Public Key (${status}). ${PUBLIC_KEY_HELP}`
    )
  })

  it.each([
    ['a rate limit', (i: nock.Interceptor) => i.reply(429)],
    ['an outage', (i: nock.Interceptor) => i.reply(503)],
    ['a connection reset', (i: nock.Interceptor) => i.replyWithError({ code: 'ECONNRESET', message: 'hang up' })]
  ])('does not call %s a bad key', async (_name, reply) => {
    const scope = reply(auth())
    await expect(testDestination.testAuthentication({ public_key: KEY })).resolves.toBeUndefined()
    expect(scope.isDone()).toBe(true)
  })

  it('refuses an unsafe key without asking Koala', async () => {
    const error = await thrown(testDestination.testAuthentication({ public_key: 'pk/../other' }))
    expect(error.message).toBe(
      `Credentials are invalid:  The Public Key setting must be letters, digits, "_" and "-" only, and not empty. ${PUBLIC_KEY_HELP}`
    )
  })

  it('requires the public_key setting (the framework validates settings first)', async () => {
    const error = await thrown(testDestination.testAuthentication({} as never))
    expect(error.message).toBe("The root value is missing the required field 'public_key'.")
  })
})
