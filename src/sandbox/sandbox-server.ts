import { isObject } from '@segment/actions-core'
import express from 'express'
import type { NextFunction, Request, Response } from 'express'
import { listenOnLoopback, loopbackHostOnly } from '../lib/loopback'
import { shortenProjectKey } from '../lib/text'
import { deletionRoutes } from './deletions'

/**
 * A local stand-in for Koala's ingestion API, enforcing the contract Koala documents for
 * `POST /web/projects/{public_key}/accounts/batch` (see {@link accountContractViolation}) and for
 * `POST /web/projects/{public_key}/batch`: a JSON object body; `profile_id` or `email`; `identifies`, `events` and
 * `page_views` arrays of at most 30 entries, each with `type`, `message_id` and `sent_at`; a `User-Agent` header
 * (the full rule list is on {@link contractViolation}). It answers with Koala's statuses: 400 with a reason, 401 for
 * unknown keys, 413 for a body over the limit, 200 `{ ok: true }` otherwise. It listens on loopback only and answers
 * only requests addressed to a loopback name (403 otherwise, against DNS rebinding). It also takes Koala's deletion
 * requests (`POST /api/v1/deletion-requests`, see `deletions.ts`), which remove the bodies it holds for an email.
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
export const FAULT_KINDS = ['500', '503', '429', 'reset', 'slow', 'accept-reset'] as const

/** What each fault kind does to a batch request, for help texts (the same as {@link SandboxFaults} says). */
export const FAULT_DESCRIPTIONS: Record<typeof FAULT_KINDS[number], string> = {
  '500': 'answer 500',
  '503': 'answer 503',
  '429': 'answer 429 with Retry-After: 1',
  reset: 'drop the connection without answering',
  slow: 'wait 1.5 s, then handle the request normally',
  'accept-reset': 'keep the data, then drop the connection (a retry is a duplicate)'
}

/** Options of {@link createSandbox}. */
export interface SandboxOptions {
  /** Accepted public keys; any key when empty or absent. */
  keys?: string[]
  /** Accepted secret keys of deletion requests; any bearer key (but a listed public key) when empty or absent. */
  secretKeys?: string[]
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
  /** Requests to either endpoint answered with an error, by status (faults included). */
  rejected: Record<string, number>
  /** Faults injected on either endpoint, by kind. */
  faults: Record<string, number>
  /** Entries in accepted requests, duplicates included. */
  entries: number
  /** Distinct `message_id`s accepted. */
  uniqueMessageIds: number
  /** Entries accepted whose `message_id` had been accepted before. */
  duplicates: number
  /** Requests rejected with 400 for breaking the contract. */
  contractViolations: number
  /**
   * Company requests (`/accounts/batch`), apart from the person requests counted above; `rejected` and `faults` are
   * this endpoint's share of the totals above, `uniqueMessageIds` and `duplicates` count its entries alone.
   */
  accounts: Pick<
    SandboxStats,
    'requests' | 'accepted' | 'entries' | 'rejected' | 'faults' | 'uniqueMessageIds' | 'duplicates'
  >
}

/** A running sandbox. */
export interface RunningSandbox {
  /** e.g. `http://127.0.0.1:3001`. */
  url: string
  port: number
  /** The bodies accepted, verbatim, in arrival order (empty when `keepBodies` is false). */
  received: unknown[]
  stats: () => SandboxStats
  /** Distinct accepted `message_id`s, both endpoints. */
  messageIds: Set<string>
  /** Distinct `message_id`s accepted on `/web/projects/{key}/batch` (people). */
  profileMessageIds: Set<string>
  /** Distinct `message_id`s accepted on `/web/projects/{key}/accounts/batch` (companies). */
  accountMessageIds: Set<string>
  /** Forgets every body, id and counter. */
  reset: () => void
  close: () => Promise<void>
}

/**
 * Parses `KOALA_SANDBOX_FAULTS`, e.g. `500=0.2,429=0.1,reset=0.05,slow=0.05`: comma-separated `kind=probability`
 * items, each kind once, each probability a decimal number from 0 to 1, all adding up to at most 1 (a request gets at
 * most one fault). Blank means no faults.
 *
 * @param source what the spec came from, for the messages (`--faults` for `npm run chaos`).
 * @throws Error naming the source and the bad item: an unknown kind, a missing or malformed probability (`500=`, `500=abc`), one
 *   outside 0..1, a kind given twice, or probabilities adding up to more than 1.
 */
