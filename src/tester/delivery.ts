// The tester's Event Delivery section: what the local Segment Tracking API (`npm start`) did with the events Segment's
// libraries sent it, as Segment's Event Delivery tab summarises them: counts per action and outcome, then the events
// with their outcome, attempts and the Koala request each became, a page at a time. Filters (outcome, action, text)
// and the open record live in the page's URL, so a view can be shared. Data from the server's `/tester/deliveries`,
// which takes the query parameters of the Tracking API's `GET /v1/deliveries`.

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

interface Page {
  counts: { total: Record<string, number>; byAction: Record<string, Record<string, number>> }
  pending: number
  events: Record_[]
  matched?: number
  nextCursor?: number
  dropped?: number
  maxRecords?: number
}

interface Answer {
  tracking: boolean
  url?: string
  data?: Page
  error?: { parameter: string; message: string }
}

/** The outcomes always offered; any other outcome a record carries is offered (and counted) as well. */
const OUTCOMES = ['delivered', 'skipped', 'filtered', 'failed', 'unsubscribed', 'failed on ingest']
/** The URL parameters this section owns. */
const PARAMS = ['outcome', 'action', 'q', 'cursor', 'record']
/** How often the section refreshes itself while events are pending. */
const PENDING_REFRESH_MS = 1000

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T

/** The outcomes and actions seen so far, for the filters' choices. */
const seenOutcomes = new Set<string>(OUTCOMES)
const seenActions = new Set<string>()
/** The cursors of the pages before this one, to go back to newer records. */
let newer: string[] = []
let timer: number | undefined
/** Counts the refreshes: an answer to an older one (a filter since changed) is not shown. */
let asked = 0

function outcomesOf(page: Page): string[] {
  for (const outcome of Object.keys(page.counts.total)) seenOutcomes.add(outcome)
  for (const counts of Object.values(page.counts.byAction))
    for (const outcome of Object.keys(counts)) seenOutcomes.add(outcome)
  return [...seenOutcomes]
}

function countsTable(page: Page): HTMLElement {
  const outcomes = outcomesOf(page)
  const actions = Object.keys(page.counts.byAction).sort()
  const head = el('tr', {}, el('th', {}, 'Action'), ...outcomes.map((outcome) => el('th', {}, outcome)))
  const rows = actions.map((action) =>
    el(
      'tr',
      {},
      el('th', {}, action === '(none)' ? '(no action)' : action),
      ...outcomes.map((outcome) => el('td', {}, String(page.counts.byAction[action][outcome] ?? 0)))
    )
  )
  const pending = page.pending
  return el(
    'div',
    {},
    el('table', { class: 'delivery-counts' }, el('thead', {}, head), el('tbody', {}, ...rows)),
    el(
      'p',
      { class: 'hint', id: 'delivery-pending' },
      `${pending} event${pending === 1 ? '' : 's'} waiting (buffered or to be retried)` +
        (pending > 0 ? ': this list refreshes itself every second until none is.' : '.')
    )
  )
}

/** Outcomes whose collapsed row shows why. */
const WHY_SHOWN = ['skipped', 'filtered', 'failed', 'failed on ingest']
/** Characters of a reason shown in a collapsed row. */
const SHORT_REASON = 160

function shortReason(record: Record_): string | undefined {
  const reason =
    record.reason && record.reason.length > SHORT_REASON ? `${record.reason.slice(0, SHORT_REASON)}…` : record.reason
  if (record.code && reason) return `${record.code}: ${reason}`
  return record.code ?? reason
}

/** What the JSON panel holds and its copy button copies: the event, the Koala request and Koala's answer. */
const recordJson = (record: Record_) =>
  pretty({ event: record.payload, request: record.request ?? null, response: record.response ?? null })

async function copy(record: Record_, button: HTMLElement, panel: HTMLElement): Promise<void> {
  const note = panel.querySelector('.copy-note') as HTMLElement
  try {
    await navigator.clipboard.writeText(recordJson(record))
    note.textContent = 'Copied.'
  } catch {
    // No clipboard (a page not in a secure context, a refused permission): select the text for Ctrl-C instead.
    const pre = panel.querySelector('pre.record-json') as HTMLElement
    getSelection()?.selectAllChildren(pre)
    note.textContent = 'The clipboard is not available here: the JSON is selected, press Ctrl-C (⌘-C) to copy it.'
  }
  button.focus()
}

