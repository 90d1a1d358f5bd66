import { isObject, PayloadValidationError } from '@segment/actions-core'
import type { JSONObject } from '@segment/actions-core'
import { isIP } from 'net'
import type { Payload as GroupPayload } from './group/generated-types'
import type { Payload as IdentifyPayload } from './identify/generated-types'
import type { Payload as PagePayload } from './page/generated-types'
import type { Payload as TrackPayload } from './track/generated-types'
import type { KoalaAccountIdentify, KoalaBatchBody, KoalaBody, KoalaEntry } from './types'

export interface Payloads {
  identify: IdentifyPayload
  track: TrackPayload
  page: PagePayload
  group: GroupPayload
}

export type ActionKind = keyof Payloads

/** Under `/web/projects/{public_key}/`. Source: Koala's server-side docs. */
export const ENDPOINT = { identify: 'batch', track: 'batch', page: 'batch', group: 'accounts/batch' } as const

/** The body array each action's entries go in. */
export const ARRAY = { identify: 'identifies', track: 'events', page: 'page_views', group: 'identifies' } as const

/** The Koala pixel already collects browser events (Koala's Segment integration docs). */
export const ANALYTICS_JS_SKIP_MESSAGE =
  'Skipped: this track event comes from analytics.js, and the Koala pixel in the browser already collects it. ' +
  'Sending it again from Segment would count it twice in Koala.'

export const ANALYTICS_JS_PAGE_SKIP_MESSAGE =
  'Skipped: this page call comes from analytics.js, and the Koala pixel in the browser records page views itself. ' +
  'Sending it again from Segment would count the page view twice in Koala.'

// A bare local@domain.tld: no display name, list, space or invisible character that could make a second person.
const EMAIL = /^[^\s\p{C}@<>()[\],;:"\\]+@(?:[^\s\p{C}@<>()[\],;:"\\.]+\.)+(?:[\p{L}\p{M}]{2,}|xn--[a-z\d-]+)$/u

/** Trimmed and lowercased. @returns `undefined` for anything but a bare address (`Jordan <j@example.com>`). */
export function normaliseEmail(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const email = value.trim().toLowerCase()
  return EMAIL.test(email) ? email : undefined
}

/**
 * A Segment timestamp (ISO-8601: https://segment.com/docs/connections/spec/common/) as Koala's `sent_at`, in UTC. A
 * time without a zone is UTC, not the machine's local time.
 * @returns e.g. `2026-11-30T08:00:00.000Z` for `2026-11-30T10:00:00+02:00`; `undefined` when it is no date Koala reads
 *   (a leap second, a year past 9999).
 */
export function toUtcIso(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const text = value.trim().replace(/^(\d{4}-\d\d-\d\d)\s/, '$1T')
  const zoned = /(?:z|[+-]\d\d(?::?\d\d)?)$/i.test(text) || !text.includes('T')
  const date = new Date(zoned ? text.replace(/([+-]\d\d)$/, '$1:00') : `${text}Z`)
  if (Number.isNaN(date.getTime())) return undefined
  const iso = date.toISOString()
  return iso.length === 24 ? iso : undefined
}

/** @returns `value` when it is a plain object, else `{}`: mappings may resolve to anything. */
export function asObject(value: unknown): JSONObject {
  return isObject(value) ? (value as JSONObject) : {}
}

/** A string or number as trimmed text. @returns `undefined` for anything else, or when nothing is left. */
function nonEmpty(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined
  const text = String(value).trim()
  return text === '' ? undefined : text
}

// Labels of letters, digits and inner hyphens (RFC 1035, 2.3.1); the last one letters, or punycode (`.рф`).
const DOMAIN = /^(?:[a-z\d](?:[a-z\d-]{0,61}[a-z\d])?\.)+(?:[a-z]{2,63}|xn--[a-z\d-]+)$/

