import { isObject, PayloadValidationError } from '@segment/actions-core'
import type { JSONObject } from '@segment/actions-core'
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
export const ENDPOINT = {
  identify: 'batch',
  track: 'batch',
  page: 'batch',
  group: 'accounts/batch'
} as const

/** The body array each action's entries go in. */
export const ARRAY = { identify: 'identifies', track: 'events', page: 'page_views', group: 'identifies' } as const

export interface SkippedResult {
  skipped: true
  message: string
}

/** The Koala pixel already collects browser events (Koala's Segment integration docs). */
export const ANALYTICS_JS_SKIP_MESSAGE =
  'Skipped: this track event comes from analytics.js, and the Koala pixel in the browser already collects it. ' +
  'Sending it again from Segment would count it twice in Koala.'

export const ANALYTICS_JS_PAGE_SKIP_MESSAGE =
  'Skipped: this page call comes from analytics.js, and the Koala pixel in the browser records page views itself. ' +
  'Sending it again from Segment would count the page view twice in Koala.'

const SOURCE = 'segment-cloud'

// A bare local@domain.tld, Unicode allowed: no display name, list or invisible character makes a second person.
const LOCAL_RUN = '[^\\s\\p{C}@<>()[\\],;:"\\\\/?.]+'
const LABEL = '[\\p{L}\\p{N}\\p{M}](?:[\\p{L}\\p{N}\\p{M}-]*[\\p{L}\\p{N}\\p{M}])?'
const EMAIL = new RegExp(
  `^${LOCAL_RUN}(?:\\.${LOCAL_RUN})*@(?:${LABEL}\\.)+(?:[\\p{L}\\p{M}]{2,}|xn--[\\p{L}\\p{N}-]+)$`,
  'u'
)

/** Trimmed and lowercased. @returns `undefined` for anything but a bare address (`Jordan <j@example.com>`). */
export function normaliseEmail(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const email = value.trim().toLowerCase()
  return EMAIL.test(email) ? email : undefined
}

// A part of a dotted quad: 0 to 255, no leading zero (`010` reads as octal to some parsers, decimal to others).
const IPV4_PART = /^(?:0|[1-9]\d{0,2})$/
const IPV6_GROUP = /^[0-9a-f]{1,4}$/i

function isIpv4(text: string): boolean {
  const parts = text.split('.')
  return parts.length === 4 && parts.every((part) => IPV4_PART.test(part) && Number(part) <= 255)
}

function isIpv6(text: string): boolean {
  const halves = text.split('::')
  if (halves.length > 2) return false
  let groups = 0
  for (const [index, half] of halves.entries()) {
    if (half === '') continue
    const parts = half.split(':')
    const last = parts[parts.length - 1]
    // An IPv4 tail (`::ffff:192.0.2.1`) stands for the last two groups.
    if (index === halves.length - 1 && last.includes('.')) {
      if (!isIpv4(last)) return false
      parts.pop()
      groups += 2
    }
    if (!parts.every((part) => IPV6_GROUP.test(part))) return false
    groups += parts.length
  }
  // `::` stands for at least one group of zeros (RFC 4291, 2.2).
  return halves.length === 2 ? groups <= 7 : groups === 8
}

/**
 * Whether `value` is an IP address as text: IPv4 as a dotted quad (`203.0.113.7`) or IPv6 in RFC 4291's text forms
 * (`2001:db8::1`, `::ffff:192.0.2.1`), without brackets, port or zone (`%eth0`). Not trimmed: trim first.
 */
export function isIpAddress(value: unknown): boolean {
  if (typeof value !== 'string') return false
  return value.includes(':') ? isIpv6(value) : isIpv4(value)
}

// What the framework's `date-time` format (ajv-formats) lets through: `T` or whitespace, an optional zone.
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})[T\s](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}(?::?\d{2})?)?$/i

/**
 * A Segment timestamp (ISO-8601: https://segment.com/docs/connections/spec/common/) as Koala's `sent_at`, in UTC; no
 * zone reads as UTC, not local time.
 * @returns e.g. `2026-11-30T08:00:00.000Z` for `2026-11-30T10:00:00+02:00`, or `undefined` when it is not a date.
 */
export function toUtcIso(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  if (isUtcIso(value)) return value
  const text = value.trim()
  const match = DATE_TIME.exec(text)
  let date: Date
  if (match) {
    const [, day, time, zone] = match
    let offset = 'Z'
    if (zone && zone.toUpperCase() !== 'Z') {
      const digits = zone.slice(1).replace(':', '')
      offset = `${zone[0]}${digits.slice(0, 2)}:${digits.slice(2, 4) || '00'}`
    }
    // JavaScript has no leap second: the last millisecond of that minute.
    date = new Date(`${day}T${time.replace(/:60(?:\.\d+)?$/, ':59.999')}${offset}`)
  } else {
    date = /^\d{4}-\d{2}-\d{2}T/.test(text) ? new Date(text) : new Date(NaN)
  }
  if (Number.isNaN(date.getTime())) return undefined
  const iso = date.toISOString()
  // JavaScript writes years past 9999 as `+010000-...`, which Koala does not read.
  return /^\d{4}-/.test(iso) ? iso : undefined
}

