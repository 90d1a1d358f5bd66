import * as fs from 'fs'
import * as path from 'path'

/** The project's root folder (the one with package.json), whether this runs from `src/` or the built `dist/src/`. */
export const PROJECT_ROOT = (() => {
  let dir = __dirname
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir)
  return dir
})()

/** The destination's source folder. */
export const DESTINATION_DIR = path.join(PROJECT_ROOT, 'src', 'destinations', 'koala-cloud')

/** The real Segment events kept in the repository, one JSON array per captured file: the event of line N of `name.ndjson` is at index N - 1 of `name.json`. */
export const SEGMENT_EVENTS_DIR = path.join(PROJECT_ROOT, 'test', 'destination', 'fixtures')
