// A command's exit code and what it wrote to stdout and stderr, run in this process (the CLI tests).
export async function captured(run: () => number | Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const w1 = process.stdout.write;
  const w2 = process.stderr.write;
  process.stdout.write = ((c: string) => out.push(String(c)) > 0) as typeof w1;
  process.stderr.write = ((c: string) => err.push(String(c)) > 0) as typeof w2;
  try {
    const code = await run();
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}
