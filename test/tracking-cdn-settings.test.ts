import type { CDNSettings } from '@segment/analytics-next'
import { describeTracking } from '../src/cli/lib/local-tracking'
import { cdnSettings } from '../src/tracking/cdn-settings'
import type { LocalCdnSettings } from '../src/tracking/cdn-settings'
import { startTrackingApi } from '../src/tracking/tracking-api'
import type { RunningTrackingApi } from '../src/tracking/tracking-api'
import { hostRequest } from './support/host-request'

// `GET /v1/projects/<writeKey>/settings`: the settings analytics.js fetches from its cdnURL, pointing Segment.io at
// the Tracking API itself, with nothing that would make analytics.js load anything else (tracking-offline.browser
// drives analytics.js with them).

let api: RunningTrackingApi
beforeAll(async () => {
  api = await startTrackingApi(0)
})
afterAll(() => api.close())

// `npm run typecheck` holds the settings to analytics-next's own type.
const local: LocalCdnSettings = cdnSettings('key', '127.0.0.1:3002/v1')
const typed: CDNSettings = local

test('answers the settings for any write key, readable from any page', async () => {
  const response = await fetch(`${api.url}/v1/projects/my%20key/settings`, {
    headers: { Origin: 'https://shop.example.com' }
  })
  expect(response.status).toBe(200)
  expect(response.headers.get('access-control-allow-origin')).toBe('*')
  expect(response.headers.get('cache-control')).toBe('no-store')
  expect(await response.json()).toEqual({
    integrations: {
      'Segment.io': { apiKey: 'my key', apiHost: `127.0.0.1:${api.port}/v1`, protocol: 'http', retryQueue: true }
    },
    plan: {},
    enabledMiddleware: {},
    metrics: { sampleRate: 0, host: `127.0.0.1:${api.port}/v1` },
    legacyVideoPluginsEnabled: false,
    remotePlugins: []
  })
  expect(Object.keys(typed.integrations)).toEqual(['Segment.io'])
})

test('another host name for this machine is refused, as every route of the Tracking API', async () => {
  const response = await hostRequest(`${api.url}/v1/projects/k/settings`, 'evil.example.com')
  expect(response.status).toBe(403)
})

test('the banner shows analytics.js loading with cdnURL alone', () => {
  expect(describeTracking(api, {}).split('\n')).toEqual([
    `Segment Tracking API listening on ${api.url}/v1 (takes any write key), delivering through the destination`,
    `  analytics-node: new Analytics({ writeKey, host: '${api.url}' })`,
    `  analytics.js:   AnalyticsBrowser.load({ writeKey, cdnURL: '${api.url}' })`,
    `  Event Delivery: GET ${api.url}/v1/deliveries`,
    '  Journal: off (events buffered when the process dies are lost)'
  ])
})
