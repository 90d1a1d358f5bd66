import { fork } from 'child_process'
import type { ChildProcess } from 'child_process'
import { mkdtempSync, readFileSync } from 'fs'
import os from 'os'
import path from 'path'
import { parseArgs } from 'util'
import { BATCH_CONCURRENCY, MAX_ENTRIES_PER_REQUEST } from '../src/destinations/koala-cloud/config'
import track from '../src/destinations/koala-cloud/track'
import { summariseProfile } from './profile'
import type { CpuProfile } from './profile'
import type { SinkArguments, SinkCommand, SinkMessage, SinkStats } from './sink'
import type { Connection, Job, Mode, WorkerResult } from './worker'
import { generateWorkload, minimumRequests, segmentBatches } from './workload'
import type { WorkloadEvent, WorkloadOptions } from './workload'

/**
 * `npm run bench`: measures the Koala (Cloud) destination through actions-core's own `Destination`, per event
 * (`onEvent`, with concurrency) against batched (`onBatch` in Segment-sized batches), next to two floors (a bare
 * HTTP client sending the minimum bodies; the same fields through a no-op `performBatch`), in interleaved rounds,
 * against a loopback sink in a child process. Each measured run is a child process of its own, so CPU time and
 * peak RSS are that mode's alone. See docs/PERFORMANCE.md for what the numbers mean and the last recorded run.
 *
 * Flags (environment variable in brackets): --events [BENCH_EVENTS] 10000, --people [BENCH_PEOPLE] 500,
 * --seed [BENCH_SEED] 42, --rounds [BENCH_ROUNDS] 3, --concurrency 50, --batch-concurrency (concurrency divided by
 * BATCH_CONCURRENCY: 3 as shipped), --batch-size (the action's batch_size default), --sweep 100,500,1000,2000 (or
 * none), --connection-events 2000 (events for the per-event new-connection run), --identify-share 0.25, --page-share 0.15, --group-share 0.05,
 * --browser-track-share 0, --session-events 10 (mean events per visit; 1 = no locality), --active-sessions 50 (visits
 * interleaved at once), --warmup 500, --latency-ms 0, --sink bare|sandbox, --no-profile, --no-connections,
 * --variants (what-if runs), --profile-interval-us 250, --request-concurrency (what-if: overrides BATCH_CONCURRENCY
 * inside the worker processes only).
 */

const USAGE = `Usage: npm run bench -- [--events N] [--people N] [--seed N] [--rounds N] [--concurrency N]
  [--batch-concurrency N] [--batch-size N] [--sweep 100,500,1000,2000|none] [--connection-events N]
  [--identify-share 0..1] [--page-share 0..1] [--group-share 0..1] [--browser-track-share 0..1] [--session-events N] [--active-sessions N] [--warmup N]
  [--latency-ms N] [--sink bare|sandbox] [--no-profile] [--no-connections] [--variants] [--profile-interval-us N]
  [--request-concurrency N (what-if: overrides the destination's BATCH_CONCURRENCY in the workers)]
Environment: BENCH_EVENTS, BENCH_PEOPLE, BENCH_SEED, BENCH_ROUNDS.`

/** Parsed options. */
interface Options {
  workload: WorkloadOptions
  rounds: number
  concurrency: number
  batchConcurrency: number
  batchSize: number
  sweep: number[]
  connectionEvents: number
  warmup: number
  latencyMs: number
  sink: 'bare' | 'sandbox'
  profile: boolean
  connections: boolean
  variants: boolean
  profileIntervalUs: number
  /** Requests one performBatch keeps in flight: the destination's BATCH_CONCURRENCY unless overridden (what-if). */
  requestConcurrency: number
}

