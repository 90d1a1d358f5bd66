import { Destination, RetryableError } from '@segment/actions-core'
import type { ActionDefinition, DestinationDefinition, JSONObject, SegmentEvent } from '@segment/actions-core'
import { createHarness, DEFAULT_REQUEST_TIMEOUT_MS, isRetryable } from '../../src/harness'
import type { Settings } from '../../src/harness'
import { parseFaults, startSandbox } from '../../src/sandbox/sandbox-server'
import type { SandboxFaults, SandboxStats } from '../../src/sandbox/sandbox-server'
import { pool } from '../../src/destinations/koala-cloud/send'
import { seededRandom } from '../../src/destinations/koala-cloud/__tests__/__helpers__/test-data'
import { DEFAULT_WORKLOAD, generateWorkload } from '../../bench/workload'
import type { WorkloadOptions } from '../../bench/workload'
import { segmentSettings } from './segment-settings'

/**
 * The fault-injection run ("nothing lost"): a sandbox that fails requests at random, the framework's own
 * `Destination` sending to it through both of Segment's paths (`onBatch` reading each event's multistatus, `onEvent`
 * reading thrown errors), retries of what the destination calls retryable, and a check that every event ends
 * delivered (present in the sandbox by `message_id`), rejected non-retryably with a reason, or skipped on purpose.
 * Used by `npm run chaos` (bench/chaos.ts) and test/chaos.test.ts.
 */

/** Faults of a run unless `KOALA_SANDBOX_FAULTS` or the caller says otherwise (probability per batch request). */
export const DEFAULT_FAULTS = '500=0.2,429=0.1,reset=0.05,slow=0.05'

/** Options of {@link runChaos}; every one has a default. */
export interface ChaosOptions {
  /** Events generated in all, split between the two paths by `perEventShare` (default 10,000). */
  events?: number
  /** Fault spec as `KOALA_SANDBOX_FAULTS` takes it, or parsed faults (default {@link DEFAULT_FAULTS}). */
  faults?: string | SandboxFaults
  /** Seeds both the events and the sandbox's fault draws (default 1). */
  seed?: number
  /** Shares of identify, page and group events, as the bench workload takes them (default {@link DEFAULT_MIX}). */
  mix?: Partial<ChaosMix>
  /** Share of the events sent through `onEvent`; the rest go through `onBatch` (0..1, default 0.5). */
  perEventShare?: number
  /** Events per `onBatch` call (default 200; the destination's Batch Size allows up to 1,000). */
  batchSize?: number
  /** `onEvent` calls in flight at once (default 32). */
  concurrency?: number
  /** `onBatch` calls in flight at once (default 4; each sends up to 16 Koala requests at once: `BATCH_CONCURRENCY`). */
  batchConcurrency?: number
  /**
   * Deliveries tried per event before it counts as `exhausted` (default 20). Segment retries a retryable failure for
   * hours; 20 keeps the run bounded while making exhaustion by chance negligible: with 40 % of requests failing,
   * 0.4^20 ≈ 1e-8 per event.
   */
  maxAttempts?: number
  /** First retry delay in milliseconds, doubled per attempt up to 20 times it (default 10). */
  backoffMs?: number
  /** Delay of the `slow` fault in milliseconds; must stay below the request timeout (default 1500). */
  slowMs?: number
  /** The harness's request timeout in milliseconds (default the local tools', `DEFAULT_REQUEST_TIMEOUT_MS`). */
  requestTimeoutMs?: number
  /** The destination definition to drive (default: the real Koala (Cloud) definition). */
  definition?: DestinationDefinition<Settings>
  /** Public Key put in the settings; the sandbox accepts only this one (default `pk_chaos`). */
  publicKey?: string
}

/** What the driver expected of one generated event. */
export type Expectation =
  | 'deliver'
  | 'reject:no-identifier'
  | 'reject:bad-sent-at'
  | 'reject:no-company'
  | 'skip:analytics-js'

