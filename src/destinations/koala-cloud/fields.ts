import type { InputField } from '@segment/actions-core'

// The actions' one library of fields: an action takes a field as it is, or spreads it and overrides what differs.

/** The first of `paths` that exists in the event. */
function firstExisting(paths: string[]): InputField['default'] {
  const [first, ...rest] = paths
  if (rest.length === 0) return { '@path': first }
  return { '@if': { exists: { '@path': first }, then: { '@path': first }, else: firstExisting(rest) } }
}

export const email: InputField = {
  label: 'Email',
  description:
    'The email to associate with the user, trimmed and lowercased; only a bare address (name@domain.tld) counts. When it is empty or not an address, the `email` inside the mapped Traits is used.',
  type: 'string',
  required: false,
  default: firstExisting(['$.traits.email', '$.email'])
}

export const profile_id: InputField = {
  label: 'Koala Profile ID',
  description:
    "Koala's visitor id, set by the Koala pixel in the `ko_id` cookie. Not Segment's anonymousId. Koala needs this or an email to tie the event to a person.",
  type: 'string',
  required: false,
  default: firstExisting(['$.properties.profile_id', '$.traits.profile_id', '$.context.traits.profile_id'])
}

export const event: InputField = {
  label: 'Event Name',
  description: 'The event name',
  type: 'string',
  required: true,
  default: { '@path': '$.event' }
}

export const properties: InputField = {
  label: 'Event properties',
  description: 'Properties to send with the event',
  type: 'object',
  required: false,
  default: { '@path': '$.properties' }
}

export const traits: InputField = {
  label: 'Traits',
  description: 'Traits to associate with the user',
  type: 'object',
  required: false,
  default: { '@path': '$.traits' }
}

export const context_traits: InputField = {
  ...traits,
  description: 'Traits inherited from the context object',
  default: { '@path': '$.context.traits' }
}

/** Koala reads `sent_at` as UTC: `toUtcIso` converts it. */
export const sent_at: InputField = {
  label: 'Sent At',
  description: 'The timestamp of the event',
  type: 'string',
  format: 'date-time',
  required: true,
  default: { '@path': '$.timestamp' }
}

export const context: InputField = {
  label: 'Context properties',
  description: 'Context properties to send with the event',
  type: 'object',
  required: false,
  default: { '@path': '$.context' }
}

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

export const enable_batching: InputField = {
  label: 'Batch Data to Koala',
  description:
    'When enabled, Segment sends events in batches and the destination groups them into one Koala request per person (up to 30 entries each).',
  type: 'boolean',
  required: false,
  default: true
}

/** Segment's default batch size (action-destinations README, batching). */
export const MAX_BATCH_SIZE = 1000

export const batch_size: InputField = {
  label: 'Batch Size',
  description: `Maximum number of events Segment includes in one batch (1 to ${MAX_BATCH_SIZE}).`,
  type: 'number',
  required: false,
  default: MAX_BATCH_SIZE,
  minimum: 1,
  maximum: MAX_BATCH_SIZE
}

export const name: InputField = {
  label: 'Page Name',
  description: 'The name of the page, as the page call gives it.',
  type: 'string',
  required: false,
  default: { '@path': '$.name' }
}

export const page_properties: InputField = {
  label: 'Page properties',
  description: "The page's properties: url, path, title, referrer, search and any of the site's own keys.",
  type: 'object',
  required: false,
  default: { '@path': '$.properties' }
}

export const domain: InputField = {
  label: 'Company Domain',
  description:
    "The company's website domain, which Koala uses to recognise the company (for example acme.com; a full URL such as https://www.acme.com/about works too). Needed unless you map the Koala Account ID.",
  type: 'string',
  required: { conditions: [{ fieldKey: 'account_id', operator: 'is', value: undefined }] },
  default: firstExisting(['$.traits.domain', '$.traits.website'])
}

export const account_id: InputField = {
  label: 'Koala Account ID',
  description:
    "Koala's own id for the company, if you have it from Koala. Not Segment's groupId. When mapped, Koala finds the company by it instead of by its domain.",
  type: 'string',
  required: false
}

/** Source: Koala's docs, "Deduplicating Account Traits". */
export const group_id: InputField = {
  label: 'Group ID',
  description:
    'The Segment groupId. Koala uses it to keep apart the traits of several groups (for example workspaces or tenants) of one company.',
  type: 'string',
  required: false,
  default: { '@path': '$.groupId' }
}

export const company_traits: InputField = {
  label: 'Company traits',
  description: 'Traits of the company, such as name, industry, plan or employee count.',
  type: 'object',
  required: false,
  default: { '@path': '$.traits' }
}
