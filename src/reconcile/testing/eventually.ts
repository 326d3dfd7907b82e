/** Polls `check` until it stops throwing, or rethrows its last error after `timeoutMs` (controller-runtime's Eventually). */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 5000, intervalMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
