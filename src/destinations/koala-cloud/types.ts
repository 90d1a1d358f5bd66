/**
 * Koala's ingestion body, as `POST /web/projects/{public_key}/batch` accepts it. Source: Koala's server-side API
 * docs: one person per request, identified by `profile_id` (the `ko_id` cookie) and/or `email`; each array holds at
 * most 30 entries; `message_id` is the idempotency key.
 */

/** Values that survive a JSON round trip; the mapped Segment objects are of this kind. */
export type JSONValue = string | number | boolean | null | JSONValue[] | { [key: string]: JSONValue }
/** A JSON object, as the mapped traits, properties and context are. */
export type JSONObject = { [key: string]: JSONValue }

/** Fields every entry carries. `sent_at` is ISO-8601 in UTC (`...Z`). */
interface KoalaEntryBase {
  message_id: string
  sent_at: string
  /** The mapped Segment context plus `source: "segment-cloud"`. */
  context: JSONObject
}

/** One entry of `identifies`. */
export interface KoalaIdentify extends KoalaEntryBase {
  type: 'identify'
  traits: JSONObject
}

/** One entry of `events`. */
export interface KoalaEvent extends KoalaEntryBase {
  type: 'track'
  event: string
  properties: JSONObject
}

/** One entry of either array. */
export type KoalaEntry = KoalaIdentify | KoalaEvent

/** The request body. Exactly one of `identifies` and `events` is present: each action sends its own kind. */
export interface KoalaBatchBody {
  profile_id?: string
  email?: string
  ip?: string
  traits: JSONObject
  identifies?: KoalaIdentify[]
  events?: KoalaEvent[]
}
