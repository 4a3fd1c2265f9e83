import test from 'ava';
import { isRoot } from '../../helpers/netns-fixture.ts';
import { isRunning, oneNodeLab, until } from './node-fixture.ts';

const rootOnly = isRoot ? test.serial : test.skip;

rootOnly('tutorial images start: kubectl run --image=nginx serves the default page on port 80 (Debian\'s nginx; httpd Debian\'s Apache), busybox runs its applets sh, wget and sleep; an unknown image says ErrImagePull; each step is an event', async (t) => {
  const lab = await oneNodeLab(t);
  const run = async (...args: string[]) => {
    const r = await lab.k(['run', ...args]);
    t.is(r.code, 0, r.stderr);
  };
  await run('web', '--image=nginx', '--port=80');
  await run('httpd', '--image=httpd:2.4');
  const web = await until('nginx running', async () => {
    const p = await lab.pod('web');
    return isRunning(p) && p;
  });
  await until('httpd running', async () => isRunning(await lab.pod('httpd')));
  const httpdIP = (await lab.pod('httpd')).status?.podIP;

  // The busybox tutorial commands: sh -c with wget and echo, from another pod.
  await run('fetch', '--image=busybox:1.36', '--restart=Never', '--', 'sh', '-c', `wget -S -qO- http://${web.status?.podIP}/ 2>&1; wget -S -qO- http://${httpdIP}:80/ 2>&1; echo fetched`);
  const fetched = await until('fetch done', async () => {
    const p = await lab.pod('fetch');
    return p.status?.phase === 'Succeeded' && p;
  });
  t.is(fetched.status?.containerStatuses?.[0]?.state?.terminated?.reason, 'Completed');
  const page = (await lab.k(['logs', 'fetch'])).stdout;
  // Debian's nginx and Apache, configured as the images are: their default pages, their own Server headers.
  t.regex(page, /<title>Welcome to nginx!<\/title>/);
  t.regex(page, /Server: nginx\/1\.\d+/);
  t.regex(page, /<h1>It works!<\/h1>/);
  t.regex(page, /Server: Apache\/2\.4\.\d+ \(Debian\)/);
  t.regex(page, /fetched\n$/);
  // nginx logs each request as the image does (its `main` format) on stdout.
  const nginxLog = (await lab.k(['logs', 'web'])).stdout;
  t.regex(nginxLog, /^10\.244\.1\.\d+ - - \[[^\]]+\] "GET \/ HTTP\/1\.1" 200 615 "-" "Wget[^"]*" "-"$/m);
  t.regex((await lab.k(['logs', 'httpd'])).stdout, /^10\.244\.1\.\d+ - - \[[^\]]+\] "GET \/ HTTP\/1\.1" 200 45$/m);

  // busybox with sleep keeps running; exec into it works.
  await run('sleeper', '--image=busybox', '--', 'sleep', '3600');
  await until('sleeper running', async () => isRunning(await lab.pod('sleeper')));
  t.is((await lab.k(['exec', 'sleeper', '--', 'echo', 'hello'])).stdout, 'hello\n');
  // Its programs are Debian's busybox applets, first on the image's PATH, in the container and in exec alike.
  t.is((await lab.k(['exec', 'sleeper', '--', 'sh', '-c', 'readlink -f "$(command -v wget)"'])).stdout, '/usr/bin/busybox\n');
  // kubectl run -it: a terminal attached to the container's shell.
  const it = await lab.kubectlOnTty(['run', 'shell', '-it', '--rm', '--restart=Never', '--image=busybox', '--', 'sh'], 'echo "in $HOSTNAME"\nexit\n');
  t.regex(it.stdout, /in shell/, it.stdout + it.stderr);

  // An image the lab has no stand-in for, without a command: a clear reason instead of a silent difference.
  await run('cache', '--image=redis:7');
  const cache = await until('redis status', async () => {
    const p = await lab.pod('cache');
    return p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImagePull' && p;
  });
  t.regex(cache.status?.containerStatuses?.[0]?.state?.waiting?.message ?? '', /not available in the ferry lab \(images are not pulled\)/);
  t.regex((await lab.k(['get', 'pod', 'cache', '--no-headers'])).stdout, /^cache\s+0\/1\s+ErrImagePull\s/);

  // Each step is an event, as kubelet records them: kubectl describe lists them.
  const describe = await until('events', async () => {
    const r = await lab.k(['describe', 'pod', 'cache']);
    return r.stdout.includes('ErrImagePull: image') && r.stdout;
  });
  t.regex(describe, /Warning\s+Failed\s+.*kubelet\s+Error: ErrImagePull: image "redis:7" is not available in the ferry lab/);
  const webEvents = await until('web events', async () => {
    const r = await lab.k(['describe', 'pod', 'web']);
    return r.stdout.includes('Started') && r.stdout;
  });
  t.regex(webEvents, /Normal\s+Pulled\s+.*Container image "nginx" is not pulled in the lab: it runs Debian's nginx \(src\/lab\/images\/nginx -g daemon off;\)/);
  t.regex(webEvents, /Normal\s+Created\s+.*Created container web/);
  t.regex(webEvents, /Normal\s+Started\s+.*Started container web/);
});
