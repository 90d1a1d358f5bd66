import express, { type NextFunction, type Request, type Response } from 'express'
import { MAX_ENTRIES_PER_REQUEST, redactProjectUrl } from '../destinations/koala-cloud/config'
import { listenOnLoopback } from '../lib/loopback'

/**
 * A local stand-in for Koala's ingestion API, enforcing the contract Koala documents for
 * `POST /web/projects/{public_key}/batch`: a JSON object body; `profile_id` or `email`; `identifies`, `events` and
 * `page_views` arrays of at most 30 entries, each with `type`, `message_id` and `sent_at`; a `User-Agent` header.
 * It answers with Koala's statuses: 400 with a reason, 401 for unknown keys, 413 for a body over the limit,
 * 200 `{ ok: true }` otherwise. It listens on loopback only.
 */

/** Fault kinds the sandbox can inject, each with a probability per batch request (0..1). */
export interface SandboxFaults {
  /** Answer 500. */
  '500'?: number
  /** Answer 503. */
  '503'?: number
  /** Answer 429 with `Retry-After: 1`. */
  '429'?: number
  /** Destroy the connection without answering. */
  reset?: number
  /** Wait `slowMs` before handling the request normally. */
  slow?: number
  /**
   * Accept the request (its entries count as received) and then destroy the connection without answering: the
   * caller sees a dropped connection although Koala kept the data, as after a timeout, so its retry is a duplicate.
   */
  'accept-reset'?: number
}

/** Every fault kind, in the order {@link parseFaults} documents and probabilities are laid out. */
const FAULT_KINDS = ['500', '503', '429', 'reset', 'slow', 'accept-reset'] as const

/** Options of {@link createSandbox}. */
export interface SandboxOptions {
  /** Accepted public keys; any key when empty or absent. */
  keys?: string[]
  /** Fault probabilities; none by default. */
  faults?: SandboxFaults
  /** Delay of the `slow` fault, in milliseconds (default 1500). */
  slowMs?: number
  /** Largest accepted body, in bytes (default 5 MB); larger bodies get 413. */
  bodyLimitBytes?: number
  /** Keep every accepted body for `GET /__sandbox/received` (default true; the benchmark turns it off). */
  keepBodies?: boolean
  /** Where the one line per accepted batch goes (default: nowhere). */
  log?: (line: string) => void
  /** Random source for faults, for reproducible runs (default `Math.random`). */
  random?: () => number
}

/** Counters served at `GET /__sandbox/stats`. */
export interface SandboxStats {
  /** Batch requests received, whatever their outcome. */
  requests: number
  /** Batch requests answered 200. */
  accepted: number
  /** Batch requests answered with an error, by status (faults included). */
  rejected: Record<string, number>
  /** Faults injected, by kind. */
  faults: Record<string, number>
  /** Entries in accepted requests, duplicates included. */
  entries: number
  /** Distinct `message_id`s accepted. */
  uniqueMessageIds: number
  /** Entries accepted whose `message_id` had been accepted before. */
  duplicates: number
  /** Requests rejected with 400 for breaking the contract. */
  contractViolations: number
}

/** A running sandbox. */
export interface RunningSandbox {
  /** e.g. `http://127.0.0.1:3001`. */
  url: string
  port: number
  /** The bodies accepted, verbatim, in arrival order (empty when `keepBodies` is false). */
  received: unknown[]
  stats: () => SandboxStats
  /** Distinct accepted `message_id`s. */
  messageIds: Set<string>
  /** Forgets every body, id and counter. */
  reset: () => void
  close: () => Promise<void>
}

/**
 * Parses `KOALA_SANDBOX_FAULTS`, e.g. `500=0.2,429=0.1,reset=0.05,slow=0.05`.
 *
 * @throws Error naming the bad item when a kind is unknown or a probability is not within 0..1.
 */
