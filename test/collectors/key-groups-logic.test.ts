import { describe, expect, it } from 'vitest'
import {
  createClassifier,
  foldGroups,
  globToRegExp,
  OVERFLOW,
  UNCLASSIFIED,
} from '../../src/collectors/key-groups.js'

describe('key-group folding (pure)', () => {
  it('matches Redis-style globs: *, ?, classes and escapes', () => {
    expect(globToRegExp('market:*').test('market:btc:1m')).toBe(true)
    expect(globToRegExp('market:*').test('xmarket:btc')).toBe(false)
    expect(globToRegExp('user:?').test('user:7')).toBe(true)
    expect(globToRegExp('user:?').test('user:77')).toBe(false)
    expect(globToRegExp('c[ab]t').test('cat')).toBe(true)
    expect(globToRegExp('c[^ab]t').test('cat')).toBe(false)
    expect(globToRegExp('a.b+(c)').test('a.b+(c)')).toBe(true)
    expect(globToRegExp('a.b').test('axb')).toBe(false)
    expect(globToRegExp('lit\\*').test('lit*')).toBe(true)
  })

  it('puts a key in the first matching pattern, else its auto prefix, else unclassified', () => {
    const classify = createClassifier(['market:*', 'candles:*'], true, ':')
    expect(classify('market:btc')).toBe('market:*')
    expect(classify('candles:eth:1h')).toBe('candles:*')
    expect(classify('session:42')).toBe('session:*')
    expect(classify('plain')).toBe(UNCLASSIFIED)
    expect(createClassifier(['market:*'], false, ':')('session:42')).toBe(UNCLASSIFIED)
  })

  it('scales counts by the sampled fraction and memory by the sampled mean', () => {
    const tallies = new Map([['a:*', { count: 100, sampledBytes: 500, sampledKeys: 10 }]])
    expect(foldGroups(tallies, 0.5, 10)).toEqual([{ group: 'a:*', count: 200, memoryBytes: 10_000 }])
  })

  it('keeps the largest groups by memory and folds the rest into overflow', () => {
    const tallies = new Map(
      ['a', 'b', 'c', 'd'].map((g, i) => [g, { count: 1, sampledBytes: (i + 1) * 100, sampledKeys: 1 }]),
    )
    const groups = foldGroups(tallies, 1, 3)
    expect(groups.map((g) => g.group)).toEqual(['d', 'c', OVERFLOW])
    expect(groups[2]).toEqual({ group: OVERFLOW, count: 2, memoryBytes: 300 })
  })
})
