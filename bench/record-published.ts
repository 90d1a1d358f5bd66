import { mkdirSync, writeFileSync } from 'fs'
import path from 'path'
import { parseArgs } from 'util'
import nock from 'nock'
import { format, resolveConfig } from 'prettier'
import type { JSONObject } from '@segment/actions-core'
import { deliver, differentialEvents, KOALA, PUBLIC_KEY, PUBLISHED_RECORD_PATH } from '../test/support/differential'
import type { PublishedRecord } from '../test/support/differential'
import { segmentSettings } from '../test/support/segment-settings'
import { loadPeer, packPeer, PEER_VERSION } from './peer'

/**
 * `npm run record:published`: runs the published Koala (Cloud) (bench/peer.ts: `npm pack`, never a dependency) over
 * the differential events under its own presets, as saved subscriptions, with Koala mocked by nock (every answer
 * 200), and writes each event's requests to test/fixtures/published-koala-outputs.json, which
 * test/differential.test.ts holds this destination to. Run it again after changing the events in
 * test/support/differential.ts, or to record another published version (`--version`).
 *
 * @throws Error when npm cannot fetch the package (offline) or an event's outcome cannot be written.
 */
async function main(version: string): Promise<void> {
  const peer = packPeer(version)
  try {
    const definition = loadPeer(peer.entry, KOALA)
    const { subscriptions } = segmentSettings(definition, PUBLIC_KEY, { presetsOnly: true }) as {
      subscriptions: JSONObject[]
    }
    nock.disableNetConnect()
    const outputs: PublishedRecord['outputs'] = []
    for (const item of differentialEvents())
      outputs.push({ ...item, ...(await deliver(definition, subscriptions, item.event)) })
    const record: PublishedRecord = {
      package: '@segment/action-destinations',
      version,
      folder: 'dist/destinations/koala',
      recordedWith: `npm run record:published${version === PEER_VERSION ? '' : ` -- --version ${version}`}`,
      subscriptions,
      outputs
    }
    const text = format(JSON.stringify(record), {
      ...(await resolveConfig(PUBLISHED_RECORD_PATH)),
      parser: 'json'
    })
    mkdirSync(path.dirname(PUBLISHED_RECORD_PATH), { recursive: true })
    writeFileSync(PUBLISHED_RECORD_PATH, text)
    const sent = outputs.filter((output) => output.requests.length > 0).length
    console.log(
      `${path.relative(process.cwd(), PUBLISHED_RECORD_PATH)}: ${outputs.length} events, ${sent} sent by ` +
        `@segment/action-destinations@${version}.`
    )
  } finally {
    peer.remove()
  }
}

if (require.main === module) {
  const { values } = parseArgs({ options: { version: { type: 'string', default: PEER_VERSION } } })
  main(String(values.version)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error))
    process.exitCode = 1
  })
}
