import { once } from 'events'
import express from 'express'
import type { Request, Response } from 'express'
import { isAllowedOrigin } from '../lib/loopback'
import type { DeliveriesView, DeliveryRecord, Pipeline } from './pipeline'

/**
 * Event Delivery as a test instrument: the routes a test (or the Tester) uses to ask what became of the events the
 * local Tracking API accepted.
 *
 * - `GET /v1/deliveries`: the records matching a filter (`outcome`, `action`, `type`, `event`, `userId`,
 *   `anonymousId`, `messageId`, `since`, `q`), newest first, a page at a time (`limit`, `cursor`), with the counts of
 *   what matched; `?format=ndjson` streams every matching record instead, one a line, oldest first.
 * - `GET /v1/deliveries/settled?timeout=<ms>`: answers once every accepted event has its final outcome, or after
 *   `timeout` with what is still pending and why.
 * - `DELETE /v1/deliveries`: forgets the records and counts, so one `npm start` serves many tests.
 *
 * Outcomes are compared as text: a filter on an outcome this module has never heard of matches the records that
 * carry it, and matches nothing otherwise.
 */

/** Records a page holds unless `limit` says otherwise, and the most one page holds. */
export const DEFAULT_PAGE = 100
export const MAX_PAGE = 1000
/** How long `settled` waits unless `timeout` says otherwise, and the longest it waits (10 minutes). */
export const DEFAULT_SETTLED_TIMEOUT_MS = 30_000
export const MAX_SETTLED_TIMEOUT_MS = 600_000
/** Pending events `settled` lists when it gives up (its `pending` count covers them all). */
const PENDING_LISTED = 100
/** Lines written to an ndjson stream at a time. */
const NDJSON_CHUNK = 200

/** The filters of a query; each list matches any of its values, the filters all together. */
export interface DeliveryFilter {
  outcome?: string[]
  action?: string[]
  type?: string[]
  event?: string[]
  userId?: string[]
  anonymousId?: string[]
  messageId?: string[]
  /** Records received at or after this time (milliseconds since 1970). */
  since?: number
  /** Text found (case-insensitively) in the messageId, userId, anonymousId or event name. */
  q?: string
}

export interface DeliveryQuery {
  filter: DeliveryFilter
  limit: number
  /** Records older than this record id (a previous page's `nextCursor`). */
  cursor?: number
  format: 'json' | 'ndjson'
}

/** A query parameter the API refuses, and what to give instead. */
export class DeliveryQueryError extends Error {
  constructor(readonly parameter: string, message: string) {
    super(message)
  }
}

/** Filters that match a field of the record (or of its event) exactly, several values separated by commas. */
const LIST_FILTERS = ['outcome', 'action', 'type', 'event', 'userId', 'anonymousId', 'messageId'] as const
const PARAMETERS = [...LIST_FILTERS, 'since', 'q', 'limit', 'cursor', 'format']
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/

function wholeNumber(text: string, parameter: string, min: number, max: number, fix: string): number {
  const value = Number(text)
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new DeliveryQueryError(
      parameter,
      `${parameter}: ${JSON.stringify(text)} is not a whole number from ${min} to ${max}; ${fix}`
    )
  }
  return value
}

/**
 * Reads a query string (express's `req.query`).
 *
 * @param defaultLimit records per page without `limit` (the API's {@link DEFAULT_PAGE}, the Tester's fewer).
 * @throws DeliveryQueryError naming the parameter and the fix: an unknown or repeated parameter, an empty filter, a
 *   `since` that is not an ISO time, a `limit` or `cursor` that is not a whole number in range, an unknown `format`.
 */
export function parseDeliveryQuery(query: Record<string, unknown>, defaultLimit = DEFAULT_PAGE): DeliveryQuery {
  const filter: DeliveryFilter = {}
  const result: DeliveryQuery = { filter, limit: defaultLimit, format: 'json' }
  for (const [parameter, value] of Object.entries(query)) {
    if (!PARAMETERS.includes(parameter)) {
      const near = PARAMETERS.find((known) => known.toLowerCase() === parameter.toLowerCase().replace(/s$/, ''))
      throw new DeliveryQueryError(
        parameter,
        `${parameter} is not a parameter of /v1/deliveries${near ? ` (did you mean ${near}?)` : ''}; ` +
          `the parameters are ${PARAMETERS.join(', ')}.`
      )
    }
    if (typeof value !== 'string') {
      throw new DeliveryQueryError(
        parameter,
        `${parameter} is given more than once; give it once, with several values separated by commas where it takes a list.`
      )
    }
    if ((LIST_FILTERS as readonly string[]).includes(parameter)) {
      const values = value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
      if (values.length === 0) {
        throw new DeliveryQueryError(
          parameter,
          `${parameter} is empty; give a value (or several separated by commas), or leave it out.`
        )
      }
      filter[parameter as typeof LIST_FILTERS[number]] = values
    } else if (parameter === 'since') {
      const time = Date.parse(value)
      if (!ISO_TIME.test(value) || Number.isNaN(time)) {
        throw new DeliveryQueryError(
          'since',
          `since: ${JSON.stringify(value)} is not an ISO time; give one such as 2026-12-07T13:00:00.000Z.`
        )
      }
      filter.since = time
    } else if (parameter === 'q') {
      if (value.trim()) filter.q = value.trim().toLowerCase()
    } else if (parameter === 'limit') {
      result.limit = wholeNumber(
        value,
        'limit',
        1,
        MAX_PAGE,
        `page on with ?cursor=<nextCursor>, or take every record with ?format=ndjson.`
      )
    } else if (parameter === 'cursor') {
      result.cursor = wholeNumber(
        value,
        'cursor',
        1,
        Number.MAX_SAFE_INTEGER,
        'give the nextCursor of the previous page.'
      )
    } else if (value !== 'json' && value !== 'ndjson') {
      throw new DeliveryQueryError(
        'format',
        `format: ${JSON.stringify(value)} is not a format; give json (the default) or ndjson.`
      )
    } else {
      result.format = value
    }
  }
  return result
}

