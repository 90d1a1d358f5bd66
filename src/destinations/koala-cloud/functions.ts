import { isObject, PayloadValidationError } from '@segment/actions-core'
import type { JSONObject } from '@segment/actions-core'
import type { Payload as GroupPayload } from './group/generated-types'
import type { Payload as IdentifyPayload } from './identify/generated-types'
import type { Payload as PagePayload } from './page/generated-types'
import type { Payload as TrackPayload } from './track/generated-types'
import type { KoalaAccountIdentify, KoalaBody, KoalaEntry } from './types'

/**
 * Turning mapped payloads into Koala request bodies. `perform` and `performBatch` of every action go through
 * {@link preparePayload} and {@link buildBody}, so a batch of one sends exactly the body `perform` sends.
 */

/** Each action's mapped payload, as the framework hands it over after applying defaults and the field schema. */
export interface Payloads {
  identify: IdentifyPayload
  track: TrackPayload
  page: PagePayload
  group: GroupPayload
}

/** The action an entry comes from; it decides the endpoint and the array (see {@link ENDPOINT}, {@link ARRAY}). */
export type ActionKind = keyof Payloads

/** Koala's endpoint, under `/web/projects/{public_key}/`, that each kind is sent to. Source: Koala's server-side docs. */
export const ENDPOINT = {
  identify: 'batch',
  track: 'batch',
  page: 'batch',
  group: 'accounts/batch'
} as const

/** The array of the body that each kind's entries go to. */
const ARRAY = { identify: 'identifies', track: 'events', page: 'page_views', group: 'identifies' } as const

/** The answer `perform` gives for an event it deliberately does not send. */
export interface SkippedResult {
  skipped: true
  message: string
}

/**
 * Why analytics.js track events are not sent: the Koala pixel in the browser collects them already (Koala's
 * Segment integration docs), so sending them again from the cloud would count every browser event twice.
 */
export const ANALYTICS_JS_SKIP_MESSAGE =
  'Skipped: this track event comes from analytics.js, and the Koala pixel in the browser already collects it. ' +
  'Sending it again from Segment would count it twice in Koala.'

/** Why analytics.js page calls are not sent: the pixel records every page view itself (same source). */
export const ANALYTICS_JS_PAGE_SKIP_MESSAGE =
  'Skipped: this page call comes from analytics.js, and the Koala pixel in the browser records page views itself. ' +
  'Sending it again from Segment would count the page view twice in Koala.'

/** Tags every profile entry so Koala can attribute it to Segment's cloud destination. */
const SOURCE = 'segment-cloud'

// local@domain.tld, Unicode allowed. Local part: dot-separated runs without whitespace, invisible or control
// characters (`\p{C}`), `@` or the punctuation of display names, lists and URLs. Domain: dot-separated labels of
// letters, digits and marks with inner hyphens, ending in a label of at least two letters (or an IDN `xn--` label).
const LOCAL_RUN = '[^\\s\\p{C}@<>()[\\],;:"\\\\/?.]+'
const LABEL = '[\\p{L}\\p{N}\\p{M}](?:[\\p{L}\\p{N}\\p{M}-]*[\\p{L}\\p{N}\\p{M}])?'
const EMAIL = new RegExp(
  `^${LOCAL_RUN}(?:\\.${LOCAL_RUN})*@(?:${LABEL}\\.)+(?:[\\p{L}\\p{M}]{2,}|xn--[\\p{L}\\p{N}-]+)$`,
  'u'
)

/**
 * Normalises an email for Koala: trimmed and lowercased, so one person stays one person whatever the spelling.
 *
 * @returns the address, or `undefined` when the value is not a bare address: one `@` with text on both sides, a
 *   domain with a dot, and no whitespace or display-name punctuation (`Jordan <jordan@example.com>` is refused
 *   rather than sent as a person that cannot exist).
 */
export function normaliseEmail(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const email = value.trim().toLowerCase()
  return EMAIL.test(email) ? email : undefined
}

// A date-time with an optional zone: `2026-11-30T10:00:00`, `...10:00:00.123Z`, `...10:00:00+0200`, `... 10:00`.
// The separator is `T` or any whitespace, as the framework's `date-time` format (ajv-formats) accepts.
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})[T\s](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}(?::?\d{2})?)?$/i