/** Thrown for a bad flag; the message is printed with the usage. */
class UsageError extends RangeError {}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      events: { type: 'string' },
      people: { type: 'string' },
      seed: { type: 'string' },
      rounds: { type: 'string' },
      concurrency: { type: 'string' },
      'batch-concurrency': { type: 'string' },
      'batch-size': { type: 'string' },
      sweep: { type: 'string' },
      'connection-events': { type: 'string' },
      'identify-share': { type: 'string' },
      'page-share': { type: 'string' },
      'group-share': { type: 'string' },
      'browser-track-share': { type: 'string' },
      'session-events': { type: 'string' },
      'active-sessions': { type: 'string' },
      variants: { type: 'boolean' },
      warmup: { type: 'string' },
      'latency-ms': { type: 'string' },
      sink: { type: 'string' },
      'no-profile': { type: 'boolean' },
      'no-connections': { type: 'boolean' },
      'profile-interval-us': { type: 'string' },
      'request-concurrency': { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const num = (name: string, value: string | undefined, fallback: number, min: number, max: number, int = true) => {
    const parsed = value === undefined || value === '' ? fallback : Number(value)
    if (!Number.isFinite(parsed) || parsed < min || parsed > max || (int && !Number.isInteger(parsed))) {
      throw new UsageError(`--${name} must be ${int ? 'an integer' : 'a number'} from ${min} to ${max}.`)
    }
    return parsed
  }
  const env = process.env
  const defaultBatchSize = Number(track.fields.batch_size.default)
  const events = num('events', values.events ?? env.BENCH_EVENTS, 10_000, 1, 10_000_000)
  const concurrency = num('concurrency', values.concurrency, 50, 1, 10_000)
  const requestConcurrency = num('request-concurrency', values['request-concurrency'], BATCH_CONCURRENCY, 1, 1000)
  const sweepText = values.sweep ?? '100,500,1000,2000'
  const sweep =
    sweepText === 'none'
      ? []
      : sweepText.split(',').map((part) => num('sweep', part.trim(), defaultBatchSize, 1, 1_000_000))
  const shares = ['identify-share', 'page-share', 'group-share'].map((flag) =>
    num(
      flag,
      values[flag as 'identify-share'],
      { 'identify-share': 0.25, 'page-share': 0.15, 'group-share': 0.05 }[flag] ?? 0,
      0,
      1,
      false
    )
  )
  if (shares[0] + shares[1] + shares[2] > 1 + 1e-9) {
    throw new UsageError('--identify-share, --page-share and --group-share add up to more than 1; the rest are tracks.')
  }
  const sink = values.sink ?? 'bare'
  if (sink !== 'bare' && sink !== 'sandbox') throw new UsageError('--sink must be bare or sandbox.')
  return {
    workload: {
      events,
      people: num('people', values.people ?? env.BENCH_PEOPLE, 500, 1, 10_000_000),
      seed: num('seed', values.seed ?? env.BENCH_SEED, 42, 0, 2 ** 32 - 1),
      identifyShare: shares[0],
      pageShare: shares[1],
      groupShare: shares[2],
      browserTrackShare: num('browser-track-share', values['browser-track-share'], 0, 0, 1, false),
      sessionEvents: num('session-events', values['session-events'], 10, 1, 1_000_000, false),
      activeSessions: num('active-sessions', values['active-sessions'], 50, 1, 1_000_000)
    },
    rounds: num('rounds', values.rounds ?? env.BENCH_ROUNDS, 3, 1, 100),
    concurrency,
    requestConcurrency,
    // By default both modes get about the same budget of requests in flight: 50 onEvent calls vs 3 onBatch x 16.
    batchConcurrency: num(
      'batch-concurrency',
      values['batch-concurrency'],
      Math.max(1, Math.floor(concurrency / requestConcurrency)),
      1,
      1000
    ),
    batchSize: num('batch-size', values['batch-size'], defaultBatchSize, 1, 1_000_000),
    sweep,
    connectionEvents: Math.min(events, num('connection-events', values['connection-events'], 2000, 1, 10_000_000)),
    warmup: num('warmup', values.warmup, 500, 0, 1_000_000),
    latencyMs: num('latency-ms', values['latency-ms'], 0, 0, 60_000),
    sink,
    profile: !values['no-profile'],
    connections: !values['no-connections'],
    variants: values.variants === true,
    profileIntervalUs: num('profile-interval-us', values['profile-interval-us'], 250, 50, 100_000)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------------------------------------------

/** Waits for the first message of `child` that `accept` returns a value for. */
function waitFor<T>(child: ChildProcess, accept: (message: unknown) => T | undefined, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    const onMessage = (message: unknown) => {
      const error = (message as { type?: string; message?: string }).type === 'error'
      if (error) {
        cleanup()
        reject(new Error(`child ${child.pid} failed: ${(message as { message?: string }).message}`))
        return
      }
      const value = accept(message)
      if (value !== undefined) {
        cleanup()
        resolve(value)
      }
    }
    const onExit = (code: number | null) => {
      cleanup()
      reject(new Error(`child ${child.pid} exited (${code}) before answering`))
    }
    const timer = setTimeout(() => {
      cleanup()
      child.kill()
      reject(new Error(`child ${child.pid} did not answer within ${timeoutMs} ms`))
    }, timeoutMs)
    child.on('message', onMessage)
    child.on('exit', onExit)
  })
}

