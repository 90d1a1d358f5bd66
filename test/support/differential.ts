import * as fs from 'fs'
import * as path from 'path'
import nock from 'nock'
import { createTestIntegration } from '@segment/actions-core'
import type { DestinationDefinition, JSONObject, SegmentEvent } from '@segment/actions-core'
import type { Settings } from '../../src/destinations/koala-cloud/generated-types'
import { PROJECT_ROOT, SEGMENT_EVENTS_DIR } from '../../src/lib/paths'

/**
 * The events both Koala (Cloud) destinations, the published one and ours, run in the differential test
 * (test/differential.test.ts) and in its recorder (bench/record-published.ts): every track and identify of the
 * destination folder's real Segment events (every type: the saved subscriptions pick track and identify), then
 * hand-made events for what the published code read beyond its fields (issue 17).
 */

export interface DifferentialEvent {
  /** `analytics-node.ndjson:4` (the real event at line 4 of that shared file), or the hand-made event's name. */
  id: string
  event: SegmentEvent
}

const FIXTURES_DIR = SEGMENT_EVENTS_DIR

const TIMESTAMP = '2026-11-30T10:00:00.000Z'
const SERVER = { library: { name: '@segment/analytics-node', version: '3.1.0' } }
const KO_ID = '7f3c9a2e-4b1d-4e8f-9a6c-2d5b8e1f0a34'

function track(id: string, change: Partial<SegmentEvent>): DifferentialEvent {
  const event: SegmentEvent = {
    type: 'track',
    event: 'Report Exported',
    messageId: `msg-${id}`,
    timestamp: TIMESTAMP,
    userId: 'usr_1',
    properties: { format: 'csv' },
    context: { ...SERVER },
    ...change
  }
  return { id, event }
}

function identify(id: string, change: Partial<SegmentEvent>): DifferentialEvent {
  const event: SegmentEvent = {
    type: 'identify',
    messageId: `msg-${id}`,
    timestamp: TIMESTAMP,
    userId: 'usr_1',
    traits: { plan: 'pro' },
    context: { ...SERVER },
    ...change
  }
  return { id, event }
}

/** Each is delivered by the published destination under its presets' mapping (the test checks that too). */
export const HAND_MADE: DifferentialEvent[] = [
  // A Track whose only email is properties.email.
  track('track-properties-email-only', { properties: { email: ' Ann.Lee@Example.com ' } }),
  track('track-properties-email-before-context-traits', {
    properties: { email: 'props@example.com' },
    context: { ...SERVER, traits: { email: 'ctx@example.com' } }
  }),
  // A top-level `email` (the HTTP API takes any key) is what the Email field maps, so it comes first.
  track('track-email-field-before-properties', {
    email: 'Top@Example.com',
    properties: { email: 'props@example.com' }
  } as Partial<SegmentEvent>),
  // Identified by profile_id alone.
  track('track-properties-profile-id-only', { properties: { profile_id: KO_ID, format: 'csv' } }),
  identify('identify-traits-profile-id-only', { traits: { profile_id: KO_ID, plan: 'pro' } }),
  track('track-properties-profile-id-and-email', {
    properties: { profile_id: KO_ID },
    context: { ...SERVER, traits: { email: 'Ann@Example.com' } }
  }),
  // An explicit ip beside a different context.ip (a server's own address).
  track('track-properties-ip-over-context-ip', {
    properties: { ip: '198.51.100.20' },
    context: { ...SERVER, ip: '10.0.0.5', traits: { email: 'ann@example.com' } }
  }),
  identify('identify-traits-ip-over-context-ip', {
    traits: { email: 'ann@example.com', ip: '198.51.100.21' },
    context: { ...SERVER, ip: '10.0.0.5' }
  }),
  track('track-properties-ip-without-context-ip', {
    properties: { ip: '198.51.100.22', profile_id: KO_ID }
  }),
  identify('identify-context-ip-without-traits-ip', {
    traits: { email: 'ann@example.com' },
    context: { ...SERVER, ip: '203.0.113.9' }
  }),
  // All three at once, from the mapped objects only.
  identify('identify-traits-everything', {
    traits: { email: ' ANN@EXAMPLE.COM', profile_id: KO_ID, ip: '198.51.100.23' },
    context: { ...SERVER, ip: '10.0.0.5' }
  }),
  // The Email field's second path, `$.email`, on an identify without traits.email.
  identify('identify-top-level-email', { email: 'Top@Example.com', traits: { plan: 'pro' } } as Partial<SegmentEvent>)
]

/** Events both destinations send nothing for (the published one does not deliver them); kept to show the agreement. */
export const NOT_DELIVERED: DifferentialEvent[] = [
  // analytics.js: the Koala pixel has it already.
  track('track-analytics-js-properties-email', {
    properties: { email: 'ann@example.com', ip: '198.51.100.24' },
    context: { library: { name: 'analytics.js', version: 'next-1.70.0' } }
  }),
  // No person anywhere the published code looked.
  identify('identify-no-person', { traits: { plan: 'pro' }, context: { ...SERVER, traits: { email: 'ctx@x.com' } } })
]

/**
 * Events the published destination delivers and this one, on purpose, does not deliver alike: each with what this one
 * does instead (`person`: the body's `profile_id`, email and `ip`; or `refused`: the sentence its refusal names the
 * value with) and why. `koalaRefusedPublished`: the published destination sent the event but Koala's contract (the
 * sandbox's `contractViolation`) refuses its body with this reason, so it never delivered it.
 */
