import test from 'ava';
import { parseMessages } from '../../../src/netlink/codec.ts';
import { NetlinkDecodeError } from '../../../src/netlink/errors.ts';
import { decodeAcct, encodeGetAcct, encodeNewAcct } from '../../../src/netlink/nfacct.ts';

// The wire bytes of nfnetlink_acct requests, written out by hand from
// include/uapi/linux/netlink.h, nfnetlink.h and nfnetlink_acct.h.
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('a get names the object in NFACCT_NAME with its NUL, type NFNL_SUBSYS_ACCT<<8 | GET, asking for an ACK', (t) => {
  t.deepEqual(encodeGetAcct('ct_state_invalid_dropped_pkts'), hex(`
    38000000 0107 0500 00000000 00000000
    00 00 0000
    2200 0100 63745f73746174655f696e76616c69645f64726f707065645f706b747300 0000
  `));
});

test('a new adds NLM_F_CREATE and pads the name to 4 bytes', (t) => {
  t.deepEqual(encodeNewAcct('foo'), hex(`
    1c000000 0007 0504 00000000 00000000
    00 00 0000
    0800 0100 666f6f00
  `));
});

test('names longer than NFACCT_NAME_MAX-1 bytes, or empty, are refused before sending', (t) => {
  t.notThrows(() => encodeGetAcct('x'.repeat(31)));
  t.throws(() => encodeGetAcct('x'.repeat(32)), { instanceOf: RangeError });
  t.throws(() => encodeNewAcct(''), { instanceOf: RangeError });
});

test("a reply's packets and bytes are big-endian u64 and other attributes (NFACCT_USE) are skipped", (t) => {
  const reply = hex(`
    3c000000 0007 0000 01000000 00000000
    02 00 0000
    0800 0100 666f6f00
    0c00 0200 0000000100000002
    0c00 0300 0000000000000540
    0800 0400 00000001
  `);
  const [msg] = parseMessages(reply);
  t.deepEqual(decodeAcct(msg!), { name: 'foo', packets: 2 ** 32 + 2, bytes: 0x540 });
});

test('a reply without counters is a decode error', (t) => {
  const [msg] = parseMessages(hex('1c000000 0007 0000 01000000 00000000 00000000 0800 0100 666f6f00'));
  t.throws(() => decodeAcct(msg!), { instanceOf: NetlinkDecodeError });
});