function eventItem(record: Record_, open: boolean): HTMLElement {
  const what = record.type === 'track' && record.event ? `track "${record.event}"` : record.type ?? '(no type)'
  const where = record.action ? ` → ${record.action}` : ''
  const id = record.messageId ? ` · ${record.messageId}` : ''
  const line = el(
    'span',
    { class: 'delivery-line' },
    el('span', { class: `outcome outcome-${record.outcome.replace(/\s+/g, '-')}` }, record.outcome),
    ` ${what}${where}${id} · ${record.attempts} attempt${record.attempts === 1 ? '' : 's'} · `,
    // A time stays on one line: it never breaks at its hyphens.
    el('time', { class: 'delivery-time', datetime: record.receivedAt }, record.receivedAt)
  )
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
  const button = el('button', { type: 'button', class: 'copy-json' }, 'Copy JSON')
  const panel = el(
    'div',
    { class: 'record-panel' },
    el('h4', {}, 'As JSON: the event, the Koala request and its answer'),
    el('div', { class: 'buttons' }, button, el('span', { class: 'copy-note', role: 'status' })),
    el('pre', { class: 'record-json' }, recordJson(record))
  )
  button.addEventListener('click', () => void copy(record, button, panel))
  const item = el(
    'details',
    { class: 'delivery-event', 'data-outcome': record.outcome, 'data-id': String(record.id) },
    summary,
    ...parts,
    panel
  )
  if (open) item.setAttribute('open', '')
  // The open record goes into the URL, so a shared link opens it.
  item.addEventListener('toggle', () => {
    const shown = item.hasAttribute('open')
    // One record open at a time: the URL names one.
    if (shown) {
      for (const other of document.querySelectorAll('#delivery-events details[open]')) {
        if (other !== item) other.removeAttribute('open')
      }
    }
    setParams({ record: shown ? String(record.id) : undefined })
  })
  return item
}

/** The section's parameters from the page's URL. */
function params(): URLSearchParams {
  return new URLSearchParams(location.search)
}

/** Sets (or, for undefined, removes) parameters in the page's URL, leaving the others as they are. */
function setParams(values: Record<string, string | undefined>): void {
  const next = params()
  for (const [name, value] of Object.entries(values)) {
    if (value) next.set(name, value)
    else next.delete(name)
  }
  const search = next.toString()
  history.replaceState(null, '', `${location.pathname}${search ? `?${search}` : ''}${location.hash}`)
}

function fillSelect(select: HTMLSelectElement, values: string[], anyLabel: string, chosen: string): void {
  const options = [...new Set([...values, ...(chosen ? [chosen] : [])])]
  select.replaceChildren(
    el('option', { value: '' }, anyLabel),
    ...options.map((value) => el('option', { value }, value === '(none)' ? '(no action)' : value))
  )
  select.value = chosen
}

/** The record a shared link names, when it is not on the page shown (`cursor` one above it, one record). */
async function fetchRecord(id: string): Promise<Record_ | undefined> {
  const answer = (await (await fetch(`/tester/deliveries?cursor=${Number(id) + 1}&limit=1`)).json()) as Answer
  const record = answer.data?.events[0]
  return record && String(record.id) === id ? record : undefined
}

