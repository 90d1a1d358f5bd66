import * as fs from 'fs'
import * as http from 'http'
import type { AddressInfo } from 'net'
import * as path from 'path'
import { IntegrationError, type DestinationDefinition } from '@segment/actions-core'
import { USER_AGENT } from '../src/destinations/koala-cloud/config'
import type { Settings } from '../src/destinations/koala-cloud/generated-types'
import { ANALYTICS_JS_SKIP_MESSAGE } from '../src/destinations/koala-cloud/koala'
import { startSandbox, type RunningSandbox } from '../src/sandbox/sandbox'
import { startServer, type RunningServer } from '../src/server/server'

// The local server over real loopback HTTP, in front of a real sandbox.

const repoRoot = path.join(__dirname, '..')
const example = (name: string): unknown => JSON.parse(fs.readFileSync(path.join(repoRoot, 'examples', name), 'utf8'))

const KEY = 'pk_example_sandbox_key'
const SECRET_KEY = 'pk_live_s3cr3t_0123456789'

let sandbox: RunningSandbox
let server: RunningServer
const logs: string[] = []
const previousApiUrl = process.env.KOALA_API_URL

beforeAll(async () => {
  sandbox = await startSandbox(0, { keys: [KEY, SECRET_KEY], log: (line) => logs.push(line) })
  process.env.KOALA_API_URL = sandbox.url
  server = await startServer(0, { log: (line) => logs.push(line) })
})

afterAll(async () => {
  await server.close()
  await sandbox.close()
  if (previousApiUrl === undefined) delete process.env.KOALA_API_URL
  else process.env.KOALA_API_URL = previousApiUrl
})

beforeEach(() => sandbox.reset())

interface Answer {
  status: number
  headers: Headers
  text: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked field by field
  body: any
}

async function call(
  route: string,
  init: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}
): Promise<Answer> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) }
  let body: string | undefined = init.raw
  if (init.body !== undefined) {
    body = JSON.stringify(init.body)
    headers['content-type'] ??= 'application/json'
  }
  const response = await fetch(`${server.url}${route}`, { method: init.method ?? 'POST', headers, body })
  const text = await response.text()
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  return { status: response.status, headers: response.headers, text, body: parsed }
}

const identifyEvent = (overrides: Record<string, unknown> = {}) => ({
  type: 'identify',
  messageId: 'srv-identify-1',
  timestamp: '2026-11-30T10:00:00+02:00',
  traits: { email: ' Ada@Example.com ', name: 'Ada' },
  context: { ip: '203.0.113.5', library: { name: '@segment/analytics-node', version: '3.1.0' } },
  ...overrides
})

