import { Command } from 'commander'
import registerSandbox from '../src/cli/commands/sandbox'
import { listenOnLoopback } from '../src/lib/loopback'
import type { LoopbackServer } from '../src/lib/loopback'

/**
 * `./bin/run sandbox --port N`, as `serve --port N`: the option wins over KOALA_SANDBOX_PORT, a bad value is named
 * as `--port`, and a port in use gets a hint naming both ways to choose another. The sandbox it starts is stopped
 * through the stop function the command hands to `stopOnSignal` (replaced here, so no signal handler is left).
 */

const stops: (() => Promise<void>)[] = []
jest.mock('../src/lib/process', () => ({
  ...jest.requireActual('../src/lib/process'),
  stopOnSignal: (stop: () => Promise<void>) => stops.push(stop)
}))

const savedPort = process.env.KOALA_SANDBOX_PORT
let occupied: LoopbackServer

beforeAll(async () => {
  occupied = await listenOnLoopback(() => undefined, 0)
})

afterAll(() => occupied.close())

afterEach(async () => {
  jest.restoreAllMocks()
  if (savedPort === undefined) delete process.env.KOALA_SANDBOX_PORT
  else process.env.KOALA_SANDBOX_PORT = savedPort
  for (const stop of stops.splice(0)) await stop()
})

/** Runs `sandbox ...args` as the command line would; the lines it printed, or its error. */
async function runSandbox(args: string[]): Promise<{ lines: string[]; error?: Error }> {
  const lines: string[] = []
  jest.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line))
  const program = new Command().exitOverride()
  program.configureOutput({ writeErr: () => undefined })
  registerSandbox(program)
  try {
    await program.parseAsync(['node', 'run', 'sandbox', ...args])
    return { lines }
  } catch (error) {
    return { lines, error: error as Error }
  }
}

it('--port picks the port, over KOALA_SANDBOX_PORT', async () => {
  process.env.KOALA_SANDBOX_PORT = String(occupied.port)
  const { lines, error } = await runSandbox(['--port', '0'])
  expect(error).toBeUndefined()
  const port = Number(/^Koala sandbox listening on http:\/\/127\.0\.0\.1:(\d+) /.exec(lines[0])?.[1])
  expect(port).toBeGreaterThan(0)
  expect(port).not.toBe(occupied.port)
  const stats = await fetch(`http://127.0.0.1:${port}/__sandbox/stats`)
  expect(stats.status).toBe(200)
})

it('-p is its short form', async () => {
  const { lines, error } = await runSandbox(['-p', '0'])
  expect(error).toBeUndefined()
  expect(lines[0]).toMatch(/^Koala sandbox listening on http:\/\/127\.0\.0\.1:\d+ /)
})

it('refuses a --port that is not a port, naming the option', async () => {
  const { error } = await runSandbox(['--port', 'abc'])
  expect(error?.message).toBe('--port: the port "abc" is not a number from 0 to 65535 (0 picks a free port).')
})

it('a --port in use gets the hint naming --port and KOALA_SANDBOX_PORT', async () => {
  const port = occupied.port
  const { error } = await runSandbox(['--port', String(port)])
  expect(error?.message).toBe(
    `Could not listen on 127.0.0.1:${port}: the port is in use ` +
      `(listen EADDRINUSE: address already in use 127.0.0.1:${port}). Is another program using it? ` +
      'Choose another port with --port or KOALA_SANDBOX_PORT.'
  )
})
