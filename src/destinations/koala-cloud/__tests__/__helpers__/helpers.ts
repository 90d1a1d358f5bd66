import nock from 'nock'
import { createTestIntegration, defaultValues, Destination } from '@segment/actions-core'
import type { JSONObject, SegmentEvent } from '@segment/actions-core'
import type { Settings } from '../../generated-types'
import definition from '../../index'
import analyticsNextBrowser from './fixtures/analytics-next-browser.json'
import analyticsNode from './fixtures/analytics-node.json'
import engageAudiences from './fixtures/engage-audiences.json'
import httpApi from './fixtures/http-api.json'
import specExamples from './fixtures/spec-examples.json'

/**
 * Shared pieces of the destination's unit tests: the real Segment fixtures, a Koala mocked with nock, and ways to
 * run an action exactly as Segment would (one event, or a batch with its multistatus).
 */

/**
 * The repository's real Segment events, one JSON array per file captured from Segment's libraries (`validate` and
 * the tools' tests read the same files): the event of line N of the captured `name.ndjson` is at index N - 1 of
 * `name.json`, so tests name an event by its file and line as the capture does.
 */
const FIXTURES: Record<string, unknown[]> = {
  'analytics-next-browser.ndjson': analyticsNextBrowser,
  'analytics-node.ndjson': analyticsNode,
  'engage-audiences.ndjson': engageAudiences,
  'http-api.ndjson': httpApi,
  'spec-examples.ndjson': specExamples
}

/**
 * One real Segment event; `line` is its line in the captured file, counting from 1.
 *
 * @throws RangeError when that line holds no event.
 */
export function fixture(file: string, line: number): SegmentEvent {
  const event = FIXTURES[file]?.[line - 1]
  if (!event) throw new RangeError(`${file} has no event on line ${line}`)
  // A fresh copy, so a test that edits its event cannot change another test's.
  return JSON.parse(JSON.stringify(event)) as SegmentEvent
}

export const KEY = 'pk_test_123'
export const SETTINGS = { public_key: KEY }
export const KOALA = 'https://api2.getkoala.com'
export const BATCH_PATH = `/web/projects/${KEY}/batch`
export const ACCOUNTS_PATH = `/web/projects/${KEY}/accounts/batch`
export const AUTH_PATH = `/web/projects/${KEY}/auth`

/** The User-Agent every request must carry, written out (test/versions.test.ts ties its version to package.json). */
export const EXPECTED_USER_AGENT = 'Segment Actions Koala (Cloud) destination/1.0.0'

export type ActionName = 'identify' | 'track' | 'page' | 'group'

/** A fresh test destination (its `responses` list never carries over from another test). */
export function newDestination() {
  return createTestIntegration(definition)
}

/** The framework's `Destination`, with its protected `executeAction` (what `onEvent` runs) opened to the tests. */
class EventRunner extends Destination<Settings> {
  constructor() {
    super(definition)
  }
  run(...args: Parameters<Destination<Settings>['executeAction']>) {
    return this.executeAction(...args)
  }
}

/** The action's default mapping, as the presets and `useDefaultMappings` apply it. */
export function defaultMapping(action: ActionName): JSONObject {
  return defaultValues(definition.actions[action].fields)
}

/**
 * A mapping saved with the published Koala (Cloud) (its presets' mapping): the action's default mapping without the
 * fields it did not have.
 */
export function savedMapping(action: 'track' | 'identify'): JSONObject {
  const added = ['profile_id', 'enable_batching', 'batch_size']
  return Object.fromEntries(Object.entries(defaultMapping(action)).filter(([key]) => !added.includes(key)))
}

/** One request Koala received. */
export interface Received {
  path: string
  /** Lowercase names; a header nock hands over as a list of values (nock 13 does) is joined as HTTP joins it. */
  headers: Record<string, string>
  body: JSONObject
}

export function headersOf(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value
  }
  return flat
}

/**
 * Mocks Koala's batch endpoint for any key: every request is recorded and answered `status` with `answer`.
 *
 * @returns the live list of requests received, in arrival order.
 */
export function recordKoala(status = 200, answer: JSONObject | string = { ok: true }): Received[] {
  const received: Received[] = []
  nock(KOALA)
    .persist()
    .post(/^\/web\/projects\/[^/]+\/(accounts\/)?batch$/)
    .reply(function (uri, body) {
      received.push({ path: uri, headers: headersOf(this.req.headers), body: body as JSONObject })
      return [status, answer]
    })
  return received
}

/**
 * Expects exactly one request with exactly `body` (nock's deep-equal body matcher) and answers it.
 *
 * @returns the nock scope: `scope.isDone()` is true once that body was sent.
 */
export function expectBody(body: JSONObject, status = 200, answer: JSONObject | string = { ok: true }) {
  return nock(KOALA).post(BATCH_PATH, body).reply(status, answer)
}