export function parseFaults(spec: string | undefined, source = 'KOALA_SANDBOX_FAULTS'): SandboxFaults {
  const faults: SandboxFaults = {}
  for (const item of (spec ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    // A probability is a plain decimal: Number() would read '' (in `500=`) as 0 and accept `0x1` or `1e-1`.
    const match = /^([\w-]+)\s*=\s*(\d+(?:\.\d*)?|\.\d+)$/.exec(item)
    const kind = match?.[1]
    const probability = Number(match?.[2])
    if (!kind || !(FAULT_KINDS as readonly string[]).includes(kind) || !(probability >= 0 && probability <= 1)) {
      throw new Error(
        `${source}: "${item}" is not kind=probability with kind ${FAULT_KINDS.join(
          ', '
        )} and a probability from 0 to 1.`
      )
    }
    if (faults[kind as keyof SandboxFaults] !== undefined) {
      throw new Error(`${source}: the kind ${kind} is given twice; give each kind once.`)
    }
    faults[kind as keyof SandboxFaults] = probability
  }
  const total = FAULT_KINDS.reduce((sum, kind) => sum + (faults[kind] ?? 0), 0)
  // A small tolerance: 0.7 + 0.2 + 0.1 is 1.0000000000000002 in floating point.
  if (total > 1 + 1e-9) {
    throw new Error(
      `${source}: the probabilities add up to ${Number(total.toFixed(6))}, more than 1. Each request gets at ` +
        'most one fault, so together they must stay within 1 (for example 500=0.2,429=0.1).'
    )
  }
  return faults
}

/**
 * Koala's limit on each array of one request. Source: Koala's server-side API docs (the batch endpoints take at most
 * 30 entries per array). Written here, not taken from the destination, so a wrong limit there fails here.
 */
const KOALA_ENTRY_LIMIT = 30

const ARRAYS = ['identifies', 'events', 'page_views'] as const

/** The entry `type` each of Koala's arrays takes. */
const ENTRY_TYPES: Record<typeof ARRAYS[number], string> = {
  identifies: 'identify',
  events: 'track',
  page_views: 'page'
}

/** The top-level keys of Koala's batch body; any other is refused. */
const TOP_LEVEL_KEYS = new Set(['profile_id', 'email', 'ip', 'traits', ...ARRAYS])

/** ISO-8601 date and time with seconds and a zone (`Z` or `±hh:mm`), as Koala's examples give `sent_at`. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== ''
}

/**
 * The contract check: the reason a body breaks the contract Koala documents for its batch endpoint, or undefined when
 * it is valid. Checked: a JSON object with only Koala's top-level keys (`profile_id`, `email`, `ip`, `traits`,
 * `identifies`, `events`, `page_views`); `profile_id` (a non-empty string) and/or `email` (a string with `@`), one of
 * them required; `ip` a string and `traits` an object when present; each array at most 30 entries, each entry an
 * object whose `type` matches its array (`identify`, `track`, `page`), with a non-empty `message_id`, a `sent_at` in
 * ISO-8601 with seconds and a zone, and for `events` a non-empty `event`; at least one entry in all.
 *
 * @returns e.g. `identifies[0].type must be "identify" (identifies holds identify entries), but it is "track".`
 */
export function contractViolation(body: unknown): string | undefined {
  if (!isObject(body)) return 'The body must be a JSON object.'
  const unknown = Object.keys(body).filter((key) => !TOP_LEVEL_KEYS.has(key))
  if (unknown.length > 0) {
    return (
      `Unknown top-level key${unknown.length > 1 ? 's' : ''} ${unknown
        .map((key) => JSON.stringify(key))
        .join(', ')}: ` + `the body takes only ${[...TOP_LEVEL_KEYS].join(', ')}.`
    )
  }
  if (body.email !== undefined && !(typeof body.email === 'string' && body.email.includes('@'))) {
    return `email must be an email address (a string with "@"), but it is ${describe(body.email)}.`
  }
  if (body.profile_id !== undefined && !isNonEmptyString(body.profile_id)) {
    return `profile_id must be a non-empty string, but it is ${describe(body.profile_id)}.`
  }
  if (body.profile_id === undefined && body.email === undefined) return 'profile_id or email is required.'
  if (body.ip !== undefined && typeof body.ip !== 'string')
    return `ip must be a string, but it is ${describe(body.ip)}.`
  if (body.traits !== undefined && !isObject(body.traits)) {
    return `traits must be an object, but it is ${describe(body.traits)}.`
  }
  return arraysViolation(body, ARRAYS)
}

/**
 * What is wrong with a body's arrays: each at most 30 entries of the right kind (see {@link entryViolation}), an
 * identify's `traits` an object, and at least one entry in all.
 */
function arraysViolation(body: Record<string, unknown>, names: readonly typeof ARRAYS[number][]): string | undefined {
  let entries = 0
  for (const name of names) {
    const list = body[name]
    if (list === undefined) continue
    if (!Array.isArray(list)) return `${name} must be an array, but it is ${describe(list)}.`
    if (list.length > KOALA_ENTRY_LIMIT) {
      return `${name} has ${list.length} entries; at most ${KOALA_ENTRY_LIMIT} are allowed per request.`
    }
    for (const [i, entry] of list.entries()) {
      const violation = entryViolation(name, entry)
      if (violation) return `${name}[${i}]${violation}`
    }
    entries += list.length
  }
  const listed =
    names.length === 2 ? names.join(' or ') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`
  return entries === 0 ? `At least one of ${listed} must have an entry.` : undefined
}

/** The top-level keys of Koala's accounts body. Source: Koala's server-side docs, "Sending Account Traits". */
const ACCOUNT_KEYS = new Set(['domain', 'account_id', 'identifies', 'events'])

// A bare host name with a dot: what Koala keys companies by (no scheme, path, port or spaces).
const BARE_DOMAIN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/

/**
 * The contract check of `POST /web/projects/{public_key}/accounts/batch`: the reason a body breaks it, or undefined.
 * Checked: a JSON object with only `domain`, `account_id`, `identifies` and `events` (a person's `email`,
 * `profile_id` or `page_views` are refused); `domain` (a bare lowercase domain) or `account_id` (a non-empty
 * string), one of them required; `identifies` and `events` arrays of at most 30 entries, each an object of the right
 * `type` with a non-empty `message_id` and an ISO-8601 `sent_at`; `traits` of an identify an object; at least one entry.
 */
export function accountContractViolation(body: unknown): string | undefined {
  if (!isObject(body)) return 'The body must be a JSON object.'
  const unknown = Object.keys(body).filter((key) => !ACCOUNT_KEYS.has(key))
  if (unknown.length > 0) {
    return (
      `Unknown top-level key${unknown.length > 1 ? 's' : ''} ${unknown.map((key) => JSON.stringify(key)).join(', ')}` +
      ` for a company: the accounts body takes only ${[...ACCOUNT_KEYS].join(', ')}.`
    )
  }
  if (body.domain !== undefined && !(typeof body.domain === 'string' && BARE_DOMAIN.test(body.domain))) {
    return `domain must be a bare lowercase domain such as acme.com, but it is ${describe(body.domain)}.`
  }
  if (body.account_id !== undefined && !isNonEmptyString(body.account_id)) {
    return `account_id must be a non-empty string, but it is ${describe(body.account_id)}.`
  }
  if (body.domain === undefined && body.account_id === undefined) return 'domain or account_id is required.'
  return arraysViolation(body, ['identifies', 'events'])
}

/** What is wrong with one entry of `name`, as the rest of a sentence that starts with `name[i]`. */
function entryViolation(name: typeof ARRAYS[number], entry: unknown): string | undefined {
  if (!isObject(entry)) return ` must be an object, but it is ${describe(entry)}.`
  const type = ENTRY_TYPES[name]
  if (entry.type !== type) {
    return entry.type === undefined
      ? `.type is required: "${type}" in ${name}.`
      : `.type must be "${type}" in ${name}, but it is ${describe(entry.type)}.`
  }
  if (!isNonEmptyString(entry.message_id)) {
    return entry.message_id === undefined
      ? '.message_id is required.'
      : `.message_id must be a non-empty string, but it is ${describe(entry.message_id)}.`
  }
  if (entry.sent_at === undefined) return '.sent_at is required.'
  if (typeof entry.sent_at !== 'string' || !isIsoDateTime(entry.sent_at)) {
    return (
      `.sent_at must be an ISO-8601 date and time with a zone, e.g. "2026-11-30T08:00:00.000Z", ` +
      `but it is ${describe(entry.sent_at)}.`
    )
  }
  if (name === 'identifies' && entry.traits !== undefined && !isObject(entry.traits)) {
    return `.traits must be an object, but it is ${describe(entry.traits)}.`
  }
  if (name === 'events' && !isNonEmptyString(entry.event)) {
    return entry.event === undefined
      ? '.event is required: the name of the event.'
      : `.event must be a non-empty string, but it is ${describe(entry.event)}.`
  }
  return undefined
}

/** Whether `text` is an ISO-8601 date and time with a zone that names a real instant (no 30 February). */
function isIsoDateTime(text: string): boolean {
  if (!ISO_DATE_TIME.test(text) || Number.isNaN(Date.parse(text))) return false
  // Date.parse rolls an impossible day over into the next month; the calendar date must exist as written.
  const [year, month, day] = text.slice(0, 10).split('-').map(Number)
  const date = new Date(Date.UTC(year, month - 1, day))
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day
}

/** A value as a message quotes it: JSON, cut to 60 characters. */
function describe(value: unknown): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
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
  const profileMessageIds = new Set<string>()
  const accountMessageIds = new Set<string>()
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
      contractViolations: 0,
      accounts: { requests: 0, accepted: 0, entries: 0, rejected: {}, faults: {}, uniqueMessageIds: 0, duplicates: 0 }
    }
  }

  const app = express()
  app.disable('x-powered-by')
  // Before anything else, so a page reaching the sandbox through DNS rebinding neither reads nor counts anything.
  app.use(loopbackHostOnly())

  /** Answers an error; a 400 counts as a contract violation unless `violation` is false (the body was never read). */
  const reject = (res: Response, status: number, error: string, violation = status === 400) => {
    counters.rejected[status] = (counters.rejected[status] ?? 0) + 1
    if (isAccountsRequest(res.req)) counters.accounts.rejected[status] = (counters.accounts.rejected[status] ?? 0) + 1
    if (violation) counters.contractViolations++
    res.status(status).json({ ok: false, error })
  }

  // `originalUrl`: `path` is relative inside mounted middleware.
  const isAccountsRequest = (req: Request) => req.originalUrl.split('?', 1)[0].endsWith('/accounts/batch')

  const knownKey = (key: string) => keys.size === 0 || keys.has(key)

  app.get('/web/projects/:key/auth', (req, res) => {
    if (!knownKey(req.params.key)) return void res.status(401).json({ ok: false, error: 'Unknown public key.' })
    res.json({ ok: true })
  })

  const PROFILE_PATH = '/web/projects/:key/batch'
  const ACCOUNTS_PATH = '/web/projects/:key/accounts/batch'

  app.post([PROFILE_PATH, ACCOUNTS_PATH], async (req, res, next) => {
    const accounts = isAccountsRequest(req)
    if (accounts) counters.accounts.requests++
    else counters.requests++
    // Both endpoints draw faults alike: a company request fails as often as a person request.
    const fault = pickFault()
    if (fault) counters.faults[fault] = (counters.faults[fault] ?? 0) + 1
    if (fault && accounts) counters.accounts.faults[fault] = (counters.accounts.faults[fault] ?? 0) + 1
    if (fault === 'accept-reset') res.locals.acceptThenReset = true
    if (fault === 'reset') return void req.socket.destroy()
    if (fault === 'slow') await new Promise((resolve) => setTimeout(resolve, options.slowMs ?? 1500))
    if (fault === '500' || fault === '503') return reject(res, Number(fault), 'Injected fault.')
    if (fault === '429') {
      res.set('Retry-After', '1')
      return reject(res, 429, 'Rate limit exceeded.')
    }
    if (!knownKey(String(req.params.key))) return reject(res, 401, 'Unknown public key.')
    if (!req.get('user-agent')) return reject(res, 400, 'A User-Agent header is required.')
    if (!req.is('application/json')) return reject(res, 400, 'The body must be JSON (Content-Type: application/json).')
    next()
  })

  app.use(
    [PROFILE_PATH, ACCOUNTS_PATH],
    express.json({ limit: options.bodyLimitBytes ?? 5 * 1024 * 1024, strict: false })
  )

  app.post(ACCOUNTS_PATH, (req, res) => {
    const violation = accountContractViolation(req.body)
    if (violation) return reject(res, 400, violation)
    const body = req.body as Record<string, { message_id: string }[] | undefined>
    let count = 0
    for (const name of ['identifies', 'events']) {
      for (const entry of body[name] ?? []) {
        count++
        if (messageIds.has(entry.message_id)) counters.duplicates++
        else messageIds.add(entry.message_id)
        if (accountMessageIds.has(entry.message_id)) counters.accounts.duplicates++
        else accountMessageIds.add(entry.message_id)
      }
    }
    counters.accounts.accepted++
    counters.accounts.entries += count
    if (keepBodies) received.push(req.body)
    options.log?.(
      `[sandbox] ${shortenProjectKey(req.originalUrl)}: accepted ${count} ${count === 1 ? 'entry' : 'entries'}` +
        ` for ${String(
          (req.body as { domain?: string; account_id?: string }).domain ??
            (req.body as { account_id?: string }).account_id
        )}`
    )
    if (res.locals.acceptThenReset === true) return void req.socket.destroy()
    res.json({ ok: true })
  })

  app.post(PROFILE_PATH, (req, res) => {
    const violation = contractViolation(req.body)
    if (violation) return reject(res, 400, violation)
    const body = req.body as Record<string, { message_id: string }[] | undefined>
    let count = 0
    for (const name of ARRAYS) {
      for (const entry of body[name] ?? []) {
        count++
        if (messageIds.has(entry.message_id)) counters.duplicates++
        else messageIds.add(entry.message_id)
        profileMessageIds.add(entry.message_id)
      }
    }
    counters.accepted++
    counters.entries += count
    if (keepBodies) received.push(req.body)
    options.log?.(
      `[sandbox] ${shortenProjectKey(req.originalUrl)}: accepted ${count} ${count === 1 ? 'entry' : 'entries'}` +
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

  const deletions = deletionRoutes({
    received,
    messageIds,
    secretKeys: new Set((options.secretKeys ?? []).filter(Boolean)),
    publicKeys: keys,
    log: options.log
  })
  app.use(deletions.router)

  app.use((_req, res) => void res.status(404).json({ ok: false, error: 'Not found.' }))
  // Body parser failures (malformed JSON, too large) keep their status: 400 or 413.
  app.use(
    (
      error: { status?: number; message?: string; type?: string },
      _req: Request,
      res: Response,
      _next: NextFunction
    ) => {
      const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500
      // A client that gave up mid-body (its timeout) sent nothing wrong: not a contract violation.
      const violation = status === 400 && error.type !== 'request.aborted'
      reject(res, status, status === 413 ? 'The body is too large.' : error.message ?? 'Bad request.', violation)
    }
  )

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
    return {
      ...counters,
      rejected: { ...counters.rejected },
      faults: { ...counters.faults },
      accounts: {
        ...counters.accounts,
        rejected: { ...counters.accounts.rejected },
        faults: { ...counters.accounts.faults },
        uniqueMessageIds: accountMessageIds.size
      },
      uniqueMessageIds: messageIds.size
    }
  }

  function reset(): void {
    received.length = 0
    messageIds.clear()
    profileMessageIds.clear()
    accountMessageIds.clear()
    counters = freshStats()
    deletions.reset()
  }

  return { app, received, messageIds, profileMessageIds, accountMessageIds, stats, reset }
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
