// One 'abort' listener on a signal however many calls wait on it: a service that hands its one
// shutdown signal to every request's file calls got MaxListenersExceededWarning past ten of them.
interface Waiting {
  readonly calls: Set<() => void>;
  readonly fire: () => void;
}

const bySignal = new WeakMap<AbortSignal, Waiting>();

/** Calls `fn` once `signal` aborts (not if it already has); returns what unsubscribes. */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  let w = bySignal.get(signal);
  if (w === undefined) {
    const calls = new Set<() => void>();
    const fire = (): void => {
      bySignal.delete(signal);
      // (each waiting call hears it, whatever one of them throws: the first error is thrown after)
      let failed: { error: unknown } | null = null;
      for (const call of [...calls]) {
        try {
          call();
        } catch (error) {
          failed ??= { error };
        }
      }
      if (failed !== null) throw failed.error;
    };
    w = { calls, fire };
    bySignal.set(signal, w);
    signal.addEventListener('abort', fire, { once: true });
  }
  const entry = (): void => fn(); // (its own identity: the same fn may wait twice)
  const { calls, fire } = w;
  calls.add(entry);
  return () => {
    if (!calls.delete(entry) || calls.size > 0 || bySignal.get(signal)?.calls !== calls) return;
    bySignal.delete(signal);
    signal.removeEventListener('abort', fire);
  };
}
