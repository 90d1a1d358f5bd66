import { spawn } from 'child_process'
import type { ChildProcess } from 'child_process'
import * as fs from 'fs'
import * as path from 'path'

/** Helpers of the tests that run `start` in a process of its own (`npm start` or `node bin/run start`). */

export const ROOT = path.join(__dirname, '..', '..')
/** Long enough for npm and the servers to start on a loaded machine. */
export const START_TIMEOUT_MS = 60_000

/** A spawned `start`: its output so far, whether and how it exited. */
export interface Started {
  child: ChildProcess
  output: () => string
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  exited: () => boolean
}

/**
 * Spawns `command` in the project with a terminal's environment (none of this test's npm variables), free ports and
 * `env` over it.
 */
export function spawnStart(
  command: string,
  args: string[],
  env: Record<string, string>,
  options: { detached?: boolean } = {}
): Started {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) && name !== 'KOALA_API_URL')
  ) as Record<string, string>
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...base, PORT: '0', KOALA_SANDBOX_PORT: '0', TRACKING_API_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false
  })
  let output = ''
  let done = false
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      done = true
      resolve({ code, signal })
    })
  )
  return { child, output: () => output, exit, exited: () => done }
}

export async function waitFor(what: string, timeoutMs: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** Waits for "Press Ctrl-C to stop." and returns the Tracking API's and the sandbox's URLs from the banner. */
export async function ready(started: Started): Promise<{ tracking: string; sandbox?: string }> {
  await waitFor('"Press Ctrl-C to stop."', START_TIMEOUT_MS, () => {
    if (started.exited()) throw new Error(`start exited before it was ready:\n${started.output()}`)
    return started.output().includes('Press Ctrl-C to stop.')
  })
  const text = started.output()
  const tracking = /Segment Tracking API listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1]
  if (!tracking) throw new Error(`No Tracking API in the banner:\n${text}`)
  const sandbox = /Koala sandbox listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1]
  return { tracking, sandbox }
}

/** `count` identify calls Koala accepts (each has an email), with message ids `<prefix>-0`, `<prefix>-1`, .... */
export function identifies(prefix: string, count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, index) => ({
    type: 'identify',
    messageId: `${prefix}-${index}`,
    userId: `user-${index}`,
    traits: { email: `person${index}@example.com` }
  }))
}

/** Posts `batch` to the Tracking API's `/v1/batch`; returns the status. */
export async function postBatch(tracking: string, batch: Record<string, unknown>[]): Promise<number> {
  const response = await fetch(`${tracking}/v1/batch`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ writeKey: 'test-key', batch })
  })
  await response.text()
  return response.status
}

/** The distinct message ids the sandbox at `sandbox` holds, from `GET /__sandbox/received`. */
export async function receivedIds(sandbox: string): Promise<string[]> {
  const bodies = (await (await fetch(`${sandbox}/__sandbox/received`)).json()) as {
    body?: Record<string, { message_id?: string }[]>
  }[]
  const ids = new Set<string>()
  const visit = (value: unknown) => {
    if (Array.isArray(value)) return value.forEach(visit)
    if (!value || typeof value !== 'object') return
    const record = value as Record<string, unknown>
    if (typeof record.message_id === 'string') ids.add(record.message_id)
    Object.values(record).forEach(visit)
  }
  visit(bodies)
  return [...ids].sort()
}

/** The pid of the process `start` runs in below npm (`exec node bin/run start` replaces npm's shell), from /proc. */
export function toolPid(npmPid: number): number | undefined {
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      const args = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ')
      if (ppid === npmPid && /bin\/run start/.test(args)) return Number(name)
    } catch {
      // The process ended while being read.
    }
  }
  return undefined
}
