import nock from 'nock'

// The monorepo's test/setup-after-env.ts, behaviour for behaviour: no mock carries over to the next test, no request
// leaves the machine, and nock's patch of Node's http is removed after each file.
beforeEach(() => {
  nock.cleanAll()
})

beforeAll(() => {
  nock.disableNetConnect()
  nock.enableNetConnect('127.0.0.1')
  if (!nock.isActive()) {
    nock.activate()
  }
})

afterAll(() => {
  nock.restore()
  nock.enableNetConnect()
  nock.cleanAll()
})
