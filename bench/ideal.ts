import { MultiStatusResponse } from '@segment/actions-core'
import type { DestinationDefinition, JSONObject, RequestClient } from '@segment/actions-core'
import { BATCH_CONCURRENCY, MAX_ENTRIES_PER_REQUEST } from '../src/destinations/koala-cloud/config'
import definition from '../src/destinations/koala-cloud'
import { ARRAY, asObject, ENDPOINT } from '../src/destinations/koala-cloud/functions'
import type { ActionKind } from '../src/destinations/koala-cloud/functions'
import type { Settings } from '../src/destinations/koala-cloud/generated-types'
import { pool } from '../src/destinations/koala-cloud/send'

/**
 * The limit of batch delivery on actions-core: the destination's own fields and presets (so the same mapping and
 * validation by the framework), with a `performBatch` that only groups its payloads into the minimum bodies,
 * serialises and sends them, `BATCH_CONCURRENCY` at a time, through the request client actions-core gives it, with the
 * destination's request options (the timeout is the harness's, as for the destination: bench/worker.ts runs both
 * through it). It validates and normalises nothing: it knows each payload's person from
 * `ownerOf` (`message_id` to the workload's person key, `profile_id \0 email`, or `domain \0 <domain>`), written
 * independently of the destination so the limit does not run the code it measures.
 */

type Payload = { [key: string]: unknown; message_id: string }

function entryOf(slug: ActionKind, payload: Payload): JSONObject {
  const { message_id } = payload
  const sent_at = String(payload.sent_at)
  if (slug === 'group') {
    return {
      type: 'identify',
      message_id,
      sent_at,
      traits: { ...asObject(payload.traits), group_id: String(payload.group_id) }
    }
  }
  const context = { ...asObject(payload.context), source: 'segment-cloud' }
  if (slug === 'identify') return { type: 'identify', message_id, sent_at, traits: asObject(payload.traits), context }
  const properties = asObject(payload.properties)
  if (slug === 'page') return { type: 'page', message_id, sent_at, name: String(payload.name), properties, context }
  return { type: 'track', event: String(payload.event), message_id, sent_at, properties, context }
}

/** @returns the fewest bodies that carry every payload: one per person (or company) per 30 entries, in order. */
export function idealBodies(slug: ActionKind, payloads: Payload[], ownerOf: Map<string, string>): JSONObject[] {
  const groups = new Map<string, Payload[]>()
  for (const payload of payloads) {
    const key = String(ownerOf.get(payload.message_id))
    const group = groups.get(key)
    if (group) group.push(payload)
    else groups.set(key, [payload])
  }
  const bodies: JSONObject[] = []
  for (const [key, group] of groups) {
    const [first, second] = key.split('\u0000')
    for (let start = 0; start < group.length; start += MAX_ENTRIES_PER_REQUEST) {
      const chunk = group.slice(start, start + MAX_ENTRIES_PER_REQUEST)
      const entries = chunk.map((payload) => entryOf(slug, payload))
      if (slug === 'group') {
        bodies.push({ domain: second, identifies: entries })
        continue
      }
      const body: JSONObject = {}
      if (first) body.profile_id = first
      if (second) body.email = second
      const traits: JSONObject = {}
      for (const payload of chunk) {
        if (typeof payload.device_ip === 'string') body.ip = payload.device_ip
        Object.assign(traits, asObject(payload.traits))
      }
      body.traits = traits
      body[ARRAY[slug]] = entries
      bodies.push(body)
    }
  }
  return bodies
}

function post(request: RequestClient, url: string, body: JSONObject) {
  return request(url, {
    method: 'POST',
    body: JSON.stringify(body),
    redirect: 'manual',
    throwHttpErrors: false
  })
}

/** @param projectUrl e.g. `https://api2.getkoala.com/web/projects/pk_bench_local`. */
export function idealDefinition(ownerOf: Map<string, string>, projectUrl: string): DestinationDefinition<Settings> {
  const actions: DestinationDefinition<Settings>['actions'] = {}
  for (const [slug, action] of Object.entries(definition.actions)) {
    actions[slug] = {
      ...action,
      perform: () => undefined,
      performBatch: async (request, { payload }: { payload: Payload[] }) => {
        const kind = slug as ActionKind
        const url = `${projectUrl}/${ENDPOINT[kind]}`
        await pool(
          idealBodies(kind, payload, ownerOf).map((body) => () => post(request, url, body)),
          BATCH_CONCURRENCY
        )
        const response = new MultiStatusResponse()
        payload.forEach((_item, index) =>
          response.setSuccessResponseAtIndex(index, { status: 200, sent: {}, body: '' })
        )
        return response
      }
    }
  }
  return { ...definition, actions }
}
