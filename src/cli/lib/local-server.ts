import { DEFAULT_REQUEST_TIMEOUT_MS, KOALA_API_URL, KOALA_APP_URL, redactProjectUrl, trimBase } from '../../harness'
import type { Harness, HarnessOptions } from '../../harness'
import { envSetting, parsePort } from '../../lib/process'
import type { RunningServer } from '../../server/server'

/** The server's port: `--port`, else `$PORT` when set and not blank, else 3000, as actions-cli's `serve` does. */
export function serverPort(option?: string): number {
  if (option !== undefined) return parsePort(option, '--port')
  const env = envSetting('PORT')
  return env === undefined ? 3000 : parsePort(env, 'PORT')
}

/** Whether `text` is an absolute `http:` or `https:` URL without a query or fragment. */
function isBaseUrl(text: string): boolean {
  let url: URL | undefined
  try {
    url = new URL(text)
  } catch {
    url = undefined
  }
  return Boolean(url && (url.protocol === 'http:' || url.protocol === 'https:') && !url.search && !url.hash)
}

/**
 * Checks `KOALA_API_URL` before anything starts: when set (and not blank), it must be an absolute `http:` or `https:`
 * URL without a query or fragment, since the harness puts it in place of Koala's host before
 * `/web/projects/{key}/batch`.
 *
 * @throws Error naming the variable and its value, and what to set instead.
 */
export function checkApiUrl(value: string | undefined = process.env.KOALA_API_URL): void {
  checkBaseUrl('KOALA_API_URL', value, KOALA_API_URL, "send to Koala's production API")
}

/**
 * Checks `KOALA_APP_URL` (where deletion requests go; the harness puts it before `/api/v1/deletion-requests`) as
 * {@link checkApiUrl} checks `KOALA_API_URL`.
 *
 * @throws Error naming the variable and its value, and what to set instead.
 */
export function checkAppUrl(value: string | undefined = process.env.KOALA_APP_URL): void {
  checkBaseUrl('KOALA_APP_URL', value, KOALA_APP_URL, "send deletion requests to Koala's app")
}

function checkBaseUrl(name: string, value: string | undefined, production: string, unsetMeans: string): void {
  const text = value?.trim()
  if (!text || isBaseUrl(text)) return
  throw new Error(
    `${name} "${redactProjectUrl(text)}" is not an http(s) base URL. Set it to one such as http://127.0.0.1:3001 ` +
      `(a sandbox) or ${production}, without a query or fragment, or unset it to ${unsetMeans}.`
  )
}

/**
 * Checks `KOALA_REQUEST_TIMEOUT_MS` before anything starts: when set (and not blank) it must be a whole number of
 * milliseconds above 0, rather than falling back to the default without a word.
 *
 * @throws Error naming the variable, its value and what to set instead.
 */
export function checkRequestTimeout(value: string | undefined = process.env.KOALA_REQUEST_TIMEOUT_MS): void {
  const text = value?.trim()
  if (!text || /^[1-9]\d*$/.test(text)) return
  throw new Error(
    `KOALA_REQUEST_TIMEOUT_MS "${text}" is not a whole number of milliseconds above 0. Set it to one such as 5000, ` +
      `or unset it for the default of ${DEFAULT_REQUEST_TIMEOUT_MS}.`
  )
}

/**
 * The local tools' options for the harness, from the environment: `KOALA_API_URL` (where ingestion requests go),
 * `KOALA_APP_URL` (deletion requests) and `KOALA_REQUEST_TIMEOUT_MS`, each checked first. The only place they are
 * read: the destination's folder reads no environment, and the harness takes them from here.
 *
 * @returns the options set; an unset one is left to the caller (`start` points both URLs at its sandbox) or to the
 *   harness's default (Koala itself, {@link DEFAULT_REQUEST_TIMEOUT_MS}).
 * @throws Error naming the variable at fault.
 */
export function koalaOptionsFromEnv(): HarnessOptions {
  checkApiUrl()
  checkAppUrl()
  checkRequestTimeout()
  const timeout = envSetting('KOALA_REQUEST_TIMEOUT_MS')
  const apiUrl = envSetting('KOALA_API_URL')
  const appUrl = envSetting('KOALA_APP_URL')
  return {
    apiUrl,
    appUrl,
    requestTimeoutMs: timeout === undefined ? undefined : Number(timeout),
    ...(apiUrl !== undefined && appUrl === undefined && trimBase(apiUrl) !== KOALA_API_URL
      ? { deletionsHeld: deletionsHeldReason(apiUrl) }
      : {})
  }
}

/**
 * Why deletions are held: `KOALA_API_URL` sends events somewhere other than Koala (a sandbox elsewhere, staging) and
 * `KOALA_APP_URL` is unset, which would send deletions to Koala's production app, where they delete real people.
 * Setting `KOALA_APP_URL` (to `https://app.getkoala.com` to mean Koala's production app) sends them.
 */
export function deletionsHeldReason(apiUrl: string): string {
  return (
    `Deletion requests are not sent: KOALA_API_URL sends events to ${redactProjectUrl(trimBase(apiUrl))}, and ` +
    `KOALA_APP_URL is unset, so a deletion would go to Koala's production app (${KOALA_APP_URL}), not where the ` +
    `events went. Set KOALA_APP_URL to where deletions should go, or to ${KOALA_APP_URL} to send them to Koala.`
  )
}

/** Prints the routes of a running server: one per action of the destination, as the server serves them. */
export function describeServer(server: RunningServer, harness: Harness): string {
  const { apiUrl, appUrl } = harness.targets
  const { definition } = harness
  return [
    `Koala (Cloud) local server listening on ${server.url} (actions-cli compatible), sending to ${redactProjectUrl(
      apiUrl
    )}, ${
      harness.targets.deletionsHeld
        ? `deletion requests nowhere (KOALA_APP_URL is unset; set it to ${KOALA_APP_URL} to send them to Koala)`
        : `deletion requests to ${redactProjectUrl(appUrl)}`
    }`,
    `  Actions Tester (open in a browser): ${server.url}/`,
    `  GET  ${server.url}/manifest`,
    `  POST ${server.url}/authenticate`,
    ...(definition.onDelete ? [`  POST ${server.url}/delete`] : []),
    ...Object.keys(definition.actions).map((slug) => `  POST ${server.url}/${slug}`)
  ].join('\n')
}
