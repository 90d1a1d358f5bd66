import type { Request, Response } from 'express'

/**
 * The source settings analytics.js fetches before it sends anything: `GET {cdnURL}/v1/projects/{writeKey}/settings`
 * (`loadCDNSettings` in segmentio/analytics-next, packages/browser/src/browser/index.ts; the shape is its
 * `CDNSettings`, formerly `LegacySettings`, in packages/browser/src/browser/settings.ts). Served by the local
 * Tracking API so that `AnalyticsBrowser.load({ writeKey, cdnURL: 'http://127.0.0.1:3002' })` works with no request
 * off the machine:
 *
 * - `Segment.io` (the one integration) points at this Tracking API: `apiHost: '<host>:<port>/v1'`, `protocol: 'http'`;
 * - no other integration, so analytics.js loads no device-mode destination (it would fetch their bundles from the
 *   CDN), and no `remotePlugins` (action destinations' bundles, also from the CDN);
 * - no middleware, routing rules (`middlewareSettings`), tracking plan or video plugins, each of which loads a bundle
 *   of its own;
 * - `metrics.sampleRate: 0`: analytics.js sends no metrics (they go to `api.segment.io` by default).
 */

/** The settings of {@link cdnSettings}: the part of analytics-next's `CDNSettings` they use. */
// A type, not an interface: analytics-next's type has an index signature, which only a type literal meets.
export type LocalCdnSettings = {
  integrations: { 'Segment.io': { apiKey: string; apiHost: string; protocol: 'http'; retryQueue: boolean } }
  plan: Record<string, never>
  enabledMiddleware: Record<string, never>
  metrics: { sampleRate: number; host: string }
  legacyVideoPluginsEnabled: false
  remotePlugins: never[]
}

/**
 * analytics.js's settings for the source `writeKey`, sending to the Tracking API at `apiHost`.
 *
 * @param apiHost host and port of the Tracking API's `/v1`, without protocol: `127.0.0.1:3002/v1`.
 */
export function cdnSettings(writeKey: string, apiHost: string): LocalCdnSettings {
  return {
    integrations: { 'Segment.io': { apiKey: writeKey, apiHost, protocol: 'http', retryQueue: true } },
    plan: {},
    enabledMiddleware: {},
    metrics: { sampleRate: 0, host: apiHost },
    legacyVideoPluginsEnabled: false,
    remotePlugins: []
  }
}

/**
 * `GET /v1/projects/:writeKey/settings`: {@link cdnSettings} for the key asked, with the address the Tracking API
 * listens on (`127.0.0.1:<port>`) as `apiHost`. Any page may read them, as any page reads Segment's CDN: they hold
 * nothing but that address and the key the page sent. Any key gets them; the intake then takes or refuses its events
 * (`--write-key`), and `GET /v1/deliveries` says which.
 */
export function serveCdnSettings(req: Request, res: Response): void {
  const { localAddress, localPort } = req.socket
  const host = localAddress?.includes(':') ? `[${localAddress}]` : localAddress ?? '127.0.0.1'
  res.set('Access-Control-Allow-Origin', '*')
  res.set('Cache-Control', 'no-store')
  res.json(cdnSettings(String(req.params.writeKey), `${host}:${String(localPort)}/v1`))
}
