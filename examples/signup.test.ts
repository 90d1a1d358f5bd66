import { Analytics } from '@segment/analytics-node'
import { startLocal } from 'koala-cloud-destination'
import type { LocalTools } from 'koala-cloud-destination'

// A test for your own project: does your app's sign-up flow give Koala what it needs? It starts the local tools (a
// Koala sandbox and a local Segment Tracking API) on free ports, points analytics-node at them, runs the flow, waits
// until every event has its final outcome (no sleeping), and checks what Koala received. Copy it, then replace
// `signUp` with a call into your own code. Needs jest, @segment/analytics-node and this package as devDependencies.

jest.setTimeout(60_000)

let tools: LocalTools
beforeAll(async () => {
  tools = await startLocal()
})
afterAll(() => tools.close())

// One `startLocal` serves every test: each starts from nothing.
beforeEach(async () => {
  await fetch(`${tools.trackingUrl}/v1/deliveries`, { method: 'DELETE' })
  await fetch(`${tools.sandboxUrl}/__sandbox/received`, { method: 'DELETE' })
})

/** Stands for your app: the sign-up flow, instrumented with analytics-node. */
function signUp(analytics: Analytics, user: { id: string; email: string; company: string }): void {
  analytics.identify({ userId: user.id, traits: { email: user.email, plan: 'trial' } })
  analytics.track({
    userId: user.id,
    event: 'Signed Up',
    properties: { plan: 'trial' },
    context: { traits: { email: user.email } }
  })
  analytics.group({ userId: user.id, groupId: 'org-1', traits: { name: user.company, domain: 'acme.example.com' } })
  analytics.track({
    userId: user.id,
    event: 'Trial Started',
    properties: { days: 14 },
    context: { traits: { email: user.email } }
  })
}

/** Waits until every event the Tracking API took has its final outcome (or 30 s have passed). */
async function settled(): Promise<{ settled: boolean; counts: { total: Record<string, number> } }> {
  const answer = await fetch(`${tools.trackingUrl}/v1/deliveries/settled?timeout=30000`)
  return (await answer.json()) as { settled: boolean; counts: { total: Record<string, number> } }
}

test('a sign-up reaches Koala: the person with their email, both events, the company', async () => {
  const analytics = new Analytics({ writeKey: 'test', host: tools.trackingUrl })
  signUp(analytics, { id: 'user-42', email: 'Ada@Example.com', company: 'Acme' })
  await analytics.closeAndFlush()

  const outcome = await settled()
  expect(outcome.settled).toBe(true)
  expect(outcome.counts.total).toEqual({ delivered: 4 })

  const failed = await fetch(`${tools.trackingUrl}/v1/deliveries?outcome=failed,failed%20on%20ingest,skipped`)
  expect(((await failed.json()) as { matched: number }).matched).toBe(0)

  // What Koala received: one body per request, verbatim.
  const bodies = (await (await fetch(`${tools.sandboxUrl}/__sandbox/received`)).json()) as Record<string, unknown>[]
  const person = bodies.filter((body) => body.email === 'ada@example.com')
  expect(person.flatMap((body) => (body.identifies as { traits: unknown }[] | undefined) ?? [])).toEqual([
    expect.objectContaining({ type: 'identify', traits: { email: 'Ada@Example.com', plan: 'trial' } })
  ])
  const events = person.flatMap((body) => (body.events as { event: string }[] | undefined) ?? [])
  expect(events.map((event) => event.event).sort()).toEqual(['Signed Up', 'Trial Started'])
  const company = bodies.find((body) => body.domain === 'acme.example.com')
  expect(company?.identifies).toEqual([
    expect.objectContaining({
      type: 'identify',
      traits: { name: 'Acme', domain: 'acme.example.com', group_id: 'org-1' }
    })
  ])
})

test('an event Koala cannot place is found by a filter, with the reason', async () => {
  const analytics = new Analytics({ writeKey: 'test', host: tools.trackingUrl })
  analytics.track({ anonymousId: 'anon-1', event: 'Viewed Pricing' })
  await analytics.closeAndFlush()

  expect((await settled()).settled).toBe(true)
  const answer = await fetch(`${tools.trackingUrl}/v1/deliveries?outcome=failed&anonymousId=anon-1`)
  const { events } = (await answer.json()) as { events: { event: string; reason: string }[] }
  expect(events).toHaveLength(1)
  expect(events[0].event).toBe('Viewed Pricing')
  expect(events[0].reason).toContain('Koala needs an email or a Koala profile_id')
})
