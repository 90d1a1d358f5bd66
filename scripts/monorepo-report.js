#!/usr/bin/env node
/**
 * The judging half of scripts/monorepo-check.sh: reads what the monorepo's tools wrote and decides pass or fail, and
 * renders the pull request's description. Kept in node because the inputs are JSON.
 *
 *   monorepo-report.js required-fields <published.out> <ours.out>
 *   monorepo-report.js secret-fields <validate-secret-fields.out>
 *   monorepo-report.js jest-failures <jest.json>
 *   monorepo-report.js published-tests <jest.json> <expected.json> <summary.json>
 *   monorepo-report.js pr <template.md> <log dir> <out.md>
 *
 * Exit codes: 0 pass, 1 fail, 2 wrong use or unreadable input.
 */
const fs = require('fs')
const path = require('path')

const NAME = 'Koala (Cloud)' // the destination's name, the key the monorepo's CLI reports it under

/** The JSON object a CLI command printed, skipping any log lines before it. */
function cliJson(file) {
  const text = fs.readFileSync(file, 'utf8')
  const start = text.indexOf('{')
  if (start < 0) throw new Error(`${file}: no JSON in the output`)
  return JSON.parse(text.slice(start))
}

const ESC = String.fromCharCode(27)
const stripAnsi = (text) =>
  String(text)
    .split(new RegExp(`${ESC}\\[[0-9;]*m`))
    .join('')

/**
 * The rule of .github/workflows/required-field-check.yml: for an action (or `settings`) that exists on the base, a
 * field required now but not there is a breaking change for the customers who already use it. New actions are free.
 */
function requiredFields(publishedFile, oursFile) {
  const published = cliJson(publishedFile)[NAME]
  const ours = cliJson(oursFile)[NAME]
  if (!published || !ours) {
    console.log(`${NAME} missing from the list-required-fields output of ${published ? 'ours' : 'the published one'}`)
    return 1
  }
  let added = 0
  for (const [action, fields] of Object.entries(ours)) {
    if (!published[action]) {
      console.log(`${action}: new, required ${fields.join(', ') || 'nothing'} (allowed: no customer has it yet)`)
      continue
    }
    const extra = fields.filter((field) => !published[action].includes(field))
    console.log(`${action}: required ${fields.join(', ') || 'nothing'} (published: ${published[action].join(', ')})`)
    if (extra.length) {
      console.log(`  NEW required field on an action customers already have: ${extra.join(', ')}`)
      added++
    }
  }
  return added ? 1 : 0
}

/** The rule of .github/workflows/required-secret-check.yml: no setting named like a secret unless it is a password. */
function secretFields(file) {
  const ours = cliJson(file)[NAME]
  if (!ours) {
    console.log(`${NAME} missing from the validate-secret-fields output (did it load?)`)
    return 1
  }
  const settings = ours.settings || []
  console.log(settings.length ? `secret-like settings that are not passwords: ${settings.join(', ')}` : 'none found')
  return settings.length ? 1 : 0
}

/**
 * The published destination's own tests, run against our folder: passes when exactly the expected ones fail. A suite
 * that does not run at all counts as one failure named after its file.
 */
function publishedTests(jestFile, expectedFile, summaryFile) {
  const expected = JSON.parse(fs.readFileSync(expectedFile, 'utf8'))
  const reasons = new Map(expected.map((entry) => [entry.test, entry.reason]))
  const results = []
  if (fs.existsSync(jestFile)) {
    for (const suite of JSON.parse(fs.readFileSync(jestFile, 'utf8')).testResults) {
      const file = suite.name.split('/destinations/koala/').pop()
      if (!suite.assertionResults.length && suite.status === 'failed') {
        results.push({ test: `${file}: the suite did not run`, status: 'failed', message: firstLines(suite.message) })
      }
      for (const test of suite.assertionResults) {
        results.push({ test: test.fullName, status: test.status, message: firstLines(test.failureMessages.join('\n')) })
      }
    }
  } else {
    results.push({ test: 'jest wrote no results', status: 'failed', message: 'see published-tests.log' })
  }
  const failed = results.filter((result) => result.status === 'failed')
  const unexpected = failed.filter((result) => !reasons.has(result.test))
  const nowPassing = [...reasons.keys()].filter((name) => !failed.some((result) => result.test === name))
  for (const result of results) {
    const mark = result.status !== 'failed' ? result.status : reasons.has(result.test) ? 'failed (expected)' : 'FAILED'
    console.log(`${mark}: ${result.test}`)
    if (result.status === 'failed') console.log(result.message.replace(/^/gm, '    '))
  }
  for (const name of nowPassing) console.log(`expected to fail but did not: ${name}`)
  const summary = results.map((result) => ({ ...result, reason: reasons.get(result.test) }))
  fs.writeFileSync(
    summaryFile,
    JSON.stringify({ results: summary, unexpected: unexpected.length, nowPassing }, null, 2)
  )
  console.log(`${results.length} tests, ${failed.length} failed (${failed.length - unexpected.length} expected)`)
  return unexpected.length || nowPassing.length || !results.length ? 1 : 0
}

