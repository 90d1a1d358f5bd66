import { parseJson } from './json-error.js'

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

/** An element with attributes and children (text children become text nodes: nothing is parsed as HTML). */
function el(tag: string, attrs: Record<string, string> = {}, ...children: (Node | string)[]): HTMLElement {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value)
  node.append(...children)
  return node
}

const pretty = (value: unknown) => JSON.stringify(value, null, 2)

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
        el('p', { class: 'hint' }, field.description ?? '')
      ]
    })
  )
}

function renderFields(): void {
  const action = manifest.actions[$<HTMLSelectElement>('action').value]
  $('action-description').textContent = action.description
  $('fields').replaceChildren(
    ...Object.entries(action.fields).map(([key, field]) => {
      const input = el('input', {
        id: `field-${key}`,
        'data-key': key,
        'aria-describedby': `field-${key}-help field-${key}-error`
      })
      ;(input as HTMLInputElement).value = field.default === undefined ? '' : JSON.stringify(field.default)
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
        el('p', { class: 'meta', id: `field-${key}-help` }, `${key} · ${type} · ${field.description ?? ''}`),
        input,
        el('p', { class: 'error', id: `field-${key}-error`, role: 'alert' })
      )
    })
  )
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
    renderFields()
  }
}

/** The mapping as the fields give it; undefined when a field is not JSON (its error is then shown beside it). */
function readMapping(): Json | undefined {
  const mapping: Json = {}
  let valid = true
  for (const input of Array.from(document.querySelectorAll<HTMLInputElement>('#fields input'))) {
    const key = input.dataset.key as string
    const error = $(`field-${key}-error`)
    error.textContent = ''
    input.removeAttribute('aria-invalid')
    if (input.value.trim() === '') continue
    try {
      mapping[key] = parseJson(input.value, `The mapping of ${key}`)
    } catch (problem) {
      error.textContent = (problem as Error).message
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

function renderMultistatus(rows: Json[]): HTMLElement {
  const outcome = (row: Json) => {
    const status = Number(row.status)
    if (status >= 200 && status < 300) {
      return typeof row.body === 'string' && row.body.startsWith('Skipped') ? `skipped: ${row.body}` : 'delivered'
    }
    return `failed: ${String(row.errormessage)}`
  }
  return el(
    'table',
    { id: 'multistatus' },
    el('caption', {}, 'One row per event of the batch'),
    el(
      'tr',
      {},
      el('th', { scope: 'col' }, 'event'),
      el('th', { scope: 'col' }, 'status'),
      el('th', { scope: 'col' }, 'outcome')
    ),
    ...rows.map((row, index) =>
      el(
        'tr',
        { class: 'multistatus-row' },
        el('td', {}, String(index)),
        el('td', { class: 'status' }, String(row.status)),
        el('td', { class: 'outcome' }, outcome(row))
      )
    )
  )
}

function renderAnswer(answer: unknown, status: number): void {
  const items = Array.isArray(answer) ? (answer as Json[]) : [answer as Json]
  $('output').replaceChildren(
    el('p', {}, `The server answered ${status}.`),
    ...items.map((item) => {
      if (item?.request) return renderExchange(item)
      if (item?.multistatus) return renderMultistatus(item.multistatus as Json[])
      if (item && 'output' in item)
        return el(
          'div',
          { class: 'exchange' },
          el('h3', {}, 'No request: the action returned'),
          el('pre', {}, pretty(item.output))
        )
      const fields = item?.fields as Record<string, string> | undefined
      return el(
        'div',
        { class: 'exchange error-output' },
        el('p', { class: 'error' }, `${show(item?.statusCode ?? status)}: ${show(item?.message ?? pretty(item))}`),
        ...Object.entries(fields ?? {}).map(([field, message]) => el('p', { class: 'error' }, `${field}: ${message}`))
      )
    })
  )
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
    return
  }
  const mapping = readMapping()
  if (!mapping) return
  const action = $<HTMLSelectElement>('action').value
  $('output').replaceChildren(el('p', {}, 'Running…'))
  try {
    const response = await fetch(`/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payload, settings: readSettings(), mapping })
    })
    renderAnswer(await response.json(), response.status)
  } catch (problem) {
    $('output').replaceChildren(
      el('p', { class: 'error' }, `Could not reach the local server (${(problem as Error).message}). Is it running?`)
    )
    return
  }
  await refreshSandbox()
}

/** Whom a body is for: its person (email, profile_id) or its company (domain, account_id). */
function ownerOf(body: Json): string {
  if (typeof body.domain === 'string') return `company ${body.domain}`
  if (typeof body.account_id === 'string') return `company (Koala account) ${body.account_id}`
  return `person ${[body.email, body.profile_id].filter((part) => typeof part === 'string').join(' / ')}`
}

async function refreshSandbox(): Promise<void> {
  try {
    await showSandbox()
  } catch (problem) {
    $('sandbox-stats').textContent = `Could not reach the local server (${(problem as Error).message}). Is it running?`
    $('sandbox-bodies').replaceChildren()
  }
}

async function showSandbox(): Promise<void> {
  const [received, stats] = await Promise.all([
    fetch('/tester/sandbox/received').then(
      (answer) => answer.json() as Promise<{ sandbox: boolean; url: string; data?: Json[] }>
    ),
    fetch('/tester/sandbox/stats').then((answer) => answer.json() as Promise<{ sandbox: boolean; data?: Json }>)
  ])
  if (!received.sandbox || !stats.sandbox) {
    $(
      'sandbox-stats'
    ).textContent = `The server sends to ${received.url}, not to a local Koala sandbox: there is no sandbox to show.`
    $('sandbox-bodies').replaceChildren()
    return
  }
  const counts = stats.data as Json
  const accounts = counts.accounts as Json
  $('sandbox-stats').textContent =
    `Person requests ${String(counts.requests)} (entries ${String(counts.entries)}), company requests ${String(
      accounts.requests
    )} ` +
    `(entries ${String(accounts.entries)}), distinct message_ids ${String(counts.uniqueMessageIds)}, duplicates ` +
    `${String(counts.duplicates)}, contract violations ${String(counts.contractViolations)}, refused by status ` +
    `${JSON.stringify(counts.rejected)}.`
  const groups = new Map<string, Json[]>()
  for (const body of [...(received.data ?? [])].reverse())
    groups.set(ownerOf(body), [...(groups.get(ownerOf(body)) ?? []), body])
  $('sandbox-bodies').replaceChildren(
    ...[...groups].map(([owner, bodies]) =>
      el(
        'div',
        { class: 'group' },
        el('h3', {}, `${owner} (${bodies.length})`),
        ...bodies.map((body) => el('pre', { class: 'sandbox-body' }, pretty(body)))
      )
    )
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
  actionSelect.addEventListener('change', renderFields)
  exampleSelect.addEventListener('change', () => chooseExample(exampleSelect.value))
  // Enter in the key field must not submit (and reload) the page.
  $('settings').addEventListener('submit', (event) => event.preventDefault())
  $('reset-mapping').addEventListener('click', () => {
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
