import { parseArgs } from 'util'
import { BATCH_CONCURRENCY } from '../src/destinations/koala-cloud/config'
import track from '../src/destinations/koala-cloud/track'
import { fmt, measure, median, Sink, table } from './bench'
import type { Measurement } from './bench'
import { numberFlag, runCommand } from './flags'
import type { TrackingJob, TrackingResult } from './tracking-worker'
import type { Job } from './worker'
import { DEFAULT_WORKLOAD } from './workload'

/**
 * `npm run bench:tracking`: what the local Segment pipeline costs. Each round runs, in forked workers against the
 * bench's sink, the destination's own batch run (bench/worker.ts `batch`: `onBatch` per Segment batch, as
 * `npm run bench` measures it), analytics-node 3.1.0's requests for the same workload (captured before the clock
 * starts) through the local Tracking API and the destination to the sink, and, for context, analytics-node sending
 * live (bench/tracking-worker.ts); the rounds are interleaved, every other one backwards, and each ratio is taken
 * within its round. Target: the median pipeline ratio ≥ 0.75 (the pipeline costs at most 25%). Each round also runs
 * the same replay with the Tracking API's journal on (src/tracking/journal.ts, in a temporary folder, as `npm start`
 * keeps it by default): target, the median of with ÷ without ≥ 0.8 (the journal costs at most a fifth; the other
 * rows are without it). `--no-journal` leaves those runs out. Exits 1 when a target is missed or a run is not clean.
 */

const USAGE = `Usage: npm run bench:tracking -- [--events N] [--people N] [--rounds N] [--flush-at N] [--warmup N]
  --events    events per run (default 10000)
  --people    distinct people (default 500)
  --rounds    interleaved rounds; the target uses their median (default 3)
  --flush-at  analytics-node's flushAt, calls per POST /v1/batch (default 100)
  --warmup    unmeasured events each worker runs first (default 500)
  --no-journal  leave out the runs with the Tracking API's journal on`

