import { spawn } from 'child_process'
import type { ChildProcess } from 'child_process'
import * as fs from 'fs'
import * as net from 'net'
import * as path from 'path'

/**
 * `npm start` as a process manager, `kill PID` or a CI job stops it: a SIGTERM or a SIGINT sent to npm's pid alone
 * (not to its process group, as Ctrl-C in a terminal does) must stop the sandbox and the server, close both ports and
 * leave no process behind. npm runs the script through `sh -c`, which does not pass the signal on (see
 * `stopOnSignal`).
 *
 * `--ignore-scripts` leaves out `prestart` (the build, which `npm ci` in CI and `npm install` have already done): the
 * build would rewrite `dist/` while other test files read it. The `start` script itself runs as users run it, through
 * npm and its shell. Linux only (`/proc`), as CI.
 */

jest.setTimeout(120_000)

const ROOT = path.join(__dirname, '..')
/** Long enough for npm and both servers to start on a loaded machine. */
const START_TIMEOUT_MS = 60_000
/** How long the tools may take to stop after the signal. */
const STOP_TIMEOUT_MS = 10_000

/** Every process's parent, state and command line, from /proc. */
function processTable(): Map<number, { ppid: number; state: string; args: string }> {
  const table = new Map<number, { ppid: number; state: string; args: string }>()
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8')
      // The command name in parentheses may hold spaces; the fields after it are space-separated.
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const args = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim()
      table.set(Number(name), { ppid: Number(ppid), state, args })
    } catch {
      // The process ended while being read.
    }
  }
  return table
}

/** The pids of every process below `pid`. */
function descendants(pid: number): number[] {
  const table = processTable()
  const found: number[] = []
  let frontier = [pid]
  while (frontier.length) {
    const children = [...table].filter(([, info]) => frontier.includes(info.ppid)).map(([child]) => child)
    found.push(...children)
    frontier = children
  }
  return found
}

/** Whether a process runs (a zombie, dead but not yet reaped by an init that does not reap, counts as gone). */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

async function waitFor(what: string, timeoutMs: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}.`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

let npm: ChildProcess | undefined
let started: number[] = []

afterEach(() => {
  // Whatever a failed test left running was started here: stop it by its pid.
  for (const pid of [...started, npm?.pid].filter((pid): pid is number => pid !== undefined && running(pid))) {
    process.kill(pid, 'SIGKILL')
  }
  started = []
  npm = undefined
})

it.each(['SIGTERM', 'SIGINT'] as const)(
  'npm start stops on a %s sent to npm: both ports closed, no process left',
  async (signal) => {
    // A terminal's environment: free ports, the sandbox (no KOALA_API_URL), none of the npm running this test's.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name) && name !== 'KOALA_API_URL')
    )
    npm = spawn('npm', ['start', '--ignore-scripts'], {
      cwd: ROOT,
      env: { ...env, PORT: '0', KOALA_SANDBOX_PORT: '0', TRACKING_API_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let output = ''
    npm.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    npm.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
    let exited = false
    npm.once('exit', () => (exited = true))

    await waitFor('"Press Ctrl-C to stop."', START_TIMEOUT_MS, () => {
      if (exited) throw new Error(`npm start exited before it was ready:\n${output}`)
      return output.includes('Press Ctrl-C to stop.')
    })
    const sandboxPort = Number(/Koala sandbox listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1])
    const serverPort = Number(/local server listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1])
    started = descendants(npm.pid as number)
    const tool = started.find((pid) => /bin\/run start$/.test(processTable().get(pid)?.args ?? ''))
    expect(tool).toBeDefined()
    expect(await listening(sandboxPort)).toBe(true)
    expect((await fetch(`http://127.0.0.1:${serverPort}/manifest`)).status).toBe(200)

    process.kill(npm.pid as number, signal)

    await waitFor('npm to exit', STOP_TIMEOUT_MS, () => exited)
    await waitFor(`every process npm started (${started.join(', ')}) to end`, STOP_TIMEOUT_MS, () =>
      started.every((pid) => !running(pid))
    )
    expect(await listening(serverPort)).toBe(false)
    expect(await listening(sandboxPort)).toBe(false)
    // It stopped its servers itself rather than being killed.
    expect(output).toContain('\nStopping...\n')
  }
)
