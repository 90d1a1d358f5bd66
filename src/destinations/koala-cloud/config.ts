import { PayloadValidationError } from '@segment/actions-core'

/**
 * Koala's production ingestion host. Source: Koala's server-side API docs
 * (`POST https://api2.getkoala.com/web/projects/{public_key}/batch`).
 */
export const KOALA_PRODUCTION_URL = 'https://api2.getkoala.com'

/** The destination's own version, sent in the User-Agent so Koala can tell our traffic apart. */
export const DESTINATION_VERSION = '1.0.0'

/**
 * Koala drops server-side requests without a descriptive User-Agent (Koala's API docs ask every caller to name
 * itself), so every request names this destination and its version.
 */
export const USER_AGENT = `Segment Actions Koala (Cloud) destination/${DESTINATION_VERSION}`

/** Koala accepts at most 30 entries in each of `identifies`, `events` and `page_views` of one request. */
export const MAX_ENTRIES_PER_REQUEST = 30

/**
 * Per-request timeout, in milliseconds. Set explicitly because actions-core ignores its own
 * `DEFAULT_REQUEST_TIMEOUT` environment setting; below Segment's own per-event deadline so a slow Koala becomes a
 * retryable timeout rather than a dropped delivery.
 */
export const REQUEST_TIMEOUT_MS = 10_000

/**
 * The per-request timeout in force, in milliseconds, read at call time: `KOALA_REQUEST_TIMEOUT_MS` when it is a
 * positive integer (so tests and local fault-injection runs need not wait 10 s for a timeout), else
 * {@link REQUEST_TIMEOUT_MS}.
 */
export function requestTimeoutMs(): number {
  const override = Number(process.env.KOALA_REQUEST_TIMEOUT_MS)
  return Number.isInteger(override) && override > 0 ? override : REQUEST_TIMEOUT_MS
}

/**
 * How many Koala requests one `performBatch` keeps in flight at once. Measured with `npm run bench -- --latency-ms
 * 100` (docs/PERFORMANCE.md): 8 leaves a 1000-event batch waiting on latency (3.7 s per call), 16 halves that at no
 * CPU cost; Koala's rate limit is undocumented, so it stays well below what its 429s would tell us.
 */
export const BATCH_CONCURRENCY = 16

/** Where Segment users find the key, quoted in every authentication error. */
export const PUBLIC_KEY_HELP = 'Check the Public Key setting: copy it from Koala under Settings > Install.'

/**
 * The base URL of Koala's API, read at call time (not frozen at module load) so a test or the local tools can
 * point the destination at a sandbox or Koala's staging with `KOALA_API_URL`.
 *
 * @returns the base URL without a trailing slash, e.g. `https://api2.getkoala.com`.
 */
export function koalaBaseUrl(): string {
  const override = process.env.KOALA_API_URL?.trim()
  return (override || KOALA_PRODUCTION_URL).replace(/\/+$/, '')
}

// Koala's public keys are opaque tokens; anything outside this set could change the request's path or host.
const SAFE_KEY = /^[A-Za-z0-9_-]+$/

/**
 * Checks a Public Key before it is placed into a URL path.
 *
 * @param publicKey the `public_key` setting as the user typed it (surrounding whitespace is ignored).
 * @returns the trimmed key.
 * @throws PayloadValidationError (status 400) when the key is not text, is empty or contains anything but letters, digits, `_`
 *   and `-` (for example `/`, `?`, `#`, `%`, whitespace or `..`), so a key can never reach another path on Koala's
 *   host or another host.
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
 * Builds the URL of one of Koala's project endpoints.
 *
 * @param publicKey the `public_key` setting; validated with {@link checkPublicKey}.
 * @param endpoint `batch` (a person's data), `accounts/batch` (a company's) or `auth` (key check).
 * @returns e.g. `https://api2.getkoala.com/web/projects/pk_123/batch`.
 * @throws PayloadValidationError for an empty or unsafe key.
 */
export function projectUrl(publicKey: unknown, endpoint: 'batch' | 'accounts/batch' | 'auth'): string {
  const key = checkPublicKey(publicKey)
  return `${koalaBaseUrl()}/web/projects/${encodeURIComponent(key)}/${endpoint}`
}

/**
 * The visible part of a redacted key: at most its first four characters and never more than half of it, so even a
 * short key is not shown whole.
 */
function shownPart(key: string): string {
  return `${key.slice(0, Math.min(4, Math.floor(key.length / 2)))}…`
}

/**
 * Hides a Public Key in text that is printed or logged: `pk_live_abc` becomes `pk_l…` (see {@link shownPart}).
 *
 * @param text any text, e.g. a request URL.
 * @param publicKey the key to hide; nothing is replaced when it is empty.
 */
export function redactKey(text: string, publicKey: string | undefined): string {
  if (!publicKey) return text
  return text.split(publicKey).join(shownPart(publicKey))
}

/**
 * Hides the secrets of a URL without knowing them: the Public Key in a Koala project path
 * (`/web/projects/pk_live_abc/batch` becomes `/web/projects/pk_l…/batch`) and any user name and password written into
 * the address (`https://user:pass@host` becomes `https://…@host`, e.g. in a `KOALA_API_URL` for a proxy). A key
 * segment already redacted (ending in `…`) is left alone, so applying it twice changes nothing.
 */
export function redactProjectUrl(url: string): string {
  return (
    url
      .replace(/(\/web\/projects\/)([^/?#]+)/g, (match, prefix: string, key: string) =>
        key.endsWith('…') ? match : `${prefix}${shownPart(key)}`
      )
      // Userinfo is only the characters RFC 3986 allows in it, so a match never runs on past the URL (into the JSON
      // around it, to the `@` of an email further on).
      .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[\w.~%!$&'()*+,;=:-]+@/gi, '$1…@')
  )
}
