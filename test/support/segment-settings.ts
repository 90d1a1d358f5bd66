import { defaultValues } from '@segment/actions-core'
import type { DestinationDefinition, JSONObject } from '@segment/actions-core'
import type { Settings } from '../../src/destinations/koala-cloud/generated-types'

/**
 * `onEvent`/`onBatch` settings as Segment builds them: the destination's settings plus the presets as subscriptions
 * (`name`, `partnerAction`, `subscribe`, `mapping`), and, for every action no preset covers (Page, Group), the
 * subscription a customer adds for it: its default trigger and default mapping; with `presetsOnly`, the presets'
 * subscriptions alone (every event is matched against every subscription, so their number is part of the cost).
 *
 * @throws Error when a preset is not an automatic subscription (it would have no trigger to subscribe with).
 */
export function segmentSettings(
  definition: DestinationDefinition<Settings>,
  publicKey: string,
  { presetsOnly = false } = {}
): JSONObject {
  const subscriptions = (definition.presets ?? []).map((preset) => {
    if (preset.type !== 'automatic') throw new Error(`Preset "${preset.name}" is not an automatic subscription.`)
    return {
      name: preset.name,
      partnerAction: preset.partnerAction,
      subscribe: preset.subscribe,
      mapping: preset.mapping
    }
  })
  for (const [slug, action] of Object.entries(definition.actions)) {
    if (presetsOnly || subscriptions.some((subscription) => subscription.partnerAction === slug)) continue
    subscriptions.push({
      name: action.title,
      partnerAction: slug,
      subscribe: action.defaultSubscription as string,
      mapping: defaultValues(action.fields)
    })
  }
  return { public_key: publicKey, subscriptions } as unknown as JSONObject
}
