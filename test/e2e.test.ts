import { parseFql, validate } from '@segment/destination-subscriptions'
import { FIXTURES_DIR, readFixtureEvents } from '../src/cli/lib/definition-validator'
import destination from '../src/destinations/koala-cloud'
import { ANALYTICS_JS_SKIP_MESSAGE } from '../src/destinations/koala-cloud/functions'
import { contractViolation, startSandbox } from '../src/sandbox/sandbox-server'
import type { RunningSandbox } from '../src/sandbox/sandbox-server'
import { createHarness } from '../src/harness'
import { startServer } from '../src/server/server'
import type { RunningServer } from '../src/server/server'

/**
 * End to end: every track and identify event of the repository's real Segment fixtures goes through the local server,
 * with its preset's mapping, to a real sandbox. What each event should become is worked out here from the event
 * itself and the rules of the issue, not by calling the destination's own code.
 */

const KEY = 'pk_e2e_fixture_key'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Segment events and Koala bodies, read field by field
type Json = Record<string, any>
interface FixtureEvent {
  /** e.g. `analytics-node.json[2]`. */
  where: string
  file: string
  event: Json
}

const fixtures: FixtureEvent[] = readFixtureEvents(FIXTURES_DIR).map(({ source, event }) => ({
  where: source,
  file: source.replace(/\[\d+\]$/, ''),
  event
}))

/** The preset whose trigger matches the event, as Segment picks it (FQL), if any. */
function presetFor(event: Json) {
  return destination.presets?.find(
    (preset) => 'subscribe' in preset && preset.subscribe && validate(parseFql(preset.subscribe), event)
  ) as { partnerAction: string; mapping: Json } | undefined
}

const routed = fixtures
  .map((fixture) => ({ ...fixture, preset: presetFor(fixture.event) }))
  .filter((fixture): fixture is FixtureEvent & { preset: { partnerAction: string; mapping: Json } } => !!fixture.preset)

// ---------------------------------------------------------------------------------------------------------------
// What an event implies, by the rules in docs/destination.md
// ---------------------------------------------------------------------------------------------------------------

const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value)
const exists = (value: unknown) => value !== undefined && value !== null

function email(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const text = value.trim().toLowerCase()
  return text.includes('@') ? text : undefined
}

/** ISO-8601 in UTC; a timestamp without a zone is read as UTC. */
function utc(timestamp: string): string {
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(timestamp)
  return new Date(zoned ? timestamp : `${timestamp}Z`).toISOString()
}

type Expected =
  | { outcome: 'sent'; identity: Json; ip?: string; traits: Json; entry: Json }
  | { outcome: 'skipped' }
  | { outcome: 'no-identifier' }

function expectedFor(kind: string, event: Json): Expected {
  const context = isObject(event.context) ? event.context : {}
  if (kind === 'track' && context.library?.name === 'analytics.js') return { outcome: 'skipped' }
  // Field defaults: Email = $.traits.email if it exists, else $.email; Traits = $.traits (identify) or
  // $.context.traits (track); Koala Profile ID = the first profile_id in properties, traits, context.traits.
  const emailField = exists(event.traits?.email) ? event.traits.email : event.email
  const traits = (kind === 'identify' ? event.traits : context.traits) ?? {}
  const profileId = [event.properties?.profile_id, event.traits?.profile_id, context.traits?.profile_id].find(exists)
  const identity: Json = {}
  if (typeof profileId === 'string' && profileId.trim()) identity.profile_id = profileId.trim()
  const mail = email(emailField) ?? email(traits.email)
  if (mail) identity.email = mail
  if (!identity.profile_id && !identity.email) return { outcome: 'no-identifier' }
  const entryContext = { ...context, source: 'segment-cloud' }
  const entry =
    kind === 'identify'
      ? {
          type: 'identify',
          message_id: event.messageId,
          sent_at: utc(event.timestamp),
          traits,
          context: entryContext
        }
      : {
          type: 'track',
          event: event.event,
          message_id: event.messageId,
          sent_at: utc(event.timestamp),
          properties: event.properties ?? {},
          context: entryContext
        }
  const ip = typeof context.ip === 'string' && context.ip ? context.ip : undefined
  return { outcome: 'sent', identity, ip, traits, entry }
}

/** The body one event sent alone must reach Koala as. */
function singleBody(kind: string, expected: Extract<Expected, { outcome: 'sent' }>): Json {
  return {
    ...expected.identity,
    ...(expected.ip ? { ip: expected.ip } : {}),
    traits: expected.traits,
    [kind === 'identify' ? 'identifies' : 'events']: [expected.entry]
  }
}

const NO_IDENTIFIER = /^Koala needs an email or a Koala profile_id to know who this event belongs to/

// ---------------------------------------------------------------------------------------------------------------

let sandbox: RunningSandbox
let server: RunningServer

beforeAll(async () => {
  sandbox = await startSandbox(0, { keys: [KEY] })
  server = await startServer(0, { harness: createHarness({ apiUrl: sandbox.url, appUrl: sandbox.url }) })
})

afterAll(async () => {
  await server.close()
  await sandbox.close()
})

