import type { JSONObject } from '@segment/actions-core'

// Koala's ingestion bodies. Source: Koala's server-side API docs.

interface KoalaEntryBase {
  message_id: string
  sent_at: string
  context: JSONObject
}

export interface KoalaIdentify extends KoalaEntryBase {
  type: 'identify'
  traits: JSONObject
}

export interface KoalaEvent extends KoalaEntryBase {
  type: 'track'
  event: string
  properties: JSONObject
}

/** Koala documents `page_views` but no field list: this follows its `events` entries and its published schema. */
export interface KoalaPageView extends KoalaEntryBase {
  type: 'page'
  name?: string
  properties: JSONObject
}

export type KoalaEntry = KoalaIdentify | KoalaEvent | KoalaPageView

export interface KoalaBatchBody {
  profile_id?: string
  email?: string
  ip?: string
  traits: JSONObject
  identifies?: KoalaIdentify[]
  events?: KoalaEvent[]
  page_views?: KoalaPageView[]
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
