import type { DestinationDefinition, InputField, JSONLikeObject, SegmentEvent } from '@segment/actions-core'
import { createTestEvent, defaultValues, fieldsToJsonSchema, transform, validateSchema } from '@segment/actions-core'
import validateMapping from '@segment/actions-core/mapping-kit/validate'
import { generateFql, parseFql, validate as matchesSubscription } from '@segment/destination-subscriptions'
import type { Subscription } from '@segment/destination-subscriptions'
import * as fs from 'fs'
import type { JSONSchema4 } from 'json-schema'
import * as path from 'path'
import { SEGMENT_EVENTS_DIR } from '../../lib/paths'

/**
 * The checks behind `./bin/run validate`. Pure: give it a definition and real Segment events, get findings back.
 *
 * It does what the monorepo's `validate` command does (presets name existing actions, subscriptions parse, preset
 * mappings only name the action's fields, actions and fields are described, setting defaults match their type)
 * and more: slug and name are well formed, every field has a label, required fields have defaults, every default
 * is a valid mapping directive, secrets are `password` fields, and each preset (or action default mapping) is run
 * on the real events its subscription matches: it must map every one of them to a payload the action's schema
 * accepts, exactly as the framework would before calling `perform`.
 */

/** One problem found. Errors fail validation (exit code 1); warnings are printed only. */
export interface Finding {
  level: 'error' | 'warning'
  /** Where in the definition, e.g. `actions.track.fields.email` or `presets[0] "Track Calls"`. */
  where: string
  message: string
}

/** A Segment event and where it came from (`file.ndjson:line` or `file.json[index]`), for messages. */
export interface RealEvent {
  source: string
  event: SegmentEvent
  /** Made by `createTestEvent` ({@link syntheticEvents}) rather than read from a file; findings then say so. */
  generated?: true
}

/**
 * The repository's real Segment events, the ones `validate` and the tools' tests run on: the destination folder's
 * own copies (one JSON array per captured `*.ndjson` file, imported by the folder's tests, which may not read files).
 * The one copy in the repository: everything else reads it from here.
 */
export const FIXTURES_DIR = SEGMENT_EVENTS_DIR

/** Files that hold Segment events: `*.ndjson`, one per line, or `*.json`, an array. */
const isEventsFile = (name: string): boolean => name.endsWith('.ndjson') || name.endsWith('.json')

/**
 * Reads the Segment events of a folder: every `*.ndjson` file (one event per line) and every `*.json` file (a JSON
 * array of events), in file-name order.
 *
 * @returns the events in file-name then line (or index) order; empty when the folder does not exist.
 * @throws SyntaxError naming the file (and line) when it is not JSON, or a `.json` file is not an array of objects.
 */
export function readFixtureEvents(dir: string): RealEvent[] {
  if (!fs.existsSync(dir)) return []
  const events: RealEvent[] = []
  for (const file of fs.readdirSync(dir).filter(isEventsFile).sort()) {
    const text = fs.readFileSync(path.join(dir, file), 'utf8')
    if (file.endsWith('.json')) {
      events.push(...jsonEvents(file, text))
      continue
    }
    text.split('\n').forEach((line, index) => {
      if (!line.trim()) return
      try {
        events.push({ source: `${file}:${index + 1}`, event: JSON.parse(line) as SegmentEvent })
      } catch (error) {
        throw new SyntaxError(`${file}:${index + 1} is not JSON: ${(error as Error).message}`)
      }
    })
  }
  return events
}

/** The events of a `.json` file, which must be an array of event objects. */
function jsonEvents(file: string, text: string): RealEvent[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new SyntaxError(`${file} is not JSON: ${(error as Error).message}`)
  }
  if (
    !Array.isArray(parsed) ||
    !parsed.every((item) => item !== null && typeof item === 'object' && !Array.isArray(item))
  ) {
    throw new SyntaxError(`${file} is not a JSON array of Segment events (objects).`)
  }
  return parsed.map((event, index) => ({ source: `${file}[${index}]`, event: event as SegmentEvent }))
}

