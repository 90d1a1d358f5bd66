import { PayloadValidationError } from '@segment/actions-core'

/** Source: Koala's server-side API docs. */
export const KOALA_API_URL = 'https://api2.getkoala.com'

export const DESTINATION_VERSION = '1.0.0'

/** Koala's API docs ask every caller for a descriptive User-Agent. */
export const USER_AGENT = `Segment Actions Koala (Cloud) destination/${DESTINATION_VERSION}`

/**
 * The headers of every request to Koala: its User-Agent, and the JSON the bodies are. Given with each request rather
 * than through the definition's `extendRequest`, which actions-core merges again at each layer of its request client
 * for every event (docs/PERFORMANCE.md). Frozen: one object serves every request.
 */
export const KOALA_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'User-Agent': USER_AGENT,
  'Content-Type': 'application/json'
})

/**
 * actions-core's `skipResponseCloning`: its after-response step reads Koala's answer into `response.data` and
 * `response.content` from the response itself, not from a clone of it (a second body stream per request). Every
 * reader of Koala's answers here (this destination, the local server's exchanges, the tests) reads those two, never
 * the body again. The monorepo's HubSpot and SendGrid destinations set it for the same reason.
 */
export const SKIP_RESPONSE_CLONING = true

/** Per array of one request. Source: Koala's server-side API docs. */
export const MAX_ENTRIES_PER_REQUEST = 30

/** Milliseconds; below Segment's per-event deadline, so a slow Koala becomes a retryable timeout. */
export const REQUEST_TIMEOUT_MS = 10_000

/** Milliseconds: `KOALA_REQUEST_TIMEOUT_MS` when a positive integer (local fault runs), else 10 s. */
export function requestTimeoutMs(): number {
  const override = Number(process.env.KOALA_REQUEST_TIMEOUT_MS)
  return Number.isInteger(override) && override > 0 ? override : REQUEST_TIMEOUT_MS
}

/** Requests in flight per `performBatch`; docs/PERFORMANCE.md has the measurement behind 16. */
export const BATCH_CONCURRENCY = 16

export const PUBLIC_KEY_HELP = 'Check the Public Key setting: copy it from Koala under Settings > Install.'

/** Read per call, so the local tools can point it at the sandbox. @returns e.g. `https://api2.getkoala.com`. */
export function koalaBaseUrl(): string {
  const override = process.env.KOALA_API_URL?.trim()
  return (override || KOALA_API_URL).replace(/\/+$/, '')
}

/**
 * Koala's app, which takes deletion requests (not the ingestion host). Source: Koala's docs, getkoala/docs
 * `developer-guides/gdpr-endpoint.mdx`.
 */
export const KOALA_APP_URL = 'https://app.getkoala.com'

/** Read per call, as {@link koalaBaseUrl}: `KOALA_APP_URL` when set (the local tools' sandbox). */
export function koalaAppUrl(): string {
  const override = process.env.KOALA_APP_URL?.trim()
  return (override || KOALA_APP_URL).replace(/\/+$/, '')
}

export const SECRET_KEY_HELP =
  'Check the Secret Key setting: create a secret API key in Koala under Settings > API Keys (the Public Key does not work here).'

const SAFE_KEY = /^[A-Za-z0-9_-]+$/

/**
 * @returns the trimmed key.
 * @throws PayloadValidationError (400) unless it is text of letters, digits, `_` and `-` only, so it can never
 *   reach another path or host.
 */
export function checkPublicKey(publicKey: unknown): string {
  if (publicKey !== undefined && publicKey !== null && typeof publicKey !== 'string') {
    const kind = typeof publicKey === 'object' ? 'an object' : `a ${typeof publicKey}`
    throw new PayloadValidationError(`The Public Key setting must be text, but it is ${kind}. ${PUBLIC_KEY_HELP}`)
  }
  const key = (publicKey ?? '').trim()
  if (!key) {
    throw new PayloadValidationError(`The Public Key setting is empty. ${PUBLIC_KEY_HELP}`)
  }
  if (!SAFE_KEY.test(key)) {
    throw new PayloadValidationError(
      `The Public Key setting may contain only letters, digits, "_" and "-". ${PUBLIC_KEY_HELP}`
    )
  }
  return key
}

/**
 * @returns e.g. `https://api2.getkoala.com/web/projects/pk_123/batch`.
 * @throws PayloadValidationError for an empty or unsafe key.
 */
export function projectUrl(publicKey: unknown, endpoint: 'batch' | 'accounts/batch' | 'auth'): string {
  const key = checkPublicKey(publicKey)
  return `${koalaBaseUrl()}/web/projects/${encodeURIComponent(key)}/${endpoint}`
}

/** At most four characters and never more than half, so even a short key is not shown whole. */
function shownPart(key: string): string {
  return `${key.slice(0, Math.min(4, Math.floor(key.length / 2)))}…`
}

/** `pk_live_abc` becomes `pk_l…` wherever it stands in `text`. */
export function redactKey(text: string, publicKey: string | undefined): string {
  if (!publicKey) return text
  return text.split(publicKey).join(shownPart(publicKey))
}

/**
 * Hides a URL's secrets without knowing them: `/web/projects/pk_live_abc/batch` becomes `/web/projects/pk_l…/batch`,
 * `https://user:pass@host` becomes `https://…@host`. Applying it twice changes nothing.
 */
export function redactProjectUrl(url: string): string {
  return (
    url
      .replace(/(\/web\/projects\/)([^/?#]+)/g, (match, prefix: string, key: string) =>
        key.endsWith('…') ? match : `${prefix}${shownPart(key)}`
      )
      // RFC 3986's userinfo characters only: a match must not run on past the URL to an email's `@`.
      .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[\w.~%!$&'()*+,;=:-]+@/gi, '$1…@')
  )
}
