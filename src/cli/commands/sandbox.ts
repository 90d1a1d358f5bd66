import type { Command } from 'commander'
import { stopOnSignal } from '../../lib/process'
import { FAULTS_HELP, sandboxPort, startConfiguredSandbox } from '../lib/local-sandbox'

/** `sandbox`: runs the local Koala-compatible ingestion server until interrupted. */
export default function register(program: Command): void {
  program
    .command('sandbox')
    .summary('Run a local Koala-compatible ingestion server on 127.0.0.1 (default port $KOALA_SANDBOX_PORT or 3001)')
    .description(
      'Run a local Koala-compatible ingestion server on 127.0.0.1 (default port $KOALA_SANDBOX_PORT or 3001).\n' +
        'KOALA_SANDBOX_KEYS (comma-separated) limits the accepted keys; others get 401.\n' +
        'It also takes deletion requests (POST /api/v1/deletion-requests); KOALA_SANDBOX_SECRET_KEYS ' +
        '(comma-separated) limits their secret keys.\n' +
        FAULTS_HELP
    )
    .option('-p, --port <port>', 'port to listen on (default: $KOALA_SANDBOX_PORT or 3001)')
    .action(async (options: { port?: string }) => {
      // Read before listening, so a bad setting reports itself rather than a port problem.
      const port = sandboxPort(options.port)
      const { sandbox, settingsLines } = await startConfiguredSandbox(
        port,
        (line) => console.log(line),
        `Could not listen on 127.0.0.1:${port}`,
        'Choose another port with --port or KOALA_SANDBOX_PORT.'
      )
      console.log(`Koala sandbox listening on ${sandbox.url} (accepted bodies: ${sandbox.url}/__sandbox/received)`)
      for (const line of settingsLines) console.log(line)
      stopOnSignal(() => sandbox.close())
    })
}
