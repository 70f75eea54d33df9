// PF_RING tools' number style, for messages of every layer: apostrophe
// thousands separators (1'234'567). A leaf: devices and cli both use it.

export function thousands(n: number): string {
  const s = Math.round(n).toString();
  return s.replace(/\B(?=(\d{3})+(?!\d))/g, "'");
}

/** Bytes as mebibytes with one decimal: "34.0 MiB". */
export function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}
