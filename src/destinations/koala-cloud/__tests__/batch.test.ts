import nock from 'nock'
import type { JSONObject } from '@segment/actions-core'
import {
  BAD_KEY,
  ENTRY_CONTEXT,
  identify,
  identifyBody,
  koala,
  LIBRARY,
  NO_PERSON,
  NO_PERSON_FIX,
  performBatch,
  SENT_AT,
  track
} from './__helpers__/helpers'

// performBatch (testBatchAction): one Koala request per person (Group: per company) per 30 entries, and one
// multistatus entry per event at its own index.

const OK = { ok: true }
const entry = (messageId: string, traits: JSONObject, context: JSONObject = ENTRY_CONTEXT) => ({
  type: 'identify',
  message_id: messageId,
  sent_at: SENT_AT,
  traits,
  context
})
const success = (sent: JSONObject, body: unknown = OK) => ({ status: 200, sent, body })
const invalid = (errormessage: string) => ({
  status: 400,
  errortype: 'PAYLOAD_VALIDATION_FAILED',
  errormessage,
  errorreporter: 'INTEGRATIONS'
})
const bodiesOf = (received: { body: JSONObject }[]) => received.map((request) => request.body)

describe('performBatch: one request per person, in order', () => {
  it('groups by person (email, whatever its case), merges traits in order and keeps the latest ip', async () => {
    const received = koala()
    const events = [
      identify('ann', {
        traits: { email: 'ann@example.com', plan: 'free', seats: 1 },
        context: { ...LIBRARY, ip: '192.0.2.1' }
      }),
      identify('bob'),
      identify('ann', { messageId: 'm-ann-2', traits: { email: ' ANN@example.com', plan: 'pro' } }),
      identify('ann', {
        messageId: 'm-ann-3',
        traits: { email: 'ann@example.com' },
        context: { ...LIBRARY, ip: '192.0.2.3' }
      })
    ]
    const ann = {
      email: 'ann@example.com',
      ip: '192.0.2.3',
      traits: { email: 'ann@example.com', plan: 'pro', seats: 1 },
      identifies: [
        entry('m-ann', { email: 'ann@example.com', plan: 'free', seats: 1 }, { ...ENTRY_CONTEXT, ip: '192.0.2.1' }),
        entry('m-ann-2', { email: ' ANN@example.com', plan: 'pro' }),
        entry('m-ann-3', { email: 'ann@example.com' }, { ...ENTRY_CONTEXT, ip: '192.0.2.3' })
      ]
    }
    const multistatus = await performBatch('identify', events)
    expect(bodiesOf(received)).toEqual([ann, identifyBody('bob')])
    expect(multistatus).toEqual([success(ann), success(identifyBody('bob')), success(ann), success(ann)])
  })

  it('never merges different identities: email only, email with profile_id, profile_id only', async () => {
    const received = koala()
    const events = [
      identify('ann'),
      identify('ann', { messageId: 'm-2', traits: { email: 'ann@example.com', profile_id: 'ko-1' } }),
      identify('x', { messageId: 'm-3', traits: { profile_id: 'ko-1' } })
    ]
    await performBatch('identify', events)
    expect(bodiesOf(received).map((body) => [body.email, body.profile_id])).toEqual([
      ['ann@example.com', undefined],
      ['ann@example.com', 'ko-1'],
      [undefined, 'ko-1']
    ])
  })

  it('sends a redelivered event once (both indexes succeed) and refuses another event with the same id', async () => {
    const received = koala()
    const duplicate = (id: string) =>
      invalid(
        `The MessageId "${id}" is already used by a different event in this batch, and Koala keeps one event per ` +
          'message_id. Map the MessageId field to the Segment messageId ($.messageId).'
      )
    const events = [
      identify('ann', { traits: { email: 'ann@example.com', v: 1 } }),
      // Segment redelivering it: the same event.
      identify('ann', { traits: { email: 'ann@example.com', v: 1 } }),
      identify('ann', { traits: { email: 'ann@example.com', v: 2 } }),
      identify('bob', { messageId: 'm-ann' })
    ]
    const ann = {
      email: 'ann@example.com',
      traits: { email: 'ann@example.com', v: 1 },
      identifies: [entry('m-ann', { email: 'ann@example.com', v: 1 })]
    }
    const multistatus = await performBatch('identify', events)
    expect(bodiesOf(received)).toEqual([ann])
    expect(multistatus).toEqual([success(ann), success(ann), duplicate('m-ann'), duplicate('m-ann')])
  })

  it('refuses events without a person alone, the framework’s schema refusals too, and keeps every index', async () => {
    const received = koala()
    const events = [
      identify('ann'),
      identify('anon', { traits: { plan: 'free' } }),
      identify('ann', { messageId: 'm-2', timestamp: 'not a date' }),
      identify('bad', { traits: { email: 'not-an-email' } }),
      identify('ann', { messageId: '' }),
      identify('ann', { messageId: 'm-4' })
    ]
    const ann = {
      ...identifyBody('ann'),
      identifies: [entry('m-ann', { email: 'ann@example.com' }), entry('m-4', { email: 'ann@example.com' })]
    }
    const multistatus = await performBatch('identify', events)
    expect(bodiesOf(received)).toEqual([ann])
    expect(multistatus).toEqual([
      success(ann),
      invalid(NO_PERSON + NO_PERSON_FIX),
      invalid('Sent At must be a valid date and time string but it was not.'),
      invalid(`${NO_PERSON} The Email field "not-an-email" is not an email address.${NO_PERSON_FIX}`),
      invalid('The MessageId field is empty. Map it to the Segment messageId ($.messageId).'),
      success(ann)
    ])
  })

  it('skips analytics.js tracks, refuses an empty event name, and sends the rest', async () => {
    const received = koala()
    const browser = {
      library: { name: 'analytics.js', version: 'npm:next-1.84.3' },
      traits: { email: 'ann@example.com' }
    }
    const events = [track('ann', { context: browser }), track('ann', { messageId: 'm-2', event: '' }), track('bob')]
    const bob = {
      email: 'bob@example.com',
      traits: { email: 'bob@example.com' },
      events: [
        {
          type: 'track',
          event: 'Report Exported',
          message_id: 'm-bob',
          sent_at: SENT_AT,
          properties: { format: 'csv' },
          context: { ...ENTRY_CONTEXT, traits: { email: 'bob@example.com' } }
        }
      ]
    }
    const multistatus = await performBatch('track', events)
    expect(bodiesOf(received)).toEqual([bob])
    expect(multistatus).toEqual([
      {
        status: 200,
        sent: {},
        body:
          'Skipped: this track event comes from analytics.js, and the Koala pixel in the browser already collects it. ' +
          'Sending it again from Segment would count it twice in Koala.'
      },
      invalid('The Event Name field is empty. Map it to the Segment event name ($.event).'),
      success(bob)
    ])
  })

  it('refuses every event with the key’s reason, sending nothing, when the Public Key is unsafe', async () => {
    const received = koala()
    const multistatus = await performBatch('identify', [identify('ann'), identify('bob')], {
      settings: { public_key: 'pk/../../admin' }
    })
    expect(received).toEqual([])
    expect(multistatus).toEqual([invalid(BAD_KEY), invalid(BAD_KEY)])
  })
})