/** How one event ended, as the destination reported it. */
export type Outcome =
  | { kind: 'delivered' }
  | { kind: 'skipped'; reason: string }
  | { kind: 'rejected'; status: number; reason: string }
  | { kind: 'exhausted'; status: number; reason: string }

/** Counts of one path (or both). */
export interface PathCounts {
  /** Events handed to the path. */
  sent: number
  /** Events the destination reported delivered. */
  delivered: number
  /** Events the destination reported skipped on purpose (analytics.js track). */
  skipped: number
  /** Events the destination reported non-retryable. */
  nonRetryable: number
  /** Events still failing retryably after `maxAttempts` deliveries. */
  exhausted: number
  /** Deliveries of single events tried, first attempts included (an event in a batch counts once per batch). */
  attempts: number
  /** Of those, the retries (attempts after the first). */
  retriedAttempts: number
  /** Reported delivered but absent from the sandbox: lost. */
  vanished: number
  /** Ended otherwise than generated to end (e.g. a valid event rejected, an invalid one delivered). */
  misclassified: number
  /** Reported skipped or non-retryable, yet present in the sandbox. */
  presentButNotDelivered: number
  /** Present on the other endpoint than its action sends to (a company's entry among people's, or the reverse). */
  misrouted: number
}

/** One endpoint's share of a run: its events on each path, and the sandbox's view of that endpoint. */
export interface EndpointReport {
  batch: PathCounts
  perEvent: PathCounts
  total: PathCounts
  /** Distinct `message_id`s the sandbox accepted on this endpoint. */
  uniqueMessageIds: number
  /** Entries accepted again on this endpoint under a `message_id` it already held (retries after a lost answer). */
  duplicates: number
  /** Faults the sandbox injected on this endpoint, by kind. */
  faults: Record<string, number>
  /** `message_id`s this endpoint holds that no event of it was reported delivered for. */
  unreportedInSandbox: number
}

/** The result of {@link runChaos}. */
export interface ChaosReport {
  seed: number
  faults: SandboxFaults
  durationMs: number
  batch: PathCounts
  perEvent: PathCounts
  total: PathCounts
  /** The same counts split by Koala endpoint: people (`/batch`: identify, track, page), companies (`/accounts/batch`). */
  endpoints: Record<Endpoint, EndpointReport>
  /** Non-retryable events by reason (first sentence of the message, with its status). */
  nonRetryableByReason: Record<string, number>
  /** Events generated, by expectation. */
  expected: Record<Expectation, number>
  /** The sandbox's counters at the end: faults injected, requests, entries, distinct `message_id`s, duplicates. */
  sandbox: SandboxStats
  /** `message_id`s the sandbox holds that no event was reported delivered for (Koala got what Segment dropped). */
  unreportedInSandbox: number
  /** Every invariant that failed, in words; empty when nothing was lost. */
  failures: string[]
  ok: boolean
}

interface ChaosEvent {
  event: SegmentEvent
  expect: Expectation
}

const NODE_LIBRARY = { name: '@segment/analytics-node', version: '3.1.0' }
const BROWSER_LIBRARY = { name: 'analytics.js', version: 'next-1.84.3' }

/** The two Koala endpoints: people (`/web/projects/{key}/batch`) and companies (`.../accounts/batch`). */
export type Endpoint = 'profiles' | 'accounts'

export const ENDPOINTS: readonly Endpoint[] = ['profiles', 'accounts']

/** How the report names each endpoint: its path under `/web/projects/{public_key}/`. */
export const ENDPOINT_PATHS: Record<Endpoint, string> = { profiles: '/batch', accounts: '/accounts/batch' }

/** The endpoint an event's action sends to: Group to `/accounts/batch`, the rest to `/batch`. */
export function endpointOf(event: SegmentEvent): Endpoint {
  return event.type === 'group' ? 'accounts' : 'profiles'
}

