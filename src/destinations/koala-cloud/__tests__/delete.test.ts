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
import { EXPECTED_USER_AGENT, headersOf, KEY, useNock } from './__helpers__/helpers'

// Segment's deletion requests (`onDelete`), run as Segment runs them: the framework's `onDelete(event, settings)`.

useNock()

const APP = 'https://app.getkoala.com'
const PATH = '/api/v1/deletion-requests'
const SECRET = 'sk_live_0123456789abcdef'
const SETTINGS = { public_key: KEY, secret_key: SECRET }
const ID = '3772f22a-4f8d-4d14-8fa2-987a38c3456e'

// Written out here, not imported from the code under test, so a change to what users read fails.
const SECRET_HELP =
  'Check the Secret Key setting: create a secret API key in Koala under Settings > API Keys (the Public Key does ' +
  'not work here).'
const EMAIL_ONLY =
  "Koala deletes people by email only: Segment's anonymousId is not Koala's visitor id (the profile_id of its ko_id " +
  'cookie), and Koala has no other user id. Send your userId as the email address (identify calls with userId set ' +
  'to the email), or ask Koala to delete this person by email.'

interface Sent {
  url: string
  headers: Record<string, string>
  body: unknown
}

/** Answers every deletion request with `status` and `answer`; returns the live list of requests. */
function recordDeletions(status = 200, answer: JSONObject | string = { deletion_request_id: ID }, base = APP) {
  const sent: Sent[] = []
  nock(base)
    .persist()
    .post(PATH)
    .reply(function (uri, body) {
      sent.push({ url: `${base}${uri}`, headers: headersOf(this.req.headers), body })
      return [status, answer]
    })
  return sent
}

function deletion(userId: unknown, anonymousId: unknown = 'anon-1'): SegmentEvent {
  return { type: 'identify', userId, anonymousId } as unknown as SegmentEvent
}

async function runDelete(event: SegmentEvent, settings: JSONObject = SETTINGS) {
  const integration = createTestIntegration(destination)
  if (!integration.onDelete) throw new Error('the destination has no onDelete')
  return integration.onDelete(event, settings)
}

/** What `onDelete` throws; fails the test when nothing is thrown. */
async function deleteError(event: SegmentEvent, settings: JSONObject = SETTINGS) {
  const outcome = await runDelete(event, settings).then(
    () => undefined,
    (error: Error & { status?: number; code?: string }) => error
  )
  if (!outcome) throw new Error('onDelete did not throw')
  return outcome
}

/** Nothing of the Secret Key beyond the four characters `redactKey` shows. */
function expectNoSecret(text: string) {
  expect(text).not.toContain(SECRET)
  expect(text).not.toContain(SECRET.slice(0, 8))
}

describe('onDelete: a userId that is an email', () => {
  it('asks Koala to delete that email, with the Secret Key as bearer and the User-Agent', async () => {
    const sent = recordDeletions()
    const result = (await runDelete(deletion('ann@example.com'))) as unknown as { status: number; data: unknown }
    expect(sent).toEqual([
      {
        url: `${APP}${PATH}`,
        headers: expect.objectContaining({
          authorization: `Bearer ${SECRET}`,
          'user-agent': EXPECTED_USER_AGENT,
          'content-type': 'application/json'
        }),
        body: { emails: ['ann@example.com'] }
      }
    ])
    expect({ status: result.status, data: result.data }).toEqual({ status: 200, data: { deletion_request_id: ID } })
    // The key travels in that one header only.
    const carrying = Object.entries(sent[0].headers).filter(([, value]) => value.includes(SECRET))
    expect(carrying.map(([name]) => name)).toEqual(['authorization'])
    expect(sent[0].url).not.toContain(SECRET)
  })

  it('sends the email as every event sends it: trimmed and lowercased', async () => {
    const sent = recordDeletions()
    await runDelete(deletion('  Ann.Lee@Example.COM ', null))
    expect(sent.map((request) => request.body)).toEqual([{ emails: ['ann.lee@example.com'] }])
  })

  it('trims the Secret Key as it is pasted', async () => {
    const sent = recordDeletions()
    await runDelete(deletion('ann@example.com'), { public_key: KEY, secret_key: ` ${SECRET}\n` })
    expect(sent[0].headers.authorization).toBe(`Bearer ${SECRET}`)
  })

  it('goes to KOALA_APP_URL when set (the local tools point it at the sandbox), without trailing slashes', async () => {
    process.env.KOALA_APP_URL = ' http://127.0.0.1:4012/ '
    const sent = recordDeletions(200, { deletion_request_id: ID }, 'http://127.0.0.1:4012')
    await runDelete(deletion('ann@example.com'))
    expect(sent.map((request) => request.url)).toEqual([`http://127.0.0.1:4012${PATH}`])
  })
})

describe('onDelete: whom Koala cannot delete, refused before any request', () => {
  it.each([
    ['a userId that is not an email', 'usr_123', 'The userId of this deletion request is not an email address'],
    ['a userId with no domain', 'ann@', 'The userId of this deletion request is not an email address'],
    ['a numeric userId', 12345, 'The userId of this deletion request is not an email address'],
    ['no userId, only an anonymousId', undefined, 'This deletion request has no userId'],
    ['a null userId', null, 'This deletion request has no userId'],
    ['a blank userId', '   ', 'This deletion request has no userId']
  ])('%s: PayloadValidationError (400), not retried', async (_name, userId, start) => {
    const sent = recordDeletions()
    const error = await deleteError(deletion(userId))
    expect(error).toBeInstanceOf(PayloadValidationError)
    expect({ status: error.status, code: error.code, message: error.message }).toEqual({
      status: 400,
      code: 'PAYLOAD_VALIDATION_FAILED',
      message: `${start}, so Koala cannot tell who to delete. ${EMAIL_ONLY}`
    })
    expect(sent).toEqual([])
  })

  it('does not quote the userId: the report should not keep what the person asked to delete', async () => {
    const error = await deleteError(deletion('usr_secret_person_42'))
    expect(error.message).not.toContain('usr_secret_person_42')
  })
})

