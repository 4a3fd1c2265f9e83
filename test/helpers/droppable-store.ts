import type { Backend, WatchHandlers } from '../../src/apiserver-stub/storage/backend.ts';
import { MemoryBackend } from '../../src/apiserver-stub/storage/memory.ts';

/**
 * droppableStore is a MemoryBackend whose last watch the test can drop, as
 * a store drops a slow watcher (the watcher's onClose is told), and whose
 * lists under `countLists` are counted.
 */
export async function droppableStore(countLists = '\0'): Promise<{ memory: MemoryBackend; backend: Backend; drop: () => void; lists: () => number }> {
  const memory = new MemoryBackend();
  await memory.start();
  let lists = 0;
  let drop = (): void => {};
  const backend: Backend = Object.assign(Object.create(memory) as Backend, {
    list: (...args: Parameters<Backend['list']>) => {
      if (args[0].includes(countLists)) lists++;
      return memory.list(...args);
    },
    watch: async (prefix: string, from: number, handlers: WatchHandlers) => {
      const watch = await memory.watch(prefix, from, handlers);
      drop = () => {
        watch.close();
        handlers.onClose(new Error('dropped by the test'));
      };
      return watch;
    },
  });
  return { memory, backend, drop: () => drop(), lists: () => lists };
}
