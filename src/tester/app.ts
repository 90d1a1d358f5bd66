import { distance, misspeltIn } from './directives.js'
import { el, pretty } from './dom.js'
import { parseJson } from './json-error.js'
import { withCodeSpans } from './markdown.js'
import { refreshSandbox } from './sandbox-panel.js'

// The local Actions Tester. Everything it shows comes from the server's routes: /manifest for the destination, the
// action routes for a run, /tester/* for the examples and the sandbox. It holds none of the destination's logic.

interface Field {
  label?: string
  description?: string
  type: string
  required?: boolean
  default?: unknown
  format?: string
}

interface Manifest {
  name: string
  description?: string
  authentication?: { fields: Record<string, Field> }
  actions: Record<string, { title: string; description: string; fields: Record<string, Field> }>
}

interface Example {
  file: string
  body: { payload: unknown; settings?: Record<string, unknown> }
}

type Json = Record<string, unknown>

const SANDBOX_KEY = 'pk_example_sandbox_key'

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T

/** A value as the page shows it: text as it is, anything else as JSON. */
const show = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value) ?? '')

/** Text that holds JSON, pretty-printed; other text as it is. */
function prettyText(text: string): string {
  try {
    return pretty(JSON.parse(text))
  } catch {
    return text
  }
}

let manifest: Manifest
let examples: Example[] = []
/** The user's mapping edits, per action, then per field: the text typed, kept while another action is shown. */
const edits = new Map<string, Map<string, string>>()

const currentAction = () => $<HTMLSelectElement>('action').value

function renderSettings(): void {
  const fields = manifest.authentication?.fields ?? {}
  $('settings').replaceChildren(
    ...Object.entries(fields).flatMap(([key, field]) => {
      const input = el('input', {
        id: `setting-${key}`,
        name: key,
        type: field.type === 'password' ? 'password' : 'text',
        autocomplete: 'off'
      })
      ;(input as HTMLInputElement).value = key === 'public_key' ? SANDBOX_KEY : ''
      return [
        el('label', { for: `setting-${key}` }, field.label ?? key),
        input,
        el('p', { class: 'hint' }, ...withCodeSpans(field.description ?? ''))
      ]
    })
  )
}

/** Shows the chosen action's fields, each with the user's edit of it or else its default mapping. */
function renderFields(): void {
  const action = manifest.actions[currentAction()]
  const edited = edits.get(currentAction())
  $('action-description').replaceChildren(...withCodeSpans(action.description))
  $('fields').replaceChildren(
    ...Object.entries(action.fields).map(([key, field]) => {
      const text = edited?.get(key) ?? (field.default === undefined ? '' : JSON.stringify(field.default))
      // A textarea, so a long default ({"@if": ...}) wraps and is read whole.
      const input = el('textarea', {
        id: `field-${key}`,
        class: 'mapping',
        'data-key': key,
        rows: String(Math.min(6, Math.max(1, Math.ceil(text.length / 70)))),
        spellcheck: 'false',
        'aria-describedby': `field-${key}-help field-${key}-error field-${key}-directive`
      })
      ;(input as HTMLTextAreaElement).value = text
      const type = field.format ? `${field.type} (${field.format})` : field.type
      return el(
        'div',
        { class: 'field' },
        el(
          'label',
          { for: `field-${key}` },
          field.label ?? key,
          field.required ? el('span', { class: 'required' }, ' (required)') : ''
        ),
        el(
          'p',
          { class: 'meta', id: `field-${key}-help` },
          `${key} · ${type} · `,
          ...withCodeSpans(field.description ?? '')
        ),
        input,
        el('p', { class: 'error', id: `field-${key}-error`, role: 'alert' }),
        directiveNote(key, text)
      )
    })
  )
  for (const box of Array.from(document.querySelectorAll<HTMLTextAreaElement>('#fields textarea'))) fitHeight(box)
}

/** Grows a mapping's box to its text, so a long mapping is read whole, without scrolling inside the box. */
function fitHeight(box: HTMLTextAreaElement): void {
  box.style.height = 'auto'
  box.style.height = `${box.scrollHeight + 2}px`
}

/** The warning under a field whose mapping has a misspelt directive (empty when it has none). */
function directiveNote(key: string, text: string): HTMLElement {
  const note = el('p', { class: 'directive-warning', id: `field-${key}-directive`, role: 'status' })
  note.textContent = misspeltIn(text).join(' ')
  return note
}

function chooseExample(file: string): void {
  const example = examples.find((item) => item.file === file)
  if (!example) return
  $<HTMLTextAreaElement>('event').value = pretty(example.body.payload)
  const first = (Array.isArray(example.body.payload) ? example.body.payload[0] : example.body.payload) as Json
  if (
    typeof first?.type === 'string' &&
    manifest.actions[first.type] &&
    $<HTMLSelectElement>('action').value !== first.type
  ) {
    $<HTMLSelectElement>('action').value = first.type
    $('mapping-json-warning').replaceChildren()
    renderFields()
  }
}

