import { ErrorCodes, MultiStatusResponse } from '@segment/actions-core'
import type { IntegrationError, JSONObject, ModifiedResponse, RequestClient } from '@segment/actions-core'
import { BATCH_CONCURRENCY, MAX_ENTRIES_PER_REQUEST, projectUrl } from './config'
import { duplicateMessageIdError, koalaError, networkError } from './errors'
import { buildBody, ENDPOINT, preparePayload } from './functions'
import type { ActionKind, Payloads, PreparedPayload } from './functions'
import type { Settings } from './generated-types'
import type { KoalaBody } from './types'

// perform and performBatch share one path: an event gets the same body, status and error code in both.

interface Sent {
  /** Koala's status; 0 when it did not answer. */
  status: number
  /** Koala's answer, parsed when JSON. */
  body: JSONObject | string
  sent: KoalaBody
  /** Set unless Koala answered 2xx. */
  error?: Error
}

/** @returns never throws: a refusal or a network failure is `{ error }`. */
async function post(request: RequestClient, url: string, body: KoalaBody): Promise<Sent> {
  let response: ModifiedResponse
  try {
    response = await request(url, {
      method: 'POST',
      json: body,
      // A 301-303 would turn the POST into a GET, and the page's 200 would pass as a delivery.
      redirect: 'manual',
      throwHttpErrors: false,
      // Koala's answer is read once, from `data` and `content`.
      skipResponseCloning: true
    })
  } catch (error) {
    return { status: 0, body: '', sent: body, error: networkError(error) }
  }
  const answer = (response.data ?? response.content) as JSONObject | string
  const ok = response.status >= 200 && response.status < 300
  return {
    status: response.status,
    body: answer,
    sent: body,
    error: ok ? undefined : koalaError(response.status, answer)
  }
}

/**
 * Halves the request while Koala answers 413, one half after the other, so the requests in flight stay bounded.
 * @returns one result per request, with the payloads it carried.
 */
async function sendChunk(
  request: RequestClient,
  url: string,
  kind: ActionKind,
  group: PreparedPayload[]
): Promise<{ items: PreparedPayload[]; result: Sent }[]> {
  const result = await post(request, url, buildBody(kind, group))
  if (result.status !== 413 || group.length === 1) return [{ items: group, result }]
  const half = Math.ceil(group.length / 2)
  const first = await sendChunk(request, url, kind, group.slice(0, half))
  return [...first, ...(await sendChunk(request, url, kind, group.slice(half)))]
}

/** Runs the tasks with at most `limit` in flight. @returns their results, in the tasks' order. */
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
 * @returns Koala's answer, or `{ skipped: true, message }` for an analytics.js event, which sends nothing.
 * @throws PayloadValidationError (the event or the key), or the error of `koalaError` / `networkError`.
 */
export async function sendOne<K extends ActionKind>(
  request: RequestClient,
  settings: Settings,
  kind: K,
  payload: Payloads[K]
): Promise<JSONObject | string> {
  const preparation = preparePayload(kind, payload)
  if (preparation.outcome === 'invalid') throw preparation.error
  if (preparation.outcome === 'skipped') return { skipped: true, message: preparation.message }
  const url = projectUrl(settings.public_key, ENDPOINT[kind])
  const result = await post(request, url, buildBody(kind, [preparation.prepared]))
  if (result.error) throw result.error
  return result.body
}

/**
 * One request per person (Group: per company) per 30 entries, a person's requests in order; the same event twice is
 * sent once.
 * @returns one entry per payload: `{ status, sent, body }`, or the error `sendOne` would throw, with `sent` and `body`
 *   when Koala answered (so the framework blames Koala, not the payload). Never throws.
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
  let url: string
  try {
    url = projectUrl(settings.public_key, ENDPOINT[kind])
  } catch (error) {
    // A throw would fail the whole batch, events of other actions included.
    payloads.forEach((_payload, index) => fail(index, (error as Error).message))
    return response
  }

  // Key -> payloads in order, each with the input indexes it answers for; a message_id belongs to its first event.
  const groups = new Map<string, { items: PreparedPayload[]; indexes: number[][] }>()
  const owners = new Map<string, { key: string; position: number }>()
  payloads.forEach((payload, index) => {
    const preparation = preparePayload(kind, payload)
    if (preparation.outcome === 'invalid') return fail(index, preparation.error.message)
    if (preparation.outcome === 'skipped') {
      return response.setSuccessResponseAtIndex(index, { status: 200, sent: {}, body: preparation.message })
    }
    const { prepared } = preparation
    const messageId = prepared.entry.message_id
    const owner = owners.get(messageId)
    if (owner) {
      const earlier = groups.get(owner.key)?.items[owner.position]
      if (owner.key !== prepared.key || !earlier || !sameEvent(earlier, prepared)) {
        return fail(index, duplicateMessageIdError(messageId))
      }
      // Segment redelivered the event: both indexes get its one outcome.
      return (groups.get(owner.key) as { indexes: number[][] }).indexes[owner.position].push(index)
    }
    const group = groups.get(prepared.key) ?? { items: [], indexes: [] }
    groups.set(prepared.key, group)
    owners.set(messageId, { key: prepared.key, position: group.items.length })
    group.items.push(prepared)
    group.indexes.push([index])
  })

  // One task per person (Group: per company), its requests one after the other: a later request's traits must land
  // after an earlier one's. People are sent side by side.
  const tasks = [...groups.values()].map(({ items, indexes }) => async () => {
    let offset = 0
    for (let start = 0; start < items.length; start += MAX_ENTRIES_PER_REQUEST) {
      for (const outcome of await sendChunk(request, url, kind, items.slice(start, start + MAX_ENTRIES_PER_REQUEST))) {
        for (const eventIndexes of indexes.slice(offset, offset + outcome.items.length)) {
          for (const index of eventIndexes) record(response, index, outcome.result)
        }
        offset += outcome.items.length
      }
    }
  })
  await pool(tasks, BATCH_CONCURRENCY)
  return response
}

/** The same event redelivered: same person or company, same entry. */
function sameEvent(a: PreparedPayload, b: PreparedPayload): boolean {
  const whole = (item: PreparedPayload) =>
    item.target === 'account' ? [item.entry] : [item.entry, item.traits, item.ip]
  return JSON.stringify(whole(a)) === JSON.stringify(whole(b))
}

function record(response: MultiStatusResponse, index: number, result: Sent): void {
  const sent = result.sent as unknown as JSONObject
  if (!result.error) {
    return response.setSuccessResponseAtIndex(index, { status: result.status, sent, body: result.body })
  }
  // Every error of koalaError and networkError has a status and one of ErrorCodes.
  const { status, code } = result.error as IntegrationError
  response.setErrorResponseAtIndex(index, {
    status: status as number,
    errortype: code as keyof typeof ErrorCodes,
    errormessage: result.error.message,
    sent,
    body: result.body
  })
}