/** Shares of the event types, as the bench workload takes them (the rest are track events). */
export type ChaosMix = Pick<WorkloadOptions, 'identifyShare' | 'pageShare' | 'groupShare'>

/** The bench's mix: 25 % identify, 15 % page, 5 % group, 55 % track. */
export const DEFAULT_MIX: ChaosMix = {
  identifyShare: DEFAULT_WORKLOAD.identifyShare,
  pageShare: DEFAULT_WORKLOAD.pageShare,
  groupShare: DEFAULT_WORKLOAD.groupShare
}

/**
 * Generates `count` Segment events: the bench workload's (bench/workload.ts: identify, track, page and group events
 * in the captured fixtures' shapes, one person per 20 events, in the `mix` given), with ids
 * `chaos-<seed>-<tag>-<n>` so the two paths never share a `message_id`, and with some turned into the cases that
 * must not be delivered.
 *
 * Of every 100 events, about: 4 become a track without any identifier (rejected), 4 keep their type with a Sent At
 * that is not a date (rejected), 3 come from analytics.js (a track or page is skipped; an identify or group is still
 * delivered: the skip rule is for track and page only), 2 become a group call without a domain (rejected); the rest
 * are delivered as generated.
 */
export function generateEvents(count: number, seed: number, tag: string, mix: ChaosMix = DEFAULT_MIX): ChaosEvent[] {
  // A run may send every event through one path.
  if (count === 0) return []
  const workload = generateWorkload({
    ...DEFAULT_WORKLOAD,
    ...mix,
    events: count,
    people: Math.max(1, Math.floor(count / 20)),
    seed
  })
  const random = seededRandom(`chaos-events:${seed}`)
  return workload.events.map(({ event }, n): ChaosEvent => {
    event.messageId = `chaos-${seed}-${tag}-${n}`
    const roll = random()
    const base = {
      messageId: event.messageId,
      timestamp: event.timestamp,
      originalTimestamp: event.timestamp,
      sentAt: event.timestamp,
      receivedAt: event.timestamp,
      anonymousId: event.anonymousId,
      integrations: {}
    }
    if (roll < 0.04) {
      // Anonymous only: Segment's anonymousId is not Koala's profile_id, and there is no email anywhere.
      const anonymous: SegmentEvent = {
        ...base,
        type: 'track',
        event: 'Report Exported',
        properties: { format: 'csv', rows: n % 1000 },
        context: { ip: '203.0.113.7', library: NODE_LIBRARY }
      }
      return { event: anonymous, expect: 'reject:no-identifier' }
    }
    if (roll < 0.08) return { event: { ...event, timestamp: 'yesterday at noon' }, expect: 'reject:bad-sent-at' }
    if (roll < 0.11) {
      event.context = { ...event.context, library: BROWSER_LIBRARY }
      return { event, expect: event.type === 'track' || event.type === 'page' ? 'skip:analytics-js' : 'deliver' }
    }
    if (roll < 0.13) {
      const nameless: SegmentEvent = {
        ...base,
        type: 'group',
        userId: event.userId,
        groupId: `org_unnamed_${n}`,
        traits: { name: 'Unnamed workspace', plan: 'free' },
        context: { library: NODE_LIBRARY }
      }
      return { event: nameless, expect: 'reject:no-company' }
    }
    return { event, expect: 'deliver' }
  })
}

/** Status that is retried: the destination's own rule, so the chaos run and the destination never disagree. */
export function isRetryableStatus(status: number): boolean {
  return isRetryable(status)
}

/** Whether Segment would retry an error `onEvent` threw: a `RetryableError`, or a retryable (or missing) status. */
export function isRetryableError(error: unknown): boolean {
  if (error instanceof RetryableError) return true
  const err = error as { name?: string; status?: number; response?: { status?: number } }
  if (err?.name === 'RetryableError') return true
  const status = err?.status ?? err?.response?.status
  // An error without a status is unexpected; Segment treats it as a 500, so it is retried.
  return typeof status !== 'number' || isRetryableStatus(status)
}

