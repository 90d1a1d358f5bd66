import type { AddressInfo } from 'net'
import type { DestinationDefinition } from '@segment/actions-core'
import { USER_AGENT } from '../src/destinations/koala-cloud/config'
import { createHarness } from '../src/harness'
import type { Settings } from '../src/harness'
import { ANALYTICS_JS_SKIP_MESSAGE } from '../src/destinations/koala-cloud/functions'
import { startSandbox } from '../src/sandbox/sandbox-server'
import type { RunningSandbox } from '../src/sandbox/sandbox-server'
import { startServer } from '../src/server/server'
import type { RunningServer } from '../src/server/server'
import {
  call,
  example,
  identifyEvent,
  KEY,
  local,
  refusedWith,
  sandboxHarness,
  SECRET_KEY,
  useLocalServer,
  withServer
} from './support/local-server'

// The local server over real loopback HTTP, in front of a real sandbox: its routes and what they answer.

useLocalServer()

describe('the server itself', () => {
  it('listens on 127.0.0.1 only', () => {
    expect((local.server.server.address() as AddressInfo).address).toBe('127.0.0.1')
  })

  it('GET /manifest gives the destination definition and its directory name', async () => {
    const answer = await call('/manifest', { method: 'GET' })
    expect(answer.status).toBe(200)
    expect(answer.body).toMatchObject({
      name: 'Koala (Cloud)',
      slug: 'actions-koala-cloud',
      mode: 'cloud',
      directoryName: 'koala-cloud'
    })
    expect(Object.keys(answer.body.actions).sort()).toEqual(['group', 'identify', 'page', 'track'])
    expect(answer.body.presets.map((preset: { name: string }) => preset.name)).toEqual([
      'Track Calls',
      'Identify Calls'
    ])
  })
})

