import { HTTPError } from '@segment/actions-core'
import type { DecoratedResponse } from '@segment/actions-core'
import * as os from 'os'
import * as path from 'path'
import { PROJECT_ROOT } from '../lib/paths'
import { endSentence } from '../lib/text'
import { STACK_OVERFLOW_MESSAGE } from './event-checks'
import { redactProjectUrl } from './redact'

/**
 * What a run of the destination gives back, in the shapes actions-cli's local server uses so the Actions Tester and
 * partners' scripts read them unchanged (learned from segmentio/action-destinations, packages/cli/src/lib/server.ts
 * and summarize-http.ts): each HTTP exchange with Koala, and a failure as an {@link ErrorOutput}. The local server
 * and the local Tracking API both read runs through these.
 */

/** One HTTP request the action made and the answer it got. */
export interface Exchange {
  request: {
    /** The request URL, the Public Key redacted. */
    url: string
    method: string
    headers: Record<string, string>
    /** The body as sent, as text (JSON for Koala's requests). */
    body: string
  }
  response: {
    statusCode: number
    statusMessage?: string
    headers: Record<string, string>
    /** The parsed JSON answer, else its text. */
    body: unknown
  }
}

/** A failure, as actions-cli reports it: the error's status and message, and the field errors of a validation. */
export interface ErrorOutput {
  statusCode: number
  message: string
  requestError: true
  /** Field path (e.g. `sent_at`) -> what is wrong with it; only for the framework's schema validation. */
  fields?: Record<string, string>
}

// Headers that can carry credentials are never shown (the same idea as actions-cli's list).
const SENSITIVE_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'www-authenticate',
  'proxy-authenticate',
  'x-api-key',
  'x-csrf-token',
  'x-xsrf-token'
])

function headerObject(headers: Headers | undefined): Record<string, string> {
  const result: Record<string, string> = {}
  headers?.forEach((value, key) => {
    result[key] = SENSITIVE_HEADERS.has(key.toLowerCase()) ? '<redacted>' : value
  })
  return result
}

async function requestBody(response: DecoratedResponse): Promise<string> {
  const body = response.options?.body
  if (typeof body === 'string') return body
  if (body === undefined || body === null) return ''
  // Another kind of body (a stream, a buffer): read it from a copy of the request, as actions-cli does.
  try {
    return await response.request.clone().text()
  } catch {
    return ''
  }
}

/**
 * Summarises the responses an action's requests received into {@link Exchange}s, in the order they arrived.
 *
 * @param responses the `responses` of the `Destination` that ran this one request (and nothing else).
 */
export async function toExchanges(responses: readonly DecoratedResponse[]): Promise<Exchange[]> {
  const exchanges: Exchange[] = []
  for (const response of responses) {
    exchanges.push({
      request: {
        url: redactProjectUrl(response.request?.url ?? response.url),
        method: response.request?.method ?? 'GET',
        headers: headerObject(response.request?.headers),
        body: await requestBody(response)
      },
      response: {
        statusCode: response.status,
        statusMessage: response.statusText,
        headers: headerObject(response.headers),
        body: response.data ?? response.content
      }
    })
  }
  return exchanges
}

interface AjvFieldError {
  path?: string
  message?: string
}

/** The field errors of the framework's schema validation (`AggregateAjvError`), keyed by field path. */
function validationFields(error: unknown): Record<string, string> | undefined {
  const candidate = error as { name?: string; [Symbol.iterator]?: () => Iterator<AjvFieldError> }
  if (candidate?.name !== 'AggregateAjvError' || typeof candidate[Symbol.iterator] !== 'function') return undefined
  const fields: Record<string, string> = {}
  for (const fieldError of candidate as Iterable<AjvFieldError>) {
    const message = fieldError.message ?? 'is invalid'
    // A missing required field is reported on the root (`$`); key it by the field it names instead.
    const missing = /required field '([^']+)'/.exec(message)
    const path = (fieldError.path ?? '$').replace(/^\$\.?/, '')
    fields[path || missing?.[1] || '$'] = message
  }
  return fields
}