/**
 * A deliberately broken copy of a definition: each action's `perform` reports success whenever the real one throws a
 * retryable error (a 5xx, a 429, a dropped connection). That is the per-event defect the run must catch; `performBatch`
 * is left intact.
 */
export function withSwallowedRetryableErrors(
  definition: DestinationDefinition<Settings>
): DestinationDefinition<Settings> {
  const actions: Record<string, ActionDefinition<Settings>> = {}
  for (const [slug, action] of Object.entries(definition.actions)) {
    const perform = action.perform
    actions[slug] = {
      ...action,
      perform: async (request, data) => {
        try {
          return (await perform(request, data)) as unknown
        } catch (error) {
          if (isRetryableError(error)) return { ok: true }
          throw error
        }
      }
    }
  }
  return { ...definition, actions }
}

const firstSentence = (text: string) => text.split(/\.(\s|$)/)[0].slice(0, 160)

/** Whether a successful answer is the destination's deliberate skip rather than a delivery. */
function isSkip(answer: unknown): boolean {
  if (typeof answer === 'string') return answer.startsWith('Skipped:')
  return (answer as { skipped?: unknown } | null)?.skipped === true
}

function freshCounts(): PathCounts {
  return {
    sent: 0,
    delivered: 0,
    skipped: 0,
    nonRetryable: 0,
    exhausted: 0,
    attempts: 0,
    retriedAttempts: 0,
    vanished: 0,
    misclassified: 0,
    presentButNotDelivered: 0,
    misrouted: 0
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs `worker` over `items` with at most `limit` in flight. */
async function eachLimited<T>(items: T[], limit: number, worker: (item: T) => Promise<void>): Promise<void> {
  await pool(
    items.map((item) => () => worker(item)),
    limit
  )
}

/**
 * The per-event path: `onEvent` per event, retried while it throws a retryable error.
 *
 * @returns one outcome per event, in order.
 */
async function runPerEvent(
  destination: Destination<Settings>,
  settings: JSONObject,
  events: ChaosEvent[],
  attempts: number[],
  options: Required<Pick<ChaosOptions, 'concurrency' | 'maxAttempts' | 'backoffMs'>>
): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array<Outcome>(events.length)
  const indexed = events.map((item, index) => ({ item, index }))
  await eachLimited(indexed, options.concurrency, async ({ item, index }) => {
    let last: Outcome = { kind: 'exhausted', status: 0, reason: 'never attempted' }
    for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
      attempts[index]++
      try {
        const results = await destination.onEvent(item.event, settings)
        const executed = results.find((result) => result.output === 'Action Executed')
        if (!executed) throw new Error(`onEvent executed no action for ${item.event.type}.`)
        outcomes[index] = isSkip(executed.data)
          ? { kind: 'skipped', reason: (executed.data as { message?: string }).message ?? '' }
          : { kind: 'delivered' }
        return
      } catch (error) {
        const err = error as { message?: string; status?: number }
        const status = err.status ?? 0
        const reason = String(err.message ?? error)
        if (!isRetryableError(error)) {
          outcomes[index] = { kind: 'rejected', status, reason }
          return
        }
        last = { kind: 'exhausted', status, reason }
      } finally {
        // The framework keeps every response for tests; a long run must not keep them.
        destination.responses.length = 0
      }
      await sleep(Math.min(options.backoffMs * 2 ** (attempt - 1), options.backoffMs * 20))
    }
    outcomes[index] = last
  })
  return outcomes
}

/**
 * The batch path: `onBatch` per batch of one event type (Segment batches per subscription), each event read from its
 * multistatus entry; retryable entries go into the next round's batches.
 *
 * @returns one outcome per event, in order.
 */
