import {
  ErrorCodes,
  getErrorCodeFromHttpStatus,
  IntegrationError,
  InvalidAuthenticationError,
  isObject,
  MultiStatusResponse,
  PayloadValidationError,
  RetryableError
} from '@segment/actions-core'
import type { ModifiedResponse, RequestClient } from '@segment/actions-core'
import {
  BATCH_CONCURRENCY,
  MAX_ENTRIES_PER_REQUEST,
  PUBLIC_KEY_HELP,
  projectUrl,
  redactProjectUrl,
  requestTimeoutMs
} from './config'
import type { Settings } from './generated-types'
import type { JSONObject, KoalaBatchBody, KoalaEntry } from './types'

/**
 * Everything Identify and Track share: turning mapped payloads into Koala request bodies, sending them, and
 * reporting Koala's answers with the framework's error classes. `perform` and `performBatch` both go through
 * {@link preparePayload}, {@link buildBody} and `sendChunk`, so a batch of one sends exactly the body `perform` sends.
 */

/** Which of Koala's arrays an action fills. */
export type ActionKind = 'identify' | 'track'

/**
 * The mapped payload, as the framework hands it to `perform` after applying the field defaults and validating the
 * field schema. Both actions' generated `Payload` types are assignable to it.
 */
export interface KoalaPayload {
  email?: string
  profile_id?: string
  event?: string
  properties?: { [k: string]: unknown }
  traits?: { [k: string]: unknown }
  sent_at: string
  context?: { [k: string]: unknown }
  device_ip?: string
  message_id: string
}

/** The answer `perform` gives for an event it deliberately does not send. */
export interface SkippedResult {
  skipped: true
  message: string
}

/**
 * Why analytics.js track events are not sent: the Koala pixel in the browser collects them already (Koala's
 * Segment integration docs), so sending them again from the cloud would count every browser event twice.
 */
export const ANALYTICS_JS_SKIP_MESSAGE =
  'Skipped: this track event comes from analytics.js, and the Koala pixel in the browser already collects it. ' +
  'Sending it again from Segment would count it twice in Koala.'

/** Tags every entry so Koala can attribute it to Segment's cloud destination. */
const SOURCE = 'segment-cloud'

// ---------------------------------------------------------------------------------------------------------------
// Preparing one payload
// ---------------------------------------------------------------------------------------------------------------

// local@domain.tld, Unicode allowed. Local part: dot-separated runs without whitespace, invisible or control
// characters (`\p{C}`), `@` or the punctuation of display names, lists and URLs. Domain: dot-separated labels of
// letters, digits and marks with inner hyphens, ending in a label of at least two letters (or an IDN `xn--` label).
const LOCAL_RUN = '[^\\s\\p{C}@<>()[\\],;:"\\\\/?.]+'
const LABEL = '[\\p{L}\\p{N}\\p{M}](?:[\\p{L}\\p{N}\\p{M}-]*[\\p{L}\\p{N}\\p{M}])?'
const EMAIL = new RegExp(
  `^${LOCAL_RUN}(?:\\.${LOCAL_RUN})*@(?:${LABEL}\\.)+(?:[\\p{L}\\p{M}]{2,}|xn--[\\p{L}\\p{N}-]+)$`,
  'u'
)

/**
 * Normalises an email for Koala: trimmed and lowercased, so one person stays one person whatever the spelling.
 *
 * @returns the address, or `undefined` when the value is not a bare address: one `@` with text on both sides, a
 *   domain with a dot, and no whitespace or display-name punctuation (`Jordan <jordan@example.com>` is refused
 *   rather than sent as a person that cannot exist).
 */
export function normaliseEmail(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const email = value.trim().toLowerCase()
  return EMAIL.test(email) ? email : undefined
}

// A date-time with an optional zone: `2026-11-30T10:00:00`, `...10:00:00.123Z`, `...10:00:00+0200`, `... 10:00`.
// The separator is `T` or any whitespace, as the framework's `date-time` format (ajv-formats) accepts.
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})[T\s](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}(?::?\d{2})?)?$/i

/**
 * Converts a Segment timestamp to what Koala's `sent_at` expects: ISO-8601 in UTC with milliseconds (`...Z`).
 * A value with an offset is converted; one without a zone is read as UTC (JavaScript's own parser would read it as
 * local time). Source: Segment's spec gives ISO-8601 timestamps (https://segment.com/docs/connections/spec/common/).
 *
 * @returns e.g. `2026-11-30T08:00:00.000Z` for `2026-11-30T10:00:00+02:00`, or `undefined` when it is not a date.
 */
