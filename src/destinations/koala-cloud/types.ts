import type { JSONObject } from '@segment/actions-core'

// Koala's ingestion bodies. Source: Koala's server-side API docs.

interface KoalaEntryBase {
  message_id: string
  sent_at: string
  context: JSONObject
}

export type KoalaEntry =
  | (KoalaEntryBase & { type: 'identify'; traits: JSONObject })
  | (KoalaEntryBase & { type: 'track'; event: string; properties: JSONObject })
  // Koala documents `page_views` without a field list: this follows its `events` entries.
  | (KoalaEntryBase & { type: 'page'; name?: string; properties: JSONObject })

export interface KoalaBatchBody {
  profile_id?: string
  email?: string
  ip?: string
  traits: JSONObject
  identifies?: KoalaEntry[]
  events?: KoalaEntry[]
  page_views?: KoalaEntry[]
}

/** `traits.group_id` keeps tenants of one domain apart (Koala's docs, "Deduplicating Account Traits"). */
export interface KoalaAccountIdentify {
  type: 'identify'
  message_id: string
  sent_at: string
  traits: JSONObject
}

export type KoalaAccountBody = ({ account_id: string } | { domain: string }) & { identifies: KoalaAccountIdentify[] }

export type KoalaBody = KoalaBatchBody | KoalaAccountBody
