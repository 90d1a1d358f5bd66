import express from 'express'
import type { NextFunction, Request, Response } from 'express'
import http from 'http'
import { listenOnLoopback } from '../src/lib/loopback'
import { accountContractViolation, contractViolation, createSandbox } from '../src/sandbox/sandbox-server'
import { generateWorkload } from './workload'
import type { WorkloadOptions } from './workload'

/**
 * The benchmark's loopback Koala sink, run in its own child process (`fork`) so that its CPU never counts as the
 * client's. Two kinds:
 * - `bare` (default): a plain `http` server that parses each body, applies the sandbox's own contract check
 *   (`contractViolation` from src/sandbox) plus the benchmark's checks below, and answers `200 {"ok":true}`;
 * - `sandbox`: the project's express sandbox (`createSandbox`, bodies not kept) behind the same checks, to measure
 *   what the sandbox's overhead does to the numbers.
 *
 * Checks on every request: Koala's contract (a JSON object, `profile_id` or `email`, at most 30 entries per array,
 * each with `type`, `message_id`, `sent_at`), one person per request and every entry under its own person (the
 * person the workload generated it for), and every `message_id` delivered exactly once.
 *
 * Control is over IPC: `{ cmd: 'reset', close, latencyMs }` starts a measurement (counters to zero; `close` makes
 * every answer carry `Connection: close`, i.e. a new TCP connection per request), `{ cmd: 'stats' }` answers
 * {@link SinkStats}, `{ cmd: 'stop' }` exits. The sink also exits when its parent goes away.
 */

/** What the sink saw since the last reset. */
export interface SinkStats {
  requests: number
  /** Distinct message_ids accepted. */
  delivered: number
  /** Entries whose message_id had already been accepted. */
  duplicates: number
  /** Requests that broke Koala's contract (answered 400). */
  contractViolations: number
  /** Entries filed under another person than the one they belong to. */
  wrongPerson: number
  /** Entries whose message_id is not in the workload. */
  unknownIds: number
  /** The first few problems, for the report. */
  examples: string[]
  /** TCP connections accepted. */
  connections: number
  /** The sink's own CPU time (user + system), in milliseconds. */
  cpuMs: number
}

/** Messages the sink understands. */
export type SinkCommand = { cmd: 'reset'; close: boolean; latencyMs: number } | { cmd: 'stats' } | { cmd: 'stop' }

/** Messages the sink sends. */
export type SinkMessage =
  | { type: 'listening'; url: string }
  | { type: 'reset-done' }
  | { type: 'stats'; stats: SinkStats }

/** Arguments of the sink process, passed as one JSON argument. */
export interface SinkArguments {
  kind: 'bare' | 'sandbox'
  workload: WorkloadOptions
}

const ARRAYS = ['identifies', 'events', 'page_views'] as const

