import { IntegrationError, InvalidAuthenticationError, RetryableError } from '@segment/actions-core'
import koalaCloud from '../src/destinations/koala-cloud'
import {
  DEFAULT_FAULTS,
  generateEvents,
  isRetryableError,
  isRetryableStatus,
  runChaos,
  withSwallowedRetryableErrors
} from './support/chaos-driver'
import type { ChaosReport } from './support/chaos-driver'

// Fault injection, nothing lost. The big run takes ~30 s alone on 2 cores; the limit leaves room for a
// busy CI machine. Speed itself is not asserted here (see `npm run chaos`).
jest.setTimeout(240_000)

const NO_IDENTIFIER =
  '400 Koala needs an email or a Koala profile_id to know who this event belongs to, and this event has neither'
const BAD_SENT_AT = '400 Sent At must be a valid date and time string but it was not'

describe('retry classification: the destination’s own', () => {
  it.each([
    [408, true],
    [423, true],
    [501, false],
    [429, true],
    [500, true],
    [503, true],
    [504, true],
    [400, false],
    [401, false],
    [404, false],
    [413, false]
  ])('status %i is retryable: %s', (status, retryable) => {
    expect(isRetryableStatus(status)).toBe(retryable)
  })

  it('retries a RetryableError and no 4xx error class', () => {
    expect(isRetryableError(new RetryableError('Koala rate-limited the request (429).', 429))).toBe(true)
    expect(isRetryableError(new InvalidAuthenticationError('bad key'))).toBe(false)
    expect(isRetryableError(new IntegrationError('rejected', 'BAD_REQUEST', 400))).toBe(false)
  })
})

describe('generated events', () => {
  it('are reproducible from the seed and have unique message ids', () => {
    const first = generateEvents(500, 3, 'x')
    expect(generateEvents(500, 3, 'x')).toEqual(first)
    expect(new Set(first.map(({ event }) => event.messageId)).size).toBe(500)
    expect(new Set(first.map(({ expect }) => expect))).toEqual(
      new Set(['deliver', 'reject:no-identifier', 'reject:bad-sent-at', 'skip:analytics-js'])
    )
  })
})

describe('chaos run: 10,000 events through onBatch and onEvent against a faulty sandbox', () => {
  let report: ChaosReport

  beforeAll(async () => {
    // The default faults plus `accept-reset` (Koala kept the data but the answer was lost), which makes retries
    // produce duplicates the sandbox must see and de-duplicate.
    report = await runChaos({ events: 10_000, seed: 7, faults: `${DEFAULT_FAULTS},accept-reset=0.02` })
  })

  it('loses nothing and breaks no invariant', () => {
    expect(report.failures).toEqual([])
    expect(report.ok).toBe(true)
    for (const path of [report.batch, report.perEvent]) {
      expect(path.vanished).toBe(0)
      expect(path.exhausted).toBe(0)
      expect(path.misclassified).toBe(0)
      expect(path.presentButNotDelivered).toBe(0)
    }
    expect(report.unreportedInSandbox).toBe(0)
  })

  it('sends every event through one of the two paths and accounts for each', () => {
    expect(report.batch.sent).toBe(5_000)
    expect(report.perEvent.sent).toBe(5_000)
    const { total, expected } = report
    expect(total.delivered).toBe(expected.deliver)
    expect(total.skipped).toBe(expected['skip:analytics-js'])
    expect(total.nonRetryable).toBe(expected['reject:no-identifier'] + expected['reject:bad-sent-at'])
    expect(total.delivered + total.skipped + total.nonRetryable).toBe(10_000)
  })

  it('reports each non-retryable event with its reason', () => {
    expect(report.nonRetryableByReason).toEqual({
      [NO_IDENTIFIER]: report.expected['reject:no-identifier'],
      [BAD_SENT_AT]: report.expected['reject:bad-sent-at']
    })
  })

  it('holds every delivered event exactly once in the sandbox, duplicates de-duplicated', () => {
    const { sandbox, total } = report
    expect(sandbox.uniqueMessageIds).toBe(total.delivered)
    expect(sandbox.entries).toBe(sandbox.uniqueMessageIds + sandbox.duplicates)
    // Every accept-reset fault hid an accepted request from the destination, which then sent it again.
    expect(sandbox.faults['accept-reset']).toBeGreaterThan(0)
    expect(sandbox.duplicates).toBeGreaterThan(0)
  })

  it('really injected every fault kind and retried on both paths', () => {
    for (const kind of ['500', '429', 'reset', 'slow', 'accept-reset']) {
      expect(report.sandbox.faults[kind]).toBeGreaterThan(0)
    }
    expect(report.sandbox.rejected).toEqual({
      '500': report.sandbox.faults['500'],
      '429': report.sandbox.faults['429']
    })
    expect(report.batch.retriedAttempts).toBeGreaterThan(0)
    expect(report.perEvent.retriedAttempts).toBeGreaterThan(0)
  })
})

describe('chaos run against a perform that reports success for a 5xx, a 429 or a dropped connection', () => {
  it('catches the defect as vanished events on the per-event path', async () => {
    const report = await runChaos({
      events: 2_000,
      seed: 11,
      perEventShare: 1,
      definition: withSwallowedRetryableErrors(koalaCloud)
    })
    expect(report.perEvent.sent).toBe(2_000)
    expect(report.perEvent.vanished).toBeGreaterThan(0)
    // The broken perform never lets a retryable error reach the driver, so nothing is retried.
    expect(report.perEvent.retriedAttempts).toBe(0)
    expect(report.ok).toBe(false)
    expect(report.failures).toContain(
      `${report.perEvent.vanished} events vanished on the per-event path (reported delivered, absent from the sandbox)`
    )
  })
})

describe('runChaos settings', () => {
  it('refuses a slow fault that would reach the request timeout', async () => {
    await expect(runChaos({ events: 1, slowMs: 10_000 })).rejects.toThrow(
      'slowMs (10000) must stay below the request timeout (10000 ms).'
    )
  })
})
