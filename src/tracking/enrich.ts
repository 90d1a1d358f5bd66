import { randomUUID } from 'crypto'
import { isObject } from '@segment/actions-core'
import type { JSONObject } from '@segment/actions-core'

/**
 * What Segment's Tracking API adds to an event before any destination sees it, and what it refuses at ingest. Sources
 * are Segment's docs (segmentio/segment-docs): "Spec: Common Fields" (`src/connections/spec/common.md`, COMMON below),
 * the "HTTP API Source" page (`.../libraries/server/http-api/index.md`, HTTP below) and the Delivery Overview's
 * discard table (`src/_includes/content/delivery-overview-discards.html`, DISC below).
 */

/** The event types of Segment's spec. */
export const EVENT_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const

/** Why an event was dropped at ingest: a code (DISC's where it has one) and a sentence naming the fix. */
export interface IngestFailure {
  code: string
  reason: string
}

const DATE_ONLY_NUMBERS = /^\d+$/

/** Milliseconds since the epoch of an ISO-8601 text, or undefined (numbers are not Segment timestamps). */
function timeOf(value: unknown): number | undefined {
  if (typeof value !== 'string' || DATE_ONLY_NUMBERS.test(value.trim())) return undefined
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? undefined : ms
}

/**
 * The reason Segment drops this event at ingest (answering 200 all the same), or undefined when it is kept. DISC's
 * codes: `no_user_anon_id` (neither userId nor anonymousId), `event_not_defined` (a track without `event`),
 * `id_required` (inferred here for a group without groupId and an alias without previousId, which their spec pages
 * require). An object field that is not an object has no code in DISC: `invalid_<field>` is this tool's.
 */
export function ingestFailure(event: JSONObject): IngestFailure | undefined {
  const type = event.type
  if (typeof type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(type)) {
    return {
      code: 'invalid_type',
      reason: `The event's type is ${JSON.stringify(type)}; it must be one of ${EVENT_TYPES.join(', ')}.`
    }
  }
  const has = (name: string) => {
    const value = event[name]
    return (typeof value === 'string' && value.trim() !== '') || typeof value === 'number'
  }
  if (!has('userId') && !has('anonymousId')) {
    return { code: 'no_user_anon_id', reason: `This ${type} call has neither a userId nor an anonymousId.` }
  }
  if (type === 'track' && !has('event')) {
    return { code: 'event_not_defined', reason: 'This track call has no event name (`event`).' }
  }
  if (type === 'group' && !has('groupId')) {
    return { code: 'id_required', reason: 'This group call has no groupId.' }
  }
  if (type === 'alias' && !has('previousId')) {
    return { code: 'id_required', reason: 'This alias call has no previousId.' }
  }
  for (const name of ['traits', 'properties', 'context', 'integrations']) {
    const value = event[name]
    if (value !== undefined && value !== null && !isObject(value)) {
      const kind = Array.isArray(value) ? 'an array' : `a ${typeof value}`
      return {
        code: `invalid_${name}`,
        reason: `The call's ${name} is ${kind}; Segment's spec makes ${name} an object of key-value pairs (COMMON).`
      }
    }
  }
  return undefined
}

/** What the request around an event tells the enrichment. */
export interface Arrival {
  /** When the request arrived (Segment's server clock). */
  receivedAt: Date
  /** The batch's top-level `sentAt`, `context` and `integrations` (HTTP: merged into every item). */
  batch?: JSONObject
  /** The caller's IP, filled into `context.ip` of client-side events. */
  ip?: string
  /** Whether the request came on analytics.js's paths (`/v1/b`, `/v1/t`, ...), which Segment treats as client side. */
  clientSide: boolean
  /** An event the journal held from an earlier run, already enriched: it is delivered as it is. */
  replayed?: boolean
}

// A request's calls share one arrival: its time is written out once, not per call (toISOString costs about 1 µs).
const arrivalTexts = new WeakMap<Arrival, string>()

/** `arrival.receivedAt` as ISO-8601 text, e.g. `2026-12-03T09:00:05.000Z`. */
export function receivedAtText(arrival: Arrival): string {
  let text = arrivalTexts.get(arrival)
  if (text === undefined) {
    text = arrival.receivedAt.toISOString()
    arrivalTexts.set(arrival, text)
  }
  return text
}

/** The call's `messageId` when it is a non-empty string, else the `api-<uuid>` Segment gives it (see {@link enrich}). */
export function messageIdOf(call: JSONObject): string {
  return typeof call.messageId === 'string' && call.messageId.trim() !== '' ? call.messageId : `api-${randomUUID()}`
}

/**
 * The event as a destination receives it from Segment:
 * - `messageId` kept, else `api-<uuid>` (Segment adds one, HTTP: "automatically added to all payloads"; its format is
 *   not documented);
 * - `receivedAt` = arrival time; `originalTimestamp` = the call's `timestamp` when given (COMMON: "If the client sets a
 *   timestamp, that updates originalTimestamp"), else its `originalTimestamp`;
 * - `timestamp` = `receivedAt - (sentAt - originalTimestamp)` (COMMON, the clock-skew formula); without `sentAt` the
 *   client's time is kept; without any client time, `receivedAt` (HTTP: "leave out the timestamp and Segment servers
 *   will timestamp the requests for you");
 * - a batch's `sentAt`, `context` and `integrations` apply to every item, the item's own keys winning (HTTP: "merged
 *   with any context inside each of the items");
 * - `context.ip` filled in for client-side events only, or with `context.direct: true` (COMMON: "filled in by
 *   Segment's servers ... for client side events only"; HTTP: `context.direct`);
 * - `writeKey` removed: it is the source's credential, not part of the event;
 * - `context.library` and everything else as sent.
 */
export function enrich(input: JSONObject, arrival: Arrival): JSONObject {
  // A copy without writeKey only when there is one (analytics.js sends it, analytics-node does not): the result below
  // is a copy anyway, and this runs on every event.
  const event = 'writeKey' in input ? withoutWriteKey(input) : input
  const batch = arrival.batch ?? {}
  const context: JSONObject = {
    ...(isObject(batch.context) ? batch.context : {}),
    ...(isObject(event.context) ? event.context : {})
  }
  const integrations = { ...(isObject(batch.integrations) ? batch.integrations : {}), ...asObject(event.integrations) }
  const receivedAt = receivedAtText(arrival)
  const sentAt = event.sentAt ?? batch.sentAt
  const originalTimestamp = event.timestamp ?? event.originalTimestamp
  const original = timeOf(originalTimestamp)
  const sent = timeOf(sentAt)
  let timestamp: string
  if (original === undefined) timestamp = receivedAt
  else if (sent === undefined) timestamp = new Date(original).toISOString()
  else timestamp = new Date(arrival.receivedAt.getTime() - (sent - original)).toISOString()
  if (arrival.ip && context.ip === undefined && (arrival.clientSide || context.direct === true)) {
    context.ip = arrival.ip
  }
  const messageId = messageIdOf(event)
  return {
    ...event,
    messageId,
    context,
    ...(Object.keys(integrations).length || event.integrations !== undefined ? { integrations } : {}),
    ...(originalTimestamp !== undefined ? { originalTimestamp } : {}),
    ...(sentAt !== undefined ? { sentAt } : {}),
    receivedAt,
    timestamp
  }
}

function withoutWriteKey(input: JSONObject): JSONObject {
  const { writeKey: _writeKey, ...event } = input
  return event
}

function asObject(value: unknown): JSONObject {
  return isObject(value) ? (value as JSONObject) : {}
}