async function runSink(args: SinkArguments): Promise<void> {
  // message_id -> the person key it must be filed under.
  const expected = new Map<string, string>()
  for (const item of generateWorkload(args.workload).events) {
    if (item.event.messageId) expected.set(item.event.messageId, item.personKey)
  }

  let closeConnections = false
  let latencyMs = 0
  let stats: SinkStats
  let delivered = new Set<string>()
  let cpuStart = process.cpuUsage()

  const reset = () => {
    stats = {
      requests: 0,
      delivered: 0,
      duplicates: 0,
      contractViolations: 0,
      wrongPerson: 0,
      unknownIds: 0,
      examples: [],
      connections: 0,
      cpuMs: 0
    }
    delivered = new Set()
    cpuStart = process.cpuUsage()
  }
  reset()

  const note = (problem: string) => {
    if (stats.examples.length < 5) stats.examples.push(problem)
  }

  /**
   * Checks one parsed body and counts it. Returns the contract violation, if any (the request is then rejected
   * and its entries are not counted as delivered).
   */
  const inspect = (body: unknown, url = ''): string | undefined => {
    stats.requests++
    const isAccount = url.endsWith('/accounts/batch')
    const violation = isAccount ? accountContractViolation(body) : contractViolation(body)
    if (violation) {
      stats.contractViolations++
      note(`contract: ${violation}`)
      return violation
    }
    const record = body as Record<string, unknown>
    const person = isAccount
      ? `domain\u0000${String(record.domain)}`
      : `${typeof record.profile_id === 'string' ? record.profile_id : ''}\u0000${
          typeof record.email === 'string' ? record.email : ''
        }`
    for (const name of ARRAYS) {
      const list = record[name]
      if (!Array.isArray(list)) continue
      for (const entry of list as { message_id: string }[]) {
        const owner = expected.get(entry.message_id)
        if (owner === undefined) {
          stats.unknownIds++
          note(`unknown message_id ${entry.message_id}`)
        } else if (owner !== person) {
          stats.wrongPerson++
          note(`${entry.message_id} filed under ${JSON.stringify(person)}, belongs to ${JSON.stringify(owner)}`)
        }
        if (delivered.has(entry.message_id)) stats.duplicates++
        else delivered.add(entry.message_id)
      }
    }
    return undefined
  }

  const delay = () => (latencyMs > 0 ? new Promise((resolve) => setTimeout(resolve, latencyMs)) : Promise.resolve())

  let handler: http.RequestListener
  if (args.kind === 'bare') {
    handler = (req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => {
        const raw = Buffer.concat(chunks)
        let status = 200
        let answer = '{"ok":true}'
        if (req.method !== 'POST' || !/^\/web\/projects\/[^/]+\/(accounts\/)?batch$/.test(req.url ?? '')) {
          status = 404
          answer = '{"ok":false,"error":"Not found."}'
        } else {
          let body: unknown
          try {
            body = JSON.parse(raw.toString('utf8'))
          } catch {
            body = undefined
          }
          const violation = inspect(body, req.url)
          if (violation) {
            status = 400
            answer = JSON.stringify({ ok: false, error: violation })
          }
        }
        void delay().then(() => {
          const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/json' }
          if (closeConnections) headers.Connection = 'close'
          res.writeHead(status, headers)
          res.end(answer)
        })
      })
    }
  } else {
    const sandbox = createSandbox({ keepBodies: false })
    const app = express()
    app.use((_req: Request, res: Response, next: NextFunction) => {
      if (closeConnections) res.set('Connection', 'close')
      void delay().then(() => next())
    })
    // The sandbox's own express.json sees the body already parsed and leaves it be.
    app.use(express.json({ limit: 5 * 1024 * 1024, strict: false }))
    app.use((req: Request, _res: Response, next: NextFunction) => {
      if (req.method === 'POST') inspect(req.body, req.path)
      next()
    })
    app.use(sandbox.app)
    handler = app
  }

  function send(message: SinkMessage): void {
    process.send?.(message)
  }

  // Never outlive the benchmark.
  process.on('disconnect', () => process.exit(0))
  const running = await listenOnLoopback(handler, 0)
  running.server.on('connection', () => stats.connections++)
  send({ type: 'listening', url: running.url })

  process.on('message', (message: SinkCommand) => {
    if (message.cmd === 'reset') {
      closeConnections = message.close
      latencyMs = message.latencyMs
      reset()
      send({ type: 'reset-done' })
    } else if (message.cmd === 'stats') {
      const cpu = process.cpuUsage(cpuStart)
      send({ type: 'stats', stats: { ...stats, delivered: delivered.size, cpuMs: (cpu.user + cpu.system) / 1000 } })
    } else {
      void running.close().then(() => process.exit(0))
    }
  })
}

if (require.main === module) {
  runSink(JSON.parse(process.argv[2]) as SinkArguments).catch((error: unknown) => {
    // The orchestrator waits for `listening`; without it the benchmark cannot run, so fail loudly.
    console.error(error)
    process.exit(1)
  })
}