/**
 * Koala keys companies by domain (Koala's server-side docs, "Sending Account Traits"), read as WHATWG `URL` reads a
 * host: `https://WWW.Acme.Example.com:8443/about?x=1` becomes `acme.example.com`, `münchen.de` `xn--mnchen-3ya.de`.
 * @returns `undefined` for an email, an IP address, or a host that is not such a name.
 */
export function normaliseDomain(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.includes('@')) return undefined
  const text = value.trim()
  let host: string
  try {
    host = new URL(/^[a-z][a-z\d+.-]*:\/\//i.test(text) ? text : `http://${text}`).hostname.replace(/\.$/, '')
  } catch {
    return undefined
  }
  if (isIP(host) || host.startsWith('[')) return undefined
  if (host.startsWith('www.') && host.indexOf('.', 4) > 0) host = host.slice(4)
  return DOMAIN.test(host) ? host : undefined
}

export type PreparedPayload = PreparedProfile | PreparedAccount

export interface PreparedProfile {
  target: 'profile'
  key: string
  identity: { profile_id?: string; email?: string }
  ip?: string
  traits: JSONObject
  entry: KoalaEntry
}

export interface PreparedAccount {
  target: 'account'
  key: string
  account: { account_id: string } | { domain: string }
  entry: KoalaAccountIdentify
}

export type Preparation =
  | { outcome: 'ready'; prepared: PreparedPayload }
  | { outcome: 'skipped'; message: string }
  | { outcome: 'invalid'; error: PayloadValidationError }

const invalid = (message: string): Preparation => ({ outcome: 'invalid', error: new PayloadValidationError(message) })

/**
 * One mapped payload as a Koala entry, skipped (analytics.js track and page), or refused: Koala answers 400 without
 * a person (email or profile_id) or, for Group, a company (domain or account id).
 * @returns never throws: a refusal is `{ outcome: 'invalid', error }`, a `PayloadValidationError` naming the fix.
 */
export function preparePayload<K extends ActionKind>(kind: K, payload: Payloads[K]): Preparation {
  const message_id = nonEmpty(payload.message_id)
  if (!message_id) return invalid('The MessageId field is empty. Map it to the Segment messageId ($.messageId).')
  const sent_at = toUtcIso(payload.sent_at)
  if (!sent_at) {
    return invalid(
      `The Sent At field ${JSON.stringify(payload.sent_at)} is not a date Koala reads. Map it to $.timestamp.`
    )
  }
  if (kind === 'group') return prepareAccount(payload, message_id, sent_at)
  return prepareProfile(kind, payload, message_id, sent_at)
}

/**
 * The keys the published Koala (Cloud) also read the person and the ip from (`@segment/action-destinations` 3.497.0,
 * `koala/{track,identify}/index.js`): `email`, `profile_id` and `ip` of Track's mapped Event properties and of
 * Identify's mapped Traits. A mapping saved with it has no Koala Profile ID field; reading them keeps its events going
 * to the same person.
 */
function publishedKeys(kind: ActionKind, payload: Payloads['identify' | 'track' | 'page']): JSONObject {
  if (kind === 'track') return asObject((payload as TrackPayload).properties)
  return kind === 'identify' ? asObject(payload.traits) : {}
}

