import { isObject } from '@segment/actions-core'
import type { DestinationDefinition, JSONObject } from '@segment/actions-core'
import { parseFql, validate } from '@segment/destination-subscriptions'
import {
  cleanMessage,
  createHarness,
  ENDPOINT,
  isRetryable,
  projectUrl,
  redactProjectUrl,
  toExchanges
} from '../harness'
import { unprocessableEvent } from '../harness'
import type { Exchange, Harness, Settings } from '../harness'
import { enrich, ingestFailure, messageIdOf, receivedAtText } from './enrich'
import type { Arrival, IngestFailure } from './enrich'
import { exchangeDetails } from './exchange-details'
import type { PipelineJournal } from './journal'
import { integrationsFilter } from './integrations'
import { routesOf } from './routes'
import type { PipelineConfig, Route } from './routes'
import { idList, retryLines } from './terminal'
import type { RetryNote } from './terminal'

export { routesOf }
export type { PipelineConfig, Route }

/**
 * Segment's delivery to an Actions destination, on this machine: each event is routed to every action whose
 * subscription matches it, buffered per action, and run through actions-core's `Destination` (`onBatch` when the
 * mapping enables batching, else `onEvent`) with that one subscription in the settings, as Segment's pipeline calls
 * it. The destination runs through the harness (src/harness), which sends its requests where the local tools were
 * told to (the sandbox, by default). Sources: segmentio/action-destinations README (subscriptions, batching) and Segment's docs,
 * `src/connections/destinations/index.md` (DEST, retries).
 */

/** The final outcomes an event can have, and `pending` until it has one. */
export type Outcome = 'pending' | 'delivered' | 'skipped' | 'filtered' | 'failed' | 'unsubscribed' | 'failed on ingest'

/** One delivery attempt: when it started, its status, and for a failure or skip its code and reason. */
export interface Attempt {
  at: string
  status: number
  code?: string
  reason?: string
}

/** One event's delivery to one action (or, when no action took it, the event alone). */
export interface DeliveryRecord {
  /** Order of arrival, from 1. */
  id: number
  messageId?: string
  type?: string
  /** A track call's event name. */
  event?: string
  receivedAt: string
  /** The action it went to; absent when unsubscribed, filtered or failed on ingest. */
  action?: string
  outcome: Outcome
  /** Why it was skipped, filtered, failed, refused at ingest or unsubscribed. */
  reason?: string
  /** The ingest failure's code, `FILTERED_BY_INTEGRATIONS_OBJECT`, or the error's type for a failure. */
  code?: string
  /** Status of the last attempt (Koala's answer, or the framework's error status). */
  status?: number
  /** Delivery attempts made. */
  attempts: number
  /** Each attempt, oldest first, with its cause when it failed (why it was retried). */
  attemptLog: Attempt[]
  /** The Koala request the event became on its last attempt, and Koala's answer. */
  request?: { url: string; body: unknown }
  response?: { status: number; body: unknown }
  /** The event as the destination received it (enriched), or as sent when refused at ingest. */
  payload: JSONObject
  /** Delivered again on start: the journal held it without a final outcome (src/tracking/journal.ts). */
  replayed?: true
}

/** Options of {@link Pipeline}. */
export interface PipelineOptions {
  /** The destination, redirected (default: Koala (Cloud) sending to Koala itself; `npm start` gives the sandbox). */
  harness?: Harness
  /** The Public Key delivered with unless `config.settings` gives one (default {@link LOCAL_PUBLIC_KEY}). */
  publicKey?: string
  config?: PipelineConfig
  /** Batching actions flush at their batch size or this long after their first buffered event (default 500 ms). */
  flushIntervalMs?: number
  /** How long after its first attempt an event is still retried (default 30 s; Segment: four hours, DEST). */
  retryWindowMs?: number
  /** Records kept for the delivery view (default {@link DEFAULT_MAX_RECORDS}, `--max-records`); counts cover every event. */
  keep?: number
  random?: () => number
  /**
   * Where the `[tracking]` lines go (default: nowhere): one line per request (the Tracking API's), one per event that
   * ends `failed`, per request refused as a whole and per retry's cause (terminal.ts), and on {@link Pipeline.close}
   * the final outcomes per action.
   */
  log?: (line: string) => void
}

