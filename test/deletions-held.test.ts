import type { DestinationDefinition } from '@segment/actions-core'
import { createHarness, DELETIONS_HELD, KOALA_APP_URL } from '../src/harness'
import type { Settings } from '../src/harness'
import { deletionsHeldReason, koalaOptionsFromEnv } from '../src/cli/lib/local-server'
import { startBoth } from '../src/cli/lib/start-both'
import { startSandbox } from '../src/sandbox/sandbox-server'
import type { RunningSandbox } from '../src/sandbox/sandbox-server'

// With KOALA_API_URL set (events go to a sandbox elsewhere, or staging) and KOALA_APP_URL unset, a deletion would go
// to Koala's production app: the local tools send none, say so in the banner and in /delete's answer, and send them
// only where KOALA_APP_URL says, https://app.getkoala.com included when the user sets it.

const ENV_NAMES = ['PORT', 'KOALA_SANDBOX_PORT', 'TRACKING_API_PORT', 'KOALA_API_URL', 'KOALA_APP_URL']
const savedEnv = Object.fromEntries(ENV_NAMES.map((name) => [name, process.env[name]]))
beforeEach(() => {
  for (const name of ENV_NAMES) delete process.env[name]
})
afterEach(() => {
  for (const name of ENV_NAMES) {
    if (savedEnv[name] === undefined) delete process.env[name]
    else process.env[name] = savedEnv[name]
  }
})

const HELD =
  'Deletion requests are not sent: KOALA_API_URL sends events to http://127.0.0.1:4998, and KOALA_APP_URL is ' +
  "unset, so a deletion would go to Koala's production app (https://app.getkoala.com), not where the events went. " +
  'Set KOALA_APP_URL to where deletions should go, or to https://app.getkoala.com to send them to Koala.'

test.each([
  ['KOALA_API_URL alone: held', { KOALA_API_URL: 'http://127.0.0.1:4998/' }, HELD],
  [
    'KOALA_APP_URL set too',
    { KOALA_API_URL: 'http://127.0.0.1:4998', KOALA_APP_URL: 'http://127.0.0.1:4999' },
    undefined
  ],
  [
    "KOALA_APP_URL set to Koala's production app: the user asked for it",
    { KOALA_API_URL: 'http://127.0.0.1:4998', KOALA_APP_URL: KOALA_APP_URL },
    undefined
  ],
  ["KOALA_API_URL set to Koala's own API", { KOALA_API_URL: 'https://api2.getkoala.com/' }, undefined],
  ['neither set', {}, undefined]
])('%s', (_name, env: Record<string, string>, held) => {
  Object.assign(process.env, env)
  expect(koalaOptionsFromEnv().deletionsHeld).toBe(held)
})

test('held, onDelete sends nothing and fails with the reason (400, DELETIONS_NOT_SENT)', async () => {
  const sent: string[] = []
  const definition = {
    name: 'Stub',
    mode: 'cloud',
    onDelete: async (request) => {
      sent.push('deletion')
      return request(`${KOALA_APP_URL}/api/v1/deletion-requests`, { method: 'POST' })
    },
    actions: {}
  } as DestinationDefinition<Settings>
  const harness = createHarness({ definition, deletionsHeld: HELD })
  const failure = await harness
    .deletePerson({ userId: 'a@example.com' }, { public_key: 'pk_1' })
    .catch((error: unknown) => error)
  expect(failure).toMatchObject({ message: HELD, code: DELETIONS_HELD, status: 400 })
  expect(sent).toEqual([])
})

describe('npm start with KOALA_API_URL and no KOALA_APP_URL', () => {
  let elsewhere: RunningSandbox
  beforeAll(async () => {
    elsewhere = await startSandbox(0)
  })
  afterAll(() => elsewhere.close())

  test('the banner says deletions go nowhere, and /delete answers why', async () => {
    Object.assign(process.env, { PORT: '0', TRACKING_API_PORT: '0', KOALA_API_URL: elsewhere.url })
    const lines: string[] = []
    const started = await startBoth((line) => lines.push(line))
    try {
      expect(lines[1].split('\n')[0]).toBe(
        `Koala (Cloud) local server listening on ${started.server.url} (actions-cli compatible), sending to ` +
          `${elsewhere.url}, deletion requests nowhere (KOALA_APP_URL is unset; set it to https://app.getkoala.com ` +
          'to send them to Koala)'
      )
      const response = await fetch(`${started.server.url}/delete`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          payload: { userId: 'jordan.rivera@acme.example.com' },
          settings: { public_key: 'pk_example_sandbox_key', secret_key: 'sk_example' }
        })
      })
      expect(response.status).toBe(200)
      expect(await response.json()).toEqual([
        { statusCode: 400, message: deletionsHeldReason(elsewhere.url), requestError: true }
      ])
      expect(elsewhere.stats().requests).toBe(0)
    } finally {
      await started.close()
    }
  })
})