const speed = (m: Measurement) => m.worker.events / m.worker.wallMs
const cpu = (m: Measurement) => (m.worker.cpuMs / m.worker.events) * 1000
const clientCpu = (m: Measurement) => ((m.worker as TrackingResult).clientCpuMs / m.worker.events) * 1000
const failed = (m: Measurement) => Object.values(m.worker.failures).reduce((sum, n) => sum + n, 0)
const problems = (m: Measurement) =>
  m.sink.contractViolations + m.sink.wrongPerson + m.sink.unknownIds + m.sink.duplicates + failed(m)

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      events: { type: 'string' },
      people: { type: 'string' },
      rounds: { type: 'string' },
      'flush-at': { type: 'string' },
      warmup: { type: 'string' },
      'no-journal': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' }
    }
  })
  if (values.help) {
    console.log(USAGE)
    return 0
  }
  const workload = {
    ...DEFAULT_WORKLOAD,
    events: numberFlag('events', values.events, DEFAULT_WORKLOAD.events, { min: 1, max: 1_000_000 }),
    people: numberFlag('people', values.people, DEFAULT_WORKLOAD.people, { min: 1, max: 1_000_000 })
  }
  const rounds = numberFlag('rounds', values.rounds, 3, { min: 1, max: 100 })
  const warmup = numberFlag('warmup', values.warmup, 500, { min: 0, max: 1_000_000 })
  const flushAt = numberFlag('flush-at', values['flush-at'], 100, { min: 1, max: 500 })
  const batchJob: Job = {
    mode: 'batch',
    workload,
    batchSize: Number(track.fields.batch_size.default),
    concurrency: 50,
    batchConcurrency: Math.max(1, Math.floor(50 / BATCH_CONCURRENCY)),
    warmup,
    presetsOnly: false
  }
  const replayJob: TrackingJob = { workload, warmup, flushAt, mode: 'replay' }
  const liveJob: TrackingJob = { ...replayJob, mode: 'live' }
  const journalJob: TrackingJob = { ...replayJob, journal: true }
  const withJournal = !values['no-journal']
  console.log(
    `Workload: ${fmt(workload.events)} events, ${fmt(workload.people)} people, seed ${workload.seed}; ` +
      `analytics-node flushAt ${flushAt}; ${rounds} interleaved rounds.`
  )
  const batch: Measurement[] = []
  const pipeline: Measurement[] = []
  const live: Measurement[] = []
  const journaled: Measurement[] = []
  const sink = await Sink.start()
  try {
    for (let round = 1; round <= rounds; round++) {
      // The runs with the journal come right after those without, so each pair runs on the same machine load.
      const steps = [
        async () => batch.push(await measure(batchJob, sink)),
        async () => pipeline.push(await measure(replayJob, sink, 'tracking-worker.js')),
        ...(withJournal ? [async () => journaled.push(await measure(journalJob, sink, 'tracking-worker.js'))] : []),
        async () => live.push(await measure(liveJob, sink, 'tracking-worker.js'))
      ]
      for (const step of round % 2 ? steps : [...steps].reverse()) await step()
      console.log(`Round ${round}/${rounds} done`)
    }
  } finally {
    sink.stop()
  }
  const ratios = batch.map((m, round) => speed(pipeline[round]) / speed(m))
  const liveRatios = batch.map((m, round) => speed(live[round]) / speed(m))
  const journalRatios = journaled.map((m, round) => speed(m) / speed(pipeline[round]))
  const journalPass = !withJournal || median(journalRatios) >= 0.8
  const headers = batch.map((_, round) => `round ${round + 1}`)
  const row = (name: string, runs: Measurement[], value: (m: Measurement) => number) => [
    name,
    ...runs.map((m) => fmt(value(m))),
    fmt(median(runs.map(value))),
    '',
    ''
  ]
  const perSecond = (m: Measurement) => speed(m) * 1000
  console.log(
    `\n${table([
      ['', ...headers, 'median', 'target', ''],
      row('destination batch (onBatch), events/s', batch, perSecond),
      row("analytics-node's requests → Tracking API → destination, events/s", pipeline, perSecond),
      [
        'pipeline ÷ destination batch',
        ...ratios.map((v) => fmt(v, 2)),
        fmt(median(ratios), 2),
        '≥ 0.75',
        median(ratios) >= 0.75 ? 'PASS' : 'FAIL'
      ],
      ...(withJournal
        ? [
            row('the same with the journal on, events/s', journaled, perSecond),
            [
              'journal on ÷ off',
              ...journalRatios.map((v) => fmt(v, 2)),
              fmt(median(journalRatios), 2),
              '≥ 0.80',
              journalPass ? 'PASS' : 'FAIL'
            ],
            row('for context: Tracking API + journal + destination, CPU ms per 1,000 events', journaled, cpu)
          ]
        : []),
      row('for context: analytics-node live → Tracking API → destination, events/s', live, perSecond),
      [
        'for context: live ÷ destination batch',
        ...liveRatios.map((v) => fmt(v, 2)),
        fmt(median(liveRatios), 2),
        '',
        ''
      ],
      row('for context: destination batch, CPU ms per 1,000 events', batch, cpu),
      row('for context: Tracking API + destination, CPU ms per 1,000 events', pipeline, cpu),
      row("for context: analytics-node's own process (live), CPU ms per 1,000 events", live, clientCpu)
    ])}`
  )
  const clean = [...batch, ...pipeline, ...live, ...journaled].every((m) => problems(m) === 0)
  console.log(
    `\n${clean ? 'ok' : 'NOT OK'}: no failed event, contract violation, misfiled, unknown or repeated entry ` +
      `(replayed runs delivered ${pipeline.map((m) => fmt(m.sink.delivered)).join(', ')} distinct message_ids, ` +
      `live ${live.map((m) => fmt(m.sink.delivered)).join(', ')}; ` +
      (withJournal ? `with the journal ${journaled.map((m) => fmt(m.sink.delivered)).join(', ')}; ` : '') +
      `destination batch runs ${batch.map((m) => fmt(m.sink.delivered)).join(', ')}).`
  )
  const describe = (m: Measurement) =>
    `${fmt(m.sink.requests)} requests${failed(m) ? `, failed ${JSON.stringify(m.worker.failures)}` : ''}`
  console.log(
    `Koala requests: batch ${batch.map(describe).join(', ')}; pipeline ${pipeline.map(describe).join(', ')}; live ` +
      `${live.map(describe).join(', ')}${withJournal ? `; with the journal ${journaled.map(describe).join(', ')}` : ''}`
  )

  for (const m of [...batch, ...pipeline, ...live, ...journaled])
    if (m.sink.examples.length) console.log(`sink saw: ${m.sink.examples.join('; ')}`)
  return median(ratios) >= 0.75 && journalPass && clean ? 0 : 1
}

if (require.main === module) runCommand(main, USAGE)
