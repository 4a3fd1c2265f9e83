import type { ProxyState } from '../endpoints/proxy-state.ts';
import { nftFamily, renderSkeleton, SETS } from './layout.ts';
import { ownChainRules, renderServicePort, type Element, type RenderOptions, type ServiceObjects } from './service.ts';
import { sharedChainDependencies, sharedChainName, sharedChainRules, type SharedChain } from './shared-chains.ts';

/** Elements per `add element` command: batching halves nft's parse time against one command per element. */
const ELEMENTS_PER_COMMAND = 10_000;

const ABSENT = Symbol('absent');

/** ElementText is an element in nft syntax: its key, and its value in a map ('' in a set). */
export interface ElementText {
  readonly key: string;
  readonly value: string;
}

interface ElementRecord extends ElementText {
  readonly set: string;
  readonly key: string;
  value: string;
  /** Services contributing it (the hairpin set is shared by services with a common endpoint). */
  count: number;
}

/** Touched maps an element id to its record and its value in the kernel before this transaction. */
type Touched = Map<string, { readonly rec: ElementRecord; readonly before: string | typeof ABSENT }>;

/** The owner under which node-level elements (node port addresses) are kept. */
const NODE_OWNER = '';

/**
 * Transaction is one nft transaction and what it does, for logs and metrics.
 */
export interface Transaction {
  readonly text: string;
  /**
   * Elements left out of `text` to be added after it, per set, as
   * `[key, value]` (value '' for sets): a full sync asked for them apart
   * (a cold load hands them to the kernel through netlink).
   */
  readonly elementsApart?: ReadonlyMap<string, readonly ElementText[]>;
  readonly full: boolean;
  /** Element additions and deletions it holds (a value change counts twice). */
  readonly elementOps: number;
  /** Elements in the table once it is applied. */
  readonly elements: number;
  readonly chains: number;
}

/**
 * TableModel is the proxier's memory of what the kernel holds: per service
 * port the objects it contributed, per element a reference count, and the
 * shared chains that exist. From it, a sync becomes a transaction of only
 * what changed, computed without listing the table. It must be reset (a full
 * transaction) after any transaction that failed, since it is updated as the
 * transaction is rendered.
 */
export class TableModel {
  readonly #options: RenderOptions;
  readonly #table: string;
  #services = new Map<string, ServiceObjects>();
  #elements = new Map<string, ElementRecord>();
  #shared = new Set<string>();
  #ownChains = 0;

  constructor(options: RenderOptions) {
    this.#options = options;
    this.#table = nftFamily(options.family).table;
  }