// The form Segment writes its own timestamps in, which is already Koala's: checked by the calendar, no Date round trip
// (the per-event path's costliest check before).
const UTC_ISO = /^\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** Whether `text` is `YYYY-MM-DDTHH:MM:SS.sssZ` naming a real day (29 February in leap years only), as toISOString writes it. */
function isUtcIso(text: string): boolean {
  if (text.length !== 24 || !UTC_ISO.test(text)) return false
  const month = Number(text.slice(5, 7))
  const day = Number(text.slice(8, 10))
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]) return false
  if (month !== 2 || day !== 29) return true
  const year = Number(text.slice(0, 4))
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
}

/** @returns `value` when it is a plain object, else `{}`: mappings may resolve to anything. */
export function asObject(value: unknown): JSONObject {
  return isObject(value) ? (value as JSONObject) : {}
}

function nonEmpty(value: unknown): string | undefined {
  if (typeof value === 'string') {
    const text = value.trim()
    return text === '' ? undefined : text
  }
  if (typeof value !== 'number') return undefined
  const text = String(value).trim()
  return text === '' ? undefined : text
}

// RFC 1035 labels; the last one letters, or punycode (`.рф` is `xn--p1ai`).
const ASCII_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
const TOP_LABEL = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/

/**
 * Koala keys companies by domain (Koala's server-side docs, "Sending Account Traits"):
 * `https://WWW.Acme.Example.com:8443/about?x=1` becomes `acme.example.com`, `münchen.de` `xn--mnchen-3ya.de`.
 * @returns `undefined` when no domain is left (no dot, an IP address, a last label that is not letters, ...).
 */
