import nock from 'nock'
import { PayloadValidationError } from '@segment/actions-core'
import {
  BATCH_PATH,
  ENTRY_CONTEXT,
  koala,
  KOALA,
  LIBRARY,
  NO_PERSON,
  NO_PERSON_FIX,
  perform,
  SENT_AT,
  thrown,
  track
} from '../../__tests__/__helpers__/helpers'

const SKIPPED =
  'Skipped: this track event comes from analytics.js, and the Koala pixel in the browser already collects it. ' +
  'Sending it again from Segment would count it twice in Koala.'

describe('Track', () => {
  it('sends an analytics-node track as exactly this body, traits from context.traits', async () => {
    const context = {
      ip: '203.0.113.24',
      library: { name: '@segment/analytics-node', version: '3.1.0' },
      traits: { email: 'Jordan.Rivera@acme.example.com', plan: 'growth' }
    }
    const properties = { report: 'pipeline', format: 'csv', rows: 1200 }
    const event = track('jordan', {
      messageId: 'node-next-1796011030000-1b2c',
      event: 'Report Exported',
      timestamp: '2026-11-30T03:57:10.000Z',
      properties,
      context
    })
    const scope = nock(KOALA)
      .post(BATCH_PATH, {
        email: 'jordan.rivera@acme.example.com',
        ip: '203.0.113.24',
        traits: { email: 'Jordan.Rivera@acme.example.com', plan: 'growth' },
        events: [
          {
            type: 'track',
            event: 'Report Exported',
            message_id: 'node-next-1796011030000-1b2c',
            sent_at: '2026-11-30T03:57:10.000Z',
            properties,
            context: { ...context, source: 'segment-cloud' }
          }
        ]
      })
      .reply(200, { ok: true })
    const { data } = await perform('track', event)
    expect(scope.isDone()).toBe(true)
    expect(data).toEqual({ ok: true })
  })

  it('skips a track from analytics.js, saying why, and sends nothing', async () => {
    const received = koala()
    const context = { library: { name: 'analytics.js', version: '2.11.1' }, traits: { email: 'ann@example.com' } }
    const { responses, data } = await perform('track', track('ann', { context }))
    expect({ requests: received.length, responses: responses.length, data }).toEqual({
      requests: 0,
      responses: 0,
      data: { skipped: true, message: SKIPPED }
    })
  })

  describe('the person and the ip (the Email field, then properties, then context.traits)', () => {
    const sent = async (change: Parameters<typeof track>[1], mapping?: Record<string, unknown>) => {
      nock.cleanAll()
      const received = koala()
      await perform('track', track('ann', change), { mapping: mapping as never })
      expect(received).toHaveLength(1)
      const { email, profile_id, ip } = received[0].body
      return { email, profile_id, ip }
    }
    const withTraits = (traits: Record<string, unknown>) => ({ context: { ...LIBRARY, traits } })

    it('the Email field first (here mapped to $.traits.email), trimmed and lowercased', async () => {
      const change = { traits: { email: ' Top@Example.com' }, properties: { email: 'props@example.com' } }
      expect(await sent(change)).toEqual({ email: 'top@example.com' })
    })

    it('properties.email, as the published destination read it, before context.traits.email', async () => {
      const change = { properties: { email: 'Props@Example.com' }, ...withTraits({ email: 'ctx@example.com' }) }
      expect(await sent(change)).toEqual({ email: 'props@example.com' })
    })

    it('context.traits.email when nothing else is an address', async () => {
      const change = { properties: { email: 'nope' }, ...withTraits({ email: 'ctx@example.com' }) }
      expect(await sent(change)).toEqual({ email: 'ctx@example.com' })
    })

    it('properties.profile_id (default mapping) and properties.ip over context.ip', async () => {
      const change = {
        properties: { profile_id: 'ko-1', ip: ' 198.51.100.4 ' },
        context: { ...LIBRARY, ip: '192.0.2.1', traits: { email: 'ann@example.com' } }
      }
      expect(await sent(change)).toEqual({ email: 'ann@example.com', profile_id: 'ko-1', ip: '198.51.100.4' })
    })

    it('properties.profile_id read under a mapping whose Koala Profile ID is empty', async () => {
      const change = { properties: { profile_id: 'ko-1' }, ...withTraits({}) }
      expect(await sent(change, { profile_id: '' })).toEqual({ profile_id: 'ko-1' })
    })

    it('the Device IP when properties.ip is not an IP address', async () => {
      const change = {
        properties: { ip: '999.1.1.1' },
        context: { ...LIBRARY, ip: '192.0.2.1', traits: { email: 'ann@example.com' } }
      }
      expect(await sent(change)).toEqual({ email: 'ann@example.com', ip: '192.0.2.1' })
    })

    it('refuses a server-side track naming no person', async () => {
      const error = await thrown(perform('track', track('ann', { properties: {}, ...withTraits({}) })))
      expect(error).toBeInstanceOf(PayloadValidationError)
      expect(error.message).toBe(NO_PERSON + NO_PERSON_FIX)
    })
  })

  it('sends empty properties when the mapped Event properties resolve to nothing', async () => {
    const received = koala()
    await perform('track', track('ann'), {
      mapping: { properties: { '@path': '$.nothing' } }
    })
    expect(received.map((request) => request.body.events)).toEqual([
      [
        {
          type: 'track',
          event: 'Report Exported',
          message_id: 'm-ann',
          sent_at: SENT_AT,
          properties: {},
          context: { ...ENTRY_CONTEXT, traits: { email: 'ann@example.com' } }
        }
      ]
    ])
  })

  it('leaves a missing Event Name to the framework', async () => {
    const error = await thrown(perform('track', track('ann'), { mapping: { event: { '@path': '$.nothing' } } }))
    expect(error.message).toBe("The root value is missing the required field 'event'.")
  })
})
