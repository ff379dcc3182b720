/** Sparse reference file (64 KiB pages) for model tests: plain bytes, no slices. */
const PAGE = 64 * 1024;

export class RefFile {
  private readonly pages = new Map<number, Buffer>();
  length = 0;

  write(off: number, data: Buffer): void {
    for (let i = 0; i < data.length;) {
      const at = off + i;
      const p = Math.floor(at / PAGE);
      const inPage = at - p * PAGE;
      const n = Math.min(data.length - i, PAGE - inPage);
      let page = this.pages.get(p);
      if (page === undefined) {
        page = Buffer.alloc(PAGE);
        this.pages.set(p, page);
      }
      data.copy(page, inPage, i, i + n);
      i += n;
    }
    this.length = Math.max(this.length, off + data.length);
  }

  truncate(len: number): void {
    if (len < this.length) {
      for (const [p, page] of this.pages) {
        const start = p * PAGE;
        if (start >= len) this.pages.delete(p);
        else if (start + PAGE > len) page.fill(0, len - start);
      }
    }
    this.length = len;
  }

  read(off: number, len: number): Buffer {
    const end = Math.min(off + len, this.length);
    if (end <= off) return Buffer.alloc(0);
    const out = Buffer.alloc(end - off);
    for (let at = off; at < end;) {
      const p = Math.floor(at / PAGE);
      const inPage = at - p * PAGE;
      const n = Math.min(end - at, PAGE - inPage);
      this.pages.get(p)?.copy(out, at - off, inPage, inPage + n);
      at += n;
    }
    return out;
  }
}
