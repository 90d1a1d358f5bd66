import dns from 'dns'
import nock from 'nock'
import { defaultValues, RetryableError } from '@segment/actions-core'
import type { JSONObject, SegmentEvent } from '@segment/actions-core'
import { identifyBody, identifyEvent, KEY, useNock } from './destination/helpers'
import { createHarness } from '../src/harness'
import type { Settings } from '../src/harness'
import { listenOnLoopback } from '../src/lib/loopback'
import type { LoopbackServer } from '../src/lib/loopback'

// Outside the destination's folder because they need Node's sockets and resolver, which the folder's tests may not
// import; the folder checks the same mapping with nock's replyWithError. The destination runs through the harness,
// which sends it to `target` (a loopback server, a closed port, an unknown host), as the local tools do.
useNock()

let target = 'http://127.0.0.1:9'
const settings = { public_key: KEY } as Settings

/** The Identify action's `perform` on one event, sent to {@link target}. @returns what it threw. */
async function performError(action: 'identify', one: SegmentEvent) {
  const destination = createHarness({ apiUrl: target }).destination()
  const mapping = defaultValues(destination.actions[action].definition.fields)
  const outcome = await destination.actions[action]
    .execute({ data: one as never, settings, mapping, auth: undefined })
    .then(
      () => undefined,
      (error: Error & { status?: number }) => error
    )
  if (!outcome) throw new Error('perform did not throw')
  return outcome
}

/** The Identify action's `performBatch`, sent to {@link target}. @returns the multistatus, one entry per event. */
function runBatch(action: 'identify', events: SegmentEvent[]) {
  const destination = createHarness({ apiUrl: target }).destination()
  const mapping = defaultValues(destination.actions[action].definition.fields)
  return destination.executeBatch(action, { events, mapping, settings, subscriptionMetadata: {} })
}

const event = identifyEvent('m1', { email: 'ann@example.com' })
const body = identifyBody('m1', 'ann@example.com')

describe('network failures (real loopback sockets): retryable, the key never quoted', () => {
  let server: LoopbackServer
  let base = ''
  let closedBase = ''

  beforeAll(async () => {
    // Answers Bob's requests, resets the connection of anyone else's.
    server = await listenOnLoopback((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => {
        const sent = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { email?: string }
        if (sent.email === 'bob@example.com') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }))
        } else {
          req.socket.destroy()
        }
      })
    }, 0)
    base = server.url
    // A port that was just free and is closed again: connecting to it is refused.
    const closed = await listenOnLoopback(() => undefined, 0)
    await closed.close()
    closedBase = closed.url
  })
  afterAll(() => server.close())
  beforeEach(() => nock.enableNetConnect(/^(127\.0\.0\.1|koala\.test)(:\d+)?$/))
  afterEach(() => {
    nock.disableNetConnect()
    jest.restoreAllMocks()
  })

  /** Makes every lookup of koala.test fail as an unknown host would, without asking any DNS server. */
  function failDns() {
    target = 'http://koala.test'
    return jest.spyOn(dns, 'lookup').mockImplementation((hostname: string, ...rest: unknown[]) => {
      const callback = rest[rest.length - 1] as (error: Error) => void
      const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
        code: 'ENOTFOUND',
        syscall: 'getaddrinfo',
        hostname
      })
      process.nextTick(() => callback(error))
    })
  }

  const bob = identifyEvent('b1', { email: 'bob@example.com' })
  const bobBody = {
    email: 'bob@example.com',
    traits: { email: 'bob@example.com' },
    identifies: [{ ...(body.identifies as JSONObject[])[0], message_id: 'b1', traits: { email: 'bob@example.com' } }]
  }
  const failedEntry = (message: string, sent: JSONObject) => ({
    status: 503,
    errortype: 'RETRYABLE_ERROR',
    errormessage: message,
    sent,
    body: '',
    errorreporter: 'DESTINATION'
  })

  /** Koala unreachable: perform throws a retryable 503; a batch fails each payload with its own body. */
  async function expectUnreachable(message: string) {
    const error = await performError('identify', event)
    expect(error).toBeInstanceOf(RetryableError)
    expect({ status: error.status, message: error.message }).toEqual({ status: 503, message })
    expect(error.message).not.toContain(KEY)
    expect(await runBatch('identify', [event, bob])).toStrictEqual([
      failedEntry(message, body),
      failedEntry(message, bobBody)
    ])
  }

  it('connection reset: perform throws a retryable 503', async () => {
    target = base
    const error = await performError('identify', event)
    expect(error).toBeInstanceOf(RetryableError)
    expect(error.status).toBe(503)
    // Only the code: the client's message holds the URL, with the Public Key.
    expect(error.message).toBe('Could not reach Koala (ECONNRESET).')
  })

  it('connection reset: in a batch, only the reset request’s payload fails', async () => {
    target = base
    const message = 'Could not reach Koala (ECONNRESET).'
    expect(await runBatch('identify', [event, bob])).toStrictEqual([
      failedEntry(message, body),
      { status: 200, sent: bobBody, body: { ok: true } }
    ])
  })

  it('connection refused: perform throws a retryable 503; a batch fails each payload with its own body', async () => {
    target = closedBase
    await expectUnreachable('Could not reach Koala (ECONNREFUSED).')
  })

  it('DNS failure: perform throws a retryable 503; a batch fails each payload with its own body', async () => {
    const lookup = failDns()
    await expectUnreachable('Could not reach Koala (ENOTFOUND).')
    expect(lookup).toHaveBeenCalled()
  })
})