async function runBatches(
  destination: Destination<Settings>,
  settings: JSONObject,
  events: ChaosEvent[],
  attempts: number[],
  options: Required<Pick<ChaosOptions, 'batchSize' | 'batchConcurrency' | 'maxAttempts' | 'backoffMs'>>
): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array<Outcome>(events.length)
  const subscriptions = (settings.subscriptions as unknown as { subscribe: string }[]).map((sub) => sub.subscribe)
  const subscriptionIndex = (type: string | undefined) => subscriptions.indexOf(`type = "${type}"`)
  let pending = events.map((_, index) => index)
  const last = new Map<number, Outcome>()

  for (let attempt = 1; attempt <= options.maxAttempts && pending.length > 0; attempt++) {
    if (attempt > 1) await sleep(Math.min(options.backoffMs * 2 ** (attempt - 2), options.backoffMs * 20))
    const byType = new Map<string, number[]>()
    for (const index of pending) {
      const type = String(events[index].event.type)
      const indexes = byType.get(type)
      if (indexes) indexes.push(index)
      else byType.set(type, [index])
    }
    const batches: number[][] = []
    for (const indexes of byType.values()) {
      for (let start = 0; start < indexes.length; start += options.batchSize) {
        batches.push(indexes.slice(start, start + options.batchSize))
      }
    }
    const retry: number[] = []
    await eachLimited(batches, options.batchConcurrency, async (batch) => {
      for (const index of batch) attempts[index]++
      const type = events[batch[0]].event.type
      const position = subscriptionIndex(type)
      if (position < 0) throw new Error(`No subscription matches type ${type}.`)
      try {
        const results = await destination.onBatch(
          batch.map((index) => events[index].event),
          settings
        )
        const multistatus = results[position]?.multistatus
        if (!multistatus || multistatus.length !== batch.length) {
          throw new Error(`onBatch gave no multistatus of ${batch.length} entries for ${type}.`)
        }
        multistatus.forEach((node, i) => {
          const index = batch[i]
          if (node.status >= 200 && node.status < 300) {
            const body = (node as { body?: unknown }).body
            outcomes[index] = isSkip(body) ? { kind: 'skipped', reason: String(body) } : { kind: 'delivered' }
            return
          }
          const reason = String((node as { errormessage?: string }).errormessage ?? '')
          if (isRetryableStatus(node.status)) {
            last.set(index, { kind: 'exhausted', status: node.status, reason })
            retry.push(index)
          } else {
            outcomes[index] = { kind: 'rejected', status: node.status, reason }
          }
        })
      } catch (error) {
        // A whole batch failing: Segment applies the error's status to every event of it.
        const err = error as { message?: string; status?: number }
        for (const index of batch) {
          if (isRetryableError(error)) {
            last.set(index, { kind: 'exhausted', status: err.status ?? 0, reason: String(err.message ?? error) })
            retry.push(index)
          } else {
            outcomes[index] = { kind: 'rejected', status: err.status ?? 0, reason: String(err.message ?? error) }
          }
        }
      } finally {
        destination.responses.length = 0
      }
    })
    pending = retry.sort((a, b) => a - b)
  }
  for (const index of pending) outcomes[index] = last.get(index) ?? { kind: 'exhausted', status: 0, reason: '' }
  return outcomes
}

/** What each expectation accepts as the event's end, and the words its reason must contain. */
function matchesExpectation(expect: Expectation, outcome: Outcome): boolean {
  switch (expect) {
    case 'deliver':
      return outcome.kind === 'delivered'
    case 'skip:analytics-js':
      return outcome.kind === 'skipped' && /analytics\.js/.test(outcome.reason)
    case 'reject:no-identifier':
      return outcome.kind === 'rejected' && outcome.status === 400 && /email or a Koala profile_id/.test(outcome.reason)
    case 'reject:bad-sent-at':
      return outcome.kind === 'rejected' && outcome.status === 400 && /sent.?at/i.test(outcome.reason)
    case 'reject:no-company':
      return (
        outcome.kind === 'rejected' &&
        outcome.status === 400 &&
        // Company Domain is conditionally required: the framework's schema check refuses a group without it.
        /missing the required field 'domain'/.test(outcome.reason)
      )
  }
}