export const DELIBERATE: (DifferentialEvent & {
  ours: { person: JSONObject } | { refused: string }
  why: string
  koalaRefusedPublished?: string
})[] = [
  {
    ...track('track-display-name-email', { context: { ...SERVER, traits: { email: 'Ann Lee <ann@example.com>' } } }),
    ours: { refused: 'Koala needs an email or a Koala profile_id to know who this event belongs to' },
    why: 'a display name is no address: Koala would file it as another person (docs/MIGRATION.md, Email)'
  },
  {
    ...identify('identify-padded-profile-id', { traits: { profile_id: ` ${KO_ID} ` } }),
    ours: { person: { profile_id: KO_ID } },
    why: "Koala's ko_id has no spaces: ours trims every identifier"
  },
  {
    ...track('track-empty-properties-ip', {
      properties: { ip: '' },
      context: { ...SERVER, ip: '203.0.113.9', traits: { email: 'ann@example.com' } }
    }),
    ours: { person: { email: 'ann@example.com', ip: '203.0.113.9' } },
    why: 'an empty ip says nothing: ours sends Device IP, the published destination sent ""'
  },
  {
    ...track('track-properties-ip-not-an-address', {
      properties: { ip: 'not-an-ip' },
      context: { ...SERVER, ip: '203.0.113.9', traits: { email: 'ann@example.com' } }
    }),
    ours: { person: { email: 'ann@example.com', ip: '203.0.113.9' } },
    why: 'only an IP address replaces Device IP: the published destination sent "not-an-ip"'
  },
  {
    ...identify('identify-traits-ip-a-number', {
      traits: { email: 'ann@example.com', ip: 12345 },
      context: { ...SERVER, ip: '203.0.113.9' }
    }),
    ours: { person: { email: 'ann@example.com', ip: '203.0.113.9' } },
    why: 'only an IP address replaces Device IP: the published destination sent 12345, which Koala refuses',
    koalaRefusedPublished: 'ip must be a string, but it is 12345.'
  }
]

/** The real events, in file order, then {@link HAND_MADE}, {@link NOT_DELIVERED} and {@link DELIBERATE}. */
export function differentialEvents(): DifferentialEvent[] {
  const real: DifferentialEvent[] = []
  for (const file of fs
    .readdirSync(FIXTURES_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort()) {
    const events = JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, file), 'utf8')) as SegmentEvent[]
    events.forEach((event, index) => real.push({ id: `${file.replace(/\.json$/, '.ndjson')}:${index + 1}`, event }))
  }
  return [...real, ...HAND_MADE, ...NOT_DELIVERED, ...DELIBERATE.map(({ id, event }) => ({ id, event }))]
}

/** Koala's production host, which both destinations send to by default; nock answers for it. */
export const KOALA = 'https://api2.getkoala.com'
export const PUBLIC_KEY = 'pk_differential'

/** One request Koala received: its path and JSON body. */
export interface Sent {
  path: string
  body: JSONObject
}

export interface Delivery {
  /** The requests the event caused, in order. */
  requests: Sent[]
  /** What `onEvent` threw, as `Name: message`. */
  error?: string
}

/** Koala's answer to a body: status and JSON. */
export type Answer = (body: JSONObject) => [number, JSONObject]

/**
 * Runs one event through `definition` as Segment runs saved subscriptions (`onEvent` of actions-core's test
 * integration: the subscriptions' triggers pick the action, their mappings map it), with Koala mocked by nock.
 * Cleans every nock interceptor when done.
 *
 * @param answer Koala's answer to each request (default 200 `{ ok: true }`).
 */
export async function deliver(
  definition: DestinationDefinition<Settings>,
  subscriptions: JSONObject[],
  event: SegmentEvent,
  answer: Answer = () => [200, { ok: true }]
): Promise<Delivery> {
  const requests: Sent[] = []
  nock(KOALA)
    .persist()
    .post(/^\/web\/projects\/[^/]+\/(accounts\/)?batch$/)
    .reply((uri, body) => {
      requests.push({ path: uri, body: body as JSONObject })
      return answer(body as JSONObject)
    })
  try {
    const settings = { public_key: PUBLIC_KEY, subscriptions } as unknown as JSONObject
    await createTestIntegration(definition).onEvent(event, settings)
    return { requests }
  } catch (error) {
    const { name, message } = error as Error
    return { requests, error: `${name}: ${message}` }
  } finally {
    nock.cleanAll()
  }
}

/**
 * What the published destination sent for each differential event, recorded by `npm run record:published`
 * (bench/record-published.ts): the published code runs once, when recording, never in a test or as a dependency.
 */
export interface PublishedRecord {
  package: string
  version: string
  /** The destination's folder in the package. */
  folder: string
  /** The command that wrote the record. */
  recordedWith: string
  /** The published presets as a customer's saved subscriptions (`name`, `partnerAction`, `subscribe`, `mapping`). */
  subscriptions: JSONObject[]
  /** One per {@link differentialEvents} event, in its order; every Koala answer was 200. */
  outputs: (DifferentialEvent & Delivery)[]
}

export const PUBLISHED_RECORD_PATH = path.join(PROJECT_ROOT, 'test', 'fixtures', 'published-koala-outputs.json')
