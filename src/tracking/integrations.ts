import { isObject } from '@segment/actions-core'
import type { JSONObject } from '@segment/actions-core'
import type { IngestFailure } from './enrich'

/**
 * The Integrations object (`integrations` of an event, a batch's merged into each of its calls by enrich.ts), as
 * Segment honours it before a destination sees an event. Sources, segmentio/segment-docs: "Filtering with the
 * Integrations Object" (`src/guides/filtering-data.md`, FILTER below), the example of destination options in
 * `src/connections/destinations/add-destination.md` (ADD), and Delivery Overview's discard table
 * (`src/_includes/content/delivery-overview-discards.html`, DISC).
 *
 * - It filters track, page, group, identify and screen calls (FILTER); an alias is not filtered by it.
 * - `All` is true unless set to `false` (FILTER: "By default the `integrations` object is set to 'All': true").
 * - A destination's flag is its catalog name, case sensitive (FILTER); for this destination, the definition's
 *   `name`, "Koala (Cloud)". Its flag wins over `All` (FILTER: "The `All` flag is superseded by any destination
 *   specific options").
 * - `false` turns the destination off. With `All: false`, only `true` or an object turns it back on: an object holds
 *   the destination's options (ADD's `"Adobe Analytics": { ... }`), which are sent, so the destination is on; any
 *   other value leaves it off. With `All` on, only `false` turns it off (analytics.js reads the flags the same way,
 *   `isDisabledIntegration` in segmentio/analytics-next).
 * - Such an event is "Filtered at destination", reason `FILTERED_BY_INTEGRATIONS_OBJECT` (DISC): not an error.
 */

/** DISC's reason code. */
export const FILTERED_BY_INTEGRATIONS_OBJECT = 'FILTERED_BY_INTEGRATIONS_OBJECT'

/** The calls the Integrations object filters (FILTER). */
const FILTERED_TYPES = ['track', 'page', 'group', 'identify', 'screen']

/**
 * Why the event's Integrations object keeps it from `destination` (code {@link FILTERED_BY_INTEGRATIONS_OBJECT} and
 * a sentence naming the flag), or undefined when it lets it through.
 *
 * @param event the event as enriched (its own `integrations` over its batch's).
 * @param destination the destination's catalog name, e.g. `Koala (Cloud)`.
 */
export function integrationsFilter(event: JSONObject, destination: string): IngestFailure | undefined {
  if (typeof event.type !== 'string' || !FILTERED_TYPES.includes(event.type) || !isObject(event.integrations))
    return undefined
  const integrations = event.integrations
  const flag = integrations[destination]
  const name = JSON.stringify(destination)
  const code = FILTERED_BY_INTEGRATIONS_OBJECT
  if (flag === false) {
    return {
      code,
      reason:
        `Filtered at destination: the event's integrations object sets ${name} to false, so Segment does not send ` +
        `it to ${destination}. Remove that flag to send events like this one.`
    }
  }
  if (integrations.All === false && flag !== true && !isObject(flag)) {
    const set = flag === undefined ? `does not name ${name}` : `sets ${name} to ${JSON.stringify(flag)}, not true`
    return {
      code,
      reason:
        `Filtered at destination: the event's integrations object sets "All" to false and ${set}, so Segment does ` +
        `not send it to ${destination}. Set ${name} to true (or an object of options) to send events like this one.`
    }
  }
  return undefined
}
