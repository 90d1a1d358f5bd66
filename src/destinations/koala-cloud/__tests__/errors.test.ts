import nock from 'nock'
import { IntegrationError, InvalidAuthenticationError, RetryableError } from '@segment/actions-core'
import type { JSONObject, SegmentEvent } from '@segment/actions-core'
import { requestTimeoutMs } from '../config'
import { networkError } from '../errors'
import {
  BATCH_PATH,
  expectBody,
  HELP,
  identifyBody,
  identifyEvent,
  KEY,
  KOALA,
  LIBRARY,
  newDestination,
  performError,
  runBatch,
  runEvent,
  SENT_AT,
  trackEvent,
  useNock
} from './__helpers__/helpers'

useNock()

const event = identifyEvent('m1', { email: 'ann@example.com' })
const body = identifyBody('m1', 'ann@example.com')

/** `Error` with a Node system-error code, as Node's sockets and resolver raise them. */
function systemError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code })
}

interface Case {
  name: string
  mock: (scope: nock.Interceptor) => nock.Scope
  errorClass: new (...args: never[]) => Error
  status: number
  code: string
  message: string
  /** The multistatus entry's status and errortype for the same answer in performBatch. */
  batchStatus: number
  errortype: string
  batchBody: JSONObject | string
  /** `KOALA_REQUEST_TIMEOUT_MS` for this case (only the timeout case shortens it). */
  timeoutMs?: string
}

