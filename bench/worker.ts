import { createRequestClient, Destination, MultiStatusResponse } from '@segment/actions-core'
import type { DestinationDefinition, JSONObject, ModifiedResponse, RequestClient, Result } from '@segment/actions-core'
import { writeFileSync } from 'fs'
import http from 'http'
import type https from 'https'
import { Session } from 'inspector/promises'
import * as config from '../src/destinations/koala-cloud/config'
import definition from '../src/destinations/koala-cloud'
import type { Settings } from '../src/destinations/koala-cloud/generated-types'
import { pool, segmentSettings } from './segment'
import { generateWorkload, minimumBodies, segmentBatches } from './workload'
import type { WorkloadEvent, WorkloadOptions } from './workload'

/**
 * One measured run of one mode, in a process of its own (forked by bench.ts) so that each mode's CPU time and peak
 * RSS are its own. Protocol over IPC: the worker generates its workload and warms up (JIT, sockets), sends
 * `{ type: 'ready' }`, waits for `{ cmd: 'go' }` (the orchestrator resets the sink in between), runs the measured
 * section, sends `{ type: 'result', result }` and exits. `KOALA_API_URL` points at the sink.
 */

/** The modes the benchmark compares. */
export type Mode = 'per-event' | 'batch' | 'framework-floor' | 'http-floor' | 'client-floor' | 'ideal-floor'

/**
 * How connections to the sink are handled: `keep-alive` is what the destination does as shipped (node-fetch 2 with
 * no agent uses Node's global agent, which keeps connections alive in Node 20); `close` has the sink answer
 * `Connection: close`, i.e. a new TCP connection per request.
 */
export type Connection = 'keep-alive' | 'close'

/**
 * Bench-only variants of the definition, to measure a change before proposing it for src/:
 * `custom-agent` gives the framework's request client a keep-alive `http.Agent` through `extendRequest` (which
 * actions-core destroys after every response); `skip-response-cloning` adds the request option
 * `skipResponseCloning: true` through `extendRequest` (actions-core then reads the answer once instead of cloning it).
 */
export type Variant = 'as-shipped' | 'custom-agent' | 'skip-response-cloning'

/** What to run. */
export interface Job {
  mode: Mode
  connection: Connection
  variant: Variant
  workload: WorkloadOptions
  /** Events per onBatch call (Segment's batch size). */
  batchSize: number
  /** onEvent calls in flight (per-event mode). */
  concurrency: number
  /** onBatch calls in flight (batch and framework-floor modes). */
  batchConcurrency: number
  /** Requests in flight for the HTTP floor. */
  httpConcurrency: number
  /** Requests one performBatch keeps in flight; differs from the destination's BATCH_CONCURRENCY only in a what-if. */
  requestConcurrency: number
  /** Events of a separate workload run first, unmeasured. */
  warmup: number
  /** Write a CPU profile of the measured section here (sampling interval in microseconds). */
  profile?: { path: string; intervalUs: number }
}

/** What one run measured, client side. */
export interface WorkerResult {
  events: number
  wallMs: number
  cpuUserMs: number
  cpuSystemMs: number
  /** Highest `process.memoryUsage.rss()` sampled every 5 ms during the measured section, in MB. */
  peakRssMB: number
  /** The OS's peak RSS of the whole worker process (warm-up included), in MB. */
  maxRssMB: number
  /** RSS just before the measured section (modules, workload and warm-up in memory), in MB. */
  baselineRssMB: number
  /** Failures by status. */
  failures: Record<string, number>
  /** onEvent/onBatch calls (or requests) made. */
  calls: number
  /** Longest single onEvent/onBatch call (or request), in ms. */
  slowestCallMs: number
  /** The first failure message, if any. */
  firstError?: string
}

const MB = 1024 * 1024

/** The Public Key every mode sends with, and the sink's batch endpoint for it (`KOALA_API_URL` is the sink). */
const BENCH_KEY = 'pk_bench_local'
const BATCH_PATH = `/web/projects/${BENCH_KEY}/batch`
const ACCOUNTS_PATH = `/web/projects/${BENCH_KEY}/accounts/batch`
/** Where a minimum body goes: a company's (it has a `domain`) to the accounts endpoint, a person's to batch. */
const pathOf = (body: JSONObject) => ('domain' in body ? ACCOUNTS_PATH : BATCH_PATH)
const SINK_URL = process.env.KOALA_API_URL ?? 'http://127.0.0.1:9'

/** The definition with the same fields and presets whose actions do nothing: what actions-core costs by itself. */
function noopDefinition(): DestinationDefinition<Settings> {
  const actions: DestinationDefinition<Settings>['actions'] = {}
  for (const [slug, action] of Object.entries(definition.actions)) {
    actions[slug] = { ...action, perform: () => undefined, performBatch: () => undefined }
  }
  return { ...definition, actions }
}

/**
 * Posts an already serialised body to the sink's batch endpoint with the request options the destination uses
 * (`postBody` in koala.ts), through a request client built by actions-core.
 */