/** The sink child process. */
class Sink {
  private constructor(private readonly child: ChildProcess, readonly url: string) {}

  static async start(args: SinkArguments): Promise<Sink> {
    const child = fork(path.join(__dirname, 'sink.js'), [JSON.stringify(args)], { execArgv: [] })
    const url = await waitFor(
      child,
      (m) => ((m as SinkMessage).type === 'listening' ? (m as { url: string }).url : undefined),
      60_000
    )
    return new Sink(child, url)
  }

  private command<T>(command: SinkCommand, accept: (message: SinkMessage) => T | undefined): Promise<T> {
    const answer = waitFor(this.child, (m) => accept(m as SinkMessage), 30_000)
    this.child.send(command)
    return answer
  }

  reset(close: boolean, latencyMs: number): Promise<true> {
    return this.command({ cmd: 'reset', close, latencyMs }, (m) => (m.type === 'reset-done' ? true : undefined))
  }

  stats(): Promise<SinkStats> {
    return this.command({ cmd: 'stats' }, (m) => (m.type === 'stats' ? m.stats : undefined))
  }

  stop(): void {
    const stop: SinkCommand = { cmd: 'stop' }
    if (this.child.connected) this.child.send(stop)
  }
}

/** One measured run: the worker's numbers and the sink's. */
interface Measurement {
  label: string
  job: Job
  worker: WorkerResult
  sink: SinkStats
  /** Events the destination is expected to deliver (the workload minus deliberate skips). */
  deliverable: number
  /** The minimum number of requests for this run's events and batch size. */
  minimum: number
}

/** Workloads generated in this process, by their options: each is generated once however many runs use it. */
const workloadCache = new Map<string, WorkloadEvent[]>()

function workloadEvents(workload: WorkloadOptions): WorkloadEvent[] {
  const key = JSON.stringify(workload)
  let events = workloadCache.get(key)
  if (!events) {
    events = generateWorkload(workload).events
    workloadCache.set(key, events)
  }
  return events
}

function expectations(workload: WorkloadOptions, batchSize: number) {
  const events = workloadEvents(workload)
  return {
    minimum: minimumRequests(segmentBatches(events, batchSize)),
    deliverable: events.filter((item) => !item.skipped).length
  }
}

async function measure(label: string, job: Job, sink: Sink, latencyMs: number): Promise<Measurement> {
  const child = fork(path.join(__dirname, 'worker.js'), [JSON.stringify(job)], {
    env: { ...process.env, KOALA_API_URL: sink.url },
    execArgv: []
  })
  try {
    await waitFor(child, (m) => ((m as { type?: string }).type === 'ready' ? true : undefined), 300_000)
    await sink.reset(job.connection === 'close', latencyMs)
    const result = waitFor(
      child,
      (m) => ((m as { type?: string }).type === 'result' ? (m as { result: WorkerResult }).result : undefined),
      600_000
    )
    child.send({ cmd: 'go' })
    const worker = await result
    const stats = await sink.stats()
    return { label, job, worker, sink: stats, ...expectations(job.workload, job.batchSize) }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill()
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Arithmetic and printing
// ---------------------------------------------------------------------------------------------------------------

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const eventsPerSecond = (m: Measurement) => m.worker.events / (m.worker.wallMs / 1000)
const cpuMs = (m: Measurement) => m.worker.cpuUserMs + m.worker.cpuSystemMs
const cpuPer1k = (m: Measurement) => (1000 * cpuMs(m)) / m.worker.events
const requestsPer1k = (m: Measurement) => (1000 * m.sink.requests) / m.worker.events
const failuresOf = (m: Measurement) => Object.values(m.worker.failures).reduce((sum, n) => sum + n, 0)
const problemsOf = (m: Measurement) => m.sink.contractViolations + m.sink.wrongPerson + m.sink.unknownIds

function fmt(value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => row[i].length)))
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ')
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')
}

