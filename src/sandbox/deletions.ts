import { randomUUID } from 'crypto'
import { isObject } from '@segment/actions-core'
import express from 'express'
import type { NextFunction, Request, Response } from 'express'

/**
 * The sandbox's model of Koala's GDPR endpoint (Koala's docs: getkoala/docs `developer-guides/gdpr-endpoint.mdx`):
 *
 * - `POST /api/v1/deletion-requests`, `Authorization: Bearer <secret key>`, body `{"emails": ["…"]}` → 200
 *   `{"deletion_request_id": "<uuid>"}`, having removed every person body it holds for those emails;
 * - `GET /api/v1/deletion-requests/{id}`, same header → the receipt ({@link DeletionReceipt}), or 404.
 *
 * Answers 401 `{ ok: false, error }` without a bearer key, for the Public Key, or for a key not listed in
 * `secretKeys` (when the list is not empty); 400 for a body Koala would not take. Stricter than Koala in one place:
 * Koala's docs say it keeps the first 50 emails and ignores the rest, which would lose deletions without a word, so
 * the sandbox refuses more than 50.
 */

/** Koala's limit of emails per deletion request. Source: Koala's docs, `developer-guides/gdpr-endpoint.mdx`. */
const MAX_EMAILS = 50

export const DELETION_PATH = '/api/v1/deletion-requests'

/** What was removed for one email; Koala's receipt has the same `email`, `profiles`, `events` and `page_views`. */
export interface DeletedForEmail {
  email: string
  /** The Koala profile_ids that were seen with this email. */
  profiles: string[]
  /** Person bodies removed: those with this email, and those of its profile_ids. */
  bodies: number
  identifies: number
  events: number
  page_views: number
}

/** The receipt at `GET /api/v1/deletion-requests/{id}`, in the shape of Koala's (the sandbox's counts only). */
export interface DeletionReceipt {
  id: string
  status: 'completed'
  /** The emails as requested. */
  input: string[]
  deleted_receipt: DeletedForEmail[]
  created_at: string
  updated_at: string
  messages: string[]
}

export interface DeletionOptions {
  /** The bodies the sandbox holds, which a deletion edits in place. */
  received: unknown[]
  /** The accepted `message_id`s; those only removed bodies held are forgotten. */
  messageIds: Set<string>
  /** Accepted secret keys; any non-empty key when empty. */
  secretKeys: ReadonlySet<string>
  /** The accepted Public Keys, refused here. */
  publicKeys: ReadonlySet<string>
  log?: (line: string) => void
}

/** Why the body is not one Koala takes, or undefined. */
export function deletionViolation(body: unknown): string | undefined {
  if (!isObject(body)) return 'The body must be a JSON object: {"emails": ["..."]}.'
  const unknown = Object.keys(body).filter((key) => key !== 'emails')
  if (unknown.length > 0) {
    return `Unknown key${unknown.length > 1 ? 's' : ''} ${unknown
      .map((key) => JSON.stringify(key))
      .join(', ')}: the body takes only emails.`
  }
  const { emails } = body
  if (!Array.isArray(emails)) return 'emails must be an array of email addresses.'
  if (emails.length === 0) return 'emails must hold at least one email address.'
  if (emails.length > MAX_EMAILS) {
    return `emails has ${emails.length} entries; at most ${MAX_EMAILS} are taken per request.`
  }
  const bad = emails.findIndex((email) => typeof email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(email.trim()))
  return bad === -1 ? undefined : `emails[${bad}] must be an email address.`
}

const lower = (value: unknown) => (typeof value === 'string' ? value.trim().toLowerCase() : undefined)

/** A person body's email: its top-level `email`, else its `traits.email`. */
function emailOf(body: Record<string, unknown>): string | undefined {
  return lower(body.email) ?? (isObject(body.traits) ? lower(body.traits.email) : undefined)
}

const isPersonBody = (body: unknown): body is Record<string, unknown> =>
  isObject(body) && (body.email !== undefined || body.profile_id !== undefined)

const entriesOf = (body: Record<string, unknown>, name: string) =>
  Array.isArray(body[name]) ? (body[name] as { message_id?: unknown }[]) : []

/**
 * Removes what the sandbox holds for `email`: each person body with that email, and each body of a profile_id ever
 * sent with it (Koala ties a visitor to a person once both arrive together). Company bodies stay.
 */