/** Records kept for the delivery view unless `keep` (`--max-records`) says otherwise. */
export const DEFAULT_MAX_RECORDS = 10_000
/** Default buffer time of a batching action, in milliseconds. */
export const DEFAULT_FLUSH_INTERVAL_MS = 500
/** Default retry window, in milliseconds. */
export const DEFAULT_RETRY_WINDOW_MS = 30_000
/** First retry after about 100 ms, doubling up to 5 s, each wait randomised between half and one and a half. */
const RETRY_BASE_MS = 100
const RETRY_MAX_MS = 5000
/** `onEvent` calls in flight per action when batching is off (the benchmark's per-event concurrency). */
const EVENTS_IN_FLIGHT = 50
/** Message ids remembered for de-duplication (Segment: at least 24 hours' worth, src/guides/duplicate-data.md). */
const DEDUP_MEMORY = 100_000

/** The order of outcomes in {@link Pipeline.summary}. */
const OUTCOME_ORDER: Exclude<Outcome, 'pending'>[] = [
  'delivered',
  'skipped',
  'filtered',
  'failed',
  'failed on ingest',
  'unsubscribed'
]

const thousands = (count: number) => count.toLocaleString('en-US')

/** A track call's event name as delivered: a number or boolean (`42`) reaches Koala as its text (`"42"`). */
function eventName(value: unknown): string | undefined {
  if (typeof value === 'string') return value || undefined
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined
}

/** The Public Key used when neither `--config` nor `publicKey` (`KOALA_PUBLIC_KEY`) gives one (the sandbox takes any). */
export const LOCAL_PUBLIC_KEY = 'pk_local_segment'

interface Pending {
  record: DeliveryRecord
  event: JSONObject
  firstAttempt?: number
  /** When the current attempt started. */
  attemptAt?: Date
}

interface Lane {
  route: Route
  /** The subscription, parsed once. */
  condition: ReturnType<typeof parseFql>
  queue: Pending[]
  timer?: NodeJS.Timeout
  /** `onEvent` calls in flight. */
  active: number
}

/** A node of the framework's multistatus: `{ status, sent?, body?, errormessage?, errortype? }`. */
type StatusNode = JSONObject & { status: number }

/** A request refused as a whole; `events` are the calls it carried when its body parsed (none of them accepted). */
export interface RefusedRequest {
  at: string
  path: string
  status: number
  reason: string
  events?: { messageId?: string; type?: string }[]
}

/** The delivery view's summary: counts per action and outcome, and the last records. */
export interface DeliveriesView {
  counts: { total: Record<string, number>; byAction: Record<string, Record<string, number>> }
  /** Events without a final outcome yet (buffered, in flight or waiting for a retry). */
  pending: number
  /** Requests refused as a whole (400), which never became events. */
  refusedRequests: RefusedRequest[]
  /** Newest first. */
  events: DeliveryRecord[]
}

/** Segment's pipeline behind the local Tracking API: ingest, route, buffer, deliver, retry, record. */
export class Pipeline {
  readonly routes: Route[]
  private readonly harness: Harness
  private readonly definition: DestinationDefinition<Settings>
  private readonly settings: Settings
  private readonly lanes: Lane[]
  private readonly flushIntervalMs: number
  private readonly retryWindowMs: number
  private readonly keep: number
  private readonly random: () => number
  private readonly records: DeliveryRecord[] = []
  private readonly refused: DeliveriesView['refusedRequests'] = []
  private total: Record<string, number> = {}
  private byAction: Record<string, Record<string, number>> = {}
  private readonly seen = new Set<string>()
  private readonly seenOrder: string[] = []
  private readonly timers = new Set<NodeJS.Timeout>()
  private nextId = 1
  /** Records made since the last {@link clear} (kept or dropped). */
  private made = 0
  private pendingCount = 0
  private idleWaiters: (() => void)[] = []
  private draining = false
  private readonly log?: (line: string) => void
  /** Where accepted events are written before the Tracking API answers (src/tracking/journal.ts), when kept. */
  journal?: PipelineJournal

  /** @throws Error for a `config` that {@link routesOf} refuses. */
  constructor(options: PipelineOptions = {}) {
    this.harness = options.harness ?? createHarness()
    this.definition = this.harness.definition
    const config = options.config ?? {}
    this.settings = {
      public_key: options.publicKey?.trim() || LOCAL_PUBLIC_KEY,
      ...(config.settings ?? {})
    }
    this.routes = routesOf(this.definition, config)
    this.lanes = this.routes.map((route) => ({ route, condition: parseFql(route.subscribe), queue: [], active: 0 }))
    this.flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS
    this.retryWindowMs = options.retryWindowMs ?? DEFAULT_RETRY_WINDOW_MS
    this.keep = options.keep ?? DEFAULT_MAX_RECORDS
    this.random = options.random ?? Math.random
    this.log = options.log
  }

