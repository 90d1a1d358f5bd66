import {
  ErrorCodes,
  getErrorCodeFromHttpStatus,
  IntegrationError,
  InvalidAuthenticationError,
  isObject,
  RetryableError
} from '@segment/actions-core'
import { PUBLIC_KEY_HELP, redactProjectUrl, requestTimeoutMs, SECRET_KEY_HELP } from './config'

/** 501 (Not Implemented) is final: no retry changes it. */
export function isRetryable(status: number): boolean {
  return status === 408 || status === 423 || status === 429 || (status >= 500 && status <= 599 && status !== 501)
}

/** @returns the answer's `error` or `message`, else its text, at most 500 characters. */
export function koalaReason(body: unknown): string {
  const object = isObject(body) ? body : {}
  const reason = object.error ?? object.message ?? object.errors ?? (typeof body === 'string' ? body : '')
  const text = typeof reason === 'string' ? reason : JSON.stringify(reason)
  return text
    .trim()
    .slice(0, 500)
    .replace(/[.\s]+$/, '')
}

/**
 * Which of Koala's APIs a request went to, for the messages: the key it carries, the answers that blame that key
 * (a project URL that Koala does not know answers 404), and the variable that can point it elsewhere.
 */
const API = {
  ingestion: {
    key: 'Public Key',
    help: PUBLIC_KEY_HELP,
    keyStatuses: [401, 403, 404],
    sent: "events are only sent to Koala's ingestion API itself",
    variable: 'KOALA_API_URL'
  },
  deletion: {
    key: 'Secret Key',
    help: SECRET_KEY_HELP,
    keyStatuses: [401, 403],
    sent: "deletion requests are only sent to Koala's app itself",
    variable: 'KOALA_APP_URL'
  }
} as const

export type KoalaApi = keyof typeof API

/** Redirects are not followed: a 301-303 would turn the POST into a GET, and a page's 200 pass as a delivery. */
export function redirectMessage(status: number, location?: string | null, api: KoalaApi = 'ingestion'): string {
  const where = location ? ` to ${redactProjectUrl(location)}` : ''
  return (
    `Koala answered with a redirect (${status}${where}); ${API[api].sent}, ` +
    `so it was not followed. If ${API[api].variable} is set, check it.`
  )
}

/**
 * Sources: Koala's API docs (400 malformed or no identifier, 401 bad key, 429 rate limit, 5xx transient) and the
 * monorepo's convention (4xx final except 408/423/429; 5xx retried except 501). `Retry-After` is quoted: the
 * framework does not read it.
 */
export function koalaError(
  status: number,
  body: unknown,
  retryAfter?: string | null,
  location?: string | null,
  api: KoalaApi = 'ingestion'
): Error {
  const reason = koalaReason(body)
  const said = reason ? `: ${reason}` : ''
  const { key, help, keyStatuses } = API[api]
  if ((keyStatuses as readonly number[]).includes(status)) {
    return new InvalidAuthenticationError(
      `Koala answered ${status} for this ${key}${said}. ${help}`,
      ErrorCodes.INVALID_AUTHENTICATION
    )
  }
  if (status === 429) {
    // Retry-After is either a number of seconds or an HTTP date (RFC 9110, section 10.2.3).
    const wait = !retryAfter
      ? ''
      : /^\d+$/.test(retryAfter.trim())
      ? ` Koala asked to retry after ${retryAfter.trim()} ${retryAfter.trim() === '1' ? 'second' : 'seconds'}.`
      : ` Koala asked to retry after ${retryAfter.trim()}.`
    return new RetryableError(`Koala rate-limited the request (429)${said}.${wait}`, 429)
  }
  if (status >= 300 && status < 400) {
    return new IntegrationError(redirectMessage(status, location, api), getErrorCodeFromHttpStatus(status), status)
  }
  if (isRetryable(status)) {
    return new RetryableError(
      `Koala is temporarily unavailable (${status})${said}.`,
      status as ConstructorParameters<typeof RetryableError>[1]
    )
  }
  if (status === 413) {
    return new IntegrationError(
      `The event is larger than Koala accepts in one request (413)${said}. Map fewer or smaller properties and traits.`,
      getErrorCodeFromHttpStatus(413),
      413
    )
  }
  return new IntegrationError(
    `Koala rejected the request (${status})${said}.`,
    getErrorCodeFromHttpStatus(status),
    status
  )
}

/** Nothing was accepted, so Segment retries; the client's message quotes the URL, so the key is redacted. */
export function networkError(error: unknown): RetryableError {
  const err = error as { code?: string; message?: string; name?: string }
  const timedOut = err?.code === 'ETIMEDOUT' || err?.name === 'TimeoutError' || err?.code === 'REQUESTTIMEOUTERROR'
  const detail = redactProjectUrl([err?.code, err?.message].filter(Boolean).join(' '))
  return timedOut
    ? new RetryableError(`Koala did not answer within ${requestTimeoutMs()} ms (${detail}).`, 504)
    : new RetryableError(`Could not reach Koala (${detail || 'network error'}).`, 503)
}

/** Koala keeps one entry per `message_id` (its idempotency key): sending both would lose one without a word. */
export function duplicateMessageIdError(messageId: string, sameKey: boolean, isAccount = false): string {
  const who = isAccount ? 'company' : 'person'
  const whose = sameKey ? `a different event of the same ${who}` : `another ${who}'s event`
  return (
    `The MessageId ${JSON.stringify(messageId)} is already used by ${whose} in this batch, and Koala ` +
    'keeps only one event per message_id. Map the MessageId field to the Segment messageId ($.messageId), which is ' +
    'unique per event.'
  )
}