/** The fallback when no fixtures are present: one `createTestEvent` per event type, with an email and traits. */
export function syntheticEvents(): RealEvent[] {
  return ['track', 'identify', 'page', 'screen', 'group', 'alias'].map((type) => ({
    source: `createTestEvent(${type})`,
    generated: true as const,
    event: createTestEvent({
      type: type as SegmentEvent['type'],
      messageId: `validate-${type}`,
      // Fixed times, not createTestEvent's clock readings: the same events on every run.
      timestamp: '2026-01-01T00:00:00.000Z',
      sentAt: '2026-01-01T00:00:00.000Z',
      receivedAt: '2026-01-01T00:00:00.000Z',
      traits: { email: 'jane.doe@example.com', name: 'Jane Doe' },
      properties: { plan: 'pro' }
    })
  }))
}

/**
 * The events `validate` runs the mappings on.
 *
 * @param dir a folder the user named (`--events`): it must hold Segment events (`*.ndjson` or `*.json`, see
 *   {@link readFixtureEvents}). Undefined means the default folder, which alone may fall back to
 *   {@link syntheticEvents} when it has no events.
 * @param defaultDir the default folder: {@link FIXTURES_DIR} (another one in tests).
 * @returns the events and a description of them for the first line of output, e.g. `12 real Segment events from
 *   test/destination/fixtures` or `6 generated test events (createTestEvent, …), not real ones: …`.
 * @throws Error naming the folder when a folder the user named does not exist or holds no events; SyntaxError naming
 *   the file and line when a line is not JSON.
 */
export function defaultEvents(dir?: string, defaultDir: string = FIXTURES_DIR): { events: RealEvent[]; from: string } {
  const folder = dir ?? defaultDir
  const shown = path.relative(process.cwd(), folder) || folder
  if (dir !== undefined) {
    if (!fs.existsSync(dir)) throw new Error(`--events ${dir}: the folder does not exist.`)
    if (!fs.statSync(dir).isDirectory()) throw new Error(`--events ${dir}: this is not a folder.`)
    if (!fs.readdirSync(dir).some(isEventsFile)) {
      throw new Error(
        `--events ${dir}: the folder holds no .ndjson files (one Segment event per line) or .json files (an array of events).`
      )
    }
  }
  const events = readFixtureEvents(folder)
  if (events.length) return { events, from: `${events.length} real Segment events from ${shown}` }
  if (dir !== undefined) throw new Error(`--events ${dir}: its .ndjson and .json files hold no Segment events.`)
  const generated = syntheticEvents()
  return {
    events: generated,
    from:
      `${generated.length} generated test events (createTestEvent, one per event type), not real ones: ` +
      `no Segment events found in ${shown}`
  }
}

/** How findings name the events: `real Segment events`, or `generated test events` when they are not real. */
function eventsNoun(events: RealEvent[], real: string): string {
  return events.length > 0 && events.every((event) => event.generated) ? 'generated test events' : real
}

// ---------------------------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------------------------

/** The monorepo's slug convention: `actions-` then lowercase kebab-case words. */
export const SLUG_PATTERN = /^actions-[a-z0-9]+(?:-[a-z0-9]+)*$/

/** Action keys are identifiers (`track`, `identifyUser`, `send_event`): they become folder names and URL parts. */
const ACTION_KEY = /^[a-z][a-zA-Z0-9_]*$/
const FIELD_KEY = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const FIELD_TYPES = new Set(['string', 'text', 'number', 'integer', 'datetime', 'boolean', 'password', 'object'])
const SCHEMES = new Set(['basic', 'custom', 'oauth2', 'oauth-managed'])
const MODES = new Set(['cloud', 'device'])

/** Words that make a setting a secret: Segment encrypts and masks only `password` settings. */
const SECRET_SETTING_WORDS = new Set(['key', 'secret', 'token', 'password', 'passwd', 'apikey', 'credential'])
/** The same for action fields, where a bare "key" usually names a mapping key rather than a credential. */
const SECRET_FIELD_WORDS = new Set(['secret', 'token', 'password', 'passwd', 'apikey', 'credential'])

/** `Koala (Cloud)` -> `koala-cloud`. */
export function kebab(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
}

/** `public_key`, `apiKey`, `Public Key` -> lowercase words. */
const words = (text: string): string[] => kebab(text.replace(/([a-z0-9])([A-Z])/g, '$1 $2')).split('-')

