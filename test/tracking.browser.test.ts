import express from 'express'
import fs from 'fs'
import path from 'path'
import type { Browser } from 'puppeteer-core'
import { ANALYTICS_JS_PAGE_SKIP_MESSAGE, ANALYTICS_JS_SKIP_MESSAGE } from '../src/destinations/koala-cloud/functions'
import { listenOnLoopback } from '../src/lib/loopback'
import { startServer } from '../src/server/server'
import type { LoopbackServer } from '../src/lib/loopback'
import { PUBLIC_KEY, startRig } from './support/tracking'
import type { TrackingRig } from './support/tracking'
import { launchChromium } from './support/chromium'

// analytics.js (@segment/analytics-next 1.84.3, its browser build from node_modules) in Debian's headless Chromium,
// on a local page of another origin, its CDN settings given inline and its apiHost pointed at the local Tracking API:
// no request leaves the machine. Its page and track calls are skipped with the destination's reasons (the Koala
// pixel records them); its identify and group calls are delivered.

jest.setTimeout(90_000)

const BUILD = path.join(__dirname, '..', 'node_modules', '@segment', 'analytics-next', 'dist', 'umd')
const WRITE_KEY = 'browser-write-key'

let rig: TrackingRig
let site: LoopbackServer
let browser: Browser
const outside: string[] = []

beforeAll(async () => {
  rig = await startRig({ flushIntervalMs: 20, config: { settings: { public_key: PUBLIC_KEY } } })
  const app = express()
  // The whole folder: the build loads its chunks from beside itself.
  app.use('/ajs', express.static(BUILD))
  app.get('/', (_req, res) => {
    res.type('html').send('<!doctype html><html><head><script src="/ajs/index.js"></script></head><body></body></html>')
  })
  site = await listenOnLoopback(app, 0)
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await site?.close()
  await rig?.close()
})

