import * as fs from 'fs'
import type { JSONObject } from '@segment/actions-core'
import definition from '../src/destinations/koala-cloud'
import { contractViolation } from '../src/sandbox/sandbox-server'
import { PEER_VERSION } from '../bench/peer'
import {
  DELIBERATE,
  deliver,
  differentialEvents,
  HAND_MADE,
  NOT_DELIVERED,
  PUBLISHED_RECORD_PATH
} from './support/differential'
import type { Delivery, PublishedRecord } from './support/differential'

// Issue 17: under a mapping saved with the published Koala (Cloud), every event it delivers, ours delivers to the same
// person with the same ip. The published destination's requests are a committed record (`npm run record:published`,
// bench/record-published.ts), not run here: packing it takes the registry and half a minute at every test run, and
// it must never be a dependency. Ours runs live against that record.

const record = JSON.parse(fs.readFileSync(PUBLISHED_RECORD_PATH, 'utf8')) as PublishedRecord

/** Koala as the sandbox states its contract: 400 with the reason for a body it refuses, else 200. */
const koala = (body: JSONObject): [number, JSONObject] => {
  const reason = contractViolation(body)
  return reason === undefined ? [200, { ok: true }] : [400, { error: reason }]
}

/**
 * The one body Koala accepted for the event, or undefined when it was not delivered. The record's requests were all
 * answered 200 (the published code reads no answer); Koala's contract says which of them it would have accepted.
 */
function delivered(delivery: Delivery): JSONObject | undefined {
  if (delivery.error !== undefined || delivery.requests.length !== 1) return undefined
  const { body } = delivery.requests[0]
  return koala(body)[0] === 200 ? body : undefined
}

/** Who Koala files the body under and the ip it matches a company by; the email trimmed and lowercased. */
function person(body: JSONObject) {
  const email = typeof body.email === 'string' ? body.email.trim().toLowerCase() : body.email
  return JSON.stringify({ profile_id: body.profile_id, email, ip: body.ip })
}

describe('the record of the published destination', () => {
  it('is of the published version the benchmark compares with', () => {
    expect({ package: record.package, version: record.version, folder: record.folder }).toEqual({
      package: '@segment/action-destinations',
      version: PEER_VERSION,
      folder: 'dist/destinations/koala'
    })
  })

  it('holds exactly the current events, in order, each with what the published destination did', () => {
    // An event added, changed or removed without `npm run record:published` fails here, never silently.
    expect(record.outputs.map(({ id, event }) => ({ id, event }))).toEqual(differentialEvents())
  })

  it('has the published destination deliver every hand-made event, and none of the not-delivered ones', () => {
    // Else a class of issue 17 could drop out of the comparison below unnoticed.
    const outcome = (id: string) =>
      delivered(record.outputs.find((output) => output.id === id) as Delivery) !== undefined
    const deliveredByPublished = [...HAND_MADE, ...DELIBERATE.filter((item) => !item.koalaRefusedPublished)]
    expect(deliveredByPublished.filter(({ id }) => !outcome(id)).map(({ id }) => id)).toEqual([])
    expect(NOT_DELIVERED.filter(({ id }) => outcome(id)).map(({ id }) => id)).toEqual([])
  })

  it('has the published destination send the events Koala refuses from it in one request, refused for that reason', () => {
    const refusedByKoala = DELIBERATE.filter((item) => item.koalaRefusedPublished)
    expect(refusedByKoala.length).toBeGreaterThan(0)
    for (const item of refusedByKoala) {
      const output = record.outputs.find(({ id }) => id === item.id) as Delivery
      expect({ error: output.error, requests: output.requests.length }).toEqual({ error: undefined, requests: 1 })
      expect(koala(output.requests[0].body)).toEqual([400, { error: item.koalaRefusedPublished }])
    }
  })

  it('saved the published presets as the subscriptions', () => {
    expect(record.subscriptions.map((subscription) => [subscription.name, subscription.partnerAction])).toEqual([
      ['Track Calls', 'track'],
      ['Identify Calls', 'identify']
    ])
  })
})

describe('under the published presets as saved subscriptions', () => {
  const deliberate = new Set(DELIBERATE.map(({ id }) => id))
  const deliveredByPublished = record.outputs.filter(
    (output) => delivered(output) !== undefined && !deliberate.has(output.id)
  )

  it('the record has the 16 real events the published destination delivered', () => {
    expect(deliveredByPublished.filter(({ id }) => id.includes('.ndjson:'))).toHaveLength(16)
  })

  it.each(deliveredByPublished.map((output) => [output.id, output] as const))(
    '%s: ours delivers it to the same profile_id and email, with the same ip',
    async (id, output) => {
      const ours = await deliver(definition, record.subscriptions, output.event, koala)
      const published = delivered(output) as JSONObject
      const body = delivered(ours)
      const mismatch =
        body !== undefined && person(body) === person(published)
          ? undefined
          : `${id}: the published destination delivered ${JSON.stringify(published)}, ours ` +
            `${body ? `delivered ${JSON.stringify(body)}` : `did not: ${JSON.stringify(ours)}`}, ` +
            `for the event ${JSON.stringify(output.event)}`
      expect(mismatch).toBeUndefined()
    }
  )
})

describe('where ours differs on purpose from what the published destination delivered', () => {
  it.each(DELIBERATE.map((item) => [item.id, item.why, item] as const))('%s: %s', async (_id, _why, item) => {
    const ours = await deliver(definition, record.subscriptions, item.event, koala)
    if ('refused' in item.ours) {
      expect(ours.requests).toEqual([])
      expect(ours.error).toMatch(/^PayloadValidationError: /)
      expect(ours.error).toContain(item.ours.refused)
    } else {
      const body = delivered(ours)
      expect(body && person(body)).toBe(person(item.ours.person))
    }
  })
})