const text = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? String(value) : undefined)

/** The value a list filter compares with. */
function fieldOf(record: DeliveryRecord, name: typeof LIST_FILTERS[number]): string | undefined {
  if (name === 'userId' || name === 'anonymousId') return text(record.payload?.[name])
  return text(record[name])
}

/** Whether a record matches every filter given. */
export function matches(record: DeliveryRecord, filter: DeliveryFilter): boolean {
  for (const name of LIST_FILTERS) {
    const wanted = filter[name]
    if (!wanted) continue
    const value = fieldOf(record, name)
    if (value === undefined || !wanted.includes(value)) return false
  }
  if (filter.since !== undefined && !(Date.parse(record.receivedAt) >= filter.since)) return false
  if (filter.q !== undefined) {
    const fields = [record.messageId, text(record.payload?.userId), text(record.payload?.anonymousId), record.event]
    if (!fields.some((field) => field !== undefined && field.toLowerCase().includes(filter.q as string))) return false
  }
  return true
}

const isFiltered = (filter: DeliveryFilter) => Object.keys(filter).length > 0

/** One page of the records matching a query, with the counts of all that matched. */
export interface DeliveriesPage extends DeliveriesView {
  /** Kept records matching the filter (every page of them). */
  matched: number
  /** The `cursor` of the next page, when there is one. */
  nextCursor?: number
  /** Older records dropped to keep at most `maxRecords` (`--max-records`) since the last clear. */
  dropped: number
  maxRecords: number
}

/**
 * The page a query asks for. Without a filter the counts and `pending` cover every event since the last clear (the
 * pipeline's own, dropped records included); with one, the kept records that match.
 */
export function deliveriesPage(pipeline: Pipeline, query: DeliveryQuery): DeliveriesPage {
  const { records, dropped, max } = pipeline.kept()
  const whole = pipeline.view(0)
  const total: Record<string, number> = {}
  const byAction: Record<string, Record<string, number>> = {}
  const events: DeliveryRecord[] = []
  let matched = 0
  let pending = 0
  let more = false
  for (let index = records.length - 1; index >= 0; index--) {
    const record = records[index]
    if (!matches(record, query.filter)) continue
    matched++
    if (record.outcome === 'pending') pending++
    else {
      total[record.outcome] = (total[record.outcome] ?? 0) + 1
      const counts = (byAction[record.action ?? '(none)'] ??= {})
      counts[record.outcome] = (counts[record.outcome] ?? 0) + 1
    }
    if (query.cursor !== undefined && record.id >= query.cursor) continue
    if (events.length < query.limit) events.push(record)
    else more = true
  }
  const filtered = isFiltered(query.filter)
  return {
    counts: filtered ? { total, byAction } : whole.counts,
    pending: filtered ? pending : whole.pending,
    refusedRequests: whole.refusedRequests,
    events,
    matched,
    ...(more ? { nextCursor: events[events.length - 1].id } : {}),
    dropped,
    maxRecords: max
  }
}

/** Why an event is still pending, from its record: not yet attempted, being attempted, or retried after a failure. */
export function pendingState(record: DeliveryRecord): 'buffered' | 'in flight' | 'retrying' {
  if (record.attempts === 0) return 'buffered'
  return record.status === undefined ? 'in flight' : 'retrying'
}

/** `settled`'s answer. */
export interface SettledAnswer {
  settled: boolean
  waitedMs: number
  pending: number
  counts: DeliveriesView['counts']
  /** When not settled: pending events per state, and the first {@link PENDING_LISTED} of them. */
  why?: Record<string, number>
  waiting?: {
    messageId?: string
    type?: string
    action?: string
    state: string
    attempts: number
    lastStatus?: number
    lastReason?: string
  }[]
}