const cases: Case[] = [
  {
    name: '400 with a reason',
    mock: (i) => i.reply(400, { error: 'email is not valid' }),
    errorClass: IntegrationError,
    status: 400,
    code: 'BAD_REQUEST',
    message: 'Koala rejected the request (400): email is not valid.',
    batchStatus: 400,
    errortype: 'BAD_REQUEST',
    batchBody: { error: 'email is not valid' }
  },
  {
    name: '400 with a message field',
    mock: (i) => i.reply(400, { message: 'identifies[0].type is required' }),
    errorClass: IntegrationError,
    status: 400,
    code: 'BAD_REQUEST',
    message: 'Koala rejected the request (400): identifies[0].type is required.',
    batchStatus: 400,
    errortype: 'BAD_REQUEST',
    batchBody: { message: 'identifies[0].type is required' }
  },
  {
    name: '400 with a list of errors',
    mock: (i) => i.reply(400, { errors: ['sent_at is missing', 'type is missing'] }),
    errorClass: IntegrationError,
    status: 400,
    code: 'BAD_REQUEST',
    message: 'Koala rejected the request (400): ["sent_at is missing","type is missing"].',
    batchStatus: 400,
    errortype: 'BAD_REQUEST',
    batchBody: { errors: ['sent_at is missing', 'type is missing'] }
  },
  {
    name: '401',
    mock: (i) => i.reply(401, { error: 'Unknown public key' }),
    errorClass: InvalidAuthenticationError,
    status: 401,
    code: 'INVALID_AUTHENTICATION',
    message: `Koala answered 401 for this Public Key: Unknown public key. ${HELP}`,
    batchStatus: 401,
    errortype: 'UNAUTHORIZED',
    batchBody: { error: 'Unknown public key' }
  },
  {
    name: '403',
    mock: (i) => i.reply(403, 'Forbidden', { 'content-type': 'text/plain' }),
    errorClass: InvalidAuthenticationError,
    status: 401,
    code: 'INVALID_AUTHENTICATION',
    message: `Koala answered 403 for this Public Key: Forbidden. ${HELP}`,
    batchStatus: 403,
    errortype: 'FORBIDDEN',
    batchBody: 'Forbidden'
  },
  {
    name: '404 with an empty body',
    mock: (i) => i.reply(404, ''),
    errorClass: InvalidAuthenticationError,
    status: 401,
    code: 'INVALID_AUTHENTICATION',
    message: `Koala answered 404 for this Public Key. ${HELP}`,
    batchStatus: 404,
    errortype: 'NOT_FOUND',
    batchBody: ''
  },
  {
    name: '429 with Retry-After in seconds',
    mock: (i) => i.reply(429, { error: 'Too many requests' }, { 'Retry-After': '30' }),
    errorClass: RetryableError,
    status: 429,
    code: 'RETRYABLE_ERROR',
    message: 'Koala rate-limited the request (429): Too many requests. Koala asked to retry after 30 seconds.',
    batchStatus: 429,
    errortype: 'TOO_MANY_REQUESTS',
    batchBody: { error: 'Too many requests' }
  },
  {
    name: '429 with Retry-After as an HTTP date',
    mock: (i) => i.reply(429, '', { 'Retry-After': 'Mon, 30 Nov 2026 10:01:00 GMT' }),
    errorClass: RetryableError,
    status: 429,
    code: 'RETRYABLE_ERROR',
    message: 'Koala rate-limited the request (429). Koala asked to retry after Mon, 30 Nov 2026 10:01:00 GMT.',
    batchStatus: 429,
    errortype: 'TOO_MANY_REQUESTS',
    batchBody: ''
  },
  {
    name: '429 without Retry-After',
    mock: (i) => i.reply(429, ''),
    errorClass: RetryableError,
    status: 429,
    code: 'RETRYABLE_ERROR',
    message: 'Koala rate-limited the request (429).',
    batchStatus: 429,
    errortype: 'TOO_MANY_REQUESTS',
    batchBody: ''
  },
  {
    name: '500 with JSON',
    mock: (i) => i.reply(500, { error: 'internal error' }),
    errorClass: RetryableError,
    status: 500,
    code: 'RETRYABLE_ERROR',
    message: 'Koala is temporarily unavailable (500): internal error.',
    batchStatus: 500,
    errortype: 'INTERNAL_SERVER_ERROR',
    batchBody: { error: 'internal error' }
  },
  {
    name: '502 with an HTML page',
    mock: (i) => i.reply(502, '<html><body>Bad Gateway</body></html>', { 'content-type': 'text/html' }),
    errorClass: RetryableError,
    status: 502,
    code: 'RETRYABLE_ERROR',
    message: 'Koala is temporarily unavailable (502): <html><body>Bad Gateway</body></html>.',
    batchStatus: 502,
    errortype: 'BAD_GATEWAY',
    batchBody: '<html><body>Bad Gateway</body></html>'
  },
  {
    name: '503 with an empty body',
    mock: (i) => i.reply(503),
    errorClass: RetryableError,
    status: 503,
    code: 'RETRYABLE_ERROR',
    message: 'Koala is temporarily unavailable (503).',
    batchStatus: 503,
    errortype: 'SERVICE_UNAVAILABLE',
    batchBody: ''
  },
  {
    name: '500 that claims JSON but is not',
    mock: (i) => i.reply(500, '{"error": "trunc', { 'content-type': 'application/json' }),
    errorClass: RetryableError,
    status: 500,
    code: 'RETRYABLE_ERROR',
    message: 'Koala is temporarily unavailable (500): {"error": "trunc.',
    batchStatus: 500,
    errortype: 'INTERNAL_SERVER_ERROR',
    batchBody: '{"error": "trunc'
  },
  {
    name: '522 from a CDN in front of Koala (a 5xx outside the framework list)',
    mock: (i) => i.reply(522, 'Connection timed out', { 'content-type': 'text/plain' }),
    errorClass: RetryableError,
    status: 522,
    code: 'RETRYABLE_ERROR',
    message: 'Koala is temporarily unavailable (522): Connection timed out.',
    batchStatus: 522,
    errortype: 'UNKNOWN_ERROR',
    batchBody: 'Connection timed out'
  },
  {
    name: '501 (not implemented: no retry changes it)',
    mock: (i) => i.reply(501, { error: 'Not Implemented' }),
    errorClass: IntegrationError,
    status: 501,
    code: 'NOT_IMPLEMENTED',
    message: 'Koala rejected the request (501): Not Implemented.',
    batchStatus: 501,
    errortype: 'NOT_IMPLEMENTED',
    batchBody: { error: 'Not Implemented' }
  },
  {
    name: '302 redirect (not followed: the event never goes elsewhere)',
    mock: (i) => i.reply(302, '<html>moved</html>', { Location: 'https://elsewhere.example.com/landing' }),
    errorClass: IntegrationError,
    status: 302,
    code: 'FOUND',
    message:
      "Koala answered with a redirect (302 to https://elsewhere.example.com/landing); events are only sent to Koala's " +
      'ingestion API itself, so it was not followed. If KOALA_API_URL is set, check it.',
    batchStatus: 302,
    errortype: 'FOUND',
    batchBody: '<html>moved</html>'
  },
  {
    name: '307 redirect to another project path (key redacted in the message)',
    mock: (i) => i.reply(307, '', { Location: 'https://api2.getkoala.com/web/projects/pk_other_key/batch' }),
    errorClass: IntegrationError,
    status: 307,
    code: 'TEMPORARY_REDIRECT',
    message:
      "Koala answered with a redirect (307 to https://api2.getkoala.com/web/projects/pk_o…/batch); events are only sent to Koala's " +
      'ingestion API itself, so it was not followed. If KOALA_API_URL is set, check it.',
    batchStatus: 307,
    errortype: 'TEMPORARY_REDIRECT',
    batchBody: ''
  },
  {
    name: 'timeout',
    mock: (i) => i.delay(2_000).reply(200, { ok: true }),
    timeoutMs: '200',
    errorClass: RetryableError,
    status: 504,
    code: 'RETRYABLE_ERROR',
    message: 'Koala did not answer within 200 ms (ETIMEDOUT Request timed out after 200ms).',
    batchStatus: 504,
    errortype: 'GATEWAY_TIMEOUT',
    batchBody: ''
  }
]

