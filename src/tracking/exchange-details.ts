import type { Exchange } from '../harness'

/** The Koala request an event became and Koala's answer, as a delivery record shows them. */
export interface ExchangeDetails {
  request?: { url: string; body: unknown }
  response?: { status: number; body: unknown }
}

function parsedBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

// Every event of one request shares its details: the body is parsed once.
const detailsOf = new WeakMap<Exchange, ExchangeDetails>()

/** The details of the harness's `exchange` (none when there was no request), parsed once per exchange. */
export function exchangeDetails(exchange: Exchange | undefined): ExchangeDetails {
  if (!exchange) return {}
  let details = detailsOf.get(exchange)
  if (!details) {
    details = {
      request: { url: exchange.request.url, body: parsedBody(exchange.request.body) },
      response: { status: exchange.response.statusCode, body: exchange.response.body }
    }
    detailsOf.set(exchange, details)
  }
  return details
}
