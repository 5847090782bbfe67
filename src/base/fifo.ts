// A first-in first-out queue whose take() is O(1): a head index into an array that is compacted now and then,
// instead of Array.prototype.shift(), which moves every element and made a 30,000-event burst quadratic.

export interface Fifo<T> {
  push(value: T): void;
  /** The oldest value, without taking it. */
  peek(): T | undefined;
  /** Takes the oldest value. */
  take(): T | undefined;
  /** Takes every value, oldest first. */
  takeAll(): T[];
  readonly length: number;
}

/** Below this many taken slots the array is never compacted (a copy would cost more than the slots). */
const COMPACT_MIN = 1024;

export function createFifo<T>(): Fifo<T> {
  let items: Array<T | undefined> = [];
  let head = 0;
  return {
    push: (value) => void items.push(value),
    peek: () => (head < items.length ? items[head] : undefined),
    take() {
      if (head >= items.length) return undefined;
      const value = items[head];
      items[head] = undefined; // nothing taken stays reachable from here
      head += 1;
      if (head === items.length) {
        items = [];
        head = 0;
      } else if (head >= COMPACT_MIN && head * 2 >= items.length) {
        // Half the array is taken slots: copy the rest once (amortised O(1) per value).
        items = items.slice(head);
        head = 0;
      }
      return value;
    },
    takeAll() {
      const rest = items.slice(head) as T[];
      items = [];
      head = 0;
      return rest;
    },
    get length() {
      return items.length - head;
    },
  };
}
