import * as v8 from 'v8'
import * as vm from 'vm'
import { ANALYTICS_JS_SKIP_MESSAGE } from '../src/destinations/koala-cloud/functions'
import { startSandbox } from '../src/sandbox/sandbox-server'
import type { RunningSandbox } from '../src/sandbox/sandbox-server'
import { createHarness } from '../src/harness'
import { startServer } from '../src/server/server'
import type { RunningServer } from '../src/server/server'

/**
 * A bounded load test over loopback: 20 concurrent clients, 50 requests each per round, a mix of valid and
 * malformed requests. The server must answer every request correctly and stay up, the sandbox must count every
 * valid entry exactly once, and the heap after garbage collection must not grow with the number of requests served
 * (a `Destination` reused without clearing keeps every response: about 8 KB per request, measured).
 * No timing is asserted.
 */

const CLIENTS = 20
const REQUESTS_PER_CLIENT = 50
const ROUNDS = 3
const KEY = 'pk_load_test_key_0001'
// Small on purpose, so the 413 path is exercised without megabytes of traffic.
const BODY_LIMIT = 64 * 1024

/** The garbage collector, made callable without a command-line flag; undefined if the runtime refuses. */
function obtainGc(): (() => void) | undefined {
  try {
    v8.setFlagsFromString('--expose-gc')
    const gc: unknown = vm.runInNewContext('gc')
    return typeof gc === 'function' ? (gc as () => void) : undefined
  } catch {
    return undefined
  }
}

let sandbox: RunningSandbox
let server: RunningServer

beforeAll(async () => {
  sandbox = await startSandbox(0, { keepBodies: false })
  server = await startServer(0, { bodyLimitBytes: BODY_LIMIT, harness: createHarness({ apiUrl: sandbox.url }) })
})

afterAll(async () => {
  await server.close()
  await sandbox.close()
})

const settings = { public_key: KEY }
const identity = (n: string) => ({ traits: { email: `load.${n}@example.com` } })

interface Case {
  route: string
  contentType?: string
  body?: string
  /** Checks the HTTP status and the answer; returns the entries the sandbox must have received for it. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked field by field
  check: (status: number, answer: any) => number
}

/** The request a client sends as its `i`-th, and what must come back. */
function caseFor(id: string, i: number): Case {
  const json = (value: unknown) => JSON.stringify(value)
  switch (i % 9) {
    case 0:
      return {
        route: '/identify',
        body: json({
          settings,
          payload: { type: 'identify', messageId: `${id}-i`, timestamp: '2026-11-30T10:00:00Z', ...identity(id) }
        }),
        check: (status, answer) => {
          expect([status, answer.length, answer[0].response.statusCode]).toEqual([200, 1, 200])
          return 1
        }
      }
    case 1: {
      const track = (suffix: string, traits?: object) => ({
        type: 'track',
        event: 'Load Tested',
        messageId: `${id}-${suffix}`,
        timestamp: '2026-11-30T10:00:00Z',
        context: traits ? { traits } : {}
      })
      return {
        route: '/track',
        body: json({
          settings,
          payload: [track('a', identity(id).traits), track('b', identity(id).traits), track('c')]
        }),
        check: (status, answer) => {
          expect(status).toBe(200)
          const statuses = answer[answer.length - 1].multistatus.map((node: { status: number }) => node.status)
          expect(statuses).toEqual([200, 200, 400])
          return 2
        }
      }
    }
    case 2:
      return {
        route: '/track',
        body: '{"payload": {',
        check: (status, answer) => {
          expect([status, answer[0].message]).toEqual([400, expect.stringMatching(/^The body is not valid JSON/)])
          return 0
        }
      }
    case 3:
      return {
        route: '/track',
        contentType: 'text/plain',
        body: json({ settings, payload: {} }),
        check: (status) => {
          expect(status).toBe(415)
          return 0
        }
      }
    case 4:
      return {
        route: '/alias',
        body: json({ settings, payload: {} }),
        check: (status) => {
          expect(status).toBe(404)
          return 0
        }
      }
    case 5:
      return {
        route: '/track',
        body: json({
          settings,
          payload: { type: 'track', event: 'Anon', messageId: `${id}-anon`, timestamp: '2026-11-30T10:00:00Z' }
        }),
        check: (status, answer) => {
          expect([status, answer[0].statusCode, answer[0].requestError]).toEqual([200, 400, true])
          return 0
        }
      }
    case 6:
      return {
        route: '/identify',
        body: json({ settings: { public_key: 'pk/../x' }, payload: { type: 'identify' } }),
        check: (status) => {
          expect(status).toBe(400)
          return 0
        }
      }
    case 7:
      return {
        route: '/track',
        body: json({
          settings,
          payload: {
            type: 'track',
            event: 'Clicked',
            messageId: `${id}-ajs`,
            timestamp: '2026-11-30T10:00:00Z',
            context: { library: { name: 'analytics.js' }, traits: identity(id).traits }
          }
        }),
        check: (status, answer) => {
          expect([status, answer]).toEqual([200, [{ output: { skipped: true, message: ANALYTICS_JS_SKIP_MESSAGE } }]])
          return 0
        }
      }
    default:
      return {
        route: '/track',
        body: json({ settings, payload: { type: 'track', properties: { big: 'x'.repeat(BODY_LIMIT * 2) } } }),
        check: (status) => {
          expect(status).toBe(413)
          return 0
        }
      }
  }
}

/** One round: every client sends its requests one after another; returns requests answered and entries expected. */
async function round(label: string): Promise<{ answered: number; entries: number }> {
  let answered = 0
  let entries = 0
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      for (let i = 0; i < REQUESTS_PER_CLIENT; i++) {
        const test = caseFor(`${label}-${client}-${i}`, i + client)
        const response = await fetch(`${server.url}${test.route}`, {
          method: 'POST',
          headers: { 'content-type': test.contentType ?? 'application/json' },
          body: test.body
        })
        const answer: unknown = await response.json()
        entries += test.check(response.status, answer)
        answered++
      }
    })
  )
  return { answered, entries }
}

