import { jsonErrorOffset } from '../src/tester/json-error'
import { createHarness } from '../src/harness'
import { startServer } from '../src/server/server'
import type { RunningServer } from '../src/server/server'
import { TESTER_CSP } from '../src/server/tester'

// The tester's files as the server serves them, its relay to the sandbox, and its JSON error locator.

describe('jsonErrorOffset', () => {
  it.each([
    ['{"a": 1}', -1],
    ['[1, 2, {"b": [true, false, null, -0.5e3, "x\\u00e9"]}]', -1],
    ['{"a": x}', 6],
    ['{"a": 1,}', 8],
    ['{"a" 1}', 5],
    ['[1 2]', 3],
    ['{"a": "b', 8],
    ['', 0],
    ['{"a": 1} x', 9],
    ['{"a": tru}', 9],
    ['"\\q"', 2],
    ['"\\u12G4"', 5],
    ['01', 1]
  ])('%p -> %p', (text, offset) => {
    expect(jsonErrorOffset(text)).toBe(offset)
    // It agrees with JSON.parse on what is valid.
    if (offset === -1) expect(() => void JSON.parse(text)).not.toThrow()
    else expect(() => void JSON.parse(text)).toThrow(SyntaxError)
  })
})

describe('the tester’s routes', () => {
  let server: RunningServer
  beforeAll(async () => {
    // Nothing listens on port 9: the relay must say there is no sandbox, not fail.
    server = await startServer(0, { harness: createHarness({ apiUrl: 'http://127.0.0.1:9' }) })
  })
  afterAll(async () => {
    await server.close()
  })

  it.each([
    ['/', 'text/html; charset=utf-8'],
    ['/tester/style.css', 'text/css; charset=utf-8'],
    ['/tester/app.js', 'text/javascript; charset=utf-8'],
    ['/tester/json-error.js', 'text/javascript; charset=utf-8']
  ])('%s is served as %s under a strict Content-Security-Policy', async (route, type) => {
    const response = await fetch(`${server.url}${route}`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe(type)
    expect(response.headers.get('content-security-policy')).toBe(TESTER_CSP)
    expect(response.headers.get('x-content-type-options')).toBe('nosniff')
  })

  it('the page has no inline script or style and names no other origin', async () => {
    const html = await (await fetch(`${server.url}/`)).text()
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/)
    expect(html).not.toMatch(/<style|style=/)
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//)
    expect(TESTER_CSP).toContain("script-src 'self'")
    expect(TESTER_CSP).not.toMatch(/unsafe|https?:/)
  })

  it('lists the examples, the real ones from the fixtures included', async () => {
    const examples = (await (await fetch(`${server.url}/tester/examples`)).json()) as { file: string }[]
    expect(examples.map((example) => example.file)).toEqual(
      expect.arrayContaining(['identify.json', 'batch.json', 'real-page.json', 'real-group.json'])
    )
    expect(examples.map((example) => example.file)).not.toContain('authenticate.json')
  })

  it('says there is no sandbox when none answers where the harness sends', async () => {
    expect(await (await fetch(`${server.url}/tester/sandbox/stats`)).json()).toEqual({
      sandbox: false,
      url: 'http://127.0.0.1:9'
    })
  })

  it('says there is no sandbox when the harness sends to Koala itself, without calling it', async () => {
    const remote = await startServer(0, { harness: createHarness() })
    try {
      expect(await (await fetch(`${remote.url}/tester/sandbox/received`)).json()).toEqual({
        sandbox: false,
        url: 'https://api2.getkoala.com'
      })
    } finally {
      await remote.close()
    }
  })
})
