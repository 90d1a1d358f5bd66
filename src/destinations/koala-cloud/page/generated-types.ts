// Generated file. DO NOT MODIFY IT BY HAND.

export interface Payload {
  /**
   * The email to associate with the user, trimmed and lowercased; only a bare address (name@domain.tld) counts. When it is empty or not an address, the `email` inside the mapped Traits is used.
   */
  email?: string
  /**
   * Koala's visitor id, set by the Koala pixel in the `ko_id` cookie. Not Segment's anonymousId. Koala needs this or an email to tie the event to a person.
   */
  profile_id?: string
  /**
   * Traits inherited from the context object
   */
  traits?: {
    [k: string]: unknown
  }
  /**
   * The timestamp of the event
   */
  sent_at: string
  /**
   * Context properties to send with the event
   */
  context?: {
    [k: string]: unknown
  }
  /**
   * The device IP collected from the context
   */
  device_ip?: string
  /**
   * The Segment messageId
   */
  message_id: string
  /**
   * The name of the page, as the page call gives it.
   */
  name?: string
  /**
   * The page's properties: url, path, title, referrer, search and any of the site's own keys.
   */
  properties?: {
    [k: string]: unknown
  }
  /**
   * When enabled, Segment sends events in batches and the destination groups them into one Koala request per person (up to 30 entries each).
   */
  enable_batching?: boolean
  /**
   * Maximum number of events Segment includes in one batch (1 to 1000).
   */
  batch_size?: number
}
