import type { DeliveryRecord } from './pipeline'

/**
 * The `[tracking]` lines the terminal shows besides one per request: why a request's events were dropped at ingest,
 * and why an event is retried. A line stays readable for a batch of thousands: it names the first
 * {@link IDS_SHOWN} messageIds and says how many more there are (`GET /v1/deliveries` has them all).
 */

/** messageIds named in one line. */
export const IDS_SHOWN = 20

const thousands = (count: number) => count.toLocaleString('en-US')
const events = (count: number) => `${thousands(count)} ${count === 1 ? 'event' : 'events'}`

/**
 * `(messageId: m-1)`, `(messageIds: m-1, m-2 and 3 more)`, or '' for none; an event without one is `(none)`.
 */
export function idList(ids: (string | undefined)[]): string {
  if (ids.length === 0) return ''
  const shown = ids.slice(0, IDS_SHOWN).map((id) => id ?? '(none)')
  const more = ids.length - shown.length
  return `(${ids.length === 1 ? 'messageId' : 'messageIds'}: ${shown.join(', ')}${
    more > 0 ? ` and ${thousands(more)} more` : ''
  })`
}

/** Groups items by a key, in the order each key first appears. */
function groupBy<T>(items: T[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const name = key(item)
    const group = groups.get(name)
    if (group) group.push(item)
    else groups.set(name, [item])
  }
  return [...groups.values()]
}

/**
 * One line per reason for the events of one request that Segment answered 200 for and then dropped at ingest (an
 * unknown write key, over 2,500 events, no userId or anonymousId, a repeated messageId, ...):
 * `[tracking] POST /v1/batch: 2 events dropped at ingest, invalid_write_key: Unknown write key: ... (messageIds: a, b)`.
 *
 * @param records the records of those events, as {@link Pipeline.refuseAtIngest} made them.
 */
export function droppedLines(path: string, records: DeliveryRecord[]): string[] {
  return groupBy(records, (record) => `${record.code ?? ''}\n${record.reason ?? ''}`).map((group) => {
    const { code, reason } = group[0]
    return (
      `[tracking] POST ${path}: ${events(group.length)} dropped at ingest, ${code ?? 'no code'}: ${reason ?? ''} ` +
      idList(group.map((record) => record.messageId))
    )
  })
}

/** An attempt that failed and will be retried. */
export interface RetryNote {
  messageId?: string
  /** The attempt that failed, from 1. */
  attempt: number
  status: number
  code?: string
  reason: string
  /** Milliseconds until the next attempt. */
  wait: number
}

/**
 * One line per cause of the retries of one delivery (one event, or one batch's events that share it):
 * `[tracking] identify: attempt 1 failed with 503 (RETRYABLE_ERROR), retrying in 120 ms (messageId: m-1): Koala ...`.
 */
export function retryLines(action: string, notes: RetryNote[]): string[] {
  return groupBy(notes, (note) => `${note.attempt}\n${note.status}\n${note.code ?? ''}\n${note.reason}`).map(
    (group) => {
      const { attempt, status, code, reason } = group[0]
      const waits = group.map((note) => Math.round(note.wait))
      const [low, high] = [Math.min(...waits), Math.max(...waits)]
      const wait = low === high ? `${low} ms` : `${low}–${high} ms`
      const whose = group.length === 1 ? '' : ` of ${events(group.length)}`
      return (
        `[tracking] ${action}: attempt ${attempt}${whose} failed with ${status}${code ? ` (${code})` : ''}, ` +
        `retrying in ${wait} ${idList(group.map((note) => note.messageId))}: ${reason}`
      )
    }
  )
}