export function toUtcIso(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const text = value.trim()
  const match = DATE_TIME.exec(text)
  let date: Date
  if (match) {
    const [, day, time, zone] = match
    let offset = 'Z'
    if (zone && zone.toUpperCase() !== 'Z') {
      const digits = zone.slice(1).replace(':', '')
      offset = `${zone[0]}${digits.slice(0, 2)}:${digits.slice(2, 4) || '00'}`
    }
    // A leap second (`23:59:60`, allowed by ISO-8601 and the framework's format) is not representable in JavaScript:
    // it becomes the last millisecond of that minute rather than a refusal.
    date = new Date(`${day}T${time.replace(/:60(?:\.\d+)?$/, ':59.999')}${offset}`)
  } else {
    // Other ISO-8601 forms the schema's `date-time` format lets through all carry their own zone.
    date = /^\d{4}-\d{2}-\d{2}T/.test(text) ? new Date(text) : new Date(NaN)
  }
  if (Number.isNaN(date.getTime())) return undefined
  const iso = date.toISOString()
  // Outside years 0000-9999 JavaScript writes an expanded year (`+010000-...`), which is not the form Koala takes.
  return /^\d{4}-/.test(iso) ? iso : undefined
}

function asObject(value: unknown): JSONObject {
  return isObject(value) ? (value as JSONObject) : {}
}

function nonEmpty(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined
  const text = String(value).trim()
  return text === '' ? undefined : text
}

/** A payload ready to be sent: who it belongs to and the entry it becomes. */
export interface PreparedPayload {
  /** `email` and/or `profile_id`, both normalised. */
  identity: { profile_id?: string; email?: string }
  /** One key per person: payloads with equal keys share a request. */
  personKey: string
  ip?: string
  traits: JSONObject
  entry: KoalaEntry
}

/** What becomes of one payload before anything is sent. */
export type Preparation =
  | { outcome: 'ready'; prepared: PreparedPayload }
  | { outcome: 'skipped'; message: string }
  | { outcome: 'invalid'; error: PayloadValidationError }

/**
 * Turns one mapped payload into a Koala entry, or says why it is not sent.
 *
 * Rules: `message_id` (and Track's `event`) must be non-empty (the framework lets an empty string through in batch
 * mode); `sent_at` must be a date (converted with {@link toUtcIso}); Track events from analytics.js are skipped (see
 * {@link ANALYTICS_JS_SKIP_MESSAGE}); the person is the Email field, else `email` inside the mapped Traits, and/or
 * the Koala Profile ID field, and one of them is required (Koala answers 400 without one).
 *
 * @returns never throws: a rejection is returned as `{ outcome: 'invalid', error }` with a `PayloadValidationError`
 *   (status 400) naming the field and the fix.
 */
export function preparePayload(kind: ActionKind, payload: KoalaPayload): Preparation {
  const invalid = (message: string): Preparation => ({ outcome: 'invalid', error: new PayloadValidationError(message) })

  const message_id = nonEmpty(payload.message_id)
  if (!message_id) {
    return invalid(
      'The MessageId field is empty. Map it to the Segment messageId ($.messageId): Koala uses it to de-duplicate events.'
    )
  }
  const sent_at = toUtcIso(payload.sent_at)
  if (!sent_at) {
    return invalid(
      `The Sent At field is not a date: ${JSON.stringify(
        payload.sent_at
      )}. Map it to an ISO-8601 timestamp such as $.timestamp.`
    )
  }
  // Like an empty MessageId, an empty Event Name gets past the framework in batch mode only.
  if (kind === 'track' && !nonEmpty(payload.event)) {
    return invalid('The Event Name field is empty. Map it to the Segment event name ($.event).')
  }
  const context = asObject(payload.context)
  if (kind === 'track' && asObject(context.library).name === 'analytics.js') {
    return { outcome: 'skipped', message: ANALYTICS_JS_SKIP_MESSAGE }
  }

  const traits = asObject(payload.traits)
  const email = normaliseEmail(payload.email) ?? normaliseEmail(traits.email)
  const profile_id = nonEmpty(payload.profile_id)
  if (!email && !profile_id) {
    // Name the value that was refused, so "has neither" is not read as "has no email at all".
    const notEmail =
      nonEmpty(payload.email) !== undefined
        ? ` The Email field ${JSON.stringify(payload.email)} is not an email address.`
        : nonEmpty(traits.email) !== undefined
        ? ` The email ${JSON.stringify(traits.email)} in the Traits field is not an email address.`
        : ''
    return invalid(
      'Koala needs an email or a Koala profile_id to know who this event belongs to, and this event has neither.' +
        notEmail +
        ' Map the Email field (for example to $.traits.email or $.context.traits.email), or send the profile_id' +
        " from Koala's ko_id cookie in the Koala Profile ID field. Segment's anonymousId is not Koala's profile_id."
    )
  }

  const entryContext: JSONObject = { ...context, source: SOURCE }
  const entry: KoalaEntry =
    kind === 'identify'
      ? { type: 'identify', message_id, sent_at, traits, context: entryContext }
      : {
          type: 'track',
          event: String(payload.event),
          message_id,
          sent_at,
          properties: asObject(payload.properties),
          context: entryContext
        }

  const identity: PreparedPayload['identity'] = {}
  if (profile_id) identity.profile_id = profile_id
  if (email) identity.email = email
  return {
    outcome: 'ready',
    prepared: {
      identity,
      personKey: `${profile_id ?? ''}\u0000${email ?? ''}`,
      ip: nonEmpty(payload.device_ip),
      traits,
      entry
    }
  }
}

