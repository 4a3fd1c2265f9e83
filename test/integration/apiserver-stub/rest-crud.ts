import type { ExecutionContext } from 'ava';

/**
 * Shared CRUD + watch checks through the REST layer, run against each
 * storage backend (memory, file, etcd) by the tests that import it.
 */
export async function call(url: string, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, { method, headers: { 'Content-Type': contentType }, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}

/** readWatch collects watch events until `count` arrived (or `count` says it is done), or the stream ended. */
export async function readWatch(url: string, path: string, count: number | ((events: Array<{ type: string; object: any }>) => boolean), during?: () => Promise<void>): Promise<Array<{ type: string; object: any }>> {
  const finished = typeof count === 'number' ? (events: unknown[]) => events.length >= count : count;
  const controller = new AbortController();
  const res = await fetch(`${url}${path}`, { signal: controller.signal });
  const events: Array<{ type: string; object: any }> = [];
  const reader = res.body!.getReader();
  let buffer = '';
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += Buffer.from(value).toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        events.push(JSON.parse(buffer.slice(0, nl)));
        buffer = buffer.slice(nl + 1);
        if (finished(events)) return;
      }
    }
  })();
  if (during) await during();
  const timer = setTimeout(() => controller.abort(), 10_000);
  await reading.catch(() => undefined);
  clearTimeout(timer);
  controller.abort();
  return events;
}

export async function crudAndWatch(t: ExecutionContext, url: string): Promise<void> {
  const base = '/api/v1/namespaces/default/configmaps';
  const created = await call(url, 'POST', base, { metadata: { name: 'cm1', labels: { app: 'x' } }, data: { a: '1' } });
  t.is(created.status, 201);
  const rv1 = Number(created.body.metadata.resourceVersion);
  t.true(rv1 > 0);
  t.regex(created.body.metadata.uid, /^[0-9a-f-]{36}$/);
  t.regex(created.body.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  t.is((await call(url, 'POST', base, { metadata: { name: 'cm1' } })).body.reason, 'AlreadyExists');
  const stale = await call(url, 'PUT', `${base}/cm1`, { metadata: { name: 'cm1', resourceVersion: String(rv1 - 1) }, data: { a: '2' } });
  t.is(stale.status, 409);
  t.is(stale.body.reason, 'Conflict');
  const updated = await call(url, 'PUT', `${base}/cm1`, { metadata: { name: 'cm1', labels: { app: 'x' }, resourceVersion: String(rv1) }, data: { a: '2' } });
  t.is(updated.status, 200);
  t.true(Number(updated.body.metadata.resourceVersion) > rv1);

  const generated = await call(url, 'POST', base, { metadata: { generateName: 'gen-' }, data: {} });
  t.regex(generated.body.metadata.name, /^gen-[a-z0-9]{5}$/);

  const listed = await call(url, 'GET', `${base}?labelSelector=app%3Dx`);
  t.deepEqual(listed.body.items.map((i: any) => i.metadata.name), ['cm1']);

  const events = await readWatch(url, `${base}?watch=1&resourceVersion=${generated.body.metadata.resourceVersion}`, 2, async () => {
    t.is((await call(url, 'PATCH', `${base}/cm1`, { data: { b: '3' } }, 'application/merge-patch+json')).status, 200);
    t.is((await call(url, 'DELETE', `${base}/cm1`)).status, 200);
  });
  t.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), ['MODIFIED cm1', 'DELETED cm1']);
  t.is(events[1]!.object.data.b, '3');
  t.true(Number(events[1]!.object.metadata.resourceVersion) > Number(events[0]!.object.metadata.resourceVersion));
  t.is((await call(url, 'GET', `${base}/cm1`)).status, 404);
}
