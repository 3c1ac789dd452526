import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressKey } from './client-ip.ts';

test('IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by /64', () => {
  assert.equal(addressKey('203.0.113.9'), '203.0.113.9');
  assert.equal(addressKey('::ffff:203.0.113.9'), '203.0.113.9');
  assert.equal(addressKey('::ffff:cb00:7109'), '203.0.113.9');
  assert.equal(addressKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:0DB8:0001:0002::ffff'), '2001:db8:1:2::/64');
  assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressKey('::1'), '0:0:0:0::/64');
  assert.equal(addressKey('not an address'), 'not an address');
});
