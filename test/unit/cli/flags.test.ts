import test from 'ava';
import { parseFlags } from '../../../src/cli/flags.ts';
import { parseDuration, formatDuration } from '../../../src/util/duration.ts';
import { InvalidArgumentError } from '../../../src/util/errors.ts';

const specs = {
  mode: { type: 'string', default: 'iptables', help: '' },
  'min-sync-period': { type: 'duration', default: '1s', help: '' },
  cleanup: { type: 'boolean', default: false, help: '' },
  nodes: { type: 'int', help: '' },
  'nodeport-addresses': { type: 'list', help: '' },
} as const;

test('flags take kube-style spellings and defaults', (t) => {
  const { flags, positionals, rest } = parseFlags(specs, ['--mode=ipvs', '--min-sync-period', '250ms', '--cleanup', 'pod', '--nodeport-addresses=10.0.0.0/8,192.168.0.0/16', '--', 'dig', '+short']);
  t.is(flags.mode, 'ipvs');
  t.is(flags['min-sync-period'], 250);
  t.true(flags.cleanup);
  t.is(flags.nodes, undefined);
  t.deepEqual(flags['nodeport-addresses'], ['10.0.0.0/8', '192.168.0.0/16']);
  t.deepEqual(positionals, ['pod']);
  t.deepEqual(rest, ['dig', '+short']);
});

test('boolean flags take pflag spellings: --flag=false, --flag=true, --no-flag', (t) => {
  const on = { 'localhost-nodeports': { type: 'boolean', default: true, help: '' } } as const;
  t.false(parseFlags(on, ['--localhost-nodeports=false']).flags['localhost-nodeports']);
  t.true(parseFlags(on, ['--localhost-nodeports=true']).flags['localhost-nodeports']);
  t.false(parseFlags(on, ['--no-localhost-nodeports']).flags['localhost-nodeports']);
  t.true(parseFlags(on, []).flags['localhost-nodeports']);
});

const bad: Array<{ name: string; argv: string[]; message: RegExp }> = [
  { name: 'unknown flag', argv: ['--nope'], message: /nope/ },
  { name: 'bad int', argv: ['--nodes=three'], message: /--nodes: not an integer/ },
  { name: 'bad duration', argv: ['--min-sync-period=soon'], message: /--min-sync-period: not a duration/ },
];
for (const tc of bad) {
  test(`flags reject ${tc.name}`, (t) => {
    const error = t.throws(() => parseFlags(specs, tc.argv), { instanceOf: InvalidArgumentError });
    t.regex(error!.message, tc.message);
  });
}

const durations: Array<[string, number]> = [['0', 0], ['1s', 1000], ['250ms', 250], ['1m30s', 90_000], ['1h', 3_600_000], ['1.5s', 1500]];
for (const [text, ms] of durations) {
  test(`parseDuration ${text}`, (t) => {
    t.is(parseDuration(text), ms);
  });
}

test('formatDuration round-trips', (t) => {
  t.is(formatDuration(90_000), '1m30s');
  t.is(formatDuration(250), '250ms');
  t.throws(() => parseDuration('10 parsecs'));
});

test('flags given on the command line are told apart from defaults; one dash works as in Go', (t) => {
  const { flags, explicit } = parseFlags(specs, ['-mode=nftables', '-cleanup', '--nodes', '3']);
  t.is(flags.mode, 'nftables');
  t.true(flags.cleanup);
  t.deepEqual([...explicit].sort(), ['cleanup', 'mode', 'nodes']);
  t.is(flags['min-sync-period'], 1000);
  t.false(explicit.has('min-sync-period'));
});
