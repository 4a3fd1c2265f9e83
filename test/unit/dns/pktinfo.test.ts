import test from 'ava';
import { CONTROL_SIZE, IP_PKTINFO, IPPROTO_IP, PKTINFO_CMSG_SPACE, pktinfoAt, pktinfoDestination, writePktinfo } from '../../../src/dns/udp-batch/libc.ts';

/** A control block as the kernel writes it for recvmsg: optional other cmsg first, then IP_PKTINFO. */
function received(dst: number[], before?: { level: number; type: number; data: number }): { control: Buffer; length: number } {
  const control = Buffer.alloc(2 * CONTROL_SIZE);
  let off = CONTROL_SIZE; // a second slot, as the worker's per-query blocks are
  if (before) {
    control.writeUInt32LE(16 + before.data, off);
    control.writeInt32LE(before.level, off + 8);
    control.writeInt32LE(before.type, off + 12);
    off += (16 + before.data + 7) & ~7;
  }
  control.writeUInt32LE(28, off);
  control.writeInt32LE(IPPROTO_IP, off + 8);
  control.writeInt32LE(IP_PKTINFO, off + 12);
  control.writeInt32LE(3, off + 16); // ipi_ifindex
  Buffer.from(dst).copy(control, off + 20); // ipi_spec_dst
  Buffer.from([10, 0, 0, 255]).copy(control, off + 24); // ipi_addr (header destination, may differ)
  return { control, length: off + 32 - CONTROL_SIZE };
}

test('pktinfo: the local address is ipi_spec_dst of the IP_PKTINFO message, also after another control message', (t) => {
  const plain = received([10, 53, 0, 2]);
  t.deepEqual([...pktinfoDestination(plain.control, CONTROL_SIZE, plain.length)!], [10, 53, 0, 2]);
  const after = received([192, 0, 2, 7], { level: 1, type: 29, data: 4 });
  t.is(pktinfoAt(after.control, CONTROL_SIZE, after.length), CONTROL_SIZE + 24 + 20);
  t.deepEqual([...pktinfoDestination(after.control, CONTROL_SIZE, after.length)!], [192, 0, 2, 7]);
});

test('pktinfo: no message, a truncated one or a zero length finds nothing', (t) => {
  t.is(pktinfoAt(Buffer.alloc(CONTROL_SIZE), 0, 0), -1);
  const { control } = received([10, 53, 0, 2]);
  t.is(pktinfoAt(control, CONTROL_SIZE, 12), -1);
  t.is(pktinfoAt(Buffer.alloc(CONTROL_SIZE), 0, CONTROL_SIZE), -1);
});

test('pktinfo: the message written for sendmsg round-trips through the parser', (t) => {
  const control = Buffer.alloc(CONTROL_SIZE).fill(0xff);
  t.is(writePktinfo(control, 0, Buffer.from([172, 16, 0, 1])), PKTINFO_CMSG_SPACE);
  t.is(control.readUInt32LE(16), 0, 'ipi_ifindex 0 lets routing pick the interface');
  t.deepEqual([...pktinfoDestination(control, 0, PKTINFO_CMSG_SPACE)!], [172, 16, 0, 1]);
});
