import { Destination, RetryableError } from '@segment/actions-core'
import type { ActionDefinition, DestinationDefinition, JSONObject, SegmentEvent } from '@segment/actions-core'
import { requestTimeoutMs } from '../../src/destinations/koala-cloud/config'
import { isRetryable } from '../../src/destinations/koala-cloud/errors'
import type { Settings } from '../../src/destinations/koala-cloud/generated-types'
import koalaCloud from '../../src/destinations/koala-cloud'
import { parseFaults, startSandbox } from '../../src/sandbox/sandbox-server'
import type { SandboxFaults, SandboxStats } from '../../src/sandbox/sandbox-server'
import { pool } from '../../src/destinations/koala-cloud/send'
import { seededRandom } from '../../src/destinations/koala-cloud/__tests__/__helpers__/test-data'
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
  /** Delay of the `slow` fault in milliseconds; must stay below the destination's request timeout (default 1500). */
  slowMs?: number
  /** The destination definition to drive (default: the real Koala (Cloud) definition). */
  definition?: DestinationDefinition<Settings>
  /** Public Key put in the settings; the sandbox accepts only this one (default `pk_chaos`). */
  publicKey?: string
}

/** What the driver expected of one generated event. */
export type Expectation = 'deliver' | 'reject:no-identifier' | 'reject:bad-sent-at' | 'skip:analytics-js'

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
}

