import * as http from 'http'

/**
 * One request with the given Host header (fetch does not let a caller set Host), to `url`'s address.
 *
 * @returns the status and the body as text.
 */
export function hostRequest(
  url: string,
  host: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {}
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: init.method ?? 'GET', headers: { ...init.headers, host } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
    })
    request.on('error', reject)
    request.end(init.body)
  })
}
