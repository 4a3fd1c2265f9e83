import test from 'ava';
import { bytesToIp, ipToBytes, AF_INET, AF_INET6 } from '../../../src/netlink/addr.ts';
import { MessageWriter, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSG_ERROR, parseAttrs, parseErrorReply, parseMessages, getString, NLA_F_NESTED } from '../../../src/netlink/codec.ts';
import { decodeDest, decodeService, IPVS_CMD, IpvsEncoder } from '../../../src/netlink/ipvs.ts';
import { NetlinkDecodeError, errnoName } from '../../../src/netlink/errors.ts';

test('attributes are 4-byte aligned and nested ones carry NLA_F_NESTED', (t) => {
  const w = new MessageWriter(8);
  w.begin(0x20, 1).attrU8(1, 7).attrString(2, 'ab').attrNested(3, (n) => n.attrU32(1, 0xdeadbeef).attrBe16(2, 8080)).end();
  const [m] = parseMessages(w.finish());
  t.is(m!.type, 0x20);
  t.is(m!.body.length, 8 + 8 + 4 + 8 + 8);
  const attrs = parseAttrs(m!.body);
  t.is(attrs.get(1)!.readUInt8(0), 7);
  t.is(getString(attrs, 2), 'ab');
  t.is(m!.body.readUInt16LE(16 + 2), 3 | NLA_F_NESTED);
  const inner = parseAttrs(attrs.get(3)!);
  t.is(inner.get(1)!.readUInt32LE(0), 0xdeadbeef);
  t.is(inner.get(2)!.readUInt16BE(0), 8080);
});

test('several messages in one buffer parse apart', (t) => {
  const w = new MessageWriter(8);
  w.begin(1, 0).u8(1).end().begin(2, 0).u32(5).end();
  t.deepEqual(
    parseMessages(w.finish()).map((m) => [m.type, m.body.length]),
    [
      [1, 1],
      [2, 4],
    ],
  );
});

test('truncated messages and attributes are decode errors', (t) => {
  const b = Buffer.alloc(20);
  b.writeUInt32LE(40, 0);
  t.throws(() => parseMessages(b), { instanceOf: NetlinkDecodeError });
  const a = Buffer.from([0x10, 0, 1, 0, 0, 0]);
  t.throws(() => parseAttrs(a), { instanceOf: NetlinkDecodeError });
});

function errorReply(error: number, extAck?: string): Buffer {
  const w = new MessageWriter(64);
  w.begin(NLMSG_ERROR, extAck ? NLM_F_CAPPED | NLM_F_ACK_TLVS : NLM_F_CAPPED).u32(error >>> 0);
  w.u32(36).u16(0x1c).u16(5).u32(9).u32(0); // the original header, capped
  if (extAck) w.attrString(1, extAck);
  return w.end().finish();
}

test('NLMSG_ERROR carries the errno and the extended-ack message', (t) => {
  const [m] = parseMessages(errorReply(-22, 'Attribute failed policy validation'));
  t.deepEqual(parseErrorReply(m!), { error: -22, extAck: 'Attribute failed policy validation' });
  const [ack] = parseMessages(errorReply(0));
  t.deepEqual(parseErrorReply(ack!), { error: 0, extAck: undefined });
  t.is(errnoName(17), 'EEXIST');
  t.is(errnoName(3), 'ESRCH');
});

const ips: Array<[string, number, string]> = [
  ['10.96.0.1', AF_INET, '0a600001'],
  ['fd00::1', AF_INET6, 'fd000000000000000000000000000001'],
  ['2001:db8:0:1::a', AF_INET6, '20010db8000000010000000000000000'.slice(0, 30) + '0a'],
  ['::ffff:10.1.2.3', AF_INET6, '00000000000000000000ffff0a010203'],
];
for (const [ip, family, hex] of ips) {
  test(`ip ${ip} encodes and decodes`, (t) => {
    t.is(ipToBytes(ip).toString('hex'), hex);
    const back = bytesToIp(ipToBytes(ip), family);
    t.deepEqual(ipToBytes(back), ipToBytes(ip));
  });
}

test('an IPVS service and destination decode from the kernel form', (t) => {
  const enc = new IpvsEncoder(0x1c);
  const svc = { protocol: 'UDP', address: 'fd00::a', port: 53, scheduler: 'sh', flags: 0x3, timeout: 10800, netmask: 128 } as const;
  const [sm] = parseMessages(enc.service(IPVS_CMD.NEW_SERVICE, svc));
  t.deepEqual(decodeService(sm!), svc);
  const dest = { address: '10.244.1.10', port: 8080, weight: 2, forward: 0, upperThreshold: 0, lowerThreshold: 0 };
  const [dm] = parseMessages(enc.dest(IPVS_CMD.NEW_DEST, { protocol: 'TCP', address: '10.96.0.1', port: 80 }, dest));
  t.deepEqual(decodeDest(dm!, AF_INET), { ...dest, activeConns: 0, inactiveConns: 0, persistConns: 0 });
});