/**
 * Builds one Koala request body for payloads of one person, in order.
 * Top-level `traits` are the payloads' traits merged in order (later keys win); `ip` is the latest non-empty one.
 * Only Koala's keys appear: the mapping's field names never reach the body.
 *
 * @param kind which array the entries go to (`identifies` or `events`).
 * @param group at least one payload, all with the same `personKey`; at most 30 (Koala's limit per array).
 */
export function buildBody(kind: ActionKind, group: PreparedPayload[]): KoalaBatchBody {
  let ip: string | undefined
  const traits: JSONObject = {}
  for (const item of group) {
    if (item.ip) ip = item.ip
    Object.assign(traits, item.traits)
  }
  // Keys in a stable order (identity, ip, traits, entries) so bodies read and compare the same every time.
  const { profile_id, email } = group[0].identity
  const body: KoalaBatchBody = {
    ...(profile_id ? { profile_id } : {}),
    ...(email ? { email } : {}),
    ...(ip ? { ip } : {}),
    traits
  }
  const entries = group.map((item) => item.entry)
  if (kind === 'identify') body.identifies = entries as KoalaBatchBody['identifies']
  else body.events = entries as KoalaBatchBody['events']
  return body
}

// ---------------------------------------------------------------------------------------------------------------
// Koala's answers
// ---------------------------------------------------------------------------------------------------------------

/** The outcome of one request: Koala's status and parsed answer, or a failure with its framework error. */
export type SendResult =
  | { ok: true; status: number; body: JSONObject | string; sent: KoalaBatchBody }
  | { ok: false; status: number; error: Error; body?: JSONObject | string; sent: KoalaBatchBody }

/** 408, 423, 429 and every 5xx but 501 (Not Implemented, which no retry changes) are worth retrying. */
function isRetryable(status: number): boolean {
  return status === 408 || status === 423 || status === 429 || (status >= 500 && status <= 599 && status !== 501)
}