/** The name of a JSON value's type as field types use it. */
function typeOfValue(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}

const isDirective = (value: unknown): boolean =>
  value !== null &&
  typeof value === 'object' &&
  !Array.isArray(value) &&
  Object.keys(value).some((key) => key.startsWith('@'))

/** Whether a literal default fits its field's type (directives are checked on real events instead). */
function literalFits(field: InputField, value: unknown): boolean {
  if (value === null) return field.allowNull === true
  if (field.multiple) return Array.isArray(value)
  switch (field.type) {
    case 'boolean':
      return typeof value === 'boolean'
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
    case 'integer':
      return Number.isInteger(value)
    case 'object':
      return typeof value === 'object' && !Array.isArray(value)
    default:
      return typeof value === 'string'
  }
}

const blank = (text: unknown): boolean => typeof text !== 'string' || text.trim() === ''

/** The event types Segment sends to cloud destinations. */
const EVENT_TYPES = new Set(['track', 'identify', 'page', 'screen', 'group', 'alias'])

/** Collects every `event-type` value of a parsed subscription. */
function eventTypes(condition: unknown): unknown[] {
  if (condition === null || typeof condition !== 'object') return []
  const node = condition as { type?: string; value?: unknown; children?: unknown[] }
  if (node.type === 'group') return (node.children ?? []).flatMap(eventTypes)
  return node.type === 'event-type' ? [node.value] : []
}

/**
 * An FQL query with whitespace and parentheses removed outside quoted strings, so queries that differ only in
 * spacing or redundant grouping compare equal.
 */
function squeeze(fql: string): string {
  let out = ''
  let quoted = false
  for (let i = 0; i < fql.length; i++) {
    const char = fql[i]
    if (char === '"' && fql[i - 1] !== '\\') quoted = !quoted
    if (quoted || char === '"' || !/[\s()]/.test(char)) out += char
  }
  return out
}

/**
 * Parses an FQL subscription with `parseFql`, then checks what the parser lets through silently: the parsed query
 * must print back (`generateFql`) to the same query (spacing and parentheses aside), so `type = ` (read as `type = "eos"`) or a trailing `and` fail,
 * and every `type` it compares must be a Segment event type.
 *
 * @returns the condition, or a message saying what is wrong.
 */
function parseSubscription(fql: string): { condition?: Subscription; error?: string } {
  let condition: Subscription
  try {
    condition = parseFql(fql)
  } catch (error) {
    return { error: `the FQL parser failed: ${(error as Error).message}` }
  }
  if ('error' in condition) return { error: `the FQL parser failed: ${condition.error.message}` }
  let printed: string
  try {
    printed = generateFql(condition)
  } catch (error) {
    return { error: `the parsed query cannot be printed back: ${(error as Error).message}` }
  }
  if (squeeze(printed) !== squeeze(fql)) {
    return { error: `it is incomplete or malformed: Segment would read it as ${JSON.stringify(printed)}` }
  }
  const unknown = eventTypes(condition).find((type) => typeof type !== 'string' || !EVENT_TYPES.has(type))
  if (unknown !== undefined) {
    return {
      error: `it compares type with ${JSON.stringify(unknown)}, which is not a Segment event type (${[
        ...EVENT_TYPES
      ].join(', ')})`
    }
  }
  return { condition }
}

/** Validates a mapping (or one default) with the framework's mapping-kit. @returns the message, if invalid. */
function mappingError(value: unknown, stack: string[]): string | undefined {
  try {
    validateMapping(value, stack)
    return undefined
  } catch (error) {
    return (error as Error).message.replace(/\s+/g, ' ').trim()
  }
}

/** Everything the checks need about one action. */
type AnyAction = DestinationDefinition<unknown>['actions'][string]

// ---------------------------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------------------------

class Findings {
  readonly list: Finding[] = []
  error(where: string, message: string): void {
    this.list.push({ level: 'error', where, message })
  }
  warning(where: string, message: string): void {
    this.list.push({ level: 'warning', where, message })
  }
}

