import {
  getErrorCodeFromHttpStatus,
  IntegrationError,
  InvalidAuthenticationError,
  isObject,
  RetryableError
} from '@segment/actions-core'
import { PUBLIC_KEY_HELP, SECRET_KEY_HELP } from './config'

type RetryableStatus = ConstructorParameters<typeof RetryableError>[1]

/** The monorepo's convention (actions-core `errors.ts`): 4xx is final except 408, 423 and 429; 5xx is retried but 501. */
export function isRetryable(status: number): boolean {
  return status === 408 || status === 423 || status === 429 || (status >= 500 && status <= 599 && status !== 501)
}

/** @returns the answer's `error` or `message`, else its text: at most 300 characters, no final period. */
function koalaReason(body: unknown): string {
  const reason = isObject(body) ? body.error ?? body.message ?? body.errors : body
  const text = typeof reason === 'string' ? reason : reason === undefined ? '' : JSON.stringify(reason)
  return text
    .trim()
    .slice(0, 300)
    .replace(/[.\s]+$/, '')
}

/** Which key each of Koala's APIs takes, and the answers that refuse that key (an unknown project URL is a 404). */
const API = {
  ingestion: { key: 'Public Key', help: PUBLIC_KEY_HELP, keyStatuses: [401, 403, 404] },
  deletion: { key: 'Secret Key', help: SECRET_KEY_HELP, keyStatuses: [401, 403] }
}

export type KoalaApi = keyof typeof API

/**
 * The one error for an answer of Koala: `perform` and `onDelete` throw it and `performBatch` records its status and
 * code, so an event has the same outcome whichever path it took:
 *
 * - 401, 403 (and 404 from ingestion, an unknown Public Key): InvalidAuthenticationError, 401.
 * - 3xx: RetryableError, 502. Koala's API does not redirect, so a proxy between did; following would turn the POST into
 *   a GET, and a page's 200 would pass as a delivery.
 * - 408, 423, 429, 5xx but 501: RetryableError with Koala's status.
 * - another 4xx, 501: IntegrationError with Koala's status and that status's code (BAD_REQUEST, PAYLOAD_TOO_LARGE ...).
 *
 * Not `APIError`: its code is the bare status ("400"), which a MultiStatusResponse entry cannot carry.
 */
export function koalaError(status: number, body: unknown, api: KoalaApi = 'ingestion'): Error {
  const reason = koalaReason(body)
  const said = reason ? `: ${reason}` : ''
  const { key, help, keyStatuses } = API[api]
  if (keyStatuses.includes(status)) {
    return new InvalidAuthenticationError(`Koala refused the ${key} (${status}${said}). ${help}`)
  }
  if (status >= 300 && status < 400) {
    return new RetryableError(`Koala's answer was a redirect (${status}), which is not followed.`, 502)
  }
  if (status === 429) return new RetryableError(`Koala rate-limited the request (429${said}).`, 429)
  if (isRetryable(status)) {
    return new RetryableError(`Koala is temporarily unavailable (${status}${said}).`, status as RetryableStatus)
  }
  const advice = status === 413 ? ' Map fewer or smaller properties and traits.' : ''
  return new IntegrationError(
    `Koala rejected the request (${status}${said}).${advice}`,
    getErrorCodeFromHttpStatus(status),
    status
  )
}

/**
 * No answer: nothing was accepted, so Segment retries. A timeout is 504: actions-core's own, or Segment's abort signal
 * (which actions-core throws as RequestTimeoutError or RequestClientError). Any other failure is 503. Only a
 * timeout's message is quoted: the others hold the URL, with the Public Key.
 */
export function networkError(error: unknown): RetryableError {
  const { name, message, code, cause } = (error ?? {}) as {
    name?: string
    message?: string
    code?: string
    cause?: { code?: string }
  }
  if (name === 'TimeoutError' || name === 'RequestTimeoutError' || name === 'RequestClientError') {
    return new RetryableError(`Koala did not answer in time (${message}).`, 504)
  }
  return new RetryableError(`Could not reach Koala (${code ?? cause?.code ?? name ?? 'network error'}).`, 503)
}

/** Koala keeps one entry per `message_id` (its idempotency key): sending both would lose one without a word. */
export function duplicateMessageIdError(messageId: string): string {
  return (
    `The MessageId ${JSON.stringify(messageId)} is already used by a different event in this batch, and Koala ` +
    'keeps one event per message_id. Map the MessageId field to the Segment messageId ($.messageId).'
  )
}