/** The sandbox's distinct `message_id`s of each endpoint. */
type HeldIds = Record<Endpoint, Set<string>>

/**
 * Tallies one path's outcomes against the sandbox's distinct `message_id`s of each event's endpoint, into the path's
 * counts and the endpoint's counts of that path.
 */
function tally(
  events: ChaosEvent[],
  outcomes: Outcome[],
  attempts: number[],
  held: HeldIds,
  counts: PathCounts,
  byEndpoint: Record<Endpoint, PathCounts>,
  reasons: Record<string, number>,
  reported: HeldIds
): void {
  events.forEach(({ event, expect }, index) => {
    const outcome = outcomes[index]
    const id = String(event.messageId)
    const endpoint = endpointOf(event)
    const present = held[endpoint].has(id)
    for (const c of [counts, byEndpoint[endpoint]]) {
      c.sent++
      c.attempts += attempts[index]
      c.retriedAttempts += Math.max(0, attempts[index] - 1)
      if (!matchesExpectation(expect, outcome)) c.misclassified++
      if (held[endpoint === 'accounts' ? 'profiles' : 'accounts'].has(id)) c.misrouted++
      switch (outcome.kind) {
        case 'delivered':
          c.delivered++
          if (!present) c.vanished++
          break
        case 'skipped':
          c.skipped++
          if (present) c.presentButNotDelivered++
          break
        case 'rejected':
          c.nonRetryable++
          if (present) c.presentButNotDelivered++
          break
        case 'exhausted':
          c.exhausted++
          break
      }
    }
    if (outcome.kind === 'delivered') reported[endpoint].add(id)
    if (outcome.kind === 'rejected') {
      const key = `${outcome.status} ${firstSentence(outcome.reason)}`
      reasons[key] = (reasons[key] ?? 0) + 1
    }
  })
}

/** `a - b` per key, keys whose difference is 0 left out. */
function difference(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const result: Record<string, number> = {}
  for (const [key, value] of Object.entries(a)) if (value - (b[key] ?? 0) !== 0) result[key] = value - (b[key] ?? 0)
  return result
}

function sumCounts(a: PathCounts, b: PathCounts): PathCounts {
  const total = freshCounts()
  for (const key of Object.keys(total) as (keyof PathCounts)[]) total[key] = a[key] + b[key]
  return total
}

/**
 * Runs the fault-injection check: starts a sandbox on a free 127.0.0.1 port with the given faults (drawn alike on
 * both endpoints, `/batch` and `/accounts/batch`), points the destination at it through the harness, sends the events through both paths at once, and checks, each event against its own endpoint:
 * nothing vanished (reported delivered yet absent from the endpoint), every event ended as generated to end
 * (delivered, rejected with its reason, or skipped), nothing exhausted its retries, nothing skipped or rejected reached
 * the sandbox, nothing reached the other endpoint, and neither endpoint holds anything that was not reported
 * delivered.
 *
 * @throws Error when the faults cannot be parsed or `slowMs` is not below the destination's request timeout.
 */