export function parseFaults(spec: string | undefined): SandboxFaults {
  const faults: SandboxFaults = {}
  for (const item of (spec ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const [kind, value] = item.split('=')
    const probability = Number(value)
    if (!(FAULT_KINDS as readonly string[]).includes(kind) || !(probability >= 0 && probability <= 1)) {
      throw new Error(
        `KOALA_SANDBOX_FAULTS: "${item}" is not kind=probability with kind ${FAULT_KINDS.join(', ')} and a probability from 0 to 1.`
      )
    }
    faults[kind as keyof SandboxFaults] = probability
  }
  return faults
}

const ARRAYS = ['identifies', 'events', 'page_views'] as const

/** The contract check: the reason a body breaks Koala's contract, or undefined when it is valid. */
export function contractViolation(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'The body must be a JSON object.'
  const record = body as Record<string, unknown>
  const hasId = (key: string) => typeof record[key] === 'string' && record[key].trim() !== ''
  if (!hasId('profile_id') && !hasId('email')) return 'profile_id or email is required.'
  let entries = 0
  for (const name of ARRAYS) {
    const list = record[name]
    if (list === undefined) continue
    if (!Array.isArray(list)) return `${name} must be an array.`
    if (list.length > MAX_ENTRIES_PER_REQUEST) {
      return `${name} has ${list.length} entries; at most ${MAX_ENTRIES_PER_REQUEST} are allowed per request.`
    }
    for (const [i, entry] of list.entries()) {
      const item = (entry ?? {}) as Record<string, unknown>
      for (const key of ['type', 'message_id', 'sent_at']) {
        if (typeof item[key] !== 'string' || item[key] === '') return `${name}[${i}].${key} is required.`
      }
      if (Number.isNaN(Date.parse(item.sent_at as string))) return `${name}[${i}].sent_at is not a date.`
    }
    entries += list.length
  }
  if (entries === 0) return 'At least one of identifies, events or page_views must have an entry.'
  return undefined
}

/**
 * Builds the sandbox's express app and its state (not listening yet).
 *
 * @returns the app and the {@link RunningSandbox} fields that do not depend on a port.
 */
export function createSandbox(options: SandboxOptions = {}) {
  const keys = new Set((options.keys ?? []).filter(Boolean))
  const faults = options.faults ?? {}
  const random = options.random ?? Math.random
  const keepBodies = options.keepBodies ?? true
  const received: unknown[] = []
  const messageIds = new Set<string>()
  let counters = freshStats()

  function freshStats(): SandboxStats {
    return {
      requests: 0,
      accepted: 0,
      rejected: {},
      faults: {},
      entries: 0,
      uniqueMessageIds: 0,
      duplicates: 0,
      contractViolations: 0
    }
  }

  const app = express()
  app.disable('x-powered-by')

  const reject = (res: Response, status: number, error: string) => {
    counters.rejected[status] = (counters.rejected[status] ?? 0) + 1
    if (status === 400) counters.contractViolations++
    res.status(status).json({ ok: false, error })
  }

  const knownKey = (key: string) => keys.size === 0 || keys.has(key)

  app.get('/web/projects/:key/auth', (req, res) => {
    if (!knownKey(req.params.key)) return void res.status(401).json({ ok: false, error: 'Unknown public key.' })
    res.json({ ok: true })
  })

  app.post('/web/projects/:key/batch', async (req, res, next) => {
    counters.requests++
    const fault = pickFault()
    if (fault) counters.faults[fault] = (counters.faults[fault] ?? 0) + 1
    if (fault === 'accept-reset') res.locals.acceptThenReset = true
    if (fault === 'reset') return void req.socket.destroy()
    if (fault === 'slow') await new Promise((resolve) => setTimeout(resolve, options.slowMs ?? 1500))
    if (fault === '500' || fault === '503') return reject(res, Number(fault), 'Injected fault.')
    if (fault === '429') {
      res.set('Retry-After', '1')
      return reject(res, 429, 'Rate limit exceeded.')
    }
    if (!knownKey(req.params.key)) return reject(res, 401, 'Unknown public key.')
    if (!req.get('user-agent')) return reject(res, 400, 'A User-Agent header is required.')
    if (!req.is('application/json')) return reject(res, 400, 'The body must be JSON (Content-Type: application/json).')
    next()
  })

  app.use('/web/projects/:key/batch', express.json({ limit: options.bodyLimitBytes ?? 5 * 1024 * 1024, strict: false }))

  app.post('/web/projects/:key/batch', (req, res) => {
    const violation = contractViolation(req.body)
    if (violation) return reject(res, 400, violation)
    const body = req.body as Record<string, { message_id: string }[] | undefined>
    let count = 0
    for (const name of ARRAYS) {
      for (const entry of body[name] ?? []) {
        count++
        if (messageIds.has(entry.message_id)) counters.duplicates++
        else messageIds.add(entry.message_id)
      }
    }
    counters.accepted++
    counters.entries += count
    if (keepBodies) received.push(req.body)
    options.log?.(
      `[sandbox] ${redactProjectUrl(req.originalUrl)}: accepted ${count} ${count === 1 ? 'entry' : 'entries'}` +
        ` (${ARRAYS.filter((name) => body[name]?.length).join(', ')})`
    )
    if (res.locals.acceptThenReset === true) return void req.socket.destroy()
    res.json({ ok: true })
  })

  app.get('/__sandbox/received', (_req, res) => void res.json(received))
  app.get('/__sandbox/stats', (_req, res) => void res.json(stats()))
  app.delete('/__sandbox/received', (_req, res) => {
    reset()
    res.json({ ok: true })
  })

  app.use((_req, res) => void res.status(404).json({ ok: false, error: 'Not found.' }))
  // Body parser failures (malformed JSON, too large) keep their status: 400 or 413.
  app.use((error: { status?: number; message?: string }, _req: Request, res: Response, _next: NextFunction) => {
    const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500
    reject(res, status, status === 413 ? 'The body is too large.' : (error.message ?? 'Bad request.'))
  })

  function pickFault(): keyof SandboxFaults | undefined {
    let roll = random()
    for (const kind of FAULT_KINDS) {
      const probability = faults[kind] ?? 0
      if (roll < probability) return kind
      roll -= probability
    }
    return undefined
  }

  function stats(): SandboxStats {
    return { ...counters, uniqueMessageIds: messageIds.size }
  }

  function reset(): void {
    received.length = 0
    messageIds.clear()
    counters = freshStats()
  }

  return { app, received, messageIds, stats, reset }
}

/**
 * Starts the sandbox on 127.0.0.1.
 *
 * @param port the port; 0 picks a free one.
 * @returns the running sandbox; `close()` stops it (open connections included).
 */
export async function startSandbox(port: number, options: SandboxOptions = {}): Promise<RunningSandbox> {
  const sandbox = createSandbox(options)
  const { url, port: actualPort, close } = await listenOnLoopback(sandbox.app, port)
  return { ...sandbox, url, port: actualPort, close }
}