/** The failed tests of a jest --json result, each with what went wrong; exit 1 when there are any. */
function jestFailures(jestFile) {
  const suites = JSON.parse(fs.readFileSync(jestFile, 'utf8')).testResults
  let failed = 0
  for (const suite of suites) {
    const file = suite.name.split('/destinations/').pop()
    if (!suite.assertionResults.length && suite.status === 'failed') {
      console.log(`FAILED: ${file} did not run\n${firstLines(suite.message).replace(/^/gm, '    ')}`)
      failed++
    }
    for (const test of suite.assertionResults.filter((result) => result.status === 'failed')) {
      console.log(`FAILED: ${test.fullName} (${file})`)
      console.log(firstLines(test.failureMessages.join('\n')).replace(/^/gm, '    '))
      failed++
    }
  }
  return failed ? 1 : 0
}

/** The first lines of a failure message that say what went wrong (no stack). */
function firstLines(message) {
  const lines = stripAnsi(message)
    .split('\n')
    .filter((line) => line.trim() && !/^\s+at /.test(line))
  return lines.slice(0, 10).join('\n')
}

/** Fills the template's {{placeholders}} with what the run measured (files in the log dir). */
function renderPr(templateFile, logDir, outFile) {
  const read = (name) => {
    const file = path.join(logDir, name)
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined
  }
  const steps = (read('results.tsv') || '')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split('\t'))
  const passed = steps.filter(([, result]) => result === 'pass').length
  const jest = read('jest.json') && JSON.parse(read('jest.json'))
  const published = read('published-tests.summary.json') && JSON.parse(read('published-tests.summary.json'))
  const stepOk = (name) => steps.some(([step, result]) => step === name && result === 'pass')
  const info = Object.fromEntries(
    (read('info.tsv') || '')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\t'))
  )
  const values = {
    steps: [
      '| check | result |',
      '| --- | --- |',
      ...steps.map(([name, result, command]) => {
        // The published tests pass as a step when exactly the expected ones fail: say so in the row.
        const failedAsIntended = published ? published.results.filter((r) => r.status === 'failed').length : 0
        const shown =
          name === 'published-tests' && result === 'pass' && failedAsIntended
            ? `pass: ${failedAsIntended} failed as intended, below`
            : result
        return `| ${command || name} | ${shown} |`
      })
    ].join('\n'),
    steps_passed: `${passed} of ${steps.length}`,
    jest: jest
      ? `${jest.numPassedTests} of ${jest.numTotalTests} tests passed in ${jest.numTotalTestSuites} suites` +
        `, ${jest.snapshot.matched} of ${jest.snapshot.total} snapshots matched` +
        (jest.numFailedTests ? ` (**${jest.numFailedTests} failed**)` : '')
      : 'jest did not run to completion',
    published_tests: published ? publishedLines(published) : 'not run',
    monorepo_commit: info.monorepo_commit || 'unknown',
    source_commit: info.source_commit || 'unknown',
    date: info.date || new Date().toISOString().slice(0, 10),
    security_checked: stepOk('secret-fields') ? 'x' : ' ',
    compat_checked: stepOk('required-fields') && stepOk('published-tests') ? 'x' : ' ',
    tests_checked: stepOk('jest') ? 'x' : ' '
  }
  const template = fs.readFileSync(templateFile, 'utf8').replace(/^<!--[\s\S]*?-->\s*/, '')
  const unknown = []
  const text = template.replace(/\{\{(\w+)\}\}/g, (_, key) => {
    if (key in values) return values[key]
    unknown.push(key)
    return `{{${key}}}`
  })
  if (unknown.length) {
    console.log(`unknown placeholders in ${templateFile}: ${unknown.join(', ')}`)
    return 1
  }
  fs.writeFileSync(outFile, text)
  return 0
}

function publishedLines(summary) {
  const lines = summary.results.map((result) => {
    if (result.status !== 'failed') return `- ${result.status}: ${result.test}`
    if (!result.reason) return `- **fails, not expected**: ${result.test}`
    return `- fails, as intended: ${result.test}. Why: ${result.reason}`
  })
  for (const name of summary.nowPassing) lines.push(`- passes, though listed as an intended failure: ${name}`)
  return lines.join('\n')
}

const [command, ...args] = process.argv.slice(2)
const commands = {
  'jest-failures': jestFailures,
  'required-fields': requiredFields,
  'secret-fields': secretFields,
  'published-tests': publishedTests,
  pr: renderPr
}
const arity = { 'jest-failures': 1, 'required-fields': 2, 'secret-fields': 1, 'published-tests': 3, pr: 3 }
if (!commands[command] || args.length !== arity[command]) {
  console.error('usage: monorepo-report.js jest-failures|required-fields|secret-fields|published-tests|pr <files...>')
  process.exit(2)
}
try {
  process.exit(commands[command](...args))
} catch (error) {
  console.error(`${command}: ${error.message}`)
  process.exit(2)
}
