import { ErrorCodes, getErrorCodeFromHttpStatus, isObject, MultiStatusResponse } from '@segment/actions-core'
import type { JSONObject, ModifiedResponse, RequestClient } from '@segment/actions-core'
import { BATCH_CONCURRENCY, MAX_ENTRIES_PER_REQUEST, projectUrl, requestTimeoutMs } from './config'
import { duplicateMessageIdError, koalaError, networkError } from './errors'
import { buildBody, ENDPOINT, preparePayload } from './functions'
import type { ActionKind, Payloads, PreparedPayload, SkippedResult } from './functions'
import type { Settings } from './generated-types'
import type { KoalaBody } from './types'

/**
 * Sending to Koala, for every action: `perform` ({@link sendOne}) and `performBatch` ({@link sendBatch}) both
 * prepare payloads with `preparePayload`, build bodies with `buildBody` and send them with `sendChunk`.
 */

/** The outcome of one request: Koala's status and parsed answer, or a failure with its framework error. */
export type SendResult =
  | { ok: true; status: number; body: JSONObject | string; sent: KoalaBody }
  | { ok: false; status: number; error: Error; body?: JSONObject | string; sent: KoalaBody }

/** Where one `perform` or `performBatch` call sends its requests, and the timeout of each, in milliseconds. */
interface Target {
  url: string
  timeoutMs: number
}

/**
 * Resolves the action's endpoint and the timeout once per call of `perform` or `performBatch`, rather than once per
 * request (both read the environment).
 *
 * @throws PayloadValidationError for an empty or unsafe Public Key (see `projectUrl`).
 */
function targetOf(settings: Settings, kind: ActionKind): Target {
  return { url: projectUrl(settings.public_key, ENDPOINT[kind]), timeoutMs: requestTimeoutMs() }
}

/**
 * Sends one body to the action's endpoint (`batch`, or `accounts/batch` for Group).
 *
 * @returns never throws for Koala's answer or a network failure: both become `{ ok: false, status, error }`.
 */
async function postBody(request: RequestClient, target: Target, body: KoalaBody): Promise<SendResult> {
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
 * Sends the payloads of one person or company (already chunked to at most 30), splitting the request in halves while Koala answers
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

/**
 * `perform` for every action: one payload, one request.
 *
 * @returns Koala's answer (parsed JSON), or a {@link SkippedResult} for a deliberately skipped event.
 * @throws PayloadValidationError (no identifier, empty MessageId, bad Sent At, bad Public Key);
 *   InvalidAuthenticationError (Koala 401/403/404); RetryableError (429, 5xx, timeouts, network failures);
 *   IntegrationError with Koala's status for other rejections (400, 413, ...).
 */
export async function sendOne<K extends ActionKind>(
  request: RequestClient,
  settings: Settings,
  kind: K,
  payload: Payloads[K]
): Promise<JSONObject | string | SkippedResult> {
  const preparation = preparePayload(kind, payload)
  if (preparation.outcome === 'invalid') throw preparation.error
  if (preparation.outcome === 'skipped') return { skipped: true, message: preparation.message }
  const [{ result }] = await sendChunk(request, targetOf(settings, kind), kind, [preparation.prepared])
  if (!result.ok) throw result.error
  return result.body
}

/**
 * `performBatch` for every action: groups the payloads by person (Group: by account), sends one request per person
 * per 30 entries, and reports every payload at its own index.
 *
 * Payloads of one person (same normalised email and profile_id; for Group, the same account id or normalised domain)
 * keep their order. The same `message_id` twice for one person is sent once, and both payloads share its result when
 * they are the same event; a `message_id` that a different event already uses (another person's, or different
 * content) fails with 400 (see {@link duplicateMessageIdError}). A payload that cannot be sent fails alone; a failed
 * request fails exactly the payloads it carried, with Koala's status.
 *
 * @param payloads the batch as the framework hands it over (already filtered by the field schema).
 * @returns one entry per payload: success `{ status, sent, body }` or error `{ status, errortype, errormessage }`
 *   (with `sent` and `body` when Koala answered, so the framework blames Koala rather than the payload).
 * Never throws: an empty or unsafe Public Key fails every payload with status 400.
 */
export async function sendBatch<K extends ActionKind>(
  request: RequestClient,
  settings: Settings,
  kind: K,
  payloads: Payloads[K][]
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
    target = targetOf(settings, kind)
  } catch (error) {
    // An unusable key fails every payload alike, reported per payload rather than thrown: a throw would reject the
    // whole onBatch, including events other actions have already delivered.
    payloads.forEach((_payload, index) => fail(index, (error as Error).message))
    return response
  }

  // Person key -> payloads in order and, for each, the input indexes it answers for (several when a message_id
  // repeats for that person). Every message_id belongs to the first person that used it in this batch. A company
  // (Group) is grouped the same way, by its key.
  const groups = new Map<string, { items: PreparedPayload[]; indexes: number[][] }>()
  const owners = new Map<string, { key: string; position: number }>()

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
      const earlier = groups.get(owner.key)
      if (earlier && owner.key === prepared.key && sameEntry(earlier.items[owner.position], prepared)) {
        // The same event twice (a Segment retry, for instance): sent once, both report its result.
        earlier.indexes[owner.position].push(index)
        return
      }
      // Koala keeps one event per message_id, so a different event with the same id would be dropped silently.
      return fail(index, duplicateMessageIdError(messageId, owner.key === prepared.key, kind === 'group'))
    }
    let group = groups.get(prepared.key)
    if (!group) {
      group = { items: [], indexes: [] }
      groups.set(prepared.key, group)
    }
    owners.set(messageId, { key: prepared.key, position: group.items.length })
    group.items.push(prepared)
    group.indexes.push([index])
  })

  const tasks: (() => Promise<void>)[] = []
  for (const group of groups.values()) {
    for (let start = 0; start < group.items.length; start += MAX_ENTRIES_PER_REQUEST) {
      const chunk = group.items.slice(start, start + MAX_ENTRIES_PER_REQUEST)
      const chunkIndexes = group.indexes.slice(start, start + MAX_ENTRIES_PER_REQUEST)
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
  if (a.target === 'account' || b.target === 'account') return canonicalJson(a.entry) === canonicalJson(b.entry)
  return a.ip === b.ip && canonicalJson([a.entry, a.traits]) === canonicalJson([b.entry, b.traits])
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
