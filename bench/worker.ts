import { Destination } from '@segment/actions-core'
import type { Result } from '@segment/actions-core'
import { pool } from '../src/destinations/koala-cloud/send'
import { createHarness, KOALA_API_URL } from '../src/harness'
import { segmentSettings } from '../test/support/segment-settings'
import { idealDefinition } from './ideal'
import { loadPeer } from './peer'
import { generateWorkload, segmentBatches } from './workload'
import type { WorkloadEvent, WorkloadOptions } from './workload'

/**
 * One measured run of one mode, in a process of its own (forked by bench.ts), so that the CPU time is that mode's
 * alone. Over IPC: the worker generates its workload and warms up (JIT, sockets), sends `{ type: 'ready' }`, waits
 * for `{ cmd: 'go' }` while the orchestrator resets the sink, runs the measured part, sends
 * `{ type: 'result', result }` and exits. The job names the sink (`sinkUrl`): this destination and the ideal run
 * through the harness (src/harness), which sends their requests there, as every local tool runs the destination; the
 * published one is pointed there by its own module variable (bench/peer.ts), without the harness.
 */

/**
 * - `per-event`: this destination, `Destination.onEvent` per event;
 * - `batch`: this destination, `Destination.onBatch` per Segment batch;
 * - `ideal`: the limit, bench/ideal.ts;
 * - `peer`: the published Koala destination (`@segment/action-destinations`), `onEvent` per event.
 */
export type Mode = 'per-event' | 'batch' | 'ideal' | 'peer'

export interface Job {
  mode: Mode
  workload: WorkloadOptions
  /** Events per `onBatch` call. */
  batchSize: number
  /** `onEvent` calls in flight. */
  concurrency: number
  /** `onBatch` calls in flight. */
  batchConcurrency: number
  /** Events of another seed's workload run first, unmeasured. */
  warmup: number
  /** The published destination's `index.js`, for the `peer` mode. */
  peerEntry?: string
  /** Subscribe the presets only (Track Calls, Identify Calls), as the published destination has no others. */
  presetsOnly: boolean
  /** The sink's URL, set by bench.ts's `measure` (default: a closed port). */
  sinkUrl?: string
}

/** What the worker measured of its run; times in milliseconds. */
export interface WorkerResult {
  events: number
  wallMs: number
  cpuMs: number
  /** Events that failed, by status (`thrown` when there was none). */
  failures: Record<string, number>
  firstError?: string
}

const PUBLIC_KEY = 'pk_bench_local'

class Tally {
  failures: Record<string, number> = {}
  firstError?: string

  fail(status: number | string | undefined, message: unknown): void {
    const key = status === undefined ? 'thrown' : String(status)
    this.failures[key] = (this.failures[key] ?? 0) + 1
    this.firstError ??= `${key}: ${String(message)}`.slice(0, 300)
  }

  /** Counts the failed events of one `onBatch` answer. */
  multistatus(results: Result[]): void {
    for (const result of results) {
      for (const entry of result.multistatus ?? []) {
        if (entry.status < 200 || entry.status >= 300) {
          this.fail(entry.status, 'errormessage' in entry ? entry.errormessage : '')
        }
      }
    }
  }
}

/**
 * `runner(events)` does the unmeasured preparation (Segment's batches, the ideal bodies) and returns what is timed;
 * it runs once for the warm-up, then once measured.
 */
type Runner = (events: WorkloadEvent[]) => (tally: Tally) => Promise<unknown>

function runnerFor(job: Job): Runner {
  const ownerOf = new Map<string, string>()
  const sinkUrl = job.sinkUrl ?? 'http://127.0.0.1:9'
  // The ideal addresses Koala as the destination does, and the same harness sends both to the sink.
  const ideal =
    job.mode === 'ideal' ? idealDefinition(ownerOf, `${KOALA_API_URL}/web/projects/${PUBLIC_KEY}`) : undefined
  const def =
    job.mode === 'peer'
      ? loadPeer(String(job.peerEntry), sinkUrl)
      : createHarness({ definition: ideal, apiUrl: sinkUrl }).definition
  const destination = new Destination(def)
  const settings = segmentSettings(def, PUBLIC_KEY, { presetsOnly: job.presetsOnly })
  // Destination.responses keeps every response; emptied after each call so memory stays flat.
  const clearResponses = () => void destination.responses.splice(0)

  if (job.mode === 'per-event' || job.mode === 'peer') {
    return (events) => (tally) =>
      pool(
        events.map(({ event }) => async () => {
          try {
            await destination.onEvent(event, settings)
          } catch (error) {
            const { status, message } = error as { status?: number; message?: string }
            tally.fail(status, message)
          } finally {
            clearResponses()
          }
        }),
        job.concurrency
      )
  }

  return (events) => {
    const batches = segmentBatches(events, job.batchSize)
    if (job.mode === 'ideal') for (const item of events) ownerOf.set(String(item.event.messageId), item.personKey)
    return (tally) =>
      pool(
        batches.map((batch) => async () => {
          try {
            tally.multistatus(
              await destination.onBatch(
                batch.map((item) => item.event),
                settings
              )
            )
          } catch (error) {
            // A throw fails every event of the batch.
            const { status, message } = error as { status?: number; message?: string }
            for (let n = 0; n < batch.length; n++) tally.fail(status ?? 'batch-threw', message)
          } finally {
            clearResponses()
          }
        }),
        job.batchConcurrency
      )
  }
}

async function main(job: Job): Promise<void> {
  const run = runnerFor(job)
  const { events } = generateWorkload(job.workload)
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

  const measured = run(events)
  // Each run starts with the warm-up's garbage collected (the worker runs with --expose-gc).
  global.gc?.()
  const tally = new Tally()
  const cpuStart = process.cpuUsage()
  const started = performance.now()
  await measured(tally)
  const wallMs = performance.now() - started
  const cpu = process.cpuUsage(cpuStart)
  const result: WorkerResult = {
    events: events.length,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    failures: tally.failures,
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