  /**
   * Takes one call Segment's API accepted: refuses it at ingest (with a record saying why), drops a duplicate
   * `messageId`, or enriches it and hands it to every action whose subscription matches.
   *
   * @returns the record of a call dropped at ingest (failed on ingest), else undefined.
   */
  ingest(call: JSONObject, arrival: Arrival): DeliveryRecord | undefined {
    const receivedAt = receivedAtText(arrival)
    const failure = ingestFailure(call) ?? unprocessable(call)
    if (failure) return this.refuseAtIngest(call, failure, receivedAt)
    const event = arrival.replayed ? call : enrich(call, arrival)
    const messageId = event.messageId as string
    if (this.seen.has(messageId)) {
      return this.refuseAtIngest(
        event,
        {
          code: 'duplicate_message_id',
          reason: `An event with the messageId ${JSON.stringify(
            messageId
          )} was already received: Segment drops duplicates.`
        },
        receivedAt
      )
    }
    this.remember(messageId)
    // Filtered at destination: the destination is off in the event's Integrations object (integrations.ts).
    const filtered = integrationsFilter(event, this.definition.name)
    if (filtered) return void this.finish(this.newRecord(event, receivedAt), 'filtered', filtered)
    const lanes = this.lanes.filter((lane) => validate(lane.condition, event))
    if (lanes.length === 0) {
      const subscriptions = this.routes.map((route) => `${route.action}: ${route.subscribe}`).join('; ')
      this.finish(this.newRecord(event, receivedAt), 'unsubscribed', {
        reason: `No action subscribes to ${event.type as string} events (subscriptions: ${subscriptions}).`
      })
      return
    }
    this.journal?.accepted(event, receivedAt, lanes.length)
    for (const lane of lanes) {
      const record = this.newRecord(event, receivedAt, lane.route.action)
      if (arrival.replayed) record.replayed = true
      this.pendingCount++
      this.enqueue(lane, { record, event })
    }
    return undefined
  }

  /** Records a call Segment answers 200 for and then drops (unknown write key, over 2,500 in a batch, ...). */
  refuseAtIngest(call: JSONObject, failure: IngestFailure, receivedAt: string): DeliveryRecord {
    const { writeKey: _writeKey, ...whole } = call
    // An event nested past what JSON.stringify can write would make every view of the records throw: keep its
    // top-level values that are not objects, and say the rest was left out.
    const shown = failure.code === 'unprocessable' ? shallow(whole) : whole
    // The record names the event by the messageId enrichment would have given it; the payload stays as sent.
    return this.finish(this.newRecord(shown, receivedAt), 'failed on ingest', {
      messageId: messageIdOf(call),
      reason: failure.reason,
      code: failure.code
    })
  }

  /** Records a request refused as a whole with 400 (its events never entered the pipeline). */
  refuseRequest(path: string, status: number, reason: string, events?: RefusedRequest['events']): void {
    this.refused.unshift({ at: new Date().toISOString(), path, status, reason, ...(events ? { events } : {}) })
    const ids = idList((events ?? []).map((event) => event.messageId))
    this.log?.(`[tracking] POST ${path} refused with ${status}: ${reason}${ids && ` ${ids}`}`)
    this.refused.length = Math.min(this.refused.length, 100)
  }

  /** The delivery view; `limit` newest records (default all kept). */
  view(limit = this.keep): DeliveriesView {
    return {
      counts: { total: { ...this.total }, byAction: JSON.parse(JSON.stringify(this.byAction)) as never },
      pending: this.pendingCount,
      refusedRequests: [...this.refused],
      events: this.records.slice(-Math.min(limit, this.keep)).reverse().slice(0, Math.max(0, limit))
    }
  }

  /** The records kept, oldest first (at most `keep`), and how many older ones were dropped since the last clear. */
  kept(): { records: DeliveryRecord[]; dropped: number; max: number } {
    const records = this.records.slice(-this.keep)
    return { records, dropped: this.made - records.length, max: this.keep }
  }

