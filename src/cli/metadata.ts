import type { DestinationDefinition, InputField } from '@segment/actions-core'
import * as fs from 'fs'
import * as path from 'path'

/**
 * `metadata.json`: the public description of a destination that the monorepo's `generate:metadata-payload`
 * writes into each destination folder (slug, name, mode, authentication fields, actions keyed by slug with their
 * fields keyed by name, presets). Every optional attribute is written out, as `null` when unset, so the file has
 * the same keys for every field and diffs stay readable.
 */

/** A `required` flag as the framework allows it: a boolean or conditions on other fields. */
type Required = boolean | { conditions: unknown[]; match?: string }

/** A choice, always as `{ label, value }` (the framework also allows bare strings). */
export interface MetadataChoice {
  label: string
  value: unknown
}

/** One authentication setting. */
export interface MetadataSetting {
  label: string | null
  description: string | null
  type: string
  required: Required
  multiple: boolean
  choices: MetadataChoice[] | null
  format: string | null
  default: unknown
  depends_on: unknown
}

/** One action field (also used for an object field's `properties`). */
export interface MetadataField {
  label: string | null
  description: string | null
  type: string
  required: Required
  multiple: boolean
  allowNull: boolean
  dynamic: boolean
  default: unknown
  choices: MetadataChoice[] | null
  format: string | null
  placeholder: string | null
  properties: Record<string, MetadataField> | null
  category: string | null
  depends_on: unknown
  readOnly: boolean | null
  hidden: boolean | null
  minimum: number | null
  maximum: number | null
  defaultObjectUI: string | null
  disabledInputMethods: string[] | null
  displayMode: string | null
  additionalProperties: boolean
}

/** One action. */
export interface MetadataAction {
  title: string
  description: string
  platform: 'cloud' | 'web'
  defaultSubscription: string | null
  hidden: boolean
  hasPerformBatch: boolean
  syncMode: { default: string; label: string; description: string; choices: MetadataChoice[] } | null
  hooks: Record<string, { label: string; description: string }> | null
  fields: Record<string, MetadataField>
}

/** One preset (a default subscription offered when the destination is connected). */
export interface MetadataPreset {
  name: string
  type: string
  partnerAction: string
  subscribe: string | null
  mapping: Record<string, unknown>
  eventSlug: string | null
}

/** The whole file. */
export interface DestinationMetadata {
  slug: string
  name: string
  mode: string
  description: string | null
  authentication: { scheme: string; fields: Record<string, MetadataSetting> } | null
  audienceConfig: null
  actions: Record<string, MetadataAction>
  presets: MetadataPreset[]
}

// Loose views of the definition: the framework's types are unions over destination kinds and field variants.
type LooseField = Partial<InputField> & Record<string, unknown>
type LooseRecord = Record<string, unknown>

function choicesOf(choices: unknown): MetadataChoice[] | null {
  if (!Array.isArray(choices) || choices.length === 0) return null
  return choices.map((choice: unknown) =>
    choice !== null && typeof choice === 'object' && 'value' in choice
      ? { label: String((choice as LooseRecord).label ?? (choice as LooseRecord).value), value: choice.value }
      : { label: String(choice), value: choice }
  )
}

function requiredOf(required: unknown): Required {
  return required !== null && typeof required === 'object' ? (required as Required) : required === true
}

const orNull = <T>(value: T | undefined): T | null => (value === undefined ? null : value)

/** Serialises one authentication setting. */
export function settingMetadata(field: LooseField): MetadataSetting {
  return {
    label: orNull(field.label),
    description: orNull(field.description),
    type: String(field.type),
    required: requiredOf(field.required),
    multiple: field.multiple ?? false,
    choices: choicesOf(field.choices),
    format: orNull(field.format),
    default: orNull(field.default),
    depends_on: orNull(field.depends_on)
  }
}

/** Serialises one action field; functions (dynamic choices) become `dynamic: true`. */
export function fieldMetadata(field: LooseField): MetadataField {
  const properties = field.properties
    ? Object.fromEntries(
        Object.entries(field.properties).map(([key, property]) => [key, fieldMetadata(property as LooseField)])
      )
    : null
  return {
    label: orNull(field.label),
    description: orNull(field.description),
    type: String(field.type),
    required: requiredOf(field.required),
    multiple: field.multiple ?? false,
    allowNull: field.allowNull ?? false,
    dynamic: typeof field.dynamic === 'function' || field.dynamic === true,
    default: orNull(field.default),
    choices: choicesOf(field.choices),
    format: orNull(field.format),
    placeholder: orNull(field.placeholder),
    properties,
    category: orNull(field.category as string | undefined),
    depends_on: orNull(field.depends_on),
    readOnly: orNull(field.readOnly),
    hidden: orNull(field.unsafe_hidden),
    minimum: orNull(field.minimum),
    maximum: orNull(field.maximum),
    defaultObjectUI: orNull(field.defaultObjectUI),
    disabledInputMethods: orNull(field.disabledInputMethods as string[] | undefined),
    displayMode: orNull(field.displayMode as string | undefined),
    additionalProperties: field.additionalProperties ?? false
  }
}

