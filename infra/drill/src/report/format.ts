// Small formatting helpers shared by the terminal, Markdown and HTML renderings.
export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  return `${Math.round(value)} ms`;
}

export function rto(value: number | null): string {
  if (value === null) return 'never';
  return value === 0 ? '0 (no interruption)' : ms(value);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