/** Koala's reason from an error answer: its `error`/`message` field, else the text, cut to 500 characters. */
export function koalaReason(body: unknown): string {
  const object = asObject(body)
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
 * @param status Koala's HTTP status (400 or more).
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

/** Where one `perform` or `performBatch` call sends its requests, and the timeout of each, in milliseconds. */
interface Target {
  url: string
  timeoutMs: number
}

/**
 * Resolves the batch endpoint and the timeout once per call of `perform` or `performBatch`, rather than once per
 * request (both read the environment).
 *
 * @throws PayloadValidationError for an empty or unsafe Public Key (see `projectUrl`).
 */
function targetOf(settings: Settings): Target {
  return { url: projectUrl(settings.public_key, 'batch'), timeoutMs: requestTimeoutMs() }
}

/**
 * Sends one body to Koala's batch endpoint.
 *
 * @returns never throws for Koala's answer or a network failure: both become `{ ok: false, status, error }`.
 */
async function postBody(request: RequestClient, target: Target, body: KoalaBatchBody): Promise<SendResult> {
  let response: ModifiedResponse
  try {
    // The body is serialised here rather than through the client's `json` option, which would build the request twice.
    response = await request(target.url, {
      method: 'POST',
      body: JSON.stringify(body),
      redirect: 'manual',
      throwHttpErrors: false,
      timeout: target.timeoutMs
    })
  } catch (error) {
    const failure = networkError(error)
    return { ok: false, status: failure.status, error: failure, sent: body }
  }
  const answer = (response.data ?? response.content ?? '') as JSONObject | string
  if (response.status >= 200 && response.status < 300) {
    return { ok: true, status: response.status, body: answer, sent: body }
  }
  return {
    ok: false,
    status: response.status,
    error: koalaError(response.status, answer, response.headers.get('retry-after'), response.headers.get('location')),
    body: answer,
    sent: body
  }
}

/**
 * Sends one person's payloads (already chunked to at most 30), splitting the request in halves while Koala answers
 * 413 (too large), until it fits or a single entry is too large on its own.
 *
 * @returns one result per request made, each with the slice of `group` it carried.
 */
async function sendChunk(
  request: RequestClient,
  target: Target,
  kind: ActionKind,
  group: PreparedPayload[]
): Promise<{ items: PreparedPayload[]; result: SendResult }[]> {
  const result = await postBody(request, target, buildBody(kind, group))
  if (result.ok || result.status !== 413 || group.length === 1) {
    return [{ items: group, result }]
  }
  const half = Math.ceil(group.length / 2)
  const [first, second] = await Promise.all([
    sendChunk(request, target, kind, group.slice(0, half)),
    sendChunk(request, target, kind, group.slice(half))
  ])
  return [...first, ...second]
}

/** Runs `tasks` with at most `limit` in flight, returning their results in order. */
async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length)
  let next = 0
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++
      results[index] = await tasks[index]()
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker))
  return results
}

// ---------------------------------------------------------------------------------------------------------------
// The two entry points
// ---------------------------------------------------------------------------------------------------------------

/**
 * `perform` for both actions: one payload, one request.
 *
 * @returns Koala's answer (parsed JSON), or a {@link SkippedResult} for a deliberately skipped event.
 * @throws PayloadValidationError (no identifier, empty MessageId, bad Sent At, bad Public Key);
 *   InvalidAuthenticationError (Koala 401/403/404); RetryableError (429, 5xx, timeouts, network failures);
 *   IntegrationError with Koala's status for other rejections (400, 413, ...).
 */
export async function sendOne(
  request: RequestClient,
  settings: Settings,
  kind: ActionKind,
  payload: KoalaPayload
): Promise<JSONObject | string | SkippedResult> {
  const preparation = preparePayload(kind, payload)
  if (preparation.outcome === 'invalid') throw preparation.error
  if (preparation.outcome === 'skipped') return { skipped: true, message: preparation.message }
  const [{ result }] = await sendChunk(request, targetOf(settings), kind, [preparation.prepared])
  if (!result.ok) throw result.error
  return result.body
}

/**
 * `performBatch` for both actions: groups the payloads by person, sends one request per person per 30 entries,
 * and reports every payload at its own index.
 *
 * Payloads of one person (same normalised email and profile_id) keep their order; the same `message_id` twice for
 * one person is sent once and both payloads share its result when they are the same event, while a `message_id`
 * a different event already uses (another person's, or different content) fails with 400 (see
 * {@link duplicateMessageIdError}). A payload that cannot be sent fails alone; a failed
 * request fails exactly the payloads it carried, with Koala's status.
 *
 * @param payloads the batch as the framework hands it over (already filtered by the field schema).
 * @returns one entry per payload: success `{ status, sent, body }` or error `{ status, errortype, errormessage }`
 *   (with `sent` and `body` when Koala answered, so the framework blames Koala rather than the payload).
 * Never throws: an empty or unsafe Public Key fails every payload with status 400.
 */