/** A JSONPath as a whole mapping value, e.g. `$.traits.email` or `$['first name']`: read as `{"@path": ...}`. */
const BARE_PATH = /^\$(?:$|[.[])/

/**
 * The mapping as the fields give it: JSON, or a bare path read as its `@path` directive; undefined when a field is
 * neither (its error is then shown beside it).
 */
function readMapping(): Json | undefined {
  const mapping: Json = {}
  let valid = true
  for (const input of Array.from(document.querySelectorAll<HTMLTextAreaElement>('#fields textarea'))) {
    const key = input.dataset.key as string
    const error = $(`field-${key}-error`)
    error.textContent = ''
    input.removeAttribute('aria-invalid')
    const text = input.value.trim()
    if (text === '') continue
    // A bare path is what users type first; it can only mean the directive (a text literal is JSON: "$.x").
    if (BARE_PATH.test(text)) {
      mapping[key] = { '@path': text }
      continue
    }
    try {
      mapping[key] = parseJson(input.value, `The mapping of ${key}`)
    } catch (problem) {
      error.textContent =
        `${(problem as Error).message.replace(
          /\.$/,
          ''
        )}. A path is written $.traits.email or {"@path": "$.traits.email"}, a text ` +
        'in double quotes ("Signed Up").'
      input.setAttribute('aria-invalid', 'true')
      if (valid) input.focus()
      valid = false
    }
  }
  return valid ? mapping : undefined
}

function readSettings(): Json {
  const settings: Json = {}
  for (const input of Array.from(document.querySelectorAll<HTMLInputElement>('#settings input')))
    settings[input.name] = input.value
  return settings
}

function renderExchange(item: Json): HTMLElement {
  const request = item.request as Json
  const response = item.response as Json
  return el(
    'div',
    { class: 'exchange' },
    el('h3', {}, `${String(request.method)} ${String(request.url)}`),
    el('p', { class: 'meta' }, 'Headers'),
    el('pre', { class: 'request-headers' }, pretty(request.headers)),
    el('p', { class: 'meta' }, 'Body'),
    el('pre', { class: 'request-body' }, prettyText(show(request.body ?? ''))),
    el(
      'p',
      { class: 'response-status' },
      `Koala answered ${String(response.statusCode)} ${show(response.statusMessage ?? '')}`
    ),
    el('pre', {}, pretty(response.body))
  )
}

/** What became of one event: the words the summary counts and the table shows. */
type Outcome = 'delivered' | 'skipped' | 'refused' | 'failed'

/** 429 and 5xx are the failures Segment retries; any other 4xx refuses the event for good. */
const outcomeOf = (status: number, skipped: boolean): Outcome =>
  status >= 200 && status < 300
    ? skipped
      ? 'skipped'
      : 'delivered'
    : status === 429 || status >= 500
    ? 'failed'
    : 'refused'

/** A skip message without its leading "Skipped:", which the outcome column already says. */
const skipReason = (message: string) => {
  const reason = message.replace(/^Skipped:?\s*/, '')
  return reason.charAt(0).toUpperCase() + reason.slice(1)
}

/** "3 delivered, 1 skipped, 0 refused", and the retried failures only when there are some. */
function countsText(outcomes: Outcome[]): string {
  const count = (outcome: Outcome) => outcomes.filter((item) => item === outcome).length
  const failed = count('failed')
  return (
    `${count('delivered')} delivered, ${count('skipped')} skipped, ${count('refused')} refused` +
    (failed ? `, ${failed} failed (Segment retries these)` : '')
  )
}

/** The batch's table, one row per event in payload order, in a box of its own height so a long batch scrolls. */
function renderMultistatus(rows: Json[], outcomes: Outcome[], events: unknown[]): HTMLElement {
  const details = (row: Json, outcome: Outcome) => {
    if (outcome === 'skipped') return skipReason(String(row.body))
    if (outcome === 'refused' || outcome === 'failed') return show(row.errormessage ?? '')
    return ''
  }
  return el(
    'div',
    { class: 'table-box' },
    el(
      'table',
      { id: 'multistatus' },
      el('caption', {}, 'One row per event of the batch, in the order sent'),
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ...['#', 'messageId', 'status', 'outcome', 'details'].map((name) => el('th', { scope: 'col' }, name))
        )
      ),
      el(
        'tbody',
        {},
        ...rows.map((row, index) =>
          el(
            'tr',
            { class: `multistatus-row ${outcomes[index]}` },
            el('td', { class: 'index' }, String(index + 1)),
            el('td', { class: 'message-id' }, show((events[index] as Json | undefined)?.messageId ?? '')),
            el('td', { class: 'status' }, String(row.status)),
            el('td', { class: 'outcome' }, outcomes[index]),
            el('td', { class: 'details' }, details(row, outcomes[index]))
          )
        )
      )
    )
  )
}

