import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { durationNanos, hostsOverlap, istioDuration, re2Regex } from './common.js';

describe('durationNanos', () => {
  it('reads Go-style durations exactly', () => {
    assert.equal(durationNanos('1s'), 1_000_000_000n);
    assert.equal(durationNanos('0.5s'), 500_000_000n);
    assert.equal(durationNanos('1m30s'), 90_000_000_000n);
    assert.equal(durationNanos('1h'), 3_600_000_000_000n);
    assert.equal(durationNanos('250ms'), 250_000_000n);
    assert.equal(durationNanos('0.1s'), 100_000_000n);
    assert.equal(durationNanos('0'), 0n);
  });

  it('refuses what is not a duration', () => {
    for (const bad of ['', '1', '5sec', '1.s', 's', '-1s', '1s ', ' 1s', '1d']) assert.equal(durationNanos(bad), undefined, bad);
  });
});

describe('istioDuration', () => {
  const check = istioDuration().check;
  it('needs at least 1ms in whole milliseconds', () => {
    assert.equal(check('1ms'), undefined);
    assert.equal(check('1.5s'), undefined);
    assert.match(check('999us') ?? '', /at least 1ms/);
    assert.match(check('1.5ms') ?? '', /whole milliseconds/);
    assert.match(check('0s') ?? '', /at least 1ms/);
  });

  it('takes "0s" where zero means "none"', () => {
    assert.equal(istioDuration({ allowZero: true }).check('0s'), undefined);
  });
});

describe('re2Regex', () => {
  const check = re2Regex.check;
  it('accepts RE2 syntax the proxy runs the same way', () => {
    for (const ok of ['/api/v[0-9]+/.*', '(?:a|b)+', '[(?=]x', '\\\\1', 'a{2,3}', '(?<ver>v\\d)', '[]a]', '[^]a]', '\\d+\\.\\d+']) {
      assert.equal(check(ok), undefined, ok);
    }
  });

  it('refuses what RE2 refuses, saying why', () => {
    assert.match(check('a(?=b)') ?? '', /lookaround/);
    assert.match(check('(?<!a)b') ?? '', /lookaround/);
    assert.match(check('(a)\\1') ?? '', /backreferences/);
    assert.match(check('(?<x>a)\\k<x>') ?? '', /named backreferences/);
  });

  it('refuses RE2 syntax that JavaScript reads differently', () => {
    assert.match(check('(?P<name>a)') ?? '', /\(\?<name>\.\.\.\)/);
    assert.match(check('(?i)abc') ?? '', /inline flags/);
    assert.match(check('\\Aabc\\z') ?? '', /\\A, \\z/);
    assert.match(check('\\pL+') ?? '', /Unicode classes/);
  });

  it('refuses a regex that does not compile', () => {
    assert.match(check('a(b') ?? '', /does not compile/);
    assert.match(check('*a') ?? '', /does not compile/);
  });
});

describe('hostsOverlap', () => {
  it('follows Istio host matching', () => {
    assert.equal(hostsOverlap('a.com', 'a.com'), true);
    assert.equal(hostsOverlap('a.com', 'b.com'), false);
    assert.equal(hostsOverlap('*.foo.com', 'bar.foo.com'), true);
    assert.equal(hostsOverlap('bar.foo.com', '*.foo.com'), true);
    assert.equal(hostsOverlap('*.foo.com', '*.com'), true);
    assert.equal(hostsOverlap('*.foo.com', 'foo.com'), false);
    assert.equal(hostsOverlap('*', 'anything.example'), true);
    assert.equal(hostsOverlap('*.a.com', '*.b.com'), false);
  });
});