export async function sendBatch(
  request: RequestClient,
  settings: Settings,
  kind: ActionKind,
  payloads: KoalaPayload[]
): Promise<MultiStatusResponse> {
  const response = new MultiStatusResponse()
  const fail = (index: number, errormessage: string) =>
    response.setErrorResponseAtIndex(index, {
      status: 400,
      errortype: ErrorCodes.PAYLOAD_VALIDATION_FAILED,
      errormessage
    })
  let target: Target
  try {
    target = targetOf(settings)
  } catch (error) {
    // An unusable key fails every payload alike, reported per payload rather than thrown: a throw would reject the
    // whole onBatch, including events other actions have already delivered.
    payloads.forEach((_payload, index) => fail(index, (error as Error).message))
    return response
  }

  // Person key -> payloads in order and, for each, the input indexes it answers for (several when a message_id
  // repeats for that person). Every message_id belongs to the first person that used it in this batch.
  const people = new Map<string, { items: PreparedPayload[]; indexes: number[][] }>()
  const owners = new Map<string, { personKey: string; position: number }>()

  payloads.forEach((payload, index) => {
    const preparation = preparePayload(kind, payload)
    if (preparation.outcome === 'invalid') return fail(index, preparation.error.message)
    if (preparation.outcome === 'skipped') {
      response.setSuccessResponseAtIndex(index, { status: 200, sent: {}, body: preparation.message })
      return
    }
    const { prepared } = preparation
    const messageId = prepared.entry.message_id
    const owner = owners.get(messageId)
    if (owner) {
      const person = people.get(owner.personKey)
      if (person && owner.personKey === prepared.personKey && sameEntry(person.items[owner.position], prepared)) {
        // The same event twice (a Segment retry, for instance): sent once, both report its result.
        person.indexes[owner.position].push(index)
        return
      }
      // Koala keeps one event per message_id, so a different event with the same id would be dropped silently.
      return fail(index, duplicateMessageIdError(messageId, owner.personKey === prepared.personKey))
    }
    let person = people.get(prepared.personKey)
    if (!person) {
      person = { items: [], indexes: [] }
      people.set(prepared.personKey, person)
    }
    owners.set(messageId, { personKey: prepared.personKey, position: person.items.length })
    person.items.push(prepared)
    person.indexes.push([index])
  })

  const tasks: (() => Promise<void>)[] = []
  for (const person of people.values()) {
    for (let start = 0; start < person.items.length; start += MAX_ENTRIES_PER_REQUEST) {
      const chunk = person.items.slice(start, start + MAX_ENTRIES_PER_REQUEST)
      const chunkIndexes = person.indexes.slice(start, start + MAX_ENTRIES_PER_REQUEST)
      tasks.push(async () => {
        const outcomes = await sendChunk(request, target, kind, chunk)
        let offset = 0
        for (const { items, result } of outcomes) {
          for (const indexes of chunkIndexes.slice(offset, offset + items.length)) {
            for (const index of indexes) record(response, index, result)
          }
          offset += items.length
        }
      })
    }
  }
  await pool(tasks, BATCH_CONCURRENCY)
  return response
}

/** JSON with object keys sorted, so two objects that differ only in key order compare equal. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    isObject(item) ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : item
  )
}

/**
 * Whether two prepared payloads are the same event for Koala: same person, same entry, same top-level data (key order
 * aside, since a redelivered event need not keep it).
 */
function sameEntry(a: PreparedPayload, b: PreparedPayload): boolean {
  return a.ip === b.ip && canonicalJson([a.entry, a.traits]) === canonicalJson([b.entry, b.traits])
}

/**
 * Why an event is refused when a different event in the same batch has its `message_id` (another person's, or
 * another event of the same person): Koala keeps only one entry per `message_id` (its idempotency key), so sending
 * both would lose one without a word.
 *
 * @param samePerson whether the earlier event belongs to the same person.
 */
export function duplicateMessageIdError(messageId: string, samePerson: boolean): string {
  const whose = samePerson ? 'a different event of the same person' : "another person's event"
  return (
    `The MessageId ${JSON.stringify(messageId)} is already used by ${whose} in this batch, and Koala ` +
    'keeps only one event per message_id. Map the MessageId field to the Segment messageId ($.messageId), which is ' +
    'unique per event.'
  )
}

/** Writes one request's result at one payload's index. */
function record(response: MultiStatusResponse, index: number, result: SendResult): void {
  const sent = result.sent as unknown as JSONObject
  if (result.ok) {
    response.setSuccessResponseAtIndex(index, { status: result.status, sent, body: result.body })
    return
  }
  response.setErrorResponseAtIndex(index, {
    status: result.status,
    errortype: getErrorCodeFromHttpStatus(result.status),
    errormessage: result.error.message,
    sent,
    body: result.body ?? ''
  })
}