function postSerialised(request: RequestClient, body: string, path = BATCH_PATH): Promise<ModifiedResponse> {
  return request(`${SINK_URL}${path}`, {
    method: 'POST',
    body,
    redirect: 'manual',
    throwHttpErrors: false,
    timeout: config.requestTimeoutMs()
  })
}

/**
 * The best any batch destination on actions-core could do with this workload: the same fields and presets (so the
 * same framework mapping and validation), and a `performBatch` that does no work of its own but serialise and send,
 * through the request client the framework gives it and with `BATCH_CONCURRENCY` in flight, the minimum bodies of
 * its batch (built before the clock starts: `bodiesByFirstMessageId`, filled by the runner), then report every
 * payload delivered. What a real destination spends above it is reading the payloads and grouping them by person.
 */
function idealDefinition(bodiesByFirstMessageId: Map<string, JSONObject[]>): DestinationDefinition<Settings> {
  const actions: DestinationDefinition<Settings>['actions'] = {}
  for (const [slug, action] of Object.entries(definition.actions)) {
    actions[slug] = {
      ...action,
      perform: () => undefined,
      performBatch: async (request, { payload }: { payload: { message_id?: string }[] }) => {
        const bodies = bodiesByFirstMessageId.get(String(payload[0]?.message_id)) ?? []
        await pool(bodies.length, config.BATCH_CONCURRENCY, async (i) => {
          // Serialising is part of sending: every destination has to do it.
          await postSerialised(request, JSON.stringify(bodies[i]), pathOf(bodies[i]))
        })
        const response = new MultiStatusResponse()
        payload.forEach((_item, index) =>
          response.setSuccessResponseAtIndex(index, { status: 200, sent: {}, body: '' })
        )
        return response
      }
    }
  }
  return { ...definition, actions }
}

/** The definition changed as a {@link Variant} says. */
function variantDefinition(variant: Variant): DestinationDefinition<Settings> {
  if (variant === 'as-shipped') return definition
  return {
    ...definition,
    extendRequest: (context) => ({
      ...definition.extendRequest?.(context),
      ...(variant === 'custom-agent'
        ? // actions-core types `agent` as an https.Agent; the sink is plain http, so it gets an http.Agent.
          { agent: new http.Agent({ keepAlive: true }) as unknown as https.Agent }
        : { skipResponseCloning: true })
    })
  }
}

class Tally {
  failures: Record<string, number> = {}
  calls = 0
  slowestCallMs = 0
  firstError?: string

  fail(status: number | string | undefined, message: unknown): void {
    const key = status === undefined ? 'thrown' : String(status)
    this.failures[key] = (this.failures[key] ?? 0) + 1
    this.firstError ??= `${key}: ${String(message)}`.slice(0, 300)
  }

  async time<T>(call: () => Promise<T>): Promise<T> {
    const start = performance.now()
    try {
      return await call()
    } finally {
      this.calls++
      this.slowestCallMs = Math.max(this.slowestCallMs, performance.now() - start)
    }
  }
}

/** Counts the per-event statuses of one onBatch answer. */
function countMultistatus(results: Result[], tally: Tally): void {
  for (const result of results) {
    for (const entry of result.multistatus ?? []) {
      if (entry.status < 200 || entry.status >= 300) {
        tally.fail(entry.status, 'errormessage' in entry ? entry.errormessage : '')
      }
    }
  }
}

/**
 * Builds the mode's runner. `runner(events)` does the unmeasured preparation (Segment batches, the floor's
 * serialised bodies) and returns the function that is timed; it is used for the warm-up, then for the measurement.
 */
type Runner = (events: WorkloadEvent[]) => (tally: Tally) => Promise<void>

/**
 * A floor that sends the minimum bodies, serialised with `serialise` before the clock starts (the floor is the
 * sending alone), with `post`, keeping `httpConcurrency` requests in flight.
 *
 * @param post sends one body and resolves with the HTTP status.
 * @param what names the floor in failure messages.
 */
function floorRunner<B>(
  job: Job,
  serialise: (body: JSONObject) => B,
  post: (body: B) => Promise<number>,
  what: string
): Runner {
  return (events) => {
    const bodies = minimumBodies(segmentBatches(events, job.batchSize)).map(serialise)
    return (tally) =>
      pool(bodies.length, job.httpConcurrency, async (i) => {
        try {
          const status = await tally.time(() => post(bodies[i]))
          if (status !== 200) tally.fail(status, `${what} request rejected`)
        } catch (error) {
          tally.fail('network', (error as Error).message)
        }
      })
  }
}