test('identify and group are delivered; page and track are skipped with the reasons', async () => {
  expect(fs.existsSync(path.join(BUILD, 'index.js'))).toBe(true)
  const page = await browser.newPage()
  page.on('request', (request) => {
    const url = new URL(request.url())
    if (url.hostname !== '127.0.0.1') outside.push(request.url())
  })
  await page.goto(`${site.url}/`)
  const apiHost = `${rig.api.url.replace('http://', '')}/v1`
  await page.evaluate(
    async (writeKey: string, host: string, cdnURL: string) => {
      const { AnalyticsBrowser } = (window as unknown as { AnalyticsNext: typeof import('@segment/analytics-next') })
        .AnalyticsNext
      const analytics = AnalyticsBrowser.load({
        writeKey,
        cdnURL,
        cdnSettings: { integrations: { 'Segment.io': { apiKey: writeKey, apiHost: host, protocol: 'http' } } }
      })
      await analytics.identify('u-browser', { email: 'browser@example.com', plan: 'pro' })
      await analytics.track('Report Exported', { rows: 3 })
      await analytics.page('Docs', 'Getting Started')
      await analytics.group('g-acme', { domain: 'acme.example.com', name: 'Acme' })
    },
    WRITE_KEY,
    apiHost,
    site.url
  )
  // analytics.js posts each call on its own; wait until all four have their final outcome.
  for (let tries = 0; tries < 100 && rig.api.pipeline.view().events.length < 4; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await rig.api.pipeline.idle()
  const records = rig.api.pipeline.view().events.reverse()
  expect(records.map(({ type, action, outcome, reason }) => ({ type, action, outcome, reason }))).toEqual([
    { type: 'identify', action: 'identify', outcome: 'delivered', reason: undefined },
    { type: 'track', action: 'track', outcome: 'skipped', reason: ANALYTICS_JS_SKIP_MESSAGE },
    { type: 'page', action: 'page', outcome: 'skipped', reason: ANALYTICS_JS_PAGE_SKIP_MESSAGE },
    { type: 'group', action: 'group', outcome: 'delivered', reason: undefined }
  ])
  const library = records[0].payload.context as { library: { name: string; version: string }; ip: string }
  expect(library.library).toEqual({ name: 'analytics.js', version: 'next-1.84.3' })
  // analytics.js's paths are client-side: Segment fills in the IP, which the identify carries to Koala.
  expect(library.ip).toBe('127.0.0.1')
  expect(rig.sandbox.received).toEqual([
    {
      email: 'browser@example.com',
      ip: '127.0.0.1',
      traits: { email: 'browser@example.com', plan: 'pro' },
      identifies: [
        {
          type: 'identify',
          message_id: records[0].messageId,
          sent_at: records[0].payload.timestamp,
          traits: { email: 'browser@example.com', plan: 'pro' },
          context: { ...library, source: 'segment-cloud' }
        }
      ]
    },
    {
      domain: 'acme.example.com',
      identifies: [
        {
          type: 'identify',
          message_id: records[3].messageId,
          sent_at: records[3].payload.timestamp,
          traits: { domain: 'acme.example.com', name: 'Acme', group_id: 'g-acme' }
        }
      ]
    }
  ])
  expect(outside).toEqual([])
})

test("the Actions Tester's Event Delivery section lists those events, their outcomes and counts per action", async () => {
  const server = await startServer(0, {
    harness: rig.harness,
    deliveries: () => ({ url: `${rig.api.url}/v1`, data: rig.api.pipeline.view(50) })
  })
  try {
    const page = await browser.newPage()
    await page.setViewport({ width: 1280, height: 900 })
    await page.goto(`${server.url}/`)
    await page.waitForSelector('#delivery-events details')
    fs.mkdirSync(path.join(__dirname, '..', 'test-output'), { recursive: true })
    await page.screenshot({ path: path.join(__dirname, '..', 'test-output', 'tracking-delivery.png'), fullPage: true })
    const shown = await page.evaluate(() => ({
      status: document.getElementById('delivery-status')?.textContent,
      rows: Array.from(document.querySelectorAll('.delivery-counts tbody tr')).map((row) =>
        Array.from(row.children).map((cell) => cell.textContent)
      ),
      // The collapsed rows: the line without its receivedAt, and the reason under it.
      events: Array.from(document.querySelectorAll('#delivery-events summary')).map((summary) => [
        summary.querySelector('.delivery-line')?.textContent?.replace(/ · [^·]+$/, ''),
        summary.querySelector('.delivery-summary-reason')?.textContent
      ]),
      request: document.querySelector('#delivery-events details[data-outcome="delivered"] h4')?.textContent,
      // Where a user finds it: a link at the top of the page, the section before the sandbox's, whose bodies scroll.
      link: document.querySelector('header nav a')?.getAttribute('href'),
      beforeSandbox:
        ((document.getElementById('delivery') as Node).compareDocumentPosition(
          document.getElementById('sandbox') as Node
        ) &
          Node.DOCUMENT_POSITION_FOLLOWING) !==
        0,
      sandboxScroll: [
        getComputedStyle(document.getElementById('sandbox-bodies') as Element).maxHeight,
        getComputedStyle(document.getElementById('sandbox-bodies') as Element).overflowY
      ]
    }))
    const ids = Object.fromEntries(rig.api.pipeline.view().events.map((record) => [record.type, record.messageId]))
    const short = (reason: string) => (reason.length > 160 ? `${reason.slice(0, 160)}…` : reason)
    expect(shown).toEqual({
      status: `Point Segment's libraries at ${rig.api.url}/v1: 4 events so far, the last 4 below (newest first).`,
      rows: [
        ['group', '1', '0', '0', '0', '0', '0'],
        ['identify', '1', '0', '0', '0', '0', '0'],
        ['page', '0', '1', '0', '0', '0', '0'],
        ['track', '0', '1', '0', '0', '0', '0']
      ],
      events: [
        [`delivered group → group · ${ids.group} · 1 attempt`, null],
        [`skipped page → page · ${ids.page} · 1 attempt`, short(ANALYTICS_JS_PAGE_SKIP_MESSAGE)],
        [`skipped track "Report Exported" → track · ${ids.track} · 1 attempt`, short(ANALYTICS_JS_SKIP_MESSAGE)],
        [`delivered identify → identify · ${ids.identify} · 1 attempt`, null]
      ],
      request: `Request to Koala: POST ${rig.sandbox.url}/web/projects/pk_t…/accounts/batch`,
      link: '#delivery',
      beforeSandbox: true,
      sandboxScroll: ['640px', 'auto']
    })
    expect(Object.values(ids).every((id) => typeof id === 'string' && id.length > 0)).toBe(true)
  } finally {
    await server.close()
  }
})
