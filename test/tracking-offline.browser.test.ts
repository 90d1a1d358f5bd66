import express from 'express'
import path from 'path'
import type { Browser } from 'puppeteer-core'
import { listenOnLoopback } from '../src/lib/loopback'
import type { LoopbackServer } from '../src/lib/loopback'
import { PUBLIC_KEY, startRig } from './support/tracking'
import type { TrackingRig } from './support/tracking'
import { launchChromium } from './support/chromium'

// analytics.js offline, as the README and the banner say: a page calls only
// `AnalyticsBrowser.load({ writeKey, cdnURL: <the Tracking API> })`. analytics.js fetches its settings from the
// Tracking API (`/v1/projects/<writeKey>/settings`, which point Segment.io back at it) and sends its calls there.
// Chromium resolves no host but 127.0.0.1, and every request to another host is refused and recorded: none is made.

jest.setTimeout(90_000)

const BUILD = path.join(__dirname, '..', 'node_modules', '@segment', 'analytics-next', 'dist', 'umd')
const WRITE_KEY = 'offline-write-key'

let rig: TrackingRig
let site: LoopbackServer
let browser: Browser
const lines: string[] = []

beforeAll(async () => {
  rig = await startRig({
    flushIntervalMs: 20,
    config: { settings: { public_key: PUBLIC_KEY } },
    log: (line) => lines.push(line)
  })
  const app = express()
  app.use('/ajs', express.static(BUILD))
  app.get('/', (_req, res) => {
    res
      .type('html')
      .send(
        '<!doctype html><html><head><link rel="icon" href="data:,"><script src="/ajs/index.js"></script></head></html>'
      )
  })
  site = await listenOnLoopback(app, 0)
  browser = await launchChromium(['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1'])
})

afterAll(async () => {
  await browser?.close()
  await site?.close()
  await rig?.close()
})

test('AnalyticsBrowser.load({ writeKey, cdnURL }) loads its settings from the Tracking API and delivers', async () => {
  const page = await browser.newPage()
  const outside: string[] = []
  const errors: string[] = []
  await page.setRequestInterception(true)
  page.on('request', (request) => {
    if (new URL(request.url()).hostname === '127.0.0.1') return void request.continue()
    outside.push(request.url())
    void request.abort()
  })
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  const failed: string[] = []
  page.on('response', (response) => {
    if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`)
  })
  await page.goto(`${site.url}/`)
  const loaded = await page.evaluate(
    async (writeKey: string, cdnURL: string) => {
      const { AnalyticsBrowser } = (window as unknown as { AnalyticsNext: typeof import('@segment/analytics-next') })
        .AnalyticsNext
      const analytics = AnalyticsBrowser.load({ writeKey, cdnURL })
      await analytics.identify('u-offline', { email: 'offline@example.com' })
      await analytics.group('g-offline', { domain: 'offline.example.com' })
      const [instance] = await analytics
      return instance.settings.cdnSettings.integrations['Segment.io']
    },
    WRITE_KEY,
    rig.api.url
  )
  expect(loaded).toEqual({
    apiKey: WRITE_KEY,
    apiHost: `127.0.0.1:${rig.api.port}/v1`,
    protocol: 'http',
    retryQueue: true
  })
  for (let tries = 0; tries < 100 && rig.api.pipeline.view().events.length < 2; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await rig.api.pipeline.idle()
  const records = rig.api.pipeline.view().events.reverse()
  expect(records.map(({ type, action, outcome }) => ({ type, action, outcome }))).toEqual([
    { type: 'identify', action: 'identify', outcome: 'delivered' },
    { type: 'group', action: 'group', outcome: 'delivered' }
  ])
  expect(rig.sandbox.received).toEqual([
    expect.objectContaining({ email: 'offline@example.com' }),
    expect.objectContaining({ domain: 'offline.example.com' })
  ])
  expect(lines).toEqual([
    `[tracking] GET /v1/projects/${WRITE_KEY}/settings 200`,
    // analytics.js sends Authorization, hence a preflight per call; each line names the path as requested.
    '[tracking] OPTIONS /v1/i 204',
    '[tracking] POST /v1/i 200',
    '[tracking] OPTIONS /v1/g 204',
    '[tracking] POST /v1/g 200'
  ])
  expect(outside).toEqual([])
  expect(failed).toEqual([])
  expect(errors).toEqual([])
})