/**
 * Converts a Segment timestamp to what Koala's `sent_at` expects: ISO-8601 in UTC with milliseconds (`...Z`).
 * A value with an offset is converted; one without a zone is read as UTC (JavaScript's own parser would read it as
 * local time). Source: Segment's spec gives ISO-8601 timestamps (https://segment.com/docs/connections/spec/common/).
 *
 * @returns e.g. `2026-11-30T08:00:00.000Z` for `2026-11-30T10:00:00+02:00`, or `undefined` when it is not a date.
 */
export function toUtcIso(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
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
    // A leap second (`23:59:60`, allowed by ISO-8601 and the framework's format) is not representable in JavaScript:
    // it becomes the last millisecond of that minute rather than a refusal.
    date = new Date(`${day}T${time.replace(/:60(?:\.\d+)?$/, ':59.999')}${offset}`)
  } else {
    // Other ISO-8601 forms the schema's `date-time` format lets through all carry their own zone.
    date = /^\d{4}-\d{2}-\d{2}T/.test(text) ? new Date(text) : new Date(NaN)
  }
  if (Number.isNaN(date.getTime())) return undefined
  const iso = date.toISOString()
  // Outside years 0000-9999 JavaScript writes an expanded year (`+010000-...`), which is not the form Koala takes.
  return /^\d{4}-/.test(iso) ? iso : undefined
}

function asObject(value: unknown): JSONObject {
  return isObject(value) ? (value as JSONObject) : {}
}

function nonEmpty(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined
  const text = String(value).trim()
  return text === '' ? undefined : text
}

// One DNS label in ASCII (RFC 1035 letters, digits, inner hyphens, at most 63 characters).
const ASCII_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
// The last label: letters, or the punycode form of a Unicode top-level domain (`.рф` is `xn--p1ai`).
const TOP_LABEL = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/

/**
 * Normalises a company's domain as Koala keys accounts by it: trimmed and lowercased; the scheme, port, path, query,
 * fragment, a trailing dot and a leading `www.` removed; a Unicode domain in its ASCII (punycode) form.
 * `https://WWW.Acme.Example.com:8443/about?x=1` becomes `acme.example.com`. Source: Koala's server-side docs,
 * "Sending Account Traits" (accounts are keyed by their domain).
 *
 * @returns the domain, or `undefined` when what is left is not one: empty, no dot, spaces or other characters a host
 *   cannot have, an IP address, or a last label that is not letters.
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
      // The WHATWG URL parser applies IDNA (UTS #46): full-width forms folded, Unicode to punycode, bad punycode
      // refused. Before the `www.` and port rules, so `ＷＷＷ.acme.com` and `www.acme.com` are one company.
      host = new URL(`http://${host}`).hostname
    } catch {
      return undefined
    }
  }
  host = host.replace(/:\d*$/, '').replace(/\.$/, '')
  if (host.startsWith('www.') && host.indexOf('.', 4) > 0) host = host.slice(4)
  const labels = host.split('.')
  // 253 characters: the longest name DNS carries (RFC 1035, 255 octets on the wire).
  if (host.length > 253 || labels.length < 2 || !labels.every((label) => ASCII_LABEL.test(label))) return undefined
  return TOP_LABEL.test(labels[labels.length - 1]) ? host : undefined
}

/** A payload ready to be sent: the request it shares with others of its key, and the entry it becomes. */
export type PreparedPayload = PreparedProfile | PreparedAccount

/** A person's entry, for `/batch`. */
export interface PreparedProfile {
  target: 'profile'
  /** Payloads with equal keys (one person: the same email and profile_id) share a request. */
  key: string
  /** `email` and/or `profile_id`, both normalised. */
  identity: { profile_id?: string; email?: string }
  ip?: string
  traits: JSONObject
  entry: KoalaEntry
}

/** A company's entry, for `/accounts/batch`. */
export interface PreparedAccount {
  target: 'account'
  /** Payloads with equal keys (one account: the same account id, or the same normalised domain) share a request. */
  key: string
  account: { account_id: string } | { domain: string }
  entry: KoalaAccountIdentify
}

