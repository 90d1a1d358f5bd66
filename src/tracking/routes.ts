import { defaultValues, isObject } from '@segment/actions-core'
import type { DestinationDefinition, InputField, JSONObject } from '@segment/actions-core'
import { parseFql } from '@segment/destination-subscriptions'
import { enableBatchingOf, mappingProblem, mappingShapeProblem } from '../harness'
import type { Settings } from '../harness'
import { unknownKeys, unknownKeysSentence } from '../lib/body-keys'

/**
 * Which events go to which action, and with which mapping: Segment's subscriptions for the local Tracking API
 * ({@link Pipeline} in pipeline.ts). Source: segmentio/action-destinations README (presets, subscriptions, batching).
 */
/** A route: one action, the subscription that selects its events and the mapping it runs them with. */
export interface Route {
  action: string
  subscribe: string
  mapping: JSONObject
  /** Where the subscription comes from. */
  source: 'preset' | 'defaultSubscription'
  batching: boolean
  batchSize: number
}

/** `--config`: the destination's settings and, per action, mapping fields over the preset's (the Tester's shape). */
export interface PipelineConfig {
  settings?: JSONObject
  mappings?: Record<string, JSONObject>
}

/** "If a batch_size is not specified, the default batch size of 1000 will be used" (action-destinations README). */
const DEFAULT_BATCH_SIZE = 1000

/**
 * The routes of a destination: every preset (its `subscribe` and mapping), and for an action no preset names its
 * `defaultSubscription` with its fields' defaults (Koala (Cloud)'s Page and Group have no preset), each mapping
 * overridden field by field by `config.mappings[action]`.
 *
 * @throws Error naming the action for an unknown action in `mappings`, a subscription that does not parse or a
 *   mapping the framework would refuse.
 */
/** A number of `mapping` outside its field's `minimum` and `maximum`, as the field's label and bounds say it. */
function boundsProblem(fields: Record<string, InputField>, mapping: JSONObject): string | undefined {
  for (const [key, value] of Object.entries(mapping)) {
    const { minimum, maximum, label } = fields[key] ?? {}
    if (typeof value !== 'number') continue
    if ((minimum !== undefined && value < minimum) || (maximum !== undefined && value > maximum)) {
      return `${key} (${label}) is ${value}; it takes ${minimum ?? '…'} to ${maximum ?? '…'}.`
    }
  }
  return undefined
}

export function routesOf(definition: DestinationDefinition<Settings>, config: PipelineConfig = {}): Route[] {
  const overrides = config.mappings ?? {}
  for (const name of Object.keys(overrides)) {
    if (!definition.actions[name]) {
      throw new Error(
        `--config: "mappings" names the action "${name}", which the destination does not have; its actions are ` +
          `${Object.keys(definition.actions).join(', ')}.`
      )
    }
  }
  const routes: Route[] = []
  const covered = new Set<string>()
  const add = (action: string, subscribe: string, base: JSONObject, source: Route['source']) => {
    const override = overrides[action] ?? {}
    const fields = definition.actions[action].fields
    // As Segment's mapping UI offers only the action's fields, and each within its bounds.
    const unknown = unknownKeys(override, Object.keys(fields))
    const problem = !isObject(override)
      ? 'it is not an object'
      : unknown.length > 0
      ? unknownKeysSentence('It', unknown, Object.keys(fields), 'which the action does not have; its fields are')
      : mappingShapeProblem(override) ?? mappingProblem({ ...base, ...override }) ?? boundsProblem(fields, override)
    if (problem) throw new Error(`--config: the mapping of ${action} is not valid: ${problem}`)
    const parsed = parseFql(subscribe)
    if ('error' in parsed) throw new Error(`The subscription of ${action} does not parse: ${subscribe}`)
    const mapping = { ...base, ...override }
    let batching: boolean | undefined
    try {
      batching = enableBatchingOf(mapping.enable_batching)
    } catch (error) {
      throw new Error(`--config: the mapping of ${action} is not valid: ${(error as Error).message}`)
    }
    const size = Number(mapping.batch_size)
    routes.push({
      action,
      subscribe,
      mapping,
      source,
      batching: batching === true && typeof definition.actions[action].performBatch === 'function',
      batchSize: Number.isInteger(size) && size >= 1 ? size : DEFAULT_BATCH_SIZE
    })
  }
  for (const preset of definition.presets ?? []) {
    if (!('subscribe' in preset) || !preset.subscribe || !definition.actions[preset.partnerAction]) continue
    covered.add(preset.partnerAction)
    add(preset.partnerAction, preset.subscribe, preset.mapping ?? {}, 'preset')
  }
  for (const [action, actionDefinition] of Object.entries(definition.actions)) {
    if (covered.has(action) || !actionDefinition.defaultSubscription) continue
    add(action, actionDefinition.defaultSubscription, defaultValues(actionDefinition.fields), 'defaultSubscription')
  }
  return routes
}
