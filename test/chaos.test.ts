import { IntegrationError, InvalidAuthenticationError, RetryableError } from '@segment/actions-core'
import koalaCloud from '../src/destinations/koala-cloud'
import {
  DEFAULT_FAULTS,
  DEFAULT_MIX,
  endpointOf,
  ENDPOINTS,
  generateEvents,
  isRetryableError,
  isRetryableStatus,
  runChaos,
  withSwallowedRetryableErrors
} from './support/chaos-driver'
import type { ChaosMix, ChaosReport, Endpoint } from './support/chaos-driver'

// Fault injection, nothing lost. The big run takes ~30 s alone on 2 cores, the small one ~10 s; the limit leaves room for a
// busy CI machine. Speed itself is not asserted here (see `npm run chaos`).
jest.setTimeout(240_000)

const NO_IDENTIFIER =
  '400 Koala needs an email or a Koala profile_id to know who this event belongs to, and this event has neither'
const BAD_SENT_AT = '400 Sent At must be a valid date and time string but it was not'
const NO_COMPANY = "400 The root value is missing the required field 'domain'"

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
      new Set(['deliver', 'reject:no-identifier', 'reject:bad-sent-at', 'reject:no-company', 'skip:analytics-js'])
    )
  })

  it('hold all four event types, as the bench workload mixes them, each delivered to its endpoint', () => {
    const events = generateEvents(2_000, 3, 'x')
    const delivered = events.filter(({ expect }) => expect === 'deliver').map(({ event }) => event)
    expect(new Set(delivered.map((event) => event.type))).toEqual(new Set(['identify', 'track', 'page', 'group']))
    expect(new Set(delivered.filter((event) => event.type === 'group').map(endpointOf))).toEqual(new Set(['accounts']))
    expect(new Set(delivered.filter((event) => event.type !== 'group').map(endpointOf))).toEqual(new Set(['profiles']))
  })
})

/** What the generator made of one path's events: the events to deliver, by endpoint. */
function deliverable(count: number, seed: number, tag: string, mix: Partial<ChaosMix>): Record<Endpoint, number> {
  const counts = { profiles: 0, accounts: 0 }
  for (const { event, expect } of generateEvents(count, seed, tag, { ...DEFAULT_MIX, ...mix })) {
    if (expect === 'deliver') counts[endpointOf(event)]++
  }
  return counts
}

