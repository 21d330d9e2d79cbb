// No eventfd in a browser (the browser build puts this module in place of src/device/eventfd.ts):
// completions take the Atomics path (Atomics.waitAsync on the vector's counter).
import type { EventFdAddon } from '../device/eventfd.ts';

export type { EventFdAddon, EventFdHandle } from '../device/eventfd.ts';

export const loadEventFd = (): EventFdAddon | null => null;
export const eventFdUnavailableReason = (): string => 'there is no eventfd in a browser';
