import type { SegmentEvent } from '@segment/actions-core'
import { Analytics } from '@segment/analytics-node'
import { fork } from 'child_process'
import * as fs from 'fs'
import * as os from 'os'
import * as path from 'path'
import type { ChildProcess } from 'child_process'
import { createHarness } from '../src/harness'
import { startTrackingApi } from '../src/tracking/tracking-api'
import { listenOnLoopback } from '../src/lib/loopback'
import { pool } from '../src/destinations/koala-cloud/send'
import type { WorkerResult } from './worker'
import { generateWorkload } from './workload'
import type { WorkloadOptions } from './workload'

/**
 * One measured run of the local pipeline, in a process of its own (forked by bench/tracking-bench.ts, with
 * bench/worker.ts's protocol): the local Tracking API runs here and delivers through the destination (batching on) to
 * the sink (the job's `sinkUrl`, where the Tracking API's harness sends). analytics-node 3.1.0 runs in a child process (this file run with `client`), as on a
 * customer's server, so that its own CPU is not counted as the pipeline's:
 *
 * - `replay` (the target's figure): before the clock starts, the child has analytics-node send the workload to a
 *   capture server of its own and keeps its requests (headers and bytes); measured, it posts exactly those requests
 *   to the Tracking API, 4 at a time. This times the pipeline (intake to final outcome) without analytics-node's own
 *   per-call work, which on a customer's server happens before Segment is involved.
 * - `live` (for context): analytics-node sends the workload to the Tracking API while the clock runs, so its own
 *   CPU (reported as `clientCpuMs`) competes with the pipeline's on the same machine.
 *
 * The clock stops when every event has its final outcome: the requests answered, then the pipeline drained, as on
 * Ctrl-C, so the last partial batches do not wait for the flush interval.
 */

export interface TrackingJob {
  workload: WorkloadOptions
  warmup: number
  /** analytics-node's `flushAt`: calls per `POST /v1/batch`. */
  flushAt: number
  mode: 'replay' | 'live'
  /** Keep the Tracking API's journal (src/tracking/journal.ts) in a temporary folder, as `npm start` does by default. */
  journal?: boolean
  /** The sink's URL, set by bench.ts's `measure` (default: a closed port). */
  sinkUrl?: string
}

const PUBLIC_KEY = 'pk_bench_local'

/** The workload's event as the call a server makes with analytics-node (its own messageId and time kept). */
function send(analytics: Analytics, event: SegmentEvent): void {
  const common = {
    userId: event.userId as string,
    anonymousId: event.anonymousId as string,
    messageId: event.messageId as string,
    timestamp: event.timestamp as string,
    context: event.context as Record<string, unknown>
  }
  if (event.type === 'identify') analytics.identify({ ...common, traits: event.traits as never })
  else if (event.type === 'page') {
    analytics.page({ ...common, name: event.name as string, properties: event.properties as never })
  } else if (event.type === 'group') {
    analytics.group({ ...common, groupId: event.groupId as string, traits: event.traits as never })
  } else analytics.track({ ...common, event: event.event as string, properties: event.properties as never })
}

interface Captured {
  headers: Record<string, string>
  body: Buffer
}

/** analytics-node's requests for `workload`, as it sends them to a capture server answering `{"success":true}`. */
async function capture(workload: WorkloadOptions, flushAt: number): Promise<Captured[]> {
  const requests: Captured[] = []
  const server = await listenOnLoopback((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const { authorization, 'content-type': type, 'user-agent': agent } = req.headers
      requests.push({
        headers: { authorization: String(authorization), 'content-type': String(type), 'user-agent': String(agent) },
        body: Buffer.concat(chunks)
      })
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"success":true}')
    })
  }, 0)
  await sendLive(server.url, workload, flushAt)
  await server.close()
  return requests
}

async function sendLive(url: string, workload: WorkloadOptions, flushAt: number): Promise<void> {
  const { events } = generateWorkload(workload)
  const analytics = new Analytics({ writeKey: 'bench', host: url, flushAt, flushInterval: 50 })
  for (const { event } of events) send(analytics, event)
  await analytics.closeAndFlush({ timeout: 600_000 })
}

type ClientCommand =
  | { cmd: 'capture'; workload: WorkloadOptions; flushAt: number }
  | { cmd: 'replay'; url: string }
  | { cmd: 'live'; url: string; workload: WorkloadOptions; flushAt: number }

