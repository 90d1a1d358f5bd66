import { Destination } from '@segment/actions-core'
import type { DecoratedResponse, DestinationDefinition, JSONObject, SegmentEvent } from '@segment/actions-core'
import koalaCloud from '../destinations/koala-cloud'
import { KOALA_API_URL, KOALA_APP_URL } from '../destinations/koala-cloud/config'
import type { Settings } from '../destinations/koala-cloud/generated-types'
import { toExchanges } from './exchanges'
import type { Exchange } from './exchanges'
import { redactProjectUrl } from './redact'
import { redirectDefinition, rewriteUrl, trimBase } from './redirect'
import type { AfterResponse, KoalaTargets } from './redirect'
import { runAction } from './run-action'
import type { ActionInput, RunAnswer } from './run-action'

/**
 * The one way the local tools (the local server, the local Tracking API, the benchmarks, the tests) run the
 * destination: it loads the definition from its folder and redirects it ({@link redirectDefinition}) to the bases
 * the caller gives, the Koala sandbox or another URL, with the local tools' request timeout. The folder itself reads
 * no environment: the local tools read their options (`KOALA_API_URL`, `KOALA_APP_URL`, `KOALA_REQUEST_TIMEOUT_MS`)
 * in src/cli and pass them here.
 */

/** The local tools' request timeout when `KOALA_REQUEST_TIMEOUT_MS` is unset, in milliseconds. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000

/** Options of {@link Harness}; each has a default. */
export interface HarnessOptions {
  /** The destination to run (default: Koala (Cloud), from its folder). */
  definition?: DestinationDefinition<Settings>
  /** Where ingestion requests go instead of `https://api2.getkoala.com` (default: there). */
  apiUrl?: string
  /** Where deletion requests go instead of `https://app.getkoala.com` (default: there). */
  appUrl?: string
  /** Timeout of each request that sets none, in milliseconds (default {@link DEFAULT_REQUEST_TIMEOUT_MS}). */
  requestTimeoutMs?: number
  /** Why deletion requests are not sent, when they are not (see {@link KoalaTargets.deletionsHeld}). */
  deletionsHeld?: string
}

/** What a deletion request gave: the exchanges with Koala, and what `onDelete` returned. */
export interface DeletionRun {
  exchanges: Exchange[]
  result: unknown
}

/** The destination, redirected; see the module's comment. */
export class Harness {
  /** The definition as its folder exports it. */
  readonly original: DestinationDefinition<Settings>
  /** The definition the local tools run: {@link original} with its requests redirected to {@link targets}. */
  readonly definition: DestinationDefinition<Settings>
  readonly targets: Readonly<KoalaTargets>

  /** @throws Error for a timeout that is not a whole number of milliseconds above 0. */
  constructor(options: HarnessOptions = {}) {
    const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    if (!Number.isInteger(requestTimeoutMs) || requestTimeoutMs <= 0) {
      throw new Error(`The request timeout must be a whole number of milliseconds above 0, not ${requestTimeoutMs}.`)
    }
    this.targets = Object.freeze({
      apiUrl: trimBase(options.apiUrl || KOALA_API_URL),
      appUrl: trimBase(options.appUrl || KOALA_APP_URL),
      requestTimeoutMs,
      ...(options.deletionsHeld ? { deletionsHeld: options.deletionsHeld } : {})
    })
    this.original = options.definition ?? koalaCloud
    this.definition = redirectDefinition(this.original, this.targets)
  }

  /** Whether ingestion requests go to Koala's own API (no sandbox). */
  get sendsToKoala(): boolean {
    return this.targets.apiUrl === KOALA_API_URL
  }

  /**
   * A fresh `Destination` of the redirected definition. Fresh per run: the framework keeps every response it sees in
   * `destination.responses`, so a shared one would mix concurrent runs' exchanges and grow without bound.
   */
  destination(): Destination<Settings> {
    return new Destination<Settings>(this.definition)
  }

  /** Where a URL the destination addresses to Koala goes, e.g. `https://api2.getkoala.com/auth` to the sandbox's. */
  koalaUrl(url: string): string {
    return rewriteUrl(url, this.targets)
  }

  /** {@link targets}' bases with any password or key hidden, for banners and logs. */
  describeTargets(): { apiUrl: string; appUrl: string } {
    return { apiUrl: redactProjectUrl(this.targets.apiUrl), appUrl: redactProjectUrl(this.targets.appUrl) }
  }

  /** Runs one action (one event, or an array as a batch) on a fresh destination; see {@link runAction}. */
  runAction(
    slug: string,
    input: ActionInput,
    log?: (line: string) => void,
    note?: (reason: string) => void
  ): Promise<RunAnswer> {
    return runAction(this.destination(), slug, input, log, note)
  }

  /**
   * The framework's `testAuthentication` (settings validated against the schema, then the definition's test).
   *
   * @throws the framework's error (`Credentials are invalid: ...`) or the schema check's.
   */
  async testAuthentication(settings: Settings): Promise<void> {
    await this.destination().testAuthentication(settings)
  }

  /**
   * Runs the framework's `onDelete` for a deletion request (`{ userId, anonymousId }`), recording its exchanges (the
   * framework records only actions' requests).
   *
   * @throws whatever `onDelete` throws; the exchanges made before are then lost with the run.
   */
  async deletePerson(payload: JSONObject, settings: JSONObject): Promise<DeletionRun> {
    const responses: DecoratedResponse[] = []
    // Decorated as the framework decorates an action's responses (`request`, `options`), for toExchanges.
    const record: AfterResponse = (request, options, response) => {
      responses.push(Object.assign(response, { request, options }) as unknown as DecoratedResponse)
      return response
    }
    const destination = new Destination<Settings>(redirectDefinition(this.original, this.targets, record))
    const result: unknown = await destination.onDelete?.(payload as unknown as SegmentEvent, settings)
    return { exchanges: await toExchanges(responses), result }
  }

  /**
   * What the local tools add to a failure's message about where they sent it: a redirect names the base the local
   * tools chose, and the option that sets it (`KOALA_API_URL`, or `KOALA_APP_URL` for deletions).
   *
   * @returns the sentence to append, or undefined when there is none to add.
   */
  hintFor(status: number, message: string, api: 'ingestion' | 'deletion' = 'ingestion'): string | undefined {
    if (status < 300 || status >= 400) return undefined
    const variable = api === 'deletion' ? 'KOALA_APP_URL' : 'KOALA_API_URL'
    if (message.includes(variable)) return undefined
    const base = api === 'deletion' ? this.targets.appUrl : this.targets.apiUrl
    return `The local tools sent this request to ${redactProjectUrl(base)}: if ${variable} is set, check it.`
  }
}

/** Builds a {@link Harness}. */
export function createHarness(options: HarnessOptions = {}): Harness {
  return new Harness(options)
}
