import type { DestinationDefinition } from '@segment/actions-core'
import { formatFinding, validateDefinition } from '../../src/cli/lib/definition-validator'
import type { RealEvent } from '../../src/cli/lib/definition-validator'
import destination from '../../src/destinations/koala-cloud'

// The destination's definition, and copies of it broken on purpose, for the tests of the CLI's commands.

export type Definition = DestinationDefinition<unknown>
export const real = destination as unknown as Definition

/** A copy of the real definition deep enough to break one part without touching the original. */
export function brokenCopy(change: (copy: Definition) => void): Definition {
  const copy: Definition = {
    ...real,
    authentication: {
      ...real.authentication!,
      fields: Object.fromEntries(Object.entries(real.authentication!.fields).map(([key, field]) => [key, { ...field }]))
    },
    presets: (real.presets ?? []).map((preset) => ({ ...preset, mapping: { ...preset.mapping } })),
    actions: Object.fromEntries(
      Object.entries(real.actions).map(([key, action]) => [
        key,
        {
          ...action,
          fields: Object.fromEntries(Object.entries(action.fields).map(([name, field]) => [name, { ...field }]))
        }
      ])
    )
  }
  change(copy)
  return copy
}

/** A preset of the copy, typed as an automatic one (the framework's Preset is a union). */
export const preset = (copy: Definition, name: string) =>
  copy.presets!.find((candidate) => candidate.name === name) as {
    subscribe: string
    mapping: Record<string, unknown>
  } & {
    partnerAction: string
  }
export const trackPreset = (copy: Definition) => preset(copy, 'Track Calls')
export const errorsOf = (definition: Definition, events: RealEvent[]) =>
  validateDefinition(definition, events)
    .filter((finding) => finding.level === 'error')
    .map(formatFinding)