function checkDestination(definition: DestinationDefinition<unknown>, out: Findings): void {
  const { name, slug, mode } = definition
  if (blank(name)) {
    out.error('name', 'is missing or empty.')
  } else if (
    name !== name.trim() ||
    /\s{2,}/.test(name) ||
    [...name].some((char) => char.charCodeAt(0) < 32 || char.charCodeAt(0) === 127)
  ) {
    out.error('name', `${JSON.stringify(name)} has leading/trailing or repeated spaces or control characters.`)
  } else if (name.length > 64) {
    out.error('name', `${JSON.stringify(name)} is ${name.length} characters long; keep it to 64 or fewer.`)
  }
  if (blank(slug)) {
    out.error('slug', 'is missing: the monorepo registers destinations by slug (`actions-` + the name in kebab-case).')
  } else if (!SLUG_PATTERN.test(slug as string)) {
    out.error(
      'slug',
      `${JSON.stringify(slug)} is not "actions-" followed by lowercase kebab-case words (for example "actions-${kebab(
        name || 'my-destination'
      )}").`
    )
  } else if (!blank(name) && slug !== `actions-${kebab(name)}`) {
    out.warning('slug', `${JSON.stringify(slug)} does not match the name (expected "actions-${kebab(name)}").`)
  }
  if (!MODES.has(mode)) out.error('mode', `${JSON.stringify(mode)} is not "cloud" or "device".`)
  if (blank(definition.description)) out.warning('description', 'is missing: the catalog shows it to users.')
}

function checkSettings(definition: DestinationDefinition<unknown>, out: Findings): void {
  const auth = definition.authentication
  if (!auth) return
  if (!SCHEMES.has(auth.scheme)) {
    out.error('authentication.scheme', `${JSON.stringify(auth.scheme)} is not one of ${[...SCHEMES].join(', ')}.`)
  }
  if (typeof auth.testAuthentication !== 'function') {
    out.warning('authentication', 'has no testAuthentication: Segment cannot check the settings when they are saved.')
  }
  for (const [key, setting] of Object.entries((auth.fields ?? {}) as Record<string, InputField>)) {
    const where = `authentication.fields.${key}`
    if (blank(setting.label)) out.error(where, 'has no label.')
    if (blank(setting.description)) out.error(where, 'has no description.')
    if (!FIELD_TYPES.has(setting.type)) out.error(where, `has an unknown type ${JSON.stringify(setting.type)}.`)
    const secretWord = [...words(key), ...words(setting.label ?? '')].find((word) => SECRET_SETTING_WORDS.has(word))
    if (secretWord && setting.type !== 'password') {
      out.error(
        where,
        `looks like a secret ("${secretWord}") but its type is "${setting.type}": make it type "password" so Segment encrypts and masks it.`
      )
    }
    if (setting.default !== undefined && setting.type !== 'password' && !literalFits(setting, setting.default)) {
      out.error(
        where,
        `has a default of type "${typeOfValue(setting.default)}", but the field's type is "${setting.type}".`
      )
    }
  }
}

function checkField(actionKey: string, key: string, field: InputField, out: Findings): void {
  const where = `actions.${actionKey}.fields.${key}`
  if (!FIELD_KEY.test(key)) out.error(where, 'is not a valid field key (letters, digits and "_").')
  if (blank(field.label)) out.error(where, 'has no label.')
  if (blank(field.description)) out.error(where, 'has no description.')
  if (!FIELD_TYPES.has(field.type)) out.error(where, `has an unknown type ${JSON.stringify(field.type)}.`)
  if (field.required === true && field.default === undefined) {
    out.error(where, 'is required but has no default: every new mapping would start out invalid.')
  }
  const secretWord = [...words(key), ...words(field.label ?? '')].find((word) => SECRET_FIELD_WORDS.has(word))
  if (secretWord && field.type !== 'password') {
    out.error(where, `looks like a secret ("${secretWord}") but its type is "${field.type}": make it type "password".`)
  }
  for (const [propertyKey, property] of Object.entries(field.properties ?? {})) {
    if (blank(property.label)) out.error(`${where}.properties.${propertyKey}`, 'has no label.')
  }
  if (field.default === undefined) return
  const invalid = mappingError(field.default, [key])
  if (invalid) {
    out.error(where, `has a default that is not a valid mapping directive: ${invalid}`)
  } else if (!isDirective(field.default) && !literalFits(field, field.default)) {
    out.error(
      where,
      `has a default of type "${typeOfValue(field.default)}", but the field's type is "${field.type}"${
        field.multiple ? ' (multiple)' : ''
      }.`
    )
  } else if (typeof field.default === 'number') {
    if (field.minimum !== undefined && field.default < field.minimum) {
      out.error(where, `has a default ${field.default} below its minimum ${field.minimum}.`)
    }
    if (field.maximum !== undefined && field.default > field.maximum) {
      out.error(where, `has a default ${field.default} above its maximum ${field.maximum}.`)
    }
  }
}

