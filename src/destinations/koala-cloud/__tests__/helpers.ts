import fs from 'fs'
import path from 'path'
import nock from 'nock'
import { createTestIntegration, defaultValues, Destination, type SegmentEvent } from '@segment/actions-core'
import type { JSONObject } from '@segment/actions-core'
import type { Settings } from '../generated-types'
import definition from '../index'
import { PROJECT_ROOT } from '../../../cli/paths'
import { FIXTURES_DIR, readFixtureEvents } from '../../../cli/validate'

/**
 * Shared pieces of the destination's unit tests: the shared Segment fixtures, a Koala mocked with nock, and ways to
 * run an action exactly as Segment would (one event, or a batch with its multistatus).
 */

/** The repository root. */
export const repoRoot = PROJECT_ROOT

let fixtureEvents: Map<string, SegmentEvent> | undefined

/**
 * One event of the shared fixtures (`../shared/fixtures/segment-events`, read once per test file with the
 * project's own reader); `line` is the file's line number, counting from 1 as the fixtures' README does.
 *
 * @throws RangeError when that line holds no event.
 */
export function fixture(file: string, line: number): SegmentEvent {
  fixtureEvents ??= new Map(readFixtureEvents(FIXTURES_DIR).map(({ source, event }) => [source, event]))
  const event = fixtureEvents.get(`${file}:${line}`)
  if (!event) throw new RangeError(`${file} has no event on line ${line}`)
  return event
}

export const KEY = 'pk_test_123'
export const SETTINGS = { public_key: KEY }
export const KOALA = 'https://api2.getkoala.com'
export const BATCH_PATH = `/web/projects/${KEY}/batch`
export const AUTH_PATH = `/web/projects/${KEY}/auth`

/** The User-Agent every request must carry: the destination's name and the package's version. */
export const EXPECTED_USER_AGENT = `Segment Actions Koala (Cloud) destination/${
  (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version
}`

export type ActionName = 'identify' | 'track'

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

/** One request Koala received. */
export interface Received {
  path: string
  headers: Record<string, string | string[] | undefined>
  body: JSONObject
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
    .post(/^\/web\/projects\/[^/]+\/batch$/)
    .reply(function (uri, body) {
      received.push({ path: uri, headers: { ...this.req.headers }, body: body as JSONObject })
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
function executionContext(action: ActionName, options: { settings?: JSONObject; mapping?: JSONObject }) {
  return {
    mapping: { ...defaultMapping(action), ...options.mapping },
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
 * default mapping merged under `mapping`.
 *
 * @returns the action's output and the HTTP responses it produced.
 * @throws whatever the action or the framework's validation throws.
 */
export async function runEvent(
  action: ActionName,
  event: SegmentEvent,
  options: { settings?: JSONObject; mapping?: JSONObject } = {}
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
 * Test-wide nock hygiene: no real network, no mock leaking into the next test, and nock's patch of Node's `http`
 * removed after the file. Jest shares core modules between the test files of one worker, so an unrestored nock
 * stacks under the next file's nock; a mocked socket error then escapes as an unhandled 'error' event. The
 * destination's environment overrides are cleared before the first test too, so a `KOALA_API_URL` left in the
 * developer's shell cannot send the first test's requests past the mocked production URL.
 */
export function useNock(): void {
  const clearOverrides = () => {
    delete process.env.KOALA_API_URL
    delete process.env.KOALA_REQUEST_TIMEOUT_MS
  }
  beforeAll(() => {
    clearOverrides()
    if (!nock.isActive()) nock.activate()
    nock.disableNetConnect()
  })
  afterEach(() => {
    // Also clears the timers of delayed replies (the timeout tests), so Jest exits promptly.
    nock.abortPendingRequests()
    nock.cleanAll()
    clearOverrides()
  })
  afterAll(() => {
    nock.enableNetConnect()
    nock.restore()
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
export async function sentBody(action: ActionName, event: SegmentEvent, mapping?: Record<string, unknown>) {
  const received = recordKoala()
  await runEvent(action, event, { mapping: mapping as never })
  expect(received).toHaveLength(1)
  return received[0].body
}
