// How many turns the event loop took while a call ran: a chain of immediates, each one a turn
// (a call done here in slices gives them; one done at once, none).

/** The call's result, and the turns the event loop took while it ran. */
export async function turnsDuring<T>(call: () => Promise<T>): Promise<[T, number]> {
  let turns = 0;
  let done = false;
  const spin = (): void => {
    if (done) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  try {
    return [await call(), turns];
  } finally {
    done = true;
  }
}
