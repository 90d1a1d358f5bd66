import { spawnSync } from 'child_process'
import * as fs from 'fs'
import * as os from 'os'
import * as path from 'path'
import { repoRoot } from './support/local-server'

// `npm run monorepo:check` needs a real monorepo checkout to run; what can be held here without one is its wrong-use
// answers (exit 2, before anything is prepared or changed) and the judging rules of scripts/monorepo-report.js.

const check = (...args: string[]) =>
  spawnSync('bash', [path.join(repoRoot, 'scripts', 'monorepo-check.sh'), ...args], { encoding: 'utf8' })
const report = (...args: string[]) =>
  spawnSync('node', [path.join(repoRoot, 'scripts', 'monorepo-report.js'), ...args], { encoding: 'utf8' })

let dir: string
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'monorepo-check-'))
})
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

const write = (name: string, value: unknown) => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value))
  return file
}

describe('monorepo-check.sh refuses wrong use with exit code 2 and says why', () => {
  it.each([
    [[], 'no checkout given'],
    [['/nonexistent/action-destinations'], 'no such directory: /nonexistent/action-destinations'],
    [['--pr-out'], '--pr-out needs a file'],
    [['--force', '.'], 'unknown option: --force'],
    [['a', 'b'], 'one checkout only']
  ])('%j', (args, message) => {
    const run = check(...args)
    expect(run.stderr).toContain(message)
    expect(run.status).toBe(2)
  })

  it('a folder that is not a checkout of the monorepo', () => {
    const run = check(dir)
    expect(run.stderr).toContain('is not a git checkout of segmentio/action-destinations')
    expect(run.status).toBe(2)
  })

  it('--help prints the usage and exits 0', () => {
    const run = check('--help')
    expect(run.stdout).toContain('usage: npm run monorepo:check -- <checkout')
    expect(run.status).toBe(0)
  })
})

describe('monorepo-report.js', () => {
  const koala = (actions: Record<string, string[]>) => 'log line\n' + JSON.stringify({ 'Koala (Cloud)': actions })

  it('required-fields fails on a new required field of an existing action only', () => {
    const published = write('published.out', koala({ settings: ['public_key'], track: ['event'] }))
    const newAction = write('a.out', koala({ settings: ['public_key'], track: ['event'], page: ['name'] }))
    const newField = write('b.out', koala({ settings: ['public_key'], track: ['event', 'email'] }))
    expect(report('required-fields', published, newAction).status).toBe(0)
    const run = report('required-fields', published, newField)
    expect(run.stdout).toContain('NEW required field on an action customers already have: email')
    expect(run.status).toBe(1)
    expect(report('required-fields', published, write('c.out', '{}')).status).toBe(1)
  })

  it('secret-fields fails on a secret-like setting that is not a password, or when Koala is missing', () => {
    expect(report('secret-fields', write('a.out', koala({ settings: [] }))).status).toBe(0)
    expect(report('secret-fields', write('b.out', koala({ settings: ['secret_key'] }))).status).toBe(1)
    expect(report('secret-fields', write('c.out', '{"Other": {"settings": []}}')).status).toBe(1)
  })

  describe('published-tests passes when exactly the expected tests fail', () => {
    const jest = (failing: string[]) =>
      write('jest.json', {
        testResults: [
          {
            name: '/m/packages/destination-actions/src/destinations/koala/track/__tests__/published-index.test.ts',
            status: failing.length ? 'failed' : 'passed',
            message: '',
            assertionResults: ['A', 'B'].map((name) => ({
              fullName: name,
              status: failing.includes(name) ? 'failed' : 'passed',
              failureMessages: failing.includes(name) ? ['expect(received).toBe(expected)\n    at x (y.ts:1:1)'] : []
            }))
          }
        ]
      })
    const run = (failing: string[]) =>
      report(
        'published-tests',
        jest(failing),
        write('expected.json', [{ test: 'A', reason: 'intended' }]),
        path.join(dir, 's.json')
      )

    it.each([
      [['A'], 0],
      [['A', 'B'], 1],
      [[], 1]
    ])('failing %j: exit %d', (failing, status) => {
      expect(run(failing).status).toBe(status)
    })

    it('jest-failures names the failed tests of a jest run, and exits 1 when there are any', () => {
      const run = report('jest-failures', jest(['B']))
      expect(run.stdout).toContain('FAILED: B (koala/track/__tests__/published-index.test.ts)')
      expect(run.stdout).not.toContain('FAILED: A')
      expect(run.status).toBe(1)
      expect(report('jest-failures', jest([])).status).toBe(0)
    })

    it('names each failure and its first message line, without the stack', () => {
      const out = run(['A', 'B']).stdout
      expect(out).toContain('failed (expected): A')
      expect(out).toContain('FAILED: B\n    expect(received).toBe(expected)\n')
      expect(out).not.toContain('y.ts:1:1')
    })
  })

  it('pr fills every placeholder of docs/pr-description.md, and refuses an unknown one', () => {
    write('results.tsv', 'jest\tpass\t`npx jest`\nsecret-fields\tFAIL\tsecrets\n')
    write('published-tests.summary.json', {
      results: [
        { test: 'A', status: 'failed', reason: 'intended' },
        { test: 'B', status: 'failed' }
      ],
      nowPassing: ['C']
    })
    const out = path.join(dir, 'pr.md')
    expect(report('pr', path.join(repoRoot, 'docs', 'pr-description.md'), dir, out).status).toBe(0)
    const text = fs.readFileSync(out, 'utf8')
    expect(text).not.toMatch(/\{\{|<!--/)
    expect(text).toContain('| `npx jest` | pass |')
    expect(text).toContain('1 of 2 checks passed')
    expect(text).toContain('- fails, as intended: A. Why: intended\n- **fails, not expected**: B\n')
    expect(text).toContain('- passes, though listed as an intended failure: C')
    expect(report('pr', write('t.md', 'x {{nope}}'), dir, out).status).toBe(1)
  })
})
