import fs from 'fs'
import path from 'path'
import { FIXTURES_DIR, readFixtureEvents } from '../src/cli/lib/definition-validator'
import { startSandbox } from '../src/sandbox/sandbox-server'
import type { RunningSandbox } from '../src/sandbox/sandbox-server'
import { createHarness } from '../src/harness'
import { startServer } from '../src/server/server'
import type { RunningServer } from '../src/server/server'

// The page and group examples of docs/local-tools.md, sent as a new user sends them: to the local server, which sends to the
// sandbox. The sandbox then holds the page view under its person and the company traits under the company's domain.

const example = (name: string) => fs.readFileSync(path.join(__dirname, '..', 'examples', name), 'utf8')

let sandbox: RunningSandbox
let server: RunningServer
beforeAll(async () => {
  sandbox = await startSandbox(0, { keys: ['pk_example_sandbox_key'] })
  server = await startServer(0, { harness: createHarness({ apiUrl: sandbox.url, appUrl: sandbox.url }) })
})
afterAll(async () => {
  await server.close()
  await sandbox.close()
})
beforeEach(() => sandbox.reset())

async function post(route: string, file: string): Promise<unknown[]> {
  const response = await fetch(`${server.url}/${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: example(file)
  })
  expect(response.status).toBe(200)
  return (await response.json()) as unknown[]
}

it('examples/page.json: a page view under its person', async () => {
  await post('page', 'page.json')
  expect(sandbox.received).toStrictEqual([
    {
      email: 'jordan.rivera@acme.example.com',
      ip: '203.0.113.24',
      traits: { email: 'jordan.rivera@acme.example.com' },
      page_views: [
        {
          type: 'page',
          message_id: 'example-page-0001',
          sent_at: '2026-11-30T03:58:12.400Z',
          name: 'Pricing',
          properties: {
            url: 'https://www.example.com/pricing?plan=growth',
            path: '/pricing',
            search: '?plan=growth',
            title: 'Pricing | Example',
            referrer: 'https://www.example.com/docs'
          },
          context: {
            ip: '203.0.113.24',
            traits: { email: 'jordan.rivera@acme.example.com' },
            library: { name: '@segment/analytics-node', version: '3.1.0' },
            source: 'segment-cloud'
          }
        }
      ]
    }
  ])
})

it('examples/group.json: company traits under the company’s domain', async () => {
  await post('group', 'group.json')
  expect(sandbox.received).toStrictEqual([
    {
      domain: 'acme.example.com',
      identifies: [
        {
          type: 'identify',
          message_id: 'example-group-0001',
          sent_at: '2026-11-30T03:57:07.310Z',
          traits: {
            name: 'Acme Analytics',
            website: 'https://www.acme.example.com',
            employees: 120,
            industry: 'Software',
            plan: 'growth',
            group_id: 'org_acme_551'
          }
        }
      ]
    }
  ])
  expect(sandbox.stats()).toMatchObject({ requests: 0, accounts: { requests: 1, accepted: 1, entries: 1 } })
})

it('examples/group-batch.json: two tenants of one company in one request, each with its group_id', async () => {
  const answer = await post('group', 'group-batch.json')
  expect(sandbox.received).toHaveLength(1)
  expect(sandbox.received[0]).toMatchObject({
    domain: 'acme.example.com',
    identifies: [
      { message_id: 'example-group-batch-0001', traits: { group_id: 'workspace_acme_eu' } },
      { message_id: 'example-group-batch-0002', traits: { group_id: 'workspace_acme_us' } }
    ]
  })
  const multistatus = (answer[answer.length - 1] as { multistatus: { status: number }[] }).multistatus
  expect(multistatus.map((entry) => entry.status)).toEqual([200, 200])
})

it.each([
  ['real-identify.json', 'analytics-node.json[2]'],
  ['real-track.json', 'analytics-node.json[3]'],
  ['real-page.json', 'analytics-node.json[0]'],
  ['real-group.json', 'analytics-node.json[7]']
])('examples/%s is the real event %s, unchanged', (file, source) => {
  const real = readFixtureEvents(FIXTURES_DIR).find((item) => item.source === source)
  expect((JSON.parse(example(file)) as { payload: unknown }).payload).toStrictEqual(real?.event)
})
