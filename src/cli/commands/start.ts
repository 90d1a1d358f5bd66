import type { Command } from 'commander'
import { stopOnSignal } from '../../lib/process'
import type { TrackingFlags } from '../lib/local-tracking'
import { startBoth } from '../lib/start-both'

/**
 * `start` (`npm start`): the main job. Runs the Koala sandbox, the local server and the local Segment Tracking API
 * together, pointed at the sandbox unless KOALA_API_URL is set, until Ctrl-C stops them (the Tracking API delivers
 * what it holds first).
 */
export default function register(program: Command): void {
  program
    .command('start')
    .description(
      'Run the Koala sandbox (127.0.0.1:$KOALA_SANDBOX_PORT, default 3001), the local server ' +
        '(127.0.0.1:$PORT, default 3000) and a local Segment Tracking API (127.0.0.1:$TRACKING_API_PORT, default 3002) ' +
        'together; the server and the Tracking API send to the sandbox unless KOALA_API_URL is set.'
    )
    .option(
      '--config <file>',
      'JSON {"settings": {...}, "mappings": {"<action>": {...}}} for the Tracking API\'s delivery'
    )
    .option('--write-key <key>', 'the only write key the Tracking API takes (default: $SEGMENT_WRITE_KEY, else any)')
    .option('--retry-window <seconds>', 'how long a failed delivery is retried (default 30)')
    .option('--flush-interval <ms>', 'how long a batching action buffers events before it sends them (default 500)')
    .option('--max-records <n>', 'delivery records kept for /v1/deliveries; older ones are dropped (default 10000)')
    .option(
      '--journal <dir>',
      'where accepted events are kept until delivered (default: $KOALA_JOURNAL_DIR, else .koala-local/journal)'
    )
    .option('--no-journal', 'keep no journal: events buffered when the process dies are lost')
    .action(async (flags: TrackingFlags) => {
      const started = await startBoth(undefined, flags)
      stopOnSignal(() => started.close(), { abandon: () => started.abandon() })
    })
}