// Folders whose absolute paths must not reach an answer: a path inside them is shown relative to them.
const PRIVATE_FOLDERS = [PROJECT_ROOT, process.cwd(), os.homedir(), os.tmpdir()]
  .filter((folder) => folder.length > 1)
  .sort((a, b) => b.length - a.length)
// Any other absolute path to a code file (with an optional :line:column, as Node quotes them) is cut to its file
// name. Not inside a URL: the lookbehind skips paths that follow a host or a scheme.
const CODE_FILE_PATH =
  /(?<![\w:/.-])(?:file:\/\/)?(?:[A-Za-z]:)?(?:[\\/][^\s'"()\\/]+)*[\\/]([^\s'"()\\/]+\.(?:[cm]?[jt]s|json|node))(?::\d+){0,2}/g

/**
 * An error's message fit for an answer: without stack frames or absolute file paths (an answer may be shown to
 * anyone who can reach the server, and says nothing useful to them), on one line.
 *
 * @param message an error message, e.g. an AggregateError's, which holds every inner error's stack trace.
 */
export function cleanMessage(message: string): string {
  let text = message
    .split('\n')
    .filter((line) => !/^\s*at\s/.test(line))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim()
  for (const folder of PRIVATE_FOLDERS) text = text.split(`${folder}${path.sep}`).join('')
  return text.replace(CODE_FILE_PATH, '$1')
}

/** Ends `text` with a full stop unless it already ends a sentence; capitalises its first letter. */
export function sentence(text: string): string {
  const trimmed = text.trim()
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1)
  return endSentence(capital)
}

/** The message of an error for an answer: an AggregateError's inner messages, else its own; see {@link cleanMessage}. */
function errorMessage(error: unknown): string {
  const err = error as { message?: unknown; name?: unknown }
  if (err?.name === 'AggregateError' && typeof (error as Iterable<unknown>)[Symbol.iterator] === 'function') {
    const inner = [...(error as Iterable<unknown>)].map((item) =>
      typeof (item as Error)?.message === 'string' ? (item as Error).message : String(item)
    )
    return cleanMessage(inner.join(' '))
  }
  return cleanMessage(typeof err?.message === 'string' ? err.message : String(error))
}

/**
 * Whether the error is V8's stack overflow, which the framework hits on deeply nested values. By name, not
 * `instanceof`: the error may come from another realm (a `vm` context, Jest's sandbox).
 */
export function isStackOverflow(error: unknown): boolean {
  const err = error as { name?: unknown; message?: unknown }
  return err?.name === 'RangeError' && typeof err.message === 'string' && /maximum call stack size/i.test(err.message)
}

/**
 * Turns whatever an action threw into an {@link ErrorOutput}: the status the framework's error classes carry
 * (400 for `PayloadValidationError` and for the framework's schema validation, 401 for
 * `InvalidAuthenticationError`, 429/5xx for `RetryableError`), 400 for a stack overflow (a value nested too deeply:
 * retrying cannot help), else 500. The message never holds a stack trace or an absolute file path.
 */
export function toErrorOutput(error: unknown): ErrorOutput {
  if (isStackOverflow(error)) return { statusCode: 400, message: STACK_OVERFLOW_MESSAGE, requestError: true }
  const err = error as { status?: unknown; name?: string }
  const fields = validationFields(error)
  let statusCode = typeof err?.status === 'number' ? err.status : fields || err?.name === 'ValidationError' ? 400 : 500
  let message = errorMessage(error)
  if (error instanceof HTTPError) {
    statusCode = error.response?.status ?? statusCode
    const response = error.response as { data?: unknown; content?: string } | undefined
    const data = response?.data ?? response?.content
    if (data !== undefined && data !== '') message = typeof data === 'string' ? data : JSON.stringify(data)
  }
  return { statusCode, message, requestError: true, ...(fields ? { fields } : {}) }
}