function checkActions(definition: DestinationDefinition<unknown>, out: Findings): void {
  const entries = Object.entries(definition.actions ?? {})
  if (!entries.length) out.error('actions', `The destination "${definition.name}" does not define any actions.`)
  for (const [key, action] of entries) {
    const where = `actions.${key}`
    if (!ACTION_KEY.test(key)) out.error(where, 'is not a valid action key (a letter, then letters, digits or "_").')
    if (blank(action.title)) out.error(where, 'has no title.')
    if (blank(action.description)) out.error(where, 'has no description.')
    if (typeof action.perform !== 'function') out.error(where, 'has no perform function.')
    if (action.defaultSubscription !== undefined) {
      const { error } = parseSubscription(action.defaultSubscription)
      if (error)
        out.error(where, `has an invalid defaultSubscription ${JSON.stringify(action.defaultSubscription)}: ${error}`)
    }
    for (const [fieldKey, field] of Object.entries(action.fields ?? {})) checkField(key, fieldKey, field, out)
  }
}

/** A mapping and the subscription that feeds it events, as Segment would run it. */
interface MappingSource {
  where: string
  action: AnyAction
  subscribe: string
  mapping: Record<string, unknown>
}

/**
 * Runs one mapping on the real events its subscription matches, the way the framework prepares a payload for
 * `perform`: mapping-kit's `transform`, then the action's JSON schema (`validateSchema`).
 */
function checkOnRealEvents(source: MappingSource, events: RealEvent[], out: Findings): void {
  const { condition } = parseSubscription(source.subscribe)
  if (!condition) return // reported by the subscription checks
  const matching = events.filter(({ event }) => {
    try {
      return matchesSubscription(condition, event)
    } catch {
      return false
    }
  })
  if (!matching.length) {
    out.error(
      source.where,
      `its subscription ${JSON.stringify(source.subscribe)} matches none of the ${events.length} ${eventsNoun(
        events,
        'real Segment events'
      )}.`
    )
    return
  }
  const schema: JSONSchema4 = fieldsToJsonSchema(source.action.fields)
  const failures = new Map<string, string[]>()
  const resolved = new Map<string, number>()
  for (const { source: origin, event } of matching) {
    let payload: Record<string, unknown>
    try {
      payload = transform(source.mapping as JSONLikeObject, event as unknown as Record<string, unknown>)
      for (const [key, value] of Object.entries(payload)) {
        if (value !== undefined && value !== null && value !== '') resolved.set(key, (resolved.get(key) ?? 0) + 1)
      }
      validateSchema(payload, schema, { throwIfInvalid: true })
    } catch (failure) {
      const message = (failure as Error).message.replace(/\s+/g, ' ').trim()
      failures.set(message, [...(failures.get(message) ?? []), origin])
    }
  }
  for (const [message, origins] of failures) {
    // A conditionally required field (`required: { conditions }`) refuses, by design, the events that lack it.
    const conditional = message.includes('must match "then" schema')
    const text = `maps ${origins.length} of the ${matching.length} ${eventsNoun(
      events,
      'real events'
    )} its subscription matches to ${
      conditional ? 'a payload without a conditionally required field' : 'an invalid payload'
    } (first: ${origins[0]}): ${message}`
    if (conditional) out.warning(source.where, text)
    else out.error(source.where, text)
  }
  for (const key of Object.keys(source.mapping)) {
    const field = source.action.fields[key]
    if (!field || field.required === true || resolved.has(key)) continue
    out.warning(
      source.where,
      `field "${key}" resolves to no value on any of the ${matching.length} ${eventsNoun(
        events,
        'real events'
      )} its subscription matches (${JSON.stringify(source.mapping[key])}).`
    )
  }
}