export async function runChaos(options: ChaosOptions = {}): Promise<ChaosReport> {
  const seed = options.seed ?? 1
  const total = options.events ?? 10_000
  const faults = typeof options.faults === 'object' ? options.faults : parseFaults(options.faults ?? DEFAULT_FAULTS)
  const slowMs = options.slowMs ?? 1500
  const maxAttempts = options.maxAttempts ?? 20
  // A slow answer past the timeout would be a timeout fault, not a slow one (the request client gives up first).
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  if (slowMs >= requestTimeoutMs) {
    throw new Error(`slowMs (${slowMs}) must stay below the request timeout (${requestTimeoutMs} ms).`)
  }
  const publicKey = options.publicKey ?? 'pk_chaos'
  const perEventCount = Math.round(total * (options.perEventShare ?? 0.5))
  const mix = { ...DEFAULT_MIX, ...options.mix }
  const batchEvents = generateEvents(total - perEventCount, seed, 'b', mix)
  const perEventEvents = generateEvents(perEventCount, seed + 1, 'e', mix)

  const sandbox = await startSandbox(0, {
    keys: [publicKey],
    faults,
    slowMs,
    keepBodies: false,
    random: seededRandom(`chaos-faults:${seed}`)
  })
  const harness = createHarness({ definition: options.definition, apiUrl: sandbox.url, requestTimeoutMs })
  const started = Date.now()
  const batch = freshCounts()
  const perEvent = freshCounts()
  let batchOutcomes: Outcome[]
  let perEventOutcomes: Outcome[]
  // Deliveries tried per event, by index.
  const batchAttempts = batchEvents.map(() => 0)
  const perEventAttempts = perEventEvents.map(() => 0)
  try {
    const destination = harness.destination()
    const settings = segmentSettings(harness.definition, publicKey)
    const common = { maxAttempts, backoffMs: options.backoffMs ?? 10 }
    ;[batchOutcomes, perEventOutcomes] = await Promise.all([
      runBatches(destination, settings, batchEvents, batchAttempts, {
        ...common,
        batchSize: options.batchSize ?? 200,
        batchConcurrency: options.batchConcurrency ?? 4
      }),
      runPerEvent(destination, settings, perEventEvents, perEventAttempts, {
        ...common,
        concurrency: options.concurrency ?? 32
      })
    ])
  } finally {
    await sandbox.close()
  }
  const durationMs = Date.now() - started

  const nonRetryableByReason: Record<string, number> = {}
  const held: HeldIds = { profiles: sandbox.profileMessageIds, accounts: sandbox.accountMessageIds }
  const reported: HeldIds = { profiles: new Set(), accounts: new Set() }
  const split = {
    batch: { profiles: freshCounts(), accounts: freshCounts() },
    perEvent: { profiles: freshCounts(), accounts: freshCounts() }
  }
  tally(batchEvents, batchOutcomes, batchAttempts, held, batch, split.batch, nonRetryableByReason, reported)
  tally(
    perEventEvents,
    perEventOutcomes,
    perEventAttempts,
    held,
    perEvent,
    split.perEvent,
    nonRetryableByReason,
    reported
  )
  const sum = sumCounts(batch, perEvent)
  const sandboxStats = sandbox.stats()
  const unreported = (endpoint: Endpoint) => {
    let count = 0
    for (const id of held[endpoint]) if (!reported[endpoint].has(id)) count++
    return count
  }
  const endpoints = {} as Record<Endpoint, EndpointReport>
  for (const endpoint of ENDPOINTS) {
    const accounts = endpoint === 'accounts'
    endpoints[endpoint] = {
      batch: split.batch[endpoint],
      perEvent: split.perEvent[endpoint],
      total: sumCounts(split.batch[endpoint], split.perEvent[endpoint]),
      uniqueMessageIds: held[endpoint].size,
      // The sandbox counts both endpoints together and companies apart; people are the difference.
      duplicates: accounts
        ? sandboxStats.accounts.duplicates
        : sandboxStats.duplicates - sandboxStats.accounts.duplicates,
      faults: accounts ? sandboxStats.accounts.faults : difference(sandboxStats.faults, sandboxStats.accounts.faults),
      unreportedInSandbox: unreported(endpoint)
    }
  }
  const unreportedInSandbox = endpoints.profiles.unreportedInSandbox + endpoints.accounts.unreportedInSandbox

  const expected = {
    deliver: 0,
    'reject:no-identifier': 0,
    'reject:bad-sent-at': 0,
    'reject:no-company': 0,
    'skip:analytics-js': 0
  }
  for (const { expect } of [...batchEvents, ...perEventEvents]) expected[expect]++

  const failures: string[] = []
  const check = (count: number, what: string) => {
    if (count !== 0) failures.push(`${count} ${what}`)
  }
  check(batch.vanished, 'events vanished on the batch path (reported delivered, absent from the sandbox)')
  check(perEvent.vanished, 'events vanished on the per-event path (reported delivered, absent from the sandbox)')
  check(sum.misclassified, 'events ended otherwise than expected (delivered/rejected/skipped)')
  check(sum.exhausted, `events still failing after ${maxAttempts} attempts`)
  check(sum.presentButNotDelivered, 'events reported skipped or non-retryable reached the sandbox')
  check(sum.misrouted, 'events reached the other endpoint than their action sends to')
  for (const endpoint of ENDPOINTS) {
    check(
      endpoints[endpoint].unreportedInSandbox,
      `message_ids on ${ENDPOINT_PATHS[endpoint]} were not reported delivered`
    )
  }
  const accounted = sum.delivered + sum.skipped + sum.nonRetryable + sum.exhausted
  if (accounted !== total) failures.push(`${total - accounted} events have no outcome`)

  return {
    seed,
    faults,
    durationMs,
    batch,
    perEvent,
    total: sum,
    endpoints,
    nonRetryableByReason,
    expected,
    sandbox: sandboxStats,
    unreportedInSandbox,
    failures,
    ok: failures.length === 0
  }
}

