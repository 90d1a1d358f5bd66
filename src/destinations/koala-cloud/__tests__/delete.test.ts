import nock from 'nock'
import {
  createTestIntegration,
  IntegrationError,
  InvalidAuthenticationError,
  PayloadValidationError,
  RetryableError
} from '@segment/actions-core'
import type { JSONObject, SegmentEvent } from '@segment/actions-core'
import destination from '../index'
import { KEY, thrown, USER_AGENT } from './__helpers__/helpers'

// Segment's deletion requests, run as Segment runs them: the framework's onDelete(event, settings).

const APP = 'https://app.getkoala.com'
const PATH = '/api/v1/deletion-requests'
const SECRET = 'sk_live_0123456789abcdef'
const SETTINGS = { public_key: KEY, secret_key: SECRET }
const ID = '3772f22a-4f8d-4d14-8fa2-987a38c3456e'
const SECRET_HELP =
  'Check the Secret Key setting: create a secret API key in Koala under Settings > API Keys (the Public Key does ' +
  'not work here).'

const deletion = (userId: unknown) => ({ type: 'identify', userId, anonymousId: 'anon-1' } as unknown as SegmentEvent)

function runDelete(event: SegmentEvent, settings: JSONObject = SETTINGS) {
  const testDestination = createTestIntegration(destination)
  expect(testDestination.onDelete).toBeInstanceOf(Function)
  return (testDestination.onDelete as NonNullable<typeof testDestination.onDelete>)(event, settings)
}

describe('onDelete: a userId that is an email', () => {
  it('asks Koala to delete it, trimmed and lowercased, with the (trimmed) Secret Key as bearer', async () => {
    const scope = nock(APP, {
      reqheaders: {
        authorization: `Bearer ${SECRET}`,
        'user-agent': USER_AGENT,
        'content-type': 'application/json'
      }
    })
      .post(PATH, { emails: ['ann@example.com'] })
      .reply(200, { deletion_request_id: ID })
    const result = await runDelete(deletion(' Ann@Example.COM '), { public_key: KEY, secret_key: ` ${SECRET}\n` })
    expect(scope.isDone()).toBe(true)
    expect(result).toMatchObject({ status: 200, data: { deletion_request_id: ID } })
  })
})

describe('onDelete: refused before any request', () => {
  it.each([
    ['no userId', undefined],
    ['a userId that is not an email', 'usr_123'],
    ['a userId with a display name', 'Ann <ann@example.com>'],
    ['a number', 42]
  ])('%s: PayloadValidationError, the userId not quoted', async (_name, userId) => {
    const error = await thrown(runDelete(deletion(userId)))
    expect(error).toBeInstanceOf(PayloadValidationError)
    expect(error.message).toBe(
      'The userId of this deletion request is not an email address, and Koala deletes people by email only. ' +
        'Ask Koala to delete this person by email.'
    )
  })

  it.each([
    ['no Secret Key', { public_key: KEY }],
    ['an empty Secret Key', { public_key: KEY, secret_key: '  ' }],
    ['the Public Key in its place', { public_key: KEY, secret_key: ` ${KEY}` }]
  ])('%s: InvalidAuthenticationError', async (_name, settings) => {
    const error = await thrown(runDelete(deletion('ann@example.com'), settings))
    expect(error).toBeInstanceOf(InvalidAuthenticationError)
    expect({ status: error.status, message: error.message }).toEqual({
      status: 401,
      message: `Koala takes deletion requests only with a Secret Key, so this person was not deleted. ${SECRET_HELP}`
    })
  })

  it('the Public Key is still required (the framework validates the settings)', async () => {
    const error = await thrown(runDelete(deletion('ann@example.com'), { secret_key: SECRET }))
    expect(error.message).toBe("The root value is missing the required field 'public_key'.")
  })
})

describe("onDelete: Koala's answers", () => {
  it.each([
    [
      '401',
      (i: nock.Interceptor) => i.reply(401, { error: 'bad token' }),
      InvalidAuthenticationError,
      401,
      'INVALID_AUTHENTICATION',
      `Koala refused the Secret Key (401: bad token). ${SECRET_HELP}`
    ],
    [
      '403',
      (i: nock.Interceptor) => i.reply(403),
      InvalidAuthenticationError,
      401,
      'INVALID_AUTHENTICATION',
      `Koala refused the Secret Key (403). ${SECRET_HELP}`
    ],
    [
      '404',
      (i: nock.Interceptor) => i.reply(404, 'Not Found'),
      IntegrationError,
      404,
      'NOT_FOUND',
      'Koala rejected the request (404: Not Found).'
    ],
    [
      '302',
      (i: nock.Interceptor) => i.reply(302, '', { Location: `${APP}/login` }),
      RetryableError,
      502,
      'RETRYABLE_ERROR',
      "Koala's answer was a redirect (302), which is not followed."
    ],
    [
      '429',
      (i: nock.Interceptor) => i.reply(429, { error: 'slow down' }),
      RetryableError,
      429,
      'RETRYABLE_ERROR',
      'Koala rate-limited the request (429: slow down).'
    ],
    [
      '500',
      (i: nock.Interceptor) => i.reply(500),
      RetryableError,
      500,
      'RETRYABLE_ERROR',
      'Koala is temporarily unavailable (500).'
    ],
    [
      'a connection reset',
      (i: nock.Interceptor) => i.replyWithError({ code: 'ECONNRESET', message: 'socket hang up' }),
      RetryableError,
      503,
      'RETRYABLE_ERROR',
      'Could not reach Koala (ECONNRESET).'
    ],
    [
      '200 without a deletion_request_id',
      (i: nock.Interceptor) => i.reply(200, { ok: true }),
      IntegrationError,
      502,
      'BAD_GATEWAY',
      'Koala answered 200 without a deletion_request_id, so the deletion is not confirmed.'
    ],
    [
      '200 labelled JSON that is not JSON',
      (i: nock.Interceptor) => i.reply(200, '{"deletion_request_id":', { 'Content-Type': 'application/json' }),
      IntegrationError,
      502,
      'BAD_GATEWAY',
      'Koala answered 200 without a deletion_request_id, so the deletion is not confirmed.'
    ],
    [
      '200 with a text answer',
      (i: nock.Interceptor) => i.reply(200, 'done'),
      IntegrationError,
      502,
      'BAD_GATEWAY',
      'Koala answered 200 without a deletion_request_id, so the deletion is not confirmed.'
    ]
  ])('%s', async (_name, reply, errorClass, status, code, message) => {
    const scope = reply(nock(APP).post(PATH, { emails: ['ann@example.com'] }))
    const error = await thrown(runDelete(deletion('ann@example.com')))
    expect(scope.isDone()).toBe(true)
    expect(error).toBeInstanceOf(errorClass)
    expect({ status: error.status, code: error.code, message: error.message }).toEqual({ status, code, message })
  })
})
