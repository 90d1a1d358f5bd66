import { startSandbox } from '../src/sandbox/sandbox-server'
import type { RunningSandbox } from '../src/sandbox/sandbox-server'
import { shortenProjectKey } from '../src/lib/text'

// The sandbox's one line per accepted batch: which project it was for, with the Public Key shortened, since the
// terminal it prints in may be shared or recorded. The sandbox does this with src/lib's helper, not the destination's.

describe('shortenProjectKey', () => {
  it.each([
    ['/web/projects/pk_live_abc/batch', '/web/projects/pk_l…/batch'],
    ['/web/projects/pk_live_abc/accounts/batch?x=1', '/web/projects/pk_l…/accounts/batch?x=1'],
    ['/web/projects/abcd/batch', '/web/projects/ab…/batch'],
    ['/web/projects/ab/batch', '/web/projects/a…/batch'],
    ['/web/projects/a/batch', '/web/projects/…/batch'],
    ['/__sandbox/stats', '/__sandbox/stats']
  ])('%s becomes %s', (input, shown) => {
    expect(shortenProjectKey(input)).toBe(shown)
  })
})

describe('the sandbox log', () => {
  const lines: string[] = []
  let sandbox: RunningSandbox
  beforeAll(async () => {
    sandbox = await startSandbox(0, { log: (line) => lines.push(line) })
  })
  afterAll(() => sandbox.close())

  const post = (path: string, body: unknown) =>
    fetch(`${sandbox.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body)
    })

  it('names the project of each accepted batch by its shortened key, never the whole key', async () => {
    const key = 'pk_sandbox_log_key'
    const sent = '2026-11-30T08:00:00.000Z'
    const person = await post(`/web/projects/${key}/batch`, {
      email: 'ada@example.com',
      identifies: [{ type: 'identify', message_id: 'log-1', sent_at: sent, traits: { name: 'Ada' } }]
    })
    const company = await post(`/web/projects/${key}/accounts/batch`, {
      domain: 'acme.com',
      identifies: [{ type: 'identify', message_id: 'log-2', sent_at: sent, traits: { name: 'Acme' } }]
    })
    expect([person.status, company.status]).toEqual([200, 200])
    expect(lines).toEqual([
      '[sandbox] /web/projects/pk_s…/batch: accepted 1 entry (identifies)',
      '[sandbox] /web/projects/pk_s…/accounts/batch: accepted 1 entry for acme.com'
    ])
  })
})
