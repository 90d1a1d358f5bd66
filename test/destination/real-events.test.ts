import type { JSONObject, SegmentEvent } from '@segment/actions-core'
import { fixture, recordKoala, runBatch, runEvent, USER_AGENT } from './helpers'
import type { ActionName } from './helpers'

// Every real Segment event of the repository (fixtures/*.json, captured from Segment's libraries) through the action
// its type subscribes to, with the action's default mapping: first alone (perform), each outcome written to the
// snapshot (the exact body Koala receives, or the exact refusal or skip); then each file's events of one action in
// one batch (performBatch), where each event must get the same outcome and Koala the same entries.

const FILES: Record<string, number> = {
  'analytics-next-browser.ndjson': 12,
  'analytics-node.ndjson': 15,
  'engage-audiences.ndjson': 9,
  'http-api.ndjson': 3,
  'spec-examples.ndjson': 9
}
const ACTIONS: readonly string[] = ['identify', 'track', 'page', 'group']

interface Case {
  name: string
  action: ActionName
  event: SegmentEvent
}

const cases: Case[] = Object.entries(FILES).flatMap(([file, lines]) =>
  Array.from({ length: lines }, (_, i) => ({ name: `${file}:${i + 1}`, event: fixture(file, i + 1) }))
    .filter(({ event }) => ACTIONS.includes(String(event.type)))
    .map(({ name, event }) => ({ name, event, action: event.type as ActionName }))
)

type Outcome =
  | { sent: { path: string; body: JSONObject } }
  | { skipped: unknown }
  | { refused: { name: string; status?: number; message: string } }

async function alone(c: Case): Promise<Outcome> {
  const received = recordKoala()
  try {
    const { output } = await runEvent(c.action, c.event)
    if (received.length === 0) {
      const { skipped, message } = output as { skipped: boolean; message: string }
      expect(skipped).toBe(true)
      return { skipped: message }
    }
    expect(received).toHaveLength(1)
    expect(received[0].headers['user-agent']).toBe(USER_AGENT)
    expect(received[0].headers['content-type']).toBe('application/json')
    expect(output).toEqual({ ok: true })
    return { sent: { path: received[0].path, body: received[0].body } }
  } catch (error) {
    expect(received).toEqual([])
    const { name, status, message } = error as Error & { status?: number }
    return { refused: { name, status, message } }
  }
}

const outcomes = new Map<string, Outcome>()

describe('each real event alone (perform)', () => {
  it('covers every file and the four actions', () => {
    expect(cases.length).toBe(45)
    expect(new Set(cases.map((c) => c.action))).toEqual(new Set(ACTIONS))
  })

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const outcome = await alone(c)
    outcomes.set(c.name, outcome)
    expect(outcome).toMatchSnapshot()
  })
})

describe('the same events in one batch per file and action (performBatch)', () => {
  const batches = Object.keys(FILES)
    .flatMap((file) =>
      ACTIONS.map(
        (action) =>
          [`${file} ${action}`, cases.filter((c) => c.name.startsWith(`${file}:`) && c.action === action)] as const
      )
    )
    .filter(([, batch]) => batch.length > 0)

  it.each(batches)('%s: each event gets its perform outcome, and Koala the same entries', async (_name, batch) => {
    const received = recordKoala()
    const multistatus = await runBatch(
      batch[0].action,
      batch.map((c) => c.event)
    )
    expect(multistatus).toHaveLength(batch.length)
    batch.forEach((c, index) => {
      const outcome = outcomes.get(c.name) as Outcome
      const result = multistatus[index]
      if ('refused' in outcome) {
        // The framework's schema refusal has no status until Segment's pipeline gives it 400.
        expect([result.status, result.errormessage]).toEqual([outcome.refused.status ?? 400, outcome.refused.message])
      } else if ('skipped' in outcome) {
        expect(result).toEqual({ status: 200, sent: {}, body: outcome.skipped })
      } else {
        expect(result).toMatchObject({ status: 200, body: { ok: true } })
      }
    })
    // One request per person or company holds exactly the entries the events sent alone.
    const entries = (body: JSONObject) =>
      (['identifies', 'events', 'page_views'] as const).flatMap((key) => (body[key] as JSONObject[] | undefined) ?? [])
    const aloneEntries = batch.flatMap((c) => {
      const outcome = outcomes.get(c.name) as Outcome
      return 'sent' in outcome ? entries(outcome.sent.body) : []
    })
    const byId = (a: JSONObject, b: JSONObject) => (a.message_id as string).localeCompare(b.message_id as string)
    expect(received.flatMap((request) => entries(request.body)).sort(byId)).toEqual(aloneEntries.sort(byId))
  })
})
