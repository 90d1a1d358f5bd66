import { IntegrationError } from '@segment/actions-core'
import type { DestinationDefinition, RequestClient } from '@segment/actions-core'
import { KOALA_API_URL, KOALA_APP_URL } from '../destinations/koala-cloud/config'

/**
 * Where the local tools send what the destination addresses to Koala. The destination's folder sends every request to
 * its constants, `KOALA_API_URL` (ingestion) and `KOALA_APP_URL` (deletions), and sets no timeout of its own; the
 * harness gives each of its functions a request client that rewrites those hosts to these bases and adds this
 * timeout, before the framework's client sends the request. (actions-core's `beforeRequest` hooks cannot do it: the
 * framework builds the request's URL before they run and keeps it whatever they return.)
 */
export interface KoalaTargets {
  /** Replaces `KOALA_API_URL` (`https://api2.getkoala.com`) at the start of a URL, e.g. a sandbox's URL. */
  apiUrl: string
  /** Replaces `KOALA_APP_URL` (`https://app.getkoala.com`) at the start of a URL. */
  appUrl: string
  /** Milliseconds, given to every request that names no timeout itself. */
  requestTimeoutMs: number
  /**
   * When set, deletion requests are not sent anywhere: `onDelete` fails before it runs, with this sentence as its
   * message ({@link DELETIONS_HELD}).
   */
  deletionsHeld?: string
}

/** The code of the error `onDelete` fails with while {@link KoalaTargets.deletionsHeld} is set (status 400). */
export const DELETIONS_HELD = 'DELETIONS_NOT_SENT'

/** What a request client passes on: the framework's request options, and its response hooks (which its type omits). */
type Options = NonNullable<Parameters<RequestClient>[1]> & { afterResponse?: AfterResponse[] }

/** A response hook of actions-core's request client: `(request, options, response)`. */
export type AfterResponse = (request: Request, options: unknown, response: Response) => Response | void

/** Whether `url` is `base` itself or a path, query or fragment under it (not `https://api2.getkoala.com.example`). */
function startsWithBase(url: string, base: string): boolean {
  if (!url.startsWith(base)) return false
  const next = url.charAt(base.length)
  return next === '' || next === '/' || next === '?' || next === '#'
}

/** `base` without the slashes that end it, so that `base + path` has one slash. */
export function trimBase(base: string): string {
  return base.trim().replace(/\/+$/, '')
}

/**
 * @returns `url` with Koala's ingestion host replaced by `targets.apiUrl`, or its app host by `targets.appUrl`; any
 *   other URL unchanged.
 */
export function rewriteUrl(url: string, targets: Pick<KoalaTargets, 'apiUrl' | 'appUrl'>): string {
  if (startsWithBase(url, KOALA_API_URL)) return targets.apiUrl + url.slice(KOALA_API_URL.length)
  if (startsWithBase(url, KOALA_APP_URL)) return targets.appUrl + url.slice(KOALA_APP_URL.length)
  return url
}

/**
 * The framework's request client, redirected: each URL through {@link rewriteUrl}, `targets.requestTimeoutMs` as the
 * timeout of a request that gives none, and `record` (when given) added to the request's response hooks.
 */
export function redirectRequest(request: RequestClient, targets: KoalaTargets, record?: AfterResponse): RequestClient {
  const redirected = (url: string, options?: Options) => {
    let given: Options = options ?? {}
    if (given.timeout === undefined || record) {
      // A copy, never the caller's object. Object.assign rather than a spread: on Node 20 a spread of the options
      // measured about 1 µs per request, Object.assign about 0.1 µs.
      const copy: Options = Object.assign({}, given)
      if (copy.timeout === undefined) copy.timeout = targets.requestTimeoutMs
      if (record) copy.afterResponse = [...(given.afterResponse ?? []), record]
      given = copy
    }
    return request(rewriteUrl(url, targets), given)
  }
  return redirected as RequestClient
}

type Definition<S> = DestinationDefinition<S>
type Actions<S> = Definition<S>['actions']

/**
 * A copy of `definition` whose functions that make requests get a redirected client ({@link redirectRequest}): each
 * action's `perform` and `performBatch`, `onDelete` and `authentication.testAuthentication`. Everything else
 * (fields, presets, settings, the functions' own behaviour) is the definition's. The framework records an action's
 * responses itself (`Destination.responses`); it does not record those of `onDelete` and `testAuthentication`, so
 * `record` sees those alone.
 */
export function redirectDefinition<S>(
  definition: Definition<S>,
  targets: KoalaTargets,
  record?: AfterResponse
): Definition<S> {
  const actions: Actions<S> = {}
  for (const [slug, action] of Object.entries(definition.actions)) {
    const { perform, performBatch } = action
    actions[slug] = {
      ...action,
      perform: (request, data): unknown => perform(redirectRequest(request, targets), data),
      // Only where the definition has one: the framework (and Segment) batch an action only when it does.
      ...(performBatch
        ? { performBatch: (request, data): unknown => performBatch(redirectRequest(request, targets), data) }
        : {})
    }
  }
  const { onDelete, authentication } = definition
  const testAuthentication = authentication?.testAuthentication
  return {
    ...definition,
    actions,
    ...(onDelete
      ? {
          onDelete: (request, data): unknown => {
            if (targets.deletionsHeld) throw new IntegrationError(targets.deletionsHeld, DELETIONS_HELD, 400)
            return onDelete(redirectRequest(request, targets, record), data)
          }
        }
      : {}),
    ...(authentication && testAuthentication
      ? {
          authentication: {
            ...authentication,
            testAuthentication: (request, data) => testAuthentication(redirectRequest(request, targets, record), data)
          }
        }
      : {})
  }
}