function prepareProfile(
  kind: ActionKind,
  payload: Payloads['identify' | 'track' | 'page'],
  message_id: string,
  sent_at: string
): Preparation {
  const track = kind === 'track' ? (payload as TrackPayload) : undefined
  // Empty strings get past the framework's schema in batch mode.
  if (track && !nonEmpty(track.event)) {
    return invalid('The Event Name field is empty. Map it to the Segment event name ($.event).')
  }
  const context = asObject(payload.context)
  if (kind !== 'identify' && asObject(context.library).name === 'analytics.js') {
    return { outcome: 'skipped', message: kind === 'page' ? ANALYTICS_JS_PAGE_SKIP_MESSAGE : ANALYTICS_JS_SKIP_MESSAGE }
  }

  const traits = asObject(payload.traits)
  const published = publishedKeys(kind, payload)
  const email = normaliseEmail(payload.email) ?? normaliseEmail(published.email) ?? normaliseEmail(traits.email)
  const profile_id = nonEmpty(payload.profile_id) ?? nonEmpty(published.profile_id)
  if (!email && !profile_id) {
    const given = nonEmpty(payload.email)
    return invalid(
      'Koala needs an email or a Koala profile_id to know who this event belongs to, and this event has neither.' +
        (given ? ` The Email field ${JSON.stringify(given)} is not an email address.` : '') +
        ' Map the Email field (for example to $.traits.email), or send the profile_id of the ko_id cookie in the' +
        " Koala Profile ID field: Segment's anonymousId is not Koala's profile_id."
    )
  }

  const entryContext: JSONObject = { ...context, source: 'segment-cloud' }
  let entry: KoalaEntry
  if (track) {
    const properties = asObject(track.properties)
    entry = { type: 'track', event: String(track.event), message_id, sent_at, properties, context: entryContext }
  } else if (kind === 'page') {
    const page = payload as PagePayload
    const name = nonEmpty(page.name)
    const properties = asObject(page.properties)
    entry = { type: 'page', message_id, sent_at, ...(name ? { name } : {}), properties, context: entryContext }
  } else {
    entry = { type: 'identify', message_id, sent_at, traits, context: entryContext }
  }

  // An `ip` mapped with the event replaces Device IP, as in the published destination (server-side libraries often
  // give context.ip the server's own address), but only when it is an IP address.
  const ownIp = typeof published.ip === 'string' ? published.ip.trim() : ''
  return {
    outcome: 'ready',
    prepared: {
      target: 'profile',
      key: `${profile_id ?? ''}\u0000${email ?? ''}`,
      identity: { ...(profile_id ? { profile_id } : {}), ...(email ? { email } : {}) },
      ip: isIP(ownIp) ? ownIp : nonEmpty(payload.device_ip),
      traits,
      entry
    }
  }
}

function prepareAccount(payload: GroupPayload, message_id: string, sent_at: string): Preparation {
  const account_id = nonEmpty(payload.account_id)
  const domain = normaliseDomain(payload.domain)
  if (!account_id && !domain) {
    return invalid(
      `The Company Domain field ${JSON.stringify(payload.domain ?? null)} is not a domain. Koala needs the ` +
        "company's web address, such as acme.com (a URL such as https://www.acme.com/about works too), or the " +
        'Koala Account ID field.'
    )
  }
  const traits = asObject(payload.traits)
  const group_id = nonEmpty(payload.group_id)
  const entry: KoalaAccountIdentify = {
    type: 'identify',
    message_id,
    sent_at,
    traits: group_id ? { ...traits, group_id } : traits
  }
  return {
    outcome: 'ready',
    prepared: account_id
      ? { target: 'account', key: `account_id\u0000${account_id}`, account: { account_id }, entry }
      : { target: 'account', key: `domain\u0000${domain}`, account: { domain: domain as string }, entry }
  }
}

/**
 * One request body for 1 to 30 payloads of one key, in order: later traits win, the latest `ip` counts. Only Koala's
 * keys appear, never the mapping's field names.
 */
export function buildBody(kind: ActionKind, group: PreparedPayload[]): KoalaBody {
  const entries = group.map((item) => item.entry)
  const first = group[0]
  if (first.target === 'account') return { ...first.account, identifies: entries as KoalaAccountIdentify[] }
  const profiles = group as PreparedProfile[]
  const ip = profiles.reduce<string | undefined>((latest, item) => item.ip ?? latest, undefined)
  const traits =
    group.length === 1 ? first.traits : profiles.reduce<JSONObject>((all, item) => Object.assign(all, item.traits), {})
  const body: KoalaBatchBody = { ...first.identity, ...(ip ? { ip } : {}), traits }
  return { ...body, [ARRAY[kind]]: entries }
}