/** The context Segment passes with an event or a batch: the action's default mapping under `options.mapping`. */
function executionContext(
  action: ActionName,
  options: { settings?: JSONObject; mapping?: JSONObject; onlyMapping?: boolean }
) {
  return {
    mapping: options.onlyMapping ? options.mapping ?? {} : { ...defaultMapping(action), ...options.mapping },
    settings: (options.settings ?? SETTINGS) as unknown as Settings,
    features: {},
    statsContext: {} as never,
    logger: { info: () => undefined, error: () => undefined } as never,
    transactionContext: {} as never,
    stateContext: {} as never,
    subscriptionMetadata: {}
  }
}

/**
 * Runs one event through an action the way Segment does (no `createTestEvent` defaults added), with the action's
 * default mapping merged under `mapping`, or `mapping` alone with `onlyMapping`.
 *
 * @returns the action's output and the HTTP responses it produced.
 * @throws whatever the action or the framework's validation throws.
 */
export async function runEvent(
  action: ActionName,
  event: SegmentEvent,
  options: { settings?: JSONObject; mapping?: JSONObject; onlyMapping?: boolean } = {}
) {
  const destination = new EventRunner()
  const results = await destination.run(action, { event, ...executionContext(action, options) })
  const output = results.find((result) => result.output === 'Action Executed')?.data
  return { output, responses: destination.responses }
}

/**
 * Runs a batch through an action's `performBatch`, as Segment does with `onBatch`.
 *
 * @returns the multistatus array, one entry per input event, at its own index.
 */
export async function runBatch(
  action: ActionName,
  events: SegmentEvent[],
  options: { settings?: JSONObject; mapping?: JSONObject } = {}
) {
  const destination = newDestination()
  return destination.executeBatch(action, { events, ...executionContext(action, options) })
}

/** The timestamp every minimal event carries, and what it becomes as Koala's `sent_at`. */
export const SENT_AT = '2026-11-30T10:00:00.000Z'
/** The `context.library` every minimal event carries. */
export const LIBRARY = { library: { name: '@segment/analytics-node', version: '3.1.0' } }

/** Minimal identify event with the given traits (no `createTestEvent` defaults: nothing hidden). */
export function identifyEvent(messageId: string, traits: JSONObject, extra: Partial<SegmentEvent> = {}): SegmentEvent {
  return {
    type: 'identify',
    messageId,
    timestamp: SENT_AT,
    userId: 'usr_1',
    traits,
    context: { ...LIBRARY },
    ...extra
  }
}

/** The body Koala receives for `identifyEvent(messageId, { email })`, written out. */
export function identifyBody(messageId: string, email: string) {
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

/** What `perform` throws for one event; fails the test when nothing is thrown. */
export async function performError(action: ActionName, event: SegmentEvent) {
  const outcome = await runEvent(action, event).then(
    () => undefined,
    (error: Error & { status?: number; code?: string }) => error
  )
  if (!outcome) throw new Error('perform did not throw')
  return outcome
}

/** Minimal track event (traits in `context.traits`, as the track spec suggests). */
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

/**
 * Test-wide hygiene on top of the monorepo's jest setup (which cleans nock before each test and allows only
 * 127.0.0.1): no network at all, delayed replies aborted so jest exits promptly, and the destination's environment
 * overrides cleared, so a `KOALA_API_URL` or `KOALA_APP_URL` left in the developer's shell cannot send requests past the mocked host.
 */
export function useNock(): void {
  const clearOverrides = () => {
    delete process.env.KOALA_API_URL
    delete process.env.KOALA_APP_URL
    delete process.env.KOALA_REQUEST_TIMEOUT_MS
  }
  beforeAll(() => {
    clearOverrides()
    nock.disableNetConnect()
  })
  afterEach(() => {
    nock.abortPendingRequests()
    nock.cleanAll()
    clearOverrides()
  })
}

// The exact messages users see, written out here (not imported from the code under test) so a change to them fails.
/** Where to find the Public Key, ending every key error. */
export const HELP = 'Check the Public Key setting: copy it from Koala under Settings > Install.'
/** The first sentence of the no-identifier refusal. */
export const NEITHER =
  'Koala needs an email or a Koala profile_id to know who this event belongs to, and this event has neither.'
/** The fix the no-identifier refusal gives. */
export const FIX =
  ' Map the Email field (for example to $.traits.email or $.context.traits.email), or send the profile_id' +
  " from Koala's ko_id cookie in the Koala Profile ID field. Segment's anonymousId is not Koala's profile_id."
/** The whole no-identifier refusal. */
export const NO_IDENTIFIER = NEITHER + FIX
/** Why an analytics.js track is skipped. */
export const SKIP_MESSAGE =
  'Skipped: this track event comes from analytics.js, and the Koala pixel in the browser already collects it. ' +
  'Sending it again from Segment would count it twice in Koala.'

/** Runs one event through `action` and returns the one body Koala received. */
export async function sentBody(
  action: ActionName,
  event: SegmentEvent,
  mapping?: Record<string, unknown>,
  onlyMapping = false
) {
  const received = recordKoala()
  await runEvent(action, event, { mapping: mapping as never, onlyMapping })
  expect(received).toHaveLength(1)
  return received[0].body
}
