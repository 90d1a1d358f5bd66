import { createTestEvent, createTestIntegration } from '@segment/actions-core'
import nock from 'nock'
import { generateTestData } from './test-data'
import { KOALA_API_URL, USER_AGENT } from '../../config'
import destination from '../../index'

const testDestination = createTestIntegration(destination)
const destinationSlug = 'koala-cloud'

// Fixed envelope: with a literal mapping only the generated data reaches the body, but nothing random should exist.
const envelope = {
  messageId: 'snapshot-message-id',
  timestamp: '2026-01-01T00:00:00.000Z',
  sentAt: '2026-01-01T00:00:00.000Z',
  receivedAt: '2026-01-01T00:00:00.000Z'
}

async function sendGenerated(actionSlug: string, isRequiredOnly: boolean) {
  const seedName = `${destinationSlug}#${actionSlug}`
  const action = destination.actions[actionSlug]
  const [eventData, settingsData] = generateTestData(seedName, destination, action, isRequiredOnly)
  const endpoint = actionSlug === 'group' ? 'accounts/batch' : 'batch'
  const scope = nock(KOALA_API_URL).post(`/web/projects/${settingsData.public_key}/${endpoint}`).reply(200, {})
  const event = createTestEvent({ ...envelope, properties: eventData })
  const responses = await testDestination.testAction(actionSlug, {
    event,
    mapping: event.properties,
    settings: settingsData,
    auth: undefined
  })
  expect(scope.isDone()).toBe(true)
  expect(responses).toHaveLength(1)
  return responses[0].request
}

/**
 * The monorepo-style snapshot test of one action: seeded data generated from the action's own fields, sent as a
 * literal mapping, Koala mocked with nock, the request body snapshotted. The data is deterministic (seeded PRNG), so
 * a snapshot changes only when the fields or the request building change. Each action's `snapshot.test.ts` calls it.
 *
 * @param actionSlug an action's key.
 */
export function describeActionSnapshots(actionSlug: string): void {
  describe(`Testing snapshot for ${destinationSlug}'s ${actionSlug} destination action:`, () => {
    it('required fields', async () => {
      const request = await sendGenerated(actionSlug, true)
      expect(request.headers.get('user-agent')).toBe(USER_AGENT)
      expect(request.headers.get('content-type')).toBe('application/json')
      expect(JSON.parse(await request.text())).toMatchSnapshot()
    })

    it('all fields', async () => {
      const request = await sendGenerated(actionSlug, false)
      expect(JSON.parse(await request.text())).toMatchSnapshot()
    })
  })
}
