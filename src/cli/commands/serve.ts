import type { Command } from 'commander'
import { createHarness } from '../../harness'
import { listenFailure, stopOnSignal } from '../../lib/process'
import { startServer } from '../../server/server'
import type { RunningServer } from '../../server/server'
import { describeServer, koalaOptionsFromEnv, serverPort } from '../lib/local-server'

/** `serve`: runs the actions-cli compatible local server on 127.0.0.1 until interrupted. */
export default function register(program: Command): void {
  program
    .command('serve')
    .description(
      'Run the actions-cli compatible local server on 127.0.0.1 (default port $PORT or 3000). It sends to ' +
        "Koala's production API, or to KOALA_API_URL when set (deletion requests: KOALA_APP_URL)."
    )
    .option('-p, --port <port>', 'port to listen on (default: $PORT or 3000)')
    .action(async (options: { port?: string }) => {
      const harness = createHarness(koalaOptionsFromEnv())
      const port = serverPort(options.port)
      let server: RunningServer
      try {
        server = await startServer(port, { log: (line) => console.log(line), harness })
      } catch (error) {
        throw listenFailure(`Could not listen on 127.0.0.1:${port}`, error, 'Choose another port with --port or PORT.')
      }
      console.log(describeServer(server, harness))
      stopOnSignal(() => server.close())
    })
}