  /**
   * full renders the whole table from `state`, replacing whatever the kernel
   * has, and resets the model to it. `apart` says which sets' elements to
   * return apart from the text instead of in it.
   */
  full(state: ProxyState, nodePortIPs: readonly string[], apart: (set: string) => boolean = () => false): Transaction {
    this.#services = new Map();
    this.#elements = new Map();
    this.#shared = new Set();
    this.#ownChains = 0;
    const tx = new TransactionBuilder(this.#table);
    tx.head.push(...renderSkeleton(this.#options));
    this.#replace(NODE_OWNER, nodeObjects(nodePortIPs), tx, undefined);
    for (const svc of state.services.values()) {
      if (svc.clusterIPs.length === 0) continue;
      this.#replace(svc.key, renderServicePort(svc, state.endpoints.get(svc.key) ?? [], this.#options), tx, undefined);
    }
    // The table starts empty: every element is an addition.
    const elementsApart = new Map<string, ElementRecord[]>();
    for (const rec of this.#elements.values()) {
      if (!apart(rec.set)) tx.addElement(rec.set, rec.value ? `${rec.key} : ${rec.value}` : rec.key);
      else {
        let list = elementsApart.get(rec.set);
        if (!list) elementsApart.set(rec.set, (list = []));
        list.push(rec);
      }
    }
    const counts = { full: true, elementOps: this.#elements.size, elements: this.#elements.size, chains: this.#shared.size + this.#ownChains };
    return { text: tx.text(), ...(elementsApart.size > 0 ? { elementsApart } : {}), ...counts };
  }

  /** partial renders only the service ports in `state.changed` (and node port addresses, when they changed). */
  partial(state: ProxyState, nodePortIPs: readonly string[]): Transaction {
    const tx = new TransactionBuilder(this.#table);
    const touched: Touched = new Map();
    this.#replace(NODE_OWNER, nodeObjects(nodePortIPs), tx, touched);
    for (const key of state.changed) {
      const svc = state.services.get(key);
      const next = svc && svc.clusterIPs.length > 0 ? renderServicePort(svc, state.endpoints.get(key) ?? [], this.#options) : undefined;
      this.#replace(key, next, tx, touched);
    }
    // Services gone without being reported as changed (never expected, but cheap to be sure of).
    if (this.#services.size - 1 > state.services.size) {
      for (const key of [...this.#services.keys()]) if (key !== NODE_OWNER && !state.services.has(key)) this.#replace(key, undefined, tx, touched);
    }
    return this.#finish(tx, touched);
  }

  /** #replace swaps an owner's objects; `touched` records each element's value before the first change (undefined: a full sync, nothing to record). */
  #replace(owner: string, next: ServiceObjects | undefined, tx: TransactionBuilder, touched: Touched | undefined): void {
    const previous = this.#services.get(owner);
    if (!previous && !next) return;
    for (const e of previous?.elements ?? []) {
      const id = `${e.set}\0${e.key}`;
      const rec = this.#elements.get(id)!;
      if (touched && !touched.has(id)) touched.set(id, { rec, before: rec.value });
      if (--rec.count === 0) this.#elements.delete(id);
    }
    for (const e of next?.elements ?? []) {
      const id = `${e.set}\0${e.key}`;
      let rec = this.#elements.get(id);
      if (rec) {
        if (touched && !touched.has(id)) touched.set(id, { rec, before: rec.value });
        rec.count++;
        rec.value = e.value ?? '';
      } else {
        this.#elements.set(id, (rec = { set: e.set, key: e.key, value: e.value ?? '', count: 1 }));
        if (touched && !touched.has(id)) touched.set(id, { rec, before: ABSENT });
      }
    }
    for (const c of next?.shared ?? []) this.#ensureShared(c, tx);
    this.#replaceOwn(previous, next, tx);
    if (next) this.#services.set(owner, next);
    else this.#services.delete(owner);
  }

  /** #replaceOwn swaps a service's own chains and sets (affinity): rewrite kept ones, add new ones, drop old ones. */
  #replaceOwn(previous: ServiceObjects | undefined, next: ServiceObjects | undefined, tx: TransactionBuilder): void {
    const oldChains = new Set(previous?.chains.map((c) => c.name));
    const newChains = new Set(next?.chains.map((c) => c.name));
    const newSets = new Set(next?.sets.map((s) => s.name));
    const table = this.#table;
    for (const s of next?.sets ?? []) tx.head.push(`add set ${table} ${s.name} { ${s.spec} }`);
    for (const c of next?.chains ?? []) {
      tx.head.push(`${oldChains.has(c.name) ? 'flush' : 'add'} chain ${table} ${c.name}`);
      tx.rules.push(...ownChainRules(table, c));
    }
    for (const c of previous?.chains ?? []) {
      if (newChains.has(c.name)) continue;
      tx.head.push(`flush chain ${table} ${c.name}`);
      tx.tail.push(`delete chain ${table} ${c.name}`);
    }
    for (const s of previous?.sets ?? []) if (!newSets.has(s.name)) tx.tail.push(`delete set ${table} ${s.name}`);
    this.#ownChains += newChains.size - oldChains.size;
  }

  #ensureShared(c: SharedChain, tx: TransactionBuilder): void {
    const name = sharedChainName(c);
    if (this.#shared.has(name)) return;
    for (const dep of sharedChainDependencies(c)) this.#ensureShared(dep, tx);
    this.#shared.add(name);
    tx.head.push(`add chain ${this.#table} ${name}`);
    tx.rules.push(...sharedChainRules(c, this.#options));
  }

  #finish(tx: TransactionBuilder, touched: Touched): Transaction {
    let ops = 0;
    for (const [id, { rec, before }] of touched) {
      const now = this.#elements.get(id);
      if (now && before === now.value) continue;
      if (before !== ABSENT) {
        tx.deleteElement(rec.set, rec.key);
        ops++;
      }
      if (now) {
        tx.addElement(now.set, now.value ? `${now.key} : ${now.value}` : now.key);
        ops++;
      }
    }
    return { text: tx.text(), full: false, elementOps: ops, elements: this.#elements.size, chains: this.#shared.size + this.#ownChains };
  }
}

function nodeObjects(nodePortIPs: readonly string[]): ServiceObjects {
  return { elements: nodePortIPs.map((ip): Element => ({ set: SETS.nodePortIPs, key: ip })), shared: [], chains: [], sets: [] };
}

/**
 * TransactionBuilder orders a transaction so each command finds what it
 * needs: declarations and flushes, then rules, then element deletions and
 * additions (batched per set), then deletions of chains and sets nothing
 * refers to any more.
 */
class TransactionBuilder {
  readonly #table: string;
  readonly head: string[] = [];
  readonly rules: string[] = [];
  readonly tail: string[] = [];
  readonly #deletes = new Map<string, string[]>();
  readonly #adds = new Map<string, string[]>();

  constructor(table: string) {
    this.#table = table;
  }

  deleteElement(set: string, key: string): void {
    let list = this.#deletes.get(set);
    if (!list) this.#deletes.set(set, (list = []));
    list.push(key);
  }

  addElement(set: string, element: string): void {
    let list = this.#adds.get(set);
    if (!list) this.#adds.set(set, (list = []));
    list.push(element);
  }

  text(): string {
    const lines = [...this.head, ...this.rules];
    const batch = (verb: string, groups: Map<string, string[]>) => {
      for (const [set, items] of groups) {
        for (let i = 0; i < items.length; i += ELEMENTS_PER_COMMAND) {
          lines.push(`${verb} element ${this.#table} ${set} { ${items.slice(i, i + ELEMENTS_PER_COMMAND).join(', ')} }`);
        }
      }
    };
    batch('delete', this.#deletes);
    batch('add', this.#adds);
    lines.push(...this.tail);
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  }
}
