import { nodeClient, PUBLIC_KEY, startRig } from './support/tracking'
import type { TrackingRig } from './support/tracking'

// 2,000 events from analytics-node 3.1.0 through the local Tracking API to a sandbox injecting the faults `500`, `503`,
// `429` and `reset` (drops the connection before taking the data): each event ends with exactly one final outcome, and
// each delivered one is in the sandbox exactly once. Not `accept-reset`: the sandbox keeps the data and drops the
// answer, so a retry is a second delivery by design (Koala de-duplicates by message_id); docs/local-tools.md says so.

jest.setTimeout(120_000)

let rig: TrackingRig | undefined
afterAll(() => rig?.close())

/** A seeded generator (mulberry32), so the faults fall the same way on every run of the sandbox's draws. */
function seeded(seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

test('2,000 events under the faults 500, 503, 429 and reset: 2,000 final outcomes, each delivery once', async () => {
  rig = await startRig(
    { flushIntervalMs: 50, retryWindowMs: 20_000, keep: 5000, config: { settings: { public_key: PUBLIC_KEY } } },
    { faults: { '500': 0.1, '503': 0.05, '429': 0.1, reset: 0.1 }, random: seeded(7), keepBodies: false }
  )
  const analytics = nodeClient(rig.api, 100)
  const total = 2000
  for (let index = 0; index < total; index++) {
    const person = index % 40
    const userId = `u-${person}`
    const profile_id = `ko-${person}`
    switch (index % 4) {
      case 0:
        analytics.identify({ userId, traits: { email: `person${person}@example.com`, n: index } })
        break
      case 1:
        analytics.track({ userId, event: 'Report Exported', properties: { profile_id, n: index } })
        break
      case 2:
        analytics.page({ userId, name: 'Pricing', properties: { profile_id, n: index } })
        break
      default:
        analytics.group({
          userId,
          groupId: `g-${person % 5}`,
          traits: { domain: `company${person % 5}.example.com`, n: index }
        })
    }
  }
  await analytics.closeAndFlush({ timeout: 60_000 })
  await rig.api.pipeline.idle()
  const view = rig.api.pipeline.view()

  expect(view.pending).toBe(0)
  expect(view.events).toHaveLength(total)
  const outcomes = view.events.map((record) => record.outcome)
  expect(outcomes.every((outcome) => outcome === 'delivered' || outcome === 'failed')).toBe(true)
  expect(Object.values(view.counts.total).reduce((sum, count) => sum + count, 0)).toBe(total)

  const delivered = view.events.filter((record) => record.outcome === 'delivered')
  const stats = rig.sandbox.stats()
  // Faults were injected and retried: some events needed more than one attempt.
  expect(Object.values(stats.faults).reduce((sum, count) => sum + count, 0)).toBeGreaterThan(10)
  expect(Object.keys(stats.faults).sort()).toEqual(['429', '500', '503', 'reset'])
  expect(delivered.some((record) => record.attempts > 1)).toBe(true)
  // Every delivered event is in the sandbox, once; nothing else is.
  expect(stats.duplicates).toBe(0)
  expect(rig.sandbox.messageIds.size).toBe(delivered.length)
  for (const record of delivered) expect(rig.sandbox.messageIds.has(record.messageId as string)).toBe(true)
  // A delivery after retries does not keep the failed attempt's reason.
  const retried = delivered.filter((record) => record.attempts > 1)
  expect(retried.map((record) => [record.status, record.reason, record.code])).toEqual(
    retried.map(() => [200, undefined, undefined])
  )
  // A failure, if the window ran out for one, says so.
  for (const record of view.events.filter((item) => item.outcome === 'failed')) {
    expect(record.reason).toMatch(/Gave up after \d+ attempts: the retry window of 20 s ran out\.$/)
  }
})
