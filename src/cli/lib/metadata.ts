import type { DestinationDefinition, InputField } from '@segment/actions-core'
import * as fs from 'fs'
import * as path from 'path'

/**
 * `metadata.json`: the public description of a destination that the monorepo's `./bin/run
 * generate:metadata-payload` writes into each destination folder, and that its CI regenerates and compares byte for
 * byte. The rules below are that generator's (packages/cli/src/commands/generate/metadata-payload.ts at
 * 970a17ee8d): which attributes appear, in which order, which become `null` and which are left out (a `label`,
 * `description` or preset `type` that is unset is absent, not `null`; settings carry no `format`).
 */

/** A `required` flag as the framework allows it: a boolean or conditions on other fields. */
type Required = boolean | { conditions: unknown[]; match?: string }

/** A choice, always as `{ label, value }` (the framework also allows bare values). */
export interface MetadataChoice {
  label: string
  value: unknown
}

/** One authentication setting. */
export interface MetadataSetting {
  label: string | undefined
  description: string | undefined
  type: string
  required: Required
  multiple: boolean
  choices: MetadataChoice[] | null
  default: unknown
  depends_on: unknown
}

/** One action field (also used for an object field's `properties`). */
export interface MetadataField {
  label: string | undefined
  description: string | undefined
  type: string
  required: Required
  multiple: boolean
  allowNull: boolean
  dynamic: boolean
  default: unknown
  choices: MetadataChoice[] | null
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
  format: string | null
  additionalProperties: boolean
}

/** One action hook (`onMappingSave`, `retlOnMappingSave`), its fields serialised like the action's. */
export interface MetadataHook {
  label: string
  description: string
  inputFields: Record<string, MetadataField>
  outputFields: Record<string, MetadataField>
}

/** One action. */
export interface MetadataAction {
  title: string
  description: string
  platform: 'cloud' | 'web'
  defaultSubscription: string | null
  hidden: boolean
  hasPerformBatch: boolean
  syncMode: { default: string; label: string; description: string; choices: { label: string; value: string }[] } | null
  hooks: Record<string, MetadataHook> | null
  dynamicFields: Record<string, string[]> | null
  fields: Record<string, MetadataField>
}

/** One preset (a default subscription offered when the destination is connected). */
export interface MetadataPreset {
  name: string
  type: string | undefined
  partnerAction: string
  subscribe: string | undefined
  mapping: Record<string, unknown>
  eventSlug: string | null
}

/** The whole file. */
export interface DestinationMetadata {
  slug: string
  name: string
  mode: string
  description: string | undefined
  authentication: { scheme: string; fields: Record<string, MetadataSetting> } | null
  audienceConfig: null
  actions: Record<string, MetadataAction>
  presets: MetadataPreset[]
}

/** The hooks the generator serialises; others are dropped (actions-core's `hookTypeStrings`). */
const HOOK_TYPES = ['onMappingSave', 'retlOnMappingSave']

// Loose views of the definition: the framework's types are unions over destination kinds and field variants.
type LooseField = Partial<InputField> & Record<string, unknown>
type LooseRecord = Record<string, unknown>

function choicesOf(choices: unknown): MetadataChoice[] | null {
  if (!Array.isArray(choices) || choices.length === 0) return null
  return choices.map((choice: unknown) =>
    choice !== null && typeof choice === 'object' && 'label' in choice && 'value' in choice
      ? (choice as MetadataChoice)
      : { label: String(choice), value: choice }
  )
}

function requiredOf(required: unknown): Required {
  return required !== null && typeof required === 'object' ? (required as Required) : required === true
}

const orNull = <T>(value: T | undefined): T | null => value ?? null

/** The keys a setting and an action field begin with, in the generator's order. */
function commonOf(field: LooseField) {
  return {
    label: field.label,
    description: field.description,
    type: String(field.type),
    required: requiredOf(field.required),
    multiple: field.multiple ?? false
  }
}

/** Serialises one authentication setting. */
export function settingMetadata(field: LooseField): MetadataSetting {
  return {
    ...commonOf(field),
    choices: choicesOf(field.choices),
    default: orNull(field.default),
    depends_on: orNull(field.depends_on)
  }
}

