import nock from 'nock'
import { defaultValues } from '@segment/actions-core'
import type { JSONObject, SegmentEvent } from '@segment/actions-core'
import definition from '../../src/destinations/koala-cloud'
import { perform, performBatch, thrown } from '../../src/destinations/koala-cloud/__tests__/__helpers__/helpers'
import analyticsNextBrowser from './fixtures/analytics-next-browser.json'
import analyticsNode from './fixtures/analytics-node.json'
import engageAudiences from './fixtures/engage-audiences.json'
import httpApi from './fixtures/http-api.json'
import specExamples from './fixtures/spec-examples.json'

/**
 * What the exhaustive suites of the destination (test/destination/) share: the repository's real Segment events, a
 * Koala mocked with nock, and the destination run through actions-core's test integration (testAction and
 * testBatchAction), with each event exactly as given: createTestEvent's defaults (an analytics.js context, a userId,
 * empty traits and properties) are not added, so an event without a context reaches the action without one.
 */

/**
 * The real Segment events, one JSON array per file captured from Segment's libraries: the event of line N of the
 * captured `name.ndjson` is at index N - 1 of `fixtures/name.json`.
 */
const FIXTURES: Record<string, unknown[]> = {
  'analytics-next-browser.ndjson': analyticsNextBrowser,
  'analytics-node.ndjson': analyticsNode,
  'engage-audiences.ndjson': engageAudiences,
  'http-api.ndjson': httpApi,
  'spec-examples.ndjson': specExamples
}

/**
 * One real Segment event (a fresh copy); `line` is its line in the captured file, counting from 1.
 * @throws RangeError when that line holds no event.
 */
export function fixture(file: string, line: number): SegmentEvent {
  const event = FIXTURES[file]?.[line - 1]
  if (!event) throw new RangeError(`${file} has no event on line ${line}`)
  return JSON.parse(JSON.stringify(event)) as SegmentEvent
}

export const KEY = 'pk_test_123'
export const SETTINGS = { public_key: KEY }
export const KOALA = 'https://api2.getkoala.com'
export const BATCH_PATH = `/web/projects/${KEY}/batch`
export const ACCOUNTS_PATH = `/web/projects/${KEY}/accounts/batch`
export const USER_AGENT = 'Segment Actions Koala (Cloud) destination'

export type ActionName = 'identify' | 'track' | 'page' | 'group'

/** The action's default mapping, as the presets apply it. */
export function defaultMapping(action: ActionName): JSONObject {
  return defaultValues(definition.actions[action].fields)
}

/** One request Koala received. */
// What Koala receives, recorded as the folder's own tests record it (one mock, shared).
export { koala as recordKoala } from '../../src/destinations/koala-cloud/__tests__/__helpers__/helpers'
export type { Received } from '../../src/destinations/koala-cloud/__tests__/__helpers__/helpers'

/** The keys createTestEvent fills in when an event lacks them. */
const TEST_EVENT_DEFAULTS = [
  'anonymousId',
  'context',
  'event',
  'messageId',
  'properties',
  'receivedAt',
  'sentAt',
  'timestamp',
  'traits',
  'type',
  'userId'
]

/** `event` as createTestEvent will pass it on: every default it lacks set to undefined, so none is added. */
export function asSent(event: SegmentEvent): SegmentEvent {
  return { ...Object.fromEntries(TEST_EVENT_DEFAULTS.map((key) => [key, undefined])), ...event }
}

interface RunOptions {
  settings?: JSONObject
  /** Merged over the action's default mapping, or used alone with `onlyMapping`. */
  mapping?: JSONObject
  onlyMapping?: boolean
}

/** The mapping an event runs with: the action's default mapping with `mapping` over it, or `mapping` alone. */
function mappingOf(action: ActionName, options: RunOptions): JSONObject {
  return options.onlyMapping ? options.mapping ?? {} : { ...defaultMapping(action), ...options.mapping }
}

/**
 * Runs one event through the action's `perform`, as Segment does with the preset's mapping, through the folder's own
 * `perform` helper, the event as sent.
 * @returns the action's output and the HTTP responses.
 * @throws whatever the action or the framework's validation throws.
 */
export async function runEvent(action: ActionName, event: SegmentEvent, options: RunOptions = {}) {
  const { data, responses } = await perform(action, asSent(event), {
    settings: options.settings,
    mapping: mappingOf(action, options),
    defaults: false
  })
  return { output: data, responses }
}

/** One element of a batch's multistatus. */
export interface Outcome {
  status: number
  errortype?: string
  errormessage?: string
  errorreporter?: string
  sent?: unknown
  body?: unknown
}

/** Runs a batch through the action's `performBatch`. @returns the multistatus, one entry per event, in order. */
export async function runBatch(action: ActionName, events: SegmentEvent[], options: RunOptions = {}) {
  return performBatch(action, events.map(asSent), {
    settings: options.settings,
    mapping: mappingOf(action, options),
    defaults: false
  })
}

/** What `perform` throws for one event; fails the test when nothing is thrown. */
export function performError(action: ActionName, event: SegmentEvent, options: RunOptions = {}) {
  return thrown(runEvent(action, event, options))
}

/** The timestamp every minimal event carries, and its `sent_at`. */
export const SENT_AT = '2026-11-30T10:00:00.000Z'
export const LIBRARY = { library: { name: '@segment/analytics-node', version: '3.1.0' } }

/** A minimal identify. */
export function identifyEvent(messageId: string, traits: JSONObject, extra: Partial<SegmentEvent> = {}): SegmentEvent {
  return { type: 'identify', messageId, timestamp: SENT_AT, userId: 'usr_1', traits, context: { ...LIBRARY }, ...extra }
}

/** The body Koala receives for `identifyEvent(messageId, { email })`. */
export function identifyBody(messageId: string, email: string): JSONObject {
  return {
    email,
    traits: { email },
    identifies: [
      {
        type: 'identify',
        message_id: messageId,
        sent_at: SENT_AT,
        traits: { email },
        context: { ...LIBRARY, source: 'segment-cloud' }
      }
    ]
  }
}

/** A minimal track (traits in `context.traits`). */
export function trackEvent(
  messageId: string,
  event: string,
  properties: JSONObject,
  contextTraits: JSONObject,
  extra: Partial<SegmentEvent> = {}
): SegmentEvent {
  return {
    type: 'track',
    messageId,
    event,
    timestamp: SENT_AT,
    userId: 'usr_1',
    properties,
    context: { ...LIBRARY, traits: contextTraits },
    ...extra
  }
}

/** Aborts delayed replies after each test, so jest exits promptly (the setup file cleans nock before each). */
export function useNock(): void {
  afterEach(() => {
    nock.abortPendingRequests()
    nock.cleanAll()
  })
}

// The exact messages users see, written out so that a change to them fails.
export const HELP = 'Check the Public Key setting: copy it from Koala under Settings > Install.'
export const BAD_KEY = `The Public Key setting must be letters, digits, "_" and "-" only, and not empty. ${HELP}`
export const NEITHER =
  'Koala needs an email or a Koala profile_id to know who this event belongs to, and this event has neither.'
export const FIX =
  ' Map the Email field (for example to $.traits.email), or send the profile_id of the ko_id cookie in the' +
  " Koala Profile ID field: Segment's anonymousId is not Koala's profile_id."
export const NO_IDENTIFIER = NEITHER + FIX
