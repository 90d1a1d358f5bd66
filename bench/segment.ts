import { defaultValues } from '@segment/actions-core'
import type { DestinationDefinition, JSONObject } from '@segment/actions-core'
import type { Settings } from '../src/destinations/koala-cloud/generated-types'

/**
 * How the benchmark and the chaos run drive a destination as Segment does: the settings Segment passes to
 * `onEvent`/`onBatch`, and a bound on the calls in flight. Kept free of heavy imports, so a bench worker's memory
 * before its measured run stays what the destination and the workload need.
 */

/**
 * `onEvent`/`onBatch` settings as Segment builds them: the destination's settings plus the presets as subscriptions
 * (`name`, `partnerAction`, `subscribe`, `mapping`), and, for every action no preset covers (Page, Group), the
 * subscription a customer adds for it: its default trigger and default mapping.
 *
 * @throws Error when a preset is not an automatic subscription (it would have no trigger to subscribe with).
 */
export function segmentSettings(definition: DestinationDefinition<Settings>, publicKey: string): JSONObject {
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
    if (subscriptions.some((subscription) => subscription.partnerAction === slug)) continue
    subscriptions.push({
      name: action.title,
      partnerAction: slug,
      subscribe: action.defaultSubscription as string,
      mapping: defaultValues(action.fields)
    })
  }
  return { public_key: publicKey, subscriptions } as unknown as JSONObject
}

/** Runs `task(0)` … `task(count - 1)` with at most `limit` in flight, each lane taking the next index in turn. */
export async function pool(count: number, limit: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0
  const lane = async () => {
    while (next < count) await task(next++)
  }
  await Promise.all(Array.from({ length: Math.min(limit, count) }, lane))
}