describe('onDelete: the Secret Key', () => {
  it.each([
    ['missing', { public_key: KEY }, 'empty'],
    ['empty', { public_key: KEY, secret_key: '' }, 'empty'],
    ['blank', { public_key: KEY, secret_key: '   ' }, 'not a key']
  ])('%s: InvalidAuthenticationError (401) naming the setting, no request', async (_name, settings, what) => {
    const sent = recordDeletions()
    const error = await deleteError(deletion('ann@example.com'), settings)
    expect(error).toBeInstanceOf(InvalidAuthenticationError)
    expect({ status: error.status, code: error.code, message: error.message }).toEqual({
      status: 401,
      code: 'INVALID_AUTHENTICATION',
      message:
        `The Secret Key setting is ${what}, and Koala takes deletion requests only with a secret API key, so this ` +
        `person was not deleted. ${SECRET_HELP}`
    })
    expect(sent).toEqual([])
  })

  it('the Public Key pasted in its place: InvalidAuthenticationError, no request', async () => {
    const sent = recordDeletions()
    const error = await deleteError(deletion('ann@example.com'), { public_key: KEY, secret_key: KEY })
    expect(error).toBeInstanceOf(InvalidAuthenticationError)
    expect(error.message).toBe(
      'The Secret Key setting holds the Public Key, which Koala does not take for deletion requests, so this person ' +
        `was not deleted. ${SECRET_HELP}`
    )
    expect(sent).toEqual([])
  })

  it('the Public Key is still required, as for every request (the framework validates the settings)', async () => {
    const error = await deleteError(deletion('ann@example.com'), { secret_key: SECRET })
    expect(error.message).toBe("The root value is missing the required field 'public_key'.")
  })
})

describe("onDelete: Koala's answers", () => {
  const echoed = { error: `Invalid API key ${SECRET}` }
  const shown = `${SECRET.slice(0, 4)}…`

  it.each([
    [
      401,
      InvalidAuthenticationError,
      401,
      `Koala answered 401 for this Secret Key: Invalid API key ${shown}. ${SECRET_HELP}`
    ],
    [
      403,
      InvalidAuthenticationError,
      401,
      `Koala answered 403 for this Secret Key: Invalid API key ${shown}. ${SECRET_HELP}`
    ],
    [500, RetryableError, 500, `Koala is temporarily unavailable (500): Invalid API key ${shown}.`],
    [503, RetryableError, 503, `Koala is temporarily unavailable (503): Invalid API key ${shown}.`],
    [404, IntegrationError, 404, `Koala rejected the request (404): Invalid API key ${shown}.`],
    [400, IntegrationError, 400, `Koala rejected the request (400): Invalid API key ${shown}.`]
  ])(
    '%i: the error class and status the other requests get, the key redacted from the quoted answer',
    async (status, errorClass, errorStatus, message) => {
      recordDeletions(status, echoed)
      const error = await deleteError(deletion('ann@example.com'))
      expect(error).toBeInstanceOf(errorClass)
      expect({ status: error.status, message: error.message }).toEqual({ status: errorStatus, message })
      expectNoSecret(error.message)
      expectNoSecret(JSON.stringify(error))
    }
  )

  it('429: RetryableError quoting Retry-After', async () => {
    nock(APP).post(PATH).reply(429, { error: 'Too many requests' }, { 'Retry-After': '30' })
    const error = await deleteError(deletion('ann@example.com'))
    expect(error).toBeInstanceOf(RetryableError)
    expect({ status: error.status, message: error.message }).toEqual({
      status: 429,
      message: 'Koala rate-limited the request (429): Too many requests. Koala asked to retry after 30 seconds.'
    })
  })

  it('a network failure: RetryableError (503)', async () => {
    nock(APP)
      .post(PATH)
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
    const error = await deleteError(deletion('ann@example.com'))
    expect(error).toBeInstanceOf(RetryableError)
    expect({ status: error.status, message: error.message }).toEqual({
      status: 503,
      message: `Could not reach Koala (ECONNRESET request to ${APP}${PATH} failed, reason: socket hang up).`
    })
    expectNoSecret(error.message)
  })

  it('a redirect is not followed: IntegrationError naming KOALA_APP_URL', async () => {
    nock(APP).post(PATH).reply(302, '', { Location: 'https://app.getkoala.com/login' })
    const error = await deleteError(deletion('ann@example.com'))
    expect(error).toBeInstanceOf(IntegrationError)
    expect({ status: error.status, message: error.message }).toEqual({
      status: 302,
      message:
        "Koala answered with a redirect (302 to https://app.getkoala.com/login); deletion requests are only sent to Koala's " +
        'app itself, so it was not followed. If KOALA_APP_URL is set, check it.'
    })
  })

  it.each([
    ['an HTML page', '<html>Log in</html>'],
    ['an empty id', { deletion_request_id: '' }],
    ['another answer', { ok: true }]
  ])('200 with %s is no deletion: IntegrationError (502)', async (_name, answer) => {
    recordDeletions(200, answer)
    const error = await deleteError(deletion('ann@example.com'))
    expect(error).toBeInstanceOf(IntegrationError)
    expect({ status: error.status, code: error.code, message: error.message }).toEqual({
      status: 502,
      code: 'BAD_GATEWAY',
      message:
        'Koala answered 200 without a deletion_request_id, so the deletion is not confirmed. If KOALA_APP_URL is set, ' +
        'check it.'
    })
  })
})
