import { ErrorCodes, getErrorCodeFromHttpStatus, isObject, MultiStatusResponse } from '@segment/actions-core'
import type { JSONObject, ModifiedResponse, RequestClient } from '@segment/actions-core'
import {
  BATCH_CONCURRENCY,
  KOALA_HEADERS,
  MAX_ENTRIES_PER_REQUEST,
  projectUrl,
  requestTimeoutMs,
  SKIP_RESPONSE_CLONING
} from './config'
import { duplicateMessageIdError, koalaError, networkError } from './errors'
import { buildBody, ENDPOINT, preparePayload } from './functions'
import type { ActionKind, Payloads, PreparedPayload, SkippedResult } from './functions'
import type { Settings } from './generated-types'
import type { KoalaBody } from './types'

// perform and performBatch share one path (preparePayload, buildBody, postBody): a batch of one sends perform's body.

export type SendResult =
  | { ok: true; status: number; body: JSONObject | string; sent: KoalaBody }
  | { ok: false; status: number; error: Error; body?: JSONObject | string; sent: KoalaBody }

interface Target {
  url: string
  timeoutMs: number
}

/** Once per call, not per request: both read the environment. @throws PayloadValidationError for a bad key. */
function targetOf(settings: Settings, kind: ActionKind): Target {
  return { url: projectUrl(settings.public_key, ENDPOINT[kind]), timeoutMs: requestTimeoutMs() }
}

/** @returns never throws: Koala's refusal or a network failure becomes `{ ok: false, status, error }`. */
async function postBody(request: RequestClient, target: Target, body: KoalaBody): Promise<SendResult> {
  let response: ModifiedResponse
  try {
    // Not the client's `json` option, which builds the request twice.
    response = await request(target.url, {
      method: 'POST',
      headers: KOALA_HEADERS,
      body: JSON.stringify(body),
      redirect: 'manual',
      throwHttpErrors: false,
      skipResponseCloning: SKIP_RESPONSE_CLONING,
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

/** Halves the request while Koala answers 413. @returns one result per request, with the payloads it carried. */
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

/**
 * Runs every task with at most `limit` in flight, each free lane taking the next task in order.
 *
 * @returns the tasks' results, in the tasks' order.
 */
export async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
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
 * @returns Koala's answer, or a {@link SkippedResult}.
 * @throws PayloadValidationError (the event or the key), InvalidAuthenticationError (Koala 401/403/404),
 *   RetryableError (429, 5xx, timeouts, network), IntegrationError with Koala's status otherwise.
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
  // postBody, not sendChunk: a single entry is never split, and one async layer less per event.
  const result = await postBody(request, targetOf(settings, kind), buildBody(kind, [preparation.prepared]))
  if (!result.ok) throw result.error
  return result.body
}

/**
 * One request per person (Group: per company) per 30 entries, in order; the same event twice is sent once.
 * @returns one entry per payload: `{ status, sent, body }`, or an error with `sent` and `body` when Koala answered
 *   (so the framework blames Koala, not the payload). Never throws: a bad key fails every payload with 400.
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
    // A throw would fail the whole onBatch, events other actions already delivered included.
    payloads.forEach((_payload, index) => fail(index, (error as Error).message))
    return response
  }

  // Key -> payloads in order, each with the input indexes it answers for; a message_id belongs to its first user.
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
        earlier.indexes[owner.position].push(index)
        return
      }
      // Koala keeps one event per message_id: the other would be dropped silently.
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

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    isObject(item) ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : item
  )
}

/** Key order aside: a redelivered event need not keep it. */
function sameEntry(a: PreparedPayload, b: PreparedPayload): boolean {
  if (a.target === 'account' || b.target === 'account') return canonicalJson(a.entry) === canonicalJson(b.entry)
  return a.ip === b.ip && canonicalJson([a.entry, a.traits]) === canonicalJson([b.entry, b.traits])
}

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