describe('Koala’s answers in perform: thrown with the framework’s error classes', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    // A short timeout, so the timeout case need not wait 10 s; see requestTimeoutMs() in config.ts.
    if (c.timeoutMs) process.env.KOALA_REQUEST_TIMEOUT_MS = c.timeoutMs
    const scope = c.mock(nock(KOALA).post(BATCH_PATH, body))
    const error = await performError('identify', event)

    expect(error).toBeInstanceOf(c.errorClass)
    expect({ status: error.status, code: error.code, message: error.message }).toEqual({
      status: c.status,
      code: c.code,
      message: c.message
    })
    expect(error.message).not.toContain(KEY)
    // Sent once: perform never retries by itself (Segment does, for retryable errors).
    expect(scope.isDone()).toBe(true)
  })

  it('a non-retryable 400 is not a RetryableError', async () => {
    nock(KOALA).post(BATCH_PATH).reply(400, { error: 'bad' })
    expect(await performError('identify', event)).not.toBeInstanceOf(RetryableError)
  })

  it('keeps Koala’s reason short (500 characters)', async () => {
    const page = `<html>${'x'.repeat(2_000)}</html>`
    nock(KOALA).post(BATCH_PATH).reply(502, page)
    expect((await performError('identify', event)).message).toBe(
      `Koala is temporarily unavailable (502): ${page.slice(0, 500)}.`
    )
  })

  it.each([
    ['an empty 200', () => nock(KOALA).post(BATCH_PATH).reply(200), ''],
    ['a 202 in plain text', () => nock(KOALA).post(BATCH_PATH).reply(202, 'accepted'), 'accepted'],
    [
      'a 200 that claims JSON but is not',
      () => nock(KOALA).post(BATCH_PATH).reply(200, '{"ok":', { 'content-type': 'application/json' }),
      '{"ok":'
    ],
    ['a 204', () => nock(KOALA).post(BATCH_PATH).reply(204), '']
  ])('never crashes on %s: it is a success', async (_name, mock, output) => {
    mock()
    await expect(runEvent('identify', event)).resolves.toMatchObject({ output })
  })
})

describe('Koala’s answers in performBatch: only the payloads of the failed request change', () => {
  const annEvents = [
    identifyEvent('a1', { email: 'ann@example.com' }),
    identifyEvent('a2', { email: 'ann@example.com' })
  ]
  const bobEvent = identifyEvent('b1', { email: 'bob@example.com' })
  const entry = (messageId: string, email: string) => ({
    type: 'identify',
    message_id: messageId,
    sent_at: SENT_AT,
    traits: { email },
    context: { ...LIBRARY, source: 'segment-cloud' }
  })
  const annBody = {
    email: 'ann@example.com',
    traits: { email: 'ann@example.com' },
    identifies: [entry('a1', 'ann@example.com'), entry('a2', 'ann@example.com')]
  }
  const bobBody = {
    email: 'bob@example.com',
    traits: { email: 'bob@example.com' },
    identifies: [entry('b1', 'bob@example.com')]
  }

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    if (c.timeoutMs) process.env.KOALA_REQUEST_TIMEOUT_MS = c.timeoutMs
    c.mock(nock(KOALA).post(BATCH_PATH, annBody))
    expectBody(bobBody)

    const multistatus = await runBatch('identify', [annEvents[0], bobEvent, annEvents[1]])

    const failed = {
      status: c.batchStatus,
      errortype: c.errortype,
      errormessage: c.message,
      sent: annBody,
      body: c.batchBody,
      errorreporter: 'DESTINATION'
    }
    expect(multistatus).toStrictEqual([failed, { status: 200, sent: bobBody, body: { ok: true } }, failed])
    expect(nock.pendingMocks()).toEqual([])
  })

  it.each([
    ['an empty 200', 200, ''],
    ['a 202 in plain text', 202, 'accepted']
  ])('never crashes on %s', async (_name, status, answer) => {
    nock(KOALA).post(BATCH_PATH, bobBody).reply(status, answer)
    expect(await runBatch('identify', [bobEvent])).toStrictEqual([{ status, sent: bobBody, body: answer }])
  })
})

