import { HTTPError, type DecoratedResponse } from '@segment/actions-core'
import { redactKey, redactProjectUrl } from '../destinations/koala-cloud/config'

/**
 * What the local server answers, in the shapes actions-cli's local server uses so the Actions Tester and partners'
 * scripts read them unchanged (learned from segmentio/action-destinations, packages/cli/src/lib/server.ts and
 * summarize-http.ts), plus this server's two additions: `{ output }` and `{ multistatus }`.
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

/**
 * Turns whatever an action threw into an {@link ErrorOutput}: the status the framework's error classes carry
 * (400 for `PayloadValidationError` and for the framework's schema validation, 401 for
 * `InvalidAuthenticationError`, 429/5xx for `RetryableError`), else 500.
 */
export function toErrorOutput(error: unknown): ErrorOutput {
  const err = error as { status?: unknown; message?: unknown; name?: string }
  const fields = validationFields(error)
  let statusCode = typeof err?.status === 'number' ? err.status : fields || err?.name === 'ValidationError' ? 400 : 500
  let message = typeof err?.message === 'string' ? err.message : String(error)
  if (error instanceof HTTPError) {
    statusCode = error.response?.status ?? statusCode
    const response = error.response as { data?: unknown; content?: string } | undefined
    const data = response?.data ?? response?.content
    if (data !== undefined && data !== '') message = typeof data === 'string' ? data : JSON.stringify(data)
  }
  return { statusCode, message, requestError: true, ...(fields ? { fields } : {}) }
}

// A key shorter than this is not treated as a secret in free text: replacing every occurrence of, say, `ab` would
// garble the bodies shown. In URLs it is redacted whatever its length.
const MIN_KEY_LENGTH_FOR_TEXT = 6

/**
 * Redacts the Public Key everywhere in an answer before it leaves the server: every Koala project URL or path
 * (`/web/projects/pk_l…/batch`), and the key itself in any string (error messages quote URLs, for instance).
 *
 * @param value a JSON-like answer; not modified.
 * @param publicKey the key of this request, if known.
 * @returns a redacted copy.
 */
export function redactAnswer<T>(value: T, publicKey?: string): T {
  const key = publicKey && publicKey.length >= MIN_KEY_LENGTH_FOR_TEXT ? publicKey : undefined
  const walk = (item: unknown): unknown => {
    if (typeof item === 'string') return redactKey(redactProjectUrl(item), key)
    if (Array.isArray(item)) return item.map(walk)
    if (item !== null && typeof item === 'object') {
      const copy: Record<string, unknown> = {}
      for (const [name, inner] of Object.entries(item)) copy[name] = walk(inner)
      return copy
    }
    return item
  }
  return walk(value) as T
}
