import type { Command } from 'commander'
import { stopOnSignal } from '../../lib/process'
import { startBoth } from '../lib/start-both'

/**
 * `start` (`npm start`): the main job. Runs the Koala sandbox and the local server together, the server pointed at
 * the sandbox unless KOALA_API_URL is set, until Ctrl-C stops both.
 */
export default function register(program: Command): void {
  program
    .command('start')
    .description(
      'Run the Koala sandbox (127.0.0.1:$KOALA_SANDBOX_PORT, default 3001) and the local server ' +
        '(127.0.0.1:$PORT, default 3000) together; the server sends to the sandbox unless KOALA_API_URL is set.'
    )
    .action(async () => {
      const started = await startBoth()
      stopOnSignal(() => started.close())
    })
}
