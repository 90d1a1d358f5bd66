import * as fs from 'fs'
import { hostRequest } from './support/host-request'
import type { AddressInfo } from 'net'
import * as path from 'path'
import { IntegrationError } from '@segment/actions-core'
import type { DestinationDefinition } from '@segment/actions-core'
import { checkPublicKey, USER_AGENT } from '../src/destinations/koala-cloud/config'
import type { Settings } from '../src/destinations/koala-cloud/generated-types'
import { ANALYTICS_JS_SKIP_MESSAGE } from '../src/destinations/koala-cloud/functions'
import { listenOnLoopback } from '../src/lib/loopback'
import { startSandbox } from '../src/sandbox/sandbox-server'
import type { RunningSandbox } from '../src/sandbox/sandbox-server'
import { startServer } from '../src/server/server'
import type { RunningServer } from '../src/server/server'
import { findTooDeep, MAX_NESTING_DEPTH } from '../src/server/event-checks'

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

/** Calls `route` on the main test server, or on the server at `init.base`. */
async function call(
  route: string,
  init: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string>; base?: string } = {}
): Promise<Answer> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) }
  let body: string | undefined = init.raw
  if (init.body !== undefined) {
    body = JSON.stringify(init.body)
    headers['content-type'] ??= 'application/json'
  }
  const response = await fetch(`${init.base ?? server.url}${route}`, { method: init.method ?? 'POST', headers, body })
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

/** What config.ts's checkPublicKey says about a key. */
function publicKeyMessage(key: unknown): string {
  try {
    checkPublicKey(key)
  } catch (error) {
    return (error as Error).message
  }
  throw new TypeError(`checkPublicKey accepted ${JSON.stringify(key)}`)
}