function renderError(item: Json, status: number): HTMLElement {
  const fields = item?.fields as Record<string, string> | undefined
  return el(
    'div',
    { class: 'exchange error-output' },
    el('p', { class: 'error' }, `${show(item?.statusCode ?? status)}: ${show(item?.message ?? pretty(item))}`),
    ...Object.entries(fields ?? {}).map(([field, message]) => el('p', { class: 'error' }, `${field}: ${message}`))
  )
}

/**
 * The answer of the action's route: first one sentence saying what became of the event or of each event of the
 * batch (the route answers 200 whatever became of them), then the errors, the batch's table, and each request made.
 *
 * @param status the HTTP status of the route's answer: not 200 when the server refused the request itself.
 */
function renderAnswer(answer: unknown, status: number, payload: unknown): void {
  const items = Array.isArray(answer) ? (answer as Json[]) : [answer as Json]
  const exchanges = items.filter((item) => item?.request)
  const batch = items.find((item) => item?.multistatus)
  const output = items.find((item) => item && 'output' in item)
  const errors = items.filter((item) => !item?.request && !item?.multistatus && !(item && 'output' in item))
  let summary: string
  const parts: HTMLElement[] = []
  if (status !== 200) {
    summary = `The local server refused the request (${status}): nothing was sent to Koala.`
  } else if (batch) {
    const rows = batch.multistatus as Json[]
    const outcomes = rows.map((row) =>
      outcomeOf(Number(row.status), typeof row.body === 'string' && row.body.startsWith('Skipped'))
    )
    summary = `${rows.length} ${rows.length === 1 ? 'event' : 'events'}: ${countsText(outcomes)}.`
    parts.push(renderMultistatus(rows, outcomes, Array.isArray(payload) ? payload : []))
  } else if (errors.length) {
    const code = Number(errors[0].statusCode)
    summary =
      outcomeOf(code, false) === 'failed'
        ? `The event failed (${code}): Segment would retry it.`
        : `The event was refused (${code}): Koala did not get it.`
  } else if (output) {
    const value = output.output as Json | null
    summary = value?.skipped ? 'The event was skipped: no request was made.' : 'The action made no request.'
  } else {
    const last = exchanges[exchanges.length - 1]?.response as Json | undefined
    summary = `The event was delivered: Koala answered ${String(last?.statusCode)}.`
  }
  parts.unshift(...errors.map((item) => renderError(item, status)))
  if (output) {
    const value = output.output as Json | null
    parts.push(
      value?.skipped && typeof value.message === 'string'
        ? el('p', { class: 'skip-reason' }, skipReason(value.message))
        : el(
            'div',
            { class: 'exchange' },
            el('h3', {}, 'No request: the action returned'),
            el('pre', {}, pretty(value))
          )
    )
  }
  $('output').replaceChildren(
    el('p', { id: 'summary' }, summary),
    ...parts,
    ...exchanges.map((item) => renderExchange(item))
  )
}

/** Replaces the previous answer, so what is on screen is never the answer to another event or mapping. */
function showNotSent(why: string): void {
  $('output').replaceChildren(el('p', { id: 'summary', class: 'not-sent' }, `Nothing was sent: ${why}`))
}

