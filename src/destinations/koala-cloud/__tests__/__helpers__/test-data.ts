import type { ActionDefinition, DestinationDefinition, InputField, JSONObject } from '@segment/actions-core'

/**
 * Seeded test data for snapshot tests, generated from an action's own field schema, in the monorepo's style
 * (`generateTestData(seedName, destination, action, isRequiredOnly)` returns `[payloadData, settingsData]`; the
 * snapshot test passes the payload data as a literal mapping). Everything comes from a seeded PRNG: no
 * `Math.random`, no `Date.now`, so the same seed gives the same data on every machine and run.
 *
 * Each field draws from its own stream (`seedName:fieldKey`), so adding or reordering fields does not change the
 * values of the others, and existing snapshots stay put.
 *
 * Values follow the field's type and `format`, its `choices`, `minimum`/`maximum` and `multiple`, plus names that
 * imply a shape (`email`, `ip`, `url`). Emails use `example.com`, IPs the RFC 5737 documentation ranges. *
 * It lives in the destination's folder (not in the monorepo's `src/lib/test-data.ts`) so the snapshot tests and their
 * snapshots move into the monorepo unchanged: the monorepo's generator fills `password` settings with Chance's
 * default string pool, symbols included, which the Public Key check rejects before any request is made.
 */

/**
 * A small deterministic PRNG (mulberry32) seeded with the FNV-1a hash of a string.
 *
 * @returns a function giving floats in [0, 1).
 */
export function seededRandom(seed: string): () => number {
  let hash = 0x811c9dc5
  for (let i = 0; i < seed.length; i++) {
    hash ^= seed.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  let state = hash >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const LOWER = 'abcdefghijklmnopqrstuvwxyz'
const ALPHANUMERIC = `${LOWER}ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789`
const WORDS = ['koala', 'segment', 'pricing', 'signup', 'trial', 'report', 'billing', 'widget', 'docs', 'team', 'plan']

/** Random values of a few shapes, from one seeded stream. */
export class TestRandom {
  private readonly next: () => number
  constructor(seed: string) {
    this.next = seededRandom(seed)
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }
  bool(): boolean {
    return this.next() < 0.5
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]
  }
  string(length: number, alphabet = ALPHANUMERIC): string {
    return Array.from({ length }, () => alphabet[this.int(0, alphabet.length - 1)]).join('')
  }
  word(): string {
    return this.pick(WORDS)
  }
  /** An instant between 2020-01-01 and 2030-01-01 UTC, whole seconds. */
  date(): Date {
    return new Date(Date.UTC(2020, 0, 1) + this.int(0, 10 * 365 * 24 * 3600) * 1000)
  }
  email(): string {
    return `${this.word()}.${this.string(6, LOWER)}@example.com`
  }
  ipv4(): string {
    return `${this.pick(['192.0.2', '198.51.100', '203.0.113'])}.${this.int(1, 254)}`
  }
  uuid(): string {
    const hex = this.string(32, '0123456789abcdef')
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`
  }
}

/** `profile_id`, `userId`, `Public Key` -> lowercase words. */
function words(text: string): string[] {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
}

/** One value for a field, ignoring `multiple`. */
function valueFor(random: TestRandom, key: string, field: Partial<InputField>, requiredOnly: boolean): unknown {
  const choices: unknown[] = Array.isArray(field.choices) ? field.choices : []
  if (choices.length > 0) {
    const choice = random.pick(choices)
    return choice !== null && typeof choice === 'object' && 'value' in choice ? choice.value : choice
  }
  const name = words(key)
  switch (field.type) {
    case 'boolean':
      return random.bool()
    case 'integer':
      return random.int(field.minimum ?? 0, field.maximum ?? 1000)
    case 'number': {
      const min = field.minimum ?? 0
      const max = field.maximum ?? 1000
      return Number.isInteger(min) && Number.isInteger(max) && max - min < 10_000
        ? random.int(min, max)
        : Math.round((min + (max - min) * (random.int(0, 10_000) / 10_000)) * 100) / 100
    }
    case 'datetime':
      return random.date().toISOString()
    case 'password':
      // Keys and tokens: letters and digits only, which every API accepts in a URL or header.
      return random.string(24)
    case 'text':
      return Array.from({ length: random.int(3, 8) }, () => random.word()).join(' ')
    case 'object': {
      if (field.properties) {
        return Object.fromEntries(
          Object.entries(field.properties)
            .filter(([, property]) => !requiredOnly || property.required === true)
            .map(([propertyKey, property]) => [propertyKey, valueOf(random, propertyKey, property, requiredOnly)])
        )
      }
      return { [random.word()]: random.string(8), [`${random.word()}_count`]: random.int(0, 100) }
    }
  }
  switch (field.format) {
    case 'date-time':
      return random.date().toISOString()
    case 'date':
      return random.date().toISOString().slice(0, 10)
    case 'time':
      return random.date().toISOString().slice(11, 19)
    case 'email':
      return random.email()
    case 'ipv4':
      return random.ipv4()
    case 'uri':
      return `https://www.${random.word()}.example.com/${random.word()}`
    case 'hostname':
      return `${random.word()}.example.com`
    case 'uuid':
      return random.uuid()
  }
  if (name.includes('email')) return random.email()
  if (name.includes('ip')) return random.ipv4()
  if (name.includes('url') || name.includes('uri')) return `https://www.${random.word()}.example.com/${random.word()}`
  return random.string(12)
}

function valueOf(random: TestRandom, key: string, field: Partial<InputField>, requiredOnly: boolean): unknown {
  const value = valueFor(random, key, field, requiredOnly)
  return field.multiple ? [value] : value
}

/**
 * Whether a field is part of the "required fields" data set: it is required, or it names an identifier (a word
 * `id`), as in the monorepo, because most APIs need some identifier even when no single field is required.
 */
function inRequiredSet(key: string, field: Partial<InputField>): boolean {
  return field.required === true || words(key).includes('id')
}

/**
 * Generates a payload and settings from an action's field schema.
 *
 * @param seedName the stream's seed, by convention `<destination>#<action>`.
 * @param destination its `authentication.fields` give the settings.
 * @param action its `fields` give the payload.
 * @param isRequiredOnly only required and identifier fields (see above) when true; every field when false.
 * @returns `[payloadData, settingsData]`: plain JSON values, the payload usable as a literal mapping, the settings
 *   typed as the destination's (they have one value per authentication field).
 */
export function generateTestData<Settings, Payload>(
  seedName: string,
  destination: DestinationDefinition<Settings>,
  action: ActionDefinition<Settings, Payload>,
  isRequiredOnly: boolean
): [JSONObject, Settings] {
  const settings: Record<string, unknown> = {}
  const settingFields = (destination.authentication?.fields ?? {}) as Record<string, Partial<InputField>>
  for (const [key, field] of Object.entries(settingFields)) {
    settings[key] = valueOf(new TestRandom(`${seedName}:settings:${key}`), key, field, false)
  }
  const payload: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(action.fields as Record<string, Partial<InputField>>)) {
    if (isRequiredOnly && !inRequiredSet(key, field)) continue
    payload[key] = valueOf(new TestRandom(`${seedName}:${key}`), key, field, isRequiredOnly)
  }
  return [payload as JSONObject, settings as Settings]
}