describe('the server itself', () => {
  it('listens on 127.0.0.1 only', () => {
    expect((server.server.address() as AddressInfo).address).toBe('127.0.0.1')
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
    expect(Object.keys(answer.body.actions).sort()).toEqual(['identify', 'track'])
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
    const expectedBody = {
      email: 'jordan.rivera@acme.example.com',
      ip: '203.0.113.24',
      traits: {
        email: 'Jordan.Rivera@acme.example.com',
        name: 'Jordan Rivera',
        title: 'Head of Growth',
        plan: 'growth',
        company: { id: 'org_acme_551', name: 'Acme Analytics', employee_count: 120 }
      },
      identifies: [
        {
          type: 'identify',
          message_id: 'example-identify-0001',
          sent_at: '2026-11-30T03:57:07.157Z',
          traits: {
            email: 'Jordan.Rivera@acme.example.com',
            name: 'Jordan Rivera',
            title: 'Head of Growth',
            plan: 'growth',
            company: { id: 'org_acme_551', name: 'Acme Analytics', employee_count: 120 }
          },
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
    expect(sandbox.received).toEqual([expectedBody])
    expect(answer.body).toHaveLength(1)
    const [exchange] = answer.body
    expect(exchange.request).toEqual({
      url: `${sandbox.url}/web/projects/pk_e…/batch`,
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
    expect(sandbox.received).toEqual([
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
    expect(sandbox.stats().requests).toBe(0)
  })

  it('answers an anonymous event with the clear PayloadValidationError, as actions-cli does (HTTP 200)', async () => {
    const answer = await call('/track', { body: example('track-anonymous.json') })
    expect(answer.status).toBe(200)
    expect(answer.body).toHaveLength(1)
    expect(answer.body[0]).toEqual({ statusCode: 400, requestError: true, message: expect.any(String) })
    expect(answer.body[0].message).toMatch(/^Koala needs an email or a Koala profile_id/)
    expect(answer.body[0].message).toContain('Map the Email field')
    expect(sandbox.stats().requests).toBe(0)
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

  it('runs an array payload through the batch path: exchanges, then the per-event multistatus', async () => {
    const answer = await call('/track', { body: example('batch.json') })
    expect(answer.status).toBe(200)
    const exchanges = answer.body.slice(0, -1)
    const last = answer.body[answer.body.length - 1]
    // Two people with an identifier: two requests; the anonymous fourth event sends nothing.
    expect(exchanges).toHaveLength(2)
    expect(sandbox.stats()).toMatchObject({ accepted: 2, entries: 3, duplicates: 0 })
    const sentBodies = exchanges.map(
      (exchange: { request: { body: string } }) => JSON.parse(exchange.request.body) as unknown
    )
    expect(sentBodies).toEqual(expect.arrayContaining(sandbox.received))
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
    expect(sandbox.stats()).toMatchObject({ accepted: 12, uniqueMessageIds: 12, duplicates: 0 })
  })

  it('passes on what Koala answered when it refuses the key, as a 401 InvalidAuthenticationError', async () => {
    const answer = await call('/identify', {
      body: { settings: { public_key: 'pk_unknown_key' }, payload: identifyEvent() }
    })
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual([{ statusCode: 401, requestError: true, message: expect.any(String) }])
    expect(answer.body[0].message).toMatch(/^Koala answered 401 for this Public Key/)
  })
})

describe('settings are checked before anything is sent', () => {
  it.each([
    ['missing settings', undefined, 'The Public Key setting is empty.'],
    ['an empty key', { public_key: '  ' }, 'The Public Key setting is empty.'],
    ['a key with a slash', { public_key: 'pk/../admin' }, 'The Public Key setting may contain only letters'],
    ['a key with a query', { public_key: 'pk?x=1' }, 'The Public Key setting may contain only letters'],
    ['a key that is not a string', { public_key: 12 }, 'The Public Key setting is empty.']
  ])('%s -> 400 naming the Public Key', async (_name, settings, start) => {
    const answer = await call('/identify', { body: { settings, payload: identifyEvent() } })
    expect(answer.status).toBe(400)
    expect(answer.body).toHaveLength(1)
    expect(answer.body[0]).toMatchObject({ statusCode: 400, requestError: true })
    expect(answer.body[0].message.startsWith(start)).toBe(true)
    expect(answer.body[0].message).toContain('Settings > Install')
    expect(sandbox.stats().requests).toBe(0)
  })
})

describe('bad requests get a 4xx that says what to send, and the server keeps running', () => {
  const SEND = 'Send a JSON object: {"payload": '
  it.each<
    [
      string,
      string,
      { raw?: string; body?: unknown; headers?: Record<string, string>; method?: string },
      number,
      string
    ]
  >([
    [
      'malformed JSON',
      '/track',
      { raw: '{"payload": ', headers: { 'content-type': 'application/json' } },
      400,
      'The body is not valid JSON'
    ],
    [
      'wrong content type',
      '/track',
      { raw: 'payload=1', headers: { 'content-type': 'text/plain' } },
      415,
      'The body must be JSON (Content-Type: application/json).'
    ],
    [
      'form content type',
      '/identify',
      { raw: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      415,
      'The body must be JSON'
    ],
    ['no body', '/track', {}, 400, 'The request has no body.'],
    ['an array body', '/track', { body: [identifyEvent()] }, 400, 'The body is an array.'],
    ['a string body', '/track', { body: 'hello' }, 400, 'The body is not an object.'],
    [
      'a null body',
      '/track',
      { raw: 'null', headers: { 'content-type': 'application/json' } },
      400,
      'The body is not an object.'
    ],
    ['no payload', '/track', { body: { settings: { public_key: KEY } } }, 400, '"payload" is missing.'],
    [
      'a string payload',
      '/track',
      { body: { settings: { public_key: KEY }, payload: 'x' } },
      400,
      '"payload" must be a Segment event'
    ],
    [
      'an empty batch',
      '/track',
      { body: { settings: { public_key: KEY }, payload: [] } },
      400,
      '"payload" is an empty array.'
    ],
    [
      'a batch with a non-object',
      '/track',
      { body: { settings: { public_key: KEY }, payload: [identifyEvent(), 3] } },
      400,
      '"payload[1]" is not an object'
    ],
    [
      'an array as settings',
      '/track',
      { body: { settings: [KEY], payload: identifyEvent() } },
      400,
      '"settings" must be an object.'
    ],
    [
      'an array as mapping',
      '/track',
      { body: { settings: { public_key: KEY }, mapping: [], payload: identifyEvent() } },
      400,
      '"mapping" must be an object.'
    ],
    [
      'a string as features',
      '/track',
      { body: { settings: { public_key: KEY }, features: 'x', payload: identifyEvent() } },
      400,
      '"features" must be an object.'
    ]
  ])('%s', async (_name, route, init, status, start) => {
    const answer = await call(route, init)
    expect(answer.status).toBe(status)
    expect(answer.body).toEqual([{ statusCode: status, requestError: true, message: expect.any(String) }])
    expect(answer.body[0].message.startsWith(start)).toBe(true)
    if (!start.startsWith('"payload[1]"')) expect(answer.body[0].message).toContain(SEND)
    expect(sandbox.stats().requests).toBe(0)
  })

  it('a batch over Segment-sized batches -> 400', async () => {
    const payload = Array.from({ length: 1001 }, () => ({ type: 'track' }))
    const answer = await call('/track', { body: { settings: { public_key: KEY }, payload } })
    expect(answer.status).toBe(400)
    expect(answer.body[0].message).toBe('"payload" has 1001 events; a batch holds at most 1000, as Segment sends them.')
  })

  it('an unknown action -> 404 listing the routes', async () => {
    const answer = await call('/page', { body: { settings: { public_key: KEY }, payload: identifyEvent() } })
    expect(answer.status).toBe(404)
    expect(answer.body[0].message).toBe(
      'There is no route POST /page. Routes: GET /manifest, POST /authenticate, POST /identify, POST /track.'
    )
  })

  it('a known route with the wrong method -> 405', async () => {
    const answer = await call('/track', { method: 'GET' })
    expect(answer.status).toBe(405)
    expect(answer.body[0].message).toMatch(/^GET is not supported here\. Routes: GET \/manifest/)
  })

  it('accepts a 1 MB property and delivers it whole', async () => {
    const big = 'x'.repeat(1024 * 1024)
    const answer = await call('/track', {
      body: {
        settings: { public_key: KEY },
        payload: {
          type: 'track',
          event: 'Big',
          messageId: 'srv-big-1',
          timestamp: '2026-11-30T10:00:00Z',
          properties: { big },
          context: { traits: { email: 'big@example.com' } }
        }
      }
    })
    expect(answer.status).toBe(200)
    expect(answer.body).toHaveLength(1)
    expect(answer.body[0].response.statusCode).toBe(200)
    expect((sandbox.received[0] as { events: { properties: { big: string } }[] }).events[0].properties.big).toBe(big)
  })

  it('refuses a body over 5 MB with a clear 413, then keeps serving', async () => {
    const answer = await call('/track', {
      body: {
        settings: { public_key: KEY },
        payload: { type: 'track', properties: { big: 'x'.repeat(6 * 1024 * 1024) } }
      }
    })
    expect(answer.status).toBe(413)
    expect(answer.body).toEqual([
      { statusCode: 413, requestError: true, message: 'The request body is larger than the 5 MB this server accepts.' }
    ])
    const after = await call('/manifest', { method: 'GET' })
    expect(after.status).toBe(200)
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
    expect(answer.body).toEqual({
      ok: false,
      error: "The root value is missing the required field 'public_key'.",
      fields: { public_key: "The root value is missing the required field 'public_key'." }
    })
  })

  it('answers malformed JSON with {ok:false} and what to send', async () => {
    const answer = await call('/authenticate', { raw: '{', headers: { 'content-type': 'application/json' } })
    expect(answer.status).toBe(400)
    expect(answer.body.ok).toBe(false)
    expect(answer.body.error).toMatch(/^The body is not valid JSON .*Send the settings as a JSON object/)
  })
})

describe('the Public Key is redacted', () => {
  it('in the exchanges an answer shows and in the log lines', async () => {
    logs.length = 0
    const answer = await call('/identify', { body: { settings: { public_key: SECRET_KEY }, payload: identifyEvent() } })
    expect(answer.body[0].request.url).toBe(`${sandbox.url}/web/projects/pk_l…/batch`)
    expect(answer.body[0].response.statusCode).toBe(200)
    expect(answer.text).not.toContain(SECRET_KEY)
    expect(logs.length).toBeGreaterThanOrEqual(2)
    expect(logs.join('\n')).not.toContain(SECRET_KEY)
  })

  it('in an error that quotes the URL (Koala unreachable)', async () => {
    // A port that was free a moment ago: the connection is refused.
    const closed = http.createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    process.env.KOALA_API_URL = `http://127.0.0.1:${port}`
    try {
      const answer = await call('/identify', {
        body: { settings: { public_key: SECRET_KEY }, payload: identifyEvent() }
      })
      expect(answer.body).toEqual([{ statusCode: 503, requestError: true, message: expect.any(String) }])
      expect(answer.body[0].message).toMatch(/^Could not reach Koala/)
      expect(answer.text).not.toContain(SECRET_KEY)
    } finally {
      process.env.KOALA_API_URL = sandbox.url
    }
  })
})

describe('the answer itself is redacted, whatever the destination puts in it', () => {
  // A stand-in destination that quotes its key in what it returns and in what it throws.
  const quoting: DestinationDefinition<Settings> = {
    name: 'Quoting',
    mode: 'cloud',
    authentication: {
      scheme: 'custom',
      fields: { public_key: { label: 'Key', description: 'The key', type: 'password', required: true } }
    },
    actions: {
      echo: {
        title: 'Echo',
        description: 'Returns the key',
        fields: {},
        perform: (_request, { settings }) => ({ note: `key ${settings.public_key} used` })
      },
      fail: {
        title: 'Fail',
        description: 'Throws with the key',
        fields: {},
        perform: (_request, { settings }) => {
          throw new IntegrationError(`POST /web/projects/${settings.public_key}/batch failed`, 'TEST', 502)
        }
      }
    }
  }
  let quotingServer: RunningServer
  beforeAll(async () => {
    quotingServer = await startServer(0, { definition: quoting })
  })
  afterAll(() => quotingServer.close())

  const post = async (route: string) => {
    const response = await fetch(`${quotingServer.url}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ settings: { public_key: SECRET_KEY }, payload: { type: 'track' } })
    })
    return response.text()
  }

  it('in what the action returned', async () => {
    const text = await post('/echo')
    expect(JSON.parse(text)).toEqual([{ output: { note: 'key pk_l… used' } }])
  })

  it('in the error message', async () => {
    const text = await post('/fail')
    expect(JSON.parse(text)).toEqual([
      { statusCode: 502, requestError: true, message: 'POST /web/projects/pk_l…/batch failed' }
    ])
  })
})

describe('CORS', () => {
  it.each([
    'https://app.segment.com',
    'https://eu1.app.segment.com',
    'https://app.segment.build',
    'http://localhost:8000'
  ])('lets %s preflight and read answers', async (origin) => {
    const preflight = await call('/track', {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin)
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST')
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-type')
    const manifest = await call('/manifest', { method: 'GET', headers: { origin } })
    expect(manifest.status).toBe(200)
    expect(manifest.headers.get('access-control-allow-origin')).toBe(origin)
  })

  it.each(['https://evil.example.com', 'https://app.segment.com.evil.example', 'http://app.segment.com', 'null'])(
    'refuses %s without CORS headers',
    async (origin) => {
      const answer = await call('/identify', {
        headers: { origin },
        body: { settings: { public_key: KEY }, payload: identifyEvent() }
      })
      expect(answer.status).toBe(403)
      expect(answer.headers.get('access-control-allow-origin')).toBeNull()
      expect(answer.body[0].message).toBe(`Requests from the origin ${origin} are not allowed.`)
      expect(sandbox.stats().requests).toBe(0)
    }
  )
})