describe('POST /<action>', () => {
  it('sends the example identify and answers with the one exchange it made', async () => {
    const answer = await call('/identify', { body: example('identify.json') })
    expect(answer.status).toBe(200)
    const traits = {
      email: 'Jordan.Rivera@acme.example.com',
      name: 'Jordan Rivera',
      title: 'Head of Growth',
      plan: 'growth',
      company: { id: 'org_acme_551', name: 'Acme Analytics', employee_count: 120 }
    }
    const expectedBody = {
      email: 'jordan.rivera@acme.example.com',
      ip: '203.0.113.24',
      traits,
      identifies: [
        {
          type: 'identify',
          message_id: 'example-identify-0001',
          sent_at: '2026-11-30T03:57:07.157Z',
          traits,
          context: {
            ip: '203.0.113.24',
            locale: 'en-US',
            timezone: 'America/New_York',
            library: { name: '@segment/analytics-node', version: '3.1.0' },
            source: 'segment-cloud'
          }
        }
      ]
    }
    expect(local.sandbox.received).toEqual([expectedBody])
    expect(answer.body).toHaveLength(1)
    const [exchange] = answer.body
    expect(exchange.request).toEqual({
      url: `${local.sandbox.url}/web/projects/pk_e…/batch`,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
      body: JSON.stringify(expectedBody)
    })
    expect(exchange.response).toMatchObject({ statusCode: 200, statusMessage: 'OK', body: { ok: true } })
    expect(exchange.response.headers['content-type']).toMatch(/^application\/json/)
  })

  it('merges the mapping given over the action defaults', async () => {
    const answer = await call('/track', {
      body: {
        settings: { public_key: KEY },
        mapping: { email: { '@path': '$.properties.work_email' }, event: { '@template': 'Web: {{event}}' } },
        payload: {
          type: 'track',
          event: 'Demo Booked',
          messageId: 'srv-map-1',
          timestamp: '2026-11-30T10:00:00Z',
          properties: { work_email: 'Lin@Example.org' },
          context: { ip: '198.51.100.9' }
        }
      }
    })
    expect(answer.status).toBe(200)
    expect(answer.body).toHaveLength(1)
    expect(local.sandbox.received).toEqual([
      {
        email: 'lin@example.org',
        ip: '198.51.100.9',
        traits: {},
        events: [
          {
            type: 'track',
            event: 'Web: Demo Booked',
            message_id: 'srv-map-1',
            sent_at: '2026-11-30T10:00:00.000Z',
            properties: { work_email: 'Lin@Example.org' },
            context: { ip: '198.51.100.9', source: 'segment-cloud' }
          }
        ]
      }
    ])
  })

  it('shows the skip of an analytics.js track as an output element, and sends nothing', async () => {
    const answer = await call('/track', { body: example('track-analytics-js.json') })
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual([{ output: { skipped: true, message: ANALYTICS_JS_SKIP_MESSAGE } }])
    expect(local.sandbox.stats().requests).toBe(0)
  })

  it('answers an anonymous event with the clear PayloadValidationError, as actions-cli does (HTTP 200)', async () => {
    const answer = await call('/track', { body: example('track-anonymous.json') })
    expect(answer.status).toBe(200)
    expect(answer.body).toHaveLength(1)
    expect(answer.body[0]).toEqual({ statusCode: 400, requestError: true, message: expect.any(String) })
    expect(answer.body[0].message).toMatch(/^Koala needs an email or a Koala profile_id/)
    expect(answer.body[0].message).toContain('Map the Email field')
    expect(local.sandbox.stats().requests).toBe(0)
  })

  it("reports the framework's validation errors by field", async () => {
    const answer = await call('/track', {
      body: {
        settings: { public_key: KEY },
        payload: { type: 'track', messageId: 'srv-bad-1', timestamp: 'not a date', traits: { email: 'a@example.com' } }
      }
    })
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual([
      {
        statusCode: 400,
        requestError: true,
        message: expect.stringContaining("missing the required field 'event'"),
        fields: {
          event: "The root value is missing the required field 'event'.",
          sent_at: 'Sent At must be a valid date and time string but it was not.'
        }
      }
    ])
  })

  describe('an empty or missing MessageId or Event Name: the framework names the key, the server adds label and fix', () => {
    const MISSING_MESSAGE_ID = "The root value is missing the required field 'message_id'."
    const MESSAGE_ID_HINT =
      'The MessageId field (message_id) has no value in this event (empty text counts as none): map it to ' +
      '$.messageId, its default, or to where your events carry it.'
    const MISSING_EVENT = "The root value is missing the required field 'event'."
    const EVENT_HINT =
      'The Event Name field (event) has no value in this event (empty text counts as none): map it to $.event, its ' +
      'default, or to where your events carry it.'
    const track = (overrides: Record<string, unknown>) => ({
      type: 'track',
      event: 'Report Exported',
      messageId: 'srv-track-empty',
      timestamp: '2026-11-30T10:00:00Z',
      context: { traits: { email: 'ada@example.com' } },
      ...overrides
    })

    it.each([[''], [undefined], [null]])('one event with messageId %p', async (messageId) => {
      const answer = await call('/identify', {
        body: { settings: { public_key: KEY }, payload: identifyEvent({ messageId }) }
      })
      expect(answer.body).toEqual([
        {
          statusCode: 400,
          requestError: true,
          message: `${MISSING_MESSAGE_ID} ${MESSAGE_ID_HINT}`,
          fields: { message_id: MISSING_MESSAGE_ID }
        }
      ])
      expect(local.sandbox.stats().requests).toBe(0)
    })

    it('one track with event ""', async () => {
      const answer = await call('/track', { body: { settings: { public_key: KEY }, payload: track({ event: '' }) } })
      expect(answer.body).toEqual([
        {
          statusCode: 400,
          requestError: true,
          message: `${MISSING_EVENT} ${EVENT_HINT}`,
          fields: { event: MISSING_EVENT }
        }
      ])
    })

    it("in a batch: a missing one gets the framework's message with the hint, an empty one the destination's", async () => {
      const answer = await call('/track', {
        body: {
          settings: { public_key: KEY },
          payload: [track({ event: undefined, messageId: 'b1' }), track({ event: '', messageId: 'b2' })]
        }
      })
      const node = (errormessage: string) => ({
        status: 400,
        errortype: 'PAYLOAD_VALIDATION_FAILED',
        errormessage,
        errorreporter: 'INTEGRATIONS'
      })
      expect(answer.body).toEqual([
        {
          multistatus: [
            node(`${MISSING_EVENT} ${EVENT_HINT}`),
            node('The Event Name field is empty. Map it to the Segment event name ($.event).')
          ]
        }
      ])
      expect(local.sandbox.stats().requests).toBe(0)
    })
  })

  it('runs an array payload through the batch path: exchanges, then the per-event multistatus', async () => {
    const answer = await call('/track', { body: example('batch.json') })
    expect(answer.status).toBe(200)
    const exchanges = answer.body.slice(0, -1)
    const last = answer.body[answer.body.length - 1]
    // Two people with an identifier: two requests; the anonymous fourth event sends nothing.
    expect(exchanges).toHaveLength(2)
    expect(local.sandbox.stats()).toMatchObject({ accepted: 2, entries: 3, duplicates: 0 })
    const sentBodies = exchanges.map(
      (exchange: { request: { body: string } }) => JSON.parse(exchange.request.body) as unknown
    )
    expect(sentBodies).toEqual(expect.arrayContaining(local.sandbox.received))
    expect(last.multistatus.map((node: { status: number }) => node.status)).toEqual([200, 200, 200, 400])
    expect(last.multistatus[0].sent.events.map((entry: { message_id: string }) => entry.message_id)).toEqual([
      'example-batch-0001',
      'example-batch-0002'
    ])
    expect(last.multistatus[3]).toMatchObject({ errortype: 'PAYLOAD_VALIDATION_FAILED' })
    expect(last.multistatus[3].errormessage).toMatch(/^Koala needs an email or a Koala profile_id/)
  })

  it('answers concurrent requests each with its own exchanges only', async () => {
    const ids = Array.from({ length: 12 }, (_, i) => `srv-concurrent-${i}`)
    const answers = await Promise.all(
      ids.map((messageId) =>
        call('/identify', { body: { settings: { public_key: KEY }, payload: identifyEvent({ messageId }) } })
      )
    )
    answers.forEach((answer, i) => {
      expect(answer.body).toHaveLength(1)
      expect(JSON.parse(answer.body[0].request.body).identifies[0].message_id).toBe(ids[i])
    })
    expect(local.sandbox.stats()).toMatchObject({ accepted: 12, uniqueMessageIds: 12, duplicates: 0 })
  })

  it('passes on what Koala answered when it refuses the key, as a 401 InvalidAuthenticationError', async () => {
    const answer = await call('/identify', {
      body: { settings: { public_key: 'pk_unknown_key' }, payload: identifyEvent() }
    })
    expect(answer.status).toBe(200)
    // The refusal, then the request Koala refused and its answer (the Tester shows them).
    expect(answer.body).toEqual([
      ...refusedWith(401, expect.any(String)),
      expect.objectContaining({ request: expect.objectContaining({ method: 'POST' }) })
    ])
    expect(answer.body[1].response.statusCode).toBe(401)
    expect(answer.body[0].message).toMatch(/^Koala refused the Public Key \(401/)
  })
})

describe('POST /refreshAccessToken', () => {
  it('answers 400 with the framework’s refusal, as actions-cli does for a destination without OAuth', async () => {
    const answer = await call('/refreshAccessToken', { body: { settings: { public_key: KEY } } })
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual({
      ok: false,
      error: 'refreshAccessToken is only valid with oauth2 authentication scheme'
    })
  })
})

describe('POST /authenticate', () => {
  it('accepts the settings as the body, as actions-cli sends them', async () => {
    const answer = await call('/authenticate', { body: { public_key: KEY } })
    expect(answer).toMatchObject({ status: 200, body: { ok: true } })
  })

  it('accepts {settings} too', async () => {
    const answer = await call('/authenticate', { body: { settings: { public_key: KEY } } })
    expect(answer).toMatchObject({ status: 200, body: { ok: true } })
  })

  it("answers ok:false with Koala's verdict for a key Koala refuses", async () => {
    const answer = await call('/authenticate', { body: { public_key: 'pk_unknown_key' } })
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual({ ok: false, error: expect.any(String), fields: {} })
    expect(answer.body.error).toMatch(/^Credentials are invalid: .*401/)
    expect(answer.body.error).toContain('Settings > Install')
  })

  it('answers ok:false naming the field when the key is missing', async () => {
    const answer = await call('/authenticate', { body: {} })
    const message =
      '"public_key" is missing: put your Koala Public Key there (Koala: Settings > Install), as ' +
      '{"public_key": "<your Koala Public Key>"} or {"settings": {"public_key": "<your Koala Public Key>"}}.'
    expect(answer.body).toEqual({
      ok: false,
      error: message,
      fields: { public_key: message }
    })
  })

  it('answers malformed JSON with {ok:false} and what to send', async () => {
    const answer = await call('/authenticate', { raw: '{', headers: { 'content-type': 'application/json' } })
    expect(answer.status).toBe(400)
    expect(answer.body.ok).toBe(false)
    expect(answer.body.error).toMatch(/^The body is not valid JSON .*Send the settings as a JSON object/)
  })
})

describe('a batch only when the mapping enables batching, and a mapping of fields', () => {
  it('still runs one event with "enable_batching": false, and a batch with true', async () => {
    const one = await call('/identify', {
      body: { settings: { public_key: KEY }, payload: identifyEvent(), mapping: { enable_batching: false } }
    })
    expect(one.body[0].response.statusCode).toBe(200)
    const batch = await call('/identify', {
      body: { settings: { public_key: KEY }, payload: [identifyEvent()], mapping: { enable_batching: true } }
    })
    expect(batch.body[batch.body.length - 1].multistatus[0].status).toBe(200)
  })

  it.each([[false], ['false'], [0], [null]])(
    'refuses an array payload with "enable_batching": %p (the framework reads it as false) with 400, sending nothing',
    async (value) => {
      const answer = await call('/track', {
        body: { ...(example('batch.json') as object), mapping: { enable_batching: value } }
      })
      expect(answer.status).toBe(400)
      expect(answer.body).toEqual(
        refusedWith(
          400,
          'Batching is off in the mapping ("enable_batching": false), so Segment would never send these events as a ' +
            'batch: send one event per request (an object "payload"), or set "enable_batching": true in the mapping.'
        )
      )
      expect(local.sandbox.stats().requests).toBe(0)
    }
  )

  it('runs a batch with "enable_batching": "true", and one event with "false"', async () => {
    const batch = await call('/identify', {
      body: { settings: { public_key: KEY }, payload: [identifyEvent()], mapping: { enable_batching: 'true' } }
    })
    expect(batch.body[batch.body.length - 1].multistatus[0].status).toBe(200)
    const one = await call('/identify', {
      body: { settings: { public_key: KEY }, payload: identifyEvent(), mapping: { enable_batching: 'false' } }
    })
    expect(one.body[0].response.statusCode).toBe(200)
  })

  it.each([['no'], ['FALSE'], [2], [[false]]])(
    'refuses "enable_batching": %p, naming the field, for a batch and for one event',
    async (value) => {
      const message =
        `"enable_batching" in the mapping is ${JSON.stringify(value)}; it must be true (Segment may send batches) ` +
        'or false (one event per request). The framework also reads "true", "false", 1 and 0 as those.'
      for (const payload of [[identifyEvent()], identifyEvent()]) {
        const answer = await call('/identify', {
          body: { settings: { public_key: KEY }, payload, mapping: { enable_batching: value } }
        })
        expect(answer.status).toBe(400)
        expect(answer.body).toEqual(refusedWith(400, message))
      }
      expect(local.sandbox.stats().requests).toBe(0)
    }
  )

  it('refuses a directive at the root of "mapping" with what to send instead', async () => {
    const answer = await call('/track', {
      body: { ...(example('track.json') as object), mapping: { '@path': '$.x' } }
    })
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual(
      refusedWith(
        400,
        '"mapping" must be an object of field names, each with a value or one directive, for example ' +
          '{"event": {"@path": "$.event"}}; it has the directive "@path" at its top level. Put each directive under ' +
          'the field it fills, or leave "mapping" out to use the defaults.'
      )
    )
    expect(local.sandbox.stats().requests).toBe(0)
  })
})

describe('composed messages end their sentences', () => {
  const HELP =
    'Send a JSON object: {"payload": <a Segment event, or an array of events for a batch>, ' +
    '"settings": {"public_key": "<your Koala Public Key>"}, "mapping": <optional, merged over the defaults>}, ' +
    'with Content-Type: application/json.'
  it.each<[string, Record<string, string>, string, number, string | RegExp]>([
    [
      'an unsupported charset',
      { 'content-type': 'application/json; charset=latin1' },
      '{}',
      415,
      `Unsupported charset "LATIN1". Send the body as UTF-8. ${HELP}`
    ],
    [
      'an unknown content encoding',
      { 'content-type': 'application/json', 'content-encoding': 'br2' },
      '{}',
      415,
      `Unsupported content encoding "br2". ${HELP}`
    ],
    // zlib's own reason ("Decompression failed.", "Incorrect header check.") reaches the answer when the server runs
    // under Node; under Jest, body-parser sees zlib's error as foreign (another realm) and says "Bad Request.".
    [
      'a brotli body that is not brotli',
      { 'content-type': 'application/json', 'content-encoding': 'br' },
      'not brotli at all',
      400,
      /^The body could not be decompressed as Content-Encoding br: [A-Z][^.]*\. Send a JSON object: /
    ],
    [
      'a gzip body that is not gzip',
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      'not gzip',
      400,
      /^The body could not be decompressed as Content-Encoding gzip: [A-Z][^.]*\. Send a JSON object: /
    ]
  ])('%s', async (_name, headers, raw, status, message) => {
    const answer = await call('/track', { raw, headers })
    expect(answer.status).toBe(status)
    expect(answer.body).toEqual(refusedWith(status, expect.any(String)))
    if (typeof message === 'string') expect(answer.body[0].message).toBe(message)
    else expect(answer.body[0].message).toMatch(message)
    expect(answer.body[0].message.endsWith(HELP)).toBe(true)
  })
})

describe("an action's expected failure is one log line; only unexpected errors get a stack trace", () => {
  let faultySandbox: RunningSandbox
  let crashServer: RunningServer
  const crashLogs: string[] = []
  beforeAll(async () => {
    faultySandbox = await startSandbox(0, { faults: { '500': 1 } })
    // A destination whose action throws a plain Error (no status): an unexpected failure.
    const crashing: DestinationDefinition<Settings> = {
      name: 'Crashing',
      mode: 'cloud',
      authentication: {
        scheme: 'custom',
        fields: { public_key: { label: 'Key', description: 'The key', type: 'password', required: true } }
      },
      actions: {
        crash: {
          title: 'Crash',
          description: 'Throws an unexpected error quoting the key',
          fields: {},
          perform: (_request, { settings }) => {
            throw new TypeError(`cannot read the settings of ${settings.public_key}`)
          }
        }
      }
    }
    crashServer = await startServer(0, {
      harness: createHarness({ definition: crashing }),
      log: (line) => crashLogs.push(line)
    })
  })
  afterAll(async () => {
    await crashServer.close()
    await faultySandbox.close()
  })

  /** Waits until the request line of `path` is logged (it is written once the answer is finished). */
  async function requestLines(lines: string[], path: string): Promise<string[]> {
    for (let i = 0; i < 50 && !lines.some((line) => line.startsWith(`[server] POST ${path} `)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    return lines
  }

  it("Koala's 500 (RetryableError): the request line with a one-line reason, no stack trace, key redacted", async () => {
    local.logs.length = 0
    await withServer(sandboxHarness(faultySandbox), async (base) => {
      const answer = await call('/track', {
        base,
        body: { ...(example('track.json') as object), settings: { public_key: SECRET_KEY } }
      })
      expect(answer.body[0]).toEqual(refusedWith(500, expect.any(String))[0])
      expect(
        answer.body.slice(1).map((item: { response: { statusCode: number } }) => item.response.statusCode)
      ).toEqual([500])
      const lines = (await requestLines(local.logs, '/track')).filter((line) => line.startsWith('[server]'))
      expect(lines).toEqual([expect.stringMatching(/^\[server\] POST \/track 200 \d+ ms - RetryableError 500: \S.*$/)])
      expect(lines[0]).toBe(lines[0].split('\n')[0])
      expect(lines[0]).toContain(answer.body[0].message)
      expect(lines.join('\n')).not.toContain('failed:')
      expect(lines.join('\n')).not.toContain(SECRET_KEY)
    })
  })

  it('a refused event (PayloadValidationError): the request line with its reason', async () => {
    local.logs.length = 0
    const answer = await call('/identify', {
      body: { settings: { public_key: KEY }, payload: identifyEvent({ traits: { name: 'Anonymous' } }) }
    })
    expect(answer.body[0]).toMatchObject({ statusCode: 400 })
    const lines = (await requestLines(local.logs, '/identify')).filter((line) => line.startsWith('[server]'))
    expect(lines).toEqual([
      `[server] POST /identify 200 ${/ (\d+) ms/.exec(lines[0])?.[1]} ms - PayloadValidationError 400: ` +
        answer.body[0].message
    ])
  })

  it('an unexpected error (no status): its stack trace, key redacted, and the request line', async () => {
    crashLogs.length = 0
    const answer = await call('/crash', {
      base: crashServer.url,
      body: { settings: { public_key: SECRET_KEY }, payload: { type: 'track' } }
    })
    expect(answer.body).toEqual(refusedWith(500, 'cannot read the settings of pk_l…'))
    await requestLines(crashLogs, '/crash')
    expect(crashLogs[0]).toMatch(
      /^\[server\] POST \/crash failed: TypeError: cannot read the settings of pk_l…\n\s+at /
    )
    expect(crashLogs[1]).toMatch(/^\[server\] POST \/crash 200 \d+ ms$/)
    expect(crashLogs.join('\n')).not.toContain(SECRET_KEY)
  })
})
