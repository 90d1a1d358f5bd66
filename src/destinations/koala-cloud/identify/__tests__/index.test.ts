import nock from 'nock'
import { PayloadValidationError } from '@segment/actions-core'
import { toUtcIso } from '../../functions'
import {
  BAD_KEY,
  BATCH_PATH,
  ENTRY_CONTEXT,
  identify,
  koala,
  KOALA,
  LIBRARY,
  NO_PERSON,
  NO_PERSON_FIX,
  perform,
  SENT_AT,
  thrown
} from '../../__tests__/__helpers__/helpers'

describe('Identify', () => {
  it('sends an analytics-node identify as exactly this body, and returns Koala’s answer', async () => {
    const traits = {
      email: 'Jordan.Rivera@Acme.example.com',
      name: 'Jordan Rivera',
      plan: 'growth',
      company: { id: 'org_acme_551', name: 'Acme Analytics', employee_count: 120 }
    }
    const context = {
      ip: '203.0.113.24',
      locale: 'en-US',
      timezone: 'America/New_York',
      library: { name: '@segment/analytics-node', version: '3.1.0' }
    }
    const event = identify('jordan', {
      messageId: 'node-next-1796011027157-cefdc74e',
      timestamp: '2026-11-30T03:57:07.157Z',
      userId: 'usr_acme_1042',
      anonymousId: 'anon-7f3c',
      traits,
      context
    })
    const scope = nock(KOALA)
      .post(BATCH_PATH, {
        email: 'jordan.rivera@acme.example.com',
        ip: '203.0.113.24',
        traits,
        identifies: [
          {
            type: 'identify',
            message_id: 'node-next-1796011027157-cefdc74e',
            sent_at: '2026-11-30T03:57:07.157Z',
            traits,
            context: { ...context, source: 'segment-cloud' }
          }
        ]
      })
      .reply(200, { ok: true })
    const { responses, data } = await perform('identify', event)
    expect(scope.isDone()).toBe(true)
    expect(responses.map((response) => response.status)).toEqual([200])
    expect(data).toEqual({ ok: true })
  })

  it('sends an identify from analytics.js too (only track and page calls are skipped)', async () => {
    const received = koala()
    const context = { library: { name: 'analytics.js', version: 'npm:next-1.84.3' } }
    await perform('identify', identify('ann', { context }))
    expect(received.map((request) => request.body)).toEqual([
      {
        email: 'ann@example.com',
        traits: { email: 'ann@example.com' },
        identifies: [
          {
            type: 'identify',
            message_id: 'm-ann',
            sent_at: SENT_AT,
            traits: { email: 'ann@example.com' },
            context: { ...context, source: 'segment-cloud' }
          }
        ]
      }
    ])
  })

  describe('the person', () => {
    const personOf = async (change: Parameters<typeof identify>[1], mapping?: Record<string, unknown>) => {
      nock.cleanAll()
      const received = koala()
      await perform('identify', identify('ann', change), { mapping: mapping as never })
      expect(received).toHaveLength(1)
      const { email, profile_id, ip } = received[0].body
      return { email, profile_id, ip }
    }

    it.each([
      [
        'the Email field ($.traits.email), trimmed and lowercased',
        { traits: { email: ' Ann@Example.COM ' } },
        undefined
      ],
      ['$.email when the traits have none', { traits: {}, email: 'ANN@example.com' } as never, undefined],
      [
        'traits.email when the mapped Email field is not a bare address',
        { traits: { email: 'ann@example.com' } },
        { email: 'Ann <ann@example.com>' }
      ]
    ])('email: %s', async (_name, change, mapping) => {
      expect(await personOf(change, mapping)).toEqual({ email: 'ann@example.com' })
    })

    it('profile_id: traits.profile_id (default mapping), as text, with the email', async () => {
      expect(await personOf({ traits: { email: 'ann@example.com', profile_id: 42 } })).toEqual({
        email: 'ann@example.com',
        profile_id: '42'
      })
    })

    it('profile_id: the mapped field first, else traits.profile_id as the published destination read it', async () => {
      const traits = { profile_id: ' ko-traits ' }
      expect(await personOf({ traits }, { profile_id: 'ko-mapped' })).toEqual({ profile_id: 'ko-mapped' })
      expect(await personOf({ traits }, { profile_id: '' })).toEqual({ profile_id: 'ko-traits' })
    })

    it.each([
      ['traits.ip when it is an IP address, over context.ip', '2001:db8::7', '2001:db8::7'],
      ['context.ip when traits.ip is not an IP address', 'not-an-ip', '192.0.2.5'],
      ['context.ip when traits.ip is a number', 12345, '192.0.2.5']
    ])('ip: %s', async (_name, ip, expected) => {
      const change = { traits: { email: 'ann@example.com', ip }, context: { ...LIBRARY, ip: '192.0.2.5' } }
      expect(await personOf(change)).toEqual({ email: 'ann@example.com', ip: expected })
    })

    it('refuses an event with neither email nor profile_id, sending nothing', async () => {
      const received = koala()
      const error = await thrown(perform('identify', identify('ann', { traits: { plan: 'free' } })))
      expect(error).toBeInstanceOf(PayloadValidationError)
      expect(error.message).toBe(NO_PERSON + NO_PERSON_FIX)
      expect(received).toEqual([])
    })

    it('quotes an Email field that is not an address', async () => {
      const error = await thrown(perform('identify', identify('ann', { traits: { email: ' ann(at)example.com ' } })))
      expect(error.message).toBe(
        `${NO_PERSON} The Email field "ann(at)example.com" is not an email address.${NO_PERSON_FIX}`
      )
    })
  })

  describe('sent_at reaches Koala in UTC', () => {
    it.each([
      ['2026-11-30T12:00:00+02:00', '2026-11-30T10:00:00.000Z'],
      ['2026-11-30T10:00:00', '2026-11-30T10:00:00.000Z'],
      ['2026-11-30T05:00:00.5-05', '2026-11-30T10:00:00.500Z']
    ])('%s → %s', async (timestamp, sentAt) => {
      const received = koala()
      await perform('identify', identify('ann', { timestamp }))
      expect(received.map((request) => request.body.identifies)).toEqual([
        [
          {
            type: 'identify',
            message_id: 'm-ann',
            sent_at: sentAt,
            traits: { email: 'ann@example.com' },
            context: ENTRY_CONTEXT
          }
        ]
      ])
    })

    it('refuses a leap second, which no Date reads', async () => {
      const error = await thrown(perform('identify', identify('ann', { timestamp: '2016-12-31T23:59:60Z' })))
      expect(error).toBeInstanceOf(PayloadValidationError)
      expect(error.message).toBe(
        'The Sent At field "2016-12-31T23:59:60Z" is not a date Koala reads. Map it to $.timestamp.'
      )
    })

    it('refuses what the framework never lets through: a year past 9999, a number', () => {
      expect([toUtcIso('+010000-01-01T00:00:00Z'), toUtcIso(1764496800000)]).toEqual([undefined, undefined])
    })

    it('leaves a timestamp that is not a date to the framework, which names Sent At', async () => {
      const error = await thrown(perform('identify', identify('ann', { timestamp: 'yesterday' })))
      expect(error.message).toBe('Sent At must be a valid date and time string but it was not.')
    })
  })

  describe('settings and required fields', () => {
    it('trims the Public Key, and refuses one that could reach another path, sending nothing', async () => {
      const received = koala()
      await perform('identify', identify('ann'), { settings: { public_key: ' pk_test_123\n' } })
      expect(received.map((request) => request.path)).toEqual([BATCH_PATH])
      const error = await thrown(perform('identify', identify('ann'), { settings: { public_key: 'pk?x=1' } }))
      expect(error).toBeInstanceOf(PayloadValidationError)
      expect(error.message).toBe(BAD_KEY)
      const numeric = await thrown(perform('identify', identify('ann'), { settings: { public_key: 12345 } }))
      expect(numeric.message).toBe(BAD_KEY)
      expect(received).toHaveLength(1)
    })

    it('refuses an empty MessageId', async () => {
      const error = await thrown(perform('identify', identify('ann', { messageId: ' ' })))
      expect(error.message).toBe('The MessageId field is empty. Map it to the Segment messageId ($.messageId).')
    })
  })
})