function removeEmail(received: unknown[], email: string): { removed: unknown[]; receipt: DeletedForEmail } {
  const profiles = new Set<string>()
  for (const body of received) {
    if (isPersonBody(body) && emailOf(body) === email && typeof body.profile_id === 'string')
      profiles.add(body.profile_id)
  }
  const removed: unknown[] = []
  const kept = received.filter((body) => {
    const goes =
      isPersonBody(body) &&
      (emailOf(body) === email || (typeof body.profile_id === 'string' && profiles.has(body.profile_id)))
    if (goes) removed.push(body)
    return !goes
  })
  received.splice(0, received.length, ...kept)
  const count = (name: string) =>
    removed.reduce<number>((sum, body) => sum + entriesOf(body as Record<string, unknown>, name).length, 0)
  return {
    removed,
    receipt: {
      email,
      profiles: [...profiles],
      bodies: removed.length,
      identifies: count('identifies'),
      events: count('events'),
      page_views: count('page_views')
    }
  }
}

/** The message ids of `bodies`' entries. */
function idsOf(bodies: unknown[]): Set<string> {
  const ids = new Set<string>()
  for (const body of bodies) {
    if (!isObject(body)) continue
    for (const name of ['identifies', 'events', 'page_views']) {
      for (const entry of entriesOf(body, name)) if (typeof entry.message_id === 'string') ids.add(entry.message_id)
    }
  }
  return ids
}

/**
 * The deletion routes and their receipts.
 *
 * @returns the router (mount it before the sandbox's 404) and `reset`, which forgets every receipt.
 */
export function deletionRoutes(options: DeletionOptions): { router: express.Router; reset: () => void } {
  const receipts = new Map<string, DeletionReceipt>()
  const router = express.Router()
  const refuse = (res: Response, status: number, error: string) => void res.status(status).json({ ok: false, error })

  /** The bearer key's problem, or undefined when it is accepted. */
  const keyProblem = (req: Request): string | undefined => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')
    if (!match) return 'An Authorization: Bearer <secret key> header is required.'
    const key = match[1]
    if (options.publicKeys.has(key)) return 'This is a public key; deletion requests take a secret API key.'
    if (options.secretKeys.size > 0 && !options.secretKeys.has(key)) return 'Unknown secret key.'
    return undefined
  }

  router.use(DELETION_PATH, (req, res, next) => {
    const problem = keyProblem(req)
    if (problem) return refuse(res, 401, problem)
    next()
  })

  router.post(
    DELETION_PATH,
    (req, res, next) => {
      if (!req.get('user-agent')) return refuse(res, 400, 'A User-Agent header is required.')
      if (!req.is('application/json'))
        return refuse(res, 400, 'The body must be JSON (Content-Type: application/json).')
      next()
    },
    express.json({ strict: false }),
    (req, res) => {
      const body: unknown = req.body
      const violation = deletionViolation(body)
      if (violation) return refuse(res, 400, violation)
      const input = (body as { emails: string[] }).emails
      const removed: unknown[] = []
      const deleted = [...new Set(input.map((email) => email.trim().toLowerCase()))].map((email) => {
        const outcome = removeEmail(options.received, email)
        removed.push(...outcome.removed)
        return outcome.receipt
      })
      const keptIds = idsOf(options.received)
      for (const id of idsOf(removed)) if (!keptIds.has(id)) options.messageIds.delete(id)
      const now = new Date().toISOString()
      const id = randomUUID()
      receipts.set(id, {
        id,
        status: 'completed',
        input,
        deleted_receipt: deleted,
        created_at: now,
        updated_at: now,
        messages: []
      })
      // Counts only: a deletion log that lists the emails would keep what it deleted.
      options.log?.(
        `[sandbox] deletion request ${id}: ${input.length} ${input.length === 1 ? 'email' : 'emails'}, ` +
          `${removed.length} ${removed.length === 1 ? 'body' : 'bodies'} removed`
      )
      res.json({ deletion_request_id: id })
    }
  )

  router.get(`${DELETION_PATH}/:id`, (req, res) => {
    const receipt = receipts.get(String(req.params.id))
    if (!receipt) return refuse(res, 404, 'No deletion request with this id.')
    res.json(receipt)
  })

  // A malformed or too large body keeps its status here, and never counts as a batch's contract violation.
  router.use(
    DELETION_PATH,
    (error: { status?: number; message?: string }, _req: Request, res: Response, _next: NextFunction) => {
      const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500
      refuse(res, status, error.message ?? 'Bad request.')
    }
  )

  return { router, reset: () => receipts.clear() }
}
