// Output file names for rotation, following tcpdump's -w/-C/-G/-W naming
// (tcpdump.c MakeFilename): a strftime pattern expanded with the file's start
// time, then a counter suffix. With -C the first file has no suffix unless
// -W is given, in which case every file gets a suffix zero-padded to the
// digits of W-1 (-C 1 -W 12 -> out00 .. out11). Unlike tcpdump, -G with a
// pattern holding no time conversion numbers its files instead of
// overwriting the same name on every rotation.

function pad2(n: number): string { return n < 10 ? '0' + n : String(n); }

/** True when the pattern contains a conversion strftime() would expand. */
export function hasTimeConversion(pattern: string): boolean {
  return /%[YmdHMSsyjeIpaAbBhZz]/.test(pattern);
}

/**
 * A subset of strftime(3): %Y %y %m %d %e %H %M %S %s %j %% (local time, as
 * tcpdump uses localtime()), or UTC when `utc`. Other conversions are kept verbatim.
 */
export function strftime(pattern: string, sec: number, utc = false): string {
  const d = new Date(sec * 1000);
  const Y = utc ? d.getUTCFullYear() : d.getFullYear();
  const m = (utc ? d.getUTCMonth() : d.getMonth()) + 1;
  const day = utc ? d.getUTCDate() : d.getDate();
  const H = utc ? d.getUTCHours() : d.getHours();
  const M = utc ? d.getUTCMinutes() : d.getMinutes();
  const S = utc ? d.getUTCSeconds() : d.getSeconds();
  const jan1 = utc ? Date.UTC(Y, 0, 1) : new Date(Y, 0, 1).getTime();
  const dayStart = utc ? Date.UTC(Y, m - 1, day) : new Date(Y, m - 1, day).getTime();
  const yday = Math.round((dayStart - jan1) / 86400000) + 1;
  return pattern.replace(/%(.)/g, (all, c: string) => {
    switch (c) {
      case 'Y': return String(Y);
      case 'y': return pad2(Y % 100);
      case 'm': return pad2(m);
      case 'd': return pad2(day);
      case 'e': return day < 10 ? ' ' + day : String(day);
      case 'H': return pad2(H);
      case 'M': return pad2(M);
      case 'S': return pad2(S);
      case 's': return String(sec);
      case 'j': return String(yday).padStart(3, '0');
      case '%': return '%';
      default: return all;
    }
  });
}

/** Digits of the -W suffix: those of W-1 (tcpdump's getWflagChars). */
export function suffixWidth(maxFiles: number): number {
  let c = 0;
  for (let x = maxFiles - 1; x > 0; x = Math.floor(x / 10)) c++;
  return c;
}

/** The name of a file: expanded pattern plus the counter (none for counter 0 without a width). */
export function makeFileName(pattern: string, sec: number, counter: number, width: number, utc = false): string {
  const base = hasTimeConversion(pattern) ? strftime(pattern, sec, utc) : pattern;
  if (counter === 0 && width === 0) return base;
  return base + String(counter).padStart(width, '0');
}
