import type { Command } from 'commander'
import * as path from 'path'
import { startSandbox, parseFaults, type RunningSandbox } from '../../sandbox/sandbox'
import { startServer, type RunningServer } from '../../server/server'
import { PROJECT_ROOT } from '../paths'
import { describeServer, listenFailure, serverPort, stopOnSignal } from './serve'

/** The ready-to-paste commands printed at start: send the example identify, then look at the sandbox. */
export function demoCommands(serverUrl: string, sandboxUrl: string | undefined): string {
  const examples = path.relative(process.cwd(), path.join(PROJECT_ROOT, 'examples')) || '.'
  const lines = [
    'Try it (from another terminal, in this folder):',
    `  curl -s -X POST ${serverUrl}/identify -H 'Content-Type: application/json' -d @${examples}/identify.json`
  ]
  if (sandboxUrl) lines.push(`  curl -s ${sandboxUrl}/__sandbox/received`)
  return lines.join('\n')
}

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
      const sandboxPort = serverPort(process.env.KOALA_SANDBOX_PORT ?? '3001')
      const port = serverPort()
      const external = process.env.KOALA_API_URL?.trim()
      let sandbox: RunningSandbox | undefined
      if (!external) {
        // Read before listening: a bad setting is reported as itself, not as a port problem.
        const faults = parseFaults(process.env.KOALA_SANDBOX_FAULTS)
        const keys = (process.env.KOALA_SANDBOX_KEYS ?? '').split(',').map((key) => key.trim())
        try {
          sandbox = await startSandbox(sandboxPort, { keys, faults, log: (line) => console.log(line) })
        } catch (error) {
          throw listenFailure(
            `Could not start the Koala sandbox on 127.0.0.1:${sandboxPort}`,
            error,
            'Choose another port with KOALA_SANDBOX_PORT.'
          )
        }
        // config.ts reads KOALA_API_URL at call time, so this points every request of the server at the sandbox.
        process.env.KOALA_API_URL = sandbox.url
      }
      let server: RunningServer
      try {
        server = await startServer(port, { log: (line) => console.log(line) })
      } catch (error) {
        await sandbox?.close()
        throw listenFailure(`Could not listen on 127.0.0.1:${port}`, error, 'Choose another port with PORT.')
      }
      if (sandbox) {
        console.log(
          `Koala sandbox listening on ${sandbox.url}: accepted bodies at ${sandbox.url}/__sandbox/received, ` +
            `counts at ${sandbox.url}/__sandbox/stats`
        )
      } else {
        console.log(`KOALA_API_URL is set: no sandbox started.`)
      }
      console.log(describeServer(server))
      console.log(demoCommands(server.url, sandbox?.url))
      console.log('Press Ctrl-C to stop.')
      stopOnSignal(async () => {
        await server.close()
        await sandbox?.close()
      })
    })
}