async function post(action: string, body: unknown): Promise<Json[]> {
  const response = await fetch(`${server.url}/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })
  expect(response.status).toBe(200)
  return (await response.json()) as Json[]
}

function entriesOf(body: Json): Json[] {
  return [...(body.identifies ?? []), ...(body.events ?? []), ...(body.page_views ?? [])] as Json[]
}

it('the fixtures hold track and identify events of every outcome', () => {
  // Guards the tests below against passing on an empty or one-sided set.
  const outcomes = routed.map(({ preset, event }) => expectedFor(preset.partnerAction, event).outcome)
  expect(routed.length).toBe(fixtures.filter((f) => f.event.type === 'track' || f.event.type === 'identify').length)
  expect(new Set(routed.map(({ preset }) => preset.partnerAction))).toEqual(new Set(['track', 'identify']))
  expect(new Set(outcomes)).toEqual(new Set(['sent', 'skipped', 'no-identifier']))
})

it('delivers every fixture event one by one as the body it implies, nothing lost or duplicated', async () => {
  sandbox.reset()
  const sent = new Map<string, Json>()
  for (const { where, event, preset } of routed) {
    const kind = preset.partnerAction
    const expected = expectedFor(kind, event)
    const answer = await post(kind, { payload: event, settings: { public_key: KEY }, mapping: preset.mapping })
    const context = `${where} (${kind})`
    if (expected.outcome === 'sent') {
      const body = singleBody(kind, expected)
      sent.set(event.messageId, body)
      expect({ context, exchanges: answer.length, status: answer[0]?.response?.statusCode }).toEqual({
        context,
        exchanges: 1,
        status: 200
      })
      expect({ context, body: JSON.parse(answer[0].request.body) }).toEqual({ context, body })
    } else if (expected.outcome === 'skipped') {
      expect({ context, answer }).toEqual({
        context,
        answer: [{ output: { skipped: true, message: ANALYTICS_JS_SKIP_MESSAGE } }]
      })
    } else {
      expect({ context, answer }).toEqual({
        context,
        answer: [{ statusCode: 400, requestError: true, message: expect.stringMatching(NO_IDENTIFIER) }]
      })
    }
  }

  // What the sandbox holds: exactly the expected bodies, each once, each within Koala's contract.
  const received = sandbox.received as Json[]
  expect(received.map((body) => contractViolation(body))).toEqual(received.map(() => undefined))
  const byMessageId = new Map(received.map((body) => [entriesOf(body)[0].message_id as string, body]))
  expect(byMessageId.size).toBe(received.length)
  expect(Object.fromEntries(byMessageId)).toEqual(Object.fromEntries(sent))
  expect(sandbox.stats()).toMatchObject({
    requests: sent.size,
    accepted: sent.size,
    rejected: {},
    entries: sent.size,
    uniqueMessageIds: sent.size,
    duplicates: 0,
    contractViolations: 0,
    accounts: { requests: 0, accepted: 0, entries: 0 }
  })
})

it('delivers every fixture file as batches: each entry once, with its own person, every event accounted for', async () => {
  sandbox.reset()
  const expectedEntries = new Map<string, { identity: Json; entry: Json }>()
  const groups = new Map<string, typeof routed>()
  for (const fixture of routed) {
    const key = `${fixture.file} ${fixture.preset.partnerAction}`
    groups.set(key, [...(groups.get(key) ?? []), fixture])
  }
  for (const group of groups.values()) {
    const kind = group[0].preset.partnerAction
    const receivedBefore = sandbox.received.length
    const answer = await post(kind, {
      payload: group.map(({ event }) => event),
      settings: { public_key: KEY },
      mapping: group[0].preset.mapping
    })
    const multistatus = answer[answer.length - 1].multistatus as Json[]
    expect(multistatus).toHaveLength(group.length)
    group.forEach(({ where, event }, index) => {
      const expected = expectedFor(kind, event)
      const node = multistatus[index]
      const context = `${where} (${kind} batch)`
      if (expected.outcome === 'sent') {
        expectedEntries.set(event.messageId, { identity: expected.identity, entry: expected.entry })
        expect({
          context,
          status: node.status,
          entry: entriesOf(node.sent).find((e) => e.message_id === event.messageId)
        }).toEqual({
          context,
          status: 200,
          entry: expected.entry
        })
      } else if (expected.outcome === 'skipped') {
        expect({ context, node }).toEqual({ context, node: { status: 200, sent: {}, body: ANALYTICS_JS_SKIP_MESSAGE } })
      } else {
        expect({ context, status: node.status, errortype: node.errortype, message: node.errormessage }).toEqual({
          context,
          status: 400,
          errortype: 'PAYLOAD_VALIDATION_FAILED',
          message: expect.stringMatching(NO_IDENTIFIER)
        })
      }
    })
    // The exchanges shown are exactly the requests this batch made: the bodies the sandbox took in meanwhile.
    const exchanges = answer.slice(0, -1)
    expect(exchanges.map((exchange) => exchange.response.statusCode as number)).toEqual(exchanges.map(() => 200))
    // (Concurrent requests may be answered in another order than the sandbox took them in: compare sorted.)
    const shown = exchanges.map((exchange) => exchange.request.body as string).sort()
    expect(shown).toEqual(
      sandbox.received
        .slice(receivedBefore)
        .map((body) => JSON.stringify(body))
        .sort()
    )
  }

  const received = sandbox.received as Json[]
  expect(received.map((body) => contractViolation(body))).toEqual(received.map(() => undefined))
  const arrived = new Map<string, { identity: Json; entry: Json }>()
  for (const body of received) {
    const identity: Json = {}
    if (body.profile_id !== undefined) identity.profile_id = body.profile_id
    if (body.email !== undefined) identity.email = body.email
    for (const entry of entriesOf(body)) {
      expect(arrived.has(entry.message_id)).toBe(false)
      arrived.set(entry.message_id, { identity, entry })
    }
  }
  expect(Object.fromEntries(arrived)).toEqual(Object.fromEntries(expectedEntries))
  expect(sandbox.stats()).toMatchObject({
    rejected: {},
    entries: expectedEntries.size,
    uniqueMessageIds: expectedEntries.size,
    duplicates: 0
  })
})