describe('performBatch: at most 30 entries per request, 16 requests in flight', () => {
  const many = (id: string, count: number) =>
    Array.from({ length: count }, (_, i) => identify(id, { messageId: `${id}-${i}` }))

  it.each([
    [30, [30]],
    [31, [30, 1]],
    [61, [30, 30, 1]]
  ])('%i events of one person: requests of %j entries, in order', async (count, sizes) => {
    const received = koala()
    const multistatus = await performBatch('identify', many('ann', count))
    const identifies = bodiesOf(received).map((body) => body.identifies as { message_id: string }[])
    expect(identifies.map((list) => list.length)).toEqual(sizes)
    expect(identifies.flat().map((item) => item.message_id)).toEqual(many('ann', count).map((e) => e.messageId))
    // Each event's entry holds the request that carried it.
    const requestOf = (index: number) => bodiesOf(received)[Math.floor(index / 30)]
    expect(multistatus).toEqual(multistatus.map((_, index) => success(requestOf(index))))
  })

  it('sends a person’s next request only once Koala answered the one before, so later traits land last', async () => {
    const log: string[] = []
    nock('https://api2.getkoala.com')
      .persist()
      .post(/batch$/)
      .reply((_uri, body, callback) => {
        const first = (body as { identifies: { message_id: string }[] }).identifies[0].message_id
        log.push(`sent ${first}`)
        // The first request is answered late: the second must wait for it.
        setTimeout(
          () => {
            log.push(`answered ${first}`)
            callback(null, [200, OK])
          },
          first === 'ann-0' ? 30 : 0
        )
      })
    await performBatch('identify', many('ann', 61))
    expect(log).toEqual([
      'sent ann-0',
      'answered ann-0',
      'sent ann-30',
      'answered ann-30',
      'sent ann-60',
      'answered ann-60'
    ])
  })

  it('sends 40 people’s requests at most 16 at a time, and every answer reaches its own index', async () => {
    let inFlight = 0
    let most = 0
    nock('https://api2.getkoala.com')
      .persist()
      .post(/batch$/)
      .reply((_uri, body, callback) => {
        most = Math.max(most, ++inFlight)
        setTimeout(() => {
          inFlight--
          callback(null, [200, { for: (body as JSONObject).email }])
        }, 5)
      })
    const events = Array.from({ length: 40 }, (_, i) => identify(`p${i}`))
    const multistatus = await performBatch('identify', events)
    expect(most).toBe(16)
    expect(multistatus.map((result) => result.body)).toEqual(events.map((_, i) => ({ for: `p${i}@example.com` })))
  })
})

