import nock from 'nock'
import { createTestIntegration } from '@segment/actions-core'
import type { JSONObject, SegmentEvent } from '@segment/actions-core'
import type { Settings } from '../../generated-types'
import destination from '../../index'

// What the folder's tests share: the settings, a Koala mocked with nock, events written out, and the destination run
// through actions-core's test integration (testAction, testBatchAction), as the monorepo's tests run theirs.

export const KEY = 'pk_test_123'
export const SETTINGS: Settings = { public_key: KEY }
export const KOALA = 'https://api2.getkoala.com'
export const BATCH_PATH = `/web/projects/${KEY}/batch`
export const ACCOUNTS_PATH = `/web/projects/${KEY}/accounts/batch`
/** Written out, not imported from config.ts, so a change to it fails a test. */
export const USER_AGENT = 'Segment Actions Koala (Cloud) destination'
export const SENT_AT = '2026-11-30T10:00:00.000Z'
export const LIBRARY = { library: { name: '@segment/analytics-node', version: '3.1.0' } }
/** The `context` of an entry built from an event whose context is `LIBRARY`. */
export const ENTRY_CONTEXT = { ...LIBRARY, source: 'segment-cloud' }

export type ActionName = 'identify' | 'track' | 'page' | 'group'

/** One request Koala received: its path, headers (lowercase names) and JSON body. */
export interface Received {
  path: string
  headers: Record<string, string>
  body: JSONObject
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

/**
 * Mocks both of Koala's ingestion endpoints for any key, answering every request `status` with `answer`.
 * @returns the live list of the requests received, in arrival order.
 */
export function koala(status = 200, answer: JSONObject | string = { ok: true }): Received[] {
  const received: Received[] = []
  nock(KOALA)
    .persist()
    .post(/^\/web\/projects\/[^/]+\/(accounts\/)?batch$/)
    .reply(function (uri, body) {
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(this.req.headers)) headers[name.toLowerCase()] = String(value)
      received.push({ path: uri, headers, body: body as JSONObject })
      return [status, answer]
    })
  return received
}

interface RunOptions {
  mapping?: JSONObject
  settings?: JSONObject
  /** The action's default mapping under `mapping` (true unless set to false). */
  defaults?: boolean
}

/**
 * One event through the action's `perform` (testAction).
 * @returns the HTTP responses and what the action returned.
 */
export async function perform(action: ActionName, event: SegmentEvent, options: RunOptions = {}) {
  const testDestination = createTestIntegration(destination)
  const responses = await testDestination.testAction(action, {
    event,
    mapping: options.mapping,
    settings: (options.settings ?? SETTINGS) as Settings,
    useDefaultMappings: options.defaults !== false
  })
  const data = testDestination.results.find((result) => result.output === 'Action Executed')?.data
  return { responses, data }
}

/** Events through the action's `performBatch` (testBatchAction). @returns the multistatus, one entry per event. */
export async function performBatch(action: ActionName, events: SegmentEvent[], options: RunOptions = {}) {
  const testDestination = createTestIntegration(destination)
  await testDestination.testBatchAction(action, {
    events,
    mapping: options.mapping,
    settings: (options.settings ?? SETTINGS) as Settings,
    useDefaultMappings: options.defaults !== false
  })
  return (testDestination.results[0] as unknown as { multistatus: Outcome[] }).multistatus
}

/** @returns what `promise` rejects with; fails the test when it resolves. */
export async function thrown(promise: Promise<unknown>): Promise<Error & { status?: number; code?: string }> {
  const error = await promise.then(
    () => undefined,
    (reason: Error) => reason
  )
  if (!error) throw new Error('expected a rejection, and the promise resolved')
  return error
}

/** An identify of `${id}@example.com`, from analytics-node. */
export function identify(id: string, change: Partial<SegmentEvent> = {}): SegmentEvent {
  return {
    type: 'identify',
    messageId: `m-${id}`,
    timestamp: SENT_AT,
    userId: `usr-${id}`,
    traits: { email: `${id}@example.com` },
    context: { ...LIBRARY },
    ...change
  }
}

/** A track of `${id}@example.com` (in context.traits, as the track spec has it), from analytics-node. */
export function track(id: string, change: Partial<SegmentEvent> = {}): SegmentEvent {
  return {
    type: 'track',
    event: 'Report Exported',
    messageId: `m-${id}`,
    timestamp: SENT_AT,
    userId: `usr-${id}`,
    properties: { format: 'csv' },
    context: { ...LIBRARY, traits: { email: `${id}@example.com` } },
    ...change
  }
}

/** The body Koala receives for `identify(id)`. */
export function identifyBody(id: string, messageId = `m-${id}`): JSONObject {
  const traits = { email: `${id}@example.com` }
  return {
    email: `${id}@example.com`,
    traits,
    identifies: [{ type: 'identify', message_id: messageId, sent_at: SENT_AT, traits, context: ENTRY_CONTEXT }]
  }
}

// The exact messages users see, written out here so that a change to them fails.
export const PUBLIC_KEY_HELP = 'Check the Public Key setting: copy it from Koala under Settings > Install.'
export const NO_PERSON =
  'Koala needs an email or a Koala profile_id to know who this event belongs to, and this event has neither.'
export const NO_PERSON_FIX =
  ' Map the Email field (for example to $.traits.email), or send the profile_id of the ko_id cookie in the' +
  " Koala Profile ID field: Segment's anonymousId is not Koala's profile_id."
export const BAD_KEY = `The Public Key setting must be letters, digits, "_" and "-" only, and not empty. ${PUBLIC_KEY_HELP}`
