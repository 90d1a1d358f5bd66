import http from 'http'
import { listenOnLoopback } from '../src/lib/loopback'
import { accountContractViolation, contractViolation } from '../src/sandbox/sandbox-server'
import { generateWorkload } from './workload'
import type { WorkloadOptions } from './workload'

/**
 * The benchmark's Koala: a plain `http` server on loopback in a child process of its own, so that its CPU never
 * counts as the client's. It answers `200 {"ok":true}`, or 400 with the reason when a body breaks Koala's contract
 * (the sandbox's own `contractViolation` and `accountContractViolation`), and checks every entry: filed under the
 * person (or company) the workload generated it for, and every `message_id` delivered once.
 *
 * Over IPC: `{ cmd: 'reset', workload }` zeroes the counters for a run of that workload, `{ cmd: 'stats' }` answers
 * {@link SinkStats}, `{ cmd: 'stop' }` exits; so does losing the parent.
 */

export interface SinkStats {
  requests: number
  /** Distinct message_ids accepted. */
  delivered: number
  /** Entries whose message_id had already been accepted. */
  duplicates: number
  /** Requests refused with 400. */
  contractViolations: number
  /** Entries filed under another person than the one they belong to. */
  wrongPerson: number
  /** Entries whose message_id is not in the workload. */
  unknownIds: number
  /** The first few problems, for the report. */
  examples: string[]
}

export type SinkCommand = { cmd: 'reset'; workload: WorkloadOptions } | { cmd: 'stats' } | { cmd: 'stop' }

export type SinkMessage =
  | { type: 'listening'; url: string }
  | { type: 'reset-done' }
  | { type: 'stats'; stats: SinkStats }

const ARRAYS = ['identifies', 'events', 'page_views'] as const

async function runSink(): Promise<void> {
  const expectedByWorkload = new Map<string, Map<string, string>>()
  // message_id -> the key of the person or company it must be filed under.
  let expected = new Map<string, string>()
  const zero = (): SinkStats => ({
    requests: 0,
    delivered: 0,
    duplicates: 0,
    contractViolations: 0,
    wrongPerson: 0,
    unknownIds: 0,
    examples: []
  })
  // Warm-up requests arrive before the first reset.
  let stats = zero()
  let delivered = new Set<string>()

  const reset = (workload: WorkloadOptions) => {
    const key = JSON.stringify(workload)
    let owners = expectedByWorkload.get(key)
    if (!owners) {
      owners = new Map(generateWorkload(workload).events.map((item) => [String(item.event.messageId), item.personKey]))
      expectedByWorkload.set(key, owners)
    }
    expected = owners
    stats = zero()
    delivered = new Set()
    // The last run's garbage is not this run's cost (the sink runs with --expose-gc).
    global.gc?.()
  }

  const note = (problem: string) => {
    if (stats.examples.length < 5) stats.examples.push(problem)
  }

  /** Counts one parsed body. @returns the contract violation; its entries are then not delivered. */
  const inspect = (body: unknown, url: string): string | undefined => {
    stats.requests++
    const isAccount = url.endsWith('/accounts/batch')
    const violation = isAccount ? accountContractViolation(body) : contractViolation(body)
    if (violation) {
      stats.contractViolations++
      note(`contract: ${violation}`)
      return violation
    }
    const record = body as Record<string, unknown>
    const owner = isAccount
      ? `domain\u0000${String(record.domain)}`
      : `${typeof record.profile_id === 'string' ? record.profile_id : ''}\u0000${
          typeof record.email === 'string' ? record.email : ''
        }`
    for (const name of ARRAYS) {
      const list = record[name]
      if (!Array.isArray(list)) continue
      for (const entry of list as { message_id: string }[]) {
        const expectedOwner = expected.get(entry.message_id)
        if (expectedOwner === undefined) {
          stats.unknownIds++
          note(`unknown message_id ${entry.message_id}`)
        } else if (expectedOwner !== owner) {
          stats.wrongPerson++
          note(`${entry.message_id} filed under ${JSON.stringify(owner)}, belongs to ${JSON.stringify(expectedOwner)}`)
        }
        if (delivered.has(entry.message_id)) stats.duplicates++
        else delivered.add(entry.message_id)
      }
    }
    return undefined
  }

  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      let status = 200
      let answer = '{"ok":true}'
      if (req.method !== 'POST' || !/^\/web\/projects\/[^/]+\/(accounts\/)?batch$/.test(req.url ?? '')) {
        status = 404
        answer = '{"ok":false,"error":"Not found."}'
      } else {
        let body: unknown
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'))
        } catch {
          body = undefined
        }
        const violation = inspect(body, String(req.url))
        if (violation) {
          status = 400
          answer = JSON.stringify({ ok: false, error: violation })
        }
      }
      res.writeHead(status, { 'Content-Type': 'application/json' })
      res.end(answer)
    })
  }

  const send = (message: SinkMessage) => process.send?.(message)
  process.on('disconnect', () => process.exit(0))
  const running = await listenOnLoopback(handler, 0)
  send({ type: 'listening', url: running.url })
  process.on('message', (message: SinkCommand) => {
    if (message.cmd === 'reset') {
      reset(message.workload)
      send({ type: 'reset-done' })
    } else if (message.cmd === 'stats') {
      send({ type: 'stats', stats: { ...stats, delivered: delivered.size } })
    } else {
      void running.close().then(() => process.exit(0))
    }
  })
}

if (require.main === module) {
  runSink().catch((error: unknown) => {
    // Without `listening` the benchmark cannot run: fail loudly.
    console.error(error)
    process.exit(1)
  })
}