async function run(): Promise<void> {
  const error = $('event-error')
  const editor = $<HTMLTextAreaElement>('event')
  error.textContent = ''
  editor.removeAttribute('aria-invalid')
  let payload: unknown
  try {
    payload = parseJson(editor.value, 'The event')
  } catch (problem) {
    error.textContent = (problem as Error).message
    editor.setAttribute('aria-invalid', 'true')
    showNotSent('the event is not valid JSON (see under it).')
    return
  }
  const mapping = readMapping()
  if (!mapping) {
    const invalid = Array.from(document.querySelectorAll<HTMLElement>('#fields textarea[aria-invalid="true"]'))
    const keys = invalid.map((input) => input.dataset.key as string).join(', ')
    showNotSent(`the mapping of ${keys} is not valid (see beside the field).`)
    return
  }
  const action = currentAction()
  $('output').replaceChildren(el('p', {}, 'Running…'))
  try {
    const response = await fetch(`/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payload, settings: readSettings(), mapping })
    })
    renderAnswer(await response.json(), response.status, payload)
  } catch (problem) {
    $('output').replaceChildren(
      el('p', { class: 'error' }, `Could not reach the local server (${(problem as Error).message}). Is it running?`)
    )
    return
  }
  await refreshSandbox()
}

/**
 * Applies a pasted mapping (a JSON object, field key -> mapping value) to the fields of the chosen action, as edits.
 * A key that is no field of the action is not applied, and a warning names it, the field it most likely means and
 * what that field keeps (its current mapping: the framework ignores unknown keys, so a typo silently leaves the
 * default in place).
 */
function applyPastedMapping(): void {
  const error = $('mapping-json-error')
  const warning = $('mapping-json-warning')
  const editor = $<HTMLTextAreaElement>('mapping-json')
  error.textContent = ''
  warning.replaceChildren()
  editor.removeAttribute('aria-invalid')
  let pasted: unknown
  try {
    pasted = parseJson(editor.value, 'The mapping')
    if (pasted === null || typeof pasted !== 'object' || Array.isArray(pasted)) {
      throw new Error('The mapping is not a JSON object such as {"email": {"@path": "$.traits.email"}}.')
    }
  } catch (problem) {
    error.textContent = (problem as Error).message
    editor.setAttribute('aria-invalid', 'true')
    return
  }
  const action = manifest.actions[currentAction()]
  const keys = Object.keys(action.fields)
  const edited = edits.get(currentAction()) ?? new Map<string, string>()
  const unknown: string[] = []
  for (const [key, value] of Object.entries(pasted as Json)) {
    if (key in action.fields) edited.set(key, JSON.stringify(value))
    else unknown.push(key)
  }
  edits.set(currentAction(), edited)
  renderFields()
  warning.replaceChildren(
    ...unknown.map((key) => {
      const near = keys.filter((field) => distance(key.toLowerCase(), field.toLowerCase()) <= 2)
      const guess = near.length ? ` Did you mean ${near.join(' or ')}?` : ` Its fields: ${keys.join(', ')}.`
      const kept = near.length
        ? ` ${near.map((field) => action.fields[field].label ?? field).join(' and ')} keeps its mapping.`
        : ''
      return el('p', { class: 'warning' }, `${key} is no field of ${action.title}: it was not applied.${kept}${guess}`)
    })
  )
}

async function start(): Promise<void> {
  manifest = (await (await fetch('/manifest')).json()) as Manifest
  examples = (await (await fetch('/tester/examples')).json()) as Example[]
  $('destination-description').textContent = manifest.description ?? ''
  renderSettings()
  const actionSelect = $<HTMLSelectElement>('action')
  actionSelect.replaceChildren(
    ...Object.entries(manifest.actions).map(([key, action]) => el('option', { value: key }, action.title))
  )
  const exampleSelect = $<HTMLSelectElement>('example')
  exampleSelect.replaceChildren(...examples.map((example) => el('option', { value: example.file }, example.file)))
  renderFields()
  const first = examples.find((example) => example.file === `${actionSelect.value}.json`) ?? examples[0]
  if (first) {
    exampleSelect.value = first.file
    chooseExample(first.file)
  }
  actionSelect.addEventListener('change', () => {
    $('mapping-json-warning').replaceChildren()
    renderFields()
  })
  // Every edit is kept for its action, so switching actions and back shows it again.
  $('fields').addEventListener('input', (event) => {
    const input = event.target as HTMLTextAreaElement
    const key = input.dataset.key
    if (!key) return
    $(`field-${key}-directive`).textContent = misspeltIn(input.value).join(' ')
    fitHeight(input)
    const edited = edits.get(currentAction()) ?? new Map<string, string>()
    edits.set(currentAction(), edited.set(key, input.value))
  })
  $('apply-mapping').addEventListener('click', applyPastedMapping)
  // A misspelt directive in the pasted mapping is named as soon as it is there, before it is applied or run.
  $('mapping-json').addEventListener('input', () => {
    $('mapping-json-directives').textContent = misspeltIn($<HTMLTextAreaElement>('mapping-json').value).join(' ')
  })
  exampleSelect.addEventListener('change', () => chooseExample(exampleSelect.value))
  // Enter in the key field must not submit (and reload) the page.
  $('settings').addEventListener('submit', (event) => event.preventDefault())
  $('reset-mapping').addEventListener('click', () => {
    edits.delete(currentAction())
    $('mapping-json-warning').replaceChildren()
    renderFields()
    $('event-error').textContent = ''
  })
  $('run').addEventListener('click', () => void run())
  $('refresh-sandbox').addEventListener('click', () => void refreshSandbox())
  $('clear-sandbox').addEventListener(
    'click',
    () => void fetch('/tester/sandbox/received', { method: 'DELETE' }).then(refreshSandbox)
  )
  await refreshSandbox()
  document.body.dataset.ready = 'true'
}

void start()