describe('chaos run: 10,000 identify, track, page and group events through onBatch and onEvent, faults on both endpoints', () => {
  let report: ChaosReport
  // Twice the bench's share of group events, so /accounts/batch sees every fault kind many times over.
  const mix = { groupShare: 0.1 }

  beforeAll(async () => {
    // The default faults plus `accept-reset` (Koala kept the data but the answer was lost), which makes retries
    // produce duplicates the sandbox must see and de-duplicate.
    report = await runChaos({ events: 10_000, seed: 7, mix, faults: `${DEFAULT_FAULTS},accept-reset=0.02` })
  })

  it('loses nothing and breaks no invariant, on either path or endpoint', () => {
    expect(report.failures).toEqual([])
    expect(report.ok).toBe(true)
    const paths = ENDPOINTS.flatMap((endpoint) => [
      report.endpoints[endpoint].batch,
      report.endpoints[endpoint].perEvent
    ])
    for (const path of [report.batch, report.perEvent, ...paths]) {
      expect(path.vanished).toBe(0)
      expect(path.exhausted).toBe(0)
      expect(path.misclassified).toBe(0)
      expect(path.presentButNotDelivered).toBe(0)
      expect(path.misrouted).toBe(0)
    }
    expect(report.endpoints.profiles.unreportedInSandbox).toBe(0)
    expect(report.endpoints.accounts.unreportedInSandbox).toBe(0)
    expect(report.unreportedInSandbox).toBe(0)
  })

  it('sends every event through one of the two paths and accounts for each', () => {
    expect(report.batch.sent).toBe(5_000)
    expect(report.perEvent.sent).toBe(5_000)
    const { total, expected } = report
    expect(total.delivered).toBe(expected.deliver)
    expect(total.skipped).toBe(expected['skip:analytics-js'])
    expect(total.nonRetryable).toBe(
      expected['reject:no-identifier'] + expected['reject:bad-sent-at'] + expected['reject:no-company']
    )
    expect(total.delivered + total.skipped + total.nonRetryable).toBe(10_000)
  })

  it('delivers each endpoint’s events on both paths, every one of them', () => {
    const batch = deliverable(5_000, 7, 'b', mix)
    const perEvent = deliverable(5_000, 8, 'e', mix)
    for (const endpoint of ENDPOINTS) {
      expect(report.endpoints[endpoint].batch.delivered).toBe(batch[endpoint])
      expect(report.endpoints[endpoint].perEvent.delivered).toBe(perEvent[endpoint])
    }
    // Page and group events are a real part of the traffic, not a token few.
    expect(batch.accounts).toBeGreaterThan(300)
    expect(perEvent.accounts).toBeGreaterThan(300)
  })

  it('reports each non-retryable event with its reason', () => {
    expect(report.nonRetryableByReason).toEqual({
      [NO_IDENTIFIER]: report.expected['reject:no-identifier'],
      [BAD_SENT_AT]: report.expected['reject:bad-sent-at'],
      [NO_COMPANY]: report.expected['reject:no-company']
    })
    // A group call without a domain fails on its own endpoint's rule, on both paths.
    expect(report.endpoints.accounts.batch.nonRetryable).toBeGreaterThan(0)
    expect(report.endpoints.accounts.perEvent.nonRetryable).toBeGreaterThan(0)
  })

  it('holds every delivered event exactly once on its endpoint, duplicates de-duplicated', () => {
    const { sandbox, endpoints } = report
    expect(endpoints.profiles.uniqueMessageIds).toBe(endpoints.profiles.total.delivered)
    expect(endpoints.accounts.uniqueMessageIds).toBe(endpoints.accounts.total.delivered)
    expect(sandbox.entries).toBe(endpoints.profiles.uniqueMessageIds + endpoints.profiles.duplicates)
    expect(sandbox.accounts.entries).toBe(endpoints.accounts.uniqueMessageIds + endpoints.accounts.duplicates)
    // Every accept-reset fault hid an accepted request from the destination, which then sent it again.
    for (const endpoint of ENDPOINTS) {
      expect(endpoints[endpoint].faults['accept-reset']).toBeGreaterThan(0)
      expect(endpoints[endpoint].duplicates).toBeGreaterThan(0)
    }
  })

  it('really injected every fault kind on both endpoints and retried on both paths of each', () => {
    for (const endpoint of ENDPOINTS) {
      for (const kind of ['500', '429', 'reset', 'slow', 'accept-reset']) {
        expect(report.endpoints[endpoint].faults[kind]).toBeGreaterThan(0)
      }
      expect(report.endpoints[endpoint].batch.retriedAttempts).toBeGreaterThan(0)
      expect(report.endpoints[endpoint].perEvent.retriedAttempts).toBeGreaterThan(0)
    }
    expect(report.sandbox.rejected).toEqual({
      '500': report.sandbox.faults['500'],
      '429': report.sandbox.faults['429']
    })
    expect(report.sandbox.accounts.rejected).toEqual({
      '500': report.sandbox.accounts.faults['500'],
      '429': report.sandbox.accounts.faults['429']
    })
  })
})

describe('chaos run with faults that never lose an answer', () => {
  it('holds every delivered event exactly once on each endpoint, with no duplicate at all', async () => {
    // 500, 429, reset and slow: Koala either kept nothing or answered, so a retry is never a second copy.
    const report = await runChaos({ events: 4_000, seed: 9, mix: { groupShare: 0.1 }, faults: DEFAULT_FAULTS })
    expect(report.failures).toEqual([])
    for (const endpoint of ENDPOINTS) {
      const { total, uniqueMessageIds, duplicates, faults } = report.endpoints[endpoint]
      expect(faults['500']).toBeGreaterThan(0)
      expect(total.retriedAttempts).toBeGreaterThan(0)
      expect(duplicates).toBe(0)
      expect(uniqueMessageIds).toBe(total.delivered)
    }
    expect(report.sandbox.entries).toBe(report.endpoints.profiles.total.delivered)
    expect(report.sandbox.accounts.entries).toBe(report.endpoints.accounts.total.delivered)
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
    // On both endpoints: a company's traits vanish as a person's event does.
    expect(report.endpoints.profiles.perEvent.vanished).toBeGreaterThan(0)
    expect(report.endpoints.accounts.perEvent.vanished).toBeGreaterThan(0)
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