function settledAnswer(pipeline: Pipeline, started: number): SettledAnswer {
  const view = pipeline.view(0)
  const answer: SettledAnswer = {
    settled: view.pending === 0,
    waitedMs: Date.now() - started,
    pending: view.pending,
    counts: view.counts
  }
  if (answer.settled) return answer
  const waiting = pipeline.kept().records.filter((record) => record.outcome === 'pending')
  answer.why = {}
  for (const record of waiting) answer.why[pendingState(record)] = (answer.why[pendingState(record)] ?? 0) + 1
  answer.waiting = waiting.slice(0, PENDING_LISTED).map((record) => ({
    messageId: record.messageId,
    type: record.type,
    action: record.action,
    state: pendingState(record),
    attempts: record.attempts,
    ...(record.status !== undefined ? { lastStatus: record.status } : {}),
    ...(record.reason !== undefined ? { lastReason: record.reason } : {})
  }))
  return answer
}

/**
 * Waits until every accepted event has its final outcome, or `timeoutMs`, or `stop` (the client went away).
 */
export async function waitSettled(pipeline: Pipeline, timeoutMs: number, stop?: Promise<void>): Promise<SettledAnswer> {
  const started = Date.now()
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))
  try {
    await Promise.race([pipeline.idle(), expired, ...(stop ? [stop] : [])])
  } finally {
    clearTimeout(timer)
  }
  return settledAnswer(pipeline, started)
}

function refuse(res: Response, error: unknown): void {
  if (!(error instanceof DeliveryQueryError)) throw error
  res.status(400).json({ success: false, parameter: error.parameter, message: error.message })
}

async function streamNdjson(res: Response, records: DeliveryRecord[]): Promise<void> {
  res.status(200).type('application/x-ndjson')
  for (let start = 0; start < records.length && !res.destroyed; start += NDJSON_CHUNK) {
    const lines = records.slice(start, start + NDJSON_CHUNK).map((record) => `${JSON.stringify(record)}\n`)
    if (!res.write(lines.join(''))) await Promise.race([once(res, 'drain'), once(res, 'close')])
  }
  res.end()
}

/** The three routes, for the Tracking API's app; pages of other origins get 403 (the records hold personal data). */
export function deliveryRoutes(pipeline: Pipeline): express.Router {
  const router = express.Router()
  router.use('/v1/deliveries', (req: Request, res: Response, next) => {
    const origin = req.get('origin')
    if (origin && !isAllowedOrigin(origin)) return void res.status(403).json({ success: false, message: 'Forbidden.' })
    if (origin) res.set('Access-Control-Allow-Origin', origin).vary('Origin')
    next()
  })

  router.get('/v1/deliveries/settled', (req, res) => {
    const unknown = Object.keys(req.query).find((name) => name !== 'timeout')
    if (unknown) {
      return refuse(
        res,
        new DeliveryQueryError(
          unknown,
          `${unknown} is not a parameter of /v1/deliveries/settled; its one parameter is timeout (milliseconds).`
        )
      )
    }
    let timeout = DEFAULT_SETTLED_TIMEOUT_MS
    try {
      if (req.query.timeout !== undefined) {
        const given = typeof req.query.timeout === 'string' ? req.query.timeout : '(given more than once)'
        timeout = wholeNumber(
          given,
          'timeout',
          0,
          MAX_SETTLED_TIMEOUT_MS,
          `give milliseconds, at most ${MAX_SETTLED_TIMEOUT_MS} (10 minutes).`
        )
      }
    } catch (error) {
      return refuse(res, error)
    }
    const gone = once(res, 'close').then(() => undefined)
    void waitSettled(pipeline, timeout, gone).then((answer) => {
      if (!res.destroyed && !res.headersSent) res.json(answer)
    })
  })

  router.get('/v1/deliveries', (req, res) => {
    let query: DeliveryQuery
    try {
      query = parseDeliveryQuery(req.query)
    } catch (error) {
      return refuse(res, error)
    }
    if (query.format === 'json') return void res.json(deliveriesPage(pipeline, query))
    const records = pipeline.kept().records.filter((record) => matches(record, query.filter))
    // A failure mid-stream ends this answer only: it must never take the Tracking API down.
    streamNdjson(res, records).catch(() => res.destroy())
  })

  router.delete('/v1/deliveries', (_req, res) => {
    const cleared = pipeline.clear()
    res.json({ cleared, pending: pipeline.pending })
  })
  return router
}

/**
 * The page a query string asks for, or why it is refused: what the Tester's relay (`/tester/deliveries`) answers.
 *
 * @param defaultLimit records per page without `limit`.
 */
export function deliveriesFor(
  pipeline: Pipeline,
  query: Record<string, unknown>,
  defaultLimit: number
): { data: DeliveriesPage } | { error: { parameter: string; message: string } } {
  try {
    const parsed = parseDeliveryQuery(query, defaultLimit)
    return { data: deliveriesPage(pipeline, { ...parsed, format: 'json' }) }
  } catch (error) {
    if (!(error instanceof DeliveryQueryError)) throw error
    return { error: { parameter: error.parameter, message: error.message } }
  }
}
