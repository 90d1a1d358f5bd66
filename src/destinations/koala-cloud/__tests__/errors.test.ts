import nock from 'nock'
import { IntegrationError, InvalidAuthenticationError, RetryableError } from '@segment/actions-core'
import type { JSONObject } from '@segment/actions-core'
import { koalaError, networkError } from '../errors'
import {
  BATCH_PATH,
  ENTRY_CONTEXT,
  identify,
  identifyBody,
  KOALA,
  perform,
  performBatch,
  PUBLIC_KEY_HELP,
  SENT_AT,
  thrown
} from './__helpers__/helpers'

// Every answer of Koala through both paths: one event through perform (testAction), and two events of the same
// person through performBatch (testBatchAction), which Koala receives as one request of two entries. Both paths must
// give the same status, code and message: perform throws them, the batch records them at both indexes.

const ann = identify('ann')
const ann2 = identify('ann', { messageId: 'm-ann-2' })
const entry = (messageId: string) => ({
  type: 'identify',
  message_id: messageId,
  sent_at: SENT_AT,
  traits: { email: 'ann@example.com' },
  context: ENTRY_CONTEXT
})
/** The one request the batch makes. */
const batchBody = { ...identifyBody('ann'), identifies: [entry('m-ann'), entry('m-ann-2')] }

const ACTIONS_CORE_TIMEOUT_MS = 10_000
const realSetTimeout = global.setTimeout

/**
 * The timeout, honestly and fast: Koala (nock) holds its answer for a minute, and actions-core's own request timer
 * (its default, 10 s, as the folder sets no timeout) is the one that fires, aborting the request with actions-core's
 * TimeoutError. Only that one timer is shortened, to 10 ms of real time: the error's message still says 10000ms
 * because it comes from the request's options. Every other timer (nock's delay among them) is untouched.
 */
function shortenActionsCoreTimeout() {
  return jest
    .spyOn(global, 'setTimeout')
    .mockImplementation(((handler: () => void, ms?: number, ...args: unknown[]) =>
      realSetTimeout(handler, ms === ACTIONS_CORE_TIMEOUT_MS ? 10 : ms, ...args)) as typeof setTimeout)
}

afterEach(() => {
  jest.restoreAllMocks()
  nock.abortPendingRequests()
})

interface Answer {
  name: string
  reply: (interceptor: nock.Interceptor) => nock.Scope
  /** Omitted: success. */
  error?: { class: new (...args: never[]) => Error; status: number; code: string; message: string }
  /** Requests Koala receives in the batch (413 splits). */
  batchRequests?: number
  timeout?: boolean
}

const retryable = (status: number, message: string) => ({
  class: RetryableError,
  status,
  code: 'RETRYABLE_ERROR',
  message
})
const refusedKey = (status: number, said = '') => ({
  class: InvalidAuthenticationError,
  status: 401,
  code: 'INVALID_AUTHENTICATION',
  message: `Koala refused the Public Key (${status}${said}). ${PUBLIC_KEY_HELP}`
})
const unavailable = (status: number) => retryable(status, `Koala is temporarily unavailable (${status}: down).`)

const answers: Answer[] = [
  { name: '200', reply: (i) => i.reply(200, { ok: true }) },
  { name: '202 without a body', reply: (i) => i.reply(202) },
  {
    name: '302',
    reply: (i) => i.reply(302, '', { Location: 'https://login.example.com/' }),
    error: retryable(502, "Koala's answer was a redirect (302), which is not followed.")
  },
  {
    name: '301',
    reply: (i) => i.reply(301, '', { Location: 'https://api3.getkoala.com/' }),
    error: retryable(502, "Koala's answer was a redirect (301), which is not followed.")
  },
  {
    name: '400',
    reply: (i) => i.reply(400, { error: 'email is not valid.' }),
    error: {
      class: IntegrationError,
      status: 400,
      code: 'BAD_REQUEST',
      message: 'Koala rejected the request (400: email is not valid).'
    }
  },
  { name: '401', reply: (i) => i.reply(401, { error: 'invalid key' }), error: refusedKey(401, ': invalid key') },
  { name: '403', reply: (i) => i.reply(403, 'Forbidden'), error: refusedKey(403, ': Forbidden') },
  { name: '404', reply: (i) => i.reply(404), error: refusedKey(404) },
  { name: '408', reply: (i) => i.reply(408, { message: 'down' }), error: unavailable(408) },
  {
    name: '413',
    reply: (i) => i.reply(413),
    batchRequests: 3,
    error: {
      class: IntegrationError,
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
      message: 'Koala rejected the request (413). Map fewer or smaller properties and traits.'
    }
  },
  { name: '423', reply: (i) => i.reply(423, { error: 'down' }), error: unavailable(423) },
  {
    name: '429',
    reply: (i) => i.reply(429, { error: 'slow down' }, { 'Retry-After': '30' }),
    error: retryable(429, 'Koala rate-limited the request (429: slow down).')
  },
  { name: '500', reply: (i) => i.reply(500, { error: 'down' }), error: unavailable(500) },
  { name: '502', reply: (i) => i.reply(502, 'down'), error: unavailable(502) },
  { name: '503', reply: (i) => i.reply(503, { errors: 'down' }), error: unavailable(503) },
  {
    name: 'timeout (no answer within actions-core’s 10 s)',
    reply: (i) => i.delayConnection(60_000).reply(200, { ok: true }),
    timeout: true,
    error: retryable(504, 'Koala did not answer in time (Request timed out after 10000ms).')
  },
  {
    name: 'connection reset',
    reply: (i) => i.replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })),
    error: retryable(503, 'Could not reach Koala (ECONNRESET).')
  }
]

