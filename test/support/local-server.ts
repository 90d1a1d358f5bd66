import * as fs from 'fs'
import * as path from 'path'
import { createHarness } from '../../src/harness'
import type { Harness } from '../../src/harness'
import { startSandbox } from '../../src/sandbox/sandbox-server'
import type { RunningSandbox } from '../../src/sandbox/sandbox-server'
import { startServer } from '../../src/server/server'
import type { RunningServer } from '../../src/server/server'

// The local server over real loopback HTTP, in front of a real sandbox, for the server's test files.

export const repoRoot = path.join(__dirname, '..', '..')
export const example = (name: string): unknown =>
  JSON.parse(fs.readFileSync(path.join(repoRoot, 'examples', name), 'utf8'))

export const KEY = 'pk_example_sandbox_key'
export const SECRET_KEY = 'pk_live_s3cr3t_0123456789'
/** The Koala Secret Key of deletion requests the sandbox accepts. */
export const DELETION_KEY = 'sk_live_d3l3t3_0123456789'

/** The running sandbox and server of the current test file, the harness the server runs, and every line they logged. */
export const local = {
  sandbox: undefined as unknown as RunningSandbox,
  server: undefined as unknown as RunningServer,
  harness: undefined as unknown as Harness,
  logs: [] as string[]
}

/** A harness sending ingestion and deletion requests to `sandbox`, as `npm start` runs the destination. */
export const sandboxHarness = (sandbox: { url: string }, options: Parameters<typeof createHarness>[0] = {}): Harness =>
  createHarness({ apiUrl: sandbox.url, appUrl: sandbox.url, ...options })

/** Starts the sandbox and the server (sending to it) for the file's tests, on free ports; empties the sandbox per test. */
export function useLocalServer(): void {
  beforeAll(async () => {
    local.logs.length = 0
    local.sandbox = await startSandbox(0, {
      keys: [KEY, SECRET_KEY],
      secretKeys: [DELETION_KEY],
      log: (line) => local.logs.push(line)
    })
    local.harness = sandboxHarness(local.sandbox)
    local.server = await startServer(0, { log: (line) => local.logs.push(line), harness: local.harness })
  })
  afterAll(async () => {
    await local.server.close()
    await local.sandbox.close()
  })
  beforeEach(() => local.sandbox.reset())
}

/**
 * Runs `use` against a second local server, started for it alone with `harness` (e.g. sending to a closed port or to
 * another sandbox), and stops that server afterwards.
 */
export async function withServer<T>(harness: Harness, use: (base: string) => Promise<T>): Promise<T> {
  const server = await startServer(0, { log: (line) => local.logs.push(line), harness })
  try {
    return await use(server.url)
  } finally {
    await server.close()
  }
}

export interface Answer {
  status: number
  headers: Headers
  text: string
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked field by field
  body: any
}

/** Calls `route` on the main test server, or on the server at `init.base`. */
export async function call(
  route: string,
  init: { method?: string; body?: unknown; raw?: string; headers?: Record<string, string>; base?: string } = {}
): Promise<Answer> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) }
  let body: string | undefined = init.raw
  if (init.body !== undefined) {
    body = JSON.stringify(init.body)
    headers['content-type'] ??= 'application/json'
  }
  const response = await fetch(`${init.base ?? local.server.url}${route}`, {
    method: init.method ?? 'POST',
    headers,
    body
  })
  const text = await response.text()
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  return { status: response.status, headers: response.headers, text, body: parsed }
}

/** The body the local server answers a refused request with (actions-cli's shape). */
export const refusedWith = (statusCode: number, message: unknown) => [{ statusCode, requestError: true, message }]

export const identifyEvent = (overrides: Record<string, unknown> = {}) => ({
  type: 'identify',
  messageId: 'srv-identify-1',
  timestamp: '2026-11-30T10:00:00+02:00',
  traits: { email: ' Ada@Example.com ', name: 'Ada' },
  context: { ip: '203.0.113.5', library: { name: '@segment/analytics-node', version: '3.1.0' } },
  ...overrides
})