  /**
   * Forgets every finished record, the counts, the refused requests and the messageIds seen, so the next test starts
   * from nothing; events still pending stay and get their outcome.
   *
   * @returns how many records were cleared (the kept ones and those dropped before).
   */
  clear(): number {
    const pending = this.records.filter((record) => record.outcome === 'pending')
    const cleared = this.made - pending.length
    this.records.length = 0
    for (const record of pending) this.records.push(record)
    this.made = pending.length
    this.refused.length = 0
    this.total = {}
    this.byAction = {}
    this.seen.clear()
    this.seenOrder.length = 0
    return cleared
  }

  /** Resolves once every accepted event has its final outcome. */
  async idle(): Promise<void> {
    if (this.pendingCount === 0) return
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve))
  }

  /** Flushes every buffer now (batches no longer wait) and resolves once every event has its final outcome. */
  async drain(): Promise<void> {
    this.draining = true
    for (const lane of this.lanes) this.flush(lane)
    await this.idle()
    this.draining = false
  }

  /** Events without a final outcome yet. */
  get pending(): number {
    return this.pendingCount
  }

  /**
   * What closing prints: `[tracking] 1,000 events: 790 delivered, 10 failed, 200 unsubscribed`, then one line per
   * action (`(no action)` for events no action took), outcomes in a fixed order.
   */
  summary(): string[] {
    const phrase = (counts: Record<string, number>) =>
      OUTCOME_ORDER.filter((outcome) => counts[outcome])
        .map((outcome) => `${thousands(counts[outcome])} ${outcome}`)
        .join(', ')
    const all = Object.values(this.total).reduce((sum, count) => sum + count, 0)
    if (all === 0) return ['[tracking] 0 events received.']
    const lines = [`[tracking] ${thousands(all)} ${all === 1 ? 'event' : 'events'}: ${phrase(this.total)}`]
    for (const [action, counts] of Object.entries(this.byAction).sort(([a], [b]) => a.localeCompare(b))) {
      lines.push(`[tracking]   ${action === '(none)' ? '(no action)' : action}: ${phrase(counts)}`)
    }
    return lines
  }

  /**
   * Closing: logs `[tracking] draining N events` when some have no final outcome yet, {@link drain}s, then logs
   * {@link summary}, so no outcome is lost on Ctrl-C.
   */
  async close(): Promise<void> {
    const pending = this.pendingCount
    if (pending > 0) this.log?.(`[tracking] draining ${thousands(pending)} ${pending === 1 ? 'event' : 'events'}`)
    await this.drain()
    if (this.log) for (const line of this.summary()) this.log(line)
  }

  private remember(messageId: string): void {
    this.seen.add(messageId)
    this.seenOrder.push(messageId)
    if (this.seenOrder.length > DEDUP_MEMORY) this.seen.delete(this.seenOrder.shift() as string)
  }

  private newRecord(payload: JSONObject, receivedAt: string, action?: string): DeliveryRecord {
    const text = (value: unknown) => (typeof value === 'string' ? value : undefined)
    const record: DeliveryRecord = {
      id: this.nextId++,
      messageId: text(payload.messageId),
      type: text(payload.type),
      ...(payload.type === 'track' && eventName(payload.event) ? { event: eventName(payload.event) } : {}),
      receivedAt,
      ...(action ? { action } : {}),
      outcome: 'pending',
      attempts: 0,
      attemptLog: [],
      payload
    }
    this.records.push(record)
    this.made++
    // Trimmed in bulk: shifting one record per event would move every other each time.
    if (this.records.length >= 2 * this.keep) this.records.splice(0, this.records.length - this.keep)
    return record
  }

  private finish(record: DeliveryRecord, outcome: Exclude<Outcome, 'pending'>, details: Partial<DeliveryRecord>) {
    Object.assign(record, details, { outcome })
    this.total[outcome] = (this.total[outcome] ?? 0) + 1
    const action = record.action ?? '(none)'
    const counts = (this.byAction[action] ??= {})
    counts[outcome] = (counts[outcome] ?? 0) + 1
    return record
  }

  private settle(pending: Pending, outcome: 'delivered' | 'skipped' | 'failed', details: Partial<DeliveryRecord>) {
    // An earlier attempt's reason and code (kept while a retry waited) are not the final outcome's.
    delete pending.record.reason
    delete pending.record.code
    this.logAttempt(pending, details)
    this.finish(pending.record, outcome, details)
    this.journal?.settled(pending.event)
    if (outcome === 'failed' && this.log) {
      const { messageId, action, reason } = pending.record
      this.log(`[tracking] ${action as string} failed for messageId ${JSON.stringify(messageId)}: ${String(reason)}`)
    }
    this.pendingCount--
    if (this.pendingCount === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve())
  }

  private enqueue(lane: Lane, pending: Pending): void {
    lane.queue.push(pending)
    if (!lane.route.batching) return this.next(lane)
    if (lane.queue.length >= lane.route.batchSize || this.draining) return this.flush(lane)
    lane.timer ??= setTimeout(() => this.flush(lane), this.flushIntervalMs)
  }

  /** Starts the next events of a lane that sends one event per call, at most {@link EVENTS_IN_FLIGHT} at a time. */
  private next(lane: Lane): void {
    while (lane.active < EVENTS_IN_FLIGHT && lane.queue.length > 0) {
      lane.active++
      void this.deliverOne(lane.route, lane.queue.shift() as Pending).finally(() => {
        lane.active--
        this.next(lane)
      })
    }
  }

  private flush(lane: Lane): void {
    if (!lane.route.batching) return this.next(lane)
    if (lane.timer) clearTimeout(lane.timer)
    lane.timer = undefined
    while (lane.queue.length > 0) void this.deliverBatch(lane.route, lane.queue.splice(0, lane.route.batchSize))
  }

  private settings_(route: Route): Settings {
    // One subscription per call, as Segment runs each action instance of a destination.
    const subscription = { subscribe: route.subscribe, partnerAction: route.action, mapping: route.mapping }
    return { ...this.settings, subscriptions: [subscription] } as unknown as Settings
  }

  private async deliverBatch(route: Route, batch: Pending[]): Promise<void> {
    const destination = this.harness.destination()
    for (const pending of batch) this.startAttempt(pending)
    let nodes: StatusNode[]
    try {
      const results = await destination.onBatch(
        batch.map((pending) => pending.event) as never,
        this.settings_(route) as never
      )
      nodes = (results[0] as { multistatus?: StatusNode[] })?.multistatus ?? []
    } catch (error) {
      // The whole batch failed before any multistatus (invalid settings, a bug): every event shares the error.
      const exchanges = await toExchanges(destination.responses)
      const retries: RetryNote[] = []
      for (const pending of batch) this.afterError(route, pending, error, exchanges[exchanges.length - 1], retries)
      return this.logRetries(route, retries)
    }
    const retries: RetryNote[] = []
    // Each entry carries the body its request sent (`sent`) and Koala's answer (`body`); all go to one endpoint.
    const url = this.urlOf(route.action)
    batch.forEach((pending, index) => {
      const node = nodes[index] ?? { status: 500, errormessage: 'The framework returned no status for this event.' }
      const sent = isObject(node.sent) && Object.keys(node.sent).length > 0 ? node.sent : undefined
      const answered = node.body !== undefined && node.body !== ''
      const seen: Pick<DeliveryRecord, 'request' | 'response'> = sent && url ? { request: { url, body: sent } } : {}
      if (sent && answered) seen.response = { status: node.status, body: node.body }
      if (node.status >= 200 && node.status < 300) {
        if (!sent && typeof node.body === 'string') {
          return this.settle(pending, 'skipped', { status: node.status, reason: node.body })
        }
        return this.settle(pending, 'delivered', { status: node.status, ...seen })
      }
      const message = cleanMessage(typeof node.errormessage === 'string' ? node.errormessage : `Status ${node.status}`)
      const code = typeof node.errortype === 'string' ? node.errortype : undefined
      this.afterFailure(route, pending, node.status, message, code, seen, retries)
    })
    this.logRetries(route, retries)
  }

  private logRetries(route: Route, retries: RetryNote[]): void {
    if (this.log) for (const line of retryLines(route.action, retries)) this.log(line)
  }

  private async deliverOne(route: Route, pending: Pending): Promise<void> {
    const destination = this.harness.destination()
    this.startAttempt(pending)
    try {
      const results = (await destination.onEvent(pending.event as never, this.settings_(route) as never)) as {
        data?: unknown
        output?: unknown
      }[]
      const exchanges = await toExchanges(destination.responses)
      const data = results[results.length - 1]?.data as { skipped?: boolean; message?: string } | undefined
      if (data?.skipped === true) return this.settle(pending, 'skipped', { status: 200, reason: data.message })
      const seen = exchangeDetails(exchanges[exchanges.length - 1])
      this.settle(pending, 'delivered', { status: seen.response?.status ?? 200, ...seen })
    } catch (error) {
      const exchanges = await toExchanges(destination.responses)
      this.afterError(route, pending, error, exchanges[exchanges.length - 1])
    }
  }

  /** The (redacted) Koala URL an action posts to, or undefined for a Public Key the destination refuses. */
  private urlOf(action: string): string | undefined {
    if (!(action in ENDPOINT)) return undefined
    try {
      const url = projectUrl(this.settings.public_key, ENDPOINT[action as keyof typeof ENDPOINT])
      return redactProjectUrl(this.harness.koalaUrl(url))
    } catch {
      return undefined
    }
  }

  private startAttempt(pending: Pending): void {
    pending.record.attempts++
    pending.attemptAt = new Date()
    pending.firstAttempt ??= pending.attemptAt.getTime()
  }

  /** Adds the attempt that just ended to the record's {@link DeliveryRecord.attemptLog}. */
  private logAttempt(pending: Pending, { status, code, reason }: Partial<DeliveryRecord>): void {
    const at = (pending.attemptAt ?? new Date()).toISOString()
    pending.record.attemptLog.push({
      at,
      status: status ?? 200,
      ...(code ? { code } : {}),
      ...(reason ? { reason } : {})
    })
  }

  private afterError(
    route: Route,
    pending: Pending,
    error: unknown,
    exchange: Exchange | undefined,
    retries?: RetryNote[]
  ): void {
    const err = error as { status?: unknown; code?: unknown; name?: unknown; message?: unknown }
    const status = typeof err?.status === 'number' ? err.status : 500
    const message = cleanMessage(typeof err?.message === 'string' ? err.message : String(error))
    const code = typeof err?.code === 'string' ? err.code : typeof err?.name === 'string' ? err.name : undefined
    this.afterFailure(route, pending, status, message, code, exchangeDetails(exchange), retries)
  }

  /**
   * A failed attempt: retried with randomised exponential backoff when its status is one Segment retries (DEST:
   * "retry failed destination API calls for four hours with a randomized exponential backoff"; the statuses as the
   * destination's own `isRetryable`, the framework's rule), while the retry window lasts; otherwise final.
   */
  private afterFailure(
    route: Route,
    pending: Pending,
    status: number,
    message: string,
    code: string | undefined,
    seen: Pick<DeliveryRecord, 'request' | 'response'>,
    retries?: RetryNote[]
  ): void {
    const hint = this.harness.hintFor(status, message)
    const details = { status, reason: hint ? `${message} ${hint}` : message, ...(code ? { code } : {}), ...seen }
    if (!isRetryable(status)) return this.settle(pending, 'failed', details)
    const attempts = pending.record.attempts
    const wait = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (attempts - 1)) * (0.5 + this.random())
    const elapsed = Date.now() + wait - (pending.firstAttempt ?? Date.now())
    if (elapsed > this.retryWindowMs) {
      const window = `${this.retryWindowMs / 1000} s`
      return this.settle(pending, 'failed', {
        ...details,
        reason: `${message} Gave up after ${attempts} ${
          attempts === 1 ? 'attempt' : 'attempts'
        }: the retry window of ${window} ran out.`
      })
    }
    Object.assign(pending.record, details)
    this.logAttempt(pending, details)
    // The terminal shows the retry and its cause: one line per cause of a batch (`retries`), else at once.
    const note = { messageId: pending.record.messageId, attempt: attempts, status, code, reason: details.reason, wait }
    if (retries) retries.push(note)
    else this.logRetries(route, [note])
    const lane = this.lanes.find((candidate) => candidate.route === route) as Lane
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      this.enqueue(lane, pending)
    }, wait)
    this.timers.add(timer)
  }
}

/** `event`'s top-level values that are not objects or arrays, and `"(left out)"` for the others. */
function shallow(event: JSONObject): JSONObject {
  return Object.fromEntries(
    Object.entries(event).map(([key, value]) => [
      key,
      value !== null && typeof value === 'object' ? '(left out)' : value
    ])
  )
}

function unprocessable(call: JSONObject): IngestFailure | undefined {
  const message = unprocessableEvent(call)
  return message === undefined ? undefined : { code: 'unprocessable', reason: message }
}