export function normaliseDomain(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  let host = value
    .trim()
    .toLowerCase()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, '')
    .replace(/^\/\//, '')
    .split(/[/?#]/, 1)[0]
  if (host === '' || /[\s@[\]%\\]/.test(host)) return undefined
  if (/[^\x21-\x7e]/.test(host) || host.includes('xn--')) {
    try {
      // IDNA (UTS #46) before the `www.` rule, so `ＷＷＷ.acme.com` and `www.acme.com` are one company.
      host = new URL(`http://${host}`).hostname
    } catch {
      return undefined
    }
  }
  host = host.replace(/:\d*$/, '').replace(/\.$/, '')
  if (host.startsWith('www.') && host.indexOf('.', 4) > 0) host = host.slice(4)
  const labels = host.split('.')
  // The longest name DNS carries (RFC 1035).
  if (host.length > 253 || labels.length < 2 || !labels.every((label) => ASCII_LABEL.test(label))) return undefined
  return TOP_LABEL.test(labels[labels.length - 1]) ? host : undefined
}

/**
 * Why {@link normaliseDomain} refused a value, as a clause for the message, e.g. `203.0.113.7 is an IP address`.
 *
 * @param given the value, trimmed and not empty.
 */
export function domainProblem(given: string): string {
  if (given.includes('@')) return 'it is an email address'
  if (/\s/.test(given)) return 'it contains a space'
  const authority = given
    .toLowerCase()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//, '')
    .replace(/^\/\//, '')
    .split(/[/?#]/, 1)[0]
  // A bare IPv6 address before its last group is read as a port.
  if (isIpAddress(authority)) return `${authority} is an IP address`
  const host = authority.replace(/:\d*$/, '').replace(/\.$/, '')
  if (host === '') return 'it has no host name'
  if (isIpAddress(host) || host.startsWith('[')) return `${host} is an IP address`
  const labels = host.split('.')
  if (host.length > 253 || labels.some((label) => label.length > 63)) return `${host} is longer than a domain can be`
  if (labels.length < 2) return `${host} has no dot and ending such as .com`
  const last = labels[labels.length - 1]
  if (!TOP_LABEL.test(last)) return `its ending .${last} is not a top-level domain such as .com`
  return `${host} has characters a domain cannot have`
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
  if (!message_id) {
    return invalid(
      'The MessageId field is empty. Map it to the Segment messageId ($.messageId): Koala uses it to de-duplicate events.'
    )
  }
  const sent_at = toUtcIso(payload.sent_at)
  if (!sent_at) {
    return invalid(
      `The Sent At field is not a date: ${JSON.stringify(
        payload.sent_at
      )}. Map it to an ISO-8601 timestamp such as $.timestamp.`
    )
  }
  if (kind === 'group') return prepareAccount(payload, message_id, sent_at)
  return prepareProfile(kind, payload, message_id, sent_at)
}

/**
 * Where the published Koala (Cloud) looked for the person and the ip besides its fields
 * (`@segment/action-destinations` 3.497.0, `dist/destinations/koala/{track,identify}/index.js`, `perform`): the
 * `email`, `profile_id` and `ip` keys of Track's mapped Event properties and of Identify's mapped Traits. A mapping
 * saved with it has no Koala Profile ID field; reading the same keys in its order keeps that mapping's events going
 * to the same person with the same ip. Page and Group have no published predecessor: no keys.
 * @returns `keys` (`{}` when the field is not an object) and `field`, its label for messages.
 */
function publishedKeys(kind: ActionKind, payload: Payloads['identify' | 'track' | 'page']) {
  if (kind === 'track') return { keys: asObject((payload as TrackPayload).properties), field: 'Event properties' }
  if (kind === 'identify') return { keys: asObject(payload.traits), field: 'Traits' }
  return { keys: {} as JSONObject, field: '' }
}

/**
 * The `ip` of the mapped Traits (Identify) or Event properties (Track), trimmed, when it is an IP address: it
 * replaces Device IP, as in the published destination (server-side libraries often give context.ip the server's own
 * address), but only an address may, so `"not-an-ip"` or `12345` leaves Device IP in place.
 */
function explicitIp(value: unknown): string | undefined {
  const text = typeof value === 'string' ? value.trim() : undefined
  return text !== undefined && isIpAddress(text) ? text : undefined
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
  // The Email and Koala Profile ID fields win; then the published destination's keys, in its order.
  const email = normaliseEmail(payload.email) ?? normaliseEmail(published.keys.email) ?? normaliseEmail(traits.email)
  const profile_id = nonEmpty(payload.profile_id) ?? nonEmpty(published.keys.profile_id)
  if (!email && !profile_id) {
    // Name the value that was refused, so "has neither" is not read as "has no email at all".
    const notEmail =
      nonEmpty(payload.email) !== undefined
        ? ` The Email field ${JSON.stringify(payload.email)} is not an email address.`
        : nonEmpty(published.keys.email) !== undefined
        ? ` The email ${JSON.stringify(published.keys.email)} in the ${published.field} field is not an email address.`
        : nonEmpty(traits.email) !== undefined
        ? ` The email ${JSON.stringify(traits.email)} in the Traits field is not an email address.`
        : ''
    return invalid(
      'Koala needs an email or a Koala profile_id to know who this event belongs to, and this event has neither.' +
        notEmail +
        ' Map the Email field (for example to $.traits.email or $.context.traits.email), or send the profile_id' +
        " from Koala's ko_id cookie in the Koala Profile ID field. Segment's anonymousId is not Koala's profile_id."
    )
  }

  const entryContext: JSONObject = { ...context, source: SOURCE }
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

  const identity: PreparedProfile['identity'] = {}
  if (profile_id) identity.profile_id = profile_id
  if (email) identity.email = email
  return {
    outcome: 'ready',
    prepared: {
      target: 'profile',
      key: `${profile_id ?? ''}\u0000${email ?? ''}`,
      identity,
      ip: explicitIp(published.keys.ip) ?? nonEmpty(payload.device_ip),
      traits,
      entry
    }
  }
}

function prepareAccount(payload: GroupPayload, message_id: string, sent_at: string): Preparation {
  const account_id = nonEmpty(payload.account_id)
  const domain = normaliseDomain(payload.domain)
  if (!account_id && !domain) {
    const given = nonEmpty(payload.domain)
    // A value was mapped: the mapping is right, the value is not, so say what is wrong with it rather than where to map.
    if (given !== undefined) {
      return invalid(
        `The Company Domain field ${JSON.stringify(payload.domain)} is not a domain: ${domainProblem(given)}. ` +
          "A valid one is the company's web address, such as acme.com (a URL such as https://www.acme.com/about " +
          'works too). Send the domain in the value this field maps, or map the Koala Account ID field.'
      )
    }
    return invalid(
      'Koala needs a company domain or a Koala account id to know which company these traits belong to, and ' +
        'this event has neither. Map the Company Domain field to where your group calls carry the company website, ' +
        'for example $.traits.website or $.traits.domain, or map the Koala Account ID field.'
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
  let ip: string | undefined
  let traits: JSONObject
  if (group.length === 1) {
    // Per-event: the payload's own traits, not a copy (the body is serialised, never changed).
    ip = first.ip
    traits = first.traits
  } else {
    traits = {}
    for (const item of group as PreparedProfile[]) {
      if (item.ip) ip = item.ip
      Object.assign(traits, item.traits)
    }
  }
  // Assigned one by one in Koala's key order: the spreads and computed key before cost more per request than all of
  // preparePayload's own objects (docs/PERFORMANCE.md).
  const body = {} as KoalaBatchBody
  const { profile_id, email } = first.identity
  if (profile_id) body.profile_id = profile_id
  if (email) body.email = email
  if (ip) body.ip = ip
  body.traits = traits
  ;(body as unknown as Record<string, unknown>)[ARRAY[kind]] = entries
  return body
}
