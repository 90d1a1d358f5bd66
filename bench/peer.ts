import type { DestinationDefinition } from '@segment/actions-core'
import { execFileSync } from 'child_process'
import { mkdtempSync, rmSync, symlinkSync } from 'fs'
import os from 'os'
import path from 'path'
import type { Settings } from '../src/destinations/koala-cloud/generated-types'
import { PROJECT_ROOT } from '../src/lib/paths'

/**
 * The peer: the Koala destination Segment publishes (`dist/destinations/koala` of `@segment/action-destinations`),
 * which this project succeeds. It is never a dependency: `npm pack` fetches the package into a temporary folder, and
 * only the destination's folder is unpacked. A `node_modules` link to this project's lets its
 * `require('@segment/actions-core')` find the same actions-core as this destination, so the two are compared on one
 * framework.
 */

/** The newest version the registry here serves (`npm view @segment/action-destinations version`, 2026-12-01). */
export const PEER_VERSION = '3.497.0'

export interface PackedPeer {
  /** The destination's `index.js`. */
  entry: string
  /** Deletes the temporary folder. */
  remove: () => void
}

const KOALA_FOLDER = 'package/dist/destinations/koala'

/**
 * @throws Error with npm's or tar's output when the version cannot be fetched or unpacked (e.g. offline).
 */
export function packPeer(version: string): PackedPeer {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'koala-bench-peer-'))
  try {
    const packed = execFileSync(
      'npm',
      ['pack', `@segment/action-destinations@${version}`, '--pack-destination', dir, '--loglevel=error'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }
    )
    const tarball = path.join(dir, packed.trim().split('\n').pop() ?? '')
    execFileSync('tar', ['-xzf', tarball, '-C', dir, KOALA_FOLDER], { stdio: ['ignore', 'ignore', 'pipe'] })
    symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir')
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    const { stderr, message } = error as { stderr?: Buffer | string; message: string }
    throw new Error(
      `Could not pack @segment/action-destinations@${version} for the peer: ${String(stderr ?? '').trim() || message}`
    )
  }
  return {
    entry: path.join(dir, KOALA_FOLDER, 'index.js'),
    remove: () => rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Loads the packed destination with its requests going to `baseUrl`: its actions read the exported `KOALA_PATH`
 * (`https://api2.getkoala.com/web/projects`) at call time, so it is set on the module.
 */
export function loadPeer(entry: string, baseUrl: string): DestinationDefinition<Settings> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a path known only at run time
  const peer = require(entry) as { default: DestinationDefinition<Settings>; KOALA_PATH: string }
  peer.KOALA_PATH = `${baseUrl}/web/projects`
  return peer.default
}