describe('each answer of Koala: the same outcome in perform and performBatch', () => {
  it.each(answers.map((answer) => [answer.name, answer] as const))('%s', async (_name, answer) => {
    const timer = answer.timeout ? shortenActionsCoreTimeout() : undefined
    const performScope = answer.reply(nock(KOALA).post(BATCH_PATH, identifyBody('ann') as nock.RequestBodyMatcher))
    const outcome = perform('identify', ann)
    if (!answer.error) {
      expect((await outcome).responses.map((response) => response.status)).toEqual([Number(answer.name.slice(0, 3))])
    } else {
      const error = await thrown(outcome)
      expect(error).toBeInstanceOf(answer.error.class)
      expect({ status: error.status, code: error.code, message: error.message }).toEqual({
        status: answer.error.status,
        code: answer.error.code,
        message: answer.error.message
      })
    }
    expect(performScope.isDone()).toBe(true)
    if (timer) expect(timer).toHaveBeenCalledWith(expect.any(Function), ACTIONS_CORE_TIMEOUT_MS)

    const bodies: JSONObject[] = []
    answer.reply(
      nock(KOALA)
        .post(BATCH_PATH, (body: JSONObject) => bodies.push(body) > 0)
        .times(answer.batchRequests ?? 1)
    )
    const multistatus = await performBatch('identify', [ann, ann2])

    if (answer.batchRequests === 3) {
      // 413: the whole request, then each half alone; each entry fails on its own.
      expect(bodies).toEqual([batchBody, identifyBody('ann'), identifyBody('ann', 'm-ann-2')])
    } else {
      expect(bodies).toEqual([batchBody])
    }
    const answered = answer.timeout || answer.name === 'connection reset' ? '' : expect.anything()
    multistatus.forEach((result, index) => {
      const sent = answer.batchRequests === 3 ? bodies[index + 1] : batchBody
      if (!answer.error) {
        expect(result).toEqual({ status: Number(answer.name.slice(0, 3)), sent, body: answered })
      } else {
        expect(result).toEqual({
          status: answer.error.status,
          errortype: answer.error.code,
          errormessage: answer.error.message,
          errorreporter: 'DESTINATION',
          sent,
          body: answered
        })
      }
    })
    expect(multistatus).toHaveLength(2)
  })
})

describe("Koala's reason, as errors quote it", () => {
  it('quotes as text an answer labelled JSON that is not JSON', async () => {
    nock(KOALA).post(BATCH_PATH).reply(500, '<html>oops</html>', { 'Content-Type': 'application/json' })
    const error = await thrown(perform('identify', ann))
    expect(error.message).toBe('Koala is temporarily unavailable (500: <html>oops</html>).')
  })

  it.each([
    ['its `error`', { error: 'bad email' }, ': bad email'],
    ['its `message`', { message: 'type is required' }, ': type is required'],
    ['its `errors`, as JSON', { errors: ['a', 'b'] }, ': ["a","b"]'],
    ['a text answer, trimmed, without its final period', '  Bad request.. \n', ': Bad request'],
    ['nothing for an empty answer', '', ''],
    ['nothing for an object without a reason', { ok: false }, ''],
    ['at most 300 characters', { error: 'x'.repeat(400) }, `: ${'x'.repeat(300)}`]
  ])('%s', (_name, body, said) => {
    expect(koalaError(400, body).message).toBe(`Koala rejected the request (400${said}).`)
  })

  it('another 4xx or a 501 keeps its status, with the code actions-core gives that status', () => {
    expect(koalaError(422, { error: 'no' })).toMatchObject({ status: 422, code: 'UNPROCESSABLE_ENTITY' })
    expect(koalaError(501, {})).toMatchObject({ status: 501, code: 'NOT_IMPLEMENTED' })
    expect(koalaError(501, {})).not.toBeInstanceOf(RetryableError)
    expect(koalaError(460, {})).toMatchObject({ status: 460, code: 'UNKNOWN_ERROR' })
  })

  it('the deletion API refuses its Secret Key by 401 and 403 only: its 404 is not about the key', () => {
    expect(koalaError(403, {}, 'deletion').message).toBe(
      'Koala refused the Secret Key (403). Check the Secret Key setting: create a secret API key in Koala under ' +
        'Settings > API Keys (the Public Key does not work here).'
    )
    expect(koalaError(404, {}, 'deletion')).toMatchObject({ status: 404, code: 'NOT_FOUND' })
  })
})

describe('a failure without an answer', () => {
  it.each([
    [
      "Segment's abort signal, as actions-core throws it",
      { name: 'RequestClientError', message: 'Request was aborted' },
      504,
      'Koala did not answer in time (Request was aborted).'
    ],
    ['a timeout, quoted', { name: 'TimeoutError', message: 'late' }, 504, 'Koala did not answer in time (late).'],
    [
      'a system error: its code',
      { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND' },
      503,
      'Could not reach Koala (ENOTFOUND).'
    ],
    [
      'undici: the code of its cause',
      { name: 'TypeError', cause: { code: 'ECONNREFUSED' } },
      503,
      'Could not reach Koala (ECONNREFUSED).'
    ],
    ['only a name', { name: 'FetchError' }, 503, 'Could not reach Koala (FetchError).'],
    ['nothing at all', undefined, 503, 'Could not reach Koala (network error).']
  ])('%s', (_name, error, status, message) => {
    const result = networkError(error)
    expect(result).toBeInstanceOf(RetryableError)
    expect({ status: result.status, message: result.message }).toEqual({ status, message })
  })
})