/** The median row of a set of runs of one configuration. */
function summaryRow(name: string, runs: Measurement[]): string[] {
  const m = (f: (x: Measurement) => number) => median(runs.map(f))
  const last = runs[runs.length - 1]
  return [
    name,
    fmt(m(eventsPerSecond)),
    fmt(m(requestsPer1k), 1),
    fmt(m((x) => x.sink.requests)),
    fmt(m(cpuMs) / 1000, 2),
    fmt(m(cpuPer1k), 1),
    `${fmt(m((x) => x.worker.baselineRssMB))} / ${fmt(m((x) => x.worker.peakRssMB))} / ${fmt(
      m((x) => x.worker.maxRssMB)
    )}`,
    `${fmt(m((x) => x.sink.delivered))}/${fmt(last.deliverable)}`,
    fmt(m((x) => failuresOf(x) + problemsOf(x) + x.sink.duplicates)),
    fmt(m((x) => x.sink.connections)),
    fmt(m((x) => x.sink.cpuMs) / 1000, 2),
    fmt(m((x) => x.worker.slowestCallMs))
  ]
}

const SUMMARY_HEADERS = [
  'mode',
  'events/s',
  'req/1k ev',
  'requests',
  'CPU s',
  'CPU ms/1k ev',
  'RSS MB (before / peak / OS peak)',
  'delivered/sent',
  'problems',
  'TCP conns',
  'sink CPU s',
  'slowest call ms'
]

function describe(m: Measurement): string {
  const failures = failuresOf(m)
  const parts = [
    `${fmt(eventsPerSecond(m))} ev/s`,
    `${fmt(m.sink.requests)} req (min ${fmt(m.minimum)})`,
    `CPU ${fmt(cpuMs(m) / 1000, 2)} s`,
    `RSS ${fmt(m.worker.peakRssMB)} MB`,
    m.job.mode === 'framework-floor'
      ? 'sends nothing by design'
      : `delivered ${fmt(m.sink.delivered)}/${fmt(m.deliverable)}`,
    `${fmt(m.sink.connections)} conns`,
    `slowest call ${fmt(m.worker.slowestCallMs)} ms`
  ]
  if (failures) parts.push(`FAILED ${fmt(failures)} ${JSON.stringify(m.worker.failures)} e.g. ${m.worker.firstError}`)
  if (problemsOf(m) || m.sink.duplicates) {
    parts.push(
      `sink problems: ${m.sink.contractViolations} contract, ${m.sink.wrongPerson} wrong person, ` +
        `${m.sink.unknownIds} unknown, ${m.sink.duplicates} duplicates; ${m.sink.examples.join(' | ')}`
    )
  }
  return `  ${m.label.padEnd(34)} ${parts.join(', ')}`
}

