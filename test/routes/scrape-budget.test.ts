import { describe, expect, it } from 'vitest'
import { collectBudgetMs, scrapeBudgetSeconds } from '../../src/routes/metrics.js'

// The README: collection gets the scrape budget (the header, else SCRAPE_TIMEOUT_SECONDS) minus 10 %,
// at least 200 ms (and, in the code, at most 1 s), so the answer leaves in time to render and travel.
describe('the scrape budget', () => {
  it.each([
    [10, 9_000], // SCRAPE_TIMEOUT_SECONDS' default: 10 % kept back
    [3, 2_700],
    [1, 800], // 10 % would be 100 ms: 200 ms kept back
    [0.5, 300],
    [30, 29_000], // 10 % would be 3 s: 1 s kept back
    [0.1, 50], // never below 50 ms of collection
  ])('gives collection %s s minus the margin: %s ms', (seconds, ms) => {
    expect(collectBudgetMs(seconds)).toBe(ms)
  })

  it('takes X-Prometheus-Scrape-Timeout-Seconds when it is a positive number, else SCRAPE_TIMEOUT_SECONDS', () => {
    expect(scrapeBudgetSeconds('2.5', 10)).toBe(2.5)
    expect(scrapeBudgetSeconds(['4', '9'], 10)).toBe(4)
    for (const bad of [undefined, '', 'soon', '0', '-3', 'NaN', 'Infinity'])
      expect(scrapeBudgetSeconds(bad, 7), String(bad)).toBe(7)
    // A header can ask for at most 5 minutes.
    expect(scrapeBudgetSeconds('3600', 10)).toBe(300)
  })
})
