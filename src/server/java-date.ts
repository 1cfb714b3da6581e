// java.util.Date#toString for the server's introspection text (dump's expiry times), in the local time zone as the JVM prints it.

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const ZONE = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' });

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * "EEE MMM dd HH:mm:ss zzz yyyy", e.g. "Mon Dec 07 09:45:23 UTC 2026". The zone is Intl's short
 * name: the same as Java's for UTC and the US zones, "GMT+1" where Java says "CET".
 */
export function javaDateString(ms: number): string {
  const d = new Date(ms);
  const zone = ZONE.formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? 'UTC';
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${zone} ${d.getFullYear()}`;
}
