import { hostRequest } from './support/host-request'
import * as path from 'path'
import { IntegrationError } from '@segment/actions-core'
import type { DestinationDefinition } from '@segment/actions-core'
import { createHarness } from '../src/harness'
import type { Settings } from '../src/harness'
import { listenOnLoopback } from '../src/lib/loopback'
import { startSandbox } from '../src/sandbox/sandbox-server'
import { startServer } from '../src/server/server'
import type { RunningServer } from '../src/server/server'
import {
  call,
  identifyEvent,
  KEY,
  local,
  refusedWith,
  repoRoot,
  sandboxHarness,
  SECRET_KEY,
  useLocalServer,
  withServer
} from './support/local-server'

// The local server's security: the Public Key redacted wherever it could show, CORS, DNS rebinding.

useLocalServer()

describe('the Public Key is redacted', () => {
  it('in the exchanges an answer shows and in the log lines', async () => {
    local.logs.length = 0
    const answer = await call('/identify', { body: { settings: { public_key: SECRET_KEY }, payload: identifyEvent() } })
    expect(answer.body[0].request.url).toBe(`${local.sandbox.url}/web/projects/pk_l…/batch`)
    expect(answer.body[0].response.statusCode).toBe(200)
    expect(answer.text).not.toContain(SECRET_KEY)
    expect(local.logs.length).toBeGreaterThanOrEqual(2)
    expect(local.logs.join('\n')).not.toContain(SECRET_KEY)
  })

  it('in an error that quotes the URL (Koala unreachable)', async () => {
    // A port that was free a moment ago: the connection is refused.
    const closed = await listenOnLoopback(() => undefined, 0)
    await closed.close()
    await withServer(createHarness({ apiUrl: closed.url }), async (base) => {
      const answer = await call('/identify', {
        base,
        body: { settings: { public_key: SECRET_KEY }, payload: identifyEvent() }
      })
      expect(answer.body).toEqual(refusedWith(503, expect.any(String)))
      expect(answer.body[0].message).toMatch(/^Could not reach Koala/)
      expect(answer.text).not.toContain(SECRET_KEY)
    })
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
    quotingServer = await startServer(0, { harness: createHarness({ definition: quoting }) })
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
    expect(JSON.parse(text)).toEqual(refusedWith(500, 'could not read data/table.txt (from index.js)'))
  })

  it('a stack overflow the checks did not foresee: 400, so Segment does not retry it', async () => {
    const text = await post('/overflow')
    expect(JSON.parse(text)).toEqual(
      refusedWith(
        400,
        "Segment's framework ran out of stack space on this request (Maximum call stack size exceeded), usually " +
          'because a value in it is nested too deeply (up to 1000 levels work). Sending it again will not help.'
      )
    )
  })

  it('in the error message', async () => {
    const text = await post('/fail')
    expect(JSON.parse(text)).toEqual(refusedWith(502, 'POST /web/projects/pk_l…/batch failed'))
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

describe('the Public Key is redacted where it is a property name', () => {
  it('in the batch multistatus (sent) and the exchanges (the repro)', async () => {
    const key = 'pk_secret_ZZZ_987'
    const tolerant = await startSandbox(0)
    try {
      const answer = await withServer(sandboxHarness(tolerant), (base) =>
        call('/track', {
          base,
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
      )
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
      await tolerant.close()
    }
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
      expect(local.sandbox.stats().requests).toBe(0)
    }
  )
})

describe('DNS rebinding: the server answers only requests addressed to a loopback name', () => {
  const refusal = (host: string) =>
    `This request is addressed to the host "${host}": this local server answers only requests addressed to ` +
    '127.0.0.1, localhost or [::1] (any port), so a web page cannot reach it through a domain name that points at ' +
    'this machine (DNS rebinding).'

  it('refuses an action from Host attacker.example with 403, before anything is sent', async () => {
    const host = `attacker.example:${local.server.port}`
    const answer = await hostRequest(`${local.server.url}/identify`, host, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ settings: { public_key: KEY }, payload: identifyEvent() })
    })
    expect(answer.status).toBe(403)
    expect(JSON.parse(answer.text)).toEqual(refusedWith(403, refusal(host)))
    expect(local.sandbox.stats().requests).toBe(0)
  })

  it('refuses /authenticate and /manifest too, in their shapes', async () => {
    const host = 'attacker.example'
    const auth = await hostRequest(`${local.server.url}/authenticate`, host, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ public_key: KEY })
    })
    expect(auth.status).toBe(403)
    expect(JSON.parse(auth.text)).toEqual({ ok: false, error: refusal(host) })
    const manifest = await hostRequest(`${local.server.url}/manifest`, host)
    expect(manifest.status).toBe(403)
    expect(manifest.text).not.toContain('Koala (Cloud)')
  })

  it.each(['127.0.0.1:PORT', 'localhost:PORT', '[::1]:PORT', 'localhost'])('serves Host %s', async (host) => {
    const answer = await hostRequest(`${local.server.url}/manifest`, host.replace('PORT', String(local.server.port)))
    expect(answer.status).toBe(200)
    expect(JSON.parse(answer.text)).toMatchObject({ directoryName: 'koala-cloud' })
  })
})
