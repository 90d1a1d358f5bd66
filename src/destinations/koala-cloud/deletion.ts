import {
  getErrorCodeFromHttpStatus,
  IntegrationError,
  InvalidAuthenticationError,
  isObject,
  PayloadValidationError
} from '@segment/actions-core'
import type { DestinationDefinition, ModifiedResponse } from '@segment/actions-core'
import { koalaAppUrl, redactKey, requestTimeoutMs, SECRET_KEY_HELP, SKIP_RESPONSE_CLONING, USER_AGENT } from './config'
import { koalaError, networkError } from './errors'
import { normaliseEmail } from './functions'
import type { Settings } from './generated-types'

/** Path of Koala's deletion requests on {@link koalaAppUrl}. */
export const DELETION_PATH = '/api/v1/deletion-requests'

/** Why Koala cannot delete someone by anything but an email, ending every refusal of a deletion request. */
const EMAIL_ONLY =
  "Koala deletes people by email only: Segment's anonymousId is not Koala's visitor id (the profile_id of its ko_id " +
  'cookie), and Koala has no other user id. Send your userId as the email address (identify calls with userId set ' +
  'to the email), or ask Koala to delete this person by email.'

/**
 * @returns the trimmed Secret Key.
 * @throws InvalidAuthenticationError (401) when it is empty, not text, or the Public Key pasted in its place.
 */
function checkSecretKey(settings: Settings): string {
  const value: unknown = settings.secret_key
  const key = typeof value === 'string' ? value.trim() : ''
  if (!key) {
    const what = value === undefined || value === null || value === '' ? 'empty' : 'not a key'
    throw new InvalidAuthenticationError(
      `The Secret Key setting is ${what}, and Koala takes deletion requests only with a secret API key, so ` +
        `this person was not deleted. ${SECRET_KEY_HELP}`
    )
  }
  if (typeof settings.public_key === 'string' && key === settings.public_key.trim()) {
    throw new InvalidAuthenticationError(
      `The Secret Key setting holds the Public Key, which Koala does not take for deletion requests, so this person ` +
        `was not deleted. ${SECRET_KEY_HELP}`
    )
  }
  return key
}

/**
 * The email a deletion request names: its userId, normalised as every email the destination sends (trimmed,
 * lowercased: `normaliseEmail`), so it matches what Koala holds.
 *
 * @throws PayloadValidationError (400) when the userId is missing or is not an email address. The value is not
 *   quoted: the deletion report should not keep what the person asked to be deleted.
 */
function emailToDelete(userId: unknown): string {
  const email = normaliseEmail(userId)
  if (email) return email
  const missing = userId === undefined || userId === null || (typeof userId === 'string' && userId.trim() === '')
  throw new PayloadValidationError(
    (missing
      ? 'This deletion request has no userId, so Koala cannot tell who to delete. '
      : 'The userId of this deletion request is not an email address, so Koala cannot tell who to delete. ') +
      EMAIL_ONLY
  )
}

/**
 * Segment's deletion request (`onDelete`, run by actions-core's `Destination._onDelete` for a GDPR/CCPA request with
 * `{ userId, anonymousId }`): asks Koala to delete the person whose email is the userId.
 *
 * Request: `POST https://app.getkoala.com/api/v1/deletion-requests`, `Authorization: Bearer <secret key>`, body
 * `{"emails": ["<email>"]}` (Koala takes at most 50; this sends one). Koala answers `{"deletion_request_id": "…"}`
 * and serves the receipt at `GET /api/v1/deletion-requests/{id}`. Source: Koala's docs, getkoala/docs
 * `developer-guides/gdpr-endpoint.mdx`.
 *
 * The framework rethrows whatever this throws (it retries nothing itself for a key-based destination), and the
 * error's class and status become the request's outcome in Segment's deletion report. The Secret Key never appears
 * in an error: Koala's answer is quoted with it redacted.
 *
 * @returns Koala's answer; its `data.deletion_request_id` names the deletion.
 * @throws PayloadValidationError (400) when the userId is missing or not an email; InvalidAuthenticationError (401)
 *   when the Secret Key is empty or is the Public Key, or Koala answers 401/403; RetryableError for 429, 5xx, a
 *   timeout or a network failure; IntegrationError with Koala's status for another answer (a redirect included), or
 *   502 for a success without a `deletion_request_id`.
 */
export const deletePerson: DestinationDefinition<Settings>['onDelete'] = async (request, { settings, payload }) => {
  const email = emailToDelete(payload?.userId)
  const key = checkSecretKey(settings)
  const hide = (error: Error): Error => Object.assign(error, { message: redactKey(error.message, key) })
  let response: ModifiedResponse
  try {
    response = await request(`${koalaAppUrl()}${DELETION_PATH}`, {
      method: 'POST',
      // All given here, so the deletion does not depend on what `extendRequest` adds.
      headers: { Authorization: `Bearer ${key}`, 'User-Agent': USER_AGENT, 'Content-Type': 'application/json' },
      body: JSON.stringify({ emails: [email] }),
      redirect: 'manual',
      throwHttpErrors: false,
      skipResponseCloning: SKIP_RESPONSE_CLONING,
      timeout: requestTimeoutMs()
    })
  } catch (error) {
    throw hide(networkError(error))
  }
  const answer: unknown = response.data ?? response.content
  if (response.status < 200 || response.status >= 300) {
    throw hide(
      koalaError(
        response.status,
        answer,
        response.headers.get('retry-after'),
        response.headers.get('location'),
        'deletion'
      )
    )
  }
  const id = isObject(answer) ? answer.deletion_request_id : undefined
  if (typeof id !== 'string' || !id.trim()) {
    // A page or an empty answer is no proof that Koala took the request; never report it as a deletion.
    throw new IntegrationError(
      `Koala answered ${response.status} without a deletion_request_id, so the deletion is not confirmed. ` +
        'If KOALA_APP_URL is set, check it.',
      getErrorCodeFromHttpStatus(502),
      502
    )
  }
  return response
}