async function refresh(): Promise<void> {
  window.clearTimeout(timer)
  timer = undefined
  const status = $('delivery-status')
  const counts = $('delivery-counts')
  const events = $('delivery-events')
  const query = params()
  const ask = new URLSearchParams()
  for (const name of ['outcome', 'action', 'q', 'cursor']) {
    const value = query.get(name)
    if (value) ask.set(name, value)
  }
  const ticket = ++asked
  let answer: Answer
  try {
    answer = (await (await fetch(`/tester/deliveries?${ask.toString()}`)).json()) as Answer
    if (ticket !== asked) return
  } catch (problem) {
    status.textContent = `Could not reach the local server (${(problem as Error).message}).`
    return
  }
  if (answer.error) {
    status.textContent = `The filter is not valid: ${answer.error.message}`
    return
  }
  if (!answer.tracking || !answer.data) {
    status.textContent = 'No local Segment Tracking API runs beside this server: start both with npm start.'
    counts.replaceChildren()
    events.replaceChildren()
    return
  }
  const { data } = answer
  for (const action of Object.keys(data.counts.byAction)) if (action !== '(none)') seenActions.add(action)
  fillSelect($('delivery-outcome'), outcomesOf(data), 'any outcome', query.get('outcome') ?? '')
  fillSelect($('delivery-action'), [...seenActions].sort(), 'any action', query.get('action') ?? '')
  const filtered = ['outcome', 'action', 'q'].some((name) => query.get(name))
  const total = Object.values(data.counts.total).reduce((sum, count) => sum + count, 0) + (filtered ? data.pending : 0)
  const dropped = data.dropped
    ? ` ${data.dropped} older records were dropped (at most ${data.maxRecords ?? '?'} are kept).`
    : ''
  status.textContent = filtered
    ? `${data.matched ?? total} event${(data.matched ?? total) === 1 ? '' : 's'} match the filter; ${
        data.events.length
      } below (newest first).${dropped}`
    : `Point Segment's libraries at ${answer.url ?? 'the Tracking API'}: ${total} event${total === 1 ? '' : 's'} ` +
      `so far, the last ${data.events.length} below (newest first).${dropped}`
  counts.replaceChildren(countsTable(data))
  const record = query.get('record')
  const items = data.events.map((item) => eventItem(item, String(item.id) === record))
  if (record && !data.events.some((item) => String(item.id) === record)) {
    const shared = await fetchRecord(record)
    if (ticket !== asked) return
    if (shared) items.unshift(eventItem(shared, true))
  }
  events.replaceChildren(...items)
  const next = data.nextCursor
  $<HTMLButtonElement>('delivery-older').disabled = next === undefined
  $<HTMLButtonElement>('delivery-older').dataset.cursor = next === undefined ? '' : String(next)
  $<HTMLButtonElement>('delivery-newer').disabled = !query.get('cursor')
  $('delivery-page').textContent = data.events.length
    ? `records ${data.events[0].id} to ${data.events[data.events.length - 1].id}`
    : 'no records'
  if (data.pending > 0) timer = window.setTimeout(() => void refresh(), PENDING_REFRESH_MS)
}

/** A filter changed: back to the newest page. */
function filterChanged(name: string, value: string): void {
  newer = []
  setParams({ [name]: value.trim() || undefined, cursor: undefined, record: undefined })
  void refresh()
}

function start(): void {
  const query = params()
  $<HTMLInputElement>('delivery-text').value = query.get('q') ?? ''
  $('delivery-outcome').addEventListener('change', (event) =>
    filterChanged('outcome', (event.target as HTMLSelectElement).value)
  )
  $('delivery-action').addEventListener('change', (event) =>
    filterChanged('action', (event.target as HTMLSelectElement).value)
  )
  let typing: number | undefined
  $('delivery-text').addEventListener('input', (event) => {
    window.clearTimeout(typing)
    typing = window.setTimeout(() => filterChanged('q', (event.target as HTMLInputElement).value), 250)
  })
  $('delivery-clear-filters').addEventListener('click', () => {
    $<HTMLInputElement>('delivery-text').value = ''
    newer = []
    setParams(Object.fromEntries(PARAMS.map((name) => [name, undefined])))
    void refresh()
  })
  $('delivery-older').addEventListener('click', () => {
    newer.push(params().get('cursor') ?? '')
    setParams({ cursor: $<HTMLButtonElement>('delivery-older').dataset.cursor, record: undefined })
    void refresh()
  })
  $('delivery-newer').addEventListener('click', () => {
    setParams({ cursor: newer.pop() || undefined, record: undefined })
    void refresh()
  })
  $('refresh-delivery').addEventListener('click', () => void refresh())
  // A shared link to a filtered view or a record opens on this section.
  if (PARAMS.some((name) => query.get(name))) $('delivery').scrollIntoView()
  void refresh()
}

start()