/** Serialises one action field; functions (dynamic choices) become `dynamic: true`. */
export function fieldMetadata(field: LooseField): MetadataField {
  const properties =
    field.type === 'object' && field.properties && typeof field.properties === 'object'
      ? Object.fromEntries(
          Object.entries(field.properties).map(([key, property]) => [key, fieldMetadata(property as LooseField)])
        )
      : null
  return {
    ...commonOf(field),
    allowNull: field.allowNull ?? false,
    dynamic: typeof field.dynamic === 'function' ? true : field.dynamic ?? false,
    default: orNull(field.default),
    choices: choicesOf(field.choices),
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
    format: orNull(field.format),
    additionalProperties: field.additionalProperties ?? false
  }
}

const fieldsMetadata = (fields: Record<string, unknown> = {}): Record<string, MetadataField> =>
  Object.fromEntries(Object.entries(fields).map(([name, field]) => [name, fieldMetadata(field as LooseField)]))

/** The keys of `dynamicFields` entries given as objects (`__keys__`, `__values__`); functions are left out. */
function dynamicFieldsOf(dynamicFields: unknown): Record<string, string[]> | null {
  if (!dynamicFields || typeof dynamicFields !== 'object') return null
  const result: Record<string, string[]> = {}
  for (const [key, value] of Object.entries(dynamicFields as Record<string, unknown>)) {
    if (value === null || typeof value !== 'object') continue
    const keys = Object.keys(value).filter((name) => name === '__keys__' || name === '__values__')
    if (keys.length > 0) result[key] = keys
  }
  return Object.keys(result).length > 0 ? result : null
}

/** Serialises one action. */
export function actionMetadata(key: string, action: LooseRecord): MetadataAction {
  const syncMode = action.syncMode as
    | { default: string; label?: string; description?: string; choices?: { label: string; value: string }[] }
    | undefined
  const hooks: Record<string, MetadataHook> = {}
  for (const [name, hook] of Object.entries((action.hooks ?? {}) as Record<string, LooseRecord>)) {
    if (!HOOK_TYPES.includes(name)) continue
    hooks[name] = {
      label: (hook.label as string | undefined) ?? name,
      description: (hook.description as string | undefined) ?? '',
      inputFields: fieldsMetadata(hook.inputFields as LooseRecord | undefined),
      outputFields: fieldsMetadata((hook.outputTypes ?? hook.outputFields) as LooseRecord | undefined)
    }
  }
  return {
    title: (action.title as string | undefined) ?? key,
    description: (action.description as string | undefined) ?? '',
    platform: action.platform === 'web' ? 'web' : 'cloud',
    defaultSubscription: orNull(action.defaultSubscription as string | undefined),
    hidden: (action.hidden as boolean | undefined) ?? false,
    hasPerformBatch: typeof action.performBatch === 'function',
    syncMode: syncMode
      ? {
          default: syncMode.default,
          label: syncMode.label ?? 'Sync Mode',
          description: syncMode.description ?? '',
          choices: (syncMode.choices ?? []).map(({ value, label }) => ({ value, label }))
        }
      : null,
    hooks: Object.keys(hooks).length > 0 ? hooks : null,
    dynamicFields: dynamicFieldsOf(action.dynamicFields),
    fields: fieldsMetadata(action.fields as LooseRecord | undefined)
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
  const authentication = definition.authentication as { scheme?: string; fields?: Record<string, LooseField> }
  const settings = authentication?.fields ?? (loose.settings as Record<string, LooseField> | undefined)

  const actions: Record<string, MetadataAction> = {}
  for (const [key, action] of Object.entries(definition.actions)) {
    actions[key] = actionMetadata(key, action as unknown as LooseRecord)
  }

  const presets = ((definition.presets ?? []) as unknown as LooseRecord[]).map((preset) => ({
    name: preset.name as string,
    type: preset.type as string | undefined,
    partnerAction: preset.partnerAction as string,
    subscribe: preset.subscribe as string | undefined,
    mapping: (preset.mapping as Record<string, unknown> | undefined) ?? {},
    eventSlug: orNull(preset.eventSlug as string | undefined)
  }))

  return {
    slug,
    name: definition.name,
    mode: definition.mode ?? 'cloud',
    description: definition.description,
    authentication:
      authentication || (settings && Object.keys(settings).length > 0)
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
 * The text of `metadata.json`: `JSON.stringify` with two spaces and a final newline, as the monorepo writes it (its
 * generator then runs prettier on the file, which leaves it alone: `**\/metadata.json` is in its `.prettierignore`).
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
