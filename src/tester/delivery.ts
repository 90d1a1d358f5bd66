// The tester's Event Delivery section: what the local Segment Tracking API (`npm start`) did with the events Segment's
// libraries sent it, as Segment's Event Delivery tab summarises them: counts per action and outcome, then the last
// events with their outcome, attempts and the Koala request each became. Data from the server's
// `/tester/deliveries`, which relays the Tracking API's `GET /v1/deliveries`.

import { el, pretty } from './dom.js'

type Json = Record<string, unknown>

interface Record_ {
  id: number
  messageId?: string
  type?: string
  event?: string
  action?: string
  outcome: string
  reason?: string
  code?: string
  attempts: number
  receivedAt: string
  request?: { url: string; body: unknown }
  response?: { status: number; body: unknown }
  payload: Json
}

interface Answer {
  tracking: boolean
  url?: string
  data?: {
    counts: { total: Record<string, number>; byAction: Record<string, Record<string, number>> }
    pending: number
    events: Record_[]
  }
}

const OUTCOMES = ['delivered', 'skipped', 'failed', 'unsubscribed', 'failed on ingest']

function countsTable(byAction: Record<string, Record<string, number>>, pending: number): HTMLElement {
  const actions = Object.keys(byAction).sort()
  const head = el('tr', {}, el('th', {}, 'Action'), ...OUTCOMES.map((outcome) => el('th', {}, outcome)))
  const rows = actions.map((action) =>
    el(
      'tr',
      {},
      el('th', {}, action === '(none)' ? '(no action)' : action),
      ...OUTCOMES.map((outcome) => el('td', {}, String(byAction[action][outcome] ?? 0)))
    )
  )
  return el(
    'div',
    {},
    el('table', { class: 'delivery-counts' }, el('thead', {}, head), el('tbody', {}, ...rows)),
    el('p', { class: 'hint' }, `${pending} event${pending === 1 ? '' : 's'} waiting (buffered or to be retried).`)
  )
}

/** Outcomes whose collapsed row shows why. */
const WHY_SHOWN = ['skipped', 'failed', 'failed on ingest']
/** Characters of a reason shown in a collapsed row. */
const SHORT_REASON = 160

function shortReason(record: Record_): string | undefined {
  const reason =
    record.reason && record.reason.length > SHORT_REASON ? `${record.reason.slice(0, SHORT_REASON)}…` : record.reason
  if (record.code && reason) return `${record.code}: ${reason}`
  return record.code ?? reason
}

function eventItem(record: Record_): HTMLElement {
  const what = record.type === 'track' && record.event ? `track "${record.event}"` : record.type ?? '(no type)'
  const where = record.action ? ` → ${record.action}` : ''
  const id = record.messageId ? ` · ${record.messageId}` : ''
  const line = el(
    'span',
    { class: 'delivery-line' },
    el('span', { class: `outcome outcome-${record.outcome.replace(/\s+/g, '-')}` }, record.outcome),
    ` ${what}${where}${id} · ${record.attempts} attempt${record.attempts === 1 ? '' : 's'} · ${record.receivedAt}`
  )
  // Why it was not delivered, in the collapsed row: the code and the reason's first words.
  const why = WHY_SHOWN.includes(record.outcome) ? shortReason(record) : undefined
  const summary = el('summary', {}, line, ...(why ? [el('span', { class: 'delivery-summary-reason' }, why)] : []))
  const parts: HTMLElement[] = []
  if (record.reason)
    parts.push(el('p', { class: 'delivery-reason' }, record.code ? `${record.code}: ${record.reason}` : record.reason))
  if (record.request) {
    parts.push(el('h4', {}, `Request to Koala: POST ${record.request.url}`), el('pre', {}, pretty(record.request.body)))
  }
  if (record.response) {
    parts.push(el('h4', {}, `Koala's answer: ${record.response.status}`), el('pre', {}, pretty(record.response.body)))
  }
  parts.push(el('h4', {}, 'The event, as the destination received it'), el('pre', {}, pretty(record.payload)))
  return el('details', { class: 'delivery-event', 'data-outcome': record.outcome }, summary, ...parts)
}

async function refresh(): Promise<void> {
  const status = document.getElementById('delivery-status') as HTMLElement
  const counts = document.getElementById('delivery-counts') as HTMLElement
  const events = document.getElementById('delivery-events') as HTMLElement
  let answer: Answer
  try {
    answer = (await (await fetch('/tester/deliveries')).json()) as Answer
  } catch (problem) {
    status.textContent = `Could not reach the local server (${(problem as Error).message}).`
    return
  }
  if (!answer.tracking || !answer.data) {
    status.textContent = 'No local Segment Tracking API runs beside this server: start both with npm start.'
    counts.replaceChildren()
    events.replaceChildren()
    return
  }
  const { data } = answer
  const total = Object.values(data.counts.total).reduce((sum, count) => sum + count, 0)
  status.textContent =
    `Point Segment's libraries at ${answer.url ?? 'the Tracking API'}: ${total} event${total === 1 ? '' : 's'} ` +
    `so far, the last ${data.events.length} below (newest first).`
  counts.replaceChildren(countsTable(data.counts.byAction, data.pending))
  events.replaceChildren(...data.events.map(eventItem))
}

document.getElementById('refresh-delivery')?.addEventListener('click', () => void refresh())
void refresh()