/** The client process: runs each {@link ClientCommand}, then answers `{ type: 'done' }`. */
function client(): void {
  let captured: Captured[] = []
  process.on('message', (message: ClientCommand) => {
    const run = async () => {
      if (message.cmd === 'capture') captured = await capture(message.workload, message.flushAt)
      else if (message.cmd === 'live') await sendLive(message.url, message.workload, message.flushAt)
      else {
        const post =
          ({ headers, body }: Captured) =>
          async () => {
            const answer = await fetch(`${message.url}/v1/batch`, { method: 'POST', headers, body })
            if (answer.status !== 200)
              throw new Error(`the Tracking API answered ${answer.status}: ${await answer.text()}`)
          }
        await pool(captured.map(post), 4)
      }
    }
    const cpuStart = process.cpuUsage()
    run().then(
      () => {
        const cpu = process.cpuUsage(cpuStart)
        process.send?.({ type: 'done', cpuMs: (cpu.user + cpu.system) / 1000 })
      },
      (error: Error) => process.send?.({ type: 'error', message: error.message })
    )
  })
}

/** @returns the client's CPU time for the command, in milliseconds. */
async function ask(child: ChildProcess, command: ClientCommand): Promise<number> {
  const done = new Promise<number>((resolve, reject) => {
    child.once('message', (message: { type: string; message?: string; cpuMs?: number }) =>
      message.type === 'done' ? resolve(message.cpuMs ?? 0) : reject(new Error(message.message))
    )
    child.once('exit', (code) => reject(new Error(`the analytics-node client exited (${code})`)))
  })
  child.send(command)
  return done
}

/** A run's result, with the CPU time analytics-node's process spent on the measured part. */
export interface TrackingResult extends WorkerResult {
  clientCpuMs: number
}

async function main(job: TrackingJob): Promise<void> {
  // Batches fill to their batch_size, as Segment's do at volume ("up to a minute", action-destinations README); the
  // last partial ones are flushed by the drain.
  const journalDir = job.journal ? fs.mkdtempSync(path.join(os.tmpdir(), 'koala-bench-journal-')) : undefined
  const api = await startTrackingApi(0, {
    config: { settings: { public_key: PUBLIC_KEY } },
    flushIntervalMs: 60_000,
    harness: createHarness({ apiUrl: job.sinkUrl ?? 'http://127.0.0.1:9' }),
    journalDir
  })
  const child = fork(__filename, ['client'])
  try {
    if (job.warmup > 0) {
      const workload = { ...job.workload, events: job.warmup, seed: job.workload.seed + 7919 }
      await ask(child, { cmd: 'live', url: api.url, workload, flushAt: job.flushAt })
      await api.pipeline.drain()
    }
    if (job.mode === 'replay') await ask(child, { cmd: 'capture', workload: job.workload, flushAt: job.flushAt })
    const before = api.pipeline.view(0).counts.total
    process.send?.({ type: 'ready' })
    await new Promise<void>((resolve) => {
      process.on('message', (message: { cmd?: string }) => {
        if (message.cmd === 'go') resolve()
      })
    })
    global.gc?.()
    const cpuStart = process.cpuUsage()
    const started = performance.now()
    const clientCpuMs = await ask(
      child,
      job.mode === 'replay'
        ? { cmd: 'replay', url: api.url }
        : { cmd: 'live', url: api.url, workload: job.workload, flushAt: job.flushAt }
    )
    await api.pipeline.drain()
    const wallMs = performance.now() - started
    const cpu = process.cpuUsage(cpuStart)
    const after = api.pipeline.view(0).counts.total
    // Every outcome but a delivery or a skip counts as a failure of the run.
    const failures: Record<string, number> = {}
    for (const [outcome, count] of Object.entries(after)) {
      const added = count - (before[outcome] ?? 0)
      if (added > 0 && outcome !== 'delivered' && outcome !== 'skipped') failures[outcome] = added
    }
    const result: TrackingResult = {
      clientCpuMs,
      events: job.workload.events,
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      failures
    }
    // Before the result: the bench ends this process as soon as it has it.
    if (journalDir) fs.rmSync(journalDir, { recursive: true, force: true })
    process.send?.({ type: 'result', result }, () => process.exit(0))
  } finally {
    child.kill()
    if (journalDir) fs.rmSync(journalDir, { recursive: true, force: true })
  }
}

if (require.main === module) {
  if (process.argv[2] === 'client') client()
  else {
    process.on('disconnect', () => process.exit(1))
    main(JSON.parse(process.argv[2]) as TrackingJob).catch((error: unknown) => {
      process.send?.({ type: 'error', message: error instanceof Error ? error.stack ?? error.message : String(error) })
      process.exitCode = 1
    })
  }
}