function checkPresets(definition: DestinationDefinition<unknown>, events: RealEvent[], out: Findings): void {
  const actions = definition.actions ?? {}
  const names = new Set<string>()
  const covered = new Set<string>()
  ;(definition.presets ?? []).forEach((preset, index) => {
    const raw = preset as unknown as Record<string, unknown>
    const where = `presets[${index}] ${JSON.stringify(preset.name ?? null)}`
    const name = preset.name ?? ''
    if (blank(name)) out.error(where, 'has no name.')
    else if (names.has(name)) out.error(where, 'has the same name as an earlier preset.')
    names.add(name)

    const action = actions[preset.partnerAction]
    if (!action) {
      out.error(
        where,
        `names the action ${JSON.stringify(preset.partnerAction)}, which does not exist (actions: ${
          Object.keys(actions).join(', ') || 'none'
        }).`
      )
    }
    const type = raw.type ?? 'automatic'
    let subscribe: string | undefined
    if (type === 'automatic') {
      subscribe = typeof raw.subscribe === 'string' ? raw.subscribe : undefined
      const parsed = subscribe === undefined ? { error: 'it is missing' } : parseSubscription(subscribe)
      if (parsed.error) {
        out.error(where, `has an invalid subscribe query ${JSON.stringify(raw.subscribe ?? null)}: ${parsed.error}`)
        subscribe = undefined
      }
    } else if (type === 'specificEvent') {
      if (blank(raw.eventSlug)) out.error(where, 'is a specificEvent preset without an eventSlug.')
    } else {
      out.error(where, `has an unknown type ${JSON.stringify(type)} (expected "automatic" or "specificEvent").`)
    }

    const mapping = (preset.mapping ?? {}) as Record<string, unknown>
    if (!action) return
    for (const key of Object.keys(mapping)) {
      if (!action.fields[key]) {
        out.error(where, `maps the field "${key}", which the "${preset.partnerAction}" action does not define.`)
      }
    }
    for (const [key, field] of Object.entries(action.fields)) {
      if (field.required === true && mapping[key] === undefined) {
        out.error(where, `does not map the required field "${key}" of the "${preset.partnerAction}" action.`)
      }
    }
    const invalid = mappingError(mapping, [])
    if (invalid) {
      out.error(where, `has a mapping that is not valid: ${invalid}`)
      return
    }
    if (JSON.stringify(mapping) === JSON.stringify(defaultValues(action.fields))) covered.add(preset.partnerAction)
    if (subscribe !== undefined) {
      checkOnRealEvents({ where, action, subscribe, mapping }, events, out)
    }
  })

  // Actions whose default mapping no preset exercises are run on their default subscription instead.
  for (const [key, action] of Object.entries(actions)) {
    if (covered.has(key) || !action.defaultSubscription) continue
    const mapping = defaultValues(action.fields) as Record<string, unknown>
    if (mappingError(mapping, []) || parseSubscription(action.defaultSubscription).error) continue
    checkOnRealEvents(
      { where: `actions.${key} (defaults)`, action, subscribe: action.defaultSubscription, mapping },
      events,
      out
    )
  }
}

/**
 * Validates a destination definition.
 *
 * @param definition the destination definition (from `src/destinations/<slug>/index.ts`).
 * @param events the Segment events the mappings are run on, e.g. {@link defaultEvents}`().events`.
 * @returns every finding, errors first then warnings, each group in definition order; no errors means valid.
 */
export function validateDefinition(definition: DestinationDefinition<unknown>, events: RealEvent[]): Finding[] {
  const out = new Findings()
  checkDestination(definition, out)
  checkSettings(definition, out)
  checkActions(definition, out)
  checkPresets(definition, events, out)
  return [...out.list.filter((f) => f.level === 'error'), ...out.list.filter((f) => f.level === 'warning')]
}

/** One finding as a line of output: `error   presets[0] "Track Calls": names the action ...`. */
export function formatFinding(finding: Finding): string {
  return `${finding.level === 'error' ? 'error  ' : 'warning'} ${finding.where}: ${finding.message}`
}
