import {
  getErrorCodeFromHttpStatus,
  IntegrationError,
  InvalidAuthenticationError,
  isObject
} from '@segment/actions-core'
import { PayloadValidationError } from '@segment/actions-core'
import type { DestinationDefinition, ModifiedResponse } from '@segment/actions-core'
import { KOALA_APP_URL, SECRET_KEY_HELP } from './config'
import { koalaError, networkError } from './errors'
import { normaliseEmail } from './functions'
import type { Settings } from './generated-types'

/**
 * Segment's deletion request (GDPR/CCPA, `{ userId, anonymousId }`): asks Koala to delete the person whose email is
 * the userId, lowercased as every email the destination sends. Koala deletes by email only: Segment's anonymousId is
 * not Koala's visitor id.
 *
 * Request: `POST https://app.getkoala.com/api/v1/deletion-requests`, `Authorization: Bearer <secret key>`, body
 * `{"emails": ["<email>"]}`; Koala answers `{"deletion_request_id": "…"}`. Source: Koala's docs,
 * `developer-guides/gdpr-endpoint.mdx`.
 *
 * @returns Koala's answer.
 * @throws PayloadValidationError (400) when the userId is not an email (not quoted: the report should not keep what
 *   the person asked to be deleted); InvalidAuthenticationError (401) without a Secret Key, or with the Public Key in
 *   its place; the error of `koalaError` / `networkError` otherwise; IntegrationError (502) for a success without a
 *   `deletion_request_id`, which confirms nothing.
 */
export const deletePerson: DestinationDefinition<Settings>['onDelete'] = async (request, { settings, payload }) => {
  const email = normaliseEmail(payload?.userId)
  if (!email) {
    throw new PayloadValidationError(
      'The userId of this deletion request is not an email address, and Koala deletes people by email only. ' +
        'Ask Koala to delete this person by email.'
    )
  }
  const key = settings.secret_key?.trim()
  if (!key || key === settings.public_key?.trim()) {
    throw new InvalidAuthenticationError(
      `Koala takes deletion requests only with a Secret Key, so this person was not deleted. ${SECRET_KEY_HELP}`
    )
  }
  let response: ModifiedResponse
  try {
    response = await request(`${KOALA_APP_URL}/api/v1/deletion-requests`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}` },
      json: { emails: [email] },
      redirect: 'manual',
      throwHttpErrors: false,
      skipResponseCloning: true
    })
  } catch (error) {
    throw networkError(error)
  }
  const answer: unknown = response.data ?? response.content
  if (response.status < 200 || response.status >= 300) throw koalaError(response.status, answer, 'deletion')
  if (!isObject(answer) || typeof answer.deletion_request_id !== 'string') {
    throw new IntegrationError(
      `Koala answered ${response.status} without a deletion_request_id, so the deletion is not confirmed.`,
      getErrorCodeFromHttpStatus(502),
      502
    )
  }
  return response
}