describe('413: split in halves until it fits', () => {
  // Message ids are per person (`ann-m0`, `bob-m0`), as Segment's are unique per event.
  const idOf = (email: string, i: number) => `${email.split('@')[0]}-m${i}`
  const people = (count: number, email = 'ann@example.com'): SegmentEvent[] =>
    Array.from({ length: count }, (_, i) => identifyEvent(idOf(email, i), { email, i }))
  const bodyOf = (indexes: number[], email = 'ann@example.com') => ({
    email,
    traits: { email, i: indexes[indexes.length - 1] },
    identifies: indexes.map((i) => ({
      type: 'identify',
      message_id: idOf(email, i),
      sent_at: SENT_AT,
      traits: { email, i },
      context: { ...LIBRARY, source: 'segment-cloud' }
    }))
  })
  const TOO_LARGE = { error: 'Payload Too Large' }

  it('resends halves, then quarters, and fails only the single entry that is too large on its own', async () => {
    const all = bodyOf([0, 1, 2, 3, 4])
    const firstHalf = bodyOf([0, 1, 2])
    const secondHalf = bodyOf([3, 4])
    const [q1, q2] = [bodyOf([0, 1]), bodyOf([2])]
    const [single3, single4] = [bodyOf([3]), bodyOf([4])]
    expectBody(all, 413, TOO_LARGE)
    expectBody(firstHalf, 413, TOO_LARGE)
    expectBody(q1)
    expectBody(q2)
    expectBody(secondHalf, 413, TOO_LARGE)
    expectBody(single3)
    expectBody(single4, 413, TOO_LARGE)

    const multistatus = await runBatch('identify', people(5))

    expect(multistatus).toStrictEqual([
      { status: 200, sent: q1, body: { ok: true } },
      { status: 200, sent: q1, body: { ok: true } },
      { status: 200, sent: q2, body: { ok: true } },
      { status: 200, sent: single3, body: { ok: true } },
      {
        status: 413,
        errortype: 'PAYLOAD_TOO_LARGE',
        errormessage:
          'The event is larger than Koala accepts in one request (413): Payload Too Large. Map fewer or smaller properties and traits.',
        sent: single4,
        body: TOO_LARGE,
        errorreporter: 'DESTINATION'
      }
    ])
    expect(nock.pendingMocks()).toEqual([])
  })

  it('does not touch another person’s request', async () => {
    expectBody(bodyOf([0, 1]), 413, TOO_LARGE)
    expectBody(bodyOf([0]))
    expectBody(bodyOf([1]))
    expectBody(bodyOf([0], 'bob@example.com'))
    const events = [...people(2), ...people(1, 'bob@example.com')]
    expect(await runBatch('identify', events)).toStrictEqual([
      { status: 200, sent: bodyOf([0]), body: { ok: true } },
      { status: 200, sent: bodyOf([1]), body: { ok: true } },
      { status: 200, sent: bodyOf([0], 'bob@example.com'), body: { ok: true } }
    ])
    expect(nock.pendingMocks()).toEqual([])
  })

  it('in perform, a single too-large event is a non-retryable 413 saying so', async () => {
    const track = trackEvent('t1', 'Big', { blob: 'x' }, { email: 'ann@example.com' })
    nock(KOALA).post(BATCH_PATH).reply(413, TOO_LARGE)
    const error = await runEvent('track', track).then(
      () => undefined,
      (e: Error) => e
    )
    expect(error).toBeInstanceOf(IntegrationError)
    expect(error).not.toBeInstanceOf(RetryableError)
    expect(error).toMatchObject({
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
      message:
        'The event is larger than Koala accepts in one request (413): Payload Too Large. Map fewer or smaller properties and traits.'
    })
    expect(nock.pendingMocks()).toEqual([])
  })
})