function runnerFor(job: Job): Runner {
  if (job.mode === 'http-floor') {
    const target = new URL(SINK_URL)
    const agent = job.connection === 'close' ? new http.Agent({ keepAlive: false }) : http.globalAgent
    const post = ({ path, bytes: body }: { path: string; bytes: Buffer }) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(
          {
            host: target.hostname,
            port: target.port,
            method: 'POST',
            path,
            agent,
            headers: {
              'Content-Type': 'application/json',
              'Content-Length': body.length,
              'User-Agent': 'koala-bench-floor'
            }
          },
          (res) => {
            res.resume()
            res.on('end', () => resolve(res.statusCode ?? 0))
          }
        )
        req.on('error', reject)
        req.end(body)
      })
    const serialise = (body: JSONObject) => ({ path: pathOf(body), bytes: Buffer.from(JSON.stringify(body)) })
    return floorRunner(job, serialise, post, 'HTTP floor')
  }

  if (job.mode === 'client-floor') {
    // The framework's own request client, built as actions-core builds it for an action (the destination's
    // extendRequest options), posting the minimum bodies with the destination's request options.
    const request = createRequestClient(definition.extendRequest?.({} as never) ?? {})
    return floorRunner(
      job,
      (body) => ({ path: pathOf(body), text: JSON.stringify(body) }),
      async ({ path, text }) => (await postSerialised(request, text, path)).status,
      'request-client floor'
    )
  }

  const idealBodies = new Map<string, JSONObject[]>()
  const def =
    job.mode === 'framework-floor'
      ? noopDefinition()
      : job.mode === 'ideal-floor'
      ? idealDefinition(idealBodies)
      : variantDefinition(job.variant)
  const destination = new Destination(def)
  const settings = segmentSettings(def, BENCH_KEY)
  // Destination.responses keeps every response forever; empty it after each call so memory stays what it is.
  const clearResponses = () => void destination.responses.splice(0)

  if (job.mode === 'per-event') {
    return (events) => async (tally) => {
      await pool(events.length, job.concurrency, async (i) => {
        try {
          await tally.time(() => destination.onEvent(events[i].event, settings))
        } catch (error) {
          const err = error as { status?: number; message?: string }
          tally.fail(err.status, err.message)
        } finally {
          clearResponses()
        }
      })
    }
  }

  return (events) => {
    const batches = segmentBatches(events, job.batchSize)
    if (job.mode === 'ideal-floor') {
      // Built before the clock starts; serialised while it runs.
      for (const batch of batches) idealBodies.set(String(batch[0].event.messageId), minimumBodies([batch]))
    }
    return (tally) =>
      pool(batches.length, job.batchConcurrency, async (i) => {
        try {
          const results = await tally.time(() =>
            destination.onBatch(
              batches[i].map((item) => item.event),
              settings
            )
          )
          countMultistatus(results, tally)
        } catch (error) {
          // A throw rejects the whole batch: every event in it failed.
          const err = error as { status?: number; message?: string }
          for (let n = 0; n < batches[i].length; n++) tally.fail(err.status ?? 'batch-threw', err.message)
        } finally {
          clearResponses()
        }
      })
  }
}

async function main(job: Job): Promise<void> {
  if (job.requestConcurrency !== config.BATCH_CONCURRENCY) {
    // What-if only, in this process only: koala.js reads the constant from the config module at call time.
    ;(config as { BATCH_CONCURRENCY: number }).BATCH_CONCURRENCY = job.requestConcurrency
  }
  const run = runnerFor(job)
  const workload = generateWorkload(job.workload)
  if (job.warmup > 0) {
    const warm = generateWorkload({ ...job.workload, events: job.warmup, seed: job.workload.seed + 7919 })
    await run(warm.events)(new Tally())
  }

  process.send?.({ type: 'ready' })
  await new Promise<void>((resolve) => {
    process.on('message', (message: { cmd?: string }) => {
      if (message.cmd === 'go') resolve()
    })
  })

  let profiler: Session | undefined
  // The unmeasured preparation (Segment batches, the floors' bodies) runs before the profiler starts.
  const measured = run(workload.events)
  if (job.profile) {
    profiler = new Session()
    profiler.connect()
    await profiler.post('Profiler.enable')
    await profiler.post('Profiler.setSamplingInterval', { interval: job.profile.intervalUs })
    await profiler.post('Profiler.start')
  }

  const tally = new Tally()
  const baselineRss = process.memoryUsage.rss()
  let peakRss = baselineRss
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss())
  }, 5)
  const cpuStart = process.cpuUsage()
  const started = performance.now()
  await measured(tally)
  const wallMs = performance.now() - started
  const cpu = process.cpuUsage(cpuStart)
  clearInterval(sampler)
  peakRss = Math.max(peakRss, process.memoryUsage.rss())

  if (profiler && job.profile) {
    const { profile } = await profiler.post('Profiler.stop')
    writeFileSync(job.profile.path, JSON.stringify(profile))
    profiler.disconnect()
  }

  const result: WorkerResult = {
    events: workload.events.length,
    wallMs,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    peakRssMB: peakRss / MB,
    maxRssMB: (process.resourceUsage().maxRSS * 1024) / MB,
    baselineRssMB: baselineRss / MB,
    failures: tally.failures,
    calls: tally.calls,
    slowestCallMs: tally.slowestCallMs,
    firstError: tally.firstError
  }
  process.send?.({ type: 'result', result }, () => process.exit(0))
}

if (require.main === module) {
  process.on('disconnect', () => process.exit(1))
  main(JSON.parse(process.argv[2]) as Job).catch((error: unknown) => {
    process.send?.({ type: 'error', message: error instanceof Error ? error.stack ?? error.message : String(error) })
    process.exitCode = 1
  })
}
