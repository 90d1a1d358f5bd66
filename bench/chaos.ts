import { parseArgs } from 'util'
import { createHarness, DEFAULT_REQUEST_TIMEOUT_MS } from '../src/harness'
import { parseFaults } from '../src/sandbox/sandbox-server'
import { numberFlag } from './flags'
import {
  DEFAULT_FAULTS,
  DEFAULT_MIX,
  formatReport,
  runChaos,
  withSwallowedRetryableErrors
} from '../test/support/chaos-driver'

/**
 * `npm run chaos`: the fault-injection run. Sends identify, track, page and group events (the bench workload's)
 * through the real destination's batch and per-event paths to a faulty local sandbox, faults on both Koala endpoints
 * (`/batch` and `/accounts/batch`), retries what is retryable, and prints the counts, per path and per endpoint.
 * Exits 1 when anything was lost or ended wrongly, 2 on a usage error.
 *
 * Flags (environment in brackets): --events N [CHAOS_EVENTS] (default 10000), --faults SPEC [KOALA_SANDBOX_FAULTS]
 * (default 500=0.2,429=0.1,reset=0.05,slow=0.05), --seed N [CHAOS_SEED] (default 1), --identify-share,
 * --page-share, --group-share 0..1 (the bench workload's mix: 0.25, 0.15, 0.05; the rest is track), --per-event-share 0..1,
 * --batch-size N, --concurrency N, --max-attempts N, --request-timeout MS (the harness's timeout of each request,
 * default 10000, as the local tools' KOALA_REQUEST_TIMEOUT_MS), --broken-perform (drive a copy whose perform swallows
 * retryable errors, to see the run catch it).
 */

const USAGE =
  'usage: npm run chaos -- [--events N] [--faults SPEC] [--seed N] [--identify-share 0..1] [--page-share 0..1]' +
  ' [--group-share 0..1] [--per-event-share 0..1] [--batch-size N]' +
  ' [--concurrency N] [--max-attempts N] [--request-timeout MS] [--broken-perform]'

const MAX = Number.MAX_SAFE_INTEGER
const positiveInteger = (name: string, value: string | undefined, fallback: number) =>
  numberFlag(name, value, fallback, { min: 1, max: MAX })

async function main(): Promise<number> {
  let options
  try {
    const { values } = parseArgs({
      options: {
        events: { type: 'string' },
        faults: { type: 'string' },
        seed: { type: 'string' },
        'identify-share': { type: 'string' },
        'page-share': { type: 'string' },
        'group-share': { type: 'string' },
        'per-event-share': { type: 'string' },
        'batch-size': { type: 'string' },
        concurrency: { type: 'string' },
        'max-attempts': { type: 'string' },
        'request-timeout': { type: 'string' },
        'broken-perform': { type: 'boolean' },
        help: { type: 'boolean' }
      }
    })
    if (values.help) {
      console.log(USAGE)
      return 0
    }
    const share = numberFlag('per-event-share', values['per-event-share'], 0.5, { min: 0, max: 1, integer: false })
    const fraction = { min: 0, max: 1, integer: false }
    const mix = {
      identifyShare: numberFlag('identify-share', values['identify-share'], DEFAULT_MIX.identifyShare, fraction),
      pageShare: numberFlag('page-share', values['page-share'], DEFAULT_MIX.pageShare, fraction),
      groupShare: numberFlag('group-share', values['group-share'], DEFAULT_MIX.groupShare, fraction)
    }
    if (mix.identifyShare + mix.pageShare + mix.groupShare > 1 + 1e-9) {
      throw new Error('--identify-share, --page-share and --group-share add up to more than 1; the rest is track.')
    }
    options = {
      events: positiveInteger('events', values.events ?? process.env.CHAOS_EVENTS, 10_000),
      faults:
        values.faults !== undefined
          ? parseFaults(values.faults, '--faults')
          : parseFaults(process.env.KOALA_SANDBOX_FAULTS ?? DEFAULT_FAULTS),
      seed: positiveInteger('seed', values.seed ?? process.env.CHAOS_SEED, 1),
      mix,
      perEventShare: share,
      batchSize: positiveInteger('batch-size', values['batch-size'], 200),
      concurrency: positiveInteger('concurrency', values.concurrency, 32),
      maxAttempts: positiveInteger('max-attempts', values['max-attempts'], 20),
      requestTimeoutMs: positiveInteger('request-timeout', values['request-timeout'], DEFAULT_REQUEST_TIMEOUT_MS),
      definition: values['broken-perform'] ? withSwallowedRetryableErrors(createHarness().original) : undefined
    }
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`)
    return 2
  }
  const report = await runChaos(options)
  console.log(formatReport(report))
  return report.ok ? 0 : 1
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error)
    process.exitCode = 1
  }
)
