import express from 'express'
import type { Response } from 'express'
import * as fs from 'fs'
import * as path from 'path'
import { PROJECT_ROOT } from '../lib/paths'
import { redactProjectUrl } from '../harness'
import { isLoopbackHost } from '../lib/loopback'

/**
 * The local Actions Tester: a page at `/` that renders the destination from `/manifest`, runs events through the
 * server's own routes and shows what the sandbox received. Its files: `src/tester/index.html` and `style.css` as
 * written, its scripts compiled by `tsc -p src/tester` into `dist/tester/`. Extra routes, all same-origin:
 *
 * - `GET /tester/examples` -> `[{ file, body }]`, every `examples/*.json` as parsed JSON;
 * - `GET /tester/sandbox` -> `{ sandbox: true, url }` when the server sends to a local Koala sandbox, else
 *   `{ sandbox: false, url }` (the URL with any key or password redacted);
 * - `GET /tester/sandbox/received`, `GET /tester/sandbox/stats`, `DELETE /tester/sandbox/received`: the sandbox's
 *   `/__sandbox/...` routes, relayed, so the page needs no cross-origin access to the sandbox;
 * - `GET /tester/deliveries?<query>` -> `{ tracking: true, url, data }` with the page of the local Tracking API's
 *   delivery records the query asks for (the parameters of its `GET /v1/deliveries`, src/tracking/deliveries.ts), or
 *   400 `{ tracking: true, url, error }` for a query it refuses, when one runs beside the server; else
 *   `{ tracking: false }`.
 */

const PAGE_DIR = path.join(PROJECT_ROOT, 'src', 'tester')
const SCRIPT_DIR = path.join(PROJECT_ROOT, 'dist', 'tester')
const EXAMPLES_DIR = path.join(PROJECT_ROOT, 'examples')

/** Only the page's own files, from this origin: no inline script or style, no remote origin, no framing. */
export const TESTER_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** Whether `base` is on this machine, the only place a local sandbox can be. */
function isLoopback(base: string): boolean {
  try {
    return isLoopbackHost(new URL(base).host)
  } catch {
    return false
  }
}

/** Sends one of the page's files with its content type and the CSP; 404 when it is not there (not built). */
function sendFile(res: Response, file: string, type: string): void {
  if (!fs.existsSync(file)) {
    res
      .status(404)
      .type('text/plain')
      .send(`${path.basename(file)} is missing: run npm run build.\n`)
    return
  }
  res.set('Content-Security-Policy', TESTER_CSP).set('X-Content-Type-Options', 'nosniff').type(type)
  res.send(fs.readFileSync(file))
}

/** The delivery records for a query (express's `req.query`), or why the query is refused. */
export type DeliveriesSource = (query: Record<string, unknown>) => {
  url: string
  data?: unknown
  error?: { parameter: string; message: string }
}

/**
 * The tester's routes, to mount on the local server before its catch-all.
 *
 * @param base where the server sends ingestion requests (the harness's `apiUrl`): a sandbox when it is on this machine.
 */
export function testerRoutes(base: string, deliveries?: DeliveriesSource): express.Router {
  const router = express.Router()
  router.get('/', (_req, res) => sendFile(res, path.join(PAGE_DIR, 'index.html'), 'text/html; charset=utf-8'))
  router.get('/tester/style.css', (_req, res) => sendFile(res, path.join(PAGE_DIR, 'style.css'), 'text/css'))
  for (const script of [
    'app.js',
    'dom.js',
    'json-error.js',
    'delivery.js',
    'markdown.js',
    'directives.js',
    'sandbox-panel.js'
  ]) {
    router.get(`/tester/${script}`, (_req, res) =>
      sendFile(res, path.join(SCRIPT_DIR, script), 'text/javascript; charset=utf-8')
    )
  }

  // Browsers ask for it on every load; the page has none.
  router.get('/favicon.ico', (_req, res) => void res.status(204).end())

  router.get('/tester/examples', (_req, res) => {
    const files = fs.readdirSync(EXAMPLES_DIR).filter((name) => name.endsWith('.json') && name !== 'authenticate.json')
    res.json(
      files
        .sort()
        .map((file) => ({ file, body: JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')) as unknown }))
    )
  })

  /** Relays one sandbox route; `{ sandbox: false }` when the server does not send to a local sandbox. */
  const relay = (method: 'GET' | 'DELETE', route: string) => async (_req: express.Request, res: Response) => {
    const url = redactProjectUrl(base)
    if (!isLoopback(base)) return void res.json({ sandbox: false, url })
    try {
      const answer = await fetch(`${base}/__sandbox/${route}`, { method, signal: AbortSignal.timeout(5000) })
      if (!answer.ok) return void res.json({ sandbox: false, url })
      res.json({ sandbox: true, url, data: (await answer.json()) as unknown })
    } catch {
      res.json({ sandbox: false, url })
    }
  }
  router.get('/tester/sandbox', relay('GET', 'stats'))
  router.get('/tester/sandbox/stats', relay('GET', 'stats'))
  router.get('/tester/sandbox/received', relay('GET', 'received'))
  router.delete('/tester/sandbox/received', relay('DELETE', 'received'))
  // The local Segment Tracking API's delivery view, when `npm start` runs one beside this server.
  router.get('/tester/deliveries', (req, res) => {
    if (!deliveries) return void res.json({ tracking: false })
    const answer = deliveries(req.query)
    res.status(answer.error ? 400 : 200).json({ tracking: true, ...answer })
  })
  return router
}
