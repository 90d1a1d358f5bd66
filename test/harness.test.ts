import type { DecoratedResponse, DestinationDefinition, JSONObject, SegmentEvent } from '@segment/actions-core'
import { createHarness, DEFAULT_REQUEST_TIMEOUT_MS, KOALA_API_URL, KOALA_APP_URL, rewriteUrl } from '../src/harness'
import type { Settings } from '../src/harness'
import { listenOnLoopback } from '../src/lib/loopback'
import type { LoopbackServer } from '../src/lib/loopback'
import { startSandbox } from '../src/sandbox/sandbox-server'
import type { RunningSandbox } from '../src/sandbox/sandbox-server'

// The harness (src/harness): the local tools' one way in to the destination. It must send what the destination
// addresses to Koala where the local tools say, with their timeout, whatever the destination's folder reads.

const targets = { apiUrl: 'http://127.0.0.1:3001', appUrl: 'http://127.0.0.1:3009' }

describe('rewriteUrl', () => {
  it.each([
    [`${KOALA_API_URL}/web/projects/pk_1/batch`, 'http://127.0.0.1:3001/web/projects/pk_1/batch'],
    [`${KOALA_API_URL}/web/projects/pk_1/auth?x=1`, 'http://127.0.0.1:3001/web/projects/pk_1/auth?x=1'],
    [KOALA_API_URL, 'http://127.0.0.1:3001'],
    [`${KOALA_APP_URL}/api/v1/deletion-requests`, 'http://127.0.0.1:3009/api/v1/deletion-requests'],
    // Another host that starts with the same letters, and anything else, stay as they are.
    [`${KOALA_API_URL}.example.com/web/projects/pk_1/batch`, `${KOALA_API_URL}.example.com/web/projects/pk_1/batch`],
    ['https://example.com/api2.getkoala.com/x', 'https://example.com/api2.getkoala.com/x'],
    ['http://api2.getkoala.com/web', 'http://api2.getkoala.com/web']
  ])('%s -> %s', (url, expected) => {
    expect(rewriteUrl(url, targets)).toBe(expected)
  })
})

describe('createHarness', () => {
  it("defaults to Koala's own hosts and the local tools' timeout; trims a base's final slashes", () => {
    expect(createHarness().targets).toEqual({
      apiUrl: KOALA_API_URL,
      appUrl: KOALA_APP_URL,
      requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS
    })
    expect(createHarness().sendsToKoala).toBe(true)
    const local = createHarness({ apiUrl: 'http://127.0.0.1:3001//', appUrl: ' http://127.0.0.1:3009/ ' })
    expect(local.targets).toEqual({ ...targets, requestTimeoutMs: 10_000 })
    expect(local.sendsToKoala).toBe(false)
    expect(local.koalaUrl(`${KOALA_API_URL}/auth`)).toBe('http://127.0.0.1:3001/auth')
  })

  it.each([0, -1, 1.5, Number.NaN])('refuses the timeout %p', (requestTimeoutMs) => {
    expect(() => createHarness({ requestTimeoutMs })).toThrow('whole number of milliseconds above 0')
  })

  it('hints at the option behind a redirect, once', () => {
    const harness = createHarness(targets)
    expect(harness.hintFor(301, 'Koala answered with a redirect (301).')).toBe(
      'The local tools sent this request to http://127.0.0.1:3001: if KOALA_API_URL is set, check it.'
    )
    expect(harness.hintFor(302, 'Redirected.', 'deletion')).toContain('to http://127.0.0.1:3009: if KOALA_APP_URL')
    expect(harness.hintFor(301, 'If KOALA_API_URL is set, check it.')).toBeUndefined()
    expect(harness.hintFor(500, 'Koala is temporarily unavailable (500).')).toBeUndefined()
  })
})