describe('settings are checked before anything is sent', () => {
  it.each([
    ['missing settings', undefined, 'The Public Key setting is empty.'],
    ['an empty key', { public_key: '  ' }, 'The Public Key setting is empty.'],
    ['a key with a slash', { public_key: 'pk/../admin' }, 'The Public Key setting may contain only letters'],
    ['a key with a query', { public_key: 'pk?x=1' }, 'The Public Key setting may contain only letters'],
    // config.ts words this case; the server passes its message on (see the /authenticate test below).
    ['a key that is not a string', { public_key: 12 }, publicKeyMessage(12)]
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
    const answer = await call('/screen', { body: { settings: { public_key: KEY }, payload: identifyEvent() } })
    expect(answer.status).toBe(404)
    expect(answer.body[0].message).toBe(
      'There is no route POST /screen. Routes: GET /, GET /manifest, POST /authenticate, POST /refreshAccessToken, POST /identify, POST /track, POST /page, POST /group.'
    )
  })

  it('a known route with the wrong method -> 405', async () => {
    const answer = await call('/track', { method: 'GET' })
    expect(answer.status).toBe(405)
    expect(answer.body[0].message).toMatch(/^GET is not supported here\. Routes: GET \/, GET \/manifest/)
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
    const closed = await listenOnLoopback(() => undefined, 0)
    await closed.close()
    process.env.KOALA_API_URL = closed.url
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
      },
      overflow: {
        title: 'Overflow',
        description: 'Overflows the stack, as the framework did on deeply nested events',
        fields: {},
        perform: () => {
          const recurse = (n: number): number => recurse(n + 1) + 1
          return recurse(0)
        }
      },
      crash: {
        title: 'Crash',
        description: 'Throws an unexpected error that quotes file paths, with its stack in the message',
        fields: {},
        perform: () => {
          throw new Error(
            `could not read ${path.join(
              repoRoot,
              'data',
              'table.txt'
            )} (from /opt/lib/node_modules/pkg/index.js:10:5)\n` +
              `    at read (${path.join(repoRoot, 'src', 'read.js')}:1:2)\n    at process (node:internal/x:3:4)`
          )
        }
      }
    }
  }
  let quotingServer: RunningServer
  beforeAll(async () => {
    quotingServer = await startServer(0, { definition: quoting })
  })
  afterAll(() => quotingServer.close())

  const post = async (route: string) =>
    (
      await call(route, {
        base: quotingServer.url,
        body: { settings: { public_key: SECRET_KEY }, payload: { type: 'track' } }
      })
    ).text

  it('in what the action returned', async () => {
    const text = await post('/echo')
    expect(JSON.parse(text)).toEqual([{ output: { note: 'key pk_l… used' } }])
  })

  it('an unexpected error: 500 without stack frames or absolute paths', async () => {
    const text = await post('/crash')
    expect(JSON.parse(text)).toEqual([
      { statusCode: 500, requestError: true, message: 'could not read data/table.txt (from index.js)' }
    ])
  })

  it('a stack overflow the checks did not foresee: 400, so Segment does not retry it', async () => {
    const text = await post('/overflow')
    expect(JSON.parse(text)).toEqual([
      {
        statusCode: 400,
        requestError: true,
        message:
          "Segment's framework ran out of stack space on this request (Maximum call stack size exceeded), usually " +
          'because a value in it is nested too deeply (up to 1000 levels work). Sending it again will not help.'
      }
    ])
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

describe('events the framework cannot process fail alone with a 400, never a 500', () => {
  const NULL_CONTEXT =
    'The event\'s "context" is null: it must be an object (or left out). ' +
    "Segment's framework cannot process a null context."
  const NULL_PERSONAS =
    'The event\'s "context.personas" is null: it must be an object (or left out). ' +
    "Segment's framework cannot process a null context.personas."
  const TOO_DEEP = (under: string) =>
    `The event is nested too deeply for Segment's framework to process (under "${under}"): it holds objects or ` +
    `arrays more than ${MAX_NESTING_DEPTH} levels deep, and the framework runs out of stack space on such values. ` +
    `Up to ${MAX_NESTING_DEPTH} levels work: flatten the deepest values or send them as a JSON string.`

  const trackEvent = (messageId: string, overrides: Record<string, unknown> = {}) => ({
    type: 'track',
    event: 'X',
    messageId,
    timestamp: '2026-11-30T03:57:07Z',
    context: { traits: { email: 'a@example.com' } },
    ...overrides
  })
  /** `{ a: { a: … 'leaf' } }`, `levels` objects deep. */
  const nested = (levels: number) => {
    let value: unknown = 'leaf'
    for (let i = 0; i < levels; i++) value = { a: value }
    return value
  }
  const refusedNode = (errormessage: string) => ({
    status: 400,
    errortype: 'PAYLOAD_VALIDATION_FAILED',
    errormessage,
    errorreporter: 'INTEGRATIONS'
  })
  const sentIds = () =>
    (sandbox.received as { events: { message_id: string }[] }[]).flatMap((body) => body.events.map((e) => e.message_id))

  it('a batch with a null context: the valid event is delivered, the other fails alone (the repro)', async () => {
    const answer = await call('/track', {
      body: { settings: { public_key: KEY }, payload: [trackEvent('m2'), trackEvent('m3', { context: null })] }
    })
    expect(answer.status).toBe(200)
    expect(answer.body).toHaveLength(2)
    expect(answer.body[0].response.statusCode).toBe(200)
    const { multistatus } = answer.body[1]
    expect(multistatus).toHaveLength(2)
    expect(multistatus[0]).toMatchObject({ status: 200 })
    expect(multistatus[0].sent.events.map((entry: { message_id: string }) => entry.message_id)).toEqual(['m2'])
    expect(multistatus[1]).toEqual(refusedNode(NULL_CONTEXT))
    expect(sentIds()).toEqual(['m2'])
  })

  it('keeps every status at its event index when refused and valid events interleave', async () => {
    const payload = [
      trackEvent('i0', { context: { personas: null, traits: { email: 'a@example.com' } } }),
      trackEvent('i1'),
      trackEvent('i2', { properties: { deep: nested(3000) } }),
      trackEvent('i3', { context: undefined }),
      trackEvent('i4', { context: null })
    ]
    const answer = await call('/track', { body: { settings: { public_key: KEY }, payload } })
    const { multistatus } = answer.body[answer.body.length - 1]
    expect(multistatus.map((node: { status: number }) => node.status)).toEqual([400, 200, 400, 400, 400])
    expect(multistatus[0]).toEqual(refusedNode(NULL_PERSONAS))
    expect(multistatus[2]).toEqual(refusedNode(TOO_DEEP('properties')))
    // i3 has no context and no traits: the destination's own refusal, at its own index.
    expect(multistatus[3]).toMatchObject({ errortype: 'PAYLOAD_VALIDATION_FAILED' })
    expect(multistatus[3].errormessage).toMatch(/^Koala needs an email or a Koala profile_id/)
    expect(multistatus[4]).toEqual(refusedNode(NULL_CONTEXT))
    expect(sentIds()).toEqual(['i1'])
  })

  it('a batch in which no event can be processed answers the statuses and sends nothing', async () => {
    const answer = await call('/track', {
      body: { settings: { public_key: KEY }, payload: [trackEvent('n0', { context: null })] }
    })
    expect(answer.body).toEqual([{ multistatus: [refusedNode(NULL_CONTEXT)] }])
    expect(sandbox.stats().requests).toBe(0)
  })

  it.each<[string, Record<string, unknown>, string]>([
    ['a null context', { context: null }, NULL_CONTEXT],
    ['a null context.personas', { context: { personas: null, traits: { email: 'a@example.com' } } }, NULL_PERSONAS],
    [
      'an array context',
      { context: [] },
      'The event\'s "context" is an array: it must be an object (or left out). ' +
        "Segment's spec defines context as an object."
    ],
    [
      'a string context.personas',
      { context: { personas: 'x', traits: { email: 'a@example.com' } } },
      'The event\'s "context.personas" is a string: it must be an object (or left out). ' +
        "Segment's spec defines context.personas as an object."
    ],
    // 3000 levels is an 18 KB event, well within Segment's 32 KB: actions-core's removeUndefined overflowed on it.
    ['a property nested 3000 levels deep', { properties: { p: nested(3000) } }, TOO_DEEP('properties')],
    [
      'a context nested 3000 levels deep',
      { context: { traits: { email: 'a@x.com' }, p: nested(3000) } },
      TOO_DEEP('context')
    ]
  ])('a single event with %s -> [{statusCode: 400}], nothing sent', async (_name, overrides, message) => {
    const answer = await call('/track', {
      body: { settings: { public_key: KEY }, payload: trackEvent('s1', overrides) }
    })
    expect(answer.status).toBe(200)
    expect(answer.body).toEqual([{ statusCode: 400, message, requestError: true }])
    expect(sandbox.stats().requests).toBe(0)
  })

  it(`delivers an event ${MAX_NESTING_DEPTH} levels deep, the depth that works, in a batch and alone`, async () => {
    // The event is level 1, properties level 2, so the property holds MAX - 2 more objects.
    const deepest = trackEvent('d1', { properties: { p: nested(MAX_NESTING_DEPTH - 2) } })
    expect(findTooDeep(deepest)).toBeUndefined()
    expect(findTooDeep({ ...deepest, properties: { p: nested(MAX_NESTING_DEPTH - 1) } })).toEqual({
      under: 'properties'
    })
    const single = await call('/track', { body: { settings: { public_key: KEY }, payload: deepest } })
    expect(single.body[0].response.statusCode).toBe(200)
    const batch = await call('/track', {
      body: { settings: { public_key: KEY }, payload: [{ ...deepest, messageId: 'd2' }] }
    })
    expect(batch.body[batch.body.length - 1].multistatus[0].status).toBe(200)
    expect(sentIds()).toEqual(['d1', 'd2'])
  })

  it('measures depth without recursion, so no nesting overflows the check itself', () => {
    let value: unknown = 1
    for (let i = 0; i < 200_000; i++) value = [value]
    expect(findTooDeep({ list: value })).toEqual({ under: 'list' })
  })

  it('refuses a mapping nested too deeply for the whole request (400)', async () => {
    const answer = await call('/track', {
      body: { settings: { public_key: KEY }, mapping: { properties: nested(3000) }, payload: trackEvent('mp1') }
    })
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual([
      {
        statusCode: 400,
        requestError: true,
        message: TOO_DEEP('properties').replace('The event is', '"mapping" is')
      }
    ])
  })
})

describe('an invalid mapping is a 400 naming the field, never a stack trace', () => {
  const HELP =
    'Each field takes a JSON value or one directive, for example {"@path": "$.properties.plan"} or ' +
    '{"@template": "{{event}}"}.'

  it('the example track with "event": {"@nope": "x"} (the repro)', async () => {
    const body = { ...(example('track.json') as object), mapping: { event: { '@nope': 'x' } } }
    const answer = await call('/track', { body })
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual([
      {
        statusCode: 400,
        requestError: true,
        message: `The mapping is not valid. Field "event" has an invalid directive: @nope. ${HELP}`
      }
    ])
    expect(answer.text).not.toContain(repoRoot)
    expect(answer.text).not.toMatch(/\bat \S+ \(/)
    expect(sandbox.stats().requests).toBe(0)
  })

  it('names every invalid field, in a batch too', async () => {
    const answer = await call('/identify', {
      body: {
        settings: { public_key: KEY },
        mapping: { email: { '@path': 5 }, traits: { '@path': '$.traits', '@template': '{{traits}}' } },
        payload: [identifyEvent()]
      }
    })
    expect(answer.status).toBe(400)
    expect(answer.body[0].message).toBe(
      'The mapping is not valid. Field "email.@path" should be a string or a mapping directive but it is a number. ' +
        `Field "traits" should only have one @-prefixed key but it has 2 keys. ${HELP}`
    )
    expect(sandbox.stats().requests).toBe(0)
  })
})

describe('the Public Key is redacted however it is padded', () => {
  it('an event quoting the key is answered with the key shortened, though the settings pad it', async () => {
    const answer = await call('/track', {
      body: {
        settings: { public_key: ` ${SECRET_KEY} ` },
        payload: {
          type: 'track',
          event: 'Key Pasted',
          messageId: 'srv-padded-1',
          timestamp: '2026-11-30T10:00:00Z',
          properties: { note: `my key is ${SECRET_KEY}` },
          context: { traits: { email: 'pad@example.com' } }
        }
      }
    })
    expect(answer.body[0].response.statusCode).toBe(200)
    expect(JSON.parse(answer.body[0].request.body).events[0].properties.note).toBe('my key is pk_l…')
    expect(answer.text).not.toContain(SECRET_KEY)
  })
})

describe('/authenticate and the actions refuse the same keys with the same message', () => {
  it.each([12345, true, ['pk_example_sandbox_key'], { key: KEY }, null])('public_key %j', async (key) => {
    const message = publicKeyMessage(key)
    const auth = await call('/authenticate', { body: { public_key: key } })
    expect(auth.status).toBe(200)
    expect(auth.body).toEqual({ ok: false, error: message, fields: { public_key: message } })
    const track = await call('/track', { body: { settings: { public_key: key }, payload: identifyEvent() } })
    expect(track.body).toEqual([{ statusCode: 400, requestError: true, message }])
    expect(sandbox.stats().requests).toBe(0)
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
    expect(answer.body).toEqual([{ statusCode: status, requestError: true, message: expect.any(String) }])
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
    crashServer = await startServer(0, { definition: crashing, log: (line) => crashLogs.push(line) })
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
    process.env.KOALA_API_URL = faultySandbox.url
    logs.length = 0
    try {
      const answer = await call('/track', {
        body: { ...(example('track.json') as object), settings: { public_key: SECRET_KEY } }
      })
      expect(answer.body).toEqual([{ statusCode: 500, requestError: true, message: expect.any(String) }])
      const lines = (await requestLines(logs, '/track')).filter((line) => line.startsWith('[server]'))
      expect(lines).toEqual([expect.stringMatching(/^\[server\] POST \/track 200 \d+ ms - RetryableError 500: \S.*$/)])
      expect(lines[0]).toBe(lines[0].split('\n')[0])
      expect(lines[0]).toContain(answer.body[0].message)
      expect(lines.join('\n')).not.toContain('failed:')
      expect(lines.join('\n')).not.toContain(SECRET_KEY)
    } finally {
      process.env.KOALA_API_URL = sandbox.url
    }
  })

  it('a refused event (PayloadValidationError): the request line with its reason', async () => {
    logs.length = 0
    const answer = await call('/identify', {
      body: { settings: { public_key: KEY }, payload: identifyEvent({ traits: { name: 'Anonymous' } }) }
    })
    expect(answer.body[0]).toMatchObject({ statusCode: 400 })
    const lines = (await requestLines(logs, '/identify')).filter((line) => line.startsWith('[server]'))
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
    expect(answer.body).toEqual([{ statusCode: 500, requestError: true, message: 'cannot read the settings of pk_l…' }])
    await requestLines(crashLogs, '/crash')
    expect(crashLogs[0]).toMatch(
      /^\[server\] POST \/crash failed: TypeError: cannot read the settings of pk_l…\n\s+at /
    )
    expect(crashLogs[1]).toMatch(/^\[server\] POST \/crash 200 \d+ ms$/)
    expect(crashLogs.join('\n')).not.toContain(SECRET_KEY)
  })
})

describe('the Public Key is redacted where it is a property name', () => {
  it('in the batch multistatus (sent) and the exchanges (the repro)', async () => {
    const key = 'pk_secret_ZZZ_987'
    const tolerant = await startSandbox(0)
    process.env.KOALA_API_URL = tolerant.url
    try {
      const answer = await call('/track', {
        body: {
          settings: { public_key: key },
          payload: [
            {
              type: 'track',
              event: 'Keyed',
              messageId: 'srv-keyed-1',
              timestamp: '2026-11-30T10:00:00Z',
              properties: { [key]: 1, nested: { [`${key}_suffix`]: key } },
              context: { traits: { email: 'ada@example.com' } }
            }
          ]
        }
      })
      expect(answer.text).not.toContain(key)
      const node = answer.body[answer.body.length - 1].multistatus[0]
      expect(node.status).toBe(200)
      expect(node.sent.events[0].properties).toEqual({ 'pk_s…': 1, nested: { 'pk_s…_suffix': 'pk_s…' } })
      // Koala itself got the event as given.
      expect((tolerant.received[0] as { events: { properties: unknown }[] }).events[0].properties).toEqual({
        [key]: 1,
        nested: { [`${key}_suffix`]: key }
      })
    } finally {
      process.env.KOALA_API_URL = sandbox.url
      await tolerant.close()
    }
  })
})

describe('DNS rebinding: the server answers only requests addressed to a loopback name', () => {
  const refusal = (host: string) =>
    `This request is addressed to the host "${host}": this local server answers only requests addressed to ` +
    '127.0.0.1, localhost or [::1] (any port), so a web page cannot reach it through a domain name that points at ' +
    'this machine (DNS rebinding).'

  it('refuses an action from Host attacker.example with 403, before anything is sent', async () => {
    const host = `attacker.example:${server.port}`
    const answer = await hostRequest(`${server.url}/identify`, host, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ settings: { public_key: KEY }, payload: identifyEvent() })
    })
    expect(answer.status).toBe(403)
    expect(JSON.parse(answer.text)).toEqual([{ statusCode: 403, requestError: true, message: refusal(host) }])
    expect(sandbox.stats().requests).toBe(0)
  })

  it('refuses /authenticate and /manifest too, in their shapes', async () => {
    const host = 'attacker.example'
    const auth = await hostRequest(`${server.url}/authenticate`, host, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ public_key: KEY })
    })
    expect(auth.status).toBe(403)
    expect(JSON.parse(auth.text)).toEqual({ ok: false, error: refusal(host) })
    const manifest = await hostRequest(`${server.url}/manifest`, host)
    expect(manifest.status).toBe(403)
    expect(manifest.text).not.toContain('Koala (Cloud)')
  })

  it.each(['127.0.0.1:PORT', 'localhost:PORT', '[::1]:PORT', 'localhost'])('serves Host %s', async (host) => {
    const answer = await hostRequest(`${server.url}/manifest`, host.replace('PORT', String(server.port)))
    expect(answer.status).toBe(200)
    expect(JSON.parse(answer.text)).toMatchObject({ directoryName: 'koala-cloud' })
  })
})

describe('a batch only when the mapping enables batching, and a mapping of fields', () => {
  it('refuses an array payload with "enable_batching": false (400), sending nothing', async () => {
    const answer = await call('/track', {
      body: { ...(example('batch.json') as object), mapping: { enable_batching: false } }
    })
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual([
      {
        statusCode: 400,
        requestError: true,
        message:
          'Batching is off in the mapping ("enable_batching": false), so Segment would never send these events as a ' +
          'batch: send one event per request (an object "payload"), or set "enable_batching": true in the mapping.'
      }
    ])
    expect(sandbox.stats().requests).toBe(0)
  })

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

  it('refuses a directive at the root of "mapping" with what to send instead', async () => {
    const answer = await call('/track', {
      body: { ...(example('track.json') as object), mapping: { '@path': '$.x' } }
    })
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual([
      {
        statusCode: 400,
        requestError: true,
        message:
          '"mapping" must be an object of field names, each with a value or one directive, for example ' +
          '{"event": {"@path": "$.event"}}; it has the directive "@path" at its top level. Put each directive under ' +
          'the field it fills, or leave "mapping" out to use the defaults.'
      }
    ])
    expect(sandbox.stats().requests).toBe(0)
  })
})
