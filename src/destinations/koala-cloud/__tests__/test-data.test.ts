import destination from '../index'
import { generateTestData, seededRandom } from './__helpers__/test-data'

// The snapshot tests' seeded data generator.

describe('seeded test data', () => {
  it('is the same for the same seed and differs between seeds', () => {
    const draw = (seed: string) => {
      const next = seededRandom(seed)
      return [next(), next(), next()]
    }
    expect(draw('a')).toEqual(draw('a'))
    expect(draw('a')).not.toEqual(draw('b'))
    for (const value of draw('c')) expect(value >= 0 && value < 1).toBe(true)
  })

  it('follows the field schema and the required-only rule', () => {
    const [all, settings] = generateTestData('seed', destination, destination.actions.track, false)
    const [required] = generateTestData('seed', destination, destination.actions.track, true)
    expect(Object.keys(all)).toEqual(Object.keys(destination.actions.track.fields))
    expect(Object.keys(required)).toEqual(['profile_id', 'event', 'sent_at', 'message_id'])
    for (const key of Object.keys(required)) expect(required[key]).toEqual(all[key])
    expect(settings.public_key).toMatch(/^[A-Za-z0-9]{24}$/)
    expect(all.email).toMatch(/^[a-z]+\.[a-z]{6}@example\.com$/)
    expect(all.device_ip).toMatch(/^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d+$/)
    expect(new Date(all.sent_at as string).toISOString()).toBe(all.sent_at)
    expect(typeof all.enable_batching).toBe('boolean')
    expect(all.batch_size).toEqual(expect.any(Number))
    expect((all.batch_size as number) >= 1 && (all.batch_size as number) <= 1000).toBe(true)
    expect(generateTestData('seed', destination, destination.actions.track, false)).toEqual([all, settings])
  })
})
