/**
 * A small value (1..15) per id, in about half a byte per id: 4 bits per id in pages of 4096
 * ids allocated when an id of the page first appears. Inode numbers and slice ids are handed
 * out densely from 1 by counters, so a million of them cost about 0.5 MiB here, where a Map
 * keyed by bigint or string costs 100 bytes or more per entry. Ids from 2^40 up (trash
 * inodes, and hostile dumps' numbers) go to a Map, so scattered huge ids cannot make the
 * pages explode: at worst they cost what a Map costs.
 *
 * Invariant: 0 in a nibble means "absent"; values are 1..15.
 */
const PAGE = 4096;
const PAGED_LIMIT = 2 ** 40;

export class DenseTable<V extends number = number> {
  private readonly pages = new Map<number, Uint8Array>();
  private readonly others = new Map<bigint, V>();

  get(id: bigint | number): V | undefined {
    const n = Number(id);
    if (!(n >= 0 && n < PAGED_LIMIT)) return this.others.get(BigInt(id));
    const page = this.pages.get(Math.floor(n / PAGE));
    if (page === undefined) return undefined;
    const i = n % PAGE;
    const v = (page[i >>> 1]! >>> ((i & 1) * 4)) & 0xf;
    return v === 0 ? undefined : (v as V);
  }

  set(id: bigint | number, value: V): void {
    if (!(value >= 1 && value <= 15)) throw new RangeError(`DenseTable value ${value} outside 1..15`);
    const n = Number(id);
    if (!(n >= 0 && n < PAGED_LIMIT)) {
      this.others.set(BigInt(id), value);
      return;
    }
    const key = Math.floor(n / PAGE);
    let page = this.pages.get(key);
    if (page === undefined) this.pages.set(key, (page = new Uint8Array(PAGE / 2)));
    const i = n % PAGE;
    const shift = (i & 1) * 4;
    page[i >>> 1] = (page[i >>> 1]! & ~(0xf << shift)) | (value << shift);
  }
}
