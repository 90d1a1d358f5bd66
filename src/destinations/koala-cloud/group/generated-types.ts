// Generated file. DO NOT MODIFY IT BY HAND.

export interface Payload {
  /**
   * The company's website domain, which Koala uses to recognise the company (for example acme.com; a full URL such as https://www.acme.com/about works too). Needed unless you map the Koala Account ID.
   */
  domain?: string
  /**
   * Koala's own id for the company, if you have it from Koala. Not Segment's groupId. When mapped, Koala finds the company by it instead of by its domain.
   */
  account_id?: string
  /**
   * The Segment groupId. Koala uses it to keep apart the traits of several groups (for example workspaces or tenants) of one company.
   */
  group_id?: string
  /**
   * Traits of the company, such as name, industry, plan or employee count.
   */
  traits?: {
    [k: string]: unknown
  }
  /**
   * The timestamp of the event
   */
  sent_at: string
  /**
   * The Segment messageId
   */
  message_id: string
  /**
   * When enabled, Segment sends events in batches and the destination groups them into one Koala request per company (up to 30 entries each).
   */
  enable_batching?: boolean
  /**
   * Maximum number of events Segment includes in one batch (1 to 1000).
   */
  batch_size?: number
}