/** The report as printed by `npm run chaos`: one block of counts per path, the reasons, the sandbox's view. */
export function formatReport(report: ChaosReport): string {
  const faults = Object.entries(report.faults)
    .map(([kind, p]) => `${kind}=${p}`)
    .join(',')
  const row = (name: string, c: PathCounts) =>
    `${name.padEnd(10)} sent=${c.sent} delivered=${c.delivered} skipped=${c.skipped} non-retryable=${c.nonRetryable}` +
    ` exhausted=${c.exhausted} attempts=${c.attempts} retried=${c.retriedAttempts} vanished=${c.vanished}` +
    ` misclassified=${c.misclassified} present-but-not-delivered=${c.presentButNotDelivered} misrouted=${c.misrouted}`
  const s = report.sandbox
  const endpointLines = ENDPOINTS.flatMap((endpoint) => {
    const e = report.endpoints[endpoint]
    return [
      `${ENDPOINT_PATHS[endpoint]}: unique-message-ids=${e.uniqueMessageIds} duplicates=${e.duplicates}` +
        ` faults=${JSON.stringify(e.faults)} unreported-in-sandbox=${e.unreportedInSandbox}`,
      `  ${row('batch', e.batch)}`,
      `  ${row('per-event', e.perEvent)}`
    ]
  })
  const lines = [
    `chaos: seed=${report.seed} faults=${faults || 'none'} duration=${(report.durationMs / 1000).toFixed(1)}s`,
    row('batch', report.batch),
    row('per-event', report.perEvent),
    row('total', report.total),
    'by endpoint:',
    ...endpointLines,
    'non-retryable by reason:',
    ...Object.entries(report.nonRetryableByReason)
      .sort((a, b) => b[1] - a[1])
      .map(([reason, n]) => `  ${String(n).padStart(6)}  ${reason}`),
    `sandbox: requests=${s.requests} accepted=${s.accepted} rejected=${JSON.stringify(s.rejected)}` +
      ` faults=${JSON.stringify(s.faults)} entries=${s.entries} unique-message-ids=${s.uniqueMessageIds}` +
      ` duplicates=${s.duplicates} accounts=${JSON.stringify(s.accounts)}` +
      ` unreported-in-sandbox=${report.unreportedInSandbox}`,
    report.ok ? 'OK: nothing lost' : `FAILED:\n${report.failures.map((f) => `  - ${f}`).join('\n')}`
  ]
  return lines.join('\n')
}