/** The result of {@link runChaos}. */
export interface ChaosReport {
  seed: number
  faults: SandboxFaults
  durationMs: number
  batch: PathCounts
  perEvent: PathCounts
  total: PathCounts
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
const EVENT_NAMES = ['Pricing Page Viewed', 'Trial Started', 'Report Exported', 'Seat Added', 'Integration Connected']
const PLANS = ['free', 'growth', 'enterprise']

/**
 * Generates `count` Segment events in the shapes the captured fixtures show (analytics-node and analytics.js),
 * with ids `chaos-<seed>-<tag>-<n>` so the two paths never share a `message_id`.
 *
 * Mix: about 43 % identified identify, 40 % identified track, 5 % track without any identifier (rejected), 5 %
 * identify with a Sent At that is not a date (rejected), 5 % analytics.js track (skipped), 2 % analytics.js identify
 * (delivered: the skip rule is for track only).
 */
export function generateEvents(count: number, seed: number, tag: string): ChaosEvent[] {
  const random = seededRandom(`chaos-events:${seed}`)
  const people = Math.max(1, Math.floor(count / 20))
  const base = Date.UTC(2026, 10, 30, 8, 0, 0)
  const events: ChaosEvent[] = []
  for (let n = 0; n < count; n++) {
    const roll = random()
    const person = Math.floor(random() * people)
    const email = `person.${person}@chaos.example.com`
    const timestamp = new Date(base + n * 1000).toISOString()
    const common = {
      messageId: `chaos-${seed}-${tag}-${n}`,
      timestamp,
      originalTimestamp: timestamp,
      sentAt: timestamp,
      receivedAt: timestamp,
      userId: `usr_${person}`,
      anonymousId: `anon-${person}`,
      integrations: {}
    }
    const context = { ip: `203.0.113.${person % 250}`, library: NODE_LIBRARY }
    const identify = (): SegmentEvent => ({
      ...common,
      type: 'identify',
      traits: { email, name: `Person ${person}`, plan: PLANS[person % 3], logins: n % 50, active: n % 2 === 0 },
      context
    })
    const track = (library: typeof NODE_LIBRARY): SegmentEvent => ({
      ...common,
      type: 'track',
      event: EVENT_NAMES[n % EVENT_NAMES.length],
      properties: { plan: PLANS[n % 3], seats: n % 17, nested: { step: n % 4, tags: ['a', 'b'] } },
      context: { ...context, library, traits: { email } }
    })
    if (roll < 0.43) {
      events.push({ event: identify(), expect: 'deliver' })
    } else if (roll < 0.83) {
      events.push({ event: track(NODE_LIBRARY), expect: 'deliver' })
    } else if (roll < 0.88) {
      // Anonymous only: Segment's anonymousId is not Koala's profile_id, and there is no email anywhere.
      const event = track(NODE_LIBRARY)
      delete event.userId
      event.context = { ip: context.ip, library: NODE_LIBRARY }
      events.push({ event, expect: 'reject:no-identifier' })
    } else if (roll < 0.93) {
      events.push({ event: { ...identify(), timestamp: 'yesterday at noon' }, expect: 'reject:bad-sent-at' })
    } else if (roll < 0.98) {
      events.push({ event: track(BROWSER_LIBRARY), expect: 'skip:analytics-js' })
    } else {
      const event = identify()
      event.context = { ...context, library: BROWSER_LIBRARY }
      events.push({ event, expect: 'deliver' })
    }
  }
  return events
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
    presentButNotDelivered: 0
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
  counts: PathCounts,
  options: Required<Pick<ChaosOptions, 'concurrency' | 'maxAttempts' | 'backoffMs'>>
): Promise<Outcome[]> {
  const outcomes: Outcome[] = new Array<Outcome>(events.length)
  const indexed = events.map((item, index) => ({ item, index }))
  await eachLimited(indexed, options.concurrency, async ({ item, index }) => {
    let last: Outcome = { kind: 'exhausted', status: 0, reason: 'never attempted' }
    for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
      counts.attempts++
      if (attempt > 1) counts.retriedAttempts++
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
  counts: PathCounts,
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
      counts.attempts += batch.length
      if (attempt > 1) counts.retriedAttempts += batch.length
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
  }
}

/** Tallies one path's outcomes against the sandbox's distinct `message_id`s. */
function tally(
  events: ChaosEvent[],
  outcomes: Outcome[],
  delivered: Set<string>,
  counts: PathCounts,
  reasons: Record<string, number>,
  reported: Set<string>
): void {
  counts.sent = events.length
  events.forEach(({ event, expect }, index) => {
    const outcome = outcomes[index]
    const id = String(event.messageId)
    const present = delivered.has(id)
    if (!matchesExpectation(expect, outcome)) counts.misclassified++
    switch (outcome.kind) {
      case 'delivered':
        counts.delivered++
        reported.add(id)
        if (!present) counts.vanished++
        break
      case 'skipped':
        counts.skipped++
        if (present) counts.presentButNotDelivered++
        break
      case 'rejected': {
        counts.nonRetryable++
        const key = `${outcome.status} ${firstSentence(outcome.reason)}`
        reasons[key] = (reasons[key] ?? 0) + 1
        if (present) counts.presentButNotDelivered++
        break
      }
      case 'exhausted':
        counts.exhausted++
        break
    }
  })
}

function sumCounts(a: PathCounts, b: PathCounts): PathCounts {
  const total = freshCounts()
  for (const key of Object.keys(total) as (keyof PathCounts)[]) total[key] = a[key] + b[key]
  return total
}

/**
 * Runs the fault-injection check: starts a sandbox on a free 127.0.0.1 port with the given faults, points the
 * destination at it (`KOALA_API_URL`, restored afterwards), sends the events through both paths at once, and checks:
 * nothing vanished (reported delivered yet absent from the sandbox), every event ended as generated to end (delivered,
 * rejected with its reason, or skipped), nothing exhausted its retries, nothing skipped or rejected reached the
 * sandbox, and the sandbox holds nothing that was not reported delivered.
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
  if (slowMs >= requestTimeoutMs()) {
    throw new Error(`slowMs (${slowMs}) must stay below the request timeout (${requestTimeoutMs()} ms).`)
  }
  const publicKey = options.publicKey ?? 'pk_chaos'
  const definition = options.definition ?? koalaCloud
  const perEventCount = Math.round(total * (options.perEventShare ?? 0.5))
  const batchEvents = generateEvents(total - perEventCount, seed, 'b')
  const perEventEvents = generateEvents(perEventCount, seed + 1, 'e')

  const sandbox = await startSandbox(0, {
    keys: [publicKey],
    faults,
    slowMs,
    keepBodies: false,
    random: seededRandom(`chaos-faults:${seed}`)
  })
  const previousUrl = process.env.KOALA_API_URL
  process.env.KOALA_API_URL = sandbox.url
  const started = Date.now()
  const batch = freshCounts()
  const perEvent = freshCounts()
  let batchOutcomes: Outcome[]
  let perEventOutcomes: Outcome[]
  try {
    const destination = new Destination<Settings>(definition)
    const settings = segmentSettings(definition, publicKey)
    const common = { maxAttempts, backoffMs: options.backoffMs ?? 10 }
    ;[batchOutcomes, perEventOutcomes] = await Promise.all([
      runBatches(destination, settings, batchEvents, batch, {
        ...common,
        batchSize: options.batchSize ?? 200,
        batchConcurrency: options.batchConcurrency ?? 4
      }),
      runPerEvent(destination, settings, perEventEvents, perEvent, {
        ...common,
        concurrency: options.concurrency ?? 32
      })
    ])
  } finally {
    if (previousUrl === undefined) delete process.env.KOALA_API_URL
    else process.env.KOALA_API_URL = previousUrl
    await sandbox.close()
  }
  const durationMs = Date.now() - started

  const nonRetryableByReason: Record<string, number> = {}
  const reported = new Set<string>()
  tally(batchEvents, batchOutcomes, sandbox.messageIds, batch, nonRetryableByReason, reported)
  tally(perEventEvents, perEventOutcomes, sandbox.messageIds, perEvent, nonRetryableByReason, reported)
  const sum = sumCounts(batch, perEvent)
  let unreportedInSandbox = 0
  for (const id of sandbox.messageIds) if (!reported.has(id)) unreportedInSandbox++

  const expected = { deliver: 0, 'reject:no-identifier': 0, 'reject:bad-sent-at': 0, 'skip:analytics-js': 0 }
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
  check(unreportedInSandbox, 'message_ids in the sandbox were not reported delivered')
  const accounted = sum.delivered + sum.skipped + sum.nonRetryable + sum.exhausted
  if (accounted !== total) failures.push(`${total - accounted} events have no outcome`)

  return {
    seed,
    faults,
    durationMs,
    batch,
    perEvent,
    total: sum,
    nonRetryableByReason,
    expected,
    sandbox: sandbox.stats(),
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
    ` misclassified=${c.misclassified} present-but-not-delivered=${c.presentButNotDelivered}`
  const s = report.sandbox
  const lines = [
    `chaos: seed=${report.seed} faults=${faults || 'none'} duration=${(report.durationMs / 1000).toFixed(1)}s`,
    row('batch', report.batch),
    row('per-event', report.perEvent),
    row('total', report.total),
    'non-retryable by reason:',
    ...Object.entries(report.nonRetryableByReason)
      .sort((a, b) => b[1] - a[1])
      .map(([reason, n]) => `  ${String(n).padStart(6)}  ${reason}`),
    `sandbox: requests=${s.requests} accepted=${s.accepted} rejected=${JSON.stringify(s.rejected)}` +
      ` faults=${JSON.stringify(s.faults)} entries=${s.entries} unique-message-ids=${s.uniqueMessageIds}` +
      ` duplicates=${s.duplicates} unreported-in-sandbox=${report.unreportedInSandbox}`,
    report.ok ? 'OK: nothing lost' : `FAILED:\n${report.failures.map((f) => `  - ${f}`).join('\n')}`
  ]
  return lines.join('\n')
}