// ---------------------------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2))
  const startedAt = Date.now()
  const { workload } = options
  const events = workloadEvents(workload)
  const identifies = events.filter((e) => e.event.type === 'identify').length
  const bytes = events.reduce((sum, e) => sum + JSON.stringify(e.event).length, 0)
  const batches = segmentBatches(events, options.batchSize)
  const minimum = minimumRequests(batches)
  const globalMinimum = minimumRequests(segmentBatches(events, Number.MAX_SAFE_INTEGER))
  const activePeople = new Set(events.map((e) => e.personKey)).size

  console.log(
    `Koala (Cloud) benchmark: ${fmt(workload.events)} events over ${fmt(workload.people)} people ` +
      `(${fmt(activePeople)} active), visits of ${workload.sessionEvents} events on average, ` +
      `${workload.activeSessions} at once, seed ${workload.seed}; node ${process.version}, ${os.cpus().length} CPUs, ` +
      `load ${os
        .loadavg()
        .map((n) => n.toFixed(2))
        .join(' ')}`
  )
  console.log(
    `Workload: ${fmt(identifies)} identify + ${fmt(workload.events - identifies)} track ` +
      `(${fmt(events.filter((e) => e.skipped).length)} analytics.js tracks the destination skips), ` +
      `${fmt(bytes / workload.events)} bytes/event as JSON`
  )
  console.log(
    `Segment batches of ${fmt(options.batchSize)} (one action each): ${fmt(batches.length)} onBatch calls; ` +
      `minimum requests ${fmt(minimum)} (one per person per batch per ${MAX_ENTRIES_PER_REQUEST} entries; ` +
      `${fmt(globalMinimum)} if the whole workload were one batch per action)`
  )
  console.log(
    `Per-event: onEvent x${options.concurrency} in flight. Batch: onBatch x${options.batchConcurrency} in flight, ` +
      `each performBatch keeps ${options.requestConcurrency} requests in flight` +
      `${
        options.requestConcurrency !== BATCH_CONCURRENCY ? ` (what-if: BATCH_CONCURRENCY is ${BATCH_CONCURRENCY})` : ''
      }. Sink: ${options.sink}, own process` +
      `${options.latencyMs ? `, ${options.latencyMs} ms added latency` : ''}. Rounds: ${options.rounds}.\n`
  )

  const sink = await Sink.start({ kind: options.sink, workload })
  const base = {
    workload,
    batchSize: options.batchSize,
    concurrency: options.concurrency,
    batchConcurrency: options.batchConcurrency,
    httpConcurrency: options.batchConcurrency * options.requestConcurrency,
    requestConcurrency: options.requestConcurrency,
    warmup: options.warmup
  }
  const job = (mode: Mode, connection: Connection = 'keep-alive', extra: Partial<Job> = {}): Job => ({
    ...base,
    mode,
    connection,
    variant: 'as-shipped',
    ...extra
  })

  const plan: { key: string; label: string; job: Job }[] = [
    { key: 'per-event', label: 'per-event (onEvent)', job: job('per-event') },
    { key: 'batch', label: `batch (onBatch, ${options.batchSize})`, job: job('batch') },
    { key: 'http-floor', label: 'floor a: bare HTTP, min bodies', job: job('http-floor') },
    { key: 'framework-floor', label: 'floor b: no-op performBatch', job: job('framework-floor') },
    { key: 'client-floor', label: 'floor c: request client, min bodies', job: job('client-floor') },
    { key: 'ideal-floor', label: 'floor d: ideal batch destination', job: job('ideal-floor') }
  ]
  if (options.connections) {
    const subset = { ...workload, events: options.connectionEvents }
    plan.push(
      {
        key: 'per-event-small',
        label: `per-event, keep-alive, ${fmt(subset.events)} ev`,
        job: job('per-event', 'keep-alive', { workload: subset })
      },
      {
        key: 'per-event-close',
        label: `per-event, new conn, ${fmt(subset.events)} ev`,
        job: job('per-event', 'close', { workload: subset })
      },
      { key: 'batch-close', label: 'batch, new connection/request', job: job('batch', 'close') },
      {
        key: 'batch-custom-agent',
        label: 'batch, custom agent (extendRequest)',
        job: job('batch', 'keep-alive', { variant: 'custom-agent' })
      }
    )
  }
  if (options.variants) {
    plan.push(
      {
        key: 'per-event-skip-cloning',
        label: 'per-event, skipResponseCloning',
        job: job('per-event', 'keep-alive', { variant: 'skip-response-cloning' })
      },
      {
        key: 'batch-skip-cloning',
        label: 'batch, skipResponseCloning',
        job: job('batch', 'keep-alive', { variant: 'skip-response-cloning' })
      }
    )
  }
  for (const size of options.sweep) {
    if (size === options.batchSize) continue
    plan.push({
      key: `sweep-${size}`,
      label: `batch size ${fmt(size)}`,
      job: job('batch', 'keep-alive', { batchSize: size })
    })
  }

  const results = new Map<string, Measurement[]>()
  let failed = false
  try {
    for (let round = 1; round <= options.rounds; round++) {
      console.log(`Round ${round}/${options.rounds}`)
      for (const step of plan) {
        const m = await measure(step.label, step.job, sink, options.latencyMs)
        console.log(describe(m))
        results.set(step.key, [...(results.get(step.key) ?? []), m])
      }
    }

    let profilePath: string | undefined
    if (options.profile) {
      profilePath = path.join(mkdtempSync(path.join(os.tmpdir(), 'koala-bench-')), 'batch.cpuprofile')
      console.log('Profiling one more batch run (not counted in the medians)')
      const m = await measure(
        'batch, profiled',
        job('batch', 'keep-alive', { profile: { path: profilePath, intervalUs: options.profileIntervalUs } }),
        sink,
        options.latencyMs
      )
      console.log(describe(m))
    }

    failed = report(options, results, profilePath)
  } finally {
    sink.stop()
  }
  console.log(`\nTotal time ${fmt((Date.now() - startedAt) / 1000, 1)} s`)
  return failed ? 1 : 0
}