/** What becomes of one payload before anything is sent. */
export type Preparation =
  | { outcome: 'ready'; prepared: PreparedPayload }
  | { outcome: 'skipped'; message: string }
  | { outcome: 'invalid'; error: PayloadValidationError }

const invalid = (message: string): Preparation => ({ outcome: 'invalid', error: new PayloadValidationError(message) })

/**
 * Turns one mapped payload into a Koala entry, or says why it is not sent.
 *
 * Rules for every kind: `message_id` must be non-empty (the framework lets an empty string through in batch mode);
 * `sent_at` must be a date (converted with {@link toUtcIso}). A person's entry (Identify, Track, Page) needs the Email
 * field, else `email` inside the mapped Traits, and/or the Koala Profile ID field (Koala answers 400 without one);
 * Track needs a non-empty Event Name; Track and Page events from analytics.js are skipped. A company's entry (Group)
 * needs a Koala Account ID or a Company Domain (see {@link normaliseDomain}).
 *
 * @returns never throws: a rejection is returned as `{ outcome: 'invalid', error }` with a `PayloadValidationError`
 *   (status 400) naming the field and the fix.
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

function prepareProfile(
  kind: ActionKind,
  payload: Payloads['identify' | 'track' | 'page'],
  message_id: string,
  sent_at: string
): Preparation {
  const track = kind === 'track' ? (payload as TrackPayload) : undefined
  // Like an empty MessageId, an empty Event Name gets past the framework in batch mode only.
  if (track && !nonEmpty(track.event)) {
    return invalid('The Event Name field is empty. Map it to the Segment event name ($.event).')
  }
  const context = asObject(payload.context)
  if (kind !== 'identify' && asObject(context.library).name === 'analytics.js') {
    return { outcome: 'skipped', message: kind === 'page' ? ANALYTICS_JS_PAGE_SKIP_MESSAGE : ANALYTICS_JS_SKIP_MESSAGE }
  }

  const traits = asObject(payload.traits)
  const email = normaliseEmail(payload.email) ?? normaliseEmail(traits.email)
  const profile_id = nonEmpty(payload.profile_id)
  if (!email && !profile_id) {
    // Name the value that was refused, so "has neither" is not read as "has no email at all".
    const notEmail =
      nonEmpty(payload.email) !== undefined
        ? ` The Email field ${JSON.stringify(payload.email)} is not an email address.`
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
      ip: nonEmpty(payload.device_ip),
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
    const problem =
      given !== undefined
        ? `The Company Domain field ${JSON.stringify(payload.domain)} is not a domain such as acme.com.`
        : 'Koala needs a company domain or a Koala account id to know which company these traits belong to, and ' +
          'this event has neither.'
    return invalid(
      problem +
        ' Map the Company Domain field to where your group calls carry the company website, for example' +
        ' $.traits.website or $.traits.domain, or map the Koala Account ID field.'
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
 * Builds one Koala request body for payloads of one key, in order.
 * A person's body: top-level `traits` are the payloads' traits merged in order (later keys win), `ip` the latest
 * non-empty one. A company's body: its `account_id` or `domain`, then the `identifies`. Only Koala's keys appear: the
 * mapping's field names never reach the body.
 *
 * @param kind which array the entries go to.
 * @param group at least one payload, all with the same `key`; at most 30 (Koala's limit per array).
 */
export function buildBody(kind: ActionKind, group: PreparedPayload[]): KoalaBody {
  const entries = group.map((item) => item.entry)
  const first = group[0]
  if (first.target === 'account') return { ...first.account, identifies: entries as KoalaAccountIdentify[] }
  let ip: string | undefined
  const traits: JSONObject = {}
  for (const item of group as PreparedProfile[]) {
    if (item.ip) ip = item.ip
    Object.assign(traits, item.traits)
  }
  // Keys in a stable order (identity, ip, traits, entries) so bodies read and compare the same every time.
  const { profile_id, email } = first.identity
  return {
    ...(profile_id ? { profile_id } : {}),
    ...(email ? { email } : {}),
    ...(ip ? { ip } : {}),
    traits,
    [ARRAY[kind]]: entries
  }
}
