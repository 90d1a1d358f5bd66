import type { JSONObject } from '@segment/actions-core'

/**
 * Koala's ingestion bodies. Source: Koala's server-side API docs. `POST /web/projects/{public_key}/batch`: one person
 * per request, identified by `profile_id` (the `ko_id` cookie) and/or `email`. `POST .../accounts/batch`: one company
 * per request, keyed by `domain` or Koala's `account_id`. Each array holds at most 30 entries; `message_id` is the
 * idempotency key; `sent_at` is ISO-8601 in UTC (`...Z`).
 */

/** Fields every person's entry carries; `context` is the mapped Segment context plus `source: "segment-cloud"`. */
interface KoalaEntryBase {
  message_id: string
  sent_at: string
  context: JSONObject
}

/** One entry of a person's `identifies`. */
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

/**
 * One entry of `page_views`. Koala documents the array (same limits and person rules as `events`) but no field list
 * for its entries: this shape follows its `events` entries and its published schema (`name` only when the page has
 * one; `properties` holds url, path, title, referrer, search and the site's own keys).
 */
export interface KoalaPageView extends KoalaEntryBase {
  type: 'page'
  name?: string
  properties: JSONObject
}

/** One entry of a person's arrays. */
export type KoalaEntry = KoalaIdentify | KoalaEvent | KoalaPageView

/** A person's request body. Exactly one array is present: each action sends its own kind. */
export interface KoalaBatchBody {
  profile_id?: string
  email?: string
  ip?: string
  traits: JSONObject
  identifies?: KoalaIdentify[]
  events?: KoalaEvent[]
  page_views?: KoalaPageView[]
}

/**
 * One entry of a company's `identifies`: its traits, with `group_id` when Koala should keep one tenant's traits
 * apart from another's on the same domain (Koala's docs, "Deduplicating Account Traits").
 */
export interface KoalaAccountIdentify {
  type: 'identify'
  message_id: string
  sent_at: string
  traits: JSONObject
}

/** A company's request body: `account_id` when one is mapped, else `domain`. */
export type KoalaAccountBody = ({ account_id: string } | { domain: string }) & { identifies: KoalaAccountIdentify[] }

/** Any body the destination sends. */
export type KoalaBody = KoalaBatchBody | KoalaAccountBody
