import {
  ErrorCodes,
  getErrorCodeFromHttpStatus,
  IntegrationError,
  InvalidAuthenticationError,
  isObject,
  RetryableError
} from '@segment/actions-core'
import { PUBLIC_KEY_HELP, redactProjectUrl, requestTimeoutMs } from './config'

/** Koala's answers and network failures as the framework's error classes. */

/** 501 (Not Implemented) is final: no retry changes it. */
export function isRetryable(status: number): boolean {
  return status === 408 || status === 423 || status === 429 || (status >= 500 && status <= 599 && status !== 501)
}

/** Koala's reason from an error answer: its `error`/`message` field, else the text, cut to 500 characters. */
export function koalaReason(body: unknown): string {
  const object = isObject(body) ? body : {}
  const reason = object.error ?? object.message ?? object.errors ?? (typeof body === 'string' ? body : '')
  const text = typeof reason === 'string' ? reason : JSON.stringify(reason)
  // Trailing full stops are dropped because the messages built around the reason end their own sentences.
  return text
    .trim()
    .slice(0, 500)
    .replace(/[.\s]+$/, '')
}

/**
 * Why a redirect from Koala fails the event. Requests are sent with `redirect: 'manual'`: following it would re-send
 * the event to an address that is not Koala's ingestion API (or, for 301/302/303, turn the POST into a GET without
 * the body) and report a page's 200 as a delivery.
 */
export function redirectMessage(status: number, location?: string | null): string {
  const where = location ? ` to ${redactProjectUrl(location)}` : ''
  return (
    `Koala answered with a redirect (${status}${where}); events are only sent to Koala's ingestion API itself, ` +
    'so it was not followed. If KOALA_API_URL is set, check it.'
  )
}

/**
 * Maps one of Koala's error answers to the framework's error class, so Segment retries exactly what can succeed
 * later. Source: Koala's API docs (400 malformed or no identifier, 401 bad key, 429 rate limit, 5xx transient) and
 * the monorepo's convention (4xx final except 408/423/429; 5xx retried except 501).
 *
 * @param status Koala's HTTP status: a redirect (3xx) or an error (4xx, 5xx).
 * @param body Koala's answer, parsed JSON or text (may be empty).
 * @param retryAfter the `Retry-After` header, if any: put into the message because the framework's request client
 *   does not read it and Segment's own retry schedule applies.
 * @param location the `Location` header of a redirect, if any (quoted with the key redacted).
 */
export function koalaError(status: number, body: unknown, retryAfter?: string | null, location?: string | null): Error {
  const reason = koalaReason(body)
  const said = reason ? `: ${reason}` : ''
  if (status === 401 || status === 403 || status === 404) {
    return new InvalidAuthenticationError(
      `Koala answered ${status} for this Public Key${said}. ${PUBLIC_KEY_HELP}`,
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
    return new IntegrationError(redirectMessage(status, location), getErrorCodeFromHttpStatus(status), status)
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

/**
 * Maps a failure to reach Koala (timeout, reset connection, DNS failure, refused connection) to a retryable error:
 * nothing was accepted, so Segment should try again. The client's message quotes the request URL, so the Public
 * Key in it is redacted ({@link redactProjectUrl}).
 */
export function networkError(error: unknown): RetryableError {
  const err = error as { code?: string; message?: string; name?: string }
  const timedOut = err?.code === 'ETIMEDOUT' || err?.name === 'TimeoutError' || err?.code === 'REQUESTTIMEOUTERROR'
  const detail = redactProjectUrl([err?.code, err?.message].filter(Boolean).join(' '))
  return timedOut
    ? new RetryableError(`Koala did not answer within ${requestTimeoutMs()} ms (${detail}).`, 504)
    : new RetryableError(`Could not reach Koala (${detail || 'network error'}).`, 503)
}

/**
 * Why an event is refused when a different event in the same batch has its `message_id` (another person's, or
 * another event of the same person): Koala keeps only one entry per `message_id` (its idempotency key), so sending
 * both would lose one without a word.
 *
 * @param sameKey whether the earlier event belongs to the same person (or company).
 * @param isAccount whether the events are company traits (Group) rather than a person's.
 */
export function duplicateMessageIdError(messageId: string, sameKey: boolean, isAccount = false): string {
  const who = isAccount ? 'company' : 'person'
  const whose = sameKey ? `a different event of the same ${who}` : `another ${who}'s event`
  return (
    `The MessageId ${JSON.stringify(messageId)} is already used by ${whose} in this batch, and Koala ` +
    'keeps only one event per message_id. Map the MessageId field to the Segment messageId ($.messageId), which is ' +
    'unique per event.'
  )
}
