// A one-line progress bar on stderr, drawn only on a terminal and only once the run
// has lasted a second. Cleared before the table is printed.
export class Progress {
  readonly #out: NodeJS.WriteStream;
  readonly #enabled: boolean;
  readonly #started = performance.now();
  #index = 0;
  #total = 1;
  #label = '';
  #detail = '';
  #fraction = 0;
  #last = 0;
  #drawn = false;
  /** each step's share of the whole (null: equal shares) */
  #weights: number[] | null = null;

  constructor(enabled: boolean, out: NodeJS.WriteStream = process.stderr) {
    this.#out = out;
    this.#enabled = enabled && out.isTTY === true;
  }

  /**
   * The steps' sizes (a file's bytes; 0 where it is not known): the bar and its time left go by
   * them, so a small file after a big one is not half the run. Equal shares where none is known.
   */
  weigh(sizes: readonly number[]): void {
    const sum = sizes.reduce((a, b) => a + b, 0);
    this.#weights = sum > 0 ? sizes.map((x) => x / sum) : null;
  }

  /** A new measurement starts. */
  step(index: number, total: number, label: string): void {
    this.#index = index;
    this.#total = Math.max(1, total);
    this.#label = label;
    this.#fraction = 0;
    this.#detail = '';
    this.#draw(true);
  }

  /** Progress within the current measurement, 0..1; `detail` instead where its size is not known (a pipe: bytes read). */
  update(fraction: number, detail = ''): void {
    this.#fraction = Math.min(1, Math.max(0, fraction));
    this.#detail = detail;
    this.#draw(false);
  }

  #draw(force: boolean): void {
    if (!this.#enabled) return;
    const now = performance.now();
    const elapsed = now - this.#started;
    if (elapsed < 1000 || (!force && now - this.#last < 100)) return;
    this.#last = now;
    const w = this.#weights;
    const done = w === null || w.length !== this.#total
      ? (this.#index + this.#fraction) / this.#total
      : w.slice(0, this.#index).reduce((a, b) => a + b, 0) + this.#fraction * w[this.#index];
    // (cut to the terminal's width: a line that wraps leaves its first rows behind at each redraw)
    const cols = this.#out.columns || 80; // (0: a terminal with no size set, as under script(1): not known)
    if (cols < 16) return;
    const width = Math.max(5, Math.min(30, cols - 50));
    const fill = Math.round(done * width);
    const eta = done > 0.02 ? Math.round(((elapsed / done) * (1 - done)) / 1000) : null;
    const text = ` ${Math.floor(done * 100)}% ${this.#index + 1}/${this.#total} ${eta !== null ? `~${eta}s left ` : ''}${this.#label}${this.#detail === '' ? '' : ` (${this.#detail})`}`;
    const line = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}]${text}`.slice(0, cols - 1);
    this.#out.write(`\r${line}\x1b[K`);
    this.#drawn = true;
  }

  clear(): void {
    if (this.#drawn) this.#out.write('\r\x1b[K');
    this.#drawn = false;
  }
}
