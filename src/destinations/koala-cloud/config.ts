import { PayloadValidationError } from '@segment/actions-core'

/** Koala's ingestion API. Source: Koala's server-side API docs. */
export const KOALA_API_URL = 'https://api2.getkoala.com'

/** Koala's app, which takes deletion requests. Source: Koala's docs, `developer-guides/gdpr-endpoint.mdx`. */
export const KOALA_APP_URL = 'https://app.getkoala.com'

/** Koala's API docs ask every caller for a descriptive User-Agent. */
export const USER_AGENT = 'Segment Actions Koala (Cloud) destination'

/** Per array of one request. Source: Koala's server-side API docs. */
export const MAX_ENTRIES_PER_REQUEST = 30

/** People whose requests are in flight at once per `performBatch`: a bound on what one batch asks of Koala. */
export const BATCH_CONCURRENCY = 16

export const PUBLIC_KEY_HELP = 'Check the Public Key setting: copy it from Koala under Settings > Install.'

export const SECRET_KEY_HELP =
  'Check the Secret Key setting: create a secret API key in Koala under Settings > API Keys (the Public Key does not work here).'

/**
 * @returns the trimmed key.
 * @throws PayloadValidationError (400) unless it is letters, digits, `_` and `-` only, so it cannot reach another path.
 */
export function checkPublicKey(publicKey: unknown): string {
  const key = typeof publicKey === 'string' ? publicKey.trim() : ''
  if (!/^[\w-]+$/.test(key)) {
    throw new PayloadValidationError(
      `The Public Key setting must be letters, digits, "_" and "-" only, and not empty. ${PUBLIC_KEY_HELP}`
    )
  }
  return key
}

/**
 * @returns e.g. `https://api2.getkoala.com/web/projects/pk_123/batch`.
 * @throws PayloadValidationError for an empty or unsafe key.
 */
export function projectUrl(publicKey: unknown, endpoint: 'batch' | 'accounts/batch' | 'auth'): string {
  return `${KOALA_API_URL}/web/projects/${checkPublicKey(publicKey)}/${endpoint}`
}
