import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { base64, cidr, dns1035Label, dns1123Label, dns1123Subdomain, ipAddress, labelValue, portName, qualifiedName, type Format } from './formats.js';

function table(format: Format, good: string[], bad: string[]): void {
  for (const v of good) assert.equal(format.check(v), undefined, `${format.name} should accept ${JSON.stringify(v)}`);
  for (const v of bad) assert.ok(format.check(v), `${format.name} should reject ${JSON.stringify(v)}`);
}

describe('formats', () => {
  it('DNS names', () => {
    table(dns1123Label, ['a', 'web-1', '1abc', 'a'.repeat(63)], ['', 'Web', '-a', 'a-', 'a.b', 'a_b', 'a'.repeat(64)]);
    table(dns1035Label, ['web', 'web-1'], ['1web', 'Web', 'a-']);
    table(dns1123Subdomain, ['a', 'a.b.c', 'web-1.example.com'], ['', 'a..b', '.a', 'A.b', `${'a'.repeat(63)}.`.repeat(4) + 'a']);
  });

  it('port names (IANA service names)', () => {
    table(portName, ['http', 'grpc-web', 'h2c', 'a1'], ['', 'http_main', 'Http', '-http', 'http-', 'a--b', '8080', 'abcdefghijklmnop']);
  });

  it('label keys and values', () => {
    table(qualifiedName, ['app', 'app.kubernetes.io/name', 'example.com/a_b', 'A.b-C'], ['', '/a', 'a/', '-a', 'Example.com/a', 'a/b/c', 'x'.repeat(64)]);
    table(labelValue, ['', 'v1', 'a.b_c-d', 'A'], ['-a', 'a b', 'a/b', 'x'.repeat(64)]);
  });

  it('addresses', () => {
    table(ipAddress, ['10.0.0.1', '255.255.255.255', '::1', 'fd00::1', '2001:db8::1:2'], ['', '256.0.0.1', '10.0.0', '01.2.3.4', 'a::b::c', 'host']);
    table(cidr, ['10.0.0.0/8', '0.0.0.0/0', 'fd00::/64'], ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/x', 'fd00::/129']);
  });

  it('base64 as Kubernetes stores Secret data', () => {
    table(base64, ['', 'aGk=', 'aGVsbG8=', 'YWJj', 'aGVs\nbG8='], ['aGk', 'a*b=', '====', 'aGk=a']);
  });
});