/** A stand-in for Koala at a loopback port: records each request's method and path; waits `delayMs` before answering. */
async function fakeKoala(delayMs = 0): Promise<LoopbackServer & { seen: string[] }> {
  const seen: string[] = []
  const server = await listenOnLoopback((req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}`)
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"deletion_request_id":"d-1"}')
    }, delayMs)
  }, 0)
  return Object.assign(server, { seen })
}

/** A stand-in destination that addresses Koala by its constants from each of its functions, giving no timeout. */
function stub(timeout?: number): DestinationDefinition<Settings> {
  const options = { method: 'POST' as const, body: '{}', ...(timeout ? { timeout } : {}) }
  return {
    name: 'Stub',
    mode: 'cloud',
    authentication: {
      scheme: 'custom',
      fields: { public_key: { label: 'Key', description: 'The key', type: 'string', required: true } },
      testAuthentication: (request) => request(`${KOALA_API_URL}/web/projects/pk_stub/auth`, { method: 'GET' })
    },
    onDelete: (request) => request(`${KOALA_APP_URL}/api/v1/deletion-requests`, options),
    actions: {
      send: {
        title: 'Send',
        description: 'Posts to the batch endpoint',
        fields: {},
        perform: (request) => request(`${KOALA_API_URL}/web/projects/pk_stub/batch`, options),
        performBatch: (request) => request(`${KOALA_API_URL}/web/projects/pk_stub/accounts/batch`, options)
      },
      alone: { title: 'Alone', description: 'No batch', fields: {}, perform: () => 'nothing sent' }
    }
  }
}

const settings = { public_key: 'pk_stub' } as Settings
const bundle = { settings, mapping: {}, auth: undefined }

describe('the redirected definition', () => {
  let koala: Awaited<ReturnType<typeof fakeKoala>>
  beforeAll(async () => {
    koala = await fakeKoala()
  })
  afterAll(() => koala.close())
  beforeEach(() => void (koala.seen.length = 0))

  it('sends perform, performBatch, onDelete and testAuthentication where the harness says', async () => {
    const harness = createHarness({ definition: stub(), apiUrl: koala.url, appUrl: `${koala.url}/app` })
    const destination = harness.destination()
    await destination.actions.send.execute({ ...bundle, data: {} })
    await destination.actions.send.executeBatch({ ...bundle, data: [{}] })
    await harness.testAuthentication(settings)
    const deletion = await harness.deletePerson({ userId: 'ann@example.com' }, settings as unknown as JSONObject)
    expect(koala.seen).toEqual([
      'POST /web/projects/pk_stub/batch',
      'POST /web/projects/pk_stub/accounts/batch',
      'GET /web/projects/pk_stub/auth',
      'POST /app/api/v1/deletion-requests'
    ])
    // The deletion's exchange is recorded (the framework records only actions' requests), its URL as sent.
    expect(deletion.exchanges.map((exchange) => exchange.request.url)).toEqual([
      `${koala.url}/app/api/v1/deletion-requests`
    ])
    expect(deletion.exchanges[0].response.body).toEqual({ deletion_request_id: 'd-1' })
  })

  it('adds its timeout to a request that gives none, and keeps a timeout the request gives', async () => {
    const timeoutOf = async (definition: DestinationDefinition<Settings>) => {
      const destination = createHarness({ definition, apiUrl: koala.url, requestTimeoutMs: 4321 }).destination()
      await destination.actions.send.execute({ ...bundle, data: {} })
      return (destination.responses[0] as DecoratedResponse & { options: { timeout?: unknown } }).options.timeout
    }
    expect(await timeoutOf(stub())).toBe(4321)
    expect(await timeoutOf(stub(999))).toBe(999)
  })

  it('times a request out after its timeout', async () => {
    const slow = await fakeKoala(1000)
    try {
      const harness = createHarness({ definition: stub(), apiUrl: slow.url, requestTimeoutMs: 100 })
      const started = Date.now()
      await expect(harness.destination().actions.send.execute({ ...bundle, data: {} })).rejects.toThrow(
        'Request timed out after 100ms'
      )
      expect(Date.now() - started).toBeLessThan(900)
    } finally {
      await slow.close()
    }
  })

  it('leaves everything else as the definition has it: no performBatch where there was none', () => {
    const original = stub()
    const { definition } = createHarness({ definition: original, apiUrl: koala.url })
    expect(definition.actions.alone.performBatch).toBeUndefined()
    expect(typeof definition.actions.send.performBatch).toBe('function')
    expect(definition.authentication?.fields).toBe(original.authentication?.fields)
    expect(definition.actions.send.fields).toBe(original.actions.send.fields)
    expect(JSON.stringify(definition)).toBe(JSON.stringify(original))
  })
})

describe('Koala (Cloud) through the harness, the environment left alone', () => {
  const names = ['KOALA_API_URL', 'KOALA_APP_URL', 'KOALA_REQUEST_TIMEOUT_MS'] as const
  const saved = names.map((name) => process.env[name])
  let sandbox: RunningSandbox
  beforeAll(async () => {
    for (const name of names) delete process.env[name]
    sandbox = await startSandbox(0)
  })
  afterAll(async () => {
    await sandbox.close()
    names.forEach((name, index) => {
      if (saved[index] !== undefined) process.env[name] = saved[index]
    })
  })

  it('delivers an identify and a deletion to the sandbox, the hosts rewritten by the harness alone', async () => {
    const harness = createHarness({ apiUrl: sandbox.url, appUrl: sandbox.url })
    const event = {
      type: 'identify',
      messageId: 'harness-1',
      timestamp: '2026-12-01T10:00:00Z',
      traits: { email: 'ann@example.com' }
    } as unknown as SegmentEvent
    const ran = await harness.runAction('identify', {
      payload: event as unknown as JSONObject,
      settings: { public_key: 'pk_harness' },
      mapping: {}
    })
    expect(ran).toEqual([expect.objectContaining({ response: expect.objectContaining({ statusCode: 200 }) })])
    expect(sandbox.received).toEqual([expect.objectContaining({ email: 'ann@example.com' })])
    const deletion = await harness.deletePerson(
      { userId: 'ann@example.com' },
      {
        public_key: 'pk_harness',
        secret_key: 'sk_harness_secret'
      }
    )
    expect(deletion.exchanges[0].request.url).toBe(`${sandbox.url}/api/v1/deletion-requests`)
    expect(deletion.exchanges[0].response.statusCode).toBe(200)
    for (const name of names) expect(process.env[name]).toBeUndefined()
  })
})