describe('performBatch: 413 halves the request until it fits', () => {
  it('resends halves, then quarters, and fails only the entry too large alone', async () => {
    const events = Array.from({ length: 4 }, (_, i) =>
      identify('ann', {
        messageId: `m${i}`,
        traits: { email: 'ann@example.com', note: i === 3 ? 'x'.repeat(50) : 'ok' }
      })
    )
    const bodies: JSONObject[] = []
    nock('https://api2.getkoala.com')
      .persist()
      .post(/batch$/)
      .reply((_uri, body) => {
        bodies.push(body as JSONObject)
        const identifies = (body as { identifies: { message_id: string }[] }).identifies
        const tooLarge = identifies.length > 2 || identifies.some((item) => item.message_id === 'm3')
        return tooLarge ? [413, { error: 'too large' }] : [200, OK]
      })
    const multistatus = await performBatch('identify', events)
    expect(bodies.map((body) => (body.identifies as unknown[]).length)).toEqual([4, 2, 2, 1, 1])
    const [, firstHalf, , third, fourth] = bodies
    expect(multistatus).toEqual([
      success(firstHalf),
      success(firstHalf),
      success(third),
      {
        status: 413,
        errortype: 'PAYLOAD_TOO_LARGE',
        errormessage: 'Koala rejected the request (413: too large). Map fewer or smaller properties and traits.',
        errorreporter: 'DESTINATION',
        sent: fourth,
        body: { error: 'too large' }
      }
    ])
    expect(fourth).toEqual({
      email: 'ann@example.com',
      traits: { email: 'ann@example.com', note: 'x'.repeat(50) },
      identifies: [entry('m3', { email: 'ann@example.com', note: 'x'.repeat(50) })]
    })
  })
})