describe('the request timeout', () => {
  it.each([
    [undefined, 10_000],
    ['250', 250],
    ['0', 10_000],
    ['-5', 10_000],
    ['1.5', 10_000],
    ['soon', 10_000]
  ])('KOALA_REQUEST_TIMEOUT_MS=%s gives %i ms', (value, expected) => {
    if (value === undefined) delete process.env.KOALA_REQUEST_TIMEOUT_MS
    else process.env.KOALA_REQUEST_TIMEOUT_MS = value
    expect(requestTimeoutMs()).toBe(expected)
  })

  it('is set on every request (testAuthentication included)', async () => {
    process.env.KOALA_REQUEST_TIMEOUT_MS = '150'
    nock(KOALA).get(`/web/projects/${KEY}/auth`).delay(2_000).reply(200, { ok: true })
    await expect(newDestination().testAuthentication({ public_key: KEY })).rejects.toThrow(
      new Error(
        'Credentials are invalid: 504 Koala did not answer within 150 ms (ETIMEDOUT Request timed out after 150ms).' +
          ' The Public Key was not checked: try again in a few minutes.'
      )
    )
  })

  it('a network failure message never carries the key (it quotes the request URL)', () => {
    // Unit-level: with nock 14, a socket error on a GET (the auth check) escapes as an unhandled 'error' event and
    // crashes the Jest worker, so this is checked on networkError itself, which testAuthentication also uses.
    const error = networkError(
      systemError('ECONNRESET', `request to ${KOALA}/web/projects/${KEY}/auth failed, reason: socket hang up`)
    )
    expect(error).toBeInstanceOf(RetryableError)
    expect(error.status).toBe(503)
    expect(error.message).toBe(
      `Could not reach Koala (ECONNRESET request to ${KOALA}/web/projects/${KEY.slice(
        0,
        4
      )}…/auth failed, reason: socket hang up).`
    )
  })
})

describe("Koala's answer is read once (actions-core's skipResponseCloning)", () => {
  it('perform reads the answer from the response itself and still returns it', async () => {
    expectBody(body, 200, { ok: true, queued: 1 })
    const { output, responses } = await runEvent('identify', event)
    expect(output).toEqual({ ok: true, queued: 1 })
    expect(responses).toHaveLength(1)
    expect(responses[0].options.skipResponseCloning).toBe(true)
    expect({ data: responses[0].data, content: responses[0].content }).toEqual({
      data: { ok: true, queued: 1 },
      content: '{"ok":true,"queued":1}'
    })
  })
})

describe('network failures (mocked by nock): retryable, key redacted', () => {
  const bob = identifyEvent('b1', { email: 'bob@example.com' })
  const bobBody = {
    email: 'bob@example.com',
    traits: { email: 'bob@example.com' },
    identifies: [{ ...body.identifies[0], message_id: 'b1', traits: { email: 'bob@example.com' } }]
  }
  const reset = `Could not reach Koala (ECONNRESET request to ${KOALA}/web/projects/${KEY.slice(
    0,
    4
  )}…/batch failed, reason: socket hang up).`

  it('connection reset: perform throws a retryable 503', async () => {
    nock(KOALA).post(BATCH_PATH).replyWithError(systemError('ECONNRESET', 'socket hang up'))
    const error = await performError('identify', event)
    expect(error).toBeInstanceOf(RetryableError)
    expect({ status: error.status, message: error.message }).toEqual({ status: 503, message: reset })
  })

  it('connection reset: in a batch, only the reset request’s payload fails', async () => {
    nock(KOALA).post(BATCH_PATH, body).replyWithError(systemError('ECONNRESET', 'socket hang up'))
    nock(KOALA).post(BATCH_PATH, bobBody).reply(200, { ok: true })
    expect(await runBatch('identify', [event, bob])).toStrictEqual([
      {
        status: 503,
        errortype: 'SERVICE_UNAVAILABLE',
        errormessage: reset,
        sent: body,
        body: '',
        errorreporter: 'DESTINATION'
      },
      { status: 200, sent: bobBody, body: { ok: true } }
    ])
  })

  it('unknown host: perform throws a retryable 503 naming it', async () => {
    nock(KOALA).post(BATCH_PATH).replyWithError(systemError('ENOTFOUND', 'getaddrinfo ENOTFOUND api2.getkoala.com'))
    const error = await performError('identify', event)
    expect(error).toBeInstanceOf(RetryableError)
    expect({ status: error.status, message: error.message }).toEqual({
      status: 503,
      message: `Could not reach Koala (ENOTFOUND request to ${KOALA}/web/projects/${KEY.slice(
        0,
        4
      )}…/batch failed, reason: getaddrinfo ENOTFOUND api2.getkoala.com).`
    })
  })
})
