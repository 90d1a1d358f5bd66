// Generated file. DO NOT MODIFY IT BY HAND.

export interface Payload {
  /**
   * The email to associate with the user, trimmed and lowercased; only a bare address (name@domain.tld) counts. When it is empty or not an address, the `email` inside the mapped Event properties is used, else the one inside the mapped Traits.
   */
  email?: string
  /**
   * Koala's visitor id, set by the Koala pixel in the `ko_id` cookie. Not Segment's anonymousId. Koala needs this or an email to tie the event to a person.
   */
  profile_id?: string
  /**
   * The event name
   */
  event: string
  /**
   * Properties to send with the event
   */
  properties?: {
    [k: string]: unknown
  }
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
   * The device IP collected from the context. When the mapped Event properties hold an `ip` that is an IP address (IPv4 or IPv6), that one is sent instead: server-side libraries often put the server's own address in context.ip.
   */
  device_ip?: string
  /**
   * The Segment messageId
   */
  message_id: string
  /**
   * When enabled, Segment sends events in batches and the destination groups them into one Koala request per person (up to 30 entries each).
   */
  enable_batching?: boolean
  /**
   * Maximum number of events Segment includes in one batch (1 to 1000).
   */
  batch_size?: number
}