/**
 * Builds the metadata of a destination.
 *
 * @param definition the destination definition (cloud mode; browser `settings` are read as authentication fields).
 * @param slug the destination's slug; defaults to `definition.slug`.
 * @throws Error when there is no slug.
 */
export function buildMetadata(definition: DestinationDefinition<unknown>, slug = definition.slug): DestinationMetadata {
  if (!slug) throw new Error(`The destination "${definition.name}" has no slug: metadata.json needs one.`)
  const loose = definition as unknown as LooseRecord
  const authentication = definition.authentication as { scheme: string; fields?: Record<string, LooseField> }
  const settings = authentication?.fields ?? (loose.settings as Record<string, LooseField> | undefined)

  const actions: Record<string, MetadataAction> = {}
  for (const [key, action] of Object.entries(definition.actions)) {
    const raw = action as unknown as LooseRecord
    const syncMode = raw.syncMode as
      { default: string; label?: string; description?: string; choices?: unknown[] } | undefined
    const hooks = raw.hooks as Record<string, { label?: string; description?: string }> | undefined
    actions[key] = {
      title: action.title,
      description: action.description,
      platform: raw.platform === 'web' ? 'web' : 'cloud',
      defaultSubscription: orNull(action.defaultSubscription),
      hidden: action.hidden ?? false,
      hasPerformBatch: typeof action.performBatch === 'function',
      syncMode: syncMode
        ? {
            default: syncMode.default,
            label: syncMode.label ?? 'Sync Mode',
            description: syncMode.description ?? '',
            choices: choicesOf(syncMode.choices) ?? []
          }
        : null,
      hooks: hooks
        ? Object.fromEntries(
            Object.entries(hooks).map(([name, hook]) => [
              name,
              { label: hook.label ?? name, description: hook.description ?? '' }
            ])
          )
        : null,
      fields: Object.fromEntries(
        Object.entries(action.fields).map(([name, field]) => [name, fieldMetadata(field as LooseField)])
      )
    }
  }

  const presets = (definition.presets ?? []).map((preset) => {
    const raw = preset as unknown as LooseRecord
    return {
      name: preset.name ?? '',
      type: typeof raw.type === 'string' ? raw.type : 'automatic',
      partnerAction: preset.partnerAction,
      subscribe: orNull(raw.subscribe as string | undefined),
      mapping: preset.mapping ?? {},
      eventSlug: orNull(raw.eventSlug as string | undefined)
    }
  })

  return {
    slug,
    name: definition.name,
    mode: definition.mode,
    description: orNull(definition.description),
    authentication:
      authentication || settings
        ? {
            scheme: authentication?.scheme ?? 'custom',
            fields: Object.fromEntries(
              Object.entries(settings ?? {}).map(([name, field]) => [name, settingMetadata(field)])
            )
          }
        : null,
    audienceConfig: null,
    actions,
    presets
  }
}

/**
 * The text of `metadata.json`: `JSON.stringify` with two spaces and a final newline, as the monorepo writes it
 * (the file is listed in `.prettierignore`, like other generated output).
 */
export function metadataText(definition: DestinationDefinition<unknown>, slug?: string): string {
  return `${JSON.stringify(buildMetadata(definition, slug), null, 2)}\n`
}

/** Where a destination's `metadata.json` lives. */
export const metadataPath = (dir: string): string => path.join(dir, 'metadata.json')

/**
 * Writes `metadata.json` into the destination folder.
 *
 * @returns whether the file changed.
 */
export function writeMetadata(definition: DestinationDefinition<unknown>, dir: string): boolean {
  const text = metadataText(definition)
  const file = metadataPath(dir)
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return false
  fs.writeFileSync(file, text)
  return true
}

/** Whether `metadata.json` is missing or differs from what {@link metadataText} produces now. */
export function isMetadataStale(definition: DestinationDefinition<unknown>, dir: string): boolean {
  const file = metadataPath(dir)
  return !fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== metadataText(definition)
}
