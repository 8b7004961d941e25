/**
 * Returns a reader of integer environment variables: a missing or empty value gives the fallback,
 * a bad one is recorded in `problems` (so every bad value is reported at once) and gives the fallback.
 */
export function envIntReader(env: Record<string, string | undefined>, problems: string[]) {
  return (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
}
