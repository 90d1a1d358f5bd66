import { createTestEvent, createTestIntegration } from '@segment/actions-core'
import nock from 'nock'
import { generateTestData } from './__helpers__/test-data'
import { KOALA_API_URL } from '../config'
import destination from '../index'

// Destination-level snapshot test in the monorepo's style: for every action, seeded data generated from the
// action's own fields (required fields only, then all fields), Koala mocked with nock, request body snapshotted.
// It also sends both data sets through performBatch, mapped from the events with @path directives, to pin the
// batched body. Deterministic: seeded PRNG, fixed envelope, no clock or Math.random.
const testDestination = createTestIntegration(destination)
const destinationSlug = 'actions-koala-cloud'

const envelope = (messageId: string) => ({
  messageId,
  timestamp: '2026-01-01T00:00:00.000Z',
  sentAt: '2026-01-01T00:00:00.000Z',
  receivedAt: '2026-01-01T00:00:00.000Z'
})

/** Records the bodies Koala receives at one project's endpoints (a person's `batch`, a company's `accounts/batch`). */
function mockKoala(publicKey: string, bodies: unknown[]) {
  return nock(KOALA_API_URL)
    .persist()
    .post(new RegExp(`^/web/projects/${publicKey}/(accounts/)?batch$`))
    .reply(200, (_uri, body) => {
      bodies.push(body)
      return {}
    })
}

describe(`Testing snapshot for ${destinationSlug} destination:`, () => {
  for (const actionSlug of Object.keys(destination.actions)) {
    const seedName = `${destinationSlug}#${actionSlug}`

    for (const [label, isRequiredOnly] of [
      ['required fields', true],
      ['all fields', false]
    ] as const) {
      it(`${actionSlug} action - ${label}`, async () => {
        const action = destination.actions[actionSlug]
        const [eventData, settingsData] = generateTestData(seedName, destination, action, isRequiredOnly)
        const bodies: unknown[] = []
        mockKoala(settingsData.public_key, bodies)
        const event = createTestEvent({ ...envelope('snapshot-message-id'), properties: eventData })

        const responses = await testDestination.testAction(actionSlug, {
          event,
          mapping: event.properties,
          settings: settingsData,
          auth: undefined
        })

        expect(responses).toHaveLength(1)
        expect(bodies).toHaveLength(1)
        expect(JSON.parse(await responses[0].request.text())).toEqual(bodies[0])
        expect(bodies[0]).toMatchSnapshot()
      })
    }

    it(`${actionSlug} action - performBatch of both data sets`, async () => {
      const action = destination.actions[actionSlug]
      const [required, settingsData] = generateTestData(seedName, destination, action, true)
      const [all] = generateTestData(`${seedName}:batch`, destination, action, false)
      const bodies: unknown[] = []
      mockKoala(settingsData.public_key, bodies)
      // Map every field from the event's properties, so each event yields its own payload.
      const mapping = Object.fromEntries(
        Object.keys(action.fields).map((key) => [key, { '@path': `$.properties.${key}` }])
      )

      await testDestination.testBatchAction(actionSlug, {
        events: [
          createTestEvent({ ...envelope('snapshot-batch-1'), properties: required }),
          createTestEvent({ ...envelope('snapshot-batch-2'), properties: all })
        ],
        mapping,
        settings: settingsData,
        auth: undefined
      })

      const multistatus = (testDestination.results[0] as { multistatus: { status: number }[] }).multistatus
      expect(multistatus.map((result) => result.status)).toEqual([200, 200])
      // Two people (or companies), so two requests; sorted so concurrency cannot reorder the snapshot.
      const keyOf = (body: { profile_id?: string; account_id?: string }) => String(body.profile_id ?? body.account_id)
      const sorted = (bodies as { profile_id?: string; account_id?: string }[]).sort((a, b) =>
        keyOf(a).localeCompare(keyOf(b))
      )
      expect(sorted).toHaveLength(2)
      expect(sorted).toMatchSnapshot()
    })
  }
})
