import type { InputField } from '@segment/actions-core'

/**
 * The one library of `InputField`s that the actions share. An action takes a field as it is or spreads it and
 * overrides what differs (Track's and Page's Traits come from `context.traits`, for instance).
 */

/** `@if exists` chain: the first of `paths` that exists in the event. */
function firstExisting(paths: string[]): InputField['default'] {
  const [first, ...rest] = paths
  if (rest.length === 0) return { '@path': first }
  return { '@if': { exists: { '@path': first }, then: { '@path': first }, else: firstExisting(rest) } }
}

/** Email: with Koala Profile ID, one of the two identifiers Koala needs; normalised by `normaliseEmail`. */
export const email: InputField = {
  label: 'Email',
  description: 'The email to associate with the user',
  type: 'string',
  required: false,
  default: firstExisting(['$.traits.email', '$.email'])
}

/** Koala's own visitor id. Defaults look in properties, traits and `context.traits`, where sites pass it on. */
export const profile_id: InputField = {
  label: 'Koala Profile ID',
  description:
    "Koala's visitor id, set by the Koala pixel in the `ko_id` cookie. Not Segment's anonymousId. Koala needs this or an email to tie the event to a person.",
  type: 'string',
  required: false,
  default: firstExisting(['$.properties.profile_id', '$.traits.profile_id', '$.context.traits.profile_id'])
}

/** Track only: the Segment event name. */
export const event: InputField = {
  label: 'Event Name',
  description: 'The event name',
  type: 'string',
  required: true,
  default: { '@path': '$.event' }
}

/** Track only: the event's properties, sent as the entry's `properties`. */
export const properties: InputField = {
  label: 'Event properties',
  description: 'Properties to send with the event',
  type: 'object',
  required: false,
  default: { '@path': '$.properties' }
}

/** Identify's traits (`$.traits`); Track and Page override the default with `$.context.traits`. */
export const traits: InputField = {
  label: 'Traits',
  description: 'Traits to associate with the user',
  type: 'object',
  required: false,
  default: { '@path': '$.traits' }
}

/** Track's and Page's traits: where the track and page specs put the user's traits. */
export const context_traits: InputField = {
  ...traits,
  description: 'Traits inherited from the context object',
  default: { '@path': '$.context.traits' }
}

/** The event time; converted to ISO-8601 UTC by `toUtcIso` because Koala reads `sent_at` as UTC. */
export const sent_at: InputField = {
  label: 'Sent At',
  description: 'The timestamp of the event',
  type: 'string',
  format: 'date-time',
  required: true,
  default: { '@path': '$.timestamp' }
}

/** The Segment context, sent as each entry's `context` with `source: "segment-cloud"` added. */
export const context: InputField = {
  label: 'Context properties',
  description: 'Context properties to send with the event',
  type: 'object',
  required: false,
  default: { '@path': '$.context' }
}

/** Sent as the request's top-level `ip`. */
export const device_ip: InputField = {
  label: 'Device IP',
  description: 'The device IP collected from the context',
  type: 'string',
  required: false,
  default: { '@path': '$.context.ip' }
}

/** Koala's idempotency key, so a retried delivery is harmless. */
export const message_id: InputField = {
  label: 'MessageId',
  description: 'The Segment messageId',
  type: 'string',
  required: true,
  default: { '@path': '$.messageId' }
}

/** The framework's batching switch: on, so Segment calls `performBatch`. */
export const enable_batching: InputField = {
  label: 'Batch Data to Koala',
  description:
    'When enabled, Segment sends events in batches and the destination groups them into one Koala request per person (up to 30 entries each).',
  type: 'boolean',
  required: false,
  default: true
}

/** The largest batch Segment may hand to one `performBatch` call; see the README's batching section. */
export const MAX_BATCH_SIZE = 1000

/** The framework's batch size; the README's Performance section explains 1000. */
export const batch_size: InputField = {
  label: 'Batch Size',
  description: `Maximum number of events Segment includes in one batch (1 to ${MAX_BATCH_SIZE}).`,
  type: 'number',
  required: false,
  default: MAX_BATCH_SIZE,
  minimum: 1,
  maximum: MAX_BATCH_SIZE
}

/** Page only: the page's name, sent as the entry's `name` when the event has one. */
export const name: InputField = {
  label: 'Page Name',
  description: 'The name of the page, as the page call gives it.',
  type: 'string',
  required: false,
  default: { '@path': '$.name' }
}

/** Page only: sent as the entry's `properties`. */
export const page_properties: InputField = {
  label: 'Page properties',
  description: "The page's properties: url, path, title, referrer, search and any of the site's own keys.",
  type: 'object',
  required: false,
  default: { '@path': '$.properties' }
}

/** Group only: Koala keys companies by domain; normalised by `normaliseDomain`. */
export const domain: InputField = {
  label: 'Company Domain',
  description:
    "The company's website domain, which Koala uses to recognise the company (for example acme.com; a full URL such as https://www.acme.com/about works too). Needed unless you map the Koala Account ID.",
  type: 'string',
  required: false,
  default: firstExisting(['$.traits.domain', '$.traits.website'])
}

/** Group only: sent instead of `domain` when mapped. */
export const account_id: InputField = {
  label: 'Koala Account ID',
  description:
    "Koala's own id for the company, if you have it from Koala. Not Segment's groupId. When mapped, Koala finds the company by it instead of by its domain.",
  type: 'string',
  required: false
}

/** Group only: added to the traits as `group_id` (Koala's docs, "Deduplicating Account Traits"). */
export const group_id: InputField = {
  label: 'Group ID',
  description:
    'The Segment groupId. Koala keeps the traits of several groups (for example workspaces or tenants) of one company apart by it.',
  type: 'string',
  required: false,
  default: { '@path': '$.groupId' }
}

/** Group only: the company's traits, sent as the entry's `traits`. */
export const company_traits: InputField = {
  label: 'Company traits',
  description: 'Traits of the company, such as name, industry, plan or employee count.',
  type: 'object',
  required: false,
  default: { '@path': '$.traits' }
}