/** Prints the summary, ratios, targets, connection comparison, sweep and profile; returns true if a target failed. */
function report(options: Options, results: Map<string, Measurement[]>, profilePath?: string): boolean {
  const runs = (key: string) => results.get(key) ?? []
  const perEvent = runs('per-event')
  const batch = runs('batch')
  const httpFloor = runs('http-floor')
  const frameworkFloor = runs('framework-floor')
  const clientFloor = runs('client-floor')
  const idealFloor = runs('ideal-floor')

  console.log(`\nMedians of ${options.rounds} interleaved rounds (keep-alive, as shipped)`)
  console.log(
    table(SUMMARY_HEADERS, [
      summaryRow('per-event (onEvent)', perEvent),
      summaryRow(`batch (onBatch, ${options.batchSize})`, batch),
      summaryRow('floor a: bare HTTP, min bodies', httpFloor),
      summaryRow('floor b: no-op performBatch', frameworkFloor),
      summaryRow('floor c: request client, min bodies', clientFloor),
      summaryRow('floor d: ideal batch destination', idealFloor)
    ])
  )
  console.log(
    'problems = failed events + contract violations + entries under the wrong person + unknown or duplicate ids. ' +
      'Floor b sends nothing: its requests are 0 by design. Floors a and c send bodies serialised before the clock; floor d serialises them on the clock.'
  )

  // Ratios are taken within each round (same machine load), then the median of those.
  const perRound = (f: (round: number) => number) => median(perEvent.map((_, i) => f(i)))
  const speedup = perRound((i) => eventsPerSecond(batch[i]) / eventsPerSecond(perEvent[i]))
  const cpuRatio = perRound((i) => cpuPer1k(batch[i]) / cpuPer1k(perEvent[i]))
  const vsHttp = perRound((i) => batch[i].worker.wallMs / httpFloor[i].worker.wallMs)
  const vsFramework = perRound((i) => cpuPer1k(batch[i]) / cpuPer1k(frameworkFloor[i]))
  const frameworkShare = perRound((i) => cpuMs(frameworkFloor[i]) / cpuMs(batch[i]))
  const httpShare = perRound((i) => cpuMs(httpFloor[i]) / cpuMs(batch[i]))
  const clientShare = perRound((i) => cpuMs(clientFloor[i]) / cpuMs(batch[i]))
  // No destination built on actions-core can use less CPU than its mapping (floor b) plus its request client
  // sending the minimum bodies (floor c), so this is the best CPU ratio any such batch destination can reach.
  const ceiling = perRound((i) => cpuPer1k(perEvent[i]) / (cpuPer1k(frameworkFloor[i]) + cpuPer1k(clientFloor[i])))
  const overFloors = perRound((i) => cpuPer1k(batch[i]) - cpuPer1k(frameworkFloor[i]) - cpuPer1k(clientFloor[i]))
  const idealSpeedup = perRound((i) => eventsPerSecond(idealFloor[i]) / eventsPerSecond(perEvent[i]))
  const idealCpu = perRound((i) => cpuPer1k(idealFloor[i]) / cpuPer1k(perEvent[i]))
  const vsIdeal = perRound((i) => eventsPerSecond(batch[i]) / eventsPerSecond(idealFloor[i]))
  console.log('\nRatios (median of the per-round ratios)')
  console.log(
    table(
      ['', 'value'],
      [
        ['batch / per-event events/s', `${fmt(speedup, 1)}x`],
        ['batch / per-event CPU per 1k events', `${fmt(cpuRatio, 3)} (1/${fmt(1 / cpuRatio, 1)})`],
        ['batch wall time / bare HTTP floor wall time', `${fmt(vsHttp, 2)}x`],
        ['batch CPU / no-op framework floor CPU', `${fmt(vsFramework, 2)}x`],
        ['share of batch CPU that is actions-core alone (floor b)', `${fmt(100 * frameworkShare)}%`],
        ['share of batch CPU a bare client needs to send the bodies (floor a)', `${fmt(100 * httpShare)}%`],
        [
          "share of batch CPU the framework's request client needs to send them (floor c)",
          `${fmt(100 * clientShare)}%`
        ],
        ['batch CPU ms per 1k events above floors b + c (this destination)', fmt(overFloors, 1)],
        ['best per-event / batch CPU ratio on actions-core: per-event / (b + c)', `${fmt(ceiling, 1)}x`],
        ['floor d (ideal batch destination) / per-event events/s', `${fmt(idealSpeedup, 1)}x`],
        ['floor d / per-event CPU per 1k events', `${fmt(idealCpu, 3)} (1/${fmt(1 / idealCpu, 1)})`],
        ['batch events/s as a share of floor d', `${fmt(100 * vsIdeal)}%`]
      ]
    )
  )

  const exact = batch.every((m) => m.sink.requests === m.minimum)
  const clean = batch.every((m) => problemsOf(m) === 0 && m.sink.duplicates === 0 && failuresOf(m) === 0)
  const complete = batch.every((m) => m.sink.delivered === m.deliverable)
  const rss = median(batch.map((m) => m.worker.peakRssMB))
  const osRss = median(batch.map((m) => m.worker.maxRssMB))
  const targets: [boolean, string][] = [
    [
      exact && clean && complete,
      `batch sends exactly the minimum requests (${batch
        .map((m) => `${fmt(m.sink.requests)}/${fmt(m.minimum)}`)
        .join(', ')}), ` +
        `0 contract violations, every entry under its own person, every message_id delivered once ` +
        `(${batch.map((m) => `${fmt(m.sink.delivered)}/${fmt(m.deliverable)}`).join(', ')})`
    ],
    [speedup >= 5, `batch events/s >= 5x per-event: ${fmt(speedup, 1)}x`],
    [cpuRatio <= 1 / 3, `batch CPU per 1k events <= 1/3 of per-event: ${fmt(cpuRatio, 3)}`],
    [
      Math.max(rss, osRss) < 200,
      `peak RSS of a ${fmt(options.workload.events)}-event batch run < 200 MB: ${fmt(rss)} MB sampled, ` +
        `${fmt(osRss)} MB OS peak (own process; ${fmt(median(batch.map((m) => m.worker.baselineRssMB)))} MB of it ` +
        `before the run: node, modules, the whole workload)`
    ]
  ]
  console.log('\nTargets (medians)')
  for (const [ok, text] of targets) console.log(`  [${ok ? 'PASS' : 'FAIL'}] ${text}`)
  const perEventClean = perEvent.every((m) => m.sink.delivered === m.deliverable && problemsOf(m) === 0)
  console.log(`  [${perEventClean ? 'ok' : 'FAIL'}] per-event mode delivered every event once, no contract problems`)

  if (options.connections) {
    console.log('\nConnections: keep-alive (Node 20 global agent, as shipped) vs a new TCP connection per request')
    const rows = [
      ['per-event-small', 'per-event, keep-alive'],
      ['per-event-close', 'per-event, new connection per request'],
      ['batch', 'batch, keep-alive'],
      ['batch-close', 'batch, new connection per request'],
      ['batch-custom-agent', 'batch, custom keep-alive agent via extendRequest']
    ]
      .filter(([key]) => runs(key).length > 0)
      .map(([key, name]) => summaryRow(name, runs(key)))
    console.log(table(SUMMARY_HEADERS, rows))
    const ratio = (a: string, b: string, f: (m: Measurement) => number) =>
      median(runs(a).map((m, i) => f(m) / f(runs(b)[i])))
    console.log(
      `  new connection per request vs keep-alive: per-event events/s x${fmt(
        ratio('per-event-close', 'per-event-small', eventsPerSecond),
        2
      )}, ` +
        `CPU/1k x${fmt(ratio('per-event-close', 'per-event-small', cpuPer1k), 2)}; ` +
        `batch events/s x${fmt(ratio('batch-close', 'batch', eventsPerSecond), 2)}, ` +
        `CPU/1k x${fmt(ratio('batch-close', 'batch', cpuPer1k), 2)} (loopback, no TLS)`
    )
  }

  if (options.variants) {
    console.log('\nWhat-if (bench-only variants of the definition, each a candidate change to src/)')
    console.log(
      table(SUMMARY_HEADERS, [
        summaryRow('per-event, as shipped', perEvent),
        summaryRow('per-event, skipResponseCloning: true', runs('per-event-skip-cloning')),
        summaryRow('batch, as shipped', batch),
        summaryRow('batch, skipResponseCloning: true', runs('batch-skip-cloning'))
      ])
    )
    const vs = (a: string, b: Measurement[], f: (m: Measurement) => number) =>
      median(runs(a).map((m, i) => f(m) / f(b[i])))
    console.log(
      `  skipResponseCloning vs as shipped: per-event CPU/1k x${fmt(
        vs('per-event-skip-cloning', perEvent, cpuPer1k),
        2
      )}, ` +
        `batch CPU/1k x${fmt(vs('batch-skip-cloning', batch, cpuPer1k), 2)}, ` +
        `batch events/s x${fmt(vs('batch-skip-cloning', batch, eventsPerSecond), 2)}`
    )
  }

  const sweepKeys = options.sweep.map((size) => (size === options.batchSize ? 'batch' : `sweep-${size}`))
  if (sweepKeys.length > 0) {
    console.log(
      `\nBatch size (medians; requests per onBatch call, and what one call would take at 50 ms per request round trip)`
    )
    const rows = options.sweep.map((size, i) => {
      const list = runs(sweepKeys[i])
      const perCall = median(list.map((m) => m.sink.requests / Math.max(1, m.worker.calls)))
      return [
        fmt(size),
        fmt(median(list.map(eventsPerSecond))),
        fmt(median(list.map(requestsPer1k)), 1),
        fmt(median(list.map(cpuPer1k)), 1),
        fmt(median(list.map((m) => m.worker.peakRssMB))),
        fmt(median(list.map((m) => m.worker.slowestCallMs))),
        fmt(perCall, 1),
        fmt(Math.ceil(perCall / options.requestConcurrency) * 0.05, 1),
        list.every((m) => m.sink.requests === m.minimum && problemsOf(m) === 0) ? 'yes' : 'NO'
      ]
    })
    console.log(
      table(
        [
          'batch size',
          'events/s',
          'req/1k ev',
          'CPU ms/1k ev',
          'peak RSS MB',
          'slowest onBatch ms',
          'req/onBatch',
          's/onBatch @50ms',
          'minimum'
        ],
        rows
      )
    )
  }

  if (profilePath) {
    const summary = summariseProfile(JSON.parse(readFileSync(profilePath, 'utf8')) as CpuProfile)
    console.log(
      `\nCPU profile of a batch run (${fmt(summary.busyMs)} ms busy, ${fmt(summary.idleMs)} ms idle; self time, ` +
        `native frames charged to their caller): ${profilePath}`
    )
    console.log(
      table(
        ['bucket', 'ms', '%'],
        summary.buckets.map((line) => [line.name, fmt(line.ms), fmt(line.percent, 1)])
      )
    )
    console.log('\nHottest functions (self time)')
    console.log(
      table(
        ['function', 'ms', '%'],
        summary.functions.map((line) => [line.name.slice(0, 110), fmt(line.ms), fmt(line.percent, 1)])
      )
    )
  }
  return targets.some(([ok]) => !ok) || !perEventClean
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code
    },
    (error: unknown) => {
      if (error instanceof UsageError) console.error(`${error.message}\n${USAGE}`)
      else console.error(error)
      process.exitCode = 2
    }
  )
}