it('answers every request of concurrent clients, loses nothing, and does not grow its heap', async () => {
  const gc = obtainGc()
  const heap = () => {
    gc?.()
    gc?.()
    return process.memoryUsage().heapUsed
  }

  // Warm-up: compiled schemas, JIT and connection pools settle before the baseline.
  let expectedEntries = (await round('warm')).entries
  const baseline = heap()
  const after: number[] = []
  let served = 0
  for (let r = 0; r < ROUNDS; r++) {
    const { answered, entries } = await round(`r${r}`)
    expect(answered).toBe(CLIENTS * REQUESTS_PER_CLIENT)
    served += answered
    expectedEntries += entries
    after.push(heap())
  }

  // Still up, and every valid entry arrived exactly once.
  expect((await fetch(`${server.url}/manifest`)).status).toBe(200)
  expect(sandbox.stats()).toMatchObject({
    entries: expectedEntries,
    uniqueMessageIds: expectedEntries,
    duplicates: 0,
    rejected: {}
  })

  // Growth per request between the first and the last measured round (settling after the warm-up excluded), and
  // the distance from the baseline at the end.
  const perRequest = (after[after.length - 1] - after[0]) / (served - CLIENTS * REQUESTS_PER_CLIENT)
  const aboveBaseline = after[after.length - 1] - baseline
  const mb = (bytes: number) => (bytes / 1048576).toFixed(1)
  console.log(
    `load: ${served} requests after warm-up; heap after GC: baseline ${mb(baseline)} MB, after each round ` +
      `${after.map(mb).join(' / ')} MB; ${perRequest.toFixed(0)} bytes per request` +
      (gc ? '' : ' (no forced GC available: not asserted)')
  )
  // A response kept per request would add about 8 KB each (8 MB per round); allow a fraction of that for noise.
  if (gc) {
    expect(perRequest).toBeLessThan(1024)
    expect(aboveBaseline).toBeLessThan(4 * 1048576)
  }
}, 120_000)
