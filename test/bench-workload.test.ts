import { accountContractViolation, contractViolation } from '../src/sandbox/sandbox-server'
import { numberFlag, UsageError } from '../bench/flags'
import { defaultValues, transform } from '@segment/actions-core'
import definition from '../src/destinations/koala-cloud'
import { idealBodies } from '../bench/ideal'
import { actionOf, DEFAULT_WORKLOAD, generateWorkload, minimumRequests, segmentBatches } from '../bench/workload'
import type { WorkloadOptions } from '../bench/workload'

// The ideal batch destination is the bench's limit: it is only as true as the bodies it sends.
const OPTIONS: WorkloadOptions = { ...DEFAULT_WORKLOAD, events: 3000, people: 200 }

describe('the bench workload', () => {
  const { events } = generateWorkload(OPTIONS)
  const batches = segmentBatches(events, 1000)

  it('is the same for the same options, in every process', () => {
    expect(JSON.stringify(generateWorkload(OPTIONS).events)).toBe(JSON.stringify(events))
    expect(JSON.stringify(generateWorkload({ ...OPTIONS, seed: 43 }).events)).not.toBe(JSON.stringify(events))
  })

  it('batches each action apart, at most 1000 events a batch, every event once', () => {
    expect(batches.every((batch) => batch.length <= 1000 && new Set(batch.map((i) => i.event.type)).size === 1)).toBe(
      true
    )
    expect(batches.flat().length).toBe(events.length)
  })

  it('gives the ideal destination bodies Koala accepts, as many as the minimum, every event in one', () => {
    const ownerOf = new Map(events.map((item) => [String(item.event.messageId), item.personKey]))
    const bodies = batches.flatMap((batch) => {
      const slug = actionOf(batch[0].event)
      const mapping = defaultValues(definition.actions[slug].fields)
      const payloads = batch.map((item) => transform(mapping, item.event as never) as { message_id: string })
      return idealBodies(slug, payloads, ownerOf)
    })
    expect(bodies).toHaveLength(minimumRequests(batches))
    const violations = bodies
      .map((body) => ('domain' in body ? accountContractViolation(body) : contractViolation(body)))
      .filter(Boolean)
    expect(violations).toEqual([])
    const ids = bodies.flatMap((body) =>
      ['identifies', 'events', 'page_views'].flatMap((name) =>
        ((body[name] ?? []) as { message_id: string }[]).map((entry) => entry.message_id)
      )
    )
    expect(ids.sort()).toEqual(events.map((item) => String(item.event.messageId)).sort())
  })
})

describe('numberFlag', () => {
  it('reads the text, or falls back when it is absent or empty', () => {
    expect(numberFlag('events', '250', 10, { min: 1, max: 1000 })).toBe(250)
    expect(numberFlag('events', undefined, 10, { min: 1, max: 1000 })).toBe(10)
    expect(numberFlag('events', '', 10, { min: 1, max: 1000 })).toBe(10)
    expect(numberFlag('share', '0.5', 1, { min: 0, max: 1, integer: false })).toBe(0.5)
  })

  it.each([
    ['events', '0', { min: 1, max: 1000 }, '--events must be an integer from 1 to 1000.'],
    ['events', '2.5', { min: 1, max: 1000 }, '--events must be an integer from 1 to 1000.'],
    ['events', 'ten', { min: 1, max: 1000 }, '--events must be an integer from 1 to 1000.'],
    ['share', '1.5', { min: 0, max: 1, integer: false }, '--share must be a number from 0 to 1.']
  ])('refuses --%s %s with a UsageError naming the range', (name, value, range, message) => {
    expect(() => numberFlag(name, value, 1, range)).toThrow(new UsageError(message))
    expect(() => numberFlag(name, value, 1, range)).toThrow(UsageError)
  })
})
